//! The I/O half of sign-in, refresh and sign-out: it reads the client secret
//! (Secrets Manager or a file), makes the provider calls the core asks for
//! over HTTPS with timeouts and bounded retries, and hands the outcomes back
//! to the core. It decides nothing itself.

mod http;
pub mod keys;
mod secret;
pub mod store;
mod workload;

use std::sync::Arc;
use std::time::Instant;

use edge_auth_core::event::CloudFrontPayload;
use edge_auth_core::provider::{CallPurpose, ClientCredentials, ProviderCall, ProviderOutcome};
use edge_auth_core::signin::Keys;
use edge_auth_core::{
    Config, Entropy, Outcome, Step, exchange, refresh, share_page, signin, signout,
};
use tokio::sync::OnceCell;

pub use http::{ProviderClient, Retry};
use keys::{ProviderKeys, SessionKeyCache};
pub use secret::{CredentialsError, load_credentials, load_session_keys};

/// Everything the provider-facing handlers keep between invocations.
/// Seconds since the epoch, read when a decision needs it: once as the
/// request arrives and again when the provider has answered.
pub type Clock<'a> = &'a (dyn Fn() -> u64 + Send + Sync);

pub struct ProviderGateway {
    config: Arc<Config>,
    client: ProviderClient,
    /// Read once per cold start; a failed read is not cached, so the next
    /// request tries again.
    credentials: OnceCell<ClientCredentials>,
    provider_keys: ProviderKeys,
    session_keys: SessionKeyCache,
    /// Where sign-out ends a session at the edge (none: no key value
    /// store, the Lambda@Edge arrangement).
    store: Option<store::SessionStore>,
    /// The workload issuers' keys, for the token exchange.
    workload_keys: workload::WorkloadKeys,
}

impl ProviderGateway {
    pub fn new(config: Arc<Config>) -> Self {
        let client = ProviderClient::new(&config.file.http);
        Self {
            provider_keys: ProviderKeys::new(&config),
            config,
            client,
            credentials: OnceCell::new(),
            session_keys: SessionKeyCache::default(),
            store: None,
            workload_keys: workload::WorkloadKeys::default(),
        }
    }

