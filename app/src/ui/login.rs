//! 登录: needs the network once; afterwards the cached session works offline.

use leptos::prelude::*;

use crate::state::Ui;
use crate::{api, session, sync};

/// The login screen.
#[component]
pub fn Login(ui: Ui) -> impl IntoView {
    let login = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let who = login.get_untracked();
            match api::login(&who, &password.get_untracked(), &session::device_for(who.trim())).await {
                Ok(s) => {
                    session::save(&s);
                    if super::go_elsewhere(Some(&s)) {
                        return;
                    }
                    let user = s.user.id.clone();
                    ui.session.set(Some(s));
                    crate::route::replace(ui, ui.home());
                    if ui.is_cadre() {
                        crate::data::open(ui, &user).await;
                    }
                    sync::run(ui).await;
                }
                Err(api::ApiError::Offline) => error.set(Some(
                    ui.t(
                        "无法连接服务器：首次登录需要网络",
                        "Cannot reach the server: the first login needs the network",
                    )
                    .into(),
                )),
                Err(api::ApiError::Refused(m)) => error.set(Some(m)),
                Err(api::ApiError::Unauthorized) => {
                    error.set(Some(ui.t("账号或密码错误", "Wrong login or password").into()))
                }
            }
            busy.set(false);
        });
    };
    view! {
        <form class="login" on:submit=submit>
            <h2>{move || ui.t("登录", "Log in")}</h2>
            <label>
                {move || ui.t("账号", "Login")}
                <input name="login" autocomplete="username" required prop:value=move || login.get()
                    on:input=move |ev| login.set(event_target_value(&ev)) />
            </label>
            <label>
                {move || ui.t("密码", "Password")}
                <input name="password" type="password" autocomplete="current-password" required
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) />
            </label>
            {move || error.get().map(|e| view! { <p class="error" data-testid="login-error">{e}</p> })}
            <button type="submit" class="primary" disabled=move || busy.get()>{move || ui.t("登录", "Log in")}</button>
        </form>
    }
}
