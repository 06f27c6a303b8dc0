//! The claims of every signed request, as JSON Schemas: the `x-jws-payload` of each
//! `application/jose` request body, so that a generic tool (schemathesis, a generated client)
//! can build the payload it signs. Each schema is self-contained (no `$ref`), carries the
//! bounds the registry enforces, and is closed (`additionalProperties: false`) exactly where the
//! core's claim type refuses unknown members (`deny_unknown_fields`). String lengths are the
//! registry's byte bounds: exact for ASCII, while longer UTF-8 text may be refused sooner.

use crate::routes::Op;
use serde_json::{Value, json};

use trustreg_core::actors::MAX_KID;
use trustreg_core::admin::MAX_REVOKED_INTERMEDIATES;
use trustreg_core::domains::{MAX_DOMAIN_NAME, MAX_DOMAINS};
use trustreg_core::virtual_ids::MAX_TTL_SECONDS;

/// Bounds private to the core, repeated here: `admin::MAX_ROT_TYPES`,
/// `notifications::bulk::MAX_BULK_DEVICES`.
const MAX_ROT_TYPES: usize = 8;
const MAX_BULK_DEVICES: usize = 1000;

/// What one signed operation's claims are, besides the `nonce`, `htm` and `htu` of all.
pub(crate) struct Claims {
    pub properties: Value,
    pub required: &'static [&'static str],
    /// The core's claim type refuses members it does not know.
    pub closed: bool,
}

/// A non-blank text of 1 to `max` bytes (the registry trims before it checks blankness).
fn text(max: usize, description: &str) -> Value {
    json!({
        "type": "string", "minLength": 1, "maxLength": max, "pattern": "\\S",
        "description": description,
    })
}

/// A claim that must repeat the path parameter `name`: a signature made for one target is of
/// no use on another. `x-from-path` says which, for tools that fill it in.
fn from_path(name: &str, description: &str) -> Value {
    json!({
        "type": "string", "minLength": 1, "maxLength": MAX_KID,
        "description": format!("{description}: the `{{{name}}}` of the request's path"),
        "x-from-path": name,
    })
}

/// The optional key naming a change, so a retry over a fresh nonce is recognised
/// (`trustreg_core::idempotency`; API.md, "Retrying a change").
fn idempotency_key() -> Value {
    json!({
        "type": "string",
        "minLength": trustreg_core::idempotency::MIN_KEY_LEN,
        "maxLength": trustreg_core::idempotency::MAX_KEY_LEN,
        "pattern": "^[A-Za-z0-9._~-]+$",
        "description": "Names this change, chosen by the client once per change and sent \
            again with each retry (over a fresh nonce): a retry with the same claims is \
            answered as the change was, the same key with other claims is a 422 \
            idempotency-key-reused. Remembered at least 24 hours.",
    })
}

fn strings(max_items: usize, item: Value, description: &str) -> Value {
    json!({"type": "array", "maxItems": max_items, "items": item, "description": description})
}

