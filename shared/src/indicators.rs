//! The indicators of `DOMAIN.md`, one implementation for the phone and the server.
//!
//! Two steps: [`Summary::of`] reduces one household to the numbers of one period (the
//! server stores this as the household's projection row), and [`Indicators`] adds
//! summaries up. Summing stored summaries gives the same result as recomputing.
//!
//! Conventions, each chosen from the seeds:
//! - Ages are reckoned on the last day of the period; a member under 16 is never
//!   counted as employed (劳动年龄 starts at 16, seed 002 §(五)), whatever a visit says.
//! - Employment figures of a period come from that period's visit; a household with
//!   no visit for the period, or only a "not met" one, is *not recorded* and stays out
//!   of the employment denominators (coverage reports it instead).
//! - 稳定就业 (seed 001 item 6, 稳定就业3个月及以上): employed in each of the three
//!   consecutive months ending with the period; a month without a recorded visit
//!   breaks the run.
//! - Net income, per capita and the hardship flags follow [`crate::income`] (a rolling
//!   12 months to the end of last month, against the line of the period's year).
//! - 低收入 (seed 000 §(二十八)): per capita below the county's low-income target (the
//!   monitoring line when none is set), at least one labour-force member, and a 脱贫户
//!   or a monitored household — the seed names those two groups, so a 同步搬迁户 that
//!   is not monitored is not counted.

use std::collections::BTreeMap;

use crate::income::{Hardship, RollingIncome, expenses_of_year};
use crate::model::{
    Category, Channel, Employment, EmploymentStatus, Household, MemberId, Monitoring, PlaceScope, Visit, VisitMode,
};
use crate::period::{Date, Period};
use crate::settings::Settings;

/// Consecutive months of employment that make it stable (seed 001 item 6).
pub const STABLE_PERIODS: i32 = 3;

/// One household's numbers for one period.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Summary {
    /// The period's visit mode, if there is a visit.
    pub visit_mode: Option<VisitMode>,
    /// The latest period at or before this one with a visit.
    pub last_visit: Option<String>,
    /// Visited in person this period (户户见).
    pub visited_in_person: bool,
    /// The period has a visit with data (any mode but "not met").
    pub recorded: bool,
    /// 户主签字确认: the period's visit carries the household head's sign-off (a
    /// signature or a photo of the signed form).
    pub signed: bool,
    /// 劳动力 as of the period's last day.
    pub labour_force: u32,
    /// Labour-force members employed this period.
    pub employed_labour: u32,
    /// Everybody recorded as employed this period (三个不减, breakdowns).
    pub employed_people: u32,
    /// 稳定就业: labour-force members employed in each of the 3 consecutive months
    /// ending with this one.
    pub stable_employed: u32,
    /// 零就业家庭
    pub zero_employment: bool,
    /// Has labour force and at least one employed member (一户一人).
    pub one_in_work: bool,
    /// Members present.
    pub present_members: u32,
    /// Annual net income over the rolling 12 months (P−12 … P−1); `None` if none recorded.
    pub annual_income: Option<i64>,
    /// The same over the 12 months before those.
    pub annual_income_prev: Option<i64>,
    /// 人均纯收入 (yearly, yuan) over the rolling 12 months.
    pub per_capita_income: Option<i64>,
    /// The same a year earlier.
    pub per_capita_prev: Option<i64>,
    /// Members resident at the end of the rolling 12 months, whom per capita divides by.
    pub income_members: u32,
    /// 低收入且有劳动力 (see module docs).
    pub low_income_labour: bool,
    /// 刚性支出 of the 12 months ending here.
    pub expenses_year: i64,
    /// Hardship flags against the period's line.
    pub hardship: Hardship,
    /// 监测状态 of the household's case (as it stands now: a case is not kept by period).
    pub case: Option<crate::case::CaseStatus>,
    /// A help measure was in force at some time in the period.
    pub measure_in_force: bool,
    /// 八必访: why the household must be visited in person this period.
    pub must_visit: Vec<crate::must_visit::MustVisit>,
    /// 两不愁三保障: any "no" in the latest recorded visit.
    pub guarantee_alert: bool,
    /// 监测对象类型.
    pub monitoring: Monitoring,
    /// Any risk signal this period.
    pub risk: bool,
    /// A risk signal this period that the previous recorded visit did not have.
    pub new_risk: bool,
    /// Members who returned home this period (返乡).
    pub returned: u32,
    /// Members employed on a public-welfare post this period.
    pub welfare_posts: u32,
    /// The household's wage income this period.
    pub wage_income: i64,
    /// 三个不减 of the same month a year earlier, when this period and that one both
    /// have a recorded visit: the household is then compared with itself.
    pub year_ago: Option<Three>,
    /// Employed members by channel.
    pub by_channel: BTreeMap<Channel, u32>,
    /// Employed members by place scope.
    pub by_scope: BTreeMap<PlaceScope, u32>,
    /// Employed members by industry (as written, trimmed; empty = "unknown").
    pub by_industry: BTreeMap<String, u32>,
}

