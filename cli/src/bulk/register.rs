//! `trustreg bulk register`: a file of devices sent chunk by chunk, each chunk retried while the
//! registry cannot answer it, its answer recorded in the progress file, and a summary printed
//! however the run ends.
//!
//! Sending a chunk again is safe: bulk registration is idempotent by device identity (a device
//! already registered answers "existing", API.md), and each attempt is signed over a fresh
//! nonce.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use trustreg_device::bulk::NDJSON;
use trustreg_device::{ClientError, DeviceError, ManufacturerCa, RetryPolicy};

use super::progress::{ChunkDone, Progress};
use crate::registry_client::registry_client;
use crate::{CliError, emit};

const DEFAULT_CHUNK: usize = 250;

pub struct Options {
    pub file: PathBuf,
    pub api: String,
    pub ca: PathBuf,
    pub chunk: Option<usize>,
    pub progress: PathBuf,
    pub resume: bool,
    pub retry: RetryPolicy,
}

/// `devices.ndjson` -> `devices.ndjson.progress`.
pub fn default_progress_path(file: &Path) -> PathBuf {
    let mut path = file.as_os_str().to_owned();
    path.push(".progress");
    PathBuf::from(path)
}

/// The chunk the run stopped at, and why.
struct GaveUp {
    chunk: ChunkDone,
    attempts: u32,
    error: ClientError,
}

pub async fn run(options: Options, json_out: bool) -> Result<(), CliError> {
    let bytes = std::fs::read(&options.file).map_err(|source| CliError::File {
        path: options.file.display().to_string(),
        source,
    })?;
    let text = String::from_utf8(bytes.clone())
        .map_err(|e| CliError::Usage(format!("{}: {e}", options.file.display())))?;
    let lines = super::read_lines(&text)?;
    let mut progress = if options.resume {
        Progress::resume(&options.progress, &bytes, lines.len(), options.chunk)?
    } else {
        let chunk = options
            .chunk
            .unwrap_or(DEFAULT_CHUNK)
            .clamp(1, trustreg_model::messages::MAX_BULK_ITEMS);
        // Written before anything is sent: a run that gives up at its first chunk still
        // leaves the file `--resume` starts from.
        let progress = Progress::new(&options.file, &bytes, lines.len(), chunk);
        progress.save(&options.progress)?;
        progress
    };
    let chunk = progress.chunk;
    let ca = ManufacturerCa::open(&options.ca).map_err(DeviceError::from)?;
    let client = registry_client(&options.api)?;

    let resumed: usize = progress
        .done
        .iter()
        .map(|c| c.last_line + 1 - c.first_line)
        .sum();
    let bar = ProgressBar::new(lines.len() as u64);
    if json_out {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} devices {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_position(resumed as u64);

    let (mut sent, mut retries) = (0usize, 0u32);
    let mut gave_up = None;
    for (index, part) in lines.chunks(chunk).enumerate() {
        if progress.is_done(index) {
            continue;
        }
        let first_line = index * chunk + 1;
        let mut done = ChunkDone {
            index,
            first_line,
            last_line: first_line + part.len() - 1,
            created: 0,
            existing: 0,
            failed: 0,
            failures: Vec::new(),
        };
        let body = part.join("\n").into_bytes();
        let (body, client, ca) = (&body, &client, &ca);
        let (answer, attempts) = options
            .retry
            .run(
                move || {
                    client.register_bulk(body.clone(), NDJSON, move |claims| {
                        ca.sign_jws(claims)
                            .map_err(|e| ClientError::Decode(e.to_string()))
                    })
                },
                |n, error, wait| {
                    bar.suspend(|| {
                        eprintln!(
                            "lines {}-{}: attempt {n} failed ({error}); trying again in {:.1} s",
                            done.first_line,
                            done.last_line,
                            wait.as_secs_f64()
                        );
                    });
                },
            )
            .await;
        retries += attempts - 1;
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => {
                gave_up = Some(GaveUp {
                    chunk: done,
                    attempts,
                    error,
                });
                break;
            }
        };
        let count = |k: &str| answer["summary"][k].as_u64().unwrap_or(0);
        done.created = count("created");
        done.existing = count("existing");
        done.failed = count("failed");
        for r in answer["results"].as_array().into_iter().flatten() {
            if let Some(problem) = r.get("problem") {
                let line = r["index"].as_u64().unwrap_or(0) as usize + first_line;
                done.failures
                    .push(json!({"line": line, "problem": problem}));
            }
        }
        sent += part.len();
        progress.done.push(done);
        progress.save(&options.progress)?;
        bar.inc(part.len() as u64);
        let totals = Totals::of(&progress);
        bar.set_message(format!(
            "{} new, {} known, {} failed",
            totals.created, totals.existing, totals.failed
        ));
    }
    bar.finish_and_clear();

    let totals = Totals::of(&progress);
    let total = lines.len() as u64;
    let answered: usize = progress
        .done
        .iter()
        .map(|c| c.last_line + 1 - c.first_line)
        .sum();
    let not_sent = total - answered as u64;
    let failures: Vec<_> = progress
        .done
        .iter()
        .flat_map(|c| c.failures.iter().cloned())
        .collect();
    let mut text_lines = vec![format!(
        "{total} devices: {} registered, {} already registered, {} failed, {not_sent} not sent",
        totals.created, totals.existing, totals.failed
    )];
    text_lines.push(format!(
        "this run sent {sent} devices ({retries} retries); {resumed} were done by an earlier run; progress in {}",
        options.progress.display()
    ));
    for f in &failures {
        text_lines.push(format!(
            "  line {}: {}",
            f["line"],
            f["problem"]["detail"].as_str().unwrap_or("")
        ));
    }
    let stopped = gave_up.as_ref().map(|g| {
        json!({
            "first_line": g.chunk.first_line,
            "last_line": g.chunk.last_line,
            "attempts": g.attempts,
            "error": g.error.to_string(),
        })
    });
    if let Some(g) = &gave_up {
        text_lines.push(format!(
            "gave up at lines {}-{} after {} attempts: {}; the registry may have registered some of them",
            g.chunk.first_line, g.chunk.last_line, g.attempts, g.error
        ));
        text_lines.push(format!(
            "send the rest with: trustreg bulk register {} --resume{}",
            options.file.display(),
            if options.progress == default_progress_path(&options.file) {
                String::new()
            } else {
                format!(" --progress {}", options.progress.display())
            }
        ));
    }
    emit(
        json_out,
        &json!({
            "total": total,
            "created": totals.created,
            "existing": totals.existing,
            "failed": totals.failed,
            "not_sent": not_sent,
            "sent": sent,
            "resumed": resumed,
            "retries": retries,
            "chunk": chunk,
            "progress": options.progress,
            "failures": failures,
            "gave_up": stopped,
        }),
        &text_lines,
    );
    if let Some(g) = gave_up {
        return Err(CliError::Usage(format!(
            "gave up at lines {}-{}: {}",
            g.chunk.first_line, g.chunk.last_line, g.error
        )));
    }
    if totals.failed > 0 {
        return Err(CliError::Usage(format!(
            "{} devices were refused",
            totals.failed
        )));
    }
    Ok(())
}

/// The registry's answers so far, this run's and the resumed runs'.
struct Totals {
    created: u64,
    existing: u64,
    failed: u64,
}

impl Totals {
    fn of(progress: &Progress) -> Self {
        let sum = |f: fn(&ChunkDone) -> u64| progress.done.iter().map(f).sum();
        Totals {
            created: sum(|c| c.created),
            existing: sum(|c| c.existing),
            failed: sum(|c| c.failed),
        }
    }
}
