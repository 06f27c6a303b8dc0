//! `trustreg admin redrive`: what the registry set aside, replayed once its cause is fixed.
//!
//! - The inbox's dead-letter queue (exchange messages refused, or failed five times): moved
//!   back to the inbox with SQS's own StartMessageMoveTask, which keeps each message's body
//!   and attributes and deletes it from the dead-letter queue only once sent
//!   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html).
//!   The destination is named although AWS would default to the source queue: LocalStack 4.7
//!   fails the task without it.
//! - notify's failure queue (the stream mapping's OnFailure destination): each record there
//!   names a range of the table's stream, not the changes themselves (`DDBStreamBatchInfo`:
//!   stream, shard, first and last sequence number;
//!   https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html). The range
//!   is read back from the stream and handed to the notify function as the stream event it
//!   missed, so the changes go through the same code as ever: the notifications' dedupe marks
//!   drop what was already published, the receivers up the hierarchy drop updates they hold.
//!   The record is deleted only once notify answered the replay without a failure: a replay
//!   that fails again keeps it for the next attempt. Records older than the stream's 24 hours
//!   can no longer be read and are kept, named in the answer.
//!
//! The operator's credentials need sqs:StartMessageMoveTask, ListMessageMoveTasks,
//! GetQueueAttributes and ReceiveMessage/DeleteMessage (dead-letter queue), SendMessage (inbox);
//! sqs:ReceiveMessage, DeleteMessage, ChangeMessageVisibility (failure queue);
//! dynamodb:GetShardIterator, GetRecords (the table's stream); lambda:InvokeFunction (notify).
//! The functions' roles gain nothing.

use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_sqs::types::QueueAttributeName;
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::CliError;

/// How long a failure record stays hidden while its replay runs: a record received once per
/// run, whatever becomes of it.
const REPLAY_VISIBILITY_SECONDS: i32 = 300;

/// Stream pages read per failure record at most: a batch is at most 100 records (the
/// mapping's BatchSize), a few pages at most.
const MAX_PAGES: usize = 100;

fn sdk_error<E>(what: &str) -> impl FnOnce(E) -> CliError + '_
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| {
        CliError::Usage(format!(
            "{what}: {}",
            aws_sdk_sqs::error::DisplayErrorContext(e)
        ))
    }
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String, CliError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(sdk_error(url))?;
    out.attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| CliError::Usage(format!("{url}: no QueueArn")))
}

/// The dead-letter queue's messages back in the inbox; how many were moved.
pub async fn inbox(
    sqs: &aws_sdk_sqs::Client,
    dead_letters_url: &str,
    inbox_url: &str,
) -> Result<i64, CliError> {
    let source = queue_arn(sqs, dead_letters_url).await?;
    let destination = queue_arn(sqs, inbox_url).await?;
    sqs.start_message_move_task()
        .source_arn(&source)
        .destination_arn(&destination)
        .send()
        .await
        .map_err(sdk_error("StartMessageMoveTask"))?;
    // A task moves what the queue held when it started, at up to 500 messages a second.
    loop {
        let tasks = sqs
            .list_message_move_tasks()
            .source_arn(&source)
            .max_results(1)
            .send()
            .await
            .map_err(sdk_error("ListMessageMoveTasks"))?;
        let Some(task) = tasks.results().first() else {
            return Err(CliError::Usage(format!("{source}: the move task vanished")));
        };
        match task.status() {
            Some("COMPLETED") => return Ok(task.approximate_number_of_messages_moved()),
            Some("RUNNING") | Some("CANCELLING") | None => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Some(other) => {
                return Err(CliError::Usage(format!(
                    "moving {source} to {destination}: {other} ({}) after {} messages",
                    task.failure_reason().unwrap_or("no reason given"),
                    task.approximate_number_of_messages_moved()
                )));
            }
        }
    }
}

/// What a replay of notify's failure queue came to.
#[derive(Debug, Default, serde::Serialize)]
pub struct StreamReplay {
    /// Failure records replayed and deleted.
    pub replayed: usize,
    /// Stream records handed to notify.
    pub records: usize,
    /// Failure records kept, each with why.
    pub kept: Vec<String>,
}

