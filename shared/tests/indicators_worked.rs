//! Worked examples: four small households whose indicators for 2026-11 are derived by
//! hand in the comments, then checked against `shared::indicators`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::indicators::{Basis, Coverage, Indicators, Summary, ThreeNoDecrease, coverage_by};
use shared::*;

fn member(name: &str, birth: &str, labour: LabourCapacity) -> Member {
    Member { name: name.into(), birth_date: Some(birth.parse().unwrap()), labour: Some(labour), ..Default::default() }
}

fn job(channel: Channel) -> Employment {
    Employment { status: Some(EmploymentStatus::Employed), channel: Some(channel), ..Default::default() }
}

fn status(s: EmploymentStatus) -> Employment {
    Employment { status: Some(s), ..Default::default() }
}

fn visit(mode: VisitMode, wage: Option<i64>) -> Visit {
    Visit { mode: Some(mode), income: Income { wage, ..Default::default() }, ..Default::default() }
}

/// A: 脱贫户, four present members. a1 (b. 1980, full) works out of province every
/// month; a2 (b. 1985, weak) worked flexibly in Sep and Oct, seeks work in Nov and came
/// home in Nov; a3 is a child (b. 2015), a4 (b. 1950) has lost labour capacity.
/// Wages: 5000 in each of 2025-10 and 2025-11; 6000 in each of 2026-09, -10, -11.
fn household_a() -> Household {
    let mut h = Household::default();
    h.facts.registry_no = "A".into();
    h.facts.site = "S1".into();
    h.facts.category = Some(Category::Lifted);
    h.members.insert("a1".into(), member("甲一", "1980-05-01", LabourCapacity::Full));
    h.members.insert("a2".into(), member("甲二", "1985-05-01", LabourCapacity::Weak));
    h.members.insert("a3".into(), member("甲三", "2015-05-01", LabourCapacity::None));
    h.members.insert("a4".into(), member("甲四", "1950-05-01", LabourCapacity::Lost));
    let mut old = visit(VisitMode::InPerson, Some(5000));
    old.employment.insert(
        "a1".into(),
        Employment { place_scope: Some(PlaceScope::OutOfProvince), ..job(Channel::OutOfProvince) },
    );
    h.visits.insert("2025-10".into(), old.clone());
    h.visits.insert("2025-11".into(), old);
    for p in ["2026-09", "2026-10", "2026-11"] {
        let mut v = visit(VisitMode::InPerson, Some(6000));
        v.employment.insert("a1".into(), Employment { industry: "建筑业".into(), ..job(Channel::OutOfProvince) });
        let a2 = if p == "2026-11" {
            Employment { returned: Some(true), ..status(EmploymentStatus::Seeking) }
        } else {
            job(Channel::Flexible)
        };
        v.employment.insert("a2".into(), a2);
        h.visits.insert(p.into(), v);
    }
    h
}

/// B: 同步搬迁户, not monitored, two members with full capacity. Visited by phone in
/// Nov: b1 on a public-welfare post, b2 does not want work. Wage 1500.
fn household_b() -> Household {
    let mut h = Household::default();
    h.facts.registry_no = "B".into();
    h.facts.site = "S1".into();
    h.facts.category = Some(Category::MovedAlong);
    h.members.insert("b1".into(), member("乙一", "1970-01-01", LabourCapacity::Full));
    h.members.insert("b2".into(), member("乙二", "1972-01-01", LabourCapacity::Full));
    let mut v = visit(VisitMode::Phone, Some(1500));
    v.employment.insert("b1".into(), Employment { industry: " 公共服务 ".into(), ..job(Channel::WelfarePost) });
    v.employment.insert("b2".into(), status(EmploymentStatus::NotSeeking));
    h.visits.insert("2026-11".into(), v);
    h
}

/// C: 脱贫户 monitored as 边缘易致贫户. c1 (weak) seeks work; c2 is in school. Visited in
/// person in Oct and Nov, 1000 yuan of transfers each month. Nov: no medical insurance,
/// and a new illness risk.
fn household_c() -> Household {
    let mut h = Household::default();
    h.facts.registry_no = "C".into();
    h.facts.site = "S2".into();
    h.facts.category = Some(Category::Lifted);
    h.facts.monitoring = Some(Monitoring::Edge);
    h.members.insert("c1".into(), member("丙一", "1975-01-01", LabourCapacity::Weak));
    h.members.insert("c2".into(), Member { in_school: true, ..member("丙二", "2005-01-01", LabourCapacity::Full) });
    for p in ["2026-10", "2026-11"] {
        let mut v = visit(VisitMode::InPerson, None);
        v.income.transfer = Some(1000);
        v.employment.insert("c1".into(), status(EmploymentStatus::Seeking));
        if p == "2026-11" {
            v.guarantees.medical = Some(false);
            v.risks.insert(RiskSignal::Illness);
        }
        h.visits.insert(p.into(), v);
    }
    h
}

