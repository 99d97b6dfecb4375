//! The household record of `DOMAIN.md` as plain Rust values: facts, members, monthly
//! visits. `fields.rs` maps it to and from the Automerge document.

use std::collections::{BTreeMap, BTreeSet};

use crate::label::coded_enum;
use crate::period::{Date, Period};

/// A member id (成员编号): stable, chosen once when the member is added, `[a-z0-9]{1,16}`.
/// Two cadres adding different people get different ids, so both survive a merge.
pub type MemberId = String;

/// A user's login id (账号), as recorded in visits and change stamps.
pub type UserId = String;

/// 户: one relocated household, one Automerge document.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Household {
    /// Household facts (户基本情况).
    pub facts: Facts,
    /// 家庭成员, keyed by member id.
    pub members: BTreeMap<MemberId, Member>,
    /// 月度走访, keyed by period `YYYY-MM` (kept as text so that a malformed key can be
    /// reported by validation instead of vanishing).
    pub visits: BTreeMap<String, Visit>,
    /// 监测帮扶: the monitoring case.
    pub case: crate::case::Case,
    /// 帮扶措施台账, keyed by measure id.
    pub measures: BTreeMap<String, crate::case::Measure>,
}

impl Household {
    /// 户主姓名: the present head of household's name, or the first present member's.
    pub fn head_name(&self) -> &str {
        let present = || self.members.values().filter(|m| m.is_present());
        present()
            .find(|m| m.relation == Some(Relation::Head))
            .or_else(|| present().next())
            .map_or("", |m| m.name.as_str())
    }
}

/// 户基本情况: household facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Facts {
    /// 户编码: registry number; also the document id.
    pub registry_no: String,
    /// 安置点住址: building/unit/room inside the site.
    pub address: String,
    /// 县
    pub county: String,
    /// 乡镇
    pub township: String,
    /// 安置点
    pub site: String,
    /// 网格 / 楼栋
    pub grid: String,
    /// 迁出地乡镇
    pub origin_township: String,
    /// 迁出地村
    pub origin_village: String,
    /// 搬迁年份
    pub relocated_year: Option<i64>,
    /// 安置方式: centralized or dispersed.
    pub placement: Option<Placement>,
    /// 安置区域: town or rural.
    pub placement_area: Option<PlacementArea>,
    /// 户类型: lifted out of poverty or moved along.
    pub category: Option<Category>,
    /// 监测对象类型 (三类).
    pub monitoring: Option<Monitoring>,
    /// 低保户
    pub dibao: bool,
    /// 特困供养
    pub tekun: bool,
}

/// 家庭成员.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Member {
    /// 姓名
    pub name: String,
    /// 性别
    pub sex: Option<Sex>,
    /// 出生日期
    pub birth_date: Option<Date>,
    /// 与户主关系
    pub relation: Option<Relation>,
    /// 身份证号 (sensitive: masked in lists and exports).
    pub id_number: String,
    /// 劳动能力
    pub labour: Option<LabourCapacity>,
    /// 在校生
    pub in_school: bool,
    /// 残疾
    pub disabled: bool,
    /// 大病 / 重病
    pub serious_illness: bool,
    /// 高校毕业生
    pub college_graduate: bool,
    /// 鳏寡孤独残 (特殊困难群体)
    pub vulnerable: bool,
    /// 状态: present, moved out, deceased. `None` reads as present.
    pub status: Option<MemberStatus>,
    /// 联系电话
    pub phone: String,
    /// 成员变动: the last change of membership (birth, marriage, moving, death, split),
    /// on `changed_on`. `None`: a member since the household was registered.
    pub change: Option<MemberChange>,
    /// 变动日期
    pub changed_on: Option<Date>,
}

impl Member {
    /// Still living in the household (在户).
    pub fn is_present(&self) -> bool {
        matches!(self.status, None | Some(MemberStatus::Present))
    }

    /// Living in the household on `day`: present now and not joined after `day`, or
    /// gone now but left after `day`. A period's figures count the members present on
    /// its last day (per-capita income, the labour force).
    pub fn is_present_on(&self, day: Date) -> bool {
        let later = self.changed_on.is_some_and(|d| d > day);
        match (self.is_present(), self.change) {
            (true, Some(c)) => !(c.joins() && later),
            (true, None) => true,
            (false, Some(c)) => !c.joins() && later,
            (false, None) => false,
        }
    }

