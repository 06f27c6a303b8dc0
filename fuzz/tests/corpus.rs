//! Replays the committed corpus through the harnesses, on stable and without libFuzzer:
//! `cargo test --manifest-path fuzz/Cargo.toml`. Every input must run without a panic, and
//! every seed named `ok-*` must reach the path that accepts it (so the seeds keep exercising
//! the deep paths as the registry changes). A crash input copied into `corpus/<target>/`
//! replays here too.

use std::fs;
use std::path::Path;

type Harness = fn(&[u8]) -> bool;

const TARGETS: &[(&str, Harness)] = &[
    ("jws", trustreg_fuzz::jws),
    ("x5c_chain", trustreg_fuzz::x5c_chain),
    ("identifier", trustreg_fuzz::identifier),
    ("bulk_body", trustreg_fuzz::bulk_body),
    ("batch_credential", trustreg_fuzz::batch_credential),
    ("exchange_message", trustreg_fuzz::exchange_message),
];

#[test]
fn every_target_has_a_seed_corpus_that_replays() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (target, harness) in TARGETS {
        let dir = root.join(target);
        let mut seeds = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a corpus entry").path())
            .collect::<Vec<_>>();
        seeds.sort();
        assert!(
            seeds.iter().any(|p| file_name(p).starts_with("ok-")),
            "{target}: no ok-* seed"
        );
        for seed in seeds {
            let data = fs::read(&seed).expect("a readable seed");
            let accepted = harness(&data);
            if file_name(&seed).starts_with("ok-") {
                assert!(accepted, "{target}: {} is not accepted", seed.display());
            }
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
