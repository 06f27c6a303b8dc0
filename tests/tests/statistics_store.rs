//! The DynamoDB adapter of the dashboard's statistics and of lookups of mirrors by identifier,
//! against LocalStack. The table is shared with other tests and earlier runs: counts are
//! checked in trust domains of this run's own, and transitions by the devices it made.
// card C5
// card C2
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use trustreg_aws::{DynamoStore, SystemClock};
use trustreg_core::identifier::RegDevId;
use trustreg_core::ports::{
    Clock, Created, DeviceStore, HierarchyStore, LookupStore, StatisticsStore, Updated,
};
use trustreg_core::records::{AuditRecord, DeviceRecord, MirrorRecord, Outcome, Transition};
use trustreg_core::service::utc_day;
use trustreg_core::status::{Facts, TrustStatus};
use trustreg_tests::{
    SECTORAL_STACK, Stack, imei, localstack, random_imei, repo_root, sensor_info, stack_from_file,
};

/// The sectoral registry above the test stack: `TRUSTREG_SECTORAL_STACK_OUTPUTS` or the test
/// command's.
fn sectoral() -> Stack {
    let file = std::env::var_os("TRUSTREG_SECTORAL_STACK_OUTPUTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            repo_root()
                .join(".trustreg/stacks")
                .join(format!("{SECTORAL_STACK}.json"))
        });
    stack_from_file(&file)
}

