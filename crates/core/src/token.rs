//! ID token checks: signature over a pinned algorithm set, `kid` lookup,
//! `iss`, `aud`, `token_use`, `exp`/`nbf` against the caller's clock, `nonce`.

use std::str::FromStr;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::config::ProviderSettings;

/// Public keys from the provider's JWKS, parsed once at start.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: Vec<VerificationKey>,
    issuer: String,
    client_id: String,
    token_use: Option<String>,
    groups_claim: String,
    /// Read as well, their groups added (`provider.extra_groups_claims`).
    extra_groups_claims: Vec<String>,
    /// Group ids to names (`provider.group_names`: Entra ID's object ids).
    group_names: std::collections::BTreeMap<String, String>,
    leeway: u64,
}

#[derive(Clone)]
struct VerificationKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field(
                "kids",
                &self
                    .keys
                    .iter()
                    .map(|k| (&k.kid, k.algorithm))
                    .collect::<Vec<_>>(),
            )
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    #[error("algorithm `{0}` is not supported: use RS256, RS384, RS512, PS256, PS384 or PS512")]
    Algorithm(String),
    #[error("not a JSON Web Key Set: {0}")]
    Shape(String),
    #[error("the key set has no usable signing key")]
    Empty,
}

/// Why a token was refused. None of these carries the token itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a well-formed JWT")]
    Malformed,
    #[error("signed with an algorithm that is not allowed")]
    AlgorithmNotAllowed,
    #[error("signed with an unknown key")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
    #[error("claim `{0}` is missing or has the wrong type")]
    MissingClaim(&'static str),
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    #[error("wrong token_use")]
    WrongTokenUse,
    #[error("expired")]
    Expired,
    #[error("not valid yet")]
    NotYetValid,
    #[error("nonce does not match this sign-in")]
    NonceMismatch,
    #[error("the header names critical extensions (`crit`) this gateway does not implement")]
    UnsupportedCritical,
    /// The provider's groups claim has a shape no provider sends
    /// (`crate::groups`).
    #[error(transparent)]
    Groups(crate::groups::GroupsError),
}

/// What the gateway reads from a valid ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdClaims {
    pub subject: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub groups: Vec<String>,
    pub expires_at: u64,
    /// `iat`, which OIDC Core 2 makes required.
    pub issued_at: u64,
    pub nonce: Option<String>,
    /// Whether the token names an authorized party (`azp`, which is then
    /// this client): a refreshed ID token must match the original here too
    /// (OIDC Core 12.2).
    pub has_azp: bool,
    /// When the provider authenticated the user (`auth_time`, OIDC Core 2):
    /// what a rule's `max_auth_age_seconds` is held to.
    pub auth_time: Option<u64>,
    /// Whether `amr` (RFC 8176) shows a second factor: `mfa`, or two
    /// different methods (`pwd` and `otp`, say). Cognito sends no `amr`.
    pub second_factor: bool,
}

/// A token that passed every check but the clock ([`TokenVerifier::verify_untimed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub claims: IdClaims,
    not_before: Option<u64>,
    /// Every claim as sent, for a trust policy's patterns.
    raw: serde_json::Map<String, Value>,
}

impl VerifiedToken {
    /// A claim as the token sent it (verified with the rest).
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.raw.get(name)
    }
}

impl IdClaims {
    /// What the site shows as "signed in as": username, else email, else the subject.
    pub fn display_name(&self) -> String {
        self.username
            .clone()
            .or_else(|| self.email.clone())
            .unwrap_or_else(|| self.subject.clone())
    }
}

impl TokenVerifier {
    pub fn new(settings: &ProviderSettings) -> Result<Self, KeySetError> {
        Ok(Self {
            keys: signing_keys(&settings.jwks, &settings.algorithms)?,
            issuer: settings.issuer.clone(),
            client_id: settings.client_id.clone(),
            token_use: settings.token_use.clone(),
            groups_claim: settings.groups_claim.clone(),
            extra_groups_claims: settings.extra_groups_claims.clone(),
            group_names: settings.group_names.clone(),
            leeway: settings.clock_skew_seconds,
        })
    }

