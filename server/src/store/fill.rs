//! Missing summaries filled in a step at a time on the writer: the first read of a new
//! month (or after a settings change) finds every household of its selection without a
//! summary for the period, and computing them loads each document. Done in one
//! transaction, that held SQLite's one writer, and with it every phone's sync, for as
//! long as it took (about 0.5 ms a household: half a minute at 50,000). In steps of
//! [`FILL_STEP`] households (and then [`TOTALS_STEP`] grids' totals), each its own
//! transaction, syncs take the writer between them.

use std::future::Future;
use std::time::Instant;

use shared::Period;

use super::{Selection, StoreResult, Writer};

/// Households whose summaries one step fills in: a few tens of milliseconds on the
/// writer.
pub const FILL_STEP: usize = 64;

/// Grids whose totals one step adds up and keeps.
pub const TOTALS_STEP: usize = 16;

/// Summaries a read found missing: those of `period` for the households of each of
/// `selections` that have none ([`super::StoreError::NeedsWriter`]): the read's own
/// selection, or the grids whose kept totals it lacks (`grids`: their totals are then
/// added up and kept too, a few grids a step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The period.
    pub period: Period,
    /// The households, a selection at a time.
    pub selections: Vec<Selection>,
    /// Whether each selection is one grid whose kept total is missing.
    pub grids: bool,
}

/// One step of [`fill_in_steps`], one transaction on the writer ([`Step::run`]).
#[derive(Debug, Clone)]
pub enum Step {
    /// Fill in at most [`FILL_STEP`] missing summaries of the selection.
    Summaries(Selection),
    /// Add up and keep the totals of these grids (their summaries are all there).
    Totals(Vec<Selection>),
}

impl Step {
    /// Does the step on `w`; how many households or grids it did.
    pub fn run(&self, w: &mut dyn Writer, period: Period) -> StoreResult<usize> {
        match self {
            Step::Summaries(selection) => w.fill_summaries(selection, period, FILL_STEP),
            Step::Totals(grids) => {
                for grid in grids {
                    // A read of one whole grid on the writer keeps its total.
                    w.indicators(grid, period)?;
                }
                Ok(grids.len())
            }
        }
    }
}

/// Fills in `missing` by running `step` (one transaction on the writer: [`Step::run`])
/// for each selection until a step finds fewer than [`FILL_STEP`] summaries to fill,
/// then, for grids, keeps their totals [`TOTALS_STEP`] grids a step; returns how many
/// summaries were filled in all.
pub async fn fill_in_steps<S, F>(missing: &Missing, mut step: S) -> StoreResult<usize>
where
    S: FnMut(Step, Period) -> F,
    F: Future<Output = StoreResult<usize>>,
{
    let started = Instant::now();
    let mut filled = 0;
    for selection in &missing.selections {
        loop {
            let n = step(Step::Summaries(selection.clone()), missing.period).await?;
            filled += n;
            if n < FILL_STEP {
                break;
            }
        }
    }
    if missing.grids {
        for grids in missing.selections.chunks(TOTALS_STEP) {
            step(Step::Totals(grids.to_vec()), missing.period).await?;
        }
    }
    if filled > 0 {
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(period = %missing.period, households = filled, seconds, "summaries filled in");
    }
    Ok(filled)
}
