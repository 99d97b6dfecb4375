//! The batched sync, run between two in-memory peers with no network (the engine does
//! no IO): a phone and a server, 60 households, edits on both sides. Every document
//! converges, and the whole batch takes a handful of request/response round trips,
//! not two per document.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::BTreeMap;

use shared::automerge::ActorId;
use shared::automerge::sync::State;
use shared::wire::{self, Incoming, Outgoing, Reply};
use shared::*;

const HOUSEHOLDS: usize = 60;

struct Peer {
    docs: BTreeMap<String, HouseholdDoc>,
    /// Sync state per document, for the other side.
    states: BTreeMap<String, State>,
}

fn id(i: usize) -> String {
    format!("52230100{i:02}")
}

fn setup() -> (Peer, Peer) {
    let admin = Stamp::new("admin", "管理员", 1);
    let mut phone = Peer { docs: BTreeMap::new(), states: BTreeMap::new() };
    let mut server = Peer { docs: BTreeMap::new(), states: BTreeMap::new() };
    for i in 0..HOUSEHOLDS {
        let doc = HouseholdDoc::create(&id(i), ActorId::from(vec![0xAD; 16]), &admin).unwrap();
        let bytes = doc.save();
        phone.docs.insert(id(i), HouseholdDoc::load(&bytes, ActorId::from(vec![1; 16])).unwrap());
        server.docs.insert(id(i), HouseholdDoc::load(&bytes, ActorId::from(vec![2; 16])).unwrap());
    }
    (phone, server)
}

/// One HTTP round trip: the phone sends a batch, the server answers it.
/// Returns false when the phone had nothing to send.
fn round_trip(phone: &mut Peer, server: &mut Peer, bytes_on_wire: &mut usize) -> bool {
    let outgoing: Vec<Outgoing> = phone
        .docs
        .iter()
        .filter_map(|(id, doc)| {
            let state = phone.states.entry(id.clone()).or_default();
            doc.sync_message(state).map(|message| Outgoing { doc_id: id.clone(), message })
        })
        .collect();
    if outgoing.is_empty() {
        return false;
    }
    let request = wire::encode_request(&outgoing);
    *bytes_on_wire += request.len();

    let mut replies = Vec::new();
    for entry in wire::decode_request(&request).unwrap() {
        let doc = server.docs.get_mut(&entry.doc_id).unwrap();
        let state = server.states.entry(entry.doc_id.clone()).or_default();
        doc.receive_sync_message(state, &entry.message).unwrap();
        let reply = doc.sync_message(state).map_or(Reply::InSync, Reply::Message);
        replies.push(Incoming { doc_id: entry.doc_id, reply });
    }
    let response = wire::encode_response(&replies);
    *bytes_on_wire += response.len();

    for incoming in wire::decode_response(&response).unwrap() {
        if let Reply::Message(m) = incoming.reply {
            let state = phone.states.get_mut(&incoming.doc_id).unwrap();
            phone.docs.get_mut(&incoming.doc_id).unwrap().receive_sync_message(state, &m).unwrap();
        }
    }
    true
}

#[test]
fn a_batch_of_households_converges_in_a_few_round_trips() {
    let (mut phone, mut server) = setup();
    let cadre = Stamp::new("cadre01", "李明", 1_795_000_000);
    let other = Stamp::new("cadre02", "张华", 1_795_000_100);
    for (i, doc) in phone.docs.values_mut().enumerate() {
        doc.edit(&cadre, |h| {
            let v = h.visits.entry("2026-11".into()).or_default();
            v.mode = Some(VisitMode::InPerson);
            v.income.wage = Some(1000 + i as i64);
        })
        .unwrap();
    }
    for doc in server.docs.values_mut().step_by(3) {
        doc.edit(&other, |h| h.facts.grid = "G7".into()).unwrap();
    }

    let mut trips = 0;
    let mut bytes = 0;
    while round_trip(&mut phone, &mut server, &mut bytes) {
        trips += 1;
        assert!(trips <= 10, "sync does not settle");
    }
    for (id, doc) in &phone.docs {
        let on_server = &server.docs[id];
        assert_eq!(doc.heads(), on_server.heads(), "{id} did not converge");
        let h = doc.household().unwrap();
        assert!(h.visits["2026-11"].is_in_person());
    }
    assert_eq!(phone.docs.values().filter(|d| d.household().unwrap().facts.grid == "G7").count(), HOUSEHOLDS / 3);
    // Automerge's protocol needs about two exchanges per document; batching makes that
    // two or three round trips for the whole set instead of two per household.
    assert!(trips <= 3, "{trips} round trips");
    eprintln!("{HOUSEHOLDS} households: {trips} round trips, {bytes} bytes uncompressed");

    // Persisted sync state: a later sync with nothing new costs one small round trip.
    let states: BTreeMap<String, Vec<u8>> = phone.states.iter().map(|(k, s)| (k.clone(), s.encode())).collect();
    phone.states = states.iter().map(|(k, b)| (k.clone(), State::decode(b).unwrap())).collect();
    let mut again = 0;
    let mut idle_bytes = 0;
    while round_trip(&mut phone, &mut server, &mut idle_bytes) {
        again += 1;
        assert!(again <= 3);
    }
    assert!(again <= 1, "{again} round trips when nothing changed");
}

#[test]
fn a_garbage_sync_message_is_refused_without_touching_the_document() {
    let (mut phone, _) = setup();
    let doc = phone.docs.get_mut(&id(0)).unwrap();
    let before = doc.save();
    let err = doc.receive_sync_message(&mut State::new(), b"\x42garbage").unwrap_err();
    assert!(matches!(err, DocError::BadSyncMessage(_)), "{err}");
    assert_eq!(doc.save(), before);
}
