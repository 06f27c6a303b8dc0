//! Subscriptions on the in-memory fakes: what is checked before the notification service is
//! asked, who may subscribe, list and delete, limits, and the audit trail.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure report.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};

use super::*;
use crate::fakes::FakeRegistry;
use crate::fakes::{MemoryBroker, MemoryKeys, MemoryStore};
use crate::ports::RegistryKeys as _;
use crate::records::Outcome;
use crate::sessions::tests::{admin, enquirer, principal};

const T0: u64 = 1_800_000_000_000;
const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:subscriber-1";

struct Fixture {
    registry: Registry,
    store: Arc<MemoryStore>,
    broker: Arc<MemoryBroker>,
    keys: Arc<MemoryKeys>,
}

impl Fixture {
    fn new() -> Self {
        Self::build(true)
    }

    fn build(with_broker: bool) -> Self {
        let broker = Arc::new(MemoryBroker::default());
        let mut builder = FakeRegistry::builder()
            .domains(&["health", "finance"])
            .key_seed(4)
            .clock_at(T0);
        if with_broker {
            builder = builder.broker(broker.clone());
        }
        let FakeRegistry {
            registry,
            store,
            keys,
            ..
        } = builder.build();
        Self {
            registry,
            store,
            broker,
            keys,
        }
    }

    fn subscribes(&self) -> usize {
        self.broker
            .snapshot()
            .calls
            .iter()
            .filter(|c| c.starts_with("subscribe "))
            .count()
    }

    fn audit_of(&self, action: &str) -> Vec<crate::records::AuditRecord> {
        self.store
            .snapshot()
            .audit
            .into_iter()
            .filter(|a| a.action == action)
            .collect()
    }
}

fn request(protocol: &str, endpoint: &str, filter: Value) -> SubscriptionRequest {
    serde_json::from_value(json!({
        "trust_domain": "health", "protocol": protocol, "endpoint": endpoint, "filter": filter,
    }))
    .unwrap()
}

fn unreliable_queue() -> SubscriptionRequest {
    request("sqs", QUEUE, json!({"status": ["unreliable"]}))
}

fn other_enquirer() -> Principal {
    principal("enquirer:e2", Role::Enquirer)
}

fn detail(e: &RegistryError) -> String {
    e.to_string()
}

// Y.3059 9.4 i a
// card C8
// An enquirer subscribes a queue with a status filter: the service holds it with that filter,
// confirmed; the record keeps the endpoint sealed under the subscription's id, with its audit.
#[tokio::test]
async fn an_enquirer_subscribes_a_queue_with_a_filter() {
    let f = Fixture::new();
    let done = f
        .registry
        .subscribe(Some(&enquirer()), unreliable_queue())
        .await
        .unwrap();
    assert!(done.created);
    let view = &done.subscription;
    assert_eq!(view.trust_domain, "health");
    assert_eq!(view.protocol, Protocol::Sqs);
    assert_eq!(view.filter, json!({"status": ["unreliable"]}));
    assert_eq!(view.state, SubscriptionState::Confirmed);

    let held = f.broker.snapshot().held;
    let (arn, sub) = held.iter().next().unwrap();
    assert_eq!(
        (
            sub.domain.as_str(),
            sub.protocol.as_str(),
            sub.endpoint.as_str()
        ),
        ("health", "sqs", QUEUE)
    );
    assert_eq!(sub.filter_policy, json!({"status": ["unreliable"]}));

    let record = f
        .store
        .snapshot()
        .subscriptions
        .remove(&view.subscription_id)
        .unwrap();
    assert_eq!(record.owner, "enquirer:e1");
    assert_eq!(&record.subscription_arn, arn);
    assert!(!record.endpoint_sealed.contains("subscriber-1"));
    let sealed = URL_SAFE_NO_PAD.decode(&record.endpoint_sealed).unwrap();
    let context = format!("subscription:{}", view.subscription_id);
    assert_eq!(
        f.keys.open(&context, &sealed).await.unwrap(),
        QUEUE.as_bytes()
    );
    assert!(f.keys.open("subscription:other", &sealed).await.is_err());

    let audit = f.audit_of("subscribe");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor, "enquirer:e1");
    assert_eq!(audit[0].outcome, Outcome::Accepted);
    assert_eq!(audit[0].target.as_deref(), Some(context.as_str()));
}

