//! The key sets of the workload issuers `tokens.trust` names (GitHub
//! Actions, GitLab, a cluster's service accounts), for the token exchange
//! (`edge_auth_core::exchange`): found through each issuer's discovery
//! document on first use, kept, and fetched again when a token names a
//! key id the set lacks, under the same limits as the sign-in provider's
//! keys (`crate::keys`), so made-up key ids cannot make every request
//! fetch.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use edge_auth_core::exchange::TrustPolicy;
use serde_json::Value;

use crate::http::ProviderClient;
use crate::keys::{FetchLimiter, MAX_JWKS_BYTES};

/// A discovery document is a few kilobytes.
const MAX_DISCOVERY_BYTES: usize = 64 * 1024;

#[derive(Default)]
struct IssuerKeys {
    jwks: Option<Value>,
    limiter: FetchLimiter,
}

#[derive(Default)]
pub struct WorkloadKeys {
    issuers: Mutex<HashMap<String, IssuerKeys>>,
}

impl WorkloadKeys {
    /// The issuer's key set, fetched first when none is held or `kid` is
    /// not in it (within the limits); `None` when none could be had.
    pub async fn for_token(
        &self,
        issuer: &str,
        kid: Option<&str>,
        policies: &[TrustPolicy],
        client: &ProviderClient,
        timeout: Duration,
        now: Instant,
    ) -> Option<Value> {
        let (held, fetch) = self.decide(issuer, kid, now);
        if !fetch {
            return held;
        }
        let jwks_uri = policies
            .iter()
            .find(|p| p.issuer == issuer)
            .and_then(|p| p.jwks_uri.clone());
        let fetched = tokio::time::timeout(timeout * 2, fetch_keys(issuer, jwks_uri, client))
            .await
            .unwrap_or_else(|_| Err(format!("{issuer}: timed out")));
        match fetched {
            Ok(jwks) => {
                let found = kid.is_none_or(|kid| has_kid(&jwks, kid));
                tracing::info!(issuer, kid, found, "workload issuer's key set fetched");
                self.with(issuer, |keys| keys.jwks = Some(jwks.clone()));
                Some(jwks)
            }
            Err(e) => {
                tracing::warn!(issuer, error = %e, "workload issuer's key set could not be fetched");
                held
            }
        }
    }

    /// What is held, and whether to fetch now: with nothing held, as
    /// often as the interval allows (an issuer that was down is asked
    /// again); else only for a key id the set lacks.
    fn decide(&self, issuer: &str, kid: Option<&str>, now: Instant) -> (Option<Value>, bool) {
        self.with(issuer, |keys| match (&keys.jwks, kid) {
            (None, _) => (None, keys.limiter.may_fetch(None, now)),
            (Some(jwks), Some(kid)) if !has_kid(jwks, kid) => {
                (keys.jwks.clone(), keys.limiter.may_fetch(Some(kid), now))
            }
            (Some(_), _) => (keys.jwks.clone(), false),
        })
    }

    fn with<T>(&self, issuer: &str, f: impl FnOnce(&mut IssuerKeys) -> T) -> T {
        let mut guard = self
            .issuers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(guard.entry(issuer.to_owned()).or_default())
    }
}

fn has_kid(jwks: &Value, kid: &str) -> bool {
    jwks.get("keys")
        .and_then(Value::as_array)
        .is_some_and(|keys| {
            keys.iter()
                .any(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        })
}

/// The issuer's discovery document (whose `issuer` must be this one,
/// OpenID Connect Discovery §4.3), then the key set it names.
async fn fetch_keys(
    issuer: &str,
    jwks_uri: Option<String>,
    client: &ProviderClient,
) -> Result<Value, String> {
    let jwks_uri = match jwks_uri {
        Some(uri) => uri,
        None => {
            let url = format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            );
            let discovery = client.get_json_bounded(&url, MAX_DISCOVERY_BYTES).await?;
            if discovery.get("issuer").and_then(Value::as_str) != Some(issuer) {
                return Err(format!("{url}: its `issuer` is not {issuer}"));
            }
            let uri = discovery
                .get("jwks_uri")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{url}: no jwks_uri"))?;
            // The same rule as the settings' URLs: https, or loopback http.
            let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
                .iter()
                .any(|p| uri.starts_with(p) && uri[p.len()..].starts_with([':', '/']));
            if !uri.starts_with("https://") && !loopback {
                return Err(format!("{url}: jwks_uri is not https"));
            }
            uri.to_owned()
        }
    };
    let jwks = client.get_json_bounded(&jwks_uri, MAX_JWKS_BYTES).await?;
    if !jwks.get("keys").is_some_and(Value::is_array) {
        return Err(format!("{jwks_uri}: not a JSON Web Key Set"));
    }
    Ok(jwks)
}
