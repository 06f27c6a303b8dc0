//! Exchange messages as the registries send them to each other's inboxes, made up by the
//! tests (hierarchy, poisoned messages), and what the receiving registry audits of them.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use trustreg_core::exchange::{EXCHANGE_TYP, ExchangeBody, ExchangeClaims, StatusItem};
use trustreg_core::jose::{self, JwsHeader};
use trustreg_core::ports::{Clock, RegistryKeys};
use trustreg_core::status::TrustStatus;

use crate::{Stack, localstack};

/// An exchange message as a registry sends it: claims signed with ES256, `typ` and `kid` of
/// the exchange.
pub async fn message(keys: &dyn RegistryKeys, claims: &ExchangeClaims) -> String {
    let header = JwsHeader::es256()
        .with_typ(EXCHANGE_TYP)
        .with_kid(keys.key_id());
    let input = jose::signing_input(&header, &serde_json::to_vec(claims).expect("claims"));
    let signature = keys.sign(input.as_bytes()).await.expect("signed");
    jose::assemble(&input, &signature)
}

/// An update of `sender` (its own device `regdevid`) numbered `seq`.
pub fn update(sender: &str, seq: u64, regdevid: &str, status: TrustStatus) -> ExchangeClaims {
    ExchangeClaims {
        sender: sender.to_owned(),
        origin: sender.to_owned(),
        seq,
        iat: now_ms() / 1000,
        body: ExchangeBody::Update {
            items: vec![StatusItem {
                regdevid: regdevid.to_owned(),
                status,
                status_since_ms: now_ms(),
                make: "Acme".into(),
                model: "Sensor-1".into(),
                trust_domains: vec!["health".into()],
                root: None,
            }],
        },
    }
}

pub fn now_ms() -> u64 {
    trustreg_aws::SystemClock.now_ms()
}

/// Puts `body` straight into `stack`'s exchange inbox, as another registry would.
pub async fn into_inbox(stack: &Stack, body: &str) {
    into_inbox_tagged(stack, body, None).await;
}

/// Puts `body` into `stack`'s exchange inbox with a message attribute `fault-tag` = `tag`:
/// the SQS event the exchange function gets then carries the tag in clear, so a fault armed
/// with it hits only that invocation (the body itself is a JWS, its claims base64url).
pub async fn into_inbox_tagged(stack: &Stack, body: &str, tag: Option<&str>) {
    let sdk = localstack().await;
    let mut send = aws_sdk_sqs::Client::new(&sdk)
        .send_message()
        .queue_url(stack.output("InboxUrl"))
        .message_body(body);
    if let Some(tag) = tag {
        send = send.message_attributes(
            "fault-tag",
            aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(tag)
                .build()
                .expect("an attribute"),
        );
    }
    send.send().await.expect("sent to the inbox");
}

/// The audit records of `stack` since `since_ms` (its day partitions), as JSON.
/// `POST /v1/admin/links` at `at`, signed by the test administrator, as `trustreg admin link`
/// sends it: the registry of `theirs` (its `GET /v1/registry` document) is `at`'s `kind`, with
/// `inbox`.
pub async fn post_link(at: &Stack, theirs: &Value, kind: &str, inbox: &str) -> crate::Answer {
    let api = at.api_url();
    let (admin, key) = crate::test_admin();
    let claims = serde_json::json!({
        "nonce": crate::challenge(&api, "link").await, "kind": kind,
        "reg_id": theirs["reg_id"], "path": theirs["path"],
        "public_key": theirs["public_key"], "inbox": inbox,
    });
    crate::post_signed(
        &api,
        "/v1/admin/links",
        &key,
        &format!("admin:{admin}"),
        &claims,
    )
    .await
}

/// The audit records `stack` wrote from `since_ms` on, oldest first.
pub async fn audit_since(stack: &Stack, since_ms: u64) -> Vec<Value> {
    let sdk = localstack().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let mut days = vec![trustreg_core::service::utc_day(since_ms)];
    let today = trustreg_core::service::utc_day(now_ms());
    if !days.contains(&today) {
        days.push(today);
    }
    let store = stack.store(&sdk);
    let mut records = Vec::new();
    for pk in days.iter().flat_map(|day| store.audit_day_partitions(day)) {
        let mut start = None;
        loop {
            let out = client
                .query()
                .table_name(stack.table())
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("audit query");
            for item in out.items() {
                let record: Value = serde_dynamo::from_item(item.clone()).expect("an audit record");
                if record["at_ms"].as_u64().unwrap_or(0) >= since_ms {
                    records.push(record);
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
    }
    // Oldest first, as `GET /v1/audit` lists them: a day's records are spread over several
    // partitions, so the order of the reads above says nothing of time (a test asserting
    // "applied in order" failed when its two records landed in shards read the other way).
    records.sort_by(|a, b| {
        (a["at_ms"].as_u64(), a["id"].as_str()).cmp(&(b["at_ms"].as_u64(), b["id"].as_str()))
    });
    records
}
