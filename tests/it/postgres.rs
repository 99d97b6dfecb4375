//! The PostgreSQL engine, against a real PostgreSQL (a database of its own per test):
//! the demo county reads the same on both engines; two server processes on one
//! database serialise merges of the same household and every phone converges; login
//! throttling and sessions are shared by every process; processes starting together
//! migrate once.

use std::collections::BTreeMap;

use huhujian_tests::pg::PgDb;
use huhujian_tests::{Phone, ROSTER, TestServer, seed_store};
use serde_json::Value;
use server::auth::Role;
use server::store::Store;
use shared::automerge::ReadDoc;
use shared::{Stamp, VisitMode};

/// Runs the futures at once (each on its own task) and collects their outputs in order.
async fn futures_join_all<F: std::future::Future + Send + 'static>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// A server over `store`; `what` names it in failures (there is no file to peek at).
async fn serve(store: Store, what: &str) -> TestServer {
    TestServer::start_with(store, std::path::Path::new(what)).await
}

fn periods() -> Vec<String> {
    let now = shared::Period::of(shared::Date::in_china(server::auth::now()));
    [0, -1, -12, 2].iter().map(|m| now.plus_months(*m).to_string()).collect()
}

/// Where two JSON answers differ, as `path: left ≠ right` lines.
fn differences(a: &Value, b: &Value, at: &str) -> Vec<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter()
                .flat_map(|k| {
                    differences(
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        &format!("{at}.{k}"),
                    )
                })
                .collect()
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().flat_map(|(i, (p, q))| differences(p, q, &format!("{at}[{i}]"))).collect()
        }
        _ if a == b => Vec::new(),
        _ => vec![format!("{at}: {a} ≠ {b}")],
    }
}

/// Asserts that two engines gave the same answers.
fn same(left: &BTreeMap<String, Value>, right: &BTreeMap<String, Value>, when: &str) {
    let mut all = Vec::new();
    for (path, answer) in left {
        all.extend(differences(answer, right.get(path).unwrap_or(&Value::Null), path));
    }
    assert!(all.is_empty(), "{when}: SQLite and PostgreSQL disagree:\n{}", all.join("\n"));
}

/// Every supervisor answer that reads projections, for comparison across engines.
async fn answers(sup: &Phone) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut paths = vec!["/api/households".to_owned()];
    for p in periods() {
        for by in ["site", "grid", "cadre"] {
            paths.push(format!("/api/coverage?period={p}&by={by}"));
        }
        paths.push(format!("/api/indicators?period={p}"));
        paths.push(format!("/api/indicators?period={p}&cadre=cadre03"));
        paths.push(format!("/api/coverage?period={p}&by=site&cadre=cadre03"));
        paths.push(format!("/api/coverage?period={p}&by=cadre&cadre=cadre03"));
        for kind in ["zero_employment", "low_income", "guarantee", "new_risk", "monitored", "not_visited"] {
            paths.push(format!("/api/flagged?period={p}&kind={kind}"));
        }
        for status in ["pending", "returned", "approved"] {
            paths.push(format!("/api/reviews?period={p}&status={status}"));
        }
    }
    paths.push("/api/trend?months=12".into());
    for path in paths {
        let answer: Value = sup.get_json(&path).await;
        out.insert(path, answer);
    }
    out
}

