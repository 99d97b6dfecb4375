//! A hostile client beside honest phones (issue 16): 20 phones of the seeded county
//! sync an edit of 10 households each, 5 rounds, first alone, then while an attacker
//! without an account keeps 1,000 connections open that never finish their headers
//! (reopening each one the server cuts off) and runs 64 login loops, each trying
//! made-up logins (every try costs the server a password hash). Reported: the phones'
//! sync p99 beside the quiet p99, and the process's resident memory (server and
//! clients) before and at most during the attack. Then the same phones sync while an
//! admin imports rosters of new households one after another (`roster::import_in_chunks`):
//! an import must not hold up syncs.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use super::fleet::{pct, phones, round};
use super::sync::copy_of;
use super::{Part, Row};
use crate::{Phone, TestServer};

const PHONES: usize = 20;
const PER_PHONE: usize = 10;
const ROUNDS: usize = 10;
const HALF_OPEN: usize = 1000;
const LOGIN_LOOPS: usize = 64;
/// Households in each roster imported during the import phase.
const SHEET: usize = 2000;

/// This process's resident memory, MiB (Linux; 0 elsewhere).
fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// The rounds; the phones' sync latencies, ms, sorted.
async fn rounds(mut phones: Vec<Phone>) -> Vec<f64> {
    let mut latencies = Vec::new();
    for n in 0..ROUNDS {
        round(&mut phones, n, &mut latencies).await;
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

/// What the attacker managed.
#[derive(Default)]
struct Attack {
    connections: AtomicUsize,
    logins: AtomicUsize,
}

/// Starts the attack on `addr` until `stop`.
fn attack(addr: std::net::SocketAddr, stop: Arc<AtomicBool>, done: Arc<Attack>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    // 1,000 half-open requests, each reopened when the server cuts it off.
    for n in 0..HALF_OPEN {
        let (stop, done) = (stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                done.connections.fetch_add(1, Ordering::Relaxed);
                let _ = s.write_all(format!("GET /api/health HTTP/1.1\r\nHost: x\r\nX-N: {n}").as_bytes()).await;
                let mut buf = [0u8; 64];
                // Waits until the server closes it (or the attack ends).
                while !stop.load(Ordering::Relaxed) {
                    let read = tokio::io::AsyncReadExt::read(&mut s, &mut buf);
                    if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(500), read).await {
                        break;
                    }
                }
            }
        }));
    }
    // 64 login loops over made-up logins: each try is a password hash on the server.
    for n in 0..LOGIN_LOOPS {
        let (stop, done) = (stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let http = crate::http();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let body = serde_json::json!({"login": format!("x{n}-{}", i / 4), "password": "guess guess", "device_id": "d"});
                let _ = http.post(format!("http://{addr}/api/login")).json(&body).send().await;
                done.logins.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    tasks
}

/// A roster of `SHEET` new households, numbered from `first`, one member each.
fn sheet(first: usize) -> String {
    let mut csv = "户编码,县,乡镇,安置点,网格,住址,成员编号,姓名,与户主关系\n".to_owned();
    for i in first..first + SHEET {
        csv.push_str(&format!("R{i:06},云岭县,栋川镇,阳光社区,1栋,新{i}号,a,新户{i},户主\n"));
    }
    csv
}

/// Imports rosters of new households one after another until `stop`: households
/// imported, and seconds per import.
async fn importing(base: String, stop: Arc<AtomicBool>) -> (usize, Vec<f64>) {
    let admin =
        Phone::login_with(&base, "admin", server::demo::DEMO_PASSWORD, "bench-admin").await.expect("admin login");
    let (mut imported, mut seconds) = (0, Vec::new());
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let resp = admin.import_roster(&sheet(imported)).await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap_or_default());
        seconds.push(started.elapsed().as_secs_f64());
        imported += SHEET;
    }
    (imported, seconds)
}

