//! The batched sync wire format: one request carries the Automerge sync messages of
//! many household documents, one response carries the replies. Pure encode/decode, no
//! IO; the server and the app both use it. PROTOCOL.md (with the server) documents it
//! byte by byte.
//!
//! ```text
//! request  = "HHJQ" version:u8=1 count:uleb { id_len:uleb id:utf8 msg_len:uleb msg }
//! response = "HHJP" version:u8=1 count:uleb { id_len:uleb id:utf8 kind:u8 len:uleb payload }
//!            kind 0: payload is a sync message; 1: in sync, payload empty;
//!            2: refused, payload is UTF-8 JSON {"code":…,"zh":…,"en":…}
//! ```
//!
//! `uleb` is unsigned LEB128, as inside Automerge's own formats.
//!
//! [`receive_untrusted`] applies one document's Automerge sync message from a peer
//! that is not trusted (the server's side of a sync), refusing what automerge 0.12
//! cannot take without panicking or running away.

use automerge::ChangeHash;

use crate::doc::{DocError, HouseholdDoc};
use crate::fields::is_valid_id;

/// Most documents one request or response may carry.
pub const MAX_ENTRIES: usize = 20_000;
/// Most `have` summaries one Automerge sync message may carry (Automerge sends one).
pub const MAX_HAVES: usize = 4;
/// Most bloom-filter probes per entry a sync message may ask for (Automerge uses 7).
pub const MAX_PROBES: u64 = 64;
/// The first bytes of every Automerge chunk.
const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// The chunk type of a change; the others are a whole document (0) and a
/// deflate-compressed change (2).
const CHANGE_CHUNK: u8 = 1;
const REQUEST_MAGIC: &[u8; 4] = b"HHJQ";
const RESPONSE_MAGIC: &[u8; 4] = b"HHJP";
const VERSION: u8 = 1;

/// A body that does not follow the format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The body does not start with the expected magic bytes.
    #[error("the body is not a huhujian sync batch (it must start with {expected:?})")]
    BadMagic {
        /// The magic this body should start with.
        expected: &'static str,
    },
    /// A version this program does not speak.
    #[error("sync format version {0} is not supported (this server speaks version 1)")]
    Version(u8),
    /// The body ends in the middle of an entry.
    #[error("the body is truncated at byte {0}")]
    Truncated(usize),
    /// More than [`MAX_ENTRIES`] documents.
    #[error("the batch holds {0} documents; at most {MAX_ENTRIES} are allowed")]
    TooMany(u64),
    /// A document id that is not a valid id.
    #[error("document id at byte {0} is not a valid household id")]
    BadId(usize),
    /// An unknown reply kind.
    #[error("unknown reply kind {0}")]
    BadKind(u8),
    /// The same document twice in one batch.
    #[error("document {0:?} appears twice in the batch")]
    Duplicate(String),
    /// Bytes after the last entry.
    #[error("{0} unexpected bytes after the last entry")]
    Trailing(usize),
}

/// One document's sync message in a request (empty: "I have nothing; tell me what you have").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The household id (户编码).
    pub doc_id: String,
    /// An encoded `automerge::sync::Message`.
    pub message: Vec<u8>,
}

/// Why the server refused one document (拒收原因): the `code` of a [`Refusal`] on the
/// wire. The one list of them, which the server writes and clients match on
/// (PROTOCOL.md lists the same codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    /// The household is not on the roster, or is outside the user's scope (one code
    /// for both: nobody learns which household numbers exist outside their own).
    UnknownHousehold,
    /// Not a readable sync message.
    BadMessage,
    /// The merged document breaks the layout (`fields::SchemaError`).
    Schema,
    /// The merged document breaks a rule that refuses documents (`Rule::rejects_document`).
    Invalid,
    /// The merged document would be stored larger than the cap.
    DocTooLarge,
    /// The upload changes a field its sender's role may not write (`rules::RULES`).
    NotAllowed,
    /// An administrator rewrote the household's history (PROTOCOL.md §4.5): the phone's
    /// copy descends from the retired history and must be replaced, carrying its unsynced
    /// writes over (`client::rebase`). Not a refusal of the phone's work.
    HistoryRewritten,
    /// The server's stored copy of the household is damaged (a disk fault): nothing is
    /// merged into it until an administrator restores it; the phone keeps its edits.
    Damaged,
}

