//! Accounts and sessions: argon2id password hashes, random opaque bearer tokens stored
//! only as their SHA-256, expiry, logout, password change, and slowing down repeated
//! failed logins. Also who may touch which household (scope).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::{AppError, AppResult};

/// How long a login lasts: a cadre works offline on the cached session until then.
pub const SESSION_SECONDS: i64 = 30 * 24 * 3600;
/// Failed logins allowed before the account is slowed down.
pub const FREE_FAILURES: i64 = 5;
/// Longest lock after repeated failures.
pub const MAX_LOCK_SECONDS: i64 = 15 * 60;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// 角色
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 管理员: users, roster, assignments; sees everything.
    Admin,
    /// 督导 (乡镇/县): reads and corrects every household in an area.
    Supervisor,
    /// 帮扶干部: reads and writes assigned households.
    Cadre,
}

impl Role {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Cadre => "cadre",
        }
    }
    /// The role of a stored code (`admin`, `supervisor`, `cadre`).
    pub fn parse(s: &str) -> Option<Self> {
        [Role::Admin, Role::Supervisor, Role::Cadre].into_iter().find(|r| r.code() == s)
    }
}

/// A supervisor's area.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Area {
    /// 县
    County(String),
    /// 乡镇
    Township(String),
    /// 安置点
    Site(String),
}

impl Area {
    /// The households column this area filters on, and the value.
    pub fn column(&self) -> (&'static str, &str) {
        match self {
            Area::County(n) => ("county", n),
            Area::Township(n) => ("township", n),
            Area::Site(n) => ("site", n),
        }
    }
    /// Parses `county:姚安县`, `township:…` or `site:…`.
    pub fn parse(s: &str) -> Option<Self> {
        let (kind, name) = s.split_once(':')?;
        let name = name.trim().to_owned();
        if name.is_empty() {
            return None;
        }
        match kind.trim() {
            "county" => Some(Area::County(name)),
            "township" => Some(Area::Township(name)),
            "site" => Some(Area::Site(name)),
            _ => None,
        }
    }
}

/// A user account as the rest of the server sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct User {
    /// Login.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// A supervisor's area.
    pub area: Option<Area>,
}

/// An authenticated request: the user and the device the session was opened on.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who.
    pub user: User,
    /// The device id given at login.
    pub device_id: String,
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> AppResult<String> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(AppError::internal)
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

fn check_password_rules(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::bad_request(
            "weak_password",
            format!("密码至少 {MIN_PASSWORD_CHARS} 位"),
            format!("The password needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

fn check_login_id(id: &str) -> AppResult<()> {
    if shared::fields::is_valid_id(id) {
        Ok(())
    } else {
        Err(AppError::bad_request(
            "bad_login",
            "账号只能包含字母、数字、下划线、点和连字符（1–32 位）",
            "A login is 1–32 letters, digits, '_', '.' or '-'",
        ))
    }
}

/// Creates a user. Fails if the login exists or the password is too short.
pub fn create_user(conn: &Connection, user: &User, password: &str) -> AppResult<()> {
    check_login_id(&user.id)?;
    check_password_rules(password)?;
    if user.role == Role::Supervisor && user.area.is_none() {
        return Err(AppError::bad_request("area_required", "督导账号须指定区域", "A supervisor needs an area"));
    }
    let hash = hash_password(password)?;
    let (kind, area) = match &user.area {
        Some(a) => {
            let (k, n) = a.column();
            (Some(k), Some(n.to_owned()))
        }
        None => (None, None),
    };
    let inserted = conn.execute(
        "INSERT INTO users (id, name, role, area_kind, area, password_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) DO NOTHING",
        params![user.id, user.name, user.role.code(), kind, area, hash, now()],
    )?;
    if inserted == 0 {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "user_exists",
            format!("账号 {} 已存在", user.id),
            format!("User {} already exists", user.id),
        ));
    }
    Ok(())
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get("role")?;
    let kind: Option<String> = row.get("area_kind")?;
    let area: Option<String> = row.get("area")?;
    Ok(User {
        id: row.get("id")?,
        name: row.get("name")?,
        role: Role::parse(&role).unwrap_or(Role::Cadre),
        area: kind.zip(area).and_then(|(k, a)| Area::parse(&format!("{k}:{a}"))),
    })
}

/// Loads a user by login.
pub fn get_user(conn: &Connection, id: &str) -> AppResult<Option<User>> {
    Ok(conn
        .query_row("SELECT id, name, role, area_kind, area FROM users WHERE id = ?1", [id], user_from_row)
        .optional()?)
}

/// What a successful login returns.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct LoginOk {
    /// The bearer token: send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Unix seconds after which the token is refused.
    pub expires_at: i64,
    /// Who logged in.
    pub user: User,
}

