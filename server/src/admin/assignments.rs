//! Which cadre visits which household: the list an admin reads (households with their
//! cadres, by site and grid) and the changes, one at a time or many in one transaction.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rusqlite::types::Value;
use rusqlite::{Connection, params};

use super::{admin_only, audit, json_body};
use crate::AppState;
use crate::auth::{Role, Session};
use crate::error::{AppError, AppResult};

/// Most items in one `POST /api/admin/assignments`.
pub const MAX_ITEMS: usize = 10_000;

/// `POST /api/admin/assignments` body (or an array of them).
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// 户编码
    pub household_id: String,
    /// Cadre login.
    pub user_id: String,
    /// `true` to remove the assignment.
    #[serde(default)]
    pub remove: bool,
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Added,
    Removed,
    Unchanged,
}

fn apply(conn: &Connection, a: &Assignment) -> AppResult<Outcome> {
    let role: Option<String> = rusqlite::OptionalExtension::optional(conn.query_row(
        "SELECT role FROM users WHERE id = ?1",
        [&a.user_id],
        |r| r.get(0),
    ))?;
    if role.as_deref() != Some(Role::Cadre.code()) {
        return Err(AppError::bad_request(
            "not_a_cadre",
            format!("{} 不是帮扶干部账号", a.user_id),
            format!("{} is not a cadre", a.user_id),
        ));
    }
    let exists: bool =
        conn.query_row("SELECT EXISTS(SELECT 1 FROM households WHERE id = ?1)", [&a.household_id], |r| r.get(0))?;
    if !exists {
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("户 {} 不存在", a.household_id),
            format!("Household {} does not exist", a.household_id),
        ));
    }
    let (sql, changed) = if a.remove {
        ("DELETE FROM assignments WHERE household_id = ?1 AND user_id = ?2", Outcome::Removed)
    } else {
        ("INSERT OR IGNORE INTO assignments (household_id, user_id) VALUES (?1, ?2)", Outcome::Added)
    };
    let n = conn.execute(sql, params![a.household_id, a.user_id])?;
    Ok(if n == 0 { Outcome::Unchanged } else { changed })
}

/// Assigns (or unassigns) a household to a cadre.
pub fn assign(conn: &Connection, a: &Assignment) -> AppResult<()> {
    apply(conn, a).map(|_| ())
}

/// Answer of a list of assignments.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BulkReport {
    /// Assignments made.
    pub added: usize,
    /// Assignments removed.
    pub removed: usize,
    /// Items that changed nothing (already so).
    pub unchanged: usize,
}

/// Applies every item in one transaction: all or nothing. An error names the item
/// (counted from 1) and what it asked.
pub fn assign_many(conn: &mut Connection, by: &str, items: &[Assignment]) -> AppResult<BulkReport> {
    let tx = conn.transaction()?;
    let mut report = BulkReport::default();
    for (i, a) in items.iter().enumerate() {
        let outcome = apply(&tx, a).map_err(|e| name_item(e, i, Some(a)))?;
        match outcome {
            Outcome::Added => report.added += 1,
            Outcome::Removed => report.removed += 1,
            Outcome::Unchanged => report.unchanged += 1,
        }
    }
    if report.added + report.removed > 0 {
        audit(&tx, by, "assign", &format!("{} added, {} removed", report.added, report.removed))?;
    }
    tx.commit()?;
    Ok(report)
}

fn name_item(e: AppError, i: usize, a: Option<&Assignment>) -> AppError {
    let n = i + 1;
    let (zh, en) = match a {
        Some(a) => {
            let verb = if a.remove { ("取消", "remove") } else { ("分配", "assign") };
            (
                format!("第 {n} 项（{}户 {} ↔ {}）：", verb.0, a.household_id, a.user_id),
                format!("Item {n} ({} {} ↔ {}): ", verb.1, a.household_id, a.user_id),
            )
        }
        None => (format!("第 {n} 项："), format!("Item {n}: ")),
    };
    AppError { zh: format!("{zh}{}", e.zh), en: format!("{en}{}", e.en), ..e }
}

