//! The storage boundary. Everything the server keeps goes through a [`Store`]: its
//! handlers ask typed questions ([`Reader`]) and make typed changes inside one
//! transaction ([`Writer`]); no SQL, and no database crate, is seen above this module.
//!
//! - `scope`: which households a request is about ([`Selection`]), typed;
//! - `projection`: what is computed from a document to store beside it (no IO);
//! - `error`: [`StoreError`], which knows nothing of HTTP;
//! - `sqlite`: the embedded engine (one file, a writer and a pool of readers, WAL);
//! - `postgres`: the engine for a province (stateless processes on one database);
//! - `sql`: what both SQL engines share (a selection as a `WHERE` clause).
//!
//! [`Store`] is an enum of engines rather than a trait object: the engines are a
//! closed set chosen at start-up, every call site stays a plain method call, and
//! the per-engine code meets the rest of the server only through the two traits.

mod error;
mod fill;
pub mod postgres;
pub mod projection;
mod scope;
mod sql;
pub mod sqlite;
pub mod totals;
pub mod transfer;

use std::collections::BTreeMap;
use std::path::Path;

use shared::HouseholdDoc;
use shared::api::{AreaCount, AssignedHousehold, HouseholdRow, Person, Role, User, UserRow};
use shared::automerge::ChangeHash;
use shared::indicators::{Coverage, Indicators};
use shared::{Household, Period};

pub use error::{StoreError, StoreResult};
pub use fill::{FILL_STEP, Missing, Step, TOTALS_STEP, fill_in_steps};
pub use projection::{
    COMPACT_AFTER, DocWrite, MAX_DOC_BYTES, MergedWrite, Projection, SUMMARY_PERIODS, StoredDoc, decode_summary,
    kept_periods, merged_bytes, parse_doc, server_actor,
};
pub use scope::{HouseholdFilter, Scope, Selection};

/// Households a merge reads in one go (and holds in memory at once).
pub const MERGE_CHUNK: usize = 64;

/// Whether a user may open a household.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// It is on the roster and in the user's scope.
    Allowed,
    /// It is on the roster, outside the user's scope.
    OutOfScope,
    /// It is not on the roster.
    Unknown,
}

/// What a merge reads of one household before merging it.
#[derive(Debug)]
pub struct MergeInput {
    /// Whether the uploader may touch it.
    pub access: Access,
    /// Its stored document (when allowed).
    pub doc: Option<StoredDoc>,
    /// The uploading device's persisted sync state for it (when allowed).
    pub sync_state: Option<Vec<u8>>,
}

/// What a login is checked against.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The argon2id PHC string.
    pub password_hash: String,
    /// Wrong passwords in a row.
    pub failed_logins: i64,
    /// Unix seconds until which logins are refused.
    pub locked_until: i64,
    /// Disabled by an admin.
    pub disabled: bool,
}

/// How coverage is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// 安置点
    Site,
    /// 网格 (keyed `site / grid`)
    Grid,
    /// 帮扶干部 (keyed by login, labelled with the name)
    Cadre,
}

/// Coverage rows by key: the label and the counts.
pub type CoverageTable = BTreeMap<String, (String, Coverage)>;

/// Indicators per site (安置点), by site name.
pub type IndicatorsBySite = BTreeMap<String, Indicators>;

/// The sites' indicators added up.
pub fn total(sites: IndicatorsBySite) -> Indicators {
    sites.into_values().fold(Indicators::default(), |mut all, site| {
        all.absorb(site);
        all
    })
}

/// A per-period flag lists filter on (`/api/flagged?kind=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// 零就业家庭
    ZeroEmployment,
    /// 低收入且有劳动力
    LowIncome,
    /// 两不愁三保障 alert
    Guarantee,
    /// A new risk this period.
    NewRisk,
    /// Under monitoring (三类).
    Monitored,
    /// Not visited in person this period.
    NotVisited,
    /// 八必访: must be visited in person this period.
    MustVisit,
    /// Visited in person without the household head's sign-off (未签字确认).
    Unsigned,
}

/// Which households of a selection a list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// All of them.
    All,
    /// Those with a conflicted field.
    Conflicted,
    /// Those with a flag in a period.
    Flagged(Period, Flag),
    /// Those whose visit of a period has this review status code.
    Review(Period, String),
    /// Those with a monitoring case (any status).
    Cases,
}

/// Who uploaded a change (`change_log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The authenticated user.
    pub user: String,
    /// Their device.
    pub device: String,
    /// Unix seconds when the server received it.
    pub at: i64,
}

