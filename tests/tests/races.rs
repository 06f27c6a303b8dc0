//! Races through API Gateway on the deployed test stack: many requests at once on one
//! identifier, one device, one hold or one virtual ID, each with what the contract
//! (docs/API.md) says must come out of it, and the store checked afterwards for lost updates,
//! double winners and missing audit records.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use serde_json::json;
use tokio::sync::Barrier;
use tokio::task::JoinSet;
use trustreg_aws::DynamoStore;
use trustreg_core::identifier::{Identifier, RegDevId};
use trustreg_core::ports::{DeviceStore, OwnerStore};
use trustreg_core::records::{AuditRecord, DeviceRecord, Outcome};
use trustreg_core::status::TrustStatus;
use trustreg_device::RegistryClient;
use trustreg_tests::devices::{TrustedDevice, owned_device, self_made_owner, trusted_device};
use trustreg_tests::{
    Answer, Manufacturer, Stack, challenge, imei, localstack, random_imei, registration, send,
    signed_request,
};

const JOSE: &str = "application/jose";

/// The test administrator's kid and key.
fn admin() -> (String, p256::ecdsa::SigningKey) {
    let (name, key) = trustreg_tests::test_admin();
    (format!("admin:{name}"), key)
}

/// A request to fire in a race: method, path, content type and body.
struct Shot {
    method: &'static str,
    path: String,
    body: Option<(&'static str, String)>,
}

/// Sends every shot at once (all tasks wait on one barrier first) and answers in the shots'
/// order.
async fn fire(api: &str, shots: Vec<Shot>) -> Vec<Answer> {
    // One burst at a time: each race is between its own requests, not with another test's
    // hundred (LocalStack's DynamoDB serializes every call; AWS would not).
    static BURST: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _alone = BURST.lock().await;
    let barrier = Arc::new(Barrier::new(shots.len()));
    let mut set = JoinSet::new();
    for (i, shot) in shots.into_iter().enumerate() {
        let barrier = barrier.clone();
        let url = format!("{api}{}", shot.path);
        set.spawn(async move {
            barrier.wait().await;
            let body = shot.body.as_ref().map(|(t, b)| (*t, b.clone()));
            (i, send(shot.method, url, None, body).await)
        });
    }
    let mut answers: Vec<Option<Answer>> = Vec::new();
    answers.resize_with(set.len(), || None);
    while let Some(done) = set.join_next().await {
        let (i, answer) = done.unwrap();
        answers[i] = Some(answer);
    }
    answers.into_iter().map(Option::unwrap).collect()
}

/// `n` fresh nonces for `purpose`, fetched concurrently.
async fn nonces(api: &str, purpose: &'static str, n: usize) -> Vec<String> {
    let mut set = JoinSet::new();
    for _ in 0..n {
        let api = api.to_owned();
        set.spawn(async move { challenge(&api, purpose).await });
    }
    let mut found = Vec::with_capacity(n);
    while let Some(nonce) = set.join_next().await {
        found.push(nonce.unwrap());
    }
    found
}

/// Fails, naming each (by its request's index), when any answer is a 5xx.
fn assert_no_server_errors(answers: &[Answer]) {
    let failed: Vec<(usize, &Answer)> = answers
        .iter()
        .enumerate()
        .filter(|(_, a)| a.status >= 500)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} answers are server errors (request index, answer): {failed:?}",
        failed.len(),
        answers.len()
    );
}

/// How many answers have `status`.
fn count(answers: &[Answer], status: u16) -> usize {
    answers.iter().filter(|a| a.status == status).count()
}

fn regdevid_of(stack: &Stack, identifier: &Identifier) -> RegDevId {
    format!("{}:{identifier}", stack.output("RegistryPath"))
        .parse()
        .unwrap()
}

async fn device(store: &DynamoStore, regdevid: &RegDevId) -> DeviceRecord {
    store.get_device(regdevid).await.unwrap().unwrap()
}

