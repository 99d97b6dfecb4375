//! A new month's projections made ahead of the first dashboard: when the period (China
//! time) turns, and when the server starts, every household's summary for the current
//! period is filled in, a step at a time on the writer ([`store::fill_in_steps`]: syncs
//! take the writer between steps), then every grid's kept total. The supervisor who
//! opens the console on the 1st then reads kept totals instead of waiting for every
//! document of the county to be loaded.

use std::time::{Duration, Instant};

use shared::{Date, Period};

use crate::auth::now;
use crate::store::{self, Missing, Selection, Store, StoreResult};

/// How often the period is looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(60);

/// Fills in the current period whenever it is not known to be filled: at once, then
/// each time the month turns; until `stop` says stop. A failure is logged and tried
/// again at the next check.
pub async fn keep_filled(store: Store, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut filled: Option<Period> = None;
    loop {
        let period = Period::of(Date::in_china(now()));
        if filled != Some(period) {
            let started = Instant::now();
            match fill_period(&store, period).await {
                Ok(0) => filled = Some(period),
                Ok(n) => {
                    tracing::info!(%period, households = n, seconds = started.elapsed().as_secs_f64(), "month: summaries filled in");
                    filled = Some(period);
                }
                Err(e) => {
                    tracing::warn!(%period, error = %e, "month: filling in the summaries failed; tried again later")
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Fills in every household's missing summary for `period`, a step at a time, then
/// every grid's kept total (what a dashboard's first read of the county would do);
/// how many summaries were filled in.
pub async fn fill_period(store: &Store, period: Period) -> StoreResult<usize> {
    let all = Selection::everything();
    let missing = Missing { period, selection: all.clone() };
    let filled = store::fill_in_steps(&missing, |m| {
        store.write(move |w| w.fill_summaries(&m.selection, m.period, store::FILL_STEP))
    })
    .await?;
    store.read(move |r| r.indicators(&all, period)).await?;
    Ok(filled)
}
