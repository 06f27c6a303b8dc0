//! Trust status is derived, not set: `evaluate(policy, facts)` (ARCHITECTURE.md).

use serde::{Deserialize, Serialize};

/// Y.3059 6.1 d: the three trust statuses of a registered device, and `Deregistered`, the
/// terminal state of a device whose registration ended (6.3 e): no longer any of the three,
/// since nothing is verified of it any more, and carried wherever statuses go (transitions,
/// notifications, the exchange, statistics) so that everyone who followed it learns it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrustStatus {
    Trusted,
    Unverified,
    Unreliable,
    Deregistered,
}

impl TrustStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trusted => "trusted",
            Self::Unverified => "unverified",
            Self::Unreliable => "unreliable",
            Self::Deregistered => "deregistered",
        }
    }
}

impl std::fmt::Display for TrustStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TrustStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "trusted" => Ok(Self::Trusted),
            "unverified" => Ok(Self::Unverified),
            "unreliable" => Ok(Self::Unreliable),
            "deregistered" => Ok(Self::Deregistered),
            other => Err(UnknownStatus(other.to_owned())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown trust status {0:?}")]
pub struct UnknownStatus(pub String);

/// What a trust domain demands before it calls a device trusted (6.1 f). The skeleton's
/// default policy; per-domain policies are stored by the lifecycle work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub require_acknowledgement: bool,
    pub require_owner_verified: bool,
    /// A report older than this makes the device `unverified`; `None` disables the check.
    pub max_report_age_seconds: Option<u64>,
    /// Open vulnerabilities at or above this severity (0-10, CVSS-like) make it `unreliable`.
    pub unreliable_at_severity: f32,
    /// Root-of-trust types (`device.rot.type`) a device must have to join; empty: any.
    #[serde(default)]
    pub accepted_rot_types: Vec<String>,
    /// How long a device has to answer the registry's request for fresh evidence (9.2 note)
    /// before it is `unverified`; `None`: `DEFAULT_EVIDENCE_WINDOW_SECONDS`. A device of several
    /// domains gets the shortest window among them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_window_seconds: Option<u64>,
}

/// The evidence window of a domain that sets none: a day, time for a device that only
/// connects now and then to fetch its feed.
pub const DEFAULT_EVIDENCE_WINDOW_SECONDS: u64 = 86_400;
/// The longest evidence window a domain may set (30 days): a request still pending after that
/// says nothing fresh about the device.
pub const MAX_EVIDENCE_WINDOW_SECONDS: u64 = 30 * 86_400;

impl Policy {
    /// How long a device has to answer an evidence request under this policy, in seconds.
    pub fn evidence_window_seconds(&self) -> u64 {
        self.evidence_window_seconds
            .unwrap_or(DEFAULT_EVIDENCE_WINDOW_SECONDS)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            require_acknowledgement: true,
            require_owner_verified: false,
            max_report_age_seconds: None,
            unreliable_at_severity: 7.0,
            accepted_rot_types: Vec::new(),
            evidence_window_seconds: None,
        }
    }
}

/// The facts a registry holds about a device; all the status depends on.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Facts {
    pub rot_verified: bool,
    /// The root-of-trust type the device claimed (`device.rot.type`), which each domain's
    /// `accepted_rot_types` is held against whenever the device is evaluated (7 ii). `None`
    /// for a device stored before it was kept here (`policies::reevaluate` fills it in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rot_type: Option<String>,
    /// The manufacturer root the device chains to was revoked (7 ii).
    pub root_revoked: bool,
    /// The intermediate CAs its chain goes through (`rot::intermediate_id`), leaf side
    /// first: what an administrator's revocation of one of them is held against.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intermediates: Vec<String>,
    /// For a TPM device, the root its EK certificate chained to (the TPM manufacturer's): the
    /// device depends on it as on its own root, so removing it, or withdrawing `tpm` from its
    /// `rot_types`, reaches the device (7 ii).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ek_root: Option<String>,
    /// One of `intermediates` was revoked under its root (7 ii).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub intermediate_revoked: bool,
    /// The root no longer vouches for `rot_type`: an administrator put it again without that
    /// type among its `rot_types` (7 ii).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rot_type_withdrawn: bool,
    pub acknowledged: bool,
    pub owner_verified: bool,
    /// Open vulnerabilities by id, so fixing one removes exactly that one (9.3 ii b).
    #[serde(default)]
    pub open_vulnerabilities: Vec<OpenVulnerability>,
    /// When the device last reported its security parameters, signed; registration carries
    /// the initial ones (9.3 iv), so it counts as the first report.
    pub last_report_at_ms: Option<u64>,
    /// The last millisecond the device's certificate chain is valid: the earliest `notAfter`
    /// of its leaf and intermediates. Past it the chain proves nothing any more (7 ii) and the
    /// device is `unverified` until it registers a new certificate. `None` for a device
    /// stored before it was kept here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_not_after_ms: Option<u64>,
    /// Another key claimed this device's identifier (possible clone).
    #[serde(default)]
    pub clone_reports: u32,
    /// Admin or owner holds (stolen, compromised).
    #[serde(default)]
    pub holds: Vec<String>,
    /// The kinds of `holds` an administrator placed: only an administrator releases them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admin_holds: Vec<String>,
    /// The registration ended (6.3 e): the status is `deregistered` for good, whatever else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deregistration: Option<Deregistration>,
    /// The registry asked the device for fresh evidence (9.2 note) and it has not answered
    /// yet; past its `due_at_ms` the device is `unverified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_request: Option<EvidenceRequest>,
}

