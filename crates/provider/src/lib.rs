//! The I/O half of sign-in, refresh and sign-out: it reads the client secret
//! (Secrets Manager or a file), makes the provider calls the core asks for
//! over HTTPS with timeouts and bounded retries, and hands the outcomes back
//! to the core. It decides nothing itself.

mod http;
mod secret;

use std::sync::Arc;
use std::time::Instant;

use edge_auth_core::event::CloudFrontPayload;
use edge_auth_core::provider::{CallPurpose, ClientCredentials, ProviderCall, ProviderOutcome};
use edge_auth_core::{Config, Entropy, Outcome, Step, refresh, signin, signout};
use tokio::sync::OnceCell;

pub use http::{ProviderClient, Retry};
pub use secret::{CredentialsError, load_credentials};

/// Everything the provider-facing handlers keep between invocations.
pub struct ProviderGateway {
    config: Arc<Config>,
    client: ProviderClient,
    /// Read once per cold start; a failed read is not cached, so the next
    /// request tries again.
    credentials: OnceCell<ClientCredentials>,
}

impl ProviderGateway {
    pub fn new(config: Arc<Config>) -> Self {
        let client = ProviderClient::new(&config.file.http);
        Self {
            config,
            client,
            credentials: OnceCell::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The provider's callback: check state, exchange the code, set the session.
    pub async fn signin(
        &self,
        payload: &CloudFrontPayload,
        now: u64,
        deadline: Option<Instant>,
    ) -> Outcome {
        match signin::signin_begin(&payload.request, &payload.config, &self.config, now) {
            Step::Done(outcome) => outcome,
            Step::Call { call, pending } => {
                let outcome = self.call(&call, deadline).await;
                signin::signin_complete(pending, &self.config, now, &outcome)
            }
        }
    }

    pub async fn refresh(
        &self,
        payload: &CloudFrontPayload,
        now: u64,
        entropy: &mut (dyn Entropy + Send),
        deadline: Option<Instant>,
    ) -> Outcome {
        match refresh::refresh_begin(
            &payload.request,
            &payload.config,
            &self.config,
            now,
            entropy,
        ) {
            Step::Done(outcome) => outcome,
            Step::Call { call, pending } => {
                let outcome = self.call(&call, deadline).await;
                refresh::refresh_complete(pending, &self.config, now, entropy, &outcome)
            }
        }
    }

    pub async fn signout(
        &self,
        payload: &CloudFrontPayload,
        now: u64,
        entropy: &mut (dyn Entropy + Send),
        deadline: Option<Instant>,
    ) -> Outcome {
        match signout::signout_begin(
            &payload.request,
            &payload.config,
            &self.config,
            now,
            entropy,
        ) {
            Step::Done(outcome) => outcome,
            Step::Call { call, pending } => {
                let outcome = self.call(&call, deadline).await;
                signout::signout_complete(pending, &outcome)
            }
        }
    }

    async fn call(&self, call: &ProviderCall, deadline: Option<Instant>) -> ProviderOutcome {
        let credentials = match self.credentials().await {
            Ok(credentials) => credentials,
            Err(e) => {
                tracing::error!(error = %e, "client secret unavailable");
                return ProviderOutcome::CredentialsUnavailable;
            }
        };
        let request = call.to_http(self.config.provider().client_auth, credentials);
        let retry = match call.purpose {
            CallPurpose::RevokeRefreshToken => Retry::Idempotent,
            CallPurpose::ExchangeCode | CallPurpose::RefreshTokens => Retry::NotSentOnly,
        };
        let outcome = self.client.post(&request, deadline, retry).await;
        tracing::info!(call = call.purpose.as_str(), endpoint = %call.endpoint, outcome = describe(&outcome), "provider call");
        outcome
    }

    async fn credentials(&self) -> Result<&ClientCredentials, CredentialsError> {
        self.credentials
            .get_or_try_init(|| load_credentials(&self.config))
            .await
    }
}

/// The outcome for a log line: the status, never the body (it holds tokens).
fn describe(outcome: &ProviderOutcome) -> String {
    match outcome {
        ProviderOutcome::Answered { status, body } => {
            format!("answered {status} ({} bytes)", body.len())
        }
        ProviderOutcome::TimedOut => "timed out".into(),
        ProviderOutcome::Unreachable => "unreachable".into(),
        ProviderOutcome::CredentialsUnavailable => "credentials unavailable".into(),
    }
}
