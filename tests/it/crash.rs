//! Crash safety: the server *process* is killed with SIGKILL at random moments while
//! several phones run batched syncs, and restarted, again and again. After every kill
//! the file passes `PRAGMA integrity_check` and holds every change the server
//! acknowledged; at the end one more sync converges every phone and the server to the
//! same documents.
//!
//! Acknowledged: a sync round whose 200 reply was fully received. The server's message
//! in it names its heads *after* the committed transaction, so every change those heads
//! cover is one the server said it has. A request cut by the kill acknowledges nothing;
//! the phone's next session re-sends what the server lacks.
//!
//! A change sent in a 200 round is normally covered by the reply's heads. The exception
//! is Automerge's: when the server's bloom filter falsely claims one of the change's
//! dependencies, the phone sends the change without it, the server cannot apply it and
//! (holding no state between requests) forgets it, while the phone's sync state counts
//! it as sent and does not send it again in this session, even when the server asks
//! for it. Such changes are counted as "held back", and the test checks that each had
//! a dependency the server lacked; the next session delivers them. The same false
//! positive can hide one of the server's *heads* from the phone, and a change sent in
//! that round may sit under it, out of the phone's sight. Such a change, whose
//! dependencies the server has, is counted "behind a withheld head" and checked in the
//! file like every acknowledged one.
//!
//! The server runs as its own process (the `server` binary next to this test's
//! directory, built by `cargo build -p server` if needed), so the kill is real: no
//! destructor, no flush, no graceful shutdown.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use huhujian_tests::{Peek, gzip_bytes, seed};
use server::auth::Role;
use shared::automerge::{ActorId, ChangeHash, ReadDoc};
use shared::client::{Next, Replica, Session};
use shared::wire::{self, Reply};
use shared::{HouseholdDoc, Stamp};

const CLIENTS: usize = 3;
const HOUSEHOLDS: usize = 6;
/// Kill/restart cycles; `HUHUJIAN_CRASH_CYCLES` overrides (a longer soak).
const CYCLES: usize = 20;
/// The kill comes this many milliseconds (at most) after the phones start syncing.
const MAX_DELAY_MS: u64 = 300;
const SEED: u64 = 0x4855_4855_4a49_414e; // "HUHUJIAN"

/// splitmix64: deterministic, no dependency.
#[derive(Debug)]
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The `server` binary of this build: `target/<profile>/server`, next to the
/// `target/<profile>/deps/` this test runs from. `cargo test` does not build another
/// package's binary, so this builds it (a no-op when it is up to date).
pub(crate) fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_owned();
    let bin = profile_dir.join(format!("server{}", std::env::consts::EXE_SUFFIX));
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.current_dir(workspace).args(["build", "--quiet", "-p", "server", "--bin", "server"]);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            build.arg("--release");
        }
        Some(other) => {
            build.args(["--profile", other]);
        }
        None => {}
    }
    if let Some(target_dir) = profile_dir.parent() {
        build.env("CARGO_TARGET_DIR", target_dir);
    }
    let started = Instant::now();
    match build.output() {
        Ok(out) if out.status.success() => {}
        Ok(out) if !bin.exists() => panic!(
            "the crash test needs the server binary at {}; `cargo build -p server` failed:\n{}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if !bin.exists() => panic!(
            "the crash test needs the server binary at {}; could not run cargo ({e}): run `cargo build -p server` first",
            bin.display()
        ),
        _ => eprintln!("crash test: could not rebuild the server; using {} as it is", bin.display()),
    }
    assert!(bin.exists(), "no server binary at {}", bin.display());
    println!("crash test: server binary {} (cargo build: {:.1?})", bin.display(), started.elapsed());
    bin
}

/// A `server` process on 127.0.0.1:0; killed (SIGKILL) when dropped.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Child,
    pub(crate) base: String,
    /// The plain-http redirect listener's URL, with `--redirect-bind`.
    pub(crate) redirect: Option<String>,
    /// The metrics URL, with `--metrics-bind`.
    pub(crate) metrics: Option<String>,
}

