//! Monitoring settings by year in SQLite (`shared::settings`).

use rusqlite::params;
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
    Ok(Settings { years: years.collect::<Result<_, _>>()? })
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
