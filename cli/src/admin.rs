//! Operator tasks on a deployed stack, with the operator's AWS credentials.

mod keygen;
mod link;
mod redrive;

use std::collections::HashMap;
use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use crate::{CliError, emit};
use trustreg_model::routes::Op;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an administrator key pair: DIR/admin-key.pem (private, 0600) and
    /// DIR/admin-jwks.json ({"<name>": public JWK}, for the stack's AdminPublicKeys). An
    /// existing key is kept, so stacks deployed with it keep accepting its signatures.
    Keygen {
        #[arg(long)]
        out: PathBuf,
        /// The administrator's name: requests name the key by kid `admin:<name>`.
        #[arg(long, default_value = "admin")]
        name: String,
    },
    /// Accept a manufacturer CA as a root of trust (7 ii, 9.1 vi).
    AcceptRoot {
        /// The stack's outputs, as written by `infra/deploy.py --out`.
        #[arg(long)]
        stack: PathBuf,
        /// The CA certificate (PEM).
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        name: String,
        /// RoT types this CA vouches for.
        #[arg(long = "rot-type", default_value = "secure-element")]
        rot_types: Vec<String>,
        /// The identifiers the root may certify, one range each (repeat): `imei:<TAC>`,
        /// `mac:<OUI>`, `eui64:<prefix>`, `serial:<manufacturer>`, `ipv6:<prefix>/<length>`.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// Approve, reject or revoke an enquirer (9.3 i a), signed with the administrator's key.
    DecideEnquirer {
        #[arg(long, env = "TRUSTREG_API")]
        api: String,
        /// The directory of `trustreg admin keygen`.
        #[arg(long)]
        key_dir: PathBuf,
        /// The enquirer id (without `enquirer:`).
        #[arg(long)]
        id: String,
        /// approve, reject or revoke.
        #[arg(long)]
        decision: String,
        /// A new role: enquirer or agency.
        #[arg(long)]
        role: Option<String>,
    },
    /// Link another registry of the hierarchy to this one (Y.3059 6.1 a, 9.1 v), signed with
    /// the administrator's key: this registry then verifies the other's messages with its
    /// published key and sends to its inbox. Each side records the link: a parent and child
    /// are linked by one call on each side (`--kind child` at the parent, `parent` at the child).
    Link {
        /// This registry's API.
        #[arg(long, env = "TRUSTREG_API")]
        api: String,
        /// The directory of `trustreg admin keygen`.
        #[arg(long)]
        key_dir: PathBuf,
        /// What the other registry is to this one.
        #[arg(long, value_parser = ["parent", "child", "peer"])]
        kind: String,
        /// The other registry's API: its RegID, path and key are read from `GET /v1/registry`.
        #[arg(long)]
        other_api: String,
        /// The other registry's exchange inbox (its stack output `InboxUrl`).
        #[arg(long)]
        other_inbox: String,
    },
    /// Replay what the registry set aside, once the cause is fixed (the operations topic's
    /// alarms `<stack>-inbox-dead-letters` and `<stack>-notify-failures` call for it), with
    /// the operator's AWS credentials.
    ///
    /// --inbox: the exchange messages in the inbox's dead-letter queue (refused: their
    /// message attribute `refusal` says why; or failed five times) are moved back to the
    /// inbox, bodies unchanged, and received again; any still refused come back to the
    /// dead-letter queue. --stream: each record of notify's failure queue names a range of
    /// the table's stream whose notifications and updates up the hierarchy were not sent;
    /// the range is read back from the stream (within its 24 hours) and handed to notify
    /// again, and the record deleted once notify took every change. Subscribers see a
    /// notification at least once, with the same `id` if it was published before. Without
    /// either flag, both.
    #[command(verbatim_doc_comment)]
    Redrive {
        /// The stack's outputs, as written by `infra/deploy.py --out`.
        #[arg(long)]
        stack: PathBuf,
        /// Only the inbox's dead-letter queue.
        #[arg(long)]
        inbox: bool,
        /// Only notify's failure queue.
        #[arg(long)]
        stream: bool,
    },
}

