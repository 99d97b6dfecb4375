//! Reads and writes do not wait for each other: while long reads (exports) hold every
//! long reader, a phone still syncs, a supervisor's dashboard still answers, and a
//! further export waits its turn instead of taking a sync's place.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use huhujian_tests::{Phone, TestServer};
use server::store::sqlite::LONG_READERS;
use server::store::{HouseholdFilter, Scope, Selection, Store};
use shared::{Stamp, VisitMode};

use crate::roster_db;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// The gate is a std mutex held across awaits on purpose: the held reads block on it on
// blocking threads, which an async mutex could not do.
#[allow(clippy::await_holding_lock)]
async fn a_sync_completes_while_exports_hold_every_long_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = roster_db(&dir);
    let store = Store::open_sqlite(&path).unwrap();
    let server = TestServer::start_with(store.clone(), &path).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    c1.want(&["H1"]);
    assert!(c1.sync().await.refused.is_empty());
    let s1 = Phone::login(&server, "s1", "desk-s1").await;
    let admin = Phone::login(&server, "admin", "desk-admin").await;

    // Every long reader is taken by a read that lasts until the gate opens, each in the
    // middle of reading the whole county, as an export does.
    let gate = Arc::new(Mutex::new(()));
    let held = gate.lock().unwrap();
    let entered = Arc::new(AtomicUsize::new(0));
    let mut holders = Vec::new();
    for _ in 0..LONG_READERS {
        let (store, gate, entered) = (store.clone(), gate.clone(), entered.clone());
        holders.push(tokio::spawn(async move {
            store
                .read_long(move |r| {
                    let all = Selection { scope: Scope::All, filter: HouseholdFilter::default() };
                    let ids = r.household_ids(&all)?;
                    entered.fetch_add(1, Ordering::SeqCst);
                    drop(gate.lock());
                    Ok(ids.len())
                })
                .await
        }));
    }
    for _ in 0..1000 {
        if entered.load(Ordering::SeqCst) == LONG_READERS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(entered.load(Ordering::SeqCst), LONG_READERS, "every long reader is held");
    // One more export is asked for: it must wait for a long reader…
    let export = tokio::spawn(async move { admin.get("/api/export.xlsx").await.status() });

    // …while a phone's visit syncs, and the supervisor's dashboard answers.
    c1.docs
        .get_mut("H1")
        .unwrap()
        .edit(&Stamp::new("c1", "李明", 1_795_000_000), |h| {
            h.visits.entry("2026-11".into()).or_default().mode = Some(VisitMode::InPerson);
        })
        .unwrap();
    let report = tokio::time::timeout(Duration::from_secs(30), c1.sync()).await.expect("the sync did not wait");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let on_server = server.peek().documents().into_iter().find(|(id, _)| id == "H1").unwrap().1;
    let doc = shared::HouseholdDoc::load(&on_server, shared::automerge::ActorId::random()).unwrap();
    assert!(doc.household().unwrap().visits["2026-11"].is_in_person(), "the synced visit is stored");
    let coverage = tokio::time::timeout(Duration::from_secs(30), s1.get("/api/coverage?period=2026-11"))
        .await
        .expect("the dashboard did not wait");
    assert!(coverage.status().is_success());
    assert!(!export.is_finished(), "the third export waits for a long reader");

    // The gate opens: the held reads end, and the waiting export is served.
    drop(held);
    for h in holders {
        assert!(h.await.unwrap().unwrap() >= 1);
    }
    let status = tokio::time::timeout(Duration::from_secs(60), export).await.expect("the export ends").unwrap();
    assert!(status.is_success(), "{status}");
}

/// The first read of a new month finds no household summarised for it: every summary
/// is computed from its document, which takes a while for a county. That is done a
/// step at a time on the writer, so a phone's sync is merged between two steps instead
/// of waiting for the whole county (`server::store::fill_in_steps`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_completes_while_the_first_read_of_a_month_fills_in_its_summaries() {
    use huhujian_tests::bench::sync::{CADRE, seed_county};
    let dir = tempfile::tempdir().unwrap();
    let path = seed_county(&dir.path().join("county.sqlite3"), 60);
    let store = Store::open_sqlite(&path).unwrap();
    let server = TestServer::start_with(store.clone(), &path).await;
    let period = shared::Period::of(shared::Date::in_china(server::auth::now()));
    let look = rusqlite::Connection::open(&path).unwrap();
    let summarised = || -> i64 {
        look.query_row("SELECT COUNT(*) FROM summaries WHERE period = ?1", [period.to_string()], |r| r.get(0)).unwrap()
    };
    let households: i64 = look.query_row("SELECT COUNT(*) FROM households", [], |r| r.get(0)).unwrap();
    assert!(households >= 600, "{households}");
    let id: String = look.query_row("SELECT MIN(id) FROM households", [], |r| r.get(0)).unwrap();
    let password = server::demo::DEMO_PASSWORD;
    let mut phone = Phone::login_with(&server.url(""), CADRE, password, "phone-month").await.unwrap();
    phone.want(&[id.as_str()]);
    assert!(phone.sync().await.refused.is_empty());
    let supervisor = Phone::login_with(&server.url(""), "sup01", password, "desk-sup01").await.unwrap();
    let path_of = format!("/api/indicators?period={period}");
    let before: serde_json::Value = supervisor.get(&path_of).await.json().await.unwrap();

    // The month begins: nobody's summary for it, no grid's kept total.
    look.execute("DELETE FROM summaries WHERE period = ?1", [period.to_string()]).unwrap();
    look.execute("DELETE FROM area_totals WHERE period = ?1", [period.to_string()]).unwrap();
    let read = tokio::spawn(async move { supervisor.get(&path_of).await.json::<serde_json::Value>().await.unwrap() });
    for _ in 0..3000 {
        if summarised() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(summarised() > 0, "the read began filling in");

    // A visit syncs while the read is still filling in: it did not wait for the county.
    phone
        .docs
        .get_mut(&id)
        .unwrap()
        .edit(&Stamp::new(CADRE, "李明", server::auth::now()), |h| {
            h.visits.entry(period.to_string()).or_default().mode = Some(VisitMode::InPerson);
        })
        .unwrap();
    let report = tokio::time::timeout(Duration::from_secs(60), phone.sync()).await.expect("the sync ended");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let when_synced = summarised();
    assert!(!read.is_finished(), "the sync ended before the read");
    assert!(when_synced < households, "the sync ended with {when_synced} of {households} filled in");

    // The read ends with every summary filled in, and counts the new visit.
    let after = tokio::time::timeout(Duration::from_secs(300), read).await.expect("the read ended").unwrap();
    assert_eq!(summarised(), households);
    let visited = |v: &serde_json::Value| v["indicators"]["visited_in_person"].as_i64();
    assert_eq!(visited(&after), visited(&before).map(|n| n + 1), "{after}");
}
