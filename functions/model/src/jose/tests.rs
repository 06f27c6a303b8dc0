#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::EncodePublicKey as _;
use proptest::prelude::*;
use rand_core::OsRng;
use serde_json::json;
use sha2::Digest as _;

use super::*;

fn key() -> SigningKey {
    SigningKey::random(&mut OsRng)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn sample(key: &SigningKey) -> String {
    let header = JwsHeader::es256()
        .with_typ("trustreg-registration+jwt")
        .with_kid("IN1.HLT.P07:imei:356938035643809");
    sign_with(key, &header, br#"{"nonce":"abc","n":1}"#)
}

fn replace_segment(compact: &str, index: usize, segment: &str) -> String {
    let mut parts: Vec<&str> = compact.split('.').collect();
    parts[index] = segment;
    parts.join(".")
}

// Y.3059 9.2 i a
#[test]
fn signed_jws_parses_and_verifies() {
    let key = key();
    let jws = parse(&sample(&key)).unwrap();
    jws.verify(key.verifying_key()).unwrap();
    assert_eq!(jws.header().alg, "ES256");
    assert_eq!(
        jws.header().kid.as_deref(),
        Some("IN1.HLT.P07:imei:356938035643809")
    );
    assert_eq!(jws.header().x5c, None);
    let claims: serde_json::Value = jws.claims().unwrap();
    assert_eq!(claims, json!({"nonce": "abc", "n": 1}));
    assert_eq!(jws.payload_bytes(), br#"{"nonce":"abc","n":1}"#);
}

// Y.3059 9.2 i a
#[test]
fn header_without_optional_members_omits_them() {
    let input = signing_input(&JwsHeader::es256(), b"{}");
    let header = input.split('.').next().unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD.decode(header).unwrap(),
        br#"{"alg":"ES256"}"#
    );
}

// Y.3059 9.2 i a
#[test]
fn tampered_parts_are_rejected() {
    let key = key();
    let compact = sample(&key);
    let tampered_payload = replace_segment(&compact, 1, &b64(br#"{"nonce":"abd","n":1}"#));
    let tampered_header = replace_segment(
        &compact,
        0,
        &b64(br#"{"alg":"ES256","kid":"IN1.HLT.P07:imei:490154203237518"}"#),
    );
    let mut signature = parse(&compact).unwrap().signature_raw();
    signature[10] ^= 1;
    let tampered_signature = replace_segment(&compact, 2, &b64(&signature));
    for forged in [tampered_payload, tampered_header, tampered_signature] {
        let jws = parse(&forged).unwrap();
        assert_eq!(
            jws.verify(key.verifying_key()),
            Err(JoseError::BadSignature)
        );
    }
}

// Y.3059 9.2 i a
#[test]
fn another_key_does_not_verify() {
    let jws = parse(&sample(&key())).unwrap();
    assert_eq!(
        jws.verify(key().verifying_key()),
        Err(JoseError::BadSignature)
    );
}

// Y.3059 9.2 i a
#[test]
fn only_es256_is_accepted() {
    let payload = b64(b"{}");
    for alg in ["none", "HS256", "ES384", "RS256", "EdDSA", "es256"] {
        let header = b64(format!(r#"{{"alg":"{alg}"}}"#).as_bytes());
        let compact = format!("{header}.{payload}.{}", b64(&[0u8; 64]));
        assert_eq!(
            parse(&compact).unwrap_err(),
            JoseError::UnsupportedAlgorithm,
            "{alg}"
        );
    }
    // The classic unsigned token: alg none with an empty signature.
    let none = format!("{}.{payload}.", b64(br#"{"alg":"none"}"#));
    assert_eq!(parse(&none).unwrap_err(), JoseError::UnsupportedAlgorithm);
}

// Y.3059 9.2 i a
#[test]
fn structural_errors_are_reported() {
    let key = key();
    let compact = sample(&key);
    let header = b64(br#"{"alg":"ES256"}"#);
    let cases = [
        (String::new(), JoseError::Malformed),
        ("a.b".to_owned(), JoseError::Malformed),
        (format!("{compact}.x"), JoseError::Malformed),
        (replace_segment(&compact, 1, "***"), JoseError::Malformed),
        (replace_segment(&compact, 1, "e30="), JoseError::Malformed),
        (
            replace_segment(&compact, 2, &b64(&[1u8; 63])),
            JoseError::SignatureEncoding,
        ),
        (
            replace_segment(&compact, 2, &b64(&[0u8; 64])),
            JoseError::SignatureEncoding,
        ),
        (
            format!(
                "{}.e30.{}",
                b64(br#"{"alg":"ES256","crit":["b64"],"b64":false}"#),
                b64(&[1; 64])
            ),
            JoseError::CriticalExtension,
        ),
        ("x".repeat(MAX_COMPACT_LEN + 1), JoseError::TooLarge),
    ];
    for (input, expected) in cases {
        assert_eq!(parse(&input).unwrap_err(), expected, "{input:.80}");
    }
    assert!(matches!(
        parse(&format!("{}.e30.{}", b64(b"[1]"), b64(&[1; 64]))),
        Err(JoseError::Header(_))
    ));
    assert!(matches!(
        parse(&format!("{header}.e30.{}", b64(&[1; 64])))
            .unwrap()
            .claims::<Vec<u8>>(),
        Err(JoseError::Claims(_))
    ));
}

// Y.3059 9.2 i a
#[test]
fn x5c_is_standard_base64_der() {
    let chain = [vec![0xfb_u8, 0xff, 0x01], vec![0x30, 0x00]];
    let header = JwsHeader::es256().with_x5c_der(&chain);
    assert_eq!(
        header.x5c.as_deref(),
        Some(&["+/8B".to_owned(), "MAA=".to_owned()][..])
    );
    let jws = parse(&sign_with(&key(), &header, b"{}")).unwrap();
    assert_eq!(jws.x5c_der().unwrap(), chain);
    let bad = JwsHeader {
        x5c: Some(vec!["-_8B".to_owned()]),
        ..JwsHeader::es256()
    };
    let jws = parse(&sign_with(&key(), &bad, b"{}")).unwrap();
    assert_eq!(jws.x5c_der(), Err(JoseError::X5c));
}

// card C3
#[test]
fn der_signature_from_a_signer_verifies_as_jws() {
    // What the registry does with KMS: sign the input, get DER back, convert, assemble.
    let key = key();
    let input = signing_input(&JwsHeader::es256().with_kid("registry"), b"{\"a\":1}");
    let signature: Signature = key.sign(input.as_bytes());
    let der = signature.to_der().as_bytes().to_vec();
    let compact = assemble(&input, &der_to_raw(&der).unwrap());
    parse(&compact)
        .unwrap()
        .verify(key.verifying_key())
        .unwrap();
}

// card C3
#[test]
fn raw_jws_signature_converts_to_verifiable_der() {
    let key = key();
    let jws = parse(&sample(&key)).unwrap();
    let der = raw_to_der(&jws.signature_raw()).unwrap();
    let signature = Signature::from_der(&der).unwrap();
    key.verifying_key()
        .verify(jws.signing_input().as_bytes(), &signature)
        .unwrap();
    assert_eq!(der_to_raw(&der).unwrap(), jws.signature_raw());
}

// card C3
#[test]
fn bad_signature_encodings_are_rejected() {
    assert_eq!(der_to_raw(b""), Err(JoseError::SignatureEncoding));
    assert_eq!(
        der_to_raw(&[0x30, 0x02, 0x02, 0x00]),
        Err(JoseError::SignatureEncoding)
    );
    assert_eq!(raw_to_der(&[0u8; 64]), Err(JoseError::SignatureEncoding));
}

// Y.3059 9.1 vi
#[test]
fn jwk_round_trips_and_is_validated() {
    let key = key();
    let public = *key.verifying_key();
    let jwk = jwk_from_key(&public);
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert_eq!(jwk["x"].as_str().unwrap().len(), 43);
    assert_eq!(key_from_jwk(&jwk).unwrap(), public);

    let mut with_d = jwk.clone();
    with_d["d"] = json!("AAAA");
    let mut off_curve = jwk.clone();
    off_curve["y"] = jwk["x"].clone();
    let mut short = jwk.clone();
    short["x"] = json!(b64(&[1u8; 31]));
    for bad in [
        json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
        json!({"kty": "EC", "crv": "P-384", "x": jwk["x"], "y": jwk["y"]}),
        json!({"kty": "EC", "crv": "P-256", "x": jwk["x"]}),
        json!("not an object"),
        with_d,
        off_curve,
        short,
    ] {
        assert!(
            matches!(key_from_jwk(&bad), Err(JoseError::Key(_))),
            "{bad}"
        );
    }
}

// Y.3059 9.1 vi
#[test]
fn jwk_thumbprint_hashes_the_sorted_required_members() {
    let public = *key().verifying_key();
    let jwk = jwk_from_key(&public);
    let x = jwk["x"].as_str().unwrap();
    let y = jwk["y"].as_str().unwrap();
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let expected = b64(&sha2::Sha256::digest(canonical.as_bytes()));
    assert_eq!(jwk_thumbprint(&jwk), expected);
    // Extra members and member order do not change the thumbprint.
    let respelled = json!({"y": y, "use": "sig", "x": x, "kid": "k1", "kty": "EC", "crv": "P-256"});
    assert_eq!(jwk_thumbprint(&respelled), expected);
    assert_ne!(
        jwk_thumbprint(&jwk_from_key(key().verifying_key())),
        expected
    );
}

// card C3
#[test]
fn spki_der_from_kms_is_accepted() {
    let key = key();
    let der = key.verifying_key().to_public_key_der().unwrap();
    assert_eq!(
        key_from_spki_der(der.as_bytes()).unwrap(),
        *key.verifying_key()
    );
    assert!(matches!(
        key_from_spki_der(b"\x30\x00"),
        Err(JoseError::Key(_))
    ));
}

proptest! {
    // Y.3059 9.2 i a
    #[test]
    fn arbitrary_input_never_panics(raw in "\\PC{0,300}", a in "[A-Za-z0-9_-]{0,120}", b in "[A-Za-z0-9_-]{0,120}") {
        let _ = parse(&raw);
        let _ = parse(&format!("{a}.{b}.{a}"));
        let _ = parse(&format!("{}.{b}.{a}", b64(br#"{"alg":"ES256"}"#)));
        let _ = der_to_raw(raw.as_bytes());
    }

    // Y.3059 9.2 i a
    #[test]
    fn any_payload_round_trips(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
        let key = key();
        let jws = parse(&sign_with(&key, &JwsHeader::es256(), &payload)).unwrap();
        prop_assert_eq!(jws.payload_bytes(), &payload[..]);
        prop_assert!(jws.verify(key.verifying_key()).is_ok());
    }
}