impl RefusalCode {
    /// Every code.
    pub const ALL: [RefusalCode; 8] = [
        RefusalCode::UnknownHousehold,
        RefusalCode::BadMessage,
        RefusalCode::Schema,
        RefusalCode::Invalid,
        RefusalCode::DocTooLarge,
        RefusalCode::NotAllowed,
        RefusalCode::HistoryRewritten,
        RefusalCode::Damaged,
    ];

    /// The code on the wire.
    pub fn code(self) -> &'static str {
        match self {
            RefusalCode::UnknownHousehold => "unknown_household",
            RefusalCode::BadMessage => "bad_message",
            RefusalCode::Schema => "schema",
            RefusalCode::Invalid => "invalid",
            RefusalCode::DocTooLarge => "doc_too_large",
            RefusalCode::NotAllowed => "not_allowed",
            RefusalCode::HistoryRewritten => "history_rewritten",
            RefusalCode::Damaged => "damaged",
        }
    }

    /// What the code means, (中文, English).
    pub fn meaning(self) -> (&'static str, &'static str) {
        match self {
            RefusalCode::UnknownHousehold => ("不在名册上或不在你的范围内", "Not on the roster, or outside your scope"),
            RefusalCode::BadMessage => ("同步消息无法读取", "The sync message cannot be read safely"),
            RefusalCode::Schema => ("合并后的文档不符合字段布局", "The merged document breaks the key layout"),
            RefusalCode::Invalid => ("合并后的文档违反规则", "The merged document breaks a rule"),
            RefusalCode::DocTooLarge => ("文档超过存储上限", "The document would be stored larger than the cap"),
            RefusalCode::NotAllowed => ("你的角色不能修改该字段", "Your role may not change that field"),
            RefusalCode::HistoryRewritten => (
                "管理员重写了该户的历史：下载新副本并带上未同步的修改",
                "An admin rewrote the history: download the new copy and carry unsynced writes over",
            ),
            RefusalCode::Damaged => (
                "服务器上该户的记录已损坏，须由管理员从备份恢复；手机上的修改保留",
                "The server's copy is damaged and must be restored by an admin; the phone keeps its edits",
            ),
        }
    }

    /// The code of a wire string; `None` for one this build does not know (a newer
    /// server's).
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// A refusal of one document, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Refusal {
    /// Stable machine-readable code: a [`RefusalCode`]'s, e.g. `unknown_household`, `schema`.
    pub code: String,
    /// 中文说明.
    pub zh: String,
    /// English message.
    pub en: String,
}

impl Refusal {
    /// A refusal for `code` with both messages.
    pub fn new(code: RefusalCode, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { code: code.code().to_owned(), zh: zh.into(), en: en.into() }
    }
    /// Its code, if this build knows it.
    pub fn kind(&self) -> Option<RefusalCode> {
        RefusalCode::parse(&self.code)
    }
}

/// The server's answer for one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A sync message to apply.
    Message(Vec<u8>),
    /// Nothing more to exchange.
    InSync,
    /// This document was refused; the rest of the batch is unaffected.
    Refused(Refusal),
}

/// One document's reply in a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The household id.
    pub doc_id: String,
    /// What the server says about it.
    pub reply: Reply,
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

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_uleb(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn header(bytes: &'a [u8], magic: &'static [u8; 4]) -> Result<(Self, usize), WireError> {
        let expected = std::str::from_utf8(magic).unwrap_or("?");
        if bytes.len() < 4 || &bytes[..4] != magic {
            return Err(WireError::BadMagic { expected });
        }
        let mut r = Reader { bytes, pos: 4 };
        let version = r.byte()?;
        if version != VERSION {
            return Err(WireError::Version(version));
        }
        let count = r.uleb()?;
        if count > MAX_ENTRIES as u64 {
            return Err(WireError::TooMany(count));
        }
        Ok((r, count as usize))
    }

    fn byte(&mut self) -> Result<u8, WireError> {
        let b = *self.bytes.get(self.pos).ok_or(WireError::Truncated(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn uleb(&mut self) -> Result<u64, WireError> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(WireError::Truncated(self.pos))
    }

    fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let start = self.pos;
        let len = self.uleb()?;
        let left = (self.bytes.len() - self.pos) as u64;
        if len > left {
            return Err(WireError::Truncated(start));
        }
        let out = &self.bytes[self.pos..self.pos + len as usize];
        self.pos += len as usize;
        Ok(out)
    }

    fn id(&mut self, seen: &mut std::collections::HashSet<String>) -> Result<String, WireError> {
        let at = self.pos;
        let raw = self.bytes()?;
        let id = std::str::from_utf8(raw).ok().filter(|s| is_valid_id(s)).ok_or(WireError::BadId(at))?;
        if !seen.insert(id.to_owned()) {
            return Err(WireError::Duplicate(id.to_owned()));
        }
        Ok(id.to_owned())
    }

    fn finish(&self) -> Result<(), WireError> {
        match self.bytes.len() - self.pos {
            0 => Ok(()),
            n => Err(WireError::Trailing(n)),
        }
    }
}

/// Encodes a request.
pub fn encode_request(entries: &[Outgoing]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + entries.iter().map(|e| e.doc_id.len() + e.message.len() + 4).sum::<usize>());
    out.extend_from_slice(REQUEST_MAGIC);
    out.push(VERSION);
    put_uleb(&mut out, entries.len() as u64);
    for e in entries {
        put_bytes(&mut out, e.doc_id.as_bytes());
        put_bytes(&mut out, &e.message);
    }
    out
}

