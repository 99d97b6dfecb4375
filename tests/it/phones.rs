//! Phone health (手机状态) on both engines: phones report at sync, the latest report of
//! each (cadre, phone) is kept, a supervisor sees the cadres of their area with the
//! phones needing attention first (old unsynced work, no sync this month, storage the
//! browser may clear), cadres no phone reported for last; cadres may not read it, and
//! a bad report is refused.

use huhujian_tests::pg::PgDb;
use huhujian_tests::{Phone, TestServer};
use serde_json::{Value, json};

use crate::{roster_server, roster_server_on_postgres};

async fn report(phone: &Phone, body: Value) -> u16 {
    phone.post_json("/api/phone", &body).await.status().as_u16()
}

async fn scenario(server: &TestServer) {
    let now = server::auth::now();
    let c1 = Phone::login(server, "c1", "c1-phone").await;
    let c2 = Phone::login(server, "c2", "c2-phone").await;
    // c1 starts a sync holding two households edited four days ago, on storage the
    // browser may clear; the batches never arrive.
    let start = json!({"app_version": "0.1.0", "unsynced": 2, "oldest_unsynced_at": now - 4 * 86_400,
        "persisted": false, "storage_used": 3_000_000, "storage_quota": 100_000_000, "synced": false});
    assert_eq!(report(&c1, start).await, 204);
    // c2's sync completed: nothing left.
    let done = json!({"app_version": "0.1.0", "unsynced": 0, "oldest_unsynced_at": null,
        "persisted": true, "storage_used": 1_000_000, "storage_quota": 100_000_000, "synced": true});
    assert_eq!(report(&c2, done.clone()).await, 204);

    let s1 = Phone::login(server, "s1", "desk").await;
    let rows: Vec<shared::api::PhoneRow> = s1.get_json("/api/phones").await;
    let view: Vec<(&str, Option<&str>, u32)> =
        rows.iter().map(|r| (r.login.as_str(), r.device.as_deref(), r.unsynced)).collect();
    assert_eq!(view[0], ("c1", Some("c1-phone"), 2), "old work first: {rows:?}");
    assert_eq!(
        rows[0].concerns,
        [
            shared::api::Concern::OldWork,
            shared::api::Concern::NotSyncedThisMonth,
            shared::api::Concern::StorageNotPersistent
        ]
    );
    assert_eq!(rows[0].synced_at, None);
    let c2_row = rows.iter().find(|r| r.login == "c2").expect("c2, who has households in 阳光社区");
    assert!(c2_row.concerns.is_empty() && c2_row.synced_at.is_some(), "{c2_row:?}");

    // c1's next sync completes: the latest report replaces the first.
    assert_eq!(report(&c1, done).await, 204);
    let rows: Vec<shared::api::PhoneRow> = s1.get_json("/api/phones").await;
    let c1_row = rows.iter().find(|r| r.login == "c1").unwrap();
    assert_eq!((c1_row.unsynced, c1_row.concerns.len()), (0, 0), "{c1_row:?}");
    assert_eq!(rows.iter().filter(|r| r.login == "c1").count(), 1, "one row per phone");

    // Cadres do not read other phones; a report out of bounds is refused.
    assert_eq!(c1.get("/api/phones").await.status(), 403);
    let long = json!({"app_version": "x".repeat(41), "unsynced": 0, "oldest_unsynced_at": null,
        "persisted": null, "storage_used": null, "storage_quota": null, "synced": false});
    assert_eq!(report(&c1, long).await, 400);
    assert_eq!(report(&c1, json!({"unsynced": -1})).await, 422);
}

#[tokio::test]
async fn phones_report_and_supervisors_see_those_needing_attention_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = roster_server(&dir).await;
    scenario(&server).await;
}

#[tokio::test]
async fn phone_health_reads_the_same_on_postgres_too() {
    let pg = PgDb::create().await;
    let server = roster_server_on_postgres(&pg).await;
    scenario(&server).await;
}
