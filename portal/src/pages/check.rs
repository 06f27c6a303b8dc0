//! Device check: anyone enters an identifier and sees the trust status the registry signed.

use leptos::prelude::*;
use trustreg_model::answers::{DeviceAnswer, LookupAnswer};

use crate::api::{ApiError, segment};
use crate::format::{age_of, utc};
use crate::state::{Portal, now_ms};
use crate::widgets::{Badge, Load, load, show};
use trustreg_model::routes::Op;

/// A lookup whose statement verified: what the registry signed, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub device: DeviceAnswer,
    pub iss: String,
    pub signed_at_ms: u64,
}

/// `GET /v1/devices/{id}`, with the session's token when there is one (more details).
pub async fn lookup(portal: Portal, id: String) -> Result<Checked, ApiError> {
    let token = portal.token();
    let answer: LookupAnswer = portal
        .api()
        .get(
            &Op::Lookup.path_with(&[("id", &segment(&id))]),
            token.as_deref(),
        )
        .await?;
    let said = portal
        .registry()
        .await?
        .verified::<DeviceAnswer>(Some(&answer.statement), now_ms())?;
    Ok(Checked {
        device: said.answer,
        iss: said.iss,
        signed_at_ms: said.iat * 1000,
    })
}

#[component]
pub fn CheckPage() -> impl IntoView {
    let portal = Portal::get();
    let id = RwSignal::new(String::new());
    let result = RwSignal::new(Load::<Checked>::Idle);
    let check = move || {
        let input = id.get_untracked().trim().to_owned();
        if input.is_empty() {
            result.set(Load::Failed(ApiError {
                code: None,
                message:
                    "Enter a RegDevID, a virtual RegDevID, an IMEI, a MAC address or a serial."
                        .into(),
            }));
            return;
        }
        load(result, lookup(portal, input));
    };
    view! {
        <section>
            <h1>"Check a device"</h1>
            <p class="hint">
                "A RegDevID (" <code>"IN1.HLT.P07:imei:490154203237518"</code>
                "), a virtual RegDevID, or the device's IMEI, MAC address or serial."
            </p>
            <form class="inline" on:submit=move |ev| {
                ev.prevent_default();
                check();
            }>
                <input
                    id="check-id"
                    type="text"
                    placeholder="RegDevID, virtual ID, IMEI, MAC or serial"
                    autocomplete="off"
                    prop:value=move || id.get()
                    on:input=move |ev| id.set(event_target_value(&ev))
                />
                <button id="check-go" type="submit">"Check"</button>
            </form>
            {move || show(result.get(), |checked| view! { <CheckedDevice checked/> })}
        </section>
    }
}

#[component]
fn CheckedDevice(checked: Checked) -> impl IntoView {
    let device = checked.device;
    let now = now_ms();
    let status = device.status.as_str().to_owned();
    // A registry above the device's own answers from its mirror (Y.3059 9.3 ii c): the age of
    // the information is when it learnt it; otherwise the answer is as of its signature.
    let (information, origin) = match (&device.as_of, &device.origin) {
        (Some(as_of), Some(origin)) => (
            format!("as of {} (mirrored from {origin})", age_of(as_of, now)),
            Some(origin.clone()),
        ),
        _ => (
            format!("as of {}", crate::format::ago(checked.signed_at_ms, now)),
            None,
        ),
    };
    let details = device
        .regdevid
        .clone()
        .or_else(|| device.make.is_some().then(|| device.id.clone()));
    view! {
        <div class="result">
            <div class="result-head">
                <Badge status/>
                <span class="device-id">{device.id.clone()}</span>
            </div>
            <dl>
                <dt>"Answered by"</dt>
                <dd data-testid="answered-by">{device.registry.clone()}</dd>
                {origin.map(|o| view! { <dt>"Registered at"</dt><dd data-testid="origin">{o}</dd> })}
                <dt>"Information"</dt>
                <dd data-testid="age">{information}</dd>
                <dt>"Status since"</dt>
                <dd>{age_of(&device.status_since, now)}</dd>
                {device.make.clone().map(|make| view! {
                    <dt>"Make and model"</dt>
                    <dd>{format!("{make} {}", device.model.clone().unwrap_or_default())}</dd>
                })}
            </dl>
            <p class="verified" data-testid="statement-verified">
                "✓ Signed by " {checked.iss} " on " {utc(checked.signed_at_ms)}
                "; the signature was verified in this browser with the registry's published key."
            </p>
            {details.map(|id| {
                let href = format!("/devices/{}", segment(&id));
                view! { <a class="more" href=href>"Details, history and vulnerabilities →"</a> }
            })}
        </div>
    }
}
