//! A restarted server has everything it acknowledged.

use huhujian_tests::{Phone, TestServer};
use shared::{Stamp, VisitMode};

use crate::roster_server;

#[tokio::test]
async fn a_restarted_server_has_everything_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    c1.want(&["H1", "H2", "H3"]);
    c1.sync().await;
    let stamp = Stamp::new("c1", "李明", 1_795_000_000);
    for doc in c1.docs.values_mut() {
        doc.edit(&stamp, |h| h.visits.entry("2026-11".into()).or_default().mode = Some(VisitMode::InPerson)).unwrap();
    }
    let report = c1.sync().await;
    assert!(report.refused.is_empty());
    let acknowledged: Vec<_> = c1.docs.iter().map(|(id, d)| (id.clone(), d.heads())).collect();
    let path = server.db_path.clone();
    server.stop().await;

    let server = TestServer::start(&path).await;
    for (id, bytes) in server.peek().documents().into_iter().filter(|(id, _)| id != "H4") {
        let doc = shared::HouseholdDoc::load(&bytes, shared::automerge::ActorId::random()).unwrap();
        let heads = &acknowledged.iter().find(|(i, _)| *i == id).unwrap().1;
        assert_eq!(&doc.heads(), heads, "{id} lost acknowledged changes");
    }
    // The session survives the restart too, and a re-sync brings nothing new.
    c1.point_at(&server);
    assert_eq!(c1.list().await.len(), 3);
    let idle = c1.sync().await;
    assert!(idle.refused.is_empty());
    assert_eq!(c1.docs.iter().map(|(id, d)| (id.clone(), d.heads())).collect::<Vec<_>>(), acknowledged);
}
