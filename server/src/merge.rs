//! Merging one batch of sync messages into the stored documents, inside the caller's
//! transaction (which commits before the answer leaves), in three stages that overlap:
//! 1. this thread reads the documents and this device's sync states, a chunk of
//!    [`MERGE_CHUNK`] households at a time (`Writer::merge_inputs`), and hands each on;
//! 2. one worker per core loads, merges, checks, validates and answers each document,
//!    and computes the bytes and projections to store (Automerge and `shared` only: no
//!    SQL, no IO);
//! 3. this thread, its reads done, writes each merged document as it comes back (SQL).
//!
//! The store's transaction stays on this thread; while it reads and writes, the workers
//! keep the other cores busy. A batch naming one household twice is merged one entry
//! at a time, so the second entry sees the first.
//!
//! A document already loaded from the stored bytes ([`DocCache`]) is merged without
//! loading the stored bytes again; every merged document is kept there for the next.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

use shared::api::User;
use shared::automerge::ChangeHash;
use shared::automerge::sync::State as SyncState;
use shared::wire::{self, Outgoing, Refusal, RefusalCode, Reply};
use shared::{Date, Household, Lang, Settings, fields, rules};

use crate::auth::Session;
use crate::denied::DeniedResult;
use crate::doc_cache::DocCache;
use crate::store::{self, Access, DocWrite, MERGE_CHUNK, MergeInput, MergedWrite, Projection, Writer};

/// What a merge measures households on (the day, and every year's settings), and
/// where it finds and keeps loaded documents.
struct Today<'a> {
    date: Date,
    settings: Settings,
    docs: &'a DocCache,
}

/// Merges `entries` for `session`'s device; one reply per entry, in order. Loaded
/// documents are taken from and kept in `docs`.
pub fn merge_batch(
    w: &mut dyn Writer,
    docs: &DocCache,
    session: &Session,
    entries: &[Outgoing],
    today: Date,
    at: i64,
) -> DeniedResult<Vec<Reply>> {
    // Read before any household is locked (`Reader::settings`).
    let today = Today { date: today, settings: w.settings()?, docs };
    merge_entries(w, session, entries, &today, at)
}

fn merge_entries(
    w: &mut dyn Writer,
    session: &Session,
    entries: &[Outgoing],
    today: &Today<'_>,
    at: i64,
) -> DeniedResult<Vec<Reply>> {
    let ids: Vec<&str> = entries.iter().map(|e| e.doc_id.as_str()).collect();
    w.lock_households(&store::Scope::of(&session.user), &ids)?;
    let mut seen = HashSet::with_capacity(entries.len());
    if !entries.iter().all(|e| seen.insert(e.doc_id.as_str())) {
        let mut replies = Vec::with_capacity(entries.len());
        for entry in entries {
            replies.extend(merge_entries(w, session, std::slice::from_ref(entry), today, at)?);
        }
        return Ok(replies);
    }
    let mut replies: Vec<Option<Reply>> = vec![None; entries.len()];
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(entries.len());
    if workers <= 1 {
        for (index, (entry, input)) in read_all(w, session, entries).into_iter().enumerate() {
            match decide(entry, input?) {
                Ok(stored) => {
                    let outcome = merge(Job { index, entry, stored }, &session.user, today)?;
                    write(w, session, entries, vec![(index, outcome)], at, &mut replies)?;
                }
                Err(refusal) => replies[index] = Some(refusal),
            }
        }
    } else {
        pipeline(w, session, entries, today, at, workers, &mut replies)?;
    }
    Ok(replies.into_iter().map(|r| r.expect("every entry answered")).collect())
}

