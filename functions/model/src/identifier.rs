//! Device identifiers and registry identities (ARCHITECTURE.md "Identities").
//!
//! Existing identifiers are accepted as they come (Y.3059 6.1 h) and normalized once, here, so
//! that every other part of the system compares canonical values only.

mod regdevid;
mod san;

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use regdevid::{RegDevId, RegId, RegistryPath};

/// Raw inputs longer than this are rejected before any work is done on them.
const MAX_RAW_LEN: usize = 128;
const SERIAL_MANUFACTURER_MAX: usize = 32;
const SERIAL_VALUE_MAX: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error(
        "registry id must be three characters A-Z or 0-9, or a geographical registry's ICANN two-letter country code"
    )]
    RegId,
    #[error(
        "registry path must be 1 to 3 registry ids separated by '.', a country code only first"
    )]
    RegistryPath,
    #[error("unknown identifier scheme (expected imei, mac, eui64, ipv6 or serial)")]
    UnknownScheme,
    #[error("identifier is longer than {MAX_RAW_LEN} characters")]
    TooLong,
    #[error("IMEI must be 15 digits")]
    ImeiFormat,
    #[error("IMEI check digit (Luhn) does not match")]
    ImeiCheckDigit,
    #[error("MAC address must be 6 bytes of hex, optionally separated by ':', '-' or '.'")]
    Mac,
    #[error("EUI-64 must be 8 bytes of hex, optionally separated by ':', '-' or '.'")]
    Eui64,
    #[error("not a valid IPv6 address")]
    Ipv6,
    #[error(
        "serial must be <manufacturer-id>/<serial> with manufacturer-id [a-z0-9]{{1,32}} and serial [A-Za-z0-9._-]{{1,64}}"
    )]
    Serial,
    #[error("malformed device identifier URN")]
    Urn,
    #[error("RegDevID must be <registry path>:<scheme>:<identifier>")]
    RegDevIdFormat,
    #[error("identifier is not in canonical form")]
    NotCanonical,
}

/// The identifier schemes a registry accepts (Y.3059 6.1 h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Imei,
    Mac,
    Eui64,
    Ipv6,
    Serial,
}

impl Scheme {
    pub const ALL: [Scheme; 5] = [
        Scheme::Imei,
        Scheme::Mac,
        Scheme::Eui64,
        Scheme::Ipv6,
        Scheme::Serial,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Imei => "imei",
            Scheme::Mac => "mac",
            Scheme::Eui64 => "eui64",
            Scheme::Ipv6 => "ipv6",
            Scheme::Serial => "serial",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scheme {
    type Err = IdentifierError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scheme::ALL
            .into_iter()
            .find(|scheme| scheme.as_str() == s)
            .ok_or(IdentifierError::UnknownScheme)
    }
}

/// A device's inherent identifier in canonical form. Only `parse` builds one, so holding an
/// `Identifier` means holding a normalized, valid value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawIdentifier")]
pub struct Identifier {
    scheme: Scheme,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentifier {
    scheme: Scheme,
    value: String,
}

impl TryFrom<RawIdentifier> for Identifier {
    type Error = IdentifierError;

    fn try_from(raw: RawIdentifier) -> Result<Self, Self::Error> {
        Identifier::parse(raw.scheme, &raw.value)
    }
}

impl Identifier {
    /// Validates and normalizes a raw identifier as typed by a person or sent by a device.
    pub fn parse(scheme: Scheme, raw: &str) -> Result<Identifier, IdentifierError> {
        if raw.len() > MAX_RAW_LEN {
            return Err(IdentifierError::TooLong);
        }
        let value = match scheme {
            Scheme::Imei => normalize_imei(raw)?,
            Scheme::Mac => normalize_hex_address(raw, 6).ok_or(IdentifierError::Mac)?,
            Scheme::Eui64 => normalize_hex_address(raw, 8).ok_or(IdentifierError::Eui64)?,
            Scheme::Ipv6 => normalize_ipv6(raw)?,
            Scheme::Serial => normalize_serial(raw)?,
        };
        Ok(Identifier { scheme, value })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn value(&self) -> &str {
        &self.value
    }
}

/// An inherent identifier as a person types it into a device check (Y.3059 6.1 h): with its
/// scheme (`imei:356938035643809`, `mac:00-1a-2b-3c-4d-5e`, `serial:acme/X1`, any case of the
/// scheme), as a device-identifier URN (`urn:gsma:imei:...`, see `from_san_uri`), or bare when
/// its shape names the scheme: 6 or 8 hex octets a MAC or EUI-64, other digits (with ' ' or
/// '-' between) an IMEI, `<manufacturer>/<serial>` a serial, anything else that parses an IPv6
/// address. A bare value that fits none is `UnknownScheme`; one that names a scheme but is
/// malformed is that scheme's error, so the answer says what to fix.
pub fn parse_inherent(text: &str) -> Result<Identifier, IdentifierError> {
    if text.len() > MAX_RAW_LEN {
        return Err(IdentifierError::TooLong);
    }
    if let Some(urn) = Identifier::from_san_uri(text) {
        return urn;
    }
    if let Some((scheme, value)) = text.split_once(':')
        && let Ok(scheme) = scheme.to_ascii_lowercase().parse::<Scheme>()
    {
        return Identifier::parse(scheme, value);
    }
    Identifier::parse(bare_scheme(text)?, text)
}

/// The scheme a bare identifier's shape names. Eight two-digit hex groups are an EUI-64, not
/// an IPv6 address that happens to be written that way: that is how EUI-64s are printed.
fn bare_scheme(text: &str) -> Result<Scheme, IdentifierError> {
    if normalize_hex_address(text, 6).is_some() {
        return Ok(Scheme::Mac);
    }
    if normalize_hex_address(text, 8).is_some() {
        return Ok(Scheme::Eui64);
    }
    // Digits that are no MAC or EUI-64 are an IMEI, so a digit too many or too few is
    // reported as such.
    if text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-')
    {
        return Ok(Scheme::Imei);
    }
    if text.contains('/') {
        return Ok(Scheme::Serial);
    }
    if Ipv6Addr::from_str(text).is_ok() {
        return Ok(Scheme::Ipv6);
    }
    Err(IdentifierError::UnknownScheme)
}

/// `<scheme>:<value>`, e.g. `imei:356938035643809`.
impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.scheme, self.value)
    }
}

