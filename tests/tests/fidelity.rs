//! AWS's rules in the emulator (localstack/plugin/trustreg_localstack/fidelity): each test
//! makes LocalStack refuse what AWS refuses, with AWS's error, and shows the neighbouring call
//! AWS allows still succeeds. Every refusal asserted here is one stock LocalStack 4.7.0 lets
//! through, so these tests fail when the fidelity layer is off or stops working; except where
//! a test says LocalStack already enforces the rule (SNS's size, and those at the end), which
//! are probed so that an emulator upgrade dropping one is noticed.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, Put, PutRequest, TransactWriteItem, WriteRequest,
};
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use aws_sdk_sqs::types::MessageAttributeValue as SqsAttribute;
use trustreg_tests::roles::{assumed, role_arn};
use trustreg_tests::{Stack, localstack, random_imei};

const ACCOUNT: &str = "000000000000";

/// (error code, HTTP status) of a failed SDK call of any service; panics when it succeeded.
fn refusal<T, E: ProvideErrorMetadata>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> (String, u16) {
    match result {
        Ok(_) => panic!("the emulator allowed a call AWS refuses"),
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
            (e.code().unwrap_or("<none>").to_owned(), status)
        }
    }
}

fn unique() -> String {
    random_imei()
}

/// A topic of the probe's own (root credentials): its ARN.
async fn new_topic(sns: &aws_sdk_sns::Client, name: String) -> String {
    sns.create_topic()
        .name(name)
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap()
}

/// A queue of the probe's own (root credentials): its URL.
async fn new_queue(sqs: &aws_sdk_sqs::Client, name: String) -> String {
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

// ---------------------------------------------------------------- IAM

// AWS: IAM policy evaluation, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
// (no Allow for the action on the resource: AccessDeniedException, DynamoDB's HTTP 400).
#[tokio::test]
async fn a_role_is_refused_a_dynamodb_action_it_is_not_granted_and_allowed_those_it_is() {
    let stack = Stack::deployed();
    let ddb = aws_sdk_dynamodb::Client::new(
        &assumed(
            &role_arn(&stack, "interrogate").await,
            "fidelity-probe",
            true,
        )
        .await,
    );
    let pk = format!("FIDELITY#{}", unique());

    // interrogate reads and writes some items, but never updates one (no dynamodb:UpdateItem).
    let refused = ddb
        .update_item()
        .table_name(stack.table())
        .set_key(Some(key(&pk, "probe")))
        .update_expression("SET x = :x")
        .expression_attribute_values(":x", s("1"))
        .send()
        .await;
    assert_eq!(refusal(refused), ("AccessDeniedException".into(), 400));

    ddb.get_item()
        .table_name(stack.table())
        .set_key(Some(key(&pk, "probe")))
        .send()
        .await
        .expect("GetItem is granted");
    // Indexes are granted as `<table>/index/*`.
    ddb.query()
        .table_name(stack.table())
        .index_name("gsi2")
        .key_condition_expression("gsi2pk = :p")
        .expression_attribute_values(":p", s(&pk))
        .send()
        .await
        .expect("Query on an index is granted");
}

// AWS: DynamoDB index ARNs are resources of their own (`table/<name>/index/<index>`),
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/using-identity-based-policies.html
#[tokio::test]
async fn the_exchange_role_may_query_the_indexes_it_is_granted_and_no_other() {
    let stack = Stack::deployed();
    let ddb = aws_sdk_dynamodb::Client::new(
        &assumed(&role_arn(&stack, "exchange").await, "fidelity-probe", true).await,
    );
    let query = |index: &'static str| {
        ddb.query()
            .table_name(stack.table())
            .index_name(index)
            .key_condition_expression(format!("{index}pk = :p"))
            .expression_attribute_values(":p", s("FIDELITY#none"))
            .send()
    };
    // gsi2: devices by make and model, for a make/model vulnerability from above.
    query("gsi2").await.expect("exchange may query gsi2");
    // gsi3 (devices due for evaluation) is notify's alone.
    assert_eq!(
        refusal(query("gsi3").await),
        ("AccessDeniedException".into(), 400)
    );
}