    /// Records a change of membership on `on`: the status follows the change (a birth,
    /// marriage in or return makes the member present; death makes them deceased; any
    /// other leaving, moved out).
    pub fn record_change(&mut self, change: MemberChange, on: Date) {
        self.status = Some(change.status());
        self.change = Some(change);
        self.changed_on = Some(on);
    }

    /// Under 16 on `on` (birth date known): never counted as employed (劳动年龄 starts
    /// at 16, seed 002 §(五)), whatever a visit records.
    pub fn is_minor_on(&self, on: Date) -> bool {
        self.birth_date.is_some_and(|b| b.age_on(on) < 16)
    }

    /// 劳动力: aged 16 or over on `on`, full or weak labour capacity, not in school,
    /// and present on `on` (seed 002 §(五)). A member with no birth date counts by
    /// capacity alone.
    pub fn is_labour_force(&self, on: Date) -> bool {
        self.is_present_on(on)
            && !self.in_school
            && matches!(self.labour, Some(LabourCapacity::Full | LabourCapacity::Weak))
            && self.birth_date.is_none_or(|b| b.age_on(on) >= 16)
    }
}

/// 月度走访: the visit of one monitoring period.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Visit {
    /// 走访日期
    pub date: Option<Date>,
    /// 走访方式
    pub mode: Option<VisitMode>,
    /// 未遇原因, when the mode is 未遇.
    pub absent_reason: Option<AbsentReason>,
    /// 走访人: user id → display name.
    pub visitors: BTreeMap<UserId, String>,
    /// 就业情况, keyed by member id.
    pub employment: BTreeMap<MemberId, Employment>,
    /// 家庭当月收入
    pub income: Income,
    /// 当月刚性支出 (yuan), by kind; absent = none recorded.
    pub expenses: BTreeMap<Expense, i64>,
    /// 两不愁三保障 and safe water.
    pub guarantees: Guarantees,
    /// 返贫风险
    pub risks: BTreeSet<RiskSignal>,
    /// 风险说明
    pub risk_note: String,
    /// 帮扶措施: given or needed.
    pub help: BTreeMap<HelpKind, HelpState>,
    /// 帮扶说明
    pub help_note: String,
    /// 备注
    pub note: String,
    /// 审核状态, written with every review step. One field, so a step taken after
    /// another (causally) supersedes it whatever the phones' clocks say, and two steps
    /// taken concurrently (a supervisor approves while the cadre resubmits) show up as a
    /// conflict for a person to settle. Absent: nobody has reviewed it yet.
    pub review: Option<ReviewStatus>,
    /// 审核记录: the review exchange between supervisor and cadre, keyed by entry id
    /// (`<unix seconds>-<user>`, unique per step, so concurrent steps never clash).
    pub reviews: BTreeMap<String, Review>,
    /// 走访佐证: photos and the household's sign-off, keyed by entry (the first 32 hex
    /// digits of the SHA-256); only references, the bytes are kept apart.
    #[serde(default)]
    pub attachments: BTreeMap<String, crate::evidence::Attachment>,
    /// 走访定位: one fix, when the cadre took one.
    #[serde(default)]
    pub location: crate::evidence::Location,
}

impl Visit {
    /// The attachments not removed, in the order they were added (time, then entry).
    pub fn evidence(&self) -> Vec<(&String, &crate::evidence::Attachment)> {
        let mut list: Vec<_> = self.attachments.iter().filter(|(_, a)| !a.removed).collect();
        list.sort_by(|a, b| (a.1.at, a.0).cmp(&(b.1.at, b.0)));
        list
    }

    /// 户主已签字确认: when the household confirmed the visit (the latest signature or
    /// photographed signed form not removed), Unix seconds.
    pub fn signed_at(&self) -> Option<i64> {
        self.evidence()
            .into_iter()
            .filter(|(_, a)| a.kind.is_some_and(crate::evidence::EvidenceKind::is_sign_off))
            .filter_map(|(_, a)| a.at)
            .max()
    }

    /// Counts for 户户见 coverage: only an in-person visit does (seed 001 item 1).
    pub fn is_in_person(&self) -> bool {
        self.mode == Some(VisitMode::InPerson)
    }

