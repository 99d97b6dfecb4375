//! Precompresses the built app: every text or wasm file of `dist/` gets a `.br`
//! (brotli, quality 11) and a `.gz` (gzip -9) beside it, which the server sends as they
//! are (`ServeDir::precompressed_br`) instead of compressing on the fly at a low level.

use std::io::Write;
use std::path::Path;

/// Compressed sizes of one file.
pub struct Sizes {
    pub file: String,
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

/// Files worth compressing, by extension.
const COMPRESSIBLE: &[&str] = &["wasm", "js", "css", "html", "svg", "webmanifest", "json"];

/// Writes `<file>.br` and `<file>.gz` for every compressible file directly in `dir`.
pub fn precompress(dir: &Path) -> Result<Vec<Sizes>, String> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let compressible = path.extension().and_then(|e| e.to_str()).is_some_and(|e| COMPRESSIBLE.contains(&e));
        if !path.is_file() || !compressible {
            continue;
        }
        let raw = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let brotli = brotli_max(&raw)?;
        let gzip = gzip_max(&path)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        std::fs::write(dir.join(format!("{name}.br")), &brotli).map_err(|e| e.to_string())?;
        std::fs::write(dir.join(format!("{name}.gz")), &gzip).map_err(|e| e.to_string())?;
        out.push(Sizes { file: name, raw: raw.len() as u64, gzip: gzip.len() as u64, brotli: brotli.len() as u64 });
    }
    Ok(out)
}

fn brotli_max(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 1 << 16, 11, 22);
        writer.write_all(raw).map_err(|e| format!("brotli: {e}"))?;
    }
    Ok(out)
}

fn gzip_max(path: &Path) -> Result<Vec<u8>, String> {
    let out = std::process::Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .arg(path)
        .output()
        .map_err(|e| format!("gzip: {e}"))?;
    if !out.status.success() {
        return Err(format!("gzip {}: {}", path.display(), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(out.stdout)
}
