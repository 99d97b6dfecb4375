//! huhujian's phone app (Leptos CSR, built by Trunk): works offline after the first
//! login. Documents and sync states in IndexedDB (`idb`), small settings in
//! localStorage (`session`), batched sync with the server (`sync`, `api`), screens in
//! `ui`. The service worker (public/sw.js) caches the app shell.

mod api;
mod blobs;
mod data;
mod drafts;
mod health;
mod idb;
mod perf;
mod photo;
mod route;
mod session;
mod state;
mod sync;
mod ui;

use std::time::Duration;

use leptos::prelude::*;

use crate::state::{SyncStatus, Ui};

fn main() {
    perf::mark("hhj:main");
    console_error_panic_hook::set_once();
    if ui::go_elsewhere(session::load(state::now()).as_ref()) {
        return;
    }
    let ui = Ui {
        rev: RwSignal::new(0),
        loaded: RwSignal::new(false),
        page: RwSignal::new(route::start_page(session::load(state::now()).as_ref())),
        lang: RwSignal::new(session::lang()),
        session: RwSignal::new(session::load(state::now())),
        sync: RwSignal::new(SyncStatus::default()),
        storage: RwSignal::new(None),
        notice: RwSignal::new(None),
        period: RwSignal::new(state::current_period()),
        return_to: RwSignal::new(state::Page::Dashboard(String::new())),
    };
    if let Some(splash) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("splash")) {
        splash.remove();
    }
    leptos::mount::mount_to_body(move || view! { <ui::App ui=ui /> });
    leptos::task::spawn_local(start(ui));
}

/// Opens the cadre's store and reads it (the list shows from its kept rows first),
/// then keeps syncing.
async fn start(ui: Ui) {
    register_service_worker();
    match ui.session.get_untracked() {
        Some(s) if ui.is_cadre() => data::open(ui, &s.user.id).await,
        _ => ui.loaded.set(true),
    }
    persist_storage(ui).await;
    // Sync now, whenever the network returns, and every minute while online.
    let online = leptos::prelude::window_event_listener(leptos::ev::online, move |_| {
        leptos::task::spawn_local(sync::run(ui));
    });
    std::mem::forget(online);
    leptos::prelude::set_interval(move || leptos::task::spawn_local(sync::run(ui)), Duration::from_secs(60));
    sync::run(ui).await;
}

fn register_service_worker() {
    if let Some(w) = web_sys::window() {
        let sw = w.navigator().service_worker();
        let _ = sw.register("/sw.js");
    }
}

/// Asks the browser to keep our data (`navigator.storage.persist()`) and reports use.
async fn persist_storage(ui: Ui) {
    let Some(w) = web_sys::window() else { return };
    let persisted = match w.navigator().storage().persist() {
        Ok(p) => wasm_bindgen_futures::JsFuture::from(p).await.ok().and_then(|v| v.as_bool()).unwrap_or(false),
        Err(_) => false,
    };
    let (_, used, quota) = health::storage().await;
    ui.storage.set(Some((persisted, used.unwrap_or(0) as f64, quota.unwrap_or(0) as f64)));
}
