//! A roster file read into rows of text cells (表格读取), whatever a county's office
//! saved it as: an Excel workbook (`.xlsx`), or a CSV in UTF-8 (with or without BOM),
//! in GB18030/GBK (what Excel on Chinese Windows saves as "CSV (逗号分隔)"), or in
//! UTF-16 with a BOM (Excel's "Unicode 文本", tab-separated). Each row keeps the
//! number a person finds it by: its line in a text editor, or its row in Excel (with
//! the sheet's name).
//!
//! Telling the encodings apart: a BOM decides; otherwise bytes that are valid UTF-8 are
//! UTF-8 (GBK text with Chinese in it is practically never valid UTF-8: its lead bytes
//! 0x81–0xFE are followed by bytes that UTF-8 forbids there), and bytes that decode as
//! GB18030 without a single malformed sequence are GB18030. Anything else is refused.

use shared::api::ErrorCode;
use std::io::Cursor;

use calamine::{Data, Reader as _, Xlsx};
use encoding_rs::{GB18030, UTF_16BE, UTF_16LE};

use super::RowError;
use crate::denied::Denied;

/// One row: the number a person sees, and its cells as text (trimmed later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The line of a CSV (1 = the header), or the row of a worksheet as Excel numbers it.
    pub number: u64,
    /// The cells, left to right.
    pub cells: Vec<String>,
    /// Cells (by index) that a workbook holds as numbers of 16 digits or more: Excel
    /// keeps 15, so the digits after are lost (an ID number typed as a number).
    pub imprecise: Vec<usize>,
}

/// What the file was, as the import's report says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV in UTF-8.
    Utf8,
    /// CSV in GB18030 (GBK's superset).
    Gb18030,
    /// Tab- or comma-separated UTF-16 text.
    Utf16,
    /// An Excel workbook.
    Xlsx,
}

/// A roster file's table: the header row, the data rows, and the rows that could not
/// be read at all (reported with the rest of the rows' errors).
#[derive(Debug, Clone)]
pub struct Sheet {
    /// The worksheet read, for a workbook.
    pub name: Option<String>,
    /// What the file was.
    pub format: Format,
    /// The header row.
    pub header: Row,
    /// The data rows, in file order, empty rows left out.
    pub rows: Vec<Row>,
    /// Rows that could not be read (a CSV row with the wrong number of cells, say).
    pub unreadable: Vec<RowError>,
}

/// The largest workbook read (its zip; the cells are about as large again in memory).
pub const MAX_WORKBOOK: usize = 32 << 20;

/// The most cells a worksheet's range may span (a county's roster: 30 columns by
/// 100,000 members is 3 million).
pub const MAX_CELLS: u64 = 4_000_000;

