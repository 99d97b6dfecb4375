//! Access control, as one table: every route of `server::router` × every kind of caller
//! (no token, a tampered, expired or revoked token, a disabled account's token, cadres
//! c1 and c2, supervisor s1, admin) × scope (c1's H2 and c2's H4; H4 is outside s1's
//! site), with the status each cell must get. Writes carry a valid body, so a refusal
//! is about who asks, and a write that is allowed visibly changes the household; every
//! refusal leaves the stored documents (and users, assignments and logs) byte for byte
//! as they were.
//!
//! The invalid tokens belong to admins (admin2, admin3), so that a server that let any
//! of them through would answer 2xx, not 401. Rows run in order: the password change
//! and logout rows come last, as they end sessions.

use huhujian_tests::{PASSWORD, Phone, TestServer};
use reqwest::StatusCode;
use serde_json::json;
use shared::automerge::ActorId;
use shared::automerge::sync::State;
use shared::wire::{self, Outgoing, Reply};
use shared::{HouseholdDoc, Scalar, Stamp, VisitMode};

use crate::roster_server;

/// Who calls: the table's columns, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// No `Authorization` header.
    NoToken,
    /// admin's token with one character changed.
    Tampered,
    /// admin2's token after its `sessions.expires_at` was set in the past.
    Expired,
    /// admin2's token after `POST /api/logout`.
    Revoked,
    /// admin3's token after an admin disabled admin3.
    Disabled,
    /// Cadre of H1, H2, H3.
    C1,
    /// Cadre of H1, H4.
    C2,
    /// Supervisor of site 阳光社区 (H1–H3; not H4).
    S1,
    /// Admin.
    Admin,
}

const CALLERS: [Caller; 9] = [
    Caller::NoToken,
    Caller::Tampered,
    Caller::Expired,
    Caller::Revoked,
    Caller::Disabled,
    Caller::C1,
    Caller::C2,
    Caller::S1,
    Caller::Admin,
];

/// What a cell expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum W {
    /// This HTTP status.
    S(u16),
    /// `200`, but the batch's reply refuses the household as `unknown_household` (the
    /// answer for households that do not exist and for someone else's alike).
    Out,
}

const U: W = W::S(401);
const F: W = W::S(403);
const OK: W = W::S(200);
const CREATED: W = W::S(201);
const NONE: W = W::S(204);
const NF: W = W::S(404);

