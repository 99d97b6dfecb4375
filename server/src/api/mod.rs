//! The JSON API, one module per resource. Handlers check who may ask, turn query
//! parameters into typed store questions, and shape the answers; the store does the
//! reading and writing.
//!
//! - `account`: login, logout, password, me;
//! - `households`: the list, one household, its history;
//! - `dashboard`: coverage, indicators, the trend;
//! - `flagged`: the households behind an indicator;
//! - `reviews`: the review queue and its actions (approve, return);
//! - `conflicts`: the conflict list and resolving one.

pub mod account;
pub mod blobs;
pub mod cases;
pub mod conflicts;
pub mod dashboard;
pub mod flagged;
pub mod households;
pub mod phones;
pub mod reviews;
pub mod settings;

use serde::de::DeserializeOwned;
use shared::api::ErrorCode;
use shared::wire::RefusalCode;
use shared::{Date, HouseholdDoc, Period};

use crate::auth::{Role, Session, now, require_touch};
use crate::error::{AppError, AppResult};
use crate::store::{HouseholdFilter, Reader, Selection, Writer};

/// Parses a JSON body, naming what is wrong with it.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8]) -> AppResult<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        AppError::bad_request(
            ErrorCode::BadJson,
            format!("请求内容不是有效的 JSON：{e}"),
            format!("The request body is not the expected JSON: {e}"),
        )
    })
}

/// A `YYYY-MM` query parameter (`zh`/`en` name it in the error), or `default`.
pub fn period_param(value: Option<&str>, default: Period, zh: &str, en: &str) -> AppResult<Period> {
    match value {
        None => Ok(default),
        Some(p) => p.parse().map_err(|_| {
            AppError::bad_request(
                ErrorCode::BadPeriod,
                format!("{zh}“{p}”应为 YYYY-MM"),
                format!("{en} \"{p}\" must be YYYY-MM"),
            )
        }),
    }
}

/// `period` if the server keeps summaries for it (`store::kept_periods`), or it lies
/// in the coming year (summed on the fly, never kept): the dashboards, the review
/// queue and the flagged lists answer for those periods only, so that no read computes
/// and stores rows for a period nobody recorded.
pub fn kept_period(period: Period, zh: &str, en: &str) -> AppResult<Period> {
    let current = current_period();
    // Periods that have not begun are summed on the fly and never kept; a year ahead
    // is as far as anyone plans.
    let (from, to) = (*crate::store::kept_periods(current).start(), current.plus_months(12));
    if (from..=to).contains(&period) {
        return Ok(period);
    }
    Err(AppError::bad_request(
        ErrorCode::PeriodOutOfRange,
        format!("{zh} {period} 超出可查范围（{from} 至 {to}）"),
        format!("{en} {period} is outside the periods the dashboards cover ({from} to {to})"),
    ))
}

/// The current period (China time).
pub fn current_period() -> Period {
    Period::of(Date::in_china(now()))
}

/// Query parameters shared by the dashboard endpoints: the period and the households.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filter {
    /// `YYYY-MM`; default: the current period (China time).
    pub period: Option<String>,
    /// Narrow to a township, site, grid or cadre inside the caller's scope.
    #[serde(flatten)]
    pub households: HouseholdFilter,
}

impl Filter {
    /// The period asked for, or the current one; one the dashboards answer for
    /// ([`kept_period`]).
    pub fn period(&self) -> AppResult<Period> {
        kept_period(period_param(self.period.as_deref(), current_period(), "监测期", "Period")?, "监测期", "Period")
    }
    /// The households asked for within `session`'s scope.
    pub fn selection(&self, session: &Session) -> Selection {
        Selection::filtered(&session.user, self.households.clone())
    }
}

/// Whether `session` reads ID numbers in full: admins only. Everyone else gets them
/// masked (`shared::idcard::mask_id_number`) in every JSON answer: the household
/// view, its history, conflicts, exports.
pub fn reads_id_numbers(session: &Session) -> bool {
    session.user.role == shared::api::Role::Admin
}

/// The households an answer left out because their stored document is damaged, named
/// by registry number in the `X-Skipped-Households` header (comma-separated; absent
/// when none), so that one damaged household never fails a county's export or list.
#[derive(Debug)]
pub struct Skipped;

impl Skipped {
    /// The header's name.
    pub const HEADER: &'static str = "x-skipped-households";

    /// The count's header: how many were left out (the list names at most [`Self::NAMED`]).
    pub const COUNT_HEADER: &'static str = "x-skipped-count";

    /// Registry numbers named in the header at most (a proxy's header buffer is a few KB).
    pub const NAMED: usize = 100;

    /// The headers for `ids` (none when there are none).
    pub fn header(
        ids: &[String],
    ) -> axum::response::AppendHeaders<Vec<(axum::http::HeaderName, axum::http::HeaderValue)>> {
        use axum::http::{HeaderName, HeaderValue};
        if ids.is_empty() {
            return axum::response::AppendHeaders(Vec::new());
        }
        let named = ids.iter().take(Self::NAMED).map(String::as_str).collect::<Vec<_>>().join(",");
        let mut pairs = vec![(HeaderName::from_static(Self::COUNT_HEADER), HeaderValue::from(ids.len()))];
        // Registry numbers are `[A-Za-z0-9_.-]` (`shared::fields::is_valid_id`): a valid value.
        if let Ok(v) = HeaderValue::from_str(&named) {
            pairs.push((HeaderName::from_static(Self::HEADER), v));
        }
        axum::response::AppendHeaders(pairs)
    }
}

/// Refuses cadres.
pub fn supervisor_or_admin(session: &Session) -> AppResult<()> {
    if session.user.role == Role::Cadre {
        return Err(AppError::forbidden("仅督导和管理员可查看", "Only supervisors and admins can see this"));
    }
    Ok(())
}

/// Loads household `id` for `session`, or says why not (404, 403).
pub fn open(r: &mut dyn Reader, session: &Session, id: &str) -> AppResult<HouseholdDoc> {
    require_touch(r, &session.user, id)?;
    r.load_doc(id)?.ok_or_else(|| AppError::not_found(id))
}

/// Saves `doc` after a server-side edit by `session`, with its change log, in the
/// caller's transaction.
pub fn commit(
    w: &mut dyn Writer,
    session: &Session,
    id: &str,
    before: &[shared::automerge::ChangeHash],
    doc: &HouseholdDoc,
) -> AppResult<()> {
    let household = doc.check().map_err(|e| {
        AppError::bad_request(
            ErrorCode::Refused(RefusalCode::Schema),
            format!("记录不符合格式：{}", e.zh()),
            format!("The record breaks the layout: {e}"),
        )
    })?;
    let at = now();
    let hashes: Vec<_> = doc.automerge().get_changes(before).iter().map(|c| c.hash()).collect();
    w.log_changes(id, &hashes, &session.user.id, &session.device_id, at)?;
    w.save_doc(id, doc, &household, Date::in_china(at), at)?;
    Ok(())
}
