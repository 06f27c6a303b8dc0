//! What the enquirer portal needs of the API, end to end through API Gateway on LocalStack:
//! CORS on every route, the dashboard's statistics, and lookups by inherent identifier.
//!
//! The primary is `Stack::deployed()` (`TRUSTREG_STACK_OUTPUTS`); the sectoral registry above
//! it, for lookups of mirrored devices, is `TRUSTREG_SECTORAL_STACK_OUTPUTS` or the test
//! command's.
// card C5
// card C6
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use trustreg_core::identifier::{Identifier, Scheme};
use trustreg_core::ports::Clock as _;
use trustreg_device::client::RegistryClient;
use trustreg_http::ROUTES;
use trustreg_tests::{
    Answer, Manufacturer, SECTORAL_STACK, Stack, enquirer_token, eventually, imei, localstack,
    random_imei, repo_root, send, sensor_info, stack_from_file,
};

const PORTAL: &str = "http://127.0.0.1:8080";
/// How long a change may take to reach an index (GSIs are eventually consistent) or travel up
/// to the sectoral registry (stream, notify, its inbox, exchange).
const TRAVEL: Duration = Duration::from_secs(60);

fn sectoral() -> Stack {
    let file = std::env::var_os("TRUSTREG_SECTORAL_STACK_OUTPUTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            repo_root()
                .join(".trustreg/stacks")
                .join(format!("{SECTORAL_STACK}.json"))
        });
    stack_from_file(&file)
}

/// A request from the portal's origin: the status and the headers as the browser sees them.
async fn from_portal(
    method: &str,
    url: String,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = reqwest::Client::new()
        .request(method.parse().unwrap(), url)
        .header("origin", PORTAL);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
}

