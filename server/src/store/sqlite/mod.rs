//! The embedded engine: one SQLite file in WAL mode, one writer connection and a pool
//! of read-only reader connections, so that reads never wait for a write or for each
//! other, and a sync never waits behind an export or a dashboard. Its schema is
//! created and upgraded by the append-only migrations in `migrations.rs`, keyed by
//! `PRAGMA user_version`.
//!
//! - `accounts`: users, sessions, login throttling, assignments, the audit log;
//! - `docs`: household documents, their projections, sync states, the change log;
//! - `reads`: the dashboards' and lists' queries over the projections.

mod accounts;
mod docs;
mod dump;
mod migrations;
mod phones;
mod reads;
mod settings;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, TransactionBehavior};

pub use dump::Dump;
pub use migrations::SCHEMA_VERSION;

use std::collections::BTreeMap;

use shared::Period;
use shared::api::{AreaCount, AssignedHousehold, HouseholdRow, Role, User, UserRow};
use shared::automerge::ChangeHash;
use shared::indicators::Indicators;

use super::{
    Access, CoverageTable, Credentials, DocWrite, Grouping, IndicatorsBySite, Listing, NewAccount, Reader, Scope,
    Selection, StoreError, StoreResult, StoredDoc, Upload, Writer,
};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::engine(e)
    }
}

/// Short reads (a session's check, a dashboard, a list) at once: they are short and
/// CPU-bound, so a few more than the cores keeps every core busy while one waits for
/// the disk.
pub const READERS: usize = 4;
/// Long reads (an export of the whole county, the conflict list) at once, on readers
/// of their own: however many are asked for, short reads and syncs never wait behind
/// them.
pub const LONG_READERS: usize = 2;

/// The handle: cheap to clone, shared by every request.
#[derive(Debug, Clone)]
pub struct Sqlite(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Idle readers; opened when first needed, at most [`READERS`] at once.
    readers: Mutex<Vec<Connection>>,
    permits: tokio::sync::Semaphore,
    long_permits: tokio::sync::Semaphore,
}

/// A connection as the store's traits see it: a reader (read-only, answers
/// [`StoreError::NeedsWriter`] when projections are missing) or the writer inside a
/// transaction (fills them in).
pub(crate) struct Conn<'a> {
    conn: &'a Connection,
    writable: bool,
}

impl std::ops::Deref for Conn<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

fn configure(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Room for every endpoint's cached statements (a sync alone uses ten), so that
    // none evicts another (rusqlite's default: 16).
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// SQLite's `quick_check` of the file at `path` (every page and index), before
/// anything opens it to write: a damaged file is refused with its bytes as they were
/// ([`StoreError::Damaged`]). A file that does not exist yet, or is empty, is fine.
pub fn check_file(path: &Path) -> StoreResult<()> {
    if std::fs::metadata(path).map_or(true, |m| m.len() == 0) {
        return Ok(());
    }
    let lines = (|| -> rusqlite::Result<Vec<String>> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "query_only", "ON")?;
        let mut stmt = conn.prepare("PRAGMA quick_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.take(5).collect()
    })();
    match lines {
        Ok(lines) if lines.len() == 1 && lines[0] == "ok" => Ok(()),
        Ok(lines) => Err(StoreError::Damaged { path: path.display().to_string(), detail: lines.join("; ") }),
        // So damaged that the check itself cannot read the file.
        Err(e) => Err(damaged(path, e)),
    }
}

/// `e` as [`StoreError::Damaged`] when SQLite says the file at `path` is damaged or
/// not a database; otherwise as it is.
fn damaged(path: &Path, e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(code, message)
            if matches!(code.code, rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) =>
        {
            StoreError::Damaged {
                path: path.display().to_string(),
                detail: message.unwrap_or_else(|| code.to_string()),
            }
        }
        other => other.into(),
    }
}

