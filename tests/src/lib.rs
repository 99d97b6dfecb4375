//! Fixtures for the end-to-end tests: a real server on an ephemeral port over a real
//! SQLite file (stopped when dropped), and `Phone`, a sync client that keeps household
//! documents and sync states the way the app does, speaking the wire format of
//! `shared::wire` over HTTP with gzip.

pub mod bench;
pub mod load;
pub mod pg;
pub mod s3;
pub mod tls;

/// An HTTP client for the tests. Every client is made here: the server crate compiles
/// reqwest's rustls without a default provider (its object-store client names ring),
/// so the process's provider is set first.
pub fn http() -> reqwest::Client {
    http_builder().build().expect("an HTTP client")
}

/// [`http`]'s builder, for a client with its own settings.
pub fn http_builder() -> reqwest::ClientBuilder {
    server::edge::tls::use_ring();
    reqwest::Client::builder()
}

/// `GET url` with [`http`].
pub async fn get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    http().get(url).send().await
}

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use shared::Stamp;
use shared::automerge::ActorId;
use shared::client::{Next, Replica, Session};
use shared::wire::{self, Incoming, Outgoing, Refusal, Reply};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The demo password, for accounts the fixtures create.
pub const PASSWORD: &str = "correct horse";

/// The engine the `tests/it` modules that apply to both run on: SQLite, unless
/// `HUHUJIAN_TEST_ENGINE=postgres` (`cargo xtask test` runs those modules a second time
/// so, each test on a PostgreSQL database of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// An embedded SQLite file in the test's folder.
    Sqlite,
    /// A database of its own on the tests' PostgreSQL ([`pg::PgDb`]).
    Postgres,
}

impl Engine {
    /// The engine this run of the suite is on.
    pub fn current() -> Self {
        match std::env::var("HUHUJIAN_TEST_ENGINE").as_deref() {
            Err(_) | Ok("" | "sqlite") => Engine::Sqlite,
            Ok("postgres") => Engine::Postgres,
            Ok(other) => panic!("HUHUJIAN_TEST_ENGINE={other}: say sqlite or postgres"),
        }
    }
}

/// A running server over a database; dropping it shuts the server down (and drops
/// its PostgreSQL database, if it owns one).
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The SQLite file (on PostgreSQL, a name for failures only).
    pub db_path: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    /// The PostgreSQL database it serves, when it owns it; dropped after the server.
    pg: Option<pg::PgDb>,
}

impl TestServer {
    /// Starts a server on 127.0.0.1:0 over the database at `db_path`.
    pub async fn start(db_path: &Path) -> Self {
        Self::start_with(server::store::Store::open_sqlite(db_path).expect("open database"), db_path).await
    }

    /// Starts a server on 127.0.0.1:0 over `store`, opened on the file `db_path`; the
    /// caller may keep a clone of the store and use it beside the server.
    pub async fn start_with(store: server::store::Store, db_path: &Path) -> Self {
        Self::start_with_edge(store, db_path, server::edge::Edge::default()).await
    }

    /// [`TestServer::start_with`], with these trusted proxies and rate limits.
    pub async fn start_with_edge(store: server::store::Store, db_path: &Path, edge: server::edge::Edge) -> Self {
        let state = server::AppState { edge: std::sync::Arc::new(edge), ..server::AppState::new(store, None) };
        Self::serve(state, db_path).await
    }

    /// [`TestServer::start_with`], keeping photos and signatures in `blobs` (what
    /// `serve --blobs` does; a PostgreSQL server has no folder otherwise).
    pub async fn start_with_blobs(store: server::store::Store, db_path: &Path, blobs: server::blobs::Blobs) -> Self {
        let state = server::AppState { blobs: Some(blobs), ..server::AppState::new(store, None) };
        Self::serve(state, db_path).await
    }

    /// [`TestServer::start_with`], keeping loaded documents between merges in `docs`
    /// (`serve --doc-cache-mb`; a cache of 0 MiB keeps none: every merge loads the
    /// stored bytes).
    pub async fn start_with_docs(
        store: server::store::Store,
        db_path: &Path,
        docs: std::sync::Arc<server::doc_cache::DocCache>,
    ) -> Self {
        let state = server::AppState { docs, ..server::AppState::new(store, None) };
        Self::serve(state, db_path).await
    }

