//! 附件保留期限: an admin's retention command (`server prune-blobs --older-than YEARS`).
//! A photo or signature is deleted when every visit that references it is older than
//! the retention period; the documents keep their references (the pages then show the
//! picture as gone). Uploads never finished within a week are dropped too. What was
//! deleted is written to the audit log. No HTTP here.

use shared::api::ErrorCode;
use std::collections::BTreeMap;
use std::time::Duration;

use shared::Period;

use super::Blobs;
use crate::denied::{Denied, Kind};
use crate::store::{Reader, Selection, Store, StoreResult};

/// An upload not finished in this long is given up.
pub const PARTIAL_DAYS: u64 = 7;

/// What a prune did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Blobs deleted.
    pub deleted: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Blobs a visit within the period references (kept, whether the store holds them
    /// yet or not).
    pub kept: u64,
    /// Unfinished uploads older than [`PARTIAL_DAYS`] dropped.
    pub partial: u64,
}

/// What every household references: the latest visit period referencing each hash,
/// and the households whose document does not read (whose references are unknown).
type References = (BTreeMap<String, String>, Vec<String>);

fn references(r: &mut dyn Reader) -> StoreResult<References> {
    let everything = Selection { scope: crate::store::Scope::All, filter: Default::default() };
    let (mut newest, mut unread): References = Default::default();
    for id in r.household_ids(&everything)? {
        let h = match r.load_doc(&id) {
            Ok(Some(doc)) => match doc.household() {
                Ok(h) => h,
                Err(_) => {
                    unread.push(id);
                    continue;
                }
            },
            Ok(None) => continue,
            Err(_) => {
                unread.push(id);
                continue;
            }
        };
        for (period, v) in &h.visits {
            for a in v.attachments.values() {
                for hash in [&a.sha256, &a.thumb].into_iter().filter(|h| !h.is_empty()) {
                    let slot = newest.entry(hash.clone()).or_default();
                    if *period > *slot {
                        *slot = period.clone();
                    }
                }
            }
        }
    }
    Ok((newest, unread))
}

/// Deletes the blobs referenced only by visits before `cutoff` (and unfinished uploads
/// older than a week); with `dry_run` only counts them. Audited as `prune_blobs` by
/// `by` unless a dry run.
pub async fn prune(store: &Store, blobs: &Blobs, cutoff: Period, dry_run: bool, by: &str) -> Result<Pruned, Denied> {
    let (newest, unread) = store.read_long(references).await?;
    if let Some(id) = unread.first() {
        // Its references are unknown: nothing is deleted on a guess.
        return Err(Denied::new(
            Kind::Conflict,
            ErrorCode::UnreadableDocuments,
            format!("{} 户的记录无法读取（如 {id}），为免误删，未删除任何照片", unread.len()),
            format!("{} households' documents do not read (e.g. {id}); no photo was deleted", unread.len()),
        ));
    }
    let mut pruned = Pruned::default();
    let cutoff = cutoff.to_string();
    // What was deleted is audited even when the store fails part way.
    let swept = sweep(blobs, &newest, &cutoff, dry_run, &mut pruned).await;
    if !dry_run {
        let detail = format!(
            "before {cutoff}: {} deleted ({} bytes), {} kept, {} unfinished uploads dropped{}",
            pruned.deleted,
            pruned.bytes,
            pruned.kept,
            pruned.partial,
            if swept.is_err() { "; stopped by a store error" } else { "" }
        );
        let by = by.to_owned();
        store.write(move |w| -> StoreResult<()> { w.audit(crate::auth::now(), &by, "prune_blobs", &detail) }).await?;
    }
    swept.map_err(|e| Denied::Internal(format!("{}: {e}", blobs.describe())))?;
    Ok(pruned)
}

/// Deletes (or counts) into `pruned`: what only visits before `cutoff` reference, then
/// unfinished uploads older than [`PARTIAL_DAYS`].
async fn sweep(
    blobs: &Blobs,
    newest: &BTreeMap<String, String>,
    cutoff: &str,
    dry_run: bool,
    pruned: &mut Pruned,
) -> Result<(), super::BlobError> {
    for (hash, period) in newest {
        if !shared::evidence::is_sha256(hash) {
            continue;
        }
        if period.as_str() >= cutoff {
            // Kept whether held or not: no need to ask the store.
            pruned.kept += 1;
            continue;
        }
        let Some(size) = blobs.size(hash).await? else { continue };
        if !dry_run {
            blobs.delete(hash).await?;
        }
        pruned.deleted += 1;
        pruned.bytes += size;
    }
    pruned.partial = blobs.drop_stale(Duration::from_secs(PARTIAL_DAYS * 86_400), dry_run).await?;
    Ok(())
}
