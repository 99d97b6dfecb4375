//! 成员: one member's page, to edit every field (name, sex, birth date, relation, ID
//! number with its check digit, contact number, labour capacity and the rest) or to add
//! a member with why and when they joined. Changes of membership (婚出, 迁出, 分户, 死亡,
//! 迁回) carry a reason and a date, ask for confirmation, and can be undone while the
//! page is open. Saving writes only what changed since the page opened (`data::edit`).

use std::collections::BTreeSet;

use leptos::prelude::*;
use shared::{Coded, Date, Household, LabourCapacity, Lang, Member, MemberChange, Relation, Severity, Sex};

use crate::data;
use crate::route;
use crate::state::{self, Page, Ui};
use crate::ui::fields::{coded_select, problem, text};

/// The member id of a member not yet added (the page's address for 添加成员).
pub const NEW: &str = "_new";

/// The member page of household `id`: member `mid`, or a new one ([`NEW`]).
#[component]
pub fn MemberPage(ui: Ui, id: String, mid: String) -> impl IntoView {
    view! {
        <Show when=move || ui.loaded.get() fallback=move || view! { <p class="hint">{move || ui.t("正在读取本机记录…", "Reading this phone's records…")}</p> }>
            {page(ui, id.clone(), mid.clone())}
        </Show>
    }
}

fn stored(id: &str) -> Household {
    state::with(|d| d.replica.docs.get(id).and_then(|doc| doc.household().ok())).unwrap_or_default()
}

