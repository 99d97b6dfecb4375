//! The flat document layout: a [`Household`] as a map from path keys to scalars, and
//! back. Every field is one scalar at the Automerge ROOT under a key such as
//! `v/2026-11/e/k3f9/status`; no nested Automerge objects are ever created.
//!
//! Why flat: two cadres who both record November offline would each create a nested
//! `visits["2026-11"]` map object, and Automerge keeps only one of two concurrently
//! created objects at a key, hiding the other wholesale. With scalars at ROOT every
//! field merges on its own, a same-field clash is an ordinary `get_all` conflict, and
//! two offline registrations of one household (same document id) merge cleanly.
//!
//! | key | value |
//! |---|---|
//! | `schema` | int, [`SCHEMA_VERSION`] |
//! | `f/<fact>` | household facts |
//! | `m/<member>/<field>` | members, keyed by member id |
//! | `v/<period>/<field>` | visit: `date`, `mode`, `absent`, `risk_note`, `help_note`, `note`, `review` (status) |
//! | `v/<period>/by/<user>` | visitor's display name |
//! | `v/<period>/e/<member>/<field>` | employment of one member |
//! | `v/<period>/i/<component>` | income component, int yuan |
//! | `v/<period>/g/<item>` | 两不愁三保障 item, bool |
//! | `v/<period>/r/<signal>` | risk signal present, `true` |
//! | `v/<period>/h/<kind>` | help: `needed` / `given` |
//! | `v/<period>/rv/<entry>/<field>` | review step: `act`, `by`, `name`, `text`, `at` (int, Unix s) |
//!
//! Absent key = not recorded: empty strings, `false` flags and `None` are not stored.

mod layout;

use std::collections::BTreeMap;
use std::fmt;

pub use layout::{KeySpec, ValueKind, kind_of_key, layout, value_label};

use crate::case::{CaseStep, Measure};
use crate::evidence::{Attachment, MAX_ATTACHMENTS, MAX_BLOB_BYTES, entry_of, is_sha256};
use crate::label::{Coded, Lang};
use crate::model::{
    Employment, Expense, Facts, Guarantee, HelpKind, HelpState, Household, IncomeComponent, Member, RiskSignal, Visit,
};
use crate::period::Date;

/// The layout version written under the `schema` key.
pub const SCHEMA_VERSION: i64 = 1;
/// Longest text value, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Most members one household may have.
pub const MAX_MEMBERS: usize = 60;
/// Most visits one household may have (50 years of months).
pub const MAX_VISITS: usize = 600;
/// Most visitors one visit may name (the cadres who made it; no honest visit comes near).
pub const MAX_VISITORS: usize = 50;
/// Most review steps (审核记录) one visit may have.
pub const MAX_REVIEW_STEPS: usize = 200;
/// Most steps a household's monitoring case may hold.
pub const MAX_CASE_STEPS: usize = 200;
/// Most entries the ledger of help measures may hold.
pub const MAX_MEASURES: usize = 200;
/// Largest absolute amount, in yuan.
pub const MAX_AMOUNT: i64 = 100_000_000;
/// Latest time a review step may carry (year 2100).
pub const MAX_UNIX_SECONDS: i64 = 4_102_444_800;
/// Longest id segment inside a key (member, user, period).
pub const MAX_ID_LEN: usize = 32;

/// One stored value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum Scalar {
    /// A boolean.
    Bool(bool),
    /// An integer (amounts in yuan, years).
    Int(i64),
    /// Text, dates and codes.
    Str(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Str(s) => f.write_str(s),
        }
    }
}

/// The flat form of a household: path key → value.
pub type Fields = BTreeMap<String, Scalar>;

/// A document that breaks the layout: the server refuses it, the app cannot show it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// A key this version does not know.
    #[error("unknown field {0:?}")]
    UnknownKey(String),
    /// A value of the wrong type.
    #[error("field {key:?} must be {expected}")]
    WrongType {
        /// The key.
        key: String,
        /// What the layout wants.
        expected: &'static str,
    },
    /// An id segment (member, user, period) that is empty, too long or has bad characters.
    #[error("field {key:?} has a malformed id {id:?}")]
    BadId {
        /// The key.
        key: String,
        /// The offending id.
        id: String,
    },
    /// Text longer than [`MAX_TEXT_CHARS`].
    #[error("field {key:?} is {chars} characters long; at most {MAX_TEXT_CHARS} are allowed")]
    TooLong {
        /// The key.
        key: String,
        /// Its length in characters.
        chars: usize,
    },
    /// An integer outside its key's range (an amount beyond ±[`MAX_AMOUNT`], a time
    /// before 1970, a latitude beyond ±90°, …; `protocol/huhujian.json` gives each).
    #[error("field {key:?} holds {value}, outside the range its layout allows")]
    OutOfRange {
        /// The key.
        key: String,
        /// The value.
        value: i64,
    },
    /// Too many members or visits, or visitors or review steps in one visit.
    #[error("{count} {what} exceed the limit of {limit}")]
    TooMany {
        /// "members", "visits", "visitors in one visit" or "review steps in one visit".
        what: &'static str,
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A document written by a newer layout.
    #[error("schema version {0} is newer than this program's {SCHEMA_VERSION}; update the app")]
    NewerSchema(i64),
}

