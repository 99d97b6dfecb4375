//! huhujian's server: the batched Automerge sync phones talk to, and the read API
//! supervisors use, on axum + tokio, over a storage boundary (`store`) whose engine is
//! one embedded SQLite file.
//!
//! - `store`: the storage boundary (typed reads and writes, one transaction per
//!   change) and its engines;
//! - `auth`: accounts, argon2 passwords, bearer sessions, scope checks;
//! - `sync`, `merge`: `POST /api/sync`, the batched sync (format in `shared::wire`,
//!   PROTOCOL.md), and merging a batch on every core;
//! - `api`: the JSON API, one module per resource; `export`: the period exports;
//! - `admin`, `roster`: users, roster import, assignments;
//! - `demo`: the demo county of `serve --demo`;
//! - `listen`: accepting connections within limits (no client can stall the rest);
//! - `edge`: the client's address (trusted proxies), per-address rate limits, HTTPS;
//! - `metrics`: counters and latencies for Prometheus, on a listener of their own;
//! - `backup`: online backup and restore of the SQLite file (the CLI's `backup`, `restore`);
//! - `blobs`: the photos and signatures visits reference, kept by their SHA-256;
//! - `bulk`: exports and long reads on a thread of lower CPU priority.
//!
//! `router(state)` builds the HTTP surface and `serve(listener, state, shutdown)` runs
//! it, so tests bind port 0 and stop the server when done.

pub mod admin;
pub mod api;
pub mod auth;
pub mod backup;
pub mod blobs;
pub mod bulk;
pub mod demo;
pub mod denied;
pub mod doc_cache;
pub mod edge;
pub mod error;
pub mod export;
pub mod headers;
pub mod listen;
pub mod merge;
pub mod metrics;
pub mod month;
pub mod roster;
pub mod start;
pub mod store;
pub mod sync;

use std::future::Future;
use std::path::PathBuf;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};

pub use crate::api::account::{LoginRequest, PasswordChange};
use crate::api::{
    account, blobs as blob_api, cases, conflicts, dashboard, flagged, households, phones, reviews, settings,
};
use crate::error::AppError;

/// The memory allocator the server's programs use (each declares it as its
/// `#[global_allocator]`: the `server` command, and the benchmark and load programs
/// that run the same code). Merging is Automerge building and dropping many small
/// values; mimalloc does that faster than the system allocator (`BENCHMARKS.md`).
pub use mimalloc::MiMalloc as Allocator;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Where everything is kept.
    pub store: store::Store,
    /// The built app (Trunk's `dist/`), served at `/` when present.
    pub app_dir: Option<PathBuf>,
    /// Trusted proxies, rate limits, HTTPS (`Edge::default()`: none of them).
    pub edge: std::sync::Arc<edge::Edge>,
    /// Where photos and signatures are kept (`None`: nowhere, and the blob API says so).
    pub blobs: Option<blobs::Blobs>,
    /// Documents loaded by merges, kept for the next ([`doc_cache`]).
    pub docs: std::sync::Arc<doc_cache::DocCache>,
}

impl AppState {
    /// The state for `store`, serving the app in `app_dir`, with no proxy trusted, no
    /// rate limit and plain http (tests, and embedding).
    pub fn new(store: store::Store, app_dir: Option<PathBuf>) -> Self {
        let blobs = default_blobs(&store);
        Self { store, app_dir, edge: Default::default(), blobs, docs: Default::default() }
    }
}

/// The blob store beside a SQLite file (`county.blobs` beside `county.sqlite3`); none
/// for PostgreSQL, whose servers may be many machines: `--blobs` names a folder they
/// share or a bucket.
pub fn default_blobs(store: &store::Store) -> Option<blobs::Blobs> {
    let store::Store::Sqlite(s) = store else { return None };
    let dir = blobs::Blobs::beside(s.path());
    match blobs::Blobs::open(&dir) {
        Ok(b) => Some(b),
        Err(e) => {
            tracing::error!(dir = %dir.display(), %e, "the blob folder cannot be opened: photos will be refused");
            None
        }
    }
}

pub use shared::api::Health;

async fn health() -> Json<Health> {
    Json(Health { ok: true, schema: shared::fields::SCHEMA_VERSION, version: env!("CARGO_PKG_VERSION").to_owned() })
}

async fn api_not_found() -> AppError {
    AppError::not_found("接口 / endpoint")
}