/// Decodes a request; any flaw refuses the whole body.
pub fn decode_request(body: &[u8]) -> Result<Vec<Outgoing>, WireError> {
    let (mut r, count) = Reader::header(body, REQUEST_MAGIC)?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let doc_id = r.id(&mut seen)?;
        let message = r.bytes()?.to_vec();
        out.push(Outgoing { doc_id, message });
    }
    r.finish()?;
    Ok(out)
}

/// Encodes a response.
pub fn encode_response(entries: &[Incoming]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(RESPONSE_MAGIC);
    out.push(VERSION);
    put_uleb(&mut out, entries.len() as u64);
    for e in entries {
        put_bytes(&mut out, e.doc_id.as_bytes());
        match &e.reply {
            Reply::Message(m) => {
                out.push(0);
                put_bytes(&mut out, m);
            }
            Reply::InSync => {
                out.push(1);
                put_bytes(&mut out, &[]);
            }
            Reply::Refused(refusal) => {
                out.push(2);
                put_bytes(&mut out, serde_json::to_string(refusal).unwrap_or_default().as_bytes());
            }
        }
    }
    out
}

/// Decodes a response.
pub fn decode_response(body: &[u8]) -> Result<Vec<Incoming>, WireError> {
    let (mut r, count) = Reader::header(body, RESPONSE_MAGIC)?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let doc_id = r.id(&mut seen)?;
        let kind = r.byte()?;
        let at = r.pos;
        let payload = r.bytes()?;
        let reply = match kind {
            0 => Reply::Message(payload.to_vec()),
            1 => Reply::InSync,
            2 => Reply::Refused(serde_json::from_slice(payload).map_err(|_| WireError::Truncated(at))?),
            k => return Err(WireError::BadKind(k)),
        };
        out.push(Incoming { doc_id, reply });
    }
    r.finish()?;
    Ok(out)
}

/// Checks an Automerge sync message from an untrusted peer before it is applied.
///
/// automerge 0.12 trusts what a message carries and asks for, and panics or runs away
/// on what no honest peer sends. When answering it (`generate_sync_message`):
/// - the same change hash twice in `need` (a panic assembling the changes: `MissingOps`);
/// - a bloom filter in `have` with entries but no bits (a division by zero);
/// - a bloom filter claiming up to 2³² probes (16 GB reserved, and that many steps for
///   each change).
///
/// When reading it:
/// - a compressed change chunk (type 2): automerge inflates it whole, with no bound,
///   before checking anything (64 MiB from 64 KB; ~16 GB from a 16 MiB body). Its sync
///   sends changes uncompressed (`raw_bytes`), so honest peers never send one.
///
/// - a document chunk (type 0): automerge decodes its columns trusting the run lengths
///   they claim, so a few bytes claiming a run of 2³² values cost it 40 s and 16 GB
///   before it fails. Peers send whole documents only to a peer that advertises the
///   capability (Automerge's message flags), and [`answer`] never does, so honest
///   clients send changes.
///
/// Such a message, or one with more than [`MAX_HAVES`] summaries, is refused as
/// unreadable, like one that does not decode.
pub fn check_sync_message(message: &[u8]) -> Result<(), DocError> {
    let bad = |why: String| DocError::BadSyncMessage(why);
    let decoded = automerge::sync::Message::decode(message).map_err(|e| bad(e.to_string()))?;
    for bytes in decoded.changes.iter() {
        // One or more chunks: magic, checksum, type, ULEB128 length, data. Walk them as
        // automerge will, and stop where it would stop reading.
        let mut r = Reader { bytes, pos: 0 };
        while bytes.get(r.pos..r.pos + 4) == Some(CHUNK_MAGIC.as_slice()) && bytes.len() > r.pos + 8 {
            match bytes[r.pos + 8] {
                CHANGE_CHUNK => {}
                0 => return Err(bad("it holds a whole document; send changes".into())),
                _ => return Err(bad("it holds a compressed change; send changes uncompressed".into())),
            }
            r.pos += 9;
            match r.uleb() {
                Ok(len) if len <= (bytes.len() - r.pos) as u64 => r.pos += len as usize,
                _ => break,
            }
        }
    }
    let mut need = decoded.need.clone();
    need.sort_unstable();
    if need.windows(2).any(|w| w[0] == w[1]) {
        return Err(bad("it asks for the same change twice".into()));
    }
    if decoded.have.len() > MAX_HAVES {
        return Err(bad(format!("{} bloom filters; at most {MAX_HAVES} are allowed", decoded.have.len())));
    }
    for have in &decoded.have {
        // Empty for a filter with no entries; else entries, bits per entry and probes
        // (ULEB128), then the bits.
        let bytes = have.bloom.to_bytes();
        if bytes.is_empty() {
            continue;
        }
        let mut r = Reader { bytes: &bytes, pos: 0 };
        let mut number = || r.uleb().map_err(|e| bad(e.to_string()));
        let (_entries, _bits_per_entry, probes) = (number()?, number()?, number()?);
        if r.pos == bytes.len() {
            return Err(bad("a bloom filter with entries but no bits".into()));
        }
        if probes > MAX_PROBES {
            return Err(bad(format!("a bloom filter with {probes} probes; at most {MAX_PROBES} are allowed")));
        }
    }
    Ok(())
}

