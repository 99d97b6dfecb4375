//! Household documents in PostgreSQL and what is kept beside them: the `households`
//! row, per-period `summaries`, each device's sync state and the change log. In a
//! write transaction a document is read `FOR UPDATE`: a second process merging the
//! same household waits for this one's commit and then reads what it stored.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures_util::future::{try_join, try_join3};
use shared::api::User;
use shared::automerge::ChangeHash;
use shared::{Date, Monitoring, Period};
use tokio_postgres::types::ToSql;

use super::PgConn;
use crate::store::projection::{SummaryRow, decode_heads, encode_heads, joined_id_numbers};
use crate::store::sql::{clause, missing_summaries, numbered};
use crate::store::{
    Access, DocWrite, MergeInput, MergedWrite, Missing, Scope, Selection, StoreError, StoreResult, StoredDoc, Upload,
    parse_doc,
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
        let (statement, params): (_, [&(dyn ToSql + Sync); 3]) =
            (tx.prepare_cached(PUT_SYNC_STATES).await?, [&devices, &ids, &states]);
        let put = tx.execute(&statement, &params);
        if hashes.is_empty() {
            put.await?;
        } else {
            let log = tx.prepare_cached(LOG_CHANGES).await?;
            try_join(tx.execute(&log, &[&hashes, &of, &by, &on, &at]), put).await?;
        }
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
/// `also` (other statements of the same transaction) in the first round trip. The
/// documents' ids are unique: their rows are written by one statement.
fn write_many(
    c: &PgConn<'_>,
    docs: &[(&DocWrite<'_>, i64)],
    also: impl std::future::Future<Output = Result<(), tokio_postgres::Error>>,
) -> StoreResult<()> {
    // Idle syncs change no document: only `also` goes.
    if docs.is_empty() {
        return c.run(also);
    }
    let rows = Rows::of(docs);
    let tx = c.tx;
    // The rows and the read of their stored summaries go together (one round trip).
    let (_, stored, ()) = c.run(async {
        let (upsert, read) = try_join(tx.prepare_cached(UPSERT_HOUSEHOLDS), tx.prepare_cached(READ_SUMMARIES)).await?;
        try_join3(tx.execute(&upsert, &rows.params()), tx.query(&read, &[&rows.id]), also).await
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

/// Household rows as columns, one array each, as [`UPSERT_HOUSEHOLDS`] takes them.
#[derive(Default)]
struct Rows<'a> {
    id: Vec<&'a str>,
    doc: Vec<&'a [u8]>,
    doc_changes: Vec<i64>,
    heads: Vec<Vec<u8>>,
    updated_at: Vec<i64>,
    county: Vec<String>,
    township: Vec<String>,
    site: Vec<String>,
    grid: Vec<String>,
    head_name: Vec<String>,
    address: Vec<String>,
    last_visit: Vec<Option<&'a str>>,
    last_mode: Vec<Option<&'static str>>,
    members: Vec<i64>,
    conflicts: Vec<i64>,
    problems: Vec<i64>,
    case_status: Vec<Option<&'static str>>,
    id_numbers: Vec<String>,
}

impl<'a> Rows<'a> {
    fn of(docs: &[(&'a DocWrite<'a>, i64)]) -> Self {
        let mut rows = Rows::default();
        for (doc, at) in docs {
            let household = doc.household;
            let f = &household.facts;
            let last = household.visits.iter().next_back();
            rows.id.push(doc.id);
            rows.doc.push(doc.bytes);
            rows.doc_changes.push(doc.doc_changes);
            rows.heads.push(encode_heads(doc.heads));
            rows.updated_at.push(*at);
            rows.county.push(text(&f.county));
            rows.township.push(text(&f.township));
            rows.site.push(text(&f.site));
            rows.grid.push(text(&f.grid));
            rows.head_name.push(text(household.head_name()));
            rows.address.push(text(&f.address));
            rows.last_visit.push(last.map(|(p, _)| p.as_str()));
            rows.last_mode.push(last.and_then(|(_, v)| v.mode).map(|m| shared::Coded::code(m)));
            rows.members.push(household.members.values().filter(|m| m.is_present()).count() as i64);
            rows.conflicts.push(doc.projection.conflicts);
            rows.problems.push(doc.projection.problems);
            rows.case_status.push(household.case.status.map(shared::Coded::code));
            rows.id_numbers.push(text(&joined_id_numbers(household)));
        }
        rows
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 18] {
        [
            &self.id,
            &self.doc,
            &self.doc_changes,
            &self.heads,
            &self.updated_at,
            &self.county,
            &self.township,
            &self.site,
            &self.grid,
            &self.head_name,
            &self.address,
            &self.last_visit,
            &self.last_mode,
            &self.members,
            &self.conflicts,
            &self.problems,
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

const UPSERT_HOUSEHOLDS: &str =
    "INSERT INTO households (id, doc, doc_changes, heads, updated_at, county, township, site, grid,
             head_name, address, last_visit, last_mode, members, conflicts, problems, case_status, id_numbers)
     SELECT * FROM unnest($1::TEXT[], $2::BYTEA[], $3::BIGINT[], $4::BYTEA[], $5::BIGINT[], $6::TEXT[],
             $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[], $12::TEXT[], $13::TEXT[],
             $14::BIGINT[], $15::BIGINT[], $16::BIGINT[], $17::TEXT[], $18::TEXT[])
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
/// deletes its stored rows of other periods: one statement each, sent together (one
/// round trip).
fn write_summaries(c: &PgConn<'_>, each: Vec<SummaryChange<'_>>) -> StoreResult<()> {
    let mut changed = Summaries::default();
    let (mut gone_of, mut gone_period): (Vec<&str>, Vec<String>) = (Vec::new(), Vec::new());
    for (id, mut stored, rows) in each {
        for (p, row) in rows {
            let p = p.to_string();
            if stored.remove(&p).is_none_or(|(blob, review)| blob != row.blob || review != row.review) {
                changed.push(id, p, row);
            }
        }
        for p in stored.into_keys() {
            gone_of.push(id);
            gone_period.push(p);
        }
    }
    if changed.household_id.is_empty() && gone_of.is_empty() {
        return Ok(());
    }
    let tx = c.tx;
    let upsert = async {
        if changed.household_id.is_empty() {
            return Ok(0);
        }
        tx.execute(&tx.prepare_cached(UPSERT_SUMMARIES).await?, &changed.params()).await
    };
    let delete = async {
        if gone_of.is_empty() {
            return Ok(0);
        }
        tx.execute(&tx.prepare_cached(DELETE_SUMMARIES).await?, &[&gone_of, &gone_period]).await
    };
    c.run(try_join(upsert, delete))?;
    Ok(())
}

const DELETE_SUMMARIES: &str =
    "DELETE FROM summaries s USING unnest($1::TEXT[], $2::TEXT[]) AS gone (household_id, period)
     WHERE s.household_id = gone.household_id AND s.period = gone.period";

/// The summaries' columns, in the order [`Summaries::params`] gives them.
macro_rules! summary_columns {
    () => {
        "household_id, period, visited_in_person, zero_employment, low_income_labour, guarantee_alert, new_risk,
         monitored, summary, review, must_visit, signed"
    };
}

/// Summary rows from the arrays of [`Summaries::params`].
macro_rules! summary_rows {
    () => {
        "SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::BOOLEAN[], $4::BOOLEAN[], $5::BOOLEAN[], $6::BOOLEAN[],
             $7::BOOLEAN[], $8::BOOLEAN[], $9::BYTEA[], $10::TEXT[], $11::BOOLEAN[], $12::BOOLEAN[])"
    };
}

const UPSERT_SUMMARIES: &str = concat!(
    "INSERT INTO summaries (",
    summary_columns!(),
    ") ",
    summary_rows!(),
    " ON CONFLICT (period, household_id) DO UPDATE SET visited_in_person = EXCLUDED.visited_in_person,
         zero_employment = EXCLUDED.zero_employment, low_income_labour = EXCLUDED.low_income_labour,
         guarantee_alert = EXCLUDED.guarantee_alert, new_risk = EXCLUDED.new_risk,
         monitored = EXCLUDED.monitored, summary = EXCLUDED.summary, review = EXCLUDED.review,
         must_visit = EXCLUDED.must_visit, signed = EXCLUDED.signed"
);

/// Summary rows only where there are none: a read filling in missing ones must not
/// replace a merge's.
const PUT_MISSING_SUMMARIES: &str = concat!(
    "INSERT INTO summaries (",
    summary_columns!(),
    ") ",
    summary_rows!(),
    " ON CONFLICT (period, household_id) DO NOTHING"
);

/// Summary rows as columns, one array each (each (household, period) once).
#[derive(Default)]
struct Summaries<'a> {
    household_id: Vec<&'a str>,
    period: Vec<String>,
    visited_in_person: Vec<bool>,
    zero_employment: Vec<bool>,
    low_income_labour: Vec<bool>,
    guarantee_alert: Vec<bool>,
    new_risk: Vec<bool>,
    monitored: Vec<bool>,
    summary: Vec<&'a [u8]>,
    review: Vec<Option<&'a str>>,
    must_visit: Vec<bool>,
    signed: Vec<bool>,
}

impl<'a> Summaries<'a> {
    fn push(&mut self, id: &'a str, period: String, row: &'a SummaryRow) {
        let s = &row.summary;
        self.household_id.push(id);
        self.period.push(period);
        self.visited_in_person.push(s.visited_in_person);
        self.zero_employment.push(s.zero_employment);
        self.low_income_labour.push(s.low_income_labour);
        self.guarantee_alert.push(s.guarantee_alert);
        self.new_risk.push(s.new_risk);
        self.monitored.push(s.monitoring != Monitoring::None);
        self.summary.push(&row.blob);
        self.review.push(row.review.as_deref());
        self.must_visit.push(!s.must_visit.is_empty());
        self.signed.push(s.signed);
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 12] {
        [
            &self.household_id,
            &self.period,
            &self.visited_in_person,
            &self.zero_employment,
            &self.low_income_labour,
            &self.guarantee_alert,
            &self.new_risk,
            &self.monitored,
            &self.summary,
            &self.review,
            &self.must_visit,
            &self.signed,
        ]
    }
}

/// Fills in summaries for `period` for the households of `selection` that have none
/// (see the SQLite engine's `ensure_summaries`). Each document is read `FOR SHARE`,
/// so a merge under way finishes first; a summary a merge wrote meanwhile is kept.
pub fn ensure_summaries(c: &PgConn<'_>, period: Period, today: Date, selection: &Selection) -> StoreResult<usize> {
    fill_summaries(c, period, today, selection, None)
}

/// [`ensure_summaries`] for at most `at_most` households (all, for `None`).
pub fn fill_summaries(
    c: &PgConn<'_>,
    period: Period,
    today: Date,
    selection: &Selection,
    at_most: Option<usize>,
) -> StoreResult<usize> {
    if period > Period::of(today) {
        return Ok(0);
    }
    let (sql, params) = missing_summaries(selection, period, at_most);
    let missing: Vec<String> = c.query(&numbered(&sql), &refs(&params))?.iter().map(|r| r.get(0)).collect();
    if missing.is_empty() {
        return Ok(0);
    }
    if !c.writable {
        return Err(StoreError::NeedsWriter(Box::new(Missing {
            period,
            selections: vec![selection.clone()],
            grids: false,
        })));
    }
    // Read before any document is locked (see `settings`).
    let settings = super::settings::read(c)?;
    // Locked in one statement, by id (see [`lock`]).
    let rows = c.query("SELECT id, doc FROM households WHERE id = ANY($1) ORDER BY id FOR SHARE", &[&missing])?;
    let mut made: Vec<(String, SummaryRow)> = Vec::with_capacity(rows.len());
    for row in rows {
        let (id, bytes): (String, Vec<u8>) = (row.get(0), row.get(1));
        let h = parse_doc(&id, &bytes)?
            .household()
            .map_err(|e| StoreError::Corrupt { household: id.clone(), detail: e.to_string() })?;
        let summary = SummaryRow::of(&h, period, &settings)?;
        made.push((id, summary));
    }
    let mut put = Summaries::default();
    for (id, row) in &made {
        put.push(id, period.to_string(), row);
    }
    c.execute(PUT_MISSING_SUMMARIES, &put.params())?;
    Ok(missing.len())
}
