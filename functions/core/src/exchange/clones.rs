//! One inherent identifier registered at two primaries (Y.3059 3.2.1, 3.2.2, 6.1 a): a RegDevID
//! is unique, but its inherent identifier is unique per primary only, so a second physical
//! device claiming an IMEI at another primary is seen nowhere below. It is seen by the first
//! registry above both, the one where the two primaries' branches meet: each update from a
//! child is checked against the mirrors of the other branches.
//!
//! - Both certificates chain to one manufacturer root: two keys certified for one identity, a
//!   possible clone. The finding is audited there and sent down, signed, to both primaries,
//!   each of which records it on its device (`Facts::clone_reports`, so `unreliable`); the
//!   devices' changes then notify their domains and come back up as ordinary updates.
//! - Two roots: the two primaries accept different manufacturers for one identifier, a
//!   conflict of their roots' identifier scopes. It is reported to this registry's
//!   administrators (the audit trail, `identifier-conflict`) and no device changes: a primary
//!   with a misconfigured root cannot flag another primary's devices.
//!
//! Each pair is handled once per registry: a dedupe mark (an origin's sequence item, as
//! vulnerabilities' marks) is written with the audit record, after the finding went down, so a
//! receipt that failed half way is redelivered and finishes.

use std::collections::{BTreeMap, BTreeSet};

use super::send::report;
use super::{ExchangeBody, ExchangeClaims, Received, is_within};
use crate::error::RegistryError;
use crate::identifier::{Identifier, RegDevId};
use crate::records::{LinkKind, LinkRecord, MirrorRecord};
use crate::service::Registry;
use crate::status::TrustStatus;

/// Audit actions of the findings.
pub const POSSIBLE_CLONE: &str = "possible-clone";
pub const IDENTIFIER_CONFLICT: &str = "identifier-conflict";