impl SchemaError {
    /// The message in Chinese.
    pub fn zh(&self) -> String {
        match self {
            SchemaError::UnknownKey(k) => format!("未知字段 {k}"),
            SchemaError::WrongType { key, expected } => format!("字段 {key} 类型错误，应为 {expected}"),
            SchemaError::BadId { key, id } => format!("字段 {key} 中的编号 {id:?} 格式错误"),
            SchemaError::TooLong { key, chars } => {
                format!("字段 {key} 长 {chars} 字，最多 {MAX_TEXT_CHARS} 字")
            }
            SchemaError::OutOfRange { key, value } => format!("字段 {key} 的数值 {value} 超出范围"),
            SchemaError::TooMany { what, count, limit } => {
                let what = match *what {
                    "members" => "家庭成员",
                    "visits" => "走访记录",
                    VISITORS => "一次走访的走访人",
                    ATTACHMENTS => "一次走访的佐证",
                    CASE_STEPS => "监测步骤",
                    MEASURES => "帮扶措施",
                    _ => "一次走访的审核记录",
                };
                format!("{what}数 {count} 超过上限 {limit}")
            }
            SchemaError::NewerSchema(v) => format!("文档版本 {v} 比本程序新，请更新应用"),
        }
    }
}

/// A value kind that one field holds, with its conversion to and from [`Scalar`].
trait FieldValue: Sized {
    /// What the key holds, as `layout()` describes it.
    const KIND: ValueKind;
    /// `None` when the value is "not recorded" and the key is absent.
    fn to_scalar(&self) -> Option<Scalar>;
    fn from_scalar(key: &str, v: Scalar) -> Result<Self, SchemaError>;
}

fn wrong(key: &str, expected: &'static str) -> SchemaError {
    SchemaError::WrongType { key: key.to_owned(), expected }
}

fn text(key: &str, v: Scalar) -> Result<String, SchemaError> {
    match v {
        Scalar::Str(s) => {
            let chars = s.chars().count();
            if chars > MAX_TEXT_CHARS {
                return Err(SchemaError::TooLong { key: key.to_owned(), chars });
            }
            Ok(s)
        }
        _ => Err(wrong(key, "text")),
    }
}

impl FieldValue for String {
    const KIND: ValueKind = ValueKind::Text;
    fn to_scalar(&self) -> Option<Scalar> {
        (!self.is_empty()).then(|| Scalar::Str(self.clone()))
    }
    fn from_scalar(key: &str, v: Scalar) -> Result<Self, SchemaError> {
        text(key, v)
    }
}

impl FieldValue for bool {
    const KIND: ValueKind = ValueKind::Flag;
    fn to_scalar(&self) -> Option<Scalar> {
        self.then_some(Scalar::Bool(true))
    }
    fn from_scalar(key: &str, v: Scalar) -> Result<Self, SchemaError> {
        match v {
            Scalar::Bool(b) => Ok(b),
            _ => Err(wrong(key, "true/false")),
        }
    }
}

impl FieldValue for Option<bool> {
    const KIND: ValueKind = ValueKind::YesNo;
    fn to_scalar(&self) -> Option<Scalar> {
        self.map(Scalar::Bool)
    }
    fn from_scalar(key: &str, v: Scalar) -> Result<Self, SchemaError> {
        bool::from_scalar(key, v).map(Some)
    }
}

impl FieldValue for Option<i64> {
    const KIND: ValueKind = ValueKind::Int;
    fn to_scalar(&self) -> Option<Scalar> {
        self.map(Scalar::Int)
    }
    fn from_scalar(key: &str, v: Scalar) -> Result<Self, SchemaError> {
        match v {
            // Not `i.abs()`: it overflows for i64::MIN (a panic, or in release a
            // negative "absolute value" that passed the check).
            Scalar::Int(i) if (-MAX_AMOUNT..=MAX_AMOUNT).contains(&i) => Ok(Some(i)),
            Scalar::Int(value) => Err(SchemaError::OutOfRange { key: key.to_owned(), value }),
            _ => Err(wrong(key, "an integer")),
        }
    }
}

impl FieldValue for Option<Date> {
    const KIND: ValueKind = ValueKind::Date;
    fn to_scalar(&self) -> Option<Scalar> {
        self.map(|d| Scalar::Str(d.to_string()))
    }
    fn from_scalar(key: &str, v: Scalar) -> Result<Self, SchemaError> {
        let s = text(key, v)?;
        s.parse().map(Some).map_err(|_| wrong(key, "a date YYYY-MM-DD"))
    }
}

impl<T: Coded> FieldValue for Option<T> {
    const KIND: ValueKind = ValueKind::Code(T::NAME);
    fn to_scalar(&self) -> Option<Scalar> {
        self.map(|c| Scalar::Str(c.code().to_owned()))
    }
    fn from_scalar(key: &str, v: Scalar) -> Result<Self, SchemaError> {
        let s = text(key, v)?;
        T::from_code(&s).map(Some).ok_or_else(|| wrong(key, "one of the listed codes"))
    }
}

/// Declares, once, which struct field lives under which key name; generates both the
/// writer and the reader so the two directions cannot drift apart.
macro_rules! field_table {
    ($ty:ty { $($field:ident => $name:literal ($zh:literal, $en:literal)),+ $(,)? }) => {
        impl Table for $ty {
            fn label(name: &str) -> Option<(&'static str, &'static str)> {
                match name {
                    $( $name => Some(($zh, $en)), )+
                    _ => None,
                }
            }
            fn keys() -> Vec<(&'static str, ValueKind, &'static str, &'static str)> {
                vec![$( ($name, kind_of(|t: &$ty| &t.$field), $zh, $en) ),+]
            }
            fn write(&self, prefix: &str, out: &mut Fields) {
                $( if let Some(v) = FieldValue::to_scalar(&self.$field) {
                    out.insert(format!("{prefix}{}", $name), v);
                } )+
            }
            fn read(&mut self, name: &str, key: &str, v: Scalar) -> Result<(), SchemaError> {
                match name {
                    $( $name => self.$field = FieldValue::from_scalar(key, v)?, )+
                    _ => return Err(SchemaError::UnknownKey(key.to_owned())),
                }
                Ok(())
            }
        }
    };
}

