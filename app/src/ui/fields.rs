//! Form inputs sized for a thumb: coded selects, yes/no toggles, text and amounts, and
//! the inline message of `shared::validate` under each.

use leptos::prelude::*;
use shared::{Coded, Lang};

use crate::state::Ui;

/// A select over a coded answer; "—" is unset.
pub fn coded_select<T, G, S>(lang: RwSignal<Lang>, testid: String, get: G, set: S) -> impl IntoView
where
    T: Coded + PartialEq + Send + Sync,
    G: Fn() -> Option<T> + Copy + Send + Sync + 'static,
    S: Fn(Option<T>) + Copy + Send + Sync + 'static,
{
    view! {
        <select data-testid=testid on:change=move |ev| set(T::from_code(&event_target_value(&ev)))>
            <option value="" selected=move || get().is_none()>"—"</option>
            {T::ALL
                .iter()
                .map(|c| {
                    let c = *c;
                    view! { <option value=c.code() selected=move || get() == Some(c)>{move || c.label(lang.get())}</option> }
                })
                .collect_view()}
        </select>
    }
}

/// 是 / 否 as two big buttons; tapping the chosen one again keeps it (a stray second
/// tap must not erase an answer), and a small × clears it.
pub fn yes_no<G, S>(lang: RwSignal<Lang>, testid: String, get: G, set: S) -> impl IntoView
where
    G: Fn() -> Option<bool> + Copy + Send + Sync + 'static,
    S: Fn(Option<bool>) + Copy + Send + Sync + 'static,
{
    let zh = move || lang.get() == Lang::Zh;
    view! {
        <span class="yesno" data-testid=testid>
            <button type="button" class:on=move || get() == Some(true) on:click=move |_| set(Some(true))>
                {move || if zh() { "是" } else { "Yes" }}
            </button>
            <button type="button" class:on=move || get() == Some(false) on:click=move |_| set(Some(false))>
                {move || if zh() { "否" } else { "No" }}
            </button>
            <Show when=move || get().is_some()>
                <button type="button" class="clear" aria-label=move || if zh() { "清除" } else { "Clear" }
                    on:click=move |_| set(None)>"×"</button>
            </Show>
        </span>
    }
}

/// A text input.
pub fn text<G, S>(testid: String, get: G, set: S) -> impl IntoView
where
    G: Fn() -> String + Copy + Send + Sync + 'static,
    S: Fn(String) + Copy + Send + Sync + 'static,
{
    view! { <input type="text" data-testid=testid prop:value=get on:input=move |ev| set(event_target_value(&ev)) /> }
}

/// A whole-yuan amount; empty is unset.
pub fn amount<G, S>(testid: String, get: G, set: S) -> impl IntoView
where
    G: Fn() -> Option<i64> + Copy + Send + Sync + 'static,
    S: Fn(Option<i64>) + Copy + Send + Sync + 'static,
{
    view! {
        <input type="number" inputmode="numeric" data-testid=testid
            prop:value=move || get().map(|v| v.to_string()).unwrap_or_default()
            on:input=move |ev| set(event_target_value(&ev).trim().parse().ok()) />
    }
}

/// The message for `path`, if validation found one.
pub fn problem(problems: Memo<Vec<shared::Problem>>, lang: RwSignal<Lang>, path: String) -> impl IntoView {
    move || {
        problems.get().into_iter().find(|p| p.path == path).map(|p| {
            let class = if p.severity == shared::Severity::Error { "error" } else { "warning" };
            view! { <p class=class data-testid="problem">{p.message(lang.get()).to_owned()}</p> }
        })
    }
}

/// Under a conflict's values: once one is picked, 确定采用“…” (which runs `confirm` with
/// the pick's index) and 取消. A pick is settled only after 确定: one stray tap must not
/// decide it. Used by the phone's and the console's conflict pickers.
pub fn confirm_pick<C>(
    ui: Ui,
    picked: RwSignal<Option<usize>>,
    labels: Vec<String>,
    testid: &'static str,
    confirm: C,
) -> impl IntoView
where
    C: Fn(usize) + Clone + Send + Sync + 'static,
{
    move || {
        picked.get().map(|i| {
            let text = labels[i].clone();
            let confirm = confirm.clone();
            view! {
                <div class="confirm-pick">
                    <button class="primary" data-testid=testid on:click=move |_| confirm(i)>
                        {move || match ui.lang.get() {
                            Lang::Zh => format!("确定采用“{text}”"),
                            Lang::En => format!("Keep \"{text}\""),
                        }}
                    </button>
                    <button class="small" on:click=move |_| picked.set(None)>{move || ui.t("取消", "Cancel")}</button>
                </div>
            }
        })
    }
}
