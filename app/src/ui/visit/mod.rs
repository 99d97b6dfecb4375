//! 走访记录: the visit of one period, one group per screen for a thumb on a 360-pixel
//! screen, in the order a visit happens ([`Step`]): how and when → each labour-force
//! member's work → income → 两不愁三保障 → risks and help → notes and review. Each step
//! has its own address (`route`), so the back button goes back one step. The last step
//! also offers the evidence the county allows (`evidence`), none of it required.
//!
//! A new visit starts from the last one (`shared::prefill`): each group of answers is
//! shown as it was, and written into this month's visit only when the cadre taps
//! 与上月相同 (or changes it); 工资性收入 follows the workers' incomes until typed.
//! Everything entered is a draft on the phone (`drafts`) until 保存走访, which is one
//! Automerge commit written to IndexedDB with the draft's removal.

mod answers;
mod carried;
pub mod evidence;
mod form;
mod step;
mod work;

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use shared::prefill::{self, Group};
use shared::{Coded, Lang, ReviewAction, ReviewStatus, Severity, VisitMode};
use wasm_bindgen::JsCast;

pub use step::Step;

use self::form::Form;
use crate::drafts::{self, Draft};
use crate::route;
use crate::state::{self, Page, Ui};
use crate::ui::fields::problem;

/// The visit form, once the phone's documents and drafts are read (after a reload
/// mid-visit, they are read before the form is built from them).
#[component]
pub fn VisitForm(ui: Ui, id: String, period: String) -> impl IntoView {
    view! {
        <Show when=move || ui.loaded.get() fallback=move || view! { <p class="hint">{move || ui.t("正在读取本机记录…", "Reading this phone's records…")}</p> }>
            {steps(ui, id.clone(), period.clone())}
        </Show>
    }
}

