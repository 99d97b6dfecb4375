//! 走访记录: the visit form of one period, for a thumb on a 360-pixel screen. Every
//! labour-force member's employment, income, 两不愁三保障, risks, help, notes; inline
//! messages from `shared::validate`; saving is one Automerge commit written to
//! IndexedDB before the app says it is saved.

use leptos::prelude::*;
use shared::{
    Channel, Coded, EmploymentStatus, Guarantee, HelpKind, HelpState, IncomeComponent, PlaceScope, ReviewAction,
    ReviewStatus, RiskSignal, Severity, Visit, VisitMode,
};

use crate::data::edit as save;
use crate::state::{self, Page, Ui};
use crate::ui::fields::{amount, coded_select, problem, text, yes_no};

/// The visit form.
#[component]
pub fn VisitForm(ui: Ui, id: String, period: String) -> impl IntoView {
    let before = state::with(|d| d.replica.docs.get(&id).and_then(|doc| doc.household().ok())).unwrap_or_default();
    let mut initial = before.visits.get(&period).cloned().unwrap_or_default();
    if let Some(s) = ui.session.get_untracked() {
        initial.visitors.entry(s.user.id.clone()).or_insert(s.user.name.clone());
    }
    if initial.date.is_none() && state::current_period().to_string() == period {
        initial.date = Some(state::today());
    }
    let returned = (initial.review_status() == Some(ReviewStatus::Returned))
        .then(|| initial.review_thread().into_iter().rev().find(|(_, r)| r.action == Some(ReviewAction::Return)))
        .flatten()
        .map(|(_, r)| r.clone());
    let resubmit = returned.is_some();
    let reply = RwSignal::new(String::new());
    let form = RwSignal::new(initial);
    let lang = ui.lang;
    let snapshot = StoredValue::new(before.clone());
    let key = StoredValue::new(period.clone());
    let problems = Memo::new(move |_| {
        let mut h = snapshot.get_value();
        h.visits.insert(key.get_value(), form.get());
        let prefix = format!("v/{}", key.get_value());
        shared::validate(&h, state::today()).into_iter().filter(|p| p.path.starts_with(&prefix)).collect::<Vec<_>>()
    });
    let at = move |suffix: &str| format!("v/{}/{suffix}", key.get_value());
    let as_of = period.parse::<shared::Period>().map(|p| p.last_day()).unwrap_or_else(|_| state::today());
    let labour: Vec<(String, String)> = before
        .members
        .iter()
        .filter(|(_, m)| m.is_labour_force(as_of))
        .map(|(mid, m)| (mid.clone(), m.name.clone()))
        .collect();
    let saving = RwSignal::new(false);
    let blocked = RwSignal::new(false);
    let hid = StoredValue::new(id.clone());
    let submit = move |_| {
        if problems.get_untracked().iter().any(|p| p.severity == Severity::Error) {
            blocked.set(true);
            return;
        }
        blocked.set(false);
        saving.set(true);
        leptos::task::spawn_local(async move {
            let before = snapshot.get_value();
            let mut after = before.clone();
            let mut visit = form.get_untracked();
            if resubmit && let Some(s) = ui.session.get_untracked() {
                // Saving a returned visit sends it back for review, with the reply.
                visit.add_review(
                    ReviewAction::Resubmit,
                    &s.user.id,
                    &s.user.name,
                    state::now(),
                    reply.get_untracked().trim(),
                );
            }
            after.visits.insert(key.get_value(), visit);
            let span = crate::perf::start("hhj:save-visit");
            let saved = save(ui, &hid.get_value(), &before, &after).await;
            span.end();
            match saved {
                Ok(()) => {
                    ui.say(ui.t("已保存到本机，联网后自动同步", "Saved on this phone; it will sync when online"));
                    ui.page.set(Page::Household(hid.get_value()));
                }
                Err(e) => ui.say(format!("{}：{e}", ui.t("保存失败", "Not saved"))),
            }
            saving.set(false);
        });
    };

    let modes = VisitMode::ALL
        .iter()
        .map(|m| {
            let m = *m;
            view! {
                <button type="button" class="mode" data-testid=format!("mode-{}", m.code())
                    class:on=move || form.with(|v| v.mode == Some(m))
                    on:click=move |_| form.update(|v| v.mode = Some(m))>
                    {move || m.label(lang.get())}
                </button>
            }
        })
        .collect_view();

    let employment = labour
        .into_iter()
        .map(|(mid, name)| {
            let m = StoredValue::new(mid.clone());
            let get = move |f: fn(&shared::Employment) -> Option<EmploymentStatus>| {
                move || form.with(|v| m.with_value(|id| v.employment.get(id).and_then(f)))
            };
            let edit = move |f: Box<dyn FnOnce(&mut shared::Employment)>| {
                form.update(|v| m.with_value(|id| f(v.employment.entry(id.clone()).or_default())))
            };
            let employed = move || form.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.status)) == Some(EmploymentStatus::Employed));
            let path = |f: &str| format!("e/{mid}/{f}");
            view! {
                <fieldset class="member-job" data-testid=format!("job-{mid}")>
                    <legend>{name}</legend>
                    <label>{move || ui.t("就业状态", "Employment status")}
                        {coded_select(lang, format!("status-{mid}"), get(|e| e.status), move |s| edit(Box::new(move |e| e.status = s)))}
                    </label>
                    {problem(problems, lang, at(&path("status")))}
                    <Show when=employed>
                        <label>{move || ui.t("就业渠道", "Channel")}
                            {coded_select(lang, format!("channel-{}", m.get_value()),
                                move || form.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.channel))),
                                move |c: Option<Channel>| edit(Box::new(move |e| {
                                    e.channel = c;
                                    if let Some(scope) = c.and_then(Channel::implied_scope) { e.place_scope = Some(scope); }
                                })))}
                        </label>
                        {problem(problems, lang, at(&format!("e/{}/channel", m.get_value())))}
                        <label>{move || ui.t("务工地点范围", "Where")}
                            {coded_select(lang, format!("scope-{}", m.get_value()),
                                move || form.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.place_scope))),
                                move |s: Option<PlaceScope>| edit(Box::new(move |e| e.place_scope = s)))}
                        </label>
                        {problem(problems, lang, at(&format!("e/{}/scope", m.get_value())))}
                        <label>{move || ui.t("务工地点", "Place")}
                            {text(format!("place-{}", m.get_value()),
                                move || form.with(|v| m.with_value(|id| v.employment.get(id).map(|e| e.place.clone()).unwrap_or_default())),
                                move |s| edit(Box::new(move |e| e.place = s)))}
                        </label>
                        <label>{move || ui.t("行业", "Industry")}
                            {text(format!("industry-{}", m.get_value()),
                                move || form.with(|v| m.with_value(|id| v.employment.get(id).map(|e| e.industry.clone()).unwrap_or_default())),
                                move |s| edit(Box::new(move |e| e.industry = s)))}
                        </label>
                        <label>{move || ui.t("用工单位", "Employer")}
                            {text(format!("employer-{}", m.get_value()),
                                move || form.with(|v| m.with_value(|id| v.employment.get(id).map(|e| e.employer.clone()).unwrap_or_default())),
                                move |s| edit(Box::new(move |e| e.employer = s)))}
                        </label>
                        <label>{move || ui.t("月收入（元）", "Monthly income (yuan)")}
                            {amount(format!("income-{}", m.get_value()),
                                move || form.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.monthly_income))),
                                move |a| edit(Box::new(move |e| e.monthly_income = a)))}
                        </label>
                        {problem(problems, lang, at(&format!("e/{}/income", m.get_value())))}
                    </Show>
                    <label>{move || ui.t("本月返乡", "Returned home this month")}
                        {yes_no(lang, format!("returned-{mid}"),
                            move || form.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.returned))),
                            move |b| edit(Box::new(move |e| e.returned = b)))}
                    </label>
                    <label>{move || ui.t("有培训意愿", "Wants training")}
                        {yes_no(lang, format!("training-{mid}"),
                            move || form.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.wants_training))),
                            move |b| edit(Box::new(move |e| e.wants_training = b)))}
                    </label>
                    <Show when=move || form.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.wants_training)) == Some(true))>
                        <label>{move || ui.t("想参加的培训", "Training wanted")}
                            {text(format!("training-wish-{}", m.get_value()),
                                move || form.with(|v| m.with_value(|id| v.employment.get(id).map(|e| e.training_wish.clone()).unwrap_or_default())),
                                move |s| edit(Box::new(move |e| e.training_wish = s)))}
                        </label>
                    </Show>
                </fieldset>
            }
        })
        .collect_view();

    let income = IncomeComponent::ALL
        .iter()
        .map(|c| {
            let c = *c;
            view! {
                <label>{move || c.label(lang.get())}
                    {amount(format!("income-{}", c.code()),
                        move || form.with(|v| v.income.items().iter().find(|(x, _)| *x == c).and_then(|(_, a)| *a)),
                        move |a| form.update(|v| *v.income.slot(c) = a))}
                </label>
                {problem(problems, lang, at(&format!("i/{}", c.code())))}
            }
        })
        .collect_view();

    let guarantees = Guarantee::ALL
        .iter()
        .map(|g| {
            let g = *g;
            view! {
                <label class="inline">{move || g.label(lang.get())}
                    {yes_no(lang, format!("g-{}", g.code()),
                        move || form.with(|v| v.guarantees.items().iter().find(|(x, _)| *x == g).and_then(|(_, a)| *a)),
                        move |a| form.update(|v| *v.guarantees.slot(g) = a))}
                </label>
            }
        })
        .collect_view();

    let risks = RiskSignal::ALL
        .iter()
        .map(|r| {
            let r = *r;
            view! {
                <label class="check">
                    <input type="checkbox" prop:checked=move || form.with(|v| v.risks.contains(&r))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            form.update(|v| { if on { v.risks.insert(r); } else { v.risks.remove(&r); } })
                        } />
                    {move || r.label(lang.get())}
                </label>
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
                        move || form.with(|v| v.help.get(&k).copied()),
                        move |s: Option<HelpState>| form.update(|v| { match s { Some(s) => { v.help.insert(k, s); } None => { v.help.remove(&k); } } }))}
                </label>
            }
        })
        .collect_view();

    let note = move |get: fn(&Visit) -> String, set: fn(&mut Visit, String), testid: &'static str| {
        view! {
            <textarea data-testid=testid prop:value=move || form.with(get)
                on:input=move |ev| { let s = event_target_value(&ev); form.update(|v| set(v, s)) }></textarea>
        }
    };

    view! {
        <section class="visit">
            <button class="back" on:click=move |_| ui.page.set(Page::Household(hid.get_value()))>{move || ui.t("‹ 返回", "‹ Back")}</button>
            <h2>{move || format!("{} {}", ui.t("走访", "Visit"), key.get_value())}</h2>
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
            <h3>{move || ui.t("走访方式", "How")}</h3>
            <div class="modes">{modes}</div>
            {problem(problems, lang, at("mode"))}
            <label>{move || ui.t("走访日期", "Date")}
                <input type="date" data-testid="visit-date"
                    prop:value=move || form.with(|v| v.date.map(|d| d.to_string()).unwrap_or_default())
                    on:input=move |ev| { let d = event_target_value(&ev).parse().ok(); form.update(|v| v.date = d) } />
            </label>
            {problem(problems, lang, at("date"))}
            <h3>{move || ui.t("劳动力就业", "Work of each labour-force member")}</h3>
            {employment}
            <h3>{move || ui.t("家庭当月收入（元）", "Household income this month (yuan)")}</h3>
            {income}
            <h3>{move || ui.t("两不愁三保障及饮水安全", "Two no-worries, three guarantees, safe water")}</h3>
            {guarantees}
            <h3>{move || ui.t("返贫风险", "Risks of falling back")}</h3>
            <div class="checks">{risks}</div>
            <label>{move || ui.t("风险说明", "About the risk")}{note(|v| v.risk_note.clone(), |v, s| v.risk_note = s, "risk-note")}</label>
            {problem(problems, lang, at("risk_note"))}
            <h3>{move || ui.t("帮扶措施", "Help needed or given")}</h3>
            {help}
            <label>{move || ui.t("帮扶说明", "About the help")}{note(|v| v.help_note.clone(), |v, s| v.help_note = s, "help-note")}</label>
            <label>{move || ui.t("备注", "Notes")}{note(|v| v.note.clone(), |v, s| v.note = s, "note")}</label>
            {move || blocked.get().then(|| view! { <p class="error">{move || ui.t("请先改正标红的项目", "Fix the items marked in red first")}</p> })}
            <button class="primary save" data-testid="save-visit" on:click=submit disabled=move || saving.get()>
                {move || ui.t("保存走访", "Save visit")}
            </button>
        </section>
    }
}