impl ServerProcess {
    /// Starts the server on `db` (a SQLite file, or a PostgreSQL URL as a path); its
    /// log is appended to `log`.
    pub(crate) fn start(bin: &Path, db: &Path, log: &Path) -> Self {
        Self::start_with(bin, db, log, &[])
    }

    /// [`ServerProcess::start`] with more `serve` flags.
    pub(crate) fn start_with(bin: &Path, db: &Path, log: &Path, flags: &[&str]) -> Self {
        Self::start_env(bin, db, log, flags, &[])
    }

    /// [`ServerProcess::start_with`] with more environment variables.
    pub(crate) fn start_env(bin: &Path, db: &Path, log: &Path, flags: &[&str], env: &[(String, String)]) -> Self {
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("server log");
        let mut child = Command::new(bin)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .arg("--db")
            .arg(db)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(flags)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads "redirecting http://… to HTTPS" if there is one, then "huhujian is
        // listening on http(s)://127.0.0.1:PORT/", then keeps draining.
        std::thread::spawn(move || {
            let (mut redirect, mut metrics) = (None, None);
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("redirecting ") {
                    redirect = rest.split_whitespace().next().map(|u| u.trim_end_matches('/').to_owned());
                }
                if let Some(rest) = line.strip_prefix("metrics at ") {
                    metrics = Some(rest.trim().to_owned());
                }
                if let Some(url) = line.split("listening on ").nth(1) {
                    let _ = tx.send((url.trim_end_matches('/').to_owned(), redirect.take(), metrics.take()));
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok((base, redirect, metrics)) => Self { child, base, redirect, metrics },
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                let log = std::fs::read_to_string(log).unwrap_or_default();
                panic!("the server did not say it was listening within 30 s ({status:?}); its log:\n{log}");
            }
        }
    }

    /// Sends the signal `name` (`HUP`: what `systemctl reload` sends).
    pub(crate) fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([&format!("-{name}"), &pid]).status().expect("kill");
        assert!(sent.success(), "kill -{name} {pid}");
    }

    /// SIGTERM (what `systemctl stop` sends), then waits for the process to end.
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        assert!(sent.success(), "kill -TERM {pid}");
        self.child.wait().expect("wait")
    }

    /// SIGKILL, then reap.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A phone, as the app keeps it: documents and persisted sync states; plus what the
/// server acknowledged to it.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) login: String,
    http: reqwest::Client,
    token: String,
    /// Its documents and sync states, synced by the engine (`shared::client`).
    pub(crate) replica: Replica,
    /// Per household, the changes the server's 200 replies said it has (their heads
    /// and everything before them that this phone knows).
    acked: BTreeMap<String, HashSet<ChangeHash>>,
    /// Changes this phone sent in rounds answered 200 that the reply covered.
    uploaded: BTreeSet<(String, ChangeHash)>,
    /// Changes sent in rounds answered 200 that the server could not apply yet.
    held_back: u64,
    /// Changes the server must have applied whose reply named a head this phone lacks.
    undecided: u64,
    pub(crate) edits: u64,
    rounds: u64,
    pub(crate) cut: u64,
    /// Requests the kill caught in flight (sent, reply not complete).
    in_flight: u64,
}