fn steps(ui: Ui, id: String, period: String) -> impl IntoView {
    let stored = state::with(|d| d.replica.docs.get(&id).and_then(|doc| doc.household().ok())).unwrap_or_default();
    let base = stored.visits.get(&period).cloned().unwrap_or_default();
    let as_of = period.parse::<shared::Period>().map(|p| p.last_day()).unwrap_or_else(|_| state::today());
    let draft = drafts::get(ui, &id, &period);
    let had_draft = StoredValue::new(draft.is_some());
    // A draft goes on from where it was; otherwise the stored visit, with the cadre as
    // visitor and today as the date of this month's visit.
    let (base, opened) = match &draft {
        Some(d) => (d.base.clone(), d.visit.clone()),
        None => {
            let mut v = base.clone();
            if let Some(s) = ui.session.get_untracked() {
                v.visitors.entry(s.user.id.clone()).or_insert(s.user.name.clone());
            }
            if v.date.is_none() && state::current_period().to_string() == period {
                v.date = Some(state::today());
            }
            (base, v)
        }
    };
    // Only a visit not begun yet starts from the last one.
    let carried = base.mode.is_none().then(|| prefill::carried(&stored, &period, as_of)).flatten();
    let wage_typed = draft.as_ref().map_or_else(
        || opened.income.wage.is_some() && opened.income.wage != prefill::wage_sum(&opened.employment),
        |d| d.wage_typed,
    );
    let returned = (base.review_status() == Some(ReviewStatus::Returned))
        .then(|| base.review_thread().into_iter().rev().find(|(_, r)| r.action == Some(ReviewAction::Return)))
        .flatten()
        .map(|(_, r)| r.clone());
    let resubmit = returned.is_some();
    let reply = RwSignal::new(draft.as_ref().map(|d| d.reply.clone()).unwrap_or_default());
    let snapshot = StoredValue::new(stored.clone());
    let key = StoredValue::new(period.clone());
    let visit = RwSignal::new(opened.clone());
    let all = Memo::new(move |_| {
        let mut h = snapshot.get_value();
        h.visits.insert(key.get_value(), visit.get());
        let prefix = format!("v/{}/", key.get_value());
        shared::validate(&h, state::today()).into_iter().filter(|p| p.path.starts_with(&prefix)).collect::<Vec<_>>()
    });
    let form = Form {
        ui,
        period: key,
        visit,
        carried: StoredValue::new(carried),
        confirmed: RwSignal::new(draft.as_ref().map(|d| d.confirmed.clone()).unwrap_or_default()),
        touched: RwSignal::new(draft.as_ref().map(|d| d.touched.clone()).unwrap_or_default()),
        wage_typed: RwSignal::new(wage_typed),
        seen: RwSignal::new(BTreeSet::new()),
        tried: RwSignal::new(BTreeSet::new()),
        all,
        raise_clue: RwSignal::new(false),
        may_raise: stored.case.may(shared::CaseAct::Clue).is_ok(),
        preparing: RwSignal::new(false),
    };
    let problems = Memo::new(move |_| form.shown());
    let lang = ui.lang;
    let labour: Vec<(String, String)> = stored
        .members
        .iter()
        .filter(|(_, m)| m.is_labour_force(as_of))
        .map(|(mid, m)| (mid.clone(), m.name.clone()))
        .collect();
    let has_labour = !labour.is_empty();
    let names: BTreeMap<String, String> = stored.members.iter().map(|(mid, m)| (mid.clone(), m.name.clone())).collect();
    let hid = StoredValue::new(id.clone());
    let step = Memo::new(move |_| match ui.page.get() {
        Page::Visit(_, _, s) => s,
        _ => Step::Start,
    });
    let steps = Memo::new(move |_| Step::of(visit.with(|v| v.mode), has_labour));
    let go = move |s: Step| ui.page.set(Page::Visit(hid.get_value(), key.get_value(), s));
    let neighbour = move |forward: bool| {
        let (list, now) = (steps.get_untracked(), step.get_untracked());
        if forward { list.into_iter().find(|s| *s > now) } else { list.into_iter().rev().find(|s| *s < now) }
    };

    // The draft: kept at every change once the cadre has changed anything.
    let saved = StoredValue::new(false);
    let draft_base = StoredValue::new(base);
    Effect::new(move |first: Option<()>| {
        let d = Draft {
            base: draft_base.get_value(),
            visit: visit.get(),
            confirmed: form.confirmed.get(),
            touched: form.touched.get(),
            wage_typed: form.wage_typed.get(),
            reply: reply.get(),
            step: step.get(),
            at: state::now(),
        };
        if first.is_none() || saved.get_value() {
            return;
        }
        let changed = d.visit != opened || !d.confirmed.is_empty() || !d.touched.is_empty() || !d.reply.is_empty();
        if had_draft.get_value() || changed {
            had_draft.set_value(true);
            drafts::keep(ui, &hid.get_value(), &key.get_value(), d);
        }
    });

    // 保存 or 下一步 with errors: to the first one, outlined, and how many remain.
    let show_errors = move |errors: Vec<shared::Problem>| {
        let Some(first) = errors.first() else { return };
        let target = form.step_of(&first.path);
        let n = errors.len();
        let text = match lang.get_untracked() {
            Lang::Zh => format!("还有 {n} 处需要改正"),
            Lang::En => format!("{n} items still need fixing"),
        };
        if target == step.get_untracked() {
            ui.say(text);
        } else {
            go(target);
            ui.say_next(text);
        }
        flag_first_error();
    };
    let next = move |_| {
        let now = step.get_untracked();
        form.tried.update(|t| {
            t.insert(now);
        });
        let errors = form.errors(Some(now));
        if !errors.is_empty() {
            show_errors(errors);
        } else if let Some(s) = neighbour(true) {
            go(s);
        }
    };
    let prev = move |_| {
        if let Some(s) = neighbour(false) {
            route::back_to(ui, Page::Visit(hid.get_value(), key.get_value(), s));
        }
    };
    let saving = RwSignal::new(false);
    let submit = move |_| {
        if form.preparing.get_untracked() {
            ui.say(ui.t("照片正在处理，请稍候再保存", "A photo is being prepared; save when it is done"));
            return;
        }
        form.tried.set(Step::ALL.into_iter().collect());
        let errors = form.errors(None);
        if !errors.is_empty() {
            show_errors(errors);
            return;
        }
        saving.set(true);
        saved.set_value(true);
        leptos::task::spawn_local(async move {
            // Today's document, with the visit as it was when the form was opened: the
            // commit holds only what the cadre changed (edits synced meanwhile stay).
            let id = hid.get_value();
            let mut before =
                state::with(|d| d.replica.docs.get(&id).and_then(|doc| doc.household().ok())).unwrap_or_default();
            before.visits.insert(key.get_value(), draft_base.get_value());
            let mut after = before.clone();
            let mut v = visit.get_untracked();
            if resubmit && let Some(s) = ui.session.get_untracked() {
                // Saving a returned visit sends it back for review, with the reply.
                v.add_review(
                    ReviewAction::Resubmit,
                    &s.user.id,
                    &s.user.name,
                    state::now(),
                    reply.get_untracked().trim(),
                );
            }
            if form.raise_clue.get_untracked()
                && !v.risks.is_empty()
                && after.case.may(shared::CaseAct::Clue).is_ok()
                && let Some(s) = ui.session.get_untracked()
            {
                // One tap from the risk signals: the clue goes with the visit, in its commit.
                let lang = ui.lang.get_untracked();
                let risks = v.risks.iter().map(|r| r.label(lang)).collect::<Vec<_>>().join("、");
                let text =
                    if v.risk_note.trim().is_empty() { risks } else { format!("{risks}：{}", v.risk_note.trim()) };
                let at = state::now();
                let clue = shared::CaseStep {
                    act: Some(shared::CaseAct::Clue),
                    by: s.user.id.clone(),
                    name: s.user.name.clone(),
                    on: Some(shared::Date::in_china(at)),
                    text,
                    source: Some(shared::ClueSource::Visit),
                    kind: None,
                };
                after.case.record(clue, at);
            }
            after.visits.insert(key.get_value(), v);
            let span = crate::perf::start("hhj:save-visit");
            let result = crate::data::save_visit(ui, &id, &key.get_value(), &before, &after).await;
            span.end();
            match result {
                Ok(()) => {
                    route::back_to(ui, Page::Household(id));
                    ui.say_next(ui.t("已保存到本机，联网后自动同步", "Saved on this phone; it will sync when online"));
                }
                Err(e) => {
                    saved.set_value(false);
                    ui.say(format!("{}：{e}", ui.t("保存失败", "Not saved")));
                }
            }
            saving.set(false);
        });
    };

    let progress = move || {
        let now = step.get();
        let errors: BTreeSet<Step> =
            problems.get().iter().filter(|p| p.severity == Severity::Error).map(|p| form.step_of(&p.path)).collect();
        steps
            .get()
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let bad = errors.contains(&s);
                view! {
                    <button type="button" class="step" class:on=now == s class:bad=bad data-testid=format!("step-{}", s.code())
                        aria-current=(now == s).then_some("step") on:click=move |_| if s != now { go(s) }>
                        {move || format!("{} {}", i + 1, s.label(lang.get()))}
                    </button>
                }
            })
            .collect_view()
    };
    let title = move || {
        let list = steps.get();
        let n = list.iter().position(|s| *s == step.get()).map_or(0, |i| i + 1);
        match lang.get() {
            Lang::Zh => format!("{} 走访 · 第{n}/{}步", key.get_value(), list.len()),
            Lang::En => format!("Visit {} · step {n} of {}", key.get_value(), list.len()),
        }
    };
    let start = start_step(form, returned, reply, problems, move || submit(()), saving);
    let work = work::step(form, labour, problems);
    let income = answers::income(form, problems);
    let guarantees = answers::guarantees(form);
    let risks = answers::risks(form, problems);
    let review = review_step(form, resubmit, names, draft_base.get_value());
    let section = move |s: Step, heading: (&'static str, &'static str), body: AnyView| {
        view! {
            <div class="step-body" data-testid=format!("visit-step-{}", s.code()) class:hidden=move || step.get() != s>
                <h3>{move || ui.t(heading.0, heading.1)}</h3>
                {body}
            </div>
        }
    };
    view! {
        <section class="visit">
            <div class="visit-top">
                <button class="back" on:click=move |_| route::back_to(ui, Page::Household(hid.get_value()))>{move || ui.t("‹ 返回", "‹ Back")}</button>
                <h2 data-testid="visit-title">{title}</h2>
            </div>
            <nav class="steps" data-testid="visit-steps">{progress}</nav>
            {section(Step::Start, ("走访方式和日期", "How and when"), start.into_any())}
            {section(Step::Work, ("劳动力就业", "Work of each labour-force member"), work.into_any())}
            {section(Step::Income, ("家庭当月收入（元）", "Household income this month (yuan)"), income.into_any())}
            {section(Step::Guarantees, ("两不愁三保障及饮水安全", "Two no-worries, three guarantees, safe water"), guarantees.into_any())}
            {section(Step::Risks, ("返贫风险", "Risks of falling back"), risks.into_any())}
            {section(Step::Review, ("备注和核对", "Notes and review"), review.into_any())}
            <div class="step-nav">
                <Show when=move || neighbour_of(&steps.get(), step.get(), false).is_some()>
                    <button type="button" data-testid="step-prev" on:click=prev>{move || ui.t("‹ 上一步", "‹ Back a step")}</button>
                </Show>
                <Show when=move || neighbour_of(&steps.get(), step.get(), true).is_some()
                    fallback=move || view! {
                        <button class="primary" data-testid="save-visit" on:click=move |_| submit(()) disabled=move || saving.get()>
                            {move || ui.t("保存走访", "Save visit")}
                        </button>
                    }>
                    <button type="button" class="primary" data-testid="step-next" on:click=next>{move || ui.t("下一步 ›", "Next ›")}</button>
                </Show>
            </div>
        </section>
    }
}

