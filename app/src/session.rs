//! Small settings in localStorage (gloo-storage): the device id, the cached session,
//! the language, each login's last successful sync and IndexedDB database name, and
//! the monitoring settings by year (`shared::Settings`, read from the server at each
//! sync, so flags are computed offline against the right line).
//! Household documents live in IndexedDB.

use gloo_storage::{LocalStorage, Storage};
use shared::Lang;

const DEVICE: &str = "hhj.device";
const SESSION: &str = "hhj.session";
const LANG: &str = "hhj.lang";
const LAST_SYNC: &str = "hhj.last_sync";
const SETTINGS: &str = "hhj.settings";

thread_local! {
    static CACHED_SETTINGS: std::cell::RefCell<Option<shared::Settings>> = const { std::cell::RefCell::new(None) };
}

/// The monitoring settings as last read from the server (none before the first sync).
pub fn settings() -> shared::Settings {
    CACHED_SETTINGS
        .with_borrow_mut(|cached| cached.get_or_insert_with(|| LocalStorage::get(SETTINGS).unwrap_or_default()).clone())
}

/// Keeps the settings the server sent; `true` when they differ from those kept.
pub fn set_settings(new: shared::Settings) -> bool {
    if settings() == new {
        return false;
    }
    let _ = LocalStorage::set(SETTINGS, &new);
    CACHED_SETTINGS.set(Some(new));
    true
}

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

/// The device id `login` uses on this phone: this installation's, with a short digest
/// of the login, so that the server keeps one sync state per person on a shared phone
/// (each person's households are a separate store here: `data::open`).
pub fn device_for(login: &str) -> String {
    // FNV-1a: stable and short; a device id has at most 32 characters.
    let digest = login.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("{}.{:08x}", device_id(), digest as u32)
}

/// The IndexedDB database of `user`'s households on this phone. The first login after
/// an update from a single-store app keeps the database it already has (`huhujian`,
/// with whatever it had not synced); every other login has its own.
pub fn db_name(user: &str) -> String {
    const LEGACY_OWNER: &str = "hhj.db.legacy-owner";
    match LocalStorage::get::<String>(LEGACY_OWNER) {
        Ok(owner) if owner == user => "huhujian".into(),
        Ok(_) => format!("huhujian-{user}"),
        Err(_) => {
            let _ = LocalStorage::set(LEGACY_OWNER, user);
            "huhujian".into()
        }
    }
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

/// Unix seconds of `user`'s last complete sync on this phone.
pub fn last_sync(user: &str) -> Option<i64> {
    LocalStorage::get::<i64>(format!("{LAST_SYNC}.{user}")).ok()
}

/// Records a complete sync of `user`.
pub fn set_last_sync(user: &str, at: i64) {
    let _ = LocalStorage::set(format!("{LAST_SYNC}.{user}"), at);
}
