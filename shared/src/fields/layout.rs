//! Every key of the document layout with what it holds and its labels, read off the
//! same field tables the encoder and decoder use, for PROTOCOL.md's machine-readable
//! description (`protocol/huhujian.json`) and anyone writing a client.

use super::{Scalar, Table, kind_of};
use crate::label::{Coded, Lang};
use crate::model::{
    Employment, Expense, Facts, Guarantee, HelpKind, HelpState, IncomeComponent, Member, Review, RiskSignal, Visit,
};

/// What the value under a key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", content = "codes", rename_all = "snake_case")]
pub enum ValueKind {
    /// A string scalar (not a Text object), at most `MAX_TEXT_CHARS` characters; absent
    /// when empty.
    Text,
    /// `true`; absence means no (a stored `false` reads the same).
    Flag,
    /// `true` or `false`; absence means not recorded.
    YesNo,
    /// An integer, at most ±`MAX_AMOUNT` (yuan, years).
    Int,
    /// A string `YYYY-MM-DD`.
    Date,
    /// An integer, Unix seconds, 0 to `MAX_UNIX_SECONDS`.
    UnixSeconds,
    /// The layout version, an integer (`SCHEMA_VERSION`).
    SchemaVersion,
    /// An integer, millionths of a degree (WGS-84): ±90,000,000 for a latitude,
    /// ±180,000,000 for a longitude.
    Microdegrees,
    /// A string, a SHA-256 as 64 lowercase hex digits.
    Sha256,
    /// A string, one of the codes of the named list (`Coded::NAME`).
    Code(&'static str),
}

/// One key pattern: `<period>` is `YYYY-MM`, `<member>`, `<login>` and `<entry>` are
/// ids of 1 to 32 of `[A-Za-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeySpec {
    /// The key, with `<…>` for the variable segments.
    pub key: String,
    /// What it holds.
    #[serde(flatten)]
    pub kind: ValueKind,
    /// 中文名称.
    pub zh: String,
    /// English name.
    pub en: String,
}

fn spec(key: String, kind: ValueKind, zh: &str, en: &str) -> KeySpec {
    KeySpec { key, kind, zh: zh.to_owned(), en: en.to_owned() }
}

fn table<T: Table>(prefix: &str, zh: &str, en: &str) -> impl Iterator<Item = KeySpec> {
    let (zh, en) = (zh.to_owned(), en.to_owned());
    let prefix = prefix.to_owned();
    T::keys().into_iter().map(move |(name, kind, z, e)| {
        let (z, e) =
            if zh.is_empty() { (z.to_owned(), e.to_owned()) } else { (format!("{zh} · {z}"), format!("{en} · {e}")) };
        spec(format!("{prefix}{name}"), kind, &z, &e)
    })
}

fn each<C: Coded>(prefix: &str, kind: ValueKind) -> impl Iterator<Item = KeySpec> {
    let prefix = prefix.to_owned();
    C::ALL.iter().map(move |c| spec(format!("{prefix}{}", c.code()), kind, c.zh(), c.en()))
}

