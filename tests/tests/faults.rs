//! Faults of AWS under the functions (localstack/plugin/trustreg_localstack/fidelity/faults.py):
//! first probes that each kind of fault fires, with AWS's error, so the switch cannot silently
//! stop working; then what the registry does when KMS or DynamoDB throttles it. Every scenario
//! proves its fault fired before it asserts what did not change.
//!
//! Faults are armed per function and AWS call; the scenarios also give a tag, a header only
//! their own request carries, so registrations of tests running beside them are not hit.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use serde_json::json;
use trustreg_core::identifier::{Identifier, RegDevId};
use trustreg_core::messages::ReportClaims;
use trustreg_core::ports::{DeviceStore, ReportStore};
use trustreg_device::RegistryClient;
use trustreg_device::bulk::bulk_device;
use trustreg_device::client::{ReportParams, device_path, report_jws};
use trustreg_tests::faults::{
    arm, disarm, fault, fired, gone, killed_pid, new_device, post_bulk_tagged, post_tagged,
    regdevid_of, sign_bulk, tag,
};
use trustreg_tests::roles::{assumed, function_name, role_arn};
use trustreg_tests::{
    Answer, Stack, challenge, eventually, localstack, random_imei, registration, sensor_info,
};

// ---------------------------------------------------------------- the switch

// ---------------------------------------------------------------- callers

/// A caller of its own with the register function's grants: its session name and SDK config.
async fn probe(stack: &Stack) -> (String, SdkConfig) {
    probe_as(stack, "register").await
}

async fn sign(kms: &aws_sdk_kms::Client, stack: &Stack) -> Result<(), (String, u16)> {
    kms.sign()
        .key_id(stack.output("SigningKeyId"))
        .message(Blob::new(vec![7u8; 32]))
        .message_type(MessageType::Digest)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            let status = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
            (e.code().unwrap_or("<none>").to_owned(), status)
        })
}

fn probe_put(stack: &Stack, pk: &str) -> TransactWriteItem {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(stack.table())
                .item("pk", s(pk))
                .item("sk", s("fault-probe"))
                .build()
                .unwrap(),
        )
        .build()
}

// ---------------------------------------------------------------- probes: each fault fires

// AWS: KMS throttles with ThrottlingException, HTTP 400
// (https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html#API_Sign_Errors). The
// fault hits calls nth .. nth+times-1 of the named caller and operation, then is consumed.
#[tokio::test]
async fn a_throttle_fault_refuses_the_nth_calls_of_its_caller_as_kms_does() {
    let stack = Stack::deployed();
    let (session, sdk) = probe(&stack).await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let id = arm(
        json!({"function": session, "service": "kms", "operation": "Sign",
        "nth": 2, "times": 2, "action": "throttle"}),
    )
    .await;
    let answers = [
        sign(&kms, &stack).await,
        sign(&kms, &stack).await,
        sign(&kms, &stack).await,
        sign(&kms, &stack).await,
    ];
    let throttled = Err(("ThrottlingException".to_owned(), 400));
    assert_eq!(
        answers,
        [Ok(()), throttled.clone(), throttled, Ok(())],
        "calls 2 and 3 throttled"
    );
    let f = fault(&id).await;
    assert_eq!((fired(&f), f["done"].as_bool()), (2, Some(true)), "{f}");
}

// AWS: DynamoDB throttles with ProvisionedThroughputExceededException (or ThrottlingException,
// RequestLimitExceeded), HTTP 400
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
#[tokio::test]
async fn a_throttle_fault_refuses_a_dynamodb_call_with_the_code_asked_for() {
    let stack = Stack::deployed();
    let (session, sdk) = probe(&stack).await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    for code in [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
    ] {
        let id = arm(
            json!({"function": session, "service": "dynamodb", "operation": "GetItem",
            "action": "throttle", "code": code}),
        )
        .await;
        let get = || {
            ddb.get_item()
                .table_name(stack.table())
                .key("pk", AttributeValue::S(format!("fault-probe#{session}")))
                .key("sk", AttributeValue::S("fault-probe".into()))
                .send()
        };
        let e = get().await.expect_err("throttled");
        let status = e.raw_response().map(|r| r.status().as_u16());
        assert_eq!((e.code(), status), (Some(code), Some(400)));
        assert!(get().await.is_ok(), "one call only");
        assert_eq!(fired(&fault(&id).await), 1);
    }
}

