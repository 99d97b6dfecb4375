//! 手机状态: the cadres' phones as they last reported at a sync — the last completed
//! sync, households with unsynced edits and the oldest one's age, storage the browser
//! may clear, the app's version — those needing attention first (the order is
//! `shared::api::phone::order`, applied by the server).

use leptos::prelude::*;
use shared::api::PhoneRow;

use super::{fetch, loaded};
use crate::health::age;
use crate::state::{Ui, now};
use crate::ui::clock;

/// The phones screen.
#[component]
pub fn Phones(ui: Ui) -> impl IntoView {
    let rows = LocalResource::new(move || async move { fetch::<Vec<PhoneRow>>(ui, "/api/phones".into()).await });
    view! {
        <section class="phones">
            <h2>{move || ui.t("手机状态", "Phones")}</h2>
            <p class="hint">{move || ui.t(
                "各干部手机在最近一次同步时报告的情况。有超过 3 天未同步的记录或本月未同步的排在最前。",
                "What each cadre's phone reported at its last sync. Phones holding work older than 3 days, or not synced this month, come first.",
            )}</p>
            <button class="small" data-testid="phones-refresh" on:click=move |_| rows.refetch()>{move || ui.t("刷新", "Refresh")}</button>
            {loaded(ui, rows, move |rows| {
                if rows.is_empty() {
                    return view! { <p data-testid="no-phones">{ui.t("范围内没有帮扶干部。", "No cadres in your area.")}</p> }.into_any();
                }
                view! {
                    <table class="coverage phones-table" data-testid="phones">
                        <thead><tr>
                            <th>{ui.t("干部", "Cadre")}</th>
                            <th>{ui.t("上次同步", "Last sync")}</th>
                            <th>{ui.t("未同步", "Unsynced")}</th>
                            <th>{ui.t("存储", "Storage")}</th>
                            <th>{ui.t("版本", "Version")}</th>
                        </tr></thead>
                        <tbody>{rows.into_iter().map(|r| row(ui, r)).collect_view()}</tbody>
                    </table>
                }
                .into_any()
            })}
        </section>
    }
}

fn row(ui: Ui, r: PhoneRow) -> impl IntoView {
    let lang = ui.lang.get_untracked();
    let attention = !r.concerns.is_empty();
    let concerns = r
        .concerns
        .iter()
        .map(|c| if lang == shared::Lang::Zh { c.zh() } else { c.en() })
        .collect::<Vec<_>>()
        .join(" · ");
    let synced = match (&r.device, r.synced_at) {
        (None, _) => ui.t("从未同步", "never synced").to_owned(),
        (_, Some(at)) => clock(at),
        (_, None) => ui.t("未完成过同步", "no completed sync").to_owned(),
    };
    let unsynced = match (r.unsynced, r.oldest_unsynced_at) {
        (0, _) => "0".to_owned(),
        (n, Some(at)) => match lang {
            shared::Lang::Zh => format!("{n} 户，最早 {}前", age(now() - at, lang)),
            shared::Lang::En => format!("{n}, oldest {} ago", age(now() - at, lang)),
        },
        (n, None) => n.to_string(),
    };
    let storage = match (r.persisted, r.storage_used, r.storage_quota) {
        (None, None, _) => "—".to_owned(),
        (p, used, quota) => {
            let kept = match p {
                Some(true) => ui.t("持久", "persistent"),
                Some(false) => ui.t("可能被清除", "may be cleared"),
                None => "",
            };
            let size = match (used, quota) {
                (Some(u), Some(q)) if q > 0 => format!(" · {:.1}/{:.0} MB", u as f64 / 1e6, q as f64 / 1e6),
                _ => String::new(),
            };
            format!("{kept}{size}")
        }
    };
    let login = r.login.clone();
    view! {
        <tr data-testid="phone-row" data-login=login class:attention=attention>
            <td data-label=ui.t("干部", "Cadre")>
                <strong>{r.name}</strong>" "<span class="muted">{r.login}</span>
                {attention.then(|| view! { <div class="warning" data-testid="phone-concerns">{concerns}</div> })}
            </td>
            <td data-label=ui.t("上次同步", "Last sync") data-testid="phone-synced">{synced}</td>
            <td data-label=ui.t("未同步", "Unsynced") data-testid="phone-unsynced" data-count=r.unsynced>{unsynced}</td>
            <td data-label=ui.t("存储", "Storage") data-testid="phone-storage">{storage}</td>
            <td data-label=ui.t("版本", "Version")>{r.app_version.unwrap_or_else(|| "—".into())}</td>
        </tr>
    }
}