trait Table {
    /// The (中文, English) label of the field stored under `name`.
    fn label(name: &str) -> Option<(&'static str, &'static str)>;
    /// Every key name with what it holds and its labels, in declaration order.
    fn keys() -> Vec<(&'static str, ValueKind, &'static str, &'static str)>;
    fn write(&self, prefix: &str, out: &mut Fields);
    fn read(&mut self, name: &str, key: &str, v: Scalar) -> Result<(), SchemaError>;
}

field_table!(Facts {
    registry_no => "no" ("户编码", "Registry number"),
    address => "address" ("住址", "Address"),
    county => "county" ("县", "County"),
    township => "township" ("乡镇", "Township"),
    site => "site" ("安置点", "Settlement site"),
    grid => "grid" ("网格", "Grid"),
    origin_township => "origin_township" ("迁出乡镇", "Moved out of (township)"),
    origin_village => "origin_village" ("迁出村", "Moved out of (village)"),
    relocated_year => "year" ("搬迁年份", "Year relocated"),
    placement => "placement" ("安置方式", "Placement"),
    placement_area => "area" ("安置区域", "Placement area"),
    category => "category" ("户类型", "Category"),
    monitoring => "monitoring" ("监测类型", "Monitoring type"),
    dibao => "dibao" ("低保", "Minimum living allowance"),
    tekun => "tekun" ("特困供养", "Extreme hardship support"),
});

field_table!(Member {
    name => "name" ("姓名", "Name"),
    sex => "sex" ("性别", "Sex"),
    birth_date => "birth" ("出生日期", "Birth date"),
    relation => "relation" ("与户主关系", "Relation to head"),
    id_number => "id_no" ("身份证号", "ID number"),
    labour => "labour" ("劳动能力", "Labour capacity"),
    in_school => "school" ("在校生", "In school"),
    disabled => "disabled" ("残疾", "Disability"),
    serious_illness => "ill" ("大病", "Serious illness"),
    college_graduate => "graduate" ("高校毕业生", "College graduate"),
    vulnerable => "vulnerable" ("鳏寡孤独残", "Widowed, orphaned, alone or disabled"),
    status => "status" ("状态", "Status"),
    phone => "phone" ("联系电话", "Phone number"),
    change => "change" ("变动原因", "Change of membership"),
    changed_on => "changed_on" ("变动日期", "Date of the change"),
});

field_table!(CaseStep {
    act => "act" ("监测步骤", "Case step"),
    by => "by" ("操作人账号", "Login"),
    name => "name" ("操作人姓名", "Name"),
    on => "on" ("日期", "Date"),
    text => "text" ("说明", "Why / what was found"),
    source => "source" ("线索来源", "Clue source"),
    kind => "kind" ("监测类型", "Monitoring type"),
});

field_table!(Measure {
    kind => "kind" ("措施类别", "Kind of help"),
    start => "start" ("开始日期", "From"),
    end => "end" ("结束日期", "Until"),
    amount => "amount" ("金额", "Amount"),
    provider => "provider" ("提供单位", "Provided by"),
    note => "note" ("备注", "Note"),
    by => "by" ("登记人", "Recorded by"),
});

field_table!(Employment {
    status => "status" ("就业状态", "Employment status"),
    channel => "channel" ("就业渠道", "Channel"),
    industry => "industry" ("行业", "Industry"),
    place_scope => "scope" ("务工地点范围", "Place (scope)"),
    place => "place" ("务工地点", "Work place"),
    employer => "employer" ("用工单位", "Employer"),
    monthly_income => "income" ("月收入", "Monthly income"),
    organised => "organised" ("组织化劳务输出", "Organised labour export"),
    returned => "returned" ("当月返乡", "Returned home"),
    wants_training => "wants_training" ("培训意愿", "Wants training"),
    training_wish => "training_wish" ("培训类型", "Training wanted"),
    trained => "trained" ("已参加培训", "Training received"),
});

/// The kind of the field `f` reads, from its type (so a table cannot misstate it).
fn kind_of<T, V: FieldValue>(_f: fn(&T) -> &V) -> ValueKind {
    V::KIND
}

/// The scalar fields of a visit; its nested parts have their own key segments.
impl Table for Visit {
    fn keys() -> Vec<(&'static str, ValueKind, &'static str, &'static str)> {
        let names = ["date", "mode", "absent", "risk_note", "help_note", "note", "review"];
        let kinds = [
            kind_of(|v: &Visit| &v.date),
            kind_of(|v: &Visit| &v.mode),
            kind_of(|v: &Visit| &v.absent_reason),
            kind_of(|v: &Visit| &v.risk_note),
            kind_of(|v: &Visit| &v.help_note),
            kind_of(|v: &Visit| &v.note),
            kind_of(|v: &Visit| &v.review),
        ];
        names
            .into_iter()
            .zip(kinds)
            .map(|(name, kind)| {
                let (zh, en) = Self::label(name).expect("every visit field has a label");
                (name, kind, zh, en)
            })
            .collect()
    }
    fn label(name: &str) -> Option<(&'static str, &'static str)> {
        match name {
            "date" => Some(("走访日期", "Visit date")),
            "mode" => Some(("走访方式", "Visit mode")),
            "absent" => Some(("未遇原因", "Why not met")),
            "risk_note" => Some(("风险说明", "Risk note")),
            "help_note" => Some(("帮扶说明", "Help note")),
            "note" => Some(("备注", "Notes")),
            "review" => Some(("审核状态", "Review status")),
            _ => None,
        }
    }
    fn write(&self, prefix: &str, out: &mut Fields) {
        let mut put = |name: &str, v: Option<Scalar>| {
            if let Some(v) = v {
                out.insert(format!("{prefix}{name}"), v);
            }
        };
        put("date", self.date.to_scalar());
        put("mode", self.mode.to_scalar());
        put("absent", self.absent_reason.to_scalar());
        put("risk_note", self.risk_note.to_scalar());
        put("help_note", self.help_note.to_scalar());
        put("note", self.note.to_scalar());
        put("review", self.review.to_scalar());
    }
    fn read(&mut self, name: &str, key: &str, v: Scalar) -> Result<(), SchemaError> {
        match name {
            "date" => self.date = FieldValue::from_scalar(key, v)?,
            "mode" => self.mode = FieldValue::from_scalar(key, v)?,
            "absent" => self.absent_reason = FieldValue::from_scalar(key, v)?,
            "risk_note" => self.risk_note = FieldValue::from_scalar(key, v)?,
            "help_note" => self.help_note = FieldValue::from_scalar(key, v)?,
            "note" => self.note = FieldValue::from_scalar(key, v)?,
            "review" => self.review = FieldValue::from_scalar(key, v)?,
            _ => return Err(SchemaError::UnknownKey(key.to_owned())),
        }
        Ok(())
    }
}

/// Is `id` usable as a key segment: 1..=32 of `[A-Za-z0-9_.-]`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn check_id(key: &str, id: &str) -> Result<(), SchemaError> {
    if is_valid_id(id) { Ok(()) } else { Err(SchemaError::BadId { key: key.to_owned(), id: id.to_owned() }) }
}

