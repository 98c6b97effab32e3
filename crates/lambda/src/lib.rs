//! The five edge-auth handlers with `lambda_runtime`'s interface.
//!
//! Each handler is [`handle`] with a [`HandlerKind`]: parse the CloudFront
//! event, ask the core (and, for signin/refresh/signout, the provider
//! gateway), log one structured line, return the request or response.
//! The binaries in `src/bin` run these under `lambda_runtime`; the Node.js
//! addon runs the same [`handle_value`] in-process at the edge.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use edge_auth_core::event::{CloudFrontPayload, parse_event};
use edge_auth_core::{
    Config, ConfigError, HandlerOutput, Outcome, SystemEntropy, authorize, index_path,
};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

/// Overrides where `config.json` is read from (local and regional runs only:
/// Lambda@Edge has no environment variables).
pub const CONFIG_ENV: &str = "EDGE_AUTH_CONFIG";
/// A regional function's site address (`site.base_url`), set once the
/// distribution exists; it wins over config.json's.
pub const SITE_URL_ENV: &str = "EDGE_AUTH_SITE_URL";

pub mod function_url;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerKind {
    Authorize,
    IndexPath,
    Signin,
    Refresh,
    Signout,
}

impl HandlerKind {
    pub const ALL: [HandlerKind; 5] = [
        Self::Authorize,
        Self::IndexPath,
        Self::Signin,
        Self::Refresh,
        Self::Signout,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Authorize => "authorize",
            Self::IndexPath => "index-path",
            Self::Signin => "signin",
            Self::Refresh => "refresh",
            Self::Signout => "signout",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// index-path needs no settings; every other handler does.
    pub fn needs_config(self) -> bool {
        self != Self::IndexPath
    }

    pub fn calls_provider(self) -> bool {
        matches!(self, Self::Signin | Self::Refresh | Self::Signout)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("invalid event: {0}")]
    Event(#[from] edge_auth_core::event::EventError),
    #[error("{0} needs config.json, and none was loaded")]
    NoConfig(&'static str),
    #[error("{0} was built without the `provider` feature")]
    NoProvider(&'static str),
    #[error("{0} calls the provider and cannot run synchronously")]
    NotViewer(&'static str),
    #[error(transparent)]
    FunctionUrl(#[from] function_url::FunctionUrlError),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        let error_type = match e {
            HandlerError::Config(_) => "ConfigError",
            HandlerError::Event(_) | HandlerError::FunctionUrl(_) => "EventError",
            HandlerError::NoConfig(_)
            | HandlerError::NoProvider(_)
            | HandlerError::NotViewer(_) => "SetupError",
        };
        Self {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// What a handler keeps across invocations: read once per cold start.
pub struct HandlerState {
    kind: HandlerKind,
    config: Option<Arc<Config>>,
    #[cfg(feature = "provider")]
    gateway: Option<edge_auth_provider::ProviderGateway>,
}

impl HandlerState {
    pub fn new(kind: HandlerKind, config: Option<Arc<Config>>) -> Result<Self, HandlerError> {
        if kind.needs_config() && config.is_none() {
            return Err(HandlerError::NoConfig(kind.name()));
        }
        #[cfg(not(feature = "provider"))]
        if kind.calls_provider() {
            return Err(HandlerError::NoProvider(kind.name()));
        }
        Ok(Self {
            kind,
            #[cfg(feature = "provider")]
            gateway: config
                .clone()
                .filter(|_| kind.calls_provider())
                .map(edge_auth_provider::ProviderGateway::new),
            config,
        })
    }

    /// Reads config.json (see [`config_path`]) for this handler.
    pub fn load(kind: HandlerKind) -> Result<Self, HandlerError> {
        Self::load_from(kind, &config_path())
    }

    /// Reads the config.json at `path` (when the handler needs one).
    pub fn load_from(kind: HandlerKind, path: &Path) -> Result<Self, HandlerError> {
        let config = if kind.needs_config() {
            Some(Arc::new(load_config(path)?))
        } else {
            None
        };
        Self::new(kind, config)
    }

    /// Sign-out's key value store (see `edge_auth_provider::store`); the
    /// other handlers write none.
    #[cfg(feature = "provider")]
    pub fn with_store(mut self, store: Option<edge_auth_provider::store::SessionStore>) -> Self {
        if self.kind == HandlerKind::Signout {
            self.gateway = self.gateway.map(|g| g.with_store(store));
        }
        self
    }

    pub fn log_level(&self) -> &str {
        self.config
            .as_ref()
            .map_or("info", |c| c.file.log_level.as_str())
    }

    pub fn kind(&self) -> HandlerKind {
        self.kind
    }
}

/// `$EDGE_AUTH_CONFIG`, else `config.json` beside the executable.
pub fn config_path() -> PathBuf {
    if let Some(path) = std::env::var_os(CONFIG_ENV) {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent().unwrap_or(Path::new(".")).join("config.json")
}

/// config.json at `path`, with `$EDGE_AUTH_SITE_URL` as `site.base_url`
/// when it is set (checked like the rest of the file).
pub fn load_config(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Read(format!("{}: {e}", path.display())))?;
    match std::env::var(SITE_URL_ENV) {
        Ok(site) if !site.is_empty() => Config::from_json(&with_site_url(&text, &site)?),
        _ => Config::from_json(&text),
    }
}

fn with_site_url(text: &str, site: &str) -> Result<String, ConfigError> {
    let mut value: Value =
        serde_json::from_str(text).map_err(|e| ConfigError::Read(format!("config.json: {e}")))?;
    let file = value
        .as_object_mut()
        .ok_or_else(|| ConfigError::Read("config.json: not an object".into()))?;
    let site_settings = file
        .entry("site")
        .or_insert_with(|| Value::Object(Default::default()));
    match site_settings.as_object_mut() {
        Some(settings) => {
            settings.insert("base_url".into(), Value::String(site.to_owned()));
        }
        None => {
            return Err(ConfigError::Read(
                "config.json: site is not an object".into(),
            ));
        }
    }
    Ok(value.to_string())
}

/// Seconds since the epoch: the one clock the handlers read.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The invocation's deadline from Lambda's context (milliseconds since the epoch).
pub fn deadline_from_epoch_ms(deadline_ms: u64) -> Option<Instant> {
    if deadline_ms == 0 {
        return None;
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Some(Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}

/// One invocation, from the raw event to the raw answer.
pub async fn handle_value(
    state: &HandlerState,
    event: Value,
    request_id: &str,
    deadline: Option<Instant>,
) -> Result<Value, HandlerError> {
    // A regional function behind CloudFront receives function URL events.
    if function_url::is_function_url_event(&event) {
        let request = function_url::parse(event)?;
        let payload = function_url::to_payload(&request)?;
        let output = handle_payload(state, &payload, request_id, deadline).await?;
        let response = function_url::to_response(output)?;
        return Ok(serde_json::to_value(response).expect("function URL responses always serialise"));
    }
    let payload = parse_event(event)?;
    let output = handle_payload(state, &payload, request_id, deadline).await?;
    Ok(serde_json::to_value(output).expect("CloudFront types always serialise"))
}

/// One invocation on an already parsed event (the Node addon converts the
/// JS object straight into the event types, with no JSON text in between).
pub async fn handle_payload(
    state: &HandlerState,
    payload: &CloudFrontPayload,
    request_id: &str,
    deadline: Option<Instant>,
) -> Result<HandlerOutput, HandlerError> {
    let outcome = match state.kind {
        HandlerKind::Authorize | HandlerKind::IndexPath => decide_viewer(state, payload)?,
        _ => decide_provider(state, payload, deadline).await?,
    };
    log_outcome(state.kind, payload, request_id, &outcome);
    Ok(outcome.output)
}

/// authorize and index-path, which never wait on anything: callable without
/// an async runtime (the viewer addon has none).
pub fn handle_viewer(
    state: &HandlerState,
    payload: &CloudFrontPayload,
    request_id: &str,
) -> Result<HandlerOutput, HandlerError> {
    let outcome = decide_viewer(state, payload)?;
    log_outcome(state.kind, payload, request_id, &outcome);
    Ok(outcome.output)
}

fn decide_viewer(
    state: &HandlerState,
    payload: &CloudFrontPayload,
) -> Result<Outcome, HandlerError> {
    Ok(match state.kind {
        HandlerKind::Authorize => {
            let config = state
                .config
                .as_deref()
                .ok_or(HandlerError::NoConfig(state.kind.name()))?;
            // With a site table, the site of the request's host.
            let site =
                edge_auth_core::sites::site_for_host(config, payload.request.headers.first("host"));
            authorize::authorize_at(
                payload.request.clone(),
                &payload.config,
                config,
                site,
                now(),
                &mut SystemEntropy,
            )
        }
        HandlerKind::IndexPath => index_path::index_path(payload.request.clone()),
        kind => return Err(HandlerError::NotViewer(kind.name())),
    })
}

#[cfg_attr(not(feature = "provider"), allow(unused_variables))]
async fn decide_provider(
    state: &HandlerState,
    payload: &CloudFrontPayload,
    deadline: Option<Instant>,
) -> Result<Outcome, HandlerError> {
    #[cfg(feature = "provider")]
    {
        let gateway = state
            .gateway
            .as_ref()
            .ok_or(HandlerError::NoConfig(state.kind.name()))?;
        Ok(match state.kind {
            HandlerKind::Signin => {
                gateway
                    .signin(payload, &now, &mut SystemEntropy, deadline)
                    .await
            }
            HandlerKind::Refresh => {
                gateway
                    .refresh(payload, &now, &mut SystemEntropy, deadline)
                    .await
            }
            HandlerKind::Signout => {
                gateway
                    .signout(payload, &now, &mut SystemEntropy, deadline)
                    .await
            }
            _ => return decide_viewer(state, payload),
        })
    }
    #[cfg(not(feature = "provider"))]
    Err(HandlerError::NoProvider(state.kind.name()))
}

/// One JSON line per request: what was decided and why. The query string is
/// left out (the callback's holds the authorization code), and so are
/// cookies; the core's `detail` never holds a token.
fn log_outcome(
    kind: HandlerKind,
    payload: &CloudFrontPayload,
    request_id: &str,
    outcome: &Outcome,
) {
    // Passing a request through is the common case and CloudFront's access
    // logs already record it; one JSON line per page view would cost more
    // time (about 5-13 µs here) and CloudWatch money than it tells.
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                handler = kind.name(),
                request_id,
                cf_request_id = %payload.config.request_id,
                site = %payload.config.distribution_domain_name,
                method = %payload.request.method,
                path = %payload.request.uri,
                decision = outcome.event,
                status = outcome.status().unwrap_or("forward"),
                detail = outcome.detail.as_deref().unwrap_or(""),
                sub = outcome.session.as_ref().map_or("", |s| s.sub.as_str()),
                sid = outcome.session.as_ref().map_or("", |s| s.sid.as_str()),
                "decision"
            )
        };
    }
    // The core says which answers are as routine (a first visit sent to
    // sign in); a refused token, a forbidden path and every error stay at
    // info.
    if outcome.routine {
        line!(debug);
    } else {
        line!(info);
    }
}

/// `lambda_runtime`'s interface: a [`LambdaEvent`] in, the answer out.
pub async fn handle(
    state: &HandlerState,
    event: LambdaEvent<Value>,
) -> Result<Value, HandlerError> {
    let deadline = deadline_from_epoch_ms(event.context.deadline);
    handle_value(state, event.payload, &event.context.request_id, deadline).await
}

/// JSON log lines on stdout, which Lambda sends to CloudWatch Logs.
/// Human-readable log lines for a person at a terminal (the local edge's
/// default); Lambda and `--log-format json` keep [`init_logging`]'s JSON.
pub fn init_human_logging(level: &str) {
    let level = level
        .parse::<tracing::Level>()
        .unwrap_or(tracing::Level::INFO);
    let _ = tracing_subscriber::fmt()
        .compact()
        .with_target(false)
        .with_max_level(level)
        .with_writer(|| PatientStdout)
        .log_internal_errors(false)
        .try_init();
}

pub fn init_logging(level: &str) {
    let level = level
        .parse::<tracing::Level>()
        .unwrap_or(tracing::Level::INFO);
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .with_max_level(level)
        .with_writer(|| PatientStdout)
        // On a failed write the subscriber would report it with `eprintln!`,
        // which panics when stderr is a full pipe too.
        .log_internal_errors(false)
        .try_init();
}

/// Standard output that waits for a full pipe instead of failing.
///
/// In the edge addon fd 1 is Node's stdout, which Node leaves non-blocking:
/// when the log reader falls behind, a write meets EAGAIN. A log line must
/// never fail a request nor hold it up for long: wait for the pipe up to
/// half a second, then drop the line; once a line was dropped, later ones do
/// not wait until a write goes through again, so a reader that is gone costs
/// one wait, not one per request.
struct PatientStdout;

static LOG_PIPE_STALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl PatientStdout {
    const STEP: Duration = Duration::from_micros(200);
    const PATIENCE: Duration = Duration::from_millis(500);

    fn retry<T>(mut attempt: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
        use std::sync::atomic::Ordering::Relaxed;
        let patience = if LOG_PIPE_STALLED.load(Relaxed) {
            Duration::ZERO
        } else {
            Self::PATIENCE
        };
        let mut waited = Duration::ZERO;
        loop {
            match attempt() {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && waited < patience => {
                    std::thread::sleep(Self::STEP);
                    waited += Self::STEP;
                }
                done => {
                    let stalled =
                        matches!(&done, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
                    LOG_PIPE_STALLED.store(stalled, Relaxed);
                    return done;
                }
            }
        }
    }
}

impl std::io::Write for PatientStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // An error means nothing of `buf` was taken, so the same call retries.
        let mut stdout = std::io::stdout().lock();
        Self::retry(|| stdout.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        Self::retry(|| stdout.flush())
    }
}

/// The `main` of each binary: load settings once, then serve invocations.
pub async fn run(kind: HandlerKind) -> Result<(), lambda_runtime::Error> {
    let state = match HandlerState::load(kind) {
        Ok(state) => state,
        Err(e) => {
            init_logging("info");
            tracing::error!(handler = kind.name(), error = %e, "cannot start");
            return Err(e.into());
        }
    };
    init_logging(
        state
            .config
            .as_ref()
            .map_or("info", |c| c.file.log_level.as_str()),
    );
    // Sign-out ends the session at the edge in the store the template
    // names (none with Lambda@Edge).
    #[cfg(feature = "provider")]
    let state = if kind == HandlerKind::Signout {
        state.with_store(edge_auth_provider::store::SessionStore::from_env().await)
    } else {
        state
    };
    let state = &state;
    lambda_runtime::run(service_fn(move |event| handle(state, event))).await
}

#[cfg(test)]
mod site_url_tests {
    use super::*;

    #[test]
    fn the_site_url_from_the_environment_goes_into_site_base_url() {
        let text = with_site_url(
            r#"{"version": 1, "site": {"other": 1}}"#,
            "https://d1.cloudfront.net",
        )
        .unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["site"]["base_url"], "https://d1.cloudfront.net");
        assert_eq!(value["site"]["other"], 1);
        let added = with_site_url(r#"{"version": 1}"#, "https://x.example").unwrap();
        assert!(
            added.contains(r#""site":{"base_url":"https://x.example"}"#),
            "{added}"
        );
        assert!(with_site_url("[1]", "https://x").is_err());
        assert!(with_site_url(r#"{"site": 3}"#, "https://x").is_err());
    }
}
