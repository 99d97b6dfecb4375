//! Renders a report table as CSV: UTF-8 with a BOM (so Excel reads the Chinese), the
//! header row, then every cell as [`Cell::text`].

use super::table::{Cell, Table};
use crate::error::{AppError, AppResult};

/// The CSV bytes of `table`.
pub fn render(table: &Table) -> AppResult<Vec<u8>> {
    let mut out = ::csv::Writer::from_writer(Vec::from("\u{feff}".as_bytes()));
    out.write_record(table.header).map_err(AppError::internal)?;
    for row in &table.rows {
        out.write_record(row.iter().map(Cell::text)).map_err(AppError::internal)?;
    }
    out.into_inner().map_err(|e| AppError::internal(e.to_string()))
}