// AWS: a transaction another one holds an item of is cancelled with
// TransactionCanceledException, its CancellationReasons naming TransactionConflict
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html#API_TransactWriteItems_Errors).
// Nothing is written.
#[tokio::test]
async fn a_conflict_fault_cancels_a_transaction_as_dynamodb_does() {
    let stack = Stack::deployed();
    let (session, sdk) = probe(&stack).await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let (a, b) = (
        format!("fault-probe#{session}#a"),
        format!("fault-probe#{session}#b"),
    );
    let id = arm(json!({"function": session, "service": "dynamodb",
        "operation": "TransactWriteItems", "action": "conflict"}))
    .await;
    let e = ddb
        .transact_write_items()
        .transact_items(probe_put(&stack, &a))
        .transact_items(probe_put(&stack, &b))
        .send()
        .await
        .expect_err("cancelled")
        .into_service_error();
    let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(cancel) = e else {
        panic!("not a cancellation: {e:?}");
    };
    let codes: Vec<_> = cancel
        .cancellation_reasons()
        .iter()
        .map(|r| r.code().unwrap_or_default())
        .collect();
    assert_eq!(codes, ["TransactionConflict", "None"]);
    assert_eq!(fired(&fault(&id).await), 1);
    let root = aws_sdk_dynamodb::Client::new(&localstack().await);
    for pk in [&a, &b] {
        let item = root
            .get_item()
            .table_name(stack.table())
            .key("pk", AttributeValue::S(pk.clone()))
            .key("sk", AttributeValue::S("fault-probe".into()))
            .send()
            .await
            .unwrap();
        assert!(item.item().is_none(), "a cancelled transaction wrote {pk}");
    }
}

/// A caller of its own with `function`'s grants: its session name and SDK config (no retries).
async fn probe_as(stack: &Stack, function: &str) -> (String, SdkConfig) {
    let session = format!("fault-probe-{}", random_imei());
    let sdk = assumed(&role_arn(stack, function).await, &session, false).await;
    (session, sdk)
}

// AWS: SNS throttles with ThrottledException, on the wire the code `Throttled`, HTTP 429
// (https://docs.aws.amazon.com/botocore/latest/reference/services/sns/client/exceptions/ThrottledException.html;
// the SNS service model's error trait). The throttled call publishes nothing.
#[tokio::test]
async fn a_throttle_fault_refuses_an_sns_publish_as_sns_does() {
    let stack = Stack::deployed();
    let (session, sdk) = probe_as(&stack, "notify").await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let id = arm(
        json!({"function": session, "service": "sns", "operation": "PublishBatch",
        "action": "throttle"}),
    )
    .await;
    let entry = aws_sdk_sns::types::PublishBatchRequestEntry::builder()
        .id("probe")
        .message("{}")
        .build()
        .unwrap();
    let e = sns
        .publish_batch()
        .topic_arn(trustreg_tests::subscriber::topic_arn(
            &stack,
            &trustreg_tests::subscriber::domains(&stack)[0],
        ))
        .publish_batch_request_entries(entry)
        .send()
        .await
        .expect_err("throttled");
    let status = e.raw_response().map(|r| r.status().as_u16());
    assert_eq!(
        (aws_sdk_sns::error::ProvideErrorMetadata::code(&e), status),
        (Some("Throttled"), Some(429))
    );
    assert_eq!(fired(&fault(&id).await), 1);
}

// AWS: SQS throttles with RequestThrottled, HTTP 400
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html#API_SendMessage_Errors).
// The throttled message is not queued. The queue is the probe's own, named as an inbox so the
// exchange function's grant (SendMessage on trustreg-*-inbox) lets the call reach the fault.
#[tokio::test]
async fn a_throttle_fault_refuses_an_sqs_send_as_sqs_does() {
    let stack = Stack::deployed();
    let root = aws_sdk_sqs::Client::new(&localstack().await);
    let queue = root
        .create_queue()
        .queue_name(format!("trustreg-fault-probe-{}-inbox", random_imei()))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let (session, sdk) = probe_as(&stack, "exchange").await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let id = arm(
        json!({"function": session, "service": "sqs", "operation": "SendMessage",
        "action": "throttle"}),
    )
    .await;
    let e = sqs
        .send_message()
        .queue_url(&queue)
        .message_body("probe")
        .send()
        .await
        .expect_err("throttled");
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = aws_sdk_sqs::error::ProvideErrorMetadata::code(&e).map(str::to_owned);
    assert_eq!(fired(&fault(&id).await), 1);
    let left = root
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    root.delete_queue().queue_url(&queue).send().await.unwrap();
    assert_eq!(
        (code.as_deref(), status),
        (Some("RequestThrottled"), Some(400))
    );
    assert_eq!(
        left.attributes()
            .and_then(
                |a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            )
            .map(String::as_str),
        Some("0"),
        "the throttled message was not queued"
    );
}

