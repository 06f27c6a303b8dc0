//! Vulnerabilities entered above the primaries, sent down to them and back up as status.

use super::*;
use crate::ports::VulnerabilityStore;
use crate::sessions::tests::enquirer;

/// Three registries linked both ways, with device 1 (affected) and 2 (not) at the primary,
/// mirrored above.
async fn trio() -> (Node, Node, Node) {
    let (primary, sectoral, geo) = (Node::primary(), Node::sectoral(), Node::geographical());
    wire(&sectoral, &primary).await;
    wire(&geo, &sectoral).await;
    let devices = [primary.healthy_device(1), primary.healthy_device(2)];
    primary.registry.send_updates(&devices).await.unwrap();
    pump(&[&primary, &sectoral, &geo]).await;
    (primary, sectoral, geo)
}

fn regdevid(n: u32) -> String {
    format!("{PRIMARY}:imei:{}", imei(n))
}

/// An administrator's signed request at `node` for `purpose`.
async fn as_admin(node: &Node, purpose: Purpose, mut claims: Value) -> String {
    let nonce = node.registry.challenge(purpose).await.unwrap().nonce;
    claims["nonce"] = json!(nonce);
    let header = JwsHeader::es256().with_kid("admin:ops");
    jose::sign_with(&node.admin, &header, claims.to_string().as_bytes())
}

/// Device 1 reported vulnerable at `node`: answers the id there.
async fn report_at(node: &Node) -> String {
    let jws = as_admin(
        node,
        Purpose::Vulnerability,
        json!({"severity": 9.0, "summary": "remote code execution",
               "target": {"regdevids": [regdevid(1)]}}),
    )
    .await;
    node.registry
        .report_vulnerability(&jws, 25)
        .await
        .unwrap()
        .id
}

fn status_at(node: &Node, n: u32) -> TrustStatus {
    node.store.snapshot().devices[&regdevid(n)].status
}

/// What the notify function does with the primary's changed devices: sends them up.
async fn changes_go_up(primary: &Node, nodes: &[&Node]) {
    let devices: Vec<DeviceRecord> = primary.store.snapshot().devices.into_values().collect();
    primary.registry.send_updates(&devices).await.unwrap();
    pump(nodes).await;
}

async fn listed(node: &Node, status: &str) -> Vec<String> {
    node.registry
        .status_list(Some(&enquirer()), status, None)
        .await
        .unwrap()
        .devices
        .into_iter()
        .map(|d| d.regdevid)
        .collect()
}

/// A vulnerability message as `from` would send it, signed with its key.
async fn down_message(from: &Node, origin: &str, seq: u64, report: VulnerabilityReport) -> String {
    let claims = from.registry.exchange_claims(
        origin,
        seq,
        ExchangeBody::Vulnerability {
            report: Box::new(report),
        },
    );
    from.registry.sign_exchange(&claims).await.unwrap()
}

fn a_report(id: &str, state: VulnerabilityState) -> VulnerabilityReport {
    VulnerabilityReport {
        id: id.into(),
        source: VulnerabilitySource {
            kind: crate::messages::SourceKind::Admin,
            name: "ops".into(),
        },
        reported_at_ms: T0,
        severity: 9.0,
        cve: Some("CVE-2026-0001".into()),
        summary: "remote code execution".into(),
        target: VulnerabilityTarget::Devices {
            regdevids: vec![regdevid(1)],
        },
        fixed_in_firmware: None,
        state,
    }
}

