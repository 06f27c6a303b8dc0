//! The DynamoDB adapter of the enquirer and lookup ports against LocalStack: enquirers by
//! state, device search through the status index, batched lookups, audit reads, the devices of
//! a root of trust. The table is shared with other tests and earlier runs: every test makes
//! its own makes, owners, roots and targets, and never assumes a partition is empty.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use trustreg_aws::{DynamoStore, SystemClock};
use trustreg_core::actors::Role;
use trustreg_core::identifier::RegDevId;
use trustreg_core::ports::{
    AuditQuery, BulkStore, Clock, Created, DeviceQuery, DeviceStore, EnquirerStore, LookupStore,
    NewDevice, OwnerStore, Page, Updated,
};
use trustreg_core::records::{
    AuditRecord, CustodyEntry, DeviceRecord, EnquirerRecord, EnquirerState, Outcome, OwnerKind,
    OwnerRecord, RootOfTrust, Transition, Verification, VerificationState,
};
use trustreg_core::status::{Facts, TrustStatus};
use trustreg_tests::{Stack, localstack, random_imei, sensor_info};

/// More pages than any listing of these tests needs: a cursor that never ends fails the test
/// instead of hanging it.
const MAX_PAGES: usize = 500;

async fn store() -> (Stack, DynamoStore) {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let store = stack.store(&sdk);
    (stack, store)
}

fn hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    trustreg_core::ports::Rng::fill(&trustreg_aws::OsRng, &mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> u64 {
    SystemClock.now_ms()
}

fn audit(action: &str, target: Option<String>, at_ms: u64) -> AuditRecord {
    AuditRecord {
        id: format!("{at_ms:013}-{}", hex(8)),
        at_ms,
        actor: "admin:tests".into(),
        action: action.into(),
        target,
        outcome: Outcome::Accepted,
        code: None,
    }
}

/// What a device is made of, for the fixtures.
struct Spec<'a> {
    make: &'a str,
    model: &'a str,
    status: TrustStatus,
    domains: &'a [&'a str],
    communication: &'a [&'a str],
    protocols: &'a [&'a str],
    root: &'a str,
}

impl Default for Spec<'_> {
    fn default() -> Self {
        Self {
            make: "Acme",
            model: "Sensor-1",
            status: TrustStatus::Unverified,
            domains: &["health"],
            communication: &["lte"],
            protocols: &["mqtt"],
            root: "no-root",
        }
    }
}

fn device(stack: &Stack, spec: &Spec<'_>) -> DeviceRecord {
    let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let mut info = sensor_info();
    info.make = spec.make.into();
    info.model = spec.model.into();
    info.communication = strings(spec.communication);
    info.protocols = strings(spec.protocols);
    let at = now();
    DeviceRecord {
        regdevid: format!("{}:imei:{}", stack.output("RegistryPath"), random_imei())
            .parse()
            .unwrap(),
        public_key: serde_json::json!({"kty": "EC"}),
        key_thumbprint: hex(16),
        root_id: spec.root.into(),
        leaf_fingerprint: hex(16),
        info,
        trust_domains: strings(spec.domains),
        owner_id: None,
        facts: Facts::default(),
        status: spec.status,
        reasons: vec![],
        status_since_ms: at,
        next_evaluation_at_ms: None,
        registered_at_ms: at,
        acknowledged_at_ms: None,
        credential: "credential".into(),
        transfer_offer: None,
        version: 1,
    }
}

fn new_device(device: DeviceRecord) -> NewDevice {
    let transition = Transition {
        regdevid: device.regdevid.clone(),
        at_ms: device.registered_at_ms,
        from: None,
        to: device.status,
        reasons: vec![],
        actor: "tests".into(),
        cause: "register".into(),
    };
    let audit = audit(
        "register",
        Some(device.regdevid.to_string()),
        device.registered_at_ms,
    );
    NewDevice {
        device,
        transition,
        audit,
    }
}

