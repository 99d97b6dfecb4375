//! The dashboards' and lists' queries over the projections: households, coverage,
//! indicators, review counts. A [`Selection`] becomes a `WHERE` clause here, and only
//! here. Coverage and indicators over whole grids add each grid's kept total
//! (`area_totals`, migration 4); anything else adds household summaries one by one.

use std::collections::BTreeMap;

use rusqlite::types::Value;
use shared::api::HouseholdRow;
use shared::indicators::{Coverage, Indicators};
use shared::{Date, Period};

use super::Conn;
use super::docs::ensure_summaries;
use crate::store::projection::{decode_indicators, decode_summary, encode_indicators, with_reasons};
use crate::store::totals::{self, AreaTotal, cadre_counts, decode_cadres, encode_cadres};
use crate::store::{
    CoverageTable, Flag, Grouping, IndicatorsBySite, Listing, Missing, Selection, StoreError, StoreResult, total,
};

/// `WHERE` clause over `households h` (or `areas h`, when the selection is by area
/// only) for `selection`, with its parameters (`store::sql::clause`).
pub fn clause(selection: &Selection) -> (String, Vec<Value>) {
    let (sql, params) = crate::store::sql::clause(selection);
    (sql, params.into_iter().map(Value::Text).collect())
}

/// Today in China: the server's notion of the current period.
fn today() -> Date {
    Date::in_china(crate::auth::now())
}

/// The households of `selection` that `listing` shows.
pub fn household_rows(conn: &Conn<'_>, selection: &Selection, listing: &Listing) -> StoreResult<Vec<HouseholdRow>> {
    let (scope_sql, scope_params) = clause(selection);
    // 八必访 rows say why: their summary, read in the same query.
    let (why_sql, mut params) = match listing {
        Listing::Flagged(period, Flag::MustVisit) => (
            "(SELECT w.summary FROM summaries w WHERE w.household_id = h.id AND w.period = ?)",
            vec![Value::Text(period.to_string())],
        ),
        _ => ("NULL", Vec::new()),
    };
    let condition = match listing {
        Listing::All => "1 = 1".to_owned(),
        Listing::Conflicted => "h.conflicts > 0".to_owned(),
        Listing::Cases => "h.case_status IS NOT NULL".to_owned(),
        Listing::Flagged(period, flag) => {
            // Only the selection's households: a site supervisor's first look at a new
            // month does not compute the whole county's summaries.
            ensure_summaries(conn, *period, today(), selection)?;
            let column = match flag {
                Flag::ZeroEmployment => "s.zero_employment = 1",
                Flag::LowIncome => "s.low_income_labour = 1",
                Flag::Guarantee => "s.guarantee_alert = 1",
                Flag::NewRisk => "s.new_risk = 1",
                Flag::Monitored => "s.monitored = 1",
                Flag::NotVisited => "COALESCE(s.visited_in_person, 0) = 0",
                Flag::Unsigned => "s.visited_in_person = 1 AND s.signed = 0",
                Flag::MustVisit => "s.must_visit = 1",
            };
            params.push(Value::Text(period.to_string()));
            format!(
                "h.id IN (SELECT h.id FROM households h LEFT JOIN summaries s
                          ON s.household_id = h.id AND s.period = ? WHERE {column})"
            )
        }
        Listing::Review(period, status) => {
            ensure_summaries(conn, *period, today(), selection)?;
            params.push(Value::Text(period.to_string()));
            params.push(Value::Text(status.clone()));
            "h.id IN (SELECT household_id FROM summaries WHERE period = ? AND review = ?)".to_owned()
        }
    };
    params.extend(scope_params);
    let sql = format!(
        "SELECT h.id, h.head_name, h.township, h.site, h.grid, h.address, h.last_visit, h.last_mode, h.members,
                h.conflicts, h.problems, {why_sql}
         FROM households h WHERE {condition} AND {scope_sql} ORDER BY h.site, h.grid, h.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows: Vec<(HouseholdRow, Option<Vec<u8>>)> = stmt
        .query_map(rusqlite::params_from_iter(&params), |r| {
            let row = HouseholdRow {
                id: r.get(0)?,
                head_name: r.get(1)?,
                township: r.get(2)?,
                site: r.get(3)?,
                grid: r.get(4)?,
                address: r.get(5)?,
                last_visit: r.get(6)?,
                last_mode: r.get(7)?,
                members: r.get(8)?,
                conflicts: r.get(9)?,
                problems: r.get(10)?,
                must_visit: Vec::new(),
            };
            Ok((row, r.get(11)?))
        })?
        .collect::<Result<_, _>>()?;
    with_reasons(rows)
}

