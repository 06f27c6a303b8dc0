//! Client of a registry's device-facing API (API.md): register (Y.3059 7 iv a) and acknowledge
//! the issued RegDevID (7 iv b), signing every request with the secure element's key.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;
use trustreg_model::identifier::{Identifier, RegDevId};
use trustreg_model::jose::JwsHeader;
use trustreg_model::messages::{
    AcknowledgementClaims, AcknowledgementResponse, ChallengeRequest, ChallengeResponse,
    DeviceInfo, IdentifierClaim, Purpose, RegistrationClaims, RegistrationResponse, ReportClaims,
    ReportResponse,
};
use trustreg_model::routes::Op;

use crate::credential;
use crate::retry::RetryPolicy;
use crate::secure_element::{SecureElementError, SoftSecureElement, StoredRegistration};

pub const REGISTRATION_TYP: &str = "trustreg-registration+jwt";
pub const ACKNOWLEDGEMENT_TYP: &str = "trustreg-acknowledgement+jwt";
pub const REPORT_TYP: &str = "trustreg-report+jwt";
const JOSE: &str = "application/jose";
const PROBLEM_JSON: &str = "application/problem+json";
/// Bodies of unexpected answers are quoted in errors, cut to this many characters.
const BODY_EXCERPT: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("registry answered {status} {title}: {}", detail.as_deref().unwrap_or(""))]
    Problem {
        status: u16,
        problem_type: String,
        title: String,
        detail: Option<String>,
        /// The answer's `Retry-After`, in seconds (503 and 429 carry it: API.md).
        retry_after: Option<u64>,
    },
    #[error("registry answered {status}: {body}")]
    Status {
        status: u16,
        body: String,
        retry_after: Option<u64>,
    },
    #[error("unexpected answer from the registry: {0}")]
    Decode(String),
    #[error(transparent)]
    SecureElement(#[from] SecureElementError),
    #[error("the secure element has no certificate chain to register with")]
    NoChain,
    #[error("the device is not registered yet")]
    NotRegistered,
    #[error(
        "refusing registry URL {0}: a registry is reached over https (plain http only on the loopback)"
    )]
    InsecureUrl(String),
    #[error("refusing the registry's answer: {0}")]
    Credential(#[from] crate::credential::CredentialError),
    /// The feed is not the registry's, or not this device's: nothing of it is acted on.
    #[error("refusing the device's feed: {0}")]
    Feed(String),
    #[cfg(feature = "tpm")]
    #[error(transparent)]
    Tpm(#[from] crate::tpm::TpmDeviceError),
}

impl ClientError {}

/// How `report` sends again a report whose answer was lost (`retry`): twice more at most,
/// soon, since a device reports in the background and reports again later anyway.
pub(crate) const REPORT_RETRIES: RetryPolicy = RetryPolicy {
    retries: 2,
    base_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(5),
};

/// A fresh idempotency key: 128 random bits, base64url (22 characters, within the API's
/// 8 to 64 of A-Z a-z 0-9 - _ . ~).
pub fn idempotency_key() -> String {
    use base64::Engine as _;
    use rand_core::RngCore as _;
    let mut bytes = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Debug, Clone)]
pub struct RegistryClient {
    base_url: String,
    http: reqwest::Client,
}