// AWS: KMS authorizes key operations on the key's ARN, also when the request names an alias,
// https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html
#[tokio::test]
async fn kms_grants_are_per_key_and_an_alias_is_authorized_as_its_key() {
    let stack = Stack::deployed();
    let root = aws_sdk_kms::Client::new(&localstack().await);
    let context = HashMap::from([("probe".to_owned(), unique())]);
    let sealed = root
        .generate_data_key()
        .key_id(stack.output("PiiKeyId"))
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .set_encryption_context(Some(context.clone()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();

    // interrogate opens owners' PII (kms:Decrypt on PiiKey) ...
    let interrogate = aws_sdk_kms::Client::new(
        &assumed(
            &role_arn(&stack, "interrogate").await,
            "fidelity-probe",
            true,
        )
        .await,
    );
    interrogate
        .decrypt()
        .key_id(stack.output("PiiKeyId"))
        .ciphertext_blob(sealed.clone())
        .set_encryption_context(Some(context.clone()))
        .send()
        .await
        .expect("interrogate may decrypt with the PII key");
    // ... through its alias too: the alias resolves to the key the grant names.
    interrogate
        .get_public_key()
        .key_id(format!("alias/{}-signing", stack.table()))
        .send()
        .await
        .expect("interrogate may read the signing key's public key by alias");

    // admin has no grant on the PII key.
    let admin = aws_sdk_kms::Client::new(
        &assumed(&role_arn(&stack, "admin").await, "fidelity-probe", true).await,
    );
    let refused = admin
        .decrypt()
        .key_id(stack.output("PiiKeyId"))
        .ciphertext_blob(sealed)
        .set_encryption_context(Some(context))
        .send()
        .await;
    assert_eq!(refusal(refused), ("AccessDeniedException".into(), 400));
}

// AWS: SNS answers a denial with AuthorizationError, HTTP 403,
// https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html
#[tokio::test]
async fn notify_publishes_to_its_own_stacks_topics_only() {
    let stack = Stack::deployed();
    let root = aws_sdk_sns::Client::new(&localstack().await);
    let id = unique();
    // Topics of the probe's own: the stack's topics have subscribers other tests watch.
    let own = new_topic(&root, format!("{}-fidelity-{id}", stack.table())).await;
    let foreign = new_topic(&root, format!("trustreg-elsewhere-fidelity-{id}")).await;

    let notify = aws_sdk_sns::Client::new(
        &assumed(&role_arn(&stack, "notify").await, "fidelity-probe", true).await,
    );
    notify
        .publish()
        .topic_arn(&own)
        .message("probe")
        .send()
        .await
        .expect("notify may publish to trustreg-<suffix>-*");
    let refused = notify
        .publish()
        .topic_arn(&foreign)
        .message("probe")
        .send()
        .await;
    assert_eq!(refusal(refused), ("AuthorizationError".into(), 403));

    for topic in [own, foreign] {
        root.delete_topic().topic_arn(topic).send().await.unwrap();
    }
}

// AWS: SQS queue ARNs from queue URLs; denial is AccessDenied, HTTP 403 (`x-amzn-query-error:
// AccessDenied;Sender` on the JSON protocol),
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html
#[tokio::test]
async fn sending_to_a_queue_needs_a_grant_on_that_queue() {
    let stack = Stack::deployed();
    let root = aws_sdk_sqs::Client::new(&localstack().await);
    let id = unique();
    let inbox = new_queue(&root, format!("trustreg-fidelity-{id}-inbox")).await;
    let other = new_queue(&root, format!("trustreg-fidelity-{id}-outbox")).await;

    // notify sends updates to any registry's inbox (sqs:SendMessage on trustreg-*-inbox) ...
    let notify = aws_sdk_sqs::Client::new(
        &assumed(&role_arn(&stack, "notify").await, "fidelity-probe", true).await,
    );
    notify
        .send_message()
        .queue_url(&inbox)
        .message_body("probe")
        .send()
        .await
        .expect("notify may send to an inbox");
    // ... and to no other queue,
    let refused = notify
        .send_message()
        .queue_url(&other)
        .message_body("probe")
        .send()
        .await;
    assert_eq!(refusal(refused), ("AccessDenied".into(), 403));
    // while interrogate sends nowhere.
    let interrogate = aws_sdk_sqs::Client::new(
        &assumed(
            &role_arn(&stack, "interrogate").await,
            "fidelity-probe",
            true,
        )
        .await,
    );
    let refused = interrogate
        .send_message()
        .queue_url(&inbox)
        .message_body("probe")
        .send()
        .await;
    assert_eq!(refusal(refused), ("AccessDenied".into(), 403));

    for queue in [inbox, other] {
        root.delete_queue().queue_url(queue).send().await.unwrap();
    }
}

/// One IAM query-API call on LocalStack with the root test credentials (the tests have no IAM
/// SDK client; LocalStack reads the account from the credential and does not check signatures).
async fn iam(params: &[(&str, &str)]) {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
        )
        .form(&[&[("Version", "2010-05-08")], params].concat())
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert!(
        status.is_success(),
        "IAM {params:?}: {status} {}",
        response.text().await.unwrap()
    );
}

// AWS: "An explicit deny in any policy overrides any allows",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
#[tokio::test]
async fn an_explicit_deny_overrides_an_allow() {
    let stack = Stack::deployed();
    let role = format!("fidelity-probe-{}", unique());
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    let table = format!(
        "arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{}",
        stack.table()
    );
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": [&table, format!("{table}/index/*")]},
            {"Effect": "Deny", "Action": "dynamodb:Query", "Resource": format!("{table}/index/gsi4")},
        ]
    })
    .to_string();
    iam(&[
        ("Action", "CreateRole"),
        ("RoleName", &role),
        ("AssumeRolePolicyDocument", trust),
    ])
    .await;
    iam(&[
        ("Action", "PutRolePolicy"),
        ("RoleName", &role),
        ("PolicyName", "probe"),
        ("PolicyDocument", &policy),
    ])
    .await;

    let ddb = aws_sdk_dynamodb::Client::new(
        &assumed(
            &format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
            "fidelity-probe",
            true,
        )
        .await,
    );
    let query = |index: &'static str| {
        ddb.query()
            .table_name(stack.table())
            .index_name(index)
            .key_condition_expression(format!("{index}pk = :p"))
            .expression_attribute_values(":p", s("FIDELITY#none"))
            .send()
    };
    query("gsi1")
        .await
        .expect("allowed by dynamodb:* on index/*");
    assert_eq!(
        refusal(query("gsi4").await),
        ("AccessDeniedException".into(), 400)
    );
    iam(&[
        ("Action", "DeleteRolePolicy"),
        ("RoleName", &role),
        ("PolicyName", "probe"),
    ])
    .await;
    iam(&[("Action", "DeleteRole"), ("RoleName", &role)]).await;
}

// ---------------------------------------------------------------- limits

// AWS: Sign "Messages can be 0-4096 bytes. To sign a larger message, provide a message digest."
// https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html (Verify likewise,
// https://docs.aws.amazon.com/kms/latest/APIReference/API_Verify.html)
#[tokio::test]
async fn kms_signs_at_most_4096_raw_bytes() {
    let stack = Stack::deployed();
    let kms = aws_sdk_kms::Client::new(&localstack().await);
    let sign = |len: usize| {
        kms.sign()
            .key_id(stack.output("SigningKeyId"))
            .message(Blob::new(vec![b'a'; len]))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
    };
    let signature = sign(4096)
        .await
        .expect("4,096 raw bytes are signed")
        .signature
        .unwrap();
    let refused = sign(4097).await;
    assert_eq!(refusal(refused), ("ValidationException".into(), 400));
    let refused = kms
        .verify()
        .key_id(stack.output("SigningKeyId"))
        .message(Blob::new(vec![b'a'; 4097]))
        .message_type(MessageType::Raw)
        .signature(signature)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await;
    assert_eq!(refusal(refused), ("ValidationException".into(), 400));
}

// AWS: BatchWriteItem takes "up to 25 item put or delete operations",
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
#[tokio::test]
async fn batch_write_item_takes_at_most_25_requests() {
    let stack = Stack::deployed();
    let ddb = aws_sdk_dynamodb::Client::new(&localstack().await);
    let pk = format!("FIDELITY#{}", unique());
    let puts = |n: usize| -> Vec<WriteRequest> {
        (0..n)
            .map(|i| {
                let item = key(&pk, &format!("{i:03}"));
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build()
            })
            .collect()
    };
    let refused = ddb
        .batch_write_item()
        .request_items(stack.table(), puts(26))
        .send()
        .await;
    assert_eq!(refusal(refused), ("ValidationException".into(), 400));

    ddb.batch_write_item()
        .request_items(stack.table(), puts(25))
        .send()
        .await
        .expect("25 requests are taken");
    let deletes: Vec<WriteRequest> = (0..25)
        .map(|i| {
            WriteRequest::builder()
                .delete_request(
                    DeleteRequest::builder()
                        .set_key(Some(key(&pk, &format!("{i:03}"))))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect();
    ddb.batch_write_item()
        .request_items(stack.table(), deletes)
        .send()
        .await
        .unwrap();
}

/// An item of exactly `size` bytes by DynamoDB's count: attribute names plus values
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
fn item_of(pk: &str, sk: &str, size: usize) -> HashMap<String, AttributeValue> {
    let mut item = key(pk, sk);
    let used = "pk".len() + pk.len() + "sk".len() + sk.len() + "d".len();
    item.insert("d".into(), s(&"x".repeat(size - used)));
    item
}

// AWS: "The maximum item size in DynamoDB is 400 KB" with "1 KB = 1024 bytes",
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html
#[tokio::test]
async fn an_item_holds_400_kb_and_not_a_byte_more() {
    let stack = Stack::deployed();
    let ddb = aws_sdk_dynamodb::Client::new(&localstack().await);
    let pk = format!("FIDELITY#{}", unique());
    let put = |size: usize| {
        ddb.put_item()
            .table_name(stack.table())
            .set_item(Some(item_of(&pk, "item", size)))
            .send()
    };
    // moto alone refuses from 405,000 bytes: an item AWS stores.
    put(400 * 1024).await.expect("a 400 KB item is stored");
    assert_eq!(
        refusal(put(400 * 1024 + 1).await),
        ("ValidationException".into(), 400)
    );
    ddb.delete_item()
        .table_name(stack.table())
        .set_key(Some(key(&pk, "item")))
        .send()
        .await
        .unwrap();
}

// AWS: Number "can have up to 38 digits of precision. Exceeding this results in an exception",
// "Positive range: 1E-130 to 9.9999999999999999999999999999999999999E+125" (negative alike),
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
// Stock LocalStack stores such a number, then fails every Query of its partition (moto's
// decimal.Overflow, a 500): one stored value made the statistics unreadable in a CI run.
#[tokio::test]
async fn a_number_outside_dynamodbs_range_or_precision_is_refused() {
    let stack = Stack::deployed();
    let ddb = aws_sdk_dynamodb::Client::new(&localstack().await);
    let pk = format!("FIDELITY#{}", unique());
    let with = |n: AttributeValue| {
        let mut item = key(&pk, "number");
        item.insert("n".into(), n);
        item
    };
    let n = |v: &str| AttributeValue::N(v.to_owned());
    let nested = |v: &str| {
        AttributeValue::M(HashMap::from([(
            "deep".to_owned(),
            AttributeValue::L(vec![n("1"), n(v)]),
        )]))
    };
    for refused in [
        n("1E+126"),
        n("-1e300"),
        n("1E-131"),
        n("123456789012345678901234567890123456789"),
        nested("1e300"),
        AttributeValue::Ns(vec!["1".into(), "1e-200".into()]),
    ] {
        let put = ddb
            .put_item()
            .table_name(stack.table())
            .set_item(Some(with(refused.clone())))
            .send()
            .await;
        assert_eq!(
            refusal(put),
            ("ValidationException".into(), 400),
            "{refused:?}"
        );
    }
    // The same number through a transaction and an update expression.
    let transaction = ddb
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(stack.table())
                        .set_item(Some(with(nested("1e300"))))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await;
    assert_eq!(refusal(transaction), ("ValidationException".into(), 400));
    let update = ddb
        .update_item()
        .table_name(stack.table())
        .set_key(Some(key(&pk, "number")))
        .update_expression("SET n = :n")
        .expression_attribute_values(":n", n("-1E-131"))
        .send()
        .await;
    assert_eq!(refusal(update), ("ValidationException".into(), 400));

    // The edges AWS stores, and the partition still reads, also through a projection (moto
    // alone reads numbers back with boto3's client context, which counts trailing zeros as
    // digits: the 80-digit integer, 17 significant digits as Rust prints 2.0859747935919626e79,
    // failed every projected Query of its partition).
    for stored in [
        "9.9999999999999999999999999999999999999E+125",
        "-1E-130",
        "12345678901234567890123456789012345678",
        "20859747935919626000000000000000000000000000000000000000000000000000000000000000",
        "0",
    ] {
        ddb.put_item()
            .table_name(stack.table())
            .set_item(Some(with(nested(stored))))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{stored} is stored: {e:?}"));
        let read = ddb
            .query()
            .table_name(stack.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(&pk))
            .projection_expression("n")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{stored}: the partition reads: {e:?}"));
        assert_eq!(read.count(), 1, "{stored}");
    }
    ddb.delete_item()
        .table_name(stack.table())
        .set_key(Some(key(&pk, "number")))
        .send()
        .await
        .unwrap();
}

// AWS: "The aggregate size of the items in the transaction cannot exceed 4 MB."
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
#[tokio::test]
async fn a_transaction_writes_at_most_4_mb() {
    let stack = Stack::deployed();
    let ddb = aws_sdk_dynamodb::Client::new(&localstack().await);
    let pk = format!("FIDELITY#{}", unique());
    // Items of 390 KB: ten are 3.8 MB, eleven 4.2 MB.
    let transaction = |n: usize| {
        let items = (0..n)
            .map(|i| {
                let item = item_of(&pk, &format!("{i:03}"), 390 * 1024);
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(stack.table())
                            .set_item(Some(item))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect::<Vec<_>>();
        ddb.transact_write_items()
            .set_transact_items(Some(items))
            .send()
    };
    assert_eq!(
        refusal(transaction(11).await),
        ("ValidationException".into(), 400)
    );
    transaction(10).await.expect("3.8 MB are written");
    for i in 0..10 {
        ddb.delete_item()
            .table_name(stack.table())
            .set_key(Some(key(&pk, &format!("{i:03}"))))
            .send()
            .await
            .unwrap();
    }
}

// AWS: Sign takes at most 4,096 bytes of a RAW message,
// https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html. Exchange messages and
// snapshot pages are larger, so the registry's keys sign their SHA-256 digest
// (functions/aws/src/kms.rs); signing them RAW works on stock LocalStack and fails on AWS.
#[tokio::test]
async fn the_registry_signs_messages_larger_than_kms_takes_raw() {
    use p256::ecdsa::signature::Verifier;
    use trustreg_core::ports::RegistryKeys;

    let stack = Stack::deployed();
    let keys = trustreg_aws::KmsKeys::new(
        aws_sdk_kms::Client::new(&localstack().await),
        stack.output("SigningKeyId"),
        stack.output("PiiKeyId"),
        stack.output("RegistryPath"),
    );
    let message = vec![b'm'; 64 * 1024]; // a snapshot page of a few hundred devices
    let signature = keys
        .sign(&message)
        .await
        .expect("a 64 KiB message is signed");
    let signature = p256::ecdsa::Signature::from_slice(&signature).unwrap();
    keys.public_key()
        .await
        .unwrap()
        .verify(&message, &signature)
        .expect("ES256 over the message verifies the signature of its digest");
}

fn attributes(n: usize) -> HashMap<String, SqsAttribute> {
    (0..n)
        .map(|i| {
            let value = SqsAttribute::builder()
                .data_type("String")
                .string_value("v")
                .build()
                .unwrap();
            (format!("a{i}"), value)
        })
        .collect()
}

// AWS: MaximumMessageSize "Default: 1,048,576 bytes (1 MiB)",
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html;
// "A message can contain up to 10 metadata attributes",
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
#[tokio::test]
async fn a_queue_takes_1_mib_messages_with_at_most_10_attributes() {
    let sqs = aws_sdk_sqs::Client::new(&localstack().await);
    let queue = new_queue(&sqs, format!("fidelity-{}", unique())).await;
    let send = |body: String, attrs: usize| {
        sqs.send_message()
            .queue_url(&queue)
            .message_body(body)
            .set_message_attributes(Some(attributes(attrs)))
            .send()
    };
    // Stock LocalStack refuses from 256 KiB, AWS's limit before 2025.
    send("x".repeat(1024 * 1024), 0)
        .await
        .expect("1 MiB is taken");
    let too_big = send("x".repeat(1024 * 1024 + 1), 0).await;
    assert_eq!(refusal(too_big), ("InvalidParameterValue".into(), 400));
    send("ten".into(), 10)
        .await
        .expect("10 attributes are taken");
    let too_many = send("eleven".into(), 11).await;
    assert_eq!(refusal(too_many), ("InvalidParameterValue".into(), 400));
    sqs.delete_queue().queue_url(queue).send().await.unwrap();
}

// AWS: "Messages with more than 10 message attributes directed towards Raw Message Delivery
// enabled Amazon SQS subscriptions will be discarded as client side errors."
// https://docs.aws.amazon.com/sns/latest/dg/SNSMessageAttributes.html
#[tokio::test]
async fn sns_raw_delivery_to_sqs_discards_a_message_with_more_than_10_attributes() {
    let sdk = localstack().await;
    let (sns, sqs) = (
        aws_sdk_sns::Client::new(&sdk),
        aws_sdk_sqs::Client::new(&sdk),
    );
    let id = unique();
    let topic = new_topic(&sns, format!("fidelity-{id}")).await;
    let queue = new_queue(&sqs, format!("fidelity-{id}")).await;
    let queue_arn = format!("arn:aws:sqs:us-east-1:{ACCOUNT}:fidelity-{id}");
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let publish = |body: &'static str, n: usize| {
        let attrs = (0..n)
            .map(|i| {
                let value = aws_sdk_sns::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("v")
                    .build()
                    .unwrap();
                (format!("a{i}"), value)
            })
            .collect();
        sns.publish()
            .topic_arn(&topic)
            .message(body)
            .set_message_attributes(Some(attrs))
            .send()
    };
    // Publishing succeeds either way: the discard happens at delivery.
    publish("eleven", 11).await.unwrap();
    publish("ten", 10).await.unwrap();

    // The message published after it arrives; by then the discarded one would have too.
    let mut bodies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !bodies.iter().any(|b| b == "ten") {
        assert!(
            Instant::now() < deadline,
            "the 10-attribute message never arrived"
        );
        let out = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        bodies.extend(
            out.messages()
                .iter()
                .filter_map(|m| m.body().map(str::to_owned)),
        );
    }
    assert_eq!(bodies, vec!["ten".to_owned()]);
    sns.delete_topic().topic_arn(topic).send().await.unwrap();
    sqs.delete_queue().queue_url(queue).send().await.unwrap();
}

// AWS: SNS messages "can be up to 256 KB",
// https://docs.aws.amazon.com/sns/latest/api/API_Publish.html (LocalStack already enforces
// this one; kept so a LocalStack upgrade that stops doing so is noticed).
#[tokio::test]
async fn sns_takes_at_most_256_kib() {
    let sns = aws_sdk_sns::Client::new(&localstack().await);
    let topic = new_topic(&sns, format!("fidelity-{}", unique())).await;
    sns.publish()
        .topic_arn(&topic)
        .message("x".repeat(256 * 1024))
        .send()
        .await
        .expect("256 KiB are taken");
    let refused = sns
        .publish()
        .topic_arn(&topic)
        .message("x".repeat(256 * 1024 + 1))
        .send()
        .await;
    assert_eq!(refusal(refused), ("InvalidParameter".into(), 400));
    sns.delete_topic().topic_arn(topic).send().await.unwrap();
}

// ---------------------------------------------------------------- Lambda

/// CRC-32 (IEEE) for the zip below; bitwise, the zip is small.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip holding one executable file, stored uncompressed (APPNOTE 4.3).
fn zip_one(name: &str, data: &[u8]) -> Vec<u8> {
    let (crc, len, name_len) = (crc32(data), data.len() as u32, name.len() as u16);
    let mut out = Vec::new();
    let header = |sig: u32, central: bool, out: &mut Vec<u8>| {
        out.extend(sig.to_le_bytes());
        if central {
            out.extend(0x0314u16.to_le_bytes()); // made by: unix, so the mode below counts
        }
        out.extend(10u16.to_le_bytes()); // version needed
        out.extend([0u8; 4]); // flags, method (stored)
        out.extend([0u8; 4]); // time, date
        out.extend(crc.to_le_bytes());
        out.extend(len.to_le_bytes());
        out.extend(len.to_le_bytes());
        out.extend(name_len.to_le_bytes());
        out.extend(0u16.to_le_bytes()); // extra
        if central {
            out.extend([0u8; 6]); // comment length, disk, internal attributes
            out.extend((0o100_755u32 << 16).to_le_bytes()); // rwxr-xr-x regular file
            out.extend(0u32.to_le_bytes()); // offset of the local header
        }
        out.extend(name.as_bytes());
    };
    header(0x0403_4b50, false, &mut out);
    out.extend(data);
    let central_at = out.len() as u32;
    header(0x0201_4b50, true, &mut out);
    let central_len = out.len() as u32 - central_at;
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend(1u16.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(central_len.to_le_bytes());
    out.extend(central_at.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// A custom runtime answering each event `{"size": n}` with a JSON string of n bytes.
const BIG_ANSWER_BOOTSTRAP: &str = r#"#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  headers=$(mktemp); event=$(curl -sS -D "$headers" "$api/invocation/next")
  id=$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | cut -d' ' -f2 | tr -d '\r')
  size=$(printf '%s' "$event" | sed 's/[^0-9]//g')
  { printf '"'; head -c $((size - 2)) /dev/zero | tr '\0' a; printf '"'; } |
    curl -sS -o /dev/null -X POST --data-binary @- "$api/invocation/$id/response"
  rm -f "$headers"
done
"#;

// AWS: "For synchronous invocations, the maximum payload size is 6 MB."
// https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html (6,291,556 bytes, the figure of
// LocalStack's own runtime init, which the host-mode executor replaces).
#[tokio::test]
async fn a_synchronous_response_holds_at_most_6_mb() {
    let stack = Stack::deployed();
    let endpoint = localstack().await.endpoint_url().unwrap().to_owned();
    let http = reqwest::Client::new();
    let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0";
    let name = format!("fidelity-{}", unique());
    let code = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        zip_one("bootstrap", BIG_ANSWER_BOOTSTRAP.as_bytes()),
    );
    let created = http
        .post(format!("{endpoint}/2015-03-31/functions"))
        .header("Authorization", auth)
        .json(&serde_json::json!({
            "FunctionName": name, "Runtime": "provided.al2023", "Handler": "bootstrap",
            "Role": role_arn(&stack, "interrogate").await, "Code": {"ZipFile": code}, "Timeout": 30,
        }))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "{}",
        created.text().await.unwrap()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let config: serde_json::Value = http
            .get(format!(
                "{endpoint}/2015-03-31/functions/{name}/configuration"
            ))
            .header("Authorization", auth)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if config["State"] == "Active" {
            break;
        }
        assert!(Instant::now() < deadline, "function not active: {config}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let invoke = |size: usize| {
        http.post(format!(
            "{endpoint}/2015-03-31/functions/{name}/invocations"
        ))
        .header("Authorization", auth)
        .json(&serde_json::json!({ "size": size }))
        .send()
    };
    let limit = 6 * 1024 * 1024 + 100;
    let ok = invoke(limit).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.headers().get("X-Amz-Function-Error").is_none());
    assert_eq!(ok.bytes().await.unwrap().len(), limit);

    let too_big = invoke(limit + 1).await.unwrap();
    assert_eq!(too_big.status(), 200); // function errors come back as 200 with the error header
    assert!(too_big.headers().get("X-Amz-Function-Error").is_some());
    let body: serde_json::Value = too_big.json().await.unwrap();
    assert_eq!(body["errorType"], "Function.ResponseSizeTooLarge");

    http.delete(format!("{endpoint}/2015-03-31/functions/{name}"))
        .header("Authorization", auth)
        .send()
        .await
        .unwrap();
}

// Rules LocalStack 4.7.0 (moto) already enforces as AWS does: probed so that an upgrade of the
// emulator that drops one is noticed, not to test the fidelity layer.

// AWS: "The minimum length of a partition key value is 1 byte. The maximum length is 2048
// bytes." and "The maximum length of a sort key value is 1024 bytes."
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-partition-sort-keys
#[tokio::test]
async fn keys_hold_2048_bytes_of_partition_and_1024_of_sort() {
    let stack = Stack::deployed();
    let ddb = aws_sdk_dynamodb::Client::new(&localstack().await);
    let prefix = format!("FIDELITY#{}#", unique());
    let put = |pk: String, sk: String| {
        ddb.put_item()
            .table_name(stack.table())
            .set_item(Some(key(&pk, &sk)))
            .send()
    };
    let pk = |len: usize| format!("{prefix}{}", "p".repeat(len - prefix.len()));
    let sk = |len: usize| "s".repeat(len);
    assert_eq!(
        refusal(put(pk(2049), sk(1)).await),
        ("ValidationException".into(), 400)
    );
    assert_eq!(
        refusal(put(pk(2048), sk(1025)).await),
        ("ValidationException".into(), 400)
    );
    put(pk(2048), sk(1024)).await.expect("keys at their limits");
    ddb.delete_item()
        .table_name(stack.table())
        .set_key(Some(key(&pk(2048), &sk(1024))))
        .send()
        .await
        .unwrap();
}

// AWS: TransactWriteItems "can contain up to 100 action requests" and BatchGetItem "can
// retrieve up to 100 items".
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
#[tokio::test]
async fn transactions_and_batch_reads_take_at_most_100() {
    let stack = Stack::deployed();
    let ddb = aws_sdk_dynamodb::Client::new(&localstack().await);
    let pk = format!("FIDELITY#{}", unique());
    let puts = |n: usize| -> Vec<TransactWriteItem> {
        (0..n)
            .map(|i| {
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(stack.table())
                            .set_item(Some(key(&pk, &format!("{i:03}"))))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect()
    };
    let refused = ddb
        .transact_write_items()
        .set_transact_items(Some(puts(101)))
        .send()
        .await;
    assert_eq!(refusal(refused), ("ValidationException".into(), 400));
    ddb.transact_write_items()
        .set_transact_items(Some(puts(100)))
        .send()
        .await
        .expect("100 actions are taken");

    let keys = |n: usize| {
        aws_sdk_dynamodb::types::KeysAndAttributes::builder()
            .set_keys(Some((0..n).map(|i| key(&pk, &format!("{i:03}"))).collect()))
            .build()
            .unwrap()
    };
    let refused = ddb
        .batch_get_item()
        .request_items(stack.table(), keys(101))
        .send()
        .await;
    assert_eq!(refusal(refused), ("ValidationException".into(), 400));
    let got = ddb
        .batch_get_item()
        .request_items(stack.table(), keys(100))
        .send()
        .await
        .expect("100 keys are taken");
    let read = got
        .responses()
        .and_then(|r| r.get(stack.table()))
        .map_or(0, Vec::len);
    let left = got
        .unprocessed_keys()
        .and_then(|u| u.get(stack.table()))
        .map_or(0, |k| k.keys().len());
    assert_eq!(read + left, 100);
    for i in 0..100 {
        ddb.delete_item()
            .table_name(stack.table())
            .set_key(Some(key(&pk, &format!("{i:03}"))))
            .send()
            .await
            .unwrap();
    }
}

// AWS: "A single Query operation will read up to a maximum of 1 MB of data" and then answers
// with LastEvaluatedKey.
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html
#[tokio::test]
async fn a_query_page_holds_at_most_1_mb() {
    let stack = Stack::deployed();
    let ddb = aws_sdk_dynamodb::Client::new(&localstack().await);
    let pk = format!("FIDELITY#{}", unique());
    for i in 0..3 {
        ddb.put_item()
            .table_name(stack.table())
            .set_item(Some(item_of(&pk, &format!("{i}"), 400 * 1024)))
            .send()
            .await
            .unwrap();
    }
    let page = ddb
        .query()
        .table_name(stack.table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s(&pk))
        .send()
        .await
        .unwrap();
    assert!(page.count() < 3, "three 400 KB items in one page");
    assert!(page.last_evaluated_key().is_some(), "no key to go on from");
    for i in 0..3 {
        ddb.delete_item()
            .table_name(stack.table())
            .set_key(Some(key(&pk, &format!("{i}"))))
            .send()
            .await
            .unwrap();
    }
}
