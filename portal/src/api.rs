//! The registry's API (API.md) as the portal calls it: JSON in, JSON out, and the registry's
//! problems (RFC 9457) turned into messages a person can read.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Where the API is: read from `config.json` beside the portal's files, so one build serves
/// every registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    base: String,
}

/// A failed call, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The problem's stable code (the last segment of its `type`), when the registry sent one.
    pub code: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl ApiError {
    fn unreachable(e: impl std::fmt::Display) -> Self {
        Self {
            code: None,
            message: format!("The registry could not be reached ({e})."),
        }
    }

    fn unexpected(e: impl std::fmt::Display) -> Self {
        Self {
            code: None,
            message: format!("The registry sent an answer the portal does not understand ({e})."),
        }
    }
}

/// The message for a non-2xx answer: the problem's title and detail, or a plain line.
pub fn problem_message(status: u16, body: &str) -> ApiError {
    let problem: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = problem["type"]
        .as_str()
        .and_then(|t| t.rsplit('/').next())
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let title = problem["title"].as_str().unwrap_or_default();
    let detail = problem["detail"].as_str().unwrap_or_default();
    let message = match (title.is_empty(), detail.is_empty()) {
        (false, false) if title != detail => format!("{title}: {detail}"),
        (false, _) => title.to_owned(),
        (true, false) => detail.to_owned(),
        (true, true) => match status {
            401 => "Please log in again: the session is missing or has expired.".to_owned(),
            403 => "This account may not do that.".to_owned(),
            404 => "Not found.".to_owned(),
            _ => format!("The registry answered {status}."),
        },
    };
    ApiError { code, message }
}

/// A path segment for an identifier, which may hold ':' and, for IPv6, other reserved
/// characters.
pub fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A query string of the given non-empty parameters.
pub fn query(params: &[(&str, String)]) -> String {
    let pairs: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", encode_component(v.trim())))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

fn encode_component(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

impl Api {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// Reads `config.json` from where the portal is served.
    pub async fn from_config() -> Result<Self, ApiError> {
        let response = Request::get("config.json")
            .send()
            .await
            .map_err(ApiError::unreachable)?;
        let config: Value = response.json().await.map_err(ApiError::unexpected)?;
        config["api"]
            .as_str()
            .map(Self::new)
            .ok_or_else(|| ApiError::unexpected("config.json names no api"))
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> Result<T, ApiError> {
        let request = with_token(Request::get(&self.url(path)), token);
        answer(request.send().await.map_err(ApiError::unreachable)?).await
    }

    /// A text document (the practice statement, Markdown).
    pub async fn get_text(&self, path: &str) -> Result<String, ApiError> {
        let response = Request::get(&self.url(path))
            .send()
            .await
            .map_err(ApiError::unreachable)?;
        let body = response.text().await.map_err(ApiError::unreachable)?;
        if response.ok() {
            Ok(body)
        } else {
            Err(problem_message(response.status(), &body))
        }
    }

    pub async fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        token: Option<&str>,
    ) -> Result<T, ApiError> {
        let request = with_token(Request::post(&self.url(path)), token)
            .json(body)
            .map_err(ApiError::unexpected)?;
        answer(request.send().await.map_err(ApiError::unreachable)?).await
    }

    /// A compact JWS as the body (login).
    pub async fn post_jws<T: DeserializeOwned>(
        &self,
        path: &str,
        jws: &str,
    ) -> Result<T, ApiError> {
        let request = Request::post(&self.url(path))
            .header("content-type", "application/jose")
            .body(jws)
            .map_err(ApiError::unexpected)?;
        answer(request.send().await.map_err(ApiError::unreachable)?).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Result<(), ApiError> {
        let request = with_token(Request::delete(&self.url(path)), token);
        let response = request.send().await.map_err(ApiError::unreachable)?;
        if response.ok() {
            Ok(())
        } else {
            let body = response.text().await.unwrap_or_default();
            Err(problem_message(response.status(), &body))
        }
    }
}

fn with_token(request: RequestBuilder, token: Option<&str>) -> RequestBuilder {
    match token {
        Some(token) => request.header("authorization", &format!("Bearer {token}")),
        None => request,
    }
}

async fn answer<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    let status = response.status();
    let body = response.text().await.map_err(ApiError::unreachable)?;
    if !(200..300).contains(&status) {
        return Err(problem_message(status, &body));
    }
    serde_json::from_str(&body).map_err(ApiError::unexpected)
}

#[cfg(test)]
mod tests {
    use super::*;

    // card C5: API errors are shown as readable messages.
    #[test]
    fn a_problem_reads_as_its_title_and_detail_with_its_code() {
        let body = r#"{"type":"https://trustreg.example/problems/invalid-identifier","title":"Invalid identifier","status":400,"detail":"IMEI check digit (Luhn) does not match"}"#;
        let error = problem_message(400, body);
        assert_eq!(error.code.as_deref(), Some("invalid-identifier"));
        assert_eq!(
            error.message,
            "Invalid identifier: IMEI check digit (Luhn) does not match"
        );
    }

    #[test]
    fn an_answer_without_a_problem_still_reads_as_a_sentence() {
        assert_eq!(
            problem_message(401, "").message,
            "Please log in again: the session is missing or has expired."
        );
        assert_eq!(
            problem_message(502, "<html>").message,
            "The registry answered 502."
        );
        assert_eq!(problem_message(404, "").code, None);
    }

    #[test]
    fn identifiers_and_queries_are_encoded() {
        assert_eq!(segment("P07:ipv6:2001:db8::1"), "P07:ipv6:2001:db8::1");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(
            query(&[
                ("make", "Acme Co".into()),
                ("model", " ".into()),
                ("status", "trusted".into())
            ]),
            "?make=Acme%20Co&status=trusted"
        );
        assert_eq!(query(&[("make", String::new())]), "");
    }
}
