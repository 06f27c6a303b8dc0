//! Vulnerabilities sent down the hierarchy (Y.3059 7 iv d, 9.3 ii b, 9.4 i b): one entered at
//! a sectoral or geographical registry goes, signed, to the children whose subtree it may
//! affect; each stores it, applies it to its own devices (only primaries have any) and sends
//! it on. The devices' changes then go back up as ordinary updates, so every list shows them.
//! One entered at a geographical registry also goes across to the peers whose subtree it may
//! affect, which send it down their own branch and never to another peer: peer to peer goes
//! one step, as updates do, and the marks below drop any copy that comes round again.
//!
//! Downward messages are deduplicated by a mark per (origin, id, state), not by the origin's
//! sequence: a child sees only the numbers its parent sent down (not its updates to its own
//! parent, nor what went to its siblings), so a "gap" there means nothing and no snapshot of
//! the parent could heal it. `seq` still names each message in the audit. The mark is written
//! last, once the report is stored, applied and sent on: a message that failed half way is
//! redelivered and finishes, one that finished is dropped.

use super::send::report;
use super::{ExchangeBody, ExchangeClaims, Received, VulnerabilityReport, is_within};
use crate::error::{NotifyError, RegistryError};
use crate::identifier::RegDevId;
use crate::messages::{SourceKind, VulnerabilityClaims, VulnerabilityTarget};
use crate::records::{
    LinkKind, LinkRecord, VulnerabilityRecord, VulnerabilitySource, VulnerabilityState,
};
use crate::service::Registry;
use crate::vulnerabilities::MAX_BATCH;

/// Batches a receipt re-evaluates before it answers: 500 devices stay well within the exchange
/// function's timeout; a bigger range is continued by `/v1/vulnerabilities/{id}/apply`.
const RECEIPT_BATCHES: usize = 5;
/// Ids the registries hand out are 22 characters; a longer one is refused, so the local id
/// (`<origin>:<id>`) stays a short key.
const MAX_ORIGIN_ID: usize = 32;

impl Registry {
    /// Sends the vulnerability `id` entered here down to the children it may affect, with its
    /// current state. Nothing for one received from above (its origin sends it), nor without
    /// children. Answers the children it went to; a failed delivery is an error that says how
    /// to send it again (`/apply`), as the vulnerability itself is stored.
    pub(crate) async fn send_vulnerability_down(&self, id: &str) -> Result<usize, RegistryError> {
        let Some(record) = self.store.get_vulnerability(id).await? else {
            return Err(RegistryError::VulnerabilityNotFound(id.to_owned()));
        };
        if record.source.kind == SourceKind::Registry {
            return Ok(0);
        }
        let links = self.store.links().await?;
        let mut to = children_reached(&links, &record.target);
        // Entered at a geographical registry, it also goes across to the peers whose
        // subtree it may affect; they send it down to their children, never on to their own
        // peers, so it cannot loop.
        to.extend(peers_reached(&links, &record.target));
        // Numbers are only taken for messages that go somewhere.
        if to.is_empty() {
            return Ok(0);
        }
        let own = self.config.path.to_string();
        let seq = self.store.next_sequence().await?;
        let body = ExchangeBody::Vulnerability {
            report: Box::new(VulnerabilityReport::of_record(&record)),
        };
        let message = self
            .sign_exchange(&self.exchange_claims(&own, seq, body))
            .await?;
        let failures = self.deliver(&to, &message).await;
        report(failures).map_err(|e| {
            RegistryError::Notify(NotifyError::Failed(format!(
                "vulnerability {id} is stored, but sending it down failed ({e}); \
                 POST /v1/vulnerabilities/{id}/apply sends it again"
            )))
        })?;
        Ok(to.len())
    }

    /// A vulnerability from the parent or a peer (checked by `check_origin`): stored, applied,
    /// sent on down.
    pub(super) async fn receive_vulnerability(
        &self,
        from: &LinkRecord,
        claims: &ExchangeClaims,
        report: VulnerabilityReport,
    ) -> Result<Received, RegistryError> {
        let actor = format!("registry:{}", from.path);
        let checked = check_report(&report);
        let target = match checked {
            Ok(target) => target,
            Err(e) => {
                self.audit_rejection(
                    &actor,
                    "receive-exchange",
                    Some(format!("{}#{}", claims.origin, claims.seq)),
                    &e,
                )
                .await;
                return Err(e);
            }
        };
        let mark = mark_of(&claims.origin, &report.id, report.state);
        if self.store.last_sequence(&mark).await? > 0 {
            return Ok(Received::Duplicate);
        }
        let id = format!("{}:{}", claims.origin, report.id);
        let held = self
            .hold_vulnerability(&id, &claims.origin, &report, target, &actor)
            .await?;
        let (affected, complete, forwarded) = if held == report.state {
            let (affected, complete) = self.apply_received(&id).await?;
            let forwarded = self.forward_down(claims, &report).await?;
            (affected, complete, forwarded)
        } else {
            // An open report after its fix (reordered): the fix was applied and sent on, and
            // is not undone.
            (0, true, 0)
        };
        let audit = self.audit(
            &actor,
            "exchange-vulnerability",
            Some(format!(
                "{}#{} vulnerability:{id}",
                claims.origin, claims.seq
            )),
            Ok(()),
        );
        // Another delivery may have finished first: either way it is done once.
        self.store
            .apply_exchange(&mark, 1, false, &[], &audit)
            .await?;
        Ok(Received::Vulnerability {
            id,
            affected,
            complete,
            forwarded,
        })
    }

