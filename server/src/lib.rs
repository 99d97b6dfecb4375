//! huhujian's server: the batched Automerge sync phones talk to, and the read API
//! supervisors use, on axum + tokio + rusqlite (one embedded SQLite file).
//!
//! - `db`: the SQLite handle and append-only migrations;
//! - `auth`: accounts, argon2 passwords, bearer sessions, scope;
//! - `store`: household documents and their projections (summary rows);
//! - `sync`: `POST /api/sync`, the batched sync (format in `shared::wire`, PROTOCOL.md);
//! - `reads`, `export`: the supervisor read API and CSV export;
//! - `console`: household detail, review (approve / return), conflict resolution, trend;
//! - `admin`, `roster`: users, roster import, assignments;
//! - `demo`: the demo county of `serve --demo`;
//! - `backup`: online backup and restore of the database file (the CLI's `backup`, `restore`).
//!
//! `router(state)` builds the HTTP surface and `serve(listener, state, shutdown)` runs
//! it, so tests bind port 0 and stop the server when done.

pub mod admin;
pub mod auth;
pub mod backup;
pub mod console;
pub mod db;
pub mod demo;
pub mod error;
pub mod export;
pub mod headers;
pub mod merge;
pub mod reads;
pub mod roster;
pub mod store;
pub mod sync;

use std::future::Future;
use std::path::PathBuf;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;

use crate::admin::json_body;
use crate::auth::Session;
use crate::error::{AppError, AppResult};

/// The memory allocator the server's programs use (each declares it as its
/// `#[global_allocator]`: the `server` command, and the benchmark and load programs
/// that run the same code). Merging is Automerge building and dropping many small
/// values; mimalloc does that faster than the system allocator (`BENCHMARKS.md`).
pub use mimalloc::MiMalloc as Allocator;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub db: db::Db,
    /// The built app (Trunk's `dist/`), served at `/` when present.
    pub app_dir: Option<PathBuf>,
}

/// Answer of `GET /api/health`.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Health {
    /// Always `true` when the server answers.
    pub ok: bool,
    /// The document layout version this server reads and writes.
    pub schema: i64,
    /// The server's version.
    pub version: String,
}

async fn health() -> Json<Health> {
    Json(Health { ok: true, schema: shared::fields::SCHEMA_VERSION, version: env!("CARGO_PKG_VERSION").to_owned() })
}

/// `POST /api/login` body.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct LoginRequest {
    /// Login (账号).
    pub login: String,
    /// Password.
    pub password: String,
    /// A stable id of the device (phone install), `[A-Za-z0-9_.-]{1,32}`.
    pub device_id: String,
}

async fn login(State(state): State<AppState>, body: Bytes) -> AppResult<Json<auth::LoginOk>> {
    let req: LoginRequest = json_body(&body)?;
    let ok =
        state.db.run(move |conn| auth::login(conn, &req.login, &req.password, &req.device_id, auth::now())).await?;
    tracing::info!(user = %ok.user.id, "login");
    Ok(Json(ok))
}

/// Ends the session of the request's token. Like every call but login, it needs a live
/// session: an unknown, expired or revoked token is `401`, as everywhere.
async fn logout(State(state): State<AppState>, _session: Session, headers: HeaderMap) -> AppResult<StatusCode> {
    let token = bearer_of(&headers)?;
    state.db.run(move |conn| auth::logout(conn, &token)).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn bearer_of(headers: &HeaderMap) -> AppResult<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .ok_or_else(AppError::unauthorized)
}

/// `POST /api/password` body.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct PasswordChange {
    /// The current password.
    pub old: String,
    /// The new one.
    pub new: String,
}

async fn change_password(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<StatusCode> {
    let change: PasswordChange = json_body(&body)?;
    let token = bearer_of(&headers)?;
    state.db.run(move |conn| auth::change_password(conn, &token, &session.user.id, &change.old, &change.new)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(session: Session) -> Json<auth::User> {
    Json(session.user)
}

async fn api_not_found() -> AppError {
    AppError::not_found("接口 / endpoint")
}

/// The HTTP surface.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/health", get(health))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/password", post(change_password))
        .route("/api/me", get(me))
        .route("/api/sync", post(sync::sync))
        .route("/api/sync/{id}", post(sync::sync_single))
        .route("/api/households", get(reads::households))
        .route("/api/households/{id}", get(console::household))
        .route("/api/households/{id}/history", get(reads::history))
        .route("/api/households/{id}/review", post(console::review))
        .route("/api/households/{id}/resolve", post(console::resolve))
        .route("/api/reviews", get(console::reviews))
        .route("/api/trend", get(console::trend))
        .route("/api/coverage", get(reads::coverage))
        .route("/api/indicators", get(reads::indicators))
        .route("/api/flagged", get(reads::flagged))
        .route("/api/conflicts", get(reads::conflicts))
        .route("/api/export.csv", get(export::export_csv))
        .route("/api/export.xlsx", get(export::export_xlsx))
        .route("/api/export/{file}", get(export::export_sheet_csv))
        .route("/api/admin/users", get(admin::list_users).post(admin::create_user))
        .route("/api/admin/users/{id}", post(admin::update_user_handler).patch(admin::update_user_handler))
        .route("/api/admin/roster", post(admin::import_roster))
        .route("/api/admin/assignments", get(admin::assignments).post(admin::assign_handler))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        // JSON and CSV bodies; the sync handler enforces its own (decompressed) limit.
        .layer(DefaultBodyLimit::max(sync::MAX_BODY))
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
    app.layer(axum::middleware::from_fn_with_state(security, headers::add)).layer(CompressionLayer::new())
}

/// Serves `router(state)` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
