//! The review (审核) of visits: `GET /api/reviews` (the queue of a period) and
//! `POST /api/households/{id}/review` (approve; return with a comment). An action is
//! an Automerge change made on the server in the supervisor's name, logged like an
//! upload, so phones receive it at their next sync and the history keeps it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use shared::api::ErrorCode;
use shared::{Coded, ReviewAction, ReviewStatus, Stamp};

use super::households::{HouseholdDetail, detail};
use super::{Filter, commit, current_period, json_body, open, period_param, supervisor_or_admin};
use crate::AppState;
use crate::auth::{Session, now};
use crate::error::{AppError, AppResult};
use crate::store::Listing;
pub use shared::api::{ReviewQueue, ReviewRequest};

/// `POST /api/households/{id}/review`: a supervisor approves a visit, or returns it to
/// the cadre with a comment. Answers the household as [`HouseholdDetail`].
pub async fn act(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Json<HouseholdDetail>> {
    supervisor_or_admin(&session)?;
    let req: ReviewRequest = json_body(&body)?;
    let period = period_param(Some(&req.period), current_period(), "监测期", "Period")?;
    let action = match req.action.as_str() {
        "approve" => ReviewAction::Approve,
        "return" => ReviewAction::Return,
        other => {
            return Err(AppError::bad_request(
                ErrorCode::BadAction,
                format!("审核动作“{other}”无效，可选 approve（通过）或 return（退回）"),
                format!("Review action \"{other}\" is not approve or return"),
            ));
        }
    };
    let comment = req.comment.trim().to_owned();
    if action == ReviewAction::Return && comment.is_empty() {
        return Err(AppError::bad_request(
            ErrorCode::CommentRequired,
            "退回时请写明需要修改的内容",
            "Say what needs correcting when returning a visit",
        ));
    }
    let detail = state
        .store
        .write(move |w| {
            let mut doc = open(w, &session, &id)?;
            let key = period.to_string();
            let household = doc.household().map_err(AppError::internal)?;
            let status = household.visits.get(&key).and_then(|v| v.review_status());
            let Some(status) = status else {
                return Err(AppError::conflict(
                    ErrorCode::NoVisit,
                    format!("户 {id} 在 {key} 没有走访记录，无可审核"),
                    format!("Household {id} has no visit recorded for {key}"),
                ));
            };
            let open_conflicts = doc.conflicts().map_err(AppError::internal)?;
            if action == ReviewAction::Approve && open_conflicts.iter().any(|c| c.key.starts_with(&format!("v/{key}/")))
            {
                return Err(AppError::conflict(
                    ErrorCode::HasConflicts,
                    "该走访记录还有冲突未处理，请先处理冲突再审核通过",
                    "This visit has unresolved conflicts; resolve them before approving",
                ));
            }
            if action == ReviewAction::Approve && status == ReviewStatus::Approved {
                return Err(AppError::conflict(
                    ErrorCode::AlreadyApproved,
                    "该走访记录已审核通过",
                    "This visit is already approved",
                ));
            }
            let before = doc.heads();
            let at = now();
            let user = session.user.clone();
            doc.edit(&Stamp::new(user.id.clone(), user.name.clone(), at), |h| {
                if let Some(v) = h.visits.get_mut(&key) {
                    v.add_review(action, &user.id, &user.name, at, &comment);
                }
            })
            .map_err(AppError::internal)?;
            commit(w, &session, &id, &before, &doc)?;
            tracing::info!(user = %session.user.id, household = %id, period = %key, action = action.code(), "review");
            detail(w, &session, &id)
        })
        .await?;
    Ok(Json(detail))
}

/// `?status=` of the review queue.
#[derive(Debug, serde::Deserialize)]
pub struct ReviewQuery {
    /// `pending` (default), `returned` or `approved`.
    pub status: Option<String>,
    #[serde(flatten)]
    filter: Filter,
}

/// `GET /api/reviews?period=&status=`.
pub async fn queue(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ReviewQuery>,
) -> AppResult<Json<ReviewQueue>> {
    supervisor_or_admin(&session)?;
    let period = q.filter.period()?;
    let status = q.status.clone().unwrap_or_else(|| "pending".into());
    if ReviewStatus::from_code(&status).is_none() {
        return Err(AppError::bad_request(
            ErrorCode::BadStatus,
            format!("审核状态“{status}”无效，可选 pending、returned、approved"),
            format!("Review status \"{status}\" is not pending, returned or approved"),
        ));
    }
    let selection = q.filter.selection(&session);
    let (counts, rows) = state
        .store
        .read(move |r| {
            let mut counts = r.review_counts(&selection, period)?;
            // Every status is in the answer, 0 included, so clients need not guess.
            for status in ReviewStatus::ALL {
                counts.entry(status.code().to_owned()).or_insert(0);
            }
            Ok((counts, r.household_rows(&selection, &Listing::Review(period, status.clone()))?))
        })
        .await?;
    Ok(Json(ReviewQueue { period: period.to_string(), counts, rows }))
}
