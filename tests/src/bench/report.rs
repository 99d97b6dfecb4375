//! BENCHMARKS.md from the parts' JSON files: the machine, then one table of every
//! figure next to its target and floor, then how each was measured. Only the text
//! between the two markers is replaced; the analysis written around it stays.

use std::path::Path;

use super::Part;

/// The order of the parts in the table.
const ORDER: [&str; 8] = ["sync", "merge", "concurrent", "hostile", "queries", "browser", "storage", "photos"];
const BEGIN: &str = "<!-- cargo xtask bench: generated from here -->";
const END: &str = "<!-- cargo xtask bench: generated to here -->";

/// Reads `dir/*.json` and rewrites the generated part of `markdown` (created if missing).
pub fn write(dir: &Path, markdown: &Path) -> std::io::Result<String> {
    let mut parts: Vec<Part> = Vec::new();
    for name in ORDER {
        let path = dir.join(format!("{name}.json"));
        match std::fs::read_to_string(&path) {
            Ok(text) => parts.push(serde_json::from_str(&text).map_err(std::io::Error::other)?),
            Err(_) => eprintln!("bench report: {} is missing; its rows are left out", path.display()),
        }
    }
    let generated = render(&parts);
    let old = std::fs::read_to_string(markdown).unwrap_or_default();
    let text = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{generated}{}", &old[..b], &old[e + END.len()..]),
        _ => format!("# Benchmarks\n\n{generated}\n"),
    };
    std::fs::write(markdown, &text)?;
    Ok(generated)
}

fn render(parts: &[Part]) -> String {
    let mut out = format!("{BEGIN}\n\n{}\n\n", machine());
    out.push_str("| part | figure | measured | target | met | floor |\n|---|---|---|---|---|---|\n");
    for part in parts {
        for row in &part.rows {
            let met = match row.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "—",
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {met} | {} |\n",
                part.part,
                cell(&row.figure),
                cell(&row.value),
                cell(&row.target),
                cell(row.floor.as_deref().unwrap_or("—"))
            ));
        }
    }
    out.push_str("\n### How each figure was measured\n\n");
    for part in parts {
        for row in &part.rows {
            out.push_str(&format!("- **{}**: {}\n", cell(&row.figure), row.detail));
        }
        for note in &part.notes {
            out.push_str(&format!("- *{}*: {note}\n", part.part));
        }
    }
    out.push('\n');
    out.push_str(END);
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The machine: CPU, cores, memory, OS, compiler, date.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().trim_end_matches("kB").trim().to_owned()))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or_else(|| "unknown memory".into(), |kb| format!("{:.1} GB RAM", kb / 1024.0 / 1024.0));
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_owned()))
        .unwrap_or_else(|| std::env::consts::OS.into());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("Measured {date} by `cargo xtask bench` (release builds) on {cpu}, {cores} cores, {memory}, {os}, {rustc}.")
}
