//! 部门数据比对: a department's list of households at risk (民政, 医保, 人社 …) read
//! into risk clues. The file is read like a roster (`sheet`: an `.xlsx`, or a CSV in
//! UTF-8 or GBK); each row names a household by 户编码 or a member's 身份证号, with the
//! reason and, optionally, the department. Every row is checked before anything is
//! written: a household not found in the importer's area, a missing reason, a
//! household named twice, or one with a case already open is a row error, and one row
//! error refuses the whole list.

use std::collections::{BTreeMap, HashMap};

use shared::api::User;
use shared::idcard::parse_id_number;

use super::RowError;
use super::sheet::Sheet;
use crate::store::projection::{joined_id_numbers, split_id_numbers};
use crate::store::{Access, Reader, Selection, StoreResult};

/// One clue to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentClue {
    /// The household.
    pub household: String,
    /// Why, as the list says, with the department before it when given.
    pub text: String,
}

/// A column of the list: (English header, Chinese headers).
const COLUMNS: [(&str, &[&str]); 4] = [
    ("registry_no", &["户编码"]),
    ("id_number", &["身份证号", "身份证号码"]),
    ("reason", &["原因", "风险原因", "线索说明"]),
    ("department", &["部门", "来源部门"]),
];

fn column(sheet: &Sheet, name: &str) -> Option<usize> {
    let (_, zh) = COLUMNS.iter().find(|(en, _)| *en == name)?;
    sheet.header.cells.iter().position(|h| h.trim() == name || zh.contains(&h.trim()))
}

/// The clues of `sheet` for `user`, or every row error.
pub fn plan(r: &mut dyn Reader, user: &User, sheet: &Sheet) -> StoreResult<Result<Vec<DepartmentClue>, Vec<RowError>>> {
    let mut errors = sheet.unreadable.clone();
    let (registry, id_number, reason, department) = (
        column(sheet, "registry_no"),
        column(sheet, "id_number"),
        column(sheet, "reason"),
        column(sheet, "department"),
    );
    let header = sheet.header.number;
    if registry.is_none() && id_number.is_none() {
        errors.push(RowError::at(
            header,
            None,
            "表头须有“户编码”或“身份证号”列",
            "The header needs a 户编码 (registry_no) or 身份证号 (id_number) column",
        ));
    }
    if reason.is_none() {
        errors.push(RowError::at(header, None, "表头须有“原因”列", "The header needs a 原因 (reason) column"));
    }
    if !errors.is_empty() {
        return Ok(Err(with_sheet(errors, sheet)));
    }
    let cell = |row: &super::sheet::Row, i: Option<usize>| {
        i.and_then(|i| row.cells.get(i)).map(|c| c.trim().to_owned()).filter(|c| !c.is_empty())
    };
    let named = |i: Option<usize>| i.and_then(|i| sheet.header.cells.get(i)).map(|h| h.trim().to_owned());
    // ID numbers are looked up in the rows of the importer's area (`Reader::id_numbers`),
    // read once and only when some row names a member that way.
    let mut by_id_number: Option<HashMap<String, String>> = None;
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut clues = Vec::new();
    for row in &sheet.rows {
        let line = row.number;
        let Some(why) = cell(row, reason) else {
            errors.push(RowError::at(line, named(reason), "请填写原因", "The reason is empty"));
            continue;
        };
        let household = if let Some(no) = cell(row, registry) {
            match r.access(user, &no)? {
                Access::Allowed => Some(no),
                Access::OutOfScope | Access::Unknown => {
                    errors.push(RowError::at(
                        line,
                        named(registry),
                        format!("户编码 {no} 不在您负责的范围内或不存在"),
                        format!("Household {no} is not in your area, or does not exist"),
                    ));
                    None
                }
            }
        } else if let Some(id) = cell(row, id_number) {
            let id = id.to_uppercase();
            if parse_id_number(&id).is_err() {
                errors.push(RowError::at(
                    line,
                    named(id_number),
                    format!("身份证号 {id} 格式或校验位不对"),
                    format!("The ID number {id} is malformed or its check digit is wrong"),
                ));
                continue;
            }
            if by_id_number.is_none() {
                by_id_number = Some(members_by_id_number(r, user)?);
            }
            let found = by_id_number.as_ref().and_then(|m| m.get(&id)).cloned();
            if found.is_none() {
                errors.push(RowError::at(
                    line,
                    named(id_number),
                    format!("您负责的范围内没有身份证号为 {id} 的成员"),
                    format!("No member of a household in your area has the ID number {id}"),
                ));
            }
            found
        } else {
            errors.push(RowError::at(
                line,
                None,
                "请填写户编码或身份证号",
                "Give the household's registry number or a member's ID number",
            ));
            None
        };
        let Some(household) = household else { continue };
        if let Some(first) = seen.insert(household.clone(), line) {
            errors.push(RowError::at(
                line,
                None,
                format!("与第 {first} 行是同一户（{household}）"),
                format!("The same household ({household}) as row {first}"),
            ));
            continue;
        }
        if let Some(doc) = r.load_doc(&household)?
            && let Ok(h) = doc.household()
            && let Err(e) = h.case.may(shared::CaseAct::Clue)
        {
            errors.push(RowError::at(
                line,
                None,
                format!("户 {household}：{}", e.zh),
                format!("Household {household}: {}", e.en),
            ));
            continue;
        }
        let text = match cell(row, department) {
            Some(d) => format!("{d}：{why}"),
            None => why,
        };
        clues.push(DepartmentClue { household, text });
    }
    if errors.is_empty() && clues.is_empty() {
        errors.push(RowError::at(header, None, "表中没有数据行", "The list has no rows"));
    }
    Ok(if errors.is_empty() { Ok(clues) } else { Err(with_sheet(errors, sheet)) })
}

/// Every error named with the worksheet it is on.
fn with_sheet(mut errors: Vec<RowError>, sheet: &Sheet) -> Vec<RowError> {
    for e in &mut errors {
        e.sheet.clone_from(&sheet.name);
    }
    errors.sort_by_key(|e| e.line);
    errors
}

/// ID number → household, for the households `user` may see: from the households'
/// rows, reading the document only of a row written before they kept ID numbers.
fn members_by_id_number(r: &mut dyn Reader, user: &User) -> StoreResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    for (id, joined) in r.id_numbers(&Selection::of(user))? {
        let joined = match joined {
            Some(joined) => joined,
            None => {
                let Ok(Some(doc)) = r.load_doc(&id) else { continue };
                let Ok(h) = doc.household() else { continue };
                joined_id_numbers(&h)
            }
        };
        for number in split_id_numbers(&joined) {
            out.insert(number.to_owned(), id.clone());
        }
    }
    Ok(out)
}
