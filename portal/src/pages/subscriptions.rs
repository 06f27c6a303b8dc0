//! Subscriptions to a trust domain's notifications (Y.3059 9.4 i a, card C8): create one with
//! a filter built from the form, list them, delete one.

use leptos::prelude::*;
use serde_json::{Value, json};
use trustreg_model::answers::{SubscriptionList, SubscriptionView};

use crate::api::{ApiError, segment};
use crate::filter::FilterForm;
use crate::state::Portal;
use crate::widgets::{ErrorBox, Load, NeedsLogin, StatusOptions, load, show};
use trustreg_model::routes::Op;

async fn list(portal: Portal) -> Result<Vec<SubscriptionView>, ApiError> {
    let token = portal.token();
    let answer: SubscriptionList = portal
        .api()
        .get(Op::ListSubscriptions.path(), token.as_deref())
        .await?;
    Ok(answer.subscriptions)
}

#[component]
pub fn SubscriptionsPage() -> impl IntoView {
    let portal = Portal::get();
    let subscriptions = RwSignal::new(Load::<Vec<SubscriptionView>>::Idle);
    let refresh = move || load(subscriptions, list(portal));
    Effect::new(move |_| {
        if portal.session.get().is_some() {
            refresh();
        }
    });
    view! {
        <section>
            <h1>"Subscriptions"</h1>
            <Show when=move || portal.session.get().is_some() fallback=|| view! { <NeedsLogin/> }>
                <NewSubscription on_created=Callback::new(move |()| refresh())/>
                <h2>"Yours"</h2>
                {move || show(subscriptions.get(), move |list| view! {
                    <Subscriptions list on_deleted=Callback::new(move |()| refresh())/>
                })}
            </Show>
        </section>
    }
}

#[component]
fn NewSubscription(on_created: Callback<()>) -> impl IntoView {
    let portal = Portal::get();
    let domain = RwSignal::new(String::new());
    let protocol = RwSignal::new("sqs".to_owned());
    let endpoint = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let event = RwSignal::new(String::new());
    let make = RwSignal::new(String::new());
    let severity = RwSignal::new(String::new());
    let created = RwSignal::new(Load::<Value>::Idle);
    let domains = move || portal.trust_domains();
    let create = move || {
        let one = |s: RwSignal<String>| {
            let v = s.get_untracked();
            if v.is_empty() { vec![] } else { vec![v] }
        };
        let form = FilterForm {
            events: one(event),
            statuses: one(status),
            make: make.get_untracked(),
            model: String::new(),
            min_severity: severity.get_untracked(),
        };
        let filter = match form.policy() {
            Ok(filter) => filter,
            Err(message) => {
                created.set(Load::Failed(ApiError {
                    code: None,
                    message,
                }));
                return;
            }
        };
        let mut domain_name = domain.get_untracked();
        if domain_name.is_empty() {
            domain_name = domains().into_iter().next().unwrap_or_default();
        }
        let request = json!({
            "trust_domain": domain_name,
            "protocol": protocol.get_untracked(),
            "endpoint": endpoint.get_untracked().trim(),
            "filter": filter,
        });
        load(created, async move {
            let token = portal.token();
            let answer: Value = portal
                .api()
                .post_json(Op::Subscribe.path(), &request, token.as_deref())
                .await?;
            on_created.run(());
            Ok(answer)
        });
    };
    view! {
        <form class="grid" on:submit=move |ev| {
            ev.prevent_default();
            create();
        }>
            <label>"Trust domain"
                <select id="sub-domain" on:change=move |ev| domain.set(event_target_value(&ev))>
                    {move || domains().into_iter().map(|d| view! { <option value=d.clone()>{d.clone()}</option> }).collect_view()}
                </select>
            </label>
            <label>"Delivered by"
                <select id="sub-protocol" on:change=move |ev| protocol.set(event_target_value(&ev))>
                    <option value="sqs">"SQS queue (ARN)"</option>
                    <option value="https">"HTTPS endpoint"</option>
                    <option value="email">"e-mail"</option>
                </select>
            </label>
            <label class="wide">"Endpoint"
                <input id="sub-endpoint" type="text" placeholder="arn:aws:sqs:…, https://…, or an e-mail address"
                    prop:value=move || endpoint.get() on:input=move |ev| endpoint.set(event_target_value(&ev))/>
            </label>
            <label>"Event"
                <select id="sub-filter-event" on:change=move |ev| event.set(event_target_value(&ev))>
                    <option value="">"any"</option>
                    <option value="status-changed">"status changed"</option>
                    <option value="vulnerability">"vulnerability"</option>
                    <option value="hold">"hold"</option>
                    <option value="digest">"daily digest"</option>
                </select>
            </label>
            <label>"New status"
                <select id="sub-filter-status" on:change=move |ev| status.set(event_target_value(&ev))>
                    <StatusOptions/>
                </select>
            </label>
            <label>"Make"
                <input id="sub-filter-make" type="text" prop:value=move || make.get() on:input=move |ev| make.set(event_target_value(&ev))/>
            </label>
            <label>"Minimum severity"
                <input id="sub-filter-severity" type="text" inputmode="decimal" placeholder="0–10"
                    prop:value=move || severity.get() on:input=move |ev| severity.set(event_target_value(&ev))/>
            </label>
            <button id="sub-create" type="submit">"Subscribe"</button>
        </form>
        {move || show(created.get(), |answer: Value| view! {
            <p class="ok" data-testid="subscription-created">
                {format!(
                    "Subscribed: {}. {}",
                    answer["subscription"]["subscription_id"].as_str().unwrap_or_default(),
                    if answer["subscription"]["state"] == "pending" { "Confirm it from the message sent to the endpoint." } else { "" }
                )}
            </p>
        })}
    }
}

#[component]
fn Subscriptions(list: Vec<SubscriptionView>, on_deleted: Callback<()>) -> impl IntoView {
    let portal = Portal::get();
    let failure = RwSignal::new(None::<ApiError>);
    if list.is_empty() {
        return view! { <p data-testid="no-subscriptions">"None yet."</p> }.into_any();
    }
    view! {
        {move || failure.get().map(|error| view! { <ErrorBox error/> })}
        <table class="results">
            <thead><tr><th>"Trust domain"</th><th>"Delivered by"</th><th>"Filter"</th><th>"State"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|s| {
                    let id = s.subscription_id.clone();
                    let delete = move |_| {
                        let path = Op::Unsubscribe.path_with(&[("id", &segment(&id))]);
                        leptos::task::spawn_local(async move {
                            let token = portal.token();
                            match portal.api().delete(&path, token.as_deref()).await {
                                Ok(()) => on_deleted.run(()),
                                Err(error) => failure.set(Some(error)),
                            }
                        });
                    };
                    let protocol = serde_json::to_value(s.protocol).ok().and_then(|p| p.as_str().map(str::to_owned)).unwrap_or_default();
                    let state = serde_json::to_value(s.state).ok().and_then(|p| p.as_str().map(str::to_owned)).unwrap_or_default();
                    view! {
                        <tr data-testid="subscription" data-id=s.subscription_id.clone()>
                            <td>{s.trust_domain}</td>
                            <td>{protocol}</td>
                            <td><code>{if s.filter.is_null() { "everything".to_owned() } else { s.filter.to_string() }}</code></td>
                            <td>{state}</td>
                            <td><button class="link" data-testid="subscription-delete" on:click=delete>"Delete"</button></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
