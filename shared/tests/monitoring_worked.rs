//! Worked examples of 防返贫监测's rules (issue 18), each derived by hand in its
//! comments, then checked against `shared::income`, `shared::indicators` and
//! `shared::validate`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::income::RollingIncome;
use shared::indicators::Summary;
use shared::*;

fn p(s: &str) -> Period {
    s.parse().unwrap()
}

fn day(s: &str) -> Date {
    s.parse().unwrap()
}

fn member(name: &str, birth: &str) -> Member {
    Member { name: name.into(), birth_date: Some(day(birth)), labour: Some(LabourCapacity::Full), ..Default::default() }
}

fn employed() -> Employment {
    Employment { status: Some(EmploymentStatus::Employed), channel: Some(Channel::InCounty), ..Default::default() }
}

/// A visit in person with `net` yuan of wages.
fn visit(net: i64) -> Visit {
    Visit {
        mode: Some(VisitMode::InPerson),
        income: Income { wage: Some(net), ..Default::default() },
        ..Default::default()
    }
}

/// Lines as a province sets them: 8,500 for 2025, 9,000 from 2026; expenses are large
/// at 50 % of the year's net income.
fn settings() -> Settings {
    Settings {
        years: vec![
            YearSettings { year: 2025, monitoring_line: Some(8_500), ..Default::default() },
            YearSettings {
                year: 2026,
                monitoring_line: Some(9_000),
                expense_share_percent: Some(50),
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

/// A household of three: h1 (b. 1980), h2 (b. 1982), h3 (b. 2000), who moved out on
/// 2026-07-15. One visit a month through 2026, each with a net income.
fn three_members(monthly: impl Fn(u32) -> i64) -> Household {
    let mut h = Household::default();
    h.facts.registry_no = "M".into();
    h.members.insert("h1".into(), member("甲", "1980-03-01"));
    h.members.insert("h2".into(), member("乙", "1982-03-01"));
    let mut h3 = member("丙", "2000-03-01");
    h3.record_change(MemberChange::MovedOut, day("2026-07-15"));
    h.members.insert("h3".into(), h3);
    for m in 1..=12 {
        h.visits.insert(format!("2026-{m:02}"), visit(monthly(m)));
    }
    h
}

/// The rolling income at a year boundary, a member moving out mid-year.
///
/// Period 2027-01: the window is 2026-01 … 2026-12 (上年同月至上月末). Net incomes
/// 1,000 a month Jan–Jun and 1,800 a month Jul–Dec: 6,000 + 10,800 = 16,800 over 12
/// recorded months → a year of 16,800. h3 moved out on 2026-07-15, so on 2026-12-31
/// two members live there: 16,800 ÷ 2 = 8,400 per capita, below 2027's line (2026's
/// entry applies: 9,000).
///
/// Period 2026-07: the window is 2025-07 … 2026-06; only 2026-01 … 06 recorded, 6,000
/// over 6 months → 12,000 a year; on 2026-06-30 all three live there → 4,000.
#[test]
fn rolling_income_at_a_year_boundary_with_a_member_moving_out() {
    let h = three_members(|m| if m <= 6 { 1_000 } else { 1_800 });
    let jan = RollingIncome::of(&h, p("2027-01"));
    assert_eq!((jan.first, jan.last), (Some(p("2026-01")), Some(p("2026-12"))));
    assert_eq!((jan.months, jan.recorded, jan.annual), (12, 16_800, Some(16_800)));
    assert_eq!((jan.members, jan.per_capita), (2, Some(8_400)));
    let s = Summary::of(&h, p("2027-01"), &settings());
    assert!(s.hardship.below_line, "8,400 < 9,000 (2026's line, which 2027 keeps)");

    let jul = RollingIncome::of(&h, p("2026-07"));
    assert_eq!((jul.months, jul.recorded, jul.annual), (6, 6_000, Some(12_000)));
    assert_eq!((jul.members, jul.per_capita), (3, Some(4_000)));
    // The month being visited never counts: July's own 1,800 is not in July's window.
    assert_eq!(RollingIncome::of(&h, p("2026-08")).recorded, 6_000 + 1_800);
}

/// The monitoring line of the period's year.
///
/// A household of three with 2,200 a month through 2025: 26,400 a year ÷ 3 = 8,800
/// per capita.
/// - Period 2026-01 (window 2025-01 … 2025-12, line of 2026 = 9,000): 8,800 < 9,000 →
///   below the line.
/// - Period 2025-12 (window 2024-12 … 2025-11: 11 months of 2,200 → 26,400 a year,
///   8,800 per capita; line of 2025 = 8,500): not below; 8,800 < 8,500 × 1.1 = 9,350 →
///   near the line (边缘).
/// - With no line set for the year (2024): neither.
#[test]
fn the_line_is_the_one_of_the_periods_year() {
    let mut h = Household::default();
    h.facts.registry_no = "L".into();
    for (id, name) in [("a", "甲"), ("b", "乙"), ("c", "丙")] {
        h.members.insert(id.into(), member(name, "1980-01-01"));
    }
    for m in 1..=12 {
        h.visits.insert(format!("2025-{m:02}"), visit(2_200));
    }
    let jan = Summary::of(&h, p("2026-01"), &settings());
    assert_eq!(jan.per_capita_income, Some(8_800));
    assert!(jan.hardship.below_line && !jan.hardship.near_line);
    let dec = Summary::of(&h, p("2025-12"), &settings());
    assert_eq!(dec.per_capita_income, Some(8_800));
    assert!(!dec.hardship.below_line && dec.hardship.near_line);
    let unset = Summary::of(&h, p("2025-12"), &Settings::default());
    assert!(!unset.hardship.any());
}

/// Stable employment with a gap month (seed 001 item 6: three consecutive months).
///
/// w (b. 1980) is employed in 2026-08, 2026-09 and 2026-11; the household was not
/// visited in October. For 2026-11 the three months are Sep, Oct, Nov: October has no
/// recorded visit → not stable (the old rule, "the last three recorded visits", would
/// have counted Aug, Sep, Nov). Employed again in Dec and Jan: for 2027-01 the months
/// Nov, Dec, Jan → stable.
#[test]
fn stable_employment_needs_three_consecutive_months() {
    let mut h = Household::default();
    h.facts.registry_no = "S".into();
    h.members.insert("w".into(), member("工", "1980-01-01"));
    for period in ["2026-08", "2026-09", "2026-11", "2026-12", "2027-01"] {
        let mut v = visit(3_000);
        v.employment.insert("w".into(), employed());
        h.visits.insert(period.into(), v);
    }
    let s = Settings::default();
    assert_eq!(Summary::of(&h, p("2026-09"), &s).stable_employed, 0, "Jul has no visit");
    assert_eq!(Summary::of(&h, p("2026-11"), &s).stable_employed, 0, "October is a gap");
    assert_eq!(Summary::of(&h, p("2026-12"), &s).stable_employed, 0, "October is still in the three");
    assert_eq!(Summary::of(&h, p("2027-01"), &s).stable_employed, 1);
}

/// An under-16 worker.
///
/// k (b. 2011-06-01) is 15 on 2026-11-30 and recorded as employed on a public-welfare
/// post with 800 yuan; his father f (b. 1980) works out of the province. Counted as
/// employed: f only (1 person, 0 public-welfare posts, by channel only 省外). k is not in
/// the labour force either (labour force 1, employed 1). Validation warns on k's
/// status. In 2027-06 k turns 16 and counts.
#[test]
fn an_under_16_worker_is_not_counted_as_employed_and_is_warned_about() {
    let mut h = Household::default();
    h.facts.registry_no = "K".into();
    h.members.insert("f".into(), member("父", "1980-01-01"));
    h.members.insert("k".into(), member("子", "2011-06-01"));
    for period in ["2026-11", "2027-06"] {
        let mut v = visit(4_000);
        v.visitors.insert("c1".into(), "干部".into());
        v.employment.insert("f".into(), Employment { channel: Some(Channel::OutOfProvince), ..employed() });
        v.employment.insert(
            "k".into(),
            Employment { channel: Some(Channel::WelfarePost), monthly_income: Some(800), ..employed() },
        );
        h.visits.insert(period.into(), v);
    }
    let s = Summary::of(&h, p("2026-11"), &Settings::default());
    assert_eq!((s.labour_force, s.employed_labour, s.employed_people, s.welfare_posts), (1, 1, 1, 0));
    assert_eq!(s.by_channel, [(Channel::OutOfProvince, 1)].into());
    assert!(s.one_in_work);
    let problems = validate(&h, day("2026-11-30"));
    let minor: Vec<_> = problems.iter().filter(|p| p.rule == Rule::MinorEmployed).collect();
    assert_eq!(minor.len(), 1, "{problems:?}");
    assert_eq!((minor[0].path.as_str(), minor[0].severity), ("v/2026-11/e/k/status", Severity::Warning));
    assert!(minor[0].zh.contains("未满16周岁"));
    let later = Summary::of(&h, p("2027-06"), &Settings::default());
    assert_eq!((later.employed_people, later.welfare_posts), (2, 1), "16 on 2027-06-01");
}

/// A fall of income, and large unavoidable expenses.
///
/// One member, 2,000 a month in 2025 (24,000 a year), 1,200 a month in 2026 (14,400).
/// For 2027-01: per capita 14,400 against 24,000 the window before: 14,400 × 100 =
/// 1,440,000 < 24,000 × 70 = 1,680,000 → a fall of more than 30 % (it is 40 %).
/// 2026-12's visit records 6,000 of medical and 1,500 of schooling costs; 2026-03's
/// 200 of other costs. The 12 months ending 2026-12 hold 7,700 of expenses. For
/// 2026-12 the year's net income (window 2025-12 … 2026-11: 2,000 + 11 × 1,200 =
/// 15,200 over 12 months) is 15,200; 7,700 × 100 = 770,000 ≥ 15,200 × 50 = 760,000 →
/// large expenses. For 2026-11 only 2026-03's 200 falls in its 12 months → not.
#[test]
fn a_fall_of_income_and_large_expenses_are_flagged() {
    let mut h = Household::default();
    h.facts.registry_no = "F".into();
    h.members.insert("a".into(), member("甲", "1980-01-01"));
    for m in 1..=12 {
        h.visits.insert(format!("2025-{m:02}"), visit(2_000));
        h.visits.insert(format!("2026-{m:02}"), visit(1_200));
    }
    let jan = Summary::of(&h, p("2027-01"), &settings());
    assert_eq!((jan.per_capita_income, jan.per_capita_prev), (Some(14_400), Some(24_000)));
    assert!(jan.hardship.income_fall);

    let dec = h.visits.get_mut("2026-12").unwrap();
    dec.expenses.insert(Expense::Medical, 6_000);
    dec.expenses.insert(Expense::Schooling, 1_500);
    h.visits.get_mut("2026-03").unwrap().expenses.insert(Expense::Other, 200);
    let s = Summary::of(&h, p("2026-12"), &settings());
    assert_eq!((s.expenses_year, s.annual_income), (7_700, Some(15_200)));
    assert!(s.hardship.heavy_expenses);
    assert!(!Summary::of(&h, p("2026-11"), &settings()).hardship.heavy_expenses, "200 of 2026-03 only");
}

/// 未遇 needs its reason; a video call is recorded but is not 户户见.
#[test]
fn not_met_needs_a_reason_and_a_video_call_is_not_in_person() {
    let mut h = Household::default();
    h.facts.registry_no = "N".into();
    let mut v = Visit { mode: Some(VisitMode::NotMet), ..Default::default() };
    v.visitors.insert("c1".into(), "干部".into());
    h.visits.insert("2026-11".into(), v);
    let rules = |h: &Household| validate(h, day("2026-11-30")).into_iter().map(|p| p.rule).collect::<Vec<_>>();
    assert_eq!(rules(&h), [Rule::AbsentReasonMissing]);
    h.visits.get_mut("2026-11").unwrap().absent_reason = Some(AbsentReason::WorkingAway);
    assert!(rules(&h).is_empty());
    let v = h.visits.get_mut("2026-11").unwrap();
    v.mode = Some(VisitMode::Video);
    assert_eq!(rules(&h), [Rule::AbsentReasonWithoutNotMet]);
    let s = Summary::of(&h, p("2026-11"), &Settings::default());
    assert!(s.recorded && !s.visited_in_person, "a video call records the month but is not 户户见");
}

fn step(act: CaseAct, by: &str, on: &str) -> CaseStep {
    CaseStep { act: Some(act), by: by.into(), name: by.into(), on: Some(day(on)), ..Default::default() }
}

/// An elimination refused at five months and accepted at six.
///
/// One member with labour, 500 a month through 2025, 1,200 a month from 2026-01, every
/// guarantee met at each visit; the line is 9,000 (2026). The rolling per-capita income
/// of period P covers P−12 … P−1; with k months of 2026 in it, it is 500 × (12 − k) +
/// 1,200 × k = 6,000 + 700 k, at or above 9,000 from k = 5, i.e. from period 2026-06
/// (window 2025-06 … 2026-05). In 2026-10 the months 06 … 10 make five: refused. In
/// 2026-11, six: accepted — with the household monitored since 2026-03 and a
/// public-welfare post delivered from 2026-04.
#[test]
fn elimination_is_refused_at_five_months_and_accepted_at_six() {
    let mut h = Household::default();
    h.facts.registry_no = "E".into();
    h.members.insert("a".into(), member("甲", "1980-01-01"));
    for (year, wage) in [(2025, 500), (2026, 1_200)] {
        for m in 1..=12 {
            let mut v = visit(wage);
            v.guarantees = Guarantees {
                food_clothing: Some(true),
                schooling: Some(true),
                medical: Some(true),
                housing: Some(true),
                water: Some(true),
            };
            h.visits.insert(format!("{year}-{m:02}"), v);
        }
    }
    let s = settings();
    let pc = |p: &str| Summary::of(&h, self::p(p), &s).per_capita_income;
    assert_eq!((pc("2026-05"), pc("2026-06")), (Some(8_800), Some(9_500)));

    // Not monitored, no measure: everything is missing but the guarantees.
    let blockers = shared::case::elimination_blockers(&h, p("2026-11"), &s, day("2026-11-20"));
    assert_eq!(blockers.len(), 2, "{blockers:?}");

    let t = |d: &str| i64::from(day(d).to_unix_days() as i32) * 86_400;
    h.case.record(step(CaseAct::Clue, "c1", "2026-03-02"), t("2026-03-02"));
    h.case.record(step(CaseAct::Verify, "c1", "2026-03-05"), t("2026-03-05"));
    h.case.record(
        CaseStep { kind: Some(Monitoring::Edge), ..step(CaseAct::Include, "s1", "2026-03-10") },
        t("2026-03-10"),
    );
    h.measures.insert(
        "m1".into(),
        Measure {
            kind: Some(MeasureKind::WelfarePost),
            start: Some(day("2026-04-01")),
            amount: Some(800),
            provider: "镇政府".into(),
            ..Default::default()
        },
    );
    assert_eq!(h.case.status, Some(CaseStatus::Monitored));
    let five = shared::case::elimination_blockers(&h, p("2026-10"), &s, day("2026-10-20"));
    assert_eq!(five.len(), 1, "{five:?}");
    assert!(five[0].zh.contains("连续 5 个月"), "{}", five[0].zh);
    let six = shared::case::elimination_blockers(&h, p("2026-11"), &s, day("2026-11-20"));
    assert!(six.is_empty(), "{six:?}");
    assert!(h.case.may(CaseAct::Eliminate).is_ok());
    // Had it been included only in July, it would not have been monitored six months.
    let mut late = h.clone();
    for s in late.case.steps.values_mut().filter(|s| s.act == Some(CaseAct::Include)) {
        s.on = Some(day("2026-07-01"));
    }
    let late = shared::case::elimination_blockers(&late, p("2026-11"), &s, day("2026-11-20"));
    assert_eq!(late.len(), 1);
    assert!(late[0].zh.contains("纳入监测未满 6 个月"));

    // Without labour force and without 低保 or 特困, income alone does not clear it.
    h.members.get_mut("a").unwrap().labour = Some(LabourCapacity::Lost);
    let alone = shared::case::elimination_blockers(&h, p("2026-11"), &s, day("2026-11-20"));
    assert_eq!(alone.len(), 1);
    assert!(alone[0].zh.contains("兜底"));
    h.facts.dibao = true;
    assert!(shared::case::elimination_blockers(&h, p("2026-11"), &s, day("2026-11-20")).is_empty());
}

/// A case overdue on the eighth day after its clue.
///
/// A clue raised on 2026-12-01 is to be verified within 7 days: on 12-08 it is not
/// overdue (7 days), on 12-09 it is (8 days). Verified on 12-05, it is to be decided
/// within 15 days of the clue: overdue on 12-17 (16 days), not on 12-16. Decided, it is
/// never overdue, unless a person settles a clash on its status as still open.
#[test]
fn a_case_is_overdue_on_the_eighth_day_after_its_clue() {
    let mut case = Case::default();
    assert!(case.may(CaseAct::Verify).is_err(), "nothing to verify");
    case.record(CaseStep { source: Some(ClueSource::Visit), ..step(CaseAct::Clue, "c1", "2026-12-01") }, 1);
    assert_eq!(case.overdue(day("2026-12-08")), None);
    assert_eq!(case.overdue(day("2026-12-09")), Some(shared::case::Overdue::Verify));
    assert!(case.may(CaseAct::Clue).is_err(), "one open case at a time");
    assert!(case.may(CaseAct::Eliminate).is_err(), "not monitored");
    case.record(step(CaseAct::Verify, "c1", "2026-12-05"), 2);
    assert_eq!(case.overdue(day("2026-12-16")), None);
    assert_eq!(case.overdue(day("2026-12-17")), Some(shared::case::Overdue::Decide));
    case.record(step(CaseAct::Close, "s1", "2026-12-18"), 3);
    assert_eq!((case.status, case.overdue(day("2027-01-30"))), (Some(CaseStatus::Closed), None));
    assert!(case.may(CaseAct::Clue).is_ok(), "a new clue after a closed case");
    let err = case.may(CaseAct::Include).unwrap_err();
    assert!(err.zh.contains("已排除") && err.en.contains("Closed"), "{err:?}");
    // Had the close met a verification made at once elsewhere, and the conflict on the
    // status been settled as 待研判, the case would still run from the clue of 12-01:
    // undecided on 12-18, past its 15 days.
    case.status = Some(CaseStatus::Verified);
    assert_eq!(case.clue_on(), Some(day("2026-12-01")));
    assert_eq!(case.overdue(day("2026-12-18")), Some(shared::case::Overdue::Decide));
}

/// 八必访, each reason from its own fact.
///
/// A 低保 household whose member b is disabled and whose case is open: 特困或低保户,
/// 家有残疾人, 在监测帮扶中. Then a: employed in October, seeking work in November:
/// for December 务工收入不稳定 (work lost between the two latest visits); two members in
/// school aged 16 and 18: 多子女非义务教育阶段就学. A household with none of these: none.
#[test]
fn must_visit_reasons_each_come_from_their_fact() {
    use shared::must_visit::MustVisit;
    let mut h = Household::default();
    h.facts.registry_no = "V".into();
    h.members.insert("a".into(), member("甲", "1980-01-01"));
    h.members.insert("b".into(), Member { disabled: true, ..member("乙", "1982-01-01") });
    let s = Settings::default();
    let why = |h: &Household| Summary::of(h, p("2026-12"), &s).must_visit;
    assert_eq!(why(&h), [MustVisit::Disability]);
    h.facts.dibao = true;
    h.case.record(step(CaseAct::Clue, "c1", "2026-12-01"), 1);
    assert_eq!(why(&h), [MustVisit::Safety, MustVisit::Disability, MustVisit::Case]);

    let mut w = Household::default();
    w.facts.registry_no = "W".into();
    w.members.insert("a".into(), member("甲", "1980-01-01"));
    assert!(why(&w).is_empty());
    let mut oct = visit(3_000);
    oct.employment.insert("a".into(), employed());
    let mut nov = visit(0);
    nov.employment.insert("a".into(), Employment { status: Some(EmploymentStatus::Seeking), ..Default::default() });
    w.visits.insert("2026-10".into(), oct);
    w.visits.insert("2026-11".into(), nov);
    assert_eq!(why(&w), [MustVisit::Work]);
    for (id, birth) in [("k1", "2010-06-01"), ("k2", "2008-03-01")] {
        w.members.insert(id.into(), Member { in_school: true, ..member("学", birth) });
    }
    assert_eq!(why(&w), [MustVisit::Schooling, MustVisit::Work]);
}
