//! Status policies per trust domain (Y.3059 6.1 f): stored by administrators, defaulting to the
//! registry's own; a device is evaluated under every domain it belongs to and gets the worst.

use crate::actors::{Role, unverified_actor};
use crate::domains::MAX_DOMAINS;
use crate::error::{NotifyError, RegistryError};
use crate::messages::{DomainPolicyClaims, Purpose};
use crate::records::{DeviceRecord, DomainPolicy, Reevaluation, Transition};
use crate::service::Registry;
use crate::status::{
    Evaluation, Facts, MAX_EVIDENCE_WINDOW_SECONDS, Policy, TrustStatus, evaluate,
    next_evaluation_at_ms,
};

fn rank(status: TrustStatus) -> u8 {
    match status {
        TrustStatus::Trusted => 0,
        TrustStatus::Unverified => 1,
        TrustStatus::Unreliable => 2,
        // Terminal, under any policy (`status::evaluate`).
        TrustStatus::Deregistered => 3,
    }
}

/// The worst evaluation under `policies`, with the reasons of all of them (each once). Pure,
/// like `evaluate`; no policy at all is the default policy.
pub fn evaluate_all(policies: &[Policy], facts: &Facts, now_ms: u64) -> Evaluation {
    if policies.is_empty() {
        return evaluate(&Policy::default(), facts, now_ms);
    }
    let mut worst = TrustStatus::Trusted;
    let mut reasons = Vec::new();
    for policy in policies {
        let e = evaluate(policy, facts, now_ms);
        if rank(e.status) > rank(worst) {
            worst = e.status;
        }
        for r in e.reasons {
            if !reasons.contains(&r) {
                reasons.push(r);
            }
        }
    }
    Evaluation {
        status: worst,
        reasons,
    }
}

/// The earliest time one of the policies' evaluations changes by time alone, if still ahead
/// of `now_ms`: an overdue device must not stay in the due index and be re-read every run.
pub fn next_evaluation_all(policies: &[Policy], facts: &Facts, now_ms: u64) -> Option<u64> {
    policies
        .iter()
        .filter_map(|p| next_evaluation_at_ms(p, facts, now_ms))
        .min()
}

/// Re-derives the device's status under `policies`; the transition to record if it changed.
pub(crate) fn reevaluate(
    device: &mut DeviceRecord,
    policies: &[Policy],
    now_ms: u64,
    actor: &str,
    cause: &str,
) -> Option<Transition> {
    // A device stored before its RoT type was a fact gets it from what it registered with.
    device
        .facts
        .rot_type
        .get_or_insert_with(|| device.info.rot.kind.clone());
    let evaluation = evaluate_all(policies, &device.facts, now_ms);
    device.next_evaluation_at_ms = next_evaluation_all(policies, &device.facts, now_ms);
    let transition = (evaluation.status != device.status).then(|| Transition {
        regdevid: device.regdevid.clone(),
        at_ms: now_ms,
        from: Some(device.status),
        to: evaluation.status,
        reasons: evaluation.reasons.clone(),
        actor: actor.to_owned(),
        cause: cause.to_owned(),
    });
    if transition.is_some() {
        device.status = evaluation.status;
        device.status_since_ms = now_ms;
    }
    device.reasons = evaluation.reasons;
    transition
}

/// The policy of each of `domains`: the stored one, else the registry's default.
pub fn policies_for(stored: &[DomainPolicy], default: &Policy, domains: &[String]) -> Vec<Policy> {
    if domains.is_empty() {
        return vec![default.clone()];
    }
    domains
        .iter()
        .map(|d| {
            stored
                .iter()
                .find(|p| &p.name == d)
                .map(|p| p.policy.clone())
                .unwrap_or_else(|| default.clone())
        })
        .collect()
}

/// What `PUT /v1/admin/trust-domains/{name}` did: the stored policy, and whether the domain
/// was added by it.
#[derive(Debug, Clone)]
pub struct SetDomainPolicy {
    pub record: DomainPolicy,
    pub added: bool,
}

impl Registry {
    /// The policies `domains` are evaluated under (one read of all domain policies).
    pub async fn policies_of(&self, domains: &[String]) -> Result<Vec<Policy>, RegistryError> {
        let stored = self.store.domain_policies().await?;
        Ok(policies_for(&stored, &self.config.policy, domains))
    }

    /// An administrator sets a trust domain's policy (audited, refusals too). Devices already
    /// registered follow it in batches (`domain_reevaluation`), the first by this call. A
    /// domain not hosted
    /// yet is added: its notification topic is made first (making it again is harmless, so
    /// a failed write is retried as it was sent), then its record, which makes it hosted.
    /// The topic of a deployed domain is made too when missing (a stack deployed without
    /// infra/deploy.py has none).
    pub async fn set_domain_policy(
        &self,
        name: &str,
        policy: Policy,
        actor: &str,
    ) -> Result<SetDomainPolicy, RegistryError> {
        let target = Some(format!("domain:{name}"));
        let added = match self.check_policy(name, &policy).await {
            Ok(added) => added,
            Err(e) => {
                self.audit_rejection(actor, "set-domain-policy", target, &e)
                    .await;
                return Err(e);
            }
        };
        match (&self.broker, added) {
            (Some(broker), _) => broker.provision(name).await?,
            (None, false) => {}
            (None, true) => {
                return Err(RegistryError::Notify(NotifyError::Failed(
                    "this function cannot make a trust domain's topic".into(),
                )));
            }
        }
        let mut record = DomainPolicy {
            name: name.to_owned(),
            policy,
            updated_at_ms: self.clock.now_ms(),
            // A domain added now has no devices to reach.
            reevaluation: (!added).then(|| Reevaluation {
                by: actor.to_owned(),
                cursor: None,
                changed: 0,
                complete: false,
            }),
        };
        let action = if added {
            "add-trust-domain"
        } else {
            "set-domain-policy"
        };
        let audit = self.audit(actor, action, target, Ok(()));
        self.store.put_domain_policy(&record, &audit).await?;
        // The policy holds from now on whatever this batch does: a failed one is left to the
        // scheduled evaluation, which resumes from the stored progress.
        let stored = record.clone();
        if self.reevaluate_first_batch(&mut record).await.is_err() {
            record = stored;
        }
        Ok(SetDomainPolicy { record, added })
    }

