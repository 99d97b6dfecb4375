//! Household documents in SQLite and their projections: saving a document recomputes,
//! in the same transaction, the household's summary row and its per-period indicator
//! summaries with `shared`'s functions, so dashboards never load documents. A merge
//! appends its new changes to the stored bytes and saves whole every
//! [`COMPACT_AFTER`] chunks. What needs no SQL ([`merged_bytes`], [`Projection::of`])
//! is apart from what writes ([`write`]), so that the merge runs it on every core.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};
use shared::automerge::{ActorId, ChangeHash};
use shared::indicators::Summary;
use shared::wire::{self, NewChanges};
use shared::{Coded, Date, Household, HouseholdDoc, Monitoring, Period};

use crate::error::{AppError, AppResult};

/// How many periods back from the current one summaries are kept.
pub const SUMMARY_PERIODS: i32 = 36;

/// The actor the server writes its own edits with (roster import, demo data).
pub fn server_actor() -> ActorId {
    ActorId::random()
}

/// Loads a household's document, if it exists.
pub fn load_doc(conn: &Connection, id: &str) -> AppResult<Option<HouseholdDoc>> {
    read_doc(conn, id)?.map(|bytes| parse_doc(id, &bytes)).transpose()
}

/// A household's stored document bytes, if it exists.
pub fn read_doc(conn: &Connection, id: &str) -> AppResult<Option<Vec<u8>>> {
    Ok(conn.query_row("SELECT doc FROM households WHERE id = ?1", [id], |r| r.get(0)).optional()?)
}

/// Loads household `id`'s stored document bytes. Automerge can panic on corrupt bytes;
/// a damaged row must fail this request only.
pub fn parse_doc(id: &str, bytes: &[u8]) -> AppResult<HouseholdDoc> {
    std::panic::catch_unwind(|| HouseholdDoc::load(bytes, server_actor()).map_err(|e| e.to_string()))
        .map_err(|_| AppError::internal(format!("household {id}: stored document is corrupt")))?
        .map_err(AppError::internal)
}

/// Stores `doc` (already checked) for household `id`, saved whole, and recomputes its
/// projections. Call inside the transaction that acknowledges the change.
pub fn save(conn: &Connection, id: &str, doc: &HouseholdDoc, household: &Household, today: Date) -> AppResult<()> {
    write(conn, id, &doc.save(), 0, &doc.heads(), household, &Projection::of(doc, household, today)?)
}

/// A merged document's appended change chunks are compacted (the document is saved
/// whole) once there are this many. A merge loads the message's changes in the same
/// Automerge apply as the appended ones (`wire::load_and_receive`), so each appended
/// chunk costs it about 0.007 ms more, while saving whole and reading back costs about
/// 0.6 ms (BENCHMARKS.md).
pub const COMPACT_AFTER: i64 = 8;

/// The most a household's stored document may weigh. A real one is about 3.8 KB after
/// two years of monthly visits (BENCHMARKS.md); this leaves room for decades of long
/// notes, and stops a phone (broken or hostile) from growing one document without
/// bound through its history, which every later merge would have to load. A merge
/// that would store more is refused for that household, and nothing is written.
pub const MAX_DOC_BYTES: usize = 4 << 20;

/// A household's document as stored.
#[derive(Debug)]
pub struct StoredDoc {
    /// The bytes: saved whole, then any appended change chunks.
    pub bytes: Vec<u8>,
    /// How many change chunks merges appended since it was last saved whole.
    pub changes: i64,
    /// Its heads, when written since migration 6.
    pub heads: Option<Vec<ChangeHash>>,
}

/// Household `id`'s stored document, if it exists.
pub fn read_stored(conn: &Connection, id: &str) -> AppResult<Option<StoredDoc>> {
    Ok(conn
        .prepare_cached("SELECT doc, doc_changes, heads FROM households WHERE id = ?1")?
        .query_row([id], |r| {
            let heads: Option<Vec<u8>> = r.get(2)?;
            Ok(StoredDoc { bytes: r.get(0)?, changes: r.get(1)?, heads: heads.and_then(|b| decode_heads(&b)) })
        })
        .optional()?)
}

/// Heads as the `heads` column holds them: 32 bytes each.
fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

fn decode_heads(bytes: &[u8]) -> Option<Vec<ChangeHash>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    bytes.chunks(32).map(|c| ChangeHash::try_from(c).ok()).collect()
}

