//! Benchmark: status lists (`trustreg_model::status_list`) for N devices with a realistic mix,
//! 95% trusted and the rest at random positions (3% unverified, 1.5% unreliable, 0.5%
//! deregistered): the token's size, the time to build it (pack, ZLIB, sign), and the offline
//! check rate (verify the token once, then answer every device from its bits, as
//! `trustreg status check` does). Pure CPU: no stack needed.
//! `cargo run --release -p trustreg-model --example bench-status-list -- [N...]`
//! (default 10^4, 10^5, 10^6; targets: ≤ 300 KB for 10^6, ≥ 10^6 devices/s).

mod support;

use std::time::Instant;

use p256::ecdsa::SigningKey;
use trustreg_model::status::TrustStatus;
use trustreg_model::status_list::{
    REGISTRY_BITS, StatusList, StatusListClaims, StatusListReference, sign_with, status_of,
    value_of, verify_token,
};

const URI: &str = "https://registry.example/v1/status-lists/1";
const ROUNDS: usize = 5;

/// xorshift64*: reproducible positions without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn statuses(n: u64, rng: &mut Rng) -> Vec<TrustStatus> {
    (0..n)
        .map(|_| match rng.next() % 1000 {
            0..950 => TrustStatus::Trusted,
            950..980 => TrustStatus::Unverified,
            980..995 => TrustStatus::Unreliable,
            _ => TrustStatus::Deregistered,
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes = support::sizes(&[10_000, 100_000, 1_000_000])?;
    let key = SigningKey::from_bytes(&[7u8; 32].into())?;
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    println!(
        "devices | not trusted | lst chars | token bytes | build: pack+ZLIB+sign (median of {ROUNDS}) | verify+decode | verify+decode+check all | devices/s (incl. verify)"
    );
    for n in sizes {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n);
        let devices = statuses(n, &mut rng);
        let mut builds = Vec::new();
        let mut token = String::new();
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let mut list = StatusList::new(REGISTRY_BITS, n);
            for (idx, status) in devices.iter().enumerate() {
                list.set(idx as u64, value_of(*status))?;
            }
            let claims = StatusListClaims::new(URI, &list, iat, 86_400, 300);
            token = sign_with(&key, &claims, None);
            builds.push(started.elapsed());
        }
        let mut verifies = Vec::new();
        let mut checks = Vec::new();
        let mut lst_len = 0;
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let verified = verify_token(&token, key.verifying_key(), iat)?;
            let decoded = started.elapsed();
            lst_len = verified.claims.status_list.lst.len();
            let mut reference = StatusListReference {
                idx: 0,
                uri: verified.claims.sub.clone(),
            };
            let mut mismatches = 0u64;
            for (idx, expected) in devices.iter().enumerate() {
                reference.idx = idx as u64;
                if status_of(verified.status(&reference)?) != Some(*expected) {
                    mismatches += 1;
                }
            }
            assert_eq!(mismatches, 0, "a status did not round-trip");
            verifies.push(decoded);
            checks.push(started.elapsed());
        }
        let not_trusted = devices
            .iter()
            .filter(|s| **s != TrustStatus::Trusted)
            .count();
        let check = support::median(checks);
        println!(
            "{n} | {not_trusted} | {lst_len} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.2e}",
            token.len(),
            support::median(builds).as_secs_f64() * 1e3,
            support::median(verifies).as_secs_f64() * 1e3,
            check.as_secs_f64() * 1e3,
            n as f64 / check.as_secs_f64()
        );
    }
    Ok(())
}
