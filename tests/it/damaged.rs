//! One household whose stored document is damaged on disk (a bad sector, a botched
//! copy) never breaks the rest: the county's exports (XLSX, CSV, the indicators CSV)
//! and the conflict list answer 200 without it and name it (`X-Skipped-Households`,
//! and a 未导出的户 sheet in the workbook); a phone's sync batch merges the other
//! households and refuses that one alone (`damaged`), keeping the phone's edits.

use huhujian_tests::{Engine, Phone};
use shared::{Stamp, VisitMode};

use crate::roster_server;

#[tokio::test]
async fn a_damaged_household_is_named_and_left_out_and_the_rest_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    let mut c1 = Phone::login(&server, "c1", "phone").await;
    c1.want(&["H1", "H2", "H3"]);
    assert!(c1.sync().await.refused.is_empty());
    // H2's stored bytes are garbage from now on, and it is listed as conflicted.
    let peek = server.peek();
    let garbage = match peek.engine() {
        Engine::Sqlite => "zeroblob(300)",
        Engine::Postgres => "decode(repeat('00', 300), 'hex')",
    };
    let n =
        peek.execute(&format!("UPDATE households SET doc = {garbage}, doc_changes = 0, conflicts = 1 WHERE id = 'H2'"));
    assert_eq!(n, 1);
    let admin = Phone::login(&server, "admin", "desk").await;
    let skipped =
        |resp: &reqwest::Response| resp.headers().get("x-skipped-households").map(|v| v.to_str().unwrap().to_owned());
    for path in ["/api/export.csv", "/api/export/indicators.csv", "/api/export/households.csv", "/api/conflicts"] {
        let resp = admin.get(path).await;
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(skipped(&resp).as_deref(), Some("H2"), "{path} names the damaged household");
        assert_eq!(resp.headers()["x-skipped-count"], "1", "{path}");
        let body = resp.text().await.unwrap();
        assert!(!body.contains("H2") || path == "/api/conflicts" && !body.contains("\"H2\""), "{path}: {body}");
    }
    let households = admin.get("/api/export/households.csv").await.text().await.unwrap();
    assert!(households.contains("H1") && households.contains("H3"), "the rest is exported");

    let resp = admin.get("/api/export.xlsx").await;
    assert_eq!((resp.status().as_u16(), skipped(&resp).as_deref()), (200, Some("H2")));
    let bytes = resp.bytes().await.unwrap().to_vec();
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let left_out = book.worksheet_range("未导出的户").expect("a sheet names what was left out");
    let ids: Vec<String> = left_out.rows().skip(1).map(|r| r[0].to_string()).collect();
    assert_eq!(ids, ["H2"]);
    let main = book.worksheet_range("户表").unwrap();
    let listed: Vec<String> = main.rows().skip(1).map(|r| r[0].to_string()).collect();
    assert!(listed.contains(&"H1".to_owned()) && !listed.contains(&"H2".to_owned()), "{listed:?}");

    // A batch with edits to H1 and H2: H1 merges, H2 is refused alone and stays on the phone.
    for id in ["H1", "H2"] {
        c1.docs
            .get_mut(id)
            .unwrap()
            .edit(&Stamp::new("c1", "李明", server::auth::now()), |h| {
                h.visits.entry("2026-11".into()).or_default().mode = Some(VisitMode::Phone);
            })
            .unwrap();
    }
    let report = c1.sync().await;
    assert_eq!(report.refused.keys().collect::<Vec<_>>(), ["H2"]);
    assert_eq!(report.refused["H2"].code, "damaged");
    assert!(report.refused["H2"].zh.contains("已损坏"));
    assert!(!c1.is_unsynced("H1") && c1.is_unsynced("H2"), "H1 is on the server; H2's edit stays on the phone");
    let h1 = admin.get("/api/households/H1").await.json::<serde_json::Value>().await.unwrap();
    assert_eq!(h1["household"]["visits"]["2026-11"]["mode"], "phone");
}