/// The flat form of `household`. Fails if an id (member, visitor, period key) cannot be
/// used as a key segment.
pub fn encode(household: &Household) -> Result<Fields, SchemaError> {
    let mut out = Fields::new();
    out.insert("schema".into(), Scalar::Int(SCHEMA_VERSION));
    household.facts.write("f/", &mut out);
    for (id, member) in &household.members {
        check_id("m/", id)?;
        member.write(&format!("m/{id}/"), &mut out);
    }
    if let Some(status) = household.case.status {
        out.insert("k/status".into(), Scalar::Str(status.code().to_owned()));
    }
    for (entry, step) in &household.case.steps {
        check_id("k/s/", entry)?;
        step.write(&format!("k/s/{entry}/"), &mut out);
    }
    for (id, measure) in &household.measures {
        check_id("p/", id)?;
        measure.write(&format!("p/{id}/"), &mut out);
    }
    for (period, visit) in &household.visits {
        check_id("v/", period)?;
        let p = format!("v/{period}/");
        visit.write(&p, &mut out);
        for (user, name) in &visit.visitors {
            check_id(&p, user)?;
            // A visitor is recorded even when the name is unknown.
            let name = if name.is_empty() { user.clone() } else { name.clone() };
            out.insert(format!("{p}by/{user}"), Scalar::Str(name));
        }
        for (member, e) in &visit.employment {
            check_id(&p, member)?;
            e.write(&format!("{p}e/{member}/"), &mut out);
        }
        for (c, amount) in visit.income.items() {
            if let Some(a) = amount {
                out.insert(format!("{p}i/{}", c.code()), Scalar::Int(a));
            }
        }
        for (x, amount) in &visit.expenses {
            out.insert(format!("{p}x/{}", x.code()), Scalar::Int(*amount));
        }
        for (g, answer) in visit.guarantees.items() {
            if let Some(a) = answer {
                out.insert(format!("{p}g/{}", g.code()), Scalar::Bool(a));
            }
        }
        for r in &visit.risks {
            out.insert(format!("{p}r/{}", r.code()), Scalar::Bool(true));
        }
        for (h, state) in &visit.help {
            out.insert(format!("{p}h/{}", h.code()), Scalar::Str(state.code().to_owned()));
        }
        for (entry, a) in &visit.attachments {
            check_id(&p, entry)?;
            write_attachment(a, &format!("{p}a/{entry}/"), &mut out);
        }
        let loc = &visit.location;
        for (name, value) in [("lat", loc.lat), ("lon", loc.lon), ("acc", loc.accuracy), ("at", loc.at)] {
            if let Some(v) = value {
                out.insert(format!("{p}loc/{name}"), Scalar::Int(v));
            }
        }
        for (entry, review) in &visit.reviews {
            check_id(&p, entry)?;
            let r = format!("{p}rv/{entry}/");
            out.insert(format!("{r}at"), Scalar::Int(review.at));
            let texts = [("act", review.action.map(|a| a.code().to_owned())), ("by", Some(review.by.clone()))];
            let more = [("name", Some(review.name.clone())), ("text", Some(review.comment.clone()))];
            for (name, value) in texts.into_iter().chain(more) {
                if let Some(v) = value.filter(|v| !v.is_empty()) {
                    out.insert(format!("{r}{name}"), Scalar::Str(v));
                }
            }
        }
    }
    Ok(out)
}

/// Checks one key and value against the layout without building a household.
pub fn check(key: &str, value: &Scalar) -> Result<(), SchemaError> {
    Decoder::default().read(key, value.clone())
}

/// The household held by `fields`. Fails on the first key or value that breaks the
/// layout, or when limits are exceeded.
pub fn decode<I>(fields: I) -> Result<Household, SchemaError>
where
    I: IntoIterator<Item = (String, Scalar)>,
{
    let mut decoder = Decoder::default();
    for (key, value) in fields {
        decoder.read(&key, value)?;
    }
    Ok(decoder.finish())
}

