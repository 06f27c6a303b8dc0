//! Response conformance (issue 17, "the contract is the product"): every answer the e2e suite
//! sees is checked against the stack's served OpenAPI document (`GET <api>/v1/openapi.json`),
//! fetched once per process and API. The status must be one the operation documents, the
//! Content-Type one documented for that status, the documented required headers present, and the
//! body valid against the documented schema (JSON Schema 2020-12, the dialect of OpenAPI 3.1,
//! `$ref`s resolved in the document's `components`).
//!
//! Answers are held to their schemas strictly: an object schema that lists its `properties` and
//! says nothing of others is read as closed, so a member the code serializes but the document
//! does not name (the device answer's `owner_id`, issue 17) is drift too. A schema that means to
//! stay open says so with `additionalProperties`.
//!
//! The check runs in `crate::send` (the tests' requests) and, through
//! `trustreg_device::client::observe_exchanges` installed by `Stack::deployed`, in the device
//! client; a drift panics in the test that saw the answer, naming the operation, the status and
//! the JSON pointer. `TRUSTREG_CONTRACT=0` turns it off (e.g. against an older deployed stack).
//! Requests no operation of the document matches (unknown paths or methods, which the tests of
//! routing send on purpose) are not an operation's answers and are not checked; nor is API
//! Gateway's own 502/504 when a function did not answer (`gateway_answer`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::header::HeaderMap;
use serde_json::Value;

/// One served OpenAPI document, ready to check answers against.
pub struct Contract {
    document: Value,
    operations: Vec<Operation>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

struct Operation {
    method: String,
    template: String,
    /// The template's segments: `None` for a `{parameter}`.
    segments: Vec<Option<String>>,
}

/// Whether the check is on: by default, in tests.
pub fn enabled() -> bool {
    std::env::var("TRUSTREG_CONTRACT").as_deref() != Ok("0")
}

/// Checks one answer seen at `url` (a full URL under an API's stage), against the document that
/// API serves. Panics with the drift.
pub fn observe(method: &str, url: &str, status: u16, headers: &HeaderMap, body: &[u8]) {
    if !enabled() {
        return;
    }
    let Some((base, path)) = split_api_url(url) else {
        return;
    };
    let contract = served(&base);
    if let Err(drift) = contract.check(method, &path, status, headers, body) {
        panic!("{drift}");
    }
}

/// The device client's observer (`trustreg_device::client::observe_exchanges`).
pub fn observe_device(exchange: &trustreg_device::client::Exchange<'_>) {
    observe(
        exchange.method,
        exchange.url,
        exchange.status,
        exchange.headers,
        exchange.body,
    );
}

/// `(api base, path from /v1 on)` of a URL under an API's stage; `None` outside the API.
fn split_api_url(url: &str) -> Option<(String, String)> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let path = parsed.path();
    let at = if path.starts_with("/v1/") || path == "/v1" {
        0
    } else {
        path.find("/v1/")
            .or_else(|| path.strip_suffix("/v1").map(str::len))?
    };
    let mut base = parsed.clone();
    base.set_path(&path[..at]);
    base.set_query(None);
    Some((
        base.as_str().trim_end_matches('/').to_owned(),
        path[at..].to_owned(),
    ))
}

/// The document `base` serves, fetched on first use (once per process per API).
pub fn served(base: &str) -> Arc<Contract> {
    static DOCUMENTS: OnceLock<Mutex<HashMap<String, Arc<Contract>>>> = OnceLock::new();
    let mut documents = DOCUMENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(contract) = documents.get(base) {
        return contract.clone();
    }
    let url = format!("{base}/v1/openapi.json");
    // A thread of its own with its own runtime: the observers are synchronous and run inside
    // the tests' runtimes, of either flavour.
    let fetched = std::thread::spawn({
        let url = url.clone();
        move || -> Result<Value, String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let response = reqwest::get(&url).await.map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("answered {}", response.status()));
                }
                response.json::<Value>().await.map_err(|e| e.to_string())
            })
        }
    })
    .join()
    .unwrap_or_else(|_| Err("the fetch panicked".into()))
    .unwrap_or_else(|e| panic!("contract check: no OpenAPI document at {url}: {e}"));
    let contract = Arc::new(Contract::new(fetched));
    documents.insert(base.to_owned(), contract.clone());
    contract
}

