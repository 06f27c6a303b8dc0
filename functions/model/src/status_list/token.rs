//! The Status List Token in JWT format (the draft's section of that name): header
//! `typ: statuslist+jwt`, claims `sub` (the token's own URI), `iat`, `exp`, `ttl` and
//! `status_list {bits, lst}`, signed with the registry's own key (ES256, `crate::jose`), so
//! it verifies with the key the registry publishes (`GET /v1/registry`, `public_key`).

use p256::ecdsa::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::{StatusList, StatusListError, StatusListReference};
use crate::jose::{self, JwsHeader};

pub const STATUS_LIST_TYP: &str = "statuslist+jwt";
/// A token bigger than this is refused before parsing: ample for `MAX_LIST_BYTES` of a
/// realistic list (10^6 devices, 95% trusted, take about 100 KB).
pub const MAX_TOKEN_LEN: usize = 8 * 1024 * 1024;
/// Tolerated clock skew between the registry and a verifier, as for statements.
const SKEW_S: u64 = 60;

/// The draft's `status_list` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedStatusList {
    pub bits: u64,
    pub lst: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation_uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListClaims {
    /// The registry's path, as in its statements: optional in the draft unless the referenced
    /// token has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The URI the token is published at: a reference's `uri` must equal it.
    pub sub: String,
    pub iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Seconds a verifier may cache the token before fetching a fresh one (positive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    pub status_list: EncodedStatusList,
}

impl StatusListClaims {
    /// The claims of `list` published at `sub`, issued at `iat`, valid for `lifetime_s` and
    /// cacheable for `ttl_s` seconds.
    pub fn new(
        sub: impl Into<String>,
        list: &StatusList,
        iat: u64,
        lifetime_s: u64,
        ttl_s: u64,
    ) -> Self {
        Self {
            iss: None,
            sub: sub.into(),
            iat,
            exp: Some(iat + lifetime_s),
            ttl: Some(ttl_s),
            status_list: EncodedStatusList {
                bits: u64::from(list.bits().get()),
                lst: list.lst(),
                aggregation_uri: None,
            },
        }
    }

    pub fn with_iss(mut self, iss: impl Into<String>) -> Self {
        self.iss = Some(iss.into());
        self
    }
}

fn header(kid: Option<&str>) -> JwsHeader {
    let header = JwsHeader::es256().with_typ(STATUS_LIST_TYP);
    match kid {
        Some(kid) => header.with_kid(kid),
        None => header,
    }
}

/// What the registry's key signs (through KMS: one request per rebuild), to be completed by
/// `jose::assemble` with the raw signature.
pub fn signing_input(claims: &StatusListClaims, kid: Option<&str>) -> String {
    // Strings and integers always serialize; the fallback only keeps this infallible.
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    jose::signing_input(&header(kid), &payload)
}

/// The token signed with a local key: tests, benchmarks, tools.
pub fn sign_with(key: &SigningKey, claims: &StatusListClaims, kid: Option<&str>) -> String {
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    jose::sign_with(key, &header(kid), &payload)
}

/// A token that verified: its claims and its decoded list.
#[derive(Debug, Clone)]
pub struct VerifiedStatusList {
    pub claims: StatusListClaims,
    pub list: StatusList,
}

impl VerifiedStatusList {
    /// The status value at a reference, which must name this token (`uri` = `sub`).
    pub fn status(&self, reference: &StatusListReference) -> Result<u8, StatusListError> {
        if reference.uri != self.claims.sub {
            return Err(StatusListError::SubjectMismatch {
                expected: reference.uri.clone(),
                sub: self.claims.sub.clone(),
            });
        }
        self.list.get(reference.idx)
    }
}

/// Verifies a status list token against the registry's key at `now_s` (seconds since the
/// epoch), as the draft's relying party does: ES256 only (no MAC, no `none`), `typ`, the
/// signature, the claims, `exp`; then decodes the list.
pub fn verify_token(
    compact: &str,
    registry_key: &VerifyingKey,
    now_s: u64,
) -> Result<VerifiedStatusList, StatusListError> {
    let jws = jose::parse_up_to(compact.trim(), MAX_TOKEN_LEN)?;
    if jws.header().typ.as_deref() != Some(STATUS_LIST_TYP) {
        return Err(StatusListError::WrongType(jws.header().typ.clone()));
    }
    jws.verify(registry_key)
        .map_err(|_| StatusListError::BadSignature)?;
    let claims: StatusListClaims = serde_json::from_slice(jws.payload_bytes())
        .map_err(|e| StatusListError::Claims(e.to_string()))?;
    if let Some(exp) = claims.exp
        && now_s >= exp + SKEW_S
    {
        return Err(StatusListError::Expired { exp, now: now_s });
    }
    if claims.iat > now_s + SKEW_S {
        return Err(StatusListError::IssuedInFuture {
            iat: claims.iat,
            now: now_s,
        });
    }
    if claims.ttl == Some(0) {
        return Err(StatusListError::Claims("ttl must be positive".into()));
    }
    let list = StatusList::decode(claims.status_list.bits, &claims.status_list.lst)?;
    Ok(VerifiedStatusList { claims, list })
}
