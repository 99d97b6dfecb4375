//! Scale-out on PostgreSQL: two server *processes* on one database, three phones
//! syncing the same households through both at once, one process SIGKILLed at a
//! random moment in every cycle and restarted. After every kill the database holds
//! every change either process acknowledged; at the end every phone and the database
//! converge, and the indicators the server answers equal what the documents say.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use huhujian_tests::pg::PgDb;
use huhujian_tests::seed_store;
use server::auth::Role;
use server::store::{HouseholdFilter, Scope, Selection, Store};
use shared::HouseholdDoc;

use crate::crash::{Client, Rng, ServerProcess, check_acknowledged, phones_and_households, roster, server_binary};

const CLIENTS: usize = 3;
const HOUSEHOLDS: usize = 6;
/// Kill/restart cycles; `HUHUJIAN_SCALE_OUT_CYCLES` overrides.
const CYCLES: usize = 10;
const MAX_DELAY_MS: u64 = 300;
const SEED: u64 = 0x5343_414c_454f_5554; // "SCALEOUT"

/// Every household's stored document.
async fn stored(store: &Store) -> BTreeMap<String, HouseholdDoc> {
    store
        .read(|r| {
            let all = Selection { scope: Scope::All, filter: HouseholdFilter::default() };
            let mut out = BTreeMap::new();
            for id in r.household_ids(&all)? {
                if let Some(doc) = r.load_doc(&id)? {
                    out.insert(id, doc);
                }
            }
            Ok(out)
        })
        .await
        .expect("the stored documents load")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_database_one_killed_at_random_keep_everything() {
    let started = Instant::now();
    let bin = server_binary();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("servers.log");
    let pg = PgDb::create().await;
    let store = Store::open(&pg.url).await.unwrap();

    // 3 phones × 4 households out of 6: each household is shared by two phones.
    let (logins, assign, households_of) = phones_and_households(CLIENTS, HOUSEHOLDS);
    let mut users: Vec<(&str, &str, Role, Option<&str>)> =
        logins.iter().map(|l| (l.as_str(), "干部", Role::Cadre, None)).collect();
    users.push(("admin", "管理员", Role::Admin, None));
    seed_store(&store, &users, &roster(&assign)).await;

    let url = Path::new(&pg.url);
    let mut servers = [ServerProcess::start(&bin, url, &log), ServerProcess::start(&bin, url, &log)];
    let mut clients = Vec::new();
    for (i, (login, households)) in logins.iter().zip(&households_of).enumerate() {
        let base = servers[i % 2].base.clone();
        let mut c = Client::login(&base, login, households).await;
        c.sync(&base).await.expect("first download");
        clients.push(c);
    }

    let cycles = std::env::var("HUHUJIAN_SCALE_OUT_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(CYCLES);
    let mut rng = Rng(SEED);
    let mut checked = 0;
    for cycle in 0..cycles {
        let victim = rng.below(2) as usize;
        let delay = Duration::from_millis(rng.below(MAX_DELAY_MS + 1));
        let stop = Arc::new(AtomicBool::new(false));
        // Phone i syncs through process (i + cycle) mod 2: the same households go
        // through both processes at once.
        let tasks: Vec<_> = clients
            .drain(..)
            .enumerate()
            .map(|(i, c)| {
                let base = servers[(i + cycle) % 2].base.clone();
                tokio::spawn(c.run_until(base, rng.next(), stop.clone()))
            })
            .collect();
        tokio::time::sleep(delay).await;
        let [a, b] = servers;
        let (killed, survivor) = if victim == 0 { (a, b) } else { (b, a) };
        killed.kill();
        // The phones on the survivor finish the session under way.
        stop.store(true, Ordering::SeqCst);
        for t in tasks {
            clients.push(t.await.unwrap());
        }
        let after = format!("kill {} of process {victim} after {delay:?}", cycle + 1);
        checked = check_acknowledged(&stored(&store).await, &clients, &after);
        let restarted = ServerProcess::start(&bin, url, &log);
        servers = if victim == 0 { [restarted, survivor] } else { [survivor, restarted] };
    }

    // Both up for good: the phones sync in turn, through alternating processes, until
    // all agree with the database.
    let mut passes = 0;
    let on_server = loop {
        passes += 1;
        for (i, c) in clients.iter_mut().enumerate() {
            let base = servers[(i + passes) % 2].base.clone();
            c.sync(&base).await.unwrap_or_else(|e| panic!("final sync of {}: {e}", c.login));
        }
        let on_server = stored(&store).await;
        let agree = clients.iter().all(|c| c.replica.docs.iter().all(|(id, d)| d.heads() == on_server[id].heads()));
        if (agree && passes >= 2) || passes == 4 {
            break on_server;
        }
    };
    for c in &clients {
        for (id, doc) in &c.replica.docs {
            assert_eq!(doc.heads(), on_server[id].heads(), "{} and the database differ on {id}", c.login);
        }
    }
    checked = checked.max(check_acknowledged(&on_server, &clients, "the end"));

    // What the server says equals what the documents say.
    let console = huhujian_tests::TestServer::start_with(store.clone(), Path::new("postgres")).await;
    let admin = huhujian_tests::Phone::login(&console, "admin", "desk").await;
    let households: Vec<shared::Household> = on_server.values().map(|d| d.household().unwrap()).collect();
    let settings: shared::Settings = admin.get_json("/api/settings").await;
    for period in ["2026-01", "2026-06", "2026-12"] {
        let report: server::api::dashboard::IndicatorReport =
            admin.get_json(&format!("/api/indicators?period={period}")).await;
        let expected = shared::indicators::indicators(&households, period.parse().unwrap(), &settings);
        assert_eq!(report.indicators, expected, "indicators of {period}");
    }
    let edits: u64 = clients.iter().map(|c| c.edits).sum();
    let cut: u64 = clients.iter().map(|c| c.cut).sum();
    println!(
        "scale-out test: {cycles} kills of one of two processes; {checked} acknowledged changes checked; \
         {edits} edits; {cut} sessions cut; {:.1?}",
        started.elapsed()
    );
    assert!(checked > 50, "too few acknowledged changes to mean anything: {checked}");
}
