//! `StoreError`: why the storage layer could not do what it was asked. It knows nothing
//! of HTTP; the handlers' error type turns it into an answer at the edge.

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database engine reported an error (I/O, a constraint, a lost connection).
    #[error("database error: {0}")]
    Engine(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database was written by a newer huhujian.
    #[error(
        "the database is at schema version {found}, newer than this program's {supported}; \
         run the newer huhujian, or restore a backup made by this version"
    )]
    TooNew {
        /// The database's schema version.
        found: i64,
        /// The newest version this program knows.
        supported: i64,
    },
    /// The database file is damaged: SQLite's own check found faults in it.
    #[error(
        "数据库文件已损坏，服务器未启动；请用 `server restore` 从备份恢复（先复制保存这个文件）。\n\
         The database file {path} is damaged, so the server did not start; restore it from a \
         backup with `server restore` (keep a copy of this file first). SQLite's check says: {detail}"
    )]
    Damaged {
        /// The file.
        path: String,
        /// What the check reported (its first lines).
        detail: String,
    },
    /// A stored household document does not load.
    #[error("household {household}: the stored document is damaged ({detail})")]
    Corrupt {
        /// 户编码
        household: String,
        /// What failed.
        detail: String,
    },
    /// A stored projection (summary, kept total) does not decode.
    #[error("a stored projection does not decode: {0}")]
    Projection(String),
    /// A statement of the transaction failed and the transaction was aborted, though
    /// the caller went on as if it had not: nothing of it was stored.
    #[error("a statement of the transaction failed; nothing of it was stored")]
    Aborted,
    /// The database named cannot be reached as configured (its URL's TLS settings).
    #[error("{0}")]
    Config(String),
    /// Moving a database between engines could not be done, or its check failed.
    #[error("{0}")]
    Transfer(String),
    /// The read found projections missing and ran on a read-only connection: the store
    /// fills in the summaries it names on the writer, a step at a time
    /// ([`crate::store::fill_in_steps`]), then runs the read again on the writer, which
    /// fills in anything else (kept grid totals). Never leaves the store.
    #[error("projections must be filled in first")]
    NeedsWriter(Box<crate::store::Missing>),
}

impl StoreError {
    /// An engine error from anything the engine reports.
    pub fn engine(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Engine(Box::new(e))
    }
}

/// A storage result.
pub type StoreResult<T> = Result<T, StoreError>;
