//! The workbook's 监测帮扶 sheets: one row per step of each household's case (who, when,
//! why, the type it was included as), and one row per entry of the ledger of help
//! measures, the household's case status beside each.

use shared::Coded;

use super::rows::Loaded;
use super::table::Table;

/// 监测帮扶 header.
pub const CASE_HEADER: &[&str] =
    &["户编码", "户主", "安置点", "监测状态", "步骤", "日期", "操作人", "线索来源", "监测类型", "说明"];

/// 帮扶措施 header.
pub const MEASURE_HEADER: &[&str] =
    &["户编码", "户主", "安置点", "监测状态", "措施类别", "开始日期", "结束日期", "金额", "提供单位", "备注", "登记人"];

/// One row per case step, households in order, steps in the order taken.
pub fn case_table(households: &[Loaded]) -> Table {
    let mut t = Table::new("监测帮扶", CASE_HEADER);
    for (id, h) in households {
        let status = h.case.status.map(|s| s.zh());
        for (_, s) in h.case.thread() {
            t.push(vec![
                id.into(),
                h.head_name().into(),
                h.facts.site.as_str().into(),
                status.into(),
                s.act.map(|a| a.zh()).into(),
                s.on.into(),
                s.name.as_str().into(),
                s.source.map(|x| x.zh()).into(),
                s.kind.map(|k| k.zh()).into(),
                s.text.as_str().into(),
            ]);
        }
    }
    t
}

/// One row per help measure, by household then start date.
pub fn measure_table(households: &[Loaded]) -> Table {
    let mut t = Table::new("帮扶措施", MEASURE_HEADER);
    for (id, h) in households {
        let status = h.case.status.map(|s| s.zh());
        let mut measures: Vec<_> = h.measures.iter().collect();
        measures.sort_by_key(|(mid, m)| (m.start, (*mid).clone()));
        for (_, m) in measures {
            t.push(vec![
                id.into(),
                h.head_name().into(),
                h.facts.site.as_str().into(),
                status.into(),
                m.kind.map(|k| k.zh()).into(),
                m.start.into(),
                m.end.into(),
                m.amount.into(),
                m.provider.as_str().into(),
                m.note.as_str().into(),
                m.by.as_str().into(),
            ]);
        }
    }
    t
}
