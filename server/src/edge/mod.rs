//! The server's edge (接入层): what happens to a request before any handler sees it,
//! and the ways in. `client`: who is asking (the trusted-proxy rule); `limit`: how
//! often one address may ask; `tls`: HTTPS with a certificate re-read on renewal, and
//! the plain-http listener that only redirects to it.

pub mod client;
pub mod limit;
pub mod tls;

use shared::api::ErrorCode;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use client::{Network, TrustedProxies};
pub use limit::Limiter;

use crate::error::AppError;

/// `serve`'s settings for the edge.
#[derive(Debug, Default)]
pub struct Edge {
    /// Whose forwarded headers are believed.
    pub proxies: TrustedProxies,
    /// Logins per minute per address (`None`: no limit).
    pub login: Option<Limiter>,
    /// Other API requests per minute per address (`None`: no limit).
    pub requests: Option<Limiter>,
    /// Whether the server speaks HTTPS itself: answers then carry HSTS.
    pub https: bool,
}

/// HSTS: a year, as browsers expect of a site that is HTTPS only.
pub const HSTS: &str = "max-age=31536000";

/// The address a request comes from (set by [`guard`]), for handlers and logs.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl Edge {
    /// Forgets idle addresses of both limiters every [`limit::FORGET_EVERY`], for as
    /// long as the edge lives.
    pub fn spawn_upkeep(self: &Arc<Self>) {
        let edge = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(limit::FORGET_EVERY);
            loop {
                tick.tick().await;
                let Some(edge) = edge.upgrade() else { return };
                for limiter in [&edge.login, &edge.requests].into_iter().flatten() {
                    limiter.forget_idle();
                }
            }
        });
    }
}

/// The middleware: finds the client's address, counts the request against its limit
/// (logins and other API calls apart; `/api/health` and the app's files are not
/// counted), and adds HSTS to the answer when it went over HTTPS (here, or to a
/// trusted proxy).
pub async fn guard(State(edge): State<Arc<Edge>>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let client = peer.map(|p| edge.proxies.client(p, request.headers()));
    // HTTPS here, or at a trusted proxy in front (`X-Forwarded-Proto: https`).
    let https = edge.https || peer.is_some_and(|p| edge.proxies.forwarded_https(p, request.headers()));
    let path = request.uri().path();
    let limiter = match path {
        "/api/login" => edge.login.as_ref().map(|l| (l, true)),
        "/api/health" => None,
        p if p.starts_with("/api/") => edge.requests.as_ref().map(|l| (l, false)),
        _ => None,
    };
    if let (Some((limiter, login)), Some(ip)) = (limiter, client)
        && let Err(wait) = limiter.check(ip)
    {
        tracing::warn!(client = %ip, path, wait, "rate limited");
        // Read before answering (as for 413), so a phone still sending sees the 429.
        crate::listen::drain(request, crate::sync::MAX_BODY as u64, Some(std::time::Duration::from_secs(10))).await;
        return rate_limited(limiter.limit(), login, wait).into_response();
    }
    if let Some(ip) = client {
        request.extensions_mut().insert(ClientAddr(ip));
    }
    let mut response = next.run(request).await;
    if https {
        response.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    response
}

/// 429 for an address over its limit of `per_minute`.
fn rate_limited(per_minute: u32, login: bool, wait: u64) -> AppError {
    let (zh, en) = if login {
        (
            format!("这个网络地址登录尝试太频繁（每分钟最多 {per_minute} 次），请 {wait} 秒后再试"),
            format!("Too many login attempts from this address (at most {per_minute} a minute); try again in {wait} s"),
        )
    } else {
        (
            format!("这个网络地址的请求太频繁（每分钟最多 {per_minute} 次），请 {wait} 秒后再试"),
            format!("Too many requests from this address (at most {per_minute} a minute); try again in {wait} s"),
        )
    };
    let mut e = AppError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, zh, en);
    e.retry_after = Some(wait);
    e
}
