//! A real S3-compatible server for the tests: `s3s-fs` (crates.io; `cargo xtask test`
//! installs it), started on a free port over a folder of its own, with its own keys,
//! so that requests are signed and checked as an object store checks them. One per
//! test; stopped, and its folder removed, when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `s3s-fs` with one empty bucket.
#[derive(Debug)]
pub struct S3Server {
    child: Child,
    root: tempfile::TempDir,
    port: u16,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The bucket made for the test.
    pub bucket: String,
}

const KEY: &str = "huhujian-test";
const SECRET: &str = "huhujian-test-secret";

fn binary() -> PathBuf {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo"));
    let installed = home.join("bin").join("s3s-fs");
    if installed.exists() { installed } else { PathBuf::from("s3s-fs") }
}

/// `s3s-fs` on `port` over `root`, once it accepts connections.
fn spawn(root: &Path, port: u16) -> Child {
    let child = Command::new(binary())
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", KEY, "--secret-key", SECRET])
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "s3s-fs could not start ({e}): `cargo xtask test` installs it (the version is xtask's \
                 S3S_FS), or `cargo install s3s-fs --locked --features binary` (无法启动 S3 测试服务)"
            )
        });
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "s3s-fs did not listen on {port} within 20 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

impl S3Server {
    /// Starts one, with the bucket `photos`.
    pub fn start() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let bucket = "photos".to_owned();
        // s3s-fs keeps a bucket as a folder.
        std::fs::create_dir(root.path().join(&bucket)).expect("bucket folder");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let child = spawn(root.path(), port);
        Self { child, root, port, endpoint: format!("http://127.0.0.1:{port}"), bucket }
    }

    /// `s3://photos/<prefix>`, what `serve --blobs` is given.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.bucket)
    }

    /// The `AWS_*` settings that reach it.
    pub fn vars(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// The blob store in this bucket under `prefix`.
    pub async fn blobs(&self, prefix: &str) -> server::blobs::Blobs {
        server::blobs::Blobs::at_with(&self.url(prefix), self.vars()).await.expect("the bucket")
    }

    /// The folder holding the bucket's objects (s3s-fs keeps each as a file at its key).
    pub fn bucket_dir(&self) -> PathBuf {
        self.root.path().join(&self.bucket)
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Stops the server (the folder stays until dropped): the store is unreachable.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and folder.
    pub fn restart(&mut self) {
        self.stop();
        self.child = spawn(self.root.path(), self.port);
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
