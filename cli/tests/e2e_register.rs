//! End to end on LocalStack: the deployed stack, API Gateway, the `register` Lambda, the CLI.
// card C6
// card C1
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use trustreg_core::ports::DeviceStore;
use trustreg_model::identifier::RegDevId;
use trustreg_model::records::Outcome;
use trustreg_model::status::TrustStatus;
use trustreg_tests::{
    Manufacturer, Stack, challenge, imei, localstack, post, random_imei, registration, scratch,
};

const JOSE: &str = "application/jose";

fn trustreg(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_trustreg"))
        .arg("--json")
        .args(args)
        .env(
            "AWS_ENDPOINT_URL",
            std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into()),
        )
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "trustreg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn outputs_file() -> String {
    std::env::var("TRUSTREG_STACK_OUTPUTS").unwrap_or_else(|_| {
        trustreg_tests::repo_root()
            .join(".trustreg/stacks/trustreg-test.json")
            .display()
            .to_string()
    })
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

// Y.3059 7 iv a
// Y.3059 7 iv b
// Y.3059 9.2 i c
// Y.3059 9.2 i e
// Y.3059 9.2 ii a-d
// Y.3059 7 i c
// card C2
// A device registers with the CLI through API Gateway, acknowledges, and becomes trusted; its
// item, its transitions and its audit records are in the table.
#[tokio::test]
async fn a_device_registers_and_acknowledges_through_api_gateway() {
    let stack = Stack::deployed();
    let dir = scratch("e2e-cli");
    let ca_dir = dir.join("ca");
    let dev_dir = dir.join("device");
    trustreg(&[
        "demo",
        "ca",
        "--dir",
        path(&ca_dir),
        "--name",
        "E2E Devices CA",
    ]);
    trustreg(&[
        "admin",
        "accept-root",
        "--stack",
        &outputs_file(),
        "--cert",
        path(&ca_dir.join("ca-cert.pem")),
        "--name",
        "E2E Devices CA",
        // Every test IMEI starts with 35 (`random_imei`).
        "--scope",
        "imei:35",
    ]);
    let id = random_imei();
    trustreg(&[
        "device",
        "init",
        "--dir",
        path(&dev_dir),
        "--ca",
        path(&ca_dir),
        "--scheme",
        "imei",
        "--id",
        &id,
    ]);
    let registered = trustreg(&[
        "device",
        "register",
        "--dir",
        path(&dev_dir),
        "--api",
        &stack.api_url(),
        "--make",
        "Acme",
        "--model",
        "Meter-9",
    ]);
    let expected = format!("{}:imei:{id}", stack.output("RegistryPath"));
    assert_eq!(registered["regdevid"], expected.as_str());
    assert_eq!(registered["status"], "trusted");

    // The device keeps what the registry issued (9.2 ii b).
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dev_dir.join("regdevid.json")).unwrap()).unwrap();
    assert_eq!(stored["regdevid"], expected.as_str());
    assert_eq!(stored["acknowledged"], true);

    let sdk = localstack().await;
    let store = stack.store(&sdk);
    let regdevid: RegDevId = expected.parse().unwrap();
    let device = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(device.status, TrustStatus::Trusted);
    assert_eq!(device.info.model, "Meter-9");
    assert!(device.facts.acknowledged && device.facts.rot_verified);
    let transitions = store.transitions_of(&regdevid).await.unwrap();
    let path: Vec<_> = transitions.iter().map(|t| (t.from, t.to)).collect();
    assert_eq!(
        path,
        vec![
            (None, TrustStatus::Unverified),
            (Some(TrustStatus::Unverified), TrustStatus::Trusted)
        ]
    );
    let audit = store.audit_of(&expected).await.unwrap();
    let actions: Vec<_> = audit
        .iter()
        .map(|a| (a.action.as_str(), a.outcome))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("register", Outcome::Accepted),
            ("acknowledge", Outcome::Accepted)
        ]
    );

    // The credential is the registry's signature over the RegDevID (7 iv b).
    let credential = registered["credential"].as_str().unwrap();
    let payload = credential.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["sub"], expected.as_str());
}

/// A registration posted straight to the API, and what it left in the table.
struct Refusal {
    code: String,
    stored: bool,
    audited: bool,
}

async fn refused(stack: &Stack, identifier_text: &str, body: String) -> Refusal {
    let answer = post(&stack.api_url(), "/v1/registrations", JOSE, body).await;
    assert!(
        (400..500).contains(&answer.status),
        "not a client error: {answer:?}"
    );
    let sdk = localstack().await;
    let store = stack.store(&sdk);
    let target = format!("{}:imei:{identifier_text}", stack.output("RegistryPath"));
    let audited = store
        .audit_of(&target)
        .await
        .unwrap()
        .iter()
        .any(|a| a.outcome == Outcome::Rejected && a.code.as_deref() == Some(answer.problem()));
    Refusal {
        code: answer.problem().to_owned(),
        stored: store
            .holder_of(&imei(identifier_text))
            .await
            .unwrap()
            .is_some(),
        audited,
    }
}

