//! The hierarchy end to end on LocalStack: the test command's primary registry (IN1.HLT.P07),
//! the sectoral registry above it (IN1.HLT), the geographical apex (IN1), the second primary
//! (IN1.HLT.P08) and the apex's geographical peer (IN2): five stacks of one template linked
//! with `trustreg admin link`, talking only through signed messages in their SQS inboxes.
//! Other tests change devices at the primary at the same time, so each test looks at its own
//! devices, and messages it makes up itself go straight into an inbox.
// card C6
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use trustreg_core::exchange::EXCHANGE_TYP;
use trustreg_core::jose::{self, JwsHeader};
use trustreg_core::messages::Purpose;
use trustreg_core::ports::{Applied, HierarchyStore, RegistryKeys};
use trustreg_core::records::{AuditRecord, MirrorRecord, Outcome};
use trustreg_core::status::TrustStatus;
use trustreg_device::bulk::{body_claims, bulk_device};
use trustreg_tests::devices::{admin_hold, trusted_device};
use trustreg_tests::exchange::{audit_since, into_inbox, message, now_ms, post_link, update};
use trustreg_tests::subscriber::{Subscriber, domains, topic_arn};
use trustreg_tests::{
    Answer, Hierarchy, Manufacturer, Stack, challenge, enquirer_token, eventually, imei,
    localstack, new_signing_key, post_signed, random_imei, registry_document, send, sensor_info,
    test_admin,
};

/// How long a change may take to travel up two registries (stream, notify, two inboxes).
// A positive wait: on 2 busy cores a gap healed by a two-page snapshot once took over 60 s.
const TRAVEL: Duration = Duration::from_secs(120);

async fn lookup(stack: &Stack, token: &str, regdevid: &str) -> Answer {
    send(
        "GET",
        format!("{}/v1/devices/{regdevid}", stack.api_url()),
        Some(token),
        None,
    )
    .await
}

/// The entry of `regdevid` in the registry's `status` list, paging through it.
async fn listed(stack: &Stack, token: &str, status: &str, regdevid: &str) -> Option<Value> {
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{}/v1/status-lists/{status}", stack.api_url());
        if let Some(c) = &cursor {
            url = format!("{url}?cursor={c}");
        }
        let page = send("GET", url, Some(token), None).await;
        assert_eq!(page.status, 200, "{page:?}");
        assert!(
            page.body["statement"].is_string(),
            "unsigned list: {page:?}"
        );
        if let Some(found) = page.body["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["regdevid"] == regdevid)
        {
            return Some(found.clone());
        }
        cursor = page.body["next"].as_str().map(str::to_owned);
        cursor.as_ref()?;
    }
}

/// Waits until `stack` answers a lookup of `regdevid` with `status`, mirrored from the primary.
async fn mirrored_with(stack: &Stack, primary: &Stack, token: &str, regdevid: &str, status: &str) {
    let origin = primary.output("RegistryPath");
    let answer = eventually(
        TRAVEL,
        &format!("{regdevid} {status} at {}", stack.output("RegistryPath")),
        || async {
            let answer = lookup(stack, token, regdevid).await;
            (answer.status == 200 && answer.body["status"] == status).then_some(answer)
        },
    )
    .await;
    // Y.3059 9.3 ii c: a lookup anywhere names where the device is registered, and how old
    // the information is.
    assert_eq!(answer.body["origin"], origin, "{answer:?}");
    assert_eq!(answer.body["registry"], stack.output("RegistryPath"));
    assert!(answer.body["as_of"].is_string(), "{answer:?}");
    assert!(answer.body["statement"].is_string(), "{answer:?}");
}

/// Enquirer tokens at the sectoral and the geographical registry.
async fn tokens(h: &Hierarchy) -> (String, String) {
    let (sectoral, geographical) = (h.sectoral.api_url(), h.geographical.api_url());
    tokio::join!(enquirer_token(&sectoral), enquirer_token(&geographical))
}

// Y.3059 6.1 c
// Y.3059 7 iv d
// Y.3059 7 iv f
// Y.3059 9.4 i b
// A device registered at the primary, then held there, is seen with each status at the
// sectoral and the geographical registry, in lookups and in their status lists.
#[tokio::test]
async fn a_change_at_the_primary_reaches_the_sectoral_and_geographical_registries() {
    let h = Hierarchy::deployed();
    let (sectoral_token, geographical_token) = tokens(&h).await;
    let regdevid = trusted_device(&h.primary).await.regdevid;
    for (stack, token) in [
        (&h.sectoral, &sectoral_token),
        (&h.geographical, &geographical_token),
    ] {
        mirrored_with(stack, &h.primary, token, &regdevid, "trusted").await;
    }

    admin_hold(&h.primary, &regdevid).await;
    for (stack, token) in [
        (&h.sectoral, &sectoral_token),
        (&h.geographical, &geographical_token),
    ] {
        mirrored_with(stack, &h.primary, token, &regdevid, "unreliable").await;
        let entry = listed(stack, token, "unreliable", &regdevid)
            .await
            .unwrap_or_else(|| panic!("{regdevid} not in the unreliable list"));
        assert_eq!(entry["origin"], h.primary.output("RegistryPath"));
        assert!(
            listed(stack, token, "trusted", &regdevid).await.is_none(),
            "{regdevid} still listed trusted at {}",
            stack.output("RegistryPath")
        );
    }
}

