//! The binding of an identifier to a certificate SAN URI (API.md "One signature format"):
//! `urn:gsma:imei:` (RFC 7254), `urn:dev:mac:` (RFC 9039, 12 hex = EUI-48, 16 hex = EUI-64),
//! `urn:dev:ops:<org>-<serial>` (RFC 9039) and `urn:ietf:params:ipv6:`.

use super::{Identifier, IdentifierError, Scheme};

const IMEI: &str = "urn:gsma:imei:";
const MAC: &str = "urn:dev:mac:";
const OPS: &str = "urn:dev:ops:";
const IPV6: &str = "urn:ietf:params:ipv6:";

impl Identifier {
    /// The SAN URI a device certificate carries for this identifier.
    pub fn to_san_uri(&self) -> String {
        let value = self.value();
        match self.scheme() {
            // RFC 7254 writes TAC-SNR-check; the value is always 15 ASCII digits here.
            Scheme::Imei => match (value.get(..8), value.get(8..14), value.get(14..)) {
                (Some(tac), Some(snr), Some(check)) => format!("{IMEI}{tac}-{snr}-{check}"),
                _ => format!("{IMEI}{value}"),
            },
            Scheme::Mac | Scheme::Eui64 => format!("{MAC}{value}"),
            Scheme::Ipv6 => format!("{IPV6}{value}"),
            // The manufacturer id has no '-', so the first '-' is where the serial starts.
            Scheme::Serial => format!("{OPS}{}", value.replacen('/', "-", 1)),
        }
    }

    /// The identifier a SAN URI names. `None` when the URI is not a device-identifier URN (a
    /// certificate may carry other URIs); `Some(Err)` when it is one but malformed.
    pub fn from_san_uri(uri: &str) -> Option<Result<Identifier, IdentifierError>> {
        // "urn:" and the namespace are case-insensitive (RFC 8141); the rest is not.
        let strip = |prefix: &str| -> Option<&str> {
            let head = uri.get(..prefix.len())?;
            head.eq_ignore_ascii_case(prefix)
                .then(|| &uri[prefix.len()..])
        };
        if let Some(rest) = strip(IMEI) {
            return Some(parse_imei_urn(rest));
        }
        if let Some(rest) = strip(MAC) {
            return Some(match rest.len() {
                12 => Identifier::parse(Scheme::Mac, rest),
                16 => Identifier::parse(Scheme::Eui64, rest),
                _ => Err(IdentifierError::Urn),
            });
        }
        if let Some(rest) = strip(OPS) {
            return Some(match rest.split_once('-') {
                Some((org, serial)) => {
                    Identifier::parse(Scheme::Serial, &format!("{org}/{serial}"))
                }
                None => Err(IdentifierError::Urn),
            });
        }
        strip(IPV6).map(|rest| Identifier::parse(Scheme::Ipv6, rest))
    }
}

/// RFC 7254 spells the IMEI `TAC-SNR-check` (8-6-1); the plain 15 digits are accepted too.
/// Parameters such as `;svn=` are not part of the identity and are rejected.
fn parse_imei_urn(rest: &str) -> Result<Identifier, IdentifierError> {
    let groups: Vec<&str> = rest.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    if lengths != [8, 6, 1] && lengths != [15] {
        return Err(IdentifierError::Urn);
    }
    Identifier::parse(Scheme::Imei, &groups.concat())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn id(scheme: Scheme, raw: &str) -> Identifier {
        Identifier::parse(scheme, raw).unwrap()
    }

    // Y.3059 9.2 i a
    // Y.3059 6.1 h
    #[test]
    fn san_uris_have_the_documented_forms() {
        let cases = [
            (
                id(Scheme::Imei, "356938035643809"),
                "urn:gsma:imei:35693803-564380-9",
            ),
            (
                id(Scheme::Mac, "0A:1B:2C:3D:4E:5F"),
                "urn:dev:mac:0a1b2c3d4e5f",
            ),
            (
                id(Scheme::Eui64, "0a1b2c3d4e5f6071"),
                "urn:dev:mac:0a1b2c3d4e5f6071",
            ),
            (
                id(Scheme::Serial, "ACME/SN-0001"),
                "urn:dev:ops:acme-SN-0001",
            ),
            (
                id(Scheme::Ipv6, "2001:DB8::1"),
                "urn:ietf:params:ipv6:2001:db8::1",
            ),
        ];
        for (identifier, uri) in cases {
            assert_eq!(identifier.to_san_uri(), uri);
            assert_eq!(Identifier::from_san_uri(uri), Some(Ok(identifier)));
        }
    }

    // Y.3059 9.2 i a
    #[test]
    fn imei_urn_accepts_plain_digits_and_any_case_prefix() {
        let expected = id(Scheme::Imei, "356938035643809");
        for uri in [
            "urn:gsma:imei:356938035643809",
            "URN:GSMA:IMEI:35693803-564380-9",
        ] {
            assert_eq!(Identifier::from_san_uri(uri), Some(Ok(expected.clone())));
        }
    }

    // Y.3059 9.2 i a
    #[test]
    fn malformed_device_urns_are_errors_not_ignored() {
        for uri in [
            "urn:gsma:imei:3569380-3564380-9",
            "urn:gsma:imei:35693803-564380-9;svn=42",
            "urn:gsma:imei:356938035643808",
            "urn:dev:mac:0a1b2c3d4e",
            "urn:dev:mac:0a:1b:2c:3d:4e:5f",
            "urn:dev:ops:acme",
            "urn:dev:ops:ac-me/x",
            "urn:ietf:params:ipv6:not-an-address",
        ] {
            assert!(
                matches!(Identifier::from_san_uri(uri), Some(Err(_))),
                "{uri}"
            );
        }
    }

    // Y.3059 9.2 i a
    #[test]
    fn other_uris_are_not_device_identifiers() {
        for uri in [
            "https://example.com/device",
            "urn:dev:org:32473-foo",
            "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
            "spiffe://example.org/device",
            "urn:gsma",
            "",
        ] {
            assert_eq!(Identifier::from_san_uri(uri), None, "{uri}");
        }
    }
}