impl RegistryClient {
    pub fn new(base_url: impl Into<String>) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Self::with_http(base_url, http)
    }

    /// A client over `http`; the URL must be https, or plain http to the loopback
    /// (`secure_url`).
    pub fn with_http(
        base_url: impl Into<String>,
        http: reqwest::Client,
    ) -> Result<Self, ClientError> {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        secure_url(&base_url)?;
        Ok(RegistryClient { base_url, http })
    }

    pub(crate) async fn post_registration(
        &self,
        jws: String,
    ) -> Result<RegistrationResponse, ClientError> {
        self.post_jws(format!("{}{}", self.base_url, Op::Register.path()), jws)
            .await
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub async fn challenge(&self, purpose: Purpose) -> Result<ChallengeResponse, ClientError> {
        self.challenge_with(&ChallengeRequest { purpose, tpm: None })
            .await
    }

    /// `POST /v1/challenges` with the whole request (a `tpm-activation` one carries the TPM's
    /// identity, and its answer the registry's credential).
    pub async fn challenge_with(
        &self,
        request: &ChallengeRequest,
    ) -> Result<ChallengeResponse, ClientError> {
        let response = self
            .http
            .post(format!("{}{}", self.base_url, Op::Challenge.path()))
            .json(request)
            .send()
            .await?;
        decode("POST", response).await
    }

    pub async fn register(
        &self,
        se: &SoftSecureElement,
        identifier: &Identifier,
        device: DeviceInfo,
        trust_domains: Vec<String>,
    ) -> Result<RegistrationResponse, ClientError> {
        self.register_with_owner(se, identifier, device, None, trust_domains)
            .await
    }

    /// Registers with the identity in the secure element (Y.3059 9.2 ii a) and keeps the issued
    /// RegDevID and credential there (9.2 ii b).
    pub async fn register_with_owner(
        &self,
        se: &SoftSecureElement,
        identifier: &Identifier,
        device: DeviceInfo,
        owner: Option<serde_json::Value>,
        trust_domains: Vec<String>,
    ) -> Result<RegistrationResponse, ClientError> {
        let nonce = self.challenge(Purpose::Register).await?.nonce;
        let claims = RegistrationClaims {
            tpm: None,
            nonce,
            identifier: IdentifierClaim {
                scheme: identifier.scheme(),
                value: identifier.value().to_owned(),
            },
            device,
            owner,
            trust_domains,
        };
        let jws = registration_jws(se, &claims)?;
        let response = self.post_registration(jws).await?;
        let regdevid = self
            .verified_regdevid(&se.public_key(), identifier, &response)
            .await?;
        se.store_registration(&StoredRegistration {
            regdevid,
            credential: response.credential.clone(),
            acknowledged: false,
        })?;
        Ok(response)
    }

    /// The RegDevID of `response` once its credential proved to be the registry's, for the
    /// RegDevID this device asked for (the registry's path and its identifier), binding the
    /// device's own key (Y.3059 9.2 ii a-d). Checked before anything is stored or acknowledged.
    pub(crate) async fn verified_regdevid(
        &self,
        device_key: &p256::ecdsa::VerifyingKey,
        identifier: &Identifier,
        response: &RegistrationResponse,
    ) -> Result<RegDevId, ClientError> {
        let registry: PublishedRegistry =
            self.get(format!("{}/v1/registry", self.base_url)).await?;
        let path = registry
            .path
            .parse()
            .map_err(|e| ClientError::Decode(format!("registry path: {e}")))?;
        let asked = RegDevId::new(path, identifier.clone()).to_string();
        let now_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        credential::verify_credential(
            &response.credential,
            &credential::Expected {
                registry_jwk: &registry.public_key,
                registry_path: &registry.path,
                regdevid: &asked,
                device_key,
                now_s,
            },
        )?;
        if response.regdevid != asked {
            return Err(credential::CredentialError::Subject {
                expected: asked,
                got: response.regdevid.clone(),
            }
            .into());
        }
        asked
            .parse()
            .map_err(|e| ClientError::Decode(format!("regdevid: {e}")))
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, url: String) -> Result<T, ClientError> {
        decode("GET", self.http.get(url).send().await?).await
    }

    /// Confirms to the registry that the device stored its RegDevID (Y.3059 7 iv b), naming
    /// itself by it (9.2 ii c).
    pub async fn acknowledge(
        &self,
        se: &SoftSecureElement,
    ) -> Result<AcknowledgementResponse, ClientError> {
        let registration = se.registration()?.ok_or(ClientError::NotRegistered)?;
        let regdevid = registration.regdevid.to_string();
        let nonce = self.challenge(Purpose::Acknowledge).await?.nonce;
        let claims = AcknowledgementClaims {
            nonce,
            regdevid: regdevid.clone(),
        };
        let jws = acknowledgement_jws(se, &claims)?;
        let url = format!(
            "{}{}",
            self.base_url,
            device_path(Op::Acknowledge, &regdevid)
        );
        let response: AcknowledgementResponse = self.post_jws(url, jws).await?;
        se.store_registration(&StoredRegistration {
            acknowledged: true,
            ..registration
        })?;
        Ok(response)
    }

    /// Reports the device's security parameters (Y.3059 7 iv c, 9.3 ii a), signed with the
    /// registered key over a fresh `report` nonce. The report carries an idempotency key of
    /// its own; when the answer is lost (a transport error, 502-504) it is sent again, over a
    /// fresh nonce with the same key, so a report the registry stored is not stored twice.
    pub async fn report(
        &self,
        se: &SoftSecureElement,
        params: ReportParams,
    ) -> Result<ReportResponse, ClientError> {
        let key = idempotency_key();
        let (result, _) = REPORT_RETRIES
            .run(|| self.report_once(se, &params, &key), |_, _, _| {})
            .await;
        result
    }

    /// One attempt of `report`, under the report's idempotency key.
    pub async fn report_once(
        &self,
        se: &SoftSecureElement,
        params: &ReportParams,
        idempotency_key: &str,
    ) -> Result<ReportResponse, ClientError> {
        self.send_report(se, params, idempotency_key, None).await
    }

    /// One report, answering the registry's evidence request of `evidence_challenge` if any.
    pub(crate) async fn send_report(
        &self,
        se: &SoftSecureElement,
        params: &ReportParams,
        idempotency_key: &str,
        evidence_challenge: Option<&str>,
    ) -> Result<ReportResponse, ClientError> {
        let registration = se.registration()?.ok_or(ClientError::NotRegistered)?;
        let regdevid = registration.regdevid.to_string();
        let nonce = self.challenge(Purpose::Report).await?.nonce;
        let claims = ReportClaims {
            nonce,
            firmware_version: params.firmware_version.clone(),
            software_version: params.software_version.clone(),
            communication: params.communication.clone(),
            configuration: params.configuration.clone(),
            idempotency_key: Some(idempotency_key.to_owned()),
            evidence_challenge: evidence_challenge.map(str::to_owned),
        };
        let jws = report_jws(se, &regdevid, &claims)?;
        let url = format!("{}{}", self.base_url, device_path(Op::Report, &regdevid));
        self.post_jws(url, jws).await
    }

    pub(crate) async fn post_jws<T: DeserializeOwned>(
        &self,
        url: String,
        jws: String,
    ) -> Result<T, ClientError> {
        let response = self
            .http
            .post(url)
            .header(CONTENT_TYPE, JOSE)
            .body(jws)
            .send()
            .await?;
        decode("POST", response).await
    }
}

