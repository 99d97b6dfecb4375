//! 附件 (PROTOCOL.md §4.7): `POST /api/blobs/missing` (which of the phone's photos the
//! server lacks, and how much of each it kept), `PUT /api/blobs/{sha256}` (one piece of
//! one, kept only when a household the caller may touch references it) and
//! `GET /api/blobs/{sha256}` (the bytes, to someone whose scope covers a household
//! that references them). Every refusal of access is the same 403, so a hash or a
//! household number tells nobody what exists outside their scope. (`missing` answers
//! any logged-in user about any hash: whether the server holds a picture, which only
//! someone who already holds that very picture can ask about.)

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, body::Body};
use futures_util::StreamExt;
use shared::api::ErrorCode;
use shared::api::blob::MAX_ASKED;
use shared::api::{BlobHeld, BlobMissing, BlobsAsked, BlobsMissing};
use shared::evidence::{MAX_BLOB_BYTES, MAX_THUMB_BYTES, is_sha256};

use super::json_body;
use crate::AppState;
use crate::auth::Session;
use crate::blobs::{BlobError, Blobs, Held};
use crate::error::{AppError, AppResult};
use crate::store::{Access, Reader};

/// Where `PUT` puts a piece.
#[derive(Debug, serde::Deserialize)]
pub struct Piece {
    /// The household whose visit references the blob.
    pub household: String,
    /// The piece's first byte within the blob.
    pub offset: u64,
    /// The blob's size.
    pub total: u64,
}

/// `GET`'s household.
#[derive(Debug, serde::Deserialize)]
pub struct Of {
    /// The household whose visit references the blob.
    pub household: String,
}

fn store(state: &AppState) -> AppResult<Blobs> {
    state.blobs.clone().ok_or_else(|| {
        AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::NoBlobStore,
            "本服务器未配置附件存储（启动时加 --blobs 目录），照片暂不能上传",
            "This server has no blob store (start it with --blobs DIR); photos cannot be uploaded yet",
        )
    })
}

fn checked(sha256: &str) -> AppResult<()> {
    if is_sha256(sha256) {
        return Ok(());
    }
    Err(AppError::bad_request(
        ErrorCode::BadHash,
        format!("不是有效的 SHA-256（64 位小写十六进制）：{}", sha256.chars().take(80).collect::<String>()),
        format!("Not a SHA-256 in 64 lowercase hex digits: {}", sha256.chars().take(80).collect::<String>()),
    ))
}

fn not_referenced() -> AppError {
    AppError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::BlobNotReferenced,
        "该照片不属于您负责的户的走访记录",
        "This photo is not referenced by a visit of a household in your scope",
    )
}

/// How `household` references `sha256`, if the caller may touch it and it does: the
/// size its visit records (`None` for a thumbnail, whose size is not recorded).
fn reference(r: &mut dyn Reader, session: &Session, household: &str, sha256: &str) -> AppResult<Option<Option<i64>>> {
    if r.access(&session.user, household)? != Access::Allowed {
        return Ok(None);
    }
    let Some(doc) = r.load_doc(household)? else { return Ok(None) };
    let h = doc.household().map_err(AppError::internal)?;
    // A photo a cadre removed is neither taken nor served any more.
    let found = h.visits.values().flat_map(|v| v.attachments.values()).filter(|a| !a.removed).find_map(|a| {
        if a.sha256 == sha256 {
            Some(a.size)
        } else if a.thumb == sha256 {
            Some(None)
        } else {
            None
        }
    });
    Ok(found)
}

async fn referenced(state: &AppState, session: Session, household: String, sha256: String) -> AppResult<Option<i64>> {
    state.store.read(move |r| Ok(reference(r, &session, &household, &sha256))).await??.ok_or_else(not_referenced)
}

/// `POST /api/blobs/missing`.
pub async fn missing(State(state): State<AppState>, _session: Session, body: Bytes) -> AppResult<Json<BlobsMissing>> {
    let blobs = store(&state)?;
    let asked: BlobsAsked = json_body(&body)?;
    if asked.hashes.len() > MAX_ASKED {
        return Err(AppError::bad_request(
            ErrorCode::TooManyHashes,
            format!("一次最多询问 {MAX_ASKED} 个附件"),
            format!("Ask about at most {MAX_ASKED} blobs at once"),
        ));
    }
    for h in &asked.hashes {
        checked(h)?;
    }
    // Several at once: an object store answers each over the network.
    let held: Vec<_> = futures_util::stream::iter(asked.hashes)
        .map(|sha256| {
            let blobs = blobs.clone();
            async move { blobs.held(&sha256).await.map(|held| (sha256, held)) }
        })
        .buffered(16)
        .collect()
        .await;
    let mut missing = Vec::new();
    for held in held {
        if let (sha256, Held::Partial(have)) = held.map_err(failed)? {
            missing.push(BlobMissing { sha256, have });
        }
    }
    Ok(Json(BlobsMissing { missing }))
}

