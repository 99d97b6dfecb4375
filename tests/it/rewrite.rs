//! The way out of the size cap (PROTOCOL.md §4.5): a household filled to
//! `store::MAX_DOC_BYTES` refuses every later visit until an administrator rewrites its
//! history; then the phone that held the refused visit, and another that holds the
//! retired history with nothing unsynced, both replace their copy, the visit arrives,
//! and nothing of the old history comes back.

use huhujian_tests::Phone;
use shared::automerge::transaction::Transactable;
use shared::automerge::{ActorId, ROOT};
use shared::{HouseholdDoc, Stamp, VisitMode};

use crate::roster_server;

/// `n` changes to H1's address, each 2,000 random CJK characters (the longest text
/// allowed, and barely compressible).
fn grow(doc: &mut HouseholdDoc, n: usize, seed: &mut u32) {
    for _ in 0..n {
        let text: String = (0..shared::fields::MAX_TEXT_CHARS)
            .map(|_| {
                *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                char::from_u32(0x4e00 + (*seed >> 8) % 0x51a5).unwrap()
            })
            .collect();
        let mut tx = doc.automerge_mut().transaction();
        tx.put(ROOT, "f/address", text).unwrap();
        tx.commit();
    }
}

#[tokio::test]
async fn a_household_at_the_size_cap_takes_visits_again_after_an_admin_rewrites_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    let mut c2 = Phone::login(&server, "c2", "phone-c2").await;
    c1.want(&["H1", "H2"]);
    c2.want(&["H1"]);
    c1.sync().await;
    // An admin's upload may write the address (a cadre's may not): admins' phones fill
    // H1 up to the cap, as years of history (or a faulty phone) would: 20 changes at a
    // time until refused, then, from a second phone (the first holds the refused ones),
    // one at a time until refused.
    let mut seed = 0x2545_f491_u32;
    for (device, first, step) in [("phone-admin", 560, 20), ("phone-admin-2", 0, 1)] {
        let mut admin = Phone::login(&server, "admin", device).await;
        admin.want(&["H1"]);
        admin.sync().await;
        grow(admin.docs.get_mut("H1").unwrap(), first, &mut seed);
        loop {
            grow(admin.docs.get_mut("H1").unwrap(), step, &mut seed);
            let report = admin.sync().await;
            if let Some(r) = report.refused.get("H1") {
                assert_eq!(r.code, "doc_too_large", "{r:?}");
                break;
            }
        }
    }
    let admin = Phone::login(&server, "admin", "console").await;
    c1.sync().await;
    c2.sync().await;
    let full = server.peek().documents().into_iter().find(|(id, _)| id == "H1").unwrap().1;
    assert!(full.len() > 3 << 20, "H1 is stored at {} bytes, near the cap", full.len());

    // c1's visit no longer fits.
    let stamp = Stamp::new("c1", "李明", 1_795_000_000);
    // A note of 2,000 characters: more than the room left (under one address).
    let note: String = "满额之后的走访"
        .chars()
        .chain((0..shared::fields::MAX_TEXT_CHARS).map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            char::from_u32(0x4e00 + (seed >> 8) % 0x51a5).unwrap()
        }))
        .take(shared::fields::MAX_TEXT_CHARS)
        .collect();
    let visit = |h: &mut shared::Household| {
        let v = h.visits.entry("2026-11".into()).or_default();
        v.mode = Some(VisitMode::InPerson);
        v.note = note.clone();
    };
    c1.docs.get_mut("H1").unwrap().edit(&stamp, visit).unwrap();
    c1.docs.get_mut("H2").unwrap().edit(&stamp, visit).unwrap();
    let refused = c1.sync().await.refused;
    assert_eq!(refused.get("H1").map(|r| r.code.as_str()), Some("doc_too_large"), "{refused:?}");
    assert!(!refused.contains_key("H2"), "the rest of the batch goes through");

    // Only an admin may rewrite; a conflicted household is refused first.
    let resp = c1.post_json("/api/admin/households/H1/rewrite", &serde_json::json!({})).await;
    assert_eq!(resp.status(), 403);
    let resp = admin.post_json("/api/admin/households/NOPE/rewrite", &serde_json::json!({})).await;
    assert_eq!(resp.status(), 404);
    let resp = admin.post_json("/api/admin/households/H1/rewrite", &serde_json::json!({})).await;
    assert_eq!(resp.status(), 200);
    let report: serde_json::Value = resp.json().await.unwrap();
    assert!(report["changes_before"].as_u64().unwrap() > 500, "{report}");
    assert!(report["bytes_after"].as_u64().unwrap() < 100_000, "{report}");
    assert_eq!(report["bytes_before"].as_u64().unwrap() as usize, full.len());
    let again = admin.post_json("/api/admin/households/H1/rewrite", &serde_json::json!({})).await;
    assert_eq!(again.status(), 409, "one change: nothing to rewrite");
    assert_eq!(again.json::<serde_json::Value>().await.unwrap()["error"], "nothing_to_rewrite");
    let peek = server.peek();
    assert_eq!(
        peek.count("SELECT COUNT(*) FROM retired_docs WHERE household_id = 'H1'"),
        1,
        "the old document is kept"
    );
    assert_eq!(
        peek.count(&format!(
            "SELECT COUNT(*) FROM retired_docs WHERE household_id = 'H1' AND length(doc) = {}",
            full.len()
        )),
        1
    );
    assert_eq!(peek.count("SELECT COUNT(*) FROM audit_log WHERE action = 'rewrite_history' AND user_id = 'admin'"), 1);

    // c1 syncs: H1 is replaced, its visit replayed onto the rewritten household.
    let report = c1.sync().await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(report.rebased, ["H1"]);
    // c2 held the retired history with nothing unsynced: replaced too.
    let report = c2.sync().await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(report.rebased, ["H1"]);

    let stored = server.peek().documents().into_iter().find(|(id, _)| id == "H1").unwrap().1;
    assert!(stored.len() < 200_000, "the retired history did not come back: {} bytes", stored.len());
    let doc = HouseholdDoc::load(&stored, ActorId::random()).unwrap();
    let h1 = doc.household().unwrap();
    assert_eq!(h1.visits["2026-11"].note, note, "the refused visit arrived");
    assert!(h1.visits["2026-11"].is_in_person());
    assert_eq!(h1.facts.county, "云岭县", "the household kept its place");
    assert!(doc.conflicts().unwrap().is_empty(), "{:?}", doc.conflicts());
    assert_eq!(c1.docs["H1"].heads(), doc.heads());
    assert_eq!(c2.docs["H1"].heads(), doc.heads(), "both phones hold the rewritten household");
    assert_eq!(c1.unsynced(), 0);
    // The next visit fits, and the household reads as usual.
    c1.docs
        .get_mut("H1")
        .unwrap()
        .edit(&stamp, |h| h.visits.entry("2026-12".into()).or_default().note = "十二月".into())
        .unwrap();
    assert!(c1.sync().await.refused.is_empty());
    let one: serde_json::Value = c1.get_json("/api/households/H1").await;
    assert!(one.to_string().contains("满额之后的走访"), "{one}");
}

