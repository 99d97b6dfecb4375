//! `GET /api/flagged?kind=&period=`: the households behind an indicator.

use axum::Json;
use axum::extract::{Query, State};
use shared::api::ErrorCode;
use shared::api::HouseholdRow;

use super::{Filter, supervisor_or_admin};
use crate::AppState;
use crate::auth::Session;
use crate::error::{AppError, AppResult};
use crate::store::{Flag, Listing};

/// `?kind=` for flagged lists.
#[derive(Debug, serde::Deserialize)]
pub struct FlaggedQuery {
    /// zero_employment | low_income | guarantee | new_risk | monitored | not_visited
    /// (absent: `400 bad_kind`, as an unknown one).
    #[serde(default)]
    pub kind: String,
    #[serde(flatten)]
    filter: Filter,
}

/// The flag of a `kind=` code.
fn flag(kind: &str) -> AppResult<Flag> {
    Ok(match kind {
        "zero_employment" => Flag::ZeroEmployment,
        "low_income" => Flag::LowIncome,
        "guarantee" => Flag::Guarantee,
        "new_risk" => Flag::NewRisk,
        "monitored" => Flag::Monitored,
        "not_visited" => Flag::NotVisited,
        "must_visit" => Flag::MustVisit,
        "unsigned" => Flag::Unsigned,
        other => {
            return Err(AppError::bad_request(
                ErrorCode::BadKind,
                format!("未知名单类型“{other}”"),
                format!(
                    "Unknown list \"{other}\"; use zero_employment, low_income, guarantee, new_risk, monitored, not_visited, must_visit or unsigned"
                ),
            ));
        }
    })
}

/// The handler.
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<FlaggedQuery>,
) -> AppResult<Json<Vec<HouseholdRow>>> {
    supervisor_or_admin(&session)?;
    let period = q.filter.period()?;
    let listing = Listing::Flagged(period, flag(&q.kind)?);
    let selection = q.filter.selection(&session);
    Ok(Json(state.store.read(move |r| r.household_rows(&selection, &listing)).await?))
}
