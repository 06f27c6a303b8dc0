//! Serving a router as a Lambda function behind API Gateway's REST API.

use axum::Router;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt as _};

use crate::rate::SourceAddress;

/// Runs `router` on the Lambda runtime, each request carrying the caller's address as API
/// Gateway saw it (the abuse limits count by it). A client cannot set it: it comes from the
/// request context, never from a header.
pub async fn serve(router: Router) -> Result<(), lambda_http::Error> {
    let service = tower::ServiceBuilder::new()
        .map_request(with_source_address)
        .service(router);
    lambda_http::run(service).await
}

fn with_source_address(mut request: Request) -> Request {
    let address = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context
            .identity
            .source_ip
            .as_deref()
            .and_then(|ip| ip.parse().ok()),
        _ => None,
    };
    if let Some(address) = address {
        request.extensions_mut().insert(SourceAddress(address));
    }
    request
}