/// 三个不减's three figures of one visit: people employed, public-welfare posts, wages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Three {
    /// Everybody recorded as employed.
    pub employed: u32,
    /// Employed on a public-welfare post (公益性岗位).
    pub welfare_posts: u32,
    /// 工资性收入
    pub wage_income: i64,
}

/// The members visit `v` counts as employed: recorded employed and not under 16 on
/// `as_of` (a member the household does not know counts as recorded).
pub fn employed<'v>(
    h: &'v Household,
    v: &'v Visit,
    as_of: Date,
) -> impl Iterator<Item = (&'v MemberId, &'v Employment)> {
    v.employment.iter().filter(move |(id, e)| {
        e.status == Some(EmploymentStatus::Employed) && !h.members.get(*id).is_some_and(|m| m.is_minor_on(as_of))
    })
}

impl Three {
    /// The figures of household `h`'s visit `v` of the period ending `as_of`.
    pub fn of(h: &Household, v: &Visit, as_of: Date) -> Three {
        let employed: Vec<_> = employed(h, v, as_of).map(|(_, e)| e).collect();
        Three {
            employed: employed.len() as u32,
            welfare_posts: employed.iter().filter(|e| e.channel == Some(Channel::WelfarePost)).count() as u32,
            wage_income: v.income.wage.unwrap_or(0),
        }
    }

    fn add(&mut self, other: Three) {
        self.employed += other.employed;
        self.welfare_posts += other.welfare_posts;
        self.wage_income += other.wage_income;
    }
}

fn recorded(v: &Visit) -> bool {
    v.mode.is_some_and(|m| m != VisitMode::NotMet)
}

/// Visits with a valid period key, newest first, at or before `period`.
fn visits_until(h: &Household, period: Period) -> impl Iterator<Item = (Period, &Visit)> {
    h.visits
        .iter()
        .rev()
        .filter_map(|(k, v)| k.parse::<Period>().ok().map(|p| (p, v)))
        .filter(move |(p, _)| *p <= period)
}

