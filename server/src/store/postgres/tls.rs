//! TLS to PostgreSQL (rustls on ring, as the server's own HTTPS), with libpq's
//! `sslmode` meanings: `disable` (plain), `prefer` (the default: TLS when the server
//! offers it), `require` (TLS or no connection), and, with `sslrootcert=FILE` (a PEM
//! CA), `verify-ca` (the server's certificate must chain to it) and `verify-full` (and
//! name the host connected to, by a subject alternative name). Without a CA file, as
//! libpq, the connection is encrypted but the server's certificate is not checked; with
//! one, `require` checks the chain as `verify-ca` does (libpq too). tokio-postgres knows
//! the first three modes only: the URL it is given says `require` for the other two,
//! and the checking is done here.

use std::sync::Arc;

use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::crypto::{self, CryptoProvider};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme,
};

use crate::store::{StoreError, StoreResult};

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Not at all (encryption only).
    Nothing,
    /// It chains to the CA file.
    Ca,
    /// …and names the host.
    Full,
    /// `require`: [`Check::Ca`] when there is a CA file, else [`Check::Nothing`].
    RequireCa,
}

/// `%XX` escapes decoded, as tokio-postgres decodes the URL's other values.
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The configuration tokio-postgres parses (`url` with `sslrootcert` taken out and the
/// `verify-*` modes said as `require`) and the TLS connector for it.
pub fn connector(url: &str) -> StoreResult<(tokio_postgres::Config, MakeRustlsConnect)> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let (mut check, mut ca, mut kept) = (Check::Nothing, None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslrootcert", file)) => ca = Some(percent_decoded(file)),
            Some(("sslmode", "verify-ca")) => {
                check = Check::Ca;
                kept.push("sslmode=require".to_owned());
            }
            Some(("sslmode", "verify-full")) => {
                check = Check::Full;
                kept.push("sslmode=require".to_owned());
            }
            Some(("sslmode", "require")) => {
                // With a CA file, libpq's `require` checks the chain.
                check = Check::RequireCa;
                kept.push(pair.to_owned());
            }
            Some(("sslmode", _)) => {
                check = Check::Nothing;
                kept.push(pair.to_owned());
            }
            _ => kept.push(pair.to_owned()),
        }
    }
    if check == Check::RequireCa {
        check = if ca.is_some() { Check::Ca } else { Check::Nothing };
    }
    let plain = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    let config: tokio_postgres::Config = plain.parse().map_err(StoreError::engine)?;
    let provider = ring();
    let chain = match (check, ca) {
        (Check::Nothing | Check::RequireCa, _) => None,
        (_, None) => {
            return Err(StoreError::Config(
                "sslmode=verify-ca 或 verify-full 需要 sslrootcert=CA 文件 / sslmode=verify-ca and verify-full need \
                 sslrootcert=FILE (the CA's certificate, PEM)"
                    .into(),
            ));
        }
        (check, Some(file)) => {
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(&file)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| StoreError::Config(format!("sslrootcert {file}: {e}")))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(StoreError::Config(format!("sslrootcert {file}: 没有可用的证书 / no certificate in it")));
            }
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| StoreError::Config(format!("sslrootcert {file}: {e}")))?;
            Some((webpki, check == Check::Full))
        }
    };
    let verifier = Arc::new(Verifier { provider: provider.clone(), chain });
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok((config, MakeRustlsConnect::new(tls)))
}

fn ring() -> Arc<CryptoProvider> {
    // ring, not aws-lc-rs: see `edge::tls`.
    #[allow(deprecated)]
    Arc::new(crypto::ring::default_provider())
}

/// How the server's certificate is taken. Without a CA (`chain: None`: `prefer`,
/// `require`) any certificate, the link encrypted to whoever holds the key presented;
/// with one, the chain checked by webpki, and the host name unless `verify-ca`. The
/// handshake's signatures are checked either way.
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    /// The CA's verifier, and whether names are checked.
    chain: Option<(Arc<WebPkiServerVerifier>, bool)>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some((webpki, names)) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        // rustls checks the chain before the name: a name mismatch has a good chain.
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !names => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_tokio_postgres_parses_and_the_check() {
        let parsed = |url: &str| connector(url).map(|(c, _)| format!("{:?}", c.get_ssl_mode()));
        assert_eq!(parsed("postgres://u@h/db").unwrap(), "Prefer");
        let missing = parsed("postgres://u@h/db?sslmode=verify-ca&sslrootcert=%2Fnonexistent").unwrap_err();
        assert!(missing.to_string().starts_with("sslrootcert /nonexistent:"), "{missing}");
        assert!(parsed("postgres://u@h/db?sslmode=verify-full").unwrap_err().to_string().contains("sslrootcert=FILE"));
        assert_eq!(parsed("postgres://u@h/db?sslmode=require").unwrap(), "Require");
        assert_eq!(parsed("postgres://u@h/db?sslmode=disable&application_name=x").unwrap(), "Disable");
        assert_eq!(percent_decoded("%2Fetc%2Fca.pem"), "/etc/ca.pem");
        assert_eq!(percent_decoded("a%zzb%"), "a%zzb%");
    }
}