// Y.3059 9.1 v
// Y.3059 7 iv f
// An update the sectoral registry applied already, sent again (correctly signed by the
// primary, with its old sequence number but another status), changes nothing.
#[tokio::test]
async fn a_replayed_exchange_message_changes_nothing() {
    let h = Hierarchy::deployed();
    let sdk = localstack().await;
    let token = enquirer_token(&h.sectoral.api_url()).await;
    let regdevid = trusted_device(&h.primary).await.regdevid;
    admin_hold(&h.primary, &regdevid).await;
    mirrored_with(&h.sectoral, &h.primary, &token, &regdevid, "unreliable").await;
    let store = h.sectoral.store(&sdk);
    let id = regdevid.parse().unwrap();
    let before = store.get_mirror(&id).await.unwrap().expect("mirrored");

    let primary_keys = trustreg_tests::CountingKeys::of(&h.primary, &sdk);
    let replay = message(
        &primary_keys,
        &update(
            h.primary.output("RegistryPath"),
            before.origin_seq,
            &regdevid,
            TrustStatus::Trusted,
        ),
    )
    .await;
    let since = now_ms();
    into_inbox(&h.sectoral, &replay).await;
    // The replay was received and recognised (its receipt is audited), before anything is
    // said of what it did not change.
    received_as(
        &h.sectoral,
        since,
        h.primary.output("RegistryPath"),
        before.origin_seq,
        "exchange-duplicate",
    )
    .await;
    // Other tests' snapshots may rewrite the mirror meanwhile, but only with what is true.
    let after = store
        .get_mirror(&id)
        .await
        .unwrap()
        .expect("still mirrored");
    assert_eq!(after.status, TrustStatus::Unreliable, "{after:?}");
    assert!(after.origin_seq >= before.origin_seq, "{after:?}");
    let answer = lookup(&h.sectoral, &token, &regdevid).await;
    assert_eq!(answer.body["status"], "unreliable", "{answer:?}");
}

// Y.3059 9.1 v
// A message that claims to come from the primary but is signed by another key, and one from
// a registry the sectoral registry is not linked to, are refused and audited; neither changes
// the mirror.
#[tokio::test]
async fn forged_and_unlinked_exchange_messages_are_refused_and_audited() {
    let h = Hierarchy::deployed();
    let sdk = localstack().await;
    let token = enquirer_token(&h.sectoral.api_url()).await;
    let regdevid = trusted_device(&h.primary).await.regdevid;
    mirrored_with(&h.sectoral, &h.primary, &token, &regdevid, "trusted").await;
    let store = h.sectoral.store(&sdk);
    let id = regdevid.parse().unwrap();
    let primary = h.primary.output("RegistryPath");
    let last = store.last_sequence(primary).await.unwrap();
    let since = now_ms();

    // Signed by a key of the forger's, named as the primary's.
    let forger = new_signing_key();
    let claims = update(primary, last + 1, &regdevid, TrustStatus::Unreliable);
    let header = JwsHeader::es256()
        .with_typ(EXCHANGE_TYP)
        .with_kid(trustreg_tests::CountingKeys::of(&h.primary, &sdk).key_id());
    let forged = jose::sign_with(&forger, &header, &serde_json::to_vec(&claims).unwrap());
    into_inbox(&h.sectoral, &forged).await;
    // A primary of the same sector the sectoral registry never linked.
    let stranger = "IN1.HLT.X99";
    let unlinked = jose::sign_with(
        &forger,
        &JwsHeader::es256().with_typ(EXCHANGE_TYP).with_kid("x99"),
        &serde_json::to_vec(&update(
            stranger,
            1,
            &format!("{stranger}:imei:{}", random_imei()),
            TrustStatus::Unreliable,
        ))
        .unwrap(),
    );
    into_inbox(&h.sectoral, &unlinked).await;

    let refusals = eventually(TRAVEL, "both refusals audited", || async {
        let records = audit_since(&h.sectoral, since).await;
        let refused = |actor: &str, code: &str| {
            records.iter().any(|r| {
                r["actor"] == actor
                    && r["action"] == "receive-exchange"
                    && r["outcome"] == "rejected"
                    && r["code"] == code
            })
        };
        (refused(&format!("registry:{primary}"), "bad-signature")
            && refused(&format!("registry:{stranger}"), "unknown-signer"))
        .then_some(records)
    })
    .await;
    assert!(!refusals.is_empty());
    let mirror = store.get_mirror(&id).await.unwrap().expect("mirrored");
    assert_eq!(mirror.status, TrustStatus::Trusted, "{mirror:?}");
    let answer = lookup(&h.sectoral, &token, &regdevid).await;
    assert_eq!(answer.body["status"], "trusted", "{answer:?}");
}

