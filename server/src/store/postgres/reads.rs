//! The dashboards' and lists' queries in PostgreSQL (see the SQLite engine's `reads`:
//! the same projections, the same kept per-grid totals).

use std::collections::BTreeMap;

use shared::api::HouseholdRow;
use shared::indicators::{Coverage, Indicators};
use shared::{Date, Period};

use super::PgConn;
use super::docs::{ensure_summaries, refs};
use crate::store::projection::{decode_indicators, decode_summary, encode_indicators, with_reasons};
use crate::store::sql::{clause, numbered};
use crate::store::totals::{self, AreaTotal, cadre_counts, decode_cadres, encode_cadres};
use crate::store::{
    CoverageTable, Flag, Grouping, IndicatorsBySite, Listing, Missing, Selection, StoreError, StoreResult, total,
};

fn today() -> Date {
    Date::in_china(crate::auth::now())
}

pub fn household_rows(c: &PgConn<'_>, selection: &Selection, listing: &Listing) -> StoreResult<Vec<HouseholdRow>> {
    let (scope_sql, scope_params) = clause(selection);
    // As the SQLite engine: 八必访 rows read their summary too.
    let (why_sql, mut params) = match listing {
        Listing::Flagged(period, Flag::MustVisit) => (
            "(SELECT w.summary FROM summaries w WHERE w.household_id = h.id AND w.period = ?)",
            vec![period.to_string()],
        ),
        _ => ("NULL::BYTEA", Vec::new()),
    };
    let condition = match listing {
        Listing::All => "1 = 1".to_owned(),
        Listing::Conflicted => "h.conflicts > 0".to_owned(),
        Listing::Cases => "h.case_status IS NOT NULL".to_owned(),
        Listing::Flagged(period, flag) => {
            ensure_summaries(c, *period, today(), selection)?;
            let column = match flag {
                Flag::ZeroEmployment => "s.zero_employment",
                Flag::LowIncome => "s.low_income_labour",
                Flag::Guarantee => "s.guarantee_alert",
                Flag::NewRisk => "s.new_risk",
                Flag::Monitored => "s.monitored",
                Flag::NotVisited => "NOT COALESCE(s.visited_in_person, FALSE)",
                Flag::Unsigned => "s.visited_in_person AND NOT s.signed",
                Flag::MustVisit => "s.must_visit",
            };
            params.push(period.to_string());
            format!(
                "h.id IN (SELECT h.id FROM households h LEFT JOIN summaries s
                          ON s.household_id = h.id AND s.period = ? WHERE {column})"
            )
        }
        Listing::Review(period, status) => {
            ensure_summaries(c, *period, today(), selection)?;
            params.push(period.to_string());
            params.push(status.clone());
            "h.id IN (SELECT household_id FROM summaries WHERE period = ? AND review = ?)".to_owned()
        }
    };
    params.extend(scope_params);
    let sql = numbered(&format!(
        "SELECT h.id, h.head_name, h.township, h.site, h.grid, h.address, h.last_visit, h.last_mode, h.members,
                h.conflicts, h.problems, {why_sql}
         FROM households h WHERE {condition} AND {scope_sql} ORDER BY h.site COLLATE \"C\", h.grid COLLATE \"C\", h.id COLLATE \"C\""
    ));
    let rows = c.query(&sql, &refs(&params))?;
    let rows = rows.iter().map(|r| {
        let row = HouseholdRow {
            id: r.get(0),
            head_name: r.get(1),
            township: r.get(2),
            site: r.get(3),
            grid: r.get(4),
            address: r.get(5),
            last_visit: r.get(6),
            last_mode: r.get(7),
            members: r.get(8),
            conflicts: r.get(9),
            problems: r.get(10),
            must_visit: Vec::new(),
        };
        (row, r.get(11))
    });
    with_reasons(rows.collect())
}

pub fn household_ids(c: &PgConn<'_>, selection: &Selection) -> StoreResult<Vec<String>> {
    let (sql, params) = clause(selection);
    let sql = numbered(&format!(
        "SELECT h.id FROM households h WHERE {sql} ORDER BY h.site COLLATE \"C\", h.grid COLLATE \"C\", h.id COLLATE \"C\""
    ));
    Ok(c.query(&sql, &refs(&params))?.iter().map(|r| r.get(0)).collect())
}

