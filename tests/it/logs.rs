//! No secret in a log line. A server runs on its own runtime, whose threads (workers and
//! the blocking pool, where handlers touch the database) are named, and every event
//! those threads emit, at every level and from every crate, is captured as the
//! server's `fmt` output would be. Then people log in with right and wrong passwords,
//! reset and change passwords, sync an ID number, import a roster with one (and a
//! rejected one), export unmasked as admin; no captured line may hold a password, a
//! bearer token or an 18-character ID number.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use huhujian_tests::{PASSWORD, Phone, ROSTER, TestServer, seed};
use reqwest::StatusCode;
use serde_json::json;
use server::auth::Role;

/// The name of the logged server's threads.
const THREAD: &str = "logged-server";

/// What the server's threads logged.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs, once for the test binary, a subscriber that writes every event of the
/// logged server's threads into [`LOG`] (other tests' threads are left out).
fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        use tracing_subscriber::prelude::*;
        let ours = tracing_subscriber::filter::filter_fn(|_| {
            std::thread::current().name().is_some_and(|name| name.starts_with(THREAD))
        });
        let layer = tracing_subscriber::fmt::layer().with_ansi(false).with_writer(|| Capture).with_filter(ours);
        tracing_subscriber::registry().with(layer).try_init().unwrap();
    });
}

/// A valid ID number from its first 17 digits.
fn id_no(first17: &str) -> String {
    let digits: [u8; 17] = first17.as_bytes().try_into().unwrap();
    format!("{first17}{}", shared::idcard::check_char(&digits))
}

/// Does `line` hold an ID number: 17 digits and a digit or X, standing alone (not inside
/// a longer run of letters and digits, such as the hex of a change hash)?
fn has_id_number(line: &str) -> bool {
    let b = line.as_bytes();
    let alone = |i: usize| b.get(i).is_none_or(|c| !c.is_ascii_alphanumeric());
    (0..b.len().saturating_sub(17)).any(|i| {
        let w = &b[i..i + 18];
        w[..17].iter().all(u8::is_ascii_digit)
            && (w[17].is_ascii_digit() || w[17].eq_ignore_ascii_case(&b'x'))
            && (i == 0 || alone(i - 1))
            && alone(i + 18)
    })
}

