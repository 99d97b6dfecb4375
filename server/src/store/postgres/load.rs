//! Writing a SQLite file's tables into an empty PostgreSQL database and checking the
//! copy (`store::transfer`).

use tokio::runtime::Handle;
use tokio_postgres::types::ToSql;

use super::Postgres;
use crate::store::projection::parse_doc;
use crate::store::sqlite::Sqlite;
use crate::store::transfer::{Cell, Kind, Report, TABLES};
use crate::store::{StoreError, StoreResult};

/// A cell as the column's PostgreSQL type takes it.
fn param(cell: Cell, kind: Kind, table: &str, column: &str) -> StoreResult<Box<dyn ToSql + Sync + Send>> {
    Ok(match (cell, kind) {
        (Cell::Null, Kind::Int) => Box::new(None::<i64>),
        (Cell::Null, Kind::Text) => Box::new(None::<String>),
        (Cell::Null, Kind::Blob) => Box::new(None::<Vec<u8>>),
        (Cell::Null, Kind::Bool) => Box::new(None::<bool>),
        (Cell::Int(v), Kind::Int) => Box::new(v),
        (Cell::Int(v), Kind::Bool) => Box::new(v != 0),
        (Cell::Text(v), Kind::Text) => Box::new(super::docs::text(&v)),
        (Cell::Blob(v), Kind::Blob) => Box::new(v),
        (cell, kind) => {
            return Err(StoreError::Transfer(format!("{table}.{column}: {cell:?} cannot be stored as {kind:?}")));
        }
    })
}

impl Postgres {
    /// Copies every table of `source` (one snapshot) into this database, which must
    /// hold no users and no households, and checks the copy, in one transaction. Runs
    /// on a blocking-pool thread of the runtime.
    pub fn copy_from(&self, source: &Sqlite) -> StoreResult<Report> {
        let rt = Handle::current();
        let mut client = rt.block_on(self.0.pool.get()).map_err(StoreError::engine)?;
        let tx = rt.block_on(client.transaction())?;
        for table in ["users", "households"] {
            let n: i64 = rt.block_on(tx.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[]))?.get(0);
            if n > 0 {
                return Err(StoreError::Transfer(format!(
                    "the PostgreSQL database already has {n} rows in {table}; move a county into an empty database \
                     (目标数据库不是空的)"
                )));
            }
        }
        // The settings are the county's: its rows replace the new database's defaults.
        rt.block_on(tx.execute("DELETE FROM settings", &[]))?;
        rt.block_on(tx.execute("DELETE FROM evidence_settings", &[]))?;
        let report = source.snapshot(|dump| {
            let mut tables = Vec::new();
            for table in TABLES {
                let names: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
                let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
                let sql =
                    format!("INSERT INTO {} ({}) VALUES ({})", table.name, names.join(", "), placeholders.join(", "));
                let statement = rt.block_on(tx.prepare(&sql))?;
                let copied = dump.rows(table, |cells| {
                    let params = cells
                        .into_iter()
                        .zip(table.columns)
                        .map(|(cell, (column, kind))| param(cell, *kind, table.name, column))
                        .collect::<StoreResult<Vec<_>>>()?;
                    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
                    rt.block_on(tx.execute(&statement, &refs))?;
                    Ok(())
                })?;
                // The check: as many rows here as there.
                let here: i64 = rt.block_on(tx.query_one(&format!("SELECT COUNT(*) FROM {}", table.name), &[]))?.get(0);
                let there = dump.count(table.name)?;
                if here as u64 != there || copied != there {
                    return Err(StoreError::Transfer(format!(
                        "{}: {there} rows in the file, {copied} read, {here} in PostgreSQL",
                        table.name
                    )));
                }
                tables.push((table.name.to_owned(), copied));
            }
            // The check: every document loads on both sides with the same heads.
            let mut households_checked = 0;
            let households = TABLES
                .iter()
                .find(|t| t.name == "households")
                .ok_or_else(|| StoreError::Transfer("no households table".into()))?;
            dump.rows(households, |cells| {
                let (Some(Cell::Text(id)), Some(Cell::Blob(bytes))) = (cells.first(), cells.get(1)) else {
                    return Err(StoreError::Transfer("a household row without id or document".into()));
                };
                let row = rt.block_on(tx.query_one("SELECT doc FROM households WHERE id = $1", &[id]))?;
                let copied: Vec<u8> = row.get(0);
                let (a, b) = (parse_doc(id, bytes)?, parse_doc(id, &copied)?);
                if a.heads() != b.heads() {
                    return Err(StoreError::Transfer(format!("household {id}: the copy has other heads")));
                }
                households_checked += 1;
                Ok(())
            })?;
            Ok(Report { tables, households_checked, seconds: 0 })
        })?;
        rt.block_on(tx.commit())?;
        Ok(report)
    }
}
