//! `serve --demo`: a realistic demo county — three settlement sites in two townships,
//! twelve grids, 360 households with members and two years of monthly visits, eight
//! cadres, two supervisors and an admin, and the monitoring cases of the households it
//! monitors (`cases`) — generated deterministically, so every demo shows the same
//! county.

mod cases;

use shared::automerge::ActorId;
use shared::{
    AbsentReason, Category, Channel, Coded, Date, Employment, EmploymentStatus, Expense, HelpKind, HelpState,
    HouseholdDoc, LabourCapacity, Member, MemberStatus, Monitoring, Period, PlaceScope, Placement, PlacementArea,
    Relation, RiskSignal, Sex, Stamp, Visit, VisitMode,
};

use crate::auth::{Area, Role, User, create_user, new_account, now};
use crate::denied::{Denied, DeniedResult};
use crate::store::{Selection, Writer};

/// The demo password of every demo account.
pub const DEMO_PASSWORD: &str = "huhujian2026";
/// County name.
pub const COUNTY: &str = "云岭县";
/// Households per grid.
const PER_GRID: usize = 30;

/// How big a demo county to make.
#[derive(Debug, Clone, Copy)]
pub struct DemoSize {
    /// Households per grid (12 grids): 30 for the demo.
    pub per_grid: usize,
    /// Whether the current month is under way (about two thirds visited) or not begun
    /// (no visit yet: what the benchmarks start from).
    pub current_month_begun: bool,
}

impl DemoSize {
    /// The demo county: 360 households, the current month two thirds visited.
    pub const DEMO: DemoSize = DemoSize { per_grid: PER_GRID, current_month_begun: true };
}
/// Months of visits, ending with the current one (two years: growth and 三个不减 need
/// last year).
const MONTHS: i64 = 24;

/// (township, site, grids)
const SITES: &[(&str, &str, [&str; 4])] = &[
    ("栋川镇", "阳光社区安置点", ["1栋", "2栋", "3栋", "4栋"]),
    ("栋川镇", "幸福家园安置点", ["A区", "B区", "C区", "D区"]),
    ("光禄镇", "光禄新村安置点", ["东片", "西片", "南片", "北片"]),
];
const SURNAMES: &[&str] = &["李", "王", "张", "杨", "罗", "普", "起", "自", "者", "鲁", "杞", "毕"];
const GIVEN: &[&str] =
    &["国华", "春兰", "志强", "秀英", "建平", "玉梅", "文华", "丽芬", "正兴", "桂香", "家福", "小燕"];
const ORIGINS: &[(&str, &str)] =
    &[("左门乡", "地索村"), ("大河口乡", "阿纳村"), ("官屯镇", "三角村"), ("适中乡", "大村")];
const PLACES: &[(&str, Channel)] = &[
    ("浙江宁波", Channel::OutOfProvince),
    ("广东东莞", Channel::OutOfProvince),
    ("福建泉州", Channel::OutOfProvince),
    ("昆明", Channel::InProvince),
    ("楚雄", Channel::InProvince),
    ("县城", Channel::InCounty),
    ("安置点", Channel::WelfarePost),
    ("安置点帮扶车间", Channel::Workshop),
    ("县城", Channel::Flexible),
    ("迁出地", Channel::Farming),
    ("迁出地林区", Channel::ForestRanger),
];
const INDUSTRIES: &[&str] = &["制造业", "建筑业", "餐饮服务", "家政服务", "物流快递", "农业", "公共服务"];

/// A small deterministic generator (xorshift64*), so the demo (and the benchmarks'
/// counties) are the same every time.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The demo accounts: (login, name, role, area).
pub fn accounts() -> Vec<User> {
    let mut users = vec![
        User {
            id: "admin".into(), name: "系统管理员".into(), role: Role::Admin, area: None, phone: String::new()
        },
        User {
            id: "sup01".into(),
            name: "赵主任".into(),
            role: Role::Supervisor,
            area: Some(Area::County(COUNTY.into())),
            phone: "0874-6211001".into(),
        },
        User {
            id: "sup02".into(),
            name: "钱站长".into(),
            role: Role::Supervisor,
            area: Some(Area::Site(SITES[0].1.into())),
            phone: "0874-6211002".into(),
        },
    ];
    let names = ["李明", "张华", "杨丽", "罗刚", "普红", "起凤", "自强", "鲁燕"];
    for (i, name) in names.iter().enumerate() {
        users.push(User {
            id: format!("cadre{:02}", i + 1),
            name: (*name).into(),
            role: Role::Cadre,
            area: None,
            phone: format!("138 8745 {:04}", 2101 + i),
        });
    }
    users
}

