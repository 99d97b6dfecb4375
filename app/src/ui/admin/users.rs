//! 用户: every account with its phone, role, area, assigned households and whether it
//! is locked or disabled; a form to create one; per account, a form to change the name,
//! phone, role and area, reset the password, unlock, disable or enable.

use leptos::prelude::*;
use shared::api::{NewUser, Role, UserRow, UserUpdate};

use super::{Msg, area_label, feedback, fetch, role_label, send};
use crate::state::Ui;
use crate::ui::clock;

/// The roles offered, cadres first (the most common account).
const ROLES: [Role; 3] = [Role::Cadre, Role::Supervisor, Role::Admin];
const AREA_KINDS: [&str; 3] = ["site", "township", "county"];

/// A role select bound to `role`.
fn role_select(ui: Ui, role: RwSignal<Role>, testid: &'static str) -> impl IntoView {
    let pick = move |ev| {
        if let Some(r) = Role::parse(&event_target_value(&ev)) {
            role.set(r);
        }
    };
    view! {
        <select data-testid=testid prop:value=move || role.get().code() on:change=pick>
            {ROLES
                .into_iter()
                .map(|r| view! { <option value=r.code() selected=move || role.get() == r>{move || role_label(ui, r)}</option> })
                .collect_view()}
        </select>
    }
}