/// Reads. On a read-only connection a read that finds projections missing (a month
/// began and nobody synced a household since) answers [`StoreError::NeedsWriter`],
/// and [`Store::read`] runs it again on the writer, which fills them in.
pub trait Reader {
    /// The session of a bearer token's hash, if it exists, has not expired at `at`,
    /// and its user is enabled: the user and the session's device.
    fn session(&mut self, token_hash: &[u8], at: i64) -> StoreResult<Option<(User, String)>>;
    /// An account.
    fn user(&mut self, login: &str) -> StoreResult<Option<User>>;
    /// What a login is checked against.
    fn credentials(&mut self, login: &str) -> StoreResult<Option<Credentials>>;
    /// Every account (or only `login`), admins first, then supervisors, then cadres.
    fn user_rows(&mut self, login: Option<&str>, at: i64) -> StoreResult<Vec<UserRow>>;
    /// The logins of every account with `role`.
    fn logins_with_role(&mut self, role: Role) -> StoreResult<Vec<String>>;

    /// Whether `user` may open household `id`.
    fn access(&mut self, user: &User, id: &str) -> StoreResult<Access>;
    /// Household `id`'s document as stored.
    fn stored_doc(&mut self, id: &str) -> StoreResult<Option<StoredDoc>>;
    /// This device's persisted sync state for household `id`.
    fn sync_state(&mut self, device: &str, id: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Who uploaded each change of household `id`, by hash (hex).
    fn uploads(&mut self, id: &str) -> StoreResult<BTreeMap<String, Upload>>;

    /// The households of `selection` that `listing` shows, by site, grid and id.
    fn household_rows(&mut self, selection: &Selection, listing: &Listing) -> StoreResult<Vec<HouseholdRow>>;
    /// The ids of the households of `selection`, by site, grid and id.
    fn household_ids(&mut self, selection: &Selection) -> StoreResult<Vec<String>>;
    /// Each household of `selection` with its present members' ID numbers as its row
    /// keeps them (`projection::joined_id_numbers`), `None` where the row predates them.
    fn id_numbers(&mut self, selection: &Selection) -> StoreResult<Vec<(String, Option<String>)>>;
    /// Coverage of `selection` in `period`, grouped.
    fn coverage(&mut self, selection: &Selection, period: Period, by: Grouping) -> StoreResult<CoverageTable>;
    /// The indicators of `selection` in `period`: the sum of their summaries.
    fn indicators(&mut self, selection: &Selection, period: Period) -> StoreResult<Indicators>;
    /// The indicators of `selection` in `period` per site.
    fn indicators_by_site(&mut self, selection: &Selection, period: Period) -> StoreResult<IndicatorsBySite>;
    /// Visits of `period` in `selection` per review status code.
    fn review_counts(&mut self, selection: &Selection, period: Period) -> StoreResult<BTreeMap<String, u32>>;

    /// The admin's assignment view: every grid with its counts.
    fn grid_counts(&mut self) -> StoreResult<Vec<AreaCount>>;
    /// Every phone's latest health report, with its cadre's name (`concerns` empty:
    /// `shared::api::phone::order` fills them).
    fn phone_reports(&mut self) -> StoreResult<Vec<shared::api::PhoneRow>>;
    /// The monitoring settings of every year (年度监测设置). In a write, read before
    /// anything is locked: a change of settings waits for the writes that read them.
    fn settings(&mut self) -> StoreResult<shared::Settings>;
    /// The cadres household `id` is assigned to, with their names, by login.
    fn cadres_of(&mut self, id: &str) -> StoreResult<Vec<Person>>;
    /// The households of one site (and grid), or of one cadre, with their cadres.
    fn assigned_rows(
        &mut self,
        site: Option<&str>,
        grid: Option<&str>,
        cadre: Option<&str>,
    ) -> StoreResult<Vec<AssignedHousehold>>;

    /// What a merge reads of households `ids` for `user`'s `device`, in their order
    /// (engines that talk to a database server read them in a few queries).
    fn merge_inputs(&mut self, user: &User, device: &str, ids: &[&str]) -> StoreResult<Vec<MergeInput>> {
        ids.iter()
            .map(|id| {
                let access = self.access(user, id)?;
                if access != Access::Allowed {
                    return Ok(MergeInput { access, doc: None, sync_state: None });
                }
                Ok(MergeInput { access, doc: self.stored_doc(id)?, sync_state: self.sync_state(device, id)? })
            })
            .collect()
    }

    /// Whether household `id` is on the roster.
    fn household_exists(&mut self, id: &str) -> StoreResult<bool> {
        let anyone =
            User { id: String::new(), name: String::new(), role: Role::Admin, area: None, phone: String::new() };
        Ok(self.access(&anyone, id)? != Access::Unknown)
    }

    /// Household `id`'s document, loaded.
    fn load_doc(&mut self, id: &str) -> StoreResult<Option<HouseholdDoc>> {
        self.stored_doc(id)?.map(|d| parse_doc(id, &d.bytes)).transpose()
    }
}

/// A new account's row.
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    /// The account.
    pub user: &'a User,
    /// Its argon2id PHC string.
    pub password_hash: &'a str,
    /// Unix seconds.
    pub created_at: i64,
}

