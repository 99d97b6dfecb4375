//! PROTOCOL.md §6: accounts, assignments, roster imports and history rewrites, as the
//! admin API takes and answers them.

use super::Role;

/// One account as `GET /api/admin/users` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct UserRow {
    /// Login (账号).
    pub login: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// `county:NAME`, `township:NAME` or `site:NAME` (supervisors), else `null`.
    pub area: Option<String>,
    /// Households assigned to this account (cadres).
    pub assigned: i64,
    /// Wrong passwords in a row.
    pub failed_logins: i64,
    /// Unix seconds until which login is refused after wrong passwords; `null` when not
    /// locked now.
    pub locked_until: Option<i64>,
    /// Disabled by an admin: login refused, no session works.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// 联系电话: a phone number others may call (明白卡 prints a cadre's); empty when
    /// none was given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone: String,
}

/// A household with its cadres.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct AssignedHousehold {
    /// 户编码
    pub id: String,
    /// 户主
    pub head_name: String,
    /// 乡镇
    pub township: String,
    /// 安置点
    pub site: String,
    /// 网格
    pub grid: String,
    /// 住址
    pub address: String,
    /// Logins of the assigned cadres, sorted.
    pub cadres: Vec<String>,
}

/// One site and grid: how many households, how many with no cadre.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct AreaCount {
    /// 安置点
    pub site: String,
    /// 网格
    pub grid: String,
    /// Households.
    pub households: i64,
    /// Households with no cadre.
    pub unassigned: i64,
}

/// `POST /api/admin/users`: a new account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct NewUser {
    /// Login.
    pub login: String,
    /// Display name.
    pub name: String,
    /// Role: `admin`, `supervisor` or `cadre`.
    pub role: String,
    /// Supervisor area, `county:…`, `township:…` or `site:…`.
    pub area: Option<String>,
    /// Initial password.
    pub password: String,
    /// 联系电话: a phone number others may call (明白卡 prints a cadre's); empty when
    /// none was given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone: String,
}

/// `POST /api/admin/users/{login}`: what to change; absent fields stay as they are.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New role. A cadre who stops being one loses their assignments; the area is
    /// kept only for supervisors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// New area, `county:NAME` …; `null` or `""` removes it.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub area: Option<Option<String>>,
    /// A new password (reset): clears the login lock and ends every session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// `true` disables the account (login refused, sessions ended), `false` enables it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// `true` clears the lock of repeated wrong passwords.
    #[serde(default)]
    pub unlock: bool,
    /// A new phone number (联系电话); `""` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Tells a field given as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    <Option<String> as serde::Deserialize>::deserialize(d).map(Some)
}

/// One item of `POST /api/admin/assignments`.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// 户编码
    pub household_id: String,
    /// Cadre login.
    pub user_id: String,
    /// `true` to remove the assignment.
    #[serde(default)]
    pub remove: bool,
}

/// What `POST /api/admin/assignments` did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct BulkReport {
    /// Assignments made.
    pub added: usize,
    /// Assignments removed.
    pub removed: usize,
    /// Items that changed nothing (already so).
    pub unchanged: usize,
}

/// `GET /api/admin/assignments`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct AssignmentsView {
    /// Every site and grid (not filtered), to choose from.
    pub areas: Vec<AreaCount>,
    /// The households the filter selects, by site, grid, id.
    pub households: Vec<AssignedHousehold>,
}

/// `POST /api/admin/households/{id}/rewrite`: what the rewrite did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct RewriteReport {
    /// 户编码
    pub household: String,
    /// Stored bytes before.
    pub bytes_before: usize,
    /// Stored bytes after.
    pub bytes_after: usize,
    /// Changes in the retired history.
    pub changes_before: usize,
    /// Fields kept (every current value).
    pub fields: usize,
}

/// One reason a roster row was refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct RowError {
    /// The worksheet, for an Excel workbook; `null` for a CSV.
    #[serde(default)]
    pub sheet: Option<String>,
    /// The row: a CSV's line (1 = the header), or the row as Excel numbers it.
    pub line: u64,
    /// The column's header as the file writes it, when the error is about one cell.
    #[serde(default)]
    pub column: Option<String>,
    /// 中文说明.
    pub zh: String,
    /// English message.
    pub en: String,
}

impl RowError {
    /// An error at `line` (of the file's only sheet, or set later), about `column` if any.
    pub fn at(line: u64, column: Option<String>, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { sheet: None, line, column, zh: zh.into(), en: en.into() }
    }
}

/// `POST /api/admin/roster`: what an import would do (the preview), or did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct ImportReport {
    /// Households in the sheet.
    pub households: usize,
    /// Member rows read.
    pub members: usize,
    /// Households the sheet creates.
    pub added: Vec<String>,
    /// Every change to a household already stored (facts, members renamed or
    /// corrected, members added), in sheet order.
    pub changes: Vec<FieldChange>,
    /// The assignments the sheet gives, `household → cadre` (kept where they exist).
    pub assigned: Vec<(String, String)>,
    /// Whether this answer is the import done (`true`) or its preview.
    pub imported: bool,
    /// Send back as `?confirm=` to import exactly this preview.
    pub confirm: String,
}

/// One value a roster import changes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct FieldChange {
    /// 户编码
    pub household: String,
    /// The field, readable: `李国华 · 姓名`, `安置点`.
    pub field_zh: String,
    /// …in English.
    pub field_en: String,
    /// The value stored now (`null`: nothing).
    pub before: Option<String>,
    /// The value the sheet gives.
    pub after: Option<String>,
}

/// `422` answer of a roster import with bad rows: nothing was imported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct ImportErrors {
    /// `roster_rejected`.
    pub error: String,
    /// Every bad row.
    pub rows: Vec<RowError>,
}