/// The step before or after `now` among `steps`.
fn neighbour_of(steps: &[Step], now: Step, forward: bool) -> Option<Step> {
    if forward { steps.iter().copied().find(|s| *s > now) } else { steps.iter().copied().rev().find(|s| *s < now) }
}

/// After the step with the first error is drawn: scrolls to the error, outlines its
/// field and puts the cursor in it.
fn flag_first_error() {
    leptos::task::spawn_local(async {
        gloo_timers::future::TimeoutFuture::new(60).await;
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
        if let Ok(list) = doc.query_selector_all(".flagged") {
            for i in 0..list.length() {
                if let Some(el) = list.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) {
                    let _ = el.class_list().remove_1("flagged");
                }
            }
        }
        let Ok(Some(error)) = doc.query_selector(".step-body:not(.hidden) [data-testid=problem].error") else { return };
        let field = error.previous_element_sibling().unwrap_or_else(|| error.clone());
        let _ = field.class_list().add_1("flagged");
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Center);
        field.scroll_into_view_with_scroll_into_view_options(&options);
        if let Ok(Some(input)) = field.query_selector("select, input, textarea")
            && let Ok(input) = input.dyn_into::<web_sys::HtmlElement>()
        {
            let _ = input.focus();
        }
    });
}

/// Step 1: the supervisor's reason when the visit was returned, how and when, and last
/// month's answers to confirm at once (and save from here when nothing changed).
fn start_step(
    form: Form,
    returned: Option<shared::Review>,
    reply: RwSignal<String>,
    problems: Memo<Vec<shared::Problem>>,
    submit: impl Fn() + Copy + Send + Sync + 'static,
    saving: RwSignal<bool>,
) -> impl IntoView {
    let (ui, lang, visit) = (form.ui, form.ui.lang, form.visit);
    let modes = VisitMode::ALL
        .iter()
        .map(|m| {
            let m = *m;
            view! {
                <button type="button" class="mode" data-testid=format!("mode-{}", m.code())
                    class:on=move || visit.with(|v| v.mode == Some(m))
                    on:click=move |_| {
                        form.mark("mode");
                        if m == VisitMode::NotMet { form.clear_answers(); }
                        visit.update(|v| {
                            v.mode = Some(m);
                            if m != VisitMode::NotMet { v.absent_reason = None; }
                        })
                    }>
                    {move || m.label(lang.get())}
                </button>
            }
        })
        .collect_view();
    let banner = form.carried.with_value(|c| {
        c.as_ref().map(|c| {
            let (from, n) = (c.from.clone(), c.groups().len());
            view! {
                <Show when=move || visit.with(|v| v.mode != Some(VisitMode::NotMet))>
                    <div class="carried-all" data-testid="carried-banner">
                        <p>{let from = from.clone(); move || match lang.get() {
                            Lang::Zh => format!("已带入 {from} 走访的 {n} 项情况，核对后点“与上月相同”确认；未确认的不会保存。"),
                            Lang::En => format!("{n} groups of answers from the {from} visit are shown; tap \"Same as last month\" for what has not changed. Nothing unconfirmed is saved."),
                        }}</p>
                        <Show when=move || form.all_handled() fallback=move || view! {
                            <button type="button" class="same" data-testid="same-all" on:click=move |_| form.confirm_all()>
                                {move || ui.t("全部与上月相同", "All the same as last month")}
                            </button>
                        }>
                            <p class="confirmed">{move || ui.t("✓ 全部已确认或已修改", "✓ All confirmed or changed")}</p>
                            // Nothing else to do when nothing changed: save from here.
                            <button class="primary" data-testid="save-visit-top" on:click=move |_| submit() disabled=move || saving.get()>
                                {move || ui.t("保存走访", "Save visit")}
                            </button>
                        </Show>
                    </div>
                </Show>
            }
        })
    });
    view! {
        {returned.map(|r| view! {
            <div class="returned" data-testid="returned-banner">
                <p><strong>{move || ui.t("督导退回修改：", "Returned for correction: ")}</strong>{r.comment.clone()}</p>
                <p class="hint">{format!("{} · {}", r.name, crate::ui::clock(r.at))}</p>
                <label>{move || ui.t("修改说明（可选）", "What you corrected (optional)")}
                    <textarea data-testid="resubmit-reply" prop:value=move || reply.get()
                        on:input=move |ev| reply.set(event_target_value(&ev))></textarea>
                </label>
                <p class="hint">{move || ui.t("保存后将重新提交审核。", "Saving sends it back for review.")}</p>
            </div>
        })}
        <p class="required-note">{move || ui.t("走访方式", "How")}</p>
        <div class="modes">{modes}</div>
        {problem(problems, lang, form.at("mode"))}
        <Show when=move || visit.with(|v| v.mode == Some(VisitMode::NotMet))>
            <p class="hint" data-testid="not-met-hint">{move || ui.t("未遇：只记录原因、日期和备注，不记录就业和收入情况。", "Not met: only why, the date and a note are recorded, no work or income.")}</p>
            <p class="required-note">{move || ui.t("未遇原因", "Why not met")}</p>
            <div class="modes">{absent_reasons(form)}</div>
            {problem(problems, lang, form.at("absent"))}
        </Show>
        <Show when=move || visit.with(|v| v.mode == Some(VisitMode::Video))>
            <p class="hint" data-testid="video-hint">{move || ui.t("视频走访记入本月情况，但不计入户户见（入户）覆盖率。", "A video call records the month but does not count as an in-person visit (户户见).")}</p>
        </Show>
        {banner}
        <label>{move || ui.t("走访日期", "Date")}
            <input type="date" data-testid="visit-date"
                prop:value=move || visit.with(|v| v.date.map(|d| d.to_string()).unwrap_or_default())
                on:input=move |ev| {
                    let d = event_target_value(&ev).parse().ok();
                    form.mark("date");
                    visit.update(|v| v.date = d)
                } />
        </label>
        {problem(problems, lang, form.at("date"))}
    }
}