/// Applies an Automerge sync message from an untrusted peer to `doc`, refusing it
/// (`Err`) where automerge 0.12 would panic, now or later:
/// - what [`check_sync_message`] refuses;
/// - a panic while applying it: automerge panics on some well-framed changes whose
///   columns are corrupt (`unwrap`s in its column decoders; `shared/tests/hostile_input.rs`
///   finds them by flipping single bits of real changes);
/// - changes automerge accepts but cannot give back: some corrupt changes apply, and
///   then listing the document's changes (history, conflicts, the server's change log,
///   the answer to the next phone) panics. When the message brought changes, the new
///   ones are listed here, and each listed change must read back as the change the
///   document holds (the same hash), so that appending them to the stored bytes loads
///   as `doc`;
/// - a panic while generating the answer, tried here on a copy of `state`: the
///   caller's own `sync_message` with `state` then does the same work and cannot panic.
///
/// On `Ok`, the new changes when the message brought any: append them to the bytes
/// `doc` was loaded from (the server does; [`save_checked`] compacts). On `Err`, `doc`
/// and `state` may be half-updated: throw both away, as the server does (it applies
/// messages to a copy and keeps its sync state only on success).
pub fn receive_untrusted(
    doc: &mut HouseholdDoc,
    state: &mut automerge::sync::State,
    message: &[u8],
) -> Result<Option<NewChanges>, DocError> {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    check_sync_message(message)?;
    let before = doc.heads();
    catch_unwind(AssertUnwindSafe(|| doc.receive_sync_message(state, message)))
        .unwrap_or_else(|_| Err(corrupt("apply them")))?;
    let new = new_since(doc, &before)?;
    try_answer(doc, state)?;
    Ok(new)
}

