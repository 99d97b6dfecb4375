//! 监测帮扶 in the console: the case queue (`GET /api/cases`: overdue first, then new
//! clues, awaiting a decision, eligible for elimination, monitored, closed), and on a
//! household's page the supervisor's steps (verify, include as one of the 三类, close,
//! eliminate, a clue reported by the household) and the ledger's form.

use leptos::prelude::*;
use shared::api::{CaseQueue, CaseRequest, CaseRow, MeasureRequest};
use shared::case::{CaseAct, ClueSource, Measure, MeasureKind, Overdue};
use shared::{Coded, Household, Monitoring};

use super::{fetch, loaded, post};
use crate::state::{Page, Ui};

/// The queue.
#[component]
pub fn Cases(ui: Ui) -> impl IntoView {
    let rows = LocalResource::new(move || async move { fetch::<CaseQueue>(ui, "/api/cases".into()).await });
    view! {
        <section class="cases">
            <h2>{move || ui.t("监测帮扶", "Monitoring cases")}</h2>
            <p class="hint">{move || ui.t(
                "线索须在7天内入户核实、15天内研判；超期的排在最前并标红。",
                "A clue is verified within 7 days and decided within 15; overdue cases come first, in red.",
            )}</p>
            <super::sites::BySite ui=ui />
            {department_list(ui, move || rows.refetch())}
            {loaded(ui, rows, move |q: CaseQueue| {
                if q.rows.is_empty() {
                    return view! { <p data-testid="no-cases">{ui.t("范围内没有监测帮扶记录。", "No cases in your area.")}</p> }.into_any();
                }
                view! {
                    <table class="coverage" data-testid="cases">
                        <thead><tr>
                            <th>{ui.t("户", "Household")}</th>
                            <th>{ui.t("状态", "Status")}</th>
                            <th>{ui.t("线索日期", "Clue")}</th>
                            <th>{ui.t("措施", "Measures")}</th>
                        </tr></thead>
                        <tbody>{q.rows.into_iter().map(|r| row(ui, r)).collect_view()}</tbody>
                    </table>
                }
                .into_any()
            })}
        </section>
    }
}

/// 部门数据比对: a department's list (户编码 or 身份证号, 原因, 部门) sent as the file's
/// bytes; every bad row listed, or the households that got a clue.
fn department_list(ui: Ui, reload: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    use wasm_bindgen::JsCast;
    let said = RwSignal::new(None::<Result<String, Vec<String>>>);
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(file) = input.files().and_then(|l| l.get(0)) else { return };
        leptos::task::spawn_local(async move {
            let Ok(buffer) = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await else {
                said.set(Some(Err(vec![ui.t("无法读取该文件", "The file cannot be read").to_owned()])));
                return;
            };
            let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
            let token = ui.session.get_untracked().map(|s| s.token).unwrap_or_default();
            let answer = crate::api::post_bytes(&token, "/api/cases/import", "application/octet-stream", &bytes).await;
            let lang = ui.lang.get_untracked();
            said.set(Some(match answer {
                Ok((200, text)) => {
                    reload();
                    let n = serde_json::from_str::<shared::api::ClueImport>(&text).map(|c| c.imported).unwrap_or(0);
                    Ok(format!("{} {n} {}", ui.t("已为", "Clues raised for"), ui.t("户生成风险线索", "households")))
                }
                Ok((_, text)) => match serde_json::from_str::<shared::api::ImportErrors>(&text) {
                    Ok(e) => Err(e
                        .rows
                        .iter()
                        .map(|r| {
                            let msg = if lang == shared::Lang::Zh { &r.zh } else { &r.en };
                            format!("{} {}：{msg}", ui.t("第", "Row"), r.line)
                        })
                        .collect()),
                    Err(_) => Err(vec![
                        serde_json::from_str::<shared::api::ErrorBody>(&text)
                            .map(|b| if lang == shared::Lang::Zh { b.zh } else { b.en })
                            .unwrap_or(text),
                    ]),
                },
                Err(e) => Err(vec![e.message()]),
            }));
        });
    };
    view! {
        <details class="clue-import">
            <summary>{move || ui.t("导入部门比对名单", "Import a department's list")}</summary>
            <p class="hint">{move || ui.t(
                "Excel 或 CSV，列：户编码（或身份证号）、原因、部门（可选）。有一行出错则整表不导入。",
                "Excel or CSV with columns 户编码 (or 身份证号), 原因, 部门 (optional). One bad row refuses the whole list.",
            )}</p>
            <input type="file" accept=".xlsx,.csv,text/csv" data-testid="clues-file" on:change=on_file />
            {move || said.get().map(|r| match r {
                Ok(m) => view! { <p class="admin-ok" data-testid="clues-said">{m}</p> }.into_any(),
                Err(rows) => view! {
                    <ul class="error" role="alert" data-testid="clues-said">{rows.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}</ul>
                }.into_any(),
            })}
        </details>
    }
}

