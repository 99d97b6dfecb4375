//! The sync client, without IO (PROTOCOL.md §4.3): one implementation of a phone's side
//! of the batched sync, driven by the app (`app/src/sync.rs`) and by every Rust test and
//! benchmark client (`tests/src/lib.rs`, `tests/it/crash.rs`). A driver holds a
//! [`Replica`] (documents and sync states), starts a [`Session`], and loops:
//! [`Session::next_batch`] gives the batch to send, the driver posts it, and
//! [`Session::receive`] applies the answer and says what to persist, what was refused
//! and why. No threads, no clock, no network, no storage: those are the driver's.
//!
//! ```text
//! let mut session = Session::start(&mut replica);
//! while let Next::Send(batch) = session.next_batch(&mut replica) {
//!     let replies = post(batch)?;                       // the driver's IO
//!     let applied = session.receive(&mut replica, replies, &stamp);
//!     persist(&replica, &applied)?;                     // before the next round
//! }
//! ```

use std::collections::{BTreeMap, BTreeSet};

use automerge::sync::State;
use automerge::{ActorId, ChangeHash, ReadDoc};

use crate::doc::{Author, DocError, HouseholdDoc, Stamp};
use crate::fields::Fields;
use crate::rules;
use crate::wire::{self, Incoming, Outgoing, Refusal, RefusalCode, Reply};

/// Most round trips in one session. Two are normal (the first carries the phone's new
/// changes, the second confirms); a bloom filter's false positive adds one.
pub const MAX_ROUNDS: usize = 10;

/// A phone's copy of its households: each document and its sync state with the server.
#[derive(Debug, Clone, Default)]
pub struct Replica {
    /// Household documents by id (户编码).
    pub docs: BTreeMap<String, HouseholdDoc>,
    /// The sync state of each document (only its shared heads are ever persisted).
    pub states: BTreeMap<String, State>,
}

impl Replica {
    /// Starts tracking household `id` with an empty document, to be filled by sync;
    /// `false` when it is already tracked.
    pub fn track(&mut self, id: &str, actor: &ActorId) -> bool {
        if self.docs.contains_key(id) {
            return false;
        }
        self.docs.insert(id.to_owned(), HouseholdDoc::empty(actor.clone()));
        true
    }

    /// Does household `id` hold changes the server has not confirmed?
    pub fn is_unsynced(&self, id: &str) -> bool {
        let Some(doc) = self.docs.get(id) else { return false };
        let mut heads = doc.heads();
        if heads.is_empty() {
            return false;
        }
        heads.sort();
        let mut shared = self.states.get(id).map(|s| s.shared_heads.clone()).unwrap_or_default();
        shared.sort();
        heads != shared
    }

    /// How many households hold changes the server has not confirmed.
    pub fn unsynced(&self) -> usize {
        self.docs.keys().filter(|id| self.is_unsynced(id)).count()
    }
}

/// The persisted form of a sync state: what is kept between sessions (its shared heads).
pub fn persisted(state: &State) -> State {
    State::decode(&state.encode()).unwrap_or_default()
}

/// What the session wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send this batch (`wire::encode_request`) and pass the answer to [`Session::receive`].
    Send(Vec<Outgoing>),
    /// Nothing is left to exchange.
    Done,
    /// Documents still have something to send after [`MAX_ROUNDS`] round trips: the
    /// session stops; the next one goes on from the persisted states.
    RoundLimit,
}

/// What one answer changed, for the driver to persist before the next round.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Applied {
    /// Documents that changed: save their bytes (`HouseholdDoc::save`).
    pub docs: Vec<String>,
    /// Sync states to save (`State::encode`).
    pub states: Vec<String>,
    /// Households the server refused in this answer, with its reason; they sit out
    /// the rest of the session, keeping everything they hold.
    pub refused: Vec<(String, Refusal)>,
    /// Households whose server message could not be applied; they sit out the rest of
    /// the session and their sync state is back at its persisted form.
    pub failed: Vec<(String, String)>,
    /// Households whose history an administrator rewrote: their document was replaced
    /// by an empty one carrying this user's unsynced writes ([`rebase`]), and they
    /// download the rewritten household in the next rounds.
    pub rebased: Vec<String>,
}

/// One sync session with the server.
#[derive(Debug, Default)]
pub struct Session {
    rounds: usize,
    in_flight: BTreeSet<String>,
    refused: BTreeMap<String, Refusal>,
    failed: BTreeMap<String, String>,
    rebased: BTreeSet<String>,
}

impl Session {
    /// Starts a session: every sync state goes back to its persisted form (the server may
    /// hold changes this phone has not heard of, and Automerge sends a first message
    /// only when it does not know the peer's heads; an answer lost in the last session
    /// is resent from there).
    pub fn start(replica: &mut Replica) -> Self {
        for state in replica.states.values_mut() {
            *state = persisted(state);
        }
        Self::default()
    }

