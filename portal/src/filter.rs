//! A subscription's filter policy (SNS) built from the form's fields; the registry checks it
//! again (core `subscriptions::filter`).

use serde_json::{Map, Value, json};

/// What the subscription form asks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterForm {
    /// `status-changed`, `vulnerability`, `hold`, `digest`; none for every event.
    pub events: Vec<String>,
    /// The status after the change; none for any.
    pub statuses: Vec<String>,
    pub make: String,
    pub model: String,
    /// Vulnerabilities at least this severe (CVSS), if set.
    pub min_severity: String,
}

impl FilterForm {
    /// The filter policy, or `None` when the form narrows nothing; an error names a bad field.
    pub fn policy(&self) -> Result<Option<Value>, String> {
        let mut policy = Map::new();
        let list = |values: &[String]| {
            Value::Array(values.iter().map(|v| Value::String(v.clone())).collect())
        };
        if !self.events.is_empty() {
            policy.insert("event".into(), list(&self.events));
        }
        if !self.statuses.is_empty() {
            policy.insert("status".into(), list(&self.statuses));
        }
        for (name, value) in [("make", &self.make), ("model", &self.model)] {
            if !value.trim().is_empty() {
                policy.insert(name.into(), json!([value.trim()]));
            }
        }
        let severity = self.min_severity.trim();
        if !severity.is_empty() {
            let at_least: f64 = severity
                .parse()
                .ok()
                .filter(|s: &f64| (0.0..=10.0).contains(s))
                .ok_or("The minimum severity is a CVSS score from 0 to 10.")?;
            policy.insert("severity".into(), json!([{ "numeric": [">=", at_least] }]));
        }
        Ok((!policy.is_empty()).then_some(Value::Object(policy)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.
mod tests {
    use super::*;

    // card C5: the filter is built from form fields.
    // Y.3059 9.4 i a
    #[test]
    fn the_form_becomes_an_sns_filter_policy() {
        let form = FilterForm {
            events: vec!["status-changed".into()],
            statuses: vec!["unreliable".into(), "unverified".into()],
            make: " Acme ".into(),
            model: String::new(),
            min_severity: "7.5".into(),
        };
        assert_eq!(
            form.policy().unwrap(),
            Some(json!({
                "event": ["status-changed"],
                "status": ["unreliable", "unverified"],
                "make": ["Acme"],
                "severity": [{"numeric": [">=", 7.5]}],
            }))
        );
    }

    #[test]
    fn an_empty_form_filters_nothing_and_a_bad_severity_is_named() {
        assert_eq!(FilterForm::default().policy().unwrap(), None);
        let form = FilterForm {
            min_severity: "eleven".into(),
            ..FilterForm::default()
        };
        assert!(form.policy().unwrap_err().contains("severity"));
    }
}
