//! `trustreg bulk`: bulk registration files, made and sent (Y.3059 9.2 i g).

use std::path::PathBuf;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use trustreg_core::identifier::{Identifier, Scheme};
use trustreg_device::bulk::{NDJSON, bulk_device};
use trustreg_device::{DeviceError, ManufacturerCa, RegistryClient, SoftSecureElement};

use crate::device::InfoArgs;
use crate::{CliError, emit};

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
    /// requests of at most `--chunk` devices, with a progress bar and a summary.
    Register {
        file: PathBuf,
        #[arg(long, env = "TRUSTREG_API")]
        api: String,
        /// The manufacturer CA that certified the devices: it signs the requests.
        #[arg(long)]
        ca: PathBuf,
        #[arg(long, default_value_t = 250)]
        chunk: usize,
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
                let check = trustreg_core::identifier::luhn_check_digit(&body)
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
        } => {
            let chunk = chunk.clamp(1, trustreg_core::bulk::MAX_BULK_ITEMS);
            let text = std::fs::read_to_string(&file).map_err(|source| CliError::File {
                path: file.display().to_string(),
                source,
            })?;
            let lines = read_lines(&text)?;
            let ca = ManufacturerCa::open(&ca).map_err(DeviceError::from)?;
            let client = RegistryClient::new(api).map_err(DeviceError::from)?;
            let bar = ProgressBar::new(lines.len() as u64);
            if json_out {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} devices {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let (mut created, mut existing, mut failed) = (0u64, 0u64, 0u64);
            let mut failures = Vec::new();
            for (n, part) in lines.chunks(chunk).enumerate() {
                let body = part.join("\n").into_bytes();
                let answer = client
                    .register_bulk(body, NDJSON, |claims| {
                        ca.sign_jws(claims)
                            .map_err(|e| trustreg_device::ClientError::Decode(e.to_string()))
                    })
                    .await
                    .map_err(DeviceError::from)?;
                let count = |k: &str| answer["summary"][k].as_u64().unwrap_or(0);
                created += count("created");
                existing += count("existing");
                failed += count("failed");
                for r in answer["results"].as_array().into_iter().flatten() {
                    if let Some(problem) = r.get("problem") {
                        let index = r["index"].as_u64().unwrap_or(0) as usize + n * chunk;
                        failures.push(json!({"line": index + 1, "problem": problem}));
                    }
                }
                bar.inc(part.len() as u64);
                bar.set_message(format!("{created} new, {existing} known, {failed} failed"));
            }
            bar.finish();
            let mut text_lines = vec![format!(
                "{} devices: {created} registered, {existing} already registered, {failed} failed",
                lines.len()
            )];
            for f in &failures {
                text_lines.push(format!(
                    "  line {}: {}",
                    f["line"],
                    f["problem"]["detail"].as_str().unwrap_or("")
                ));
            }
            emit(
                json_out,
                &json!({"created": created, "existing": existing, "failed": failed, "failures": failures}),
                &text_lines,
            );
            if failed > 0 {
                return Err(CliError::Usage(format!("{failed} devices were refused")));
            }
            Ok(())
        }
    }
}

/// The file's devices as NDJSON lines, whether it holds a JSON array or NDJSON.
fn read_lines(text: &str) -> Result<Vec<String>, CliError> {
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
