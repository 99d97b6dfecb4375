//! The blob store in an S3-compatible bucket (对象存储), for deployments whose server
//! processes are several machines (`serve --blobs s3://bucket/prefix`; the endpoint
//! and keys come from the usual `AWS_*` variables). A complete blob is one object,
//! `<prefix>/ab/cd/<sha256>`, written in one PUT only after its bytes were hashed and
//! sniffed, so an object that exists is whole and verified. An upload in progress is
//! one object per piece, `<prefix>/partial/<sha256>/<offset>-<end>`: any server process
//! can take the next piece, the same piece taken twice is the same object, and what is
//! held is the pieces' unbroken run from byte 0. No HTTP of its own (the S3 client's).

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as Key;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use shared::evidence::MediaType;

use super::{BlobError, Held, checked_piece, verify};

/// A bucket, and the prefix its blobs are kept under.
#[derive(Debug)]
pub struct Bucket {
    s3: AmazonS3,
    /// `s3://bucket/prefix`, for the log.
    name: String,
    prefix: String,
}

/// One piece of an upload in progress: bytes `offset..end`.
#[derive(Debug, Clone)]
struct Piece {
    key: Key,
    offset: u64,
    end: u64,
}

/// By first byte, the longest first: the order the run and the join read them in.
fn in_order(pieces: &mut [Piece]) {
    pieces.sort_by_key(|p| (p.offset, std::cmp::Reverse(p.end)));
}