fn row(ui: Ui, r: CaseRow) -> impl IntoView {
    let lang = ui.lang.get_untracked();
    let id = r.household.id.clone();
    let open = id.clone();
    let overdue = r.overdue.map(|o| match o {
        Overdue::Verify => ui.t("超期未核实", "Verification overdue"),
        Overdue::Decide => ui.t("超期未研判", "Decision overdue"),
    });
    let status = format!(
        "{}{}{}",
        r.status.label(lang),
        r.kind
            .filter(|_| r.status == shared::CaseStatus::Monitored)
            .map(|k| format!(" · {}", k.label(lang)))
            .unwrap_or_default(),
        if r.eligible { ui.t(" · 可消除风险", " · may be cleared") } else { "" }
    );
    view! {
        <tr data-testid="case-row" data-id=id.clone() data-status=r.status.code() data-eligible=r.eligible.to_string()
            class:overdue=r.overdue.is_some()
            on:click=move |_| ui.open(Page::Review(open.clone(), ui.period.get_untracked().to_string()))>
            <td class="link">{format!("{} · {}", r.household.head_name, id)}<br/><span class="hint">{r.latest.clone()}</span></td>
            <td data-testid="case-row-status">{status}{overdue.map(|o| view! { <br/><span class="overdue">{o}</span> })}</td>
            <td>{r.clue_on.clone().unwrap_or_default()}</td>
            <td>{format!("{} / {}", r.measures_in_force, r.measures)}</td>
        </tr>
    }
}

/// A supervisor's steps and the measure form on household `id` (as `h` reads now);
/// `reload` fetches the household again after a change.
pub fn actions(ui: Ui, id: String, h: &Household, reload: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let kind = RwSignal::new(Monitoring::Edge);
    let said = RwSignal::new(None::<String>);
    let id = StoredValue::new(id);
    let acts: Vec<CaseAct> = CaseAct::ALL.iter().copied().filter(|a| h.case.may(*a).is_ok()).collect();
    let include = acts.contains(&CaseAct::Include);
    let act = move |a: CaseAct| {
        let req = CaseRequest {
            act: a,
            text: text.get_untracked(),
            source: (a == CaseAct::Clue).then_some(ClueSource::Household),
            kind: (a == CaseAct::Include).then(|| kind.get_untracked()),
        };
        leptos::task::spawn_local(async move {
            match post(ui, format!("/api/households/{}/case", id.get_value()), req).await {
                Ok(_) => {
                    said.set(None);
                    text.set(String::new());
                    reload();
                }
                Err(e) => said.set(Some(e)),
            }
        });
    };
    let buttons = acts
        .into_iter()
        .map(|a| {
            view! {
                <button data-testid=format!("case-act-{}", a.code()) class:primary=a == CaseAct::Include
                    on:click=move |_| act(a)>{move || a.label(ui.lang.get())}</button>
            }
        })
        .collect_view();
    view! {
        <div class="case-actions" data-testid="case-actions">
            {include.then(|| view! {
                <label>{move || ui.t("纳入类型", "Include as")}
                    <select data-testid="case-kind" on:change=move |ev| {
                        if let Some(k) = Monitoring::from_code(&event_target_value(&ev)) { kind.set(k) }
                    }>
                        {[Monitoring::Edge, Monitoring::Unstable, Monitoring::Sudden].into_iter().map(|k| view! {
                            <option value=k.code() selected=move || kind.get() == k>{move || k.label(ui.lang.get())}</option>
                        }).collect_view()}
                    </select>
                </label>
            })}
            <label>{move || ui.t("说明（原因或核实情况）", "Why, or what was found")}
                <textarea data-testid="case-note" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            </label>
            <div class="review-actions">{buttons}</div>
            {move || said.get().map(|e| view! { <p class="error" role="alert" data-testid="case-said">{e}</p> })}
            {measure_form(ui, id, reload)}
        </div>
    }
}

