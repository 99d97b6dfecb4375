//! Household documents in PostgreSQL and what is kept beside them: the `households`
//! row, per-period `summaries`, each device's sync state and the change log. In a
//! write transaction a document is read `FOR UPDATE`: a second process merging the
//! same household waits for this one's commit and then reads what it stored.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures_util::future::{try_join, try_join_all, try_join3};
use shared::api::User;
use shared::automerge::ChangeHash;
use shared::{Date, Monitoring, Period};
use tokio_postgres::types::ToSql;

use super::PgConn;
use crate::store::projection::{SummaryRow, decode_heads, encode_heads, joined_id_numbers};
use crate::store::sql::{clause, numbered};
use crate::store::{
    Access, DocWrite, MergeInput, MergedWrite, Scope, Selection, StoreError, StoreResult, StoredDoc, Upload, parse_doc,
};

/// Text parameters as the driver takes them.
pub fn refs(params: &[String]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

pub fn access(c: &PgConn<'_>, scope: &Scope, id: &str) -> StoreResult<Access> {
    if c.query_opt("SELECT 1 FROM households WHERE id = $1", &[&id])?.is_none() {
        return Ok(Access::Unknown);
    }
    let allowed = match scope {
        Scope::All => true,
        Scope::Nothing => false,
        Scope::Area(_) | Scope::Cadre(_) => {
            let (filter, values) = clause(&Selection { scope: scope.clone(), filter: Default::default() });
            let mut all = vec![id.to_owned()];
            all.extend(values);
            let sql = numbered(&format!("SELECT 1 FROM households h WHERE h.id = ? AND {filter}"));
            c.query_opt(&sql, &refs(&all))?.is_some()
        }
    };
    Ok(if allowed { Access::Allowed } else { Access::OutOfScope })
}

pub fn stored(c: &PgConn<'_>, id: &str) -> StoreResult<Option<StoredDoc>> {
    // In a write transaction the row stays locked until it commits.
    let sql = if c.writable {
        "SELECT doc, doc_changes, heads, rewritten_at IS NOT NULL FROM households WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT doc, doc_changes, heads, rewritten_at IS NOT NULL FROM households WHERE id = $1"
    };
    let Some(r) = c.query_opt(sql, &[&id])? else { return Ok(None) };
    let heads: Option<Vec<u8>> = r.get(2);
    let mut doc = StoredDoc {
        bytes: r.get(0),
        changes: r.get(1),
        heads: heads.and_then(|b| decode_heads(&b)),
        retired: HashSet::new(),
    };
    if r.get::<_, bool>(3) {
        doc.retired = retired(c, &[id])?.remove(id).unwrap_or_default();
    }
    Ok(Some(doc))
}

/// The retired change hashes of those of `ids` that were rewritten.
fn retired(c: &PgConn<'_>, ids: &[&str]) -> StoreResult<HashMap<String, HashSet<ChangeHash>>> {
    let mut out: HashMap<String, HashSet<ChangeHash>> = HashMap::new();
    for r in c.query("SELECT household_id, hashes FROM retired_docs WHERE household_id = ANY($1)", &[&ids])? {
        let hashes: Vec<u8> = r.get(1);
        out.entry(r.get(0)).or_default().extend(decode_heads(&hashes).unwrap_or_default());
    }
    Ok(out)
}

/// Locks, in one order: every id (an advisory lock, which also holds a household not
/// created yet), the rows of those in `scope` (`FOR UPDATE`, by id), then their grids'
/// `areas` rows (`FOR SHARE`, as the summaries' trigger will). Everyone who locks
/// households and grids takes households first, then grids, each in order, so
/// merges, imports and totals being kept do not deadlock one another.
pub fn lock(c: &PgConn<'_>, scope: &Scope, ids: &[&str]) -> StoreResult<()> {
    let mut sorted: Vec<&str> = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    c.query(
        "SELECT pg_advisory_xact_lock(hashtextextended(id, 0)) FROM (SELECT unnest($1::TEXT[]) AS id ORDER BY 1) ids",
        &[&sorted],
    )?;
    let (filter, values) = clause(&Selection { scope: scope.clone(), filter: Default::default() });
    let sql =
        numbered(&format!("SELECT h.id FROM households h WHERE h.id = ANY(?) AND {filter} ORDER BY h.id FOR UPDATE"));
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&sorted];
    params.extend(refs(&values));
    let locked: Vec<String> = c.query(&sql, &params)?.iter().map(|r| r.get(0)).collect();
    c.query(
        "SELECT 1 FROM areas a WHERE (a.county, a.township, a.site, a.grid) IN
             (SELECT county, township, site, grid FROM households WHERE id = ANY($1))
         ORDER BY a.county, a.township, a.site, a.grid FOR SHARE",
        &[&locked],
    )?;
    Ok(())
}

