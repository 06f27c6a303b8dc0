//! Whether an endpoint fits its protocol: an SQS queue ARN, an HTTPS URL, an email address.
//! An HTTPS endpoint must be a public DNS name or a public address: nothing a subscriber names
//! may point the notification service at an internal address (the instance metadata service at
//! 169.254.169.254, a private network, loopback). Loopback (and plain `http://` to it) only
//! where the stack is deployed for tests (`AllowLoopbackEndpoints`), where the subscriber of
//! a local run listens.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Protocol;
use crate::error::RegistryError;

/// SNS takes URLs of up to 2048 characters.
const MAX_URL: usize = 2048;
/// RFC 5321's limits: 64 for the local part, 254 for the address.
const MAX_LOCAL_PART: usize = 64;
const MAX_ADDRESS: usize = 254;
const MAX_QUEUE_NAME: usize = 80;

pub(super) fn check(
    protocol: Protocol,
    endpoint: &str,
    loopback: bool,
) -> Result<(), RegistryError> {
    let why = match protocol {
        Protocol::Sqs => queue_arn(endpoint),
        Protocol::Https => url(endpoint, loopback),
        Protocol::Email => email(endpoint),
    };
    why.map_err(|why| {
        RegistryError::Malformed(format!(
            "endpoint is not {}: {why}",
            match protocol {
                Protocol::Sqs => "an SQS queue ARN (arn:aws:sqs:<region>:<account>:<queue>)",
                Protocol::Https => "an https:// URL of a public host",
                Protocol::Email => "an email address",
            }
        ))
    })
}

fn queue_arn(endpoint: &str) -> Result<(), &'static str> {
    let parts: Vec<&str> = endpoint.split(':').collect();
    let [arn, partition, service, region, account, name] = parts.as_slice() else {
        return Err("an ARN has six parts separated by ':'");
    };
    let lower_dashed = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if *arn != "arn" || !partition.starts_with("aws") || !lower_dashed(partition) {
        return Err("it does not start with arn:aws");
    }
    if *service != "sqs" {
        return Err("it is not an SQS ARN");
    }
    if !lower_dashed(region) {
        return Err("the region is not one");
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the account is not 12 digits");
    }
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    if base.is_empty()
        || name.len() > MAX_QUEUE_NAME
        || !base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("the queue name is not 1 to 80 letters, digits, - or _");
    }
    Ok(())
}

fn url(endpoint: &str, loopback: bool) -> Result<(), &'static str> {
    if endpoint.len() > MAX_URL {
        return Err("it is longer than 2048 characters");
    }
    if endpoint
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
    {
        return Err("it holds spaces, controls or characters that are not ASCII");
    }
    let (secure, rest) = if let Some(rest) = endpoint.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = endpoint.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err("it does not start with https://");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // SNS sends basic-auth credentials given as user:password@host.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host(host_port)?;
    match reach(host) {
        Reach::Loopback if loopback => {}
        Reach::Loopback => return Err("the host is loopback"),
        Reach::Internal => return Err("the host is not public (private, link-local or special)"),
        Reach::Public if !secure => return Err("plain http:// is only for loopback hosts"),
        Reach::Public => {}
    }
    Ok(())
}

/// Why `url` is not an `https://` URL of a public host, if it is not: what another registry's
/// inbox must be too, for the same reason (the exchange sends to it from inside AWS).
pub(crate) fn public_https(url_text: &str) -> Result<(), &'static str> {
    url(url_text, false)
}

/// Whether `host_port` (`host[:port]`) is an endpoint of the emulator a test stack runs on:
/// loopback, or LocalStack's `localhost.localstack.cloud` names, which resolve to loopback and
/// which LocalStack gives its queue URLs (`http://sqs.<region>.localhost.localstack.cloud:4566/...`).
/// Only stacks deployed with `AllowLoopbackEndpoints` may name one; the emulator serves plain
/// http, so these are the only hosts http is ever admitted for.
pub(crate) fn is_emulator_host(host_port: &str) -> bool {
    let Ok(host) = host(host_port) else {
        return false;
    };
    let lower = host.to_ascii_lowercase();
    let name = lower.trim_end_matches('.');
    reach(name) == Reach::Loopback
        || name == "localhost.localstack.cloud"
        || name.ends_with(".localhost.localstack.cloud")
}