/// Every record of notify's failure queue replayed once (see the module's documentation).
pub async fn stream(
    sqs: &aws_sdk_sqs::Client,
    streams: &aws_sdk_dynamodbstreams::Client,
    lambda: &aws_sdk_lambda::Client,
    failures_url: &str,
    notify: &str,
) -> Result<StreamReplay, CliError> {
    let mut replay = StreamReplay::default();
    let mut kept_receipts = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(failures_url)
            .max_number_of_messages(10)
            .visibility_timeout(REPLAY_VISIBILITY_SECONDS)
            .send()
            .await
            .map_err(sdk_error("ReceiveMessage"))?;
        if received.messages().is_empty() {
            break;
        }
        for message in received.messages() {
            let id = message.message_id().unwrap_or("?").to_owned();
            let Some(receipt) = message.receipt_handle() else {
                continue;
            };
            match replay_one(streams, lambda, notify, message.body().unwrap_or("")).await {
                Ok(records) => {
                    sqs.delete_message()
                        .queue_url(failures_url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .map_err(sdk_error("DeleteMessage"))?;
                    replay.replayed += 1;
                    replay.records += records;
                }
                Err(why) => {
                    replay.kept.push(format!("{id}: {why}"));
                    kept_receipts.push(receipt.to_owned());
                }
            }
        }
    }
    // What is kept is visible again at once, for the alarm and the next attempt.
    for receipt in kept_receipts {
        sqs.change_message_visibility()
            .queue_url(failures_url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(sdk_error("ChangeMessageVisibility"))?;
    }
    Ok(replay)
}

/// One failure record's range of the stream replayed through notify: how many records.
async fn replay_one(
    streams: &aws_sdk_dynamodbstreams::Client,
    lambda: &aws_sdk_lambda::Client,
    notify: &str,
    body: &str,
) -> Result<usize, String> {
    let record: Value =
        serde_json::from_str(body).map_err(|e| format!("not an OnFailure record: {e}"))?;
    let info = record
        .get("DDBStreamBatchInfo")
        .ok_or("not a DynamoDB stream failure record (no DDBStreamBatchInfo)")?;
    let field = |name: &str| {
        info.get(name)
            .and_then(Value::as_str)
            .ok_or(format!("DDBStreamBatchInfo without {name}"))
    };
    let (stream_arn, shard, start, end) = (
        field("streamArn")?,
        field("shardId")?,
        field("startSequenceNumber")?,
        field("endSequenceNumber")?,
    );
    let records = read_range(streams, stream_arn, shard, start, end).await?;
    if records.is_empty() {
        return Err(format!(
            "{start}..{end} of {shard}: no device change to replay"
        ));
    }
    let count = records.len();
    let event = json!({ "Records": records });
    let out = lambda
        .invoke()
        .function_name(notify)
        .payload(Blob::new(event.to_string()))
        .send()
        .await
        .map_err(|e| {
            format!(
                "invoking {notify}: {}",
                aws_sdk_lambda::error::DisplayErrorContext(e)
            )
        })?;
    let answer: Value = out
        .payload()
        .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
        .unwrap_or(Value::Null);
    if let Some(error) = out.function_error() {
        return Err(format!("{notify} failed ({error}): {answer}"));
    }
    match answer.get("batchItemFailures").and_then(Value::as_array) {
        Some(failures) if failures.is_empty() => Ok(count),
        Some(failures) => Err(format!(
            "{notify} failed {} of the {count} records again: {}",
            failures.len(),
            Value::Array(failures.clone())
        )),
        None => Err(format!("{notify} answered no batch response: {answer}")),
    }
}

/// DynamoDB sequence numbers are decimal strings of up to 40 digits: compared as numbers.
fn sequence_after(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

/// The device changes of `start..=end` in `shard`, as Lambda's stream event records. Only
/// device items, as the mapping's filter lets through.
async fn read_range(
    streams: &aws_sdk_dynamodbstreams::Client,
    stream_arn: &str,
    shard: &str,
    start: &str,
    end: &str,
) -> Result<Vec<Value>, String> {
    let iterator = streams
        .get_shard_iterator()
        .stream_arn(stream_arn)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(start)
        .send()
        .await
        .map_err(|e| {
            format!(
                "{start} of {shard} no longer readable (a stream keeps 24 hours): {}",
                aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
            )
        })?;
    let mut next = iterator.shard_iterator().map(str::to_owned);
    let mut records = Vec::new();
    for _ in 0..MAX_PAGES {
        let Some(it) = next.take() else { break };
        let page = streams
            .get_records()
            .shard_iterator(it)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "reading {shard}: {}",
                    aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
                )
            })?;
        if page.records().is_empty() {
            break;
        }
        for record in page.records() {
            let sequence = record
                .dynamodb()
                .and_then(|d| d.sequence_number())
                .unwrap_or_default();
            if sequence_after(sequence, end) {
                return Ok(records);
            }
            if is_device(record) {
                records.push(event_record(record, stream_arn));
            }
        }
        next = page.next_shard_iterator().map(str::to_owned);
    }
    Ok(records)
}

fn is_device(record: &Record) -> bool {
    matches!(
        record
            .dynamodb()
            .and_then(|d| d.new_image())
            .and_then(|image| image.get("kind")),
        Some(AttributeValue::S(kind)) if kind == "device"
    )
}

/// A stream record as Lambda delivers it (the `Records` of a DynamoDB stream event).
fn event_record(record: &Record, stream_arn: &str) -> Value {
    let mut change = Map::new();
    if let Some(d) = record.dynamodb() {
        if let Some(t) = d.approximate_creation_date_time() {
            change.insert("ApproximateCreationDateTime".into(), json!(t.secs()));
        }
        for (name, image) in [
            ("Keys", d.keys()),
            ("NewImage", d.new_image()),
            ("OldImage", d.old_image()),
        ] {
            if let Some(image) = image {
                change.insert(name.into(), item(image));
            }
        }
        change.insert("SequenceNumber".into(), json!(d.sequence_number()));
        change.insert("SizeBytes".into(), json!(d.size_bytes()));
        change.insert(
            "StreamViewType".into(),
            json!(d.stream_view_type().map(|v| v.as_str())),
        );
    }
    json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|n| n.as_str()),
        "eventVersion": record.event_version(),
        "eventSource": record.event_source(),
        "awsRegion": record.aws_region(),
        "eventSourceARN": stream_arn,
        "dynamodb": change,
    })
}

fn item(image: &std::collections::HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        image
            .iter()
            .map(|(name, value)| (name.clone(), attribute(value)))
            .collect(),
    )
}

fn attribute(value: &AttributeValue) -> Value {
    let b64 = |b: &aws_sdk_dynamodbstreams::primitives::Blob| {
        base64::engine::general_purpose::STANDARD.encode(b.as_ref())
    };
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b) }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => json!({ "BS": v.iter().map(b64).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item(m) }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(attribute).collect::<Vec<_>>() }),
        AttributeValue::Null(n) => json!({ "NULL": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::sequence_after;

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(sequence_after("1000", "999"));
        assert!(!sequence_after("999", "1000"));
        assert!(!sequence_after("4200", "4200"));
        assert!(sequence_after("4201", "4200"));
    }
}
