//! `trustreg bulk`: bulk registration files, made and sent (Y.3059 9.2 i g).

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;
use trustreg_device::bulk::bulk_device;
use trustreg_device::{DeviceError, ManufacturerCa, SoftSecureElement};
use trustreg_model::identifier::{Identifier, Scheme};

use crate::device::InfoArgs;
use crate::retry_args::RetryArgs;
use crate::{CliError, emit};

mod progress;
mod register;

#[derive(Subcommand)]
pub enum BulkCommand {
    /// Make demo devices (each its own secure element, certified by the CA) and their bulk
    /// registration file (NDJSON).
    Make {
        #[arg(long)]
        ca: PathBuf,
        /// Where the devices' secure elements go, one directory each.
        #[arg(long)]
        devices: PathBuf,
        #[arg(long)]
        count: u32,
        /// The first IMEI's 14-digit body; the others count up from it.
        #[arg(long, default_value = "35000000000000")]
        first: u64,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        info: InfoArgs,
    },
    /// Register the devices of a file (JSON array or NDJSON) as their manufacturer, in
    /// requests of at most `--chunk` devices, with a progress bar and a summary (always, also
    /// when it gives up). A chunk the registry could not answer is sent again (`--retries`);
    /// what was answered is kept in a progress file, so `--resume` goes on where a run stopped.
    Register {
        file: PathBuf,
        #[arg(long, env = "TRUSTREG_API")]
        api: String,
        /// The manufacturer CA that certified the devices: it signs the requests.
        #[arg(long)]
        ca: PathBuf,
        /// Devices per request (default 250, at most 1000); a resumed run keeps its first run's.
        #[arg(long)]
        chunk: Option<usize>,
        /// The progress file (default: the bulk file's path with `.progress` added).
        #[arg(long)]
        progress: Option<PathBuf>,
        /// Go on from the progress file: chunks it records as answered are not sent again.
        #[arg(long)]
        resume: bool,
        #[command(flatten)]
        retry: RetryArgs,
    },
}

pub async fn run(command: BulkCommand, json_out: bool) -> Result<(), CliError> {
    match command {
        BulkCommand::Make {
            ca,
            devices,
            count,
            first,
            out,
            info,
        } => {
            let ca = ManufacturerCa::open(&ca).map_err(DeviceError::from)?;
            let info = info.into_info();
            let mut lines = String::new();
            for n in 0..u64::from(count) {
                let body = format!("{:014}", first + n);
                let check = trustreg_model::identifier::luhn_check_digit(&body)
                    .ok_or_else(|| CliError::Usage("--first must be 14 digits".into()))?;
                let identifier = Identifier::parse(Scheme::Imei, &format!("{body}{check}"))
                    .map_err(|e| CliError::Usage(e.to_string()))?;
                let se = SoftSecureElement::create(devices.join(identifier.value()))
                    .map_err(DeviceError::from)?;
                let leaf = ca
                    .issue_device_cert(&se.public_key(), &identifier, 825)
                    .map_err(DeviceError::from)?;
                se.store_chain(&[leaf.der]).map_err(DeviceError::from)?;
                let line = bulk_device(&se, &identifier, info.clone(), vec![])
                    .map_err(DeviceError::from)?;
                lines.push_str(
                    &serde_json::to_string(&line).map_err(|e| CliError::Usage(e.to_string()))?,
                );
                lines.push('\n');
            }
            std::fs::write(&out, lines).map_err(|source| CliError::File {
                path: out.display().to_string(),
                source,
            })?;
            emit(
                json_out,
                &json!({"devices": count, "file": out}),
                &[format!(
                    "{count} devices in {}, file {}",
                    devices.display(),
                    out.display()
                )],
            );
            Ok(())
        }
        BulkCommand::Register {
            file,
            api,
            ca,
            chunk,
            progress,
            resume,
            retry,
        } => {
            let progress = progress.unwrap_or_else(|| register::default_progress_path(&file));
            register::run(
                register::Options {
                    file,
                    api,
                    ca,
                    chunk,
                    progress,
                    resume,
                    retry: retry.policy(),
                },
                json_out,
            )
            .await
        }
    }
}

/// The file's devices as NDJSON lines, whether it holds a JSON array or NDJSON.
pub(crate) fn read_lines(text: &str) -> Result<Vec<String>, CliError> {
    if text.trim_start().starts_with('[') {
        let items: Vec<serde_json::Value> =
            serde_json::from_str(text).map_err(|e| CliError::Usage(format!("bulk file: {e}")))?;
        return Ok(items.iter().map(|v| v.to_string()).collect());
    }
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect())
}
