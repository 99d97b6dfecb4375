//! The read API supervisors (and the app's lists) use: households in scope, coverage,
//! indicators, flagged households, conflicts, history. Dashboards read the projection
//! tables; only conflicts and history open documents.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use rusqlite::Connection;
use rusqlite::types::Value;
use shared::indicators::{Coverage, Indicators, ThreeNoDecrease};
use shared::{Date, Period};

use crate::auth::{Role, Session, User, now, scope_filter};
use crate::error::{AppError, AppResult};
use crate::{AppState, store};

/// Query parameters shared by the dashboard endpoints.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filter {
    /// `YYYY-MM`; default: the current period (China time).
    pub period: Option<String>,
    /// Narrow to a township, site or grid inside the caller's scope.
    pub township: Option<String>,
    /// Site.
    pub site: Option<String>,
    /// Grid.
    pub grid: Option<String>,
    /// Households assigned to this cadre (login).
    pub cadre: Option<String>,
}

/// A `YYYY-MM` query parameter (`zh`/`en` name it in the error), or `default`.
pub fn period_param(value: Option<&str>, default: Period, zh: &str, en: &str) -> AppResult<Period> {
    match value {
        None => Ok(default),
        Some(p) => p.parse().map_err(|_| {
            AppError::bad_request(
                "bad_period",
                format!("{zh}“{p}”应为 YYYY-MM"),
                format!("{en} \"{p}\" must be YYYY-MM"),
            )
        }),
    }
}

impl Filter {
    /// The period asked for, or the current one.
    pub fn period(&self) -> AppResult<Period> {
        period_param(self.period.as_deref(), Period::of(Date::in_china(now())), "监测期", "Period")
    }

    /// `WHERE` clause over `households h` for `user`'s scope and this filter.
    pub fn clause(&self, user: &User) -> (String, Vec<Value>) {
        let (scope, param) = scope_filter(user);
        let mut sql = scope;
        let mut params: Vec<Value> = param.into_iter().map(Value::Text).collect();
        for (column, value) in [("township", &self.township), ("site", &self.site), ("grid", &self.grid)] {
            if let Some(v) = value {
                sql.push_str(&format!(" AND h.{column} = ?"));
                params.push(Value::Text(v.clone()));
            }
        }
        if let Some(cadre) = &self.cadre {
            sql.push_str(" AND h.id IN (SELECT household_id FROM assignments WHERE user_id = ?)");
            params.push(Value::Text(cadre.clone()));
        }
        (sql, params)
    }
}

pub fn supervisor_or_admin(session: &Session) -> AppResult<()> {
    if session.user.role == Role::Cadre {
        return Err(AppError::forbidden("仅督导和管理员可查看", "Only supervisors and admins can see this"));
    }
    Ok(())
}

/// A household as lists show it.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, PartialEq, Eq)]
pub struct HouseholdRow {
    /// 户编码
    pub id: String,
    /// 户主
    pub head_name: String,
    /// 乡镇
    pub township: String,
    /// 安置点
    pub site: String,
    /// 网格
    pub grid: String,
    /// 住址
    pub address: String,
    /// Latest visit period.
    pub last_visit: Option<String>,
    /// Its mode.
    pub last_mode: Option<String>,
    /// Present members.
    pub members: i64,
    /// Conflicted fields.
    pub conflicts: i64,
    /// Validation problems.
    pub problems: i64,
}

