//! Missing summaries filled in a step at a time on the writer: the first read of a new
//! month (or after a settings change) finds every household of its selection without a
//! summary for the period, and computing them loads each document. Done in one
//! transaction, that held SQLite's one writer, and with it every phone's sync, for as
//! long as it took (about 0.9 ms a household: 44 s at 50,000). In steps of
//! [`FILL_STEP`] households, each its own transaction, syncs take the writer between
//! them.

use std::future::Future;
use std::time::Instant;

use shared::Period;

use super::{Selection, StoreResult};

/// Households whose summaries one step fills in: a few tens of milliseconds on the
/// writer.
pub const FILL_STEP: usize = 64;

/// Summaries a read found missing: those of `period` for the households of
/// `selection` that have none ([`super::StoreError::NeedsWriter`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The period.
    pub period: Period,
    /// The households the read was about.
    pub selection: Selection,
}

/// Fills in `missing` by running `step` (one transaction on the writer that fills in
/// at most [`FILL_STEP`] of them and says how many it did) until a step finds none;
/// returns how many were filled in all.
pub async fn fill_in_steps<S, F>(missing: &Missing, mut step: S) -> StoreResult<usize>
where
    S: FnMut(Missing) -> F,
    F: Future<Output = StoreResult<usize>>,
{
    let started = Instant::now();
    let mut filled = 0;
    loop {
        match step(missing.clone()).await? {
            0 => break,
            n => filled += n,
        }
    }
    if filled > 0 {
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(period = %missing.period, households = filled, seconds, "summaries filled in");
    }
    Ok(filled)
}
