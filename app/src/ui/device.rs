//! 本机状态: this phone as it would report itself at the next sync — unsynced
//! households and the oldest unsynced edit, the last completed sync, households the
//! server refused, whether the browser keeps the app's storage and how full it is, the
//! app's version and this phone's id — so that a cadre (or the county's IT office on
//! the phone) can see what a supervisor sees in 手机状态.

use leptos::prelude::*;
use shared::api::PhoneReport;

use crate::health::{APP_VERSION, age, snapshot};
use crate::state::{Page, Ui, now};
use crate::ui::clock;

/// The 本机状态 screen.
#[component]
pub fn Device(ui: Ui) -> impl IntoView {
    let report = RwSignal::new(None::<PhoneReport>);
    let refresh = move || leptos::task::spawn_local(async move { report.set(Some(snapshot(ui, false).await)) });
    // Read again whenever the documents or the sync change.
    Effect::new(move |_| {
        ui.rev.track();
        ui.sync.track();
        refresh();
    });
    let line = move |zh: &'static str, en: &'static str, testid: &'static str, value: String| {
        view! {
            <div class="device-line">
                <dt>{move || ui.t(zh, en)}</dt>
                <dd data-testid=testid>{value}</dd>
            </div>
        }
    };
    let body = move || {
        let lang = ui.lang.get();
        let r = report.get()?;
        let s = ui.sync.get();
        let unsynced = match (r.unsynced, r.oldest_unsynced_at) {
            (0, _) => ui.t("没有，全部已同步", "none, all synced").to_owned(),
            (n, Some(at)) => match lang {
                shared::Lang::Zh => format!("{n} 户，最早的修改在 {}前", age(now() - at, lang)),
                shared::Lang::En => format!("{n} households, the oldest edit {} ago", age(now() - at, lang)),
            },
            (n, None) => n.to_string(),
        };
        let kept = match r.persisted {
            Some(true) => ui.t("已获持久存储", "persistent"),
            Some(false) => ui.t(
                "未获持久存储：浏览器空间不足时可能清除本机记录，请尽快同步",
                "not persistent: the browser may clear it when space runs short; sync soon",
            ),
            None => ui.t("浏览器未说明", "the browser does not say"),
        };
        let used = match (r.storage_used, r.storage_quota) {
            (Some(u), Some(q)) if q > 0 => {
                format!("{:.1} MB / {:.0} MB（{:.0}%）", u as f64 / 1e6, q as f64 / 1e6, 100.0 * u as f64 / q as f64)
            }
            _ => "—".to_owned(),
        };
        let last = s.last_ok.map_or_else(|| ui.t("尚未同步", "never").to_owned(), clock);
        let device = crate::session::device_for(&ui.session.get().map(|s| s.user.id).unwrap_or_default());
        let attention = r.unsynced > 0 || r.persisted == Some(false);
        Some(view! {
            <dl class="device" class:attention=attention>
                {line("未同步", "Unsynced", "device-unsynced", unsynced)}
                {line("上次同步", "Last sync", "device-last-sync", last)}
                {line("被拒绝的户", "Refused households", "device-refused", s.refused.len().to_string())}
                {line("存储", "Storage", "device-persisted", kept.to_owned())}
                {line("已用空间", "Space used", "device-storage", used)}
                {line("应用版本", "App version", "device-version", APP_VERSION.to_owned())}
                {line("本机编号", "Device id", "device-id", device)}
            </dl>
        })
    };
    view! {
        <section class="device-page" data-testid="device-page">
            <button class="back" on:click=move |_| crate::route::back_to(ui, Page::List)>{move || ui.t("‹ 返回列表", "‹ Back")}</button>
            <h2>{move || ui.t("本机状态", "This phone")}</h2>
            <p class="hint">{move || ui.t(
                "每次同步时，本机把这些情况报告给督导的“手机状态”。",
                "At each sync this phone reports these figures to the supervisors' Phones screen.",
            )}</p>
            {body}
        </section>
    }
}
