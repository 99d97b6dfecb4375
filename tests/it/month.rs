//! A new month's summaries and grid totals made ahead of the first dashboard
//! (`server::month`), a step at a time, on either engine.

use server::store::{FILL_STEP, Selection, Store};
use shared::{Date, Period};

use crate::Engine;

/// The demo county (`per_grid` × 12 households, the current month under way) in a store
/// of the engine under test; the PostgreSQL database is dropped with the returned guard.
async fn demo_store(dir: &tempfile::TempDir, per_grid: usize) -> (Store, Option<huhujian_tests::pg::PgDb>) {
    let (store, pg) = match Engine::current() {
        Engine::Sqlite => (Store::open_sqlite(&dir.path().join("county.sqlite3")).expect("open"), None),
        Engine::Postgres => {
            let pg = huhujian_tests::pg::PgDb::create().await;
            (Store::open(&pg.url).await.expect("open PostgreSQL"), Some(pg))
        }
    };
    let size = server::demo::DemoSize { per_grid, current_month_begun: true };
    store.write(move |w| server::demo::seed_sized(w, size)).await.expect("seed");
    (store, pg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_months_summaries_are_filled_in_ahead_in_steps_and_add_up_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _pg) = demo_store(&dir, 12).await;
    let period = Period::of(Date::in_china(server::auth::now()));
    let all = Selection::everything();
    let read = |store: &Store| {
        let all = all.clone();
        let store = store.clone();
        async move { store.read(move |r| r.indicators(&all, period)).await.unwrap() }
    };
    let before = read(&store).await;
    let households = before.households as usize;
    assert!(households > 2 * FILL_STEP, "{households} households: more than two steps");

    // A settings change drops the year's summaries (and so every grid's kept totals);
    // the visits and households they count stay what they were.
    let mut settings = store.read(|r| r.settings()).await.unwrap();
    let mut year = settings.for_period(period);
    year.monitoring_line = Some(year.monitoring_line.unwrap_or(8_000) + 100);
    settings.years.retain(|y| y.year != year.year);
    settings.years.push(year);
    let settings = settings.checked().unwrap();
    let changed = store.write(move |w| w.replace_settings(&settings, "admin", 1)).await.unwrap();
    assert!(changed.is_some(), "the settings changed");
    let filled = store.write(move |w| w.fill_summaries(&Selection::everything(), period, 1)).await.unwrap();
    assert_eq!(filled, 1, "a step fills in at most what it is asked");

    // Made ahead: every other household in steps, then the grids' totals.
    server::month::fill_period(&store, period).await.unwrap();
    let left = store.write(move |w| w.fill_summaries(&Selection::everything(), period, usize::MAX)).await.unwrap();
    assert_eq!(left, 0, "nothing left to fill in");
    let after = read(&store).await;
    assert_eq!(
        (after.households, after.visited_in_person, after.recorded, after.signed),
        (before.households, before.visited_in_person, before.recorded, before.signed)
    );
}
