//! The fault switch of the LocalStack plugin (`POST /_trustreg/faults`,
//! localstack/plugin/trustreg_localstack/fidelity/faults.py) as the fault scenarios use it:
//! arm a fault, read what it did, send a request carrying the scenario's own tag.
#![allow(clippy::unwrap_used)] // test support: a panic is the failing test's report.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;
use trustreg_core::identifier::{Identifier, RegDevId};
use trustreg_device::bulk::{AUTH_SCHEME, BULK_PATH, body_claims};

use crate::{Answer, Manufacturer, Stack, challenge, eventually, imei, localstack, random_imei};

pub fn faults_url() -> String {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    format!("{endpoint}/_trustreg/faults")
}

/// Arms a fault; its id.
pub async fn arm(fault: Value) -> String {
    let response = reqwest::Client::new()
        .post(faults_url())
        .json(&fault)
        .send()
        .await
        .expect("the fault switch answers (host-mode LocalStack with the fidelity layer)");
    assert_eq!(response.status(), 201, "{fault}");
    let armed: Value = response.json().await.unwrap();
    armed["id"].as_str().unwrap().to_owned()
}

/// The fault as the plugin has it: `seen`, `fired` (one record per affected call), `done`.
pub async fn fault(id: &str) -> Value {
    reqwest::get(format!("{}/{id}", faults_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Disarms what a failed test left armed.
pub async fn disarm(id: &str) {
    reqwest::Client::new()
        .delete(format!("{}/{id}", faults_url()))
        .send()
        .await
        .unwrap();
}

pub fn fired(fault: &Value) -> usize {
    fault["fired"].as_array().unwrap().len()
}

/// A fresh identifier and a fresh manufacturer the stack accepts.
pub async fn new_device(stack: &Stack) -> (Identifier, Manufacturer) {
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    (imei(&random_imei()), maker)
}

pub fn regdevid_of(stack: &Stack, identifier: &Identifier) -> RegDevId {
    format!("{}:{identifier}", stack.output("RegistryPath"))
        .parse()
        .unwrap()
}

/// Posts a signed request (JWS) with the fault tag header: the answer and its Retry-After.
pub async fn post_tagged(
    api: &str,
    path: &str,
    tag: &str,
    body: String,
) -> (Answer, Option<String>) {
    answer_of(
        reqwest::Client::new()
            .post(format!("{api}{path}"))
            .header("content-type", "application/jose")
            .header("x-trustreg-fault-tag", tag)
            .body(body),
    )
    .await
}

/// The `TrustReg-JWS` signature of a bulk body by the manufacturer, over a fresh nonce.
pub async fn sign_bulk(api: &str, maker: &Manufacturer, body: &[u8]) -> String {
    let claims = serde_json::to_vec(&body_claims(challenge(api, "bulk").await, body)).unwrap();
    maker.ca.sign_jws(&claims).unwrap()
}

/// Posts a bulk registration with its signature and the fault tag header: the answer and its
/// Retry-After.
pub async fn post_bulk_tagged(
    api: &str,
    signature: &str,
    body: &[u8],
    tag: &str,
) -> (Answer, Option<String>) {
    answer_of(
        reqwest::Client::new()
            .post(format!("{api}{BULK_PATH}"))
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, format!("{AUTH_SCHEME} {signature}"))
            .header("x-trustreg-fault-tag", tag)
            .body(body.to_vec()),
    )
    .await
}

/// Sends the request: its answer and Retry-After.
async fn answer_of(request: reqwest::RequestBuilder) -> (Answer, Option<String>) {
    let response = request.send().await.unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (
        Answer {
            status,
            content_type,
            body,
        },
        retry_after,
    )
}

pub fn tag() -> String {
    format!("fault-tag-{}", random_imei())
}

/// True while no process with this pid exists (or only its zombie).
pub fn gone(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// The pid a kill fault killed, once the plugin wrote it (within `within`).
pub async fn killed_pid_within(id: &str, within: Duration) -> u64 {
    eventually(within, "the kill fault fired", || async {
        let f = fault(id).await;
        f["fired"][0]["killed"].as_u64()
    })
    .await
}

/// The pid a kill fault killed, once the plugin wrote it.
pub async fn killed_pid(id: &str) -> u64 {
    killed_pid_within(id, Duration::from_secs(30)).await
}

/// Waits until the kill fault `id` fired and the process it killed is gone, then disarms it.
pub async fn killed(id: &str) {
    let pid = killed_pid(id).await;
    disarm(id).await;
    // SIGKILL is delivered asynchronously: the process ends within moments.
    eventually(Duration::from_secs(5), "the bootstrap died", || async {
        gone(pid).then_some(())
    })
    .await;
}
