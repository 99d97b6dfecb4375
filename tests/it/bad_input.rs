//! Malformed, truncated, oversized and corrupt sync bodies get a 4xx with a clear
//! message, and change nothing stored.

use huhujian_tests::{Phone, gzip_bytes};
use shared::automerge::transaction::Transactable;
use shared::automerge::{Automerge, ROOT};
use shared::wire::{self, Outgoing};

use crate::roster_server;

#[tokio::test]
async fn bad_sync_bodies_are_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    c1.want(&["H1"]);
    c1.sync().await;
    let before = server.peek().documents();
    let states_before = server.peek().count("SELECT COUNT(*) FROM sync_states");

    let good = wire::encode_request(&[Outgoing { doc_id: "H1".into(), message: vec![] }]);
    let cut_gzip = {
        let z = gzip_bytes(&good);
        z[..z.len() - 6].to_vec()
    };
    let cases: Vec<(&str, Vec<u8>, bool, &[&str])> = vec![
        ("not a batch", b"{\"hello\": 1}".to_vec(), false, &["bad_batch"]),
        ("truncated", good[..good.len() - 1].to_vec(), false, &["bad_batch"]),
        ("gzip without its end", cut_gzip, true, &["unreadable_body"]),
        ("gzip header, garbage inside", b"\x1f\x8b\x08\x00garbage".to_vec(), true, &["unreadable_body"]),
        ("future version", b"HHJQ\x09\x00".to_vec(), false, &["bad_batch"]),
    ];
    for (what, body, gzip, codes) in cases {
        let resp = c1.post_sync_raw(body, gzip).await;
        assert_eq!(resp.status().as_u16(), 400, "{what}");
        let err: serde_json::Value = resp.json().await.unwrap();
        assert!(codes.contains(&err["error"].as_str().unwrap()), "{what}: {err}");
        assert!(!err["zh"].as_str().unwrap().is_empty() && !err["en"].as_str().unwrap().is_empty(), "{what}");
    }

    // Oversized: plainly, and as a small gzip bomb that inflates past the limit.
    let big = vec![0u8; server::sync::MAX_BODY + 1];
    let resp = c1.post_sync_raw(big.clone(), false).await;
    assert_eq!(resp.status(), 413);
    let bomb = gzip_bytes(&big);
    assert!(bomb.len() < 100_000);
    let resp = c1.post_sync_raw(bomb, true).await;
    assert_eq!(resp.status(), 413);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(err["error"], "too_large");

    // A well-formed batch carrying a corrupt Automerge message: refused for that document.
    let corrupt = wire::encode_request(&[Outgoing { doc_id: "H1".into(), message: b"\x42not automerge".to_vec() }]);
    let resp = c1.post_sync_raw(corrupt, false).await;
    assert_eq!(resp.status(), 200);
    let replies = wire::decode_response(&resp.bytes().await.unwrap()).unwrap();
    assert!(matches!(&replies[0].reply, wire::Reply::Refused(r) if r.code == "bad_message"));

    assert_eq!(server.peek().documents(), before, "no stored document changed");
    assert_eq!(server.peek().count("SELECT COUNT(*) FROM sync_states"), states_before);
}

/// Cadre c1 syncs H1 and H2, then changes H1 with `change` and H2 validly, and syncs
/// both in one batch. H1 must be refused with `code`, stored and logged as before; H2
/// stored. Returns H1's refusal.
async fn h1_refused_beside_a_valid_h2(code: &str, change: impl FnOnce(&mut Automerge)) -> wire::Refusal {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone-c1").await;
    c1.want(&["H1", "H2"]);
    c1.sync().await;
    let before = server.peek().documents();
    let h1_log = "SELECT COUNT(*) FROM change_log WHERE household_id = 'H1'";
    let logged = server.peek().count(h1_log);
    change(c1.docs.get_mut("H1").unwrap().automerge_mut());
    let stamp = shared::Stamp::new("c1", "李明", 1_795_000_000);
    c1.docs.get_mut("H2").unwrap().edit(&stamp, |h| h.facts.address = "2号".into()).unwrap();
    let mut report = c1.sync().await;
    let refusal = report.refused.remove("H1").expect("H1 refused");
    assert_eq!(refusal.code, code, "{refusal:?}");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let after = server.peek().documents();
    assert_eq!(after[0], before[0], "H1 unchanged");
    assert_ne!(after[1], before[1], "H2 stored");
    assert_eq!(server.peek().count(h1_log), logged, "no H1 change logged");
    refusal
}

#[tokio::test]
async fn a_change_that_breaks_the_layout_is_refused_per_document() {
    // A hostile client writes a key the layout does not have.
    let refusal = h1_refused_beside_a_valid_h2("schema", |h1| {
        let mut tx = h1.transaction();
        tx.put(ROOT, "f/secret", "x").unwrap();
        tx.commit();
    })
    .await;
    assert!(refusal.en.contains("f/secret"), "{refusal:?}");
}

#[tokio::test]
async fn malformed_json_logins_get_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let http = huhujian_tests::http();
    let resp = http.post(server.url("/api/login")).body("{\"login\": ").send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(err["error"], "bad_json");
}

/// A phone that grows one household past `store::MAX_DOC_BYTES` through a long history
/// of valid edits (each within every field limit) has that household refused with
/// `doc_too_large`, named in both languages; nothing of it is stored.
#[tokio::test]
async fn a_household_grown_past_the_size_limit_is_refused_and_nothing_is_stored() {
    // 1,300 addresses of 2,000 random CJK characters each (the longest text allowed):
    // about 7.6 MiB of changes, over 4 MiB even saved whole and deflated.
    let mut seed = 0x2545_f491_u32;
    let mut text = || -> String {
        (0..shared::fields::MAX_TEXT_CHARS)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                char::from_u32(0x4e00 + (seed >> 8) % 0x51a5).unwrap()
            })
            .collect()
    };
    let refusal = h1_refused_beside_a_valid_h2("doc_too_large", |h1| {
        for _ in 0..1300 {
            let mut tx = h1.transaction();
            tx.put(ROOT, "f/address", text()).unwrap();
            tx.commit();
        }
    })
    .await;
    assert!(refusal.zh.contains("4 MB 上限") && refusal.en.contains("over the 4 MB limit"), "{refusal:?}");
}
