//! Accounts and sessions: argon2id password hashes, random opaque bearer tokens stored
//! only as their SHA-256, expiry, logout, password change, and slowing down repeated
//! failed logins. Passwords are hashed and checked outside any database transaction.
//! Also who may touch which household (`require_touch`).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use shared::api::ErrorCode;
pub use shared::api::{Area, Role, User};

use crate::AppState;
use crate::denied::{Denied, DeniedResult, Kind};
use crate::error::AppError;
use crate::store::{Access, NewAccount, Reader, Store, Writer};
pub use shared::api::LoginOk;

/// How long a login lasts: a cadre works offline on the cached session until then.
pub const SESSION_SECONDS: i64 = 30 * 24 * 3600;
/// Failed logins allowed before the account is slowed down.
pub const FREE_FAILURES: i64 = 5;
/// Longest lock after repeated failures.
pub const MAX_LOCK_SECONDS: i64 = 15 * 60;
/// Failures in a row are forgotten this long after the last one (or the end of its
/// lock), for accounts and for logins without one alike.
pub const FAILURES_FORGOTTEN_AFTER: i64 = 24 * 3600;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

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

/// The stored form of a bearer token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> DeniedResult<String> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(Denied::internal)
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Runs password hashing (tens of ms of CPU each) on the blocking pool, a bounded
/// number at once (half the cores, at least one): a crowd of logins, honest or not,
/// queues here and leaves the other cores to syncs. No database lock is held while
/// it waits or hashes.
pub async fn off_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    static HASHING: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let slots = HASHING.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::sync::Semaphore::new((cores / 2).max(1))
    });
    let _slot = slots.acquire().await.expect("the hashing semaphore is never closed");
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

