//! 附件同步 (PROTOCOL.md §4.7): what the phone asks about the photos and signatures its
//! documents reference, and what the server answers to each uploaded piece.

use serde::{Deserialize, Serialize};

/// Most hashes one `POST /api/blobs/missing` may ask about.
pub const MAX_ASKED: usize = 1000;
/// Largest piece of one `PUT /api/blobs/{sha256}`: what a 2G link sends in a few
/// seconds, so that a cut costs at most this much again.
pub const PIECE_BYTES: usize = 32 << 10;

/// `POST /api/blobs/missing`: the hashes the phone holds and wants the server to have.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct BlobsAsked {
    /// SHA-256 in lowercase hex, at most [`MAX_ASKED`].
    pub hashes: Vec<String>,
}

/// One blob the server lacks, with how much of an earlier upload it kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct BlobMissing {
    /// Its SHA-256.
    pub sha256: String,
    /// Bytes already held: send from here.
    pub have: u64,
}

/// The answer to [`BlobsAsked`]: the blobs still to send, in the order asked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct BlobsMissing {
    /// Those not held whole.
    pub missing: Vec<BlobMissing>,
}

/// The answer to one piece: how much is held now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct BlobHeld {
    /// Bytes held (the whole size once complete).
    pub have: u64,
    /// Every byte is there and checked.
    pub complete: bool,
}
