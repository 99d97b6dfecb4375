//! 审核: the period's visits by review status — awaiting review (new or corrected),
//! returned to the cadre, approved — each opening the household to decide. Visits
//! awaiting review can be approved several at once: each is still its own review step
//! (one request per visit), and those that fail are named.

use std::collections::BTreeSet;

use leptos::prelude::*;
use shared::api::{ReviewQueue, ReviewRequest};

use super::{fetch, household_rows, loaded, post};
use crate::state::{Page, Ui};

const STATUSES: [(&str, &str, &str); 3] =
    [("pending", "待审核", "Awaiting review"), ("returned", "已退回", "Returned"), ("approved", "已通过", "Approved")];

/// The review queue.
#[component]
pub fn Reviews(ui: Ui) -> impl IntoView {
    let status = RwSignal::new("pending");
    // Visits a batch approval could not approve: named until the next batch (kept here,
    // since the queue is drawn again after each batch).
    let failed = RwSignal::new(Vec::<String>::new());
    let queue = LocalResource::new(move || {
        let path = format!("/api/reviews?period={}&status={}", ui.period.get(), status.get());
        async move { fetch::<ReviewQueue>(ui, path).await }
    });
    let count = move |code: &str| {
        queue.get().and_then(Result::ok).map(|q| q.counts.get(code).copied().unwrap_or(0)).map(|n| format!(" {n}"))
    };
    view! {
        <section class="reviews">
            <h2>{move || ui.t("走访审核", "Visit review")}</h2>
            <div class="chips">
                {STATUSES
                    .into_iter()
                    .map(|(code, zh, en)| view! {
                        <button class="chip" data-testid=format!("review-{code}") class:on=move || status.get() == code
                            on:click=move |_| status.set(code)>{move || ui.t(zh, en)}{move || count(code)}</button>
                    })
                    .collect_view()}
            </div>
            {loaded(ui, queue, move |q| {
                if q.rows.is_empty() {
                    view! { <p data-testid="review-empty">{ui.t("没有记录。", "Nothing here.")}</p> }.into_any()
                } else if status.get_untracked() == "pending" {
                    batch(ui, q, failed, move || queue.refetch()).into_any()
                } else {
                    household_rows(ui, q.rows, "review-list").into_any()
                }
            })}
        </section>
    }
}

/// The visits awaiting review, each with a box to tick, and 批量通过 for the ticked.
fn batch(
    ui: Ui,
    q: ReviewQueue,
    failed: RwSignal<Vec<String>>,
    done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ids: Vec<String> = q.rows.iter().map(|r| r.id.clone()).collect();
    let picked = RwSignal::new(BTreeSet::<String>::new());
    let busy = RwSignal::new(false);
    let period = q.period.clone();
    let all = ids.clone();
    let approve = move |_| {
        let chosen: Vec<String> = picked.get_untracked().into_iter().collect();
        if chosen.is_empty() {
            return;
        }
        busy.set(true);
        let period = period.clone();
        leptos::task::spawn_local(async move {
            let mut errors = Vec::new();
            let mut approved = 0;
            // One request, hence one review step, per visit.
            for id in &chosen {
                let body = ReviewRequest { period: period.clone(), action: "approve".into(), comment: String::new() };
                match post(ui, format!("/api/households/{id}/review"), body).await {
                    Ok(_) => approved += 1,
                    Err(e) => errors.push(format!("{id}：{e}")),
                }
            }
            ui.say(match ui.lang.get_untracked() {
                shared::Lang::Zh => format!("已审核通过 {approved} 户"),
                shared::Lang::En => format!("{approved} visits approved"),
            });
            failed.set(errors);
            picked.set(BTreeSet::new());
            busy.set(false);
            done();
        });
    };
    let rows = q
        .rows
        .into_iter()
        .map(|r| {
            let (id, open) = (r.id.clone(), r.id.clone());
            let period = q.period.clone();
            let checked = {
                let id = id.clone();
                move || picked.with(|p| p.contains(&id))
            };
            view! {
                <li class="row" data-testid="console-row" data-id=r.id.clone()>
                    <input type="checkbox" data-testid="review-pick" prop:checked=checked
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            picked.update(|p| { if on { p.insert(id.clone()); } else { p.remove(&id); } });
                        } />
                    <div class="main" on:click=move |_| ui.open(Page::Review(open.clone(), period.clone()))>
                        <strong>{r.head_name.clone()}</strong>
                        <small>{format!("{} {} {} · {}", r.site, r.grid, r.address, r.id)}</small>
                    </div>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="batch">
            <label class="check">
                <input type="checkbox" data-testid="review-pick-all" prop:checked=move || picked.with(|p| p.len() == all.len())
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        picked.set(if on { ids.iter().cloned().collect() } else { BTreeSet::new() });
                    } />
                {move || ui.t("全选", "All")}
            </label>
            <button class="primary" data-testid="review-approve-picked" on:click=approve
                disabled=move || busy.get() || picked.with(BTreeSet::is_empty)>
                {move || match ui.lang.get() {
                    shared::Lang::Zh => format!("批量审核通过（{} 户）", picked.with(BTreeSet::len)),
                    shared::Lang::En => format!("Approve the ticked ({})", picked.with(BTreeSet::len)),
                }}
            </button>
        </div>
        {move || (!failed.get().is_empty()).then(|| view! {
            <ul class="errors" data-testid="review-batch-errors">{failed.get().into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
        })}
        <ul class="rows review-rows" data-testid="review-list">{rows}</ul>
    }
}
