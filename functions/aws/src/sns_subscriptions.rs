//! `SubscriptionBroker` on SNS (card C4, C8): subscriptions to the topic of a trust domain,
//! `<TOPIC_ARN_PREFIX><domain>`, with the filter policy on message attributes. SNS holds the
//! confirmation handshake of HTTPS and email endpoints; the registry only asks where it stands.

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use trustreg_core::error::NotifyError;
use trustreg_core::ports::SubscriptionBroker;
use trustreg_core::records::SubscriptionRecord;
use trustreg_core::subscriptions::SubscriptionState;

#[derive(Clone)]
pub struct SnsSubscriptions {
    client: Client,
    topic_arn_prefix: String,
}

impl SnsSubscriptions {
    /// `topic_arn_prefix` + a domain's name is the ARN of that domain's topic.
    pub fn new(client: Client, topic_arn_prefix: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn_prefix: topic_arn_prefix.into(),
        }
    }

    pub fn topic_arn(&self, domain: &str) -> String {
        format!("{}{domain}", self.topic_arn_prefix)
    }
}

/// SNS's own protocol name: the registry's `https` covers the `http://` URLs it lets through
/// (loopback only), which SNS knows as `http`.
fn sns_protocol<'a>(protocol: &'a str, endpoint: &str) -> &'a str {
    if protocol == "https" && endpoint.starts_with("http://") {
        "http"
    } else {
        protocol
    }
}

/// How SNS answered a failed request.
enum Failure {
    /// The request was invalid (endpoint, filter policy, limits): the client's to fix.
    Refused(String),
    NotFound,
    Failed(String),
}

fn failure<E, R>(operation: &str, err: SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err
        .as_service_error()
        .and_then(|e| e.code())
        .map(str::to_owned);
    let message = err
        .as_service_error()
        .and_then(|e| e.message())
        .unwrap_or_default()
        .to_owned();
    match code.as_deref() {
        Some(
            "InvalidParameter"
            | "InvalidParameterValue"
            | "FilterPolicyLimitExceeded"
            | "SubscriptionLimitExceeded",
        ) => Failure::Refused(message),
        Some("NotFound") => Failure::NotFound,
        _ => Failure::Failed(format!("SNS {operation}: {}", DisplayErrorContext(err))),
    }
}

#[async_trait]
impl SubscriptionBroker for SnsSubscriptions {
    async fn subscribe(
        &self,
        domain: &str,
        protocol: &str,
        endpoint: &str,
        filter_policy: &serde_json::Value,
    ) -> Result<String, NotifyError> {
        let topic = self.topic_arn(domain);
        let mut request = self
            .client
            .subscribe()
            .topic_arn(&topic)
            .protocol(sns_protocol(protocol, endpoint))
            .endpoint(endpoint)
            // The ARN even while an HTTPS or email endpoint has yet to confirm, so that the
            // subscription can be asked about and removed from the start.
            .return_subscription_arn(true);
        // An empty policy is no policy: every notification of the domain.
        if filter_policy.as_object().is_some_and(|o| !o.is_empty()) {
            request = request
                .attributes("FilterPolicy", filter_policy.to_string())
                .attributes("FilterPolicyScope", "MessageAttributes");
        }
        match request.send().await {
            Ok(out) => out
                .subscription_arn
                .ok_or_else(|| NotifyError::Failed(format!("SNS Subscribe to {topic}: no ARN"))),
            Err(err) => Err(match failure("Subscribe", err) {
                Failure::Refused(why) => NotifyError::refused(&why),
                // The topic is the stack's: its absence is the registry's fault.
                Failure::NotFound => NotifyError::Failed(format!("SNS topic {topic} not found")),
                Failure::Failed(why) => NotifyError::Failed(why),
            }),
        }
    }

    async fn provision(&self, domain: &str) -> Result<(), NotifyError> {
        let topic = self.topic_arn(domain);
        let name = topic.rsplit(':').next().unwrap_or_default();
        // As the template makes the deployed domains' topics: encrypted at rest with SNS's
        // AWS managed key, tagged with the domain. CreateTopic of an existing name answers its
        // ARN when attributes and tags match, and refuses when they differ ("Topic already
        // exists with different ..."): either way the topic exists, which is all we need.
        // https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
        let made = self
            .client
            .create_topic()
            .name(name)
            .attributes("KmsMasterKeyId", "alias/aws/sns")
            .tags(
                aws_sdk_sns::types::Tag::builder()
                    .key("trustreg:trust-domain")
                    .value(domain)
                    .build()
                    .map_err(|e| NotifyError::Failed(format!("SNS tag: {e}")))?,
            )
            .send()
            .await;
        match made {
            Ok(_) => Ok(()),
            Err(err) => match failure("CreateTopic", err) {
                Failure::Refused(why) if why.contains("already exists") => Ok(()),
                Failure::Refused(why) | Failure::Failed(why) => Err(NotifyError::Failed(why)),
                Failure::NotFound => Err(NotifyError::Failed(format!(
                    "SNS CreateTopic {name}: not found"
                ))),
            },
        }
    }

    async fn unsubscribe(&self, subscription: &SubscriptionRecord) -> Result<(), NotifyError> {
        let arn = &subscription.subscription_arn;
        // Without an ARN there is nothing SNS can remove: an unconfirmed subscription lapses.
        if !arn.starts_with("arn:") {
            return Ok(());
        }
        match self.client.unsubscribe().subscription_arn(arn).send().await {
            Ok(_) => Ok(()),
            Err(err) => match failure("Unsubscribe", err) {
                // Already gone (the endpoint unsubscribed itself): the wanted outcome.
                Failure::NotFound => Ok(()),
                Failure::Refused(why) | Failure::Failed(why) => Err(NotifyError::Failed(why)),
            },
        }
    }

    async fn state(&self, subscription_arn: &str) -> Result<SubscriptionState, NotifyError> {
        if !subscription_arn.starts_with("arn:") {
            return Ok(SubscriptionState::PendingConfirmation);
        }
        let out = match self
            .client
            .get_subscription_attributes()
            .subscription_arn(subscription_arn)
            .send()
            .await
        {
            Ok(out) => out,
            Err(err) => {
                return match failure("GetSubscriptionAttributes", err) {
                    Failure::NotFound => Ok(SubscriptionState::Removed),
                    Failure::Refused(why) | Failure::Failed(why) => Err(NotifyError::Failed(why)),
                };
            }
        };
        let pending = out
            .attributes()
            .and_then(|a| a.get("PendingConfirmation"))
            .is_some_and(|v| v == "true");
        Ok(if pending {
            SubscriptionState::PendingConfirmation
        } else {
            SubscriptionState::Confirmed
        })
    }
}

#[cfg(test)]
mod tests {
    use super::sns_protocol;

    // card C8
    #[test]
    fn plain_http_urls_subscribe_as_http() {
        assert_eq!(sns_protocol("https", "http://127.0.0.1:9/x"), "http");
        assert_eq!(sns_protocol("https", "https://example.org/x"), "https");
        assert_eq!(
            sns_protocol("sqs", "arn:aws:sqs:us-east-1:000000000000:q"),
            "sqs"
        );
        assert_eq!(sns_protocol("email", "a@example.org"), "email");
    }
}
