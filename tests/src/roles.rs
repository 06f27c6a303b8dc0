//! The deployed functions' execution roles, and credentials of them: the fidelity and fault
//! probes call AWS as a function would (its role, assumed through STS as Lambda assumes it).

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::{Stack, localstack};

/// The stack's function `name` (`trustreg-<NameSuffix>-<name>`, the suffix the one of the
/// table `trustreg-<NameSuffix>`).
pub fn function_name(stack: &Stack, name: &str) -> String {
    format!("{}-{name}", stack.table())
}

/// The execution role of the stack's function `name`, as Lambda holds it: the template leaves
/// role names to CloudFormation.
pub async fn role_arn(stack: &Stack, name: &str) -> String {
    let endpoint = localstack()
        .await
        .endpoint_url()
        .unwrap_or_default()
        .to_owned();
    let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0";
    let config: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{endpoint}/2015-03-31/functions/{}/configuration",
            function_name(stack, name)
        ))
        .header("Authorization", auth)
        .send()
        .await
        .expect("Lambda answers")
        .json()
        .await
        .expect("a function configuration");
    config["Role"]
        .as_str()
        .unwrap_or_else(|| panic!("no role in {config}"))
        .to_owned()
}

/// Credentials of `role_arn` under `session` (the LocalStack plugin names a caller by its
/// session, as the Lambda executor names a function's); with the SDK's retries or without
/// (a probe that must see every answer).
pub async fn assumed(role_arn: &str, session: &str, retries: bool) -> SdkConfig {
    let root = localstack().await;
    let out = aws_sdk_sts::Client::new(&root)
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session)
        .send()
        .await
        .expect("the role is assumed");
    let c = out.credentials().expect("credentials");
    let mut config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(root.endpoint_url().unwrap_or_default())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "assumed-role",
        ));
    if !retries {
        config = config.retry_config(RetryConfig::disabled());
    }
    config.load().await
}
