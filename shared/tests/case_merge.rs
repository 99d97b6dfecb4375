//! Monitoring cases and help measures merge like every other field: two people taking
//! case steps and adding measures offline lose neither, the status reads as the steps
//! say, and two different statuses written concurrently are a conflict for a person.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use proptest::prelude::*;
use shared::automerge::ActorId;
use shared::*;

fn measure(kind: MeasureKind, start: u8) -> Measure {
    Measure {
        kind: Some(kind),
        start: Date::new(2026, 11, start.clamp(1, 28)),
        amount: Some(i64::from(start) * 100),
        ..Default::default()
    }
}

fn fork(doc: &HouseholdDoc, actor: u8) -> HouseholdDoc {
    HouseholdDoc::load(&doc.save(), ActorId::from(vec![actor; 16])).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn steps_and_measures_taken_offline_by_two_people_are_all_kept(
        left in prop::collection::vec((prop::sample::select(MeasureKind::ALL), 1u8..28), 0..4),
        right in prop::collection::vec((prop::sample::select(MeasureKind::ALL), 1u8..28), 0..4),
        left_clue in any::<bool>(),
        right_verify in any::<bool>(),
    ) {
        let base_stamp = Stamp::new("admin", "管理员", 1_795_000_000);
        let mut base = HouseholdDoc::create("H", ActorId::from(vec![1; 16]), &base_stamp).unwrap();
        // A clue both phones know of.
        base.edit(&base_stamp, |h| {
            h.case.record(CaseStep { act: Some(CaseAct::Clue), by: "s1".into(), ..Default::default() }, 1_795_000_000);
        }).unwrap();
        let (mut a, mut b) = (fork(&base, 2), fork(&base, 3));
        let sa = Stamp::new("c1", "李明", 1_795_100_000);
        let sb = Stamp::new("c2", "张华", 1_795_100_000);
        a.edit(&sa, |h| {
            for (i, (k, d)) in left.iter().enumerate() {
                h.measures.insert(format!("c1-{i}"), measure(*k, *d));
            }
            if left_clue {
                let note = CaseStep { act: Some(CaseAct::Verify), by: "c1".into(), text: "已核实".into(), ..Default::default() };
                h.case.record(note, 1_795_100_000);
            }
        }).unwrap();
        b.edit(&sb, |h| {
            for (i, (k, d)) in right.iter().enumerate() {
                h.measures.insert(format!("c2-{i}"), measure(*k, *d));
            }
            if right_verify {
                let note = CaseStep { act: Some(CaseAct::Verify), by: "c2".into(), text: "属实".into(), ..Default::default() };
                h.case.record(note, 1_795_100_000);
            }
        }).unwrap();
        a.merge(&mut b).unwrap();
        let h = a.household().unwrap();
        prop_assert_eq!(h.measures.len(), left.len() + right.len());
        for (i, (k, d)) in left.iter().enumerate() {
            prop_assert_eq!(&h.measures[&format!("c1-{i}")], &measure(*k, *d));
        }
        prop_assert_eq!(h.case.steps.len(), 1 + usize::from(left_clue) + usize::from(right_verify));
        // Both verified: the same status twice agrees, no conflict.
        let verified = left_clue || right_verify;
        prop_assert_eq!(h.case.status, Some(if verified { CaseStatus::Verified } else { CaseStatus::Clue }));
        prop_assert!(a.conflicts().unwrap().is_empty());
    }
}

/// Two supervisors decide one case at the same time, differently: both steps are kept
/// and the status is a conflict, listed with both values, for a person to settle.
#[test]
fn two_different_decisions_at_once_are_a_conflict() {
    let stamp = Stamp::new("c1", "李明", 1_795_000_000);
    let mut base = HouseholdDoc::create("H", ActorId::from(vec![1; 16]), &stamp).unwrap();
    base.edit(&stamp, |h| {
        h.case.record(CaseStep { act: Some(CaseAct::Clue), by: "c1".into(), ..Default::default() }, 1_795_000_000);
    })
    .unwrap();
    let (mut a, mut b) = (fork(&base, 2), fork(&base, 3));
    a.edit(&Stamp::new("s1", "赵", 1_795_100_000), |h| {
        let include = CaseStep {
            act: Some(CaseAct::Include),
            by: "s1".into(),
            kind: Some(Monitoring::Edge),
            ..Default::default()
        };
        h.case.record(include, 1_795_100_000);
    })
    .unwrap();
    b.edit(&Stamp::new("s2", "钱", 1_795_100_001), |h| {
        h.case.record(CaseStep { act: Some(CaseAct::Close), by: "s2".into(), ..Default::default() }, 1_795_100_001);
    })
    .unwrap();
    a.merge(&mut b).unwrap();
    let h = a.household().unwrap();
    assert_eq!(h.case.steps.len(), 3, "clue, include and close all kept");
    let conflicts = a.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].key, "k/status");
    let values: Vec<_> = conflicts[0].values.iter().map(|v| v.value.clone()).collect();
    assert!(values.contains(&fields::Scalar::Str("monitored".into())));
    assert!(values.contains(&fields::Scalar::Str("closed".into())));
}
