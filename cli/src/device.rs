//! A simulated device: secure element set-up, registration, acknowledgement (Y.3059 9.2 ii).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;
use trustreg_device::client::ReportParams;
use trustreg_device::{DeviceError, ManufacturerCa, SoftSecureElement};
use trustreg_model::identifier::{Identifier, Scheme};
use trustreg_model::messages::{DeviceInfo, PowerClaim, RotClaim};

use crate::registry_client::registry_client;
use crate::retry_args::RetryArgs;
use crate::{CliError, emit};

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Create the device's key in a software secure element and have the manufacturer CA
    /// certify it for the device's identifier.
    Init {
        /// The secure element's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The manufacturer CA's directory (see `trustreg demo ca`).
        #[arg(long)]
        ca: PathBuf,
        /// imei, mac, eui64, ipv6 or serial.
        #[arg(long)]
        scheme: Scheme,
        /// The device's inherent identifier.
        #[arg(long)]
        id: String,
        #[arg(long, default_value_t = 825)]
        valid_days: u32,
    },
    /// Register at a primary registry, store the RegDevID, then acknowledge it.
    Register {
        #[arg(long)]
        dir: PathBuf,
        /// The registry's API base URL (e.g. the stack's `local_api_url`).
        #[arg(long, env = "TRUSTREG_API")]
        api: String,
        #[command(flatten)]
        info: InfoArgs,
        /// Trust domains to join (default: the registry's first).
        #[arg(long = "domain")]
        domains: Vec<String>,
        /// Stop after registration; acknowledge later with `trustreg device acknowledge`.
        #[arg(long)]
        no_acknowledge: bool,
        /// Registration and acknowledgement are retried when the registry cannot answer:
        /// both are safe to repeat (a repeat with the same key answers the same RegDevID).
        #[command(flatten)]
        retry: RetryArgs,
    },
    /// Confirm the stored RegDevID to the registry (7 iv b).
    Acknowledge {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, env = "TRUSTREG_API")]
        api: String,
    },
    /// Report the device's security parameters, signed with its registered key (9.3 ii a).
    Report {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, env = "TRUSTREG_API")]
        api: String,
        #[arg(long)]
        firmware: String,
        #[arg(long)]
        software: String,
        #[arg(long = "comm")]
        communication: Vec<String>,
        /// The security configuration, as JSON.
        #[arg(long)]
        configuration: Option<String>,
    },
    /// Get a virtual RegDevID that stands for the device without disclosing it (9.2 i f).
    VirtualId {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, env = "TRUSTREG_API")]
        api: String,
        /// How long it lives, in seconds (at most 30 days).
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// Valid for one lookup only.
        #[arg(long)]
        single_use: bool,
    },
}

/// What the device tells the registry about itself (9.2 i e).
#[derive(Args, Clone)]
pub struct InfoArgs {
    #[arg(long, default_value = "Acme")]
    make: String,
    #[arg(long, default_value = "Sensor-1")]
    model: String,
    #[arg(long, default_value = "1.0.0")]
    firmware: String,
    #[arg(long, default_value = "1.0.0")]
    software: String,
    #[arg(long, default_value = "secure-element")]
    rot: String,
    #[arg(long = "comm", default_values_t = ["lte".to_string()])]
    communication: Vec<String>,
    #[arg(long, default_value = "battery")]
    power: String,
    #[arg(long = "protocol", default_values_t = ["mqtt".to_string(), "coap".to_string()])]
    protocols: Vec<String>,
}

impl InfoArgs {
    pub fn into_info(self) -> DeviceInfo {
        DeviceInfo {
            make: self.make,
            model: self.model,
            firmware_version: self.firmware,
            software_version: self.software,
            rot: RotClaim { kind: self.rot },
            communication: self.communication,
            power: PowerClaim {
                source: self.power,
                extra: Default::default(),
            },
            protocols: self.protocols,
        }
    }
}