/// The area of a supervisor: its kind and name.
fn area_inputs(ui: Ui, kind: RwSignal<String>, name: RwSignal<String>, testid: &'static str) -> impl IntoView {
    view! {
        <div class="admin-area" data-testid=testid>
            <label>
                {move || ui.t("区域类型", "Area kind")}
                <select prop:value=move || kind.get() on:change=move |ev| kind.set(event_target_value(&ev))>
                    {AREA_KINDS
                        .iter()
                        .map(|k| {
                            view! {
                                <option value=*k selected=move || kind.get() == *k>{move || super::area_kind_label(ui, k)}</option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                {move || ui.t("区域名称", "Area name")}
                <input type="text" name="area_name" placeholder=move || ui.t("如：阳光社区", "e.g. 阳光社区")
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
            </label>
        </div>
    }
}

/// A text input bound to `value`.
fn text_input(
    ui: Ui,
    zh: &'static str,
    en: &'static str,
    name: &'static str,
    kind: &'static str,
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <label>
            {move || ui.t(zh, en)}
            <input type=kind name=name autocomplete="off" prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev)) />
        </label>
    }
}

/// The accounts tab.
#[component]
pub fn Users(ui: Ui) -> impl IntoView {
    let users = LocalResource::new(move || fetch::<Vec<UserRow>>(ui, "/api/admin/users"));
    let editing = RwSignal::new(None::<String>);
    // What the open edit form last did; kept across the list's reloads.
    let said = RwSignal::new(None::<Result<Msg, Msg>>);
    let me = ui.session.get_untracked().map(|s| s.user.id).unwrap_or_default();
    let rows = move || {
        let me = me.clone();
        match users.get() {
            None => view! { <p>{move || ui.t("加载中…", "Loading…")}</p> }.into_any(),
            Some(Err(m)) => view! { <p class="error" data-testid="users-error">{move || m.say(ui)}</p> }.into_any(),
            Some(Ok(list)) => view! {
                <table class="admin-table" data-testid="users-table">
                    <thead>
                        <tr>
                            <th>{move || ui.t("账号", "Login")}</th>
                            <th>{move || ui.t("姓名", "Name")}</th>
                            <th>{move || ui.t("联系电话", "Phone")}</th>
                            <th>{move || ui.t("角色", "Role")}</th>
                            <th>{move || ui.t("区域", "Area")}</th>
                            <th>{move || ui.t("分配户数", "Households")}</th>
                            <th>{move || ui.t("状态", "Status")}</th>
                            <th></th>
                        </tr>
                    </thead>
                    <tbody>
                        {list
                            .into_iter()
                            .map(|u| user_row(ui, u.clone(), u.login == me, editing, said, users))
                            .collect_view()}
                    </tbody>
                </table>
            }
            .into_any(),
        }
    };
    view! {
        <div class="admin-users">
            {rows}
            <CreateUser ui=ui users=users />
        </div>
    }
}

fn status(ui: Ui, disabled: bool, locked: Option<i64>, failed: i64) -> impl IntoView {
    move || {
        if disabled {
            view! { <span class="badge warn" data-testid="user-disabled">{ui.t("已停用", "Disabled")}</span> }
                .into_any()
        } else if let Some(at) = locked {
            view! {
                <span class="badge conflict" data-testid="user-locked">
                    {format!("{} {}", ui.t("锁定至", "Locked until"), clock(at))}
                </span>
            }
            .into_any()
        } else if failed > 0 {
            view! { <span>{format!("{} {failed}", ui.t("正常 · 输错密码", "Active · wrong passwords:"))}</span> }
                .into_any()
        } else {
            view! { <span>{ui.t("正常", "Active")}</span> }.into_any()
        }
    }
}

fn user_row(
    ui: Ui,
    u: UserRow,
    is_me: bool,
    editing: RwSignal<Option<String>>,
    said: RwSignal<Option<Result<Msg, Msg>>>,
    users: LocalResource<Result<Vec<UserRow>, Msg>>,
) -> impl IntoView {
    let login = u.login.clone();
    let open = {
        let login = login.clone();
        move || editing.get().as_deref() == Some(login.as_str())
    };
    let toggle = {
        let login = login.clone();
        move |_| {
            said.set(None);
            editing.update(|e| *e = if e.as_deref() == Some(login.as_str()) { None } else { Some(login.clone()) });
        }
    };
    let role = u.role;
    let area = u.area.clone();
    let open_for_label = open.clone();
    let edit_user = u.clone();
    view! {
        <tr data-testid="user-row" data-login=u.login.clone() class:disabled=u.disabled>
            <td data-label=move || ui.t("账号", "Login")><strong>{u.login.clone()}</strong></td>
            <td data-label=move || ui.t("姓名", "Name")>{u.name.clone()}</td>
            <td data-label=move || ui.t("联系电话", "Phone")>{if u.phone.is_empty() { "—".to_owned() } else { u.phone.clone() }}</td>
            <td data-label=move || ui.t("角色", "Role")>{move || role_label(ui, role)}</td>
            <td data-label=move || ui.t("区域", "Area")>
                {move || area.as_deref().map(|a| area_label(ui, a)).unwrap_or_else(|| "—".into())}
            </td>
            <td data-label=move || ui.t("分配户数", "Households")>{u.assigned}</td>
            <td data-label=move || ui.t("状态", "Status")>{status(ui, u.disabled, u.locked_until, u.failed_logins)}</td>
            <td class="actions">
                <button class="small" data-testid="user-edit" on:click=toggle>
                    {move || if open_for_label() { ui.t("收起", "Close") } else { ui.t("编辑", "Edit") }}
                </button>
            </td>
        </tr>
        <Show when=open>
            <tr class="admin-edit-row">
                <td colspan="8">
                    <EditUser ui=ui user=edit_user.clone() is_me=is_me said=said users=users />
                </td>
            </tr>
        </Show>
    }
}

/// The form under one account's row.
#[component]
fn EditUser(
    ui: Ui,
    user: UserRow,
    is_me: bool,
    said: RwSignal<Option<Result<Msg, Msg>>>,
    users: LocalResource<Result<Vec<UserRow>, Msg>>,
) -> impl IntoView {
    let (area_kind, area_name) = match user.area.as_deref().and_then(|a| a.split_once(':')) {
        Some((k, n)) => (k.to_owned(), n.to_owned()),
        None => ("site".to_owned(), String::new()),
    };
    let name = RwSignal::new(user.name.clone());
    let phone = RwSignal::new(user.phone.clone());
    let role = RwSignal::new(user.role);
    let kind = RwSignal::new(area_kind);
    let area = RwSignal::new(area_name);
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let path = format!("/api/admin/users/{}", user.login);

    // Sends `body`; on success says `done` and reloads the list (this form stays open).
    let run = {
        let path = path.clone();
        move |body: UserUpdate, done: Msg| {
            let path = path.clone();
            busy.set(true);
            leptos::task::spawn_local(async move {
                let result = send(ui, &path, &body).await;
                busy.set(false);
                match result {
                    Ok(_) => {
                        said.set(Some(Ok(done)));
                        password.set(String::new());
                        users.refetch();
                    }
                    Err(m) => said.set(Some(Err(m))),
                }
            });
        }
    };

    let original = user.clone();
    let save = {
        let run = run.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let mut body = UserUpdate::default();
            let new_name = name.get_untracked().trim().to_owned();
            if new_name != original.name {
                body.name = Some(new_name);
            }
            let new_phone = phone.get_untracked().trim().to_owned();
            if new_phone != original.phone {
                body.phone = Some(new_phone);
            }
            let new_role = role.get_untracked();
            if new_role != original.role {
                body.role = Some(new_role.code().to_owned());
            }
            if new_role == Role::Supervisor {
                let a = format!("{}:{}", kind.get_untracked(), area.get_untracked().trim());
                if original.area.as_deref() != Some(a.as_str()) {
                    body.area = Some(Some(a));
                }
            }
            let pw = password.get_untracked();
            if !pw.is_empty() {
                body.password = Some(pw);
            }
            if body == UserUpdate::default() {
                said.set(Some(Err(Msg::new("没有要保存的修改", "Nothing to save"))));
                return;
            }
            run(body, Msg::new("已保存", "Saved"));
        }
    };
    let disabled = user.disabled;
    let toggle_disabled = {
        let run = run.clone();
        move |_| {
            let done = if disabled {
                Msg::new("账号已启用", "The account is enabled")
            } else {
                Msg::new("账号已停用，其登录已失效", "The account is disabled; its sessions have ended")
            };
            run(UserUpdate { disabled: Some(!disabled), ..UserUpdate::default() }, done);
        }
    };
    let locked = user.locked_until.is_some();
    let unlock = move |_| run(UserUpdate { unlock: true, ..UserUpdate::default() }, Msg::new("已解除锁定", "Unlocked"));
    let supervisor = move || role.get() == Role::Supervisor;

    view! {
        <form class="admin-form" data-testid="user-edit-form" on:submit=save>
            {text_input(ui, "姓名", "Name", "name", "text", name)}
            {text_input(ui, "联系电话（印在明白卡上）", "Phone (printed on household cards)", "phone", "tel", phone)}
            <label>{move || ui.t("角色", "Role")} {role_select(ui, role, "user-edit-role")}</label>
            <Show when=supervisor>{area_inputs(ui, kind, area, "user-edit-area")}</Show>
            {text_input(ui, "重置密码（留空则不改，至少 8 位）", "Reset password (blank: unchanged; 8+ characters)", "password", "password", password)}
            <div class="admin-buttons">
                <button type="submit" class="primary" data-testid="user-save" disabled=move || busy.get()>
                    {move || ui.t("保存", "Save")}
                </button>
                {locked.then(|| view! {
                    <button type="button" data-testid="user-unlock" disabled=move || busy.get() on:click=unlock>
                        {move || ui.t("解除锁定", "Unlock")}
                    </button>
                })}
                {(!is_me).then(|| view! {
                    <button type="button" class:danger=!disabled data-testid="user-toggle-disabled"
                        disabled=move || busy.get() on:click=toggle_disabled.clone()>
                        {move || if disabled { ui.t("启用账号", "Enable account") } else { ui.t("停用账号", "Disable account") }}
                    </button>
                })}
            </div>
            {feedback(ui, said, "user-edit-result")}
        </form>
    }
}

