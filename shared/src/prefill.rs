//! 上月带入: a new month's visit starts from what the household's most recent earlier
//! visit recorded, so that the cadre confirms what did not change instead of typing it
//! again (issue 17). Carried-over answers are a proposal, not data: the app keeps them
//! apart and writes a group into the visit only when the cadre confirms or changes it
//! ([`confirm`]). Never carried: the date, the mode, the visitors, notes, review steps,
//! 当月返乡 and 已参加培训 (events of that month), help already given.

use std::collections::BTreeMap;

use crate::model::{EmploymentStatus, HelpState, Household, MemberId, Visit, VisitMode};
use crate::period::Date;

/// A group of answers the cadre confirms with one tap (与上月相同).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Group {
    /// One labour-force member's work (就业情况).
    Work(MemberId),
    /// The household's income (家庭收入) but wages, which follow the workers.
    Income,
    /// 两不愁三保障 and safe water.
    Guarantees,
    /// Risk signals and the help still needed.
    RisksAndHelp,
}

/// What a visit can start from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    /// The period it comes from, `YYYY-MM`.
    pub from: String,
    /// The answers carried over (only those this module carries; the rest empty).
    pub visit: Visit,
}

impl Carried {
    /// Every group that has something to confirm, in the order of the visit.
    pub fn groups(&self) -> Vec<Group> {
        let v = &self.visit;
        let mut out: Vec<Group> = v.employment.keys().cloned().map(Group::Work).collect();
        let i = &v.income;
        // Wages go with the workers, unless no worker's income makes them up.
        let own_wage = i.wage.is_some() && wage_sum(&v.employment).is_none();
        if own_wage || [i.operating, i.property, i.transfer, i.costs].iter().any(Option::is_some) {
            out.push(Group::Income);
        }
        if v.guarantees.items().iter().any(|(_, a)| a.is_some()) {
            out.push(Group::Guarantees);
        }
        if !v.risks.is_empty() || !v.help.is_empty() {
            out.push(Group::RisksAndHelp);
        }
        out
    }
}

/// The answers the visit of `period` can start from: those of the most recent earlier
/// visit made in person or by phone (a 未遇 visit recorded nothing), for the members
/// who are in the labour force on `as_of` (the period's last day). `None` when there
/// is no such visit, or it recorded nothing that is carried.
pub fn carried(household: &Household, period: &str, as_of: Date) -> Option<Carried> {
    let (from, last) = household
        .visits
        .iter()
        .rev()
        .filter(|(p, _)| p.as_str() < period)
        .find(|(_, v)| matches!(v.mode, Some(VisitMode::InPerson | VisitMode::Video | VisitMode::Phone)))?;
    let mut visit = Visit::default();
    for (id, job) in &last.employment {
        let still = household.members.get(id).is_some_and(|m| m.is_labour_force(as_of));
        if still && job.status.is_some() {
            let mut job = job.clone();
            if job.status != Some(EmploymentStatus::Employed) {
                job.drop_job_details();
            }
            // Events of that month, not facts that last.
            job.returned = None;
            job.trained = None;
            visit.employment.insert(id.clone(), job);
        }
    }
    visit.income = last.income;
    visit.income.wage = wage_sum(&visit.employment).or(last.income.wage);
    visit.guarantees = last.guarantees;
    visit.risks = last.risks.clone();
    visit.help = last.help.iter().filter(|(_, s)| **s == HelpState::Needed).map(|(k, s)| (*k, *s)).collect();
    let carried = Carried { from: from.clone(), visit };
    (!carried.groups().is_empty()).then_some(carried)
}

/// 工资性收入 as the workers' monthly incomes add up: the sum over employed members
/// with an income; `None` when nobody employed has one recorded.
pub fn wage_sum(employment: &BTreeMap<MemberId, crate::model::Employment>) -> Option<i64> {
    let incomes: Vec<i64> = employment
        .values()
        .filter(|e| e.status == Some(EmploymentStatus::Employed))
        .filter_map(|e| e.monthly_income)
        .collect();
    (!incomes.is_empty()).then(|| incomes.iter().sum())
}