fn hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    trustreg_core::ports::Rng::fill(&trustreg_aws::OsRng, &mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn audit(target: &RegDevId, at_ms: u64) -> AuditRecord {
    AuditRecord {
        id: format!("{at_ms:013}-{}", hex(8)),
        at_ms,
        actor: "admin:tests".into(),
        action: "statistics-tests".into(),
        target: Some(target.to_string()),
        outcome: Outcome::Accepted,
        code: None,
    }
}

fn transition(
    regdevid: &RegDevId,
    at_ms: u64,
    from: Option<TrustStatus>,
    to: TrustStatus,
) -> Transition {
    Transition {
        regdevid: regdevid.clone(),
        at_ms,
        from,
        to,
        reasons: vec![],
        actor: "owner:someone".into(),
        cause: "tests".into(),
    }
}

fn device(stack: &Stack, domains: &[String], at_ms: u64) -> DeviceRecord {
    DeviceRecord {
        regdevid: format!("{}:imei:{}", stack.output("RegistryPath"), random_imei())
            .parse()
            .unwrap(),
        public_key: serde_json::json!({"kty": "EC"}),
        key_thumbprint: hex(16),
        root_id: "no-root".into(),
        leaf_fingerprint: hex(16),
        info: sensor_info(),
        trust_domains: domains.to_vec(),
        owner_id: None,
        facts: Facts::default(),
        status: TrustStatus::Unverified,
        reasons: vec![],
        status_since_ms: at_ms,
        next_evaluation_at_ms: None,
        registered_at_ms: at_ms,
        acknowledged_at_ms: None,
        credential: "credential".into(),
        transfer_offer: None,
        version: 1,
    }
}

/// A device created unverified, then changed to `to` at `changed_at`.
async fn created_then_changed(
    store: &DynamoStore,
    mut device: DeviceRecord,
    to: TrustStatus,
    changed_at: u64,
) -> RegDevId {
    let id = device.regdevid.clone();
    let created = store
        .create_device(
            &device,
            &transition(&id, device.registered_at_ms, None, TrustStatus::Unverified),
            &audit(&id, device.registered_at_ms),
        )
        .await
        .unwrap();
    assert_eq!(created, Created::Created);
    device.status = to;
    device.status_since_ms = changed_at;
    device.version += 1;
    let change = transition(&id, changed_at, Some(TrustStatus::Unverified), to);
    let updated = store
        .update_device(&device, Some(&change), &audit(&id, changed_at), None)
        .await
        .unwrap();
    assert_eq!(updated, Updated::Updated);
    id
}

/// Polls the (eventually consistent) indexes until `check` holds.
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "not within 20 s: {what}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

// card C5
// Y.3059 6.1 f
// Devices are counted per status partition of gsi4 and per domain (a device of two domains in
// each); status changes are in gsi1 by day, newest first, without the registrations.
#[tokio::test]
async fn own_devices_are_tallied_and_their_changes_listed_newest_first() {
    let stack = Stack::deployed();
    let store = stack.store(&localstack().await);
    let (one, two) = (format!("stats-{}", hex(6)), format!("stats-{}", hex(6)));
    let now = SystemClock.now_ms();
    let older = created_then_changed(
        &store,
        device(&stack, std::slice::from_ref(&one), now - 5_000),
        TrustStatus::Trusted,
        now - 2_000,
    )
    .await;
    let newer = created_then_changed(
        &store,
        device(&stack, &[one.clone(), two.clone()], now - 5_000),
        TrustStatus::Unreliable,
        now - 1_000,
    )
    .await;

    eventually("the devices in their status partitions", || async {
        let trusted = store.tally_devices(TrustStatus::Trusted).await.unwrap();
        let unreliable = store.tally_devices(TrustStatus::Unreliable).await.unwrap();
        trusted.by_domain.get(&one) == Some(&1)
            && unreliable.by_domain.get(&one) == Some(&1)
            && unreliable.by_domain.get(&two) == Some(&1)
            && !trusted.by_domain.contains_key(&two)
    })
    .await;
    let unverified = store.tally_devices(TrustStatus::Unverified).await.unwrap();
    assert!(!unverified.by_domain.contains_key(&one));

    let day = utc_day(now - 1_000);
    eventually("the changes in the day's index", || async {
        let changes = store.transitions_on(&day, 1000).await.unwrap();
        let at = |id: &RegDevId| changes.iter().position(|t| &t.regdevid == id);
        matches!((at(&newer), at(&older)), (Some(n), Some(o)) if n < o)
    })
    .await;
    let changes = store.transitions_on(&day, 1000).await.unwrap();
    assert!(changes.windows(2).all(|w| w[0].at_ms >= w[1].at_ms));
    assert!(
        changes.iter().all(|t| t.from.is_some()),
        "registrations listed"
    );
    let ours: Vec<_> = changes
        .iter()
        .filter(|t| t.regdevid == newer || t.regdevid == older)
        .map(|t| (t.from, t.to))
        .collect();
    assert_eq!(
        ours,
        [
            (Some(TrustStatus::Unverified), TrustStatus::Unreliable),
            (Some(TrustStatus::Unverified), TrustStatus::Trusted),
        ]
    );
    assert!(store.transitions_on(&day, 1).await.unwrap().len() <= 1);
}

// card C5
// Y.3059 6.1 c
// Y.3059 6.1 h
// Mirrors applied from an origin below are tallied in their own status partitions, and found
// by their bare identifier through the origins listed in gsi1.
#[tokio::test]
async fn mirrors_are_tallied_and_found_by_identifier() {
    // Mirrors belong above the primaries: the sectoral stack, with a primary below it of
    // this run's own (Z + two hex digits, clear of the hierarchy's RegIDs).
    let stack = sectoral();
    let store = stack.store(&localstack().await);
    let domain = format!("stats-{}", hex(6));
    let origin = format!(
        "{}.Z{}",
        stack.output("RegistryPath"),
        hex(1).to_uppercase()
    );
    let number = random_imei();
    let regdevid: RegDevId = format!("{origin}:imei:{number}").parse().unwrap();
    let now = SystemClock.now_ms();
    let mirror = MirrorRecord {
        root_id: None,
        regdevid: regdevid.clone(),
        origin: origin.clone(),
        status: TrustStatus::Unreliable,
        status_since_ms: now,
        make: "Acme".into(),
        model: "Sensor-1".into(),
        trust_domains: vec![domain.clone()],
        origin_seq: now,
        received_at_ms: now,
        via: origin.clone(),
    };
    store
        .apply_exchange(&origin, now, true, &[mirror], &audit(&regdevid, now))
        .await
        .unwrap();

    eventually("the mirror in its status partition", || async {
        let tally = store.tally_mirrors(TrustStatus::Unreliable).await.unwrap();
        tally.by_domain.get(&domain) == Some(&1)
    })
    .await;
    assert!(
        !store
            .tally_devices(TrustStatus::Unreliable)
            .await
            .unwrap()
            .by_domain
            .contains_key(&domain),
        "a mirror counted as an own device"
    );
    eventually("the mirror found by its identifier", || async {
        let found = store
            .mirrors_with_identifiers(&[imei(&number)])
            .await
            .unwrap();
        found.len() == 1 && found[0].regdevid == regdevid
    })
    .await;
    assert!(
        store
            .mirrors_with_identifiers(&[imei(&random_imei())])
            .await
            .unwrap()
            .is_empty()
    );
}
