//! Storage: one SQLite file (WAL, foreign keys on), its schema created and upgraded by
//! the append-only migrations in `migrations.rs`, keyed by `PRAGMA user_version`.

mod migrations;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

pub use migrations::SCHEMA_VERSION;

/// Why the database could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer huhujian.
    #[error(
        "the database is at schema version {found}, newer than this program's {supported}; \
         run the newer huhujian, or restore a backup made by this version"
    )]
    TooNew {
        /// The file's `user_version`.
        found: i64,
        /// The newest version this program knows.
        supported: i64,
    },
}

/// The shared handle: one connection behind a mutex. SQLite serialises writers
/// anyway; every handler runs its statements on a blocking thread.
#[derive(Debug, Clone)]
pub struct Db(Arc<Mutex<Connection>>);

impl Db {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// A private in-memory database (tests, tools).
    pub fn open_in_memory() -> Result<Self, DbError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self, DbError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a commit is on disk before the server acknowledges a sync.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // One connection serves every endpoint: room for all their cached statements
        // (a sync alone uses ten), so that none evicts another (rusqlite's default: 16).
        conn.set_prepared_statement_cache_capacity(64);
        migrations::migrate(&mut conn)?;
        Ok(Self(Arc::new(Mutex::new(conn))))
    }

    /// The connection, for one unit of work. A panic while it was held poisons
    /// nothing that matters: SQLite rolled the transaction back.
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` with the connection on tokio's blocking pool.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: Send + 'static + From<DbError>,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let db = self.clone();
        match tokio::task::spawn_blocking(move || f(&mut db.lock())).await {
            Ok(r) => r,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }
}
