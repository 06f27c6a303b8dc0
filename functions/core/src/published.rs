//! What a registry publishes for everyone (Y.3059 9.1 vi, 9.3 i b): who it is, its key, the
//! roots of trust and RoT types it accepts, its trust domains and their policies, and its
//! practice statement.

use serde::Serialize;

use crate::error::RegistryError;
use crate::jose;
use crate::policies::policies_for;
use crate::records::LinkKind;
use crate::service::Registry;
use crate::status::Policy;

#[derive(Debug, Clone, Serialize)]
pub struct RegistryDocument {
    pub reg_id: String,
    pub path: String,
    #[serde(rename = "type")]
    pub kind: crate::RegistryKind,
    /// The registry above this one in the hierarchy, by path.
    pub parent: Option<String>,
    pub peers: Vec<String>,
    pub trust_domains: Vec<PublishedDomain>,
    /// The registry's signing key (JWK); its `kid` is what its signatures carry.
    pub public_key: serde_json::Value,
    pub accepted_roots: Vec<PublishedRoot>,
    pub protocols: Vec<&'static str>,
    pub signatures: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublishedDomain {
    pub name: String,
    pub policy: Policy,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublishedRoot {
    pub id: String,
    pub name: String,
    pub rot_types: Vec<String>,
    /// Standard base64 DER.
    pub certificate: String,
    /// The identifiers it may certify (`rot::scope`).
    pub identifier_scopes: Vec<String>,
    /// Intermediate CAs under it that are revoked (`rot::intermediate_id`): a device's chain
    /// through one of them proves nothing (7 ii).
    pub revoked_intermediates: Vec<String>,
}

const PRACTICE_STATEMENT: &str = include_str!("practice_statement.md");

impl Registry {
    /// `GET /v1/registry`.
    pub async fn registry_document(&self) -> Result<RegistryDocument, RegistryError> {
        let mut public_key = jose::jwk_from_key(&self.keys.public_key().await?);
        if let Some(jwk) = public_key.as_object_mut() {
            jwk.insert("kid".into(), self.keys.key_id().into());
            jwk.insert("use".into(), "sig".into());
            jwk.insert("alg".into(), jose::ES256.into());
        }
        let roots = self.store.roots_of_trust().await?;
        let stored = self.store.domain_policies().await?;
        let domains = crate::domains::hosted(&self.config.trust_domains, &stored)
            .into_iter()
            .map(|name| PublishedDomain {
                policy: policies_for(&stored, &self.config.policy, std::slice::from_ref(&name))
                    .remove(0),
                name,
            })
            .collect();
        let links = self.store.links().await?;
        // Before its parent is linked, a registry's parent is the one its path names.
        let parent = links
            .iter()
            .find(|l| l.kind == LinkKind::Parent)
            .map(|l| l.path.clone())
            .or_else(|| self.config.path.parent().map(|p| p.to_string()));
        let peers = links
            .iter()
            .filter(|l| l.kind == LinkKind::Peer)
            .map(|l| l.path.clone())
            .collect();
        Ok(RegistryDocument {
            reg_id: self.config.path.own_id().to_string(),
            path: self.config.path.to_string(),
            kind: self.config.kind,
            parent,
            peers,
            trust_domains: domains,
            public_key,
            accepted_roots: roots
                .into_iter()
                .map(|r| PublishedRoot {
                    id: r.id,
                    name: r.name,
                    rot_types: r.rot_types,
                    certificate: r.certificate,
                    identifier_scopes: r.identifier_scopes,
                    revoked_intermediates: r.revoked_intermediates,
                })
                .collect(),
            protocols: vec!["https"],
            signatures: "JWS (RFC 7515), ES256",
        })
    }

    /// `GET /v1/registry/practice-statement`: the statement, with this registry's identity.
    pub fn practice_statement(&self) -> String {
        PRACTICE_STATEMENT
            .replace("{path}", &self.config.path.to_string())
            .replace("{type}", self.config.kind.as_str())
            .replace("{domains}", &self.config.trust_domains.join(", "))
            .replace(
                "{challenges}",
                &self.config.rate_limits.challenges.to_string(),
            )
            .replace("{sign_ups}", &self.config.rate_limits.sign_ups.to_string())
            .replace("{logins}", &self.config.rate_limits.logins.to_string())
            .replace(
                "{anonymous_lookups}",
                &self.config.rate_limits.anonymous_lookups.to_string(),
            )
    }
}