/// Every key the layout knows, in the order of ARCHITECTURE.md's table.
pub fn layout() -> Vec<KeySpec> {
    let v = "v/<period>/";
    let review = [
        ("act", kind_of(|r: &Review| &r.action), "审核动作", "Review action"),
        ("by", kind_of(|r: &Review| &r.by), "审核人账号", "Reviewer's login"),
        ("name", kind_of(|r: &Review| &r.name), "审核人姓名", "Reviewer's name"),
        ("text", kind_of(|r: &Review| &r.comment), "审核意见", "Comment"),
        ("at", ValueKind::UnixSeconds, "审核时间", "Time"),
    ];
    let mut keys = vec![spec("schema".into(), ValueKind::SchemaVersion, "文档版本", "Layout version")];
    keys.extend(table::<Facts>("f/", "", ""));
    keys.extend(table::<Member>("m/<member>/", "成员", "Member"));
    keys.extend(table::<Visit>(v, "走访", "Visit"));
    keys.push(spec(format!("{v}by/<login>"), ValueKind::Text, "走访人姓名", "Visitor's name"));
    keys.extend(table::<Employment>(&format!("{v}e/<member>/"), "就业", "Employment"));
    keys.extend(each::<IncomeComponent>(&format!("{v}i/"), ValueKind::Int));
    keys.extend(each::<Expense>(&format!("{v}x/"), ValueKind::Int));
    keys.extend(each::<Guarantee>(&format!("{v}g/"), ValueKind::YesNo));
    keys.extend(each::<RiskSignal>(&format!("{v}r/"), ValueKind::Flag));
    keys.extend(each::<HelpKind>(&format!("{v}h/"), ValueKind::Code(HelpState::NAME)));
    keys.extend(review.map(|(name, kind, zh, en)| spec(format!("{v}rv/<entry>/{name}"), kind, zh, en)));
    let a = format!("{v}a/<entry>/");
    for (name, zh, en) in super::ATTACHMENT_KEYS {
        let kind = match name {
            "sha256" | "thumb" => ValueKind::Sha256,
            "kind" => ValueKind::Code(crate::evidence::EvidenceKind::NAME),
            "media" => ValueKind::Code(crate::evidence::MediaType::NAME),
            "size" => ValueKind::Int,
            "at" => ValueKind::UnixSeconds,
            "removed" => ValueKind::Flag,
            _ => ValueKind::Text,
        };
        keys.push(spec(format!("{a}{name}"), kind, &format!("佐证 · {zh}"), &format!("Evidence · {en}")));
    }
    for (name, zh, en) in super::LOCATION_KEYS {
        let kind = match name {
            "lat" | "lon" => ValueKind::Microdegrees,
            "at" => ValueKind::UnixSeconds,
            _ => ValueKind::Int,
        };
        keys.push(spec(format!("{v}loc/{name}"), kind, &format!("走访定位 · {zh}"), &format!("Location · {en}")));
    }
    keys.push(spec("k/status".into(), ValueKind::Code(crate::case::CaseStatus::NAME), "监测状态", "Case status"));
    keys.extend(table::<crate::case::CaseStep>("k/s/<entry>/", "监测步骤", "Case step"));
    keys.extend(table::<crate::case::Measure>("p/<measure>/", "帮扶措施", "Help measure"));
    keys
}

/// What the key `key` holds, by the pattern of `layout()` it matches.
pub fn kind_of_key(key: &str) -> Option<ValueKind> {
    let parts: Vec<&str> = key.split('/').collect();
    layout().into_iter().find_map(|spec| {
        let pattern: Vec<&str> = spec.key.split('/').collect();
        let fits =
            pattern.len() == parts.len() && pattern.iter().zip(&parts).all(|(p, k)| p.starts_with('<') || p == k);
        fits.then_some(spec.kind)
    })
}

