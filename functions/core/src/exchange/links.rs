//! Links between registries and the hierarchy's shape (Y.3059 6.1 a, 9.1 v): a primary has one
//! sectoral parent; a sectoral one geographical parent and primary children; a geographical
//! registry sectoral children and geographical peers.

use super::LinkClaims;
use crate::RegistryKind;
use crate::actors::Role;
use crate::error::{NotifyError, RegistryError};
use crate::identifier::{RegId, RegistryPath};
use crate::jose;
use crate::messages::Purpose;
use crate::records::{LinkKind, LinkRecord};
use crate::service::Registry;
use crate::subscriptions::endpoint;

/// The longest inbox URL accepted (SQS queue URLs are far shorter).
const MAX_INBOX_LEN: usize = 1024;

impl Registry {
    pub(super) async fn link_registry_inner(
        &self,
        compact: &str,
    ) -> Result<LinkRecord, RegistryError> {
        let signed = self
            .verify_signed::<LinkClaims>(compact, &[Role::Admin], Purpose::Link)
            .await?;
        let claims = signed.claims;
        let key = jose::key_from_jwk(&claims.public_key)
            .map_err(|e| RegistryError::UnsupportedKey(e.to_string()))?;
        check_inbox(&claims.inbox, self.config.loopback_endpoints)?;
        let path = link_path(&claims.reg_id, &claims.path)?;
        let links = self.store.links().await?;
        if claims.kind == LinkKind::Parent
            && let Some(parent) = links
                .iter()
                .find(|l| l.kind == LinkKind::Parent && l.reg_id != claims.reg_id)
        {
            return Err(RegistryError::LinkConflict(format!(
                "this registry's parent is already {}",
                parent.path
            )));
        }
        check_shape(self.config.kind, &self.config.path, claims.kind, &path)?;
        let link = LinkRecord {
            reg_id: claims.reg_id,
            path: path.to_string(),
            kind: claims.kind,
            // Rebuilt from the key: only the public members are ever stored or published.
            public_key: jose::jwk_from_key(&key),
            inbox: claims.inbox,
            linked_at_ms: self.clock.now_ms(),
            linked_by: signed.actor.audit_name(),
        };
        let audit = self.audit(
            &link.linked_by,
            "link-registry",
            Some(link_target(&link)),
            Ok(()),
        );
        self.store.put_link(&link, &audit).await?;
        self.start_exchange(&link).await.map_err(|e| {
            RegistryError::Notify(NotifyError::Failed(format!(
                "the link to {} is stored, but its first exchange failed ({e}); linking \
                 again retries it",
                link.path
            )))
        })?;
        Ok(link)
    }

    /// The first messages of a new (or renewed) link, so that each side starts from the
    /// other's current state rather than its next change (Y.3059 7 iv d, f): to a child or
    /// peer, a request for everything it holds; to a parent or peer, word that it is linked,
    /// on which it asks the same. Whichever side records the link second finds the other
    /// ready; the first side's message is refused over there as from an unknown registry
    /// (and audited), which costs nothing. Only small messages go out here: the snapshots
    /// themselves are served by the exchange function.
    async fn start_exchange(&self, link: &LinkRecord) -> Result<(), RegistryError> {
        if matches!(link.kind, LinkKind::Child | LinkKind::Peer) {
            self.request_snapshot(link, &link.path).await?;
        }
        if matches!(link.kind, LinkKind::Parent | LinkKind::Peer) {
            let own = self.config.path.to_string();
            let seq = self.store.current_sequence().await?;
            let linked = self.exchange_claims(&own, seq, super::ExchangeBody::Linked);
            let message = self.sign_exchange(&linked).await?;
            super::send::report(self.deliver(&[link], &message).await)?;
        }
        Ok(())
    }
}

fn link_target(link: &LinkRecord) -> String {
    format!("{:?}:{}", link.kind, link.path).to_lowercase()
}

/// The linked registry's path, which must end with its RegID.
fn link_path(reg_id: &str, path: &str) -> Result<RegistryPath, RegistryError> {
    let reg_id: RegId = reg_id.parse().map_err(|_| {
        RegistryError::Malformed(
            "reg_id must be three of A-Z, 0-9, or a geographical registry's country code".into(),
        )
    })?;
    let path: RegistryPath = path
        .parse()
        .map_err(|_| RegistryError::Malformed("path must be 1 to 3 RegIDs joined by '.'".into()))?;
    if path.own_id() != reg_id {
        return Err(RegistryError::Malformed("path must end with reg_id".into()));
    }
    Ok(path)
}

/// Where exchange messages to the linked registry go (Y.3059 9.1 v: registry-to-registry
/// traffic over TLS): an https URL of a public host. Plain http, or a loopback host, only on
/// a stack deployed for tests
/// (`emulator`, the stack's `AllowLoopbackEndpoints`), and there only to the emulator's own
/// endpoints, which serve nothing else; an http inbox anywhere else would carry signed
/// exchange messages in the clear.
fn check_inbox(inbox: &str, emulator: bool) -> Result<(), RegistryError> {
    let refuse = |why: &str| Err(RegistryError::Malformed(format!("inbox {why}")));
    if inbox.len() > MAX_INBOX_LEN || inbox.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("must be a URL of at most 1024 characters, without spaces or controls");
    }
    let rest = inbox
        .strip_prefix("https://")
        .or_else(|| inbox.strip_prefix("http://"))
        .unwrap_or_default();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if emulator && endpoint::is_emulator_host(authority) {
        return Ok(());
    }
    // A public host only: the exchange sends from inside AWS, and an inbox at a private,
    // link-local or loopback address would point it at the registry's own network.
    endpoint::public_https(inbox).map_err(|why| {
        RegistryError::Malformed(format!(
            "inbox must be an https:// URL of a public host (exchange messages between \
             registries travel over TLS only): {why}"
        ))
    })
}

/// Y.3059 6.1 a: which links a registry of `own_kind` at `own` may have.
pub(crate) fn check_shape(
    own_kind: RegistryKind,
    own: &RegistryPath,
    kind: LinkKind,
    other: &RegistryPath,
) -> Result<(), RegistryError> {
    let refuse = |why: &str| Err(RegistryError::InvalidLink(why.to_owned()));
    match (own_kind, kind) {
        (RegistryKind::Primary | RegistryKind::Sectoral, LinkKind::Parent) => {
            if own.parent().as_ref() == Some(other) {
                Ok(())
            } else {
                refuse("a parent's path is this registry's path without its last RegID")
            }
        }
        (RegistryKind::Sectoral | RegistryKind::Geographical, LinkKind::Child) => {
            if other.parent().as_ref() == Some(own) {
                Ok(())
            } else {
                refuse("a child's path is this registry's path and the child's RegID")
            }
        }
        // Bilateral links at every level (6.1 a): a primary with another primary, a sectoral
        // registry with another sectoral one, as geographical registries have; the level is
        // the path's depth.
        (_, LinkKind::Peer) => {
            if other.ids().len() == own.ids().len() && other != own {
                Ok(())
            } else {
                refuse("a peer is another registry of the same level (as many RegIDs in its path)")
            }
        }
        (RegistryKind::Primary, LinkKind::Child) => refuse("a primary registry has no children"),
        (RegistryKind::Geographical, LinkKind::Parent) => {
            refuse("a geographical registry has no parent")
        }
    }
}
