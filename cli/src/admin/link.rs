//! `trustreg admin link`: one side of a link between two registries of the hierarchy (Y.3059
//! 6.1 a, 9.1 v). The other registry's identity and key come from its published document;
//! its inbox from its stack's outputs, as only its operator knows it.

use std::path::Path;

use serde_json::{Value, json};

use crate::CliError;
use crate::enquirer::{EnquirerApi, signed};
use trustreg_model::routes::Op;

/// Links `other_api`'s registry to `api`'s as `kind` (seen from `api`'s registry), signed by
/// the administrator of `key_dir`; answers the stored link.
pub async fn link(
    api: &str,
    key_dir: &Path,
    kind: &str,
    other_api: &str,
    other_inbox: &str,
) -> Result<Value, CliError> {
    let (name, key) = super::keygen::open(key_dir)?;
    let document = EnquirerApi::new(other_api)?
        .get(Op::RegistryDocument.path(), &[], None)
        .await?;
    let field = |name: &str| {
        document
            .get(name)
            .filter(|v| !v.is_null())
            .cloned()
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "{other_api}{} does not publish {name}",
                    Op::RegistryDocument.path()
                ))
            })
    };
    let client = EnquirerApi::new(api)?;
    let claims = json!({
        "nonce": client.nonce("link").await?,
        "kind": kind,
        "reg_id": field("reg_id")?,
        "path": field("path")?,
        "public_key": field("public_key")?,
        "inbox": other_inbox,
    });
    let jws = signed(
        &key,
        &format!("admin:{name}"),
        "POST",
        Op::Link.path(),
        &claims,
    );
    client.post_jws(Op::Link.path(), jws).await
}
