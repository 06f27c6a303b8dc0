//! An attacker's suite through API Gateway on the deployed test stack: each test is an attack a
//! malicious device, owner, manufacturer, enquirer or anonymous caller could try, with what the
//! contract (docs/API.md) says must happen, and the state checked afterwards.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use serde_json::{Value, json};
use trustreg_core::status::TrustStatus;
use trustreg_device::RegistryClient;
use trustreg_tests::devices::{
    OwnedDevice, TrustedDevice, owned_device, self_made_owner, trusted_device,
};
use trustreg_tests::{
    Answer, Manufacturer, Stack, challenge, imei, localstack, new_signing_key, post, post_signed,
    random_imei, send, sensor_info, signed_request, test_admin,
};

const JOSE: &str = "application/jose";

/// The test administrator's kid and key.
fn admin() -> (String, p256::ecdsa::SigningKey) {
    let (name, key) = test_admin();
    (format!("admin:{name}"), key)
}

/// The public view of a device: its status.
async fn status_of(api: &str, regdevid: &str) -> String {
    let answer = send("GET", format!("{api}/v1/devices/{regdevid}"), None, None).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["status"].as_str().unwrap().to_owned()
}

/// An enquirer signed up (pending): its id and key.
async fn signed_up_enquirer(api: &str) -> (String, p256::ecdsa::SigningKey) {
    let key = new_signing_key();
    let answer = post(
        api,
        "/v1/enquirers",
        "application/json",
        json!({"name": "Attacks", "organisation": "Example Health", "contact": "a@example.org",
               "role": "enquirer",
               "public_key": trustreg_core::jose::jwk_from_key(key.verifying_key())})
        .to_string(),
    )
    .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    (answer.body["enquirer_id"].as_str().unwrap().to_owned(), key)
}

/// A login of `kid` signed with `key`.
async fn login(api: &str, key: &p256::ecdsa::SigningKey, kid: &str) -> Answer {
    let claims = json!({"nonce": challenge(api, "login").await, "enquirer_id": kid});
    post_signed(api, "/v1/sessions", key, kid, &claims).await
}

/// `jws` with its signature replaced by another of the same length.
fn junk_signature(jws: &str) -> String {
    let (input, _) = jws.rsplit_once('.').unwrap();
    let junk = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        [0x42u8; 64],
    );
    format!("{input}.{junk}")
}

// ------------------------------------------------------------------------------------------
// Finding 6: a signed request names the method, path and target it acts on.
// ------------------------------------------------------------------------------------------

// Y.3059 7 ii
// An administrator's removal of root A, posted to root B's path, removes nothing.
#[tokio::test]
async fn a_root_removal_signed_for_one_root_cannot_remove_another() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let a = Manufacturer::accepted_by(&registry).await;
    let b = Manufacturer::accepted_by(&registry).await;
    let id_of = |m: &Manufacturer| trustreg_core::rot::root_id_for(m.ca.cert_der());
    let (kid, key) = admin();
    let for_a = signed_request(
        &key,
        &kid,
        "DELETE",
        &format!("/v1/admin/roots/{}", id_of(&a)),
        &json!({"nonce": challenge(&api, "root").await}),
    );
    let answer = send(
        "DELETE",
        format!("{api}/v1/admin/roots/{}", id_of(&b)),
        None,
        Some((JOSE, for_a)),
    )
    .await;
    assert_eq!((answer.status, answer.problem()), (403, "wrong-target"));
    let document = send("GET", format!("{api}/v1/registry"), None, None).await;
    assert!(
        document.body.to_string().contains(&id_of(&b)),
        "B is still accepted"
    );
    assert!(document.body.to_string().contains(&id_of(&a)), "A too");
}

