//! The one fixture of the domain's and the routers' unit tests: a `Registry` on the in-memory
//! fakes, built with what a test needs to differ from the default (IN1.HLT.P07, a primary of
//! the `health` domain, key seed 1, the clock at `T0`, no administrators, no optional ports).

use std::sync::Arc;

use p256::ecdsa::SigningKey;

use super::{CountingRng, FixedClock, MemoryKeys, MemoryStore};
use crate::actors::AdminKey;
use crate::config::{RegistryConfig, RegistryKind};
use crate::ports::{ExchangeOutbox, Notifier, SubscriptionBroker};
use crate::service::Registry;

/// 2026-11-18T11:06:40Z: the fixed time of tests that do not check certificates.
pub const T0: u64 = 1_795_000_000_000;

/// A registry on fakes, and the fakes a test inspects or moves.
pub struct FakeRegistry {
    pub registry: Registry,
    pub store: Arc<MemoryStore>,
    pub keys: Arc<MemoryKeys>,
    pub clock: Arc<FixedClock>,
}

impl FakeRegistry {
    pub fn builder() -> FakeRegistryBuilder {
        FakeRegistryBuilder {
            config: RegistryConfig::new(
                "IN1.HLT.P07".parse().expect("path"),
                RegistryKind::Primary,
                vec!["health".into()],
            ),
            store: None,
            keys: None,
            clock_ms: T0,
            notifier: None,
            broker: None,
            outbox: None,
        }
    }

    /// The registry shared, as the routers take it.
    pub fn shared(
        self,
    ) -> (
        Arc<Registry>,
        Arc<MemoryStore>,
        Arc<MemoryKeys>,
        Arc<FixedClock>,
    ) {
        (Arc::new(self.registry), self.store, self.keys, self.clock)
    }
}

pub struct FakeRegistryBuilder {
    config: RegistryConfig,
    store: Option<Arc<MemoryStore>>,
    keys: Option<Arc<MemoryKeys>>,
    clock_ms: u64,
    notifier: Option<Arc<dyn Notifier>>,
    broker: Option<Arc<dyn SubscriptionBroker>>,
    outbox: Option<Arc<dyn ExchangeOutbox>>,
}

impl FakeRegistryBuilder {
    pub fn path(mut self, path: &str) -> Self {
        self.config.path = path.parse().expect("registry path");
        self
    }

    pub fn kind(mut self, kind: RegistryKind) -> Self {
        self.config.kind = kind;
        self
    }

    pub fn domains(mut self, domains: &[&str]) -> Self {
        self.config.trust_domains = domains.iter().map(|d| (*d).to_owned()).collect();
        self
    }

    /// An administrator `name` signing with `key`.
    pub fn admin(mut self, name: &str, key: &SigningKey) -> Self {
        self.config.admin_keys.push(AdminKey {
            name: name.into(),
            key: *key.verifying_key(),
        });
        self
    }

    /// Any other setting of the configuration.
    pub fn configure(mut self, adjust: impl FnOnce(&mut RegistryConfig)) -> Self {
        adjust(&mut self.config);
        self
    }

    /// The registry's KMS key made from `seed`.
    pub fn key_seed(self, seed: u8) -> Self {
        self.keys(Arc::new(MemoryKeys::new(seed)))
    }

    /// The registry's keys, shared with another registry or a test.
    pub fn keys(mut self, keys: Arc<MemoryKeys>) -> Self {
        self.keys = Some(keys);
        self
    }

    pub fn store(mut self, store: Arc<MemoryStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock's start, in milliseconds since the epoch (the real time for tests whose
    /// certificates are checked against it).
    pub fn clock_at(mut self, ms: u64) -> Self {
        self.clock_ms = ms;
        self
    }

    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    pub fn broker(mut self, broker: Arc<dyn SubscriptionBroker>) -> Self {
        self.broker = Some(broker);
        self
    }

    pub fn outbox(mut self, outbox: Arc<dyn ExchangeOutbox>) -> Self {
        self.outbox = Some(outbox);
        self
    }

    pub fn build(self) -> FakeRegistry {
        let store = self.store.unwrap_or_default();
        let keys = self.keys.unwrap_or_else(|| Arc::new(MemoryKeys::new(1)));
        let clock = Arc::new(FixedClock::at(self.clock_ms));
        let mut registry = Registry::new(
            self.config,
            store.clone(),
            keys.clone(),
            clock.clone(),
            Arc::new(CountingRng::default()),
        );
        if let Some(notifier) = self.notifier {
            registry = registry.with_notifier(notifier);
        }
        if let Some(broker) = self.broker {
            registry = registry.with_broker(broker);
        }
        if let Some(outbox) = self.outbox {
            registry = registry.with_outbox(outbox);
        }
        FakeRegistry {
            registry,
            store,
            keys,
            clock,
        }
    }
}
