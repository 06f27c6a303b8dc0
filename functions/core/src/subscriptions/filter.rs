//! Filter policies, checked before the notification service sees them: SNS filter-policy
//! syntax on the message attributes the registry publishes, with the operators the registry
//! supports and SNS's limits, so that a mistake is the client's 400 naming the fault rather
//! than a subscription that never matches (or the service's refusal after the fact).

use serde_json::{Map, Value};

use crate::error::RegistryError;
use crate::status::TrustStatus;

/// The message attributes of every notification (see `ports::Notification`).
pub const FILTER_ATTRIBUTES: [&str; 8] = [
    "event",
    "status",
    "previous_status",
    "make",
    "model",
    "regdevid",
    "severity",
    "registry",
];
/// SNS: at most 5 attribute names in a filter policy...
pub const MAX_FILTER_ATTRIBUTES: usize = 5;
/// ...and at most 150 combinations of their values (the product over attributes).
pub const MAX_FILTER_VALUES: usize = 150;
/// Attribute values are short: RegDevIDs, makes, models.
const MAX_STRING: usize = 256;
/// SNS compares numbers between -1e9 and 1e9.
const MAX_NUMBER: f64 = 1e9;

/// `filter` as it goes to the service (unchanged), or a 400 naming what is wrong.
pub(super) fn check(filter: Value) -> Result<Value, RegistryError> {
    let Value::Object(attributes) = &filter else {
        return Err(bad("filter", "must be a JSON object"));
    };
    // The policy is stored with the subscription: its numbers must be ones the store keeps.
    crate::free_json::check_storable("filter", &filter)
        .map_err(|e| RegistryError::Malformed(e.to_string()))?;
    if attributes.len() > MAX_FILTER_ATTRIBUTES {
        return Err(bad(
            "filter",
            &format!(
                "names {} attributes; at most {MAX_FILTER_ATTRIBUTES}",
                attributes.len()
            ),
        ));
    }
    let mut combinations: usize = 1;
    for (name, rule) in attributes {
        if !FILTER_ATTRIBUTES.contains(&name.as_str()) {
            return Err(bad(
                &format!("filter.{}", short(name)),
                &format!(
                    "is not an attribute of the registry's notifications ({})",
                    FILTER_ATTRIBUTES.join(", ")
                ),
            ));
        }
        let values = rule_values(name, rule)?;
        combinations = combinations.saturating_mul(values);
    }
    if combinations > MAX_FILTER_VALUES {
        return Err(bad(
            "filter",
            &format!("makes {combinations} combinations of values; at most {MAX_FILTER_VALUES}"),
        ));
    }
    Ok(filter)
}

/// The number of values of one attribute's rule (a non-empty array), each checked.
fn rule_values(name: &str, rule: &Value) -> Result<usize, RegistryError> {
    let path = format!("filter.{name}");
    let Value::Array(items) = rule else {
        return Err(bad(&path, "must be an array of values or operators"));
    };
    if items.is_empty() {
        return Err(bad(&path, "must not be empty"));
    }
    let is_status = matches!(name, "status" | "previous_status");
    let mut count = 0usize;
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        count += match item {
            Value::String(s) => exact(&at, s, is_status).map(|()| 1)?,
            Value::Number(n) => number(&at, n, is_status).map(|()| 1)?,
            Value::Object(op) => operator(&at, op, is_status)?,
            _ => return Err(bad(&at, "must be a string, a number or an operator object")),
        };
    }
    Ok(count)
}

fn exact(at: &str, value: &str, is_status: bool) -> Result<(), RegistryError> {
    if value.chars().count() > MAX_STRING {
        return Err(bad(at, &format!("is longer than {MAX_STRING} characters")));
    }
    if is_status && value.parse::<TrustStatus>().is_err() {
        return Err(bad(
            at,
            &format!("{} is not a trust status {STATUSES}", quoted(value)),
        ));
    }
    Ok(())
}

const STATUSES: &str = "(trusted, unverified, unreliable)";

fn number(at: &str, n: &serde_json::Number, is_status: bool) -> Result<(), RegistryError> {
    if is_status {
        return Err(bad(
            at,
            &format!("is a number; a trust status is one of {STATUSES}"),
        ));
    }
    match n.as_f64() {
        Some(v) if v.abs() <= MAX_NUMBER => Ok(()),
        _ => Err(bad(at, "is outside -1e9..1e9")),
    }
}

