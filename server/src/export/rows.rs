//! The workbook's tables, built from household documents: the four sheets of the
//! monthly report (户表, 成员, 就业, 指标), the same for XLSX and CSV.

use std::collections::BTreeMap;

use shared::evidence::EvidenceKind;
use shared::idcard::mask_id_number;
use shared::indicators::{Indicators, Summary};
use shared::{Coded, Household, Member, Period, Settings};

use super::table::{Cell, Table};

/// A household in scope: its id (户编码) and its record.
pub type Loaded = (String, Household);

/// A sheet of the workbook, in workbook order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sheet {
    /// 户表: one row per household.
    Households,
    /// 成员: one row per present member.
    Members,
    /// 就业: one row per employment record of the period's visit.
    Employment,
    /// 指标: one row per site and a total.
    Indicators,
    /// 监测帮扶: one row per step of each case.
    Cases,
    /// 帮扶措施: one row per help measure.
    Measures,
}

impl Sheet {
    /// Every sheet, in workbook order.
    pub const ALL: [Sheet; 6] =
        [Sheet::Households, Sheet::Members, Sheet::Employment, Sheet::Indicators, Sheet::Cases, Sheet::Measures];

    /// The name in `/api/export/{name}.csv`.
    pub fn slug(self) -> &'static str {
        match self {
            Sheet::Households => "households",
            Sheet::Members => "members",
            Sheet::Employment => "employment",
            Sheet::Indicators => "indicators",
            Sheet::Cases => "cases",
            Sheet::Measures => "measures",
        }
    }

    /// The sheet for a slug.
    pub fn from_slug(slug: &str) -> Option<Sheet> {
        Sheet::ALL.into_iter().find(|s| s.slug() == slug)
    }

    /// Builds this sheet for `households` (in scope, in site/grid/id order).
    pub fn build(self, households: &[Loaded], period: Period, unmask: bool, settings: &Settings) -> Table {
        match self {
            Sheet::Households => household_table(households, period, settings),
            Sheet::Members => member_table(households, period, unmask),
            Sheet::Employment => employment_table(households, period),
            Sheet::Indicators => indicator_table(households, period, settings),
            Sheet::Cases => super::monitoring::case_table(households),
            Sheet::Measures => super::monitoring::measure_table(households),
        }
    }
}

/// 户表 header.
pub const HOUSEHOLD_HEADER: &[&str] = &[
    "户编码",
    "县",
    "乡镇",
    "安置点",
    "网格",
    "住址",
    "户主",
    "户类型",
    "监测对象类型",
    "在册人数",
    "劳动力人数",
    "本月走访方式",
    "走访日期",
    "走访干部",
    "就业人数",
    "零就业家庭",
    "月工资性收入",
    "年人均纯收入",
    "两不愁三保障预警",
    "风险信号",
    "佐证照片数",
    "户主签字确认",
    "走访定位",
];

/// 成员 header.
pub const MEMBER_HEADER: &[&str] =
    &["户编码", "成员编号", "姓名", "性别", "出生日期", "与户主关系", "身份证号", "劳动能力", "是否劳动力"];

/// 就业 header.
pub const EMPLOYMENT_HEADER: &[&str] = &[
    "户编码",
    "成员编号",
    "姓名",
    "就业状态",
    "就业渠道",
    "行业",
    "务工地点范围",
    "务工地点",
    "用工单位",
    "月收入(元)",
    "当月返乡",
];

/// 指标 header.
pub const INDICATOR_HEADER: &[&str] = &[
    "范围",
    "户数",
    "走访户数",
    "户户见覆盖率",
    "户主签字确认户数",
    "劳动力",
    "就业劳动力",
    "劳动力就业率",
    "零就业家庭",
    "一户一人就业率",
    "低收入有劳动力户",
    "两不愁三保障预警",
    "人均纯收入",
    "人均纯收入增长",
];

/// The 合计 row's label in 指标.
pub const TOTAL: &str = "合计";

/// The ID number, masked unless `unmask`.
pub(super) fn id_number(m: &Member, unmask: bool) -> Cell {
    if unmask { m.id_number.as_str().into() } else { mask_id_number(&m.id_number).into() }
}

/// The members still living in the household.
pub(super) fn present(h: &Household) -> impl Iterator<Item = (&String, &Member)> {
    h.members.iter().filter(|(_, m)| m.is_present())
}

