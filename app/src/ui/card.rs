//! 明白卡: the card a household keeps and its head signs — members, work, the income of
//! the last 12 months against the line, the help received with dates, the cadres, and
//! signature lines — printed on A4 or A5 from the phone (its own copy of the
//! household) or the console (the server's). Printing hides everything else
//! (`@media print` in style.css); the paper size is chosen here.

use leptos::prelude::*;
use shared::api::Person;
use shared::idcard::mask_id_number;
use shared::income::RollingIncome;
use shared::{Coded, Household, Lang, Period, Settings};

use crate::state::Ui;
use crate::ui::income::thousands;

/// Sets the printed page's size (`A4` or `A5`) and opens the print dialog.
fn print(size: &'static str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    let style = doc.get_element_by_id("page-size").or_else(|| {
        let s = doc.create_element("style").ok()?;
        s.set_id("page-size");
        doc.head()?.append_child(&s).ok()?;
        Some(s)
    });
    if let Some(s) = style {
        s.set_text_content(Some(&format!("@page {{ size: {size}; margin: 10mm; }}")));
    }
    if let Some(body) = doc.body() {
        let _ = body.set_attribute("data-paper", size);
    }
    if let Some(w) = web_sys::window() {
        let _ = w.print();
    }
}

/// The print buttons.
pub fn buttons(ui: Ui) -> impl IntoView {
    view! {
        <div class="card-print no-print">
            <button class="primary" data-testid="card-print-a4" on:click=move |_| print("A4")>{move || ui.t("打印（A4）", "Print (A4)")}</button>
            <button data-testid="card-print-a5" on:click=move |_| print("A5")>{move || ui.t("打印（A5）", "Print (A5)")}</button>
        </div>
    }
}

