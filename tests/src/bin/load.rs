//! `cargo xtask load`: the full-size load test. Seeds a fresh database with N cadres ×
//! M households, starts the release `server` binary on it in its own process, lets
//! every phone sync at once, and prints latencies, errors and the server's peak memory.
//! Usage: load [PHONES] [HOUSEHOLDS_PER_PHONE] (default 200 × 50).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use huhujian_tests::load::{self, Load};
use huhujian_tests::seed;
use server::auth::Role;

/// As the `server` command (the phones run in this process; the server in its own).
#[global_allocator]
static ALLOCATOR: server::Allocator = server::Allocator;

/// Peak and current resident memory of process `pid`, in MB (Linux).
fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let size = Load { phones: args.first().copied().unwrap_or(200), households: args.get(1).copied().unwrap_or(50) };
    let exe = std::env::current_exe().unwrap();
    let server_bin = exe.with_file_name("server");
    assert!(server_bin.exists(), "{} is missing: cargo build --release -p server", server_bin.display());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("load.sqlite3");
    let started = std::time::Instant::now();
    let logins = size.logins();
    let users: Vec<(&str, &str, Role, Option<&str>)> =
        logins.iter().map(|l| (l.as_str(), "干部", Role::Cadre, None)).collect();
    seed(&path, &users, &size.roster());
    println!(
        "seeded {} cadres and {} households in {:.1} s",
        size.phones,
        size.phones * size.households,
        started.elapsed().as_secs_f64()
    );

    let mut child = Command::new(&server_bin)
        .arg("--db")
        .arg(&path)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.split_once("listening on ").map(|(_, u)| u.trim_end_matches('/').to_owned()))
        .expect("the server did not say where it listens");
    let (_, idle) = memory_mb(child.id());
    let report = load::run(&base, size, "2026-11").await;
    let (peak, after) = memory_mb(child.id());
    let _ = child.kill();
    let _ = child.wait();

    println!("{}", report.summary());
    println!("server memory: {idle:.0} MB idle, {peak:.0} MB peak, {after:.0} MB after the run");
    for e in report.errors.iter().take(5) {
        println!("error: {e}");
    }
    if !report.errors.is_empty() || report.refused > 0 {
        std::process::exit(1);
    }
}
