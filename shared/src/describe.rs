//! PROTOCOL.md's machine-readable half (native builds only): the document's keys with
//! their types and labels, every coded list, the sync refusal codes, and a JSON Schema
//! (draft 2020-12) of every HTTP request body and JSON answer, all read off this
//! crate. `cargo xtask protocol` writes it to `protocol/huhujian.json`; the test below
//! (part of `cargo xtask test`) fails when that file differs from what `protocol`
//! returns.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Value, json};

use crate::api::{self, HouseholdRow, User};
use crate::fields::{
    self, MAX_AMOUNT, MAX_ID_LEN, MAX_MEMBERS, MAX_REVIEW_STEPS, MAX_TEXT_CHARS, MAX_VISITORS, MAX_VISITS,
};
use crate::wire::{Refusal, RefusalCode};

/// What one endpoint takes and answers.
struct Endpoint {
    method: &'static str,
    path: &'static str,
    /// The JSON body it takes.
    request: Option<Value>,
    /// Its answer on success (`None`: no JSON body, e.g. `204` or a file).
    answer: Option<Value>,
    /// What the answer is, in words, when it is not JSON.
    note: &'static str,
}

fn one<T: JsonSchema>(g: &mut SchemaGenerator) -> Value {
    g.subschema_for::<T>().to_value()
}

fn list<T: JsonSchema>(g: &mut SchemaGenerator) -> Value {
    json!({"type": "array", "items": one::<T>(g)})
}