/// [`receive_untrusted`] for a document still in its stored bytes `stored` (whose heads
/// are `stored_heads`), with one Automerge apply instead of two. Loading a document
/// saved with appended changes applies them, and receiving a message applies its
/// changes again: each apply walks every op of the flat root map (a document that
/// loads in 0.39 ms saved whole takes 0.58 ms with appended changes, `BENCHMARKS.md`). Here the message's changes are loaded together with
/// the stored bytes, then the message is received and finds them there; the shared
/// heads are advanced over them first as Automerge's receive would have, so `state`
/// ends exactly as [`receive_untrusted`] leaves it, with the same document and new
/// changes (`wire::tests` compares the two).
///
/// `None`, with `state` untouched, whenever this cannot vouch for that: a message that
/// adds nothing, unreadable or corrupt changes, any error or panic on the way. Load the
/// document and call [`receive_untrusted`] then: it gives the outcome or the precise
/// refusal.
pub fn load_and_receive(
    stored: &[u8],
    stored_heads: &[ChangeHash],
    actor: automerge::ActorId,
    state: &mut automerge::sync::State,
    message: &[u8],
) -> Option<(HouseholdDoc, NewChanges)> {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    check_sync_message(message).ok()?;
    let changes = automerge::sync::Message::decode(message).ok()?.changes;
    if changes.is_empty() {
        return None;
    }
    let mut bytes = Vec::with_capacity(stored.len() + changes.iter().map(<[u8]>::len).sum::<usize>());
    bytes.extend_from_slice(stored);
    changes.iter().for_each(|chunk| bytes.extend_from_slice(chunk));
    let mut doc = catch_unwind(|| HouseholdDoc::load(&bytes, actor)).ok()?.ok()?;
    let after = doc.heads();
    let holds = |h: &ChangeHash| doc.automerge().get_change_meta_by_hash(h).is_some();
    if after == stored_heads || !stored_heads.iter().all(holds) {
        return None;
    }
    let mut received = state.clone();
    received.shared_heads = advance_shared_heads(stored_heads, &after, &state.shared_heads);
    catch_unwind(AssertUnwindSafe(|| doc.receive_sync_message(&mut received, message))).ok()?.ok()?;
    if doc.heads() != after {
        return None;
    }
    let new = new_since(&doc, stored_heads).ok()??;
    try_answer(&doc, &received).ok()?;
    *state = received;
    Some((doc, new))
}

/// The shared heads after a message's changes took the document from heads `before`
/// to `after`: the new heads, and those of `shared` that are still heads. What
/// automerge 0.12's `receive_sync_message` computes (its private `advance_heads`).
fn advance_shared_heads(before: &[ChangeHash], after: &[ChangeHash], shared: &[ChangeHash]) -> Vec<ChangeHash> {
    let new = after.iter().filter(|h| !before.contains(h));
    let kept = shared.iter().filter(|h| after.contains(h));
    let mut heads: Vec<ChangeHash> = new.chain(kept).copied().collect();
    heads.sort();
    heads.dedup();
    heads
}

/// The changes `doc` holds beyond the heads `before`, listed and read back (see
/// [`receive_untrusted`]); `None` when there are none.
fn new_since(doc: &HouseholdDoc, before: &[ChangeHash]) -> Result<Option<NewChanges>, DocError> {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    if doc.heads() == before {
        return Ok(None);
    }
    // Listing the new changes rebuilds them from the document's ops (where corrupt
    // columns panic); the older ones were listed when they arrived.
    let listed =
        catch_unwind(AssertUnwindSafe(|| doc.automerge().get_changes(before))).map_err(|_| corrupt("list them"))?;
    NewChanges::read_back(before, &doc.heads(), &listed).map(Some).ok_or_else(|| corrupt("read them back"))
}

/// Generates the answer to the peer of `state` on a copy of it: the caller's own
/// `sync_message` with `state` then does the same work and cannot panic.
fn try_answer(doc: &HouseholdDoc, state: &automerge::sync::State) -> Result<(), DocError> {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let mut trial = state.clone();
    catch_unwind(AssertUnwindSafe(|| doc.sync_message(&mut trial))).map_err(|_| corrupt("answer them"))?;
    Ok(())
}

fn corrupt(what: &str) -> DocError {
    DocError::BadSyncMessage(format!("its changes are corrupt: Automerge cannot {what}"))
}

/// The changes a sync message added to a document, as Automerge change chunks in
/// causal order: the stored bytes of the document before, followed by these, load as
/// the document after (a document chunk may be followed by change chunks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChanges {
    /// The change chunks, concatenated.
    pub bytes: Vec<u8>,
    /// How many chunks.
    pub count: usize,
    /// Their hashes, in the same order.
    pub hashes: Vec<automerge::ChangeHash>,
}

impl NewChanges {
    /// Parses every listed change again from its bytes and checks that, added to
    /// `before`, they make exactly the heads `after`: a change whose bytes no longer
    /// hash to what the document holds would show up as an extra head.
    fn read_back(
        before: &[automerge::ChangeHash],
        after: &[automerge::ChangeHash],
        listed: &[automerge::Change],
    ) -> Option<Self> {
        use std::collections::BTreeSet;
        let mut bytes = Vec::with_capacity(listed.iter().map(|c| c.raw_bytes().len()).sum());
        let mut hashes = Vec::with_capacity(listed.len());
        let mut deps = BTreeSet::new();
        for change in listed {
            let parsed = automerge::Change::try_from(change.raw_bytes()).ok()?;
            hashes.push(parsed.hash());
            deps.extend(parsed.deps().iter().copied());
            bytes.extend_from_slice(change.raw_bytes());
        }
        let heads: BTreeSet<_> = before.iter().chain(&hashes).filter(|h| !deps.contains(*h)).copied().collect();
        (heads == after.iter().copied().collect()).then_some(Self { bytes, count: listed.len(), hashes })
    }
}