/// The bytes to store after a merge brought `new` to the document stored as `stored`
/// (with `stored_changes` appended chunks), now `doc`, and their appended-chunk count:
/// the stored bytes with the new changes appended, or `doc` saved whole and read back
/// at [`COMPACT_AFTER`] chunks, or when appending would pass [`MAX_DOC_BYTES`] (the
/// whole save is smaller). The caller refuses bytes over the limit. No SQL: the merge
/// runs it on every core.
pub fn merged_bytes(
    id: &str,
    stored: &[u8],
    stored_changes: i64,
    doc: &HouseholdDoc,
    new: &NewChanges,
) -> (Vec<u8>, i64) {
    let count = stored_changes + new.count as i64;
    if count >= COMPACT_AFTER || stored.len() + new.bytes.len() > MAX_DOC_BYTES {
        if let Some(whole) = wire::save_checked(doc) {
            return (whole, 0);
        }
        // Appending still loads (the changes were read back when they came in); this
        // document just stays uncompacted.
        tracing::error!(household = %id, "the merged document does not save whole and load again");
    }
    ([stored, &new.bytes[..]].concat(), count)
}

/// What is stored beside a document and computed from it alone: the counts of its
/// `households` row and its summary rows. No SQL: the merge computes it on every core.
#[derive(Debug)]
pub struct Projection {
    conflicts: i64,
    problems: i64,
    summaries: Vec<(Period, SummaryRow)>,
}

impl Projection {
    /// The projection of `doc`, which reads as `household`, on `today`.
    pub fn of(doc: &HouseholdDoc, household: &Household, today: Date) -> AppResult<Self> {
        let conflicts = doc.conflicts().map_err(AppError::internal)?.len();
        Self::counted(household, conflicts, shared::validate(household, today).len(), today)
    }

    /// [`Projection::of`] with the document's conflicts
    /// (`HouseholdDoc::check_counting_conflicts`) and problems (`shared::validate`)
    /// already counted.
    pub fn counted(household: &Household, conflicts: usize, problems: usize, today: Date) -> AppResult<Self> {
        let current = Period::of(today);
        let (first, last) = summary_span(household, current);
        let mut summaries = Vec::new();
        let mut p = first;
        while p <= last {
            summaries.push((p, SummaryRow::of(household, p)?));
            p = p.plus_months(1);
        }
        Ok(Self { conflicts: conflicts as i64, problems: problems as i64, summaries })
    }
}

/// Writes household `id`'s document bytes (with `doc_changes` appended chunks) and
/// `heads`, its row and its summaries. SQL only.
pub fn write(
    conn: &Connection,
    id: &str,
    bytes: &[u8],
    doc_changes: i64,
    heads: &[ChangeHash],
    household: &Household,
    projection: &Projection,
) -> AppResult<()> {
    let f = &household.facts;
    let last = household.visits.iter().next_back();
    conn.prepare_cached(
        "INSERT INTO households (id, doc, doc_changes, heads, updated_at, county, township, site, grid,
                                 head_name, address, last_visit, last_mode, members, conflicts, problems)
         VALUES (?1, ?2, ?15, ?16, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, doc_changes = excluded.doc_changes,
             heads = excluded.heads,
             updated_at = excluded.updated_at,
             county = excluded.county, township = excluded.township, site = excluded.site,
             grid = excluded.grid, head_name = excluded.head_name, address = excluded.address,
             last_visit = excluded.last_visit, last_mode = excluded.last_mode,
             members = excluded.members, conflicts = excluded.conflicts, problems = excluded.problems",
    )?
    .execute(params![
        id,
        bytes,
        crate::auth::now(),
        f.county,
        f.township,
        f.site,
        f.grid,
        household.head_name(),
        f.address,
        last.map(|(p, _)| p.clone()),
        last.and_then(|(_, v)| v.mode).map(|m| shared::Coded::code(m)),
        household.members.values().filter(|m| m.is_present()).count() as i64,
        projection.conflicts,
        projection.problems,
        doc_changes,
        encode_heads(heads),
    ])?;
    write_summaries(conn, id, &projection.summaries)
}

/// Records who brought each change of `doc` that is not in `before` into the server, so
/// history can say who uploaded what from which device.
pub fn log_changes(
    conn: &Connection,
    id: &str,
    doc: &HouseholdDoc,
    before: &[shared::automerge::ChangeHash],
    user: &str,
    device: &str,
    at: i64,
) -> AppResult<()> {
    let hashes: Vec<_> = doc.automerge().get_changes(before).iter().map(|c| c.hash()).collect();
    log_hashes(conn, id, &hashes, user, device, at)
}