/// A household built one field at a time, as [`decode`] does, from borrowed keys: the
/// document is read straight into it without copying its (several hundred) keys.
#[derive(Debug, Default)]
pub struct Decoder {
    household: Household,
}

impl Decoder {
    /// Reads the value under `key` into the household. Fails on a key or value that
    /// breaks the layout, or when limits are exceeded.
    pub fn read(&mut self, key: &str, value: Scalar) -> Result<(), SchemaError> {
        let h = &mut self.household;
        read_into(h, key, value)?;
        if h.members.len() > MAX_MEMBERS {
            return Err(SchemaError::TooMany { what: "members", count: h.members.len(), limit: MAX_MEMBERS });
        }
        if h.visits.len() > MAX_VISITS {
            return Err(SchemaError::TooMany { what: "visits", count: h.visits.len(), limit: MAX_VISITS });
        }
        Ok(())
    }

    /// The household read so far.
    pub fn finish(self) -> Household {
        self.household
    }
}

/// The segments of a key (at most the six the layout's longest keys have); `None`
/// for a longer key, which the layout does not know.
fn segments(key: &str) -> Option<([&str; 6], usize)> {
    // A byte scan: keys are short, and `str::split` costs more than the rest of
    // reading a field. '/' is ASCII, so every cut falls on a character boundary.
    let mut parts = [""; 6];
    let (mut n, mut start) = (0, 0);
    for (i, b) in key.bytes().enumerate() {
        if b == b'/' {
            *parts.get_mut(n)? = &key[start..i];
            n += 1;
            start = i + 1;
        }
    }
    *parts.get_mut(n)? = &key[start..];
    Some((parts, n + 1))
}

/// The entry under `id`, inserted (default) when absent; the id is copied only then.
/// Keys arrive sorted (Automerge lists a map's keys in order), so the entry wanted is
/// nearly always the last one: that is looked at first, without a search.
fn entry<'m, V: Default>(map: &'m mut BTreeMap<String, V>, id: &str) -> &'m mut V {
    if map.last_key_value().is_some_and(|(last, _)| last == id) {
        return map.last_entry().expect("not empty: its last key was just read").into_mut();
    }
    map.entry(id.to_owned()).or_default()
}

fn read_into(h: &mut Household, key: &str, value: Scalar) -> Result<(), SchemaError> {
    let unknown = || SchemaError::UnknownKey(key.to_owned());
    let (parts, n) = segments(key).ok_or_else(unknown)?;
    match &parts[..n] {
        ["schema"] => match value {
            Scalar::Int(v) if v > SCHEMA_VERSION => Err(SchemaError::NewerSchema(v)),
            Scalar::Int(v) if v >= 1 => Ok(()),
            _ => Err(wrong(key, "a schema version")),
        },
        ["f", name] => h.facts.read(name, key, value),
        ["m", id, name] => {
            check_id(key, id)?;
            entry(&mut h.members, id).read(name, key, value)
        }
        ["v", period, rest @ ..] => {
            check_id(key, period)?;
            read_visit(entry(&mut h.visits, period), rest, key, value)
        }
        ["k", "status"] => {
            h.case.status = FieldValue::from_scalar(key, value)?;
            Ok(())
        }
        ["k", "s", step, name] => {
            check_id(key, step)?;
            let steps = h.case.steps.len() + usize::from(!h.case.steps.contains_key(*step));
            at_most(CASE_STEPS, steps, MAX_CASE_STEPS)?;
            entry(&mut h.case.steps, step).read(name, key, value)
        }
        ["p", id, name] => {
            check_id(key, id)?;
            let measures = h.measures.len() + usize::from(!h.measures.contains_key(*id));
            at_most(MEASURES, measures, MAX_MEASURES)?;
            entry(&mut h.measures, id).read(name, key, value)
        }
        _ => Err(unknown()),
    }
}

const VISITORS: &str = "visitors in one visit";
const REVIEW_STEPS: &str = "review steps in one visit";
const ATTACHMENTS: &str = "attachments in one visit";
const CASE_STEPS: &str = "steps in a monitoring case";
const MEASURES: &str = "help measures";

fn at_most(what: &'static str, count: usize, limit: usize) -> Result<(), SchemaError> {
    if count > limit { Err(SchemaError::TooMany { what, count, limit }) } else { Ok(()) }
}