/// 添加帮扶措施: kind, from, until, amount, who provides it, a note.
fn measure_form(ui: Ui, id: StoredValue<String>, reload: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let m = RwSignal::new(Measure {
        kind: Some(MeasureKind::WelfarePost),
        start: Some(crate::state::today()),
        ..Measure::default()
    });
    let said = RwSignal::new(None::<String>);
    let open = RwSignal::new(false);
    let save = move |_| {
        let req = MeasureRequest { id: None, measure: m.get_untracked() };
        leptos::task::spawn_local(async move {
            match post(ui, format!("/api/households/{}/measures", id.get_value()), req).await {
                Ok(_) => {
                    said.set(None);
                    reload();
                }
                Err(e) => said.set(Some(e)),
            }
        });
    };
    let date = move |testid: &'static str,
                     get: fn(&Measure) -> Option<shared::Date>,
                     set: fn(&mut Measure, Option<shared::Date>)| {
        view! {
            <input type="date" data-testid=testid prop:value=move || m.with(|m| get(m).map(|d| d.to_string()).unwrap_or_default())
                on:input=move |ev| { let d = event_target_value(&ev).parse().ok(); m.update(|m| set(m, d)) } />
        }
    };
    view! {
        <Show when=move || open.get() fallback=move || view! {
            <button data-testid="measure-open" on:click=move |_| open.set(true)>{move || ui.t("＋ 添加帮扶措施", "+ Add a help measure")}</button>
        }>
        <div class="measure-form" data-testid="measure-form">
            <label>{move || ui.t("类别", "Kind")}
                {crate::ui::fields::coded_select(ui.lang, "measure-kind".into(), move || m.with(|m| m.kind),
                    move |k: Option<MeasureKind>| m.update(|m| m.kind = k))}
            </label>
            <label>{move || ui.t("开始日期", "From")}{date("measure-start", |m| m.start, |m, d| m.start = d)}</label>
            <label>{move || ui.t("结束日期（可空）", "Until (may be empty)")}{date("measure-end", |m| m.end, |m, d| m.end = d)}</label>
            <label>{move || ui.t("金额（元，可空）", "Amount (yuan, may be empty)")}
                {crate::ui::fields::amount("measure-amount".into(), move || m.with(|m| m.amount), move |a| m.update(|m| m.amount = a))}
            </label>
            <label>{move || ui.t("提供单位", "Provided by")}
                <input type="text" data-testid="measure-provider" prop:value=move || m.with(|m| m.provider.clone())
                    on:input=move |ev| m.update(|m| m.provider = event_target_value(&ev)) />
            </label>
            <label>{move || ui.t("备注", "Note")}
                <input type="text" data-testid="measure-note" prop:value=move || m.with(|m| m.note.clone())
                    on:input=move |ev| m.update(|m| m.note = event_target_value(&ev)) />
            </label>
            <button class="primary" data-testid="measure-save" on:click=save>{move || ui.t("保存措施", "Save the measure")}</button>
            {move || said.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </div>
        </Show>
    }
}