/// What a merge reads of `ids` (unique) in three statements sent together: the
/// documents, which of them `user` may touch, and `device`'s sync states.
pub fn merge_inputs(c: &PgConn<'_>, user: &User, device: &str, ids: &[&str]) -> StoreResult<Vec<MergeInput>> {
    let wanted: Vec<&str> = ids.to_vec();
    // In a merge, [`lock`] has locked the rows in scope already.
    let docs_sql = "SELECT id, doc, doc_changes, heads, rewritten_at IS NOT NULL FROM households WHERE id = ANY($1)";
    let scope = Scope::of(user);
    let (filter, values) = clause(&Selection { scope: scope.clone(), filter: Default::default() });
    let scope_sql = numbered(&format!("SELECT h.id FROM households h WHERE h.id = ANY(?) AND {filter}"));
    let mut scope_params: Vec<&(dyn ToSql + Sync)> = vec![&wanted];
    scope_params.extend(refs(&values));
    let states_sql = "SELECT household_id, state FROM sync_states WHERE device_id = $1 AND household_id = ANY($2)";
    let tx = c.tx;
    let (docs, allowed, states) = c.run(async {
        let (a, b, d) =
            try_join3(tx.prepare_cached(docs_sql), tx.prepare_cached(&scope_sql), tx.prepare_cached(states_sql))
                .await?;
        try_join3(tx.query(&a, &[&wanted]), tx.query(&b, &scope_params), tx.query(&d, &[&device, &wanted])).await
    })?;
    let mut rewritten: Vec<String> = Vec::new();
    let mut docs: HashMap<String, StoredDoc> = docs
        .iter()
        .map(|r| {
            let (id, bytes, changes, heads): (String, Vec<u8>, i64, Option<Vec<u8>>) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            if r.get::<_, bool>(4) {
                rewritten.push(id.clone());
            }
            (id, StoredDoc { bytes, changes, heads: heads.as_deref().and_then(decode_heads), retired: HashSet::new() })
        })
        .collect();
    if !rewritten.is_empty() {
        let rewritten: Vec<&str> = rewritten.iter().map(String::as_str).collect();
        for (id, hashes) in retired(c, &rewritten)? {
            if let Some(doc) = docs.get_mut(&id) {
                doc.retired = hashes;
            }
        }
    }
    let allowed: HashSet<String> = allowed.iter().map(|r| r.get(0)).collect();
    let mut states: HashMap<String, Vec<u8>> = states.iter().map(|r| (r.get(0), r.get(1))).collect();
    Ok(ids
        .iter()
        .map(|id| match docs.remove(*id) {
            None => MergeInput { access: Access::Unknown, doc: None, sync_state: None },
            Some(_) if !allowed.contains(*id) => MergeInput { access: Access::OutOfScope, doc: None, sync_state: None },
            Some(doc) => MergeInput { access: Access::Allowed, doc: Some(doc), sync_state: states.remove(*id) },
        })
        .collect())
}

