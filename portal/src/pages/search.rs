//! Search by make, model, status and trust domain (Y.3059 8), a page at a time.

use leptos::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use trustreg_model::answers::DeviceAnswer;

use crate::api::{ApiError, query, segment};
use crate::state::{Portal, now_ms};
use crate::widgets::{Badge, Load, NeedsLogin, StatusOptions, load, show};
use trustreg_model::routes::Op;

/// What a search's statement says.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Found {
    devices: Vec<DeviceAnswer>,
    next: Option<String>,
}

async fn search(portal: Portal, params: Vec<(&'static str, String)>) -> Result<Found, ApiError> {
    let token = portal.token();
    let answer: Value = portal
        .api()
        .get(
            &format!("{}{}", Op::Search.path(), query(&params)),
            token.as_deref(),
        )
        .await?;
    Ok(portal
        .registry()
        .await?
        .verified::<Found>(answer["statement"].as_str(), now_ms())?
        .answer)
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let portal = Portal::get();
    let make = RwSignal::new(String::new());
    let model = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let domain = RwSignal::new(String::new());
    let found = RwSignal::new(Load::<Found>::Idle);
    let run = move |cursor: Option<String>| {
        let params = vec![
            ("make", make.get_untracked()),
            ("model", model.get_untracked()),
            ("status", status.get_untracked()),
            ("domain", domain.get_untracked()),
            ("cursor", cursor.unwrap_or_default()),
        ];
        load(found, search(portal, params));
    };
    let domains = move || portal.trust_domains();
    view! {
        <section>
            <h1>"Search devices"</h1>
            <Show when=move || portal.session.get().is_some() fallback=|| view! { <NeedsLogin/> }>
                <form class="grid" on:submit=move |ev| {
                    ev.prevent_default();
                    run(None);
                }>
                    <label>"Make"<input id="search-make" type="text" prop:value=move || make.get() on:input=move |ev| make.set(event_target_value(&ev))/></label>
                    <label>"Model"<input id="search-model" type="text" prop:value=move || model.get() on:input=move |ev| model.set(event_target_value(&ev))/></label>
                    <label>"Status"
                        <select id="search-status" on:change=move |ev| status.set(event_target_value(&ev))>
                            <StatusOptions/>
                        </select>
                    </label>
                    <label>"Trust domain"
                        <select id="search-domain" on:change=move |ev| domain.set(event_target_value(&ev))>
                            <option value="">"any"</option>
                            {move || domains().into_iter().map(|d| view! { <option value=d.clone()>{d.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                    <button id="search-go" type="submit">"Search"</button>
                </form>
                {move || show(found.get(), move |f| view! {
                    <Results found=f on_next=Callback::new(move |cursor| run(Some(cursor)))/>
                })}
            </Show>
        </section>
    }
}

#[component]
fn Results(found: Found, on_next: Callback<String>) -> impl IntoView {
    if found.devices.is_empty() {
        return view! { <p data-testid="search-empty">"No device matches."</p> }.into_any();
    }
    let next = found.next.clone();
    view! {
        <table class="results">
            <thead><tr><th>"Device"</th><th>"Status"</th><th>"Make"</th><th>"Model"</th><th>"Domains"</th></tr></thead>
            <tbody>
                {found.devices.into_iter().map(|d| {
                    let id = d.regdevid.clone().unwrap_or(d.id.clone());
                    let href = format!("/devices/{}", segment(&id));
                    view! {
                        <tr data-testid="search-result">
                            <td><a href=href>{id}</a></td>
                            <td><Badge status=d.status.as_str().to_owned()/></td>
                            <td>{d.make.unwrap_or_default()}</td>
                            <td>{d.model.unwrap_or_default()}</td>
                            <td>{d.trust_domains.unwrap_or_default().join(", ")}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {next.map(|cursor| view! {
            <button id="search-next" on:click=move |_| on_next.run(cursor.clone())>"Next page"</button>
        })}
    }
    .into_any()
}
