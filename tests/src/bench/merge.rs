//! Server merge throughput: documents merged and committed durably (WAL,
//! `synchronous=FULL`) per second, when phones upload a new visit in each of their
//! households; and where the time goes, step by step, for the same work done in
//! process with the server's own functions.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use server::auth::now;
use server::store;
use shared::automerge::sync::State;
use shared::automerge::{Automerge, ChangeHash};
use shared::{Date, wire};

use super::sync::{CADRE, copy_of, current_period, phone_with_households, record_visits};
use super::{Part, Row};
use crate::TestServer;
use crate::pg::PgDb;

/// Uploads measured, each on a fresh copy of the county.
const RUNS: usize = 5;

/// A copy of the seeded county in the state merges leave it in: household `i` (by id)
/// is stored as its document saved whole without its last `i mod COMPACT_AFTER`
/// changes (its latest visits), followed by those changes as appended chunks, as if
/// merges had brought them since its last whole save. A merge then loads them too,
/// and one in eight compacts.
fn aged_copy(seeded: &Path, to: &Path) -> PathBuf {
    let path = copy_of(seeded, to);
    let db = server::store::sqlite::Sqlite::open(&path).expect("open");
    let mut conn = db.lock();
    let tx = conn.transaction().expect("tx");
    let stored: Vec<(String, Vec<u8>)> = tx
        .prepare("SELECT id, doc FROM households ORDER BY id")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .expect("documents");
    for (i, (id, bytes)) in stored.iter().enumerate() {
        let doc = Automerge::load(bytes).expect("loads");
        let all = doc.get_changes(&[]);
        let tail = (i % store::COMPACT_AFTER as usize).min(all.len() - 1);
        let (base, appended) = all.split_at(all.len() - tail);
        let deps: HashSet<ChangeHash> = base.iter().flat_map(|c| c.deps().to_vec()).collect();
        let heads: Vec<ChangeHash> = base.iter().map(|c| c.hash()).filter(|h| !deps.contains(h)).collect();
        let mut aged = doc.fork_at(&heads).expect("fork").save();
        for change in appended {
            aged.extend_from_slice(change.raw_bytes());
        }
        assert_eq!(Automerge::load(&aged).expect("aged loads").get_heads(), doc.get_heads(), "{id}");
        tx.execute("UPDATE households SET doc = ?2, doc_changes = ?3 WHERE id = ?1", (id, &aged, tail as i64))
            .expect("update");
    }
    tx.commit().expect("commit");
    path
}

/// Where a series of uploads runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Sqlite,
    Postgres,
}

/// Whether the server still holds the documents the phone's download loaded
/// (`serve --doc-cache-mb`'s default), or holds none and loads every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Memory {
    Warm,
    Cold,
}

/// One series: documents/s of each upload as the server served it, and with the
/// phone's own work, both sorted.
struct Series {
    served: Vec<f64>,
    whole: Vec<f64>,
}

impl Series {
    fn median(v: &[f64]) -> f64 {
        v[v.len() / 2]
    }
}

/// Runs the merge benchmark on copies of the seeded county `seeded`.
pub async fn run(work: &Path, seeded: &Path) -> Part {
    let mut rows = Vec::new();
    let mut households = 0;
    for engine in [Engine::Sqlite, Engine::Postgres] {
        for memory in [Memory::Warm, Memory::Cold] {
            match uploads(work, seeded, engine, memory).await {
                Ok((series, n)) => {
                    households = n;
                    rows.push(row(engine, memory, &series, n));
                }
                Err(e) => rows.push(Row {
                    figure: format!("{} merge throughput", describe(engine, memory)),
                    value: format!("not measured: {e}"),
                    target: "≥ 1,500".into(),
                    met: None,
                    floor: None,
                    detail: "set HUHUJIAN_TEST_PG, or run a PostgreSQL on 127.0.0.1:5432".into(),
                }),
            }
        }
    }
    rows.push(loaded_memory(seeded));
    let profile = profile(work, seeded).await;
    let total: Duration = profile.iter().map(|s| s.1).sum();
    let per_doc = |d: Duration| d.as_secs_f64() * 1e3 / households.max(1) as f64;
    let breakdown = profile
        .iter()
        .map(|(step, d)| {
            format!("{step} {:.2} ms ({:.0} %)", per_doc(*d), 100.0 * d.as_secs_f64() / total.as_secs_f64())
        })
        .collect::<Vec<_>>()
        .join("; ");
    if let Some(first) = rows.first_mut() {
        first.detail.push_str(&format!(
            " Per document, in process on one thread, loading the stored bytes (the server runs the steps \
             from parse to answer on every core): {breakdown}"
        ));
    }
    let notes = vec![format!(
        "merge: profile of the server's steps per document, the same work in process on a copy: {:.2} ms in all",
        per_doc(total)
    )];
    Part { part: "merge".into(), rows, notes }
}

