//! `GET /v1/openapi.json` (Y.3059 9.3 i b): the API's OpenAPI document, built from `ROUTES`
//! so it cannot drift from the routers, with each route's description from `operations`.

mod claims;
mod operations;
mod schemas;

use axum::Json;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Content, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, Required, ResponseBuilder,
    ResponsesBuilder,
};

use crate::routes::{Access, Op, ROUTES, RouteSpec};
use crate::served::{self, Route};
use operations::{Answer, Body, Described};

#[cfg(test)]
use operations::OPERATIONS;

pub(crate) const BEARER_AUTH: &str = "bearerAuth";

pub(crate) fn routes() -> Vec<Route> {
    vec![served::serve(Op::OpenApi, serve)]
}

async fn serve() -> Response {
    Json(openapi_json()).into_response()
}

/// The document as served: `openapi_document` with what utoipa's builders cannot say (a
/// response header's `required`, OpenAPI 3.1 4.8.21) filled in.
pub fn openapi_json() -> serde_json::Value {
    let mut document = serde_json::to_value(openapi_document()).unwrap_or_default();
    if let Some(paths) = document.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for responses in paths
            .values_mut()
            .filter_map(|item| item.as_object_mut())
            .flat_map(|item| item.values_mut())
            .filter_map(|operation| operation.get_mut("responses"))
            .filter_map(|responses| responses.as_object_mut())
        {
            for (status, response) in responses.iter_mut() {
                if RETRY_AFTER_STATUSES.contains(&status.as_str())
                    && let Some(header) = response.pointer_mut("/headers/Retry-After")
                {
                    header["required"] = serde_json::Value::Bool(true);
                }
            }
        }
    }
    document
}

/// The answers that always carry `Retry-After` (API.md, first section).
const RETRY_AFTER_STATUSES: &[&str] = &["429", "503"];

pub(crate) fn bearer_scheme() -> SecurityScheme {
    let mut http = Http::new(HttpAuthScheme::Bearer);
    http.bearer_format = Some("JWT".into());
    http.description = Some(
        "An access token from POST /v1/sessions, signed by the registry's key; short-lived.".into(),
    );
    SecurityScheme::Http(http)
}

/// The document: one operation per route of `ROUTES`, tagged with the function that serves it.
pub fn openapi_document() -> OpenApi {
    let mut paths = Paths::new();
    for spec in ROUTES {
        if let Some(method) = http_method(spec.method) {
            paths.add_path_operation(spec.path.replace("{*", "{"), vec![method], operation(spec));
        }
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("trustreg")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "A trust registry for connected devices after ITU-T Y.3059. Errors are \
                     application/problem+json (RFC 9457). Signed requests are compact JWS \
                     (ES256) over a single-use nonce from POST /v1/challenges.",
                )),
        )
        .paths(paths)
        .components(Some(schemas::components()))
        .build()
}

fn http_method(method: &str) -> Option<HttpMethod> {
    match method {
        "GET" => Some(HttpMethod::Get),
        "POST" => Some(HttpMethod::Post),
        "PUT" => Some(HttpMethod::Put),
        "DELETE" => Some(HttpMethod::Delete),
        "PATCH" => Some(HttpMethod::Patch),
        _ => None,
    }
}

