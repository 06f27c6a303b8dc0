//! `trustreg enquirer`: sign up, log in (challenge-response, Y.3059 9.3 i a, 9.3 iii), look
//! devices up and search them (9.3 ii c, 8), checking every answer's registry-signed statement
//! offline against the registry's published key.

mod client;
mod profile;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Subcommand;
use serde_json::{Value, json};

pub use client::{EnquirerApi, signed};
use profile::{Dir, Profile, Session};

use crate::{CliError, emit};
use trustreg_model::routes::Op;

#[derive(Subcommand)]
pub enum EnquirerCommand {
    /// Create a signing key in DIR and sign up with it; an administrator approves it later.
    Signup {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, env = "TRUSTREG_API")]
        api: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        organisation: String,
        /// How the registry reaches you (kept encrypted).
        #[arg(long)]
        contact: String,
        /// `enquirer`, or `agency` for agencies that also report vulnerabilities.
        #[arg(long, default_value = "enquirer")]
        role: String,
    },
    /// Sign a login challenge with the key in DIR; keeps the access token in DIR.
    Login {
        #[arg(long)]
        dir: PathBuf,
    },
    /// A device by RegDevID or virtual ID; anonymous (status only) without a session.
    Lookup {
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Without `--dir`: the registry's API base URL.
        #[arg(long, env = "TRUSTREG_API")]
        api: Option<String>,
        id: String,
    },
    /// Devices by make, model, status, trust domain or capability, a page at a time.
    Search {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        make: Option<String>,
        #[arg(long)]
        model: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        domain: Option<String>,
        #[arg(long)]
        capability: Option<String>,
        #[arg(long)]
        limit: Option<usize>,
        /// The `next` of an earlier page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// The registry's signed list of one status (7 iv d), a page at a time: its own devices
    /// and those mirrored from the registries below it, each with its origin.
    List {
        #[arg(long)]
        dir: PathBuf,
        /// trusted, unverified or unreliable.
        status: String,
        /// The `next` of an earlier page.
        #[arg(long)]
        cursor: Option<String>,
    },
}