// Y.3059 9.4 i a
// card C8
// Agencies and administrators subscribe too; without a filter, everything. An owner, which
// needs no approval, subscribes to its own devices only: a whole domain, or a device it does
// not hold, is refused and nothing is asked of the service.
#[tokio::test]
async fn agencies_and_admins_subscribe_owners_to_their_devices_only() {
    let f = Fixture::new();
    let owner = principal("owner:o1", Role::Owner);
    for filter in [
        json!({}),
        json!({"status": ["unreliable"]}),
        json!({"regdevid": ["IN1.HLT.P07:imei:356938035643809"]}),
        json!({"regdevid": [{"prefix": "IN1.HLT.P07:"}]}),
    ] {
        let ask = request("sqs", "arn:aws:sqs:us-east-1:000000000000:mine", filter);
        let e = f.registry.subscribe(Some(&owner), ask).await.unwrap_err();
        assert_eq!(e.code(), "forbidden");
    }
    assert!(f.store.snapshot().subscriptions.is_empty());
    for (n, who) in [principal("enquirer:a1", Role::Agency), admin()]
        .iter()
        .enumerate()
    {
        let endpoint = format!("arn:aws:sqs:us-east-1:000000000000:q{n}");
        let mut ask = request("sqs", &endpoint, json!({}));
        ask.filter = None;
        let done = f.registry.subscribe(Some(who), ask).await.unwrap();
        assert_eq!(done.subscription.filter, json!({}), "{who:?}");
    }
    assert_eq!(f.store.snapshot().subscriptions.len(), 2);
}

// Y.3059 9.4 i a
// Y.3059 7 i c
// Without a token the request is refused and audited as public; devices and manufacturers
// never subscribe. The service is not asked.
#[tokio::test]
async fn only_authenticated_subscribers_subscribe() {
    let f = Fixture::new();
    let e = f
        .registry
        .subscribe(None, unreliable_queue())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unauthenticated");
    for role in [Role::Device, Role::Manufacturer] {
        let e = f
            .registry
            .subscribe(Some(&principal("device:x", role)), unreliable_queue())
            .await
            .unwrap_err();
        assert_eq!(e.code(), "forbidden");
    }
    let e = f.registry.subscriptions(None).await.unwrap_err();
    assert_eq!(e.code(), "unauthenticated");
    let e = f.registry.unsubscribe(None, "x").await.unwrap_err();
    assert_eq!(e.code(), "unauthenticated");
    assert_eq!(f.subscribes(), 0);
    let refused: Vec<_> = f
        .store
        .snapshot()
        .audit
        .into_iter()
        .map(|a| (a.actor, a.action, a.outcome))
        .collect();
    assert!(refused.contains(&("public".into(), "subscribe".into(), Outcome::Rejected)));
    assert!(refused.contains(&("public".into(), "unsubscribe".into(), Outcome::Rejected)));
    assert!(refused.contains(&("device:x".into(), "subscribe".into(), Outcome::Rejected)));
}