impl Sqlite {
    /// Opens (creating if needed) and migrates the database at `path`. A file SQLite
    /// finds damaged or not a database at all is [`StoreError::Damaged`].
    pub fn open(path: &Path) -> StoreResult<Self> {
        Self::open_file(path).map_err(|e| match e {
            StoreError::Engine(inner) => match inner.downcast::<rusqlite::Error>() {
                Ok(e) => damaged(path, *e),
                Err(other) => StoreError::Engine(other),
            },
            other => other,
        })
    }

    fn open_file(path: &Path) -> StoreResult<Self> {
        let mut writer = Connection::open(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a commit is on disk before the server acknowledges a sync.
        writer.pragma_update(None, "synchronous", "FULL")?;
        configure(&writer)?;
        migrations::migrate(&mut writer)?;
        Ok(Self(Arc::new(Inner {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(READERS),
            long_permits: tokio::sync::Semaphore::new(LONG_READERS),
        })))
    }

    /// Moves everything in the write-ahead log into the file and empties the log, so
    /// that the file alone holds the database (a stop, then a copy of the file).
    pub fn checkpoint(&self) -> StoreResult<()> {
        let conn = self.lock();
        // (busy, frames in the log, frames moved): a reader still in a snapshot makes
        // it give up after the busy timeout, without an error.
        let (busy, log, moved): (i64, i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        if busy != 0 || log != moved {
            return Err(StoreError::Transfer(format!(
                "the write-ahead log could not be moved into the file ({moved} of {log} pages; a reader was busy): \
                 the file and its -wal together hold the database"
            )));
        }
        Ok(())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// The writer connection, for tools and tests that work on the file directly. A
    /// panic while it was held poisons nothing that matters: SQLite rolled back.
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        self.0.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn take_reader(&self) -> StoreResult<Connection> {
        let idle = self.0.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => {
                let conn = Connection::open(&self.0.path)?;
                configure(&conn)?;
                conn.pragma_update(None, "query_only", "ON")?;
                Ok(conn)
            }
        }
    }

    fn give_back(&self, conn: Connection) {
        self.0.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(conn);
    }

    /// Runs `read` in one read transaction (one snapshot) on a reader; if it finds
    /// projections to fill in, again on the writer.
    pub async fn read<T, F>(&self, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Reader) -> StoreResult<T> + Send + 'static,
    {
        self.read_with(&self.0.permits, read).await
    }

    /// [`Sqlite::read`] for a read that may take seconds, among at most
    /// [`LONG_READERS`].
    pub async fn read_long<T, F>(&self, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Reader) -> StoreResult<T> + Send + 'static,
    {
        self.read_with(&self.0.long_permits, read).await
    }

    async fn read_with<T, F>(&self, permits: &tokio::sync::Semaphore, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Reader) -> StoreResult<T> + Send + 'static,
    {
        let waiting = std::time::Instant::now();
        let permit = permits.acquire().await.map_err(StoreError::engine)?;
        let long = std::ptr::eq(permits, &self.0.long_permits);
        crate::metrics::store_wait(if long { "long_read" } else { "read" }, waiting.elapsed());
        let this = self.clone();
        let job = move || {
            let result = this.read_blocking(&read);
            (result, read)
        };
        // A long read is bulk work: it yields the cores to syncs (`crate::bulk`).
        let (result, read) =
            if long { crate::bulk::run(job).await.map_err(StoreError::engine)? } else { blocking(job).await };
        drop(permit);
        match result {
            Err(StoreError::NeedsWriter(missing)) => {
                // The missing summaries a step at a time, syncs taking the writer between
                // steps; then the read on the writer, which fills in what else it finds.
                super::fill_in_steps(&missing, |step, period| self.write(move |w| step.run(w, period))).await?;
                self.write(move |w| read(w)).await
            }
            other => other,
        }
    }

    fn read_blocking<T>(&self, read: &dyn Fn(&mut dyn Reader) -> StoreResult<T>) -> StoreResult<T> {
        let conn = self.take_reader()?;
        let result = (|| {
            let tx = conn.unchecked_transaction()?;
            read(&mut Conn { conn: &tx, writable: false })
        })();
        self.give_back(conn);
        result
    }

    /// Runs `write` in one transaction on the writer, on the blocking pool.
    pub async fn write<T, E, F>(&self, write: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnMut(&mut dyn Writer) -> Result<T, E> + Send + 'static,
    {
        let this = self.clone();
        blocking(move || this.write_blocking(write)).await
    }

    /// Runs `write` in one transaction on the writer, on this thread: committed if it
    /// succeeds, rolled back if not.
    pub fn write_blocking<T, E, F>(&self, mut write: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnMut(&mut dyn Writer) -> Result<T, E>,
    {
        let waiting = std::time::Instant::now();
        let mut conn = self.lock();
        crate::metrics::store_wait("write", waiting.elapsed());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from)?;
        let out = write(&mut Conn { conn: &tx, writable: true })?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }
}

/// Runs `f` on tokio's blocking pool; a panic in it is a panic here.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

impl Reader for Conn<'_> {
    fn session(&mut self, token_hash: &[u8], at: i64) -> StoreResult<Option<(User, String)>> {
        accounts::session(self, token_hash, at)
    }
    fn user(&mut self, login: &str) -> StoreResult<Option<User>> {
        accounts::user(self, login)
    }
    fn credentials(&mut self, login: &str) -> StoreResult<Option<Credentials>> {
        accounts::credentials(self, login)
    }
    fn user_rows(&mut self, login: Option<&str>, at: i64) -> StoreResult<Vec<UserRow>> {
        accounts::user_rows(self, login, at)
    }
    fn logins_with_role(&mut self, role: Role) -> StoreResult<Vec<String>> {
        accounts::logins_with_role(self, role)
    }
    fn access(&mut self, user: &User, id: &str) -> StoreResult<Access> {
        docs::access(self, &Scope::of(user), id)
    }
    fn stored_doc(&mut self, id: &str) -> StoreResult<Option<StoredDoc>> {
        docs::stored(self, id)
    }
    fn sync_state(&mut self, device: &str, id: &str) -> StoreResult<Option<Vec<u8>>> {
        docs::sync_state(self, device, id)
    }
    fn uploads(&mut self, id: &str) -> StoreResult<BTreeMap<String, Upload>> {
        docs::uploads(self, id)
    }
    fn household_rows(&mut self, selection: &Selection, listing: &Listing) -> StoreResult<Vec<HouseholdRow>> {
        reads::household_rows(self, selection, listing)
    }
    fn household_ids(&mut self, selection: &Selection) -> StoreResult<Vec<String>> {
        reads::household_ids(self, selection)
    }
    fn id_numbers(&mut self, selection: &Selection) -> StoreResult<Vec<(String, Option<String>)>> {
        reads::id_numbers(self, selection)
    }
    fn coverage(&mut self, selection: &Selection, period: Period, by: Grouping) -> StoreResult<CoverageTable> {
        reads::coverage(self, selection, period, by)
    }
    fn indicators(&mut self, selection: &Selection, period: Period) -> StoreResult<Indicators> {
        reads::indicators(self, selection, period)
    }
    fn indicators_by_site(&mut self, selection: &Selection, period: Period) -> StoreResult<IndicatorsBySite> {
        reads::indicators_by_site(self, selection, period)
    }
    fn review_counts(&mut self, selection: &Selection, period: Period) -> StoreResult<BTreeMap<String, u32>> {
        reads::review_counts(self, selection, period)
    }
    fn grid_counts(&mut self) -> StoreResult<Vec<AreaCount>> {
        accounts::grid_counts(self)
    }
    fn settings(&mut self) -> StoreResult<shared::Settings> {
        settings::read(self)
    }
    fn phone_reports(&mut self) -> StoreResult<Vec<shared::api::PhoneRow>> {
        phones::reports(self)
    }
    fn cadres_of(&mut self, id: &str) -> StoreResult<Vec<shared::api::Person>> {
        accounts::cadres_of(self, id)
    }
    fn assigned_rows(
        &mut self,
        site: Option<&str>,
        grid: Option<&str>,
        cadre: Option<&str>,
    ) -> StoreResult<Vec<AssignedHousehold>> {
        accounts::assigned_rows(self, site, grid, cadre)
    }
}

impl Writer for Conn<'_> {
    fn insert_user(&mut self, account: &NewAccount<'_>) -> StoreResult<bool> {
        accounts::insert_user(self, account)
    }
    fn set_user(&mut self, user: &User) -> StoreResult<()> {
        accounts::set_user(self, user)
    }
    fn set_password_hash(&mut self, login: &str, password_hash: &str, clear_throttle: bool) -> StoreResult<()> {
        accounts::set_password_hash(self, login, password_hash, clear_throttle)
    }
    fn set_login_failures(&mut self, login: &str, failed: i64, locked_until: i64) -> StoreResult<()> {
        accounts::set_login_failures(self, login, failed, locked_until)
    }
    fn claim_unknown_login(&mut self, login: &str, at: i64, forget_before: i64) -> StoreResult<(i64, i64)> {
        accounts::claim_unknown_login(self, login, at, forget_before)
    }
    fn set_unknown_login_lock(&mut self, login: &str, locked_until: i64) -> StoreResult<()> {
        accounts::set_unknown_login_lock(self, login, locked_until)
    }
    fn set_disabled(&mut self, login: &str, disabled: bool) -> StoreResult<()> {
        accounts::set_disabled(self, login, disabled)
    }
    fn insert_session(
        &mut self,
        token_hash: &[u8],
        login: &str,
        device: &str,
        at: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        accounts::insert_session(self, token_hash, login, device, at, expires_at)
    }
    fn delete_session(&mut self, token_hash: &[u8]) -> StoreResult<()> {
        accounts::delete_session(self, token_hash)
    }
    fn delete_sessions_of(&mut self, login: &str, except: Option<&[u8]>) -> StoreResult<()> {
        accounts::delete_sessions_of(self, login, except)
    }
    fn assign(&mut self, id: &str, login: &str) -> StoreResult<bool> {
        accounts::assign(self, id, login)
    }
    fn unassign(&mut self, id: &str, login: &str) -> StoreResult<bool> {
        accounts::unassign(self, id, login)
    }
    fn unassign_all(&mut self, login: &str) -> StoreResult<usize> {
        accounts::unassign_all(self, login)
    }
    fn audit(&mut self, at: i64, login: &str, action: &str, detail: &str) -> StoreResult<()> {
        accounts::audit(self, at, login, action, detail)
    }
    fn put_phone_report(
        &mut self,
        login: &str,
        device: &str,
        report: &shared::api::PhoneReport,
        at: i64,
    ) -> StoreResult<()> {
        phones::put_report(self, login, device, report, at)
    }
    fn replace_settings(&mut self, new: &shared::Settings, by: &str, at: i64) -> StoreResult<Option<shared::Settings>> {
        settings::replace(self, new, by, at)
    }
    fn log_changes(&mut self, id: &str, hashes: &[ChangeHash], login: &str, device: &str, at: i64) -> StoreResult<()> {
        docs::log_changes(self, id, hashes, login, device, at)
    }
    fn fill_summaries(&mut self, selection: &Selection, period: Period, at_most: usize) -> StoreResult<usize> {
        let today = shared::Date::in_china(crate::auth::now());
        docs::fill_summaries(self, period, today, selection, Some(at_most))
    }
    fn write_doc(&mut self, doc: &DocWrite<'_>, at: i64) -> StoreResult<()> {
        docs::write(self, doc, at)
    }
    fn put_sync_state(&mut self, device: &str, id: &str, state: &[u8]) -> StoreResult<()> {
        docs::put_sync_state(self, device, id, state)
    }
    fn retire_doc(&mut self, id: &str, bytes: &[u8], hashes: &[ChangeHash], by: &str, at: i64) -> StoreResult<()> {
        docs::retire(self, id, bytes, hashes, by, at)
    }
}