/// A household with a field in conflict is not rewritten: one of the values would be
/// kept silently. Once the conflict is settled, it is.
#[tokio::test]
async fn a_household_in_conflict_is_settled_before_its_history_is_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    let mut c2 = Phone::login(&server, "c2", "phone-c2").await;
    for phone in [&mut c1, &mut c2] {
        phone.want(&["H1"]);
        phone.sync().await;
    }
    for (phone, login, text) in [(&mut c1, "c1", "一"), (&mut c2, "c2", "二")] {
        let stamp = Stamp::new(login, "干部", 1_795_000_000);
        phone
            .docs
            .get_mut("H1")
            .unwrap()
            .edit(&stamp, |h| h.visits.entry("2026-11".into()).or_default().note = text.into())
            .unwrap();
    }
    c1.sync().await;
    c2.sync().await;
    let admin = Phone::login(&server, "admin", "desk").await;
    let resp = admin.post_json("/api/admin/households/H1/rewrite", &serde_json::json!({})).await;
    assert_eq!(resp.status(), 409);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "conflicts_first", "{body}");
    assert!(body["zh"].as_str().unwrap().contains("1 项冲突"), "{body}");
    assert_eq!(server.peek().count("SELECT COUNT(*) FROM retired_docs"), 0);
    let resolve = serde_json::json!({"key": "v/2026-11/note", "value": "二"});
    assert_eq!(admin.post_json("/api/households/H1/resolve", &resolve).await.status(), 200);
    let resp = admin.post_json("/api/admin/households/H1/rewrite", &serde_json::json!({})).await;
    assert_eq!(resp.status(), 200);
}