// Y.3059 9.4 i a
// card C8
// Every field is checked before the service is asked: each of these is a 400 naming its
// fault, and nothing is subscribed nor stored; the refusal is audited.
#[tokio::test]
async fn invalid_requests_are_refused_before_the_service_is_asked() {
    let f = Fixture::new();
    let many: Vec<String> = (0..13).map(|i| format!("m{i}")).collect();
    let cases: Vec<(SubscriptionRequest, &str)> = vec![
        (
            serde_json::from_value(json!({"trust_domain": "energy", "protocol": "sqs",
                                          "endpoint": QUEUE}))
            .unwrap(),
            "trust_domain \"energy\" is not one of this registry's",
        ),
        (
            request("sqs", "https://example.org/hook", json!({})),
            "SQS queue ARN",
        ),
        (
            request("sqs", "arn:aws:sns:us-east-1:000000000000:topic", json!({})),
            "not an SQS ARN",
        ),
        (
            request("sqs", "arn:aws:sqs:us-east-1:123:q", json!({})),
            "12 digits",
        ),
        (
            request(
                "sqs",
                "arn:aws:sqs:us-east-1:000000000000:bad name",
                json!({}),
            ),
            "queue name",
        ),
        (
            request("https", "http://example.org/hook", json!({})),
            "only for loopback",
        ),
        (
            request("https", "ftp://example.org/hook", json!({})),
            "https://",
        ),
        (
            request("https", "https://exa mple.org/", json!({})),
            "spaces",
        ),
        (request("https", "https://:443/", json!({})), "host"),
        (request("https", "https://host:port/", json!({})), "port"),
        (request("email", "not-an-address", json!({})), "no @"),
        (request("email", "ops@localhost", json!({})), "domain name"),
        (request("email", "@example.org", json!({})), "mailbox"),
        (
            request("sqs", QUEUE, json!(["status"])),
            "filter must be a JSON object",
        ),
        (
            request("sqs", QUEUE, json!({"colour": ["red"]})),
            "filter.colour is not an attribute",
        ),
        (
            request("sqs", QUEUE, json!({"status": "unreliable"})),
            "filter.status must be an array",
        ),
        (
            request("sqs", QUEUE, json!({"status": []})),
            "filter.status must not be empty",
        ),
        (
            request("sqs", QUEUE, json!({"status": ["broken"]})),
            "filter.status[0] \"broken\" is not a trust status",
        ),
        (
            request(
                "sqs",
                QUEUE,
                json!({"previous_status": [{"anything-but": ["ok"]}]}),
            ),
            "filter.previous_status[0].anything-but[0] \"ok\" is not a trust status",
        ),
        (request("sqs", QUEUE, json!({"status": [1]})), "is a number"),
        (
            request("sqs", QUEUE, json!({"status": [{"numeric": [">", 1]}]})),
            "a trust status is not a number",
        ),
        (
            request("sqs", QUEUE, json!({"status": [{"prefix": "x"}]})),
            "starts no trust status",
        ),
        (
            request("sqs", QUEUE, json!({"make": [{"exists": true}]})),
            "not a supported operator",
        ),
        (
            request(
                "sqs",
                QUEUE,
                json!({"make": [{"prefix": "A", "suffix": "b"}]}),
            ),
            "exactly one",
        ),
        (
            request("sqs", QUEUE, json!({"make": [{"prefix": ""}]})),
            "1 to 256",
        ),
        (
            request("sqs", QUEUE, json!({"make": [{"anything-but": []}]})),
            "non-empty array",
        ),
        (
            request("sqs", QUEUE, json!({"make": [{"anything-but": ["a", 1]}]})),
            "only strings or only numbers",
        ),
        (
            request("sqs", QUEUE, json!({"make": [true]})),
            "a string, a number or an operator",
        ),
        (
            request("sqs", QUEUE, json!({"make": [{"a": {"b": 1}}]})),
            "not a supported operator",
        ),
        (
            request("sqs", QUEUE, json!({"make": ["x".repeat(257)]})),
            "longer than 256",
        ),
        (
            request("sqs", QUEUE, json!({"severity": [1e10]})),
            "outside -1e9..1e9",
        ),
        (
            request(
                "sqs",
                QUEUE,
                json!({"severity": [{"numeric": [">=", 9, "<", 7]}]}),
            ),
            "lower bound must be below",
        ),
        (
            request(
                "sqs",
                QUEUE,
                json!({"severity": [{"numeric": ["<", 9, ">", 7]}]}),
            ),
            "operator 1 must be one of > >=",
        ),
        (
            request("sqs", QUEUE, json!({"severity": [{"numeric": ["~", 9]}]})),
            "operator 1",
        ),
        (
            request("sqs", QUEUE, json!({"severity": [{"numeric": [">", "9"]}]})),
            "a number",
        ),
        (
            request("sqs", QUEUE, json!({"severity": [{"numeric": [">"]}]})),
            "one comparison",
        ),
        (
            request(
                "sqs",
                QUEUE,
                json!({"event": ["a"], "status": ["trusted"], "make": ["m"], "model": ["n"],
                       "regdevid": ["r"], "registry": ["IN1"]}),
            ),
            "names 6 attributes; at most 5",
        ),
        (
            request("sqs", QUEUE, json!({"make": many, "model": many})),
            "makes 169 combinations of values; at most 150",
        ),
    ];
    for (ask, expected) in cases {
        let shown = format!("{ask:?}");
        let e = f
            .registry
            .subscribe(Some(&enquirer()), ask)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "malformed-request", "{shown}: {e}");
        assert!(
            detail(&e).contains(expected),
            "{shown}: {e} lacks {expected:?}"
        );
    }
    assert_eq!(f.subscribes(), 0);
    assert!(f.store.snapshot().subscriptions.is_empty());
    assert!(
        f.audit_of("subscribe")
            .iter()
            .all(|a| a.outcome == Outcome::Rejected
                && a.code.as_deref() == Some("malformed-request"))
    );
}

