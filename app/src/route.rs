//! 地址: every screen has its own address (`#/h/H001/v/2026-12/income`), so that the
//! back button, a reload and the installed app go back one screen, not out of the app.
//! `Ui.page` is the truth; this module mirrors it into the browser's history and back.
//! Each history entry's state is the list of addresses from the first entry to it (the
//! app's own back stack), so an in-app "返回" can go back to the screen it names
//! ([`back_to`]) instead of piling up entries, and the stack survives a reload.

use std::cell::Cell;

use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::session::Session;
use crate::state::{Page, Step, Ui, home_of};

thread_local! {
    /// The next page change replaces the current history entry instead of adding one.
    static REPLACE: Cell<bool> = const { Cell::new(false) };
}

fn enc(s: &str) -> String {
    js_sys::encode_uri_component(s).into()
}

fn dec(s: &str) -> Option<String> {
    js_sys::decode_uri_component(s).ok().map(Into::into)
}

/// The address of `page`.
pub fn hash_of(page: &Page) -> String {
    match page {
        Page::Login => "#/login".into(),
        Page::List => "#/".into(),
        Page::Household(id) => format!("#/h/{}", enc(id)),
        Page::Visit(id, period, step) => format!("#/h/{}/v/{}/{}", enc(id), enc(period), step.code()),
        Page::Member(id, member) => format!("#/h/{}/m/{}", enc(id), enc(member)),
        Page::Dashboard(drill) if drill.is_empty() => "#/dashboard".into(),
        Page::Dashboard(drill) => format!("#/dashboard/{}", enc(drill)),
        Page::Reviews => "#/reviews".into(),
        Page::Conflicts => "#/conflicts".into(),
        Page::Review(id, period) => format!("#/review/{}/{}", enc(id), enc(period)),
        Page::Admin => "#/admin".into(),
        Page::Device => "#/device".into(),
        Page::Phones => "#/phones".into(),
        Page::Cases => "#/cases".into(),
        Page::Card(id) => format!("#/card/{}", enc(id)),
    }
}

/// The page at address `hash`, if it names one.
pub fn page_of(hash: &str) -> Option<Page> {
    let path = hash.strip_prefix('#').unwrap_or(hash);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    Some(match parts.as_slice() {
        [] => Page::List,
        ["login"] => Page::Login,
        ["h", id] => Page::Household(dec(id)?),
        ["h", id, "v", period, step] => Page::Visit(dec(id)?, dec(period)?, Step::from_code(step)?),
        ["h", id, "m", member] => Page::Member(dec(id)?, dec(member)?),
        ["dashboard"] => Page::Dashboard(String::new()),
        ["dashboard", drill] => Page::Dashboard(dec(drill)?),
        ["reviews"] => Page::Reviews,
        ["conflicts"] => Page::Conflicts,
        ["review", id, period] => Page::Review(dec(id)?, dec(period)?),
        ["admin"] => Page::Admin,
        ["device"] => Page::Device,
        ["phones"] => Page::Phones,
        ["cases"] => Page::Cases,
        ["card", id] => Page::Card(dec(id)?),
        _ => return None,
    })
}

/// `page` if `session` may see it here, else its home: no session sees only the login
/// page, a cadre only the phone's screens, supervisors and admins only the console's.
pub fn allowed(page: Page, session: Option<&Session>) -> Page {
    let home = home_of(session);
    let phone = matches!(page, Page::List | Page::Household(_) | Page::Visit(..) | Page::Member(..) | Page::Device);
    let fits = match (&home, &page) {
        (Page::Login, _) | (_, Page::Login) => false,
        // 明白卡 prints from the phone and from the console alike.
        (_, Page::Card(_)) => true,
        (Page::List, _) => phone,
        (_, Page::Admin) => session.is_some_and(|s| s.user.role == shared::api::Role::Admin),
        _ => !phone,
    };
    if fits { page } else { home }
}

/// The page to open at start: the address's, when the cached session may see it.
pub fn start_page(session: Option<&Session>) -> Page {
    let hash = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
    allowed(page_of(&hash).unwrap_or(Page::List), session)
}

fn history() -> Option<web_sys::History> {
    web_sys::window()?.history().ok()
}

/// The back stack kept in the current history entry.
fn stack() -> Vec<String> {
    history()
        .and_then(|h| h.state().ok())
        .and_then(|s| s.as_string())
        .map(|s| s.split(' ').filter(|p| !p.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn current_hash() -> String {
    web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default()
}

/// Keeps the address and `Ui.page` in step, both ways. Called once, by the app.
pub fn install(ui: Ui) {
    Effect::new(move |_| {
        let page = ui.page.get();
        let hash = hash_of(&page);
        let Some(h) = history() else { return };
        let replace = REPLACE.replace(false) || page == Page::Login || stack().is_empty();
        let mut entries = stack();
        if current_hash() == hash && !entries.is_empty() {
            return;
        }
        if page == Page::Login {
            // A new login starts a new back stack: nothing of the last one's screens.
            entries.clear();
        } else if replace {
            entries.pop();
        }
        entries.push(hash.clone());
        let state = JsValue::from_str(&entries.join(" "));
        let _ = if replace {
            h.replace_state_with_url(&state, "", Some(&hash))
        } else {
            h.push_state_with_url(&state, "", Some(&hash))
        };
    });
    let popped = window_event_listener(leptos::ev::popstate, move |_| {
        let session = ui.session.get_untracked();
        let wanted = page_of(&current_hash()).unwrap_or(Page::List);
        let page = allowed(wanted.clone(), session.as_ref());
        if page != wanted {
            // Logged out, or a screen this login may not see: replace it with home.
            REPLACE.set(true);
        }
        ui.page.set(page);
    });
    std::mem::forget(popped);
}

/// Goes to `page` as the same history entry (a login, a logout, a page that replaces
/// the one shown).
pub fn replace(ui: Ui, page: Page) {
    REPLACE.set(true);
    ui.page.set(page);
}

/// Goes back to `page`: through the history when it is on the back stack (so the back
/// button does not return to the screen left), otherwise in place of the current entry.
pub fn back_to(ui: Ui, page: Page) {
    let hash = hash_of(&page);
    let entries = stack();
    match (entries.iter().rposition(|h| *h == hash), history()) {
        (Some(i), Some(h)) if i + 1 < entries.len() => {
            let _ = h.go_with_delta(i as i32 - (entries.len() as i32 - 1));
        }
        _ => replace(ui, page),
    }
}