/// What the device reads of `GET /v1/registry` to check its credential.
#[derive(serde::Deserialize)]
pub(crate) struct PublishedRegistry {
    pub(crate) path: String,
    pub(crate) public_key: serde_json::Value,
}

/// A registry is reached over https: its answers (a credential, a RegDevID) are what the
/// device comes to trust, and the device's requests name it. Plain http is allowed only to
/// the loopback (127.0.0.0/8, ::1, `localhost`), where no network lies between the two: local
/// runs and the tests, which reach LocalStack's API Gateway at `http://127.0.0.1:<port>`.
pub fn secure_url(base_url: &str) -> Result<(), ClientError> {
    let refused = || ClientError::InsecureUrl(base_url.to_owned());
    let url = reqwest::Url::parse(base_url).map_err(|_| refused())?;
    // The URL parser has already lowercased the name and bracketed an IPv6 address.
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(refused()),
    }
}

/// The registration request: claims signed by the device key, with the certificate chain of
/// the secure element in `x5c` (leaf first).
pub fn registration_jws(
    se: &SoftSecureElement,
    claims: &RegistrationClaims,
) -> Result<String, ClientError> {
    let chain = se.chain_der()?;
    if chain.is_empty() {
        return Err(ClientError::NoChain);
    }
    let header = JwsHeader::es256()
        .with_typ(REGISTRATION_TYP)
        .with_x5c_der(&chain);
    Ok(se.sign_jws(&header, &bound(claims, "POST", Op::Register.path())?))
}

