//! huhujian's server: the sync endpoint phones talk to and the read API supervisors use,
//! on axum + tokio. `router(state)` builds the HTTP surface; `serve(listener, shutdown)`
//! runs it, so tests can bind port 0 and stop it when they are done.
//!
//! This is the foundation slice: health and the static app. Accounts, storage, sync and
//! projections arrive with issue #3 (see ARCHITECTURE.md).

use std::future::Future;
use std::path::PathBuf;

use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;

/// What every handler can reach.
#[derive(Debug, Clone, Default)]
pub struct AppState {
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

/// The HTTP surface.
pub fn router(state: AppState) -> Router {
    let api = Router::new().route("/api/health", get(health));
    match &state.app_dir {
        Some(dir) => api.fallback_service(axum::routing::get_service(tower_http::services::ServeDir::new(dir))),
        None => api,
    }
}

/// Serves `router(state)` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
