//! Sync over a slow link: a cadre's phone holding 504 demo households (two years of
//! visits each) records this month's visit in every one and syncs. Measured through
//! [`Link`]: bytes on the wire both ways (HTTP headers included), round trips, and the
//! time through an emulated Slow 3G link next to its floor; then the same households
//! synced one document per request, and a sync with nothing new.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use server::auth::{User, now};
use shared::{Date, Period, Stamp};

use super::link::{Link, Shape};
use super::{Part, Row};
use crate::{Peek, Phone, SyncReport, TestServer};

/// Households per grid in the benchmark county (12 grids: 504 households).
pub const PER_GRID: usize = 42;
/// The cadre whose phone syncs; every household is assigned to them.
pub const CADRE: &str = "cadre01";

/// A demo county of `per_grid` × 12 households with two years of visits and the
/// current month not begun, every household assigned to [`CADRE`], written to `path`.
pub fn seed_county(path: &Path, per_grid: usize) -> PathBuf {
    let db = server::store::sqlite::Sqlite::open(path).expect("open");
    {
        db.write_blocking(|w| {
            server::demo::seed_sized(w, server::demo::DemoSize { per_grid, current_month_begun: false })
        })
        .expect("seed");
        let conn = db.lock();
        conn.execute(
            "INSERT OR IGNORE INTO assignments (household_id, user_id) SELECT id, ?1 FROM households",
            [CADRE],
        )
        .expect("assign");
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").expect("checkpoint");
    }
    drop(db);
    path.to_owned()
}

/// The benchmark county in `work`, seeded on first use: (path, seconds spent seeding).
pub fn county(work: &Path) -> (PathBuf, f64) {
    let path = work.join("county.sqlite3");
    if path.exists() {
        return (path, 0.0);
    }
    let started = Instant::now();
    seed_county(&path, PER_GRID);
    (path, started.elapsed().as_secs_f64())
}

/// A copy of a seeded database file.
pub fn copy_of(seeded: &Path, to: &Path) -> PathBuf {
    std::fs::copy(seeded, to).expect("copy database");
    to.to_owned()
}

/// The current period (China time).
pub fn current_period() -> Period {
    Period::of(Date::in_china(now()))
}

/// The cadre's account in the demo.
pub fn cadre(login: &str) -> User {
    server::demo::accounts().into_iter().find(|u| u.id == login).expect("demo cadre")
}

/// Logs `login` in on `device` and downloads every assigned household (not measured).
pub async fn phone_with_households(server: &TestServer, login: &str, device: &str) -> Phone {
    let mut phone =
        Phone::login_with(&server.url(""), login, server::demo::DEMO_PASSWORD, device).await.expect("login");
    let ids = phone.list().await;
    phone.want(&ids.iter().map(String::as_str).collect::<Vec<_>>());
    let first = phone.try_sync().await.expect("first download");
    assert!(first.refused.is_empty(), "refused on download: {:?}", first.refused);
    phone
}