// card C8
// What SNS accepts and the registry supports passes: values, anything-but (value, list,
// prefix), prefix, numeric comparisons and ranges, loopback HTTP, up to the limits.
#[tokio::test]
async fn valid_filters_and_endpoints_pass() {
    let f = Fixture::new();
    let values: Vec<String> = (0..150).map(|i| format!("Model-{i}")).collect();
    let filters = [
        json!({"status": ["unreliable", "unverified"], "previous_status": ["trusted"]}),
        json!({"status": [{"anything-but": "trusted"}], "event": ["status-changed"]}),
        json!({"status": [{"prefix": "un"}], "make": [{"anything-but": {"prefix": "Test"}}]}),
        json!({"severity": [{"numeric": [">=", 7]}, 10], "regdevid": [{"prefix": "IN1.HLT"}]}),
        json!({"severity": [{"numeric": [">", 0, "<=", 10]}], "registry": ["IN1.HLT.P07"]}),
        json!({"model": values}),
        json!({"event": ["a"], "status": ["trusted"], "make": ["m"], "model": ["n"],
               "severity": [{"anything-but": [1, 2]}]}),
    ];
    for (n, filter) in filters.iter().enumerate() {
        let queue = format!("arn:aws:sqs:eu-west-1:123456789012:q-{n}.fifo");
        let done = f
            .registry
            .subscribe(Some(&enquirer()), request("sqs", &queue, filter.clone()))
            .await
            .unwrap();
        assert_eq!(&done.subscription.filter, filter);
    }
    for endpoint in [
        "https://hooks.example.org/trustreg?x=1",
        "https://user:secret@hooks.example.org:8443/in",
    ] {
        let done = f
            .registry
            .subscribe(Some(&admin()), request("https", endpoint, json!({})))
            .await
            .unwrap();
        assert_eq!(
            done.subscription.state,
            SubscriptionState::PendingConfirmation
        );
    }
    let done = f
        .registry
        .subscribe(
            Some(&admin()),
            request("email", "ops+alerts@example.org", json!({})),
        )
        .await
        .unwrap();
    assert_eq!(done.subscription.protocol, Protocol::Email);
}