/// Writes group `group` of `carried` into `visit` (the cadre confirmed it unchanged).
/// Confirming a member's work also sets wages to the workers' sum (when their incomes
/// make one) unless the cadre typed wages themselves (`wage_overridden`); confirming
/// income carries last month's wages when no worker's income makes them up.
pub fn confirm(visit: &mut Visit, carried: &Carried, group: &Group, wage_overridden: bool) {
    let from = &carried.visit;
    match group {
        Group::Work(id) => {
            if let Some(job) = from.employment.get(id) {
                visit.employment.insert(id.clone(), job.clone());
            }
            if let Some(sum) = wage_sum(&visit.employment).filter(|_| !wage_overridden) {
                visit.income.wage = Some(sum);
            }
        }
        Group::Income => {
            let i = &from.income;
            visit.income.operating = i.operating;
            visit.income.property = i.property;
            visit.income.transfer = i.transfer;
            visit.income.costs = i.costs;
            if !wage_overridden && wage_sum(&from.employment).is_none() {
                visit.income.wage = i.wage;
            }
        }
        Group::Guarantees => visit.guarantees = from.guarantees,
        Group::RisksAndHelp => {
            visit.risks = from.risks.clone();
            for (k, s) in &from.help {
                visit.help.entry(*k).or_insert(*s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn member(labour: LabourCapacity) -> Member {
        Member {
            name: "王芳".into(),
            birth_date: "1985-03-02".parse().ok(),
            labour: Some(labour),
            ..Default::default()
        }
    }

    fn job(income: i64) -> Employment {
        Employment {
            status: Some(EmploymentStatus::Employed),
            channel: Some(Channel::InCounty),
            employer: "县产业园".into(),
            monthly_income: Some(income),
            returned: Some(true),
            trained: Some(true),
            organised: Some(false),
            ..Default::default()
        }
    }

    fn household() -> Household {
        let mut h = Household::default();
        h.members.insert("a".into(), member(LabourCapacity::Full));
        h.members.insert("b".into(), member(LabourCapacity::Full));
        h.members
            .insert("gone".into(), Member { status: Some(MemberStatus::MovedOut), ..member(LabourCapacity::Full) });
        let mut v = Visit {
            mode: Some(VisitMode::InPerson),
            date: "2026-10-08".parse().ok(),
            note: "门口有狗".into(),
            risk_note: "腿伤".into(),
            ..Default::default()
        };
        v.visitors.insert("cadre01".into(), "李明".into());
        v.employment.insert("a".into(), job(3000));
        v.employment.insert("b".into(), job(2500));
        v.employment.insert("gone".into(), job(4000));
        v.income = Income { wage: Some(9999), operating: Some(300), transfer: Some(200), ..Default::default() };
        v.guarantees.water = Some(false);
        v.guarantees.housing = Some(true);
        v.risks.insert(RiskSignal::Illness);
        v.help.insert(HelpKind::Training, HelpState::Needed);
        v.help.insert(HelpKind::MedicalAid, HelpState::Given);
        v.add_review(ReviewAction::Return, "sup01", "张", 1_795_000_000, "补");
        h.visits.insert("2026-10".into(), v);
        // A later visit that met nobody: nothing to carry from it.
        h.visits.insert("2026-11".into(), Visit { mode: Some(VisitMode::NotMet), ..Default::default() });
        h
    }

    fn as_of() -> Date {
        "2026-12-31".parse().expect("a date")
    }

    #[test]
    fn carries_work_income_guarantees_risks_and_needed_help_from_the_last_real_visit() {
        let c = carried(&household(), "2026-12", as_of()).expect("there is an earlier visit");
        assert_eq!(c.from, "2026-10", "the 未遇 visit of 2026-11 recorded nothing");
        let v = &c.visit;
        assert_eq!(v.employment.keys().collect::<Vec<_>>(), ["a", "b"], "a member who moved out is not carried");
        let a = &v.employment["a"];
        assert_eq!((a.employer.as_str(), a.monthly_income, a.organised), ("县产业园", Some(3000), Some(false)));
        assert_eq!((a.returned, a.trained), (None, None), "events of that month are not carried");
        assert_eq!(v.income.wage, Some(5500), "wages are the carried workers' sum, not last month's figure");
        assert_eq!((v.income.operating, v.income.transfer), (Some(300), Some(200)));
        assert_eq!((v.guarantees.water, v.guarantees.housing), (Some(false), Some(true)));
        assert!(v.risks.contains(&RiskSignal::Illness));
        assert_eq!(v.help.len(), 1, "help already given is not carried");
        assert_eq!(v.help.get(&HelpKind::Training), Some(&HelpState::Needed));
        // Never carried.
        assert_eq!((v.mode, v.date), (None, None));
        assert!(v.visitors.is_empty() && v.reviews.is_empty() && v.review.is_none());
        assert!(v.note.is_empty() && v.risk_note.is_empty() && v.help_note.is_empty());
        let groups = c.groups();
        assert_eq!(groups.len(), 5, "{groups:?}");
    }

    #[test]
    fn nothing_is_carried_without_an_earlier_visit_or_into_an_earlier_month() {
        let h = household();
        assert_eq!(carried(&h, "2026-10", as_of()), None);
        assert_eq!(carried(&Household::default(), "2026-12", as_of()), None);
    }

    #[test]
    fn a_member_no_longer_in_the_labour_force_is_not_carried() {
        let mut h = household();
        h.members.get_mut("b").expect("b").in_school = true;
        let c = carried(&h, "2026-12", as_of()).expect("carried");
        assert_eq!(c.visit.employment.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(c.visit.income.wage, Some(3000));
    }

    #[test]
    fn confirming_writes_only_that_group_and_wages_follow_the_workers() {
        let c = carried(&household(), "2026-12", as_of()).expect("carried");
        let mut v = Visit::default();
        confirm(&mut v, &c, &Group::Work("a".into()), false);
        assert_eq!(v.employment.len(), 1);
        assert_eq!(v.income.wage, Some(3000));
        assert_eq!(v.income.operating, None, "income is its own group");
        assert_eq!(v.guarantees, Guarantees::default());
        confirm(&mut v, &c, &Group::Work("b".into()), false);
        assert_eq!(v.income.wage, Some(5500));
        v.income.wage = Some(6000);
        confirm(&mut v, &c, &Group::Income, true);
        assert_eq!((v.income.wage, v.income.operating), (Some(6000), Some(300)), "typed wages stay");
        confirm(&mut v, &c, &Group::Guarantees, true);
        confirm(&mut v, &c, &Group::RisksAndHelp, true);
        assert_eq!(v.guarantees.water, Some(false));
        assert!(v.risks.contains(&RiskSignal::Illness));
    }

    #[test]
    fn a_job_seeker_carries_no_job_details_and_wages_without_workers_go_with_income() {
        let mut h = household();
        let v = h.visits.get_mut("2026-10").expect("visit");
        for job in v.employment.values_mut() {
            job.status = Some(EmploymentStatus::Seeking);
        }
        let c = carried(&h, "2026-12", as_of()).expect("carried");
        let a = &c.visit.employment["a"];
        assert_eq!(
            (a.channel, a.monthly_income, a.employer.as_str()),
            (None, None, ""),
            "hidden answers are not carried"
        );
        assert_eq!(c.visit.income.wage, Some(9999), "no worker's income makes the wages up: last month's stand");
        let mut visit = Visit::default();
        confirm(&mut visit, &c, &Group::Work("a".into()), false);
        assert_eq!(visit.income.wage, None, "a job seeker adds nothing to wages");
        confirm(&mut visit, &c, &Group::Income, false);
        assert_eq!(visit.income.wage, Some(9999));
        confirm(&mut visit, &c, &Group::Work("b".into()), false);
        assert_eq!(visit.income.wage, Some(9999), "confirming a worker without income keeps the wages");
    }

    #[test]
    fn a_visit_with_nothing_to_carry_carries_nothing() {
        let mut h = household();
        h.visits.insert("2026-11".into(), Visit { mode: Some(VisitMode::Phone), ..Default::default() });
        assert_eq!(carried(&h, "2026-12", as_of()), None);
    }

    #[test]
    fn wage_sum_counts_employed_members_with_an_income() {
        let mut e = BTreeMap::new();
        assert_eq!(wage_sum(&e), None);
        e.insert("a".to_owned(), job(3000));
        e.insert(
            "b".to_owned(),
            Employment { status: Some(EmploymentStatus::Seeking), monthly_income: Some(800), ..Default::default() },
        );
        e.insert("c".to_owned(), Employment { status: Some(EmploymentStatus::Employed), ..Default::default() });
        assert_eq!(wage_sum(&e), Some(3000), "a job seeker's old income and a worker without one do not count");
    }
}
