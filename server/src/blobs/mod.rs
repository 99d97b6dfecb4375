//! The blob store (附件存储): the bytes of photos and signatures, kept by their SHA-256,
//! in a folder ([`folder`], by default beside the SQLite file) or an S3-compatible
//! bucket ([`bucket`]). Either way an upload arrives in pieces, a piece taken twice
//! changes nothing, and a blob becomes readable only whole and verified (its hash, and
//! JPEG or PNG by its content). An enum, not a trait: two closed kinds, async methods,
//! no boxing. No HTTP here.

pub mod bucket;
pub mod folder;
pub mod retention;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use shared::evidence::{MAX_BLOB_BYTES, MediaType, is_sha256};

pub use bucket::Bucket;
pub use folder::Folder;

/// Where blobs are kept.
#[derive(Debug, Clone)]
pub enum Blobs {
    /// A folder on this machine (or one every server process mounts).
    Folder(Arc<Folder>),
    /// An S3-compatible bucket.
    Bucket(Arc<Bucket>),
}

/// Why a piece was not kept, or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// More than [`MAX_BLOB_BYTES`].
    #[error("larger than {MAX_BLOB_BYTES} bytes")]
    TooLarge,
    /// Not a JPEG or PNG by its first bytes.
    #[error("not a JPEG or PNG image")]
    NotAnImage,
    /// The piece starts after what the server holds (`have` bytes).
    #[error("the server holds {have} bytes")]
    Gap {
        /// Bytes held.
        have: u64,
    },
    /// All bytes arrived but their SHA-256 is another: the upload is dropped.
    #[error("the bytes' SHA-256 is {found}")]
    HashMismatch {
        /// What the bytes hash to.
        found: String,
    },
    /// The folder's disk failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The object store failed or could not be reached.
    #[error("object store: {0}")]
    Bucket(#[from] object_store::Error),
    /// The store named at start cannot be used.
    #[error("{0}")]
    Config(String),
}

/// What the server holds of one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Every byte, verified.
    Complete,
    /// This many bytes of an upload in progress (0: none).
    Partial(u64),
}

/// The piece `bytes` at `offset` of a blob of `total` bytes, checked before anything is
/// stored: within the cap, and an image from its first byte. Its end.
pub(crate) fn checked_piece(sha256: &str, offset: u64, total: u64, bytes: &[u8]) -> Result<u64, BlobError> {
    debug_assert!(is_sha256(sha256));
    let end = offset.checked_add(bytes.len() as u64).ok_or(BlobError::TooLarge)?;
    if total == 0 || total > MAX_BLOB_BYTES as u64 || end > total {
        return Err(BlobError::TooLarge);
    }
    if offset == 0 && !bytes.is_empty() && MediaType::sniff(bytes).is_none() {
        return Err(BlobError::NotAnImage);
    }
    Ok(end)
}