impl Summary {
    /// Reduces `h` to its numbers for `period`, measured against `settings`' figures
    /// for the period's year.
    pub fn of(h: &Household, period: Period, settings: &Settings) -> Summary {
        let key = period.to_string();
        let as_of = period.last_day();
        let visit = h.visits.get(&key);
        let mut s = Summary {
            visit_mode: visit.and_then(|v| v.mode),
            last_visit: visits_until(h, period).next().map(|(p, _)| p.to_string()),
            visited_in_person: visit.is_some_and(Visit::is_in_person),
            recorded: visit.is_some_and(recorded),
            signed: visit.is_some_and(|v| v.signed_at().is_some()),
            monitoring: h.facts.monitoring.unwrap_or(Monitoring::None),
            // Members living in the household at the period's end.
            present_members: h.members.values().filter(|m| m.is_present_on(as_of)).count() as u32,
            ..Summary::default()
        };
        let labour: Vec<&String> =
            h.members.iter().filter(|(_, m)| m.is_labour_force(as_of)).map(|(id, _)| id).collect();
        s.labour_force = labour.len() as u32;

        let recorded_visits: Vec<&Visit> = visits_until(h, period).map(|(_, v)| v).filter(|v| recorded(v)).collect();
        if let Some(v) = visit.filter(|v| recorded(v)) {
            let works = |id: &String, v: &Visit| {
                v.employment.get(id).is_some_and(|e| e.status == Some(EmploymentStatus::Employed))
            };
            s.employed_labour = labour.iter().filter(|id| works(id, v)).count() as u32;
            let seeking = labour
                .iter()
                .any(|id| v.employment.get(*id).is_some_and(|e| e.status == Some(EmploymentStatus::Seeking)));
            // The two months before this one, each with its own recorded visit.
            let before: Vec<Option<&Visit>> = (1..STABLE_PERIODS)
                .map(|n| h.visits.get(&period.plus_months(-n).to_string()).filter(|v| recorded(v)))
                .collect();
            s.stable_employed = labour
                .iter()
                .filter(|id| works(id, v) && before.iter().all(|b| b.is_some_and(|b| works(id, b))))
                .count() as u32;
            let three = Three::of(h, v, as_of);
            (s.employed_people, s.welfare_posts, s.wage_income) =
                (three.employed, three.welfare_posts, three.wage_income);
            s.returned = v.employment.values().filter(|e| e.returned == Some(true)).count() as u32;
            for (_, e) in employed(h, v, as_of) {
                if let Some(c) = e.channel {
                    *s.by_channel.entry(c).or_default() += 1;
                }
                if let Some(scope) = e.place_scope.or_else(|| e.channel.and_then(Channel::implied_scope)) {
                    *s.by_scope.entry(scope).or_default() += 1;
                }
                *s.by_industry.entry(e.industry.trim().to_owned()).or_default() += 1;
            }
            s.zero_employment = seeking && s.employed_people == 0;
            s.one_in_work = s.labour_force > 0 && s.employed_people > 0;
            let year_ago = period.plus_months(-12);
            s.year_ago = h
                .visits
                .get(&year_ago.to_string())
                .filter(|v| recorded(v))
                .map(|v| Three::of(h, v, year_ago.last_day()));
            s.risk = !v.risks.is_empty();
            let previous = recorded_visits.get(1);
            s.new_risk = v.risks.iter().any(|r| !previous.is_some_and(|p| p.risks.contains(r)));
        }
        s.guarantee_alert = recorded_visits.first().is_some_and(|v| v.guarantees.any_failed());

        let year = settings.for_period(period);
        let (now, before) = (RollingIncome::of(h, period), RollingIncome::of(h, period.plus_months(-12)));
        (s.annual_income, s.annual_income_prev) = (now.annual, before.annual);
        (s.per_capita_income, s.per_capita_prev) = (now.per_capita, before.per_capita);
        s.income_members = now.members;
        s.expenses_year = expenses_of_year(h, period);
        s.hardship = Hardship::of(&now, &before, s.expenses_year, &year);
        s.case = h.case.status;
        s.must_visit = crate::must_visit::reasons(h, period, &s.hardship);
        let first = Date::new(period.year(), period.month(), 1).unwrap_or(as_of);
        s.measure_in_force = h.measures.values().any(|m| m.delivered_by(as_of) && m.end.is_none_or(|e| e >= first));
        let targeted = h.facts.category == Some(Category::Lifted) || s.monitoring != Monitoring::None;
        s.low_income_labour = targeted
            && s.labour_force > 0
            && s.per_capita_income.zip(year.low_income_line()).is_some_and(|(p, line)| p < line);
        s
    }
}

