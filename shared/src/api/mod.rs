//! The vocabulary of the HTTP API (PROTOCOL.md §1, §2, §4.7, §5, §6): every request body and
//! every JSON answer, used by the server's handlers and the app alike, so neither keeps
//! a copy. Accounts (roles, areas), the household row of every list and the error body
//! live here; `account`, `read` and `admin` hold the rest by section. Plain data, no IO.
//! Natively each type also describes itself as JSON Schema (`describe`, written to
//! `protocol/huhujian.json`); the wasm app leaves that out.

pub mod account;
pub mod admin;
pub mod blob;
pub mod case;
pub mod error_code;
pub mod phone;
pub mod read;

pub use account::{LoginOk, LoginRequest, PasswordChange};
pub use admin::{
    AreaCount, AssignedHousehold, Assignment, AssignmentsView, BulkReport, FieldChange, ImportErrors, ImportReport,
    NewUser, RewriteReport, RowError, UserRow, UserUpdate,
};
pub use blob::{BlobHeld, BlobMissing, BlobsAsked, BlobsMissing};
pub use case::{CaseQueue, CaseRequest, CaseRow, ClueImport, MeasureRequest};
pub use error_code::ErrorCode;
pub use phone::{Concern, PhoneReport, PhoneRow};
pub use read::{
    ConflictItem, CoverageRow, FieldConflict, HistoryItem, HouseholdDetail, IndicatorReport, Person, ResolveRequest,
    ReviewQueue, ReviewRequest, SiteIndicators, TrendPoint,
};

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Health {
    /// Always `true` when the server answers.
    pub ok: bool,
    /// The document layout version this server reads and writes.
    pub schema: i64,
    /// The server's version.
    pub version: String,
}

/// The JSON body of every error answer: `{"error": code, "zh": …, "en": …}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct ErrorBody {
    /// Stable machine-readable code (PROTOCOL.md lists them per endpoint).
    pub error: String,
    /// 中文说明.
    pub zh: String,
    /// English message.
    pub en: String,
}

impl ErrorBody {
    /// Its code, if this build knows it (a newer server may send one it does not).
    pub fn kind(&self) -> Option<ErrorCode> {
        ErrorCode::parse(&self.error)
    }
}

/// 角色: what an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 管理员: users, roster, assignments; sees everything.
    Admin,
    /// 督导 (乡镇/县): reads and corrects every household in an area.
    Supervisor,
    /// 帮扶干部: reads and writes assigned households.
    Cadre,
}

impl Role {
    /// Every role, admins first.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Supervisor, Role::Cadre];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Cadre => "cadre",
        }
    }
    /// The role of a stored code (`admin`, `supervisor`, `cadre`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == s)
    }
}

/// The kind of a supervisor's area (区域级别).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AreaKind {
    /// 县
    County,
    /// 乡镇
    Township,
    /// 安置点
    Site,
}

impl AreaKind {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            AreaKind::County => "county",
            AreaKind::Township => "township",
            AreaKind::Site => "site",
        }
    }
}

/// A supervisor's area (督导区域).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Area {
    /// 县
    County(String),
    /// 乡镇
    Township(String),
    /// 安置点
    Site(String),
}

impl Area {
    /// Its kind and name.
    pub fn parts(&self) -> (AreaKind, &str) {
        match self {
            Area::County(n) => (AreaKind::County, n),
            Area::Township(n) => (AreaKind::Township, n),
            Area::Site(n) => (AreaKind::Site, n),
        }
    }
    /// An area of `kind` (a stored code) named `name`.
    pub fn from_parts(kind: &str, name: &str) -> Option<Self> {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().any(char::is_control) {
            return None;
        }
        match kind.trim() {
            "county" => Some(Area::County(name)),
            "township" => Some(Area::Township(name)),
            "site" => Some(Area::Site(name)),
            _ => None,
        }
    }
    /// Parses `county:姚安县`, `township:…` or `site:…`.
    pub fn parse(s: &str) -> Option<Self> {
        let (kind, name) = s.split_once(':')?;
        Self::from_parts(kind, name)
    }
    /// `county:NAME`, `township:NAME` or `site:NAME`.
    pub fn code(&self) -> String {
        let (kind, name) = self.parts();
        format!("{}:{name}", kind.code())
    }
}

/// A user account as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct User {
    /// Login (账号).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// A supervisor's area.
    pub area: Option<Area>,
    /// 联系电话: a phone number others may call (明白卡 prints a cadre's); empty when
    /// none was given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone: String,
}

/// A household as lists show it.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct HouseholdRow {
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
    /// Latest visit period.
    pub last_visit: Option<String>,
    /// Its mode.
    pub last_mode: Option<String>,
    /// Present members.
    pub members: i64,
    /// Conflicted fields.
    pub conflicts: i64,
    /// Validation problems.
    pub problems: i64,
    /// Why it must be visited in person this period (八必访): in
    /// `GET /api/flagged?kind=must_visit` only, absent elsewhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub must_visit: Vec<crate::must_visit::MustVisit>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_and_roles_read_back_from_their_codes() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.code()), Some(role));
        }
        for a in [Area::County("姚安县".into()), Area::Township("栋川镇".into()), Area::Site("阳光小区".into())]
        {
            assert_eq!(Area::parse(&a.code()), Some(a.clone()));
        }
        assert_eq!(Area::parse("site: "), None);
        assert_eq!(Area::parse("village:x"), None);
        assert_eq!(Area::parse("site"), None);
        assert_eq!(Area::parse("site:阳光\0社区"), None);
    }
}