/// `PUT /api/blobs/{sha256}?household=…&offset=…&total=…`: one piece.
pub async fn put(
    State(state): State<AppState>,
    session: Session,
    Path(sha256): Path<String>,
    Query(piece): Query<Piece>,
    body: Bytes,
) -> AppResult<Json<BlobHeld>> {
    let blobs = store(&state)?;
    checked(&sha256)?;
    if piece.total > MAX_BLOB_BYTES as u64 {
        return Err(too_large());
    }
    let size = referenced(&state, session, piece.household.clone(), sha256.clone()).await?;
    if size.is_none() && piece.total > MAX_THUMB_BYTES as u64 {
        return Err(AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BlobTooLarge,
            format!("缩略图超过 {} KB 上限", MAX_THUMB_BYTES / 1024),
            format!("A thumbnail is at most {} KB", MAX_THUMB_BYTES / 1024),
        ));
    }
    if let Some(size) = size
        && u64::try_from(size).ok() != Some(piece.total)
    {
        return Err(AppError::bad_request(
            ErrorCode::BlobSize,
            format!("照片大小 {} 字节与走访记录中的 {size} 字节不符", piece.total),
            format!("The photo's size, {} bytes, is not the {size} bytes its visit records", piece.total),
        ));
    }
    let total = piece.total;
    match blobs.put(&sha256, piece.offset, total, body).await {
        Ok(Held::Complete) => Ok(Json(BlobHeld { have: total, complete: true })),
        Ok(Held::Partial(have)) => Ok(Json(BlobHeld { have, complete: false })),
        Err(e) => Err(failed(e)),
    }
}

/// What a store's refusal or failure says to the caller.
fn failed(e: BlobError) -> AppError {
    match e {
        BlobError::TooLarge => too_large(),
        BlobError::NotAnImage => AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BlobNotImage,
            "只接受 JPEG 或 PNG 图片",
            "Only JPEG and PNG images are taken",
        ),
        BlobError::Gap { have } => AppError::conflict(
            ErrorCode::BlobGap,
            format!("服务器只收到前 {have} 字节，请从第 {have} 字节续传"),
            format!("The server holds the first {have} bytes; continue from byte {have}"),
        ),
        BlobError::HashMismatch { found } => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::HashMismatch,
            format!("收到的内容与其 SHA-256 不符（实为 {found}），已丢弃，请重新上传"),
            format!("The bytes received do not match their SHA-256 (they hash to {found}); dropped, send them again"),
        ),
        BlobError::Bucket(e) => unavailable(&e, "照片稍后会自动重传", "the photos will be sent again later"),
        e @ (BlobError::Io(_) | BlobError::Config(_)) => AppError::internal(e),
    }
}

/// The object store did not answer: `then` says what happens next.
fn unavailable(e: &object_store::Error, then_zh: &str, then_en: &str) -> AppError {
    tracing::error!(%e, "the object store failed");
    AppError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::BlobStoreUnavailable,
        format!("附件存储暂时无法访问，{then_zh}"),
        format!("The blob store cannot be reached just now; {then_en}"),
    )
}

fn too_large() -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::BlobTooLarge,
        format!("附件超过 {} KB 上限", MAX_BLOB_BYTES / 1024),
        format!("The attachment is over the {} KB limit", MAX_BLOB_BYTES / 1024),
    )
}

/// `GET /api/blobs/{sha256}?household=…`.
pub async fn get(
    State(state): State<AppState>,
    session: Session,
    Path(sha256): Path<String>,
    Query(of): Query<Of>,
) -> AppResult<Response> {
    let blobs = store(&state)?;
    checked(&sha256)?;
    referenced(&state, session, of.household, sha256.clone()).await?;
    let read = blobs.read(&sha256).await.map_err(|e| match e {
        BlobError::Bucket(e) => unavailable(&e, "请稍后再看", "try again later"),
        e => failed(e),
    });
    let Some((media, bytes)) = read? else {
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::BlobMissing,
            "照片尚未从手机上传到服务器",
            "The photo has not reached the server from the phone yet",
        ));
    };
    // Personal: like every `/api/` answer it carries `Cache-Control: no-store`
    // (`headers.rs`), so no cache, shared or the browser's, keeps it.
    let headers = [(header::CONTENT_TYPE, media.mime()), (header::CONTENT_DISPOSITION, "inline")];
    Ok((headers, Body::from(bytes)).into_response())
}