// Y.3059 6.1 e
// An administrator's "place stolen" posted to the release route releases nothing.
#[tokio::test]
async fn a_hold_placement_cannot_be_replayed_as_its_release() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let regdevid = trusted_device(&stack).await.regdevid;
    let (kid, key) = admin();
    let hold = |nonce: String| json!({"nonce": nonce, "regdevid": regdevid, "kind": "stolen"});
    let placed = post_signed(
        &api,
        &format!("/v1/devices/{regdevid}/holds"),
        &key,
        &kid,
        &hold(challenge(&api, "hold").await),
    )
    .await;
    assert_eq!(placed.status, 200, "{placed:?}");
    // A second placement, never sent where it was made for, replayed as a release.
    let placement = signed_request(
        &key,
        &kid,
        "POST",
        &format!("/v1/devices/{regdevid}/holds"),
        &hold(challenge(&api, "hold").await),
    );
    let answer = post(
        &api,
        &format!("/v1/devices/{regdevid}/holds/stolen/release"),
        JOSE,
        placement,
    )
    .await;
    assert_eq!((answer.status, answer.problem()), (403, "wrong-target"));
    assert_eq!(status_of(&api, &regdevid).await, "unreliable");
}

// Y.3059 9.3 iii
// An approval signed for enquirer 1, posted for enquirer 2, approves nobody.
#[tokio::test]
async fn an_approval_signed_for_one_enquirer_cannot_approve_another() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let (first, _) = signed_up_enquirer(&api).await;
    let (second, second_key) = signed_up_enquirer(&api).await;
    let (kid, key) = admin();
    let approval = signed_request(
        &key,
        &kid,
        "POST",
        &format!("/v1/admin/enquirers/{first}/decision"),
        &json!({"nonce": challenge(&api, "enquirer-decision").await, "decision": "approve"}),
    );
    let answer = post(
        &api,
        &format!("/v1/admin/enquirers/{second}/decision"),
        JOSE,
        approval,
    )
    .await;
    assert_eq!((answer.status, answer.problem()), (403, "wrong-target"));
    let refused = login(&api, &second_key, &format!("enquirer:{second}")).await;
    assert_eq!((refused.status, refused.problem()), (403, "forbidden"));
}

// Y.3059 6.1 f
// A domain policy signed for one trust domain cannot set another's.
#[tokio::test]
async fn a_policy_signed_for_one_domain_cannot_set_another() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let before = send("GET", format!("{api}/v1/registry"), None, None).await;
    let (kid, key) = admin();
    let lax = json!({"require_acknowledgement": false, "require_owner_verified": false,
                     "max_report_age_seconds": null, "unreliable_at_severity": 10.0});
    let for_energy = signed_request(
        &key,
        &kid,
        "PUT",
        "/v1/admin/trust-domains/energy",
        &json!({"nonce": challenge(&api, "trust-domain").await, "policy": lax}),
    );
    let answer = send(
        "PUT",
        format!("{api}/v1/admin/trust-domains/health"),
        None,
        Some((JOSE, for_energy)),
    )
    .await;
    assert_eq!((answer.status, answer.problem()), (403, "wrong-target"));
    let after = send("GET", format!("{api}/v1/registry"), None, None).await;
    assert_eq!(
        before.body["trust_domains"], after.body["trust_domains"],
        "no domain's policy changed"
    );
}

// Y.3059 7 iv c
// A device's report without the request's binding is refused before anything is recorded.
#[tokio::test]
async fn a_signed_request_that_names_no_route_is_refused() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let TrustedDevice { regdevid, se, .. } = trusted_device(&stack).await;
    let claims = json!({"nonce": challenge(&api, "report").await, "firmware_version": "9.9.9",
                        "software_version": "1.0.0"});
    let unbound = se.sign_jws(
        &trustreg_core::jose::JwsHeader::es256().with_kid(regdevid.clone()),
        claims.to_string().as_bytes(),
    );
    let answer = post(
        &api,
        &format!("/v1/devices/{regdevid}/reports"),
        JOSE,
        unbound,
    )
    .await;
    assert_eq!(
        (answer.status, answer.problem()),
        (400, "malformed-request")
    );
    let device = stored(&stack, &regdevid).await;
    assert_eq!(device.status, TrustStatus::Trusted);
    assert_ne!(device.info.firmware_version, "9.9.9");
}

// ------------------------------------------------------------------------------------------
// Finding 8: nothing about the signer before its signature verifies.
// ------------------------------------------------------------------------------------------

