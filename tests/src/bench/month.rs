//! A new month on a seeded county: every household's summary for the period and every
//! grid's kept total are gone, as on the 1st, and `server::month` fills them in (in
//! steps on the writer, `server::store::fill_in_steps`) while a probe writes through the
//! same store every 20 ms, as syncs would: how long the fill takes, and how long a write
//! waited for the writer meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use server::store::{FILL_STEP, Store};
use shared::Period;

use super::{Row, percentiles};
use crate::Peek;

/// Fills in `period` on `store` (`households` of them, read beside it through `peek`)
/// after dropping its summaries and kept totals; `what` names the county and engine.
pub async fn fill(store: &Store, peek: &Peek, households: usize, period: Period, what: &str) -> Result<Row, String> {
    peek.execute(&format!("DELETE FROM summaries WHERE period = '{period}'"));
    peek.execute(&format!("DELETE FROM area_totals WHERE period = '{period}'"));
    let stop = Arc::new(AtomicBool::new(false));
    let probe = tokio::spawn({
        let (store, stop) = (store.clone(), stop.clone());
        async move {
            let mut waits = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                store
                    .write(|w| w.audit(server::auth::now(), "bench", "bench.probe", "a write during the fill"))
                    .await
                    .map_err(|e| e.to_string())?;
                waits.push(started.elapsed().as_secs_f64() * 1e3);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok::<_, String>(waits)
        }
    });
    let started = Instant::now();
    let filled = server::month::fill_period(store, period).await.map_err(|e| e.to_string());
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut waits = probe.await.map_err(|e| e.to_string())??;
    filled?;
    let summarised = peek.count(&format!("SELECT COUNT(*) FROM summaries WHERE period = '{period}'"));
    if summarised != households as i64 {
        return Err(format!("{summarised} of {households} households summarised for {period}"));
    }
    let longest = waits.iter().copied().fold(0.0, f64::max);
    let (p50, p95) = percentiles(&mut waits);
    eprintln!(
        "  new month, {what}: {seconds:.1} s; writes waited p50 {p50:.1} ms, p95 {p95:.1} ms, at most {longest:.0} ms"
    );
    Ok(Row {
        figure: format!("a new month: every summary and grid total of the period made ahead (`server::month`), {what}"),
        value: format!(
            "{seconds:.1} s ({:.2} ms a household); a write meanwhile waited p50 {p50:.1} ms, p95 {p95:.1} ms, at most \
             {longest:.0} ms",
            seconds * 1e3 / households as f64
        ),
        target: "report".into(),
        met: None,
        floor: None,
        detail: format!(
            "the period's {households} summaries and every grid's kept total deleted, as when a month begins; then \
             what the server does at the turn of the month (or the first dashboard read of it): each household's \
             document loaded and summarised, {FILL_STEP} households a transaction on the writer, then the grids \
             added up and kept. Meanwhile another task wrote an audit row through the same store every 20 ms ({} \
             writes), as a phone's sync takes the writer: its wait is how long a sync would be held. In one \
             transaction, as before, a write would have waited for the whole fill",
            waits.len()
        ),
    })
}
