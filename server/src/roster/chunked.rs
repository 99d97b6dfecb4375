//! A confirmed roster import written a chunk of households per transaction, so that a
//! county's whole sheet never holds the database's writer for long: the plan is read
//! on a reader (never the writer), then [`IMPORT_CHUNK`] households are written per
//! write transaction, and syncs, reviews and logins take their turn in between. Each
//! household is written only if its rows still do what the preview showed (a visit
//! synced meanwhile does not matter; a fact or member changed meanwhile does): the
//! first that no longer does stops the import there. What was written stays (a
//! re-import is idempotent), and the admin previews the rest again. The audit log says
//! so in the same transactions: a line when the first chunk is written, and one when
//! the import ends, whole or stopped.

use std::sync::Arc;

use shared::{Date, Stamp};

use super::{ImportReport, Planned, Refused, Sheet, audit_detail, make_plan, write_household};
use crate::auth::now;
use crate::denied::{Denied, DeniedResult};
use crate::store::{self, Store};

/// Households written per transaction.
pub const IMPORT_CHUNK: usize = 100;

/// Writes `households` as `stamp`'s author, [`IMPORT_CHUNK`] per transaction, up to the
/// first one whose rows no longer do what was planned: how many were written. `detail`
/// describes the whole import for the audit log.
async fn write_in_chunks(db: &Store, households: Vec<Planned>, stamp: Stamp, detail: String) -> DeniedResult<usize> {
    let (stamp, detail) = (Arc::new(stamp), Arc::new(detail));
    let total = households.len();
    let mut imported = 0;
    for (index, part) in households.chunks(IMPORT_CHUNK).enumerate() {
        let chunk: Arc<[Planned]> = part.into();
        let (by, detail) = (stamp.clone(), detail.clone());
        let (first, last) = (index == 0, imported + part.len() == total);
        let written = db
            .write(move |w| {
                let ids: Vec<&str> = chunk.iter().map(|p| p.id.as_str()).collect();
                w.lock_households(&store::Scope::All, &ids)?;
                let at = now();
                let today = Date::in_china(at);
                let user = by.author.user.as_str();
                if first && !last {
                    w.audit(at, user, "import_roster_started", &detail)?;
                }
                for (n, planned) in chunk.iter().enumerate() {
                    if !write_household(w, planned, &by, today, at)? {
                        let done = imported + n;
                        let why = format!(
                            "{done} of {total} households imported; household {} changed since the preview",
                            planned.id
                        );
                        w.audit(at, user, "import_roster_stopped", &why)?;
                        return Ok(n);
                    }
                }
                if last {
                    w.audit(at, user, "import_roster", &detail)?;
                }
                Ok::<_, Denied>(chunk.len())
            })
            .await?;
        imported += written;
        if written < part.len() {
            break;
        }
    }
    Ok(imported)
}

