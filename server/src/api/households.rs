//! `GET /api/households` (the caller's list), `GET /api/households/{id}` (one
//! household as the console shows it) and `GET /api/households/{id}/history`.

use axum::Json;
use axum::extract::{Path, Query, State};
use shared::Date;
use shared::api::HouseholdRow;
use shared::idcard::{mask_household, masked_value};

use super::conflicts::field_conflicts;
use super::{Filter, open, reads_id_numbers};
use crate::AppState;
use crate::auth::{Session, now, require_touch};
use crate::error::{AppError, AppResult};
use crate::store::{Listing, Reader};
pub use shared::api::{HistoryItem, HouseholdDetail};

/// `GET /api/households`: every household the caller may see.
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<Filter>,
) -> AppResult<Json<Vec<HouseholdRow>>> {
    let selection = filter.selection(&session);
    Ok(Json(state.store.read(move |r| r.household_rows(&selection, &Listing::All)).await?))
}

/// Household `id` as `session` may see it.
pub fn detail(r: &mut dyn Reader, session: &Session, id: &str) -> AppResult<HouseholdDetail> {
    let doc = open(r, session, id)?;
    let mut household = doc.household().map_err(AppError::internal)?;
    let problems = shared::validate(&household, Date::in_china(now()));
    let conflicts = field_conflicts(&doc, &household, session)?;
    if !reads_id_numbers(session) {
        mask_household(&mut household);
    }
    let cadres = r.cadres_of(id)?;
    Ok(HouseholdDetail { id: id.to_owned(), household, problems, conflicts, cadres })
}

/// `GET /api/households/{id}`.
pub async fn one(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Json<HouseholdDetail>> {
    Ok(Json(read_detail(&state, session, id).await?))
}

/// [`detail`] on a reader.
pub async fn read_detail(state: &AppState, session: Session, id: String) -> AppResult<HouseholdDetail> {
    state.store.read(move |r| Ok(detail(r, &session, &id))).await?
}

/// `GET /api/households/{id}/history`.
pub async fn history(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Json<Vec<HistoryItem>>> {
    let answer = state
        .store
        .read(move |r| {
            Ok((|| {
                require_touch(r, &session.user, &id)?;
                let doc = r.load_doc(&id)?.ok_or_else(|| AppError::not_found(&id))?;
                let uploads = r.uploads(&id)?;
                let full = reads_id_numbers(&session);
                Ok::<_, AppError>(
                    doc.history()
                        .into_iter()
                        .map(|mut entry| {
                            if !full {
                                for (key, value) in &mut entry.fields {
                                    if let Some(v) = value {
                                        *v = masked_value(key, v);
                                    }
                                }
                            }
                            let up = uploads.get(&entry.hash);
                            HistoryItem {
                                uploaded_by: up.map(|u| u.user.clone()),
                                device_id: up.map(|u| u.device.clone()),
                                received_at: up.map(|u| u.at),
                                entry,
                            }
                        })
                        .collect(),
                )
            })())
        })
        .await?;
    Ok(Json(answer?))
}
