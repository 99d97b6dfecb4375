//! `GET /api/conflicts` (every conflicted field in the caller's scope) and
//! `POST /api/households/{id}/resolve` (settling one on one of its values). A
//! resolution is an Automerge change made on the server in the supervisor's name.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use shared::{Household, HouseholdDoc, Lang, Scalar, Stamp};

use super::households::{HouseholdDetail, detail};
use super::{Filter, commit, json_body, open, supervisor_or_admin};
use crate::AppState;
use crate::auth::{Session, now};
use crate::error::{AppError, AppResult};
use crate::store::{Listing, StoreError};

/// A conflicted field as the console shows it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct FieldConflict {
    /// The field's key.
    pub key: String,
    /// Readable name, Chinese.
    pub field_zh: String,
    /// …and English.
    pub field_en: String,
    /// Every value with author and time.
    pub values: Vec<shared::ConflictValue>,
}

/// Every conflicted field of `doc`, named for people.
pub fn field_conflicts(doc: &HouseholdDoc, household: &Household) -> AppResult<Vec<FieldConflict>> {
    Ok(doc
        .conflicts()
        .map_err(AppError::internal)?
        .into_iter()
        .map(|c| FieldConflict {
            field_zh: shared::fields::describe(&c.key, household, Lang::Zh),
            field_en: shared::fields::describe(&c.key, household, Lang::En),
            key: c.key,
            values: c.values,
        })
        .collect())
}

/// A conflict as the review queue shows it: the household, then the field.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ConflictItem {
    /// 户编码
    pub household_id: String,
    /// 户主
    pub head_name: String,
    /// The field, its readable names and every value.
    #[serde(flatten)]
    pub field: FieldConflict,
}

/// `GET /api/conflicts`.
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<Filter>,
) -> AppResult<Json<Vec<ConflictItem>>> {
    let selection = filter.selection(&session);
    let items = state
        .store
        .read_long(move |r| {
            let rows = r.household_rows(&selection, &Listing::Conflicted)?;
            let mut out = Vec::new();
            for row in rows {
                // A damaged household is logged and left out; the rest are listed.
                let doc = match r.load_doc(&row.id) {
                    Ok(Some(doc)) => doc,
                    Ok(None) => continue,
                    Err(e @ StoreError::Corrupt { .. }) => {
                        tracing::error!(household = %row.id, error = %e, "conflict list: household skipped");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let Ok(h) = doc.household() else { continue };
                let Ok(fields) = field_conflicts(&doc, &h) else { continue };
                for field in fields {
                    out.push(ConflictItem { household_id: row.id.clone(), head_name: row.head_name.clone(), field });
                }
            }
            Ok(out)
        })
        .await?;
    Ok(Json(items))
}

/// `POST /api/households/{id}/resolve` body.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ResolveRequest {
    /// The conflicted field's key.
    pub key: String,
    /// The value to keep: one of the conflicting values.
    pub value: Scalar,
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
                return Err(AppError::new(
                    StatusCode::CONFLICT,
                    "no_conflict",
                    format!("字段 {} 已没有冲突（可能已被他人处理）", req.key),
                    format!("Field {} is no longer in conflict (someone may have resolved it)", req.key),
                ));
            };
            if !c.values.iter().any(|v| v.value == req.value) {
                return Err(AppError::bad_request(
                    "not_a_candidate",
                    format!("“{}”不是该字段的冲突值之一", req.value),
                    format!("\"{}\" is not one of the field's conflicting values", req.value),
                ));
            }
            let before = doc.heads();
            let stamp = Stamp::new(session.user.id.clone(), session.user.name.clone(), now());
            doc.resolve(&stamp, &req.key, &req.value).map_err(AppError::internal)?;
            commit(w, &session, &id, &before, &doc)?;
            tracing::info!(user = %session.user.id, household = %id, key = %req.key, "conflict resolved");
            detail(w, &session, &id)
        })
        .await?;
    Ok(Json(detail))
}
