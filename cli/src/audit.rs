//! `trustreg audit verify` (issue 14; Y.3059 7 i c): fetches the registry's audit log (its
//! signed checkpoint and entries tiles), rebuilds the tree, checks every leaf against the
//! records `GET /v1/audit` returns, and checks the checkpoint against the last one it accepted
//! (kept in a local file). Every finding names a leaf index or a tree size.

use std::collections::HashMap;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Subcommand;
use serde_json::json;
use trustreg_model::records::AuditRecord;
use trustreg_model::tlog::note::EcdsaNoteKey;
use trustreg_model::tlog::tiles::{self, TileKind};
use trustreg_model::tlog::verify::{self, Seen};

use crate::enquirer::EnquirerApi;
use crate::{CliError, emit};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify the audit log: the checkpoint's signature, the tree, every record, and that the
    /// log only grew since the last run.
    Verify {
        #[arg(long, env = "TRUSTREG_API")]
        api: String,
        /// An administrator's access token (`POST /v1/sessions`): the records are theirs to read.
        #[arg(long, env = "TRUSTREG_TOKEN")]
        token: String,
        /// The last checkpoint this verifier accepted, with the log's key; written after each
        /// clean run.
        #[arg(long)]
        state: PathBuf,
        /// The log's key as a C2SP verifier key (`<path>+<key ID>+<base64>`, as the state file
        /// keeps it), from a source other than the registry: the key it serves must be this
        /// one. Without it, the key of the last clean run is pinned (the first run trusts the
        /// served key).
        #[arg(long, env = "TRUSTREG_LOG_KEY")]
        key: Option<String>,
    },
}

pub async fn run(command: AuditCommand, json_out: bool) -> Result<(), CliError> {
    let AuditCommand::Verify {
        api,
        token,
        state,
        key: given,
    } = command;
    let given = given
        .map(|vkey| EcdsaNoteKey::from_verifier_key(&vkey))
        .transpose()
        .map_err(|e| CliError::Usage(format!("--key: {e}")))?;
    let client = EnquirerApi::new(&api)?;
    let http = reqwest::Client::new();
    let base = api.trim_end_matches('/').to_owned();
    let bytes = |path: String| {
        let http = http.clone();
        let token = token.clone();
        async move {
            let response = http
                .get(path.clone())
                // Tiles are binary: API Gateway decodes them for a client that accepts the type.
                .header("accept", "application/octet-stream, text/plain")
                .bearer_auth(token)
                .send()
                .await
                .map_err(|e| CliError::Usage(format!("GET {path}: {e}")))?;
            if !response.status().is_success() {
                return Err(CliError::Usage(format!(
                    "GET {path}: {}",
                    response.status()
                )));
            }
            response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| CliError::Usage(format!("GET {path}: {e}")))
        }
    };

    let seen: Option<Seen> = match std::fs::read(&state) {
        Ok(text) => Some(
            serde_json::from_slice(&text)
                .map_err(|e| CliError::Usage(format!("{}: {e}", state.display())))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(CliError::File {
                path: state.display().to_string(),
                source,
            });
        }
    };
    let document = client.get("/v1/registry", &[], None).await?;
    let served = EcdsaNoteKey {
        name: document["path"].as_str().unwrap_or_default().to_owned(),
        key: client.registry_key().await?,
    };
    let key = match verify::pinned_key(served, given, seen.as_ref()) {
        Ok(key) => key,
        Err(finding) => return Err(failed(json_out, &[finding])),
    };
    let note =
        String::from_utf8_lossy(&bytes(format!("{base}/v1/audit/checkpoint")).await?).into_owned();
    let checkpoint = match verify::open_checkpoint(&note, &key) {
        Ok(c) => c,
        Err(finding) => return Err(failed(json_out, &[finding])),
    };

    let mut entries = Vec::with_capacity(checkpoint.size as usize);
    for tile in tiles::tiles_for(checkpoint.size) {
        if tile.kind == TileKind::Entries {
            let data = bytes(format!("{base}/v1/audit/{}", tile.path())).await?;
            entries.extend(
                tiles::parse_entries(&data, tile.width)
                    .map_err(|e| CliError::Usage(format!("{}: {e}", tile.path())))?,
            );
        }
    }

    let mut records: HashMap<String, (AuditRecord, Option<u64>)> = HashMap::new();
    for day in verify::days_of(&entries) {
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("day", day.clone()), ("limit", "500".to_owned())];
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let page = client.get("/v1/audit", &query, Some(&token)).await?;
            for listed in page["records"].as_array().into_iter().flatten() {
                let record: AuditRecord = serde_json::from_value(listed.clone())
                    .map_err(|e| CliError::Usage(format!("an audit record: {e}")))?;
                records.insert(record.id.clone(), (record, listed["leaf"].as_u64()));
            }
            cursor = page["next"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
    }

    let findings = verify::check(&checkpoint, &entries, &records, seen.as_ref());
    if !findings.is_empty() {
        return Err(failed(json_out, &findings));
    }
    let accepted = Seen {
        size: checkpoint.size,
        root: STANDARD.encode(checkpoint.root),
        key: Some(key.verifier_key()),
    };
    std::fs::write(&state, serde_json::to_vec(&accepted).unwrap_or_default()).map_err(
        |source| CliError::File {
            path: state.display().to_string(),
            source,
        },
    )?;
    emit(
        json_out,
        &json!({"verified": true, "size": checkpoint.size, "root": accepted.root}),
        &[format!(
            "audit log of {} verified: {} leaves, every record intact",
            checkpoint.origin, checkpoint.size
        )],
    );
    Ok(())
}

/// Prints each finding (one line, or JSON) and the error that makes the exit code non-zero.
fn failed(json_out: bool, findings: &[verify::Finding]) -> CliError {
    let lines: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
    emit(
        json_out,
        &json!({"verified": false, "findings": findings}),
        &lines,
    );
    CliError::Verification(format!(
        "the audit log failed verification: {} finding(s)",
        findings.len()
    ))
}
