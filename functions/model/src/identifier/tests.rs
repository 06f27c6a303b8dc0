#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use proptest::prelude::*;

use super::*;

fn parse(scheme: Scheme, raw: &str) -> Result<String, IdentifierError> {
    Identifier::parse(scheme, raw).map(|id| id.value().to_owned())
}

fn imei_strategy() -> impl Strategy<Value = String> {
    "[0-9]{14}".prop_map(|payload| {
        let check = luhn_check_digit(&payload).unwrap();
        format!("{payload}{check}")
    })
}

// Y.3059 6.1 h
#[test]
fn scheme_names_round_trip() {
    for scheme in Scheme::ALL {
        assert_eq!(scheme.as_str().parse::<Scheme>(), Ok(scheme));
        let json = serde_json::to_string(&scheme).unwrap();
        assert_eq!(json, format!("\"{}\"", scheme.as_str()));
        assert_eq!(serde_json::from_str::<Scheme>(&json).unwrap(), scheme);
    }
    assert_eq!(
        "IMEI".parse::<Scheme>(),
        Err(IdentifierError::UnknownScheme)
    );
    assert_eq!("v".parse::<Scheme>(), Err(IdentifierError::UnknownScheme));
}

// Y.3059 6.1 h
#[test]
fn imei_is_luhn_checked_and_separators_are_stripped() {
    assert_eq!(
        parse(Scheme::Imei, "356938035643809").unwrap(),
        "356938035643809"
    );
    assert_eq!(
        parse(Scheme::Imei, "35-693803-564380-9").unwrap(),
        "356938035643809"
    );
    assert_eq!(
        parse(Scheme::Imei, "35 693803 564380 9").unwrap(),
        "356938035643809"
    );
    assert_eq!(
        parse(Scheme::Imei, "490154203237518").unwrap(),
        "490154203237518"
    );
    assert_eq!(
        parse(Scheme::Imei, "356938035643808"),
        Err(IdentifierError::ImeiCheckDigit)
    );
    for bad in [
        "35693803564380",
        "3569380356438090",
        "35693803564380a",
        "",
        "٣٥٦٩٣٨٠٣٥٦٤٣٨٠٩",
    ] {
        assert_eq!(
            parse(Scheme::Imei, bad),
            Err(IdentifierError::ImeiFormat),
            "{bad}"
        );
    }
}

// Y.3059 6.1 h
#[test]
fn mac_formats_are_equivalent() {
    for raw in [
        "0a1b2c3d4e5f",
        "0A1B2C3D4E5F",
        "0a:1b:2c:3d:4e:5f",
        "0A-1B-2C-3D-4E-5F",
        "0a1b.2c3d.4e5f",
    ] {
        assert_eq!(parse(Scheme::Mac, raw).unwrap(), "0a1b2c3d4e5f", "{raw}");
    }
    for bad in [
        "0a1b2c3d4e",
        "0a:1b:2c:3d:4e:5f:60",
        "0a:1b-2c:3d:4e:5f",
        "0a1:b2c:3d4:e5f",
        "0a1b2c3d4e5g",
        "0a:1b:2c:3d:4e:5f:",
        ":0a1b2c3d4e5f",
    ] {
        assert_eq!(parse(Scheme::Mac, bad), Err(IdentifierError::Mac), "{bad}");
    }
}

// Y.3059 6.1 h
#[test]
fn eui64_formats_are_equivalent() {
    for raw in [
        "0a1b2c3d4e5f6071",
        "0A:1B:2C:3D:4E:5F:60:71",
        "0a-1b-2c-3d-4e-5f-60-71",
        "0a1b.2c3d.4e5f.6071",
    ] {
        assert_eq!(
            parse(Scheme::Eui64, raw).unwrap(),
            "0a1b2c3d4e5f6071",
            "{raw}"
        );
    }
    assert_eq!(
        parse(Scheme::Eui64, "0a1b2c3d4e5f"),
        Err(IdentifierError::Eui64)
    );
}

