//! One household = one Automerge document. [`HouseholdDoc`] reads the flat layout of
//! `fields.rs` out of it and writes edits into it: one saved screen or visit is one
//! commit, stamped with its author and time.

use automerge::sync::{self, SyncDoc};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, ChangeHash, ROOT, ReadDoc, ScalarValue, ScalarValueRef, ValueRef};

use crate::fields::{self, Fields, Scalar, SchemaError};
use crate::model::{Household, UserId};

/// Who wrote a change. Carried in the change message as JSON `{"by":…,"name":…}`.
/// The client chooses it, so it is a claim; the server records the authenticated
/// uploader separately.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Author {
    /// Login id (账号).
    #[serde(rename = "by")]
    pub user: UserId,
    /// Display name (姓名).
    pub name: String,
}

/// The author and time of one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// Who.
    pub author: Author,
    /// When, in Unix seconds (Automerge's convention). Automerge reads no clock.
    pub at: i64,
}

impl Stamp {
    /// A stamp for `user` (display name `name`) at Unix second `at`.
    pub fn new(user: impl Into<String>, name: impl Into<String>, at: i64) -> Self {
        Self { author: Author { user: user.into(), name: name.into() }, at }
    }

    fn options(&self) -> CommitOptions {
        let message = serde_json::to_string(&self.author).unwrap_or_default();
        CommitOptions::default().with_message(message).with_time(self.at)
    }
}

impl Author {
    /// The author named in a change message, if it is one of ours.
    pub fn from_message(message: Option<&str>) -> Option<Self> {
        serde_json::from_str(message?).ok()
    }
}

