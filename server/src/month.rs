//! A new month's projections made ahead of the first dashboard: every minute, and so
//! soon after the period (China time) turns, after a settings change dropped a year's
//! summaries, or after the server starts, the county's indicators for the current
//! period are read as a dashboard would. When everything is kept that is one short read
//! of the grids' kept totals; when summaries are missing, the store fills them in a
//! step at a time on the writer ([`crate::store::fill_in_steps`]: syncs take the writer
//! between steps), then the grids' totals. The supervisor who opens the console on the
//! 1st then reads kept totals instead of waiting for every document of the county to
//! be loaded.

use std::time::Duration;

use shared::{Date, Period};

use crate::auth::now;
use crate::store::{Selection, Store, StoreResult};

/// How often the current period is read.
pub const CHECK_EVERY: Duration = Duration::from_secs(60);

/// Keeps the current period filled in, from now until `stop` says stop. A failure is
/// logged and tried again at the next check.
pub async fn keep_filled(store: Store, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let period = Period::of(Date::in_china(now()));
        if let Err(e) = fill_period(&store, period).await {
            tracing::warn!(%period, error = %e, "month: filling in the period failed; tried again later");
        }
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Fills in every household's missing summary for `period` and every grid's missing
/// kept total, as a dashboard's read of the whole county would (nothing for a period
/// that has not begun).
pub async fn fill_period(store: &Store, period: Period) -> StoreResult<()> {
    let all = Selection::everything();
    store.read(move |r| r.indicators(&all, period)).await.map(|_| ())
}
