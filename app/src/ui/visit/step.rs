//! 走访步骤: the visit's steps, one group per screen, in the order a visit happens.

use shared::{Lang, VisitMode};

/// A step of the visit form.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Step {
    /// 走访方式和日期, and last month's answers to confirm at once.
    #[default]
    Start,
    /// 劳动力就业: each labour-force member's work.
    Work,
    /// 家庭收入
    Income,
    /// 两不愁三保障及饮水安全
    Guarantees,
    /// 返贫风险、刚性支出和帮扶措施
    Risks,
    /// 备注和核对: notes, what will be saved, and 保存.
    Review,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 6] = [Step::Start, Step::Work, Step::Income, Step::Guarantees, Step::Risks, Step::Review];

    /// The step's name in addresses (`route`).
    pub fn code(self) -> &'static str {
        match self {
            Step::Start => "start",
            Step::Work => "work",
            Step::Income => "income",
            Step::Guarantees => "guarantees",
            Step::Risks => "risks",
            Step::Review => "review",
        }
    }

    /// The step named `code`.
    pub fn from_code(code: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Its short name on the progress line.
    pub fn label(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            Step::Start => ("方式", "How"),
            Step::Work => ("就业", "Work"),
            Step::Income => ("收入", "Income"),
            Step::Guarantees => ("保障", "Guarantees"),
            Step::Risks => ("风险", "Risks"),
            Step::Review => ("核对", "Review"),
        };
        if lang == Lang::Zh { zh } else { en }
    }

    /// The steps a visit goes through: 未遇 (nobody met) records no answers, only a
    /// note; a household without labour-force members has no work step.
    pub fn of(mode: Option<VisitMode>, has_labour: bool) -> Vec<Step> {
        Step::ALL
            .into_iter()
            .filter(|s| match s {
                Step::Start | Step::Review => true,
                Step::Work => has_labour && mode != Some(VisitMode::NotMet),
                _ => mode != Some(VisitMode::NotMet),
            })
            .collect()
    }

    /// The step that shows the field at `path` (a `shared::validate` path after
    /// `v/{period}/`).
    pub fn of_path(path: &str) -> Step {
        let head = path.split('/').next().unwrap_or_default();
        match head {
            "mode" | "absent" | "date" | "by" => Step::Start,
            "e" => Step::Work,
            "i" => Step::Income,
            "g" => Step::Guarantees,
            "risk_note" | "help_note" | "r" | "h" | "x" => Step::Risks,
            _ => Step::Review,
        }
    }
}
