//! Subscriptions (Y.3059 9.4 i a, 7 iv e; card C8): an authenticated enquirer, agency, owner or
//! administrator subscribes an endpoint to the notifications of one trust domain's topic, with
//! a filter policy on the attributes the registry publishes. Everything the request says is
//! checked before the notification service is asked; the endpoint is stored sealed.

pub(crate) mod endpoint;
mod filter;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest;
use trustreg_model::routes::Op;

use crate::actors::Role;
use crate::error::{NotifyError, RegistryError, StoreError};
use crate::ports::SubscriptionBroker;
use crate::records::SubscriptionRecord;
use crate::service::{Registry, hex, rfc3339};
use crate::sessions::{Principal, subscription_target};

pub use filter::{FILTER_ATTRIBUTES, MAX_FILTER_ATTRIBUTES, MAX_FILTER_VALUES};
pub use trustreg_model::answers::{
    Protocol, SubscriptionList, SubscriptionRequest, SubscriptionState, SubscriptionView,
};

/// Subscriptions one subscriber may hold: each is an SNS subscription that costs deliveries.
pub const MAX_SUBSCRIPTIONS_PER_OWNER: usize = 20;

/// The answer of `POST /v1/subscriptions`: `created` is false when the caller already held the
/// same subscription (the service answers a repeat with the same subscription).
#[derive(Debug, Clone, PartialEq)]
pub struct Subscribed {
    pub subscription: SubscriptionView,
    pub created: bool,
}

impl Registry {
    /// An owner subscribes to its own devices only (anyone may become an owner without
    /// approval; a whole domain's notifications are for approved enquirers): its filter names
    /// every device in `regdevid` by exact value, each one the owner holds now.
    async fn own_devices_only(
        &self,
        owner: &str,
        filter: &serde_json::Value,
    ) -> Result<(), RegistryError> {
        let refuse = || {
            RegistryError::Forbidden(
                "an owner subscribes to its own devices only: name them in filter.regdevid".into(),
            )
        };
        let named = filter
            .get("regdevid")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(refuse)?;
        let owned: std::collections::HashSet<String> = self
            .store
            .devices_of_owner(owner)
            .await?
            .into_iter()
            .map(|r| r.to_string())
            .collect();
        let all_owned = named
            .iter()
            .all(|v| v.as_str().is_some_and(|r| owned.contains(r)));
        if named.is_empty() || !all_owned {
            return Err(refuse());
        }
        Ok(())
    }
}

/// What is left of a request once checked.
struct Checked {
    domain: String,
    protocol: Protocol,
    endpoint: String,
    filter: serde_json::Value,
}

impl Registry {
    /// `POST /v1/subscriptions`: checks the domain, endpoint and filter, then subscribes with
    /// the notification service and stores the subscription with its audit record.
    pub async fn subscribe(
        &self,
        caller: Option<&Principal>,
        request: SubscriptionRequest,
    ) -> Result<Subscribed, RegistryError> {
        let principal = self.require(caller, Op::Subscribe, None).await?;
        let result = self.subscribe_inner(principal, request).await;
        if let Err(e) = &result {
            self.audit_rejection(&principal.subject, "subscribe", None, e)
                .await;
        }
        result
    }

