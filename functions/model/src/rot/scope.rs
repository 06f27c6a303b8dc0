//! The identifiers an accepted root may certify (its scope), set by the administrator who
//! accepts it: a manufacturer's CA vouches for its own IMEI TACs, MAC OUIs or serial numbers,
//! not for another maker's. A certificate outside its root's scope proves nothing: its
//! registration is refused, and it can mark no existing device a possible clone.
//!
//! One entry per range, `<scheme>:<range>`:
//! - `imei:<1-14 digits>`: IMEIs starting with these digits (8 are a TAC);
//! - `mac:<1-12 hex>` and `eui64:<1-16 hex>`: addresses starting with these (6 are an OUI);
//! - `serial:<manufacturer id>`: serial numbers of that manufacturer (`<id>/<serial>`);
//! - `ipv6:<address>/<length>`: addresses in that prefix.

use std::net::Ipv6Addr;

use crate::identifier::{Identifier, Scheme};

/// Ranges one root may hold.
pub const MAX_SCOPES: usize = 64;
const MAX_ENTRY: usize = 80;

/// Checks an administrator's scope before a root is accepted: 1 to `MAX_SCOPES` entries, each
/// well formed; why not, otherwise.
pub fn validate(scopes: &[String]) -> Result<(), String> {
    if scopes.is_empty() || scopes.len() > MAX_SCOPES {
        return Err(format!(
            "identifier_scopes must hold 1 to {MAX_SCOPES} ranges (imei:<TAC>, mac:<OUI>, \
             eui64:<prefix>, serial:<manufacturer>, ipv6:<prefix>/<length>)"
        ));
    }
    for entry in scopes {
        if entry.len() > MAX_ENTRY || parse(entry).is_none() {
            let shown: String = entry.chars().take(MAX_ENTRY).collect();
            return Err(format!("identifier_scopes: {shown:?} is not a range"));
        }
    }
    Ok(())
}

/// Whether `identifier` lies in one of `scopes`.
pub fn allows(scopes: &[String], identifier: &Identifier) -> bool {
    scopes
        .iter()
        .filter_map(|entry| parse(entry))
        .any(|range| range.contains(identifier))
}

enum Range<'a> {
    Prefix(Scheme, &'a str),
    Manufacturer(&'a str),
    Ipv6(Ipv6Addr, u8),
}

impl Range<'_> {
    fn contains(&self, identifier: &Identifier) -> bool {
        let value = identifier.value();
        match self {
            Self::Prefix(scheme, prefix) => {
                identifier.scheme() == *scheme && value.starts_with(prefix)
            }
            Self::Manufacturer(id) => {
                identifier.scheme() == Scheme::Serial
                    && value.split_once('/').is_some_and(|(m, _)| m == *id)
            }
            Self::Ipv6(network, length) => {
                identifier.scheme() == Scheme::Ipv6
                    && value
                        .parse::<Ipv6Addr>()
                        .is_ok_and(|ip| masked(ip, *length) == masked(*network, *length))
            }
        }
    }
}

fn parse(entry: &str) -> Option<Range<'_>> {
    let (scheme, range) = entry.split_once(':')?;
    let hex = |max: usize| {
        (1..=max).contains(&range.len())
            && range
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match scheme {
        "imei" if (1..=14).contains(&range.len()) && range.bytes().all(|b| b.is_ascii_digit()) => {
            Some(Range::Prefix(Scheme::Imei, range))
        }
        "mac" if hex(12) => Some(Range::Prefix(Scheme::Mac, range)),
        "eui64" if hex(16) => Some(Range::Prefix(Scheme::Eui64, range)),
        "serial"
            if !range.is_empty()
                && range.len() <= 64
                && !range.contains('/')
                && range.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Some(Range::Manufacturer(range))
        }
        "ipv6" => {
            let (address, length) = range.rsplit_once('/')?;
            let length: u8 = length.parse().ok().filter(|l| *l <= 128)?;
            Some(Range::Ipv6(address.parse().ok()?, length))
        }
        _ => None,
    }
}

fn masked(ip: Ipv6Addr, length: u8) -> u128 {
    let bits = u128::from(ip);
    match length {
        0 => 0,
        l => bits & (u128::MAX << (128 - u32::from(l))),
    }
}

/// Scopes that admit every identifier the registry takes: for tests and development stacks.
#[cfg(any(test, feature = "testing"))]
pub fn every_identifier() -> Vec<String> {
    let hex = "0123456789abcdef";
    let mut scopes: Vec<String> = (0..10).map(|d| format!("imei:{d}")).collect();
    scopes.extend(hex.chars().map(|h| format!("mac:{h}")));
    scopes.extend(hex.chars().map(|h| format!("eui64:{h}")));
    scopes.push("ipv6:::/0".into());
    scopes.push("serial:acme".into());
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(scheme: Scheme, value: &str) -> Identifier {
        Identifier::parse(scheme, value).expect("valid")
    }

    // Y.3059 7 ii
    #[test]
    fn a_root_certifies_only_its_ranges() {
        let scopes = vec![
            "imei:35693803".to_owned(),
            "mac:001a2b".to_owned(),
            "serial:acme".to_owned(),
            "ipv6:2001:db8:1::/48".to_owned(),
        ];
        validate(&scopes).expect("valid scopes");
        assert!(allows(&scopes, &id(Scheme::Imei, "356938035643809")));
        assert!(!allows(&scopes, &id(Scheme::Imei, "490154203237518")));
        assert!(allows(&scopes, &id(Scheme::Mac, "00:1A:2B:3C:4D:5E")));
        assert!(!allows(&scopes, &id(Scheme::Mac, "00:1a:2c:3c:4d:5e")));
        assert!(allows(&scopes, &id(Scheme::Serial, "acme/SN-1")));
        assert!(!allows(&scopes, &id(Scheme::Serial, "acmex/SN-1")));
        assert!(allows(&scopes, &id(Scheme::Ipv6, "2001:db8:1:2::1")));
        assert!(!allows(&scopes, &id(Scheme::Ipv6, "2001:db8:2::1")));
    }

    #[test]
    fn malformed_scopes_are_refused() {
        for bad in [
            vec![],
            vec!["imei:".to_owned()],
            vec!["imei:12a".to_owned()],
            vec!["mac:XYZ".to_owned()],
            vec!["serial:a/b".to_owned()],
            vec!["ipv6:2001:db8::/129".to_owned()],
            vec!["phone:1".to_owned()],
            vec!["imei:1".to_owned(); MAX_SCOPES + 1],
        ] {
            assert!(validate(&bad).is_err(), "{bad:?}");
        }
    }
}
