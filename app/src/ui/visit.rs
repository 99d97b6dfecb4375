//! 走访记录: the visit form of one period, for a thumb on a 360-pixel screen. Every
//! labour-force member's employment, income, 两不愁三保障, risks, help, notes; inline
//! messages from `shared::validate`; saving is one Automerge commit written to
//! IndexedDB before the app says it is saved. A new visit starts from the last one
//! (`shared::prefill`): each member's work and each group of answers is shown as it
//! was, and written into this month's visit only when the cadre taps 与上月相同 (or
//! changes it); 工资性收入 follows the workers' incomes until typed.

use std::collections::BTreeSet;

use leptos::prelude::*;
use shared::prefill::{self, Carried, Group};
use shared::{
    Channel, Coded, Employment, EmploymentStatus, Guarantee, HelpKind, HelpState, IncomeComponent, Lang, PlaceScope,
    ReviewAction, ReviewStatus, RiskSignal, Severity, Visit, VisitMode,
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
    let as_of = period.parse::<shared::Period>().map(|p| p.last_day()).unwrap_or_else(|_| state::today());
    // Only a visit not begun yet starts from the last one.
    let carried = initial.mode.is_none().then(|| prefill::carried(&before, &period, as_of)).flatten();
    let carried = StoredValue::new(carried);
    let confirmed = RwSignal::new(BTreeSet::<Group>::new());
    // Groups the cadre changed by hand: 全部与上月相同 leaves them as they are.
    let touched = RwSignal::new(BTreeSet::<Group>::new());
    let touch = move |group: Group| {
        touched.update(|s| {
            s.insert(group);
        })
    };
    // Wages saved earlier count as typed only when the workers' incomes do not make them.
    let wage_typed =
        RwSignal::new(initial.income.wage.is_some() && initial.income.wage != prefill::wage_sum(&initial.employment));
    let tried = RwSignal::new(false);
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
    // Errors show once the cadre has tried to save (an untouched form is not wrong);
    // warnings show all along, since they do not stop a save.
    let problems = Memo::new(move |_| {
        let all = problems.get();
        if tried.get() { all } else { all.into_iter().filter(|p| p.severity != Severity::Error).collect() }
    });
    let confirm = move |group: Group| {
        carried.with_value(|c| {
            if let Some(c) = c {
                form.update(|v| {
                    prefill::confirm(v, c, &group, wage_typed.get_untracked());
                    // Wages carried without workers to make them up stay as they are.
                    if v.income.wage.is_some() && v.income.wage != prefill::wage_sum(&v.employment) {
                        wage_typed.set(true);
                    }
                });
                confirmed.update(|s| {
                    s.insert(group);
                });
            }
        })
    };
    let confirm_all = move |_| {
        let groups = carried.with_value(|c| c.as_ref().map(Carried::groups).unwrap_or_default());
        let (done, changed) = (confirmed.get_untracked(), touched.get_untracked());
        for g in groups.into_iter().filter(|g| !done.contains(g) && !changed.contains(g)) {
            confirm(g);
        }
    };
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
        tried.set(true);
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
                    ui.say_next(ui.t("已保存到本机，联网后自动同步", "Saved on this phone; it will sync when online"));
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
            // Every edit of a member's work: a job field hidden by the status is cleared,
            // and wages follow the workers' incomes unless the cadre typed them.
            let edit = move |f: Box<dyn FnOnce(&mut shared::Employment)>| {
                m.with_value(|id| touch(Group::Work(id.clone())));
                form.update(|v| {
                    m.with_value(|id| {
                        let job = v.employment.entry(id.clone()).or_default();
                        f(job);
                        if job.status != Some(EmploymentStatus::Employed) {
                            job.drop_job_details();
                        }
                    });
                    if !wage_typed.get_untracked() {
                        v.income.wage = prefill::wage_sum(&v.employment);
                    }
                })
            };
            let group = Group::Work(mid.clone());
            let last = carried.with_value(|c| c.as_ref().and_then(|c| c.visit.employment.get(&mid).cloned()));
            let same = last.map(|job| {
                let from = carried.with_value(|c| c.as_ref().map(|c| c.from.clone()).unwrap_or_default());
                let g = group.clone();
                let done = move || confirmed.with(|s| s.contains(&g)) || touched.with(|s| s.contains(&g));
                let g = group.clone();
                view! {
                    <div class="carried" data-testid=format!("carried-{mid}")>
                        <p class="hint">{move || format!("{} {from}：{}", ui.t("上次走访", "Last visit"), job_summary(&job, lang.get()))}</p>
                        <Show when=done fallback=move || {
                            let g = g.clone();
                            view! {
                                <button type="button" class="same" data-testid=format!("same-{}", m.get_value())
                                    on:click=move |_| confirm(g.clone())>{move || ui.t("与上月相同", "Same as last month")}</button>
                            }
                        }>
                            {done_line(ui, confirmed, group.clone())}
                        </Show>
                    </div>
                }
            });
            let employed = move || form.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.status)) == Some(EmploymentStatus::Employed));
            let path = |f: &str| format!("e/{mid}/{f}");
            view! {
                <fieldset class="member-job" data-testid=format!("job-{mid}")>
                    <legend>{name}</legend>
                    {same}
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
                        move |a| {
                            if c == IncomeComponent::Wage {
                                // Typed wages stay; emptied, they follow the workers again
                                // from their next change (not at once: the cadre is typing).
                                wage_typed.set(a.is_some());
                            } else {
                                touch(Group::Income);
                            }
                            form.update(|v| *v.income.slot(c) = a)
                        })}
                </label>
                {(c == IncomeComponent::Wage).then(|| view! {
                    <p class="hint" data-testid="wage-sum-hint">{move || if wage_typed.get() {
                        ui.t("已手动填写", "Typed by hand").to_owned()
                    } else {
                        ui.t("= 各劳动力月收入之和（可修改）", "= the workers' monthly incomes added up (you may change it)").to_owned()
                    }}</p>
                })}
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
                        move |a| {
                            touch(Group::Guarantees);
                            form.update(|v| *v.guarantees.slot(g) = a)
                        })}
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
                            touch(Group::RisksAndHelp);
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
                        move |s: Option<HelpState>| form.update(|v| {
                            touch(Group::RisksAndHelp); match s { Some(s) => { v.help.insert(k, s); } None => { v.help.remove(&k); } } }))}
                </label>
            }
        })
        .collect_view();

    // 与上月相同 for one group of household answers, when the last visit had any.
    let same_group = move |group: Group, testid: &'static str| {
        let summary = carried.with_value(|c| {
            c.as_ref().filter(|c| c.groups().contains(&group)).map(|c| (c.from.clone(), c.visit.clone()))
        })?;
        let (from, last) = summary;
        let g = group.clone();
        let done = move || confirmed.with(|s| s.contains(&g)) || touched.with(|s| s.contains(&g));
        let shown = group.clone();
        let line = group.clone();
        Some(view! {
            <div class="carried" data-testid=format!("carried-{testid}")>
                <p class="hint">{move || format!("{} {from}：{}", ui.t("上次走访", "Last visit"), group_summary(&last, &shown, lang.get()))}</p>
                <Show when=done fallback=move || {
                    let g = group.clone();
                    view! {
                        <button type="button" class="same" data-testid=testid on:click=move |_| confirm(g.clone())>
                            {move || ui.t("与上月相同", "Same as last month")}
                        </button>
                    }
                }>
                    {done_line(ui, confirmed, line.clone())}
                </Show>
            </div>
        })
    };

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
            {carried.with_value(|c| c.as_ref().map(|c| {
                let (from, n) = (c.from.clone(), c.groups().len());
                let all_done = move || {
                    let handled = |g: &Group| confirmed.with(|s| s.contains(g)) || touched.with(|s| s.contains(g));
                    carried.with_value(|c| c.as_ref().is_some_and(|c| c.groups().iter().all(handled)))
                };
                view! {
                    <div class="carried-all" data-testid="carried-banner">
                        <p>{move || match lang.get() {
                            Lang::Zh => format!("已带入 {from} 走访的 {n} 项情况，核对后点“与上月相同”确认；未确认的不会保存。"),
                            Lang::En => format!("{n} groups of answers from the {from} visit are shown; tap \"Same as last month\" for what has not changed. Nothing unconfirmed is saved."),
                        }}</p>
                        <Show when=all_done fallback=move || view! {
                            <button type="button" class="same" data-testid="same-all" on:click=confirm_all>
                                {move || ui.t("全部与上月相同", "All the same as last month")}
                            </button>
                        }>
                            <p class="confirmed">{move || ui.t("✓ 全部已确认或已修改", "✓ All confirmed or changed")}</p>
                            {move || blocked.get().then(|| view! {
                                <p class="error">{move || ui.t("请先改正下方标红的项目", "Fix the items marked in red below first")}</p>
                            })}
                            // Nothing else to do when nothing changed: save from here, not
                            // four screens down.
                            <button class="primary" data-testid="save-visit-top" on:click=submit disabled=move || saving.get()>
                                {move || ui.t("保存走访", "Save visit")}
                            </button>
                        </Show>
                    </div>
                }
            }))}
            <label>{move || ui.t("走访日期", "Date")}
                <input type="date" data-testid="visit-date"
                    prop:value=move || form.with(|v| v.date.map(|d| d.to_string()).unwrap_or_default())
                    on:input=move |ev| { let d = event_target_value(&ev).parse().ok(); form.update(|v| v.date = d) } />
            </label>
            {problem(problems, lang, at("date"))}
            <h3>{move || ui.t("劳动力就业", "Work of each labour-force member")}</h3>
            {employment}
            <h3>{move || ui.t("家庭当月收入（元）", "Household income this month (yuan)")}</h3>
            {same_group(Group::Income, "same-income")}
            {income}
            <h3>{move || ui.t("两不愁三保障及饮水安全", "Two no-worries, three guarantees, safe water")}</h3>
            {same_group(Group::Guarantees, "same-guarantees")}
            {guarantees}
            <h3>{move || ui.t("返贫风险", "Risks of falling back")}</h3>
            {same_group(Group::RisksAndHelp, "same-risks")}
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

