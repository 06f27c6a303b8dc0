//! `Registry`: the registry's flows over its ports, and what they share (ids, nonces,
//! audit, registry signatures).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::config::RegistryConfig;
use crate::error::RegistryError;
use crate::identifier::RegDevId;
use crate::jose::{self, JwsHeader};
use crate::ports::{Clock, RegistryKeys, Rng, Store};
use crate::records::{AuditRecord, Outcome};

/// How many times a read-modify-write is retried when another writer got there first. Every
/// round of a race has one winner, so N writers racing on one item need up to N rounds: 8
/// gave 503s to 26 of 40 concurrent holds on one device (tests/tests/races.rs).
pub(crate) const UPDATE_ATTEMPTS: usize = 64;
/// How long a read-modify-write keeps retrying: past it the request answers 503 (retry later)
/// well before API Gateway's 29 s integration limit would answer 502 for it.
pub(crate) const UPDATE_BUDGET_MS: u64 = 15_000;
/// Backoff between the rounds of a lost race: "full jitter" (a random wait up to a cap that
/// doubles from `BACKOFF_BASE_MS` to `BACKOFF_CAP_MS`), so racing writers spread out instead
/// of all re-reading at once (AWS Architecture Blog, "Exponential Backoff and Jitter").
const BACKOFF_BASE_MS: u64 = 10;
const BACKOFF_CAP_MS: u64 = 400;

pub struct Registry {
    pub(crate) config: RegistryConfig,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) keys: Arc<dyn RegistryKeys>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: Arc<dyn Rng>,
    /// The session key of this instance's statements (`statements`), made on first use.
    pub(crate) session: std::sync::Mutex<Option<Arc<crate::instance::SessionKey>>>,
    /// Publishes notifications (the `notify` function and admin bulk notifications).
    pub(crate) notifier: Option<Arc<dyn crate::ports::Notifier>>,
    /// Holds subscriptions (the `interrogate` function).
    pub(crate) broker: Option<Arc<dyn crate::ports::SubscriptionBroker>>,
    /// Sends exchange messages to linked registries (the `notify` and `exchange` functions).
    pub(crate) outbox: Option<Arc<dyn crate::ports::ExchangeOutbox>>,
    /// What this instance last read of enquirers' standing, for access tokens (`sessions`).
    pub(crate) standing: crate::instance::StandingCache,
}

impl Registry {
    pub fn new(
        config: RegistryConfig,
        store: Arc<dyn Store>,
        keys: Arc<dyn RegistryKeys>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> Self {
        Self {
            config,
            store,
            keys,
            clock,
            rng,
            session: std::sync::Mutex::new(None),
            notifier: None,
            broker: None,
            outbox: None,
            standing: crate::instance::StandingCache::default(),
        }
    }

    /// The registry with an exchange outbox: functions that talk to other registries set one.
    pub fn with_outbox(mut self, outbox: Arc<dyn crate::ports::ExchangeOutbox>) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// The registry with a notifier: functions that publish set one.
    pub fn with_notifier(mut self, notifier: Arc<dyn crate::ports::Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// The registry with a subscription broker: the function that serves subscriptions sets one.
    pub fn with_broker(mut self, broker: Arc<dyn crate::ports::SubscriptionBroker>) -> Self {
        self.broker = Some(broker);
        self
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// Waits before round `attempt + 1` of a write that lost a race (full jitter).
    pub(crate) async fn after_lost_race(&self, attempt: usize) {
        let cap = BACKOFF_BASE_MS
            .saturating_mul(1 << attempt.min(16))
            .min(BACKOFF_CAP_MS);
        let mut bytes = [0u8; 8];
        self.rng.fill(&mut bytes);
        self.clock
            .pause(u64::from_le_bytes(bytes) % (cap + 1))
            .await;
    }

    pub(crate) fn random_token(&self) -> String {
        let mut buf = [0u8; 16];
        self.rng.fill(&mut buf);
        URL_SAFE_NO_PAD.encode(buf)
    }

    pub(crate) fn audit(
        &self,
        actor: &str,
        action: &str,
        target: Option<String>,
        outcome: Result<(), &RegistryError>,
    ) -> AuditRecord {
        let at_ms = self.clock.now_ms();
        let mut salt = [0u8; 8];
        self.rng.fill(&mut salt);
        AuditRecord {
            id: format!("{at_ms:013}-{}", hex(&salt)),
            at_ms,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target,
            outcome: if outcome.is_ok() {
                Outcome::Accepted
            } else {
                Outcome::Rejected
            },
            code: outcome.err().map(|e| e.code().as_str().to_owned()),
        }
    }

    /// Records a refused request (7 i c). A failure to audit must not hide the refusal's
    /// cause from the client, so it is only logged by the caller's tracing.
    pub(crate) async fn audit_rejection(
        &self,
        actor: &str,
        action: &str,
        target: Option<String>,
        error: &RegistryError,
    ) {
        let record = self.audit(actor, action, target, Err(error));
        let _ = self.store.record_audit(&record).await;
    }

    /// Records a request refused before it reached a flow (by the HTTP layer: no token, a bad
    /// token, a route the caller's role may not use), so that every refusal is audited (7 i c).
    pub async fn audit_refusal(
        &self,
        actor: &str,
        action: &str,
        target: Option<String>,
        error: &RegistryError,
    ) {
        self.audit_rejection(actor, action, target, error).await;
    }

    /// A compact JWS signed by the registry's KMS key.
    pub(crate) async fn sign_statement<T: Serialize>(
        &self,
        typ: &str,
        claims: &T,
    ) -> Result<String, RegistryError> {
        let header = JwsHeader {
            alg: "ES256".into(),
            typ: Some(typ.into()),
            kid: Some(self.keys.key_id()),
            x5c: None,
        };
        let payload = serde_json::to_vec(claims)
            .map_err(|e| RegistryError::Malformed(format!("unserializable claims: {e}")))?;
        let input = jose::signing_input(&header, &payload);
        let signature = self.keys.sign(input.as_bytes()).await?;
        Ok(jose::assemble(&input, &signature))
    }
}

/// A RegDevID from a request's path: invalid is the client's mistake, naming the field.
pub(crate) fn parse_regdevid(text: &str) -> Result<RegDevId, RegistryError> {
    text.parse()
        .map_err(|source| RegistryError::InvalidIdentifier {
            field: "regdevid",
            source,
        })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub use trustreg_model::dates::{rfc3339, utc_day};
