//! Online backup and restore of the database file (`server backup`, `server restore`).
//!
//! **Backup** copies the live database with SQLite's backup API while a server may be
//! running on it. The copy is made inside one read transaction on the source, i.e. one
//! WAL snapshot: the server keeps reading *and* writing (in WAL mode a reader blocks no
//! writer), and the copy never restarts because of those writes. It goes a few hundred
//! pages at a time with a short pause, so the disk is shared with the server. The copy
//! is written to `<dest>.tmp`, switched to a single self-contained file (rollback
//! journal, no `-wal` beside it), checked with `PRAGMA integrity_check`, fsynced and
//! renamed into place: `dest` is either absent, the old file, or a complete checked
//! copy. An existing `dest` is kept unless `force`.
//!
//! **Restore** checks the backup (a SQLite file, integrity ok, a schema no newer than
//! this program's), then takes the target with an exclusive lock, which is refused
//! while any other connection has it open: **stop the server first**. The backup is
//! copied in through SQLite, in one transaction (a crash leaves the old target), and the
//! result is migrated to this program's schema. An existing target is replaced only
//! with `force`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::store::StoreError;
use crate::store::sqlite::{SCHEMA_VERSION, Sqlite};

/// How a backup runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Replace an existing destination.
    pub force: bool,
    /// Pages copied per step (4 KiB each).
    pub pages_per_step: i32,
    /// Pause between steps.
    pub pause: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self { force: false, pages_per_step: 256, pause: Duration::from_millis(5) }
    }
}

/// What a backup copied.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupReport {
    /// Database pages copied.
    pub pages: u64,
    /// Size of the backup file.
    pub bytes: u64,
    /// Households in the copy.
    pub households: i64,
    /// The copy's schema version (`user_version`).
    pub schema: i64,
    /// Wall-clock time, integrity check included.
    pub seconds: f64,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreReport {
    /// Households in the restored database.
    pub households: i64,
    /// The backup's schema version.
    pub schema_before: i64,
    /// The schema version after migrating.
    pub schema_after: i64,
    /// Wall-clock time.
    pub seconds: f64,
}

/// Why a backup or restore was refused or failed. Nothing was overwritten.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file to copy from does not exist.
    #[error("{} does not exist", .0.display())]
    Missing(PathBuf),
    /// The file is not an SQLite database.
    #[error("{} is not an SQLite database", .0.display())]
    NotADatabase(PathBuf),
    /// An SQLite database, but not one of huhujian's.
    #[error("{} is not a huhujian database (it has no households table)", .0.display())]
    NotHuhujian(PathBuf),
    /// The destination exists and `force` was not given.
    #[error("{} already exists; pass --force to replace it", .0.display())]
    Exists(PathBuf),
    /// Source and destination are the same file.
    #[error("{} is both the source and the destination", .0.display())]
    SameFile(PathBuf),
    /// `PRAGMA integrity_check` did not say ok.
    #[error("{} failed the integrity check: {problems}", .path.display())]
    Integrity {
        /// The file checked.
        path: PathBuf,
        /// What SQLite reported (first lines).
        problems: String,
    },
    /// The backup was written by a newer huhujian.
    #[error(
        "{} is at schema version {found}, newer than this program's {supported}; restore it with the newer huhujian",
        .path.display()
    )]
    TooNew {
        /// The backup.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
        /// The newest version this program knows.
        supported: i64,
    },
    /// Another connection (a running server) has the target open.
    #[error("{} is in use (is the server running on it?); stop the server first", .0.display())]
    InUse(PathBuf),
    /// SQLite failed.
    #[error("{}: {source}", .path.display())]
    Sqlite {
        /// The file concerned.
        path: PathBuf,
        /// The error.
        source: rusqlite::Error,
    },
    /// The file system failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Migrating the restored database failed.
    #[error("migrating the restored database: {0}")]
    Migrate(#[from] StoreError),
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> BackupError + '_ {
    move |e| match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => BackupError::NotADatabase(path.to_owned()),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => BackupError::InUse(path.to_owned()),
        _ => BackupError::Sqlite { path: path.to_owned(), source: e },
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::Io { path: path.to_owned(), source: e }
}

