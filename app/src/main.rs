//! The huhujian phone app (Leptos CSR, built by Trunk). This is the foundation slice: a
//! Chinese-first shell that renders the questionnaire's sections from `shared`'s labels.
//! Login, IndexedDB storage, sync and the visit form arrive with issue #4.

use leptos::prelude::*;
use shared::{Channel, Coded, EmploymentStatus, Guarantee, Lang, RiskSignal, VisitMode};

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// The labels of every variant of a coded answer, in `lang`.
fn labels<T: Coded>(lang: Lang) -> String {
    let sep = if lang == Lang::Zh { "、" } else { ", " };
    T::ALL.iter().map(|v| v.label(lang)).collect::<Vec<_>>().join(sep)
}

#[component]
fn App() -> impl IntoView {
    let (lang, set_lang) = signal(Lang::Zh);
    let t = move |zh: &'static str, en: &'static str| if lang.get() == Lang::Zh { zh } else { en };
    let toggle = move |_| set_lang.update(|l| *l = if *l == Lang::Zh { Lang::En } else { Lang::Zh });
    view! {
        <header>
            <h1>{move || t("户户见", "Huhujian")}</h1>
            <button class="lang" on:click=toggle>{move || t("English", "中文")}</button>
        </header>
        <main>
            <p>{move || t("易地扶贫搬迁户月度走访", "Monthly visits to relocated households")}</p>
            <dl>
                <dt>{move || t("走访方式", "Visit mode")}</dt>
                <dd>{move || labels::<VisitMode>(lang.get())}</dd>
                <dt>{move || t("就业状态", "Employment status")}</dt>
                <dd>{move || labels::<EmploymentStatus>(lang.get())}</dd>
                <dt>{move || t("就业渠道", "Channels")}</dt>
                <dd>{move || labels::<Channel>(lang.get())}</dd>
                <dt>{move || t("两不愁三保障", "Two no-worries, three guarantees")}</dt>
                <dd>{move || labels::<Guarantee>(lang.get())}</dd>
                <dt>{move || t("返贫风险", "Risk signals")}</dt>
                <dd>{move || labels::<RiskSignal>(lang.get())}</dd>
            </dl>
        </main>
    }
}
