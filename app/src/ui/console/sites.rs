//! 监测对象按安置点统计: for the console's period, each site's monitored households by
//! type (三类), cases by status, help measures, the monitoring line and 八必访, with a
//! total row (`GET /api/indicators/sites`).

use leptos::prelude::*;
use shared::api::SiteIndicators;
use shared::indicators::Indicators;
use shared::{CaseStatus, Monitoring};

use super::{fetch, loaded};
use crate::state::Ui;

/// A column: its header (zh, en) and how a site's indicators fill it.
type Column = (&'static str, &'static str, fn(&Indicators) -> String);

/// The columns.
const COLUMNS: [Column; 10] = [
    ("户数", "Households", |i| i.households.to_string()),
    ("脱贫不稳定户", "Unstable", |i| monitored(i, Monitoring::Unstable).to_string()),
    ("边缘易致贫户", "Edge", |i| monitored(i, Monitoring::Edge).to_string()),
    ("突发严重困难户", "Sudden hardship", |i| monitored(i, Monitoring::Sudden).to_string()),
    ("监测户合计", "Monitored", |i| all_monitored(i).to_string()),
    ("其中有帮扶措施", "…with help", |i| i.monitored_with_measure.to_string()),
    ("待核实 / 待研判", "To verify / decide", |i| {
        format!("{} / {}", case(i, CaseStatus::Clue), case(i, CaseStatus::Verified))
    }),
    ("风险已消除", "Eliminated", |i| case(i, CaseStatus::Eliminated).to_string()),
    ("低于监测线 / 边缘", "Below line / near", |i| format!("{} / {}", i.below_line, i.near_line)),
    ("八必访 已入户 / 应访", "Must-visit done / due", |i| {
        format!("{} / {}", i.must_visit_visited, i.must_visit)
    }),
];

fn monitored(i: &Indicators, kind: Monitoring) -> u32 {
    i.monitored.get(&kind).copied().unwrap_or(0)
}

fn all_monitored(i: &Indicators) -> u32 {
    [Monitoring::Unstable, Monitoring::Edge, Monitoring::Sudden].into_iter().map(|k| monitored(i, k)).sum()
}

fn case(i: &Indicators, status: CaseStatus) -> u32 {
    i.cases.get(&status).copied().unwrap_or(0)
}

/// The table for the console's period.
#[component]
pub fn BySite(ui: Ui) -> impl IntoView {
    let rows = LocalResource::new(move || {
        let period = ui.period.get();
        async move { fetch::<Vec<SiteIndicators>>(ui, format!("/api/indicators/sites?period={period}")).await }
    });
    view! {
        <details class="by-site" open>
            <summary>{move || format!("{}（{}）", ui.t("监测对象按安置点统计", "Monitored households by site"), ui.period.get())}</summary>
            {loaded(ui, rows, move |rows: Vec<SiteIndicators>| {
                let mut total = Indicators::default();
                for r in &rows {
                    total.absorb(r.indicators.clone());
                }
                let line = |testid: &'static str, name: String, i: &Indicators| {
                    let site = name.clone();
                    view! {
                        <tr data-testid=testid data-site=site>
                            <th>{name}</th>
                            {COLUMNS.iter().map(|(_, _, cell)| view! { <td>{cell(i)}</td> }).collect_view()}
                        </tr>
                    }
                };
                view! {
                    <div class="table-wrap">
                        <table class="by-site" data-testid="monitoring-by-site">
                            <thead><tr>
                                <th>{ui.t("安置点", "Site")}</th>
                                {COLUMNS.iter().map(|(zh, en, _)| view! { <th>{ui.t(zh, en)}</th> }).collect_view()}
                            </tr></thead>
                            <tbody>
                                {rows.iter().map(|r| line("site-row", r.site.clone(), &r.indicators)).collect_view()}
                            </tbody>
                            <tfoot>{line("site-total", ui.t("合计", "Total").to_owned(), &total)}</tfoot>
                        </table>
                    </div>
                }
            })}
        </details>
    }
}