impl Sheet {
    /// Reads a roster file: a workbook by its zip signature, else a CSV in one of the
    /// encodings above.
    pub fn read(bytes: &[u8]) -> Result<Sheet, Denied> {
        if bytes.starts_with(b"PK\x03\x04") {
            return Self::from_xlsx(bytes);
        }
        if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
            return Err(Denied::invalid(
                ErrorCode::OldExcel,
                "这是旧版 Excel 文件（.xls），请在 Excel 中另存为“Excel 工作簿 (.xlsx)”或“CSV UTF-8”后再导入",
                "This is an old Excel file (.xls): save it as \"Excel Workbook (.xlsx)\" or \"CSV UTF-8\" and import that",
            ));
        }
        let (text, format) = decode(bytes)?;
        Ok(Self::from_text(&text, format))
    }

    /// Reads CSV text (comma-separated, or tab-separated when the header has tabs and
    /// no commas).
    pub fn from_csv(text: &str) -> Sheet {
        Self::from_text(text, Format::Utf8)
    }

    fn from_text(text: &str, format: Format) -> Sheet {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let first = text.lines().next().unwrap_or("");
        let delimiter = if first.contains('\t') && !first.contains(',') { b'\t' } else { b',' };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .delimiter(delimiter)
            .from_reader(text.as_bytes());
        let (mut rows, mut unreadable) = (Vec::new(), Vec::new());
        // The line an editor shows, from the byte offset (the csv crate's own line
        // count leaves out blank lines, and a record's offset is where the blank lines
        // before it start).
        // Offsets only grow: a cursor counts each byte once.
        let bytes = text.as_bytes();
        let mut cursor = (0usize, 1u64);
        let mut line_at = |p: Option<&csv::Position>| {
            let Some(p) = p else { return 0 };
            let mut at = (p.byte() as usize).min(bytes.len());
            while at < bytes.len() && matches!(bytes[at], b'\n' | b'\r') {
                at += 1;
            }
            let (from, line) = cursor;
            let at = at.max(from);
            cursor = (at, line + bytes[from..at].iter().filter(|b| **b == b'\n').count() as u64);
            cursor.1
        };
        for record in reader.records() {
            match record {
                Ok(r) => {
                    let number = line_at(r.position());
                    rows.push(Row { number, cells: r.iter().map(str::to_owned).collect(), imprecise: Vec::new() });
                }
                Err(e) => {
                    let line = line_at(e.position());
                    unreadable.push(RowError::at(
                        line,
                        None,
                        format!("该行无法解析：{e}"),
                        format!("The row cannot be read: {e}"),
                    ));
                }
            }
        }
        let mut sheet = Self::settle(None, format, rows);
        // A CSV row with more or fewer cells than its header is a misplaced comma.
        let width = sheet.header.cells.len();
        sheet.rows.retain(|r| {
            let fits = r.cells.len() == width;
            if !fits {
                unreadable.push(RowError::at(
                    r.number,
                    None,
                    format!("该行有 {} 列，表头有 {width} 列（多了或少了逗号？）", r.cells.len()),
                    format!("The row has {} cells, the header {width} (a comma too many or too few?)", r.cells.len()),
                ));
            }
            fits
        });
        unreadable.sort_by_key(|e| e.line);
        sheet.unreadable = unreadable;
        sheet
    }

    /// The header among `rows` (the first of the first ten that names a known column,
    /// so that a title above it is skipped; else the first row), and the non-empty rows
    /// below it.
    fn settle(name: Option<String>, format: Format, rows: Vec<Row>) -> Sheet {
        let known =
            |r: &Row| r.cells.iter().any(|c| super::COLUMNS.iter().any(|(en, zh)| c.trim() == *en || c.trim() == *zh));
        let mut rows: Vec<Row> = rows.into_iter().filter(|r| r.cells.iter().any(|c| !c.trim().is_empty())).collect();
        let at = rows.iter().take(10).position(known).unwrap_or(0);
        let mut below = rows.split_off(at.min(rows.len()));
        let header = if below.is_empty() {
            Row { number: 1, cells: Vec::new(), imprecise: Vec::new() }
        } else {
            below.remove(0)
        };
        Sheet { name, format, header, rows: below, unreadable: Vec::new() }
    }

    /// Reads a workbook: the first worksheet whose first non-empty row names the
    /// registry number column (户编码 / registry_no), else the first worksheet.
    fn from_xlsx(bytes: &[u8]) -> Result<Sheet, Denied> {
        let unreadable = |e: &dyn std::fmt::Display| {
            Denied::invalid(
                ErrorCode::BadWorkbook,
                format!("无法读取这个 Excel 文件（{e}）；请确认它是 .xlsx 工作簿，或另存为“CSV UTF-8”后再导入"),
                format!(
                    "This Excel file cannot be read ({e}); check that it is an .xlsx workbook, or save it as \"CSV UTF-8\""
                ),
            )
        };
        if bytes.len() > MAX_WORKBOOK {
            return Err(unreadable(&format!("larger than {} MB", MAX_WORKBOOK >> 20)));
        }
        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
        let mut first = None;
        for name in book.sheet_names() {
            // The sheet's own size first: one stray cell far to the right would make
            // the reader allocate every cell of the rectangle up to it.
            let size = book.worksheet_cells_reader(&name).map_err(|e| unreadable(&e))?.dimensions().len();
            if size > MAX_CELLS {
                return Err(Denied::invalid(
                    ErrorCode::SheetTooLarge,
                    format!(
                        "工作表“{name}”的范围有 {size} 个单元格（上限 {MAX_CELLS}）：请删除表格右侧或下方多余的内容，或另存为 CSV"
                    ),
                    format!(
                        "Worksheet \"{name}\" spans {size} cells (limit {MAX_CELLS}): delete stray content to the right or below, or save as CSV"
                    ),
                ));
            }
            let range = book.worksheet_range(&name).map_err(|e| unreadable(&e))?;
            let sheet = Self::from_range(&name, &range);
            if sheet.header.cells.iter().any(|h| matches!(h.trim(), "户编码" | "registry_no")) {
                return Ok(sheet);
            }
            first.get_or_insert(sheet);
        }
        first.ok_or_else(|| unreadable(&"no worksheet"))
    }

    fn from_range(name: &str, range: &calamine::Range<Data>) -> Sheet {
        // Row numbers as Excel shows them: the range may start below row 1.
        let top = u64::from(range.start().map_or(0, |(row, _)| row)) + 1;
        let rows = range
            .rows()
            .enumerate()
            .map(|(i, cells)| Row {
                number: top + i as u64,
                cells: cells.iter().map(cell_text).collect(),
                imprecise: cells
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| matches!(c, Data::Float(f) if f.abs() >= 1e15))
                    .map(|(i, _)| i)
                    .collect(),
            })
            .collect();
        Self::settle(Some(name.to_owned()), Format::Xlsx, rows)
    }

    /// Every cell, for a digest of what the sheet says.
    pub fn digest_into(&self, digest: &mut impl sha2::Digest) {
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for cell in &row.cells {
                digest.update(cell.as_bytes());
                digest.update([0x1f]);
            }
            digest.update([0x1e]);
        }
    }
}

