//! Roster import (花名册导入) from CSV: one row per member, household facts repeated on
//! each row of the household. UTF-8, with or without BOM; headers in English or
//! Chinese. Every bad row is reported with its line number and reason, and then
//! nothing of the file is imported.

use std::collections::BTreeMap;

use shared::{
    Category, Coded, Date, Household, HouseholdDoc, LabourCapacity, Member, Monitoring, Placement, PlacementArea,
    Relation, Sex, Stamp,
};

use crate::auth::{Role, now};
use crate::error::{AppError, AppResult};
use crate::store::{self, Writer};

/// The columns, as (English header, Chinese header). `registry_no`, `site`, `grid` and
/// `name` are required.
pub const COLUMNS: &[(&str, &str)] = &[
    ("registry_no", "户编码"),
    ("county", "县"),
    ("township", "乡镇"),
    ("site", "安置点"),
    ("grid", "网格"),
    ("address", "住址"),
    ("origin_township", "迁出乡镇"),
    ("origin_village", "迁出村"),
    ("relocated_year", "搬迁年份"),
    ("placement", "安置方式"),
    ("placement_area", "安置区域"),
    ("category", "户类型"),
    ("monitoring", "监测类型"),
    ("dibao", "低保"),
    ("tekun", "特困供养"),
    ("cadre", "帮扶干部"),
    ("member_id", "成员编号"),
    ("name", "姓名"),
    ("sex", "性别"),
    ("birth_date", "出生日期"),
    ("relation", "与户主关系"),
    ("id_number", "身份证号"),
    ("labour", "劳动能力"),
    ("in_school", "在校生"),
    ("disabled", "残疾"),
    ("serious_illness", "大病"),
    ("college_graduate", "高校毕业生"),
    ("vulnerable", "鳏寡孤独残"),
];

/// One reason a row was refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowError {
    /// Line in the file (1 = the header).
    pub line: u64,
    /// 中文说明.
    pub zh: String,
    /// English message.
    pub en: String,
}

/// The outcome of an import.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportReport {
    /// Households created or updated.
    pub households: usize,
    /// Member rows read.
    pub members: usize,
}

struct Parsed {
    household: Household,
    first_line: u64,
    cadres: Vec<String>,
    member_lines: BTreeMap<String, u64>,
}

fn coded<T: Coded>(value: &str) -> Option<T> {
    let v = value.trim();
    T::ALL.iter().copied().find(|c| c.code() == v || c.zh() == v || c.en().eq_ignore_ascii_case(v))
}

fn boolean(value: &str) -> Option<bool> {
    match value.trim().to_lowercase().as_str() {
        "" | "否" | "0" | "false" | "no" | "n" => Some(false),
        "是" | "1" | "true" | "yes" | "y" => Some(true),
        _ => None,
    }
}