/// The indicators of a set of households for one period.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Indicators {
    /// Households counted.
    pub households: u32,
    /// Visited in person this period (户户见).
    pub visited_in_person: u32,
    /// With a recorded visit this period.
    pub recorded: u32,
    /// Visited in person with the household head's sign-off (户主签字确认).
    pub signed: u32,
    /// Labour-force members of recorded households.
    pub labour_force: u32,
    /// …of whom employed.
    pub employed_labour: u32,
    /// Everybody recorded as employed.
    pub employed_people: u32,
    /// 零就业家庭
    pub zero_employment: u32,
    /// Recorded households with labour force.
    pub households_with_labour: u32,
    /// …with at least one member in work.
    pub one_in_work: u32,
    /// 稳定就业 members.
    pub stable_employed: u32,
    /// 低收入且有劳动力 households.
    pub low_income_labour: u32,
    /// Households whose per-capita income is below the monitoring line.
    pub below_line: u32,
    /// …less than 10 % above it (边缘).
    pub near_line: u32,
    /// …fell by more than 30 % in a year.
    pub income_fall: u32,
    /// …with large unavoidable expenses (刚性支出较大).
    pub heavy_expenses: u32,
    /// Households with no income recorded in the rolling 12 months.
    pub income_unknown: u32,
    /// Σ annual income this year, over households with income in both years.
    pub income_this_year: i64,
    /// Σ annual income last year, same households.
    pub income_last_year: i64,
    /// Σ resident members of those households (at the end of the rolling 12 months).
    pub persons_compared: u32,
    /// 两不愁三保障 alerts.
    pub guarantee_alerts: u32,
    /// Monitored households per type (三类).
    pub monitored: BTreeMap<Monitoring, u32>,
    /// …of which with at least one help measure in force this period.
    pub monitored_with_measure: u32,
    /// Households by the status of their case.
    pub cases: BTreeMap<crate::case::CaseStatus, u32>,
    /// 八必访 households…
    pub must_visit: u32,
    /// …of which visited in person this period.
    pub must_visit_visited: u32,
    /// Households with a risk signal this period.
    pub with_risk: u32,
    /// …of which new since the previous visit.
    pub new_risk: u32,
    /// Members who returned home this period.
    pub returned: u32,
    /// Public-welfare post holders.
    pub welfare_posts: u32,
    /// Σ wage income this period.
    pub wage_income: i64,
    /// Households recorded this period and in the same month a year earlier.
    pub year_on_year: u32,
    /// 三个不减 of those households this period…
    pub three_now: Three,
    /// …and a year earlier.
    pub three_year_ago: Three,
    /// Employed by channel.
    pub by_channel: BTreeMap<Channel, u32>,
    /// Employed by place scope.
    pub by_scope: BTreeMap<PlaceScope, u32>,
    /// Employed by industry.
    pub by_industry: BTreeMap<String, u32>,
}

fn ratio(num: impl Into<f64>, den: impl Into<f64>) -> Option<f64> {
    let den = den.into();
    (den > 0.0).then(|| num.into() / den)
}

impl Indicators {
    /// Adds one household's summary.
    pub fn add(&mut self, s: &Summary) {
        self.households += 1;
        self.visited_in_person += u32::from(s.visited_in_person);
        self.signed += u32::from(s.visited_in_person && s.signed);
        if s.recorded {
            self.recorded += 1;
            self.labour_force += s.labour_force;
            self.employed_labour += s.employed_labour;
            self.employed_people += s.employed_people;
            self.zero_employment += u32::from(s.zero_employment);
            self.households_with_labour += u32::from(s.labour_force > 0);
            self.one_in_work += u32::from(s.one_in_work);
            self.stable_employed += s.stable_employed;
        }
        self.low_income_labour += u32::from(s.low_income_labour);
        self.below_line += u32::from(s.hardship.below_line);
        self.near_line += u32::from(s.hardship.near_line);
        self.income_fall += u32::from(s.hardship.income_fall);
        self.heavy_expenses += u32::from(s.hardship.heavy_expenses);
        self.income_unknown += u32::from(s.annual_income.is_none());
        if let (Some(now), Some(before)) = (s.annual_income, s.annual_income_prev)
            && s.income_members > 0
        {
            self.income_this_year += now;
            self.income_last_year += before;
            self.persons_compared += s.income_members;
        }
        self.guarantee_alerts += u32::from(s.guarantee_alert);
        if s.monitoring != Monitoring::None {
            *self.monitored.entry(s.monitoring).or_default() += 1;
            self.monitored_with_measure += u32::from(s.measure_in_force);
        }
        if let Some(c) = s.case {
            *self.cases.entry(c).or_default() += 1;
        }
        if !s.must_visit.is_empty() {
            self.must_visit += 1;
            self.must_visit_visited += u32::from(s.visited_in_person);
        }
        self.with_risk += u32::from(s.risk);
        self.new_risk += u32::from(s.new_risk);
        self.returned += s.returned;
        self.welfare_posts += s.welfare_posts;
        self.wage_income += s.wage_income;
        if let Some(before) = s.year_ago.filter(|_| s.recorded) {
            self.year_on_year += 1;
            self.three_now.add(Three {
                employed: s.employed_people,
                welfare_posts: s.welfare_posts,
                wage_income: s.wage_income,
            });
            self.three_year_ago.add(before);
        }
        for (k, n) in &s.by_channel {
            *self.by_channel.entry(*k).or_default() += n;
        }
        for (k, n) in &s.by_scope {
            *self.by_scope.entry(*k).or_default() += n;
        }
        for (k, n) in &s.by_industry {
            *self.by_industry.entry(k.clone()).or_default() += n;
        }
    }

