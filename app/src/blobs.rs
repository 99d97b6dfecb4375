//! 附件 on the phone (PROTOCOL.md §4.7): the bytes of photos and signatures kept in
//! IndexedDB by their SHA-256 before the visit that references them is saved, so that
//! none is lost with a reload; after each sync's documents, the ones the server lacks
//! are sent piece by piece, each on its own (one that fails waits for the next sync and
//! holds up nothing), and marked sent once the server holds them whole.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use shared::api::blob::PIECE_BYTES;
use shared::api::{BlobHeld, BlobsAsked, BlobsMissing, ErrorCode};

use crate::api::{self, ApiError};
use crate::idb;
use crate::photo::Encoded;
use crate::state::{self, Ui};

/// Reads which attachments this phone holds and which the server has (at start).
pub async fn load(db: &::idb::Database) {
    let held = idb::keys(db, idb::BLOBS).await.unwrap_or_default();
    let sent = idb::keys(db, idb::SENT).await.unwrap_or_default();
    state::with(|d| {
        d.blobs_held = held.into_iter().collect();
        d.blobs_sent = sent.into_iter().collect();
    });
}

/// Keeps `pictures` on the phone (one transaction): they are on disk when this returns.
pub async fn keep(pictures: &[&Encoded]) -> Result<(), String> {
    let db = state::with(|d| d.db.clone()).ok_or("本机存储不可用 / Storage is unavailable")?;
    let puts: Vec<(&str, String, Vec<u8>)> =
        pictures.iter().map(|p| (idb::BLOBS, p.sha256.clone(), p.bytes.clone())).collect();
    idb::put_many(&db, &puts).await?;
    state::with(|d| d.blobs_held.extend(pictures.iter().map(|p| p.sha256.clone())));
    Ok(())
}

/// The bytes of `sha256`, if this phone holds them.
pub async fn read(sha256: &str) -> Option<Vec<u8>> {
    let db = state::with(|d| d.db.clone())?;
    idb::get(&db, idb::BLOBS, sha256).await.ok().flatten()
}

/// The attachments the documents reference that this phone holds and the server may
/// not: hash → the household that references it.
pub fn unsent(d: &state::Data) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (id, doc) in &d.replica.docs {
        let Ok(h) = doc.household() else { continue };
        // A photo removed before it was sent is not sent (the server would refuse it).
        for a in h.visits.values().flat_map(|v| v.attachments.values()).filter(|a| !a.removed) {
            for hash in [&a.sha256, &a.thumb] {
                if !hash.is_empty() && d.blobs_held.contains(hash) && !d.blobs_sent.contains(hash) {
                    out.entry(hash.clone()).or_insert_with(|| id.clone());
                }
            }
        }
    }
    out
}

/// How many photos and signatures (not thumbnails) wait to be sent.
pub fn unsent_photos(d: &state::Data) -> usize {
    let mut count = 0;
    for doc in d.replica.docs.values() {
        let Ok(h) = doc.household() else { continue };
        for a in h.visits.values().flat_map(|v| v.attachments.values()).filter(|a| !a.removed) {
            count += usize::from(d.blobs_held.contains(&a.sha256) && !d.blobs_sent.contains(&a.sha256));
        }
    }
    count
}

/// The full-size photos the phone may let go of (`shared::evidence::spare`): the
/// server holds them whole, and no visit of this month or the last references them;
/// the full photo is then fetched from the server when asked for.
pub fn spare(d: &state::Data, current: shared::Period) -> Vec<String> {
    let households: Vec<shared::Household> = d.replica.docs.values().filter_map(|doc| doc.household().ok()).collect();
    shared::evidence::spare(&households, current, |hash| d.blobs_sent.contains(hash) && d.blobs_held.contains(hash))
}

/// Drops [`spare`] photos from the phone's store (after an upload round).
pub async fn tidy(current: shared::Period) -> Result<usize, String> {
    let (db, spare) = state::with(|d| (d.db.clone(), spare(d, current)));
    let db = db.ok_or("本机存储不可用 / Storage is unavailable")?;
    if spare.is_empty() {
        return Ok(0);
    }
    let deletes: Vec<(&str, String)> = spare.iter().map(|h| (idb::BLOBS, h.clone())).collect();
    idb::write(&db, &[], &deletes).await?;
    state::with(|d| spare.iter().for_each(|h| _ = d.blobs_held.remove(h)));
    Ok(spare.len())
}