/// `Ok(None)` for what is not there: for these calls, an answer like any other.
fn found<T>(result: object_store::Result<T>) -> Result<Option<T>, BlobError> {
    match result {
        Ok(t) => Ok(Some(t)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl Bucket {
    /// The bucket named by `s3://bucket[/prefix]`, its endpoint, region and keys from
    /// `vars` (the environment's `AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP` for an endpoint on the local network).
    /// Checked by listing it, so a wrong name or key stops the server at start.
    pub async fn connect(url: &str, vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, BlobError> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| BlobError::Config(format!("not an s3:// URL: {url}")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(BlobError::Config(format!("no bucket in {url}")));
        }
        // HTTPS to the object store through rustls on ring, as the server's own HTTPS.
        crate::edge::tls::use_ring();
        // A phone waits on these calls: a store that does not answer is said so within
        // seconds (the phone sends again later), not after the client's default minutes:
        // each request at most 5 s (2 s to connect), retried while 10 s have not passed.
        // (Set before the variables, which may change the client's options too.)
        let retry = RetryConfig {
            max_retries: 2,
            retry_timeout: std::time::Duration::from_secs(10),
            backoff: Default::default(),
        };
        let client = ClientOptions::new()
            .with_timeout(std::time::Duration::from_secs(5))
            .with_connect_timeout(std::time::Duration::from_secs(2));
        let mut builder = AmazonS3Builder::new().with_retry(retry).with_client_options(client);
        for (name, value) in vars {
            if let Some(key) =
                name.starts_with("AWS_").then(|| name.to_ascii_lowercase().parse::<AmazonS3ConfigKey>().ok()).flatten()
            {
                builder = builder.with_config(key, value);
            }
        }
        let s3 = builder.with_bucket_name(bucket).build().map_err(|e| BlobError::Config(format!("{url}: {e}")))?;
        let this = Self { s3, name: url.to_owned(), prefix: prefix.trim_matches('/').to_owned() };
        this.s3
            .list_with_delimiter(Some(&this.key("partial")))
            .await
            .map_err(|e| BlobError::Config(format!("{url} cannot be listed: {e}")))?;
        Ok(this)
    }

    /// `s3://bucket/prefix`.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn key(&self, rest: &str) -> Key {
        if self.prefix.is_empty() { Key::from(rest) } else { Key::from(format!("{}/{rest}", self.prefix)) }
    }

    fn blob(&self, sha256: &str) -> Key {
        self.key(&format!("{}/{}/{sha256}", &sha256[..2], &sha256[2..4]))
    }

    fn partial(&self, sha256: &str) -> Key {
        self.key(&format!("partial/{sha256}"))
    }

    /// The pieces of `sha256` held, by their first byte.
    async fn pieces(&self, sha256: &str) -> Result<Vec<Piece>, BlobError> {
        let listed: Vec<_> = self.s3.list(Some(&self.partial(sha256))).try_collect().await?;
        let mut pieces: Vec<Piece> = listed
            .into_iter()
            .filter_map(|meta| {
                let (offset, end) = meta.location.filename()?.split_once('-')?;
                let (offset, end) = (offset.parse().ok()?, end.parse().ok()?);
                Some(Piece { key: meta.location, offset, end })
            })
            .collect();
        in_order(&mut pieces);
        Ok(pieces)
    }

    /// How many bytes from 0 the pieces cover without a break.
    fn run(pieces: &[Piece]) -> u64 {
        pieces.iter().fold(0, |have, p| if p.offset <= have { have.max(p.end) } else { have })
    }

    async fn exists(&self, key: &Key) -> Result<bool, BlobError> {
        Ok(found(self.s3.head(key).await)?.is_some())
    }

    /// What is held of `sha256` (a checked hash).
    pub async fn held(&self, sha256: &str) -> Result<Held, BlobError> {
        if self.exists(&self.blob(sha256)).await? {
            return Ok(Held::Complete);
        }
        Ok(Held::Partial(Self::run(&self.pieces(sha256).await?)))
    }

    /// The bytes of the complete blob `sha256` with their format, or `None`.
    pub async fn read(&self, sha256: &str) -> Result<Option<(MediaType, Vec<u8>)>, BlobError> {
        let Some(got) = found(self.s3.get(&self.blob(sha256)).await)? else { return Ok(None) };
        let bytes = got.bytes().await?.to_vec();
        Ok(MediaType::sniff(&bytes).map(|m| (m, bytes)))
    }

    /// Takes one piece, as [`super::Blobs::put`] says.
    pub async fn put(&self, sha256: &str, offset: u64, total: u64, bytes: &[u8]) -> Result<Held, BlobError> {
        let end = checked_piece(sha256, offset, total, bytes)?;
        if self.exists(&self.blob(sha256)).await? {
            return Ok(Held::Complete);
        }
        let mut pieces = self.pieces(sha256).await?;
        let have = Self::run(&pieces);
        if offset > have {
            return Err(BlobError::Gap { have });
        }
        if end > have {
            let key = self.partial(sha256).join(format!("{offset:07}-{end:07}"));
            self.s3.put(&key, PutPayload::from(bytes.to_vec())).await?;
            pieces.push(Piece { key, offset, end });
            in_order(&mut pieces);
        }
        let have = have.max(end);
        if have < total {
            return Ok(Held::Partial(have));
        }
        self.complete(sha256, &pieces, total).await
    }

    /// Joins the pieces, checks the whole and writes it as one object; then the pieces
    /// go. A crash between leaves pieces that the retention command drops.
    async fn complete(&self, sha256: &str, pieces: &[Piece], total: u64) -> Result<Held, BlobError> {
        let mut bytes = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        for p in pieces {
            let len = bytes.len() as u64;
            if p.offset > len || p.end <= len {
                continue;
            }
            // Gone: another process finished (or dropped) this upload meanwhile.
            let Some(got) = found(self.s3.get(&p.key).await)? else { break };
            let got = got.bytes().await?;
            let from = usize::try_from(len - p.offset).unwrap_or(usize::MAX);
            bytes.extend_from_slice(got.get(from..).unwrap_or_default());
        }
        bytes.truncate(usize::try_from(total).unwrap_or(usize::MAX));
        if (bytes.len() as u64) < total {
            // Another process finished (or dropped) this upload meanwhile.
            if self.exists(&self.blob(sha256)).await? {
                return Ok(Held::Complete);
            }
            return Ok(Held::Partial(bytes.len() as u64));
        }
        if let Err(e) = verify(sha256, &bytes) {
            self.drop_pieces(&pieces.iter().map(|p| &p.key).collect::<Vec<_>>()).await?;
            return Err(e);
        }
        self.s3.put(&self.blob(sha256), PutPayload::from(bytes)).await?;
        // Kept whole: pieces left behind (the store failed just now) are only litter,
        // which the retention command sweeps.
        if let Err(e) = self.drop_pieces(&pieces.iter().map(|p| &p.key).collect::<Vec<_>>()).await {
            tracing::warn!(%e, sha256, "the pieces of a finished upload were not all deleted");
        }
        Ok(Held::Complete)
    }

    async fn drop_pieces(&self, keys: &[&Key]) -> Result<(), BlobError> {
        for key in keys {
            found(self.s3.delete(key).await)?;
        }
        Ok(())
    }

    /// The size of the complete blob `sha256`, or `None`.
    pub async fn size(&self, sha256: &str) -> Result<Option<u64>, BlobError> {
        Ok(found(self.s3.head(&self.blob(sha256)).await)?.map(|meta| meta.size))
    }

    /// Deletes the complete blob `sha256`.
    pub async fn delete(&self, sha256: &str) -> Result<(), BlobError> {
        found(self.s3.delete(&self.blob(sha256)).await)?;
        Ok(())
    }

    /// Drops (or with `dry_run` counts) the uploads whose newest piece is older than
    /// `age_secs`.
    pub async fn drop_stale(&self, age_secs: i64, dry_run: bool) -> Result<u64, BlobError> {
        let listed: Vec<_> = self.s3.list(Some(&self.key("partial"))).try_collect().await?;
        // Each upload's pieces, and when the newest was written.
        let mut uploads: std::collections::BTreeMap<String, (Vec<Key>, i64)> = Default::default();
        for meta in listed {
            let parts: Vec<_> = meta.location.parts().collect();
            let Some(sha) = parts.len().checked_sub(2).and_then(|i| parts.get(i)) else { continue };
            let (keys, newest) = uploads.entry(sha.as_ref().to_owned()).or_insert((Vec::new(), i64::MIN));
            *newest = (*newest).max(meta.last_modified.timestamp());
            keys.push(meta.location);
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let mut dropped = 0;
        for (keys, newest) in uploads.values() {
            if now - newest > age_secs {
                dropped += 1;
                if !dry_run {
                    self.drop_pieces(&keys.iter().collect::<Vec<_>>()).await?;
                }
            }
        }
        Ok(dropped)
    }
}
