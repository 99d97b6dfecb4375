//! The server trusts roles, not phones (issue 16): a cadre's modified phone cannot
//! approve a visit, forge or delete a supervisor's review step, or move a household
//! out of its supervisors' sight; nobody but an admin reads a full ID number.

use huhujian_tests::Phone;
use serde_json::{Value, json};
use shared::automerge::transaction::Transactable;
use shared::automerge::{ROOT, ScalarValue};
use shared::{Stamp, VisitMode};

use crate::roster_server;

const P: &str = "2026-11";

/// One change on `phone`'s copy of `id` made of raw puts (`Some`) and deletions
/// (`None`), as a modified app could make.
fn forge(phone: &mut Phone, id: &str, ops: &[(&str, Option<&str>)]) {
    let doc = phone.docs.get_mut(id).unwrap();
    let mut tx = doc.automerge_mut().transaction();
    for (key, value) in ops {
        match value {
            Some(v) => tx.put(ROOT, *key, ScalarValue::Str((*v).into())).unwrap(),
            None => tx.delete(ROOT, *key).unwrap(),
        }
    }
    tx.commit();
}

/// Throws away `phone`'s copy of `id` and downloads it again.
async fn fresh(phone: &mut Phone, id: &str) {
    phone.docs.remove(id);
    phone.states.remove(id);
    phone.want(&[id]);
    let report = phone.sync().await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);
}

/// Syncs `phone` and answers the code of `id`'s refusal, if any.
async fn sync_refusal(phone: &mut Phone, id: &str) -> Option<(String, String)> {
    let report = phone.sync().await;
    report.refused.get(id).map(|r| (r.code.clone(), r.zh.clone()))
}

async fn review(s1: &Phone, id: &str, action: &str, comment: &str) -> Value {
    let resp = s1
        .post_json(&format!("/api/households/{id}/review"), &json!({"period": P, "action": action, "comment": comment}))
        .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn a_cadre_cannot_forge_an_approval_or_delete_a_supervisors_return() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    let s1 = Phone::login(&server, "s1", "desk-s1").await;
    c1.want(&["H2"]);
    c1.sync().await;
    c1.docs
        .get_mut("H2")
        .unwrap()
        .edit(&Stamp::new("c1", "李明", 1_795_000_000), |h| {
            h.visits.entry(P.into()).or_default().mode = Some(VisitMode::InPerson);
        })
        .unwrap();
    c1.sync().await;
    let returned = review(&s1, "H2", "return", "收入请核实").await;
    let steps = returned["household"]["visits"][P]["reviews"].as_object().unwrap().clone();
    let (step, _) = steps.iter().next().unwrap();
    c1.sync().await;

    // Approved, with a step signed by another supervisor.
    let forged = format!("v/{P}/rv/1795200000-sup02");
    let (act, by, name) = (format!("{forged}/act"), format!("{forged}/by"), format!("{forged}/name"));
    forge(
        &mut c1,
        "H2",
        &[
            (&format!("v/{P}/review"), Some("approved")),
            (&act, Some("approve")),
            (&by, Some("sup02")),
            (&name, Some("赵主任")),
        ],
    );
    let refusal = sync_refusal(&mut c1, "H2").await;
    assert_eq!(refusal.as_ref().map(|r| r.0.as_str()), Some("not_allowed"), "{refusal:?}");
    assert!(refusal.unwrap().1.contains("审核状态"), "the refusal names the field");
    let approved: Value = s1.get_json(&format!("/api/reviews?period={P}&status=approved")).await;
    assert_eq!(approved["rows"], json!([]), "{approved}");
    fresh(&mut c1, "H2").await;

    // The supervisor's comment deleted.
    forge(&mut c1, "H2", &[(&format!("v/{P}/rv/{step}/text"), None)]);
    assert_eq!(sync_refusal(&mut c1, "H2").await.map(|r| r.0), Some("not_allowed".into()));
    fresh(&mut c1, "H2").await;
    let detail: Value = s1.get_json("/api/households/H2").await;
    assert_eq!(detail["household"]["visits"][P]["review"], "returned");
    assert_eq!(detail["household"]["visits"][P]["reviews"][step.as_str()]["comment"], "收入请核实");

    // The honest way: correct, and resubmit with a reply.
    c1.docs
        .get_mut("H2")
        .unwrap()
        .edit(&Stamp::new("c1", "李明", 1_795_300_000), |h| {
            let v = h.visits.get_mut(P).unwrap();
            v.income.wage = Some(4200);
            v.add_review(shared::ReviewAction::Resubmit, "c1", "李明", 1_795_300_000, "已核实");
        })
        .unwrap();
    assert_eq!(sync_refusal(&mut c1, "H2").await, None);
    let detail: Value = s1.get_json("/api/households/H2").await;
    assert_eq!(detail["household"]["visits"][P]["review"], "pending");
}