// Y.3059 9.3 iii
// With a junk signature, a pending enquirer's kid, an unknown enquirer and an unknown admin
// name all get the same answer: nobody learns who exists or in which state.
#[tokio::test]
async fn a_junk_signature_reveals_nothing_about_the_signer() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let (pending, key) = signed_up_enquirer(&api).await;
    let attempt = |kid: String| {
        let api = api.clone();
        let key = key.clone();
        async move {
            let claims = json!({"nonce": challenge(&api, "login").await, "enquirer_id": kid});
            let jws = signed_request(&key, &kid, "POST", "/v1/sessions", &claims);
            post(&api, "/v1/sessions", JOSE, junk_signature(&jws)).await
        }
    };
    let answers = [
        attempt(format!("enquirer:{pending}")).await,
        attempt("enquirer:NOBODY0000000000000000000".into()).await,
        attempt("admin:nobody".into()).await,
        attempt(format!("enquirer:{}", "x".repeat(3000))).await,
    ];
    let shape = |a: &Answer| (a.status, a.body["type"].clone(), a.body["detail"].clone());
    for answer in &answers {
        assert_eq!(shape(answer), shape(&answers[0]), "{answer:?}");
    }
    assert_eq!(answers[0].status, 401);
    assert_eq!(answers[0].problem(), "bad-signature");
    let detail: &Value = &answers[0].body["detail"];
    assert!(!detail.to_string().contains("pending"), "{detail}");
}

// ------------------------------------------------------------------------------------------
// Finding 1: approval cannot be skipped by becoming an owner.
// ------------------------------------------------------------------------------------------

/// An owner created by itself (no administrator involved), logged in: its access token.
async fn self_made_owner_token(api: &str) -> String {
    let (id, key) = self_made_owner(api).await;
    let session = login(api, &key, &format!("owner:{id}")).await;
    assert_eq!(session.status, 200, "{session:?}");
    session.body["access_token"].as_str().unwrap().to_owned()
}

// Y.3059 9.3 i a
// Y.3059 9.3 iii
// An owner nobody approved reads no registry-wide list and subscribes to no whole domain.
#[tokio::test]
async fn a_self_made_owner_reads_no_registry_wide_list_and_subscribes_to_no_domain() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let token = self_made_owner_token(&api).await;
    for status in ["trusted", "unverified", "unreliable"] {
        let list = send(
            "GET",
            format!("{api}/v1/status-lists/{status}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(
            (list.status, list.problem()),
            (403, "forbidden"),
            "{status}"
        );
    }
    let statistics = send("GET", format!("{api}/v1/statistics"), Some(&token), None).await;
    assert_eq!(statistics.status, 403, "{statistics:?}");
    // A device registered by somebody else: the owner may not follow it either.
    let theirs = trusted_device(&stack).await.regdevid;
    for filter in [json!({}), json!({"regdevid": [theirs]})] {
        let subscribe = send(
            "POST",
            format!("{api}/v1/subscriptions"),
            Some(&token),
            Some((
                "application/json",
                json!({"trust_domain": "health", "protocol": "sqs",
                       "endpoint": "arn:aws:sqs:us-east-1:000000000000:mallory",
                       "filter": filter})
                .to_string(),
            )),
        )
        .await;
        assert_eq!((subscribe.status, subscribe.problem()), (403, "forbidden"));
    }
    let held = send("GET", format!("{api}/v1/subscriptions"), Some(&token), None).await;
    assert_eq!(held.status, 200, "{held:?}");
    assert_eq!(
        held.body["subscriptions"],
        json!([]),
        "nothing was subscribed"
    );
}

// ------------------------------------------------------------------------------------------
// Finding 2: an owner cannot release a hold an administrator placed.
// ------------------------------------------------------------------------------------------

// Y.3059 6.1 e
// An administrator's `compromised` hold stays until an administrator releases it; the owner's
// signed release is refused and changes nothing.
#[tokio::test]
async fn an_owner_cannot_release_an_administrators_hold() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let OwnedDevice {
        regdevid,
        owner_id: owner,
        owner_key,
    } = owned_device(&stack).await;
    let (kid, key) = admin();
    let hold = |nonce: String| json!({"nonce": nonce, "regdevid": regdevid, "kind": "compromised"});
    let placed = post_signed(
        &api,
        &format!("/v1/devices/{regdevid}/holds"),
        &key,
        &kid,
        &hold(challenge(&api, "hold").await),
    )
    .await;
    assert_eq!(placed.status, 200, "{placed:?}");
    let release = format!("/v1/devices/{regdevid}/holds/compromised/release");
    let by_owner = post_signed(
        &api,
        &release,
        &owner_key,
        &format!("owner:{owner}"),
        &hold(challenge(&api, "hold").await),
    )
    .await;
    assert_eq!((by_owner.status, by_owner.problem()), (403, "forbidden"));
    assert_eq!(status_of(&api, &regdevid).await, "unreliable");
    let by_admin = post_signed(
        &api,
        &release,
        &key,
        &kid,
        &hold(challenge(&api, "hold").await),
    )
    .await;
    assert_eq!(by_admin.status, 200, "{by_admin:?}");
    assert_eq!(status_of(&api, &regdevid).await, "trusted");
}

