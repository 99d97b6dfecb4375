//! One error type for every handler, turned into a status and a JSON body
//! `{"error": code, "zh": …, "en": …}` in one place. A 5xx logs its cause and tells the
//! client only that something went wrong.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::api::ErrorCode;

use crate::denied::{Denied, Kind};
use crate::store::StoreError;

/// An error answer.
#[derive(Debug)]
pub struct AppError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// 中文说明.
    pub zh: String,
    /// English message.
    pub en: String,
    /// Seconds to wait (429).
    pub retry_after: Option<u64>,
}

/// The JSON body of an error answer (`shared::api`, as clients read it).
pub use shared::api::ErrorBody;

impl AppError {
    /// An error with a status, a code and both messages.
    pub fn new(status: StatusCode, code: ErrorCode, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { status, code, zh: zh.into(), en: en.into(), retry_after: None }
    }
    /// 409 with a code: the request cannot follow what is stored.
    pub fn conflict(code: ErrorCode, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, zh, en)
    }
    /// 400 with a code.
    pub fn bad_request(code: ErrorCode, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, zh, en)
    }
    /// 401: no, expired or unknown token.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "请先登录（登录已过期或无效）",
            "Log in first (the session is missing, expired or invalid)",
        )
    }
    /// 403: authenticated, but not allowed.
    pub fn forbidden(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, zh, en)
    }
    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("未找到 {what}"), format!("{what} not found"))
    }
    /// 413.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            format!("请求太大（上限 {} KB），请分批同步", limit / 1024),
            format!("The request is too large (limit {} KB); sync in smaller batches", limit / 1024),
        )
    }
    /// 500, logging the cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "服务器出错，请稍后重试",
            "Something went wrong on the server; try again later",
        )
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::internal(e)
    }
}

impl From<Denied> for AppError {
    fn from(e: Denied) -> Self {
        match e {
            Denied::Refused { kind, code, zh, en, retry_after } => {
                let status = match kind {
                    Kind::Invalid => StatusCode::BAD_REQUEST,
                    Kind::WrongCredentials => StatusCode::UNAUTHORIZED,
                    Kind::Forbidden => StatusCode::FORBIDDEN,
                    Kind::NotFound => StatusCode::NOT_FOUND,
                    Kind::Conflict => StatusCode::CONFLICT,
                    Kind::Locked => StatusCode::TOO_MANY_REQUESTS,
                    Kind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
                };
                AppError { status, code, zh, en, retry_after }
            }
            Denied::Store(e) => e.into(),
            Denied::Internal(cause) => AppError::internal(cause),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        crate::metrics::refused(self.code.code());
        let body = ErrorBody { error: self.code.code().to_owned(), zh: self.zh, en: self.en };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = secs.to_string().parse()
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// Handler result.
pub type AppResult<T> = Result<T, AppError>;

/// Turns axum's own plain-text refusals (a path that is not UTF-8, a body over the
/// limit, a wrong method or content type), given before any handler runs, into the
/// API's JSON error answer, so every 4xx under `/api` has `{error, zh, en}`.
pub async fn json_rejections(response: Response) -> Response {
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !status.is_client_error() || !plain {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default();
    let detail = String::from_utf8_lossy(&body).trim().to_owned();
    let (code, zh) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::TooLarge, "请求内容过大".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => (ErrorCode::MethodNotAllowed, "不支持该请求方法".to_owned()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (ErrorCode::UnsupportedMediaType, "不支持该内容类型".to_owned()),
        _ => (ErrorCode::BadRequest, format!("请求无效：{detail}")),
    };
    let en = if detail.is_empty() { status.canonical_reason().unwrap_or("Bad request").to_owned() } else { detail };
    AppError::new(status, code, zh, en).into_response()
}
