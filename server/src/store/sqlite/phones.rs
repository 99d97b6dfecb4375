//! Phone health in SQLite: the latest report of each (cadre, phone).

use rusqlite::params;
use shared::api::{PhoneReport, PhoneRow};

use super::Conn;
use crate::store::StoreResult;

/// Keeps `report` as the latest of `login` on `device`; a report after a completed
/// sync also sets the time of the last sync.
pub fn put_report(conn: &Conn<'_>, login: &str, device: &str, report: &PhoneReport, at: i64) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO phones (user_id, device_id, app_version, unsynced, oldest_unsynced_at, persisted,
                             storage_used, storage_quota, reported_at, synced_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, CASE WHEN ?10 THEN ?9 END)
         ON CONFLICT (user_id, device_id) DO UPDATE SET
             app_version = excluded.app_version, unsynced = excluded.unsynced,
             oldest_unsynced_at = excluded.oldest_unsynced_at, persisted = excluded.persisted,
             storage_used = excluded.storage_used, storage_quota = excluded.storage_quota,
             reported_at = excluded.reported_at,
             synced_at = COALESCE(excluded.synced_at, phones.synced_at)",
        params![
            login,
            device,
            report.app_version,
            report.unsynced,
            report.oldest_unsynced_at,
            report.persisted,
            report.storage_used.map(|n| n as i64),
            report.storage_quota.map(|n| n as i64),
            at,
            report.synced,
        ],
    )?;
    Ok(())
}

/// Every phone's latest report, with its cadre's name (concerns left empty).
pub fn reports(conn: &Conn<'_>) -> StoreResult<Vec<PhoneRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.user_id, u.name, p.device_id, p.app_version, p.reported_at, p.synced_at, p.unsynced,
                p.oldest_unsynced_at, p.persisted, p.storage_used, p.storage_quota
         FROM phones p JOIN users u ON u.id = p.user_id ORDER BY p.user_id, p.device_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PhoneRow {
            login: r.get(0)?,
            name: r.get(1)?,
            device: Some(r.get(2)?),
            app_version: Some(r.get(3)?),
            reported_at: Some(r.get(4)?),
            synced_at: r.get(5)?,
            unsynced: r.get(6)?,
            oldest_unsynced_at: r.get(7)?,
            persisted: r.get(8)?,
            storage_used: r.get::<_, Option<i64>>(9)?.map(|n| n.max(0) as u64),
            storage_quota: r.get::<_, Option<i64>>(10)?.map(|n| n.max(0) as u64),
            concerns: Vec::new(),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
