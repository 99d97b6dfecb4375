//! Reading whole tables out of the SQLite file, row by row, for moving a county to
//! PostgreSQL (`store::transfer`).

use rusqlite::types::ValueRef;

use super::Sqlite;
use crate::store::transfer::{Cell, Table};
use crate::store::{StoreError, StoreResult};

impl Sqlite {
    /// Calls `row` with every row of `table` (its columns in order), all tables read in
    /// the snapshot of one read transaction that `each` runs in.
    pub fn snapshot<T>(&self, each: impl FnOnce(&mut Dump<'_>) -> StoreResult<T>) -> StoreResult<T> {
        let conn = self.take_reader()?;
        let result = (|| {
            let tx = conn.unchecked_transaction()?;
            each(&mut Dump { conn: &tx })
        })();
        self.give_back(conn);
        result
    }
}

/// One read snapshot of the file.
#[derive(Debug)]
pub struct Dump<'a> {
    conn: &'a rusqlite::Connection,
}

impl Dump<'_> {
    /// Every row of `table`, in its order.
    pub fn rows(&mut self, table: &Table, mut row: impl FnMut(Vec<Cell>) -> StoreResult<()>) -> StoreResult<u64> {
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        let sql = format!("SELECT {} FROM {} ORDER BY {}", columns.join(", "), table.name, table.order_by);
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut n = 0;
        while let Some(r) = rows.next()? {
            let mut cells = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                cells.push(match r.get_ref(i)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Real(v) => {
                        return Err(StoreError::Transfer(format!("{}: unexpected real number {v}", table.name)));
                    }
                    ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
                });
            }
            row(cells)?;
            n += 1;
        }
        Ok(n)
    }

    /// How many rows `table` has.
    pub fn count(&mut self, table: &str) -> StoreResult<u64> {
        let n: i64 = self.conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        Ok(n as u64)
    }
}