impl Registry {
    /// After an update or snapshot page from a child was applied (or found already applied, so
    /// a redelivery finishes a check that failed): the mirrors' identifiers against those of
    /// the other branches below this registry. Answers the pairs found new.
    pub(super) async fn check_clones(
        &self,
        from: &LinkRecord,
        mirrors: &[MirrorRecord],
    ) -> Result<usize, RegistryError> {
        if from.kind != LinkKind::Child {
            return Ok(0);
        }
        let own = self.config.path.to_string();
        let live: Vec<&MirrorRecord> = mirrors
            .iter()
            .filter(|m| m.status != TrustStatus::Deregistered)
            .collect();
        let identifiers: Vec<Identifier> = live
            .iter()
            .map(|m| m.regdevid.identifier.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if identifiers.is_empty() {
            return Ok(0);
        }
        let held = self.store.mirrors_with_identifiers(&identifiers).await?;
        // By the two RegDevIDs, in order: each pair once, however often it turns up.
        let mut pairs = BTreeMap::new();
        for mirror in live {
            for other in &held {
                if other.regdevid.identifier == mirror.regdevid.identifier
                    && other.status != TrustStatus::Deregistered
                    && meet_here(&own, &mirror.origin, &other.origin)
                {
                    let (a, b) = ordered(mirror, other);
                    pairs.insert((a.regdevid.to_string(), b.regdevid.to_string()), (a, b));
                }
            }
        }
        let mut found = 0;
        for (a, b) in pairs.into_values() {
            if self.handle_pair(&own, a, b).await? {
                found += 1;
            }
        }
        Ok(found)
    }

    /// One pair, once: sent down when one root certified both, then marked with its audit.
    async fn handle_pair(
        &self,
        own: &str,
        a: &MirrorRecord,
        b: &MirrorRecord,
    ) -> Result<bool, RegistryError> {
        let mark = mark_of(own, &a.regdevid, &b.regdevid);
        if self.store.last_sequence(&mark).await? > 0 {
            return Ok(false);
        }
        let action = match (&a.root_id, &b.root_id) {
            (Some(root), Some(other)) if root == other => {
                let links = self.store.links().await?;
                let to: Vec<&LinkRecord> = links
                    .iter()
                    .filter(|l| l.kind == LinkKind::Child)
                    .filter(|l| is_within(&a.origin, &l.path) || is_within(&b.origin, &l.path))
                    .collect();
                let seq = self.store.next_sequence().await?;
                let body = ExchangeBody::PossibleClone {
                    regdevids: vec![a.regdevid.to_string(), b.regdevid.to_string()],
                    root: root.clone(),
                };
                let message = self
                    .sign_exchange(&self.exchange_claims(own, seq, body))
                    .await?;
                report(self.deliver(&to, &message).await)?;
                POSSIBLE_CLONE
            }
            _ => IDENTIFIER_CONFLICT,
        };
        let audit = self.audit(
            &format!("registry:{own}"),
            action,
            Some(format!("{} {}", a.regdevid, b.regdevid)),
            Ok(()),
        );
        self.store
            .apply_exchange(&mark, 1, false, &[], &audit)
            .await?;
        Ok(true)
    }

    /// A possible clone from the parent (checked by `check_origin`): recorded on this
    /// registry's device of the pair, or sent on down toward it.
    pub(super) async fn receive_possible_clone(
        &self,
        from: &LinkRecord,
        claims: &ExchangeClaims,
        regdevids: &[String],
    ) -> Result<Received, RegistryError> {
        let actor = format!("registry:{}", from.path);
        let (a, b) = match pair_of(regdevids) {
            Ok(pair) => pair,
            Err(e) => {
                let target = Some(format!("{}#{}", claims.origin, claims.seq));
                self.audit_rejection(&actor, "receive-exchange", target, &e)
                    .await;
                return Err(e);
            }
        };
        let mark = mark_of(&claims.origin, &a, &b);
        if self.store.last_sequence(&mark).await? > 0 {
            return Ok(Received::Duplicate);
        }
        let own = self.config.path.to_string();
        let mut flagged = 0;
        let mut below = Vec::new();
        for regdevid in [&a, &b] {
            let path = regdevid.path.to_string();
            if path == own {
                let recorded = self
                    .change_registered_device(regdevid, &actor, POSSIBLE_CLONE, Ok(()), |f| {
                        f.clone_reports = f.clone_reports.saturating_add(1);
                    })
                    .await;
                match recorded {
                    Ok(_) => flagged += 1,
                    // Deregistered since, or never here after all: nothing to record on.
                    Err(RegistryError::Deregistered(_) | RegistryError::DeviceNotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            } else if is_within(&path, &own) {
                below.push(path);
            }
        }
        let links = self.store.links().await?;
        let to: Vec<&LinkRecord> = links
            .iter()
            .filter(|l| l.kind == LinkKind::Child)
            .filter(|l| below.iter().any(|p| is_within(p, &l.path)))
            .collect();
        if !to.is_empty() {
            let message = self
                .sign_exchange(&self.exchange_claims(
                    &claims.origin,
                    claims.seq,
                    claims.body.clone(),
                ))
                .await?;
            report(self.deliver(&to, &message).await)?;
        }
        let audit = self.audit(
            &actor,
            "exchange-possible-clone",
            Some(format!("{}#{}", claims.origin, claims.seq)),
            Ok(()),
        );
        self.store
            .apply_exchange(&mark, 1, false, &[], &audit)
            .await?;
        Ok(Received::PossibleClone {
            flagged,
            forwarded: to.len(),
        })
    }
}

/// Whether `own` is the first registry above both origins: both are below it, through two
/// different children.
fn meet_here(own: &str, one: &str, other: &str) -> bool {
    let child = |origin: &str| {
        origin
            .strip_prefix(own)
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|rest| rest.split('.').next())
            .map(str::to_owned)
    };
    match (child(one), child(other)) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    }
}

fn ordered<'a>(
    one: &'a MirrorRecord,
    other: &'a MirrorRecord,
) -> (&'a MirrorRecord, &'a MirrorRecord) {
    if one.regdevid.to_string() <= other.regdevid.to_string() {
        (one, other)
    } else {
        (other, one)
    }
}

/// Two RegDevIDs of one inherent identifier at two registries, in order.
fn pair_of(regdevids: &[String]) -> Result<(RegDevId, RegDevId), RegistryError> {
    let malformed = || {
        RegistryError::Malformed("a possible clone names two RegDevIDs of one identifier".into())
    };
    let [a, b] = regdevids else {
        return Err(malformed());
    };
    let (a, b): (RegDevId, RegDevId) = (
        a.parse().map_err(|_| malformed())?,
        b.parse().map_err(|_| malformed())?,
    );
    if a.identifier != b.identifier || a.path == b.path {
        return Err(malformed());
    }
    Ok(if a.to_string() <= b.to_string() {
        (a, b)
    } else {
        (b, a)
    })
}

/// The dedupe mark of one pair found by `origin`.
fn mark_of(origin: &str, a: &RegDevId, b: &RegDevId) -> String {
    format!("{origin}/clone/{a}/{b}")
}

#[cfg(test)]
mod tests {
    use super::meet_here;

    #[test]
    fn the_first_registry_above_both_is_where_branches_meet() {
        assert!(meet_here("IN1.HLT", "IN1.HLT.P07", "IN1.HLT.P08"));
        // Both under one child: the check is that child's.
        assert!(!meet_here("IN1", "IN1.HLT.P07", "IN1.HLT.P08"));
        assert!(meet_here("IN1", "IN1.HLT.P07", "IN1.ENG.P01"));
        // A peer's devices are not below this registry.
        assert!(!meet_here("IN1", "IN1.HLT.P07", "IN2.HLT.P01"));
        assert!(!meet_here("IN1.HLT", "IN1.HLT.P07", "IN1.HLT.P07"));
    }
}