    /// A workload issuer's tokens (`crate::exchange`): the same checks
    /// of the header, signature, `iss`, `aud` and clock as an ID token's,
    /// with no `token_use` and no groups read (a trust policy names them).
    pub fn workload(
        issuer: &str,
        audience: &str,
        algorithms: &[String],
        jwks: &Value,
        leeway: u64,
    ) -> Result<Self, KeySetError> {
        Ok(Self {
            keys: signing_keys(jwks, algorithms)?,
            issuer: issuer.to_owned(),
            client_id: audience.to_owned(),
            token_use: None,
            // No claim has an empty name: no groups are read.
            groups_claim: String::new(),
            extra_groups_claims: Vec::new(),
            group_names: std::collections::BTreeMap::new(),
            leeway,
        })
    }

    /// The provider's settings with another key set (fetched from its
    /// `jwks_uri`), held to the same pinned algorithms.
    pub fn with_key_set(settings: &ProviderSettings, jwks: Value) -> Result<Self, KeySetError> {
        let mut settings = settings.clone();
        settings.jwks = jwks;
        Self::new(&settings)
    }

    /// Whether the set has no key at all.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a key with this id is in the set.
    pub fn knows_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Checks an ID token at time `now` (seconds since the epoch).
    /// `Expired` is only returned for a token that passed every other check,
    /// so a caller may safely treat it as "refresh me".
    pub fn verify(
        &self,
        token: &str,
        now: u64,
        expected_nonce: Option<&str>,
    ) -> Result<IdClaims, TokenError> {
        Ok(self.verify_timed(token, now, expected_nonce)?.claims)
    }

    /// [`Self::verify`], keeping every claim the token sent.
    pub fn verify_timed(
        &self,
        token: &str,
        now: u64,
        expected_nonce: Option<&str>,
    ) -> Result<VerifiedToken, TokenError> {
        let verified = self.verify_untimed(token, expected_nonce)?;
        self.check_time(&verified, now)?;
        Ok(verified)
    }

