//! 督导工作台: the supervisor console. It reads the server (supervisors work online, at
//! a desk or on a phone) through the read API of PROTOCOL.md §5; nothing here is kept
//! on the device. Screens: `dashboard` (coverage, indicators, breakdowns, flagged
//! lists, export), `reviews` (审核 queue), `conflicts` (冲突 queue), `household` (one
//! household's visit, to approve, return or settle), `phones` (手机状态: whose phone
//! holds unsynced work or may lose it), `cases` (监测帮扶, with `sites`: the counts by
//! site); `flagged` and `export` are parts of the dashboard; `charts` draws the SVG.

pub mod cases;
pub mod charts;
pub mod conflicts;
pub mod dashboard;
pub mod export;
pub mod flagged;
pub mod household;
pub mod phones;
pub mod reviews;
pub mod sites;

use leptos::prelude::*;
use shared::Coded;
pub use shared::api::{CoverageRow, HouseholdRow, IndicatorReport, TrendPoint};

use crate::api::{self, ApiError};
use crate::state::{Page, Ui};

/// GETs `path` with the session's token.
pub async fn fetch<T: serde::de::DeserializeOwned>(ui: Ui, path: String) -> Result<T, String> {
    let Some(session) = ui.session.get_untracked() else { return Err(ApiError::Unauthorized.message()) };
    api::get_json(&session.token, &path).await.map_err(|e| e.message())
}

/// POSTs JSON to `path` with the session's token.
pub async fn post(ui: Ui, path: String, body: impl serde::Serialize) -> Result<String, String> {
    let Some(session) = ui.session.get_untracked() else { return Err(ApiError::Unauthorized.message()) };
    api::post_json(&session.token, &path, &body).await.map_err(|e| e.message())
}

/// `0.923` → `92.3%`; none → `—`.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

pub use crate::ui::income::thousands;

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    js_sys::encode_uri_component(value).as_string().unwrap_or_default()
}

/// The console's tabs, shown to supervisors and admins above every console page.
#[component]
pub fn ConsoleNav(ui: Ui) -> impl IntoView {
    let is_admin = move || ui.session.get().is_some_and(|s| s.user.role == shared::api::Role::Admin);
    let tab = move |page: Page, zh: &'static str, en: &'static str, testid: &'static str| {
        let target = page.clone();
        view! {
            <button class="tab" data-testid=testid class:on=move || ui.page.get().screen() == page.screen()
                on:click=move |_| ui.page.set(target.clone())>
                {move || ui.t(zh, en)}
            </button>
        }
    };
    view! {
        <nav class="console-nav">
            {tab(Page::Dashboard(String::new()), "工作台", "Dashboard", "nav-dashboard")}
            {tab(Page::Reviews, "审核", "Reviews", "nav-reviews")}
            {tab(Page::Conflicts, "冲突", "Conflicts", "nav-conflicts")}
            {tab(Page::Cases, "监测帮扶", "Monitoring", "nav-cases")}
            {tab(Page::Phones, "手机状态", "Phones", "nav-phones")}
            <Show when=is_admin>{tab(Page::Admin, "系统管理", "Admin", "nav-admin")}</Show>
            <label class="period">
                {move || ui.t("监测期", "Period")}
                <input type="month" data-testid="period" prop:value=move || ui.period.get().to_string()
                    on:change=move |ev| {
                        if let Ok(p) = event_target_value(&ev).parse() {
                            ui.period.set(p);
                        }
                    } />
            </label>
        </nav>
    }
}

/// A household list of the console: each row opens the household.
pub fn household_rows(ui: Ui, rows: Vec<HouseholdRow>, testid: &'static str) -> impl IntoView {
    let period = ui.period.get_untracked().to_string();
    view! {
        <ul class="rows" data-testid=testid>
            {rows
                .into_iter()
                .map(|r| {
                    let open = (r.id.clone(), period.clone());
                    view! {
                        <li class="row" data-testid="console-row" data-id=r.id.clone()
                            on:click=move |_| ui.open(Page::Review(open.0.clone(), open.1.clone()))>
                            <div class="main">
                                <strong>{r.head_name.clone()}</strong>
                                <small>{format!("{} {} {} · {}", r.site, r.grid, r.address, r.id)}</small>
                                {(!r.must_visit.is_empty()).then(|| {
                                    let why = r.must_visit.clone();
                                    view! {
                                        <small class="why" data-testid="must-visit-why">
                                            {move || why.iter().map(|w| w.label(ui.lang.get())).collect::<Vec<_>>().join("、")}
                                        </small>
                                    }
                                })}
                            </div>
                            <div class="badges">
                                {(r.conflicts > 0).then(|| view! { <span class="badge conflict">{move || ui.t("冲突", "Conflict")}</span> })}
                                <span class="badge">{r.last_visit.clone().unwrap_or_else(|| "—".into())}</span>
                            </div>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// Shows `Err` as an error line and `Ok` through `view`; nothing while loading.
pub fn loaded<T: Clone + 'static, V: IntoView + 'static>(
    ui: Ui,
    resource: LocalResource<Result<T, String>>,
    view: impl Fn(T) -> V + 'static + Copy + Send,
) -> impl IntoView {
    move || match resource.get() {
        None => view! { <p class="loading">{ui.t("加载中…", "Loading…")}</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
        Some(Ok(v)) => view(v).into_any(),
    }
}
