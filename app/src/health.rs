//! 本机状态 (phone health): what this phone says about itself — its app version, the
//! households with unsynced edits and the oldest such edit, whether the browser keeps
//! its storage, and how full it is — read fresh each time, shown on the 本机状态
//! screen and sent to the server as a sync starts and when it ends (`POST /api/phone`),
//! so that a supervisor sees whose phone holds work and whose may lose it.

use shared::api::PhoneReport;
use wasm_bindgen::JsCast;

use leptos::prelude::Set;

use crate::state::{self, Ui};

/// The app's version.
pub const APP_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The phone's state now. `synced`: a sync has just completed.
pub async fn snapshot(ui: Ui, synced: bool) -> PhoneReport {
    let (unsynced, oldest) = state::with(|d| (d.replica.unsynced(), d.replica.oldest_unsynced()));
    let (persisted, used, quota) = storage().await;
    if let (Some(p), Some(u), Some(q)) = (persisted, used, quota) {
        ui.storage.set(Some((p, u as f64, q as f64)));
    }
    PhoneReport {
        app_version: APP_VERSION.to_owned(),
        unsynced: u32::try_from(unsynced).unwrap_or(u32::MAX),
        oldest_unsynced_at: oldest,
        persisted,
        storage_used: used,
        storage_quota: quota,
        synced,
    }
}

/// Whether storage is persistent, and the bytes used and allowed, as the browser says.
pub async fn storage() -> (Option<bool>, Option<u64>, Option<u64>) {
    let Some(w) = web_sys::window() else { return (None, None, None) };
    let manager = w.navigator().storage();
    let persisted = match manager.persisted() {
        Ok(p) => wasm_bindgen_futures::JsFuture::from(p).await.ok().and_then(|v| v.as_bool()),
        Err(_) => None,
    };
    let (mut used, mut quota) = (None, None);
    if let Ok(p) = manager.estimate()
        && let Ok(v) = wasm_bindgen_futures::JsFuture::from(p).await
    {
        let estimate: web_sys::StorageEstimate = v.unchecked_into();
        used = estimate.get_usage().map(|n| n as u64);
        quota = estimate.get_quota().map(|n| n as u64);
    }
    (persisted, used, quota)
}

/// How often an unchanged state is sent again (seconds): it keeps the server's "last
/// completed sync" fresh without a write per minute per phone.
const RESEND_AFTER: i64 = 600;

thread_local! {
    /// The last report the server took, and when.
    static LAST: std::cell::RefCell<Option<(PhoneReport, i64)>> = const { std::cell::RefCell::new(None) };
}

/// Sends the phone's state: `before` a sync's batches (only when it holds unsynced
/// work: a small request that gets through a link too poor for the batches), or after
/// it (`synced`: it completed). A state the server already has is sent again only
/// after [`RESEND_AFTER`]. A failure is left for the next sync.
pub async fn send(ui: Ui, token: &str, before: bool, synced: bool) {
    // Before the phone's records are read it would say "nothing unsynced".
    if !state::with(|d| d.loaded) {
        return;
    }
    let report = snapshot(ui, synced).await;
    if before && report.unsynced == 0 {
        return;
    }
    let at = state::now();
    let same = LAST.with_borrow(|last| {
        last.as_ref().is_some_and(|(sent, sent_at)| {
            at - sent_at < RESEND_AFTER && PhoneReport { synced: report.synced, ..sent.clone() } == report
        })
    });
    if same {
        return;
    }
    if crate::api::post_json(token, "/api/phone", &report).await.is_ok() {
        LAST.set(Some((report, at)));
    }
}

/// `seconds` as people say an age: 3 天, 5 小时, 12 分钟.
pub fn age(seconds: i64, lang: shared::Lang) -> String {
    let (n, zh, en) = match seconds.max(0) {
        s if s >= 86_400 => (s / 86_400, "天", "days"),
        s if s >= 3600 => (s / 3600, "小时", "hours"),
        s => ((s / 60).max(1), "分钟", "min"),
    };
    match lang {
        shared::Lang::Zh => format!("{n} {zh}"),
        shared::Lang::En => format!("{n} {en}"),
    }
}
