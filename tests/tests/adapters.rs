//! The DynamoDB and KMS adapters against LocalStack, on the deployed test stack.
// card C6
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use p256::ecdsa::signature::Verifier;
use trustreg_aws::{KmsKeys, SystemClock};
use trustreg_core::RegistryError;
use trustreg_core::fakes::FixedClock;
use trustreg_core::identifier::RegDevId;
use trustreg_core::jose;
use trustreg_core::messages::Purpose;
use trustreg_core::ports::{DeviceStore, RegistryKeys};
use trustreg_core::records::Nonce;
use trustreg_core::status::{Reason, TrustStatus};
use trustreg_tests::{Manufacturer, Stack, imei, localstack, random_imei, registration};

fn keys(stack: &Stack, sdk: &aws_config::SdkConfig) -> KmsKeys {
    KmsKeys::new(
        aws_sdk_kms::Client::new(sdk),
        stack.output("SigningKeyId"),
        stack.output("PiiKeyId"),
        stack.output("RegistryPath"),
    )
}

// card C3
// The registry's KMS signature is ES256 in r || s form, verifiable locally with the cached
// public key, and converts back to the DER KMS itself verifies.
#[tokio::test]
async fn kms_signatures_verify_locally_and_in_kms() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let keys = keys(&stack, &sdk);
    let message = b"header.payload";
    let raw = keys.sign(message).await.unwrap();
    let public = keys.public_key().await.unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&raw).unwrap();
    public.verify(message, &signature).unwrap();
    assert!(public.verify(b"header.payloaX", &signature).is_err());

    let kms = aws_sdk_kms::Client::new(&sdk);
    let verify = |sig: Vec<u8>| {
        kms.verify()
            .key_id(stack.output("SigningKeyId"))
            .message(Blob::new(message.to_vec()))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .signature(Blob::new(sig))
            .send()
    };
    let der = jose::raw_to_der(&raw).unwrap();
    assert!(verify(der).await.unwrap().signature_valid());
    let mut tampered = raw;
    tampered[10] ^= 1;
    let refused = verify(jose::raw_to_der(&tampered).unwrap()).await;
    assert!(
        refused.is_err() || !refused.unwrap().signature_valid(),
        "KMS accepted a tampered signature"
    );
}

// card C3
// A message over KMS's 4,096-byte limit of RAW signing (an exchange snapshot page) is signed
// as its SHA-256 digest: the ES256 signature verifies over the whole message, locally and in
// KMS as a RAW verification of the same bytes would.
#[tokio::test]
async fn kms_signs_messages_larger_than_its_raw_limit() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let keys = keys(&stack, &sdk);
    let message = vec![b'x'; 20 * 1024];
    let raw = keys.sign(&message).await.unwrap();
    let public = keys.public_key().await.unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&raw).unwrap();
    public.verify(&message, &signature).unwrap();
    let digest = <sha2::Sha256 as sha2::Digest>::digest(&message);
    let verified = aws_sdk_kms::Client::new(&sdk)
        .verify()
        .key_id(stack.output("SigningKeyId"))
        .message(Blob::new(digest.to_vec()))
        .message_type(MessageType::Digest)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .signature(Blob::new(jose::raw_to_der(&raw).unwrap()))
        .send()
        .await
        .unwrap();
    assert!(verified.signature_valid());
}

// Y.3059 9.1 iii
// PII sealed for one device opens only with that device's encryption context.
#[tokio::test]
async fn sealed_pii_opens_only_in_its_context() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let keys = keys(&stack, &sdk);
    let clear = br#"{"name":"Ada Lovelace","email":"ada@example.org"}"#;
    let sealed = keys.seal("IN1.HLT.P07:imei:1", clear).await.unwrap();
    assert!(!sealed.windows(5).any(|w| w == b"Ada L"));
    assert_eq!(
        keys.open("IN1.HLT.P07:imei:1", &sealed).await.unwrap(),
        clear
    );
    assert!(keys.open("IN1.HLT.P07:imei:2", &sealed).await.is_err());
}

