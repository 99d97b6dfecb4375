//! `GET /api/conflicts` (every conflicted field in the caller's scope) and
//! `POST /api/households/{id}/resolve` (settling one on one of its values). A
//! resolution is an Automerge change made on the server in the supervisor's name.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use shared::api::ErrorCode;
use shared::{Household, HouseholdDoc, Lang, Scalar, Stamp};

use super::households::{HouseholdDetail, detail};
use super::{Filter, Skipped, commit, json_body, open, reads_id_numbers, supervisor_or_admin};
use crate::AppState;
use crate::auth::{Session, now};
use crate::error::{AppError, AppResult};
use crate::store::{Listing, StoreError};
pub use shared::api::{ConflictItem, FieldConflict, ResolveRequest};
use shared::idcard::masked_value;

/// Every conflicted field of `doc`, named for people, as `session` may read it (ID
/// numbers masked but for admins).
pub fn field_conflicts(doc: &HouseholdDoc, household: &Household, session: &Session) -> AppResult<Vec<FieldConflict>> {
    let full = reads_id_numbers(session);
    Ok(doc
        .conflicts()
        .map_err(AppError::internal)?
        .into_iter()
        .map(|mut c| {
            if !full {
                for v in &mut c.values {
                    v.value = masked_value(&c.key, &v.value);
                }
            }
            FieldConflict {
                field_zh: shared::fields::describe(&c.key, household, Lang::Zh),
                field_en: shared::fields::describe(&c.key, household, Lang::En),
                key: c.key,
                values: c.values,
            }
        })
        .collect())
}

/// `GET /api/conflicts`.
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<Filter>,
) -> AppResult<impl axum::response::IntoResponse> {
    let selection = filter.selection(&session);
    let items = state
        .store
        .read_long(move |r| {
            let session = &session;
            let rows = r.household_rows(&selection, &Listing::Conflicted)?;
            let (mut out, mut skipped) = (Vec::new(), Vec::new());
            for row in rows {
                // A damaged household is logged and left out; the rest are listed.
                let doc = match r.load_doc(&row.id) {
                    Ok(Some(doc)) => doc,
                    Ok(None) => continue,
                    Err(e @ StoreError::Corrupt { .. }) => {
                        tracing::error!(household = %row.id, error = %e, "conflict list: household skipped");
                        skipped.push(row.id.clone());
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let Ok(h) = doc.household() else { continue };
                let Ok(fields) = field_conflicts(&doc, &h, session) else { continue };
                for field in fields {
                    out.push(ConflictItem { household_id: row.id.clone(), head_name: row.head_name.clone(), field });
                }
            }
            Ok((out, skipped))
        })
        .await?;
    Ok((Skipped::header(&items.1), Json(items.0)))
}

/// `POST /api/households/{id}/resolve`: settles a conflict on one of its values.
pub async fn resolve(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Json<HouseholdDetail>> {
    supervisor_or_admin(&session)?;
    let req: ResolveRequest = json_body(&body)?;
    let detail = state
        .store
        .write(move |w| {
            let mut doc = open(w, &session, &id)?;
            let conflicts = doc.conflicts().map_err(AppError::internal)?;
            let Some(c) = conflicts.iter().find(|c| c.key == req.key) else {
                return Err(AppError::conflict(
                    ErrorCode::NoConflict,
                    format!("字段 {} 已没有冲突（可能已被他人处理）", req.key),
                    format!("Field {} is no longer in conflict (someone may have resolved it)", req.key),
                ));
            };
            let value = chosen(c, &req.value, reads_id_numbers(&session))?;
            let before = doc.heads();
            let stamp = Stamp::new(session.user.id.clone(), session.user.name.clone(), now());
            doc.resolve(&stamp, &req.key, &value).map_err(AppError::internal)?;
            commit(w, &session, &id, &before, &doc)?;
            tracing::info!(user = %session.user.id, household = %id, key = %req.key, "conflict resolved");
            detail(w, &session, &id)
        })
        .await?;
    Ok(Json(detail))
}

/// The value of conflict `c` that `picked` names: one of its values, or, for a caller who
/// reads ID numbers masked, the one value whose masked form it is.
fn chosen(c: &shared::Conflict, picked: &Scalar, full: bool) -> AppResult<Scalar> {
    if c.values.iter().any(|v| v.value == *picked) {
        return Ok(picked.clone());
    }
    let mut matches = c.values.iter().filter(|v| !full && masked_value(&c.key, &v.value) == *picked);
    match (matches.next(), matches.next()) {
        (Some(one), None) => Ok(one.value.clone()),
        (Some(_), Some(_)) => Err(AppError::conflict(
            ErrorCode::AmbiguousMaskedValue,
            "这几个身份证号遮盖后相同，无法区分；请由管理员处理",
            "These ID numbers look the same masked; an admin must settle this conflict",
        )),
        (None, _) => Err(AppError::bad_request(
            ErrorCode::NotACandidate,
            format!("“{picked}”不是该字段的冲突值之一"),
            format!("\"{picked}\" is not one of the field's conflicting values"),
        )),
    }
}