    async fn subscribe_inner(
        &self,
        principal: &Principal,
        request: SubscriptionRequest,
    ) -> Result<Subscribed, RegistryError> {
        let hosted = self.hosted_domains().await?;
        let checked = self.check(request, &hosted)?;
        if let Some(owner) = principal.owner_id() {
            self.own_devices_only(owner, &checked.filter).await?;
        }
        // A read, not a condition: concurrent requests of one subscriber may pass it together
        // by one or two; the limit bounds cost, it guards no invariant.
        let held = self.store.subscriptions_of(&principal.subject).await?;
        if held.len() >= MAX_SUBSCRIPTIONS_PER_OWNER {
            return Err(RegistryError::SubscriptionLimit {
                max: MAX_SUBSCRIPTIONS_PER_OWNER,
            });
        }
        let broker = self.broker()?;
        let arn = broker
            .subscribe(
                &checked.domain,
                checked.protocol.as_str(),
                &checked.endpoint,
                &checked.filter,
            )
            .await?;
        let id = subscription_id(&arn, || self.random_token());
        // The service answers a repeat of an existing subscription with that subscription.
        if let Some(existing) = self.store.get_subscription(&id).await? {
            return self.repeated(principal, existing, &checked).await;
        }
        match self.keep(principal, &checked, &id, &arn).await {
            Ok(record) => {
                let state = broker
                    .state(&record.subscription_arn)
                    .await
                    // It exists either way; GET tells its state once the service answers.
                    .unwrap_or(SubscriptionState::PendingConfirmation);
                Ok(Subscribed {
                    subscription: view(&record, state)?,
                    created: true,
                })
            }
            Err(e) => {
                // Not kept, so not left with the service either, unless a concurrent repeat
                // kept it meanwhile.
                if self
                    .store
                    .get_subscription(&id)
                    .await
                    .ok()
                    .flatten()
                    .is_none()
                {
                    let orphan = SubscriptionRecord {
                        subscription_id: id,
                        owner: principal.subject.clone(),
                        domain: checked.domain,
                        protocol: checked.protocol.as_str().to_owned(),
                        endpoint_sealed: String::new(),
                        filter_policy: checked.filter,
                        subscription_arn: arn,
                        created_at_ms: self.clock.now_ms(),
                    };
                    let _ = broker.unsubscribe(&orphan).await;
                }
                Err(e)
            }
        }
    }

    /// Seals the endpoint and stores the subscription with its audit record.
    async fn keep(
        &self,
        principal: &Principal,
        checked: &Checked,
        id: &str,
        arn: &str,
    ) -> Result<SubscriptionRecord, RegistryError> {
        let sealed = self
            .keys
            .seal(&sealing_context(id), checked.endpoint.as_bytes())
            .await?;
        let record = SubscriptionRecord {
            subscription_id: id.to_owned(),
            owner: principal.subject.clone(),
            domain: checked.domain.clone(),
            protocol: checked.protocol.as_str().to_owned(),
            endpoint_sealed: URL_SAFE_NO_PAD.encode(sealed),
            filter_policy: checked.filter.clone(),
            subscription_arn: arn.to_owned(),
            created_at_ms: self.clock.now_ms(),
        };
        let audit = self.audit(
            &principal.subject,
            "subscribe",
            Some(subscription_target(id)),
            Ok(()),
        );
        self.store.put_subscription(&record, &audit).await?;
        Ok(record)
    }

    /// A subscription the service already held: the caller's own with the same filter is
    /// answered again; anything else would let two records share one subscription.
    async fn repeated(
        &self,
        principal: &Principal,
        existing: SubscriptionRecord,
        checked: &Checked,
    ) -> Result<Subscribed, RegistryError> {
        if existing.owner != principal.subject {
            return Err(RegistryError::SubscriptionConflict(
                "this endpoint is already subscribed to this domain".into(),
            ));
        }
        if existing.filter_policy != checked.filter {
            return Err(RegistryError::SubscriptionConflict(format!(
                "this endpoint is subscribed to this domain as {} with another filter: \
                 delete it first",
                existing.subscription_id
            )));
        }
        let state = self.broker()?.state(&existing.subscription_arn).await?;
        Ok(Subscribed {
            subscription: view(&existing, state)?,
            created: false,
        })
    }

    /// `GET /v1/subscriptions`: the caller's own, each with the service's state of it.
    pub async fn subscriptions(
        &self,
        caller: Option<&Principal>,
    ) -> Result<SubscriptionList, RegistryError> {
        let principal = self.require(caller, Op::ListSubscriptions, None).await?;
        let broker = self.broker()?;
        let records = self.store.subscriptions_of(&principal.subject).await?;
        let mut subscriptions = Vec::with_capacity(records.len());
        for record in &records {
            let state = broker.state(&record.subscription_arn).await?;
            subscriptions.push(view(record, state)?);
        }
        Ok(SubscriptionList { subscriptions })
    }

