//! A proxy in front of the API that serves one fixed checkpoint note in place of the latest
//! and forwards every other request: what a verifier sees from a registry that rolled its log
//! back, or through a man in the middle. It runs on a thread of its own: the test waits on
//! the CLI's process, which talks to it.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

pub struct Proxy {
    pub url: String,
    served: Arc<AtomicBool>,
}

impl Proxy {
    /// Whether a client read the fixed checkpoint.
    pub fn served_older(&self) -> bool {
        self.served.load(Ordering::SeqCst)
    }
}

struct Upstream {
    api: String,
    note: String,
    served: Arc<AtomicBool>,
    client: reqwest::Client,
}

pub fn serve(api: &str, note: &str) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = Arc::new(AtomicBool::new(false));
    let upstream = Arc::new(Upstream {
        api: api.to_owned(),
        note: note.to_owned(),
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
    if request.uri().path() == "/v1/audit/checkpoint" {
        upstream.served.store(true, Ordering::SeqCst);
        return (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            upstream.note.clone(),
        )
            .into_response();
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