impl Client {
    pub(crate) async fn login(base: &str, login: &str, households: &[String]) -> Self {
        let http = huhujian_tests::http_builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let body = serde_json::json!({"login": login, "password": huhujian_tests::PASSWORD, "device_id": format!("phone-{login}")});
        let resp = http.post(format!("{base}/api/login")).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 200, "login {login}");
        let ok: serde_json::Value = resp.json().await.unwrap();
        let actor = ActorId::random();
        Self {
            login: login.to_owned(),
            http,
            token: ok["token"].as_str().unwrap().to_owned(),
            replica: Replica {
                docs: households.iter().map(|id| (id.clone(), HouseholdDoc::empty(actor.clone()))).collect(),
                states: BTreeMap::new(),
            },
            acked: BTreeMap::new(),
            uploaded: BTreeSet::new(),
            held_back: 0,
            undecided: 0,
            edits: 0,
            rounds: 0,
            cut: 0,
            in_flight: 0,
        }
    }

    /// One editing session: a note in a random visit of 1–4 households.
    fn edit(&mut self, rng: &mut Rng) {
        let ids: Vec<String> = self.replica.docs.keys().cloned().collect();
        for _ in 0..=rng.below(4) {
            let id = &ids[rng.below(ids.len() as u64) as usize];
            self.edits += 1;
            let period = format!("2026-{:02}", 1 + rng.below(12));
            let note = format!("{} edit {}", self.login, self.edits);
            let stamp = Stamp::new(self.login.as_str(), "干部", 1_795_000_000 + self.edits as i64);
            let doc = self.replica.docs.get_mut(id).unwrap();
            doc.edit(&stamp, |h| h.visits.entry(period).or_default().note = note).unwrap();
        }
    }

    /// One sync session (PROTOCOL.md §4.3) driven by the engine, until nothing is left
    /// to send. A cut connection (refused, reset, truncated: the server was killed) ends
    /// it with the reason; any answer but a 200 fails the test. Besides driving, it
    /// records what each 200 answer acknowledged, to check the file after the kill.
    pub(crate) async fn sync(&mut self, base: &str) -> Result<(), String> {
        let mut session = Session::start(&mut self.replica);
        loop {
            // Each message, and the changes that go out in it for the first time.
            let before: BTreeMap<String, BTreeSet<ChangeHash>> =
                self.replica.states.iter().map(|(id, s)| (id.clone(), s.sent_hashes.clone())).collect();
            let outgoing = match session.next_batch(&mut self.replica) {
                Next::Send(batch) => batch,
                Next::Done | Next::RoundLimit => return Ok(()),
            };
            let mut sending: BTreeMap<String, Vec<ChangeHash>> = BTreeMap::new();
            for o in &outgoing {
                let was = before.get(&o.doc_id).cloned().unwrap_or_default();
                sending.insert(
                    o.doc_id.clone(),
                    self.replica.states[&o.doc_id].sent_hashes.difference(&was).copied().collect(),
                );
            }
            let resp = self
                .http
                .post(format!("{base}/api/sync"))
                .bearer_auth(&self.token)
                .header("content-type", server::sync::CONTENT_TYPE)
                .header("content-encoding", "gzip")
                .header("accept-encoding", "gzip")
                .body(gzip_bytes(&wire::encode_request(&outgoing)))
                .send()
                .await
                .map_err(|e| {
                    // Refused: the server was already gone. Anything else: the kill
                    // caught this request in flight.
                    if !e.is_connect() {
                        self.in_flight += 1;
                    }
                    e.to_string()
                })?;
            let status = resp.status();
            let bytes = resp.bytes().await.map_err(|e| {
                self.in_flight += 1;
                e.to_string()
            })?;
            assert_eq!(status, 200, "{}: {}", self.login, String::from_utf8_lossy(&bytes));
            // The whole 200 reply is here: what its heads cover is acknowledged.
            self.rounds += 1;
            let replies = wire::decode_response(&bytes).expect("a 200 reply decodes");
            let messages: Vec<String> =
                replies.iter().filter(|r| matches!(r.reply, Reply::Message(_))).map(|r| r.doc_id.clone()).collect();
            let stamp = Stamp::new(self.login.as_str(), "干部", 1_795_000_000);
            let applied = session.receive(&mut self.replica, replies, &stamp);
            assert!(applied.refused.is_empty() && applied.failed.is_empty(), "{}: {applied:?}", self.login);
            for id in messages {
                self.check_reply(&id, sending.remove(&id).unwrap_or_default());
            }
        }
    }

    /// Records what the server's message for household `id` acknowledged, given the
    /// changes sent for the first time in that round.
    fn check_reply(&mut self, id: &str, sent: Vec<ChangeHash>) {
        let state = &self.replica.states[id];
        let doc = &self.replica.docs[id];
        let heads = state.their_heads.clone().unwrap_or_default();
        let heads_unknown = heads.iter().any(|h| doc.automerge().get_change_by_hash(h).is_none());
        let acked = self.acked.entry(id.to_owned()).or_default();
        cover(doc, heads, acked);
        for hash in sent {
            if acked.contains(&hash) {
                self.uploaded.insert((id.to_owned(), hash));
                continue;
            }
            let change = doc.automerge().get_change_by_hash(&hash).unwrap();
            if change.deps().iter().any(|d| !acked.contains(d)) {
                // Not applied: allowed, a dependency was missing.
                self.held_back += 1;
                continue;
            }
            // Its dependencies are on the server, so the server applied it; its heads
            // must then cover it, unless one of them is a change this phone lacks
            // (withheld by a bloom filter's false positive), which may sit on top of it.
            assert!(
                heads_unknown,
                "{}: {id}: the server answered 200 without storing {hash}, whose dependencies it has",
                self.login
            );
            // Either way the file must hold it: count it acknowledged, and
            // `check_acknowledged` looks for it after the next kill.
            acked.insert(hash);
            self.undecided += 1;
        }
    }

    /// Edits and syncs until the server goes away, or until `stop` is set (checked
    /// between sessions).
    pub(crate) async fn run_until(mut self, base: String, seed: u64, stop: Arc<AtomicBool>) -> Self {
        let mut rng = Rng(seed);
        loop {
            if stop.load(Ordering::SeqCst) {
                return self;
            }
            self.edit(&mut rng);
            if self.sync(&base).await.is_err() {
                self.cut += 1;
                return self;
            }
        }
    }
}