/// Changes, inside one transaction that commits only if the closure given to
/// [`Store::write`] succeeds.
pub trait Writer: Reader {
    /// Creates an account; `false` if the login exists.
    fn insert_user(&mut self, account: &NewAccount<'_>) -> StoreResult<bool>;
    /// Sets an account's name, role and area.
    fn set_user(&mut self, user: &User) -> StoreResult<()>;
    /// Sets an account's password hash; `clear_throttle` also forgives wrong passwords.
    fn set_password_hash(&mut self, login: &str, password_hash: &str, clear_throttle: bool) -> StoreResult<()>;
    /// Records wrong passwords in a row and the lock they earned (0: none).
    fn set_login_failures(&mut self, login: &str, failed: i64, locked_until: i64) -> StoreResult<()>;
    /// Counts one attempt at `login`, which has no account, at `at`, unless it is
    /// locked: its failures in a row (this one included; the earlier ones only if the
    /// last ended after `forget_before`) and its lock as it was. Logins whose last
    /// failure or lock ended before `forget_before` are forgotten.
    fn claim_unknown_login(&mut self, login: &str, at: i64, forget_before: i64) -> StoreResult<(i64, i64)>;
    /// Sets the lock of `login`, which has no account: its end, or the time of its last
    /// failure when it is not locked.
    fn set_unknown_login_lock(&mut self, login: &str, locked_until: i64) -> StoreResult<()>;
    /// Disables or enables an account.
    fn set_disabled(&mut self, login: &str, disabled: bool) -> StoreResult<()>;
    /// Opens a session.
    fn insert_session(
        &mut self,
        token_hash: &[u8],
        login: &str,
        device: &str,
        at: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// Ends one session.
    fn delete_session(&mut self, token_hash: &[u8]) -> StoreResult<()>;
    /// Ends every session of `login` but `except`.
    fn delete_sessions_of(&mut self, login: &str, except: Option<&[u8]>) -> StoreResult<()>;

    /// Assigns household `id` to cadre `login`; `false` if it already was.
    fn assign(&mut self, id: &str, login: &str) -> StoreResult<bool>;
    /// Takes household `id` from cadre `login`; `false` if it was not theirs.
    fn unassign(&mut self, id: &str, login: &str) -> StoreResult<bool>;
    /// Takes every household from `login`; how many.
    fn unassign_all(&mut self, login: &str) -> StoreResult<usize>;
    /// Records an action in the audit log.
    fn audit(&mut self, at: i64, login: &str, action: &str, detail: &str) -> StoreResult<()>;
    /// Keeps `report` as the latest from `login`'s phone `device`, received at `at`.
    fn put_phone_report(
        &mut self,
        login: &str,
        device: &str,
        report: &shared::api::PhoneReport,
        at: i64,
    ) -> StoreResult<()>;

    /// Replaces the settings of every year with `new` (sorted by year) and drops the
    /// summaries of the years whose figures change, to be computed again; returns the
    /// settings replaced, or `None` when `new` is what is stored (nothing written).
    fn replace_settings(&mut self, new: &shared::Settings, by: &str, at: i64) -> StoreResult<Option<shared::Settings>>;
    /// Records who uploaded each of `hashes` into household `id`.
    fn log_changes(&mut self, id: &str, hashes: &[ChangeHash], login: &str, device: &str, at: i64) -> StoreResult<()>;
    /// Locks, for the rest of the transaction and in one order, households `ids`
    /// (those of them in `scope`) and their grids, before a merge or an import reads
    /// them; a household not created yet is locked by its id (engines whose writers
    /// run concurrently; SQLite has one writer).
    fn lock_households(&mut self, scope: &Scope, ids: &[&str]) -> StoreResult<()> {
        let _ = (scope, ids);
        Ok(())
    }
    /// Fills in the summaries of `period` for at most `at_most` of the households of
    /// `selection` that have none (nothing for a period that has not begun); how many.
    fn fill_summaries(&mut self, selection: &Selection, period: shared::Period, at_most: usize) -> StoreResult<usize>;
    /// Stores a household's document and its projections.
    fn write_doc(&mut self, doc: &DocWrite<'_>, at: i64) -> StoreResult<()>;
    /// Persists this device's sync state for household `id`.
    fn put_sync_state(&mut self, device: &str, id: &str, state: &[u8]) -> StoreResult<()>;
    /// Merges' writes for households, in order: for each, [`Writer::log_changes`] and
    /// [`Writer::write_doc`] when the merge changed the document, then
    /// [`Writer::put_sync_state`]. An engine whose statements each cost a round trip
    /// sends them together.
    fn write_merged(&mut self, merged: &[MergedWrite<'_>]) -> StoreResult<()> {
        for m in merged {
            if let Some((hashes, doc)) = &m.change {
                self.log_changes(m.id, hashes, m.login, m.device, m.at)?;
                self.write_doc(doc, m.at)?;
            }
            self.put_sync_state(m.device, m.id, m.state)?;
        }
        Ok(())
    }
    /// Keeps household `id`'s document `bytes`, whose changes are `hashes`, as retired
    /// (an admin, `by`, rewrote its history at `at`), marks the household rewritten, and
    /// drops every device's sync state with it. The caller writes the new document.
    fn retire_doc(&mut self, id: &str, bytes: &[u8], hashes: &[ChangeHash], by: &str, at: i64) -> StoreResult<()>;

    /// Stores `doc` (already checked) for household `id`, saved whole, with its
    /// projections on `today`.
    fn save_doc(
        &mut self,
        id: &str,
        doc: &HouseholdDoc,
        household: &Household,
        today: shared::Date,
        at: i64,
    ) -> StoreResult<()> {
        let settings = self.settings()?;
        let projection = Projection::of(doc, household, today, &settings)?;
        let (bytes, heads) = (doc.save(), doc.heads());
        self.write_doc(
            &DocWrite { id, bytes: &bytes, doc_changes: 0, heads: &heads, household, projection: &projection },
            at,
        )
    }
}

/// The database a server runs on.
#[derive(Debug, Clone)]
pub enum Store {
    /// One embedded SQLite file.
    Sqlite(sqlite::Sqlite),
    /// A PostgreSQL database.
    Postgres(postgres::Postgres),
}

impl Store {
    /// Opens (creating and migrating if needed) the SQLite database at `path`.
    pub fn open_sqlite(path: &Path) -> StoreResult<Self> {
        Ok(Self::Sqlite(sqlite::Sqlite::open(path)?))
    }

    /// Opens `spec`: a PostgreSQL URL (`postgres://…`), or else the path of a SQLite
    /// file; either is created or migrated as needed.
    pub async fn open(spec: &str) -> StoreResult<Self> {
        if postgres::is_url(spec) {
            Ok(Self::Postgres(postgres::Postgres::open(spec).await?))
        } else {
            Self::open_sqlite(Path::new(spec))
        }
    }

    /// At a clean stop: SQLite's write-ahead log is moved into the file, so the file
    /// alone is the whole database. Nothing to do for PostgreSQL.
    pub async fn close(&self) -> StoreResult<()> {
        match self {
            Store::Sqlite(db) => {
                let db = db.clone();
                tokio::task::spawn_blocking(move || db.checkpoint())
                    .await
                    .map_err(|e| StoreError::Transfer(format!("the checkpoint stopped: {e}")))?
            }
            Store::Postgres(_) => Ok(()),
        }
    }

    /// What the store is, for messages: the file, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Store::Sqlite(db) => db.path().display().to_string(),
            Store::Postgres(db) => db.shown().to_owned(),
        }
    }

    /// Runs `read` on a reader (never waiting for a write), or, if it finds
    /// projections to fill in, on the writer.
    pub async fn read<T, F>(&self, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Reader) -> StoreResult<T> + Send + 'static,
    {
        match self {
            Store::Sqlite(db) => db.read(read).await,
            Store::Postgres(db) => db.read(read).await,
        }
    }

    /// [`Store::read`] for a read that may take seconds (an export of a whole county):
    /// such reads have readers of their own, so that short reads and syncs never
    /// wait behind them.
    pub async fn read_long<T, F>(&self, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Reader) -> StoreResult<T> + Send + 'static,
    {
        match self {
            Store::Sqlite(db) => db.read_long(read).await,
            Store::Postgres(db) => db.read_long(read).await,
        }
    }

    /// Runs `write` in one transaction: committed if it succeeds, rolled back if not.
    /// An engine may run it again after a deadlock or a serialisation failure, so it
    /// must do the same from the start each time.
    pub async fn write<T, E, F>(&self, write: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnMut(&mut dyn Writer) -> Result<T, E> + Send + 'static,
    {
        match self {
            Store::Sqlite(db) => db.write(write).await,
            Store::Postgres(db) => db.write(write).await,
        }
    }
}
