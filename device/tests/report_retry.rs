//! The device client's report when its answer is lost: sent again over a fresh nonce under the
//! same idempotency key, so the registry recognises the report it may already have stored.
//! Against a scripted HTTP server on the loopback (the registry's side is proven against
//! LocalStack in tests/tests/fault_retries.rs).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use trustreg_device::client::ReportParams;
use trustreg_device::{RegistryClient, SoftSecureElement, StoredRegistration};

/// The (path, body) of each request the scripted server saw.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// Serves `answers` (status, body) to the requests in order, one connection each; records
/// each request's path and body.
fn scripted(answers: Vec<(u16, String)>) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (status, body) in answers {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let mut length = 0;
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut request = vec![0; length];
            reader.read_exact(&mut request).unwrap();
            log.lock()
                .unwrap()
                .push((path, String::from_utf8(request).unwrap()));
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        }
    });
    (url, seen)
}

fn claims_of(jws: &str) -> Value {
    let payload = jws.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a_report_whose_answer_was_lost_is_sent_again_under_its_key() {
    let regdevid = "IN1.HLT.P07:imei:356938035643809";
    let challenge = |n: &str| (201, format!(r#"{{"nonce":"{n}","expires_at":"x"}}"#));
    let stored = format!(
        r#"{{"regdevid":"{regdevid}","status":"trusted","received_at":"t","changed":["firmware_version"]}}"#
    );
    let (url, seen) = scripted(vec![
        challenge("nonce-1"),
        (502, r#"{"message":"Internal server error"}"#.into()),
        challenge("nonce-2"),
        (201, stored),
    ]);
    let dir = std::env::temp_dir().join(format!("report-retry-{}", std::process::id()));
    let se = SoftSecureElement::create(&dir).unwrap();
    se.store_registration(&StoredRegistration {
        regdevid: regdevid.parse().unwrap(),
        credential: "credential".into(),
        acknowledged: true,
    })
    .unwrap();
    let params = ReportParams {
        firmware_version: "2.0".into(),
        software_version: "1.0".into(),
        ..ReportParams::default()
    };
    let answer = RegistryClient::new(url)
        .unwrap()
        .report(&se, params)
        .await
        .unwrap();
    assert_eq!(answer.changed, ["firmware_version"]);
    let seen = seen.lock().unwrap().clone();
    let reports: Vec<Value> = seen
        .iter()
        .filter(|(path, _)| path.ends_with("/reports"))
        .map(|(_, body)| claims_of(body))
        .collect();
    assert_eq!(reports.len(), 2, "sent again after the 502");
    assert_eq!(
        (&reports[0]["nonce"], &reports[1]["nonce"]),
        (&Value::from("nonce-1"), &Value::from("nonce-2")),
        "each attempt over a fresh nonce"
    );
    let key = reports[0]["idempotency_key"].as_str().unwrap();
    assert!((8..=64).contains(&key.len()), "{key}");
    assert_eq!(reports[1]["idempotency_key"], key, "the same key");
    std::fs::remove_dir_all(dir).ok();
}