// Y.3059 9.4 i a
// HTTPS endpoints wait for their confirmation; the list tells the service's state each time,
// including a subscription the endpoint removed itself.
#[tokio::test]
async fn the_list_reports_the_confirmation_state() {
    let f = Fixture::new();
    let done = f
        .registry
        .subscribe(
            Some(&enquirer()),
            request(
                "https",
                "https://hooks.example.org/in",
                json!({"status": ["unreliable"]}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        done.subscription.state,
        SubscriptionState::PendingConfirmation
    );
    let arn = f.broker.snapshot().held.keys().next().unwrap().clone();
    let state = |list: SubscriptionList| list.subscriptions[0].state;
    let listed = f.registry.subscriptions(Some(&enquirer())).await.unwrap();
    assert_eq!(state(listed), SubscriptionState::PendingConfirmation);
    f.broker.confirm(&arn);
    let listed = f.registry.subscriptions(Some(&enquirer())).await.unwrap();
    assert_eq!(state(listed), SubscriptionState::Confirmed);
    f.broker.drop_subscription(&arn);
    let listed = f.registry.subscriptions(Some(&enquirer())).await.unwrap();
    assert_eq!(state(listed), SubscriptionState::Removed);
}

// Y.3059 9.4 i a
// Each subscriber sees only its own; another enquirer cannot delete one (answered as absent,
// audited), the owner can, an administrator can delete any. The service's subscription goes
// before the record.
#[tokio::test]
async fn subscribers_list_and_delete_only_their_own() {
    let f = Fixture::new();
    let mine = f
        .registry
        .subscribe(Some(&enquirer()), unreliable_queue())
        .await
        .unwrap()
        .subscription;
    let theirs = f
        .registry
        .subscribe(
            Some(&other_enquirer()),
            request("sqs", "arn:aws:sqs:us-east-1:000000000000:other", json!({})),
        )
        .await
        .unwrap()
        .subscription;
    let listed = f.registry.subscriptions(Some(&enquirer())).await.unwrap();
    assert_eq!(listed.subscriptions, vec![mine.clone()]);
    let listed = f
        .registry
        .subscriptions(Some(&other_enquirer()))
        .await
        .unwrap();
    assert_eq!(listed.subscriptions, vec![theirs.clone()]);
    assert!(
        f.registry
            .subscriptions(Some(&admin()))
            .await
            .unwrap()
            .subscriptions
            .is_empty()
    );

    let e = f
        .registry
        .unsubscribe(Some(&other_enquirer()), &mine.subscription_id)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "subscription-not-found");
    assert_eq!(f.broker.snapshot().held.len(), 2);
    let refused = f.audit_of("unsubscribe");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].actor, "enquirer:e2");
    assert_eq!(refused[0].outcome, Outcome::Rejected);

    let calls_before = f.broker.snapshot().calls.len();
    f.registry
        .unsubscribe(Some(&enquirer()), &mine.subscription_id)
        .await
        .unwrap();
    let broker = f.broker.snapshot();
    assert!(broker.calls[calls_before].starts_with("unsubscribe arn:"));
    assert_eq!(broker.held.len(), 1);
    assert!(
        !f.store
            .snapshot()
            .subscriptions
            .contains_key(&mine.subscription_id)
    );
    let done = f.audit_of("unsubscribe");
    assert_eq!(done.last().unwrap().outcome, Outcome::Accepted);
    assert_eq!(
        done.last().unwrap().target,
        Some(format!("subscription:{}", mine.subscription_id))
    );

    f.registry
        .unsubscribe(Some(&admin()), &theirs.subscription_id)
        .await
        .unwrap();
    assert!(f.broker.snapshot().held.is_empty());
    assert!(f.store.snapshot().subscriptions.is_empty());
    let e = f
        .registry
        .unsubscribe(Some(&admin()), &theirs.subscription_id)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "subscription-not-found");
    let e = f
        .registry
        .unsubscribe(Some(&admin()), "../x")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "subscription-not-found");
}

// Y.3059 9.4 i a
// At most MAX_SUBSCRIPTIONS_PER_OWNER each: one more is refused before the service is asked;
// another subscriber is not counted against it.
#[tokio::test]
async fn subscriptions_are_limited_per_subscriber() {
    let f = Fixture::new();
    for n in 0..MAX_SUBSCRIPTIONS_PER_OWNER {
        let queue = format!("arn:aws:sqs:us-east-1:000000000000:q{n}");
        f.registry
            .subscribe(Some(&enquirer()), request("sqs", &queue, json!({})))
            .await
            .unwrap();
    }
    let e = f
        .registry
        .subscribe(Some(&enquirer()), unreliable_queue())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "subscription-limit");
    assert_eq!(f.subscribes(), MAX_SUBSCRIPTIONS_PER_OWNER);
    f.registry
        .subscribe(Some(&other_enquirer()), unreliable_queue())
        .await
        .unwrap();
}

// card C8
// A repeat is answered with the same subscription; the same endpoint with another filter is
// refused; another subscriber cannot take over a subscription, which stays with its owner.
#[tokio::test]
async fn repeats_and_shared_endpoints() {
    let f = Fixture::new();
    let first = f
        .registry
        .subscribe(Some(&enquirer()), unreliable_queue())
        .await
        .unwrap();
    let again = f
        .registry
        .subscribe(Some(&enquirer()), unreliable_queue())
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.subscription, first.subscription);
    assert_eq!(f.store.snapshot().subscriptions.len(), 1);

    let e = f
        .registry
        .subscribe(
            Some(&enquirer()),
            request("sqs", QUEUE, json!({"status": ["trusted"]})),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "subscription-refused");

    let e = f
        .registry
        .subscribe(Some(&other_enquirer()), unreliable_queue())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "subscription-conflict");
    assert!(!detail(&e).contains("enquirer:e1"));
    assert_eq!(f.broker.snapshot().held.len(), 1);
    let listed = f.registry.subscriptions(Some(&enquirer())).await.unwrap();
    assert_eq!(listed.subscriptions.len(), 1);
}

