//! 走访照片 and 签字: a picture from the camera or the gallery made fit for a cheap
//! phone and a 2G link. It is decoded already scaled down (its long edge at most
//! `PHOTO_EDGE`, read from the file's header first so that a 12-megapixel photo is
//! never held whole), drawn once, and encoded as JPEG at a quality stepped down until
//! it is at most `PHOTO_TARGET_BYTES`, with a thumbnail; encoding anew drops every EXIF
//! field (the camera's location among them). What the browser produced is checked by
//! its bytes, not by what was asked for. The SHA-256 names each result.

use js_sys::{Promise, Uint8Array};
use shared::evidence::{MAX_BLOB_BYTES, MediaType, PHOTO_EDGE, PHOTO_TARGET_BYTES, THUMB_EDGE, fit, image_size};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// One encoded picture.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// What they are, by their content.
    pub media: MediaType,
    /// Their SHA-256, lowercase hex.
    pub sha256: String,
}

/// A photo and its thumbnail.
#[derive(Debug, Clone)]
pub struct Photo {
    /// At most `PHOTO_EDGE` on its long edge.
    pub full: Encoded,
    /// About 8 KB.
    pub thumb: Encoded,
}

fn js(e: JsValue) -> String {
    e.as_string()
        .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// The bytes of `blob`.
pub async fn bytes_of(blob: &web_sys::Blob) -> Result<Vec<u8>, String> {
    let buf = JsFuture::from(blob.array_buffer()).await.map_err(js)?;
    Ok(Uint8Array::new(&buf).to_vec())
}

/// SHA-256 of `bytes`, by the browser's crypto.
pub async fn sha256(bytes: &[u8]) -> Result<String, String> {
    let subtle = web_sys::window().ok_or("浏览器不可用 / No browser window")?.crypto().map_err(js)?.subtle();
    let promise = subtle.digest_with_str_and_u8_array("SHA-256", bytes).map_err(js)?;
    let digest = Uint8Array::new(&JsFuture::from(promise).await.map_err(js)?).to_vec();
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// `file` made into a photo and its thumbnail.
pub async fn from_file(file: &web_sys::File) -> Result<Photo, String> {
    // The header holds the size (and a JPEG's orientation) in its first kilobytes.
    let head = bytes_of(&file.slice_with_i32_and_i32(0, 256 << 10).map_err(js)?).await?;
    let window = web_sys::window().ok_or("浏览器不可用 / No browser window")?;
    let options = web_sys::ImageBitmapOptions::new();
    options.set_image_orientation(web_sys::ImageOrientation::FromImage);
    options.set_resize_quality(web_sys::ResizeQuality::High);
    if let Some((w, h)) = image_size(&head) {
        // One edge given: the browser keeps the proportions.
        let (fw, fh) = fit((w, h), PHOTO_EDGE);
        if w >= h {
            options.set_resize_width(fw);
        } else {
            options.set_resize_height(fh);
        }
    }
    let promise = window.create_image_bitmap_with_blob_and_image_bitmap_options(file, &options).map_err(js)?;
    let bitmap: web_sys::ImageBitmap = JsFuture::from(promise)
        .await
        .map_err(|e| format!("无法读取这张图片 / This picture cannot be read: {}", js(e)))?
        .dyn_into()
        .map_err(js)?;
    let size = (bitmap.width(), bitmap.height());
    let full = encode(&bitmap, fit(size, PHOTO_EDGE), PHOTO_TARGET_BYTES).await;
    let thumb = encode(&bitmap, fit(size, THUMB_EDGE), 12 << 10).await;
    bitmap.close();
    Ok(Photo { full: full?, thumb: thumb? })
}

/// A canvas of `w` × `h`.
pub fn canvas(w: u32, h: u32) -> Result<web_sys::HtmlCanvasElement, String> {
    let doc = web_sys::window().and_then(|w| w.document()).ok_or("浏览器不可用 / No browser document")?;
    let canvas: web_sys::HtmlCanvasElement = doc
        .create_element("canvas")
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "浏览器不支持画布 / The browser has no canvas")?;
    canvas.set_width(w);
    canvas.set_height(h);
    Ok(canvas)
}

/// The 2D context of `canvas`.
pub fn context(canvas: &web_sys::HtmlCanvasElement) -> Result<web_sys::CanvasRenderingContext2d, String> {
    canvas
        .get_context("2d")
        .map_err(js)?
        .ok_or("浏览器不支持画布 / The browser has no 2D canvas")?
        .dyn_into()
        .map_err(|_| "浏览器不支持画布 / The browser has no 2D canvas".into())
}

/// What `canvas` holds, encoded as `mime` (at `quality` for JPEG), checked by content.
pub async fn blob_of(canvas: &web_sys::HtmlCanvasElement, mime: &str, quality: f64) -> Result<Encoded, String> {
    let mut failed = None;
    let promise = Promise::new(&mut |resolve, reject| {
        if let Err(e) = canvas.to_blob_with_type_and_encoder_options(&resolve, mime, &quality.into()) {
            failed = Some(js(e));
            let _ = reject.call0(&JsValue::NULL);
        }
    });
    let blob = JsFuture::from(promise).await.map_err(|e| failed.clone().unwrap_or_else(|| js(e)))?;
    let blob: web_sys::Blob =
        blob.dyn_into().map_err(|_| "浏览器未能生成图片 / The browser made no picture".to_owned())?;
    let bytes = bytes_of(&blob).await?;
    // Asked for JPEG, some browsers give PNG (or WebP): what came is what counts.
    let media = MediaType::sniff(&bytes).ok_or_else(|| {
        format!("浏览器生成了 {0}，不是 {mime} / The browser made {0} instead of {mime}", blob.type_())
    })?;
    let sha256 = sha256(&bytes).await?;
    Ok(Encoded { bytes, media, sha256 })
}

/// `bitmap` drawn at `(w, h)` and encoded as JPEG, the quality stepped down (and then
/// the size) until it is at most `target` bytes; the smallest made when none is.
async fn encode(bitmap: &web_sys::ImageBitmap, (w, h): (u32, u32), target: usize) -> Result<Encoded, String> {
    let mut smallest: Option<Encoded> = None;
    for scale in [1.0, 0.8, 0.64] {
        let (w, h) = (((w as f64) * scale).round().max(1.0) as u32, ((h as f64) * scale).round().max(1.0) as u32);
        let canvas = canvas(w, h)?;
        let ctx = context(&canvas)?;
        // A white ground under a transparent PNG (JPEG has no transparency).
        ctx.set_fill_style_str("#fff");
        ctx.fill_rect(0.0, 0.0, w as f64, h as f64);
        ctx.draw_image_with_image_bitmap_and_dw_and_dh(bitmap, 0.0, 0.0, w as f64, h as f64).map_err(js)?;
        for quality in [0.82, 0.72, 0.62, 0.52, 0.42] {
            let made = blob_of(&canvas, "image/jpeg", quality).await?;
            if made.bytes.len() <= target {
                return Ok(made);
            }
            if smallest.as_ref().is_none_or(|s| made.bytes.len() < s.bytes.len()) {
                smallest = Some(made);
            }
        }
    }
    smallest
        .filter(|s| s.bytes.len() <= MAX_BLOB_BYTES)
        .ok_or_else(|| "照片无法压缩到上限以内 / The photo cannot be made small enough".into())
}
