//! 防返贫监测帮扶: a household's monitoring case and its ledger of help measures, kept
//! in the household's document (keys `k/…` and `p/…`, ARCHITECTURE.md), and the rules
//! around them: which step may follow which, the deadlines, and when a risk may be
//! declared eliminated (seed 003 §二(二): 及时发现、及时帮扶、动态清零; DOMAIN.md "From a
//! risk signal to help").
//!
//! A case is a thread of steps (线索 → 入户核实 → 研判: 纳入监测 as one of the 三类, or
//! 排除 → 风险消除, or a new clue after), each step its own keyed entry so that two
//! people's steps never overwrite each other, and one status field written with every
//! step, so that two steps taken concurrently (a supervisor includes the household
//! while another closes it) show up as a conflict for a person to settle — the same
//! design as a visit's review.

use std::collections::BTreeMap;

use crate::label::{Coded, coded_enum};
use crate::model::{Household, Monitoring};
use crate::period::{Date, Period};
use crate::settings::Settings;

/// Days from a clue to its verification at the door (the county's deadline).
pub const VERIFY_DAYS: i64 = 7;
/// Days from a clue to the decision.
pub const DECIDE_DAYS: i64 = 15;
/// Months the rolling per-capita income must have stayed at or above the line before a
/// risk may be declared eliminated.
pub const STABLE_MONTHS: i32 = 6;

coded_enum! {
    /// 监测状态: where a household's case stands.
    pub enum CaseStatus {
        Clue = ("clue", "待核实", "Clue, to verify"),
        Verified = ("verified", "待研判", "Verified, to decide"),
        Monitored = ("monitored", "监测帮扶中", "Monitored and helped"),
        Closed = ("closed", "已排除", "Closed, not included"),
        Eliminated = ("eliminated", "风险已消除", "Risk eliminated"),
    }
}

coded_enum! {
    /// 监测步骤: what one step did.
    pub enum CaseAct {
        Clue = ("clue", "发现风险线索", "Risk clue raised"),
        Verify = ("verify", "入户核实", "Verified at the door"),
        Include = ("include", "纳入监测", "Brought into monitoring"),
        Close = ("close", "排除", "Closed, not included"),
        Eliminate = ("eliminate", "风险消除", "Risk eliminated"),
    }
}

coded_enum! {
    /// 线索来源 (seed 003: 群众自行申报、干部入户走访、村级分析研判、系统分析比对).
    pub enum ClueSource {
        Visit = ("visit", "干部入户走访", "Found on a visit"),
        Household = ("household", "群众自行申报", "Reported by the household"),
        Village = ("village", "村级分析研判", "Village analysis"),
        Department = ("department", "部门数据比对", "Department data"),
    }
}

coded_enum! {
    /// 帮扶措施类别: the kinds of help counties keep in the ledger.
    pub enum MeasureKind {
        WelfarePost = ("welfare_post", "公益性岗位", "Public-welfare post"),
        JobReferral = ("job_referral", "就业推荐", "Job referral"),
        Training = ("training", "技能培训", "Skills training"),
        Microcredit = ("microcredit", "小额信贷", "Small loan"),
        Yulu = ("yulu", "雨露计划", "雨露计划 (vocational school aid)"),
        Industry = ("industry", "产业帮扶", "Industry support"),
        Dibao = ("dibao", "低保", "Minimum living allowance"),
        TemporaryRelief = ("temporary_relief", "临时救助", "Temporary relief"),
        MedicalAid = ("medical_aid", "医疗救助", "Medical aid"),
        EducationAid = ("education_aid", "教育资助", "Education aid"),
        Housing = ("housing", "住房保障", "Housing"),
        Other = ("other", "其他", "Other"),
    }
}

/// One step of a case. Its entry id is `<unix seconds>-<login>`, which orders it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct CaseStep {
    /// What was done.
    pub act: Option<CaseAct>,
    /// Who (login).
    pub by: String,
    /// …and their display name.
    pub name: String,
    /// The day it happened (a clue's day starts the deadlines).
    pub on: Option<Date>,
    /// Why, or what was found.
    pub text: String,
    /// A clue's route.
    pub source: Option<ClueSource>,
    /// 纳入监测: as which of the 三类.
    pub kind: Option<Monitoring>,
}

/// 监测帮扶: the household's case.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Case {
    /// Written with every step; absent: no case.
    pub status: Option<CaseStatus>,
    /// The steps, keyed by entry id.
    pub steps: BTreeMap<String, CaseStep>,
}