    /// Adds `other`, the indicators of other households for the same period: the same
    /// as adding their summaries one by one, since every field is a count or a sum (the
    /// server adds kept per-grid totals this way). Destructured in full, so that a field
    /// added to `Indicators` does not compile here until it is added up too.
    pub fn absorb(&mut self, other: Indicators) {
        let Indicators {
            households,
            visited_in_person,
            recorded,
            signed,
            labour_force,
            employed_labour,
            employed_people,
            zero_employment,
            households_with_labour,
            one_in_work,
            stable_employed,
            low_income_labour,
            below_line,
            near_line,
            income_fall,
            heavy_expenses,
            income_unknown,
            income_this_year,
            income_last_year,
            persons_compared,
            guarantee_alerts,
            monitored,
            monitored_with_measure,
            cases,
            must_visit,
            must_visit_visited,
            with_risk,
            new_risk,
            returned,
            welfare_posts,
            wage_income,
            year_on_year,
            three_now,
            three_year_ago,
            by_channel,
            by_scope,
            by_industry,
        } = other;
        self.households += households;
        self.visited_in_person += visited_in_person;
        self.recorded += recorded;
        self.signed += signed;
        self.labour_force += labour_force;
        self.employed_labour += employed_labour;
        self.employed_people += employed_people;
        self.zero_employment += zero_employment;
        self.households_with_labour += households_with_labour;
        self.one_in_work += one_in_work;
        self.stable_employed += stable_employed;
        self.low_income_labour += low_income_labour;
        self.below_line += below_line;
        self.near_line += near_line;
        self.income_fall += income_fall;
        self.heavy_expenses += heavy_expenses;
        self.income_unknown += income_unknown;
        self.income_this_year += income_this_year;
        self.income_last_year += income_last_year;
        self.persons_compared += persons_compared;
        self.guarantee_alerts += guarantee_alerts;
        self.with_risk += with_risk;
        self.new_risk += new_risk;
        self.returned += returned;
        self.welfare_posts += welfare_posts;
        self.wage_income += wage_income;
        self.year_on_year += year_on_year;
        self.three_now.add(three_now);
        self.three_year_ago.add(three_year_ago);
        for (k, n) in monitored {
            *self.monitored.entry(k).or_default() += n;
        }
        self.monitored_with_measure += monitored_with_measure;
        self.must_visit += must_visit;
        self.must_visit_visited += must_visit_visited;
        for (k, n) in cases {
            *self.cases.entry(k).or_default() += n;
        }
        for (k, n) in by_channel {
            *self.by_channel.entry(k).or_default() += n;
        }
        for (k, n) in by_scope {
            *self.by_scope.entry(k).or_default() += n;
        }
        for (k, n) in by_industry {
            *self.by_industry.entry(k).or_default() += n;
        }
    }

    /// 三个不减's figures over every household counted.
    pub fn three(&self) -> Three {
        Three { employed: self.employed_people, welfare_posts: self.welfare_posts, wage_income: self.wage_income }
    }
    /// 户户见 coverage: visited in person ÷ households.
    pub fn coverage(&self) -> Option<f64> {
        ratio(self.visited_in_person, self.households)
    }
    /// 劳动力就业率: employed labour-force members ÷ labour-force members (target ≥ 90 %).
    pub fn employment_rate(&self) -> Option<f64> {
        ratio(self.employed_labour, self.labour_force)
    }
    /// Share of households with labour force that have someone in work (target 100 %).
    pub fn one_in_work_rate(&self) -> Option<f64> {
        ratio(self.one_in_work, self.households_with_labour)
    }
    /// 人均纯收入 this year, over the households compared year on year.
    pub fn per_capita_income(&self) -> Option<f64> {
        ratio(self.income_this_year as f64, self.persons_compared)
    }
    /// 人均纯收入增长: this year ÷ last year − 1 (target ≥ 15 %).
    pub fn per_capita_income_growth(&self) -> Option<f64> {
        ratio(self.income_this_year as f64, self.income_last_year as f64).map(|r| r - 1.0)
    }
}

