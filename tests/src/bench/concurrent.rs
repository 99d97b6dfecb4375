//! Many phones at once, on each engine: 50 phones (devices of the demo cadre) each
//! holding 10 households of the seeded county sync a new edit of every household, all
//! at the same time, 5 rounds; then the same while a supervisor downloads the county's
//! XLSX export over and over. Reported: documents merged per second and the p50/p99
//! latency of the phones' sync requests, per engine, and the p99 with the exports
//! beside the p99 without.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::fleet::{pct, phones, round};
use super::sync::copy_of;
use super::{Part, Row};
use crate::pg::PgDb;
use crate::{Phone, TestServer};

const PHONES: usize = 50;
const PER_PHONE: usize = 10;
const ROUNDS: usize = 5;

/// What one run measured.
struct Measured {
    documents: usize,
    seconds: f64,
    latencies_ms: Vec<f64>,
    exports: usize,
}

/// The rounds, with a supervisor exporting all along when `export` is set.
async fn measure(server: &TestServer, run: &str, export: bool) -> Measured {
    let mut phones = phones(server, run, PHONES, PER_PHONE).await;
    let stop = Arc::new(AtomicBool::new(false));
    let exporter = export.then(|| {
        let (base, stop) = (server.url(""), stop.clone());
        tokio::spawn(async move {
            let sup =
                Phone::login_with(&base, "sup01", server::demo::DEMO_PASSWORD, "bench-desk").await.expect("login");
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let resp = sup.get("/api/export.xlsx").await;
                assert!(resp.status().is_success());
                let _ = resp.bytes().await;
                n += 1;
            }
            n
        })
    });
    let started = Instant::now();
    let mut latencies_ms = Vec::new();
    for n in 0..ROUNDS {
        round(&mut phones, n, &mut latencies_ms).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    let exports = match exporter {
        Some(t) => t.await.expect("exporter"),
        None => 0,
    };
    latencies_ms.sort_by(f64::total_cmp);
    Measured { documents: PHONES * PER_PHONE * ROUNDS, seconds, latencies_ms, exports }
}

/// Both measurements on one engine's server.
async fn engine(server: &TestServer, name: &str) -> (Measured, Measured) {
    let quiet = measure(server, &format!("{name}-quiet"), false).await;
    let busy = measure(server, &format!("{name}-busy"), true).await;
    (quiet, busy)
}

fn rows(name: &str, quiet: &Measured, busy: &Measured) -> Vec<Row> {
    let (p50, p99) = (pct(&quiet.latencies_ms, 0.5), pct(&quiet.latencies_ms, 0.99));
    let busy_p99 = pct(&busy.latencies_ms, 0.99);
    vec![
        Row {
            figure: format!("{PHONES} phones syncing at once ({PER_PHONE} households each, {ROUNDS} rounds), {name}"),
            value: format!(
                "{:.0} documents/s; sync p50 {p50:.0} ms, p99 {p99:.0} ms",
                quiet.documents as f64 / quiet.seconds
            ),
            target: "report".into(),
            met: None,
            floor: None,
            detail: format!(
                "{} documents merged in {:.1} s; one request per phone and round on loopback, all phones at \
                 once; latency of each request, reply read",
                quiet.documents, quiet.seconds
            ),
        },
        Row {
            figure: format!("sync p99 of those phones while a supervisor exports the county (XLSX), {name}"),
            value: format!("p99 {busy_p99:.0} ms against {p99:.0} ms without ({:.1}×)", busy_p99 / p99.max(0.001)),
            target: "≤ 2× the p99 without".into(),
            met: Some(busy_p99 <= 2.0 * p99),
            floor: None,
            detail: format!(
                "{} exports of the seeded county (504 households, not the 50,000 of the target: seeding those is \
                 not part of this run) downloaded one after another during the rounds",
                busy.exports
            ),
        },
    ]
}

/// Runs on copies of the seeded county `seeded`: SQLite, then PostgreSQL.
pub async fn run(work: &Path, seeded: &Path) -> Part {
    let sqlite = TestServer::start(&copy_of(seeded, &work.join("concurrent.sqlite3"))).await;
    let (quiet, busy) = engine(&sqlite, "SQLite").await;
    sqlite.stop().await;
    let mut out = rows("SQLite", &quiet, &busy);
    let mut notes = Vec::new();
    match PgDb::try_create().await {
        Ok(pg) => {
            server::store::transfer::sqlite_to_postgres(seeded, &pg.url).await.expect("move the county");
            let store = server::store::Store::open(&pg.url).await.expect("open");
            let server = TestServer::start_with(store, Path::new("postgres")).await;
            let (quiet, busy) = engine(&server, "PostgreSQL").await;
            server.stop().await;
            out.extend(rows("PostgreSQL", &quiet, &busy));
        }
        Err(e) => notes.push(format!("concurrent: PostgreSQL not measured: {e}")),
    }
    Part { part: "concurrent".into(), rows: out, notes }
}
