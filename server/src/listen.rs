//! Accepting connections so that no client can stall the others: at most
//! [`Limits::max_connections`] open at once (the rest wait in the kernel's queue, never
//! as file descriptors), a deadline for the TLS handshake, for a request's headers and
//! for each piece of its body, and a graceful stop that lets requests under way finish.
//!
//! axum's own `serve` sets neither a header deadline nor a connection cap: a client
//! that opens connections and never finishes its headers used to hold them (and
//! their file descriptors) for ever.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

/// How much of the server one client may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// Time a client has to send a request's headers once it starts one (and to start
    /// one on a new connection).
    pub header_timeout: Duration,
    /// Longest pause inside a request body (the body timeout of `router`).
    pub body_idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: default_max_connections(),
            header_timeout: Duration::from_secs(15),
            body_idle_timeout: Duration::from_secs(30),
        }
    }
}

/// File descriptors this process may open (the soft limit), when Linux says.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Half the file descriptors the process may open, at most 8,192 and at least 64: the
/// other half stays for the database, the app's files and the logs.
fn default_max_connections() -> usize {
    open_files_limit().map_or(1024, |n| n / 2).clamp(64, 8192)
}

/// Serves `router` on `listener` within `limits` (over TLS when `tls` is given) until
/// `shutdown` completes, then waits for the requests under way.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let (done_tx, done_rx) = watch::channel(());
    let mut stopping = stop_rx.clone();
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
            () = stopped(&mut stopping) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was
                    // accepted: log it, breathe, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stopping) => break,
        };
        let _ = stream.set_nodelay(true);
        let (router, tls) = (router.clone(), tls.clone());
        let (stop, done) = (stop_rx.clone(), done_rx.clone());
        tokio::spawn(async move {
            match tls {
                None => connection(stream, peer, router, limits, stop).await,
                // The handshake has the headers' deadline: a client that opens a
                // connection and says nothing holds it no longer over TLS.
                Some(tls) => match tokio::time::timeout(limits.header_timeout, tls.accept(stream)).await {
                    Ok(Ok(stream)) => connection(stream, peer, router, limits, stop).await,
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
            }
            drop((permit, done));
        });
    }
    drop(listener);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}

/// Serves HTTP/1.1 on one connection until it closes, or until the stop signal (then
/// gracefully: the request under way is answered).
async fn connection<S>(stream: S, peer: SocketAddr, router: Router, limits: Limits, mut stop: watch::Receiver<bool>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        async move {
            Ok::<_, Infallible>(
                tower_service::Service::call(&mut router, req.map(Body::new)).await.unwrap_or_else(|e| match e {}),
            )
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Completes once the stop signal is given (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Middleware refusing a request whose announced body (`Content-Length`) is larger
/// than `limit` with 413, without keeping any of it: the body is read and thrown away
/// (up to twice the sync limit, each piece within the body deadline) before the
/// answer, so that the client, still sending, reads the answer instead of a
/// connection reset.
pub async fn limit_body(
    axum::extract::State(limit): axum::extract::State<usize>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let announced = announced_length(&req);
    if announced.is_none_or(|n| n <= limit as u64) {
        return next.run(req).await;
    }
    drain(req, 2 * crate::sync::MAX_BODY as u64, None).await;
    if limit >= crate::sync::MAX_BODY {
        return crate::error::AppError::too_large(limit).into_response();
    }
    crate::error::AppError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        shared::api::ErrorCode::TooLarge,
        format!("请求内容太大（上限 {} KB）", limit >> 10),
        format!("The request body is too large (limit {} KB)", limit >> 10),
    )
    .into_response()
}

/// The body length `req` announces (`Content-Length`).
pub fn announced_length(req: &axum::extract::Request) -> Option<u64> {
    req.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}

/// Reads and drops a refused request's body when it announces at most `max` bytes, so
/// that a client still sending reads the refusal rather than a connection reset; for
/// at most `within` when given (outside the router's body deadline).
pub async fn drain(req: axum::extract::Request, max: u64, within: Option<Duration>) {
    use futures_util::StreamExt;
    if !announced_length(&req).is_some_and(|n| n > 0 && n <= max) {
        return;
    }
    let mut body = req.into_body().into_data_stream();
    let read = async { while let Some(Ok(_)) = body.next().await {} };
    match within {
        Some(limit) => {
            let _ = tokio::time::timeout(limit, read).await;
        }
        None => read.await,
    }
}
