//! Validation: every problem in a household at once, each with the field path (the
//! key of `fields.rs`, so a form can put the message under its input) and a message
//! in Chinese and English. The phone shows them inline; the server refuses a
//! document only for the rules that mean "malformed" ([`Rule::rejects_document`]),
//! because a merge of two valid records may be incomplete and must still be kept.

use crate::idcard::{IdNumberError, parse_id_number};
use crate::label::{Coded, Lang};
use crate::model::{
    EmploymentStatus, Household, IncomeComponent, Member, MemberStatus, Relation, RiskSignal, VisitMode,
};
use crate::period::{Date, Period};

/// Which rule a problem breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// 户编码 is empty.
    RegistryNoMissing,
    /// The relocation year is not between 1980 and this year.
    RelocatedYearOutOfRange,
    /// A member has no name.
    MemberNameMissing,
    /// A birth date after today.
    BirthInFuture,
    /// An ID number that is not 18 characters of the right kind.
    IdNumberFormat,
    /// An ID number whose GB 11643 check digit is wrong.
    IdNumberCheckDigit,
    /// An ID number whose birth date differs from the member's birth date.
    IdNumberBirthMismatch,
    /// An ID number whose sex digit differs from the member's sex.
    IdNumberSexMismatch,
    /// More than one present member is the head of household.
    SeveralHeads,
    /// A visit key that is not a `YYYY-MM` period.
    PeriodFormat,
    /// A visit for a period that has not started yet.
    PeriodInFuture,
    /// A visit without a mode.
    VisitModeMissing,
    /// A visit date outside its period, or after today.
    VisitDateOutsidePeriod,
    /// A visit with nobody recorded as visitor.
    VisitorMissing,
    /// An in-person visit leaves a labour-force member without an employment status.
    EmploymentStatusMissing,
    /// Employed, but no channel.
    EmployedWithoutChannel,
    /// A channel that names a place disagrees with the place scope.
    ChannelPlaceMismatch,
    /// Not employed, yet job details recorded.
    JobDetailsWithoutJob,
    /// Employment recorded for a member id the household does not have.
    EmploymentForUnknownMember,
    /// A negative amount where only zero or more makes sense.
    NegativeAmount,
    /// A monthly amount above 100,000 yuan: probably a typing slip.
    ImplausibleAmount,
    /// Risk "other" without a note saying what it is.
    RiskOtherWithoutNote,
    /// A change of membership without its date, or dated after today.
    MemberChangeDate,
    /// A change of membership that disagrees with the member's status.
    MemberChangeStatus,
    /// A contact phone number that is not 11 digits starting with 1, nor a landline.
    PhoneFormat,
    /// 未遇 without saying why.
    AbsentReasonMissing,
    /// A reason for not meeting the household, on a visit that met it.
    AbsentReasonWithoutNotMet,
    /// A member under 16 recorded as employed: not counted as employed anywhere.
    MinorEmployed,
    /// A help measure without its kind or start date.
    MeasureIncomplete,
    /// A help measure that ends before it starts.
    MeasureEndBeforeStart,
}

impl Rule {
    /// Malformed data no honest client produces: the server refuses the document.
    pub fn rejects_document(self) -> bool {
        matches!(self, Rule::PeriodFormat | Rule::EmploymentForUnknownMember)
    }
}

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look; saving is allowed.
    Warning,
    /// Must be fixed before the screen is saved.
    Error,
}

/// One problem found in a household.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Problem {
    /// The field's path key, e.g. `v/2026-11/e/k1/channel`.
    pub path: String,
    /// The rule broken.
    pub rule: Rule,
    /// Error or warning.
    pub severity: Severity,
    /// 中文说明.
    pub zh: String,
    /// English message.
    pub en: String,
}