// Y.3059 7 iii
// Y.3059 9.2 i a
// Y.3059 7 ii
// Y.3059 7 i c
// Each refused registration answers its own problem type, stores no device, and is audited.
#[tokio::test]
async fn refused_registrations_store_nothing_and_are_audited() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, std::sync::Arc::new(trustreg_aws::SystemClock));
    let accepted = Manufacturer::accepted_by(&registry).await;

    // A manufacturer CA the registry does not accept.
    let id = random_imei();
    let se = Manufacturer::unaccepted().device(&imei(&id));
    let body = registration(&se, &imei(&id), challenge(&api, "register").await);
    let r = refused(&stack, &id, body).await;
    assert_eq!((r.code.as_str(), r.stored), ("untrusted-root", false));

    // A payload changed after signing.
    let id = random_imei();
    let se = accepted.device(&imei(&id));
    let jws = registration(&se, &imei(&id), challenge(&api, "register").await);
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["device"]["model"] = "Forged".into();
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let r = refused(&stack, &id, parts.join(".")).await;
    assert_eq!(
        (r.code.as_str(), r.stored, r.audited),
        ("bad-signature", false, true)
    );

    // A lapsed device certificate.
    let id = random_imei();
    let se = trustreg_device::SoftSecureElement::create(scratch("expired").join("se")).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let leaf = accepted
        .ca
        .issue_device_cert_for_period(
            &se.public_key(),
            &imei(&id),
            now - time::Duration::days(60),
            now - time::Duration::days(30),
        )
        .unwrap();
    se.store_chain(&[leaf.der]).unwrap();
    let body = registration(&se, &imei(&id), challenge(&api, "register").await);
    let r = refused(&stack, &id, body).await;
    assert_eq!((r.code.as_str(), r.stored), ("certificate-expired", false));

    // An identifier the certificate does not bind.
    let (certified, claimed) = (random_imei(), random_imei());
    let se = accepted.device(&imei(&certified));
    let body = registration(&se, &imei(&claimed), challenge(&api, "register").await);
    let r = refused(&stack, &claimed, body).await;
    assert_eq!(
        (r.code.as_str(), r.stored, r.audited),
        ("identifier-mismatch", false, true)
    );
    assert!(
        !refused(&stack, &certified, "x".into()).await.stored,
        "nothing stored under the certified identifier either"
    );

    // A nonce already spent by another registration.
    let nonce = challenge(&api, "register").await;
    let first = random_imei();
    let body = registration(
        &accepted.device(&imei(&first)),
        &imei(&first),
        nonce.clone(),
    );
    assert_eq!(
        post(&api, "/v1/registrations", JOSE, body).await.status,
        201
    );
    let id = random_imei();
    let body = registration(&accepted.device(&imei(&id)), &imei(&id), nonce);
    let r = refused(&stack, &id, body).await;
    assert_eq!(
        (r.code.as_str(), r.stored, r.audited),
        ("nonce-invalid", false, true)
    );

    // A nonce issued for another purpose.
    let id = random_imei();
    let body = registration(
        &accepted.device(&imei(&id)),
        &imei(&id),
        challenge(&api, "acknowledge").await,
    );
    let r = refused(&stack, &id, body).await;
    assert_eq!((r.code.as_str(), r.stored), ("nonce-invalid", false));

    // Not a JWS at all.
    let answer = post(&api, "/v1/registrations", JOSE, "not.a.jws".into()).await;
    assert_eq!((answer.status, answer.problem()), (400, "malformed-jws"));
}

// Y.3059 9.2 i b
// Another key for a registered identifier is a 409 through the API, recorded as a possible
// clone; the same key again is a 200 with the same RegDevID.
#[tokio::test]
async fn repeats_are_idempotent_and_other_keys_conflict() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let sdk = localstack().await;
    let registry = stack.registry(&sdk, std::sync::Arc::new(trustreg_aws::SystemClock));
    let maker = Manufacturer::accepted_by(&registry).await;
    let id = random_imei();
    let se = maker.device(&imei(&id));
    let first = post(
        &api,
        "/v1/registrations",
        JOSE,
        registration(&se, &imei(&id), challenge(&api, "register").await),
    )
    .await;
    assert_eq!(first.status, 201, "{first:?}");
    let again = post(
        &api,
        "/v1/registrations",
        JOSE,
        registration(&se, &imei(&id), challenge(&api, "register").await),
    )
    .await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body["regdevid"], first.body["regdevid"]);

    let clone = maker.device(&imei(&id));
    let conflict = post(
        &api,
        "/v1/registrations",
        JOSE,
        registration(&clone, &imei(&id), challenge(&api, "register").await),
    )
    .await;
    assert_eq!(
        (conflict.status, conflict.problem()),
        (409, "identifier-conflict")
    );
    let regdevid: RegDevId = first.body["regdevid"].as_str().unwrap().parse().unwrap();
    let device = stack
        .store(&sdk)
        .get_device(&regdevid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(device.facts.clone_reports, 1);
    assert_eq!(device.status, TrustStatus::Unreliable);
}