/// [`log_changes`] with the new changes' hashes at hand.
pub fn log_hashes(
    conn: &Connection,
    id: &str,
    hashes: &[shared::automerge::ChangeHash],
    user: &str,
    device: &str,
    at: i64,
) -> AppResult<()> {
    let mut log = conn.prepare_cached(
        "INSERT OR IGNORE INTO change_log (hash, household_id, uploaded_by, device_id, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for hash in hashes {
        log.execute(params![hash.0.to_vec(), id, user, device, at])?;
    }
    Ok(())
}

/// The periods a household has summaries for: from its first visit (at most
/// [`SUMMARY_PERIODS`] back) to the current period or its last visit.
fn summary_span(h: &Household, current: Period) -> (Period, Period) {
    let visited: Vec<Period> = h.visits.keys().filter_map(|k| k.parse().ok()).collect();
    let oldest = current.plus_months(-SUMMARY_PERIODS + 1);
    let first = visited.first().copied().unwrap_or(current).max(oldest).min(current);
    // A visit keyed far in the future (a phone with a wrong clock) must not make rows
    // for every month until then: summaries stop a month after the current one.
    let last = visited.last().copied().unwrap_or(current).max(current).min(current.plus_months(1));
    (first, last)
}

/// Writes the summary rows that differ from the stored ones and deletes the stored
/// rows of other periods (a new visit changes one or two of up to 37: writing only
/// those is most of a merge's database time saved).
fn write_summaries(conn: &Connection, id: &str, rows: &[(Period, SummaryRow)]) -> AppResult<()> {
    let mut stored: std::collections::HashMap<String, (Vec<u8>, Option<String>)> = conn
        .prepare_cached("SELECT period, summary, review FROM summaries WHERE household_id = ?1")?
        .query_map([id], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
        .collect::<Result<_, _>>()?;
    for (p, row) in rows {
        if stored.remove(&p.to_string()).is_none_or(|(blob, review)| blob != row.blob || review != row.review) {
            row.put(conn, id, *p)?;
        }
    }
    let mut delete = conn.prepare_cached("DELETE FROM summaries WHERE household_id = ?1 AND period = ?2")?;
    for period in stored.keys() {
        delete.execute(params![id, period])?;
    }
    Ok(())
}

/// One household's summary row for one period: the summary, encoded, and the review
/// status of that period's visit.
#[derive(Debug)]
struct SummaryRow {
    summary: Summary,
    blob: Vec<u8>,
    review: Option<String>,
}

impl SummaryRow {
    fn of(h: &Household, period: Period) -> AppResult<Self> {
        let summary = Summary::of(h, period);
        let review = h.visits.get(&period.to_string()).and_then(|v| v.review_status()).map(|r| r.code().to_owned());
        let blob = postcard::to_allocvec(&summary).map_err(AppError::internal)?;
        Ok(Self { summary, blob, review })
    }

    /// Writes the row (replacing any).
    fn put(&self, conn: &Connection, id: &str, period: Period) -> AppResult<()> {
        let s = &self.summary;
        conn.prepare_cached(
            "INSERT OR REPLACE INTO summaries (household_id, period, visited_in_person, zero_employment,
                 low_income_labour, guarantee_alert, new_risk, monitored, summary, review)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            id,
            period.to_string(),
            s.visited_in_person,
            s.zero_employment,
            s.low_income_labour,
            s.guarantee_alert,
            s.new_risk,
            s.monitoring != Monitoring::None,
            self.blob,
            self.review
        ])?;
        Ok(())
    }
}

/// Fills in summaries for `period` for the households `h` that match `where_sql` (a
/// clause over `households h`, as `reads::Filter::clause` makes) and have none: a month
/// began and nobody has synced them since. Loads only those documents, and only the
/// caller's: a read of a site does not visit every other household of the county.
pub fn ensure_summaries_where(
    conn: &Connection,
    period: Period,
    today: Date,
    where_sql: &str,
    params: &[Value],
) -> AppResult<usize> {
    let key = period.to_string();
    let sql = format!(
        "SELECT h.id FROM households h
         WHERE NOT EXISTS (SELECT 1 FROM summaries s WHERE s.period = ? AND s.household_id = h.id) AND {where_sql}"
    );
    let mut all = vec![Value::Text(key)];
    all.extend(params.iter().cloned());
    let missing: Vec<String> = conn
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(&all), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if missing.is_empty() || period > Period::of(today) {
        return Ok(0);
    }
    for id in &missing {
        if let Some(doc) = load_doc(conn, id)? {
            let h = doc.household().map_err(AppError::internal)?;
            SummaryRow::of(&h, period)?.put(conn, id, period)?;
        }
    }
    Ok(missing.len())
}

