//! 导出: the period's workbook (XLSX) and its sheets as CSV, downloaded with the
//! session's token. ID numbers are masked unless an admin ticks "完整身份证号", which
//! the server writes to its audit log.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::state::Ui;

/// Fetches `path` with the token and hands it to the browser as a download.
async fn download(ui: Ui, path: String, filename: String) -> Result<(), String> {
    let Some(session) = ui.session.get_untracked() else { return Err(crate::api::ApiError::Unauthorized.message()) };
    let bytes = crate::api::get_bytes(&session.token, &path).await.map_err(|e| e.message())?;
    let array = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes.as_slice()));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&array).map_err(|_| "blob".to_owned())?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| "url".to_owned())?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a").map_err(|_| "a".to_owned())?.unchecked_into();
    a.set_href(&url);
    a.set_download(&filename);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// The export buttons.
#[component]
pub fn Export(ui: Ui) -> impl IntoView {
    let unmask = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let is_admin = move || ui.session.get().is_some_and(|s| s.user.role == shared::api::Role::Admin);
    let button = move |file: &'static str, zh: &'static str, en: &'static str, testid: &'static str| {
        let go = move |_| {
            let period = ui.period.get_untracked();
            let query =
                if unmask.get_untracked() { format!("period={period}&unmask=1") } else { format!("period={period}") };
            let (path, name) = if file == "xlsx" {
                (format!("/api/export.xlsx?{query}"), format!("huhujian-{period}.xlsx"))
            } else {
                (format!("/api/export/{file}.csv?{query}"), format!("huhujian-{period}-{file}.csv"))
            };
            leptos::task::spawn_local(async move { error.set(download(ui, path, name).await.err()) });
        };
        view! { <button class="small" data-testid=testid on:click=go>{move || ui.t(zh, en)}</button> }
    };
    view! {
        <h2>{move || ui.t("导出本期报表", "Export this period")}</h2>
        <div class="exports">
            {button("xlsx", "Excel 工作簿（全部）", "Excel workbook (all)", "export-xlsx")}
            {button("households", "户表 CSV", "Households CSV", "export-households")}
            {button("members", "成员 CSV", "Members CSV", "export-members")}
            {button("employment", "就业 CSV", "Employment CSV", "export-employment")}
            {button("indicators", "指标 CSV", "Indicators CSV", "export-indicators")}
        </div>
        <Show when=is_admin>
            <label class="check">
                <input type="checkbox" data-testid="export-unmask" prop:checked=move || unmask.get()
                    on:change=move |ev| unmask.set(event_target_checked(&ev)) />
                {move || ui.t("导出完整身份证号（记入审计日志）", "Full ID numbers (written to the audit log)")}
            </label>
        </Show>
        <p class="hint">{move || ui.t("身份证号默认脱敏。", "ID numbers are masked by default.")}</p>
        {move || error.get().map(|e| view! { <p class="error" data-testid="export-error">{e}</p> })}
    }
}
