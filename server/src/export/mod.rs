//! The period exports a county office pastes into its monthly report: `export.csv` (the
//! flat members table), `export.xlsx` (户表, 成员, 就业, 指标) and `export/{sheet}.csv`.
//!
//! Every export reads the documents in the caller's scope once, builds report tables
//! (`rows`, typed cells in `table`) and renders them (`xlsx`, `csv`), so a sheet and its
//! CSV cannot disagree. Cadres may not export; ID numbers are masked unless an admin
//! asks for `unmask=1`, which is written to `audit_log` (the log names no ID number).

mod csv;
pub mod flat;
mod monitoring;
pub mod rows;
pub mod table;
mod xlsx;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use shared::api::ErrorCode;
use shared::{Period, Settings};

use self::rows::{Loaded, Sheet};
use self::table::Table;
use crate::AppState;
use crate::api::{current_period, period_param};
use crate::auth::{Role, Session, now};
use crate::error::{AppError, AppResult};
use crate::store::{Reader, Selection, StoreError, StoreResult};

/// Query of the exports.
#[derive(Debug, serde::Deserialize)]
pub struct ExportQuery {
    /// `YYYY-MM`; default: the current period.
    pub period: Option<String>,
    /// `1`: full ID numbers (admins only).
    pub unmask: Option<u8>,
}

/// The XLSX media type.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const CSV_TYPE: &str = "text/csv; charset=utf-8";

/// Every household of `selection`, in site, grid, id order, and the registry numbers
/// of those whose stored document is damaged: they are logged and left out, the rest
/// are exported, and the answer names them ([`crate::api::Skipped`]).
fn load(r: &mut dyn Reader, selection: &Selection) -> StoreResult<(Vec<Loaded>, Vec<String>, Settings)> {
    let settings = r.settings()?;
    let ids = r.household_ids(selection)?;
    let (mut out, mut skipped) = (Vec::with_capacity(ids.len()), Vec::new());
    for id in ids {
        let doc = match r.load_doc(&id) {
            Ok(Some(doc)) => doc,
            Ok(None) => continue,
            Err(e @ StoreError::Corrupt { .. }) => {
                tracing::error!(household = %id, error = %e, "export: household skipped");
                skipped.push(id);
                continue;
            }
            Err(e) => return Err(e),
        };
        match doc.household() {
            Ok(h) => out.push((id, h)),
            Err(e) => {
                tracing::error!(household = %id, error = %e, "export: household skipped");
                skipped.push(id);
            }
        }
    }
    Ok((out, skipped, settings))
}

/// The sheet listing the households left out of a workbook (none: no sheet).
fn skipped_sheet(skipped: &[String]) -> Option<Table> {
    if skipped.is_empty() {
        return None;
    }
    let mut t = Table::new("未导出的户", &["户编码", "原因"]);
    for id in skipped {
        t.push(vec![id.into(), "服务器上该户的记录已损坏，请管理员从备份恢复 / the stored record is damaged".into()]);
    }
    Some(t)
}

/// Checks who may export what, reads the scope and makes the file with `make`, all of it
/// as bulk work (`crate::bulk`: a whole county's export yields the cores to syncs);
/// `what` names the export in the audit log. Also the households left out as damaged.
async fn exported<F>(
    state: &AppState,
    session: &Session,
    q: &ExportQuery,
    what: impl Into<String>,
    make: F,
) -> AppResult<(Period, Vec<u8>, Vec<String>)>
where
    F: FnOnce(&[Loaded], Period, bool, &Settings, &[String]) -> AppResult<Vec<u8>> + Send + 'static,
{
    if session.user.role == Role::Cadre {
        return Err(AppError::forbidden("仅督导和管理员可导出", "Only supervisors and admins can export"));
    }
    let unmask = q.unmask == Some(1);
    if unmask && session.user.role != Role::Admin {
        return Err(AppError::forbidden("仅管理员可导出完整身份证号", "Only an admin can export full ID numbers"));
    }
    let period = period_param(q.period.as_deref(), current_period(), "监测期", "Period")?;
    let user = session.user.clone();
    let what: String = what.into();
    // On a reader: an export of the whole county never holds up a sync.
    let selection = Selection::of(&user);
    let (households, skipped, settings) = state.store.read_long(move |r| load(r, &selection)).await?;
    if unmask {
        let detail = format!("{what}, period {period}, {} households", households.len());
        let login = user.id.clone();
        state.store.write(move |w| w.audit(now(), &login, "export_unmasked", &detail)).await?;
        tracing::warn!(user = %user.id, period = %period, export = %what, "unmasked export");
    }
    let (body, skipped) = crate::bulk::run(move || {
        let body = make(&households, period, unmask, &settings, &skipped);
        (body, skipped)
    })
    .await
    .map_err(AppError::internal)?;
    Ok((period, body?, skipped))
}

/// A download, naming the households left out (`X-Skipped-Households`).
fn attachment(content_type: &str, filename: String, body: Vec<u8>, skipped: &[String]) -> impl IntoResponse + use<> {
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        crate::api::Skipped::header(skipped),
        [(header::CONTENT_TYPE, content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
}

/// `GET /api/export.csv?period=&unmask=`: one row per present member with the period's
/// visit and employment.
pub async fn export_csv(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ExportQuery>,
) -> AppResult<impl IntoResponse> {
    let (period, body, skipped) = exported(&state, &session, &q, "export.csv", |hs, p, unmask, _, _| {
        Ok(csv::render(&flat::table(hs, p, unmask))?)
    })
    .await?;
    Ok(attachment(CSV_TYPE, format!("huhujian-{period}.csv"), body, &skipped))
}

/// `GET /api/export.xlsx?period=&unmask=`: the workbook 户表, 成员, 就业, 指标.
pub async fn export_xlsx(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ExportQuery>,
) -> AppResult<impl IntoResponse> {
    let (period, body, skipped) = exported(&state, &session, &q, "export.xlsx", |hs, p, unmask, settings, skipped| {
        let mut tables: Vec<Table> = Sheet::ALL.iter().map(|s| s.build(hs, p, unmask, settings)).collect();
        tables.extend(skipped_sheet(skipped));
        xlsx::render(&tables)
    })
    .await?;
    Ok(attachment(XLSX_TYPE, format!("huhujian-{period}.xlsx"), body, &skipped))
}

/// `GET /api/export/{sheet}.csv?period=&unmask=`: one sheet of the workbook as CSV;
/// sheet = `households`, `members`, `employment` or `indicators`.
pub async fn export_sheet_csv(
    State(state): State<AppState>,
    session: Session,
    Path(file): Path<String>,
    Query(q): Query<ExportQuery>,
) -> AppResult<impl IntoResponse> {
    let sheet = file.strip_suffix(".csv").and_then(Sheet::from_slug).ok_or_else(|| {
        AppError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("没有导出表“{file}”，可选 households、members、employment、indicators、cases、measures（.csv）"),
            format!("No export \"{file}\"; use households, members, employment, indicators, cases or measures (.csv)"),
        )
    })?;
    let what = format!("export/{}.csv", sheet.slug());
    let (period, body, skipped) = exported(&state, &session, &q, what, move |hs, p, unmask, settings, _| {
        Ok(csv::render(&sheet.build(hs, p, unmask, settings))?)
    })
    .await?;
    Ok(attachment(CSV_TYPE, format!("huhujian-{period}-{}.csv", sheet.slug()), body, &skipped))
}
