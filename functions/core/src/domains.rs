//! The trust domains a registry hosts (Y.3059 6.1 f; card C4): those it was deployed with, then
//! those an administrator added at run time with `PUT /v1/admin/trust-domains/{name}`. A
//! domain added at run time is stored as its policy record; its notification topic is made
//! before the record, so a hosted domain always has one.

use crate::error::RegistryError;
use crate::records::DomainPolicy;
use crate::service::Registry;

/// At most this many bytes in a domain's name: the name ends the SNS topic's name
/// (`trustreg-<suffix>-<domain>`), which AWS bounds at 256 characters, after a prefix of at
/// most 41 (a 31-character stack suffix).
pub const MAX_DOMAIN_NAME: usize = 64;

/// At most this many hosted domains: every registration reads all their policies, and each
/// is a topic and a digest per run.
pub const MAX_DOMAINS: usize = 64;

/// Deployed domains first, in their configured order, then those added at run time, by name.
pub fn hosted(configured: &[String], stored: &[DomainPolicy]) -> Vec<String> {
    let mut added: Vec<&String> = stored
        .iter()
        .map(|p| &p.name)
        .filter(|name| !configured.contains(name))
        .collect();
    added.sort();
    added.dedup();
    configured.iter().chain(added).cloned().collect()
}

/// A new domain's name: lower-case letters, digits and inner dashes, starting with a letter,
/// as the deployed ones (the template derives CloudFormation ids and topic names from it).
pub fn check_name(name: &str) -> Result<(), RegistryError> {
    let bytes = name.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= MAX_DOMAIN_NAME
        && bytes[0].is_ascii_lowercase()
        && !name.ends_with('-')
        && !name.contains("--")
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if valid {
        Ok(())
    } else {
        Err(RegistryError::Malformed(format!(
            "a trust domain's name is 1 to {MAX_DOMAIN_NAME} lower-case letters, digits and \
             single inner dashes, starting with a letter"
        )))
    }
}

impl Registry {
    /// Every hosted domain (one read of the stored domain policies).
    pub async fn hosted_domains(&self) -> Result<Vec<String>, RegistryError> {
        let stored = self.store.domain_policies().await?;
        Ok(hosted(&self.config.trust_domains, &stored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Policy;

    fn stored(name: &str) -> DomainPolicy {
        DomainPolicy {
            name: name.into(),
            policy: Policy::default(),
            updated_at_ms: 0,
            reevaluation: None,
        }
    }

    #[test]
    fn deployed_domains_come_first_then_added_ones_by_name_each_once() {
        let configured = vec!["health".to_owned(), "energy".to_owned()];
        let stored = [stored("water"), stored("health"), stored("agri")];
        assert_eq!(
            hosted(&configured, &stored),
            ["health", "energy", "agri", "water"]
        );
    }

    #[test]
    fn names_are_checked_before_a_topic_is_made_of_them() {
        for good in ["health", "energy-grid", "a", "x9"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        let long = "a".repeat(MAX_DOMAIN_NAME + 1);
        for bad in [
            "", "Health", "9lives", "-x", "x-", "a--b", "a_b", "a.b", "héalth", &long,
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
