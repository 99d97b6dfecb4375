//! Two cadres edit the same household offline — different fields, the same field, and
//! each adds a member — then sync, in both orders. Both phones and the server end with
//! the same document holding every edit, and the same-field clash listed as a conflict.

use huhujian_tests::Phone;
use shared::{EmploymentStatus, LabourCapacity, Member, Stamp, VisitMode};

use std::sync::Arc;

use huhujian_tests::TestServer;
use server::doc_cache::DocCache;

use crate::{roster_server, roster_store};

async fn offline_edits_then_sync(c1_first: bool) {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    let mut c2 = Phone::login(&server, "c2", "phone-c2").await;
    c1.want(&["H1", "H2", "H3"]);
    c2.want(&["H1", "H4"]);
    let first = c1.sync().await;
    assert!(first.refused.is_empty(), "{:?}", first.refused);
    c2.sync().await;
    assert_eq!(c1.docs["H1"].heads(), c2.docs["H1"].heads(), "both downloaded the same H1");

    // Offline now. c1 records November's visit; c2 corrects the address and the same
    // income differently; each adds a member.
    let s1 = Stamp::new("c1", "李明", 1_795_000_000);
    let s2 = Stamp::new("c2", "张华", 1_795_000_500);
    c1.docs
        .get_mut("H1")
        .unwrap()
        .edit(&s1, |h| {
            let v = h.visits.entry("2026-11".into()).or_default();
            v.mode = Some(VisitMode::InPerson);
            v.employment.entry("a".into()).or_default().status = Some(EmploymentStatus::Employed);
            v.income.wage = Some(5200);
            h.members.insert(
                "c1n1".into(),
                Member { name: "李小龙".into(), labour: Some(LabourCapacity::None), ..Default::default() },
            );
        })
        .unwrap();
    c2.docs
        .get_mut("H1")
        .unwrap()
        .edit(&s2, |h| {
            h.facts.address = "1栋101室（已核实）".into();
            h.visits.entry("2026-11".into()).or_default().income.wage = Some(4800);
            h.members.insert("c2n1".into(), Member { name: "王小芳".into(), ..Default::default() });
        })
        .unwrap();

    let (a, b) = if c1_first { (&mut c1, &mut c2) } else { (&mut c2, &mut c1) };
    let ra = a.sync().await;
    let rb = b.sync().await;
    let ra2 = a.sync().await; // a picks up what b brought
    assert!(ra.refused.is_empty() && rb.refused.is_empty() && ra2.refused.is_empty());
    assert!(rb.round_trips <= 3, "{} round trips", rb.round_trips);

    let h1 = &c1.docs["H1"];
    assert_eq!(h1.heads(), c2.docs["H1"].heads(), "phones converge");
    let on_server = server.peek().documents().into_iter().find(|(id, _)| id == "H1").unwrap().1;
    let server_doc = shared::HouseholdDoc::load(&on_server, shared::automerge::ActorId::random()).unwrap();
    assert_eq!(server_doc.heads(), h1.heads(), "server holds the same document");

    let h = h1.household().unwrap();
    assert_eq!(h.facts.address, "1栋101室（已核实）", "c2's different-field edit kept");
    assert!(h.visits["2026-11"].is_in_person(), "c1's visit kept");
    assert_eq!(h.visits["2026-11"].employment["a"].status, Some(EmploymentStatus::Employed));
    assert!(h.members.contains_key("c1n1") && h.members.contains_key("c2n1"), "both new members kept");

    let conflicts = h1.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].key, "v/2026-11/i/wage");
    let mut values: Vec<(String, String)> =
        conflicts[0].values.iter().map(|v| (v.author.clone().unwrap().user, v.value.to_string())).collect();
    values.sort();
    assert_eq!(values, [("c1".into(), "5200".into()), ("c2".into(), "4800".into())]);

    // The supervisor's review queue lists it, with both values and who entered them.
    let s = Phone::login(&server, "s1", "desk-s1").await;
    let queue: Vec<serde_json::Value> = s.get_json("/api/conflicts").await;
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(queue[0]["household_id"], "H1");
    assert_eq!(queue[0]["field_zh"], "2026-11 走访 · 工资性收入");
    assert_eq!(queue[0]["values"].as_array().unwrap().len(), 2);

    // The server recorded who uploaded each change.
    let history: Vec<serde_json::Value> = s.get_json("/api/households/H1/history").await;
    let uploaders: Vec<&str> = history.iter().filter_map(|e| e["uploaded_by"].as_str()).collect();
    assert!(uploaders.contains(&"c1") && uploaders.contains(&"c2"), "{uploaders:?}");
}

#[tokio::test]
async fn offline_edits_merge_when_c1_syncs_first() {
    offline_edits_then_sync(true).await;
}

#[tokio::test]
async fn offline_edits_merge_when_c2_syncs_first() {
    offline_edits_then_sync(false).await;
}

