//! Renders report tables as one XLSX workbook, a sheet per table: bold frozen header,
//! column widths from the content, numbers as numbers, rates with a percent format.

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::table::{Cell, Table};
use crate::error::{AppError, AppResult};

/// Narrowest and widest column, in character widths.
const MIN_WIDTH: usize = 6;
const MAX_WIDTH: usize = 40;

/// Display width: a CJK (or other wide) character takes two columns.
fn width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

fn sheet(ws: &mut Worksheet, table: &Table, bold: &Format, percent: &Format) -> Result<(), XlsxError> {
    ws.set_name(table.name)?;
    let mut widths: Vec<usize> = table.header.iter().map(|h| width(h)).collect();
    for (col, title) in table.header.iter().enumerate() {
        ws.write_string_with_format(0, col as u16, *title, bold)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (col, cell) in row.iter().enumerate() {
            let c = col as u16;
            match cell {
                Cell::Empty => {}
                Cell::Text(s) => {
                    ws.write_string(r, c, s)?;
                }
                Cell::Int(n) => {
                    ws.write_number(r, c, *n as f64)?;
                }
                Cell::Rate(x) => {
                    ws.write_number_with_format(r, c, *x, percent)?;
                }
            }
            if let Some(w) = widths.get_mut(col) {
                *w = (*w).max(width(&cell.text()));
            }
        }
    }
    for (col, w) in widths.into_iter().enumerate() {
        ws.set_column_width(col as u16, (w.clamp(MIN_WIDTH, MAX_WIDTH) + 2) as f64)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// The XLSX bytes of a workbook with `tables` as its sheets, in order.
pub fn render(tables: &[Table]) -> AppResult<Vec<u8>> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.00%");
    for table in tables {
        sheet(book.add_worksheet(), table, &bold, &percent).map_err(AppError::internal)?;
    }
    book.save_to_buffer().map_err(AppError::internal)
}