/// The audit records of `regdevid` with `action`, accepted and rejected.
async fn audit(
    store: &DynamoStore,
    regdevid: &RegDevId,
    action: impl Fn(&str) -> bool,
) -> (Vec<AuditRecord>, Vec<AuditRecord>) {
    store
        .audit_of(&regdevid.to_string())
        .await
        .unwrap()
        .into_iter()
        .filter(|a| action(&a.action))
        .partition(|a| a.outcome == Outcome::Accepted)
}

/// `n` self-made owners, signed up concurrently.
async fn self_made_owners(api: &str, n: usize) -> Vec<(String, p256::ecdsa::SigningKey)> {
    let mut set = JoinSet::new();
    for _ in 0..n {
        let api = api.to_owned();
        set.spawn(async move { self_made_owner(&api).await });
    }
    let mut owners = Vec::with_capacity(n);
    while let Some(owner) = set.join_next().await {
        owners.push(owner.unwrap());
    }
    owners
}

/// The acceptance of `regdevid` by `owner` (key `key`).
fn acceptance(
    regdevid: &RegDevId,
    key: &p256::ecdsa::SigningKey,
    owner: &str,
    nonce: String,
) -> Shot {
    let path = format!("/v1/devices/{regdevid}/transfer/accept");
    let jws = signed_request(
        key,
        &format!("owner:{owner}"),
        "POST",
        &path,
        &json!({"nonce": nonce}),
    );
    Shot {
        method: "POST",
        path,
        body: Some((JOSE, jws)),
    }
}

/// A transfer of `regdevid` to `new_owner`, signed by `key` as `kid`.
fn transfer(
    regdevid: &RegDevId,
    key: &p256::ecdsa::SigningKey,
    kid: &str,
    nonce: String,
    new_owner: &str,
) -> Shot {
    let path = format!("/v1/devices/{regdevid}/transfer");
    let claims = json!({"nonce": nonce, "new_owner_id": new_owner});
    let jws = signed_request(key, kid, "POST", &path, &claims);
    Shot {
        method: "POST",
        path,
        body: Some((JOSE, jws)),
    }
}

// ------------------------------------------------------------------------------------------
// Registration
// ------------------------------------------------------------------------------------------

// Y.3059 9.2 i a
// Attacks uniqueness with a burst of the same registration: 100 registrations of one
// identifier by its own key at once create one device; the others are idempotent repeats
// naming the same RegDevID, and every one is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_hundred_registrations_of_one_identifier_by_one_key_create_one_device() {
    const N: usize = 100;
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let store = stack.store(&sdk);
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let id = imei(&random_imei());
    let se = maker.device(&id);
    let expected = regdevid_of(&stack, &id);
    let shots = nonces(&api, "register", N)
        .await
        .into_iter()
        .map(|nonce| Shot {
            method: "POST",
            path: "/v1/registrations".into(),
            body: Some((JOSE, registration(&se, &id, nonce))),
        })
        .collect();
    let answers = fire(&api, shots).await;
    assert_no_server_errors(&answers);
    assert_eq!(
        (count(&answers, 201), count(&answers, 200)),
        (1, N - 1),
        "one creation, the rest repeats: {answers:#?}"
    );
    for answer in &answers {
        assert_eq!(answer.body["regdevid"], expected.to_string(), "{answer:?}");
    }
    // One device, created once: one creation transition, with the registering key.
    let stored = device(&store, &expected).await;
    assert_eq!(
        stored.key_thumbprint,
        trustreg_core::jose::jwk_thumbprint(&trustreg_core::jose::jwk_from_key(&se.public_key()))
    );
    assert_eq!(stored.facts.clone_reports, 0, "a repeat is no clone");
    let created: Vec<_> = store
        .transitions_of(&expected)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.cause == "register")
        .collect();
    assert_eq!(created.len(), 1, "created once: {created:?}");
    assert_eq!(created[0].from, None);
    // Every registration is audited once: the creation as `register`, the repeats as such.
    let (accepted, rejected) = audit(&store, &expected, |a| a == "register").await;
    assert_eq!((accepted.len(), rejected.len()), (1, 0), "{rejected:?}");
    let (again, rejected) = audit(&store, &expected, |a| a == "register-again").await;
    assert_eq!((again.len(), rejected.len()), (N - 1, 0), "{rejected:?}");
}