/// The database's documents by id (opening it replays the WAL the killed server left).
fn stored(db: &Path) -> BTreeMap<String, HouseholdDoc> {
    Peek::File(db.to_owned())
        .documents()
        .into_iter()
        .map(|(id, bytes)| (id, HouseholdDoc::load(&bytes, ActorId::random()).expect("stored document loads")))
        .collect()
}

/// Adds `heads` and their ancestors (those `doc` knows) to `acked`, which holds whole
/// histories: a walk stops at a change already in it.
fn cover(doc: &HouseholdDoc, heads: Vec<ChangeHash>, acked: &mut HashSet<ChangeHash>) {
    let mut stack = heads;
    while let Some(hash) = stack.pop() {
        if acked.contains(&hash) {
            continue;
        }
        if let Some(change) = doc.automerge().get_change_by_hash(&hash) {
            acked.insert(hash);
            stack.extend(change.deps().iter().copied());
        }
    }
}

/// Every change any phone was told the server has is in `docs`, the stored documents.
/// Returns how many (household, change) pairs were checked.
pub(crate) fn check_acknowledged(docs: &BTreeMap<String, HouseholdDoc>, clients: &[Client], after: &str) -> usize {
    let mut checked = BTreeSet::new();
    for c in clients {
        for (id, hashes) in &c.acked {
            for hash in hashes {
                assert!(
                    docs[id].automerge().get_change_by_hash(hash).is_some(),
                    "{after}: {id} lost change {hash}, acknowledged to {}",
                    c.login
                );
                checked.insert((id.clone(), *hash));
            }
        }
    }
    checked.len()
}

/// The file is sound and holds every change any phone was told the server has.
fn check_file(db: &Path, clients: &[Client], after: &str) -> usize {
    server::backup::integrity_check(db).unwrap_or_else(|e| panic!("{after}: {e}"));
    check_acknowledged(&stored(db), clients, after)
}

/// The logins, each household's cadres, and each phone's households.
pub(crate) type Assigned = (Vec<String>, BTreeMap<String, Vec<String>>, Vec<Vec<String>>);

/// `clients` phones (logins `k1`…) with 4 households each out of `households`, so
/// that each household is shared by two phones.
pub(crate) fn phones_and_households(clients: usize, households: usize) -> Assigned {
    let logins: Vec<String> = (1..=clients).map(|i| format!("k{i}")).collect();
    let mut assign: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut households_of: Vec<Vec<String>> = vec![Vec::new(); clients];
    for (c, list) in households_of.iter_mut().enumerate() {
        for k in 0..4 {
            let id = format!("K{}", 1 + (2 * c + k) % households);
            assign.entry(id.clone()).or_default().push(logins[c].clone());
            list.push(id);
        }
    }
    (logins, assign, households_of)
}

