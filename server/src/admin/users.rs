//! Accounts as an admin manages them: the list (with assigned households and login
//! throttling), creating, and changing name, role, area, password and whether the
//! account is disabled.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rusqlite::{Connection, params};

use super::{admin_only, area_code, area_param, audit, json_body, role_param};
use crate::AppState;
use crate::auth::{self, Area, Role, Session, User};
use crate::error::{AppError, AppResult};

/// Longest display name.
const MAX_NAME_CHARS: usize = 64;

/// `POST /api/admin/users` body.
#[derive(Debug, serde::Deserialize)]
pub struct NewUser {
    /// Login.
    pub login: String,
    /// Display name.
    pub name: String,
    /// Role: `admin`, `supervisor` or `cadre`.
    pub role: String,
    /// Supervisor area, `county:…`, `township:…` or `site:…`.
    pub area: Option<String>,
    /// Initial password.
    pub password: String,
}

/// One account as `GET /api/admin/users` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserRow {
    /// Login (账号).
    pub login: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// `county:NAME`, `township:NAME` or `site:NAME` (supervisors), else `null`.
    pub area: Option<String>,
    /// Households assigned to this account (cadres).
    pub assigned: i64,
    /// Wrong passwords in a row.
    pub failed_logins: i64,
    /// Unix seconds until which login is refused after wrong passwords; `null` when not
    /// locked now.
    pub locked_until: Option<i64>,
    /// Disabled by an admin: login refused, no session works.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// Every account (or only `login`), admins first, then supervisors, then cadres.
pub fn user_rows(conn: &Connection, login: Option<&str>, at: i64) -> AppResult<Vec<UserRow>> {
    let sql = format!(
        "SELECT u.id, u.name, u.role, u.area_kind, u.area, u.failed_logins, u.locked_until, u.disabled, u.created_at,
                (SELECT COUNT(*) FROM assignments a WHERE a.user_id = u.id)
         FROM users u {}
         ORDER BY CASE u.role WHEN 'admin' THEN 0 WHEN 'supervisor' THEN 1 ELSE 2 END, u.id",
        if login.is_some() { "WHERE u.id = ?1" } else { "" }
    );
    let mut stmt = conn.prepare(&sql)?;
    let map = |r: &rusqlite::Row<'_>| {
        let role: String = r.get(2)?;
        let kind: Option<String> = r.get(3)?;
        let area: Option<String> = r.get(4)?;
        let locked_until: i64 = r.get(6)?;
        Ok(UserRow {
            login: r.get(0)?,
            name: r.get(1)?,
            role: Role::parse(&role).unwrap_or(Role::Cadre),
            area: kind.zip(area).map(|(k, a)| format!("{k}:{a}")),
            failed_logins: r.get(5)?,
            locked_until: (locked_until > at).then_some(locked_until),
            disabled: r.get(7)?,
            created_at: r.get(8)?,
            assigned: r.get(9)?,
        })
    };
    let rows = match login {
        Some(l) => stmt.query_map([l], map)?.collect::<Result<Vec<_>, _>>()?,
        None => stmt.query_map([], map)?.collect::<Result<Vec<_>, _>>()?,
    };
    Ok(rows)
}

fn one_row(conn: &Connection, login: &str) -> AppResult<UserRow> {
    user_rows(conn, Some(login), auth::now())?.into_iter().next().ok_or_else(|| unknown_user(login))
}

fn unknown_user(login: &str) -> AppError {
    AppError::new(
        StatusCode::NOT_FOUND,
        "unknown_user",
        format!("账号“{login}”不存在"),
        format!("There is no user \"{login}\""),
    )
}