// ---------------------------------------------------------------- registrations under faults

/// How a scenario registers. A single registration's credential is signed by the instance's
/// session key, whose delegation costs one KMS request per instance and hour (docs/API.md), so
/// a warm instance asks KMS nothing; a bulk registration's batch head is signed by KMS on every
/// request. KMS's faults are therefore met through bulk registrations, DynamoDB's through
/// single ones (the transaction that creates the device).
#[derive(Clone, Copy, Debug)]
enum Via {
    Single,
    Bulk,
}

impl Via {
    /// The way that meets `service`'s faults on every request.
    fn for_service(service: &str) -> Self {
        if service == "kms" {
            Via::Bulk
        } else {
            Via::Single
        }
    }
}

/// Devices to register, made by one accepted manufacturer: one for a single registration, two
/// for a bulk one.
struct Attempt {
    via: Via,
    stack: Stack,
    maker: trustreg_tests::Manufacturer,
    ids: Vec<Identifier>,
}

/// A request as sent, to be sent again unchanged.
enum Sent {
    Single(String),
    Bulk { signature: String, body: Vec<u8> },
}

impl Attempt {
    async fn new(stack: &Stack, via: Via) -> Self {
        let (first, maker) = new_device(stack).await;
        let mut ids = vec![first];
        if matches!(via, Via::Bulk) {
            ids.push(trustreg_tests::imei(&random_imei()));
        }
        Self {
            via,
            stack: stack.clone(),
            maker,
            ids,
        }
    }

    /// A fresh request (new nonce) for all the devices.
    async fn request(&self) -> Sent {
        let api = self.stack.api_url();
        match self.via {
            Via::Single => {
                let id = &self.ids[0];
                Sent::Single(registration(
                    &self.maker.device(id),
                    id,
                    challenge(&api, "register").await,
                ))
            }
            Via::Bulk => {
                let lines: Vec<_> = self
                    .ids
                    .iter()
                    .map(|id| {
                        bulk_device(&self.maker.device(id), id, sensor_info(), vec![]).unwrap()
                    })
                    .collect();
                let body = serde_json::to_vec(&lines).unwrap();
                let signature = sign_bulk(&api, &self.maker, &body).await;
                Sent::Bulk { signature, body }
            }
        }
    }

    /// Sends `sent` with the fault tag: the answer and its Retry-After.
    async fn send(&self, sent: &Sent, tag: &str) -> (Answer, Option<String>) {
        let api = self.stack.api_url();
        match sent {
            Sent::Single(body) => post_tagged(&api, "/v1/registrations", tag, body.clone()).await,
            Sent::Bulk { signature, body } => post_bulk_tagged(&api, signature, body, tag).await,
        }
    }

    /// A fresh request sent with the tag.
    async fn register(&self, tag: &str) -> (Answer, Option<String>, Sent) {
        let sent = self.request().await;
        let (answer, retry_after) = self.send(&sent, tag).await;
        (answer, retry_after, sent)
    }

    /// Whether the answer says every device was created.
    fn created(&self, answer: &Answer) -> bool {
        match self.via {
            Via::Single => answer.status == 201,
            Via::Bulk => {
                answer.status == 207
                    && answer.body["summary"]
                        == json!({"created": self.ids.len(), "existing": 0, "failed": 0})
            }
        }
    }

    fn register_function(&self) -> String {
        function_name(&self.stack, "register")
    }

    /// How many of the devices are stored.
    async fn stored(&self) -> usize {
        let store = self.stack.store(&localstack().await);
        let mut n = 0;
        for id in &self.ids {
            if store
                .get_device(&regdevid_of(&self.stack, id))
                .await
                .unwrap()
                .is_some()
            {
                n += 1;
            }
        }
        n
    }

    /// What a refused registration must leave: no device, no identifier claimed, no transition.
    async fn assert_nothing_stored(&self) {
        let store = self.stack.store(&localstack().await);
        for id in &self.ids {
            let regdevid = regdevid_of(&self.stack, id);
            assert!(store.get_device(&regdevid).await.unwrap().is_none());
            assert!(store.holder_of(id).await.unwrap().is_none());
            assert!(store.transitions_of(&regdevid).await.unwrap().is_empty());
        }
    }
}

