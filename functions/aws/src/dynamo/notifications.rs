//! `NotificationStore` on DynamoDB: a dedupe mark per published notification
//! (`NOTIFIED#<id>`, expiring with the table's TTL), the time of each domain's last digest
//! (`DIGEST#<domain>`); and the device changes the table's stream carries, decoded from its
//! images.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use trustreg_core::error::StoreError;
use trustreg_core::notifications::DeviceChange;
use trustreg_core::ports::NotificationStore;
use trustreg_core::records::DeviceRecord;

use async_trait::async_trait;

use super::{DynamoStore, Item, key, record, s, sdk};
use crate::keys::{PK, SK, TTL};
use crate::keys::{digest, notified as mark};

#[async_trait]
impl NotificationStore for DynamoStore {
    async fn mark_published(&self, id: &str, expires_at_ms: u64) -> Result<bool, StoreError> {
        let (pk, sk) = mark(id);
        let item = Item::from([
            (PK.to_owned(), s(pk)),
            (SK.to_owned(), s(sk)),
            ("kind".to_owned(), s("notified".into())),
            (
                TTL.to_owned(),
                AttributeValue::N((expires_at_ms / 1000 + 1).to_string()),
            ),
        ]);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn is_published(&self, id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(mark(id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(out.item().is_some())
    }

    async fn last_digest(&self, domain: &str) -> Result<Option<u64>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(digest(domain))))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        match out.item().and_then(|i| i.get("at_ms")) {
            None => Ok(None),
            Some(AttributeValue::N(n)) => n
                .parse()
                .map(Some)
                .map_err(|e| StoreError::Failed(format!("digest time {n:?}: {e}"))),
            Some(other) => Err(StoreError::Failed(format!("digest time {other:?}"))),
        }
    }

    async fn set_last_digest(&self, domain: &str, at_ms: u64) -> Result<(), StoreError> {
        let (pk, sk) = digest(domain);
        let item = Item::from([
            (PK.to_owned(), s(pk)),
            (SK.to_owned(), s(sk)),
            ("kind".to_owned(), s("digest".into())),
            ("at_ms".to_owned(), AttributeValue::N(at_ms.to_string())),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }
}

impl DynamoStore {
    /// The change of a device item a stream record of the table carries, from its old and new
    /// images (either may be empty). `None` when the record is not about a device, or removes
    /// one: only changes of devices are notified. The table's item format is the store's, so
    /// the store decodes it.
    pub fn device_change(
        old: serde_dynamo::Item,
        new: serde_dynamo::Item,
    ) -> Result<Option<DeviceChange>, StoreError> {
        let new: Item = new.into();
        if !is_device(&new) {
            return Ok(None);
        }
        let old: Item = old.into();
        let old = if is_device(&old) {
            Some(device(old)?)
        } else {
            None
        };
        Ok(Some(DeviceChange {
            old,
            new: device(new)?,
        }))
    }
}

fn is_device(item: &Item) -> bool {
    matches!(item.get("kind"), Some(AttributeValue::S(kind)) if kind == "device")
}

fn device(item: Item) -> Result<DeviceRecord, StoreError> {
    let name = match item.get(PK) {
        Some(AttributeValue::S(pk)) => pk.clone(),
        _ => "an item without pk".into(),
    };
    record(item).map_err(|e| StoreError::Failed(format!("stream image of {name}: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn image(value: serde_json::Value) -> serde_dynamo::Item {
        serde_json::from_value(value).unwrap()
    }

    // Y.3059 7 iv e
    // Only device items make changes; an image that is a device but does not decode is an
    // error naming the item, not a silent skip.
    #[test]
    fn stream_images_decode_to_device_changes_or_nothing() {
        let transition = image(serde_json::json!({
            "pk": {"S": "DEV#x"}, "sk": {"S": "HIST#1"}, "kind": {"S": "transition"}
        }));
        assert_eq!(
            DynamoStore::device_change(serde_dynamo::Item::default(), transition).unwrap(),
            None
        );
        let removed = DynamoStore::device_change(
            image(serde_json::json!({"pk": {"S": "DEV#x"}, "kind": {"S": "device"}})),
            serde_dynamo::Item::default(),
        );
        assert_eq!(removed.unwrap(), None);
        let poisoned = image(serde_json::json!({
            "pk": {"S": "DEV#IN1.HLT.P07:imei:356938035643809"}, "sk": {"S": "DEVICE"},
            "kind": {"S": "device"}, "facts": {"S": "not a map"}
        }));
        let error =
            DynamoStore::device_change(serde_dynamo::Item::default(), poisoned).unwrap_err();
        assert!(error.to_string().contains("DEV#IN1.HLT.P07"), "{error}");
    }
}