/// `POST /api/admin/assignments`: one object (`204`), or an array applied all or
/// nothing (`200` with a [`BulkReport`]).
pub async fn assign_handler(State(state): State<AppState>, session: Session, body: Bytes) -> AppResult<Response> {
    admin_only(&session)?;
    let value: serde_json::Value = json_body(&body)?;
    let by = session.user.id;
    match value {
        serde_json::Value::Array(values) => {
            if values.len() > MAX_ITEMS {
                return Err(AppError::bad_request(
                    "too_many_items",
                    format!("一次最多 {MAX_ITEMS} 项，请分批提交"),
                    format!("At most {MAX_ITEMS} items at a time; send them in batches"),
                ));
            }
            let items = values
                .into_iter()
                .enumerate()
                .map(|(i, v)| serde_json::from_value::<Assignment>(v).map_err(|e| name_item(bad_item(&e), i, None)))
                .collect::<AppResult<Vec<_>>>()?;
            let report = state.db.run(move |conn| assign_many(conn, &by, &items)).await?;
            Ok(Json(report).into_response())
        }
        value => {
            let a: Assignment = serde_json::from_value(value).map_err(|e| bad_item(&e))?;
            state
                .db
                .run(move |conn| {
                    let what = if a.remove { "removed" } else { "added" };
                    if apply(conn, &a)? != Outcome::Unchanged {
                        audit(conn, &by, "assign", &format!("{} {what} {}", a.user_id, a.household_id))?;
                    }
                    Ok::<_, AppError>(())
                })
                .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

fn bad_item(e: &serde_json::Error) -> AppError {
    AppError::bad_request(
        "bad_json",
        format!("应为 {{\"household_id\", \"user_id\", \"remove\"}}：{e}"),
        format!("Expected {{\"household_id\", \"user_id\", \"remove\"}}: {e}"),
    )
}

/// `GET /api/admin/assignments` query (an empty value is no filter).
#[derive(Debug, Default, serde::Deserialize)]
pub struct AssignmentFilter {
    /// 安置点
    pub site: Option<String>,
    /// 网格
    pub grid: Option<String>,
    /// Only the households of this cadre.
    pub cadre: Option<String>,
    /// `true`: only `areas`, no households (a screen's first look).
    #[serde(default)]
    pub areas_only: bool,
}

/// A household with its cadres.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AssignedHousehold {
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
    /// Logins of the assigned cadres, sorted.
    pub cadres: Vec<String>,
}

/// One site and grid: how many households, how many with no cadre.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AreaCount {
    /// 安置点
    pub site: String,
    /// 网格
    pub grid: String,
    /// Households.
    pub households: i64,
    /// Households with no cadre.
    pub unassigned: i64,
}

/// Answer of `GET /api/admin/assignments`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AssignmentsView {
    /// Every site and grid (not filtered), to choose from.
    pub areas: Vec<AreaCount>,
    /// The households the filter selects, by site, grid, id.
    pub households: Vec<AssignedHousehold>,
}

fn view(conn: &Connection, filter: &AssignmentFilter) -> AppResult<AssignmentsView> {
    let mut stmt = conn.prepare(
        "SELECT h.site, h.grid, COUNT(*),
                SUM(NOT EXISTS (SELECT 1 FROM assignments a WHERE a.household_id = h.id))
         FROM households h GROUP BY h.site, h.grid ORDER BY h.site, h.grid",
    )?;
    let areas = stmt
        .query_map([], |r| {
            Ok(AreaCount { site: r.get(0)?, grid: r.get(1)?, households: r.get(2)?, unassigned: r.get(3)? })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    if filter.areas_only {
        return Ok(AssignmentsView { areas, households: Vec::new() });
    }

    let mut clause = String::from("1 = 1");
    let mut args: Vec<Value> = Vec::new();
    let given = |v: &Option<String>| v.as_ref().filter(|v| !v.is_empty()).cloned();
    for (column, value) in [("site", given(&filter.site)), ("grid", given(&filter.grid))] {
        if let Some(v) = value {
            clause.push_str(&format!(" AND h.{column} = ?"));
            args.push(Value::Text(v));
        }
    }
    if let Some(c) = given(&filter.cadre) {
        clause.push_str(" AND h.id IN (SELECT household_id FROM assignments WHERE user_id = ?)");
        args.push(Value::Text(c));
    }
    let sql = format!(
        "SELECT h.id, h.head_name, h.township, h.site, h.grid, h.address, a.user_id
         FROM households h LEFT JOIN assignments a ON a.household_id = h.id
         WHERE {clause} ORDER BY h.site, h.grid, h.id, a.user_id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    let mut households: Vec<AssignedHousehold> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let cadre: Option<String> = r.get(6)?;
        let at = match index.get(&id) {
            Some(&i) => i,
            None => {
                households.push(AssignedHousehold {
                    id: id.clone(),
                    head_name: r.get(1)?,
                    township: r.get(2)?,
                    site: r.get(3)?,
                    grid: r.get(4)?,
                    address: r.get(5)?,
                    cadres: Vec::new(),
                });
                index.insert(id, households.len() - 1);
                households.len() - 1
            }
        };
        if let Some(c) = cadre {
            households[at].cadres.push(c);
        }
    }
    Ok(AssignmentsView { areas, households })
}

/// `GET /api/admin/assignments?site=&grid=&cadre=&areas_only=`.
pub async fn assignments(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<AssignmentFilter>,
) -> AppResult<Json<AssignmentsView>> {
    admin_only(&session)?;
    Ok(Json(state.db.run(move |conn| view(conn, &filter)).await?))
}