fn wrong_credentials() -> AppError {
    AppError::new(StatusCode::UNAUTHORIZED, "wrong_credentials", "账号或密码错误", "Wrong login or password")
}

/// Checks a password and opens a session for `device_id`. Repeated failures lock the
/// account for a growing time (429 with `Retry-After`).
pub fn login(conn: &Connection, id: &str, password: &str, device_id: &str, at: i64) -> AppResult<LoginOk> {
    if !shared::fields::is_valid_id(device_id) {
        return Err(AppError::bad_request(
            "bad_device",
            "设备编号格式错误",
            "The device id is malformed (1–32 letters, digits, '_', '.', '-')",
        ));
    }
    let row: Option<(String, i64, i64, bool)> = conn
        .query_row("SELECT password_hash, failed_logins, locked_until, disabled FROM users WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((phc, failed, locked_until, disabled)) = row else {
        // Spend the same effort as for a real account, so timing does not reveal logins.
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let dummy = DUMMY.get_or_init(|| hash_password("not a real password").unwrap_or_default());
        let _ = verify_password(password, dummy);
        return Err(wrong_credentials());
    };
    if locked_until > at {
        let wait = (locked_until - at) as u64;
        let mut e = AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "locked",
            format!("密码错误次数过多，请 {wait} 秒后再试"),
            format!("Too many wrong passwords; try again in {wait} seconds"),
        );
        e.retry_after = Some(wait);
        return Err(e);
    }
    if !verify_password(password, &phc) {
        let failed = failed + 1;
        let lock =
            if failed >= FREE_FAILURES { (30i64 << (failed - FREE_FAILURES).min(10)).min(MAX_LOCK_SECONDS) } else { 0 };
        conn.execute(
            "UPDATE users SET failed_logins = ?2, locked_until = ?3 WHERE id = ?1",
            params![id, failed, if lock > 0 { at + lock } else { 0 }],
        )?;
        return Err(wrong_credentials());
    }
    conn.execute("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = ?1", [id])?;
    if disabled {
        // Said only to someone who knows the password.
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "该账号已停用，请联系管理员",
            "This account is disabled; ask an admin",
        ));
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(AppError::internal)?;
    let token = hex::encode(raw);
    let expires_at = at + SESSION_SECONDS;
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, device_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash(&token), id, device_id, at, expires_at],
    )?;
    let user = get_user(conn, id)?.ok_or_else(wrong_credentials)?;
    Ok(LoginOk { token, expires_at, user })
}

/// The session a bearer token opens, if it is known and not expired.
pub fn authenticate(conn: &Connection, token: &str, at: i64) -> AppResult<Session> {
    let row = conn
        .query_row(
            "SELECT u.id, u.name, u.role, u.area_kind, u.area, s.device_id, s.expires_at
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1 AND u.disabled = 0",
            [token_hash(token)],
            |r| Ok((user_from_row(r)?, r.get::<_, String>("device_id")?, r.get::<_, i64>("expires_at")?)),
        )
        .optional()?;
    match row {
        Some((user, device_id, expires_at)) if expires_at > at => Ok(Session { user, device_id }),
        _ => Err(AppError::unauthorized()),
    }
}