/// 帮扶措施: one entry of the ledger. Every field may be left out of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(default)]
pub struct Measure {
    /// Which kind of help.
    pub kind: Option<MeasureKind>,
    /// From (hired, granted, lent).
    pub start: Option<Date>,
    /// Until (dismissed, ended, due); absent: still in force.
    pub end: Option<Date>,
    /// Yuan, where there is an amount (a month's wage, a loan, a grant).
    pub amount: Option<i64>,
    /// Who provides it (department, employer, bank).
    pub provider: String,
    /// A note.
    pub note: String,
    /// Who recorded it (login).
    pub by: String,
}

impl Measure {
    /// Started on or before `day`.
    pub fn delivered_by(&self, day: Date) -> bool {
        self.start.is_some_and(|s| s <= day)
    }
    /// In force on `day`: started and not ended.
    pub fn in_force_on(&self, day: Date) -> bool {
        self.delivered_by(day) && self.end.is_none_or(|e| e >= day)
    }
}

/// A step that may not be taken now, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotNow {
    /// 中文
    pub zh: String,
    /// English
    pub en: String,
}

impl NotNow {
    fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { zh: zh.into(), en: en.into() }
    }
}

/// Which deadline a case has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Overdue {
    /// Not verified within [`VERIFY_DAYS`] of the clue.
    Verify,
    /// Not decided within [`DECIDE_DAYS`] of the clue.
    Decide,
}

impl Case {
    /// The steps in the order they were taken (entry ids start with the time).
    pub fn thread(&self) -> Vec<(&String, &CaseStep)> {
        let mut steps: Vec<_> = self.steps.iter().collect();
        steps.sort_by_key(|(id, _)| (entry_time(id), id.as_str()));
        steps
    }

    /// The day the case's current round began: its first clue after the latest close
    /// or elimination (a second clue while a case is open does not restart the clock).
    /// A case a person kept open over a concurrent close (a conflict on its status
    /// settled so) still runs from the clue that close answered.
    pub fn clue_on(&self) -> Option<Date> {
        let thread = self.thread();
        let ends: Vec<usize> = (0..thread.len())
            .filter(|&i| matches!(thread[i].1.act, Some(CaseAct::Close | CaseAct::Eliminate)))
            .collect();
        let first_clue = |steps: &[(&String, &CaseStep)]| {
            steps.iter().find(|(_, s)| s.act == Some(CaseAct::Clue)).and_then(|(_, s)| s.on)
        };
        let start = ends.last().map_or(0, |i| i + 1);
        first_clue(&thread[start..]).or_else(|| {
            let &close = ends.last()?;
            let from = ends.iter().rev().nth(1).map_or(0, |i| i + 1);
            self.is_open().then(|| first_clue(&thread[from..close])).flatten()
        })
    }

    /// Whether a case is open: a clue not yet decided, or a household monitored.
    pub fn is_open(&self) -> bool {
        matches!(self.status, Some(CaseStatus::Clue | CaseStatus::Verified | CaseStatus::Monitored))
    }

    /// The deadline passed on `today`, if any: verification 7 days after the clue, the
    /// decision 15 days after it (a clue of 12-01 is overdue for verification on 12-09,
    /// the eighth day after it).
    pub fn overdue(&self, today: Date) -> Option<Overdue> {
        let since = today.to_unix_days() - self.clue_on()?.to_unix_days();
        match self.status? {
            CaseStatus::Clue if since > DECIDE_DAYS => Some(Overdue::Decide),
            CaseStatus::Clue if since > VERIFY_DAYS => Some(Overdue::Verify),
            CaseStatus::Verified if since > DECIDE_DAYS => Some(Overdue::Decide),
            _ => None,
        }
    }

    /// Whether `act` may follow the case as it stands.
    pub fn may(&self, act: CaseAct) -> Result<(), NotNow> {
        use CaseStatus as S;
        let ok = match act {
            CaseAct::Clue => matches!(self.status, None | Some(S::Closed | S::Eliminated)),
            CaseAct::Verify => self.status == Some(S::Clue),
            CaseAct::Include | CaseAct::Close => matches!(self.status, Some(S::Clue | S::Verified)),
            CaseAct::Eliminate => self.status == Some(S::Monitored),
        };
        if ok {
            return Ok(());
        }
        let (zh, en) = self.status.map_or(("无监测记录", "no case"), |s| (s.zh(), s.en()));
        Err(NotNow::new(
            format!("当前状态为“{zh}”，不能{}", act.zh()),
            format!("The case stands at “{en}”: “{}” cannot be done now", act.en()),
        ))
    }

