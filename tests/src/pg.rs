//! A PostgreSQL database of its own for each test: created on the server named by
//! `HUHUJIAN_TEST_PG` (a `postgres://` URL of a maintenance database), else on
//! `postgres://postgres@127.0.0.1:5432/postgres`, and dropped when the test ends.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The server tests create their databases on.
pub fn server_url() -> String {
    std::env::var("HUHUJIAN_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// One test's database; dropped (forcibly) with this value.
#[derive(Debug)]
pub struct PgDb {
    /// Its URL.
    pub url: String,
    name: String,
}

async fn admin() -> Result<tokio_postgres::Client, String> {
    let url = server_url();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.map_err(|e| {
        format!(
            "no PostgreSQL at {url}: {e}. `cargo xtask test` starts one; set HUHUJIAN_TEST_PG to use another \
             (无法连接 PostgreSQL)"
        )
    })?;
    tokio::spawn(connection);
    Ok(client)
}

impl PgDb {
    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection to the server's maintenance database (no TLS), for checks.
    pub async fn admin() -> tokio_postgres::Client {
        admin().await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// A new, empty database.
    pub async fn create() -> Self {
        match Self::try_create().await {
            Ok(db) => db,
            Err(e) => panic!("{e}"),
        }
    }

    /// A new, empty database, or why not.
    pub async fn try_create() -> Result<Self, String> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!("hhj_test_{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        admin().await?.batch_execute(&format!("CREATE DATABASE {name}")).await.map_err(|e| e.to_string())?;
        let base = server_url();
        let url = match base.rfind('/') {
            Some(slash) if base[..slash].contains("://") && slash > base.find("://").unwrap_or(0) + 2 => {
                let query = base[slash..].find('?').map(|q| &base[slash + q..]).unwrap_or("");
                format!("{}/{name}{query}", &base[..slash])
            }
            _ => format!("{base}/{name}"),
        };
        Ok(Self { url, name })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Dropped from sync code or from inside a runtime alike: a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(admin) = admin().await {
                    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}
