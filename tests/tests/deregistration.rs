//! Deregistration and decommissioning through API Gateway (Y.3059 6.3 e): the owner or an
//! administrator ends a device's registration; lookups, subscribers and the registry above
//! learn it; the RegDevID never comes back; and everyone else is refused, audited, with
//! nothing changed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use p256::ecdsa::SigningKey;
use serde_json::{Value, json};
use trustreg_core::ports::DeviceStore;
use trustreg_core::records::DeviceRecord;
use trustreg_device::{RegistryClient, SoftSecureElement};
use trustreg_tests::exchange::{audit_since, now_ms};
use trustreg_tests::subscriber::{Subscriber, domains, topic_arn};
use trustreg_tests::{
    Answer, Hierarchy, Manufacturer, Stack, challenge, enquirer_token, eventually, imei,
    localstack, new_signing_key, post, post_signed, random_imei, send, sensor_info, test_admin,
};

const JOSE: &str = "application/jose";
/// How long a change may take to reach a subscriber, or to travel up one registry.
const DELIVERY: Duration = Duration::from_secs(60);
const SETTLE: Duration = Duration::from_secs(2);

/// A trusted device with an owner, and what re-registering it needs.
struct Owned {
    regdevid: String,
    identifier: trustreg_core::identifier::Identifier,
    owner_id: String,
    owner_key: SigningKey,
    maker: Manufacturer,
    se: SoftSecureElement,
}

async fn owned(stack: &Stack) -> Owned {
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let owner_key = new_signing_key();
    let identifier = imei(&random_imei());
    let se = maker.device(&identifier);
    let client = RegistryClient::new(stack.api_url()).unwrap();
    let owner = json!({"attributes": {"name": "Owner"},
        "public_key": trustreg_core::jose::jwk_from_key(owner_key.verifying_key())});
    let registered = client
        .register_with_owner(&se, &identifier, sensor_info(), Some(owner), vec![])
        .await
        .unwrap();
    client.acknowledge(&se).await.unwrap();
    let device = stored(stack, &registered.regdevid).await;
    Owned {
        regdevid: registered.regdevid,
        identifier,
        owner_id: device.owner_id.unwrap(),
        owner_key,
        maker,
        se,
    }
}

