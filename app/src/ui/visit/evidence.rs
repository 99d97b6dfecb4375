//! 走访佐证 on the visit's last step, each kind shown only when the county offers it
//! (`Settings::evidence`) and none ever required: photos (camera or gallery, each with
//! its kind and an optional caption), the household head's signature under a summary
//! of what was recorded, and one location fix on the cadre's tap. A picture is kept on
//! the phone (`blobs::keep`) the moment it is made; the visit holds its reference and
//! is saved with it.

use leptos::prelude::*;
use shared::evidence::{Attachment, EvidenceKind, EvidenceSettings, Location, MAX_ATTACHMENTS, MediaType, entry_of};
use shared::{Coded, Lang, Visit};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use super::form::Form;
use crate::photo::{self, Encoded};
use crate::state::{self, Ui};

/// Free space under which the cadre is warned before adding photos (bytes).
const LOW_SPACE: f64 = 50.0 * 1024.0 * 1024.0;

/// A thumbnail of `sha256`, read from the phone when shown.
fn thumb_img(ui: Ui, sha256: String, media: Option<MediaType>, testid: &'static str) -> impl IntoView {
    crate::ui::evidence::picture(ui, crate::ui::evidence::Source::Phone { household: None }, sha256, media, testid)
}

/// The attachment for `picture` (and its thumbnail), added by the logged-in user now.
fn attachment(ui: Ui, picture: &Encoded, thumb: Option<&Encoded>, kind: EvidenceKind, caption: String) -> Attachment {
    Attachment {
        sha256: picture.sha256.clone(),
        thumb: thumb.map(|t| t.sha256.clone()).unwrap_or_default(),
        kind: Some(kind),
        media: Some(picture.media),
        size: Some(picture.bytes.len() as i64),
        caption,
        by: ui.session.get_untracked().map(|s| s.user.id).unwrap_or_default(),
        at: Some(state::now()),
        removed: false,
    }
}

/// The evidence section, or nothing when the county offers none.
pub fn section(form: Form, base: Visit) -> impl IntoView {
    let settings: EvidenceSettings = crate::session::settings().evidence;
    settings.any().then(|| {
        let ui = form.ui;
        view! {
            <section class="evidence" data-testid="evidence">
                <h4>{move || ui.t("走访佐证（自愿，不影响走访是否有效）", "Evidence (optional; a visit counts without it)")}</h4>
                {settings.photos.then(|| photos(form, base.clone()))}
                {settings.signature.then(|| signature(form))}
                {settings.location.then(|| location(form))}
            </section>
        }
    })
}

/// Takes `entry` off the visit: forgotten when added in this form, marked removed when
/// it was saved before (so an addition elsewhere is never lost in a merge).
fn remove(form: Form, base: &Visit, entry: &str) {
    let saved = base.attachments.contains_key(entry);
    form.visit.update(|v| {
        if saved {
            if let Some(a) = v.attachments.get_mut(entry) {
                a.removed = true;
            }
        } else {
            v.attachments.remove(entry);
        }
    });
}