/// D: visited in Oct only, no income recorded.
fn household_d() -> Household {
    let mut h = Household::default();
    h.facts.registry_no = "D".into();
    h.facts.site = "S2".into();
    h.members.insert("d1".into(), member("丁一", "1990-01-01", LabourCapacity::Full));
    h.visits.insert("2026-10".into(), visit(VisitMode::InPerson, None));
    h
}

fn nov() -> Period {
    "2026-11".parse().unwrap()
}

/// Seed 000's county: its low-income target of 10,000 yuan, no monitoring line set.
fn settings() -> Settings {
    Settings {
        years: vec![YearSettings { year: 2020, low_income_target: Some(10_000), ..Default::default() }],
        ..Default::default()
    }
}

fn indicators<'a>(all: impl IntoIterator<Item = &'a Household>, period: Period) -> Indicators {
    shared::indicators::indicators(all, period, &settings())
}

fn summary(h: &Household, period: Period) -> Summary {
    Summary::of(h, period, &settings())
}

#[test]
fn indicators_for_november_match_the_hand_derivation() {
    let all = [household_a(), household_b(), household_c(), household_d()];
    let ind = indicators(&all, nov());

    // Coverage: A and C in person; B by phone does not count; D not visited → 2 / 4.
    assert_eq!((ind.households, ind.visited_in_person), (4, 2));
    assert_eq!(ind.coverage(), Some(0.5));
    // Recorded this period: A, B, C (D has no Nov visit).
    assert_eq!(ind.recorded, 3);
    // Labour force on 2026-11-30: A: a1, a2 (a3 is 11, a4 lost) = 2; B: b1, b2 = 2;
    // C: c1 (c2 in school) = 1. Total 5. Employed among them: a1, b1 = 2 → 40 %.
    assert_eq!((ind.labour_force, ind.employed_labour), (5, 2));
    assert_eq!(ind.employment_rate(), Some(0.4));
    // 零就业: C (c1 wants work, nobody employed). B's b2 does not want work, and b1 works.
    assert_eq!(ind.zero_employment, 1);
    // One in work: A and B of the three households with labour force.
    assert_eq!((ind.one_in_work, ind.households_with_labour), (2, 3));
    // Stable: a1 employed in Sep, Oct and Nov, three consecutive months; a2 not in Nov.
    assert_eq!(ind.stable_employed, 1);
    // Income, the rolling 12 months 2025-11..2026-10 (from the same month last year to
    // the end of last month):
    //   A: 2025-11 5000, 2026-09 6000, 2026-10 6000: 17,000 ÷ 3 months × 12 = 68,000;
    //      ÷ 4 residents on 2026-10-31 = 17,000 per capita: not low.
    //   B: its only visit is November's, after the window → unknown.
    //   C: 2026-10 1000 → 12,000 ÷ 2 = 6,000 < 10,000, has labour, 脱贫户 → counted.
    //   D: no income → unknown.
    assert_eq!(ind.low_income_labour, 1);
    assert_eq!(ind.income_unknown, 2);
    // Growth: only A has both years: last year's window (2024-11..2025-10) holds
    // 2025-10's 5000 → 60,000. 68,000 ÷ 60,000 − 1 = 13.3 %; per capita 68,000 ÷ 4.
    assert_eq!((ind.income_this_year, ind.income_last_year, ind.persons_compared), (68_000, 60_000, 4));
    assert!((ind.per_capita_income_growth().unwrap() - 68.0 / 60.0 + 1.0).abs() < 1e-12);
    assert_eq!(ind.per_capita_income(), Some(17_000.0));
    // No monitoring line is set: no household is flagged against one.
    assert_eq!((ind.below_line, ind.near_line), (0, 0));
    // 两不愁三保障: C's Nov visit says no to medical.
    assert_eq!(ind.guarantee_alerts, 1);
    // Monitored: C as 边缘易致贫户. Risk: C's illness, new since Oct.
    assert_eq!(ind.monitored, [(Monitoring::Edge, 1)].into());
    assert_eq!((ind.with_risk, ind.new_risk), (1, 1));
    // Returned: a2.
    assert_eq!(ind.returned, 1);
    // Breakdown of the employed (a1, b1).
    assert_eq!(ind.employed_people, 2);
    assert_eq!(ind.by_channel, [(Channel::OutOfProvince, 1), (Channel::WelfarePost, 1)].into());
    // a1's scope follows from the channel; b1's public-welfare post names no place.
    assert_eq!(ind.by_scope, [(PlaceScope::OutOfProvince, 1)].into());
    assert_eq!(ind.by_industry, [("建筑业".to_owned(), 1), ("公共服务".to_owned(), 1)].into());
    // Wages this period: A 6000 + B 1500 = 7500; welfare posts: b1.
    assert_eq!((ind.wage_income, ind.welfare_posts), (7500, 1));
}

