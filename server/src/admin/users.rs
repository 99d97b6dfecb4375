//! Accounts as an admin manages them: the list (with assigned households and login
//! throttling), creating, and changing name, role, area, phone number, password and
//! whether the account is disabled.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::api::ErrorCode;

use shared::api::UserRow;

use super::{admin_only, area_param, audit, json_body, role_param};
use crate::AppState;
use crate::auth::{self, Area, Role, Session, User};
use crate::denied::{Denied, DeniedResult, Kind};
use crate::error::AppResult;
use crate::store::{Reader, Writer};
pub use shared::api::{NewUser, UserUpdate};

/// Longest display name.
const MAX_NAME_CHARS: usize = 64;

fn one_row(r: &mut dyn Reader, login: &str) -> DeniedResult<UserRow> {
    r.user_rows(Some(login), auth::now())?.into_iter().next().ok_or_else(|| unknown_user(login))
}

fn unknown_user(login: &str) -> Denied {
    Denied::new(
        Kind::NotFound,
        ErrorCode::UnknownUser,
        format!("账号“{login}”不存在"),
        format!("There is no user \"{login}\""),
    )
}

fn name_param(name: &str) -> DeniedResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Denied::invalid(
            ErrorCode::BadName,
            format!("姓名须为 1–{MAX_NAME_CHARS} 个字，不含控制字符"),
            format!("A name is 1–{MAX_NAME_CHARS} characters, none of them control characters"),
        ));
    }
    Ok(name.to_owned())
}

/// `GET /api/admin/users`.
pub async fn list_users(State(state): State<AppState>, session: Session) -> AppResult<Json<Vec<UserRow>>> {
    admin_only(&session)?;
    Ok(Json(state.store.read(|r| r.user_rows(None, auth::now())).await?))
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
    let phone = auth::check_phone(&new.phone)?;
    let user = User { id: new.login.trim().to_owned(), name, role, area, phone };
    let password = new.password;
    let checked = user.clone();
    let hash = auth::off_thread(move || auth::new_account(&checked, &password)).await?;
    let by = session.user.id;
    let row = state
        .store
        .write(move |w| {
            auth::create_user(w, &user, &hash)?;
            audit(w, &by, "create_user", &format!("{} ({})", user.id, role.code()))?;
            one_row(w, &user.id)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// Applies `update` to account `login` as admin `by`, in the caller's transaction;
/// every check is made before anything is written. A new password comes already
/// hashed (`password_hash`), checked against the rules by the caller.
pub fn update_user(
    w: &mut dyn Writer,
    by: &str,
    login: &str,
    update: &UserUpdate,
    password_hash: Option<&str>,
) -> DeniedResult<UserRow> {
    let current = w.user(login)?.ok_or_else(|| unknown_user(login))?;
    let name = update.name.as_deref().map(name_param).transpose()?;
    let phone = update.phone.as_deref().map(auth::check_phone).transpose()?;
    let role = update.role.as_deref().map(role_param).transpose()?.unwrap_or(current.role);
    let area: Option<Area> = match &update.area {
        Some(a) => area_param(a.as_deref())?,
        None => current.area.clone(),
    };
    let area = if role == Role::Supervisor { area } else { None };
    if role == Role::Supervisor && area.is_none() {
        return Err(Denied::invalid(ErrorCode::AreaRequired, "督导账号须指定区域", "A supervisor needs an area"));
    }
    if login == by && update.disabled == Some(true) {
        return Err(Denied::invalid(
            ErrorCode::CannotDisableSelf,
            "不能停用自己的账号",
            "You cannot disable your own account",
        ));
    }
    if login == by && role != Role::Admin {
        return Err(Denied::invalid(
            ErrorCode::CannotDemoteSelf,
            "不能取消自己的管理员角色",
            "You cannot take the admin role away from yourself",
        ));
    }

    let mut done = Vec::new();
    w.set_user(&User {
        id: login.to_owned(),
        name: name.clone().unwrap_or_else(|| current.name.clone()),
        role,
        area: area.clone(),
        phone: phone.clone().unwrap_or_else(|| current.phone.clone()),
    })?;
    if let Some(n) = &name
        && *n != current.name
    {
        done.push(format!("name {n}"));
    }
    if let Some(p) = &phone
        && *p != current.phone
    {
        done.push(format!("phone {p}"));
    }
    if role != current.role {
        done.push(format!("role {}→{}", current.role.code(), role.code()));
        if current.role == Role::Cadre {
            let n = w.unassign_all(login)?;
            done.push(format!("{n} assignments removed"));
        }
    }
    if area != current.area {
        done.push(format!("area {}", area.as_ref().map(Area::code).unwrap_or_default()));
    }
    if let Some(hash) = password_hash {
        auth::reset_password(w, login, hash)?;
        done.push("password reset".into());
    }
    match update.disabled {
        Some(true) => {
            w.set_disabled(login, true)?;
            w.delete_sessions_of(login, None)?;
            done.push("disabled".into());
        }
        Some(false) => {
            w.set_disabled(login, false)?;
            done.push("enabled".into());
        }
        None => {}
    }
    if update.unlock {
        w.set_login_failures(login, 0, 0)?;
        done.push("unlocked".into());
    }
    if !done.is_empty() {
        audit(w, by, "update_user", &format!("{login}: {}", done.join(", ")))?;
    }
    one_row(w, login)
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
    // Hashed before the transaction, so that no write waits for argon2.
    let hash = match update.password.clone() {
        Some(p) => Some(
            auth::off_thread(move || {
                auth::check_password_rules(&p)?;
                auth::hash_password(&p)
            })
            .await?,
        ),
        None => None,
    };
    let by = session.user.id;
    Ok(Json(state.store.write(move |w| update_user(w, &by, &login, &update, hash.as_deref())).await?))
}
