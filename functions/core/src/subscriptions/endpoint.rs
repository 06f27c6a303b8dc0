//! Whether an endpoint fits its protocol: an SQS queue ARN, an HTTPS URL (plain HTTP only to
//! loopback, where a local run's subscriber listens), an email address.

use super::Protocol;
use crate::error::RegistryError;

/// SNS takes URLs of up to 2048 characters.
const MAX_URL: usize = 2048;
/// RFC 5321's limits: 64 for the local part, 254 for the address.
const MAX_LOCAL_PART: usize = 64;
const MAX_ADDRESS: usize = 254;
const MAX_QUEUE_NAME: usize = 80;

pub(super) fn check(protocol: Protocol, endpoint: &str) -> Result<(), RegistryError> {
    let why = match protocol {
        Protocol::Sqs => queue_arn(endpoint),
        Protocol::Https => url(endpoint),
        Protocol::Email => email(endpoint),
    };
    why.map_err(|why| {
        RegistryError::Malformed(format!(
            "endpoint is not {}: {why}",
            match protocol {
                Protocol::Sqs => "an SQS queue ARN (arn:aws:sqs:<region>:<account>:<queue>)",
                Protocol::Https => "an https:// URL (http:// only to loopback)",
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

fn url(endpoint: &str) -> Result<(), &'static str> {
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
    if !secure && !is_loopback(host) {
        return Err("plain http:// is only for loopback hosts");
    }
    Ok(())
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

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") || host == "::1" {
        return true;
    }
    host.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
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