fn operation(spec: &RouteSpec) -> Operation {
    let described = operations::describe(spec.op);
    let mut builder = OperationBuilder::new()
        .operation_id(Some(operation_id(spec)))
        .tag(spec.function)
        .summary(described.map(|d| d.summary))
        .description(Some(description(spec.access, described)));
    for name in path_parameters(spec.path) {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    for (name, description) in described.map_or(&[][..], |d| d.query) {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(*name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(*description))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    if let Some(Body::BulkDevices) = described.map(|d| &d.body) {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name("Authorization")
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some(
                    "`TrustReg-JWS <compact JWS>` over the body's SHA-256, signed by a \
                     manufacturer or an administrator over a `bulk` nonce",
                ))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    if let Some(body) = described.and_then(|d| request_body(spec, d)) {
        builder = builder.request_body(Some(body));
    }
    builder = builder.responses(responses(spec, described));
    for requirement in security(spec.access, described) {
        builder = builder.security(requirement);
    }
    builder.build()
}

/// e.g. `get_v1_devices_id_history`.
fn operation_id(spec: &RouteSpec) -> String {
    let path: String = spec
        .path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let words: Vec<&str> = path.split('_').filter(|w| !w.is_empty()).collect();
    format!("{}_{}", spec.method.to_ascii_lowercase(), words.join("_"))
}

fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        // axum's catch-all `{*name}` is an ordinary path parameter in OpenAPI (its value
        // holds slashes).
        .map(|name| name.trim_start_matches('*'))
}

fn role_names(roles: &[trustreg_core::actors::Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn description(access: Access, described: Option<&Described>) -> String {
    let mut text = access_text(access);
    if described.is_some_and(|d| d.optional_token) {
        text.push_str(
            " A bearer access token is optional: when sent it must be valid, and the answer \
             shows what its role may see.",
        );
    }
    text
}

fn access_text(access: Access) -> String {
    match access {
        Access::Public => "Who: anyone.".into(),
        Access::RootOfTrust => {
            "Who: a device, proving its root of trust with the certificate chain in the JWS \
             header's x5c."
                .into()
        }
        Access::Signed(roles) => format!(
            "Who: {}, signing the body as a compact JWS (ES256) whose kid names the signer.",
            role_names(roles)
        ),
        Access::Token(roles) => format!(
            "Who: {}, with `Authorization: Bearer <access token>`.",
            role_names(roles)
        ),
    }
}

fn request_body(
    spec: &RouteSpec,
    described: &Described,
) -> Option<utoipa::openapi::request_body::RequestBody> {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let builder = match &described.body {
        Body::None => return None,
        Body::Json(schema) => RequestBodyBuilder::new().content(
            "application/json",
            Content::new(Some(Ref::from_schema_name(*schema))),
        ),
        Body::Jws { purpose, claims } => {
            let mut content = Content::new(Some(string().description(Some(
                "A compact JWS (RFC 7515): header `{alg: ES256, kid}`, payload as \
                 `x-jws-payload`",
            ))));
            content.extensions = Some(jws_extensions(spec, purpose));
            RequestBodyBuilder::new()
                .description(Some(format!(
                    "A compact JWS (ES256) over a `{purpose}` nonce from POST /v1/challenges; \
                     claims {claims}. The payload's JSON Schema is this media type's \
                     `x-jws-payload`; who signs, with which `kid`, `x-jws-signers`."
                )))
                .content("application/jose", content)
        }
        Body::BulkDevices => RequestBodyBuilder::new()
            .description(Some(
                "Up to 1000 devices: a JSON array, or one JSON object per line (NDJSON), each \
                 {identifier:{scheme,value}, device, certificate_chain, trust_domains, ...}.",
            ))
            .content(
                "application/json",
                Content::new(Some(
                    utoipa::openapi::schema::ArrayBuilder::new()
                        .items(ObjectBuilder::new())
                        .max_items(Some(trustreg_core::bulk::MAX_BULK_ITEMS)),
                )),
            )
            .content("application/x-ndjson", Content::new(Some(string()))),
    };
    Some(builder.required(Some(Required::True)).build())
}

/// How a generic client builds a signed body (API.md "Signed requests in the OpenAPI
/// document"): the payload's schema, the nonce's purpose, and the header each signer puts.
fn jws_extensions(spec: &RouteSpec, purpose: &str) -> utoipa::openapi::extensions::Extensions {
    let payload = claims::payload_schema(spec.op, purpose);
    let signers: Vec<serde_json::Value> = match spec.access {
        Access::Signed(roles) => roles
            .iter()
            .map(|role| match (spec.op, role) {
                // Self-service: the signature proves possession of the key it registers.
                (Op::CreateOwner, trustreg_core::actors::Role::Owner) => serde_json::json!({
                    "role": "owner",
                    "kid": null,
                    "key": "the claims' public_key, which the request registers",
                }),
                _ => serde_json::json!({"role": role.as_str(), "kid": kid_form(*role)}),
            })
            .collect(),
        Access::RootOfTrust => vec![serde_json::json!({
            "role": "device",
            "x5c": "the device certificate chain, leaf first (standard base64 DER); no kid",
        })],
        Access::Public | Access::Token(_) => Vec::new(),
    };
    [
        ("x-jws-payload", payload.unwrap_or(serde_json::Value::Null)),
        ("x-jws-purpose", purpose.into()),
        ("x-jws-signers", signers.into()),
    ]
    .into_iter()
    .collect()
}

/// The `kid` a signer of `role` names (API.md "Identifiers and the signers' kid").
fn kid_form(role: trustreg_core::actors::Role) -> &'static str {
    use trustreg_core::actors::Role;
    match role {
        Role::Device => "<RegDevID>",
        Role::Admin => "admin:<name>",
        Role::Owner => "owner:<owner_id>",
        Role::Manufacturer => "manufacturer:<root id>",
        Role::Enquirer | Role::Agency => "enquirer:<enquirer_id>",
    }
}

fn responses(spec: &RouteSpec, described: Option<&Described>) -> utoipa::openapi::Responses {
    let access = spec.access;
    let mut builder = ResponsesBuilder::new();
    if let Some(Answer {
        status,
        description,
        media,
        schema,
    }) = described.map(|d| &d.answer)
    {
        let content = if schema.is_empty() {
            Content::new(Some(ObjectBuilder::new().schema_type(Type::String)))
        } else {
            Content::new(Some(Ref::from_schema_name(*schema)))
        };
        let response = ResponseBuilder::new().description(*description);
        // An answer without a media type has no body (204).
        let response = if media.is_empty() {
            response
        } else {
            response.content(*media, content)
        }
        .build();
        builder = builder.response(status.to_string(), response.clone());
        for (other, description) in described.map_or(&[][..], |d| other_answers(d.op)) {
            let mut other_response = response.clone();
            other_response.description = (*description).into();
            builder = builder.response(other.to_string(), other_response);
        }
    }
    let mut errors: Vec<u16> = described.map_or(Vec::new(), |d| d.errors.to_vec());
    match access {
        Access::Public if described.is_some_and(|d| d.optional_token) => errors.push(401),
        Access::Public => {}
        Access::RootOfTrust => errors.extend([401, 403]),
        Access::Signed(_) | Access::Token(_) => errors.extend([401, 403]),
    }
    // The routes the abuse limits count (http/src/rate.rs) may answer 429.
    if described.is_some_and(|d| crate::rate::is_limited(d.op)) {
        errors.push(429);
    }
    // A path parameter longer than the registry reads (API.md, "Bounds before work").
    if path_parameters(spec.path).next().is_some() {
        errors.push(414);
    }
    // A body larger than the registry reads (`body::BODY_LIMIT`), on every route that takes
    // one: the refusal comes before the route's own checks.
    if described.is_some_and(|d| !matches!(d.body, operations::Body::None)) {
        errors.push(413);
    }
    // Every route may meet an unavailable store or key service.
    errors.push(503);
    errors.sort_unstable();
    errors.dedup();
    for status in errors {
        let mut response = ResponseBuilder::new()
            .description(error_text(status))
            .content(
                crate::problem::PROBLEM_JSON,
                Content::new(Some(Ref::from_schema_name("Problem"))),
            );
        if RETRY_AFTER_STATUSES.contains(&status.to_string().as_str()) {
            let mut header = utoipa::openapi::header::Header::new(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[0-9]+$")),
            );
            header.description = Some("Seconds to wait before a retry".into());
            response = response.header("Retry-After", header);
        }
        builder = builder.response(status.to_string(), response);
    }
    builder.build()
}

/// The success answers an operation gives besides its main one, with the same body.
fn other_answers(op: Op) -> &'static [(u16, &'static str)] {
    match op {
        // A PUT of a trust domain not hosted yet adds it.
        Op::PutTrustDomain => &[(201, "The domain added (its topic made), with its policy")],
        // A repeat of a registration with the same key (API.md, device-facing).
        Op::Register => &[(
            200,
            "Already registered with the same key: the same RegDevID",
        )],
        // An owner's transfer is an offer; an administrator's takes effect at once (200).
        Op::Transfer => &[(
            202,
            "Offered: the device passes when the owner it is offered to accepts",
        )],
        _ => &[],
    }
}

fn error_text(status: u16) -> &'static str {
    match status {
        400 => "Malformed request, JWS, identifier or query",
        401 => "No valid credentials: a bad or expired token, signature or nonce",
        403 => "The caller's role may not do this, or its root of trust is not accepted",
        404 => "No such resource",
        409 => "Conflict with the resource's state",
        413 => "Too many items or too large a body",
        414 => "A path parameter is too long",
        415 => "Unsupported media type",
        429 => "Too many requests from this caller: retry after Retry-After seconds",
        503 => "The registry is unavailable; retry after Retry-After seconds",
        _ => "The request failed",
    }
}

/// Bearer routes need the token; a public route whose view depends on a token takes it
/// optionally (the empty requirement). Signed routes carry their proof in the body.
fn security(access: Access, described: Option<&Described>) -> Vec<SecurityRequirement> {
    let bearer = || SecurityRequirement::new(BEARER_AUTH, Vec::<String>::new());
    match access {
        Access::Token(_) => vec![bearer()],
        Access::Public if described.is_some_and(|d| d.optional_token) => {
            vec![SecurityRequirement::default(), bearer()]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
