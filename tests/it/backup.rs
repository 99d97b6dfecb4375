//! Online backup and restore: a backup taken while phones sync, restored into a fresh
//! server, gets back from the phones what it missed; and the refusals (not a database,
//! a newer schema, an existing destination, a database in use).

use std::path::Path;
use std::time::Duration;

use huhujian_tests::{Peek, Phone, TestServer};
use server::backup::{self, BackupError, Options};
use shared::automerge::{ActorId, ChangeHash};
use shared::{HouseholdDoc, Stamp};

use crate::roster_server;

/// Each household's heads as stored in the database at `path`.
fn stored_heads(path: &Path) -> Vec<(String, Vec<ChangeHash>)> {
    Peek::File(path.to_owned())
        .documents()
        .into_iter()
        .map(|(id, bytes)| (id, HouseholdDoc::load(&bytes, ActorId::random()).unwrap().heads()))
        .collect()
}

fn heads(phone: &Phone) -> Vec<(String, Vec<ChangeHash>)> {
    phone.docs.iter().map(|(id, d)| (id.clone(), d.heads())).collect()
}

/// Writes a note into `period`'s visit of every household on the phone: one change each.
fn note_all(phone: &mut Phone, user: &str, name: &str, period: &str, note: &str, at: i64) {
    let stamp = Stamp::new(user, name, at);
    for doc in phone.docs.values_mut() {
        doc.edit(&stamp, |h| h.visits.entry(period.into()).or_default().note = note.into()).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_and_the_phones_fill_in_what_it_missed() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    let mut c2 = Phone::login(&server, "c2", "phone-c2").await;
    c1.want(&["H1", "H2", "H3"]);
    c2.want(&["H1", "H4"]);
    c1.sync().await;
    c2.sync().await;
    note_all(&mut c1, "c1", "李明", "2026-09", "before the backup", 1_795_000_000);
    assert!(c1.sync().await.refused.is_empty());

    // The backup runs on its own connection, one page per step, while c2 keeps
    // editing and syncing through the server.
    let src = server.db_path.clone();
    let dest = dir.path().join("backup.sqlite3");
    let options = Options { pages_per_step: 1, pause: Duration::from_millis(2), ..Options::default() };
    let job = {
        let dest = dest.clone();
        tokio::task::spawn_blocking(move || backup::backup(&src, &dest, &options))
    };
    let mut during = 0;
    while !job.is_finished() || during == 0 {
        during += 1;
        note_all(&mut c2, "c2", "张华", "2026-09", &format!("during the backup {during}"), 1_795_000_100 + during);
        assert!(c2.sync().await.refused.is_empty());
    }
    let report = job.await.unwrap().unwrap();
    println!("backup while serving: {report:?}, {during} sync sessions of c2 during it");
    assert_eq!(report.households, 4);
    assert_eq!(report.schema, server::store::sqlite::SCHEMA_VERSION);
    assert!(report.pages > 10 && report.bytes >= report.pages * 1024, "{report:?}");
    backup::integrity_check(&dest).unwrap();
    assert!(!dir.path().join("backup.sqlite3.tmp").exists(), "the temporary copy is renamed away");

    // After the backup: more edits from both phones, which the backup does not have.
    note_all(&mut c1, "c1", "李明", "2026-10", "after the backup", 1_795_001_000);
    note_all(&mut c2, "c2", "张华", "2026-10", "after the backup too", 1_795_001_100);
    c1.sync().await;
    c2.sync().await;
    c1.sync().await;
    let acknowledged = stored_heads(&server.db_path);
    assert_eq!(heads(&c1), acknowledged.iter().filter(|(id, _)| id != "H4").cloned().collect::<Vec<_>>());
    server.stop().await;

    // Restore into a fresh file and serve it: it is the server as it was at the backup.
    let restored_path = dir.path().join("restored.sqlite3");
    let restored = backup::restore(&dest, &restored_path, false).unwrap();
    assert_eq!((restored.households, restored.schema_after), (4, server::store::sqlite::SCHEMA_VERSION));
    let lost = stored_heads(&restored_path);
    for ((id, before), (_, now)) in acknowledged.iter().zip(&lost) {
        assert_ne!(before, now, "{id}: the backup predates the last edits");
    }
    let restored = TestServer::start(&restored_path).await;

    // The phones sync as they would after the server came back: the sessions from the
    // backup still hold, and Automerge sync sends the server what it lacks.
    c1.point_at(&restored);
    c2.point_at(&restored);
    for first in [true, false, true] {
        let r = if first { c1.sync().await } else { c2.sync().await };
        assert!(r.refused.is_empty(), "{:?}", r.refused);
    }
    assert_eq!(stored_heads(&restored_path), acknowledged, "the restored server has everything again");
    assert_eq!(c1.docs["H1"].heads(), c2.docs["H1"].heads());
    assert_eq!(heads(&c1), acknowledged.iter().filter(|(id, _)| id != "H4").cloned().collect::<Vec<_>>());
    let h1 = c1.docs["H1"].household().unwrap();
    assert!(!h1.visits["2026-10"].note.is_empty());
    restored.stop().await;
    backup::integrity_check(&restored_path).unwrap();
}

#[tokio::test]
async fn backup_and_restore_refuse_what_they_must() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let src = server.db_path.clone();

    // Not a database: a clear error, and nothing written.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "这不是数据库 / not a database\n".repeat(200)).unwrap();
    let dest = dir.path().join("copy.sqlite3");
    let err = backup::backup(&text, &dest, &Options::default()).unwrap_err();
    assert!(matches!(err, BackupError::NotADatabase(_)), "{err}");
    assert!(err.to_string().contains("is not an SQLite database"), "{err}");
    assert!(!dest.exists());
    let err = backup::backup(&dir.path().join("missing.sqlite3"), &dest, &Options::default()).unwrap_err();
    assert!(matches!(err, BackupError::Missing(_)), "{err}");
    assert!(!dir.path().join("missing.sqlite3").exists(), "a backup never creates its source");

    // An existing destination is refused and left as it was, unless forced.
    std::fs::write(&dest, b"precious").unwrap();
    let err = backup::backup(&src, &dest, &Options::default()).unwrap_err();
    assert!(matches!(err, BackupError::Exists(_)), "{err}");
    assert_eq!(std::fs::read(&dest).unwrap(), b"precious");
    let err = backup::backup(&src, &src, &Options { force: true, ..Options::default() }).unwrap_err();
    assert!(matches!(err, BackupError::SameFile(_)), "{err}");
    // Nor, even forced, over another database that has a WAL beside it.
    let live = dir.path().join("live.sqlite3");
    std::fs::write(&live, b"a database").unwrap();
    std::fs::write(dir.path().join("live.sqlite3-wal"), b"its log").unwrap();
    let err = backup::backup(&src, &live, &Options { force: true, ..Options::default() }).unwrap_err();
    assert!(matches!(err, BackupError::InUse(_)), "{err}");
    assert_eq!(std::fs::read(&live).unwrap(), b"a database");
    let forced = backup::backup(&src, &dest, &Options { force: true, ..Options::default() }).unwrap();
    assert_eq!(forced.households, 4);
    backup::integrity_check(&dest).unwrap();

    // A database in use is not restored over, even with force.
    let err = backup::restore(&dest, &src, true).unwrap_err();
    assert!(matches!(err, BackupError::InUse(_)), "{err}");
    assert!(err.to_string().contains("stop the server first"), "{err}");
    assert_eq!(server.peek().count("SELECT count(*) FROM households"), 4);
    server.stop().await;

    // An existing target is refused without force and untouched.
    let target = dir.path().join("target.sqlite3");
    std::fs::write(&target, b"keep me").unwrap();
    let err = backup::restore(&dest, &target, false).unwrap_err();
    assert!(matches!(err, BackupError::Exists(_)), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    std::fs::remove_file(&target).unwrap();

    // Not a database, or a file from a newer huhujian: refused, no target left behind.
    let err = backup::restore(&text, &target, false).unwrap_err();
    assert!(matches!(err, BackupError::NotADatabase(_)), "{err}");
    assert!(!target.exists());
    let newer = dir.path().join("newer.sqlite3");
    std::fs::copy(&dest, &newer).unwrap();
    server::store::sqlite::Sqlite::open(&newer)
        .unwrap()
        .lock()
        .execute_batch(&format!("PRAGMA user_version = {}", server::store::sqlite::SCHEMA_VERSION + 1))
        .unwrap();
    let err = backup::restore(&newer, &target, true).unwrap_err();
    assert!(matches!(err, BackupError::TooNew { .. }), "{err}");
    assert!(err.to_string().contains("newer than this program"), "{err}");
    assert!(!target.exists());

    // And a good backup restores over a stopped server's file with force.
    let restored = backup::restore(&dest, &src, true).unwrap();
    assert_eq!(restored.households, 4);
    backup::integrity_check(&src).unwrap();
}