    /// Adds a step by `by` (`name`) at `at` (Unix seconds) and sets the status it
    /// leads to; returns the entry id. The caller checks [`Case::may`] first.
    pub fn record(&mut self, step: CaseStep, at: i64) -> String {
        let id = crate::model::Review::new_entry_id(at, &step.by, |id| self.steps.contains_key(id));
        self.status = step.act.map(|a| match a {
            CaseAct::Clue => CaseStatus::Clue,
            CaseAct::Verify => CaseStatus::Verified,
            CaseAct::Include => CaseStatus::Monitored,
            CaseAct::Close => CaseStatus::Closed,
            CaseAct::Eliminate => CaseStatus::Eliminated,
        });
        self.steps.insert(id.clone(), step);
        id
    }
}

/// The Unix seconds an entry id starts with (0 if it does not).
fn entry_time(id: &str) -> i64 {
    id.split('-').next().and_then(|t| t.parse().ok()).unwrap_or(0)
}

/// Why a risk may not be declared eliminated in `period` (the current one) on
/// `today`; empty: it may. The rule (DOMAIN.md; seed 003 §二(三)):
/// - the household is monitored, and has been for [`STABLE_MONTHS`] months (counted
///   from the day of inclusion);
/// - its rolling per-capita net income was at or above the line of each month's year
///   in each of the last [`STABLE_MONTHS`] months, this one included;
/// - the 两不愁三保障 and safe water hold (each answered yes) at the latest visit that
///   answered them;
/// - at least one help measure was delivered;
/// - a household with no labour force is never eliminated by income alone: it also
///   has 兜底 (低保 or 特困, or a 低保 measure in force).
pub fn elimination_blockers(h: &Household, period: Period, settings: &Settings, today: Date) -> Vec<NotNow> {
    let mut out = Vec::new();
    if h.case.status != Some(CaseStatus::Monitored) {
        out.push(NotNow::new("尚未纳入监测", "The household is not monitored"));
    } else {
        let included = h.case.thread().into_iter().rev().find(|(_, s)| s.act == Some(CaseAct::Include));
        // Six months from the day of inclusion (the same day of the month, or the
        // month's last day when it has no such day).
        let due = included.and_then(|(_, s)| s.on).map(|on| {
            let month = Period::of(on).plus_months(STABLE_MONTHS);
            Date::new(month.year(), month.month(), on.day().min(month.last_day().day())).unwrap_or(month.last_day())
        });
        if due.is_none_or(|d| d > today) {
            out.push(NotNow::new(
                format!("纳入监测未满 {STABLE_MONTHS} 个月"),
                format!("Monitored for less than {STABLE_MONTHS} months"),
            ));
        }
    }
    let mut stable = 0;
    for n in 0..STABLE_MONTHS {
        let p = period.plus_months(-n);
        let s = crate::indicators::Summary::of(h, p, settings);
        let line = settings.for_period(p).monitoring_line;
        match (s.per_capita_income, line) {
            (Some(pc), Some(line)) if pc >= line => stable += 1,
            _ => break,
        }
    }
    if stable < STABLE_MONTHS {
        out.push(NotNow::new(
            format!("人均纯收入连续 {stable} 个月不低于监测线，须满 {STABLE_MONTHS} 个月"),
            format!("Income per head has been at or above the line for {stable} months; {STABLE_MONTHS} are needed"),
        ));
    }
    let answered = h.visits.values().rev().find(|v| v.guarantees.items().iter().any(|(_, a)| a.is_some()));
    if answered.is_none_or(|v| v.guarantees.items().iter().any(|(_, a)| *a != Some(true))) {
        out.push(NotNow::new(
            "最近一次走访的两不愁三保障及饮水安全未全部达标",
            "The latest visit does not show every guarantee and safe water met",
        ));
    }
    if !h.measures.values().any(|m| m.delivered_by(today)) {
        out.push(NotNow::new("尚未落实任何帮扶措施", "No help measure has been delivered"));
    }
    let labour = h.members.values().any(|m| m.is_labour_force(period.last_day()));
    let safety_net = h.facts.dibao
        || h.facts.tekun
        || h.measures.values().any(|m| m.kind == Some(MeasureKind::Dibao) && m.in_force_on(today));
    if !labour && !safety_net {
        out.push(NotNow::new(
            "无劳动力家庭不能仅凭收入消除风险，须有低保或特困等兜底保障",
            "A household without labour force is not cleared on income alone: it needs 低保 or 特困 support",
        ));
    }
    out
}

/// The 三类 type a case's latest inclusion chose.
pub fn included_as(case: &Case) -> Option<Monitoring> {
    case.thread().into_iter().rev().find(|(_, s)| s.act == Some(CaseAct::Include)).and_then(|(_, s)| s.kind)
}