/// `doc` saved whole, if those bytes load again as the same document (the same heads):
/// the server compacts a document's appended changes with this, and keeps appending
/// when it fails (`None`). Automerge's panics are caught.
pub fn save_checked(doc: &HouseholdDoc) -> Option<Vec<u8>> {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    catch_unwind(AssertUnwindSafe(|| {
        let bytes = doc.save();
        let loaded = HouseholdDoc::load(&bytes, doc.automerge().get_actor().clone()).ok()?;
        (loaded.heads() == doc.heads()).then_some(bytes)
    }))
    .ok()
    .flatten()
}

/// Whether `message`, from a peer, says that it holds exactly the document whose heads
/// are `heads`, and brings and asks for nothing: the server can then answer "in sync"
/// without loading the document (a phone's idle sync, every minute, of every household
/// it holds). `false` for anything else, malformed messages included: the full path
/// handles (and refuses) those.
pub fn says_in_sync(message: &[u8], heads: &[automerge::ChangeHash]) -> bool {
    if heads.is_empty() || check_sync_message(message).is_err() {
        return false;
    }
    let Ok(m) = automerge::sync::Message::decode(message) else { return false };
    let mut theirs = m.heads;
    theirs.sort_unstable();
    let mut ours = heads.to_vec();
    ours.sort_unstable();
    m.changes.is_empty() && m.need.is_empty() && theirs == ours
}

/// Does `message` name any of `hashes`: among its heads, the heads it says both sides
/// shared (`have.last_sync`), the changes it asks for, or the changes it carries and
/// their dependencies? For a household whose history was rewritten (PROTOCOL.md §4.5),
/// with `hashes` the retired history's changes, this is a phone holding that history:
/// the server answers [`RefusalCode::HistoryRewritten`] instead of merging the two
/// (which would double every value). An unreadable message names nothing (it is
/// refused for what it is).
pub fn names_any_of(message: &[u8], hashes: &std::collections::HashSet<automerge::ChangeHash>) -> bool {
    let Ok(m) = automerge::sync::Message::decode(message) else { return false };
    let carried = m.changes.iter().filter_map(|bytes| automerge::Change::try_from(bytes).ok());
    let named =
        m.heads.iter().chain(m.have.iter().flat_map(|h| &h.last_sync)).chain(&m.need).any(|h| hashes.contains(h));
    named || carried.into_iter().any(|c| hashes.contains(&c.hash()) || c.deps().iter().any(|h| hashes.contains(h)))
}

/// Does `message` announce heads that `doc` does not hold (and it does not carry)?
pub fn names_unknown_heads(message: &[u8], doc: &HouseholdDoc) -> bool {
    let Ok(m) = automerge::sync::Message::decode(message) else { return false };
    m.heads.iter().any(|h| doc.automerge().get_change_meta_by_hash(h).is_none())
}

/// `reply` with the changes it would send left out (its heads, filter and requests
/// kept): the peer answers with what it has before it receives anything.
pub fn without_changes(reply: Reply) -> Reply {
    let Reply::Message(bytes) = reply else { return reply };
    match automerge::sync::Message::decode(&bytes) {
        Ok(mut m) if !m.changes.is_empty() => {
            m.changes = automerge::sync::ChunkList::from(Vec::<Vec<u8>>::new());
            Reply::Message(m.encode())
        }
        _ => Reply::Message(bytes),
    }
}

/// The server's reply for one document, once the peer's message is applied to `doc`
/// with `state`:
/// - [`Reply::InSync`] when the server has nothing to send or ask for and its heads
///   equal the heads the peer just sent: the peer then records those heads as shared
///   ([`in_sync`]). A phone's upload is acknowledged in a few bytes, not with a message
///   of heads and bloom filters;
/// - otherwise the Automerge message, without its capability flags: a peer that does
///   not know the server takes whole documents sends changes, which
///   [`check_sync_message`] can read safely.
pub fn answer(doc: &HouseholdDoc, state: &mut automerge::sync::State) -> Reply {
    let Some(bytes) = doc.sync_message(state) else { return Reply::InSync };
    let Ok(mut message) = automerge::sync::Message::decode(&bytes) else { return Reply::Message(bytes) };
    if message.changes.is_empty() && message.need.is_empty() && state.their_heads.as_ref() == Some(&message.heads) {
        return Reply::InSync;
    }
    message.flags = None;
    Reply::Message(message.encode())
}

