//! Where a Query reads (a partition of the table or an index) and where a paged read resumes
//! (the client's opaque cursor, checked before it reaches DynamoDB).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use trustreg_core::error::StoreError;

use super::codec::{Item, s};
use crate::keys::{GSI1PK, GSI1SK, GSI4PK, GSI4SK, PK, SK};

/// Longer cursors are refused before decoding: no LastEvaluatedKey of this table comes near.
const MAX_CURSOR_LEN: usize = 4_096;

/// Where a Query reads: one partition of the table or of an index, optionally narrowed to the
/// sort keys that start with `prefix`.
pub(crate) struct Partition {
    pub(crate) index: Index,
    pub(crate) value: String,
    pub(crate) prefix: Option<String>,
}

#[derive(Clone, Copy)]
pub(crate) enum Index {
    Table,
    Gsi1,
    Gsi4,
}

impl Index {
    pub(crate) fn name(self) -> Option<&'static str> {
        match self {
            Self::Table => None,
            Self::Gsi1 => Some("gsi1"),
            Self::Gsi4 => Some("gsi4"),
        }
    }

    /// The partition and sort key attributes of the index.
    pub(crate) fn attributes(self) -> (&'static str, &'static str) {
        match self {
            Self::Table => (PK, SK),
            Self::Gsi1 => (GSI1PK, GSI1SK),
            Self::Gsi4 => (GSI4PK, GSI4SK),
        }
    }
}

impl Partition {
    pub(crate) fn new(index: Index, value: String, prefix: Option<String>) -> Self {
        Self {
            index,
            value,
            prefix,
        }
    }
}

/// A FilterExpression with its names and values: applied after `Limit`, so it saves transfer,
/// not reads.
pub(crate) struct Filter {
    pub expression: String,
    pub names: Vec<(String, String)>,
    pub values: Vec<(String, AttributeValue)>,
}

/// Where a paged read resumes: the partition of its plan (always 0 for a read of one
/// partition) and DynamoDB's LastEvaluatedKey there (none: from the partition's start). The
/// client holds it as base64url JSON; anything that does not decode to a position in the read
/// it is handed back to is refused as `invalid cursor`, never passed to DynamoDB.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Cursor {
    #[serde(rename = "p", default)]
    pub part: usize,
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub key: Option<BTreeMap<String, String>>,
}

impl Cursor {
    /// The position after `last` (a LastEvaluatedKey) in partition `part` of a plan.
    pub(crate) fn at(part: usize, last: Option<&Item>) -> Result<Self, StoreError> {
        let key = last
            .map(|item| {
                item.iter()
                    .map(|(name, value)| match value {
                        AttributeValue::S(text) => Ok((name.clone(), text.clone())),
                        // Every key attribute of the table is a string.
                        _ => Err(StoreError::Failed(format!(
                            "key attribute {name} is not a string"
                        ))),
                    })
                    .collect::<Result<BTreeMap<_, _>, _>>()
            })
            .transpose()?;
        Ok(Self { part, key })
    }

    pub(crate) fn encode(&self) -> Result<String, StoreError> {
        let json =
            serde_json::to_vec(self).map_err(|e| StoreError::Failed(format!("cursor: {e}")))?;
        Ok(URL_SAFE_NO_PAD.encode(&json))
    }

    pub(crate) fn decode(text: &str) -> Result<Self, StoreError> {
        let invalid = StoreError::invalid_cursor;
        if text.len() > MAX_CURSOR_LEN {
            return Err(invalid("too long"));
        }
        let json = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| invalid("not base64url"))?;
        serde_json::from_slice(&json).map_err(|_| invalid("not a cursor"))
    }

    /// The ExclusiveStartKey for a read of `on`, once it is checked to be a key of that
    /// partition: a forged key would otherwise read another partition or fail in DynamoDB.
    pub(crate) fn start_in(&self, on: &Partition) -> Result<Option<Item>, StoreError> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let (pk, sk) = on.index.attributes();
        let expected: Vec<&str> = match on.index {
            Index::Table => vec![PK, SK],
            _ => vec![PK, SK, pk, sk],
        };
        let fits = key.len() == expected.len()
            && expected.iter().all(|name| key.contains_key(*name))
            && key.get(pk) == Some(&on.value)
            && on
                .prefix
                .as_ref()
                .is_none_or(|p| key.get(sk).is_some_and(|v| v.starts_with(p.as_str())));
        if !fits {
            return Err(StoreError::invalid_cursor("not a position of this listing"));
        }
        Ok(Some(
            key.iter()
                .map(|(name, value)| (name.clone(), s(value.clone())))
                .collect(),
        ))
    }
}
