//! 重点关注名单: the households behind the indicators — zero employment, low income
//! with labour, 两不愁三保障 failures, new risk signals, monitored households, 八必访,
//! and those visited without the household head's sign-off — each opening the
//! household.

use leptos::prelude::*;

use super::{HouseholdRow, fetch, household_rows, loaded};
use crate::state::Ui;

const KINDS: [(&str, &str, &str); 7] = [
    ("zero_employment", "零就业家庭", "Zero employment"),
    ("low_income", "低收入有劳动力", "Low income with labour"),
    ("guarantee", "两不愁三保障", "Guarantee failures"),
    ("new_risk", "新增风险", "New risk signals"),
    ("monitored", "监测对象", "Monitored"),
    ("must_visit", "八必访", "Must visit"),
    ("unsigned", "已入户未签字确认", "Visited, not signed"),
];

/// The flagged lists, one kind at a time.
#[component]
pub fn Flagged(ui: Ui) -> impl IntoView {
    let kind = RwSignal::new(KINDS[0].0);
    let rows = LocalResource::new(move || {
        let path = format!("/api/flagged?kind={}&period={}", kind.get(), ui.period.get());
        async move { fetch::<Vec<HouseholdRow>>(ui, path).await }
    });
    view! {
        <h2>{move || ui.t("重点关注名单", "Households to watch")}</h2>
        <div class="chips">
            {KINDS
                .into_iter()
                .map(|(code, zh, en)| view! {
                    <button class="chip" data-testid=format!("flag-{code}") class:on=move || kind.get() == code
                        on:click=move |_| kind.set(code)>{move || ui.t(zh, en)}</button>
                })
                .collect_view()}
        </div>
        {loaded(ui, rows, move |rows| {
            let n = rows.len();
            view! {
                <p class="hint" data-testid="flagged-count">{format!("{n} {}", ui.t("户", "households"))}</p>
                {household_rows(ui, rows, "flagged")}
            }
        })}
    }
}
