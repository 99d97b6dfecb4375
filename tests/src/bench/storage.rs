//! Storage on the phone per household after 12 monthly visits: what the app keeps in
//! IndexedDB for each household (the saved Automerge document and its encoded sync
//! state), for households built as a phone builds them: the roster's facts and members
//! in one change, then one commit per monthly visit, synced after each.

use std::path::Path;

use shared::automerge::ActorId;
use shared::automerge::sync::State;
use shared::{HouseholdDoc, Stamp};

use super::sync::{CADRE, cadre, county, current_period};
use super::{Part, Row};

/// Households measured.
const SAMPLE: usize = 100;
/// Monthly visits recorded in each.
const VISITS: i32 = 12;

/// Measures [`SAMPLE`] households of the benchmark county.
pub fn run(work: &Path) -> Part {
    let (path, _) = county(work);
    let db = server::store::sqlite::Sqlite::open(&path).expect("open");
    let stored: Vec<(String, Vec<u8>)> = {
        let conn = db.lock();
        let mut stmt = conn.prepare("SELECT id, doc FROM households ORDER BY id LIMIT ?1").expect("prepare");
        stmt.query_map([SAMPLE as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect()
    };
    let who = cadre(CADRE);
    let admin = Stamp::new("admin", "系统管理员", 1_760_000_000);
    let now = current_period();
    let mut sizes: Vec<(usize, usize)> = Vec::new();
    for (id, bytes) in &stored {
        let demo = HouseholdDoc::load(bytes, ActorId::random()).expect("load").household().expect("household");
        // The server's roster import, then the phone's copy of it.
        let mut server = HouseholdDoc::create(id, ActorId::random(), &admin).expect("create");
        server
            .edit(&admin, |h| {
                h.facts = demo.facts.clone();
                h.members = demo.members.clone();
            })
            .expect("roster");
        let mut phone = HouseholdDoc::load(&server.save(), ActorId::random()).expect("phone copy");
        let mut state = State::new();
        for back in (0..VISITS).rev() {
            let period = now.plus_months(-back);
            let mut so_far = phone.household().expect("household");
            so_far.visits.retain(|k, _| k.as_str() < period.to_string().as_str());
            let visit = server::demo::next_visit(&so_far, period, &who, u64::from(period.month()) * 7919);
            let stamp = Stamp::new(who.id.clone(), who.name.clone(), 1_760_000_000 + i64::from(12 - back) * 2_600_000);
            phone
                .edit(&stamp, |h| {
                    h.visits.insert(period.to_string(), visit);
                })
                .expect("visit");
            sync_pair(&mut phone, &mut state, &mut server);
        }
        sizes.push((phone.save().len(), state.encode().len()));
    }
    let mut totals: Vec<f64> = sizes.iter().map(|(d, s)| (d + s) as f64).collect();
    let (p50, p95) = super::percentiles(&mut totals);
    let mean_doc = sizes.iter().map(|s| s.0).sum::<usize>() as f64 / sizes.len() as f64;
    let mean_state = sizes.iter().map(|s| s.1).sum::<usize>() as f64 / sizes.len() as f64;
    let members = stored.len();
    let rows = vec![Row {
        figure: "storage on the phone per household after 12 monthly visits".into(),
        value: format!("p50 {:.2} KB, p95 {:.2} KB", p50 / 1024.0, p95 / 1024.0),
        target: "≤ 4 KB".into(),
        met: Some(p95 <= 4096.0),
        floor: None,
        detail: format!(
            "{members} demo households (members and jobs as the demo county's), 12 visits each, one commit per \
             visit and a sync after each; what the app writes to IndexedDB: the saved document (mean {mean_doc:.0} B) \
             and its sync state (mean {mean_state:.0} B); met when p95 ≤ 4 KB"
        ),
    }];
    Part { part: "storage".into(), rows, notes: Vec::new() }
}

/// Syncs two documents until neither has anything to send.
fn sync_pair(a: &mut HouseholdDoc, a_state: &mut State, b: &mut HouseholdDoc) {
    let mut b_state = State::new();
    for _ in 0..10 {
        let to_b = a.sync_message(a_state);
        if let Some(m) = &to_b {
            b.receive_sync_message(&mut b_state, m).expect("b receives");
        }
        let to_a = b.sync_message(&mut b_state);
        if let Some(m) = &to_a {
            a.receive_sync_message(a_state, m).expect("a receives");
        }
        if to_a.is_none() && to_b.is_none() {
            break;
        }
    }
}