/// One operator object (`anything-but`, `prefix`, `numeric`): how many values it counts for.
fn operator(at: &str, op: &Map<String, Value>, is_status: bool) -> Result<usize, RegistryError> {
    let mut entries = op.iter();
    let (Some((name, argument)), None) = (entries.next(), entries.next()) else {
        return Err(bad(at, "an operator object has exactly one operator"));
    };
    let at = format!("{at}.{}", short(name));
    match name.as_str() {
        "prefix" => prefix(&at, argument, is_status).map(|()| 1),
        "numeric" if is_status => Err(bad(&at, "a trust status is not a number")),
        "numeric" => numeric(&at, argument).map(|()| 1),
        "anything-but" => anything_but(&at, argument, is_status),
        _ => Err(bad(
            &at,
            "is not a supported operator (anything-but, prefix, numeric)",
        )),
    }
}

fn prefix(at: &str, argument: &Value, is_status: bool) -> Result<(), RegistryError> {
    let Value::String(p) = argument else {
        return Err(bad(at, "must be a string"));
    };
    if p.is_empty() || p.chars().count() > MAX_STRING {
        return Err(bad(at, &format!("must be 1 to {MAX_STRING} characters")));
    }
    if is_status
        && !["trusted", "unverified", "unreliable"]
            .iter()
            .any(|s| s.starts_with(p.as_str()))
    {
        return Err(bad(
            at,
            &format!("{} starts no trust status {STATUSES}", quoted(p)),
        ));
    }
    Ok(())
}

/// `anything-but`: a value, a non-empty array of values, or a `prefix`.
fn anything_but(at: &str, argument: &Value, is_status: bool) -> Result<usize, RegistryError> {
    match argument {
        Value::String(s) => exact(at, s, is_status).map(|()| 1),
        Value::Number(n) => number(at, n, is_status).map(|()| 1),
        Value::Array(values) if !values.is_empty() => {
            let all_strings = values.iter().all(Value::is_string);
            let all_numbers = values.iter().all(Value::is_number);
            if !all_strings && !all_numbers {
                return Err(bad(at, "must list only strings or only numbers"));
            }
            for (i, v) in values.iter().enumerate() {
                let item = format!("{at}[{i}]");
                match v {
                    Value::String(s) => exact(&item, s, is_status)?,
                    Value::Number(n) => number(&item, n, is_status)?,
                    _ => return Err(bad(&item, "must be a string or a number")),
                }
            }
            Ok(values.len())
        }
        Value::Object(inner) if inner.len() == 1 && inner.contains_key("prefix") => {
            prefix(&format!("{at}.prefix"), &inner["prefix"], is_status).map(|()| 1)
        }
        _ => Err(bad(
            at,
            "must be a value, a non-empty array of values or {\"prefix\": ...}",
        )),
    }
}

/// `numeric`: `[op, n]`, or a range `[">" | ">=", low, "<" | "<=", high]` with `low < high`.
fn numeric(at: &str, argument: &Value) -> Result<(), RegistryError> {
    let Value::Array(parts) = argument else {
        return Err(bad(at, "must be an array such as [\">=\", 7]"));
    };
    let comparison = |i: usize, allowed: &[&str]| -> Result<f64, RegistryError> {
        let op = parts.get(i).and_then(Value::as_str).unwrap_or_default();
        if !allowed.contains(&op) {
            return Err(bad(
                at,
                &format!(
                    "operator {} must be one of {}",
                    i / 2 + 1,
                    allowed.join(" ")
                ),
            ));
        }
        match parts.get(i + 1).and_then(Value::as_f64) {
            Some(v) if v.abs() <= MAX_NUMBER => Ok(v),
            _ => Err(bad(at, "compares with a number within -1e9..1e9")),
        }
    };
    match parts.len() {
        2 => comparison(0, &["=", "<", "<=", ">", ">="]).map(|_| ()),
        4 => {
            let low = comparison(0, &[">", ">="])?;
            let high = comparison(2, &["<", "<="])?;
            if low < high {
                Ok(())
            } else {
                Err(bad(
                    at,
                    "the range's lower bound must be below its upper bound",
                ))
            }
        }
        _ => Err(bad(at, "takes one comparison or a range of two")),
    }
}

fn bad(at: &str, why: &str) -> RegistryError {
    RegistryError::Malformed(format!("{at} {why}"))
}

/// Client text in a problem detail: quoted, at most 64 characters.
fn quoted(text: &str) -> String {
    format!("{:?}", short(text))
}

fn short(text: &str) -> String {
    text.chars().take(64).collect()
}
