//! The blob store in a folder (附件目录): by default beside the SQLite file, sharded by
//! the hash's first four hex digits (`ab/cd/<sha256>`). An upload arrives in pieces,
//! written at their offsets into `partial/<sha256>`; once all its bytes are there they
//! are hashed, their format told by their content, flushed to disk and only then
//! renamed into place, so a blob that can be read is whole and verified, and a crash
//! leaves at most a partial file that the next piece continues (or whose hash fails and
//! is dropped). The same piece taken twice (a retry handled by two processes sharing
//! the folder) writes the same bytes. Blocking: [`super::Blobs`] calls it off the
//! async threads.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use shared::evidence::{MediaType, is_sha256};

use super::{BlobError, Held, checked_piece, verify};

/// A folder on this machine (or one every server process mounts).
#[derive(Debug)]
pub struct Folder {
    dir: PathBuf,
    /// Appends and completions one at a time (pieces are small; this keeps two
    /// uploads of one hash from interleaving their bytes).
    writing: Mutex<()>,
}

impl Folder {
    /// The store in `dir`, created if absent.
    pub fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir.join("partial"))?;
        Ok(Self { dir: dir.to_owned(), writing: Mutex::new(()) })
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
        if self.media(sha256)?.is_some() {
            return Ok(Held::Complete);
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
        let end = checked_piece(sha256, offset, total, bytes)?;
        let _one = self.writing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let have = match self.held(sha256)? {
            Held::Complete => return Ok(Held::Complete),
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
        if let Err(e) = verify(sha256, &bytes) {
            fs::remove_file(partial)?;
            return Err(e);
        }
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
        Ok(Held::Complete)
    }

    /// The size of the complete blob `sha256`, or `None` when it is not held.
    pub fn size(&self, sha256: &str) -> io::Result<Option<u64>> {
        match fs::metadata(self.path(sha256)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes the complete blob `sha256` (nothing if it is not held).
    pub fn delete(&self, sha256: &str) -> io::Result<()> {
        match fs::remove_file(self.path(sha256)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Drops (or with `dry_run` counts) the uploads last added to longer than `age` ago.
    pub fn drop_stale(&self, age: Duration, dry_run: bool) -> io::Result<u64> {
        let mut dropped = 0;
        for file in fs::read_dir(self.dir.join("partial"))?.flatten() {
            let old = file
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| SystemTime::now().duration_since(t).is_ok_and(|a| a > age));
            if old {
                dropped += 1;
                if !dry_run {
                    let _ = fs::remove_file(file.path());
                }
            }
        }
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::blobs::hex;
    use sha2::{Digest, Sha256};
    use shared::evidence::MAX_BLOB_BYTES;

    fn jpeg(n: usize) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
        b.extend((0..n).map(|i| (i % 251) as u8));
        b
    }

    #[test]
    fn pieces_resume_repeat_and_complete() {
        let dir = std::env::temp_dir().join(format!("hhj-folder-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let blobs = Folder::open(&dir).unwrap();
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
        assert_eq!(blobs.put(&sha, 7000, total, &bytes[7000..]).unwrap(), Held::Complete);
        assert_eq!(blobs.read(&sha).unwrap().unwrap().1, bytes);
        // Again, once complete: idempotent.
        assert_eq!(blobs.put(&sha, 0, total, &bytes).unwrap(), Held::Complete);
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