// Y.3059 9.3 iii
// However many requests race for a nonce, exactly one gets it.
#[tokio::test]
async fn a_nonce_is_taken_exactly_once_under_contention() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let store = Arc::new(stack.store(&sdk));
    let value = format!("n-{}", random_imei());
    store
        .put_nonce(&Nonce {
            tpm: None,
            value: value.clone(),
            purpose: Purpose::Register,
            expires_at_ms: u64::MAX / 2,
        })
        .await
        .unwrap();
    let takers = (0..20).map(|_| {
        let store = store.clone();
        let value = value.clone();
        tokio::spawn(async move { store.take_nonce(&value).await.unwrap() })
    });
    let mut taken = 0;
    for t in takers {
        if t.await.unwrap().is_some() {
            taken += 1;
        }
    }
    assert_eq!(taken, 1);
}

// Y.3059 9.2 i b
// A hundred concurrent registrations of one identifier by one device: one RegDevID, created once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_of_one_identifier_yield_one_regdevid() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let registry = Arc::new(stack.registry(&sdk, Arc::new(SystemClock)));
    let maker = Manufacturer::accepted_by(&registry).await;
    let identifier = imei(&random_imei());
    let se = Arc::new(maker.device(&identifier));
    let mut requests = Vec::new();
    for _ in 0..100 {
        let nonce = registry.challenge(Purpose::Register).await.unwrap().nonce;
        requests.push(registration(&se, &identifier, nonce));
    }
    let tasks = requests.into_iter().map(|jws| {
        let registry = registry.clone();
        tokio::spawn(async move { registry.register(&jws).await })
    });
    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let done = t.await.unwrap().unwrap();
        created += usize::from(done.created);
        ids.insert(done.response.regdevid);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    let regdevid: RegDevId = ids.into_iter().next().unwrap().parse().unwrap();
    let store = stack.store(&sdk);
    assert_eq!(
        store.holder_of(&identifier).await.unwrap(),
        Some(regdevid.clone())
    );
    assert_eq!(store.transitions_of(&regdevid).await.unwrap().len(), 1);
    let audit = store.audit_of(&regdevid.to_string()).await.unwrap();
    assert_eq!(audit.len(), 100, "one audit record per registration");
}

// Y.3059 9.2 i b
// Concurrent registrations of one identifier by different keys: one wins, every other is a
// conflict recorded on the device as a possible clone, which makes it unreliable.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_with_other_keys_are_conflicts_and_clone_facts() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let registry = Arc::new(stack.registry(&sdk, Arc::new(SystemClock)));
    let maker = Manufacturer::accepted_by(&registry).await;
    let identifier = imei(&random_imei());
    let mut requests = Vec::new();
    for _ in 0..10 {
        let se = maker.device(&identifier);
        let nonce = registry.challenge(Purpose::Register).await.unwrap().nonce;
        requests.push(registration(&se, &identifier, nonce));
    }
    let tasks = requests.into_iter().map(|jws| {
        let registry = registry.clone();
        tokio::spawn(async move { registry.register(&jws).await })
    });
    let (mut created, mut conflicts) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(done) => created += usize::from(done.created),
            Err(RegistryError::IdentifierConflict(_)) => conflicts += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created, conflicts), (1, 9));
    let store = stack.store(&sdk);
    let regdevid = store.holder_of(&identifier).await.unwrap().unwrap();
    let device = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(device.facts.clone_reports, 9);
    assert_eq!(device.status, TrustStatus::Unreliable);
    assert!(device.reasons.contains(&Reason::PossibleClone));
}

// Y.3059 9.3 iii
// A nonce expires after five minutes, against the real table.
#[tokio::test]
async fn an_expired_nonce_is_refused_and_nothing_is_stored() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let clock = Arc::new(FixedClock::at(trustreg_core::ports::Clock::now_ms(
        &SystemClock,
    )));
    let registry = stack.registry(&sdk, clock.clone());
    let maker = Manufacturer::accepted_by(&registry).await;
    let identifier = imei(&random_imei());
    let se = maker.device(&identifier);
    let nonce = registry.challenge(Purpose::Register).await.unwrap().nonce;
    clock.advance(5 * 60 * 1000 + 1);
    let refused = registry
        .register(&registration(&se, &identifier, nonce))
        .await;
    assert!(
        matches!(refused, Err(RegistryError::NonceExpired)),
        "{refused:?}"
    );
    let store = stack.store(&sdk);
    assert_eq!(store.holder_of(&identifier).await.unwrap(), None);
}
