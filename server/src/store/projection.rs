//! What is stored beside a household's document and computed from it alone, by
//! `shared`, with no IO: the bytes to store after a merge ([`merged_bytes`]), the
//! household's row and summary rows ([`Projection`]). The merge computes it on every
//! core; each engine writes it in the transaction that stores the document.

use shared::api::HouseholdRow;
use shared::automerge::{ActorId, ChangeHash};
use shared::indicators::{Indicators, Summary};
use shared::wire::{self, NewChanges};
use shared::{Coded, Household, HouseholdDoc, Period, Settings};

use super::{StoreError, StoreResult};

/// How many periods back from the current one summaries are kept.
pub const SUMMARY_PERIODS: i32 = 36;

/// A merged document's appended change chunks are compacted (the document is saved
/// whole) once there are this many: each appended chunk costs a merge a little more
/// to load, a whole save costs it once (BENCHMARKS.md has both).
pub const COMPACT_AFTER: i64 = 8;

/// The most a household's stored document may weigh. A real one is a few KB after
/// years of monthly visits (BENCHMARKS.md); this leaves room for decades of long
/// notes, and stops a phone (broken or hostile) from growing one document without
/// bound through its history, which every later merge would have to load. A merge
/// that would store more is refused for that household, and nothing is written.
pub const MAX_DOC_BYTES: usize = 4 << 20;

/// The actor the server writes its own edits with (roster import, console, demo
/// data): a fresh one each time (ARCHITECTURE.md, invariant 10).
pub fn server_actor() -> ActorId {
    ActorId::random()
}

/// Loads household `id`'s stored document bytes. Automerge can panic on corrupt bytes;
/// a damaged row must fail this household only.
pub fn parse_doc(id: &str, bytes: &[u8]) -> StoreResult<HouseholdDoc> {
    let corrupt = |detail: String| StoreError::Corrupt { household: id.to_owned(), detail };
    std::panic::catch_unwind(|| HouseholdDoc::load(bytes, server_actor()).map_err(|e| e.to_string()))
        .map_err(|_| corrupt("Automerge panicked while loading it".into()))?
        .map_err(corrupt)
}

/// A household's document as stored.
#[derive(Debug)]
pub struct StoredDoc {
    /// The bytes: saved whole, then any appended change chunks.
    pub bytes: Vec<u8>,
    /// How many change chunks merges appended since it was last saved whole.
    pub changes: i64,
    /// Its heads, when written since migration 6.
    pub heads: Option<Vec<ChangeHash>>,
    /// Every change of the histories an administrator retired (PROTOCOL.md §4.5):
    /// phones may still hold them. Empty for a household never rewritten.
    pub retired: std::collections::HashSet<ChangeHash>,
}

/// The 身份证号 of `household`'s present members as its row keeps them (`id_numbers`):
/// upper case, sorted, joined by commas; a department's list is matched against them
/// without loading a document ([`split_id_numbers`] reads them back).
pub fn joined_id_numbers(household: &Household) -> String {
    let mut ids: Vec<String> = household
        .members
        .values()
        .filter(|m| m.is_present() && !m.id_number.is_empty())
        .map(|m| m.id_number.to_uppercase())
        .collect();
    ids.sort();
    ids.dedup();
    ids.join(",")
}

/// The ID numbers [`joined_id_numbers`] joined.
pub fn split_id_numbers(joined: &str) -> impl Iterator<Item = &str> {
    joined.split(',').filter(|s| !s.is_empty())
}

/// Heads as stored: 32 bytes each.
pub fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

/// Heads from their stored form; `None` if malformed.
pub fn decode_heads(bytes: &[u8]) -> Option<Vec<ChangeHash>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    bytes.chunks(32).map(|c| ChangeHash::try_from(c).ok()).collect()
}

/// The bytes to store after a merge brought `new` to the document stored as `stored`
/// (with `stored_changes` appended chunks), now `doc`, and their appended-chunk count:
/// the stored bytes with the new changes appended, or `doc` saved whole and read back
/// at [`COMPACT_AFTER`] chunks, or when appending would pass [`MAX_DOC_BYTES`] (the
/// whole save is smaller). The caller refuses bytes over the limit.
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

/// A document to store with everything computed from it.
#[derive(Debug)]
pub struct DocWrite<'a> {
    /// 户编码
    pub id: &'a str,
    /// The bytes to store.
    pub bytes: &'a [u8],
    /// Change chunks appended to them since the last whole save.
    pub doc_changes: i64,
    /// The document's heads.
    pub heads: &'a [ChangeHash],
    /// The document read as a household.
    pub household: &'a Household,
    /// Its projection.
    pub projection: &'a Projection,
}