// Y.3059 9.2 i a
// Attacks uniqueness with clones racing the genuine device: 10 keys certified for one
// identifier by the same manufacturer register at once. Exactly one gets the identifier, with
// its key; the other 9 are 409 `identifier-conflict`, each recorded as a clone report (no
// lost update) and audited. (Ten writers on one item: what LocalStack's serialized DynamoDB
// settles inside a function's time budget.)
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn ten_keys_racing_for_one_identifier_get_one_device_and_nine_conflicts() {
    const N: usize = 10;
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let store = stack.store(&sdk);
    let registry = stack.registry(&sdk, Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let id = imei(&random_imei());
    let expected = regdevid_of(&stack, &id);
    let devices: Vec<_> = (0..N).map(|_| maker.device(&id)).collect();
    let shots = nonces(&api, "register", N)
        .await
        .into_iter()
        .zip(&devices)
        .map(|(nonce, se)| Shot {
            method: "POST",
            path: "/v1/registrations".into(),
            body: Some((JOSE, registration(se, &id, nonce))),
        })
        .collect();
    let answers = fire(&api, shots).await;
    assert_no_server_errors(&answers);
    let winners: Vec<usize> = (0..N).filter(|i| answers[*i].status == 201).collect();
    assert_eq!(winners.len(), 1, "one winner: {answers:#?}");
    for (i, answer) in answers.iter().enumerate() {
        if i != winners[0] {
            assert_eq!(
                (answer.status, answer.problem()),
                (409, "identifier-conflict"),
                "{answer:?}"
            );
        }
    }
    assert_eq!(answers[winners[0]].body["regdevid"], expected.to_string());
    let stored = device(&store, &expected).await;
    assert_eq!(
        stored.key_thumbprint,
        trustreg_core::jose::jwk_thumbprint(&trustreg_core::jose::jwk_from_key(
            &devices[winners[0]].public_key()
        )),
        "the device holds the winner's key"
    );
    assert_eq!(
        stored.facts.clone_reports,
        (N - 1) as u32,
        "every conflict is counted as a possible clone"
    );
    let created = store
        .transitions_of(&expected)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.from.is_none())
        .count();
    assert_eq!(created, 1, "created once");
    let (accepted, rejected) = audit(&store, &expected, |a| a == "register").await;
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    assert_eq!(rejected.len(), N - 1, "{rejected:?}");
    assert!(
        rejected
            .iter()
            .all(|r| r.code.as_deref() == Some("identifier-conflict")),
        "{rejected:?}"
    );
}

// ------------------------------------------------------------------------------------------
// Transfers
// ------------------------------------------------------------------------------------------

