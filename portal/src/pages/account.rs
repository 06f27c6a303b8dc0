//! Sign up and log in (Y.3059 9.3 i a, 9.3 iii): the browser makes the key pair (WebCrypto,
//! not extractable) and keeps it; login signs the registry's challenge with it.

use leptos::prelude::*;
use serde_json::Value;

use crate::state::Portal;
use crate::widgets::{Load, load, show};

#[component]
pub fn AccountPage() -> impl IntoView {
    let portal = Portal::get();
    let name = RwSignal::new(String::new());
    let organisation = RwSignal::new(String::new());
    let contact = RwSignal::new(String::new());
    let signed_up = RwSignal::new(Load::<Value>::Idle);
    let logged_in = RwSignal::new(Load::<()>::Idle);
    let sign_up = move || {
        let (n, o, c) = (
            name.get_untracked(),
            organisation.get_untracked(),
            contact.get_untracked(),
        );
        load(signed_up, async move {
            portal.sign_up(n.trim(), o.trim(), c.trim()).await
        });
    };
    let log_in = move |_| load(logged_in, async move { portal.log_in().await.map(|_| ()) });
    view! {
        <section>
            <h1>"Account"</h1>
            {move || portal.kid.get().map(|kid| {
                let id = kid.strip_prefix("enquirer:").unwrap_or(&kid).to_owned();
                view! {
                    <div class="result">
                        <p>"This browser holds the key of enquirer " <code data-testid="enquirer-id">{id}</code> "."</p>
                        {move || match portal.session.get() {
                            Some(_) => view! {
                                <p>"You are logged in. " <button class="link" id="logout-go" on:click=move |_| portal.log_out()>"Log out"</button></p>
                            }.into_any(),
                            None => view! {
                                <p>
                                    <button id="login-go" on:click=log_in>"Log in"</button>
                                    " with the key this browser keeps (an administrator must have approved the account)."
                                </p>
                            }.into_any(),
                        }}
                        {move || show(logged_in.get(), |()| ())}
                        <p class="hint">
                            <button class="link" id="forget-go" on:click=move |_| {
                                leptos::task::spawn_local(async move {
                                    if let Err(error) = portal.forget_key().await {
                                        logged_in.set(Load::Failed(error));
                                    }
                                });
                            }>"Forget this key"</button>
                            " (the account can then no longer be used from this browser)."
                        </p>
                    </div>
                }
            })}
            {move || show(signed_up.get(), |view_: Value| view! {
                <p class="ok">
                    "Signed up. State: " <strong data-testid="enquirer-state">{view_["state"].as_str().unwrap_or("pending").to_owned()}</strong>
                    ". You can log in once an administrator approves the account."
                </p>
            })}
            <h2>"Sign up"</h2>
            <p class="hint">"A new key pair is made in this browser for the account; its private half never leaves it."</p>
            <form class="grid" on:submit=move |ev| {
                ev.prevent_default();
                sign_up();
            }>
                <label>"Name"<input id="signup-name" type="text" required prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
                <label>"Organisation"<input id="signup-organisation" type="text" required prop:value=move || organisation.get() on:input=move |ev| organisation.set(event_target_value(&ev))/></label>
                <label>"Contact (kept encrypted)"<input id="signup-contact" type="email" required prop:value=move || contact.get() on:input=move |ev| contact.set(event_target_value(&ev))/></label>
                <button id="signup-go" type="submit">"Sign up"</button>
            </form>
        </section>
    }
}
