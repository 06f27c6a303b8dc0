//! What the registry sets aside when it cannot process something, as the fault tests read it:
//! notify's failure queue (the stream mapping's OnFailure destination) and the inbox's
//! dead-letter queue.

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::Value;

use crate::localstack;

/// One message of a queue, looked at without taking it.
#[derive(Debug, Clone)]
pub struct Peeked {
    pub body: String,
    pub attributes: std::collections::HashMap<String, String>,
}

/// What `queue_url` holds now (up to 100 messages), each left in the queue.
pub async fn peek(queue_url: &str) -> Vec<Peeked> {
    let sqs = aws_sdk_sqs::Client::new(&localstack().await);
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..10 {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        if out.messages().is_empty() {
            break;
        }
        for m in out.messages() {
            let attributes = m
                .message_attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.clone(), v.string_value().unwrap_or("").to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            seen.insert(
                m.message_id().unwrap_or("").to_owned(),
                Peeked {
                    body: m.body().unwrap_or("").to_owned(),
                    attributes,
                },
            );
        }
    }
    seen.into_values().collect()
}

/// Deletes the messages of `queue_url` whose body `matches`; how many.
pub async fn remove(queue_url: &str, matches: impl Fn(&str) -> bool) -> usize {
    let sqs = aws_sdk_sqs::Client::new(&localstack().await);
    let mut removed = 0;
    for _ in 0..10 {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .expect("receive");
        if out.messages().is_empty() {
            break;
        }
        for m in out.messages() {
            if matches(m.body().unwrap_or("")) {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(m.receipt_handle().unwrap_or(""))
                    .send()
                    .await
                    .expect("delete");
                removed += 1;
            }
        }
    }
    removed
}

/// The queue's depth as CloudWatch reports it for the alarms (AWS/SQS
/// ApproximateNumberOfMessagesVisible is GetQueueAttributes' ApproximateNumberOfMessages),
/// and the messages in flight.
pub async fn depth(queue_url: &str) -> (u64, u64) {
    let sqs = aws_sdk_sqs::Client::new(&localstack().await);
    let out = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes");
    let number = |name: QueueAttributeName| {
        out.attributes()
            .and_then(|a| a.get(&name))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (
        number(QueueAttributeName::ApproximateNumberOfMessages),
        number(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

/// The `pk` of each table item in the stream range an OnFailure record names
/// (`DDBStreamBatchInfo`: stream, shard, first and last sequence number).
pub async fn items_named(record: &Value) -> Vec<String> {
    let info = &record["DDBStreamBatchInfo"];
    let field = |name: &str| info[name].as_str().unwrap_or_default().to_owned();
    let end = field("endSequenceNumber");
    let streams = aws_sdk_dynamodbstreams::Client::new(&localstack().await);
    let Ok(iterator) = streams
        .get_shard_iterator()
        .stream_arn(field("streamArn"))
        .shard_id(field("shardId"))
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(field("startSequenceNumber"))
        .send()
        .await
    else {
        return Vec::new();
    };
    let mut next = iterator.shard_iterator().map(str::to_owned);
    let mut pks = Vec::new();
    while let Some(it) = next.take() {
        let page = streams
            .get_records()
            .shard_iterator(it)
            .send()
            .await
            .expect("stream records");
        if page.records().is_empty() {
            break;
        }
        for r in page.records() {
            let Some(d) = r.dynamodb() else { continue };
            let sequence = d.sequence_number().unwrap_or_default();
            if (sequence.len(), sequence) > (end.len(), end.as_str()) {
                return pks;
            }
            if let Some(AttributeValue::S(pk)) = d.keys().and_then(|k| k.get("pk")) {
                pks.push(pk.clone());
            }
        }
        next = page.next_shard_iterator().map(str::to_owned);
    }
    pks
}
