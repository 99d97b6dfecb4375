//! 花名册导入: choose a roster file (an Excel workbook, or a CSV in UTF-8 or GBK), send
//! its bytes as they are to `POST /api/admin/roster` (the server reads every format,
//! `server::roster::sheet`) for a preview (the households it adds, every value it
//! changes), then, on 确认导入, import exactly
//! that preview; or show every rejected row (and that nothing was imported).

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use shared::api::{ImportErrors, ImportReport as Report, RowError};

use super::{Msg, token};
use crate::api;
use crate::state::Ui;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Preview(Report),
    Imported(Report),
    Rejected(Vec<RowError>),
    Failed(Msg),
}

/// A chosen file: its name and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Chosen {
    name: String,
    bytes: Vec<u8>,
}

/// Reads a chosen file's bytes.
async fn read(file: &web_sys::File) -> Result<Chosen, Msg> {
    let failed = |_| Msg::new("无法读取该文件", "The file cannot be read");
    let buffer = JsFuture::from(file.array_buffer()).await.map_err(failed)?;
    Ok(Chosen { name: file.name(), bytes: js_sys::Uint8Array::new(&buffer).to_vec() })
}

/// The roster tab.
#[component]
pub fn Roster(ui: Ui) -> impl IntoView {
    let chosen = RwSignal::new(None::<Chosen>);
    let outcome = RwSignal::new(None::<Outcome>);
    let busy = RwSignal::new(false);

    let on_file = move |ev: leptos::ev::Event| {
        outcome.set(None);
        chosen.set(None);
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(file) = input.files().and_then(|l| l.get(0)) else { return };
        leptos::task::spawn_local(async move {
            match read(&file).await {
                Ok(c) => chosen.set(Some(c)),
                Err(m) => outcome.set(Some(Outcome::Failed(m))),
            }
        });
    };
    // Without a digest: the preview; with the preview's digest: the import.
    let send = move |confirm: Option<String>| {
        let Some(c) = chosen.get_untracked() else { return };
        busy.set(true);
        outcome.set(None);
        leptos::task::spawn_local(async move {
            let path = match &confirm {
                Some(digest) => format!("/api/admin/roster?confirm={digest}"),
                None => "/api/admin/roster".to_owned(),
            };
            let answer = api::post_bytes(&token(ui), &path, "application/octet-stream", &c.bytes).await;
            busy.set(false);
            let unreadable = |e: serde_json::Error| {
                Outcome::Failed(Msg::new(format!("答复无法解读：{e}"), format!("Unreadable answer: {e}")))
            };
            let result = match answer {
                Ok((200, body)) => match serde_json::from_str::<Report>(&body) {
                    Ok(r) if r.imported => Outcome::Imported(r),
                    Ok(r) => Outcome::Preview(r),
                    Err(e) => unreadable(e),
                },
                Ok((422, body)) => match serde_json::from_str::<ImportErrors>(&body) {
                    Ok(r) => Outcome::Rejected(r.rows),
                    Err(e) => unreadable(e),
                },
                Ok((status, body)) => Outcome::Failed(serde_json::from_str::<Msg>(&body).unwrap_or_else(|_| {
                    Msg::new(format!("服务器答复 HTTP {status}"), format!("The server answered HTTP {status}"))
                })),
                Err(e) => Outcome::Failed(Msg::of(&e)),
            };
            outcome.set(Some(result));
        });
    };
    let preview = move |_| send(None);

    let file_info = move || {
        chosen.get().map(|c| {
            let size = format!("{:.1} KB", c.bytes.len() as f64 / 1024.0);
            view! { <p class="admin-file" data-testid="roster-file-info">{format!("{} · {size}", c.name)}</p> }
        })
    };

    let result = move || {
        outcome.get().map(|o| match o {
            Outcome::Preview(r) => preview_view(ui, r, send).into_any(),
            Outcome::Imported(r) => view! {
                <p class="admin-ok" data-testid="roster-report">
                    {move || match ui.lang.get() {
                        shared::Lang::Zh => format!("导入成功：{} 户，{} 名成员", r.households, r.members),
                        _ => format!("Imported {} households, {} members", r.households, r.members),
                    }}
                </p>
            }
            .into_any(),
            Outcome::Rejected(rows) => {
                let n = rows.len();
                view! {
                    <div class="admin-rejected">
                        <p class="error" role="alert" data-testid="roster-rejected">
                            {move || match ui.lang.get() {
                                shared::Lang::Zh => format!("花名册有 {n} 处问题，未导入任何数据。请修改后重新导入。"),
                                _ => format!(
                                    "The roster has {n} problem{}; nothing was imported. Fix and import again.",
                                    if n == 1 { "" } else { "s" }
                                ),
                            }}
                        </p>
                        <table class="admin-table admin-errors" data-testid="roster-errors">
                            <thead>
                                <tr>
                                    <th>{move || ui.t("行号", "Row")}</th>
                                    <th>{move || ui.t("列", "Column")}</th>
                                    <th>{move || ui.t("问题", "Problem")}</th>
                                </tr>
                            </thead>
                            <tbody>
                                {rows
                                    .into_iter()
                                    .map(|r| {
                                        let message = Msg::new(r.zh, r.en);
                                        let place = match &r.sheet {
                                            Some(sheet) => format!("{sheet} · {}", r.line),
                                            None => r.line.to_string(),
                                        };
                                        view! {
                                            <tr data-testid="roster-error-row" data-line=r.line>
                                                <td data-label=move || ui.t("行号", "Row")>{place}</td>
                                                <td data-label=move || ui.t("列", "Column") data-testid="roster-error-column">
                                                    {r.column.unwrap_or_else(|| "—".into())}
                                                </td>
                                                <td data-label=move || ui.t("问题", "Problem")>{move || message.say(ui)}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            }
            Outcome::Failed(m) => {
                view! { <p class="error" role="alert" data-testid="roster-failed">{move || m.say(ui)}</p> }.into_any()
            }
        })
    };

    // Once a preview is shown, its 确认导入 is the button that stands out.
    view! {
        <div class="admin-roster">
            <p class="admin-hint">
                {move || ui.t(
                    "每行一名成员，同户各行的户信息须一致。必填列：户编码、安置点、网格、姓名；表头可用中文或英文。可直接导入 Excel 工作簿（.xlsx），或 UTF-8、GBK 编码的 CSV。有任何一行出错时整份花名册都不导入。",
                    "One row per member; a household's facts must agree on each of its rows. Required columns: 户编码 registry_no, 安置点 site, 网格 grid, 姓名 name; headers in Chinese or English. An Excel workbook (.xlsx) or a CSV in UTF-8 or GBK is read as it is. If any row is wrong, nothing of the file is imported.",
                )}
            </p>
            <label class="admin-file-pick">
                {move || ui.t("选择花名册文件（.xlsx 或 .csv）", "Choose the roster file (.xlsx or .csv)")}
                <input type="file" accept=".xlsx,.csv,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" data-testid="roster-file" on:change=on_file />
            </label>
            {file_info}
            <button data-testid="roster-submit" on:click=preview
                class:primary=move || !outcome.with(|o| matches!(o, Some(Outcome::Preview(_))))
                disabled=move || busy.get() || chosen.with(Option::is_none)>
                {move || if busy.get() { ui.t("请稍候…", "Please wait…") } else { ui.t("预览变更", "Preview the changes") }}
            </button>
            {result}
        </div>
    }
}

/// The preview: what the sheet adds and changes, and the button that imports it.
fn preview_view(ui: Ui, r: Report, send: impl Fn(Option<String>) + Copy + 'static) -> impl IntoView {
    let (households, members, added, n) = (r.households, r.members, r.added.len(), r.changes.len());
    let digest = r.confirm.clone();
    let summary = move || match (ui.lang.get(), n) {
        (shared::Lang::Zh, 0) => {
            format!("共 {households} 户（新增 {added} 户）、{members} 名成员；已有户的信息没有改动。")
        }
        (shared::Lang::Zh, _) => {
            format!("共 {households} 户（新增 {added} 户）、{members} 名成员；已有户将改动 {n} 项：")
        }
        (_, 0) => {
            format!("{households} households ({added} new), {members} members; nothing of existing households changes.")
        }
        _ => format!(
            "{households} households ({added} new), {members} members; {n} values of existing households change:"
        ),
    };
    let rows = r
        .changes
        .into_iter()
        .map(|c| {
            let field = Msg::new(c.field_zh, c.field_en);
            let (before, after) = (c.before.unwrap_or_else(|| "—".into()), c.after.unwrap_or_else(|| "—".into()));
            view! {
                <tr data-testid="roster-change">
                    <td data-label=move || ui.t("户编码", "Household")>{c.household}</td>
                    <td data-label=move || ui.t("项目", "Field")>{move || field.say(ui)}</td>
                    <td data-label=move || ui.t("原值", "Now")>{before}</td>
                    <td data-label=move || ui.t("新值", "New")>{after}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="admin-preview" data-testid="roster-preview">
            <p>{summary}</p>
            {(n > 0).then(move || view! {
                <table class="admin-table">
                    <thead>
                        <tr>
                            <th>{move || ui.t("户编码", "Household")}</th>
                            <th>{move || ui.t("项目", "Field")}</th>
                            <th>{move || ui.t("原值", "Now")}</th>
                            <th>{move || ui.t("新值", "New")}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            })}
            <p class="admin-hint">
                {move || ui.t(
                    "表中空白或缺少的列不会清除已有信息，成员的迁出、已故状态不会被重置。",
                    "Empty cells and absent columns clear nothing; members' moved-out and deceased statuses stay.",
                )}
            </p>
            <button class="primary" data-testid="roster-confirm" on:click=move |_| send(Some(digest.clone()))>
                {move || ui.t("确认导入", "Import these changes")}
            </button>
        </div>
    }
}