/// Where a host leads, as far as its text says (a name is not resolved here: SNS delivers
/// from AWS's network, and names that only mean something inside a network are refused).
#[derive(Debug, PartialEq, Eq)]
enum Reach {
    Loopback,
    Internal,
    Public,
}

fn reach(host: &str) -> Reach {
    let lower = host.to_ascii_lowercase();
    let name = lower.trim_end_matches('.');
    if name == "localhost" || name.ends_with(".localhost") {
        return Reach::Loopback;
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        return ip_reach(ip);
    }
    // Names of internal networks (AWS's `*.internal`, mDNS `.local`, the metadata service's
    // names), and numbers written as names (`2130706433`, `0x7f.1`), which resolvers and HTTP
    // clients read as addresses: no public name ends in a numeric label.
    let last = name.rsplit('.').next().unwrap_or_default();
    let internal_suffix = [".internal", ".local", ".intranet", ".lan", ".home.arpa"]
        .iter()
        .any(|suffix| name.ends_with(suffix));
    let numeric = last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x");
    if internal_suffix || numeric || !name.contains('.') {
        return Reach::Internal;
    }
    Reach::Public
}

fn ip_reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => v4_reach(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_reach(v4),
            None => v6_reach(v6),
        },
    }
}

fn v4_reach(ip: Ipv4Addr) -> Reach {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Reach::Loopback
    } else if ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_unspecified()
        || ip.is_documentation()
        || a == 0
        // 100.64.0.0/10, carrier-grade NAT (RFC 6598); 240.0.0.0/4 reserved.
        || (a == 100 && (64..128).contains(&b))
        || a >= 240
    {
        Reach::Internal
    } else {
        Reach::Public
    }
}

fn v6_reach(ip: Ipv6Addr) -> Reach {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Reach::Loopback
    } else if ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7 unique local, fe80::/10 link-local (RFC 4193, RFC 4291).
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        // 2001:db8::/32 documentation.
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
    {
        Reach::Internal
    } else {
        Reach::Public
    }
}

/// The host of `host[:port]` (`[v6]` bracketed), checked.
fn host(host_port: &str) -> Result<&str, &'static str> {
    let (host, port) = if let Some(rest) = host_port.strip_prefix('[') {
        let (v6, after) = rest.split_once(']').ok_or("an IPv6 host lacks its ]")?;
        if v6.is_empty()
            || !v6
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err("the IPv6 host is not one");
        }
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or("junk after the IPv6 host")?),
        };
        (v6, port)
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("the port is not a number");
    }
    let name_ok = host_port.starts_with('[')
        || (!host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }));
    if !name_ok {
        return Err("the host is not a DNS name or IP address");
    }
    Ok(host)
}

fn email(endpoint: &str) -> Result<(), &'static str> {
    if endpoint.len() > MAX_ADDRESS {
        return Err("it is longer than 254 characters");
    }
    let (local, domain) = endpoint.rsplit_once('@').ok_or("it has no @")?;
    let local_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    if local.is_empty()
        || local.len() > MAX_LOCAL_PART
        || !local.chars().all(local_char)
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
    {
        return Err("the part before @ is not a mailbox");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err("the part after @ is not a domain name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Y.3059 9.4 i a
    #[test]
    fn only_public_hosts_take_notifications() {
        for internal in [
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.1/",
            "https://172.16.5.4/",
            "https://192.168.1.1/hook",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://224.0.0.1/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[ff02::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://metadata.google.internal/",
            "https://ip-10-0-0-1.ec2.internal/",
            "https://printer.local/",
            "https://intranet/",
        ] {
            assert!(url(internal, true).is_err(), "{internal}");
        }
        for loopback in [
            "https://127.0.0.1/",
            "http://127.0.0.1:8080/sns",
            "https://localhost/",
            "https://[::1]/",
            "http://a.localhost/",
        ] {
            assert!(
                url(loopback, false).is_err(),
                "{loopback} in a production stack"
            );
            assert!(url(loopback, true).is_ok(), "{loopback} in a test stack");
        }
        for public in [
            "https://hooks.example.org/trustreg",
            "https://user:pw@hooks.example.org:8443/x",
            "https://93.184.216.34/",
            "https://[2606:4700::1111]/",
        ] {
            assert!(url(public, false).is_ok(), "{public}");
        }
        assert!(
            url("http://hooks.example.org/", true).is_err(),
            "http only to loopback"
        );
    }
}