/// A stored value as people read it, in `lang`: a code as its label, a yes/no as
/// 是/否, an amount of money with 元 (`3200 元`); anything else as it is.
pub fn value_label(key: &str, value: &Scalar, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    match (kind_of_key(key), value) {
        (Some(ValueKind::Code(list)), Scalar::Str(code)) => crate::codes::code_lists()
            .into_iter()
            .find(|l| l.name == list)
            .and_then(|l| l.codes.into_iter().find(|c| c.code == code))
            .map_or_else(|| code.clone(), |c| if zh { c.zh.to_owned() } else { c.en.to_owned() }),
        (_, Scalar::Bool(b)) => match (b, zh) {
            (true, true) => "是".into(),
            (false, true) => "否".into(),
            (true, false) => "yes".into(),
            (false, false) => "no".into(),
        },
        (Some(ValueKind::Int), Scalar::Int(n)) if key.contains("/i/") || key.ends_with("/income") => {
            if zh {
                format!("{n} 元")
            } else {
                format!("{n} yuan")
            }
        }
        (_, other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Scalar, check};
    use super::*;
    use crate::model::*;

    /// A value of `kind` the decoder takes, and one it refuses.
    fn samples(kind: ValueKind) -> (Scalar, Scalar) {
        match kind {
            ValueKind::Text => (Scalar::Str("文字".into()), Scalar::Int(1)),
            ValueKind::Flag | ValueKind::YesNo => (Scalar::Bool(true), Scalar::Str("true".into())),
            ValueKind::Int => (Scalar::Int(3200), Scalar::Str("3200".into())),
            ValueKind::Date => (Scalar::Str("2026-11-05".into()), Scalar::Str("2026-13-05".into())),
            ValueKind::UnixSeconds => (Scalar::Int(1_795_000_000), Scalar::Int(-1)),
            ValueKind::SchemaVersion => (Scalar::Int(1), Scalar::Str("1".into())),
            ValueKind::Microdegrees => (Scalar::Int(26_583_012), Scalar::Int(181_000_000)),
            ValueKind::Sha256 => (Scalar::Str("ab".repeat(32)), Scalar::Str("AB".repeat(32))),
            ValueKind::Code(list) => {
                let lists = crate::codes::code_lists();
                let code =
                    lists.iter().find(|l| l.name == list).and_then(|l| l.codes.first()).expect("the list exists").code;
                (Scalar::Str(code.into()), Scalar::Str("no_such_code".into()))
            }
        }
    }

    fn concrete(pattern: &str) -> String {
        pattern
            .replace("a/<entry>", &format!("a/{}", "ab".repeat(16)))
            .replace("<period>", "2026-11")
            .replace("<member>", "k1")
            .replace("<login>", "cadre01")
            .replace("<entry>", "1795000000-sup01")
            .replace("<measure>", "m1")
    }

    #[test]
    fn every_listed_key_takes_its_kind_and_refuses_another() {
        let keys = layout();
        assert!(keys.len() > 60, "{} keys", keys.len());
        for k in &keys {
            let key = concrete(&k.key);
            let (good, bad) = samples(k.kind);
            check(&key, &good).unwrap_or_else(|e| panic!("{key} should take {good:?}: {e}"));
            assert!(check(&key, &bad).is_err(), "{key} should refuse {bad:?}");
        }
        let mut seen = std::collections::HashSet::new();
        assert!(keys.iter().all(|k| seen.insert(k.key.clone())), "a key is listed twice");
    }

    #[test]
    fn values_read_as_labels_with_units() {
        use crate::Lang;
        let v = |k: &str, s: Scalar, lang| value_label(k, &s, lang);
        assert_eq!(v("v/2026-11/e/k1/status", Scalar::Str("seeking".into()), Lang::Zh), "未就业(有意愿)");
        assert_eq!(v("v/2026-11/e/k1/status", Scalar::Str("seeking".into()), Lang::En), "Unemployed, wants work");
        assert_eq!(v("v/2026-11/i/wage", Scalar::Int(3200), Lang::Zh), "3200 元");
        assert_eq!(v("v/2026-11/e/k1/income", Scalar::Int(3200), Lang::En), "3200 yuan");
        assert_eq!(v("f/year", Scalar::Int(2018), Lang::Zh), "2018");
        assert_eq!(v("v/2026-11/g/water", Scalar::Bool(false), Lang::Zh), "否");
        assert_eq!(v("v/2026-11/note", Scalar::Str("好".into()), Lang::Zh), "好");
        assert_eq!(kind_of_key("v/2026-11/h/training"), Some(ValueKind::Code("HelpState")));
        assert_eq!(kind_of_key("x/unknown"), None);
    }

    #[test]
    fn every_key_a_full_household_stores_is_listed() {
        let listed: std::collections::HashSet<String> = layout().iter().map(|k| concrete(&k.key)).collect();
        let mut h = Household::default();
        h.facts.registry_no = "5223010001".into();
        h.facts.dibao = true;
        h.facts.relocated_year = Some(2018);
        h.facts.monitoring = Some(Monitoring::Edge);
        let member =
            Member { name: "王芳".into(), labour: Some(LabourCapacity::Full), in_school: true, ..Default::default() };
        h.members.insert("k1".into(), member);
        let mut v = Visit { mode: Some(VisitMode::InPerson), note: "好".into(), ..Default::default() };
        v.visitors.insert("cadre01".into(), "李明".into());
        let job = Employment {
            status: Some(EmploymentStatus::Employed),
            monthly_income: Some(3200),
            returned: Some(false),
            ..Default::default()
        };
        v.employment.insert("k1".into(), job);
        v.income.wage = Some(3200);
        v.guarantees.water = Some(false);
        v.risks.insert(RiskSignal::Illness);
        v.help.insert(HelpKind::Training, HelpState::Needed);
        v.reviews.insert(
            "1795000000-sup01".into(),
            Review {
                action: Some(ReviewAction::Return),
                by: "sup01".into(),
                name: "张".into(),
                at: 1_795_000_000,
                comment: "补".into(),
            },
        );
        let photo = crate::evidence::Attachment {
            sha256: "ab".repeat(32),
            thumb: "cd".repeat(32),
            kind: Some(crate::evidence::EvidenceKind::Household),
            media: Some(crate::evidence::MediaType::Jpeg),
            size: Some(140_000),
            caption: "新居".into(),
            by: "cadre01".into(),
            at: Some(1_795_000_000),
            removed: true,
        };
        v.attachments.insert("ab".repeat(16), photo);
        v.location = crate::evidence::Location {
            lat: Some(26_583_012),
            lon: Some(104_832_110),
            accuracy: Some(12),
            at: Some(1_795_000_000),
        };
        h.visits.insert("2026-11".into(), v);
        for key in super::super::encode(&h).expect("encodes").keys() {
            assert!(listed.contains(key), "{key} is stored but not listed by layout()");
        }
    }
}