/// Ends the session of `token`.
pub fn logout(conn: &Connection, token: &str) -> AppResult<()> {
    conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash(token)])?;
    Ok(())
}

/// Changes a password after checking the old one; every other session of the user ends.
pub fn change_password(conn: &Connection, session_token: &str, user: &str, old: &str, new: &str) -> AppResult<()> {
    let phc: String = conn.query_row("SELECT password_hash FROM users WHERE id = ?1", [user], |r| r.get(0))?;
    if !verify_password(old, &phc) {
        return Err(wrong_credentials());
    }
    check_password_rules(new)?;
    conn.execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", params![user, hash_password(new)?])?;
    conn.execute(
        "DELETE FROM sessions WHERE user_id = ?1 AND token_hash != ?2",
        params![user, token_hash(session_token)],
    )?;
    Ok(())
}

/// Sets a new password for `user` (an admin's reset): checks the rules, clears the
/// login throttling and ends every session of the user.
pub fn reset_password(conn: &Connection, user: &str, password: &str) -> AppResult<()> {
    check_password_rules(password)?;
    conn.execute(
        "UPDATE users SET password_hash = ?2, failed_logins = 0, locked_until = 0 WHERE id = ?1",
        params![user, hash_password(password)?],
    )?;
    conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user])?;
    Ok(())
}

/// The bearer token of a request.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

impl FromRequestParts<AppState> for Session {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(AppError::unauthorized)?.to_owned();
        state.db.run(move |conn| authenticate(conn, &token, now())).await
    }
}

/// SQL that restricts `households h` to what `user` may see, with its parameter.
pub fn scope_filter(user: &User) -> (String, Option<String>) {
    match (&user.role, &user.area) {
        (Role::Admin, _) => ("1 = 1".into(), None),
        (Role::Supervisor, Some(area)) => {
            let (column, value) = area.column();
            (format!("h.{column} = ?"), Some(value.to_owned()))
        }
        (Role::Supervisor, None) => ("0 = 1".into(), None),
        (Role::Cadre, _) => {
            ("h.id IN (SELECT household_id FROM assignments WHERE user_id = ?)".into(), Some(user.id.clone()))
        }
    }
}

/// May `user` read and write household `id`? (`None`: the household does not exist.)
pub fn may_touch(conn: &Connection, user: &User, id: &str) -> AppResult<Option<bool>> {
    // Cached statements: a sync asks this once for each of its (hundreds of) households.
    let exists: bool =
        conn.prepare_cached("SELECT EXISTS(SELECT 1 FROM households WHERE id = ?1)")?.query_row([id], |r| r.get(0))?;
    if !exists {
        return Ok(None);
    }
    let (filter, param) = scope_filter(user);
    let mut allowed =
        conn.prepare_cached(&format!("SELECT EXISTS(SELECT 1 FROM households h WHERE h.id = ? AND {filter})"))?;
    let allowed = match param {
        Some(p) => allowed.query_row(params![id, p], |r| r.get(0))?,
        None => allowed.query_row(params![id], |r| r.get(0))?,
    };
    Ok(Some(allowed))
}

/// Household `id` for `user`, or why not: 404 when it is not on the roster, 403 when it
/// is outside the user's scope. The check every per-household endpoint starts with.
pub fn require_touch(conn: &Connection, user: &User, id: &str) -> AppResult<()> {
    match may_touch(conn, user, id)? {
        None => Err(AppError::not_found(&format!("户 {id} / household {id}"))),
        Some(false) => Err(AppError::forbidden(
            format!("户 {id} 不在您的负责范围内"),
            format!("Household {id} is outside your scope"),
        )),
        Some(true) => Ok(()),
    }
}