/// The request of a row.
#[derive(Debug, Clone, Copy)]
enum Call {
    /// `GET`.
    Get,
    /// `POST` this JSON.
    Post(&'static str),
    /// `PATCH` this JSON.
    Patch(&'static str),
    /// `POST` this CSV.
    Csv(&'static str),
    /// `POST /api/sync/{id}`: one sync message carrying a new change to the household
    /// (`204`: stored, and the server has nothing more to say).
    Sync(&'static str),
    /// `POST /api/sync`: a batch of one entry, a message carrying a new change.
    Batch(&'static str),
    /// `POST` [`REVIEW`] to the household's review (it has a visit in [`P`]).
    Review(&'static str),
    /// `POST` [`RESOLVE`] to the household's resolve, after making sure the field is in
    /// conflict.
    Resolve(&'static str),
}

/// The period of the visits reviewed.
const P: &str = "2025-06";
/// Return the visit of [`P`] with a comment: allowed again and again.
const REVIEW: &str = r#"{"period": "2025-06", "action": "return", "comment": "请核实收入"}"#;
/// The field made to conflict (甲村 vs 乙村) before each resolve.
const CONFLICTED: &str = "f/origin_village";
const RESOLVE: &str = r#"{"key": "f/origin_village", "value": "甲村"}"#;

/// ID numbers of the heads of H2 (张志强, 1975-01-01) and H4 (罗建平, 1970-07-07).
const H2_ID: &str = "522301197501010011";
const H4_ID: &str = "522301197007070019";

/// One row: method and path, body, and the status for each caller of [`CALLERS`]:
/// none, tampered, expired, revoked, disabled, c1, c2, s1, admin.
type Row = (&'static str, Call, [W; 9]);

#[rustfmt::skip]
const TABLE: &[Row] = &[
    //                                                                         none tamp expd revk disa  c1   c2   s1   admin
    ("/api/health",                   Call::Get,                               [OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK]),
    ("/api/login",                    Call::Post(r#"{"login": "c2", "password": "correct horse", "device_id": "table"}"#),
                                                                               [OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK]),
    ("/api/me",                       Call::Get,                               [U,   U,   U,   U,   U,   OK,  OK,  OK,  OK]),
    ("/api/households",               Call::Get,                               [U,   U,   U,   U,   U,   OK,  OK,  OK,  OK]),
    // Someone else's household answers as one that does not exist (404).
    ("/api/households/H2",            Call::Get,                               [U,   U,   U,   U,   U,   OK,  NF,  OK,  OK]),
    ("/api/households/H4",            Call::Get,                               [U,   U,   U,   U,   U,   NF,  OK,  NF,  OK]),
    ("/api/households/H2/history",    Call::Get,                               [U,   U,   U,   U,   U,   OK,  NF,  OK,  OK]),
    ("/api/households/H4/history",    Call::Get,                               [U,   U,   U,   U,   U,   NF,  OK,  NF,  OK]),
    // Supervisors do not sync: whole documents hold every ID number in full.
    ("/api/sync/H2",                  Call::Sync("H2"),                        [U,   U,   U,   U,   U,   NONE, NF, F,   NONE]),
    ("/api/sync/H4",                  Call::Sync("H4"),                        [U,   U,   U,   U,   U,   NF,  NONE, F,  NONE]),
    ("/api/sync",                     Call::Batch("H2"),                       [U,   U,   U,   U,   U,   OK,  W::Out, F, OK]),
    ("/api/sync",                     Call::Batch("H4"),                       [U,   U,   U,   U,   U,   W::Out, OK, F, OK]),
    ("/api/households/H2/review",     Call::Review("H2"),                      [U,   U,   U,   U,   U,   F,   F,   OK,  OK]),
    ("/api/households/H4/review",     Call::Review("H4"),                      [U,   U,   U,   U,   U,   F,   F,   NF,  OK]),
    ("/api/households/H2/resolve",    Call::Resolve("H2"),                     [U,   U,   U,   U,   U,   F,   F,   OK,  OK]),
    ("/api/households/H4/resolve",    Call::Resolve("H4"),                     [U,   U,   U,   U,   U,   F,   F,   NF,  OK]),
    ("/api/reviews?period=2025-06",   Call::Get,                               [U,   U,   U,   U,   U,   F,   F,   OK,  OK]),
    ("/api/trend?period=2025-06",     Call::Get,                               [U,   U,   U,   U,   U,   F,   F,   OK,  OK]),
    ("/api/coverage?period=2025-06",  Call::Get,                               [U,   U,   U,   U,   U,   F,   F,   OK,  OK]),
    ("/api/indicators?period=2025-06", Call::Get,                              [U,   U,   U,   U,   U,   F,   F,   OK,  OK]),
    ("/api/flagged?kind=not_visited", Call::Get,                               [U,   U,   U,   U,   U,   F,   F,   OK,  OK]),
    // Cadres get the conflicts of their own households (PROTOCOL.md §5).
    ("/api/conflicts",                Call::Get,                               [U,   U,   U,   U,   U,   OK,  OK,  OK,  OK]),
    ("/api/export.csv",               Call::Get,                               [U,   U,   U,   U,   U,   F,   F,   OK,  OK]),
    ("/api/export.csv?unmask=1",      Call::Get,                               [U,   U,   U,   U,   U,   F,   F,   F,   OK]),
    ("/api/export.xlsx",              Call::Get,                               [U,   U,   U,   U,   U,   F,   F,   OK,  OK]),
    ("/api/export.xlsx?unmask=1",     Call::Get,                               [U,   U,   U,   U,   U,   F,   F,   F,   OK]),
    ("/api/export/members.csv",       Call::Get,                               [U,   U,   U,   U,   U,   F,   F,   OK,  OK]),
    ("/api/export/members.csv?unmask=1", Call::Get,                            [U,   U,   U,   U,   U,   F,   F,   F,   OK]),
    ("/api/admin/users",              Call::Get,                               [U,   U,   U,   U,   U,   F,   F,   F,   OK]),
    ("/api/admin/users",              Call::Post(r#"{"login": "new1", "name": "新人", "role": "cadre", "password": "correct horse"}"#),
                                                                               [U,   U,   U,   U,   U,   F,   F,   F,   CREATED]),
    ("/api/admin/users/c2",           Call::Patch(r#"{"name": "张华", "unlock": true}"#),
                                                                               [U,   U,   U,   U,   U,   F,   F,   F,   OK]),
    ("/api/admin/users/c2",           Call::Post(r#"{"name": "张华"}"#),       [U,   U,   U,   U,   U,   F,   F,   F,   OK]),
    ("/api/admin/roster",             Call::Csv("registry_no,county,township,site,grid,name\nH5,云岭县,光禄镇,光禄新村,西片,何新\n"),
                                                                               [U,   U,   U,   U,   U,   F,   F,   F,   OK]),
    ("/api/admin/assignments",        Call::Get,                               [U,   U,   U,   U,   U,   F,   F,   F,   OK]),
    ("/api/admin/assignments",        Call::Post(r#"{"household_id": "H4", "user_id": "c1", "remove": true}"#),
                                                                               [U,   U,   U,   U,   U,   F,   F,   F,   NONE]),
    ("/api/no-such-route",            Call::Get,                               [NF,  NF,  NF,  NF,  NF,  NF,  NF,  NF,  NF]),
    // These end sessions: last. (The same password again: allowed, ends the others.)
    ("/api/password",                 Call::Post(r#"{"old": "correct horse", "new": "correct horse"}"#),
                                                                               [U,   U,   U,   U,   U,   NONE, NONE, NONE, NONE]),
    ("/api/logout",                   Call::Post("{}"),                        [U,   U,   U,   U,   U,   NONE, NONE, NONE, NONE]),
];

/// Everything a refusal must leave alone.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    documents: Vec<(String, Vec<u8>)>,
    rows: Vec<String>,
}

fn snapshot(server: &TestServer) -> Snapshot {
    let peek = server.peek();
    let documents = peek.documents();
    let mut rows = Vec::new();
    for sql in [
        "SELECT id || '|' || name || '|' || role || '|' || COALESCE(area, '') || '|' || disabled FROM users ORDER BY id",
        "SELECT household_id || '|' || user_id FROM assignments ORDER BY 1",
        "SELECT 'audit ' || COUNT(*) FROM audit_log",
        "SELECT 'changes ' || COUNT(*) FROM change_log",
    ] {
        rows.extend(peek.texts(sql));
    }
    Snapshot { documents, rows }
}

fn stored(server: &TestServer, id: &str) -> Vec<u8> {
    server.peek().documents().into_iter().find(|(i, _)| i == id).unwrap().1
}

/// A sync message carrying a change `edit` makes to household `id` as stored now. A
/// copy of the stored document is first synced locally with another copy, so that the
/// message holds the change itself and applies wherever it is sent.
fn change_message(server: &TestServer, id: &str, edit: impl FnOnce(&mut HouseholdDoc)) -> Vec<u8> {
    let bytes = stored(server, id);
    let mut ours = HouseholdDoc::load(&bytes, ActorId::random()).unwrap();
    let mut theirs = HouseholdDoc::load(&bytes, ActorId::random()).unwrap();
    let (mut our_state, mut their_state) = (State::new(), State::new());
    for _ in 0..10 {
        let a = ours.sync_message(&mut our_state);
        if let Some(m) = &a {
            theirs.receive_sync_message(&mut their_state, m).unwrap();
        }
        let b = theirs.sync_message(&mut their_state);
        if let Some(m) = &b {
            ours.receive_sync_message(&mut our_state, m).unwrap();
        }
        if a.is_none() && b.is_none() {
            break;
        }
    }
    edit(&mut ours);
    ours.sync_message(&mut our_state).unwrap()
}

fn stamp() -> Stamp {
    Stamp::new("admin", "管理员", server::auth::now())
}

async fn send_sync(http: &reqwest::Client, server: &TestServer, token: &str, id: &str, message: Vec<u8>) {
    let resp = http
        .post(server.url(&format!("/api/sync/{id}")))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(message)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "setup sync of {id}: {}", resp.status());
}

/// Makes [`CONFLICTED`] of `id` a conflict of 甲村 and 乙村 (as admin), unless it is one.
async fn ensure_conflict(http: &reqwest::Client, server: &TestServer, admin: &str, id: &str) {
    let doc = HouseholdDoc::load(&stored(server, id), ActorId::random()).unwrap();
    if doc.conflicts().unwrap().iter().any(|c| c.key == CONFLICTED) {
        return;
    }
    let message = change_message(server, id, |ours| {
        // From a third value, so that neither write repeats the current one (a no-op).
        ours.resolve(&stamp(), CONFLICTED, &Scalar::Str("丙村".into())).unwrap();
        let mut other = HouseholdDoc::load(&ours.save(), ActorId::random()).unwrap();
        ours.resolve(&stamp(), CONFLICTED, &Scalar::Str("甲村".into())).unwrap();
        other.resolve(&stamp(), CONFLICTED, &Scalar::Str("乙村".into())).unwrap();
        ours.merge(&mut other).unwrap();
    });
    send_sync(http, server, admin, id, message).await;
    let doc = HouseholdDoc::load(&stored(server, id), ActorId::random()).unwrap();
    assert!(doc.conflicts().unwrap().iter().any(|c| c.key == CONFLICTED), "{id}: conflict made");
}

#[tokio::test]
async fn every_route_answers_every_caller_as_it_should() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let http = huhujian_tests::http();
    let me = |token: &str| http.get(server.url("/api/me")).bearer_auth(token.to_owned()).send();

    let admin = Phone::login(&server, "admin", "dev-admin").await;
    for (login, name) in [("admin2", "管理员二"), ("admin3", "管理员三")] {
        let body = json!({"login": login, "name": name, "role": "admin", "password": PASSWORD});
        assert_eq!(admin.post_json("/api/admin/users", &body).await.status(), StatusCode::CREATED);
    }
    let expired = Phone::login(&server, "admin2", "dev-expired").await.token;
    let revoked = Phone::login(&server, "admin2", "dev-revoked").await.token;
    let disabled = Phone::login(&server, "admin3", "dev-disabled").await.token;
    for token in [&expired, &revoked, &disabled] {
        assert_eq!(me(token).await.unwrap().status(), 200, "each token worked before");
    }
    let resp = http.post(server.url("/api/logout")).bearer_auth(&revoked).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    let expired_at = server::auth::now() - 1;
    let n = server
        .peek()
        .execute(&format!("UPDATE sessions SET expires_at = {expired_at} WHERE device_id = 'dev-expired'"));
    assert_eq!(n, 1);
    // Disabling ends the account's sessions; a session that outlived it (the flag set
    // straight in the file) is refused as well, and works again once re-enabled.
    for (flag, status) in [("TRUE", 401), ("FALSE", 200)] {
        server.peek().execute(&format!("UPDATE users SET disabled = {flag} WHERE id = 'admin3'"));
        assert_eq!(me(&disabled).await.unwrap().status(), status, "admin3 disabled = {flag}");
    }
    let resp = admin.post_json("/api/admin/users/admin3", &json!({"disabled": true})).await;
    assert_eq!(resp.status(), 200);
    let mut tampered = admin.token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });

    let tokens: Vec<Option<String>> = vec![
        None,
        Some(tampered),
        Some(expired),
        Some(revoked),
        Some(disabled),
        Some(Phone::login(&server, "c1", "dev-c1").await.token),
        Some(Phone::login(&server, "c2", "dev-c2").await.token),
        Some(Phone::login(&server, "s1", "dev-s1").await.token),
        Some(admin.token.clone()),
    ];
    assert_eq!(tokens.len(), CALLERS.len());

    // A visit of P on H2 and H4, to review, and an ID number for each head.
    for (id, number) in [("H2", H2_ID), ("H4", H4_ID)] {
        let message = change_message(&server, id, |doc| {
            doc.edit(&stamp(), |h| {
                h.visits.entry(P.into()).or_default().mode = Some(VisitMode::InPerson);
                h.members.get_mut("a").unwrap().id_number = number.into();
            })
            .unwrap();
        });
        send_sync(&http, &server, &admin.token, id, message).await;
    }
    let mut admin_saw_full = 0;

    let mut failures = Vec::new();
    let mut cells = 0;
    for (n, (path, call, want)) in TABLE.iter().enumerate() {
        for (i, caller) in CALLERS.iter().enumerate() {
            cells += 1;
            let cell = format!("row {} {call:?} {path} as {caller:?}", n + 1);
            let target = match call {
                Call::Sync(id) | Call::Batch(id) | Call::Review(id) | Call::Resolve(id) => Some(*id),
                _ => None,
            };
            if let Call::Resolve(id) = call {
                ensure_conflict(&http, &server, &admin.token, id).await;
            }
            let url = server.url(path);
            let mut req = match call {
                Call::Get => http.get(&url),
                Call::Post(body) => http.post(&url).header("content-type", "application/json").body(*body),
                Call::Patch(body) => http.patch(&url).header("content-type", "application/json").body(*body),
                Call::Csv(body) => http.post(&url).header("content-type", "text/csv").body(*body),
                Call::Review(_) => http.post(&url).header("content-type", "application/json").body(REVIEW),
                Call::Resolve(_) => http.post(&url).header("content-type", "application/json").body(RESOLVE),
                Call::Sync(id) => {
                    let message = change_message(&server, id, |doc| {
                        doc.edit(&stamp(), |h| h.facts.address = format!("{caller:?} 改 {n}")).unwrap();
                    });
                    http.post(&url).header("content-type", "application/octet-stream").body(message)
                }
                Call::Batch(id) => {
                    let message = change_message(&server, id, |doc| {
                        doc.edit(&stamp(), |h| h.facts.address = format!("{caller:?} 改 {n}")).unwrap();
                    });
                    let body = wire::encode_request(&[Outgoing { doc_id: (*id).to_owned(), message }]);
                    http.post(&url).header("content-type", server::sync::CONTENT_TYPE).body(body)
                }
            };
            if let Some(token) = &tokens[i] {
                req = req.bearer_auth(token);
            }
            let before = snapshot(&server);
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let body = resp.bytes().await.unwrap();
            let after = snapshot(&server);

            let refused_in_batch = matches!(call, Call::Batch(_)) && status == 200 && {
                let replies = wire::decode_response(&body).unwrap();
                matches!(&replies[..], [r] if matches!(&r.reply, Reply::Refused(x) if x.code == "unknown_household"))
            };
            let got = if refused_in_batch { W::Out } else { W::S(status) };
            if got != want[i] {
                let text = String::from_utf8_lossy(&body);
                failures.push(format!(
                    "{cell}: want {:?}, got {got:?} {}",
                    want[i],
                    text.chars().take(160).collect::<String>()
                ));
                continue;
            }
            // Content: no full ID number in any answer but an admin's, and the
            // documents a cadre syncs (a cadre's phone holds its households whole).
            let text = String::from_utf8_lossy(&body);
            let full = [H2_ID, H4_ID].iter().any(|n| text.contains(n));
            let whole_documents = matches!(call, Call::Sync(_) | Call::Batch(_));
            if full && *caller != Caller::Admin && !whole_documents {
                failures.push(format!("{cell}: a full ID number in the answer"));
            }
            admin_saw_full += usize::from(full && *caller == Caller::Admin);
            let refusal = status >= 400 || got == W::Out;
            if refusal && after != before {
                failures.push(format!("{cell}: refused ({got:?}) but something stored changed"));
            }
            // An allowed write visibly changed the household: the refusals are about who asks.
            if let Some(id) = target
                && !refusal
            {
                let find = |s: &Snapshot| s.documents.iter().find(|(d, _)| d == id).map(|(_, b)| b.clone());
                if find(&before) == find(&after) {
                    failures.push(format!("{cell}: allowed ({got:?}) but {id} did not change"));
                }
            }
        }
    }
    assert_eq!(cells, TABLE.len() * CALLERS.len());
    assert!(admin_saw_full >= 3, "admins read full numbers (detail, history, unmasked exports): {admin_saw_full}");
    assert!(failures.is_empty(), "{} of {cells} cells wrong:\n{}", failures.len(), failures.join("\n"));
}
