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

fn main() {
    leptos::task::spawn_local(async {
        match api::Api::from_config().await {
            Ok(api) => leptos::mount::mount_to_body(move || view! { <app::App api/> }),
            Err(error) => leptos::mount::mount_to_body(move || {
                view! { <main><widgets::ErrorBox error/></main> }
            }),
        }
    });
}
