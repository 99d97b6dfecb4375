//! End-to-end tests, one binary (see ripgrep's layout): a real server on port 0 over a
//! real SQLite file; each module one area. The modules that apply to both engines run a
//! second time on PostgreSQL (`HUHUJIAN_TEST_ENGINE=postgres`, `cargo xtask test`'s
//! `BOTH_ENGINES`): their servers come from [`roster_server`], their direct looks at
//! the database from `TestServer::peek`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod access;
mod accounts;
mod admin;
mod backup;
mod bad_input;
mod cases;
mod concurrency;
mod console;
mod crash;
mod damaged;
mod demo;
mod durability;
mod edge;
mod evidence;
mod export;
mod health;
mod hostile;
mod lifecycle;
mod load;
mod logs;
mod month;
mod phones;
mod postgres;
mod rewrite;
mod roster;
mod scale_out;
mod scope;
mod settings;
mod sync;
mod trust;

use huhujian_tests::{Engine, ROSTER, TestServer, seed};
use server::auth::Role;

/// A fresh database in `dir` with the test roster, two cadres (c1, c2), a supervisor
/// of 阳光社区 (s1) and an admin.
pub fn roster_db(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("huhujian.sqlite3");
    seed(&path, ROSTER_USERS, ROSTER);
    path
}

/// A server over [`roster_db`], or over the same accounts and roster on a PostgreSQL
/// database of its own when the suite runs on PostgreSQL ([`Engine::current`]).
pub async fn roster_server(dir: &tempfile::TempDir) -> TestServer {
    match Engine::current() {
        Engine::Sqlite => TestServer::start(&roster_db(dir)).await,
        Engine::Postgres => {
            let pg = huhujian_tests::pg::PgDb::create().await;
            roster_server_on_postgres(&pg).await.owning(pg)
        }
    }
}

/// The store of [`roster_server`] without a server: the caller starts as many as it
/// likes over clones of it. With the path they serve and, on PostgreSQL, the database
/// to keep until they stop.
pub async fn roster_store(
    dir: &tempfile::TempDir,
) -> (server::store::Store, std::path::PathBuf, Option<huhujian_tests::pg::PgDb>) {
    match Engine::current() {
        Engine::Sqlite => {
            let path = roster_db(dir);
            (server::store::Store::open_sqlite(&path).expect("open"), path, None)
        }
        Engine::Postgres => {
            let pg = huhujian_tests::pg::PgDb::create().await;
            let store = server::store::Store::open(&pg.url).await.expect("open PostgreSQL");
            huhujian_tests::seed_store(&store, ROSTER_USERS, ROSTER).await;
            (store, "postgres".into(), Some(pg))
        }
    }
}

/// The accounts of [`roster_db`].
pub(crate) const ROSTER_USERS: &[(&str, &str, Role, Option<&str>)] = &[
    ("admin", "管理员", Role::Admin, None),
    ("s1", "赵主任", Role::Supervisor, Some("site:阳光社区")),
    ("c1", "李明", Role::Cadre, None),
    ("c2", "张华", Role::Cadre, None),
];

/// [`roster_server`] on a PostgreSQL database of its own (`pg`, kept by the caller so
/// that it is dropped after the test).
pub async fn roster_server_on_postgres(pg: &huhujian_tests::pg::PgDb) -> TestServer {
    let store = server::store::Store::open(&pg.url).await.expect("open PostgreSQL");
    huhujian_tests::seed_store(&store, ROSTER_USERS, ROSTER).await;
    TestServer::start_with(store, std::path::Path::new("postgres")).await
}