/// The whole of an upload: its SHA-256 is `sha256` and it is a JPEG or PNG.
pub(crate) fn verify(sha256: &str, bytes: &[u8]) -> Result<(), BlobError> {
    let found = hex(&Sha256::digest(bytes));
    if found != sha256 {
        return Err(BlobError::HashMismatch { found });
    }
    MediaType::sniff(bytes).map(|_| ()).ok_or(BlobError::NotAnImage)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Blobs {
    /// The folder `dir`, created if absent.
    pub fn open(dir: &Path) -> io::Result<Self> {
        Ok(Self::Folder(Arc::new(Folder::open(dir)?)))
    }

    /// The store `at` names: `s3://bucket[/prefix]` (see [`Bucket::connect`]; the
    /// endpoint and keys from the environment), else a folder.
    pub async fn at(at: &str) -> Result<Self, BlobError> {
        Self::at_with(at, std::env::vars()).await
    }

    /// [`Blobs::at`] with the `AWS_*` settings from `vars`.
    pub async fn at_with(at: &str, vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, BlobError> {
        if at.starts_with("s3://") {
            Ok(Self::Bucket(Arc::new(Bucket::connect(at, vars).await?)))
        } else {
            Ok(Self::open(Path::new(at))?)
        }
    }

    /// The folder a SQLite file's blobs are kept in by default: `county.blobs` beside
    /// `county.sqlite3`.
    pub fn beside(db: &Path) -> PathBuf {
        db.with_extension("blobs")
    }

    /// Where, for the log.
    pub fn describe(&self) -> String {
        match self {
            Self::Folder(f) => f.dir().display().to_string(),
            Self::Bucket(b) => b.name().to_owned(),
        }
    }

    /// What is held of `sha256` (a checked hash).
    pub async fn held(&self, sha256: &str) -> Result<Held, BlobError> {
        match self {
            Self::Folder(f) => blocking(f, sha256, |f, sha| Ok(f.held(sha)?)).await,
            Self::Bucket(b) => b.held(sha256).await,
        }
    }

    /// The bytes of the complete blob `sha256` with their format, or `None`.
    pub async fn read(&self, sha256: &str) -> Result<Option<(MediaType, Vec<u8>)>, BlobError> {
        match self {
            Self::Folder(f) => blocking(f, sha256, |f, sha| Ok(f.read(sha)?)).await,
            Self::Bucket(b) => b.read(sha256).await,
        }
    }

    /// Takes the piece `bytes` of blob `sha256` (a checked hash) starting at byte
    /// `offset` of `total`. A piece the server already holds (a retry after a lost
    /// answer) is taken again without effect; one that starts past what it holds is a
    /// [`BlobError::Gap`]. When the last byte arrives the whole is checked and kept, or
    /// dropped whole ([`BlobError::HashMismatch`]).
    pub async fn put<B>(&self, sha256: &str, offset: u64, total: u64, bytes: B) -> Result<Held, BlobError>
    where
        B: AsRef<[u8]> + Send + 'static,
    {
        match self {
            Self::Folder(f) => blocking(f, sha256, move |f, sha| f.put(sha, offset, total, bytes.as_ref())).await,
            Self::Bucket(b) => b.put(sha256, offset, total, bytes.as_ref()).await,
        }
    }

    /// The size of the complete blob `sha256`, or `None` when it is not held.
    pub async fn size(&self, sha256: &str) -> Result<Option<u64>, BlobError> {
        match self {
            Self::Folder(f) => blocking(f, sha256, |f, sha| Ok(f.size(sha)?)).await,
            Self::Bucket(b) => b.size(sha256).await,
        }
    }

    /// Deletes the complete blob `sha256`.
    pub async fn delete(&self, sha256: &str) -> Result<(), BlobError> {
        match self {
            Self::Folder(f) => blocking(f, sha256, |f, sha| Ok(f.delete(sha)?)).await,
            Self::Bucket(b) => b.delete(sha256).await,
        }
    }

    /// Drops (or with `dry_run` counts) the uploads not added to for `age`.
    pub async fn drop_stale(&self, age: Duration, dry_run: bool) -> Result<u64, BlobError> {
        match self {
            Self::Folder(f) => blocking(f, "", move |f, _| Ok(f.drop_stale(age, dry_run)?)).await,
            Self::Bucket(b) => b.drop_stale(i64::try_from(age.as_secs()).unwrap_or(i64::MAX), dry_run).await,
        }
    }
}

/// Runs `job` on the folder off the async threads.
async fn blocking<T, F>(folder: &Arc<Folder>, sha256: &str, job: F) -> Result<T, BlobError>
where
    T: Send + 'static,
    F: FnOnce(&Folder, &str) -> Result<T, BlobError> + Send + 'static,
{
    let (folder, sha256) = (Arc::clone(folder), sha256.to_owned());
    tokio::task::spawn_blocking(move || job(&folder, &sha256)).await.map_err(io::Error::other)?
}