/// 未遇原因: one tap each.
fn absent_reasons(form: Form) -> impl IntoView {
    let (lang, visit) = (form.ui.lang, form.visit);
    shared::AbsentReason::ALL
        .iter()
        .map(|r| {
            let r = *r;
            view! {
                <button type="button" class="mode" data-testid=format!("absent-{}", r.code())
                    class:on=move || visit.with(|v| v.absent_reason == Some(r))
                    on:click=move |_| {
                        form.mark("absent");
                        visit.update(|v| v.absent_reason = Some(r))
                    }>
                    {move || r.label(lang.get())}
                </button>
            }
        })
        .collect_view()
}

/// The last step: the note, what will be saved (each group: confirmed, changed, or
/// last month's and not saved), and 保存走访 below.
fn review_step(form: Form, resubmit: bool, names: BTreeMap<String, String>, base: shared::Visit) -> impl IntoView {
    let (ui, lang, visit) = (form.ui, form.ui.lang, form.visit);
    let groups = move || {
        let list = form.carried.with_value(|c| c.as_ref().map(|c| c.groups()).unwrap_or_default());
        let not_met = visit.with(|v| v.mode == Some(VisitMode::NotMet));
        (!not_met).then(|| {
            list.into_iter()
                .map(|g| {
                    let name = group_name(&g, &names, lang.get());
                    let state = if form.confirmed.with(|s| s.contains(&g)) {
                        ("✓ 与上月相同", "✓ Same as last month", "confirmed")
                    } else if form.touched.with(|s| s.contains(&g)) {
                        ("已修改", "Changed", "hint")
                    } else {
                        ("未确认，不保存", "Not confirmed: not saved", "warning")
                    };
                    view! {
                        <li data-testid="review-group"><span>{name}</span>" "<span class=state.2>{move || ui.t(state.0, state.1)}</span></li>
                    }
                })
                .collect_view()
        })
    };
    let errors = move || {
        let n = form.all.get().iter().filter(|p| p.severity == Severity::Error).count();
        (n > 0).then(|| {
            view! {
                <p class="error" data-testid="review-errors">{move || match lang.get() {
                    Lang::Zh => format!("还有 {n} 处需要改正，保存时会带你过去"),
                    Lang::En => format!("{n} items need fixing; saving takes you there"),
                }}</p>
            }
        })
    };
    view! {
        <label>{move || ui.t("备注", "Notes")}{answers::note(form, |v| v.note.clone(), |v, s| v.note = s, "note", "note")}</label>
        <ul class="review-groups">{groups}</ul>
        {evidence::section(form, base)}
        {errors}
        {resubmit.then(|| view! { <p class="hint">{move || ui.t("保存后将重新提交审核。", "Saving sends it back for review.")}</p> })}
    }
}

/// A group's name on the review step; `names` are the members' names by id.
fn group_name(group: &Group, names: &BTreeMap<String, String>, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    match group {
        Group::Work(mid) => {
            let who = names.get(mid).unwrap_or(mid);
            if zh { format!("{who} 的就业") } else { format!("{who}'s work") }
        }
        Group::Income => (if zh { "家庭收入" } else { "Income" }).into(),
        Group::Guarantees => (if zh { "两不愁三保障" } else { "Guarantees" }).into(),
        Group::RisksAndHelp => (if zh { "风险和帮扶" } else { "Risks and help" }).into(),
    }
}