/// A fresh member id: `p` and ten hex digits.
fn new_id() -> String {
    let mut raw = [0u8; 5];
    let _ = getrandom::fill(&mut raw);
    format!("p{}", raw.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn page(ui: Ui, id: String, mid: String) -> impl IntoView {
    let lang = ui.lang;
    let adding = mid == NEW;
    let household = stored(&id);
    let mid = StoredValue::new(if adding { new_id() } else { mid });
    let opened = household.members.get(&mid.get_value()).cloned().unwrap_or_default();
    let base = StoredValue::new(opened.clone());
    let member = RwSignal::new(opened);
    let hid = StoredValue::new(id.clone());
    let seen = RwSignal::new(BTreeSet::<String>::new());
    let tried = RwSignal::new(false);
    // Why and when a new member joined (登记时已在户 when left empty).
    let joined = RwSignal::new(None::<MemberChange>);
    let joined_on = RwSignal::new(Some(state::today()));
    let path = move |f: &str| format!("m/{}/{f}", mid.get_value());
    let all = Memo::new(move |_| {
        let mut h = stored(&hid.get_value());
        let mut m = member.get();
        if let Some(c) = joined.get() {
            m.change = Some(c);
            m.changed_on = joined_on.get();
        }
        h.members.insert(mid.get_value(), m);
        let prefix = path("");
        shared::validate(&h, state::today()).into_iter().filter(|p| p.path.starts_with(&prefix)).collect::<Vec<_>>()
    });
    let problems = Memo::new(move |_| {
        let (seen, tried) = (seen.get(), tried.get());
        all.get()
            .into_iter()
            .filter(|p| p.severity != Severity::Error || tried || seen.contains(&p.path))
            .collect::<Vec<_>>()
    });
    let edit = move |field: &'static str, f: Box<dyn FnOnce(&mut Member)>| {
        seen.update(|s| {
            s.insert(path(field));
        });
        member.update(|m| f(m));
    };
    let saving = RwSignal::new(false);
    let save = move |_| {
        tried.set(true);
        let errors = all.get_untracked().into_iter().filter(|p| p.severity == Severity::Error).count();
        if errors > 0 || member.with_untracked(|m| m.name.trim().is_empty()) {
            ui.say(match lang.get_untracked() {
                Lang::Zh => format!("还有 {} 处需要改正", errors.max(1)),
                Lang::En => format!("{} items still need fixing", errors.max(1)),
            });
            return;
        }
        saving.set(true);
        leptos::task::spawn_local(async move {
            let id = hid.get_value();
            let mut before = stored(&id);
            let mut after = before.clone();
            let mut m = member.get_untracked();
            if adding {
                before.members.remove(&mid.get_value());
                if let Some(c) = joined.get_untracked() {
                    m.status = Some(c.status());
                    m.change = Some(c);
                    m.changed_on = joined_on.get_untracked();
                }
            } else {
                before.members.insert(mid.get_value(), base.get_value());
            }
            after.members.insert(mid.get_value(), m);
            match data::edit(ui, &id, &before, &after).await {
                Ok(()) => {
                    route::back_to(ui, Page::Household(id));
                    ui.say_next(ui.t("成员信息已保存到本机", "Member saved on this phone"));
                }
                Err(e) => ui.say(format!("{}：{e}", ui.t("保存失败", "Not saved"))),
            }
            saving.set(false);
        });
    };

    let flag = move |field: &'static str,
                     zh: &'static str,
                     en: &'static str,
                     get: fn(&Member) -> bool,
                     set: fn(&mut Member, bool)| {
        view! {
            <label class="check">
                <input type="checkbox" data-testid=format!("member-{field}") prop:checked=move || member.with(get)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        edit(field, Box::new(move |m| set(m, on)))
                    } />
                {move || ui.t(zh, en)}
            </label>
        }
    };
    let title = move || {
        if adding {
            ui.t("添加成员", "Add a member").to_owned()
        } else {
            format!("{} · {}", ui.t("成员", "Member"), member.with(|m| m.name.clone()))
        }
    };
    view! {
        <section class="member-page">
            <div class="visit-top">
                <button class="back" on:click=move |_| route::back_to(ui, Page::Household(hid.get_value()))>{move || ui.t("‹ 返回", "‹ Back")}</button>
                <h2 data-testid="member-title">{title}</h2>
            </div>
            {(!adding).then(|| membership(ui, hid, mid, member, base))}
            <label><span class="req">{move || ui.t("姓名", "Name")}</span>
                {text("member-name".into(), move || member.with(|m| m.name.clone()), move |s| edit("name", Box::new(move |m| m.name = s)))}
            </label>
            {problem(problems, lang, path("name"))}
            <label>{move || ui.t("性别", "Sex")}
                {coded_select(lang, "member-sex".into(), move || member.with(|m| m.sex), move |s: Option<Sex>| edit("sex", Box::new(move |m| m.sex = s)))}
            </label>
            <label>{move || ui.t("出生日期", "Birth date")}
                <input type="date" data-testid="member-birth" prop:value=move || member.with(|m| m.birth_date.map(|d| d.to_string()).unwrap_or_default())
                    on:input=move |ev| { let d = event_target_value(&ev).parse().ok(); edit("birth", Box::new(move |m| m.birth_date = d)) } />
            </label>
            {problem(problems, lang, path("birth"))}
            <label>{move || ui.t("与户主关系", "Relation to head")}
                {coded_select(lang, "member-relation".into(), move || member.with(|m| m.relation), move |r: Option<Relation>| edit("relation", Box::new(move |m| m.relation = r)))}
            </label>
            {problem(problems, lang, path("relation"))}
            <label>{move || ui.t("身份证号", "ID number")}
                {text("member-id-no".into(), move || member.with(|m| m.id_number.clone()), move |s| edit("id_no", Box::new(move |m| m.id_number = s.trim().to_uppercase())))}
            </label>
            {problem(problems, lang, path("id_no"))}
            <label>{move || ui.t("联系电话", "Phone number")}
                <input type="tel" inputmode="tel" data-testid="member-phone" prop:value=move || member.with(|m| m.phone.clone())
                    on:input=move |ev| { let s = event_target_value(&ev); edit("phone", Box::new(move |m| m.phone = s.trim().to_owned())) } />
            </label>
            {problem(problems, lang, path("phone"))}
            <label>{move || ui.t("劳动能力", "Labour capacity")}
                {coded_select(lang, "member-labour".into(), move || member.with(|m| m.labour), move |l: Option<LabourCapacity>| edit("labour", Box::new(move |m| m.labour = l)))}
            </label>
            <div class="checks">
                {flag("school", "在校生", "In school", |m| m.in_school, |m, b| m.in_school = b)}
                {flag("disabled", "残疾", "Disability", |m| m.disabled, |m, b| m.disabled = b)}
                {flag("ill", "大病", "Serious illness", |m| m.serious_illness, |m, b| m.serious_illness = b)}
                {flag("graduate", "高校毕业生", "College graduate", |m| m.college_graduate, |m, b| m.college_graduate = b)}
                {flag("vulnerable", "鳏寡孤独残", "Widowed, orphaned, alone", |m| m.vulnerable, |m, b| m.vulnerable = b)}
            </div>
            {adding.then(|| view! {
                <label>{move || ui.t("加入原因", "Why they joined")}
                    <select data-testid="member-joined" on:change=move |ev| joined.set(MemberChange::from_code(&event_target_value(&ev)))>
                        <option value="" selected=move || joined.get().is_none()>{move || ui.t("登记时已在户", "In the household when registered")}</option>
                        {MemberChange::ALL.iter().copied().filter(|c| c.joins()).map(|c| view! {
                            <option value=c.code() selected=move || joined.get() == Some(c)>{move || c.label(lang.get())}</option>
                        }).collect_view()}
                    </select>
                </label>
                <Show when=move || joined.get().is_some()>
                    <label>{move || ui.t("加入日期", "Date joined")}
                        <input type="date" data-testid="member-joined-on" prop:value=move || joined_on.get().map(|d| d.to_string()).unwrap_or_default()
                            on:input=move |ev| joined_on.set(event_target_value(&ev).parse().ok()) />
                    </label>
                </Show>
                {problem(problems, lang, path("changed_on"))}
            })}
            <button class="primary" data-testid="member-save" on:click=save disabled=move || saving.get()>
                {move || if adding { ui.t("添加成员", "Add member") } else { ui.t("保存成员信息", "Save member") }}
            </button>
        </section>
    }
}

