//! A visit's evidence as the household pages show it (the phone's and the console's):
//! the photos as thumbnails (the full photo on a tap), the household head's sign-off
//! with its time, and the location fix as coordinates with a link. On the phone the
//! pictures come from its own store; in the console from the server
//! (`GET /api/blobs/{sha256}?household=…`, with the session's token, so an `<img>`
//! shows an object URL of the bytes fetched).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use leptos::prelude::*;
use shared::evidence::{EvidenceKind, MediaType};
use shared::{Coded, Visit};

use crate::state::Ui;

/// Where a picture's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// This phone's store; a full photo the phone let go of (`blobs::spare`) comes
    /// from the server, through `household`, when the phone is online.
    Phone {
        /// The household whose visit references it (`None`: a visit being written,
        /// whose pictures are all on the phone).
        household: Option<String>,
    },
    /// The server, through a household that references it (the console).
    #[cfg_attr(not(feature = "console"), allow(dead_code))]
    Server {
        /// The household.
        household: String,
        /// The session's token.
        token: String,
    },
}

/// Object URLs kept at most: each holds its picture's bytes (a full photo is up to
/// 150 KB) until revoked, and a supervisor may open hundreds of households in a day.
const KEPT_URLS: usize = 60;

thread_local! {
    /// Object URLs of the pictures shown last, by hash, oldest first.
    static URLS: RefCell<(HashMap<String, String>, VecDeque<String>)> = RefCell::default();
}

/// Keeps `url` for `sha256`, revoking the oldest kept beyond [`KEPT_URLS`] (an image
/// already drawn keeps its pixels; one drawn again fetches anew). The URL to use: the
/// one kept already when the same picture was fetched twice at once.
fn keep(sha256: &str, url: String) -> String {
    URLS.with_borrow_mut(|(urls, order)| {
        if let Some(kept) = urls.get(sha256) {
            let _ = web_sys::Url::revoke_object_url(&url);
            return kept.clone();
        }
        urls.insert(sha256.to_owned(), url.clone());
        order.push_back(sha256.to_owned());
        while order.len() > KEPT_URLS {
            if let Some(old) = order.pop_front().and_then(|sha| urls.remove(&sha)) {
                let _ = web_sys::Url::revoke_object_url(&old);
            }
        }
        url
    })
}

/// An object URL of `bytes`.
pub fn object_url(bytes: &[u8], media: MediaType) -> Option<String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(media.mime());
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

/// An `<img>` address for the picture `sha256` (`None` when it cannot be had: not on
/// this phone, or not on the server yet).
pub async fn url_of(ui: Ui, source: &Source, sha256: &str, media: Option<MediaType>) -> Option<String> {
    if let Some(url) = URLS.with_borrow(|(urls, _)| urls.get(sha256).cloned()) {
        return Some(url);
    }
    let on_phone = match source {
        Source::Phone { .. } => crate::blobs::read(sha256).await,
        Source::Server { .. } => None,
    };
    let bytes = match on_phone {
        Some(bytes) => bytes,
        None => {
            let (household, token) = match source {
                Source::Phone { household } => (household.clone()?, ui.session.get_untracked()?.token),
                Source::Server { household, token } => (household.clone(), token.clone()),
            };
            crate::api::get_bytes(&token, &format!("/api/blobs/{sha256}?household={household}")).await.ok()?
        }
    };
    let media = MediaType::sniff(&bytes).or(media)?;
    Some(keep(sha256, object_url(&bytes, media)?))
}

/// The picture `sha256` as an `<img>`, fetched when shown.
pub fn picture(
    ui: Ui,
    source: Source,
    sha256: String,
    media: Option<MediaType>,
    testid: &'static str,
) -> impl IntoView {
    let src = LocalResource::new(move || {
        let (source, sha) = (source.clone(), sha256.clone());
        async move { url_of(ui, &source, &sha, media).await }
    });
    view! {
        {move || match src.get().flatten() {
            Some(url) => view! { <img class="thumb" data-testid=testid alt="" src=url /> }.into_any(),
            None => view! { <span class="thumb missing" data-testid=format!("{testid}-missing")></span> }.into_any(),
        }}
    }
}

/// The evidence of visit `v`, or nothing when it has none.
pub fn of_visit(ui: Ui, source: Source, v: &Visit) -> impl IntoView + use<> {
    let lang = ui.lang.get_untracked();
    let list = v.evidence();
    let location = v.location;
    let signed = v.signed_at();
    (!list.is_empty() || location.is_set()).then(|| {
        let full = RwSignal::new(None::<(String, Option<MediaType>)>);
        let items = list
            .into_iter()
            .map(|(_, a)| {
                let (sha, thumb, media) = (a.sha256.clone(), a.thumb.clone(), a.media);
                let shown = if thumb.is_empty() { sha.clone() } else { thumb };
                let shown_media = if a.thumb.is_empty() { media } else { Some(MediaType::Jpeg) };
                let kind = a.kind.map(|k| k.label(lang).to_owned()).unwrap_or_default();
                let caption = a.caption.clone();
                let testid = if a.kind == Some(EvidenceKind::Signature) { "evidence-signature" } else { "evidence-photo" };
                view! {
                    <li data-testid=testid>
                        <button type="button" class="thumb-button" on:click=move |_| full.set(Some((sha.clone(), media)))>
                            {picture(ui, source.clone(), shown, shown_media, "evidence-thumb")}
                        </button>
                        <span class="hint">{kind}{(!caption.is_empty()).then(|| format!(" · {caption}"))}</span>
                    </li>
                }
            })
            .collect_view();
        let overlay_source = source.clone();
        view! {
            <div class="visit-evidence" data-testid="visit-evidence">
                {signed.map(|at| view! {
                    <p class="confirmed" data-testid="evidence-signed">{ui.t("✓ 户主已签字确认", "✓ Confirmed by the household head")}" · "{crate::ui::clock(at)}</p>
                })}
                <ul class="evidence-list">{items}</ul>
                {location.degrees().map(|(lat, lon)| {
                    let link = format!("https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}#map=18/{lat:.6}/{lon:.6}");
                    view! {
                        <p data-testid="evidence-location">{ui.t("走访定位：", "Location: ")}
                            <a href=link target="_blank" rel="noopener noreferrer">{format!("{lat:.6}, {lon:.6}")}</a>
                            {location.accuracy.map(|a| format!(" (±{a} m)"))}
                            {location.at.map(|t| format!(" · {}", crate::ui::clock(t)))}
                        </p>
                    }
                })}
                {move || full.get().map(|(sha, media)| view! {
                    <div class="photo-full" data-testid="photo-full" on:click=move |_| full.set(None)>
                        {picture(ui, overlay_source.clone(), sha, media, "photo-full-img")}
                        <p class="hint">{ui.t("点击关闭", "Tap to close")}</p>
                    </div>
                })}
            </div>
        }
    })
}