    /// `DELETE /v1/subscriptions/{id}`: the caller's own (an administrator's: any), removed
    /// from the service first so that nothing is delivered to an endpoint the registry forgot.
    /// Another subscriber's is answered as absent: its existence is not the caller's to know.
    pub async fn unsubscribe(
        &self,
        caller: Option<&Principal>,
        id: &str,
    ) -> Result<(), RegistryError> {
        let principal = self
            .require(caller, Op::Unsubscribe, Some(subscription_target(id)))
            .await?;
        let result = self.unsubscribe_inner(principal, id).await;
        if let Err(e) = &result {
            self.audit_rejection(
                &principal.subject,
                "unsubscribe",
                Some(subscription_target(id)),
                e,
            )
            .await;
        }
        result
    }

    async fn unsubscribe_inner(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<(), RegistryError> {
        let not_found = || RegistryError::SubscriptionNotFound(id.to_owned());
        if !is_subscription_id(id) {
            return Err(not_found());
        }
        let record = self
            .store
            .get_subscription(id)
            .await?
            .filter(|r| r.owner == principal.subject || principal.role == Role::Admin)
            .ok_or_else(not_found)?;
        self.broker()?.unsubscribe(&record).await?;
        let audit = self.audit(
            &principal.subject,
            "unsubscribe",
            Some(subscription_target(id)),
            Ok(()),
        );
        self.store.delete_subscription(id, &audit).await?;
        Ok(())
    }

    fn broker(&self) -> Result<&dyn SubscriptionBroker, RegistryError> {
        self.broker.as_deref().ok_or_else(|| {
            RegistryError::Notify(NotifyError::Failed(
                "this function holds no subscriptions".into(),
            ))
        })
    }

    fn check(
        &self,
        request: SubscriptionRequest,
        hosted: &[String],
    ) -> Result<Checked, RegistryError> {
        if !hosted.contains(&request.trust_domain) {
            return Err(RegistryError::Malformed(format!(
                "trust_domain {:?} is not one of this registry's: {}",
                truncated(&request.trust_domain),
                hosted.join(", ")
            )));
        }
        endpoint::check(
            request.protocol,
            &request.endpoint,
            self.config.loopback_endpoints,
        )?;
        let filter = filter::check(request.filter.unwrap_or_else(|| serde_json::json!({})))?;
        Ok(Checked {
            domain: request.trust_domain,
            protocol: request.protocol,
            endpoint: request.endpoint,
            filter,
        })
    }
}

/// One id per service subscription, derived from its ARN: a repeat of a subscription (the
/// service answers it with the same ARN) finds the record already there. An answer that is no
/// ARN (a pending one without its ARN) gets a random id.
fn subscription_id(arn: &str, random: impl FnOnce() -> String) -> String {
    let seed = if arn.starts_with("arn:") {
        arn.to_owned()
    } else {
        random()
    };
    let digest = sha2::Sha256::digest(seed.as_bytes());
    hex(&digest[..16])
}

fn is_subscription_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The encryption context of a subscription's sealed endpoint.
pub fn sealing_context(id: &str) -> String {
    format!("subscription:{id}")
}

/// At most 64 characters of client text, for problem details and audit targets.
fn truncated(text: &str) -> String {
    text.chars().take(64).collect()
}

fn view(
    record: &SubscriptionRecord,
    state: SubscriptionState,
) -> Result<SubscriptionView, RegistryError> {
    let protocol = Protocol::parse(&record.protocol).ok_or_else(|| {
        RegistryError::Store(StoreError::Failed(format!(
            "subscription {} has protocol {:?}",
            record.subscription_id, record.protocol
        )))
    })?;
    Ok(SubscriptionView {
        subscription_id: record.subscription_id.clone(),
        trust_domain: record.domain.clone(),
        protocol,
        filter: record.filter_policy.clone(),
        state,
        created_at: rfc3339(record.created_at_ms),
    })
}

#[cfg(test)]
mod tests;
