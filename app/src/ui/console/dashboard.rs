//! 工作台: for one period, coverage by site → grid → households not visited (or by
//! cadre), indicator cards against their policy targets with a 12-period trend,
//! employment by channel, place and industry, the flagged lists, and the export.

use leptos::prelude::*;
use shared::indicators::{Basis, Indicators};
use shared::{Coded, Lang};

use super::charts::{bar, sparkline};
use super::{
    CoverageRow, HouseholdRow, IndicatorReport, TrendPoint, encode, fetch, household_rows, loaded, percent, thousands,
};
use crate::state::{Page, Ui};

/// Where the coverage table is: which grouping, and inside what.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Drill {
    /// Every site.
    Sites,
    /// The grids of one site.
    Grids(String),
    /// Every cadre.
    Cadres,
    /// Households not visited in person: in a site (and grid), or of a cadre.
    NotVisited { site: Option<String>, grid: Option<String>, cadre: Option<(String, String)> },
}

impl Drill {
    fn coverage_path(&self, period: &str) -> Option<String> {
        match self {
            Drill::Sites => Some(format!("/api/coverage?period={period}&by=site")),
            Drill::Grids(site) => Some(format!("/api/coverage?period={period}&by=grid&site={}", encode(site))),
            Drill::Cadres => Some(format!("/api/coverage?period={period}&by=cadre")),
            Drill::NotVisited { .. } => None,
        }
    }
    fn not_visited_path(&self, period: &str) -> Option<String> {
        let Drill::NotVisited { site, grid, cadre } = self else { return None };
        let mut path = format!("/api/flagged?kind=not_visited&period={period}");
        for (name, value) in [("site", site.as_ref()), ("grid", grid.as_ref()), ("cadre", cadre.as_ref().map(|c| &c.0))]
        {
            if let Some(v) = value {
                path.push_str(&format!("&{name}={}", encode(v)));
            }
        }
        Some(path)
    }
    /// Where a click on a row of this level leads.
    fn below(&self, row: &CoverageRow) -> Drill {
        match self {
            Drill::Sites => Drill::Grids(row.key.clone()),
            Drill::Grids(site) => {
                Drill::NotVisited { site: Some(site.clone()), grid: Some(row.label.clone()), cadre: None }
            }
            Drill::Cadres => {
                Drill::NotVisited { site: None, grid: None, cadre: Some((row.key.clone(), row.label.clone())) }
            }
            Drill::NotVisited { .. } => self.clone(),
        }
    }

    /// The drill as the page's address holds it (`Page::Dashboard`): `""`, `site/S`,
    /// `cadres`, `nv/S/G`, `nvc/LOGIN/NAME`.
    fn path(&self) -> String {
        match self {
            Drill::Sites => String::new(),
            Drill::Grids(site) => format!("site/{site}"),
            Drill::Cadres => "cadres".into(),
            Drill::NotVisited { cadre: Some((id, name)), .. } => format!("nvc/{id}/{name}"),
            Drill::NotVisited { site, grid, .. } => {
                format!("nv/{}/{}", site.clone().unwrap_or_default(), grid.clone().unwrap_or_default())
            }
        }
    }

    /// The drill at `path` ([`Drill::path`]); the sites when it names none.
    fn parse(path: &str) -> Drill {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        match path.splitn(3, '/').collect::<Vec<_>>().as_slice() {
            ["site", site] => Drill::Grids((*site).to_owned()),
            ["cadres"] => Drill::Cadres,
            ["nvc", id, name] => {
                Drill::NotVisited { site: None, grid: None, cadre: Some(((*id).into(), (*name).into())) }
            }
            ["nv", site, grid] => Drill::NotVisited { site: some(site), grid: some(grid), cadre: None },
            _ => Drill::Sites,
        }
    }
}

/// A column of the coverage table to sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    /// 范围, by name.
    Area,
    /// Households not yet visited, most first.
    NotVisited,
    /// 覆盖率, lowest first.
    Rate,
}