// Y.3059 7 iv d
// Y.3059 9.4 i b
// Y.3059 9.3 ii b
// Y.3059 7 iv f
// A vulnerability entered at the geographical registry goes down through the sectoral one to
// the primary, which applies it to its device (source: the origin registry, audited as the
// sender's); the device's change goes back up and every registry lists it unreliable.
#[tokio::test]
async fn a_vulnerability_entered_at_the_top_makes_the_device_unreliable_everywhere() {
    let (primary, sectoral, geo) = trio().await;
    let nodes = [&primary, &sectoral, &geo];
    let id = report_at(&geo).await;
    let sent = geo.outbox.snapshot();
    assert_eq!(sent.sent.len(), 1, "{sent:?}");
    let claims = claims_of(&sent.sent[0].1);
    assert_eq!(
        (claims.sender.as_str(), claims.origin.as_str()),
        (GEOGRAPHICAL, GEOGRAPHICAL)
    );
    let results = pump(&nodes).await;
    let local = format!("{GEOGRAPHICAL}:{id}");
    let results: Vec<(String, Received)> = results
        .into_iter()
        .map(|(to, r)| (to, r.unwrap()))
        .collect();
    assert_eq!(
        results,
        vec![
            (
                SECTORAL.to_owned(),
                Received::Vulnerability {
                    id: local.clone(),
                    affected: 0,
                    complete: true,
                    forwarded: 1
                }
            ),
            (
                PRIMARY.to_owned(),
                Received::Vulnerability {
                    id: local.clone(),
                    affected: 1,
                    complete: true,
                    forwarded: 0
                }
            ),
        ]
    );
    assert_eq!(status_at(&primary, 1), TrustStatus::Unreliable);
    let reasons = primary.store.snapshot().devices[&regdevid(1)]
        .reasons
        .clone();
    assert_eq!(reasons, vec![crate::status::Reason::VulnerabilityOpen]);
    assert_eq!(status_at(&primary, 2), TrustStatus::Trusted);
    // Stored at each level with its time and source (9.3 ii b).
    for node in [&sectoral, &primary] {
        let stored = node.store.get_vulnerability(&local).await.unwrap().unwrap();
        assert_eq!(stored.source.actor(), format!("registry:{GEOGRAPHICAL}"));
        assert_eq!(stored.cve, None);
        assert_eq!(stored.reported_at_ms, T0);
    }
    let received = primary.audited("receive-vulnerability", Outcome::Accepted);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].actor, format!("registry:{SECTORAL}"));
    let changed = primary.audited("vulnerability", Outcome::Accepted);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].actor, format!("registry:{GEOGRAPHICAL}"));
    assert_eq!(changed[0].target.as_deref(), Some(regdevid(1).as_str()));

    changes_go_up(&primary, &nodes).await;
    for node in nodes {
        assert_eq!(
            listed(node, "unreliable").await,
            vec![regdevid(1)],
            "{}",
            node.path
        );
        assert_eq!(
            listed(node, "trusted").await,
            vec![regdevid(2)],
            "{}",
            node.path
        );
    }
}

// Y.3059 7 iv d
// Y.3059 9.3 ii b
// The fix declared where the vulnerability was entered travels down the same way: the device
// is trusted again at the primary, and then in every list.
#[tokio::test]
async fn a_fix_at_the_origin_travels_down_and_restores_the_device() {
    let (primary, sectoral, geo) = trio().await;
    let nodes = [&primary, &sectoral, &geo];
    let id = report_at(&geo).await;
    pump(&nodes).await;
    assert_eq!(status_at(&primary, 1), TrustStatus::Unreliable);
    let jws = as_admin(&geo, Purpose::Vulnerability, json!({"id": id})).await;
    geo.registry
        .fix_vulnerability_signed(&id, &jws, 25)
        .await
        .unwrap();
    let results = pump(&nodes).await;
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(
        status_at(&primary, 1),
        TrustStatus::Trusted,
        "{results:?} {:?}",
        primary.store.snapshot().devices[&regdevid(1)]
    );
    let local = format!("{GEOGRAPHICAL}:{id}");
    let stored = primary
        .store
        .get_vulnerability(&local)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, VulnerabilityState::Fixed);
    assert_eq!(stored.fixed_by, Some(format!("registry:{SECTORAL}")));
    changes_go_up(&primary, &nodes).await;
    for node in nodes {
        assert!(listed(node, "unreliable").await.is_empty(), "{}", node.path);
    }
}

