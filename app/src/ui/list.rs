//! 户列表: this month's households with search and filters; each row says whether this
//! month's visit is done.

use leptos::prelude::*;
use shared::indicators::Summary;

use crate::state::{self, Page, Ui};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    NotVisited,
    Flagged,
    Conflicts,
    Returned,
}

#[derive(Debug, Clone, PartialEq)]
struct Row {
    id: String,
    head: String,
    address: String,
    visited: bool,
    flagged: bool,
    conflicts: usize,
    downloaded: bool,
    /// This month's visit was returned by a supervisor (已退回).
    returned: bool,
}

fn rows() -> Vec<Row> {
    let period = state::current_period();
    let span = crate::perf::start("hhj:list-rows");
    let rows = state::with(|d| {
        d.docs
            .iter()
            .map(|(id, doc)| {
                let h = doc.household().unwrap_or_default();
                let s = Summary::of(&h, period);
                Row {
                    id: id.clone(),
                    head: h.head_name().to_owned(),
                    address: format!("{} {} {}", h.facts.site, h.facts.grid, h.facts.address),
                    visited: s.visited_in_person,
                    flagged: s.zero_employment || s.low_income_labour || s.guarantee_alert || s.risk,
                    conflicts: doc.conflicts().map(|c| c.len()).unwrap_or(0),
                    downloaded: !doc.heads().is_empty(),
                    returned: h.visits.get(&period.to_string()).and_then(|v| v.review_status())
                        == Some(shared::ReviewStatus::Returned),
                }
            })
            .collect()
    });
    span.end();
    rows
}

/// The household list.
#[component]
pub fn List(ui: Ui) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let filter = RwSignal::new(Filter::All);
    let all = Memo::new(move |_| {
        ui.rev.track();
        rows()
    });
    let shown = move || {
        let q = query.get();
        let f = filter.get();
        all.get()
            .into_iter()
            .filter(|r| q.is_empty() || r.head.contains(&q) || r.id.contains(&q) || r.address.contains(&q))
            .filter(|r| match f {
                Filter::All => true,
                Filter::NotVisited => !r.visited,
                Filter::Flagged => r.flagged,
                Filter::Conflicts => r.conflicts > 0,
                Filter::Returned => r.returned,
            })
            .collect::<Vec<_>>()
    };
    let chip = move |f: Filter, zh: &'static str, en: &'static str| {
        view! {
            <button class="chip" class:on=move || filter.get() == f on:click=move |_| filter.set(f)>
                {move || ui.t(zh, en)}
            </button>
        }
    };
    let counts = move || {
        let rows = all.get();
        let done = rows.iter().filter(|r| r.visited).count();
        format!("{} {}：{done}/{}", state::current_period(), ui.t("本月已入户", "visited this month"), rows.len())
    };
    view! {
        <section class="list">
            <p class="summary" data-testid="month-summary">{counts}</p>
            <input class="search" type="search" placeholder=move || ui.t("搜索户主、户编码、住址", "Search name, number, address")
                prop:value=move || query.get() on:input=move |ev| query.set(event_target_value(&ev)) />
            <div class="chips">
                {chip(Filter::All, "全部", "All")}
                {chip(Filter::NotVisited, "本月未走访", "Not visited")}
                {chip(Filter::Flagged, "有风险", "Flagged")}
                {chip(Filter::Conflicts, "有冲突", "Conflicts")}
                {chip(Filter::Returned, "被退回", "Returned")}
            </div>
            <ul class="rows" data-testid="household-list">
                {move || {
                    shown()
                        .into_iter()
                        .map(|r| {
                            let id = r.id.clone();
                            view! {
                                <li class="row" data-testid="household-row" data-id=r.id.clone()
                                    on:click=move |_| ui.page.set(Page::Household(id.clone()))>
                                    <div class="main">
                                        <strong>{if r.downloaded { r.head.clone() } else { r.id.clone() }}</strong>
                                        <small>{r.address.clone()}" · "{r.id.clone()}</small>
                                    </div>
                                    <div class="badges">
                                        {r.returned.then(|| view! { <span class="badge warn" data-testid="returned-badge">{move || ui.t("已退回", "Returned")}</span> })}
                                        {r.flagged.then(|| view! { <span class="badge warn">{move || ui.t("风险", "Risk")}</span> })}
                                        {(r.conflicts > 0).then(|| view! { <span class="badge conflict">{move || ui.t("冲突", "Conflict")}</span> })}
                                        {if r.visited {
                                            view! { <span class="badge done">{move || ui.t("已走访", "Visited")}</span> }.into_any()
                                        } else {
                                            view! { <span class="badge todo">{move || ui.t("未走访", "To visit")}</span> }.into_any()
                                        }}
                                    </div>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <StorageInfo ui=ui />
        </section>
    }
}

#[component]
fn StorageInfo(ui: Ui) -> impl IntoView {
    move || {
        ui.storage.get().map(|(persisted, used, quota)| {
            let state = if persisted {
                ui.t("已获持久存储", "persistent storage granted")
            } else {
                ui.t("未获持久存储（浏览器可能清除数据）", "storage not persistent (the browser may clear it)")
            };
            view! {
                <p class="storage" data-testid="storage">
                    {format!("{state} · {:.1} MB / {:.0} MB", used / 1e6, quota / 1e6)}
                </p>
            }
        })
    }
}