    /// Serves `state` on 127.0.0.1:0 until stopped.
    async fn serve(state: server::AppState, db_path: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Self { addr, db_path: db_path.to_owned(), stop: Some(stop), task: Some(task), pg: None }
    }

    /// Stops the server and waits until it has let go of the database.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// `http://addr`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Makes the server own `pg`, the database it serves: [`TestServer::peek`] reads it,
    /// and it is dropped with the server.
    pub fn owning(mut self, pg: pg::PgDb) -> Self {
        self.pg = Some(pg);
        self
    }

    /// A second, direct look at the server's database.
    pub fn peek(&self) -> Peek {
        match &self.pg {
            Some(pg) => Peek::Postgres(pg.url.clone()),
            None => Peek::File(self.db_path.clone()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Reads the server's database directly, beside the server: the SQLite file through
/// the server crate's own handle, or the PostgreSQL database over a connection of its
/// own. The SQL is the caller's: write what both engines read alike (`COALESCE`,
/// `TRUE`/`FALSE`, `||`), or ask [`Peek::engine`].
#[derive(Debug, Clone)]
pub enum Peek {
    /// A SQLite file.
    File(PathBuf),
    /// A PostgreSQL database, by URL.
    Postgres(String),
}

impl Peek {
    /// Which engine it reads.
    pub fn engine(&self) -> Engine {
        match self {
            Peek::File(_) => Engine::Sqlite,
            Peek::Postgres(_) => Engine::Postgres,
        }
    }
    /// Every household's id and saved document bytes, in id order.
    pub fn documents(&self) -> Vec<(String, Vec<u8>)> {
        match self {
            Peek::File(path) => {
                let db = server::store::sqlite::Sqlite::open(path).expect("open");
                let conn = db.lock();
                let mut stmt = conn.prepare("SELECT id, doc FROM households ORDER BY id").expect("prepare");
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("query").map(|r| r.expect("row")).collect()
            }
            Peek::Postgres(url) => on_postgres(url, "SELECT id, doc FROM households ORDER BY id COLLATE \"C\"")
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        }
    }
    /// Runs a scalar query (an integer).
    pub fn count(&self, sql: &str) -> i64 {
        match self {
            Peek::File(path) => {
                let db = server::store::sqlite::Sqlite::open(path).expect("open");
                let conn = db.lock();
                conn.query_row(sql, [], |r| r.get(0)).expect("count")
            }
            Peek::Postgres(url) => on_postgres(url, sql).first().map(|r| r.get(0)).expect("a row"),
        }
    }
    /// Runs a query of one text column: its values in order.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        match self {
            Peek::File(path) => {
                let db = server::store::sqlite::Sqlite::open(path).expect("open");
                let conn = db.lock();
                let mut stmt = conn.prepare(sql).expect("prepare");
                stmt.query_map([], |r| r.get(0)).expect("query").map(|r| r.expect("row")).collect()
            }
            Peek::Postgres(url) => on_postgres(url, sql).iter().map(|r| r.get(0)).collect(),
        }
    }
    /// Runs a statement that changes rows behind the server's back (a test's way to
    /// make a state no request can); returns how many rows it changed.
    pub fn execute(&self, sql: &str) -> u64 {
        match self {
            Peek::File(path) => {
                let db = server::store::sqlite::Sqlite::open(path).expect("open");
                db.lock().execute(sql, []).expect("execute") as u64
            }
            Peek::Postgres(url) => {
                let (url, sql) = (url.clone(), sql.to_owned());
                on_own_runtime(async move { pg_client(&url).await.execute(&sql, &[]).await.expect("execute") })
            }
        }
    }
}

/// Runs `sql` on the database at `url` (from sync code or inside a runtime alike).
fn on_postgres(url: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    on_own_runtime(async move { pg_client(&url).await.query(&sql, &[]).await.expect("query") })
}

/// A plain connection to `url`.
async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

/// Runs `work` to its end on a thread and runtime of its own.
fn on_own_runtime<T: Send + 'static>(work: impl std::future::Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime").block_on(work)
    })
    .join()
    .expect("the query's thread")
}

/// The accounts of `users` (login, name, role, area), each with its password hash
/// ([`PASSWORD`]).
fn accounts(users: &[(&str, &str, server::auth::Role, Option<&str>)]) -> Vec<(server::auth::User, String)> {
    users
        .iter()
        .map(|(id, name, role, area)| {
            let user = server::auth::User {
                id: (*id).into(),
                name: (*name).into(),
                role: *role,
                area: area.and_then(server::auth::Area::parse),
                phone: String::new(),
            };
            let hash = server::auth::new_account(&user, PASSWORD).expect("a valid account");
            (user, hash)
        })
        .collect()
}

