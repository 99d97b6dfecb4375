//! `POST /api/sync`: the batched Automerge sync. One request carries many documents'
//! sync messages (format: `shared::wire`, PROTOCOL.md). Each document is authorised,
//! merged into a copy, checked and validated with `shared`, stored with its
//! projections (`merge`, on every core); the transaction commits before the reply is
//! sent. A refused document
//! gets its own refusal and the rest of the batch still goes through.

use shared::api::ErrorCode;
use std::io::Read;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::Date;
use shared::wire::{self, Incoming, Outgoing, RefusalCode, Reply};

use crate::AppState;
use crate::auth::{Session, now};
use crate::denied::{Denied, DeniedResult};
use crate::error::{AppError, AppResult};
use crate::merge::merge_batch;
use crate::store::Writer;
use shared::api::Role;

/// Largest request body after decompression.
pub const MAX_BODY: usize = 16 << 20;
/// The media type of sync bodies.
pub const CONTENT_TYPE: &str = "application/vnd.huhujian.sync";

/// Reads a whole body within [`MAX_BODY`], inflating it when it is gzip-encoded. A
/// truncated or corrupt gzip stream is an error (decoders that stop quietly at the
/// end of the input would hand on a short body and a misleading complaint).
pub async fn read_body(headers: &HeaderMap, body: Body) -> AppResult<Vec<u8>> {
    let raw = axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(s) = source {
            if s.to_string().contains("length limit exceeded") {
                return AppError::too_large(MAX_BODY);
            }
            source = s.source();
        }
        AppError::bad_request(
            ErrorCode::UnreadableBody,
            format!("请求体无法读取：{e}"),
            format!("The request body could not be read: {e}"),
        )
    })?;
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    match encoding.trim() {
        "identity" | "" => Ok(raw.to_vec()),
        "gzip" => {
            let mut out = Vec::new();
            let mut decoder = flate2::read::GzDecoder::new(&raw[..]).take(MAX_BODY as u64 + 1);
            decoder.read_to_end(&mut out).map_err(|e| {
                AppError::bad_request(
                    ErrorCode::UnreadableBody,
                    format!("gzip 数据损坏或不完整：{e}"),
                    format!("The gzip body is corrupt or incomplete: {e}"),
                )
            })?;
            if out.len() > MAX_BODY {
                return Err(AppError::too_large(MAX_BODY));
            }
            Ok(out)
        }
        other => Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedEncoding,
            format!("不支持的压缩方式“{other}”，请使用 gzip"),
            format!("Content-Encoding \"{other}\" is not supported; use gzip"),
        )),
    }
}

/// Sync hands out whole documents, whose history holds every ID number ever recorded
/// in full: cadres sync the households they visit, admins may (audited), supervisors
/// read masked answers in the console instead.
fn may_sync(session: &Session) -> AppResult<()> {
    if session.user.role == Role::Supervisor {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::SyncNotForSupervisors,
            "督导不通过同步下载整户记录（记录中有完整身份证号）；请在督导工作台查看、审核和处理冲突",
            "Supervisors do not download whole household records (they hold full ID numbers); use the console to read, review and settle conflicts",
        ));
    }
    Ok(())
}

/// Records in the audit log that an admin synced (and so could read in full) the
/// households of `entries`.
fn audit_admin(w: &mut dyn Writer, session: &Session, entries: &[Outgoing], at: i64) -> DeniedResult<()> {
    if session.user.role != Role::Admin || entries.is_empty() {
        return Ok(());
    }
    const NAMED: usize = 20;
    let mut detail = entries.iter().take(NAMED).map(|e| e.doc_id.as_str()).collect::<Vec<_>>().join(",");
    if entries.len() > NAMED {
        detail.push_str(&format!(" … ({} households)", entries.len()));
    }
    Ok(w.audit(at, &session.user.id, "sync_whole_documents", &detail)?)
}

/// Counts a merged batch for the metrics: its documents taken, each refusal by code
/// (a transaction retried on PostgreSQL counts again: a rare over-count).
fn count(replies: &[Reply]) {
    let mut merged = 0;
    for reply in replies {
        match reply {
            Reply::Refused(r) => crate::metrics::refused(&r.code),
            _ => merged += 1,
        }
    }
    crate::metrics::sync_batch(merged);
}

/// The handler.
pub async fn sync(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    may_sync(&session)?;
    let bytes = read_body(&headers, body).await?;
    let entries = wire::decode_request(&bytes).map_err(|e| {
        AppError::bad_request(
            ErrorCode::BadBatch,
            format!("同步请求格式错误：{e}"),
            format!("Malformed sync request: {e}"),
        )
    })?;
    let docs = state.docs.clone();
    let response = state
        .store
        .write(move |w| {
            let at = now();
            let today = Date::in_china(at);
            audit_admin(w, &session, &entries, at)?;
            let replies = merge_batch(w, &docs, &session, &entries, today, at)?;
            count(&replies);
            let replies: Vec<Incoming> = entries
                .iter()
                .zip(replies)
                .map(|(entry, reply)| Incoming { doc_id: entry.doc_id.clone(), reply })
                .collect();
            Ok::<_, Denied>(wire::encode_response(&replies))
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], response).into_response())
}

/// `POST /api/sync/{id}`: the same sync for one document with no framing, for clients
/// that speak plain Automerge sync (e.g. JavaScript's `@automerge/automerge`): the body
/// is one sync message (empty: "I have nothing"), the answer is the server's message
/// (200), or 204 when there is nothing more to exchange.
pub async fn sync_single(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    if !shared::fields::is_valid_id(&id) {
        return Err(AppError::bad_request(
            ErrorCode::BadId,
            format!("户编码“{id}”格式错误"),
            format!("Household id \"{id}\" is malformed"),
        ));
    }
    may_sync(&session)?;
    let entry = Outgoing { doc_id: id, message: read_body(&headers, body).await? };
    let docs = state.docs.clone();
    let reply = state
        .store
        .write(move |w| {
            let at = now();
            audit_admin(w, &session, std::slice::from_ref(&entry), at)?;
            let reply =
                merge_batch(w, &docs, &session, std::slice::from_ref(&entry), Date::in_china(at), at)?.remove(0);
            if !matches!(reply, Reply::Refused(_)) {
                crate::metrics::sync_batch(1);
            }
            Ok::<_, Denied>(reply)
        })
        .await?;
    match reply {
        Reply::Message(m) => Ok(([(header::CONTENT_TYPE, "application/octet-stream")], m).into_response()),
        Reply::InSync => Ok(StatusCode::NO_CONTENT.into_response()),
        Reply::Refused(r) => {
            let status = match r.kind() {
                Some(RefusalCode::UnknownHousehold) => StatusCode::NOT_FOUND,
                Some(RefusalCode::BadMessage) => StatusCode::BAD_REQUEST,
                Some(RefusalCode::DocTooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
                Some(RefusalCode::NotAllowed) => StatusCode::FORBIDDEN,
                Some(RefusalCode::HistoryRewritten) => StatusCode::CONFLICT,
                Some(RefusalCode::Damaged) => StatusCode::INTERNAL_SERVER_ERROR,
                Some(RefusalCode::Schema | RefusalCode::Invalid) | None => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let code = ErrorCode::Refused(r.kind().unwrap_or(RefusalCode::Invalid));
            Err(AppError::new(status, code, r.zh, r.en))
        }
    }
}