async fn mark_sent(hashes: &[String]) -> Result<(), String> {
    let db = state::with(|d| d.db.clone()).ok_or("本机存储不可用 / Storage is unavailable")?;
    let puts: Vec<(&str, String, Vec<u8>)> = hashes.iter().map(|h| (idb::SENT, h.clone(), Vec::new())).collect();
    idb::put_many(&db, &puts).await?;
    state::with(|d| d.blobs_sent.extend(hashes.iter().cloned()));
    Ok(())
}

/// Sends what the server lacks, after a sync's documents. `Err` when it could not
/// even ask (offline); a blob that fails is named in the answer and left for the next
/// sync.
pub async fn upload(ui: Ui, token: &str) -> Result<Vec<String>, ApiError> {
    let wanted = state::with(|d| unsent(d));
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut failed = Vec::new();
    let hashes: Vec<String> = wanted.keys().cloned().collect();
    for chunk in hashes.chunks(shared::api::blob::MAX_ASKED) {
        let asked = BlobsAsked { hashes: chunk.to_vec() };
        let missing: BlobsMissing = api::post_json_as(token, "/api/blobs/missing", &asked).await?;
        let lacking: BTreeSet<&String> = missing.missing.iter().map(|m| &m.sha256).collect();
        let held: Vec<String> = chunk.iter().filter(|h| !lacking.contains(h)).cloned().collect();
        if !held.is_empty() {
            let _ = mark_sent(&held).await;
        }
        for m in missing.missing {
            let household = wanted.get(&m.sha256).cloned().unwrap_or_default();
            match send_one(token, &m.sha256, &household, m.have).await {
                Ok(()) => {
                    let _ = mark_sent(std::slice::from_ref(&m.sha256)).await;
                }
                Err(ApiError::Offline) => return Err(ApiError::Offline),
                Err(ApiError::Unauthorized) => return Err(ApiError::Unauthorized),
                Err(ApiError::Refused(why)) => failed.push(format!("{}…: {why}", &m.sha256[..8])),
            }
            ui.sync.update(|s| s.photos_unsent = state::with(|d| unsent_photos(d)));
        }
    }
    Ok(failed)
}

/// Sends one blob from byte `have` on, piece by piece; after a hash mismatch (the
/// server dropped it) once more from the start.
async fn send_one(token: &str, sha256: &str, household: &str, mut have: u64) -> Result<(), ApiError> {
    let bytes = read(sha256).await.ok_or_else(|| ApiError::Refused("本机找不到该照片 / Not on this phone".into()))?;
    let total = bytes.len() as u64;
    let mut restarts = 0;
    loop {
        let from = usize::try_from(have).unwrap_or(usize::MAX).min(bytes.len());
        let end = (from + PIECE_BYTES).min(bytes.len());
        let path = format!("/api/blobs/{sha256}?household={household}&offset={from}&total={total}");
        match api::put_bytes_as::<BlobHeld>(token, &path, &bytes[from..end]).await? {
            Ok(held) if held.complete => return Ok(()),
            Ok(held) if held.have > have => have = held.have,
            Ok(held) => {
                return Err(ApiError::Refused(format!(
                    "服务器停在第 {} 字节 / The server stays at byte {}",
                    held.have, held.have
                )));
            }
            // Dropped by the server (changed on the way): once more, from the start.
            Err(refusal) if refusal.kind() == Some(ErrorCode::HashMismatch) && restarts == 0 => {
                restarts += 1;
                have = 0;
            }
            // Somebody else's piece got there first: go on from where the server is.
            Err(refusal) if refusal.kind() == Some(ErrorCode::BlobGap) && restarts < 3 => {
                restarts += 1;
                let asked = BlobsAsked { hashes: vec![sha256.to_owned()] };
                let missing: BlobsMissing = api::post_json_as(token, "/api/blobs/missing", &asked).await?;
                match missing.missing.first() {
                    Some(m) => have = m.have,
                    None => return Ok(()),
                }
            }
            Err(refusal) => return Err(ApiError::Refused(format!("{} / {}", refusal.zh, refusal.en))),
        }
    }
}
