//! The `server` command: `serve` runs the HTTP server on an embedded SQLite file;
//! `create-user`, `import-roster` and `assign` administer it from the shell; `backup`
//! copies it while the server runs and `restore` puts a copy back.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use server::auth::{Area, Role, User};
use server::store::Store;

/// See [`server::Allocator`].
#[global_allocator]
static ALLOCATOR: server::Allocator = server::Allocator;

#[derive(Debug, Parser)]
#[command(name = "server", about = "huhujian (户户见) sync server and supervisor API")]
struct Cli {
    /// The database: a SQLite file (created if missing), or a PostgreSQL URL
    /// (`postgres://user:password@host:5432/huhujian`).
    #[arg(long, global = true, default_value = "huhujian.sqlite3", env = "HUHUJIAN_DB")]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (and the built app, if given).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "HUHUJIAN_BIND")]
        bind: SocketAddr,
        /// Directory of the built app (Trunk's dist/).
        #[arg(long, env = "HUHUJIAN_APP_DIR")]
        app_dir: Option<PathBuf>,
        /// Fill an empty database with the demo county and print the demo logins.
        #[arg(long)]
        demo: bool,
        /// Start without checking the SQLite file first (`PRAGMA quick_check`, about a
        /// second per 100 MB): for a file just checked by hand.
        #[arg(long)]
        skip_check: bool,
        /// Serve HTTPS with this certificate chain (PEM); re-read on SIGHUP or when it
        /// changes. Needs --tls-key.
        #[arg(long, env = "HUHUJIAN_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, env = "HUHUJIAN_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Also listen for plain http here (e.g. 0.0.0.0:80), only to redirect to HTTPS.
        #[arg(long, env = "HUHUJIAN_REDIRECT_BIND")]
        redirect_bind: Option<SocketAddr>,
        /// A reverse proxy (address or network, e.g. 127.0.0.1 or 10.0.0.0/8) whose
        /// X-Forwarded-For and X-Forwarded-Proto are believed; repeat, or separate by commas.
        #[arg(long, env = "HUHUJIAN_TRUSTED_PROXY", value_delimiter = ',')]
        trusted_proxy: Vec<server::edge::Network>,
        /// Logins per minute per client address (0: no limit).
        #[arg(long, env = "HUHUJIAN_LOGIN_LIMIT", default_value_t = 30)]
        login_limit: u32,
        /// API requests per minute per client address (0: no limit). Phones behind a
        /// carrier's NAT share an address: keep it generous.
        #[arg(long, env = "HUHUJIAN_REQUEST_LIMIT", default_value_t = 1200)]
        request_limit: u32,
        /// Serve Prometheus metrics at http://ADDR/metrics (keep it private, e.g.
        /// 127.0.0.1:9464); off when not given.
        #[arg(long, env = "HUHUJIAN_METRICS_BIND")]
        metrics_bind: Option<SocketAddr>,
        /// Where photos and signatures are kept: a folder, or `s3://bucket/prefix` in an
        /// S3-compatible object store (endpoint and keys from AWS_ENDPOINT, AWS_REGION,
        /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; AWS_ALLOW_HTTP=true for plain
        /// http). Default: `county.blobs` beside a SQLite file `county.sqlite3`; none on
        /// PostgreSQL unless given, and then a folder or bucket every server shares.
        #[arg(long, env = "HUHUJIAN_BLOBS")]
        blobs: Option<String>,
        /// Memory, in MiB, for household documents kept loaded between a phone's
        /// download and its upload, so that the merge need not load them again (0:
        /// none kept). Each server process has its own.
        #[arg(long, env = "HUHUJIAN_DOC_CACHE_MB", default_value_t = server::doc_cache::DEFAULT_MB)]
        doc_cache_mb: usize,
    },
    /// Create a user. The password is read from HUHUJIAN_PASSWORD or the first line of stdin.
    CreateUser {
        /// Login.
        #[arg(long)]
        login: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// admin, supervisor or cadre.
        #[arg(long)]
        role: String,
        /// Supervisor area: county:NAME, township:NAME or site:NAME.
        #[arg(long)]
        area: Option<String>,
        /// Phone number (联系电话), printed on 明白卡 for a cadre.
        #[arg(long, default_value = "")]
        phone: String,
    },
    /// Rewrite a household's history as one change keeping its current values: the way
    /// out when it reached the size cap. The old document is kept; phones replace their
    /// copy at their next sync (PROTOCOL.md §4.5).
    RewriteHistory {
        /// 户编码
        household: String,
    },
    /// Import a roster (an Excel workbook, or a CSV in UTF-8, GBK or UTF-16; see README); all or nothing. Shows what would change;
    /// imports only with `--yes`.
    ImportRoster {
        /// The roster file (.xlsx or .csv).
        file: PathBuf,
        /// Import after showing the changes (without it, nothing is written).
        #[arg(long)]
        yes: bool,
    },
    /// Assign a household to a cadre (or remove the assignment).
    Assign {
        /// 户编码.
        #[arg(long)]
        household: String,
        /// Cadre login.
        #[arg(long)]
        user: String,
        /// Remove instead of add.
        #[arg(long)]
        remove: bool,
    },
    /// Copy the database to a file, online: the server may keep running. The copy is
    /// checked (integrity_check) and appears under its name only when complete.
    Backup {
        /// The backup file to write.
        dest: PathBuf,
        /// Replace DEST if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Delete the photos and signatures that only visits older than YEARS reference
    /// (and uploads left unfinished for a week); audited. The documents keep their
    /// references. With --dry-run, only says what it would delete.
    PruneBlobs {
        /// Keep what a visit of the last YEARS years references.
        #[arg(long, value_name = "YEARS")]
        older_than: u16,
        /// Where the blobs are, a folder or `s3://bucket/prefix` (default: beside the
        /// SQLite file, as `serve` keeps them).
        #[arg(long, env = "HUHUJIAN_BLOBS")]
        blobs: Option<String>,
        /// Count, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Replace the database with a backup, then migrate it. Stop the server first:
    /// a database in use is refused.
    Restore {
        /// The backup file to restore.
        backup: PathBuf,
        /// Replace the database if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Move a county up: copy a SQLite file into an empty PostgreSQL database, check
    /// the copy (rows of every table, every document's heads) and commit it. Stop the
    /// SQLite server first; phones then sync with the PostgreSQL one as before.
    Migrate {
        /// The SQLite file.
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL URL (`postgres://user:password@host:5432/huhujian`).
        #[arg(long)]
        to: String,
    },
}

fn password_from_env_or_stdin() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("HUHUJIAN_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// A refusal or failure as the command's error: the English message, then the Chinese.
fn fail(e: server::denied::Denied) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let spec = cli.db.to_string_lossy().into_owned();
    let shown = server::store::postgres::shown(&spec);
    let open = || async { Store::open(&spec).await.with_context(|| format!("opening {shown}")) };
    let on_postgres = server::store::postgres::is_url(&spec);
    match cli.command {
        Command::Serve {
            bind,
            app_dir,
            demo,
            skip_check,
            tls_cert,
            tls_key,
            redirect_bind,
            trusted_proxy,
            login_limit,
            request_limit,
            metrics_bind,
            blobs,
            doc_cache_mb,
        } => {
            // A damaged file is refused before anything opens it to write (migrations,
            // the journal mode): its bytes stay as they were.
            if !skip_check && !on_postgres {
                let started = std::time::Instant::now();
                server::store::sqlite::check_file(&cli.db).map_err(|e| anyhow::anyhow!("{e}"))?;
                tracing::info!("database checked in {:.1?}", started.elapsed());
            }
            let db = open().await?;
            if demo {
                let started = std::time::Instant::now();
                let n = db.write(|w| server::demo::seed(w)).await.map_err(fail)?;
                if n > 0 {
                    tracing::info!("demo county created: {n} households in {:.1?}", started.elapsed());
                }
                println!("\n演示账号 / demo logins (password 密码: {})", server::demo::DEMO_PASSWORD);
                for u in server::demo::accounts() {
                    println!("  {:<8} {:<6} {}", u.id, u.name, u.role.code());
                }
            }
            let tls = tls_cert.zip(tls_key).map(|(cert, key)| server::edge::tls::TlsFiles { cert, key });
            let options = server::start::Options {
                bind,
                app_dir,
                tls,
                redirect_bind,
                trusted_proxies: trusted_proxy,
                login_limit,
                request_limit,
                metrics_bind,
                blobs,
                doc_cache_mb,
            };
            server::start::run(db.clone(), options, stop_signal()).await?;
            // `systemctl stop` (SIGTERM) or Ctrl-C: requests under way were answered;
            // now the file alone holds everything.
            db.close().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            tracing::info!("stopped cleanly");
        }
        Command::CreateUser { login, name, role, area, phone } => {
            let role = match role.as_str() {
                "admin" => Role::Admin,
                "supervisor" => Role::Supervisor,
                "cadre" => Role::Cadre,
                other => anyhow::bail!("unknown role {other:?}: use admin, supervisor or cadre"),
            };
            let area = match area {
                None => None,
                Some(a) => Some(
                    Area::parse(&a)
                        .with_context(|| format!("area {a:?} must be county:NAME, township:NAME or site:NAME"))?,
                ),
            };
            let password = password_from_env_or_stdin()?;
            let db = open().await?;
            let phone = server::auth::check_phone(&phone).map_err(fail)?;
            let user = User { id: login.clone(), name, role, area, phone };
            let hash = server::auth::new_account(&user, &password).map_err(fail)?;
            db.write(move |w| server::auth::create_user(w, &user, &hash)).await.map_err(fail)?;
            println!("created {login}");
        }
        Command::ImportRoster { file, yes } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let sheet = std::sync::Arc::new(server::roster::Sheet::read(&bytes).map_err(fail)?);
            let stamp = shared::Stamp::new("admin", "管理员", server::auth::now());
            let db = open().await?;
            let show_rows = |rows: &[server::roster::RowError]| {
                for r in rows {
                    let sheet = r.sheet.as_ref().map(|s| format!("sheet {s}, ")).unwrap_or_default();
                    let column = r.column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default();
                    eprintln!("{sheet}line {}{column}: {} ({})", r.line, r.en, r.zh);
                }
                anyhow::anyhow!("{} problems; nothing was imported", rows.len())
            };
            let preview = {
                let sheet = sheet.clone();
                db.read(move |r| Ok(server::roster::plan(r, &sheet)))
                    .await
                    .map_err(|e| fail(e.into()))?
                    .map_err(fail)?
            };
            let report = preview.map_err(|rows| show_rows(&rows))?;
            println!("{} households ({} new), {} members", report.households, report.added.len(), report.members);
            for c in &report.changes {
                let (before, after) = (c.before.as_deref().unwrap_or("—"), c.after.as_deref().unwrap_or("—"));
                println!("  {} {}: {before} → {after}", c.household, c.field_zh);
            }
            if !yes {
                println!("nothing imported yet: run again with --yes to import these changes");
                return Ok(());
            }
            match server::roster::import_in_chunks(&db, sheet, &report.confirm, stamp).await.map_err(fail)? {
                Ok(report) => println!("imported {} households, {} members", report.households, report.members),
                Err(server::roster::Refused::Rows(rows)) => return Err(show_rows(&rows)),
                Err(server::roster::Refused::Stale) => anyhow::bail!("the households changed meanwhile; run again"),
                Err(server::roster::Refused::Interrupted { imported, total }) => {
                    anyhow::bail!("imported {imported} of {total} households; the others changed meanwhile: run again")
                }
            }
        }
        Command::RewriteHistory { household } => {
            let stamp = shared::Stamp::new("admin", "管理员", server::auth::now());
            let today = shared::Date::in_china(stamp.at);
            let db = open().await?;
            let r = db
                .write(move |w| {
                    server::admin::rewrite(w, &household, &stamp, today).map_err(server::denied::Denied::from)
                })
                .await
                .map_err(fail)?;
            println!(
                "{}: {} changes, {} bytes → 1 change, {} bytes ({} fields kept); the old document is kept in retired_docs",
                r.household, r.changes_before, r.bytes_before, r.bytes_after, r.fields
            );
        }
        Command::Assign { household, user, remove } => {
            let a = server::admin::Assignment { household_id: household, user_id: user, remove };
            let db = open().await?;
            db.write(move |w| server::admin::assign(w, &a)).await.map_err(fail)?;
            println!("done");
        }
        Command::PruneBlobs { older_than, blobs, dry_run } => {
            let db = open().await?;
            let at = match blobs {
                Some(at) => at,
                None if !on_postgres => server::blobs::Blobs::beside(&cli.db).display().to_string(),
                None => {
                    anyhow::bail!("on PostgreSQL, say where the blobs are: --blobs DIR or s3://… (as given to `serve`)")
                }
            };
            if !at.starts_with("s3://") && !std::path::Path::new(&at).is_dir() {
                anyhow::bail!("{at} is not a folder: nothing to prune");
            }
            let store = server::blobs::Blobs::at(&at).await?;
            let now = shared::Period::of(shared::Date::in_china(server::auth::now()));
            let cutoff = now.plus_months(-12 * i32::from(older_than));
            let p = server::blobs::retention::prune(&db, &store, cutoff, dry_run, "cli").await.map_err(fail)?;
            println!(
                "{} before {cutoff}: {} photos and signatures ({:.1} MiB){}, {} kept, {} unfinished uploads",
                if dry_run { "would delete" } else { "deleted" },
                p.deleted,
                p.bytes as f64 / 1_048_576.0,
                if dry_run { "" } else { " (audited)" },
                p.kept,
                p.partial
            );
        }
        Command::Backup { dest, force } => {
            if on_postgres {
                anyhow::bail!(
                    "`backup` copies a SQLite file; for PostgreSQL use its own tools, e.g. \
                     `pg_dump --format=custom --file=huhujian.dump '{shown}'` (README: Running on PostgreSQL)"
                );
            }
            let options = server::backup::Options { force, ..Default::default() };
            let src = cli.db.clone();
            let r =
                tokio::task::spawn_blocking(move || server::backup::backup(&src, &dest, &options).map(|r| (r, dest)))
                    .await?;
            let (r, dest) = r.with_context(|| format!("backing up {}", cli.db.display()))?;
            println!(
                "backed up {} to {}: {} pages, {} bytes ({:.1} MiB), {} households, schema {}, integrity ok, {:.2} s",
                cli.db.display(),
                dest.display(),
                r.pages,
                r.bytes,
                r.bytes as f64 / 1_048_576.0,
                r.households,
                r.schema,
                r.seconds
            );
        }
        Command::Migrate { from, to } => {
            let r = server::store::transfer::sqlite_to_postgres(&from, &to)
                .await
                .with_context(|| format!("moving {} to {}", from.display(), server::store::postgres::shown(&to)))?;
            for (table, rows) in &r.tables {
                println!("  {table:<12} {rows:>9} rows");
            }
            println!(
                "moved {} to {}: {} households checked (same heads), {} s",
                from.display(),
                server::store::postgres::shown(&to),
                r.households_checked,
                r.seconds
            );
        }
        Command::Restore { backup, force } => {
            if on_postgres {
                anyhow::bail!(
                    "`restore` replaces a SQLite file; for PostgreSQL use `pg_restore --clean --dbname '{shown}' \
                     huhujian.dump` (README: Running on PostgreSQL)"
                );
            }
            let target = cli.db.clone();
            let from = backup.clone();
            let r = tokio::task::spawn_blocking(move || server::backup::restore(&from, &target, force))
                .await?
                .with_context(|| format!("restoring {} into {}", backup.display(), cli.db.display()))?;
            println!(
                "restored {} into {}: {} households, schema {} → {}, integrity ok, {:.2} s",
                backup.display(),
                cli.db.display(),
                r.households,
                r.schema_before,
                r.schema_after,
                r.seconds
            );
        }
    }
    Ok(())
}

/// Completes at Ctrl-C (SIGINT) or SIGTERM (`systemctl stop`, `docker stop`).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