/// 成员变动 of a member already in the household: who left or came back, why and when,
/// each confirmed before it is written, and the last one undone on request.
fn membership(
    ui: Ui,
    hid: StoredValue<String>,
    mid: StoredValue<String>,
    member: RwSignal<Member>,
    base: StoredValue<Member>,
) -> impl IntoView {
    let lang = ui.lang;
    let picked = RwSignal::new(None::<MemberChange>);
    let on = RwSignal::new(Some(state::today()));
    // The member as it was before the change just recorded, to undo it.
    let undo = RwSignal::new(None::<(MemberChange, Member)>);
    let write = move |from: Member, to: Member, done: Option<MemberChange>| {
        leptos::task::spawn_local(async move {
            let id = hid.get_value();
            let mut before = stored(&id);
            before.members.insert(mid.get_value(), from.clone());
            let mut after = before.clone();
            after.members.insert(mid.get_value(), to.clone());
            match data::edit(ui, &id, &before, &after).await {
                Ok(()) => {
                    // The page's own edits go on from here.
                    let keep = |m: &mut Member| {
                        (m.status, m.change, m.changed_on) = (to.status, to.change, to.changed_on);
                    };
                    member.update(keep);
                    base.update_value(keep);
                    picked.set(None);
                    undo.set(done.map(|c| (c, from)));
                    if done.is_none() {
                        ui.say(ui.t("已撤销", "Undone"));
                    }
                }
                Err(e) => ui.say(e),
            }
        });
    };
    let confirm = move |_| {
        let (Some(change), Some(date)) = (picked.get_untracked(), on.get_untracked()) else { return };
        if date > state::today() {
            ui.say(ui.t("变动日期不能晚于今天", "The date cannot be after today"));
            return;
        }
        let from = base.get_value();
        let mut to = from.clone();
        to.record_change(change, date);
        write(from, to, Some(change));
    };
    let present = move || member.with(Member::is_present);
    let choices = move || {
        let here = present();
        MemberChange::ALL
            .iter()
            .copied()
            .filter(move |c| if here { !c.joins() } else { *c == MemberChange::Returned })
            .map(|c| {
                view! {
                    <button type="button" class="small" data-testid=format!("change-{}", c.code()) class:on=move || picked.get() == Some(c)
                        on:click=move |_| picked.set(Some(c))>{move || c.label(lang.get())}</button>
                }
            })
            .collect_view()
    };
    let now = move || {
        member.with(|m| {
            let status = m.status.map(|s| s.label(lang.get())).unwrap_or(ui.t("在户", "Present"));
            match (m.change, m.changed_on) {
                (Some(c), Some(d)) => format!("{status} · {} · {d}", c.label(lang.get())),
                _ => status.to_owned(),
            }
        })
    };
    view! {
        <div class="membership" data-testid="membership">
            <p><strong>{move || ui.t("成员状态：", "Status: ")}</strong><span data-testid="member-status">{now}</span></p>
            {move || undo.get().map(|(c, from)| view! {
                <div class="draft" data-testid="change-recorded">
                    <p>{move || match lang.get() {
                        Lang::Zh => format!("已记录：{}", c.zh()),
                        Lang::En => format!("Recorded: {}", c.en()),
                    }}</p>
                    <button class="small" data-testid="change-undo" on:click=move |_| {
                        let to = from.clone();
                        write(base.get_value(), to, None);
                    }>{move || ui.t("撤销", "Undo")}</button>
                </div>
            })}
            <p class="hint">{move || if present() {
                ui.t("成员变动（婚出、迁出、分户、死亡）：", "A change of membership (married out, moved out, split, died):")
            } else {
                ui.t("已回到本户：", "Back in the household:")
            }}</p>
            <div class="change-choices">{choices}</div>
            {move || picked.get().map(|c| view! {
                <div class="confirm-change" data-testid="change-confirm-box">
                    <label>{move || ui.t("变动日期", "Date of the change")}
                        <input type="date" data-testid="change-date" prop:value=move || on.get().map(|d: Date| d.to_string()).unwrap_or_default()
                            on:input=move |ev| on.set(event_target_value(&ev).parse().ok()) />
                    </label>
                    <button class="primary" data-testid="change-confirm" on:click=confirm disabled=move || on.get().is_none()>
                        {move || {
                            let name = member.with(|m| m.name.clone());
                            let date = on.get().map(|d| d.to_string()).unwrap_or_default();
                            match lang.get() {
                                Lang::Zh => format!("确定：{name} {}（{date}）", c.zh()),
                                Lang::En => format!("Confirm: {name} {} ({date})", c.en().to_lowercase()),
                            }
                        }}
                    </button>
                    <button class="small" on:click=move |_| picked.set(None)>{move || ui.t("取消", "Cancel")}</button>
                </div>
            })}
        </div>
    }
}