    /// The review steps in the order they were taken (time, then entry id).
    pub fn review_thread(&self) -> Vec<(&String, &Review)> {
        let mut steps: Vec<_> = self.reviews.iter().collect();
        steps.sort_by(|a, b| (a.1.at, a.0).cmp(&(b.1.at, b.0)));
        steps
    }

    /// Appends one review step by `by` (`name`) at `at`; returns its entry id.
    pub fn add_review(&mut self, action: ReviewAction, by: &str, name: &str, at: i64, comment: &str) -> String {
        let id = Review::new_entry_id(at, by, |id| self.reviews.contains_key(id));
        let review =
            Review { action: Some(action), by: by.to_owned(), name: name.to_owned(), at, comment: comment.to_owned() };
        self.reviews.insert(id.clone(), review);
        self.review = Some(match action {
            ReviewAction::Approve => ReviewStatus::Approved,
            ReviewAction::Return => ReviewStatus::Returned,
            ReviewAction::Resubmit => ReviewStatus::Pending,
        });
        id
    }

    /// Where the visit stands in review: `None` while nothing is recorded (no mode);
    /// otherwise the status the latest step wrote, and pending before any step.
    pub fn review_status(&self) -> Option<ReviewStatus> {
        self.mode?;
        Some(self.review.unwrap_or(ReviewStatus::Pending))
    }
}

/// 审核记录: one step of a visit's review — a supervisor approves or returns it with a
/// comment, the cadre resubmits it after correcting.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Review {
    /// What was done.
    pub action: Option<ReviewAction>,
    /// Who (login).
    pub by: String,
    /// …and their display name.
    pub name: String,
    /// When, Unix seconds.
    pub at: i64,
    /// 审核意见 / the cadre's reply.
    pub comment: String,
}

impl Review {
    /// The entry id a step taken by `user` at `at` is stored under.
    pub fn entry_id(at: i64, user: &str) -> String {
        let mut id = format!("{at}-{user}");
        id.truncate(crate::fields::MAX_ID_LEN);
        id
    }

    /// [`Review::entry_id`], with a suffix (`.2`, `.3` …) while `taken` says the id is
    /// used: the key of a new keyed entry (a review step, a case step, a help measure)
    /// that never replaces another made in the same second.
    pub fn new_entry_id(at: i64, user: &str, taken: impl Fn(&str) -> bool) -> String {
        let base = Self::entry_id(at, user);
        let mut id = base.clone();
        for n in 2.. {
            if !taken(&id) {
                break;
            }
            id = format!("{}.{n}", &base[..base.len().min(crate::fields::MAX_ID_LEN - 4)]);
        }
        id
    }
}

/// 就业情况: one member's employment in one period.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Employment {
    /// 就业状态
    pub status: Option<EmploymentStatus>,
    /// 就业渠道
    pub channel: Option<Channel>,
    /// 行业
    pub industry: String,
    /// 务工地点范围: 省外 / 省内县外 / 县内.
    pub place_scope: Option<PlaceScope>,
    /// 务工地点 (province / city).
    pub place: String,
    /// 用工单位
    pub employer: String,
    /// 月收入 (yuan).
    pub monthly_income: Option<i64>,
    /// 组织化劳务输出
    pub organised: Option<bool>,
    /// 当月返乡
    pub returned: Option<bool>,
    /// 有培训意愿
    pub wants_training: Option<bool>,
    /// 培训意愿类型
    pub training_wish: String,
    /// 已参加培训
    pub trained: Option<bool>,
}

impl Employment {
    /// Empties what applies only to someone employed (channel, place, industry,
    /// employer, income, organised): a form hides those answers for anyone else, and a
    /// hidden answer must not be stored.
    pub fn drop_job_details(&mut self) {
        self.channel = None;
        self.place_scope = None;
        self.industry.clear();
        self.place.clear();
        self.employer.clear();
        self.monthly_income = None;
        self.organised = None;
    }
}

/// 家庭当月收入 by component, in yuan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Income {
    /// 工资性收入
    pub wage: Option<i64>,
    /// 经营性净收入
    pub operating: Option<i64>,
    /// 财产性收入 (dividends, land-transfer rent)
    pub property: Option<i64>,
    /// 转移性收入 (pensions, 低保, subsidies)
    pub transfer: Option<i64>,
    /// 生产经营费用 (subtracted)
    pub costs: Option<i64>,
}

