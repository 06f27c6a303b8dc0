//! The OpenAPI document against the route table and the API contract (docs/API.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

use super::OPERATIONS;
use crate::routes::ROUTES;
use trustreg_core::fakes::FakeRegistry;

const METHODS: &[&str] = &["get", "post", "put", "delete", "patch"];

/// Rows of API.md that later issues implement (the status list tokens: issue 16, part 1).
const PENDING: &[(&str, &str)] = &[("GET", "/v1/status-list-tokens/{}")];

async fn served_document() -> (u16, String, Value) {
    let registry = Arc::new(
        FakeRegistry::builder()
            .clock_at(1_800_000_000_000)
            .build()
            .registry,
    );
    let response = crate::interrogate_router(registry)
        .oneshot(
            Request::get("/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        serde_json::from_slice(&bytes).unwrap(),
    )
}

fn document_routes(document: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(*method).is_some() {
                routes.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    routes
}

/// `{regdevid or virtual id}` and `{id}` name the same segment.
fn normalized(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let mut out = String::new();
    let mut in_parameter = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_parameter = true;
                out.push_str("{}");
            }
            '}' => in_parameter = false,
            _ if in_parameter => {}
            _ => out.push(c),
        }
    }
    out
}

/// Every `METHOD /v1/...` in backquotes in API.md (`PUT/DELETE /path` names two).
fn contract_routes() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/API.md"))
        .expect("docs/API.md");
    let mut routes = BTreeSet::new();
    for span in text.split('`').skip(1).step_by(2) {
        let Some((methods, path)) = span.split_once(' ') else {
            continue;
        };
        if !path.starts_with("/v1/") {
            continue;
        }
        let methods: Vec<&str> = methods.split('/').collect();
        if !methods
            .iter()
            .all(|m| METHODS.contains(&m.to_ascii_lowercase().as_str()))
        {
            continue;
        }
        let path = path.split_whitespace().next().unwrap_or(path);
        for method in methods {
            routes.insert((method.to_owned(), normalized(path)));
        }
    }
    routes
}

// Y.3059 9.3 i b
// The document is served as JSON, OpenAPI 3.x, versioned like the crate.
#[tokio::test]
async fn the_document_is_openapi_3_json_with_the_crate_version() {
    let (status, content_type, document) = served_document().await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        document["openapi"]
    );
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        document["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
}

// Y.3059 9.3 i b
// Its paths and methods are exactly the route table's: nothing missing, nothing extra.
#[tokio::test]
async fn the_document_has_exactly_the_routes_of_the_table() {
    let (_, _, document) = served_document().await;
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        // axum's catch-all `{*name}` is `{name}` in OpenAPI.
        .map(|r| (r.method.to_owned(), r.path.replace("{*", "{")))
        .collect();
    assert_eq!(table.len(), ROUTES.len(), "a route is listed twice");
    assert_eq!(document_routes(&document), table);
}

// Y.3059 9.3 i b
// Every route of API.md is in the document, or is listed as pending; a pending one that is
// now routed must leave the list.
#[tokio::test]
async fn every_route_of_the_contract_is_served_or_pending() {
    let (_, _, document) = served_document().await;
    let served: BTreeSet<(String, String)> = document_routes(&document)
        .into_iter()
        .map(|(m, p)| (m, normalized(&p)))
        .collect();
    let pending: BTreeSet<(String, String)> = PENDING
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let contract = contract_routes();
    assert!(contract.len() >= 20, "API.md parsed to {contract:?}");
    let missing: Vec<_> = contract
        .iter()
        .filter(|r| !served.contains(*r) && !pending.contains(*r))
        .collect();
    assert!(
        missing.is_empty(),
        "API.md routes neither served nor pending: {missing:?}"
    );
    let routed: Vec<_> = pending.intersection(&served).collect();
    assert!(routed.is_empty(), "pending routes now served: {routed:?}");
    let stale: Vec<_> = pending.difference(&contract).collect();
    assert!(stale.is_empty(), "pending routes not in API.md: {stale:?}");
}

// Y.3059 9.3 i b
// One description per route, none for a route that does not exist.
#[test]
fn every_route_has_one_description() {
    for route in ROUTES {
        let n = OPERATIONS
            .iter()
            .filter(|d| d.op.spec().method == route.method && d.op.spec().path == route.path)
            .count();
        assert_eq!(n, 1, "{} {}", route.method, route.path);
    }
    for d in OPERATIONS {
        assert!(
            ROUTES
                .iter()
                .any(|r| r.method == d.op.spec().method && r.path == d.op.spec().path),
            "described but not routed: {} {}",
            d.op.spec().method,
            d.op.spec().path
        );
    }
}

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

