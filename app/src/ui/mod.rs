//! The screens. `App` holds the header (title, language, sync bar) and shows the page
//! chosen in `Ui.page`. The console and administration screens are in the console
//! bundle only (feature `console`); [`elsewhere`] sends each role to its bundle.

#[cfg(feature = "console")]
mod admin;
mod card;
mod case;
#[cfg(feature = "console")]
mod console;
mod device;
pub mod evidence;
mod fields;
mod household;
mod income;
mod list;
mod login;
mod member;
mod visit;

use leptos::prelude::*;
use shared::Lang;

pub use list::{forget_rows, keep_rows};
pub use visit::Step;

use crate::state::{self, Page, SyncStatus, Ui};
use crate::{session, sync};

/// `YYYY-MM-DD HH:MM` (China time) of a Unix second.
pub fn clock(at: i64) -> String {
    let date = shared::Date::in_china(at);
    let secs = (at + 8 * 3600).rem_euclid(86_400);
    format!("{date} {:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

#[component]
fn SyncBar(ui: Ui) -> impl IntoView {
    let text = move || {
        let s: SyncStatus = ui.sync.get();
        let t = |zh, en| ui.t(zh, en);
        let mut parts = Vec::new();
        if s.running && s.downloaded < s.households {
            // The first sync: say what it is doing, not "0/0".
            parts.push(match ui.lang.get() {
                Lang::Zh => format!("正在下载 {}/{} 户", s.downloaded, s.households),
                Lang::En => format!("Downloading {}/{} households", s.downloaded, s.households),
            });
        } else if s.running {
            parts.push(format!("{} {}/{}", t("同步中", "Syncing"), s.done, s.total));
        } else if let Some(e) = &s.error {
            parts.push(format!("{}：{e}", t("同步未完成", "Sync incomplete")));
        }
        parts.push(format!("{} {}", t("待同步", "Unsynced"), s.unsynced));
        if s.photos_unsent > 0 {
            let what = if s.uploading {
                t("正在上传照片", "Sending photos")
            } else {
                t("待传照片", "Photos to send")
            };
            parts.push(format!("{what} {}", s.photos_unsent));
        }
        parts.push(match s.last_ok {
            Some(at) => format!("{} {}", t("上次同步", "Last sync"), clock(at)),
            None => t("尚未同步", "Never synced").to_owned(),
        });
        if !sync::online() {
            parts.insert(0, t("离线", "Offline").to_owned());
        }
        parts.join(" · ")
    };
    let busy = move || ui.sync.get().running;
    view! {
        <div class="syncbar" data-testid="syncbar" class:busy=busy>
            <span data-testid="sync-status">{text}</span>
            <button class="small" data-testid="sync-now" disabled=busy on:click=move |_| {
                if sync::online() {
                    leptos::task::spawn_local(sync::run(ui));
                } else {
                    ui.say(ui.t("现在没有网络：记录已保存在本机，联网后会自动同步", "No network now: the records are kept on this phone and sync by themselves once online"));
                }
            }>
                {move || ui.t("立即同步", "Sync now")}
            </button>
        </div>
        {move || {
            let s = ui.sync.get();
            (!s.refused.is_empty() || !s.photo_errors.is_empty())
                .then(|| {
                    view! {
                        <ul class="errors" data-testid="sync-errors">
                            {s.refused.into_iter().map(|(id, m)| view! { <li>{id}": "{m}</li> }).collect_view()}
                            {s.photo_errors.into_iter().map(|m| view! { <li data-testid="photo-error">{ui.t("照片", "Photo")}" "{m}</li> }).collect_view()}
                        </ul>
                    }
                })
        }}
    }
}

/// The whole app.
#[component]
pub fn App(ui: Ui) -> impl IntoView {
    let toggle = move |_| {
        let next = if ui.lang.get_untracked() == Lang::Zh { Lang::En } else { Lang::Zh };
        session::set_lang(next);
        ui.lang.set(next);
    };
    let leave = move || {
        // End the session on the server too (best effort: offline, it simply expires).
        if let Some(s) = ui.session.get_untracked() {
            leptos::task::spawn_local(async move {
                let _ = crate::api::post_json(&s.token, "/api/logout", &serde_json::json!({})).await;
            });
        }
        session::clear();
        ui.session.set(None);
        ui.notice.set(None);
        // The next login sees none of this one's households, drafts or refusals; what
        // is not synced stays in this login's own store until it logs in again.
        crate::data::close(ui);
        list::forget_place();
        crate::route::replace(ui, Page::Login);
    };
    crate::route::install(ui);
    // The steps of a visit are one screen: going from step to step keeps the form.
    let screen = Memo::new(move |_| ui.page.get().screen());
    // Every screen but the list (which puts itself back) opens at its top, without the
    // notices of the screen before.
    Effect::new(move |_| {
        let page = ui.page.get();
        ui.leave_screen();
        if page != Page::List
            && let Some(w) = web_sys::window()
        {
            w.scroll_to_with_x_and_y(0.0, 0.0);
        }
    });
    // 退出 with visits not yet on the server asks first, and says how many.
    let unsent = RwSignal::new(None::<usize>);
    let logout = move |_| {
        let n = state::with(|d| d.replica.unsynced());
        let photos = state::with(|d| crate::blobs::unsent_photos(d));
        if (n > 0 || photos > 0) && ui.is_cadre() { unsent.set(Some(n)) } else { leave() }
    };
    let sync_then_leave = move |_| {
        leptos::task::spawn_local(async move {
            sync::run(ui).await;
            let n = state::with(|d| d.replica.unsynced());
            let photos = state::with(|d| crate::blobs::unsent_photos(d));
            if n == 0 && photos == 0 {
                unsent.set(None);
                leave();
            } else {
                unsent.set(Some(n));
                ui.say(
                    ui.t("同步未完成，记录仍在本机", "The sync did not finish; the records are still on this phone"),
                );
            }
        });
    };
    let logged_in = move || ui.session.get().is_some();
    view! {
        <header>
            <h1 on:click=move |_| if logged_in() { crate::route::back_to(ui, ui.home()) }>{move || ui.t("户户见", "Huhujian")}</h1>
            <span class="who">{move || ui.session.get().map(|s| s.user.name)}</span>
            <button class="small" on:click=toggle>{move || ui.t("English", "中文")}</button>
            <Show when=logged_in>
                <button class="small" on:click=logout>{move || ui.t("退出", "Log out")}</button>
            </Show>
        </header>
        <Show when=move || logged_in() && ui.is_cadre()>
            <SyncBar ui=ui />
        </Show>
        {move || unsent.get().map(|n| view! {
            <div class="leave-warning" role="alertdialog" data-testid="logout-warning">
                <p>{move || match (ui.lang.get(), sync::online()) {
                    _ if n == 0 => String::new(),
                    (Lang::Zh, true) => format!("本机还有 {n} 户的记录未同步。先同步再退出吗？"),
                    (Lang::Zh, false) => format!("本机还有 {n} 户的记录未同步，现在没有网络。退出后它们留在本机，只有你本人再次登录后才会同步。"),
                    (Lang::En, true) => format!("{n} households on this phone are not synced yet. Sync before logging out?"),
                    (Lang::En, false) => format!("{n} households on this phone are not synced, and there is no network. They stay on this phone and sync only when you log in again."),
                }}</p>
                {move || {
                    let photos = ui.sync.get().photos_unsent;
                    (photos > 0).then(|| view! {
                        <p data-testid="logout-photos">{move || match ui.lang.get() {
                            Lang::Zh => format!("另有 {photos} 张照片或签字未上传，退出后留在本机。"),
                            Lang::En => format!("{photos} photos or signatures are not uploaded yet; they stay on this phone."),
                        }}</p>
                    })
                }}
                <Show when=sync::online>
                    <button class="primary" data-testid="logout-sync" on:click=sync_then_leave>{move || ui.t("先同步，再退出", "Sync, then log out")}</button>
                </Show>
                <button data-testid="logout-anyway" on:click=move |_| { unsent.set(None); leave() }>
                    {move || ui.t("仍然退出（记录留在本机）", "Log out anyway (records stay here)")}
                </button>
                <button data-testid="logout-cancel" on:click=move |_| unsent.set(None)>{move || ui.t("取消", "Cancel")}</button>
            </div>
        })}
        {console_nav(ui)}
        {move || ui.notice.get().map(|n| view! { <div class="notice" data-testid="notice">{n}</div> })}
        <main class:wide=move || ui.session.get().is_some_and(|s| s.user.role != shared::api::Role::Cadre)>
            {move || page_view(ui, screen.get())}
        </main>
    }
}

/// The console's navigation, for supervisors and admins.
#[cfg(feature = "console")]
fn console_nav(ui: Ui) -> impl IntoView {
    view! {
        <Show when=move || ui.session.get().is_some_and(|s| s.user.role != shared::api::Role::Cadre)>
            <console::ConsoleNav ui=ui />
        </Show>
    }
}

#[cfg(not(feature = "console"))]
fn console_nav(_ui: Ui) -> impl IntoView {}

/// The screen for `page`.
fn page_view(ui: Ui, page: Page) -> AnyView {
    match page {
        Page::Login => login::Login(login::LoginProps { ui }).into_any(),
        Page::List => list::List(list::ListProps { ui }).into_any(),
        Page::Household(id) => household::Household(household::HouseholdProps { ui, id }).into_any(),
        Page::Visit(id, period, _) => visit::VisitForm(visit::VisitFormProps { ui, id, period }).into_any(),
        Page::Member(id, mid) => member::MemberPage(member::MemberPageProps { ui, id, mid }).into_any(),
        Page::Device => device::Device(device::DeviceProps { ui }).into_any(),
        Page::Card(id) => card::CardPage(card::CardPageProps { ui, id }).into_any(),
        #[cfg(feature = "console")]
        Page::Phones => console::phones::Phones(console::phones::PhonesProps { ui }).into_any(),
        #[cfg(feature = "console")]
        Page::Cases => console::cases::Cases(console::cases::CasesProps { ui }).into_any(),
        #[cfg(feature = "console")]
        Page::Admin => admin::Admin(admin::AdminProps { ui }).into_any(),
        #[cfg(feature = "console")]
        Page::Dashboard(_) => console::dashboard::Dashboard(console::dashboard::DashboardProps { ui }).into_any(),
        #[cfg(feature = "console")]
        Page::Reviews => console::reviews::Reviews(console::reviews::ReviewsProps { ui }).into_any(),
        #[cfg(feature = "console")]
        Page::Conflicts => console::conflicts::Conflicts(console::conflicts::ConflictsProps { ui }).into_any(),
        #[cfg(feature = "console")]
        Page::Review(id, period) => {
            console::household::ReviewHousehold(console::household::ReviewHouseholdProps { ui, id, period }).into_any()
        }
        // The phone bundle has no console: `elsewhere` is on its way to it.
        #[cfg(not(feature = "console"))]
        Page::Admin
        | Page::Dashboard(_)
        | Page::Reviews
        | Page::Conflicts
        | Page::Review(..)
        | Page::Phones
        | Page::Cases => {
            view! { <p class="notice">{move || ui.t("正在打开督导台…", "Opening the console…")}</p> }.into_any()
        }
    }
}

/// Where a user with `session` belongs when this bundle is not it: cadres use the phone
/// bundle at `/`, which has no console or administration code (a smaller first download
/// over 2G); supervisors and admins use the console bundle at `/console/`.
fn elsewhere(session: Option<&crate::session::Session>) -> Option<&'static str> {
    let cadre = session?.user.role == shared::api::Role::Cadre;
    match (cadre, cfg!(feature = "console")) {
        (true, true) => Some("/"),
        (false, false) => Some("/console/"),
        _ => None,
    }
}

/// Opens the bundle that `session` belongs in, when it is not this one; `true` if so.
pub fn go_elsewhere(session: Option<&crate::session::Session>) -> bool {
    let Some(url) = elsewhere(session) else { return false };
    web_sys::window().is_some_and(|w| w.location().replace(url).is_ok())
}

/// A visit's review steps (审核记录) in order: action, who, when, and the comment.
pub fn review_steps(lang: Lang, visit: &shared::Visit) -> impl IntoView + use<> {
    visit
        .review_thread()
        .into_iter()
        .map(|(_, r)| {
            view! {
                <li data-testid="review-step">
                    <strong>{r.action.map(|a| shared::Coded::label(a, lang))}</strong>" · "{r.name.clone()}" · "{clock(r.at)}
                    {(!r.comment.is_empty()).then(|| view! { <p class="comment">{r.comment.clone()}</p> })}
                </li>
            }
        })
        .collect_view()
}