/// A registration during which the register function is killed (`action`) at its
/// `service`'s `operation`: API Gateway answers 502 and the process is gone. How many of its
/// devices were stored, of how many.
async fn a_registration_killed(service: &str, operation: &str, action: &str) -> (usize, usize) {
    let stack = Stack::deployed();
    let attempt = Attempt::new(&stack, Via::for_service(service)).await;
    let tag = tag();
    let fid = arm(
        json!({"function": attempt.register_function(), "service": service,
        "operation": operation, "action": action, "tag": tag}),
    )
    .await;
    let (answer, _, _) = attempt.register(&tag).await;
    let pid = killed_pid(&fid).await;
    disarm(&fid).await;
    // SIGKILL is delivered asynchronously: the process ends within moments.
    eventually(Duration::from_secs(5), "the bootstrap died", || async {
        gone(pid).then_some(())
    })
    .await;
    assert_eq!(
        answer.status, 502,
        "API Gateway's answer to a failed function: {answer:?}"
    );
    (attempt.stored().await, attempt.ids.len())
}

// A kill before the call: the function's process dies before KMS signs the bulk request's
// batch head, so the registration fails and none of its devices is stored.
#[tokio::test]
async fn a_kill_before_fault_kills_the_function_before_its_call_is_served() {
    let (stored, _) = a_registration_killed("kms", "Sign", "kill-before").await;
    assert_eq!(stored, 0);
}

// A kill after the call: DynamoDB wrote the device, then the function died before answering.
#[tokio::test]
async fn a_kill_after_fault_kills_the_function_once_its_call_was_served() {
    let (stored, of) = a_registration_killed("dynamodb", "TransactWriteItems", "kill-after").await;
    assert_eq!(stored, of, "the transaction was served before the kill");
}

// A tagged fault counts only the calls of invocations carrying its tag: a registration
// without it goes through untouched, the tagged one after it is hit.
#[tokio::test]
async fn a_tagged_fault_hits_only_the_invocations_carrying_its_tag() {
    let stack = Stack::deployed();
    let tagged = Attempt::new(&stack, Via::Bulk).await;
    let other = Attempt::new(&stack, Via::Bulk).await;
    let tag = tag();
    let fid = arm(
        json!({"function": tagged.register_function(), "service": "kms",
        "operation": "Sign", "times": 3, "action": "throttle", "tag": tag}),
    )
    .await;
    let (answer, _, _) = other.register("another-tag").await;
    assert!(other.created(&answer), "{answer:?}");
    let (answer, _, _) = tagged.register(&tag).await;
    let f = fault(&fid).await;
    disarm(&fid).await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(
        (f["seen"].as_u64(), fired(&f)),
        (Some(3), 3),
        "only the tagged registration's three attempts counted: {f}"
    );
}

// ---------------------------------------------------------------- throttling

/// A registration whose `service`'s `operation` throttles twice: the SDK's standard retries
/// (3 attempts) absorb it, the registration succeeds and its devices are stored.
async fn a_registration_throttled_twice(service: &str, operation: &str) {
    let stack = Stack::deployed();
    let attempt = Attempt::new(&stack, Via::for_service(service)).await;
    let tag = tag();
    let fid = arm(
        json!({"function": attempt.register_function(), "service": service,
        "operation": operation, "times": 2, "action": "throttle", "tag": tag}),
    )
    .await;
    let (answer, _, _) = attempt.register(&tag).await;
    let f = fault(&fid).await;
    disarm(&fid).await;
    assert_eq!(fired(&f), 2, "{service} throttled twice: {f}");
    assert!(attempt.created(&answer), "{answer:?}");
    assert_eq!(attempt.stored().await, attempt.ids.len());
}

// Y.3059 10
// KMS throttles the batch head's signature twice: the SDK's standard retries (3 attempts)
// absorb it and the registration succeeds.
#[tokio::test]
async fn a_registration_survives_kms_throttling_its_retries_absorb() {
    a_registration_throttled_twice("kms", "Sign").await;
}

/// The registration refused for an unavailable service: 503, problem `<code>`, Retry-After.
fn assert_unavailable(answer: &Answer, retry_after: Option<&str>, code: &str) {
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.problem(), code);
    let seconds: u64 = retry_after
        .expect("Retry-After")
        .parse()
        .expect("delay-seconds");
    assert!(seconds >= 1);
}

/// After the 503 the client retries as told: the nonce it used is spent (one use, whatever
/// the outcome), so the same request is refused; a request over a fresh nonce registers the
/// devices.
async fn retry_as_told(attempt: &Attempt, spent: &Sent) {
    let (again, _) = attempt.send(spent, "no-fault").await;
    assert_eq!(again.status, 401, "{again:?}");
    assert_eq!(again.problem(), "nonce-invalid");
    let (retried, _, _) = attempt.register("no-fault").await;
    assert!(attempt.created(&retried), "{retried:?}");
}