impl Column {
    /// `a` before `b` in this column's own order (ascending for names, furthest
    /// behind first for the rest).
    fn order(self, a: &CoverageRow, b: &CoverageRow) -> std::cmp::Ordering {
        let rate = |r: &CoverageRow| if r.assigned == 0 { 1.0 } else { f64::from(r.visited) / f64::from(r.assigned) };
        let left = |r: &CoverageRow| r.assigned.saturating_sub(r.visited);
        match self {
            Column::Area => a.label.cmp(&b.label),
            Column::NotVisited => left(b).cmp(&left(a)).then_with(|| a.label.cmp(&b.label)),
            Column::Rate => rate(a).total_cmp(&rate(b)).then_with(|| left(b).cmp(&left(a))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Table {
    Coverage(Vec<CoverageRow>),
    Households(Vec<HouseholdRow>),
}

/// The dashboard.
#[component]
pub fn Dashboard(ui: Ui) -> impl IntoView {
    // Where the table is drilled to lives in the address: coming back from a household
    // finds it as it was, and the back button climbs back up.
    let drill = Memo::new(move |_| match ui.page.get() {
        Page::Dashboard(path) => Drill::parse(&path),
        _ => Drill::Sites,
    });
    let go = move |d: Drill| ui.page.set(Page::Dashboard(d.path()));
    let table = LocalResource::new(move || {
        let period = ui.period.get().to_string();
        let d = drill.get();
        async move {
            match (d.coverage_path(&period), d.not_visited_path(&period)) {
                (Some(path), _) => fetch(ui, path).await.map(Table::Coverage),
                (None, Some(path)) => fetch(ui, path).await.map(Table::Households),
                (None, None) => Ok(Table::Coverage(Vec::new())),
            }
        }
    });
    let report = LocalResource::new(move || {
        let period = ui.period.get().to_string();
        async move { fetch::<IndicatorReport>(ui, format!("/api/indicators?period={period}")).await }
    });
    let trend = LocalResource::new(move || {
        let period = ui.period.get().to_string();
        async move { fetch::<Vec<TrendPoint>>(ui, format!("/api/trend?period={period}&months=12")).await }
    });
    let crumbs = move || {
        let d = drill.get();
        let here = match &d {
            Drill::Sites | Drill::Cadres => String::new(),
            Drill::Grids(site) => site.clone(),
            Drill::NotVisited { site, grid, cadre } => {
                let place = [site.clone(), grid.clone(), cadre.as_ref().map(|c| c.1.clone())];
                format!(
                    "{} · {}",
                    place.into_iter().flatten().collect::<Vec<_>>().join(" / "),
                    ui.t("本月未入户", "not visited")
                )
            }
        };
        let back = match &d {
            Drill::Sites | Drill::Cadres => None,
            Drill::Grids(_) => Some(Drill::Sites),
            Drill::NotVisited { site: Some(site), cadre: None, .. } => Some(Drill::Grids(site.clone())),
            Drill::NotVisited { .. } => Some(Drill::Cadres),
        };
        view! {
            <div class="crumbs">
                {back.map(|b| view! { <button class="small" data-testid="drill-up" on:click=move |_| go(b.clone())>{ui.t("‹ 上一级", "‹ Up")}</button> })}
                <span data-testid="drill-here">{here}</span>
            </div>
        }
    };
    let total = move || {
        report.get().and_then(Result::ok).map(|r| {
            let i = r.indicators;
            format!(
                "{} {}/{} · {}",
                ui.t("本月已入户", "Visited in person"),
                i.visited_in_person,
                i.households,
                percent(i.coverage())
            )
        })
    };
    view! {
        <section class="dashboard">
            <h2>{move || ui.t("户户见覆盖", "Coverage (户户见)")}</h2>
            <p class="summary" data-testid="coverage-total">{total}</p>
            <div class="chips">
                <button class="chip" data-testid="by-site" class:on=move || !matches!(drill.get(), Drill::Cadres | Drill::NotVisited { cadre: Some(_), .. })
                    on:click=move |_| go(Drill::Sites)>{move || ui.t("按安置点", "By site")}</button>
                <button class="chip" data-testid="by-cadre" class:on=move || matches!(drill.get(), Drill::Cadres | Drill::NotVisited { cadre: Some(_), .. })
                    on:click=move |_| go(Drill::Cadres)>{move || ui.t("按帮扶干部", "By cadre")}</button>
            </div>
            {crumbs}
            {loaded(ui, table, move |t| match t {
                Table::Coverage(rows) => coverage_table(ui, drill.get_untracked(), go, rows).into_any(),
                Table::Households(rows) if rows.is_empty() => view! { <p>{ui.t("全部已入户。", "Everyone was visited.")}</p> }.into_any(),
                Table::Households(rows) => household_rows(ui, rows, "not-visited").into_any(),
            })}
            <h2>{move || ui.t("指标", "Indicators")}</h2>
            {move || match (report.get(), trend.get()) {
                (Some(Ok(r)), Some(Ok(t))) => cards(ui, &r, &t).into_any(),
                (Some(Err(e)), _) | (_, Some(Err(e))) => view! { <p class="error">{e}</p> }.into_any(),
                _ => view! { <p class="loading">{ui.t("加载中…", "Loading…")}</p> }.into_any(),
            }}
            <h2>{move || ui.t("就业去向", "Where people work")}</h2>
            {loaded(ui, report, move |r| breakdown(ui, r.indicators))}
            <super::flagged::Flagged ui=ui />
            <super::export::Export ui=ui />
        </section>
    }
}

/// The coverage rows of `level`, sorted by a column the supervisor picks (cadres
/// furthest behind first to begin with); a row opens the level below.
fn coverage_table(
    ui: Ui,
    level: Drill,
    go: impl Fn(Drill) + Copy + Send + Sync + 'static,
    rows: Vec<CoverageRow>,
) -> impl IntoView {
    let sort = RwSignal::new(if level == Drill::Cadres { Column::Rate } else { Column::Area });
    // 户主签字确认: a column once any visit of the period carries a sign-off (a county
    // that does not offer it sees none).
    let signed = rows.iter().any(|r| r.signed > 0);
    let header = move |column: Column, zh: &'static str, en: &'static str| {
        view! {
            <th>
                <button class="sort" data-testid=format!("sort-{column:?}").to_lowercase() class:on=move || sort.get() == column
                    on:click=move |_| sort.set(column)>
                    {move || ui.t(zh, en)}{move || if sort.get() == column { " ▾" } else { "" }}
                </button>
            </th>
        }
    };
    let rows = move || {
        let mut rows = rows.clone();
        let column = sort.get();
        rows.sort_by(|a, b| column.order(a, b));
        rows.into_iter()
            .map(|r| {
                let share = (r.assigned > 0).then(|| f64::from(r.visited) / f64::from(r.assigned));
                let next = level.below(&r);
                view! {
                    <tr data-testid="coverage-row" data-key=r.key.clone() data-visited=r.visited data-assigned=r.assigned
                        on:click=move |_| go(next.clone())>
                        <td class="link">{r.label.clone()}</td>
                        <td class="num">{format!("{}/{}", r.visited, r.assigned)}</td>
                        <td class="rate">{percent(share)}{bar(share, share.is_some_and(|s| s < 1.0))}</td>
                        {signed.then(|| view! { <td class="num" data-testid="coverage-signed">{format!("{}/{}", r.signed, r.visited)}</td> })}
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <table class="coverage" data-testid="coverage">
            <thead><tr>
                {header(Column::Area, "范围", "Area")}
                {header(Column::NotVisited, "已入户/户数", "Visited / households")}
                {header(Column::Rate, "覆盖率", "Rate")}
                {signed.then(|| view! { <th>{move || ui.t("签字确认/已入户", "Signed / visited")}</th> })}
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// One indicator card: the figure, its target, whether it is met, and the trend.
struct Card {
    testid: &'static str,
    title: (&'static str, &'static str),
    value: String,
    target: (&'static str, &'static str),
    met: Option<bool>,
    series: Vec<Option<f64>>,
    target_line: Option<f64>,
}

fn series(trend: &[TrendPoint], f: impl Fn(&Indicators) -> Option<f64>) -> Vec<Option<f64>> {
    trend.iter().map(|p| f(&p.indicators)).collect()
}

fn count(n: u32) -> Option<f64> {
    Some(f64::from(n))
}

fn cards(ui: Ui, report: &IndicatorReport, trend: &[TrendPoint]) -> impl IntoView {
    let i = &report.indicators;
    let three = report.three_no_decrease;
    let monitored: u32 = i.monitored.values().sum();
    let cards = vec![
        Card {
            testid: "card-coverage",
            title: ("户户见覆盖率", "Visited in person"),
            value: percent(i.coverage()),
            target: ("目标 100%", "Target 100%"),
            met: i.coverage().map(|r| r >= 1.0),
            series: series(trend, Indicators::coverage),
            target_line: Some(1.0),
        },
        Card {
            testid: "card-employment",
            title: ("劳动力就业率", "Labour employment rate"),
            value: format!("{} ({}/{})", percent(i.employment_rate()), i.employed_labour, i.labour_force),
            target: ("目标 ≥ 90%", "Target ≥ 90%"),
            met: i.employment_rate().map(|r| r >= 0.9),
            series: series(trend, Indicators::employment_rate),
            target_line: Some(0.9),
        },
        Card {
            testid: "card-zero",
            title: ("零就业家庭", "Zero-employment households"),
            value: i.zero_employment.to_string(),
            target: ("目标 0 户（动态清零）", "Target 0"),
            met: Some(i.zero_employment == 0),
            series: series(trend, |i| count(i.zero_employment)),
            target_line: Some(0.0),
        },
        Card {
            testid: "card-one-in-work",
            title: ("有劳动力家庭一人以上就业", "Labour households with someone in work"),
            value: format!("{} ({}/{})", percent(i.one_in_work_rate()), i.one_in_work, i.households_with_labour),
            target: ("目标 100%", "Target 100%"),
            met: i.one_in_work_rate().map(|r| r >= 1.0),
            series: series(trend, Indicators::one_in_work_rate),
            target_line: Some(1.0),
        },
        Card {
            testid: "card-low-income",
            title: ("低收入有劳动力家庭", "Low-income households with labour"),
            value: i.low_income_labour.to_string(),
            target: ("目标 0 户（人均纯收入 1 万元以上）", "Target 0 (10,000 yuan a head)"),
            met: Some(i.low_income_labour == 0),
            series: series(trend, |i| count(i.low_income_labour)),
            target_line: Some(0.0),
        },
        Card {
            testid: "card-growth",
            title: ("人均纯收入增长", "Per-capita income growth"),
            value: format!(
                "{} · {} {}",
                percent(i.per_capita_income_growth()),
                ui.t("人均", "per head"),
                i.per_capita_income().map_or_else(|| "—".to_owned(), |v| thousands(v as i64))
            ),
            target: ("目标 ≥ 15%", "Target ≥ 15%"),
            met: i.per_capita_income_growth().map(|g| g >= 0.15),
            series: series(trend, Indicators::per_capita_income_growth),
            target_line: Some(0.15),
        },
        Card {
            testid: "card-three",
            title: ("三个不减", "Three no-decreases"),
            value: three.map_or_else(
                || "—".to_owned(),
                |three| {
                    format!(
                        "{} {}/{} · {} {}/{} · {} {}/{}",
                        ui.t("就业", "employed"),
                        three.employed.0,
                        three.employed.1,
                        ui.t("公益岗", "welfare posts"),
                        three.welfare_posts.0,
                        three.welfare_posts.1,
                        ui.t("工资", "wages"),
                        thousands(three.wage_income.0),
                        thousands(three.wage_income.1)
                    )
                },
            ),
            target: if three.is_some() {
                ("对比基期（本期/基期）", "Now / baseline")
            } else {
                ("上年同期早于保留的数据，无法对比", "A year earlier is before the kept data")
            },
            met: three.and_then(|t| t.holds()),
            series: series(trend, |i| count(i.employed_people)),
            target_line: three.map(|t| f64::from(t.employed.1)),
        },
        Card {
            testid: "card-guarantees",
            title: ("两不愁三保障预警", "Guarantee alerts"),
            value: i.guarantee_alerts.to_string(),
            target: ("目标 0 户", "Target 0"),
            met: Some(i.guarantee_alerts == 0),
            series: series(trend, |i| count(i.guarantee_alerts)),
            target_line: Some(0.0),
        },
        Card {
            testid: "card-monitored",
            title: ("监测对象 · 新增风险", "Monitored · new risks"),
            value: format!("{monitored} · {}", i.new_risk),
            target: ("动态监测，应帮尽帮", "Watch and help"),
            met: None,
            series: series(trend, |i| count(i.monitored.values().sum())),
            target_line: None,
        },
        Card {
            testid: "card-must-visit",
            title: ("八必访 · 已入户", "Must visit · visited"),
            value: format!("{} · {}", i.must_visit, i.must_visit_visited),
            target: ("本月全部入户", "All in person this month"),
            met: Some(i.must_visit_visited >= i.must_visit),
            series: series(trend, |i| count(i.must_visit - i.must_visit_visited.min(i.must_visit))),
            target_line: Some(0.0),
        },
        Card {
            testid: "card-income-line",
            title: ("低于监测线 · 边缘", "Below the line · just above"),
            value: format!("{} · {}", i.below_line, i.near_line),
            target: ("及时发现、动态清零", "Find early, clear"),
            met: Some(i.below_line == 0),
            series: series(trend, |i| count(i.below_line)),
            target_line: Some(0.0),
        },
    ];
    let baseline = report.baseline.clone().unwrap_or_else(|| "—".to_owned());
    // Like with like: say which households the comparison holds.
    let basis = three.map(|t| match (t.basis, ui.lang.get_untracked()) {
        (Basis::Complete, Lang::Zh) => format!("两期均已走访完毕，{} 户全部对比", t.households.0),
        (Basis::Complete, Lang::En) => format!("both months complete: all {} households", t.households.0),
        (Basis::SameHouseholds, Lang::Zh) => format!("本期尚未走访完，只比较两期都有记录的 {} 户", t.households.0),
        (Basis::SameHouseholds, Lang::En) => {
            format!("a month is not complete: only the {} households recorded in both", t.households.0)
        }
        (Basis::Incomplete, Lang::Zh) => {
            format!("有一期尚未走访完，按已记录的户合计对比（{}/{} 户）", t.households.0, t.households.1)
        }
        (Basis::Incomplete, Lang::En) => {
            format!(
                "a month is not complete: totals of the households recorded ({}/{})",
                t.households.0, t.households.1
            )
        }
    });
    view! {
        <p class="hint" data-testid="three-basis">
            {format!("{} {baseline}", ui.t("三个不减基期", "Baseline of the three no-decreases:"))}
            {basis.map(|b| format!(" · {b}"))}
        </p>
        <div class="cards">
            {cards
                .into_iter()
                .map(|c| {
                    let state = match c.met {
                        Some(true) => "card ok",
                        Some(false) => "card miss",
                        None => "card",
                    };
                    let lang = ui.lang.get_untracked();
                    let long = c.value.chars().count() > 18;
                    let pick = |(zh, en): (&'static str, &'static str)| if lang == shared::Lang::Zh { zh } else { en };
                    view! {
                        <div class=state data-testid=c.testid>
                            <h3>{pick(c.title)}</h3>
                            <p class="figure" class:long=long>{c.value}</p>
                            <p class="target">
                                {pick(c.target)}
                                {c.met.map(|m| if m { pick(("，达标", " · met")) } else { pick(("，未达标", " · not met")) })}
                            </p>
                            {sparkline(c.series, c.target_line)}
                        </div>
                    }
                })
                .collect_view()}
        </div>
    }
}

fn breakdown(ui: Ui, i: Indicators) -> impl IntoView {
    let lang = ui.lang.get_untracked();
    let channel: Vec<(String, u32)> = i.by_channel.iter().map(|(c, n)| (c.label(lang).to_owned(), *n)).collect();
    let scope: Vec<(String, u32)> = i.by_scope.iter().map(|(c, n)| (c.label(lang).to_owned(), *n)).collect();
    let mut industry: Vec<(String, u32)> = i
        .by_industry
        .iter()
        .map(|(k, n)| (if k.is_empty() { ui.t("未填写", "not given").to_owned() } else { k.clone() }, *n))
        .collect();
    industry.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    industry.truncate(10);
    let block = move |title: &'static str, testid: &'static str, rows: Vec<(String, u32)>| {
        let total: u32 = rows.iter().map(|r| r.1).sum();
        view! {
            <div class="breakdown" data-testid=testid>
                <h3>{title}</h3>
                <table>
                    {rows
                        .into_iter()
                        .map(|(label, n)| {
                            let share = (total > 0).then(|| f64::from(n) / f64::from(total));
                            view! { <tr><td>{label}</td><td class="num">{n}</td><td class="rate">{bar(share, false)}</td></tr> }
                        })
                        .collect_view()}
                </table>
            </div>
        }
    };
    view! {
        <p class="hint">{format!("{} {}", ui.t("本期就业人数", "Employed this period:"), i.employed_people)}</p>
        <div class="breakdowns">
            {block(ui.t("按务工地点", "By place"), "by-scope", scope)}
            {block(ui.t("按就业渠道", "By channel"), "by-channel", channel)}
            {block(ui.t("按行业（前十）", "By industry (top 10)"), "by-industry", industry)}
        </div>
    }
}
