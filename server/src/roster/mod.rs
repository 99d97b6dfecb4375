//! Roster import (花名册导入): one row per member, household facts repeated on each row
//! of the household; an Excel workbook or a CSV in UTF-8 or GBK (`sheet`); headers in
//! English or Chinese. Every bad row is reported with its row, column and reason, and
//! then nothing of the file is imported.
//!
//! A re-import is safe (issue 16): rows are matched to the members a household has
//! (by 成员编号, else by ID number, else by name and birth date), a value is written
//! only where the sheet gives one (an absent column or an empty cell never clears
//! anything), a member's status (迁出, 已故) is never reset, and members missing from
//! the sheet stay. An import is two steps: [`plan`] shows what would change and a
//! digest of it; [`import_in_chunks`] writes that plan only if the digest still matches,
//! a chunk of households per transaction so that syncs are not held up (`chunked`).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use shared::fields::{MAX_MEMBERS, MAX_TEXT_CHARS};
use shared::{
    Category, Coded, Date, Household, HouseholdDoc, LabourCapacity, Lang, Member, Monitoring, Placement, PlacementArea,
    Relation, Sex, Stamp,
};

use crate::auth::{Role, now};
use crate::denied::{Denied, DeniedResult};
use crate::store::{self, Reader, Writer};

mod chunked;
pub mod clues;
pub mod sheet;
pub use chunked::{IMPORT_CHUNK, import_in_chunks};
pub use shared::api::{FieldChange, ImportReport, RowError};
pub use sheet::Sheet;

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

/// Why an import was not done.
#[derive(Debug)]
pub enum Refused {
    /// Rows that break a rule: nothing imported.
    Rows(Vec<RowError>),
    /// The households or the sheet changed since the preview `confirm` was made for.
    Stale,
    /// An import in chunks (`import_in_chunks`) found a household changed since the
    /// preview (a sync came in): the chunks before it are imported, the rest is not.
    Interrupted {
        /// Households imported.
        imported: usize,
        /// Households in the sheet.
        total: usize,
    },
}

/// A household's facts as the sheet gives them: `None` where it gives nothing.
#[derive(Debug, Default, Clone)]
struct FactRows {
    text: BTreeMap<&'static str, String>,
    relocated_year: Option<i64>,
    placement: Option<Placement>,
    placement_area: Option<PlacementArea>,
    category: Option<Category>,
    monitoring: Option<Monitoring>,
    dibao: Option<bool>,
    tekun: Option<bool>,
}

/// One member row: `None` where the sheet gives nothing.
#[derive(Debug, Default, Clone)]
struct MemberRow {
    line: u64,
    member_id: Option<String>,
    name: Option<String>,
    sex: Option<Sex>,
    birth_date: Option<Date>,
    relation: Option<Relation>,
    id_number: Option<String>,
    labour: Option<LabourCapacity>,
    flags: Vec<(&'static str, bool)>,
}

/// The rows of one household.
#[derive(Debug, Clone)]
struct HouseholdRows {
    registry_no: String,
    first_line: u64,
    facts: FactRows,
    cadres: Vec<String>,
    members: Vec<MemberRow>,
}

/// The household's text facts, by column (their labels are in [`COLUMNS`]).
const TEXT_FACTS: [&str; 7] = ["county", "township", "site", "grid", "address", "origin_township", "origin_village"];

/// The members' yes/no columns.
const MEMBER_FLAGS: [&str; 5] = ["in_school", "disabled", "serious_illness", "college_graduate", "vulnerable"];

fn coded<T: Coded>(value: &str) -> Option<T> {
    let v = value.trim();
    T::ALL.iter().copied().find(|c| c.code() == v || c.zh() == v || c.en().eq_ignore_ascii_case(v))
}

/// A yes/no cell: `Some(None)` when empty (nothing given), `None` when unreadable.
fn boolean(value: &str) -> Option<Option<bool>> {
    match value.trim().to_lowercase().as_str() {
        "" => Some(None),
        "否" | "0" | "false" | "no" | "n" => Some(Some(false)),
        "是" | "1" | "true" | "yes" | "y" => Some(Some(true)),
        _ => None,
    }
}

/// The Chinese header of column `col`.
fn zh_column(col: &str) -> &'static str {
    COLUMNS.iter().find(|(en, _)| *en == col).map_or("", |(_, zh)| zh)
}