#[test]
fn three_no_decrease_against_the_same_month_last_year() {
    let all = [household_a(), household_b(), household_c(), household_d()];
    let now = indicators(&all, nov());
    let base = indicators(&all, nov().plus_months(-12));
    // Baseline 2025-11: only A was visited: a1 employed, no welfare post, wage 5000.
    // Now: a1 and b1 employed (2), one welfare post, wages 7500. Nothing decreased.
    // Neither month is complete, so each household recorded in both is compared with
    // itself: only A, a1 employed in both, no welfare post, wages 6000 against 5000.
    let t = ThreeNoDecrease::compare(&now, &base, true);
    assert_eq!(
        t,
        ThreeNoDecrease {
            employed: (1, 1),
            welfare_posts: (0, 0),
            wage_income: (6000, 5000),
            basis: Basis::SameHouseholds,
            households: (1, 1)
        }
    );
    assert_eq!(t.holds(), Some(true));
    // Another baseline: in total (B's b1 counts now, nobody then), and it says so.
    let other = ThreeNoDecrease::compare(&now, &base, false);
    assert_eq!((other.employed, other.welfare_posts, other.wage_income), ((2, 1), (1, 0), (7500, 5000)));
    assert_eq!(other.basis, Basis::Incomplete);
    // Reversed (as if the baseline were the later period), all three decrease.
    assert_eq!(ThreeNoDecrease::compare(&base, &now, false).holds(), Some(false));
    // Nobody recorded in both months yet: no verdict.
    let none = ThreeNoDecrease::compare(&Indicators::default(), &Indicators::default(), true);
    assert_eq!((none.basis, none.holds()), (Basis::SameHouseholds, None));
    // Both complete: every household, in total.
    let complete = Indicators { households: 4, recorded: 4, employed_people: 3, ..Indicators::default() };
    let whole = ThreeNoDecrease::compare(&complete, &complete, true);
    assert_eq!((whole.basis, whole.employed, whole.households), (Basis::Complete, (3, 3), (4, 4)));
}

#[test]
fn not_met_visits_and_missing_visits_stay_out_of_employment_denominators() {
    let mut d = household_d();
    d.visits.insert("2026-11".into(), visit(VisitMode::NotMet, None));
    let s = summary(&d, nov());
    assert!(!s.recorded && !s.visited_in_person);
    assert_eq!(s.last_visit.as_deref(), Some("2026-11"));
    let ind = indicators([&d], nov());
    assert_eq!((ind.labour_force, ind.zero_employment), (0, 0));
}

#[test]
fn coverage_groups_by_any_key() {
    let all = [household_a(), household_b(), household_c(), household_d()];
    // By site: S1 holds A (in person) and B (phone) → 1/2; S2 holds C (in person) and D → 1/2.
    let mut summaries: Vec<Summary> = all.iter().map(|h| summary(h, nov())).collect();
    // A's visit carries the household head's sign-off; B's too, but B was visited by
    // phone, which coverage does not count.
    summaries[0].signed = true;
    summaries[1].signed = true;
    let by_site = coverage_by(all.iter().zip(&summaries).map(|(h, s)| (h.facts.site.clone(), Some(s))));
    assert_eq!(by_site["S1"], Coverage { assigned: 2, visited: 1, signed: 1 });
    assert_eq!(by_site["S2"], Coverage { assigned: 2, visited: 1, signed: 0 });
    // By cadre, with an assignment the server keeps: cadre01 has A and C, cadre02 has B and D.
    let cadre = |h: &Household| if matches!(h.facts.registry_no.as_str(), "A" | "C") { "cadre01" } else { "cadre02" };
    let by_cadre = coverage_by(all.iter().zip(&summaries).map(|(h, s)| (cadre(h), Some(s))));
    assert_eq!(by_cadre["cadre01"].rate(), Some(1.0));
    assert_eq!(by_cadre["cadre02"].rate(), Some(0.0));
}