// Y.3059 9.2 i d
// Y.3059 7 i c
// Attacks the custody chain with a double spend: the owner offers its device to X, then X sends
// 50 acceptances and 50 other owners send theirs, all at once. Exactly one acceptance (one of
// X's) goes through, every other is refused (nothing is offered to them, or no longer); the
// device, the owner links, the custody chain and the audit all name X alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_hundred_racing_acceptances_of_one_offered_device_transfer_it_once() {
    const N: usize = 100;
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let store = stack.store(&sdk);
    let owned = owned_device(&stack).await;
    let (regdevid, owner, owner_key): (RegDevId, _, _) = (
        owned.regdevid.parse().unwrap(),
        owned.owner_id,
        owned.owner_key,
    );
    let others = self_made_owners(&api, N / 2).await;
    let (x, x_key) = self_made_owner(&api).await;
    let offered = fire(
        &api,
        vec![transfer(
            &regdevid,
            &owner_key,
            &format!("owner:{owner}"),
            nonces(&api, "transfer", 1).await.remove(0),
            &x,
        )],
    )
    .await;
    assert_eq!(offered[0].status, 202, "{:?}", offered[0]);
    let before = device(&store, &regdevid).await;
    let custody_before = store.custody_of(&regdevid).await.unwrap().len();
    let takers: Vec<(String, p256::ecdsa::SigningKey)> = (0..N / 2)
        .map(|_| (x.clone(), x_key.clone()))
        .chain(others.iter().cloned())
        .collect();
    let shots = nonces(&api, "transfer", N)
        .await
        .into_iter()
        .zip(&takers)
        .map(|(nonce, (id, key))| acceptance(&regdevid, key, id, nonce))
        .collect();
    let answers = fire(&api, shots).await;
    assert_no_server_errors(&answers);
    let winners: Vec<usize> = (0..N).filter(|i| answers[*i].status == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "one acceptance goes through: {answers:#?}"
    );
    assert!(winners[0] < N / 2, "the winner is X");
    assert_eq!(answers[winners[0]].body["owner_id"], x.as_str());
    for (i, answer) in answers.iter().enumerate() {
        if i != winners[0] {
            assert_eq!(
                (answer.status, answer.problem()),
                (403, "forbidden"),
                "{answer:?}"
            );
        }
    }
    let after = device(&store, &regdevid).await;
    assert_eq!(after.owner_id.as_deref(), Some(x.as_str()));
    assert_eq!(after.version, before.version + 1, "written once");
    let custody = store.custody_of(&regdevid).await.unwrap();
    assert_eq!(custody.len(), custody_before + 1, "{custody:?}");
    let last = custody.last().unwrap();
    assert_eq!(
        (last.from.as_deref(), last.to.as_deref()),
        (Some(owner.as_str()), Some(x.as_str()))
    );
    let (accepted, _) = audit(&store, &regdevid, |a| a == "transfer").await;
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    let (_, rejected) = audit(&store, &regdevid, |a| a == "accept-transfer").await;
    assert_eq!(rejected.len(), N - 1, "every refusal is audited");
    // Exactly one owner, X, is linked to the device.
    let mut set = JoinSet::new();
    for id in others.iter().map(|(id, _)| id).chain([&owner, &x]) {
        let store = store.clone();
        let id = id.clone();
        set.spawn(async move { (store.devices_of_owner(&id).await.unwrap(), id) });
    }
    let mut holders = Vec::new();
    while let Some(done) = set.join_next().await {
        let (devices, id) = done.unwrap();
        if devices.contains(&regdevid) {
            holders.push(id);
        }
    }
    assert_eq!(holders, vec![x.clone()]);
}

// ------------------------------------------------------------------------------------------
// Holds
// ------------------------------------------------------------------------------------------

