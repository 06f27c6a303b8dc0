//! The fault switch of the LocalStack plugin (localstack/plugin/trustreg_localstack/fidelity/
//! faults.py), as the fault tests arm and read it: `POST /_trustreg/faults` and its faults.

use std::time::Duration;

use serde_json::Value;

use crate::{eventually, random_imei};

fn faults_url() -> String {
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
    let armed: Value = response.json().await.expect("the armed fault");
    armed["id"].as_str().expect("its id").to_owned()
}

/// The fault as the plugin has it: `seen`, `fired` (one record per affected call), `done`.
pub async fn fault(id: &str) -> Value {
    reqwest::get(format!("{}/{id}", faults_url()))
        .await
        .expect("the fault switch answers")
        .json()
        .await
        .expect("the fault")
}

/// Disarms what a failed test left armed.
pub async fn disarm(id: &str) {
    reqwest::Client::new()
        .delete(format!("{}/{id}", faults_url()))
        .send()
        .await
        .expect("the fault switch answers");
}

pub fn fired(fault: &Value) -> usize {
    fault["fired"].as_array().map_or(0, Vec::len)
}

/// A tag of its own for a test's faults: they hit only invocations whose event contains it.
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