/// Under a group whose 与上月相同 is done: confirmed, or changed by hand.
fn done_line(ui: Ui, confirmed: RwSignal<BTreeSet<Group>>, group: Group) -> impl IntoView {
    move || {
        if confirmed.with(|s| s.contains(&group)) {
            view! { <p class="confirmed" data-testid="same-done">{move || ui.t("✓ 已确认与上月相同", "✓ Confirmed unchanged")}</p> }.into_any()
        } else {
            view! { <p class="hint" data-testid="same-changed">{move || ui.t("已修改，按本月填写保存", "Changed: saved as entered this month")}</p> }.into_any()
        }
    }
}

/// One member's work as a line: `已就业 · 县内务工 · 县产业园 · 3000 元`.
fn job_summary(job: &Employment, lang: Lang) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.extend(job.status.map(|s| s.label(lang).to_owned()));
    parts.extend(job.channel.map(|c| c.label(lang).to_owned()));
    parts.extend([&job.place, &job.employer].into_iter().filter(|s| !s.is_empty()).cloned());
    parts.extend(
        job.monthly_income.map(|i| if lang == Lang::Zh { format!("{i} 元/月") } else { format!("{i} yuan a month") }),
    );
    parts.join(" · ")
}

/// One group of the last visit's answers as a line.
fn group_summary(last: &Visit, group: &Group, lang: Lang) -> String {
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
