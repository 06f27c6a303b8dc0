//! Free-form JSON a client may give (a device's `power` extras, a report's `configuration`, a
//! subscription's filter policy): bounded in size and nesting, and holding only numbers the
//! registry's store keeps exactly.
//!
//! The store is DynamoDB, whose Number type takes "up to 38 digits of precision", magnitudes
//! from 1E-130 to 9.9999999999999999999999999999999999999E+125 (and zero); a number outside
//! that range makes the whole write fail ("Number overflow" / "Number underflow"):
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number>.
//! A JSON number parsed into an `f64` can reach 1.8E+308 or 5E-324, so the bound is checked
//! here, where the client's mistake can be named, rather than met as the store's refusal. (An
//! `f64` prints at most 17 significant digits, so precision never exceeds the store's.)
//!
//! A member name is never empty: an object's member names become the names of a stored map's
//! entries, and a nameless one is no configuration anyone can read back (the emulator's stream
//! cannot even carry it: a CI run's fuzzing stalled the table's stream with one).

use serde_json::Value;

/// Free-form JSON nests at most this deep (a scalar is 0).
pub const MAX_DEPTH: usize = 8;
/// The largest magnitude the store keeps: below 1E+126.
pub const MAX_MAGNITUDE: f64 = 1e126;
/// The smallest non-zero magnitude the store keeps.
pub const MIN_MAGNITUDE: f64 = 1e-130;

/// What is wrong with a free-form value, in words that name the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FreeJsonError {
    #[error("{field} must be at most {max_bytes} bytes of JSON, nested at most {MAX_DEPTH} deep")]
    TooLarge { field: String, max_bytes: usize },
    #[error("{field} has a member with an empty name")]
    EmptyName { field: String },
    #[error(
        "{field} holds the number {number}, which the registry cannot store: numbers must be 0 \
         or between 1e-130 and 1e125 in magnitude"
    )]
    Number { field: String, number: String },
}

/// `value` as given for `field`: at most `max_bytes` of compact JSON, nested at most
/// [`MAX_DEPTH`], every number storable.
pub fn check(field: &str, value: &Value, max_bytes: usize) -> Result<(), FreeJsonError> {
    if len(value) > max_bytes || depth(value) > MAX_DEPTH {
        return Err(FreeJsonError::TooLarge {
            field: field.to_owned(),
            max_bytes,
        });
    }
    check_storable(field, value)
}

/// Every number in `value` is one the store keeps and every member name is non-empty (see the
/// module's documentation); the error names the place, e.g. `configuration.limits[2]`.
pub fn check_storable(field: &str, value: &Value) -> Result<(), FreeJsonError> {
    match value {
        Value::Number(n) if !storable(n) => Err(FreeJsonError::Number {
            field: field.to_owned(),
            number: n.to_string(),
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_storable(&format!("{field}[{i}]"), v)),
        Value::Object(members) => members.iter().try_for_each(|(k, v)| {
            if k.is_empty() {
                return Err(FreeJsonError::EmptyName {
                    field: field.to_owned(),
                });
            }
            check_storable(&format!("{field}.{}", short(k)), v)
        }),
        _ => Ok(()),
    }
}

/// A member's name as it appears in an error: at most 64 characters.
fn short(name: &str) -> String {
    name.chars().take(64).collect()
}

/// Integers always fit (an `i64`/`u64` has at most 20 digits); a float is zero or within the
/// store's magnitudes.
pub fn storable(n: &serde_json::Number) -> bool {
    if n.is_i64() || n.is_u64() {
        return true;
    }
    n.as_f64().is_some_and(|f| {
        let m = f.abs();
        m == 0.0 || (MIN_MAGNITUDE..MAX_MAGNITUDE).contains(&m)
    })
}

/// The size of `value` as compact JSON.
pub fn len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
}

/// How deeply `value` nests arrays and objects (a scalar is 0).
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn numbers_inside_the_stores_range_pass() {
        for text in [
            "0",
            "-0.0",
            // (1e-130 itself parses a unit below, 9.999999999999999e-131, and is refused as
            // that: the check is on the number as it would be written.)
            "1.5e-130",
            "-1.5e-130",
            "9.9999999999999e125",
            "18446744073709551615",
            "-9223372036854775808",
            "3.5",
        ] {
            assert_eq!(check_storable("x", &parsed(text)), Ok(()), "{text}");
        }
    }

    #[test]
    fn numbers_outside_the_stores_range_are_named() {
        for text in [
            "1e126",
            "-1e300",
            "1e-131",
            "5e-324",
            "1.7976931348623157e308",
        ] {
            let value = json!({"nested": [1, {"deep": parsed(text)}]});
            let err = check_storable("configuration", &value).unwrap_err();
            assert!(
                matches!(&err, FreeJsonError::Number { field, .. }
                    if field == "configuration.nested[1].deep"),
                "{text}: {err:?}"
            );
            assert!(err.to_string().contains("cannot store"), "{err}");
        }
    }

    #[test]
    fn a_member_without_a_name_is_named() {
        let value = json!({"a": [1, {"b": {"": 5}}]});
        assert_eq!(
            check_storable("power", &value),
            Err(FreeJsonError::EmptyName {
                field: "power.a[1].b".into()
            })
        );
    }

    #[test]
    fn size_and_depth_are_bounded() {
        let deep = parsed("[[[[[[[[[1]]]]]]]]]");
        assert_eq!(depth(&deep), 9);
        assert!(matches!(
            check("power", &deep, 1024),
            Err(FreeJsonError::TooLarge { .. })
        ));
        assert!(matches!(
            check("power", &json!({"a": "x".repeat(20)}), 16),
            Err(FreeJsonError::TooLarge { .. })
        ));
        assert_eq!(check("power", &json!({"a": [1, 2.5]}), 64), Ok(()));
    }
}