/// Creates users and imports a roster straight into the database (as the CLI does).
pub fn seed(db_path: &Path, users: &[(&str, &str, server::auth::Role, Option<&str>)], roster_csv: &str) {
    let db = server::store::sqlite::Sqlite::open(db_path).expect("open");
    for (user, hash) in accounts(users) {
        db.write_blocking(|w| server::auth::create_user(w, &user, &hash)).expect("create user");
    }
    let stamp = shared::Stamp::new("admin", "管理员", 1_790_000_000);
    let sheet = server::roster::Sheet::from_csv(roster_csv);
    db.write_blocking(|w| server::roster::import_at_once(w, &sheet, &stamp)).expect("import").expect("roster rows");
}

/// Creates users and imports a roster (unless empty) through `store`, on any engine.
pub async fn seed_store(
    store: &server::store::Store,
    users: &[(&str, &str, server::auth::Role, Option<&str>)],
    roster_csv: &str,
) {
    for (user, hash) in accounts(users) {
        store.write(move |w| server::auth::create_user(w, &user, &hash)).await.expect("create user");
    }
    if !roster_csv.is_empty() {
        let (sheet, stamp) =
            (server::roster::Sheet::from_csv(roster_csv), shared::Stamp::new("admin", "管理员", 1_790_000_000));
        store
            .write(move |w| server::roster::import_at_once(w, &sheet, &stamp))
            .await
            .expect("import")
            .expect("roster rows");
    }
}

/// What one sync did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// HTTP requests made.
    pub round_trips: usize,
    /// Request bytes on the wire (gzip).
    pub sent: usize,
    /// Response bytes on the wire (gzip).
    pub received: usize,
    /// Documents the server refused, with why.
    pub refused: BTreeMap<String, Refusal>,
    /// How long each request took, reply body included.
    pub latencies: Vec<std::time::Duration>,
    /// Households whose history an administrator rewrote, replaced and downloaded again.
    pub rebased: Vec<String>,
}

/// A phone: a logged-in user with local documents and per-document sync states.
#[derive(Debug)]
pub struct Phone {
    http: reqwest::Client,
    base: String,
    /// The bearer token.
    pub token: String,
    actor: ActorId,
    /// Who is logged in: the author of the changes the sync engine makes.
    user: (String, String),
    /// Local documents and their sync states (`phone.docs`, `phone.states` through
    /// `Deref`).
    pub replica: Replica,
}

impl std::ops::Deref for Phone {
    type Target = Replica;
    fn deref(&self) -> &Replica {
        &self.replica
    }
}

impl std::ops::DerefMut for Phone {
    fn deref_mut(&mut self) -> &mut Replica {
        &mut self.replica
    }
}

impl Phone {
    /// Logs in as `login` on a new device.
    pub async fn login(server: &TestServer, login: &str, device: &str) -> Self {
        match Self::login_at(&server.url(""), login, device).await {
            Ok(phone) => phone,
            Err(e) => panic!("{e}"),
        }
    }

    /// Logs in as `login` on a new device at the server at `base` (`http://host:port`).
    pub async fn login_at(base: &str, login: &str, device: &str) -> Result<Self, String> {
        Self::login_with(base, login, PASSWORD, device).await
    }

    /// [`Phone::login_at`] with another password (the demo's, say).
    pub async fn login_with(base: &str, login: &str, password: &str, device: &str) -> Result<Self, String> {
        let http = http();
        let body = serde_json::json!({"login": login, "password": password, "device_id": device});
        let resp = http.post(format!("{base}/api/login")).json(&body).send().await.map_err(|e| e.to_string())?;
        if resp.status() != StatusCode::OK {
            return Err(format!("login of {login} failed: {}", resp.text().await.unwrap_or_default()));
        }
        let ok: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
        let token = ok["token"].as_str().ok_or("no token")?.to_owned();
        let base = base.to_owned();
        let name = ok["user"]["name"].as_str().unwrap_or(login).to_owned();
        let user = (login.to_owned(), name);
        Ok(Self { http, base, token, actor: ActorId::random(), user, replica: Replica::default() })
    }