async fn create(store: &DynamoStore, device: &DeviceRecord) {
    let new = new_device(device.clone());
    let created = store
        .create_device(&new.device, &new.transition, &new.audit)
        .await
        .unwrap();
    assert_eq!(created, Created::Created);
}

/// Every page of a paged read from the start; fails on a cursor that never ends.
async fn all_pages<T, F, Fut>(read: F) -> Vec<Page<T>>
where
    F: Fn(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Page<T>>,
{
    let mut pages = Vec::new();
    let mut cursor = None;
    for _ in 0..MAX_PAGES {
        let page = read(cursor.take()).await;
        cursor = page.next.clone();
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
    }
    panic!("more than {MAX_PAGES} pages");
}

/// Every device matching `query`, `limit` at a time; each must come exactly once.
async fn search_all(store: &DynamoStore, query: &DeviceQuery, limit: usize) -> BTreeSet<RegDevId> {
    let pages = all_pages(|cursor| async move {
        store
            .search_devices(query, cursor.as_deref(), limit)
            .await
            .unwrap()
    })
    .await;
    let mut found = BTreeSet::new();
    for page in pages {
        assert!(page.items.len() <= limit, "a page over its limit");
        for device in page.items {
            assert!(
                found.insert(device.regdevid.clone()),
                "{} found twice",
                device.regdevid
            );
        }
    }
    found
}

fn ids<'a>(devices: impl IntoIterator<Item = &'a DeviceRecord>) -> BTreeSet<RegDevId> {
    devices.into_iter().map(|d| d.regdevid.clone()).collect()
}

fn enquirer(created_at_ms: u64) -> EnquirerRecord {
    EnquirerRecord {
        enquirer_id: format!("enq-{}", hex(8)),
        name: "Ada".into(),
        organisation: "Analytical Engines".into(),
        contact_sealed: hex(32),
        role: Role::Enquirer,
        state: EnquirerState::Pending,
        public_key: serde_json::json!({"kty": "EC"}),
        key_thumbprint: hex(16),
        created_at_ms,
        decided_by: None,
        decided_at_ms: None,
        version: 1,
    }
}