/// A pending request for fresh evidence: the device answers with a signed report carrying
/// `challenge` before `due_at_ms` (`POST /v1/devices/{regdevid}/reports`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRequest {
    /// Random, unguessable: the answer proves the device read this request.
    pub challenge: String,
    pub requested_at_ms: u64,
    /// Fixed when requested (now plus the shortest window of the device's domains), so a
    /// later change of policy does not move a deadline the device was told.
    pub due_at_ms: u64,
    /// The audit name of the administrator who asked.
    pub by: String,
}

/// Why a device's registration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeregistrationReason {
    /// Taken out of service for good.
    Decommissioned,
    Lost,
    Stolen,
    /// The owner's or custodian's custody ended without a transfer.
    EndOfCustody,
}

impl DeregistrationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decommissioned => "decommissioned",
            Self::Lost => "lost",
            Self::Stolen => "stolen",
            Self::EndOfCustody => "end-of-custody",
        }
    }
}

/// Why and by whom a device was deregistered. When is the time of its transition to
/// `deregistered`, its `status_since` for good: one time, however it is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deregistration {
    pub reason: DeregistrationReason,
    /// The audit name of the owner or administrator who signed it.
    pub by: String,
}

/// A vulnerability that affects the device and is not fixed for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenVulnerability {
    pub id: String,
    /// 0-10, CVSS-like.
    pub severity: f32,
}

/// Why a device is not `trusted`; stored with every transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    RotNotVerified,
    RootRevoked,
    /// An intermediate CA of the device's chain was revoked under its root.
    IntermediateRevoked,
    /// The device's root no longer vouches for its root-of-trust type: the device is
    /// `unverified`, as when a domain stops accepting the type.
    RotTypeWithdrawn,
    /// A domain of the device does not accept its root-of-trust type (any more): the device
    /// is `unverified` (the rule: its root is still proven, the domain's bar moved).
    RotTypeNotAccepted,
    NotAcknowledged,
    OwnerNotVerified,
    VulnerabilityOpen,
    ReportOverdue,
    PossibleClone,
    Hold,
    /// The device's certificate chain expired (`Facts::certificate_not_after_ms`): its
    /// manufacturer no longer vouches for the key, which is no sign of compromise, so the
    /// device is `unverified`.
    CertificateExpired,
    /// The device did not answer the registry's request for fresh evidence in time (9.2
    /// note): nothing recent vouches for it, which is no sign of compromise.
    EvidenceNotProvided,
    /// The registration ended (6.3 e).
    Deregistered,
}

