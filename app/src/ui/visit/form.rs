//! The visit form's state, shared by its steps: the visit as entered, last month's
//! answers and which groups of them are confirmed, what the cadre has touched, and the
//! problems to show.

use std::collections::BTreeSet;

use leptos::prelude::*;
use shared::prefill::{self, Carried, Group};
use shared::{Problem, Severity, Visit};

use super::Step;
use crate::state::Ui;

/// The reactive handles of one visit form. All `Copy`.
#[derive(Debug, Clone, Copy)]
pub struct Form {
    pub ui: Ui,
    /// `YYYY-MM` of the visit.
    pub period: StoredValue<String>,
    /// The visit as the cadre has it.
    pub visit: RwSignal<Visit>,
    /// Last month's answers, when the visit started from them (`shared::prefill`).
    pub carried: StoredValue<Option<Carried>>,
    /// Groups confirmed with 与上月相同.
    pub confirmed: RwSignal<BTreeSet<Group>>,
    /// Groups the cadre changed by hand: 全部与上月相同 leaves them as they are.
    pub touched: RwSignal<BTreeSet<Group>>,
    /// 工资性收入 was typed, so it no longer follows the workers' incomes.
    pub wage_typed: RwSignal<bool>,
    /// Fields (validation paths) the cadre has changed: their errors show at once.
    pub seen: RwSignal<BTreeSet<String>>,
    /// Steps the cadre tried to leave with 下一步, or every step after 保存: their
    /// errors show.
    pub tried: RwSignal<BTreeSet<Step>>,
    /// Every problem of this visit (`shared::validate`).
    pub all: Memo<Vec<Problem>>,
    /// 上报风险线索: saving the visit also raises a clue of its risks (a household with
    /// no open case only).
    pub raise_clue: RwSignal<bool>,
    /// The household has no open case, so a clue may be raised.
    pub may_raise: bool,
    /// A photo or signature is being made: saving waits for it.
    pub preparing: RwSignal<bool>,
}

impl Form {
    /// The validation path of field `suffix` of this visit.
    pub fn at(&self, suffix: &str) -> String {
        format!("v/{}/{suffix}", self.period.get_value())
    }

    /// The step of a validation path of this visit.
    pub fn step_of(&self, path: &str) -> Step {
        let prefix = self.at("");
        Step::of_path(path.strip_prefix(&prefix).unwrap_or(path))
    }

    /// The problems to show: warnings always; an error once its field was changed or
    /// the cadre tried to go on from its step (an untouched form is not wrong).
    pub fn shown(&self) -> Vec<Problem> {
        let (seen, tried) = (self.seen.get(), self.tried.get());
        self.all
            .get()
            .into_iter()
            .filter(|p| {
                p.severity != Severity::Error || seen.contains(&p.path) || tried.contains(&self.step_of(&p.path))
            })
            .collect()
    }

    /// The errors on `step` (all steps when `None`), in the order of the form.
    pub fn errors(&self, step: Option<Step>) -> Vec<Problem> {
        let mut out: Vec<Problem> = self
            .all
            .get_untracked()
            .into_iter()
            .filter(|p| p.severity == Severity::Error && step.is_none_or(|s| self.step_of(&p.path) == s))
            .collect();
        out.sort_by_key(|p| self.step_of(&p.path));
        out
    }

    /// The cadre changed the field at `suffix`.
    pub fn mark(&self, suffix: &str) {
        let path = self.at(suffix);
        self.seen.update(|s| {
            s.insert(path);
        });
    }

    /// The cadre changed something in `group` by hand.
    pub fn touch(&self, group: Group) {
        self.touched.update(|s| {
            s.insert(group);
        });
    }

    /// Is `group` confirmed or changed?
    pub fn handled(&self, group: &Group) -> bool {
        self.confirmed.with(|s| s.contains(group)) || self.touched.with(|s| s.contains(group))
    }

    /// 与上月相同 for `group`: last month's answers become this month's.
    pub fn confirm(&self, group: Group) {
        let (visit, wage_typed, confirmed) = (self.visit, self.wage_typed, self.confirmed);
        self.carried.with_value(|c| {
            if let Some(c) = c {
                visit.update(|v| {
                    prefill::confirm(v, c, &group, wage_typed.get_untracked());
                    // Wages carried without workers to make them up stay as they are.
                    if v.income.wage.is_some() && v.income.wage != prefill::wage_sum(&v.employment) {
                        wage_typed.set(true);
                    }
                });
                confirmed.update(|s| {
                    s.insert(group);
                });
            }
        })
    }

    /// 全部与上月相同: confirms every group not yet confirmed or changed.
    pub fn confirm_all(&self) {
        let groups = self.carried.with_value(|c| c.as_ref().map(Carried::groups).unwrap_or_default());
        for g in groups.into_iter().filter(|g| !self.handled(g)) {
            self.confirm(g);
        }
    }

    /// Every carried group is confirmed or changed.
    pub fn all_handled(&self) -> bool {
        self.carried.with_value(|c| c.as_ref().is_some_and(|c| c.groups().iter().all(|g| self.handled(g))))
    }

    /// Forgets every answer: a 未遇 visit records none (hidden answers are not kept).
    pub fn clear_answers(&self) {
        self.visit.update(|v| {
            v.employment.clear();
            v.income = Default::default();
            v.guarantees = Default::default();
            v.risks.clear();
            v.expenses.clear();
            v.help.clear();
            v.risk_note.clear();
            v.help_note.clear();
        });
        self.confirmed.update(BTreeSet::clear);
        self.touched.update(BTreeSet::clear);
        self.wage_typed.set(false);
    }
}