impl Contract {
    pub fn new(document: Value) -> Self {
        let mut operations = Vec::new();
        if let Some(paths) = document["paths"].as_object() {
            for (template, item) in paths {
                let segments = template
                    .split('/')
                    .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                    .collect::<Vec<_>>();
                for method in item.as_object().into_iter().flat_map(|m| m.keys()) {
                    operations.push(Operation {
                        method: method.to_ascii_uppercase(),
                        template: template.clone(),
                        segments: segments.clone(),
                    });
                }
            }
        }
        Contract {
            document,
            operations,
            validators: Mutex::default(),
        }
    }

    /// The operation `method` on `path` is (the template with most literal segments), if any.
    fn operation(&self, method: &str, path: &str) -> Option<&Operation> {
        let method = method.to_ascii_uppercase();
        let segments: Vec<&str> = path.split('/').collect();
        self.operations
            .iter()
            .filter(|op| op.method == method && op.segments.len() == segments.len())
            .filter(|op| {
                op.segments.iter().zip(&segments).all(|(t, s)| match t {
                    Some(literal) => literal == s,
                    None => !s.is_empty(),
                })
            })
            .max_by_key(|op| op.segments.iter().filter(|s| s.is_some()).count())
    }

    /// Checks one answer to `method` on `path` (from `/v1` on). `Ok` when no operation matches.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let Some(op) = self.operation(method, path) else {
            return Ok(());
        };
        if gateway_answer(status, headers) {
            return Ok(());
        }
        let name = format!("{} {}", op.method, op.template);
        let excerpt = || String::from_utf8_lossy(&body[..body.len().min(400)]).into_owned();
        let responses =
            &self.document["paths"][&op.template][op.method.to_ascii_lowercase()]["responses"];
        let code = status.to_string();
        let range = format!("{}XX", status / 100);
        let Some((key, response)) = [code.as_str(), range.as_str(), "default"]
            .into_iter()
            .find_map(|key| responses.get(key).map(|r| (key, r)))
        else {
            let documented: Vec<&String> = responses
                .as_object()
                .map(|r| r.keys().collect())
                .unwrap_or_default();
            return Err(format!(
                "contract drift: {name} answered {status}, a status it does not document \
                 (documented: {documented:?}); body: {}",
                excerpt()
            ));
        };
        let response = self.resolve(response);
        for (header, spec) in response["headers"].as_object().into_iter().flatten() {
            let spec = self.resolve(spec);
            if spec["required"] == Value::Bool(true) && !headers.contains_key(header.as_str()) {
                return Err(format!(
                    "contract drift: {name} answered {status} without its documented header \
                     {header}"
                ));
            }
        }
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let media = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let Some(content) = response["content"].as_object().filter(|c| !c.is_empty()) else {
            if body.is_empty() {
                return Ok(());
            }
            return Err(format!(
                "contract drift: {name} answered {status} with a body ({content_type}), where \
                 the document gives none: {}",
                excerpt()
            ));
        };
        // A HEAD answer has the headers of the GET but no body.
        if method.eq_ignore_ascii_case("HEAD") || (body.is_empty() && status == 304) {
            return Ok(());
        }
        let Some(documented) = content.get(&media) else {
            return Err(format!(
                "contract drift: {name} answered {status} as {content_type:?}, a media type it \
                 does not document (documented: {:?}); body: {}",
                content.keys().collect::<Vec<_>>(),
                excerpt()
            ));
        };
        let Some(schema) = documented.get("schema") else {
            return Ok(());
        };
        let instance = if media == "application/json" || media.ends_with("+json") {
            serde_json::from_slice::<Value>(body).map_err(|e| {
                format!(
                    "contract drift: {name} answered {status} as {media} with a body that is \
                     not JSON ({e}): {}",
                    excerpt()
                )
            })?
        } else {
            Value::String(String::from_utf8_lossy(body).into_owned())
        };
        let validator = self.validator(&format!("{name} {key} {media}"), schema)?;
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .take(5)
            .map(|e| {
                let pointer = e.instance_path().to_string();
                let pointer = if pointer.is_empty() {
                    "/".into()
                } else {
                    pointer
                };
                format!("at {pointer}: {e}")
            })
            .collect();
        if errors.is_empty() {
            return Ok(());
        }
        Err(format!(
            "contract drift: {name} answered {status} ({media}) with a body its schema refuses: \
             {}; body: {}",
            errors.join("; "),
            excerpt()
        ))
    }

    /// `value`, or what its `$ref` (within the document) names.
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => reference
                .strip_prefix('#')
                .and_then(|pointer| self.document.pointer(pointer))
                .unwrap_or(value),
            None => value,
        }
    }

    /// The validator of one response schema: the schema with the document's components beside
    /// it (so `#/components/schemas/...` resolves), its objects closed (module doc).
    fn validator(&self, key: &str, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
        let mut validators = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(validator) = validators.get(key) {
            return Ok(validator.clone());
        }
        let mut root = serde_json::json!({ "allOf": [schema] });
        root["components"] = self.document["components"].clone();
        close_objects(&mut root);
        let validator = jsonschema::draft202012::options()
            .build(&root)
            .map_err(|e| format!("contract check: the schema of {key} does not compile: {e}"))?;
        let validator = Arc::new(validator);
        validators.insert(key.to_owned(), validator.clone());
        Ok(validator)
    }
}

