//! Remembering the ID tokens that passed verification.
//!
//! A signed-in browser sends the same ID token with every page and asset, to
//! the same sandbox, for as long as the token lives. Its RSA signature is
//! the dearest part of `authorize`; checking it once per sandbox is enough,
//! because the outcome of every check but the clock depends only on the
//! token's bytes and the verifier, which never changes within a sandbox.
//!
//! What is kept, and why it is safe:
//! - only tokens that passed **every** check at the time they were added
//!   (signature, header, claims and clock); nothing that failed is kept, so
//!   an attacker cannot fill the cache without tokens our provider signed;
//! - the key is the token's exact bytes, compared in full: a lookup can only
//!   ever return what that very string verified to;
//! - the clock (`nbf`, `exp`) is checked on every use against the cached
//!   claims, and so is every per-request rule (path groups), by the caller;
//! - at most [`MAX_ENTRIES`] tokens of at most [`MAX_TOKEN_BYTES`] bytes each
//!   (the browser's own cookie limit), replaced oldest first: at most
//!   64 × 4 KiB of token text plus their claims, about 0.5 MiB at the very
//!   worst and typically 64 × 1.5 KiB.

use crate::token::{IdClaims, TokenError, TokenVerifier, VerifiedToken};

/// How many verified tokens one sandbox keeps (one per user it serves).
pub const MAX_ENTRIES: usize = 64;
/// Longer tokens are verified every time and never kept.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// Tokens that passed verification, for one verifier (one sandbox).
#[derive(Debug, Default)]
pub struct VerifiedTokenCache {
    entries: Vec<(Box<str>, VerifiedToken)>,
    /// The slot the next new token replaces once the cache is full.
    next: usize,
}

/// Whether an answer came from the cache (for benchmarks and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Hit,
    Miss,
}

impl VerifiedTokenCache {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `verifier.verify(token, now, None)`, remembering a token that passes.
    /// Always the same answer as the uncached call for the same token and time.
    pub fn verify(
        &mut self,
        verifier: &TokenVerifier,
        token: &str,
        now: u64,
    ) -> (Result<IdClaims, TokenError>, Lookup) {
        if let Some((_, verified)) = self.find(token) {
            let answer = verifier
                .check_time(verified, now)
                .map(|()| verified.claims.clone());
            return (answer, Lookup::Hit);
        }
        let verified = match verifier.verify_untimed(token, None) {
            Ok(verified) => verified,
            Err(e) => return (Err(e), Lookup::Miss),
        };
        if let Err(e) = verifier.check_time(&verified, now) {
            return (Err(e), Lookup::Miss);
        }
        let claims = verified.claims.clone();
        if token.len() <= MAX_TOKEN_BYTES {
            self.insert(token, verified);
        }
        (Ok(claims), Lookup::Miss)
    }

    fn find(&self, token: &str) -> Option<&(Box<str>, VerifiedToken)> {
        // Tokens differ most in their signature, at the end: compare the
        // lengths and the last bytes first, so a miss costs little per entry;
        // a hit is then compared in full.
        let tail = token.len().saturating_sub(32);
        self.entries.iter().find(|(key, _)| {
            key.len() == token.len()
                && key.as_bytes()[tail..] == token.as_bytes()[tail..]
                && **key == *token
        })
    }

    fn insert(&mut self, token: &str, verified: VerifiedToken) {
        let entry = (Box::from(token), verified);
        if self.entries.len() < MAX_ENTRIES {
            self.entries.push(entry);
        } else {
            self.entries[self.next] = entry;
            self.next = (self.next + 1) % MAX_ENTRIES;
        }
    }
}
