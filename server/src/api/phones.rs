//! Phone health (手机状态): `POST /api/phone`, the report a phone sends as it starts a
//! sync and when the sync has finished; `GET /api/phones`, the cadres' phones in the
//! caller's scope, those needing attention first (`shared::api::phone::order`).

use shared::api::ErrorCode;
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared::api::{PhoneReport, PhoneRow};

use super::{Filter, current_period, supervisor_or_admin};
use crate::AppState;
use crate::auth::{Session, now};
use crate::error::{AppError, AppResult};
use crate::store::Grouping;

/// The longest app version kept (a report is the phone's word, bounded).
const MAX_VERSION: usize = 40;

/// `POST /api/phone`: keeps the report as the latest of this login on this device.
pub async fn report(
    State(state): State<AppState>,
    session: Session,
    Json(mut report): Json<PhoneReport>,
) -> AppResult<StatusCode> {
    if report.app_version.chars().count() > MAX_VERSION {
        return Err(AppError::bad_request(
            ErrorCode::BadReport,
            format!("应用版本号过长（最多 {MAX_VERSION} 字）"),
            format!("The app version is too long (at most {MAX_VERSION} characters)"),
        ));
    }
    // The phone's clock may be wrong; an age in the future is no age.
    let at = now();
    // Nor one before the app existed (2020-01-01).
    report.oldest_unsynced_at = report.oldest_unsynced_at.map(|t| t.clamp(1_577_836_800, at));
    let Session { user, device_id } = session;
    state.store.write(move |w| w.put_phone_report(&user.id, &device_id, &report, at)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/phones`: the phones of the cadres with households in the caller's scope
/// (narrowed like the dashboard, `?site=` …; for an admin without a filter, every
/// phone that reported), and a row for each such cadre no phone has reported for.
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Query(filter): axum::extract::Query<Filter>,
) -> AppResult<Json<Vec<PhoneRow>>> {
    supervisor_or_admin(&session)?;
    // An admin also sees phones of cadres with no households left (unassigned, their
    // phone may still hold work); a supervisor sees the cadres of their area.
    let everyone = session.user.role == shared::api::Role::Admin && filter.households == Default::default();
    let selection = filter.selection(&session);
    let period = current_period();
    let (cadres, reports) =
        state.store.read(move |r| Ok((r.coverage(&selection, period, Grouping::Cadre)?, r.phone_reports()?))).await?;
    let names: BTreeMap<String, String> = cadres.into_iter().map(|(login, (name, _))| (login, name)).collect();
    let mut rows: Vec<PhoneRow> = reports.into_iter().filter(|r| everyone || names.contains_key(&r.login)).collect();
    for (login, name) in &names {
        if !rows.iter().any(|r| &r.login == login) {
            rows.push(PhoneRow {
                login: login.clone(),
                name: name.clone(),
                device: None,
                app_version: None,
                reported_at: None,
                synced_at: None,
                unsynced: 0,
                oldest_unsynced_at: None,
                persisted: None,
                storage_used: None,
                storage_quota: None,
                concerns: Vec::new(),
            });
        }
    }
    shared::api::phone::order(&mut rows, now());
    Ok(Json(rows))
}
