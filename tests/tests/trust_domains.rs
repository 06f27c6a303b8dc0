//! Trust domains added at run time, end to end on LocalStack: an administrator's
//! `PUT /v1/admin/trust-domains/{name}` for a name the stack was not deployed with makes the
//! domain's SNS topic and hosts it: published, open to registrations and subscriptions, and
//! notified on its own topic (docs/API.md, "Administration").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use trustreg_core::ports::DeviceStore;
use trustreg_core::status::{Policy, Reason, TrustStatus};
use trustreg_device::RegistryClient;
use trustreg_tests::devices::admin_hold;
use trustreg_tests::subscriber::{Subscriber, domains, topic_arn};
use trustreg_tests::{
    Answer, Manufacturer, Stack, admin_put, enquirer_token, imei, invoke_notify, localstack,
    random_imei, scheduled_event, send, sensor_info, test_admin,
};

/// Not one of the test stack's deployed domains (scripts/lib.sh). Added by the first run on a
/// fresh stack, found hosted by the next ones: the test expects whichever applies.
const DOMAIN: &str = "water";
const DELIVERY: Duration = Duration::from_secs(30);

/// `PUT /v1/admin/trust-domains/{name}` with `policy`, signed by the test administrator.
async fn put_domain(api: &str, name: &str, policy: &Value) -> Answer {
    let path = format!("/v1/admin/trust-domains/{name}");
    admin_put(api, &path, "trust-domain", json!({"policy": policy})).await
}

async fn hosted(api: &str) -> Vec<Value> {
    let doc = send("GET", format!("{api}/v1/registry"), None, None).await;
    assert_eq!(doc.status, 200, "{doc:?}");
    doc.body["trust_domains"].as_array().unwrap().clone()
}