/// Stages 1 and 3 on this thread, stage 2 on `workers` threads, jobs handed out one at
/// a time as workers come free. The first error stops the batch: workers skip what is
/// left, and the caller's transaction rolls back.
fn pipeline(
    w: &mut dyn Writer,
    session: &Session,
    entries: &[Outgoing],
    today: &Today<'_>,
    at: i64,
    workers: usize,
    replies: &mut [Option<Reply>],
) -> DeniedResult<()> {
    let failed = AtomicBool::new(false);
    let (to_merge, jobs) = mpsc::channel::<Job<'_>>();
    let jobs = Mutex::new(jobs);
    let (merged_tx, merged) = mpsc::channel::<DeniedResult<(usize, Outcome)>>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (jobs, merged_tx, failed) = (&jobs, merged_tx.clone(), &failed);
            scope.spawn(move || {
                loop {
                    let next = jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).recv();
                    let Ok(job) = next else { break };
                    if failed.load(Ordering::Relaxed) {
                        continue;
                    }
                    let index = job.index;
                    if merged_tx.send(merge(job, &session.user, today).map(|outcome| (index, outcome))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(merged_tx);
        let stop = |e| {
            failed.store(true, Ordering::Relaxed);
            e
        };
        for chunk_start in (0..entries.len()).step_by(MERGE_CHUNK) {
            let chunk = &entries[chunk_start..(chunk_start + MERGE_CHUNK).min(entries.len())];
            let inputs = read_chunk(w, session, chunk).map_err(stop)?;
            for (offset, (entry, input)) in chunk.iter().zip(inputs).enumerate() {
                let index = chunk_start + offset;
                match decide(entry, input) {
                    Ok(stored) => to_merge.send(Job { index, entry, stored }).expect("workers run until the jobs end"),
                    Err(refusal) => replies[index] = Some(refusal),
                }
            }
        }
        drop(to_merge);
        // Written a chunk at a time: fewer round trips and statements for the same rows,
        // and this thread is not what the batch waits for until the workers are done.
        let mut ready = Vec::with_capacity(MERGE_CHUNK);
        while let Ok(done) = merged.recv() {
            ready.push(done.map_err(stop)?);
            if ready.len() == MERGE_CHUNK {
                write(w, session, entries, std::mem::take(&mut ready), at, replies).map_err(stop)?;
            }
        }
        write(w, session, entries, ready, at, replies).map_err(stop)
    })
}

fn refused(code: RefusalCode, zh: impl Into<String>, en: impl Into<String>) -> Reply {
    Reply::Refused(Refusal::new(code, zh, en))
}

/// What stage 1 read for one entry.
struct Stored {
    doc: store::StoredDoc,
    state: SyncState,
}

/// One entry to merge in stage 2.
struct Job<'a> {
    index: usize,
    entry: &'a Outgoing,
    stored: Stored,
}

/// What stage 2 made of one entry.
enum Outcome {
    /// Refused: nothing is written, not even the sync state.
    Refused(Reply),
    /// Merged (maybe with nothing new): the answer, the sync state to keep, and the
    /// change to store when the message brought one.
    Merged { reply: Reply, state: SyncState, change: Option<Box<Change>> },
}

/// A merged document that gained changes, ready to write.
struct Change {
    hashes: Vec<ChangeHash>,
    bytes: Vec<u8>,
    doc_changes: i64,
    heads: Vec<ChangeHash>,
    household: Household,
    projection: Projection,
}

/// Stage 1 for a chunk of entries: their access checks, stored documents and sync
/// states, read in one go ([`Writer::merge_inputs`]).
fn read_chunk(w: &mut dyn Writer, session: &Session, chunk: &[Outgoing]) -> DeniedResult<Vec<MergeInput>> {
    let ids: Vec<&str> = chunk.iter().map(|e| e.doc_id.as_str()).collect();
    Ok(w.merge_inputs(&session.user, &session.device_id, &ids)?)
}

/// Stage 1 for every entry, chunk by chunk, paired with its entry (up to the first
/// error).
fn read_all<'e>(
    w: &mut dyn Writer,
    session: &Session,
    entries: &'e [Outgoing],
) -> Vec<(&'e Outgoing, DeniedResult<MergeInput>)> {
    let mut inputs = Vec::with_capacity(entries.len());
    for chunk in entries.chunks(MERGE_CHUNK) {
        match read_chunk(w, session, chunk) {
            Ok(got) => inputs.extend(got.into_iter().map(Ok)),
            Err(e) => {
                inputs.push(Err(e));
                break;
            }
        }
    }
    entries.iter().zip(inputs).collect()
}

/// What stage 1 read for an entry, or its refusal.
fn decide(entry: &Outgoing, input: MergeInput) -> Result<Stored, Reply> {
    let id = &entry.doc_id;
    // One answer whether the household does not exist or is someone else's: nobody
    // learns which household numbers exist outside their own.
    match input.access {
        Access::Unknown | Access::OutOfScope => {
            return Err(refused(
                RefusalCode::UnknownHousehold,
                format!("户 {id} 不存在或不在您的负责范围内"),
                format!("Household {id} does not exist or is outside your scope"),
            ));
        }
        Access::Allowed => {}
    }
    let Some(doc) = input.doc else {
        return Err(refused(
            RefusalCode::UnknownHousehold,
            format!("户 {id} 不存在"),
            format!("Household {id} does not exist"),
        ));
    };
    // An empty message means "I have nothing for this household": start afresh.
    let state = if entry.message.is_empty() {
        SyncState::new()
    } else {
        input.sync_state.and_then(|b| SyncState::decode(&b).ok()).unwrap_or_default()
    };
    Ok(Stored { doc, state })
}