impl Income {
    /// 纯收入: the month's net income, or `None` if no component was recorded.
    pub fn net(&self) -> Option<i64> {
        let parts = [self.wage, self.operating, self.property, self.transfer];
        if parts.iter().all(Option::is_none) && self.costs.is_none() {
            return None;
        }
        Some(parts.iter().flatten().sum::<i64>() - self.costs.unwrap_or(0))
    }
}

/// 两不愁三保障 and safe drinking water: `Some(false)` is an alert.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Guarantees {
    /// 不愁吃、不愁穿
    pub food_clothing: Option<bool>,
    /// 义务教育有保障
    pub schooling: Option<bool>,
    /// 基本医疗有保障
    pub medical: Option<bool>,
    /// 住房安全有保障
    pub housing: Option<bool>,
    /// 饮水安全有保障
    pub water: Option<bool>,
}

impl Guarantees {
    /// Each item with its answer, in questionnaire order.
    pub fn items(&self) -> [(Guarantee, Option<bool>); 5] {
        [
            (Guarantee::FoodClothing, self.food_clothing),
            (Guarantee::Schooling, self.schooling),
            (Guarantee::Medical, self.medical),
            (Guarantee::Housing, self.housing),
            (Guarantee::Water, self.water),
        ]
    }
    /// The answer slot for one item.
    pub fn slot(&mut self, item: Guarantee) -> &mut Option<bool> {
        match item {
            Guarantee::FoodClothing => &mut self.food_clothing,
            Guarantee::Schooling => &mut self.schooling,
            Guarantee::Medical => &mut self.medical,
            Guarantee::Housing => &mut self.housing,
            Guarantee::Water => &mut self.water,
        }
    }
    /// Any item answered "no".
    pub fn any_failed(&self) -> bool {
        self.items().iter().any(|(_, v)| *v == Some(false))
    }
}

/// Parses a period key, for callers that hold a `Visit` by its text key.
pub fn period_of(key: &str) -> Option<Period> {
    key.parse().ok()
}

coded_enum! {
    /// 审核动作
    pub enum ReviewAction {
        Approve = ("approve", "审核通过", "Approved"),
        Return = ("return", "退回修改", "Returned for correction"),
        Resubmit = ("resubmit", "修改后重新提交", "Corrected and resubmitted"),
    }
}

coded_enum! {
    /// 审核状态 of a visit, derived from its review steps.
    pub enum ReviewStatus {
        Pending = ("pending", "待审核", "Awaiting review"),
        Approved = ("approved", "已通过", "Approved"),
        Returned = ("returned", "已退回", "Returned"),
    }
}

coded_enum! {
    /// 性别
    pub enum Sex {
        Male = ("male", "男", "Male"),
        Female = ("female", "女", "Female"),
    }
}

coded_enum! {
    /// 与户主关系
    pub enum Relation {
        Head = ("head", "户主", "Head of household"),
        Spouse = ("spouse", "配偶", "Spouse"),
        Child = ("child", "子女", "Child"),
        ChildInLaw = ("child_in_law", "儿媳/女婿", "Child-in-law"),
        Grandchild = ("grandchild", "孙子女", "Grandchild"),
        Parent = ("parent", "父母", "Parent"),
        Grandparent = ("grandparent", "祖父母", "Grandparent"),
        Sibling = ("sibling", "兄弟姐妹", "Sibling"),
        Other = ("other", "其他", "Other"),
    }
}

coded_enum! {
    /// 劳动能力
    pub enum LabourCapacity {
        Full = ("full", "普通劳动力", "Full labour capacity"),
        Weak = ("weak", "弱劳动力", "Weak labour capacity"),
        Lost = ("lost", "丧失劳动力", "Lost labour capacity"),
        None = ("none", "无劳动力", "No labour capacity"),
    }
}

coded_enum! {
    /// 成员状态
    pub enum MemberStatus {
        Present = ("present", "在户", "Present"),
        MovedOut = ("moved_out", "已迁出", "Moved out"),
        Deceased = ("deceased", "已故", "Deceased"),
    }
}

