//! The registry: its RegID, type, place in the hierarchy, trust domains, accepted roots and
//! practice statement (Y.3059 9.1 vi, 9.3 i b).

use leptos::prelude::*;
use pulldown_cmark::{Event, Parser, html};
use serde_json::Value;

use crate::registry::Registry;
use crate::state::Portal;
use crate::widgets::{ErrorBox, Load, Loading, load, show};
use trustreg_model::routes::Op;

/// The practice statement as HTML. Raw HTML in the Markdown is shown as text: the page never
/// renders markup it did not make.
pub fn markdown(text: &str) -> String {
    let events = Parser::new(text).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

#[component]
pub fn RegistryPage() -> impl IntoView {
    let portal = Portal::get();
    let statement = RwSignal::new(Load::<String>::Idle);
    let api = portal.api();
    load(statement, async move {
        api.get_text(Op::PracticeStatement.path()).await
    });
    view! {
        <section>
            <h1>"Registry"</h1>
            {move || match portal.registry.get() {
                None => view! { <Loading/> }.into_any(),
                Some(Err(error)) => view! { <ErrorBox error/> }.into_any(),
                Some(Ok(registry)) => view! { <Document registry/> }.into_any(),
            }}
            <h2>"Practice statement"</h2>
            {move || show(statement.get(), |text: String| {
                let html = markdown(&text);
                view! { <article class="practice" data-testid="practice-statement" inner_html=html></article> }
            })}
        </section>
    }
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item[field].as_str().map(str::to_owned))
        .collect()
}

#[component]
fn Document(registry: Registry) -> impl IntoView {
    let d = registry.document;
    let text = |v: &Value| v.as_str().unwrap_or("—").to_owned();
    let peers = d["peers"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let roots: Vec<(String, String)> = d["accepted_roots"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (text(&r["name"]), text(&r["id"])))
        .collect();
    view! {
        <dl>
            <dt>"RegID"</dt><dd data-testid="regid">{text(&d["reg_id"])}</dd>
            <dt>"Path"</dt><dd>{text(&d["path"])}</dd>
            <dt>"Type"</dt><dd data-testid="registry-type">{text(&d["type"])}</dd>
            <dt>"Parent"</dt><dd data-testid="parent">{d["parent"].as_str().unwrap_or("none (top of the hierarchy)").to_owned()}</dd>
            <dt>"Peers"</dt><dd>{if peers.is_empty() { "none".to_owned() } else { peers }}</dd>
            <dt>"Trust domains"</dt><dd data-testid="trust-domains">{names(&d["trust_domains"], "name").join(", ")}</dd>
            <dt>"Key"</dt><dd><code>{text(&d["public_key"]["kid"])}</code></dd>
        </dl>
        <h2>"Accepted roots of trust"</h2>
        {if roots.is_empty() {
            view! { <p>"None yet."</p> }.into_any()
        } else {
            view! {
                <ul data-testid="accepted-roots">
                    {roots.into_iter().map(|(name, id)| view! { <li>{name} " " <code>{id}</code></li> }).collect_view()}
                </ul>
            }.into_any()
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // card C5: the practice statement is rendered; Y.3059 9.3 i b
    #[test]
    fn markdown_renders_and_raw_html_stays_text() {
        let html = markdown("# Practice\n\nDevices are *checked*.\n\n<script>alert(1)</script>\n");
        assert!(html.contains("<h1>Practice</h1>"));
        assert!(html.contains("<em>checked</em>"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
