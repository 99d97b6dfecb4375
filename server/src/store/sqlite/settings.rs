//! Monitoring settings by year (`shared::settings`) and the evidence offered
//! (`shared::evidence`) in SQLite.

use rusqlite::params;
use shared::evidence::EvidenceSettings;
use shared::{Settings, YearSettings};

use super::Conn;
use crate::store::StoreResult;

/// Every year's settings, by year.
pub fn read(conn: &Conn<'_>) -> StoreResult<Settings> {
    let mut stmt = conn.prepare_cached(
        "SELECT year, monitoring_line, low_income_target, expense_share_percent, baseline FROM settings ORDER BY year",
    )?;
    let years = stmt.query_map([], |r| {
        Ok(YearSettings {
            year: r.get(0)?,
            monitoring_line: r.get(1)?,
            low_income_target: r.get(2)?,
            expense_share_percent: r.get(3)?,
            // Checked before it was stored.
            baseline: r.get::<_, Option<String>>(4)?.and_then(|b| b.parse().ok()),
        })
    })?;
    let years = years.collect::<Result<_, _>>()?;
    let evidence = conn
        .prepare_cached("SELECT photos, signature, location FROM evidence_settings WHERE id = 1")?
        .query_row([], |r| Ok(EvidenceSettings { photos: r.get(0)?, signature: r.get(1)?, location: r.get(2)? }))?;
    Ok(Settings { years, evidence })
}

/// Replaces every year's settings with `settings` (sorted by year) and drops the
/// summaries (and so the kept totals, by their triggers) of the years whose figures
/// change: they are computed again, with the new figures, when next read or merged.
/// The settings replaced, or `None` when nothing changes.
pub fn replace(conn: &Conn<'_>, settings: &Settings, by: &str, at: i64) -> StoreResult<Option<Settings>> {
    let old = read(conn)?;
    if old == *settings {
        return Ok(None);
    }
    let e = settings.evidence;
    conn.execute(
        "UPDATE evidence_settings SET photos = ?1, signature = ?2, location = ?3 WHERE id = 1",
        params![e.photos, e.signature, e.location],
    )?;
    let changed = old.changed_years(settings);
    conn.execute("DELETE FROM settings", [])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO settings (year, monitoring_line, low_income_target, expense_share_percent, updated_by, updated_at,
                               baseline)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for y in &settings.years {
        let baseline = y.baseline.map(|b| b.to_string());
        insert.execute(params![
            y.year,
            y.monitoring_line,
            y.low_income_target,
            y.expense_share_percent,
            by,
            at,
            baseline
        ])?;
    }
    let mut drop = conn.prepare_cached("DELETE FROM summaries WHERE period >= ?1 AND period < ?2")?;
    for year in changed {
        drop.execute(params![format!("{year}-"), format!("{}-", year + 1)])?;
    }
    Ok(Some(old))
}