/// The Luhn check digit for `digits` (ASCII digits only), as used by the IMEI's last digit.
/// Exposed so simulators and tests can make valid IMEIs.
pub fn luhn_check_digit(digits: &str) -> Option<u8> {
    let mut sum = 0u32;
    // Doubling starts from the rightmost payload digit, since the check digit goes after it.
    for (i, c) in digits.chars().rev().enumerate() {
        let d = c.to_digit(10)?;
        sum += if i % 2 == 0 {
            let doubled = d * 2;
            doubled / 10 + doubled % 10
        } else {
            d
        };
    }
    u8::try_from((10 - sum % 10) % 10).ok()
}

fn normalize_imei(raw: &str) -> Result<String, IdentifierError> {
    let digits: String = raw.chars().filter(|c| *c != ' ' && *c != '-').collect();
    if digits.len() != 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdentifierError::ImeiFormat);
    }
    let (payload, check) = digits.split_at(14);
    let expected = luhn_check_digit(payload).ok_or(IdentifierError::ImeiFormat)?;
    if check.as_bytes() != [b'0' + expected] {
        return Err(IdentifierError::ImeiCheckDigit);
    }
    Ok(digits)
}

/// Accepts `bytes` octets of hex either bare or grouped consistently: pairs separated by ':' or
/// '-', or groups of four separated by '.'. Mixed or ragged groupings are typing errors, so
/// they are rejected rather than guessed at.
fn normalize_hex_address(raw: &str, bytes: usize) -> Option<String> {
    let separator = raw.chars().find(|c| matches!(c, ':' | '-' | '.'));
    let hex: String = match separator {
        None => raw.to_owned(),
        Some(sep) => {
            let group_len = if sep == '.' { 4 } else { 2 };
            let groups: Vec<&str> = raw.split(sep).collect();
            if groups.len() * group_len != bytes * 2 || groups.iter().any(|g| g.len() != group_len)
            {
                return None;
            }
            groups.concat()
        }
    };
    if hex.len() != bytes * 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(hex.to_ascii_lowercase())
}

/// std's `Ipv6Addr` Display follows RFC 5952 (lowercase, longest zero run compressed, first on
/// ties, no single-group compression, `::ffff:a.b.c.d` for IPv4-mapped); tests pin that down.
fn normalize_ipv6(raw: &str) -> Result<String, IdentifierError> {
    Ipv6Addr::from_str(raw)
        .map(|addr| addr.to_string())
        .map_err(|_| IdentifierError::Ipv6)
}

fn normalize_serial(raw: &str) -> Result<String, IdentifierError> {
    let (manufacturer, serial) = raw.split_once('/').ok_or(IdentifierError::Serial)?;
    let manufacturer_ok = (1..=SERIAL_MANUFACTURER_MAX).contains(&manufacturer.len())
        && manufacturer.bytes().all(|b| b.is_ascii_alphanumeric());
    let serial_ok = (1..=SERIAL_VALUE_MAX).contains(&serial.len())
        && serial
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !manufacturer_ok || !serial_ok {
        return Err(IdentifierError::Serial);
    }
    Ok(format!("{}/{serial}", manufacturer.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests;
