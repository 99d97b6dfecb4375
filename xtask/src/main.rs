//! Project commands, so a fresh machine needs only the README's two commands:
//! `cargo xtask test` (every check CI runs) and `cargo xtask run` (the whole system);
//! also `cargo xtask load` (the full-size load test against a release server) and
//! `cargo xtask bench` (the figures of BENCHMARKS.md, release builds, under 15 minutes)
//! and `cargo xtask protocol` (rewrites `protocol/huhujian.json` from `shared`).
//! Installs what is missing (wasm target, rustfmt, clippy) before using it.

mod precompress;

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("run") => run(&args[1..]),
        Some("load") => load(&args[1..]),
        Some("bench") => bench(),
        Some("protocol") => protocol(),
        Some("bundle") => build_app(),
        // One scenario of tests/browser against the built dist/ (`cargo xtask browser
        // visit.mjs`; `https.mjs` with its test CA).
        Some("browser") => match args.get(1).map(String::as_str) {
            Some("https.mjs") => browser_https(),
            Some(script) => browser(script),
            None => Err("usage: cargo xtask browser SCRIPT.mjs".into()),
        },
        _ => {
            eprintln!(
                "usage: cargo xtask test | run [server args] | load [phones] [households] | bench | protocol | bundle | browser SCRIPT.mjs"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = ()> = std::result::Result<T, String>;

/// A check run after the Rust tests, counted in the summary.
type Check = fn() -> Result;

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn status(what: &str, cmd: &mut Command) -> Result {
    eprintln!("\n==> {what}");
    let ok = cmd.status().map_err(|e| format!("{what}: could not start: {e}"))?.success();
    if ok { Ok(()) } else { Err(format!("{what} failed")) }
}

fn output(cmd: &mut Command) -> String {
    cmd.output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
}

/// The toolchain pieces the checks need, installed with rustup when missing.
fn ensure_toolchain() -> Result {
    let targets = output(Command::new("rustup").args(["target", "list", "--installed"]));
    if !targets.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        status("install the wasm32 target", Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let components = output(Command::new("rustup").args(["component", "list", "--installed"]));
    for c in ["rustfmt", "clippy"] {
        if !components.lines().any(|l| l.starts_with(c)) {
            status(&format!("install {c}"), Command::new("rustup").args(["component", "add", c]))?;
        }
    }
    Ok(())
}

/// 200 phones × 50 households (or as given) syncing at once against a release server in
/// its own process: latencies, errors, the server's peak memory.
fn load(args: &[String]) -> Result {
    let target = build_release_with("load", "the load client")?;
    status("load test", Command::new(format!("{target}/release/load")).args(args))
}

/// Builds the server and the `huhujian-tests` binary `bin` in release; returns the
/// target directory.
fn build_release_with(bin: &str, what: &str) -> Result<String> {
    status(
        &format!("build the server and {what} (release)"),
        cargo().args(["build", "--release", "-p", "server", "-p", "huhujian-tests", "--bin", "server", "--bin", bin]),
    )?;
    Ok(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
}

/// Every benchmark, release builds: the app bundle, then sync, merge, concurrent,
/// hostile, queries, storage and photos (`tests/src/bin/bench.rs`), then the browser figures
/// (`tests/browser/bench.mjs`) against a release demo server; writes BENCHMARKS.md.
/// Benchmarks report; they fail only when something breaks, never for being slow.
fn bench() -> Result {
    let started = std::time::Instant::now();
    ensure_toolchain()?;
    build_app()?;
    let target = build_release_with("bench", "the benchmarks")?;
    let out = format!("{target}/bench");
    let _ = std::fs::remove_dir_all(&out);
    let bench_bin = format!("{target}/release/bench");
    status(
        "bench sync merge concurrent hostile queries storage photos",
        Command::new(&bench_bin).args([
            "sync",
            "merge",
            "concurrent",
            "hostile",
            "queries",
            "storage",
            "photos",
            "--out",
            &out,
        ]),
    )?;
    node_tools()?;
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        apt_install(&["chromium"])?;
    }
    let dir = std::path::Path::new("tests/browser");
    status("npm ci (browser)", Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(dir))?;
    let root = std::env::current_dir().map_err(|e| e.to_string())?;
    let (out_abs, dist) = (root.join(&out), root.join("dist"));
    with_server(true, Some("dist"), |url| {
        status(
            "node tests/browser/bench.mjs",
            Command::new("node")
                .arg("bench.mjs")
                .arg(url)
                .arg(&out_abs)
                .arg(&dist)
                .current_dir(dir)
                .env("CHROMIUM", &chromium),
        )
    })?;
    status("bench report → BENCHMARKS.md", Command::new(&bench_bin).args(["report", "--out", &out]))?;
    eprintln!("\nbenchmarks took {:.1} min", started.elapsed().as_secs_f64() / 60.0);
    Ok(())
}

/// Rewrites `protocol/huhujian.json` from `shared::describe` (the test that checks it
/// is current, told to write instead).
fn protocol() -> Result {
    status(
        "write protocol/huhujian.json",
        cargo()
            .args(["test", "-q", "-p", "shared", "--lib", "describe::tests::protocol_description_is_current"])
            .env("HUHUJIAN_WRITE_PROTOCOL", "1"),
    )
}

fn test() -> Result {
    ensure_toolchain()?;
    status("format", cargo().args(["fmt", "--all", "--", "--check"]))?;
    status("clippy (native)", cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    let wasm = ["--target", "wasm32-unknown-unknown", "--", "-D", "warnings"];
    status(
        "clippy (wasm32: shared and the phone bundle)",
        cargo().args(["clippy", "-p", "shared", "-p", "app"]).args(wasm),
    )?;
    status(
        "clippy (wasm32: the console bundle)",
        cargo().args(["clippy", "-p", "app", "--features", "console"]).args(wasm),
    )?;
    build_app()?;
    let postgres = ensure_postgres()?;
    ensure_s3_server()?;
    let (mut passed, mut failed, ok, on_postgres) = cargo_test(&postgres)?;
    let checks: [(&str, Check); 15] = [
        ("interop", interop),
        ("browser offline", || browser("offline.mjs")),
        ("browser visit", || browser("visit.mjs")),
        ("browser visit steps", || browser("steps.mjs")),
        ("browser shared phone", || browser("shared_phone.mjs")),
        ("browser members", || browser("member.mjs")),
        ("browser two cadres", || browser("two_cadres.mjs")),
        ("browser conflict", || browser("conflict.mjs")),
        ("browser console", || browser("console.mjs")),
        ("browser admin", || browser("admin.mjs")),
        ("browser phone health", || browser("phones.mjs")),
        ("browser monitoring", || browser("monitoring.mjs")),
        ("browser cases", || browser("cases.mjs")),
        ("browser evidence", || browser("evidence.mjs")),
        ("browser https", browser_https),
    ];
    for (name, check) in checks {
        match check() {
            Ok(()) => passed += 1,
            Err(e) => {
                eprintln!("{name}: {e}");
                failed += 1;
            }
        }
    }
    println!("\nsummary: {passed} passed, {failed} failed ({on_postgres} of the passed ran on PostgreSQL)");
    if ok && failed == 0 { Ok(()) } else { Err("tests failed".into()) }
}

/// Starts `server serve --demo` on a free port over a fresh database (serving `app_dir`
/// if given), runs `f` with its URL, then stops it.
fn with_demo_server(app_dir: Option<&str>, f: impl FnOnce(&str) -> Result) -> Result {
    status("build the server", cargo().args(["build", "-p", "server"]))?;
    with_server(false, app_dir, f)
}

/// [`with_demo_server`] with the server already built, debug or `release`.
fn with_server(release: bool, app_dir: Option<&str>, f: impl FnOnce(&str) -> Result) -> Result {
    with_server_flags(release, app_dir, &[], f)
}

/// [`with_server`] with more `serve` flags.
fn with_server_flags(release: bool, app_dir: Option<&str>, flags: &[&str], f: impl FnOnce(&str) -> Result) -> Result {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let db = std::env::temp_dir().join(format!("huhujian-xtask-{}-{}.sqlite3", std::process::id(), app_dir.is_some()));
    let profile = if release { "release" } else { "debug" };
    let mut cmd = Command::new(format!("{target}/{profile}/server"));
    cmd.arg("--db").arg(&db).args(["serve", "--demo", "--bind", "127.0.0.1:0"]);
    if let Some(dir) = app_dir {
        cmd.args(["--app-dir", dir]);
    }
    cmd.args(flags);
    let mut server = cmd.stdout(Stdio::piped()).spawn().map_err(|e| format!("could not start the server: {e}"))?;
    let url = server.stdout.take().and_then(|out| {
        BufReader::new(out)
            .lines()
            .map_while(std::io::Result::ok)
            .find_map(|line| line.split_once("listening on ").map(|(_, url)| url.trim_end_matches('/').to_owned()))
    });
    let result = match url {
        Some(url) => f(&url),
        None => Err("the server did not say where it listens".into()),
    };
    let _ = server.kill();
    let _ = server.wait();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    result
}

fn node_tools() -> Result {
    for tool in ["node", "npm"] {
        if Command::new(tool).arg("--version").output().is_err() {
            return Err(format!("{tool} is missing: install Node.js 18 or newer (Debian: apt-get install nodejs npm)"));
        }
    }
    Ok(())
}

/// The JavaScript client of `tests/interop`, written from PROTOCOL.md with
/// `@automerge/automerge`, against a real `server serve --demo` on a free port.
fn interop() -> Result {
    eprintln!("\n==> interop: a JavaScript Automerge client against the server");
    node_tools()?;
    let dir = std::path::Path::new("tests/interop");
    status("npm ci (interop)", Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(dir))?;
    with_demo_server(None, |url| {
        status("node tests/interop/sync.mjs", Command::new("node").arg("sync.mjs").arg(url).current_dir(dir))
    })
}

/// One scenario of `tests/browser` in headless Chromium against the built app, on its
/// own server over a fresh database.
fn browser(script: &str) -> Result {
    eprintln!("\n==> browser: {script} in headless Chromium");
    node_tools()?;
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        apt_install(&["chromium"])?;
    }
    let dir = std::path::Path::new("tests/browser");
    status("npm ci (browser)", Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(dir))?;
    let artifacts = std::env::current_dir().map_err(|e| e.to_string())?.join("test-artifacts");
    with_demo_server(Some("dist"), |url| {
        status(
            &format!("node tests/browser/{script}"),
            Command::new("node").arg(script).arg(url).arg(&artifacts).current_dir(dir).env("CHROMIUM", &chromium),
        )
    })
}

/// The app over HTTPS from the server itself (`tests/browser/https.mjs`): a test CA
/// (`tests/src/bin/test-ca.rs`, with the openssl command) that Chromium trusts through
/// the NSS store in a HOME of its own (certutil, from libnss3-tools); the server
/// serves a certificate it signed for huhujian.test.
fn browser_https() -> Result {
    eprintln!("\n==> browser: https.mjs in headless Chromium, over HTTPS with a test CA");
    node_tools()?;
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        apt_install(&["chromium"])?;
    }
    if Command::new("openssl").arg("version").output().is_err() {
        apt_install(&["openssl"])?;
    }
    if Command::new("certutil").arg("-H").output().is_err() {
        apt_install(&["libnss3-tools"])?;
    }
    status("build the test CA tool", cargo().args(["build", "-q", "-p", "huhujian-tests", "--bin", "test-ca"]))?;
    status("build the server", cargo().args(["build", "-p", "server"]))?;
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let dir = std::env::temp_dir().join(format!("huhujian-https-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (ca_dir, home) = (dir.join("ca"), dir.join("home"));
    let nssdb = home.join(".pki/nssdb");
    std::fs::create_dir_all(&nssdb).map_err(|e| e.to_string())?;
    status("make a test CA", Command::new(format!("{target}/debug/test-ca")).arg(&ca_dir))?;
    let db = format!("sql:{}", nssdb.display());
    status("an NSS store for Chromium", Command::new("certutil").args(["-N", "--empty-password", "-d", &db]))?;
    status(
        "Chromium trusts the test CA",
        Command::new("certutil")
            .args(["-A", "-t", "C,,", "-n", "huhujian test CA", "-d", &db, "-i"])
            .arg(ca_dir.join("ca.pem")),
    )?;
    let dir_browser = std::path::Path::new("tests/browser");
    status("npm ci (browser)", Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(dir_browser))?;
    let artifacts = std::env::current_dir().map_err(|e| e.to_string())?.join("test-artifacts");
    let (cert, key) = (ca_dir.join("server.pem"), ca_dir.join("server.key"));
    let flags = ["--tls-cert", &cert.to_string_lossy(), "--tls-key", &key.to_string_lossy()].map(str::to_owned);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let result = with_server_flags(false, Some("dist"), &flags, |url| {
        status(
            "node tests/browser/https.mjs",
            Command::new("node")
                .arg("https.mjs")
                .arg(url)
                .arg(&artifacts)
                .current_dir(dir_browser)
                .env("CHROMIUM", &chromium)
                .env("HOME", &home),
        )
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Installs Debian packages, or says what to install when it cannot.
fn apt_install(packages: &[&str]) -> Result {
    let list = packages.join(" ");
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends {list}"))
        .status()
        .is_ok_and(|s| s.success());
    if ok { Ok(()) } else { Err(format!("could not install {list}: run `sudo apt-get install {list}` and try again")) }
}

fn version_of(tool: &str) -> Option<String> {
    Command::new(tool).arg("--version").output().ok().map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Trunk and wasm-bindgen (the exact version the app links). No wasm-opt: see
/// app/index.html.
fn ensure_web_tools() -> Result {
    if !version_of("trunk").is_some_and(|v| v.contains(TRUNK)) {
        status(
            "install trunk (about 6 minutes)",
            quick_install().args(["install", "trunk", "--version", TRUNK, "--locked"]),
        )?;
    }
    if !version_of("wasm-bindgen").is_some_and(|v| v.contains(WASM_BINDGEN)) {
        // Without --locked: with it, a crate missing from the registry breaks the build.
        status(
            "install wasm-bindgen-cli",
            quick_install().args(["install", "wasm-bindgen-cli", "--version", WASM_BINDGEN]),
        )?;
    }
    Ok(())
}

/// `cargo` for installing a build tool: its own release profile (trunk's is fat LTO and
/// one codegen unit: 13 minutes on two cores) traded for a build in half the time; the
/// tools copy and hash files, where the difference does not show.
fn quick_install() -> Command {
    let mut cmd = cargo();
    cmd.env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1");
    cmd
}

/// `s3s-fs`, a real S3-compatible server the tests keep photos in (`tests/src/s3.rs`).
fn ensure_s3_server() -> Result {
    if !version_of("s3s-fs").is_some_and(|v| v.contains(S3S_FS)) {
        status(
            "install s3s-fs (an S3-compatible server for the tests)",
            quick_install().args(["install", "s3s-fs", "--version", S3S_FS, "--locked", "--features", "binary"]),
        )?;
    }
    Ok(())
}

const S3S_FS: &str = "0.14.1";
const TRUNK: &str = "0.21.14";
const WASM_BINDGEN: &str = "0.2.130";

/// Builds the app into dist/ in release, the phone bundle at dist/ and the console
/// bundle at dist/console/, and reports their sizes.
fn build_app() -> Result {
    ensure_web_tools()?;
    status("cargo fetch", cargo().args(["fetch"]))?;
    // The phone bundle first: its build empties dist/, the console's goes inside it.
    status("trunk build --release (phone bundle, /)", Command::new("trunk").args(["build", "--release"]))?;
    status(
        "trunk build --release (console bundle, /console/)",
        // The target before the flags: trunk's `--release` takes an optional value.
        Command::new("trunk").args([
            "build",
            "app/console/index.html",
            "--release",
            "--dist",
            "dist/console",
            "--public-url",
            "/console/",
        ]),
    )?;
    let mut report = String::from("| file | raw | gzip -9 | brotli 11 |\n|---|---|---|---|\n");
    let kb = |n: u64| format!("{:.1} KB", n as f64 / 1024.0);
    for (dir, prefix) in [("dist", ""), ("dist/console", "console/")] {
        for s in precompress::precompress(std::path::Path::new(dir))? {
            let (file, raw, gzip, brotli) = (s.file, kb(s.raw), kb(s.gzip), kb(s.brotli));
            report.push_str(&format!("| {prefix}{file} | {raw} | {gzip} | {brotli} |\n"));
        }
    }
    eprintln!("\nbundle size:\n{report}");
    std::fs::write("dist/bundle-size.md", report).map_err(|e| e.to_string())
}

/// The PostgreSQL server the tests create their databases on: `HUHUJIAN_TEST_PG` if
/// set; else the one on 127.0.0.1:5432 (trust authentication, as on the machines this
/// project is developed on); else Debian's `postgresql`, installed and started here,
/// with a password for `postgres` so that the tests can log in over TCP.
fn ensure_postgres() -> Result<String> {
    eprintln!("\n==> PostgreSQL for the tests");
    if let Ok(url) = std::env::var("HUHUJIAN_TEST_PG") {
        return Ok(url);
    }
    let local = "postgres://postgres@127.0.0.1:5432/postgres".to_owned();
    let listening = || {
        std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], 5432).into(), std::time::Duration::from_secs(2)).is_ok()
    };
    if listening() {
        return Ok(local);
    }
    if version_of("pg_ctlcluster").is_none() && !std::path::Path::new("/usr/bin/pg_ctlcluster").exists() {
        apt_install(&["postgresql"])?;
    }
    let started = Command::new("sh")
        .arg("-c")
        .arg(
            "v=$(ls /etc/postgresql | sort -V | tail -n 1) && \
             pg_ctlcluster --skip-systemctl-redirect \"$v\" main start; \
             for i in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
             su postgres -c \"psql -q -c \\\"ALTER USER postgres PASSWORD 'huhujian-tests'\\\"\"",
        )
        .status()
        .is_ok_and(|s| s.success());
    if !started || !listening() {
        return Err("no PostgreSQL on 127.0.0.1:5432 and none could be started: install Debian's postgresql, \
                    or set HUHUJIAN_TEST_PG=postgres://user:password@host:port/postgres"
            .into());
    }
    Ok("postgres://postgres:huhujian-tests@127.0.0.1:5432/postgres".into())
}

/// The test modules (of `tests/it`) that run on PostgreSQL only.
const POSTGRES_MODULES: [&str; 2] = ["postgres", "scale_out"];

/// The test modules (of `tests/it`) that run on both engines: once on SQLite with the
/// rest, then again on PostgreSQL (`HUHUJIAN_TEST_ENGINE=postgres`), each test on a
/// database of its own. The others test a SQLite file as such (backup, crash,
/// durability, the demo file, lifecycle, concurrency of its readers) or no storage
/// (edge, health, logs, load); `postgres` and `scale_out` cover PostgreSQL's side of
/// those, and evidence, phones, settings and cases have `…on_postgres…` twins.
const BOTH_ENGINES: [&str; 16] = [
    "access",
    "accounts",
    "admin",
    "bad_input",
    "cases",
    "console",
    "damaged",
    "export",
    "hostile",
    "month",
    "rewrite",
    "roster",
    "scope",
    "settings",
    "sync",
    "trust",
];

/// Runs `cargo test` with the tests' PostgreSQL at `postgres`, echoing its output, then
/// the modules of [`BOTH_ENGINES`] again on PostgreSQL; adds up their `test result:`
/// lines, and counts the passed tests that ran on PostgreSQL ([`POSTGRES_MODULES`],
/// tests elsewhere named `…on_postgres…`, and the second run).
fn cargo_test(postgres: &str) -> Result<(u64, u64, bool, u64)> {
    eprintln!("\n==> tests");
    let mut all = cargo();
    all.args(["test", "--no-fail-fast", "--color", "never"]).env_remove("HUHUJIAN_TEST_ENGINE");
    let (mut passed, mut failed, ok, mut on_postgres) = run_tests(all, postgres, false)?;
    eprintln!("\n==> tests on PostgreSQL: the modules {}", BOTH_ENGINES.join(", "));
    let mut again = cargo();
    again
        // Selecting only `it` still builds part of the graph again with other features (about
        // 50 s); running the first run's test binary itself would not.
        .args(["test", "--workspace", "--test", "it", "--no-fail-fast", "--color", "never", "--"])
        .args(BOTH_ENGINES.iter().map(|m| format!("{m}::")))
        .args(["--skip", "on_postgres"])
        .env("HUHUJIAN_TEST_ENGINE", "postgres");
    let (p, f, ok_again, on_pg) = run_tests(again, postgres, true)?;
    (passed, failed, on_postgres) = (passed + p, failed + f, on_postgres + on_pg);
    Ok((passed, failed, ok && ok_again, on_postgres))
}

/// Runs one `cargo test`, echoing its output; returns (passed, failed, success, passed
/// on PostgreSQL), every passed test counting as on PostgreSQL when `all_on_postgres`.
fn run_tests(mut cmd: Command, postgres: &str, all_on_postgres: bool) -> Result<(u64, u64, bool, u64)> {
    let mut child = cmd
        .env("HUHUJIAN_TEST_PG", postgres)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cargo test: could not start: {e}"))?;
    let (mut passed, mut failed, mut on_postgres) = (0, 0, 0);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(std::io::Result::ok) {
            println!("{line}");
            let on_pg = all_on_postgres
                || POSTGRES_MODULES.iter().any(|m| line.starts_with(&format!("test {m}::")))
                || (line.starts_with("test ") && line.contains("on_postgres"));
            if on_pg && line.starts_with("test ") && line.ends_with(" ok") {
                on_postgres += 1;
            }
            if let Some(rest) = line.strip_prefix("test result: ") {
                passed += count(rest, " passed");
                failed += count(rest, " failed");
            }
        }
    }
    let ok = child.wait().map_err(|e| e.to_string())?.success();
    Ok((passed, failed, ok, on_postgres))
}

/// The number before `label` in a `test result:` line.
fn count(line: &str, label: &str) -> u64 {
    line.split(';')
        .find_map(|part| {
            part.trim().trim_start_matches("ok. ").trim_start_matches("FAILED. ").strip_suffix(label.trim())
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Builds the app and the server in release and starts the server on an embedded
/// SQLite file with the demo county (created on first start), serving the app and
/// printing the URL and the demo logins. Extra arguments go to `server serve` (e.g.
/// `--bind 0.0.0.0:8080`).
fn run(server_args: &[String]) -> Result {
    ensure_toolchain()?;
    build_app()?;
    let mut args = vec![
        "run",
        "--release",
        "-p",
        "server",
        "--",
        "--db",
        "huhujian-demo.sqlite3",
        "serve",
        "--demo",
        "--app-dir",
        "dist",
    ];
    args.extend(server_args.iter().map(String::as_str));
    status("start the server", cargo().args(args))
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_cargo_test_result_lines() {
        let line = "ok. 16 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s";
        assert_eq!(super::count(line, " passed"), 16);
        assert_eq!(super::count(line, " failed"), 2);
        assert_eq!(super::count("FAILED. 3 passed; 1 failed; 0 ignored", " failed"), 1);
    }
}
