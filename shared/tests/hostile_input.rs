//! Hostile input to the pure core (issue 8): arbitrary and mutated bytes fed to the
//! wire decoders, the document loader and the sync receiver, and documents that decode
//! but break the layout. Nothing may panic or hang, and every refusal is a named error.
//!
//! cargo-fuzz needs nightly, so these are property tests over arbitrary bytes instead:
//! deterministic (fixed seeds), bounded, part of `cargo test`. Mutated inputs have their
//! Automerge chunk checksums recomputed (a hostile client can do that too), so the
//! mutations reach the column decoders instead of stopping at the checksum. Each
//! property prints how many cases it ran.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
#![allow(clippy::result_large_err)] // proptest's TestCaseError is what it is

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use shared::automerge::sync::{BloomFilter, ChunkList, Have, Message, MessageFlags, MessageVersion, State};
use shared::automerge::transaction::Transactable;
use shared::automerge::{ActorId, Automerge, ChangeHash, ObjType, ROOT, ScalarValue};
use shared::fields::{
    self, MAX_AMOUNT, MAX_MEMBERS, MAX_REVIEW_STEPS, MAX_TEXT_CHARS, MAX_UNIX_SECONDS, MAX_VISITORS, MAX_VISITS, Scalar,
};
use shared::indicators::{Indicators, Summary};
use shared::wire::{self, Incoming, Outgoing, Refusal, Reply};
use shared::*;

/// Runs `test` on `cases` values of `strategy` with a fixed seed, prints how many cases
/// ran and how long they took, and fails with proptest's minimal failing input.
fn property<S: Strategy>(name: &str, cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let config = Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x4855_4855_4a49_414e),
        max_shrink_iters: 2000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let count = AtomicU64::new(0);
    let started = Instant::now();
    let result = runner.run(&strategy, |value| {
        count.fetch_add(1, Ordering::Relaxed);
        test(value)
    });
    eprintln!("property {name}: {} cases in {:.2?}", count.load(Ordering::Relaxed), started.elapsed());
    if let Err(e) = result {
        panic!("property {name} failed: {e}");
    }
}