/// Runs on a copy of the seeded county `seeded` (SQLite).
pub async fn run(work: &Path, seeded: &Path) -> Part {
    let server = TestServer::start(&copy_of(seeded, &work.join("hostile.sqlite3"))).await;
    let quiet = rounds(phones(&server, "quiet", PHONES, PER_PHONE).await).await;
    let honest = phones(&server, "attacked", PHONES, PER_PHONE).await;
    let rss_before = resident_mib();
    let (stop, done) = (Arc::new(AtomicBool::new(false)), Arc::new(Attack::default()));
    let tasks = attack(server.addr, stop.clone(), done.clone());
    // Let the attack build up, then measure the phones under it, sampling memory.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_peak = Arc::new(std::sync::Mutex::new(resident_mib()));
    let sampler = {
        let (stop, peak) = (stop.clone(), rss_peak.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let now = resident_mib();
                if let Ok(mut p) = peak.lock() {
                    *p = p.max(now);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let started = Instant::now();
    let attacked = rounds(honest).await;
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    for t in tasks {
        let _ = t.await;
    }
    // Roster imports under way while the phones sync.
    let honest = phones(&server, "importing", PHONES, PER_PHONE).await;
    let stop_import = Arc::new(AtomicBool::new(false));
    let importer = tokio::spawn(importing(server.url(""), stop_import.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during_import = rounds(honest).await;
    stop_import.store(true, Ordering::Relaxed);
    let (households_imported, import_seconds) = importer.await.expect("importer");
    server.stop().await;
    let ip99 = pct(&during_import, 0.99);
    let per_import = import_seconds.iter().sum::<f64>() / import_seconds.len().max(1) as f64;
    let (qp99, ap99) = (pct(&quiet, 0.99), pct(&attacked, 0.99));
    let peak = rss_peak.lock().map(|p| *p).unwrap_or(0.0);
    let (connections, logins) = (done.connections.load(Ordering::Relaxed), done.logins.load(Ordering::Relaxed));
    let rows = vec![
        Row {
            figure: format!(
                "sync p99 of {PHONES} phones while a client holds {HALF_OPEN} half-open connections and runs {LOGIN_LOOPS} login loops, SQLite"
            ),
            value: format!("p99 {ap99:.0} ms against {qp99:.0} ms quiet ({:.1}×)", ap99 / qp99.max(0.001)),
            target: "≤ 2× the quiet p99".into(),
            met: Some(ap99 <= 2.0 * qp99),
            floor: None,
            detail: format!(
                "{PHONES} phones × {PER_PHONE} households × {ROUNDS} rounds in {seconds:.1} s under attack; the \
                 attacker opened {connections} connections and made {logins} login attempts meanwhile; all on \
                 loopback, the attacker sharing the 2 cores"
            ),
        },
        Row {
            figure: "resident memory (server and all clients) during that attack".into(),
            value: format!("{peak:.0} MiB at most, {rss_before:.0} MiB before"),
            target: "bounded (report)".into(),
            met: None,
            floor: None,
            detail: "sampled every 200 ms from /proc/self/status; half-sent headers are cut after 15 s, login \
                     bodies are at most 64 KiB and password hashes run half the cores at once"
                .into(),
        },
        Row {
            figure: format!(
                "sync p99 of {PHONES} phones while an admin imports rosters of {SHEET} new households, SQLite"
            ),
            value: format!("p99 {ip99:.0} ms against {qp99:.0} ms quiet ({:.1}×)", ip99 / qp99.max(0.001)),
            target: "≤ 2× the quiet p99".into(),
            met: Some(ip99 <= 2.0 * qp99),
            floor: None,
            detail: format!(
                "{} imports ({households_imported} households) of {per_import:.1} s each on average, preview and \
                 confirmation, back to back while the phones synced; {} households per write transaction",
                import_seconds.len(),
                server::roster::IMPORT_CHUNK
            ),
        },
    ];
    Part { part: "hostile".into(), rows, notes: Vec::new() }
}
