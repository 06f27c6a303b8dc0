//! The enquirer's key pair, made and kept by the browser (keystore.js): WebCrypto, not
//! extractable, in IndexedDB. Rust sees only the public JWK and signatures.

use serde_json::Value;
use trustreg_model::jose::JwsHeader;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::api::ApiError;

#[wasm_bindgen(module = "/src/keystore.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    fn load_identity(api: &str) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn generate_key() -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn save_identity(api: &str, kid: &str, generated: &JsValue)
    -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn forget_identity(api: &str) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn sign(identity: &JsValue, data: &[u8]) -> Result<js_sys::Promise, JsValue>;
}

/// A key pair the browser holds, with the account it signs for once signed up.
#[derive(Clone)]
pub struct Identity {
    handle: JsValue,
    pub kid: String,
}

/// A key pair not yet tied to an account.
pub struct NewKey {
    handle: JsValue,
    pub public_jwk: Value,
}

fn browser_error(what: &str, e: JsValue) -> ApiError {
    let reason = e
        .as_string()
        .or_else(|| {
            js_sys::Reflect::get(&e, &"message".into())
                .ok()?
                .as_string()
        })
        .unwrap_or_else(|| "unknown error".into());
    ApiError {
        code: None,
        message: format!("The browser could not {what} ({reason})."),
    }
}

async fn settle(
    what: &str,
    promise: Result<js_sys::Promise, JsValue>,
) -> Result<JsValue, ApiError> {
    let promise = promise.map_err(|e| browser_error(what, e))?;
    JsFuture::from(promise)
        .await
        .map_err(|e| browser_error(what, e))
}

/// The identity kept for this registry's API, if any.
pub async fn load(api: &str) -> Result<Option<Identity>, ApiError> {
    let record = settle("read its key store", load_identity(api)).await?;
    if record.is_undefined() || record.is_null() {
        return Ok(None);
    }
    let kid = js_sys::Reflect::get(&record, &"kid".into())
        .ok()
        .and_then(|k| k.as_string())
        .unwrap_or_default();
    Ok(Some(Identity {
        handle: record,
        kid,
    }))
}

pub async fn generate() -> Result<NewKey, ApiError> {
    let generated = settle("make a key pair", generate_key()).await?;
    let jwk = js_sys::Reflect::get(&generated, &"publicJwk".into())
        .ok()
        .and_then(|j| js_sys::JSON::stringify(&j).ok())
        .and_then(|s| s.as_string())
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    Ok(NewKey {
        handle: generated,
        public_jwk: jwk,
    })
}

/// Keeps `key` as the identity for `api`, signing as `kid`.
pub async fn keep(api: &str, kid: &str, key: NewKey) -> Result<Identity, ApiError> {
    settle("keep the key", save_identity(api, kid, &key.handle)).await?;
    load(api).await?.ok_or_else(|| ApiError {
        code: None,
        message: "The browser did not keep the key.".into(),
    })
}

pub async fn forget(api: &str) -> Result<(), ApiError> {
    settle("forget the key", forget_identity(api))
        .await
        .map(|_| ())
}

impl Identity {
    /// A compact JWS (ES256) of `claims`, signed in the browser with the kept key.
    pub async fn signed(&self, claims: &Value) -> Result<String, ApiError> {
        let header = JwsHeader::es256().with_kid(&self.kid);
        let input = trustreg_model::jose::signing_input(&header, claims.to_string().as_bytes());
        let signature = settle("sign", sign(&self.handle, input.as_bytes())).await?;
        let raw: [u8; 64] = js_sys::Uint8Array::new(&signature)
            .to_vec()
            .try_into()
            .map_err(|_| ApiError {
                code: None,
                message: "The browser made a signature of the wrong size.".into(),
            })?;
        Ok(trustreg_model::jose::assemble(&input, &raw))
    }
}