    /// Every check but the clock: signature, header, issuer, audience,
    /// `token_use`, nonce and the claims' types. What passes here depends on
    /// the token's bytes and this verifier alone, so it may be remembered
    /// (see [`crate::token_cache`]); [`Self::check_time`] must still run
    /// on every use.
    pub fn verify_untimed(
        &self,
        token: &str,
        expected_nonce: Option<&str>,
    ) -> Result<VerifiedToken, TokenError> {
        if token.len() > 16 * 1024 || token.bytes().filter(|&b| b == b'.').count() != 2 {
            return Err(TokenError::Malformed);
        }
        // Read `alg` first ourselves: the library refuses `none` as a
        // malformed header, and the log should say what was really tried.
        let (alg, critical) = header_algorithm(token).ok_or(TokenError::Malformed)?;
        // RFC 7515 §4.1.11: a recipient that does not understand every
        // extension listed in `crit` must reject the token; we implement none.
        if critical {
            return Err(TokenError::UnsupportedCritical);
        }
        if !self
            .keys
            .iter()
            .any(|k| format!("{:?}", k.algorithm) == alg)
        {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let mut same_kid = self.keys.iter().filter(|k| match (&header.kid, &k.kid) {
            (Some(want), Some(have)) => want == have,
            // A token without `kid` is tried against a key set of one key only.
            (None, _) => self.keys.len() == 1,
            (Some(_), None) => false,
        });
        let Some(first) = same_kid.next() else {
            return if self.keys.iter().any(|k| k.algorithm == header.alg) {
                Err(TokenError::UnknownKey)
            } else {
                Err(TokenError::AlgorithmNotAllowed)
            };
        };
        let key = std::iter::once(first)
            .chain(same_kid)
            .find(|k| k.algorithm == header.alg)
            .ok_or(TokenError::AlgorithmNotAllowed)?;
        let data =
            jsonwebtoken::decode::<Value>(token, &key.key, &key.validation).map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                match e.kind() {
                    K::InvalidSignature => TokenError::BadSignature,
                    K::InvalidAlgorithm | K::InvalidAlgorithmName => {
                        TokenError::AlgorithmNotAllowed
                    }
                    _ => TokenError::Malformed,
                }
            })?;
        self.check_claims(&data.claims, expected_nonce)
    }

    /// `nbf` and `exp` at `now`, with the configured leeway.
    pub fn check_time(&self, verified: &VerifiedToken, now: u64) -> Result<(), TokenError> {
        if let Some(nbf) = verified.not_before
            && now.saturating_add(self.leeway) < nbf
        {
            return Err(TokenError::NotYetValid);
        }
        // Issued further ahead than the clocks can disagree: not yet valid
        // (OIDC Core 3.1.3.7 lets a client refuse such a token).
        if verified.claims.issued_at > now.saturating_add(self.leeway) {
            return Err(TokenError::NotYetValid);
        }
        if now >= verified.claims.expires_at.saturating_add(self.leeway) {
            return Err(TokenError::Expired);
        }
        Ok(())
    }

    fn check_claims(
        &self,
        claims: &Value,
        expected_nonce: Option<&str>,
    ) -> Result<VerifiedToken, TokenError> {
        let string = |name: &'static str| claims.get(name).and_then(Value::as_str);
        let number = |name: &'static str| claims.get(name).and_then(Value::as_u64);

        if string("iss").ok_or(TokenError::MissingClaim("iss"))? != self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        // OIDC Core 3.1.3.7: when `azp` is present it must be us, whatever
        // the shape of `aud`; with several audiences it must be present.
        let azp = match claims.get("azp") {
            None => None,
            Some(Value::String(azp)) => Some(azp.as_str()),
            Some(_) => return Err(TokenError::WrongAudience),
        };
        if azp.is_some_and(|azp| azp != self.client_id) {
            return Err(TokenError::WrongAudience);
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => *aud == self.client_id,
            Some(Value::Array(auds)) => {
                auds.iter().any(|a| a.as_str() == Some(&self.client_id))
                    && (auds.len() == 1 || azp.is_some())
            }
            _ => return Err(TokenError::MissingClaim("aud")),
        };
        if !audience_ok {
            return Err(TokenError::WrongAudience);
        }
        if let Some(expected) = &self.token_use
            && string("token_use") != Some(expected.as_str())
        {
            return Err(TokenError::WrongTokenUse);
        }
        let subject = string("sub")
            .ok_or(TokenError::MissingClaim("sub"))?
            .to_owned();
        let nonce = string("nonce").map(str::to_owned);
        if let Some(expected) = expected_nonce
            && !nonce
                .as_deref()
                .is_some_and(|n| crate::flow::constant_time_eq(n, expected))
        {
            return Err(TokenError::NonceMismatch);
        }
        let not_before = match claims.get("nbf") {
            Some(nbf) => Some(nbf.as_u64().ok_or(TokenError::MissingClaim("nbf"))?),
            None => None,
        };
        let expires_at = number("exp").ok_or(TokenError::MissingClaim("exp"))?;
        // OIDC Core 2: `iat` is required in an ID token.
        let issued_at = number("iat").ok_or(TokenError::MissingClaim("iat"))?;
        let object = claims.as_object().ok_or(TokenError::Malformed)?;
        let mut groups = crate::groups::read_groups(object, &self.groups_claim, &self.group_names)
            .map_err(TokenError::Groups)?;
        for claim in &self.extra_groups_claims {
            for group in crate::groups::read_groups(object, claim, &self.group_names)
                .map_err(TokenError::Groups)?
            {
                if !groups.contains(&group) {
                    groups.push(group);
                }
            }
        }
        // Present, these must have their types (a token that sends them
        // malformed is refused rather than read as "no second factor").
        let auth_time = match claims.get("auth_time") {
            Some(t) => Some(t.as_u64().ok_or(TokenError::MissingClaim("auth_time"))?),
            None => None,
        };
        let amr: Vec<&str> = match claims.get("amr") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(Value::as_str)
                .collect::<Option<_>>()
                .ok_or(TokenError::MissingClaim("amr"))?,
            Some(_) => return Err(TokenError::MissingClaim("amr")),
        };
        let claims = IdClaims {
            auth_time,
            second_factor: second_factor(&amr),
            subject,
            username: string("cognito:username")
                .or_else(|| string("preferred_username"))
                .or_else(|| string("name"))
                .map(str::to_owned),
            email: string("email").map(str::to_owned),
            groups,
            expires_at,
            issued_at,
            nonce,
            has_azp: azp.is_some(),
        };
        Ok(VerifiedToken {
            claims,
            not_before,
            raw: object.clone(),
        })
    }
}