/// The password rules: at least [`MIN_PASSWORD_CHARS`] characters.
pub fn check_password_rules(password: &str) -> DeniedResult<()> {
    // Spaces around a password do not count: eight spaces are no password.
    if password.trim().chars().count() < MIN_PASSWORD_CHARS {
        return Err(Denied::invalid(
            ErrorCode::WeakPassword,
            format!("密码至少 {MIN_PASSWORD_CHARS} 位"),
            format!("The password needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

fn check_login_id(id: &str) -> DeniedResult<()> {
    if shared::fields::is_valid_id(id) {
        Ok(())
    } else {
        Err(Denied::invalid(
            ErrorCode::BadLogin,
            "账号只能包含字母、数字、下划线、点和连字符（1–32 位）",
            "A login is 1–32 letters, digits, '_', '.' or '-'",
        ))
    }
}

/// Longest phone number.
const MAX_PHONE_CHARS: usize = 20;

/// 联系电话 as typed, trimmed: digits, spaces, `-`, `+` and brackets; `""` for none.
pub fn check_phone(phone: &str) -> DeniedResult<String> {
    let phone = phone.trim();
    let allowed = |c: char| c.is_ascii_digit() || " -+()（）".contains(c);
    if phone.chars().count() > MAX_PHONE_CHARS || !phone.chars().all(allowed) {
        return Err(Denied::invalid(
            ErrorCode::BadPhone,
            format!("联系电话“{phone}”无效：只能有数字、空格、-、+ 和括号，最多 {MAX_PHONE_CHARS} 个字符"),
            format!(
                "The phone number \"{phone}\" is not valid: digits, spaces, -, + and brackets only, at most {MAX_PHONE_CHARS} characters"
            ),
        ));
    }
    Ok(phone.to_owned())
}

/// Checks a new account and hashes its password: what [`create_user`] writes.
pub fn new_account(user: &User, password: &str) -> DeniedResult<String> {
    check_login_id(&user.id)?;
    check_phone(&user.phone)?;
    check_password_rules(password)?;
    if user.role == Role::Supervisor && user.area.is_none() {
        return Err(Denied::invalid(ErrorCode::AreaRequired, "督导账号须指定区域", "A supervisor needs an area"));
    }
    hash_password(password)
}

/// Creates a user whose password is already hashed ([`new_account`]). Fails if the
/// login exists.
pub fn create_user(w: &mut dyn Writer, user: &User, password_hash: &str) -> DeniedResult<()> {
    if !w.insert_user(&NewAccount { user, password_hash, created_at: now() })? {
        return Err(Denied::new(
            Kind::Conflict,
            ErrorCode::UserExists,
            format!("账号 {} 已存在", user.id),
            format!("User {} already exists", user.id),
        ));
    }
    Ok(())
}

fn wrong_credentials() -> Denied {
    Denied::new(Kind::WrongCredentials, ErrorCode::WrongCredentials, "账号或密码错误", "Wrong login or password")
}

fn locked(wait: i64) -> Denied {
    let wait = wait as u64;
    Denied::Refused {
        kind: Kind::Locked,
        code: ErrorCode::Locked,
        zh: format!("密码错误次数过多，请 {wait} 秒后再试"),
        en: format!("Too many wrong passwords; try again in {wait} seconds"),
        retry_after: Some(wait),
    }
}

/// How long an account is locked after `failed` wrong passwords in a row: not at all
/// for the first [`FREE_FAILURES`] - 1, then 30 s doubling up to [`MAX_LOCK_SECONDS`].
fn lock_seconds(failed: i64) -> i64 {
    if failed >= FREE_FAILURES { (30i64 << (failed - FREE_FAILURES).min(10)).min(MAX_LOCK_SECONDS) } else { 0 }
}

/// Counts one password attempt on `login` as a failure before the password is
/// checked, in the transaction that checks the lock (the row locked on PostgreSQL):
/// however many attempts run at once, each sees the ones before it, and a burst cannot
/// check more passwords than the throttle allows. A right password clears the count.
/// Returns the account's password hash, or `None` for a login that does not exist;
/// those are counted and locked the same way (in the database, `unknown_logins`, so
/// that every server process sees the same count), and the lock answer does not tell
/// which logins exist.
async fn claim_attempt(store: &Store, login: &str, at: i64) -> DeniedResult<Option<String>> {
    let login = login.to_owned();
    store
        .write(move |w| {
            let (failed, locked_until) = match w.credentials(&login)? {
                Some(c) if c.locked_until > at => return Err(locked(c.locked_until - at)),
                Some(c) => {
                    // `locked_until` is the end of the lock, or the last failure's time.
                    let earlier = if c.locked_until + FAILURES_FORGOTTEN_AFTER < at { 0 } else { c.failed_logins };
                    let failed = earlier + 1;
                    w.set_login_failures(&login, failed, at + lock_seconds(failed))?;
                    return Ok(Some(c.password_hash));
                }
                None => w.claim_unknown_login(&login, at, at - FAILURES_FORGOTTEN_AFTER)?,
            };
            if locked_until > at {
                return Err(locked(locked_until - at));
            }
            w.set_unknown_login_lock(&login, at + lock_seconds(failed))?;
            Ok::<_, Denied>(None)
        })
        .await
}

/// Checks a password and opens a session for `device_id`. Repeated failures lock the
/// account for a growing time (429 with `Retry-After`).
pub async fn login(store: &Store, id: &str, password: &str, device_id: &str, at: i64) -> DeniedResult<LoginOk> {
    if !shared::fields::is_valid_id(device_id) {
        return Err(Denied::invalid(
            ErrorCode::BadDevice,
            "设备编号格式错误",
            "The device id is malformed (1–32 letters, digits, '_', '.', '-')",
        ));
    }
    let claimed = claim_attempt(store, id, at).await?;
    let password = password.to_owned();
    let Some(phc) = claimed else {
        // Spend the same effort as for a real account, so timing does not reveal logins.
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        off_thread(move || {
            let dummy = DUMMY.get_or_init(|| {
                hash_password("not a real password").unwrap_or_else(|e| {
                    tracing::error!(error = %e, "could not hash the stand-in password: unknown logins answer faster");
                    String::new()
                })
            });
            verify_password(&password, dummy)
        })
        .await;
        return Err(wrong_credentials());
    };
    let checked = phc.clone();
    if !off_thread(move || verify_password(&password, &checked)).await {
        return Err(wrong_credentials());
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(Denied::internal)?;
    let token = hex::encode(raw);
    let expires_at = at + SESSION_SECONDS;
    let (hash, device, login) = (token_hash(&token), device_id.to_owned(), id.to_owned());
    let user = store
        .write(move |w| {
            // The password checked must still be the account's (no reset or change came
            // in between), and the account still enabled, when the session opens.
            let Some(now) = w.credentials(&login)? else { return Err(wrong_credentials()) };
            if now.password_hash != phc {
                return Err(wrong_credentials());
            }
            w.set_login_failures(&login, 0, 0)?;
            if now.disabled {
                return Ok(None);
            }
            w.insert_session(&hash, &login, &device, at, expires_at)?;
            Ok::<_, Denied>(w.user(&login)?)
        })
        .await?;
    let Some(user) = user else {
        // Said only to someone who knows the password.
        return Err(Denied::new(
            Kind::Forbidden,
            ErrorCode::AccountDisabled,
            "该账号已停用，请联系管理员",
            "This account is disabled; ask an admin",
        ));
    };
    Ok(LoginOk { token, expires_at, user })
}

/// Changes a password after checking the old one; every other session of the user ends.
pub async fn change_password(store: &Store, session_token: &str, user: &str, old: &str, new: &str) -> DeniedResult<()> {
    check_password_rules(new)?;
    // A wrong old password counts against the account as a wrong login does.
    let phc = claim_attempt(store, user, now()).await?;
    let old = old.to_owned();
    let Some(phc) = phc else { return Err(wrong_credentials()) };
    if !off_thread(move || verify_password(&old, &phc)).await {
        return Err(wrong_credentials());
    }
    let new = new.to_owned();
    let hash = off_thread(move || hash_password(&new)).await?;
    let (login, keep) = (user.to_owned(), token_hash(session_token));
    store
        .write(move |w| {
            // The old password was right: the count of wrong ones is cleared.
            w.set_password_hash(&login, &hash, true)?;
            w.delete_sessions_of(&login, Some(&keep))?;
            Ok::<_, Denied>(())
        })
        .await
}

/// Sets a new password for `user` (an admin's reset), already hashed: clears the
/// login throttling and ends every session of the user.
pub fn reset_password(w: &mut dyn Writer, user: &str, password_hash: &str) -> DeniedResult<()> {
    w.set_password_hash(user, password_hash, true)?;
    w.delete_sessions_of(user, None)?;
    Ok(())
}

/// The bearer token of a request.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

impl FromRequestParts<AppState> for Session {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let hash = token_hash(bearer(parts).ok_or_else(AppError::unauthorized)?);
        let at = now();
        match state.store.read(move |r| r.session(&hash, at)).await? {
            Some((user, device_id)) => Ok(Session { user, device_id }),
            None => Err(AppError::unauthorized()),
        }
    }
}

/// Household `id` for `user`, or why not: 404 both when it is not on the roster and
/// when it is outside the user's scope, so that nobody learns which household numbers
/// exist outside their own. The check every per-household endpoint starts with.
pub fn require_touch(r: &mut dyn Reader, user: &User, id: &str) -> DeniedResult<()> {
    match r.access(user, id)? {
        Access::Unknown | Access::OutOfScope => Err(not_yours(id)),
        Access::Allowed => Ok(()),
    }
}

/// 404 for a household that does not exist or is not the caller's (one answer for both).
pub fn not_yours(id: &str) -> Denied {
    Denied::new(
        Kind::NotFound,
        ErrorCode::NotFound,
        format!("户 {id} 不存在或不在您的负责范围内"),
        format!("Household {id} does not exist or is outside your scope"),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The answers to wrong passwords at the given times: `None` checked (and wrong),
    /// `Some(wait)` locked.
    async fn answers(store: &Store, login: &str, times: &[i64]) -> Vec<Option<u64>> {
        let mut out = Vec::new();
        for at in times {
            out.push(match claim_attempt(store, login, *at).await {
                Ok(_) => None,
                Err(Denied::Refused { kind: Kind::Locked, retry_after, .. }) => Some(retry_after.unwrap()),
                Err(e) => panic!("a wrong password is refused as locked or not at all, not {e}"),
            });
        }
        out
    }

    /// An account and a login without one answer alike, at every moment: locked after
    /// as many failures, for as long, and both forget their failures a day after the
    /// last one ends.
    #[tokio::test]
    async fn failures_are_counted_and_forgotten_alike_for_accounts_and_made_up_logins() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("t.sqlite3")).unwrap();
        let user = User { id: "c1".into(), name: "李明".into(), role: Role::Cadre, area: None, phone: String::new() };
        store
            .write(move |w| create_user(w, &user, "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"))
            .await
            .unwrap();
        let t = 1_800_000_000;
        let mut times: Vec<i64> = (0..8).map(|i| t + i).collect();
        // After the lock: one more failure, then a day's silence, then one again.
        times.push(t + 8 + MAX_LOCK_SECONDS);
        times.push(t + 8 + MAX_LOCK_SECONDS + 30 * 60);
        let later = t + 9 + 2 * MAX_LOCK_SECONDS + FAILURES_FORGOTTEN_AFTER + 3600;
        times.extend([later, later + 1]);
        let real = answers(&store, "c1", &times).await;
        let made_up = answers(&store, "nobody", &times).await;
        assert_eq!(real, made_up);
        let locked = real.iter().filter(|a| a.is_some()).count();
        assert!(locked >= 2, "{real:?}");
        assert_eq!(real[..FREE_FAILURES as usize], vec![None; FREE_FAILURES as usize], "{real:?}");
        assert_eq!(real[real.len() - 2..], [None, None], "forgotten after a day: {real:?}");
    }
}