fn read_visit(visit: &mut Visit, rest: &[&str], key: &str, value: Scalar) -> Result<(), SchemaError> {
    let unknown = || SchemaError::UnknownKey(key.to_owned());
    match rest {
        [name] => visit.read(name, key, value),
        ["by", user] => {
            check_id(key, user)?;
            visit.visitors.insert((*user).to_owned(), text(key, value)?);
            at_most(VISITORS, visit.visitors.len(), MAX_VISITORS)
        }
        ["e", member, name] => {
            check_id(key, member)?;
            entry(&mut visit.employment, member).read(name, key, value)
        }
        ["i", code] => {
            let c = IncomeComponent::from_code(code).ok_or_else(unknown)?;
            *visit.income.slot(c) = FieldValue::from_scalar(key, value)?;
            Ok(())
        }
        ["x", code] => {
            let x = Expense::from_code(code).ok_or_else(unknown)?;
            let amount: Option<i64> = FieldValue::from_scalar(key, value)?;
            if let Some(a) = amount {
                visit.expenses.insert(x, a);
            }
            Ok(())
        }
        ["g", code] => {
            let g = Guarantee::from_code(code).ok_or_else(unknown)?;
            *visit.guarantees.slot(g) = FieldValue::from_scalar(key, value)?;
            Ok(())
        }
        ["r", code] => {
            let r = RiskSignal::from_code(code).ok_or_else(unknown)?;
            if bool::from_scalar(key, value)? {
                visit.risks.insert(r);
            }
            Ok(())
        }
        ["rv", entry, name] => {
            check_id(key, entry)?;
            let steps = visit.reviews.len() + usize::from(!visit.reviews.contains_key(*entry));
            at_most(REVIEW_STEPS, steps, MAX_REVIEW_STEPS)?;
            let review = self::entry(&mut visit.reviews, entry);
            match *name {
                "act" => review.action = FieldValue::from_scalar(key, value)?,
                "by" => review.by = text(key, value)?,
                "name" => review.name = text(key, value)?,
                "text" => review.comment = text(key, value)?,
                "at" => match value {
                    Scalar::Int(at) if (0..=MAX_UNIX_SECONDS).contains(&at) => review.at = at,
                    Scalar::Int(value) => return Err(SchemaError::OutOfRange { key: key.to_owned(), value }),
                    _ => return Err(wrong(key, "Unix seconds")),
                },
                _ => return Err(unknown()),
            }
            Ok(())
        }
        ["a", entry, name] => {
            check_id(key, entry)?;
            let count = visit.attachments.len() + usize::from(!visit.attachments.contains_key(*entry));
            at_most(ATTACHMENTS, count, MAX_ATTACHMENTS)?;
            read_attachment(self::entry(&mut visit.attachments, entry), entry, name, key, value)
        }
        ["loc", name] => {
            let (slot, range) = match *name {
                "lat" => (&mut visit.location.lat, -90_000_000..=90_000_000),
                "lon" => (&mut visit.location.lon, -180_000_000..=180_000_000),
                "acc" => (&mut visit.location.accuracy, 0..=1_000_000),
                "at" => (&mut visit.location.at, 0..=MAX_UNIX_SECONDS),
                _ => return Err(unknown()),
            };
            *slot = Some(int_in(key, value, range)?);
            Ok(())
        }
        ["h", code] => {
            let kind = HelpKind::from_code(code).ok_or_else(unknown)?;
            let state: Option<HelpState> = FieldValue::from_scalar(key, value)?;
            if let Some(s) = state {
                visit.help.insert(kind, s);
            }
            Ok(())
        }
        _ => Err(unknown()),
    }
}

/// An integer within `range`.
fn int_in(key: &str, value: Scalar, range: std::ops::RangeInclusive<i64>) -> Result<i64, SchemaError> {
    match value {
        Scalar::Int(v) if range.contains(&v) => Ok(v),
        Scalar::Int(value) => Err(SchemaError::OutOfRange { key: key.to_owned(), value }),
        _ => Err(wrong(key, "an integer")),
    }
}

/// The keys of one attachment (`v/<P>/a/<entry>/`), with their labels.
pub const ATTACHMENT_KEYS: [(&str, &str, &str); 9] = [
    ("sha256", "SHA-256", "SHA-256"),
    ("thumb", "缩略图", "Thumbnail"),
    ("kind", "佐证类别", "Kind of evidence"),
    ("media", "格式", "Format"),
    ("size", "大小", "Size"),
    ("caption", "说明", "Caption"),
    ("by", "添加人", "Added by"),
    ("at", "添加时间", "Added at"),
    ("removed", "已删除", "Removed"),
];

/// The keys of a location fix (`v/<P>/loc/`), with their labels.
pub const LOCATION_KEYS: [(&str, &str, &str); 4] = [
    ("lat", "纬度", "Latitude"),
    ("lon", "经度", "Longitude"),
    ("acc", "精度（米）", "Accuracy (m)"),
    ("at", "定位时间", "Taken at"),
];

fn write_attachment(a: &Attachment, prefix: &str, out: &mut Fields) {
    let mut put = |name: &str, v: Option<Scalar>| {
        if let Some(v) = v {
            out.insert(format!("{prefix}{name}"), v);
        }
    };
    put("sha256", a.sha256.to_scalar());
    put("thumb", a.thumb.to_scalar());
    put("kind", a.kind.to_scalar());
    put("media", a.media.to_scalar());
    put("size", a.size.to_scalar());
    put("caption", a.caption.to_scalar());
    put("by", a.by.to_scalar());
    put("at", a.at.map(Scalar::Int));
    put("removed", a.removed.to_scalar());
}

fn read_attachment(a: &mut Attachment, entry: &str, name: &str, key: &str, v: Scalar) -> Result<(), SchemaError> {
    let hash = |v: Scalar| -> Result<String, SchemaError> {
        let s = text(key, v)?;
        if is_sha256(&s) { Ok(s) } else { Err(wrong(key, "a SHA-256 (64 lowercase hex digits)")) }
    };
    match name {
        "sha256" => {
            let s = hash(v)?;
            if entry_of(&s) != entry {
                return Err(wrong(key, "the SHA-256 whose first 32 digits are the entry"));
            }
            a.sha256 = s;
        }
        "thumb" => a.thumb = hash(v)?,
        "kind" => a.kind = FieldValue::from_scalar(key, v)?,
        "media" => a.media = FieldValue::from_scalar(key, v)?,
        "size" => a.size = Some(int_in(key, v, 1..=MAX_BLOB_BYTES as i64)?),
        "caption" => a.caption = text(key, v)?,
        "by" => a.by = text(key, v)?,
        "at" => a.at = Some(int_in(key, v, 0..=MAX_UNIX_SECONDS)?),
        "removed" => a.removed = FieldValue::from_scalar(key, v)?,
        _ => return Err(SchemaError::UnknownKey(key.to_owned())),
    }
    Ok(())
}