fn concrete(template: &str, path: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{regdevid}" | "{id}" => format!("{path}:imei:356938035643809"),
            s if s.starts_with('{') => "x".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn get(stack: &Stack, path: &str, token: Option<&str>) -> Answer {
    send("GET", format!("{}{path}", stack.api_url()), token, None).await
}

/// A device registered at `stack` through its API with `identifier`, acknowledged when
/// `acknowledge` (so it goes from unverified to trusted): its RegDevID.
async fn registered(stack: &Stack, identifier: &Identifier, acknowledge: bool) -> String {
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let se = maker.device(identifier);
    let client = RegistryClient::new(stack.api_url()).unwrap();
    let registered = client
        .register(&se, identifier, sensor_info(), vec![])
        .await
        .unwrap();
    if acknowledge {
        client.acknowledge(&se).await.unwrap();
    }
    registered.regdevid
}

fn random_mac() -> Identifier {
    let digits = random_imei();
    Identifier::parse(Scheme::Mac, &format!("02{}", &digits[4..14])).unwrap()
}

/// Checks the statement of `answer` with the registry's published key: it says the answer.
async fn verified(stack: &Stack, answer: &Value) {
    let document = get(stack, "/v1/registry", None).await.body;
    let key = trustreg_core::jose::key_from_jwk(&document["public_key"]).unwrap();
    let said: trustreg_core::statements::Statement<Value> =
        trustreg_core::statements::verify_statement(
            answer["statement"].as_str().unwrap(),
            &key,
            trustreg_aws::SystemClock.now_ms(),
        )
        .unwrap();
    let mut unsigned = answer.clone();
    unsigned.as_object_mut().unwrap().remove("statement");
    assert_eq!(said.answer, unsigned);
}

// card C5
// Y.3059 9.1 iv
// Through API Gateway, every route's path answers the portal's preflight with 204 (whichever
// function API Gateway sends its OPTIONS to), and answers and problems carry the origin
// header.
#[tokio::test]
async fn every_route_answers_preflights_and_allows_the_portals_origin() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let path = stack.output("RegistryPath");
    let mut failed = Vec::new();
    for route in ROUTES {
        let url = format!("{api}{}", concrete(route.path, path));
        let (status, headers, body) = from_portal(
            "OPTIONS",
            url,
            &[
                ("access-control-request-method", route.method),
                (
                    "access-control-request-headers",
                    "authorization,content-type",
                ),
            ],
        )
        .await;
        let allowed = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let ok = status == 204
            && allowed("access-control-allow-origin") == Some("*")
            && allowed("access-control-allow-methods")
                .is_some_and(|m| m.split(", ").any(|m| m == route.method))
            && allowed("access-control-allow-headers") == Some("authorization, content-type")
            && allowed("access-control-max-age").is_some_and(|a| a.parse::<u32>().is_ok());
        if !ok {
            failed.push(format!(
                "OPTIONS {} ({}): {status} {headers:?} {body}",
                route.path, route.method
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "preflights failed:\n{}",
        failed.join("\n")
    );

    // An answer, a problem of each function, a bearer challenge: all readable cross-origin.
    for (method, path, status) in [
        ("GET", "/v1/registry".to_owned(), 200),
        ("GET", "/v1/statistics".to_owned(), 401),
        ("GET", "/v1/devices/not%20an%20id".to_owned(), 400),
        ("POST", "/v1/registrations".to_owned(), 400),
        ("GET", "/v1/audit".to_owned(), 401),
    ] {
        let (got, headers, body) = from_portal(method, format!("{api}{path}"), &[]).await;
        assert_eq!(got, status, "{method} {path}: {body}");
        assert_eq!(header(&headers, "access-control-allow-origin"), "*");
        if status >= 400 {
            assert_eq!(
                header(&headers, "content-type"),
                "application/problem+json",
                "{body}"
            );
        }
        if status == 401 {
            assert!(header(&headers, "access-control-expose-headers").contains("www-authenticate"));
            assert_eq!(header(&headers, "www-authenticate"), "Bearer");
        }
    }
}

// card C5
// Y.3059 6.1 d
// Y.3059 6.1 f
// The dashboard: a device registered and acknowledged is counted as trusted, in its domain,
// and its change from unverified to trusted is among the newest transitions; the answer is
// signed by the registry's published key and needs a login.
#[tokio::test]
async fn the_dashboard_counts_devices_and_lists_the_latest_changes() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let token = enquirer_token(&api).await;
    let before = get(&stack, "/v1/statistics", Some(&token)).await;
    assert_eq!(before.status, 200, "{before:?}");
    let trusted_before = before.body["by_status"]["trusted"].as_u64().unwrap();
    let regdevid = registered(&stack, &imei(&random_imei()), true).await;

    let after = eventually(TRAVEL, "the device in the statistics", || async {
        let after = get(&stack, "/v1/statistics", Some(&token)).await;
        assert_eq!(after.status, 200, "{after:?}");
        let listed = after.body["recent_transitions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["regdevid"] == regdevid.as_str());
        let counted = after.body["by_status"]["trusted"].as_u64().unwrap() > trusted_before;
        (listed && counted).then_some(after)
    })
    .await;
    let body = &after.body;
    let change = body["recent_transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["regdevid"] == regdevid.as_str())
        .unwrap();
    assert_eq!(change["from"], "unverified", "{change}");
    assert_eq!(change["to"], "trusted", "{change}");
    assert!(change["at"].is_string());
    assert_eq!(change.as_object().unwrap().len(), 4, "{change}");
    let transitions = body["recent_transitions"].as_array().unwrap();
    assert!(transitions.len() <= 20);
    // By time, not by text: RFC 3339 drops trailing zeros of the fraction ("02.7Z" is before
    // "02.761Z").
    let at = |t: &Value| {
        time::OffsetDateTime::parse(
            t["at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    assert!(
        transitions.windows(2).all(|w| at(&w[0]) >= at(&w[1])),
        "{transitions:?}"
    );
    // Every hosted domain is listed; the device is in the default one.
    for domain in stack.output("TrustDomains").split(',') {
        assert!(body["by_domain"][domain].is_object(), "{domain}: {body}");
    }
    assert!(body["by_domain"]["health"]["trusted"].as_u64().unwrap() >= 1);
    assert!(body["as_of"].is_string());
    verified(&stack, body).await;

    let anonymous = get(&stack, "/v1/statistics", None).await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    assert_eq!(anonymous.problem(), "unauthenticated");
}

// Y.3059 6.1 h
// Y.3059 9.3 ii c
// card C5
// The device check takes a bare or scheme-prefixed IMEI or MAC, however written, and answers
// as for the RegDevID; what is no identifier is a 400 problem, an unknown one a 404.
#[tokio::test]
async fn a_device_is_looked_up_by_its_inherent_identifier() {
    let stack = Stack::deployed();
    let path = stack.output("RegistryPath");
    let number = random_imei();
    let regdevid = registered(&stack, &imei(&number), false).await;
    let token = enquirer_token(&stack.api_url()).await;
    let dashed = format!("{}-{}-{}", &number[..8], &number[8..14], &number[14..]);
    for asked in [number.clone(), format!("imei:{number}"), dashed] {
        let public = get(&stack, &format!("/v1/devices/{asked}"), None).await;
        assert_eq!(public.status, 200, "{asked}: {public:?}");
        assert_eq!(public.body["status"], "unverified");
        assert_eq!(public.body["registry"], path);
        assert_eq!(public.body["id"], asked.as_str());
        verified(&stack, &public.body).await;
        let details = get(&stack, &format!("/v1/devices/{asked}"), Some(&token)).await;
        assert_eq!(details.status, 200, "{details:?}");
        assert_eq!(details.body["regdevid"], regdevid.as_str());
        assert_eq!(details.body["make"], "Acme");
    }

    let mac = random_mac();
    let mac_regdevid = registered(&stack, &mac, false).await;
    let hex = mac.value().to_uppercase();
    let typed: Vec<&str> = (0..6).map(|i| &hex[2 * i..2 * i + 2]).collect();
    let answer = get(
        &stack,
        &format!("/v1/devices/{}", typed.join("-")),
        Some(&token),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["regdevid"], mac_regdevid.as_str());

    for bad in ["hello", "12345", "imei:356938035643808x", "mac:00-1a"] {
        let answer = get(&stack, &format!("/v1/devices/{bad}"), None).await;
        assert_eq!(answer.status, 400, "{bad}: {answer:?}");
        assert_eq!(answer.problem(), "invalid-identifier", "{bad}");
    }
    let unknown = get(&stack, &format!("/v1/devices/{}", random_imei()), None).await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert_eq!(unknown.problem(), "device-not-found");
}

// Y.3059 6.1 c
// Y.3059 6.1 h
// card C5
// At the sectoral registry, a bare IMEI finds the device registered at the primary below,
// from the mirror the exchange keeps, naming where it is registered; the sectoral
// registry's statistics count it.
#[tokio::test]
async fn above_the_primary_a_bare_identifier_finds_the_mirrored_device() {
    let primary = Stack::deployed();
    let sectoral = sectoral();
    let number = random_imei();
    let regdevid = registered(&primary, &imei(&number), true).await;
    let token = enquirer_token(&sectoral.api_url()).await;
    let answer = eventually(TRAVEL, "the mirror at the sectoral registry", || async {
        let answer = get(&sectoral, &format!("/v1/devices/{number}"), Some(&token)).await;
        (answer.status == 200 && answer.body["status"] == "trusted").then_some(answer)
    })
    .await;
    assert_eq!(answer.body["regdevid"], regdevid.as_str(), "{answer:?}");
    assert_eq!(answer.body["origin"], primary.output("RegistryPath"));
    assert_eq!(answer.body["registry"], sectoral.output("RegistryPath"));
    verified(&sectoral, &answer.body).await;

    let statistics = get(&sectoral, "/v1/statistics", Some(&token)).await;
    assert_eq!(statistics.status, 200, "{statistics:?}");
    assert!(statistics.body["by_status"]["trusted"].as_u64().unwrap() >= 1);
    verified(&sectoral, &statistics.body).await;
}