coded_enum! {
    /// 成员变动原因: why a member joined or left the household.
    pub enum MemberChange {
        Birth = ("birth", "出生", "Birth"),
        MarriageIn = ("marriage_in", "婚入", "Married in"),
        Returned = ("returned", "迁回", "Moved back"),
        MarriageOut = ("marriage_out", "婚出", "Married out"),
        MovedOut = ("moved_out", "迁出", "Moved out"),
        Split = ("split", "分户", "Household split"),
        Deceased = ("deceased", "死亡", "Died"),
    }
}

impl MemberChange {
    /// The member comes into the household (birth, marriage in, return).
    pub fn joins(self) -> bool {
        matches!(self, MemberChange::Birth | MemberChange::MarriageIn | MemberChange::Returned)
    }

    /// The member's status after the change.
    pub fn status(self) -> MemberStatus {
        match self {
            c if c.joins() => MemberStatus::Present,
            MemberChange::Deceased => MemberStatus::Deceased,
            _ => MemberStatus::MovedOut,
        }
    }
}

coded_enum! {
    /// 户类型
    pub enum Category {
        Lifted = ("lifted", "脱贫户", "Lifted out of poverty"),
        MovedAlong = ("moved_along", "同步搬迁户", "Moved along (not poor)"),
    }
}

coded_enum! {
    /// 监测对象 (三类): none, or one of the three monitored types.
    pub enum Monitoring {
        None = ("none", "非监测户", "Not monitored"),
        Unstable = ("unstable", "脱贫不稳定户", "Unstable after exiting poverty"),
        Edge = ("edge", "边缘易致贫户", "At the edge of poverty"),
        Sudden = ("sudden", "突发严重困难户", "Sudden severe hardship"),
    }
}

coded_enum! {
    /// 安置方式
    pub enum Placement {
        Centralized = ("centralized", "集中安置", "Centralized"),
        Dispersed = ("dispersed", "分散安置", "Dispersed"),
    }
}

coded_enum! {
    /// 安置区域
    pub enum PlacementArea {
        Town = ("town", "城镇安置", "In town"),
        Rural = ("rural", "农村安置", "Rural"),
    }
}

coded_enum! {
    /// 走访方式
    pub enum VisitMode {
        InPerson = ("in_person", "入户", "In person"),
        Video = ("video", "视频", "By video call"),
        Phone = ("phone", "电话", "By phone"),
        NotMet = ("not_met", "未遇", "Not met"),
    }
}

coded_enum! {
    /// 未遇原因: why a household was not met.
    pub enum AbsentReason {
        WorkingAway = ("working_away", "外出务工", "Away at work"),
        InHospital = ("in_hospital", "住院", "In hospital"),
        MovedAway = ("moved_away", "搬离", "Moved away"),
        Other = ("other", "其他", "Other"),
    }
}

coded_enum! {
    /// 刚性支出: large unavoidable expenses (seed 003 §二(二): 因病因灾因意外事故等刚性支出较大).
    pub enum Expense {
        Medical = ("medical", "医疗支出", "Medical"),
        Schooling = ("schooling", "教育支出", "Schooling"),
        Disaster = ("disaster", "灾害损失", "Disaster loss"),
        Other = ("other", "其他刚性支出", "Other"),
    }
}

coded_enum! {
    /// 就业状态
    pub enum EmploymentStatus {
        Employed = ("employed", "已就业", "Employed"),
        Seeking = ("seeking", "未就业(有意愿)", "Unemployed, wants work"),
        NotSeeking = ("not_seeking", "未就业(无意愿)", "Unemployed, no wish to work"),
    }
}

coded_enum! {
    /// 就业渠道
    pub enum Channel {
        OutOfProvince = ("out_of_province", "省外务工", "Migrant work outside the province"),
        InProvince = ("in_province", "省内县外务工", "In the province, outside the county"),
        InCounty = ("in_county", "县内务工", "In the county"),
        WelfarePost = ("welfare_post", "公益性岗位", "Public-welfare post"),
        Workshop = ("workshop", "帮扶车间", "Assistance workshop"),
        WorkForRelief = ("work_for_relief", "以工代赈", "Work-for-relief"),
        ForestRanger = ("forest_ranger", "生态护林员", "Ecological forest ranger"),
        SelfEmployed = ("self_employed", "自主创业", "Self-employed / own business"),
        Flexible = ("flexible", "灵活就业(零工)", "Flexible / gig work"),
        Farming = ("farming", "农业生产经营", "Own farming or husbandry"),
    }
}