pub async fn run(command: EnquirerCommand, json_out: bool) -> Result<(), CliError> {
    match command {
        EnquirerCommand::Signup {
            dir,
            api,
            name,
            organisation,
            contact,
            role,
        } => {
            let dir = Dir::new(&dir);
            let key = dir.key()?;
            let public_key = trustreg_model::jose::jwk_from_key(key.verifying_key());
            let view = EnquirerApi::new(&api)?
                .sign_up(&json!({
                    "name": name, "organisation": organisation, "contact": contact,
                    "role": role, "public_key": public_key,
                }))
                .await?;
            let id = view["enquirer_id"].as_str().unwrap_or_default().to_owned();
            dir.save_profile(&Profile {
                kid: format!("enquirer:{id}"),
                api,
            })?;
            emit(
                json_out,
                &view,
                &[format!(
                    "enquirer {id}: {} until an administrator approves it",
                    view["state"].as_str().unwrap_or("pending")
                )],
            );
            Ok(())
        }
        EnquirerCommand::Login { dir } => {
            let dir = Dir::new(&dir);
            let profile = dir.profile()?;
            let session = EnquirerApi::new(&profile.api)?
                .login(&dir.key()?, &profile.kid)
                .await?;
            let token = session["access_token"].as_str().unwrap_or_default();
            let expires_in = session["expires_in"].as_u64().unwrap_or_default();
            dir.save_session(&Session {
                access_token: token.to_owned(),
                expires_at_ms: now_ms() + expires_in * 1000,
            })?;
            emit(
                json_out,
                &json!({ "kid": profile.kid, "expires_in": expires_in }),
                &[format!(
                    "logged in as {}; the session lasts {expires_in} s",
                    profile.kid
                )],
            );
            Ok(())
        }
        EnquirerCommand::Lookup { dir, api, id } => {
            let (api, token) = connection(dir, api)?;
            let path = Op::Lookup.path_with(&[("id", &encode_segment(&id))]);
            let answer = api.get(&path, &[], token.as_deref()).await?;
            verified(&api, json_out, answer, |a| {
                let mut lines = vec![format!(
                    "{}: {} since {}",
                    a["id"].as_str().unwrap_or(&id),
                    a["status"].as_str().unwrap_or("?"),
                    a["status_since"].as_str().unwrap_or("?")
                )];
                // A registry above the device's own answers from its mirror (9.3 ii c): where
                // the device is registered and how old the answer is are part of it.
                if let Some(origin) = a["origin"].as_str() {
                    lines.push(format!(
                        "registered at {origin}; {} learnt it at {}",
                        a["registry"].as_str().unwrap_or("this registry"),
                        a["as_of"].as_str().unwrap_or("?")
                    ));
                }
                lines
            })
            .await
        }
        EnquirerCommand::Search {
            dir,
            make,
            model,
            status,
            domain,
            capability,
            limit,
            cursor,
        } => {
            let (api, token) = connection(Some(dir), None)?;
            let mut query = Vec::new();
            for (name, value) in [
                ("make", make),
                ("model", model),
                ("status", status),
                ("domain", domain),
                ("capability", capability),
                ("cursor", cursor),
                ("limit", limit.map(|l| l.to_string())),
            ] {
                if let Some(value) = value {
                    query.push((name, value));
                }
            }
            let answer = api.get(Op::Search.path(), &query, token.as_deref()).await?;
            verified(&api, json_out, answer, |a| {
                let mut lines: Vec<String> = a["devices"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        format!(
                            "{}  {}  {} {}",
                            d["regdevid"].as_str().unwrap_or("?"),
                            d["status"].as_str().unwrap_or("?"),
                            d["make"].as_str().unwrap_or(""),
                            d["model"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                if let Some(next) = a["next"].as_str() {
                    lines.push(format!("more: --cursor {next}"));
                }
                lines
            })
            .await
        }
        EnquirerCommand::List {
            dir,
            status,
            cursor,
        } => {
            let (api, token) = connection(Some(dir), None)?;
            let query: Vec<(&str, String)> = cursor.into_iter().map(|c| ("cursor", c)).collect();
            let path = Op::StatusList.path_with(&[("status", &encode_segment(&status))]);
            let answer = api.get(&path, &query, token.as_deref()).await?;
            verified(&api, json_out, answer, |a| {
                let mut lines: Vec<String> = a["devices"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        format!(
                            "{}  since {}  at {}  (as of {})",
                            d["regdevid"].as_str().unwrap_or("?"),
                            d["status_since"].as_str().unwrap_or("?"),
                            d["origin"].as_str().unwrap_or("?"),
                            d["as_of"].as_str().unwrap_or("?")
                        )
                    })
                    .collect();
                if let Some(next) = a["next"].as_str() {
                    lines.push(format!("more: --cursor {next}"));
                }
                lines
            })
            .await
        }
    }
}

/// The API and the session's token: from DIR when given, else anonymous at `api`.
fn connection(
    dir: Option<PathBuf>,
    api: Option<String>,
) -> Result<(EnquirerApi, Option<String>), CliError> {
    match dir {
        Some(dir) => {
            let dir = Dir::new(&dir);
            let profile = dir.profile()?;
            let session = dir.session(now_ms())?.ok_or_else(|| {
                CliError::Usage("no current session: run `trustreg enquirer login`".into())
            })?;
            Ok((
                EnquirerApi::new(api.as_deref().unwrap_or(&profile.api))?,
                Some(session.access_token),
            ))
        }
        None => {
            let api = api.ok_or_else(|| CliError::Usage("give --dir or --api".into()))?;
            Ok((EnquirerApi::new(&api)?, None))
        }
    }
}

/// Prints the answer once its statement verifies against the registry's published key.
async fn verified(
    api: &EnquirerApi,
    json_out: bool,
    answer: Value,
    lines: impl Fn(&Value) -> Vec<String>,
) -> Result<(), CliError> {
    let statement = answer["statement"]
        .as_str()
        .ok_or_else(|| CliError::Usage("the answer carries no statement".into()))?;
    let key = api.registry_key().await?;
    trustreg_model::statements::verify_statement::<Value>(statement, &key, now_ms())?;
    let mut text = lines(&answer);
    text.push("statement: verified with the registry's published key".into());
    emit(json_out, &answer, &text);
    Ok(())
}

/// Virtual IDs and RegDevIDs hold ':' and, for IPv6, other reserved characters.
fn encode_segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}