/// The form to create an account.
#[component]
fn CreateUser(ui: Ui, users: LocalResource<Result<Vec<UserRow>, Msg>>) -> impl IntoView {
    let login = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Cadre);
    let kind = RwSignal::new("site".to_owned());
    let area = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let said = RwSignal::new(None::<Result<Msg, Msg>>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let supervisor = role.get_untracked() == Role::Supervisor;
        let body = NewUser {
            login: login.get_untracked().trim().to_owned(),
            name: name.get_untracked().trim().to_owned(),
            role: role.get_untracked().code().to_owned(),
            area: supervisor.then(|| format!("{}:{}", kind.get_untracked(), area.get_untracked().trim())),
            password: password.get_untracked(),
            phone: phone.get_untracked().trim().to_owned(),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = send(ui, "/api/admin/users", &body).await;
            busy.set(false);
            match result {
                Ok(_) => {
                    let l = login.get_untracked();
                    said.set(Some(Ok(Msg::new(format!("已创建账号 {l}"), format!("Created {l}")))));
                    for s in [login, name, phone, area, password] {
                        s.set(String::new());
                    }
                    users.refetch();
                }
                Err(m) => said.set(Some(Err(m))),
            }
        });
    };
    view! {
        <form class="admin-form admin-create" data-testid="user-create-form" on:submit=submit>
            <h3>{move || ui.t("新建账号", "New account")}</h3>
            {text_input(ui, "账号（字母、数字、_ . -）", "Login (letters, digits, _ . -)", "login", "text", login)}
            {text_input(ui, "姓名", "Name", "name", "text", name)}
            {text_input(ui, "联系电话（可选）", "Phone (optional)", "phone", "tel", phone)}
            <label>{move || ui.t("角色", "Role")} {role_select(ui, role, "user-create-role")}</label>
            <Show when=move || role.get() == Role::Supervisor>{area_inputs(ui, kind, area, "user-create-area")}</Show>
            {text_input(ui, "初始密码（至少 8 位）", "Initial password (8+ characters)", "password", "password", password)}
            <button type="submit" class="primary" data-testid="user-create" disabled=move || busy.get()>
                {move || ui.t("创建", "Create")}
            </button>
            {feedback(ui, said, "user-create-result")}
        </form>
    }
}
