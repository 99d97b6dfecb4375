//! Admin endpoints: accounts (`users`), the roster import, assignments of households
//! to cadres (`assignments`), rewriting a household's history (`rewrite`). Also the JSON-body helper every POST handler uses, so
//! malformed bodies get the same clear 400.

mod assignments;
mod rewrite;
mod users;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use shared::api::ErrorCode;

pub use assignments::{
    Assignment, AssignmentFilter, AssignmentsView, BulkReport, MAX_ITEMS, assign, assign_handler, assign_many,
    assignments,
};
pub use rewrite::{RewriteRefused, RewriteReport, rewrite, rewrite_handler};
pub use users::{NewUser, UserUpdate, create_user, list_users, update_user, update_user_handler};

use crate::AppState;
pub use crate::api::json_body;
use crate::auth::{self, Area, Role, Session};
use crate::denied::{Denied, DeniedResult, Kind};
use crate::error::{AppError, AppResult};
use crate::roster::{self, ImportReport};
use crate::store::Writer;
pub use shared::api::ImportErrors;

fn admin_only(session: &Session) -> DeniedResult<()> {
    if session.user.role != Role::Admin {
        return Err(Denied::forbidden("仅管理员可操作", "Only an admin can do this"));
    }
    Ok(())
}

/// A role from its code, or a clear 400.
fn role_param(role: &str) -> DeniedResult<Role> {
    Role::parse(role.trim()).ok_or_else(|| {
        Denied::invalid(
            ErrorCode::BadRole,
            format!("角色“{role}”应为 admin（管理员）、supervisor（督导）或 cadre（帮扶干部）"),
            format!("Role \"{role}\" must be admin, supervisor or cadre"),
        )
    })
}

/// An area from `county:NAME`, `township:NAME` or `site:NAME` (empty: none), or a clear 400.
fn area_param(area: Option<&str>) -> DeniedResult<Option<Area>> {
    match area.map(str::trim) {
        None | Some("") => Ok(None),
        Some(a) => Area::parse(a).map(Some).ok_or_else(|| {
            Denied::invalid(
                ErrorCode::BadArea,
                format!("区域“{a}”应为 county:名称、township:名称 或 site:名称"),
                format!("Area \"{a}\" must be county:NAME, township:NAME or site:NAME"),
            )
        }),
    }
}

/// Records an admin action in the audit log.
fn audit(w: &mut dyn Writer, by: &str, action: &str, detail: &str) -> DeniedResult<()> {
    Ok(w.audit(auth::now(), by, action, detail)?)
}

/// `?confirm=` of a roster import.
#[derive(Debug, serde::Deserialize)]
pub struct RosterQuery {
    /// The digest of the preview being confirmed; absent: preview only.
    pub confirm: Option<String>,
}

/// `POST /api/admin/roster` with the roster file as the body (an Excel workbook, or a
/// CSV in UTF-8 or GBK: `roster::sheet`): without `?confirm=`, the preview (200,
/// nothing written: what would be added and changed, and the digest to confirm it
/// with); with `?confirm=<digest>`, the import of exactly that preview (200), or 409
/// when the sheet or the households changed since. Either way, 422 with every bad
/// row (and nothing imported).
pub async fn import_roster(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<RosterQuery>,
    body: Bytes,
) -> AppResult<Result<Json<ImportReport>, (StatusCode, Json<ImportErrors>)>> {
    admin_only(&session)?;
    // Decoding a county's workbook takes a while: off the async workers.
    let sheet = tokio::task::spawn_blocking(move || roster::Sheet::read(&body)).await.map_err(AppError::internal)??;
    let sheet = std::sync::Arc::new(sheet);
    let rejected =
        |rows| (StatusCode::UNPROCESSABLE_ENTITY, Json(ImportErrors { error: "roster_rejected".into(), rows }));
    let Some(confirm) = q.confirm else {
        let preview = state.store.read(move |r| Ok(roster::plan(r, &sheet))).await??;
        return Ok(preview.map(Json).map_err(rejected));
    };
    let stamp = shared::Stamp::new(session.user.id.clone(), session.user.name.clone(), auth::now());
    match roster::import_in_chunks(&state.store, sheet, &confirm, stamp).await? {
        Ok(report) => Ok(Ok(Json(report))),
        Err(roster::Refused::Rows(rows)) => Ok(Err(rejected(rows))),
        Err(roster::Refused::Stale) => Err(Denied::new(
            Kind::Conflict,
            ErrorCode::RosterChanged,
            "预览之后花名册或相关户的记录有变化，请重新预览后再确认导入",
            "The sheet or its households changed since the preview; preview again, then confirm",
        )
        .into()),
        Err(roster::Refused::Interrupted { imported, total }) => Err(Denied::new(
            Kind::Conflict,
            ErrorCode::RosterInterrupted,
            format!(
                "已导入 {imported}/{total} 户；下一户花名册涉及的内容在预览之后被同步修改，其余 {} 户未导入，请重新预览并确认",
                total - imported
            ),
            format!(
                "{imported} of {total} households were imported; in the next one a sync changed, after the preview, a value the sheet changes, so the other {} were not imported: preview again and confirm",
                total - imported
            ),
        )
        .into()),
    }
}