// ------------------------------------------------------------------------------------------
// Finding 9: subscriptions reach no internal endpoint.
// ------------------------------------------------------------------------------------------

// Y.3059 9.4 i a
// An enquirer cannot point the notification service at the metadata service or a private
// network; nothing is subscribed.
#[tokio::test]
async fn a_subscription_to_an_internal_endpoint_is_refused() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let token = trustreg_tests::enquirer_token(&api).await;
    for endpoint in [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/",
        "https://[fd00::1]/",
        "https://metadata.google.internal/",
        "https://2130706433/",
    ] {
        let answer = send(
            "POST",
            format!("{api}/v1/subscriptions"),
            Some(&token),
            Some((
                "application/json",
                json!({"trust_domain": "health", "protocol": "https", "endpoint": endpoint})
                    .to_string(),
            )),
        )
        .await;
        assert_eq!(
            (answer.status, answer.problem()),
            (400, "malformed-request"),
            "{endpoint}"
        );
    }
    let held = send("GET", format!("{api}/v1/subscriptions"), Some(&token), None).await;
    assert_eq!(held.body["subscriptions"], json!([]), "{held:?}");
}

// ------------------------------------------------------------------------------------------
// Finding 10: a device's history names roles, not owners or administrators.
// ------------------------------------------------------------------------------------------

// Y.3059 9.3 ii a
// An enquirer reading the history of an owned, held device sees who acted as a role only.
#[tokio::test]
async fn history_shows_enquirers_roles_not_identities() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let OwnedDevice {
        regdevid,
        owner_id: owner,
        owner_key,
    } = owned_device(&stack).await;
    let placed = post_signed(
        &api,
        &format!("/v1/devices/{regdevid}/holds"),
        &owner_key,
        &format!("owner:{owner}"),
        &json!({"nonce": challenge(&api, "hold").await, "regdevid": regdevid, "kind": "stolen"}),
    )
    .await;
    assert_eq!(placed.status, 200, "{placed:?}");
    let token = trustreg_tests::enquirer_token(&api).await;
    let history = send(
        "GET",
        format!("{api}/v1/devices/{regdevid}/history"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(history.status, 200, "{history:?}");
    let text = history.body.to_string();
    assert!(!text.contains(&owner), "the owner's id leaks: {text}");
    assert!(!text.contains("admin:"), "{text}");
    let actors: Vec<&str> = history.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert!(actors.contains(&"owner"), "{actors:?}");
}

// ------------------------------------------------------------------------------------------
// Finding 7: bounds before work.
// ------------------------------------------------------------------------------------------

// Y.3059 9.2 i e
// A device cannot store (and make every lookup repeat) tens of kilobytes of description:
// 45 KB in `device.power` is a 400 and registers nothing.
#[tokio::test]
async fn an_oversized_device_description_is_refused() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let id = imei(&random_imei());
    let se = maker.device(&id);
    let mut info = sensor_info();
    info.power
        .extra
        .insert("padding".into(), Value::String("x".repeat(45_000)));
    let client = RegistryClient::new(stack.api_url()).unwrap();
    let refused = client.register(&se, &id, info, vec![]).await.unwrap_err();
    assert!(
        matches!(
            &refused,
            trustreg_device::ClientError::Problem { status: 400, .. }
        ),
        "{refused:?}"
    );
    let regdevid: trustreg_core::identifier::RegDevId =
        format!("{}:{id}", stack.output("RegistryPath"))
            .parse()
            .unwrap();
    let stored = trustreg_core::ports::DeviceStore::get_device(&stack.store(&sdk), &regdevid)
        .await
        .unwrap();
    assert!(stored.is_none(), "nothing registered");
}