/// The ids of the households of `selection`, by site, grid and id.
pub fn household_ids(conn: &Conn<'_>, selection: &Selection) -> StoreResult<Vec<String>> {
    let (sql, params) = clause(selection);
    let sql = format!("SELECT h.id FROM households h WHERE {sql} ORDER BY h.site, h.grid, h.id");
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(params), |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// Each household of `selection` with its members' ID numbers as its row keeps them
/// (`projection::joined_id_numbers`; `None` for a row written before they were kept).
pub fn id_numbers(conn: &Conn<'_>, selection: &Selection) -> StoreResult<Vec<(String, Option<String>)>> {
    let (sql, params) = clause(selection);
    let sql = format!("SELECT h.id, h.id_numbers FROM households h WHERE {sql} ORDER BY h.site, h.grid, h.id");
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(params), |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?)
}

/// Coverage of `selection` in `period`, grouped by site, grid or cadre: added up from
/// the kept per-grid totals ([`area_totals`]) when the selection is of whole grids.
pub fn coverage(conn: &Conn<'_>, selection: &Selection, period: Period, by: Grouping) -> StoreResult<CoverageTable> {
    if !selection.by_area_only() {
        return coverage_by_households(conn, selection, period, by);
    }
    let totals = area_totals(conn, selection, period)?;
    let names = if by == Grouping::Cadre { user_names(conn)? } else { BTreeMap::new() };
    Ok(totals::coverage(&totals, by, &names))
}

/// Every account's name by login.
fn user_names(conn: &Conn<'_>) -> StoreResult<BTreeMap<String, String>> {
    Ok(conn
        .prepare_cached("SELECT id, name FROM users")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?)
}

/// Coverage counted household by household (any selection).
fn coverage_by_households(
    conn: &Conn<'_>,
    selection: &Selection,
    period: Period,
    by: Grouping,
) -> StoreResult<CoverageTable> {
    // Missing summaries are counted in the same pass (no scan of their own), then
    // filled in (nothing for a period that has not begun) and the table read again.
    let (table, missing) = count_coverage(conn, selection, period, by)?;
    if missing > 0 && ensure_summaries(conn, period, today(), selection)? > 0 {
        return Ok(count_coverage(conn, selection, period, by)?.0);
    }
    Ok(table)
}

/// Coverage counted household by household as the summaries are now, and how many of
/// the households have no summary for `period` (none is filled in here).
fn count_coverage(
    conn: &Conn<'_>,
    selection: &Selection,
    period: Period,
    by: Grouping,
) -> StoreResult<(CoverageTable, i64)> {
    let (where_sql, params) = clause(selection);
    // Grouped first, named after: one user lookup per cadre, not per household.
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
    let sql = format!(
        "SELECT g.key, {label_sql}, g.assigned, g.visited, g.missing, g.signed FROM (
             SELECT {key_sql} AS key, {label} AS label, COUNT(*) AS assigned,
                    SUM(COALESCE(s.visited_in_person, 0)) AS visited, SUM(s.household_id IS NULL) AS missing,
                    SUM(COALESCE(s.visited_in_person AND s.signed, 0)) AS signed
             FROM households h {join}
             LEFT JOIN summaries s ON s.household_id = h.id AND s.period = ?
             WHERE {where_sql} GROUP BY 1
         ) g {label_join}"
    );
    let mut all = vec![Value::Text(period.to_string())];
    all.extend(params);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut table = CoverageTable::new();
    let mut missing = 0;
    let mut rows = stmt.query(rusqlite::params_from_iter(&all))?;
    while let Some(r) = rows.next()? {
        missing += r.get::<_, i64>(4)?;
        let c = Coverage { assigned: r.get(2)?, visited: r.get(3)?, signed: r.get(5)? };
        table.insert(r.get(0)?, (r.get(1)?, c));
    }
    Ok((table, missing))
}

/// The indicators of `selection` in `period`: the sum of their stored summaries (the
/// sites of [`indicators_by_site`] added up).
pub fn indicators(conn: &Conn<'_>, selection: &Selection, period: Period) -> StoreResult<Indicators> {
    Ok(total(indicators_by_site(conn, selection, period)?))
}

