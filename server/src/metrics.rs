//! Metrics (运行指标) a county's monitoring can scrape, in Prometheus's text format,
//! served on a listener of their own (`serve --metrics-bind`, off by default) so that
//! they are never on the public address. Labels are routes, methods, statuses and
//! codes: never a login, a household, an address or anything personal.
//!
//! The counters live for the whole process (one [`registry`]); recording is a few
//! atomic adds, done whether or not anyone scrapes.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route's pattern (`/api/households/{id}`), `app` for the app's files.
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

type Seconds = Family<RouteLabels, Histogram, fn() -> Histogram>;
type Waits = Family<KindLabels, Histogram, fn() -> Histogram>;

/// Every metric of the process.
struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Seconds,
    sync_batches: Counter,
    documents_merged: Counter,
    refusals: Family<CodeLabels, Counter>,
    store_waits: Waits,
    doc_cache: Family<OutcomeLabels, Counter>,
}

fn latency_buckets() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

fn wait_buckets() -> Histogram {
    // 0.1 ms to about 3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("huhujian");
    let requests = Family::<RequestLabels, Counter>::default();
    registry.register("http_requests", "HTTP requests answered, by route, method and status", requests.clone());
    let latency: Seconds = Family::new_with_constructor(latency_buckets);
    registry.register("http_request_duration_seconds", "Time to answer, by route", latency.clone());
    let sync_batches = Counter::default();
    registry.register("sync_batches", "Sync requests merged (POST /api/sync and /api/sync/{id})", sync_batches.clone());
    let documents_merged = Counter::default();
    registry.register(
        "documents_merged",
        "Household documents merged by sync, refused ones not counted",
        documents_merged.clone(),
    );
    let refusals = Family::<CodeLabels, Counter>::default();
    registry.register(
        "refusals",
        "Refusals by code: error answers and refused documents in sync batches",
        refusals.clone(),
    );
    let store_waits: Waits = Family::new_with_constructor(wait_buckets);
    registry.register(
        "store_wait_seconds",
        "Time waiting for a database connection (read, long_read) or the writer (write)",
        store_waits.clone(),
    );
    let doc_cache = Family::<OutcomeLabels, Counter>::default();
    registry.register(
        "doc_cache_takes",
        "Merges that found the household's document loaded in memory (hit) or loaded it (miss)",
        doc_cache.clone(),
    );
    Metrics { registry, requests, latency, sync_batches, documents_merged, refusals, store_waits, doc_cache }
});

/// Middleware counting each answer by route, method and status, with its latency.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        // Unknown API paths match `/api/{*rest}`; what matches no route is the app's files.
        || "app".to_owned(),
        |p| p.as_str().to_owned(),
    );
    // A fixed set: hyper accepts any token as a method, and each new label value
    // would be a series kept for ever.
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let m = &*METRICS;
    m.latency.get_or_create(&RouteLabels { route: route.clone() }).observe(started.elapsed().as_secs_f64());
    m.requests.get_or_create(&RequestLabels { route, method, status: response.status().as_u16() }).inc();
    response
}

/// A refusal with `code` (an error answer, or a document refused in a batch).
pub fn refused(code: &str) {
    METRICS.refusals.get_or_create(&CodeLabels { code: code.to_owned() }).inc();
}

/// A sync batch merged, with `merged` documents taken.
pub fn sync_batch(merged: usize) {
    METRICS.sync_batches.inc();
    METRICS.documents_merged.inc_by(merged as u64);
}

/// Waited `waited` for a connection of `kind` (`read`, `long_read`, `write`).
pub fn store_wait(kind: &'static str, waited: Duration) {
    METRICS.store_waits.get_or_create(&KindLabels { kind }).observe(waited.as_secs_f64());
}

/// A merge found its document loaded in memory (`hit`) or not.
pub fn doc_cache(hit: bool) {
    METRICS.doc_cache.get_or_create(&OutcomeLabels { outcome: if hit { "hit" } else { "miss" } }).inc();
}

/// The text exposition of every metric.
pub fn render() -> String {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &METRICS.registry).is_err() {
        out.clear();
    }
    out
}

/// The metrics listener's router: `GET /metrics`, nothing else.
pub fn router() -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                render(),
            )
                .into_response()
        }),
    )
}
