//! 监测帮扶 in the API: a console's case step and measure, and the case queue.

use crate::case::{CaseAct, CaseStatus, ClueSource, Measure, Overdue};
use crate::model::Monitoring;

use super::HouseholdRow;

/// `POST /api/households/{id}/case`: one step of the household's case, taken by a
/// supervisor or an admin in their own name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct CaseRequest {
    /// What to do.
    pub act: CaseAct,
    /// Why, or what was found (required to close or eliminate).
    #[serde(default)]
    pub text: String,
    /// A clue's route (a clue only; default 村级分析研判 for the console).
    #[serde(default)]
    pub source: Option<ClueSource>,
    /// 纳入监测 as which of the 三类 (an inclusion only, required there).
    #[serde(default)]
    pub kind: Option<Monitoring>,
}

/// `POST /api/households/{id}/measures`: a help measure added to the ledger, or (with
/// `id`) an entry of it changed, e.g. given its end date.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct MeasureRequest {
    /// The entry to change; absent: a new one.
    #[serde(default)]
    pub id: Option<String>,
    /// The measure (its `by` is set by the server).
    pub measure: Measure,
}

/// One household of the case queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct CaseRow {
    /// The household as lists show it.
    pub household: HouseholdRow,
    /// Where the case stands.
    pub status: CaseStatus,
    /// The latest clue's day, `YYYY-MM-DD`.
    pub clue_on: Option<String>,
    /// The deadline passed today, if any.
    pub overdue: Option<Overdue>,
    /// The 三类 type it was included as.
    pub kind: Option<Monitoring>,
    /// Help measures in the ledger, and of them in force today.
    pub measures: u32,
    /// …in force today.
    pub measures_in_force: u32,
    /// Monitored and meeting every condition for eliminating the risk today.
    pub eligible: bool,
    /// The latest step's text (what was found, why).
    pub latest: String,
}

/// `GET /api/cases`: the queue, most pressing first: overdue, new clues, awaiting a
/// decision, eligible for elimination, monitored, then closed and eliminated.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct CaseQueue {
    /// The rows.
    pub rows: Vec<CaseRow>,
}

impl CaseRow {
    /// Its place in the queue (smaller first).
    pub fn rank(&self) -> u8 {
        match (self.overdue, self.status) {
            (Some(_), _) => 0,
            (None, CaseStatus::Clue) => 1,
            (None, CaseStatus::Verified) => 2,
            (None, CaseStatus::Monitored) if self.eligible => 3,
            (None, CaseStatus::Monitored) => 4,
            (None, _) => 5,
        }
    }
}

/// `POST /api/cases/import`: the clues a department's list raised.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct ClueImport {
    /// How many households got a clue.
    pub imported: usize,
    /// Which, in the list's order.
    pub households: Vec<String>,
}
