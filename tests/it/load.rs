//! The load test at a size the test suite can afford: 20 phones × 5 households syncing
//! at once. Zero errors, every visit stored, the server's database intact. The figures
//! are printed, never asserted (`cargo xtask load` runs it full size).

use huhujian_tests::load::{self, Load};
use huhujian_tests::{TestServer, seed};
use server::auth::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_phones_sync_at_once_without_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("load.sqlite3");
    let size = Load { phones: 20, households: 5 };
    let logins = size.logins();
    let users: Vec<(&str, &str, Role, Option<&str>)> =
        logins.iter().map(|l| (l.as_str(), "干部", Role::Cadre, None)).collect();
    seed(&path, &users, &size.roster());
    let server = TestServer::start(&path).await;
    let report = load::run(&server.url(""), size, "2026-11").await;
    println!("load: {}", report.summary());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.refused, 0);
    assert_eq!(report.households, 100);
    let peek = server.peek();
    assert_eq!(
        peek.count("SELECT COUNT(*) FROM households WHERE last_visit = '2026-11' AND last_mode = 'in_person'"),
        100
    );
    let ok: String = {
        let db = server::store::sqlite::Sqlite::open(&path).unwrap();
        let conn = db.lock();
        conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(ok, "ok");
    server.stop().await;
}
