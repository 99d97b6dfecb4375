//! Renders a report table as CSV: UTF-8 with a BOM (so Excel reads the Chinese), the
//! header row, then every cell as [`Cell::text`], text made safe to open
//! ([`spreadsheet_safe`]).

use super::table::{Cell, Table};
use crate::denied::{Denied, DeniedResult};

/// The CSV bytes of `table`.
pub fn render(table: &Table) -> DeniedResult<Vec<u8>> {
    let mut out = ::csv::Writer::from_writer(Vec::from("\u{feff}".as_bytes()));
    out.write_record(table.header).map_err(Denied::internal)?;
    for row in &table.rows {
        out.write_record(row.iter().map(|cell| match cell {
            Cell::Text(s) => spreadsheet_safe(s),
            other => other.text(),
        }))
        .map_err(Denied::internal)?;
    }
    out.into_inner().map_err(|e| Denied::internal(e.to_string()))
}

/// Text as a CSV cell that Excel and WPS show as text, never run (OWASP's rule against
/// CSV injection): control characters other than a line break, and the invisible
/// characters that reorder text (bidi overrides), are removed; then text that starts,
/// after any spaces, with `=`, `+`, `-` or `@` (or started with a tab or carriage
/// return) gets a leading `'`. Numbers are not text cells and stay numbers.
pub fn spreadsheet_safe(text: &str) -> String {
    let hidden = |c: char| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    let starts_with_control = text.starts_with(['\t', '\r']);
    let clean: String = text.chars().filter(|c| !hidden(*c)).collect();
    let formula = clean.trim_start().starts_with(['=', '+', '-', '@']);
    if formula || starts_with_control { format!("'{clean}") } else { clean }
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formulas_become_text_and_controls_go() {
        for (given, want) in [
            ("=HYPERLINK(\"http://x\",\"点我\")", "'=HYPERLINK(\"http://x\",\"点我\")"),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(1+1)", "'@SUM(1+1)"),
            ("  =1+1", "'  =1+1"),
            ("\t=1", "'=1"),
            ("\rx", "'x"),
            ("张\u{0}三", "张三"),
            ("abc\u{202e}fed", "abcfed"),
            ("1栋101\n2楼", "1栋101\n2楼"),
            ("李国华", "李国华"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(spreadsheet_safe(given), want, "{given:?}");
        }
    }
}
