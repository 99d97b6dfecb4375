//! 分配: pick a site and grid, see each household with its cadres, tick households and
//! assign them to (or take them from) one cadre. The ticked changes go as one list to
//! `POST /api/admin/assignments`: all of them are made, or none.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use shared::api::{AssignedHousehold as Household, Assignment, AssignmentsView as View, BulkReport, UserRow};

use super::{Msg, feedback, fetch, send};
use crate::state::Ui;

fn encode(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

/// The assignments tab.
#[component]
pub fn Assign(ui: Ui) -> impl IntoView {
    let site = RwSignal::new(String::new());
    let grid = RwSignal::new(String::new());
    let cadre = RwSignal::new(String::new());
    let only_unassigned = RwSignal::new(false);
    let selected = RwSignal::new(BTreeSet::<String>::new());
    let said = RwSignal::new(None::<Result<Msg, Msg>>);
    let busy = RwSignal::new(false);

    let users = LocalResource::new(move || fetch::<Vec<UserRow>>(ui, "/api/admin/users"));
    let areas = LocalResource::new(move || fetch::<View>(ui, "/api/admin/assignments?areas_only=true"));
    let households = LocalResource::new(move || {
        let (s, g) = (site.get(), grid.get());
        async move {
            if s.is_empty() {
                return Ok(Vec::new());
            }
            let path = format!("/api/admin/assignments?site={}&grid={}", encode(&s), encode(&g));
            fetch::<View>(ui, &path).await.map(|v| v.households)
        }
    });

    let cadres = move || -> Vec<UserRow> {
        users
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .filter(|u| u.role == shared::api::Role::Cadre)
            .collect()
    };
    let names = move || -> BTreeMap<String, String> { cadres().into_iter().map(|u| (u.login, u.name)).collect() };
    let area_list = move || areas.get().and_then(Result::ok).map(|v| v.areas).unwrap_or_default();
    let sites = move || {
        let mut by_site: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for a in area_list() {
            let e = by_site.entry(a.site).or_default();
            e.0 += a.households;
            e.1 += a.unassigned;
        }
        by_site
    };
    let shown = move || -> Vec<Household> {
        let all = households.get().and_then(Result::ok).unwrap_or_default();
        if only_unassigned.get() { all.into_iter().filter(|h| h.cadres.is_empty()).collect() } else { all }
    };

    let choose_site = move |ev| {
        site.set(event_target_value(&ev));
        grid.set(String::new());
        selected.set(BTreeSet::new());
    };
    let choose_grid = move |ev| {
        grid.set(event_target_value(&ev));
        selected.set(BTreeSet::new());
    };

    let apply = move |remove: bool| {
        let who = cadre.get_untracked();
        let ids = selected.get_untracked();
        if who.is_empty() || ids.is_empty() {
            return;
        }
        let items: Vec<Assignment> =
            ids.iter().map(|id| Assignment { household_id: id.clone(), user_id: who.clone(), remove }).collect();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = send(ui, "/api/admin/assignments", &items).await;
            busy.set(false);
            match result.map(|text| serde_json::from_str::<BulkReport>(&text)) {
                Ok(Ok(r)) => {
                    said.set(Some(Ok(Msg::new(
                        format!("已分配 {} 户，已取消 {} 户，{} 户原已如此", r.added, r.removed, r.unchanged),
                        format!("{} assigned, {} removed, {} already so", r.added, r.removed, r.unchanged),
                    ))));
                    selected.set(BTreeSet::new());
                    households.refetch();
                    areas.refetch();
                    users.refetch();
                }
                Ok(Err(e)) => {
                    said.set(Some(Err(Msg::new(format!("答复无法解读：{e}"), format!("Unreadable answer: {e}")))))
                }
                Err(m) => said.set(Some(Err(m))),
            }
        });
    };
    let ready = move || !busy.get() && !cadre.get().is_empty() && !selected.with(BTreeSet::is_empty);

    let all_ticked = move || {
        let rows = shown();
        !rows.is_empty() && selected.with(|s| rows.iter().all(|h| s.contains(&h.id)))
    };
    let tick_all = move |_| {
        let rows = shown();
        if all_ticked() {
            selected.set(BTreeSet::new());
        } else {
            selected.set(rows.into_iter().map(|h| h.id).collect());
        }
    };

    let table = move || {
        if site.get().is_empty() {
            return view! { <p class="admin-hint">{move || ui.t("请先选择安置点。", "Choose a site first.")}</p> }
                .into_any();
        }
        match households.get() {
            None => view! { <p>{move || ui.t("加载中…", "Loading…")}</p> }.into_any(),
            Some(Err(m)) => {
                view! { <p class="error" data-testid="assign-load-error">{move || m.say(ui)}</p> }.into_any()
            }
            Some(Ok(_)) => {
                let names = names();
                view! {
                    <table class="admin-table admin-assign" data-testid="assign-table">
                        <thead>
                            <tr>
                                <th></th>
                                <th>{move || ui.t("户编码", "No.")}</th>
                                <th>{move || ui.t("户主", "Head")}</th>
                                <th>{move || ui.t("网格 · 住址", "Grid · address")}</th>
                                <th>{move || ui.t("帮扶干部", "Cadres")}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {shown()
                                .into_iter()
                                .map(|h| {
                                    let id = h.id.clone();
                                    let ticked = {
                                        let id = id.clone();
                                        move || selected.with(|s| s.contains(&id))
                                    };
                                    let row_ticked = ticked.clone();
                                    let toggle = move |_| {
                                        let id = id.clone();
                                        selected.update(move |s| {
                                            if !s.remove(&id) {
                                                s.insert(id);
                                            }
                                        });
                                    };
                                    let who = if h.cadres.is_empty() {
                                        None
                                    } else {
                                        Some(
                                            h.cadres
                                                .iter()
                                                .map(|c| match names.get(c) {
                                                    Some(n) => format!("{n}（{c}）"),
                                                    None => c.clone(),
                                                })
                                                .collect::<Vec<_>>()
                                                .join("、"),
                                        )
                                    };
                                    view! {
                                        <tr data-testid="assign-row" data-id=h.id.clone() class:ticked=row_ticked>
                                            <td class="tick">
                                                <input type="checkbox" data-testid="assign-tick" prop:checked=ticked on:change=toggle />
                                            </td>
                                            <td data-label=move || ui.t("户编码", "No.")>{h.id.clone()}</td>
                                            <td data-label=move || ui.t("户主", "Head")><strong>{h.head_name.clone()}</strong></td>
                                            <td data-label=move || ui.t("网格 · 住址", "Grid · address")>
                                                {if h.address.is_empty() { h.grid.clone() } else { format!("{} · {}", h.grid, h.address) }}
                                            </td>
                                            <td data-label=move || ui.t("帮扶干部", "Cadres") data-testid="assign-cadres">
                                                {match who {
                                                    Some(w) => view! { <span>{w}</span> }.into_any(),
                                                    None => view! {
                                                        <span class="badge todo">{move || ui.t("未分配", "Unassigned")}</span>
                                                    }
                                                    .into_any(),
                                                }}
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }
        }
    };

    view! {
        <div class="admin-assignments">
            <div class="admin-pickers">
                <label>
                    {move || ui.t("安置点", "Site")}
                    <select data-testid="assign-site" prop:value=move || site.get() on:change=choose_site>
                        <option value="">{move || ui.t("— 请选择 —", "— choose —")}</option>
                        {move || {
                            sites()
                                .into_iter()
                                .map(|(s, (n, free))| {
                                    let label = format!("{s}（{n} {}，{free} {}）", ui.t("户", "households"), ui.t("未分配", "unassigned"));
                                    view! { <option value=s.clone() selected=move || site.get() == s>{label}</option> }
                                })
                                .collect_view()
                        }}
                    </select>
                </label>
                <label>
                    {move || ui.t("网格", "Grid")}
                    <select data-testid="assign-grid" prop:value=move || grid.get() on:change=choose_grid
                        disabled=move || site.get().is_empty()>
                        <option value="">{move || ui.t("全部网格", "All grids")}</option>
                        {move || {
                            let s = site.get();
                            area_list()
                                .into_iter()
                                .filter(|a| a.site == s)
                                .map(|a| {
                                    let label = format!("{}（{} {}）", a.grid, a.households, ui.t("户", "households"));
                                    let g = a.grid.clone();
                                    view! { <option value=a.grid selected=move || grid.get() == g>{label}</option> }
                                })
                                .collect_view()
                        }}
                    </select>
                </label>
            </div>
            <div class="admin-filters">
                <label class="check">
                    <input type="checkbox" data-testid="assign-only-unassigned" prop:checked=move || only_unassigned.get()
                        on:change=move |ev| only_unassigned.set(event_target_checked(&ev)) />
                    {move || ui.t("只看未分配的户", "Only households with no cadre")}
                </label>
                <label class="check">
                    <input type="checkbox" data-testid="assign-select-all" prop:checked=all_ticked on:change=tick_all
                        disabled=move || site.get().is_empty() />
                    {move || ui.t("全选本页", "Select all shown")}
                </label>
            </div>
            {table}
            <div class="admin-actionbar" data-testid="assign-actions">
                <div class="admin-pick-cadre">
                    <span class="summary" data-testid="assign-selected">
                        {move || format!("{} {}", ui.t("已选", "Selected:"), selected.with(BTreeSet::len))}
                    </span>
                    <select data-testid="assign-cadre" aria-label=move || ui.t("帮扶干部", "Cadre")
                        prop:value=move || cadre.get() on:change=move |ev| cadre.set(event_target_value(&ev))>
                        <option value="">{move || ui.t("— 选择帮扶干部 —", "— choose a cadre —")}</option>
                        {move || {
                            cadres()
                                .into_iter()
                                .map(|u| {
                                    let off = if u.disabled { ui.t("，已停用", ", disabled") } else { "" };
                                    let label = format!("{}（{}，{} {}{off}）", u.name, u.login, u.assigned, ui.t("户", "households"));
                                    let l = u.login.clone();
                                    view! { <option value=u.login selected=move || cadre.get() == l>{label}</option> }
                                })
                                .collect_view()
                        }}
                    </select>
                </div>
                <div class="admin-buttons">
                    <button class="primary" data-testid="assign-add" disabled=move || !ready() on:click=move |_| apply(false)>
                        {move || ui.t("分配给该干部", "Assign to this cadre")}
                    </button>
                    <button data-testid="assign-remove" disabled=move || !ready() on:click=move |_| apply(true)>
                        {move || ui.t("取消该干部的分配", "Remove from this cadre")}
                    </button>
                </div>
                {feedback(ui, said, "assign-result")}
            </div>
        </div>
    }
}
