//! Lambda `register`: the device-facing API behind API Gateway.

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    trustreg_aws::init_tracing();
    let registry = trustreg_aws::registry_from_env().await?;
    trustreg_http::serve(trustreg_http::register_router(Arc::new(registry))).await
}