/// What a loaded household document takes in memory against its stored size: the
/// estimate `--doc-cache-mb` budgets with (`doc_cache::MEMORY_PER_STORED_BYTE`).
/// Measured in a process of its own ([`probe_loaded_memory`], this program run as
/// `bench loaded-memory FILE`), whose allocator has no freed memory to reuse yet.
fn loaded_memory(seeded: &Path) -> Row {
    let probe = std::env::current_exe()
        .and_then(|exe| std::process::Command::new(exe).arg("loaded-memory").arg(seeded).output());
    let figures: Option<(usize, usize, usize)> = probe.ok().filter(|o| o.status.success()).and_then(|o| {
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let mut n = text.split_whitespace().map(|w| w.parse::<usize>().ok());
        Some((n.next()??, n.next()??, n.next()??))
    });
    let limit = server::doc_cache::MEMORY_PER_STORED_BYTE;
    let (value, met, n) = match figures {
        Some((n, stored, grew)) => {
            let ratio = grew as f64 / stored as f64;
            let value = format!(
                "{:.1} KB a household ({ratio:.1}× its {:.1} KB stored)",
                grew as f64 / n as f64 / 1e3,
                stored as f64 / n as f64 / 1e3
            );
            (value, Some(ratio <= limit as f64), n)
        }
        None => ("not measured: the probe failed (it reads /proc/self/statm)".into(), None, 0),
    };
    Row {
        figure: "memory of a loaded household document (what `serve --doc-cache-mb` holds)".into(),
        value,
        target: format!("≤ {limit}× its stored size (the estimate the budget uses)"),
        met,
        floor: None,
        detail: format!(
            "the growth of a fresh process's resident memory while all {n} documents of the benchmark county \
             are loaded and held at once (mimalloc, as the server); it counts what loading left free for \
             reuse too, so it errs high"
        ),
    }
}

/// `bench loaded-memory FILE`: loads every stored document of the SQLite file and
/// holds them; prints how many, their stored bytes and the growth of resident memory.
pub fn probe_loaded_memory(file: &Path) -> String {
    let resident = || -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
        statm.split_whitespace().nth(1).and_then(|p| p.parse::<usize>().ok()).expect("resident pages") * 4096
    };
    let db = server::store::sqlite::Sqlite::open(file).expect("open");
    let stored: Vec<Vec<u8>> = {
        let conn = db.lock();
        conn.prepare("SELECT doc FROM households")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("documents")
    };
    let stored_bytes: usize = stored.iter().map(Vec::len).sum();
    let before = resident();
    let loaded: Vec<Automerge> = stored.iter().map(|b| Automerge::load(b).expect("loads")).collect();
    let grew = resident().saturating_sub(before);
    format!("{} {stored_bytes} {grew}", loaded.len())
}

/// The words for a series' engine and memory.
fn describe(engine: Engine, memory: Memory) -> String {
    let engine = match engine {
        Engine::Sqlite => "server merge throughput, durable (WAL, synchronous=FULL)",
        Engine::Postgres => "server merge throughput on PostgreSQL, durable (synchronous_commit on)",
    };
    let memory = match memory {
        Memory::Warm => "documents still loaded from the phone's download",
        Memory::Cold => "no document in memory (every one loaded from its stored bytes)",
    };
    format!("{engine}, one new visit per document, {memory}")
}