// Y.3059 7 iv f
// Y.3059 7 iv d
// A message the primary numbered but never delivered (its sequence number taken and lost) is
// a gap at the sectoral registry: the next update is not applied but answered with a snapshot
// request, and the primary's snapshot heals the mirror. The geographical registry, which
// missed the same numbers, heals from the sectoral registry's mirror at the next update.
// At the second primary, whose devices are this binary's own: the first primary's snapshot
// holds every device the suite registered there, and each of its pages is also checked for
// clones at both registries above, which on a loaded CI machine outgrew the wait.
#[tokio::test]
async fn a_lost_update_is_healed_by_a_snapshot() {
    let _one_at_a_time = SECOND_PRIMARY.lock().await;
    let h = Hierarchy::deployed();
    let sdk = localstack().await;
    let (sectoral_token, geographical_token) = tokens(&h).await;
    let regdevid = trusted_device(&h.second_primary).await.regdevid;
    mirrored_with(
        &h.sectoral,
        &h.second_primary,
        &sectoral_token,
        &regdevid,
        "trusted",
    )
    .await;
    mirrored_with(
        &h.geographical,
        &h.second_primary,
        &geographical_token,
        &regdevid,
        "trusted",
    )
    .await;
    let since = now_ms();

    // The lost message: its number is taken and it goes nowhere.
    let lost = h.second_primary.store(&sdk).next_sequence().await.unwrap();
    admin_hold(&h.second_primary, &regdevid).await;
    mirrored_with(
        &h.sectoral,
        &h.second_primary,
        &sectoral_token,
        &regdevid,
        "unreliable",
    )
    .await;
    let primary = h.second_primary.output("RegistryPath");
    let records = audit_since(&h.sectoral, since).await;
    assert!(
        records.iter().any(|r| r["action"] == "exchange-snapshot"
            && r["actor"] == format!("registry:{primary}")
            && r["target"]
                .as_str()
                .and_then(|t| t.strip_prefix(&format!("{primary}#")))
                .and_then(|seq| seq.parse::<u64>().ok())
                .is_some_and(|seq| seq > lost)),
        "no snapshot after the gap at {lost}: {records:#?}"
    );
    assert!(h.sectoral.store(&sdk).last_sequence(primary).await.unwrap() > lost);

    // The next change at the primary reaches the geographical registry after the same gap.
    let other = trusted_device(&h.second_primary).await.regdevid;
    mirrored_with(
        &h.geographical,
        &h.second_primary,
        &geographical_token,
        &other,
        "trusted",
    )
    .await;
    mirrored_with(
        &h.geographical,
        &h.second_primary,
        &geographical_token,
        &regdevid,
        "unreliable",
    )
    .await;
}

/// A signed administrator's request about vulnerabilities at `stack`: its answer.
async fn vulnerability_request(stack: &Stack, path: &str, mut claims: Value) -> Answer {
    let api = stack.api_url();
    let (admin, key) = test_admin();
    claims["nonce"] = json!(challenge(&api, "vulnerability").await);
    post_signed(&api, path, &key, &format!("admin:{admin}"), &claims).await
}

/// Waits until the primary's own answer for `regdevid` is `status`.
async fn at_the_primary(primary: &Stack, token: &str, regdevid: &str, status: &str) {
    eventually(
        TRAVEL,
        &format!("{regdevid} {status} at the primary"),
        || async {
            let answer = lookup(primary, token, regdevid).await;
            (answer.status == 200 && answer.body["status"] == status).then_some(())
        },
    )
    .await;
}

// Y.3059 7 iv d
// Y.3059 9.4 i b
// Y.3059 9.3 ii b
// Y.3059 7 iv f
// A vulnerability entered at the geographical registry goes down through the sectoral one to
// primary 1, where the device becomes unreliable; the change comes back up, so every
// registry's unreliable list holds it. Its fix, declared at the geographical registry, travels
// the same way and the device is trusted again everywhere.
#[tokio::test]
async fn a_vulnerability_entered_at_the_geographical_registry_makes_it_unreliable_at_primary_1_and_in_every_list()
 {
    let h = Hierarchy::deployed();
    let (sectoral_token, geographical_token) = tokens(&h).await;
    let primary_token = enquirer_token(&h.primary.api_url()).await;
    let regdevid = trusted_device(&h.primary).await.regdevid;
    mirrored_with(
        &h.geographical,
        &h.primary,
        &geographical_token,
        &regdevid,
        "trusted",
    )
    .await;
    let since = now_ms();

    let reported = vulnerability_request(
        &h.geographical,
        "/v1/vulnerabilities",
        json!({"severity": 9.1, "summary": "authentication bypass in the boot loader",
               "cve": "CVE-2026-0042", "target": {"regdevids": [regdevid]}}),
    )
    .await;
    assert_eq!(reported.status, 202, "{reported:?}");
    // The geographical registry holds no devices: nothing of its own is affected.
    assert_eq!(reported.body["affected_so_far"], 0, "{reported:?}");
    let id = reported.body["id"].as_str().unwrap().to_owned();

    at_the_primary(&h.primary, &primary_token, &regdevid, "unreliable").await;
    let geographical = h.geographical.output("RegistryPath");
    let sectoral = h.sectoral.output("RegistryPath");
    let records = audit_since(&h.primary, since).await;
    assert!(
        records
            .iter()
            .any(|r| r["action"] == "receive-vulnerability"
                && r["actor"] == format!("registry:{sectoral}")
                && r["target"] == format!("vulnerability:{geographical}:{id}")),
        "not received from the sectoral registry: {records:#?}"
    );
    assert!(
        records.iter().any(|r| r["action"] == "vulnerability"
            && r["actor"] == format!("registry:{geographical}")
            && r["target"] == regdevid),
        "the device's change does not name the origin: {records:#?}"
    );
    for (stack, token) in [
        (&h.primary, &primary_token),
        (&h.sectoral, &sectoral_token),
        (&h.geographical, &geographical_token),
    ] {
        if stack.output("RegistryPath") != h.primary.output("RegistryPath") {
            mirrored_with(stack, &h.primary, token, &regdevid, "unreliable").await;
        }
        let entry = listed(stack, token, "unreliable", &regdevid)
            .await
            .unwrap_or_else(|| {
                panic!(
                    "{regdevid} not in the unreliable list of {}",
                    stack.output("RegistryPath")
                )
            });
        assert_eq!(entry["origin"], h.primary.output("RegistryPath"));
        assert!(
            listed(stack, token, "trusted", &regdevid).await.is_none(),
            "{regdevid} still listed trusted at {}",
            stack.output("RegistryPath")
        );
    }

    let fixed = vulnerability_request(
        &h.geographical,
        &format!("/v1/vulnerabilities/{id}/fixed"),
        json!({"id": id}),
    )
    .await;
    assert_eq!(fixed.status, 200, "{fixed:?}");
    at_the_primary(&h.primary, &primary_token, &regdevid, "trusted").await;
    mirrored_with(
        &h.geographical,
        &h.primary,
        &geographical_token,
        &regdevid,
        "trusted",
    )
    .await;
    assert!(
        listed(
            &h.geographical,
            &geographical_token,
            "unreliable",
            &regdevid
        )
        .await
        .is_none()
    );
}

