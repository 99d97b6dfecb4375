//! 草稿: a visit in progress, kept on the phone at every change (IndexedDB store
//! `drafts`), so that a reload, a crash or a phone call loses nothing. One per login,
//! household and period; a login sees only its own. A draft is not data: nothing in it
//! reaches the household's document until the cadre saves the visit, and then the
//! document and the draft's removal are written in one transaction (`data::edit`).

use std::collections::BTreeSet;

use leptos::prelude::*;
use shared::Visit;
use shared::prefill::Group;

use crate::idb;
use crate::state::{self, Step, Ui};

/// A visit in progress: what the form holds, and what it was opened on.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Draft {
    /// The visit as stored when the form was opened: saving writes what the cadre
    /// changed from it, so edits that arrived by sync meanwhile are kept.
    pub base: Visit,
    /// The visit as the cadre has it.
    pub visit: Visit,
    /// Groups confirmed with 与上月相同.
    pub confirmed: BTreeSet<Group>,
    /// Groups changed by hand.
    pub touched: BTreeSet<Group>,
    /// 工资性收入 was typed, not summed.
    pub wage_typed: bool,
    /// The reply to a supervisor who returned the visit.
    pub reply: String,
    /// The step the cadre was at.
    pub step: Step,
    /// Unix seconds of the last change.
    pub at: i64,
}

/// The key of a draft: login, household, period.
pub fn key(user: &str, household: &str, period: &str) -> String {
    format!("{user}\u{1f}{household}\u{1f}{period}")
}

fn user(ui: Ui) -> Option<String> {
    ui.session.get_untracked().map(|s| s.user.id)
}

/// Reads the stored drafts at start; one that cannot be read (an older app's) is
/// dropped from memory and reported, not fatal.
pub fn load(items: Vec<(String, Vec<u8>)>) {
    state::with(|d| {
        for (k, bytes) in items {
            match serde_json::from_slice::<Draft>(&bytes) {
                Ok(draft) => {
                    d.drafts.insert(k, draft);
                }
                Err(e) => leptos::logging::warn!("draft {k} unreadable: {e}"),
            }
        }
    });
}

/// The logged-in user's draft of household `id`'s visit of `period`.
pub fn get(ui: Ui, id: &str, period: &str) -> Option<Draft> {
    let key = key(&user(ui)?, id, period);
    state::with(|d| d.drafts.get(&key).cloned())
}

/// The periods of household `id` with a draft of the logged-in user, oldest first.
pub fn of_household(ui: Ui, id: &str) -> Vec<(String, Draft)> {
    let Some(user) = user(ui) else { return Vec::new() };
    let prefix = format!("{user}\u{1f}{id}\u{1f}");
    state::with(|d| {
        d.drafts
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, v)| (k[prefix.len()..].to_owned(), v.clone()))
            .collect()
    })
}

/// The households with a draft of the logged-in user.
pub fn households(ui: Ui) -> BTreeSet<String> {
    let Some(user) = user(ui) else { return BTreeSet::new() };
    let prefix = format!("{user}\u{1f}");
    state::with(|d| {
        d.drafts
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter_map(|rest| rest.split('\u{1f}').next())
            .map(str::to_owned)
            .collect()
    })
}

/// Keeps `draft` in memory and on the phone. Writes go in the order they are made
/// (IndexedDB runs transactions over the same store in order), so the last one wins.
pub fn keep(ui: Ui, id: &str, period: &str, draft: Draft) {
    let Some(user) = user(ui) else { return };
    let key = key(&user, id, period);
    let Ok(bytes) = serde_json::to_vec(&draft) else { return };
    let fresh = state::with(|d| d.drafts.insert(key.clone(), draft).is_none());
    if fresh {
        ui.touch();
    }
    let Some(db) = state::with(|d| d.db.clone()) else { return };
    leptos::task::spawn_local(async move {
        if let Err(e) = idb::put_many(&db, &[(idb::DRAFTS, key, bytes)]).await {
            ui.say(format!("草稿未能保存到本机 / The draft was not kept on this phone: {e}"));
        }
    });
}

/// Forgets the draft of `id`'s visit of `period` (放弃草稿).
pub async fn discard(ui: Ui, id: &str, period: &str) -> Result<(), String> {
    let user = user(ui).ok_or("未登录 / Not logged in")?;
    let key = key(&user, id, period);
    if let Some(db) = state::with(|d| d.db.clone()) {
        idb::write(&db, &[], &[(idb::DRAFTS, key.clone())]).await?;
    }
    state::with(|d| d.drafts.remove(&key));
    ui.touch();
    Ok(())
}
