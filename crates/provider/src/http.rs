//! A small HTTPS client for the provider's token and revocation endpoints.

use std::time::{Duration, Instant};

use edge_auth_core::config::HttpSettings;
use edge_auth_core::provider::{HttpRequest, MAX_TOKEN_ANSWER, ProviderOutcome};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// When a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Sending it twice does no harm (revoking a token): again after a 5xx
    /// or a failed connection.
    Idempotent,
    /// It carries a single-use credential (an authorization code, a refresh
    /// token the provider may rotate): a second copy would be refused with
    /// `invalid_grant` if the first reached the provider, so it is sent
    /// again only when it provably did not (no connection could be made).
    NotSentOnly,
}

pub struct ProviderClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    retries: u32,
}

/// Time kept back from the Lambda deadline to write the answer.
const DEADLINE_MARGIN: Duration = Duration::from_millis(250);
/// Pause before a retry, so a struggling provider is not hammered.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

impl ProviderClient {
    pub fn new(settings: &HttpSettings) -> Self {
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::aws_lc_rs::default_provider())
            .expect("aws-lc-rs supports rustls' default protocol versions")
            // http:// is allowed only for loopback endpoints (config.rs checks).
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(tls);
        Self {
            client,
            timeout: Duration::from_millis(settings.timeout_ms),
            retries: settings.retries,
        }
    }

    /// POSTs the form; retries within `retries` and before `deadline`, as
    /// `retry` allows. A 4xx is an answer, never retried.
    pub async fn post(
        &self,
        request: &HttpRequest,
        deadline: Option<Instant>,
        retry: Retry,
    ) -> ProviderOutcome {
        let mut attempt = 0;
        loop {
            let budget = match deadline {
                Some(d) => d
                    .saturating_duration_since(Instant::now())
                    .saturating_sub(DEADLINE_MARGIN)
                    .min(self.timeout),
                None => self.timeout,
            };
            if budget.is_zero() {
                return ProviderOutcome::TimedOut;
            }
            let (outcome, sent) = match tokio::time::timeout(budget, self.once(request)).await {
                Ok(answer) => answer,
                // It may have reached the provider: count it as sent.
                Err(_) => (ProviderOutcome::TimedOut, true),
            };
            let retryable = match retry {
                Retry::NotSentOnly => !sent,
                Retry::Idempotent => matches!(
                    outcome,
                    ProviderOutcome::Unreachable
                        | ProviderOutcome::Answered {
                            status: 500..=599,
                            ..
                        }
                ),
            };
            if !retryable || attempt >= self.retries {
                return outcome;
            }
            attempt += 1;
            tracing::warn!(attempt, endpoint = %request.url, "provider call failed; retrying");
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }

    /// GETs a JSON document (discovery, JWKS) of at most 1 MiB.
    pub async fn get_json(&self, url: &str) -> Result<serde_json::Value, String> {
        self.get_json_bounded(url, 1024 * 1024).await
    }

    /// GETs a JSON document of at most `max_bytes`, in one attempt bounded
    /// by the client's timeout.
    pub async fn get_json_bounded(
        &self,
        url: &str,
        max_bytes: usize,
    ) -> Result<serde_json::Value, String> {
        let (status, _, body) = self
            .get(url, &[("accept", "application/json")], max_bytes)
            .await?;
        if !(200..300).contains(&status) {
            return Err(format!("{url}: HTTP {status}"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))
    }

    /// One GET as a browser would send it (no redirect followed): the
    /// status, the headers (names lower-case) and the body, refused over
    /// `max_bytes`, in one attempt bounded by the client's timeout. For the
    /// deploy tool's smoke test of a live site.
    pub async fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        max_bytes: usize,
    ) -> Result<(u16, Vec<(String, String)>, Vec<u8>), String> {
        let mut builder = hyper::Request::get(url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| format!("{url}: timed out"))?
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status().as_u16();
        let names: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = Limited::new(response.into_body(), max_bytes)
            .collect()
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .to_bytes()
            .to_vec();
        Ok((status, names, body))
    }

    /// One attempt, and whether the request may have reached the provider
    /// (`false` only when no connection could be made: refused, DNS, TLS).
    async fn once(&self, request: &HttpRequest) -> (ProviderOutcome, bool) {
        let mut builder = hyper::Request::post(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let Ok(http_request) = builder.body(Full::new(Bytes::from(request.body.clone()))) else {
            return (ProviderOutcome::Unreachable, false);
        };
        let response = match self.client.request(http_request).await {
            Ok(response) => response,
            Err(e) => {
                tracing::warn!(error = %e, endpoint = %request.url, "provider connection failed");
                return (ProviderOutcome::Unreachable, !e.is_connect());
            }
        };
        let status = response.status().as_u16();
        // A body larger than any real token answer is cut off and read as invalid.
        let outcome = match Limited::new(response.into_body(), MAX_TOKEN_ANSWER + 1)
            .collect()
            .await
        {
            Ok(body) => ProviderOutcome::Answered {
                status,
                body: body.to_bytes().to_vec(),
            },
            Err(_) => ProviderOutcome::Answered {
                status,
                body: vec![0; MAX_TOKEN_ANSWER + 1],
            },
        };
        (outcome, true)
    }
}