#[tokio::test]
async fn a_cadre_cannot_move_a_household_out_of_its_supervisors_sight() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    let s1 = Phone::login(&server, "s1", "desk-s1").await;
    let before = s1.list().await;
    assert!(before.contains(&"H2".to_owned()));
    c1.want(&["H2"]);
    c1.sync().await;
    for (key, value) in [("f/site", Some("光禄新村")), ("f/county", Some("别的县")), ("f/grid", None)] {
        forge(&mut c1, "H2", &[(key, value)]);
        assert_eq!(sync_refusal(&mut c1, "H2").await.map(|r| r.0), Some("not_allowed".into()), "{key}");
        fresh(&mut c1, "H2").await;
    }
    assert_eq!(s1.list().await, before, "the supervisor still sees every household");
    // What a cadre may correct still goes through.
    c1.docs
        .get_mut("H2")
        .unwrap()
        .edit(&Stamp::new("c1", "李明", 1_795_000_000), |h| {
            h.facts.address = "1栋102室（核实）".into();
        })
        .unwrap();
    assert_eq!(sync_refusal(&mut c1, "H2").await, None);
}

/// A valid ID number for a man born on `birth` (`YYYYMMDD`) in 522301.
fn id_number(birth: &str, seq: &str) -> String {
    let first17 = format!("522301{birth}{seq}");
    let bytes: [u8; 17] = first17.as_bytes().try_into().unwrap();
    format!("{first17}{}", shared::idcard::check_char(&bytes))
}

#[tokio::test]
async fn nobody_but_an_admin_reads_a_full_id_number() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    let mut c2 = Phone::login(&server, "c2", "phone-c2").await;
    let s1 = Phone::login(&server, "s1", "desk-s1").await;
    let admin = Phone::login(&server, "admin", "desk-admin").await;
    // 李国华 of H1 (born 1980-05-01): c1 and c2 record different ID numbers offline.
    let (first, second) = (id_number("19800501", "001"), id_number("19800501", "003"));
    c1.want(&["H1"]);
    c2.want(&["H1"]);
    c1.sync().await;
    c2.sync().await;
    for (phone, id, user) in [(&mut c1, &first, "c1"), (&mut c2, &second, "c2")] {
        phone
            .docs
            .get_mut("H1")
            .unwrap()
            .edit(&Stamp::new(user, user, 1_795_000_000), |h| {
                h.members.get_mut("a").unwrap().id_number = id.clone();
            })
            .unwrap();
        assert!(phone.sync().await.refused.is_empty());
    }
    let full = |text: &str| text.contains(&first) || text.contains(&second);
    for path in ["/api/households/H1", "/api/households/H1/history", "/api/conflicts"] {
        for who in [&s1, &c1] {
            let text = who.get(path).await.text().await.unwrap();
            assert!(!full(&text), "{path} shows a full ID number to a non-admin: {text}");
            assert!(text.contains("522301********"), "{path} shows the masked number");
        }
        let text = admin.get(path).await.text().await.unwrap();
        assert!(full(&text), "{path} shows admins the full number");
    }
    // A supervisor settles the conflict on a masked value.
    let conflicts: Vec<Value> = s1.get_json("/api/conflicts").await;
    let masked = conflicts[0]["values"][0]["value"].clone();
    let resp = s1.post_json("/api/households/H1/resolve", &json!({"key": "m/a/id_no", "value": masked})).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(!full(&text), "{text}");
    let detail: Value = admin.get_json("/api/households/H1").await;
    let kept = detail["household"]["members"]["a"]["id_number"].as_str().unwrap();
    assert!(kept == first || kept == second, "the real number was kept: {kept}");

    // Whole documents (every number ever stored) are not for supervisors.
    let resp = s1.post_sync_raw(shared::wire::encode_request(&[]), false).await;
    assert_eq!(resp.status(), 403);
    // An admin may sync them, and that is in the audit log.
    let mut admin = admin;
    admin.want(&["H1"]);
    assert!(admin.sync().await.refused.is_empty());
    let audited =
        server.peek().count("SELECT count(*) FROM audit_log WHERE action = 'sync_whole_documents' AND detail = 'H1'");
    assert!(audited >= 1, "the admin's sync is audited");
}

