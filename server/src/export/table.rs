//! The report table every export is built as once (sheet name, header, rows of typed
//! cells) and then rendered, to XLSX or CSV, so that the two formats cannot disagree.

use shared::{Coded, Date};

/// One cell of a report table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing recorded.
    Empty,
    /// Text (dates are text `YYYY-MM-DD`).
    Text(String),
    /// A count or an amount in yuan.
    Int(i64),
    /// A share, `0.0..=1.0` (and beyond, for growth), shown as a percentage.
    Rate(f64),
}

impl Cell {
    /// A rate, rounded to 0.01 % so that both formats carry the same short number.
    pub fn rate(value: Option<f64>) -> Cell {
        match value {
            Some(r) if r.is_finite() => Cell::Rate((r * 10_000.0).round() / 10_000.0),
            _ => Cell::Empty,
        }
    }

    /// The Chinese label of a coded answer, empty when not recorded.
    pub fn zh<T: Coded>(value: Option<T>) -> Cell {
        value.map_or(Cell::Empty, |v| Cell::Text(v.zh().to_owned()))
    }

    /// 是 / 否.
    pub fn yes_no(value: bool) -> Cell {
        Cell::Text(if value { "是" } else { "否" }.to_owned())
    }

    /// The cell as CSV text (and as a spreadsheet reader shows the XLSX cell's value).
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Rate(r) => r.to_string(),
        }
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        if s.is_empty() { Cell::Empty } else { Cell::Text(s) }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        s.to_owned().into()
    }
}

impl From<&String> for Cell {
    fn from(s: &String) -> Self {
        s.as_str().into()
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Int(n)
    }
}

impl From<u32> for Cell {
    fn from(n: u32) -> Self {
        Cell::Int(i64::from(n))
    }
}

impl From<Date> for Cell {
    fn from(d: Date) -> Self {
        Cell::Text(d.to_string())
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, Into::into)
    }
}

/// One sheet: its name, its header row and its rows (each as wide as the header).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Sheet name (户表, 成员, …).
    pub name: &'static str,
    /// Column titles, Chinese.
    pub header: &'static [&'static str],
    /// Data rows.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table.
    pub fn new(name: &'static str, header: &'static [&'static str]) -> Self {
        Self { name, header, rows: Vec::new() }
    }

    /// Appends a row; it must be as wide as the header.
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.header.len(), "row width of {}", self.name);
        self.rows.push(row);
    }
}
