//! 监测帮扶 as the household pages show it: the case's status (red when a deadline
//! has passed), its steps with who, when and why, and the ledger of help measures;
//! on the phone, a cadre raises a clue or records its verification here.

use leptos::prelude::*;
use shared::case::{CaseAct, CaseStep, ClueSource, Overdue};
use shared::{Coded, Household, Lang};

use crate::state::Ui;
use crate::ui::income::thousands;

/// The case's status line, steps and ledger of household `h`, read on `today`.
pub fn view(h: &Household, today: shared::Date, lang: Lang) -> impl IntoView + use<> {
    let zh = lang == Lang::Zh;
    let t = move |a: &'static str, b: &'static str| if zh { a } else { b };
    let status = h.case.status.map(|s| s.label(lang).to_owned());
    let overdue = h.case.overdue(today).map(|o| match o {
        Overdue::Verify => t("已超过7天未核实", "Not verified within 7 days"),
        Overdue::Decide => t("已超过15天未研判", "Not decided within 15 days"),
    });
    let kind = shared::case::included_as(&h.case)
        .filter(|_| h.case.status == Some(shared::CaseStatus::Monitored))
        .map(|k| k.label(lang).to_owned());
    let steps = h
        .case
        .thread()
        .into_iter()
        .map(|(_, s)| {
            let act = s.act.map(|a| a.label(lang)).unwrap_or("?");
            let extra = [s.source.map(|x| x.label(lang).to_owned()), s.kind.map(|k| k.label(lang).to_owned())]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ");
            let on = s.on.map(|d| d.to_string()).unwrap_or_default();
            view! {
                <li data-testid="case-step"><strong>{act}</strong>" "{on}" · "{s.name.clone()}
                    {(!extra.is_empty()).then(|| format!("（{extra}）"))}
                    {(!s.text.is_empty()).then(|| view! { <br/><span class="hint">{s.text.clone()}</span> })}</li>
            }
        })
        .collect_view();
    let mut measures: Vec<_> = h.measures.iter().collect();
    measures.sort_by_key(|(id, m)| (m.start, (*id).clone()));
    let measures = measures
        .into_iter()
        .map(|(_, m)| {
            let kind = m.kind.map(|k| k.label(lang)).unwrap_or("?");
            let span = format!(
                "{} – {}",
                m.start.map(|d| d.to_string()).unwrap_or_default(),
                m.end.map_or_else(|| t("至今", "now").to_owned(), |d| d.to_string())
            );
            let amount = m.amount.map(|a| format!(" · {} {}", thousands(a), t("元", "yuan"))).unwrap_or_default();
            let who = [m.provider.clone(), m.note.clone()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>();
            view! {
                <li data-testid="measure"><strong>{kind}</strong>" "{span}{amount}
                    {(!who.is_empty()).then(|| format!(" · {}", who.join(" · ")))}</li>
            }
        })
        .collect_view();
    let has_measures = !h.measures.is_empty();
    view! {
        <div class="case-box" data-testid="case-box">
            <p><strong>{t("监测帮扶：", "Monitoring: ")}</strong>
                <span data-testid="case-status">{status.unwrap_or_else(|| t("无", "none").to_owned())}</span>
                {kind.map(|k| format!(" · {k}"))}
                {overdue.map(|o| view! { " " <span class="overdue" data-testid="case-overdue">{o}</span> })}</p>
            <ol class="thread">{steps}</ol>
            <p><strong>{t("帮扶措施", "Help measures")}</strong></p>
            {if has_measures {
                view! { <ul class="measures" data-testid="measures">{measures}</ul> }.into_any()
            } else {
                view! { <p class="hint">{t("尚无帮扶措施记录", "No help recorded yet")}</p> }.into_any()
            }}
        </div>
    }
}

/// A cadre's steps on the phone: raise a clue (no open case), or verify one at the
/// door (a clue not yet verified). Committed like every edit on the phone.
pub fn cadre_actions(
    ui: Ui,
    id: String,
    household: impl Fn() -> Household + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let source = RwSignal::new(ClueSource::Household);
    let open = RwSignal::new(false);
    let id = StoredValue::new(id);
    let next = move || {
        let h = household();
        if h.case.may(CaseAct::Clue).is_ok() {
            Some(CaseAct::Clue)
        } else if h.case.may(CaseAct::Verify).is_ok() {
            Some(CaseAct::Verify)
        } else {
            None
        }
    };
    let save = move |act: CaseAct| {
        let Some(session) = ui.session.get_untracked() else { return };
        let what = text.get_untracked().trim().to_owned();
        if what.is_empty() {
            ui.say(ui.t("请写明情况", "Say what you found").to_owned());
            return;
        }
        let before = household();
        let mut after = before.clone();
        let at = crate::state::now();
        let step = CaseStep {
            act: Some(act),
            by: session.user.id.clone(),
            name: session.user.name.clone(),
            on: Some(shared::Date::in_china(at)),
            text: what,
            source: (act == CaseAct::Clue).then(|| source.get_untracked()),
            kind: None,
        };
        after.case.record(step, at);
        leptos::task::spawn_local(async move {
            match crate::data::edit(ui, &id.get_value(), &before, &after).await {
                Ok(()) => {
                    open.set(false);
                    text.set(String::new());
                    ui.touch();
                }
                Err(e) => ui.say(format!("{}：{e}", ui.t("保存失败", "Not saved"))),
            }
        });
    };
    move || {
        let act = next()?;
        let (zh, en) = match act {
            CaseAct::Clue => ("上报风险线索", "Report a risk clue"),
            _ => ("记录入户核实", "Record the verification"),
        };
        Some(view! {
            <Show when=move || open.get() fallback=move || view! {
                <button data-testid=format!("case-{}", act.code()) on:click=move |_| open.set(true)>{move || ui.t(zh, en)}</button>
            }>
                <div class="case-form" data-testid="case-form">
                    {(act == CaseAct::Clue).then(|| view! {
                        <label>{move || ui.t("线索来源", "Source")}
                            <select data-testid="case-source" on:change=move |ev| {
                                if let Some(s) = ClueSource::from_code(&event_target_value(&ev)) { source.set(s) }
                            }>
                                {[ClueSource::Household, ClueSource::Visit].into_iter().map(|s| view! {
                                    <option value=s.code() selected=move || source.get() == s>{move || s.label(ui.lang.get())}</option>
                                }).collect_view()}
                            </select>
                        </label>
                    })}
                    <label>{move || ui.t("情况说明", "What you found")}
                        <textarea data-testid="case-text" prop:value=move || text.get()
                            on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                    </label>
                    <button class="primary" data-testid="case-save" on:click=move |_| save(act)>{move || ui.t(zh, en)}</button>
                </div>
            </Show>
        })
    }
}
