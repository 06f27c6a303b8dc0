//! The portal's frame: navigation, who is signed in, and the pages by route.

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

use crate::api::Api;
use crate::pages::{account, check, dashboard, device, registry, search, subscriptions};
use crate::state::Portal;

#[component]
pub fn App(api: Api) -> impl IntoView {
    let portal = Portal::provide(api);
    view! {
        <Router>
            <header>
                <nav>
                    <A href="/">"trustreg"</A>
                    <A href="/">"Check"</A>
                    <A href="/search">"Search"</A>
                    <A href="/dashboard">"Dashboard"</A>
                    <A href="/subscriptions">"Subscriptions"</A>
                    <A href="/registry">"Registry"</A>
                    <A href="/account">"Account"</A>
                    <span class="who">
                        {move || match portal.session.get() {
                            Some(session) => view! { <span data-testid="signed-in">{session.kid}</span> }.into_any(),
                            None => view! { <span class="hint">"not logged in"</span> }.into_any(),
                        }}
                    </span>
                </nav>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="error" data-testid="error">"No such page."</p> }>
                    <Route path=path!("/") view=check::CheckPage/>
                    <Route path=path!("/devices/:id") view=device::DevicePage/>
                    <Route path=path!("/search") view=search::SearchPage/>
                    <Route path=path!("/dashboard") view=dashboard::DashboardPage/>
                    <Route path=path!("/subscriptions") view=subscriptions::SubscriptionsPage/>
                    <Route path=path!("/registry") view=registry::RegistryPage/>
                    <Route path=path!("/account") view=account::AccountPage/>
                </Routes>
            </main>
        </Router>
    }
}