    /// Stores the report as `id` (source: the origin registry), or moves the stored one to
    /// fixed. Answers the state now held: a fix is never undone by a late open report.
    async fn hold_vulnerability(
        &self,
        id: &str,
        origin: &str,
        report: &VulnerabilityReport,
        target: VulnerabilityTarget,
        actor: &str,
    ) -> Result<VulnerabilityState, RegistryError> {
        match self.store.get_vulnerability(id).await? {
            Some(stored) => {
                if stored.state == VulnerabilityState::Open
                    && report.state == VulnerabilityState::Fixed
                {
                    self.mark_vulnerability_fixed(id, actor).await?;
                    return Ok(VulnerabilityState::Fixed);
                }
                Ok(stored.state)
            }
            None => {
                let now = self.clock.now_ms();
                let fixed = report.state == VulnerabilityState::Fixed;
                let record = VulnerabilityRecord {
                    id: id.to_owned(),
                    source: VulnerabilitySource {
                        kind: SourceKind::Registry,
                        name: origin.to_owned(),
                    },
                    reported_at_ms: report.reported_at_ms,
                    severity: report.severity,
                    cve: report.cve.clone(),
                    summary: report.summary.clone(),
                    target,
                    state: report.state,
                    fixed_in_firmware: report.fixed_in_firmware.clone(),
                    fixed_at_ms: fixed.then_some(now),
                    fixed_by: fixed.then(|| actor.to_owned()),
                    cursor: None,
                    affected: 0,
                    complete: false,
                    version: 1,
                };
                let audit = self.audit(
                    actor,
                    "receive-vulnerability",
                    Some(format!("vulnerability:{id}")),
                    Ok(()),
                );
                self.store.create_vulnerability(&record, &audit).await?;
                Ok(report.state)
            }
        }
    }

    /// The existing re-evaluation, for a bounded number of batches.
    async fn apply_received(&self, id: &str) -> Result<(u64, bool), RegistryError> {
        let mut progress = self.apply_vulnerability(id, MAX_BATCH).await?;
        for _ in 1..RECEIPT_BATCHES {
            if progress.complete {
                break;
            }
            progress = self.apply_vulnerability(id, MAX_BATCH).await?;
        }
        Ok((progress.affected_so_far, progress.complete))
    }

    /// The report on down, unchanged (origin, number, state), re-signed by this registry. A
    /// failed delivery fails the receipt before its mark, so it is delivered again.
    async fn forward_down(
        &self,
        claims: &ExchangeClaims,
        report: &VulnerabilityReport,
    ) -> Result<usize, RegistryError> {
        let links = self.store.links().await?;
        let to = children_reached(&links, &report.target);
        if to.is_empty() {
            return Ok(0);
        }
        let body = ExchangeBody::Vulnerability {
            report: Box::new(report.clone()),
        };
        let message = self
            .sign_exchange(&self.exchange_claims(&claims.origin, claims.seq, body))
            .await?;
        super::send::report(self.deliver(&to, &message).await)?;
        Ok(to.len())
    }
}

impl VulnerabilityReport {
    fn of_record(record: &VulnerabilityRecord) -> Self {
        Self {
            id: record.id.clone(),
            source: record.source.clone(),
            reported_at_ms: record.reported_at_ms,
            severity: record.severity,
            cve: record.cve.clone(),
            summary: record.summary.clone(),
            target: record.target.clone(),
            fixed_in_firmware: record.fixed_in_firmware.clone(),
            state: record.state,
        }
    }
}

/// The children whose subtree holds a device of the target: all of them for a make/model.
fn children_reached<'a>(
    links: &'a [LinkRecord],
    target: &VulnerabilityTarget,
) -> Vec<&'a LinkRecord> {
    links
        .iter()
        .filter(|l| l.kind == LinkKind::Child)
        .filter(|l| reaches(l, target))
        .collect()
}

/// The peers whose subtree holds a device of the target: all of them for a make/model.
fn peers_reached<'a>(links: &'a [LinkRecord], target: &VulnerabilityTarget) -> Vec<&'a LinkRecord> {
    links
        .iter()
        .filter(|l| l.kind == LinkKind::Peer)
        .filter(|l| reaches(l, target))
        .collect()
}

fn reaches(link: &LinkRecord, target: &VulnerabilityTarget) -> bool {
    match target {
        VulnerabilityTarget::Devices { regdevids } => regdevids.iter().any(|r| {
            r.parse::<RegDevId>()
                .is_ok_and(|id| is_within(&id.path.to_string(), &link.path))
        }),
        VulnerabilityTarget::Range { .. } => true,
    }
}

/// What a report entered here would have to satisfy, and an id fit for a key. Answers the
/// normalized target.
fn check_report(report: &VulnerabilityReport) -> Result<VulnerabilityTarget, RegistryError> {
    let id_ok = !report.id.is_empty()
        && report.id.len() <= MAX_ORIGIN_ID
        && report
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !id_ok {
        return Err(RegistryError::Malformed(format!(
            "a vulnerability id is 1 to {MAX_ORIGIN_ID} of A-Z, a-z, 0-9, '-', '_'"
        )));
    }
    crate::vulnerabilities::validate(&VulnerabilityClaims {
        nonce: String::new(),
        severity: report.severity,
        cve: report.cve.clone(),
        summary: report.summary.clone(),
        target: report.target.clone(),
        fixed_in_firmware: report.fixed_in_firmware.clone(),
    })
}

/// The dedupe mark of one report in one state, kept as an origin's sequence item (one
/// number, 1): written once, with its audit record, in one transaction.
fn mark_of(origin: &str, id: &str, state: VulnerabilityState) -> String {
    let state = match state {
        VulnerabilityState::Open => "open",
        VulnerabilityState::Fixed => "fixed",
    };
    format!("{origin}/vulnerability/{id}/{state}")
}
