//! The dashboard's numbers: `GET /api/coverage` (户户见 by site, grid or cadre),
//! `GET /api/indicators` (one period against its baseline), `GET /api/indicators/sites`
//! (the same per site) and `GET /api/trend`
//! (the indicators of each of the last months). All read projections only.

use axum::Json;
use axum::extract::{Query, State};
use shared::api::ErrorCode;
use shared::indicators::ThreeNoDecrease;

use super::{Filter, current_period, kept_period, period_param, supervisor_or_admin};
use crate::AppState;
use crate::auth::Session;
use crate::error::{AppError, AppResult};
use crate::store::{Grouping, SUMMARY_PERIODS, kept_periods};
pub use shared::api::{CoverageRow, IndicatorReport, SiteIndicators, TrendPoint};

/// `?by=` for coverage.
#[derive(Debug, serde::Deserialize)]
pub struct CoverageQuery {
    /// `site` (default), `grid` or `cadre`.
    pub by: Option<String>,
    #[serde(flatten)]
    filter: Filter,
}

/// `GET /api/coverage?period=&by=site|grid|cadre`.
pub async fn coverage(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<CoverageQuery>,
) -> AppResult<Json<Vec<CoverageRow>>> {
    supervisor_or_admin(&session)?;
    let period = q.filter.period()?;
    let by = match q.by.as_deref().unwrap_or("site") {
        "site" => Grouping::Site,
        "grid" => Grouping::Grid,
        "cadre" => Grouping::Cadre,
        other => {
            return Err(AppError::bad_request(
                ErrorCode::BadGrouping,
                format!("不支持按“{other}”统计，可选 site、grid、cadre"),
                format!("Cannot group by \"{other}\"; use site, grid or cadre"),
            ));
        }
    };
    let selection = q.filter.selection(&session);
    let table = state.store.read(move |r| r.coverage(&selection, period, by)).await?;
    Ok(Json(
        table
            .into_iter()
            .map(|(key, (label, c))| CoverageRow {
                key,
                label,
                assigned: c.assigned,
                visited: c.visited,
                signed: c.signed,
                rate: c.rate(),
            })
            .collect(),
    ))
}

/// `?baseline=` for indicators.
#[derive(Debug, serde::Deserialize)]
pub struct IndicatorQuery {
    /// Baseline period for 三个不减; default: the same month a year earlier.
    pub baseline: Option<String>,
    #[serde(flatten)]
    filter: Filter,
}

/// `GET /api/indicators?period=&baseline=&site=`.
pub async fn indicators(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<IndicatorQuery>,
) -> AppResult<Json<IndicatorReport>> {
    supervisor_or_admin(&session)?;
    let period = q.filter.period()?;
    // An explicit baseline must be a kept period; the default (the year's 三个不减基期
    // from the settings, else a year earlier) is left out when it is not, rather than
    // refusing the period itself.
    let baseline = match q.baseline.as_deref() {
        Some(_) => {
            Some(kept_period(period_param(q.baseline.as_deref(), period, "基期", "Baseline")?, "基期", "Baseline")?)
        }
        None => {
            let set = state.store.read(|r| r.settings()).await?.for_period(period).baseline;
            kept_period(set.unwrap_or(period.plus_months(-12)), "基期", "Baseline").ok()
        }
    };
    let selection = q.filter.selection(&session);
    let (now_ind, base_ind) = state
        .store
        .read(move |r| {
            let base = match baseline {
                Some(b) => Some(r.indicators(&selection, b)?),
                None => None,
            };
            Ok((r.indicators(&selection, period)?, base))
        })
        .await?;
    let year_ago = baseline == Some(period.plus_months(-12));
    let three = base_ind.map(|base| ThreeNoDecrease::compare(&now_ind, &base, year_ago));
    Ok(Json(IndicatorReport {
        period: period.to_string(),
        baseline: baseline.map(|b| b.to_string()),
        coverage: now_ind.coverage(),
        employment_rate: now_ind.employment_rate(),
        one_in_work_rate: now_ind.one_in_work_rate(),
        per_capita_income: now_ind.per_capita_income(),
        per_capita_income_growth: now_ind.per_capita_income_growth(),
        three_no_decrease_holds: three.and_then(|t| t.holds()),
        three_no_decrease: three,
        indicators: now_ind,
    }))
}

/// `GET /api/indicators/sites?period=&township=&site=&grid=&cadre=`: the indicators
/// of each site in the caller's scope, by site name.
pub async fn indicators_by_site(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<Filter>,
) -> AppResult<Json<Vec<SiteIndicators>>> {
    supervisor_or_admin(&session)?;
    let period = filter.period()?;
    let selection = filter.selection(&session);
    let sites = state.store.read(move |r| r.indicators_by_site(&selection, period)).await?;
    Ok(Json(sites.into_iter().map(|(site, indicators)| SiteIndicators { site, indicators }).collect()))
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
    if !(1..=SUMMARY_PERIODS as u32).contains(&months) {
        return Err(AppError::bad_request(
            ErrorCode::BadMonths,
            format!("months 应在 1 到 {SUMMARY_PERIODS} 之间"),
            format!("months must be between 1 and {SUMMARY_PERIODS}"),
        ));
    }
    let selection = q.filter.selection(&session);
    let points = state
        .store
        .read(move |r| {
            // Months before the oldest kept period are left out, not computed.
            let oldest = *kept_periods(current_period()).start();
            (0..months as i32)
                .rev()
                .map(|back| end.plus_months(-back))
                .filter(|p| *p >= oldest)
                .map(|p| Ok(TrendPoint { period: p.to_string(), indicators: r.indicators(&selection, p)? }))
                .collect()
        })
        .await?;
    Ok(Json(points))
}
