//! The sync engine against a server made of the same pieces the real one merges with
//! (`wire::receive_untrusted`, `wire::answer`, `wire::names_any_of`),
//! keeping only persisted sync states between requests as the real one does.

use std::collections::{BTreeMap, BTreeSet};

use automerge::ActorId;

use super::*;
use crate::wire::encode_request;

fn stamp(user: &str, at: i64) -> Stamp {
    Stamp::new(user, user, at)
}

fn note(doc: &HouseholdDoc, period: &str) -> Option<String> {
    doc.household().unwrap().visits.get(period).map(|v| v.note.clone())
}

/// The server's side: documents, each phone's persisted sync states, households it
/// refuses, and households whose history was rewritten.
#[derive(Default)]
struct Server {
    docs: BTreeMap<String, HouseholdDoc>,
    states: BTreeMap<(String, String), Vec<u8>>,
    refuse: BTreeSet<String>,
    retired: BTreeMap<String, std::collections::HashSet<automerge::ChangeHash>>,
    requests: usize,
}

impl Server {
    fn with(ids: &[&str]) -> Self {
        let mut server = Server::default();
        for id in ids {
            let doc = HouseholdDoc::create(id, ActorId::from(vec![9; 16]), &stamp("admin", 1)).unwrap();
            server.docs.insert(id.to_string(), doc);
        }
        server
    }

    fn handle(&mut self, who: &str, batch: &[Outgoing]) -> Vec<Incoming> {
        // What goes on the wire decodes as it was sent.
        assert_eq!(wire::decode_request(&encode_request(batch)).unwrap(), batch);
        self.requests += 1;
        batch
            .iter()
            .map(|o| {
                let id = o.doc_id.clone();
                let reply = if self.refuse.contains(&id) {
                    Reply::Refused(Refusal::new(RefusalCode::UnknownHousehold, "不存在", "unknown"))
                } else if self.retired.get(&id).is_some_and(|r| wire::names_any_of(&o.message, r)) {
                    Reply::Refused(Refusal::new(RefusalCode::HistoryRewritten, "已整理", "rewritten"))
                } else {
                    let key = (who.to_owned(), id.clone());
                    let mut state = match self.states.get(&key) {
                        Some(bytes) if !o.message.is_empty() => State::decode(bytes).unwrap(),
                        _ => State::new(),
                    };
                    let doc = self.docs.get_mut(&id).unwrap();
                    wire::receive_untrusted(doc, &mut state, &o.message).unwrap();
                    let mut reply = wire::answer(doc, &mut state);
                    if self.retired.contains_key(&id) && wire::names_unknown_heads(&o.message, doc) {
                        reply = wire::without_changes(reply); // as the server does
                    }
                    self.states.insert(key, state.encode());
                    reply
                };
                Incoming { doc_id: id, reply }
            })
            .collect()
    }

    /// Rewrites household `id`'s history keeping its values, as an admin would.
    fn rewrite(&mut self, id: &str) {
        let fields = self.docs[id].fields().unwrap();
        let hashes: Vec<_> = self.docs[id].automerge().get_changes(&[]).iter().map(|c| c.hash()).collect();
        self.retired.entry(id.to_owned()).or_default().extend(hashes);
        let fresh = HouseholdDoc::from_fields(&fields, ActorId::from(vec![8; 16]), &stamp("admin", 50)).unwrap();
        self.docs.insert(id.to_owned(), fresh);
        self.states.retain(|(_, doc), _| doc != id);
    }
}

/// A phone: its replica and what its driver persisted (documents and encoded states).
struct Phone {
    user: String,
    replica: Replica,
    saved_docs: BTreeMap<String, Vec<u8>>,
    saved_states: BTreeMap<String, Vec<u8>>,
}

impl Phone {
    fn new(user: &str, ids: &[&str]) -> Self {
        let mut replica = Replica::default();
        for id in ids {
            replica.track(id, &ActorId::from(user.as_bytes().to_vec()));
        }
        Phone { user: user.to_owned(), replica, saved_docs: BTreeMap::new(), saved_states: BTreeMap::new() }
    }