fn row(engine: Engine, memory: Memory, series: &Series, households: usize) -> Row {
    let median = Series::median(&series.served);
    let detail = match (engine, memory) {
        (Engine::Sqlite, _) => format!(
            "one phone downloads its {households} households, records a visit in each, and uploads them in one \
             POST /api/sync on loopback (one transaction, committed before the answer); time from sending the \
             request to receiving the answer (with the phone's own work, its {households} messages before and \
             applying the answers after: {:.0} documents/s). The stored documents carry 0 to 7 appended change \
             chunks (household i has i mod 8), as merges leave them.{}",
            Series::median(&series.whole),
            match memory {
                Memory::Warm =>
                    " The server keeps the documents its answers to the download loaded \
                                 (`serve --doc-cache-mb`, default 256), as when a cadre uploads the day's visits \
                                 soon after the morning's download.",
                Memory::Cold =>
                    " The server keeps no loaded document (`--doc-cache-mb 0`), as when the \
                                 documents went from memory between download and upload.",
            }
        ),
        (Engine::Postgres, _) => "the same uploads as above, each on the same aged county moved into a fresh \
                                  PostgreSQL database (`server migrate`'s code) on this machine (PostgreSQL 15, \
                                  default settings, loopback): one transaction per request, the households' rows \
                                  locked FOR UPDATE first, committed before the answer"
            .into(),
    };
    Row {
        figure: describe(engine, memory),
        value: format!(
            "{median:.0} documents/s (median of {RUNS} uploads of {households}: {})",
            series.served.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", ")
        ),
        target: "≥ 1,500".into(),
        met: Some(median >= 1500.0),
        floor: None,
        detail,
    }
}

/// [`RUNS`] uploads on `engine`, each on a fresh aged copy of `seeded`, with the
/// documents of the phone's download kept in memory or not; and how many households
/// each uploaded.
async fn uploads(work: &Path, seeded: &Path, engine: Engine, memory: Memory) -> Result<(Series, usize), String> {
    let period = current_period();
    let mb = match memory {
        Memory::Warm => server::doc_cache::DEFAULT_MB,
        Memory::Cold => 0,
    };
    let (mut served, mut whole) = (Vec::new(), Vec::new());
    let mut households = 0;
    for run in 0..RUNS {
        let name = format!("merge-{engine:?}-{memory:?}-{run}");
        let aged = aged_copy(seeded, &work.join(format!("{name}.sqlite3")));
        let mut pg = None;
        let store = match engine {
            Engine::Sqlite => server::store::Store::open_sqlite(&aged).map_err(|e| e.to_string())?,
            Engine::Postgres => {
                let db = PgDb::try_create().await?;
                server::store::transfer::sqlite_to_postgres(&aged, &db.url).await.map_err(|e| e.to_string())?;
                let store = server::store::Store::open(&db.url).await.map_err(|e| e.to_string())?;
                pg = Some(db);
                store
            }
        };
        let served_from = if pg.is_some() { PathBuf::from("postgres") } else { aged.clone() };
        let docs = std::sync::Arc::new(server::doc_cache::DocCache::with_mb(mb));
        let server = TestServer::start_with_docs(store.clone(), &served_from, docs).await;
        let mut phone = phone_with_households(&server, CADRE, &name).await;
        households = phone.docs.len();
        record_visits(&mut phone, period, CADRE);
        let started = Instant::now();
        let report = phone.try_sync().await?;
        let took = started.elapsed();
        assert!(report.refused.is_empty(), "refused: {:?}", report.refused);
        assert_eq!(report.round_trips, 1, "one request");
        let all = server::store::Selection {
            scope: server::store::Scope::All,
            filter: server::store::HouseholdFilter::default(),
        };
        let visited = store.read(move |r| r.indicators(&all, period)).await.map_err(|e| e.to_string())?;
        assert_eq!(visited.visited_in_person as usize, households, "every visit stored");
        // The server's time: from the request leaving the phone to its answer arriving.
        // The phone's own work (its messages before, applying the answers after) is not
        // the server's throughput; it is reported beside it.
        let latency: Duration = report.latencies.iter().sum();
        served.push(households as f64 / latency.as_secs_f64());
        whole.push(households as f64 / took.as_secs_f64());
        server.stop().await;
        store.close().await.map_err(|e| e.to_string())?;
        drop(pg);
    }
    served.sort_by(f64::total_cmp);
    whole.sort_by(f64::total_cmp);
    Ok((Series { served, whole }, households))
}