#[tokio::test]
async fn no_password_token_or_id_number_reaches_the_log() {
    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huhujian.sqlite3");
    seed(
        &path,
        &[("admin", "管理员", Role::Admin, None), ("c1", "李明", Role::Cadre, None), ("c2", "张华", Role::Cadre, None)],
        ROSTER,
    );
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name(THREAD).enable_all().build().unwrap();
    let server = runtime.spawn(async move { TestServer::start(&path).await }).await.unwrap();
    let http = huhujian_tests::http();
    let login = |login: &str, password: &str| {
        let body = json!({"login": login, "password": password, "device_id": "logs"});
        http.post(server.url("/api/login")).json(&body).send()
    };

    let wrong = "Wr0ng-Passw0rd-7391";
    let unknown = "Unkn0wn-Passw0rd-5519";
    assert_eq!(login("c1", wrong).await.unwrap().status(), 401);
    assert_eq!(login("nobody", unknown).await.unwrap().status(), 401);
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    let admin = Phone::login(&server, "admin", "desk-admin").await;
    // One character changed (to one it is not: a fixed '0' left a token ending in '0'
    // untouched, and the check flaked once in 16 runs).
    let mut tampered = admin.token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    assert_eq!(http.get(server.url("/api/me")).bearer_auth(&tampered).send().await.unwrap().status(), 401);

    // A cadre syncs a full ID number.
    let synced_id = id_no("11010519750101001");
    c1.want(&["H2"]);
    c1.sync().await;
    let stamp = shared::Stamp::new("c1", "李明", server::auth::now());
    c1.docs
        .get_mut("H2")
        .unwrap()
        .edit(&stamp, |h| h.members.get_mut("a").unwrap().id_number = synced_id.clone())
        .unwrap();
    assert!(c1.sync().await.refused.is_empty());

    // Accounts: a new user, a reset, a change.
    let created = "N3w-User-Secret-2468";
    let reset = "Re5et-Secret-1357";
    let changed = "Chang3d-Secret-8642";
    let body = json!({"login": "c3", "name": "王芳", "role": "cadre", "password": created});
    assert_eq!(admin.post_json("/api/admin/users", &body).await.status(), StatusCode::CREATED);
    assert_eq!(admin.post_json("/api/admin/users/c3", &json!({"password": reset})).await.status(), 200);
    let resp = login("c3", reset).await.unwrap();
    assert_eq!(resp.status(), 200);
    let c3_token = resp.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let resp = http
        .post(server.url("/api/password"))
        .bearer_auth(&c3_token)
        .json(&json!({"old": reset, "new": changed}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);

    // A roster with a full ID number, and one refused for a mistyped one.
    let imported_id = id_no("53232519800501121");
    let mut mistyped_id = imported_id.clone();
    let last = mistyped_id.pop().unwrap();
    mistyped_id.push(if last == '0' { '1' } else { '0' });
    let roster = |id: &str, no: &str| {
        format!(
            "registry_no,county,township,site,grid,name,sex,birth_date,id_number\n\
             {no},云岭县,光禄镇,光禄新村,西片,何新,男,1980-05-01,{id}\n"
        )
    };
    assert_eq!(admin.import_roster(&roster(&imported_id, "H5")).await.status(), 200);
    assert_eq!(admin.import_roster(&roster(&mistyped_id, "H6")).await.status(), 422);

    // Unmasked exports: the full numbers are in the answers (and only there).
    let csv = admin.get("/api/export/members.csv?unmask=1").await.text().await.unwrap();
    assert!(csv.contains(&synced_id) && csv.contains(&imported_id), "unmasked: {csv}");
    assert_eq!(admin.get("/api/export.csv?unmask=1").await.status(), 200);
    assert_eq!(admin.get("/api/export.xlsx?unmask=1").await.status(), 200);
    let detail: serde_json::Value = admin.get_json("/api/households/H2").await;
    assert_eq!(detail["household"]["members"]["a"]["id_number"], synced_id.as_str());

    server.stop().await;
    runtime.shutdown_background();

    let log = String::from_utf8_lossy(&LOG.lock().unwrap()).into_owned();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.iter().any(|l| l.contains("login") && l.contains("user=c1")), "the capture works:\n{log}");
    assert!(
        lines.iter().any(|l| l.contains("unmasked export") && l.contains("user=admin")),
        "blocking threads too:\n{log}"
    );
    let secrets = [
        ("password", PASSWORD),
        ("wrong password", wrong),
        ("unknown login's password", unknown),
        ("new user's password", created),
        ("reset password", reset),
        ("changed password", changed),
        ("c1's token", c1.token.as_str()),
        ("admin's token", admin.token.as_str()),
        ("c3's token", c3_token.as_str()),
        ("tampered token", tampered.as_str()),
        ("synced ID number", synced_id.as_str()),
        ("imported ID number", imported_id.as_str()),
        ("mistyped ID number", mistyped_id.as_str()),
    ];
    for line in &lines {
        for (what, secret) in secrets {
            assert!(!line.contains(secret), "the {what} is in a log line: {line}");
        }
        assert!(!has_id_number(line), "an ID number is in a log line: {line}");
    }
}

#[test]
fn the_id_number_detector_finds_them() {
    assert!(has_id_number("id=11010519491231002X, next"));
    assert!(has_id_number("110105197501010019"));
    assert!(has_id_number("\"11010519491231002x\""));
    assert!(!has_id_number("110105********002X"), "masked");
    assert!(!has_id_number("2026-11-22T22:01:00.123456Z"));
    assert!(!has_id_number("ChangeHash(\"9e31253d36688123456789012345678bf66252ad49a55afe4fdbb8ddd8582587935fdb7\")"));
    assert!(!has_id_number("1101051949123100212"), "19 digits are not an ID number");
}