fn name_param(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::bad_request(
            "bad_name",
            format!("姓名须为 1–{MAX_NAME_CHARS} 个字"),
            format!("A name is 1–{MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(name.to_owned())
}

/// `GET /api/admin/users`.
pub async fn list_users(State(state): State<AppState>, session: Session) -> AppResult<Json<Vec<UserRow>>> {
    admin_only(&session)?;
    Ok(Json(state.db.run(|conn| user_rows(conn, None, auth::now())).await?))
}

/// `POST /api/admin/users`.
pub async fn create_user(
    State(state): State<AppState>,
    session: Session,
    body: Bytes,
) -> AppResult<(StatusCode, Json<UserRow>)> {
    admin_only(&session)?;
    let new: NewUser = json_body(&body)?;
    let role = role_param(&new.role)?;
    let area = area_param(new.area.as_deref())?;
    let name = name_param(&new.name)?;
    let user = User { id: new.login.trim().to_owned(), name, role, area };
    let by = session.user.id;
    let row = state
        .db
        .run(move |conn| {
            let tx = conn.transaction()?;
            auth::create_user(&tx, &user, &new.password)?;
            audit(&tx, &by, "create_user", &format!("{} ({})", user.id, role.code()))?;
            tx.commit()?;
            one_row(conn, &user.id)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// `POST /api/admin/users/{login}` body: every field optional; what is absent stays.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    /// New display name.
    pub name: Option<String>,
    /// New role. A cadre who stops being one loses their assignments; the area is
    /// kept only for supervisors.
    pub role: Option<String>,
    /// New area, `county:NAME` …; `null` or `""` removes it.
    #[serde(default, deserialize_with = "present")]
    pub area: Option<Option<String>>,
    /// A new password (reset): clears the login lock and ends every session.
    pub password: Option<String>,
    /// `true` disables the account (login refused, sessions ended), `false` enables it.
    pub disabled: Option<bool>,
    /// `true` clears the lock of repeated wrong passwords.
    #[serde(default)]
    pub unlock: bool,
}

/// Tells a field given as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    <Option<String> as serde::Deserialize>::deserialize(d).map(Some)
}

/// Applies `update` to account `login` as admin `by`, in one transaction; every
/// check is made before anything is written.
pub fn update_user(conn: &mut Connection, by: &str, login: &str, update: &UserUpdate) -> AppResult<UserRow> {
    let tx = conn.transaction()?;
    let current = auth::get_user(&tx, login)?.ok_or_else(|| unknown_user(login))?;
    let name = update.name.as_deref().map(name_param).transpose()?;
    let role = update.role.as_deref().map(role_param).transpose()?.unwrap_or(current.role);
    let area: Option<Area> = match &update.area {
        Some(a) => area_param(a.as_deref())?,
        None => current.area.clone(),
    };
    let area = if role == Role::Supervisor { area } else { None };
    if role == Role::Supervisor && area.is_none() {
        return Err(AppError::bad_request("area_required", "督导账号须指定区域", "A supervisor needs an area"));
    }
    if login == by && update.disabled == Some(true) {
        return Err(AppError::bad_request(
            "cannot_disable_self",
            "不能停用自己的账号",
            "You cannot disable your own account",
        ));
    }
    if login == by && role != Role::Admin {
        return Err(AppError::bad_request(
            "cannot_demote_self",
            "不能取消自己的管理员角色",
            "You cannot take the admin role away from yourself",
        ));
    }

    let mut done = Vec::new();
    let (kind, area_name) = match &area {
        Some(a) => {
            let (k, n) = a.column();
            (Some(k), Some(n.to_owned()))
        }
        None => (None, None),
    };
    tx.execute(
        "UPDATE users SET name = ?2, role = ?3, area_kind = ?4, area = ?5 WHERE id = ?1",
        params![login, name.as_deref().unwrap_or(&current.name), role.code(), kind, area_name],
    )?;
    if let Some(n) = &name
        && *n != current.name
    {
        done.push(format!("name {n}"));
    }
    if role != current.role {
        done.push(format!("role {}→{}", current.role.code(), role.code()));
        if current.role == Role::Cadre {
            let n = tx.execute("DELETE FROM assignments WHERE user_id = ?1", [login])?;
            done.push(format!("{n} assignments removed"));
        }
    }
    if area != current.area {
        done.push(format!("area {}", area.as_ref().map(area_code).unwrap_or_default()));
    }
    if let Some(password) = &update.password {
        auth::reset_password(&tx, login, password)?;
        done.push("password reset".into());
    }
    match update.disabled {
        Some(true) => {
            tx.execute("UPDATE users SET disabled = 1 WHERE id = ?1", [login])?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [login])?;
            done.push("disabled".into());
        }
        Some(false) => {
            tx.execute("UPDATE users SET disabled = 0 WHERE id = ?1", [login])?;
            done.push("enabled".into());
        }
        None => {}
    }
    if update.unlock {
        tx.execute("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = ?1", [login])?;
        done.push("unlocked".into());
    }
    if !done.is_empty() {
        audit(&tx, by, "update_user", &format!("{login}: {}", done.join(", ")))?;
    }
    let row = one_row(&tx, login)?;
    tx.commit()?;
    Ok(row)
}

/// `POST /api/admin/users/{login}` (also `PATCH`).
pub async fn update_user_handler(
    State(state): State<AppState>,
    session: Session,
    Path(login): Path<String>,
    body: Bytes,
) -> AppResult<Json<UserRow>> {
    admin_only(&session)?;
    let update: UserUpdate = json_body(&body)?;
    let by = session.user.id;
    Ok(Json(state.db.run(move |conn| update_user(conn, &by, &login, &update)).await?))
}
