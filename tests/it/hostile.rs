//! Hostile input against a real server (issue 8). Arbitrary bodies posted to the sync,
//! login and roster endpoints get a clear 4xx with `{error, zh, en}` (or a 200 where
//! the input happens to be valid), never a 5xx and never a hang, and change nothing
//! stored. Documents that decode but break the layout, and sync messages that made
//! automerge 0.12 panic, are refused for that document only while the rest of the
//! batch goes through. `bad_input.rs` has the hand-picked malformed bodies; here they
//! are property tests (proptest with a fixed seed, one server for all cases of a test,
//! one runtime and one client), each printing how many cases it ran.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use huhujian_tests::{Engine, PASSWORD, Phone, TestServer, gzip_bytes};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::automerge::sync::{BloomFilter, ChunkList, Have, Message, MessageVersion};
use shared::automerge::transaction::Transactable;
use shared::automerge::{ObjType, ROOT};
use shared::wire::{self, Outgoing, Reply};

use crate::roster_server;

/// Longer than this without an answer is a hang.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Cases per property: each is one request to the running server.
const CASES: u32 = 200;

/// Runs `test` on `cases` values of `strategy` with a fixed seed and prints how many
/// cases ran, how long they took and `tally` (answers by status).
fn property<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    tally: &Tally,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x4855_4855_4a49_414e),
        max_shrink_iters: 200,
        ..Config::default()
    };
    let count = AtomicU64::new(0);
    let started = Instant::now();
    let result = TestRunner::new(config).run(&strategy, |value| {
        count.fetch_add(1, Ordering::Relaxed);
        test(value)
    });
    let seen = tally.0.lock().map(|t| format!("{t:?}")).unwrap_or_default();
    eprintln!("property {name}: {} cases in {:.2?}; answers {seen}", count.load(Ordering::Relaxed), started.elapsed());
    if let Err(e) = result {
        panic!("property {name} failed: {e}");
    }
}

/// Answers seen by one property, by status.
#[derive(Default)]
struct Tally(Mutex<BTreeMap<String, u32>>);

impl Tally {
    fn add(&self, status: StatusCode) {
        if let Ok(mut t) = self.0.lock() {
            *t.entry(status.as_u16().to_string()).or_default() += 1;
        }
    }
}

/// One answer, read whole within [`TIMEOUT`].
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body[..self.body.len().min(300)]).into_owned()
    }
}

async fn send(request: reqwest::RequestBuilder) -> Result<Answer, String> {
    let exchange = async {
        let resp = request.send().await.map_err(|e| format!("no answer (a dropped connection?): {e:?}"))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("the answer broke off: {e}"))?.to_vec();
        Ok(Answer { status, body })
    };
    tokio::time::timeout(TIMEOUT, exchange).await.map_err(|_| format!("no answer within {TIMEOUT:?}: a hang"))?
}

/// A 4xx whose body is `{"error", "zh", "en"}`, each non-empty.
fn clear_error(a: &Answer) -> Result<Value, String> {
    if !a.status.is_client_error() {
        return Err(format!("HTTP {}, not a 4xx: {}", a.status, a.text()));
    }
    let v: Value = serde_json::from_slice(&a.body)
        .map_err(|_| format!("HTTP {} with a body that is not JSON: {:?}", a.status, a.text()))?;
    let said = |k: &str| v[k].as_str().is_some_and(|s| !s.trim().is_empty());
    if said("error") && said("zh") && said("en") {
        Ok(v)
    } else {
        Err(format!("HTTP {} without {{error, zh, en}}: {v}", a.status))
    }
}

fn fail(what: &str, e: String) -> TestCaseError {
    TestCaseError::fail(format!("{what}: {e}"))
}

/// Everything stored that no hostile request may change: every document byte for
/// byte, the accounts (but not their failed-login counters), and the row counts of
/// the other tables; and SQLite's own integrity check.
#[derive(Debug, PartialEq)]
struct Stored {
    documents: Vec<(String, Vec<u8>)>,
    users: String,
    counts: Vec<i64>,
}

