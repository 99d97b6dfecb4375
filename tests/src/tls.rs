//! A test certificate authority (测试 CA) made with the `openssl` command: a CA, and
//! server certificates it signs for `huhujian.test` and 127.0.0.1, so that HTTPS is
//! tested as a county runs it (a certificate from the county's CA that phones trust),
//! never by turning certificate checks off. `cargo run -p huhujian-tests --bin test-ca
//! DIR` writes the same files for the browser scenario.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The name the test certificates are for (the browser maps it to 127.0.0.1).
pub const HOST: &str = "huhujian.test";

/// A CA's files in a folder.
#[derive(Debug, Clone)]
pub struct TestCa {
    dir: PathBuf,
    /// The CA certificate (PEM), what clients trust.
    pub cert: PathBuf,
    key: PathBuf,
}

/// A server certificate and its key (PEM).
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("the TLS tests need the openssl command (apt-get install openssl): {e}"));
    assert!(out.status.success(), "openssl {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

impl TestCa {
    /// A new CA (P-256, valid 30 days) in `dir`.
    pub fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("CA folder");
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "30",
                "-subj",
                "/CN=huhujian test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            dir,
        );
        Self { dir: dir.to_owned(), cert: dir.join("ca.pem"), key: dir.join("ca.key") }
    }

    /// A server certificate for [`HOST`] and 127.0.0.1 signed by this CA, written as
    /// `<name>.pem` and `<name>.key`; each call makes a new key and serial.
    pub fn issue(&self, name: &str) -> Issued {
        let (key, csr, cert, ext) =
            (format!("{name}.key"), format!("{name}.csr"), format!("{name}.pem"), format!("{name}.ext"));
        std::fs::write(
            self.dir.join(&ext),
            format!(
                "subjectAltName=DNS:{HOST},IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
            ),
        )
        .expect("extensions file");
        openssl(
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={HOST}"),
            ],
            &self.dir,
        );
        let (ca_cert, ca_key) = (self.cert.to_string_lossy().into_owned(), self.key.to_string_lossy().into_owned());
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_cert,
                "-CAkey",
                &ca_key,
                "-set_serial",
                &format!("0x{:x}", rand_serial()),
                "-out",
                &cert,
                "-days",
                "30",
                "-extfile",
                &ext,
            ],
            &self.dir,
        );
        Issued { cert: self.dir.join(cert), key: self.dir.join(key) }
    }
}

/// A serial number unlikely to repeat within a test run.
fn rand_serial() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    (nanos as u64) ^ u64::from(std::process::id()) << 32
}