fn photos(form: Form, base: Visit) -> impl IntoView {
    let (ui, visit) = (form.ui, form.visit);
    let kind = RwSignal::new(EvidenceKind::Household);
    let busy = form.preparing;
    let full = move || visit.with(|v| v.attachments.len() >= MAX_ATTACHMENTS);
    let base = StoredValue::new(base);
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let files: Vec<web_sys::File> =
            input.files().map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect()).unwrap_or_default();
        input.set_value("");
        let chosen = kind.get_untracked();
        busy.set(true);
        leptos::task::spawn_local(async move {
            for file in files {
                if visit.try_with_untracked(|v| v.attachments.len() >= MAX_ATTACHMENTS) != Some(false) {
                    break;
                }
                let made = match photo::from_file(&file).await {
                    Ok(p) => p,
                    Err(e) => {
                        ui.say(e);
                        continue;
                    }
                };
                if let Err(e) = crate::blobs::keep(&[&made.full, &made.thumb]).await {
                    ui.say(format!("{}：{e}", ui.t("照片未保存", "The photo was not kept")));
                    continue;
                }
                let a = attachment(ui, &made.full, Some(&made.thumb), chosen, String::new());
                // The form may have closed meanwhile (it waits for this, but a back
                // tap does not): the photo then stays on the phone, unreferenced.
                let _ = visit.try_update(|v| {
                    v.attachments.insert(entry_of(&a.sha256).to_owned(), a);
                });
            }
            let _ = busy.try_set(false);
        });
    };
    let kinds = EvidenceKind::PHOTO_KINDS
        .into_iter()
        .map(|k| {
            view! {
                <button type="button" class="chip" data-testid=format!("photo-kind-{}", k.code())
                    class:on=move || kind.get() == k on:click=move |_| kind.set(k)>
                    {move || k.label(ui.lang.get())}
                </button>
            }
        })
        .collect_view();
    // Keyed by entry: a row stays as it is (a caption being typed, its thumbnail) while
    // others come and go.
    let entries = move || {
        visit.with(|v| {
            v.evidence()
                .into_iter()
                .filter(|(_, a)| a.kind != Some(EvidenceKind::Signature))
                .map(|(e, a)| (e.clone(), a.clone()))
                .collect::<Vec<_>>()
        })
    };
    let row = move |(entry, a): (String, Attachment)| {
        let shown = if a.thumb.is_empty() { a.sha256.clone() } else { a.thumb.clone() };
        let media = if a.thumb.is_empty() { a.media } else { Some(MediaType::Jpeg) };
        let kind = a.kind;
        let label = move || kind.map(|k| k.label(ui.lang.get()).to_owned()).unwrap_or_default();
        let caption_entry = entry.clone();
        view! {
            <li class="photo" data-testid="photo-item">
                {thumb_img(ui, shown, media, "photo-thumb")}
                <div>
                    <span class="hint">{label}" · "{format!("{} KB", a.size.unwrap_or(0) / 1024)}</span>
                    <input type="text" data-testid="photo-caption" placeholder=move || ui.t("说明（可选）", "Caption (optional)")
                        prop:value=a.caption.clone()
                        on:change=move |ev| {
                            let text = event_target_value(&ev);
                            visit.update(|v| if let Some(a) = v.attachments.get_mut(&caption_entry) { a.caption = text.trim().to_owned() })
                        } />
                </div>
                <button type="button" class="small" data-testid="photo-remove"
                    on:click=move |_| base.with_value(|b| remove(form, b, &entry))>
                    {move || ui.t("删除", "Remove")}
                </button>
            </li>
        }
    };
    let low_space = move || {
        ui.storage.get().is_some_and(|(_, used, quota)| quota > 0.0 && quota - used < LOW_SPACE).then(|| {
            view! {
                <p class="warning" data-testid="photo-space">{move || ui.t(
                    "手机存储空间将满：请先联网同步已拍的照片，再继续拍照。",
                    "The phone's storage is nearly full: sync the photos taken so far before taking more.")}</p>
            }
        })
    };
    view! {
        <div class="photos">
            <p class="required-note">{move || ui.t("照片类别", "Kind of photo")}</p>
            <div class="chips">{kinds}</div>
            {low_space}
            <Show when=full>
                <p class="hint" data-testid="photo-limit">{move || match ui.lang.get() {
                    Lang::Zh => format!("一次走访最多 {MAX_ATTACHMENTS} 项佐证"),
                    Lang::En => format!("At most {MAX_ATTACHMENTS} pieces of evidence a visit"),
                }}</p>
            </Show>
            <label class="button" data-testid="photo-add" class:busy=move || busy.get() class:hidden=full>
                {move || if busy.get() { ui.t("正在处理照片…", "Preparing the photo…") } else { ui.t("拍照或选择照片", "Take or choose a photo") }}
                <input type="file" accept="image/*" capture="environment" multiple=true class="hidden-input"
                    data-testid="photo-input" on:change=on_file disabled=move || busy.get() />
            </label>
            <ul class="photo-list">
                <For each=entries key=|(entry, _)| entry.clone() children=row />
            </ul>
        </div>
    }
}

