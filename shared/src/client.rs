//! The sync client, without IO (PROTOCOL.md §4.3): one implementation of a phone's side
//! of the batched sync, driven by the app (`app/src/sync.rs`) and by every Rust test and
//! benchmark client (`tests/src/lib.rs`, `tests/it/crash.rs`). A driver holds a
//! [`Replica`] (documents and sync states), starts a [`Session`], and loops:
//! [`Session::next_batch`] gives the batch to send, the driver posts it, and
//! [`Session::receive`] applies the answer and says what to persist, what was refused
//! and why, and which copies were replaced after an administrator rewrote a
//! household's history (PROTOCOL.md §4.5). No threads, no clock, no network, no storage: those are the driver's.
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

    /// When the oldest change the server has not confirmed was made (its stamp, Unix
    /// seconds), over every household; `None` when all is confirmed (a household whose
    /// confirmed heads are not in its document is left out: its age is unknown).
    pub fn oldest_unsynced(&self) -> Option<i64> {
        self.docs
            .iter()
            .filter(|(id, _)| self.is_unsynced(id))
            .filter_map(|(id, doc)| {
                let shared = self.states.get(id).map(|s| s.shared_heads.clone()).unwrap_or_default();
                let am = doc.automerge();
                if shared.is_empty() || !shared.iter().all(|h| am.get_change_by_hash(h).is_some()) {
                    return None;
                }
                am.get_changes(&shared).iter().map(|c| c.timestamp()).min()
            })
            .min()
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
    /// Households whose server message could not be applied, or whose copy could not
    /// be replaced after a rewrite, with why (中文 / English); they sit out the rest of
    /// the session, keeping what they hold, their sync state back at its persisted form.
    pub failed: Vec<(String, String)>,
    /// Households whose history an administrator rewrote, now replaced: the rewritten
    /// household was downloaded beside the old copy and the phone's unsynced writes
    /// put on it ([`rebase`]); they go up in the next round.
    pub rebased: Vec<String>,
}

/// A household whose history was rewritten, being downloaded afresh beside the copy
/// the replica keeps (which the app goes on showing and editing) until it is complete.
#[derive(Debug)]
struct Replacing {
    doc: HouseholdDoc,
    state: State,
}

/// One sync session with the server.
#[derive(Debug, Default)]
pub struct Session {
    rounds: usize,
    in_flight: BTreeSet<String>,
    refused: BTreeMap<String, Refusal>,
    failed: BTreeMap<String, String>,
    replacing: BTreeMap<String, Replacing>,
    /// Households told "rewritten" in this session (a second time is a refusal).
    rewritten: BTreeSet<String>,
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
        let replacing = &mut self.replacing;
        let batch: Vec<Outgoing> = docs
            .iter()
            .filter(|(id, _)| !self.refused.contains_key(*id) && !self.failed.contains_key(*id))
            .filter_map(|(id, doc)| {
                let message = match replacing.get_mut(id) {
                    Some(r) => r.doc.sync_message(&mut r.state),
                    None => doc.sync_message(states.entry(id.clone()).or_default()),
                };
                message.map(|message| Outgoing { doc_id: id.clone(), message })
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
            if self.replacing.contains_key(&id) {
                self.receive_replacing(replica, id, reply, stamp, &mut applied);
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
                            self.fail(id, unreadable(&e), &mut applied);
                        }
                    }
                }
                Reply::InSync => {
                    wire::in_sync(state);
                    applied.states.push(id);
                }
                Reply::Refused(r)
                    if r.kind() == Some(RefusalCode::HistoryRewritten) && self.rewritten.insert(id.clone()) =>
                {
                    *state = persisted(state);
                    // Replaced only if every unsynced write can be carried over.
                    match unsynced_writes(doc, state, &stamp.author.user) {
                        Ok(_) => {
                            let fresh = HouseholdDoc::empty(doc.automerge().get_actor().clone());
                            self.replacing.insert(id, Replacing { doc: fresh, state: State::new() });
                        }
                        Err(e) => self.fail(id, e, &mut applied),
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
            match self.replacing.get_mut(&id) {
                Some(r) => r.state = persisted(&r.state),
                None => {
                    if let Some(state) = replica.states.get_mut(&id) {
                        *state = persisted(state);
                    }
                }
            }
        }
        applied
    }