// Y.3059 6.1 h
#[test]
fn ipv6_is_rfc5952_canonical() {
    let cases = [
        ("2001:0DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:db8::0:1", "2001:db8::1"),
        ("2001:db8:0000:0000:1:0000:0000:0000", "2001:db8:0:0:1::"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("::", "::"),
        ("::FFFF:192.0.2.1", "::ffff:192.0.2.1"),
        ("0:0:0:0:0:ffff:c000:0201", "::ffff:192.0.2.1"),
        ("FE80::ABCD:0012", "fe80::abcd:12"),
    ];
    for (raw, canonical) in cases {
        assert_eq!(parse(Scheme::Ipv6, raw).unwrap(), canonical, "{raw}");
    }
    for bad in [
        "192.0.2.1",
        "2001:db8::1%eth0",
        "2001:db8:::1",
        "[2001:db8::1]",
        "g::1",
    ] {
        assert_eq!(
            parse(Scheme::Ipv6, bad),
            Err(IdentifierError::Ipv6),
            "{bad}"
        );
    }
}

// Y.3059 6.1 h
#[test]
fn serial_lowercases_the_manufacturer_and_keeps_the_serial() {
    assert_eq!(
        parse(Scheme::Serial, "ACME/SN-0001.b_x").unwrap(),
        "acme/SN-0001.b_x"
    );
    let longest = format!("{}/{}", "m".repeat(32), "s".repeat(64));
    assert_eq!(parse(Scheme::Serial, &longest).unwrap(), longest);
    for bad in [
        "acme",
        "/SN1",
        "acme/",
        "ac-me/SN1",
        "acme/SN 1",
        "acme/SN/1",
        &format!("{}/x", "m".repeat(33)),
        &format!("m/{}", "s".repeat(65)),
    ] {
        assert_eq!(
            parse(Scheme::Serial, bad),
            Err(IdentifierError::Serial),
            "{bad}"
        );
    }
}

// Y.3059 6.1 h
#[test]
fn overlong_input_is_rejected_early() {
    for scheme in Scheme::ALL {
        assert_eq!(
            Identifier::parse(scheme, &"1".repeat(MAX_RAW_LEN + 1)),
            Err(IdentifierError::TooLong)
        );
    }
}

// Y.3059 6.1 h
#[test]
fn identifier_serde_normalizes_and_validates() {
    let id: Identifier =
        serde_json::from_str(r#"{"scheme":"mac","value":"0A:1B:2C:3D:4E:5F"}"#).unwrap();
    assert_eq!(id.value(), "0a1b2c3d4e5f");
    assert_eq!(
        serde_json::to_string(&id).unwrap(),
        r#"{"scheme":"mac","value":"0a1b2c3d4e5f"}"#
    );
    assert!(serde_json::from_str::<Identifier>(r#"{"scheme":"imei","value":"1"}"#).is_err());
    assert!(serde_json::from_str::<Identifier>(r#"{"scheme":"foo","value":"1"}"#).is_err());
}

// Y.3059 6.1 h
// card C5
// The portal's device check takes an identifier however it is written: with its scheme, as a
// URN, or bare when its shape says which scheme it is; all come out canonical.
#[test]
fn inherent_identifiers_are_recognized_with_or_without_their_scheme() {
    let cases = [
        ("imei:356938035643809", "imei:356938035643809"),
        ("IMEI:35693803-564380-9", "imei:356938035643809"),
        ("356938035643809", "imei:356938035643809"),
        ("35 693803 564380 9", "imei:356938035643809"),
        ("urn:gsma:imei:35693803-564380-9", "imei:356938035643809"),
        ("mac:00-1A-2B-3C-4D-5E", "mac:001a2b3c4d5e"),
        ("00:1a:2b:3c:4d:5e", "mac:001a2b3c4d5e"),
        ("001A.2B3C.4D5E", "mac:001a2b3c4d5e"),
        ("001122334455", "mac:001122334455"),
        ("00:1a:2b:ff:fe:3c:4d:5e", "eui64:001a2bfffe3c4d5e"),
        ("eui64:001a2bfffe3c4d5e", "eui64:001a2bfffe3c4d5e"),
        ("2001:DB8:0:0:0:0:0:1", "ipv6:2001:db8::1"),
        ("ipv6:2001:db8::1", "ipv6:2001:db8::1"),
        ("serial:ACME/X-1", "serial:acme/X-1"),
        ("Acme/SN.0042", "serial:acme/SN.0042"),
        ("urn:dev:ops:acme-SN42", "serial:acme/SN42"),
    ];
    for (text, canonical) in cases {
        let id = parse_inherent(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(id.to_string(), canonical, "{text}");
    }
}

// Y.3059 6.1 h
// A value of a recognizable scheme says what is wrong with it; an unrecognizable one says
// which schemes there are.
#[test]
fn malformed_inherent_identifiers_name_their_fault() {
    let cases = [
        ("356938035643808", IdentifierError::ImeiCheckDigit),
        ("35693803564380", IdentifierError::ImeiFormat),
        ("imei:12", IdentifierError::ImeiFormat),
        ("mac:00:1a", IdentifierError::Mac),
        ("serial:acme", IdentifierError::Serial),
        ("a/b/c d", IdentifierError::Serial),
        ("hello", IdentifierError::UnknownScheme),
        ("", IdentifierError::UnknownScheme),
        ("urn:gsma:imei:1", IdentifierError::Urn),
    ];
    for (text, error) in cases {
        assert_eq!(parse_inherent(text), Err(error), "{text}");
    }
    assert_eq!(
        parse_inherent(&"1".repeat(200)),
        Err(IdentifierError::TooLong)
    );
}

proptest! {
    // Y.3059 6.1 h
    #[test]
    fn valid_imeis_are_accepted(imei in imei_strategy()) {
        prop_assert_eq!(parse(Scheme::Imei, &imei).unwrap(), imei);
    }

    // Y.3059 6.1 h
    #[test]
    fn any_single_digit_change_breaks_the_luhn_check(
        imei in imei_strategy(), position in 0usize..15, delta in 1u8..10,
    ) {
        let mut bytes = imei.into_bytes();
        bytes[position] = b'0' + (bytes[position] - b'0' + delta) % 10;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert_eq!(parse(Scheme::Imei, &changed), Err(IdentifierError::ImeiCheckDigit));
    }

    // Y.3059 6.1 h
    #[test]
    fn mac_separators_do_not_matter(bytes in proptest::array::uniform6(any::<u8>()), upper in any::<bool>()) {
        let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let bare = pairs.concat();
        let colon = pairs.join(":");
        let colon = if upper { colon.to_uppercase() } else { colon };
        prop_assert_eq!(parse(Scheme::Mac, &colon).unwrap(), bare.clone());
        prop_assert_eq!(parse(Scheme::Mac, &pairs.join("-")).unwrap(), bare.clone());
        prop_assert_eq!(parse(Scheme::Mac, &bare.to_uppercase()).unwrap(), bare);
    }

    // Y.3059 6.1 h
    #[test]
    fn ipv6_canonical_text_is_stable_and_same_address(segments in proptest::array::uniform8(0u16..3)) {
        // Small segment values produce many zero runs, the interesting case for RFC 5952.
        let addr = std::net::Ipv6Addr::from(segments);
        let full = segments.iter().map(|s| format!("{s:04X}")).collect::<Vec<_>>().join(":");
        let canonical = parse(Scheme::Ipv6, &full).unwrap();
        prop_assert_eq!(canonical.parse::<std::net::Ipv6Addr>().unwrap(), addr);
        prop_assert_eq!(parse(Scheme::Ipv6, &canonical).unwrap(), canonical.clone());
        prop_assert!(!canonical.contains(":0:0:0") || canonical.contains("::"));
    }

    // Y.3059 9.2 i b
    #[test]
    fn regdevid_and_san_round_trip(
        scheme_index in 0usize..5,
        imei in imei_strategy(),
        mac in "[0-9a-fA-F]{12}",
        eui in "[0-9a-fA-F]{16}",
        v6 in any::<u128>(),
        serial in "[A-Za-z0-9]{1,32}/[A-Za-z0-9._-]{1,64}",
        path in "([A-Z0-9]{3}|IN|DE|UK)(\\.[A-Z0-9]{3}){0,2}",
    ) {
        let scheme = Scheme::ALL[scheme_index];
        let raw = match scheme {
            Scheme::Imei => imei,
            Scheme::Mac => mac,
            Scheme::Eui64 => eui,
            Scheme::Ipv6 => std::net::Ipv6Addr::from(v6).to_string(),
            Scheme::Serial => serial,
        };
        let id = Identifier::parse(scheme, &raw).unwrap();
        prop_assert_eq!(Identifier::parse(scheme, id.value()).unwrap(), id.clone());
        prop_assert_eq!(Identifier::from_san_uri(&id.to_san_uri()), Some(Ok(id.clone())));
        let regdevid = RegDevId::new(path.parse().unwrap(), id);
        prop_assert_eq!(regdevid.to_string().parse::<RegDevId>().unwrap(), regdevid);
    }

    // Y.3059 6.1 h
    #[test]
    fn arbitrary_input_never_panics(raw in "\\PC{0,200}", bytes in ".{0,40}") {
        let _ = parse_inherent(&raw);
        for scheme in Scheme::ALL {
            let _ = Identifier::parse(scheme, &raw);
            let _ = Identifier::parse(scheme, &bytes);
        }
        let _ = Identifier::from_san_uri(&raw);
        let _ = Identifier::from_san_uri(&format!("urn:dev:ops:{bytes}"));
        let _ = Identifier::from_san_uri(&format!("urn:gsma:imei:{bytes}"));
        let _ = raw.parse::<RegDevId>();
        let _ = format!("IN1:ipv6:{bytes}").parse::<RegDevId>();
        let _ = raw.parse::<RegistryPath>();
    }
}