fn stored(server: &TestServer) -> Stored {
    let peek = server.peek();
    let counts = ["households", "summaries", "assignments", "change_log", "audit_log", "users"]
        .iter()
        .map(|t| peek.count(&format!("SELECT COUNT(*) FROM {t}")))
        .collect();
    if peek.engine() == Engine::Sqlite {
        assert_eq!(peek.texts("PRAGMA integrity_check"), ["ok"], "PRAGMA integrity_check");
    }
    let users = peek
        .texts(
            "SELECT id || '|' || name || '|' || role || '|' || COALESCE(area, '') || '|' ||
                    password_hash || '|' || disabled || '|' || created_at
             FROM users ORDER BY id",
        )
        .join(";");
    Stored { documents: peek.documents(), users, counts }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn client() -> reqwest::Client {
    huhujian_tests::http_builder().timeout(TIMEOUT).build().unwrap()
}

// --- byte strategies ------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        3 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => any::<usize>().prop_map(Mutation::Delete),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ];
    vec(one, 0..4)
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let n = bytes.len();
        match *m {
            Mutation::Insert(i, b) => bytes.insert(i % (n + 1), b),
            Mutation::Truncate(i) => bytes.truncate(i % (n + 1)),
            _ if n == 0 => {}
            Mutation::Flip(i, bit) => bytes[i % n] ^= 1 << (bit % 8),
            Mutation::Delete(i) => {
                bytes.remove(i % n);
            }
        }
    }
    bytes
}

fn valid_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.-]{1,32}"
}

