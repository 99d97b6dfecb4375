//! Monitoring settings by year in PostgreSQL (`shared::settings`).
//!
//! A merge computes its summaries with the settings it read in its transaction. So
//! that none is written with figures a concurrent change has just replaced, a writing
//! transaction reads them `FOR SHARE` (a lock on the table that the change's
//! `EXCLUSIVE` lock waits for, and that waits for the change).

use shared::evidence::EvidenceSettings;
use shared::{Settings, YearSettings};

use super::PgConn;
use crate::store::StoreResult;

/// Every year's settings, by year.
pub fn read(c: &PgConn<'_>) -> StoreResult<Settings> {
    let lock = if c.writable { " FOR SHARE" } else { "" };
    let rows = c.query(
        &format!(
            "SELECT year, monitoring_line, low_income_target, expense_share_percent, baseline FROM settings \
             ORDER BY year{lock}"
        ),
        &[],
    )?;
    let years = rows
        .iter()
        .map(|r| YearSettings {
            // Within `shared::settings::YEARS`: checked before it was stored.
            year: i32::try_from(r.get::<_, i64>(0)).unwrap_or_default(),
            monitoring_line: r.get(1),
            low_income_target: r.get(2),
            expense_share_percent: r.get(3),
            baseline: r.get::<_, Option<String>>(4).and_then(|b| b.parse().ok()),
        })
        .collect();
    let rows =
        c.query(&format!("SELECT photos, signature, location FROM evidence_settings WHERE id = 1{lock}"), &[])?;
    let evidence = rows.first().map_or_else(EvidenceSettings::default, |e| EvidenceSettings {
        photos: e.get(0),
        signature: e.get(1),
        location: e.get(2),
    });
    Ok(Settings { years, evidence })
}

/// Replaces every year's settings and drops the summaries of the years whose figures
/// change (as the SQLite engine's `replace`), after every transaction that read the old
/// ones ends: the table is locked before it is read, so two changes queue.
pub fn replace(c: &PgConn<'_>, settings: &Settings, by: &str, at: i64) -> StoreResult<Option<Settings>> {
    c.execute("LOCK TABLE settings IN EXCLUSIVE MODE", &[])?;
    let old = read(c)?;
    if old == *settings {
        return Ok(None);
    }
    let e = settings.evidence;
    c.execute(
        "UPDATE evidence_settings SET photos = $1, signature = $2, location = $3 WHERE id = 1",
        &[&e.photos, &e.signature, &e.location],
    )?;
    let changed = old.changed_years(settings);
    c.execute("DELETE FROM settings", &[])?;
    for y in &settings.years {
        c.execute(
            "INSERT INTO settings (year, monitoring_line, low_income_target, expense_share_percent, updated_by,
                                   updated_at, baseline)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &i64::from(y.year),
                &y.monitoring_line,
                &y.low_income_target,
                &y.expense_share_percent,
                &by,
                &at,
                &y.baseline.map(|b| b.to_string()),
            ],
        )?;
    }
    for year in changed {
        c.execute(
            "DELETE FROM summaries WHERE period >= $1 AND period < $2",
            &[&format!("{year}-"), &format!("{}-", year + 1)],
        )?;
    }
    Ok(Some(old))
}
