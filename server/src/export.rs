//! `GET /api/export.csv?period=`: the period's members and their employment, one row
//! per present member, UTF-8 with a BOM so Excel opens it. ID numbers are masked unless
//! an admin asks for `unmask=1`, which is written to the audit log.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use rusqlite::params;
use shared::idcard::mask_id_number;
use shared::{Coded, Date, Period};

use crate::auth::{Role, Session, now, scope_filter};
use crate::error::{AppError, AppResult};
use crate::{AppState, store};

/// Query of the export.
#[derive(Debug, serde::Deserialize)]
pub struct ExportQuery {
    /// `YYYY-MM`; default: the current period.
    pub period: Option<String>,
    /// `1`: full ID numbers (admins only).
    pub unmask: Option<u8>,
}

/// The header row, Chinese (the county office's layout).
pub const HEADER: &[&str] = &[
    "监测期",
    "户编码",
    "县",
    "乡镇",
    "安置点",
    "网格",
    "住址",
    "走访方式",
    "走访日期",
    "成员编号",
    "姓名",
    "性别",
    "出生日期",
    "与户主关系",
    "身份证号",
    "劳动能力",
    "是否劳动力",
    "就业状态",
    "就业渠道",
    "行业",
    "务工地点范围",
    "务工地点",
    "用工单位",
    "月收入(元)",
    "当月返乡",
];

fn label<T: Coded>(v: Option<T>) -> String {
    v.map(|c| c.zh().to_owned()).unwrap_or_default()
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "是",
        Some(false) => "否",
        None => "",
    }
}

/// The handler.
pub async fn export_csv(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ExportQuery>,
) -> AppResult<impl IntoResponse> {
    if session.user.role == Role::Cadre {
        return Err(AppError::forbidden("仅督导和管理员可导出", "Only supervisors and admins can export"));
    }
    let unmask = q.unmask == Some(1);
    if unmask && session.user.role != Role::Admin {
        return Err(AppError::forbidden("仅管理员可导出完整身份证号", "Only an admin can export full ID numbers"));
    }
    let period =
        crate::reads::period_param(q.period.as_deref(), Period::of(Date::in_china(now())), "监测期", "Period")?;
    let user = session.user.clone();
    let body = state
        .db
        .run(move |conn| {
            let (scope, param) = scope_filter(&user);
            let sql = format!("SELECT h.id FROM households h WHERE {scope} ORDER BY h.site, h.grid, h.id");
            let ids: Vec<String> = conn
                .prepare(&sql)?
                .query_map(rusqlite::params_from_iter(param.iter()), |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut out = csv::Writer::from_writer(Vec::from("\u{feff}".as_bytes()));
            let csv_err = |e: csv::Error| AppError::internal(e);
            out.write_record(HEADER).map_err(csv_err)?;
            let key = period.to_string();
            let as_of = period.last_day();
            for id in &ids {
                let Some(doc) = store::load_doc(conn, id)? else { continue };
                let h = doc.household().map_err(AppError::internal)?;
                let visit = h.visits.get(&key);
                for (mid, m) in h.members.iter().filter(|(_, m)| m.is_present()) {
                    let e = visit.and_then(|v| v.employment.get(mid)).cloned().unwrap_or_default();
                    let id_number = if unmask { m.id_number.clone() } else { mask_id_number(&m.id_number) };
                    out.write_record([
                        key.clone(),
                        id.clone(),
                        h.facts.county.clone(),
                        h.facts.township.clone(),
                        h.facts.site.clone(),
                        h.facts.grid.clone(),
                        h.facts.address.clone(),
                        label(visit.and_then(|v| v.mode)),
                        visit.and_then(|v| v.date).map(|d| d.to_string()).unwrap_or_default(),
                        mid.clone(),
                        m.name.clone(),
                        label(m.sex),
                        m.birth_date.map(|d| d.to_string()).unwrap_or_default(),
                        label(m.relation),
                        id_number,
                        label(m.labour),
                        if m.is_labour_force(as_of) { "是" } else { "否" }.to_owned(),
                        label(e.status),
                        label(e.channel),
                        e.industry.clone(),
                        label(e.place_scope),
                        e.place.clone(),
                        e.employer.clone(),
                        e.monthly_income.map(|i| i.to_string()).unwrap_or_default(),
                        yes_no(e.returned).to_owned(),
                    ])
                    .map_err(csv_err)?;
                }
            }
            if unmask {
                conn.execute(
                    "INSERT INTO audit_log (at, user_id, action, detail) VALUES (?1, ?2, 'export_unmasked', ?3)",
                    params![now(), user.id, format!("period {key}, {} households", ids.len())],
                )?;
                tracing::warn!(user = %user.id, period = %key, "unmasked export");
            }
            out.into_inner().map_err(|e| AppError::internal(e.to_string()))
        })
        .await?;
    let filename = format!("attachment; filename=\"huhujian-{period}.csv\"");
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, filename)], body))
}
