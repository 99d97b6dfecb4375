//! `serve --demo`: the demo county fills an empty database and the dashboards answer.

use huhujian_tests::{Peek, TestServer};

#[tokio::test]
async fn the_demo_county_is_seeded_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.sqlite3");
    {
        let db = server::store::sqlite::Sqlite::open(&path).unwrap();
        let n = db.write(|w| server::demo::seed(w)).await.unwrap();
        assert_eq!(n, 360);
        assert_eq!(db.write(|w| server::demo::seed(w)).await.unwrap(), 0, "seeding twice adds nothing");
    }
    // No visit is dated after today: the form would refuse to save it.
    let today = shared::Date::in_china(server::auth::now());
    for (id, bytes) in Peek::File(path.clone()).documents() {
        let h = shared::HouseholdDoc::load(&bytes, shared::automerge::ActorId::random()).unwrap().household().unwrap();
        for (period, visit) in &h.visits {
            assert!(visit.date.is_none_or(|d| d <= today), "{id}: the {period} visit is dated {:?}", visit.date);
        }
    }
    let server = TestServer::start(&path).await;
    let http = huhujian_tests::http();
    let body = serde_json::json!({"login": "sup01", "password": server::demo::DEMO_PASSWORD, "device_id": "desk"});
    let ok: serde_json::Value =
        http.post(server.url("/api/login")).json(&body).send().await.unwrap().json().await.unwrap();
    let token = ok["token"].as_str().unwrap();
    let rows: Vec<serde_json::Value> =
        http.get(server.url("/api/coverage?by=grid")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    assert_eq!(rows.len(), 12, "twelve grids");
    let assigned: u64 = rows.iter().map(|r| r["assigned"].as_u64().unwrap()).sum();
    assert_eq!(assigned, 360);
    let report: serde_json::Value =
        http.get(server.url("/api/indicators")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    let rate = report["employment_rate"].as_f64().unwrap();
    assert!((0.7..1.0).contains(&rate), "a realistic employment rate, got {rate}");
    let conflicts: Vec<serde_json::Value> =
        http.get(server.url("/api/conflicts")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    assert!(!conflicts.is_empty(), "the demo has conflicts to review");
}