    /// With the key value store sign-out writes its revocations into.
    pub fn with_store(mut self, store: Option<store::SessionStore>) -> Self {
        self.store = store;
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The provider's callback: check state, exchange the code, set the
    /// session; and the start of a sign-in (`paths.start`).
    pub async fn signin(
        &self,
        payload: &CloudFrontPayload,
        clock: Clock<'_>,
        entropy: &mut (dyn Entropy + Send),
        deadline: Option<Instant>,
    ) -> Outcome {
        let (config, signer) = match self.session_keys_at_site(payload).await {
            Ok(keys) => keys,
            Err(outcome) => return *outcome,
        };
        if exchange::is_exchange(&payload.request, &config) {
            return self
                .exchange(payload, &config, signer, clock, entropy)
                .await;
        }
        // Shared links: opened, and made by signed-in users (`paths.share`).
        if share_page::is_share(&payload.request, &config) {
            return share_page::share_endpoint(
                &payload.request,
                &payload.config,
                &config,
                signer.as_deref(),
                clock(),
                entropy,
            );
        }
        let now = clock();
        if signin::is_start(&payload.request, &config) {
            return signin::signin_start(&payload.request, &payload.config, &config, now, entropy);
        }
        match signin::signin_begin(&payload.request, &payload.config, &config, now) {
            Step::Done(outcome) => outcome,
            Step::Call { call, pending } => {
                let outcome = self.call(&call, deadline).await;
                let provider = self.provider_keys_for(&outcome).await;
                let keys = Keys {
                    provider: &provider,
                    signer: signer.as_deref(),
                };
                // The clock again: the provider may have issued its token
                // in a later second than the request arrived in.
                signin::signin_complete(pending, &config, keys, clock(), entropy, &outcome)
            }
        }
    }

    /// A workload's OIDC token for a service token (`paths.token`).
    async fn exchange(
        &self,
        payload: &CloudFrontPayload,
        config: &Config,
        signer: Option<Arc<edge_auth_core::session::SessionSigner>>,
        clock: Clock<'_>,
        entropy: &mut (dyn Entropy + Send),
    ) -> Outcome {
        let pending = match exchange::exchange_begin(&payload.request, config) {
            Ok(pending) => pending,
            Err(outcome) => return *outcome,
        };
        let policies = config.file.tokens.as_ref().map_or(&[][..], |t| &t.trust);
        let jwks = self
            .workload_keys
            .for_token(
                pending.issuer(),
                pending.kid().as_deref(),
                policies,
                &self.client,
                std::time::Duration::from_millis(config.file.http.timeout_ms),
                Instant::now(),
            )
            .await;
        exchange::exchange_complete(
            pending,
            config,
            jwks.as_ref(),
            signer.as_deref(),
            clock(),
            entropy,
        )
    }

    pub async fn refresh(
        &self,
        payload: &CloudFrontPayload,
        clock: Clock<'_>,
        entropy: &mut (dyn Entropy + Send),
        deadline: Option<Instant>,
    ) -> Outcome {
        let (config, signer) = match self.session_keys_at_site(payload).await {
            Ok(keys) => keys,
            Err(outcome) => return *outcome,
        };
        match refresh::refresh_begin(&payload.request, &payload.config, &config, clock(), entropy) {
            Step::Done(outcome) => outcome,
            Step::Call { call, pending } => {
                let outcome = self.call(&call, deadline).await;
                let provider = self.provider_keys_for(&outcome).await;
                let keys = Keys {
                    provider: &provider,
                    signer: signer.as_deref(),
                };
                refresh::refresh_complete(pending, &config, keys, clock(), entropy, &outcome)
            }
        }
    }

    pub async fn signout(
        &self,
        payload: &CloudFrontPayload,
        clock: Clock<'_>,
        entropy: &mut (dyn Entropy + Send),
        deadline: Option<Instant>,
    ) -> Outcome {
        // The session keys: the session being ended is named by its MAC.
        let (config, _) = match self.session_keys_at_site(payload).await {
            Ok(keys) => keys,
            Err(outcome) => return *outcome,
        };
        let mut step =
            signout::signout_begin(&payload.request, &payload.config, &config, clock(), entropy);
        // One revocation per refresh token the browser sent.
        loop {
            match step {
                Step::Done(outcome) => return self.end_at_edge(outcome, clock).await,
                Step::Call { call, pending } => {
                    let outcome = self.call(&call, deadline).await;
                    step = signout::signout_complete(pending, &self.config, &outcome);
                }
            }
        }
    }

    /// The revocation the core asked for, written into the store; how it
    /// went goes into the decision line's detail (the answer stands either
    /// way: the browser's cookies are cleared and its refresh token
    /// revoked).
    async fn end_at_edge(&self, mut outcome: Outcome, clock: Clock<'_>) -> Outcome {
        let (Some(revocation), Some(store)) = (&outcome.revocation, &self.store) else {
            return outcome;
        };
        let written = match store.raise(revocation).await {
            Ok(done) => {
                after_the_cut(revocation.up_to, clock).await;
                done
            }
            Err(e) => {
                tracing::error!(error = %e, "the session could not be ended at the edge");
                format!("not ended at the edge: {e}")
            }
        };
        outcome.detail = Some(match outcome.detail.take() {
            Some(detail) if !detail.is_empty() => format!("{detail}; {written}"),
            _ => written,
        });
        outcome
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

    /// The provider's keys, fetched again first when the answer's ID token
    /// names a key the set lacks, for completing a sign-in or refresh.
    async fn provider_keys_for(
        &self,
        outcome: &ProviderOutcome,
    ) -> Arc<edge_auth_core::token::TokenVerifier> {
        self.provider_keys
            .renew_for(outcome, &self.config, &self.client, Instant::now())
            .await;
        self.provider_keys.current()
    }

    /// The configuration with the session keys' material, and the signer:
    /// read (and read again every 10 minutes) from the session key set,
    /// since config.json names key ids only. Unreadable: the configuration
    /// as it is (with ids only, it verifies nothing) and no signer, which
    /// the core answers with its "try again" page.
    /// [`Self::session_keys`], as the site the request's distribution
    /// names decides (`sites::config_for`; one site: as they are), or
    /// the 404 for a request that names no site of the table.
    async fn session_keys_at_site(
        &self,
        payload: &CloudFrontPayload,
    ) -> Result<
        (
            Arc<Config>,
            Option<Arc<edge_auth_core::session::SessionSigner>>,
        ),
        Box<Outcome>,
    > {
        let (config, signer) = self.session_keys().await;
        let config = edge_auth_core::sites::config_for(&config, &payload.request)?;
        Ok((config, signer))
    }

    async fn session_keys(
        &self,
    ) -> (
        Arc<Config>,
        Option<Arc<edge_auth_core::session::SessionSigner>>,
    ) {
        match self.session_keys.get(&self.config, Instant::now()).await {
            Some(keys) => (keys.config, Some(keys.signer)),
            None => (self.config.clone(), None),
        }
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

/// Holds the sign-out's answer until the clock has passed the cut-off
/// (at most about a second, and only when the session being ended was
/// issued in this very second). Sessions carry whole seconds: a sign-in
/// that followed at once would be issued in the cut-off's second and be
/// refused at the edge as revoked, sending the browser round the
/// provider's silent sign-in until the second ran out.
async fn after_the_cut(up_to: u64, clock: Clock<'_>) {
    for _ in 0..24 {
        if clock() > up_to {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tracing::warn!(up_to, "the clock did not pass the sign-out's cut-off");
}