/// The acknowledgement: claims signed by the registered key, naming the device by `kid`.
pub fn acknowledgement_jws(
    se: &SoftSecureElement,
    claims: &AcknowledgementClaims,
) -> Result<String, ClientError> {
    let header = JwsHeader::es256()
        .with_typ(ACKNOWLEDGEMENT_TYP)
        .with_kid(claims.regdevid.clone());
    let path = device_path(Op::Acknowledge, &claims.regdevid);
    Ok(se.sign_jws(&header, &bound(claims, "POST", &path)?))
}

/// What a device reports about itself; the client adds the nonce.
#[derive(Debug, Clone, Default)]
pub struct ReportParams {
    pub firmware_version: String,
    pub software_version: String,
    pub communication: Vec<String>,
    pub configuration: Option<serde_json::Value>,
}

/// A security-parameter report: claims signed by the registered key, `kid` = RegDevID.
pub fn report_jws(
    se: &SoftSecureElement,
    regdevid: &str,
    claims: &ReportClaims,
) -> Result<String, ClientError> {
    let header = JwsHeader::es256().with_typ(REPORT_TYP).with_kid(regdevid);
    let path = device_path(Op::Report, regdevid);
    Ok(se.sign_jws(&header, &bound(claims, "POST", &path)?))
}

/// The claims of a signed request made for `method` on `path` (`htm`, `htu`: API.md, "Signed
/// requests"), as JSON bytes to sign.
pub fn bound(claims: &impl Serialize, method: &str, path: &str) -> Result<Vec<u8>, ClientError> {
    let value = serde_json::to_value(claims).map_err(|e| ClientError::Decode(e.to_string()))?;
    serde_json::to_vec(&trustreg_model::binding::bind(value, method, path))
        .map_err(|e| ClientError::Decode(e.to_string()))
}

/// The path of `op`, a route of one device (`{regdevid}`), the RegDevID percent-encoded as one
/// path segment.
pub fn device_path(op: Op, regdevid: &str) -> String {
    op.path_with(&[("regdevid", &encode_path_segment(regdevid))])
}

/// One answer as the client received it, for an observer.
pub struct Exchange<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub status: u16,
    pub headers: &'a reqwest::header::HeaderMap,
    pub body: &'a [u8],
}

static OBSERVER: std::sync::OnceLock<fn(&Exchange<'_>)> = std::sync::OnceLock::new();

/// Hands every answer any client of this process receives to `observer` before it is decoded:
/// the e2e tests check each against the API's OpenAPI document (tests/src/contract.rs). The
/// first observer set stays.
pub fn observe_exchanges(observer: fn(&Exchange<'_>)) {
    let _ = OBSERVER.set(observer);
}

/// Success bodies become `T`; RFC 9457 problems become `ClientError::Problem`.
pub(crate) async fn decode<T: DeserializeOwned>(
    method: &str,
    response: reqwest::Response,
) -> Result<T, ClientError> {
    let status = response.status();
    let url = response.url().to_string();
    let headers = response.headers().clone();
    let is_problem = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(PROBLEM_JSON));
    // Delay-seconds only: the registry never sends the HTTP-date form (API.md).
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok());
    let body = response.bytes().await?;
    if let Some(observer) = OBSERVER.get() {
        observer(&Exchange {
            method,
            url: &url,
            status: status.as_u16(),
            headers: &headers,
            body: &body,
        });
    }
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| ClientError::Decode(e.to_string()));
    }
    if is_problem && let Ok(problem) = serde_json::from_slice::<serde_json::Value>(&body) {
        let text = |name: &str| {
            problem
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        return Err(ClientError::Problem {
            status: status.as_u16(),
            problem_type: text("type").unwrap_or_else(|| "about:blank".to_owned()),
            title: text("title").unwrap_or_default(),
            detail: text("detail"),
            retry_after,
        });
    }
    Err(ClientError::Status {
        status: status.as_u16(),
        body: String::from_utf8_lossy(&body)
            .chars()
            .take(BODY_EXCERPT)
            .collect(),
        retry_after,
    })
}

