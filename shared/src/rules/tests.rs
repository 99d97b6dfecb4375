//! The write rules against forged uploads: examples of each rule, and a property test
//! that no sequence of cadre changes, however crafted, gets an approval, a moved
//! household or an altered supervisor's step past [`check_upload`].

use automerge::transaction::Transactable;
use automerge::{ActorId, ROOT, ReadDoc, ScalarValue};
use proptest::prelude::*;

use super::*;
use crate::doc::Stamp;
use crate::model::VisitMode;

const P: &str = "2026-11";
const SUP_STEP: &str = "1795000000-sup01";

/// The server's copy: a household in 阳光社区 with a visit its supervisor returned.
fn stored() -> HouseholdDoc {
    let stamp = Stamp::new("admin", "管理员", 1_794_000_000);
    let mut doc = HouseholdDoc::create("H1", ActorId::from(b"server".as_slice()), &stamp).unwrap();
    doc.edit(&stamp, |h| {
        h.facts.county = "云岭县".into();
        h.facts.site = "阳光社区".into();
        h.facts.grid = "1栋".into();
        let v = h.visits.entry(P.into()).or_default();
        v.mode = Some(VisitMode::InPerson);
        v.add_review(ReviewAction::Return, "sup01", "赵主任", 1_795_000_000, "收入请核实");
    })
    .unwrap();
    doc
}

/// A cadre's phone holding what the server holds.
fn phone(server: &HouseholdDoc) -> HouseholdDoc {
    HouseholdDoc::load(&server.save(), ActorId::from(b"phone-c1".as_slice())).unwrap()
}

/// One raw change on `doc`: puts (`Some`) and deletes (`None`).
fn change(doc: &mut HouseholdDoc, ops: &[(&str, Option<Scalar>)]) {
    let mut tx = doc.automerge_mut().transaction();
    for (key, value) in ops {
        match value {
            Some(Scalar::Str(s)) => tx.put(ROOT, *key, ScalarValue::Str(s.as_str().into())).unwrap(),
            Some(Scalar::Int(i)) => tx.put(ROOT, *key, *i).unwrap(),
            Some(Scalar::Bool(b)) => tx.put(ROOT, *key, *b).unwrap(),
            None => {
                let _ = tx.delete(ROOT, *key);
            }
        }
    }
    tx.commit();
}

/// The server's verdict on what `phone` holds beyond `server`: the merged document
/// when the upload keeps the layout and the rules, else why not.
fn upload(server: &HouseholdDoc, phone: &mut HouseholdDoc, user: &str) -> Result<HouseholdDoc, String> {
    let mut merged = HouseholdDoc::load(&server.save(), ActorId::from(b"server".as_slice())).unwrap();
    let before = merged.heads();
    merged.merge(phone).unwrap();
    let hashes: Vec<_> = merged.automerge().get_changes(&before).iter().map(|c| c.hash()).collect();
    merged.check().map_err(|e| format!("schema: {e}"))?;
    let writes = writes_of(&merged, &hashes).map_err(|k| format!("not a root write: {k}"))?;
    check_upload(Role::Cadre, user, &writes, &merged).map_err(|b| b.key)?;
    Ok(merged)
}

fn s(v: &str) -> Option<Scalar> {
    Some(Scalar::Str(v.to_owned()))
}

#[test]
fn a_cadre_records_a_visit_and_resubmits_it() {
    let server = stored();
    let mut c1 = phone(&server);
    let stamp = Stamp::new("c1", "李明", 1_795_100_000);
    c1.edit(&stamp, |h| {
        let v = h.visits.get_mut(P).unwrap();
        v.income.wage = Some(4200);
        v.visitors.insert("c1".into(), "李明".into());
        v.add_review(ReviewAction::Resubmit, "c1", "李明", 1_795_100_000, "已核实");
        h.facts.address = "1栋101室".into();
    })
    .unwrap();
    let merged = upload(&server, &mut c1, "c1").unwrap();
    assert_eq!(merged.household().unwrap().visits[P].review, Some(ReviewStatus::Pending));
}

#[test]
fn a_cadre_cannot_approve_forge_a_step_move_the_household_or_delete_a_return() {
    let server = stored();
    let forgeries: [&[(&str, Option<Scalar>)]; 8] = [
        &[("v/2026-11/review", s("approved"))],
        &[("v/2026-11/review", None)],
        &[("f/site", s("光禄新村"))],
        &[("f/county", None)],
        &[("f/registry_no", s("H9"))],
        &[(&format!("v/{P}/rv/{SUP_STEP}/text"), None)],
        &[("v/2026-11/by/sup01", s("赵主任"))],
        &[
            ("v/2026-11/rv/1795200000-sup02/act", s("approve")),
            ("v/2026-11/rv/1795200000-sup02/by", s("sup02")),
            ("v/2026-11/rv/1795200000-sup02/at", Some(Scalar::Int(1_795_200_000))),
        ],
    ];
    for ops in forgeries {
        let mut c1 = phone(&server);
        change(&mut c1, ops);
        assert!(upload(&server, &mut c1, "c1").is_err(), "{ops:?} was accepted");
    }
    // Signing one's own step as a resubmission, but rewriting the supervisor's text.
    let mut c1 = phone(&server);
    change(
        &mut c1,
        &[(&format!("v/{P}/rv/{SUP_STEP}/act"), s("resubmit")), (&format!("v/{P}/rv/{SUP_STEP}/by"), s("c1"))],
    );
    assert!(upload(&server, &mut c1, "c1").is_err(), "a supervisor's step was taken over");
    // A step of one's own that says it was someone else's.
    let mut c1 = phone(&server);
    change(
        &mut c1,
        &[("v/2026-11/rv/1795200000-c1/act", s("resubmit")), ("v/2026-11/rv/1795200000-c1/by", s("sup01"))],
    );
    assert!(upload(&server, &mut c1, "c1").is_err(), "a step signed by another");
}

