//! Phone health in PostgreSQL: the latest report of each (cadre, phone).

use shared::api::{PhoneReport, PhoneRow};

use super::PgConn;
use crate::store::StoreResult;

/// Keeps `report` as the latest of `login` on `device`; a report after a completed
/// sync also sets the time of the last sync.
pub fn put_report(c: &PgConn<'_>, login: &str, device: &str, report: &PhoneReport, at: i64) -> StoreResult<()> {
    let (unsynced, used, quota) =
        (i64::from(report.unsynced), report.storage_used.map(|n| n as i64), report.storage_quota.map(|n| n as i64));
    c.execute(
        "INSERT INTO phones (user_id, device_id, app_version, unsynced, oldest_unsynced_at, persisted,
                             storage_used, storage_quota, reported_at, synced_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $10::BOOLEAN THEN $9::BIGINT END)
         ON CONFLICT (user_id, device_id) DO UPDATE SET
             app_version = excluded.app_version, unsynced = excluded.unsynced,
             oldest_unsynced_at = excluded.oldest_unsynced_at, persisted = excluded.persisted,
             storage_used = excluded.storage_used, storage_quota = excluded.storage_quota,
             reported_at = excluded.reported_at,
             synced_at = COALESCE(excluded.synced_at, phones.synced_at)",
        &[
            &login,
            &device,
            &report.app_version,
            &unsynced,
            &report.oldest_unsynced_at,
            &report.persisted,
            &used,
            &quota,
            &at,
            &report.synced,
        ],
    )?;
    Ok(())
}

/// Every phone's latest report, with its cadre's name (concerns left empty).
pub fn reports(c: &PgConn<'_>) -> StoreResult<Vec<PhoneRow>> {
    let rows = c.query(
        "SELECT p.user_id, u.name, p.device_id, p.app_version, p.reported_at, p.synced_at, p.unsynced,
                p.oldest_unsynced_at, p.persisted, p.storage_used, p.storage_quota
         FROM phones p JOIN users u ON u.id = p.user_id ORDER BY p.user_id COLLATE \"C\", p.device_id COLLATE \"C\"",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| PhoneRow {
            login: r.get(0),
            name: r.get(1),
            device: Some(r.get(2)),
            app_version: Some(r.get(3)),
            reported_at: Some(r.get(4)),
            synced_at: r.get(5),
            unsynced: u32::try_from(r.get::<_, i64>(6)).unwrap_or(u32::MAX),
            oldest_unsynced_at: r.get(7),
            persisted: r.get(8),
            storage_used: r.get::<_, Option<i64>>(9).map(|n| n.max(0) as u64),
            storage_quota: r.get::<_, Option<i64>>(10).map(|n| n.max(0) as u64),
            concerns: Vec::new(),
        })
        .collect())
}
