//! 户详情: facts, members (each opens its page, `member`; 添加成员), flags computed by `shared`,
//! visit history, and conflicts with every value and who entered it, to pick from.

use leptos::prelude::*;
use shared::indicators::Summary;
use shared::{Coded, MemberStatus};

use crate::data;
use crate::state::{self, Page, Step, Ui};
use crate::ui::clock;
use crate::ui::fields::confirm_pick;

/// The household page.
#[component]
pub fn Household(ui: Ui, id: String) -> impl IntoView {
    let doc_id = id.clone();
    let data = Memo::new(move |previous: Option<&_>| {
        ui.rev.track();
        let opening = previous.is_none().then(|| crate::perf::start("hhj:open-household"));
        let data = state::with(|d| {
            d.replica.docs.get(&doc_id).map(|doc| {
                let h = doc.household().unwrap_or_default();
                let conflicts = doc.conflicts().unwrap_or_default();
                (h, conflicts)
            })
        });
        if let Some(span) = opening {
            span.end();
        }
        data
    });
    let household = move || data.get().map(|(h, _)| h).unwrap_or_default();
    let period = state::current_period();
    let visit_id = id.clone();
    // A visit in progress goes on from its step; otherwise from the first.
    let record = move |_| {
        let step = crate::drafts::get(ui, &visit_id, &period.to_string()).map_or(Step::Start, |d| d.step);
        ui.page.set(Page::Visit(visit_id.clone(), period.to_string(), step));
    };
    let draft_id = id.clone();
    let evidence_id = id.clone();
    let drafts = Memo::new(move |_| {
        ui.rev.track();
        crate::drafts::of_household(ui, &draft_id)
    });
    let has_draft = move || drafts.with(|d| d.iter().any(|(p, _)| *p == period.to_string()));
    let lang = ui.lang;
    let flags = move || {
        let h = household();
        let settings = crate::session::settings();
        let s = Summary::of(&h, period, &settings);
        let mut out = crate::ui::income::flags(&s, &settings, period, lang.get());
        if let Some(m) = h.facts.monitoring.filter(|m| *m != shared::Monitoring::None) {
            out.push(m.label(lang.get()).to_owned());
        }
        out
    };
    let member_id = StoredValue::new(id.clone());
    let members = move || {
        let h = household();
        let as_of = period.last_day();
        h.members
            .clone()
            .into_iter()
            .map(|(mid, m)| {
                let labour = m.is_labour_force(as_of);
                let status = m.status.unwrap_or(MemberStatus::Present);
                let change = match (m.change, m.changed_on) {
                    (Some(c), Some(d)) if status != MemberStatus::Present => format!(" · {} {d}", c.label(lang.get())),
                    _ => String::new(),
                };
                let open = mid.clone();
                view! {
                    <li class="member" class:gone=status != MemberStatus::Present data-testid=format!("member-{mid}")>
                        <button class="member-open" data-testid=format!("edit-member-{mid}")
                            on:click=move |_| ui.page.set(Page::Member(member_id.get_value(), open.clone()))>
                            <strong>{m.name.clone()}</strong>
                            <small>
                                {m.relation.map(|r| r.label(lang.get()))}" · "{m.birth_date.map(|d| d.to_string())}" · "
                                {m.labour.map(|l| l.label(lang.get()))}
                                {labour.then(|| view! { <span class="badge">{move || ui.t("劳动力", "Labour force")}</span> })}
                                " · "{status.label(lang.get())}{change}
                            </small>
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    let history = move || {
        household()
            .visits
            .into_iter()
            .rev()
            .map(|(p, v)| {
                view! {
                    <li>
                        <strong>{p.clone()}</strong>" "{v.mode.map(|m| m.label(lang.get()))}" "
                        {v.date.map(|d| d.to_string())}" "{v.visitors.values().cloned().collect::<Vec<_>>().join("、")}
                        {crate::ui::evidence::of_visit(ui, crate::ui::evidence::Source::Phone { household: Some(evidence_id.clone()) }, &v)}
                    </li>
                }
            })
            .collect_view()
    };
    let conflict_id = id.clone();
    let conflicts = move || {
        let Some((h, conflicts)) = data.get() else { return Vec::new() };
        conflicts
            .into_iter()
            .map(|c| {
                let label = shared::fields::describe(&c.key, &h, lang.get());
                let hid = conflict_id.clone();
                // A field a cadre may not write (the review, the household's place)
                // is settled by the supervisor in the console (`shared::rules`).
                let me = ui.session.get_untracked().map(|s| s.user.id).unwrap_or_default();
                let ours = c.values.iter().all(|v| {
                    shared::rules::may_write(shared::api::Role::Cadre, &me, &c.key, Some(&v.value))
                });
                if !ours {
                    return view! {
                        <li class="conflict" data-testid="conflict">
                            <p>{label}</p>
                            <p class="hint">{move || ui.t("此项冲突由督导在工作台处理。", "Your supervisor settles this one in the console.")}</p>
                        </li>
                    }
                    .into_any();
                }
                let picked = RwSignal::new(None::<usize>);
                let lang_now = lang.get();
                let shown: Vec<String> =
                    c.values.iter().map(|v| shared::fields::value_label(&c.key, &v.value, lang_now)).collect();
                let choices = c
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let who = v.author.clone().map(|a| a.name).unwrap_or_default();
                        view! {
                            <button class="choice" data-testid="conflict-choice" class:on=move || picked.get() == Some(i)
                                on:click=move |_| picked.set(Some(i))>
                                <strong>{shown[i].clone()}</strong>
                                <small>{who}" · "{clock(v.at)}</small>
                            </button>
                        }
                    })
                    .collect_view();
                let values: Vec<shared::Scalar> = c.values.iter().map(|v| v.value.clone()).collect();
                let key = c.key.clone();
                let confirm = move |i: usize| {
                    let (hid, key, value) = (hid.clone(), key.clone(), values[i].clone());
                    leptos::task::spawn_local(async move {
                        if let Err(e) = data::resolve(ui, &hid, &key, &value).await {
                            ui.say(e);
                        }
                    });
                };
                view! {
                    <li class="conflict" data-testid="conflict">
                        <p>{label}</p>
                        <p class="hint">{move || ui.t("两人录入了不同的值，请选择正确的：", "Two people entered different values; pick the right one:")}</p>
                        {choices}
                        {confirm_pick(ui, picked, shown, "conflict-confirm", confirm)}
                    </li>
                }
                .into_any()
            })
            .collect::<Vec<_>>()
    };
    let add_id = StoredValue::new(id.clone());
    view! {
        <section class="household">
            <button class="back" on:click=move |_| crate::route::back_to(ui, Page::List)>{move || ui.t("‹ 返回列表", "‹ Back")}</button>
            <h2 data-testid="household-head">{move || household().head_name().to_owned()}" · "{id.clone()}</h2>
            <p class="facts">
                {move || {
                    let f = household().facts;
                    format!(
                        "{} {} {} · {} · {}{}{}",
                        f.site,
                        f.grid,
                        f.address,
                        f.category.map(|c| c.label(lang.get())).unwrap_or_default(),
                        f.origin_township,
                        f.origin_village,
                        if f.dibao { ui.t(" · 低保", " · 低保 recipient") } else { "" }
                    )
                }}
            </p>
            <ul class="flags" data-testid="flags">{move || flags().into_iter().map(|f| view! { <li>{f}</li> }).collect_view()}</ul>
            {move || crate::ui::income::panel(&household(), period, &crate::session::settings(), lang.get())}
            {move || crate::ui::case::view(&household(), shared::Date::in_china(state::now()), lang.get())}
            {crate::ui::case::cadre_actions(ui, id.clone(), household)}
            {let card_id = id.clone(); view! {
                <button data-testid="open-card" on:click=move |_| ui.open(Page::Card(card_id.clone()))>{move || ui.t("明白卡", "Household card")}</button>
            }}
            {move || {
                let h = household();
                let v = h.visits.get(&period.to_string())?.clone();
                let status = v.review_status()?;
                let steps = crate::ui::review_steps(lang.get(), &v);
                Some(view! {
                    <div class="review-box" data-testid="review-box" data-status=status.code()>
                        <p><strong>{move || ui.t("本月审核：", "Review this month: ")}</strong>{status.label(lang.get())}</p>
                        <ol class="thread">{steps}</ol>
                    </div>
                })
            }}
            {draft_banner(ui, id.clone(), drafts)}
            <button class="primary" data-testid="record-visit" on:click=record>
                {move || if has_draft() {
                    format!("{} {}", ui.t("继续本月走访（草稿）", "Go on with this month's visit (draft)"), period)
                } else {
                    format!("{} {}", ui.t("记录本月走访", "Record this month's visit"), period)
                }}
            </button>
            {move || {
                let items = conflicts();
                (!items.is_empty()).then(|| view! {
                    <h3>{move || ui.t("待处理冲突", "Conflicts to settle")}</h3>
                    <ul class="conflicts">{items}</ul>
                })
            }}
            <h3>{move || ui.t("家庭成员", "Members")}</h3>
            <ul class="members">{members}</ul>
            <button data-testid="add-member" on:click=move |_| ui.page.set(Page::Member(add_id.get_value(), crate::ui::member::NEW.into()))>
                {move || ui.t("＋ 添加成员", "+ Add a member")}
            </button>
            <h3>{move || ui.t("走访记录", "Visits")}</h3>
            <ul class="history" data-testid="visit-history">{history}</ul>
        </section>
    }
}

/// The cadre's visits in progress of this household (草稿), each to go on with or to
/// discard (after a second tap: a draft may hold a whole visit).
fn draft_banner(ui: Ui, id: String, drafts: Memo<Vec<(String, crate::drafts::Draft)>>) -> impl IntoView {
    let id = StoredValue::new(id);
    let discarding = RwSignal::new(None::<String>);
    move || {
        drafts
            .get()
            .into_iter()
            .map(|(period, d)| {
                let (p, go, drop, sure) = (period.clone(), period.clone(), period.clone(), period.clone());
                let line = move || match ui.lang.get() {
                    shared::Lang::Zh => format!("{p} 走访草稿 · 停在“{}” · {}", d.step.label(shared::Lang::Zh), clock(d.at)),
                    shared::Lang::En => format!("Draft of the {p} visit · at “{}” · {}", d.step.label(shared::Lang::En), clock(d.at)),
                };
                let step = d.step;
                view! {
                    <div class="draft" data-testid="draft-banner">
                        <p>{line}</p>
                        <button class="primary small" data-testid="draft-continue"
                            on:click=move |_| ui.page.set(Page::Visit(id.get_value(), go.clone(), step))>{move || ui.t("继续", "Go on")}</button>
                        <Show when=move || discarding.get().as_deref() == Some(sure.as_str()) fallback=move || {
                            let drop = drop.clone();
                            view! {
                                <button class="small" data-testid="draft-discard" on:click=move |_| discarding.set(Some(drop.clone()))>
                                    {move || ui.t("放弃草稿", "Discard draft")}
                                </button>
                            }
                        }>
                            {
                                let period = period.clone();
                                view! {
                                    <button class="small danger" data-testid="draft-discard-confirm" on:click=move |_| {
                                        let period = period.clone();
                                        leptos::task::spawn_local(async move {
                                            match crate::drafts::discard(ui, &id.get_value(), &period).await {
                                                Ok(()) => ui.say(ui.t("草稿已放弃", "Draft discarded")),
                                                Err(e) => ui.say(e),
                                            }
                                        });
                                    }>{move || ui.t("确定放弃（所填内容将删除）", "Discard it (what was entered is deleted)")}</button>
                                    <button class="small" on:click=move |_| discarding.set(None)>{move || ui.t("取消", "Cancel")}</button>
                                }
                            }
                        </Show>
                    </div>
                }
            })
            .collect_view()
    }
}
