//! `trustreg status check` (issue 16): device statuses from a registry's status list token
//! (model::status_list), verified against the registry's published key and answered from the
//! bits, offline after one download. No AWS: a verifier needs only the token and the key.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Subcommand;
use p256::ecdsa::VerifyingKey;
use serde_json::{Value, json};
use trustreg_model::status_list::{
    self, StatusListError, StatusListReference, VerifiedStatusList, status_of,
};

use crate::enquirer::EnquirerApi;
use crate::{CliError, emit};

#[derive(Subcommand)]
pub enum StatusCommand {
    /// Verify a status list token and answer the status of each index from its bits.
    Check {
        /// The token: an http(s) URL to download it from, or a file holding it.
        #[arg(long)]
        list: String,
        /// The registry's API base URL: its published key is read from `GET /v1/registry`.
        #[arg(long, env = "TRUSTREG_API", required_unless_present = "key")]
        api: Option<String>,
        /// The registry's key from a file instead (offline): a JWK, or a saved
        /// `GET /v1/registry` document (its `public_key`).
        #[arg(long, conflicts_with = "api")]
        key: Option<PathBuf>,
        /// `idx` (a device's index in the list) or `idx@uri` (its `status_list` reference,
        /// whose `uri` must be the token's `sub`).
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

pub async fn run(command: StatusCommand, json_out: bool) -> Result<(), CliError> {
    let StatusCommand::Check {
        list,
        api,
        key,
        ids,
    } = command;
    let ids: Vec<Id> = ids
        .iter()
        .map(|id| parse_id(id))
        .collect::<Result<_, _>>()?;
    let key = match (key, api) {
        (Some(path), _) => key_from_file(&path)?,
        (None, Some(api)) => EnquirerApi::new(&api)?.registry_key().await?,
        (None, None) => return Err(CliError::Usage("give --api or --key".into())),
    };
    let token = fetch(&list).await?;
    let verified = status_list::verify_token(&token, &key, now_s())?;
    let answers = ids
        .iter()
        .map(|id| answer(&verified, id))
        .collect::<Result<Vec<_>, _>>()?;
    let claims = &verified.claims;
    let lines = answers
        .iter()
        .map(|a| {
            format!(
                "{}: {}",
                a["id"].as_str().unwrap_or_default(),
                a["status"].as_str().unwrap_or_default()
            )
        })
        .chain([format!(
            "status list {} of {} verified with the registry's key (issued {}, {} statuses)",
            claims.sub,
            claims.iss.as_deref().unwrap_or("the registry"),
            claims.iat,
            verified.list.len()
        )])
        .collect::<Vec<_>>();
    emit(
        json_out,
        &json!({
            "verified": true,
            "sub": claims.sub,
            "iss": claims.iss,
            "iat": claims.iat,
            "exp": claims.exp,
            "ttl": claims.ttl,
            "statuses": answers,
        }),
        &lines,
    );
    Ok(())
}

/// An index, and the list it must be in when given as `idx@uri`.
#[derive(Debug, PartialEq)]
struct Id {
    text: String,
    idx: u64,
    uri: Option<String>,
}

fn parse_id(text: &str) -> Result<Id, CliError> {
    let (idx, uri) = match text.split_once('@') {
        Some((idx, uri)) => (idx, Some(uri.to_owned())),
        None => (text, None),
    };
    let idx = idx
        .parse()
        .map_err(|_| CliError::Usage(format!("{text:?}: not an index or idx@uri")))?;
    Ok(Id {
        text: text.to_owned(),
        idx,
        uri,
    })
}

fn answer(verified: &VerifiedStatusList, id: &Id) -> Result<Value, StatusListError> {
    let reference = StatusListReference {
        idx: id.idx,
        uri: id
            .uri
            .clone()
            .unwrap_or_else(|| verified.claims.sub.clone()),
    };
    let value = verified.status(&reference)?;
    let status =
        status_of(value).map_or_else(|| format!("unknown ({value:#04x})"), |s| s.to_string());
    Ok(json!({"id": id.text, "idx": id.idx, "value": value, "status": status}))
}

fn key_from_file(path: &PathBuf) -> Result<VerifyingKey, CliError> {
    let text = read(path)?;
    let document: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", path.display())))?;
    let jwk = document.get("public_key").unwrap_or(&document);
    trustreg_model::jose::key_from_jwk(jwk)
        .map_err(|e| CliError::Usage(format!("{}: the registry's key: {e}", path.display())))
}

/// The token's text from a URL (one GET) or a file.
async fn fetch(list: &str) -> Result<String, CliError> {
    if !(list.starts_with("https://") || list.starts_with("http://")) {
        return read(&PathBuf::from(list));
    }
    let failed = |e: String| CliError::Usage(format!("GET {list}: {e}"));
    let response = reqwest::Client::new()
        .get(list)
        .header("accept", "application/statuslist+jwt")
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(response.status().to_string()));
    }
    response.text().await.map_err(|e| failed(e.to_string()))
}

fn read(path: &PathBuf) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::File {
        path: path.display().to_string(),
        source,
    })
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_indexes_or_references() {
        assert_eq!(
            parse_id("42").ok(),
            Some(Id {
                text: "42".into(),
                idx: 42,
                uri: None
            })
        );
        assert_eq!(
            parse_id("7@https://r.example/v1/status-lists/1").ok(),
            Some(Id {
                text: "7@https://r.example/v1/status-lists/1".into(),
                idx: 7,
                uri: Some("https://r.example/v1/status-lists/1".into())
            })
        );
        assert!(parse_id("imei:356938035643809").is_err());
        assert!(parse_id("-1").is_err());
    }
}