/// Copies the database at `src` to `dest` while a server may be running on it, and
/// checks the copy. See the module documentation.
pub fn backup(src: &Path, dest: &Path, options: &Options) -> Result<BackupReport, BackupError> {
    let started = Instant::now();
    if !src.is_file() {
        return Err(BackupError::Missing(src.to_owned()));
    }
    if dest.exists() {
        if same_file(src, dest) {
            return Err(BackupError::SameFile(dest.to_owned()));
        }
        if !options.force {
            return Err(BackupError::Exists(dest.to_owned()));
        }
        // A WAL or hot journal beside it: a database in use (or crashed), whose log
        // SQLite would replay into the copy. Not ours to replace.
        if sibling(dest, "-wal").exists() || sibling(dest, "-journal").exists() {
            return Err(BackupError::InUse(dest.to_owned()));
        }
    }
    let tmp = sibling(dest, ".tmp");
    remove_with_sidecars(&tmp)?;
    let result = copy_into(src, &tmp, options).and_then(|pages| {
        let (schema, households) = finish_copy(&tmp)?;
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io(&tmp))?;
        let bytes = std::fs::metadata(&tmp).map_err(io(&tmp))?.len();
        Ok((pages, schema, households, bytes))
    });
    let (pages, schema, households, bytes) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = remove_with_sidecars(&tmp);
            return Err(e);
        }
    };
    // Checked again: another backup may have finished meanwhile.
    if dest.exists() && !options.force {
        let _ = remove_with_sidecars(&tmp);
        return Err(BackupError::Exists(dest.to_owned()));
    }
    std::fs::rename(&tmp, dest).map_err(io(dest))?;
    sync_dir(dest);
    Ok(BackupReport { pages, bytes, households, schema, seconds: started.elapsed().as_secs_f64() })
}

/// Copies `src` page by page into a new file at `tmp`; returns the page count.
fn copy_into(src: &Path, tmp: &Path, options: &Options) -> Result<u64, BackupError> {
    let from = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sql(src))?;
    from.busy_timeout(Duration::from_secs(10)).map_err(sql(src))?;
    // One read transaction for the whole copy: one consistent snapshot, which the
    // server's commits (to the WAL) neither block nor invalidate.
    from.execute_batch("BEGIN DEFERRED").map_err(sql(src))?;
    let (_, households_table) = read_meta(&from, src)?;
    if !households_table {
        return Err(BackupError::NotHuhujian(src.to_owned()));
    }
    let mut to = Connection::open(tmp).map_err(sql(tmp))?;
    let backup = Backup::new(&from, &mut to).map_err(sql(tmp))?;
    let mut waits = 0;
    loop {
        match backup.step(options.pages_per_step.max(1)).map_err(sql(tmp))? {
            StepResult::Done => break,
            StepResult::More => std::thread::sleep(options.pause),
            _ => {
                waits += 1;
                if waits > 2_000 {
                    return Err(BackupError::InUse(src.to_owned()));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    let pages = u64::try_from(backup.progress().pagecount).unwrap_or_default();
    drop(backup);
    drop(to);
    from.execute_batch("COMMIT").map_err(sql(src))?;
    Ok(pages)
}

/// Makes the copy a single file (the source's WAL flag came along with its first page),
/// checks it and returns its schema version and household count.
fn finish_copy(tmp: &Path) -> Result<(i64, i64), BackupError> {
    let conn = Connection::open(tmp).map_err(sql(tmp))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0)).map_err(sql(tmp))?;
    if !mode.eq_ignore_ascii_case("delete") {
        let stayed = std::io::Error::other(format!("the copy stayed in journal mode {mode}"));
        return Err(BackupError::Io { path: tmp.to_owned(), source: stayed });
    }
    check(&conn, tmp)?;
    let (schema, _) = read_meta(&conn, tmp)?;
    let households = conn.query_row("SELECT count(*) FROM households", [], |r| r.get(0)).map_err(sql(tmp))?;
    Ok((schema, households))
}

/// Replaces the database at `target` with the backup at `backup`, then migrates it.
/// Refused while a server has `target` open. See the module documentation.
pub fn restore(backup: &Path, target: &Path, force: bool) -> Result<RestoreReport, BackupError> {
    let started = Instant::now();
    if !backup.is_file() {
        return Err(BackupError::Missing(backup.to_owned()));
    }
    let exists = target.exists();
    if exists && same_file(backup, target) {
        return Err(BackupError::SameFile(target.to_owned()));
    }
    if exists && !force {
        return Err(BackupError::Exists(target.to_owned()));
    }
    let from = Connection::open_with_flags(backup, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sql(backup))?;
    let (schema_before, households_table) = read_meta(&from, backup)?;
    if schema_before > SCHEMA_VERSION {
        return Err(BackupError::TooNew { path: backup.to_owned(), found: schema_before, supported: SCHEMA_VERSION });
    }
    if !households_table {
        return Err(BackupError::NotHuhujian(backup.to_owned()));
    }
    check(&from, backup)?;

    if let Err(e) = copy_in(&from, target) {
        if !exists {
            let _ = remove_with_sidecars(target);
        }
        return Err(e);
    }
    drop(from);

    let db = Sqlite::open(target)?;
    let conn = db.lock();
    let schema_after = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sql(target))?;
    let households = conn.query_row("SELECT count(*) FROM households", [], |r| r.get(0)).map_err(sql(target))?;
    check(&conn, target)?;
    Ok(RestoreReport { households, schema_before, schema_after, seconds: started.elapsed().as_secs_f64() })
}

