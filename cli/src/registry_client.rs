//! The registry client the device and bulk commands use, with the debug knob
//! `TRUSTREG_EXTRA_HEADERS`: headers added to every request, `name: value` pairs separated by
//! `;`. It exists for tests and debugging, e.g. to mark a run's requests with the LocalStack
//! fault switch's tag (`x-trustreg-fault-tag`, localstack/README.md) so a fault armed for them
//! spares everyone else's; the registry gives no meaning to headers it does not know.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use trustreg_device::{DeviceError, RegistryClient};

use crate::CliError;

pub const EXTRA_HEADERS: &str = "TRUSTREG_EXTRA_HEADERS";

/// What `RegistryClient::new` would make, plus the extra headers, if any.
pub fn registry_client(api: &str) -> Result<RegistryClient, CliError> {
    let Ok(extra) = std::env::var(EXTRA_HEADERS) else {
        return Ok(RegistryClient::new(api).map_err(DeviceError::from)?);
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .default_headers(parse(&extra)?)
        .build()
        .map_err(|e| DeviceError::from(trustreg_device::ClientError::from(e)))?;
    Ok(RegistryClient::with_http(api, http).map_err(DeviceError::from)?)
}

fn parse(extra: &str) -> Result<HeaderMap, CliError> {
    let bad = |pair: &str| {
        CliError::Usage(format!(
            "{EXTRA_HEADERS}: not a `name: value` pair: {pair:?}"
        ))
    };
    let mut headers = HeaderMap::new();
    for pair in extra.split(';').filter(|p| !p.trim().is_empty()) {
        let (name, value) = pair.split_once(':').ok_or_else(|| bad(pair))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad(pair))?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| bad(pair))?;
        headers.append(name, value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_headers_are_name_value_pairs() {
        let headers = parse("x-trustreg-fault-tag: abc; x-other:1").unwrap_or_default();
        assert_eq!(
            headers.get("x-trustreg-fault-tag").map(|v| v.as_bytes()),
            Some(&b"abc"[..])
        );
        assert_eq!(
            headers.get("x-other").map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        assert!(parse("no-colon").is_err());
        assert!(parse("bad name: x").is_err());
    }
}