/// Stage 2 for one job: the message applied to the stored document, and when it
/// brought changes, the result checked against the layout and validated.
fn merge(job: Job<'_>, uploader: &User, today: &Today<'_>) -> DeniedResult<Outcome> {
    let id = &job.entry.doc_id;
    let Stored { doc, mut state } = job.stored;
    // A phone's idle sync: it holds what is stored and brings nothing. The full path
    // would end the same way (shared heads = these heads, "in sync") after loading.
    if let Some(heads) = doc.heads.as_ref().filter(|h| wire::says_in_sync(&job.entry.message, h)) {
        state.shared_heads.clone_from(heads);
        return Ok(Outcome::Merged { reply: Reply::InSync, state, change: None });
    }
    let message = &job.entry.message;
    // A household an administrator rewrote: a phone whose message names a change of
    // the retired history is told to replace its copy (PROTOCOL.md §4.5) instead of
    // having the two histories merged.
    if !doc.retired.is_empty() && wire::names_any_of(message, &doc.retired) {
        return Ok(Outcome::Refused(refused(
            RefusalCode::HistoryRewritten,
            format!("户 {id} 的记录已由管理员整理，手机上的副本将重新下载，未同步的修改会随后上传"),
            format!(
                "Household {id}'s history was rewritten by an administrator: the phone downloads it again and then uploads its unsynced changes"
            ),
        )));
    }
    // The document loaded already from the stored bytes, when it is (the message applied
    // to it); else a message with changes is loaded with the stored bytes in one apply
    // when it can be; otherwise (or when that declines) the document is loaded, then
    // the message applied.
    let loaded = today.docs.take(id, &doc.bytes);
    let fast = match (&loaded, &doc.heads) {
        (None, Some(heads)) if !message.is_empty() => {
            wire::load_and_receive(&doc.bytes, heads, store::server_actor(), &mut state, message)
        }
        _ => None,
    };
    let (merged, new) = match (loaded, fast) {
        (Some(loaded), _) => match receive(loaded, &mut state, message) {
            Ok(received) => received,
            Err(refusal) => return Ok(Outcome::Refused(refusal)),
        },
        (None, Some((merged, new))) => (merged, Some(new)),
        (None, None) => {
            // A damaged stored copy refuses this household alone: the rest of the
            // batch merges, and the phone keeps its edits until it is restored.
            let merged = match store::parse_doc(id, &doc.bytes) {
                Ok(merged) => merged,
                Err(e) => {
                    tracing::error!(household = %id, error = %e, "sync: the stored document is damaged; refused");
                    return Ok(Outcome::Refused(refused(
                        RefusalCode::Damaged,
                        format!("服务器上户 {id} 的记录已损坏，本次未合并；手机上的修改保留，请联系管理员从备份恢复"),
                        format!(
                            "The server's record of household {id} is damaged, so nothing was merged; the phone keeps its edits. Ask an administrator to restore it from a backup."
                        ),
                    )));
                }
            };
            match receive(merged, &mut state, message) {
                Ok(received) => received,
                Err(refusal) => return Ok(Outcome::Refused(refusal)),
            }
        }
    };
    // The layout, then the rules: a rule that rejects refuses the document; the others
    // are counted for the projection.
    let checked = match &new {
        None => None,
        Some(new) => match merged.check_counting_conflicts() {
            Ok((household, conflicts)) => {
                if let Some(refusal) = breaks_a_rule(&merged, &new.hashes, &household, uploader) {
                    return Ok(Outcome::Refused(refusal));
                }
                let problems = shared::validate(&household, today.date);
                if let Some(p) = problems.iter().find(|p| p.rule.rejects_document()) {
                    return Ok(Outcome::Refused(refused(
                        RefusalCode::Invalid,
                        format!("{}（{}）", p.zh, p.path),
                        format!("{} ({})", p.en, p.path),
                    )));
                }
                Some((household, conflicts, problems.len()))
            }
            Err(e) => {
                return Ok(Outcome::Refused(refused(
                    RefusalCode::Schema,
                    format!("记录不符合格式：{}", e.zh()),
                    format!("The record breaks the layout: {e}"),
                )));
            }
        },
    };
    let mut reply = wire::answer(&merged, &mut state);
    if !doc.retired.is_empty() && wire::names_unknown_heads(message, &merged) {
        // A phone whose heads are neither here nor in the message may hold the
        // retired history: nothing is sent to it yet (it would merge the rewritten
        // history into the retired one); its next message carries its changes, and
        // their dependencies tell which history it holds.
        reply = wire::without_changes(reply);
    }
    let change = match new.zip(checked) {
        None => None,
        Some((new, (household, conflicts, problems))) => {
            let (bytes, doc_changes) = store::merged_bytes(id, &doc.bytes, doc.changes, &merged, &new);
            if bytes.len() > store::MAX_DOC_BYTES {
                let (mb, limit) = (bytes.len() as f64 / (1 << 20) as f64, store::MAX_DOC_BYTES >> 20);
                return Ok(Outcome::Refused(refused(
                    RefusalCode::DocTooLarge,
                    format!("户 {id} 的记录将达 {mb:.1} MB，超过 {limit} MB 上限，未保存；请联系管理员"),
                    format!(
                        "Household {id} would grow to {mb:.1} MB, over the {limit} MB limit; nothing was saved. Contact your administrator."
                    ),
                )));
            }
            let projection = Projection::counted(&household, conflicts, problems, today.date, &today.settings)?;
            let heads = merged.heads();
            Some(Box::new(Change { hashes: new.hashes, bytes, doc_changes, heads, household, projection }))
        }
    };
    let stored = change.as_ref().map_or(&doc.bytes[..], |c| &c.bytes[..]);
    today.docs.put(id, merged, stored);
    Ok(Outcome::Merged { reply, state, change })
}