fn household_table(households: &[Loaded], period: Period, settings: &Settings) -> Table {
    let mut t = Table::new("户表", HOUSEHOLD_HEADER);
    let key = period.to_string();
    for (id, h) in households {
        let s = Summary::of(h, period, settings);
        let visit = h.visits.get(&key);
        // Employment figures exist only for a recorded visit; otherwise they stay empty.
        let recorded = |cell: Cell| if s.recorded { cell } else { Cell::Empty };
        let visitors: Vec<&str> = visit.map(|v| v.visitors.values().map(String::as_str).collect()).unwrap_or_default();
        let risks: Vec<&str> = visit.map(|v| v.risks.iter().map(|r| r.zh()).collect()).unwrap_or_default();
        let f = &h.facts;
        t.push(vec![
            id.into(),
            (&f.county).into(),
            (&f.township).into(),
            (&f.site).into(),
            (&f.grid).into(),
            (&f.address).into(),
            h.head_name().into(),
            Cell::zh(f.category),
            Cell::zh(f.monitoring),
            s.present_members.into(),
            s.labour_force.into(),
            Cell::zh(s.visit_mode),
            visit.and_then(|v| v.date).into(),
            visitors.join("、").into(),
            recorded(s.employed_people.into()),
            recorded(Cell::yes_no(s.zero_employment)),
            visit.and_then(|v| v.income.wage).into(),
            s.per_capita_income.into(),
            Cell::yes_no(s.guarantee_alert),
            risks.join("、").into(),
            visit
                .map(|v| v.evidence().iter().filter(|(_, a)| a.kind != Some(EvidenceKind::Signature)).count() as i64)
                .into(),
            visit.map(|v| Cell::yes_no(v.signed_at().is_some())).unwrap_or(Cell::Empty),
            visit
                .and_then(|v| {
                    let acc = v.location.accuracy.map(|a| format!(" ±{a}m")).unwrap_or_default();
                    v.location.degrees().map(|(lat, lon)| format!("{lat:.6}, {lon:.6}{acc}"))
                })
                .into(),
        ]);
    }
    t
}

fn member_table(households: &[Loaded], period: Period, unmask: bool) -> Table {
    let mut t = Table::new("成员", MEMBER_HEADER);
    let as_of = period.last_day();
    for (id, h) in households {
        for (mid, m) in present(h) {
            t.push(vec![
                id.into(),
                mid.into(),
                (&m.name).into(),
                Cell::zh(m.sex),
                m.birth_date.into(),
                Cell::zh(m.relation),
                id_number(m, unmask),
                Cell::zh(m.labour),
                Cell::yes_no(m.is_labour_force(as_of)),
            ]);
        }
    }
    t
}

/// One member's employment, 就业状态 to 当月返乡: the columns 就业 and `export.csv` share.
pub fn job_cells(e: &shared::Employment) -> [Cell; 8] {
    [
        Cell::zh(e.status),
        Cell::zh(e.channel),
        (&e.industry).into(),
        Cell::zh(e.place_scope),
        (&e.place).into(),
        (&e.employer).into(),
        e.monthly_income.into(),
        e.returned.map(Cell::yes_no).into(),
    ]
}

fn employment_table(households: &[Loaded], period: Period) -> Table {
    let mut t = Table::new("就业", EMPLOYMENT_HEADER);
    let key = period.to_string();
    for (id, h) in households {
        let Some(visit) = h.visits.get(&key) else { continue };
        for (mid, e) in &visit.employment {
            let mut row = vec![id.into(), mid.into(), h.members.get(mid).map(|m| m.name.as_str()).into()];
            row.extend(job_cells(e));
            t.push(row);
        }
    }
    t
}

fn indicator_row(scope: &str, i: &Indicators) -> Vec<Cell> {
    vec![
        scope.into(),
        i.households.into(),
        i.visited_in_person.into(),
        Cell::rate(i.coverage()),
        i.signed.into(),
        i.labour_force.into(),
        i.employed_labour.into(),
        Cell::rate(i.employment_rate()),
        i.zero_employment.into(),
        Cell::rate(i.one_in_work_rate()),
        i.low_income_labour.into(),
        i.guarantee_alerts.into(),
        i.per_capita_income().map(|p| p.round() as i64).into(),
        Cell::rate(i.per_capita_income_growth()),
    ]
}

fn indicator_table(households: &[Loaded], period: Period, settings: &Settings) -> Table {
    let mut t = Table::new("指标", INDICATOR_HEADER);
    let mut by_site: BTreeMap<&str, Indicators> = BTreeMap::new();
    let mut total = Indicators::default();
    for (_, h) in households {
        let s = Summary::of(h, period, settings);
        by_site.entry(h.facts.site.as_str()).or_default().add(&s);
        total.add(&s);
    }
    for (site, i) in &by_site {
        t.push(indicator_row(site, i));
    }
    t.push(indicator_row(TOTAL, &total));
    t
}
