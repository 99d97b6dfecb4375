//! Household documents in SQLite and what is kept beside them: the `households` row
//! (projection columns), per-period `summaries`, each device's sync state and the
//! change log. A write recomputes nothing: the caller hands in the projection, which
//! `store::projection` computed from the document.

use std::collections::BTreeMap;

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params};
use shared::automerge::ChangeHash;
use shared::{Date, Monitoring, Period};

use super::Conn;
use super::reads::clause;
use crate::store::projection::{SummaryRow, decode_heads, encode_heads, joined_id_numbers};
use crate::store::{
    Access, DocWrite, Missing, Scope, Selection, StoreError, StoreResult, StoredDoc, Upload, parse_doc,
};

/// Whether `scope` may open household `id`.
pub fn access(conn: &Conn<'_>, scope: &Scope, id: &str) -> StoreResult<Access> {
    // Cached statements: a sync asks this once for each of its (hundreds of) households.
    let exists: bool =
        conn.prepare_cached("SELECT EXISTS(SELECT 1 FROM households WHERE id = ?1)")?.query_row([id], |r| r.get(0))?;
    if !exists {
        return Ok(Access::Unknown);
    }
    let allowed: bool = match scope {
        Scope::All => true,
        Scope::Nothing => false,
        Scope::Area(_) | Scope::Cadre(_) => {
            let (filter, mut values) = clause(&Selection { scope: scope.clone(), filter: Default::default() });
            let mut all = vec![Value::Text(id.to_owned())];
            all.append(&mut values);
            conn.prepare_cached(&format!("SELECT EXISTS(SELECT 1 FROM households h WHERE h.id = ? AND {filter})"))?
                .query_row(rusqlite::params_from_iter(all), |r| r.get(0))?
        }
    };
    Ok(if allowed { Access::Allowed } else { Access::OutOfScope })
}

/// Household `id`'s stored document, if it exists.
pub fn stored(conn: &Conn<'_>, id: &str) -> StoreResult<Option<StoredDoc>> {
    let found = conn
        .prepare_cached("SELECT doc, doc_changes, heads, rewritten_at IS NOT NULL FROM households WHERE id = ?1")?
        .query_row([id], |r| {
            let heads: Option<Vec<u8>> = r.get(2)?;
            let (bytes, changes, rewritten): (_, _, bool) = (r.get(0)?, r.get(1)?, r.get(3)?);
            let doc =
                StoredDoc { bytes, changes, heads: heads.and_then(|b| decode_heads(&b)), retired: Default::default() };
            Ok((doc, rewritten))
        })
        .optional()?;
    let Some((mut doc, rewritten)) = found else { return Ok(None) };
    if rewritten {
        let mut stmt = conn.prepare_cached("SELECT hashes FROM retired_docs WHERE household_id = ?1")?;
        for hashes in stmt.query_map([id], |r| r.get::<_, Vec<u8>>(0))? {
            doc.retired.extend(decode_heads(&hashes?).unwrap_or_default());
        }
    }
    Ok(Some(doc))
}

/// A device's sync state for household `id`.
pub fn sync_state(conn: &Conn<'_>, device: &str, id: &str) -> StoreResult<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT state FROM sync_states WHERE device_id = ?1 AND household_id = ?2")?
        .query_row(params![device, id], |r| r.get(0))
        .optional()?)
}

/// Persists a device's sync state for household `id`.
pub fn put_sync_state(conn: &Conn<'_>, device: &str, id: &str, state: &[u8]) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO sync_states (device_id, household_id, state) VALUES (?1, ?2, ?3)
         ON CONFLICT(device_id, household_id) DO UPDATE SET state = excluded.state",
    )?
    .execute(params![device, id, state])?;
    Ok(())
}

/// Keeps household `id`'s document `bytes` (its changes `hashes`) as retired by `by` at `at`, marks the
/// household rewritten, and forgets every device's sync state with it (they name
/// changes of the retired history).
pub fn retire(conn: &Conn<'_>, id: &str, bytes: &[u8], hashes: &[ChangeHash], by: &str, at: i64) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO retired_docs (household_id, retired_at, retired_by, doc, hashes)
         VALUES (?1, MAX(?2, COALESCE((SELECT MAX(retired_at) + 1 FROM retired_docs WHERE household_id = ?1), ?2)), ?3, ?4, ?5)",
    )?
    .execute(params![id, at, by, bytes, encode_heads(hashes)])?;
    conn.prepare_cached("DELETE FROM sync_states WHERE household_id = ?1")?.execute([id])?;
    conn.prepare_cached("UPDATE households SET rewritten_at = ?2 WHERE id = ?1")?.execute(params![id, at])?;
    Ok(())
}

