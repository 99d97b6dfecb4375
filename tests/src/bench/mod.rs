//! `cargo xtask bench`: the figures of BENCHMARKS.md, each next to its target. Every
//! part writes `target/bench/<part>.json` (a [`Part`]); `bench report` turns the parts
//! into the table of BENCHMARKS.md. Benchmarks are never tests: nothing here fails
//! because the machine is slow.

pub mod concurrent;
pub mod fleet;
pub mod hostile;
pub mod link;
pub mod merge;
pub mod month;
pub mod photos;
pub mod queries;
pub mod report;
pub mod storage;
pub mod sync;

use std::path::Path;

use serde::{Deserialize, Serialize};

/// One measured figure, as a row of BENCHMARKS.md.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// What was measured, in words (English; BENCHMARKS.md is for engineers).
    pub figure: String,
    /// The measurement as shown, with its unit: "212 B", "p50 31 ms, p95 44 ms".
    pub value: String,
    /// The target, as shown ("≤ 300 B"), or "report" when there is none.
    pub target: String,
    /// Whether the target is met; `None` when there is no target.
    pub met: Option<bool>,
    /// The physical floor, where one can be computed ("1.9 s: 62 KB ÷ 400 kbit/s + 3 × 400 ms").
    pub floor: Option<String>,
    /// How it was measured, or what dominates it.
    pub detail: String,
}

/// One part of the benchmark run: its rows and free-text notes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Part {
    /// Short name: `sync`, `merge`, `queries`, `storage`, `browser`.
    pub part: String,
    /// The figures.
    pub rows: Vec<Row>,
    /// Anything worth saying about the run (sizes, seeds, what was profiled).
    pub notes: Vec<String>,
}

impl Part {
    /// Writes `dir/<part>.json`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(format!("{}.json", self.part)), json)
    }
}

/// p50 and p95 of durations in milliseconds (nearest rank). Empty input gives zeros.
pub fn percentiles(samples: &mut [f64]) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    samples.sort_by(f64::total_cmp);
    let rank = |p: f64| samples[((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1];
    (rank(0.50), rank(0.95))
}
