//! Moving a county up: `server migrate --from county.sqlite3 --to postgres://…` copies
//! every table of the SQLite file into an empty PostgreSQL database in one
//! transaction (users with their password hashes and throttling, sessions, households
//! with their projections, assignments, sync states, the change log, retired
//! documents and the audit log), then checks the copy before committing it: the same number of rows in every
//! table, and every household's document loads on both sides with the same heads.
//! Sessions and sync states come along, so phones stay logged in and carry on
//! syncing without sending again what the SQLite server had. Kept per-grid totals are
//! a cache and are not copied; `areas` is counted by the triggers as households
//! arrive.

use std::path::Path;
use std::time::Instant;

use super::{StoreError, StoreResult};

/// A value on its way from one engine to the other.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// An integer (SQLite stores flags as 0 and 1).
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

/// How a column is typed in PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `BIGINT`
    Int,
    /// `TEXT`
    Text,
    /// `BYTEA`
    Blob,
    /// `BOOLEAN` (an integer 0 or 1 in SQLite)
    Bool,
}

/// A table to copy: its name, its columns and the order rows are read in.
#[derive(Debug)]
pub struct Table {
    /// Name (the same in both engines).
    pub name: &'static str,
    /// Columns with their PostgreSQL kinds.
    pub columns: &'static [(&'static str, Kind)],
    /// `ORDER BY` of the read (rows that others reference come first).
    pub order_by: &'static str,
}

use Kind::{Blob, Bool, Int, Text};

/// Every table copied, in an order that satisfies the foreign keys.
pub const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            ("id", Text),
            ("name", Text),
            ("role", Text),
            ("area_kind", Text),
            ("area", Text),
            ("password_hash", Text),
            ("failed_logins", Int),
            ("locked_until", Int),
            ("created_at", Int),
            ("disabled", Bool),
            ("phone", Text),
        ],
        order_by: "id",
    },
    Table {
        name: "households",
        columns: &[
            ("id", Text),
            ("doc", Blob),
            ("doc_changes", Int),
            ("heads", Blob),
            ("updated_at", Int),
            ("county", Text),
            ("township", Text),
            ("site", Text),
            ("grid", Text),
            ("head_name", Text),
            ("address", Text),
            ("last_visit", Text),
            ("last_mode", Text),
            ("members", Int),
            ("conflicts", Int),
            ("problems", Int),
            ("rewritten_at", Int),
            ("case_status", Text),
            ("id_numbers", Text),
        ],
        order_by: "id",
    },
    Table {
        name: "assignments",
        columns: &[("household_id", Text), ("user_id", Text)],
        order_by: "household_id, user_id",
    },
    Table {
        name: "summaries",
        columns: &[
            ("household_id", Text),
            ("period", Text),
            ("visited_in_person", Bool),
            ("zero_employment", Bool),
            ("low_income_labour", Bool),
            ("guarantee_alert", Bool),
            ("new_risk", Bool),
            ("monitored", Bool),
            ("summary", Blob),
            ("review", Text),
            ("must_visit", Bool),
            ("signed", Bool),
        ],
        order_by: "household_id, period",
    },
    Table {
        name: "sessions",
        columns: &[
            ("token_hash", Blob),
            ("user_id", Text),
            ("device_id", Text),
            ("created_at", Int),
            ("expires_at", Int),
        ],
        order_by: "token_hash",
    },
    Table {
        name: "sync_states",
        columns: &[("device_id", Text), ("household_id", Text), ("state", Blob)],
        order_by: "device_id, household_id",
    },
    Table {
        name: "change_log",
        columns: &[
            ("hash", Blob),
            ("household_id", Text),
            ("uploaded_by", Text),
            ("device_id", Text),
            ("received_at", Int),
        ],
        order_by: "hash",
    },
    Table {
        name: "retired_docs",
        columns: &[("household_id", Text), ("retired_at", Int), ("retired_by", Text), ("doc", Blob), ("hashes", Blob)],
        order_by: "household_id, retired_at",
    },
    Table {
        name: "phones",
        columns: &[
            ("user_id", Text),
            ("device_id", Text),
            ("app_version", Text),
            ("unsynced", Int),
            ("oldest_unsynced_at", Int),
            ("persisted", Bool),
            ("storage_used", Int),
            ("storage_quota", Int),
            ("reported_at", Int),
            ("synced_at", Int),
        ],
        order_by: "user_id, device_id",
    },
    Table {
        name: "settings",
        columns: &[
            ("year", Int),
            ("monitoring_line", Int),
            ("low_income_target", Int),
            ("expense_share_percent", Int),
            ("updated_by", Text),
            ("updated_at", Int),
            ("baseline", Text),
        ],
        order_by: "year",
    },
    Table {
        name: "evidence_settings",
        columns: &[("id", Int), ("photos", Bool), ("signature", Bool), ("location", Bool)],
        order_by: "id",
    },
    Table {
        name: "audit_log",
        columns: &[("at", Int), ("user_id", Text), ("action", Text), ("detail", Text)],
        order_by: "id",
    },
];

/// What a move did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Rows copied per table, in copy order.
    pub tables: Vec<(String, u64)>,
    /// Households whose document was loaded on both sides and found with the same heads.
    pub households_checked: u64,
    /// Seconds it took.
    pub seconds: u64,
}

/// Copies the SQLite file `from` into the empty PostgreSQL database `to` (migrated
/// first), checks the copy and commits it; on any difference nothing is committed.
pub async fn sqlite_to_postgres(from: &Path, to: &str) -> StoreResult<Report> {
    let started = Instant::now();
    if !from.exists() {
        return Err(StoreError::Transfer(format!("{} does not exist", from.display())));
    }
    let source = super::sqlite::Sqlite::open(from)?;
    let target = super::postgres::Postgres::open(to).await?;
    let mut report = tokio::task::spawn_blocking(move || target.copy_from(&source))
        .await
        .map_err(|e| StoreError::Transfer(e.to_string()))??;
    report.seconds = started.elapsed().as_secs();
    Ok(report)
}
