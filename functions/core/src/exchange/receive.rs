//! Receiving exchange messages (Y.3059 7 iv d-f, 9.4 i b): the sender's signature checked with
//! its link's key, the origin's sequence checked, updates mirrored and forwarded, gaps healed
//! by snapshots.

use super::send::report;
use super::{
    EXCHANGE_TYP, ExchangeBody, ExchangeClaims, MAX_ITEMS_PER_MESSAGE, Received, StatusItem,
    is_within,
};
use crate::RegistryKind;
use crate::error::RegistryError;
use crate::identifier::RegDevId;
use crate::jose;
use crate::ports::{Applied, DeviceQuery};
use crate::records::{LinkKind, LinkRecord, MirrorRecord};
use crate::service::Registry;

impl Registry {
    pub(super) async fn receive_exchange_inner(
        &self,
        compact: &str,
        attempt: u32,
    ) -> Result<Received, RegistryError> {
        let (link, claims) = match self.verify_exchange(compact).await {
            Ok(verified) => verified,
            Err((actor, e)) => {
                self.audit_rejection(&actor, "receive-exchange", None, &e)
                    .await;
                return Err(e);
            }
        };
        match claims.body.clone() {
            ExchangeBody::Update { items } => {
                let may_wait = attempt <= super::REORDER_DEFERRALS;
                self.apply_update(&link, &claims, items, may_wait).await
            }
            ExchangeBody::SnapshotRequest => self.serve_snapshot(&link, &claims.origin).await,
            ExchangeBody::Snapshot { items, last_page } => {
                self.apply_snapshot(&link, &claims, items, last_page).await
            }
            ExchangeBody::Linked => self.pull_on_link(&link).await,
            ExchangeBody::Vulnerability { report } => {
                self.receive_vulnerability(&link, &claims, *report).await
            }
            ExchangeBody::PossibleClone { regdevids, .. } => {
                self.receive_possible_clone(&link, &claims, &regdevids)
                    .await
            }
        }
    }

    /// The message's sender link and claims, or the refusal with who it names as actor.
    async fn verify_exchange(
        &self,
        compact: &str,
    ) -> Result<(LinkRecord, ExchangeClaims), (String, RegistryError)> {
        let jws = jose::parse(compact)
            .map_err(|e| ("unknown".to_owned(), RegistryError::MalformedJws(e)))?;
        // Read before verifying only to find whose key verifies it.
        let claims: ExchangeClaims = jws.claims().map_err(|e| {
            (
                "unknown".to_owned(),
                RegistryError::Malformed(e.to_string()),
            )
        })?;
        let actor = format!("registry:{}", claims.sender);
        let refuse = |e: RegistryError| (actor.clone(), e);
        if jws.header().typ.as_deref() != Some(EXCHANGE_TYP) {
            return Err(refuse(RegistryError::Forbidden(
                "not an exchange message".into(),
            )));
        }
        let links = self.store.links().await.map_err(|e| refuse(e.into()))?;
        let link = links
            .into_iter()
            .find(|l| l.path == claims.sender)
            .ok_or_else(|| refuse(RegistryError::UnknownSigner))?;
        let key = jose::key_from_jwk(&link.public_key)
            .map_err(|e| refuse(RegistryError::UnsupportedKey(e.to_string())))?;
        jws.verify(&key)
            .map_err(|_| refuse(RegistryError::BadSignature))?;
        self.check_origin(&link, &claims).map_err(refuse)?;
        Ok((link, claims))
    }

