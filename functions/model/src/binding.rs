//! A signed request names what it acts on: the HTTP method (`htm`) and the route's path
//! (`htu`), as DPoP proofs do (RFC 9449, 4.2), so a JWS made for one request cannot be replayed
//! on another route or target (removing root A is not removing root B; a vulnerability's
//! `apply` is not its `fixed`). `htu` is the path only, without scheme, host, API Gateway stage
//! or query: the same request then verifies behind API Gateway, LocalStack and CloudFront
//! alike. Both claims are covered by the signature like every other claim; the HTTP layer
//! compares them with the request before the flow verifies the signature over the same bytes.

use percent_encoding::percent_decode_str;
use serde::Deserialize;

use crate::error::RegistryError;
use crate::jose;

pub use crate::jose::{BINDING_CLAIMS as CLAIMS, METHOD_CLAIM, PATH_CLAIM};
/// Longer than any route's path with its largest identifiers.
pub const MAX_PATH: usize = 1024;

#[derive(Deserialize)]
struct Binding {
    htm: Option<serde_json::Value>,
    htu: Option<serde_json::Value>,
}

/// Checks that the signed request `compact` was made for `method` on `path` (the path the
/// router saw, percent-encoded or not). Says nothing of the signature: the flow verifies it.
/// Text that is no JWS at all is left to the flow, which refuses it as malformed.
pub fn check(compact: &str, method: &str, path: &str) -> Result<(), RegistryError> {
    let Ok(jws) = jose::parse(compact) else {
        return Ok(());
    };
    let binding: Binding = serde_json::from_slice(jws.payload_bytes())
        .map_err(|_| RegistryError::Malformed("the signed payload is not a JSON object".into()))?;
    let (Some(htm), Some(htu)) = (binding.htm, binding.htu) else {
        return Err(RegistryError::Malformed(format!(
            "a signed request names its method in `{METHOD_CLAIM}` and its path in `{PATH_CLAIM}`"
        )));
    };
    let (Some(htm), Some(htu)) = (htm.as_str(), htu.as_str()) else {
        return Err(RegistryError::Malformed(format!(
            "`{METHOD_CLAIM}` and `{PATH_CLAIM}` are strings"
        )));
    };
    if htu.len() > MAX_PATH || !htu.starts_with('/') {
        return Err(RegistryError::Malformed(format!(
            "`{PATH_CLAIM}` is the request's path, from `/`, at most {MAX_PATH} bytes"
        )));
    }
    if !htm.eq_ignore_ascii_case(method) || segments(htu) != segments(path) {
        return Err(RegistryError::WrongTarget(format!(
            "signed for {htm} {htu}, sent to {method} {path}"
        )));
    }
    Ok(())
}

/// The path's segments with their percent-escapes decoded: `%3A` and `:` name the same
/// RegDevID, while an escaped `/` (`%2F`, in a serial number) stays inside its segment.
fn segments(path: &str) -> Vec<std::borrow::Cow<'_, str>> {
    path.split('/')
        .map(|segment| percent_decode_str(segment).decode_utf8_lossy())
        .collect()
}

pub use crate::jose::without_binding;

/// `claims` with the binding of `method` on `path` added: what every client signs.
pub fn bind(mut claims: serde_json::Value, method: &str, path: &str) -> serde_json::Value {
    if let Some(object) = claims.as_object_mut() {
        object.insert(METHOD_CLAIM.into(), method.to_ascii_uppercase().into());
        object.insert(PATH_CLAIM.into(), path.into());
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{JwsHeader, sign_with};

    fn signed(claims: serde_json::Value) -> String {
        let key = p256::ecdsa::SigningKey::from_bytes(&[7u8; 32].into()).expect("key");
        sign_with(&key, &JwsHeader::es256(), claims.to_string().as_bytes())
    }

    #[test]
    fn a_request_verifies_only_on_the_route_and_target_it_names() {
        let jws = signed(bind(
            serde_json::json!({"nonce": "n"}),
            "delete",
            "/v1/admin/roots/a",
        ));
        check(&jws, "DELETE", "/v1/admin/roots/a").expect("bound here");
        for (method, path) in [
            ("DELETE", "/v1/admin/roots/b"),
            ("PUT", "/v1/admin/roots/a"),
            ("DELETE", "/v1/admin/roots/a/"),
        ] {
            let error = check(&jws, method, path).expect_err(path);
            assert_eq!(error.code(), "wrong-target", "{method} {path}");
        }
    }

    #[test]
    fn escaped_and_plain_paths_name_the_same_target() {
        let jws = signed(bind(
            serde_json::json!({}),
            "POST",
            "/v1/devices/IN1.P07:imei:356938035643809/holds",
        ));
        check(
            &jws,
            "POST",
            "/v1/devices/IN1.P07%3Aimei%3A356938035643809/holds",
        )
        .expect("the same path");
        // An escaped slash is part of a serial number, not a separator.
        let serial = signed(bind(
            serde_json::json!({}),
            "POST",
            "/v1/devices/P07%3Aserial%3Aacme%2Fx/holds",
        ));
        check(&serial, "POST", "/v1/devices/P07:serial:acme%2fx/holds").expect("same segments");
        let error = check(&serial, "POST", "/v1/devices/P07:serial:acme/x/holds")
            .expect_err("other segments");
        assert_eq!(error.code(), "wrong-target");
    }

    #[test]
    fn an_unbound_request_is_malformed() {
        let error = check(&signed(serde_json::json!({"nonce": "n"})), "POST", "/v1/x")
            .expect_err("unbound");
        assert_eq!(error.code(), "malformed-request");
        let long = format!("/{}", "a".repeat(MAX_PATH));
        let error = check(
            &signed(bind(serde_json::json!({}), "POST", &long)),
            "POST",
            &long,
        )
        .expect_err("too long");
        assert_eq!(error.code(), "malformed-request");
    }

    #[test]
    fn the_flows_never_see_the_binding() {
        let payload = bind(serde_json::json!({"nonce": "n"}), "POST", "/v1/x").to_string();
        let claims = without_binding(payload.as_bytes()).expect("JSON");
        assert_eq!(claims, serde_json::json!({"nonce": "n"}));
    }
}
