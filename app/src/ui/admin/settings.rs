//! 监测设置: every year's monitoring line, low-income target and expense share, edited
//! as a table, and which kinds of evidence cadres are offered, saved whole
//! (`PUT /api/settings`); the server names a bad row.

use leptos::prelude::*;
use shared::evidence::EvidenceSettings;
use shared::{Settings, YearSettings};

use super::{Msg, feedback, fetch, token};
use crate::api;
use crate::state::Ui;

/// An amount input: empty = not set.
fn number(
    value: RwSignal<Vec<YearSettings>>,
    index: usize,
    testid: String,
    get: fn(&YearSettings) -> Option<i64>,
    set: fn(&mut YearSettings, Option<i64>),
) -> impl IntoView {
    view! {
        <input type="number" inputmode="numeric" data-testid=testid
            prop:value=move || value.with(|v| v.get(index).and_then(get).map(|n| n.to_string()).unwrap_or_default())
            on:input=move |ev| {
                let n = event_target_value(&ev).trim().parse().ok();
                value.update(|v| if let Some(y) = v.get_mut(index) { set(y, n) })
            } />
    }
}

/// A checkbox for one kind of evidence.
fn toggle(
    ui: Ui,
    evidence: RwSignal<EvidenceSettings>,
    testid: &'static str,
    (zh, en): (&'static str, &'static str),
    get: fn(&EvidenceSettings) -> bool,
    set: fn(&mut EvidenceSettings, bool),
) -> impl IntoView {
    view! {
        <label class="check"><input type="checkbox" data-testid=testid
            prop:checked=move || evidence.with(get)
            on:change=move |ev| evidence.update(|e| set(e, event_target_checked(&ev))) />
            {move || ui.t(zh, en)}</label>
    }
}

/// The settings tab.
#[component]
pub fn SettingsTab(ui: Ui) -> impl IntoView {
    let years = RwSignal::new(Vec::<YearSettings>::new());
    let evidence = RwSignal::new(EvidenceSettings::default());
    let said = RwSignal::new(None::<Result<Msg, Msg>>);
    leptos::task::spawn_local(async move {
        match fetch::<Settings>(ui, "/api/settings").await {
            Ok(s) => {
                years.set(s.years);
                evidence.set(s.evidence);
            }
            Err(m) => said.set(Some(Err(m))),
        }
    });
    let add = move |_| {
        years.update(|v| {
            let last = v.last().copied().unwrap_or_default();
            let year = v.iter().map(|y| y.year).max().map_or(crate::state::current_period().year().into(), |y| y + 1);
            v.push(YearSettings { year, ..last });
        })
    };
    let save = move |_| {
        let settings = Settings { years: years.get_untracked(), evidence: evidence.get_untracked() };
        let body = serde_json::to_string(&settings).unwrap_or_default();
        leptos::task::spawn_local(async move {
            let answer = api::put_json_raw(&token(ui), "/api/settings", &body).await;
            said.set(Some(match answer {
                Ok((200, text)) => {
                    if let Ok(s) = serde_json::from_str::<Settings>(&text) {
                        years.set(s.years);
                        evidence.set(s.evidence);
                    }
                    Ok(Msg::new(
                        "已保存；相关月份的指标已按新设置重新计算",
                        "Saved; the months concerned are computed again",
                    ))
                }
                Ok((status, text)) => Err(serde_json::from_str::<Msg>(&text).unwrap_or_else(|_| {
                    Msg::new(format!("服务器答复 HTTP {status}"), format!("The server answered HTTP {status}"))
                })),
                Err(e) => Err(Msg::of(&e)),
            }));
        });
    };
    let rows = move || {
        (0..years.with(Vec::len))
            .map(|i| {
                view! {
                    <tr data-testid="settings-row">
                        <td><input type="number" inputmode="numeric" data-testid=format!("settings-year-{i}")
                            prop:value=move || years.with(|v| v.get(i).map(|y| y.year.to_string()).unwrap_or_default())
                            on:input=move |ev| {
                                let n = event_target_value(&ev).trim().parse().unwrap_or(0);
                                years.update(|v| if let Some(y) = v.get_mut(i) { y.year = n })
                            } /></td>
                        <td>{number(years, i, format!("settings-line-{i}"), |y| y.monitoring_line, |y, n| y.monitoring_line = n)}</td>
                        <td>{number(years, i, format!("settings-target-{i}"), |y| y.low_income_target, |y, n| y.low_income_target = n)}</td>
                        <td>{number(years, i, format!("settings-share-{i}"), |y| y.expense_share_percent, |y, n| y.expense_share_percent = n)}</td>
                        <td><input type="month" data-testid=format!("settings-baseline-{i}")
                            prop:value=move || years.with(|v| v.get(i).and_then(|y| y.baseline).map(|b| b.to_string()).unwrap_or_default())
                            on:input=move |ev| {
                                let b = event_target_value(&ev).parse().ok();
                                years.update(|v| if let Some(y) = v.get_mut(i) { y.baseline = b })
                            } /></td>
                        <td><button type="button" data-testid=format!("settings-remove-{i}")
                            on:click=move |_| years.update(|v| { if i < v.len() { v.remove(i); } })>
                            {move || ui.t("删除", "Remove")}</button></td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <div class="admin-settings" data-testid="admin-settings">
            <p class="hint">{move || ui.t(
                "每行自当年1月起适用；没有单独设置的年份沿用此前最近一年的设置。防返贫监测线由省里每年公布；低收入目标线为本县标准（不填则用监测线）；刚性支出占比：近12个月刚性支出达到全年纯收入的这一比例即提示“刚性支出较大”。",
                "Each row applies from January of its year; a year without a row keeps the latest earlier one. The monitoring line is the province's, published yearly; the low-income target is the county's own (the line when empty); expense share: expenses of the last 12 months at this percentage of the year's net income are flagged as large.")}</p>
            <table class="settings">
                <thead><tr>
                    <th>{move || ui.t("年份", "Year")}</th>
                    <th>{move || ui.t("监测线（元/人·年）", "Monitoring line (yuan a head a year)")}</th>
                    <th>{move || ui.t("低收入目标线（元）", "Low-income target (yuan)")}</th>
                    <th>{move || ui.t("刚性支出占比（%）", "Expense share (%)")}</th>
                    <th>{move || ui.t("三个不减基期（不填为上年同月）", "三个不减 baseline (empty: a year earlier)")}</th>
                    <th></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <fieldset class="evidence-settings" data-testid="evidence-settings">
                <legend>{move || ui.t("走访佐证（均为自愿，不作为走访是否有效的条件）", "Evidence of a visit (always optional, never a condition for a visit to count)")}</legend>
                {toggle(ui, evidence, "evidence-photos", ("走访照片", "Photos"), |e| e.photos, |e, on| e.photos = on)}
                {toggle(ui, evidence, "evidence-signature", ("户主签字确认", "The household head's sign-off"), |e| e.signature, |e, on| e.signature = on)}
                {toggle(ui, evidence, "evidence-location", ("走访定位（单次，干部点按时获取）", "Location (one fix, when the cadre taps)"), |e| e.location, |e, on| e.location = on)}
            </fieldset>
            <button type="button" data-testid="settings-add" on:click=add>{move || ui.t("＋ 添加年份", "+ Add a year")}</button>
            <button type="button" class="primary" data-testid="settings-save" on:click=save>{move || ui.t("保存设置", "Save settings")}</button>
            {feedback(ui, said, "settings-said")}
        </div>
    }
}