/// Parses and checks the whole file; returns the households, or every row error.
fn parse(csv_text: &str, cadres: &[String]) -> Result<Vec<Parsed>, Vec<RowError>> {
    let text = csv_text.strip_prefix('\u{feff}').unwrap_or(csv_text);
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let mut errors = Vec::new();
    let err = |line: u64, zh: String, en: String| RowError { line, zh, en };
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![err(1, format!("无法读取表头：{e}"), format!("Cannot read the header: {e}"))]),
    };
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        match COLUMNS.iter().find(|(en, zh)| h.trim() == *en || h.trim() == *zh) {
            Some((en, _)) => {
                index.insert(en, i);
            }
            None => errors.push(err(1, format!("未知列“{h}”"), format!("Unknown column \"{h}\""))),
        }
    }
    for required in ["registry_no", "site", "grid", "name"] {
        if !index.contains_key(required) {
            errors.push(err(1, format!("缺少必填列 {required}"), format!("Missing required column {required}")));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut by_id: BTreeMap<String, Parsed> = BTreeMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(err(line, format!("该行无法解析：{e}"), format!("The row cannot be read: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |col: &str| index.get(col).and_then(|&i| record.get(i)).unwrap_or("").trim().to_owned();
        let mut bad = |zh: String, en: String| errors.push(RowError { line, zh, en });

        let registry_no = get("registry_no");
        if !shared::fields::is_valid_id(&registry_no) {
            bad(format!("户编码“{registry_no}”格式错误"), format!("Registry number \"{registry_no}\" is malformed"));
            continue;
        }
        let entry = by_id.entry(registry_no.clone()).or_insert_with(|| Parsed {
            household: Household::default(),
            first_line: line,
            cadres: Vec::new(),
            member_lines: BTreeMap::new(),
        });
        let h = &mut entry.household;
        // Facts: the first non-empty value wins; a different later value is an error.
        let fact = |slot: &mut String, col: &str, label: &str, bad: &mut dyn FnMut(String, String)| {
            let v = get(col);
            if v.is_empty() {
                return;
            }
            if slot.is_empty() {
                *slot = v;
            } else if *slot != v {
                bad(
                    format!("同一户的{label}不一致（“{slot}”与“{v}”）"),
                    format!("{col} differs within the household (\"{slot}\" vs \"{v}\")"),
                );
            }
        };
        h.facts.registry_no = registry_no.clone();
        fact(&mut h.facts.county, "county", "县", &mut bad);
        fact(&mut h.facts.township, "township", "乡镇", &mut bad);
        fact(&mut h.facts.site, "site", "安置点", &mut bad);
        fact(&mut h.facts.grid, "grid", "网格", &mut bad);
        fact(&mut h.facts.address, "address", "住址", &mut bad);
        fact(&mut h.facts.origin_township, "origin_township", "迁出乡镇", &mut bad);
        fact(&mut h.facts.origin_village, "origin_village", "迁出村", &mut bad);
        if h.facts.site.is_empty() || h.facts.grid.is_empty() {
            bad("安置点和网格必填".into(), "site and grid are required".into());
        }
        let year = get("relocated_year");
        if !year.is_empty() {
            match year.parse::<i64>() {
                Ok(y) if (1980..=2100).contains(&y) => h.facts.relocated_year = Some(y),
                _ => bad(format!("搬迁年份“{year}”不是有效年份"), format!("relocated_year \"{year}\" is not a year")),
            }
        }
        macro_rules! coded_fact {
            ($slot:expr, $col:literal, $ty:ty) => {{
                let v = get($col);
                if !v.is_empty() {
                    match coded::<$ty>(&v) {
                        Some(c) => $slot = Some(c),
                        None => bad(
                            format!(
                                "{}“{v}”不是可选值之一：{}",
                                $col,
                                <$ty>::ALL.iter().map(|c| c.zh()).collect::<Vec<_>>().join("、")
                            ),
                            format!(
                                "{} \"{v}\" is not one of: {}",
                                $col,
                                <$ty>::ALL.iter().map(|c| c.code()).collect::<Vec<_>>().join(", ")
                            ),
                        ),
                    }
                }
            }};
        }
        coded_fact!(h.facts.placement, "placement", Placement);
        coded_fact!(h.facts.placement_area, "placement_area", PlacementArea);
        coded_fact!(h.facts.category, "category", Category);
        coded_fact!(h.facts.monitoring, "monitoring", Monitoring);
        for (slot, col) in [(&mut h.facts.dibao, "dibao"), (&mut h.facts.tekun, "tekun")] {
            match boolean(&get(col)) {
                Some(b) => *slot |= b,
                None => bad(format!("{col} 应填 是/否"), format!("{col} must be yes/no")),
            }
        }
        for cadre in get("cadre").split([';', '；']).map(str::trim).filter(|c| !c.is_empty()) {
            if !cadres.iter().any(|c| c == cadre) {
                bad(format!("帮扶干部账号“{cadre}”不存在"), format!("Cadre login \"{cadre}\" does not exist"));
            } else if !entry.cadres.iter().any(|c| c == cadre) {
                entry.cadres.push(cadre.to_owned());
            }
        }

        // A missing name is reported by shared::validate below, with the other rules.
        let mut m = Member { name: get("name"), ..Default::default() };
        coded_fact!(m.sex, "sex", Sex);
        coded_fact!(m.relation, "relation", Relation);
        coded_fact!(m.labour, "labour", LabourCapacity);
        let birth = get("birth_date");
        if !birth.is_empty() {
            match birth.parse::<Date>() {
                Ok(d) => m.birth_date = Some(d),
                Err(_) => bad(
                    format!("出生日期“{birth}”应为 YYYY-MM-DD"),
                    format!("birth_date \"{birth}\" must be YYYY-MM-DD"),
                ),
            }
        }
        m.id_number = get("id_number").to_uppercase();
        for (slot, col) in [
            (&mut m.in_school, "in_school"),
            (&mut m.disabled, "disabled"),
            (&mut m.serious_illness, "serious_illness"),
            (&mut m.college_graduate, "college_graduate"),
            (&mut m.vulnerable, "vulnerable"),
        ] {
            match boolean(&get(col)) {
                Some(b) => *slot = b,
                None => bad(format!("{col} 应填 是/否"), format!("{col} must be yes/no")),
            }
        }
        let member_id = match get("member_id") {
            id if id.is_empty() => format!("m{}", entry.member_lines.len() + 1),
            id => id,
        };
        if !shared::fields::is_valid_id(&member_id) || entry.member_lines.contains_key(&member_id) {
            bad(
                format!("成员编号“{member_id}”格式错误或重复"),
                format!("member_id \"{member_id}\" is malformed or repeated"),
            );
        }
        entry.member_lines.insert(member_id.clone(), line);
        entry.household.members.insert(member_id, m);
    }
    // The questionnaire's own rules on what was read (ID numbers, birth dates, heads).
    let today = Date::in_china(now());
    for p in by_id.values() {
        for problem in shared::validate(&p.household, today) {
            if problem.severity != shared::Severity::Error {
                continue;
            }
            let member = problem.path.strip_prefix("m/").and_then(|r| r.split('/').next());
            let line = member.and_then(|m| p.member_lines.get(m)).copied().unwrap_or(p.first_line);
            errors.push(RowError { line, zh: problem.zh, en: problem.en });
        }
    }
    if errors.is_empty() {
        Ok(by_id.into_values().collect())
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

/// Imports a roster in one transaction, as `stamp`'s author. On any row error nothing
/// is imported and every error is returned.
pub fn import(w: &mut dyn Writer, csv_text: &str, stamp: &Stamp) -> AppResult<Result<ImportReport, Vec<RowError>>> {
    let cadres = w.logins_with_role(Role::Cadre)?;
    let parsed = match parse(csv_text, &cadres) {
        Ok(p) => p,
        Err(errors) => return Ok(Err(errors)),
    };
    let at = now();
    let today = Date::in_china(at);
    let mut members = 0;
    for p in &parsed {
        let id = &p.household.facts.registry_no;
        // A household another import may be creating at this moment (PostgreSQL).
        w.lock_households(&store::Scope::All, &[id.as_str()])?;
        let mut doc = match w.load_doc(id)? {
            Some(d) => d,
            None => HouseholdDoc::create(id, store::server_actor(), stamp).map_err(AppError::internal)?,
        };
        doc.edit(stamp, |h| {
            let f = &p.household.facts;
            h.facts = shared::Facts { monitoring: f.monitoring.or(h.facts.monitoring), ..f.clone() };
            for (mid, m) in &p.household.members {
                h.members.insert(mid.clone(), m.clone());
            }
        })
        .map_err(AppError::internal)?;
        let household = doc.household().map_err(AppError::internal)?;
        w.save_doc(id, &doc, &household, today, at)?;
        for cadre in &p.cadres {
            w.assign(id, cadre)?;
        }
        members += p.household.members.len();
    }
    w.audit(at, &stamp.author.user, "import_roster", &format!("{} households, {members} members", parsed.len()))?;
    Ok(Ok(ImportReport { households: parsed.len(), members }))
}
