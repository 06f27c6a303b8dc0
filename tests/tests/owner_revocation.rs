//! Revoking an owner through API Gateway (custody ended without transfer, issue 18 §2): the
//! owner or an administrator ends the owner's custody; the device keeps its registration and
//! status and has no owner; the former owner no longer acts as one; a new owner comes only by
//! an administrator's transfer; everyone else is refused, with nothing changed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use p256::ecdsa::SigningKey;
use serde_json::{Value, json};
use trustreg_core::ports::DeviceStore;
use trustreg_core::records::DeviceRecord;
use trustreg_tests::devices::{OwnedDevice, owned_device, self_made_owner};
use trustreg_tests::exchange::{audit_since, now_ms};
use trustreg_tests::{
    Answer, Stack, admin_token, approved_enquirer, challenge, localstack, new_signing_key, post,
    post_signed, send, test_admin,
};

const JOSE: &str = "application/jose";

fn path(regdevid: &str) -> String {
    format!("/v1/devices/{regdevid}/owner/revocation")
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

/// The revocation of `regdevid`'s owner, signed by `key` as `kid`.
async fn revoke(api: &str, regdevid: &str, key: &SigningKey, kid: &str, extra: Value) -> Answer {
    let mut claims = json!({"nonce": challenge(api, "transfer").await, "regdevid": regdevid});
    if let (Some(claims), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
        claims.extend(extra.clone());
    }
    post_signed(api, &path(regdevid), key, kid, &claims).await
}

fn refused(answer: &Answer, status: u16, problem: &str) {
    assert_eq!(
        (answer.status, answer.problem()),
        (status, problem),
        "{answer:?}"
    );
}

/// The device as an administrator looks it up: its status and its owner, if any.
async fn looked_up(api: &str, regdevid: &str) -> Value {
    let token = admin_token(api).await;
    let seen = send(
        "GET",
        format!("{api}/v1/devices/{regdevid}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(seen.status, 200, "{seen:?}");
    seen.body
}

// Y.3059 6.3 e
// Y.3059 7 i c
// The owner ends its custody: the device keeps its status and has no owner (an
// administrator's lookup shows none); a retry with the same idempotency key answers the same
// and changes nothing; the former owner's deregistration, transfer and hold are refused as
// another's device; an administrator then gives the device a new owner by a transfer; the
// revocation is audited once.
#[tokio::test]
async fn the_owner_ends_its_custody() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let OwnedDevice {
        regdevid: id,
        owner_id,
        owner_key,
    } = owned_device(&stack).await;
    let kid = format!("owner:{owner_id}");
    let before = looked_up(&api, &id).await;
    assert_eq!(before["owner_id"], owner_id.as_str(), "{before:?}");
    let since = now_ms();

    let key = json!({"idempotency_key": "revoke-owner-1", "note": "sold for scrap"});
    let done = revoke(&api, &id, &owner_key, &kid, key.clone()).await;
    assert_eq!(done.status, 200, "{done:?}");
    assert_eq!(done.body["former_owner_id"], owner_id.as_str());
    assert_eq!(done.body["status"], before["status"]);
    let after = stored(&stack, &id).await;
    assert_eq!(after.owner_id, None);

    let again = revoke(&api, &id, &owner_key, &kid, key).await;
    assert_eq!((again.status, &again.body), (200, &done.body), "{again:?}");
    assert_eq!(
        stored(&stack, &id).await,
        after,
        "the retry changes nothing"
    );

    let seen = looked_up(&api, &id).await;
    assert_eq!(seen["status"], before["status"], "{seen:?}");
    assert!(
        seen.get("owner_id").is_none() && seen.get("owner").is_none(),
        "{seen:?}"
    );

    // Without the key, the former owner is now a stranger to the device.
    refused(
        &revoke(&api, &id, &owner_key, &kid, json!({})).await,
        403,
        "forbidden",
    );
    let deregistration = post_signed(
        &api,
        &format!("/v1/devices/{id}/deregistration"),
        &owner_key,
        &kid,
        &json!({"nonce": challenge(&api, "deregister").await, "regdevid": id,
                "reason": "decommissioned"}),
    )
    .await;
    refused(&deregistration, 403, "forbidden");
    let (new_owner, _) = self_made_owner(&api).await;
    let offer = post_signed(
        &api,
        &format!("/v1/devices/{id}/transfer"),
        &owner_key,
        &kid,
        &json!({"nonce": challenge(&api, "transfer").await, "new_owner_id": new_owner}),
    )
    .await;
    refused(&offer, 403, "forbidden");
    let hold = post_signed(
        &api,
        &format!("/v1/devices/{id}/holds"),
        &owner_key,
        &kid,
        &json!({"nonce": challenge(&api, "hold").await, "regdevid": id, "kind": "stolen"}),
    )
    .await;
    refused(&hold, 403, "forbidden");
    assert_eq!(
        stored(&stack, &id).await,
        after,
        "the former owner changed nothing"
    );

    let (admin, admin_key) = test_admin();
    let moved = post_signed(
        &api,
        &format!("/v1/devices/{id}/transfer"),
        &admin_key,
        &format!("admin:{admin}"),
        &json!({"nonce": challenge(&api, "transfer").await, "new_owner_id": new_owner}),
    )
    .await;
    assert_eq!(moved.status, 200, "{moved:?}");
    assert_eq!(
        looked_up(&api, &id).await["owner_id"],
        new_owner.as_str(),
        "a new owner by an administrator's transfer"
    );

    let audit = audit_since(&stack, since).await;
    let accepted = audit
        .iter()
        .filter(|r| {
            r["target"] == id && r["action"] == "revoke-owner" && r["outcome"] == "accepted"
        })
        .count();
    assert_eq!(accepted, 1, "{audit:?}");
}

// Y.3059 6.3 e
// Another owner, an approved enquirer, an anonymous signer and an unknown administrator are
// refused with a problem, and the device keeps its owner; an administrator then revokes the
// owner, and asking again finds no owner to revoke.
#[tokio::test]
async fn only_the_owner_or_an_administrator_revokes() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let device = owned_device(&stack).await;
    let other = owned_device(&stack).await;
    let id = device.regdevid.clone();
    let before = stored(&stack, &id).await;

    let by_other_owner = revoke(
        &api,
        &id,
        &other.owner_key,
        &format!("owner:{}", other.owner_id),
        json!({}),
    )
    .await;
    refused(&by_other_owner, 403, "forbidden");

    let (enquirer_key, enquirer_kid) = approved_enquirer(&api).await;
    let by_enquirer = revoke(&api, &id, &enquirer_key, &enquirer_kid, json!({})).await;
    refused(&by_enquirer, 403, "forbidden");

    let claims = json!({"nonce": challenge(&api, "transfer").await, "regdevid": id});
    let bound = trustreg_core::binding::bind(claims, "POST", &path(&id));
    let anonymous = trustreg_core::jose::sign_with(
        &new_signing_key(),
        &trustreg_core::jose::JwsHeader::es256(),
        bound.to_string().as_bytes(),
    );
    let anonymous = post(&api, &path(&id), JOSE, anonymous).await;
    assert!([400, 401].contains(&anonymous.status), "{anonymous:?}");
    assert_eq!(anonymous.content_type, "application/problem+json");

    let by_stranger = revoke(&api, &id, &new_signing_key(), "admin:stranger", json!({})).await;
    refused(&by_stranger, 401, "bad-signature");

    assert_eq!(stored(&stack, &id).await, before, "nothing changed");

    let (admin, admin_key) = test_admin();
    let admin_kid = format!("admin:{admin}");
    let by_admin = revoke(&api, &id, &admin_key, &admin_kid, json!({})).await;
    assert_eq!(by_admin.status, 200, "{by_admin:?}");
    assert_eq!(by_admin.body["former_owner_id"], device.owner_id.as_str());
    assert_eq!(stored(&stack, &id).await.owner_id, None);
    let again = revoke(&api, &id, &admin_key, &admin_kid, json!({})).await;
    refused(&again, 404, "owner-not-found");
}