pub async fn run(command: DeviceCommand, json_out: bool) -> Result<(), CliError> {
    match command {
        DeviceCommand::Init {
            dir,
            ca,
            scheme,
            id,
            valid_days,
        } => {
            let identifier = Identifier::parse(scheme, &id)
                .map_err(|e| CliError::Usage(format!("--id: {e}")))?;
            let ca = ManufacturerCa::open(&ca).map_err(DeviceError::from)?;
            let se = SoftSecureElement::create(&dir).map_err(DeviceError::from)?;
            let leaf = ca
                .issue_device_cert(&se.public_key(), &identifier, valid_days)
                .map_err(DeviceError::from)?;
            se.store_chain(&[leaf.der, ca.cert_der().to_vec()])
                .map_err(DeviceError::from)?;
            emit(
                json_out,
                &json!({"dir": dir, "identifier": identifier.to_string(), "san": identifier.to_san_uri()}),
                &[format!(
                    "device key created in {}, certified by {:?} for {}",
                    dir.display(),
                    ca.name(),
                    identifier.to_san_uri()
                )],
            );
            Ok(())
        }
        DeviceCommand::Register {
            dir,
            api,
            info,
            domains,
            no_acknowledge,
            retry,
        } => {
            let se = SoftSecureElement::open(&dir).map_err(DeviceError::from)?;
            let identifier = certified_identifier(&se)?;
            let client = registry_client(&api)?;
            let policy = retry.policy();
            let info = info.into_info();
            let (client, se, identifier, info, domains) =
                (&client, &se, &identifier, &info, &domains);
            let (registered, attempts) = policy
                .run(
                    move || client.register(se, identifier, info.clone(), domains.clone()),
                    |n, e, wait| say_retry("registration", n, e, wait),
                )
                .await;
            let registered = registered.map_err(|e| {
                CliError::Usage(format!(
                    "registration gave up after {attempts} attempt(s): {e}"
                ))
            })?;
            let mut outcome = json!({
                "regdevid": registered.regdevid,
                "status": registered.status,
                "credential": registered.credential,
                "attempts": {"register": attempts},
            });
            let mut text = vec![format!("RegDevID: {}", registered.regdevid)];
            if !no_acknowledge {
                let (ack, ack_attempts) = policy
                    .run(
                        move || client.acknowledge(se),
                        |n, e, wait| say_retry("acknowledgement", n, e, wait),
                    )
                    .await;
                outcome["attempts"]["acknowledge"] = json!(ack_attempts);
                match ack {
                    Ok(ack) => outcome["status"] = json!(ack.status),
                    Err(e) => {
                        // Registered, and the RegDevID is stored: only the acknowledgement is
                        // missing, and it can be sent on its own later.
                        outcome["acknowledge_error"] = json!(e.to_string());
                        text.push(format!("status:   {}", registered.status));
                        text.push(format!(
                            "acknowledgement gave up after {ack_attempts} attempt(s): {e}; send it later with `trustreg device acknowledge`"
                        ));
                        emit(json_out, &outcome, &text);
                        return Err(CliError::Usage(format!(
                            "registered as {}, not acknowledged: {e}",
                            registered.regdevid
                        )));
                    }
                }
            }
            text.push(format!(
                "status:   {}",
                outcome["status"].as_str().unwrap_or("")
            ));
            emit(json_out, &outcome, &text);
            Ok(())
        }
        DeviceCommand::Report {
            dir,
            api,
            firmware,
            software,
            communication,
            configuration,
        } => {
            let configuration = configuration
                .map(|text| serde_json::from_str(&text))
                .transpose()
                .map_err(|e| CliError::Usage(format!("--configuration: {e}")))?;
            let se = SoftSecureElement::open(&dir).map_err(DeviceError::from)?;
            let client = registry_client(&api)?;
            let params = ReportParams {
                firmware_version: firmware,
                software_version: software,
                communication,
                configuration,
            };
            let done = client
                .report(&se, params)
                .await
                .map_err(DeviceError::from)?;
            emit(
                json_out,
                &json!({"regdevid": done.regdevid, "status": done.status, "received_at": done.received_at, "changed": done.changed}),
                &[
                    format!("RegDevID: {}", done.regdevid),
                    format!("status:   {}", done.status),
                    format!("changed:  {}", done.changed.join(", ")),
                ],
            );
            Ok(())
        }
        DeviceCommand::Acknowledge { dir, api } => {
            let se = SoftSecureElement::open(&dir).map_err(DeviceError::from)?;
            let client = registry_client(&api)?;
            let ack = client.acknowledge(&se).await.map_err(DeviceError::from)?;
            emit(
                json_out,
                &json!({"regdevid": ack.regdevid, "status": ack.status}),
                &[
                    format!("RegDevID: {}", ack.regdevid),
                    format!("status:   {}", ack.status),
                ],
            );
            Ok(())
        }
        DeviceCommand::VirtualId {
            dir,
            api,
            ttl,
            single_use,
        } => {
            let se = SoftSecureElement::open(&dir).map_err(DeviceError::from)?;
            let client = registry_client(&api)?;
            let issued = client
                .virtual_id(&se, ttl, single_use)
                .await
                .map_err(DeviceError::from)?;
            emit(
                json_out,
                &json!({"virtual_id": issued.virtual_id, "expires_at": issued.expires_at}),
                &[
                    format!("virtual ID: {}", issued.virtual_id),
                    format!("expires:    {}", issued.expires_at),
                ],
            );
            Ok(())
        }
    }
}

/// Tells the operator a request will be sent again, and when.
fn say_retry(what: &str, n: u32, error: &trustreg_device::ClientError, wait: std::time::Duration) {
    eprintln!(
        "{what}: attempt {n} failed ({error}); trying again in {:.1} s",
        wait.as_secs_f64()
    );
}

/// The identifier the device's own certificate binds: what it registers under.
fn certified_identifier(se: &SoftSecureElement) -> Result<Identifier, CliError> {
    let chain = se.chain_der().map_err(DeviceError::from)?;
    let leaf = chain
        .first()
        .ok_or_else(|| CliError::Usage("the secure element holds no certificate".into()))?;
    trustreg_model::rot::identifiers_in(leaf)
        .map_err(|e| CliError::Usage(format!("device certificate: {e}")))?
        .into_iter()
        .next()
        .ok_or_else(|| CliError::Usage("the device certificate binds no identifier".into()))
}
