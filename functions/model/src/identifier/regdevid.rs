//! Registry identities (Y.3059 9.1 i) and the RegDevID built from them (Y.3059 9.2 i b).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Identifier, IdentifierError, Scheme};

/// Longest accepted RegDevID text: a 3-level path plus the longest canonical identifier, with
/// room to spare. Anything longer is rejected before it is split.
const MAX_REGDEVID_LEN: usize = 160;

/// A registry's identifier: `[A-Z0-9]{3}`, or for a geographical registry an ICANN-issued
/// two-letter country code (Y.3059 9.1 i note: `COUNTRY_CODES`), which `RegistryPath` admits
/// only at the apex. A two-letter id is stored with a trailing zero byte, which sorts it before
/// every three-character id that shares its letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegId([u8; 3]);

/// The country-code top-level domains a geographical registry may take as its RegID; the file
/// says where they come from, and infra/deploy.py reads the same file.
pub const COUNTRY_CODES: &str = include_str!("country_codes.txt");

fn is_country_code(code: &str) -> bool {
    COUNTRY_CODES
        .lines()
        .filter(|line| !line.starts_with('#'))
        .flat_map(str::split_whitespace)
        .any(|listed| listed == code)
}

impl RegId {
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored (checked in from_str), so this cannot fail.
        let len = if self.is_country_code() { 2 } else { 3 };
        std::str::from_utf8(&self.0[..len]).unwrap_or_default()
    }

    /// An ICANN two-letter country code: the RegID of a geographical registry only.
    pub fn is_country_code(&self) -> bool {
        self.0[2] == 0
    }
}

impl FromStr for RegId {
    type Err = IdentifierError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 2 && is_country_code(s) {
            let b = s.as_bytes();
            return Ok(RegId([b[0], b[1], 0]));
        }
        let bytes: [u8; 3] = s
            .as_bytes()
            .try_into()
            .map_err(|_| IdentifierError::RegId)?;
        if bytes
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            Ok(RegId(bytes))
        } else {
            Err(IdentifierError::RegId)
        }
    }
}

impl fmt::Display for RegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registry's chain of RegIDs from the apex (geographical) down to itself, e.g. `IN1.HLT.P07`.
/// At most three levels: geographical > sectoral > primary (Y.3059 6.1 a).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistryPath(Vec<RegId>);

impl RegistryPath {
    pub const MAX_DEPTH: usize = 3;

    pub fn new(ids: Vec<RegId>) -> Result<Self, IdentifierError> {
        if ids.is_empty() || ids.len() > Self::MAX_DEPTH {
            return Err(IdentifierError::RegistryPath);
        }
        // A country code names a geographical registry, the apex of a path (Y.3059 6.1 a).
        if ids.iter().skip(1).any(RegId::is_country_code) {
            return Err(IdentifierError::RegistryPath);
        }
        Ok(RegistryPath(ids))
    }

    /// The RegID of the registry this path names (the last element).
    pub fn own_id(&self) -> RegId {
        // new() guarantees at least one element; the fallback is unreachable.
        self.0.last().copied().unwrap_or(RegId(*b"000"))
    }

    pub fn ids(&self) -> &[RegId] {
        &self.0
    }

    /// The path of the parent registry, None for an apex registry.
    pub fn parent(&self) -> Option<RegistryPath> {
        (self.0.len() > 1).then(|| RegistryPath(self.0[..self.0.len() - 1].to_vec()))
    }
}

impl FromStr for RegistryPath {
    type Err = IdentifierError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > Self::MAX_DEPTH * 4 {
            return Err(IdentifierError::RegistryPath);
        }
        let ids = s
            .split('.')
            .map(RegId::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| IdentifierError::RegistryPath)?;
        RegistryPath::new(ids)
    }
}

impl fmt::Display for RegistryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(id.as_str())?;
        }
        Ok(())
    }
}

/// The registry-issued device identity `<path>:<scheme>:<value>` (Y.3059 9.2 i b): the issuing
/// registry's path as prefix plus the device's inherent identifier, so it is unique across the
/// hierarchy as long as RegIDs are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegDevId {
    pub path: RegistryPath,
    pub identifier: Identifier,
}