// Y.3059 9.3 i a
// An enquirer is created once with its audit record, updated only from the version it was
// read at, and listed by state, oldest first, every one exactly once across pages.
#[tokio::test]
async fn enquirers_are_created_once_versioned_and_listed_by_state() {
    let (_stack, store) = store().await;
    // At the very start of the pending listing, so walking it from the start is short; the
    // test moves them out of it again at the end.
    let mut ours: Vec<EnquirerRecord> = (0..5).map(|i| enquirer(1 + i)).collect();
    for e in &ours {
        let target = format!("enquirer:{}", e.enquirer_id);
        store
            .create_enquirer(e, &audit("enquirer-signup", Some(target), now()))
            .await
            .unwrap();
    }
    let first = ours.remove(0);
    let target = format!("enquirer:{}", first.enquirer_id);
    let mut copy = first.clone();
    copy.name = "Impostor".into();
    let refused = store
        .create_enquirer(
            &copy,
            &audit("enquirer-signup", Some(target.clone()), now()),
        )
        .await;
    assert!(refused.is_err(), "a second enquirer under a taken id");
    assert_eq!(
        store.get_enquirer(&first.enquirer_id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.audit_of(&target).await.unwrap().len(),
        1,
        "the refused creation left no audit record"
    );
    assert_eq!(
        store
            .get_enquirer(&format!("enq-{}", hex(8)))
            .await
            .unwrap(),
        None
    );

    let mut approved = first.clone();
    approved.state = EnquirerState::Approved;
    approved.decided_by = Some("admin:tests".into());
    approved.version = 2;
    let decide = || audit("enquirer-approve", Some(target.clone()), now());
    assert_eq!(
        store.update_enquirer(&approved, &decide()).await.unwrap(),
        Updated::Updated
    );
    let mut stale = first.clone();
    stale.state = EnquirerState::Rejected;
    stale.version = 2;
    assert_eq!(
        store.update_enquirer(&stale, &decide()).await.unwrap(),
        Updated::VersionConflict
    );
    assert_eq!(
        store.get_enquirer(&first.enquirer_id).await.unwrap(),
        Some(approved.clone())
    );
    assert_eq!(store.audit_of(&target).await.unwrap().len(), 2);

    let listed = |state: EnquirerState| {
        let store = &store;
        all_pages(move |cursor| async move {
            store
                .enquirers_in(state, cursor.as_deref(), 2)
                .await
                .unwrap()
        })
    };
    let pending: Vec<EnquirerRecord> = listed(EnquirerState::Pending)
        .await
        .into_iter()
        .flat_map(|p| p.items)
        .collect();
    let ours_listed: Vec<&EnquirerRecord> = pending
        .iter()
        .filter(|e| ours.iter().any(|o| o.enquirer_id == e.enquirer_id))
        .collect();
    assert_eq!(
        ours_listed
            .iter()
            .map(|e| &e.enquirer_id)
            .collect::<Vec<_>>(),
        ours.iter().map(|e| &e.enquirer_id).collect::<Vec<_>>(),
        "each pending enquirer once, oldest first"
    );
    assert!(pending.iter().all(|e| e.state == EnquirerState::Pending));
    assert!(
        pending
            .windows(2)
            .all(|w| w[0].created_at_ms <= w[1].created_at_ms),
        "oldest first"
    );
    assert!(
        !pending.iter().any(|e| e.enquirer_id == first.enquirer_id),
        "an approved enquirer left the pending listing"
    );
    let page = store
        .enquirers_in(EnquirerState::Approved, None, 1_000)
        .await
        .unwrap();
    assert!(
        page.items
            .iter()
            .any(|e| e.enquirer_id == first.enquirer_id)
    );

    for e in &ours {
        let mut done = e.clone();
        done.state = EnquirerState::Rejected;
        done.version = 2;
        let target = Some(format!("enquirer:{}", e.enquirer_id));
        assert_eq!(
            store
                .update_enquirer(&done, &audit("enquirer-reject", target, now()))
                .await
                .unwrap(),
            Updated::Updated
        );
    }
}

/// Devices of one random make (and a second make whose name starts like it) in every status.
struct Catalogue {
    make: String,
    /// Acme-<hex>/Sensor-A trusted, health, lte, mqtt.
    a_trusted: DeviceRecord,
    /// Acme-<hex>/Sensor-A unverified, energy, wifi, coap.
    a_unverified: DeviceRecord,
    /// Acme-<hex>/Sensor-B unreliable, health and energy, LTE (upper case), http.
    b_unreliable: DeviceRecord,
    /// Acme-<hex>/Sensor-B trusted, energy, nb-iot, mqtt.
    b_trusted: DeviceRecord,
    /// Acme-<hex>-other/Sensor-A trusted, health, lte, mqtt: another make.
    other: DeviceRecord,
}

impl Catalogue {
    async fn create(stack: &Stack, store: &DynamoStore) -> Self {
        let make = format!("Acme-{}", hex(6));
        let other_make = format!("{make}-other");
        let spec = |make, model, status, domains, communication, protocols| Spec {
            make,
            model,
            status,
            domains,
            communication,
            protocols,
            ..Spec::default()
        };
        let catalogue = Self {
            a_trusted: device(
                stack,
                &spec(
                    &make,
                    "Sensor-A",
                    TrustStatus::Trusted,
                    &["health"],
                    &["lte"],
                    &["mqtt"],
                ),
            ),
            a_unverified: device(
                stack,
                &spec(
                    &make,
                    "Sensor-A",
                    TrustStatus::Unverified,
                    &["energy"],
                    &["wifi"],
                    &["coap"],
                ),
            ),
            b_unreliable: device(
                stack,
                &spec(
                    &make,
                    "Sensor-B",
                    TrustStatus::Unreliable,
                    &["health", "energy"],
                    &["LTE"],
                    &["http"],
                ),
            ),
            b_trusted: device(
                stack,
                &spec(
                    &make,
                    "Sensor-B",
                    TrustStatus::Trusted,
                    &["energy"],
                    &["nb-iot"],
                    &["mqtt"],
                ),
            ),
            other: device(
                stack,
                &spec(
                    &other_make,
                    "Sensor-A",
                    TrustStatus::Trusted,
                    &["health"],
                    &["lte"],
                    &["mqtt"],
                ),
            ),
            make,
        };
        for d in catalogue.all() {
            create(store, d).await;
        }
        catalogue
    }

    fn all(&self) -> [&DeviceRecord; 5] {
        [
            &self.a_trusted,
            &self.a_unverified,
            &self.b_unreliable,
            &self.b_trusted,
            &self.other,
        ]
    }

    fn query(&self) -> DeviceQuery {
        DeviceQuery {
            make: Some(self.make.clone()),
            ..DeviceQuery::default()
        }
    }
}

// Y.3059 8
// Search by make (any case), make and model, status, domain and capability, alone and
// combined: each through the status index, every matching device exactly once.
#[tokio::test]
async fn devices_are_found_by_make_model_status_domain_and_capability() {
    let (stack, store) = store().await;
    let c = Catalogue::create(&stack, &store).await;
    let q = |f: &dyn Fn(&mut DeviceQuery)| {
        let mut query = c.query();
        f(&mut query);
        query
    };
    let cases: Vec<(&str, DeviceQuery, Vec<&DeviceRecord>)> = vec![
        (
            "make, any case",
            q(&|q| q.make = Some(c.make.to_uppercase())),
            vec![&c.a_trusted, &c.a_unverified, &c.b_unreliable, &c.b_trusted],
        ),
        (
            "make and model",
            q(&|q| q.model = Some("sensor-a".into())),
            vec![&c.a_trusted, &c.a_unverified],
        ),
        (
            "status and make",
            q(&|q| q.status = Some(TrustStatus::Trusted)),
            vec![&c.a_trusted, &c.b_trusted],
        ),
        (
            "status, make and model",
            q(&|q| {
                q.status = Some(TrustStatus::Trusted);
                q.model = Some("Sensor-B".into());
            }),
            vec![&c.b_trusted],
        ),
        (
            "domain",
            q(&|q| q.domain = Some("health".into())),
            vec![&c.a_trusted, &c.b_unreliable],
        ),
        (
            "domain and status",
            q(&|q| {
                q.domain = Some("energy".into());
                q.status = Some(TrustStatus::Unverified);
            }),
            vec![&c.a_unverified],
        ),
        (
            "capability, communication in any case",
            q(&|q| q.capability = Some("lte".into())),
            vec![&c.a_trusted, &c.b_unreliable],
        ),
        (
            "capability, protocol",
            q(&|q| q.capability = Some("MQTT".into())),
            vec![&c.a_trusted, &c.b_trusted],
        ),
        (
            "capability, domain and model",
            q(&|q| {
                q.capability = Some("lte".into());
                q.domain = Some("energy".into());
                q.model = Some("Sensor-B".into());
            }),
            vec![&c.b_unreliable],
        ),
        (
            "nothing matches",
            q(&|q| q.capability = Some("zigbee".into())),
            vec![],
        ),
        (
            "the other make only",
            DeviceQuery {
                make: Some(c.other.info.make.clone()),
                ..DeviceQuery::default()
            },
            vec![&c.other],
        ),
    ];
    for (name, query, expected) in cases {
        for limit in [1, 100] {
            assert_eq!(
                search_all(&store, &query, limit).await,
                ids(expected.iter().copied()),
                "{name}, {limit} a page"
            );
        }
    }

    // Status alone reads a whole shared partition: one page says the status is kept to.
    let page = store
        .search_devices(
            &DeviceQuery {
                status: Some(TrustStatus::Unreliable),
                ..DeviceQuery::default()
            },
            None,
            5,
        )
        .await
        .unwrap();
    assert!(!page.items.is_empty() && page.items.len() <= 5);
    assert!(
        page.items
            .iter()
            .all(|d| d.status == TrustStatus::Unreliable)
    );

    // An update moves the device to its new status partition.
    let mut moved = c.a_unverified.clone();
    moved.status = TrustStatus::Unreliable;
    moved.version = 2;
    let target = Some(moved.regdevid.to_string());
    assert_eq!(
        store
            .update_device(&moved, None, &audit("evaluate", target, now()), None)
            .await
            .unwrap(),
        Updated::Updated
    );
    let unreliable = q(&|q| q.status = Some(TrustStatus::Unreliable));
    assert_eq!(
        search_all(&store, &unreliable, 10).await,
        ids([&c.b_unreliable, &moved])
    );
    let unverified = q(&|q| q.status = Some(TrustStatus::Unverified));
    assert!(search_all(&store, &unverified, 10).await.is_empty());
}

// Y.3059 8
// Paging with a small limit crosses the three status partitions: every device once, in no
// page more than the limit, whatever the limit, also when filters drop some of what a page
// reads.
#[tokio::test]
async fn paging_crosses_status_partitions_and_keeps_every_device_once() {
    let (stack, store) = store().await;
    let c = Catalogue::create(&stack, &store).await;
    let mut extra = Vec::new();
    for _ in 0..2 {
        let d = device(
            &stack,
            &Spec {
                make: &c.make,
                model: "Sensor-C",
                status: TrustStatus::Unreliable,
                ..Spec::default()
            },
        );
        create(&store, &d).await;
        extra.push(d);
    }
    let every = ids(
        [&c.a_trusted, &c.a_unverified, &c.b_unreliable, &c.b_trusted]
            .into_iter()
            .chain(&extra),
    );
    let health = DeviceQuery {
        domain: Some("health".into()),
        ..c.query()
    };
    let in_health = ids([&c.a_trusted, &c.b_unreliable].into_iter().chain(&extra));
    for limit in [1, 2, 3, 4, 5, 7] {
        assert_eq!(
            search_all(&store, &c.query(), limit).await,
            every,
            "{limit}"
        );
        assert_eq!(
            search_all(&store, &health, limit).await,
            in_health,
            "health, {limit}"
        );
    }
    // Trusted first, then unverified, then unreliable.
    let pages = all_pages(|cursor| {
        let store = &store;
        let query = c.query();
        async move {
            store
                .search_devices(&query, cursor.as_deref(), 1)
                .await
                .unwrap()
        }
    })
    .await;
    let statuses: Vec<TrustStatus> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|d| d.status))
        .collect();
    assert_eq!(
        statuses,
        [
            TrustStatus::Trusted,
            TrustStatus::Trusted,
            TrustStatus::Unverified,
            TrustStatus::Unreliable,
            TrustStatus::Unreliable,
            TrustStatus::Unreliable
        ]
    );
}