/// Decodes a stored summary.
pub fn decode_summary(blob: &[u8]) -> AppResult<Summary> {
    postcard::from_bytes(blob).map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use shared::automerge::ActorId;
    use shared::automerge::sync::State;
    use shared::{Stamp, wire};

    use super::*;
    use crate::auth::now;

    /// A phone's edit of `id` merged as `sync::sync_one` does: the stored document plus
    /// the phone's new change, through `receive_untrusted` and an appending save.
    fn merge_one_edit(conn: &Connection, id: &str, phone: &mut HouseholdDoc, n: usize) -> HouseholdDoc {
        phone.edit(&Stamp::new("c1", "干部", now()), |h| h.facts.address = format!("1栋{n:03}")).unwrap();
        let mut phone_state = State::new();
        let mut merged = load_doc(conn, id).unwrap().unwrap();
        // Two phone messages: heads and have first, then the change the server lacks.
        let mut server_state = State::new();
        for _ in 0..3 {
            if let Some(m) = phone.sync_message(&mut phone_state) {
                let new = wire::receive_untrusted(&mut merged, &mut server_state, &m).unwrap();
                if let Some(new) = new {
                    let h = merged.check().unwrap();
                    let stored = read_stored(conn, id).unwrap().unwrap();
                    let (bytes, changes) = merged_bytes(id, &stored.bytes, stored.changes, &merged, &new);
                    let projection = Projection::of(&merged, &h, Date::in_china(now())).unwrap();
                    write(conn, id, &bytes, changes, &merged.heads(), &h, &projection).unwrap();
                    assert_eq!(read_stored(conn, id).unwrap().unwrap().heads, Some(merged.heads()));
                }
            }
            if let Some(reply) = merged.sync_message(&mut server_state) {
                phone.receive_sync_message(&mut phone_state, &reply).unwrap();
            }
        }
        merged
    }

    #[test]
    fn merges_append_their_changes_and_every_eighth_saves_whole() {
        let db = crate::db::Db::open_in_memory().unwrap();
        let mut conn = db.lock();
        crate::demo::seed(&mut conn).unwrap();
        let id: String = conn.query_row("SELECT MIN(id) FROM households", [], |r| r.get(0)).unwrap();
        let stored = |conn: &Connection| -> (Vec<u8>, i64) {
            conn.query_row("SELECT doc, doc_changes FROM households WHERE id = ?1", [&id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap()
        };
        let (whole, zero) = stored(&conn);
        assert_eq!(zero, 0);
        let mut phone = HouseholdDoc::load(&whole, ActorId::random()).unwrap();
        let mut before = whole;
        for n in 1..=COMPACT_AFTER as usize + 2 {
            let merged = merge_one_edit(&conn, &id, &mut phone, n);
            let (bytes, count) = stored(&conn);
            // What is stored loads as the merged document, appended or whole.
            let loaded = HouseholdDoc::load(&bytes, ActorId::random()).unwrap();
            assert_eq!(loaded.heads(), merged.heads(), "merge {n}");
            assert_eq!(loaded.household().unwrap(), merged.household().unwrap());
            assert_eq!(loaded.household().unwrap().facts.address, format!("1栋{n:03}"));
            let expected = if n < COMPACT_AFTER as usize { n as i64 } else { (n - COMPACT_AFTER as usize) as i64 };
            assert_eq!(count, expected, "merge {n}: appended chunks");
            if count == 0 {
                assert_eq!(bytes, merged.save(), "merge {n}: compacted to the whole save");
            } else {
                assert!(bytes.len() > before.len() && bytes.starts_with(&before), "merge {n}: appended");
            }
            before = bytes;
        }
        // A whole save (an admin's edit) resets the count.
        let mut doc = load_doc(&conn, &id).unwrap().unwrap();
        doc.edit(&Stamp::new("admin", "管理员", now()), |h| h.facts.address = "2栋001".into()).unwrap();
        save(&conn, &id, &doc, &doc.household().unwrap(), Date::in_china(now())).unwrap();
        assert_eq!(stored(&conn).1, 0);
    }
}