impl RegDevId {
    pub fn new(path: RegistryPath, identifier: Identifier) -> Self {
        RegDevId { path, identifier }
    }
}

impl fmt::Display for RegDevId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path, self.identifier)
    }
}

/// Parsing accepts only the canonical text. A RegDevID is issued by a registry, never typed
/// fresh, so a non-canonical one is a corrupted or forged value, and normalizing it silently
/// would let two spellings name one device in caches, URLs and signatures.
impl FromStr for RegDevId {
    type Err = IdentifierError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_REGDEVID_LEN {
            return Err(IdentifierError::RegDevIdFormat);
        }
        // IPv6 values contain ':' themselves, so only the first two separators count.
        let mut parts = s.splitn(3, ':');
        let (Some(path), Some(scheme), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(IdentifierError::RegDevIdFormat);
        };
        let path = RegistryPath::from_str(path)?;
        let identifier = Identifier::parse(Scheme::from_str(scheme)?, value)?;
        if identifier.value() != value {
            return Err(IdentifierError::NotCanonical);
        }
        Ok(RegDevId { path, identifier })
    }
}

macro_rules! serde_as_string {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_string!(RegId);
serde_as_string!(RegistryPath);
serde_as_string!(RegDevId);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Y.3059 9.1 i
    #[test]
    fn reg_id_is_three_upper_alphanumerics() {
        for ok in ["IN1", "HLT", "P07", "000", "ZZZ"] {
            let id = ok.parse::<RegId>().unwrap();
            assert_eq!(id.as_str(), ok);
            assert!(!id.is_country_code());
        }
        for bad in [
            "", "I", "IN12", "in1", "I-1", "ÄB", "I 1", "P0é", "1N", "I\0",
        ] {
            assert_eq!(bad.parse::<RegId>(), Err(IdentifierError::RegId), "{bad}");
        }
    }

    // Y.3059 9.1 i
    #[test]
    fn reg_id_may_be_an_icann_country_code() {
        for code in ["IN", "DE", "UK", "EU", "AC", "ZW"] {
            let id = code.parse::<RegId>().unwrap();
            assert_eq!((id.as_str(), id.is_country_code()), (code, true));
            assert_eq!(id.to_string(), code);
        }
        // Not delegated as country codes, or not in the form ICANN issues them.
        for bad in ["ZZ", "XK", "AA", "BQ", "UM", "in", "I1", "00"] {
            assert_eq!(bad.parse::<RegId>(), Err(IdentifierError::RegId), "{bad}");
        }
        assert_eq!(
            COUNTRY_CODES
                .lines()
                .filter(|l| !l.starts_with('#'))
                .flat_map(str::split_whitespace)
                .filter(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
                .count(),
            0,
            "the list holds two upper-case letters per code"
        );
    }

    // Y.3059 9.1 i
    // Y.3059 6.1 a
    #[test]
    fn a_country_code_names_only_the_apex_of_a_path() {
        let path: RegistryPath = "IN.HLT.P07".parse().unwrap();
        assert_eq!(path.to_string(), "IN.HLT.P07");
        assert_eq!(path.parent().unwrap().to_string(), "IN.HLT");
        assert_eq!(path.ids()[0].as_str(), "IN");
        assert_eq!(
            "DE".parse::<RegistryPath>().unwrap().own_id().as_str(),
            "DE"
        );
        for bad in ["IN1.DE", "IN1.HLT.DE", "IN.DE", "IN.XX.P07"] {
            assert_eq!(
                bad.parse::<RegistryPath>(),
                Err(IdentifierError::RegistryPath),
                "{bad}"
            );
        }
        let id: RegDevId = "IN.HLT.P07:imei:356938035643809".parse().unwrap();
        assert_eq!(id.to_string(), "IN.HLT.P07:imei:356938035643809");
        assert_eq!(
            serde_json::from_value::<RegDevId>(serde_json::json!(id.to_string())).unwrap(),
            id
        );
        assert!(
            "IN1.IN.P07:imei:356938035643809"
                .parse::<RegDevId>()
                .is_err()
        );
    }

    // Y.3059 9.1 i
    // Y.3059 6.1 a
    #[test]
    fn registry_path_has_one_to_three_levels() {
        let path: RegistryPath = "IN1.HLT.P07".parse().unwrap();
        assert_eq!(path.to_string(), "IN1.HLT.P07");
        assert_eq!(path.own_id().as_str(), "P07");
        assert_eq!(path.parent().unwrap().to_string(), "IN1.HLT");
        assert_eq!("IN1".parse::<RegistryPath>().unwrap().parent(), None);
        for bad in [
            "",
            "IN1.",
            ".IN1",
            "IN1..HLT",
            "IN1.HLT.P07.X01",
            "IN1:HLT",
            "in1",
        ] {
            assert_eq!(
                bad.parse::<RegistryPath>(),
                Err(IdentifierError::RegistryPath),
                "{bad}"
            );
        }
    }

    // Y.3059 9.2 i b
    #[test]
    fn regdevid_is_path_scheme_value() {
        let id: RegDevId = "IN1.HLT.P07:imei:356938035643809".parse().unwrap();
        assert_eq!(id.path.own_id().as_str(), "P07");
        assert_eq!(id.identifier.scheme(), Scheme::Imei);
        assert_eq!(id.identifier.value(), "356938035643809");
        assert_eq!(id.to_string(), "IN1.HLT.P07:imei:356938035643809");
    }

    // Y.3059 9.2 i b
    #[test]
    fn regdevid_with_ipv6_splits_on_first_two_colons() {
        let id: RegDevId = "IN1.HLT.P07:ipv6:2001:db8::1".parse().unwrap();
        assert_eq!(id.identifier.scheme(), Scheme::Ipv6);
        assert_eq!(id.identifier.value(), "2001:db8::1");
        assert_eq!(id.to_string(), "IN1.HLT.P07:ipv6:2001:db8::1");
    }

    // Y.3059 9.2 i b
    #[test]
    fn regdevid_rejects_non_canonical_values() {
        for raw in [
            "IN1.HLT.P07:ipv6:2001:0DB8::1",
            "IN1.HLT.P07:mac:AA:BB:CC:DD:EE:FF",
            "IN1.HLT.P07:imei:35693803-564380-9",
            "IN1.HLT.P07:serial:ACME/X1",
        ] {
            assert_eq!(
                raw.parse::<RegDevId>(),
                Err(IdentifierError::NotCanonical),
                "{raw}"
            );
        }
    }

    // Y.3059 9.2 i b
    #[test]
    fn regdevid_rejects_malformed_text() {
        assert_eq!(
            "IN1.HLT.P07".parse::<RegDevId>(),
            Err(IdentifierError::RegDevIdFormat)
        );
        assert_eq!(
            "IN1.HLT.P07:imei".parse::<RegDevId>(),
            Err(IdentifierError::RegDevIdFormat)
        );
        assert_eq!(
            "IN1.HLT.P07:v:ABCDEFGHIJKLMNOPQRSTUVWXYZ".parse::<RegDevId>(),
            Err(IdentifierError::UnknownScheme)
        );
        assert_eq!(
            "in1:imei:356938035643809".parse::<RegDevId>(),
            Err(IdentifierError::RegistryPath)
        );
        assert_eq!(
            "IN1:imei:356938035643808".parse::<RegDevId>(),
            Err(IdentifierError::ImeiCheckDigit)
        );
        let long = format!("IN1:serial:acme/{}", "x".repeat(200));
        assert_eq!(
            long.parse::<RegDevId>(),
            Err(IdentifierError::RegDevIdFormat)
        );
    }

    // Y.3059 9.2 i b
    #[test]
    fn serde_uses_the_text_forms() {
        let id: RegDevId = "IN1.HLT.P07:mac:0a1b2c3d4e5f".parse().unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"IN1.HLT.P07:mac:0a1b2c3d4e5f\"");
        assert_eq!(serde_json::from_str::<RegDevId>(&json).unwrap(), id);
        assert_eq!(serde_json::to_string(&id.path).unwrap(), "\"IN1.HLT.P07\"");
        assert_eq!(serde_json::to_string(&id.path.own_id()).unwrap(), "\"P07\"");
        assert!(serde_json::from_str::<RegId>("\"p07\"").is_err());
        assert!(serde_json::from_str::<RegistryPath>("\"A.B\"").is_err());
        assert!(serde_json::from_str::<RegDevId>("\"IN1:mac:XYZ\"").is_err());
    }
}