/// Copies the open backup `from` over `target`, holding `target` exclusively.
fn copy_in(from: &Connection, target: &Path) -> Result<(), BackupError> {
    let mut to = Connection::open(target).map_err(sql(target))?;
    to.busy_timeout(Duration::from_millis(500)).map_err(sql(target))?;
    // Take the file for ourselves until the copy is in: leaving WAL mode needs every
    // other connection gone, and exclusive locking mode keeps newcomers out.
    let _: String = to.query_row("PRAGMA locking_mode = EXCLUSIVE", [], |r| r.get(0)).map_err(sql(target))?;
    let mode: String = to.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0)).map_err(sql(target))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(BackupError::InUse(target.to_owned()));
    }
    to.execute_batch("BEGIN EXCLUSIVE; COMMIT;").map_err(sql(target))?;
    let copy = Backup::new(from, &mut to).map_err(sql(target))?;
    match copy.step(-1).map_err(sql(target))? {
        StepResult::Done => Ok(()),
        _ => Err(BackupError::InUse(target.to_owned())),
    }
}

/// Runs `PRAGMA integrity_check` on the database at `path` (opened read-only).
pub fn integrity_check(path: &Path) -> Result<(), BackupError> {
    if !path.is_file() {
        return Err(BackupError::Missing(path.to_owned()));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sql(path))?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(sql(path))?;
    check(&conn, path)
}

fn check(conn: &Connection, path: &Path) -> Result<(), BackupError> {
    let mut stmt = conn.prepare("PRAGMA integrity_check").map_err(sql(path))?;
    let lines: Vec<String> =
        stmt.query_map([], |r| r.get(0)).map_err(sql(path))?.collect::<Result<_, _>>().map_err(sql(path))?;
    if lines.len() == 1 && lines[0] == "ok" {
        Ok(())
    } else {
        let problems = lines.iter().take(10).cloned().collect::<Vec<_>>().join("; ");
        Err(BackupError::Integrity { path: path.to_owned(), problems })
    }
}

/// The schema version, and whether a `households` table exists. The first read of a
/// file that is not a database fails here.
fn read_meta(conn: &Connection, path: &Path) -> Result<(i64, bool), BackupError> {
    let has_households: bool = conn
        .query_row("SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'households'", [], |r| {
            r.get(0)
        })
        .map_err(sql(path))?;
    let version = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sql(path))?;
    Ok((version, has_households))
}

/// `path` with `suffix` added to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(std::ffi::OsStr::to_owned).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

fn remove_with_sidecars(path: &Path) -> Result<(), BackupError> {
    for p in [path.to_owned(), sibling(path, "-journal"), sibling(path, "-wal"), sibling(path, "-shm")] {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BackupError::Io { path: p, source: e }),
        }
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Makes the rename itself durable (the directory entry), where the platform allows.
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
