//! Nobody reads or writes a household outside their scope: a cadre only their
//! assigned households, a supervisor only their area. Refusals are per document and
//! leave every stored byte as it was.

use huhujian_tests::Phone;
use shared::{HouseholdDoc, Stamp};

use crate::roster_server;

#[tokio::test]
async fn a_cadre_cannot_read_or_write_another_cadres_household() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c2 = Phone::login(&server, "c2", "phone-c2").await;
    let mut listed = c2.list().await;
    listed.sort();
    assert_eq!(listed, ["H1", "H4"], "c2 sees only assigned households");

    // Reading H2 (c1's) by sync: refused, nothing sent back.
    c2.want(&["H2", "H4"]);
    let report = c2.sync().await;
    assert_eq!(report.refused["H2"].code, "unknown_household");
    assert!(report.refused["H2"].zh.contains("不在您的负责范围内"));
    assert!(c2.docs["H2"].heads().is_empty(), "no byte of H2 reached c2");
    assert!(!c2.docs["H4"].heads().is_empty(), "the rest of the batch went through");

    // Writing H2 with a forged document: refused, the server's H2 unchanged.
    let before = server.peek().documents();
    let stamp = Stamp::new("c2", "张华", 1_795_000_000);
    let mut forged = HouseholdDoc::create("H2", shared::automerge::ActorId::random(), &stamp).unwrap();
    forged.edit(&stamp, |h| h.facts.address = "篡改".into()).unwrap();
    c2.docs.insert("H2".into(), forged);
    let report = c2.sync().await;
    assert_eq!(report.refused["H2"].code, "unknown_household");
    assert_eq!(server.peek().documents(), before, "nothing stored changed");

    // A household that does not exist.
    c2.want(&["NOPE"]);
    assert_eq!(c2.sync().await.refused["NOPE"].code, "unknown_household");

    // History and dashboards.
    assert_eq!(c2.get("/api/households/H2/history").await.status(), 404, "as if it did not exist");
    assert_eq!(c2.get("/api/households/H1/history").await.status(), 200);
    assert_eq!(c2.get("/api/coverage").await.status(), 403);
    assert_eq!(c2.get("/api/export.csv").await.status(), 403);
}

#[tokio::test]
async fn a_supervisor_sees_only_their_area() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let s1 = Phone::login(&server, "s1", "desk").await;
    assert_eq!(s1.list().await, ["H1", "H2", "H3"]);
    assert_eq!(s1.get("/api/households/H4/history").await.status(), 404);
    let report: serde_json::Value = s1.get_json("/api/indicators?period=2026-11").await;
    assert_eq!(report["indicators"]["households"], 3);
    let csv = s1.get("/api/export.csv?period=2026-11").await.text().await.unwrap();
    assert!(csv.starts_with('\u{feff}'), "BOM for Excel");
    assert!(!csv.contains("H4"));
    assert_eq!(s1.get("/api/export.csv?unmask=1").await.status(), 403, "only admins unmask");
    for (path, named) in [
        ("/api/indicators?period=2026-13", "Period \"2026-13\""),
        ("/api/indicators?period=2026-11&baseline=last-year", "Baseline \"last-year\""),
        ("/api/export.csv?period=11-2026", "Period \"11-2026\""),
    ] {
        let resp = s1.get(path).await;
        assert_eq!(resp.status(), 400, "{path}");
        let err: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(err["error"], "bad_period");
        assert!(err["en"].as_str().unwrap().starts_with(named), "{path}: {err}");
    }
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let http = huhujian_tests::http();
    for path in ["/api/households", "/api/me", "/api/conflicts"] {
        let resp = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{path} without a token");
        let resp = http.get(server.url(path)).bearer_auth("0".repeat(64)).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{path} with a made-up token");
    }
    let resp = http.post(server.url("/api/sync")).body("HHJQ\x01\x00").send().await.unwrap();
    assert_eq!(resp.status(), 401);
}