/// The status and detail of a refusal the device client got; panics on anything else.
fn refused_with(refused: &trustreg_device::ClientError) -> (u16, &str) {
    let trustreg_device::ClientError::Problem { status, detail, .. } = refused else {
        panic!("{refused:?}");
    };
    (*status, detail.as_deref().unwrap_or_default())
}

// A number DynamoDB cannot store (AWS refuses the whole write: Number's range is 1E-130 to
// 9.99E+125, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html)
// in the free-form JSON a device gives is the client's 400 naming the number's place, and
// nothing is stored: neither a registration nor a report. (A CI run found one: stored by the
// emulator, it made the statistics' partition unreadable, a 503 for every enquirer.) So is a
// member without a name.
#[tokio::test]
async fn a_number_the_store_cannot_keep_is_refused_before_it_is_stored() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let client = RegistryClient::new(stack.api_url()).unwrap();
    let store = stack.store(&sdk);
    for number in ["1e300", "-1e-200"] {
        let id = imei(&random_imei());
        let se = maker.device(&id);
        let mut info = sensor_info();
        info.power
            .extra
            .insert("capacity".into(), serde_json::from_str(number).unwrap());
        let refused = client.register(&se, &id, info, vec![]).await.unwrap_err();
        let (status, detail) = refused_with(&refused);
        assert_eq!(status, 400, "{refused:?}");
        assert!(detail.contains("device.power.capacity"), "{detail}");
        let regdevid: trustreg_core::identifier::RegDevId =
            format!("{}:{id}", stack.output("RegistryPath"))
                .parse()
                .unwrap();
        let stored = trustreg_core::ports::DeviceStore::get_device(&store, &regdevid)
            .await
            .unwrap();
        assert!(stored.is_none(), "{number}: nothing registered");
    }

    let device = trusted_device(&stack).await;
    let report = |configuration: Value| trustreg_device::client::ReportParams {
        firmware_version: "2.0.0".into(),
        software_version: "1.0.0".into(),
        communication: vec!["lte".into()],
        configuration: Some(configuration),
    };
    let refused = client
        .report(&device.se, report(json!({"limits": [1, 1e-200]})))
        .await
        .unwrap_err();
    let (status, detail) = refused_with(&refused);
    assert_eq!(status, 400, "{refused:?}");
    assert!(detail.contains("configuration.limits[1]"), "{detail}");
    // A member without a name (the emulator's stream could not carry one: it stalled the
    // table's stream in a CI run) is refused the same way.
    let refused = client
        .report(&device.se, report(json!({"ports": {"": true}})))
        .await
        .unwrap_err();
    let (status, detail) = refused_with(&refused);
    assert_eq!(status, 400, "{refused:?}");
    assert!(
        detail.contains("configuration.ports has a member with an empty name"),
        "{detail}"
    );
    // The device is as it was, and a storable report still goes through.
    let regdevid: trustreg_core::identifier::RegDevId = device.regdevid.parse().unwrap();
    let before = trustreg_core::ports::DeviceStore::get_device(&store, &regdevid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.info.firmware_version, sensor_info().firmware_version);
    client
        .report(&device.se, report(json!({"limits": [1, 1.5e-130, 9e125]})))
        .await
        .expect("the store's own edges are taken");
}

// Y.3059 6.1 e
// A 3,000-byte kid never reaches a key read (a DynamoDB partition key is at most 2,048
// bytes on AWS): 401, as for any signer that is not known.
#[tokio::test]
async fn an_oversized_kid_is_refused_as_unknown() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let regdevid = trusted_device(&stack).await.regdevid;
    let kid = format!("{regdevid}{}", "9".repeat(3000));
    let answer = post_signed(
        &api,
        &format!("/v1/devices/{regdevid}/holds"),
        &new_signing_key(),
        &kid,
        &json!({"nonce": challenge(&api, "hold").await, "regdevid": regdevid, "kind": "stolen"}),
    )
    .await;
    assert_eq!((answer.status, answer.problem()), (401, "bad-signature"));
    assert_eq!(status_of(&api, &regdevid).await, "trusted");
}

// ------------------------------------------------------------------------------------------
// Finding 5: revocation takes effect on the tokens already issued.
// ------------------------------------------------------------------------------------------