pub(crate) fn roster(assign: &BTreeMap<String, Vec<String>>) -> String {
    let mut csv = String::from(
        "户编码,县,乡镇,安置点,网格,住址,户类型,帮扶干部,成员编号,姓名,性别,出生日期,与户主关系,劳动能力\n",
    );
    for (i, (id, cadres)) in assign.iter().enumerate() {
        csv.push_str(&format!(
            "{id},云岭县,栋川镇,阳光社区,1栋,1栋{:03},脱贫户,{},a,户主{i},男,1980-05-01,户主,普通劳动力\n",
            101 + i,
            cadres.join(";")
        ));
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_sync_the_server_keeps_everything_it_acknowledged() {
    let started = Instant::now();
    let bin = server_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.sqlite3");
    let log = dir.path().join("server.log");

    let (logins, assign, households_of) = phones_and_households(CLIENTS, HOUSEHOLDS);
    let users: Vec<(&str, &str, Role, Option<&str>)> =
        logins.iter().map(|l| (l.as_str(), "干部", Role::Cadre, None)).collect();
    seed(&db, &users, &roster(&assign));

    let cycles = std::env::var("HUHUJIAN_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(CYCLES);
    let mut rng = Rng(SEED);
    println!("crash test: seed {SEED:#x}, {CLIENTS} phones, {cycles} kills at 0–{MAX_DELAY_MS} ms");
    let mut server = ServerProcess::start(&bin, &db, &log);
    let mut clients = Vec::new();
    for (login, households) in logins.iter().zip(&households_of) {
        let mut c = Client::login(&server.base, login, households).await;
        c.sync(&server.base).await.expect("first download");
        clients.push(c);
    }

    let mut kills = 0;
    let mut checked = 0;
    let never = Arc::new(AtomicBool::new(false));
    for cycle in 0..cycles {
        let delay = Duration::from_millis(rng.below(MAX_DELAY_MS + 1));
        let tasks: Vec<_> = clients
            .drain(..)
            .map(|c| tokio::spawn(c.run_until(server.base.clone(), rng.next(), never.clone())))
            .collect();
        tokio::time::sleep(delay).await;
        server.kill();
        kills += 1;
        for t in tasks {
            clients.push(t.await.unwrap());
        }
        checked = check_file(&db, &clients, &format!("kill {} after {delay:?}", cycle + 1));
        server = ServerProcess::start(&bin, &db, &log);
    }

    // Back up for good: the phones sync in turn until all agree with the server. Two
    // passes settle it (the first uploads, the second downloads); a change held back
    // by a bloom-filter false positive may take one more.
    let mut passes = 0;
    let on_server = loop {
        passes += 1;
        for c in &mut clients {
            c.sync(&server.base).await.unwrap_or_else(|e| panic!("final sync of {}: {e}", c.login));
        }
        let on_server = stored(&db);
        let agree = clients.iter().all(|c| c.replica.docs.iter().all(|(id, d)| d.heads() == on_server[id].heads()));
        if (agree && passes >= 2) || passes == 4 {
            break on_server;
        }
    };
    for c in &clients {
        for (id, doc) in &c.replica.docs {
            assert_eq!(doc.heads(), on_server[id].heads(), "{} and the server differ on {id}", c.login);
            assert_eq!(doc.household().unwrap(), on_server[id].household().unwrap());
        }
    }
    server.kill();
    kills += 1;
    checked = checked.max(check_file(&db, &clients, "the final kill"));

    let edits: u64 = clients.iter().map(|c| c.edits).sum();
    let uploaded: usize = clients.iter().map(|c| c.uploaded.len()).sum();
    let held_back: u64 = clients.iter().map(|c| c.held_back).sum();
    let undecided: u64 = clients.iter().map(|c| c.undecided).sum();
    let rounds: u64 = clients.iter().map(|c| c.rounds).sum();
    let cut: u64 = clients.iter().map(|c| c.cut).sum();
    let in_flight: u64 = clients.iter().map(|c| c.in_flight).sum();
    println!(
        "crash test: {kills} kills survived; {checked} acknowledged changes checked; {edits} edits, \
         {uploaded} uploads acknowledged, {held_back} held back for a missing dependency, {undecided} behind a withheld head; \
         {rounds} sync rounds answered, {cut} sessions cut ({in_flight} with a request in flight); {:.1?}",
        started.elapsed()
    );
    assert!(checked > 100, "too few acknowledged changes to mean anything: {checked}");
}