/// Who uploaded each change of household `id`.
pub fn uploads(conn: &Conn<'_>, id: &str) -> StoreResult<BTreeMap<String, Upload>> {
    let mut stmt = conn
        .prepare_cached("SELECT hash, uploaded_by, device_id, received_at FROM change_log WHERE household_id = ?1")?;
    let rows = stmt.query_map([id], |r| {
        Ok((hex::encode(r.get::<_, Vec<u8>>(0)?), Upload { user: r.get(1)?, device: r.get(2)?, at: r.get(3)? }))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records who brought each of `hashes` into household `id`.
pub fn log_changes(
    conn: &Conn<'_>,
    id: &str,
    hashes: &[ChangeHash],
    user: &str,
    device: &str,
    at: i64,
) -> StoreResult<()> {
    let mut log = conn.prepare_cached(
        "INSERT OR IGNORE INTO change_log (hash, household_id, uploaded_by, device_id, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for hash in hashes {
        log.execute(params![hash.0.to_vec(), id, user, device, at])?;
    }
    Ok(())
}

/// Writes a household's document, its row and its summaries.
pub fn write(conn: &Conn<'_>, doc: &DocWrite<'_>, at: i64) -> StoreResult<()> {
    let household = doc.household;
    let f = &household.facts;
    let last = household.visits.iter().next_back();
    conn.prepare_cached(
        "INSERT INTO households (id, doc, doc_changes, heads, updated_at, county, township, site, grid,
                                 head_name, address, last_visit, last_mode, members, conflicts, problems,
                                 case_status, id_numbers)
         VALUES (?1, ?2, ?15, ?16, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?17, ?18)
         ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, doc_changes = excluded.doc_changes,
             heads = excluded.heads,
             updated_at = excluded.updated_at,
             county = excluded.county, township = excluded.township, site = excluded.site,
             grid = excluded.grid, head_name = excluded.head_name, address = excluded.address,
             last_visit = excluded.last_visit, last_mode = excluded.last_mode,
             members = excluded.members, conflicts = excluded.conflicts, problems = excluded.problems,
             case_status = excluded.case_status, id_numbers = excluded.id_numbers",
    )?
    .execute(params![
        doc.id,
        doc.bytes,
        at,
        f.county,
        f.township,
        f.site,
        f.grid,
        household.head_name(),
        f.address,
        last.map(|(p, _)| p.clone()),
        last.and_then(|(_, v)| v.mode).map(|m| shared::Coded::code(m)),
        household.members.values().filter(|m| m.is_present()).count() as i64,
        doc.projection.conflicts,
        doc.projection.problems,
        doc.doc_changes,
        encode_heads(doc.heads),
        household.case.status.map(shared::Coded::code),
        joined_id_numbers(household),
    ])?;
    write_summaries(conn, doc.id, &doc.projection.summaries)
}

/// Writes the summary rows that differ from the stored ones and deletes the stored
/// rows of other periods (a new visit changes one or two of up to 37: writing only
/// those is most of a merge's database time saved).
fn write_summaries(conn: &Conn<'_>, id: &str, rows: &[(Period, SummaryRow)]) -> StoreResult<()> {
    let mut stored: std::collections::HashMap<String, (Vec<u8>, Option<String>)> = conn
        .prepare_cached("SELECT period, summary, review FROM summaries WHERE household_id = ?1")?
        .query_map([id], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
        .collect::<Result<_, _>>()?;
    for (p, row) in rows {
        if stored.remove(&p.to_string()).is_none_or(|(blob, review)| blob != row.blob || review != row.review) {
            put_summary(conn, id, *p, row)?;
        }
    }
    let mut delete = conn.prepare_cached("DELETE FROM summaries WHERE household_id = ?1 AND period = ?2")?;
    for period in stored.keys() {
        delete.execute(params![id, period])?;
    }
    Ok(())
}

/// Writes one summary row (replacing any).
fn put_summary(conn: &Conn<'_>, id: &str, period: Period, row: &SummaryRow) -> StoreResult<()> {
    let s = &row.summary;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO summaries (household_id, period, visited_in_person, zero_employment,
             low_income_labour, guarantee_alert, new_risk, monitored, summary, review, must_visit, signed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
        row.blob,
        row.review,
        !s.must_visit.is_empty(),
        s.signed,
    ])?;
    Ok(())
}

/// Fills in summaries for `period` for the households of `selection` that have none: a
/// month began and nobody has synced them since. Loads only those documents, and only
/// the selection's: a read of a site does not visit every other household of the
/// county. Nothing for a period that has not begun. On a reader, finding any to fill
/// is [`StoreError::NeedsWriter`] (the store then fills them in steps,
/// [`fill_summaries`]). Returns how many were filled.
pub fn ensure_summaries(conn: &Conn<'_>, period: Period, today: Date, selection: &Selection) -> StoreResult<usize> {
    fill_summaries(conn, period, today, selection, None)
}

/// [`ensure_summaries`] for at most `at_most` households (all, for `None`).
pub fn fill_summaries(
    conn: &Conn<'_>,
    period: Period,
    today: Date,
    selection: &Selection,
    at_most: Option<usize>,
) -> StoreResult<usize> {
    if period > Period::of(today) {
        return Ok(0);
    }
    let (sql, params) = crate::store::sql::missing_summaries(selection, period, at_most);
    let missing: Vec<String> = conn
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(&params), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if missing.is_empty() {
        return Ok(0);
    }
    if !conn.writable {
        return Err(StoreError::NeedsWriter(Box::new(Missing {
            period,
            selections: vec![selection.clone()],
            grids: false,
        })));
    }
    let settings = super::settings::read(conn)?;
    for id in &missing {
        if let Some(d) = stored(conn, id)? {
            let h = parse_doc(id, &d.bytes)?
                .household()
                .map_err(|e| StoreError::Corrupt { household: id.clone(), detail: e.to_string() })?;
            put_summary(conn, id, period, &SummaryRow::of(&h, period, &settings)?)?;
        }
    }
    Ok(missing.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use shared::automerge::ActorId;
    use shared::automerge::sync::State;
    use shared::{HouseholdDoc, Stamp, wire};

    use super::*;
    use crate::auth::now;
    use crate::store::sqlite::Sqlite;
    use crate::store::{COMPACT_AFTER, Projection, Reader, Writer, merged_bytes};

    /// A phone's edit of `id` merged as `merge` does: the stored document plus the
    /// phone's new change, through `receive_untrusted` and an appending write.
    fn merge_one_edit(w: &mut Conn<'_>, id: &str, phone: &mut HouseholdDoc, n: usize) -> HouseholdDoc {
        phone.edit(&Stamp::new("c1", "干部", now()), |h| h.facts.address = format!("1栋{n:03}")).unwrap();
        let mut phone_state = State::new();
        let mut merged = w.load_doc(id).unwrap().unwrap();
        // Two phone messages: heads and have first, then the change the server lacks.
        let mut server_state = State::new();
        for _ in 0..3 {
            if let Some(m) = phone.sync_message(&mut phone_state) {
                let new = wire::receive_untrusted(&mut merged, &mut server_state, &m).unwrap();
                if let Some(new) = new {
                    let h = merged.check().unwrap();
                    let stored = w.stored_doc(id).unwrap().unwrap();
                    let (bytes, changes) = merged_bytes(id, &stored.bytes, stored.changes, &merged, &new);
                    let projection =
                        Projection::of(&merged, &h, Date::in_china(now()), &shared::Settings::default()).unwrap();
                    let heads = merged.heads();
                    let doc = DocWrite {
                        id,
                        bytes: &bytes,
                        doc_changes: changes,
                        heads: &heads,
                        household: &h,
                        projection: &projection,
                    };
                    w.write_doc(&doc, now()).unwrap();
                    assert_eq!(w.stored_doc(id).unwrap().unwrap().heads, Some(merged.heads()));
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
        let dir = tempfile::tempdir().unwrap();
        let db = Sqlite::open(&dir.path().join("t.sqlite3")).unwrap();
        db.write_blocking(|w| crate::demo::seed(w)).unwrap();
        let conn = db.lock();
        let w = &mut Conn { conn: &conn, writable: true };
        let id: String = w.query_row("SELECT MIN(id) FROM households", [], |r| r.get(0)).unwrap();
        let stored = |w: &Conn<'_>| -> (Vec<u8>, i64) {
            w.query_row("SELECT doc, doc_changes FROM households WHERE id = ?1", [&id], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
        };
        let (whole, zero) = stored(w);
        assert_eq!(zero, 0);
        let mut phone = HouseholdDoc::load(&whole, ActorId::random()).unwrap();
        let mut before = whole;
        for n in 1..=COMPACT_AFTER as usize + 2 {
            let merged = merge_one_edit(w, &id, &mut phone, n);
            let (bytes, count) = stored(w);
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
        let mut doc = w.load_doc(&id).unwrap().unwrap();
        doc.edit(&Stamp::new("admin", "管理员", now()), |h| h.facts.address = "2栋001".into()).unwrap();
        w.save_doc(&id, &doc, &doc.household().unwrap(), Date::in_china(now()), now()).unwrap();
        assert_eq!(stored(w).1, 0);
    }
}
