//! The harnesses of the fuzz targets: one function per target, each taking the raw input
//! bytes. A panic anywhere (the registry's own code or an assertion here) is a crash.
//!
//! They live in a library, not in the target files, so that `tests/corpus.rs` replays the
//! committed corpus (and any crash input dropped into it) on stable, without libFuzzer.
//! No I/O: the fixed root of trust is compiled in, the fixed keys are constants, and the
//! exchange target runs the registry on its in-memory fakes.
//!
//! Each returns whether the input reached the path that accepts it (a verified chain, a
//! parsed JWS, an applied message...): the corpus test checks that the `ok-*` seeds do.

use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::{SigningKey, VerifyingKey};
use serde_json::Value;
use trustreg_core::bulk::{BulkLine, MAX_BULK_ITEMS, verify_batch_credential};
use trustreg_core::exchange::{EXCHANGE_TYP, ExchangeClaims};
use trustreg_core::fakes::{FakeRegistry, MemoryKeys, MemoryOutbox, MemoryStore};
use trustreg_core::identifier::{
    Identifier, RegDevId, RegId, RegistryPath, Scheme, luhn_check_digit, parse_inherent,
};
use trustreg_core::jose::{self, JwsHeader};
use trustreg_core::messages::{
    AcknowledgementClaims, BodySignatureClaims, BulkDevice, HoldClaims, OwnerRegistrationClaims,
    RegistrationClaims, ReportClaims, VirtualIdClaims, VulnerabilityClaims,
};
use trustreg_core::ports::{HierarchyStore as _, RegistryKeys as _};
use trustreg_core::records::{AuditRecord, LinkKind, LinkRecord, Outcome};
use trustreg_core::rot::{self, AcceptedRoot};
use trustreg_core::{Registry, RegistryKind};

/// The one accepted manufacturer root (P-256, valid 2026-12-06 to 2126): `fixtures/root.der`.
pub const ROOT_DER: &[u8] = include_bytes!("../fixtures/root.der");
/// "Now" for chain validation, inside the fixture certificates' validity: 2030-01-01.
pub const NOW_SECONDS: u64 = 1_893_456_000;
/// The exchange registry's clock (ms), as the core's own exchange tests use.
pub const EXCHANGE_NOW_MS: u64 = 1_795_000_000_000;

/// Fixed private scalars (all valid P-256 scalars): the seeds in `corpus/` were signed with
/// them, and the harness signs with them where a target has to get past a signature.
pub const JWS_KEY: [u8; 32] = [0x35; 32];
pub const BATCH_REGISTRY_KEY: [u8; 32] = [0x34; 32];
pub const CHILD_KEY: [u8; 32] = [0x31; 32];
pub const PARENT_KEY: [u8; 32] = [0x32; 32];
pub const PEER_KEY: [u8; 32] = [0x33; 32];

/// The exchange target's registry and its links: a sectoral with its primary child, its
/// geographical parent and (for the peer rules) a peer.
pub const EXCHANGE_SELF: &str = "IN1.HLT";
pub const EXCHANGE_CHILD: &str = "IN1.HLT.P07";
pub const EXCHANGE_PARENT: &str = "IN1";
pub const EXCHANGE_PEER: &str = "EU1";

fn signing_key(bytes: &[u8; 32]) -> SigningKey {
    SigningKey::from_bytes(&(*bytes).into()).expect("the fixed scalars are valid P-256 keys")
}

fn roots() -> &'static [AcceptedRoot] {
    static ROOTS: OnceLock<Vec<AcceptedRoot>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        vec![AcceptedRoot {
            id: rot::validate_root(ROOT_DER).expect("the fixture root is a valid trust anchor"),
            der: ROOT_DER.to_vec(),
            scopes: trustreg_core::fakes::broad_identifier_scopes(),
        }]
    })
}

fn jws_verifying_key() -> &'static VerifyingKey {
    static KEY: OnceLock<VerifyingKey> = OnceLock::new();
    KEY.get_or_init(|| *signing_key(&JWS_KEY).verifying_key())
}

// ---------------------------------------------------------------------------------------------
// jws: trustreg_core::jose::parse and the accessors a handler uses on its result.

