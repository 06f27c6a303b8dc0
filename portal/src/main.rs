//! The enquirer portal (card C5): a client-side Leptos app. It reads where the API is from
//! `config.json`, then talks only to the API of API.md, checking every signed answer in the
//! browser against the registry's published key.

mod api;
mod app;
mod filter;
mod format;
mod keystore;
mod pages;
mod registry;
mod state;
mod widgets;

use leptos::prelude::*;

use crate::api::{Api, ApiError};
use crate::widgets::{ErrorBox, Loading};

fn main() {
    leptos::mount::mount_to_body(Root);
}

/// Mounting starts Leptos's task executor, so the configuration is read from inside the app.
#[component]
fn Root() -> impl IntoView {
    let config = RwSignal::new(None::<Result<Api, ApiError>>);
    leptos::task::spawn_local(async move { config.set(Some(Api::from_config().await)) });
    move || match config.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Ok(api)) => view! { <app::App api/> }.into_any(),
        Some(Err(error)) => view! { <main><ErrorBox error/></main> }.into_any(),
    }
}