/// What a client does with [`Reply::InSync`]: the server holds exactly the heads this
/// client last sent, so they are shared (and persisted with the state), and it needs
/// nothing more (a `need` it sent earlier in the session is met: left in place, the
/// client would send those changes again every round).
pub fn in_sync(state: &mut automerge::sync::State) {
    state.shared_heads.clone_from(&state.last_sent_heads);
    state.their_heads = Some(state.last_sent_heads.clone());
    state.their_need = Some(Vec::new());
    state.in_flight = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_message_with_the_same_heads_says_in_sync_and_nothing_else_does() {
        use crate::doc::Stamp;
        let stamp = Stamp::new("cadre01", "李明", 100);
        let server = HouseholdDoc::create("h1", automerge::ActorId::from(vec![1; 16]), &stamp).unwrap();
        let mut phone = HouseholdDoc::load(&server.save(), automerge::ActorId::from(vec![2; 16])).unwrap();
        let first = |doc: &HouseholdDoc| doc.sync_message(&mut automerge::sync::State::new()).unwrap();
        assert!(says_in_sync(&first(&phone), &server.heads()), "same document, nothing to send");
        assert!(!says_in_sync(&first(&phone), &[]), "unknown stored heads");
        assert!(!says_in_sync(b"not a message", &server.heads()));
        phone.edit(&stamp, |h| h.facts.address = "3栋501".into()).unwrap();
        assert!(!says_in_sync(&first(&phone), &server.heads()), "the phone has a change");
        let mut shared = automerge::sync::State::new();
        shared.shared_heads = server.heads();
        let with_change = phone.sync_message(&mut shared).unwrap();
        assert!(!automerge::sync::Message::decode(&with_change).unwrap().changes.is_empty());
        assert!(!says_in_sync(&with_change, &phone.heads()), "it carries a change");
    }

    /// `load_and_receive` against the two steps it replaces (load the stored bytes, then
    /// `receive_untrusted`): where those bring changes, the same document, new changes,
    /// sync state and answer; elsewhere `None` with the state untouched.
    #[test]
    fn loading_a_message_with_the_stored_bytes_ends_as_loading_then_receiving() {
        use crate::doc::Stamp;
        use automerge::ActorId;
        use automerge::sync::{Message, State};
        let stamp = Stamp::new("cadre01", "李明", 100);
        let mut server = HouseholdDoc::create("h1", ActorId::from(vec![1; 16]), &stamp).unwrap();
        let mut phone = HouseholdDoc::load(&server.save(), ActorId::from(vec![2; 16])).unwrap();
        let whole = server.save();
        let base = server.heads();
        for i in 0..3 {
            server.edit(&stamp, |h| h.facts.address = format!("{i}栋")).unwrap();
        }
        // The document as the server stores it: saved whole, or with appended changes.
        let appended = [whole, server.automerge().save_after(&base)].concat();
        let stored_forms = [server.save(), appended];
        // The phone records offline; a second phone's message claims a head it withholds.
        let mut in_sync = State::new();
        in_sync.shared_heads = base.clone();
        let before_visit = phone.sync_message(&mut in_sync.clone()).unwrap();
        phone.edit(&stamp, |h| h.facts.grid = "3号网格".into()).unwrap();
        let withheld = phone.heads();
        phone.edit(&stamp, |h| h.facts.site = "幸福社区".into()).unwrap();
        let mut messages = vec![
            ("a first message, which asks before it sends", phone.sync_message(&mut State::new()).unwrap()),
            ("after a sync", phone.sync_message(&mut in_sync.clone()).unwrap()),
            ("nothing new", before_visit),
        ];
        let mut partial = Message::decode(&messages[1].1).unwrap();
        let last = phone.automerge().get_changes(&withheld);
        partial.changes = automerge::sync::ChunkList::from(vec![last[0].raw_bytes().to_vec()]);
        messages.push(("a change whose dependency is withheld", partial.clone().encode()));
        let first = phone.automerge().get_changes(&base);
        partial.changes = automerge::sync::ChunkList::from(vec![first[0].raw_bytes().to_vec()]);
        partial.heads.push(automerge::ChangeHash([7; 32]));
        partial.heads.sort();
        messages.push(("a head the phone does not send", partial.encode()));
        let mut server_side_states = vec![State::new(), State::new()];
        server_side_states[1].shared_heads = base.clone();
        let actor = ActorId::from(vec![9; 16]);
        let mut fast = 0;
        for stored in &stored_forms {
            for (what, message) in &messages {
                for state in &server_side_states {
                    let mut two_steps = HouseholdDoc::load(stored, actor.clone()).unwrap();
                    let stored_heads = two_steps.heads();
                    let mut slow_state = state.clone();
                    let slow = receive_untrusted(&mut two_steps, &mut slow_state, message).unwrap();
                    let mut one_step_state = state.clone();
                    match (slow, load_and_receive(stored, &stored_heads, actor.clone(), &mut one_step_state, message)) {
                        (Some(new), Some((one_step, one_step_new))) => {
                            fast += 1;
                            assert_eq!(one_step.heads(), two_steps.heads(), "{what}");
                            assert_eq!(one_step_new, new, "{what}");
                            assert_eq!(one_step_state, slow_state, "{what}");
                            // The same answer; its changes may come bundled in another order.
                            let answer = |doc: &HouseholdDoc, s: &State| {
                                let bytes = doc.sync_message(&mut s.clone()).expect("an answer");
                                let mut m = Message::decode(&bytes).unwrap();
                                let mut receiver = phone.clone();
                                receiver.receive_sync_message(&mut State::new(), &bytes).unwrap();
                                m.changes = automerge::sync::ChunkList::empty();
                                (m.encode(), receiver.heads())
                            };
                            assert_eq!(answer(&one_step, &one_step_state), answer(&two_steps, &slow_state), "{what}");
                        }
                        (None, None) => assert_eq!(&one_step_state, state, "{what}: untouched"),
                        (slow, one_step) => {
                            panic!("{what}: two steps brought {slow:?}, one step {:?}", one_step.map(|(_, n)| n))
                        }
                    }
                }
            }
        }
        assert_eq!(fast, 2 * 2 * 2, "two messages bring changes, to two stored forms with two states");
        let heads = server.heads();
        let garbage = load_and_receive(&stored_forms[0], &heads, actor, &mut State::new(), b"not a message");
        assert!(garbage.is_none());
    }

    #[test]
    fn requests_and_responses_round_trip() {
        let req = vec![
            Outgoing { doc_id: "5223010001".into(), message: vec![0x42, 1, 2, 3] },
            Outgoing { doc_id: "5223010002".into(), message: vec![] },
        ];
        assert_eq!(decode_request(&encode_request(&req)).unwrap(), req);
        let resp = vec![
            Incoming { doc_id: "a".into(), reply: Reply::Message(vec![9; 300]) },
            Incoming { doc_id: "b".into(), reply: Reply::InSync },
            Incoming {
                doc_id: "c".into(),
                reply: Reply::Refused(Refusal::new(RefusalCode::UnknownHousehold, "无权访问", "Not yours")),
            },
        ];
        assert_eq!(decode_response(&encode_response(&resp)).unwrap(), resp);
        for code in RefusalCode::ALL {
            assert_eq!(RefusalCode::parse(code.code()), Some(code));
        }
        assert_eq!(RefusalCode::parse("from_a_newer_server"), None);
        // 300 needs two LEB128 bytes: 0xAC 0x02.
        let mut out = Vec::new();
        put_uleb(&mut out, 300);
        assert_eq!(out, [0xAC, 0x02]);
    }

    #[test]
    fn every_flaw_is_named_and_no_prefix_decodes() {
        let body = encode_request(&[Outgoing { doc_id: "h1".into(), message: vec![1, 2, 3] }]);
        for cut in 0..body.len() {
            assert!(decode_request(&body[..cut]).is_err(), "prefix of {cut} bytes accepted");
        }
        assert_eq!(decode_request(b"GET / HTTP/1.1"), Err(WireError::BadMagic { expected: "HHJQ" }));
        assert_eq!(decode_request(b"HHJQ\x02\x00"), Err(WireError::Version(2)));
        assert_eq!(decode_request(b"HHJQ\x01\xff\xff\x03"), Err(WireError::TooMany(65535)));
        assert!(matches!(decode_request(b"HHJQ\x01\x01\x03a/b\x00"), Err(WireError::BadId(_))));
        let twice = encode_request(&[
            Outgoing { doc_id: "h1".into(), message: vec![] },
            Outgoing { doc_id: "h1".into(), message: vec![] },
        ]);
        assert_eq!(decode_request(&twice), Err(WireError::Duplicate("h1".into())));
        let mut trailing = body.clone();
        trailing.push(0);
        assert_eq!(decode_request(&trailing), Err(WireError::Trailing(1)));
    }
}
