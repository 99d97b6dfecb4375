//! The blob store (附件存储): the bytes of photos and signatures, kept by their SHA-256
//! in a folder of their own (by default beside the SQLite file), sharded by the hash's
//! first four hex digits (`ab/cd/<sha256>`). An upload arrives in pieces, appended to
//! `partial/<sha256>`; once all its bytes are there they are hashed, their format told
//! by their content, flushed to disk and only then renamed into place, so a blob that
//! can be read is whole and verified, and a crash leaves at most a partial file that
//! the next piece continues (or whose hash fails and is dropped). Pieces are written
//! at their offsets, so the same piece taken twice (a retry handled by two processes
//! sharing the folder) writes the same bytes. No HTTP here.

pub mod retention;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use shared::evidence::{MAX_BLOB_BYTES, MediaType, is_sha256};

/// Where blobs are kept: a folder on this machine.
#[derive(Debug)]
pub struct Blobs {
    dir: PathBuf,
    /// Appends and completions one at a time (pieces are small; this keeps two
    /// uploads of one hash from interleaving their bytes).
    writing: Mutex<()>,
}

/// Why a piece was not kept.
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
    /// All bytes arrived but their SHA-256 is another: the partial file is dropped.
    #[error("the bytes' SHA-256 is {found}")]
    HashMismatch {
        /// What the bytes hash to.
        found: String,
    },
    /// The disk failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// What the server holds of one blob after a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Every byte, verified.
    Complete(MediaType),
    /// This many bytes of an upload in progress (0: none).
    Partial(u64),
}

