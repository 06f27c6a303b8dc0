//! One inherent identifier registered at the two primaries of the test hierarchy (IN1.HLT.P07
//! and IN1.HLT.P08), seen by the sectoral registry above both (IN1.HLT), end to end on
//! LocalStack: devices registered through API Gateway, the exchange through the stacks' SQS
//! inboxes, the findings read back as the administrators and enquirers read them.
// card C6
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use trustreg_core::exchange::{ExchangeBody, ExchangeClaims};
use trustreg_core::identifier::{Identifier, RegDevId};
use trustreg_core::ports::{DeviceStore, HierarchyStore};
use trustreg_core::status::{Reason, TrustStatus};
use trustreg_device::RegistryClient;
use trustreg_tests::devices::trusted_device;
use trustreg_tests::exchange::{audit_since, into_inbox, message, now_ms, update};
use trustreg_tests::{
    CountingKeys, Hierarchy, Manufacturer, Stack, admin_token, enquirer_token, eventually, imei,
    localstack, random_imei, send, sensor_info,
};

/// How long a change may take to go up to the sectoral registry and a finding to come down.
const TRAVEL: Duration = Duration::from_secs(120);

/// A manufacturer CA accepted at `stacks`.
async fn accepted_at(stacks: &[&Stack]) -> Manufacturer {
    let sdk = localstack().await;
    let clock = Arc::new(trustreg_aws::SystemClock);
    let maker = Manufacturer::accepted_by(&stacks[0].registry(&sdk, clock.clone())).await;
    for stack in &stacks[1..] {
        maker.accept_at(&stack.registry(&sdk, clock.clone())).await;
    }
    maker
}

/// `id` registered and acknowledged at `stack` by a new device of `maker`: its RegDevID.
async fn registered(stack: &Stack, maker: &Manufacturer, id: &Identifier) -> String {
    let se = maker.device(id);
    let client = RegistryClient::new(stack.api_url()).expect("a client");
    let registered = client
        .register(&se, id, sensor_info(), vec![])
        .await
        .expect("registered");
    // Trusted, unless the other primary's device was already found with it.
    client.acknowledge(&se).await.expect("acknowledged");
    registered.regdevid
}

