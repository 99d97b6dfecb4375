//! 监测帮扶 from the console: `POST /api/households/{id}/case` (a step of the
//! household's case: a clue, its verification, the decision, the elimination of the
//! risk), `POST /api/households/{id}/measures` (the ledger of help measures) and
//! `GET /api/cases` (the queue, most pressing first). Each write is an Automerge change
//! made on the server in the supervisor's name, as a review is, so the cadre's phone
//! receives it at its next sync.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use shared::api::ErrorCode;
use shared::api::{CaseQueue, CaseRequest, CaseRow, MeasureRequest};
use shared::case::{CaseAct, CaseStep, ClueSource, elimination_blockers};
use shared::{Coded, Date, Monitoring, Stamp};

use super::households::{HouseholdDetail, detail};
use super::{Filter, commit, current_period, json_body, open, supervisor_or_admin};
use crate::AppState;
use crate::auth::{Session, now};
use crate::error::{AppError, AppResult};
use crate::store::{Listing, StoreError};

/// `POST /api/households/{id}/case`: one step, checked against where the case stands;
/// an inclusion sets the household's monitoring type (`f/monitoring`) to the one
/// chosen, an elimination sets it back to 非监测户. Answers the household.
pub async fn step(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Json<HouseholdDetail>> {
    supervisor_or_admin(&session)?;
    let req: CaseRequest = json_body(&body)?;
    let text = req.text.trim().to_owned();
    let bad = |zh: &str, en: &str| AppError::bad_request(ErrorCode::BadCaseStep, zh.to_owned(), en.to_owned());
    if req.act == CaseAct::Include && req.kind.is_none_or(|k| k == Monitoring::None) {
        return Err(bad(
            "纳入监测须选择类型：脱贫不稳定户、边缘易致贫户或突发严重困难户",
            "Choose the type to include the household as",
        ));
    }
    if matches!(req.act, CaseAct::Close | CaseAct::Eliminate | CaseAct::Clue) && text.is_empty() {
        return Err(bad("请写明原因", "Say why"));
    }
    let detail = state
        .store
        .write(move |w| {
            let mut doc = open(w, &session, &id)?;
            let household = doc.household().map_err(AppError::internal)?;
            household.case.may(req.act).map_err(|e| AppError::conflict(ErrorCode::CaseStepNotAllowed, e.zh, e.en))?;
            let at = now();
            let today = Date::in_china(at);
            if req.act == CaseAct::Eliminate {
                let settings = w.settings()?;
                let blockers = elimination_blockers(&household, current_period(), &settings, today);
                if !blockers.is_empty() {
                    let zh = blockers.iter().map(|b| b.zh.as_str()).collect::<Vec<_>>().join("；");
                    let en = blockers.iter().map(|b| b.en.as_str()).collect::<Vec<_>>().join("; ");
                    return Err(AppError::conflict(
                        ErrorCode::CannotEliminate,
                        format!("暂不能消除风险：{zh}"),
                        format!("The risk cannot be eliminated yet: {en}"),
                    ));
                }
            }
            let before = doc.heads();
            let user = session.user.clone();
            let step = CaseStep {
                act: Some(req.act),
                by: user.id.clone(),
                name: user.name.clone(),
                on: Some(today),
                text: text.clone(),
                source: (req.act == CaseAct::Clue).then(|| req.source.unwrap_or(ClueSource::Village)),
                kind: req.kind.filter(|_| req.act == CaseAct::Include),
            };
            doc.edit(&Stamp::new(user.id.clone(), user.name.clone(), at), |h| {
                h.case.record(step, at);
                match req.act {
                    CaseAct::Include => h.facts.monitoring = req.kind,
                    CaseAct::Eliminate => h.facts.monitoring = Some(Monitoring::None),
                    _ => {}
                }
            })
            .map_err(AppError::internal)?;
            commit(w, &session, &id, &before, &doc)?;
            tracing::info!(user = %session.user.id, household = %id, act = req.act.code(), "case step");
            detail(w, &session, &id)
        })
        .await?;
    Ok(Json(detail))
}

/// `POST /api/households/{id}/measures`: adds a help measure (or changes entry `id`).
pub async fn measure(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Json<HouseholdDetail>> {
    supervisor_or_admin(&session)?;
    let MeasureRequest { id: entry, mut measure } = json_body(&body)?;
    let bad = |zh: String, en: String| AppError::bad_request(ErrorCode::BadMeasure, zh, en);
    if measure.kind.is_none() || measure.start.is_none() {
        return Err(bad("帮扶措施须有类别和开始日期".into(), "A help measure needs its kind and start date".into()));
    }
    if let (Some(s), Some(e)) = (measure.start, measure.end)
        && e < s
    {
        return Err(bad(format!("结束日期 {e} 早于开始日期 {s}"), format!("The end {e} is before the start {s}")));
    }
    if measure.amount.is_some_and(|a| !(0..=shared::fields::MAX_AMOUNT).contains(&a)) {
        return Err(bad("金额应为 0 至 1 亿元".into(), "The amount must be between 0 and 100,000,000 yuan".into()));
    }
    let detail = state
        .store
        .write(move |w| {
            let mut doc = open(w, &session, &id)?;
            let household = doc.household().map_err(AppError::internal)?;
            let at = now();
            let key = match &entry {
                Some(e) if household.measures.contains_key(e) => e.clone(),
                Some(e) => {
                    return Err(AppError::not_found(&format!("{id}/p/{e}")));
                }
                None => {
                    shared::model::Review::new_entry_id(at, &session.user.id, |id| household.measures.contains_key(id))
                }
            };
            measure.by = session.user.id.clone();
            let before = doc.heads();
            let user = session.user.clone();
            let measure = measure.clone();
            doc.edit(&Stamp::new(user.id.clone(), user.name.clone(), at), |h| {
                h.measures.insert(key.clone(), measure);
            })
            .map_err(AppError::internal)?;
            commit(w, &session, &id, &before, &doc)?;
            detail(w, &session, &id)
        })
        .await?;
    Ok(Json(detail))
}

/// `GET /api/cases`: every household with a case in the caller's scope (narrowed like
/// the dashboard), most pressing first ([`CaseRow::rank`]), then by the clue's day.
pub async fn queue(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<Filter>,
) -> AppResult<Json<CaseQueue>> {
    supervisor_or_admin(&session)?;
    let selection = filter.selection(&session);
    let period = current_period();
    let mut rows = state
        .store
        .read_long(move |r| {
            let settings = r.settings()?;
            let today = Date::in_china(now());
            let mut out = Vec::new();
            for row in r.household_rows(&selection, &Listing::Cases)? {
                let h = match r.load_doc(&row.id) {
                    Ok(Some(doc)) => match doc.household() {
                        Ok(h) => h,
                        Err(_) => continue,
                    },
                    Ok(None) | Err(StoreError::Corrupt { .. }) => continue,
                    Err(e) => return Err(e),
                };
                let Some(status) = h.case.status else { continue };
                let eligible = status == shared::CaseStatus::Monitored
                    && elimination_blockers(&h, period, &settings, today).is_empty();
                out.push(CaseRow {
                    status,
                    clue_on: h.case.clue_on().map(|d| d.to_string()),
                    overdue: h.case.overdue(today),
                    kind: shared::case::included_as(&h.case),
                    measures: h.measures.len() as u32,
                    measures_in_force: h.measures.values().filter(|m| m.in_force_on(today)).count() as u32,
                    eligible,
                    latest: h.case.thread().last().map(|(_, s)| s.text.clone()).unwrap_or_default(),
                    household: row,
                });
            }
            Ok(out)
        })
        .await?;
    rows.sort_by(|a, b| (a.rank(), &a.clue_on, &a.household.id).cmp(&(b.rank(), &b.clue_on, &b.household.id)));
    Ok(Json(CaseQueue { rows }))
}

/// `POST /api/cases/import`: a department's list (the file's bytes, `.xlsx` or CSV in
/// UTF-8 or GBK) raises one clue (部门数据比对) per row, all or nothing: 200 with the
/// households, or 422 `clues_rejected` with every bad row and nothing written.
pub async fn import(
    State(state): State<AppState>,
    session: Session,
    body: Bytes,
) -> AppResult<Result<Json<shared::api::ClueImport>, (StatusCode, Json<shared::api::ImportErrors>)>> {
    supervisor_or_admin(&session)?;
    let sheet =
        tokio::task::spawn_blocking(move || crate::roster::Sheet::read(&body)).await.map_err(AppError::internal)??;
    // Every row checked on a reader (an ID number may mean reading the whole area's
    // documents: no sync waits for that), then written with only the households named
    // locked, in the order every writer locks them.
    let user = session.user.clone();
    let planned = state.store.read_long(move |r| crate::roster::clues::plan(r, &user, &sheet)).await?;
    let clues = match planned {
        Ok(clues) => clues,
        Err(rows) => {
            return Ok(Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(shared::api::ImportErrors { error: "clues_rejected".into(), rows }),
            )));
        }
    };
    let outcome = state
        .store
        .write(move |w| {
            let mut ids: Vec<&str> = clues.iter().map(|c| c.household.as_str()).collect();
            ids.sort_unstable();
            w.lock_households(&crate::store::Scope::of(&session.user), &ids)?;
            let at = now();
            let user = session.user.clone();
            let mut households = Vec::with_capacity(clues.len());
            for clue in &clues {
                let mut doc = open(w, &session, &clue.household)?;
                let household = doc.household().map_err(AppError::internal)?;
                if let Err(e) = household.case.may(CaseAct::Clue) {
                    // Changed since the rows were checked: nothing is written.
                    return Err(AppError::conflict(
                        ErrorCode::CluesChanged,
                        format!("户 {} 在核对名单后有了变化：{}；名单未导入，请重新导入", clue.household, e.zh),
                        format!("Household {} changed after the list was checked: {}; nothing was imported, import it again", clue.household, e.en),
                    ));
                }
                let before = doc.heads();
                let step = CaseStep {
                    act: Some(CaseAct::Clue),
                    by: user.id.clone(),
                    name: user.name.clone(),
                    on: Some(Date::in_china(at)),
                    text: clue.text.clone(),
                    source: Some(ClueSource::Department),
                    kind: None,
                };
                doc.edit(&Stamp::new(user.id.clone(), user.name.clone(), at), |h| {
                    h.case.record(step, at);
                })
                .map_err(AppError::internal)?;
                commit(w, &session, &clue.household, &before, &doc)?;
                households.push(clue.household.clone());
            }
            let detail = format!("{} households: {}", households.len(), households.join(","));
            w.audit(at, &user.id, "clues_import", &detail)?;
            Ok::<_, AppError>(households)
        })
        .await?;
    Ok(Ok(Json(shared::api::ClueImport { imported: outcome.len(), households: outcome })))
}
