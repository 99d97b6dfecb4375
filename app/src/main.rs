//! huhujian's phone app (Leptos CSR, built by Trunk): works offline after the first
//! login. Documents and sync states in IndexedDB (`idb`), small settings in
//! localStorage (`session`), batched sync with the server (`sync`, `api`), screens in
//! `ui`. The service worker (public/sw.js) caches the app shell.

mod api;
mod data;
mod idb;
mod perf;
mod session;
mod state;
mod sync;
mod ui;

use std::time::Duration;

use leptos::prelude::*;
use shared::HouseholdDoc;
use shared::automerge::sync::State;
use wasm_bindgen::JsCast;

use crate::state::{SyncStatus, Ui};

/// Documents loaded between two yields to the browser at start (about 7 ms each with
/// 4× CPU throttling, BENCHMARKS.md): taps and paints wait at most one slice.
const DOCS_PER_SLICE: usize = 8;

fn main() {
    perf::mark("hhj:main");
    console_error_panic_hook::set_once();
    if ui::go_elsewhere(session::load(state::now()).as_ref()) {
        return;
    }
    let ui = Ui {
        rev: RwSignal::new(0),
        page: RwSignal::new(ui::start_page()),
        lang: RwSignal::new(session::lang()),
        session: RwSignal::new(session::load(state::now())),
        sync: RwSignal::new(SyncStatus { last_ok: session::last_sync(), ..SyncStatus::default() }),
        storage: RwSignal::new(None),
        notice: RwSignal::new(None),
        period: RwSignal::new(state::current_period()),
        return_to: RwSignal::new(state::Page::Dashboard),
    };
    if let Some(splash) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("splash")) {
        splash.remove();
    }
    leptos::mount::mount_to_body(move || view! { <ui::App ui=ui /> });
    leptos::task::spawn_local(start(ui));
}

/// Opens storage, shows the household list from its kept rows, loads every document
/// (a few at a time, so the page answers taps meanwhile), then keeps syncing.
async fn start(ui: Ui) {
    register_service_worker();
    match idb::open().await {
        Ok(db) => {
            let db = std::rc::Rc::new(db);
            state::with(|d| d.db = Some(db.clone()));
            let rows = perf::start("hhj:load-rows");
            let kept = ui::keep_rows(idb::all(&db, idb::ROWS).await.unwrap_or_default());
            rows.end();
            if kept > 0 {
                ui.touch();
            }
            let loading = perf::start("hhj:load-docs");
            let docs = idb::all(&db, idb::DOCS).await.unwrap_or_default();
            let states = idb::all(&db, idb::SYNC).await.unwrap_or_default();
            for slice in docs.chunks(DOCS_PER_SLICE) {
                state::with(|d| {
                    for (id, bytes) in slice {
                        if let Ok(doc) = HouseholdDoc::load(bytes, d.actor.clone()) {
                            d.replica.docs.insert(id.clone(), doc);
                        }
                    }
                });
                gloo_timers::future::TimeoutFuture::new(0).await;
            }
            state::with(|d| {
                for (id, bytes) in states {
                    if let Ok(s) = State::decode(&bytes) {
                        d.replica.states.insert(id, s);
                    }
                }
                // Sync and the list's own rows wait for every document.
                d.loaded = true;
            });
            loading.end();
        }
        Err(e) => ui.say(format!("本机存储不可用 / Storage unavailable: {e}")),
    }
    ui.sync.update(|s| s.unsynced = state::with(|d| state::unsynced(d)));
    ui.touch();
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
    let manager = w.navigator().storage();
    let persisted = match manager.persist() {
        Ok(p) => wasm_bindgen_futures::JsFuture::from(p).await.ok().and_then(|v| v.as_bool()).unwrap_or(false),
        Err(_) => false,
    };
    let (mut used, mut quota) = (0.0, 0.0);
    if let Ok(p) = manager.estimate()
        && let Ok(v) = wasm_bindgen_futures::JsFuture::from(p).await
    {
        let estimate: web_sys::StorageEstimate = v.unchecked_into();
        used = estimate.get_usage().unwrap_or(0.0);
        quota = estimate.get_quota().unwrap_or(0.0);
    }
    ui.storage.set(Some((persisted, used, quota)));
}
