//! 上月带入 on screen: last month's answers as one line per group, with 与上月相同
//! (one tap confirms the group) or what became of it (confirmed, changed).

use leptos::prelude::*;
use shared::prefill::Group;
use shared::{Coded, Employment, IncomeComponent, Lang, Visit};

use super::form::Form;

/// Last month's answers of `group` with its 与上月相同 button (testid `testid`), when
/// the last visit had any.
pub fn same(form: Form, group: Group, testid: String) -> Option<impl IntoView> {
    let (ui, lang) = (form.ui, form.ui.lang);
    let (from, last) = form.carried.with_value(|c| {
        c.as_ref().filter(|c| c.groups().contains(&group)).map(|c| (c.from.clone(), c.visit.clone()))
    })?;
    let shown = group.clone();
    let done_group = group.clone();
    let line = group.clone();
    let box_id = match &group {
        Group::Work(mid) => format!("carried-{mid}"),
        _ => format!("carried-{testid}"),
    };
    Some(view! {
        <div class="carried" data-testid=box_id>
            <p class="hint">{move || format!("{} {from}：{}", ui.t("上次走访", "Last visit"), summary(&last, &shown, lang.get()))}</p>
            <Show when=move || form.handled(&done_group) fallback=move || {
                let (g, testid) = (group.clone(), testid.clone());
                view! {
                    <button type="button" class="same" data-testid=testid on:click=move |_| form.confirm(g.clone())>
                        {move || ui.t("与上月相同", "Same as last month")}
                    </button>
                }
            }>
                {done_line(form, line.clone())}
            </Show>
        </div>
    })
}

/// Under a group whose 与上月相同 is done: confirmed, or changed by hand.
fn done_line(form: Form, group: Group) -> impl IntoView {
    let ui = form.ui;
    move || {
        if form.confirmed.with(|s| s.contains(&group)) {
            view! { <p class="confirmed" data-testid="same-done">{move || ui.t("✓ 已确认与上月相同", "✓ Confirmed unchanged")}</p> }.into_any()
        } else {
            view! { <p class="hint" data-testid="same-changed">{move || ui.t("已修改，按本月填写保存", "Changed: saved as entered this month")}</p> }.into_any()
        }
    }
}

/// One member's work as a line: `已就业 · 县内务工 · 县产业园 · 3000 元`.
pub fn job_summary(job: &Employment, lang: Lang) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.extend(job.status.map(|s| s.label(lang).to_owned()));
    parts.extend(job.channel.map(|c| c.label(lang).to_owned()));
    parts.extend([&job.place, &job.employer].into_iter().filter(|s| !s.is_empty()).cloned());
    parts.extend(
        job.monthly_income.map(|i| if lang == Lang::Zh { format!("{i} 元/月") } else { format!("{i} yuan a month") }),
    );
    parts.join(" · ")
}

/// One group of a visit's answers as a line.
pub fn summary(last: &Visit, group: &Group, lang: Lang) -> String {
    let yes_no = |b: bool| match (b, lang) {
        (true, Lang::Zh) => "是",
        (false, Lang::Zh) => "否",
        (true, Lang::En) => "yes",
        (false, Lang::En) => "no",
    };
    let parts: Vec<String> = match group {
        Group::Work(id) => return last.employment.get(id).map(|j| job_summary(j, lang)).unwrap_or_default(),
        Group::Income => last
            .income
            .items()
            .into_iter()
            .filter(|(c, a)| *c != IncomeComponent::Wage && a.is_some())
            .map(|(c, a)| format!("{} {}", c.label(lang), a.unwrap_or_default()))
            .collect(),
        Group::Guarantees => last
            .guarantees
            .items()
            .into_iter()
            .filter_map(|(g, a)| a.map(|a| format!("{} {}", g.label(lang), yes_no(a))))
            .collect(),
        Group::RisksAndHelp => last
            .risks
            .iter()
            .map(|r| r.label(lang).to_owned())
            .chain(last.help.iter().map(|(k, s)| format!("{}（{}）", k.label(lang), s.label(lang))))
            .collect(),
    };
    parts.join(" · ")
}