/// A compact JWS as a request carries it (UTF-8 text). Also feeds the raw bytes to the other
/// small JOSE parsers: DER signatures (KMS answers), SPKI keys and JWKs.
pub fn jws(data: &[u8]) -> bool {
    let _ = jose::der_to_raw(data);
    let _ = jose::key_from_spki_der(data);
    if let Ok(jwk) = serde_json::from_slice::<Value>(data) {
        check_jwk(&jwk);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let bounded = jose::parse(text);
    let parsed = jose::parse_up_to(text, usize::MAX);
    if text.len() <= jose::MAX_COMPACT_LEN {
        assert_eq!(
            bounded.as_ref().err(),
            parsed.as_ref().err(),
            "parse and parse_up_to disagree under the bound"
        );
    } else {
        assert_eq!(bounded.err(), Some(jose::JoseError::TooLarge));
    }
    let Ok(jws) = parsed else {
        return false;
    };

    // The signing input is the received segments, never a re-encoding.
    assert!(text.starts_with(jws.signing_input()));
    assert_eq!(jws.header().alg, jose::ES256);

    // The claims every signed request carries, read as the handlers read them.
    let _ = jws.claims::<Value>();
    let _ = jws.claims::<RegistrationClaims>();
    let _ = jws.claims::<AcknowledgementClaims>();
    let _ = jws.claims::<BodySignatureClaims>();
    let _ = jws.claims::<VirtualIdClaims>();
    let _ = jws.claims::<HoldClaims>();
    let _ = jws.claims::<ReportClaims>();
    let _ = jws.claims::<VulnerabilityClaims>();
    let _ = jws.claims::<OwnerRegistrationClaims>();
    let _ = jws.claims::<ExchangeClaims>();
    let _ = jws.header_member::<Value>("dlg");
    let _ = jws.header_member::<String>("kid");
    let _ = trustreg_core::actors::unverified_kid(text);

    // The signature survives the DER round trip KMS answers need, and re-assembling the
    // received parts gives the same JWS.
    let raw = jws.signature_raw();
    let der = jose::raw_to_der(&raw).expect("a parsed signature converts to DER");
    assert_eq!(jose::der_to_raw(&der), Ok(raw));
    let again = jose::parse_up_to(&jose::assemble(jws.signing_input(), &raw), usize::MAX)
        .expect("a parsed JWS re-assembles into a parseable one");
    assert_eq!(again.header(), jws.header());
    assert_eq!(again.payload_bytes(), jws.payload_bytes());
    assert_eq!(again.signing_input(), jws.signing_input());

    let _ = jws.verify(jws_verifying_key());
    // A registration: the x5c chain against the accepted root, then the JWS against the
    // chain's leaf key (register.rs).
    if let Ok(chain) = jws.x5c_der()
        && let Ok(device) = rot::verify_device_chain(&chain, roots(), NOW_SECONDS)
    {
        let _ = jws.verify(&device.public_key);
    }
    true
}

fn check_jwk(jwk: &Value) {
    if let Ok(key) = jose::key_from_jwk(jwk) {
        let public = jose::jwk_from_key(&key);
        assert_eq!(jose::key_from_jwk(&public), Ok(key), "JWK round trip");
        let _ = jose::jwk_thumbprint(jwk);
        assert_eq!(jose::jwk_thumbprint(&public), jose::jwk_thumbprint(&public));
    }
}

// ---------------------------------------------------------------------------------------------
// x5c_chain: trustreg_core::rot::verify_device_chain against a fixed accepted root.

/// Splits fuzz bytes into certificates: each a big-endian u16 length and that many bytes;
/// the last takes what remains when the length runs past the end. At most 7 (the core caps
/// chains at 5, and the cap is worth reaching).
pub fn split_chain(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut chain = Vec::new();
    while data.len() >= 2 && chain.len() < 7 {
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        let rest = &data[2..];
        let take = len.min(rest.len());
        chain.push(rest[..take].to_vec());
        data = &rest[take..];
    }
    chain
}

/// The inverse of `split_chain`, for seeds and tests.
pub fn join_chain(chain: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for cert in chain {
        let len = u16::try_from(cert.len()).expect("a certificate under 64 KiB");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(cert);
    }
    out
}

pub fn x5c_chain(data: &[u8]) -> bool {
    let chain = split_chain(data);
    for cert in &chain {
        let _ = rot::validate_root(cert);
        let _ = rot::public_key_of(cert);
        let _ = rot::identifiers_in(cert);
    }
    let verified = rot::verify_device_chain(&chain, roots(), NOW_SECONDS);
    if let Ok(device) = &verified {
        let leaf = &chain[0];
        assert_eq!(device.root_id, roots()[0].id);
        assert_eq!(device.leaf_fingerprint, rot::root_id_for(leaf));
        assert_eq!(
            rot::identifiers_in(leaf).ok().as_ref(),
            Some(&device.identifiers)
        );
        assert_eq!(rot::public_key_of(leaf).ok(), Some(device.public_key));
    }
    // The last certificate as a second accepted root: arbitrary DER as a trust anchor.
    if let Some((last, rest)) = chain.split_last()
        && !rest.is_empty()
    {
        let with_fuzzed_root = [
            roots()[0].clone(),
            AcceptedRoot {
                id: "fuzzed".into(),
                der: last.clone(),
                scopes: trustreg_core::fakes::broad_identifier_scopes(),
            },
        ];
        if let Ok(device) = rot::verify_device_chain(rest, &with_fuzzed_root, NOW_SECONDS) {
            assert!(device.root_id == "fuzzed" || device.root_id == roots()[0].id);
        }
    }
    verified.is_ok()
}

// ---------------------------------------------------------------------------------------------
// identifier: Identifier::parse, parse_inherent (lookups), RegDevId / RegistryPath / RegId
// FromStr, the SAN URNs and the serde forms.

/// The first byte picks the scheme for `Identifier::parse`; the rest is the text every
/// identifier parser gets.
pub fn identifier(data: &[u8]) -> bool {
    let Some((&selector, rest)) = data.split_first() else {
        return false;
    };
    let mut accepted = false;
    if let Ok(id) = serde_json::from_slice::<Identifier>(rest) {
        check_identifier(&id);
        accepted = true;
    }
    let _ = serde_json::from_slice::<RegDevId>(rest);
    let Ok(text) = std::str::from_utf8(rest) else {
        return accepted;
    };
    let scheme = Scheme::ALL[usize::from(selector) % Scheme::ALL.len()];
    if let Ok(id) = Identifier::parse(scheme, text) {
        assert_eq!(id.scheme(), scheme);
        check_identifier(&id);
        accepted = true;
    }
    if let Ok(id) = parse_inherent(text) {
        check_identifier(&id);
        accepted = true;
    }
    if let Some(Ok(id)) = Identifier::from_san_uri(text) {
        check_identifier(&id);
        accepted = true;
    }
    if let Ok(regdevid) = RegDevId::from_str(text) {
        // Only the canonical text parses, so printing gives it back.
        assert_eq!(regdevid.to_string(), text);
        let json = serde_json::to_string(&regdevid).expect("a RegDevId serializes");
        assert_eq!(
            serde_json::from_str::<RegDevId>(&json).ok(),
            Some(regdevid.clone())
        );
        check_identifier(&regdevid.identifier);
        accepted = true;
    }
    if let Ok(path) = RegistryPath::from_str(text) {
        assert_eq!(path.to_string(), text);
        assert_eq!(path.ids().last().copied(), Some(path.own_id()));
        if let Some(parent) = path.parent() {
            assert_eq!(parent.ids(), &path.ids()[..path.ids().len() - 1]);
        }
        accepted = true;
    }
    if let Ok(reg_id) = RegId::from_str(text) {
        assert_eq!(reg_id.as_str(), text);
    }
    let _ = Scheme::from_str(text);
    let _ = luhn_check_digit(text);
    accepted
}

/// What holding an `Identifier` promises: it is canonical, and each of its text forms parses
/// back to it.
fn check_identifier(id: &Identifier) {
    assert_eq!(
        Identifier::parse(id.scheme(), id.value()).as_ref(),
        Ok(id),
        "normalizing is idempotent"
    );
    assert_eq!(
        Identifier::from_san_uri(&id.to_san_uri()),
        Some(Ok(id.clone())),
        "SAN URI round trip"
    );
    assert_eq!(
        parse_inherent(&id.to_string()).as_ref(),
        Ok(id),
        "scheme:value round trip"
    );
    let json = serde_json::to_string(id).expect("an Identifier serializes");
    assert_eq!(
        serde_json::from_str::<Identifier>(&json).ok().as_ref(),
        Some(id)
    );
    let path = RegistryPath::from_str(EXCHANGE_CHILD).expect("a fixed path");
    let regdevid = RegDevId::new(path, id.clone());
    assert_eq!(
        RegDevId::from_str(&regdevid.to_string()).as_ref(),
        Ok(&regdevid),
        "RegDevId round trip"
    );
}

// ---------------------------------------------------------------------------------------------
// bulk_body: a bulk registration body, JSON array or NDJSON.

/// A copy of `parse_lines` of functions/http/src/bulk.rs, which is private to trustreg-http
/// (its handler also needs a signed request and a registry): the split into items, then each
/// item as the core's `BulkDevice`. Keep the two alike.
pub fn parse_bulk_lines(ndjson: bool, body: &[u8]) -> Result<Vec<BulkLine>, String> {
    let values: Vec<Result<Value, String>> = if ndjson {
        body.split(|b| *b == b'\n')
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .map(|line| serde_json::from_slice(line).map_err(|e| format!("line: {e}")))
            .collect()
    } else {
        let array: Vec<Value> = serde_json::from_slice(body)
            .map_err(|e| format!("the body is not a JSON array: {e}"))?;
        array.into_iter().map(Ok).collect()
    };
    if values.len() > MAX_BULK_ITEMS {
        return Err(format!(
            "a bulk request holds at most {MAX_BULK_ITEMS} devices"
        ));
    }
    Ok(values
        .into_iter()
        .map(|v| v.and_then(|v| serde_json::from_value::<BulkDevice>(v).map_err(|e| e.to_string())))
        .collect())
}

/// The first byte picks the content type (odd: NDJSON, even: a JSON array); the rest is the
/// body. Each device read then goes through the core's per-device checks that need no
/// registry: its identifier, its certificate chain against the fixed root, and whether the
/// chain certifies the identifier (bulk.rs `check_bulk_device`).
pub fn bulk_body(data: &[u8]) -> bool {
    let Some((&selector, body)) = data.split_first() else {
        return false;
    };
    let Ok(lines) = parse_bulk_lines(selector & 1 == 1, body) else {
        return false;
    };
    let mut accepted = false;
    for device in lines.into_iter().flatten() {
        // What is stored survives its JSON round trip.
        let json = serde_json::to_value(&device).expect("a BulkDevice serializes");
        let again: BulkDevice =
            serde_json::from_value(json.clone()).expect("BulkDevice round trip");
        assert_eq!(serde_json::to_value(&again).ok(), Some(json));

        let identifier = Identifier::parse(device.identifier.scheme, &device.identifier.value);
        let chain = device
            .certificate_chain
            .iter()
            .map(|c| STANDARD.decode(c))
            .collect::<Result<Vec<_>, _>>();
        let Ok(chain) = chain else { continue };
        let Ok(verified) = rot::verify_device_chain(&chain, roots(), NOW_SECONDS) else {
            continue;
        };
        if let Ok(identifier) = identifier
            && verified.identifiers.contains(&identifier)
        {
            let _ = jose::jwk_thumbprint(&jose::jwk_from_key(&verified.public_key));
            accepted = true;
        }
    }
    accepted
}

// ---------------------------------------------------------------------------------------------
// batch_credential: trustreg_core::bulk::verify_batch_credential.

/// A bulk registration's credential, checked offline with the registry's fixed key. When its
/// `batch` member is a JSON object instead of a compact JWS, the harness signs that object
/// with the registry's key first: a fuzzer cannot forge the signature, and the Merkle-proof
/// checks behind it are the part worth fuzzing.
pub fn batch_credential(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    static KEY: OnceLock<(SigningKey, VerifyingKey)> = OnceLock::new();
    let (signing, verifying) = KEY.get_or_init(|| {
        let key = signing_key(&BATCH_REGISTRY_KEY);
        let public = *key.verifying_key();
        (key, public)
    });
    let credential = match serde_json::from_str::<Value>(text) {
        Ok(mut value) if value.get("batch").is_some_and(Value::is_object) => {
            let head = value["batch"].take();
            let header = JwsHeader::es256().with_typ("trustreg-batch+jwt");
            value["batch"] = Value::String(jose::sign_with(
                signing,
                &header,
                head.to_string().as_bytes(),
            ));
            value.to_string()
        }
        _ => text.to_owned(),
    };
    verify_batch_credential(&credential, verifying).is_ok()
}

// ---------------------------------------------------------------------------------------------
// exchange_message: Registry::receive_exchange on the in-memory fakes.

/// The first byte picks who signs: 0 sends the rest as a compact JWS as it is; 1, 2 and 3
/// take the rest as the claims and sign them, as an exchange message, with the key of the
/// child, parent or peer link (the fuzzer cannot forge signatures, and what follows the
/// verification is the larger part). A fresh registry per input, so no input depends on
/// another.
pub fn exchange_message(data: &[u8]) -> bool {
    let Some((&selector, rest)) = data.split_first() else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return false;
    };
    let compact = match selector % 4 {
        0 => text.to_owned(),
        n => {
            let key = match n {
                1 => &CHILD_KEY,
                2 => &PARENT_KEY,
                _ => &PEER_KEY,
            };
            let header = JwsHeader::es256()
                .with_typ(EXCHANGE_TYP)
                .with_kid("memory-key");
            jose::sign_with(&signing_key(key), &header, text.as_bytes())
        }
    };
    let (registry, outbox, own_key) = exchange_registry();
    let received = block_on(registry.receive_exchange(&compact));
    // Whatever the registry sends on is its own valid exchange message.
    for (_inbox, message) in outbox.drain() {
        let jws = jose::parse_up_to(&message, usize::MAX).expect("a sent message parses");
        jws.verify(&own_key)
            .expect("a sent message verifies with the registry's key");
        assert_eq!(jws.header().typ.as_deref(), Some(EXCHANGE_TYP));
        let claims: ExchangeClaims = jws.claims().expect("a sent message has exchange claims");
        assert_eq!(claims.sender, EXCHANGE_SELF);
    }
    received.is_ok()
}