/// Silences the panic messages of panics raised inside automerge (and hexane, its
/// column library), which these tests provoke by the thousand and catch; every other
/// panic is reported as usual. Set `HOSTILE_VERBOSE=1` to see them all.
fn quiet_automerge_panics() {
    if std::env::var_os("HOSTILE_VERBOSE").is_some() {
        return;
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let file = info.location().map(|l| l.file()).unwrap_or_default();
            if !(file.contains("/automerge-") || file.contains("/hexane-")) {
                default(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic into `None`.
fn no_panic<T>(f: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

fn today() -> Date {
    Date::new(2026, 11, 15).unwrap()
}

fn actor(n: u8) -> ActorId {
    ActorId::from(vec![n; 16])
}

// --- byte mutations -------------------------------------------------------------------

/// One edit of a byte string; positions are taken modulo the length.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    /// Overwrites with a ULEB128 number claiming 2^20 (a length, a count, a run). Far
    /// beyond every input here, yet not 2^32: automerge 0.12 materialises a run of the
    /// claimed length in a document chunk, which for 2^32 takes 40 s and 16 GB (see
    /// `claimed_run_lengths_in_a_document_chunk_cost_automerge_time_and_memory`).
    Big(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        3 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => any::<usize>().prop_map(Mutation::Delete),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => any::<usize>().prop_map(Mutation::Big),
    ]
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    vec(mutation(), 1..5)
}

fn mutate(bytes: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        let n = bytes.len();
        match *m {
            Mutation::Insert(i, b) => bytes.insert(i % (n + 1), b),
            Mutation::Truncate(i) => bytes.truncate(i % (n + 1)),
            _ if n == 0 => {}
            Mutation::Flip(i, bit) => bytes[i % n] ^= 1 << (bit % 8),
            Mutation::Set(i, b) => bytes[i % n] = b,
            Mutation::Delete(i) => {
                bytes.remove(i % n);
            }
            Mutation::Big(i) => {
                let at = i % n;
                let end = (at + 3).min(n);
                bytes.splice(at..end, [0x80, 0x80, 0x40]);
            }
        }
    }
}

fn put_uleb(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_uleb(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

// --- Automerge chunks -----------------------------------------------------------------

const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// SHA-256 (FIPS 180-4), to recompute the checksum of a mutated Automerge chunk.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for (k, wi) in K.iter().zip(w) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(*k).wrapping_add(wi);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (o, x) in out.chunks_exact_mut(4).zip(h) {
        o.copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// An Automerge chunk with a correct checksum: magic, checksum, type, length, data.
fn seal(chunk_type: u8, data: &[u8]) -> Vec<u8> {
    let mut header = vec![chunk_type];
    put_uleb(&mut header, data.len() as u64);
    let mut hashed = header.clone();
    hashed.extend_from_slice(data);
    let mut out = CHUNK_MAGIC.to_vec();
    out.extend_from_slice(&sha256(&hashed)[..4]);
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out
}

/// Splits a well-formed chunk into its type, its data and what follows it.
fn unseal(chunk: &[u8]) -> (u8, Vec<u8>, &[u8]) {
    assert_eq!(chunk[..4], CHUNK_MAGIC, "not an Automerge chunk");
    let mut pos = 9;
    let len = read_uleb(chunk, &mut pos).unwrap() as usize;
    (chunk[8], chunk[pos..pos + len].to_vec(), &chunk[pos + len..])
}

/// Mutates the data of the first chunk in `bytes` and, when `reseal`, gives it a
/// correct checksum again.
fn mutate_chunk(bytes: &[u8], mutations: &[Mutation], reseal: bool) -> Vec<u8> {
    if reseal {
        let (chunk_type, mut data, rest) = unseal(bytes);
        mutate(&mut data, mutations);
        [seal(chunk_type, &data).as_slice(), rest].concat()
    } else {
        let mut raw = bytes.to_vec();
        mutate(&mut raw, mutations);
        raw
    }
}

// --- sample documents and messages ----------------------------------------------------

fn full_household() -> Household {
    let mut h = Household::default();
    let f = &mut h.facts;
    f.registry_no = "5223010001".into();
    for (i, slot) in [
        &mut f.address,
        &mut f.county,
        &mut f.township,
        &mut f.site,
        &mut f.grid,
        &mut f.origin_township,
        &mut f.origin_village,
    ]
    .into_iter()
    .enumerate()
    {
        *slot = format!("地{i}");
    }
    f.relocated_year = Some(2018);
    f.placement = Some(Placement::ALL[0]);
    f.placement_area = Some(PlacementArea::ALL[0]);
    f.category = Some(Category::ALL[0]);
    f.monitoring = Some(Monitoring::ALL[0]);
    f.dibao = true;
    f.tekun = true;
    let member = Member {
        name: "王芳".into(),
        sex: Some(Sex::ALL[0]),
        birth_date: Some("1980-05-01".parse().unwrap()),
        relation: Some(Relation::ALL[0]),
        id_number: "11010519491231002X".into(),
        labour: Some(LabourCapacity::ALL[0]),
        in_school: true,
        disabled: true,
        serious_illness: true,
        college_graduate: true,
        vulnerable: true,
        status: Some(MemberStatus::ALL[0]),
        phone: "13912345678".into(),
        change: Some(MemberChange::ALL[0]),
        changed_on: Some("2026-10-02".parse().unwrap()),
    };
    h.members.insert("k1".into(), member);
    let mut v = Visit {
        date: Some("2026-11-03".parse().unwrap()),
        mode: Some(VisitMode::ALL[0]),
        risk_note: "风险".into(),
        help_note: "帮扶".into(),
        note: "备注".into(),
        ..Default::default()
    };
    v.visitors.insert("cadre01".into(), "李明".into());
    v.employment.insert(
        "k1".into(),
        Employment {
            status: Some(EmploymentStatus::ALL[0]),
            channel: Some(Channel::ALL[0]),
            industry: "建筑".into(),
            place_scope: Some(PlaceScope::ALL[0]),
            place: "昆明".into(),
            employer: "某公司".into(),
            monthly_income: Some(3200),
            organised: Some(true),
            returned: Some(false),
            wants_training: Some(true),
            training_wish: "电工".into(),
            trained: Some(false),
        },
    );
    for c in IncomeComponent::ALL {
        *v.income.slot(*c) = Some(100);
    }
    for g in Guarantee::ALL {
        *v.guarantees.slot(*g) = Some(true);
    }
    v.risks.extend(RiskSignal::ALL.iter().copied());
    for k in HelpKind::ALL {
        v.help.insert(*k, HelpState::ALL[0]);
    }
    v.add_review(ReviewAction::Return, "sup01", "赵督导", 1_795_000_000, "工资有误");
    h.visits.insert("2026-11".into(), v);
    h
}

/// A household's document with history: two actors, an edit, a deletion and a
/// conflict, so its columns hold strings, ints, bools, deletes and several actors.
fn sample_doc() -> HouseholdDoc {
    let a = Stamp::new("cadre01", "李明", 1_795_000_000);
    let b = Stamp::new("cadre02", "张华", 1_795_000_100);
    let mut doc = HouseholdDoc::create("5223010001", actor(1), &a).unwrap();
    doc.edit(&a, |h| *h = full_household()).unwrap();
    let mut other = HouseholdDoc::load(&doc.save(), actor(2)).unwrap();
    doc.edit(&a, |h| h.facts.address = "1栋101".into()).unwrap();
    other.edit(&b, |h| h.facts.address = "1栋102".into()).unwrap();
    other.edit(&b, |h| h.visits.get_mut("2026-11").unwrap().note.clear()).unwrap();
    doc.merge(&mut other).unwrap();
    doc
}

/// Every message of a full sync between `a` and `b`, both ways.
fn exchange(a: &mut HouseholdDoc, b: &mut HouseholdDoc) -> Vec<Vec<u8>> {
    let (mut sa, mut sb) = (State::new(), State::new());
    let mut messages = Vec::new();
    for _ in 0..20 {
        let to_b = a.sync_message(&mut sa);
        if let Some(m) = &to_b {
            b.receive_sync_message(&mut sb, m).unwrap();
            messages.push(m.clone());
        }
        let to_a = b.sync_message(&mut sb);
        if let Some(m) = &to_a {
            a.receive_sync_message(&mut sa, m).unwrap();
            messages.push(m.clone());
        }
        if to_b.is_none() && to_a.is_none() {
            break;
        }
    }
    assert_eq!(a.heads(), b.heads());
    messages
}

struct Corpus {
    /// The server's document.
    server: HouseholdDoc,
    /// A persisted sync state of the server for a phone that is in sync.
    state: Vec<u8>,
    /// Real sync messages (V1 with change lists, V2 with a whole document).
    messages: Vec<Vec<u8>>,
    /// Real change chunks.
    changes: Vec<Vec<u8>>,
    /// Real change hashes.
    hashes: Vec<ChangeHash>,
    /// Saved documents.
    saved: Vec<Vec<u8>>,
}

fn corpus() -> Corpus {
    let server = sample_doc();
    let mut messages = Vec::new();
    // A fresh phone downloading everything.
    let mut copy = server.clone();
    let mut phone = HouseholdDoc::empty(actor(3));
    messages.extend(exchange(&mut phone, &mut copy));
    // A phone with its own offline edits against a server with others.
    let mut phone = HouseholdDoc::load(&server.save(), actor(4)).unwrap();
    let mut copy = server.clone();
    phone.edit(&Stamp::new("cadre01", "李明", 1_795_100_000), |h| h.facts.grid = "3栋".into()).unwrap();
    copy.edit(&Stamp::new("sup01", "赵督导", 1_795_100_001), |h| {
        h.visits.get_mut("2026-11").unwrap().review = Some(ReviewStatus::ALL[0]);
    })
    .unwrap();
    messages.extend(exchange(&mut phone, &mut copy));
    let mut state = State::new();
    let mut s = copy.clone();
    let mut p = phone.clone();
    let mut ps = State::new();
    for _ in 0..10 {
        let m1 = p.sync_message(&mut ps);
        if let Some(m) = &m1 {
            s.receive_sync_message(&mut state, m).unwrap();
        }
        let m2 = s.sync_message(&mut state);
        if let Some(m) = &m2 {
            p.receive_sync_message(&mut ps, m).unwrap();
        }
        if m1.is_none() && m2.is_none() {
            break;
        }
    }
    let changes: Vec<Vec<u8>> = server.automerge().get_changes(&[]).iter().map(|c| c.raw_bytes().to_vec()).collect();
    let hashes = server.automerge().get_changes(&[]).iter().map(|c| c.hash()).collect();
    let mut with_changes = server.save();
    for c in &changes {
        with_changes.extend_from_slice(c);
    }
    let saved = vec![server.save(), copy.save(), Automerge::new().save(), with_changes];
    Corpus { server, state: state.encode(), messages, changes, hashes, saved }
}

/// Everything the server and the app do with a document they have read.
fn exercise(doc: &HouseholdDoc) -> Result<(), TestCaseError> {
    let _ = doc.fields();
    let _ = doc.conflicts();
    let _ = doc.history();
    if let Ok(h) = doc.check() {
        let _ = validate(&h, today());
        let mut total = Indicators::default();
        for key in h.visits.keys() {
            if let Some(p) = period_of(key) {
                total.add(&Summary::of(&h, p, &Settings::default()));
            }
        }
        for key in fields::encode(&h).map(|f| f.into_keys().collect::<Vec<_>>()).unwrap_or_default() {
            let _ = fields::describe(&key, &h, Lang::Zh);
        }
    }
    let saved = doc.save();
    let reloaded = HouseholdDoc::load(&saved, actor(9));
    prop_assert!(reloaded.is_ok(), "a loaded document's own save does not load: {:?}", reloaded.err());
    prop_assert_eq!(reloaded.unwrap().heads(), doc.heads());
    Ok(())
}

/// What the server does with one document's message (server/src/merge.rs `merge`):
/// `load_and_receive` on the stored bytes, and where that declines, load them and
/// `receive_untrusted`. Both are run here, and where the first takes a message it must
/// end as the second does. Then the copy is checked and validated if it changed, and
/// answered. Only those two may catch a panic; nothing after them may panic at all.
/// How many messages `apply_as_server` saw `load_and_receive` take (printed).
static ONE_STEP: AtomicU64 = AtomicU64::new(0);

fn apply_as_server(c: &Corpus, state: Option<&[u8]>, message: &[u8]) -> Result<bool, TestCaseError> {
    let mut state = state.and_then(|b| State::decode(b).ok()).unwrap_or_default();
    let before = c.server.heads();
    let mut one_step_state = state.clone();
    let one_step = wire::load_and_receive(&c.saved[0], &before, actor(9), &mut one_step_state, message);
    let mut merged = c.server.clone();
    let two_steps = wire::receive_untrusted(&mut merged, &mut state, message);
    match (&one_step, &two_steps) {
        (Some((doc, new)), Ok(Some(two_new))) => {
            ONE_STEP.fetch_add(1, Ordering::Relaxed);
            prop_assert_eq!(new, two_new);
            prop_assert_eq!(doc.heads(), merged.heads());
            prop_assert_eq!(&one_step_state, &state);
        }
        (Some(_), other) => {
            return Err(TestCaseError::fail(format!("load_and_receive took a message that gives {other:?}")));
        }
        (None, _) => {}
    }
    if two_steps.is_err() {
        return Ok(false);
    }
    // What the server goes on with.
    let (merged, mut state) = match one_step {
        Some((doc, _)) => (doc, one_step_state),
        None => (merged, state),
    };
    if merged.heads() != before {
        if merged.check().is_err() {
            return Ok(false);
        }
        exercise(&merged)?;
    }
    let _ = merged.sync_message(&mut state);
    let _ = State::decode(&state.encode()).unwrap();
    Ok(true)
}

// --- 1. the wire format ---------------------------------------------------------------

fn valid_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.-]{1,32}"
}

fn requests() -> impl Strategy<Value = Vec<Outgoing>> {
    proptest::collection::btree_map(valid_id(), vec(any::<u8>(), 0..48), 0..5)
        .prop_map(|m| m.into_iter().map(|(doc_id, message)| Outgoing { doc_id, message }).collect())
}

fn responses() -> impl Strategy<Value = Vec<Incoming>> {
    let reply = prop_oneof![
        vec(any::<u8>(), 0..48).prop_map(Reply::Message),
        Just(Reply::InSync),
        (".{0,12}", ".{0,12}", ".{0,12}").prop_map(|(code, zh, en)| Reply::Refused(Refusal { code, zh, en })),
    ];
    proptest::collection::btree_map(valid_id(), reply, 0..5)
        .prop_map(|m| m.into_iter().map(|(doc_id, reply)| Incoming { doc_id, reply }).collect())
}

/// Decodes `bytes` both ways: no panic, and whatever decodes re-encodes to itself.
fn decode_both(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(req) = wire::decode_request(bytes) {
        prop_assert!(req.len() <= wire::MAX_ENTRIES);
        prop_assert_eq!(wire::decode_request(&wire::encode_request(&req)), Ok(req));
    }
    if let Ok(resp) = wire::decode_response(bytes) {
        prop_assert_eq!(wire::decode_response(&wire::encode_response(&resp)), Ok(resp));
    }
    Ok(())
}

#[test]
fn wire_decoders_survive_arbitrary_bytes() {
    let bytes = prop_oneof![
        vec(any::<u8>(), 0..256),
        vec(any::<u8>(), 0..256).prop_map(|b| [b"HHJQ\x01".as_slice(), &b].concat()),
        vec(any::<u8>(), 0..256).prop_map(|b| [b"HHJP\x01".as_slice(), &b].concat()),
    ];
    property("wire: arbitrary bytes", 20_000, bytes, |b| decode_both(&b));
}

#[test]
fn wire_decoders_survive_mutated_encodings() {
    let requests = (requests(), mutations()).prop_map(|(req, m)| {
        let mut body = wire::encode_request(&req);
        assert_eq!(wire::decode_request(&body), Ok(req));
        mutate(&mut body, &m);
        body
    });
    let responses = (responses(), mutations()).prop_map(|(resp, m)| {
        let mut body = wire::encode_response(&resp);
        assert_eq!(wire::decode_response(&body), Ok(resp));
        mutate(&mut body, &m);
        body
    });
    property("wire: mutated encodings", 20_000, prop_oneof![requests, responses], |b| decode_both(&b));
}

/// The peak virtual memory of this process, in kB (Linux), to see that nothing
/// reserved gigabytes, even briefly.
fn vm_peak_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmPeak:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn huge_length_prefixes_fail_fast_without_allocating() {
    let four_gb = [0x80, 0x80, 0x80, 0x80, 0x10]; // 2^32
    let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]; // u64::MAX
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("10 bytes, an id of 4 GB", [b"HHJQ\x01\x01".as_slice(), &four_gb].concat()),
        ("a message of 4 GB", [b"HHJQ\x01\x01\x01a".as_slice(), &four_gb].concat()),
        ("a message of 2^64-1 bytes", [b"HHJQ\x01\x01\x01a".as_slice(), &max].concat()),
        ("a reply of 4 GB", [b"HHJP\x01\x01\x01a\x00".as_slice(), &four_gb].concat()),
        ("20,000 entries in 8 bytes", [b"HHJQ\x01".as_slice(), &[0xa0, 0x9c, 0x01]].concat()),
        ("2^64-1 entries", [b"HHJQ\x01".as_slice(), &max].concat()),
        ("a ULEB128 that never ends", [b"HHJQ\x01".as_slice(), &[0xff; 20]].concat()),
    ];
    assert_eq!(cases[0].1.len(), 11);
    let peak_before = vm_peak_kb();
    for (what, body) in &cases {
        let started = Instant::now();
        for _ in 0..1000 {
            assert!(wire::decode_request(body).is_err(), "{what}: accepted");
            assert!(wire::decode_response(body).is_err(), "{what}: accepted as a response");
        }
        assert!(started.elapsed() < Duration::from_secs(1), "{what}: 1000 decodes took {:?}", started.elapsed());
    }
    assert_eq!(wire::decode_request(&cases[1].1), Err(wire::WireError::Truncated(8)));
    assert_eq!(wire::decode_request(&cases[5].1), Err(wire::WireError::TooMany(u64::MAX)));
    if let (Some(before), Some(after)) = (peak_before, vm_peak_kb()) {
        assert!(after - before < 512 * 1024, "peak virtual memory grew by {} MB", (after - before) / 1024);
    }
    println!("wire: {} huge-length inputs refused", cases.len());
}

// --- 2. documents and sync messages ---------------------------------------------------

#[test]
fn the_checksum_fix_up_is_right() {
    // The chunk hash of a change is the SHA-256 of its type, length and data.
    let doc = sample_doc();
    let change = &doc.automerge().get_changes(&[])[1];
    let (chunk_type, data, rest) = unseal(change.raw_bytes());
    assert!(rest.is_empty());
    let mut hashed = vec![chunk_type];
    put_uleb(&mut hashed, data.len() as u64);
    hashed.extend_from_slice(&data);
    assert_eq!(sha256(&hashed), change.hash().0);
    assert_eq!(seal(chunk_type, &data), change.raw_bytes());
}

#[test]
fn document_loader_survives_arbitrary_bytes() {
    let bytes = prop_oneof![
        vec(any::<u8>(), 0..400),
        vec(any::<u8>(), 0..400).prop_map(|b| [CHUNK_MAGIC.as_slice(), &b].concat()),
        (0..3u8, vec(any::<u8>(), 0..400)).prop_map(|(t, b)| seal(t, &b)),
    ];
    quiet_automerge_panics();
    let panics = AtomicU64::new(0);
    property("HouseholdDoc::load: arbitrary bytes", 10_000, bytes, |b| {
        match no_panic(|| HouseholdDoc::load(&b, actor(7))) {
            Some(Ok(doc)) => exercise(&doc)?,
            Some(Err(_)) => {}
            None => {
                panics.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    });
    println!("  of which panicked inside automerge: {}", panics.load(Ordering::Relaxed));
}

#[test]
fn document_loader_survives_mutated_documents() {
    let corpus = corpus();
    let saved = corpus.saved.clone();
    let strategy = (0..saved.len(), mutations(), prop::bool::weighted(0.85));
    quiet_automerge_panics();
    let (loaded, panics) = (AtomicU64::new(0), AtomicU64::new(0));
    property("HouseholdDoc::load: mutated documents", 10_000, strategy, |(i, m, reseal)| {
        let bytes = mutate_chunk(&saved[i], &m, reseal);
        match no_panic(|| HouseholdDoc::load(&bytes, actor(7))) {
            Some(Ok(doc)) => {
                loaded.fetch_add(1, Ordering::Relaxed);
                exercise(&doc)?;
            }
            Some(Err(_)) => {}
            None => {
                panics.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    });
    // automerge 0.12 panics on some of these (see `receive_untrusted`). The server loads
    // only documents it saved itself; a panic here means a corrupt database file.
    println!(
        "  of which loaded: {}; panicked inside automerge: {}",
        loaded.load(Ordering::Relaxed),
        panics.load(Ordering::Relaxed)
    );
}

fn hash_strategy(known: Vec<ChangeHash>) -> impl Strategy<Value = ChangeHash> {
    prop_oneof![(0..known.len()).prop_map(move |i| known[i]), any::<[u8; 32]>().prop_map(ChangeHash),]
}

/// A bloom filter as it travels: entries, bits per entry, probes, bits.
fn bloom_bytes() -> impl Strategy<Value = Vec<u8>> {
    let probes = prop_oneof![0..16u32, Just(64u32), Just(65u32), any::<u32>()];
    let shaped = (0..5u32, 0..12u32, probes, any::<u8>()).prop_map(|(entries, bits, probes, fill)| {
        let mut out = Vec::new();
        put_uleb(&mut out, u64::from(entries));
        put_uleb(&mut out, u64::from(bits));
        put_uleb(&mut out, u64::from(probes));
        out.extend(std::iter::repeat_n(fill, (entries * bits).div_ceil(8) as usize));
        out
    });
    prop_oneof![Just(Vec::new()), shaped, vec(any::<u8>(), 0..12)]
}

fn chunk_strategy(changes: Vec<Vec<u8>>, saved: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let real = changes.clone();
    let whole = saved.clone();
    prop_oneof![
        (0..changes.len()).prop_map(move |i| real[i].clone()),
        (0..changes.len(), mutations(), prop::bool::weighted(0.85)).prop_map(move |(i, m, reseal)| mutate_chunk(
            &changes[i],
            &m,
            reseal
        )),
        (0..saved.len(), mutations()).prop_map(move |(i, m)| mutate_chunk(&whole[i], &m, true)),
        (0..3u8, vec(any::<u8>(), 0..200)).prop_map(|(t, b)| seal(t, &b)),
        vec(any::<u8>(), 0..64),
    ]
}

/// Sync messages built from parts, some real and some hostile.
fn structured_message(c: &Corpus) -> impl Strategy<Value = Vec<u8>> {
    // Automerge's encoder wants sorted hashes; unsorted ones come from the mutations.
    let hashes = || {
        vec(hash_strategy(c.hashes.clone()), 0..3).prop_map(|mut h| {
            h.sort();
            h
        })
    };
    let have = (hashes(), bloom_bytes()).prop_map(|(last_sync, bloom)| Have {
        last_sync,
        bloom: BloomFilter::try_from(bloom.as_slice()).unwrap_or_default(),
    });
    (
        hashes(),
        hashes(),
        vec(have, 0..3),
        vec(chunk_strategy(c.changes.clone(), c.saved.clone()), 0..3),
        proptest::option::of(any::<u8>()),
        any::<bool>(),
    )
        .prop_map(|(heads, need, have, changes, flags, v2)| {
            let flags = flags.map(|bits| {
                let mut f = MessageFlags::new();
                f.set(bits & 0x7f);
                f
            });
            let version = if v2 { MessageVersion::V2 } else { MessageVersion::V1 };
            Message { heads, need, have, changes: ChunkList::from(changes), flags, version }.encode()
        })
}

#[test]
fn sync_receiver_survives_arbitrary_and_mutated_messages() {
    let c = corpus();
    let real = c.messages.clone();
    let messages = prop_oneof![
        1 => (prop_oneof![Just(0x42u8), Just(0x43u8)], vec(any::<u8>(), 0..300))
            .prop_map(|(first, rest)| [vec![first], rest].concat()),
        2 => (0..real.len(), mutations()).prop_map(move |(i, m)| {
            let mut b = real[i].clone();
            mutate(&mut b, &m);
            b
        }),
        4 => structured_message(&c),
    ];
    quiet_automerge_panics();
    let applied = AtomicU64::new(0);
    property(
        "receive_sync_message: arbitrary and mutated messages",
        10_000,
        (messages, any::<bool>()),
        |(m, fresh)| {
            let state = if fresh { None } else { Some(c.state.as_slice()) };
            if apply_as_server(&c, state, &m)? {
                applied.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        },
    );
    println!("  of which applied: {}", applied.load(Ordering::Relaxed));
    // Every real message passes the check, but those carrying a whole document (which
    // the server never invites: `wire::answer` drops the capability flags).
    let mut documents = 0;
    for m in &c.messages {
        let whole = Message::decode(m).unwrap().changes.iter().any(|chunk| chunk.get(8) == Some(&0));
        match wire::check_sync_message(m) {
            Err(DocError::BadSyncMessage(why)) if whole && why.contains("whole document") => documents += 1,
            result => assert!(result.is_ok() && !whole, "a real message: {result:?}"),
        }
    }
    assert!(documents > 0 && documents < c.messages.len());
}

/// A sync message carrying `chunk` and nothing else.
fn one_chunk_message(chunk: Vec<u8>, version: MessageVersion) -> Vec<u8> {
    Message { heads: vec![], need: vec![], have: vec![], changes: ChunkList::from(vec![chunk]), flags: None, version }
        .encode()
}

/// Every single-bit flip of every real change, sent in a sync message with a correct
/// checksum: applied, or refused with an error; never a panic past `receive_untrusted`.
#[test]
fn every_single_bit_flip_of_a_change_is_refused_or_applied_cleanly() {
    quiet_automerge_panics();
    let c = corpus();
    let started = Instant::now();
    let (mut cases, mut applied, mut refused, mut raw_panics, mut unreadable) = (0, 0, 0, 0, 0);
    for change in &c.changes {
        let (chunk_type, data, _) = unseal(change);
        for i in 0..data.len() {
            for bit in [0, 3, 7] {
                let mut flipped = data.clone();
                flipped[i] ^= 1 << bit;
                let chunk = seal(chunk_type, &flipped);
                let message = one_chunk_message(chunk, MessageVersion::V1);
                cases += 1;
                let mut raw = c.server.clone();
                if no_panic(|| raw.receive_sync_message(&mut State::new(), &message)).is_none() {
                    raw_panics += 1;
                }
                match wire::receive_untrusted(&mut c.server.clone(), &mut State::new(), &message) {
                    Err(DocError::BadSyncMessage(why))
                        if why.contains("list them") || why.contains("read them back") =>
                    {
                        unreadable += 1
                    }
                    _ => {}
                }
                if apply_as_server(&c, None, &message).unwrap() {
                    applied += 1;
                } else {
                    refused += 1;
                }
            }
        }
    }
    println!(
        "bit flips of {} changes: {cases} cases in {:.2?}: {applied} applied, {refused} refused; \
         of these, {raw_panics} panic inside automerge 0.12 when applied, and {unreadable} apply \
         but leave a document whose new changes cannot be listed or read back; load_and_receive \
         took {} messages in this process so far, each ending as the two steps do",
        c.changes.len(),
        started.elapsed(),
        ONE_STEP.load(Ordering::Relaxed)
    );
}

/// automerge 0.12 (hexane) decodes a document chunk's columns trusting the run lengths
/// they claim: a claimed run of 2^24 values costs it ~100 ms, 2^32 takes 40 s and 16 GB
/// before it fails. The server never tells a phone that it takes whole documents
/// (`wire::answer` drops the capability flags), so honest peers send changes, and
/// `wire::check_sync_message` refuses every document chunk unread: each of these
/// messages is refused as "a whole document", whatever it claims.
#[test]
fn document_chunks_claiming_huge_runs_are_refused_unread() {
    quiet_automerge_panics();
    let c = corpus();
    let (chunk_type, data, _) = unseal(&c.saved[1]); // a document with a change the server lacks
    assert_eq!(chunk_type, 0, "a saved document is a document chunk");
    let mut refused = 0;
    for at in 0..data.len() {
        let mut claimed = data.clone();
        claimed.splice(at..(at + 4).min(data.len()), [0x80, 0x80, 0x80, 0x08]); // 2^24
        let message = one_chunk_message(seal(chunk_type, &claimed), MessageVersion::V2);
        match wire::receive_untrusted(&mut c.server.clone(), &mut State::new(), &message) {
            Err(DocError::BadSyncMessage(why)) if why.contains("whole document") => refused += 1,
            other => panic!("a document chunk with a claimed run at byte {at} was not refused unread: {other:?}"),
        }
    }
    assert_eq!(refused, data.len());
}

/// The same claims inside a change chunk (what honest peers send): automerge decodes a
/// change's columns lazily, op by op, so a claimed run ends where the other columns
/// end. Printed, not asserted (benchmarks are not tests): how many of the positions of
/// one real change take over 50 ms when a run of 2^24 (and 2^32) is claimed there.
#[test]
fn change_chunks_claiming_huge_runs_cost_little() {
    quiet_automerge_panics();
    let c = corpus();
    let (chunk_type, data, _) = unseal(c.changes.iter().max_by_key(|ch| ch.len()).expect("a change"));
    assert_eq!(chunk_type, 1, "a change chunk");
    for (claim, bytes) in [("2^24", vec![0x80, 0x80, 0x80, 0x08]), ("2^32", vec![0x80, 0x80, 0x80, 0x80, 0x10])] {
        let (mut slow, mut worst, mut outcomes) = (0, Duration::ZERO, (0, 0));
        let started = Instant::now();
        for at in 0..data.len() {
            let mut claimed = data.clone();
            claimed.splice(at..(at + bytes.len()).min(data.len()), bytes.iter().copied());
            let message = one_chunk_message(seal(chunk_type, &claimed), MessageVersion::V1);
            let t = Instant::now();
            match wire::receive_untrusted(&mut c.server.clone(), &mut State::new(), &message) {
                Ok(_) => outcomes.0 += 1,
                Err(_) => outcomes.1 += 1,
            }
            let took = t.elapsed();
            slow += usize::from(took > Duration::from_millis(50));
            worst = worst.max(took);
        }
        println!(
            "a claimed run of {claim} in a change chunk: {} positions, {} applied, {} refused; {slow} took over \
             50 ms (worst {worst:.2?}); all in {:.2?}",
            data.len(),
            outcomes.0,
            outcomes.1,
            started.elapsed()
        );
    }
}

/// automerge 0.12 trusts the bloom filter in a sync message's `have`: one with entries
/// but no bits makes the server's next `generate_sync_message` divide by zero, and one
/// claiming 4 billion probes makes it reserve 16 GB. It also inflates a compressed
/// change whole, unbounded. `wire::check_sync_message` refuses all of these before the
/// message is applied.
#[test]
fn hostile_bloom_filters_and_compressed_changes_are_refused_unread() {
    let c = corpus();
    let bloom = |entries: u64, bits: u64, probes: u64| {
        let mut b = Vec::new();
        for n in [entries, bits, probes] {
            put_uleb(&mut b, n);
        }
        b.extend(std::iter::repeat_n(0xffu8, (entries * bits).div_ceil(8) as usize));
        BloomFilter::try_from(b.as_slice()).unwrap()
    };
    let message = |bloom: BloomFilter| {
        let have = vec![Have { last_sync: vec![], bloom }];
        Message {
            heads: vec![],
            need: vec![],
            have,
            changes: ChunkList::empty(),
            flags: None,
            version: MessageVersion::V1,
        }
        .encode()
    };
    for (what, m) in
        [("no bits", message(bloom(1, 0, 7))), ("4 billion probes", message(bloom(1, 10, u64::from(u32::MAX))))]
    {
        let e = wire::check_sync_message(&m).unwrap_err();
        assert!(matches!(e, DocError::BadSyncMessage(_)), "{what}: {e}");
        assert!(!apply_as_server(&c, None, &m).unwrap(), "{what}: applied");
    }
    let too_many_haves = {
        let have = vec![Have::default(); wire::MAX_HAVES + 1];
        Message {
            heads: vec![],
            need: vec![],
            have,
            changes: ChunkList::empty(),
            flags: None,
            version: MessageVersion::V1,
        }
        .encode()
    };
    assert!(wire::check_sync_message(&too_many_haves).is_err());
    // A compressed change (chunk type 2), alone or after an ordinary change in one
    // element, is refused unread: automerge would inflate it whole first.
    let compressed = seal(2, &[0u8; 16]);
    for changes in [vec![compressed.clone()], vec![[c.changes[0].clone(), compressed].concat()]] {
        let m = Message {
            heads: vec![],
            need: vec![],
            have: vec![],
            changes: ChunkList::from(changes),
            flags: None,
            version: MessageVersion::V2,
        }
        .encode();
        assert!(wire::check_sync_message(&m).unwrap_err().to_string().contains("compressed"));
    }
    // An ordinary filter passes.
    assert!(wire::check_sync_message(&message(bloom(3, 10, 7))).is_ok());
    assert!(apply_as_server(&c, None, &message(bloom(3, 10, 7))).unwrap());
}

// --- 3. documents that decode but break the layout ------------------------------------

fn one(key: &str, value: Scalar) -> Result<Household, SchemaError> {
    fields::decode([(key.to_owned(), value)])
}

fn key_of(e: &SchemaError) -> &str {
    match e {
        SchemaError::UnknownKey(k)
        | SchemaError::WrongType { key: k, .. }
        | SchemaError::BadId { key: k, .. }
        | SchemaError::TooLong { key: k, .. }
        | SchemaError::OutOfRange { key: k, .. } => k,
        SchemaError::TooMany { .. } | SchemaError::NewerSchema(_) => "",
    }
}

#[test]
fn every_key_kind_refuses_every_wrong_type() {
    let flat = fields::encode(&full_household()).unwrap();
    assert_eq!(fields::decode(flat.clone()).unwrap(), full_household());
    let long = Scalar::Str("字".repeat(MAX_TEXT_CHARS + 1));
    let mut checked = 0;
    for (key, valid) in &flat {
        let wrong: Vec<Scalar> = match valid {
            Scalar::Str(_) => vec![Scalar::Int(1), Scalar::Bool(true)],
            Scalar::Int(_) => vec![Scalar::Str("1".into()), Scalar::Bool(true)],
            Scalar::Bool(_) => vec![Scalar::Int(1), Scalar::Str("true".into())],
        };
        for value in wrong {
            let e = one(key, value.clone()).unwrap_err();
            assert!(matches!(&e, SchemaError::WrongType { key: k, .. } if k == key), "{key} = {value:?}: {e:?}");
            checked += 1;
        }
        match valid {
            Scalar::Str(_) => {
                let e = one(key, long.clone()).unwrap_err();
                assert_eq!(e, SchemaError::TooLong { key: key.clone(), chars: MAX_TEXT_CHARS + 1 }, "{key}");
                assert!(one(key, Scalar::Str("字".repeat(MAX_TEXT_CHARS))).is_ok() || !is_free_text(key), "{key}");
                let e = one(key, Scalar::Str("\u{0}nope\u{feff}".into()));
                assert!(e.is_ok() || matches!(e, Err(SchemaError::WrongType { .. })), "{key}: {e:?}");
                checked += 2;
            }
            Scalar::Int(_) if key == "schema" => {
                assert_eq!(one(key, Scalar::Int(i64::MAX)).unwrap_err(), SchemaError::NewerSchema(i64::MAX));
                assert!(matches!(one(key, Scalar::Int(i64::MIN)), Err(SchemaError::WrongType { .. })));
                assert!(matches!(one(key, Scalar::Int(0)), Err(SchemaError::WrongType { .. })));
            }
            Scalar::Int(_) => {
                let limit = if key.contains("/rv/") { MAX_UNIX_SECONDS } else { MAX_AMOUNT };
                let low = if key.contains("/rv/") { -1 } else { -MAX_AMOUNT - 1 };
                for value in [limit + 1, low, i64::MAX, i64::MIN, i64::MIN + 1] {
                    let e = one(key, Scalar::Int(value)).unwrap_err();
                    assert_eq!(e, SchemaError::OutOfRange { key: key.clone(), value }, "{key} = {value}");
                    checked += 1;
                }
                assert!(one(key, Scalar::Int(limit)).is_ok(), "{key} = {limit}");
            }
            Scalar::Bool(_) => {}
        }
    }
    println!("schema: {} keys, {checked} wrong values, each refused by name", flat.len());
}

fn is_free_text(key: &str) -> bool {
    let last = key.rsplit('/').next().unwrap_or("");
    [
        "no",
        "address",
        "county",
        "township",
        "site",
        "grid",
        "origin_township",
        "origin_village",
        "name",
        "id_no",
        "risk_note",
        "help_note",
        "note",
        "industry",
        "place",
        "employer",
        "training_wish",
        "by",
        "text",
    ]
    .contains(&last)
        || key.contains("/by/")
}

#[test]
fn malformed_keys_are_named() {
    let text = || Scalar::Str("x".into());
    type Named = fn(&SchemaError) -> bool;
    let cases: Vec<(&str, Named)> = vec![
        ("m/a b/name", |e| matches!(e, SchemaError::BadId { id, .. } if id == "a b")),
        ("m/ a/name", |e| matches!(e, SchemaError::BadId { .. })),
        ("m//name", |e| matches!(e, SchemaError::BadId { .. })),
        ("m/成员/name", |e| matches!(e, SchemaError::BadId { .. })),
        ("m/a:b/name", |e| matches!(e, SchemaError::BadId { .. })),
        ("m/a\u{0}/name", |e| matches!(e, SchemaError::BadId { .. })),
        ("m/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/name", |e| matches!(e, SchemaError::BadId { .. })),
        ("m/a/b/name", |e| matches!(e, SchemaError::UnknownKey(_))),
        ("m/a", |e| matches!(e, SchemaError::UnknownKey(_))),
        ("m/a/", |e| matches!(e, SchemaError::UnknownKey(_))),
        ("v/2026 11/note", |e| matches!(e, SchemaError::BadId { .. })),
        ("v//note", |e| matches!(e, SchemaError::BadId { .. })),
        ("v/2026-11/by/a b", |e| matches!(e, SchemaError::BadId { .. })),
        ("v/2026-11/by/a/b", |e| matches!(e, SchemaError::UnknownKey(_))),
        ("v/2026-11/e/a b/status", |e| matches!(e, SchemaError::BadId { .. })),
        ("v/2026-11/rv/1 a/text", |e| matches!(e, SchemaError::BadId { .. })),
        ("v/2026-11/i/salary", |e| matches!(e, SchemaError::UnknownKey(_))),
        ("v/2026-11/x/y/z/w", |e| matches!(e, SchemaError::UnknownKey(_))),
        ("f/no/", |e| matches!(e, SchemaError::UnknownKey(_))),
        ("/f/no", |e| matches!(e, SchemaError::UnknownKey(_))),
        ("", |e| matches!(e, SchemaError::UnknownKey(_))),
        ("F/no", |e| matches!(e, SchemaError::UnknownKey(_))),
        ("schema/1", |e| matches!(e, SchemaError::UnknownKey(_))),
    ];
    for (key, named) in &cases {
        let e = one(key, text()).unwrap_err();
        assert!(named(&e), "{key:?}: {e:?}");
        assert_eq!(key_of(&e), *key, "the error names the key");
        assert!(!e.to_string().is_empty() && !e.zh().is_empty());
    }
    println!("schema: {} malformed keys refused by name", cases.len());
}

/// A visit key that is a valid id but not `YYYY-MM` passes the layout and is refused
/// by validation (`Rule::PeriodFormat`, which `rejects_document`): the server answers
/// `invalid`, not `schema`.
#[test]
fn unknown_periods_are_refused_by_validation() {
    for period in ["2026-13", "2026-00", "abc", "1899-12", "3000-01", "2026-1", "2026_11", "20261", "0000-00"] {
        let key = format!("v/{period}/note");
        let h = one(&key, Scalar::Str("x".into())).unwrap_or_else(|e| panic!("{key}: {e}"));
        let rejecting: Vec<_> = validate(&h, today()).into_iter().filter(|p| p.rule.rejects_document()).collect();
        assert!(
            rejecting.iter().any(|p| p.rule == Rule::PeriodFormat && p.path.starts_with(&format!("v/{period}"))),
            "{key}: {rejecting:?}"
        );
        // Nothing downstream trips over it.
        let _ = Summary::of(&h, Period::new(2026, 11).unwrap(), &Settings::default());
    }
}

#[test]
fn limits_on_members_and_visits_are_named() {
    let members = |n: usize| (0..n).map(|i| (format!("m/x{i}/name"), Scalar::Str("甲".into())));
    assert_eq!(fields::decode(members(MAX_MEMBERS)).unwrap().members.len(), MAX_MEMBERS);
    assert_eq!(
        fields::decode(members(MAX_MEMBERS + 1)).unwrap_err(),
        SchemaError::TooMany { what: "members", count: MAX_MEMBERS + 1, limit: MAX_MEMBERS }
    );
    let many = (0..1000).map(|i| (format!("m/x{i}/name"), Scalar::Str("甲".into())));
    assert!(matches!(fields::decode(many), Err(SchemaError::TooMany { what: "members", .. })));
    let period = |i: usize| Period::new(1950, 1).unwrap().plus_months(i as i32).to_string();
    let visits = |n: usize| (0..n).map(move |i| (format!("v/{}/note", period(i)), Scalar::Str("x".into())));
    assert_eq!(fields::decode(visits(MAX_VISITS)).unwrap().visits.len(), MAX_VISITS);
    assert_eq!(
        fields::decode(visits(MAX_VISITS + 1)).unwrap_err(),
        SchemaError::TooMany { what: "visits", count: MAX_VISITS + 1, limit: MAX_VISITS }
    );
    // Visitors and review steps of one visit: no honest visit comes near the limits.
    let visitors = |n: usize| (0..n).map(|i| (format!("v/2026-11/by/u{i}"), Scalar::Str("某".into())));
    assert_eq!(fields::decode(visitors(MAX_VISITORS)).unwrap().visits["2026-11"].visitors.len(), MAX_VISITORS);
    let e = fields::decode(visitors(20_000)).unwrap_err();
    assert_eq!(e, SchemaError::TooMany { what: "visitors in one visit", count: MAX_VISITORS + 1, limit: MAX_VISITORS });
    assert!(e.zh().contains("走访人"), "{}", e.zh());
    let steps = |n: usize| {
        (0..n).flat_map(|i| {
            let entry = format!("v/2026-11/rv/{}-sup01", 1_795_000_000 + i);
            [
                (format!("{entry}/at"), Scalar::Int(1_795_000_000)),
                (format!("{entry}/act"), Scalar::Str("approve".into())),
            ]
        })
    };
    assert_eq!(fields::decode(steps(MAX_REVIEW_STEPS)).unwrap().visits["2026-11"].reviews.len(), MAX_REVIEW_STEPS);
    let e = fields::decode(steps(5000)).unwrap_err();
    assert_eq!(
        e,
        SchemaError::TooMany {
            what: "review steps in one visit",
            count: MAX_REVIEW_STEPS + 1,
            limit: MAX_REVIEW_STEPS
        }
    );
    assert!(e.zh().contains("审核记录"), "{}", e.zh());
    // Other visits have their own.
    let two = visitors(MAX_VISITORS)
        .chain((0..MAX_VISITORS).map(|i| (format!("v/2026-10/by/u{i}"), Scalar::Str("某".into()))));
    assert!(fields::decode(two).is_ok());
}

/// A raw Automerge document with `build` applied at ROOT, as a hostile client makes it.
fn raw_doc(build: impl FnOnce(&mut shared::automerge::transaction::Transaction<'_>)) -> HouseholdDoc {
    let mut doc = Automerge::new().with_actor(actor(5));
    let mut tx = doc.transaction();
    tx.put(ROOT, "schema", 1).unwrap();
    tx.put(ROOT, "f/no", "5223010001").unwrap();
    build(&mut tx);
    tx.commit();
    HouseholdDoc::load(&doc.save(), actor(6)).unwrap()
}

#[test]
fn automerge_types_and_objects_outside_the_layout_are_named() {
    let wrong_type = |doc: &HouseholdDoc, key: &str| {
        let e = doc.check().unwrap_err();
        assert!(matches!(&e, SchemaError::WrongType { key: k, .. } if k == key), "{key}: {e:?}");
    };
    let scalars: Vec<(&str, ScalarValue)> = vec![
        ("a float", ScalarValue::F64(1.5)),
        ("a counter", ScalarValue::counter(3)),
        ("a timestamp", ScalarValue::Timestamp(1_795_000_000)),
        ("bytes", ScalarValue::Bytes(vec![1, 2, 3])),
        ("null", ScalarValue::Null),
        ("a uint beyond i64", ScalarValue::Uint(u64::MAX)),
    ];
    for key in ["f/address", "f/year", "f/dibao", "v/2026-11/i/wage", "m/k1/name"] {
        for (what, v) in &scalars {
            let doc = raw_doc(|tx| tx.put(ROOT, key, v.clone()).unwrap());
            let e = doc.check().unwrap_err();
            assert!(matches!(&e, SchemaError::WrongType { key: k, .. } if k == key), "{key} = {what}: {e:?}");
        }
        for obj in [ObjType::Map, ObjType::List, ObjType::Text] {
            let doc = raw_doc(|tx| {
                tx.put_object(ROOT, key, obj).unwrap();
            });
            wrong_type(&doc, key);
        }
    }
    // A map inside a map inside … 2,000 deep, at ROOT.
    let deep = raw_doc(|tx| {
        let mut at = tx.put_object(ROOT, "v/2026-11/note", ObjType::Map).unwrap();
        for i in 0..2000 {
            at = tx.put_object(&at, format!("k{i}"), ObjType::Map).unwrap();
        }
        tx.put(&at, "x", "deep").unwrap();
    });
    wrong_type(&deep, "v/2026-11/note");
    let _ = deep.conflicts();
    let _ = deep.history();
    // A map under a key the layout does not know.
    let unknown = raw_doc(|tx| {
        tx.put_object(ROOT, "members", ObjType::Map).unwrap();
    });
    assert!(unknown.check().is_err());
    // A losing concurrent value of the wrong type is found even when a good one wins.
    for (good_actor, bad_actor) in [(1u8, 2u8), (2, 1)] {
        let base = raw_doc(|_| {});
        let mut good = HouseholdDoc::load(&base.save(), actor(good_actor)).unwrap();
        let mut bad = HouseholdDoc::load(&base.save(), actor(bad_actor)).unwrap();
        let mut tx = good.automerge_mut().transaction();
        tx.put(ROOT, "f/dibao", true).unwrap();
        tx.commit();
        let mut tx = bad.automerge_mut().transaction();
        tx.put_object(ROOT, "f/dibao", ObjType::Map).unwrap();
        tx.commit();
        good.merge(&mut bad).unwrap();
        wrong_type(&good, "f/dibao");
    }
}

/// What a layout key holds, for generating values of the right type.
#[derive(Debug, Clone)]
enum Kind {
    Int,
    Bool,
    /// One of these codes.
    Code(Vec<&'static str>),
    Date,
    Text,
}

fn codes<T: Coded>() -> Kind {
    Kind::Code(T::ALL.iter().map(|c| c.code()).collect())
}

fn value_of(kind: Kind) -> BoxedStrategy<Scalar> {
    let ints = prop_oneof![
        Just(0i64),
        Just(1),
        Just(-1),
        Just(MAX_AMOUNT),
        Just(-MAX_AMOUNT),
        Just(MAX_UNIX_SECONDS),
        Just(1900),
        Just(2999),
        -MAX_AMOUNT..=MAX_AMOUNT,
        any::<i64>(),
    ];
    let dates = prop_oneof![
        Just("1900-01-01"),
        Just("2999-12-31"),
        Just("2024-02-29"),
        Just("2026-11-30"),
        Just("2026-02-29"),
        Just("0000-00-00"),
    ];
    let typed = match kind {
        Kind::Int => ints.prop_map(Scalar::Int).boxed(),
        Kind::Bool => any::<bool>().prop_map(Scalar::Bool).boxed(),
        Kind::Code(codes) => prop::sample::select(codes).prop_map(|c| Scalar::Str(c.to_owned())).boxed(),
        Kind::Date => dates.prop_map(|d| Scalar::Str(d.to_owned())).boxed(),
        Kind::Text => prop_oneof![
            Just(String::new()),
            Just("11010519491231002X".to_owned()),
            Just("字".repeat(MAX_TEXT_CHARS)),
            ".{0,12}"
        ]
        .prop_map(Scalar::Str)
        .boxed(),
    };
    // Now and then a value of another type, which the layout must refuse.
    prop_oneof![9 => typed, 1 => prop_oneof![any::<i64>().prop_map(Scalar::Int), ".{0,4}".prop_map(Scalar::Str)]]
        .boxed()
}

/// Layout-shaped documents with extreme but well-typed values: whatever the layout
/// accepts, validation, indicators, descriptions and the edit API take without
/// panicking.
#[test]
fn accepted_documents_with_extreme_values_do_not_trip_anything_downstream() {
    let period = prop_oneof![
        4 => Just("2026-11".to_owned()),
        1 => Just("1900-01".to_owned()),
        1 => Just("2999-12".to_owned()),
        1 => Just("2026-13".to_owned()),
        1 => "[0-9]{4}-[0-9]{2}",
        1 => valid_id(),
    ];
    let id = prop_oneof![3 => Just("k1".to_owned()), 1 => Just("k2".to_owned()), 1 => valid_id()];
    let leaves = vec![
        ("f/no", Kind::Text),
        ("f/year", Kind::Int),
        ("f/monitoring", codes::<Monitoring>()),
        ("f/category", codes::<Category>()),
        ("f/dibao", Kind::Bool),
        ("m/{id}/name", Kind::Text),
        ("m/{id}/birth", Kind::Date),
        ("m/{id}/relation", codes::<Relation>()),
        ("m/{id}/labour", codes::<LabourCapacity>()),
        ("m/{id}/status", codes::<MemberStatus>()),
        ("m/{id}/school", Kind::Bool),
        ("m/{id}/id_no", Kind::Text),
        ("v/{p}/date", Kind::Date),
        ("v/{p}/mode", codes::<VisitMode>()),
        ("v/{p}/review", codes::<ReviewStatus>()),
        ("v/{p}/note", Kind::Text),
        ("v/{p}/by/{id}", Kind::Text),
        ("v/{p}/e/{id}/status", codes::<EmploymentStatus>()),
        ("v/{p}/e/{id}/income", Kind::Int),
        ("v/{p}/e/{id}/channel", codes::<Channel>()),
        ("v/{p}/e/{id}/industry", Kind::Text),
        ("v/{p}/e/{id}/returned", Kind::Bool),
        ("v/{p}/i/wage", Kind::Int),
        ("v/{p}/i/operating", Kind::Int),
        ("v/{p}/i/costs", Kind::Int),
        ("v/{p}/g/water", Kind::Bool),
        ("v/{p}/r/illness", Kind::Bool),
        ("v/{p}/h/training", codes::<HelpState>()),
        ("v/{p}/rv/{id}/at", Kind::Int),
        ("v/{p}/rv/{id}/act", codes::<ReviewAction>()),
        ("v/{p}/rv/{id}/text", Kind::Text),
    ];
    let entry = (prop::sample::select(leaves), period, id).prop_flat_map(move |((leaf, kind), p, id)| {
        let key = leaf.replace("{p}", &p).replace("{id}", &id);
        value_of(kind).prop_map(move |v| (key.clone(), v))
    });
    let entries = vec(entry, 1..16);
    let accepted = AtomicU64::new(0);
    property("layout-shaped documents with extreme values", 5000, entries, |entries| {
        if let Ok(h) = fields::decode(entries.clone()) {
            accepted.fetch_add(1, Ordering::Relaxed);
            let _ = validate(&h, today());
            let mut total = Indicators::default();
            for p in h.visits.keys().filter_map(|k| period_of(k)).chain([Period::new(2026, 11).unwrap()]) {
                total.add(&Summary::of(&h, p, &Settings::default()));
                total.add(&Summary::of(&h, p.plus_months(12), &Settings::default()));
            }
            let _ = (total.employment_rate(), total.per_capita_income(), total.per_capita_income_growth());
            for (key, _) in &entries {
                let _ = fields::describe(key, &h, Lang::En);
            }
            // What the layout accepts, an edit can write and read back.
            let mut doc = HouseholdDoc::empty(actor(8));
            let written = doc.edit(&Stamp::new("c1", "李明", 1_795_000_000), |x| *x = h.clone());
            prop_assert!(written.is_ok(), "{:?}", written.err());
            prop_assert_eq!(fields::encode(&doc.household().unwrap()), fields::encode(&h));
        }
        Ok(())
    });
    println!("  of which accepted by the layout: {}", accepted.load(Ordering::Relaxed));
}
