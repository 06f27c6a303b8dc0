//! Wire payloads shared by the device side and the registry (API.md, device-facing routes).

use serde::{Deserialize, Serialize};

use crate::error::RegistryError;
use crate::identifier::Scheme;

/// The most devices one bulk request (registration or lookup) names.
pub const MAX_BULK_ITEMS: usize = 1000;

/// What a challenge is for; a nonce is only accepted for the purpose it was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Register,
    Acknowledge,
    Report,
    Login,
    /// Issuing a virtual RegDevID (9.2 i f).
    #[serde(rename = "virtual-id")]
    VirtualId,
    /// Registering an owner or custodian (9.2 i d).
    Owner,
    /// An administrator's verification of an owner.
    #[serde(rename = "owner-verification")]
    OwnerVerification,
    /// A device changing owner.
    Transfer,
    /// Reporting or following up a vulnerability (9.3 ii b).
    Vulnerability,
    /// Placing or releasing a hold on a device.
    Hold,
    /// Ending a device's registration (6.3 e).
    Deregister,
    /// Signing a bulk registration (9.2 i g).
    Bulk,
    /// Setting a trust domain's status policy (6.1 f).
    #[serde(rename = "trust-domain")]
    TrustDomain,
    /// An administrator's decision on an enquirer (approve, reject, revoke, role).
    #[serde(rename = "enquirer-decision")]
    EnquirerDecision,
    /// Adding or removing an accepted root of trust (7 ii).
    Root,
    /// An administrator's notification to the subscribers of a set of devices (9.4 ii).
    #[serde(rename = "bulk-notification")]
    BulkNotification,
    /// An administrator's link to another registry of the hierarchy.
    Link,
    /// An administrator's request for a device's fresh evidence (9.2 note).
    #[serde(rename = "evidence-request")]
    EvidenceRequest,
    /// A device reading its feed (9.4 i b).
    Feed,
    /// Registering a device whose root of trust is a TPM: the challenge carries the
    /// registry's MakeCredential for the device's EK and AK (`TpmActivationRequest`).
    #[serde(rename = "tpm-activation")]
    TpmActivation,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    pub purpose: Purpose,
    /// Purpose `tpm-activation` only, and then required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<TpmActivationRequest>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChallengeResponse {
    pub nonce: String,
    /// RFC 3339.
    pub expires_at: String,
    /// For a `tpm-activation` challenge: what TPM2_ActivateCredential takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<TpmCredential>,
}

/// The TPM's identity, for a `tpm-activation` challenge (TPM structures base64url, no padding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TpmActivationRequest {
    /// The EK certificate then the CAs up to (not necessarily including) an accepted root
    /// published for `tpm`; base64 (standard) DER, as `x5c`.
    pub ek_certificates: Vec<String>,
    /// `TPM2B_PUBLIC` of the EK: its name algorithm and symmetric parameters shape the credential.
    pub ek_public: String,
    /// `TPM2B_PUBLIC` of the AK.
    pub ak_public: String,
}

/// The registry's MakeCredential (TPM 2.0 Part 1 §24): marshaled `TPM2B_ID_OBJECT` and
/// `TPM2B_ENCRYPTED_SECRET`, base64url.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TpmCredential {
    pub credential_blob: String,
    pub encrypted_secret: String,
}

/// A TPM device's evidence in its registration claims (`tpm`), over a `tpm-activation` nonce.
/// TPM structures base64url, no padding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TpmEvidence {
    /// `TPM2B_PUBLIC` of the AK the challenge was made for.
    pub ak_public: String,
    /// The secret TPM2_ActivateCredential recovered.
    pub activation: String,
    /// `TPM2B_PUBLIC` of the registration key: the key of the x5c leaf, which signs the JWS.
    pub key_public: String,
    /// `TPMS_ATTEST` of TPM2_Certify of the registration key by the AK, with qualifyingData
    /// `rot::tpm::certify_qualifying_data(nonce)`.
    pub certify_info: String,
    /// `TPMT_SIGNATURE` of `certify_info` by the AK.
    pub certify_signature: String,
}

