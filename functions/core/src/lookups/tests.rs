//! Lookups, search and bulk lookup on the in-memory fakes.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::*;
use crate::fakes::MemoryKeys;
use crate::identifier::{IdentifierError, luhn_check_digit};
use crate::messages::Purpose;
use crate::ports::Clock as _;
use crate::records::Outcome;
use crate::sessions::tests::{admin, enquirer, keyed, principal};
use crate::statements::{Statement, verify_statement};
use crate::virtual_ids::tests::{Fixture, T0, key};

/// A valid IMEI, different for each `n`.
pub(crate) fn imei(n: u32) -> String {
    let payload = format!("35693803{n:06}");
    format!("{payload}{}", luhn_check_digit(&payload).unwrap())
}

/// A registered device (see `Fixture::device`), changed by `tune`.
pub(crate) async fn device(
    f: &Fixture,
    n: u32,
    owner: Option<&str>,
    tune: impl FnOnce(&mut DeviceRecord),
) -> RegDevId {
    let id = f.device(&imei(n), &key(0x21), owner).await;
    let mut s = f.store.lock();
    if let Some(d) = s.devices.get_mut(&id.to_string()) {
        tune(d);
    }
    id
}

/// An owner with PII, registered by the administrator: its id.
async fn owner(f: &Fixture, name: &str) -> String {
    let jws = f
        .signed(
            &f.admin,
            Some("admin:ops"),
            Purpose::Owner,
            json!({"kind": "owner", "attributes": {"name": name, "email": "pii@example.org"}}),
        )
        .await;
    f.registry.register_owner(&jws).await.unwrap().owner_id
}

async fn virtual_id(f: &Fixture, id: &RegDevId, single_use: bool) -> String {
    let jws = f
        .signed(
            &key(0x21),
            Some(&id.to_string()),
            Purpose::VirtualId,
            json!({"ttl_seconds": 600, "single_use": single_use}),
        )
        .await;
    f.registry
        .issue_virtual_id(&id.to_string(), &jws)
        .await
        .unwrap()
        .virtual_id
}

fn owner_principal(owner_id: &str) -> Principal {
    principal(&format!("owner:{owner_id}"), Role::Owner)
}