    /// `PUT /v1/admin/trust-domains/{name}`: `set_domain_policy` for a request signed by an
    /// administrator; refusals are audited under the signer the request names.
    pub async fn set_domain_policy_signed(
        &self,
        name: &str,
        compact: &str,
    ) -> Result<SetDomainPolicy, RegistryError> {
        let signed = match self
            .verify_signed::<DomainPolicyClaims>(compact, &[Role::Admin], Purpose::TrustDomain)
            .await
        {
            Ok(signed) => signed,
            Err(e) => {
                let actor = unverified_actor(compact);
                self.audit_rejection(
                    &actor,
                    "set-domain-policy",
                    Some(format!("domain:{name}")),
                    &e,
                )
                .await;
                return Err(e);
            }
        };
        self.set_domain_policy(name, signed.claims.policy, &signed.actor.audit_name())
            .await
    }

    /// Checks the policy, and the name of a domain not hosted yet: whether it is one.
    async fn check_policy(&self, name: &str, policy: &Policy) -> Result<bool, RegistryError> {
        if !(0.0..=10.0).contains(&policy.unreliable_at_severity) {
            return Err(RegistryError::Malformed(
                "unreliable_at_severity must be within 0 to 10".into(),
            ));
        }
        if policy.accepted_rot_types.len() > 32
            || policy
                .accepted_rot_types
                .iter()
                .any(|t| t.is_empty() || t.len() > 128)
        {
            return Err(RegistryError::Malformed(
                "accepted_rot_types must hold at most 32 non-empty names".into(),
            ));
        }
        if policy
            .evidence_window_seconds
            .is_some_and(|w| !(1..=MAX_EVIDENCE_WINDOW_SECONDS).contains(&w))
        {
            return Err(RegistryError::Malformed(format!(
                "evidence_window_seconds must be within 1 to {MAX_EVIDENCE_WINDOW_SECONDS}"
            )));
        }
        let stored = self.store.domain_policies().await?;
        let hosted = crate::domains::hosted(&self.config.trust_domains, &stored);
        if hosted.iter().any(|d| d == name) {
            return Ok(false);
        }
        crate::domains::check_name(name)?;
        if hosted.len() >= MAX_DOMAINS {
            return Err(RegistryError::Malformed(format!(
                "a registry hosts at most {MAX_DOMAINS} trust domains"
            )));
        }
        Ok(true)
    }
}

/// Refuses a root-of-trust type one of the device's domains does not accept.
pub(crate) fn check_rot_type(
    domains: &[String],
    policies: &[Policy],
    rot: &str,
) -> Result<(), RegistryError> {
    for (domain, policy) in domains.iter().zip(policies) {
        if !policy.accepted_rot_types.is_empty()
            && !policy.accepted_rot_types.iter().any(|t| t == rot)
        {
            return Err(RegistryError::RotTypeNotAccepted {
                domain: domain.clone(),
                rot: rot.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Reason;

    const NOW: u64 = 1_800_000_000_000;

    fn facts() -> Facts {
        Facts {
            rot_verified: true,
            acknowledged: true,
            last_report_at_ms: Some(NOW - 7_200_000),
            ..Facts::default()
        }
    }

    // Y.3059 6.1 f
    #[test]
    fn the_worst_domain_wins_with_all_reasons() {
        let strict = Policy {
            max_report_age_seconds: Some(3600),
            ..Policy::default()
        };
        let owner = Policy {
            require_owner_verified: true,
            ..Policy::default()
        };
        let e = evaluate_all(&[Policy::default(), strict.clone()], &facts(), NOW);
        assert_eq!(e.status, TrustStatus::Unverified);
        assert_eq!(e.reasons, vec![Reason::ReportOverdue]);
        let e = evaluate_all(&[owner, strict], &facts(), NOW);
        assert_eq!(
            e.reasons,
            vec![Reason::OwnerNotVerified, Reason::ReportOverdue]
        );
        assert_eq!(
            evaluate_all(&[Policy::default()], &facts(), NOW).status,
            TrustStatus::Trusted
        );
    }

    // Y.3059 9.3 i c
    #[test]
    fn an_overdue_device_leaves_the_due_index() {
        let p = Policy {
            max_report_age_seconds: Some(3600),
            ..Policy::default()
        };
        let f = Facts {
            last_report_at_ms: Some(NOW),
            ..facts()
        };
        assert_eq!(
            next_evaluation_all(std::slice::from_ref(&p), &f, NOW),
            Some(NOW + 3_600_000)
        );
        assert_eq!(next_evaluation_all(&[p], &f, NOW + 3_600_001), None);
    }

    // Y.3059 6.1 f
    #[test]
    fn unstored_domains_follow_the_default() {
        let stored = vec![DomainPolicy {
            name: "health".into(),
            policy: Policy {
                require_owner_verified: true,
                ..Policy::default()
            },
            updated_at_ms: 0,
            reevaluation: None,
        }];
        let got = policies_for(
            &stored,
            &Policy::default(),
            &["energy".into(), "health".into()],
        );
        assert_eq!(got[0], Policy::default());
        assert!(got[1].require_owner_verified);
    }
}