/// The HTTP surface.
pub fn router(state: AppState) -> Router {
    // JSON bodies are small, a roster or a sync batch may be large: a body announced
    // larger than its route's limit is answered 413 without being kept
    // (`listen::limit_body`), and the extractors stop reading at the limit. The sync
    // handler also limits what a gzip body inflates to, after the session check.
    let small = Router::new()
        .route("/api/health", get(health))
        .route("/api/login", post(account::login))
        .route("/api/logout", post(account::logout))
        .route("/api/password", post(account::change_password))
        .route("/api/me", get(account::me))
        .route("/api/households", get(households::list))
        .route("/api/households/{id}", get(households::one))
        .route("/api/households/{id}/history", get(households::history))
        .route("/api/households/{id}/review", post(reviews::act))
        .route("/api/households/{id}/resolve", post(conflicts::resolve))
        .route("/api/households/{id}/case", post(cases::step))
        .route("/api/households/{id}/measures", post(cases::measure))
        .route("/api/cases", get(cases::queue))
        .route("/api/reviews", get(reviews::queue))
        .route("/api/trend", get(dashboard::trend))
        .route("/api/phone", post(phones::report))
        .route("/api/phones", get(phones::list))
        .route("/api/blobs/missing", post(blob_api::missing))
        .route("/api/blobs/{sha256}", get(blob_api::get).put(blob_api::put))
        .route("/api/settings", get(settings::get).put(settings::put))
        .route("/api/coverage", get(dashboard::coverage))
        .route("/api/indicators", get(dashboard::indicators))
        .route("/api/indicators/sites", get(dashboard::indicators_by_site))
        .route("/api/flagged", get(flagged::list))
        .route("/api/conflicts", get(conflicts::list))
        .route("/api/export.csv", get(export::export_csv))
        .route("/api/export.xlsx", get(export::export_xlsx))
        .route("/api/export/{file}", get(export::export_sheet_csv))
        .route("/api/admin/users", get(admin::list_users).post(admin::create_user))
        .route("/api/admin/users/{id}", post(admin::update_user_handler).patch(admin::update_user_handler))
        .route("/api/admin/assignments", get(admin::assignments).post(admin::assign_handler))
        .route("/api/admin/households/{id}/rewrite", post(admin::rewrite_handler))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .layer(axum::middleware::from_fn_with_state(MAX_JSON_BODY, listen::limit_body));
    let large = Router::new()
        .route("/api/sync", post(sync::sync))
        .route("/api/sync/{id}", post(sync::sync_single))
        .route("/api/admin/roster", post(admin::import_roster).layer(DefaultBodyLimit::max(sync::MAX_BODY)))
        .route("/api/cases/import", post(cases::import).layer(DefaultBodyLimit::max(sync::MAX_BODY)))
        .layer(axum::middleware::from_fn_with_state(sync::MAX_BODY, listen::limit_body));
    let api = small
        .merge(large)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        // A body that stalls is cut off.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(listen::Limits::default().body_idle_timeout))
        .layer(axum::middleware::map_response(error::json_rejections))
        .with_state(state.clone());
    let app = match &state.app_dir {
        Some(dir) => {
            // `cargo xtask` writes brotli (quality 11) and gzip -9 copies beside each
            // file; the compression layer leaves responses already encoded alone.
            let index =
                tower_http::services::ServeFile::new(dir.join("index.html")).precompressed_br().precompressed_gzip();
            let files = tower_http::services::ServeDir::new(dir).precompressed_br().precompressed_gzip();
            api.fallback_service(files.fallback(index))
        }
        None => api,
    };
    let security = std::sync::Arc::new(headers::SecurityHeaders::for_app_dir(state.app_dir.as_deref()));
    app.layer(axum::middleware::from_fn_with_state(security, headers::add))
        // An XLSX workbook is a zip already: gzipping it again would take a core from
        // the syncs and save nothing.
        .layer(
            CompressionLayer::new()
                .compress_when(DefaultPredicate::new().and(NotForContentType::const_new(export::XLSX_TYPE))),
        )
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn_with_state(state.edge.clone(), edge::guard))
}

/// Largest JSON request body (login, users, reviews, conflict picks).
pub const MAX_JSON_BODY: usize = 64 << 10;

/// Serves `router(state)` on `listener` until `shutdown` completes, within the
/// default [`listen::Limits`], over plain http.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, None, shutdown).await
}

/// [`serve`], over TLS when `tls` is given.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    state.edge.spawn_upkeep();
    listen::serve(listener, router(state), listen::Limits::default(), tls, shutdown).await
}