/// Imports `sheet` as `stamp`'s author if it still plans as the preview whose digest
/// is `confirm`, [`IMPORT_CHUNK`] households per transaction. Row errors refuse the
/// whole sheet before anything is written.
pub async fn import_in_chunks(
    db: &Store,
    sheet: Arc<Sheet>,
    confirm: &str,
    stamp: Stamp,
) -> DeniedResult<Result<ImportReport, Refused>> {
    let plan = db.read(move |r| Ok(make_plan(r, &sheet))).await??;
    let plan = match plan {
        Ok(p) => p,
        Err(rows) => return Ok(Err(Refused::Rows(rows))),
    };
    if plan.report.confirm != confirm {
        return Ok(Err(Refused::Stale));
    }
    let total = plan.households.len();
    let mut report = plan.report;
    let imported = write_in_chunks(db, plan.households, stamp, audit_detail(&report)).await?;
    if imported < total {
        return Ok(Err(Refused::Interrupted { imported, total }));
    }
    report.imported = true;
    Ok(Ok(report))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A sheet of `n` households, one member each, named `{name}{i}`.
    fn sheet(n: usize, name: &str) -> Arc<Sheet> {
        let mut csv = "户编码,县,乡镇,安置点,网格,住址,成员编号,姓名,与户主关系\n".to_owned();
        for i in 0..n {
            csv.push_str(&format!("K{i:04},云岭县,栋川镇,阳光社区,1栋,{i}号,a,{name}{i},户主\n"));
        }
        Arc::new(Sheet::from_csv(&csv))
    }

    /// Household `id`'s head's name and its address.
    async fn name(db: &Store, id: &'static str) -> (String, String) {
        let doc = db.read(move |r| r.load_doc(id)).await.unwrap().unwrap();
        let h = doc.household().unwrap();
        (h.members["a"].name.clone(), h.facts.address.clone())
    }

    /// A household whose facts change between the preview and its chunk (a sync came
    /// in) stops the import there: the chunks before it are written, it keeps the
    /// sync's value, and the rest is left for the next preview. A visit synced into
    /// another household meanwhile changes nothing of what the import does.
    #[tokio::test]
    async fn a_household_changed_after_the_preview_stops_the_import_at_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = Store::open_sqlite(&dir.path().join("t.sqlite3")).unwrap();
        let stamp = Stamp::new("admin", "管理员", 1_790_000_000);
        let first = sheet(250, "甲");
        let report = import_in_chunks(&db, first.clone(), &plan_digest(&db, &first).await, stamp.clone()).await;
        assert_eq!(report.unwrap().unwrap().households, 250);
        // The second sheet renames everyone; the plan is read, then K0150 changes.
        let second = sheet(250, "乙");
        let text = second.clone();
        let plan = db.read(move |r| Ok(make_plan(r, &text))).await.unwrap().unwrap().unwrap();
        let sync = |id: &'static str, edit: fn(&mut shared::Household)| {
            db.write(move |w| {
                let mut doc = w.load_doc(id)?.unwrap();
                doc.edit(&Stamp::new("c1", "干部", 1_790_000_100), edit).unwrap();
                let h = doc.household().unwrap();
                w.save_doc(id, &doc, &h, Date::in_china(1_790_000_100), 1_790_000_100)?;
                Ok::<_, Denied>(())
            })
        };
        sync("K0120", |h| h.visits.entry("2026-11".into()).or_default().note = "走访".into()).await.unwrap();
        sync("K0150", |h| h.facts.address = "同步进来的地址".into()).await.unwrap();
        let imported = write_in_chunks(&db, plan.households, stamp.clone(), "test".into()).await.unwrap();
        assert_eq!(imported, 150, "chunks 1 and the first half of 2 (K0120's visit does not matter)");
        assert_eq!(name(&db, "K0120").await.0, "乙120");
        let audit = rusqlite::Connection::open(dir.path().join("t.sqlite3")).unwrap();
        let actions: Vec<String> = audit
            .prepare("SELECT action FROM audit_log ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            actions,
            ["import_roster_started", "import_roster", "import_roster_started", "import_roster_stopped"]
        );
        assert_eq!(name(&db, "K0149").await.0, "乙149");
        assert_eq!(
            name(&db, "K0150").await,
            ("甲150".to_owned(), "同步进来的地址".to_owned()),
            "the sync's edit stays"
        );
        assert_eq!(name(&db, "K0249").await.0, "甲249");
        // Previewed again, the rest imports; what was written is no change any more,
        // and the preview shows the sheet's address replacing the synced one.
        let again =
            import_in_chunks(&db, second.clone(), &plan_digest(&db, &second).await, stamp).await.unwrap().unwrap();
        assert_eq!(again.changes.len(), 101, "100 names and K0150's address");
        assert!(again.changes.iter().all(|c| c.household.as_str() >= "K0150"));
        assert!(again.changes.iter().any(|c| c.field_en == "Address" && c.before.as_deref() == Some("同步进来的地址")));
        assert_eq!(name(&db, "K0150").await, ("乙150".to_owned(), "150号".to_owned()));
    }

    async fn plan_digest(db: &Store, sheet: &Arc<Sheet>) -> String {
        let text = sheet.clone();
        db.read(move |r| Ok(make_plan(r, &text))).await.unwrap().unwrap().unwrap().report.confirm
    }
}