// Y.3059 6.1 f
// card C4
#[tokio::test]
async fn a_trust_domain_added_at_run_time_is_hosted_and_notified_on_its_own_topic() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let before = hosted(&api).await;
    let was_hosted = before.iter().any(|d| d["name"] == DOMAIN);
    let policy = before[0]["policy"].clone();

    let put = put_domain(&api, DOMAIN, &policy).await;
    assert_eq!(put.status, if was_hosted { 200 } else { 201 }, "{put:?}");
    assert_eq!(put.body["name"], DOMAIN);

    // Its topic, named as the deployed ones, encrypted as they are.
    let deployed = topic_arn(&stack, &domains(&stack)[0]);
    let topic = format!(
        "{}{DOMAIN}",
        deployed.strip_suffix(&domains(&stack)[0]).unwrap()
    );
    let sns = aws_sdk_sns::Client::new(&sdk);
    let attributes = sns
        .get_topic_attributes()
        .topic_arn(&topic)
        .send()
        .await
        .expect("the new domain's topic exists");
    assert_eq!(
        attributes
            .attributes()
            .unwrap()
            .get("KmsMasterKeyId")
            .map(String::as_str),
        Some("alias/aws/sns")
    );
    assert!(hosted(&api).await.iter().any(|d| d["name"] == DOMAIN));

    // An enquirer subscribes to it through the API (SNS holds the subscription, pending the
    // endpoint's confirmation), then removes the subscription.
    let token = enquirer_token(&api).await;
    let subscribed = send(
        "POST",
        format!("{api}/v1/subscriptions"),
        Some(&token),
        Some((
            "application/json",
            json!({"trust_domain": DOMAIN, "protocol": "https",
                   "endpoint": "http://127.0.0.1:9/water"})
            .to_string(),
        )),
    )
    .await;
    assert_eq!(subscribed.status, 201, "{subscribed:?}");
    let id = subscribed.body["subscription_id"].as_str().unwrap();
    let removed = send(
        "DELETE",
        format!("{api}/v1/subscriptions/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(removed.status, 204, "{removed:?}");

    // A device registered in the domain and held: the hold is notified on the domain's topic.
    let subscriber = Subscriber::subscribe(&sdk, &topic, None).await;
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let id = imei(&random_imei());
    let se = maker.device(&id);
    let client = RegistryClient::new(api.clone()).unwrap();
    let registered = client
        .register(&se, &id, sensor_info(), vec![DOMAIN.into()])
        .await
        .expect("registered in the new domain");
    let regdevid = registered.regdevid;
    admin_hold(&stack, &regdevid).await;
    let about = |r: &trustreg_tests::subscriber::Received| {
        r.attributes.get("regdevid") == Some(&regdevid)
            && r.attributes.get("event").map(String::as_str) == Some("hold")
    };
    let received = subscriber
        .collect(DELIVERY, Duration::ZERO, |r| r.iter().any(about))
        .await;
    subscriber.remove().await;
    let hold = received
        .iter()
        .find(|r| about(r))
        .expect("the hold is notified on the new domain's topic");
    assert_eq!(hold.attributes["status"], "unreliable");
}

/// The domain whose policy the re-evaluation test changes: its own, so that no other test's
/// registrations meet its policy.
const REEVALUATED: &str = "policy-reach";

// Y.3059 6.1 f
// Y.3059 7 ii
// A policy change reaches the devices already registered in the domain without anyone
// touching them: the domain stops accepting their root-of-trust type, and the change (its
// first batch) and the scheduled evaluation (the rest, a batch per run) make each of them
// unverified with the reason, the administrator named on the transition.
#[tokio::test]
async fn a_policy_change_reaches_the_devices_already_in_the_domain() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let store = stack.store(&sdk);
    let open = serde_json::to_value(Policy::default()).unwrap();
    let put = put_domain(&api, REEVALUATED, &open).await;
    assert!(matches!(put.status, 200 | 201), "{put:?}");
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let client = RegistryClient::new(api.clone()).unwrap();
    let mut members = Vec::new();
    for _ in 0..2 {
        let id = imei(&random_imei());
        let se = maker.device(&id);
        let registered = client
            .register(&se, &id, sensor_info(), vec![REEVALUATED.into()])
            .await
            .unwrap();
        client.acknowledge(&se).await.unwrap();
        members.push(registered.regdevid.parse().unwrap());
    }

    let tpm_only = Policy {
        accepted_rot_types: vec!["tpm".into()],
        ..Policy::default()
    };
    let put = put_domain(&api, REEVALUATED, &serde_json::to_value(&tpm_only).unwrap()).await;
    assert_eq!(put.status, 200, "{put:?}");
    let (admin, _) = test_admin();
    assert_eq!(
        put.body["reevaluation"]["by"],
        format!("admin:{admin}"),
        "{put:?}"
    );
    let mut complete = put.body["reevaluation"]["complete"] == true;
    // The registry's other devices are read too (there is no index by domain): several runs.
    for _ in 0..60 {
        if complete {
            break;
        }
        let run = invoke_notify(&stack, &scheduled_event()).await;
        let ours = run["reevaluations"]
            .as_array()
            .unwrap_or_else(|| panic!("{run}"))
            .iter()
            .find(|r| r["domain"] == REEVALUATED)
            .cloned();
        // Absent: another run (another test's) completed it.
        complete = ours.is_none_or(|r| r["complete"] == true);
    }
    assert!(complete, "the re-evaluation did not complete");
    for regdevid in &members {
        let device = store.get_device(regdevid).await.unwrap().unwrap();
        assert_eq!(device.status, TrustStatus::Unverified, "{device:?}");
        assert_eq!(device.reasons, [Reason::RotTypeNotAccepted]);
        let last = store.transitions_of(regdevid).await.unwrap().pop().unwrap();
        assert_eq!(last.actor, format!("admin:{admin}"));
        assert_eq!(last.cause, "policy-changed");
    }
    let reset = put_domain(&api, REEVALUATED, &open).await;
    assert_eq!(reset.status, 200, "{reset:?}");
}