/// A registration whose `service`'s `operation` throttles three times, as often as the SDK
/// tries: 503 with Retry-After (`problem`), nothing stored; the client's retry with a fresh
/// nonce registers the devices.
async fn a_registration_throttled_past_the_retries(service: &str, operation: &str, problem: &str) {
    let stack = Stack::deployed();
    let attempt = Attempt::new(&stack, Via::for_service(service)).await;
    let tag = tag();
    let fid = arm(
        json!({"function": attempt.register_function(), "service": service,
        "operation": operation, "times": 3, "action": "throttle", "tag": tag}),
    )
    .await;
    let (answer, retry_after, sent) = attempt.register(&tag).await;
    let f = fault(&fid).await;
    disarm(&fid).await;
    assert_eq!(fired(&f), 3, "every attempt throttled: {f}");
    assert_unavailable(&answer, retry_after.as_deref(), problem);
    attempt.assert_nothing_stored().await;
    retry_as_told(&attempt, &sent).await;
}

// Y.3059 10
// KMS throttles more often than the SDK retries: 503 with Retry-After, never 500, and nothing
// stored; the client's retry with a fresh nonce registers the devices.
#[tokio::test]
async fn a_registration_kms_keeps_throttling_is_refused_503_and_stores_nothing() {
    a_registration_throttled_past_the_retries("kms", "Sign", "key-service-unavailable").await;
}

// Y.3059 10
// DynamoDB throttles the transaction that creates the device past the SDK's retries: 503 with
// Retry-After, nothing stored (the transaction is all or nothing); a fresh request registers.
#[tokio::test]
async fn a_registration_dynamodb_keeps_throttling_is_refused_503_and_stores_nothing() {
    a_registration_throttled_past_the_retries(
        "dynamodb",
        "TransactWriteItems",
        "storage-unavailable",
    )
    .await;
}

// Y.3059 10
// DynamoDB throttles the creating transaction twice: the retries absorb it.
#[tokio::test]
async fn a_registration_survives_dynamodb_throttling_its_retries_absorb() {
    a_registration_throttled_twice("dynamodb", "TransactWriteItems").await;
}

// Y.3059 10
// A device's report whose transaction DynamoDB keeps throttling: 503 with Retry-After, and
// the device's record and history are as before (the report, the new facts and their audit
// are one transaction); the device's next report, over a fresh nonce, is taken.
#[tokio::test]
async fn a_report_dynamodb_keeps_throttling_is_refused_503_and_changes_nothing() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let store = stack.store(&localstack().await);
    let (id, maker) = new_device(&stack).await;
    let se = maker.device(&id);
    let client = RegistryClient::new(api.clone()).unwrap();
    let registered = client
        .register(&se, &id, sensor_info(), vec![])
        .await
        .unwrap();
    let regdevid: RegDevId = registered.regdevid.parse().unwrap();
    let before = store.get_device(&regdevid).await.unwrap().unwrap();
    let history = store.history_of(&regdevid).await.unwrap().len();
    let tag = tag();
    let fid = arm(
        json!({"function": function_name(&stack, "register"), "service": "dynamodb",
        "operation": "TransactWriteItems", "times": 3, "action": "throttle", "tag": tag}),
    )
    .await;
    let claims = ReportClaims {
        nonce: challenge(&api, "report").await,
        firmware_version: "9.9.9".into(),
        software_version: "1.0.0".into(),
        communication: vec!["lte".into()],
        configuration: None,
        idempotency_key: None,
        evidence_challenge: None,
    };
    let jws = report_jws(&se, &registered.regdevid, &claims).unwrap();
    let path = device_path(trustreg_model::routes::Op::Report, &registered.regdevid);
    let (answer, retry_after) = post_tagged(&api, &path, &tag, jws).await;
    let f = fault(&fid).await;
    disarm(&fid).await;
    assert_eq!(fired(&f), 3, "every attempt throttled: {f}");
    assert_unavailable(&answer, retry_after.as_deref(), "storage-unavailable");
    let after = store.get_device(&regdevid).await.unwrap().unwrap();
    assert_eq!(
        (after.version, &after.info.firmware_version),
        (before.version, &before.info.firmware_version)
    );
    assert_eq!(store.history_of(&regdevid).await.unwrap().len(), history);
    let params = ReportParams {
        firmware_version: "9.9.9".into(),
        software_version: "1.0.0".into(),
        communication: vec!["lte".into()],
        configuration: None,
    };
    let done = client.report(&se, params).await.unwrap();
    assert_eq!(done.changed, ["firmware_version"]);
}