/// The indicators of `selection` in `period` per site. A selection of whole grids adds
/// up kept per-grid totals ([`area_totals`]); any other adds the summaries one by one.
pub fn indicators_by_site(conn: &Conn<'_>, selection: &Selection, period: Period) -> StoreResult<IndicatorsBySite> {
    let mut out = IndicatorsBySite::new();
    if selection.by_area_only() {
        for t in area_totals(conn, selection, period)? {
            out.entry(t.site).or_default().absorb(t.indicators);
        }
        // A site with no summary for the period (one not begun) is left out, as when
        // the summaries are added one by one.
        out.retain(|_, i| i.households > 0);
        return Ok(out);
    }
    ensure_summaries(conn, period, today(), selection)?;
    summaries_by_site(conn, selection, period)
}

/// Adds up the stored summaries of `selection`'s households one by one.
fn sum_summaries(conn: &Conn<'_>, selection: &Selection, period: Period) -> StoreResult<Indicators> {
    Ok(total(summaries_by_site(conn, selection, period)?))
}

/// Adds up the stored summaries of `selection`'s households one by one, per site.
fn summaries_by_site(conn: &Conn<'_>, selection: &Selection, period: Period) -> StoreResult<IndicatorsBySite> {
    let mut out = IndicatorsBySite::new();
    let (where_sql, params) = clause(selection);
    let sql = format!(
        "SELECT h.site, s.summary FROM households h JOIN summaries s ON s.household_id = h.id AND s.period = ?
         WHERE {where_sql}"
    );
    let mut all = vec![Value::Text(period.to_string())];
    all.extend(params);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(&all))?;
    while let Some(row) = rows.next()? {
        let blob: Vec<u8> = row.get(1)?;
        out.entry(row.get(0)?).or_default().add(&decode_summary(&blob)?);
    }
    Ok(out)
}

/// The grids of the area-only `selection` (over `areas h`), each with its households,
/// the sum of their summaries for `period` and its coverage per cadre.
///
/// A grid's sum comes from `area_totals` when it is there; otherwise its missing
/// summaries are filled in, its summaries are added up and, for a period that has
/// begun, the sum is kept: on a reader, that is [`StoreError::NeedsWriter`]. The
/// triggers of migrations 4 and 16 delete a grid's kept sums whenever one of its
/// summaries, its set of households or their assignments change, so a kept sum always
/// equals adding up the summaries now. Periods that have not begun are never kept: their missing summaries are
/// filled in once the period begins, which must not find a sum made before.
fn area_totals(conn: &Conn<'_>, selection: &Selection, period: Period) -> StoreResult<Vec<AreaTotal>> {
    let today = today();
    let (where_sql, params) = clause(selection);
    let sql = format!(
        "SELECT h.county, h.township, h.site, h.grid, h.households, t.indicators, t.cadres FROM areas h
         LEFT JOIN area_totals t ON t.county = h.county AND t.township = h.township AND t.site = h.site
              AND t.grid = h.grid AND t.period = ?
         WHERE h.households > 0 AND {where_sql}"
    );
    let mut all = vec![Value::Text(period.to_string())];
    all.extend(params);
    type Found = ([String; 4], u32, Option<(Vec<u8>, Vec<u8>)>);
    let found: Vec<Found> = conn
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(&all), |r| {
            let kept = match (r.get(5)?, r.get(6)?) {
                (Some(indicators), Some(cadres)) => Some((indicators, cadres)),
                _ => None,
            };
            Ok(([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?], r.get(4)?, kept))
        })?
        .collect::<Result<_, _>>()?;
    let keep = period <= Period::of(today);
    let mut out = Vec::with_capacity(found.len());
    let mut missing = Vec::new();
    for (area, households, blob) in found {
        match blob {
            // A row this build cannot read (kept by another version) is made again.
            Some((i, c)) if let (Ok(indicators), Ok(cadres)) = (decode_indicators(&i), decode_cadres(&c)) => {
                let [_, _, site, grid] = area;
                out.push(AreaTotal { site, grid, households, indicators, cadres });
            }
            _ => missing.push((area, households)),
        }
    }
    if missing.is_empty() {
        return Ok(out);
    }
    if keep && !conn.writable {
        // The grids without kept totals: their summaries, then (on the writer) their sums.
        let selections = missing.iter().map(|(area, _)| Selection::grid(area)).collect();
        return Err(StoreError::NeedsWriter(Box::new(Missing { period, selections, grids: true })));
    }
    for (area, households) in missing {
        let grid = Selection::grid(&area);
        ensure_summaries(conn, period, today, &grid)?;
        let indicators = sum_summaries(conn, &grid, period)?;
        // Counted as the summaries are now, as the indicators were: nothing is filled in
        // here (on PostgreSQL, under the grids' locks).
        let cadres = cadre_counts(count_coverage(conn, &grid, period, Grouping::Cadre)?.0);
        if keep {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO area_totals (county, township, site, grid, period, indicators, cadres)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(rusqlite::params![
                area[0],
                area[1],
                area[2],
                area[3],
                period.to_string(),
                encode_indicators(&indicators)?,
                encode_cadres(&cadres)?
            ])?;
        }
        let [_, _, site, grid] = area;
        out.push(AreaTotal { site, grid, households, indicators, cadres });
    }
    Ok(out)
}