/// The usable signing keys of a JSON Web Key Set, each with the one
/// algorithm of `algorithms` it may verify.
fn signing_keys(jwks: &Value, algorithms: &[String]) -> Result<Vec<VerificationKey>, KeySetError> {
    let mut allowed = Vec::new();
    for name in algorithms {
        let alg = Algorithm::from_str(name).map_err(|_| KeySetError::Algorithm(name.clone()))?;
        // Symmetric algorithms would let anyone holding the public key mint tokens.
        if !crate::crypto::SUPPORTED.contains(&alg) {
            return Err(KeySetError::Algorithm(name.clone()));
        }
        allowed.push(alg);
    }
    if allowed.is_empty() {
        return Err(KeySetError::Algorithm("(none listed)".into()));
    }
    let raw_keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| KeySetError::Shape("expected an object with a `keys` array".into()))?;
    crate::crypto::install();
    let mut keys = Vec::new();
    for raw in raw_keys {
        // A key this build cannot use (an encryption key, an EC key) must
        // not take the others down with it.
        let field = |name: &str| raw.get(name).and_then(Value::as_str);
        if field("kty") != Some("RSA") || field("use").is_some_and(|u| u != "sig") {
            continue;
        }
        let (Some(n), Some(e)) = (field("n"), field("e")) else {
            continue;
        };
        let Ok(key) = DecodingKey::from_rsa_components(n, e) else {
            continue;
        };
        let declared = field("alg")
            .map(|a| Algorithm::from_str(a).map_err(|_| KeySetError::Algorithm(a.to_owned())));
        let candidates: Vec<Algorithm> = match declared {
            Some(Ok(alg)) => vec![alg],
            Some(Err(_)) => continue,
            None => allowed.clone(),
        };
        for algorithm in candidates.into_iter().filter(|a| allowed.contains(a)) {
            let mut validation = Validation::new(algorithm);
            // Time and audience are checked below against the caller's
            // clock and our own claim rules, not the library's.
            validation.validate_exp = false;
            validation.validate_nbf = false;
            validation.validate_aud = false;
            validation.required_spec_claims.clear();
            keys.push(VerificationKey {
                kid: field("kid").map(str::to_owned),
                algorithm,
                key: key.clone(),
                validation,
            });
        }
    }
    // An empty set is a package that checks no provider token (the
    // per-request check) or one that fetches the keys from `jwks_uri`;
    // a set whose keys are all unusable is a mistake.
    if keys.is_empty() && !raw_keys.is_empty() {
        return Err(KeySetError::Empty);
    }
    Ok(keys)
}

/// Whether an `amr` list shows more than one factor: `mfa` says so, or
/// two different methods do (RFC 8176 lists methods, not factors; two of
/// them is two factors for every pair it defines but `pwd` + `kba`, both
/// something known, which is counted out).
fn second_factor(amr: &[&str]) -> bool {
    if amr.contains(&"mfa") {
        return true;
    }
    let mut methods: Vec<&str> = amr.iter().copied().filter(|m| *m != "kba").collect();
    methods.sort_unstable();
    methods.dedup();
    methods.len() >= 2
}

/// The `kid` of a JWT's header, read without trusting anything else in it
/// (only to decide whether the provider's key set must be fetched again).
pub fn header_kid(token: &str) -> Option<String> {
    decoded_header(token)?
        .get("kid")?
        .as_str()
        .map(str::to_owned)
}

/// A JWT's header as JSON, unverified; at most 2 KiB of it is read.
fn decoded_header(token: &str) -> Option<Value> {
    decoded_part(token.split('.').next()?, 2048)
}

/// A JWT's claims as JSON, unverified: to choose the keys a token is then
/// verified with (the exchange's issuer), or for a log line about a token
/// that was refused. Never a decision.
pub fn unverified_claims(token: &str) -> Option<Value> {
    decoded_part(token.split('.').nth(1)?, 16 * 1024)
}

fn decoded_part(encoded: &str, max: usize) -> Option<Value> {
    use base64::Engine;
    if encoded.len() > max {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The `alg` of a JWT header, and whether it has a `crit` parameter,
/// without trusting anything else in it.
fn header_algorithm(token: &str) -> Option<(String, bool)> {
    let header = decoded_header(token)?;
    let alg = header.get("alg")?.as_str()?.to_owned();
    Some((alg, header.get("crit").is_some()))
}
