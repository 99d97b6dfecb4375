//! Step 劳动力就业: each labour-force member's work this month, with last month's to
//! confirm. A job field hidden by the status is cleared, and 工资性收入 follows the
//! workers' incomes unless the cadre typed it.

use leptos::prelude::*;
use shared::prefill::{self, Group};
use shared::{Channel, Employment, EmploymentStatus, PlaceScope, Visit};

use super::carried;
use super::form::Form;
use crate::ui::fields::{amount, coded_select, problem, text, yes_no};

/// The work step for `labour` (member id, name).
pub fn step(form: Form, labour: Vec<(String, String)>, problems: Memo<Vec<shared::Problem>>) -> impl IntoView {
    labour.into_iter().map(|(mid, name)| member(form, mid, name, problems)).collect_view()
}

fn member(form: Form, mid: String, name: String, problems: Memo<Vec<shared::Problem>>) -> impl IntoView {
    let (ui, lang, visit) = (form.ui, form.ui.lang, form.visit);
    let m = StoredValue::new(mid.clone());
    // Every edit of this member's work: `field` is its validation path's last part.
    let edit = move |field: &'static str, f: Box<dyn FnOnce(&mut Employment)>| {
        m.with_value(|id| {
            form.touch(Group::Work(id.clone()));
            form.mark(&format!("e/{id}/{field}"));
        });
        visit.update(|v| {
            m.with_value(|id| {
                let job = v.employment.entry(id.clone()).or_default();
                f(job);
                if job.status != Some(EmploymentStatus::Employed) {
                    job.drop_job_details();
                }
            });
            if !form.wage_typed.get_untracked() {
                v.income.wage = prefill::wage_sum(&v.employment);
            }
        })
    };
    let job = move |f: fn(&Employment) -> String| {
        move || visit.with(|v| m.with_value(|id| v.employment.get(id).map(f).unwrap_or_default()))
    };
    let employed = move || {
        visit.with(|v| {
            m.with_value(|id| v.employment.get(id).and_then(|e| e.status)) == Some(EmploymentStatus::Employed)
        })
    };
    let wants =
        move || visit.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.wants_training)) == Some(true));
    let at = move |field: &str| form.at(&format!("e/{}/{field}", m.get_value()));
    let testid = move |what: &str| format!("{what}-{}", m.get_value());
    view! {
        <fieldset class="member-job" data-testid=format!("job-{mid}")>
            <legend>{name}</legend>
            {carried::same(form, Group::Work(mid.clone()), format!("same-{mid}"))}
            // Required in person (every labour-force member's status), not by phone.
            <label><span class:req=move || visit.with(Visit::is_in_person)>{move || ui.t("就业状态", "Employment status")}</span>
                {coded_select(lang, testid("status"), move || visit.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.status))),
                    move |s| edit("status", Box::new(move |e| e.status = s)))}
            </label>
            {problem(problems, lang, at("status"))}
            <Show when=employed>
                <label><span class="req">{move || ui.t("就业渠道", "Channel")}</span>
                    {coded_select(lang, testid("channel"),
                        move || visit.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.channel))),
                        move |c: Option<Channel>| edit("channel", Box::new(move |e| {
                            e.channel = c;
                            if let Some(scope) = c.and_then(Channel::implied_scope) { e.place_scope = Some(scope); }
                        })))}
                </label>
                {problem(problems, lang, at("channel"))}
                <label>{move || ui.t("务工地点范围", "Where")}
                    {coded_select(lang, testid("scope"),
                        move || visit.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.place_scope))),
                        move |s: Option<PlaceScope>| edit("scope", Box::new(move |e| e.place_scope = s)))}
                </label>
                {problem(problems, lang, at("scope"))}
                <label>{move || ui.t("务工地点", "Place")}
                    {text(testid("place"), job(|e| e.place.clone()), move |s| edit("place", Box::new(move |e| e.place = s)))}
                </label>
                <label>{move || ui.t("行业", "Industry")}
                    {text(testid("industry"), job(|e| e.industry.clone()), move |s| edit("industry", Box::new(move |e| e.industry = s)))}
                </label>
                <label>{move || ui.t("用工单位", "Employer")}
                    {text(testid("employer"), job(|e| e.employer.clone()), move |s| edit("employer", Box::new(move |e| e.employer = s)))}
                </label>
                <label>{move || ui.t("月收入（元）", "Monthly income (yuan)")}
                    {amount(testid("income"),
                        move || visit.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.monthly_income))),
                        move |a| edit("income", Box::new(move |e| e.monthly_income = a)))}
                </label>
                {problem(problems, lang, at("income"))}
            </Show>
            <label>{move || ui.t("本月返乡", "Returned home this month")}
                {yes_no(lang, testid("returned"),
                    move || visit.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.returned))),
                    move |b| edit("returned", Box::new(move |e| e.returned = b)))}
            </label>
            <label>{move || ui.t("有培训意愿", "Wants training")}
                {yes_no(lang, testid("training"),
                    move || visit.with(|v| m.with_value(|id| v.employment.get(id).and_then(|e| e.wants_training))),
                    move |b| edit("training", Box::new(move |e| {
                        e.wants_training = b;
                        // Hidden with the wish: what training.
                        if b != Some(true) { e.training_wish.clear(); }
                    })))}
            </label>
            <Show when=wants>
                <label>{move || ui.t("想参加的培训", "Training wanted")}
                    {text(testid("training-wish"), job(|e| e.training_wish.clone()), move |s| edit("training_wish", Box::new(move |e| e.training_wish = s)))}
                </label>
            </Show>
        </fieldset>
    }
}
