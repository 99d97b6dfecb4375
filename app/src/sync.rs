//! The sync engine: batched Automerge sync with the server (PROTOCOL.md §4). Runs when
//! the network returns, every minute while online, after each save, and on request.
//! Never blocks editing: replies are applied to the live documents between awaits, and
//! every round's documents and states are written to IndexedDB before the next.

use leptos::prelude::*;
use shared::HouseholdDoc;
use shared::automerge::sync::State;
use shared::wire::{Outgoing, Reply};

use crate::api::{self, ApiError};
use crate::state::{self, Ui};
use crate::{idb, session};

/// Most round trips in one session (two or three are normal).
const MAX_ROUNDS: usize = 8;

/// Is the browser online?
pub fn online() -> bool {
    web_sys::window().is_some_and(|w| w.navigator().on_line())
}

/// Runs one sync session, unless one is already running or there is no session.
pub async fn run(ui: Ui) {
    if ui.sync.get_untracked().running || !online() {
        return;
    }
    let Some(session) = ui.session.get_untracked() else { return };
    if !ui.is_cadre() {
        return; // supervisors read the server; they keep no households on the device
    }
    ui.sync.update(|s| {
        s.running = true;
        s.error = None;
        s.done = 0;
        s.total = 0;
    });
    let result = session_rounds(&ui, &session.token).await;
    ui.sync.update(|s| {
        s.running = false;
        match &result {
            Ok(()) => {
                let at = state::now();
                s.last_ok = Some(at);
                session::set_last_sync(at);
            }
            Err(e) => s.error = Some(e.clone()),
        }
        s.unsynced = state::with(|d| state::unsynced(d));
    });
    if result.as_ref().err().map(String::as_str) == Some(UNAUTHORIZED) {
        session::clear();
        ui.session.set(None);
        ui.page.set(state::Page::Login);
    }
    ui.touch();
}

const UNAUTHORIZED: &str = "登录已过期，请重新登录 / The session expired; log in again";

fn message(e: ApiError) -> String {
    match e {
        ApiError::Offline => "网络不可用，稍后自动重试 / No network; will retry".into(),
        ApiError::Unauthorized => UNAUTHORIZED.into(),
        ApiError::Refused(m) => m,
    }
}

async fn session_rounds(ui: &Ui, token: &str) -> Result<(), String> {
    // Nothing is downloaded that could not be kept: wait for storage, and for every
    // stored document to be read (a household not read yet would look new).
    if state::with(|d| d.db.is_none() || !d.loaded) {
        return Err("本机存储尚未就绪 / Storage is not ready yet".into());
    }
    // New assignments: start tracking them with empty documents.
    let ids = api::household_ids(token).await.map_err(message)?;
    state::with(|d| {
        for id in ids {
            let actor = d.actor.clone();
            d.docs.entry(id).or_insert_with(|| HouseholdDoc::empty(actor));
        }
        // Each session starts from the persisted state: the server may know more.
        for s in d.states.values_mut() {
            *s = State::decode(&s.encode()).unwrap_or_default();
        }
    });
    ui.sync.update(|s| s.refused.clear());
    for _ in 0..MAX_ROUNDS {
        let refused: Vec<String> = ui.sync.get_untracked().refused.keys().cloned().collect();
        let batch: Vec<Outgoing> = state::with(|d| {
            let ids: Vec<String> = d.docs.keys().filter(|id| !refused.contains(id)).cloned().collect();
            ids.into_iter()
                .filter_map(|id| {
                    let state = d.states.entry(id.clone()).or_default();
                    d.docs[&id].sync_message(state).map(|message| Outgoing { doc_id: id, message })
                })
                .collect()
        });
        if batch.is_empty() {
            return Ok(());
        }
        ui.sync.update(|s| {
            s.total = batch.len();
            s.done = 0;
        });
        let replies = api::sync(token, &batch).await.map_err(message)?;
        let mut writes = Vec::new();
        let mut refusals = Vec::new();
        state::with(|d| {
            for r in replies {
                match r.reply {
                    Reply::Message(m) => {
                        let (Some(doc), Some(st)) = (d.docs.get_mut(&r.doc_id), d.states.get_mut(&r.doc_id)) else {
                            continue;
                        };
                        if doc.receive_sync_message(st, &m).is_ok() {
                            writes.push((idb::DOCS, r.doc_id.clone(), doc.save()));
                        }
                        writes.push((idb::SYNC, r.doc_id, st.encode()));
                    }
                    Reply::InSync => {
                        if let Some(st) = d.states.get_mut(&r.doc_id) {
                            shared::wire::in_sync(st);
                            writes.push((idb::SYNC, r.doc_id, st.encode()));
                        }
                    }
                    Reply::Refused(x) => refusals.push((r.doc_id, format!("{} / {}", x.zh, x.en))),
                }
            }
        });
        let db = state::with(|d| d.db.clone());
        if let Some(db) = db {
            idb::put_many(&db, &writes).await?;
        }
        ui.sync.update(|s| {
            s.done = s.total;
            s.refused.extend(refusals);
        });
        ui.touch();
    }
    Ok(())
}