#[tokio::test]
async fn a_batch_syncs_in_few_round_trips_and_resyncing_is_cheap() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    c1.want(&["H1", "H2", "H3"]);
    let download = c1.sync().await;
    assert!(download.round_trips <= 3, "first download took {} round trips", download.round_trips);
    let stamp = Stamp::new("c1", "李明", 1_795_000_000);
    for doc in c1.docs.values_mut() {
        doc.edit(&stamp, |h| h.visits.entry("2026-11".into()).or_default().mode = Some(VisitMode::Phone)).unwrap();
    }
    let upload = c1.sync().await;
    assert!(upload.round_trips <= 3, "upload took {} round trips", upload.round_trips);
    let idle = c1.sync().await;
    assert!(idle.round_trips <= 1, "nothing to do took {} round trips", idle.round_trips);
    // Coverage projection was updated in the same transaction: phone visits do not count.
    let s = Phone::login(&server, "s1", "desk").await;
    let rows: Vec<serde_json::Value> = s.get_json("/api/coverage?period=2026-11&by=site").await;
    assert_eq!(rows[0]["assigned"], 3);
    assert_eq!(rows[0]["visited"], 0);
}

/// A server keeps the documents its merges loaded, and merges the next upload into
/// them without loading the stored bytes again; but only while the database still
/// holds exactly them. Here a second server on the same database (another process
/// behind the load balancer, keeping nothing) merges an edit in between: the first
/// server's kept document is then behind, it loads the stored one, and nothing is lost.
#[tokio::test]
async fn a_kept_document_is_used_only_while_the_database_holds_exactly_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path, pg) = roster_store(&dir).await;
    let kept = Arc::new(DocCache::default());
    let warm = TestServer::start_with_docs(store.clone(), &path, kept.clone()).await;
    // Dropped with it, after the other: the PostgreSQL database they share.
    let warm = match pg {
        Some(pg) => warm.owning(pg),
        None => warm,
    };
    let cold = TestServer::start_with_docs(store.clone(), &path, Arc::new(DocCache::with_mb(0))).await;
    let mut c1 = Phone::login(&warm, "c1", "phone-c1").await;
    let mut c2 = Phone::login(&cold, "c2", "phone-c2").await;
    c1.want(&["H1", "H2"]);
    c2.want(&["H1"]);
    c1.sync().await;
    c2.sync().await;
    assert_eq!(kept.stats().documents, 2, "the download's documents are kept");

    // c1's upload through the warm server merges into the documents it kept.
    let visit = |wage: i64| {
        move |h: &mut shared::Household| {
            let v = h.visits.entry("2026-11".into()).or_default();
            v.mode = Some(VisitMode::InPerson);
            v.income.wage = Some(wage);
        }
    };
    let s1 = Stamp::new("c1", "李明", 1_795_000_000);
    for id in ["H1", "H2"] {
        c1.docs.get_mut(id).unwrap().edit(&s1, visit(5200)).unwrap();
    }
    let before = kept.stats();
    assert!(c1.sync().await.refused.is_empty());
    let after = kept.stats();
    assert!(after.hits - before.hits >= 2 && after.misses == before.misses, "merged without loading: {after:?}");

    // c2, through the other server, corrects H1's address: the database moves on.
    c2.sync().await;
    let s2 = Stamp::new("c2", "张华", 1_795_000_500);
    c2.docs.get_mut("H1").unwrap().edit(&s2, |h| h.facts.address = "1栋101室（已核实）".into()).unwrap();
    assert!(c2.sync().await.refused.is_empty());

    // c1's next visit to H1 goes through the warm server again: what it kept is behind.
    let s3 = Stamp::new("c1", "李明", 1_795_001_000);
    c1.docs
        .get_mut("H1")
        .unwrap()
        .edit(&s3, |h| {
            h.members.insert("n1".into(), Member { name: "李小龙".into(), ..Default::default() });
        })
        .unwrap();
    let before = kept.stats();
    assert!(c1.sync().await.refused.is_empty());
    let after = kept.stats();
    assert_eq!(after.misses - before.misses, 1, "H1 loaded again: {after:?}");
    c2.sync().await;

    let on_server = warm.peek().documents().into_iter().find(|(id, _)| id == "H1").unwrap().1;
    let stored = shared::HouseholdDoc::load(&on_server, shared::automerge::ActorId::random()).unwrap();
    assert_eq!(stored.heads(), c1.docs["H1"].heads(), "c1 and the database agree");
    assert_eq!(stored.heads(), c2.docs["H1"].heads(), "c2 and the database agree");
    let h = stored.household().unwrap();
    assert_eq!(h.facts.address, "1栋101室（已核实）", "c2's edit through the other server kept");
    assert_eq!(h.visits["2026-11"].income.wage, Some(5200), "c1's visit kept");
    assert!(h.members.contains_key("n1"), "c1's later edit kept");
    cold.stop().await;
    warm.stop().await;
}