#[tokio::test]
async fn csv_exports_cannot_carry_formulas_or_hidden_characters() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    let s1 = Phone::login(&server, "s1", "desk-s1").await;
    c1.want(&["H2"]);
    c1.sync().await;
    let (name, address, employer) = ("=HYPERLINK(\"http://evil\",\"点我\")", "+cmd|' /C calc'!A0", "@SUM(1+1)");
    c1.docs
        .get_mut("H2")
        .unwrap()
        .edit(&Stamp::new("c1", "李明", 1_795_000_000), |h| {
            h.facts.address = address.into();
            let head = h.members.get_mut("a").unwrap();
            head.name = name.into();
            h.members
                .insert("c1n1".into(), shared::Member { name: "张\u{0}三\u{202e}反".into(), ..Default::default() });
            let v = h.visits.entry(P.into()).or_default();
            v.mode = Some(VisitMode::InPerson);
            let job = v.employment.entry("a".into()).or_default();
            job.status = Some(shared::EmploymentStatus::Employed);
            job.employer = employer.into();
            job.monthly_income = Some(3000);
        })
        .unwrap();
    assert!(c1.sync().await.refused.is_empty());
    let mut cells = Vec::new();
    for path in [
        format!("/api/export.csv?period={P}"),
        format!("/api/export/households.csv?period={P}"),
        format!("/api/export/members.csv?period={P}"),
        format!("/api/export/employment.csv?period={P}"),
    ] {
        let text = s1.get(&path).await.text().await.unwrap();
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
        for record in reader.records() {
            cells.extend(record.unwrap().iter().map(str::to_owned));
        }
        assert!(!text.contains('\u{0}') && !text.contains('\u{202e}'), "{path}: control characters");
    }
    for value in [name, address, employer] {
        assert!(cells.contains(&format!("'{value}")), "{value} neutralised");
        assert!(!cells.contains(&value.to_owned()), "{value} verbatim");
    }
    assert!(cells.iter().all(|c| !c.starts_with(['=', '+', '@'])), "no cell starts a formula");
}

#[tokio::test]
async fn a_dashboard_read_of_a_period_nobody_keeps_is_refused_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let s1 = Phone::login(&server, "s1", "desk-s1").await;
    let rows = || {
        server.peek().count("SELECT count(*) FROM summaries") + server.peek().count("SELECT count(*) FROM area_totals")
    };
    let before = rows();
    for path in [
        "/api/trend?months=36&period=1902-12",
        "/api/indicators?period=1902-01",
        "/api/indicators?baseline=1990-01",
        "/api/coverage?period=2999-01",
        "/api/flagged?kind=not_visited&period=1950-01",
        "/api/reviews?period=1950-01",
    ] {
        let resp = s1.get(path).await;
        assert_eq!(resp.status(), 400, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "period_out_of_range", "{path}");
        assert!(body["zh"].as_str().unwrap().contains("超出可查范围"), "{body}");
    }
    assert_eq!(rows(), before, "nothing stored");
    // The longest trend ends now and reaches no further back than the kept periods.
    let points: Vec<Value> = s1.get_json("/api/trend?months=36").await;
    assert_eq!(points.len(), 36);
    // The oldest kept period answers, without 三个不减: its default baseline, a year
    // earlier, is not kept (it was refused as a whole before).
    let oldest = points[0]["period"].as_str().unwrap().to_owned();
    let report: Value = s1.get_json(&format!("/api/indicators?period={oldest}")).await;
    assert_eq!(report["period"], oldest.as_str());
    assert!(report["baseline"].is_null() && report["three_no_decrease"].is_null(), "{report}");
    assert!(report["indicators"]["households"].as_u64().unwrap() > 0, "{report}");
    // A period two years on from it compares with the year before, as always.
    let later = points[24]["period"].as_str().unwrap().to_owned();
    let report: Value = s1.get_json(&format!("/api/indicators?period={later}")).await;
    assert_eq!(report["baseline"], points[12]["period"]);
    let three = &report["three_no_decrease"];
    assert!(three.is_object(), "{report}");
    let compared = three["households"][0].as_u64().unwrap() + three["households"][1].as_u64().unwrap();
    assert_eq!(
        report["three_no_decrease_holds"].is_boolean(),
        compared > 0,
        "a verdict only on households compared: {report}"
    );
}

