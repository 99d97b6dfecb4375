//! The server process as an operator starts and stops it: `systemctl stop` (SIGTERM)
//! answers what is under way and leaves the whole database in the `.sqlite3` file, so
//! that "stop, copy the file" is a complete copy; and a file damaged on disk is refused
//! at start with a message that says what to do, its bytes left as they were.

use std::path::Path;

use huhujian_tests::seed;
use server::auth::Role;

use crate::crash::{ServerProcess, server_binary};

fn sha(path: &Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_leaves_the_whole_database_in_the_file() {
    let bin = server_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("county.sqlite3");
    seed(&db, &[("c1", "李明", Role::Cadre, None), ("c2", "王芳", Role::Cadre, None)], huhujian_tests::ROSTER);
    let server = ServerProcess::start(&bin, &db, &dir.path().join("server.log"));
    // A login writes its session: something in the write-ahead log.
    let login = huhujian_tests::http()
        .post(format!("{}/api/login", server.base))
        .json(&serde_json::json!({"login": "c1", "password": huhujian_tests::PASSWORD, "device_id": "phone-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let status = server.terminate();
    assert!(status.success(), "a clean stop on SIGTERM: {status:?}");
    let wal = dir.path().join("county.sqlite3-wal");
    assert!(std::fs::metadata(&wal).map_or(true, |m| m.len() == 0), "the log was moved into the file");
    // The file alone, copied elsewhere, holds the session written just before the stop.
    let copy = tempfile::tempdir().unwrap();
    let alone = copy.path().join("copy.sqlite3");
    std::fs::copy(&db, &alone).unwrap();
    let conn = rusqlite::Connection::open_with_flags(&alone, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let sessions: i64 = conn.query_row("SELECT COUNT(*) FROM sessions WHERE user_id = 'c1'", [], |r| r.get(0)).unwrap();
    assert_eq!(sessions, 1, "the copied file has the last write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_file_is_refused_at_start_and_left_as_it_was() {
    let bin = server_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("county.sqlite3");
    {
        let store = server::store::Store::open_sqlite(&db).unwrap();
        store.write(|w| server::demo::seed(w)).await.unwrap();
        store.close().await.unwrap();
    }
    // A migration still to run (a file from the version before), so that anything
    // opening it to write would change it.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "user_version", server::store::sqlite::SCHEMA_VERSION - 1).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    // 64 KiB of zeros in the middle of the file, page aligned.
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 4 * 65_536, "a file of some size ({} bytes)", bytes.len());
    let at = bytes.len() / 2 / 4096 * 4096;
    bytes[at..at + 65_536].fill(0);
    std::fs::write(&db, &bytes).unwrap();
    let before = sha(&db);
    let out = std::process::Command::new(&bin)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused: {stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"), "nothing served");
    assert!(
        stderr.contains("数据库文件已损坏") && stderr.contains("is damaged") && stderr.contains("server restore"),
        "{stderr}"
    );
    assert_eq!(sha(&db), before, "the file's bytes are as they were");
    // Not a database at all: the same message.
    let junk = dir.path().join("junk.sqlite3");
    std::fs::write(&junk, vec![0x5a_u8; 8192]).unwrap();
    let out = std::process::Command::new(&bin)
        .arg("--db")
        .arg(&junk)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("is damaged"), "{stderr}");
}