    /// One whole session; `lose` drops the answer of that round (1-based).
    fn sync(&mut self, server: &mut Server, lose: Option<usize>) -> (Session, Next, Vec<Applied>) {
        let mut session = Session::start(&mut self.replica);
        let mut all = Vec::new();
        loop {
            match session.next_batch(&mut self.replica) {
                Next::Send(batch) => {
                    let replies = server.handle(&self.user, &batch);
                    if lose == Some(session.rounds()) {
                        return (session, Next::Send(batch), all);
                    }
                    let applied = session.receive(&mut self.replica, replies, &stamp(&self.user, 100));
                    for id in &applied.docs {
                        self.saved_docs.insert(id.clone(), self.replica.docs[id].save());
                    }
                    for id in &applied.states {
                        self.saved_states.insert(id.clone(), self.replica.states[id].encode());
                    }
                    all.push(applied);
                }
                end => return (session, end, all),
            }
        }
    }

    fn edit(&mut self, id: &str, period: &str, text: &str) {
        let doc = self.replica.docs.get_mut(id).unwrap();
        doc.edit(&stamp(&self.user, 60), |h| h.visits.entry(period.into()).or_default().note = text.into()).unwrap();
    }
}

#[test]
fn a_new_phone_downloads_its_households_and_then_is_in_sync() {
    let mut server = Server::with(&["H1", "H2"]);
    let mut phone = Phone::new("c1", &["H1", "H2"]);
    let (session, end, applied) = phone.sync(&mut server, None);
    assert_eq!(end, Next::Done);
    assert_eq!(phone.replica.docs["H1"].heads(), server.docs["H1"].heads());
    assert_eq!(phone.replica.unsynced(), 0);
    assert!(session.refused().is_empty());
    assert!(applied.iter().any(|a| a.docs.contains(&"H2".to_owned())), "H2 is saved once downloaded");
    // The next session: one round trip, answered "in sync".
    let before = server.requests;
    let (session, end, applied) = phone.sync(&mut server, None);
    assert_eq!((end, session.rounds(), server.requests - before), (Next::Done, 1, 1));
    assert!(applied[0].docs.is_empty(), "nothing changed, nothing to save");
}

/// A phone that edits a household before its first sync: the server asks for the
/// change, then answers "in sync". Its earlier `need` is met; a state that kept it
/// would resend the change every round until the round limit.
#[test]
fn edits_made_before_the_first_download_go_up_and_the_session_ends() {
    let mut server = Server::with(&["H1"]);
    let mut phone = Phone::new("c1", &["H1"]);
    phone
        .replica
        .docs
        .insert("H1".into(), HouseholdDoc::create("H1", ActorId::from(b"c1".to_vec()), &stamp("c1", 10)).unwrap());
    phone.edit("H1", "2026-11", "先记后同步");
    let (session, end, _) = phone.sync(&mut server, None);
    assert_eq!(end, Next::Done);
    assert!(session.rounds() <= 3, "{} rounds", session.rounds());
    assert_eq!(note(&server.docs["H1"], "2026-11").as_deref(), Some("先记后同步"));
    assert_eq!(phone.replica.unsynced(), 0);
}

/// The age the phone reports (phone health) is its oldest unconfirmed change's stamp:
/// the first of two edits in one household, the older of two households; gone once
/// confirmed.
#[test]
fn the_oldest_unsynced_change_is_the_first_edit_not_yet_confirmed() {
    let mut server = Server::with(&["H1", "H2"]);
    let mut phone = Phone::new("c1", &["H1", "H2"]);
    phone.sync(&mut server, None);
    assert_eq!(phone.replica.oldest_unsynced(), None);
    let write = |phone: &mut Phone, id: &str, at: i64| {
        let doc = phone.replica.docs.get_mut(id).unwrap();
        doc.edit(&stamp("c1", at), |h| h.visits.entry("2026-11".into()).or_default().note = format!("{at}")).unwrap();
    };
    write(&mut phone, "H2", 1_795_000_500);
    write(&mut phone, "H1", 1_795_000_200);
    write(&mut phone, "H1", 1_795_000_900);
    assert_eq!(phone.replica.oldest_unsynced(), Some(1_795_000_200));
    phone.sync(&mut server, None);
    assert_eq!(phone.replica.oldest_unsynced(), None);
}