    /// The server's reply for a household being downloaded afresh after a rewrite.
    /// Once the download holds the rewritten history, the phone's unsynced writes (read
    /// from the copy the replica kept, so that edits made meanwhile count) are put on
    /// it and it takes the copy's place.
    fn receive_replacing(
        &mut self,
        replica: &mut Replica,
        id: String,
        reply: Reply,
        stamp: &Stamp,
        applied: &mut Applied,
    ) {
        let Some(r) = self.replacing.get_mut(&id) else { return };
        match reply {
            Reply::Message(m) => {
                if let Err(e) = r.doc.receive_sync_message(&mut r.state, &m) {
                    self.replacing.remove(&id);
                    self.fail(id, unreadable(&e), applied);
                    return;
                }
                if r.doc.heads().is_empty() {
                    return; // heads and filters only so far: the changes come next round
                }
                let Some(Replacing { doc: downloaded, state }) = self.replacing.remove(&id) else { return };
                let (Some(old), Some(old_state)) = (replica.docs.get(&id), replica.states.get(&id)) else { return };
                match rebase(old, old_state, downloaded, stamp) {
                    Ok(doc) => {
                        replica.docs.insert(id.clone(), doc);
                        replica.states.insert(id.clone(), state);
                        applied.docs.push(id.clone());
                        applied.states.push(id.clone());
                        applied.rebased.push(id);
                    }
                    Err(e) => self.fail(id, e, applied),
                }
            }
            Reply::InSync => {}
            Reply::Refused(x) => {
                self.replacing.remove(&id);
                self.refused.insert(id.clone(), x.clone());
                applied.refused.push((id, x));
            }
        }
    }

    fn fail(&mut self, id: String, why: String, applied: &mut Applied) {
        self.failed.insert(id.clone(), why.clone());
        applied.failed.push((id, why));
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

/// Why a server message could not be applied, in both languages.
fn unreadable(e: &DocError) -> String {
    format!("无法应用服务器的回复：{e} / The server's reply could not be applied: {e}")
}

/// The values this phone wrote since the heads the server last confirmed
/// (`state.shared_heads`), the last per key; a deletion drops the key (it cannot be
/// carried over: there is nothing to delete in a rewritten history). `Err` when a
/// change by another login is among them (an earlier user of this phone, whose work
/// waits for their next login): they are not carried over in `user`'s name. When the
/// shared heads are lost (none, or not in the document), every value `user` ever
/// wrote here is taken: what the server already holds merges as agreement, and a value
/// since changed by someone else shows as a conflict rather than being lost.
fn unsynced_writes(doc: &HouseholdDoc, state: &State, user: &str) -> Result<Fields, String> {
    let am = doc.automerge();
    let shared = &state.shared_heads;
    let known = !shared.is_empty() && shared.iter().all(|h| am.get_change_by_hash(h).is_some());
    let since: &[ChangeHash] = if known { shared } else { &[] };
    let mut changes = am.get_changes(since);
    let author = |c: &automerge::Change| Author::from_message(c.message()).map(|a| a.user);
    if known {
        if let Some(other) = changes.iter().filter_map(&author).find(|a| a != user) {
            return Err(format!(
                "本机有账号 {other} 未同步的修改，请 {other} 登录同步后再试 / \
                 This phone holds unsynced changes by {other}: they must log in and sync first"
            ));
        }
    } else {
        changes.retain(|c| author(c).as_deref() == Some(user));
    }
    let hashes: Vec<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
    let mut values = Fields::new();
    for write in
        rules::writes_of(doc, &hashes).map_err(|key| format!("字段 {key} 无法读取 / field {key} cannot be read"))?
    {
        match write.value {
            Some(v) => values.insert(write.key, v),
            None => values.remove(&write.key),
        };
    }
    Ok(values)
}

/// The copy that replaces `old` (whose sync state is `old_state`) once the rewritten
/// household `downloaded` has arrived: `downloaded` with one more change, by `stamp`,
/// putting every value the phone wrote since the heads the server last confirmed and
/// that `downloaded` does not already hold. The change depends on nothing, so it is
/// concurrent with the rewritten history: a value someone else changed meanwhile shows
/// as a conflict for a person to settle, never silently replaced. A deletion cannot be
/// carried over (there is nothing to delete in an empty history) and is dropped.
pub fn rebase(
    old: &HouseholdDoc,
    old_state: &State,
    downloaded: HouseholdDoc,
    stamp: &Stamp,
) -> Result<HouseholdDoc, String> {
    let mut values = unsynced_writes(old, old_state, &stamp.author.user)?;
    let current = downloaded.fields().map_err(|e| e.to_string())?;
    values.retain(|k, v| current.get(k) != Some(v));
    let mut doc = downloaded;
    if !values.is_empty() {
        let mut replay = HouseholdDoc::from_fields(&values, old.automerge().get_actor().clone(), stamp)
            .map_err(|e| e.to_string())?;
        doc.merge(&mut replay).map_err(|e| e.to_string())?;
    }
    Ok(doc)
}

#[cfg(test)]
mod tests;