fn endpoints(g: &mut SchemaGenerator) -> Vec<Endpoint> {
    let e = |method, path, request, answer, note| Endpoint { method, path, request, answer, note };
    vec![
        e("GET", "/api/health", None, Some(one::<api::Health>(g)), ""),
        e("POST", "/api/login", Some(one::<api::LoginRequest>(g)), Some(one::<api::LoginOk>(g)), ""),
        e("POST", "/api/logout", None, None, "204"),
        e("POST", "/api/password", Some(one::<api::PasswordChange>(g)), None, "204"),
        e("GET", "/api/me", None, Some(one::<User>(g)), ""),
        e("GET", "/api/households", None, Some(list::<HouseholdRow>(g)), ""),
        e("POST", "/api/sync", None, None, "application/vnd.huhujian.sync both ways (PROTOCOL.md §4.2)"),
        e("POST", "/api/sync/{id}", None, None, "one Automerge sync message both ways (PROTOCOL.md §4.1)"),
        e("POST", "/api/phone", Some(one::<api::PhoneReport>(g)), None, "204"),
        e("POST", "/api/blobs/missing", Some(one::<api::BlobsAsked>(g)), Some(one::<api::BlobsMissing>(g)), ""),
        e(
            "PUT",
            "/api/blobs/{sha256}?household={id}&offset={n}&total={n}",
            None,
            Some(one::<api::BlobHeld>(g)),
            "the piece's bytes (application/octet-stream, at most 32 KiB) (PROTOCOL.md §4.7)",
        ),
        e("GET", "/api/blobs/{sha256}?household={id}", None, None, "image/jpeg or image/png"),
        e("GET", "/api/phones", None, Some(list::<api::PhoneRow>(g)), ""),
        e("GET", "/api/settings", None, Some(one::<crate::Settings>(g)), ""),
        e("GET", "/api/cases", None, Some(one::<api::CaseQueue>(g)), ""),
        e("POST", "/api/cases/import", None, Some(one::<api::ClueImport>(g)), "the list's bytes; 422 clues_rejected"),
        e(
            "POST",
            "/api/households/{id}/case",
            Some(one::<api::CaseRequest>(g)),
            Some(one::<api::HouseholdDetail>(g)),
            "",
        ),
        e(
            "POST",
            "/api/households/{id}/measures",
            Some(one::<api::MeasureRequest>(g)),
            Some(one::<api::HouseholdDetail>(g)),
            "",
        ),
        e("PUT", "/api/settings", Some(one::<crate::Settings>(g)), Some(one::<crate::Settings>(g)), "admin"),
        e("GET", "/api/coverage", None, Some(list::<api::CoverageRow>(g)), ""),
        e("GET", "/api/indicators", None, Some(one::<api::IndicatorReport>(g)), ""),
        e("GET", "/api/indicators/sites", None, Some(list::<api::SiteIndicators>(g)), ""),
        e("GET", "/api/flagged", None, Some(list::<HouseholdRow>(g)), ""),
        e("GET", "/api/conflicts", None, Some(list::<api::ConflictItem>(g)), ""),
        e("GET", "/api/trend", None, Some(list::<api::TrendPoint>(g)), ""),
        e("GET", "/api/reviews", None, Some(one::<api::ReviewQueue>(g)), ""),
        e("GET", "/api/households/{id}", None, Some(one::<api::HouseholdDetail>(g)), ""),
        e("GET", "/api/households/{id}/history", None, Some(list::<api::HistoryItem>(g)), ""),
        e(
            "POST",
            "/api/households/{id}/review",
            Some(one::<api::ReviewRequest>(g)),
            Some(one::<api::HouseholdDetail>(g)),
            "",
        ),
        e(
            "POST",
            "/api/households/{id}/resolve",
            Some(one::<api::ResolveRequest>(g)),
            Some(one::<api::HouseholdDetail>(g)),
            "",
        ),
        e("GET", "/api/export.csv", None, None, "text/csv, UTF-8 with BOM"),
        e("GET", "/api/export.xlsx", None, None, "an XLSX workbook"),
        e("GET", "/api/export/{sheet}.csv", None, None, "text/csv, UTF-8 with BOM"),
        e("GET", "/api/admin/users", None, Some(list::<api::UserRow>(g)), ""),
        e("POST", "/api/admin/users", Some(one::<api::NewUser>(g)), Some(one::<api::UserRow>(g)), ""),
        e("POST", "/api/admin/users/{login}", Some(one::<api::UserUpdate>(g)), Some(one::<api::UserRow>(g)), ""),
        e("GET", "/api/admin/assignments", None, Some(one::<api::AssignmentsView>(g)), ""),
        e(
            "POST",
            "/api/admin/assignments",
            Some(json!({"anyOf": [list::<api::Assignment>(g), one::<api::Assignment>(g)]})),
            Some(one::<api::BulkReport>(g)),
            "a list answers BulkReport; a single object answers 204",
        ),
        e(
            "POST",
            "/api/admin/roster",
            None,
            Some(one::<api::ImportReport>(g)),
            "takes text/csv; 422 answers ImportErrors",
        ),
        e("POST", "/api/admin/households/{id}/rewrite", None, Some(one::<api::RewriteReport>(g)), ""),
    ]
}