/// The audit records of the sectoral registry about the pair, as its administrator reads them.
async fn findings(sectoral: &Stack, token: &str, a: &str, b: &str) -> Vec<String> {
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    let target = format!("{a} {b}").replace(' ', "%20");
    let answer = send(
        "GET",
        format!("{}/v1/audit?target={target}", sectoral.api_url()),
        Some(token),
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn stored(stack: &Stack, regdevid: &str) -> trustreg_core::records::DeviceRecord {
    let sdk = localstack().await;
    let regdevid: RegDevId = regdevid.parse().unwrap();
    stack
        .store(&sdk)
        .get_device(&regdevid)
        .await
        .unwrap()
        .expect("the device")
}

// Y.3059 6.1 a
// One IMEI registered at both primaries, certified by one manufacturer's CA (two keys for one
// identity): the sectoral registry above both records a possible clone, both primaries make
// their device unreliable with the reason, and an enquirer's lookup at each says so.
#[tokio::test]
async fn one_identifier_under_one_root_at_two_primaries_becomes_unreliable_at_both() {
    let h = Hierarchy::deployed();
    let maker = accepted_at(&[&h.primary, &h.second_primary]).await;
    let id = imei(&random_imei());
    let (a, b) = tokio::join!(
        registered(&h.primary, &maker, &id),
        registered(&h.second_primary, &maker, &id)
    );
    for (stack, regdevid) in [(&h.primary, &a), (&h.second_primary, &b)] {
        let token = enquirer_token(&stack.api_url()).await;
        eventually(TRAVEL, &format!("{regdevid} unreliable"), || async {
            let answer = send(
                "GET",
                format!("{}/v1/devices/{regdevid}", stack.api_url()),
                Some(&token),
                None,
            )
            .await;
            (answer.status == 200 && answer.body["status"] == "unreliable").then_some(())
        })
        .await;
        let device = stored(stack, regdevid).await;
        assert_eq!(device.reasons, vec![Reason::PossibleClone], "{device:?}");
        assert_eq!(device.facts.clone_reports, 1);
    }
    let token = admin_token(&h.sectoral.api_url()).await;
    assert_eq!(
        findings(&h.sectoral, &token, &a, &b).await,
        vec!["possible-clone"]
    );
}

// Y.3059 6.1 a
// One IMEI at both primaries under two manufacturers' roots, each accepted at one primary
// only: a conflict of the primaries' root scopes, reported in the sectoral registry's audit
// trail for its administrators; once it is there, neither device has changed.
#[tokio::test]
async fn one_identifier_under_two_roots_is_reported_and_changes_neither_device() {
    let h = Hierarchy::deployed();
    let (at_first, at_second) = ([&h.primary], [&h.second_primary]);
    let (first, second) = tokio::join!(accepted_at(&at_first), accepted_at(&at_second));
    let id = imei(&random_imei());
    let (a, b) = tokio::join!(
        registered(&h.primary, &first, &id),
        registered(&h.second_primary, &second, &id)
    );
    let token = admin_token(&h.sectoral.api_url()).await;
    let reported = eventually(TRAVEL, "the conflict reported at IN1.HLT", || async {
        let found = findings(&h.sectoral, &token, &a, &b).await;
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert_eq!(reported, vec!["identifier-conflict"]);
    for (stack, regdevid) in [(&h.primary, &a), (&h.second_primary, &b)] {
        let device = stored(stack, regdevid).await;
        assert_eq!(
            (device.status, device.facts.clone_reports),
            (TrustStatus::Trusted, 0),
            "{device:?}"
        );
    }
}

// Y.3059 6.1 a
// Y.3059 9.1 v
// A primary turned against its sibling, with its own registry key and its real link to the
// sectoral registry: an update in the sibling's name, one of its own naming the sibling's
// device, and a possible clone of the sibling's device sent up or straight into the sibling's
// inbox are each refused and audited; once every refusal is on record, the sibling's device
// and its mirror above are still trusted.
#[tokio::test]
async fn a_primary_cannot_speak_for_its_siblings_devices_through_the_exchange() {
    let h = Hierarchy::deployed();
    let sdk = localstack().await;
    let (p07, p08) = (
        h.primary.output("RegistryPath").to_owned(),
        h.second_primary.output("RegistryPath").to_owned(),
    );
    let victim = trusted_device(&h.primary).await.regdevid;
    let sectoral = h.sectoral.store(&sdk);
    let id: RegDevId = victim.parse().unwrap();
    eventually(TRAVEL, "the victim mirrored at IN1.HLT", || async {
        let mirror = sectoral.get_mirror(&id).await.unwrap();
        mirror
            .filter(|m| m.status == TrustStatus::Trusted)
            .map(|_| ())
    })
    .await;
    let keys = CountingKeys::of(&h.second_primary, &sdk);
    let since = now_ms();
    let next = |origin: &str| {
        let sectoral = &sectoral;
        let origin = origin.to_owned();
        async move { sectoral.last_sequence(&origin).await.unwrap() + 1 }
    };

    // In the sibling's name: P08 may speak only for its own subtree.
    let mut as_sibling = update(&p07, next(&p07).await, &victim, TrustStatus::Unreliable);
    as_sibling.sender = p08.clone();
    into_inbox(&h.sectoral, &message(&keys, &as_sibling).await).await;
    // In its own name, about the sibling's device.
    let own_name = update(&p08, next(&p08).await, &victim, TrustStatus::Unreliable);
    into_inbox(&h.sectoral, &message(&keys, &own_name).await).await;
    // A possible clone, which only a registry above may find.
    let twin = format!("{p08}:{}", id.identifier);
    let clone = ExchangeClaims {
        sender: p08.clone(),
        origin: p08.clone(),
        seq: next(&p08).await,
        iat: now_ms() / 1000,
        body: ExchangeBody::PossibleClone {
            regdevids: vec![victim.clone(), twin],
            root: "any".into(),
        },
    };
    let clone = message(&keys, &clone).await;
    into_inbox(&h.sectoral, &clone).await;
    into_inbox(&h.primary, &clone).await;

    let actor = format!("registry:{p08}");
    let refused = |records: &[serde_json::Value], code: &str| {
        records
            .iter()
            .filter(|r| {
                r["actor"] == actor.as_str()
                    && r["action"] == "receive-exchange"
                    && r["outcome"] == "rejected"
                    && r["code"] == code
            })
            .count()
    };
    eventually(TRAVEL, "every refusal audited", || async {
        let above = audit_since(&h.sectoral, since).await;
        let sibling = audit_since(&h.primary, since).await;
        (refused(&above, "forbidden") == 3 && refused(&sibling, "unknown-signer") == 1)
            .then_some(())
    })
    .await;
    let device = stored(&h.primary, &victim).await;
    assert_eq!(
        (device.status, device.facts.clone_reports),
        (TrustStatus::Trusted, 0)
    );
    let mirror = sectoral.get_mirror(&id).await.unwrap().expect("mirrored");
    assert_eq!(mirror.status, TrustStatus::Trusted, "{mirror:?}");
}