/// How a body is labelled and packed.
#[derive(Debug, Clone)]
enum Packing {
    Plain,
    /// Compressed, labelled `Content-Encoding: gzip`.
    Gzip,
    /// Compressed, then cut short.
    GzipCut(usize),
    /// Labelled gzip, sent as is.
    ClaimsGzip,
    /// Labelled with another encoding.
    Other(&'static str),
}

fn packing() -> impl Strategy<Value = Packing> {
    prop_oneof![
        4 => Just(Packing::Plain),
        3 => Just(Packing::Gzip),
        1 => any::<usize>().prop_map(Packing::GzipCut),
        1 => Just(Packing::ClaimsGzip),
        1 => prop::sample::select(vec!["deflate", "br", "gzip, gzip", "GZIP", "x-gzip", "identity, gzip", "*"])
            .prop_map(Packing::Other),
    ]
}

fn pack(body: Vec<u8>, packing: &Packing, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    match packing {
        Packing::Plain => request.body(body),
        Packing::Gzip => request.header("content-encoding", "gzip").body(gzip_bytes(&body)),
        Packing::GzipCut(at) => {
            let mut z = gzip_bytes(&body);
            z.truncate(at % z.len());
            request.header("content-encoding", "gzip").body(z)
        }
        Packing::ClaimsGzip => request.header("content-encoding", "gzip").body(body),
        Packing::Other(e) => request.header("content-encoding", *e).body(body),
    }
}

/// Percent-encodes every byte but the unreserved ones, for a path segment.
fn pct(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// --- 1. the sync endpoints ------------------------------------------------------------

/// Sync bodies: arbitrary bytes, arbitrary bytes after a valid header, real batches of
/// a phone that is in sync (so no valid change can slip in) mutated, and well-framed
/// batches of arbitrary ids and messages.
fn sync_bodies(real: Vec<Outgoing>) -> impl Strategy<Value = Vec<u8>> {
    let real_batch = (proptest::sample::subsequence(real.clone(), 0..=real.len()), mutations())
        .prop_map(|(entries, m)| mutate(wire::encode_request(&entries), &m));
    let message = prop_oneof![
        Just(Vec::new()),
        vec(any::<u8>(), 0..64),
        vec(any::<u8>(), 0..64).prop_map(|b| [vec![0x42], b].concat()),
        (proptest::sample::select(real.clone()), mutations()).prop_map(|(o, m)| mutate(o.message, &m)),
    ];
    let id = prop_oneof![prop::sample::select(vec!["H1", "H2", "H3", "H4", "H9"]).prop_map(str::to_owned), valid_id()];
    let framed = proptest::collection::btree_map(id, message, 0..6).prop_map(|m| {
        let entries: Vec<Outgoing> = m.into_iter().map(|(doc_id, message)| Outgoing { doc_id, message }).collect();
        wire::encode_request(&entries)
    });
    prop_oneof![
        2 => vec(any::<u8>(), 0..600),
        2 => vec(any::<u8>(), 0..300).prop_map(|b| [b"HHJQ\x01".as_slice(), &b].concat()),
        3 => real_batch,
        3 => framed,
    ]
}

/// Checks one answer of `POST /api/sync`: a clear 4xx, or a 200 whose body decodes
/// with every refusal named.
fn check_sync_answer(what: &str, a: &Answer) -> Result<(), TestCaseError> {
    if a.status == StatusCode::OK {
        let replies = wire::decode_response(&a.body).map_err(|e| fail(what, format!("200 with a bad body: {e}")))?;
        for r in replies {
            if let Reply::Refused(r) = r.reply {
                prop_assert!(!r.code.is_empty() && !r.zh.is_empty() && !r.en.is_empty(), "{what}: {r:?}");
            }
        }
        return Ok(());
    }
    clear_error(a).map(drop).map_err(|e| fail(what, e))
}

#[test]
fn arbitrary_sync_bodies_get_a_clear_answer_and_change_nothing() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let server = rt.block_on(roster_server(&dir));
    let mut c1 = rt.block_on(Phone::login(&server, "c1", "phone-c1"));
    c1.want(&["H1", "H2", "H3"]);
    rt.block_on(c1.sync());
    // The messages of a phone that is in sync: heads and bloom filters, no changes.
    let real: Vec<Outgoing> = c1
        .docs
        .iter()
        .map(|(id, doc)| {
            let mut state = shared::automerge::sync::State::new();
            Outgoing { doc_id: id.clone(), message: doc.sync_message(&mut state).unwrap() }
        })
        .collect();
    let before = stored(&server);
    let http = client();
    let base = server.url("");

    let tally = Tally::default();
    property("POST /api/sync: arbitrary bodies", CASES, (sync_bodies(real.clone()), packing()), &tally, |(body, p)| {
        let request = http
            .post(format!("{base}/api/sync"))
            .bearer_auth(&c1.token)
            .header("content-type", server::sync::CONTENT_TYPE);
        let a = rt.block_on(send(pack(body, &p, request))).map_err(|e| fail("POST /api/sync", e))?;
        tally.add(a.status);
        check_sync_answer("POST /api/sync", &a)
    });

    let one_message = prop_oneof![
        Just(Vec::new()),
        vec(any::<u8>(), 0..400),
        vec(any::<u8>(), 0..200).prop_map(|b| [vec![0x42], b].concat()),
        (proptest::sample::select(real.clone()), mutations()).prop_map(|(o, m)| mutate(o.message, &m)),
    ];
    let path_id = prop_oneof![
        3 => prop::sample::select(vec!["H1", "H2", "H4", "H9"]).prop_map(str::to_owned),
        1 => valid_id(),
        1 => ".{1,40}".prop_map(|s| pct(s.as_bytes())),
        1 => vec(any::<u8>(), 1..40).prop_map(|b| pct(&b)),
        1 => Just("x".repeat(5000)),
    ];
    let tally = Tally::default();
    let strategy = (path_id, one_message, packing());
    property("POST /api/sync/{id}: arbitrary ids and bodies", CASES, strategy, &tally, |(id, body, p)| {
        let what = format!("POST /api/sync/{}", &id[..id.len().min(60)]);
        let request = http.post(format!("{base}/api/sync/{id}")).bearer_auth(&c1.token);
        let a = rt.block_on(send(pack(body, &p, request))).map_err(|e| fail(&what, e))?;
        tally.add(a.status);
        match a.status {
            StatusCode::OK => {
                prop_assert!(Message::decode(&a.body).is_ok(), "{what}: 200 with a body that is not a sync message");
            }
            StatusCode::NO_CONTENT => {}
            _ => {
                clear_error(&a).map_err(|e| fail(&what, e))?;
            }
        }
        Ok(())
    });

    assert_eq!(stored(&server), before, "a hostile sync request changed something stored");
    rt.block_on(server.stop());
}

// --- 2. login and roster --------------------------------------------------------------

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec!["c1", "c2", "admin", "nobody", PASSWORD, "", " ", "phone-1", "a b", "设备"])
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
        Just(Value::from("长".repeat(100_000))),
        Just(Value::from("d".repeat(33))),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,8}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A login object with right, wrong, missing and extra fields of every type.