/// What the household head signs under: this month's record in a few lines.
fn summary(v: &Visit, lang: Lang) -> Vec<String> {
    let zh = lang == Lang::Zh;
    let mut lines = Vec::new();
    if let Some(m) = v.mode {
        let date = v.date.map(|d| d.to_string()).unwrap_or_default();
        lines.push(if zh {
            format!("走访：{} {date}", m.label(lang))
        } else {
            format!("Visit: {} {date}", m.label(lang))
        });
    }
    let employed = v.employment.values().filter(|e| e.status == Some(shared::EmploymentStatus::Employed)).count();
    if !v.employment.is_empty() {
        lines.push(if zh { format!("务工就业：{employed} 人") } else { format!("Working: {employed}") });
    }
    if let Some(net) = v.income.net() {
        lines.push(if zh {
            format!("当月家庭纯收入：{net} 元")
        } else {
            format!("Net income this month: {net} yuan")
        });
    }
    if !v.risks.is_empty() {
        let risks = v.risks.iter().map(|r| r.label(lang)).collect::<Vec<_>>().join("、");
        lines.push(if zh { format!("风险：{risks}") } else { format!("Risks: {risks}") });
    }
    lines
}

fn signature(form: Form) -> impl IntoView {
    let (ui, visit) = (form.ui, form.visit);
    let open = RwSignal::new(false);
    let pad = NodeRef::<leptos::html::Canvas>::new();
    let drawn = RwSignal::new(false);
    let signed = move || visit.with(|v| v.signed_at());
    // Drawing: pointer events, one stroke per press; the canvas keeps the ink.
    let last = StoredValue::new(None::<(f64, f64)>);
    let point = move |ev: &web_sys::PointerEvent| -> Option<(web_sys::CanvasRenderingContext2d, f64, f64)> {
        let canvas: web_sys::HtmlCanvasElement = pad.get_untracked()?;
        let rect = canvas.get_bounding_client_rect();
        let sx = f64::from(canvas.width()) / rect.width().max(1.0);
        let sy = f64::from(canvas.height()) / rect.height().max(1.0);
        let ctx = photo::context(&canvas).ok()?;
        Some((ctx, (f64::from(ev.client_x()) - rect.left()) * sx, (f64::from(ev.client_y()) - rect.top()) * sy))
    };
    let down = move |ev: web_sys::PointerEvent| {
        ev.prevent_default();
        if let Some((_, x, y)) = point(&ev) {
            last.set_value(Some((x, y)));
        }
    };
    let mv = move |ev: web_sys::PointerEvent| {
        let Some(from) = last.get_value() else { return };
        ev.prevent_default();
        if let Some((ctx, x, y)) = point(&ev) {
            ctx.set_line_width(3.0);
            ctx.set_line_cap("round");
            ctx.set_stroke_style_str("#111");
            ctx.begin_path();
            ctx.move_to(from.0, from.1);
            ctx.line_to(x, y);
            ctx.stroke();
            last.set_value(Some((x, y)));
            drawn.set(true);
        }
    };
    let up = move |_ev: web_sys::PointerEvent| last.set_value(None);
    let clear = move |_| {
        if let Some(canvas) = pad.get_untracked()
            && let Ok(ctx) = photo::context(&canvas)
        {
            ctx.clear_rect(0.0, 0.0, f64::from(canvas.width()), f64::from(canvas.height()));
        }
        drawn.set(false);
    };
    let confirm = move |_| {
        let Some(canvas) = pad.get_untracked() else { return };
        leptos::task::spawn_local(async move {
            match photo::blob_of(&canvas, "image/png", 1.0).await {
                Ok(png) => {
                    if let Err(e) = crate::blobs::keep(&[&png]).await {
                        ui.say(format!("{}：{e}", ui.t("签字未保存", "The signature was not kept")));
                        return;
                    }
                    let a = attachment(ui, &png, None, EvidenceKind::Signature, String::new());
                    visit.update(|v| {
                        v.attachments.insert(entry_of(&a.sha256).to_owned(), a);
                    });
                    open.set(false);
                    drawn.set(false);
                }
                Err(e) => ui.say(e),
            }
        });
    };
    view! {
        <div class="sign">
            {move || signed().map(|at| view! {
                <p class="confirmed" data-testid="signed">{move || ui.t("✓ 户主已签字确认", "✓ Confirmed by the household head")}" · "{crate::ui::clock(at)}</p>
            })}
            <Show when=move || !open.get() fallback=move || view! {
                <div class="sign-pad" data-testid="sign-pad">
                    <p class="hint">{move || ui.t("请户主核对以下本月记录后在框内签字：", "The household head checks this month's record and signs in the box:")}</p>
                    <ul class="sign-summary" data-testid="sign-summary">
                        {move || summary(&visit.get(), ui.lang.get()).into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
                    </ul>
                    <canvas node_ref=pad width="600" height="240" class="pad" data-testid="sign-canvas"
                        on:pointerdown=down on:pointermove=mv on:pointerup=up on:pointerleave=up></canvas>
                    <div class="row">
                        <button type="button" data-testid="sign-clear" on:click=clear>{move || ui.t("重写", "Clear")}</button>
                        <button type="button" class="primary" data-testid="sign-confirm" disabled=move || !drawn.get() on:click=confirm>
                            {move || ui.t("确认签字", "Confirm the signature")}</button>
                        <button type="button" data-testid="sign-cancel" on:click=move |_| open.set(false)>{move || ui.t("取消", "Cancel")}</button>
                    </div>
                </div>
            }>
                <button type="button" data-testid="sign-open" on:click=move |_| open.set(true)>
                    {move || if signed().is_some() { ui.t("重新签字", "Sign again") } else { ui.t("户主签字确认", "The household head signs") }}
                </button>
            </Show>
            {move || visit.get().evidence().into_iter().rev().find(|(_, a)| a.kind == Some(EvidenceKind::Signature)).map(|(_, a)| {
                thumb_img(form.ui, a.sha256.clone(), a.media, "signature-img")
            })}
        </div>
    }
}

fn location(form: Form) -> impl IntoView {
    let (ui, visit) = (form.ui, form.visit);
    let busy = RwSignal::new(false);
    let take = move |_| {
        let Some(geo) = web_sys::window().and_then(|w| w.navigator().geolocation().ok()) else {
            ui.say(ui.t("本机无法定位", "This phone cannot give a location"));
            return;
        };
        busy.set(true);
        let ok = Closure::once_into_js(move |pos: wasm_bindgen::JsValue| {
            let get = |o: &wasm_bindgen::JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).ok();
            let coords = get(&pos, "coords").unwrap_or_default();
            let num = |k: &str| get(&coords, k).and_then(|v| v.as_f64());
            if let (Some(lat), Some(lon)) = (num("latitude"), num("longitude")) {
                let fix = Location {
                    lat: Some((lat * 1e6).round() as i64),
                    lon: Some((lon * 1e6).round() as i64),
                    accuracy: num("accuracy").map(|a| a.round().clamp(0.0, 1_000_000.0) as i64),
                    at: Some(state::now()),
                };
                visit.update(|v| v.location = fix);
            }
            busy.set(false);
        });
        let failed = Closure::once_into_js(move |e: wasm_bindgen::JsValue| {
            let why = js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_default();
            ui.say(format!("{}：{why}", ui.t("未能定位", "No location")));
            busy.set(false);
        });
        let options = web_sys::PositionOptions::new();
        options.set_enable_high_accuracy(true);
        options.set_timeout(30_000);
        options.set_maximum_age(60_000);
        if geo
            .get_current_position_with_error_callback_and_options(
                ok.unchecked_ref(),
                Some(failed.unchecked_ref()),
                &options,
            )
            .is_err()
        {
            busy.set(false);
        }
    };
    let shown = move || {
        visit.with(|v| v.location).degrees().map(|(lat, lon)| {
            let acc = visit.with(|v| v.location.accuracy).unwrap_or(0);
            view! { <p data-testid="location">{format!("{}{lat:.6}, {lon:.6} (±{acc} m)", ui.t("位置：", "Location: "))}</p> }
        })
    };
    view! {
        <div class="locate">
            {shown}
            <div class="row">
                <button type="button" data-testid="location-take" disabled=move || busy.get() on:click=take>
                    {move || if busy.get() { ui.t("正在定位…", "Locating…") } else { ui.t("记录走访位置", "Record where the visit is") }}
                </button>
                <Show when=move || visit.with(|v| v.location.is_set())>
                    <button type="button" class="small" data-testid="location-clear" on:click=move |_| visit.update(|v| v.location = Location::default())>
                        {move || ui.t("清除位置", "Clear the location")}</button>
                </Show>
            </div>
        </div>
    }
}