// Y.3059 9.3 i b
// Every schema reference resolves; bearer routes require the token, errors are problems.
#[tokio::test]
async fn references_resolve_and_operations_state_their_access() {
    let (_, _, document) = served_document().await;
    let mut found = Vec::new();
    refs(&document, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "unresolved {r}"
        );
    }
    let search = &document["paths"]["/v1/devices"]["get"];
    assert_eq!(search["security"], serde_json::json!([{"bearerAuth": []}]));
    assert_eq!(
        search["responses"]["401"]["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
    let lookup = &document["paths"]["/v1/devices/{id}"]["get"];
    assert_eq!(
        lookup["security"],
        serde_json::json!([{}, {"bearerAuth": []}])
    );
    let login = &document["paths"]["/v1/sessions"]["post"];
    assert!(login["requestBody"]["content"]["application/jose"].is_object());
    assert!(login.get("security").is_none());
}

/// `/v1/devices/x1/holds` for `/v1/devices/{regdevid}/holds`.
fn sample_path(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.starts_with('{') { "x1" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

// Every signed body says how to build it (API.md "Signed requests in the OpenAPI document"):
// a self-contained payload schema requiring the nonce and the binding of its own route, a
// nonce purpose POST /v1/challenges hands out, and who signs with which kid. Bodies that are
// not signed carry none of it.
#[tokio::test]
async fn every_signed_body_describes_its_claims_signers_and_nonce() {
    let (_, _, document) = served_document().await;
    let purposes =
        document["components"]["schemas"]["ChallengeRequest"]["properties"]["purpose"]["enum"]
            .as_array()
            .unwrap()
            .clone();
    let mut signed = 0;
    for d in OPERATIONS {
        let operation =
            &document["paths"][d.op.spec().path][d.op.spec().method.to_ascii_lowercase()];
        let media = &operation["requestBody"]["content"]["application/jose"];
        let is_jws = matches!(d.body, super::operations::Body::Jws { .. });
        assert_eq!(
            media.is_object(),
            is_jws,
            "{} {}",
            d.op.spec().method,
            d.op.spec().path
        );
        if !is_jws {
            continue;
        }
        signed += 1;
        let payload = &media["x-jws-payload"];
        let mut found = Vec::new();
        refs(payload, &mut found);
        assert!(
            found.is_empty(),
            "{} {}: {found:?}",
            d.op.spec().method,
            d.op.spec().path
        );
        let required: Vec<&str> = payload["required"]
            .as_array()
            .unwrap_or_else(|| {
                panic!(
                    "{} {} has no x-jws-payload",
                    d.op.spec().method,
                    d.op.spec().path
                )
            })
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for claim in ["nonce", "htm", "htu"] {
            assert!(
                required.contains(&claim),
                "{} {}: {claim}",
                d.op.spec().method,
                d.op.spec().path
            );
        }
        for name in &required {
            assert!(
                payload["properties"].get(*name).is_some(),
                "{} {}: {name}",
                d.op.spec().method,
                d.op.spec().path
            );
        }
        assert_eq!(payload["properties"]["htm"]["const"], d.op.spec().method);
        let pattern = payload["properties"]["htu"]["pattern"].as_str().unwrap();
        let htu = regex_lite::Regex::new(pattern).unwrap();
        assert!(
            htu.is_match(&sample_path(d.op.spec().path)),
            "{pattern} vs {}",
            d.op.spec().path
        );
        for other in OPERATIONS
            .iter()
            .filter(|o| o.op.spec().path != d.op.spec().path)
        {
            assert!(
                !htu.is_match(&sample_path(other.op.spec().path)),
                "{pattern} matches {}",
                other.op.spec().path
            );
        }
        assert!(
            purposes.contains(&media["x-jws-purpose"]),
            "{} {}: purpose {} cannot be asked for",
            d.op.spec().method,
            d.op.spec().path,
            media["x-jws-purpose"]
        );
        let signers = media["x-jws-signers"].as_array().unwrap();
        assert!(
            !signers.is_empty(),
            "{} {}",
            d.op.spec().method,
            d.op.spec().path
        );
        for from_path in payload["properties"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|p| p.get("x-from-path"))
        {
            let parameter = format!("{{{}}}", from_path.as_str().unwrap());
            assert!(
                d.op.spec().path.contains(&parameter),
                "{} {parameter}",
                d.op.spec().path
            );
        }
    }
    assert!(signed >= 19, "{signed} signed bodies");
}

// The JSON bodies whose core types refuse unknown members say so, with the bounds the registry
// checks: a generic client learns from the document what a 400 would tell it.
#[tokio::test]
async fn json_bodies_carry_the_registrys_bounds() {
    let (_, _, document) = served_document().await;
    let schemas = &document["components"]["schemas"];
    for name in [
        "ChallengeRequest",
        "SignUpRequest",
        "BulkLookupRequest",
        "SubscriptionRequest",
    ] {
        assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
    }
    let name = &schemas["SignUpRequest"]["properties"]["name"];
    assert_eq!(
        (&name["minLength"], &name["maxLength"]),
        (&1.into(), &256.into())
    );
    assert_eq!(
        schemas["BulkLookupRequest"]["properties"]["ids"]["maxItems"],
        1000
    );
    assert_eq!(
        schemas["Jwk"]["required"],
        serde_json::json!(["kty", "crv", "x", "y"])
    );
}

/// API.md: a 429 and a 503 carry `Retry-After`; the served document says so, as a required
/// header, on every operation that may answer them.
#[tokio::test]
async fn retry_answers_document_a_required_retry_after() {
    let (_, _, document) = served_document().await;
    let mut seen = 0;
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            for status in ["429", "503"] {
                let Some(response) = operation["responses"].get(status) else {
                    continue;
                };
                let header = &response["headers"]["Retry-After"];
                assert_eq!(header["required"], true, "{status}: {response}");
                assert_eq!(header["schema"]["pattern"], "^[0-9]+$", "{header}");
                seen += 1;
            }
        }
    }
    assert!(seen > 30, "only {seen} retry answers");
}

// Y.3059 10
// Every operation that takes a body documents the 413 its size limit answers (found by the
// API fuzzing: a generated registration over 64 KiB got an undocumented 413), and one that
// takes none does not.
#[tokio::test]
async fn every_operation_with_a_body_documents_payload_too_large() {
    let (_, _, document) = served_document().await;
    let mut with_body = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let documents_413 = operation["responses"].get("413").is_some();
            let has_body = operation.get("requestBody").is_some();
            assert_eq!(documents_413, has_body, "{method} {path}");
            with_body += usize::from(has_body);
        }
    }
    assert!(with_body > 20, "{with_body}");
}
