//! The keys the provider-facing handlers hold between invocations: the
//! provider's signing keys, fetched again from its `jwks_uri` when an ID
//! token names a key id the set lacks (providers rotate: Okta, Google and
//! Entra ID do so on their own), and the deployment's session signer,
//! read again every few minutes so that a session-key rotation reaches
//! warm instances.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use edge_auth_core::Config;
use edge_auth_core::provider::{ProviderOutcome, TokenAnswer, classify_token_answer};
use edge_auth_core::session::SessionSigner;
use edge_auth_core::token::{TokenVerifier, header_kid};

use crate::http::ProviderClient;
use crate::secret::load_session_keys;

/// A key id that was looked for and not found is looked for again only
/// after this long, so tokens with made-up key ids cannot make every
/// request fetch the key set.
pub const REFETCH_SAME_KID_AFTER: Duration = Duration::from_secs(300);
/// And no fetch at all within this long of the last one.
pub const MIN_FETCH_INTERVAL: Duration = Duration::from_secs(10);
/// A key set is a few kilobytes; more is not one.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// How long a warm instance signs with the key set it read: the deploy
/// tool waits the longest session plus this before it drops the old key.
pub const SIGNER_MAX_AGE: Duration = Duration::from_secs(600);
/// At most this many key ids are remembered as looked for.
const MAX_REMEMBERED_KIDS: usize = 256;

pub struct ProviderKeys {
    current: RwLock<Arc<TokenVerifier>>,
    attempts: Mutex<FetchLimiter>,
}

impl ProviderKeys {
    pub fn new(config: &Config) -> Self {
        Self {
            current: RwLock::new(Arc::new(config.verifier.clone())),
            attempts: Mutex::new(FetchLimiter::default()),
        }
    }

    pub fn current(&self) -> Arc<TokenVerifier> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// When the token endpoint's answer holds an ID token whose `kid` the
    /// current set lacks, fetch the set once (bounded, rate-limited).
    /// Returns whether a fetch was made and succeeded.
    pub async fn renew_for(
        &self,
        outcome: &ProviderOutcome,
        config: &Config,
        client: &ProviderClient,
        now: Instant,
    ) -> bool {
        let TokenAnswer::Tokens(tokens) = classify_token_answer(outcome) else {
            return false;
        };
        let Some(kid) = tokens.id_token.as_deref().and_then(header_kid) else {
            return false;
        };
        let Some(jwks_uri) = config.provider().jwks_uri.as_deref() else {
            return false;
        };
        if self.current().knows_kid(&kid) || !self.may_fetch(&kid, now) {
            return false;
        }
        let fetched = tokio::time::timeout(
            Duration::from_millis(config.file.http.timeout_ms),
            client.get_json_bounded(jwks_uri, MAX_JWKS_BYTES),
        )
        .await
        .map_err(|_| format!("{jwks_uri}: timed out"))
        .and_then(|r| r)
        .and_then(|jwks| {
            TokenVerifier::with_key_set(config.provider(), jwks).map_err(|e| e.to_string())
        });
        match fetched {
            Ok(verifier) => {
                let found = verifier.knows_kid(&kid);
                tracing::info!(kid = %kid, found, "provider key set fetched again");
                *self
                    .current
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(verifier);
                true
            }
            Err(e) => {
                tracing::warn!(kid = %kid, error = %e, "provider key set could not be fetched");
                false
            }
        }
    }

    fn may_fetch(&self, kid: &str, now: Instant) -> bool {
        self.attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .may_fetch(Some(kid), now)
    }
}

/// When a key set may be fetched again: not within
/// [`MIN_FETCH_INTERVAL`] of the last fetch, nor for a key id looked for
/// within [`REFETCH_SAME_KID_AFTER`]. The provider's keys and each
/// workload issuer's (`crate::workload`) hold one each.
#[derive(Default)]
pub(crate) struct FetchLimiter {
    /// When each unknown key id was last looked for.
    looked_for: HashMap<String, Instant>,
    last: Option<Instant>,
}

impl FetchLimiter {
    /// Whether to fetch now for `kid` (`None`: no key id to hold to,
    /// only the interval), and if so, the fetch recorded.
    pub(crate) fn may_fetch(&mut self, kid: Option<&str>, now: Instant) -> bool {
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < MIN_FETCH_INTERVAL)
        {
            return false;
        }
        if let Some(kid) = kid {
            if self
                .looked_for
                .get(kid)
                .is_some_and(|t| now.duration_since(*t) < REFETCH_SAME_KID_AFTER)
            {
                return false;
            }
            if self.looked_for.len() >= MAX_REMEMBERED_KIDS {
                self.looked_for
                    .retain(|_, t| now.duration_since(*t) < REFETCH_SAME_KID_AFTER);
            }
            if self.looked_for.len() < MAX_REMEMBERED_KIDS {
                self.looked_for.insert(kid.to_owned(), now);
            }
        }
        self.last = Some(now);
        true
    }
}