/// An identifier as sent on the wire, before normalization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierClaim {
    pub scheme: Scheme,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotClaim {
    /// e.g. `secure-element`, `tpm`, `trustzone`.
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PowerClaim {
    pub source: String,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Device attributes a registry stores (Y.3059 9.2 i e).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub make: String,
    pub model: String,
    pub firmware_version: String,
    pub software_version: String,
    pub rot: RotClaim,
    #[serde(default)]
    pub communication: Vec<String>,
    #[serde(default)]
    pub power: PowerClaim,
    #[serde(default)]
    pub protocols: Vec<String>,
}

/// Payload of the registration JWS (its header carries `x5c`, leaf first).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistrationClaims {
    pub nonce: String,
    pub identifier: IdentifierClaim,
    pub device: DeviceInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<serde_json::Value>,
    #[serde(default)]
    pub trust_domains: Vec<String>,
    /// Required when `device.rot.type` is `tpm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<TpmEvidence>,
}

/// Payload of the acknowledgement JWS (its header names the device by `kid` = RegDevID).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgementClaims {
    pub nonce: String,
    pub regdevid: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistrationResponse {
    pub regdevid: String,
    pub status: crate::status::TrustStatus,
    /// Compact JWS signed by the registry's key: the device's registration credential.
    pub credential: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AcknowledgementResponse {
    pub regdevid: String,
    pub status: crate::status::TrustStatus,
}

/// Payload of `POST /v1/devices/{regdevid}/virtual-ids`, signed by the device or its owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualIdClaims {
    pub nonce: String,
    pub ttl_seconds: u64,
    #[serde(default)]
    pub single_use: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VirtualIdResponse {
    pub virtual_id: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// Who reported a vulnerability (9.3 ii b).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Device,
    Owner,
    Agency,
    Registry,
    Admin,
}

/// What a vulnerability affects: listed devices, or a make/model with a firmware range
/// (`firmware_from` inclusive, `firmware_below` exclusive, compared numerically by parts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VulnerabilityTarget {
    Devices {
        regdevids: Vec<String>,
    },
    Range {
        make: String,
        model: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        firmware_from: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        firmware_below: Option<String>,
    },
}

/// Payload of a signed `POST /v1/vulnerabilities`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VulnerabilityClaims {
    pub nonce: String,
    /// 0.0-10.0, CVSS-like.
    pub severity: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cve: Option<String>,
    pub summary: String,
    pub target: VulnerabilityTarget,
    /// The first firmware without the flaw: a device that reports it, or a later one, is no
    /// longer affected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_in_firmware: Option<String>,
}

/// Payload of the signed follow-ups on one vulnerability (`apply`, `fixed`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VulnerabilityActionClaims {
    pub nonce: String,
    /// The vulnerability of the path: a signature for one is no use on another.
    pub id: String,
}

/// How far the re-evaluation of a vulnerability's devices got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnerabilityProgress {
    pub id: String,
    pub affected_so_far: u64,
    pub complete: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldKind {
    Stolen,
    Compromised,
}

impl HoldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stolen => "stolen",
            Self::Compromised => "compromised",
        }
    }
}

/// Payload of a signed hold (`POST /v1/devices/{regdevid}/holds`) or of its release.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldClaims {
    pub nonce: String,
    /// The device of the path: a signature for one device is no use on another.
    pub regdevid: String,
    pub kind: HoldKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Names this change, so a retry over a fresh nonce is recognised (`crate::idempotency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HoldResponse {
    pub regdevid: String,
    pub status: crate::status::TrustStatus,
    pub holds: Vec<String>,
}

/// Payload of a signed deregistration (`POST /v1/devices/{regdevid}/deregistration`, 6.3 e),
/// by the device's owner or an administrator over a `deregister` nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeregistrationClaims {
    pub nonce: String,
    /// The device of the path: a signature for one device is no use on another.
    pub regdevid: String,
    pub reason: crate::status::DeregistrationReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Names this change, so a retry over a fresh nonce is recognised (`crate::idempotency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// The answer to a deregistration: the same for the first one and for any later one, which
/// changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeregistrationResponse {
    pub regdevid: String,
    /// Always `deregistered`.
    pub status: crate::status::TrustStatus,
    /// RFC 3339: when the registration ended.
    pub deregistered_at: String,
    pub reason: crate::status::DeregistrationReason,
}