#[tokio::test]
async fn half_sent_requests_are_cut_off_and_cannot_crowd_out_others() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    // 1,030 connections that start a request and never finish its headers, and 40
    // logins that announce a 16 MiB body and send 1 KiB of it.
    let mut stalled = Vec::new();
    for n in 0..1030 {
        let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        s.write_all(format!("GET /api/health HTTP/1.1\r\nHost: x\r\nX-N: {n}").as_bytes()).await.unwrap();
        stalled.push(s);
    }
    for _ in 0..10 {
        stalled.push(tokio::net::TcpStream::connect(server.addr).await.unwrap()); // silent
    }
    let rss_before = resident_mib();
    let mut bodies = Vec::new();
    for _ in 0..40 {
        let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let head =
            "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 16777216\r\n\r\n";
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&vec![b' '; 4 << 20]).await.unwrap();
        bodies.push(s);
    }
    // Everyone else is served at once.
    let started = std::time::Instant::now();
    let c1 = Phone::login(&server, "c1", "phone-c1").await;
    assert_eq!(c1.get("/api/me").await.status(), 200);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    // A login body over the JSON limit is refused before it is read, not buffered.
    let big = serde_json::json!({"login": "c1", "password": "x".repeat(100_000), "device_id": "d"});
    let resp = huhujian_tests::http().post(server.url("/api/login")).json(&big).send().await.unwrap();
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "too_large", "{body}");
    // 160 MiB of login bodies were sent (and are still being sent): none is kept.
    let grown = resident_mib() - rss_before;
    assert!(grown < 80, "the server grew by {grown} MiB holding stalled bodies");
    // The half-sent headers are cut off within the header deadline (15 s).
    tokio::time::sleep(std::time::Duration::from_secs(17)).await;
    let mut closed = 0;
    for s in &mut stalled {
        let mut buf = [0u8; 256];
        // Closed: the read ends (0 bytes, or a reset) instead of waiting.
        let read = tokio::time::timeout(std::time::Duration::from_millis(200), s.read(&mut buf)).await;
        closed += usize::from(read.is_ok());
    }
    assert_eq!(closed, stalled.len(), "every stalled connection was closed by the server");
}

/// This process's resident memory (the test and its server), MiB.
fn resident_mib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<i64>().unwrap() / 1024
}

#[tokio::test]
async fn passwords_are_throttled_everywhere_and_locks_do_not_reveal_logins() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let c1 = Phone::login(&server, "c1", "phone-c1").await;
    let http = huhujian_tests::http();
    // Wrong old passwords in a password change count like wrong logins.
    let mut statuses = Vec::new();
    for _ in 0..server::auth::FREE_FAILURES + 1 {
        let resp = c1.post_json("/api/password", &json!({"old": "guess guess", "new": "a new secret"})).await;
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // Eight spaces are no password.
    let c2 = Phone::login(&server, "c2", "phone-c2").await;
    let resp = c2.post_json("/api/password", &json!({"old": huhujian_tests::PASSWORD, "new": "        "})).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "weak_password");
    // A login that does not exist is locked after as many tries as a real one.
    let answers = |login: &'static str| {
        let http = http.clone();
        let url = server.url("/api/login");
        async move {
            let mut out = Vec::new();
            for _ in 0..server::auth::FREE_FAILURES + 1 {
                let body = json!({"login": login, "password": "wrong wrong", "device_id": "d"});
                out.push(http.post(&url).json(&body).send().await.unwrap().status().as_u16());
            }
            out
        }
    };
    assert_eq!(answers("c2").await, answers("made-up-16").await, "the same answers for a real and a made-up login");
}
