//! Admin endpoints: create users, import the roster, assign households to cadres.
//! Also the JSON-body helper every POST handler uses, so malformed bodies get the
//! same clear 400.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use rusqlite::params;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::auth::{self, Area, Role, Session, User};
use crate::error::{AppError, AppResult};
use crate::roster::{self, ImportReport, RowError};

/// Parses a JSON body, naming what is wrong with it.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8]) -> AppResult<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        AppError::bad_request(
            "bad_json",
            format!("请求内容不是有效的 JSON：{e}"),
            format!("The request body is not the expected JSON: {e}"),
        )
    })
}

fn admin_only(session: &Session) -> AppResult<()> {
    if session.user.role != Role::Admin {
        return Err(AppError::forbidden("仅管理员可操作", "Only an admin can do this"));
    }
    Ok(())
}

/// `POST /api/admin/users` body.
#[derive(Debug, serde::Deserialize)]
pub struct NewUser {
    /// Login.
    pub login: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Supervisor area, `county:…`, `township:…` or `site:…`.
    pub area: Option<String>,
    /// Initial password.
    pub password: String,
}

/// `POST /api/admin/users`.
pub async fn create_user(
    State(state): State<AppState>,
    session: Session,
    body: Bytes,
) -> AppResult<(StatusCode, Json<User>)> {
    admin_only(&session)?;
    let new: NewUser = json_body(&body)?;
    let area = match new.area.as_deref() {
        None | Some("") => None,
        Some(a) => Some(Area::parse(a).ok_or_else(|| {
            AppError::bad_request(
                "bad_area",
                format!("区域“{a}”应为 county:名称、township:名称 或 site:名称"),
                format!("Area \"{a}\" must be county:NAME, township:NAME or site:NAME"),
            )
        })?),
    };
    let user = User { id: new.login, name: new.name, role: new.role, area };
    let created = user.clone();
    state.db.run(move |conn| auth::create_user(conn, &user, &new.password)).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Answer of a roster import that failed.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ImportErrors {
    /// `roster_rejected`.
    pub error: String,
    /// Every bad row.
    pub rows: Vec<RowError>,
}

/// `POST /api/admin/roster` with a CSV body: 200 with counts, or 422 with every bad row
/// (and nothing imported).
pub async fn import_roster(
    State(state): State<AppState>,
    session: Session,
    body: Bytes,
) -> AppResult<Result<Json<ImportReport>, (StatusCode, Json<ImportErrors>)>> {
    admin_only(&session)?;
    let text = String::from_utf8(body.to_vec()).map_err(|_| {
        AppError::bad_request(
            "not_utf8",
            "花名册须为 UTF-8 编码的 CSV（可另存为“CSV UTF-8”）",
            "The roster must be a UTF-8 CSV (save as \"CSV UTF-8\")",
        )
    })?;
    let stamp = shared::Stamp::new(session.user.id.clone(), session.user.name.clone(), auth::now());
    let result = state.db.run(move |conn| roster::import(conn, &text, &stamp)).await?;
    Ok(result.map(Json).map_err(|rows| {
        (StatusCode::UNPROCESSABLE_ENTITY, Json(ImportErrors { error: "roster_rejected".into(), rows }))
    }))
}

/// `POST /api/admin/assignments` body.
#[derive(Debug, serde::Deserialize, Clone)]
pub struct Assignment {
    /// 户编码
    pub household_id: String,
    /// Cadre login.
    pub user_id: String,
    /// `true` to remove the assignment.
    #[serde(default)]
    pub remove: bool,
}

/// Assigns (or unassigns) a household to a cadre.
pub fn assign(conn: &rusqlite::Connection, a: &Assignment) -> AppResult<()> {
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
    if a.remove {
        conn.execute(
            "DELETE FROM assignments WHERE household_id = ?1 AND user_id = ?2",
            params![a.household_id, a.user_id],
        )?;
        return Ok(());
    }
    let n = conn.execute(
        "INSERT OR IGNORE INTO assignments (household_id, user_id) SELECT id, ?2 FROM households WHERE id = ?1",
        params![a.household_id, a.user_id],
    )?;
    let exists: bool =
        conn.query_row("SELECT EXISTS(SELECT 1 FROM households WHERE id = ?1)", [&a.household_id], |r| r.get(0))?;
    if n == 0 && !exists {
        return Err(AppError::not_found(&format!("户 {0} / household {0}", a.household_id)));
    }
    Ok(())
}

/// `POST /api/admin/assignments`.
pub async fn assign_handler(State(state): State<AppState>, session: Session, body: Bytes) -> AppResult<StatusCode> {
    admin_only(&session)?;
    let a: Assignment = json_body(&body)?;
    state.db.run(move |conn| assign(conn, &a)).await?;
    Ok(StatusCode::NO_CONTENT)
}
