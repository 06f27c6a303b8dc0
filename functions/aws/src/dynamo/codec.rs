//! Items to and from records: the attribute encoding (serde_dynamo), the key attributes, and
//! the SDK's errors as the store's.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use trustreg_core::error::StoreError;
use trustreg_core::identifier::RegDevId;
use trustreg_core::records::{AuditRecord, Transition};

use crate::keys::{
    self, GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK, GSI4PK, GSI4SK, PK, SK, TTL,
};

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn audit_item(audit: &AuditRecord, shards: u32) -> Result<Item, StoreError> {
    let mut item = item(audit, keys::audit(audit, shards))?;
    if let Some(target) = &audit.target {
        item.insert(GSI1PK.into(), s(keys::audit_by_target(target)));
        item.insert(GSI1SK.into(), s(audit.id.clone()));
    }
    Ok(item)
}

pub(crate) fn transition_item(t: &Transition, salt: &str) -> Result<Item, StoreError> {
    let mut item = item(t, keys::history(&t.regdevid, t.at_ms, salt))?;
    item.insert("kind".into(), s("transition".into()));
    // Registrations stay out of the recent changes: a bulk registration would bury them, and
    // write a thousand entries at once into one index partition.
    if t.from.is_some() {
        let (pk, sk) = keys::by_transition_time(&t.regdevid, t.at_ms);
        item.insert(GSI1PK.into(), s(pk));
        item.insert(GSI1SK.into(), s(sk));
    }
    Ok(item)
}

pub(crate) fn s(v: String) -> AttributeValue {
    AttributeValue::S(v)
}

pub(crate) fn item<T: Serialize>(
    value: &T,
    (pk, sk): (String, String),
) -> Result<Item, StoreError> {
    let mut item: Item =
        serde_dynamo::to_item(value).map_err(|e| StoreError::Failed(format!("encode: {e}")))?;
    item.insert(PK.into(), s(pk));
    item.insert(SK.into(), s(sk));
    Ok(item)
}

pub(crate) fn record<T: DeserializeOwned>(mut item: Item) -> Result<T, StoreError> {
    for k in [
        PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK, GSI4PK, GSI4SK, TTL, "kind",
    ] {
        item.remove(k);
    }
    serde_dynamo::from_item(item).map_err(|e| StoreError::Failed(format!("decode: {e}")))
}

/// The RegDevID an item names in its `regdevid` attribute (devices, links to them).
pub(crate) fn regdevid_of(item: &Item) -> Result<RegDevId, StoreError> {
    match item.get("regdevid") {
        Some(AttributeValue::S(text)) => text
            .parse()
            .map_err(|e| StoreError::Failed(format!("stored RegDevID {text:?}: {e}"))),
        _ => Err(StoreError::Failed("item without regdevid".into())),
    }
}

pub(crate) fn key((pk, sk): (String, String)) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

pub(crate) fn sdk<E: std::error::Error + 'static>(err: E) -> StoreError {
    StoreError::Failed(format!("DynamoDB: {}", DisplayErrorContext(err)))
}