    /// The next batch: one message for each document with something to send, leaving
    /// out the households refused or failed in this session.
    pub fn next_batch(&mut self, replica: &mut Replica) -> Next {
        let Replica { docs, states } = replica;
        let batch: Vec<Outgoing> = docs
            .iter()
            .filter(|(id, _)| !self.refused.contains_key(*id) && !self.failed.contains_key(*id))
            .filter_map(|(id, doc)| {
                let state = states.entry(id.clone()).or_default();
                doc.sync_message(state).map(|message| Outgoing { doc_id: id.clone(), message })
            })
            .collect();
        if batch.is_empty() {
            return Next::Done;
        }
        if self.rounds >= MAX_ROUNDS {
            return Next::RoundLimit;
        }
        self.rounds += 1;
        self.in_flight = batch.iter().map(|o| o.doc_id.clone()).collect();
        Next::Send(batch)
    }

    /// Applies the server's answer to the last batch. Replies for documents that were
    /// not in it are ignored. `stamp` signs the replay of unsynced writes onto a
    /// household whose history was rewritten.
    pub fn receive(&mut self, replica: &mut Replica, replies: Vec<Incoming>, stamp: &Stamp) -> Applied {
        let mut applied = Applied::default();
        for Incoming { doc_id: id, reply } in replies {
            if !self.in_flight.remove(&id) {
                continue;
            }
            let (Some(doc), Some(state)) = (replica.docs.get_mut(&id), replica.states.get_mut(&id)) else {
                continue;
            };
            match reply {
                Reply::Message(m) => {
                    let before = doc.heads();
                    match doc.receive_sync_message(state, &m) {
                        Ok(()) => {
                            if doc.heads() != before {
                                applied.docs.push(id.clone());
                            }
                            applied.states.push(id);
                        }
                        Err(e) => {
                            *state = persisted(state);
                            self.failed.insert(id.clone(), e.to_string());
                            applied.failed.push((id, e.to_string()));
                        }
                    }
                }
                Reply::InSync => {
                    wire::in_sync(state);
                    applied.states.push(id);
                }
                Reply::Refused(r)
                    if r.kind() == Some(RefusalCode::HistoryRewritten) && self.rebased.insert(id.clone()) =>
                {
                    match rebase(doc, state, stamp) {
                        Ok(fresh) => {
                            *doc = fresh;
                            *state = State::new();
                            applied.docs.push(id.clone());
                            applied.states.push(id.clone());
                            applied.rebased.push(id);
                        }
                        Err(e) => {
                            self.failed.insert(id.clone(), e.to_string());
                            applied.failed.push((id, e.to_string()));
                        }
                    }
                }
                Reply::Refused(r) => {
                    self.refused.insert(id.clone(), r.clone());
                    applied.refused.push((id, r));
                }
            }
        }
        // A document of the batch the answer left out is asked again next round.
        for id in std::mem::take(&mut self.in_flight) {
            if let Some(state) = replica.states.get_mut(&id) {
                *state = persisted(state);
            }
        }
        applied
    }

    /// Round trips made so far.
    pub fn rounds(&self) -> usize {
        self.rounds
    }

    /// Every household refused in this session, with the server's reason.
    pub fn refused(&self) -> &BTreeMap<String, Refusal> {
        &self.refused
    }

    /// Every household whose server message could not be applied in this session.
    pub fn failed(&self) -> &BTreeMap<String, String> {
        &self.failed
    }
}

/// The phone's copy of a household whose history an administrator rewrote, replaced:
/// an empty document (the rewritten household arrives by sync) holding one change, by
/// `stamp`, that puts again every value this user wrote since the heads the server
/// last confirmed (`state.shared_heads`). That change is concurrent with the rewritten
/// history, so a value someone else changed meanwhile shows as a conflict for a person
/// to settle, and a value the server already holds merges as agreement. A deletion
/// cannot be replayed this way (there is nothing to delete in an empty document) and is
/// not carried over.
pub fn rebase(doc: &HouseholdDoc, state: &State, stamp: &Stamp) -> Result<HouseholdDoc, DocError> {
    let am = doc.automerge();
    let since: Vec<ChangeHash> = if state.shared_heads.iter().all(|h| am.get_change_by_hash(h).is_some()) {
        state.shared_heads.clone()
    } else {
        Vec::new()
    };
    let mine: Vec<ChangeHash> = am
        .get_changes(&since)
        .into_iter()
        .filter(|c| Author::from_message(c.message()).is_some_and(|a| a.user == stamp.author.user))
        .map(|c| c.hash())
        .collect();
    let mut values = Fields::new();
    for write in rules::writes_of(doc, &mine).unwrap_or_default() {
        match write.value {
            Some(v) => values.insert(write.key, v),
            None => values.remove(&write.key),
        };
    }
    let actor = am.get_actor().clone();
    if values.is_empty() {
        return Ok(HouseholdDoc::empty(actor));
    }
    HouseholdDoc::from_fields(&values, actor, stamp)
}

#[cfg(test)]
mod tests;
