//! Support for the integration and end-to-end tests: the deployed test stack, SDK clients
//! pointed at LocalStack, fresh identifiers.
//!
//! The test command (README) starts LocalStack and deploys the stack first; these tests fail,
//! loudly, when it is not there rather than skip.

pub mod audit_log;
pub mod contract;
pub mod devices;
pub mod exchange;
pub mod failures;
pub mod faults;
pub mod roles;
pub mod subscriber;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use trustreg_aws::{DynamoStore, KmsKeys, OsRng, SETTINGS};
use trustreg_core::identifier::{Identifier, Scheme};
use trustreg_core::ports::Clock;
use trustreg_core::{Registry, RegistryConfig};

pub const DEFAULT_STACK: &str = "trustreg-test";

/// A deployed registry stack: its outputs as written by `infra/deploy.py --out`.
#[derive(Debug, Clone)]
pub struct Stack {
    pub outputs: HashMap<String, String>,
}

impl Stack {
    /// The stack named by `TRUSTREG_STACK_OUTPUTS` (a file), else the test stack's file.
    pub fn deployed() -> Self {
        let file = std::env::var_os("TRUSTREG_STACK_OUTPUTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                repo_root()
                    .join(".trustreg/stacks")
                    .join(format!("{DEFAULT_STACK}.json"))
            });
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!(
                "no deployed stack outputs at {} ({e}): run the test command of README.md",
                file.display()
            )
        });
        let json: serde_json::Value = serde_json::from_str(&text).expect("stack outputs are JSON");
        let outputs = json
            .as_object()
            .expect("stack outputs are an object")
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
            .collect();
        check_device_answers();
        Self { outputs }
    }

    pub fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .unwrap_or_else(|| panic!("stack output {name} missing"))
    }

    /// The API Gateway invoke URL on LocalStack (ends with the stage, no trailing slash).
    pub fn api_url(&self) -> String {
        self.output("local_api_url")
            .trim_end_matches('/')
            .to_owned()
    }

    pub fn table(&self) -> &str {
        self.output("TableName")
    }

    /// The registry as the stack's functions see it, with the given clock.
    pub fn registry(&self, sdk: &SdkConfig, clock: Arc<dyn Clock>) -> Registry {
        let keys = KmsKeys::new(
            aws_sdk_kms::Client::new(sdk),
            self.output("SigningKeyId"),
            self.output("PiiKeyId"),
            self.output("RegistryPath"),
        );
        self.registry_with(sdk, Arc::new(keys), clock)
    }

    /// The stack's registry with other keys (benchmarks count their KMS requests).
    pub fn registry_with(
        &self,
        sdk: &SdkConfig,
        keys: Arc<dyn trustreg_core::ports::RegistryKeys>,
        clock: Arc<dyn Clock>,
    ) -> Registry {
        let lookup = |name: &str| {
            SETTINGS
                .iter()
                .find(|(env, _)| *env == name)
                .and_then(|(_, output)| self.outputs.get(*output).cloned())
        };
        let path = lookup("REGISTRY_PATH").expect("RegistryPath output");
        let kind = lookup("REGISTRY_TYPE").expect("RegistryType output");
        let domains = lookup("TRUST_DOMAINS").expect("TrustDomains output");
        Registry::new(
            RegistryConfig::new(
                path.parse().expect("registry path"),
                kind.parse().expect("registry type"),
                domains.split(',').map(str::to_owned).collect(),
            ),
            Arc::new(self.store(sdk)),
            keys,
            clock,
            Arc::new(OsRng),
        )
    }

    /// The stack's store, spreading and reading audit records over the stack's shards.
    pub fn store(&self, sdk: &SdkConfig) -> DynamoStore {
        DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), self.table())
            .with_audit_shards(self.audit_shards())
    }

    /// How many partitions the stack spreads a day's audit records over (`AuditShards`).
    pub fn audit_shards(&self) -> u32 {
        self.output("AuditShards")
            .parse()
            .expect("AuditShards is a count")
    }
}

