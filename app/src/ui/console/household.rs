//! One household as the console shows it (read from the server, ID numbers masked):
//! the period's visit in full, validation problems, conflicts to settle, and the
//! review exchange with approve and return-with-comment.

use leptos::prelude::*;
use shared::{Coded, Household, Lang, ReviewStatus, Visit};

use shared::api::{ConflictItem, HouseholdDetail, ReviewRequest};

use super::conflicts::choices;
use super::{fetch, post, thousands};
use crate::state::Ui;

/// The page.
#[component]
pub fn ReviewHousehold(ui: Ui, id: String, period: String) -> impl IntoView {
    let path = format!("/api/households/{id}");
    let detail = LocalResource::new(move || {
        let path = path.clone();
        async move { fetch::<HouseholdDetail>(ui, path).await }
    });
    let settings =
        LocalResource::new(move || async move { fetch::<shared::Settings>(ui, "/api/settings".into()).await });
    let reload = move || detail.refetch();
    view! {
        <section class="console-household">
            <button class="back" data-testid="console-back" on:click=move |_| crate::route::back_to(ui, ui.return_to.get_untracked())>{move || ui.t("‹ 返回", "‹ Back")}</button>
            {move || match detail.get() {
                None => view! { <p class="loading">{ui.t("加载中…", "Loading…")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                Some(Ok(d)) => {
                    let settings = settings.get().and_then(Result::ok).unwrap_or_default();
                    body(ui, d, period.clone(), &settings, reload).into_any()
                }
            }}
        </section>
    }
}

fn body(
    ui: Ui,
    d: HouseholdDetail,
    period: String,
    settings: &shared::Settings,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let lang = ui.lang.get_untracked();
    let h = d.household;
    let f = &h.facts;
    let head = format!("{} · {}", h.head_name(), d.id);
    let facts = format!(
        "{} {} {} · {}{}",
        f.site,
        f.grid,
        f.address,
        f.category.map(|c| c.label(lang)).unwrap_or_default(),
        f.monitoring
            .filter(|m| *m != shared::Monitoring::None)
            .map(|m| format!(" · {}", m.label(lang)))
            .unwrap_or_default()
    );
    let visit = h.visits.get(&period).cloned();
    let conflicts: Vec<ConflictItem> = d
        .conflicts
        .into_iter()
        .map(|field| ConflictItem { household_id: d.id.clone(), head_name: h.head_name().to_owned(), field })
        .collect();
    // A clash over the case (two decisions taken at once, a measure edited twice, the
    // monitoring type) is settled in the case box, where the decision is made.
    let (case_conflicts, conflicts): (Vec<ConflictItem>, Vec<ConflictItem>) =
        conflicts.into_iter().partition(|c| is_case_key(&c.field.key));
    let problems = d.problems;
    let cadres = if d.cadres.is_empty() {
        ui.t("未分配", "nobody").to_owned()
    } else {
        d.cadres.iter().map(|c| format!("{}（{}）", c.name, c.id)).collect::<Vec<_>>().join("、")
    };
    // Not visited this period: the visit before, to see where the household stood.
    let before = visit.is_none().then(|| h.visits.range(..period.clone()).next_back()).flatten();
    let before = before.map(|(p, v)| {
        view! {
            <h3>{format!("{} {p}", ui.t("上次走访", "Last visit"))}</h3>
            {visit_view(ui, &d.id, &h, v)}
        }
    });
    let income = period.parse().ok().map(|p| {
        let s = shared::indicators::Summary::of(&h, p, settings);
        let flags = crate::ui::income::flags(&s, settings, p, lang);
        view! {
            <ul class="flags" data-testid="flags">{flags.into_iter().map(|f| view! { <li>{f}</li> }).collect_view()}</ul>
            {crate::ui::income::panel(&h, p, settings, lang)}
        }
    });
    let today = crate::state::today();
    let card_id = d.id.clone();
    let case = view! {
        <button data-testid="open-card" on:click=move |_| ui.open(crate::state::Page::Card(card_id.clone()))>{ui.t("明白卡（打印）", "Household card (print)")}</button>
        {crate::ui::case::view(&h, today, lang)}
        {(!case_conflicts.is_empty()).then(|| view! {
            <div class="case-conflicts" data-testid="case-conflicts">
                <p class="warning">{ui.t(
                    "两人同时作出了不同的监测帮扶记录，系统没有取舍。请核实后选定：",
                    "Two people recorded different monitoring steps at once; nothing was dropped. Check, then pick:",
                )}</p>
                <ul class="conflicts">{case_conflicts.into_iter().map(|c| choices(ui, c, reload)).collect_view()}</ul>
            </div>
        })}
        {super::cases::actions(ui, d.id.clone(), &h, reload)}
    };
    view! {
        <h2 data-testid="console-household-head">{head}</h2>
        <p class="facts">{facts}</p>
        {income}
        {case}
        <p data-testid="household-cadres">{ui.t("帮扶干部：", "Cadres: ")}{cadres}</p>
        <h3>{format!("{period} {}", ui.t("走访", "visit"))}</h3>
        {match visit.clone() {
            None => view! { <p data-testid="no-visit">{ui.t("本期尚无走访记录。", "No visit recorded this period.")}</p> }.into_any(),
            Some(v) => visit_view(ui, &d.id, &h, &v).into_any(),
        }}
        {before}
        <h3>{ui.t("家庭成员", "Members")}</h3>
        <ul class="members" data-testid="console-members">{members(ui, &h, &period)}</ul>
        {(!problems.is_empty()).then(|| view! {
            <h3>{ui.t("需核实", "To check")}</h3>
            <ul class="problems">
                {problems.into_iter().map(|p| view! { <li class="warning">{if lang == Lang::Zh { p.zh } else { p.en }}</li> }).collect_view()}
            </ul>
        })}
        {(!conflicts.is_empty()).then(|| view! {
            <h3>{ui.t("待处理冲突", "Conflicts to settle")}</h3>
            <ul class="conflicts">{conflicts.into_iter().map(|c| choices(ui, c, reload)).collect_view()}</ul>
        })}
        {visit.map(|v| review_view(ui, d.id.clone(), period.clone(), v, reload))}
    }
}

/// Whether a document key belongs to the monitoring case: its status and steps, the
/// ledger of measures, and the monitoring type the case sets.
fn is_case_key(key: &str) -> bool {
    key.starts_with("k/") || key.starts_with("p/") || key == "f/monitoring"
}

/// The members as the period saw them: relation, age, labour capacity, status.
fn members(ui: Ui, h: &Household, period: &str) -> impl IntoView + use<> {
    let lang = ui.lang.get_untracked();
    let as_of = period.parse::<shared::Period>().map(|p| p.last_day()).ok();
    h.members
        .values()
        .map(|m| {
            let labour = as_of.is_some_and(|d| m.is_labour_force(d));
            let parts = [
                m.relation.map(|r| r.label(lang).to_owned()),
                m.birth_date.and_then(|b| as_of.map(|d| format!("{}{}", b.age_on(d), ui.t("岁", " years")))),
                m.labour.map(|l| l.label(lang).to_owned()),
                labour.then(|| ui.t("劳动力", "labour force").to_owned()),
                m.status.filter(|s| *s != shared::MemberStatus::Present).map(|s| s.label(lang).to_owned()),
                m.change.zip(m.changed_on).map(|(c, d)| format!("{} {d}", c.label(lang))),
            ];
            let line = parts.into_iter().flatten().collect::<Vec<_>>().join(" · ");
            view! { <li><strong>{m.name.clone()}</strong>" "{line}</li> }
        })
        .collect_view()
}

fn visit_view(ui: Ui, id: &str, h: &Household, v: &Visit) -> impl IntoView {
    let lang = ui.lang.get_untracked();
    let token = ui.session.get_untracked().map(|s| s.token).unwrap_or_default();
    let evidence = crate::ui::evidence::Source::Server { household: id.to_owned(), token };
    let who = v.visitors.values().cloned().collect::<Vec<_>>().join("、");
    let head = format!(
        "{}{} · {} · {}",
        v.mode.map(|m| m.label(lang)).unwrap_or_default(),
        v.absent_reason.map(|r| format!("（{}）", r.label(lang))).unwrap_or_default(),
        v.date.map(|d| d.to_string()).unwrap_or_default(),
        who
    );
    let jobs = v
        .employment
        .iter()
        .map(|(mid, e)| {
            let name = h.members.get(mid).map_or_else(|| mid.clone(), |m| m.name.clone());
            let place = [e.place_scope.map(|s| s.label(lang).to_owned()), Some(e.place.clone())];
            let line = [
                e.status.map(|s| s.label(lang).to_owned()),
                e.channel.map(|c| c.label(lang).to_owned()),
                Some(e.industry.clone()),
                Some(place.into_iter().flatten().collect::<Vec<_>>().join(" ")),
                e.monthly_income.map(|i| format!("{} {}", thousands(i), ui.t("元/月", "yuan/month"))),
            ];
            let line = line.into_iter().flatten().filter(|s| !s.trim().is_empty()).collect::<Vec<_>>().join(" · ");
            view! { <li><strong>{name}</strong>" "{line}</li> }
        })
        .collect_view();
    let income = v
        .income
        .items()
        .into_iter()
        .filter_map(|(c, a)| a.map(|a| format!("{} {}", c.label(lang), thousands(a))))
        .collect::<Vec<_>>()
        .join(" · ");
    let failed: Vec<&str> =
        v.guarantees.items().into_iter().filter(|(_, a)| *a == Some(false)).map(|(g, _)| g.label(lang)).collect();
    let risks: Vec<&str> = v.risks.iter().map(|r| r.label(lang)).collect();
    let expenses = v.expenses.iter().map(|(x, a)| format!("{} {}", x.label(lang), thousands(*a))).collect::<Vec<_>>();
    let expenses = (!expenses.is_empty()).then(|| {
        view! { <p data-testid="visit-expenses">{ui.t("刚性支出：", "Unavoidable expenses: ")}{expenses.join(" · ")}</p> }
    });
    view! {
        <div class="visit-detail" data-testid="visit-detail">
            <p>{head}</p>
            <ul class="jobs">{jobs}</ul>
            <p>{ui.t("当月收入：", "Income this month: ")}{income}</p>
            {expenses}
            {(!failed.is_empty()).then(|| view! { <p class="warning">{ui.t("两不愁三保障问题：", "Guarantees failed: ")}{failed.join("、")}</p> })}
            {(!risks.is_empty()).then(|| view! { <p class="warning">{ui.t("风险：", "Risks: ")}{risks.join("、")}" "{v.risk_note.clone()}</p> })}
            {(!v.note.is_empty()).then(|| view! { <p>{ui.t("备注：", "Notes: ")}{v.note.clone()}</p> })}
            {crate::ui::evidence::of_visit(ui, evidence, v)}
        </div>
    }
}

fn review_view(ui: Ui, id: String, period: String, v: Visit, reload: impl Fn() + Copy + 'static) -> impl IntoView {
    let lang = ui.lang.get_untracked();
    let status = v.review_status();
    let thread = crate::ui::review_steps(lang, &v);
    let comment = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    // 下一户: the next visit awaiting review, once this one is decided (or skipped).
    let here = id.clone();
    let next_period = period.clone();
    let next = move |_| {
        let (here, period) = (here.clone(), next_period.clone());
        leptos::task::spawn_local(async move {
            let path = format!("/api/reviews?period={period}&status=pending");
            match fetch::<shared::api::ReviewQueue>(ui, path).await {
                Ok(q) => match q.rows.into_iter().find(|r| r.id != here) {
                    Some(r) => ui.page.set(crate::state::Page::Review(r.id, period)),
                    None => ui.say(ui.t("没有待审核的走访了", "Nothing else awaits review")),
                },
                Err(e) => ui.say(e),
            }
        });
    };
    let act = move |action: &'static str| {
        let path = format!("/api/households/{id}/review");
        let period = period.clone();
        move |_| {
            let body =
                ReviewRequest { period: period.clone(), action: action.to_owned(), comment: comment.get_untracked() };
            let path = path.clone();
            leptos::task::spawn_local(async move {
                match post(ui, path, body).await {
                    Ok(_) => {
                        let done = if action == "approve" {
                            ui.t("已审核通过", "Approved")
                        } else {
                            ui.t("已退回干部修改", "Returned to the cadre")
                        };
                        ui.say(done.to_owned());
                        reload();
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let approve = act("approve");
    let send_back = act("return");
    view! {
        <h3>{ui.t("审核", "Review")}</h3>
        <p data-testid="review-status" data-status=status.map(|s| s.code())>
            <span class=match status { Some(ReviewStatus::Approved) => "badge done", Some(ReviewStatus::Returned) => "badge warn", _ => "badge" }>
                {status.map(|s| s.label(lang))}
            </span>
        </p>
        <ol class="thread">{thread}</ol>
        <textarea data-testid="review-comment" placeholder=ui.t("审核意见（退回时必填）", "Comment (required to return)")
            prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
        <div class="review-actions">
            <button class="primary" data-testid="approve" on:click=approve>{ui.t("审核通过", "Approve")}</button>
            <button class="small" data-testid="return" on:click=send_back>{ui.t("退回修改", "Return for correction")}</button>
            <button class="small" data-testid="review-next" on:click=next>{ui.t("下一户待审核 ›", "Next awaiting review ›")}</button>
        </div>
        {move || error.get().map(|e| view! { <p class="error" data-testid="review-error">{e}</p> })}
    }
}
