//! The app's data layer: opening the logged-in cadre's store and closing it at logout
//! ([`open`], [`close`]: one person's households at a time), and every change the phone
//! makes to a household (a saved screen,
//! a member's status, a conflict settled) and the list's kept rows go through here.
//! A change is committed to the household's document, written to IndexedDB, and only
//! then reported done; a failed write is reported, never swallowed. Apart from this
//! module, only the sync driver (`sync.rs`, which persists each round) and start-up
//! (`main.rs`, which reads) touch IndexedDB.

use leptos::prelude::*;
use shared::automerge::sync::State;
use shared::client::Replica;
use shared::{Household, HouseholdDoc, Scalar, Stamp};

use crate::idb;
use crate::state::{self, Ui};

/// Documents loaded between two yields to the browser at start (about 7 ms each with
/// 4× CPU throttling, BENCHMARKS.md): taps and paints wait at most one slice.
const DOCS_PER_SLICE: usize = 8;

/// Opens `user`'s store on this phone (their own IndexedDB database) and reads it: the
/// list's kept rows first (the list shows at once), then every document a few at a
/// time (the page answers taps meanwhile), sync states and drafts.
pub async fn open(ui: Ui, user: &str) {
    close(ui);
    state::with(|d| d.owner = Some(user.to_owned()));
    ui.sync.update(|s| s.last_ok = crate::session::last_sync(user));
    let db = match idb::open(&crate::session::db_name(user)).await {
        Ok(db) => std::rc::Rc::new(db),
        Err(e) => {
            ui.say(format!("本机存储不可用 / Storage unavailable: {e}"));
            ui.loaded.set(true);
            return;
        }
    };
    if state::with(|d| d.owner.as_deref() != Some(user)) {
        return; // logged out meanwhile
    }
    state::with(|d| d.db = Some(db.clone()));
    let rows = crate::perf::start("hhj:load-rows");
    let stored_rows = idb::all(&db, idb::ROWS).await.unwrap_or_default();
    if state::with(|d| d.owner.as_deref() != Some(user)) {
        return;
    }
    let kept = crate::ui::keep_rows(stored_rows);
    rows.end();
    if kept > 0 {
        ui.touch();
    }
    let loading = crate::perf::start("hhj:load-docs");
    let docs = idb::all(&db, idb::DOCS).await.unwrap_or_default();
    let states = idb::all(&db, idb::SYNC).await.unwrap_or_default();
    let drafts = idb::all(&db, idb::DRAFTS).await.unwrap_or_default();
    for slice in docs.chunks(DOCS_PER_SLICE) {
        if state::with(|d| d.owner.as_deref() != Some(user)) {
            return;
        }
        state::with(|d| {
            for (id, bytes) in slice {
                if let Ok(doc) = HouseholdDoc::load(bytes, d.actor.clone()) {
                    d.replica.docs.insert(id.clone(), doc);
                }
            }
        });
        gloo_timers::future::TimeoutFuture::new(0).await;
    }
    if state::with(|d| d.owner.as_deref() != Some(user)) {
        return;
    }
    crate::drafts::load(drafts);
    crate::blobs::load(&db).await;
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
    ui.sync.update(|s| {
        s.unsynced = state::with(|d| state::unsynced(d));
        s.photos_unsent = state::with(|d| crate::blobs::unsent_photos(d));
    });
    ui.loaded.set(true);
    ui.touch();
}

/// Forgets the open store in memory (logout): the next login sees none of it. What is
/// on the phone stays, in its owner's database, for their next login.
pub fn close(ui: Ui) {
    let db = state::with(|d| {
        d.owner = None;
        d.loaded = false;
        d.replica = Replica::default();
        d.drafts.clear();
        d.blobs_held.clear();
        d.blobs_sent.clear();
        d.db.take()
    });
    if let Some(db) = db {
        // Closed once the writes under way are done (IndexedDB waits for them).
        db.close();
    }
    crate::ui::forget_rows();
    ui.sync.update(|s| *s = crate::state::SyncStatus::default());
    ui.loaded.set(false);
    ui.touch();
}

