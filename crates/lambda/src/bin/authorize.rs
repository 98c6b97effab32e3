//! The `authorize` handler under `lambda_runtime` (`cargo lambda watch` / `invoke`).
// The AWS SDK's futures are deep; the compiler's default limit is too low for them.
#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    edge_auth_lambda::run(edge_auth_lambda::HandlerKind::Authorize).await
}