/// The indicators of `households` for `period`.
pub fn indicators<'a>(
    households: impl IntoIterator<Item = &'a Household>,
    period: Period,
    settings: &Settings,
) -> Indicators {
    let mut out = Indicators::default();
    for h in households {
        out.add(&Summary::of(h, period, settings));
    }
    out
}

/// 三个不减: employed people, public-welfare posts and wage income, now and at the
/// baseline, like with like ([`Basis`]): a month still being visited must not look like
/// a fall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct ThreeNoDecrease {
    /// (now, baseline) employed people.
    pub employed: (u32, u32),
    /// (now, baseline) public-welfare posts.
    pub welfare_posts: (u32, u32),
    /// (now, baseline) wage income.
    pub wage_income: (i64, i64),
    /// Which households are compared.
    pub basis: Basis,
    /// (now, baseline) households compared.
    pub households: (u32, u32),
}

/// Which households 三个不减 compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Every household: both months are complete (every household's visit recorded).
    Complete,
    /// The households recorded in both months, each compared with itself: a month is
    /// not complete, and the baseline is the same month a year earlier.
    SameHouseholds,
    /// Every household though a month is not complete: a baseline other than the same
    /// month a year earlier is compared in total only.
    Incomplete,
}

impl ThreeNoDecrease {
    /// Compares `now` with `baseline`: in total when both months are complete; else
    /// household by household when `baseline` is the same month a year earlier
    /// (`Indicators::three_now` and `three_year_ago`); else in total, saying so.
    pub fn compare(now: &Indicators, baseline: &Indicators, year_ago: bool) -> Self {
        let complete = |i: &Indicators| i.households > 0 && i.recorded >= i.households;
        let (basis, a, b, households) = match (complete(now) && complete(baseline), year_ago) {
            (true, _) => (Basis::Complete, now.three(), baseline.three(), (now.households, baseline.households)),
            (false, true) => {
                (Basis::SameHouseholds, now.three_now, now.three_year_ago, (now.year_on_year, now.year_on_year))
            }
            (false, false) => (Basis::Incomplete, now.three(), baseline.three(), (now.recorded, baseline.recorded)),
        };
        Self {
            employed: (a.employed, b.employed),
            welfare_posts: (a.welfare_posts, b.welfare_posts),
            wage_income: (a.wage_income, b.wage_income),
            basis,
            households,
        }
    }
    /// None of the three went down; `None` when no household was compared (early in
    /// a month, nobody recorded in both months yet): no evidence either way.
    pub fn holds(&self) -> Option<bool> {
        let holds = self.employed.0 >= self.employed.1
            && self.welfare_posts.0 >= self.welfare_posts.1
            && self.wage_income.0 >= self.wage_income.1;
        (self.households.0 > 0 || self.households.1 > 0).then_some(holds)
    }
}

/// Households assigned and visited in person, for one row of a coverage table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Coverage {
    /// Households assigned.
    pub assigned: u32,
    /// …visited in person this period.
    pub visited: u32,
    /// …of whom with the household head's sign-off (户主签字确认).
    pub signed: u32,
}

impl std::ops::AddAssign for Coverage {
    fn add_assign(&mut self, other: Coverage) {
        self.assigned += other.assigned;
        self.visited += other.visited;
        self.signed += other.signed;
    }
}

impl Coverage {
    /// visited ÷ assigned.
    pub fn rate(&self) -> Option<f64> {
        ratio(self.visited, self.assigned)
    }
}

/// Coverage grouped by any key (site, grid, cadre): `rows` yields each household's
/// key and its summary for the period (`None`: none, not visited).
pub fn coverage_by<'a, K: Ord>(rows: impl IntoIterator<Item = (K, Option<&'a Summary>)>) -> BTreeMap<K, Coverage> {
    let mut out: BTreeMap<K, Coverage> = BTreeMap::new();
    for (k, s) in rows {
        let c = out.entry(k).or_default();
        let visited = s.is_some_and(|s| s.visited_in_person);
        c.assigned += 1;
        c.visited += u32::from(visited);
        c.signed += u32::from(visited && s.is_some_and(|s| s.signed));
    }
    out
}