fn login_object() -> impl Strategy<Value = Vec<u8>> {
    let field = |names: Vec<&'static str>| {
        prop_oneof![
            3 => prop::sample::select(names).prop_map(Value::from),
            2 => json_value(),
        ]
    };
    (
        proptest::option::weighted(0.9, field(vec!["c2", "c1", "admin", "nobody", ""])),
        proptest::option::weighted(0.9, field(vec!["wrong password", "", "correct horse ", "CORRECT HORSE"])),
        proptest::option::weighted(0.9, field(vec!["phone-ok", "bad device", "", "设备"])),
        proptest::option::of((".{1,8}", json_value())),
    )
        .prop_map(|(login, password, device, extra)| {
            let mut o = serde_json::Map::new();
            for (k, v) in [("login", login), ("password", password), ("device_id", device)] {
                if let Some(v) = v {
                    o.insert(k.to_owned(), v);
                }
            }
            if let Some((k, v)) = extra {
                o.insert(k, v);
            }
            serde_json::to_vec(&Value::Object(o)).unwrap()
        })
}

/// Login bodies: objects from [`login_object`], text mutations of them, now and then
/// the right password of c2 on a valid device (a 200), and bodies that are not JSON.
fn login_bodies() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => login_object(),
        2 => (login_object(), mutations()).prop_map(|(b, m)| mutate(b, &m)),
        1 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => vec(any::<u8>(), 0..300),
        1 => Just(json!({"login": "c2", "password": PASSWORD, "device_id": "phone-ok"}).to_string().into_bytes()),
        1 => prop::sample::select(vec![
            "\u{feff}{\"login\":\"c2\",\"password\":\"x\",\"device_id\":\"d\"}".to_owned(),
            "[".repeat(100_000),
            "{\"login\": 1e999999}".to_owned(),
            "{\"login\":\"c2\",\"login\":\"c1\",\"password\":\"x\",\"device_id\":\"d\"}".to_owned(),
            "null".to_owned(),
            String::new(),
        ])
        .prop_map(String::into_bytes),
    ]
}