pub async fn run(command: AdminCommand, json_out: bool) -> Result<(), CliError> {
    match command {
        AdminCommand::Keygen { out, name } => {
            let (pem, jwks) = keygen::ensure(&out, &name)?;
            emit(
                json_out,
                &json!({"key": pem.display().to_string(), "jwks": jwks.display().to_string()}),
                &[format!(
                    "admin key {} (public keys: {})",
                    pem.display(),
                    jwks.display()
                )],
            );
            Ok(())
        }
        AdminCommand::AcceptRoot {
            stack,
            cert,
            name,
            rot_types,
            scopes,
        } => {
            let outputs = read_outputs(&stack)?;
            let sdk = trustreg_aws::sdk_config().await;
            let registry = trustreg_aws::registry_from(&sdk, |env| {
                trustreg_aws::SETTINGS
                    .iter()
                    .find(|(name, _)| *name == env)
                    .and_then(|(_, output)| outputs.get(*output).cloned())
            })
            .map_err(|e| CliError::Usage(e.to_string()))?;
            let der = trustreg_device::pki::read_certificate_pem(&cert)?;
            let actor = format!("operator:{}", whoami());
            let root = registry
                .accept_root(&der, &name, rot_types, scopes, &actor)
                .await?;
            emit(
                json_out,
                &json!({"id": root.id, "name": root.name, "rot_types": root.rot_types,
                        "identifier_scopes": root.identifier_scopes}),
                &[format!("accepted root {} ({})", root.id, root.name)],
            );
            Ok(())
        }
        AdminCommand::DecideEnquirer {
            api,
            key_dir,
            id,
            decision,
            role,
        } => {
            let view = decide_enquirer(&api, &key_dir, &id, &decision, role).await?;
            emit(
                json_out,
                &view,
                &[format!(
                    "enquirer {id}: {} ({})",
                    view["state"].as_str().unwrap_or("?"),
                    view["role"].as_str().unwrap_or("?")
                )],
            );
            Ok(())
        }
        AdminCommand::Link {
            api,
            key_dir,
            kind,
            other_api,
            other_inbox,
        } => link_registries(&api, &key_dir, &kind, &other_api, &other_inbox, json_out).await,
        AdminCommand::Redrive {
            stack,
            inbox,
            stream,
        } => redrive_queues(&stack, inbox || !stream, stream || !inbox, json_out).await,
    }
}

async fn redrive_queues(
    stack: &PathBuf,
    inbox: bool,
    stream: bool,
    json_out: bool,
) -> Result<(), CliError> {
    let outputs = read_outputs(stack)?;
    let output = |name: &str| {
        outputs
            .get(name)
            .cloned()
            .ok_or_else(|| CliError::Usage(format!("{}: no output {name}", stack.display())))
    };
    let sdk = trustreg_aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut answer = json!({});
    let mut lines = Vec::new();
    if inbox {
        let moved =
            redrive::inbox(&sqs, &output("InboxDeadLettersUrl")?, &output("InboxUrl")?).await?;
        answer["inbox"] = json!({ "moved": moved });
        lines.push(format!(
            "inbox: {moved} messages moved back from its dead-letter queue"
        ));
    }
    let mut kept = 0;
    if stream {
        let replay = redrive::stream(
            &sqs,
            &aws_sdk_dynamodbstreams::Client::new(&sdk),
            &aws_sdk_lambda::Client::new(&sdk),
            &output("NotifyFailureQueueUrl")?,
            &output("NotifyFunctionName")?,
        )
        .await?;
        lines.push(format!(
            "stream: {} failure records replayed ({} changes), {} kept",
            replay.replayed,
            replay.records,
            replay.kept.len()
        ));
        lines.extend(replay.kept.iter().map(|why| format!("  kept {why}")));
        kept = replay.kept.len();
        answer["stream"] = serde_json::to_value(&replay).unwrap_or_default();
    }
    emit(json_out, &answer, &lines);
    if kept > 0 {
        return Err(CliError::Usage(format!(
            "{kept} failure records could not be replayed and stay in the queue"
        )));
    }
    Ok(())
}

async fn link_registries(
    api: &str,
    key_dir: &std::path::Path,
    kind: &str,
    other_api: &str,
    other_inbox: &str,
    json_out: bool,
) -> Result<(), CliError> {
    let stored = link::link(api, key_dir, kind, other_api, other_inbox).await?;
    emit(
        json_out,
        &stored,
        &[format!(
            "linked {} {} ({})",
            stored["kind"].as_str().unwrap_or(kind),
            stored["path"].as_str().unwrap_or("?"),
            stored["inbox"].as_str().unwrap_or(other_inbox)
        )],
    );
    Ok(())
}

async fn decide_enquirer(
    api: &str,
    key_dir: &std::path::Path,
    id: &str,
    decision: &str,
    role: Option<String>,
) -> Result<serde_json::Value, CliError> {
    let (name, key) = keygen::open(key_dir)?;
    let client = crate::enquirer::EnquirerApi::new(api)?;
    let nonce = client.nonce("enquirer-decision").await?;
    let mut claims = json!({ "nonce": nonce, "decision": decision });
    if let Some(role) = role {
        claims["role"] = role.into();
    }
    let path = Op::DecideEnquirer.path_with(&[("id", id)]);
    let jws = crate::enquirer::signed(&key, &format!("admin:{name}"), "POST", &path, &claims);
    client.post_jws(&path, jws).await
}

fn read_outputs(path: &PathBuf) -> Result<HashMap<String, String>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::File {
        path: path.display().to_string(),
        source,
    })?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    Ok(value
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default())
}

fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| "unknown".into())
}