fn id_number(rng: &mut Rng, birth: Date, sex: Sex) -> String {
    let seq = rng.below(99) + 1;
    let sex_digit = match sex {
        Sex::Male => 2 * rng.below(5) + 1,
        Sex::Female => 2 * rng.below(5),
    };
    let first17 = format!("532325{:04}{:02}{:02}{seq:02}{sex_digit}", birth.year(), birth.month(), birth.day());
    let mut digits = [0u8; 17];
    digits.copy_from_slice(first17.as_bytes());
    format!("{first17}{}", shared::idcard::check_char(&digits))
}

fn person(rng: &mut Rng, surname: &str, relation: Relation, age_from: u16, age_to: u16, year: u16) -> Member {
    let sex = if rng.chance(50) { Sex::Male } else { Sex::Female };
    let age = age_from + rng.below(usize::from(age_to - age_from + 1)) as u16;
    let birth =
        Date::new(year - age, rng.below(12) as u8 + 1, rng.below(28) as u8 + 1).unwrap_or(Date::from_unix_days(0));
    let labour = match age {
        0..=15 => LabourCapacity::None,
        16..=59 if rng.chance(88) => LabourCapacity::Full,
        16..=64 => LabourCapacity::Weak,
        _ if rng.chance(60) => LabourCapacity::None,
        _ => LabourCapacity::Lost,
    };
    Member {
        name: format!("{surname}{}", rng.pick(GIVEN)),
        sex: Some(sex),
        birth_date: Some(birth),
        relation: Some(relation),
        id_number: id_number(rng, birth, sex),
        labour: Some(labour),
        in_school: (6..=22).contains(&age) && (age < 18 || rng.chance(30)),
        disabled: rng.chance(4),
        serious_illness: rng.chance(3),
        college_graduate: (22..=30).contains(&age) && rng.chance(15),
        vulnerable: age >= 70 && rng.chance(30),
        status: Some(MemberStatus::Present),
        // Members since the household was registered; no number on the roster.
        phone: String::new(),
        change: None,
        changed_on: None,
    }
}

/// A job: channel, place, industry.
type Job = (Channel, &'static str, &'static str);

