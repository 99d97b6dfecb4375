//! The server's edge as a county runs it: per-address limits (429 with `Retry-After`
//! after N, the forwarded address believed only from a trusted proxy), HTTPS from the
//! server itself with a certificate from a CA the client trusts (HSTS, the plain-http
//! redirect, a renewed certificate taken on SIGHUP, a bad one refused and the old one
//! kept), the security headers on every answer, the start-up warning on an empty
//! database, and the metrics listener.

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

/// Security headers on every answer (app files, the app's routes, the API, refusals),
/// the policy naming the hash of the app's inline script (`echo -n 'boot();' | openssl
/// dgst -sha256 -binary | base64`), `no-store` on the API only, and gzip still on.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("dist");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(
        app.join("index.html"),
        "<!doctype html><head><script type=\"module\">boot();</script><script src=\"/app.js\"></script></head>",
    )
    .unwrap();
    std::fs::write(app.join("app.js"), "export function boot() {}\n".repeat(100)).unwrap();
    let store = server::store::Store::open_sqlite(&dir.path().join("h.sqlite3")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(listener, server::AppState::new(store, Some(app)), async {
        let _ = stopped.await;
    }));

    let csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' \
               'sha256-BoYdILVZAmAQfhxvCgsBo5rtKe9f5WOaIkiGVKr7Y94='; style-src 'self'; \
               img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
               frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";
    let http = huhujian_tests::http_builder().no_gzip().build().unwrap();
    for (path, status) in [
        ("/", 200),
        ("/app.js", 200),
        ("/households/H1", 200),
        ("/api/health", 200),
        ("/api/me", 401),
        ("/api/no-such-route", 404),
    ] {
        let resp = http.get(format!("{base}{path}")).header("accept-encoding", "gzip").send().await.unwrap();
        assert_eq!(resp.status(), status, "{path}");
        let h = resp.headers();
        let get = |name: &str| h.get(name).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(get("content-security-policy").as_deref(), Some(csp), "{path}");
        assert_eq!(get("x-frame-options").as_deref(), Some("DENY"), "{path}");
        assert_eq!(get("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert_eq!(get("referrer-policy").as_deref(), Some("no-referrer"), "{path}");
        assert_eq!(get("cross-origin-opener-policy").as_deref(), Some("same-origin"), "{path}");
        assert_eq!(
            get("permissions-policy").as_deref(),
            Some("camera=(self), microphone=(), geolocation=(self)"),
            "{path}"
        );
        let api = path.starts_with("/api/");
        assert_eq!(get("cache-control").as_deref(), api.then_some("no-store"), "{path}");
        if path == "/app.js" {
            assert_eq!(get("content-encoding").as_deref(), Some("gzip"), "compression still works");
        }
    }
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}