#[test]
fn summaries_add_up_to_the_same_indicators() {
    // The server sums stored summaries; that must equal recomputing from households.
    let all = [household_a(), household_b(), household_c(), household_d()];
    let mut summed = shared::indicators::Indicators::default();
    for h in &all {
        let stored: Summary = serde_json::from_str(&serde_json::to_string(&summary(h, nov())).unwrap()).unwrap();
        summed.add(&stored);
    }
    assert_eq!(summed, indicators(&all, nov()));
}

#[test]
fn totals_of_parts_absorbed_equal_the_whole() {
    // The server keeps one sum per grid and adds the grids' sums with `absorb`: any
    // split of the households must give the indicators of all of them.
    let all = [household_a(), household_b(), household_c(), household_d()];
    for split in 0..=all.len() {
        let (left, right) = all.split_at(split);
        let mut total = indicators(left, nov());
        total.absorb(indicators(right, nov()));
        assert_eq!(total, indicators(&all, nov()), "split at {split}");
    }
}

/// Membership over time: a period's figures count the members living in the household
/// on its last day. A (above) in 2026-11; a4 died on 2026-10-15, a5 was born on
/// 2026-11-20 and a2 married out on 2026-12-02. For 2026-10: a1 a2 a3 (a4 gone, a5 not
/// born) = 3; for 2026-11: a1 a2 a3 a5 = 4, a2 still there and in the labour force.
#[test]
fn a_period_counts_the_members_present_at_its_end() {
    let mut h = household_a();
    let day = |d: &str| d.parse::<Date>().unwrap();
    h.members.get_mut("a4").unwrap().record_change(MemberChange::Deceased, day("2026-10-15"));
    let mut baby = member("甲五", "2026-11-20", LabourCapacity::None);
    baby.record_change(MemberChange::Birth, day("2026-11-20"));
    h.members.insert("a5".into(), baby);
    h.members.get_mut("a2").unwrap().record_change(MemberChange::MarriageOut, day("2026-12-02"));
    let oct = summary(&h, "2026-10".parse().unwrap());
    assert_eq!(oct.present_members, 3, "a4 died in October, a5 not born yet");
    let nov = summary(&h, "2026-11".parse().unwrap());
    assert_eq!(nov.present_members, 4, "a5 born in November; a2 left only in December");
    assert_eq!(nov.labour_force, 2, "a2 is still in the labour force in November");
    let dec: Period = "2026-12".parse().unwrap();
    assert!(!h.members["a2"].is_labour_force(dec.last_day()), "a2 left in December");
    assert_eq!(h.members["a2"].status, Some(MemberStatus::MovedOut));
    assert_eq!(h.members["a4"].status, Some(MemberStatus::Deceased));
    // Undone (the change recorded by mistake): present again, counted everywhere.
    let a2 = h.members.get_mut("a2").unwrap();
    (a2.status, a2.change, a2.changed_on) = (None, None, None);
    assert!(h.members["a2"].is_labour_force(dec.last_day()));
}

#[test]
fn a_visit_is_signed_by_a_sign_off_not_by_a_photo() {
    use shared::evidence::{Attachment, EvidenceKind, MediaType};
    let mut a = household_a();
    let attach = |kind, removed| Attachment {
        sha256: "ab".repeat(32),
        kind: Some(kind),
        media: Some(MediaType::Png),
        size: Some(3000),
        by: "cadre01".into(),
        at: Some(1_764_000_000),
        removed,
        ..Attachment::default()
    };
    fn nov_visit(h: &mut Household) -> &mut shared::Visit {
        h.visits.get_mut("2026-11").expect("A's November visit")
    }
    nov_visit(&mut a).attachments.insert("a1".into(), attach(EvidenceKind::Household, false));
    assert!(!summary(&a, nov()).signed, "a photo of the household is not a sign-off");
    nov_visit(&mut a).attachments.insert("a2".into(), attach(EvidenceKind::Signature, true));
    assert!(!summary(&a, nov()).signed, "a removed signature does not count");
    nov_visit(&mut a).attachments.insert("a3".into(), attach(EvidenceKind::SignedForm, false));
    assert!(summary(&a, nov()).signed);
    assert_eq!(indicators([&a], nov()).signed, 1);
}
