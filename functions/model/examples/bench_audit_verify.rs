//! Benchmark: verifying the audit log from outside (`trustreg audit verify`'s work once the
//! checkpoint, the entries and the records are fetched: `tlog::verify::check`) over N leaves,
//! against this machine's SHA-256 rate on the same bytes (every entry and every record's JSON,
//! hashed in one stream), measured in the same run. Pure CPU: no stack needed.
//! `cargo run --release -p trustreg-model --example bench-audit-verify -- [N...]`
//! (default 100,000; issue 14's target: verification at ≥ 0.5× the SHA-256 rate).

mod support;

use std::collections::HashMap;
use std::time::Instant;

use base64::Engine;
use sha2::{Digest, Sha256};
use trustreg_model::merkle;
use trustreg_model::records::{AuditRecord, Outcome};
use trustreg_model::tlog::Checkpoint;
use trustreg_model::tlog::leaf::audit_leaf;
use trustreg_model::tlog::verify::{Seen, check};

const ROUNDS: usize = 5;
const ORIGIN: &str = "IN1.HLT.P07";

/// Records shaped as the registry writes them: an id of time then random hex, an actor, an
/// action, a RegDevID target.
fn records(n: u64) -> Vec<AuditRecord> {
    (0..n)
        .map(|i| AuditRecord {
            id: format!(
                "{:016}-{:016x}",
                1_765_000_000_000 + i,
                i.wrapping_mul(0x9E37_79B9)
            ),
            at_ms: 1_765_000_000_000 + i,
            actor: format!("enquirer:{:032x}", i % 97),
            action: if i % 3 == 0 { "register" } else { "lookup" }.to_owned(),
            target: Some(format!("{ORIGIN}:imei:35{:013}", i)),
            outcome: Outcome::Accepted,
            code: None,
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes = support::sizes(&[100_000])?;
    println!(
        "leaves | bytes (entries + records' JSON) | verify (median of {ROUNDS}) | SHA-256 of the same bytes | leaves/s | verify rate / SHA-256 rate"
    );
    for n in sizes {
        let records = records(n);
        let entries: Vec<Vec<u8>> = records.iter().map(audit_leaf).collect();
        let hashes: Vec<merkle::Hash> = entries.iter().map(|e| merkle::leaf_hash(e)).collect();
        let checkpoint = Checkpoint::new(ORIGIN, n, merkle::root(&hashes));
        // A verifier that saw the log at half its size checks consistency too.
        let half = (n / 2) as usize;
        let seen = Seen {
            size: half as u64,
            root: base64::engine::general_purpose::STANDARD.encode(merkle::root(&hashes[..half])),
            key: None,
        };
        let by_id: HashMap<String, (AuditRecord, Option<u64>)> = records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), (r.clone(), Some(i as u64))))
            .collect();
        let jsons: Vec<Vec<u8>> = records
            .iter()
            .map(serde_json::to_vec)
            .collect::<Result<_, _>>()?;
        let bytes: usize =
            entries.iter().map(Vec::len).sum::<usize>() + jsons.iter().map(Vec::len).sum::<usize>();

        let mut verifies = Vec::new();
        let mut baselines = Vec::new();
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let findings = check(&checkpoint, &entries, &by_id, Some(&seen));
            verifies.push(started.elapsed());
            assert!(findings.is_empty(), "{findings:?}");

            let started = Instant::now();
            let mut sha = Sha256::new();
            for chunk in entries.iter().chain(jsons.iter()) {
                sha.update(chunk);
            }
            std::hint::black_box(sha.finalize());
            baselines.push(started.elapsed());
        }
        let (verify, baseline) = (support::median(verifies), support::median(baselines));
        println!(
            "{n} | {bytes} | {:.1} ms | {:.1} ms | {:.2e} | {:.2}",
            verify.as_secs_f64() * 1e3,
            baseline.as_secs_f64() * 1e3,
            n as f64 / verify.as_secs_f64(),
            baseline.as_secs_f64() / verify.as_secs_f64()
        );
    }
    Ok(())
}