/// API Gateway's own answer when the function failed to answer at all (it crashed or timed
/// out: 502, 504 `{"message": ...}` as application/json, no problem): no operation's answer,
/// and one the clients retry (API.md, "Retrying a change"). Every answer a function gives is
/// held to the document, 5xx problems included.
fn gateway_answer(status: u16, headers: &HeaderMap) -> bool {
    let problem = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    matches!(status, 502 | 504) && !problem
}

/// Every schema that lists `properties` and is silent on others refuses others.
fn close_objects(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties")
                && !map.contains_key("additionalProperties")
                && !map.contains_key("unevaluatedProperties")
            {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            for child in map.values_mut() {
                close_objects(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn splits_stage_urls() {
        assert_eq!(
            split_api_url("http://h:4571/restapis/abc/test/_user_request_/v1/devices/x?y=1"),
            Some((
                "http://h:4571/restapis/abc/test/_user_request_".into(),
                "/v1/devices/x".into()
            ))
        );
        assert_eq!(
            split_api_url("http://abc.execute-api.localhost:4571/test/v1/challenges"),
            Some((
                "http://abc.execute-api.localhost:4571/test".into(),
                "/v1/challenges".into()
            ))
        );
        assert_eq!(split_api_url("http://h:4571/_localstack/health"), None);
    }

    fn json_headers(media: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::CONTENT_TYPE, media.parse().unwrap());
        headers
    }

    /// The checker against the document the code builds: a literal path wins over a template,
    /// an undocumented status, media type or member fails, naming operation, status, pointer.
    #[test]
    fn refuses_what_the_document_does_not_say() {
        let document = trustreg_http::openapi_json();
        let contract = Contract::new(document);
        let problem = br#"{"type":"https://trustreg.dev/problems/device-not-found","title":"Device not found","status":404,"detail":"no such device"}"#;
        let json = json_headers("application/problem+json");
        contract
            .check("GET", "/v1/devices/IN1.HLT.P07.X", 404, &json, problem)
            .unwrap();
        let err = contract
            .check("GET", "/v1/devices/IN1.HLT.P07.X", 418, &json, problem)
            .unwrap_err();
        assert!(err.contains("GET /v1/devices/{id} answered 418"), "{err}");
        let err = contract
            .check(
                "GET",
                "/v1/devices/X",
                404,
                &json_headers("text/plain"),
                problem,
            )
            .unwrap_err();
        assert!(err.contains("media type"), "{err}");
        let drifted = br#"{"type":"https://trustreg.dev/problems/device-not-found","status":"404","colour":1}"#;
        let err = contract
            .check("GET", "/v1/devices/X", 404, &json, drifted)
            .unwrap_err();
        assert!(err.contains("at /status"), "{err}");
        assert!(err.contains("colour"), "{err}");
        // No operation: not checked.
        contract
            .check("GET", "/v1/nowhere", 404, &json, b"junk")
            .unwrap();
    }
}