pub fn sync_state(c: &PgConn<'_>, device: &str, id: &str) -> StoreResult<Option<Vec<u8>>> {
    Ok(c.query_opt("SELECT state FROM sync_states WHERE device_id = $1 AND household_id = $2", &[&device, &id])?
        .map(|r| r.get(0)))
}

pub fn put_sync_state(c: &PgConn<'_>, device: &str, id: &str, state: &[u8]) -> StoreResult<()> {
    c.execute(PUT_SYNC_STATES, &[&vec![device], &vec![id], &vec![state]])?;
    Ok(())
}

/// Keeps household `id`'s document `bytes` (its changes `hashes`) as retired by `by` at `at`, marks the
/// household rewritten, and forgets every device's sync state with it (they name
/// changes of the retired history).
pub fn retire(c: &PgConn<'_>, id: &str, bytes: &[u8], hashes: &[ChangeHash], by: &str, at: i64) -> StoreResult<()> {
    c.execute(
        "INSERT INTO retired_docs (household_id, retired_at, retired_by, doc, hashes)
         VALUES ($1, GREATEST($2, COALESCE((SELECT MAX(retired_at) + 1 FROM retired_docs WHERE household_id = $1), $2)), $3, $4, $5)",
        &[&id, &at, &by, &bytes, &encode_heads(hashes)],
    )?;
    c.execute("DELETE FROM sync_states WHERE household_id = $1", &[&id])?;
    c.execute("UPDATE households SET rewritten_at = $2 WHERE id = $1", &[&id, &at])?;
    Ok(())
}

pub fn uploads(c: &PgConn<'_>, id: &str) -> StoreResult<BTreeMap<String, Upload>> {
    let rows =
        c.query("SELECT hash, uploaded_by, device_id, received_at FROM change_log WHERE household_id = $1", &[&id])?;
    Ok(rows
        .iter()
        .map(|r| (hex::encode(r.get::<_, Vec<u8>>(0)), Upload { user: r.get(1), device: r.get(2), at: r.get(3) }))
        .collect())
}

pub fn log_changes(
    c: &PgConn<'_>,
    id: &str,
    hashes: &[ChangeHash],
    user: &str,
    device: &str,
    at: i64,
) -> StoreResult<()> {
    let keys: Vec<&[u8]> = hashes.iter().map(|h| &h.0[..]).collect();
    let n = keys.len();
    c.execute(LOG_CHANGES, &[&keys, &vec![id; n], &vec![user; n], &vec![device; n], &vec![at; n]])?;
    Ok(())
}

