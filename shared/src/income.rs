//! 人均纯收入 over a rolling 12 months and the hardship flags measured against the
//! year's monitoring line (防返贫监测, seed 003 §二(二): 常态化监测其收入支出状况), one
//! implementation for the household page, the indicators and the exports.
//!
//! The rule, step by step, with where each step comes from:
//! 1. 纯收入 of a month = 工资性 + 经营性净 + 财产性 + 转移性 − 生产经营费用 (the national
//!    rule: income less operating costs, taxes and fees; the visit records costs, taxes
//!    and fees as one deduction, [`crate::model::Income::net`]).
//! 2. The window of period P is the 12 months from the same month last year to the end
//!    of last month, P−12 … P−1 (the monitoring rule: 上年同月至上月末), so a month still
//!    being visited never counts half.
//! 3. Months in the window with no income recorded (no visit, or 未遇) are unknown, not
//!    zero: the year is the mean of the recorded months × 12, and the page says how many
//!    months it rests on.
//! 4. 人均 = the year ÷ the members resident on the window's last day
//!    ([`crate::model::Member::is_present_on`]): a member who moved out before then is
//!    not divided by; one born after it not yet.
//! 5. The line is the monitoring line of P's year ([`crate::settings::Settings`]).

use crate::model::Household;
use crate::period::Period;
use crate::settings::{EDGE_PERCENT, FALL_PERCENT, YearSettings};

/// The rolling 12-month net income of a household as seen from one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct RollingIncome {
    /// The window's first month (P−12).
    pub first: Option<Period>,
    /// …and last (P−1).
    pub last: Option<Period>,
    /// Months in the window with income recorded.
    pub months: u32,
    /// Σ their net incomes.
    pub recorded: i64,
    /// The year's net income: `recorded` ÷ `months` × 12; `None` with no month recorded.
    pub annual: Option<i64>,
    /// Members resident on the window's last day.
    pub members: u32,
    /// 人均纯收入: `annual` ÷ `members`.
    pub per_capita: Option<i64>,
}

impl RollingIncome {
    /// The window of `period`: P−12 … P−1 (steps 1–4 of the module's rule).
    pub fn of(h: &Household, period: Period) -> RollingIncome {
        let (first, last) = (period.plus_months(-12), period.plus_months(-1));
        let mut out = RollingIncome { first: Some(first), last: Some(last), ..RollingIncome::default() };
        for (key, v) in &h.visits {
            let Ok(p) = key.parse::<Period>() else { continue };
            if (first..=last).contains(&p)
                && let Some(net) = v.income.net()
            {
                out.months += 1;
                out.recorded += net;
            }
        }
        if out.months > 0 {
            out.annual = Some(out.recorded * 12 / i64::from(out.months));
        }
        let as_of = last.last_day();
        out.members = h.members.values().filter(|m| m.is_present_on(as_of)).count() as u32;
        if out.members > 0 {
            out.per_capita = out.annual.map(|a| a / i64::from(out.members));
        }
        out
    }
}

/// 刚性支出 recorded in the 12 months ending with `period` (P−11 … P: a large bill
/// this month must show this month), in yuan.
pub fn expenses_of_year(h: &Household, period: Period) -> i64 {
    let first = period.plus_months(-11);
    h.visits
        .iter()
        .filter(|(k, _)| k.parse::<Period>().is_ok_and(|p| (first..=period).contains(&p)))
        .flat_map(|(_, v)| v.expenses.values())
        .filter(|a| **a > 0)
        .sum()
}

/// The hardship flags of one household in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Hardship {
    /// 人均纯收入 below the monitoring line.
    pub below_line: bool,
    /// At or above the line but less than [`EDGE_PERCENT`] above it (边缘).
    pub near_line: bool,
    /// 人均纯收入 fell by more than [`FALL_PERCENT`] against the 12 months before.
    pub income_fall: bool,
    /// 刚性支出 of the last 12 months at or above the year's share of net income.
    pub heavy_expenses: bool,
}

impl Hardship {
    /// The flags from this window's income `now`, the window a year earlier `before`,
    /// the expenses of the last 12 months and the period's settings.
    pub fn of(now: &RollingIncome, before: &RollingIncome, expenses: i64, settings: &YearSettings) -> Hardship {
        let mut out = Hardship::default();
        if let (Some(pc), Some(line)) = (now.per_capita, settings.monitoring_line) {
            out.below_line = pc < line;
            out.near_line = pc >= line && pc * 100 < line * (100 + EDGE_PERCENT);
        }
        if let (Some(pc), Some(prev)) = (now.per_capita, before.per_capita) {
            out.income_fall = prev > 0 && pc * 100 < prev * (100 - FALL_PERCENT);
        }
        if let Some(share) = settings.expense_share_percent
            && expenses > 0
        {
            out.heavy_expenses = now.annual.is_none_or(|a| a <= 0 || expenses * 100 >= a * share);
        }
        out
    }

    /// Any flag up.
    pub fn any(&self) -> bool {
        self.below_line || self.near_line || self.income_fall || self.heavy_expenses
    }
}
