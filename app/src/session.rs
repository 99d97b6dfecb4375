//! Small settings in localStorage (gloo-storage): the device id, the cached session,
//! the language, the last successful sync. Household documents live in IndexedDB.

use gloo_storage::{LocalStorage, Storage};
use shared::Lang;

const DEVICE: &str = "hhj.device";
const SESSION: &str = "hhj.session";
const LANG: &str = "hhj.lang";
const LAST_SYNC: &str = "hhj.last_sync";

/// The logged-in user, as the server described them at login (`shared::api::User`).
pub use shared::api::User;

/// A cached login: the app works offline with it until it expires.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// Bearer token.
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// Who.
    pub user: User,
}

/// This installation's id, made once.
pub fn device_id() -> String {
    if let Ok(id) = LocalStorage::get::<String>(DEVICE) {
        return id;
    }
    let mut raw = [0u8; 8];
    let _ = getrandom::fill(&mut raw);
    let id = format!("web-{}", raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let _ = LocalStorage::set(DEVICE, &id);
    id
}

/// The cached session, if any and not expired.
pub fn load(now: i64) -> Option<Session> {
    LocalStorage::get::<Session>(SESSION).ok().filter(|s| s.expires_at > now)
}

/// Caches the session.
pub fn save(session: &Session) {
    let _ = LocalStorage::set(SESSION, session);
}

/// Forgets the session (logout, or refused by the server).
pub fn clear() {
    LocalStorage::delete(SESSION);
}

/// The chosen language (Chinese unless English was chosen).
pub fn lang() -> Lang {
    match LocalStorage::get::<String>(LANG).as_deref() {
        Ok("en") => Lang::En,
        _ => Lang::Zh,
    }
}

/// Remembers the language.
pub fn set_lang(lang: Lang) {
    let _ = LocalStorage::set(LANG, if lang == Lang::En { "en" } else { "zh" });
}

/// Unix seconds of the last complete sync.
pub fn last_sync() -> Option<i64> {
    LocalStorage::get::<i64>(LAST_SYNC).ok()
}

/// Records a complete sync.
pub fn set_last_sync(at: i64) {
    let _ = LocalStorage::set(LAST_SYNC, at);
}
