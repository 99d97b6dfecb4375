//! 系统管理 (admins): four tabs, 用户 (accounts and roles), 花名册导入 (roster import
//! with every rejected row), 分配 (which cadre visits which household) and 监测设置
//! (the monitoring line and targets by year). Everything
//! here talks to the server directly (`/api/admin/...`); nothing is kept offline.

mod assign;
mod roster;
mod settings;
mod users;

use leptos::prelude::*;
use shared::Lang;

use crate::api::{self, ApiError};
use crate::state::Ui;

/// A message in both languages: the server's `{zh, en}` or the screen's own.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
struct Msg {
    zh: String,
    en: String,
}

impl Msg {
    fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { zh: zh.into(), en: en.into() }
    }

    fn of(e: &ApiError) -> Self {
        match e {
            ApiError::Offline => Msg::new("网络不可用，请联网后重试", "No network; try again when online"),
            ApiError::Unauthorized => Msg::new("登录已过期，请重新登录", "The session expired; log in again"),
            // `get_json` joins the server's messages as "zh / en".
            ApiError::Refused(m) => match m.split_once(" / ") {
                Some((zh, en)) if m.matches(" / ").count() == 1 => Msg::new(zh, en),
                _ => Msg::new(m.clone(), m.clone()),
            },
        }
    }

    /// The message in the interface language (reactive).
    fn say(&self, ui: Ui) -> String {
        if ui.lang.get() == Lang::Zh { self.zh.clone() } else { self.en.clone() }
    }
}

/// The session's bearer token.
fn token(ui: Ui) -> String {
    ui.session.get_untracked().map(|s| s.token).unwrap_or_default()
}

/// `GET path`, as a message on failure.
async fn fetch<T: serde::de::DeserializeOwned>(ui: Ui, path: &str) -> Result<T, Msg> {
    api::get_json(&token(ui), path).await.map_err(|e| Msg::of(&e))
}

/// `POST path` with a JSON body: the answer's text on 2xx, else the server's message.
async fn send(ui: Ui, path: &str, body: &impl serde::Serialize) -> Result<String, Msg> {
    let body = serde_json::to_string(body).unwrap_or_default();
    match api::post_raw(&token(ui), path, "application/json", &body).await {
        Ok((status, text)) if (200..300).contains(&status) => Ok(text),
        Ok((status, text)) => Err(serde_json::from_str::<Msg>(&text).unwrap_or_else(|_| {
            Msg::new(format!("服务器答复 HTTP {status}"), format!("The server answered HTTP {status}"))
        })),
        Err(e) => Err(Msg::of(&e)),
    }
}

/// The role's label.
fn role_label(ui: Ui, role: shared::api::Role) -> &'static str {
    match role {
        shared::api::Role::Admin => ui.t("管理员", "Admin"),
        shared::api::Role::Supervisor => ui.t("督导", "Supervisor"),
        shared::api::Role::Cadre => ui.t("帮扶干部", "Cadre"),
    }
}

/// `county:姚安县` → "县：姚安县" / "County: 姚安县".
fn area_label(ui: Ui, area: &str) -> String {
    match area.split_once(':') {
        Some((kind, name)) => format!("{}{}{name}", area_kind_label(ui, kind), ui.t("：", ": ")),
        None => area.to_owned(),
    }
}

fn area_kind_label(ui: Ui, kind: &str) -> &'static str {
    match kind {
        "county" => ui.t("县", "County"),
        "township" => ui.t("乡镇", "Township"),
        "site" => ui.t("安置点", "Site"),
        _ => "?",
    }
}

/// A line of feedback under a form: done (green) or refused (red).
fn feedback(ui: Ui, said: RwSignal<Option<Result<Msg, Msg>>>, testid: &'static str) -> impl IntoView {
    move || {
        said.get().map(|r| match r {
            Ok(m) => view! { <p class="admin-ok" data-testid=testid>{move || m.say(ui)}</p> }.into_any(),
            Err(m) => view! { <p class="error" role="alert" data-testid=testid>{move || m.say(ui)}</p> }.into_any(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Users,
    Roster,
    Assign,
    Settings,
}

/// The admin screen.
#[component]
pub fn Admin(ui: Ui) -> impl IntoView {
    let tab = RwSignal::new(Tab::Users);
    let is_admin = move || ui.session.get().is_some_and(|s| s.user.role == shared::api::Role::Admin);
    let tab_button = move |t: Tab, zh: &'static str, en: &'static str, testid: &'static str| {
        view! {
            <button class="tab" role="tab" data-testid=testid class:on=move || tab.get() == t
                aria-selected=move || (tab.get() == t).to_string() on:click=move |_| tab.set(t)>
                {move || ui.t(zh, en)}
            </button>
        }
    };
    view! {
        <section class="admin" data-testid="admin">
            <h2>{move || ui.t("系统管理", "Administration")}</h2>
            <Show when=is_admin fallback=move || view! {
                <p class="error">{move || ui.t("仅管理员可使用此页面", "Only an admin can use this page")}</p>
            }>
                <div class="tabs" role="tablist">
                    {tab_button(Tab::Users, "用户", "Users", "admin-tab-users")}
                    {tab_button(Tab::Roster, "花名册导入", "Roster", "admin-tab-roster")}
                    {tab_button(Tab::Assign, "分配", "Assign", "admin-tab-assign")}
                    {tab_button(Tab::Settings, "监测设置", "Settings", "admin-tab-settings")}
                </div>
                {move || match tab.get() {
                    Tab::Users => users::Users(users::UsersProps { ui }).into_any(),
                    Tab::Roster => roster::Roster(roster::RosterProps { ui }).into_any(),
                    Tab::Assign => assign::Assign(assign::AssignProps { ui }).into_any(),
                    Tab::Settings => settings::SettingsTab(settings::SettingsTabProps { ui }).into_any(),
                }}
            </Show>
        </section>
    }
}
