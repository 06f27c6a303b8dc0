//! `Notifier` on SNS (card C4): one topic per trust domain, named by a prefix and the domain;
//! PublishBatch of up to 10 messages a call, each entry's failure mapped back to its
//! notification so that it alone is retried.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use tokio::task::JoinSet;
use trustreg_core::error::NotifyError;
use trustreg_core::ports::{Notification, Notifier};

/// SNS takes at most 10 entries per PublishBatch.
const ENTRIES_PER_BATCH: usize = 10;
/// PublishBatch calls in flight at once: a burst (a bulk notification) goes out in parallel
/// without opening a connection per batch.
const BATCHES_IN_FLIGHT: usize = 8;
/// Attributes SNS filter policies compare numerically.
const NUMERIC_ATTRIBUTES: &[&str] = &["severity"];

#[derive(Clone)]
pub struct SnsNotifier {
    client: Client,
    /// `arn:<partition>:sns:<region>:<account>:trustreg-<suffix>-`: a domain's topic ARN is
    /// this and the domain's name (infra/template.yaml names the topics so).
    topic_arn_prefix: String,
}

impl SnsNotifier {
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

#[async_trait]
impl Notifier for SnsNotifier {
    async fn publish(&self, notifications: &[Notification]) -> Vec<Result<(), NotifyError>> {
        // Batches never mix topics: PublishBatch addresses one.
        let mut by_domain: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (index, n) in notifications.iter().enumerate() {
            by_domain.entry(n.domain.as_str()).or_default().push(index);
        }
        let mut batches: Vec<(String, Vec<(usize, Entry)>)> = Vec::new();
        for (domain, indexes) in by_domain {
            for chunk in indexes.chunks(ENTRIES_PER_BATCH) {
                // Entry ids only need to be unique within the call: the position will do.
                let entries = chunk
                    .iter()
                    .enumerate()
                    .map(|(position, &i)| (i, entry(&notifications[i], position)))
                    .collect();
                batches.push((self.topic_arn(domain), entries));
            }
        }
        let mut results: Vec<Result<(), NotifyError>> = notifications
            .iter()
            .map(|_| Err(NotifyError::Failed("not published".into())))
            .collect();
        let mut pending = batches.into_iter();
        let mut running = JoinSet::new();
        loop {
            while running.len() < BATCHES_IN_FLIGHT {
                let Some((topic, entries)) = pending.next() else {
                    break;
                };
                let client = self.client.clone();
                running.spawn(async move { publish_batch(client, topic, entries).await });
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            // A task that panicked leaves its entries `not published`: retried, not lost.
            if let Ok(answers) = joined {
                for (index, result) in answers {
                    if let Some(slot) = results.get_mut(index) {
                        *slot = result;
                    }
                }
            }
        }
        results
    }
}

/// An entry as built, or why it could not be.
type Entry = Result<PublishBatchRequestEntry, NotifyError>;

/// One PublishBatch to `topic`: a result per entry, by the index of its notification.
async fn publish_batch(
    client: Client,
    topic: String,
    entries: Vec<(usize, Entry)>,
) -> Vec<(usize, Result<(), NotifyError>)> {
    let mut answers = Vec::with_capacity(entries.len());
    let mut request = Vec::new();
    let mut by_entry_id: BTreeMap<String, usize> = BTreeMap::new();
    for (index, built) in entries {
        match built {
            Ok(e) => {
                by_entry_id.insert(e.id().to_owned(), index);
                request.push(e);
            }
            Err(e) => answers.push((index, Err(e))),
        }
    }
    if request.is_empty() {
        return answers;
    }
    match client
        .publish_batch()
        .topic_arn(&topic)
        .set_publish_batch_request_entries(Some(request))
        .send()
        .await
    {
        Ok(out) => {
            for ok in out.successful() {
                if let Some(index) = ok.id().and_then(|id| by_entry_id.remove(id)) {
                    answers.push((index, Ok(())));
                }
            }
            for failed in out.failed() {
                if let Some(index) = by_entry_id.remove(failed.id()) {
                    answers.push((
                        index,
                        Err(NotifyError::Failed(format!(
                            "SNS {}: {}",
                            failed.code(),
                            failed.message().unwrap_or("refused")
                        ))),
                    ));
                }
            }
            // Entries SNS answered neither way count as failed, so they are retried.
            answers.extend(by_entry_id.into_values().map(|i| {
                (
                    i,
                    Err(NotifyError::Failed(
                        "SNS did not answer for this entry".into(),
                    )),
                )
            }));
        }
        Err(e) => {
            let why = format!("SNS PublishBatch to {topic}: {}", DisplayErrorContext(&e));
            answers.extend(
                by_entry_id
                    .into_values()
                    .map(|i| (i, Err(NotifyError::Failed(why.clone())))),
            );
        }
    }
    answers
}

/// The entry of one notification at `position` in its call: the message as JSON, the
/// attributes as SNS message attributes for filter policies.
fn entry(n: &Notification, position: usize) -> Entry {
    let mut attributes = std::collections::HashMap::new();
    for (name, value) in &n.attributes {
        // SNS refuses empty attribute values; an absent attribute filters the same.
        if value.is_empty() {
            continue;
        }
        let data_type = if NUMERIC_ATTRIBUTES.contains(&name.as_str()) {
            "Number"
        } else {
            "String"
        };
        let attribute = MessageAttributeValue::builder()
            .data_type(data_type)
            .string_value(value)
            .build()
            .map_err(|e| NotifyError::Failed(format!("attribute {name}: {e}")))?;
        attributes.insert(name.clone(), attribute);
    }
    PublishBatchRequestEntry::builder()
        .id(format!("n{position}"))
        .message(n.message.to_string())
        .set_message_attributes(Some(attributes))
        .build()
        .map_err(|e| NotifyError::Failed(format!("SNS entry {}: {e}", n.id)))
}