impl Channel {
    /// The place scope a channel implies, when it implies one.
    pub fn implied_scope(self) -> Option<PlaceScope> {
        match self {
            Channel::OutOfProvince => Some(PlaceScope::OutOfProvince),
            Channel::InProvince => Some(PlaceScope::InProvince),
            Channel::InCounty => Some(PlaceScope::InCounty),
            _ => None,
        }
    }
}

coded_enum! {
    /// 务工地点范围
    pub enum PlaceScope {
        OutOfProvince = ("out_of_province", "省外", "Outside the province"),
        InProvince = ("in_province", "省内县外", "In the province, outside the county"),
        InCounty = ("in_county", "县内", "In the county"),
    }
}

coded_enum! {
    /// 收入构成
    pub enum IncomeComponent {
        Wage = ("wage", "工资性收入", "Wages"),
        Operating = ("operating", "经营性净收入", "Net operating income"),
        Property = ("property", "财产性收入", "Property income"),
        Transfer = ("transfer", "转移性收入", "Transfers"),
        Costs = ("costs", "生产经营费用", "Production costs"),
    }
}

impl Income {
    /// The amount slot of one component.
    pub fn slot(&mut self, c: IncomeComponent) -> &mut Option<i64> {
        match c {
            IncomeComponent::Wage => &mut self.wage,
            IncomeComponent::Operating => &mut self.operating,
            IncomeComponent::Property => &mut self.property,
            IncomeComponent::Transfer => &mut self.transfer,
            IncomeComponent::Costs => &mut self.costs,
        }
    }
    /// Each component with its amount.
    pub fn items(&self) -> [(IncomeComponent, Option<i64>); 5] {
        [
            (IncomeComponent::Wage, self.wage),
            (IncomeComponent::Operating, self.operating),
            (IncomeComponent::Property, self.property),
            (IncomeComponent::Transfer, self.transfer),
            (IncomeComponent::Costs, self.costs),
        ]
    }
}

coded_enum! {
    /// 两不愁三保障 items and safe water.
    pub enum Guarantee {
        FoodClothing = ("food_clothing", "不愁吃穿", "Enough food and clothing"),
        Schooling = ("schooling", "义务教育有保障", "Compulsory-age children in school"),
        Medical = ("medical", "基本医疗有保障", "Basic medical insurance for all"),
        Housing = ("housing", "住房安全有保障", "Safe housing"),
        Water = ("water", "饮水安全有保障", "Safe drinking water"),
    }
}

coded_enum! {
    /// 返贫致贫风险
    pub enum RiskSignal {
        Illness = ("illness", "因病", "Illness"),
        Disaster = ("disaster", "因灾", "Disaster"),
        Accident = ("accident", "因意外", "Accident"),
        IncomeDrop = ("income_drop", "收入大幅缩减", "Sharp income drop"),
        JobLoss = ("job_loss", "失业", "Job loss"),
        Other = ("other", "其他", "Other"),
    }
}

coded_enum! {
    /// 帮扶措施
    pub enum HelpKind {
        JobReferral = ("job_referral", "就业推荐", "Job referral"),
        Training = ("training", "技能培训", "Skills training"),
        WelfarePost = ("welfare_post", "公益性岗位", "Public-welfare post"),
        Dibao = ("dibao", "低保申请", "低保 (minimum living allowance) application"),
        TemporaryRelief = ("temporary_relief", "临时救助", "Temporary relief"),
        MedicalAid = ("medical_aid", "医疗救助", "Medical aid"),
        EducationAid = ("education_aid", "教育资助", "Education aid"),
    }
}

coded_enum! {
    /// 帮扶状态
    pub enum HelpState {
        Needed = ("needed", "需要", "Needed"),
        Given = ("given", "已提供", "Given"),
    }
}

// coded_enum! derives the codes, not Default, so it is spelled out here.
#[allow(clippy::derivable_impls)]
impl Default for Monitoring {
    fn default() -> Self {
        Monitoring::None
    }
}