// Y.3059 6.1 e
// Y.3059 7 i c
// Attacks the hold bookkeeping with a tug of war: on a device already held `stolen`, 5
// administrator placements and 5 releases of `stolen` race (ten writers: each is a Lambda
// instance of its own, and LocalStack starts twenty on two cores slower than the function's
// time budget lets twenty writers settle). No 5xx; afterwards the device is
// unreliable exactly when it still has a hold, holds no duplicate, each accepted change was
// written once (no lost update), and every attempt left an audit record.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn racing_placements_and_releases_of_a_hold_leave_the_status_matching_the_holds() {
    const N: usize = 5;
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let store = stack.store(&sdk);
    let regdevid: RegDevId = trusted_device(&stack).await.regdevid.parse().unwrap();
    let (kid, key) = admin();
    let place = format!("/v1/devices/{regdevid}/holds");
    let release = format!("/v1/devices/{regdevid}/holds/stolen/release");
    let hold =
        |nonce: String| json!({"nonce": nonce, "regdevid": regdevid.to_string(), "kind": "stolen"});
    let first = trustreg_tests::post_signed(
        &api,
        &place,
        &key,
        &kid,
        &hold(challenge(&api, "hold").await),
    )
    .await;
    assert_eq!(first.status, 200, "{first:?}");
    let before = device(&store, &regdevid).await;
    assert_eq!(before.status, TrustStatus::Unreliable);
    let (placed_before, _) = audit(&store, &regdevid, |a| a.starts_with("hold")).await;
    let shots = nonces(&api, "hold", 2 * N)
        .await
        .into_iter()
        .enumerate()
        .map(|(i, nonce)| {
            let path = if i % 2 == 0 { &place } else { &release };
            Shot {
                method: "POST",
                path: path.clone(),
                body: Some((JOSE, signed_request(&key, &kid, "POST", path, &hold(nonce)))),
            }
        })
        .collect();
    let answers = fire(&api, shots).await;
    assert_no_server_errors(&answers);
    let (placements, releases): (Vec<_>, Vec<_>) =
        answers.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    for (_, answer) in &placements {
        assert_eq!(
            answer.status, 200,
            "an administrator may always place: {answer:?}"
        );
    }
    for (_, answer) in &releases {
        if answer.status != 200 {
            assert_eq!(
                (answer.status, answer.problem()),
                (404, "hold-not-found"),
                "{answer:?}"
            );
        }
    }
    let released = releases.iter().filter(|(_, a)| a.status == 200).count();

    let after = device(&store, &regdevid).await;
    assert!(
        after.facts.holds.is_empty() || after.facts.holds == ["stolen"],
        "no duplicate hold: {:?}",
        after.facts.holds
    );
    assert_eq!(
        after.facts.admin_holds, after.facts.holds,
        "every hold here was placed by an administrator"
    );
    assert_eq!(
        after.status == TrustStatus::Unreliable,
        !after.facts.holds.is_empty(),
        "status {:?} with holds {:?}",
        after.status,
        after.facts.holds
    );
    let public = send("GET", format!("{api}/v1/devices/{regdevid}"), None, None).await;
    assert_eq!(public.status, 200, "{public:?}");
    let expected = if after.facts.holds.is_empty() {
        "trusted"
    } else {
        "unreliable"
    };
    assert_eq!(public.body["status"], expected, "{public:?}");

    let (placed, placements_refused) = audit(&store, &regdevid, |a| a.starts_with("hold")).await;
    let (releases_accepted, releases_refused) =
        audit(&store, &regdevid, |a| a.starts_with("release-hold")).await;
    assert_eq!(placed.len() - placed_before.len(), N, "{placed:?}");
    assert!(placements_refused.is_empty(), "{placements_refused:?}");
    assert_eq!(releases_accepted.len(), released, "{releases_accepted:?}");
    assert_eq!(
        releases_accepted.len() + releases_refused.len(),
        N,
        "every release attempt is audited: {releases_refused:?}"
    );
    assert!(
        releases_refused
            .iter()
            .all(|r| r.code.as_deref() == Some("hold-not-found")),
        "{releases_refused:?}"
    );
    assert_eq!(
        after.version,
        before.version + (N + released) as u64,
        "each accepted change is one write"
    );
}

// ------------------------------------------------------------------------------------------
// Virtual IDs
// ------------------------------------------------------------------------------------------

// Y.3059 9.2 i f
// Attacks single use with a burst of anonymous lookups: 20 `GET /v1/devices/{virtual id}` of
// one single-use virtual ID at once through API Gateway find the device exactly once; the
// other 19 are 404 `virtual-id-not-found`, and one consumption is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_single_use_virtual_id_looked_up_twenty_times_at_once_answers_once() {
    const N: usize = 20;
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let store = stack.store(&sdk);
    let TrustedDevice { regdevid, se, .. } = trusted_device(&stack).await;
    let regdevid: RegDevId = regdevid.parse().unwrap();
    let client = RegistryClient::new(&api).unwrap();
    let issued = client.virtual_id(&se, 600, true).await.unwrap();
    let path = format!(
        "/v1/devices/{}",
        trustreg_device::client::encode_path_segment(&issued.virtual_id)
    );
    let shots = (0..N)
        .map(|_| Shot {
            method: "GET",
            path: path.clone(),
            body: None,
        })
        .collect();
    let answers = fire(&api, shots).await;
    assert_no_server_errors(&answers);
    let found: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(found.len(), 1, "one lookup finds it: {answers:#?}");
    assert_eq!(found[0].body["status"], "trusted", "{:?}", found[0]);
    for answer in answers.iter().filter(|a| a.status != 200) {
        assert_eq!(
            (answer.status, answer.problem()),
            (404, "virtual-id-not-found"),
            "{answer:?}"
        );
        assert!(
            !answer.body.to_string().contains(&regdevid.to_string()),
            "{answer:?}"
        );
    }
    let (consumed, _) = audit(&store, &regdevid, |a| a == "consume-virtual-id").await;
    assert_eq!(consumed.len(), 1, "{consumed:?}");
}