// Y.3059 9.3 iii
// A revoked enquirer's token stops working within the standing cache's 30 s (API.md).
#[tokio::test]
async fn a_revoked_enquirers_token_stops_working() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let (id, key) = signed_up_enquirer(&api).await;
    let (kid, admin_key) = admin();
    let decide = |decision: &'static str| {
        let api = api.clone();
        let admin_key = admin_key.clone();
        let kid = kid.clone();
        let id = id.clone();
        async move {
            post_signed(
                &api,
                &format!("/v1/admin/enquirers/{id}/decision"),
                &admin_key,
                &kid,
                &json!({"nonce": challenge(&api, "enquirer-decision").await, "decision": decision}),
            )
            .await
        }
    };
    assert_eq!(decide("approve").await.status, 200);
    let session = login(&api, &key, &format!("enquirer:{id}")).await;
    let token = session.body["access_token"].as_str().unwrap().to_owned();
    let search = || {
        send(
            "GET",
            format!("{api}/v1/devices?make=Acme"),
            Some(&token),
            None,
        )
    };
    assert_eq!(search().await.status, 200);
    assert_eq!(decide("revoke").await.status, 200);
    let started = std::time::Instant::now();
    let refused = trustreg_tests::eventually(
        std::time::Duration::from_secs(45),
        "the revoked enquirer's token is refused",
        || async {
            let answer = search().await;
            (answer.status == 401).then_some(answer)
        },
    )
    .await;
    assert_eq!(refused.problem(), "unauthenticated");
    assert!(started.elapsed() <= std::time::Duration::from_secs(40));
}

// ------------------------------------------------------------------------------------------
// Finding 3: a transfer cannot launder a device's status.
// ------------------------------------------------------------------------------------------

// Y.3059 9.2 i d
// Y.3059 6.1 f
// A device unreliable for an open vulnerability, "transferred" by its owner to itself, stays
// unreliable: the transfer changes nothing, and no policy but the domain's decides status.
#[tokio::test]
async fn a_transfer_to_oneself_does_not_clear_a_vulnerability() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let OwnedDevice {
        regdevid,
        owner_id: owner,
        owner_key,
    } = owned_device(&stack).await;
    let (kid, key) = admin();
    let reported = post_signed(
        &api,
        "/v1/vulnerabilities",
        &key,
        &kid,
        &json!({"nonce": challenge(&api, "vulnerability").await, "severity": 9.1,
                "summary": "remote code execution", "target": {"regdevids": [regdevid]}}),
    )
    .await;
    assert_eq!(reported.status, 202, "{reported:?}");
    assert_eq!(status_of(&api, &regdevid).await, "unreliable");
    let transferred = post_signed(
        &api,
        &format!("/v1/devices/{regdevid}/transfer"),
        &owner_key,
        &format!("owner:{owner}"),
        &json!({"nonce": challenge(&api, "transfer").await, "new_owner_id": owner}),
    )
    .await;
    assert_eq!(transferred.status, 200, "{transferred:?}");
    assert_eq!(transferred.body["status"], "unreliable");
    assert_eq!(status_of(&api, &regdevid).await, "unreliable");
}

// ------------------------------------------------------------------------------------------
// Finding 4: an accepted root certifies only its own identifiers.
// ------------------------------------------------------------------------------------------

/// A fresh TAC (8 digits) of the tests' range, and an IMEI in it.
fn fresh_tac() -> String {
    random_imei()[..8].to_owned()
}

fn imei_in(tac: &str) -> trustreg_core::identifier::Identifier {
    let rest = &random_imei()[8..14];
    let body = format!("{tac}{rest}");
    let check = trustreg_core::identifier::luhn_check_digit(&body).unwrap();
    imei(&format!("{body}{check}"))
}

/// A manufacturer the stack accepts for the IMEIs of `tac` only.
async fn maker_of(stack: &Stack, tac: &str) -> Manufacturer {
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::unaccepted();
    registry
        .accept_root(
            maker.ca.cert_der(),
            maker.ca.name(),
            vec!["secure-element".into()],
            vec![format!("imei:{tac}")],
            "admin:tests",
        )
        .await
        .unwrap();
    maker
}

