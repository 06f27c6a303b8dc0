//! A device for a signed-in enquirer: details, the history of its reports and status
//! transitions, and its vulnerabilities (Y.3059 9.3 ii c), each as the registry signed it.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde::Deserialize;
use serde_json::Value;
use trustreg_model::answers::DeviceHistory;
use trustreg_model::records::{AffectedLink, HistoryEntry};
use trustreg_model::status::Reason;

use crate::api::{ApiError, segment};
use crate::format::{age_of, utc, words};
use crate::pages::check::{Checked, lookup};
use crate::state::{Portal, now_ms};
use crate::widgets::{Badge, Load, NeedsLogin, load, show};
use trustreg_model::routes::Op;

/// What a history's statement says.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct SignedHistory {
    #[serde(flatten)]
    history: DeviceHistory,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct SignedVulnerabilities {
    vulnerabilities: Vec<AffectedLink>,
}

async fn signed<T: serde::de::DeserializeOwned>(
    portal: Portal,
    path: String,
) -> Result<T, ApiError> {
    let token = portal.token();
    let answer: Value = portal.api().get(&path, token.as_deref()).await?;
    Ok(portal
        .registry()
        .await?
        .verified::<T>(answer["statement"].as_str(), now_ms())?
        .answer)
}

#[component]
pub fn DevicePage() -> impl IntoView {
    let portal = Portal::get();
    let params = use_params_map();
    let details = RwSignal::new(Load::<Checked>::Idle);
    let history = RwSignal::new(Load::<SignedHistory>::Idle);
    let vulnerabilities = RwSignal::new(Load::<SignedVulnerabilities>::Idle);
    Effect::new(move |_| {
        let id = params.read().get("id").unwrap_or_default();
        if portal.session.get().is_none() || id.is_empty() {
            return;
        }
        load(details, lookup(portal, id.clone()));
        let path = Op::Lookup.path_with(&[("id", &segment(&id))]);
        load(history, signed(portal, format!("{path}/history")));
        load(
            vulnerabilities,
            signed(portal, format!("{path}/vulnerabilities")),
        );
    });
    view! {
        <section>
            <h1>"Device"</h1>
            <Show when=move || portal.session.get().is_some() fallback=|| view! { <NeedsLogin/> }>
                {move || show(details.get(), |d| view! { <Details checked=d/> })}
                <h2>"History"</h2>
                {move || show(history.get(), |h| view! { <Timeline history=h.history/> })}
                <h2>"Vulnerabilities"</h2>
                {move || show(vulnerabilities.get(), |v| view! { <Vulnerabilities list=v.vulnerabilities/> })}
            </Show>
        </section>
    }
}

#[component]
fn Details(checked: Checked) -> impl IntoView {
    let d = checked.device;
    let now = now_ms();
    let info: Vec<(String, String)> = d
        .device
        .as_ref()
        .and_then(|info| serde_json::to_value(info).ok())
        .and_then(|v| v.as_object().cloned())
        .map(|fields| {
            fields
                .into_iter()
                .map(|(name, value)| (label(&name), plain(&value)))
                .filter(|(_, value)| !value.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let reasons = reasons_text(d.reasons.as_deref().unwrap_or_default());
    view! {
        <div class="result" data-testid="device-details">
            <div class="result-head">
                <Badge status=d.status.as_str().to_owned()/>
                <span class="device-id">{d.regdevid.clone().unwrap_or(d.id.clone())}</span>
            </div>
            <dl>
                <dt>"Answered by"</dt><dd data-testid="answered-by">{d.registry.clone()}</dd>
                {d.origin.clone().map(|o| view! { <dt>"Registered at"</dt><dd>{o}</dd> })}
                {d.as_of.clone().map(|a| view! { <dt>"Information"</dt><dd data-testid="age">{format!("as of {}", age_of(&a, now))}</dd> })}
                <dt>"Status since"</dt><dd>{age_of(&d.status_since, now)}</dd>
                <dt>"Why"</dt><dd>{if reasons.is_empty() { "No open findings".to_owned() } else { reasons }}</dd>
                <dt>"Trust domains"</dt><dd>{d.trust_domains.clone().unwrap_or_default().join(", ")}</dd>
                <dt>"Capabilities"</dt><dd>{d.capabilities.clone().unwrap_or_default().join(", ")}</dd>
                {d.registered_at.clone().map(|r| view! { <dt>"Registered"</dt><dd>{age_of(&r, now)}</dd> })}
                {info.into_iter().map(|(name, value)| view! { <dt>{name}</dt><dd>{value}</dd> }).collect_view()}
            </dl>
            <p class="verified" data-testid="statement-verified">
                "✓ Signed by " {checked.iss} " on " {utc(checked.signed_at_ms)} "; verified in this browser."
            </p>
        </div>
    }
}

/// Why a device has its status, in words.
fn reasons_text(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .map(|r| words(&plain(&r)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The name of a device-information field as the page shows it.
fn label(field: &str) -> String {
    match field {
        "rot" => "Root of trust".to_owned(),
        other => words(other),
    }
}

/// A JSON value as text: strings bare, lists joined, objects as `key: value` pairs.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| format!("{k}: {}", plain(v)))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[component]
fn Timeline(history: DeviceHistory) -> impl IntoView {
    let entries = history.entries.into_iter().rev().map(|entry| match entry {
        HistoryEntry::Transition(t) => {
            let from = t.from.map(|f| f.as_str().to_owned()).unwrap_or_else(|| "registered".into());
            let to = t.to.as_str().to_owned();
            let reasons = reasons_text(&t.reasons);
            view! {
                <li class="transition">
                    <time>{utc(t.at_ms)}</time>
                    <span>{from} " → "</span><Badge status=to/>
                    <span class="why">{words(&t.cause)} {(!reasons.is_empty()).then(|| format!(" ({reasons})"))}</span>
                </li>
            }
            .into_any()
        }
        HistoryEntry::Report(r) => view! {
            <li class="report">
                <time>{utc(r.at_ms)}</time>
                <span>{format!("Report: firmware {}, software {}", r.firmware_version, r.software_version)}</span>
                {(!r.changes.is_empty()).then(|| view! {
                    <span class="why">{format!(" ({} change(s))", r.changes.len())}</span>
                })}
            </li>
        }
        .into_any(),
    });
    let initial = history.initial;
    view! {
        <ol class="timeline" data-testid="history">
            {entries.collect_view()}
            <li class="registered">
                <span>{format!(
                    "Registered as {} {}, firmware {}, software {}",
                    initial.make, initial.model, initial.firmware_version, initial.software_version
                )}</span>
            </li>
        </ol>
    }
}

#[component]
fn Vulnerabilities(list: Vec<AffectedLink>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p data-testid="vulnerabilities">"None known."</p> }.into_any();
    }
    view! {
        <table data-testid="vulnerabilities">
            <thead><tr><th>"Vulnerability"</th><th>"Severity"</th><th>"Source"</th><th>"Found"</th><th>"State"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|v| {
                    let source = serde_json::to_value(&v.source).map(|s| plain(&s)).unwrap_or_default();
                    let state = serde_json::to_value(v.state).map(|s| plain(&s)).unwrap_or_default();
                    view! {
                        <tr>
                            <td>{v.vulnerability_id}</td>
                            <td>{format!("{:.1}", v.severity)}</td>
                            <td>{source}</td>
                            <td>{utc(v.at_ms)}</td>
                            <td>{state}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