    /// Talks to `server` from now on (after a restart on another port), same session.
    pub fn point_at(&mut self, server: &TestServer) {
        self.base = server.url("");
    }

    /// Talks to the server at `base` (`http://host:port`) from now on, same session.
    pub fn set_base(&mut self, base: &str) {
        self.base = base.to_owned();
    }

    /// Starts tracking `ids` with empty documents (first download).
    pub fn want(&mut self, ids: &[&str]) {
        for id in ids {
            self.replica.track(id, &self.actor);
        }
    }

    /// Household ids the server lists for this user.
    pub async fn list(&self) -> Vec<String> {
        let rows: Vec<serde_json::Value> = self.get_json("/api/households").await;
        rows.iter().map(|r| r["id"].as_str().unwrap_or_default().to_owned()).collect()
    }

    /// GET a JSON endpoint, asserting 200.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let resp = self.get(path).await;
        let status = resp.status();
        let text = resp.text().await.expect("body");
        assert_eq!(status, StatusCode::OK, "{path}: {text}");
        serde_json::from_str(&text).expect("json")
    }

    /// POST a JSON body with the token.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// PUT a JSON body with the token.
    pub async fn put_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http.put(format!("{}{path}", self.base)).bearer_auth(&self.token).json(body).send().await.expect("request")
    }

    /// PUT raw bytes with the token.
    pub async fn put_bytes(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        self.http.put(format!("{}{path}", self.base)).bearer_auth(&self.token).body(body).send().await.expect("request")
    }

    /// GET with the token.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await.expect("request")
    }

    /// POSTs a roster CSV for a preview and, when it previews cleanly, confirms it:
    /// the answer of the confirmation (or of the preview when that refused).
    pub async fn import_roster(&self, csv: &str) -> reqwest::Response {
        self.import_roster_bytes(csv.as_bytes().to_vec()).await
    }

    /// Imports a roster file (a workbook, or a CSV in any encoding the server reads) as
    /// an admin does: the preview, then its confirmation; the preview's answer if it
    /// refused.
    pub async fn import_roster_bytes(&self, file: Vec<u8>) -> reqwest::Response {
        let post = |query: String| {
            self.http
                .post(format!("{}/api/admin/roster{query}", self.base))
                .bearer_auth(&self.token)
                .header("content-type", "application/octet-stream")
                .body(file.clone())
                .send()
        };
        let preview = post(String::new()).await.expect("roster preview");
        if preview.status() != StatusCode::OK {
            return preview;
        }
        let plan: serde_json::Value = preview.json().await.expect("preview json");
        assert_eq!(plan["imported"], false, "a preview imports nothing");
        post(format!("?confirm={}", plan["confirm"].as_str().expect("confirm digest"))).await.expect("roster import")
    }

    /// POSTs `body` to the sync endpoint exactly as given; `gzip` labels it
    /// `Content-Encoding: gzip` (the caller compresses, or pretends to).
    pub async fn post_sync_raw(&self, body: Vec<u8>, gzip: bool) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}/api/sync", self.base))
            .bearer_auth(&self.token)
            .header("content-type", server::sync::CONTENT_TYPE);
        if gzip {
            req = req.header("content-encoding", "gzip");
        }
        req.body(body).send().await.expect("sync request")
    }

    /// Syncs every local document until neither side has anything to send.
    ///
    /// A session starts from the persisted form of each sync state (its shared heads
    /// only): the server may have changes this phone has not heard of, and Automerge
    /// only sends a first message when it does not know the peer's heads.
    pub async fn sync(&mut self) -> SyncReport {
        match self.try_sync().await {
            Ok(report) => report,
            Err(e) => panic!("sync failed: {e}"),
        }
    }

    /// [`Phone::sync`], returning the first failure instead of panicking: a request
    /// that fails, an answer other than 200, or a server message that cannot be applied.
    /// A thin driver of `shared::client`, as the app's `sync.rs` is.
    pub async fn try_sync(&mut self) -> Result<SyncReport, String> {
        let mut report = SyncReport::default();
        let mut session = Session::start(&mut self.replica);
        while let Next::Send(outgoing) = session.next_batch(&mut self.replica) {
            let body = gzip_bytes(&wire::encode_request(&outgoing));
            report.sent += body.len();
            let started = std::time::Instant::now();
            let resp = self
                .http
                .post(format!("{}/api/sync", self.base))
                .bearer_auth(&self.token)
                .header("content-type", server::sync::CONTENT_TYPE)
                .header("content-encoding", "gzip")
                .header("accept-encoding", "gzip")
                .body(body)
                .send()
                .await
                .map_err(|e| format!("sync request: {e}"))?;
            report.round_trips += 1;
            if resp.status() != StatusCode::OK {
                return Err(format!("HTTP {}: {}", resp.status(), resp.text().await.unwrap_or_default()));
            }
            report.received += resp.content_length().map_or(0, |l| l as usize);
            let bytes = resp.bytes().await.map_err(|e| format!("sync body: {e}"))?;
            report.latencies.push(started.elapsed());
            let replies = wire::decode_response(&bytes).map_err(|e| format!("decode response: {e}"))?;
            let stamp = Stamp::new(self.user.0.clone(), self.user.1.clone(), now());
            let applied = session.receive(&mut self.replica, replies, &stamp);
            if let Some((id, e)) = applied.failed.first() {
                return Err(format!("apply server message for {id}: {e}"));
            }
            report.rebased.extend(applied.rebased);
        }
        report.refused = session.refused().clone();
        Ok(report)
    }
}

