//! 八必访: households that must be visited in person this month, and why (the eight
//! kinds counties name: low or falling income, serious illness, 特困 or 低保,
//! disability, several children in non-compulsory schooling, unstable migrant work
//! income, a disaster or sudden change, and an open monitoring case). One rule for the
//! phone's list, the household page, the indicators and the console.

use crate::income::Hardship;
use crate::label::coded_enum;
use crate::model::{EmploymentStatus, Household, RiskSignal, Visit, VisitMode};
use crate::period::Period;

coded_enum! {
    /// 必访原因
    pub enum MustVisit {
        Income = ("income", "收入低或骤减", "Low or falling income"),
        Illness = ("illness", "家有重病患者", "A member seriously ill"),
        Safety = ("safety_net", "特困或低保户", "特困 or 低保 household"),
        Disability = ("disability", "家有残疾人", "A member with a disability"),
        Schooling = ("schooling", "多子女非义务教育阶段就学", "Several children in non-compulsory schooling"),
        Work = ("work", "务工收入不稳定", "Unstable migrant work income"),
        Sudden = ("sudden", "遭受灾害或突发变故", "A disaster or sudden change"),
        Case = ("case", "在监测帮扶中", "An open monitoring case"),
    }
}

/// Age from which schooling is no longer compulsory (九年义务教育 ends near 15).
const NON_COMPULSORY_AGE: i32 = 15;

fn recorded(v: &Visit) -> bool {
    v.mode.is_some_and(|m| m != VisitMode::NotMet)
}

/// Why `h` must be visited in `period`, given its hardship flags there; empty: it need
/// not be. Judged from the members present at the period's end and the two latest
/// recorded visits before the period (this month's is what the visit will record).
pub fn reasons(h: &Household, period: Period, hardship: &Hardship) -> Vec<MustVisit> {
    let as_of = period.last_day();
    let present: Vec<_> = h.members.values().filter(|m| m.is_present_on(as_of)).collect();
    let before: Vec<&Visit> = h
        .visits
        .iter()
        .rev()
        .filter(|(k, v)| k.parse::<Period>().is_ok_and(|p| p < period) && recorded(v))
        .map(|(_, v)| v)
        .take(2)
        .collect();
    let mut out = Vec::new();
    if hardship.below_line || hardship.near_line || hardship.income_fall {
        out.push(MustVisit::Income);
    }
    if present.iter().any(|m| m.serious_illness) {
        out.push(MustVisit::Illness);
    }
    if h.facts.tekun || h.facts.dibao {
        out.push(MustVisit::Safety);
    }
    if present.iter().any(|m| m.disabled) {
        out.push(MustVisit::Disability);
    }
    let students = present
        .iter()
        .filter(|m| m.in_school && m.birth_date.is_some_and(|b| b.age_on(as_of) >= NON_COMPULSORY_AGE))
        .count();
    if students >= 2 {
        out.push(MustVisit::Schooling);
    }
    // Work lost between the two latest visits, or a job loss recorded at the latest.
    let lost = match before.as_slice() {
        [latest, previous, ..] => previous.employment.iter().any(|(id, e)| {
            e.status == Some(EmploymentStatus::Employed)
                && latest.employment.get(id).is_some_and(|l| l.status != Some(EmploymentStatus::Employed))
        }),
        _ => false,
    };
    if lost || before.first().is_some_and(|v| v.risks.contains(&RiskSignal::JobLoss)) {
        out.push(MustVisit::Work);
    }
    let sudden = [RiskSignal::Disaster, RiskSignal::Accident, RiskSignal::Illness, RiskSignal::IncomeDrop];
    if hardship.heavy_expenses || before.first().is_some_and(|v| sudden.iter().any(|r| v.risks.contains(r))) {
        out.push(MustVisit::Sudden);
    }
    if h.case.is_open() {
        out.push(MustVisit::Case);
    }
    out
}