/// Payload of an owner's revocation (`POST /v1/devices/{regdevid}/owner/revocation`), by the
/// device's current owner or an administrator over a `transfer` nonce: the owner's custody
/// ends and passes to nobody.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerRevocationClaims {
    pub nonce: String,
    /// The device of the path: a signature for one device is no use on another.
    pub regdevid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Names this change, so a retry over a fresh nonce is recognised (`crate::idempotency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// The answer to an owner's revocation: the device, now without an owner, and who owned it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerRevocationResponse {
    pub regdevid: String,
    pub status: crate::status::TrustStatus,
    pub former_owner_id: String,
    /// RFC 3339: when the custody ended.
    pub revoked_at: String,
}

/// Payload of a security-parameter report (Y.3059 9.3 ii a), signed by the registered device
/// key (`kid` = RegDevID) over a `report` nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportClaims {
    pub nonce: String,
    pub firmware_version: String,
    pub software_version: String,
    #[serde(default)]
    pub communication: Vec<String>,
    /// Free JSON of the device's security configuration, bounded in size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<serde_json::Value>,
    /// Names this report, so a retry over a fresh nonce is recognised (`crate::idempotency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The challenge of the registry's pending evidence request this report answers (9.2
    /// note), as the device read it in its feed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_challenge: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportResponse {
    pub regdevid: String,
    pub status: crate::status::TrustStatus,
    /// RFC 3339 time the registry stored the report at.
    pub received_at: String,
    /// The fields that differ from what the registry held.
    pub changed: Vec<String>,
}

/// One device of a bulk registration (Y.3059 9.2 i g): what a registration JWS would carry,
/// vouched for by the manufacturer's certificate instead of a device signature. The device
/// proves possession of its key later, when it acknowledges.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkDevice {
    pub identifier: IdentifierClaim,
    pub device: DeviceInfo,
    /// Standard base64 DER certificates, leaf first (as in `x5c`).
    pub certificate_chain: Vec<String>,
    #[serde(default)]
    pub trust_domains: Vec<String>,
    /// The device's owner or custodian, as in a registration's `owner` claim: owners and
    /// devices register in one file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<serde_json::Value>,
}

/// Claims of the signature over a bulk request's body (`Authorization: TrustReg-JWS <jws>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodySignatureClaims {
    pub nonce: String,
    /// base64url SHA-256 of the exact body bytes.
    pub body_sha256: String,
}

/// A credential from a bulk registration: the registry's one signature over a Merkle tree
/// head, and this device's leaf with its inclusion proof (RFC 6962).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCredential {
    /// Compact JWS by the registry over `{iss, iat, size, root}`.
    pub batch: String,
    pub index: usize,
    pub size: usize,
    /// base64url hashes, bottom up.
    pub proof: Vec<String>,
    /// base64url of the leaf: this device's credential claims as JSON.
    pub claims: String,
}

/// An owner's or custodian's identity attributes (9.2 i d): PII. Stored only sealed; its
/// `Debug` prints no value, so it cannot leak through a log line.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
}

impl std::fmt::Debug for OwnerAttributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OwnerAttributes(redacted)")
    }
}

/// The `owner` claim of a registration: an existing owner by id, or a new one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerClaim {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<OwnerKind>,
    #[serde(default)]
    pub attributes: OwnerAttributes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<serde_json::Value>,
}

/// Payload of `POST /v1/owners`: signed by the owner's own key (self-service, the signature
/// is its proof of possession; `kid` is absent and the key is `public_key`) or by an admin.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerRegistrationClaims {
    pub nonce: String,
    pub kind: OwnerKind,
    pub attributes: OwnerAttributes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OwnerResponse {
    pub owner_id: String,
    pub kind: OwnerKind,
    pub verification: VerificationState,
}

/// Payload of `POST /v1/owners/{owner_id}/verification`, signed by an administrator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationClaims {
    pub nonce: String,
    pub state: VerificationState,
}