// Y.3059 9.4 i a
// The service failing is the registry's fault (503, nothing stored); a function without a
// broker still checks requests first.
#[tokio::test]
async fn service_failures_store_nothing() {
    let f = Fixture::new();
    f.broker.fail_next("throttled");
    let e = f
        .registry
        .subscribe(Some(&enquirer()), unreliable_queue())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "notification-service-unavailable");
    assert!(e.is_internal());
    assert!(f.store.snapshot().subscriptions.is_empty());

    let kept = f
        .registry
        .subscribe(Some(&enquirer()), unreliable_queue())
        .await
        .unwrap()
        .subscription;
    f.broker.fail_next("throttled");
    let e = f
        .registry
        .unsubscribe(Some(&enquirer()), &kept.subscription_id)
        .await
        .unwrap_err();
    assert!(e.is_internal());
    assert!(
        f.store
            .snapshot()
            .subscriptions
            .contains_key(&kept.subscription_id)
    );

    let bare = Fixture::build(false);
    let e = bare
        .registry
        .subscribe(Some(&enquirer()), request("sqs", "nope", json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "malformed-request");
    let e = bare
        .registry
        .subscribe(Some(&enquirer()), unreliable_queue())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "notification-service-unavailable");
}

// card C8
// Requests name only the four fields; the protocol is one of three.
#[test]
fn requests_deny_unknown_fields_and_protocols() {
    let base = json!({"trust_domain": "health", "protocol": "sqs", "endpoint": QUEUE});
    assert!(serde_json::from_value::<SubscriptionRequest>(base.clone()).is_ok());
    let mut extra = base.clone();
    extra["owner"] = json!("enquirer:e2");
    assert!(serde_json::from_value::<SubscriptionRequest>(extra).is_err());
    let mut other = base;
    other["protocol"] = json!("lambda");
    assert!(serde_json::from_value::<SubscriptionRequest>(other).is_err());
}

// Y.3059 6.1 f
// card C4
// An administrator adds a trust domain at run time: its topic is made before its record, the
// registry then hosts it (published, subscribable) and a second request only sets its policy.
#[tokio::test]
async fn a_trust_domain_added_at_run_time_gets_its_topic_and_takes_subscriptions() {
    let f = Fixture::new();
    let added = f
        .registry
        .set_domain_policy("water", crate::status::Policy::default(), "admin:test")
        .await
        .unwrap();
    assert!(added.added);
    assert_eq!(
        f.broker.snapshot().topics.into_iter().collect::<Vec<_>>(),
        ["water"]
    );
    assert_eq!(f.audit_of("add-trust-domain").len(), 1);
    assert_eq!(
        f.registry.hosted_domains().await.unwrap(),
        ["health", "finance", "water"]
    );
    let published = f.registry.registry_document().await.unwrap();
    assert!(published.trust_domains.iter().any(|d| d.name == "water"));

    let mut water = unreliable_queue();
    water.trust_domain = "water".into();
    let done = f
        .registry
        .subscribe(Some(&enquirer()), water)
        .await
        .unwrap();
    assert_eq!(done.subscription.trust_domain, "water");

    let again = f
        .registry
        .set_domain_policy("water", crate::status::Policy::default(), "admin:test")
        .await
        .unwrap();
    assert!(!again.added);
    assert_eq!(f.audit_of("add-trust-domain").len(), 1);
    assert_eq!(f.audit_of("set-domain-policy").len(), 1);
}

// Y.3059 6.1 f
// A name that cannot be a topic's, or a domain the function cannot make a topic for, is
// refused and audited: no topic, no record, the domain not hosted.
#[tokio::test]
async fn a_trust_domain_that_cannot_be_added_leaves_nothing_behind() {
    let f = Fixture::new();
    for bad in ["Water", "wa_ter", "-water", &"w".repeat(65)] {
        let refused = f
            .registry
            .set_domain_policy(bad, crate::status::Policy::default(), "admin:test")
            .await
            .unwrap_err();
        assert_eq!(refused.code(), "malformed-request", "{bad}");
    }
    assert_eq!(f.audit_of("set-domain-policy").len(), 4);
    assert!(f.broker.snapshot().topics.is_empty());

    let without = Fixture::build(false);
    let refused = without
        .registry
        .set_domain_policy("water", crate::status::Policy::default(), "admin:test")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "notification-service-unavailable");
    for f in [&f, &without] {
        assert!(f.store.snapshot().domain_policies.is_empty());
        assert_eq!(
            f.registry.hosted_domains().await.unwrap(),
            ["health", "finance"]
        );
    }
}