    /// What each link may say: changes only of registries below it (a child's subtree, or a
    /// peer's), snapshot requests only of what this registry holds, that it linked this
    /// registry only of itself, and vulnerabilities from the parent (entered above this
    /// registry, or at a geographical registry the parent's apex is a peer of) or from a peer
    /// (entered there).
    fn check_origin(
        &self,
        link: &LinkRecord,
        claims: &ExchangeClaims,
    ) -> Result<(), RegistryError> {
        let own = self.config.path.to_string();
        let allowed = match (&claims.body, link.kind) {
            (ExchangeBody::SnapshotRequest, _) => is_within(&claims.origin, &own),
            (ExchangeBody::Linked, LinkKind::Child | LinkKind::Peer) => claims.origin == link.path,
            (ExchangeBody::Linked, LinkKind::Parent) => false,
            (ExchangeBody::Vulnerability { .. }, LinkKind::Parent) => {
                let geographical = !claims.origin.contains('.');
                claims.origin != own && (is_within(&own, &claims.origin) || geographical)
            }
            (ExchangeBody::Vulnerability { .. }, LinkKind::Peer) => claims.origin == link.path,
            (ExchangeBody::Vulnerability { .. }, LinkKind::Child) => false,
            // Found by a registry above this one, and passed down the branch.
            (ExchangeBody::PossibleClone { .. }, LinkKind::Parent) => {
                claims.origin != own && is_within(&own, &claims.origin)
            }
            (ExchangeBody::PossibleClone { .. }, LinkKind::Child | LinkKind::Peer) => false,
            (_, LinkKind::Child | LinkKind::Peer) => is_within(&claims.origin, &link.path),
            (_, LinkKind::Parent) => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(RegistryError::Forbidden(format!(
                "{} may not speak for {}",
                link.path, claims.origin
            )))
        }
    }

    async fn apply_update(
        &self,
        from: &LinkRecord,
        claims: &ExchangeClaims,
        items: Vec<StatusItem>,
        may_wait: bool,
    ) -> Result<Received, RegistryError> {
        let mirrors = self.mirrors_of(from, claims, &items).await?;
        let audit = self.audit(
            &format!("registry:{}", from.path),
            "exchange-update",
            Some(format!("{}#{}", claims.origin, claims.seq)),
            Ok(()),
        );
        match self
            .store
            .apply_exchange(&claims.origin, claims.seq, false, &mirrors, &audit)
            .await?
        {
            Applied::Applied => {
                let items_len = items.len();
                let forwarded = self
                    .forward(from, claims, ExchangeBody::Update { items })
                    .await?;
                self.check_clones(from, &mirrors).await?;
                Ok(Received::Applied {
                    items: items_len,
                    forwarded,
                })
            }
            // Y.3059 7 i c: a message dropped or held back is received all the same, and
            // its record is what shows a replay or an early update arrived.
            Applied::Duplicate { .. } => {
                self.audit_receipt(from, claims, "exchange-duplicate")
                    .await?;
                // A receipt that failed after applying finishes its check now.
                self.check_clones(from, &mirrors).await?;
                Ok(Received::Duplicate)
            }
            // Nothing was written: delivered again, it is checked anew.
            Applied::Gap { last } if may_wait => {
                self.audit_receipt(from, claims, "exchange-deferred")
                    .await?;
                Ok(Received::Deferred {
                    waiting_for: last + 1,
                })
            }
            Applied::Gap { .. } => {
                self.request_snapshot(from, &claims.origin).await?;
                Ok(Received::SnapshotRequested)
            }
        }
    }

    /// Records that `claims` arrived from `from` and what became of it (`action`), under the
    /// update's `<origin>#<seq>` as applied updates are.
    async fn audit_receipt(
        &self,
        from: &LinkRecord,
        claims: &ExchangeClaims,
        action: &str,
    ) -> Result<(), RegistryError> {
        let audit = self.audit(
            &format!("registry:{}", from.path),
            action,
            Some(format!("{}#{}", claims.origin, claims.seq)),
            Ok(()),
        );
        self.store.record_audit(&audit).await?;
        Ok(())
    }