impl Blobs {
    /// The store in `dir`, created if absent.
    pub fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir.join("partial"))?;
        Ok(Self { dir: dir.to_owned(), writing: Mutex::new(()) })
    }

    /// The folder a SQLite file's blobs are kept in by default: `county.blobs` beside
    /// `county.sqlite3`.
    pub fn beside(db: &Path) -> PathBuf {
        db.with_extension("blobs")
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the complete blob `sha256` is (or would be) kept.
    pub(crate) fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(&sha256[..2]).join(&sha256[2..4]).join(sha256)
    }

    fn partial(&self, sha256: &str) -> PathBuf {
        self.dir.join("partial").join(sha256)
    }

    /// What is held of `sha256` (a checked hash).
    pub fn held(&self, sha256: &str) -> io::Result<Held> {
        debug_assert!(is_sha256(sha256));
        if let Some(media) = self.media(sha256)? {
            return Ok(Held::Complete(media));
        }
        match fs::metadata(self.partial(sha256)) {
            Ok(m) => Ok(Held::Partial(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Held::Partial(0)),
            Err(e) => Err(e),
        }
    }

    /// The format of the complete blob `sha256`, or `None` when it is not held.
    fn media(&self, sha256: &str) -> io::Result<Option<MediaType>> {
        let mut head = [0u8; 8];
        match File::open(self.path(sha256)) {
            Ok(mut f) => {
                let n = io::Read::read(&mut f, &mut head)?;
                Ok(MediaType::sniff(&head[..n]))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The bytes of the complete blob `sha256` with their format, or `None`.
    pub fn read(&self, sha256: &str) -> io::Result<Option<(MediaType, Vec<u8>)>> {
        match fs::read(self.path(sha256)) {
            Ok(bytes) => Ok(MediaType::sniff(&bytes).map(|m| (m, bytes))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Takes the piece `bytes` of blob `sha256` (a checked hash) starting at byte
    /// `offset` of `total`. A piece the server already holds (a retry after a lost
    /// answer) is taken again without effect; one that starts past what it holds is a
    /// [`BlobError::Gap`]. When the last byte arrives the whole is checked and kept.
    pub fn put(&self, sha256: &str, offset: u64, total: u64, bytes: &[u8]) -> Result<Held, BlobError> {
        debug_assert!(is_sha256(sha256));
        let end = offset.checked_add(bytes.len() as u64).ok_or(BlobError::TooLarge)?;
        if total == 0 || total > MAX_BLOB_BYTES as u64 || end > total {
            return Err(BlobError::TooLarge);
        }
        if offset == 0 && !bytes.is_empty() && MediaType::sniff(bytes).is_none() {
            return Err(BlobError::NotAnImage);
        }
        let _one = self.writing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let have = match self.held(sha256)? {
            Held::Complete(media) => return Ok(Held::Complete(media)),
            Held::Partial(have) => have,
        };
        if offset > have {
            return Err(BlobError::Gap { have });
        }
        let partial = self.partial(sha256);
        let skip = usize::try_from(have - offset).unwrap_or(usize::MAX).min(bytes.len());
        if skip < bytes.len() {
            // Written at its place, not appended: the same piece handled twice (two
            // processes on one shared folder) lands on the same bytes.
            let f = OpenOptions::new().create(true).write(true).truncate(false).open(&partial)?;
            f.write_all_at(&bytes[skip..], have)?;
        }
        let have = have.max(end);
        if have < total {
            return Ok(Held::Partial(have));
        }
        self.complete(sha256, &partial, total)
    }

    /// Checks the whole of an upload (its first `total` bytes) and puts exactly the
    /// bytes checked into place: written to a name of this call's own, flushed, then
    /// renamed, so nothing another process appends meanwhile can reach the blob.
    fn complete(&self, sha256: &str, partial: &Path, total: u64) -> Result<Held, BlobError> {
        let mut bytes = fs::read(partial)?;
        bytes.truncate(usize::try_from(total).unwrap_or(usize::MAX));
        let found = hex(&Sha256::digest(&bytes));
        if found != sha256 {
            fs::remove_file(partial)?;
            return Err(BlobError::HashMismatch { found });
        }
        let Some(media) = MediaType::sniff(&bytes) else {
            fs::remove_file(partial)?;
            return Err(BlobError::NotAnImage);
        };
        let path = self.path(sha256);
        let shard = path.parent().unwrap_or(&self.dir);
        for dir in [shard.parent().unwrap_or(&self.dir), shard] {
            if !dir.exists() {
                fs::create_dir_all(dir)?;
                // A new folder is durable once its parent is.
                File::open(dir.parent().unwrap_or(&self.dir))?.sync_all()?;
            }
        }
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let temp = self.dir.join("partial").join(format!("{sha256}.{}.{nanos}.tmp", std::process::id()));
        {
            let mut f = File::create(&temp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        fs::rename(&temp, &path)?;
        // The rename is durable once the folder is.
        File::open(shard)?.sync_all()?;
        let _ = fs::remove_file(partial);
        Ok(Held::Complete(media))
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn jpeg(n: usize) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
        b.extend((0..n).map(|i| (i % 251) as u8));
        b
    }

    #[test]
    fn pieces_resume_repeat_and_complete() {
        let dir = std::env::temp_dir().join(format!("hhj-blobs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let blobs = Blobs::open(&dir).unwrap();
        let bytes = jpeg(10_000);
        let sha = hex(&Sha256::digest(&bytes));
        let total = bytes.len() as u64;
        assert_eq!(blobs.held(&sha).unwrap(), Held::Partial(0));
        assert_eq!(blobs.put(&sha, 0, total, &bytes[..4000]).unwrap(), Held::Partial(4000));
        // The same piece again (its answer was lost): nothing changes.
        assert_eq!(blobs.put(&sha, 0, total, &bytes[..4000]).unwrap(), Held::Partial(4000));
        // A piece past what is held.
        assert!(matches!(blobs.put(&sha, 8000, total, &bytes[8000..]), Err(BlobError::Gap { have: 4000 })));
        // One overlapping what is held: only its new bytes are kept.
        assert_eq!(blobs.put(&sha, 2000, total, &bytes[2000..7000]).unwrap(), Held::Partial(7000));
        assert!(blobs.read(&sha).unwrap().is_none(), "nothing readable before the last byte");
        assert_eq!(blobs.put(&sha, 7000, total, &bytes[7000..]).unwrap(), Held::Complete(MediaType::Jpeg));
        assert_eq!(blobs.read(&sha).unwrap().unwrap().1, bytes);
        // Again, once complete: idempotent.
        assert_eq!(blobs.put(&sha, 0, total, &bytes).unwrap(), Held::Complete(MediaType::Jpeg));
        assert!(!blobs.partial(&sha).exists());

        // Bytes that are not what their hash says are dropped whole.
        let other = hex(&Sha256::digest(b"another"));
        assert!(matches!(blobs.put(&other, 0, total, &bytes), Err(BlobError::HashMismatch { .. })));
        assert_eq!(blobs.held(&other).unwrap(), Held::Partial(0));
        // Not an image; too large.
        assert!(matches!(blobs.put(&other, 0, 3, b"GIF"), Err(BlobError::NotAnImage)));
        let big = MAX_BLOB_BYTES as u64 + 1;
        assert!(matches!(blobs.put(&other, 0, big, &bytes), Err(BlobError::TooLarge)));
        fs::remove_dir_all(&dir).unwrap();
    }
}
