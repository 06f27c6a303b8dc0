//! Sending exchange messages: this registry's own changes up to its parent and across to its
//! peers, each message signed once by the registry's KMS key.

use super::{EXCHANGE_TYP, ExchangeBody, ExchangeClaims, MAX_ITEMS_PER_MESSAGE, StatusItem};
use crate::error::{NotifyError, RegistryError};
use crate::records::{DeviceRecord, LinkKind, LinkRecord};
use crate::service::Registry;

impl Registry {
    pub(super) async fn send_updates_inner(
        &self,
        devices: &[DeviceRecord],
    ) -> Result<usize, RegistryError> {
        if devices.is_empty() {
            return Ok(0);
        }
        let links = self.store.links().await?;
        let destinations: Vec<&LinkRecord> = links
            .iter()
            .filter(|l| matches!(l.kind, LinkKind::Parent | LinkKind::Peer))
            .collect();
        // Numbers are only taken for messages that go somewhere: a gap must mean a loss.
        if destinations.is_empty() {
            return Ok(0);
        }
        let own = self.config.path.to_string();
        let mut failures = Vec::new();
        let mut sent = 0;
        for chunk in devices.chunks(MAX_ITEMS_PER_MESSAGE) {
            let seq = self.store.next_sequence().await?;
            let claims = self.exchange_claims(
                &own,
                seq,
                ExchangeBody::Update {
                    items: chunk.iter().map(StatusItem::of_device).collect(),
                },
            );
            let message = self.sign_exchange(&claims).await?;
            failures.extend(self.deliver(&destinations, &message).await);
            sent += 1;
        }
        report(failures)?;
        Ok(sent)
    }

    pub(super) fn exchange_claims(
        &self,
        origin: &str,
        seq: u64,
        body: ExchangeBody,
    ) -> ExchangeClaims {
        ExchangeClaims {
            sender: self.config.path.to_string(),
            origin: origin.to_owned(),
            seq,
            iat: self.clock.now_ms() / 1000,
            body,
        }
    }

    /// One KMS signature per message, however many inboxes it goes to.
    pub(super) async fn sign_exchange(
        &self,
        claims: &ExchangeClaims,
    ) -> Result<String, RegistryError> {
        self.sign_statement(EXCHANGE_TYP, claims).await
    }

    /// Sends `message` to every link's inbox: one inbox failing does not keep it from the
    /// others. Answers the failures.
    pub(super) async fn deliver(&self, to: &[&LinkRecord], message: &str) -> Vec<NotifyError> {
        let Some(outbox) = &self.outbox else {
            return vec![NotifyError::Failed(
                "this function has no exchange outbox".into(),
            )];
        };
        let mut failures = Vec::new();
        for link in to {
            if let Err(e) = outbox.send(&link.inbox, message).await {
                failures.push(NotifyError::Failed(format!("{}: {e}", link.path)));
            }
        }
        failures
    }
}

/// Any failed delivery fails the call, so that the caller retries: a destination that missed a
/// message sees a gap in the sequence and pulls a snapshot.
pub(super) fn report(failures: Vec<NotifyError>) -> Result<(), RegistryError> {
    if failures.is_empty() {
        return Ok(());
    }
    let all: Vec<String> = failures.into_iter().map(|f| f.to_string()).collect();
    Err(RegistryError::Notify(NotifyError::Failed(all.join("; "))))
}