/// One month's visit; `growth` is the income level in percent of the first month's.
fn visit(
    rng: &mut Rng,
    period: Period,
    members: &[(String, Member)],
    cadre: &User,
    fully: bool,
    growth: i64,
    household_job: &mut [Option<Job>],
) -> Visit {
    let mode =
        if !fully { if rng.chance(50) { VisitMode::Phone } else { VisitMode::NotMet } } else { VisitMode::InPerson };
    let day = rng.below(25) as u8 + 1;
    let mut v = Visit {
        date: Date::new(period.year(), period.month(), day),
        mode: Some(mode),
        visitors: [(cadre.id.clone(), cadre.name.clone())].into(),
        ..Visit::default()
    };
    if mode == VisitMode::NotMet {
        // The reason follows from the day drawn above: no draw of its own, so the rest
        // of the demo county stays as it was.
        v.absent_reason = Some(AbsentReason::ALL[usize::from(day) % AbsentReason::ALL.len()]);
        v.note = "家中无人，已电话预约下次走访".into();
        return v;
    }
    let as_of = period.last_day();
    let mut wages = 0;
    for (i, (id, m)) in members.iter().enumerate() {
        if !m.is_labour_force(as_of) {
            continue;
        }
        // Jobs are sticky: 3 % lose theirs in a month, 20 % of job seekers find one
        // (a steady employment rate near 87 %).
        let change = if household_job[i].is_some() { rng.chance(3) } else { rng.chance(20) };
        if change {
            household_job[i] = if household_job[i].is_some() {
                None
            } else {
                let (place, channel) = *rng.pick(PLACES);
                Some((channel, place, *rng.pick(INDUSTRIES)))
            };
        }
        let e = match household_job[i] {
            Some((channel, place, industry)) => {
                let income = match channel {
                    Channel::OutOfProvince => 4500 + rng.below(3000) as i64,
                    Channel::InProvince => 3500 + rng.below(2000) as i64,
                    Channel::WelfarePost | Channel::ForestRanger => 800 + rng.below(700) as i64,
                    Channel::Farming => 600 + rng.below(1500) as i64,
                    _ => 2200 + rng.below(2000) as i64,
                } * growth
                    / 100;
                wages += income;
                Employment {
                    status: Some(EmploymentStatus::Employed),
                    channel: Some(channel),
                    industry: industry.into(),
                    place_scope: channel.implied_scope().or(Some(PlaceScope::InCounty)),
                    place: place.into(),
                    employer: String::new(),
                    monthly_income: Some(income),
                    organised: Some(channel == Channel::OutOfProvince && rng.chance(40)),
                    returned: Some(false),
                    wants_training: Some(rng.chance(20)),
                    training_wish: String::new(),
                    trained: None,
                }
            }
            None => Employment {
                status: Some(if rng.chance(70) { EmploymentStatus::Seeking } else { EmploymentStatus::NotSeeking }),
                returned: Some(period.month() <= 2 && rng.chance(30)),
                wants_training: Some(rng.chance(60)),
                training_wish: if rng.chance(50) { "电工".into() } else { "家政".into() },
                ..Employment::default()
            },
        };
        v.employment.insert(id.clone(), e);
    }
    v.income.wage = Some(wages);
    v.income.transfer = Some(150 + rng.below(500) as i64);
    v.income.property = rng.chance(30).then(|| 50 + rng.below(200) as i64);
    v.income.operating = rng.chance(20).then(|| rng.below(800) as i64);
    v.guarantees = shared::Guarantees {
        food_clothing: Some(true),
        schooling: Some(!rng.chance(1)),
        medical: Some(!rng.chance(2)),
        housing: Some(true),
        water: Some(!rng.chance(1)),
    };
    if rng.chance(4) {
        let risk = *rng.pick(RiskSignal::ALL);
        v.risks.insert(risk);
        if matches!(risk, RiskSignal::Illness | RiskSignal::Accident) {
            v.expenses.insert(Expense::Medical, 1_500 + i64::from(day) * 400);
        }
        v.risk_note = "已上报乡镇，持续跟踪".into();
        v.help.insert(*rng.pick(HelpKind::ALL), HelpState::Needed);
    }
    v
}

/// The demo county's settings: Yunnan's monitoring line of 2024 (8,700 yuan) and, for
/// the demo, 9,000 from 2026; seed 000's low-income target of 10,000; expenses large
/// at half a year's net income; every kind of evidence offered.
pub fn demo_settings() -> shared::Settings {
    let year = |year, line| shared::YearSettings {
        year,
        monitoring_line: Some(line),
        low_income_target: Some(10_000),
        expense_share_percent: Some(50),
        baseline: None,
    };
    // The demo offers every kind of evidence, to show them all.
    let evidence = shared::evidence::EvidenceSettings { photos: true, signature: true, location: true };
    shared::Settings { years: vec![year(2024, 8_700), year(2026, 9_000)], evidence }
}

/// Fills an empty database with the demo county. Returns the number of households.
pub fn seed(w: &mut dyn Writer) -> DeniedResult<usize> {
    seed_sized(w, DemoSize::DEMO)
}