// Y.3059 8
// A cursor that is not one the search gave is refused as such, never a panic or a read of
// another listing.
#[tokio::test]
async fn a_malformed_cursor_is_refused() {
    let (stack, store) = store().await;
    let c = Catalogue::create(&stack, &store).await;
    let first = store.search_devices(&c.query(), None, 1).await.unwrap();
    let cursor = first.next.expect("more than one page");
    // The same cursor resumes its own search...
    store
        .search_devices(&c.query(), Some(&cursor), 1)
        .await
        .unwrap();
    // ...but not another one, whose partitions it is no position of.
    let other = DeviceQuery {
        make: Some(c.other.info.make.clone()),
        ..DeviceQuery::default()
    };
    let b64 = |json: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    };
    let malformed = [
        ("not base64url", "!!!".to_owned()),
        ("not JSON", b64("not json")),
        ("another shape", b64(r#"{"page": 2}"#)),
        ("past the plan", b64(r#"{"p": 7}"#)),
        (
            "a key of another partition",
            b64(
                r#"{"p": 0, "k": {"pk": "x", "sk": "y", "gsi4pk": "STATUS#trusted", "gsi4sk": "zzz"}}"#,
            ),
        ),
        (
            "a key without the index attributes",
            b64(r#"{"p": 0, "k": {"pk": "x", "sk": "y"}}"#),
        ),
        ("too long", "A".repeat(10_000)),
    ];
    for (name, cursor) in &malformed {
        let err = store
            .search_devices(&c.query(), Some(cursor), 1)
            .await
            .expect_err(name);
        assert!(
            matches!(err, trustreg_core::error::StoreError::InvalidCursor(_)),
            "{name}: {err:?}"
        );
    }
    let err = store
        .search_devices(&other, Some(&cursor), 1)
        .await
        .expect_err("a cursor of another search");
    assert!(
        matches!(err, trustreg_core::error::StoreError::InvalidCursor(_)),
        "{err:?}"
    );
    for (name, cursor) in &malformed {
        let err = store
            .audit_records(&AuditQuery::Target("x".into()), Some(cursor), 1)
            .await
            .expect_err(name);
        assert!(
            matches!(err, trustreg_core::error::StoreError::InvalidCursor(_)),
            "audit, {name}: {err:?}"
        );
    }
    let err = store
        .enquirers_in(EnquirerState::Pending, Some(&cursor), 1)
        .await
        .expect_err("a search cursor for enquirers");
    assert!(
        matches!(err, trustreg_core::error::StoreError::InvalidCursor(_)),
        "{err:?}"
    );
}

// Y.3059 8
// Y.3059 9.2 i d
// Search by owner reads the owner's devices and applies the other criteria to them.
#[tokio::test]
async fn devices_are_found_by_owner_with_other_criteria() {
    let (stack, store) = store().await;
    let make = format!("Owned-{}", hex(6));
    let spec = |model, status| Spec {
        make: &make,
        model,
        status,
        ..Spec::default()
    };
    let owner_id = format!("own-{}", hex(8));
    let owner = OwnerRecord {
        owner_id: owner_id.clone(),
        kind: OwnerKind::Owner,
        attributes_sealed: hex(32),
        public_key: None,
        verification: Verification {
            state: VerificationState::Unverified,
            by: None,
            at_ms: None,
        },
        created_at_ms: now(),
        version: 1,
    };
    let mut owned = Vec::new();
    for (model, status) in [
        ("M1", TrustStatus::Trusted),
        ("M1", TrustStatus::Unreliable),
        ("M2", TrustStatus::Trusted),
    ] {
        let mut d = device(&stack, &spec(model, status));
        d.owner_id = Some(owner_id.clone());
        create(&store, &d).await;
        owned.push(d);
    }
    let audit_owner = audit("owner-create", Some(format!("owner:{owner_id}")), now());
    store
        .create_owner(&owner, Some(&owned[0].regdevid), &audit_owner)
        .await
        .unwrap();
    for d in &owned[1..] {
        let mut moved = d.clone();
        moved.version = 2;
        let custody = CustodyEntry {
            regdevid: d.regdevid.clone(),
            at_ms: now(),
            from: None,
            to: Some(owner_id.clone()),
            actor: "admin:tests".into(),
        };
        let target = Some(d.regdevid.to_string());
        assert_eq!(
            store
                .change_custody(
                    &moved,
                    &custody,
                    None,
                    &audit("custody", target, now()),
                    None
                )
                .await
                .unwrap(),
            Updated::Updated
        );
    }
    // Same make, not this owner's.
    create(&store, &device(&stack, &spec("M1", TrustStatus::Trusted))).await;

    let by_owner = |f: &dyn Fn(&mut DeviceQuery)| {
        let mut query = DeviceQuery {
            owner_id: Some(owner_id.clone()),
            ..DeviceQuery::default()
        };
        f(&mut query);
        query
    };
    let cases = [
        ("owner", by_owner(&|_| {}), vec![0, 1, 2]),
        (
            "owner and status",
            by_owner(&|q| q.status = Some(TrustStatus::Trusted)),
            vec![0, 2],
        ),
        (
            "owner, make and model",
            by_owner(&|q| {
                q.make = Some(make.to_lowercase());
                q.model = Some("m1".into());
            }),
            vec![0, 1],
        ),
        (
            "owner, domain and capability",
            by_owner(&|q| {
                q.domain = Some("health".into());
                q.capability = Some("mqtt".into());
                q.status = Some(TrustStatus::Unreliable);
            }),
            vec![1],
        ),
        (
            "owner and another domain",
            by_owner(&|q| q.domain = Some("energy".into())),
            vec![],
        ),
    ];
    for (name, query, expected) in cases {
        for limit in [1, 2, 10] {
            assert_eq!(
                search_all(&store, &query, limit).await,
                ids(expected.iter().map(|&i| &owned[i])),
                "{name}, {limit} a page"
            );
        }
    }
    let nobody = DeviceQuery {
        owner_id: Some(format!("own-{}", hex(8))),
        ..DeviceQuery::default()
    };
    assert!(search_all(&store, &nobody, 5).await.is_empty());
}

// Y.3059 9.3 ii d
// A bulk lookup of 250 ids, some unknown, one twice, reads the known devices in batches;
// devices registered in bulk are indexed like single ones.
#[tokio::test]
async fn many_devices_are_read_in_batches() {
    let (stack, store) = store().await;
    let make = format!("Bulk-{}", hex(6));
    let spec = Spec {
        make: &make,
        ..Spec::default()
    };
    let known: Vec<DeviceRecord> = (0..209).map(|_| device(&stack, &spec)).collect();
    let created = store
        .create_devices(&known.iter().cloned().map(new_device).collect::<Vec<_>>())
        .await
        .unwrap();
    assert!(created.iter().all(|c| *c == Created::Created));
    let mut asked: Vec<RegDevId> = known.iter().map(|d| d.regdevid.clone()).collect();
    asked.extend((0..40).map(|_| device(&stack, &spec).regdevid));
    asked.push(known[7].regdevid.clone());
    asked.reverse();
    assert_eq!(asked.len(), 250);

    let found = store.get_devices(&asked).await.unwrap();
    assert_eq!(found.len(), known.len(), "each known device once");
    let mut expected = known.clone();
    expected.sort_by_key(|d| d.regdevid.to_string());
    let mut found = found;
    found.sort_by_key(|d| d.regdevid.to_string());
    assert_eq!(found, expected);
    assert!(store.get_devices(&[]).await.unwrap().is_empty());

    let query = DeviceQuery {
        make: Some(make.clone()),
        status: Some(TrustStatus::Unverified),
        ..DeviceQuery::default()
    };
    assert_eq!(search_all(&store, &query, 100).await, ids(&known));

    // When nothing matches, a page stops after its bounded round trips: short, here empty,
    // with the cursor of where it stopped.
    let none = DeviceQuery {
        make: Some(make.clone()),
        capability: Some("zigbee".into()),
        ..DeviceQuery::default()
    };
    let page = store.search_devices(&none, None, 1).await.unwrap();
    assert!(page.items.is_empty());
    assert!(page.next.is_some(), "209 devices take more than one page");
    assert!(search_all(&store, &none, 100).await.is_empty());
}

// Y.3059 7 i c
// Audit records are read by day and by target, in time order, page by page.
#[tokio::test]
async fn audit_records_are_read_by_day_and_by_target_in_time_order() {
    let (_stack, store) = store().await;
    // A random day long past: its partition holds few records besides these.
    let mut seed = [0u8; 2];
    trustreg_core::ports::Rng::fill(&trustreg_aws::OsRng, &mut seed);
    let day_start = (1_000 + u64::from(u16::from_le_bytes(seed)) % 8_000) * 86_400_000;
    let target = format!("test:{}", hex(8));
    let times = [50_000, 10_000, 40_000, 20_000, 30_000, 86_399_999];
    let mut written = Vec::new();
    for offset in times {
        let record = audit("probe", Some(target.clone()), day_start + offset);
        store.record_audit(&record).await.unwrap();
        written.push(record);
    }
    // The same target the day before: read by target, not by this day.
    let before = audit("probe", Some(target.clone()), day_start - 1);
    store.record_audit(&before).await.unwrap();
    written.push(before.clone());
    let mut in_order = written.clone();
    in_order.sort_by_key(|r| r.at_ms);

    let read = |query: AuditQuery| {
        let store = &store;
        async move {
            all_pages(|cursor| {
                let query = query.clone();
                async move {
                    store
                        .audit_records(&query, cursor.as_deref(), 2)
                        .await
                        .unwrap()
                }
            })
            .await
            .into_iter()
            .flat_map(|p| {
                assert!(p.items.len() <= 2);
                p.items
            })
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(read(AuditQuery::Target(target.clone())).await, in_order);

    let day = trustreg_core::service::rfc3339(day_start)[..10].to_owned();
    let of_day = read(AuditQuery::Day(day)).await;
    assert!(
        of_day.windows(2).all(|w| w[0].id < w[1].id),
        "in time order"
    );
    let ours: Vec<AuditRecord> = of_day
        .into_iter()
        .filter(|r| r.target.as_ref() == Some(&target))
        .collect();
    assert_eq!(ours, in_order[1..].to_vec(), "the day's records, once each");
    assert!(
        read(AuditQuery::Target(format!("test:{}", hex(8))))
            .await
            .is_empty()
    );
}

// Y.3059 7 ii
// The devices of a root of trust are listed page by page; removing the root (with its audit
// record) leaves them in place for re-evaluation.
#[tokio::test]
async fn devices_of_a_root_are_listed_and_the_root_is_removed() {
    let (stack, store) = store().await;
    let root_id = hex(32);
    let root = RootOfTrust {
        id: root_id.clone(),
        name: format!("Test CA {root_id}"),
        certificate: "MIIB".into(),
        rot_types: vec!["secure-element".into()],
        identifier_scopes: vec!["imei:35".into()],
        revoked_intermediates: Vec::new(),
    };
    let target = Some(format!("root:{root_id}"));
    store
        .put_root_of_trust(&root, &audit("root-accept", target.clone(), now()))
        .await
        .unwrap();
    let spec = Spec {
        root: &root_id,
        ..Spec::default()
    };
    let mut chained = Vec::new();
    for _ in 0..5 {
        let d = device(&stack, &spec);
        create(&store, &d).await;
        chained.push(d);
    }
    let elsewhere = hex(32);
    create(
        &store,
        &device(
            &stack,
            &Spec {
                root: &elsewhere,
                ..Spec::default()
            },
        ),
    )
    .await;

    let listed = || async {
        let pages = all_pages(|cursor| {
            let store = &store;
            let root_id = root_id.clone();
            async move {
                store
                    .devices_of_root(&root_id, cursor.as_deref(), 2)
                    .await
                    .unwrap()
            }
        })
        .await;
        let all: Vec<RegDevId> = pages.into_iter().flat_map(|p| p.items).collect();
        let unique: BTreeSet<RegDevId> = all.iter().cloned().collect();
        assert_eq!(unique.len(), all.len(), "each device once");
        unique
    };
    assert_eq!(listed().await, ids(&chained));

    assert!(
        store
            .roots_of_trust()
            .await
            .unwrap()
            .iter()
            .any(|r| r.id == root_id)
    );
    let removal = audit("root-remove", target.clone(), now());
    store
        .remove_root_of_trust(&root_id, &removal)
        .await
        .unwrap();
    assert!(
        !store
            .roots_of_trust()
            .await
            .unwrap()
            .iter()
            .any(|r| r.id == root_id)
    );
    let audited = store.audit_of(target.as_deref().unwrap()).await.unwrap();
    assert_eq!(audited.last(), Some(&removal));
    assert_eq!(listed().await, ids(&chained), "its devices stay");
}
