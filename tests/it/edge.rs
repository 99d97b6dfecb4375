//! The server's edge as a county runs it: per-address limits (429 with `Retry-After`
//! after N, the forwarded address believed only from a trusted proxy), HTTPS from the
//! server itself with a certificate from a CA the client trusts (HSTS, the plain-http
//! redirect, a renewed certificate taken on SIGHUP, a bad one refused and the old one
//! kept), the start-up warning on an empty database, and the metrics listener.

use std::path::Path;
use std::sync::Arc;

use huhujian_tests::TestServer;
use huhujian_tests::tls::{HOST, TestCa};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

use crate::crash::{ServerProcess, server_binary};
use crate::roster_db;

/// A server over the roster database with `edge`.
async fn server_with(dir: &tempfile::TempDir, edge: server::edge::Edge) -> TestServer {
    let path = roster_db(dir);
    TestServer::start_with_edge(server::store::Store::open_sqlite(&path).unwrap(), &path, edge).await
}

/// A login attempt for `login` with a wrong password, as from `forwarded` if given.
async fn try_login(server: &TestServer, login: &str, forwarded: Option<&str>) -> reqwest::Response {
    let mut req = huhujian_tests::http()
        .post(server.url("/api/login"))
        .json(&serde_json::json!({"login": login, "password": "wrong", "device_id": "d"}));
    if let Some(ip) = forwarded {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn one_address_trying_passwords_on_every_account_is_stopped_with_429() {
    let dir = tempfile::tempdir().unwrap();
    let edge = server::edge::Edge { login: server::edge::Limiter::per_minute(3), ..Default::default() };
    let server = server_with(&dir, edge).await;
    for login in ["c1", "c2", "s1"] {
        assert_eq!(try_login(&server, login, None).await.status(), 401, "{login}: a wrong password, not yet limited");
    }
    // A fourth account, and a header naming another address: the peer is no trusted
    // proxy, so the header changes nothing.
    let resp = try_login(&server, "admin", Some("198.51.100.7")).await;
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert!(body["zh"].as_str().unwrap().contains("每分钟最多 3 次"), "{body}");
    // Health is never limited; the account's own throttling was not touched by the 429.
    let health = huhujian_tests::get(server.url("/api/health")).await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn the_forwarded_address_counts_only_behind_a_trusted_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let edge = server::edge::Edge {
        proxies: server::edge::TrustedProxies::new(vec!["127.0.0.1".parse().unwrap()]),
        requests: server::edge::Limiter::per_minute(4),
        ..Default::default()
    };
    let server = server_with(&dir, edge).await;
    let get = |ip: &'static str| {
        let url = server.url("/api/households");
        async move { huhujian_tests::http().get(url).header("x-forwarded-for", ip).send().await.unwrap().status() }
    };
    // Unauthenticated reads still count (401): each forwarded address has its own 4.
    for _ in 0..4 {
        assert_eq!(get("203.0.113.1").await, 401);
    }
    assert_eq!(get("203.0.113.1").await, 429, "the fifth from the same client");
    assert_eq!(get("203.0.113.2").await, 401, "another client behind the same proxy is not held up");

    // The same requests to a server that trusts no proxy: all one address.
    let dir2 = tempfile::tempdir().unwrap();
    let edge = server::edge::Edge { requests: server::edge::Limiter::per_minute(4), ..Default::default() };
    let direct = server_with(&dir2, edge).await;
    let statuses: Vec<u16> = {
        let mut out = Vec::new();
        for n in 0..5 {
            let resp = huhujian_tests::http()
                .get(direct.url("/api/households"))
                .header("x-forwarded-for", format!("203.0.113.{n}"))
                .send()
                .await
                .unwrap();
            out.push(resp.status().as_u16());
        }
        out
    };
    assert_eq!(statuses, [401, 401, 401, 401, 429], "a client cannot name itself a new address");
}

/// A TLS client that trusts only `ca`.
fn client_trusting(ca: &Path) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    #[allow(deprecated)] // ring, as the server uses (server/src/edge/tls.rs)
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Each connection a full handshake: a resumed session reports the certificate of
    // the session it resumes, not the one the server holds now.
    config.resumption = rustls::client::Resumption::disabled();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// `GET path` over HTTPS to `addr` as [`HOST`]: the answer's head, and the DER of the
/// certificate the server presented.
async fn https_get(tls: &tokio_rustls::TlsConnector, addr: &str, path: &str) -> (String, Vec<u8>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from(HOST).unwrap();
    let mut stream = tls.connect(name, tcp).await.expect("a handshake the client trusts");
    let presented = stream.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    (text, presented)
}

fn pem_der(path: &Path) -> Vec<u8> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_file_iter(path).unwrap().next().unwrap().unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_county_ca_renews_on_sighup_and_redirects_plain_http() {
    let bin = server_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = roster_db(&dir);
    let ca = TestCa::new(&dir.path().join("ca"));
    let first = ca.issue("first");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::copy(&first.cert, &cert).unwrap();
    std::fs::copy(&first.key, &key).unwrap();
    let log = dir.path().join("server.log");
    let args =
        ["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap(), "--redirect-bind", "127.0.0.1:0"];
    let server = ServerProcess::start_with(&bin, &db, &log, &args);
    let addr = server.base.strip_prefix("https://").expect("it says it listens on https").to_owned();
    let tls = client_trusting(&ca.cert);

    let (answer, presented) = https_get(&tls, &addr, "/api/health").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("strict-transport-security: max-age=31536000"), "{answer}");
    assert_eq!(presented, pem_der(&first.cert));

    // Plain http on the redirect listener: 308 to the same path over HTTPS.
    let plain = server.redirect.clone().expect("a redirect listener");
    let resp = huhujian_tests::http_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{plain}/h/5323?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 308);
    let port = addr.rsplit(':').next().unwrap();
    assert_eq!(resp.headers()["location"], format!("https://127.0.0.1:{port}/h/5323?x=1").as_str());

    // Renewed: the files replaced, then SIGHUP (`systemctl reload`).
    let second = ca.issue("second");
    std::fs::copy(&second.cert, &cert).unwrap();
    std::fs::copy(&second.key, &key).unwrap();
    server.signal("HUP");
    let mut presented = Vec::new();
    for _ in 0..50 {
        presented = https_get(&tls, &addr, "/api/health").await.1;
        if presented == pem_der(&second.cert) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(presented, pem_der(&second.cert), "the renewed certificate is presented without a restart");

    // A key that is not the certificate's (a half-done renewal): refused, the second
    // pair stays in use, and the log says why.
    std::fs::copy(&first.key, &key).unwrap();
    server.signal("HUP");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (answer, presented) = https_get(&tls, &addr, "/api/health").await;
    assert!(answer.starts_with("HTTP/1.1 200"));
    assert_eq!(presented, pem_der(&second.cert));
    assert!(std::fs::read_to_string(&log).unwrap().contains("NOT reloaded"), "the log says the renewal was refused");
    drop(server);

    // At start, a key that is not the certificate's stops the server with the reason.
    let out = std::process::Command::new(&bin)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(&args[..4])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("证书无法使用") && stderr.contains("is not the key of certificate"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_with_no_accounts_or_no_households_is_warned_about_at_start() {
    let bin = server_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.sqlite3");
    let log = dir.path().join("server.log");
    drop(ServerProcess::start_with(&bin, &db, &log, &[]));
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("the database has no accounts"), "{said}");
    let created = std::process::Command::new(&bin)
        .arg("--db")
        .arg(&db)
        .args(["create-user", "--login", "admin", "--name", "管理员", "--role", "admin"])
        .env("HUHUJIAN_PASSWORD", "a long enough password")
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let log2 = dir.path().join("server2.log");
    drop(ServerProcess::start_with(&bin, &db, &log2, &[]));
    let said = std::fs::read_to_string(&log2).unwrap();
    assert!(said.contains("the database has no households") && !said.contains("no accounts"), "{said}");
    // The demo county, or a real one, is not warned about.
    let log3 = dir.path().join("server3.log");
    let full = roster_db(&dir);
    drop(ServerProcess::start_with(&bin, &full, &log3, &[]));
    assert!(!std::fs::read_to_string(&log3).unwrap().contains("has no"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_syncs_and_refusals_on_their_own_listener_with_nothing_personal() {
    let bin = server_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = roster_db(&dir);
    let server =
        ServerProcess::start_with(&bin, &db, &dir.path().join("server.log"), &["--metrics-bind", "127.0.0.1:0"]);
    let mut c1 = huhujian_tests::Phone::login_at(&server.base, "c1", "phone").await.unwrap();
    c1.want(&["H1", "H2"]);
    c1.sync().await;
    let refused = huhujian_tests::get(format!("{}/api/households", server.base)).await.unwrap();
    assert_eq!(refused.status(), 401);
    let on_main = huhujian_tests::get(format!("{}/metrics", server.base)).await.unwrap();
    assert_eq!(on_main.status(), 404, "metrics are not on the public address");

    let url = server.metrics.clone().expect("the metrics listener");
    let text = huhujian_tests::get(&url).await.unwrap().text().await.unwrap();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"))
    };
    assert_eq!(value(r#"huhujian_http_requests_total{route="/api/login",method="POST",status="200"}"#), 1.0);
    assert!(value(r#"huhujian_http_requests_total{route="/api/sync",method="POST",status="200"}"#) >= 1.0);
    assert!(value("huhujian_sync_batches_total") >= 1.0);
    assert!(value("huhujian_documents_merged_total") >= 2.0, "H1 and H2");
    assert_eq!(value(r#"huhujian_refusals_total{code="unauthorized"}"#), 1.0);
    assert!(value(r#"huhujian_store_wait_seconds_count{kind="write"}"#) >= 1.0);
    assert!(
        text.contains(r#"huhujian_http_request_duration_seconds_bucket{le="#)
            || text.contains("huhujian_http_request_duration_seconds_bucket{route=")
    );
    for personal in ["c1", "H1", "李明", "127.0.0.1"] {
        assert!(!text.contains(personal), "{personal} appears in the metrics:\n{text}");
    }
}