/// What the session key set gives a handler: the signer, and the
/// configuration with the verify keys' material (config.json names key ids
/// only: no package holds a key that could mint sessions).
#[derive(Clone)]
pub struct SessionKeys {
    pub signer: Arc<SessionSigner>,
    pub config: Arc<Config>,
}

/// The session key set, read from `session.signing_keys` and read again
/// when older than [`SIGNER_MAX_AGE`]; a failed re-read keeps the old one.
#[derive(Default)]
pub struct SessionKeyCache {
    held: tokio::sync::Mutex<Option<(Instant, SessionKeys)>>,
}

impl SessionKeyCache {
    pub async fn get(&self, config: &Config, now: Instant) -> Option<SessionKeys> {
        let mut held = self.held.lock().await;
        if let Some((read_at, keys)) = held.as_ref()
            && now.duration_since(*read_at) < SIGNER_MAX_AGE
        {
            return Some(keys.clone());
        }
        match load_session_keys(config).await {
            Ok((signer, keyed)) => {
                let keys = SessionKeys {
                    signer: Arc::new(signer),
                    config: Arc::new(keyed),
                };
                *held = Some((now, keys.clone()));
                Some(keys)
            }
            Err(e) => {
                tracing::error!(error = %e, "session keys unavailable");
                held.as_ref().map(|(_, keys)| keys.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A warm signer picks up a rotation within `SIGNER_MAX_AGE`, and a
    /// key set it cannot read keeps the signer it has.
    #[tokio::test]
    async fn the_signer_is_read_again_after_its_max_age() {
        let key =
            |kid: &str, fill: u8| edge_auth_core::session::new_session_key(kid, &mut Fill(fill));
        let (a, b) = (key("key-a", 1), key("key-b", 2));
        let path = std::env::temp_dir().join(format!(
            "edge-auth-signer-cache-{}.json",
            std::process::id()
        ));
        let write = |signing: &str| {
            let set = serde_json::json!({"signing_kid": signing, "keys": [a, b]});
            std::fs::write(&path, set.to_string()).unwrap();
        };
        let mut value = edge_auth_testkit::config_value("https://auth.example.com");
        value["session"] = serde_json::json!({
            "keys": [a, b],
            "signing_keys": {"kind": "file", "path": path.display().to_string()},
        });
        let config = edge_auth_testkit::config_from(value);
        let cache = SessionKeyCache::default();
        let t0 = Instant::now();
        write("key-a");
        assert_eq!(cache.get(&config, t0).await.unwrap().signer.kid(), "key-a");
        write("key-b");
        let soon = t0 + Duration::from_secs(1);
        assert_eq!(
            cache.get(&config, soon).await.unwrap().signer.kid(),
            "key-a",
            "held"
        );
        let later = t0 + SIGNER_MAX_AGE;
        assert_eq!(
            cache.get(&config, later).await.unwrap().signer.kid(),
            "key-b",
            "read again"
        );
        std::fs::write(&path, "not a key set").unwrap();
        let much_later = later + SIGNER_MAX_AGE;
        assert_eq!(
            cache.get(&config, much_later).await.unwrap().signer.kid(),
            "key-b",
            "kept"
        );
        std::fs::remove_file(&path).unwrap();
        // A signing key the verifiers do not hold is refused.
        let fresh = SessionKeyCache::default();
        let set = serde_json::json!({"signing_kid": "key-c", "keys": [a, b, key("key-c", 3)]});
        std::fs::write(&path, set.to_string()).unwrap();
        assert!(fresh.get(&config, t0).await.is_none());
        std::fs::remove_file(&path).unwrap();
    }

    struct Fill(u8);
    impl edge_auth_core::Entropy for Fill {
        fn fill(&mut self, dest: &mut [u8]) {
            dest.fill(self.0);
        }
    }

    #[test]
    fn unknown_kids_are_fetched_rarely() {
        let keys = ProviderKeys::new(&edge_auth_testkit::config());
        let t0 = Instant::now();
        assert!(keys.may_fetch("a", t0));
        assert!(
            !keys.may_fetch("b", t0 + Duration::from_secs(1)),
            "too soon after any fetch"
        );
        assert!(keys.may_fetch("b", t0 + MIN_FETCH_INTERVAL));
        assert!(
            !keys.may_fetch("a", t0 + MIN_FETCH_INTERVAL * 2),
            "the same kid again within minutes"
        );
        assert!(keys.may_fetch("a", t0 + REFETCH_SAME_KID_AFTER));
    }
}
