//! PROTOCOL.md §5 and §5.1: what supervisors read (coverage, indicators, trend, review
//! queue, conflicts, one household, its history) and the two console writes.

use std::collections::BTreeMap;

use super::HouseholdRow;
use crate::fields::Scalar;
use crate::history::HistoryEntry;
use crate::indicators::{Indicators, ThreeNoDecrease};
use crate::model::Household;
use crate::{ConflictValue, Problem};

/// One row of `GET /api/coverage`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct CoverageRow {
    /// Site, `site / grid` or cadre login.
    pub key: String,
    /// Display label (cadre name; otherwise the key).
    pub label: String,
    /// Assigned households.
    pub assigned: u32,
    /// Visited in person.
    pub visited: u32,
    /// …with the household head's sign-off (户主签字确认).
    #[serde(default)]
    pub signed: u32,
    /// visited ÷ assigned (`null` with no households).
    pub rate: Option<f64>,
}

/// One row of `GET /api/indicators/sites`: a site's indicators in the period (the
/// console's 监测对象按安置点统计: monitored households by type, cases by status, help
/// measures, the monitoring line and 八必访, per site).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct SiteIndicators {
    /// 安置点
    pub site: String,
    /// Its indicators, as `GET /api/indicators` counts them.
    pub indicators: crate::indicators::Indicators,
}

/// `GET /api/indicators`: the indicators of one period and area, with the derived rates.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct IndicatorReport {
    /// The period.
    pub period: String,
    /// The baseline period; `null` when none was asked for and the same month a year
    /// earlier lies before the periods the server keeps (then there is no 三个不减).
    pub baseline: Option<String>,
    /// Raw counts and sums.
    pub indicators: Indicators,
    /// 户户见 coverage.
    pub coverage: Option<f64>,
    /// 劳动力就业率.
    pub employment_rate: Option<f64>,
    /// Households with labour that have someone in work.
    pub one_in_work_rate: Option<f64>,
    /// 人均纯收入.
    pub per_capita_income: Option<f64>,
    /// 人均纯收入增长.
    pub per_capita_income_growth: Option<f64>,
    /// 三个不减 against the baseline (`null`: no baseline).
    pub three_no_decrease: Option<ThreeNoDecrease>,
    /// …and whether it holds (`null` without a baseline, or when no household was
    /// compared).
    pub three_no_decrease_holds: Option<bool>,
}

/// One point of `GET /api/trend`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct TrendPoint {
    /// `YYYY-MM`.
    pub period: String,
    /// The period's indicators (rates via `Indicators`' methods).
    pub indicators: Indicators,
}

/// `GET /api/reviews`: the review queue of a period.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct ReviewQueue {
    /// The period.
    pub period: String,
    /// Visits per status (`pending`, `returned`, `approved`).
    pub counts: BTreeMap<String, u32>,
    /// The households whose visit has the asked status.
    pub rows: Vec<HouseholdRow>,
}

/// A conflicted field as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct FieldConflict {
    /// The field's key.
    pub key: String,
    /// Readable name, Chinese.
    pub field_zh: String,
    /// …and English.
    pub field_en: String,
    /// Every value with author and time; the one that reads as the value first.
    pub values: Vec<ConflictValue>,
}

/// One item of `GET /api/conflicts`: the household, then the field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct ConflictItem {
    /// 户编码
    pub household_id: String,
    /// 户主
    pub head_name: String,
    /// The field, its readable names and every value.
    #[serde(flatten)]
    pub field: FieldConflict,
}

/// `GET /api/households/{id}`: one household as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct HouseholdDetail {
    /// 户编码
    pub id: String,
    /// The decoded household (ID numbers masked unless the caller is an admin).
    pub household: Household,
    /// What `shared::validate` says about it today.
    pub problems: Vec<Problem>,
    /// Conflicted fields.
    pub conflicts: Vec<FieldConflict>,
    /// The cadres it is assigned to (帮扶干部).
    pub cadres: Vec<Person>,
}

/// A user as others see them: login and display name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Person {
    /// 账号
    pub id: String,
    /// 姓名
    pub name: String,
    /// 联系电话: a phone number others may call (明白卡 prints a cadre's); empty when
    /// none was given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone: String,
}

/// One item of `GET /api/households/{id}/history`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct HistoryItem {
    /// The change as the document records it.
    #[serde(flatten)]
    pub entry: HistoryEntry,
    /// The authenticated user who uploaded it, or who made it on the server (a console
    /// review or resolution); `null` for changes the server has no record of receiving
    /// (demo data, roster imports).
    pub uploaded_by: Option<String>,
    /// …from which device.
    pub device_id: Option<String>,
    /// …when the server received it, Unix seconds.
    pub received_at: Option<i64>,
}

/// `POST /api/households/{id}/review`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct ReviewRequest {
    /// The visit's period, `YYYY-MM`.
    pub period: String,
    /// `approve` or `return`.
    pub action: String,
    /// 审核意见: required when returning.
    #[serde(default)]
    pub comment: String,
}

/// `POST /api/households/{id}/resolve`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct ResolveRequest {
    /// The conflicted field's key.
    pub key: String,
    /// The value to keep: one of the conflicting values.
    pub value: Scalar,
}
