//! The PostgreSQL engine, for a province: any number of stateless server processes on
//! one database (with a standby). tokio-postgres with a deadpool pool; the store's
//! traits are synchronous and run on tokio's blocking pool (as SQLite's do), each call
//! waiting there for its query with `Handle::block_on`, so that the merge and every
//! handler are the same code on both engines.
//!
//! - Reads run in `READ ONLY` `REPEATABLE READ` transactions (one snapshot each), on
//!   any pooled connection; long reads (exports) among at most [`LONG_READERS`].
//! - Writes run in `READ COMMITTED` transactions. A merge locks its households' rows
//!   (`FOR UPDATE`, in id order) before reading them, so merges of one household
//!   through two processes serialise and nothing acknowledged is lost. A transaction
//!   PostgreSQL aborts as a deadlock or a serialisation failure is run again.
//! - Sessions, login throttling and sync states are rows like any other: a process
//!   keeps nothing of its own.
//!
//! `accounts`, `docs` and `reads` hold the SQL, as in the SQLite engine; `tls` the
//! connection's TLS (libpq's `sslmode`, `sslrootcert`).

mod accounts;
mod docs;
mod load;
mod migrations;
mod phones;
mod reads;
mod settings;
pub mod tls;

use std::collections::BTreeMap;
use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use shared::Period;
use shared::api::{AreaCount, AssignedHousehold, HouseholdRow, Role, User, UserRow};
use shared::automerge::ChangeHash;
use shared::indicators::Indicators;
use tokio::runtime::Handle;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

pub use migrations::SCHEMA_VERSION;

use super::{
    Access, CoverageTable, Credentials, DocWrite, Grouping, IndicatorsBySite, Listing, MergeInput, MergedWrite,
    NewAccount, Reader, Scope, Selection, StoreError, StoreResult, StoredDoc, Upload, Writer,
};

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::engine(e)
    }
}

/// Connections in the pool of one server process.
pub const POOL_SIZE: usize = 16;
/// Long reads at once per process.
pub const LONG_READERS: usize = 2;
/// How often a transaction PostgreSQL aborted as a deadlock or a serialisation
/// failure is run again.
const RETRIES: usize = 5;

/// The handle: cheap to clone, shared by every request of this process.
#[derive(Clone)]
pub struct Postgres(Arc<Inner>);

struct Inner {
    pool: Pool,
    long_permits: tokio::sync::Semaphore,
    /// The URL without its password, for messages.
    shown: String,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Postgres").field(&self.0.shown).finish()
    }
}

