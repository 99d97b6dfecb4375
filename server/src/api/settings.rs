//! 年度监测设置 (monitoring settings by year): `GET /api/settings`, which every logged-in
//! user reads (the phone keeps them to compute its flags offline), and
//! `PUT /api/settings`, an admin's replacement of every year's figures and of the
//! kinds of evidence offered.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use shared::Settings;
use shared::api::ErrorCode;
use shared::api::Role;

use super::json_body;
use crate::AppState;
use crate::auth::{Session, now};
use crate::error::{AppError, AppResult};

/// `GET /api/settings`: every year's settings.
pub async fn get(State(state): State<AppState>, _session: Session) -> AppResult<Json<Settings>> {
    Ok(Json(state.store.read(|r| r.settings()).await?))
}

/// `PUT /api/settings`: replaces every year's settings (admins). The summaries of the
/// years whose figures changed are computed again; the change is audited with the old
/// and the new figures.
pub async fn put(State(state): State<AppState>, session: Session, body: Bytes) -> AppResult<Json<Settings>> {
    if session.user.role != Role::Admin {
        return Err(AppError::forbidden("仅管理员可修改监测设置", "Only an admin can change the monitoring settings"));
    }
    let new = json_body::<Settings>(&body)?
        .checked()
        .map_err(|e| AppError::bad_request(ErrorCode::BadSettings, e.zh, e.en))?;
    // A client that knows only the years leaves the evidence offered as it was.
    let keeps_evidence = json_body::<serde_json::Value>(&body)?.get("evidence").is_none();
    let login = session.user.id.clone();
    let saved = state
        .store
        .write(move |w| -> Result<Settings, crate::store::StoreError> {
            let at = now();
            let mut new = new.clone();
            if keeps_evidence {
                new.evidence = w.settings()?.evidence;
            }
            let Some(old) = w.replace_settings(&new, &login, at)? else { return Ok(new) };
            let json = |s: &Settings| serde_json::to_string(s).unwrap_or_default();
            w.audit(at, &login, "settings", &format!("{} -> {}", json(&old), json(&new)))?;
            Ok(new)
        })
        .await?;
    Ok(Json(saved))
}