/// Households assigned to each cadre, by login, from coverage by cadre.
async fn assigned_by_cadre(sup: &Phone, period: &str) -> BTreeMap<String, u64> {
    sup.get_json::<Vec<Value>>(&format!("/api/coverage?period={period}&by=cadre"))
        .await
        .into_iter()
        .map(|r| (r["key"].as_str().unwrap().to_owned(), r["assigned"].as_u64().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_county_reads_the_same_on_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.sqlite3");
    let pg = PgDb::create().await;
    let sqlite = Store::open(path.to_str().unwrap()).await.unwrap();
    let postgres = Store::open(&pg.url).await.unwrap();
    assert_eq!(sqlite.write(|w| server::demo::seed(w)).await.unwrap(), 360);
    // The same county in PostgreSQL, written through its own write path (projections
    // computed there): the same documents (the demo's actors are random, so a second
    // seeding would settle its clashes differently), accounts, assignments and settings.
    let settings = sqlite.read(|r| r.settings()).await.unwrap();
    postgres.write(move |w| w.replace_settings(&settings, "admin", 0)).await.unwrap();
    for user in server::demo::accounts() {
        let hash = server::auth::new_account(&user, server::demo::DEMO_PASSWORD).unwrap();
        postgres.write(move |w| server::auth::create_user(w, &user, &hash)).await.unwrap();
    }
    let households = sqlite.read(|r| r.assigned_rows(None, None, None)).await.unwrap();
    assert_eq!(households.len(), 360);
    for row in households {
        let id = row.id.clone();
        let doc = sqlite.read(move |r| r.load_doc(&id)).await.unwrap().unwrap();
        postgres
            .write(move |w| {
                let at = server::auth::now();
                w.save_doc(&row.id, &doc, &doc.household().unwrap(), shared::Date::in_china(at), at)?;
                for cadre in &row.cadres {
                    w.assign(&row.id, cadre)?;
                }
                Ok::<_, server::store::StoreError>(())
            })
            .await
            .unwrap();
    }
    let a = serve(sqlite, "sqlite").await;
    let b = serve(postgres.clone(), "postgres").await;
    let login = |server: &TestServer, who: &str| {
        let base = server.url("");
        let who = who.to_owned();
        async move { Phone::login_with(&base, &who, server::demo::DEMO_PASSWORD, "desk").await.unwrap() }
    };
    let (sa, sb) = (login(&a, "sup01").await, login(&b, "sup01").await);
    let (before_a, before_b) = (answers(&sa).await, answers(&sb).await);
    same(&before_a, &before_b, "the demo county");
    assert!(before_a.values().any(|v| v.as_array().is_some_and(|a| !a.is_empty())), "the answers hold data");

    // The same new visit through each engine's sync: the same answers after.
    let current = shared::Period::of(shared::Date::in_china(server::auth::now())).to_string();
    for server in [&a, &b] {
        let mut phone = login(server, "cadre01").await;
        let ids = phone.list().await;
        let id = ids.iter().find(|id| id.ends_with("001")).unwrap().clone();
        phone.want(&[id.as_str()]);
        phone.sync().await;
        phone
            .docs
            .get_mut(&id)
            .unwrap()
            .edit(&Stamp::new("cadre01", "干部", server::auth::now()), |h| {
                let v = h.visits.entry(current.clone()).or_default();
                v.mode = Some(VisitMode::Phone);
                v.note = "电话回访".into();
            })
            .unwrap();
        let report = phone.sync().await;
        assert!(report.refused.is_empty(), "{:?}", report.refused);
    }
    let (after_a, after_b) = (answers(&sa).await, answers(&sb).await);
    same(&after_a, &after_b, "after a visit");

    // A household moves from cadre01 to cadre02: the kept totals of its grid (with
    // their coverage per cadre) go, on both engines, and are kept again.
    let before = assigned_by_cadre(&sb, &current).await;
    for server in [&a, &b] {
        let admin = login(server, "admin").await;
        let id = login(server, "cadre01").await.list().await.into_iter().find(|id| id.ends_with("001")).unwrap();
        let moves = serde_json::json!([
            {"household_id": id, "user_id": "cadre02"},
            {"household_id": id, "user_id": "cadre01", "remove": true},
        ]);
        let resp = admin.post_json("/api/admin/assignments", &moves).await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    }
    let moved = assigned_by_cadre(&sb, &current).await;
    assert_eq!((moved["cadre01"] + 1, moved["cadre02"]), (before["cadre01"], before["cadre02"] + 1));
    same(&answers(&sa).await, &answers(&sb).await, "after a household changed cadre");

    // Kept totals are right on PostgreSQL too: adding up every household's summary
    // (a cadre's own households) and the grid totals (the area path) agree.
    let total: Value = sb.get_json(&format!("/api/indicators?period={current}")).await;
    let visited: u64 = sb
        .get_json::<Vec<Value>>(&format!("/api/coverage?period={current}&by=cadre"))
        .await
        .iter()
        .map(|r| r["visited"].as_u64().unwrap())
        .sum::<u64>();
    assert!(total["indicators"]["visited_in_person"].as_u64().unwrap() > 0 && visited > 0);
    drop(postgres);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_serialise_merges_and_every_phone_converges() {
    let pg = PgDb::create().await;
    let users = [
        ("admin", "管理员", Role::Admin, None),
        ("s1", "赵主任", Role::Supervisor, Some("site:阳光社区")),
        ("c1", "李明", Role::Cadre, None),
        ("c2", "张华", Role::Cadre, None),
    ];
    // Two processes' worth of stores (each its own pool) on one database, opened at
    // once: the migrations run once.
    let (one, two) = tokio::join!(Store::open(&pg.url), Store::open(&pg.url));
    let (one, two) = (one.unwrap(), two.unwrap());
    seed_store(&one, &users, ROSTER).await;
    let a = serve(one.clone(), "postgres A").await;
    let b = serve(two, "postgres B").await;
    let mut phones = [
        Phone::login(&a, "c1", "phone-c1").await,
        Phone::login(&b, "c2", "phone-c2").await,
        Phone::login(&b, "c1", "tablet-c1").await,
    ];
    for p in phones.iter_mut() {
        p.want(&["H1"]);
        assert!(p.sync().await.refused.is_empty());
    }
    for round in 0..10 {
        for (i, p) in phones.iter_mut().enumerate() {
            let who = if i == 1 { "c2" } else { "c1" };
            p.docs
                .get_mut("H1")
                .unwrap()
                .edit(&Stamp::new(who, who, 1_795_000_000 + round * 10 + i as i64), |h| {
                    h.facts.address = format!("1栋101（第{round}轮，手机{i}）");
                    let v = h.visits.entry("2026-11".into()).or_default();
                    let note = format!("{}round {round} phone {i}; ", v.note);
                    v.note = note;
                })
                .unwrap();
        }
        // All three at once, through both servers.
        let [p0, p1, p2] = &mut phones;
        let (r0, r1, r2) = tokio::join!(p0.sync(), p1.sync(), p2.sync());
        for r in [r0, r1, r2] {
            assert!(r.refused.is_empty(), "round {round}: {:?}", r.refused);
        }
        // Each phone's sync was answered: what it sent is in the database now, before
        // any phone sends anything again.
        let stored = one.read(|r| r.load_doc("H1")).await.unwrap().unwrap();
        for (i, p) in phones.iter().enumerate() {
            for head in p.docs["H1"].heads() {
                assert!(
                    stored.automerge().get_change_by_hash(&head).is_some(),
                    "round {round}: phone {i}'s acknowledged change {head} is not in the database"
                );
            }
        }
    }
    for _ in 0..2 {
        for p in phones.iter_mut() {
            p.sync().await;
        }
    }
    let heads = phones[0].docs["H1"].heads();
    for p in &phones {
        assert_eq!(p.docs["H1"].heads(), heads, "every phone converges");
    }
    let stored = one.read(|r| r.load_doc("H1")).await.unwrap().unwrap();
    assert_eq!(stored.heads(), heads, "what the database holds is what every phone holds");
    // Every change any phone made is in the stored document and its change log.
    let uploads = one.read(|r| r.uploads("H1")).await.unwrap();
    for p in &phones {
        for change in p.docs["H1"].automerge().get_changes(&[]) {
            assert!(stored.automerge().get_change_by_hash(&change.hash()).is_some());
        }
    }
    assert!(uploads.len() >= 30, "{} uploads logged", uploads.len());
    // The address clash is shown to a person.
    let s1 = Phone::login(&b, "s1", "desk-s1").await;
    let conflicts: Vec<Value> = s1.get_json("/api/conflicts").await;
    assert!(conflicts.iter().any(|c| c["key"] == "f/address"), "{conflicts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_throttling_and_sessions_are_shared_by_every_server() {
    let pg = PgDb::create().await;
    let one = Store::open(&pg.url).await.unwrap();
    seed_store(&one, &[("c1", "李明", Role::Cadre, None)], "").await;
    let a = serve(one, "postgres A").await;
    let b = serve(Store::open(&pg.url).await.unwrap(), "postgres B").await;
    let phone = Phone::login(&a, "c1", "phone-c1").await;
    // A session opened through one server works on the other.
    let mut on_b = Phone::login(&b, "c1", "phone-c1b").await;
    on_b.token.clone_from(&phone.token);
    assert!(on_b.get("/api/me").await.status().is_success());
    let http = huhujian_tests::http();
    let wrong = serde_json::json!({"login": "c1", "password": "not the password", "device_id": "x"});
    // A burst of wrong passwords through both servers at once: however they
    // interleave, only the free ones are checked (401); every later one finds the
    // account locked (429).
    let attempts = (0..12).map(|i| {
        let (http, url, wrong) =
            (http.clone(), if i % 2 == 0 { a.url("/api/login") } else { b.url("/api/login") }, wrong.clone());
        async move { http.post(url).json(&wrong).send().await.unwrap().status().as_u16() }
    });
    let statuses = futures_join_all(attempts).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(checked as i64, server::auth::FREE_FAILURES, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");
    let locked = http.post(a.url("/api/login")).json(&wrong).send().await.unwrap();
    assert_eq!(locked.status(), 429, "locked on every server");
    assert!(locked.headers().contains_key("retry-after"));
    // A login without an account, tried through both servers in turn, is locked after
    // exactly as many tries (the count is in the database, not in each process).
    let mut made_up = Vec::new();
    for i in 0..server::auth::FREE_FAILURES + 1 {
        let body = serde_json::json!({"login": "nobody-here", "password": "not the password", "device_id": "x"});
        let url = if i % 2 == 0 { a.url("/api/login") } else { b.url("/api/login") };
        made_up.push(http.post(url).json(&body).send().await.unwrap().status().as_u16());
    }
    let mut expected = vec![401; server::auth::FREE_FAILURES as usize];
    expected.push(429);
    assert_eq!(made_up, expected, "as a real account on one server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_the_demo_county_up_keeps_everything_and_phones_carry_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("county.sqlite3");
    let sqlite = Store::open(path.to_str().unwrap()).await.unwrap();
    sqlite.write(|w| server::demo::seed(w)).await.unwrap();
    let a = serve(sqlite, "sqlite").await;
    let login = |server: &TestServer, who: &str| {
        let base = server.url("");
        let who = who.to_owned();
        async move { Phone::login_with(&base, &who, server::demo::DEMO_PASSWORD, "device").await.unwrap() }
    };
    // A cadre's phone holds its households and has synced them; a supervisor reads.
    let mut phone = login(&a, "cadre01").await;
    let ids = phone.list().await;
    let wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
    phone.want(&wanted);
    assert!(phone.sync().await.refused.is_empty());
    let sup = login(&a, "sup01").await;
    let before = answers(&sup).await;
    a.stop().await;

    // Offline, the cadre records one more thing.
    let id = ids[0].clone();
    phone
        .docs
        .get_mut(&id)
        .unwrap()
        .edit(&Stamp::new("cadre01", "干部", server::auth::now()), |h| h.facts.address = "迁移后的新地址".into())
        .unwrap();

    let pg = PgDb::create().await;
    let report = server::store::transfer::sqlite_to_postgres(&path, &pg.url).await.unwrap();
    assert_eq!(report.households_checked, 360);
    let rows: BTreeMap<String, u64> = report.tables.iter().cloned().collect();
    assert_eq!(rows["households"], 360);
    assert_eq!(rows["users"], server::demo::accounts().len() as u64);
    assert!(rows["sync_states"] >= ids.len() as u64, "{rows:?}");
    assert!(rows["sessions"] >= 2, "{rows:?}");
    assert!(rows["assignments"] >= 360, "{rows:?}");
    // A second move into the same (no longer empty) database is refused.
    let again = server::store::transfer::sqlite_to_postgres(&path, &pg.url).await.unwrap_err();
    assert!(again.to_string().contains("empty"), "{again}");

    let postgres = Store::open(&pg.url).await.unwrap();
    let b = serve(postgres.clone(), "postgres").await;
    // Same sessions: neither logs in again. The supervisor reads the same answers.
    let mut sup = sup;
    sup.point_at(&b);
    let after = answers(&sup).await;
    same(&before, &after, "before and after the move");
    // The phone carries on from its sync states: one change goes up, nothing else.
    phone.point_at(&b);
    let uploaded_before = postgres.read(move |r| r.uploads(&ids[0])).await.unwrap().len();
    let sync = phone.sync().await;
    assert!(sync.refused.is_empty(), "{:?}", sync.refused);
    let id2 = id.clone();
    let uploads = postgres.read(move |r| r.uploads(&id2)).await.unwrap();
    assert_eq!(uploads.len(), uploaded_before + 1, "only the new change was uploaded");
    let stored = postgres.read(move |r| r.load_doc(&id)).await.unwrap().unwrap();
    assert_eq!(stored.household().unwrap().facts.address, "迁移后的新地址");
    assert!(sync.sent < 64 * 1024, "{} bytes sent after the move", sync.sent);
}

/// A household's history rewritten on PostgreSQL, served by another process than the
/// phone's: the retired history is recognised there, the phone replaces its copy and its
/// offline visit arrives; a second rewrite keeps both retired documents; the roster
/// import and the move from SQLite know the new table (`server migrate` is checked in
/// `moving_the_demo_county_up_keeps_everything_and_phones_carry_on`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_household_is_replaced_on_phones_served_by_another_process() {
    let pg = PgDb::create().await;
    let one = Store::open(&pg.url).await.unwrap();
    let users =
        [("admin", "管理员", Role::Admin, None), ("c1", "李明", Role::Cadre, None), ("c2", "张华", Role::Cadre, None)];
    seed_store(&one, &users, ROSTER).await;
    let a = serve(one, "postgres A").await;
    let b = serve(Store::open(&pg.url).await.unwrap(), "postgres B").await;
    let mut c1 = Phone::login(&a, "c1", "phone-c1").await;
    c1.want(&["H1", "H2"]);
    assert!(c1.sync().await.refused.is_empty());
    let edit = |phone: &mut Phone, login: &str, period: &str, text: &str| {
        let stamp = Stamp::new(login, login, 1_795_000_000);
        let (period, text) = (period.to_owned(), text.to_owned());
        phone.docs.get_mut("H1").unwrap().edit(&stamp, |h| h.visits.entry(period).or_default().note = text).unwrap();
    };
    edit(&mut c1, "c1", "2026-11", "离线");
    // c2 records visits through A; an admin rewrites H1 through B, twice.
    let mut c2 = Phone::login(&a, "c2", "phone-c2").await;
    c2.want(&["H1"]);
    c2.sync().await;
    let admin = Phone::login(&b, "admin", "desk").await;
    for round in ["2026-09", "2026-10"] {
        edit(&mut c2, "c2", round, round);
        let report = c2.sync().await;
        assert!(report.refused.is_empty(), "{:?}", report.refused);
        let resp = admin.post_json("/api/admin/households/H1/rewrite", &serde_json::json!({})).await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    }
    // c1 still holds the history retired first, and its offline visit.
    c1.point_at(&b);
    let report = c1.sync().await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(report.rebased, ["H1"]);
    let one: Value = admin.get_json("/api/households/H1").await;
    for text in ["离线", "2026-09", "2026-10"] {
        assert!(one.to_string().contains(text), "{text}: {one}");
    }
    let history: Vec<Value> = admin.get_json("/api/households/H1/history").await;
    assert_eq!(history.len(), 2, "the rewritten history and c1's replay: {history:?}");
    // c2 replaces its copy too (it holds the history retired second).
    let report = c2.sync().await;
    assert_eq!(report.rebased, ["H1"]);
    assert_eq!(c2.docs["H1"].heads(), c1.docs["H1"].heads());
}

/// TLS to PostgreSQL, as libpq's `sslmode` says: `require` encrypts every pooled
/// connection; `verify-ca` with the server's own certificate as the CA connects (the
/// chain checked, not the name); `verify-full` with it against 127.0.0.1 is refused (the
/// certificate names `localhost`) and through `localhost` connects; `verify-ca` with
/// another CA is refused; `verify-full`
/// without a CA file is a configuration error said plainly; `disable` is plain.
#[tokio::test]
async fn the_connection_to_postgres_is_encrypted_and_checked_as_sslmode_says() {
    let pg = PgDb::create().await;
    let admin = PgDb::admin().await;
    let ssl: String = admin.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    assert_eq!(ssl, "on", "the tests' PostgreSQL has no TLS (ssl = off): Debian's package turns it on");
    let cert: String = admin.query_one("SHOW ssl_cert_file", &[]).await.unwrap().get(0);
    let with = |q: &str| format!("{}{}{q}", pg.url, if pg.url.contains('?') { "&" } else { "?" });
    let encrypted = |on: bool| {
        let admin = &admin;
        let name = pg.name().to_owned();
        async move {
            let n: i64 = admin
                .query_one(
                    "SELECT COUNT(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                     WHERE a.datname = $1 AND s.ssl = $2",
                    &[&name, &on],
                )
                .await
                .unwrap()
                .get(0);
            n
        }
    };
    let used = |store: Store| async move {
        let everything = server::store::Selection {
            scope: server::store::Scope::All,
            filter: server::store::HouseholdFilter::default(),
        };
        store.read(move |r| r.household_ids(&everything)).await.expect("a read");
        store
    };

    for (url, how) in [(pg.url.clone(), "the default (prefer)"), (with("sslmode=require"), "require")] {
        let store = used(Store::open(&url).await.expect(how)).await;
        assert!(encrypted(true).await >= 1, "{how}");
        assert_eq!(encrypted(false).await, 0, "{how}: no plain connection to the database");
        store.close().await.unwrap();
    }

    let refused = |url: String| async move {
        match Store::open(&url).await {
            Ok(_) => panic!("{url} connected"),
            Err(e) => e.to_string(),
        }
    };
    // The server's own certificate as the CA: where the tests run beside it (Debian's
    // self-signed one; a remote HUHUJIAN_TEST_PG keeps its file elsewhere).
    if std::path::Path::new(&cert).exists() {
        let store = Store::open(&with(&format!("sslmode=verify-ca&sslrootcert={cert}"))).await.expect("verify-ca");
        used(store).await.close().await.unwrap();
        // `require` with a CA file checks the chain, as libpq does: the same file passes.
        let store = Store::open(&with(&format!("sslmode=require&sslrootcert={cert}"))).await.expect("require + CA");
        used(store).await.close().await.unwrap();
        let said = refused(with(&format!("sslmode=verify-full&sslrootcert={cert}"))).await;
        assert!(said.contains("not valid for name"), "{said}");
        // The name it holds connects (Debian's names the machine; here `localhost`).
        let names = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-ext", "subjectAltName", "-in", &cert])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if names.contains("DNS:localhost") && pg.url.contains("@127.0.0.1:") {
            let by_name =
                with(&format!("sslmode=verify-full&sslrootcert={cert}")).replace("@127.0.0.1:", "@localhost:");
            used(Store::open(&by_name).await.expect("verify-full by its name")).await.close().await.unwrap();
        }
    }
    let other_ca = tempfile::tempdir().unwrap();
    let ca = huhujian_tests::tls::TestCa::new(other_ca.path());
    let said = refused(with(&format!("sslmode=verify-ca&sslrootcert={}", ca.cert.display()))).await;
    assert!(said.to_lowercase().contains("certificate"), "{said}");
    let said = refused(with("sslmode=verify-full")).await;
    assert!(said.contains("sslrootcert"), "{said}");

    let store = used(Store::open(&with("sslmode=disable")).await.expect("sslmode=disable")).await;
    assert!(encrypted(false).await >= 1);
    store.close().await.unwrap();
}
