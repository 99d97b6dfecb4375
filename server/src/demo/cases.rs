//! The demo county's monitoring cases (监测帮扶). Every household the demo monitors got
//! there the way a real one does: a clue raised at a visit, verified at the door and
//! decided by the county's supervisor about nine months ago, with a help measure since;
//! so the ones whose income and guarantees have held are eligible for elimination. A few
//! other households have a clue still open, two of them past their deadline, so that
//! the console's queue has work in it.

use shared::case::{CaseAct, CaseStep, ClueSource, Measure, MeasureKind};
use shared::model::Review;
use shared::{Date, Household, Monitoring};

use crate::auth::User;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// A step of `by`'s at `at` (Unix seconds), dated as its entry id says.
fn step(h: &mut Household, act: CaseAct, by: &User, at: i64, text: &str, kind: Option<Monitoring>) {
    let step = CaseStep {
        act: Some(act),
        by: by.id.clone(),
        name: by.name.clone(),
        on: Some(Date::in_china(at)),
        text: text.into(),
        source: (act == CaseAct::Clue).then_some(ClueSource::Visit),
        kind,
    };
    h.case.record(step, at);
}

/// A clue `cadre` raised at a visit at `at`.
pub fn raise(h: &mut Household, cadre: &User, at: i64, text: &str) {
    step(h, CaseAct::Clue, cadre, at, text, None);
}

/// Its verification at the door, at `at`.
pub fn verify(h: &mut Household, cadre: &User, at: i64) {
    step(h, CaseAct::Verify, cadre, at, "入户核实：情况属实", None);
}

/// The supervisor's part: the household included as `kind` at `at`, and the measure
/// that type usually gets, started the same day.
pub fn include(h: &mut Household, kind: Monitoring, decider: &User, at: i64) {
    step(h, CaseAct::Include, decider, at, "村级研判、乡镇审核：纳入监测", Some(kind));
    h.facts.monitoring = Some(kind);
    let (measure, amount, provider, note) = match kind {
        Monitoring::Unstable => (MeasureKind::WelfarePost, Some(800), "镇人社所", "安置点保洁员"),
        Monitoring::Sudden => (MeasureKind::MedicalAid, Some(6_000), "县医保局", "住院费用医疗救助"),
        _ => (MeasureKind::JobReferral, None, "县人社局", "推荐到县城工业园务工"),
    };
    let start = Date::in_china(at);
    let measure = Measure {
        kind: Some(measure),
        start: Some(start),
        end: (kind == Monitoring::Sudden).then(|| Date::in_china(at + 30 * DAY)),
        amount,
        provider: provider.into(),
        note: note.into(),
        by: decider.id.clone(),
    };
    let id = Review::new_entry_id(at, &decider.id, |id| h.measures.contains_key(id));
    h.measures.insert(id, measure);
}

/// The open clue a site's grid `grid` has (on its first household from the twelfth on
/// that is not monitored), if any: days since it was raised, days until it was
/// verified, and what it says. One new, one not verified within 7 days, one not
/// decided within 15, in every site.
pub fn open_clue(grid: usize) -> Option<(i64, Option<i64>, &'static str)> {
    match grid {
        0 => Some((2, None, "户主务工受伤返乡，暂无收入")),
        2 => Some((9, None, "家中老人重病住院，医疗支出较大")),
        3 => Some((20, Some(3), "子女上大学，教育支出增加")),
        _ => None,
    }
}

/// From which household of a grid (counted from 0) an open clue may go.
pub const OPEN_CLUE_FROM: usize = 11;