/// The whole description, as `protocol/huhujian.json` holds it.
pub fn protocol() -> Value {
    let mut g = SchemaSettings::draft2020_12().into_generator();
    let endpoints: Vec<Value> = endpoints(&mut g)
        .into_iter()
        .map(|e| {
            let mut v = json!({"method": e.method, "path": e.path});
            if let Some(r) = e.request {
                v["request"] = r;
            }
            if let Some(a) = e.answer {
                v["answer"] = a;
            }
            if !e.note.is_empty() {
                v["note"] = json!(e.note);
            }
            v
        })
        .collect();
    let error = one::<api::ErrorBody>(&mut g);
    let import_errors = one::<api::ImportErrors>(&mut g);
    let refusal = one::<Refusal>(&mut g);
    let refusals: Vec<Value> = RefusalCode::ALL
        .into_iter()
        .map(|c| {
            let (zh, en) = c.meaning();
            json!({"code": c.code(), "zh": zh, "en": en})
        })
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://huhujian.invalid/protocol.json",
        "title": "huhujian protocol description",
        "description": "Generated by `cargo xtask protocol` from the crate `shared`; do not edit. PROTOCOL.md is the prose; this file lists what it names. Every `$ref` is relative to this file: validate an answer against {\"$ref\": \"<$id>#/$defs/<Name>\"} or {\"$ref\": \"<$id>#/endpoints/<i>/answer\"} after adding this file to the validator. `format` values such as int64, uint32 and double only say how wide a number is.",
        "document": {
            "schema_version": fields::SCHEMA_VERSION,
            "limits": {
                "text_chars": MAX_TEXT_CHARS,
                "amount": MAX_AMOUNT,
                "members": MAX_MEMBERS,
                "visits": MAX_VISITS,
                "visitors_per_visit": MAX_VISITORS,
                "review_steps_per_visit": MAX_REVIEW_STEPS,
                "id_len": MAX_ID_LEN,
            },
            "placeholders": {
                "<period>": "YYYY-MM, a month",
                "<member>": "a member id, 1 to 32 of [A-Za-z0-9_.-]; chosen once by whoever adds the member (random, so two phones never pick the same)",
                "<login>": "a user's login, 1 to 32 of [A-Za-z0-9_.-]",
                "<entry>": "a review step's id, `<unix seconds>-<login>` cut to 32 characters, `.2`, `.3` … appended if taken",
            },
            "types": {
                "text": "a string scalar (automerge-js: ImmutableString; a plain JS string becomes a Text object, refused as `schema`), at most limits.text_chars characters; an empty text is not stored",
                "flag": "true; absent means no, and the apps delete the key rather than store false (a stored false reads as absent)",
                "yes_no": "true or false; absent means not recorded",
                "int": "an integer, at most ±limits.amount (yuan, years)",
                "date": "a string YYYY-MM-DD",
                "unix_seconds": "an integer, Unix seconds, 0 to 4102444800",
                "schema_version": "an integer, document.schema_version",
                "code": "a string, one of the codes of the list named in `codes`",
            },
            "keys": fields::layout(),
        },
        "codes": crate::codes::code_lists(),
        "sync_refusals": {"schema": refusal, "codes": refusals},
        "errors": {
            "schema": error,
            "codes": api::ErrorCode::all().map(api::ErrorCode::code).collect::<Vec<_>>(),
            "roster_rejected": import_errors,
        },
        "endpoints": endpoints,
        "$defs": g.take_definitions(true),
    })
}

/// The description as the file holds it: pretty JSON and a final newline.
pub fn protocol_text() -> String {
    let mut text = serde_json::to_string_pretty(&protocol()).expect("plain JSON values serialise");
    text.push('\n');
    text
}

/// The committed description, relative to this crate.
pub const PATH: &str = "../protocol/huhujian.json";

#[cfg(test)]
mod tests {
    use super::*;

    /// With `HUHUJIAN_WRITE_PROTOCOL=1` (what `cargo xtask protocol` sets) the file is
    /// rewritten instead of compared.
    #[test]
    fn protocol_description_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(PATH);
        let want = protocol_text();
        if std::env::var_os("HUHUJIAN_WRITE_PROTOCOL").is_some() {
            std::fs::write(&path, &want).expect("write protocol/huhujian.json");
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            let shorter = have.lines().count().min(want.lines().count());
            let line = have.lines().zip(want.lines()).position(|(a, b)| a != b).unwrap_or(shorter) + 1;
            panic!(
                "protocol/huhujian.json is stale (first difference at line {line}): the code changed what \
                 PROTOCOL.md's description says. Run `cargo xtask protocol` and commit the file."
            );
        }
    }

    #[test]
    fn every_answer_schema_resolves_and_every_code_list_is_there() {
        let d = protocol();
        let defs = d["$defs"].as_object().expect("$defs");
        let text = d.to_string();
        for (i, _) in text.match_indices("\"$ref\":\"#/$defs/") {
            let name: String = text[i + 16..].chars().take_while(|c| *c != '"').collect();
            assert!(defs.contains_key(&name), "$ref to {name}, which $defs lacks");
        }
        for name in ["VisitMode", "Channel", "EmploymentStatus", "HouseholdDetail", "IndicatorReport", "ConflictItem"] {
            assert!(defs.contains_key(name), "$defs lacks {name}");
        }
        assert_eq!(d["codes"].as_array().map(Vec::len), Some(crate::codes::code_lists().len()));
    }
}