/// Roster bodies: arbitrary bytes, and CSV-shaped text: a header of known, unknown,
/// quoted and empty column names, cells with quotes, commas, line breaks, very long
/// text, a BOM here or there, invalid UTF-8, ragged and 10,000-column rows. The first
/// row always carries a malformed registry number, so no such file can be imported
/// (a valid file would change what is stored).
fn roster_bodies() -> impl Strategy<Value = Vec<u8>> {
    let mut names: Vec<String> =
        server::roster::COLUMNS.iter().flat_map(|(en, zh)| [(*en).to_owned(), (*zh).to_owned()]).collect();
    names.extend(["", " ", "\"registry_no\"", "\"unclosed", "x", "\u{feff}registry_no", "户 编码"].map(str::to_owned));
    let column = prop_oneof![4 => prop::sample::select(names), 1 => ".{0,12}"];
    let cell = prop_oneof![
        Just(String::new()),
        prop::sample::select(vec!["H1", "H9", "c1", "c1;c2", "nobody", "是", "否", "1980-05-01", "2026-13-01", "户主"])
            .prop_map(str::to_owned),
        Just("\"quoted, with comma\"".to_owned()),
        Just("\"line\nbreak\"".to_owned()),
        Just("\"unclosed".to_owned()),
        Just("a\"b".to_owned()),
        Just("长".repeat(5000)),
        ".{0,16}",
    ];
    let ending = prop::sample::select(vec!["\n", "\r\n", "\r"]);
    let csv = (
        vec(column, 1..12),
        vec(vec(cell, 0..14), 0..8),
        ending,
        any::<bool>(),
        proptest::option::weighted(0.15, (any::<usize>(), prop::sample::select(vec![0xffu8, 0xc3, 0x80, 0xfe]))),
    )
        .prop_map(|(header, rows, end, bom, broken)| {
            let poison = vec!["bad id/ x"; header.len()].join(",");
            let mut text = if bom { "\u{feff}".to_owned() } else { String::new() };
            text.push_str(&header.join(","));
            text.push_str(end);
            text.push_str(&poison);
            for row in rows {
                text.push_str(end);
                text.push_str(&row.join(","));
            }
            let mut bytes = text.into_bytes();
            if let Some((at, b)) = broken {
                let at = at % bytes.len();
                bytes.insert(at, b);
            }
            bytes
        });
    let wide_header = format!("registry_no,site,grid,name,{}\nbad id/ x", vec!["x"; 10_000].join(","));
    let wide_row = format!("registry_no,site,grid,name\nbad id/ x,a,b,c\nH9,{}", vec!["v"; 10_000].join(","));
    prop_oneof![
        2 => vec(any::<u8>(), 0..600),
        6 => csv,
        1 => prop::sample::select(vec![wide_header, wide_row]).prop_map(String::into_bytes),
    ]
}

#[test]
fn arbitrary_login_and_roster_bodies_get_a_clear_answer_and_change_nothing() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let server = rt.block_on(roster_server(&dir));
    let admin = rt.block_on(Phone::login(&server, "admin", "desk"));
    let before = stored(&server);
    let http = client();
    let base = server.url("");

    let tally = Tally::default();
    property("POST /api/login: arbitrary bodies", CASES, login_bodies(), &tally, |body| {
        let sent: Option<Value> = serde_json::from_slice(&body).ok();
        let request = http.post(format!("{base}/api/login")).header("content-type", "application/json").body(body);
        let a = rt.block_on(send(request)).map_err(|e| fail("POST /api/login", e))?;
        tally.add(a.status);
        if a.status == StatusCode::OK {
            // Only a right password for that login, on a valid device, logs in.
            let sent = sent.unwrap_or_default();
            let ok: Value = serde_json::from_slice(&a.body).map_err(|e| fail("login 200", e.to_string()))?;
            prop_assert_eq!(&sent["password"], PASSWORD, "{}", sent);
            prop_assert_eq!(&ok["user"]["id"], &sent["login"]);
            prop_assert!(sent["device_id"].as_str().is_some_and(shared::fields::is_valid_id));
            prop_assert_eq!(ok["token"].as_str().map(str::len), Some(64));
            return Ok(());
        }
        clear_error(&a).map(drop).map_err(|e| fail("POST /api/login", e))
    });

    let tally = Tally::default();
    property("POST /api/admin/roster: arbitrary bodies", CASES, roster_bodies(), &tally, |body| {
        let request = http.post(format!("{base}/api/admin/roster")).bearer_auth(&admin.token).body(body);
        let a = rt.block_on(send(request)).map_err(|e| fail("POST /api/admin/roster", e))?;
        tally.add(a.status);
        if a.status == StatusCode::UNPROCESSABLE_ENTITY {
            // The documented shape of a refused roster: every bad row, by line.
            let v: Value = serde_json::from_slice(&a.body).map_err(|e| fail("roster 422", e.to_string()))?;
            prop_assert_eq!(&v["error"], "roster_rejected");
            let rows = v["rows"].as_array().cloned().unwrap_or_default();
            prop_assert!(!rows.is_empty(), "422 without rows: {}", v);
            for r in rows {
                prop_assert!(r["line"].is_u64() && r["zh"].is_string() && r["en"].is_string(), "{}", r);
            }
            return Ok(());
        }
        clear_error(&a).map(drop).map_err(|e| fail("POST /api/admin/roster", e))
    });

    assert_eq!(stored(&server), before, "a hostile login or roster changed something stored");
    rt.block_on(server.stop());
}