pub fn household_rows(conn: &Connection, where_sql: &str, params: &[Value]) -> AppResult<Vec<HouseholdRow>> {
    let sql = format!(
        "SELECT h.id, h.head_name, h.township, h.site, h.grid, h.address, h.last_visit, h.last_mode, h.members,
                h.conflicts, h.problems
         FROM households h WHERE {where_sql} ORDER BY h.site, h.grid, h.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |r| {
            Ok(HouseholdRow {
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
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// `GET /api/households`: every household the caller may see.
pub async fn households(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<Filter>,
) -> AppResult<Json<Vec<HouseholdRow>>> {
    let (sql, params) = filter.clause(&session.user);
    Ok(Json(state.db.run(move |conn| household_rows(conn, &sql, &params)).await?))
}

/// One row of a coverage table.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, PartialEq)]
pub struct CoverageRow {
    /// Site, grid or cadre login.
    pub key: String,
    /// Display label (cadre name; otherwise the key).
    pub label: String,
    /// Assigned households.
    pub assigned: u32,
    /// Visited in person.
    pub visited: u32,
    /// visited ÷ assigned.
    pub rate: Option<f64>,
}

/// `?by=` for coverage.
#[derive(Debug, serde::Deserialize)]
pub struct CoverageQuery {
    /// `site` (default), `grid` or `cadre`.
    pub by: Option<String>,
    #[serde(flatten)]
    filter: Filter,
}

/// `GET /api/coverage?period=&by=site|grid|cadre`.
pub async fn coverage(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<CoverageQuery>,
) -> AppResult<Json<Vec<CoverageRow>>> {
    supervisor_or_admin(&session)?;
    let period = q.filter.period()?;
    let by = q.by.clone().unwrap_or_else(|| "site".into());
    let (where_sql, params) = q.filter.clause(&session.user);
    let rows = state
        .db
        .run(move |conn| {
            let table = match by.as_str() {
                "site" | "grid" if is_area_clause(&where_sql) => {
                    coverage_by_area(conn, period, by == "grid", &where_sql, &params)?
                }
                "site" | "grid" | "cadre" => coverage_by_households(conn, period, &by, &where_sql, &params)?,
                other => {
                    return Err(AppError::bad_request(
                        "bad_grouping",
                        format!("不支持按“{other}”统计，可选 site、grid、cadre"),
                        format!("Cannot group by \"{other}\"; use site, grid or cadre"),
                    ));
                }
            };
            Ok(table
                .into_iter()
                .map(|(key, (label, c))| CoverageRow {
                    key,
                    label,
                    assigned: c.assigned,
                    visited: c.visited,
                    rate: c.rate(),
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(Json(rows))
}

/// Coverage rows by key: the label and the counts.
type CoverageTable = BTreeMap<String, (String, Coverage)>;

/// Coverage by site or grid from the per-grid totals ([`area_totals`]): assigned is the
/// grid's households, visited the households its summaries count as visited in person.
fn coverage_by_area(
    conn: &Connection,
    period: Period,
    by_grid: bool,
    where_sql: &str,
    params: &[Value],
) -> AppResult<CoverageTable> {
    let mut table = CoverageTable::new();
    for t in area_totals(conn, period, where_sql, params)? {
        let (key, label) =
            if by_grid { (format!("{} / {}", t.site, t.grid), t.grid) } else { (t.site.clone(), t.site) };
        let (_, c) = table.entry(key).or_insert_with(|| (label, Coverage::default()));
        c.assigned += t.households;
        c.visited += t.indicators.visited_in_person;
    }
    Ok(table)
}

/// Coverage by site, grid or cadre counted household by household (any filter).
fn coverage_by_households(
    conn: &Connection,
    period: Period,
    by: &str,
    where_sql: &str,
    params: &[Value],
) -> AppResult<CoverageTable> {
    // Grouped first, named after: one user lookup per cadre, not per household.
    let (key_sql, join, label_sql, label_join) = match by {
        "site" => ("h.site", "", "g.label", ""),
        "grid" => ("h.site || ' / ' || h.grid", "", "g.label", ""),
        _ => ("a.user_id", "JOIN assignments a ON a.household_id = h.id", "u.name", "JOIN users u ON u.id = g.key"),
    };
    let label = if by == "grid" { "h.grid" } else { key_sql };
    let sql = format!(
        "SELECT g.key, {label_sql}, g.assigned, g.visited, g.missing FROM (
             SELECT {key_sql} AS key, {label} AS label, COUNT(*) AS assigned,
                    SUM(COALESCE(s.visited_in_person, 0)) AS visited, SUM(s.household_id IS NULL) AS missing
             FROM households h {join}
             LEFT JOIN summaries s ON s.household_id = h.id AND s.period = ?
             WHERE {where_sql} GROUP BY 1
         ) g {label_join}"
    );
    let mut all = vec![Value::Text(period.to_string())];
    all.extend(params.iter().cloned());
    let read = || -> AppResult<(CoverageTable, i64)> {
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut missing = 0;
        let mut table = CoverageTable::new();
        let mut rows = stmt.query(rusqlite::params_from_iter(&all))?;
        while let Some(r) = rows.next()? {
            missing += r.get::<_, i64>(4)?;
            table.insert(r.get(0)?, (r.get(1)?, Coverage { assigned: r.get(2)?, visited: r.get(3)? }));
        }
        Ok((table, missing))
    };
    let (table, missing) = read()?;
    // Households without a summary for the period: filled in as `ensure_summaries_where`
    // does (nothing for a period that has not begun), then counted again.
    if missing > 0 && store::ensure_summaries_where(conn, period, Date::in_china(now()), where_sql, params)? > 0 {
        return Ok(read()?.0);
    }
    Ok(table)
}

/// `?baseline=` for indicators.
#[derive(Debug, serde::Deserialize)]
pub struct IndicatorQuery {
    /// Baseline period for 三个不减; default: the same month a year earlier.
    pub baseline: Option<String>,
    #[serde(flatten)]
    filter: Filter,
}

/// The indicators of one period and area, with the derived rates.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct IndicatorReport {
    /// The period.
    pub period: String,
    /// The baseline period.
    pub baseline: String,
    /// Raw counts and sums.
    pub indicators: Indicators,
    /// 户户见 coverage.
    pub coverage: Option<f64>,
    /// 劳动力就业率.
    pub employment_rate: Option<f64>,
    /// Households with labour that have someone in work.
    pub one_in_work_rate: Option<f64>,
    /// 人均纯收入.
    pub per_capita_income: Option<f64>,
    /// 人均纯收入增长.
    pub per_capita_income_growth: Option<f64>,
    /// 三个不减 against the baseline.
    pub three_no_decrease: ThreeNoDecrease,
    /// …and whether it holds.
    pub three_no_decrease_holds: bool,
}

/// The indicators of the households `h` matching `where_sql` for `period`: the sum of
/// their stored summaries. An area-only clause adds up cached per-grid totals
/// ([`area_totals`]); any other adds the summaries one by one.
pub(crate) fn fold(conn: &Connection, period: Period, where_sql: &str, params: &[Value]) -> AppResult<Indicators> {
    if is_area_clause(where_sql) {
        let mut out = Indicators::default();
        for t in area_totals(conn, period, where_sql, params)? {
            merge(&mut out, t.indicators);
        }
        return Ok(out);
    }
    store::ensure_summaries_where(conn, period, Date::in_china(now()), where_sql, params)?;
    fold_summaries(conn, period, where_sql, params)
}

/// Adds up the stored summaries of the households matching `where_sql`, one by one.
fn fold_summaries(conn: &Connection, period: Period, where_sql: &str, params: &[Value]) -> AppResult<Indicators> {
    let sql = format!(
        "SELECT s.summary FROM households h JOIN summaries s ON s.household_id = h.id AND s.period = ?
         WHERE {where_sql}"
    );
    let mut all = vec![Value::Text(period.to_string())];
    all.extend(params.iter().cloned());
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(&all))?;
    let mut out = Indicators::default();
    while let Some(row) = rows.next()? {
        let blob: Vec<u8> = row.get(0)?;
        out.add(&store::decode_summary(&blob)?);
    }
    Ok(out)
}

/// Whether a clause from [`Filter::clause`] narrows households by area only (the
/// caller's scope and `township=`, `site=`, `grid=`), so that it reads the same over
/// `areas h` as over `households h`. Anything else (a cadre, a clause this function does
/// not know) is answered household by household.
fn is_area_clause(where_sql: &str) -> bool {
    where_sql
        .split(" AND ")
        .all(|term| matches!(term, "1 = 1" | "0 = 1" | "h.county = ?" | "h.township = ?" | "h.site = ?" | "h.grid = ?"))
}

/// One grid's households and the indicators of their summaries for a period.
#[derive(Debug)]
struct AreaTotal {
    site: String,
    grid: String,
    households: u32,
    indicators: Indicators,
}

/// The grids matching the area-only clause `where_sql` (over `areas h`), each with its
/// households and the sum of their summaries for `period`.
///
/// A grid's sum comes from `area_totals` when it is there; otherwise its missing
/// summaries are filled in (as [`store::ensure_summaries_where`] would), its summaries are
/// added up and, for a period that has begun, the sum is kept. The triggers of
/// migration 4 delete a grid's kept sums whenever one of its summaries or its set of
/// households changes, so a kept sum always equals adding up the summaries now.
/// Periods that have not begun are never kept: their missing summaries are filled in
/// once the period begins, which must not find a sum made before.
fn area_totals(conn: &Connection, period: Period, where_sql: &str, params: &[Value]) -> AppResult<Vec<AreaTotal>> {
    let today = Date::in_china(now());
    let sql = format!(
        "SELECT h.county, h.township, h.site, h.grid, h.households, t.indicators FROM areas h
         LEFT JOIN area_totals t ON t.county = h.county AND t.township = h.township AND t.site = h.site
              AND t.grid = h.grid AND t.period = ?
         WHERE h.households > 0 AND {where_sql}"
    );
    let mut all = vec![Value::Text(period.to_string())];
    all.extend(params.iter().cloned());
    type Found = ([String; 4], u32, Option<Vec<u8>>);
    let found: Vec<Found> = conn
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(&all), |r| {
            Ok(([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?], r.get(4)?, r.get(5)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(found.len());
    let mut missing = Vec::new();
    for (area, households, blob) in found {
        match blob {
            Some(blob) => {
                let indicators = postcard::from_bytes(&blob).map_err(AppError::internal)?;
                let [_, _, site, grid] = area;
                out.push(AreaTotal { site, grid, households, indicators });
            }
            None => missing.push((area, households)),
        }
    }
    if missing.is_empty() {
        return Ok(out);
    }
    let keep = period <= Period::of(today);
    // One commit for every grid filled in, not one per summary.
    let tx = if conn.is_autocommit() { Some(conn.unchecked_transaction()?) } else { None };
    let grid_sql = "h.county = ? AND h.township = ? AND h.site = ? AND h.grid = ?";
    for (area, households) in missing {
        let grid_params: Vec<Value> = area.iter().cloned().map(Value::Text).collect();
        store::ensure_summaries_where(conn, period, today, grid_sql, &grid_params)?;
        let indicators = fold_summaries(conn, period, grid_sql, &grid_params)?;
        if keep {
            let blob = postcard::to_allocvec(&indicators).map_err(AppError::internal)?;
            conn.prepare_cached(
                "INSERT OR REPLACE INTO area_totals (county, township, site, grid, period, indicators)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(rusqlite::params![area[0], area[1], area[2], area[3], period.to_string(), blob])?;
        }
        let [_, _, site, grid] = area;
        out.push(AreaTotal { site, grid, households, indicators });
    }
    if let Some(tx) = tx {
        tx.commit()?;
    }
    Ok(out)
}

/// Adds `other`, the indicators of other households for the same period, into `into`:
/// the same as adding their summaries one by one, since every field is a count or a sum.
/// Destructured in full, so that a field added to `Indicators` does not compile here
/// until it is added up too.
fn merge(into: &mut Indicators, other: Indicators) {
    let Indicators {
        households,
        visited_in_person,
        recorded,
        labour_force,
        employed_labour,
        employed_people,
        zero_employment,
        households_with_labour,
        one_in_work,
        stable_employed,
        low_income_labour,
        income_unknown,
        income_this_year,
        income_last_year,
        persons_compared,
        guarantee_alerts,
        monitored,
        with_risk,
        new_risk,
        returned,
        welfare_posts,
        wage_income,
        by_channel,
        by_scope,
        by_industry,
    } = other;
    into.households += households;
    into.visited_in_person += visited_in_person;
    into.recorded += recorded;
    into.labour_force += labour_force;
    into.employed_labour += employed_labour;
    into.employed_people += employed_people;
    into.zero_employment += zero_employment;
    into.households_with_labour += households_with_labour;
    into.one_in_work += one_in_work;
    into.stable_employed += stable_employed;
    into.low_income_labour += low_income_labour;
    into.income_unknown += income_unknown;
    into.income_this_year += income_this_year;
    into.income_last_year += income_last_year;
    into.persons_compared += persons_compared;
    into.guarantee_alerts += guarantee_alerts;
    into.with_risk += with_risk;
    into.new_risk += new_risk;
    into.returned += returned;
    into.welfare_posts += welfare_posts;
    into.wage_income += wage_income;
    for (k, n) in monitored {
        *into.monitored.entry(k).or_default() += n;
    }
    for (k, n) in by_channel {
        *into.by_channel.entry(k).or_default() += n;
    }
    for (k, n) in by_scope {
        *into.by_scope.entry(k).or_default() += n;
    }
    for (k, n) in by_industry {
        *into.by_industry.entry(k).or_default() += n;
    }
}

/// `GET /api/indicators?period=&baseline=&site=`.
pub async fn indicators(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<IndicatorQuery>,
) -> AppResult<Json<IndicatorReport>> {
    supervisor_or_admin(&session)?;
    let period = q.filter.period()?;
    let baseline = period_param(q.baseline.as_deref(), period.plus_months(-12), "基期", "Baseline")?;
    let (where_sql, params) = q.filter.clause(&session.user);
    let (now_ind, base_ind) = state
        .db
        .run(move |conn| {
            Ok::<_, AppError>((fold(conn, period, &where_sql, &params)?, fold(conn, baseline, &where_sql, &params)?))
        })
        .await?;
    let three = ThreeNoDecrease::compare(&now_ind, &base_ind);
    Ok(Json(IndicatorReport {
        period: period.to_string(),
        baseline: baseline.to_string(),
        coverage: now_ind.coverage(),
        employment_rate: now_ind.employment_rate(),
        one_in_work_rate: now_ind.one_in_work_rate(),
        per_capita_income: now_ind.per_capita_income(),
        per_capita_income_growth: now_ind.per_capita_income_growth(),
        three_no_decrease_holds: three.holds(),
        three_no_decrease: three,
        indicators: now_ind,
    }))
}

/// `?kind=` for flagged lists.
#[derive(Debug, serde::Deserialize)]
pub struct FlaggedQuery {
    /// zero_employment | low_income | guarantee | new_risk | monitored | not_visited
    pub kind: String,
    #[serde(flatten)]
    filter: Filter,
}

/// `GET /api/flagged?kind=&period=`: the households behind an indicator.
pub async fn flagged(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<FlaggedQuery>,
) -> AppResult<Json<Vec<HouseholdRow>>> {
    supervisor_or_admin(&session)?;
    let period = q.filter.period()?;
    let condition = match q.kind.as_str() {
        "zero_employment" => "s.zero_employment = 1",
        "low_income" => "s.low_income_labour = 1",
        "guarantee" => "s.guarantee_alert = 1",
        "new_risk" => "s.new_risk = 1",
        "monitored" => "s.monitored = 1",
        "not_visited" => "COALESCE(s.visited_in_person, 0) = 0",
        other => {
            return Err(AppError::bad_request(
                "bad_kind",
                format!("未知名单类型“{other}”"),
                format!(
                    "Unknown list \"{other}\"; use zero_employment, low_income, guarantee, new_risk, monitored or not_visited"
                ),
            ));
        }
    };
    let (where_sql, params) = q.filter.clause(&session.user);
    let rows = state
        .db
        .run(move |conn| {
            // Only the caller's households: a site supervisor's first look at a new
            // month does not compute the whole county's summaries.
            store::ensure_summaries_where(conn, period, Date::in_china(now()), &where_sql, &params)?;
            let sql = format!(
                "h.id IN (SELECT h.id FROM households h LEFT JOIN summaries s
                          ON s.household_id = h.id AND s.period = ? WHERE {condition}) AND {where_sql}"
            );
            let mut all = vec![Value::Text(period.to_string())];
            all.extend(params);
            household_rows(conn, &sql, &all)
        })
        .await?;
    Ok(Json(rows))
}

/// A conflict as the review queue shows it: the household, then the field.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ConflictItem {
    /// 户编码
    pub household_id: String,
    /// 户主
    pub head_name: String,
    /// The field, its readable names and every value.
    #[serde(flatten)]
    pub field: crate::console::FieldConflict,
}

/// `GET /api/conflicts`: every conflicted field in the caller's scope.
pub async fn conflicts(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<Filter>,
) -> AppResult<Json<Vec<ConflictItem>>> {
    let (where_sql, params) = filter.clause(&session.user);
    let items = state
        .db
        .run(move |conn| {
            let rows = household_rows(conn, &format!("h.conflicts > 0 AND {where_sql}"), &params)?;
            let mut out = Vec::new();
            for row in rows {
                let Some(doc) = store::load_doc(conn, &row.id)? else { continue };
                let h = doc.household().map_err(AppError::internal)?;
                for field in crate::console::field_conflicts(&doc, &h)? {
                    out.push(ConflictItem { household_id: row.id.clone(), head_name: row.head_name.clone(), field });
                }
            }
            Ok::<_, AppError>(out)
        })
        .await?;
    Ok(Json(items))
}

/// One entry of a household's history, with who uploaded it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct HistoryItem {
    /// The change as the document records it.
    #[serde(flatten)]
    pub entry: shared::history::HistoryEntry,
    /// The authenticated user who uploaded it (absent for server-side edits).
    pub uploaded_by: Option<String>,
    /// …from which device.
    pub device_id: Option<String>,
    /// …when the server received it.
    pub received_at: Option<i64>,
}

/// `GET /api/households/{id}/history`.
pub async fn history(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Json<Vec<HistoryItem>>> {
    let items = state
        .db
        .run(move |conn| {
            crate::auth::require_touch(conn, &session.user, &id)?;
            let doc = store::load_doc(conn, &id)?.ok_or_else(|| AppError::not_found(&id))?;
            let mut uploads: BTreeMap<String, (String, String, i64)> = BTreeMap::new();
            let mut stmt = conn
                .prepare("SELECT hash, uploaded_by, device_id, received_at FROM change_log WHERE household_id = ?1")?;
            for row in stmt.query_map([&id], |r| {
                Ok((
                    hex::encode(r.get::<_, Vec<u8>>(0)?),
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })? {
                let (hash, user, device, at) = row?;
                uploads.insert(hash, (user, device, at));
            }
            Ok::<_, AppError>(
                doc.history()
                    .into_iter()
                    .map(|entry| {
                        let up = uploads.get(&entry.hash);
                        HistoryItem {
                            uploaded_by: up.map(|u| u.0.clone()),
                            device_id: up.map(|u| u.1.clone()),
                            received_at: up.map(|u| u.2),
                            entry,
                        }
                    })
                    .collect(),
            )
        })
        .await?;
    Ok(Json(items))
}

#[cfg(test)]
mod tests {
    //! The per-grid totals must always give what adding up the summaries one by one
    //! gives, however the households and their summaries change in between.
    #![allow(clippy::unwrap_used)]

    use shared::{HouseholdDoc, Stamp, VisitMode};

    use super::*;

    /// Indicators and coverage (by site and by grid) both ways, which must agree.
    fn agree(conn: &Connection, period: Period, where_sql: &str, params: &[Value]) -> Indicators {
        assert!(is_area_clause(where_sql), "{where_sql}");
        let fast = fold(conn, period, where_sql, params).unwrap();
        store::ensure_summaries_where(conn, period, Date::in_china(now()), where_sql, params).unwrap();
        let slow = fold_summaries(conn, period, where_sql, params).unwrap();
        assert_eq!(fast, slow, "{period} {where_sql}");
        for (by_grid, by) in [(false, "site"), (true, "grid")] {
            let fast = coverage_by_area(conn, period, by_grid, where_sql, params).unwrap();
            let slow = coverage_by_households(conn, period, by, where_sql, params).unwrap();
            assert_eq!(fast, slow, "coverage by {by}, {period} {where_sql}");
        }
        fast
    }

    /// Coverage counted the plainest way: one row per household (and cadre).
    fn plain_coverage(conn: &Connection, period: Period, by: &str) -> CoverageTable {
        let (key, label, join) = match by {
            "site" => ("h.site", "h.site", ""),
            "grid" => ("h.site || ' / ' || h.grid", "h.grid", ""),
            _ => {
                ("a.user_id", "u.name", "JOIN assignments a ON a.household_id = h.id JOIN users u ON u.id = a.user_id")
            }
        };
        let sql = format!(
            "SELECT {key}, {label}, COALESCE(s.visited_in_person, 0) FROM households h {join}
             LEFT JOIN summaries s ON s.household_id = h.id AND s.period = ?1"
        );
        let mut stmt = conn.prepare(&sql).unwrap();
        let rows: Vec<(String, String, bool)> = stmt
            .query_map([period.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let labels: BTreeMap<String, String> = rows.iter().map(|(k, l, _)| (k.clone(), l.clone())).collect();
        shared::indicators::coverage_by(rows.into_iter().map(|(k, _, v)| (k, v)))
            .into_iter()
            .map(|(k, c)| (k.clone(), (labels[&k].clone(), c)))
            .collect()
    }

    fn kept(conn: &Connection, period: Period) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM area_totals WHERE period = ?1", [period.to_string()], |r| r.get(0))
            .unwrap()
    }

    /// Edits household `id` as the admin would and saves it with its projections.
    fn edit(conn: &Connection, id: &str, f: impl FnOnce(&mut shared::Household)) {
        let mut doc = store::load_doc(conn, id).unwrap().unwrap();
        doc.edit(&Stamp::new("admin", "管理员", now()), f).unwrap();
        let h = doc.household().unwrap();
        store::save(conn, id, &doc, &h, Date::in_china(now())).unwrap();
    }

    #[test]
    fn grid_totals_always_equal_the_summaries_added_up() {
        let db = crate::db::Db::open_in_memory().unwrap();
        let mut conn = db.lock();
        crate::demo::seed(&mut conn).unwrap();
        let now_p = Period::of(Date::in_china(now()));
        let last_month = now_p.plus_months(-1);
        let all: (&str, Vec<Value>) = ("1 = 1", vec![]);
        let (site, grid): (String, String) = conn
            .query_row("SELECT site, grid FROM households ORDER BY id LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        let narrow: (&str, Vec<Value>) = (
            "h.county = ? AND h.site = ? AND h.grid = ?",
            vec![Value::Text(crate::demo::COUNTY.into()), site.clone().into(), grid.into()],
        );
        let check = |conn: &Connection| {
            for p in [now_p, last_month, now_p.plus_months(-12)] {
                agree(conn, p, all.0, &all.1);
                agree(conn, p, narrow.0, &narrow.1);
                agree(conn, p, "h.site = ?", &[site.clone().into()]);
            }
        };

        // Cold, then from what was kept.
        check(&conn);
        assert!(kept(&conn, now_p) > 0);
        let before = agree(&conn, now_p, all.0, &all.1);
        check(&conn);

        // A visit changes: in person this month becomes by phone.
        let visited: String = conn
            .query_row(
                "SELECT household_id FROM summaries WHERE period = ?1 AND visited_in_person = 1 ORDER BY household_id",
                [now_p.to_string()],
                |r| r.get(0),
            )
            .unwrap();
        edit(&conn, &visited, |h| {
            h.visits.get_mut(&now_p.to_string()).unwrap().mode = Some(VisitMode::Phone);
        });
        let after = agree(&conn, now_p, all.0, &all.1);
        assert_eq!(after.visited_in_person + 1, before.visited_in_person);
        check(&conn);

        // A household moves to another site's grid.
        let (other_site, other_grid): (String, String) = conn
            .query_row("SELECT site, grid FROM households WHERE site <> ?1 LIMIT 1", [&site], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        edit(&conn, &visited, |h| {
            h.facts.site = other_site.clone();
            h.facts.grid = other_grid.clone();
        });
        check(&conn);

        // A summary goes missing (a month began and nobody synced): filled in on reading,
        // whichever way is read first.
        let forget = |conn: &Connection| {
            conn.execute(
                "DELETE FROM summaries WHERE period = ?1 AND household_id = (SELECT MIN(id) FROM households)",
                [last_month.to_string()],
            )
            .unwrap()
        };
        for by in ["site", "grid", "cadre"] {
            assert_eq!(forget(&conn), 1);
            let counted = coverage_by_households(&conn, last_month, by, all.0, &all.1).unwrap();
            let present: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM summaries WHERE period = ?1 AND household_id = (SELECT MIN(id) FROM households)",
                    [last_month.to_string()],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(present, 1, "by {by}: the missing summary is filled in");
            assert_eq!(counted, plain_coverage(&conn, last_month, by), "by {by}");
        }
        assert_eq!(forget(&conn), 1);
        check(&conn);
        for p in [now_p, last_month] {
            for by in ["site", "grid", "cadre"] {
                assert_eq!(coverage_by_households(&conn, p, by, all.0, &all.1).unwrap(), plain_coverage(&conn, p, by));
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
        store::save(&conn, "532325099001", &doc, &doc.household().unwrap(), Date::in_china(now())).unwrap();
        let grown = agree(&conn, last_month, all.0, &all.1);
        assert_eq!(grown.households as usize, 361);
        check(&conn);

        // A period that has not begun is added up but never kept.
        let future = now_p.plus_months(2);
        agree(&conn, future, all.0, &all.1);
        assert_eq!(kept(&conn, future), 0);
    }

    #[test]
    fn only_area_clauses_take_the_grid_totals() {
        assert!(is_area_clause("1 = 1"));
        assert!(is_area_clause("h.site = ? AND h.grid = ?"));
        assert!(!is_area_clause("h.id IN (SELECT household_id FROM assignments WHERE user_id = ?)"));
        assert!(!is_area_clause("1 = 1 AND h.id IN (SELECT household_id FROM assignments WHERE user_id = ?)"));
        assert!(!is_area_clause("h.site = ? OR 1 = 1"));
    }
}
