//! The read API supervisors (and the app's lists) use: households in scope, coverage,
//! indicators, flagged households, conflicts, history. Dashboards read the projection
//! tables; only conflicts and history open documents.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use rusqlite::Connection;
use rusqlite::types::Value;
use shared::indicators::{Coverage, Indicators, ThreeNoDecrease, coverage_by};
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
            store::ensure_summaries(conn, period, Date::in_china(now()))?;
            let (key_sql, join) = match by.as_str() {
                "site" => ("h.site, h.site", ""),
                "grid" => ("h.site || ' / ' || h.grid, h.grid", ""),
                "cadre" => (
                    "a.user_id, u.name",
                    "JOIN assignments a ON a.household_id = h.id JOIN users u ON u.id = a.user_id",
                ),
                other => {
                    return Err(AppError::bad_request(
                        "bad_grouping",
                        format!("不支持按“{other}”统计，可选 site、grid、cadre"),
                        format!("Cannot group by \"{other}\"; use site, grid or cadre"),
                    ));
                }
            };
            let sql = format!(
                "SELECT {key_sql}, COALESCE(s.visited_in_person, 0) FROM households h {join}
                 LEFT JOIN summaries s ON s.household_id = h.id AND s.period = ?
                 WHERE {where_sql}"
            );
            let mut all = vec![Value::Text(period.to_string())];
            all.extend(params);
            let mut labels = BTreeMap::new();
            let mut stmt = conn.prepare(&sql)?;
            let items: Vec<(String, bool)> = stmt
                .query_map(rusqlite::params_from_iter(&all), |r| {
                    let key: String = r.get(0)?;
                    labels.entry(key.clone()).or_insert(r.get::<_, String>(1)?);
                    Ok((key, r.get(2)?))
                })?
                .collect::<Result<_, _>>()?;
            let table: BTreeMap<String, Coverage> = coverage_by(items);
            Ok(table
                .into_iter()
                .map(|(key, c)| CoverageRow {
                    label: labels.get(&key).cloned().unwrap_or_else(|| key.clone()),
                    key,
                    assigned: c.assigned,
                    visited: c.visited,
                    rate: c.rate(),
                })
                .collect())
        })
        .await?;
    Ok(Json(rows))
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

pub(crate) fn fold(conn: &Connection, period: Period, where_sql: &str, params: &[Value]) -> AppResult<Indicators> {
    store::ensure_summaries(conn, period, Date::in_china(now()))?;
    let sql = format!(
        "SELECT s.summary FROM households h JOIN summaries s ON s.household_id = h.id AND s.period = ?
         WHERE {where_sql}"
    );
    let mut all = vec![Value::Text(period.to_string())];
    all.extend(params.iter().cloned());
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(&all))?;
    let mut out = Indicators::default();
    while let Some(row) = rows.next()? {
        let blob: Vec<u8> = row.get(0)?;
        out.add(&store::decode_summary(&blob)?);
    }
    Ok(out)
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
            store::ensure_summaries(conn, period, Date::in_china(now()))?;
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
