//! Receiving exchange messages (Y.3059 7 iv d-f, 9.4 i b): the sender's signature checked with
//! its link's key, the origin's sequence checked, updates mirrored and forwarded, gaps healed
//! by snapshots.

use super::send::report;
use super::{
    EXCHANGE_TYP, ExchangeBody, ExchangeClaims, MAX_ITEMS_PER_MESSAGE, Received, StatusItem,
    is_within,
};
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
            ExchangeBody::Update { items } => self.apply_update(&link, &claims, items).await,
            ExchangeBody::SnapshotRequest => self.serve_snapshot(&link, &claims.origin).await,
            ExchangeBody::Snapshot { items, .. } => {
                self.apply_snapshot(&link, &claims, items).await
            }
            ExchangeBody::Vulnerability { report } => {
                self.receive_vulnerability(&link, &claims, *report).await
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
    /// peer's), snapshot requests only of what this registry holds, and vulnerabilities only
    /// from the parent, entered at a registry above this one.
    fn check_origin(
        &self,
        link: &LinkRecord,
        claims: &ExchangeClaims,
    ) -> Result<(), RegistryError> {
        let own = self.config.path.to_string();
        let allowed = match (&claims.body, link.kind) {
            (ExchangeBody::SnapshotRequest, _) => is_within(&claims.origin, &own),
            (ExchangeBody::Vulnerability { .. }, LinkKind::Parent) => {
                claims.origin != own && is_within(&own, &claims.origin)
            }
            (ExchangeBody::Vulnerability { .. }, LinkKind::Child | LinkKind::Peer) => false,
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
                let forwarded = self.forward(from, claims, items.clone()).await?;
                Ok(Received::Applied {
                    items: items.len(),
                    forwarded,
                })
            }
            Applied::Duplicate { .. } => Ok(Received::Duplicate),
            Applied::Gap { last } => {
                let request =
                    self.exchange_claims(&claims.origin, last, ExchangeBody::SnapshotRequest);
                let message = self.sign_exchange(&request).await?;
                report(self.deliver(&[from], &message).await)?;
                Ok(Received::SnapshotRequested)
            }
        }
    }

    /// An applied update goes on up, and across to the peers when it came from below: never
    /// back to where it came from, never from a peer to another peer, so it cannot loop.
    /// Answers to how many registries it went; one that missed it sees a gap and pulls a
    /// snapshot, so a failed forward does not fail the (already applied) receipt.
    async fn forward(
        &self,
        from: &LinkRecord,
        claims: &ExchangeClaims,
        items: Vec<StatusItem>,
    ) -> Result<usize, RegistryError> {
        let links = self.store.links().await?;
        let to: Vec<&LinkRecord> = links
            .iter()
            .filter(|l| {
                l.path != from.path
                    && (l.kind == LinkKind::Parent
                        || (l.kind == LinkKind::Peer && from.kind == LinkKind::Child))
            })
            .collect();
        if to.is_empty() {
            return Ok(0);
        }
        let forward =
            self.exchange_claims(&claims.origin, claims.seq, ExchangeBody::Update { items });
        let message = self.sign_exchange(&forward).await?;
        let failures = self.deliver(&to, &message).await;
        Ok(to.len() - failures.len())
    }

    /// Pages of what this registry knows of `origin`, to the requester.
    async fn serve_snapshot(
        &self,
        to: &LinkRecord,
        origin: &str,
    ) -> Result<Received, RegistryError> {
        let own = origin == self.config.path.to_string();
        // Read before the devices: the snapshot is then at least as new as its number says.
        let seq = if own {
            self.store.current_sequence().await?
        } else {
            self.store.last_sequence(origin).await?
        };
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
        report(failures)?;
        Ok(Received::SnapshotSent { messages })
    }

    async fn apply_snapshot(
        &self,
        from: &LinkRecord,
        claims: &ExchangeClaims,
        items: Vec<StatusItem>,
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
            Applied::Applied => Ok(Received::SnapshotApplied { items: items.len() }),
            Applied::Duplicate { .. } | Applied::Gap { .. } => Ok(Received::Duplicate),
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
                origin_seq: claims.seq,
                received_at_ms: now,
                via: from.path.clone(),
            });
        }
        Ok(mirrors)
    }
}