fn exchange_registry() -> (Registry, Arc<MemoryOutbox>, VerifyingKey) {
    static LINKS: OnceLock<Vec<LinkRecord>> = OnceLock::new();
    let links = LINKS.get_or_init(|| {
        [
            (EXCHANGE_CHILD, LinkKind::Child, &CHILD_KEY),
            (EXCHANGE_PARENT, LinkKind::Parent, &PARENT_KEY),
            (EXCHANGE_PEER, LinkKind::Peer, &PEER_KEY),
        ]
        .into_iter()
        .map(|(path, kind, key)| LinkRecord {
            reg_id: path.rsplit('.').next().unwrap_or(path).to_owned(),
            path: path.to_owned(),
            kind,
            public_key: jose::jwk_from_key(signing_key(key).verifying_key()),
            inbox: format!("memory://inbox-{path}"),
            linked_at_ms: EXCHANGE_NOW_MS - 1_000,
            linked_by: "admin:ops".into(),
        })
        .collect()
    });
    let store = Arc::new(MemoryStore::default());
    let keys = Arc::new(MemoryKeys::new(2));
    let outbox = Arc::new(MemoryOutbox::default());
    for link in links {
        let audit = AuditRecord {
            id: format!("{EXCHANGE_NOW_MS:020}-link"),
            at_ms: EXCHANGE_NOW_MS,
            actor: "admin:ops".into(),
            action: "link-registry".into(),
            target: Some(link.path.clone()),
            outcome: Outcome::Accepted,
            code: None,
        };
        block_on(store.put_link(link, &audit)).expect("the memory store takes a link");
    }
    let own_key = block_on(keys.public_key()).expect("the memory key has a public key");
    let registry = FakeRegistry::builder()
        .path(EXCHANGE_SELF)
        .kind(RegistryKind::Sectoral)
        .store(store)
        .keys(keys)
        .clock_at(EXCHANGE_NOW_MS)
        .outbox(outbox.clone())
        .build()
        .registry;
    (registry, outbox, own_key)
}

/// Runs a future of the in-memory fakes, which never wait: a pending one is a harness bug.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..10_000 {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
    panic!("a future on the in-memory fakes stayed pending");
}