/// [`seed`] with another number of households per grid, or before the current month's
/// visits (benchmarks).
pub fn seed_sized(w: &mut dyn Writer, size: DemoSize) -> DeniedResult<usize> {
    let admin_view =
        User { id: "admin".into(), name: String::new(), role: Role::Admin, area: None, phone: String::new() };
    if !w.household_ids(&Selection::of(&admin_view))?.is_empty() {
        return Ok(0);
    }
    let users = accounts();
    for u in &users {
        create_user(w, u, &new_account(u, DEMO_PASSWORD)?)?;
    }
    w.replace_settings(&demo_settings(), "admin", now())?;
    let cadres: Vec<&User> = users.iter().filter(|u| u.role == Role::Cadre).collect();
    let decider = users.iter().find(|u| u.id == "sup01").expect("the county's supervisor");
    let mut rng = Rng(0x5EED_CAFE_F00D_BEEF);
    let today = Date::in_china(now());
    let current = Period::of(today);
    let admin = Stamp::new("admin", "系统管理员", now() - 400 * 86_400);
    let mut n = 0usize;
    for (site_index, (township, site, grids)) in SITES.iter().enumerate() {
        for (grid_index, grid) in grids.iter().enumerate() {
            let cadre = cadres[(site_index * 4 + grid_index) * cadres.len() / 12];
            let helper = cadres[((site_index * 4 + grid_index) * cadres.len() / 12 + 1) % cadres.len()];
            let mut open_clue = cases::open_clue(grid_index);
            for k in 0..size.per_grid {
                n += 1;
                let id = format!("5323250{}{:02}{:03}", site_index + 1, grid_index + 1, k + 1);
                let surname = *rng.pick(SURNAMES);
                let year = today.year();
                let mut members = vec![("m1".to_owned(), person(&mut rng, surname, Relation::Head, 28, 70, year))];
                if rng.chance(85) {
                    let spouse_surname = *rng.pick(SURNAMES);
                    members.push(("m2".into(), person(&mut rng, spouse_surname, Relation::Spouse, 26, 68, year)));
                }
                for c in 0..rng.below(4) {
                    members.push((
                        format!("m{}", members.len() + 1),
                        person(&mut rng, surname, Relation::Child, 1, 30 - c as u16, year),
                    ));
                }
                if rng.chance(30) {
                    members.push((
                        format!("m{}", members.len() + 1),
                        person(&mut rng, surname, Relation::Parent, 62, 88, year),
                    ));
                }
                let (origin_township, origin_village) = *rng.pick(ORIGINS);
                let mut monitoring = Monitoring::None;
                let mut doc = HouseholdDoc::create(&id, ActorId::random(), &admin).map_err(Denied::internal)?;
                doc.edit(&admin, |h| {
                    h.facts.address = format!("{grid}{}单元{}室", k / 10 + 1, 101 + k % 10 + 100 * (k % 6));
                    h.facts.county = COUNTY.into();
                    h.facts.township = (*township).into();
                    h.facts.site = (*site).into();
                    h.facts.grid = (*grid).into();
                    h.facts.origin_township = origin_township.into();
                    h.facts.origin_village = origin_village.into();
                    h.facts.relocated_year = Some(2017 + rng.below(4) as i64);
                    h.facts.placement = Some(Placement::Centralized);
                    h.facts.placement_area = Some(PlacementArea::Town);
                    h.facts.category = Some(if rng.chance(80) { Category::Lifted } else { Category::MovedAlong });
                    monitoring = match rng.below(100) {
                        0..=3 => Monitoring::Unstable,
                        4..=7 => Monitoring::Edge,
                        8..=9 => Monitoring::Sudden,
                        _ => Monitoring::None,
                    };
                    // Monitored later, by its case (`cases`).
                    h.facts.monitoring = Some(Monitoring::None);
                    h.facts.dibao = rng.chance(12);
                    h.members = members.iter().cloned().collect();
                })
                .map_err(Denied::internal)?;
                let mut jobs: Vec<Option<Job>> = (0..members.len())
                    .map(|_| {
                        rng.chance(86).then(|| {
                            let (place, channel) = *rng.pick(PLACES);
                            (channel, place, *rng.pick(INDUSTRIES))
                        })
                    })
                    .collect();
                let cadre_actor = ActorId::random();
                let mut cadre_doc = HouseholdDoc::load(&doc.save(), cadre_actor).map_err(Denied::internal)?;
                for back in (0..MONTHS).rev() {
                    let period = current.plus_months(-(back as i32));
                    // The current month is under way: about two thirds visited so far.
                    let visited = if back == 0 { size.current_month_begun && rng.chance(65) } else { rng.chance(99) };
                    if !visited {
                        continue;
                    }
                    let fully = back == 0 || rng.chance(94);
                    // Incomes rise about 16 % a year.
                    let growth = 100 + (MONTHS - 1 - back) * 4 / 3;
                    let mut v = visit(&mut rng, period, &members, cadre, fully, growth, &mut jobs);
                    // This month's visits happened by today, not later in the month.
                    v.date = v.date.map(|d| d.min(today));
                    let at = secs_of(v.date.unwrap_or(period.last_day()));
                    let stamp = Stamp::new(cadre.id.clone(), cadre.name.clone(), at);
                    cadre_doc
                        .edit(&stamp, |h| {
                            h.visits.insert(period.to_string(), v);
                        })
                        .map_err(Denied::internal)?;
                }
                // Two households where two cadres entered different incomes offline: a
                // real conflict for the review queue.
                if k == 7 && grid_index == 0 {
                    let key = current.plus_months(-1).to_string();
                    let mut other =
                        HouseholdDoc::load(&cadre_doc.save(), ActorId::random()).map_err(Denied::internal)?;
                    let s1 = Stamp::new(cadre.id.clone(), cadre.name.clone(), now() - 20 * 86_400);
                    let s2 = Stamp::new(helper.id.clone(), helper.name.clone(), now() - 19 * 86_400);
                    cadre_doc
                        .edit(&s1, |h| h.visits.entry(key.clone()).or_default().income.wage = Some(5200))
                        .map_err(Denied::internal)?;
                    other
                        .edit(&s2, |h| h.visits.entry(key.clone()).or_default().income.wage = Some(4800))
                        .map_err(Denied::internal)?;
                    cadre_doc.merge(&mut other).map_err(Denied::internal)?;
                }
                // A monitored household's case, about nine months old; a few open clues.
                let stamp = |u: &User, at: i64| Stamp::new(u.id.clone(), u.name.clone(), at);
                let mut edit = |u: &User, at: i64, f: &dyn Fn(&mut shared::Household)| {
                    cadre_doc.edit(&stamp(u, at), f).map_err(Denied::internal)
                };
                if monitoring != Monitoring::None {
                    let since = now() - (270 + k as i64) * cases::DAY;
                    edit(cadre, since, &|h| cases::raise(h, cadre, since, "走访发现家庭收入明显下降、务工不稳定"))?;
                    let seen = since + 3 * cases::DAY;
                    edit(cadre, seen, &|h| cases::verify(h, cadre, seen))?;
                    let at = since + 10 * cases::DAY;
                    edit(decider, at, &|h| cases::include(h, monitoring, decider, at))?;
                } else if k >= cases::OPEN_CLUE_FROM
                    && let Some((days, verified, text)) = open_clue.take()
                {
                    let at = now() - days * cases::DAY;
                    edit(cadre, at, &|h| cases::raise(h, cadre, at, text))?;
                    if let Some(after) = verified {
                        let seen = at + after * cases::DAY;
                        edit(cadre, seen, &|h| cases::verify(h, cadre, seen))?;
                    }
                }
                let household = cadre_doc.household().map_err(Denied::internal)?;
                w.save_doc(&id, &cadre_doc, &household, today, now())?;
                w.assign(&id, &cadre.id)?;
                if k % 5 == 0 {
                    w.assign(&id, &helper.id)?;
                }
            }
        }
    }
    Ok(n)
}