/// `count` devices (unverified: none has acknowledged) of a make and model no other test uses, registered at `stack` in one
/// bulk registration (through the registry's flow, as the register function runs it).
async fn devices_of_their_own_model(stack: &Stack, count: usize) -> (String, Vec<String>) {
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let mut info = sensor_info();
    info.model = format!("Model-{}", random_imei());
    let lines: Vec<String> = (0..count)
        .map(|_| {
            let id = imei(&random_imei());
            let se = maker.device(&id);
            serde_json::to_string(&bulk_device(&se, &id, info.clone(), vec![]).unwrap()).unwrap()
        })
        .collect();
    let body = lines.join("\n");
    let nonce = registry.challenge(Purpose::Bulk).await.unwrap().nonce;
    let signature = maker
        .ca
        .sign_jws(&serde_json::to_vec(&body_claims(nonce, body.as_bytes())).unwrap())
        .unwrap();
    let parsed = lines
        .iter()
        .map(|l| serde_json::from_str(l).map_err(|e: serde_json::Error| e.to_string()))
        .collect();
    let outcomes = registry
        .register_bulk(&signature, body.as_bytes(), parsed)
        .await
        .unwrap();
    let regdevids = outcomes
        .into_iter()
        .map(|o| o.expect("registered").response.regdevid)
        .collect();
    (info.model, regdevids)
}

// Y.3059 9.3 ii b
// Y.3059 7 iv d
// A vulnerability of a make and model (no device named) entered at the geographical registry
// reaches primary 1 through the sectoral registry, where the devices of that model become
// unreliable: the primary's exchange function finds them through the make/model index, which
// its role must be granted on AWS (the fidelity layer refuses it otherwise).
#[tokio::test]
async fn a_make_and_model_vulnerability_entered_at_the_geographical_registry_reaches_primary_1() {
    let h = Hierarchy::deployed();
    let primary_token = enquirer_token(&h.primary.api_url()).await;
    let (model, regdevids) = devices_of_their_own_model(&h.primary, 2).await;
    // A device of the same make and another model.
    let other = trusted_device(&h.primary).await.regdevid;
    let reported = vulnerability_request(
        &h.geographical,
        "/v1/vulnerabilities",
        json!({"severity": 9.3, "summary": "hard-coded debug key",
               "target": {"make": sensor_info().make, "model": model}}),
    )
    .await;
    assert_eq!(reported.status, 202, "{reported:?}");
    for regdevid in &regdevids {
        at_the_primary(&h.primary, &primary_token, regdevid, "unreliable").await;
    }
    // The vulnerability has been applied at the primary: the other model is untouched.
    let answer = lookup(&h.primary, &primary_token, &other).await;
    assert_eq!(answer.body["status"], "trusted", "{answer:?}");
}

// Y.3059 7 iv f
// A snapshot of more than a hundred devices heals a gap: its pages (90 devices each, each
// signed by the registry's KMS key, far past the 4,096 bytes KMS signs raw, so signed as a
// SHA-256 digest) are all applied by the sectoral registry. At the second primary, whose few
// devices are this binary's own: a snapshot of the first primary carries every device the
// suite made there before, and grew past the wait as the suite grew.
#[tokio::test]
async fn a_snapshot_of_more_than_a_hundred_devices_heals_a_gap() {
    let _one_at_a_time = SECOND_PRIMARY.lock().await;
    let h = Hierarchy::deployed();
    let origin = &h.second_primary;
    let sdk = localstack().await;
    let (sectoral_token, _) = tokens(&h).await;
    let (_, regdevids) = devices_of_their_own_model(origin, 101).await;
    let (first, last) = (&regdevids[0], regdevids.last().unwrap());
    // Registered in bulk, a device is unverified until it acknowledges its credential.
    mirrored_with(&h.sectoral, origin, &sectoral_token, last, "unverified").await;
    let since = now_ms();

    let lost = origin.store(&sdk).next_sequence().await.unwrap();
    admin_hold(origin, first).await;
    mirrored_with(&h.sectoral, origin, &sectoral_token, first, "unreliable").await;
    let primary = origin.output("RegistryPath");
    let pages = eventually(TRAVEL, "every page of the snapshot", || async {
        let mut by_seq = std::collections::BTreeMap::<u64, usize>::new();
        for r in audit_since(&h.sectoral, since).await {
            let seq = r["target"]
                .as_str()
                .and_then(|t| t.strip_prefix(&format!("{primary}#")))
                .and_then(|seq| seq.parse::<u64>().ok());
            if r["action"] == "exchange-snapshot"
                && r["actor"] == format!("registry:{primary}")
                && let Some(seq) = seq.filter(|seq| *seq > lost)
            {
                *by_seq.entry(seq).or_default() += 1;
            }
        }
        // The primary holds these 101 devices and more: at least two pages of 90.
        by_seq.into_values().find(|pages| *pages >= 2)
    })
    .await;
    assert!(pages >= 2);
}