// Y.3059 7 iv f
// A vulnerability delivered twice is applied once: the second receipt is a duplicate that
// writes nothing and sends nothing on. An open report that arrives after its fix does not
// reopen it.
#[tokio::test]
async fn a_redelivered_or_stale_vulnerability_applies_once() {
    let (primary, sectoral, _geo) = trio().await;
    let open = down_message(
        &sectoral,
        GEOGRAPHICAL,
        7,
        a_report("v-1", VulnerabilityState::Open),
    )
    .await;
    let first = primary.registry.receive_exchange(&open).await.unwrap();
    assert!(
        matches!(first, Received::Vulnerability { affected: 1, .. }),
        "{first:?}"
    );
    let version = primary.store.snapshot().devices[&regdevid(1)].version;
    let audits = primary.store.snapshot().audit.len();
    assert_eq!(
        primary.registry.receive_exchange(&open).await.unwrap(),
        Received::Duplicate
    );
    assert_eq!(
        primary.store.snapshot().devices[&regdevid(1)].version,
        version
    );
    assert_eq!(primary.store.snapshot().audit.len(), audits);
    assert_eq!(
        primary
            .audited("exchange-vulnerability", Outcome::Accepted)
            .len(),
        1
    );

    // Reordered: the fix of v-2 arrives before its report, which then reopens nothing.
    let fixed = down_message(
        &sectoral,
        GEOGRAPHICAL,
        9,
        a_report("v-2", VulnerabilityState::Fixed),
    )
    .await;
    primary.registry.receive_exchange(&fixed).await.unwrap();
    let late = down_message(
        &sectoral,
        GEOGRAPHICAL,
        8,
        a_report("v-2", VulnerabilityState::Open),
    )
    .await;
    let stale = primary.registry.receive_exchange(&late).await.unwrap();
    assert!(
        matches!(stale, Received::Vulnerability { affected: 0, .. }),
        "{stale:?}"
    );
    let v2 = format!("{GEOGRAPHICAL}:v-2");
    let stored = primary.store.get_vulnerability(&v2).await.unwrap().unwrap();
    assert_eq!(stored.state, VulnerabilityState::Fixed);
    let device = &primary.store.snapshot().devices[&regdevid(1)];
    assert_eq!(device.facts.open_vulnerabilities.len(), 1, "{device:?}");
    assert_eq!(
        device.facts.open_vulnerabilities[0].id,
        format!("{GEOGRAPHICAL}:v-1")
    );
    assert!(primary.outbox.snapshot().sent.is_empty());
}

// Y.3059 9.1 v
// Y.3059 7 iv d
// A vulnerability signed by another key than the parent's, one from an unlinked registry, one
// sent up by a child, one that claims an origin below the receiver, and a malformed one are
// all refused, audited, and change no device.
#[tokio::test]
async fn forged_unlinked_or_child_sent_vulnerabilities_are_refused_and_audited() {
    let (primary, sectoral, geo) = trio().await;
    let report = serde_json::to_value(a_report("v-1", VulnerabilityState::Open)).unwrap();
    let claims = |sender: &str, origin: &str| {
        let mut claims = json!({
            "sender": sender, "origin": origin, "seq": 1, "iat": T0 / 1000,
            "type": "vulnerability", "report": report,
        });
        claims["report"] = report.clone();
        claims
    };
    let forger = key(0x66);
    let refusals = [
        (
            &primary,
            forged(&forger, &claims(SECTORAL, GEOGRAPHICAL)),
            format!("registry:{SECTORAL}"),
            "bad-signature",
        ),
        (
            &primary,
            forged(&forger, &claims("IN1.ZZZ", "IN1.ZZZ")),
            "registry:IN1.ZZZ".to_owned(),
            "unknown-signer",
        ),
        (
            &sectoral,
            down_message(
                &primary,
                PRIMARY,
                1,
                a_report("v-1", VulnerabilityState::Open),
            )
            .await,
            format!("registry:{PRIMARY}"),
            "forbidden",
        ),
        (
            &primary,
            down_message(
                &sectoral,
                PRIMARY,
                1,
                a_report("v-1", VulnerabilityState::Open),
            )
            .await,
            format!("registry:{SECTORAL}"),
            "forbidden",
        ),
        (
            &primary,
            down_message(&sectoral, GEOGRAPHICAL, 1, {
                let mut bad = a_report("v-1", VulnerabilityState::Open);
                bad.severity = 11.0;
                bad
            })
            .await,
            format!("registry:{SECTORAL}"),
            "malformed-request",
        ),
    ];
    for (to, message, actor, code) in refusals {
        let refused = to.registry.receive_exchange(&message).await.unwrap_err();
        assert_eq!(refused.code(), code, "{refused}");
        let audited = to.audited("receive-exchange", Outcome::Rejected);
        assert!(
            audited
                .iter()
                .any(|a| a.actor == actor && a.code.as_deref() == Some(code)),
            "{actor} {code}: {audited:?}"
        );
    }
    assert_eq!(status_at(&primary, 1), TrustStatus::Trusted);
    assert!(primary.store.snapshot().vulnerabilities.is_empty());
    assert!(sectoral.store.snapshot().vulnerabilities.is_empty());
    assert!(geo.store.snapshot().vulnerabilities.is_empty());
}