/// `message` applied to `doc`, loaded already: the document and the changes the
/// message brought (none for an empty message), or the refusal of a message that
/// cannot be read.
fn receive(
    mut doc: shared::HouseholdDoc,
    state: &mut SyncState,
    message: &[u8],
) -> Result<(shared::HouseholdDoc, Option<wire::NewChanges>), Reply> {
    if message.is_empty() {
        return Ok((doc, None));
    }
    match wire::receive_untrusted(&mut doc, state, message) {
        Ok(new) => Ok((doc, new)),
        Err(e) => Err(refused(
            RefusalCode::BadMessage,
            format!("同步消息无法解析：{e}"),
            format!("The sync message could not be read: {e}"),
        )),
    }
}

/// The refusal of an upload by `uploader` whose changes (`hashes`, merged into
/// `merged`, which reads as `household`) write a field their role may not
/// (`shared::rules`); `None` when every write is allowed.
fn breaks_a_rule(
    merged: &shared::HouseholdDoc,
    hashes: &[ChangeHash],
    household: &Household,
    uploader: &User,
) -> Option<Reply> {
    // Admins may write every field: their uploads need no decoding.
    if uploader.role == shared::api::Role::Admin {
        return None;
    }
    let writes = match rules::writes_of(merged, hashes) {
        Ok(writes) => writes,
        Err(key) => {
            return Some(refused(
                RefusalCode::Schema,
                format!("记录不符合格式：字段 {key} 不是普通值"),
                format!("The record breaks the layout: field {key:?} is not a plain value"),
            ));
        }
    };
    let breach = rules::check_upload(uploader.role, &uploader.id, &writes, merged).err()?;
    let (zh_field, en_field) =
        (fields::describe(&breach.key, household, Lang::Zh), fields::describe(&breach.key, household, Lang::En));
    Some(refused(
        RefusalCode::NotAllowed,
        format!("无权修改“{zh_field}”（{}）：{}", breach.key, breach.rule.zh),
        format!("Not allowed to change \"{en_field}\" ({}): {}", breach.key, breach.rule.en),
    ))
}

/// Stage 3 for a run of finished entries: the refused ones answered, the merged ones'
/// change logs, documents with their projections, and sync states written in one
/// [`Writer::write_merged`] call, then answered.
fn write(
    w: &mut dyn Writer,
    session: &Session,
    entries: &[Outgoing],
    done: Vec<(usize, Outcome)>,
    at: i64,
    replies: &mut [Option<Reply>],
) -> DeniedResult<()> {
    let mut merged = Vec::with_capacity(done.len());
    for (index, outcome) in done {
        match outcome {
            Outcome::Refused(reply) => replies[index] = Some(reply),
            Outcome::Merged { reply, state, change } => merged.push((index, reply, state.encode(), change)),
        }
    }
    let writes: Vec<MergedWrite<'_>> = merged
        .iter()
        .map(|(index, _, state, change)| {
            let id = entries[*index].doc_id.as_str();
            MergedWrite {
                id,
                login: &session.user.id,
                device: &session.device_id,
                at,
                change: change.as_ref().map(|c| {
                    let doc = DocWrite {
                        id,
                        bytes: &c.bytes,
                        doc_changes: c.doc_changes,
                        heads: &c.heads,
                        household: &c.household,
                        projection: &c.projection,
                    };
                    (&c.hashes[..], doc)
                }),
                state,
            }
        })
        .collect();
    if !writes.is_empty() {
        w.write_merged(&writes)?;
    }
    drop(writes);
    for (index, reply, _, _) in merged {
        replies[index] = Some(reply);
    }
    Ok(())
}