async fn stored(stack: &Stack, regdevid: &str) -> DeviceRecord {
    let sdk = localstack().await;
    stack
        .store(&sdk)
        .get_device(&regdevid.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
}

fn path(regdevid: &str) -> String {
    format!("/v1/devices/{regdevid}/deregistration")
}

/// The deregistration of `regdevid`, signed by `key` as `kid`.
async fn deregister(
    api: &str,
    regdevid: &str,
    key: &SigningKey,
    kid: &str,
    reason: &str,
) -> Answer {
    let claims = json!({"nonce": challenge(api, "deregister").await,
                        "regdevid": regdevid, "reason": reason});
    post_signed(api, &path(regdevid), key, kid, &claims).await
}

fn refused(answer: &Answer, status: u16, problem: &str) {
    assert_eq!(
        (answer.status, answer.problem()),
        (status, problem),
        "{answer:?}"
    );
}

// Y.3059 6.3 e
// Y.3059 7 i c
// The owner deregisters its device: the answer, a lookup (single and bulk) and the device's
// history say `deregistered` since then, a subscriber is notified, the sectoral registry above
// mirrors it; asking again answers the same and changes nothing; reports, holds and transfers
// are refused with `device-deregistered`; and the identifier does not register again, with
// the same key or another, so the RegDevID never comes back.
#[tokio::test]
async fn the_owner_deregisters_and_everyone_learns_it() {
    let h = Hierarchy::deployed();
    let stack = &h.primary;
    let api = stack.api_url();
    let sdk = localstack().await;
    let device = owned(stack).await;
    let id = device.regdevid.clone();
    let topic = topic_arn(stack, &domains(stack)[0]);
    let subscriber = Subscriber::subscribe(&sdk, &topic, Some(json!({"regdevid": [id]}))).await;
    let sectoral_token = enquirer_token(&h.sectoral.api_url()).await;
    let kid = format!("owner:{}", device.owner_id);
    let since = now_ms();

    let done = deregister(&api, &id, &device.owner_key, &kid, "decommissioned").await;
    assert_eq!(done.status, 200, "{done:?}");
    assert_eq!(done.body["status"], "deregistered");
    assert_eq!(done.body["reason"], "decommissioned");
    let at = done.body["deregistered_at"].as_str().unwrap().to_owned();

    let seen = send("GET", format!("{api}/v1/devices/{id}"), None, None).await;
    assert_eq!(seen.status, 200, "{seen:?}");
    assert_eq!(
        (
            seen.body["status"].as_str(),
            seen.body["status_since"].as_str()
        ),
        (Some("deregistered"), Some(at.as_str()))
    );
    let (admin, admin_key) = test_admin();
    let admin_kid = format!("admin:{admin}");
    let token = admin_token(&api, &admin_key, &admin_kid).await;
    let bulk = send(
        "POST",
        format!("{api}/v1/bulk/lookups"),
        Some(&token),
        Some(("application/json", json!({"ids": [id]}).to_string())),
    )
    .await;
    assert_eq!(bulk.status, 200, "{bulk:?}");
    assert_eq!(
        bulk.body["results"][0]["status"], "deregistered",
        "{bulk:?}"
    );
    let history = send(
        "GET",
        format!("{api}/v1/devices/{id}/history"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(history.status, 200, "{history:?}");
    assert!(
        history.body.to_string().contains("\"to\":\"deregistered\""),
        "{history:?}"
    );

    let received = subscriber
        .collect(DELIVERY, SETTLE, |r| {
            r.iter()
                .any(|m| m.attributes.get("status").map(String::as_str) == Some("deregistered"))
        })
        .await;
    // The acknowledgement's change (to trusted) may arrive too: subscribed after it was made,
    // before the table's stream delivered it.
    let change = received
        .iter()
        .find(|m| {
            m.attributes["event"] == "status-changed" && m.attributes["status"] == "deregistered"
        })
        .unwrap_or_else(|| panic!("no change to deregistered in {received:?}"));
    assert_eq!(change.attributes["previous_status"], "trusted");
    assert_eq!(change.message["status_since"], at.as_str());

    let mirrored = eventually(DELIVERY * 2, "the sectoral registry mirrors it", || async {
        let answer = send(
            "GET",
            format!("{}/v1/devices/{id}", h.sectoral.api_url()),
            Some(&sectoral_token),
            None,
        )
        .await;
        (answer.status == 200 && answer.body["status"] == "deregistered").then_some(answer)
    })
    .await;
    assert_eq!(mirrored.body["origin"], stack.output("RegistryPath"));

    // Again, by the owner, with another reason: the first deregistration stands.
    let before = stored(stack, &id).await;
    let again = deregister(&api, &id, &device.owner_key, &kid, "lost").await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body, done.body);
    assert_eq!(
        stored(stack, &id).await,
        before,
        "asking again changes nothing"
    );

    // Nothing more is done to it.
    let hold = post_signed(
        &api,
        &format!("/v1/devices/{id}/holds"),
        &device.owner_key,
        &kid,
        &json!({"nonce": challenge(&api, "hold").await, "regdevid": id, "kind": "stolen"}),
    )
    .await;
    refused(&hold, 409, "device-deregistered");
    let (new_owner, _) = trustreg_tests::devices::self_made_owner(&api).await;
    let transfer = post_signed(
        &api,
        &format!("/v1/devices/{id}/transfer"),
        &admin_key,
        &admin_kid,
        &json!({"nonce": challenge(&api, "transfer").await, "new_owner_id": new_owner}),
    )
    .await;
    refused(&transfer, 409, "device-deregistered");
    let client = RegistryClient::new(api.clone()).unwrap();
    let report = client
        .report_once(
            &device.se,
            &trustreg_device::client::ReportParams {
                firmware_version: "2.0.0".into(),
                software_version: "2.0.0".into(),
                communication: vec![],
                configuration: None,
            },
            &trustreg_device::client::idempotency_key(),
        )
        .await;
    assert!(
        matches!(&report, Err(trustreg_device::client::ClientError::Problem { status: 409, problem_type, .. })
            if problem_type.ends_with("/device-deregistered")),
        "{report:?}"
    );
    // The same identifier, with the same key and with a new one.
    for se in [&device.se, &device.maker.device(&device.identifier)] {
        let again = client
            .register(se, &device.identifier, sensor_info(), vec![])
            .await;
        assert!(
            matches!(&again, Err(trustreg_device::client::ClientError::Problem { status: 409, problem_type, .. })
                if problem_type.ends_with("/device-deregistered")),
            "{again:?}"
        );
    }
    let after = stored(stack, &id).await;
    assert_eq!(after, before, "no change, no clone recorded");
    let audit = audit_since(stack, since).await;
    let count = |action: &str, outcome: &str| {
        audit
            .iter()
            .filter(|r| r["target"] == id && r["action"] == action && r["outcome"] == outcome)
            .count()
    };
    assert_eq!(
        count("deregister:decommissioned", "accepted"),
        1,
        "{audit:?}"
    );
    assert_eq!(count("deregister-again", "accepted"), 1, "{audit:?}");
    assert_eq!(count("register", "rejected"), 2, "{audit:?}");
}

/// An administrator's access token at `api`.
async fn admin_token(api: &str, key: &SigningKey, kid: &str) -> String {
    let session = post_signed(
        api,
        "/v1/sessions",
        key,
        kid,
        &json!({"nonce": challenge(api, "login").await, "enquirer_id": kid}),
    )
    .await;
    assert_eq!(session.status, 200, "{session:?}");
    session.body["access_token"].as_str().unwrap().to_owned()
}

// Y.3059 6.3 e
// Another owner, the device itself, an enquirer, a manufacturer, an anonymous caller, a replayed
// request and a request signed for another RegDevID are each refused; the device is unchanged
// and every refusal is audited. An administrator then deregisters it.
#[tokio::test]
async fn only_the_owner_or_an_administrator_deregisters() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let device = owned(&stack).await;
    let other = owned(&stack).await;
    let id = device.regdevid.clone();
    let before = stored(&stack, &id).await;
    let since = now_ms();

    let by_other_owner = deregister(
        &api,
        &id,
        &other.owner_key,
        &format!("owner:{}", other.owner_id),
        "stolen",
    )
    .await;
    refused(&by_other_owner, 403, "forbidden");

    let claims = json!({"nonce": challenge(&api, "deregister").await,
                        "regdevid": id, "reason": "lost"});
    let bound = trustreg_core::binding::bind(claims, "POST", &path(&id));
    let by_device = device.se.sign_jws(
        &trustreg_core::jose::JwsHeader::es256().with_kid(id.clone()),
        bound.to_string().as_bytes(),
    );
    refused(
        &post(&api, &path(&id), JOSE, by_device).await,
        403,
        "forbidden",
    );

    let (enquirer_key, enquirer_kid) = trustreg_tests::approved_enquirer(&api).await;
    let by_enquirer = deregister(&api, &id, &enquirer_key, &enquirer_kid, "lost").await;
    refused(&by_enquirer, 403, "forbidden");

    let claims = json!({"nonce": challenge(&api, "deregister").await,
                        "regdevid": id, "reason": "lost"});
    let bound = trustreg_core::binding::bind(claims, "POST", &path(&id));
    let by_maker = device
        .maker
        .ca
        .sign_jws(bound.to_string().as_bytes())
        .unwrap();
    refused(
        &post(&api, &path(&id), JOSE, by_maker).await,
        403,
        "forbidden",
    );

    let claims = json!({"nonce": challenge(&api, "deregister").await,
                        "regdevid": id, "reason": "lost"});
    let bound = trustreg_core::binding::bind(claims, "POST", &path(&id));
    let anonymous = trustreg_core::jose::sign_with(
        &new_signing_key(),
        &trustreg_core::jose::JwsHeader::es256(),
        bound.to_string().as_bytes(),
    );
    let anonymous = post(&api, &path(&id), JOSE, anonymous).await;
    assert!([400, 401].contains(&anonymous.status), "{anonymous:?}");

    // The owner's request for its other device, sent again for this one: its binding names
    // the other path; and the same request for the other device, replayed there.
    let kid = format!("owner:{}", other.owner_id);
    let for_other = trustreg_tests::signed_request(
        &other.owner_key,
        &kid,
        "POST",
        &path(&other.regdevid),
        &json!({"nonce": challenge(&api, "deregister").await,
                "regdevid": other.regdevid, "reason": "lost"}),
    );
    refused(
        &post(&api, &path(&id), JOSE, for_other.clone()).await,
        403,
        "wrong-target",
    );
    let first = post(&api, &path(&other.regdevid), JOSE, for_other.clone()).await;
    assert_eq!(first.status, 200, "{first:?}");
    let replayed = post(&api, &path(&other.regdevid), JOSE, for_other).await;
    refused(&replayed, 401, "nonce-invalid");
    // The owner's own key, with the claims naming the other device on this path.
    let owner_kid = format!("owner:{}", device.owner_id);
    let mismatched = post_signed(
        &api,
        &path(&id),
        &device.owner_key,
        &owner_kid,
        &json!({"nonce": challenge(&api, "deregister").await,
                "regdevid": other.regdevid, "reason": "lost"}),
    )
    .await;
    refused(&mismatched, 400, "malformed-request");

    assert_eq!(stored(&stack, &id).await, before, "nothing changed");
    let audit = audit_since(&stack, since).await;
    let rejected: Vec<&Value> = audit
        .iter()
        .filter(|r| {
            r["outcome"] == "rejected"
                && (r["action"] == "deregister"
                    || r["action"] == "/v1/devices/{regdevid}/deregistration")
        })
        .collect();
    // Own device: other owner, device, enquirer, manufacturer, anonymous, wrong target,
    // mismatched claims; the other device: the replay.
    assert!(rejected.len() >= 8, "{rejected:?}");
    for actor in [
        format!("owner:{}", other.owner_id),
        id.clone(),
        enquirer_kid.clone(),
    ] {
        assert!(
            rejected
                .iter()
                .any(|r| r["actor"].as_str().is_some_and(|a| a.contains(&actor))),
            "no refusal audited for {actor}: {rejected:?}"
        );
    }

    let (admin, admin_key) = test_admin();
    let by_admin = deregister(
        &api,
        &id,
        &admin_key,
        &format!("admin:{admin}"),
        "end-of-custody",
    )
    .await;
    assert_eq!(by_admin.status, 200, "{by_admin:?}");
    assert_eq!(by_admin.body["status"], "deregistered");
}

/// `claims` bound to `path` and signed by the device itself.
fn device_signed(device: &Owned, path: &str, claims: Value) -> String {
    let bound = trustreg_core::binding::bind(claims, "POST", path);
    device.se.sign_jws(
        &trustreg_core::jose::JwsHeader::es256().with_kid(device.regdevid.clone()),
        bound.to_string().as_bytes(),
    )
}

fn is_deregistered<T: std::fmt::Debug>(answer: &Result<T, trustreg_device::client::ClientError>) {
    assert!(
        matches!(answer, Err(trustreg_device::client::ClientError::Problem { status: 409, problem_type, .. })
            if problem_type.ends_with("/device-deregistered")),
        "{answer:?}"
    );
}

// Y.3059 6.3 e
// After its deregistration, every other route that would change the device, or say something
// new of it, is refused with `device-deregistered`: the device's acknowledgement, virtual IDs
// asked by the device or its owner, vulnerability reports naming it (from the device, its
// owner, an administrator); and the changes an administrator makes to many devices at once
// (its owner's verification, the removal of its root of trust) are made, but pass it over.
// Afterwards the stored device and its lookup are as the deregistration left them.
#[tokio::test]
async fn a_deregistered_device_refuses_every_change() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let device = owned(&stack).await;
    let id = device.regdevid.clone();
    let owner_kid = format!("owner:{}", device.owner_id);
    let (admin, admin_key) = test_admin();
    let admin_kid = format!("admin:{admin}");
    let done = deregister(&api, &id, &device.owner_key, &owner_kid, "lost").await;
    assert_eq!(done.status, 200, "{done:?}");
    let before = stored(&stack, &id).await;

    let client = RegistryClient::new(api.clone()).unwrap();
    is_deregistered(&client.acknowledge(&device.se).await);

    let virtual_ids = format!("/v1/devices/{id}/virtual-ids");
    let claims = json!({"nonce": challenge(&api, "virtual-id").await, "ttl_seconds": 300});
    let by_device = device_signed(&device, &virtual_ids, claims);
    refused(
        &post(&api, &virtual_ids, JOSE, by_device).await,
        409,
        "device-deregistered",
    );
    let claims = json!({"nonce": challenge(&api, "virtual-id").await, "ttl_seconds": 300});
    let by_owner = post_signed(&api, &virtual_ids, &device.owner_key, &owner_kid, &claims).await;
    refused(&by_owner, 409, "device-deregistered");

    let report = |nonce: String| {
        json!({"nonce": nonce, "severity": 7.5, "summary": "debug port open",
               "target": {"regdevids": [id]}})
    };
    let by_device = device_signed(
        &device,
        "/v1/vulnerabilities",
        report(challenge(&api, "vulnerability").await),
    );
    refused(
        &post(&api, "/v1/vulnerabilities", JOSE, by_device).await,
        409,
        "device-deregistered",
    );
    for (key, kid) in [(&device.owner_key, &owner_kid), (&admin_key, &admin_kid)] {
        let nonce = challenge(&api, "vulnerability").await;
        let answer = post_signed(&api, "/v1/vulnerabilities", key, kid, &report(nonce)).await;
        refused(&answer, 409, "device-deregistered");
    }

    // Made for the owner, which is then verified; its deregistered device stays as it was.
    let verification = format!("/v1/owners/{}/verification", device.owner_id);
    let claims = json!({"nonce": challenge(&api, "owner-verification").await, "state": "verified"});
    let verified = post_signed(&api, &verification, &admin_key, &admin_kid, &claims).await;
    assert_eq!(verified.status, 200, "{verified:?}");
    assert_eq!(verified.body["verification"], "verified", "{verified:?}");
    // Made: the device's own root (each `owned` device has its own maker) is gone.
    let root_id = trustreg_core::rot::root_id_for(device.maker.ca.cert_der());
    let root = format!("/v1/admin/roots/{root_id}");
    let removed = send(
        "DELETE",
        format!("{api}{root}"),
        None,
        Some((
            JOSE,
            trustreg_tests::signed_request(
                &admin_key,
                &admin_kid,
                "DELETE",
                &root,
                &json!({"nonce": challenge(&api, "root").await}),
            ),
        )),
    )
    .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    let document = send("GET", format!("{api}/v1/registry"), None, None).await;
    assert!(
        !document.body.to_string().contains(&root_id),
        "{document:?}"
    );

    assert_eq!(stored(&stack, &id).await, before, "nothing changed");
    let seen = send("GET", format!("{api}/v1/devices/{id}"), None, None).await;
    assert_eq!(
        (seen.status, seen.body["status"].as_str()),
        (200, Some("deregistered")),
        "{seen:?}"
    );
    assert_eq!(seen.body["status_since"], done.body["deregistered_at"]);
}