/// Percent-encodes everything but RFC 3986 unreserved characters: a serial RegDevID contains
/// '/', and ':' is left to no server's interpretation either.
pub fn encode_path_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

pub const VIRTUAL_ID_TYP: &str = "trustreg-virtual-id+jwt";

impl RegistryClient {
    /// Asks for a virtual RegDevID (Y.3059 9.2 i f) that stands for this device for
    /// `ttl_seconds`, or for one lookup when `single_use`, so the RegDevID stays private.
    pub async fn virtual_id(
        &self,
        se: &SoftSecureElement,
        ttl_seconds: u64,
        single_use: bool,
    ) -> Result<trustreg_model::messages::VirtualIdResponse, ClientError> {
        let registration = se.registration()?.ok_or(ClientError::NotRegistered)?;
        let regdevid = registration.regdevid.to_string();
        let nonce = self.challenge(Purpose::VirtualId).await?.nonce;
        let claims = trustreg_model::messages::VirtualIdClaims {
            nonce,
            ttl_seconds,
            single_use,
        };
        let path = device_path(Op::CreateVirtualId, &regdevid);
        let payload = bound(&claims, "POST", &path)?;
        let header = JwsHeader::es256()
            .with_typ(VIRTUAL_ID_TYP)
            .with_kid(regdevid.clone());
        let url = format!("{}{path}", self.base_url);
        self.post_jws(url, se.sign_jws(&header, &payload)).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Y.3059 9.2 ii a-d
    #[test]
    fn regdevid_path_segments_are_percent_encoded() {
        assert_eq!(
            encode_path_segment("IN1.HLT.P07:serial:acme/SN-1_a~b"),
            "IN1.HLT.P07%3Aserial%3Aacme%2FSN-1_a~b"
        );
        assert_eq!(
            encode_path_segment("IN1:ipv6:2001:db8::1"),
            "IN1%3Aipv6%3A2001%3Adb8%3A%3A1"
        );
    }

    #[test]
    fn base_url_trailing_slash_is_ignored() {
        let client =
            RegistryClient::with_http("http://127.0.0.1:9/", reqwest::Client::new()).unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9");
    }

    // Y.3059 9.2 ii a-d
    #[test]
    fn plain_http_is_refused_except_on_the_loopback() {
        for allowed in [
            "https://registry.example/prod",
            "http://127.0.0.1:4566/_aws/execute-api/x/test",
            "http://127.3.4.5",
            "http://[::1]:8080",
            "http://localhost:4566",
            "HTTP://LOCALHOST",
        ] {
            assert!(secure_url(allowed).is_ok(), "{allowed}");
        }
        for refused in [
            "http://registry.example/prod",
            "http://10.0.0.1",
            "http://[2001:db8::1]",
            "http://localhost.localstack.cloud:4566",
            "http://localhost.evil.example",
            "ftp://127.0.0.1",
            "not a url",
        ] {
            assert!(
                matches!(
                    RegistryClient::new(refused),
                    Err(ClientError::InsecureUrl(_))
                ),
                "{refused}"
            );
        }
    }
}
