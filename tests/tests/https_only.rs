//! HTTPS where AWS lets the stack enforce it, read from the deployed stack (LocalStack serves
//! plain http, so what is checked is the configuration that makes AWS refuse it):
//! - the portal's bucket denies every request not made over TLS (`aws:SecureTransport`
//!   `false`, on the bucket and its objects), as AWS advises for S3, which otherwise accepts
//!   both http and https ("How can I make my bucket policy comply with the AWS Config rule
//!   s3-bucket-ssl-requests-only?",
//!   https://repost.aws/knowledge-center/s3-bucket-policy-for-config-rule);
//! - the API is an API Gateway REST API, served at an https URL only: API Gateway requires TLS
//!   1.2 of its clients ("Infrastructure security in Amazon API Gateway",
//!   https://docs.aws.amazon.com/apigateway/latest/developerguide/infrastructure-security.html).
//!
//! The inbox's queue policy (`aws:SecureTransport` `true` for the linked accounts' sends) is
//! checked in hierarchy.rs, on the stack that has one.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use trustreg_tests::{Stack, localstack};

/// The portal bucket's policy as deployed, through S3's REST API (`GET /<bucket>?policy`).
async fn portal_bucket_policy(stack: &Stack) -> Value {
    let endpoint = localstack()
        .await
        .endpoint_url()
        .unwrap_or_default()
        .to_owned();
    // LocalStack routes by the signing scope and does not check the signature.
    let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";
    let response = reqwest::Client::new()
        .get(format!(
            "{endpoint}/{}?policy",
            stack.output("PortalBucket")
        ))
        .header("Authorization", auth)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the portal bucket has a policy");
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

// Y.3059 7 i b
#[tokio::test]
async fn the_portal_bucket_refuses_requests_without_tls() {
    let stack = Stack::deployed();
    let policy = portal_bucket_policy(&stack).await;
    let bucket_arn = format!("arn:aws:s3:::{}", stack.output("PortalBucket"));
    let statements = policy["Statement"].as_array().unwrap();
    let tls_only = statements.iter().find(|s| {
        s["Effect"] == "Deny"
            && s["Principal"] == "*"
            && s["Action"] == "s3:*"
            && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    });
    let tls_only = tls_only.unwrap_or_else(|| panic!("no TLS-only statement: {policy:#}"));
    let resources: Vec<&str> = match &tls_only["Resource"] {
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        one => one.as_str().into_iter().collect(),
    };
    assert!(resources.contains(&bucket_arn.as_str()), "{resources:?}");
    assert!(
        resources.contains(&format!("{bucket_arn}/*").as_str()),
        "{resources:?}"
    );
}

// Y.3059 7 i b
#[tokio::test]
async fn the_api_is_published_at_an_https_url_only() {
    let stack = Stack::deployed();
    let url = stack.output("ApiUrl");
    let api_id = stack.output("ApiId");
    assert!(
        url.starts_with(&format!("https://{api_id}.execute-api.")),
        "{url}"
    );
}