/// Records `period`'s visit in every household of `phone`, as the demo's cadres do.
pub fn record_visits(phone: &mut Phone, period: Period, login: &str) {
    let who = cadre(login);
    let stamp = Stamp::new(who.id.clone(), who.name.clone(), now());
    for (id, doc) in phone.docs.iter_mut() {
        let h = doc.household().expect("household");
        let seed = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |a, b| (a ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        let visit = server::demo::next_visit(&h, period, &who, seed);
        doc.edit(&stamp, |h| {
            h.visits.insert(period.to_string(), visit);
        })
        .expect("edit");
    }
}

/// Households of `period` the server has stored as visited in person.
pub fn visited_on_server(server: &TestServer, period: Period) -> i64 {
    Peek::File(server.db_path.clone())
        .count(&format!("SELECT COUNT(*) FROM summaries WHERE period = '{period}' AND visited_in_person = 1"))
}

fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// What one measured sync cost on the wire.
struct Wire {
    report: SyncReport,
    up: u64,
    down: u64,
    took: Duration,
}

async fn measured(link: &Link, phone: &mut Phone, one_per_request: bool) -> Wire {
    link.counters.reset();
    let started = Instant::now();
    let report = if one_per_request { phone.sync_each().await } else { phone.try_sync().await }.expect("sync");
    let took = started.elapsed();
    assert!(report.refused.is_empty(), "refused: {:?}", report.refused);
    let (up, down) = link.counters.bytes();
    Wire { report, up, down, took }
}

/// Runs the sync benchmark in `work`.
pub async fn run(work: &Path) -> Part {
    let mut notes = Vec::new();
    let (seeded, seeding) = county(work);
    let period = current_period();
    notes.push(format!(
        "sync: a demo county of {} households (two years of monthly visits each, members' jobs carried \
         on month to month), seeded in {:.1} s; the phone of {CADRE} holds them all and records {period}'s \
         visit in each (demo::next_visit: every working-age member's employment, incomes, guarantees)",
        PER_GRID * 12,
        seeding
    ));

    // Batched, through Slow 3G.
    let server = TestServer::start(&copy_of(&seeded, &work.join("sync-batch.sqlite3"))).await;
    let mut phone = phone_with_households(&server, CADRE, "bench-batch").await;
    let households = phone.docs.len() as u64;
    record_visits(&mut phone, period, CADRE);
    let shape = Shape::SLOW_3G;
    let link = Link::start(server.addr, Some(shape)).await.expect("link");
    phone.set_base(&link.url());
    let batch = measured(&link, &mut phone, false).await;
    let stored = visited_on_server(&server, period);
    assert_eq!(stored as u64, households, "every visit reached the server");
    let idle = measured(&link, &mut phone, false).await;
    let round_trips = batch.report.round_trips as u64;
    let wire = batch.up + batch.down;
    let per_household = wire as f64 / households as f64;
    let floor = shape.floor(wire, round_trips + 1);
    drop(link);
    server.stop().await;

    // One document per request, counted on loopback; its Slow 3G time is modelled.
    let server = TestServer::start(&copy_of(&seeded, &work.join("sync-each.sqlite3"))).await;
    let mut phone = phone_with_households(&server, CADRE, "bench-each").await;
    record_visits(&mut phone, period, CADRE);
    let link = Link::start(server.addr, None).await.expect("link");
    phone.set_base(&link.url());
    let each = measured(&link, &mut phone, true).await;
    assert_eq!(visited_on_server(&server, period) as u64, households, "every visit reached the server");
    let each_wire = each.up + each.down;
    let each_trips = each.report.round_trips as u64;
    let each_model = shape.floor(each_wire, each_trips + 1);
    drop(link);
    server.stop().await;

    let rows = vec![
        Row {
            figure: format!("bytes on the wire to sync {households} households, one new visit each (both ways)"),
            value: format!(
                "{per_household:.0} B per household ({} up, {} down; gzip bodies {} up)",
                kb(batch.up),
                kb(batch.down),
                kb(batch.report.sent as u64)
            ),
            target: "≤ 300 B".into(),
            met: Some(per_household <= 300.0),
            floor: None,
            detail: "counted by the proxy: every TCP payload byte, HTTP headers included; bodies gzip both ways".into(),
        },
        Row {
            figure: "HTTP round trips for that sync".into(),
            value: round_trips.to_string(),
            target: "≤ 3".into(),
            met: Some(round_trips <= 3),
            floor: Some("1: the changes must go up once and be acknowledged".into()),
            detail: "POST /api/sync requests until no document has anything to send; login not counted".into(),
        },
        Row {
            figure: "time for that sync through an emulated Slow 3G link (400 kbit/s, 400 ms RTT)".into(),
            value: secs(batch.took),
            target: "≤ 10 s".into(),
            met: Some(batch.took <= Duration::from_secs(10)),
            floor: Some(format!(
                "{}: {} ÷ 400 kbit/s + {} round trips (TCP handshake included) × 400 ms",
                secs(floor),
                kb(wire),
                round_trips + 1
            )),
            detail: "tests/src/bench/link.rs: a proxy on loopback that serialises each direction at 400 kbit/s \
                     and delays it 200 ms; the phone is tests/src/lib.rs Phone (the app's sync loop)"
                .into(),
        },
        Row {
            figure: format!("the same {households} households, one document per request (POST /api/sync/{{id}})"),
            value: format!(
                "{:.0} B per household, {each_trips} round trips; Slow 3G modelled {} (loopback {})",
                each_wire as f64 / households as f64,
                secs(each_model),
                secs(each.took)
            ),
            target: "report".into(),
            met: None,
            floor: None,
            detail: "bytes counted by the proxy on loopback; the Slow 3G time is bytes ÷ bandwidth + round trips \
                     × RTT (running it would take as long)"
                .into(),
        },
        Row {
            figure: format!("a sync with nothing new, {households} households"),
            value: format!(
                "{:.0} B per household, {} round trip{}, {} on Slow 3G",
                (idle.up + idle.down) as f64 / households as f64,
                idle.report.round_trips,
                if idle.report.round_trips == 1 { "" } else { "s" },
                secs(idle.took)
            ),
            target: "report".into(),
            met: None,
            floor: None,
            detail: "right after the measured sync, same phone and link".into(),
        },
    ];
    Part { part: "sync".into(), rows, notes }
}