/// A public P-256 key as a JWK (RFC 7517); members other than these are ignored.
fn jwk(description: &str) -> Value {
    json!({
        "type": "object",
        "description": description,
        "required": ["kty", "crv", "x", "y"],
        "properties": {
            "kty": {"const": "EC"},
            "crv": {"const": "P-256"},
            "x": {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"},
            "y": {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"},
        },
        "not": {"required": ["d"]},
    })
}

/// `device` of a registration (and of each bulk item): `messages::DeviceInfo`, bounds of
/// `register::validate_device_info`.
fn device() -> Value {
    let short = |d: &str| text(128, d);
    json!({
        "type": "object",
        "description": "The device's description: at most 4096 bytes as JSON",
        "required": ["make", "model", "firmware_version", "software_version", "rot"],
        "properties": {
            "make": short("Make"),
            "model": short("Model"),
            "firmware_version": short("Firmware version"),
            "software_version": short("Software version"),
            "rot": {
                "type": "object",
                "required": ["type"],
                "properties": {"type": short("Root-of-trust type, e.g. secure-element, tpm")},
            },
            "communication": strings(32, short("A technology"), "Communication technologies"),
            "power": {
                "type": "object",
                "description": "At most 1024 bytes of JSON nested at most 8 deep",
                "required": ["source"],
                "properties": {"source": {"type": "string", "maxLength": 128}},
            },
            "protocols": strings(32, short("A protocol"), "Protocols"),
        },
    })
}

fn owner_attributes() -> Value {
    let attribute = |d: &str| text(256, d);
    json!({
        "type": "object",
        "description": "Identity attributes (PII, kept sealed): a name or an organisation at least",
        "properties": {
            "name": attribute("Name"),
            "email": attribute("Email"),
            "phone": attribute("Phone"),
            "address": attribute("Address"),
            "organisation": attribute("Organisation"),
        },
        "additionalProperties": false,
        "anyOf": [{"required": ["name"]}, {"required": ["organisation"]}],
    })
}

/// A TPM device's evidence (API.md "TPM devices"): required when `device.rot.type` is `tpm`,
/// over a `tpm-activation` nonce instead of a `register` one.
fn tpm_evidence() -> Value {
    let tpm2b = |what: &str| {
        json!({"type": "string", "minLength": 1, "maxLength": 4096,
            "description": format!("{what}, base64url without padding")})
    };
    json!({
        "type": "object",
        "description": "TPM evidence, required for device.rot.type `tpm`; the nonce is then \
            that of a `tpm-activation` challenge (else 403 tpm-evidence-invalid)",
        "required": ["ak_public", "activation", "key_public", "certify_info", "certify_signature"],
        "properties": {
            "ak_public": tpm2b("TPM2B_PUBLIC of the AK the challenge was made for"),
            "activation": tpm2b("The secret TPM2_ActivateCredential recovered"),
            "key_public": tpm2b("TPM2B_PUBLIC of the registration key (the x5c leaf's key)"),
            "certify_info": tpm2b("TPMS_ATTEST of TPM2_Certify of the registration key by the AK"),
            "certify_signature": tpm2b("TPMT_SIGNATURE of certify_info by the AK"),
        },
        "additionalProperties": false,
    })
}

fn regdevid(description: &str) -> Value {
    json!({
        "type": "string", "minLength": 1, "maxLength": MAX_KID,
        "description": format!("{description}: <registry path>:<scheme>:<value>"),
    })
}

/// The claims of the signed route `op`, or `None` for an unsigned one.
pub(crate) fn claims(op: Op) -> Option<Claims> {
    let (properties, required, closed): (Value, &'static [&'static str], bool) = match op {
        Op::Register => (
            json!({
                "identifier": {
                    "type": "object",
                    "required": ["scheme", "value"],
                    "properties": {
                        "scheme": {"enum": ["imei", "mac", "eui64", "ipv6", "serial"]},
                        "value": text(128, "The identifier the certificate binds, e.g. 15 \
                            digits for an IMEI, <manufacturer>/<serial> for a serial"),
                    },
                    "additionalProperties": false,
                },
                "device": device(),
                "owner": {
                    "type": "object",
                    "description": "An existing owner by owner_id, or a new one",
                    "properties": {
                        "owner_id": {"type": "string", "maxLength": MAX_KID},
                        "kind": {"enum": ["owner", "custodian"]},
                        "attributes": owner_attributes(),
                        "public_key": jwk("The new owner's signing key"),
                    },
                    "additionalProperties": false,
                },
                "trust_domains": strings(
                    MAX_DOMAINS,
                    text(MAX_DOMAIN_NAME, "A trust domain the registry hosts"),
                    "The trust domains it joins",
                ),
                "tpm": tpm_evidence(),
            }),
            &["identifier", "device"],
            false,
        ),
        Op::Acknowledge => (
            json!({"regdevid": from_path("regdevid", "The RegDevID the device stored")}),
            &["regdevid"],
            true,
        ),
        Op::Report => (
            json!({
                "firmware_version": text(128, "Firmware version"),
                "software_version": text(128, "Software version"),
                "communication": strings(32, text(128, "A technology"), "Communication technologies"),
                "configuration": {
                    "description": "The security configuration: at most 4096 bytes of JSON \
                        nested at most 8 deep",
                },
                "idempotency_key": idempotency_key(),
                "evidence_challenge": {"type": "string", "minLength": 1, "maxLength": 64,
                    "description": "The challenge of the registry's pending evidence request \
                        this report answers, as the device read it in its feed; any other is \
                        a 409 evidence-challenge-mismatch and nothing is stored"},
            }),
            &["firmware_version", "software_version"],
            false,
        ),
        Op::CreateVirtualId => (
            json!({
                "ttl_seconds": {"type": "integer", "minimum": 1, "maximum": MAX_TTL_SECONDS},
                "single_use": {"type": "boolean", "default": false},
            }),
            &["ttl_seconds"],
            true,
        ),
        Op::CreateOwner => (
            json!({
                "kind": {"enum": ["owner", "custodian"]},
                "attributes": owner_attributes(),
                "public_key": jwk("The owner's signing key: self-service signs with it and \
                    names no kid"),
            }),
            &["kind", "attributes"],
            true,
        ),
        Op::VerifyOwner => (
            json!({"state": {"enum": ["unverified", "verified", "rejected"]}}),
            &["state"],
            true,
        ),
        Op::Transfer => (
            json!({"new_owner_id": {
                "type": "string", "minLength": 1, "maxLength": MAX_KID,
                "description": "The owner_id the device goes to",
            }, "idempotency_key": idempotency_key()}),
            &["new_owner_id"],
            true,
        ),
        Op::AcceptTransfer | Op::DeleteRoot => (json!({}), &[], true),
        Op::PlaceHold => (
            json!({
                "regdevid": from_path("regdevid", "The device"),
                "kind": {"enum": ["stolen", "compromised"]},
                "note": text(512, "Why"),
                "idempotency_key": idempotency_key(),
            }),
            &["regdevid", "kind"],
            true,
        ),
        Op::ReleaseHold => (
            json!({
                "regdevid": from_path("regdevid", "The device"),
                "kind": {"enum": ["stolen", "compromised"], "x-from-path": "kind",
                    "description": "The hold released: the `{kind}` of the path"},
                "note": text(512, "Why"),
                "idempotency_key": idempotency_key(),
            }),
            &["regdevid", "kind"],
            true,
        ),
        Op::RequestEvidence => (
            json!({"regdevid": from_path("regdevid", "The device")}),
            &["regdevid"],
            true,
        ),
        Op::Feed => (
            json!({
                "regdevid": from_path("regdevid", "The device, the signer itself"),
                "after": {"type": "string", "minLength": 1, "maxLength": 20,
                    "pattern": "^[0-9]+$",
                    "description": "The `next` of the previous page; absent: from the start"},
                "limit": {"type": "integer", "minimum": 1,
                    "maximum": trustreg_core::evidence::MAX_FEED_LIMIT,
                    "description": "At most this many transitions (default 100)"},
            }),
            &["regdevid"],
            true,
        ),
        Op::Deregister => (
            json!({
                "regdevid": from_path("regdevid", "The device"),
                "reason": {"enum": ["decommissioned", "lost", "stolen", "end-of-custody"]},
                "note": text(512, "Why"),
                "idempotency_key": idempotency_key(),
            }),
            &["regdevid", "reason"],
            true,
        ),
        Op::RevokeOwner => (
            json!({
                "regdevid": from_path("regdevid", "The device"),
                "note": text(512, "Why"),
                "idempotency_key": idempotency_key(),
            }),
            &["regdevid"],
            true,
        ),
        Op::Login => (
            json!({"enquirer_id": {
                "type": "string", "minLength": 1, "maxLength": MAX_KID,
                "description": "The signer's id as the registry gave it: an enquirer's \
                    enquirer_id (its kid is enquirer:<enquirer_id>), an owner's owner_id, an \
                    administrator's name. The whole kid is accepted too",
                "x-from-kid": "id",
            }}),
            &["enquirer_id"],
            true,
        ),
        Op::PutTrustDomain => (
            json!({"policy": {
                "type": "object",
                "description": "What the domain demands before it calls a device trusted",
                "required": ["require_acknowledgement", "require_owner_verified",
                    "unreliable_at_severity"],
                "properties": {
                    "require_acknowledgement": {"type": "boolean"},
                    "require_owner_verified": {"type": "boolean"},
                    "max_report_age_seconds": {"type": ["integer", "null"], "minimum": 1,
                        "description": "A report older than this makes a device unverified"},
                    "unreliable_at_severity": {"type": "number", "minimum": 0, "maximum": 10},
                    "accepted_rot_types": strings(32, text(128, "A root-of-trust type"),
                        "Root-of-trust types a device must have to join, held against its \
                        devices at every evaluation (else unreliable); empty: any"),
                    "evidence_window_seconds": {"type": ["integer", "null"], "minimum": 1,
                        "maximum": trustreg_core::status::MAX_EVIDENCE_WINDOW_SECONDS,
                        "description": "How long a device has to answer an evidence request \
                        before it is unverified; null: a day. A device of several domains has \
                        the shortest"},
                },
            }}),
            &["policy"],
            true,
        ),
        Op::PutRoot => (
            json!({
                "name": text(128, "Name"),
                "certificate": {"type": "string", "minLength": 1,
                    "description": "The CA certificate, standard base64 of its DER; the path's \
                        {id} is the hex SHA-256 of that DER"},
                "rot_types": {
                    "type": "array", "minItems": 1, "maxItems": MAX_ROT_TYPES,
                    "items": {"type": "string", "minLength": 1, "maxLength": 64},
                    "description": "Root-of-trust types it vouches for: the only ones its \
                        devices may claim (else 403 rot-type-not-published); its registered \
                        devices of a type left out become unverified (rot_type_withdrawn)",
                },
                "identifier_scopes": {
                    "type": "array", "minItems": 1, "maxItems": 64,
                    "description": "The identifiers it may certify",
                    "items": {"type": "string", "pattern":
                        "^(imei:[0-9]{1,14}|mac:[0-9a-f]{1,12}|eui64:[0-9a-f]{1,16}|serial:[!-.0-~]{1,64}|ipv6:[0-9a-fA-F:.]+/[0-9]{1,3})$"},
                },
                "revoked_intermediates": {
                    "type": "array", "maxItems": MAX_REVOKED_INTERMEDIATES,
                    "description": "Intermediate CAs under the root to revoke, by the hex \
                        SHA-256 of their DER; those revoked before stay revoked",
                    "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                },
            }),
            &["name", "certificate", "rot_types", "identifier_scopes"],
            true,
        ),
        Op::Link => (
            json!({
                "kind": {"enum": ["parent", "child", "peer"]},
                "reg_id": text(128, "Its RegID"),
                "path": text(128, "Its registry path, e.g. IN1.HLT"),
                "public_key": jwk("Its signing key (the public_key of its GET /v1/registry)"),
                "inbox": text(1024, "Its exchange inbox: an SQS queue URL"),
            }),
            &["kind", "reg_id", "path", "public_key", "inbox"],
            true,
        ),
        Op::DecideEnquirer => (
            json!({
                "decision": {"enum": ["approve", "reject", "revoke"]},
                "role": {"enum": ["enquirer", "agency"]},
            }),
            &["decision"],
            true,
        ),
        Op::ReportVulnerability => (
            json!({
                "severity": {"type": "number", "minimum": 0, "maximum": 10},
                "cve": text(128, "e.g. CVE-2026-0001"),
                "summary": text(1024, "What the flaw is"),
                "target": {"oneOf": [
                    {
                        "type": "object",
                        "required": ["regdevids"],
                        "properties": {"regdevids": {
                            "type": "array", "minItems": 1, "maxItems": 100,
                            "items": regdevid("An affected device"),
                        }},
                        "additionalProperties": false,
                    },
                    {
                        "type": "object",
                        "required": ["make", "model"],
                        "properties": {
                            "make": text(128, "Make"),
                            "model": text(128, "Model"),
                            "firmware_from": text(128, "First affected firmware (inclusive)"),
                            "firmware_below": text(128, "First unaffected firmware (exclusive)"),
                        },
                        "additionalProperties": false,
                    },
                ]},
                "fixed_in_firmware": text(128, "The first firmware without the flaw"),
            }),
            &["severity", "summary", "target"],
            true,
        ),
        Op::ApplyVulnerability | Op::FixVulnerability => (
            json!({"id": from_path("id", "The vulnerability")}),
            &["id"],
            true,
        ),
        Op::Notify => (
            json!({
                "regdevids": {
                    "type": "array", "minItems": 1, "maxItems": MAX_BULK_DEVICES,
                    "items": regdevid("A device whose subscribers are told"),
                },
                "message": text(2048, "What the subscribers are told, as plain text"),
            }),
            &["regdevids", "message"],
            true,
        ),
        _ => return None,
    };
    Some(Claims {
        properties,
        required,
        closed,
    })
}

/// The whole payload schema of a signed operation: its claims with the `nonce` of `purpose`
/// and the binding (`htm`, `htu`) every signed request carries (API.md "Signed requests").
pub(crate) fn payload_schema(op: Op, purpose: &str) -> Option<Value> {
    let Claims {
        properties,
        required,
        closed,
    } = claims(op)?;
    let (method, path) = (op.spec().method, op.spec().path);
    let mut all = json!({
        "nonce": {
            "type": "string", "minLength": 1,
            "description": format!("A `{purpose}` nonce from POST /v1/challenges: single-use, \
                valid 5 minutes"),
        },
        "htm": {"const": method, "description": "The request's HTTP method"},
        "htu": {
            "type": "string", "maxLength": trustreg_core::binding::MAX_PATH,
            "pattern": htu_pattern(path),
            "description": format!("The request's path, {path} with its parameters as sent \
                (no scheme, host, stage or query)"),
        },
    });
    if let (Some(all), Value::Object(own)) = (all.as_object_mut(), properties) {
        all.extend(own);
    }
    let mut names = vec!["nonce", "htm", "htu"];
    names.extend(required);
    let mut schema = json!({
        "type": "object",
        "required": names,
        "properties": all,
    });
    if closed {
        schema["additionalProperties"] = json!(false);
    }
    Some(schema)
}

/// `^/v1/devices/[^/]+/holds$` for `/v1/devices/{regdevid}/holds`.
fn htu_pattern(path: &str) -> String {
    let segments: Vec<String> = path
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "[^/]+".to_owned()
            } else {
                segment.replace('.', "\\.")
            }
        })
        .collect();
    format!("^{}$", segments.join("/"))
}