/// Bodies over the 16 MiB limit on the JSON and CSV endpoints.
#[tokio::test]
async fn oversized_login_and_roster_bodies_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let admin = Phone::login(&server, "admin", "desk").await;
    let before = stored(&server);
    let huge = vec![b'a'; server::sync::MAX_BODY + 1];
    for (path, token) in [("/api/login", None), ("/api/admin/roster", Some(&admin.token))] {
        let mut request = client().post(server.url(path)).body(huge.clone());
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let a = send(request).await.unwrap();
        assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}: {}", a.text());
        clear_error(&a).unwrap();
    }
    assert_eq!(stored(&server), before);
}

// --- 3. messages that made automerge panic --------------------------------------------

fn v1(need: Vec<shared::automerge::ChangeHash>, have: Vec<Have>) -> Vec<u8> {
    Message { heads: vec![], need, have, changes: ChunkList::empty(), flags: None, version: MessageVersion::V1 }
        .encode()
}

/// Before `wire::receive_untrusted`, each of these made the server's handler panic
/// inside automerge 0.12 while answering (the connection dropped, no answer, and the
/// whole batch was lost): now the document is refused and the rest goes through.
#[tokio::test]
async fn sync_messages_that_panicked_automerge_are_refused_per_document() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    c1.want(&["H1", "H2", "H3"]);
    c1.sync().await;
    let known = c1.docs["H1"].heads()[0];
    // A bloom filter with one entry, no bits and 7 probes: a division by zero.
    let no_bits = BloomFilter::try_from([1u8, 0, 7].as_slice()).unwrap();
    let before = server.peek().documents();

    let stamp = shared::Stamp::new("c1", "李明", 1_795_000_000);
    c1.docs.get_mut("H3").unwrap().edit(&stamp, |h| h.facts.address = "2栋202".into()).unwrap();
    let mut state = shared::automerge::sync::State::new();
    let h3 = c1.docs["H3"].sync_message(&mut state).unwrap();
    let batch = wire::encode_request(&[
        Outgoing { doc_id: "H1".into(), message: v1(vec![known, known], vec![]) },
        Outgoing { doc_id: "H2".into(), message: v1(vec![], vec![Have { last_sync: vec![], bloom: no_bits }]) },
        Outgoing { doc_id: "H3".into(), message: h3 },
    ]);
    let a = send(c1_request(&c1, &server, batch)).await.unwrap();
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let replies = wire::decode_response(&a.body).unwrap();
    for (i, id) in ["H1", "H2"].iter().enumerate() {
        assert_eq!(replies[i].doc_id, *id);
        assert!(matches!(&replies[i].reply, Reply::Refused(r) if r.code == "bad_message"), "{id}: {:?}", replies[i]);
    }
    assert!(!matches!(replies[2].reply, Reply::Refused(_)), "{:?}", replies[2]);
    // The same through the one-document endpoint: 400 bad_message.
    let a = send(client().post(server.url("/api/sync/H1")).bearer_auth(&c1.token).body(v1(vec![known, known], vec![])))
        .await
        .unwrap();
    assert_eq!(clear_error(&a).unwrap()["error"], "bad_message");
    // H1 and H2 unchanged; H3's edit arrives once the phone's loop runs.
    let after = server.peek().documents();
    assert_eq!(after[..2], before[..2]);
    c1.sync().await;
    let stored_h3 =
        shared::HouseholdDoc::load(&server.peek().documents()[2].1, shared::automerge::ActorId::random()).unwrap();
    assert_eq!(stored_h3.household().unwrap().facts.address, "2栋202");
}

fn c1_request(c1: &Phone, server: &TestServer, body: Vec<u8>) -> reqwest::RequestBuilder {
    client()
        .post(server.url("/api/sync"))
        .bearer_auth(&c1.token)
        .header("content-type", server::sync::CONTENT_TYPE)
        .body(body)
}

