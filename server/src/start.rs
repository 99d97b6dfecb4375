//! `server serve` once the database is open: the listeners (HTTPS or http, the
//! plain-http redirect, the metrics listener), the edge's settings, the month's
//! projections made ahead (`crate::month`), and the warnings an operator needs at start.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::edge::tls::{Certificate, TlsFiles};
use crate::edge::{Edge, Limiter, Network, TrustedProxies};
use crate::store::Store;
use crate::{AppState, auth, listen};

/// How `serve` was asked to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the app and the API listen.
    pub bind: SocketAddr,
    /// The built app.
    pub app_dir: Option<PathBuf>,
    /// HTTPS with this certificate and key.
    pub tls: Option<TlsFiles>,
    /// A plain-http listener that redirects to HTTPS.
    pub redirect_bind: Option<SocketAddr>,
    /// Proxies whose `X-Forwarded-For` / `-Proto` are believed.
    pub trusted_proxies: Vec<Network>,
    /// Logins per minute per address (0: no limit).
    pub login_limit: u32,
    /// API requests per minute per address (0: no limit).
    pub request_limit: u32,
    /// Where `GET /metrics` is served (nowhere if `None`).
    pub metrics_bind: Option<SocketAddr>,
    /// The blob folder or `s3://bucket/prefix` (`None`: beside a SQLite file, none on
    /// PostgreSQL).
    pub blobs: Option<String>,
    /// Memory for loaded documents, in MiB ([`crate::doc_cache`]; 0: none kept).
    pub doc_cache_mb: usize,
}

/// Serves until `shutdown` completes. Prints `listening on <url>` once the listeners
/// are bound (scripts wait for it).
pub async fn run(
    store: Store,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use anyhow::Context;
    warn_if_empty(&store).await;
    let tls = match &options.tls {
        Some(files) => {
            let (cert, acceptor) = Certificate::open(files.clone())
                .map_err(|e| anyhow::anyhow!("HTTPS 证书无法使用 / the HTTPS certificate cannot be used: {e}"))?;
            cert.watch();
            Some(acceptor)
        }
        None => {
            ignore_hangup();
            None
        }
    };
    if options.redirect_bind.is_some() && tls.is_none() {
        anyhow::bail!("--redirect-bind needs --tls-cert and --tls-key: it redirects to the HTTPS listener");
    }
    let edge = Arc::new(Edge {
        proxies: TrustedProxies::new(options.trusted_proxies.clone()),
        login: Limiter::per_minute(options.login_limit),
        requests: Limiter::per_minute(options.request_limit),
        https: tls.is_some(),
    });
    // Before anything listens: a bucket that cannot be reached stops the start.
    let blobs = match &options.blobs {
        Some(at) => Some(crate::blobs::Blobs::at(at).await.with_context(|| format!("opening the blob store {at}"))?),
        None => crate::default_blobs(&store),
    };
    // Logged (stderr), not printed: scripts stop reading stdout at "listening on".
    match &blobs {
        Some(b) => tracing::info!("photos and signatures are kept in {}", b.describe()),
        None => tracing::warn!("no blob store (--blobs): photos and signatures cannot be uploaded"),
    }
    let listener = TcpListener::bind(options.bind).await.with_context(|| format!("binding {}", options.bind))?;
    let local = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    if let Some(bind) = options.redirect_bind {
        let plain = TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
        println!("redirecting http://{}/ to HTTPS", plain.local_addr()?);
        let router = crate::edge::tls::redirect(local.port());
        tasks.push(tokio::spawn(listen::serve(
            plain,
            router,
            listen::Limits::default(),
            None,
            stopped(stop_rx.clone()),
        )));
    }
    if let Some(bind) = options.metrics_bind {
        let listener = TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
        println!("metrics at http://{}/metrics", listener.local_addr()?);
        let router = crate::metrics::router();
        tasks.push(tokio::spawn(listen::serve(
            listener,
            router,
            listen::Limits::default(),
            None,
            stopped(stop_rx.clone()),
        )));
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("\nhuhujian is listening on {scheme}://{local}/");
    // The current month's summaries and kept totals, made ahead of the first dashboard.
    tokio::spawn(crate::month::keep_filled(store.clone(), stop_rx.clone()));
    let docs = Arc::new(crate::doc_cache::DocCache::with_mb(options.doc_cache_mb));
    let state = AppState { store, app_dir: options.app_dir, edge, blobs, docs };
    let main = crate::serve_with(listener, state, tls, stopped(stop_rx));
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    main.await?;
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// Completes once `rx` says stop (or its sender is gone).
async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Warns when the database has no account or no household: a server started on a
/// new (or wrong) file serves nothing useful.
async fn warn_if_empty(store: &Store) {
    let counts = store
        .read(|r| {
            let users = r.user_rows(None, auth::now())?.len();
            let households: i64 = r.grid_counts()?.iter().map(|g| g.households).sum();
            Ok((users, households))
        })
        .await;
    match counts {
        Ok((0, _)) => tracing::warn!(
            "数据库中没有任何账号：请用 `server create-user --role admin` 创建管理员 / the database has no accounts: create an admin with `server create-user --role admin` (is --db the right file?)"
        ),
        Ok((_, 0)) => tracing::warn!(
            "数据库中没有任何户：请在管理页或用 `server import-roster` 导入花名册 / the database has no households: import a roster in the admin screen or with `server import-roster` (is --db the right file?)"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not count accounts and households"),
    }
}

/// Without a certificate to re-read, `SIGHUP` (`systemctl reload`) is logged and
/// otherwise ignored: its default action would end the process.
fn ignore_hangup() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut hangup) = signal(SignalKind::hangup()) {
            tokio::spawn(async move {
                while hangup.recv().await.is_some() {
                    tracing::info!("SIGHUP: nothing to reload (no --tls-cert)");
                }
            });
        }
    }
}
