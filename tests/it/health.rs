//! The server starts on port 0, answers, and reports the document layout it speaks.

use huhujian_tests::TestServer;

#[tokio::test]
async fn a_server_on_port_zero_answers_health_with_the_shared_schema() {
    let server = TestServer::start(server::AppState::default()).await.unwrap();
    let (status, body) = server.get("/api/health").await.unwrap();
    assert_eq!(status, 200, "{body}");
    let health: server::Health = serde_json::from_str(&body).unwrap();
    assert!(health.ok);
    assert_eq!(health.schema, shared::fields::SCHEMA_VERSION);
    let (status, _) = server.get("/api/nothing-here").await.unwrap();
    assert_eq!(status, 404);
}