#[test]
fn an_edit_goes_up_in_one_round_trip_and_is_confirmed() {
    let mut server = Server::with(&["H1"]);
    let mut phone = Phone::new("c1", &["H1"]);
    phone.sync(&mut server, None);
    phone.edit("H1", "2026-11", "在家");
    assert_eq!(phone.replica.unsynced(), 1);
    let (session, end, _) = phone.sync(&mut server, None);
    assert_eq!(end, Next::Done);
    assert_eq!(note(&server.docs["H1"], "2026-11").as_deref(), Some("在家"));
    assert_eq!(phone.replica.unsynced(), 0, "the server's answer confirmed the edit");
    assert!(session.rounds() <= 2, "{} rounds", session.rounds());
}

#[test]
fn a_refused_household_sits_out_while_the_rest_of_the_batch_goes_through() {
    let mut server = Server::with(&["H1", "H2"]);
    let mut phone = Phone::new("c1", &["H1", "H2"]);
    phone.sync(&mut server, None);
    phone.edit("H1", "2026-11", "一");
    phone.edit("H2", "2026-11", "二");
    server.refuse.insert("H1".into());
    let (session, end, applied) = phone.sync(&mut server, None);
    assert_eq!(end, Next::Done);
    assert_eq!(session.refused().keys().collect::<Vec<_>>(), ["H1"]);
    assert_eq!(applied.iter().map(|a| a.refused.len()).sum::<usize>(), 1, "refused once, then left out");
    assert_eq!(note(&server.docs["H2"], "2026-11").as_deref(), Some("二"));
    assert_eq!(note(&phone.replica.docs["H1"], "2026-11").as_deref(), Some("一"), "the phone keeps its work");
    assert!(phone.replica.is_unsynced("H1") && !phone.replica.is_unsynced("H2"));
}

#[test]
fn a_lost_answer_is_resent_by_the_next_session_and_nothing_is_doubled() {
    let mut server = Server::with(&["H1"]);
    let mut phone = Phone::new("c1", &["H1"]);
    phone.sync(&mut server, None);
    phone.edit("H1", "2026-11", "丢失的回答");
    let (_, end, _) = phone.sync(&mut server, Some(1));
    assert!(matches!(end, Next::Send(_)), "the answer of round 1 was lost");
    // The server applied it; the phone does not know.
    assert_eq!(note(&server.docs["H1"], "2026-11").as_deref(), Some("丢失的回答"));
    assert!(phone.replica.is_unsynced("H1"));
    let (_, end, _) = phone.sync(&mut server, None);
    assert_eq!(end, Next::Done);
    assert!(!phone.replica.is_unsynced("H1"));
    assert_eq!(server.docs["H1"].heads(), phone.replica.docs["H1"].heads());
    assert_eq!(server.docs["H1"].automerge().get_changes(&[]).len(), 2, "the resent change is not doubled");
}

#[test]
fn a_state_persisted_sessions_ago_still_brings_what_others_wrote_since() {
    let mut server = Server::with(&["H1"]);
    let mut c1 = Phone::new("c1", &["H1"]);
    let mut c2 = Phone::new("c2", &["H1"]);
    c1.sync(&mut server, None);
    // c1's stored state, as the app loads it after a restart.
    let old_state = c1.saved_states["H1"].clone();
    c2.sync(&mut server, None);
    c2.edit("H1", "2026-10", "c2 写的");
    c2.sync(&mut server, None);
    c1.replica.states.insert("H1".into(), State::decode(&old_state).unwrap());
    let (_, end, _) = c1.sync(&mut server, None);
    assert_eq!(end, Next::Done);
    assert_eq!(note(&c1.replica.docs["H1"], "2026-10").as_deref(), Some("c2 写的"));
    assert_eq!(c1.replica.unsynced(), 0);
}

#[test]
fn a_session_stops_at_the_round_limit_when_answers_never_come_back() {
    let mut server = Server::with(&["H1"]);
    let mut phone = Phone::new("c1", &["H1"]);
    let mut session = Session::start(&mut phone.replica);
    let mut rounds = 0;
    loop {
        match session.next_batch(&mut phone.replica) {
            Next::Send(batch) => {
                server.handle("c1", &batch);
                rounds += 1;
                // The answer leaves the household out: asked again next round.
                let applied = session.receive(&mut phone.replica, Vec::new(), &stamp("c1", 1));
                assert_eq!(applied, Applied::default());
            }
            Next::RoundLimit => break,
            Next::Done => panic!("nothing was ever answered"),
        }
    }
    assert_eq!((rounds, session.rounds()), (MAX_ROUNDS, MAX_ROUNDS));
}

