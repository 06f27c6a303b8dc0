//! Links between the deployed registries, through API Gateway (`POST /v1/admin/links`): what
//! an inbox may be. The test stacks are deployed with `AllowLoopbackEndpoints` (scripts/lib.sh
//! `deploy_stack`), the switch that admits the emulator's http endpoints, and nothing else over
//! http; stacks without it admit https alone (unit tests in
//! functions/core/src/exchange/tests/links.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use trustreg_tests::exchange::{audit_since, now_ms, post_link};
use trustreg_tests::{Hierarchy, Stack, localstack, registry_document};

/// The stored link of `kind` to `reg_id` at `stack`, as its table holds it.
async fn stored_link(stack: &Stack, kind: &str, reg_id: &str) -> Option<Value> {
    let sdk = localstack().await;
    let item = aws_sdk_dynamodb::Client::new(&sdk)
        .get_item()
        .table_name(stack.table())
        .key("pk", AttributeValue::S("REGISTRY".into()))
        .key("sk", AttributeValue::S(format!("LINK#{kind}#{reg_id}")))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item?;
    Some(serde_dynamo::from_item(item).unwrap())
}

// Y.3059 9.1 v
// Exchange messages between registries travel over TLS to public hosts: relinking the
// geographical registry's peer with an http inbox outside the emulator, or an https one at a
// link-local or private address, is a 400 problem (`malformed-request`), audited, and the
// stored link is the one it was. The peer's link as deployed, made through the same
// route by `trustreg admin link`, holds the emulator's http inbox: the test switch admits it.
#[tokio::test]
async fn an_http_inbox_outside_the_emulator_is_refused_and_nothing_changes() {
    let h = Hierarchy::deployed();
    let peer = registry_document(&h.peer).await;
    let peer_id = peer["reg_id"].as_str().unwrap();
    let emulator_inbox = h.peer.output("InboxUrl");
    assert!(
        emulator_inbox.starts_with("http://"),
        "LocalStack's queue URL: {emulator_inbox}"
    );
    let before = stored_link(&h.geographical, "peer", peer_id)
        .await
        .expect("the deployed peer link");
    assert_eq!(before["inbox"], emulator_inbox, "{before}");

    let since = now_ms();
    // Plain http to a public host; https to the instance metadata service, to a private
    // network: where the exchange would send from inside the registry's own network.
    let outside = [
        "http://sqs.ap-south-1.amazonaws.com/111122223333/trustreg-inbox",
        "https://169.254.169.254/latest/meta-data/iam",
        "https://10.1.2.3/111122223333/trustreg-inbox",
    ];
    for inbox in outside {
        let refused = post_link(&h.geographical, &peer, "peer", inbox).await;
        assert_eq!(refused.status, 400, "{inbox}: {refused:?}");
        assert_eq!(refused.problem(), "malformed-request");
        assert!(
            refused.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("https://")),
            "{refused:?}"
        );
    }
    // The refusals are recorded (audited before the answer), and the link is the one it was.
    let records = audit_since(&h.geographical, since).await;
    let refusals = records
        .iter()
        .filter(|r| {
            r["action"] == "link-registry"
                && r["outcome"] == "rejected"
                && r["code"] == "malformed-request"
        })
        .count();
    assert!(refusals >= outside.len(), "{records:#?}");
    let after = stored_link(&h.geographical, "peer", peer_id)
        .await
        .expect("the peer link is still there");
    assert_eq!(after, before);
}