/// Payload of `POST /v1/devices/{regdevid}/transfer`, signed by the current owner or an admin.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferClaims {
    pub nonce: String,
    pub new_owner_id: String,
    /// Names this transfer, so a retry over a fresh nonce is recognised (`crate::idempotency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// Payload of `POST /v1/devices/{regdevid}/transfer/accept`, signed by the receiving owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptTransferClaims {
    pub nonce: String,
}

/// The device's owner after a transfer request; `offered_to` while an owner's offer waits
/// for the receiving owner's acceptance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransferResponse {
    pub regdevid: String,
    pub owner_id: String,
    pub status: crate::status::TrustStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_to: Option<String>,
}

/// An owner with clear attributes: only for that owner or an administrator (9.1 iii).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerDetails {
    pub owner_id: String,
    pub kind: OwnerKind,
    pub attributes: OwnerAttributes,
    pub verification: Verification,
}

/// Payload of `PUT /v1/admin/trust-domains/{name}`, signed by an administrator (`kid` =
/// `admin:<name>`) over a `trust-domain` nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainPolicyClaims {
    pub nonce: String,
    pub policy: crate::status::Policy,
}

/// Payload of `PUT /v1/admin/roots/{id}`, signed by an administrator over a `root` nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootClaims {
    pub nonce: String,
    pub name: String,
    /// Standard base64 DER of the CA certificate.
    pub certificate: String,
    pub rot_types: Vec<String>,
    /// The identifiers the root may certify (`rot::scope`): `imei:<TAC>`, `mac:<OUI>`, ...
    pub identifier_scopes: Vec<String>,
    /// Intermediate CAs under the root to revoke (`rot::intermediate_id`); those revoked
    /// before stay revoked.
    #[serde(default)]
    pub revoked_intermediates: Vec<String>,
}

/// Payload of `DELETE /v1/admin/roots/{id}`, signed by an administrator over a `root` nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootRemovalClaims {
    pub nonce: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerKind {
    Owner,
    Custodian,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerificationState {
    Unverified,
    Verified,
    Rejected,
}

/// Who verified an owner's identity, and when (9.2 i d).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub state: VerificationState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
}

/// The longest free-text `note` a signed request carries (holds, deregistrations).
pub const MAX_NOTE: usize = 512;

/// A signed request names the device it acts on (`regdevid` in its claims): the device of the
/// request's path, in its canonical form or as the path wrote it. Otherwise a signature made
/// for one device could be replayed against another.
pub fn check_signed_device(
    signed: &str,
    path: &crate::identifier::RegDevId,
    path_text: &str,
) -> Result<(), RegistryError> {
    if signed != path.to_string() && signed != path_text {
        return Err(RegistryError::Malformed(
            "the signed RegDevID differs from the path".into(),
        ));
    }
    Ok(())
}

/// A signed request's `note`: absent, or 1 to `MAX_NOTE` bytes of something other than blanks.
pub fn check_note(note: Option<&str>) -> Result<(), RegistryError> {
    if note.is_some_and(|n| n.trim().is_empty() || n.len() > MAX_NOTE) {
        return Err(RegistryError::Malformed(format!(
            "note must be 1 to {MAX_NOTE} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::check_signed_device;
    use crate::error::RegistryError;
    use crate::identifier::RegDevId;

    // A signature over one device's RegDevID acts on that device only: replayed against
    // another device's path it is refused, whatever form the path writes the RegDevID in.
    #[test]
    fn a_signed_request_acts_only_on_the_device_it_names() {
        let text = "IN1.HLT.P07:imei:356938035643809";
        let path: RegDevId = text.parse().unwrap();
        assert!(check_signed_device(text, &path, text).is_ok());
        assert!(check_signed_device(&path.to_string(), &path, text).is_ok());
        let other = "IN1.HLT.P07:imei:490154203237518";
        assert!(matches!(
            check_signed_device(other, &path, text),
            Err(RegistryError::Malformed(_))
        ));
        let another: RegDevId = other.parse().unwrap();
        assert!(check_signed_device(text, &another, other).is_err());
    }
}