impl Reason {
    /// A hard failure makes the device `unreliable`; the others leave it `unverified`.
    fn is_hard(&self) -> bool {
        matches!(
            self,
            Self::RotNotVerified
                | Self::RootRevoked
                | Self::IntermediateRevoked
                | Self::VulnerabilityOpen
                | Self::PossibleClone
                | Self::Hold
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub status: TrustStatus,
    pub reasons: Vec<Reason>,
}

/// When the device's report falls due under `policy`, if the policy asks for reports.
fn report_due_at_ms(policy: &Policy, facts: &Facts) -> Option<u64> {
    let max = policy.max_report_age_seconds?;
    Some(
        facts
            .last_report_at_ms?
            .saturating_add(max.saturating_mul(1000)),
    )
}

/// The first time after `now_ms` at which time alone changes the evaluation (a report falls
/// due, the certificate chain expires), if ever: the scheduled evaluation looks at the device
/// from then on. A time already past has had its effect and is not one.
pub fn next_evaluation_at_ms(policy: &Policy, facts: &Facts, now_ms: u64) -> Option<u64> {
    let expiry = facts
        .certificate_not_after_ms
        .map(|last| last.saturating_add(1));
    // Overdue from the millisecond after its due time, like a report.
    let evidence = facts
        .evidence_request
        .as_ref()
        .map(|r| r.due_at_ms.saturating_add(1));
    report_due_at_ms(policy, facts)
        .into_iter()
        .chain(expiry)
        .chain(evidence)
        .filter(|at| *at >= now_ms)
        .min()
}

/// `trusted` needs all checks good; `unreliable` follows any hard failure; otherwise `unverified`.
/// `now_ms` only matters for the age of the last report.
pub fn evaluate(policy: &Policy, facts: &Facts, now_ms: u64) -> Evaluation {
    // Terminal: no later fact or policy brings a deregistered device back (6.3 e).
    if facts.deregistration.is_some() {
        return Evaluation {
            status: TrustStatus::Deregistered,
            reasons: vec![Reason::Deregistered],
        };
    }
    let mut reasons = Vec::new();
    if !facts.rot_verified {
        reasons.push(Reason::RotNotVerified);
    }
    if facts.root_revoked {
        reasons.push(Reason::RootRevoked);
    }
    if facts.intermediate_revoked {
        reasons.push(Reason::IntermediateRevoked);
    }
    if facts.rot_type_withdrawn {
        reasons.push(Reason::RotTypeWithdrawn);
    }
    // A policy changed since the device joined applies to it as much as to a new device.
    if let Some(rot) = &facts.rot_type
        && !policy.accepted_rot_types.is_empty()
        && !policy.accepted_rot_types.contains(rot)
    {
        reasons.push(Reason::RotTypeNotAccepted);
    }
    if policy.require_acknowledgement && !facts.acknowledged {
        reasons.push(Reason::NotAcknowledged);
    }
    if policy.require_owner_verified && !facts.owner_verified {
        reasons.push(Reason::OwnerNotVerified);
    }
    if facts
        .open_vulnerabilities
        .iter()
        .any(|v| v.severity >= policy.unreliable_at_severity)
    {
        reasons.push(Reason::VulnerabilityOpen);
    }
    let overdue = match (policy.max_report_age_seconds, facts.last_report_at_ms) {
        (Some(_), None) => true,
        (Some(_), Some(_)) => report_due_at_ms(policy, facts).is_some_and(|due| now_ms > due),
        (None, _) => false,
    };
    if overdue {
        reasons.push(Reason::ReportOverdue);
    }
    if facts
        .certificate_not_after_ms
        .is_some_and(|last| now_ms > last)
    {
        reasons.push(Reason::CertificateExpired);
    }
    if facts
        .evidence_request
        .as_ref()
        .is_some_and(|r| now_ms > r.due_at_ms)
    {
        reasons.push(Reason::EvidenceNotProvided);
    }
    if facts.clone_reports > 0 {
        reasons.push(Reason::PossibleClone);
    }
    if !facts.holds.is_empty() {
        reasons.push(Reason::Hold);
    }
    let status = if reasons.iter().any(Reason::is_hard) {
        TrustStatus::Unreliable
    } else if reasons.is_empty() {
        TrustStatus::Trusted
    } else {
        TrustStatus::Unverified
    };
    Evaluation { status, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    fn good() -> Facts {
        Facts {
            rot_verified: true,
            acknowledged: true,
            ..Facts::default()
        }
    }

    // Y.3059 6.1 d
    #[test]
    fn all_checks_good_is_trusted() {
        let e = evaluate(&Policy::default(), &good(), NOW);
        assert_eq!(e.status, TrustStatus::Trusted);
        assert!(e.reasons.is_empty());
    }

    // Y.3059 7 iv b
    #[test]
    fn unacknowledged_device_is_unverified() {
        let facts = Facts {
            acknowledged: false,
            ..good()
        };
        let e = evaluate(&Policy::default(), &facts, NOW);
        assert_eq!(e.status, TrustStatus::Unverified);
        assert_eq!(e.reasons, vec![Reason::NotAcknowledged]);
    }

    // Y.3059 7 ii
    // A domain that does not accept the device's root-of-trust type makes it unverified; no
    // list accepts any type.
    #[test]
    fn a_rot_type_the_policy_does_not_accept_is_unverified() {
        let facts = Facts {
            rot_type: Some("secure-element".into()),
            ..good()
        };
        let tpm_only = Policy {
            accepted_rot_types: vec!["tpm".into()],
            ..Policy::default()
        };
        let e = evaluate(&tpm_only, &facts, NOW);
        assert_eq!(e.status, TrustStatus::Unverified);
        assert_eq!(e.reasons, vec![Reason::RotTypeNotAccepted]);
        let both = Policy {
            accepted_rot_types: vec!["tpm".into(), "secure-element".into()],
            ..Policy::default()
        };
        assert_eq!(evaluate(&both, &facts, NOW).status, TrustStatus::Trusted);
        assert_eq!(
            evaluate(&Policy::default(), &facts, NOW).status,
            TrustStatus::Trusted
        );
    }

    // Y.3059 7 ii
    #[test]
    fn revoked_root_is_unreliable() {
        let facts = Facts {
            root_revoked: true,
            ..good()
        };
        assert_eq!(
            evaluate(&Policy::default(), &facts, NOW).status,
            TrustStatus::Unreliable
        );
    }

    #[test]
    fn possible_clone_is_unreliable_even_when_unacknowledged() {
        let facts = Facts {
            acknowledged: false,
            clone_reports: 1,
            ..good()
        };
        let e = evaluate(&Policy::default(), &facts, NOW);
        assert_eq!(e.status, TrustStatus::Unreliable);
        assert!(e.reasons.contains(&Reason::NotAcknowledged));
        assert!(e.reasons.contains(&Reason::PossibleClone));
    }

    fn open(severity: f32) -> Vec<OpenVulnerability> {
        vec![OpenVulnerability {
            id: "v1".into(),
            severity,
        }]
    }

    // Y.3059 9.3 ii b
    #[test]
    fn severity_threshold_is_inclusive() {
        let policy = Policy::default();
        let below = Facts {
            open_vulnerabilities: open(6.9),
            ..good()
        };
        let at = Facts {
            open_vulnerabilities: open(7.0),
            ..good()
        };
        assert_eq!(evaluate(&policy, &below, NOW).status, TrustStatus::Trusted);
        assert_eq!(evaluate(&policy, &at, NOW).status, TrustStatus::Unreliable);
    }

    // Y.3059 6.1 f
    #[test]
    fn domain_policy_changes_the_outcome() {
        let strict = Policy {
            require_owner_verified: true,
            max_report_age_seconds: Some(3600),
            ..Policy::default()
        };
        let facts = Facts {
            last_report_at_ms: Some(NOW - 7_200_000),
            ..good()
        };
        let e = evaluate(&strict, &facts, NOW);
        assert_eq!(e.status, TrustStatus::Unverified);
        assert_eq!(
            e.reasons,
            vec![Reason::OwnerNotVerified, Reason::ReportOverdue]
        );
        assert_eq!(
            evaluate(&Policy::default(), &facts, NOW).status,
            TrustStatus::Trusted
        );
    }

    // Y.3059 9.3 i c
    #[test]
    fn a_report_falls_due_exactly_after_the_maximum_age() {
        let policy = Policy {
            max_report_age_seconds: Some(60),
            ..Policy::default()
        };
        let facts = Facts {
            last_report_at_ms: Some(NOW),
            ..good()
        };
        assert_eq!(
            next_evaluation_at_ms(&policy, &facts, NOW),
            Some(NOW + 60_000)
        );
        assert_eq!(
            evaluate(&policy, &facts, NOW + 60_000).status,
            TrustStatus::Trusted
        );
        let late = evaluate(&policy, &facts, NOW + 60_001);
        assert_eq!(late.status, TrustStatus::Unverified);
        assert_eq!(late.reasons, vec![Reason::ReportOverdue]);
        let never = Facts {
            last_report_at_ms: None,
            ..good()
        };
        assert_eq!(
            evaluate(&policy, &never, NOW).status,
            TrustStatus::Unverified
        );
        assert_eq!(next_evaluation_at_ms(&Policy::default(), &facts, NOW), None);
    }

    // Y.3059 6.3 e
    #[test]
    fn a_deregistered_device_stays_deregistered_whatever_else_holds() {
        let facts = Facts {
            deregistration: Some(Deregistration {
                reason: DeregistrationReason::Decommissioned,
                by: "owner:o1".into(),
            }),
            ..good()
        };
        let e = evaluate(&Policy::default(), &facts, NOW);
        assert_eq!(e.status, TrustStatus::Deregistered);
        assert_eq!(e.reasons, vec![Reason::Deregistered]);
        let worse = Facts {
            clone_reports: 3,
            holds: vec!["stolen".into()],
            ..facts
        };
        assert_eq!(
            evaluate(&Policy::default(), &worse, NOW).status,
            TrustStatus::Deregistered
        );
    }

    #[test]
    fn status_text_round_trips() {
        for s in [
            TrustStatus::Trusted,
            TrustStatus::Unverified,
            TrustStatus::Unreliable,
            TrustStatus::Deregistered,
        ] {
            assert_eq!(s.as_str().parse::<TrustStatus>().ok(), Some(s));
        }
        assert!("maybe".parse::<TrustStatus>().is_err());
    }

    // Y.3059 7 ii
    // The chain proves the root of trust until its last valid millisecond; after it the
    // device is unverified, and the scheduled evaluation is due then even when a report is
    // due later, or fell due already.
    #[test]
    fn an_expired_certificate_makes_the_device_unverified_at_its_expiry() {
        let policy = Policy {
            max_report_age_seconds: Some(3600),
            ..Policy::default()
        };
        let facts = Facts {
            last_report_at_ms: Some(NOW),
            certificate_not_after_ms: Some(NOW + 60_000),
            ..good()
        };
        assert_eq!(
            next_evaluation_at_ms(&policy, &facts, NOW),
            Some(NOW + 60_001)
        );
        assert_eq!(
            evaluate(&policy, &facts, NOW + 60_000).status,
            TrustStatus::Trusted
        );
        let expired = evaluate(&policy, &facts, NOW + 60_001);
        assert_eq!(expired.status, TrustStatus::Unverified);
        assert_eq!(expired.reasons, vec![Reason::CertificateExpired]);
        // Past the expiry only the report remains ahead; past both, nothing.
        assert_eq!(
            next_evaluation_at_ms(&policy, &facts, NOW + 60_002),
            Some(NOW + 3_600_000)
        );
        assert_eq!(
            next_evaluation_at_ms(&policy, &facts, NOW + 3_600_001),
            None
        );
        // A report overdue already does not hide the expiry still ahead.
        let overdue = Facts {
            last_report_at_ms: Some(NOW - 7_200_000),
            ..facts
        };
        assert_eq!(
            next_evaluation_at_ms(&policy, &overdue, NOW),
            Some(NOW + 60_001)
        );
    }

    fn requested(due_at_ms: u64) -> Facts {
        Facts {
            evidence_request: Some(EvidenceRequest {
                challenge: "c".into(),
                requested_at_ms: NOW,
                due_at_ms,
                by: "admin:alice".into(),
            }),
            ..good()
        }
    }

    // Y.3059 9.2 note
    // A device asked for fresh evidence stays trusted until its due time, and is unverified
    // (evidence_not_provided) from the millisecond after, when the scheduled evaluation
    // looks at it.
    #[test]
    fn an_unanswered_evidence_request_makes_the_device_unverified_after_its_due_time() {
        let facts = requested(NOW + 2_000);
        let policy = Policy::default();
        assert_eq!(
            next_evaluation_at_ms(&policy, &facts, NOW),
            Some(NOW + 2_001)
        );
        assert_eq!(
            evaluate(&policy, &facts, NOW + 2_000).status,
            TrustStatus::Trusted
        );
        let late = evaluate(&policy, &facts, NOW + 2_001);
        assert_eq!(late.status, TrustStatus::Unverified);
        assert_eq!(late.reasons, vec![Reason::EvidenceNotProvided]);
        assert_eq!(next_evaluation_at_ms(&policy, &facts, NOW + 2_002), None);
    }

    // Y.3059 9.2 note
    // The answer clears the request: the device is trusted again if nothing else holds it
    // back, and only unverified, never unreliable, while it was overdue.
    #[test]
    fn an_answered_evidence_request_restores_the_device() {
        let answered = Facts {
            evidence_request: None,
            ..requested(NOW)
        };
        assert_eq!(
            evaluate(&Policy::default(), &answered, NOW + 10_000).status,
            TrustStatus::Trusted
        );
        let held = Facts {
            holds: vec!["stolen".into()],
            ..requested(NOW)
        };
        let e = evaluate(&Policy::default(), &held, NOW + 10_000);
        assert_eq!(e.status, TrustStatus::Unreliable);
        assert_eq!(e.reasons, vec![Reason::EvidenceNotProvided, Reason::Hold]);
    }

    #[test]
    fn the_evidence_window_defaults_to_a_day() {
        assert_eq!(Policy::default().evidence_window_seconds(), 86_400);
        let short = Policy {
            evidence_window_seconds: Some(2),
            ..Policy::default()
        };
        assert_eq!(short.evidence_window_seconds(), 2);
    }
}