/// The card of `h` in `period`; `cadres` are printed as its 帮扶干部, each with their
/// phone number (a blank line to write one in when an account has none).
pub fn card(
    h: &Household,
    id: &str,
    period: Period,
    settings: &Settings,
    cadres: &[Person],
    lang: Lang,
) -> impl IntoView + use<> {
    let zh = lang == Lang::Zh;
    let t = move |a: &'static str, b: &'static str| if zh { a } else { b };
    let f = &h.facts;
    let as_of = period.last_day();
    let members = h
        .members
        .values()
        .filter(|m| m.is_present_on(as_of))
        .map(|m| {
            let notes = [
                (m.in_school, t("在校", "in school")),
                (m.disabled, t("残疾", "disabled")),
                (m.serious_illness, t("大病", "seriously ill")),
            ]
            .into_iter()
            .filter_map(|(on, s)| on.then_some(s))
            .collect::<Vec<_>>()
            .join("、");
            view! {
                <tr>
                    <td>{m.name.clone()}</td>
                    <td>{m.relation.map(|r| r.label(lang)).unwrap_or_default()}</td>
                    <td>{m.birth_date.map(|d| d.to_string()).unwrap_or_default()}</td>
                    <td>{(!m.id_number.is_empty()).then(|| mask_id_number(&m.id_number))}</td>
                    <td>{m.labour.map(|l| l.label(lang)).unwrap_or_default()}</td>
                    <td>{notes}</td>
                </tr>
            }
        })
        .collect_view();
    // Work: the latest recorded visit up to the period.
    let latest = h
        .visits
        .iter()
        .rev()
        .filter(|(k, v)| {
            k.as_str() <= period.to_string().as_str() && v.mode.is_some_and(|m| m != shared::VisitMode::NotMet)
        })
        .find(|(_, v)| !v.employment.is_empty());
    let work = latest.map(|(p, v)| {
        let rows = v
            .employment
            .iter()
            .filter(|(_, e)| e.status == Some(shared::EmploymentStatus::Employed))
            .map(|(mid, e)| {
                let name = h.members.get(mid).map(|m| m.name.clone()).unwrap_or_else(|| mid.clone());
                let income = e.monthly_income.map(|i| format!("{} {}", thousands(i), t("元/月", "yuan/month")));
                view! { <li>{format!("{name}：{} {} {}", e.channel.map(|c| c.label(lang)).unwrap_or_default(), e.place, income.unwrap_or_default())}</li> }
            })
            .collect_view();
        view! { <p class="hint">{format!("{}（{p}）", t("就业情况", "Work"))}</p><ul>{rows}</ul> }
    });
    // Income: each month of the window, then the year per head against the line.
    let rolling = RollingIncome::of(h, period);
    // Two rows of six months each, so that an A5 card stays on one sheet.
    let cell = move |n: i32| {
        let p = period.plus_months(-n);
        let net = h.visits.get(&p.to_string()).and_then(|v| v.income.net());
        view! { <td><small>{p.to_string()}</small><br/>{net.map(thousands).unwrap_or_else(|| "—".into())}</td> }
    };
    let months = view! {
        <tr>{(7..=12).rev().map(cell).collect_view()}</tr>
        <tr>{(1..=6).rev().map(cell).collect_view()}</tr>
    };
    let line = settings.for_period(period).monitoring_line;
    let per_capita = rolling.per_capita.map(thousands).unwrap_or_else(|| "—".into());
    let summary = match (zh, line) {
        (true, Some(l)) => {
            format!("近12个月人均纯收入 {per_capita} 元（{} 年监测线 {} 元）", period.year(), thousands(l))
        }
        (true, None) => format!("近12个月人均纯收入 {per_capita} 元"),
        (false, Some(l)) => format!(
            "Net income per head, last 12 months: {per_capita} yuan (line of {}: {} yuan)",
            period.year(),
            thousands(l)
        ),
        (false, None) => format!("Net income per head, last 12 months: {per_capita} yuan"),
    };
    let mut ledger: Vec<_> = h.measures.values().collect();
    ledger.sort_by_key(|m| m.start);
    let measures = ledger
        .into_iter()
        .map(|m| {
            view! {
                <tr>
                    <td>{m.kind.map(|k| k.label(lang)).unwrap_or_default()}</td>
                    <td>{m.start.map(|d| d.to_string()).unwrap_or_default()}</td>
                    <td>{m.end.map(|d| d.to_string()).unwrap_or_else(|| t("至今", "ongoing").to_owned())}</td>
                    <td>{m.amount.map(thousands).unwrap_or_default()}</td>
                    <td>{m.provider.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    let status = h.case.status.map(|s| s.label(lang)).unwrap_or(t("无", "none"));
    let kind = f
        .monitoring
        .filter(|m| *m != shared::Monitoring::None)
        .map(|m| m.label(lang))
        .unwrap_or(t("非监测户", "not monitored"));
    view! {
        <article class="card" data-testid="card">
            <h2>{t("防返贫监测帮扶明白卡", "Monitoring and help card")}</h2>
            <p>{format!("{}：{}　{}：{id}", t("户主", "Head"), h.head_name(), t("户编码", "Registry no."))}</p>
            <p>{format!("{}：{} {} {}", t("住址", "Address"), f.site, f.grid, f.address)}</p>
            <p>{format!("{}：{}　{}：{kind}　{}：{status}", t("户类型", "Category"), f.category.map(|c| c.label(lang)).unwrap_or_default(), t("监测类型", "Type"), t("监测状态", "Case"))}</p>
            <h3>{t("家庭成员", "Members")}</h3>
            <table class="card-table">
                <thead><tr><th>{t("姓名", "Name")}</th><th>{t("关系", "Relation")}</th><th>{t("出生日期", "Born")}</th><th>{t("身份证号", "ID")}</th><th>{t("劳动能力", "Labour")}</th><th>{t("备注", "Notes")}</th></tr></thead>
                <tbody>{members}</tbody>
            </table>
            {work}
            <h3>{t("近12个月家庭纯收入（元）", "Net income, last 12 months (yuan)")}</h3>
            <table class="card-table card-months"><tbody>{months}</tbody></table>
            <p data-testid="card-income"><strong>{summary}</strong></p>
            <h3>{t("享受帮扶措施", "Help received")}</h3>
            <table class="card-table">
                <thead><tr><th>{t("措施", "Measure")}</th><th>{t("开始", "From")}</th><th>{t("结束", "Until")}</th><th>{t("金额（元）", "Yuan")}</th><th>{t("提供单位", "By")}</th></tr></thead>
                <tbody data-testid="card-measures">{measures}</tbody>
            </table>
            <p data-testid="card-cadres">{format!("{}：{}", t("帮扶干部", "Cadres"), cadre_line(cadres, lang))}</p>
            <p class="signatures">{format!("{}：____________　{}：____________　{}：________", t("户主签字", "Head's signature"), t("帮扶干部签字", "Cadre's signature"), t("日期", "Date"))}</p>
        </article>
    }
}

/// Each cadre with their phone number, or a blank line to write one in.
fn cadre_line(cadres: &[Person], lang: Lang) -> String {
    let phone = if lang == Lang::Zh { "联系电话" } else { "phone" };
    let blank = "________________";
    if cadres.is_empty() {
        return format!("____________（{phone}：{blank}）");
    }
    cadres
        .iter()
        .map(|c| format!("{}（{phone}：{}）", c.name, if c.phone.is_empty() { blank } else { &c.phone }))
        .collect::<Vec<_>>()
        .join("　")
}

/// 明白卡 as a page (`#/card/<id>`): on the phone from its own copy of the household,
/// in the console from the server's.
#[component]
pub fn CardPage(ui: Ui, id: String) -> impl IntoView {
    let local = crate::state::with(|d| d.replica.docs.get(&id).and_then(|doc| doc.household().ok()));
    let key = id.clone();
    let remote = LocalResource::new(move || {
        let id = key.clone();
        async move {
            let token = ui.session.get_untracked().map(|s| s.token).unwrap_or_default();
            let detail = crate::api::get_json::<shared::api::HouseholdDetail>(&token, &format!("/api/households/{id}"))
                .await
                .map_err(|_| ui.t("无法读取该户", "This household cannot be read").to_owned())?;
            let settings = crate::api::get_json::<Settings>(&token, "/api/settings").await.unwrap_or_default();
            Ok::<_, String>((detail, settings))
        }
    });
    let period = crate::state::current_period();
    let id = StoredValue::new(id);
    let body = move || -> AnyView {
        let lang = ui.lang.get();
        if let Some(h) = local.clone() {
            let me = ui
                .session
                .get_untracked()
                .map(|s| vec![Person { id: s.user.id, name: s.user.name, phone: s.user.phone }])
                .unwrap_or_default();
            return card(&h, &id.get_value(), period, &crate::session::settings(), &me, lang).into_any();
        }
        match remote.get() {
            None => view! { <p class="loading">{ui.t("加载中…", "Loading…")}</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
            Some(Ok((d, settings))) => card(&d.household, &d.id, period, &settings, &d.cadres, lang).into_any(),
        }
    };
    view! {
        <section class="card-page">
            <button class="back no-print" on:click=move |_| crate::route::back_to(ui, ui.return_to.get_untracked())>{move || ui.t("‹ 返回", "‹ Back")}</button>
            {buttons(ui)}
            {body}
        </section>
    }
}