#[test]
fn an_admin_may_move_a_household() {
    let server = stored();
    let mut admin = phone(&server);
    change(&mut admin, &[("f/site", s("光禄新村"))]);
    let mut merged = HouseholdDoc::load(&server.save(), ActorId::random()).unwrap();
    let before = merged.heads();
    merged.merge(&mut admin).unwrap();
    let hashes: Vec<_> = merged.automerge().get_changes(&before).iter().map(|c| c.hash()).collect();
    let writes = writes_of(&merged, &hashes).unwrap();
    assert_eq!(writes, [Write { key: "f/site".into(), value: s("光禄新村"), overwrites: true, replaced: Vec::new() }]);
    assert!(check_upload(Role::Admin, "admin", &writes, &merged).is_ok());
    assert!(check_upload(Role::Supervisor, "sup01", &writes, &merged).is_err());
}

#[test]
fn every_group_has_one_rule_and_keys_fall_in_the_right_group() {
    for r in &RULES {
        assert_eq!(rule(r.group).keys, r.keys);
    }
    assert_eq!(group("schema"), FieldGroup::Identity);
    assert_eq!(group("f/grid"), FieldGroup::Place);
    assert_eq!(group("f/address"), FieldGroup::Record);
    assert_eq!(group("v/2026-11/review"), FieldGroup::ReviewStatus);
    assert_eq!(group("v/2026-11/rv/1-c1/act"), FieldGroup::ReviewStep);
    assert_eq!(group("v/2026-11/by/c1"), FieldGroup::Visitor);
    assert_eq!(group("v/2026-11/e/a/status"), FieldGroup::Record);
    assert_eq!(group("m/a/name"), FieldGroup::Record);
    assert!(may_write(Role::Cadre, "c1", "v/2026-11/by/c1", s("李明").as_ref()));
    assert!(!may_write(Role::Cadre, "c1", "v/2026-11/by/c10", s("李明").as_ref()));
    assert_eq!(group("v/2026-11/a/abc/sha256"), FieldGroup::Attachment);
    assert!(may_write(Role::Cadre, "c1", "v/2026-11/a/abc/by", s("c1").as_ref()));
    assert!(!may_write(Role::Cadre, "c1", "v/2026-11/a/abc/by", s("c2").as_ref()));
    assert!(may_write(Role::Cadre, "c1", "v/2026-11/a/abc/removed", None));
    assert!(!may_write(Role::Cadre, "c1", "v/2026-11/a/abc/sha256", None));
}

/// Keys a forger aims at, and values to put there.
fn key() -> impl Strategy<Value = String> {
    let entries = prop::sample::select(vec![SUP_STEP, "1795000000-c1", "1795300000-sup02", "9-c1"]);
    let fields = prop::sample::select(vec!["act", "by", "name", "text", "at"]);
    prop_oneof![
        prop::sample::select(vec!["v/2026-11/review", "f/site", "f/county", "f/grid", "f/township", "f/address"])
            .prop_map(str::to_owned),
        (entries, fields).prop_map(|(e, f)| format!("v/{P}/rv/{e}/{f}")),
        prop::sample::select(vec!["c1", "sup01"]).prop_map(|u| format!("v/{P}/by/{u}")),
    ]
}

fn value() -> impl Strategy<Value = Option<Scalar>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "approved",
            "returned",
            "pending",
            "approve",
            "return",
            "resubmit",
            "c1",
            "sup01",
            "光禄新村"
        ])
        .prop_map(s),
        Just(Some(Scalar::Int(1_795_300_000))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Uploads of up to six forged changes of up to four writes each, each upload
    /// refused (the phone then starts again from the server's copy) or accepted: the
    /// visit is never approved, the household never moves and the supervisor's step
    /// never changes.
    #[test]
    fn no_cadre_upload_approves_moves_or_rewrites_a_step(
        uploads in prop::collection::vec(prop::collection::vec(prop::collection::vec((key(), value()), 1..4), 1..3), 1..6)
    ) {
        let original = stored();
        let mut server = stored();
        let snapshot = |doc: &HouseholdDoc, key: &str| {
            let mut values: Vec<String> =
                doc.automerge().get_all(ROOT, key).unwrap().into_iter().map(|(v, _)| v.to_string()).collect();
            values.sort();
            values
        };
        for upload_changes in uploads {
            let mut c1 = phone(&server);
            for ops in &upload_changes {
                let ops: Vec<(&str, Option<Scalar>)> = ops.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                change(&mut c1, &ops);
            }
            if let Ok(merged) = upload(&server, &mut c1, "c1") {
                server = merged;
            }
            for key in ["f/site", "f/county", "f/grid", "f/township"] {
                prop_assert_eq!(snapshot(&server, key), snapshot(&original, key), "{} moved", key);
            }
            for field in ["act", "by", "name", "text", "at"] {
                let key = format!("v/{P}/rv/{SUP_STEP}/{field}");
                prop_assert_eq!(snapshot(&server, &key), snapshot(&original, &key), "{} changed", key);
            }
            let review = snapshot(&server, "v/2026-11/review");
            prop_assert!(!review.iter().any(|v| v.contains("approved")), "approved: {:?}", review);
            let household = server.household().unwrap();
            for step in household.visits[P].reviews.values() {
                prop_assert!(step.by == "sup01" || step.action == Some(ReviewAction::Resubmit), "{:?}", step);
            }
        }
    }
}
