//! `cargo xtask bench` runs this (release): `bench <part>… [--out DIR]` measures each
//! part named (`sync`, `merge`, `concurrent`, `hostile`, `queries`, `storage`, `photos`) and writes `DIR/<part>.json`
//! (default `target/bench`); `bench report [--out DIR]` rewrites the generated part of
//! BENCHMARKS.md from them. `bench loaded-memory FILE` is the merge part's memory
//! probe, which it runs as a process of its own.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use huhujian_tests::bench;

/// As the `server` command (the server runs in this process).
#[global_allocator]
static ALLOCATOR: server::Allocator = server::Allocator;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args.iter().position(|a| a == "--out") {
        Some(i) => {
            let dir = args.get(i + 1).cloned().unwrap_or_else(|| usage());
            args.drain(i..=i + 1);
            PathBuf::from(dir)
        }
        None => PathBuf::from("target/bench"),
    };
    if args.is_empty() {
        usage();
    }
    if let [probe, file] = &args[..]
        && probe == "loaded-memory"
    {
        println!("{}", bench::merge::probe_loaded_memory(std::path::Path::new(file)));
        return;
    }
    if args == ["report"] {
        let markdown = std::path::Path::new("BENCHMARKS.md");
        match bench::report::write(&out, markdown) {
            Ok(table) => println!("{table}"),
            Err(e) => {
                eprintln!("bench report: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for part in &args {
        let started = std::time::Instant::now();
        eprintln!("\n==> bench {part}");
        let result = match part.as_str() {
            "queries" => bench::queries::run(work.path()),
            "sync" => runtime.block_on(bench::sync::run(work.path())),
            "storage" => bench::storage::run(work.path()),
            "merge" => runtime.block_on(bench::merge::run(work.path(), &bench::sync::county(work.path()).0)),
            "concurrent" => runtime.block_on(bench::concurrent::run(work.path(), &bench::sync::county(work.path()).0)),
            "hostile" => runtime.block_on(bench::hostile::run(work.path(), &bench::sync::county(work.path()).0)),
            "photos" => runtime.block_on(bench::photos::run(work.path())),
            _ => usage(),
        };
        result.write(&out).unwrap();
        for row in &result.rows {
            eprintln!("  {}: {} (target {})", row.figure, row.value, row.target);
        }
        eprintln!("  ({part} took {:.1?})", started.elapsed());
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: bench sync|merge|concurrent|hostile|queries|storage|photos… [--out DIR] | bench report [--out DIR]"
    );
    std::process::exit(2)
}
