//! The app's data and its reactive handles. Documents and sync states live in one
//! thread-local place (wasm is single-threaded); `Ui.rev` is bumped whenever they
//! change, and views that read it recompute.

use std::cell::RefCell;
use std::collections::BTreeMap;

use leptos::prelude::*;
use shared::automerge::ActorId;
use shared::client::Replica;
use shared::{Date, Lang, Period};

use crate::session::Session;
pub use crate::ui::Step;

/// Everything stored on the phone, in memory.
pub struct Data {
    /// The IndexedDB handle of the logged-in cadre's store, once open.
    pub db: Option<std::rc::Rc<idb::Database>>,
    /// Whose store is open (a login id).
    pub owner: Option<String>,
    /// Household documents and their sync states (`shared::client`).
    pub replica: Replica,
    /// This page load's Automerge actor (a new one per load, so two tabs never share one).
    pub actor: ActorId,
    /// Every stored document has been read (at start they are read a few at a time).
    pub loaded: bool,
    /// Visits in progress (草稿), by `drafts::key`: every login's, each shown only to its own.
    pub drafts: BTreeMap<String, crate::drafts::Draft>,
    /// The attachments whose bytes this phone holds, by SHA-256 (`blobs`).
    pub blobs_held: std::collections::BTreeSet<String>,
    /// Those the server holds whole.
    pub blobs_sent: std::collections::BTreeSet<String>,
}

thread_local! {
    static DATA: RefCell<Data> = RefCell::new(Data {
        db: None,
        owner: None,
        replica: Replica::default(),
        actor: ActorId::random(),
        loaded: false,
        drafts: BTreeMap::new(),
        blobs_held: Default::default(),
        blobs_sent: Default::default(),
    });
}

/// How long a notice stays on screen.
pub const NOTICE_SECONDS: u32 = 6;

/// Runs `f` with the data.
pub fn with<T>(f: impl FnOnce(&mut Data) -> T) -> T {
    DATA.with(|d| f(&mut d.borrow_mut()))
}

/// Which screen is shown. The phone bundle has no console screens; it only names
/// them, to send supervisors and admins to the console bundle (`ui::elsewhere`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "console"), allow(dead_code))]
pub enum Page {
    /// 登录
    Login,
    /// 户列表
    List,
    /// 户详情
    Household(String),
    /// 走访记录: household, period, and the step shown.
    Visit(String, String, Step),
    /// 成员: household, member (`ui::member::NEW` to add one).
    Member(String, String),
    /// 本机状态: this phone's sync and storage.
    Device,
    /// 手机状态: the cadres' phones (console).
    Phones,
    /// 监测帮扶: the case queue (console).
    Cases,
    /// 明白卡: a household's printable card (phone and console).
    Card(String),
    /// 督导工作台: coverage, indicators, flagged lists (supervisors and admins), with
    /// where the coverage table is drilled to (`ui::console::dashboard`'s `Drill`).
    Dashboard(String),
    /// 审核: visits awaiting review, and one household's visit under review.
    Reviews,
    /// 冲突处理: the conflict review queue.
    Conflicts,
    /// A household as the console shows it (read from the server): id, period.
    Review(String, String),
    /// 系统管理: users, roster import, assignments (admins).
    Admin,
}

impl Page {
    /// The screen this page shows: the steps of one visit are one screen (the form stays
    /// as it is while the cadre goes from step to step).
    pub fn screen(&self) -> Page {
        match self {
            Page::Visit(id, period, _) => Page::Visit(id.clone(), period.clone(), Step::Start),
            Page::Dashboard(_) => Page::Dashboard(String::new()),
            other => other.clone(),
        }
    }
}

/// What the sync bar shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// A sync is under way.
    pub running: bool,
    /// Documents answered in the current round.
    pub done: usize,
    /// Documents in the current round.
    pub total: usize,
    /// Unix seconds of the last complete sync.
    pub last_ok: Option<i64>,
    /// Why the last sync stopped, if it failed.
    pub error: Option<String>,
    /// Households the server refused, with its message.
    pub refused: BTreeMap<String, String>,
    /// Households with edits the server has not acknowledged.
    pub unsynced: usize,
    /// Households on this phone that hold their document (the rest wait for download).
    pub downloaded: usize,
    /// Households this phone tracks.
    pub households: usize,
    /// Photos and signatures the server does not hold yet.
    pub photos_unsent: usize,
    /// Photos are being sent (after a sync's documents).
    pub uploading: bool,
    /// Attachments the server refused at the last sync, with its message.
    pub photo_errors: Vec<String>,
}