    /// An applied update or snapshot page that came from below goes on up and across to the
    /// peers: never back to where it came from, and nothing that came from a peer goes
    /// further (a peer's parent hears of it from its own branch), so it cannot loop. Answers to how many registries it went; one that missed an update sees a
    /// gap and pulls a snapshot, so a failed forward does not fail the (already applied)
    /// receipt.
    async fn forward(
        &self,
        from: &LinkRecord,
        claims: &ExchangeClaims,
        body: ExchangeBody,
    ) -> Result<usize, RegistryError> {
        let links = self.store.links().await?;
        let to: Vec<&LinkRecord> = links
            .iter()
            .filter(|l| {
                from.kind == LinkKind::Child
                    && l.path != from.path
                    && matches!(l.kind, LinkKind::Parent | LinkKind::Peer)
            })
            .collect();
        if to.is_empty() {
            return Ok(0);
        }
        let forward = self.exchange_claims(&claims.origin, claims.seq, body);
        let message = self.sign_exchange(&forward).await?;
        let failures = self.deliver(&to, &message).await;
        Ok(to.len() - failures.len())
    }

    /// Pages of what this registry knows of `origin`, to the requester; asked of its own
    /// path, everything it holds of its subtree (a new link's first pull).
    async fn serve_snapshot(
        &self,
        to: &LinkRecord,
        origin: &str,
    ) -> Result<Received, RegistryError> {
        let origins = if origin == self.config.path.to_string() {
            self.held_origins().await?
        } else {
            vec![origin.to_owned()]
        };
        let mut messages = 0;
        let mut failures = Vec::new();
        for origin in &origins {
            let (sent, failed) = self.send_snapshot(to, origin).await?;
            messages += sent;
            failures.extend(failed);
        }
        report(failures)?;
        Ok(Received::SnapshotSent { messages })
    }

    /// The origins of this registry's subtree it holds devices of: itself when it is a
    /// primary (only primaries register devices, 6.1 b), and each registry below it mirrored
    /// here. Never a peer's: what came across goes no further.
    async fn held_origins(&self) -> Result<Vec<String>, RegistryError> {
        let own = self.config.path.to_string();
        let mut origins = Vec::new();
        if self.config.kind == RegistryKind::Primary {
            origins.push(own.clone());
        }
        origins.extend(
            self.store
                .mirrored_origins()
                .await?
                .into_iter()
                .filter(|o| *o != own && is_within(o, &own)),
        );
        Ok(origins)
    }