/// Whether `url` names a PostgreSQL database (`postgres://…`, `postgresql://…`).
pub fn is_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` with any password (in the user part or a `password=` parameter) replaced by
/// `***`.
pub fn shown(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match (base.find("://"), base.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match base[scheme + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &base[..scheme + 3], &base[at..]),
            None => base.to_owned(),
        },
        _ => base.to_owned(),
    };
    match query {
        None => base,
        Some(q) => {
            let q: Vec<String> = q
                .split('&')
                .map(|kv| if kv.starts_with("password=") { "password=***".to_owned() } else { kv.to_owned() })
                .collect();
            format!("{base}?{}", q.join("&"))
        }
    }
}

/// A connection inside a transaction, as the store's traits see it.
pub(crate) struct PgConn<'a> {
    tx: &'a Transaction<'a>,
    rt: Handle,
    writable: bool,
    /// Set when a statement failed in a way worth running the transaction again for
    /// (whatever the caller then makes of the error).
    retry: std::cell::Cell<bool>,
    /// Set when any statement failed: PostgreSQL has aborted the transaction, and a
    /// commit would quietly roll it back, so it is never committed.
    failed: std::cell::Cell<bool>,
}

impl PgConn<'_> {
    fn noted<T>(&self, r: StoreResult<T>) -> StoreResult<T> {
        if let Err(e) = &r {
            self.failed.set(true);
            if retryable(e) {
                self.retry.set(true);
            }
        }
        r
    }
    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
        self.noted(self.rt.block_on(async {
            let statement = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.query(&statement, params).await?)
        }))
    }
    /// Waits for `work` (statements sent together: the driver pipelines them on the
    /// connection, one round trip for all).
    fn run<T>(&self, work: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>) -> StoreResult<T> {
        self.noted(self.rt.block_on(work).map_err(StoreError::from))
    }
    fn query_opt(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        self.noted(self.rt.block_on(async {
            let statement = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.execute(&statement, params).await?)
        }))
    }
}

/// Whether PostgreSQL aborted the transaction for running it again.
fn retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Engine(source) => source
            .downcast_ref::<tokio_postgres::Error>()
            .and_then(tokio_postgres::Error::code)
            .is_some_and(|c| *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE),
        _ => false,
    }
}

impl Postgres {
    /// Connects to `url`, migrating the database if needed.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let (config, tls) = tls::connector(url)?;
        let manager = Manager::from_config(config, tls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(POOL_SIZE).build().map_err(StoreError::engine)?;
        let mut client = pool.get().await.map_err(|e| {
            // Said whole: "TLS handshake" alone does not tell a wrong certificate from
            // a wrong host.
            let mut said = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                let c_said = c.to_string();
                if !said.contains(&c_said) {
                    said.push_str(&format!(": {c_said}"));
                }
                cause = c.source();
            }
            StoreError::Config(format!("无法连接 PostgreSQL / cannot connect to {}: {said}", shown(url)))
        })?;
        migrations::migrate(&mut client).await?;
        drop(client);
        Ok(Self(Arc::new(Inner { pool, long_permits: tokio::sync::Semaphore::new(LONG_READERS), shown: shown(url) })))
    }

    /// The URL, without its password.
    pub fn shown(&self) -> &str {
        &self.0.shown
    }

    /// Runs `read` in one read-only snapshot; if it finds projections to fill in,
    /// again in a read-write transaction.
    pub async fn read<T, F>(&self, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Reader) -> StoreResult<T> + Send + 'static,
    {
        self.read_on(false, read).await
    }

    /// [`Postgres::read`] for a read that may take seconds, among at most
    /// [`LONG_READERS`], as bulk work (`crate::bulk`: it yields the cores to syncs).
    pub async fn read_long<T, F>(&self, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Reader) -> StoreResult<T> + Send + 'static,
    {
        let waiting = std::time::Instant::now();
        let _permit = self.0.long_permits.acquire().await.map_err(StoreError::engine)?;
        crate::metrics::store_wait("long_read", waiting.elapsed());
        self.read_on(true, read).await
    }

    async fn read_on<T, F>(&self, bulk: bool, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Reader) -> StoreResult<T> + Send + 'static,
    {
        let this = self.clone();
        let job = move || (this.read_blocking(&read), read);
        let (result, read) =
            if bulk { crate::bulk::run(job).await.map_err(StoreError::engine)? } else { blocking(job).await };
        match result {
            Err(StoreError::NeedsWriter(missing)) => {
                // The missing summaries a step at a time, syncs taking the writer between
                // steps; then the read on the writer, which fills in what else it finds.
                super::fill_in_steps(&missing, |step, period| self.write(move |w| step.run(w, period))).await?;
                self.write(move |w| read(w)).await
            }
            other => other,
        }
    }

    fn read_blocking<T>(&self, read: &dyn Fn(&mut dyn Reader) -> StoreResult<T>) -> StoreResult<T> {
        let rt = Handle::current();
        let waiting = std::time::Instant::now();
        let mut client = rt.block_on(self.0.pool.get()).map_err(StoreError::engine)?;
        crate::metrics::store_wait("read", waiting.elapsed());
        let tx = rt.block_on(
            client
                .build_transaction()
                .read_only(true)
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .start(),
        )?;
        let out = read(&mut PgConn {
            tx: &tx,
            rt: rt.clone(),
            writable: false,
            retry: Default::default(),
            failed: Default::default(),
        });
        rt.block_on(tx.rollback())?;
        out
    }

    /// Runs `write` in one transaction, on the blocking pool.
    pub async fn write<T, E, F>(&self, write: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnMut(&mut dyn Writer) -> Result<T, E> + Send + 'static,
    {
        let this = self.clone();
        blocking(move || this.write_blocking(write)).await
    }

    /// Runs `write` in one transaction on this thread (a blocking-pool thread of the
    /// runtime): committed if it succeeds, rolled back if not, run again if
    /// PostgreSQL aborted it as a deadlock or a serialisation failure.
    pub fn write_blocking<T, E, F>(&self, mut write: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnMut(&mut dyn Writer) -> Result<T, E>,
    {
        let rt = Handle::current();
        let waiting = std::time::Instant::now();
        let mut client = rt.block_on(self.0.pool.get()).map_err(StoreError::engine)?;
        crate::metrics::store_wait("write", waiting.elapsed());
        let mut attempt = 0;
        loop {
            attempt += 1;
            let tx = rt.block_on(client.transaction()).map_err(StoreError::from)?;
            let mut conn = PgConn {
                tx: &tx,
                rt: rt.clone(),
                writable: true,
                retry: Default::default(),
                failed: Default::default(),
            };
            let out = write(&mut conn);
            let (again, failed) = (conn.retry.get(), conn.failed.get());
            let out = match out {
                // A statement failed and the caller carried on: the transaction is
                // aborted; committing would drop it without a word.
                Ok(_) if failed => Err(E::from(StoreError::Aborted)),
                other => other,
            };
            match (out, again) {
                (Ok(value), _) => match rt.block_on(tx.commit()) {
                    Ok(()) => return Ok(value),
                    Err(e) => {
                        let e = StoreError::from(e);
                        if attempt < RETRIES && retryable(&e) {
                            continue;
                        }
                        return Err(e.into());
                    }
                },
                (Err(_), true) if attempt < RETRIES => {
                    drop(rt.block_on(tx.rollback()));
                    continue;
                }
                (Err(e), _) => {
                    drop(rt.block_on(tx.rollback()));
                    return Err(e);
                }
            }
        }
    }
}

/// Runs `f` on tokio's blocking pool; a panic in it is a panic here.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

impl Reader for PgConn<'_> {
    fn session(&mut self, token_hash: &[u8], at: i64) -> StoreResult<Option<(User, String)>> {
        accounts::session(self, token_hash, at)
    }
    fn user(&mut self, login: &str) -> StoreResult<Option<User>> {
        accounts::user(self, login)
    }
    fn credentials(&mut self, login: &str) -> StoreResult<Option<Credentials>> {
        accounts::credentials(self, login)
    }
    fn user_rows(&mut self, login: Option<&str>, at: i64) -> StoreResult<Vec<UserRow>> {
        accounts::user_rows(self, login, at)
    }
    fn logins_with_role(&mut self, role: Role) -> StoreResult<Vec<String>> {
        accounts::logins_with_role(self, role)
    }
    fn access(&mut self, user: &User, id: &str) -> StoreResult<Access> {
        docs::access(self, &Scope::of(user), id)
    }
    fn stored_doc(&mut self, id: &str) -> StoreResult<Option<StoredDoc>> {
        docs::stored(self, id)
    }
    fn sync_state(&mut self, device: &str, id: &str) -> StoreResult<Option<Vec<u8>>> {
        docs::sync_state(self, device, id)
    }
    fn uploads(&mut self, id: &str) -> StoreResult<BTreeMap<String, Upload>> {
        docs::uploads(self, id)
    }
    fn household_rows(&mut self, selection: &Selection, listing: &Listing) -> StoreResult<Vec<HouseholdRow>> {
        reads::household_rows(self, selection, listing)
    }
    fn merge_inputs(&mut self, user: &User, device: &str, ids: &[&str]) -> StoreResult<Vec<MergeInput>> {
        docs::merge_inputs(self, user, device, ids)
    }
    fn household_ids(&mut self, selection: &Selection) -> StoreResult<Vec<String>> {
        reads::household_ids(self, selection)
    }
    fn id_numbers(&mut self, selection: &Selection) -> StoreResult<Vec<(String, Option<String>)>> {
        reads::id_numbers(self, selection)
    }
    fn coverage(&mut self, selection: &Selection, period: Period, by: Grouping) -> StoreResult<CoverageTable> {
        reads::coverage(self, selection, period, by)
    }
    fn indicators(&mut self, selection: &Selection, period: Period) -> StoreResult<Indicators> {
        reads::indicators(self, selection, period)
    }
    fn indicators_by_site(&mut self, selection: &Selection, period: Period) -> StoreResult<IndicatorsBySite> {
        reads::indicators_by_site(self, selection, period)
    }
    fn review_counts(&mut self, selection: &Selection, period: Period) -> StoreResult<BTreeMap<String, u32>> {
        reads::review_counts(self, selection, period)
    }
    fn grid_counts(&mut self) -> StoreResult<Vec<AreaCount>> {
        accounts::grid_counts(self)
    }
    fn settings(&mut self) -> StoreResult<shared::Settings> {
        settings::read(self)
    }
    fn phone_reports(&mut self) -> StoreResult<Vec<shared::api::PhoneRow>> {
        phones::reports(self)
    }
    fn cadres_of(&mut self, id: &str) -> StoreResult<Vec<shared::api::Person>> {
        accounts::cadres_of(self, id)
    }
    fn assigned_rows(
        &mut self,
        site: Option<&str>,
        grid: Option<&str>,
        cadre: Option<&str>,
    ) -> StoreResult<Vec<AssignedHousehold>> {
        accounts::assigned_rows(self, site, grid, cadre)
    }
}

impl Writer for PgConn<'_> {
    fn insert_user(&mut self, account: &NewAccount<'_>) -> StoreResult<bool> {
        accounts::insert_user(self, account)
    }
    fn set_user(&mut self, user: &User) -> StoreResult<()> {
        accounts::set_user(self, user)
    }
    fn set_password_hash(&mut self, login: &str, password_hash: &str, clear_throttle: bool) -> StoreResult<()> {
        accounts::set_password_hash(self, login, password_hash, clear_throttle)
    }
    fn set_login_failures(&mut self, login: &str, failed: i64, locked_until: i64) -> StoreResult<()> {
        accounts::set_login_failures(self, login, failed, locked_until)
    }
    fn claim_unknown_login(&mut self, login: &str, at: i64, forget_before: i64) -> StoreResult<(i64, i64)> {
        accounts::claim_unknown_login(self, login, at, forget_before)
    }
    fn set_unknown_login_lock(&mut self, login: &str, locked_until: i64) -> StoreResult<()> {
        accounts::set_unknown_login_lock(self, login, locked_until)
    }
    fn set_disabled(&mut self, login: &str, disabled: bool) -> StoreResult<()> {
        accounts::set_disabled(self, login, disabled)
    }
    fn insert_session(
        &mut self,
        token_hash: &[u8],
        login: &str,
        device: &str,
        at: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        accounts::insert_session(self, token_hash, login, device, at, expires_at)
    }
    fn delete_session(&mut self, token_hash: &[u8]) -> StoreResult<()> {
        accounts::delete_session(self, token_hash)
    }
    fn delete_sessions_of(&mut self, login: &str, except: Option<&[u8]>) -> StoreResult<()> {
        accounts::delete_sessions_of(self, login, except)
    }
    fn assign(&mut self, id: &str, login: &str) -> StoreResult<bool> {
        accounts::assign(self, id, login)
    }
    fn unassign(&mut self, id: &str, login: &str) -> StoreResult<bool> {
        accounts::unassign(self, id, login)
    }
    fn unassign_all(&mut self, login: &str) -> StoreResult<usize> {
        accounts::unassign_all(self, login)
    }
    fn audit(&mut self, at: i64, login: &str, action: &str, detail: &str) -> StoreResult<()> {
        accounts::audit(self, at, login, action, detail)
    }
    fn put_phone_report(
        &mut self,
        login: &str,
        device: &str,
        report: &shared::api::PhoneReport,
        at: i64,
    ) -> StoreResult<()> {
        phones::put_report(self, login, device, report, at)
    }
    fn replace_settings(&mut self, new: &shared::Settings, by: &str, at: i64) -> StoreResult<Option<shared::Settings>> {
        settings::replace(self, new, by, at)
    }
    fn log_changes(&mut self, id: &str, hashes: &[ChangeHash], login: &str, device: &str, at: i64) -> StoreResult<()> {
        docs::log_changes(self, id, hashes, login, device, at)
    }
    fn fill_summaries(&mut self, selection: &Selection, period: Period, at_most: usize) -> StoreResult<usize> {
        let today = shared::Date::in_china(crate::auth::now());
        docs::fill_summaries(self, period, today, selection, Some(at_most))
    }
    fn write_doc(&mut self, doc: &DocWrite<'_>, at: i64) -> StoreResult<()> {
        docs::write(self, doc, at)
    }
    fn put_sync_state(&mut self, device: &str, id: &str, state: &[u8]) -> StoreResult<()> {
        docs::put_sync_state(self, device, id, state)
    }
    fn write_merged(&mut self, merged: &[MergedWrite<'_>]) -> StoreResult<()> {
        docs::write_merged(self, merged)
    }
    fn retire_doc(&mut self, id: &str, bytes: &[u8], hashes: &[ChangeHash], by: &str, at: i64) -> StoreResult<()> {
        docs::retire(self, id, bytes, hashes, by, at)
    }
    fn lock_households(&mut self, scope: &Scope, ids: &[&str]) -> StoreResult<()> {
        docs::lock(self, scope, ids)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_are_shown_without_their_passwords() {
        assert_eq!(super::shown("postgres://hhj:s3cret@db:5432/hhj"), "postgres://hhj:***@db:5432/hhj");
        assert_eq!(super::shown("postgres://db/hhj?user=a&password=s3cret"), "postgres://db/hhj?user=a&password=***");
        assert_eq!(super::shown("postgres://postgres@127.0.0.1/x"), "postgres://postgres@127.0.0.1/x");
    }
}
