//! The one fixture of the router tests: the domain tests' registry on the in-memory fakes
//! (`fakes::FakeRegistry`, built as a test needs it) behind the routers of the three functions,
//! with a manufacturer CA for the tests that register devices, and what the routers answer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use p256::ecdsa::SigningKey;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use trustreg_core::Registry;
use trustreg_core::fakes::{FakeRegistryBuilder, FixedClock, MemoryKeys, MemoryStore};
use trustreg_core::jose::JwsHeader;
use trustreg_core::messages::Purpose;
use trustreg_device::ManufacturerCa;

use super::{Sendable, Unsent};

/// A registry on fakes behind the `register`, `interrogate` and `admin` routers.
pub struct Harness {
    pub registry: Arc<Registry>,
    pub store: Arc<MemoryStore>,
    pub keys: Arc<MemoryKeys>,
    pub clock: Arc<FixedClock>,
    routers: HashMap<&'static str, Router>,
    ca: Option<ManufacturerCa>,
    dir: PathBuf,
    files: AtomicU64,
}

/// A manufacturer CA for the harness: its name, and whether the registry accepts its root.
pub struct HarnessBuilder {
    registry: FakeRegistryBuilder,
    ca: Option<(String, bool)>,
}

impl HarnessBuilder {
    /// A manufacturer CA `name` whose root the registry accepts, for the secure-element root
    /// of trust and identifier scopes covering every identifier of the tests.
    pub fn manufacturer(mut self, name: &str) -> Self {
        self.ca = Some((name.to_owned(), true));
        self
    }

    /// A manufacturer CA `name` the registry does not (yet) accept.
    pub fn unaccepted_manufacturer(mut self, name: &str) -> Self {
        self.ca = Some((name.to_owned(), false));
        self
    }

    pub async fn build(self) -> Harness {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "trustreg-http-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let (registry, store, keys, clock) = self.registry.build().shared();
        let routers = HashMap::from([
            ("register", trustreg_http::register_router(registry.clone())),
            (
                "interrogate",
                trustreg_http::interrogate_router(registry.clone()),
            ),
            ("admin", trustreg_http::admin_router(registry.clone())),
        ]);
        let mut harness = Harness {
            registry,
            store,
            keys,
            clock,
            routers,
            ca: None,
            dir,
            files: AtomicU64::new(0),
        };
        if let Some((name, accepted)) = self.ca {
            let ca = ManufacturerCa::create(harness.dir.join("ca"), &name).unwrap();
            if accepted {
                harness.accept(&ca).await;
            }
            harness.ca = Some(ca);
        }
        harness
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.remove_files();
    }
}

/// The real time, in milliseconds since the epoch: the clock of registries whose tests check
/// certificates.
pub fn now_ms() -> u64 {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    u64::try_from(ms).unwrap()
}

/// What a router answered.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub allow: Option<String>,
    pub www_authenticate: Option<String>,
    /// The body as JSON; `Null` when it is not JSON.
    pub json: Value,
    pub text: String,
}

impl Reply {
    /// The problem type's code (what follows `PROBLEM_BASE`), or "".
    pub fn problem(&self) -> &str {
        self.json["type"]
            .as_str()
            .and_then(|t| t.strip_prefix(trustreg_http::PROBLEM_BASE))
            .unwrap_or("")
    }
}

impl Harness {
    /// A harness on the registry `registry` builds.
    pub fn on(registry: FakeRegistryBuilder) -> HarnessBuilder {
        HarnessBuilder { registry, ca: None }
    }

    /// The registry accepts `ca`'s root, published for the root-of-trust types the tests'
    /// devices claim (secure-element, trustzone, tpm: any other is `rot-type-not-published`,
    /// 7 ii) and
    /// identifier scopes covering every identifier of the tests.
    pub async fn accept(&self, ca: &ManufacturerCa) {
        self.registry
            .accept_root(
                ca.cert_der(),
                ca.name(),
                vec!["secure-element".into(), "trustzone".into(), "tpm".into()],
                trustreg_core::fakes::broad_identifier_scopes(),
                "admin:test",
            )
            .await
            .unwrap();
    }

    /// The manufacturer CA; a harness built without one panics.
    pub fn ca(&self) -> &ManufacturerCa {
        self.ca
            .as_ref()
            .expect("a harness built with a manufacturer")
    }

    /// A fresh path in the harness's scratch directory (for secure elements, other CAs).
    pub fn scratch(&self, what: &str) -> PathBuf {
        let n = self.files.fetch_add(1, Ordering::SeqCst);
        self.dir.join(format!("{what}-{n}"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Removes the CA and secure-element files (when dropped; a harness in a static calls it).
    pub fn remove_files(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// `request` through the router of `function`.
    pub async fn send(&self, function: &str, request: Request<Body>) -> Reply {
        let response = self.routers[function]
            .clone()
            .oneshot(request)
            .await
            .unwrap();
        let text = |name: header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let status = response.status();
        let content_type = text(header::CONTENT_TYPE);
        let location = text(header::LOCATION);
        let allow = text(header::ALLOW);
        let www_authenticate = text(header::WWW_AUTHENTICATE);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            content_type,
            location,
            allow,
            www_authenticate,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// `POST uri` with `body` (of `content_type`, if any) through `function`'s router.
    pub async fn post_body(
        &self,
        function: &str,
        uri: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Reply {
        let mut request = Request::builder().method(Method::POST).uri(uri);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        self.send(function, request.body(body.into()).unwrap())
            .await
    }

    /// `POST path` with a JWS (signed for this request if not yet) through `function`'s router.
    pub async fn post_jws(&self, function: &str, path: &str, jws: impl Into<Sendable>) -> Reply {
        let jws = jws.into().body_for("POST", path);
        self.post_body(function, path, Some("application/jose"), jws)
            .await
    }

    /// `GET uri` through `function`'s router, with an `Authorization` header if any.
    pub async fn get(&self, function: &str, uri: &str, authorization: Option<&str>) -> Reply {
        let mut request = Request::get(uri);
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        self.send(function, request.body(Body::empty()).unwrap())
            .await
    }

    /// `POST /v1/challenges` through the `register` router; the nonce.
    pub async fn challenge(&self, purpose: Purpose) -> String {
        let body = json!({ "purpose": purpose }).to_string();
        let reply = self
            .post_body("register", "/v1/challenges", Some("application/json"), body)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.json["nonce"].as_str().unwrap().to_owned()
    }

    /// A fresh nonce for `purpose`, from the registry.
    pub async fn nonce(&self, purpose: Purpose) -> String {
        self.registry.challenge(purpose).await.unwrap().nonce
    }

    /// `claims` with a fresh nonce for `purpose`, to be signed by `key` (as `kid`, if any) for
    /// the request they are sent in.
    pub async fn unsent(
        &self,
        key: &SigningKey,
        kid: Option<&str>,
        purpose: Purpose,
        mut claims: Value,
    ) -> Unsent {
        claims["nonce"] = json!(self.nonce(purpose).await);
        let mut header = JwsHeader::es256();
        if let Some(kid) = kid {
            header = header.with_kid(kid);
        }
        Unsent::new(key, header, claims)
    }
}
