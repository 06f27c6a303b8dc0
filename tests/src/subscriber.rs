//! A beneficiary's SQS queue subscribed to a trust domain's topic (card C8), for the
//! notification tests and benchmark: SNS's own subscription, with a filter policy and the SNS
//! envelope kept (no raw delivery), so what arrives is what a subscriber sees.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};

use crate::Stack;

/// The topic of `domain` in the stack's outputs (`Topic<Domain>Arn`).
pub fn topic_arn(stack: &Stack, domain: &str) -> String {
    let id: String = domain
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    stack.output(&format!("Topic{id}Arn")).to_owned()
}

/// The stack's trust domains, the default (first) one first.
pub fn domains(stack: &Stack) -> Vec<String> {
    stack
        .output("TrustDomains")
        .split(',')
        .map(str::to_owned)
        .collect()
}

/// One message as the queue received it: the notification and its message attributes.
#[derive(Debug, Clone)]
pub struct Received {
    pub message: Value,
    pub attributes: BTreeMap<String, String>,
    /// The SQS body as delivered (the SNS envelope).
    pub body: String,
    /// When it was taken off the queue.
    pub at: Instant,
}

pub struct Subscriber {
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    pub queue_url: String,
    pub subscription_arn: String,
}

impl Subscriber {
    /// A fresh queue subscribed to `topic_arn` with `filter` (an SNS filter policy).
    pub async fn subscribe(sdk: &SdkConfig, topic_arn: &str, filter: Option<Value>) -> Self {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let sns = aws_sdk_sns::Client::new(sdk);
        let name = format!("trustreg-subscriber-{}", crate::random_imei());
        let queue_url = sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .expect("queue created")
            .queue_url
            .expect("queue URL");
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .expect("queue ARN");
        // What AWS requires for the topic to send to the queue (LocalStack does not check).
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}
            }]
        });
        sqs.set_queue_attributes()
            .queue_url(&queue_url)
            .attributes(QueueAttributeName::Policy, policy.to_string())
            .send()
            .await
            .expect("queue policy");
        let mut subscribe = sns
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(&queue_arn)
            .attributes("RawMessageDelivery", "false")
            .return_subscription_arn(true);
        if let Some(filter) = filter {
            subscribe = subscribe.attributes("FilterPolicy", filter.to_string());
        }
        let subscription_arn = subscribe
            .send()
            .await
            .expect("subscribed")
            .subscription_arn
            .expect("subscription ARN");
        Self {
            sqs,
            sns,
            queue_url,
            subscription_arn,
        }
    }

    /// What arrives within `wait` (one long poll), removed from the queue.
    pub async fn receive(&self, wait: Duration) -> Vec<Received> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(i32::try_from(wait.as_secs().clamp(0, 20)).unwrap_or(1))
            .send()
            .await
            .expect("receive");
        let at = Instant::now();
        let mut received = Vec::new();
        for m in out.messages() {
            let body = m.body().unwrap_or_default().to_owned();
            let envelope: Value = serde_json::from_str(&body).expect("an SNS envelope");
            let message = envelope["Message"]
                .as_str()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null);
            let attributes = envelope["MessageAttributes"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v["Value"].as_str().unwrap_or("").to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(handle) = m.receipt_handle() {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete");
            }
            received.push(Received {
                message,
                attributes,
                body,
                at,
            });
        }
        received
    }

    /// Receives until `enough` holds for what arrived (or `timeout`), then for `settle` more,
    /// so a message that should not come has had its chance.
    pub async fn collect(
        &self,
        timeout: Duration,
        settle: Duration,
        enough: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut all = Vec::new();
        while !enough(&all) && Instant::now() < deadline {
            all.extend(self.receive(Duration::from_secs(1)).await);
        }
        let settled = Instant::now() + settle;
        while Instant::now() < settled {
            all.extend(self.receive(Duration::from_secs(1)).await);
        }
        all
    }

    /// Unsubscribes and deletes the queue.
    pub async fn remove(self) {
        let _ = self
            .sns
            .unsubscribe()
            .subscription_arn(&self.subscription_arn)
            .send()
            .await;
        let _ = self
            .sqs
            .delete_queue()
            .queue_url(&self.queue_url)
            .send()
            .await;
    }
}
