//! `POST /api/login`, `POST /api/logout`, `POST /api/password`, `GET /api/me`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::json_body;
use crate::AppState;
use crate::auth::{self, Session, User};
use crate::error::{AppError, AppResult};
pub use shared::api::{LoginRequest, PasswordChange};

/// `POST /api/login`.
pub async fn login(State(state): State<AppState>, body: Bytes) -> AppResult<Json<auth::LoginOk>> {
    let req: LoginRequest = json_body(&body)?;
    let ok = auth::login(&state.store, &req.login, &req.password, &req.device_id, auth::now()).await?;
    tracing::info!(user = %ok.user.id, "login");
    Ok(Json(ok))
}

/// Ends the session of the request's token. Like every call but login, it needs a live
/// session: an unknown, expired or revoked token is `401`, as everywhere.
pub async fn logout(State(state): State<AppState>, _session: Session, headers: HeaderMap) -> AppResult<StatusCode> {
    let hash = auth::token_hash(&bearer_of(&headers)?);
    state.store.write(move |w| Ok::<_, AppError>(w.delete_session(&hash)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn bearer_of(headers: &HeaderMap) -> AppResult<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .ok_or_else(AppError::unauthorized)
}

/// `POST /api/password`.
pub async fn change_password(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<StatusCode> {
    let change: PasswordChange = json_body(&body)?;
    let token = bearer_of(&headers)?;
    auth::change_password(&state.store, &token, &session.user.id, &change.old, &change.new).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/me`.
pub async fn me(session: Session) -> Json<User> {
    Json(session.user)
}
