//! Calendar values the questionnaire uses: the monitoring period `YYYY-MM` (监测期) and
//! plain dates `YYYY-MM-DD`. No clock is read here; callers pass "today".

use std::fmt;
use std::str::FromStr;

/// 监测期: a monthly monitoring period, written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: u16,
    /// 1..=12
    month: u8,
}

/// Why a period or date string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid {1}")]
pub struct ParseCalendarError(pub String, pub &'static str);

impl Period {
    /// The period for a year and a month (1..=12); `None` when out of range.
    pub fn new(year: u16, month: u8) -> Option<Self> {
        ((1900..=2999).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }
    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }
    /// The month, 1..=12.
    pub fn month(self) -> u8 {
        self.month
    }
    /// The period `n` months later (negative: earlier).
    pub fn plus_months(self, n: i32) -> Self {
        let index = i32::from(self.year) * 12 + i32::from(self.month) - 1 + n;
        let year = u16::try_from(index.div_euclid(12)).unwrap_or(0);
        let month = u8::try_from(index.rem_euclid(12) + 1).unwrap_or(1);
        Self { year, month }
    }
    /// The period just before this one.
    pub fn prev(self) -> Self {
        self.plus_months(-1)
    }
    /// The last day of the period: ages are reckoned on it.
    pub fn last_day(self) -> Date {
        Date { year: self.year, month: self.month, day: days_in_month(self.year, self.month) }
    }
    /// The period containing `date`.
    pub fn of(date: Date) -> Self {
        Self { year: date.year, month: date.month }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Period {
    type Err = ParseCalendarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseCalendarError(s.to_owned(), "period (YYYY-MM)");
        let b = s.as_bytes();
        if b.len() != 7 || b[4] != b'-' {
            return Err(err());
        }
        let year = digits(&s[0..4]).ok_or_else(err)?;
        let month = digits(&s[5..7]).ok_or_else(err)?;
        Period::new(u16::try_from(year).map_err(|_| err())?, u8::try_from(month).map_err(|_| err())?).ok_or_else(err)
    }
}

/// A calendar date, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// A date; `None` if it does not exist in the calendar.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        Period::new(year, month)?;
        (day >= 1 && day <= days_in_month(year, month)).then_some(Self { year, month, day })
    }
    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }
    /// The month, 1..=12.
    pub fn month(self) -> u8 {
        self.month
    }
    /// The day of the month.
    pub fn day(self) -> u8 {
        self.day
    }
    /// Whole years from `self` (a birth date) to `on`.
    pub fn age_on(self, on: Date) -> i32 {
        let mut age = i32::from(on.year) - i32::from(self.year);
        if (on.month, on.day) < (self.month, self.day) {
            age -= 1;
        }
        age
    }
    /// The civil date `days` days after 1970-01-01 (negative: before).
    pub fn from_unix_days(days: i64) -> Self {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
        Self { year, month, day }
    }

    /// Days from 1970-01-01 to this date.
    pub fn to_unix_days(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let m = i64::from(self.month);
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Today's date in China (UTC+8) at Unix second `secs`.
    pub fn in_china(secs: i64) -> Self {
        Self::from_unix_days((secs + 8 * 3600).div_euclid(86_400))
    }

    /// The date from the 8 digits `YYYYMMDD` (as inside an ID number).
    pub fn from_compact(s: &str) -> Option<Self> {
        if s.len() != 8 {
            return None;
        }
        let y = digits(&s[0..4])?;
        let m = digits(&s[4..6])?;
        let d = digits(&s[6..8])?;
        Date::new(u16::try_from(y).ok()?, u8::try_from(m).ok()?, u8::try_from(d).ok()?)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = ParseCalendarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseCalendarError(s.to_owned(), "date (YYYY-MM-DD)");
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let compact = format!("{}{}{}", &s[0..4], &s[5..7], &s[8..10]);
        Date::from_compact(&compact).ok_or_else(err)
    }
}

/// `YYYY-MM-DD`, as serde writes it.
#[cfg(not(target_arch = "wasm32"))]
impl schemars::JsonSchema for Date {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Date".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"})
    }
}

/// `YYYY-MM`, as serde writes it.
#[cfg(not(target_arch = "wasm32"))]
impl schemars::JsonSchema for Period {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Period".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"})
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        _ => 28,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_print_and_step() {
        let p: Period = "2026-01".parse().unwrap();
        assert_eq!(p.to_string(), "2026-01");
        assert_eq!(p.prev().to_string(), "2025-12");
        assert_eq!(p.plus_months(-12).to_string(), "2025-01");
        assert_eq!(p.plus_months(23).to_string(), "2027-12");
        assert_eq!(p.last_day().to_string(), "2026-01-31");
        assert_eq!("2024-02".parse::<Period>().unwrap().last_day().to_string(), "2024-02-29");
        for bad in ["2026-13", "2026-00", "2026-1", "26-01", "2026/01", "２０２６-01", "2026-01-01", ""] {
            assert!(bad.parse::<Period>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn dates_parse_and_ages() {
        let birth: Date = "2010-11-23".parse().unwrap();
        assert_eq!(birth.age_on("2026-11-22".parse().unwrap()), 15);
        assert_eq!(birth.age_on("2026-11-23".parse().unwrap()), 16);
        for bad in ["2023-02-29", "2026-04-31", "2026-4-01", "x"] {
            assert!(bad.parse::<Date>().is_err(), "{bad} accepted");
        }
        assert!("2024-02-29".parse::<Date>().is_ok());
        assert_eq!(Date::from_unix_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_unix_days(19_782).to_string(), "2024-02-29");
        for days in [-100_000, -1, 0, 59, 19_782, 20_414, 400_000] {
            assert_eq!(Date::from_unix_days(days).to_unix_days(), days);
        }
        // 2026-11-22 15:59:59 UTC is 23:59:59 in Beijing; a second later it is the 23rd.
        assert_eq!(Date::in_china(1_795_363_199).to_string(), "2026-11-22");
        assert_eq!(Date::in_china(1_795_363_200).to_string(), "2026-11-23");
    }
}