/// The device as the store holds it.
async fn stored(stack: &Stack, regdevid: &str) -> trustreg_core::records::DeviceRecord {
    let sdk = localstack().await;
    trustreg_core::ports::DeviceStore::get_device(&stack.store(&sdk), &regdevid.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
}

// Y.3059 7 ii
// Y.3059 9.2 i a
// Manufacturer B, accepted for its own TAC, certifies A's registered IMEI: its registration,
// its report about A's device and its bulk request are all refused, and A's device is not
// marked a possible clone; B cannot squat an unregistered IMEI of A's TAC either.
#[tokio::test]
async fn a_root_cannot_certify_another_makers_identifiers() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let (tac_a, tac_b) = (fresh_tac(), fresh_tac());
    let a = maker_of(&stack, &tac_a).await;
    let b = maker_of(&stack, &tac_b).await;
    let client = RegistryClient::new(&api).unwrap();
    let victim_id = imei_in(&tac_a);
    let victim = a.device(&victim_id);
    let regdevid = client
        .register(&victim, &victim_id, sensor_info(), vec![])
        .await
        .unwrap()
        .regdevid;
    client.acknowledge(&victim).await.unwrap();
    assert_eq!(status_of(&api, &regdevid).await, "trusted");

    // Registration by B's leaf for A's IMEI.
    let impostor = b.device(&victim_id);
    let refused = client
        .register(&impostor, &victim_id, sensor_info(), vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, trustreg_device::ClientError::Problem { status: 403, problem_type, .. }
            if problem_type.ends_with("/identifier-out-of-scope")),
        "{refused:?}"
    );

    // A report about A's device, signed by B's leaf, with B's chain.
    let claims = json!({"nonce": challenge(&api, "report").await, "firmware_version": "6.6.6",
                        "software_version": "1.0.0"});
    let path = trustreg_device::client::device_path(trustreg_model::routes::Op::Report, &regdevid);
    let header = trustreg_core::jose::JwsHeader::es256()
        .with_kid(regdevid.clone())
        .with_x5c_der(&impostor.chain_der().unwrap());
    let report = impostor.sign_jws(
        &header,
        trustreg_core::binding::bind(claims, "POST", &path)
            .to_string()
            .as_bytes(),
    );
    let answer = post(&api, &path, JOSE, report).await;
    assert_eq!(answer.status, 401, "{answer:?}");

    // A bulk request by manufacturer B naming A's IMEI.
    let line =
        trustreg_device::bulk::bulk_device(&impostor, &victim_id, sensor_info(), vec![]).unwrap();
    let body = serde_json::to_string(&vec![line]).unwrap();
    let bulk = client
        .register_bulk(body.into_bytes(), "application/json", |claims| {
            b.ca.sign_jws(claims)
                .map_err(|e| trustreg_device::ClientError::Decode(e.to_string()))
        })
        .await
        .unwrap();
    assert_eq!(bulk["summary"]["failed"], 1, "{bulk}");
    assert!(
        bulk["results"][0]["problem"]["type"]
            .as_str()
            .unwrap()
            .ends_with("/identifier-out-of-scope"),
        "{bulk}"
    );

    let device = stored(&stack, &regdevid).await;
    assert_eq!(
        device.facts.clone_reports, 0,
        "A's device is no possible clone"
    );
    assert_eq!(status_of(&api, &regdevid).await, "trusted");

    // An IMEI of A's TAC nobody registered yet: B may not take it.
    let unclaimed = imei_in(&tac_a);
    let squatter = b.device(&unclaimed);
    let refused = client
        .register(&squatter, &unclaimed, sensor_info(), vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(
            &refused,
            trustreg_device::ClientError::Problem { status: 403, .. }
        ),
        "{refused:?}"
    );
}

// ------------------------------------------------------------------------------------------
// Finding 11: abuse limits.
// ------------------------------------------------------------------------------------------

// An anonymous caller looping on lookups is stopped at the limit (the test peer registry is
// deployed with 20 anonymous lookups per caller and minute, scripts/lib.sh): 429, a problem,
// with Retry-After; a caller with an access token is not counted.
#[tokio::test]
async fn anonymous_lookups_beyond_the_limit_are_refused_with_retry_after() {
    let peer = trustreg_tests::Hierarchy::deployed().peer;
    let api = peer.api_url();
    let url = format!("{api}/v1/devices/IN2:imei:356938035643809");
    let http = reqwest::Client::new();
    let mut limited = None;
    for _ in 0..60 {
        let answer = http.get(&url).send().await.unwrap();
        if answer.status().as_u16() == 429 {
            limited = Some(answer);
            break;
        }
        assert_eq!(answer.status().as_u16(), 404, "{answer:?}");
    }
    let limited = limited.expect("60 lookups in a burst pass no limit of 20 a minute");
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        limited.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["type"], "https://trustreg.dev/problems/rate-limited");
    let token = trustreg_tests::enquirer_token(&api).await;
    let with_token = send("GET", url, Some(&token), None).await;
    assert_eq!(with_token.status, 404, "{with_token:?}");
}

