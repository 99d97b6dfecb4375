//! 审核: the period's visits by review status — awaiting review (new or corrected),
//! returned to the cadre, approved — each opening the household to decide.

use leptos::prelude::*;
use shared::api::ReviewQueue;

use super::{fetch, household_rows, loaded};
use crate::state::Ui;

const STATUSES: [(&str, &str, &str); 3] =
    [("pending", "待审核", "Awaiting review"), ("returned", "已退回", "Returned"), ("approved", "已通过", "Approved")];

/// The review queue.
#[component]
pub fn Reviews(ui: Ui) -> impl IntoView {
    let status = RwSignal::new("pending");
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
                } else {
                    household_rows(ui, q.rows, "review-list").into_any()
                }
            })}
        </section>
    }
}
