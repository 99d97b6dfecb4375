//! Property tests of the merge: random edits by 2–4 offline actors, merged in every
//! order, converge; merging is idempotent; edits to different fields or members are
//! never lost; same-field edits surface as conflicts; save/load round-trips.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use shared::automerge::ActorId;
use shared::fields::{self, Scalar};
use shared::*;

const CASES: u32 = 300;
const PERIODS: [&str; 2] = ["2026-10", "2026-11"];
const BASE_MEMBERS: [&str; 2] = ["m0", "m1"];
const WORDS: [&str; 3] = ["甲", "乙", "丙"];

/// One saved screen by one actor.
#[derive(Debug, Clone)]
enum Edit {
    Fact(usize, usize),
    AddMember(u8),
    MemberName(usize, usize),
    Status(usize, usize, usize),
    Income(usize, usize, i64),
    Note(usize, usize),
}

#[derive(Debug, Clone)]
enum Step {
    Edit(usize, Edit),
    /// `to` receives everything `from` has.
    Sync {
        from: usize,
        to: usize,
    },
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..3usize, 0..3usize).prop_map(|(f, w)| Edit::Fact(f, w)),
        (0..4u8).prop_map(Edit::AddMember),
        (0..2usize, 0..3usize).prop_map(|(m, w)| Edit::MemberName(m, w)),
        (0..2usize, 0..2usize, 0..3usize).prop_map(|(p, m, s)| Edit::Status(p, m, s)),
        (0..2usize, 0..5usize, 0..3i64).prop_map(|(p, c, a)| Edit::Income(p, c, a * 500)),
        (0..2usize, 0..3usize).prop_map(|(p, w)| Edit::Note(p, w)),
    ]
}

fn apply(h: &mut Household, actor: usize, edit: &Edit) {
    match *edit {
        Edit::Fact(f, w) => {
            let slot = match f {
                0 => &mut h.facts.address,
                1 => &mut h.facts.grid,
                _ => &mut h.facts.origin_village,
            };
            *slot = WORDS[w].to_owned();
        }
        Edit::AddMember(k) => {
            h.members.entry(format!("a{actor}x{k}")).or_insert_with(|| Member {
                name: format!("新成员{actor}-{k}"),
                labour: Some(LabourCapacity::Full),
                ..Default::default()
            });
        }
        Edit::MemberName(m, w) => {
            h.members.entry(BASE_MEMBERS[m].to_owned()).or_default().name = WORDS[w].to_owned();
        }
        Edit::Status(p, m, s) => {
            let visit = h.visits.entry(PERIODS[p].to_owned()).or_default();
            visit.mode = Some(VisitMode::InPerson);
            visit.employment.entry(BASE_MEMBERS[m].to_owned()).or_default().status = Some(EmploymentStatus::ALL[s]);
        }
        Edit::Income(p, c, amount) => {
            let visit = h.visits.entry(PERIODS[p].to_owned()).or_default();
            *visit.income.slot(IncomeComponent::ALL[c]) = Some(amount);
        }
        Edit::Note(p, w) => {
            h.visits.entry(PERIODS[p].to_owned()).or_default().note = WORDS[w].to_owned();
        }
    }
}

struct Actor {
    doc: HouseholdDoc,
    stamp: Stamp,
    /// Every key this actor wrote, with the last value it wrote (`None`: deleted).
    wrote: BTreeMap<String, Option<Scalar>>,
    added: BTreeSet<String>,
}

fn base() -> Vec<u8> {
    let stamp = Stamp::new("admin", "管理员", 1);
    let mut doc = HouseholdDoc::create("H1", ActorId::from(vec![0xAA; 16]), &stamp).unwrap();
    doc.edit(&stamp, |h| {
        for id in BASE_MEMBERS {
            h.members.insert(
                id.into(),
                Member { name: id.into(), labour: Some(LabourCapacity::Full), ..Default::default() },
            );
        }
    })
    .unwrap();
    doc.save()
}

fn actors(n: usize) -> Vec<Actor> {
    let bytes = base();
    (0..n)
        .map(|i| Actor {
            doc: HouseholdDoc::load(&bytes, ActorId::from(vec![i as u8 + 1; 16])).unwrap(),
            stamp: Stamp::new(format!("u{i}"), format!("干部{i}"), 1000 + i as i64),
            wrote: BTreeMap::new(),
            added: BTreeSet::new(),
        })
        .collect()
}