// Y.3059 7 i c
// Oversized identifiers in a path never become store keys (a DynamoDB partition key is at most
// 2,048 bytes on AWS, where a longer one would answer 5xx): 414 before any handler, anonymous
// or signed, and an oversized owner id in a transfer's claims is a 400.
#[tokio::test]
async fn oversized_identifiers_never_reach_the_store() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let long = "A".repeat(3_000);
    let lookup = send("GET", format!("{api}/v1/devices/{long}"), None, None).await;
    assert_eq!((lookup.status, lookup.problem()), (414, "uri-too-long"));
    let (kid, key) = admin();
    let decision = post_signed(
        &api,
        &format!("/v1/admin/enquirers/{long}/decision"),
        &key,
        &kid,
        &json!({"nonce": challenge(&api, "enquirer-decision").await, "decision": "approve"}),
    )
    .await;
    assert_eq!((decision.status, decision.problem()), (414, "uri-too-long"));
    let OwnedDevice {
        regdevid,
        owner_id,
        owner_key,
    } = owned_device(&stack).await;
    let transfer = post_signed(
        &api,
        &format!("/v1/devices/{regdevid}/transfer"),
        &owner_key,
        &format!("owner:{owner_id}"),
        &json!({"nonce": challenge(&api, "transfer").await, "new_owner_id": long}),
    )
    .await;
    assert_eq!(
        (transfer.status, transfer.problem()),
        (400, "malformed-request")
    );
}

// ------------------------------------------------------------------------------------------
// Trust domains are the registry's shape: only an administrator adds one (docs/API.md's role
// table: PUT /v1/admin/trust-domains/{name} admits admin).
// ------------------------------------------------------------------------------------------

// Y.3059 6.1 f
// A device and an owner, each signing properly with its own key, cannot add a trust domain:
// 403, the domain is not hosted, and no topic was made for it.
#[tokio::test]
async fn only_an_administrator_adds_a_trust_domain() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let domain = format!("rogue{}", &random_imei()[6..]);
    let path = format!("/v1/admin/trust-domains/{domain}");
    let before = send("GET", format!("{api}/v1/registry"), None, None).await;
    let policy = before.body["trust_domains"][0]["policy"].clone();

    let device = trusted_device(&stack).await;
    let (owner_id, owner_key) = self_made_owner(&api).await;
    let device_claims = json!({"nonce": challenge(&api, "trust-domain").await, "policy": policy});
    let from_device = device.se.sign_jws(
        &trustreg_core::jose::JwsHeader::es256().with_kid(device.regdevid.clone()),
        trustreg_core::binding::bind(device_claims, "PUT", &path)
            .to_string()
            .as_bytes(),
    );
    let owner_claims = json!({"nonce": challenge(&api, "trust-domain").await, "policy": policy});
    let from_owner = signed_request(
        &owner_key,
        &format!("owner:{owner_id}"),
        "PUT",
        &path,
        &owner_claims,
    );
    for (who, jws) in [("device", from_device), ("owner", from_owner)] {
        let answer = send("PUT", format!("{api}{path}"), None, Some((JOSE, jws))).await;
        assert_eq!(
            (answer.status, answer.problem()),
            (403, "forbidden"),
            "{who}: {answer:?}"
        );
    }

    // The refusals happened (above); nothing of the domain exists.
    let after = send("GET", format!("{api}/v1/registry"), None, None).await;
    assert_eq!(before.body["trust_domains"], after.body["trust_domains"]);
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topics = sns.list_topics().send().await.unwrap();
    assert!(
        !topics
            .topics()
            .iter()
            .filter_map(|t| t.topic_arn())
            .any(|arn| arn.ends_with(&format!("-{domain}"))),
        "a topic was made for {domain}"
    );
}
