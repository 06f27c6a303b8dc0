//! What every page shares: the API, the registry's published document, and the signed-in
//! enquirer's session (kept in memory only: a reload means logging in again, with the key the
//! browser keeps).

use leptos::prelude::*;
use serde_json::{Value, json};

use crate::api::{Api, ApiError};
use crate::keystore::{self, Identity};
use crate::registry::Registry;
use trustreg_model::routes::Op;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub kid: String,
    pub token: String,
    pub expires_at_ms: u64,
}

#[derive(Clone, Copy)]
pub struct Portal {
    api: StoredValue<Api>,
    /// The published document, once read; an error if the registry cannot be read.
    pub registry: RwSignal<Option<Result<Registry, ApiError>>>,
    /// The account of the key this browser keeps for the registry, if any.
    pub kid: RwSignal<Option<String>>,
    pub session: RwSignal<Option<Session>>,
}

pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

impl Portal {
    pub fn provide(api: Api) -> Self {
        let portal = Self {
            api: StoredValue::new(api),
            registry: RwSignal::new(None),
            kid: RwSignal::new(None),
            session: RwSignal::new(None),
        };
        provide_context(portal);
        leptos::task::spawn_local(async move {
            let api = portal.api();
            let registry = api
                .get::<Value>(Op::RegistryDocument.path(), None)
                .await
                .and_then(Registry::from_document);
            portal.registry.set(Some(registry));
            if let Ok(Some(identity)) = keystore::load(api.base()).await {
                portal.kid.set(Some(identity.kid));
            }
        });
        portal
    }

    pub fn get() -> Self {
        expect_context::<Self>()
    }

    pub fn api(&self) -> Api {
        self.api.get_value()
    }

    /// The access token while the session lasts.
    pub fn token(&self) -> Option<String> {
        self.session
            .get_untracked()
            .filter(|s| s.expires_at_ms > now_ms())
            .map(|s| s.token)
    }

    /// The trust domains the registry hosts (tracked: forms fill their lists from it).
    pub fn trust_domains(&self) -> Vec<String> {
        self.registry
            .get()
            .and_then(Result::ok)
            .map(|r| {
                r.document["trust_domains"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The registry's document: the one read at start, or read now if that is still on its
    /// way (an answer can arrive before it).
    pub async fn registry(&self) -> Result<Registry, ApiError> {
        if let Some(Ok(registry)) = self.registry.get_untracked() {
            return Ok(registry);
        }
        let registry = self
            .api()
            .get::<Value>(Op::RegistryDocument.path(), None)
            .await
            .and_then(Registry::from_document);
        self.registry.set(Some(registry.clone()));
        registry
    }

    /// Signs up with a key pair made now in the browser; the browser keeps the key for login.
    pub async fn sign_up(
        &self,
        name: &str,
        organisation: &str,
        contact: &str,
    ) -> Result<Value, ApiError> {
        let api = self.api();
        let key = keystore::generate().await?;
        let view: Value = api
            .post_json(
                Op::SignUp.path(),
                &json!({
                    "name": name, "organisation": organisation, "contact": contact,
                    "role": "enquirer", "public_key": key.public_jwk,
                }),
                None,
            )
            .await?;
        let id = view["enquirer_id"].as_str().unwrap_or_default();
        let identity = keystore::keep(api.base(), &format!("enquirer:{id}"), key).await?;
        self.kid.set(Some(identity.kid));
        self.session.set(None);
        Ok(view)
    }

    /// Challenge-response login (Y.3059 9.3 iii): the registry's nonce signed with the key
    /// the browser keeps.
    pub async fn log_in(&self) -> Result<Session, ApiError> {
        let api = self.api();
        let identity: Identity = keystore::load(api.base()).await?.ok_or_else(|| ApiError {
            code: None,
            message: "This browser holds no key for this registry: sign up first.".into(),
        })?;
        let challenge: Value = api
            .post_json(Op::Challenge.path(), &json!({"purpose": "login"}), None)
            .await?;
        let nonce = challenge["nonce"].as_str().unwrap_or_default();
        // Made for this request only (`htm`, `htu`: API.md, "Signed requests").
        let claims = trustreg_model::binding::bind(
            json!({"nonce": nonce, "enquirer_id": identity.kid}),
            "POST",
            Op::Login.path(),
        );
        let jws = identity.signed(&claims).await?;
        let answer: Value = api.post_jws(Op::Login.path(), &jws).await?;
        let session = Session {
            kid: identity.kid.clone(),
            token: answer["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            expires_at_ms: now_ms() + answer["expires_in"].as_u64().unwrap_or_default() * 1000,
        };
        self.session.set(Some(session.clone()));
        Ok(session)
    }

    pub fn log_out(&self) {
        self.session.set(None);
    }

    /// Forgets the key: the account cannot be logged into from this browser any more.
    pub async fn forget_key(&self) -> Result<(), ApiError> {
        keystore::forget(self.api().base()).await?;
        self.kid.set(None);
        self.session.set(None);
        Ok(())
    }
}