/// Visits of `period` in `selection` per review status code.
pub fn review_counts(conn: &Conn<'_>, selection: &Selection, period: Period) -> StoreResult<BTreeMap<String, u32>> {
    ensure_summaries(conn, period, today(), selection)?;
    let (where_sql, params) = clause(selection);
    let sql = format!(
        "SELECT s.review, COUNT(*) FROM households h JOIN summaries s ON s.household_id = h.id AND s.period = ?
         WHERE s.review IS NOT NULL AND {where_sql} GROUP BY s.review"
    );
    let mut all = vec![Value::Text(period.to_string())];
    all.extend(params);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(&all), |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    //! The per-grid totals must always give what adding up the summaries one by one
    //! gives, however the households and their summaries change in between; and a
    //! read on a reader never writes.
    #![allow(clippy::unwrap_used)]

    use shared::api::Area;
    use shared::{HouseholdDoc, Stamp, VisitMode};

    use super::*;
    use crate::auth::now;
    use crate::store::sqlite::Sqlite;
    use crate::store::{HouseholdFilter, Reader, Scope, Writer};

    fn area(scope: Scope, filter: HouseholdFilter) -> Selection {
        Selection { scope, filter }
    }

    /// Indicators and coverage (by site, grid and cadre) both ways, which must agree.
    fn agree(w: &Conn<'_>, period: Period, selection: &Selection) -> Indicators {
        assert!(selection.by_area_only());
        let fast = indicators(w, selection, period).unwrap();
        ensure_summaries(w, period, today(), selection).unwrap();
        let slow = sum_summaries(w, selection, period).unwrap();
        assert_eq!(fast, slow, "{period} {selection:?}");
        let (fast_sites, slow_sites) =
            (indicators_by_site(w, selection, period).unwrap(), summaries_by_site(w, selection, period).unwrap());
        assert_eq!(fast_sites, slow_sites, "by site, {period} {selection:?}");
        for by in [Grouping::Site, Grouping::Grid, Grouping::Cadre] {
            let fast = coverage(w, selection, period, by).unwrap();
            let slow = coverage_by_households(w, selection, period, by).unwrap();
            assert_eq!(fast, slow, "coverage by {by:?}, {period} {selection:?}");
        }
        fast
    }

    /// Coverage counted the plainest way: one row per household (and cadre).
    fn plain_coverage(conn: &Conn<'_>, period: Period, by: Grouping) -> CoverageTable {
        let (key, label, join) = match by {
            Grouping::Site => ("h.site", "h.site", ""),
            Grouping::Grid => ("h.site || ' / ' || h.grid", "h.grid", ""),
            Grouping::Cadre => {
                ("a.user_id", "u.name", "JOIN assignments a ON a.household_id = h.id JOIN users u ON u.id = a.user_id")
            }
        };
        let sql = format!(
            "SELECT {key}, {label}, s.summary FROM households h {join}
             LEFT JOIN summaries s ON s.household_id = h.id AND s.period = ?1"
        );
        let mut stmt = conn.prepare(&sql).unwrap();
        let rows: Vec<(String, String, Option<Vec<u8>>)> = stmt
            .query_map([period.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let labels: BTreeMap<String, String> = rows.iter().map(|(k, l, _)| (k.clone(), l.clone())).collect();
        let summaries: Vec<(String, Option<shared::indicators::Summary>)> = rows
            .into_iter()
            .map(|(k, _, blob)| (k, blob.map(|b| crate::store::projection::decode_summary(&b).unwrap())))
            .collect();
        shared::indicators::coverage_by(summaries.iter().map(|(k, s)| (k.clone(), s.as_ref())))
            .into_iter()
            .map(|(k, c)| (k.clone(), (labels[&k].clone(), c)))
            .collect()
    }

    fn kept(conn: &Conn<'_>, period: Period) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM area_totals WHERE period = ?1", [period.to_string()], |r| r.get(0))
            .unwrap()
    }

    /// Edits household `id` as the admin would and saves it with its projections.
    fn edit(w: &mut Conn<'_>, id: &str, f: impl FnOnce(&mut shared::Household)) {
        let mut doc = w.load_doc(id).unwrap().unwrap();
        doc.edit(&Stamp::new("admin", "管理员", now()), f).unwrap();
        let h = doc.household().unwrap();
        w.save_doc(id, &doc, &h, today(), now()).unwrap();
    }

    fn seeded() -> (tempfile::TempDir, Sqlite) {
        let dir = tempfile::tempdir().unwrap();
        let db = Sqlite::open(&dir.path().join("t.sqlite3")).unwrap();
        db.write_blocking(|w| crate::demo::seed(w)).unwrap();
        (dir, db)
    }

    #[test]
    fn grid_totals_always_equal_the_summaries_added_up() {
        let (_dir, db) = seeded();
        let conn = db.lock();
        let w = &mut Conn { conn: &conn, writable: true };
        let now_p = Period::of(today());
        let last_month = now_p.plus_months(-1);
        let all = area(Scope::All, HouseholdFilter::default());
        let (site, grid): (String, String) = w
            .query_row("SELECT site, grid FROM households ORDER BY id LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        let narrow = area(
            Scope::Area(Area::County(crate::demo::COUNTY.into())),
            HouseholdFilter { site: Some(site.clone()), grid: Some(grid), ..Default::default() },
        );
        let by_site = area(Scope::Area(Area::Site(site.clone())), HouseholdFilter::default());
        let check = |w: &Conn<'_>| {
            for p in [now_p, last_month, now_p.plus_months(-12)] {
                agree(w, p, &all);
                agree(w, p, &narrow);
                agree(w, p, &by_site);
            }
        };

        // Cold, then from what was kept.
        check(w);
        assert!(kept(w, now_p) > 0);
        let before = agree(w, now_p, &all);
        check(w);

        // A visit changes: in person this month becomes by phone.
        let visited: String = w
            .query_row(
                "SELECT household_id FROM summaries WHERE period = ?1 AND visited_in_person = 1 ORDER BY household_id",
                [now_p.to_string()],
                |r| r.get(0),
            )
            .unwrap();
        edit(w, &visited, |h| {
            h.visits.get_mut(&now_p.to_string()).unwrap().mode = Some(VisitMode::Phone);
        });
        let after = agree(w, now_p, &all);
        assert_eq!(after.visited_in_person + 1, before.visited_in_person);
        check(w);

        // A household moves to another site's grid.
        let (other_site, other_grid): (String, String) = w
            .query_row("SELECT site, grid FROM households WHERE site <> ?1 LIMIT 1", [&site], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        edit(w, &visited, |h| {
            h.facts.site = other_site.clone();
            h.facts.grid = other_grid.clone();
        });
        check(w);

        // Assignments change: a household goes to another cadre, one loses its
        // cadre, one gains a second.
        let (moved, cadre): (String, String) = w
            .query_row("SELECT household_id, user_id FROM assignments ORDER BY household_id LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        let other: String = w
            .query_row(
                "SELECT DISTINCT user_id FROM assignments
                 WHERE user_id NOT IN (SELECT user_id FROM assignments WHERE household_id = ?1)",
                [&moved],
                |r| r.get(0),
            )
            .unwrap();
        w.execute(
            "UPDATE assignments SET user_id = ?1 WHERE household_id = ?2 AND user_id = ?3",
            [&other, &moved, &cadre],
        )
        .unwrap();
        check(w);
        w.execute("DELETE FROM assignments WHERE household_id = ?1", [&visited]).unwrap();
        check(w);
        w.execute("INSERT INTO assignments (household_id, user_id) VALUES (?1, ?2)", [&moved, &cadre]).unwrap();
        check(w);

        // A summary goes missing (a month began and nobody synced): filled in on
        // reading, whichever way is read first.
        let forget = |w: &Conn<'_>| {
            w.execute(
                "DELETE FROM summaries WHERE period = ?1 AND household_id = (SELECT MIN(id) FROM households)",
                [last_month.to_string()],
            )
            .unwrap()
        };
        for by in [Grouping::Site, Grouping::Grid, Grouping::Cadre] {
            assert_eq!(forget(w), 1);
            let counted = coverage_by_households(w, &all, last_month, by).unwrap();
            let present: i64 = w
                .query_row(
                    "SELECT COUNT(*) FROM summaries WHERE period = ?1 AND household_id = (SELECT MIN(id) FROM households)",
                    [last_month.to_string()],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(present, 1, "by {by:?}: the missing summary is filled in");
            assert_eq!(counted, plain_coverage(w, last_month, by), "by {by:?}");
        }
        assert_eq!(forget(w), 1);
        check(w);
        for p in [now_p, last_month] {
            for by in [Grouping::Site, Grouping::Grid, Grouping::Cadre] {
                assert_eq!(coverage_by_households(w, &all, p, by).unwrap(), plain_coverage(w, p, by));
            }
        }

        // A new household in a new grid, with no summary for last month yet.
        let stamp = Stamp::new("admin", "管理员", now());
        let mut doc = HouseholdDoc::create("532325099001", shared::automerge::ActorId::random(), &stamp).unwrap();
        doc.edit(&stamp, |h| {
            h.facts.county = crate::demo::COUNTY.into();
            h.facts.township = "栋川镇".into();
            h.facts.site = site.clone();
            h.facts.grid = "新楼".into();
        })
        .unwrap();
        w.save_doc("532325099001", &doc, &doc.household().unwrap(), today(), now()).unwrap();
        let grown = agree(w, last_month, &all);
        assert_eq!(grown.households as usize, 361);
        check(w);

        // A period that has not begun is added up but never kept.
        let future = now_p.plus_months(2);
        agree(w, future, &all);
        assert_eq!(kept(w, future), 0);
    }

    #[tokio::test]
    async fn reads_never_write_and_missing_projections_are_filled_on_the_writer() {
        let (_dir, db) = seeded();
        let store = crate::store::Store::Sqlite(db.clone());
        let last_month = Period::of(today()).plus_months(-1);
        let all = area(Scope::All, HouseholdFilter::default());
        let reference = store.read({
            let all = all.clone();
            move |r| r.indicators(&all, last_month)
        });
        let reference = reference.await.unwrap();
        {
            let conn = db.lock();
            conn.execute("DELETE FROM summaries WHERE period = ?1", [last_month.to_string()]).unwrap();
            conn.execute("DELETE FROM area_totals", []).unwrap();
        }
        // On a reader the same read finds projections missing and says so…
        let reader = db.take_reader().unwrap();
        let tx = reader.unchecked_transaction().unwrap();
        let on_reader = indicators(&Conn { conn: &tx, writable: false }, &all, last_month);
        // It names what is missing: each grid without its kept total, not the county
        // (whose every household would then be looked at for a missing summary).
        let grids: i64 = tx.query_row("SELECT COUNT(*) FROM areas WHERE households > 0", [], |r| r.get(0)).unwrap();
        match on_reader {
            Err(StoreError::NeedsWriter(missing)) => {
                assert_eq!((missing.period, missing.grids), (last_month, true));
                assert_eq!(missing.selections.len() as i64, grids);
                assert!(missing.selections.iter().all(|s| s.filter.grid.is_some()), "{:?}", missing.selections);
            }
            other => panic!("{other:?}"),
        }
        // …and cannot write by accident: reader connections are query-only.
        assert!(tx.execute("DELETE FROM area_totals", []).is_err());
        drop(tx);
        db.give_back(reader);
        // Through the store, it is answered (filled in on the writer), the same as before.
        let again = store.read(move |r| r.indicators(&all, last_month)).await.unwrap();
        assert_eq!(again, reference);
        let kept: i64 = db.lock().query_row("SELECT COUNT(*) FROM area_totals", [], |r| r.get(0)).unwrap();
        assert!(kept > 0, "the grid totals were kept");
    }
}
