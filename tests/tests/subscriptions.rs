//! Subscriptions end to end on LocalStack, through API Gateway and the `interrogate` Lambda:
//! an approved enquirer subscribes an SQS queue and a loopback HTTP endpoint to a trust
//! domain's topic with a filter policy; messages published to the topic reach them as SNS
//! filters them. Messages are published here directly to the topic, so these tests need only
//! the topic, not the registry's own fan-out.
// card C6
// card C4
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use p256::ecdsa::SigningKey;
use serde_json::{Value, json};
use trustreg_core::jose;
use trustreg_tests::{
    Answer, Stack, challenge, localstack, post, post_signed, random_imei, send, test_admin,
};

fn new_key() -> SigningKey {
    let mut bytes = [0u8; 32];
    trustreg_core::ports::Rng::fill(&trustreg_aws::OsRng, &mut bytes);
    SigningKey::from_bytes(&bytes.into()).unwrap()
}

/// An approved enquirer's access token.
async fn enquirer_token(api: &str) -> String {
    let key = new_key();
    let signed_up = post(
        api,
        "/v1/enquirers",
        "application/json",
        json!({"name": "Ada", "organisation": "Example Health", "contact": "ada@example.org",
               "role": "enquirer", "public_key": jose::jwk_from_key(key.verifying_key())})
        .to_string(),
    )
    .await;
    assert_eq!(signed_up.status, 201, "{signed_up:?}");
    let id = signed_up.body["enquirer_id"].as_str().unwrap().to_owned();
    let (name, admin) = test_admin();
    let nonce = challenge(api, "enquirer-decision").await;
    let decided = post_signed(
        api,
        &format!("/v1/admin/enquirers/{id}/decision"),
        &admin,
        &format!("admin:{name}"),
        &json!({"nonce": nonce, "decision": "approve"}),
    )
    .await;
    assert_eq!(decided.status, 200, "{decided:?}");
    let kid = format!("enquirer:{id}");
    let nonce = challenge(api, "login").await;
    let session = post_signed(
        api,
        "/v1/sessions",
        &key,
        &kid,
        &json!({"nonce": nonce, "enquirer_id": kid}),
    )
    .await;
    assert_eq!(session.status, 200, "{session:?}");
    session.body["access_token"].as_str().unwrap().to_owned()
}

async fn subscribe(api: &str, token: &str, body: Value) -> Answer {
    send(
        "POST",
        format!("{api}/v1/subscriptions"),
        Some(token),
        Some(("application/json", body.to_string())),
    )
    .await
}

async fn list(api: &str, token: &str) -> Answer {
    send("GET", format!("{api}/v1/subscriptions"), Some(token), None).await
}

async fn unsubscribe(api: &str, token: &str, id: &str) -> Answer {
    send(
        "DELETE",
        format!("{api}/v1/subscriptions/{id}"),
        Some(token),
        None,
    )
    .await
}

/// The subscriptions SNS holds on `topic`: (ARN, endpoint).
async fn held(sns: &aws_sdk_sns::Client, topic: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut next = None;
    loop {
        let out = sns
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .set_next_token(next)
            .send()
            .await
            .unwrap();
        for s in out.subscriptions() {
            found.push((
                s.subscription_arn().unwrap_or_default().to_owned(),
                s.endpoint().unwrap_or_default().to_owned(),
            ));
        }
        next = out.next_token().map(str::to_owned);
        if next.is_none() {
            return found;
        }
    }
}

/// Publishes `marker` to `topic` with the registry's attributes for a status change.
async fn publish(sns: &aws_sdk_sns::Client, topic: &str, status: &str, marker: &str) {
    let text = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .unwrap()
    };
    sns.publish()
        .topic_arn(topic)
        .message(json!({"event": "status-changed", "status": status, "marker": marker}).to_string())
        .message_attributes("event", text("status-changed"))
        .message_attributes("status", text(status))
        .message_attributes("previous_status", text("unverified"))
        .message_attributes("make", text("Acme"))
        .message_attributes("registry", text("IN1.HLT.P07"))
        .send()
        .await
        .unwrap();
}

/// A queue whose policy lets `topic` send to it: its URL and ARN.
async fn queue_for(sqs: &aws_sdk_sqs::Client, topic: &str) -> (String, String) {
    let name = format!("trustreg-subscriber-{}", random_imei());
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .unwrap()
        .clone();
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
        }],
    });
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .unwrap();
    (url, arn)
}