/// SDK configuration for LocalStack: endpoint and test credentials from the environment the
/// test command sets, with LocalStack's defaults.
pub async fn localstack() -> SdkConfig {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(
            std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        ))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "localstack",
        ))
        .load()
        .await
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// A random, valid IMEI: tests never collide with each other or with earlier runs.
pub fn random_imei() -> String {
    let mut bytes = [0u8; 8];
    trustreg_core::ports::Rng::fill(&OsRng, &mut bytes);
    let body = format!("35{:012}", u64::from_le_bytes(bytes) % 1_000_000_000_000);
    let check = trustreg_core::identifier::luhn_check_digit(&body).expect("14 digits");
    format!("{body}{check}")
}

/// A scratch directory under the target dir, removed by nobody: runs leave them for inspection.
pub fn scratch(name: &str) -> PathBuf {
    let mut bytes = [0u8; 6];
    trustreg_core::ports::Rng::fill(&OsRng, &mut bytes);
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let dir = repo_root()
        .join("target/test-scratch")
        .join(format!("{name}-{suffix}"));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A manufacturer CA accepted by the test registry, and devices it certifies.
pub struct Manufacturer {
    pub ca: trustreg_device::ManufacturerCa,
    dir: PathBuf,
}

impl Manufacturer {
    /// A fresh CA, accepted by `registry` as a root of trust.
    pub async fn accepted_by(registry: &Registry) -> Self {
        let manufacturer = Self::unaccepted();
        manufacturer.accept_at(registry).await;
        manufacturer
    }

    /// This CA accepted by one more registry, for the secure-element devices it certifies.
    pub async fn accept_at(&self, registry: &Registry) {
        registry
            .accept_root(
                self.ca.cert_der(),
                self.ca.name(),
                vec!["secure-element".into()],
                trustreg_core::fakes::broad_identifier_scopes(),
                "admin:tests",
            )
            .await
            .expect("root accepted");
    }

    /// A fresh CA no registry knows.
    pub fn unaccepted() -> Self {
        let dir = scratch("manufacturer");
        // A name of its own: a CA that copies an accepted CA's name is a forged chain, not an
        // unknown one.
        let name = format!("Test Devices CA {}", random_imei());
        let ca =
            trustreg_device::ManufacturerCa::create(dir.join("ca"), &name).expect("CA created");
        Self { ca, dir }
    }

    /// Where the CA (`ca/`) and the devices' secure elements live.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// A new device key in a secure element, certified for `identifier`.
    pub fn device(&self, identifier: &Identifier) -> trustreg_device::SoftSecureElement {
        let se = trustreg_device::SoftSecureElement::create(
            self.dir.join(format!("se-{}", random_imei())),
        )
        .expect("secure element");
        let leaf = self
            .ca
            .issue_device_cert(&se.public_key(), identifier, 30)
            .expect("device certificate");
        se.store_chain(&[leaf.der]).expect("chain stored");
        se
    }
}

pub fn imei(value: &str) -> Identifier {
    Identifier::parse(Scheme::Imei, value).expect("valid IMEI")
}

/// What a demo sensor tells the registry about itself.
pub fn sensor_info() -> trustreg_core::messages::DeviceInfo {
    serde_json::from_value(serde_json::json!({
        "make": "Acme", "model": "Sensor-1", "firmware_version": "1.0.0",
        "software_version": "1.0.0", "rot": {"type": "secure-element"},
        "communication": ["lte"], "power": {"source": "battery"}, "protocols": ["mqtt"]
    }))
    .expect("device info")
}

/// The registration JWS of `se` for `identifier` over `nonce`.
pub fn registration(
    se: &trustreg_device::SoftSecureElement,
    identifier: &Identifier,
    nonce: String,
) -> String {
    let claims = trustreg_core::messages::RegistrationClaims {
        tpm: None,
        nonce,
        identifier: trustreg_core::messages::IdentifierClaim {
            scheme: identifier.scheme(),
            value: identifier.value().to_owned(),
        },
        device: sensor_info(),
        owner: None,
        trust_domains: vec![],
    };
    trustreg_device::client::registration_jws(se, &claims).expect("registration JWS")
}

/// The registry document (`GET /v1/registry`) of `stack`.
pub async fn registry_document(stack: &Stack) -> serde_json::Value {
    let answer = send(
        "GET",
        format!("{}/v1/registry", stack.api_url()),
        None,
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body
}

/// An answer of the API, as a test looks at it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: serde_json::Value,
}

impl Answer {
    /// The problem code of a problem+json answer (the last segment of its `type`).
    pub fn problem(&self) -> &str {
        assert_eq!(
            self.content_type, "application/problem+json",
            "not a problem: {self:?}"
        );
        self.body["type"]
            .as_str()
            .and_then(|t| t.strip_prefix("https://trustreg.dev/problems/"))
            .unwrap_or_else(|| panic!("problem without a trustreg type: {self:?}"))
    }
}

/// Every answer the device client receives in this process is checked against the API's
/// OpenAPI document (contract.rs); set up with the first deployed stack a test takes.
fn check_device_answers() {
    trustreg_device::client::observe_exchanges(contract::observe_device);
}

/// Posts `body` with `content_type` to `<api><path>`.
pub async fn post(api: &str, path: &str, content_type: &str, body: String) -> Answer {
    send(
        "POST",
        format!("{api}{path}"),
        None,
        Some((content_type, body)),
    )
    .await
}

/// Any request to the API: `method` to `url`, with a bearer token and a body when given.
pub async fn send(
    method: &str,
    url: String,
    token: Option<&str>,
    body: Option<(&str, String)>,
) -> Answer {
    let method: reqwest::Method = method.parse().expect("an HTTP method");
    let mut request = reqwest::Client::new().request(method.clone(), &url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some((content_type, body)) = body {
        request = request.header("content-type", content_type).body(body);
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("a body");
    // Every answer a test sees through here is held to the OpenAPI document (contract.rs).
    contract::observe(method.as_str(), &url, status, &headers, &bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    Answer {
        status,
        content_type,
        body,
    }
}

/// A fresh nonce from the API.
pub async fn challenge(api: &str, purpose: &str) -> String {
    let answer = post(
        api,
        "/v1/challenges",
        "application/json",
        serde_json::json!({ "purpose": purpose }).to_string(),
    )
    .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    answer.body["nonce"].as_str().expect("nonce").to_owned()
}

/// The test administrator that scripts/lib.sh (`ensure_test_admin`) makes with `trustreg admin
/// keygen` and deploys with every local stack: its name (kid `admin:<name>`) and private key.
/// `TRUSTREG_ADMIN_DIR` names another directory of the same two files.
pub fn test_admin() -> (String, p256::ecdsa::SigningKey) {
    use p256::pkcs8::DecodePrivateKey as _;
    let dir = std::env::var_os("TRUSTREG_ADMIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".trustreg/test-admin"));
    let read = |file: &str| {
        std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| {
            panic!(
                "no test admin key in {} ({e}): run the test command of README.md",
                dir.display()
            )
        })
    };
    let key = p256::ecdsa::SigningKey::from_pkcs8_pem(&read("admin-key.pem"))
        .expect("admin-key.pem is a PKCS#8 P-256 key");
    let jwks: serde_json::Value =
        serde_json::from_str(&read("admin-jwks.json")).expect("admin-jwks.json is JSON");
    let name = jwks
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .expect("admin-jwks.json names its administrator");
    (name, key)
}

/// A compact JWS over `claims` signed by `key`, naming its signer by `kid`, made for `method`
/// on `path` (its `htm` and `htu` claims: API.md, "Signed requests").
pub fn signed_request(
    key: &p256::ecdsa::SigningKey,
    kid: &str,
    method: &str,
    path: &str,
    claims: &serde_json::Value,
) -> String {
    let header = trustreg_core::jose::JwsHeader::es256().with_kid(kid);
    let claims = trustreg_core::binding::bind(claims.clone(), method, path);
    trustreg_core::jose::sign_with(key, &header, claims.to_string().as_bytes())
}

/// Posts `claims`, signed by `key` as `kid` for `POST <path>`, to `<api><path>`.
pub async fn post_signed(
    api: &str,
    path: &str,
    key: &p256::ecdsa::SigningKey,
    kid: &str,
    claims: &serde_json::Value,
) -> Answer {
    let jws = signed_request(key, kid, "POST", path, claims);
    post(api, path, "application/jose", jws).await
}

/// The stack's KMS keys, counting the KMS requests made through them (benchmarks).
pub struct CountingKeys {
    inner: trustreg_aws::KmsKeys,
    requests: std::sync::atomic::AtomicU64,
}

impl CountingKeys {
    pub fn of(stack: &Stack, sdk: &SdkConfig) -> Self {
        Self {
            inner: trustreg_aws::KmsKeys::new(
                aws_sdk_kms::Client::new(sdk),
                stack.output("SigningKeyId"),
                stack.output("PiiKeyId"),
                stack.output("RegistryPath"),
            ),
            requests: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn count(&self) {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl trustreg_core::ports::RegistryKeys for CountingKeys {
    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], trustreg_core::error::KeyError> {
        self.count();
        self.inner.sign(message).await
    }
    async fn public_key(
        &self,
    ) -> Result<p256::ecdsa::VerifyingKey, trustreg_core::error::KeyError> {
        self.inner.public_key().await
    }
    fn key_id(&self) -> String {
        self.inner.key_id()
    }
    async fn seal(
        &self,
        context: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, trustreg_core::error::KeyError> {
        self.count();
        self.inner.seal(context, plaintext).await
    }
    async fn open(
        &self,
        context: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, trustreg_core::error::KeyError> {
        self.count();
        self.inner.open(context, sealed).await
    }
}

/// The median of a benchmark's rounds.
pub fn median(mut rounds: Vec<std::time::Duration>) -> std::time::Duration {
    rounds.sort();
    rounds[rounds.len() / 2]
}

/// The stack outputs in `file` (as `infra/deploy.py --out` writes them).
pub fn stack_from_file(file: &std::path::Path) -> Stack {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| {
        panic!(
            "no deployed stack outputs at {} ({e}): run the test command of README.md",
            file.display()
        )
    });
    let json: serde_json::Value = serde_json::from_str(&text).expect("stack outputs are JSON");
    check_device_answers();
    Stack {
        outputs: json
            .as_object()
            .expect("stack outputs are an object")
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
            .collect(),
    }
}

/// The test command's hierarchy (scripts/lib.sh `deploy_hierarchy`): the primary test
/// registry, the sectoral registry above it and the geographical apex, the second primary
/// below the same sectoral registry, and the apex's geographical peer; linked.
pub struct Hierarchy {
    /// IN1.HLT.P07
    pub primary: Stack,
    /// IN1.HLT
    pub sectoral: Stack,
    /// IN1
    pub geographical: Stack,
    /// IN1.HLT.P08
    pub second_primary: Stack,
    /// IN2, IN1's peer
    pub peer: Stack,
}

pub const SECTORAL_STACK: &str = "trustreg-test-sec";
pub const GEOGRAPHICAL_STACK: &str = "trustreg-test-geo";
pub const SECOND_PRIMARY_STACK: &str = "trustreg-test-p08";
pub const PEER_STACK: &str = "trustreg-test-geo2";

impl Hierarchy {
    /// The primary is `Stack::deployed()`; the others are named by
    /// `TRUSTREG_SECTORAL_STACK_OUTPUTS`, `TRUSTREG_GEOGRAPHICAL_STACK_OUTPUTS`,
    /// `TRUSTREG_SECOND_PRIMARY_STACK_OUTPUTS` and `TRUSTREG_PEER_STACK_OUTPUTS` (files), else
    /// the test command's files.
    pub fn deployed() -> Self {
        let file = outputs_file;
        Self {
            primary: Stack::deployed(),
            sectoral: stack_from_file(&file("TRUSTREG_SECTORAL_STACK_OUTPUTS", SECTORAL_STACK)),
            geographical: stack_from_file(&file(
                "TRUSTREG_GEOGRAPHICAL_STACK_OUTPUTS",
                GEOGRAPHICAL_STACK,
            )),
            second_primary: stack_from_file(&file(
                "TRUSTREG_SECOND_PRIMARY_STACK_OUTPUTS",
                SECOND_PRIMARY_STACK,
            )),
            peer: stack_from_file(&file("TRUSTREG_PEER_STACK_OUTPUTS", PEER_STACK)),
        }
    }
}

/// The outputs file of a stack of the test command's hierarchy: the file named by `var`, else
/// the test command's file of `stack` (e.g. `SECTORAL_STACK`).
pub fn outputs_file(var: &str, stack: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        repo_root()
            .join(".trustreg/stacks")
            .join(format!("{stack}.json"))
    })
}

/// A fresh P-256 key.
pub fn new_signing_key() -> p256::ecdsa::SigningKey {
    loop {
        let mut bytes = [0u8; 32];
        trustreg_core::ports::Rng::fill(&OsRng, &mut bytes);
        if let Ok(key) = p256::ecdsa::SigningKey::from_bytes(&bytes.into()) {
            return key;
        }
    }
}

/// An enquirer signed up at `api`, approved by the test administrator and logged in: its
/// access token.
pub async fn enquirer_token(api: &str) -> String {
    let (key, kid) = approved_enquirer(api).await;
    login(api, &key, &kid).await
}

/// An enquirer signed up at `api` and approved by the test administrator: its key and kid.
pub async fn approved_enquirer(api: &str) -> (p256::ecdsa::SigningKey, String) {
    let key = new_signing_key();
    let signed_up = post(
        api,
        "/v1/enquirers",
        "application/json",
        serde_json::json!({
            "name": "Hierarchy Tests", "organisation": "Example Health",
            "contact": "tests@example.org", "role": "enquirer",
            "public_key": trustreg_core::jose::jwk_from_key(key.verifying_key())
        })
        .to_string(),
    )
    .await;
    assert_eq!(signed_up.status, 201, "{signed_up:?}");
    let id = signed_up.body["enquirer_id"]
        .as_str()
        .expect("enquirer id")
        .to_owned();
    let (admin, admin_key) = test_admin();
    let decided = post_signed(
        api,
        &format!("/v1/admin/enquirers/{id}/decision"),
        &admin_key,
        &format!("admin:{admin}"),
        &serde_json::json!({"nonce": challenge(api, "enquirer-decision").await, "decision": "approve"}),
    )
    .await;
    assert_eq!(decided.status, 200, "{decided:?}");
    (key, format!("enquirer:{id}"))
}

/// A challenge-response login at `api` as `kid` (an enquirer or an administrator) signing with
/// `key`: the access token.
async fn login(api: &str, key: &p256::ecdsa::SigningKey, kid: &str) -> String {
    let session = post_signed(
        api,
        "/v1/sessions",
        key,
        kid,
        &serde_json::json!({"nonce": challenge(api, "login").await, "enquirer_id": kid}),
    )
    .await;
    assert_eq!(session.status, 200, "{session:?}");
    session.body["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

/// `PUT {path}` with `claims` and a fresh nonce of `purpose`, signed by the test
/// administrator, as an operator's tools send it.
pub async fn admin_put(
    api: &str,
    path: &str,
    purpose: &str,
    mut claims: serde_json::Value,
) -> Answer {
    let (name, key) = test_admin();
    claims["nonce"] = challenge(api, purpose).await.into();
    let jws = signed_request(&key, &format!("admin:{name}"), "PUT", path, &claims);
    send(
        "PUT",
        format!("{api}{path}"),
        None,
        Some(("application/jose", jws)),
    )
    .await
}

/// The test administrator logged in at `api`: its access token.
pub async fn admin_token(api: &str) -> String {
    let (name, key) = test_admin();
    let kid = format!("admin:{name}");
    login(api, &key, &kid).await
}

/// Invokes the stack's notify function with `event` (Lambda's Invoke API) and returns its answer.
pub async fn invoke_notify(stack: &Stack, event: &serde_json::Value) -> serde_json::Value {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let function = stack.output("NotifyFunctionName");
    let answer = reqwest::Client::new()
        .post(format!(
            "{endpoint}/2015-03-31/functions/{function}/invocations"
        ))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .json(event)
        .send()
        .await
        .expect("Lambda answers");
    assert!(answer.status().is_success(), "{answer:?}");
    answer.json().await.expect("a JSON answer")
}

/// The event EventBridge's schedule sends the notify function: one run of the scheduled
/// evaluation (`EvaluationSchedule` in infra/template.yaml).
pub fn scheduled_event() -> serde_json::Value {
    serde_json::json!({
        "version": "0", "id": "tests", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "000000000000", "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1", "resources": [], "detail": {}
    })
}

/// Polls `check` until it answers something or `within` passes.
pub async fn eventually<T, F, Fut>(within: std::time::Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not within {within:?}: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}