#[test]
fn a_message_that_cannot_be_applied_fails_that_household_only() {
    let mut server = Server::with(&["H1", "H2"]);
    let mut phone = Phone::new("c1", &["H1", "H2"]);
    phone.sync(&mut server, None);
    phone.edit("H1", "2026-11", "一");
    phone.replica.states.insert("H2".into(), State::new()); // H2 asks again from nothing
    let mut session = Session::start(&mut phone.replica);
    let Next::Send(batch) = session.next_batch(&mut phone.replica) else { panic!("both have something to send") };
    assert_eq!(batch.len(), 2);
    let mut replies = server.handle("c1", &batch);
    replies.iter_mut().find(|r| r.doc_id == "H2").unwrap().reply = Reply::Message(vec![0x42, 1, 2]);
    let applied = session.receive(&mut phone.replica, replies, &stamp("c1", 1));
    assert_eq!(applied.failed.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["H2"]);
    assert!(applied.states.contains(&"H1".to_owned()));
    assert!(session.failed().contains_key("H2"));
    while let Next::Send(batch) = session.next_batch(&mut phone.replica) {
        assert!(batch.iter().all(|o| o.doc_id != "H2"), "a failed household sits out the session");
        let replies = server.handle("c1", &batch);
        session.receive(&mut phone.replica, replies, &stamp("c1", 1));
    }
    assert!(!phone.replica.is_unsynced("H1"));
    // The next session tries H2 again, and it goes through.
    let (session, end, _) = phone.sync(&mut server, None);
    assert_eq!((end, session.failed().len()), (Next::Done, 0));
}

#[test]
fn a_rewritten_household_is_downloaded_again_with_the_phones_unsynced_writes_carried_over() {
    let mut server = Server::with(&["H1", "H2"]);
    let mut c1 = Phone::new("c1", &["H1", "H2"]);
    c1.edit("H1", "2026-09", "九月");
    c1.sync(&mut server, None);
    // Offline work, then an admin rewrites H1 (c1 does not know).
    c1.edit("H1", "2026-11", "十一月，未同步");
    c1.edit("H2", "2026-11", "H2 照常");
    server.rewrite("H1");
    let server_heads = server.docs["H1"].heads();
    let (session, end, applied) = c1.sync(&mut server, None);
    assert_eq!(end, Next::Done);
    assert!(session.rounds() <= 4, "rewritten, replaced, downloaded, uploaded: {} rounds", session.rounds());
    assert!(session.refused().is_empty(), "a rewrite is not a refusal: {:?}", session.refused());
    assert_eq!(applied.iter().flat_map(|a| &a.rebased).collect::<Vec<_>>(), ["H1"]);
    let on_server = &server.docs["H1"];
    assert_eq!(note(on_server, "2026-11").as_deref(), Some("十一月，未同步"), "the unsynced write reached the server");
    assert_eq!(note(on_server, "2026-09").as_deref(), Some("九月"), "the rewritten history kept its values");
    assert!(on_server.conflicts().unwrap().is_empty(), "values both sides hold merge as agreement");
    assert_eq!(on_server.automerge().get_changes(&[]).len(), 2, "the snapshot and the replay: no old history");
    assert!(on_server.heads() != server_heads);
    assert_eq!(c1.replica.docs["H1"].heads(), on_server.heads());
    assert_eq!(note(&server.docs["H2"], "2026-11").as_deref(), Some("H2 照常"));
    assert_eq!(c1.replica.unsynced(), 0);
    assert_eq!(c1.saved_docs["H1"], c1.replica.docs["H1"].save(), "the replaced copy was persisted");
}

#[test]
fn a_value_changed_on_both_sides_of_a_rewrite_is_a_conflict_not_a_silent_loss() {
    let mut server = Server::with(&["H1"]);
    let mut c1 = Phone::new("c1", &["H1"]);
    c1.sync(&mut server, None);
    c1.edit("H1", "2026-11", "c1 的记录");
    // Someone else's value, then the rewrite.
    server
        .docs
        .get_mut("H1")
        .unwrap()
        .edit(&stamp("c2", 70), |h| h.visits.entry("2026-11".into()).or_default().note = "c2 的记录".into())
        .unwrap();
    server.rewrite("H1");
    c1.sync(&mut server, None);
    let conflicts = server.docs["H1"].conflicts().unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let values: BTreeSet<_> = conflicts[0].values.iter().map(|v| format!("{:?}", v.value)).collect();
    assert!(values.iter().any(|v| v.contains("c1 的记录")) && values.iter().any(|v| v.contains("c2 的记录")));
}

