//! The supervisor console's own endpoints: one household as the console shows it, the
//! review queue (审核) with its two actions (approve; return with a comment), conflict
//! resolution, and the 12-period indicator trend. Writes are Automerge changes made on
//! the server in the supervisor's name, logged like uploads, so phones receive them at
//! their next sync and the household's history keeps the whole exchange.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use rusqlite::Connection;
use rusqlite::types::Value;
use shared::idcard::mask_id_number;
use shared::indicators::Indicators;
use shared::{Coded, Date, Household, HouseholdDoc, Lang, Period, ReviewAction, ReviewStatus, Scalar, Stamp};

use crate::admin::json_body;
use crate::auth::{Role, Session, now, require_touch};
use crate::error::{AppError, AppResult};
use crate::reads::{Filter, HouseholdRow, fold, household_rows, supervisor_or_admin};
use crate::{AppState, store};

/// Loads household `id` for `session`, or says why not (404, 403).
fn open(conn: &Connection, session: &Session, id: &str) -> AppResult<HouseholdDoc> {
    require_touch(conn, &session.user, id)?;
    store::load_doc(conn, id)?.ok_or_else(|| AppError::not_found(id))
}

fn conflict(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> AppError {
    AppError::new(StatusCode::CONFLICT, code, zh, en)
}

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

/// `GET /api/households/{id}`: the household (ID numbers masked unless an admin asks),
/// its validation problems and its conflicts.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct HouseholdDetail {
    /// 户编码
    pub id: String,
    /// The household.
    pub household: Household,
    /// What `shared::validate` says about it today.
    pub problems: Vec<shared::Problem>,
    /// Conflicted fields.
    pub conflicts: Vec<FieldConflict>,
}

fn detail(conn: &Connection, session: &Session, id: &str) -> AppResult<HouseholdDetail> {
    let doc = open(conn, session, id)?;
    let mut household = doc.household().map_err(AppError::internal)?;
    let problems = shared::validate(&household, Date::in_china(now()));
    let conflicts = field_conflicts(&doc, &household)?;
    if session.user.role != Role::Admin {
        for m in household.members.values_mut() {
            m.id_number = mask_id_number(&m.id_number);
        }
    }
    Ok(HouseholdDetail { id: id.to_owned(), household, problems, conflicts })
}

/// `GET /api/households/{id}`.
pub async fn household(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> AppResult<Json<HouseholdDetail>> {
    Ok(Json(state.db.run(move |conn| detail(conn, &session, &id)).await?))
}

/// Saves `doc` after a server-side edit, in one transaction with its change log.
fn commit(
    conn: &mut Connection,
    session: &Session,
    id: &str,
    before: &[shared::automerge::ChangeHash],
    doc: &HouseholdDoc,
) -> AppResult<()> {
    let household = doc.check().map_err(|e| {
        AppError::bad_request(
            "schema",
            format!("记录不符合格式：{}", e.zh()),
            format!("The record breaks the layout: {e}"),
        )
    })?;
    let at = now();
    let tx = conn.transaction()?;
    store::log_changes(&tx, id, doc, before, &session.user.id, &session.device_id, at)?;
    store::save(&tx, id, doc, &household, Date::in_china(at))?;
    tx.commit()?;
    Ok(())
}

/// `POST /api/households/{id}/review` body.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ReviewRequest {
    /// The visit's period, `YYYY-MM`.
    pub period: String,
    /// `approve` or `return`.
    pub action: String,
    /// 审核意见: required when returning.
    #[serde(default)]
    pub comment: String,
}