/// Merges' writes for households in two round trips, whatever their number: every
/// household's change log, row, sync state and the read of its stored summaries
/// together; then every summary that changed.
pub fn write_merged(c: &PgConn<'_>, merged: &[MergedWrite<'_>]) -> StoreResult<()> {
    let docs: Vec<(&DocWrite<'_>, i64)> =
        merged.iter().filter_map(|m| m.change.as_ref().map(|(_, doc)| (doc, m.at))).collect();
    // The change log's rows and the sync states as columns, one statement each.
    let (mut hashes, mut of, mut by, mut on, mut at) = (vec![], vec![], vec![], vec![], vec![]);
    for m in merged {
        for h in m.change.as_ref().map_or(&[][..], |(hashes, _)| *hashes) {
            hashes.push(&h.0[..]);
            of.push(m.id);
            by.push(m.login);
            on.push(m.device);
            at.push(m.at);
        }
    }
    let ids: Vec<&str> = merged.iter().map(|m| m.id).collect();
    let devices: Vec<&str> = merged.iter().map(|m| m.device).collect();
    let states: Vec<&[u8]> = merged.iter().map(|m| m.state).collect();
    let tx = c.tx;
    let also = async {
        let (log, put) = try_join(tx.prepare_cached(LOG_CHANGES), tx.prepare_cached(PUT_SYNC_STATES)).await?;
        try_join(tx.execute(&log, &[&hashes, &of, &by, &on, &at]), tx.execute(&put, &[&devices, &ids, &states]))
            .await?;
        Ok(())
    };
    write_many(c, &docs, also)
}

const LOG_CHANGES: &str = "INSERT INTO change_log (hash, household_id, uploaded_by, device_id, received_at)
     SELECT * FROM unnest($1::BYTEA[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[])
     ON CONFLICT (hash) DO NOTHING";

const PUT_SYNC_STATES: &str = "INSERT INTO sync_states (device_id, household_id, state)
     SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::BYTEA[])
     ON CONFLICT (device_id, household_id) DO UPDATE SET state = EXCLUDED.state";

pub fn write(c: &PgConn<'_>, doc: &DocWrite<'_>, at: i64) -> StoreResult<()> {
    write_many(c, &[(doc, at)], async { Ok(()) })
}

/// Stores documents with their projections (each with the time it was received), and
/// `also` (other statements of the same transaction) in the first round trip.
fn write_many(
    c: &PgConn<'_>,
    docs: &[(&DocWrite<'_>, i64)],
    also: impl std::future::Future<Output = Result<(), tokio_postgres::Error>>,
) -> StoreResult<()> {
    let rows: Vec<RowValues<'_>> = docs.iter().map(|(doc, at)| RowValues::of(doc, *at)).collect();
    let params: Vec<[&(dyn ToSql + Sync); 18]> = rows.iter().map(RowValues::params).collect();
    let ids: Vec<&str> = docs.iter().map(|(doc, _)| doc.id).collect();
    let tx = c.tx;
    // The rows and the read of their stored summaries go together (one round trip).
    let (_, stored, ()) = c.run(async {
        let (upsert, read) = try_join(tx.prepare_cached(UPSERT_HOUSEHOLD), tx.prepare_cached(READ_SUMMARIES)).await?;
        try_join3(try_join_all(params.iter().map(|p| tx.execute(&upsert, p))), tx.query(&read, &[&ids]), also).await
    })?;
    let mut by_household: HashMap<String, StoredSummaries> = HashMap::new();
    for r in stored {
        by_household.entry(r.get(0)).or_default().insert(r.get(1), (r.get(2), r.get(3)));
    }
    let each = docs
        .iter()
        .map(|(doc, _)| (doc.id, by_household.remove(doc.id).unwrap_or_default(), &doc.projection.summaries[..]))
        .collect();
    write_summaries(c, each)
}

/// A household row's values, owned where they are computed.
struct RowValues<'a> {
    doc: &'a DocWrite<'a>,
    at: i64,
    last_visit: Option<String>,
    last_mode: Option<&'static str>,
    members: i64,
    head: String,
    heads: Vec<u8>,
    area: [String; 5],
    case_status: Option<&'static str>,
    id_numbers: String,
}

impl<'a> RowValues<'a> {
    fn of(doc: &'a DocWrite<'a>, at: i64) -> Self {
        let household = doc.household;
        let f = &household.facts;
        let last = household.visits.iter().next_back();
        RowValues {
            doc,
            at,
            last_visit: last.map(|(p, _)| p.clone()),
            last_mode: last.and_then(|(_, v)| v.mode).map(|m| shared::Coded::code(m)),
            members: household.members.values().filter(|m| m.is_present()).count() as i64,
            head: text(household.head_name()),
            heads: encode_heads(doc.heads),
            area: [text(&f.county), text(&f.township), text(&f.site), text(&f.grid), text(&f.address)],
            case_status: household.case.status.map(shared::Coded::code),
            id_numbers: text(&joined_id_numbers(household)),
        }
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 18] {
        let [county, township, site, grid, address] = &self.area;
        [
            &self.doc.id,
            &self.doc.bytes,
            &self.doc.doc_changes,
            &self.heads,
            &self.at,
            county,
            township,
            site,
            grid,
            &self.head,
            address,
            &self.last_visit,
            &self.last_mode,
            &self.members,
            &self.doc.projection.conflicts,
            &self.doc.projection.problems,
            &self.case_status,
            &self.id_numbers,
        ]
    }
}

/// Text as a PostgreSQL `TEXT` column takes it: without NUL characters, which it
/// refuses (a document may hold them; its bytes are stored whole, as `BYTEA`).
pub fn text(s: &str) -> String {
    s.replace('\0', "")
}

const READ_SUMMARIES: &str = "SELECT household_id, period, summary, review FROM summaries WHERE household_id = ANY($1)";

const UPSERT_HOUSEHOLD: &str =
    "INSERT INTO households (id, doc, doc_changes, heads, updated_at, county, township, site, grid,
                                 head_name, address, last_visit, last_mode, members, conflicts, problems,
                                 case_status, id_numbers)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, doc_changes = EXCLUDED.doc_changes,
             heads = EXCLUDED.heads, updated_at = EXCLUDED.updated_at,
             county = EXCLUDED.county, township = EXCLUDED.township, site = EXCLUDED.site,
             grid = EXCLUDED.grid, head_name = EXCLUDED.head_name, address = EXCLUDED.address,
             last_visit = EXCLUDED.last_visit, last_mode = EXCLUDED.last_mode,
             members = EXCLUDED.members, conflicts = EXCLUDED.conflicts, problems = EXCLUDED.problems,
             case_status = EXCLUDED.case_status, id_numbers = EXCLUDED.id_numbers";

/// A household's stored summary rows by period: the summary and the review status.
type StoredSummaries = HashMap<String, (Vec<u8>, Option<String>)>;

/// One household's stored summary rows and the rows its document gives now.
type SummaryChange<'a> = (&'a str, StoredSummaries, &'a [(Period, SummaryRow)]);

/// Writes, for each household, the summary rows that differ from its stored ones and
/// deletes its stored rows of other periods; all sent together: one round trip.
fn write_summaries(c: &PgConn<'_>, each: Vec<SummaryChange<'_>>) -> StoreResult<()> {
    let mut changed: Vec<(&str, String, &SummaryRow)> = Vec::new();
    let mut gone: Vec<(&str, String)> = Vec::new();
    for (id, mut stored, rows) in each {
        for (p, row) in rows {
            let p = p.to_string();
            if stored.remove(&p).is_none_or(|(blob, review)| blob != row.blob || review != row.review) {
                changed.push((id, p, row));
            }
        }
        gone.extend(stored.into_keys().map(|p| (id, p)));
    }
    if changed.is_empty() && gone.is_empty() {
        return Ok(());
    }
    let values: Vec<SummaryValues<'_>> = changed.iter().map(|(id, p, row)| SummaryValues::of(id, p, row)).collect();
    let upserts: Vec<[&(dyn ToSql + Sync); 12]> = values.iter().map(SummaryValues::params).collect();
    let deletes: Vec<[&(dyn ToSql + Sync); 2]> =
        gone.iter().map(|(id, p)| [id as &(dyn ToSql + Sync), p as &(dyn ToSql + Sync)]).collect();
    let tx = c.tx;
    c.run(async {
        let (upsert, delete) = try_join(tx.prepare_cached(UPSERT_SUMMARY), tx.prepare_cached(DELETE_SUMMARY)).await?;
        try_join(
            try_join_all(upserts.iter().map(|p| tx.execute(&upsert, p))),
            try_join_all(deletes.iter().map(|p| tx.execute(&delete, p))),
        )
        .await
    })?;
    Ok(())
}

const DELETE_SUMMARY: &str = "DELETE FROM summaries WHERE household_id = $1 AND period = $2";

const UPSERT_SUMMARY: &str = "INSERT INTO summaries (household_id, period, visited_in_person, zero_employment,
         low_income_labour, guarantee_alert, new_risk, monitored, summary, review, must_visit, signed)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (period, household_id) DO UPDATE SET visited_in_person = EXCLUDED.visited_in_person,
         zero_employment = EXCLUDED.zero_employment, low_income_labour = EXCLUDED.low_income_labour,
         guarantee_alert = EXCLUDED.guarantee_alert, new_risk = EXCLUDED.new_risk,
         monitored = EXCLUDED.monitored, summary = EXCLUDED.summary, review = EXCLUDED.review,
         must_visit = EXCLUDED.must_visit, signed = EXCLUDED.signed";