fn vm_peak_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status.lines().find(|l| l.starts_with("VmPeak:")).and_then(|l| l.split_whitespace().nth(1));
    kb.and_then(|k| k.parse::<u64>().ok()).unwrap_or(0) / 1024
}

/// automerge 0.12 (storage/chunk.rs) inflates a compressed change chunk (type 2)
/// whole, with no bound, before it checks anything: 64 MiB of zeros travel as ~64 KB,
/// and deflate reaches ~1000:1, so a 16 MiB body could ask for ~16 GB. Honest peers
/// never send compressed changes by sync, so `wire::check_sync_message` refuses them
/// unread. The server runs in this process: its peak virtual memory shows what was
/// spent (before the guard: +258 MB for this one message, from a 63 KB body).
#[tokio::test]
async fn a_deflate_bomb_in_a_sync_message_is_refused_unread() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    c1.want(&["H1"]);
    c1.sync().await;
    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        deflate.write_all(&zeros).unwrap();
    }
    let deflated = deflate.finish().unwrap();
    drop(zeros);
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
    let mut n = deflated.len();
    while n >= 0x80 {
        chunk.push((n & 0x7f) as u8 | 0x80);
        n >>= 7;
    }
    chunk.push(n as u8);
    chunk.extend_from_slice(&deflated);
    let message = Message {
        heads: vec![],
        need: vec![],
        have: vec![],
        changes: ChunkList::from(vec![chunk]),
        flags: None,
        version: MessageVersion::V1,
    }
    .encode();
    let body = wire::encode_request(&[Outgoing { doc_id: "H1".into(), message }]);
    let sent = body.len();
    let peak = vm_peak_mb();
    let started = Instant::now();
    let a = send(c1_request(&c1, &server, body)).await.unwrap();
    let took = started.elapsed();
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let replies = wire::decode_response(&a.body).unwrap();
    assert!(matches!(&replies[0].reply, Reply::Refused(r) if r.code == "bad_message"), "{:?}", replies[0]);
    println!(
        "a sync body of {} KB holding a deflated change of 64 MiB: refused in {took:.2?}; \
         peak virtual memory of the process {peak} MB -> {} MB",
        sent / 1024,
        vm_peak_mb()
    );
}

// --- 4. documents that decode but break the layout ------------------------------------