/// Unix seconds now.
fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl Phone {
    /// Syncs every local document one at a time through `POST /api/sync/{id}`, as a
    /// client without batching would (the benchmarks' comparison). Bodies are sent
    /// gzip-compressed when that makes them smaller.
    pub async fn sync_each(&mut self) -> Result<SyncReport, String> {
        let mut report = SyncReport::default();
        let mut session = Session::start(&mut self.replica);
        while let Next::Send(outgoing) = session.next_batch(&mut self.replica) {
            let mut replies = Vec::with_capacity(outgoing.len());
            for Outgoing { doc_id: id, message } in outgoing {
                let zipped = gzip_bytes(&message);
                let mut req = self
                    .http
                    .post(format!("{}/api/sync/{id}", self.base))
                    .bearer_auth(&self.token)
                    .header("content-type", "application/octet-stream")
                    .header("accept-encoding", "gzip");
                let body = if zipped.len() < message.len() {
                    req = req.header("content-encoding", "gzip");
                    zipped
                } else {
                    message
                };
                report.sent += body.len();
                let started = std::time::Instant::now();
                let resp = req.body(body).send().await.map_err(|e| format!("sync request: {e}"))?;
                report.round_trips += 1;
                let reply = match resp.status() {
                    StatusCode::NO_CONTENT => Reply::InSync,
                    StatusCode::OK => {
                        Reply::Message(resp.bytes().await.map_err(|e| format!("sync body: {e}"))?.to_vec())
                    }
                    status => return Err(format!("{id}: HTTP {status}: {}", resp.text().await.unwrap_or_default())),
                };
                report.latencies.push(started.elapsed());
                replies.push(Incoming { doc_id: id, reply });
            }
            let stamp = Stamp::new(self.user.0.clone(), self.user.1.clone(), now());
            let applied = session.receive(&mut self.replica, replies, &stamp);
            if let Some((id, e)) = applied.failed.first() {
                return Err(format!("apply server message for {id}: {e}"));
            }
        }
        Ok(report)
    }
}

/// Gzip-compresses `bytes`.
pub fn gzip_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// A small roster: two sites, four households, two cadres (c1 has H1–H3, c2 has H1 and
/// H4: H1 is shared).
pub const ROSTER: &str =
    "\u{feff}户编码,县,乡镇,安置点,网格,住址,户类型,帮扶干部,成员编号,姓名,性别,出生日期,与户主关系,劳动能力
H1,云岭县,栋川镇,阳光社区,1栋,1栋101,脱贫户,c1;c2,a,李国华,男,1980-05-01,户主,普通劳动力
H1,云岭县,栋川镇,阳光社区,1栋,1栋101,脱贫户,c1;c2,b,王春兰,女,1982-03-02,配偶,普通劳动力
H2,云岭县,栋川镇,阳光社区,1栋,1栋102,脱贫户,c1,a,张志强,男,1975-01-01,户主,普通劳动力
H3,云岭县,栋川镇,阳光社区,2栋,2栋201,同步搬迁户,c1,a,杨秀英,女,1990-06-06,户主,弱劳动力
H4,云岭县,光禄镇,光禄新村,东片,东片1,脱贫户,c2,a,罗建平,男,1970-07-07,户主,普通劳动力
";