/// A summary row's values, owned where they are computed.
struct SummaryValues<'a> {
    id: &'a str,
    period: &'a str,
    row: &'a SummaryRow,
    monitored: bool,
    must_visit: bool,
}

impl<'a> SummaryValues<'a> {
    fn of(id: &'a str, period: &'a str, row: &'a SummaryRow) -> Self {
        let s = &row.summary;
        Self { id, period, row, monitored: s.monitoring != Monitoring::None, must_visit: !s.must_visit.is_empty() }
    }
    fn params(&self) -> [&(dyn ToSql + Sync); 12] {
        let s = &self.row.summary;
        [
            &self.id,
            &self.period,
            &s.visited_in_person,
            &s.zero_employment,
            &s.low_income_labour,
            &s.guarantee_alert,
            &s.new_risk,
            &self.monitored,
            &self.row.blob,
            &self.row.review,
            &self.must_visit,
            &s.signed,
        ]
    }
}

/// Writes one summary row only if there is none: a read filling in a missing one
/// must not replace a merge's.
fn put_missing_summary(c: &PgConn<'_>, id: &str, period: Period, row: &SummaryRow) -> StoreResult<()> {
    let period = period.to_string();
    let values = SummaryValues::of(id, &period, row);
    c.execute(
        "INSERT INTO summaries (household_id, period, visited_in_person, zero_employment, low_income_labour,
             guarantee_alert, new_risk, monitored, summary, review, must_visit, signed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (period, household_id) DO NOTHING",
        &values.params(),
    )?;
    Ok(())
}

