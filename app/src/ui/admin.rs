//! 系统管理 (admins): users and roles, roster import, assignments.

use leptos::prelude::*;

use crate::state::Ui;

/// The admin screen.
#[component]
pub fn Admin(ui: Ui) -> impl IntoView {
    view! { <section class="admin"><h2>{move || ui.t("系统管理", "Administration")}</h2></section> }
}