/// The visit `cadre` records in `period` for a demo household, as the demo generates
/// them: each member's job carried on from the latest visit (a few are lost or found),
/// incomes about 30 % above the first month's. Deterministic in `seed`.
pub fn next_visit(h: &shared::Household, period: Period, cadre: &User, seed: u64) -> Visit {
    let mut rng = Rng(seed | 1);
    let members: Vec<(String, Member)> = h.members.iter().map(|(id, m)| (id.clone(), m.clone())).collect();
    let last = h.visits.values().next_back();
    let mut jobs: Vec<Option<Job>> = members
        .iter()
        .map(|(id, _)| {
            let e = last?.employment.get(id)?;
            if e.status != Some(EmploymentStatus::Employed) {
                return None;
            }
            let place = PLACES.iter().map(|p| p.0).find(|p| *p == e.place).unwrap_or(PLACES[0].0);
            let industry = INDUSTRIES.iter().copied().find(|i| *i == e.industry).unwrap_or(INDUSTRIES[0]);
            Some((e.channel.unwrap_or(Channel::InCounty), place, industry))
        })
        .collect();
    visit(&mut rng, period, &members, cadre, true, 130, &mut jobs)
}

/// Noon in China on `date`, in Unix seconds.
fn secs_of(date: Date) -> i64 {
    date.to_unix_days() * 86_400 + 4 * 3600
}
