#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::SigningKey;
use rand_core::OsRng;

use super::*;
use crate::jose::{self, JoseError, JwsHeader};
use crate::status::TrustStatus;

const URI: &str = "https://registry.example/v1/status-lists/1";
const NOW: u64 = 1_780_000_000;

fn statuses(list: &StatusList, n: u64) -> Vec<u8> {
    (0..n).map(|i| list.get(i).unwrap()).collect()
}

// The draft's 1-bit example (section "Status List", "Status List in JSON Format"): 16 statuses,
// bytes 0xB9 0xA3.
#[test]
fn drafts_one_bit_example_decodes_to_its_statuses() {
    let list = StatusList::decode(1, "eNrbuRgAAhcBXQ").unwrap();
    assert_eq!(list.as_bytes(), [0xB9, 0xA3]);
    assert_eq!(
        statuses(&list, 16),
        [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
    );
}

// The draft's 2-bit example: 12 statuses, bytes 0xC9 0x44 0xF9.
#[test]
fn drafts_two_bit_example_decodes_to_its_statuses() {
    let list = StatusList::decode(2, "eNo76fITAAPfAgc").unwrap();
    assert_eq!(list.as_bytes(), [0xC9, 0x44, 0xF9]);
    assert_eq!(statuses(&list, 12), [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]);
}

#[test]
fn the_examples_statuses_encode_to_the_drafts_lst_and_back() {
    let mut one = StatusList::new(Bits::One, 16);
    for (i, v) in [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
        .into_iter()
        .enumerate()
    {
        one.set(i as u64, v).unwrap();
    }
    assert_eq!(one.as_bytes(), [0xB9, 0xA3]);
    let mut two = StatusList::new(Bits::Two, 12);
    for (i, v) in [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3].into_iter().enumerate() {
        two.set(i as u64, v).unwrap();
    }
    assert_eq!(two.as_bytes(), [0xC9, 0x44, 0xF9]);
    assert_eq!(
        (one.lst(), two.lst()),
        ("eNrbuRgAAhcBXQ".into(), "eNo76fITAAPfAgc".into())
    );
    // ZLIB with the highest level (header 0x78 0xDA), as the draft recommends.
    let compressed = URL_SAFE_NO_PAD.decode(two.lst()).unwrap();
    assert_eq!(compressed[..2], [0x78, 0xDA]);
    for list in [one, two] {
        assert_eq!(
            StatusList::decode(u64::from(list.bits().get()), &list.lst()).unwrap(),
            list
        );
    }
}

#[test]
fn every_value_of_every_width_round_trips_at_every_position() {
    for bits in [Bits::One, Bits::Two, Bits::Four, Bits::Eight] {
        let max = ((1u16 << bits.get()) - 1) as u8;
        let mut list = StatusList::new(bits, 37);
        for i in 0..list.len() {
            list.set(i, (i as u8).wrapping_mul(7) & max).unwrap();
        }
        let back = StatusList::decode(u64::from(bits.get()), &list.lst()).unwrap();
        for i in 0..list.len() {
            assert_eq!(back.get(i).unwrap(), (i as u8).wrapping_mul(7) & max);
        }
        assert_eq!(
            list.set(0, max.wrapping_add(1)).err(),
            (bits != Bits::Eight).then_some(StatusListError::ValueTooLarge {
                value: max.wrapping_add(1),
                bits: bits.get()
            })
        );
    }
}

#[test]
fn lists_are_whole_bytes_and_refuse_indexes_past_their_end() {
    let mut list = StatusList::new(Bits::Two, 5);
    assert_eq!(list.len(), 8);
    assert_eq!(
        list.get(8),
        Err(StatusListError::IndexOutOfRange { idx: 8, len: 8 })
    );
    list.grow_to(9);
    assert_eq!(list.len(), 12);
    assert_eq!(list.get(8), Ok(VALID));
}

#[test]
fn bad_lists_are_refused_with_their_reason() {
    assert_eq!(
        StatusList::decode(3, "eNrbuRgAAhcBXQ").err(),
        Some(StatusListError::UnsupportedBits(3))
    );
    assert_eq!(
        StatusList::decode(1, "eNrbuRgAAhcBXQ==").err(),
        Some(StatusListError::Base64)
    );
    // Raw DEFLATE without the ZLIB wrapper is not what the draft says.
    let raw = miniz_oxide::deflate::compress_to_vec(&[0xB9, 0xA3], 9);
    assert_eq!(
        StatusList::decode(1, &URL_SAFE_NO_PAD.encode(raw)).err(),
        Some(StatusListError::Compression)
    );
    // A bomb: 17 MiB of zeros compress to a few KB but inflate past the bound.
    let bomb = miniz_oxide::deflate::compress_to_vec_zlib(&vec![0u8; MAX_LIST_BYTES + 1], 10);
    assert_eq!(
        StatusList::decode(2, &URL_SAFE_NO_PAD.encode(bomb)).err(),
        Some(StatusListError::TooLarge)
    );
}

#[test]
fn the_registrys_statuses_map_onto_the_drafts_values_and_back() {
    assert_eq!(value_of(TrustStatus::Trusted), 0x00);
    assert_eq!(value_of(TrustStatus::Unreliable), 0x01);
    assert_eq!(value_of(TrustStatus::Unverified), 0x02);
    assert_eq!(value_of(TrustStatus::Deregistered), 0x03);
    for status in [
        TrustStatus::Trusted,
        TrustStatus::Unverified,
        TrustStatus::Unreliable,
        TrustStatus::Deregistered,
    ] {
        assert_eq!(status_of(value_of(status)), Some(status));
    }
    assert_eq!(status_of(0x04), None);
}

fn registry_list() -> (StatusList, Vec<(u64, TrustStatus)>) {
    let devices = vec![
        (0, TrustStatus::Trusted),
        (1, TrustStatus::Unverified),
        (2, TrustStatus::Unreliable),
        (3, TrustStatus::Deregistered),
        (1000, TrustStatus::Unreliable),
        (4095, TrustStatus::Unverified),
    ];
    let mut list = StatusList::new(REGISTRY_BITS, 4096);
    for (idx, status) in &devices {
        list.set(*idx, value_of(*status)).unwrap();
    }
    (list, devices)
}

fn token(key: &SigningKey) -> String {
    let (list, _) = registry_list();
    let claims = StatusListClaims::new(URI, &list, NOW, 86_400, 300).with_iss("IN1.HLT.P07");
    sign_with(key, &claims, Some("registry"))
}

// Y.3059 7 iv d
#[test]
fn trusted_unverified_and_unreliable_statuses_round_trip_through_a_signed_token() {
    let key = SigningKey::random(&mut OsRng);
    let compact = token(&key);
    let header = jose::parse(&compact).unwrap().header().clone();
    assert_eq!(header.typ.as_deref(), Some("statuslist+jwt"));
    assert_eq!(header.alg, "ES256");

    let verified = verify_token(&compact, key.verifying_key(), NOW + 10).unwrap();
    assert_eq!(verified.claims.sub, URI);
    assert_eq!(verified.claims.iat, NOW);
    assert_eq!(verified.claims.exp, Some(NOW + 86_400));
    assert_eq!(verified.claims.ttl, Some(300));
    assert_eq!(verified.claims.status_list.bits, 2);
    let (_, devices) = registry_list();
    for (idx, status) in devices {
        let reference = StatusListReference {
            idx,
            uri: URI.into(),
        };
        assert_eq!(
            status_of(verified.status(&reference).unwrap()),
            Some(status)
        );
    }
    // Every index nobody was given reads VALID, as the draft's lists start.
    assert_eq!(verified.list.get(500), Ok(VALID));
}

#[test]
fn the_signing_input_assembled_with_a_raw_signature_is_the_same_token() {
    // The registry's path: KMS signs `signing_input`, `jose::assemble` completes it.
    let key = SigningKey::random(&mut OsRng);
    let (list, _) = registry_list();
    let claims = StatusListClaims::new(URI, &list, NOW, 86_400, 300);
    let input = signing_input(&claims, None);
    let signature: p256::ecdsa::Signature =
        p256::ecdsa::signature::Signer::sign(&key, input.as_bytes());
    let compact = jose::assemble(&input, &signature.to_bytes().into());
    assert_eq!(
        verify_token(&compact, key.verifying_key(), NOW)
            .unwrap()
            .claims,
        claims
    );
}

fn replace_segment(compact: &str, index: usize, segment: &str) -> String {
    let mut parts: Vec<&str> = compact.split('.').collect();
    parts[index] = segment;
    parts.join(".")
}

#[test]
fn a_tampered_token_is_refused() {
    let key = SigningKey::random(&mut OsRng);
    let compact = token(&key);
    let payload = compact.split('.').nth(1).unwrap();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    // Everyone trusted: an all-zero list of the same length.
    claims["status_list"]["lst"] = StatusList::new(REGISTRY_BITS, 4096).lst().into();
    let forged = replace_segment(&compact, 1, &URL_SAFE_NO_PAD.encode(claims.to_string()));
    assert_eq!(
        verify_token(&forged, key.verifying_key(), NOW).err(),
        Some(StatusListError::BadSignature)
    );
}

#[test]
fn a_token_signed_by_another_key_is_refused() {
    let compact = token(&SigningKey::random(&mut OsRng));
    let other = SigningKey::random(&mut OsRng);
    assert_eq!(
        verify_token(&compact, other.verifying_key(), NOW).err(),
        Some(StatusListError::BadSignature)
    );
}

#[test]
fn a_token_of_another_type_is_refused_even_when_signed_by_the_registry() {
    let key = SigningKey::random(&mut OsRng);
    let (list, _) = registry_list();
    let claims = StatusListClaims::new(URI, &list, NOW, 86_400, 300);
    let payload = serde_json::to_vec(&claims).unwrap();
    for typ in [Some("trustreg-statement+jwt"), Some("JWT"), None] {
        let mut header = JwsHeader::es256();
        header.typ = typ.map(str::to_owned);
        let compact = jose::sign_with(&key, &header, &payload);
        assert_eq!(
            verify_token(&compact, key.verifying_key(), NOW).err(),
            Some(StatusListError::WrongType(typ.map(str::to_owned)))
        );
    }
}

#[test]
fn a_mac_or_unsigned_token_is_refused() {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"statuslist+jwt"}"#);
    let compact = format!("{header}.e30.{}", URL_SAFE_NO_PAD.encode([0u8; 32]));
    let key = SigningKey::random(&mut OsRng);
    assert_eq!(
        verify_token(&compact, key.verifying_key(), NOW).err(),
        Some(StatusListError::Jws(JoseError::UnsupportedAlgorithm))
    );
}

#[test]
fn an_expired_token_is_refused() {
    let key = SigningKey::random(&mut OsRng);
    let compact = token(&key);
    let exp = NOW + 86_400;
    assert!(verify_token(&compact, key.verifying_key(), exp).is_ok()); // within the skew
    assert_eq!(
        verify_token(&compact, key.verifying_key(), exp + 60).err(),
        Some(StatusListError::Expired { exp, now: exp + 60 })
    );
    assert_eq!(
        verify_token(&compact, key.verifying_key(), NOW - 61).err(),
        Some(StatusListError::IssuedInFuture {
            iat: NOW,
            now: NOW - 61
        })
    );
}

#[test]
fn a_reference_to_another_list_or_past_its_end_is_refused() {
    let key = SigningKey::random(&mut OsRng);
    let verified = verify_token(&token(&key), key.verifying_key(), NOW).unwrap();
    let elsewhere = StatusListReference {
        idx: 0,
        uri: "https://registry.example/v1/status-lists/2".into(),
    };
    assert!(matches!(
        verified.status(&elsewhere),
        Err(StatusListError::SubjectMismatch { .. })
    ));
    let past = StatusListReference {
        idx: 4096,
        uri: URI.into(),
    };
    assert_eq!(
        verified.status(&past),
        Err(StatusListError::IndexOutOfRange {
            idx: 4096,
            len: 4096
        })
    );
}

#[test]
fn a_reference_is_the_drafts_status_claim() {
    let claim: StatusClaim = serde_json::from_str(
        r#"{"status_list":{"idx":0,"uri":"https://example.com/statuslists/1"}}"#,
    )
    .unwrap();
    assert_eq!(claim.status_list.idx, 0);
    assert_eq!(
        claim.status_list.to_string(),
        "0@https://example.com/statuslists/1"
    );
    assert_eq!(
        serde_json::to_value(&claim).unwrap(),
        serde_json::json!({"status_list": {"idx": 0, "uri": "https://example.com/statuslists/1"}})
    );
}