fn keys_of(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

async fn said<T: serde::de::DeserializeOwned>(f: &Fixture, statement: &str) -> Statement<T> {
    let public = f.registry.keys.public_key().await.unwrap();
    verify_statement(statement, &public, f.clock.now_ms()).unwrap()
}

fn pii_reads(f: &Fixture) -> Vec<(String, Option<String>)> {
    f.store
        .snapshot()
        .audit
        .iter()
        .filter(|a| a.action == "read-pii")
        .map(|a| (a.actor.clone(), a.target.clone()))
        .collect()
}

// Y.3059 9.3 ii c
// Y.3059 9.2 i f
// The public, looking up by virtual ID, learns the status and nothing that names the device
// or its owner: no RegDevID field at all, no PII, in the answer or in its statement.
#[tokio::test]
async fn a_public_lookup_by_virtual_id_reveals_neither_regdevid_nor_pii() {
    let f = Fixture::new();
    let ada = owner(&f, "Ada Lovelace").await;
    let id = device(&f, 1, Some(&ada), |d| {
        d.info.communication = vec!["lte-m".into()];
    })
    .await;
    let vid = virtual_id(&f, &id, false).await;
    let answer = f.registry.lookup(None, &vid).await.unwrap();
    let json = serde_json::to_value(&answer).unwrap();
    assert_eq!(
        keys_of(&json),
        ["id", "registry", "statement", "status", "status_since"]
    );
    assert_eq!(json["id"], json!(vid));
    assert_eq!(json["status"], json!("trusted"));
    assert_eq!(json["registry"], json!("IN1.HLT.P07"));
    let text = json.to_string();
    for secret in [
        imei(1).as_str(),
        "Ada",
        "pii@example.org",
        ada.as_str(),
        "lte-m",
    ] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    let statement: Statement<Value> = said(&f, &answer.statement).await;
    assert_eq!(
        statement.answer,
        serde_json::to_value(&answer.device).unwrap()
    );
    assert!(pii_reads(&f).is_empty());
}

// Y.3059 9.3 ii c
// Y.3059 8
// Y.3059 6.1 g
// Enquirers see the device's details but not its owner, and the RegDevID only when they
// asked by it: the identity resolves to the device's type and connectivity.
#[tokio::test]
async fn enquirers_see_details_but_no_owner() {
    let f = Fixture::new();
    let ada = owner(&f, "Ada Lovelace").await;
    let id = device(&f, 1, Some(&ada), |d| {
        d.info.communication = vec!["lte-m".into(), "ble".into()];
        d.info.protocols = vec!["coap".into(), "ble".into()];
    })
    .await;
    let vid = virtual_id(&f, &id, false).await;
    let caller = enquirer();
    let by_virtual = f.registry.lookup(Some(&caller), &vid).await.unwrap().device;
    assert_eq!(by_virtual.regdevid, None);
    assert_eq!(by_virtual.make.as_deref(), Some("Acme"));
    assert_eq!(
        by_virtual.capabilities.as_deref(),
        Some(&["lte-m".to_owned(), "ble".to_owned(), "coap".to_owned()][..])
    );
    assert_eq!(by_virtual.trust_domains, Some(vec!["health".to_owned()]));
    assert!(by_virtual.owner.is_none() && by_virtual.owner_id.is_none());
    let text = serde_json::to_string(&by_virtual).unwrap();
    assert!(!text.contains(&imei(1)) && !text.contains(&ada));
    let by_regdevid = f
        .registry
        .lookup(Some(&caller), &id.to_string())
        .await
        .unwrap()
        .device;
    assert_eq!(by_regdevid.regdevid, Some(id.to_string()));
    assert!(by_regdevid.owner.is_none() && by_regdevid.owner_id.is_none());
    assert!(pii_reads(&f).is_empty());
}

// Y.3059 9.3 ii c
// Y.3059 9.1 iii
// An owner sees its own device's owner PII (audited), and only the public view of others.
#[tokio::test]
async fn an_owner_sees_the_pii_of_its_own_devices_only() {
    let f = Fixture::new();
    let ada = owner(&f, "Ada Lovelace").await;
    let bob = owner(&f, "Bob Babbage").await;
    let mine = device(&f, 1, Some(&ada), |_| {}).await;
    let theirs = device(&f, 2, Some(&bob), |_| {}).await;
    let vid = virtual_id(&f, &mine, false).await;
    let caller = owner_principal(&ada);
    let own = f.registry.lookup(Some(&caller), &vid).await.unwrap().device;
    assert_eq!(own.regdevid, Some(mine.to_string()));
    let details = own.owner.unwrap();
    assert_eq!(details.owner_id, ada);
    assert_eq!(details.attributes.name.as_deref(), Some("Ada Lovelace"));
    let other = f
        .registry
        .lookup(Some(&caller), &theirs.to_string())
        .await
        .unwrap();
    let json = serde_json::to_value(&other).unwrap();
    assert_eq!(
        keys_of(&json),
        ["id", "registry", "statement", "status", "status_since"]
    );
    assert!(!json.to_string().contains("Bob"));
    assert_eq!(
        pii_reads(&f),
        [(format!("owner:{ada}"), Some(mine.to_string()))]
    );
}

// Y.3059 9.3 ii c
// Y.3059 7 i c
// Administrators see everything, the RegDevID behind a virtual ID included; each PII read is
// audited.
#[tokio::test]
async fn administrators_see_everything_and_pii_reads_are_audited() {
    let f = Fixture::new();
    let ada = owner(&f, "Ada Lovelace").await;
    let owned = device(&f, 1, Some(&ada), |_| {}).await;
    let unowned = device(&f, 2, None, |_| {}).await;
    let vid = virtual_id(&f, &owned, false).await;
    let seen = f
        .registry
        .lookup(Some(&admin()), &vid)
        .await
        .unwrap()
        .device;
    assert_eq!(seen.regdevid, Some(owned.to_string()));
    assert_eq!(seen.owner_id.as_deref(), Some(ada.as_str()));
    assert_eq!(
        seen.owner.unwrap().attributes.email.as_deref(),
        Some("pii@example.org")
    );
    assert!(seen.device.is_some() && seen.registered_at.is_some());
    let alone = f
        .registry
        .lookup(Some(&admin()), &unowned.to_string())
        .await
        .unwrap()
        .device;
    assert!(alone.owner.is_none() && alone.owner_id.is_none());
    assert_eq!(
        pii_reads(&f),
        [("admin:ops".to_owned(), Some(owned.to_string()))]
    );
}

// Y.3059 9.3 ii c
// Y.3059 9.2 i f
// A virtual ID whose device is gone is not found, without naming the device; a single-use one
// serves one lookup; unknown and malformed ids are told apart.
#[tokio::test]
async fn lookups_of_gone_used_and_unknown_ids() {
    let f = Fixture::new();
    let id = device(&f, 1, None, |_| {}).await;
    let once = virtual_id(&f, &id, true).await;
    assert!(f.registry.lookup(None, &once).await.is_ok());
    assert!(matches!(
        f.registry.lookup(None, &once).await,
        Err(RegistryError::VirtualIdNotFound)
    ));
    let vid = virtual_id(&f, &id, false).await;
    f.store.lock().devices.remove(&id.to_string());
    let gone = f.registry.lookup(Some(&admin()), &vid).await.unwrap_err();
    assert!(matches!(gone, RegistryError::VirtualIdNotFound));
    assert!(!gone.to_string().contains(&imei(1)));
    assert!(matches!(
        f.registry.lookup(None, &id.to_string()).await,
        Err(RegistryError::DeviceNotFound(_))
    ));
    assert!(matches!(
        f.registry.lookup(None, "not an id").await,
        Err(RegistryError::InvalidIdentifier { .. })
    ));
}

// Y.3059 9.3 ii c
// card C3
// Lookups are signed by the session key: 200 of them cost one KMS signature.
#[tokio::test]
async fn two_hundred_lookups_cost_one_kms_signature() {
    let keys = Arc::new(MemoryKeys::new(3));
    let f = keyed("IN1.HLT.P07", keys.clone());
    let id = device(&f, 1, None, |_| {}).await;
    let before = keys.sign_calls.load(Ordering::SeqCst);
    for i in 0..200 {
        let caller = (i % 2 == 0).then(enquirer);
        f.registry
            .lookup(caller.as_ref(), &id.to_string())
            .await
            .unwrap();
    }
    assert_eq!(keys.sign_calls.load(Ordering::SeqCst), before + 1);
}

async fn search(
    f: &Fixture,
    caller: Option<&Principal>,
    params: Value,
) -> Result<SearchAnswer, RegistryError> {
    let params: SearchParams = serde_json::from_value(params).unwrap();
    f.registry.search(caller, params).await
}

fn found(answer: &SearchAnswer) -> Vec<String> {
    answer
        .devices
        .iter()
        .map(|d| d.regdevid.clone().unwrap())
        .collect()
}

// Y.3059 8
// Enquirers search by make and model (any case), status, domain and capability; every given
// criterion must match.
#[tokio::test]
async fn search_matches_every_given_criterion() {
    let f = Fixture::new();
    let a = device(&f, 1, None, |d| d.info.protocols = vec!["MQTT".into()]).await;
    let b = device(&f, 2, None, |d| {
        d.info.model = "Monitor".into();
        d.info.communication = vec!["ble".into()];
    })
    .await;
    let c = device(&f, 3, None, |d| {
        d.status = TrustStatus::Unreliable;
        d.trust_domains = vec!["energy".into()];
    })
    .await;
    let _other_make = device(&f, 4, None, |d| d.info.make = "Globex".into()).await;
    let caller = enquirer();
    let all = |v| async { found(&search(&f, Some(&caller), v).await.unwrap()) };
    let ids = |list: &[&RegDevId]| list.iter().map(|r| r.to_string()).collect::<Vec<_>>();
    assert_eq!(all(json!({"make": "ACME"})).await, ids(&[&a, &b, &c]));
    assert_eq!(
        all(json!({"make": "acme", "model": "pump"})).await,
        ids(&[&a, &c])
    );
    assert_eq!(all(json!({"status": "unreliable"})).await, ids(&[&c]));
    assert_eq!(all(json!({"domain": "health"})).await.len(), 3);
    assert_eq!(all(json!({"capability": "mqtt"})).await, ids(&[&a]));
    assert_eq!(
        all(json!({"capability": "ble", "make": "Acme"})).await,
        ids(&[&b])
    );
    assert!(
        all(json!({"capability": "ble", "status": "unreliable"}))
            .await
            .is_empty()
    );
    let page = search(&f, Some(&caller), json!({"make": "Acme"}))
        .await
        .unwrap();
    assert!(
        page.devices
            .iter()
            .all(|d| d.owner.is_none() && d.device.is_some())
    );
}

// Y.3059 8
// Search pages by cursor, and its statement says the query as run, the page and the cursor.
#[tokio::test]
async fn search_pages_and_states_what_it_found() {
    let f = Fixture::new();
    for n in 0..5 {
        device(&f, n, None, |_| {}).await;
    }
    let caller = enquirer();
    let first = search(&f, Some(&caller), json!({"make": "acme", "limit": 2}))
        .await
        .unwrap();
    assert_eq!(first.devices.len(), 2);
    let mut seen = found(&first);
    let mut cursor = first.next.clone();
    while let Some(c) = cursor {
        let page = search(
            &f,
            Some(&caller),
            json!({"make": "acme", "limit": 2, "cursor": c}),
        )
        .await
        .unwrap();
        seen.extend(found(&page));
        cursor = page.next;
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen);
    let statement: Statement<Value> = said(&f, &first.statement).await;
    assert_eq!(statement.answer["query"]["make"], json!("acme"));
    assert_eq!(statement.answer["query"]["limit"], json!(2));
    assert_eq!(statement.answer["next"], json!(first.next));
    assert_eq!(
        statement.answer["devices"],
        serde_json::to_value(&first.devices).unwrap()
    );
}

// Y.3059 8
// Y.3059 9.1 iv
// Y.3059 7 i c
// Search needs a token; only admins search by owner; an owner searches its own devices only;
// bad criteria are refused. Refusals are audited.
#[tokio::test]
async fn search_by_owner_and_refusals() {
    let f = Fixture::new();
    let ada = owner(&f, "Ada Lovelace").await;
    let bob = owner(&f, "Bob Babbage").await;
    let mine = device(&f, 1, Some(&ada), |_| {}).await;
    let _theirs = device(&f, 2, Some(&bob), |_| {}).await;
    let as_owner = owner_principal(&ada);
    let own = search(&f, Some(&as_owner), json!({})).await.unwrap();
    assert_eq!(found(&own), [mine.to_string()]);
    let by_admin = search(&f, Some(&admin()), json!({"owner": ada}))
        .await
        .unwrap();
    assert_eq!(found(&by_admin), [mine.to_string()]);
    let refusals = [
        (None, json!({}), "unauthenticated"),
        (Some(enquirer()), json!({"owner": ada}), "forbidden"),
        (Some(as_owner.clone()), json!({"owner": bob}), "forbidden"),
        (
            Some(principal("device:x", Role::Device)),
            json!({}),
            "forbidden",
        ),
        (
            Some(enquirer()),
            json!({"model": "Pump"}),
            "malformed-request",
        ),
        (
            Some(enquirer()),
            json!({"status": "fine"}),
            "malformed-request",
        ),
        (Some(enquirer()), json!({"limit": 0}), "malformed-request"),
        (Some(enquirer()), json!({"limit": 101}), "malformed-request"),
        (
            Some(enquirer()),
            json!({"make": "x".repeat(129)}),
            "malformed-request",
        ),
    ];
    let count = refusals.len();
    for (caller, params, code) in refusals {
        let refused = search(&f, caller.as_ref(), params.clone())
            .await
            .unwrap_err();
        assert_eq!(refused.code(), code, "{params}");
    }
    assert!(
        search(&f, Some(&enquirer()), json!({"limit": 100}))
            .await
            .is_ok()
    );
    assert_eq!(f.audited("search", Outcome::Rejected), count);
}

// Y.3059 9.3 ii a
// Y.3059 9.3 ii b
// History and vulnerabilities are for enquirers, agencies, admins and the device's owner,
// by RegDevID only.
#[tokio::test]
async fn history_and_vulnerabilities_for_allowed_readers() {
    let f = Fixture::new();
    let ada = owner(&f, "Ada Lovelace").await;
    let id = device(&f, 1, Some(&ada), |_| {}).await;
    let regdevid = id.to_string();
    for caller in [enquirer(), admin(), owner_principal(&ada)] {
        let history = f
            .registry
            .history_for(Some(&caller), &regdevid)
            .await
            .unwrap();
        assert_eq!(history.regdevid, regdevid);
        assert_eq!(history.history.initial.make, "Acme");
        let stated: Statement<Value> = said(&f, &history.statement).await;
        assert_eq!(stated.answer["regdevid"], json!(regdevid));
        let vulnerabilities = f
            .registry
            .vulnerabilities_for(Some(&caller), &regdevid)
            .await
            .unwrap();
        assert!(vulnerabilities.vulnerabilities.is_empty());
    }
    let vid = virtual_id(&f, &id, false).await;
    let refusals = [
        (None, regdevid.clone(), "unauthenticated"),
        (
            Some(owner_principal("someone")),
            regdevid.clone(),
            "forbidden",
        ),
        (Some(enquirer()), vid, "invalid-identifier"),
        (
            Some(enquirer()),
            format!("IN1.HLT.P07:imei:{}", imei(9)),
            "device-not-found",
        ),
    ];
    for (caller, asked, code) in refusals {
        let history = f.registry.history_for(caller.as_ref(), &asked).await;
        assert_eq!(history.unwrap_err().code(), code);
        let vulnerabilities = f
            .registry
            .vulnerabilities_for(caller.as_ref(), &asked)
            .await;
        assert_eq!(vulnerabilities.unwrap_err().code(), code);
    }
    assert_eq!(f.audited("read-history", Outcome::Rejected), 2);
    assert_eq!(f.audited("read-vulnerabilities", Outcome::Rejected), 2);
}

fn failed(result: &BulkLookupResult) -> Option<&str> {
    match result {
        BulkLookupResult::Failed { error, .. } => Some(error),
        BulkLookupResult::Found(_) => None,
    }
}

// Y.3059 9.3 ii d
// card C3
// An administrator's bulk lookup of 1000 ids answers one result per id, in order, with one
// batched read, one audit record and at most one KMS signature; owner PII stays out.
#[tokio::test]
async fn an_admin_bulk_lookup_of_1000_ids_costs_one_read() {
    let keys = Arc::new(MemoryKeys::new(3));
    let f = keyed("IN1.HLT.P07", keys.clone());
    let ada = owner(&f, "Ada Lovelace").await;
    let known = device(&f, 1, Some(&ada), |_| {}).await;
    let other = device(&f, 2, None, |_| {}).await;
    let vid = virtual_id(&f, &other, true).await;
    let mut ids = vec![
        known.to_string(),
        vid.clone(),
        "not an id".to_owned(),
        format!("IN1.HLT.P07:v:{}", "A".repeat(26)),
        known.to_string(),
    ];
    for n in 0..995u32 {
        ids.push(format!("IN1.HLT.P07:mac:0a1b2c{n:06x}"));
    }
    let before = keys.sign_calls.load(Ordering::SeqCst);
    let answer = f
        .registry
        .bulk_lookup(Some(&admin()), BulkLookupRequest { ids: ids.clone() })
        .await
        .unwrap();
    assert_eq!(f.store.get_devices_calls.load(Ordering::SeqCst), 1);
    assert!(keys.sign_calls.load(Ordering::SeqCst) <= before + 1);
    assert_eq!(answer.results.len(), 1000);
    let BulkLookupResult::Found(first) = &answer.results[0] else {
        panic!("{:?}", answer.results[0]);
    };
    assert_eq!(first.regdevid, Some(known.to_string()));
    assert_eq!(first.owner_id.as_deref(), Some(ada.as_str()));
    assert!(first.owner.is_none());
    let BulkLookupResult::Found(second) = &answer.results[1] else {
        panic!("{:?}", answer.results[1]);
    };
    assert_eq!(
        (second.id.as_str(), second.regdevid.clone()),
        (vid.as_str(), Some(other.to_string()))
    );
    assert_eq!(failed(&answer.results[2]), Some("invalid-identifier"));
    assert_eq!(failed(&answer.results[3]), Some("virtual-id-not-found"));
    assert!(failed(&answer.results[4]).is_none());
    assert!(
        answer.results[5..]
            .iter()
            .all(|r| failed(r) == Some("device-not-found"))
    );
    assert!(!serde_json::to_string(&answer).unwrap().contains("Ada"));
    assert!(pii_reads(&f).is_empty());
    let audit = f.store.snapshot().audit;
    let bulk: Vec<_> = audit.iter().filter(|a| a.action == "bulk-lookup").collect();
    assert_eq!(bulk.len(), 1);
    assert_eq!(bulk[0].target.as_deref(), Some("ids:1000"));
    assert_eq!(bulk[0].actor, "admin:ops");
    let stated: Statement<Vec<BulkLookupResult>> = said(&f, &answer.statement).await;
    assert_eq!(stated.answer, answer.results);
}

// Y.3059 9.3 ii d
// Y.3059 7 i c
// Bulk lookup is for administrators only, with 1 to 1000 ids; refusals are audited.
#[tokio::test]
async fn bulk_lookups_are_bounded_and_for_admins_only() {
    let f = Fixture::new();
    let ids = |n: usize| BulkLookupRequest {
        ids: (0..n)
            .map(|i| format!("IN1.HLT.P07:mac:0a1b2c{i:06x}"))
            .collect(),
    };
    let too_many = f.registry.bulk_lookup(Some(&admin()), ids(1001)).await;
    assert!(matches!(
        too_many,
        Err(RegistryError::TooManyItems { max: 1000 })
    ));
    let none = f.registry.bulk_lookup(Some(&admin()), ids(0)).await;
    assert!(matches!(none, Err(RegistryError::Malformed(_))));
    for caller in [
        Some(enquirer()),
        Some(principal("owner:o", Role::Owner)),
        None,
    ] {
        let refused = f.registry.bulk_lookup(caller.as_ref(), ids(1)).await;
        assert!(refused.is_err());
    }
    assert_eq!(f.store.get_devices_calls.load(Ordering::SeqCst), 0);
    assert_eq!(f.audited("bulk-lookup", Outcome::Rejected), 5);
    assert!(
        f.registry
            .bulk_lookup(Some(&admin()), ids(1000))
            .await
            .is_ok()
    );
}

fn mirror_of(regdevid: &str, status: TrustStatus, since: u64) -> MirrorRecord {
    let regdevid: RegDevId = regdevid.parse().unwrap();
    MirrorRecord {
        root_id: None,
        origin: regdevid.path.to_string(),
        regdevid,
        status,
        status_since_ms: since,
        make: "Acme".into(),
        model: "Pump".into(),
        trust_domains: vec!["health".into()],
        origin_seq: 1,
        received_at_ms: since,
        via: "IN1.HLT.P07".into(),
    }
}

/// A sectoral registry IN1.HLT that applied messages from the primaries P07 and P08, holding
/// `mirrors`.
fn sectoral_with(mirrors: Vec<MirrorRecord>) -> Fixture {
    let f = Fixture::with_config(|c| {
        c.path = "IN1.HLT".parse().unwrap();
        c.kind = crate::config::RegistryKind::Sectoral;
    });
    {
        let mut s = f.store.lock();
        for origin in ["IN1.HLT.P07", "IN1.HLT.P08"] {
            s.last_sequences.insert(origin.into(), 1);
        }
        for m in mirrors {
            s.mirrors.insert(m.regdevid.to_string(), m);
        }
    }
    f
}

// Y.3059 6.1 h
// Y.3059 9.3 ii c
// card C5
// The portal's device check takes the device's own identifier, however written: it names
// this registry's device with it, and the answer is the one a lookup by RegDevID gives.
#[tokio::test]
async fn a_lookup_by_inherent_identifier_finds_the_registrys_own_device() {
    let f = Fixture::new();
    let id = device(&f, 1, None, |_| {}).await;
    let imei = id.identifier.value().to_owned();
    let by_regdevid = f
        .registry
        .lookup(Some(&enquirer()), &id.to_string())
        .await
        .unwrap();
    let dashed = format!("IMEI:{}-{}-{}", &imei[..8], &imei[8..14], &imei[14..]);
    for asked in [imei.clone(), format!("imei:{imei}"), dashed] {
        let answer = f.registry.lookup(Some(&enquirer()), &asked).await.unwrap();
        assert_eq!(answer.device.id, asked);
        assert_eq!(answer.device.regdevid.as_deref(), Some(&*id.to_string()));
        assert_eq!(
            DeviceAnswer {
                id: by_regdevid.device.id.clone(),
                ..answer.device.clone()
            },
            by_regdevid.device
        );
        let said: Statement<DeviceAnswer> = said(&f, &answer.statement).await;
        assert_eq!(said.answer, answer.device);
        // The public sees the status, as by RegDevID.
        let public = f.registry.lookup(None, &asked).await.unwrap();
        assert_eq!(public.device.status, TrustStatus::Trusted);
        assert_eq!(public.device.make, None);
    }
}

// Y.3059 6.1 h
// Y.3059 9.3 ii c
// What is not an identifier is a 400 naming the fault; a valid one nobody registered is a
// 404; a RegDevID with a fault reports that fault, not one of bare identifiers.
#[tokio::test]
async fn a_lookup_by_a_malformed_or_unknown_identifier_fails_clearly() {
    let f = Fixture::new();
    device(&f, 1, None, |_| {}).await;
    for (asked, fault) in [
        ("hello", IdentifierError::UnknownScheme),
        ("35693803000001", IdentifierError::ImeiFormat),
        ("356938030000018", IdentifierError::ImeiCheckDigit),
        ("mac:00:1a", IdentifierError::Mac),
        (
            "IN1.HLT.P07:imei:356938035643808",
            IdentifierError::ImeiCheckDigit,
        ),
        (
            "IN1.HLT.P07:imei:35693803-564380-9",
            IdentifierError::NotCanonical,
        ),
    ] {
        match f.registry.lookup(None, asked).await {
            Err(RegistryError::InvalidIdentifier { source, .. }) => {
                assert_eq!(source, fault, "{asked}");
            }
            other => panic!("{asked}: {other:?}"),
        }
    }
    assert!(matches!(
        f.registry.lookup(None, &imei(2)).await,
        Err(RegistryError::DeviceNotFound(_))
    ));
}

// Y.3059 6.1 c
// Y.3059 6.1 h
// card C5
// Above the primaries, a bare identifier finds the device mirrored from the registry below
// that holds it, with where it is registered.
#[tokio::test]
async fn a_sectoral_registry_finds_a_mirrored_device_by_its_identifier() {
    let f = sectoral_with(vec![mirror_of(
        &format!("IN1.HLT.P08:imei:{}", imei(7)),
        TrustStatus::Unverified,
        T0,
    )]);
    let answer = f
        .registry
        .lookup(Some(&enquirer()), &imei(7))
        .await
        .unwrap();
    assert_eq!(answer.device.status, TrustStatus::Unverified);
    assert_eq!(answer.device.registry, "IN1.HLT");
    assert_eq!(answer.device.origin.as_deref(), Some("IN1.HLT.P08"));
    assert_eq!(
        answer.device.regdevid,
        Some(format!("IN1.HLT.P08:imei:{}", imei(7)))
    );
    assert!(matches!(
        f.registry.lookup(None, &imei(8)).await,
        Err(RegistryError::DeviceNotFound(_))
    ));
}

// Y.3059 6.1 c
// Identifiers are unique per primary only: when two registries below hold one, the answer is
// the worse status, so a clone cannot vouch for the device with a better one.
#[tokio::test]
async fn an_identifier_held_by_two_registries_below_answers_the_worse_status() {
    let f = sectoral_with(vec![
        mirror_of(
            &format!("IN1.HLT.P07:imei:{}", imei(7)),
            TrustStatus::Trusted,
            T0 + 5,
        ),
        mirror_of(
            &format!("IN1.HLT.P08:imei:{}", imei(7)),
            TrustStatus::Unreliable,
            T0,
        ),
    ]);
    let answer = f.registry.lookup(None, &imei(7)).await.unwrap();
    assert_eq!(answer.device.status, TrustStatus::Unreliable);
}
