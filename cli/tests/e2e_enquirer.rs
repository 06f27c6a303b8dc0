//! The enquirer's CLI end to end on LocalStack: sign-up, an administrator's approval, login,
//! lookup and search through API Gateway, each answer's statement checked by the CLI against
//! the registry's published key.
// card C6
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use trustreg_tests::{Stack, random_imei, repo_root, scratch};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustreg"))
        .arg("--json")
        .args(args)
        .env_remove("TRUSTREG_API")
        .output()
        .unwrap()
}

fn trustreg(args: &[&str]) -> serde_json::Value {
    let out = run(args);
    assert!(
        out.status.success(),
        "trustreg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

// Y.3059 9.3 i a
// Y.3059 9.3 iii
// Y.3059 9.3 ii c
// Y.3059 8
#[test]
fn an_enquirer_signs_up_logs_in_looks_up_and_searches_with_the_cli() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let dir = scratch("e2e-enquirer");
    let ca_dir = dir.join("ca");
    let dev_dir = dir.join("device");
    let me = dir.join("enquirer");
    let admin_dir = repo_root().join(".trustreg/test-admin");

    // A device to look at, of a make no other test uses.
    let make = format!("Enq{}", random_imei());
    trustreg(&["demo", "ca", "--dir", path(&ca_dir), "--name", &make]);
    let outputs = std::env::var("TRUSTREG_STACK_OUTPUTS").unwrap_or_else(|_| {
        repo_root()
            .join(".trustreg/stacks/trustreg-test.json")
            .display()
            .to_string()
    });
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let aws = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ];
    let accepted = Command::new(env!("CARGO_BIN_EXE_trustreg"))
        .args(["--json", "admin", "accept-root", "--stack", &outputs])
        .args(["--cert", path(&ca_dir.join("ca-cert.pem")), "--name", &make])
        // Every test IMEI starts with 35 (`random_imei`).
        .args(["--scope", "imei:35"])
        .envs(aws)
        .output()
        .unwrap();
    assert!(accepted.status.success(), "{accepted:?}");
    let id = random_imei();
    trustreg(&[
        "device",
        "init",
        "--dir",
        path(&dev_dir),
        "--ca",
        path(&ca_dir),
        "--scheme",
        "imei",
        "--id",
        &id,
    ]);
    let registered = trustreg(&[
        "device",
        "register",
        "--dir",
        path(&dev_dir),
        "--api",
        &api,
        "--make",
        &make,
        "--model",
        "Meter-9",
    ]);
    let regdevid = registered["regdevid"].as_str().unwrap().to_owned();

    // Anonymous: the status only, with a verified statement.
    let public = trustreg(&["enquirer", "lookup", "--api", &api, &regdevid]);
    assert_eq!(public["status"], "trusted");
    assert!(public.get("make").is_none());

    let signed_up = trustreg(&[
        "enquirer",
        "signup",
        "--dir",
        path(&me),
        "--api",
        &api,
        "--name",
        "Ada",
        "--organisation",
        "Example Health",
        "--contact",
        "ada@example.org",
    ]);
    assert_eq!(signed_up["state"], "pending");
    let refused = run(&["enquirer", "login", "--dir", path(&me)]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("403"));

    let enquirer_id = signed_up["enquirer_id"].as_str().unwrap();
    let approved = trustreg(&[
        "admin",
        "decide-enquirer",
        "--api",
        &api,
        "--key-dir",
        path(&admin_dir),
        // Enquirer ids may start with '-', which clap would take for an option.
        &format!("--id={enquirer_id}"),
        "--decision",
        "approve",
    ]);
    assert_eq!(approved["state"], "approved");
    trustreg(&["enquirer", "login", "--dir", path(&me)]);

    let details = trustreg(&["enquirer", "lookup", "--dir", path(&me), &regdevid]);
    assert_eq!(details["make"], make.as_str());
    assert_eq!(details["status"], "trusted");

    let found = trustreg(&["enquirer", "search", "--dir", path(&me), "--make", &make]);
    let devices = found["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{found}");
    assert_eq!(devices[0]["regdevid"], regdevid.as_str());
    let none = trustreg(&[
        "enquirer",
        "search",
        "--dir",
        path(&me),
        "--make",
        &make,
        "--status",
        "unreliable",
    ]);
    assert!(none["devices"].as_array().unwrap().is_empty(), "{none}");
}