/// `POST /api/households/{id}/review`: a supervisor approves a visit, or returns it to
/// the cadre with a comment. Answers the household as [`HouseholdDetail`].
pub async fn review(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Json<HouseholdDetail>> {
    supervisor_or_admin(&session)?;
    let req: ReviewRequest = json_body(&body)?;
    let period = crate::reads::period_param(Some(&req.period), Period::of(Date::in_china(now())), "监测期", "Period")?;
    let action = match req.action.as_str() {
        "approve" => ReviewAction::Approve,
        "return" => ReviewAction::Return,
        other => {
            return Err(AppError::bad_request(
                "bad_action",
                format!("审核动作“{other}”无效，可选 approve（通过）或 return（退回）"),
                format!("Review action \"{other}\" is not approve or return"),
            ));
        }
    };
    let comment = req.comment.trim().to_owned();
    if action == ReviewAction::Return && comment.is_empty() {
        return Err(AppError::bad_request(
            "comment_required",
            "退回时请写明需要修改的内容",
            "Say what needs correcting when returning a visit",
        ));
    }
    let detail = state
        .db
        .run(move |conn| {
            let mut doc = open(conn, &session, &id)?;
            let key = period.to_string();
            let household = doc.household().map_err(AppError::internal)?;
            let status = household.visits.get(&key).and_then(|v| v.review_status());
            let Some(status) = status else {
                return Err(conflict(
                    "no_visit",
                    format!("户 {id} 在 {key} 没有走访记录，无可审核"),
                    format!("Household {id} has no visit recorded for {key}"),
                ));
            };
            let open_conflicts = doc.conflicts().map_err(AppError::internal)?;
            if action == ReviewAction::Approve && open_conflicts.iter().any(|c| c.key.starts_with(&format!("v/{key}/")))
            {
                return Err(conflict(
                    "has_conflicts",
                    "该走访记录还有冲突未处理，请先处理冲突再审核通过",
                    "This visit has unresolved conflicts; resolve them before approving",
                ));
            }
            if action == ReviewAction::Approve && status == ReviewStatus::Approved {
                return Err(conflict("already_approved", "该走访记录已审核通过", "This visit is already approved"));
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
            commit(conn, &session, &id, &before, &doc)?;
            tracing::info!(user = %session.user.id, household = %id, period = %key, action = action.code(), "review");
            detail(conn, &session, &id)
        })
        .await?;
    Ok(Json(detail))
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
        .db
        .run(move |conn| {
            let mut doc = open(conn, &session, &id)?;
            let conflicts = doc.conflicts().map_err(AppError::internal)?;
            let Some(c) = conflicts.iter().find(|c| c.key == req.key) else {
                return Err(conflict(
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
            commit(conn, &session, &id, &before, &doc)?;
            tracing::info!(user = %session.user.id, household = %id, key = %req.key, "conflict resolved");
            detail(conn, &session, &id)
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

/// The review queue of a period.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ReviewQueue {
    /// The period.
    pub period: String,
    /// Visits per status.
    pub counts: std::collections::BTreeMap<String, u32>,
    /// The households whose visit has the asked status.
    pub rows: Vec<HouseholdRow>,
}

/// `GET /api/reviews?period=&status=`.
pub async fn reviews(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ReviewQuery>,
) -> AppResult<Json<ReviewQueue>> {
    supervisor_or_admin(&session)?;
    let period = q.filter.period()?;
    let status = q.status.clone().unwrap_or_else(|| "pending".into());
    if ReviewStatus::from_code(&status).is_none() {
        return Err(AppError::bad_request(
            "bad_status",
            format!("审核状态“{status}”无效，可选 pending、returned、approved"),
            format!("Review status \"{status}\" is not pending, returned or approved"),
        ));
    }
    let (where_sql, params) = q.filter.clause(&session.user);
    let queue = state
        .db
        .run(move |conn| {
            // Only the caller's households: a site supervisor's first look at a new
            // month does not compute the whole county's summaries.
            store::ensure_summaries_where(conn, period, Date::in_china(now()), &where_sql, &params)?;
            let mut all = vec![Value::Text(period.to_string())];
            all.extend(params.iter().cloned());
            let mut counts = std::collections::BTreeMap::new();
            let sql = format!(
                "SELECT s.review, COUNT(*) FROM households h JOIN summaries s ON s.household_id = h.id AND s.period = ?
                 WHERE s.review IS NOT NULL AND {where_sql} GROUP BY s.review"
            );
            let mut stmt = conn.prepare(&sql)?;
            for row in stmt.query_map(rusqlite::params_from_iter(&all), |r| Ok((r.get(0)?, r.get(1)?)))? {
                let (k, n): (String, u32) = row?;
                counts.insert(k, n);
            }
            let condition =
                format!("h.id IN (SELECT household_id FROM summaries WHERE period = ? AND review = ?) AND {where_sql}");
            let mut all = vec![Value::Text(period.to_string()), Value::Text(status)];
            all.extend(params);
            let rows = household_rows(conn, &condition, &all)?;
            Ok::<_, AppError>(ReviewQueue { period: period.to_string(), counts, rows })
        })
        .await?;
    Ok(Json(queue))
}

/// One point of a trend line.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct TrendPoint {
    /// `YYYY-MM`.
    pub period: String,
    /// The period's indicators (rates via `Indicators`' methods).
    pub indicators: Indicators,
}

/// `?months=` of the trend.
#[derive(Debug, serde::Deserialize)]
pub struct TrendQuery {
    /// How many periods, ending at `period` (default 12, at most 36).
    pub months: Option<u32>,
    #[serde(flatten)]
    filter: Filter,
}

/// `GET /api/trend?period=&months=12`: the indicators of each period, oldest first.
pub async fn trend(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<TrendQuery>,
) -> AppResult<Json<Vec<TrendPoint>>> {
    supervisor_or_admin(&session)?;
    let end = q.filter.period()?;
    let months = q.months.unwrap_or(12);
    if !(1..=store::SUMMARY_PERIODS as u32).contains(&months) {
        return Err(AppError::bad_request(
            "bad_months",
            format!("months 应在 1 到 {} 之间", store::SUMMARY_PERIODS),
            format!("months must be between 1 and {}", store::SUMMARY_PERIODS),
        ));
    }
    let (where_sql, params) = q.filter.clause(&session.user);
    let points = state
        .db
        .run(move |conn| {
            (0..months as i32)
                .rev()
                .map(|back| {
                    let p = end.plus_months(-back);
                    Ok(TrendPoint { period: p.to_string(), indicators: fold(conn, p, &where_sql, &params)? })
                })
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    Ok(Json(points))
}