impl Problem {
    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

/// Largest plausible monthly amount, in yuan.
pub const PLAUSIBLE_MONTHLY_MAX: i64 = 100_000;

struct Report(Vec<Problem>);

impl Report {
    fn error(&mut self, path: impl Into<String>, rule: Rule, zh: impl Into<String>, en: impl Into<String>) {
        self.push(path, rule, Severity::Error, zh, en);
    }
    fn warn(&mut self, path: impl Into<String>, rule: Rule, zh: impl Into<String>, en: impl Into<String>) {
        self.push(path, rule, Severity::Warning, zh, en);
    }
    fn push(
        &mut self,
        path: impl Into<String>,
        rule: Rule,
        severity: Severity,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) {
        self.0.push(Problem { path: path.into(), rule, severity, zh: zh.into(), en: en.into() });
    }
    fn amount(&mut self, path: String, value: Option<i64>, may_be_negative: bool) {
        let Some(v) = value else { return };
        if v < 0 && !may_be_negative {
            self.error(
                path,
                Rule::NegativeAmount,
                format!("金额不能为负数（{v} 元）"),
                format!("The amount cannot be negative ({v} yuan)"),
            );
        } else if v.abs() > PLAUSIBLE_MONTHLY_MAX {
            self.warn(
                path,
                Rule::ImplausibleAmount,
                format!("{v} 元/月 偏高，请核实是否多输了一位"),
                format!("{v} yuan a month is unusually high; check for an extra digit"),
            );
        }
    }
}

/// Every problem in `household`, judged on `today`.
pub fn validate(household: &Household, today: Date) -> Vec<Problem> {
    let mut r = Report(Vec::new());
    facts(household, today, &mut r);
    members(household, today, &mut r);
    for key in household.visits.keys() {
        visit(household, key, today, &mut r);
    }
    measures(household, &mut r);
    r.0
}

fn facts(h: &Household, today: Date, r: &mut Report) {
    if h.facts.registry_no.trim().is_empty() {
        r.error("f/no", Rule::RegistryNoMissing, "户编码不能为空", "The registry number is required");
    }
    if let Some(y) = h.facts.relocated_year
        && !(1980..=i64::from(today.year())).contains(&y)
    {
        r.error(
            "f/year",
            Rule::RelocatedYearOutOfRange,
            format!("搬迁年份 {y} 不在 1980 年至今年之间"),
            format!("Relocation year {y} is not between 1980 and this year"),
        );
    }
}

fn members(h: &Household, today: Date, r: &mut Report) {
    let mut heads = Vec::new();
    for (id, m) in &h.members {
        let p = |f: &str| format!("m/{id}/{f}");
        if m.name.trim().is_empty() {
            r.error(p("name"), Rule::MemberNameMissing, "成员姓名不能为空", "The member's name is required");
        }
        if let Some(b) = m.birth_date
            && b > today
        {
            r.error(
                p("birth"),
                Rule::BirthInFuture,
                format!("出生日期 {b} 晚于今天"),
                format!("Birth date {b} is in the future"),
            );
        }
        if m.relation == Some(Relation::Head) && m.is_present() {
            heads.push(id);
        }
        membership(m, today, &p, r);
        if m.id_number.is_empty() {
            continue;
        }
        match parse_id_number(&m.id_number) {
            Err(IdNumberError::Format) => r.error(
                p("id_no"),
                Rule::IdNumberFormat,
                "身份证号应为18位：17位数字加1位数字或X",
                "An ID number is 18 characters: 17 digits and a final digit or X",
            ),
            Err(IdNumberError::BirthDate) => r.error(
                p("id_no"),
                Rule::IdNumberFormat,
                "身份证号中的出生日期不存在",
                "The birth date inside the ID number does not exist",
            ),
            Err(IdNumberError::CheckDigit { expected }) => r.error(
                p("id_no"),
                Rule::IdNumberCheckDigit,
                format!("身份证号校验位错误（应为 {expected}），可能有数字输错"),
                format!("The ID number's check digit is wrong (expected {expected}); a digit was probably mistyped"),
            ),
            Ok(info) => {
                if m.birth_date.is_some_and(|b| b != info.birth_date) {
                    r.error(
                        p("id_no"),
                        Rule::IdNumberBirthMismatch,
                        format!("身份证号中的出生日期 {} 与填写的出生日期不一致", info.birth_date),
                        format!("The ID number's birth date {} differs from the recorded birth date", info.birth_date),
                    );
                }
                if m.sex.is_some_and(|s| s != info.sex) {
                    r.warn(
                        p("id_no"),
                        Rule::IdNumberSexMismatch,
                        format!("身份证号显示性别为{}，与填写的不一致", info.sex.zh()),
                        format!("The ID number says {}, unlike the recorded sex", info.sex.en().to_lowercase()),
                    );
                }
            }
        }
    }
    if heads.len() > 1 {
        for id in heads {
            r.error(
                format!("m/{id}/relation"),
                Rule::SeveralHeads,
                "一户只能有一位户主",
                "A household has only one head",
            );
        }
    }
}

/// A member's change of membership and contact number.
fn membership(m: &Member, today: Date, p: &dyn Fn(&str) -> String, r: &mut Report) {
    match (m.change, m.changed_on) {
        (Some(_), None) => {
            r.error(p("changed_on"), Rule::MemberChangeDate, "请填写成员变动的日期", "Give the date of the change")
        }
        (_, Some(d)) if d > today => r.error(
            p("changed_on"),
            Rule::MemberChangeDate,
            format!("变动日期 {d} 晚于今天"),
            format!("The change's date {d} is in the future"),
        ),
        _ => {}
    }
    if let Some(c) = m.change
        && m.status.unwrap_or(MemberStatus::Present) != c.status()
    {
        r.error(
            p("status"),
            Rule::MemberChangeStatus,
            format!("成员状态与变动原因“{}”不一致", c.zh()),
            format!("The member's status disagrees with the change “{}”", c.en()),
        );
    }
    let digits: String = m.phone.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let mobile = digits.len() == 11 && digits.starts_with('1');
    let landline = (10..=12).contains(&digits.len()) && digits.starts_with('0');
    if !digits.is_empty() && (!digits.bytes().all(|b| b.is_ascii_digit()) || !(mobile || landline)) {
        r.warn(
            p("phone"),
            Rule::PhoneFormat,
            "联系电话应为11位手机号或带区号的固定电话",
            "A phone number is 11 digits starting with 1, or a landline with its area code",
        );
    }
}

/// The ledger of help measures: each with its kind and start, ending after it starts.
fn measures(h: &Household, r: &mut Report) {
    for (id, m) in &h.measures {
        let p = |f: &str| format!("p/{id}/{f}");
        if m.kind.is_none() {
            r.error(p("kind"), Rule::MeasureIncomplete, "请选择帮扶措施类别", "Choose the kind of help")
        }
        if m.start.is_none() {
            r.error(p("start"), Rule::MeasureIncomplete, "请填写帮扶措施的开始日期", "Give the date the help started")
        }
        if let (Some(start), Some(end)) = (m.start, m.end)
            && end < start
        {
            r.error(
                p("end"),
                Rule::MeasureEndBeforeStart,
                format!("结束日期 {end} 早于开始日期 {start}"),
                format!("The end {end} is before the start {start}"),
            );
        }
        if m.amount.is_some_and(|a| a < 0) {
            r.error(p("amount"), Rule::NegativeAmount, "金额不能为负数", "The amount cannot be negative");
        }
    }
}

fn visit(h: &Household, key: &str, today: Date, r: &mut Report) {
    let v = &h.visits[key];
    let p = |f: &str| format!("v/{key}/{f}");
    let Ok(period) = key.parse::<Period>() else {
        r.error(
            format!("v/{key}"),
            Rule::PeriodFormat,
            format!("监测期 {key:?} 格式应为 YYYY-MM"),
            format!("Period {key:?} is not YYYY-MM"),
        );
        return;
    };
    if period > Period::of(today) {
        r.error(
            p("mode"),
            Rule::PeriodInFuture,
            format!("监测期 {key} 尚未开始"),
            format!("Period {key} has not started yet"),
        );
    }
    match v.mode {
        None => r.error(p("mode"), Rule::VisitModeMissing, "请选择走访方式", "Choose how the visit was made"),
        Some(_) if v.visitors.is_empty() => {
            r.warn(p("by"), Rule::VisitorMissing, "未记录走访人", "Nobody is recorded as the visitor")
        }
        Some(_) => {}
    }
    match (v.mode, v.absent_reason) {
        (Some(VisitMode::NotMet), None) => r.error(
            p("absent"),
            Rule::AbsentReasonMissing,
            "未遇须选择原因（外出务工、住院、搬离或其他）",
            "Say why the household was not met (away at work, in hospital, moved away or other)",
        ),
        (Some(m), Some(_)) if m != VisitMode::NotMet => r.warn(
            p("absent"),
            Rule::AbsentReasonWithoutNotMet,
            format!("走访方式为“{}”，却填写了未遇原因", m.zh()),
            format!("The visit was made {}, yet a reason for not meeting is recorded", m.en().to_lowercase()),
        ),
        _ => {}
    }
    if let Some(d) = v.date
        && (Period::of(d) != period || d > today)
    {
        r.error(
            p("date"),
            Rule::VisitDateOutsidePeriod,
            format!("走访日期 {d} 不在监测期 {key} 内或晚于今天"),
            format!("Visit date {d} is outside period {key} or in the future"),
        );
    }
    let as_of = period.last_day();
    if v.is_in_person() {
        for (id, m) in &h.members {
            let has_status = v.employment.get(id).is_some_and(|e| e.status.is_some());
            if m.is_labour_force(as_of) && !has_status {
                r.error(
                    p(&format!("e/{id}/status")),
                    Rule::EmploymentStatusMissing,
                    format!("入户走访须填写劳动力 {} 的就业状态", m.name),
                    format!("An in-person visit must record the employment status of labour-force member {}", m.name),
                );
            }
        }
    }
    for (id, e) in &v.employment {
        let ep = |f: &str| p(&format!("e/{id}/{f}"));
        if !h.members.contains_key(id) {
            r.error(
                format!("v/{key}/e/{id}"),
                Rule::EmploymentForUnknownMember,
                format!("就业记录对应的成员 {id} 不存在"),
                format!("Employment is recorded for member {id}, who is not in the household"),
            );
        }
        let minor = h.members.get(id).is_some_and(|m| m.is_minor_on(as_of));
        if minor && e.status == Some(EmploymentStatus::Employed) {
            let name = &h.members[id].name;
            r.warn(
                ep("status"),
                Rule::MinorEmployed,
                format!("{name} 未满16周岁，记为已就业不计入就业人数，请核实"),
                format!("{name} is under 16: recorded as employed but not counted as employed; check"),
            );
        }
        match e.status {
            Some(EmploymentStatus::Employed) => {
                if e.channel.is_none() {
                    r.error(
                        ep("channel"),
                        Rule::EmployedWithoutChannel,
                        "已就业须选择就业渠道",
                        "Choose the channel of employment",
                    );
                }
            }
            Some(_) | None => {
                if e.channel.is_some() || e.monthly_income.is_some_and(|i| i > 0) || !e.employer.is_empty() {
                    r.warn(
                        ep("status"),
                        Rule::JobDetailsWithoutJob,
                        "未就业却填写了工作信息，请核实就业状态",
                        "Job details are filled in but the member is not employed; check the status",
                    );
                }
            }
        }
        if let (Some(c), Some(scope)) = (e.channel, e.place_scope)
            && c.implied_scope().is_some_and(|implied| implied != scope)
        {
            r.error(
                ep("scope"),
                Rule::ChannelPlaceMismatch,
                format!("就业渠道“{}”与务工地点范围“{}”不一致", c.zh(), scope.zh()),
                format!("Channel “{}” contradicts place “{}”", c.en(), scope.en()),
            );
        }
        r.amount(ep("income"), e.monthly_income, false);
    }
    for (c, amount) in v.income.items() {
        // 经营性净收入 is a net figure and may be a loss.
        r.amount(p(&format!("i/{}", c.code())), amount, c == IncomeComponent::Operating);
    }
    for (x, &amount) in &v.expenses {
        if amount < 0 {
            r.error(
                p(&format!("x/{}", x.code())),
                Rule::NegativeAmount,
                format!("金额不能为负数（{amount} 元）"),
                format!("The amount cannot be negative ({amount} yuan)"),
            );
        }
    }
    if v.risks.contains(&RiskSignal::Other) && v.risk_note.trim().is_empty() {
        r.warn(p("risk_note"), Rule::RiskOtherWithoutNote, "选择了“其他”风险，请说明", "Say what the “other” risk is");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn today() -> Date {
        "2026-11-22".parse().unwrap()
    }

    fn rules(h: &Household) -> Vec<(String, Rule)> {
        let mut v: Vec<_> = validate(h, today()).into_iter().map(|p| (p.path, p.rule)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    #[test]
    fn a_change_of_membership_needs_its_date_and_agrees_with_the_status() {
        let mut h = Household::default();
        h.facts.registry_no = "H".into();
        let mut m = worker("甲");
        m.change = Some(MemberChange::MovedOut);
        h.members.insert("a".into(), m.clone());
        assert_eq!(
            rules(&h),
            [("m/a/changed_on".into(), Rule::MemberChangeDate), ("m/a/status".into(), Rule::MemberChangeStatus)]
        );
        m.record_change(MemberChange::MovedOut, "2026-11-30".parse().unwrap());
        h.members.insert("a".into(), m.clone());
        assert_eq!(rules(&h), [("m/a/changed_on".into(), Rule::MemberChangeDate)], "after today");
        m.record_change(MemberChange::MovedOut, "2026-11-02".parse().unwrap());
        m.phone = "1391234567".into();
        h.members.insert("a".into(), m.clone());
        assert_eq!(rules(&h), [("m/a/phone".into(), Rule::PhoneFormat)], "ten digits");
        for ok in ["139 1234 5678", "0871-6543210"] {
            m.phone = ok.into();
            h.members.insert("a".into(), m.clone());
            assert_eq!(rules(&h), [], "{ok}");
        }
    }

    fn worker(name: &str) -> Member {
        Member {
            name: name.into(),
            birth_date: Some("1990-03-07".parse().unwrap()),
            labour: Some(LabourCapacity::Full),
            ..Default::default()
        }
    }

    #[test]
    fn a_clean_household_has_no_problems() {
        let mut h = Household::default();
        h.facts.registry_no = "h1".into();
        h.members.insert(
            "a".into(),
            Member {
                relation: Some(Relation::Head),
                id_number: "522301199003074230".into(),
                sex: Some(Sex::Male),
                ..worker("王强")
            },
        );
        let mut v =
            Visit { mode: Some(VisitMode::InPerson), date: Some("2026-11-03".parse().unwrap()), ..Default::default() };
        v.visitors.insert("cadre01".into(), "李明".into());
        v.employment.insert(
            "a".into(),
            Employment {
                status: Some(EmploymentStatus::Employed),
                channel: Some(Channel::InCounty),
                place_scope: Some(PlaceScope::InCounty),
                monthly_income: Some(3000),
                ..Default::default()
            },
        );
        v.income.operating = Some(-200);
        h.visits.insert("2026-11".into(), v);
        assert_eq!(validate(&h, today()), []);
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_path() {
        let mut h = Household::default();
        h.members.insert(
            "a".into(),
            Member { relation: Some(Relation::Head), id_number: "522301199003074231".into(), ..worker("王强") },
        );
        h.members.insert(
            "b".into(),
            Member { relation: Some(Relation::Head), birth_date: Some("2027-01-01".parse().unwrap()), ..worker("") },
        );
        h.members.insert("c".into(), worker("李娟"));
        let mut v = Visit { mode: Some(VisitMode::InPerson), ..Default::default() };
        v.visitors.insert("cadre01".into(), "李明".into());
        v.employment.insert(
            "a".into(),
            Employment {
                status: Some(EmploymentStatus::Employed),
                monthly_income: Some(-5),
                channel: Some(Channel::OutOfProvince),
                place_scope: Some(PlaceScope::InCounty),
                ..Default::default()
            },
        );
        v.employment.insert("c".into(), Employment { status: Some(EmploymentStatus::Employed), ..Default::default() });
        v.employment.insert("zz".into(), Employment { status: Some(EmploymentStatus::Seeking), ..Default::default() });
        v.income.wage = Some(-1);
        h.visits.insert("2026-11".into(), v);
        h.visits.insert("2026-1".into(), Visit { mode: Some(VisitMode::Phone), ..Default::default() });
        let problems = validate(&h, today());
        assert!(problems.iter().all(|p| !p.zh.is_empty() && !p.en.is_empty()));
        assert_eq!(
            rules(&h),
            [
                ("f/no".into(), Rule::RegistryNoMissing),
                ("m/a/id_no".into(), Rule::IdNumberCheckDigit),
                ("m/a/relation".into(), Rule::SeveralHeads),
                ("m/b/birth".into(), Rule::BirthInFuture),
                ("m/b/name".into(), Rule::MemberNameMissing),
                ("m/b/relation".into(), Rule::SeveralHeads),
                ("v/2026-1".into(), Rule::PeriodFormat),
                ("v/2026-11/e/a/income".into(), Rule::NegativeAmount),
                ("v/2026-11/e/a/scope".into(), Rule::ChannelPlaceMismatch),
                // b was born in the future, so is no labour force; c has a status.
                ("v/2026-11/e/c/channel".into(), Rule::EmployedWithoutChannel),
                ("v/2026-11/e/zz".into(), Rule::EmploymentForUnknownMember),
                ("v/2026-11/i/wage".into(), Rule::NegativeAmount),
            ]
        );
        assert!(problems.iter().any(|p| p.rule.rejects_document()));
    }

    #[test]
    fn an_in_person_visit_needs_every_labour_force_status() {
        let mut h = Household::default();
        h.facts.registry_no = "h1".into();
        h.members.insert("a".into(), worker("王强"));
        // A 15-year-old, a student and a member who moved out are not labour force.
        h.members.insert("kid".into(), Member { birth_date: Some("2010-12-01".parse().unwrap()), ..worker("小明") });
        h.members.insert("stu".into(), Member { in_school: true, ..worker("小红") });
        h.members.insert("gone".into(), Member { status: Some(MemberStatus::MovedOut), ..worker("王刚") });
        let mut v = Visit { mode: Some(VisitMode::InPerson), ..Default::default() };
        v.visitors.insert("cadre01".into(), "李明".into());
        h.visits.insert("2026-11".into(), v.clone());
        assert_eq!(rules(&h), [("v/2026-11/e/a/status".into(), Rule::EmploymentStatusMissing)]);
        // By phone the status may stay unknown.
        v.mode = Some(VisitMode::Phone);
        h.visits.insert("2026-11".into(), v);
        assert_eq!(rules(&h), []);
    }

    #[test]
    fn id_number_must_agree_with_birth_date() {
        let mut h = Household::default();
        h.facts.registry_no = "h1".into();
        h.members.insert(
            "a".into(),
            Member {
                id_number: "522301199003074230".into(),
                birth_date: Some("1990-03-08".parse().unwrap()),
                sex: Some(Sex::Female),
                ..worker("王强")
            },
        );
        assert_eq!(
            rules(&h),
            [("m/a/id_no".into(), Rule::IdNumberBirthMismatch), ("m/a/id_no".into(), Rule::IdNumberSexMismatch)]
        );
    }
}
