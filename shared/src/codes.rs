//! Every coded list of the document (走访方式, 就业渠道, …) by name, with each code's
//! 中文 and English labels: what `protocol/huhujian.json` lists for client authors.

use crate::label::Coded;
use crate::model::{
    AbsentReason, Category, Channel, EmploymentStatus, Expense, Guarantee, HelpKind, HelpState, IncomeComponent,
    LabourCapacity, MemberChange, MemberStatus, Monitoring, PlaceScope, Placement, PlacementArea, Relation,
    ReviewAction, ReviewStatus, RiskSignal, Sex, VisitMode,
};

/// One coded list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodeList {
    /// The list's name (`Coded::NAME`), as the layout refers to it.
    pub name: &'static str,
    /// Its codes in display order.
    pub codes: Vec<CodeLabel>,
}

/// One code with its labels.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodeLabel {
    /// What the document stores.
    pub code: &'static str,
    /// 中文标签.
    pub zh: &'static str,
    /// English label.
    pub en: &'static str,
}

fn list<C: Coded>() -> CodeList {
    CodeList {
        name: C::NAME,
        codes: C::ALL.iter().map(|c| CodeLabel { code: c.code(), zh: c.zh(), en: c.en() }).collect(),
    }
}

/// Every coded list.
pub fn code_lists() -> Vec<CodeList> {
    vec![
        list::<Sex>(),
        list::<Relation>(),
        list::<LabourCapacity>(),
        list::<MemberStatus>(),
        list::<MemberChange>(),
        list::<Category>(),
        list::<Monitoring>(),
        list::<Placement>(),
        list::<PlacementArea>(),
        list::<VisitMode>(),
        list::<AbsentReason>(),
        list::<EmploymentStatus>(),
        list::<Channel>(),
        list::<PlaceScope>(),
        list::<IncomeComponent>(),
        list::<Expense>(),
        list::<Guarantee>(),
        list::<RiskSignal>(),
        list::<HelpKind>(),
        list::<HelpState>(),
        list::<ReviewAction>(),
        list::<ReviewStatus>(),
        list::<crate::case::CaseStatus>(),
        list::<crate::case::CaseAct>(),
        list::<crate::case::ClueSource>(),
        list::<crate::case::MeasureKind>(),
        list::<crate::must_visit::MustVisit>(),
        list::<crate::evidence::EvidenceKind>(),
        list::<crate::evidence::MediaType>(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{ValueKind, layout};

    #[test]
    fn every_list_the_layout_names_is_listed_once() {
        let lists = code_lists();
        let names: std::collections::HashSet<_> = lists.iter().map(|l| l.name).collect();
        assert_eq!(names.len(), lists.len(), "a list is named twice");
        for key in layout() {
            if let ValueKind::Code(name) = key.kind {
                assert!(names.contains(name), "{} names the list {name}, which code_lists() lacks", key.key);
            }
        }
    }
}