/// Why a document could not be loaded or edited.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The bytes are not an Automerge document.
    #[error("not a readable Automerge document: {0}")]
    Corrupt(#[source] automerge::AutomergeError),
    /// The document (or the edit's result) breaks the layout.
    #[error("the household record breaks the layout: {0}")]
    Schema(#[from] SchemaError),
    /// A sync message that does not decode.
    #[error("not a readable Automerge sync message: {0}")]
    BadSyncMessage(String),
    /// Automerge refused an operation.
    #[error("Automerge refused the operation: {0}")]
    Automerge(#[from] automerge::AutomergeError),
}

/// A household's Automerge document.
#[derive(Debug, Clone)]
pub struct HouseholdDoc {
    doc: Automerge,
}

impl HouseholdDoc {
    /// A new household with registry number `registry_no`, written by `actor`.
    /// Two devices that create the same household offline get documents that merge.
    pub fn create(registry_no: &str, actor: ActorId, stamp: &Stamp) -> Result<Self, DocError> {
        let mut doc = Self { doc: Automerge::new().with_actor(actor) };
        doc.edit(stamp, |h| h.facts.registry_no = registry_no.to_owned())?;
        Ok(doc)
    }

    /// An empty document (no changes), e.g. to receive a household by sync.
    pub fn empty(actor: ActorId) -> Self {
        Self { doc: Automerge::new().with_actor(actor) }
    }

    /// A document whose history is one change, by `actor`, putting `fields`: the
    /// server's rewrite of a household's history keeping its current values
    /// (PROTOCOL.md §4.5), and a phone's replay of its unsynced writes onto the
    /// rewritten household (`client`). Checks each value against the layout.
    pub fn from_fields(fields: &Fields, actor: ActorId, stamp: &Stamp) -> Result<Self, DocError> {
        for (key, value) in fields {
            fields::check(key, value)?;
        }
        let mut doc = Self::empty(actor);
        doc.write(&Fields::new(), fields, stamp)?;
        Ok(doc)
    }

    /// Loads saved bytes. Does not check the layout: see [`HouseholdDoc::check`].
    pub fn load(bytes: &[u8], actor: ActorId) -> Result<Self, DocError> {
        let doc = Automerge::load(bytes).map_err(DocError::Corrupt)?;
        Ok(Self { doc: doc.with_actor(actor) })
    }

    /// The compact saved form.
    pub fn save(&self) -> Vec<u8> {
        self.doc.save()
    }

    /// The underlying Automerge document (for sync).
    pub fn automerge(&self) -> &Automerge {
        &self.doc
    }

    /// The underlying Automerge document, mutable (for sync).
    pub fn automerge_mut(&mut self) -> &mut Automerge {
        &mut self.doc
    }

    /// The current heads.
    pub fn heads(&self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// Merges every change of `other` into this document.
    pub fn merge(&mut self, other: &mut HouseholdDoc) -> Result<(), DocError> {
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    /// The next Automerge sync message for the peer whose state is `state`, encoded;
    /// `None` when that peer already has everything.
    ///
    /// Changes the peer says it needs are sent again even if they were sent before in
    /// this session: a peer that keeps no state between requests (our server) drops a
    /// change whose dependency it lacked (a bloom-filter false positive let us skip the
    /// dependency), asks for it again, and Automerge alone would withhold it as
    /// "already sent" for the rest of the session.
    ///
    /// The first message of a session (the state fresh from its persisted form, which
    /// keeps the heads both sides shared) also carries every change made since those
    /// shared heads. Automerge alone would send only heads and a bloom filter and wait a
    /// round trip to hear what the peer lacks; a phone's new visit is exactly what the
    /// server lacks, so it goes up at once and the whole exchange takes one round trip
    /// (PROTOCOL.md §4.3). A change the peer already has is ignored there.
    pub fn sync_message(&self, state: &mut sync::State) -> Option<Vec<u8>> {
        if let Some(need) = &state.their_need {
            for hash in need {
                state.sent_hashes.remove(hash);
            }
        }
        let first_of_session = state.their_heads.is_none();
        let mut message = self.doc.generate_sync_message(state)?;
        let known = |h: &ChangeHash| self.doc.get_change_meta_by_hash(h).is_some();
        if first_of_session
            && message.changes.is_empty()
            && !state.shared_heads.is_empty()
            && state.shared_heads.iter().all(known)
        {
            let changes: Vec<_> = self
                .doc
                .get_changes(&state.shared_heads)
                .into_iter()
                .filter(|c| !state.sent_hashes.contains(&c.hash()))
                .collect();
            state.sent_hashes.extend(changes.iter().map(|c| c.hash()));
            let raw: Vec<Vec<u8>> = changes.iter().map(|c| c.raw_bytes().to_vec()).collect();
            message.changes = sync::ChunkList::from(raw);
        }
        Some(message.encode())
    }

    /// Applies an encoded sync message from the peer whose state is `state`.
    pub fn receive_sync_message(&mut self, state: &mut sync::State, message: &[u8]) -> Result<(), DocError> {
        let message = sync::Message::decode(message).map_err(|e| DocError::BadSyncMessage(e.to_string()))?;
        self.doc.receive_sync_message(state, message)?;
        Ok(())
    }

    /// The current value of every field (the winner where values conflict).
    pub fn fields(&self) -> Result<Fields, SchemaError> {
        let mut fields = Fields::new();
        self.each_field(false, |key, value| {
            fields.insert(key.to_owned(), value);
            Ok(())
        })?;
        Ok(fields)
    }

    /// Calls `f` with every field's current value in key order (Automerge lists a
    /// map's keys sorted), and, when `losers` is set, checks every losing value of a
    /// conflicted field too and counts the conflicts (fields with two or more
    /// different values, as [`HouseholdDoc::conflicts`] lists them): one pass over the
    /// document either way, no key copied.
    fn each_field(
        &self,
        losers: bool,
        mut f: impl FnMut(&str, Scalar) -> Result<(), SchemaError>,
    ) -> Result<usize, SchemaError> {
        let mut conflicts = 0;
        for item in self.doc.map_range(ROOT, ..) {
            if losers && item.conflict {
                let values = self.all_values(&item.key)?;
                for (value, _) in &values {
                    fields::check(&item.key, value)?;
                }
                conflicts += usize::from(values.iter().any(|(v, _)| *v != values[0].0));
            }
            let value = to_scalar(&item.key, item.value)?;
            f(&item.key, value)?;
        }
        Ok(conflicts)
    }

    /// The household as it reads now (the winner where values conflict).
    pub fn household(&self) -> Result<Household, SchemaError> {
        let mut decoder = fields::Decoder::default();
        self.each_field(false, |key, value| decoder.read(key, value))?;
        Ok(decoder.finish())
    }

    /// Like [`HouseholdDoc::household`], but also checks every losing value of a
    /// conflicted field, so that nothing malformed hides behind a winner. The server
    /// runs this on every merged document before storing it.
    pub fn check(&self) -> Result<Household, SchemaError> {
        Ok(self.check_counting_conflicts()?.0)
    }

    /// [`HouseholdDoc::check`], and how many conflicts [`HouseholdDoc::conflicts`] would
    /// list, from the same pass.
    pub fn check_counting_conflicts(&self) -> Result<(Household, usize), SchemaError> {
        let mut decoder = fields::Decoder::default();
        let conflicts = self.each_field(true, |key, value| decoder.read(key, value))?;
        Ok((decoder.finish(), conflicts))
    }

    /// Every concurrent value of `key` with the op id that wrote it.
    pub(crate) fn all_values(&self, key: &str) -> Result<Vec<(Scalar, automerge::ObjId)>, SchemaError> {
        let values = self.doc.get_all(ROOT, key).unwrap_or_default();
        values
            .into_iter()
            .map(|(v, op)| match v {
                automerge::Value::Scalar(s) => Ok((scalar_from_owned(key, &s)?, op)),
                automerge::Value::Object(_) => Err(not_scalar(key)),
            })
            .collect()
    }

    /// Applies `edit` to the household and commits what changed as one change stamped
    /// with `stamp`. Only fields whose value differs are written, so a conflicted field
    /// the edit leaves alone stays conflicted. Returns `None` when nothing changed.
    pub fn edit<F>(&mut self, stamp: &Stamp, edit: F) -> Result<Option<ChangeHash>, DocError>
    where
        F: FnOnce(&mut Household),
    {
        let before = self.fields()?;
        let mut household = fields::decode(before.clone())?;
        edit(&mut household);
        let after = fields::encode(&household)?;
        self.write(&before, &after, stamp)
    }

    /// Writes, as one commit, only the fields in which `after` differs from `before`:
    /// for a screen that was opened on `before` while syncs went on underneath. Fields
    /// the screen did not touch keep whatever the document holds now, including edits
    /// merged in since the screen opened.
    pub fn edit_from(
        &mut self,
        stamp: &Stamp,
        before: &Household,
        after: &Household,
    ) -> Result<Option<ChangeHash>, DocError> {
        let old = fields::encode(before)?;
        let new = fields::encode(after)?;
        let current = self.fields()?;
        let mut target = current.clone();
        for (key, value) in &new {
            if old.get(key) != Some(value) {
                target.insert(key.clone(), value.clone());
            }
        }
        for key in old.keys().filter(|k| !new.contains_key(*k)) {
            target.remove(key);
        }
        fields::decode(target.clone())?;
        self.write(&current, &target, stamp)
    }

    /// Settles a conflicted field on `value`: one put that supersedes every concurrent
    /// value, so the conflict disappears for everyone once it has synced.
    pub fn resolve(&mut self, stamp: &Stamp, key: &str, value: &Scalar) -> Result<ChangeHash, DocError> {
        fields::check(key, value)?;
        let mut tx = self.doc.transaction();
        tx.put(ROOT, key, to_automerge(value))?;
        let (hash, _) = tx.commit_with(stamp.options());
        hash.ok_or_else(|| DocError::Automerge(automerge::AutomergeError::Fail))
    }

    fn write(&mut self, before: &Fields, after: &Fields, stamp: &Stamp) -> Result<Option<ChangeHash>, DocError> {
        let changed: Vec<(&String, &Scalar)> = after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).collect();
        let removed: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
        if changed.is_empty() && removed.is_empty() {
            return Ok(None);
        }
        let mut tx = self.doc.transaction();
        for (key, value) in changed {
            tx.put(ROOT, key.as_str(), to_automerge(value))?;
        }
        for key in removed {
            tx.delete(ROOT, key.as_str())?;
        }
        let (hash, _) = tx.commit_with(stamp.options());
        Ok(hash)
    }
}

fn not_scalar(key: &str) -> SchemaError {
    SchemaError::WrongType {
        key: key.to_owned(),
        expected: "a plain value (nested objects are not part of the layout)",
    }
}

fn to_scalar(key: &str, value: ValueRef<'_>) -> Result<Scalar, SchemaError> {
    let unsupported = || SchemaError::WrongType { key: key.to_owned(), expected: "text, an integer or true/false" };
    match value {
        ValueRef::Object(_) => Err(not_scalar(key)),
        ValueRef::Scalar(s) => match s {
            ScalarValueRef::Str(s) => Ok(Scalar::Str(s.into_owned())),
            ScalarValueRef::Int(i) => Ok(Scalar::Int(i)),
            ScalarValueRef::Uint(u) => i64::try_from(u).map(Scalar::Int).map_err(|_| unsupported()),
            ScalarValueRef::Boolean(b) => Ok(Scalar::Bool(b)),
            _ => Err(unsupported()),
        },
    }
}

pub(crate) fn scalar_from_owned(key: &str, value: &ScalarValue) -> Result<Scalar, SchemaError> {
    let unsupported = || SchemaError::WrongType { key: key.to_owned(), expected: "text, an integer or true/false" };
    match value {
        ScalarValue::Str(s) => Ok(Scalar::Str(s.to_string())),
        ScalarValue::Int(i) => Ok(Scalar::Int(*i)),
        ScalarValue::Uint(u) => i64::try_from(*u).map(Scalar::Int).map_err(|_| unsupported()),
        ScalarValue::Boolean(b) => Ok(Scalar::Bool(*b)),
        _ => Err(unsupported()),
    }
}

fn to_automerge(value: &Scalar) -> ScalarValue {
    match value {
        Scalar::Bool(b) => ScalarValue::Boolean(*b),
        Scalar::Int(i) => ScalarValue::Int(*i),
        Scalar::Str(s) => ScalarValue::Str(s.as_str().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn actor(n: u8) -> ActorId {
        ActorId::from(vec![n; 16])
    }

    #[test]
    fn one_saved_visit_is_one_commit_with_author_and_time() {
        let stamp = Stamp::new("cadre01", "李明", 1_795_000_000);
        let mut doc = HouseholdDoc::create("5223010001", actor(1), &stamp).unwrap();
        let before = doc.automerge().get_changes(&[]).len();
        let hash = doc
            .edit(&stamp, |h| {
                let v = h.visits.entry("2026-11".into()).or_default();
                v.mode = Some(VisitMode::InPerson);
                v.income.wage = Some(3000);
                v.note = "家中无人外出".into();
            })
            .unwrap()
            .unwrap();
        let changes = doc.automerge().get_changes(&[]);
        assert_eq!(changes.len(), before + 1);
        let change = doc.automerge().get_change_by_hash(&hash).unwrap();
        assert_eq!(change.len(), 3, "three fields, three ops");
        assert_eq!(change.timestamp(), 1_795_000_000);
        assert_eq!(Author::from_message(change.message()), Some(stamp.author.clone()));
        // An edit that changes nothing makes no commit.
        assert_eq!(doc.edit(&stamp, |_| {}).unwrap(), None);
        // Round trip through save/load.
        let loaded = HouseholdDoc::load(&doc.save(), actor(2)).unwrap();
        assert_eq!(loaded.household().unwrap(), doc.household().unwrap());
        assert_eq!(loaded.heads(), doc.heads());
    }

    #[test]
    fn a_screen_opened_before_a_merge_writes_only_what_it_changed() {
        let a = Stamp::new("cadre01", "李明", 1);
        let mut doc = HouseholdDoc::create("h1", actor(1), &a).unwrap();
        let opened = doc.household().unwrap();
        // Meanwhile a sync brings another cadre's note and address.
        let mut other = HouseholdDoc::load(&doc.save(), actor(2)).unwrap();
        other
            .edit(&Stamp::new("cadre02", "张华", 2), |h| {
                h.facts.address = "3栋".into();
                h.visits.entry("2026-11".into()).or_default().note = "已电话联系".into();
            })
            .unwrap();
        doc.merge(&mut other).unwrap();
        // The screen, opened before, records the visit mode and saves.
        let mut edited = opened.clone();
        edited.visits.entry("2026-11".into()).or_default().mode = Some(VisitMode::InPerson);
        doc.edit_from(&a, &opened, &edited).unwrap();
        let h = doc.household().unwrap();
        assert_eq!(h.facts.address, "3栋", "merged edit kept");
        assert_eq!(h.visits["2026-11"].note, "已电话联系", "merged edit kept");
        assert!(h.visits["2026-11"].is_in_person());
        assert_eq!(doc.edit_from(&a, &edited, &edited).unwrap(), None, "no change, no commit");
    }

    #[test]
    fn clearing_a_field_deletes_its_key() {
        let stamp = Stamp::new("cadre01", "李明", 1);
        let mut doc = HouseholdDoc::create("h1", actor(1), &stamp).unwrap();
        doc.edit(&stamp, |h| h.facts.address = "3栋2单元501".into()).unwrap();
        doc.edit(&stamp, |h| h.facts.address.clear()).unwrap();
        assert!(!doc.fields().unwrap().contains_key("f/address"));
    }

    #[test]
    fn garbage_bytes_and_foreign_documents_are_refused() {
        assert!(matches!(HouseholdDoc::load(b"not automerge", actor(1)), Err(DocError::Corrupt(_))));
        let mut foreign = Automerge::new();
        let mut tx = foreign.transaction();
        tx.put_object(ROOT, "members", automerge::ObjType::Map).unwrap();
        tx.commit();
        let doc = HouseholdDoc::load(&foreign.save(), actor(1)).unwrap();
        assert!(matches!(doc.check(), Err(SchemaError::UnknownKey(_) | SchemaError::WrongType { .. })));
    }
}