fn run(actors: &mut [Actor], steps: &[Step]) {
    for step in steps {
        match step {
            Step::Edit(i, edit) => {
                let a = &mut actors[*i];
                let before = a.doc.fields().unwrap();
                a.doc.edit(&a.stamp, |h| apply(h, *i, edit)).unwrap();
                let after = a.doc.fields().unwrap();
                for (k, v) in &after {
                    if before.get(k) != Some(v) {
                        a.wrote.insert(k.clone(), Some(v.clone()));
                    }
                }
                for k in before.keys().filter(|k| !after.contains_key(*k)) {
                    a.wrote.insert(k.clone(), None);
                }
                if let Edit::AddMember(k) = edit {
                    a.added.insert(format!("a{i}x{k}"));
                }
            }
            Step::Sync { from, to } => {
                if from != to {
                    let mut incoming = actors[*from].doc.clone();
                    actors[*to].doc.merge(&mut incoming).unwrap();
                }
            }
        }
    }
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 1 {
        return vec![vec![0]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

/// Merges every actor's document in every order; asserts all orders agree and returns one.
fn merge_all_orders(actors: &[Actor]) -> HouseholdDoc {
    let mut results: Vec<HouseholdDoc> = Vec::new();
    for order in permutations(actors.len()) {
        let mut doc = actors[order[0]].doc.clone();
        for &i in &order[1..] {
            doc.merge(&mut actors[i].doc.clone()).unwrap();
        }
        results.push(doc);
    }
    let first = &results[0];
    let mut heads = first.heads();
    heads.sort();
    for other in &results[1..] {
        let mut h = other.heads();
        h.sort();
        assert_eq!(h, heads, "heads differ between merge orders");
        assert_eq!(other.fields().unwrap(), first.fields().unwrap(), "values differ between merge orders");
        assert_eq!(other.conflicts().unwrap(), first.conflicts().unwrap(), "conflicts differ between merge orders");
    }
    results.swap_remove(0)
}

fn assert_idempotent(merged: &HouseholdDoc, actors: &[Actor]) {
    let mut again = merged.clone();
    again.merge(&mut merged.clone()).unwrap();
    for a in actors {
        again.merge(&mut a.doc.clone()).unwrap();
    }
    assert_eq!(again.heads(), merged.heads());
    assert_eq!(again.fields().unwrap(), merged.fields().unwrap());
    assert_eq!(again.save(), merged.save());
}

fn assert_no_member_lost(merged: &HouseholdDoc, actors: &[Actor]) {
    let h = merged.household().unwrap();
    for id in BASE_MEMBERS.iter().map(|s| s.to_string()).chain(actors.iter().flat_map(|a| a.added.iter().cloned())) {
        assert!(h.members.contains_key(&id), "member {id} lost");
    }
}

/// Keys written by exactly one actor end with that actor's last value.
fn assert_sole_writers_kept(merged: &HouseholdDoc, actors: &[Actor]) {
    let fields = merged.fields().unwrap();
    for (i, a) in actors.iter().enumerate() {
        for (key, value) in &a.wrote {
            let others = actors.iter().enumerate().any(|(j, b)| j != i && b.wrote.contains_key(key));
            if !others {
                assert_eq!(fields.get(key), value.as_ref(), "edit to {key} by actor {i} lost");
            }
        }
    }
}

fn steps_strategy(with_syncs: bool) -> impl Strategy<Value = (usize, Vec<Step>)> {
    (2..=4usize).prop_flat_map(move |n| {
        let edit = (0..n, edit_strategy()).prop_map(|(i, e)| Step::Edit(i, e));
        let step = if with_syncs {
            prop_oneof![3 => edit, 1 => (0..n, 0..n).prop_map(|(from, to)| Step::Sync { from, to })].boxed()
        } else {
            edit.boxed()
        };
        (Just(n), prop::collection::vec(step, 1..24))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    /// Offline from a common base, then merged: every order gives the same document;
    /// a field one actor edited keeps that edit; a field several actors set to
    /// different values is listed as a conflict with exactly those values and authors.
    #[test]
    fn offline_edits_merge_and_clashes_surface((n, steps) in steps_strategy(false)) {
        let mut actors = actors(n);
        run(&mut actors, &steps);
        let merged = merge_all_orders(&actors);
        assert_idempotent(&merged, &actors);
        assert_no_member_lost(&merged, &actors);
        assert_sole_writers_kept(&merged, &actors);

        let conflicts: BTreeMap<String, Conflict> =
            merged.conflicts().unwrap().into_iter().map(|c| (c.key.clone(), c)).collect();
        let mut keys: BTreeSet<&String> = BTreeSet::new();
        for a in &actors {
            keys.extend(a.wrote.keys());
        }
        for key in keys {
            let finals: BTreeMap<usize, Scalar> = actors
                .iter()
                .enumerate()
                .filter_map(|(i, a)| a.wrote.get(key).cloned().flatten().map(|v| (i, v)))
                .collect();
            let distinct: BTreeSet<&Scalar> = finals.values().collect();
            if distinct.len() > 1 {
                let c = conflicts.get(key).unwrap_or_else(|| panic!("clash on {key} not listed"));
                let listed: BTreeSet<(String, Scalar)> = c
                    .values
                    .iter()
                    .map(|v| (v.author.clone().unwrap().user, v.value.clone()))
                    .collect();
                let expected: BTreeSet<(String, Scalar)> =
                    finals.iter().map(|(i, v)| (format!("u{i}"), v.clone())).collect();
                prop_assert_eq!(listed, expected);
            } else {
                prop_assert!(!conflicts.contains_key(key), "{} listed without a clash", key);
            }
        }
    }

    /// Edits interleaved with partial syncs between actors still converge, idempotently,
    /// with no member and no sole-writer edit lost.
    #[test]
    fn interleaved_syncs_converge((n, steps) in steps_strategy(true)) {
        let mut actors = actors(n);
        run(&mut actors, &steps);
        let merged = merge_all_orders(&actors);
        assert_idempotent(&merged, &actors);
        assert_no_member_lost(&merged, &actors);
        assert_sole_writers_kept(&merged, &actors);
        prop_assert!(merged.check().is_ok());
    }

    /// Any household written into a document, saved and loaded reads back the same.
    #[test]
    fn save_load_round_trips(h in household_strategy()) {
        let stamp = Stamp::new("u0", "干部", 5);
        let mut doc = HouseholdDoc::empty(ActorId::from(vec![9; 16]));
        doc.edit(&stamp, |target| *target = h.clone()).unwrap();
        let loaded = HouseholdDoc::load(&doc.save(), ActorId::from(vec![8; 16])).unwrap();
        let canonical = fields::decode(fields::encode(&h).unwrap()).unwrap();
        prop_assert_eq!(loaded.check().unwrap(), canonical.clone());
        prop_assert_eq!(fields::encode(&canonical).unwrap(), fields::encode(&h).unwrap());
        prop_assert_eq!(loaded.heads(), doc.heads());
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-z0-9 ]{1,12}", "[王李张刘陈杨]{1,3}"]
}

fn opt<T: Coded + std::fmt::Debug>() -> impl Strategy<Value = Option<T>> {
    prop::option::of(prop::sample::select(T::ALL))
}

fn date() -> impl Strategy<Value = Option<Date>> {
    prop::option::of((1930u16..2026, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap()))
}

fn amount() -> impl Strategy<Value = Option<i64>> {
    prop::option::of(-1000i64..100_000)
}

fn member_strategy() -> impl Strategy<Value = Member> {
    (
        text(),
        opt::<Sex>(),
        date(),
        opt::<Relation>(),
        "[0-9]{17}[0-9X]",
        opt::<LabourCapacity>(),
        any::<[bool; 5]>(),
        (opt::<MemberStatus>(), text(), opt::<MemberChange>(), date()),
    )
        .prop_map(
            |(name, sex, birth_date, relation, id_number, labour, flags, (status, phone, change, changed_on))| Member {
                name,
                sex,
                birth_date,
                relation,
                id_number,
                labour,
                in_school: flags[0],
                disabled: flags[1],
                serious_illness: flags[2],
                college_graduate: flags[3],
                vulnerable: flags[4],
                status,
                phone,
                change,
                changed_on,
            },
        )
}

fn employment_strategy() -> impl Strategy<Value = Employment> {
    (
        (opt::<EmploymentStatus>(), opt::<Channel>(), text(), opt::<PlaceScope>(), text(), text()),
        (amount(), any::<[Option<bool>; 4]>(), text()),
    )
        .prop_map(
            |((status, channel, industry, place_scope, place, employer), (monthly_income, b, training_wish))| {
                Employment {
                    status,
                    channel,
                    industry,
                    place_scope,
                    place,
                    employer,
                    monthly_income,
                    organised: b[0],
                    returned: b[1],
                    wants_training: b[2],
                    training_wish,
                    trained: b[3],
                }
            },
        )
}

fn visit_strategy() -> impl Strategy<Value = Visit> {
    (
        (date(), opt::<VisitMode>(), prop::collection::btree_map("[a-z0-9]{1,6}", "[王李]{1,2}", 0..3)),
        prop::collection::btree_map("[a-z0-9]{1,4}", employment_strategy(), 0..4),
        ([amount(), amount(), amount(), amount(), amount()], any::<[Option<bool>; 5]>()),
        (
            prop::collection::btree_set(prop::sample::select(RiskSignal::ALL), 0..3),
            text(),
            opt::<AbsentReason>(),
            prop::collection::btree_map(prop::sample::select(Expense::ALL), 0..100_000i64, 0..3),
        ),
        (
            prop::collection::btree_map(
                prop::sample::select(HelpKind::ALL),
                prop::sample::select(HelpState::ALL),
                0..3,
            ),
            text(),
            text(),
        ),
        (
            opt::<ReviewStatus>(),
            prop::collection::btree_map("[0-9]{1,10}-[a-z0-9]{1,6}", review_strategy(), 0..3),
            prop::collection::vec(attachment_strategy(), 0..3),
            location_strategy(),
        ),
    )
        .prop_map(
            |(
                (date, mode, visitors),
                employment,
                (inc, g),
                (risks, risk_note, absent_reason, expenses),
                (help, help_note, note),
                (review, reviews, attachments, location),
            )| {
                Visit {
                    date,
                    mode,
                    absent_reason,
                    visitors,
                    employment,
                    income: Income {
                        wage: inc[0],
                        operating: inc[1],
                        property: inc[2],
                        transfer: inc[3],
                        costs: inc[4],
                    },
                    guarantees: Guarantees {
                        food_clothing: g[0],
                        schooling: g[1],
                        medical: g[2],
                        housing: g[3],
                        water: g[4],
                    },
                    risks,
                    expenses,
                    risk_note,
                    help,
                    help_note,
                    note,
                    review,
                    reviews,
                    attachments: attachments
                        .into_iter()
                        .map(|a| (shared::evidence::entry_of(&a.sha256).to_owned(), a))
                        .collect(),
                    location,
                }
            },
        )
}

/// 走访佐证: a photo's or signature's reference, as the phone writes it.
fn attachment_strategy() -> impl Strategy<Value = shared::evidence::Attachment> {
    use shared::evidence::{Attachment, EvidenceKind, MediaType};
    (
        ("[0-9a-f]{64}", prop::option::of("[0-9a-f]{64}")),
        (opt::<EvidenceKind>(), opt::<MediaType>(), prop::option::of(1i64..=524_288)),
        (text(), "[a-z0-9]{0,6}", prop::option::of(0i64..4_000_000_000), any::<bool>()),
    )
        .prop_map(|((sha256, thumb), (kind, media, size), (caption, by, at, removed))| Attachment {
            sha256,
            thumb: thumb.unwrap_or_default(),
            kind,
            media,
            size,
            caption,
            by,
            at,
            removed,
        })
}

fn location_strategy() -> impl Strategy<Value = shared::evidence::Location> {
    (
        prop::option::of(-90_000_000i64..=90_000_000),
        prop::option::of(-180_000_000i64..=180_000_000),
        prop::option::of(0i64..=1_000_000),
        prop::option::of(0i64..4_000_000_000),
    )
        .prop_map(|(lat, lon, accuracy, at)| shared::evidence::Location { lat, lon, accuracy, at })
}

fn review_strategy() -> impl Strategy<Value = Review> {
    (opt::<ReviewAction>(), "[a-z0-9]{1,6}", text(), 0i64..4_000_000_000, text())
        .prop_map(|(action, by, name, at, comment)| Review { action, by, name, at, comment })
}

fn household_strategy() -> impl Strategy<Value = Household> {
    let facts = (
        ("[0-9]{6,12}", text(), text(), text(), text(), text()),
        (
            prop::option::of(1990i64..2026),
            opt::<Placement>(),
            opt::<PlacementArea>(),
            opt::<Category>(),
            opt::<Monitoring>(),
            any::<[bool; 2]>(),
        ),
    )
        .prop_map(
            |(
                (registry_no, address, site, grid, origin_township, origin_village),
                (relocated_year, placement, placement_area, category, monitoring, b),
            )| Facts {
                registry_no,
                address,
                county: "姚安县".into(),
                township: String::new(),
                site,
                grid,
                origin_township,
                origin_village,
                relocated_year,
                placement,
                placement_area,
                category,
                monitoring,
                dibao: b[0],
                tekun: b[1],
            },
        );
    let period = (2020u16..2027, 1u8..=12).prop_map(|(y, m)| Period::new(y, m).unwrap().to_string());
    (
        facts,
        prop::collection::btree_map("[a-z0-9]{1,6}", member_strategy(), 0..6),
        prop::collection::btree_map(period, visit_strategy(), 0..4),
    )
        .prop_map(|(facts, members, visits)| Household { facts, members, visits, ..Default::default() })
}