/// The reactive handles every view uses. All `Copy`.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    /// Bumped when documents change.
    pub rev: RwSignal<u64>,
    /// Every stored document and draft has been read at start.
    pub loaded: RwSignal<bool>,
    /// The screen.
    pub page: RwSignal<Page>,
    /// Interface language.
    pub lang: RwSignal<Lang>,
    /// The cached login.
    pub session: RwSignal<Option<Session>>,
    /// Sync progress.
    pub sync: RwSignal<SyncStatus>,
    /// Storage: (persisted, bytes used, quota).
    pub storage: RwSignal<Option<(bool, f64, f64)>>,
    /// A short notice ("已保存"), shown for a few seconds: set it with [`Ui::say`].
    pub notice: RwSignal<Option<String>>,
    /// The period the supervisor console shows.
    #[cfg_attr(not(feature = "console"), allow(dead_code))]
    pub period: RwSignal<Period>,
    /// Where the console's household page (and 明白卡) goes back to.
    pub return_to: RwSignal<Page>,
}

impl Ui {
    /// `zh` or `en` by the current language.
    pub fn t(&self, zh: &'static str, en: &'static str) -> &'static str {
        if self.lang.get() == Lang::Zh { zh } else { en }
    }
    /// Is the logged-in user a cadre (who keeps households on the phone)? Supervisors
    /// and admins work in the console, online.
    pub fn is_cadre(&self) -> bool {
        self.session.get_untracked().is_some_and(|s| s.user.role == shared::api::Role::Cadre)
    }
    /// The home page of the logged-in user.
    pub fn home(&self) -> Page {
        home_of(self.session.get_untracked().as_ref())
    }
    /// Opens `page`, remembering the current one for its back button.
    pub fn open(&self, page: Page) {
        self.return_to.set(self.page.get_untracked());
        self.page.set(page);
    }
    /// Shows `text` as the notice for [`NOTICE_SECONDS`]; a later notice replaces it,
    /// and logging out or going on to another screen clears it ([`Ui::leave_screen`]).
    pub fn say(&self, text: impl Into<String>) {
        // Each notice has its own number: an earlier notice's timer must not take
        // away a later one, even one with the same words (two saves in a row).
        let number = NOTICE_NUMBER.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        self.notice.set(Some(text.into()));
        let notice = self.notice;
        leptos::task::spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(NOTICE_SECONDS * 1000).await;
            if NOTICE_NUMBER.with(std::cell::Cell::get) == number {
                notice.set(None);
            }
        });
    }
    /// [`Ui::say`], for the screen the app goes to next (a save that returns to the
    /// household says "已保存" there).
    pub fn say_next(&self, text: impl Into<String>) {
        CARRY_NOTICE.set(true);
        self.say(text);
    }
    /// A new screen is shown: the notice of the screen before goes, unless it was
    /// said for this one ([`Ui::say_next`]).
    pub fn leave_screen(&self) {
        if !CARRY_NOTICE.replace(false) {
            self.notice.set(None);
        }
    }
    /// Marks the documents changed.
    pub fn touch(&self) {
        self.rev.update(|r| *r += 1);
    }
}

thread_local! {
    /// The number of the notice on screen ([`Ui::say`]).
    static NOTICE_NUMBER: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// The notice was said for the next screen ([`Ui::say_next`]).
    static CARRY_NOTICE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The home page for a session: the login page without one, the household list for a
/// cadre, the console's dashboard for supervisors and admins.
pub fn home_of(session: Option<&Session>) -> Page {
    match session {
        None => Page::Login,
        Some(s) if s.user.role == shared::api::Role::Cadre => Page::List,
        Some(_) => Page::Dashboard(String::new()),
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// Today in China.
pub fn today() -> Date {
    Date::in_china(now())
}

/// The current monitoring period.
pub fn current_period() -> Period {
    Period::of(today())
}

/// Households whose edits the server has not acknowledged: heads differ from the
/// heads last shared with the server.
pub fn unsynced(data: &Data) -> usize {
    data.replica.unsynced()
}