#[test]
fn another_logins_unsynced_work_is_never_carried_over_in_their_stead() {
    let mut server = Server::with(&["H1"]);
    let mut c1 = Phone::new("c1", &["H1"]);
    c1.sync(&mut server, None);
    // c2 used this phone before c1 and left an unsynced edit.
    c1.replica
        .docs
        .get_mut("H1")
        .unwrap()
        .edit(&stamp("c2", 61), |h| h.visits.entry("2026-10".into()).or_default().note = "c2 的".into())
        .unwrap();
    server.rewrite("H1");
    let (session, end, applied) = c1.sync(&mut server, None);
    assert_eq!(end, Next::Done);
    assert!(session.failed()["H1"].contains("c2"), "{:?}", session.failed());
    assert!(applied.iter().all(|a| a.rebased.is_empty()));
    assert_eq!(note(&c1.replica.docs["H1"], "2026-10").as_deref(), Some("c2 的"), "kept for c2");
}

#[test]
fn the_old_copy_stays_until_the_rewritten_household_has_arrived_and_edits_meanwhile_count() {
    let mut server = Server::with(&["H1"]);
    let mut c1 = Phone::new("c1", &["H1"]);
    c1.edit("H1", "2026-09", "九月");
    c1.sync(&mut server, None);
    c1.edit("H1", "2026-11", "未同步");
    server.rewrite("H1");
    let mut session = Session::start(&mut c1.replica);
    let Next::Send(batch) = session.next_batch(&mut c1.replica) else { panic!("an edit to send") };
    let replies = server.handle("c1", &batch);
    let applied = session.receive(&mut c1.replica, replies, &stamp("c1", 100));
    assert_eq!(applied, Applied::default(), "told rewritten: nothing replaced or persisted yet");
    // The copy the app shows is whole; an edit made now is carried over too.
    assert_eq!(note(&c1.replica.docs["H1"], "2026-09").as_deref(), Some("九月"));
    c1.edit("H1", "2026-12", "下载期间的修改");
    // The download's answer is lost: the session ends, the old copy is intact.
    let Next::Send(batch) = session.next_batch(&mut c1.replica) else { panic!("the download") };
    server.handle("c1", &batch);
    drop(session);
    assert_eq!(note(&c1.replica.docs["H1"], "2026-11").as_deref(), Some("未同步"));
    // The next session replaces it.
    let (_, end, applied) = c1.sync(&mut server, None);
    assert_eq!(end, Next::Done);
    assert_eq!(applied.iter().flat_map(|a| &a.rebased).collect::<Vec<_>>(), ["H1"]);
    for (period, text) in [("2026-09", "九月"), ("2026-11", "未同步"), ("2026-12", "下载期间的修改")] {
        assert_eq!(note(&server.docs["H1"], period).as_deref(), Some(text), "{period}");
    }
}

#[test]
fn a_phone_that_lost_its_shared_heads_is_still_told_and_carries_over_only_its_own_writes() {
    let mut server = Server::with(&["H1"]);
    let mut c1 = Phone::new("c1", &["H1"]);
    c1.sync(&mut server, None);
    c1.edit("H1", "2026-11", "自己的");
    c1.replica.states.insert("H1".into(), State::new()); // its sync state was lost
    server.rewrite("H1");
    let (session, end, applied) = c1.sync(&mut server, None);
    assert_eq!(end, Next::Done);
    assert!(session.failed().is_empty() && session.refused().is_empty(), "{:?}", session.failed());
    assert_eq!(applied.iter().flat_map(|a| &a.rebased).collect::<Vec<_>>(), ["H1"]);
    let on_server = &server.docs["H1"];
    assert_eq!(
        on_server.automerge().get_changes(&[]).len(),
        2,
        "the rewritten history and the replay, nothing retired"
    );
    assert_eq!(note(on_server, "2026-11").as_deref(), Some("自己的"));
    assert!(
        on_server.conflicts().unwrap().is_empty(),
        "the admin's values were not replayed: {:?}",
        on_server.conflicts()
    );
}