fn mirror(origin: &str, imei: &str, status: TrustStatus, seq: u64) -> MirrorRecord {
    MirrorRecord {
        root_id: None,
        regdevid: format!("{origin}:imei:{imei}").parse().unwrap(),
        origin: origin.to_owned(),
        status,
        status_since_ms: now_ms(),
        make: "Acme".into(),
        model: "Sensor-1".into(),
        trust_domains: vec!["health".into()],
        origin_seq: seq,
        received_at_ms: now_ms(),
        via: origin.to_owned(),
    }
}

fn audit(origin: &str, seq: u64) -> AuditRecord {
    let at_ms = now_ms();
    AuditRecord {
        id: format!("{at_ms:013}-{}", random_imei()),
        at_ms,
        actor: format!("registry:{origin}"),
        action: "exchange-update".into(),
        target: Some(format!("{origin}#{seq}")),
        outcome: Outcome::Accepted,
        code: None,
    }
}

// Y.3059 7 iv f
// Y.3059 6.1 c
// The table applies each origin's messages once and in order, in one transaction with their
// mirrors: a duplicate or a message after a gap writes nothing; a snapshot (in pages that
// share its number) heals a gap; mirrors are listed by origin and by status, paged.
#[tokio::test]
async fn the_table_applies_each_origins_messages_once_and_in_order() {
    let h = Hierarchy::deployed();
    let sdk = localstack().await;
    // The apex: it sends nothing up, so taking numbers there leaves no gap anywhere.
    let store = h.geographical.store(&sdk);
    let digits = random_imei();
    let origin = format!("IN1.Q{}.{}", &digits[2..4], &digits[4..7]);
    let (a, b, c) = (random_imei(), random_imei(), random_imei());
    let a_id: trustreg_core::identifier::RegDevId = format!("{origin}:imei:{a}").parse().unwrap();
    let apply = |seq: u64, snapshot: bool, mirrors: Vec<MirrorRecord>| {
        let store = store.clone();
        let origin = origin.clone();
        async move {
            store
                .apply_exchange(&origin, seq, snapshot, &mirrors, &audit(&origin, seq))
                .await
                .unwrap()
        }
    };
    let status_of = |store: trustreg_aws::DynamoStore, id| async move {
        store.get_mirror(&id).await.unwrap().map(|m| m.status)
    };

    let first = vec![mirror(&origin, &a, TrustStatus::Trusted, 1)];
    assert_eq!(apply(1, false, first.clone()).await, Applied::Applied);
    assert_eq!(apply(1, false, first).await, Applied::Duplicate { last: 1 });
    let later = vec![mirror(&origin, &a, TrustStatus::Unverified, 3)];
    assert_eq!(apply(3, false, later).await, Applied::Gap { last: 1 });
    assert_eq!(
        status_of(store.clone(), a_id.clone()).await,
        Some(TrustStatus::Trusted)
    );
    let second = vec![mirror(&origin, &a, TrustStatus::Unreliable, 2)];
    assert_eq!(apply(2, false, second).await, Applied::Applied);
    assert_eq!(
        status_of(store.clone(), a_id.clone()).await,
        Some(TrustStatus::Unreliable)
    );

    // A snapshot as of 5 over the gap, in two pages.
    let page_1 = vec![
        mirror(&origin, &a, TrustStatus::Trusted, 5),
        mirror(&origin, &b, TrustStatus::Trusted, 5),
    ];
    assert_eq!(apply(5, true, page_1).await, Applied::Applied);
    let page_2 = vec![mirror(&origin, &c, TrustStatus::Unreliable, 5)];
    assert_eq!(apply(5, true, page_2).await, Applied::Applied);
    let stale = vec![mirror(&origin, &a, TrustStatus::Unreliable, 4)];
    assert_eq!(apply(4, true, stale).await, Applied::Duplicate { last: 5 });
    assert_eq!(store.last_sequence(&origin).await.unwrap(), 5);
    assert_eq!(
        status_of(store.clone(), a_id).await,
        Some(TrustStatus::Trusted)
    );

    let first_page = store.mirrors_of_origin(&origin, None, 2).await.unwrap();
    assert_eq!(first_page.items.len(), 2);
    let rest = store
        .mirrors_of_origin(&origin, first_page.next.as_deref(), 2)
        .await
        .unwrap();
    let mut all: Vec<String> = first_page
        .items
        .iter()
        .chain(&rest.items)
        .map(|m| m.regdevid.to_string())
        .collect();
    all.sort();
    let mut expected: Vec<String> = [&a, &b, &c]
        .iter()
        .map(|i| format!("{origin}:imei:{i}"))
        .collect();
    expected.sort();
    assert_eq!(all, expected);
    assert!(
        store
            .mirrors_of_origin(&origin, Some("bm90IGEgY3Vyc29y"), 2)
            .await
            .unwrap_err()
            .is_invalid_cursor()
    );

    // The unreliable list holds c, and not a or b.
    let mut cursor: Option<String> = None;
    let mut unreliable = Vec::new();
    loop {
        let page = store
            .mirrors_with_status(TrustStatus::Unreliable, cursor.as_deref(), 100)
            .await
            .unwrap();
        unreliable.extend(page.items.into_iter().filter(|m| m.origin == origin));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    let names: Vec<String> = unreliable.iter().map(|m| m.regdevid.to_string()).collect();
    assert_eq!(names, vec![format!("{origin}:imei:{c}")]);

    let taken = store.next_sequence().await.unwrap();
    assert_eq!(store.next_sequence().await.unwrap(), taken + 1);
    assert!(store.current_sequence().await.unwrap() > taken);
}

/// The tests that unlink and link P08 again, or count on its link, one at a time.
static SECOND_PRIMARY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One side of a link, as `trustreg admin link` makes it: at `at`, `other` is its `kind`.
async fn link(at: &Stack, other: &Stack, kind: &str) {
    let theirs = registry_document(other).await;
    let linked = post_link(at, &theirs, kind, other.output("InboxUrl")).await;
    assert_eq!(linked.status, 201, "{linked:?}");
}

/// Removes one side of a link from `stack`'s table (there is no route for it): `stack` then
/// neither sends to nor accepts from that registry, as before it was ever linked.
async fn forget_link(stack: &Stack, kind: &str, reg_id: &str) {
    let sdk = localstack().await;
    aws_sdk_dynamodb::Client::new(&sdk)
        .delete_item()
        .table_name(stack.table())
        .key("pk", AttributeValue::S("REGISTRY".into()))
        .key("sk", AttributeValue::S(format!("LINK#{kind}#{reg_id}")))
        .send()
        .await
        .unwrap();
}

/// Checks a signed answer's statement with the registry's published key (through the session
/// key it delegates); answers what it states.
async fn verified_statement(stack: &Stack, answer: &Value) -> Value {
    let key = jose::key_from_jwk(&registry_document(stack).await["public_key"]).unwrap();
    let statement = trustreg_core::statements::verify_statement::<Value>(
        answer["statement"].as_str().unwrap(),
        &key,
        now_ms(),
    )
    .expect("the statement verifies with the registry's key");
    assert_eq!(statement.iss, stack.output("RegistryPath"));
    statement.answer
}

// Y.3059 6.1 a
// Y.3059 7 iv f
// Y.3059 9.3 ii c
// Y.3059 7 iv d
// Y.3059 9.4 i b
// IN1 and IN2 are peers, recorded on both sides. A device registered at primary 1 becomes
// visible at IN2 (mirrored from IN1, the lookup naming its origin and age). A vulnerability
// entered at IN2 about it goes across to IN1 and down to primary 1, where the device becomes
// unreliable; the change comes back up and across, into IN2's unreliable list. The fix
// declared at IN2 travels the same way.
#[tokio::test]
async fn a_change_at_primary_1_reaches_the_peer_and_a_vulnerability_entered_at_the_peer_reaches_primary_1()
 {
    let h = Hierarchy::deployed();
    let geographical = h.geographical.output("RegistryPath");
    let peer = h.peer.output("RegistryPath");
    assert!(
        registry_document(&h.geographical).await["peers"]
            .as_array()
            .unwrap()
            .contains(&json!(peer))
    );
    assert!(
        registry_document(&h.peer).await["peers"]
            .as_array()
            .unwrap()
            .contains(&json!(geographical))
    );
    let (peer_api, primary_api) = (h.peer.api_url(), h.primary.api_url());
    let (peer_token, primary_token) =
        tokio::join!(enquirer_token(&peer_api), enquirer_token(&primary_api));
    let regdevid = trusted_device(&h.primary).await.regdevid;
    mirrored_with(&h.peer, &h.primary, &peer_token, &regdevid, "trusted").await;
    let since = now_ms();

    let reported = vulnerability_request(
        &h.peer,
        "/v1/vulnerabilities",
        json!({"severity": 8.8, "summary": "hard-coded debug credentials",
               "target": {"regdevids": [regdevid]}}),
    )
    .await;
    assert_eq!(reported.status, 202, "{reported:?}");
    let id = reported.body["id"].as_str().unwrap().to_owned();
    at_the_primary(&h.primary, &primary_token, &regdevid, "unreliable").await;
    let records = audit_since(&h.primary, since).await;
    assert!(
        records
            .iter()
            .any(|r| r["action"] == "receive-vulnerability"
                && r["target"] == format!("vulnerability:{peer}:{id}")),
        "not received from IN2 through the branch: {records:#?}"
    );
    assert!(
        records.iter().any(|r| r["action"] == "vulnerability"
            && r["actor"] == format!("registry:{peer}")
            && r["target"] == regdevid),
        "the device's change does not name IN2: {records:#?}"
    );
    mirrored_with(&h.peer, &h.primary, &peer_token, &regdevid, "unreliable").await;
    let entry = listed(&h.peer, &peer_token, "unreliable", &regdevid)
        .await
        .unwrap_or_else(|| panic!("{regdevid} not in IN2's unreliable list"));
    assert_eq!(entry["origin"], h.primary.output("RegistryPath"));

    let fixed = vulnerability_request(
        &h.peer,
        &format!("/v1/vulnerabilities/{id}/fixed"),
        json!({"id": id}),
    )
    .await;
    assert_eq!(fixed.status, 200, "{fixed:?}");
    at_the_primary(&h.primary, &primary_token, &regdevid, "trusted").await;
    mirrored_with(&h.peer, &h.primary, &peer_token, &regdevid, "trusted").await;
}

// Y.3059 6.1 c
// Y.3059 7 iv d
// Y.3059 7 iv f
// The four registries: a device registered at primary 2 is visible at the sectoral and the
// geographical registry, and the sectoral registry's signed trusted list holds it with a
// device of primary 1, each naming its origin.
#[tokio::test]
async fn a_device_at_primary_2_is_visible_above_and_listed_with_primary_1s() {
    let _one_at_a_time = SECOND_PRIMARY.lock().await;
    let h = Hierarchy::deployed();
    let (sectoral_token, geographical_token) = tokens(&h).await;
    let (p07, p08) = tokio::join!(
        trusted_device(&h.primary),
        trusted_device(&h.second_primary)
    );
    let (p07, p08) = (p07.regdevid, p08.regdevid);
    for (stack, token) in [
        (&h.sectoral, &sectoral_token),
        (&h.geographical, &geographical_token),
    ] {
        mirrored_with(stack, &h.second_primary, token, &p08, "trusted").await;
    }
    mirrored_with(&h.sectoral, &h.primary, &sectoral_token, &p07, "trusted").await;
    for (regdevid, origin) in [(&p07, &h.primary), (&p08, &h.second_primary)] {
        let entry = listed(&h.sectoral, &sectoral_token, "trusted", regdevid)
            .await
            .unwrap_or_else(|| panic!("{regdevid} not in IN1.HLT's trusted list"));
        assert_eq!(entry["origin"], origin.output("RegistryPath"));
    }
    // The list is signed by the sectoral registry's key, over what it lists.
    let page = send(
        "GET",
        format!("{}/v1/status-lists/trusted", h.sectoral.api_url()),
        Some(&sectoral_token),
        None,
    )
    .await;
    let signed = verified_statement(&h.sectoral, &page.body).await;
    assert_eq!(signed["devices"], page.body["devices"]);
    assert_eq!(signed["registry"], h.sectoral.output("RegistryPath"));
}

// Y.3059 7 iv d
// Y.3059 6.1 c
// Y.3059 9.1 v
// A device registered at primary 2 while it is not linked goes nowhere; once the link is
// recorded on both sides (child side first, as `scripts/lib.sh link_stacks` does), the
// sectoral registry pulls primary 2's snapshot and forwards it: the device is visible at the
// sectoral and the geographical registry without having changed since.
#[tokio::test]
async fn a_device_registered_before_its_primary_is_linked_is_visible_above_once_linked() {
    let _one_at_a_time = SECOND_PRIMARY.lock().await;
    let h = Hierarchy::deployed();
    let (sectoral_token, geographical_token) = tokens(&h).await;
    let sectoral_id = h
        .sectoral
        .output("RegistryPath")
        .rsplit('.')
        .next()
        .unwrap();
    let second_id = h
        .second_primary
        .output("RegistryPath")
        .rsplit('.')
        .next()
        .unwrap();
    forget_link(&h.second_primary, "parent", sectoral_id).await;
    forget_link(&h.sectoral, "child", second_id).await;
    let since = now_ms();

    let sdk = localstack().await;
    let second = h.second_primary.store(&sdk);
    let numbered = second.current_sequence().await.unwrap();
    let topic = topic_arn(&h.second_primary, &domains(&h.second_primary)[0]);
    let notified = Subscriber::subscribe(&sdk, &topic, None).await;
    let regdevid = trusted_device(&h.second_primary).await.regdevid;
    // Primary 2's notify function has handled the device's changes (their notifications were
    // published), and took no sequence number: nothing was sent, since nothing goes anywhere.
    let seen = notified
        .collect(TRAVEL, Duration::ZERO, |r| {
            r.iter().any(|m| {
                m.attributes.get("regdevid") == Some(&regdevid)
                    && m.attributes.get("status").map(String::as_str) == Some("trusted")
            })
        })
        .await;
    notified.remove().await;
    assert!(
        seen.iter()
            .any(|m| m.attributes.get("regdevid") == Some(&regdevid)),
        "primary 2 never notified {regdevid}"
    );
    assert_eq!(second.current_sequence().await.unwrap(), numbered);
    let unknown = lookup(&h.sectoral, &sectoral_token, &regdevid).await;
    assert_eq!(unknown.status, 404, "sent up without a link: {unknown:?}");

    link(&h.second_primary, &h.sectoral, "parent").await;
    link(&h.sectoral, &h.second_primary, "child").await;
    for (stack, token) in [
        (&h.sectoral, &sectoral_token),
        (&h.geographical, &geographical_token),
    ] {
        mirrored_with(stack, &h.second_primary, token, &regdevid, "trusted").await;
    }
    let origin = h.second_primary.output("RegistryPath");
    let records = audit_since(&h.sectoral, since).await;
    assert!(
        records
            .iter()
            .any(|r| r["action"] == "exchange-snapshot"
                && r["actor"] == format!("registry:{origin}")),
        "not by a snapshot: {records:#?}"
    );
    assert!(
        !records.iter().any(|r| r["action"] == "exchange-update"
            && r["actor"] == format!("registry:{origin}")),
        "by an update: {records:#?}"
    );
}

// Y.3059 7 iv f
// Y.3059 9.4 i b
// Two updates of primary 2 reach the sectoral inbox in the wrong order: the later one waits
// for the earlier one instead of pulling a snapshot; both are applied, in order, and go on up.
#[tokio::test]
async fn reordered_updates_are_applied_without_a_snapshot() {
    let _one_at_a_time = SECOND_PRIMARY.lock().await;
    let h = Hierarchy::deployed();
    let sdk = localstack().await;
    let (sectoral_token, geographical_token) = tokens(&h).await;
    let origin = h.second_primary.output("RegistryPath");
    let own = h.second_primary.store(&sdk);
    let sectoral = h.sectoral.store(&sdk);
    // Whatever primary 2 sent before has been applied: the next number is the next expected.
    eventually(TRAVEL, "the sectoral registry in step with P08", || async {
        let current = own.current_sequence().await.unwrap();
        (sectoral.last_sequence(origin).await.unwrap() == current).then_some(())
    })
    .await;
    // Numbers taken as P08's notify function takes them: P08's own updates never reuse them.
    let first = own.next_sequence().await.unwrap();
    let second = own.next_sequence().await.unwrap();
    let keys = trustreg_tests::CountingKeys::of(&h.second_primary, &sdk);
    let (a, b) = (
        format!("{origin}:imei:{}", random_imei()),
        format!("{origin}:imei:{}", random_imei()),
    );
    let since = now_ms();
    let later = message(&keys, &update(origin, second, &b, TrustStatus::Trusted)).await;
    let earlier = message(&keys, &update(origin, first, &a, TrustStatus::Trusted)).await;
    into_inbox(&h.sectoral, &later).await;
    // The later one has arrived first and waits for the earlier one.
    received_as(&h.sectoral, since, origin, second, "exchange-deferred").await;
    into_inbox(&h.sectoral, &earlier).await;

    for regdevid in [&a, &b] {
        for (stack, token) in [
            (&h.sectoral, &sectoral_token),
            (&h.geographical, &geographical_token),
        ] {
            mirrored_with(stack, &h.second_primary, token, regdevid, "trusted").await;
        }
    }
    assert_eq!(sectoral.last_sequence(origin).await.unwrap(), second);
    let records = audit_since(&h.sectoral, since).await;
    let actor = format!("registry:{origin}");
    let applied: Vec<&Value> = records
        .iter()
        .filter(|r| r["action"] == "exchange-update" && r["actor"] == actor)
        .map(|r| &r["target"])
        .collect();
    assert_eq!(
        applied,
        vec![
            &json!(format!("{origin}#{first}")),
            &json!(format!("{origin}#{second}"))
        ],
        "{records:#?}"
    );
    assert!(
        !records
            .iter()
            .any(|r| r["action"] == "exchange-snapshot" && r["actor"] == actor),
        "a snapshot was pulled: {records:#?}"
    );
}

/// Waits until `stack` has audited the receipt of `origin`'s message number `seq` as
/// `action` (`exchange-duplicate`, `exchange-deferred`): proof that it arrived and was handled.
async fn received_as(stack: &Stack, since: u64, origin: &str, seq: u64, action: &str) {
    let target = format!("{origin}#{seq}");
    eventually(TRAVEL, &format!("{action} of {target}"), || async {
        audit_since(stack, since)
            .await
            .iter()
            .any(|r| r["action"] == action && r["target"] == target.as_str())
            .then_some(())
    })
    .await;
}

/// The inbox's queue policy, if it has one.
async fn inbox_policy(stack: &Stack) -> Option<Value> {
    let sdk = localstack().await;
    let attributes = aws_sdk_sqs::Client::new(&sdk)
        .get_queue_attributes()
        .queue_url(stack.output("InboxUrl"))
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::Policy)
        .send()
        .await
        .unwrap();
    attributes
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::Policy))
        .map(|p| serde_json::from_str(p).unwrap())
}

// Y.3059 7 iv f
// Y.3059 6.1 a
// A registry of another AWS account (the test peer stands for one: scripts/lib.sh
// PEER_TEST_ACCOUNT) may send to the inbox, only that, only over TLS; a registry whose links
// are all in its own account keeps its inbox without a policy.
#[tokio::test]
async fn an_inbox_admits_the_linked_registries_of_other_accounts_only_to_send() {
    let h = Hierarchy::deployed();
    let policy = inbox_policy(&h.peer)
        .await
        .expect("the peer's inbox has a queue policy");
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{policy}");
    let statement = &statements[0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Action"], "sqs:SendMessage");
    let principal = statement["Principal"]["AWS"].to_string();
    assert!(principal.contains("111122223333"), "{policy}");
    assert_eq!(
        statement["Condition"]["Bool"]["aws:SecureTransport"], "true",
        "{policy}"
    );
    assert_eq!(inbox_policy(&h.primary).await, None);
}