/// Reads and checks the whole sheet: the rows of each household in sheet order, and
/// every row error found reading them (with a bad header, no rows).
fn parse(sheet: &Sheet, cadres: &[String]) -> (Vec<HouseholdRows>, Vec<RowError>) {
    let mut errors = sheet.unreadable.clone();
    let header = &sheet.header;
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, h) in header.cells.iter().enumerate() {
        match COLUMNS.iter().find(|(en, zh)| h.trim() == *en || h.trim() == *zh) {
            Some((en, _)) => {
                index.insert(en, i);
            }
            None if h.trim().is_empty() => {}
            None => errors.push(RowError::at(
                header.number,
                Some(h.clone()),
                format!("未知列“{h}”"),
                format!("Unknown column \"{h}\""),
            )),
        }
    }
    for required in ["registry_no", "site", "grid", "name"] {
        if !index.contains_key(required) {
            errors.push(RowError::at(
                header.number,
                None,
                format!("缺少必填列“{}”（{required}）", zh_column(required)),
                format!("Missing required column {required} ({})", zh_column(required)),
            ));
        }
    }
    if !errors.is_empty() {
        return (Vec::new(), errors);
    }
    // A column's header as the file writes it.
    let named = |col: &str| index.get(col).and_then(|&i| header.cells.get(i)).map(|h| h.trim().to_owned());

    let mut order: Vec<String> = Vec::new();
    let mut by_id: BTreeMap<String, HouseholdRows> = BTreeMap::new();
    for record in &sheet.rows {
        let line = record.number;
        // A number Excel cut to 15 digits: the cell's value is not what was typed.
        for &i in &record.imprecise {
            let column = header.cells.get(i).map(|h| h.trim().to_owned());
            let shown = column.clone().unwrap_or_default();
            errors.push(RowError::at(
                line,
                column,
                format!("“{shown}”是数字格式，Excel 只保留 15 位，后面的数字已丢失：请把该列设为文本后重新输入"),
                format!("\"{shown}\" is a number cell: Excel keeps 15 digits and lost the rest; format the column as text and type it again"),
            ));
        }
        let mut bad = |col: &str, zh: String, en: String| errors.push(RowError::at(line, named(col), zh, en));
        // A cell, trimmed; text over the layout's limit is a row error (and no value).
        let cell = |col: &str, bad: &mut dyn FnMut(&str, String, String)| -> String {
            let v = index.get(col).and_then(|&i| record.cells.get(i)).map_or("", |c| c.trim()).to_owned();
            let chars = v.chars().count();
            if chars > MAX_TEXT_CHARS {
                bad(
                    col,
                    format!("“{}”（{col}）长 {chars} 字，最多 {MAX_TEXT_CHARS} 字", zh_column(col)),
                    format!("{col} is {chars} characters long; at most {MAX_TEXT_CHARS} are allowed"),
                );
                return String::new();
            }
            v
        };

        let registry_no = cell("registry_no", &mut bad);
        if !shared::fields::is_valid_id(&registry_no) {
            bad(
                "registry_no",
                format!("户编码“{registry_no}”格式错误"),
                format!("Registry number \"{registry_no}\" is malformed"),
            );
            continue;
        }
        if !by_id.contains_key(&registry_no) {
            order.push(registry_no.clone());
        }
        let entry = by_id.entry(registry_no.clone()).or_insert_with(|| HouseholdRows {
            registry_no: registry_no.clone(),
            first_line: line,
            facts: FactRows::default(),
            cadres: Vec::new(),
            members: Vec::new(),
        });
        // Facts: the first value given wins; a different later value is an error.
        for col in TEXT_FACTS {
            let label = zh_column(col);
            let v = cell(col, &mut bad);
            if v.is_empty() {
                continue;
            }
            match entry.facts.text.get(col) {
                None => {
                    entry.facts.text.insert(col, v);
                }
                Some(slot) if *slot != v => bad(
                    col,
                    format!("同一户的{label}不一致（“{slot}”与“{v}”）"),
                    format!("{col} differs within the household (\"{slot}\" vs \"{v}\")"),
                ),
                Some(_) => {}
            }
        }
        if line == entry.first_line
            && (!entry.facts.text.contains_key("site") || !entry.facts.text.contains_key("grid"))
        {
            bad(
                if entry.facts.text.contains_key("site") { "grid" } else { "site" },
                "安置点和网格必填".into(),
                "site and grid are required".into(),
            );
        }
        let year = cell("relocated_year", &mut bad);
        if !year.is_empty() {
            match year.parse::<i64>() {
                Ok(y) if (1980..=2100).contains(&y) => entry.facts.relocated_year = Some(y),
                _ => bad(
                    "relocated_year",
                    format!("搬迁年份“{year}”不是有效年份"),
                    format!("relocated_year \"{year}\" is not a year"),
                ),
            }
        }
        macro_rules! coded_cell {
            ($slot:expr, $col:literal, $ty:ty) => {{
                let v = cell($col, &mut bad);
                if !v.is_empty() {
                    match coded::<$ty>(&v) {
                        Some(c) => $slot = Some(c),
                        None => bad(
                            $col,
                            format!(
                                "{}“{v}”不是可选值之一：{}",
                                zh_column($col),
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
        coded_cell!(entry.facts.placement, "placement", Placement);
        coded_cell!(entry.facts.placement_area, "placement_area", PlacementArea);
        coded_cell!(entry.facts.category, "category", Category);
        coded_cell!(entry.facts.monitoring, "monitoring", Monitoring);
        for col in ["dibao", "tekun"] {
            match boolean(&cell(col, &mut bad)) {
                Some(Some(b)) => {
                    let slot = if col == "dibao" { &mut entry.facts.dibao } else { &mut entry.facts.tekun };
                    *slot = Some(slot.unwrap_or(false) | b);
                }
                Some(None) => {}
                None => bad(col, format!("{} 应填 是/否", zh_column(col)), format!("{col} must be yes/no")),
            }
        }
        for cadre in cell("cadre", &mut bad).split([';', '；']).map(str::trim).filter(|c| !c.is_empty()) {
            if !cadres.iter().any(|c| c == cadre) {
                bad("cadre", format!("帮扶干部账号“{cadre}”不存在"), format!("Cadre login \"{cadre}\" does not exist"));
            } else if !entry.cadres.iter().any(|c| c == cadre) {
                entry.cadres.push(cadre.to_owned());
            }
        }

        let mut m = MemberRow { line, ..Default::default() };
        m.name = Some(cell("name", &mut bad)).filter(|n| !n.is_empty());
        coded_cell!(m.sex, "sex", Sex);
        coded_cell!(m.relation, "relation", Relation);
        coded_cell!(m.labour, "labour", LabourCapacity);
        let birth = cell("birth_date", &mut bad);
        if !birth.is_empty() {
            match birth.parse::<Date>() {
                Ok(d) => m.birth_date = Some(d),
                Err(_) => bad(
                    "birth_date",
                    format!("出生日期“{birth}”应为 YYYY-MM-DD"),
                    format!("birth_date \"{birth}\" must be YYYY-MM-DD"),
                ),
            }
        }
        m.id_number = Some(cell("id_number", &mut bad).to_uppercase()).filter(|n| !n.is_empty());
        for col in MEMBER_FLAGS {
            match boolean(&cell(col, &mut bad)) {
                Some(Some(b)) => m.flags.push((col, b)),
                Some(None) => {}
                None => bad(col, format!("{} 应填 是/否", zh_column(col)), format!("{col} must be yes/no")),
            }
        }
        let member_id = cell("member_id", &mut bad);
        if !member_id.is_empty() {
            if !shared::fields::is_valid_id(&member_id)
                || entry.members.iter().any(|o| o.member_id.as_deref() == Some(member_id.as_str()))
            {
                bad(
                    "member_id",
                    format!("成员编号“{member_id}”格式错误或重复"),
                    format!("member_id \"{member_id}\" is malformed or repeated"),
                );
            }
            m.member_id = Some(member_id);
        }
        // A missing name is reported by shared::validate, with the other rules.
        entry.members.push(m);
    }
    (order.into_iter().filter_map(|id| by_id.remove(&id)).collect(), errors)
}

/// The member of `h` that `row` is about: by 成员编号, else by ID number, else by name
/// and birth date (by name alone when the row has no birth date and one member has
/// that name).
fn match_member(h: &Household, row: &MemberRow) -> Option<String> {
    if let Some(id) = row.member_id.as_ref().filter(|id| h.members.contains_key(*id)) {
        return Some(id.clone());
    }
    if let Some(number) = &row.id_number
        && let Some((id, _)) = h.members.iter().find(|(_, m)| m.id_number.eq_ignore_ascii_case(number))
    {
        return Some(id.clone());
    }
    let name = row.name.as_deref()?;
    let named: Vec<&String> = h
        .members
        .iter()
        .filter(|(_, m)| m.name == name && (row.birth_date.is_none() || m.birth_date == row.birth_date))
        .map(|(id, _)| id)
        .collect();
    match named[..] {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// A member id `h` does not use yet: `m<n>` after the highest in use.
fn fresh_member_id(h: &Household) -> String {
    let mut n = h.members.len() + 1;
    while h.members.contains_key(&format!("m{n}")) {
        n += 1;
    }
    format!("m{n}")
}

/// `stored` (a default household for a new one) with the sheet's rows applied; row
/// errors when a member is matched twice or the household grows past the limit.
fn apply(stored: &Household, rows: &HouseholdRows) -> Result<Household, Vec<RowError>> {
    let mut h = stored.clone();
    let f = &rows.facts;
    h.facts.registry_no = rows.registry_no.clone();
    for (col, value) in &f.text {
        let slot = match *col {
            "county" => &mut h.facts.county,
            "township" => &mut h.facts.township,
            "site" => &mut h.facts.site,
            "grid" => &mut h.facts.grid,
            "address" => &mut h.facts.address,
            "origin_township" => &mut h.facts.origin_township,
            _ => &mut h.facts.origin_village,
        };
        slot.clone_from(value);
    }
    h.facts.relocated_year = f.relocated_year.or(h.facts.relocated_year);
    h.facts.placement = f.placement.or(h.facts.placement);
    h.facts.placement_area = f.placement_area.or(h.facts.placement_area);
    h.facts.category = f.category.or(h.facts.category);
    h.facts.monitoring = f.monitoring.or(h.facts.monitoring);
    h.facts.dibao = f.dibao.unwrap_or(h.facts.dibao);
    h.facts.tekun = f.tekun.unwrap_or(h.facts.tekun);
    let mut errors = Vec::new();
    let mut matched: BTreeMap<String, u64> = BTreeMap::new();
    for row in &rows.members {
        let id = match match_member(&h, row) {
            Some(id) => id,
            None => row.member_id.clone().unwrap_or_else(|| fresh_member_id(&h)),
        };
        if let Some(first) = matched.insert(id.clone(), row.line) {
            errors.push(RowError::at(
                row.line,
                None,
                format!("与第 {first} 行是同一成员（成员编号、身份证号或姓名与出生日期相同）"),
                format!("The same member as line {first} (same member id, ID number, or name and birth date)"),
            ));
            continue;
        }
        let is_new = !h.members.contains_key(&id);
        if is_new && h.members.len() >= MAX_MEMBERS {
            errors.push(RowError::at(
                row.line,
                None,
                format!("一户最多 {MAX_MEMBERS} 名成员"),
                format!("A household has at most {MAX_MEMBERS} members"),
            ));
            continue;
        }
        let m: &mut Member = h.members.entry(id).or_default();
        if let Some(v) = &row.name {
            m.name.clone_from(v);
        }
        m.sex = row.sex.or(m.sex);
        m.birth_date = row.birth_date.or(m.birth_date);
        m.relation = row.relation.or(m.relation);
        if let Some(v) = &row.id_number {
            m.id_number.clone_from(v);
        }
        m.labour = row.labour.or(m.labour);
        for (col, b) in &row.flags {
            let slot = match *col {
                "in_school" => &mut m.in_school,
                "disabled" => &mut m.disabled,
                "serious_illness" => &mut m.serious_illness,
                "college_graduate" => &mut m.college_graduate,
                _ => &mut m.vulnerable,
            };
            *slot = *b;
        }
    }
    // The questionnaire's own rules on the result (ID numbers, birth dates, heads), on
    // the rows that gave the members: the errors in facts and members the sheet
    // brings, not those the household had already (a visit's belong to its cadre).
    let today = Date::in_china(now());
    let lines: BTreeMap<&String, u64> = matched.iter().map(|(id, line)| (id, *line)).collect();
    let had: Vec<(String, String)> = shared::validate(stored, today).into_iter().map(|p| (p.path, p.en)).collect();
    for problem in shared::validate(&h, today) {
        let roster_part = problem.path.starts_with("f/") || problem.path.starts_with("m/");
        if problem.severity != shared::Severity::Error
            || !roster_part
            || had.contains(&(problem.path.clone(), problem.en.clone()))
        {
            continue;
        }
        let member = problem.path.strip_prefix("m/").and_then(|r| r.split('/').next()).map(str::to_owned);
        let line = member.as_ref().and_then(|m| lines.get(m)).copied().unwrap_or(rows.first_line);
        // The column the rule is about, by its key's last part (`m/a/id_no`).
        let key = problem.path.rsplit('/').next().unwrap_or("");
        let column = match key {
            "id_no" => Some("id_number"),
            "birth" => Some("birth_date"),
            "no" => Some("registry_no"),
            k => COLUMNS.iter().map(|(en, _)| *en).find(|en| *en == k),
        };
        errors.push(RowError::at(line, column.map(str::to_owned), problem.zh, problem.en));
    }
    if let Err(e) = shared::fields::encode(&h) {
        errors.push(RowError::at(rows.first_line, None, e.zh(), e.to_string()));
    }
    if errors.is_empty() { Ok(h) } else { Err(errors) }
}

/// What an import would write: per household, the household now (if stored) and after.
#[derive(Debug)]
struct Plan {
    households: Vec<Planned>,
    report: ImportReport,
}

/// One household of a plan: its rows, and what the preview said they do to it (create
/// it, or change these values).
#[derive(Debug, Clone)]
struct Planned {
    id: String,
    rows: HouseholdRows,
    new: bool,
    changes: Vec<FieldChange>,
}

/// Writes one planned household as `stamp`'s author, with its assignments, if its rows
/// still do what the preview showed (a visit synced meanwhile changes nothing of that);
/// `false`, writing nothing, when they no longer do.
fn write_household(w: &mut dyn Writer, p: &Planned, stamp: &Stamp, today: Date, at: i64) -> DeniedResult<bool> {
    let stored = w.load_doc(&p.id)?;
    if stored.is_some() == p.new {
        return Ok(false);
    }
    let before = match &stored {
        Some(d) => d.household().map_err(Denied::internal)?,
        None => Household::default(),
    };
    let Ok(after) = apply(&before, &p.rows) else { return Ok(false) };
    if !p.new && changes(&p.id, &before, &after) != p.changes {
        return Ok(false);
    }
    let mut doc = match stored {
        Some(d) => d,
        None => HouseholdDoc::create(&p.id, store::server_actor(), stamp).map_err(Denied::internal)?,
    };
    doc.edit(stamp, |h| *h = after).map_err(Denied::internal)?;
    let household = doc.household().map_err(Denied::internal)?;
    w.save_doc(&p.id, &doc, &household, today, at)?;
    for cadre in &p.rows.cadres {
        w.assign(&p.id, cadre)?;
    }
    Ok(true)
}

/// The audit line of an import of `report`.
fn audit_detail(report: &ImportReport) -> String {
    format!(
        "{} households ({} new), {} members, {} values changed",
        report.households,
        report.added.len(),
        report.members,
        report.changes.len()
    )
}

/// The changes from `before` to `after` of household `id` (facts and members only),
/// readable.
fn changes(id: &str, before: &Household, after: &Household) -> Vec<FieldChange> {
    let (Ok(old), Ok(new)) = (shared::fields::encode(before), shared::fields::encode(after)) else { return Vec::new() };
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|k| (k.starts_with("f/") || k.starts_with("m/")) && old.get(*k) != new.get(*k))
        .map(|k| FieldChange {
            household: id.to_owned(),
            field_zh: shared::fields::describe(k, after, Lang::Zh),
            field_en: shared::fields::describe(k, after, Lang::En),
            before: old.get(k).map(ToString::to_string),
            after: new.get(k).map(ToString::to_string),
        })
        .collect()
}

/// Reads `sheet` against what is stored: what importing it would do (the preview),
/// or every row error.
fn make_plan(r: &mut dyn Reader, sheet: &Sheet) -> DeniedResult<Result<Plan, Vec<RowError>>> {
    let cadres = r.logins_with_role(Role::Cadre)?;
    let (parsed, mut errors) = parse(sheet, &cadres);
    let mut digest = Sha256::new();
    sheet.digest_into(&mut digest);
    let mut households = Vec::new();
    let mut report = ImportReport {
        households: parsed.len(),
        members: parsed.iter().map(|p| p.members.len()).sum(),
        added: Vec::new(),
        changes: Vec::new(),
        assigned: Vec::new(),
        imported: false,
        confirm: String::new(),
    };
    for rows in parsed {
        let id = rows.registry_no.clone();
        let doc = r.load_doc(&id)?;
        let stored = match &doc {
            Some(d) => d.household().map_err(Denied::internal)?,
            None => Household::default(),
        };
        match apply(&stored, &rows) {
            Ok(after) => {
                let new = doc.is_none();
                let changed = if new { Vec::new() } else { changes(&id, &stored, &after) };
                // The digest is of what the import does, not of the documents: a visit
                // synced between the preview and the confirmation changes nothing here.
                digest.update(format!("{id}\u{1}{new}\u{1}{}\u{1}", rows.cadres.join(",")).as_bytes());
                for c in &changed {
                    digest.update(format!("{}\u{1}{:?}\u{1}{:?}\u{2}", c.field_en, c.before, c.after).as_bytes());
                }
                if new {
                    report.added.push(id.clone());
                }
                report.changes.extend(changed.iter().cloned());
                report.assigned.extend(rows.cadres.iter().map(|c| (id.clone(), c.clone())));
                households.push(Planned { id, rows, new, changes: changed });
            }
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        for e in &mut errors {
            // `apply` names a column by its English name; say it as the file does.
            if let Some(col) = &e.column
                && let Some(named) = header_of(sheet, col)
            {
                e.column = Some(named);
            }
            e.sheet.clone_from(&sheet.name);
        }
        return Ok(Err(errors));
    }
    report.confirm = hex::encode(&digest.finalize()[..16]);
    Ok(Ok(Plan { households, report }))
}

/// The preview of importing `sheet`: what would change, and the `confirm` digest.
pub fn plan(r: &mut dyn Reader, sheet: &Sheet) -> DeniedResult<Result<ImportReport, Vec<RowError>>> {
    Ok(make_plan(r, sheet)?.map(|p| p.report))
}

/// The header cell of `sheet` that is column `col` (by its English name), as written.
fn header_of(sheet: &Sheet, col: &str) -> Option<String> {
    let zh = zh_column(col);
    sheet.header.cells.iter().map(|h| h.trim()).find(|h| *h == col || (!zh.is_empty() && *h == zh)).map(str::to_owned)
}

/// Imports a roster in one transaction, as `stamp`'s author, if it still plans as the
/// preview whose digest is `confirm`. On any row error nothing is imported and every
/// error is returned.
pub fn import(
    w: &mut dyn Writer,
    sheet: &Sheet,
    confirm: &str,
    stamp: &Stamp,
) -> DeniedResult<Result<ImportReport, Refused>> {
    // Every household of the sheet is locked, in one order, before any is read: a
    // merge or another import (PostgreSQL) cannot change one between the plan's read
    // and the write (on SQLite the writer is one connection anyway).
    let ids: Vec<String> = parse(sheet, &[]).0.into_iter().map(|rows| rows.registry_no).collect();
    w.lock_households(&store::Scope::All, &ids.iter().map(String::as_str).collect::<Vec<_>>())?;
    let plan = match make_plan(w, sheet)? {
        Ok(p) => p,
        Err(errors) => return Ok(Err(Refused::Rows(errors))),
    };
    if plan.report.confirm != confirm {
        return Ok(Err(Refused::Stale));
    }
    let at = now();
    let today = Date::in_china(at);
    for planned in &plan.households {
        // Locked since the plan read it: it cannot have changed.
        if !write_household(w, planned, stamp, today, at)? {
            return Ok(Err(Refused::Stale));
        }
    }
    let mut report = plan.report;
    w.audit(at, &stamp.author.user, "import_roster", &audit_detail(&report))?;
    report.imported = true;
    Ok(Ok(report))
}

/// Plans and imports `sheet` in one transaction, without a person reading the
/// preview: for seeding a database (tests, benchmarks), never for a county's sheet.
pub fn import_at_once(
    w: &mut dyn Writer,
    sheet: &Sheet,
    stamp: &Stamp,
) -> DeniedResult<Result<ImportReport, Vec<RowError>>> {
    let confirm = match make_plan(w, sheet)? {
        Ok(plan) => plan.report.confirm,
        Err(rows) => return Ok(Err(rows)),
    };
    match import(w, sheet, &confirm, stamp)? {
        Ok(report) => Ok(Ok(report)),
        Err(Refused::Rows(rows)) => Ok(Err(rows)),
        Err(Refused::Stale | Refused::Interrupted { .. }) => {
            Err(Denied::internal("a roster planned and imported in one transaction went stale"))
        }
    }
}
