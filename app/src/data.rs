//! The app's data layer: every change the phone makes to a household (a saved screen,
//! a member's status, a conflict settled) and the list's kept rows go through here.
//! A change is committed to the household's document, written to IndexedDB, and only
//! then reported done; a failed write is reported, never swallowed. Apart from this
//! module, only the sync driver (`sync.rs`, which persists each round) and start-up
//! (`main.rs`, which reads) touch IndexedDB.

use leptos::prelude::*;
use shared::{Household, Scalar, Stamp};

use crate::idb;
use crate::state::{self, Ui};

/// The signature of a change made now by the logged-in user.
fn stamp(ui: Ui) -> Result<Stamp, String> {
    let session = ui.session.get_untracked().ok_or("未登录 / Not logged in")?;
    Ok(Stamp::new(session.user.id.clone(), session.user.name.clone(), state::now()))
}

/// Writes household `id`'s document to IndexedDB, then refreshes the screens and
/// starts a sync.
async fn persist(ui: Ui, id: &str) -> Result<(), String> {
    let (bytes, db) = state::with(|d| (d.replica.docs.get(id).map(|doc| doc.save()), d.db.clone()));
    let (Some(bytes), Some(db)) = (bytes, db) else {
        return Err("本机存储不可用，修改未保存 / Storage is unavailable; the change was not saved".into());
    };
    let write = crate::perf::start("hhj:save:idb");
    idb::put_many(&db, &[(idb::DOCS, id.to_owned(), bytes)])
        .await
        .map_err(|e| format!("未能保存到本机：{e} / Not saved on this phone: {e}"))?;
    write.end();
    ui.sync.update(|s| s.unsynced = state::with(|d| state::unsynced(d)));
    ui.touch();
    leptos::task::spawn_local(crate::sync::run(ui));
    Ok(())
}

/// Saves an edit of household `id` from `before` to `after` (the screen's view of it
/// when opened, and as left): one commit of the fields that differ, then IndexedDB.
pub async fn edit(ui: Ui, id: &str, before: &Household, after: &Household) -> Result<(), String> {
    let stamp = stamp(ui)?;
    let commit = crate::perf::start("hhj:save:commit");
    state::with(|d| {
        let doc = d.replica.docs.get_mut(id).ok_or("unknown household")?;
        doc.edit_from(&stamp, before, after).map_err(|e| e.to_string())
    })?;
    commit.end();
    persist(ui, id).await
}

/// Settles the conflict on `key` of household `id` on `value`, then IndexedDB.
pub async fn resolve(ui: Ui, id: &str, key: &str, value: &Scalar) -> Result<(), String> {
    let stamp = stamp(ui)?;
    state::with(|d| {
        let doc = d.replica.docs.get_mut(id).ok_or("unknown household")?;
        doc.resolve(&stamp, key, value).map(|_| ()).map_err(|e| e.to_string())
    })?;
    persist(ui, id).await
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