/// A workbook cell as the text a CSV of it would hold: whole numbers without ".0"
/// (户编码 and 身份证号 typed as numbers), dates as YYYY-MM-DD, 是/否 for booleans.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Data::DateTime(d) => {
            let (y, m, day, ..) = d.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{day:02}")
        }
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// The text of a CSV file and its encoding, by the rule in the module's comment.
fn decode(bytes: &[u8]) -> Result<(String, Format), Denied> {
    let utf16 = if bytes.starts_with(&[0xFF, 0xFE]) {
        Some(UTF_16LE)
    } else if bytes.starts_with(&[0xFE, 0xFF]) {
        Some(UTF_16BE)
    } else {
        None
    };
    if let Some(encoding) = utf16 {
        let (text, _, malformed) = encoding.decode(bytes);
        if !malformed {
            return Ok((text.into_owned(), Format::Utf16));
        }
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((text.to_owned(), Format::Utf8));
    } else if let (text, _, false) = GB18030.decode(bytes) {
        return Ok((text.into_owned(), Format::Gb18030));
    }
    Err(Denied::invalid(
        ErrorCode::BadEncoding,
        "花名册既不是 UTF-8 也不是 GBK 编码的 CSV，也不是 Excel 工作簿：请在 Excel 中另存为“CSV UTF-8”或“Excel 工作簿 (.xlsx)”",
        "The roster is neither a CSV in UTF-8 or GBK nor an Excel workbook: save it from Excel as \"CSV UTF-8\" or \"Excel Workbook (.xlsx)\"",
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const CSV: &str = "户编码,姓名,网格\n5323250301001,张三,1栋\n\n5323250301002,李四,2栋\n";

    #[test]
    fn utf8_gbk_and_utf16_read_alike() {
        let (gbk, _, _) = GB18030.encode(CSV);
        assert!(std::str::from_utf8(&gbk).is_err(), "the GBK bytes are not UTF-8");
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(CSV.replace(',', "\t").encode_utf16().flat_map(u16::to_le_bytes));
        for (bytes, format) in
            [(CSV.as_bytes().to_vec(), Format::Utf8), (gbk.into_owned(), Format::Gb18030), (utf16, Format::Utf16)]
        {
            let sheet = Sheet::read(&bytes).unwrap();
            assert_eq!(sheet.format, format);
            assert_eq!(sheet.header.cells, ["户编码", "姓名", "网格"]);
            assert_eq!(sheet.rows.len(), 2, "the empty line is left out");
            assert_eq!(
                sheet.rows[1],
                Row {
                    number: 4, cells: vec!["5323250301002".into(), "李四".into(), "2栋".into()], imprecise: vec![]
                }
            );
        }
    }

    #[test]
    fn a_title_above_the_header_is_skipped_and_a_misplaced_comma_is_a_row_error() {
        let sheet = Sheet::from_csv("光禄新村花名册\n户编码,姓名\nH1,张三\nH2,李四,多\n");
        assert_eq!(sheet.header, Row { number: 2, cells: vec!["户编码".into(), "姓名".into()], imprecise: vec![] });
        assert_eq!(sheet.rows.len(), 1);
        assert_eq!(sheet.unreadable.len(), 1);
        assert_eq!(sheet.unreadable[0].line, 4);
    }

    #[test]
    fn bytes_in_no_known_encoding_are_refused_with_what_to_do() {
        // 0x81 0x20: a GBK lead byte followed by a byte no encoding here allows.
        let e = Sheet::read(b"registry_no,name\n\x81\x20,x\n").unwrap_err();
        assert!(e.to_string().contains("CSV UTF-8"), "{e}");
        let e = Sheet::read(&[0xD0, 0xCF, 0x11, 0xE0, 0, 0]).unwrap_err();
        assert!(e.to_string().contains(".xlsx"), "{e}");
        let e = Sheet::read(b"PK\x03\x04 not really a zip").unwrap_err();
        assert!(e.to_string().contains("cannot be read"), "{e}");
    }
}