// Y.3059 7 iv d
// A make/model range goes to every child; a list of RegDevIDs only to the children whose
// subtree holds one of them.
#[tokio::test]
async fn a_vulnerability_goes_only_to_the_children_it_may_affect() {
    let (primary, sectoral, geo) = trio().await;
    let other = Node::new("IN1.HLT.P08", RegistryKind::Primary, 4);
    wire(&sectoral, &other).await;
    other.healthy_device(1);
    let nodes = [&primary, &sectoral, &geo, &other];
    report_at(&geo).await;
    let results = pump(&nodes).await;
    let reached: Vec<&str> = results.iter().map(|(to, _)| to.as_str()).collect();
    assert_eq!(reached, vec![SECTORAL, PRIMARY]);

    let jws = as_admin(
        &geo,
        Purpose::Vulnerability,
        json!({"severity": 9.0, "summary": "weak boot loader",
               "target": {"make": "acme", "model": "pump"}}),
    )
    .await;
    geo.registry.report_vulnerability(&jws, 25).await.unwrap();
    let results = pump(&nodes).await;
    let mut reached: Vec<&str> = results.iter().map(|(to, _)| to.as_str()).collect();
    reached.sort();
    assert_eq!(reached, vec![SECTORAL, PRIMARY, "IN1.HLT.P08"]);
    let theirs = other.store.snapshot().devices[&format!("IN1.HLT.P08:imei:{}", imei(1))].status;
    assert_eq!(theirs, TrustStatus::Unreliable);
}

// Y.3059 7 iv d
// A delivery that failed is reported, with how to send the vulnerability again: `apply` at
// the origin sends it down once more, and the child, which has it, drops the copy.
#[tokio::test]
async fn a_failed_delivery_down_is_sent_again_by_apply() {
    let (primary, sectoral, geo) = trio().await;
    let nodes = [&primary, &sectoral, &geo];
    geo.outbox.fail_inbox(&sectoral.inbox);
    let jws = as_admin(
        &geo,
        Purpose::Vulnerability,
        json!({"severity": 9.0, "summary": "remote code execution",
               "target": {"regdevids": [regdevid(1)]}}),
    )
    .await;
    let failed = geo
        .registry
        .report_vulnerability(&jws, 25)
        .await
        .unwrap_err();
    assert!(failed.is_internal());
    let id = geo
        .store
        .snapshot()
        .vulnerabilities
        .into_keys()
        .next()
        .unwrap();
    assert!(failed.to_string().contains(&id), "{failed}");
    assert_eq!(status_at(&primary, 1), TrustStatus::Trusted);

    geo.outbox.heal_inbox(&sectoral.inbox);
    let jws = as_admin(&geo, Purpose::Vulnerability, json!({"id": id})).await;
    geo.registry
        .apply_vulnerability_signed(&id, &jws, 25)
        .await
        .unwrap();
    pump(&nodes).await;
    assert_eq!(status_at(&primary, 1), TrustStatus::Unreliable);
}