/// As the SQLite engine's.
pub fn id_numbers(c: &PgConn<'_>, selection: &Selection) -> StoreResult<Vec<(String, Option<String>)>> {
    let (sql, params) = clause(selection);
    let sql = numbered(&format!(
        "SELECT h.id, h.id_numbers FROM households h WHERE {sql}
         ORDER BY h.site COLLATE \"C\", h.grid COLLATE \"C\", h.id COLLATE \"C\""
    ));
    Ok(c.query(&sql, &refs(&params))?.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Coverage of `selection` in `period`: from the kept grid totals for whole grids (as
/// the SQLite engine), else household by household.
pub fn coverage(c: &PgConn<'_>, selection: &Selection, period: Period, by: Grouping) -> StoreResult<CoverageTable> {
    if !selection.by_area_only() {
        return coverage_by_households(c, selection, period, by);
    }
    let totals = area_totals(c, selection, period)?;
    let names = if by == Grouping::Cadre {
        c.query("SELECT id, name FROM users", &[])?.iter().map(|r| (r.get(0), r.get(1))).collect()
    } else {
        BTreeMap::new()
    };
    Ok(totals::coverage(&totals, by, &names))
}

fn coverage_by_households(
    c: &PgConn<'_>,
    selection: &Selection,
    period: Period,
    by: Grouping,
) -> StoreResult<CoverageTable> {
    // As the SQLite engine: missing summaries counted in the same pass, filled, read again.
    let (table, missing) = count_coverage(c, selection, period, by)?;
    if missing > 0 && ensure_summaries(c, period, today(), selection)? > 0 {
        return Ok(count_coverage(c, selection, period, by)?.0);
    }
    Ok(table)
}

/// Coverage counted household by household as the summaries are now, and how many of
/// the households have no summary for `period` (none is filled in here).
fn count_coverage(
    c: &PgConn<'_>,
    selection: &Selection,
    period: Period,
    by: Grouping,
) -> StoreResult<(CoverageTable, i64)> {
    let (where_sql, params) = clause(selection);
    let (key_sql, label, join, label_sql, label_join) = match by {
        Grouping::Site => ("h.site", "h.site", "", "g.label", ""),
        Grouping::Grid => ("h.site || ' / ' || h.grid", "h.grid", "", "g.label", ""),
        Grouping::Cadre => (
            "a.user_id",
            "a.user_id",
            "JOIN assignments a ON a.household_id = h.id",
            "u.name",
            "JOIN users u ON u.id = g.key",
        ),
    };
    let sql = numbered(&format!(
        "SELECT g.key, {label_sql}, g.assigned, g.visited, g.missing, g.signed FROM (
             SELECT {key_sql} AS key, MIN({label}) AS label, COUNT(*) AS assigned,
                    COUNT(*) FILTER (WHERE s.visited_in_person) AS visited,
                    COUNT(*) FILTER (WHERE s.household_id IS NULL) AS missing,
                    COUNT(*) FILTER (WHERE s.visited_in_person AND s.signed) AS signed
             FROM households h {join}
             LEFT JOIN summaries s ON s.household_id = h.id AND s.period = ?
             WHERE {where_sql} GROUP BY 1
         ) g {label_join}"
    ));
    let mut all = vec![period.to_string()];
    all.extend(params);
    let mut table = CoverageTable::new();
    let mut missing = 0;
    for r in c.query(&sql, &refs(&all))? {
        let (assigned, visited, lacking, signed): (i64, i64, i64, i64) = (r.get(2), r.get(3), r.get(4), r.get(5));
        missing += lacking;
        let cov = Coverage { assigned: assigned as u32, visited: visited as u32, signed: signed as u32 };
        table.insert(r.get(0), (r.get(1), cov));
    }
    Ok((table, missing))
}

/// The indicators of `selection` in `period`: its sites' added up.
pub fn indicators(c: &PgConn<'_>, selection: &Selection, period: Period) -> StoreResult<Indicators> {
    Ok(total(indicators_by_site(c, selection, period)?))
}

/// As the SQLite engine: kept per-grid totals for whole grids, else summaries one by one.
pub fn indicators_by_site(c: &PgConn<'_>, selection: &Selection, period: Period) -> StoreResult<IndicatorsBySite> {
    let mut out = IndicatorsBySite::new();
    if selection.by_area_only() {
        for t in area_totals(c, selection, period)? {
            out.entry(t.site).or_default().absorb(t.indicators);
        }
        // A site with no summary for the period (one not begun) is left out, as when
        // the summaries are added one by one.
        out.retain(|_, i| i.households > 0);
        return Ok(out);
    }
    ensure_summaries(c, period, today(), selection)?;
    summaries_by_site(c, selection, period)
}

/// Adds up the stored summaries of `selection`'s households one by one.
fn sum_summaries(c: &PgConn<'_>, selection: &Selection, period: Period) -> StoreResult<Indicators> {
    Ok(total(summaries_by_site(c, selection, period)?))
}

/// Adds up the stored summaries of `selection`'s households one by one, per site.
fn summaries_by_site(c: &PgConn<'_>, selection: &Selection, period: Period) -> StoreResult<IndicatorsBySite> {
    let mut out = IndicatorsBySite::new();
    let (where_sql, params) = clause(selection);
    let sql = numbered(&format!(
        "SELECT h.site, s.summary FROM households h JOIN summaries s ON s.household_id = h.id AND s.period = ?
         WHERE {where_sql}"
    ));
    let mut all = vec![period.to_string()];
    all.extend(params);
    for r in c.query(&sql, &refs(&all))? {
        let blob: Vec<u8> = r.get(1);
        out.entry(r.get(0)).or_default().add(&decode_summary(&blob)?);
    }
    Ok(out)
}

/// The grids of the area-only `selection`, each with its households, the sum of their
/// summaries for `period` and its coverage per cadre, from kept totals or added up (and then kept, on the
/// writer, the grid's `areas` row locked first: see `migrations`).
fn area_totals(c: &PgConn<'_>, selection: &Selection, period: Period) -> StoreResult<Vec<AreaTotal>> {
    let today = today();
    let (where_sql, params) = clause(selection);
    let sql = numbered(&format!(
        "SELECT h.county, h.township, h.site, h.grid, h.households, t.indicators, t.cadres FROM areas h
         LEFT JOIN area_totals t ON t.county = h.county AND t.township = h.township AND t.site = h.site
              AND t.grid = h.grid AND t.period = ?
         WHERE h.households > 0 AND {where_sql}"
    ));
    let mut all = vec![period.to_string()];
    all.extend(params);
    let keep = period <= Period::of(today);
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for r in c.query(&sql, &refs(&all))? {
        let area: [String; 4] = [r.get(0), r.get(1), r.get(2), r.get(3)];
        let households: i64 = r.get(4);
        let kept = match (r.get::<_, Option<Vec<u8>>>(5), r.get::<_, Option<Vec<u8>>>(6)) {
            // A row this build cannot read (kept by another version) is made again.
            (Some(i), Some(c)) => decode_indicators(&i).ok().zip(decode_cadres(&c).ok()),
            _ => None,
        };
        match kept {
            Some((indicators, cadres)) => {
                let [_, _, site, grid] = area;
                out.push(AreaTotal { site, grid, households: households as u32, indicators, cadres });
            }
            None => missing.push((area, households as u32)),
        }
    }
    if missing.is_empty() {
        return Ok(out);
    }
    if keep && !c.writable {
        // The grids without kept totals: their summaries, then (on the writer) their sums.
        let selections = missing.iter().map(|(area, _)| Selection::grid(area)).collect();
        return Err(StoreError::NeedsWriter(Box::new(Missing { period, selections, grids: true })));
    }
    missing.sort();
    // Households first, then grids, each in order (see `docs::lock`): every missing
    // summary is filled in, then the grids are locked, then added up.
    for (area, _) in &missing {
        ensure_summaries(c, period, today, &Selection::grid(area))?;
    }
    if keep {
        let (counties, townships, sites, grids): (Vec<&str>, Vec<&str>, Vec<&str>, Vec<&str>) = missing
            .iter()
            .map(|(a, _)| (a[0].as_str(), a[1].as_str(), a[2].as_str(), a[3].as_str()))
            .fold((vec![], vec![], vec![], vec![]), |mut v, (a, b, s, g)| {
                v.0.push(a);
                v.1.push(b);
                v.2.push(s);
                v.3.push(g);
                v
            });
        c.query(
            "SELECT 1 FROM areas a JOIN unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[]) AS m(c, t, s, g)
                 ON a.county = m.c AND a.township = m.t AND a.site = m.s AND a.grid = m.g
             ORDER BY a.county, a.township, a.site, a.grid FOR UPDATE OF a",
            &[&counties, &townships, &sites, &grids],
        )?;
    }
    for (area, households) in missing {
        let grid = Selection::grid(&area);
        let indicators = sum_summaries(c, &grid, period)?;
        // Counted as the summaries are now, as the indicators were: nothing is filled in
        // here (on PostgreSQL, under the grids' locks).
        let cadres = cadre_counts(count_coverage(c, &grid, period, Grouping::Cadre)?.0);
        if keep {
            let (blob, cadre_blob) = (encode_indicators(&indicators)?, encode_cadres(&cadres)?);
            c.execute(
                "INSERT INTO area_totals (county, township, site, grid, period, indicators, cadres)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (county, township, site, grid, period)
                 DO UPDATE SET indicators = EXCLUDED.indicators, cadres = EXCLUDED.cadres",
                &[&area[0], &area[1], &area[2], &area[3], &period.to_string(), &blob, &cadre_blob],
            )?;
        }
        let [_, _, site, grid] = area;
        out.push(AreaTotal { site, grid, households, indicators, cadres });
    }
    Ok(out)
}

pub fn review_counts(c: &PgConn<'_>, selection: &Selection, period: Period) -> StoreResult<BTreeMap<String, u32>> {
    ensure_summaries(c, period, today(), selection)?;
    let (where_sql, params) = clause(selection);
    let sql = numbered(&format!(
        "SELECT s.review, COUNT(*) FROM households h JOIN summaries s ON s.household_id = h.id AND s.period = ?
         WHERE s.review IS NOT NULL AND {where_sql} GROUP BY s.review"
    ));
    let mut all = vec![period.to_string()];
    all.extend(params);
    Ok(c.query(&sql, &refs(&all))?
        .iter()
        .map(|r| {
            let n: i64 = r.get(1);
            (r.get(0), n as u32)
        })
        .collect())
}