/// The signature of a change made now by the logged-in user.
fn stamp(ui: Ui) -> Result<Stamp, String> {
    let session = ui.session.get_untracked().ok_or("未登录 / Not logged in")?;
    Ok(Stamp::new(session.user.id.clone(), session.user.name.clone(), state::now()))
}

/// Writes household `id`'s document to IndexedDB (and forgets `draft`, in the same
/// transaction), then refreshes the screens and starts a sync.
async fn persist(ui: Ui, id: &str, draft: Option<String>) -> Result<(), String> {
    let (bytes, db) = state::with(|d| (d.replica.docs.get(id).map(|doc| doc.save()), d.db.clone()));
    let (Some(bytes), Some(db)) = (bytes, db) else {
        return Err("本机存储不可用，修改未保存 / Storage is unavailable; the change was not saved".into());
    };
    let write = crate::perf::start("hhj:save:idb");
    let deletes: Vec<(&str, String)> = draft.iter().map(|k| (idb::DRAFTS, k.clone())).collect();
    idb::write(&db, &[(idb::DOCS, id.to_owned(), bytes)], &deletes)
        .await
        .map_err(|e| format!("未能保存到本机：{e} / Not saved on this phone: {e}"))?;
    write.end();
    if let Some(k) = draft {
        state::with(|d| d.drafts.remove(&k));
    }
    ui.sync.update(|s| s.unsynced = state::with(|d| state::unsynced(d)));
    ui.touch();
    leptos::task::spawn_local(crate::sync::run(ui));
    Ok(())
}

/// Saves an edit of household `id` from `before` to `after` (the screen's view of it
/// when opened, and as left): one commit of the fields that differ, then IndexedDB.
pub async fn edit(ui: Ui, id: &str, before: &Household, after: &Household) -> Result<(), String> {
    commit(ui, id, before, after)?;
    persist(ui, id, None).await
}

/// Saves a visit of `period` (as [`edit`]) and forgets its draft, in one write: after a
/// crash there is either the draft or the saved visit.
pub async fn save_visit(ui: Ui, id: &str, period: &str, before: &Household, after: &Household) -> Result<(), String> {
    commit(ui, id, before, after)?;
    let user = ui.session.get_untracked().map(|s| s.user.id).unwrap_or_default();
    persist(ui, id, Some(crate::drafts::key(&user, id, period))).await
}

/// One commit of the fields that differ between `before` and `after`.
fn commit(ui: Ui, id: &str, before: &Household, after: &Household) -> Result<(), String> {
    let stamp = stamp(ui)?;
    let span = crate::perf::start("hhj:save:commit");
    state::with(|d| {
        let doc = d.replica.docs.get_mut(id).ok_or("unknown household")?;
        doc.edit_from(&stamp, before, after).map_err(|e| e.to_string())
    })?;
    span.end();
    Ok(())
}

/// Settles the conflict on `key` of household `id` on `value`, then IndexedDB.
pub async fn resolve(ui: Ui, id: &str, key: &str, value: &Scalar) -> Result<(), String> {
    let stamp = stamp(ui)?;
    state::with(|d| {
        let doc = d.replica.docs.get_mut(id).ok_or("unknown household")?;
        doc.resolve(&stamp, key, value).map(|_| ()).map_err(|e| e.to_string())
    })?;
    persist(ui, id, None).await
}

/// Keeps the list's computed rows (`idb::ROWS`). A cache: a row whose write is lost is
/// computed again next time, so a failure is only logged.
pub fn keep_rows(writes: Vec<(&'static str, String, Vec<u8>)>) {
    let Some(db) = state::with(|d| d.db.clone()) else { return };
    leptos::task::spawn_local(async move {
        if let Err(e) = idb::put_many(&db, &writes).await {
            leptos::logging::warn!("kept rows not written: {e}");
        }
    });
}
