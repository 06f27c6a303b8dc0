//! `ExchangeOutbox` on SQS: a message to another registry is a SendMessage to its inbox queue
//! (a standard queue; the receiver drops duplicates by origin and sequence number).
//!
//! The SDK sends every request to the endpoint of its client, never to the host of the
//! QueueUrl: an inbox in another region is reached through a client of that region (taken from
//! the URL's host), and with an endpoint override (LocalStack, whose queue URLs name hosts
//! that do not resolve here) the override is kept and only the region follows the URL.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::Region;
use aws_sdk_sqs::error::DisplayErrorContext;
use trustreg_core::error::NotifyError;
use trustreg_core::ports::ExchangeOutbox;

pub struct SqsOutbox {
    sdk: aws_config::SdkConfig,
    /// One client per region an inbox was found in.
    clients: Mutex<HashMap<String, Client>>,
}

impl SqsOutbox {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            sdk: sdk.clone(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn client_for(&self, region: Option<&str>) -> Result<Client, NotifyError> {
        let region = region
            .map(str::to_owned)
            .or_else(|| self.sdk.region().map(|r| r.to_string()))
            .unwrap_or_default();
        let mut clients = self
            .clients
            .lock()
            .map_err(|_| NotifyError::Failed("SQS client cache poisoned".into()))?;
        let client = clients.entry(region.clone()).or_insert_with(|| {
            let mut config = aws_sdk_sqs::config::Builder::from(&self.sdk);
            if !region.is_empty() {
                config = config.region(Region::new(region));
            }
            Client::from_conf(config.build())
        });
        Ok(client.clone())
    }
}

#[async_trait]
impl ExchangeOutbox for SqsOutbox {
    async fn send(&self, inbox: &str, message: &str) -> Result<(), NotifyError> {
        let region = queue_region(inbox)?;
        self.client_for(region.as_deref())?
            .send_message()
            .queue_url(inbox)
            .message_body(message)
            .send()
            .await
            .map_err(|e| NotifyError::Failed(format!("SQS: {}", DisplayErrorContext(e))))?;
        Ok(())
    }
}

/// Brings messages of a function's SQS event source back sooner than the queue's visibility
/// timeout (minutes, sized for the function's timeout): a message reported as failed is
/// otherwise received again only then.
pub struct Redelivery {
    client: Client,
}

impl Redelivery {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(sdk),
        }
    }

    /// The message of `receipt_handle` in the queue `queue_arn` (an event record's
    /// `eventSourceARN`) is received again after `seconds`.
    pub async fn after(
        &self,
        queue_arn: &str,
        receipt_handle: &str,
        seconds: i32,
    ) -> Result<(), NotifyError> {
        let url = queue_url_of_arn(queue_arn)
            .ok_or_else(|| NotifyError::Failed(format!("not an SQS queue ARN: {queue_arn}")))?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(|e| NotifyError::Failed(format!("SQS: {}", DisplayErrorContext(e))))?;
        Ok(())
    }
}

/// Sets a message aside in a dead-letter queue: its body as received, with why (`refusal`, a
/// stable error code) as a message attribute, so an operator sees the cause and
/// `trustreg admin redrive` can bring it back unchanged once the cause is fixed.
pub struct DeadLetters {
    client: Client,
    queue_url: String,
}

/// The message attribute naming why a message was set aside.
pub const REFUSAL_ATTRIBUTE: &str = "refusal";

impl DeadLetters {
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: String) -> Self {
        Self {
            client: Client::new(sdk),
            queue_url,
        }
    }

    pub async fn set_aside(&self, body: &str, refusal: &str) -> Result<(), NotifyError> {
        let attribute = aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(refusal)
            .build()
            .map_err(|e| NotifyError::Failed(format!("SQS attribute: {e}")))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_attributes(REFUSAL_ATTRIBUTE, attribute)
            .send()
            .await
            .map_err(|e| NotifyError::Failed(format!("SQS: {}", DisplayErrorContext(e))))?;
        Ok(())
    }
}

/// `arn:<partition>:sqs:<region>:<account>:<name>` -> the queue's URL. Only its path
/// (account, name) matters to an endpoint override; the host names the region for AWS.
pub fn queue_url_of_arn(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "sqs", region, account, name]
            if !region.is_empty() && !account.is_empty() && !name.is_empty() =>
        {
            Some(format!(
                "https://sqs.{region}.amazonaws.com/{account}/{name}"
            ))
        }
        _ => None,
    }
}

/// The region of a queue URL's host (`sqs.<region>.amazonaws.com`, the legacy
/// `<region>.queue.amazonaws.com`, LocalStack's `sqs.<region>.localhost.localstack.cloud`),
/// none for a host that does not name one (`localhost:4566`). Anything but an http(s) URL
/// with a path `/<account>/<queue>` is refused: an inbox is nothing else.
pub fn queue_region(url: &str) -> Result<Option<String>, NotifyError> {
    let invalid = || NotifyError::refused(&format!("not an SQS queue URL: {url}"));
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    let (authority, path) = rest.split_once('/').ok_or_else(invalid)?;
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() != 2 || segments.iter().any(|s| s.is_empty()) {
        return Err(invalid());
    }
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _port)| host);
    let labels: Vec<&str> = host.split('.').collect();
    let region = match labels.as_slice() {
        ["sqs", region, ..] if labels.len() > 2 => Some(*region),
        [region, "queue", "amazonaws", ..] => Some(*region),
        _ => None,
    };
    Ok(region.map(str::to_owned))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{queue_region, queue_url_of_arn};

    // Y.3059 7 iv f
    #[test]
    fn an_event_sources_queue_arn_gives_its_url() {
        assert_eq!(
            queue_url_of_arn("arn:aws:sqs:eu-west-1:123456789012:trustreg-hlt-inbox").as_deref(),
            Some("https://sqs.eu-west-1.amazonaws.com/123456789012/trustreg-hlt-inbox")
        );
        for bad in [
            "arn:aws:sns:eu-west-1:1:t",
            "arn:aws:sqs::1:q",
            "trustreg-hlt-inbox",
        ] {
            assert_eq!(queue_url_of_arn(bad), None, "{bad}");
        }
    }

    // Y.3059 9.1 v
    #[test]
    fn queue_urls_name_their_region() {
        let region = |url| queue_region(url).unwrap();
        assert_eq!(
            region("https://sqs.eu-west-1.amazonaws.com/123456789012/trustreg-hlt-inbox"),
            Some("eu-west-1".into())
        );
        assert_eq!(
            region("https://ap-south-1.queue.amazonaws.com/123456789012/trustreg-in1-inbox"),
            Some("ap-south-1".into())
        );
        assert_eq!(
            region(
                "http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/trustreg-x-inbox"
            ),
            Some("us-east-1".into())
        );
        assert_eq!(
            region("http://localhost:4566/000000000000/trustreg-x-inbox"),
            None
        );
        for bad in [
            "sqs.us-east-1.amazonaws.com/1/q",
            "https://sqs.us-east-1.amazonaws.com/",
            "https://sqs.us-east-1.amazonaws.com/1/q/extra",
            "ftp://host/1/q",
        ] {
            assert!(
                matches!(
                    queue_region(bad).unwrap_err(),
                    trustreg_core::error::NotifyError::Refused(_)
                ),
                "{bad}"
            );
        }
    }
}
