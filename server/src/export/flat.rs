//! `export.csv`'s table: one row per present member with the period's visit and
//! employment, flat, as the county office's older layout has it.

use shared::Period;

use super::rows::{Loaded, id_number, job_cells, present};
use super::table::{Cell, Table};

/// `export.csv`'s header (the county office's flat layout).
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

/// `export.csv`: one row per present member with the period's visit and employment.
pub fn table(households: &[Loaded], period: Period, unmask: bool) -> Table {
    let mut t = Table::new("export", HEADER);
    let key = period.to_string();
    let as_of = period.last_day();
    for (id, h) in households {
        let visit = h.visits.get(&key);
        let f = &h.facts;
        for (mid, m) in present(h) {
            let e = visit.and_then(|v| v.employment.get(mid)).cloned().unwrap_or_default();
            let mut row = vec![
                key.as_str().into(),
                id.into(),
                (&f.county).into(),
                (&f.township).into(),
                (&f.site).into(),
                (&f.grid).into(),
                (&f.address).into(),
                Cell::zh(visit.and_then(|v| v.mode)),
                visit.and_then(|v| v.date).into(),
                mid.into(),
                (&m.name).into(),
                Cell::zh(m.sex),
                m.birth_date.into(),
                Cell::zh(m.relation),
                id_number(m, unmask),
                Cell::zh(m.labour),
                Cell::yes_no(m.is_labour_force(as_of)),
            ];
            row.extend(job_cells(&e));
            t.push(row);
        }
    }
    t
}