    /// One origin's snapshot, in pages, to `to`: answers the pages sent and the deliveries
    /// that failed. Nothing for an origin this registry holds nothing of.
    async fn send_snapshot(
        &self,
        to: &LinkRecord,
        origin: &str,
    ) -> Result<(usize, Vec<crate::error::NotifyError>), RegistryError> {
        let own = origin == self.config.path.to_string();
        // Read before the devices: the snapshot is then at least as new as its number says.
        let seq = if own {
            match self.store.current_sequence().await? {
                // Nothing sent yet (no link took a number): the snapshot takes the first, so
                // the next update follows it.
                0 => self.store.next_sequence().await?,
                current => current,
            }
        } else {
            self.store.last_sequence(origin).await?
        };
        if seq == 0 {
            return Ok((0, Vec::new()));
        }
        let audit = self.audit(
            &format!("registry:{}", to.path),
            "exchange-snapshot-request",
            Some(format!("{origin}#{seq}")),
            Ok(()),
        );
        self.store.record_audit(&audit).await?;
        let mut cursor: Option<String> = None;
        let mut messages = 0;
        let mut failures = Vec::new();
        loop {
            let (items, next) = if own {
                let page = self
                    .store
                    .search_devices(
                        &DeviceQuery::default(),
                        cursor.as_deref(),
                        MAX_ITEMS_PER_MESSAGE,
                    )
                    .await?;
                (
                    page.items.iter().map(StatusItem::of_device).collect(),
                    page.next,
                )
            } else {
                let page = self
                    .store
                    .mirrors_of_origin(origin, cursor.as_deref(), MAX_ITEMS_PER_MESSAGE)
                    .await?;
                (
                    page.items.iter().map(StatusItem::of_mirror).collect(),
                    page.next,
                )
            };
            let body = ExchangeBody::Snapshot {
                items,
                last_page: next.is_none(),
            };
            let message = self
                .sign_exchange(&self.exchange_claims(origin, seq, body))
                .await?;
            failures.extend(self.deliver(&[to], &message).await);
            messages += 1;
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok((messages, failures))
    }

    /// A child or peer says it linked this registry: both sides are recorded now, so this
    /// registry pulls everything the other holds of its subtree.
    async fn pull_on_link(&self, from: &LinkRecord) -> Result<Received, RegistryError> {
        self.request_snapshot(from, &from.path).await?;
        Ok(Received::SnapshotRequested)
    }

    /// Asks `from` for a snapshot of `origin` (of everything below it when `origin` is its
    /// path).
    pub(super) async fn request_snapshot(
        &self,
        from: &LinkRecord,
        origin: &str,
    ) -> Result<(), RegistryError> {
        let last = self.store.last_sequence(origin).await?;
        let request = self.exchange_claims(origin, last, ExchangeBody::SnapshotRequest);
        let message = self.sign_exchange(&request).await?;
        report(self.deliver(&[from], &message).await)
    }

    /// A snapshot page, applied and forwarded like an update: the registries above learn
    /// what a new link or a healed gap brought.
    async fn apply_snapshot(
        &self,
        from: &LinkRecord,
        claims: &ExchangeClaims,
        items: Vec<StatusItem>,
        last_page: bool,
    ) -> Result<Received, RegistryError> {
        let mirrors = self.mirrors_of(from, claims, &items).await?;
        let audit = self.audit(
            &format!("registry:{}", from.path),
            "exchange-snapshot",
            Some(format!("{}#{}", claims.origin, claims.seq)),
            Ok(()),
        );
        match self
            .store
            .apply_exchange(&claims.origin, claims.seq, true, &mirrors, &audit)
            .await?
        {
            Applied::Applied => {
                let items_len = items.len();
                self.forward(from, claims, ExchangeBody::Snapshot { items, last_page })
                    .await?;
                self.check_clones(from, &mirrors).await?;
                Ok(Received::SnapshotApplied { items: items_len })
            }
            Applied::Duplicate { .. } => {
                self.check_clones(from, &mirrors).await?;
                Ok(Received::Duplicate)
            }
            Applied::Gap { .. } => Ok(Received::Duplicate),
        }
    }

    /// The items as mirrors. Every device must be registered at the origin: a registry speaks
    /// only for its own subtree. A refusal is audited.
    async fn mirrors_of(
        &self,
        from: &LinkRecord,
        claims: &ExchangeClaims,
        items: &[StatusItem],
    ) -> Result<Vec<MirrorRecord>, RegistryError> {
        let now = self.clock.now_ms();
        let mut mirrors = Vec::with_capacity(items.len());
        for item in items {
            let regdevid = item
                .regdevid
                .parse::<RegDevId>()
                .ok()
                .filter(|id| id.path.to_string() == claims.origin);
            let Some(regdevid) = regdevid else {
                let refusal = RegistryError::Forbidden(format!(
                    "{} is not a device of {}",
                    item.regdevid, claims.origin
                ));
                self.audit_rejection(
                    &format!("registry:{}", from.path),
                    "receive-exchange",
                    Some(claims.origin.clone()),
                    &refusal,
                )
                .await;
                return Err(refusal);
            };
            mirrors.push(MirrorRecord {
                regdevid,
                origin: claims.origin.clone(),
                status: item.status,
                status_since_ms: item.status_since_ms,
                make: item.make.clone(),
                model: item.model.clone(),
                trust_domains: item.trust_domains.clone(),
                root_id: item.root.clone(),
                origin_seq: claims.seq,
                received_at_ms: now,
                via: from.path.clone(),
            });
        }
        Ok(mirrors)
    }
}