/// Fills in summaries for `period` for the households of `selection` that have none
/// (see the SQLite engine's `ensure_summaries`). Each document is read `FOR SHARE`,
/// so a merge under way finishes first; a summary a merge wrote meanwhile is kept.
pub fn ensure_summaries(c: &PgConn<'_>, period: Period, today: Date, selection: &Selection) -> StoreResult<usize> {
    if period > Period::of(today) {
        return Ok(0);
    }
    let (where_sql, params) = clause(selection);
    let sql = numbered(&format!(
        "SELECT h.id FROM households h
         WHERE NOT EXISTS (SELECT 1 FROM summaries s WHERE s.period = ? AND s.household_id = h.id) AND {where_sql}"
    ));
    let mut all = vec![period.to_string()];
    all.extend(params);
    let missing: Vec<String> = c.query(&sql, &refs(&all))?.iter().map(|r| r.get(0)).collect();
    if missing.is_empty() {
        return Ok(0);
    }
    if !c.writable {
        return Err(StoreError::NeedsWriter);
    }
    // Read before any document is locked (see `settings`).
    let settings = super::settings::read(c)?;
    // Locked in one statement, by id (see [`lock`]).
    let rows = c.query("SELECT id, doc FROM households WHERE id = ANY($1) ORDER BY id FOR SHARE", &[&missing])?;
    for row in rows {
        let (id, bytes): (String, Vec<u8>) = (row.get(0), row.get(1));
        let h = parse_doc(&id, &bytes)?
            .household()
            .map_err(|e| StoreError::Corrupt { household: id.clone(), detail: e.to_string() })?;
        put_missing_summary(c, &id, period, &SummaryRow::of(&h, period, &settings)?)?;
    }
    Ok(missing.len())
}
