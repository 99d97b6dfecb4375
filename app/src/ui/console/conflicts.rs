//! 冲突处理: every conflicted field in the supervisor's area, with each value, who
//! entered it and when; picking one writes it on the server, and the conflict is gone
//! for everyone after their next sync.

use leptos::prelude::*;
use shared::api::{ConflictItem, ResolveRequest};

use super::{fetch, loaded, post};
use crate::state::{Page, Ui};
use crate::ui::clock;
use crate::ui::fields::confirm_pick;

/// The values of one conflict as buttons; `done` runs after the server took the pick.
pub fn choices(ui: Ui, item: ConflictItem, done: impl Fn() + Copy + 'static) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let field = if ui.lang.get_untracked() == shared::Lang::Zh {
        item.field.field_zh.clone()
    } else {
        item.field.field_en.clone()
    };
    let picked = RwSignal::new(None::<usize>);
    let lang = ui.lang.get_untracked();
    let labels: Vec<String> =
        item.field.values.iter().map(|v| shared::fields::value_label(&item.field.key, &v.value, lang)).collect();
    let shown_labels = labels.clone();
    let buttons = item
        .field
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let who = v.author.as_ref().map(|a| a.name.clone()).unwrap_or_else(|| ui.t("未知", "unknown").to_owned());
            view! {
                <button class="choice" data-testid="console-conflict-choice" data-value=v.value.to_string()
                    class:on=move || picked.get() == Some(i) on:click=move |_| picked.set(Some(i))>
                    <strong>{shown_labels[i].clone()}</strong>
                    <small>{who}" · "{clock(v.at)}</small>
                </button>
            }
        })
        .collect_view();
    let path = format!("/api/households/{}/resolve", item.household_id);
    let requests: Vec<ResolveRequest> = item
        .field
        .values
        .iter()
        .map(|v| ResolveRequest { key: item.field.key.clone(), value: v.value.clone() })
        .collect();
    // The caller's callback is not `Send`: kept in the local arena, whose handle is.
    let done = StoredValue::new_local(done);
    let confirm = move |i: usize| {
        let (path, body) = (path.clone(), requests[i].clone());
        leptos::task::spawn_local(async move {
            match post(ui, path, body).await {
                Ok(_) => {
                    ui.say(ui.t("已采用所选值", "The chosen value was kept").to_owned());
                    done.with_value(|done| done());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <li class="conflict" data-testid="console-conflict" data-key=item.field.key.clone() data-household=item.household_id.clone()>
            <p><strong>{item.head_name.clone()}</strong>" · "{field}</p>
            <p class="hint">{ui.t("请核实后选择正确的值：", "Check, then pick the right value:")}</p>
            {buttons}
            {confirm_pick(ui, picked, labels, "console-conflict-confirm", confirm)}
            {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
        </li>
    }
}

/// The conflict queue.
#[component]
pub fn Conflicts(ui: Ui) -> impl IntoView {
    let items =
        LocalResource::new(move || async move { fetch::<Vec<ConflictItem>>(ui, "/api/conflicts".into()).await });
    let refresh = move || items.refetch();
    view! {
        <section class="conflicts-queue">
            <h2>{move || ui.t("待处理冲突", "Conflicts to settle")}</h2>
            <p class="hint">{move || ui.t(
                "两位干部离线时对同一项填了不同的值，系统不会自动取舍，请核实后选定。",
                "Two cadres entered different values for one field while offline; nothing was dropped. Check and pick one.",
            )}</p>
            {loaded(ui, items, move |items| {
                if items.is_empty() {
                    return view! { <p data-testid="no-conflicts">{ui.t("没有待处理的冲突。", "No conflicts to settle.")}</p> }.into_any();
                }
                let n = items.len();
                view! {
                    <p class="summary" data-testid="conflict-count">{format!("{n} {}", ui.t("项", "fields"))}</p>
                    <ul class="conflicts">
                        {items
                            .into_iter()
                            .map(|item| {
                                // Open the household at the conflicted visit's period.
                                let period = item.field.key.strip_prefix("v/").and_then(|k| k.split('/').next()).map(str::to_owned);
                                let open = (item.household_id.clone(), period.unwrap_or_else(|| ui.period.get_untracked().to_string()));
                                view! {
                                    {choices(ui, item, refresh)}
                                    <button class="small link" on:click=move |_| ui.open(Page::Review(open.0.clone(), open.1.clone()))>
                                        {ui.t("查看该户 ›", "Open household ›")}
                                    </button>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            })}
        </section>
    }
}