/// What a merge writes for one household: who uploaded each new change and the
/// document with its projections (when the merge changed it), and the device's new
/// sync state ([`crate::store::Writer::write_merged`]).
#[derive(Debug)]
pub struct MergedWrite<'a> {
    /// 户编码
    pub id: &'a str,
    /// The uploader's login.
    pub login: &'a str,
    /// The uploading device.
    pub device: &'a str,
    /// When the server received it (Unix seconds).
    pub at: i64,
    /// The new changes' hashes and the document to store, when the merge changed it.
    pub change: Option<(&'a [ChangeHash], DocWrite<'a>)>,
    /// The device's sync state for the household after the merge.
    pub state: &'a [u8],
}

/// The counts of a household's row and its summary rows, computed from the document.
#[derive(Debug)]
pub struct Projection {
    /// Conflicted fields.
    pub conflicts: i64,
    /// Validation problems.
    pub problems: i64,
    /// One row per period kept.
    pub summaries: Vec<(Period, SummaryRow)>,
}

impl Projection {
    /// The projection of `doc`, which reads as `household`, on `today`.
    pub fn of(
        doc: &HouseholdDoc,
        household: &Household,
        today: shared::Date,
        settings: &Settings,
    ) -> StoreResult<Self> {
        let conflicts = doc.conflicts().map_err(|e| StoreError::Corrupt {
            household: household.facts.registry_no.clone(),
            detail: e.to_string(),
        })?;
        Self::counted(household, conflicts.len(), shared::validate(household, today).len(), today, settings)
    }

    /// [`Projection::of`] with the document's conflicts
    /// (`HouseholdDoc::check_counting_conflicts`) and problems (`shared::validate`)
    /// already counted; summaries measured against `settings`.
    pub fn counted(
        household: &Household,
        conflicts: usize,
        problems: usize,
        today: shared::Date,
        settings: &Settings,
    ) -> StoreResult<Self> {
        let current = Period::of(today);
        let (first, last) = summary_span(household, current);
        let mut summaries = Vec::new();
        let mut p = first;
        while p <= last {
            summaries.push((p, SummaryRow::of(household, p, settings)?));
            p = p.plus_months(1);
        }
        Ok(Self { conflicts: conflicts as i64, problems: problems as i64, summaries })
    }
}

/// The periods a household has summaries for: from its first visit (at most
/// [`SUMMARY_PERIODS`] back) to the current period or its last visit.
fn summary_span(h: &Household, current: Period) -> (Period, Period) {
    let visited: Vec<Period> = h.visits.keys().filter_map(|k| k.parse().ok()).collect();
    let kept = kept_periods(current);
    let first = visited.first().copied().unwrap_or(current).max(*kept.start()).min(current);
    let last = visited.last().copied().unwrap_or(current).max(current).min(*kept.end());
    (first, last)
}

/// The periods the server keeps summaries for when the current period is `current`:
/// the [`SUMMARY_PERIODS`] up to it, and the next one. A visit keyed far in the future
/// (a phone with a wrong clock) must not make rows for every month until then, and a
/// dashboard read of another period must not make (and store) rows at all: the
/// dashboards answer for these periods only.
pub fn kept_periods(current: Period) -> std::ops::RangeInclusive<Period> {
    current.plus_months(-SUMMARY_PERIODS + 1)..=current.plus_months(1)
}

/// One household's summary row for one period: the summary, encoded, and the review
/// status of that period's visit.
#[derive(Debug)]
pub struct SummaryRow {
    /// The summary.
    pub summary: Summary,
    /// …encoded as stored.
    pub blob: Vec<u8>,
    /// The review status code of the period's visit.
    pub review: Option<String>,
}

impl SummaryRow {
    /// Household `h`'s row for `period`, against `settings`.
    pub fn of(h: &Household, period: Period, settings: &Settings) -> StoreResult<Self> {
        let summary = Summary::of(h, period, settings);
        let review = h.visits.get(&period.to_string()).and_then(|v| v.review_status()).map(|r| r.code().to_owned());
        let blob = postcard::to_allocvec(&summary).map_err(|e| StoreError::Projection(e.to_string()))?;
        Ok(Self { summary, blob, review })
    }
}

/// Decodes a stored summary.
pub fn decode_summary(blob: &[u8]) -> StoreResult<Summary> {
    postcard::from_bytes(blob).map_err(|e| StoreError::Projection(e.to_string()))
}

/// Each row with its 八必访 reasons, from the summary read beside it.
pub fn with_reasons(rows: Vec<(HouseholdRow, Option<Vec<u8>>)>) -> StoreResult<Vec<HouseholdRow>> {
    rows.into_iter()
        .map(|(mut row, summary)| {
            if let Some(blob) = summary {
                row.must_visit = decode_summary(&blob)?.must_visit;
            }
            Ok(row)
        })
        .collect()
}

/// Encodes kept indicators (a grid's total).
pub fn encode_indicators(indicators: &Indicators) -> StoreResult<Vec<u8>> {
    postcard::to_allocvec(indicators).map_err(|e| StoreError::Projection(e.to_string()))
}

/// Decodes kept indicators.
pub fn decode_indicators(blob: &[u8]) -> StoreResult<Indicators> {
    postcard::from_bytes(blob).map_err(|e| StoreError::Projection(e.to_string()))
}
