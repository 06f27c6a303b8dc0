//! A proxy in front of the API that serves fixed answers for some paths (a checkpoint note in
//! place of the latest, another registry document) and forwards every other request: what a
//! verifier sees from a registry that rolled its log back or swapped its key, or through a
//! man in the middle. It runs on a thread of its own: the test waits on the CLI's process,
//! which talks to it.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

pub struct Proxy {
    pub url: String,
    served: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// Whether a client read the fixed answer of `path`.
    pub fn served(&self, path: &str) -> bool {
        self.served.lock().unwrap().iter().any(|p| p == path)
    }
}

struct Upstream {
    api: String,
    /// Path -> (content type, body).
    fixed: HashMap<String, (String, String)>,
    served: Arc<Mutex<Vec<String>>>,
    client: reqwest::Client,
}

/// Serves `fixed` (path, content type, body) and forwards the rest to `api`.
pub fn serve(api: &str, fixed: &[(&str, &str, String)]) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = Arc::new(Mutex::new(Vec::new()));
    let upstream = Arc::new(Upstream {
        api: api.to_owned(),
        fixed: fixed
            .iter()
            .map(|(path, kind, body)| ((*path).to_owned(), ((*kind).to_owned(), body.clone())))
            .collect(),
        served: served.clone(),
        client: reqwest::Client::new(),
    });
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().fallback(forward).with_state(upstream);
            axum::serve(listener, app).await.unwrap();
        });
    });
    Proxy { url, served }
}

async fn forward(State(upstream): State<Arc<Upstream>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if let Some((kind, body)) = upstream.fixed.get(&path) {
        upstream.served.lock().unwrap().push(path);
        return ([(header::CONTENT_TYPE, kind.clone())], body.clone()).into_response();
    }
    let target = format!(
        "{}{}",
        upstream.api,
        request.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let method = request.method().clone();
    let mut headers = request.headers().clone();
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_LENGTH);
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap();
    let answer = upstream
        .client
        .request(method, target)
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != header::TRANSFER_ENCODING && name != header::CONTENT_LENGTH {
            response = response.header(name, value);
        }
    }
    response
        .body(Body::from(answer.bytes().await.unwrap()))
        .unwrap()
}
