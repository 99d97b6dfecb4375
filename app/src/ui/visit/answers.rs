//! Steps 家庭收入, 两不愁三保障 and 返贫风险/刚性支出/帮扶: the household's answers, each group
//! with last month's to confirm.

use leptos::prelude::*;
use shared::prefill::Group;
use shared::{Coded, Expense, Guarantee, HelpKind, HelpState, IncomeComponent, Problem, RiskSignal, Visit};

use super::carried;
use super::form::Form;
use crate::ui::fields::{amount, coded_select, problem, yes_no};

/// 家庭当月收入, by component; 工资性收入 is the workers' sum until typed.
pub fn income(form: Form, problems: Memo<Vec<Problem>>) -> impl IntoView {
    let (ui, lang, visit) = (form.ui, form.ui.lang, form.visit);
    let items = IncomeComponent::ALL
        .iter()
        .map(|c| {
            let c = *c;
            view! {
                <label>{move || c.label(lang.get())}
                    {amount(format!("income-{}", c.code()),
                        move || visit.with(|v| v.income.items().iter().find(|(x, _)| *x == c).and_then(|(_, a)| *a)),
                        move |a| {
                            if c == IncomeComponent::Wage {
                                // Typed wages stay; emptied, they follow the workers again
                                // from their next change (not at once: the cadre is typing).
                                form.wage_typed.set(a.is_some());
                            } else {
                                form.touch(Group::Income);
                            }
                            form.mark(&format!("i/{}", c.code()));
                            visit.update(|v| *v.income.slot(c) = a)
                        })}
                </label>
                {(c == IncomeComponent::Wage).then(|| view! {
                    <p class="hint" data-testid="wage-sum-hint">{move || if form.wage_typed.get() {
                        ui.t("已手动填写", "Typed by hand")
                    } else {
                        ui.t("= 各劳动力月收入之和（可修改）", "= the workers' monthly incomes added up (you may change it)")
                    }}</p>
                })}
                {problem(problems, lang, form.at(&format!("i/{}", c.code())))}
            }
        })
        .collect_view();
    view! {
        {carried::same(form, Group::Income, "same-income".into())}
        {items}
    }
}

/// 两不愁三保障 and safe water, 是/否 each.
pub fn guarantees(form: Form) -> impl IntoView {
    let (lang, visit) = (form.ui.lang, form.visit);
    let items = Guarantee::ALL
        .iter()
        .map(|g| {
            let g = *g;
            view! {
                <label class="inline">{move || g.label(lang.get())}
                    {yes_no(lang, format!("g-{}", g.code()),
                        move || visit.with(|v| v.guarantees.items().iter().find(|(x, _)| *x == g).and_then(|(_, a)| *a)),
                        move |a| {
                            form.touch(Group::Guarantees);
                            visit.update(|v| *v.guarantees.slot(g) = a)
                        })}
                </label>
            }
        })
        .collect_view();
    view! {
        {carried::same(form, Group::Guarantees, "same-guarantees".into())}
        {items}
    }
}

/// Risk signals and their note, help needed or given and its note.
pub fn risks(form: Form, problems: Memo<Vec<Problem>>) -> impl IntoView {
    let (ui, lang, visit) = (form.ui, form.ui.lang, form.visit);
    let risks = RiskSignal::ALL
        .iter()
        .map(|r| {
            let r = *r;
            view! {
                <label class="check">
                    <input type="checkbox" data-testid=format!("risk-{}", r.code()) prop:checked=move || visit.with(|v| v.risks.contains(&r))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            form.touch(Group::RisksAndHelp);
                            visit.update(|v| { if on { v.risks.insert(r); } else { v.risks.remove(&r); } })
                        } />
                    {move || r.label(lang.get())}
                </label>
            }
        })
        .collect_view();
    // This month's bills: never carried from last month, so not part of the group.
    let expenses = Expense::ALL
        .iter()
        .map(|x| {
            let x = *x;
            view! {
                <label>{move || x.label(lang.get())}
                    {amount(format!("expense-{}", x.code()),
                        move || visit.with(|v| v.expenses.get(&x).copied()),
                        move |a| {
                            form.mark(&format!("x/{}", x.code()));
                            visit.update(|v| match a { Some(a) => { v.expenses.insert(x, a); } None => { v.expenses.remove(&x); } })
                        })}
                </label>
                {problem(problems, lang, form.at(&format!("x/{}", x.code())))}
            }
        })
        .collect_view();
    let help = HelpKind::ALL
        .iter()
        .map(|k| {
            let k = *k;
            view! {
                <label>{move || k.label(lang.get())}
                    {coded_select(lang, format!("help-{}", k.code()),
                        move || visit.with(|v| v.help.get(&k).copied()),
                        move |s: Option<HelpState>| {
                            form.touch(Group::RisksAndHelp);
                            visit.update(|v| match s { Some(s) => { v.help.insert(k, s); } None => { v.help.remove(&k); } })
                        })}
                </label>
            }
        })
        .collect_view();
    view! {
        {carried::same(form, Group::RisksAndHelp, "same-risks".into())}
        <div class="checks">{risks}</div>
        <Show when=move || form.may_raise && visit.with(|v| !v.risks.is_empty())>
            <label class="check raise-clue">
                <input type="checkbox" data-testid="raise-clue" prop:checked=move || form.raise_clue.get()
                    on:change=move |ev| form.raise_clue.set(event_target_checked(&ev)) />
                {move || ui.t("保存时上报为风险线索（由督导研判是否纳入监测）", "Report as a risk clue when saving (a supervisor decides on monitoring)")}
            </label>
        </Show>
        <label>{move || ui.t("风险说明", "About the risk")}{note(form, |v| v.risk_note.clone(), |v, s| v.risk_note = s, "risk-note", "risk_note")}</label>
        {problem(problems, lang, form.at("risk_note"))}
        <h3>{move || ui.t("本月刚性支出（元，没有不填）", "Large unavoidable expenses this month (yuan; leave empty if none)")}</h3>
        {expenses}
        <h3>{move || ui.t("帮扶措施", "Help needed or given")}</h3>
        {help}
        <label>{move || ui.t("帮扶说明", "About the help")}{note(form, |v| v.help_note.clone(), |v, s| v.help_note = s, "help-note", "help_note")}</label>
    }
}

/// A free note of the visit.
pub fn note(
    form: Form,
    get: fn(&Visit) -> String,
    set: fn(&mut Visit, String),
    testid: &'static str,
    path: &'static str,
) -> impl IntoView {
    let visit = form.visit;
    view! {
        <textarea data-testid=testid prop:value=move || visit.with(get)
            on:input=move |ev| {
                let s = event_target_value(&ev);
                form.mark(path);
                visit.update(|v| set(v, s))
            }></textarea>
    }
}