/// The server's steps for one upload (see `server::sync::sync_one`), timed one by one
/// over every household of a fresh copy.
async fn profile(work: &Path, seeded: &Path) -> Vec<(&'static str, Duration)> {
    let path = aged_copy(seeded, &work.join("merge-profile.sqlite3"));
    let server = TestServer::start(&path).await;
    let mut phone = phone_with_households(&server, CADRE, "bench-profile").await;
    server.stop().await;
    record_visits(&mut phone, current_period(), CADRE);
    let messages: Vec<(String, Vec<u8>)> = phone
        .docs
        .iter()
        .map(|(id, doc)| {
            let mut state =
                phone.states.get(id).map(|s| State::decode(&s.encode()).unwrap_or_default()).expect("synced");
            (id.clone(), doc.sync_message(&mut state).expect("a message"))
        })
        .collect();
    let db = server::store::sqlite::Sqlite::open(&path).expect("open");
    let today = Date::in_china(now());
    let mut steps: Vec<(&'static str, Duration)> = [
        "read row",
        "load the stored bytes with the message's changes, receive it, list and read back the new changes \
         (wire::load_and_receive)",
        "check layout (and count conflicts)",
        "validate",
        "bytes to store (append, or save whole every 8th) + projections",
        "answer",
        "log changes (SQL)",
        "write row + summaries (SQL)",
    ]
    .into_iter()
    .map(|s| (s, Duration::ZERO))
    .collect();
    let mut time = |i: usize, started: Instant| steps[i].1 += started.elapsed();
    // The steps of `server::merge`, one by one and on one thread, in one transaction.
    let mut commit = Instant::now();
    db.write_blocking(|tx| {
        for (id, message) in &messages {
            let t = Instant::now();
            let stored = tx.stored_doc(id).expect("row").expect("exists");
            time(0, t);
            let t = Instant::now();
            let mut state = State::new();
            let heads = stored.heads.as_ref().expect("heads stored");
            let (merged, new) =
                wire::load_and_receive(&stored.bytes, heads, store::server_actor(), &mut state, message)
                    .expect("merged");
            time(1, t);
            let t = Instant::now();
            let (household, conflicts) = merged.check_counting_conflicts().expect("layout");
            time(2, t);
            let t = Instant::now();
            let problems = shared::validate(&household, today).len();
            time(3, t);
            let t = Instant::now();
            let (bytes, doc_changes) = store::merged_bytes(id, &stored.bytes, stored.changes, &merged, &new);
            let projection =
                store::Projection::counted(&household, conflicts, problems, today, &shared::Settings::default())
                    .expect("projection");
            time(4, t);
            let t = Instant::now();
            let _ = wire::answer(&merged, &mut state);
            time(5, t);
            let t = Instant::now();
            tx.log_changes(id, &new.hashes, CADRE, "bench-profile", now()).expect("log");
            time(6, t);
            let t = Instant::now();
            let heads = merged.heads();
            let doc = store::DocWrite {
                id,
                bytes: &bytes,
                doc_changes,
                heads: &heads,
                household: &household,
                projection: &projection,
            };
            tx.write_doc(&doc, now()).expect("write");
            time(7, t);
        }
        commit = Instant::now();
        Ok::<_, store::StoreError>(())
    })
    .expect("the profile's transaction");
    steps.push(("commit", commit.elapsed()));
    steps
}
