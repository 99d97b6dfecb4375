//! Accounts: wrong passwords, throttling, logout, password change.

use huhujian_tests::{PASSWORD, Phone};

use crate::roster_server;

async fn login(server: &huhujian_tests::TestServer, login: &str, password: &str) -> reqwest::Response {
    let body = serde_json::json!({"login": login, "password": password, "device_id": "d1"});
    huhujian_tests::http().post(server.url("/api/login")).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_slowed_down() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let resp = login(&server, "c1", "wrong").await;
    assert_eq!(resp.status(), 401);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(err["error"], "wrong_credentials");
    assert_eq!(login(&server, "nobody", "wrong").await.status(), 401, "unknown logins look the same");
    for _ in 1..server::auth::FREE_FAILURES {
        assert_eq!(login(&server, "c1", "wrong").await.status(), 401);
    }
    // Locked now, even with the right password, and told for how long.
    let resp = login(&server, "c1", PASSWORD).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_some());
    // Other accounts are unaffected.
    assert_eq!(login(&server, "c2", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn logout_ends_the_session_and_a_password_change_ends_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let phone = Phone::login(&server, "c1", "phone").await;
    let desk = Phone::login(&server, "c1", "desk").await;
    let me: serde_json::Value = phone.get_json("/api/me").await;
    assert_eq!(me["role"], "cadre");

    let http = huhujian_tests::http();
    let weak = serde_json::json!({"old": PASSWORD, "new": "short"});
    let resp = http.post(server.url("/api/password")).bearer_auth(&desk.token).json(&weak).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let change = serde_json::json!({"old": PASSWORD, "new": "a much better one"});
    let resp = http.post(server.url("/api/password")).bearer_auth(&desk.token).json(&change).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(phone.get("/api/me").await.status(), 401, "other sessions end");
    assert_eq!(desk.get("/api/me").await.status(), 200, "this one stays");
    assert_eq!(login(&server, "c1", "a much better one").await.status(), 200);

    let resp = http.post(server.url("/api/logout")).bearer_auth(&desk.token).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(desk.get("/api/me").await.status(), 401);
}
