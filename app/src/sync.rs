//! The app's driver of the sync engine (`shared::client`, PROTOCOL.md §4): posts its
//! batches and persists what each answer changed, then sends the photos the documents
//! reference (`blobs`). Runs when the network returns, every
//! minute while online, after each save, and on request. Never blocks editing: replies
//! are applied to the live documents between awaits, and every round's documents and
//! states are written to IndexedDB before the next.

use leptos::prelude::*;
use shared::Stamp;
use shared::client::{self, Next};

use crate::api::{self, ApiError};
use crate::state::{self, Ui};
use crate::{idb, session};

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
    // The phone's state first (a small request that gets through a poor link), then
    // the batches, then the state again.
    crate::health::send(ui, &session.token, true, false).await;
    // The year's lines, for the flags the phone computes offline.
    if let Ok(settings) = api::get_json::<shared::Settings>(&session.token, "/api/settings").await
        && session::set_settings(settings)
    {
        ui.touch();
    }
    // The account as the server has it now (a name or phone number an admin changed,
    // which 明白卡 prints), kept with the session.
    if let Ok(user) = api::get_json::<session::User>(&session.token, "/api/me").await
        && user.id == session.user.id
        && user != session.user
        && ui.session.get_untracked().is_some_and(|s| s.token == session.token)
    {
        let renewed = session::Session { user, ..session.clone() };
        session::save(&renewed);
        ui.session.set(Some(renewed));
    }
    let result = session_rounds(&ui, &session).await;
    // Logged out meanwhile: this session's end (its error, a refused token) belongs to
    // a login that is gone; the bar and the session now are another's.
    if state::with(|d| d.owner.as_deref() != Some(session.user.id.as_str())) {
        return;
    }
    ui.sync.update(|s| {
        s.running = false;
        match &result {
            Ok(()) => {
                let at = state::now();
                s.last_ok = Some(at);
                session::set_last_sync(&session.user.id, at);
            }
            Err(e) => s.error = Some(e.clone()),
        }
        s.unsynced = state::with(|d| state::unsynced(d));
        s.photos_unsent = state::with(|d| crate::blobs::unsent_photos(d));
    });
    if result.is_ok() || online() {
        crate::health::send(ui, &session.token, false, result.is_ok()).await;
    }
    if result.as_ref().err().map(String::as_str) == Some(UNAUTHORIZED) {
        session::clear();
        ui.session.set(None);
        crate::data::close(ui);
        crate::route::replace(ui, state::Page::Login);
    }
    ui.touch();
    // Then the photos and signatures those documents reference (PROTOCOL.md §4.7), on
    // their own: the sync is over (a visit saved meanwhile syncs at once), and what
    // happens to a photo is said apart from the households.
    if result.is_ok() && !ui.sync.get_untracked().uploading {
        ui.sync.update(|s| s.uploading = true);
        let sent = crate::blobs::upload(ui, &session.token).await;
        if state::with(|d| d.owner.as_deref() != Some(session.user.id.as_str())) {
            return;
        }
        ui.sync.update(|s| {
            s.uploading = false;
            match sent {
                Ok(failed) => s.photo_errors = failed,
                Err(ApiError::Refused(why)) => s.photo_errors = vec![why],
                // Offline or logged out: the next sync goes on where this stopped.
                Err(_) => {}
            }
            s.photos_unsent = state::with(|d| crate::blobs::unsent_photos(d));
        });
        // What the server now holds and no recent visit needs leaves the phone.
        let _ = crate::blobs::tidy(state::current_period()).await;
    }
}

const UNAUTHORIZED: &str = "登录已过期，请重新登录 / The session expired; log in again";

fn message(e: ApiError) -> String {
    match e {
        ApiError::Offline => "网络不可用，稍后自动重试 / No network; will retry".into(),
        ApiError::Unauthorized => UNAUTHORIZED.into(),
        ApiError::Refused(m) => m,
    }
}

async fn session_rounds(ui: &Ui, session: &session::Session) -> Result<(), String> {
    // Nothing is downloaded that could not be kept: wait for storage, and for every
    // stored document to be read (a household not read yet would look new).
    if state::with(|d| d.db.is_none() || !d.loaded) {
        return Err("本机存储尚未就绪 / Storage is not ready yet".into());
    }
    let token = &session.token;
    // Another login may open its own store while this one awaits the server: nothing
    // of this session is then applied to it.
    let mine = || {
        state::with(|d| d.owner.as_deref() == Some(session.user.id.as_str()))
            .then_some(())
            .ok_or_else(|| "已切换账号 / Another login is using the phone".to_owned())
    };
    mine()?;
    // New assignments: start tracking them with empty documents.
    let ids = api::household_ids(token).await.map_err(message)?;
    mine()?;
    let mut engine = state::with(|d| {
        for id in ids {
            let actor = d.actor.clone();
            d.replica.track(&id, &actor);
        }
        client::Session::start(&mut d.replica)
    });
    let progress = |ui: &Ui| {
        let (downloaded, households) = state::with(|d| {
            (d.replica.docs.values().filter(|doc| !doc.heads().is_empty()).count(), d.replica.docs.len())
        });
        ui.sync.update(|s| {
            s.downloaded = downloaded;
            s.households = households;
        });
    };
    ui.sync.update(|s| s.refused.clear());
    progress(ui);
    loop {
        let batch = match state::with(|d| engine.next_batch(&mut d.replica)) {
            Next::Send(batch) => batch,
            Next::Done | Next::RoundLimit => return Ok(()),
        };
        ui.sync.update(|s| {
            s.total = batch.len();
            s.done = 0;
        });
        let replies = api::sync(token, &batch).await.map_err(message)?;
        mine()?;
        let stamp = Stamp::new(session.user.id.clone(), session.user.name.clone(), state::now());
        let (applied, writes, db) = state::with(|d| {
            let applied = engine.receive(&mut d.replica, replies, &stamp);
            let mut writes = Vec::with_capacity(applied.docs.len() + applied.states.len());
            for id in &applied.docs {
                writes.push((idb::DOCS, id.clone(), d.replica.docs[id].save()));
            }
            for id in &applied.states {
                writes.push((idb::SYNC, id.clone(), d.replica.states[id].encode()));
            }
            (applied, writes, d.db.clone())
        });
        if let Some(db) = db {
            idb::put_many(&db, &writes).await?;
        }
        ui.sync.update(|s| {
            s.done = s.total;
            for (id, r) in applied.refused {
                s.refused.insert(id, format!("{} / {}", r.zh, r.en));
            }
            s.refused.extend(applied.failed);
        });
        progress(ui);
        ui.touch();
    }
}
