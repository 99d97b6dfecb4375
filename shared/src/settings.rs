//! 年度监测设置 (monitoring settings by year): the figures indicators and flags are
//! measured against, set by admins in the console, kept by the server and read by the
//! phone at each sync. One entry per year; a year without an entry of its own uses the
//! latest earlier year's whole entry.

use crate::period::Period;

/// The earliest and latest year an entry may be for.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;
/// The most a yearly per-capita line may be, in yuan.
pub const MAX_LINE: i64 = 1_000_000;
/// 边缘: per-capita income up to this many percent above the monitoring line (seed 003
/// names 边缘易致贫户 without a figure; counties use 10 % in the issue that asked for it).
pub const EDGE_PERCENT: i64 = 10;
/// 收入骤减: the rolling 12-month per-capita income fell by more than this many percent
/// against the 12 months before.
pub const FALL_PERCENT: i64 = 30;

/// The settings of one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct YearSettings {
    /// The year (from January) these figures apply to.
    pub year: i32,
    /// 防返贫监测线: the province's per-capita net income line of the year, in yuan
    /// (e.g. 8,700 Yunnan 2024, 8,500 Guizhou). Below it, or less than
    /// [`EDGE_PERCENT`] above it, a household is flagged. `None`: not set.
    pub monitoring_line: Option<i64>,
    /// The county's own low-income target (seed 000 §(二十八): 10,000 yuan), counted by
    /// the indicator 低收入劳动力家庭; the monitoring line when not set.
    pub low_income_target: Option<i64>,
    /// 刚性支出较大: a household is flagged when its unavoidable expenses of the last 12
    /// months reach this percentage of its yearly net income. `None`: not flagged.
    pub expense_share_percent: Option<i64>,
    /// 三个不减基期: the month the year's figures are compared with (e.g. the end of the
    /// year before); `None`: the same month a year earlier.
    #[serde(default)]
    pub baseline: Option<Period>,
}

/// Every year's settings, as the server keeps them and the phone caches them.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Settings {
    /// By year, ascending, at most one per year.
    pub years: Vec<YearSettings>,
    /// 佐证设置: which kinds of evidence the county offers (not by year).
    #[serde(default)]
    pub evidence: crate::evidence::EvidenceSettings,
}

/// A problem with settings an admin sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    /// 中文
    pub zh: String,
    /// English
    pub en: String,
}

impl Settings {
    /// The settings that apply in `year`: its own entry, else the latest earlier year's,
    /// else none set.
    pub fn for_year(&self, year: i32) -> YearSettings {
        self.years
            .iter()
            .filter(|y| y.year <= year)
            .max_by_key(|y| y.year)
            .map_or(YearSettings { year, ..YearSettings::default() }, |y| YearSettings { year, ..*y })
    }

    /// The settings that apply in `period` (its year's).
    pub fn for_period(&self, period: Period) -> YearSettings {
        self.for_year(i32::from(period.year()))
    }

    /// The years (within [`YEARS`]) whose applying settings differ between `self` and
    /// `other`: the years whose figures must be computed again.
    pub fn changed_years(&self, other: &Settings) -> Vec<i32> {
        YEARS
            .filter(|&y| {
                let (a, b) = (self.for_year(y), other.for_year(y));
                (a.monitoring_line, a.low_income_target, a.expense_share_percent)
                    != (b.monitoring_line, b.low_income_target, b.expense_share_percent)
            })
            .collect()
    }

    /// Checks settings an admin sent and returns them sorted by year; every problem is
    /// named with its year.
    pub fn checked(mut self) -> Result<Settings, SettingsError> {
        self.years.sort_by_key(|y| y.year);
        let bad = |zh: String, en: String| Err(SettingsError { zh, en });
        for pair in self.years.windows(2) {
            if pair[0].year == pair[1].year {
                let y = pair[0].year;
                return bad(format!("{y} 年的设置出现了两次"), format!("The settings of {y} appear twice"));
            }
        }
        for y in &self.years {
            let year = y.year;
            if !YEARS.contains(&year) {
                return bad(
                    format!("年份 {year} 不在 {}–{} 之间", YEARS.start(), YEARS.end()),
                    format!("The year {year} is not between {} and {}", YEARS.start(), YEARS.end()),
                );
            }
            for (value, zh, en) in [
                (y.monitoring_line, "监测线", "monitoring line"),
                (y.low_income_target, "低收入目标线", "low-income target"),
            ] {
                if value.is_some_and(|v| !(1..=MAX_LINE).contains(&v)) {
                    return bad(
                        format!("{year} 年的{zh}应在 1–{MAX_LINE} 元之间"),
                        format!("The {en} of {year} must be between 1 and {MAX_LINE} yuan"),
                    );
                }
            }
            if let Some(b) = y.baseline
                && i32::from(b.year()) >= year
            {
                return bad(
                    format!("{year} 年的三个不减基期 {b} 应早于当年"),
                    format!("The baseline of {year} ({b}) must be before that year"),
                );
            }
            if y.expense_share_percent.is_some_and(|v| !(1..=1000).contains(&v)) {
                return bad(
                    format!("{year} 年的刚性支出占比应在 1–1000% 之间"),
                    format!("The expense share of {year} must be between 1 and 1000 %"),
                );
            }
        }
        Ok(self)
    }
}

impl YearSettings {
    /// The line 低收入劳动力家庭 counts against: the county's target, else the
    /// monitoring line.
    pub fn low_income_line(&self) -> Option<i64> {
        self.low_income_target.or(self.monitoring_line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn year(year: i32, line: Option<i64>) -> YearSettings {
        YearSettings { year, monitoring_line: line, ..YearSettings::default() }
    }

    #[test]
    fn a_year_uses_its_own_entry_or_the_latest_earlier_one() {
        let s = Settings { years: vec![year(2024, Some(8_700)), year(2026, Some(9_000))], ..Default::default() };
        assert_eq!(s.for_year(2023).monitoring_line, None);
        assert_eq!(s.for_year(2024).monitoring_line, Some(8_700));
        assert_eq!(s.for_year(2025).monitoring_line, Some(8_700));
        assert_eq!(s.for_year(2025).year, 2025);
        assert_eq!(s.for_year(2027).monitoring_line, Some(9_000));
        let changed = Settings { years: vec![year(2024, Some(8_700)), year(2026, Some(9_100))], ..Default::default() };
        assert_eq!(s.changed_years(&changed), (2026..=2100).collect::<Vec<_>>());
    }

    #[test]
    fn bad_settings_are_named() {
        let twice = Settings { years: vec![year(2025, None), year(2025, Some(1))], ..Default::default() };
        assert!(twice.checked().unwrap_err().zh.contains("2025 年的设置出现了两次"));
        let low = Settings { years: vec![year(2025, Some(0))], ..Default::default() };
        assert!(low.checked().unwrap_err().en.contains("monitoring line of 2025"));
        let sorted =
            Settings { years: vec![year(2026, None), year(2025, None)], ..Default::default() }.checked().unwrap();
        assert_eq!(sorted.years[0].year, 2025);
    }
}
