//! Which cadre visits which household: the list an admin reads (households with their
//! cadres, by site and grid) and the changes, one at a time or many in one transaction.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::api::ErrorCode;

use super::{admin_only, audit, json_body};
use crate::AppState;
use crate::auth::{Role, Session};
use crate::denied::{Denied, DeniedResult, Kind};
use crate::error::{AppError, AppResult};
use crate::store::{Reader, Writer};
pub use shared::api::{Assignment, AssignmentsView, BulkReport};

/// Most items in one `POST /api/admin/assignments`.
pub const MAX_ITEMS: usize = 10_000;

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Added,
    Removed,
    Unchanged,
}

fn apply(w: &mut dyn Writer, a: &Assignment) -> DeniedResult<Outcome> {
    let role = w.user(&a.user_id)?.map(|u| u.role);
    if role != Some(Role::Cadre) {
        return Err(Denied::invalid(
            ErrorCode::NotACadre,
            format!("{} 不是帮扶干部账号", a.user_id),
            format!("{} is not a cadre", a.user_id),
        ));
    }
    if !w.household_exists(&a.household_id)? {
        return Err(Denied::new(
            Kind::NotFound,
            ErrorCode::NotFound,
            format!("户 {} 不存在", a.household_id),
            format!("Household {} does not exist", a.household_id),
        ));
    }
    let (changed, outcome) = if a.remove {
        (w.unassign(&a.household_id, &a.user_id)?, Outcome::Removed)
    } else {
        (w.assign(&a.household_id, &a.user_id)?, Outcome::Added)
    };
    Ok(if changed { outcome } else { Outcome::Unchanged })
}

/// Assigns (or unassigns) a household to a cadre.
pub fn assign(w: &mut dyn Writer, a: &Assignment) -> DeniedResult<()> {
    apply(w, a).map(|_| ())
}

/// Applies every item in one transaction: all or nothing. An error names the item
/// (counted from 1) and what it asked.
pub fn assign_many(w: &mut dyn Writer, by: &str, items: &[Assignment]) -> DeniedResult<BulkReport> {
    let mut report = BulkReport::default();
    for (i, a) in items.iter().enumerate() {
        let outcome = apply(w, a).map_err(|e| name_item(e, i, Some(a)))?;
        match outcome {
            Outcome::Added => report.added += 1,
            Outcome::Removed => report.removed += 1,
            Outcome::Unchanged => report.unchanged += 1,
        }
    }
    if report.added + report.removed > 0 {
        audit(w, by, "assign", &format!("{} added, {} removed", report.added, report.removed))?;
    }
    Ok(report)
}

fn name_item(e: Denied, i: usize, a: Option<&Assignment>) -> Denied {
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
    e.prefixed(&zh, &en)
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
                    ErrorCode::TooManyItems,
                    format!("一次最多 {MAX_ITEMS} 项，请分批提交"),
                    format!("At most {MAX_ITEMS} items at a time; send them in batches"),
                ));
            }
            let items = values
                .into_iter()
                .enumerate()
                .map(|(i, v)| serde_json::from_value::<Assignment>(v).map_err(|e| name_item(bad_item(&e), i, None)))
                .collect::<DeniedResult<Vec<_>>>()?;
            let report = state.store.write(move |w| assign_many(w, &by, &items)).await?;
            Ok(Json(report).into_response())
        }
        value => {
            let a: Assignment = serde_json::from_value(value).map_err(|e| bad_item(&e))?;
            state
                .store
                .write(move |w| {
                    let what = if a.remove { "removed" } else { "added" };
                    if apply(w, &a)? != Outcome::Unchanged {
                        audit(w, &by, "assign", &format!("{} {what} {}", a.user_id, a.household_id))?;
                    }
                    Ok::<_, Denied>(())
                })
                .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

fn bad_item(e: &serde_json::Error) -> Denied {
    Denied::invalid(
        ErrorCode::BadJson,
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

fn view(r: &mut dyn Reader, filter: &AssignmentFilter) -> DeniedResult<AssignmentsView> {
    let areas = r.grid_counts()?;
    if filter.areas_only {
        return Ok(AssignmentsView { areas, households: Vec::new() });
    }
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().filter(|v| !v.is_empty())
    }
    let households = r.assigned_rows(given(&filter.site), given(&filter.grid), given(&filter.cadre))?;
    Ok(AssignmentsView { areas, households })
}

/// `GET /api/admin/assignments?site=&grid=&cadre=&areas_only=`.
pub async fn assignments(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<AssignmentFilter>,
) -> AppResult<Json<AssignmentsView>> {
    admin_only(&session)?;
    Ok(Json(state.store.read(move |r| Ok(view(r, &filter))).await??))
}
