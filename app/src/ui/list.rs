//! 户列表: this month's households with search and filters (each with its count); each
//! row says whether this month's visit is done. Coming back from a household, the list
//! has the search, filter and scroll position it was left with (`Place`).

use std::cell::RefCell;
use std::collections::BTreeMap;

use leptos::prelude::*;
use shared::indicators::Summary;
use shared::{HouseholdDoc, Period};

use crate::state::{self, Page, Ui};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    NotVisited,
    Flagged,
    Conflicts,
    Returned,
    MustVisit,
}

impl Filter {
    /// Does the row pass this filter?
    fn admits(self, r: &Row) -> bool {
        match self {
            Filter::All => true,
            Filter::NotVisited => !r.visited,
            Filter::Flagged => r.flagged,
            Filter::Conflicts => r.conflicts > 0,
            Filter::Returned => r.returned,
            Filter::MustVisit => !r.must_visit.is_empty(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Row {
    id: String,
    head: String,
    address: String,
    visited: bool,
    flagged: bool,
    conflicts: usize,
    downloaded: bool,
    /// This month's visit was returned by a supervisor (已退回).
    returned: bool,
    /// 八必访: why it must be visited in person this month.
    #[serde(default)]
    must_visit: Vec<shared::must_visit::MustVisit>,
    /// Its case has passed a deadline (verification or decision), as of the day the
    /// row was computed.
    #[serde(default)]
    overdue: bool,
}

/// A household's row as kept, in memory and in IndexedDB (`idb::ROWS`): with the heads
/// of the document and the period it was computed for, it is computed again only when
/// either differs. So the list stays cheap when a sync or a save touches one household
/// of many (every sync ends by marking the documents changed, once a minute while
/// online), and on a cold start it shows before any document is read.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct KeptRow {
    heads: Vec<[u8; 32]>,
    period: String,
    row: Row,
}

/// Where the cadre was in the list: kept while they open a household and come back,
/// forgotten at logout ([`forget_place`]).
#[derive(Debug, Clone)]
struct Place {
    query: String,
    filter: Filter,
    scroll: f64,
}

impl Place {
    /// The top of the whole list, no search.
    const START: Place = Place { query: String::new(), filter: Filter::All, scroll: 0.0 };
}

thread_local! {
    static KEPT: RefCell<BTreeMap<String, KeptRow>> = const { RefCell::new(BTreeMap::new()) };
    static PLACE: RefCell<Place> = const { RefCell::new(Place::START) };
}

/// Forgets the kept rows in memory (logout: the next login has its own).
pub fn forget_rows() {
    KEPT.with_borrow_mut(BTreeMap::clear);
}

/// Forgets the search, filter and scroll position (another login starts afresh).
pub fn forget_place() {
    PLACE.with_borrow_mut(|p| *p = Place::START);
}

/// Takes the rows kept in IndexedDB (id, JSON); returns how many could be read.
pub fn keep_rows(stored: Vec<(String, Vec<u8>)>) -> usize {
    KEPT.with_borrow_mut(|kept| {
        for (id, bytes) in stored {
            if let Ok(row) = serde_json::from_slice::<KeptRow>(&bytes) {
                kept.insert(id, row);
            }
        }
        kept.len()
    })
}

/// Changed when a row gains a field: rows kept before are computed again.
const ROWS_VERSION: u32 = 2;

fn row_of(id: &str, doc: &HouseholdDoc, period: Period) -> Row {
    let h = doc.household().unwrap_or_default();
    let s = Summary::of(&h, period, &crate::session::settings());
    Row {
        id: id.to_owned(),
        head: h.head_name().to_owned(),
        address: format!("{} {} {}", h.facts.site, h.facts.grid, h.facts.address),
        visited: s.visited_in_person,
        flagged: s.zero_employment || s.low_income_labour || s.guarantee_alert || s.risk || s.hardship.any(),
        conflicts: doc.conflicts().map(|c| c.len()).unwrap_or(0),
        downloaded: !doc.heads().is_empty(),
        returned: h.visits.get(&period.to_string()).and_then(|v| v.review_status())
            == Some(shared::ReviewStatus::Returned),
        must_visit: s.must_visit,
        overdue: h.case.overdue(state::today()).is_some(),
    }
}

/// The list's rows: while the documents are being read at start, the rows kept from
/// last time; then each document's row, computed again only where
/// the document or the month changed, and those written back to IndexedDB.
fn rows() -> Vec<Row> {
    let period = state::current_period();
    // A kept row is for a month, this version of the rows, and the settings it was
    // measured against.
    let settings = serde_json::to_string(&crate::session::settings()).unwrap_or_default();
    // The day too: a case becomes overdue on a day, not at a change.
    let month = format!("{period}#{ROWS_VERSION}#{}#{settings}", state::today());
    let span = crate::perf::start("hhj:list-rows");
    let (rows, writes, db) = state::with(|d| {
        KEPT.with_borrow_mut(|kept| {
            let Some(db) = d.db.clone().filter(|_| d.loaded) else {
                return (kept.values().map(|k| k.row.clone()).collect(), Vec::new(), None);
            };
            kept.retain(|id, _| d.replica.docs.contains_key(id));
            let mut writes = Vec::new();
            let rows = d
                .replica
                .docs
                .iter()
                .map(|(id, doc)| {
                    let heads: Vec<[u8; 32]> = doc.heads().iter().map(|h| h.0).collect();
                    if let Some(k) = kept.get(id).filter(|k| k.heads == heads && k.period == month) {
                        return k.row.clone();
                    }
                    let k = KeptRow { heads, period: month.clone(), row: row_of(id, doc, period) };
                    if let Ok(json) = serde_json::to_vec(&k) {
                        writes.push((crate::idb::ROWS, id.clone(), json));
                    }
                    let row = k.row.clone();
                    kept.insert(id.clone(), k);
                    row
                })
                .collect();
            (rows, writes, Some(db))
        })
    });
    if db.is_some() && !writes.is_empty() {
        crate::data::keep_rows(writes);
    }
    span.end();
    rows
}

/// The household list.
#[component]
pub fn List(ui: Ui) -> impl IntoView {
    let place = PLACE.with_borrow(Place::clone);
    let query = RwSignal::new(place.query);
    let filter = RwSignal::new(place.filter);
    // Back where the cadre left it, once the rows are drawn.
    if place.scroll > 0.0 {
        request_animation_frame(move || {
            if let Some(w) = web_sys::window() {
                w.scroll_to_with_x_and_y(0.0, place.scroll);
            }
        });
    }
    let open = move |id: String| {
        let scroll = web_sys::window().and_then(|w| w.scroll_y().ok()).unwrap_or(0.0);
        PLACE.with_borrow_mut(|p| *p = Place { query: query.get_untracked(), filter: filter.get_untracked(), scroll });
        ui.page.set(Page::Household(id));
    };
    let all = Memo::new(move |_| {
        ui.rev.track();
        rows()
    });
    // Households with a visit in progress (草稿) of this login.
    let drafted = Memo::new(move |_| {
        ui.rev.track();
        crate::drafts::households(ui)
    });
    let shown = move || {
        let q = query.get();
        let f = filter.get();
        all.get()
            .into_iter()
            .filter(|r| q.is_empty() || r.head.contains(&q) || r.id.contains(&q) || r.address.contains(&q))
            .filter(|r| f.admits(r))
            .collect::<Vec<_>>()
    };
    let chip = move |f: Filter, zh: &'static str, en: &'static str| {
        let count = move || all.with(|rows| rows.iter().filter(|r| f.admits(r)).count());
        view! {
            <button class="chip" class:on=move || filter.get() == f on:click=move |_| filter.set(f)>
                {move || format!("{} {}", ui.t(zh, en), count())}
            </button>
        }
    };
    let counts = move || {
        let rows = all.get();
        if rows.is_empty() && ui.sync.with(|s| s.running) {
            return ui.t("正在下载本月的户…", "Downloading this month's households…").to_owned();
        }
        let done = rows.iter().filter(|r| r.visited).count();
        format!("{} {}：{done}/{}", state::current_period(), ui.t("本月已入户", "visited this month"), rows.len())
    };
    view! {
        <section class="list">
            <p class="summary" data-testid="month-summary">{counts}</p>
            <input class="search" type="search" placeholder=move || ui.t("搜索户主、户编码、住址", "Search name, number, address")
                prop:value=move || query.get() on:input=move |ev| query.set(event_target_value(&ev)) />
            <div class="chips">
                {chip(Filter::All, "全部", "All")}
                {chip(Filter::NotVisited, "本月未走访", "Not visited")}
                {chip(Filter::MustVisit, "八必访", "Must visit")}
                {chip(Filter::Flagged, "有风险", "Flagged")}
                {chip(Filter::Conflicts, "有冲突", "Conflicts")}
                {chip(Filter::Returned, "被退回", "Returned")}
            </div>
            <ul class="rows" data-testid="household-list">
                {move || {
                    shown()
                        .into_iter()
                        .map(|r| {
                            let id = r.id.clone();
                            let draft = drafted.with(|d| d.contains(&r.id));
                            view! {
                                <li class="row" data-testid="household-row" data-id=r.id.clone()
                                    on:click=move |_| open(id.clone())>
                                    <div class="main">
                                        <strong>{if r.downloaded { r.head.clone() } else { r.id.clone() }}</strong>
                                        <small>{r.address.clone()}" · "{r.id.clone()}</small>
                                        {(!r.must_visit.is_empty()).then(|| {
                                            let why = r.must_visit.clone();
                                            view! { <small class="must-visit" data-testid="must-visit-why">{move || {
                                                let lang = ui.lang.get();
                                                format!("{}：{}", ui.t("必访", "Must visit"), why.iter().map(|m| shared::Coded::label(*m, lang)).collect::<Vec<_>>().join("、"))
                                            }}</small> }
                                        })}
                                    </div>
                                    <div class="badges">
                                        {draft.then(|| view! { <span class="badge draft" data-testid="draft-badge">{move || ui.t("草稿", "Draft")}</span> })}
                                        {r.returned.then(|| view! { <span class="badge warn" data-testid="returned-badge">{move || ui.t("已退回", "Returned")}</span> })}
                                        {r.overdue.then(|| view! { <span class="badge warn" data-testid="overdue-badge">{move || ui.t("监测超期", "Case overdue")}</span> })}
                                        {r.flagged.then(|| view! { <span class="badge warn">{move || ui.t("风险", "Risk")}</span> })}
                                        {(r.conflicts > 0).then(|| view! { <span class="badge conflict">{move || ui.t("冲突", "Conflict")}</span> })}
                                        {if r.visited {
                                            view! { <span class="badge done">{move || ui.t("已走访", "Visited")}</span> }.into_any()
                                        } else {
                                            view! { <span class="badge todo">{move || ui.t("未走访", "To visit")}</span> }.into_any()
                                        }}
                                    </div>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <StorageInfo ui=ui />
        </section>
    }
}

#[component]
fn StorageInfo(ui: Ui) -> impl IntoView {
    move || {
        ui.storage.get().map(|(persisted, used, quota)| {
            let state = if persisted {
                ui.t("已获持久存储", "persistent storage granted")
            } else {
                ui.t("未获持久存储（浏览器可能清除数据）", "storage not persistent (the browser may clear it)")
            };
            view! {
                <p class="storage" data-testid="storage">
                    {format!("{state} · {:.1} MB / {:.0} MB", used / 1e6, quota / 1e6)}
                    " "
                    <button class="small link" data-testid="open-device" on:click=move |_| ui.page.set(Page::Device)>
                        {move || ui.t("本机状态 ›", "This phone ›")}
                    </button>
                </p>
            }
        })
    }
}
