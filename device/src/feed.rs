//! The device's side of the registry's interrogation (Y.3059 9.2 note) and of its feed (9.4 i
//! b): the device fetches what concerns it, trusts it only once the registry's signature
//! verifies with the published key and the feed is its own, and answers an evidence request
//! with a signed report carrying the request's challenge.

use trustreg_model::evidence::{Feed, FeedClaims, FeedResponse, verify_feed};
use trustreg_model::jose::{self, JwsHeader};
use trustreg_model::messages::{Purpose, ReportResponse};
use trustreg_model::routes::Op;

use crate::client::{
    ClientError, PublishedRegistry, REPORT_RETRIES, RegistryClient, ReportParams, bound,
    device_path, idempotency_key,
};
use crate::secure_element::SoftSecureElement;

pub const FEED_REQUEST_TYP: &str = "trustreg-feed-request+jwt";

/// A page of the feed to ask for: from `after` (the previous page's `next`), at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct FeedPage {
    pub after: Option<String>,
    pub limit: Option<usize>,
}

impl RegistryClient {
    /// Fetches a page of the device's feed, signed with the registered key, and verifies it:
    /// signed by the registry of `GET /v1/registry` (its published key), and of this device.
    pub async fn fetch_feed(
        &self,
        se: &SoftSecureElement,
        page: FeedPage,
    ) -> Result<Feed, ClientError> {
        let registration = se.registration()?.ok_or(ClientError::NotRegistered)?;
        let regdevid = registration.regdevid.to_string();
        let claims = FeedClaims {
            nonce: self.challenge(Purpose::Feed).await?.nonce,
            regdevid: regdevid.clone(),
            after: page.after,
            limit: page.limit,
        };
        let path = device_path(Op::Feed, &regdevid);
        let header = JwsHeader::es256()
            .with_typ(FEED_REQUEST_TYP)
            .with_kid(regdevid.clone());
        let jws = se.sign_jws(&header, &bound(&claims, "POST", &path)?);
        let answer: FeedResponse = self
            .post_jws(format!("{}{path}", self.base_url()), jws)
            .await?;
        let registry: PublishedRegistry = self
            .get(format!(
                "{}{}",
                self.base_url(),
                Op::RegistryDocument.path()
            ))
            .await?;
        let key = jose::key_from_jwk(&registry.public_key)
            .map_err(|e| ClientError::Decode(format!("the registry's key: {e}")))?;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or_default();
        verify_feed(&answer.feed, &key, &regdevid, now_ms)
            .map_err(|e| ClientError::Feed(e.to_string()))
    }

    /// Answers the registry's evidence request of `challenge` (read in the feed) with a report
    /// of the device's security parameters; sent again over a fresh nonce, under one
    /// idempotency key, when the answer is lost, as `report` does.
    pub async fn answer_evidence_request(
        &self,
        se: &SoftSecureElement,
        challenge: &str,
        params: ReportParams,
    ) -> Result<ReportResponse, ClientError> {
        let key = idempotency_key();
        let (result, _) = REPORT_RETRIES
            .run(
                || self.send_report(se, &params, &key, Some(challenge)),
                |_, _, _| {},
            )
            .await;
        result
    }
}
