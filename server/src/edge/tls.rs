//! HTTPS (传输加密) in the server, so that a county needs no proxy: rustls with a
//! certificate and key read from PEM files, and read again on `SIGHUP` or when either
//! file changes (checked every [`WATCH_EVERY`]), so a renewal needs no restart. A new
//! pair that does not load (half-copied, a key of another certificate) is logged and
//! the one in use is kept. Browsers give service workers, persistent storage and
//! brotli only to secure origins: without HTTPS the phone app cannot work offline.
//!
//! [`redirect`] is the plain-http listener's whole router: every request is answered
//! 308 to the same host and path over HTTPS.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

/// How often the files are looked at for a change.
pub const WATCH_EVERY: Duration = Duration::from_secs(10);

/// Where the certificate chain and its key are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, PEM (the server's first, then intermediates).
    pub cert: PathBuf,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsFiles {
    /// Reads and checks the pair: the chain, a key rustls can sign with, and that the
    /// key is the certificate's.
    pub fn load(&self, provider: &CryptoProvider) -> Result<Arc<CertifiedKey>, String> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .and_then(Iterator::collect)
            .map_err(|e| format!("certificate {}: {e}", self.cert.display()))?;
        if certs.is_empty() {
            return Err(format!("certificate {}: no CERTIFICATE in the file", self.cert.display()));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| format!("key {}: {e}", self.key.display()))?;
        let signing =
            provider.key_provider.load_private_key(key).map_err(|e| format!("key {}: {e}", self.key.display()))?;
        let certified = CertifiedKey::new(certs, signing);
        certified.keys_match().map_err(|e| {
            format!("key {} is not the key of certificate {}: {e}", self.key.display(), self.cert.display())
        })?;
        Ok(Arc::new(certified))
    }

    /// When either file last changed (`None` if one cannot be read).
    fn modified(&self) -> Option<(SystemTime, SystemTime)> {
        let at = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        Some((at(&self.cert)?, at(&self.key)?))
    }
}

/// The certificate in use, replaced in place on a reload.
#[derive(Debug)]
pub struct Certificate {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().map_or_else(|p| p.into_inner().clone(), |c| c.clone()))
    }
}

/// Makes ring the process's rustls provider, for the HTTPS clients this process
/// builds (the object store's; tests' and benches' own): with two providers compiled in
/// or none chosen, a client would not know which to use. Idempotent.
pub fn use_ring() {
    // ring, not aws-lc-rs: see `Certificate::open`.
    #[allow(deprecated)]
    let _ = ring::default_provider().install_default();
}

impl Certificate {
    /// Loads `files` (an error says which file and why) and builds the acceptor that
    /// always presents the latest good pair.
    pub fn open(files: TlsFiles) -> Result<(Arc<Self>, TlsAcceptor), String> {
        // ring, not aws-lc-rs: aws-lc-rs would add a long C build to every build on
        // the county's machine and in CI. rustls deprecates ring's provider only for
        // lacking post-quantum key exchange; X25519 with AES-GCM/ChaCha20 remains sound.
        #[allow(deprecated)]
        let provider = Arc::new(ring::default_provider());
        let first = files.load(&provider)?;
        let cert = Arc::new(Self { files, provider: provider.clone(), current: RwLock::new(first) });
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_cert_resolver(cert.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok((cert, TlsAcceptor::from(Arc::new(config))))
    }

    /// Reads the files again: `Ok` with the new pair in use, or why it was not taken
    /// (the old one stays).
    pub fn reload(&self) -> Result<(), String> {
        let fresh = self.files.load(&self.provider)?;
        match self.current.write() {
            Ok(mut c) => *c = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
        Ok(())
    }

    /// Reloads on `SIGHUP` and whenever the files' times change, until the process
    /// ends.
    pub fn watch(self: &Arc<Self>) {
        let cert = self.clone();
        // Caught before this returns: a SIGHUP a moment after start must not take the
        // default action (ending the process).
        #[cfg(unix)]
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::error!(error = %e, "SIGHUP cannot be caught: renewals are taken from the files' times only");
                None
            }
        };
        tokio::spawn(async move {
            let mut seen = cert.files.modified();
            // The last refusal: a pair that failed is tried again at every tick (until
            // fixed, e.g. by `chmod`, which changes no modification time), logged once.
            let mut failed: Option<String> = None;
            let mut tick = tokio::time::interval(WATCH_EVERY);
            tick.tick().await;
            loop {
                #[cfg(unix)]
                let why = tokio::select! {
                    _ = tick.tick() => "the files changed",
                    Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => None } } => "SIGHUP",
                };
                #[cfg(not(unix))]
                let why = {
                    tick.tick().await;
                    "the files changed"
                };
                let now = cert.files.modified();
                if why != "SIGHUP" && failed.is_none() && (now == seen || now.is_none()) {
                    continue;
                }
                match cert.reload() {
                    Ok(()) => {
                        seen = now;
                        failed = None;
                        tracing::info!(cert = %cert.files.cert.display(), "TLS certificate reloaded ({why})");
                    }
                    Err(e) if why == "SIGHUP" || failed.as_ref() != Some(&e) => {
                        tracing::error!(error = %e, "TLS certificate NOT reloaded ({why}); the previous one stays in use");
                        failed = Some(e);
                    }
                    Err(_) => {}
                }
            }
        });
    }
}

/// The plain-http listener's router: 308 to `https://<host>[:port]<path>`.
pub fn redirect(https_port: u16) -> Router {
    Router::new().fallback(move |request: Request| async move { to_https(&request, https_port) })
}

fn to_https(request: &Request, https_port: u16) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
        .map(|a| a.host().to_owned());
    let Some(host) = host else {
        return (StatusCode::BAD_REQUEST, "Host header required / 缺少 Host").into_response();
    };
    let port = if https_port == 443 { String::new() } else { format!(":{https_port}") };
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    match format!("https://{host}{port}{path}").parse::<Uri>() {
        Ok(to) => (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, to.to_string())]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "bad request").into_response(),
    }
}