/// The markers of the notifications that reach the queue within `wait`.
async fn markers(sqs: &aws_sdk_sqs::Client, url: &str, wait: Duration) -> Vec<String> {
    let until = Instant::now() + wait;
    let mut found = Vec::new();
    while Instant::now() < until {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            let envelope: Value = serde_json::from_str(m.body().unwrap_or_default()).unwrap();
            let message: Value =
                serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
            found.push(message["marker"].as_str().unwrap().to_owned());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    found
}

// Y.3059 9.4 i a
// Y.3059 7 iv e
// card C8
// card C4
// An enquirer subscribes a queue to the health topic for `status = unreliable`: of two
// published changes, exactly the matching one arrives. An invalid filter creates nothing in
// SNS; another enquirer neither sees nor deletes the subscription; DELETE removes it from SNS.
#[tokio::test]
async fn an_sqs_subscriber_receives_exactly_what_its_filter_matches() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let api = stack.api_url();
    let sns = aws_sdk_sns::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let topic = stack.output("TopicHealthArn").to_owned();
    let (url, queue) = queue_for(&sqs, &topic).await;
    let ada = enquirer_token(&api).await;
    let grace = enquirer_token(&api).await;

    let before = held(&sns, &topic).await;
    for filter in [
        json!({"status": ["broken"]}),
        json!({"colour": ["red"]}),
        json!({"status": [{"exists": true}]}),
        // A number the store cannot keep (DynamoDB's Number range, free_json).
        json!({"severity": [{"numeric": [">", 1e-200]}]}),
    ] {
        let refused = subscribe(
            &api,
            &ada,
            json!({"trust_domain": "health", "protocol": "sqs", "endpoint": queue,
                   "filter": filter}),
        )
        .await;
        assert_eq!(refused.status, 400, "{refused:?}");
        assert_eq!(refused.problem(), "malformed-request");
        assert!(refused.body["detail"].as_str().unwrap().contains("filter."));
    }
    assert_eq!(held(&sns, &topic).await, before);
    let anonymous = send(
        "POST",
        format!("{api}/v1/subscriptions"),
        None,
        Some((
            "application/json",
            json!({"trust_domain": "health", "protocol": "sqs", "endpoint": queue}).to_string(),
        )),
    )
    .await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    assert_eq!(held(&sns, &topic).await, before);

    let filter = json!({"status": ["unreliable"]});
    let created = subscribe(
        &api,
        &ada,
        json!({"trust_domain": "health", "protocol": "sqs", "endpoint": queue,
               "filter": filter}),
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["state"], "confirmed");
    assert_eq!(created.body["filter"], filter);
    assert!(created.body.get("endpoint").is_none());
    let id = created.body["subscription_id"].as_str().unwrap().to_owned();
    let (arn, _) = held(&sns, &topic)
        .await
        .into_iter()
        .find(|(_, endpoint)| *endpoint == queue)
        .unwrap();
    let attributes = sns
        .get_subscription_attributes()
        .subscription_arn(&arn)
        .send()
        .await
        .unwrap();
    let attributes = attributes.attributes().unwrap();
    let policy: Value = serde_json::from_str(&attributes["FilterPolicy"]).unwrap();
    assert_eq!(policy, filter);
    assert_eq!(attributes["FilterPolicyScope"], "MessageAttributes");

    let run = random_imei();
    let (wanted, unwanted) = (format!("unreliable-{run}"), format!("trusted-{run}"));
    publish(&sns, &topic, "trusted", &unwanted).await;
    publish(&sns, &topic, "unreliable", &wanted).await;
    let received = markers(&sqs, &url, Duration::from_secs(6)).await;
    assert_eq!(received, vec![wanted], "{received:?}");

    let mine = list(&api, &ada).await;
    assert_eq!(mine.status, 200, "{mine:?}");
    let listed = mine.body["subscriptions"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{mine:?}");
    assert_eq!(listed[0]["subscription_id"], id.as_str());
    assert_eq!(listed[0]["state"], "confirmed");
    let theirs = list(&api, &grace).await;
    assert_eq!(theirs.status, 200, "{theirs:?}");
    assert_eq!(theirs.body["subscriptions"], json!([]));
    let taken = unsubscribe(&api, &grace, &id).await;
    assert_eq!(taken.status, 404, "{taken:?}");
    assert_eq!(taken.problem(), "subscription-not-found");
    assert!(held(&sns, &topic).await.iter().any(|(a, _)| *a == arn));
    let shared = subscribe(
        &api,
        &grace,
        json!({"trust_domain": "health", "protocol": "sqs", "endpoint": queue,
               "filter": filter}),
    )
    .await;
    assert_eq!(shared.status, 409, "{shared:?}");
    assert_eq!(shared.problem(), "subscription-conflict");

    let removed = unsubscribe(&api, &ada, &id).await;
    assert_eq!(removed.status, 204, "{removed:?}");
    assert!(!held(&sns, &topic).await.iter().any(|(a, _)| *a == arn));
    assert_eq!(list(&api, &ada).await.body["subscriptions"], json!([]));
    publish(&sns, &topic, "unreliable", &format!("after-{run}")).await;
    assert_eq!(
        markers(&sqs, &url, Duration::from_secs(3)).await,
        Vec::<String>::new()
    );
    assert_eq!(unsubscribe(&api, &ada, &id).await.status, 404);
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
}

/// One request SNS made to the loopback subscriber: its message type header and JSON body.
struct Delivery {
    kind: String,
    body: Value,
}

/// A plain HTTP server on 127.0.0.1 that answers 200 to every request and hands each on.
fn loopback_subscriber() -> (u16, mpsc::Receiver<Delivery>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut kind = String::new();
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("x-amz-sns-message-type:") {
                    kind = v.trim().to_owned();
                }
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if tx.send(Delivery { kind, body }).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

/// The next delivery of `kind`, waiting at most `wait`.
fn next_of(rx: &mpsc::Receiver<Delivery>, kind: &str, wait: Duration) -> Option<Delivery> {
    let until = Instant::now() + wait;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(d) if d.kind.eq_ignore_ascii_case(kind) => return Some(d),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

// Y.3059 9.4 i a
// card C8
// An HTTP subscriber on loopback gets SNS's SubscriptionConfirmation, confirms by fetching its
// SubscribeURL, and then receives a matching notification; the registry reports the
// subscription pending first and confirmed afterwards.
#[tokio::test]
async fn a_loopback_http_subscriber_confirms_and_receives() {
    let stack = Stack::deployed();
    let sdk = localstack().await;
    let api = stack.api_url();
    let sns = aws_sdk_sns::Client::new(&sdk);
    // The energy topic: the queue test publishes to the health one meanwhile.
    let topic = stack.output("TopicEnergyArn").to_owned();
    let token = enquirer_token(&api).await;
    let (port, rx) = loopback_subscriber();
    let endpoint = format!("http://127.0.0.1:{port}/sns");

    let created = subscribe(
        &api,
        &token,
        json!({"trust_domain": "energy", "protocol": "https", "endpoint": endpoint,
               "filter": {"status": ["unreliable"]}}),
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["state"], "pending-confirmation");
    let id = created.body["subscription_id"].as_str().unwrap().to_owned();

    let confirmation = next_of(&rx, "SubscriptionConfirmation", Duration::from_secs(10))
        .expect("SNS sends a SubscriptionConfirmation to the loopback endpoint");
    assert_eq!(confirmation.body["TopicArn"], topic.as_str());
    let subscribe_url = confirmation.body["SubscribeURL"].as_str().unwrap();
    // LocalStack names itself localhost.localstack.cloud in the URL, which nothing resolves
    // here: the request goes to its gateway on loopback as the name would.
    let gateway = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .and_then(|u| reqwest::Url::parse(&u).ok()?.port())
        .unwrap_or(4566);
    let client = reqwest::Client::builder()
        .resolve(
            "localhost.localstack.cloud",
            ([127, 0, 0, 1], gateway).into(),
        )
        .build()
        .unwrap();
    let confirmed = client.get(subscribe_url).send().await.unwrap();
    assert!(
        confirmed.status().is_success(),
        "{subscribe_url}: {}",
        confirmed.status()
    );
    let listed = list(&api, &token).await;
    assert_eq!(
        listed.body["subscriptions"][0]["state"], "confirmed",
        "{listed:?}"
    );

    let run = random_imei();
    publish(&sns, &topic, "trusted", &format!("trusted-{run}")).await;
    publish(&sns, &topic, "unreliable", &format!("unreliable-{run}")).await;
    let delivered = next_of(&rx, "Notification", Duration::from_secs(10))
        .expect("SNS delivers the matching notification");
    let message: Value = serde_json::from_str(delivered.body["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["marker"], format!("unreliable-{run}"));
    assert!(next_of(&rx, "Notification", Duration::from_secs(2)).is_none());

    assert_eq!(unsubscribe(&api, &token, &id).await.status, 204);
    assert!(!held(&sns, &topic).await.iter().any(|(_, e)| *e == endpoint));
}