type Build = Box<dyn Fn(&mut shared::automerge::transaction::Transaction<'_>)>;

fn build(f: impl Fn(&mut shared::automerge::transaction::Transaction<'_>) + 'static) -> Build {
    Box::new(f)
}

/// A hostile client writes into H1 with raw Automerge and makes an ordinary edit to H2,
/// in the same batch: H1 is refused with a clear code and message and nothing of it is
/// stored; H2 is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_that_break_the_layout_are_refused_per_document() {
    let cases: Vec<(&str, &str, &str, Build)> = vec![
        ("a bool field holding text", "schema", "f/dibao", build(|tx| tx.put(ROOT, "f/dibao", "yes").unwrap())),
        (
            "an amount holding text",
            "schema",
            "v/2026-11/i/wage",
            build(|tx| tx.put(ROOT, "v/2026-11/i/wage", "3000").unwrap()),
        ),
        ("a date holding a number", "schema", "m/a/birth", build(|tx| tx.put(ROOT, "m/a/birth", 19_800_501).unwrap())),
        ("a float", "schema", "v/2026-11/i/wage", build(|tx| tx.put(ROOT, "v/2026-11/i/wage", 3000.5).unwrap())),
        (
            "an amount of i64::MIN",
            "schema",
            "v/2026-11/i/wage",
            build(|tx| tx.put(ROOT, "v/2026-11/i/wage", i64::MIN).unwrap()),
        ),
        ("an unknown period", "invalid", "2026-13", build(|tx| tx.put(ROOT, "v/2026-13/note", "x").unwrap())),
        ("a period that is no date", "invalid", "abc", build(|tx| tx.put(ROOT, "v/abc/mode", "in_person").unwrap())),
        (
            "a 5,000-character note",
            "schema",
            "v/2026-11/note",
            build(|tx| tx.put(ROOT, "v/2026-11/note", "字".repeat(5000)).unwrap()),
        ),
        (
            "1,000 members",
            "schema",
            "members",
            build(|tx| {
                for i in 0..1000 {
                    tx.put(ROOT, format!("m/x{i}/name"), "甲").unwrap();
                }
            }),
        ),
        (
            "a map nested 200 deep at ROOT",
            "schema",
            "f/address",
            build(|tx| {
                let mut at = tx.put_object(ROOT, "f/address", ObjType::Map).unwrap();
                for i in 0..200 {
                    at = tx.put_object(&at, format!("k{i}"), ObjType::Map).unwrap();
                }
            }),
        ),
        (
            "20,000 unknown keys",
            "schema",
            "x/",
            build(|tx| {
                for i in 0..20_000 {
                    tx.put(ROOT, format!("x/{i}"), i).unwrap();
                }
            }),
        ),
        (
            "20,000 visitors on one visit",
            "schema",
            "51 visitors in one visit",
            build(|tx| {
                for i in 0..20_000 {
                    tx.put(ROOT, format!("v/2026-11/by/u{i}"), "某").unwrap();
                }
            }),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let stamp = shared::Stamp::new("c1", "李明", 1_795_000_000);
    for (n, (what, code, named, build)) in cases.iter().enumerate() {
        let mut c1 = Phone::login(&server, "c1", &format!("phone-{n}")).await;
        c1.want(&["H1", "H2"]);
        c1.sync().await;
        let before = server.peek().documents();
        let log_before = server.peek().count("SELECT COUNT(*) FROM change_log WHERE household_id = 'H1'");
        let h1 = c1.docs.get_mut("H1").unwrap().automerge_mut();
        let mut tx = h1.transaction();
        build(&mut tx);
        tx.commit();
        c1.docs.get_mut("H2").unwrap().edit(&stamp, |h| h.facts.address = format!("{n}号")).unwrap();
        let started = Instant::now();
        let report = c1.sync().await;
        let took = started.elapsed();
        let refusal = report.refused.get("H1");
        println!("layout: {what}: {:?} in {took:.2?}", refusal.map(|r| (&r.code, &r.en)));
        let r = refusal.unwrap_or_else(|| panic!("{what}: H1 was accepted"));
        assert_eq!(r.code, *code, "{what}: {r:?}");
        assert!(r.en.contains(named) && !r.zh.is_empty(), "{what}: {r:?}");
        assert!(!report.refused.contains_key("H2"), "{what}: H2 refused too");
        let after = server.peek().documents();
        assert_eq!(after[0], before[0], "{what}: H1 changed");
        assert_ne!(after[1], before[1], "{what}: H2 not stored");
        assert_eq!(server.peek().count("SELECT COUNT(*) FROM change_log WHERE household_id = 'H1'"), log_before);
        assert!(took < Duration::from_secs(20), "{what}: {took:?}");
    }
}

/// A visit keyed far in the future passes the layout and validation refuses nothing
/// (`PeriodInFuture` is an error for the form, not a refusal), and the server then
/// writes a summary row for every month up to it: store.rs `save_summaries` runs to
/// `max(current, last visit)`. Known (see the report of issue 8): printed, and only
/// the time is asserted.
#[tokio::test]
async fn a_visit_in_2999_is_answered_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    c1.want(&["H1"]);
    c1.sync().await;
    let rows = || server.peek().count("SELECT COUNT(*) FROM summaries WHERE household_id = 'H1'");
    let before = rows();
    let stamp = shared::Stamp::new("c1", "李明", 1_795_000_000);
    c1.docs
        .get_mut("H1")
        .unwrap()
        .edit(&stamp, |h| h.visits.entry("2999-12".into()).or_default().mode = Some(shared::VisitMode::InPerson))
        .unwrap();
    let started = Instant::now();
    let report = c1.sync().await;
    let took = started.elapsed();
    println!("KNOWN: a visit in 2999-12 took {took:.2?} and grew H1's summary rows from {before} to {}", rows());
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert!(took < TIMEOUT, "{took:?}");
}
