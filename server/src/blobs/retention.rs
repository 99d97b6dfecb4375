//! 附件保留期限: an admin's retention command (`server prune-blobs --older-than YEARS`).
//! A photo or signature is deleted when every visit that references it is older than
//! the retention period; the documents keep their references (the pages then show the
//! picture as gone). Uploads never finished within a week are dropped too. What was
//! deleted is written to the audit log. No HTTP here.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

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
    /// Blobs kept (referenced by a visit within the period).
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
            "unreadable_documents",
            format!("{} 户的记录无法读取（如 {id}），为免误删，未删除任何照片", unread.len()),
            format!("{} households' documents do not read (e.g. {id}); no photo was deleted", unread.len()),
        ));
    }
    let mut pruned = Pruned::default();
    let cutoff = cutoff.to_string();
    for (hash, period) in &newest {
        if !shared::evidence::is_sha256(hash) {
            continue;
        }
        let path = blobs.path(hash);
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        if *period >= cutoff {
            pruned.kept += 1;
            continue;
        }
        pruned.deleted += 1;
        pruned.bytes += meta.len();
        if !dry_run {
            std::fs::remove_file(&path).map_err(|e| Denied::Internal(format!("{}: {e}", path.display())))?;
        }
    }
    let week = Duration::from_secs(PARTIAL_DAYS * 86_400);
    if let Ok(dir) = std::fs::read_dir(blobs.dir().join("partial")) {
        for file in dir.flatten() {
            let old = file
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| SystemTime::now().duration_since(t).is_ok_and(|age| age > week));
            if old {
                pruned.partial += 1;
                if !dry_run {
                    let _ = std::fs::remove_file(file.path());
                }
            }
        }
    }
    if !dry_run {
        let detail = format!(
            "before {cutoff}: {} deleted ({} bytes), {} kept, {} unfinished uploads dropped",
            pruned.deleted, pruned.bytes, pruned.kept, pruned.partial
        );
        let by = by.to_owned();
        store.write(move |w| -> StoreResult<()> { w.audit(crate::auth::now(), &by, "prune_blobs", &detail) }).await?;
    }
    Ok(pruned)
}
