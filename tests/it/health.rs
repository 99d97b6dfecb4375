//! The server starts on port 0 over a fresh file, answers, and reports its layout.

#[tokio::test]
async fn a_server_on_port_zero_answers_health_with_the_shared_schema() {
    let dir = tempfile::tempdir().unwrap();
    let server = huhujian_tests::TestServer::start(&dir.path().join("h.sqlite3")).await;
    let resp = huhujian_tests::get(server.url("/api/health")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let health: server::Health = resp.json().await.unwrap();
    assert!(health.ok);
    assert_eq!(health.schema, shared::fields::SCHEMA_VERSION);
    let resp = huhujian_tests::get(server.url("/api/nothing-here")).await.unwrap();
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}
