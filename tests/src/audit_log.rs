//! The audit log's stored checkpoint as the tests and benchmarks read it, from the table.
#![allow(clippy::unwrap_used)] // test support: a panic is the failing test's report.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::{Stack, localstack};

/// The stored checkpoint's counters: how many checkpoints the sequencer has signed (each one
/// KMS request) and the tree's size; zeros before the first.
pub async fn signed(stack: &Stack) -> (u64, u64) {
    let client = aws_sdk_dynamodb::Client::new(&localstack().await);
    let out = client
        .get_item()
        .table_name(stack.table())
        .key("pk", AttributeValue::S("TLOG".into()))
        .key("sk", AttributeValue::S("CHECKPOINT".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("read");
    let number = |name: &str| match out.item().and_then(|i| i.get(name)) {
        Some(AttributeValue::N(n)) => n.parse().expect("a count"),
        _ => 0,
    };
    (number("signatures"), number("size"))
}