/// A person-readable name for the field under `key`, e.g. `2026-11 走访 · 王芳 · 月收入`.
/// Member ids are shown as the member's name when `household` knows it.
pub fn describe(key: &str, household: &Household, lang: Lang) -> String {
    let pick = |(zh, en): (&'static str, &'static str)| if lang == Lang::Zh { zh } else { en };
    let member = |id: &str| household.members.get(id).map_or_else(|| id.to_owned(), |m| m.name.clone());
    let visit = |p: &str| if lang == Lang::Zh { format!("{p} 走访") } else { format!("{p} visit") };
    let coded = |s: Option<(&'static str, &'static str)>| s.map(pick).unwrap_or("?").to_owned();
    let parts: Vec<&str> = key.split('/').collect();
    let segments: Vec<String> = match parts.as_slice() {
        ["schema"] => vec!["schema".into()],
        ["f", name] => vec![coded(Facts::label(name))],
        ["m", id, name] => vec![member(id), coded(Member::label(name))],
        ["v", p, name] => vec![visit(p), coded(Visit::label(name))],
        ["v", p, "by", user] => vec![visit(p), pick(("走访人", "Visitor")).to_owned(), (*user).to_owned()],
        ["v", p, "e", id, name] => vec![visit(p), member(id), coded(Employment::label(name))],
        ["v", p, "i", c] => vec![visit(p), coded(IncomeComponent::from_code(c).map(|c| (c.zh(), c.en())))],
        ["v", p, "x", c] => vec![visit(p), coded(Expense::from_code(c).map(|c| (c.zh(), c.en())))],
        ["v", p, "g", c] => vec![visit(p), coded(Guarantee::from_code(c).map(|c| (c.zh(), c.en())))],
        ["v", p, "r", c] => vec![visit(p), coded(RiskSignal::from_code(c).map(|c| (c.zh(), c.en())))],
        ["v", p, "h", c] => vec![visit(p), coded(HelpKind::from_code(c).map(|c| (c.zh(), c.en())))],
        ["v", p, "a", entry, name] => {
            let kind = household
                .visits
                .get(*p)
                .and_then(|v| v.attachments.get(*entry))
                .and_then(|a| a.kind)
                .map(|k| pick((k.zh(), k.en())).to_owned());
            let field = ATTACHMENT_KEYS.iter().find(|k| k.0 == *name).map(|k| (k.1, k.2));
            vec![visit(p), kind.unwrap_or_else(|| pick(("佐证", "Evidence")).to_owned()), coded(field)]
        }
        ["v", p, "loc", name] => {
            let field = LOCATION_KEYS.iter().find(|k| k.0 == *name).map(|k| (k.1, k.2));
            vec![visit(p), pick(("走访定位", "Location")).to_owned(), coded(field)]
        }
        ["v", p, "rv", entry, _] => vec![visit(p), pick(("审核记录", "Review")).to_owned(), (*entry).to_owned()],
        ["k", "status"] => vec![pick(("监测状态", "Case status")).to_owned()],
        ["k", "s", entry, name] => {
            vec![pick(("监测步骤", "Case step")).to_owned(), (*entry).to_owned(), coded(CaseStep::label(name))]
        }
        ["p", id, name] => {
            let kind = household.measures.get(*id).and_then(|m| m.kind).map(|k| pick((k.zh(), k.en())).to_owned());
            vec![
                pick(("帮扶措施", "Help measure")).to_owned(),
                kind.unwrap_or_else(|| (*id).to_owned()),
                coded(Measure::label(name)),
            ]
        }
        _ => vec![key.to_owned()],
    };
    segments.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    #[test]
    fn keys_follow_the_documented_layout() {
        let mut h = Household::default();
        h.facts.registry_no = "5223010001".into();
        h.facts.dibao = true;
        h.members.insert(
            "k1".into(),
            Member { name: "王芳".into(), labour: Some(LabourCapacity::Full), ..Default::default() },
        );
        let mut v = Visit { mode: Some(VisitMode::InPerson), ..Default::default() };
        v.visitors.insert("cadre01".into(), "李明".into());
        v.employment.insert(
            "k1".into(),
            Employment { status: Some(EmploymentStatus::Employed), monthly_income: Some(3200), ..Default::default() },
        );
        v.income.wage = Some(3200);
        v.guarantees.water = Some(false);
        v.risks.insert(RiskSignal::Illness);
        v.help.insert(HelpKind::Training, HelpState::Needed);
        h.visits.insert("2026-11".into(), v);
        let f = encode(&h).unwrap();
        let keys: Vec<&str> = f.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "f/dibao",
                "f/no",
                "m/k1/labour",
                "m/k1/name",
                "schema",
                "v/2026-11/by/cadre01",
                "v/2026-11/e/k1/income",
                "v/2026-11/e/k1/status",
                "v/2026-11/g/water",
                "v/2026-11/h/training",
                "v/2026-11/i/wage",
                "v/2026-11/mode",
                "v/2026-11/r/illness",
            ]
        );
        assert_eq!(f["v/2026-11/e/k1/status"], Scalar::Str("employed".into()));
        assert_eq!(decode(f).unwrap(), h);
        assert_eq!(describe("v/2026-11/e/k1/income", &h, Lang::Zh), "2026-11 走访 · 王芳 · 月收入");
        assert_eq!(describe("m/k1/labour", &h, Lang::En), "王芳 · Labour capacity");
    }

    #[test]
    fn keys_in_any_order_read_alike() {
        let mut h = Household::default();
        for (id, name) in [("k1", "王芳"), ("k2", "李强"), ("k3", "张丽")] {
            h.members.insert(
                id.into(),
                Member { name: name.into(), labour: Some(LabourCapacity::Full), ..Default::default() },
            );
        }
        for (period, wage) in [("2026-09", 2800), ("2026-10", 3000), ("2026-11", 3200)] {
            let mut v = Visit { mode: Some(VisitMode::InPerson), ..Default::default() };
            for id in ["k1", "k3"] {
                let e = Employment {
                    status: Some(EmploymentStatus::Employed),
                    monthly_income: Some(wage),
                    ..Default::default()
                };
                v.employment.insert(id.into(), e);
            }
            v.add_review(ReviewAction::Approve, "sup01", "赵督导", 1_795_000_000, "好");
            h.visits.insert(period.into(), v);
        }
        let sorted: Vec<(String, Scalar)> = encode(&h).unwrap().into_iter().collect();
        assert_eq!(decode(sorted.clone()).unwrap(), h, "sorted, as Automerge lists them");
        assert_eq!(decode(sorted.iter().rev().cloned()).unwrap(), h, "reversed");
        let mut shuffled = sorted.clone();
        shuffled.sort_by_key(|(k, _)| k.bytes().rev().collect::<Vec<u8>>());
        assert_eq!(decode(shuffled).unwrap(), h, "interleaved");
        for key in ["v/2026-11/e/k1/status/x", "v/2026-11/e/k1/status/x/y/z", "", "/", "m/k1"] {
            let err = decode([(key.to_owned(), Scalar::Str("employed".into()))]).unwrap_err();
            assert_eq!(err, SchemaError::UnknownKey(key.into()), "{key:?}");
        }
    }

    #[test]
    fn schema_breaks_are_named() {
        let one = |k: &str, v: Scalar| decode([(k.to_owned(), v)]).unwrap_err();
        assert_eq!(one("f/nope", Scalar::Bool(true)), SchemaError::UnknownKey("f/nope".into()));
        assert!(matches!(one("f/dibao", Scalar::Str("yes".into())), SchemaError::WrongType { .. }));
        assert!(matches!(one("m/k1/sex", Scalar::Str("x".into())), SchemaError::WrongType { .. }));
        assert!(matches!(one("m/k 1/name", Scalar::Str("x".into())), SchemaError::BadId { .. }));
        assert!(matches!(one("v/2026-11/i/wage", Scalar::Int(MAX_AMOUNT + 1)), SchemaError::OutOfRange { .. }));
        assert!(matches!(
            one("v/2026-11/note", Scalar::Str("长".repeat(MAX_TEXT_CHARS + 1))),
            SchemaError::TooLong { .. }
        ));
        assert_eq!(one("schema", Scalar::Int(99)), SchemaError::NewerSchema(99));
        let many = (0..=MAX_MEMBERS).map(|i| (format!("m/x{i}/name"), Scalar::Str("a".into())));
        assert!(matches!(decode(many).unwrap_err(), SchemaError::TooMany { what: "members", .. }));
        let bad_member = Household { members: [("a/b".to_owned(), Member::default())].into(), ..Default::default() };
        assert!(matches!(encode(&bad_member), Err(SchemaError::BadId { .. })));
    }

    #[test]
    fn review_steps_round_trip_and_decide_the_status() {
        let mut v = Visit { mode: Some(VisitMode::InPerson), ..Default::default() };
        assert_eq!(v.review_status(), Some(ReviewStatus::Pending));
        let returned = v.add_review(ReviewAction::Return, "sup01", "赵督导", 1_795_000_000, "工资填写有误");
        assert_eq!(returned, "1795000000-sup01");
        assert_eq!(v.review_status(), Some(ReviewStatus::Returned));
        v.add_review(ReviewAction::Resubmit, "cadre01", "李明", 1_795_000_100, "");
        assert_eq!(v.review_status(), Some(ReviewStatus::Pending));
        v.add_review(ReviewAction::Approve, "sup01", "赵督导", 1_795_000_200, "");
        assert_eq!(v.review_status(), Some(ReviewStatus::Approved));
        let h = Household { visits: [("2026-11".to_owned(), v.clone())].into(), ..Default::default() };
        let flat = encode(&h).unwrap();
        assert_eq!(flat["v/2026-11/rv/1795000000-sup01/text"], Scalar::Str("工资填写有误".into()));
        assert_eq!(flat["v/2026-11/rv/1795000000-sup01/act"], Scalar::Str("return".into()));
        assert_eq!(flat["v/2026-11/rv/1795000000-sup01/at"], Scalar::Int(1_795_000_000));
        assert!(!flat.contains_key("v/2026-11/rv/1795000100-cadre01/text"), "empty comments are not stored");
        assert_eq!(flat["v/2026-11/review"], Scalar::Str("approved".into()));
        assert_eq!(decode(flat).unwrap().visits["2026-11"], v);
        let thread: Vec<_> = v.review_thread().into_iter().map(|(_, r)| r.action).collect();
        assert_eq!(thread, [Some(ReviewAction::Return), Some(ReviewAction::Resubmit), Some(ReviewAction::Approve)]);
        let no_visit = Visit::default();
        assert_eq!(no_visit.review_status(), None, "nothing recorded, nothing to review");
        let bad = |k: &str, v: Scalar| decode([(k.to_owned(), v)]).unwrap_err();
        assert!(matches!(bad("v/2026-11/rv/1-a/at", Scalar::Int(-1)), SchemaError::OutOfRange { .. }));
        assert!(matches!(bad("v/2026-11/rv/1-a/act", Scalar::Str("maybe".into())), SchemaError::WrongType { .. }));
        assert_eq!(bad("v/2026-11/rv/1-a/x", Scalar::Int(1)), SchemaError::UnknownKey("v/2026-11/rv/1-a/x".into()));
    }
}
