//! The edge-auth handlers as a Node-API addon.
//!
//! Lambda@Edge runs only Node.js and Python, so at the edge the Rust handlers
//! run in-process inside the Node.js runtime: `packaging/handler.js` loads
//! this addon once per cold start and passes each event to it as JSON text
//! (`JSON.stringify`), parsed straight into the event types. Measured on a
//! browser-shaped request, that is several times cheaper than converting the
//! event object through Node-API, which pays per header (docs/performance.md).
//!
//! A Rust panic must not take the Node process down with it: the release
//! profile keeps unwinding, and every entry point catches panics and turns
//! them into JS errors (a function error, logged, not a crashed sandbox).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use edge_auth_core::HandlerOutput;
use edge_auth_lambda::{HandlerKind, HandlerState};
use napi::bindgen_prelude::*;
#[cfg(feature = "provider")]
use napi::{Env, Unknown};
use napi_derive::napi;

/// One handler's state for the life of the sandbox.
#[napi]
pub struct EdgeHandler {
    state: Arc<HandlerState>,
}

fn js_error(message: impl std::fmt::Display) -> Error {
    Error::from_reason(format!("edge-auth: {message}"))
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> Error {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".into());
    js_error(format!("internal error (panic: {text})"))
}

/// Runs `f`, turning a panic into a JS error.
fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| Err(panic_message(panic)))
}

/// The event arrives as JSON text (`JSON.stringify` in the handler module;
/// `undefined` when there was no event), or, from authorize's module, as
/// request lines when every field it reads is one line (never starting
/// with `{`: the first line is the distribution's domain name).
fn parse(event: Option<String>) -> Result<edge_auth_core::event::CloudFrontPayload> {
    let event = event.ok_or_else(|| js_error("invalid event: there is none"))?;
    if event.starts_with('{') {
        edge_auth_core::event::parse_event_text(&event)
    } else {
        edge_auth_core::event::parse_request_lines(&event)
    }
    .map_err(|e| js_error(format!("invalid event: {e}")))
}

#[napi]
impl EdgeHandler {
    /// Loads `config.json` from `dir` (the handler module's own directory)
    /// for the handler called `name`; throws a message naming the bad field.
    #[napi(factory)]
    pub fn load(name: String, dir: String) -> Result<Self> {
        guarded(|| {
            let kind = HandlerKind::from_name(&name)
                .ok_or_else(|| js_error(format!("unknown handler `{name}`")))?;
            let state = HandlerState::load_from(kind, &Path::new(&dir).join("config.json"))
                .map_err(js_error)?;
            edge_auth_lambda::init_logging(state.log_level());
            Ok(Self {
                state: Arc::new(state),
            })
        })
    }

    /// The handler this instance runs.
    #[napi(getter)]
    pub fn name(&self) -> &'static str {
        self.state.kind().name()
    }

    /// authorize and index-path: the answer, synchronously, as text for the
    /// module's `fromLines`: a response as lines (`to_lines`), anything else
    /// as JSON. Either costs less in V8 than building the response object
    /// through Node-API field by field, and lines less than `JSON.parse`.
    /// `null` means "forward the request unchanged". `as_json`: always JSON
    /// (the reference the tests hold the lines to).
    #[napi]
    pub fn handle(
        &self,
        event: Option<String>,
        request_id: String,
        as_json: Option<bool>,
    ) -> Result<Option<String>> {
        guarded(|| {
            let payload = parse(event)?;
            let output = edge_auth_lambda::handle_viewer(&self.state, &payload, &request_id)
                .map_err(js_error)?;
            // The common answer is "forward the request as it came": say so
            // with `null` and let the module return the object it already
            // has, rather than building a copy of it here.
            match output {
                HandlerOutput::Forward(request) if request == payload.request => Ok(None),
                HandlerOutput::Respond(response)
                    if as_json != Some(true)
                        && let Some(lines) = response.to_lines() =>
                {
                    Ok(Some(lines))
                }
                output => serde_json::to_string(&output).map(Some).map_err(js_error),
            }
        })
    }
}

#[cfg(feature = "provider")]
#[napi]
impl EdgeHandler {
    /// signin, refresh and signout: a Promise of the answer. `remaining_ms`
    /// is the Lambda context's remaining time; provider calls stop before it.
    #[napi]
    pub fn handle_async<'env>(
        &self,
        env: &'env Env,
        event: Option<String>,
        request_id: String,
        remaining_ms: f64,
    ) -> Result<PromiseRaw<'env, Unknown<'env>>> {
        guarded(|| {
            let payload = parse(event)?;
            let state = self.state.clone();
            let deadline = std::time::Instant::now()
                + std::time::Duration::from_millis(remaining_ms.max(0.0) as u64);
            env.spawn_future_with_callback(
                async move {
                    // On napi's tokio runtime now. A panic inside the task ends
                    // the task, not the process; its JoinError becomes the JS error.
                    let task = tokio::spawn(async move {
                        edge_auth_lambda::handle_payload(
                            &state,
                            &payload,
                            &request_id,
                            Some(deadline),
                        )
                        .await
                    });
                    match task.await {
                        Ok(answer) => answer.map_err(js_error),
                        Err(e) if e.is_panic() => Err(panic_message(e.into_panic())),
                        Err(e) => Err(js_error(e)),
                    }
                },
                |env, output| env.to_js_value(&output),
            )
        })
    }
}
