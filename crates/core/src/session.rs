//! The session cookie: a JWT the deployment signs itself with HMAC-SHA-256.
//!
//! The provider's ID token is checked in full once, by `signin` or `refresh`
//! (which can reach the provider's key set when it rotates); what the site
//! then needs per request is put into a short token of our own:
//!
//! ```text
//! header  {"alg":"HS256","typ":"edge-auth-session","kid":"k20261202a"}
//! claims  {"sub":"…","name":"alice","groups":["admins"],"sid":"…","iat":…,"exp":…}
//! ```
//!
//! Why a JWT and not a CWT: the per-request check must also run as a
//! CloudFront Function, whose JavaScript has `createHmac` and `JSON.parse`
//! but no CBOR decoder, in 10 KB of code; a JWT is cookie-safe text as it is.
//! Only the groups the path rules name are kept, so a user in hundreds of
//! groups gets a small cookie. The verifier pins the algorithm and the
//! `typ`, looks the key up by `kid`, compares the MAC in constant time
//! (ring), and only then reads the claims and the clock; a provider's token
//! (RS256, no such `typ`) is refused before any key is touched.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `typ` of every session: a provider's JWT never carries it.
pub const SESSION_TYPE: &str = "edge-auth-session";

/// The `typ` of a service token (`edge-auth-deploy token create`): the
/// session's claims, signed by the same keys, read only from an
/// `Authorization: Bearer` header and never as a cookie (nor a session as
/// a token: the two types are never each other).
pub const SERVICE_TYPE: &str = "edge-auth-service";

/// A service token's `sub`: `token:<id>`, so that its revocation is the
/// store's `revoked:token:<id>`, read as every `revoked:<sub>` is.
pub const TOKEN_SUBJECT_PREFIX: &str = "token:";
/// The longest session cookie value read; ours are a few hundred bytes.
pub const MAX_SESSION_BYTES: usize = 4096;
/// Session keys are 256 bits (RFC 7518 §3.2: at least the hash size).
pub const SESSION_KEY_BYTES: usize = 32;

/// One key of the deployment's session key set, as `config.json` and the
/// session-key secret hold it: `{"kid": "…", "key": "<base64url>"}`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionKeyFile {
    pub kid: String,
    /// 32 random bytes, base64url without padding.
    pub key: String,
    /// A retiring key's deadline (seconds since the epoch): it stopped
    /// signing, and every session it signed expires by then, so one that
    /// expires later was not signed by this deployment (a leaked retired
    /// key). After the deadline nothing verifies with it, whether or not a
    /// deploy has dropped it yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<u64>,
}

impl std::fmt::Debug for SessionKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeyFile")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionKeyError {
    #[error("key id `{0}` is not 1 to 32 of A-Z a-z 0-9 _ -")]
    Kid(String),
    #[error("key `{0}` is not {SESSION_KEY_BYTES} bytes of base64url")]
    Key(String),
    #[error("key id `{0}` appears twice")]
    Duplicate(String),
    #[error("the key set is empty")]
    Empty,
    #[error("the signing key `{0}` is not in the key set")]
    UnknownSigningKey(String),
}

/// Whether `kid` may name a session key: short, and safe in a cookie, a log
/// line and a CloudFront KeyValueStore key.
pub fn is_valid_kid(kid: &str) -> bool {
    (1..=32).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[derive(Clone)]
struct SessionKey {
    kid: String,
    key: hmac::Key,
    not_after: Option<u64>,
}

impl SessionKey {
    fn from_file(file: &SessionKeyFile) -> Result<Self, SessionKeyError> {
        if !is_valid_kid(&file.kid) {
            return Err(SessionKeyError::Kid(file.kid.clone()));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(&file.key)
            .ok()
            .filter(|b| b.len() == SESSION_KEY_BYTES)
            .ok_or_else(|| SessionKeyError::Key(file.kid.clone()))?;
        Ok(Self {
            kid: file.kid.clone(),
            key: hmac::Key::new(hmac::HMAC_SHA256, &bytes),
            not_after: file.not_after,
        })
    }
}

/// The keys a verifier accepts: the current one and, during a rotation, the
/// one before it (or the next one, before it starts signing).
#[derive(Clone)]
pub struct SessionVerifier {
    keys: Vec<SessionKey>,
    leeway: u64,
    /// `sub` -> every session of that user issued at or before this time is
    /// refused (`edge-auth-deploy revoke`). The CloudFront Function reads
    /// the same from its key value store (`revoked:<sub>`); Lambda@Edge has
    /// no store, so there this stays empty.
    revoked: std::collections::BTreeMap<String, u64>,
    /// The longest session this site issues: a session whose `exp - iat` is
    /// longer was not signed by this deployment's signers, whatever its MAC
    /// says. With `iat` at most `now + leeway` (checked too), `exp - now`
    /// is then at most this plus the leeway.
    max_lifetime: u64,
}

impl std::fmt::Debug for SessionVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("SessionVerifier")
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

/// Signs new sessions with one key of the set.
#[derive(Clone)]
pub struct SessionSigner {
    key: SessionKey,
}

impl std::fmt::Debug for SessionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSigner")
            .field("kid", &self.key.kid)
            .finish_non_exhaustive()
    }
}

/// What a session says; everything `authorize` needs, nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// The provider's `sub`.
    pub sub: String,
    /// What the site shows as "signed in as".
    pub name: String,
    /// The user's groups that a path rule names (no others).
    pub groups: Vec<String>,
    /// 128 random bits: names this session (sign-out, revocation).
    pub sid: String,
    pub iat: u64,
    pub exp: u64,
    /// When the user signed in at this site (seconds): a renewal keeps it,
    /// so the absolute limit (`session.max_hours`) counts from the sign-in,
    /// not the last refresh. Absent in sessions of earlier releases (their
    /// `iat` stands in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// When the provider last authenticated the user (the ID token's
    /// `auth_time`), which may be earlier than `auth_time` (a silent
    /// sign-in on the provider's own session): what a rule's
    /// `max_auth_age_seconds` holds. Absent when the provider sent none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_auth_time: Option<u64>,
    /// The sign-in used a second factor (a rule's `mfa`). Absent: no.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<bool>,
    /// The site (or sign-in group of sites) the session was issued for,
    /// with many sites behind one deployment (`crate::sites`): taken
    /// there and nowhere else. Absent with one site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

/// What a renewal keeps of the session it renews.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    pub sid: String,
    pub auth_time: u64,
    pub idp_auth_time: Option<u64>,
    pub mfa: Option<bool>,
}

impl Renewal {
    pub fn of(claims: &SessionClaims) -> Self {
        Renewal {
            sid: claims.sid.clone(),
            auth_time: claims.auth_time.unwrap_or(claims.iat),
            idp_auth_time: claims.idp_auth_time,
            mfa: claims.mfa,
        }
    }
}

/// Why a session cookie was refused. None of these carries the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("not a well-formed session token")]
    Malformed,
    #[error("too large to be a session")]
    TooLarge,
    #[error("not a session of this site (wrong `typ`: a provider's token?)")]
    NotASession,
    #[error("signed with an algorithm that is not allowed")]
    AlgorithmNotAllowed,
    #[error("the header names critical extensions (`crit`)")]
    UnsupportedCritical,
    #[error("signed with an unknown session key")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
    #[error("a claim is missing or has the wrong type")]
    BadClaims,
    #[error("issued in the future")]
    NotYetValid,
    #[error("expired")]
    Expired,
    #[error("revoked: the user's sessions up to a time were revoked")]
    Revoked,
    #[error("lasts longer than this site's longest session")]
    TooLong,
    #[error("signed with a retiring key, and expires after the key's deadline")]
    AfterKeyDeadline,
    #[error("issued for another site")]
    OtherSite,
}

impl SessionVerifier {
    pub fn new(keys: &[SessionKeyFile], leeway: u64) -> Result<Self, SessionKeyError> {
        if keys.is_empty() {
            return Err(SessionKeyError::Empty);
        }
        let mut parsed: Vec<SessionKey> = Vec::with_capacity(keys.len());
        for file in keys {
            let key = SessionKey::from_file(file)?;
            if parsed.iter().any(|k| k.kid == key.kid) {
                return Err(SessionKeyError::Duplicate(key.kid));
            }
            parsed.push(key);
        }
        Ok(Self {
            keys: parsed,
            leeway,
            revoked: Default::default(),
            max_lifetime: u64::MAX,
        })
    }

    /// Refuses sessions longer than `seconds` (`Config` sets the site's
    /// longest, `ConfigFile::max_session_seconds`).
    pub fn with_max_lifetime(mut self, seconds: u64) -> Self {
        self.max_lifetime = seconds;
        self
    }

    /// The longest session accepted.
    pub fn max_lifetime(&self) -> u64 {
        self.max_lifetime
    }

    /// A verifier that holds no key yet (a package whose key material is
    /// read at run time): every session is `UnknownKey`.
    pub fn without_keys(leeway: u64) -> Self {
        Self {
            keys: Vec::new(),
            leeway,
            revoked: Default::default(),
            max_lifetime: u64::MAX,
        }
    }

    /// Refuses every session of `sub` issued at or before `issued_up_to`.
    pub fn revoke(&mut self, sub: &str, issued_up_to: u64) {
        self.revoked.insert(sub.to_owned(), issued_up_to);
    }

    /// The revocations, `sub` -> issued up to.
    pub fn revocations(&self) -> &std::collections::BTreeMap<String, u64> {
        &self.revoked
    }

    /// Whether `claims` is a session `revoke` ended (issued up to its time).
    pub fn is_revoked(&self, claims: &SessionClaims) -> bool {
        self.revoked
            .get(&claims.sub)
            .is_some_and(|&up_to| claims.iat <= up_to)
    }

    /// HMAC-SHA-256 of `data` with the newest key of the set, for a value
    /// the site sets and reads back itself (the flow cookie): the key id
    /// and the tag, base64url. `data` must start with a context of its own
    /// that no session's `header.claims` can (a NUL byte does), so that no
    /// tag made here is ever a session's.
    pub fn mac(&self, data: &[u8]) -> Option<(&str, String)> {
        let key = self.keys.last()?;
        let tag = hmac::sign(&key.key, data);
        Some((&key.kid, URL_SAFE_NO_PAD.encode(tag.as_ref())))
    }

    /// Whether `tag` is [`Self::mac`]'s for `data` under key `kid`
    /// (constant time).
    pub fn check_mac(&self, kid: &str, data: &[u8], tag: &str) -> bool {
        let Some(key) = self.keys.iter().find(|k| k.kid == kid) else {
            return false;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        hmac::verify(&key.key, data, &tag).is_ok()
    }

    /// The leeway for `iat` and `exp` (the configuration's clock skew).
    pub fn leeway(&self) -> u64 {
        self.leeway
    }

    /// The key ids this verifier accepts.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    /// Every check at time `now`. `Expired` is returned only for a session
    /// that passed every other check, so a caller may treat it as "refresh".
    pub fn verify(&self, token: &str, now: u64) -> Result<SessionClaims, SessionError> {
        self.verify_at(token, now, None)
    }

    /// [`Self::verify`] at a site of a site table (`crate::sites`): a
    /// session issued for another site is refused before the clock, as a
    /// forged one is (never "expired", which would send it to refresh).
    pub fn verify_at(
        &self,
        token: &str,
        now: u64,
        site: Option<&str>,
    ) -> Result<SessionClaims, SessionError> {
        self.checked_at(self.verify_untimed(token)?, now, site)
    }

    /// [`Self::verify_untimed`], and at a site of a table (`site`) only a
    /// session issued for it.
    pub fn verify_untimed_at(
        &self,
        token: &str,
        site: Option<&str>,
    ) -> Result<SessionClaims, SessionError> {
        for_site(self.verify_untimed(token)?, site)
    }

    /// A service token at time `now` (at a site of a table, one issued
    /// for it), no longer lived than `max_lifetime`: as a session is
    /// checked, with its own `typ`.
    pub fn verify_service_at(
        &self,
        token: &str,
        now: u64,
        site: Option<&str>,
        max_lifetime: u64,
    ) -> Result<SessionClaims, SessionError> {
        self.checked_at(
            self.verify_typed(token, SERVICE_TYPE, max_lifetime)?,
            now,
            site,
        )
    }

    /// A shared link's token ([`crate::share`]) at `now`: its claims and
    /// the pattern it opens (`path`, a string, which nothing else carries).
    pub fn verify_share_at(
        &self,
        token: &str,
        now: u64,
        site: Option<&str>,
        max_lifetime: u64,
    ) -> Result<(SessionClaims, String), SessionError> {
        let claims = self.checked_at(
            self.verify_typed(token, crate::share::SHARE_TYPE, max_lifetime)?,
            now,
            site,
        )?;
        // The payload again, for `path` alone: the MAC has covered it.
        let payload = token.split('.').nth(1).unwrap_or("");
        let path = decode_json(payload)?
            .get("path")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(SessionError::BadClaims)?;
        Ok((claims, path))
    }

    /// What follows the MAC and the claims' shapes, for sessions and
    /// tokens alike: the site, then revocations, then the clock. A revoked
    /// or other site's credential is never "expired" (which would send a
    /// session to refresh).
    fn checked_at(
        &self,
        claims: SessionClaims,
        now: u64,
        site: Option<&str>,
    ) -> Result<SessionClaims, SessionError> {
        let claims = for_site(claims, site)?;
        if self.is_revoked(&claims) {
            return Err(SessionError::Revoked);
        }
        if claims.iat > now.saturating_add(self.leeway) {
            return Err(SessionError::NotYetValid);
        }
        if now >= claims.exp {
            return Err(SessionError::Expired);
        }
        Ok(claims)
    }

    /// Everything but the clock: for `refresh`, which renews an expired
    /// session and must know whose it was.
    pub fn verify_untimed(&self, token: &str) -> Result<SessionClaims, SessionError> {
        self.verify_typed(token, SESSION_TYPE, self.max_lifetime)
    }

    fn verify_typed(
        &self,
        token: &str,
        typ: &str,
        max_lifetime: u64,
    ) -> Result<SessionClaims, SessionError> {
        if token.len() > MAX_SESSION_BYTES {
            return Err(SessionError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header_part), Some(payload), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SessionError::Malformed);
        };
        let header = decode_json(header_part)?;
        if header.get("alg").and_then(Value::as_str) != Some("HS256") {
            return Err(SessionError::AlgorithmNotAllowed);
        }
        if header.get("typ").and_then(Value::as_str) != Some(typ) {
            return Err(SessionError::NotASession);
        }
        if header.get("crit").is_some() {
            return Err(SessionError::UnsupportedCritical);
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(SessionError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(SessionError::UnknownKey)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| SessionError::Malformed)?;
        // What the MAC covers: `header.claims`. ring compares in constant time.
        let signed = &token[..header_part.len() + 1 + payload.len()];
        hmac::verify(&key.key, signed.as_bytes(), &mac).map_err(|_| SessionError::BadSignature)?;
        let claims = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| SessionError::Malformed)?;
        let claims: SessionClaims =
            serde_json::from_slice(&claims).map_err(|_| SessionError::BadClaims)?;
        // The function reads numbers as JavaScript does: exact up to 2^53.
        if claims.sub.is_empty()
            || claims.sid.is_empty()
            || claims.idp_auth_time.is_some_and(|t| t > MAX_SAFE_INTEGER)
        {
            return Err(SessionError::BadClaims);
        }
        if claims.exp.saturating_sub(claims.iat) > max_lifetime {
            return Err(SessionError::TooLong);
        }
        if key.not_after.is_some_and(|deadline| claims.exp > deadline) {
            return Err(SessionError::AfterKeyDeadline);
        }
        Ok(claims)
    }
}

/// At a site of a table (`site`), only claims issued for it: the one
/// place the `site` claim is checked.
fn for_site(claims: SessionClaims, site: Option<&str>) -> Result<SessionClaims, SessionError> {
    match site {
        Some(site) if claims.site.as_deref() != Some(site) => Err(SessionError::OtherSite),
        _ => Ok(claims),
    }
}

/// JavaScript's `Number.MAX_SAFE_INTEGER`.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

fn decode_json(part: &str) -> Result<Value, SessionError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| SessionError::Malformed)?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(SessionError::Malformed),
    }
}

impl SessionSigner {
    /// The signer for `signing_kid` of `keys`.
    pub fn new(keys: &[SessionKeyFile], signing_kid: &str) -> Result<Self, SessionKeyError> {
        let file = keys
            .iter()
            .find(|k| k.kid == signing_kid)
            .ok_or_else(|| SessionKeyError::UnknownSigningKey(signing_kid.to_owned()))?;
        Ok(Self {
            key: SessionKey::from_file(file)?,
        })
    }

    pub fn kid(&self) -> &str {
        &self.key.kid
    }

    /// `header.claims.mac`, base64url throughout.
    pub fn sign(&self, claims: &SessionClaims) -> String {
        self.sign_typed(claims, SESSION_TYPE)
    }

    /// A service token with these claims ([`SERVICE_TYPE`]).
    pub fn sign_service(&self, claims: &SessionClaims) -> String {
        self.sign_typed(claims, SERVICE_TYPE)
    }

    /// A shared link's token: these claims and the pattern it opens.
    pub fn sign_share(&self, claims: &SessionClaims, path: &str) -> String {
        let mut value = serde_json::to_value(claims).expect("claims serialise");
        value["path"] = Value::String(path.to_owned());
        self.sign_typed(&value, crate::share::SHARE_TYPE)
    }

    fn sign_typed(&self, claims: &impl Serialize, typ: &str) -> String {
        let header = serde_json::json!({"alg": "HS256", "typ": typ, "kid": self.key.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"))
        );
        let mac = hmac::sign(&self.key.key, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()))
    }
}

/// The key set a signer reads at start: every key, and which one signs.
/// The deploy tool keeps it in Secrets Manager (`docs/config.md`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionKeySet {
    pub signing_kid: String,
    pub keys: Vec<SessionKeyFile>,
    /// Keys that no longer sign, each with the time (seconds since the
    /// epoch) after which no session it signed can still be valid: the
    /// deploy tool drops a key from every verifier after that.
    #[serde(default)]
    pub retire_after: std::collections::BTreeMap<String, u64>,
    /// Users whose sessions issued up to a time are revoked
    /// (`edge-auth-deploy revoke`), `sub` -> that time: the signers read
    /// them with the keys, so refresh renews none of those sessions. Not
    /// written while empty (a set without revocations reads as before).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub revoked: std::collections::BTreeMap<String, u64>,
}

impl SessionKeySet {
    /// The keys as every verifier holds them: a retiring key with its
    /// deadline (`retire_after`) as `not_after`.
    pub fn verify_keys(&self) -> Vec<SessionKeyFile> {
        self.keys
            .iter()
            .map(|k| SessionKeyFile {
                not_after: self.retire_after.get(&k.kid).copied(),
                ..k.clone()
            })
            .collect()
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let set: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        set.signer().map_err(|e| e.to_string())?;
        Ok(set)
    }
    pub fn signer(&self) -> Result<SessionSigner, SessionKeyError> {
        SessionSigner::new(&self.keys, &self.signing_kid)
    }
}

/// The session for a user whose ID token passed every check at `now`:
/// only the groups a rule names, a fresh session id, and an expiry no later
/// than the ID token's, or `session.lifetime_seconds` from now when set
/// (the config checks it is no longer than the refresh token's cookie).
///
/// `renewing`: the session id and sign-in time of the sign-in being
/// refreshed, which a renewal keeps (the refresh cookie is bound to the
/// id); a new sign-in gets a new id, and signs in now.
pub fn session_for(
    config: &crate::Config,
    id: &crate::token::IdClaims,
    now: u64,
    entropy: &mut dyn crate::Entropy,
    renewing: Option<&Renewal>,
) -> SessionClaims {
    let mut groups: Vec<String> = Vec::new();
    for group in &id.groups {
        if config.rule_groups.contains(group) && !groups.contains(group) {
            groups.push(group.clone());
        }
    }
    let (sid, auth_time, idp_auth_time, mfa) = match renewing {
        // A renewal authenticates nobody: the provider's sign-in time and
        // factors stay those of the sign-in.
        Some(r) => (r.sid.clone(), r.auth_time, r.idp_auth_time, r.mfa),
        None => {
            let mut sid = [0u8; 16];
            entropy.fill(&mut sid);
            let (idp, mfa) = sign_in_factors(config, id, now);
            (URL_SAFE_NO_PAD.encode(sid), now, idp, mfa)
        }
    };
    let exp = match config.file.session.lifetime_seconds {
        Some(lifetime) => now.saturating_add(lifetime),
        // Never longer than the verifiers accept.
        None => id
            .expires_at
            .min(now.saturating_add(config.file.max_session_seconds())),
    };
    SessionClaims {
        sub: id.subject.clone(),
        // Display only; bounded so that a long name cannot grow the cookie.
        name: id.display_name().chars().take(128).collect(),
        groups,
        sid,
        iat: now,
        exp,
        auth_time: Some(auth_time),
        idp_auth_time,
        mfa,
        // At a site of a table, the site (or group) it is taken at.
        site: config.site.clone(),
    }
}

/// What a new sign-in's session says of how the provider authenticated:
/// when (the ID token's `auth_time`, never later than now: a provider's
/// clock ahead of ours would lengthen every step-up window) and whether
/// with a second factor (`amr`, or a provider where every sign-in has one).
pub fn sign_in_factors(
    config: &crate::Config,
    id: &crate::token::IdClaims,
    now: u64,
) -> (Option<u64>, Option<bool>) {
    let mfa = id.second_factor || config.provider().mfa_always;
    (id.auth_time.map(|t| t.min(now)), mfa.then_some(true))
}

/// Why a refresh must not renew `claims` at `now`, under the idle and
/// absolute limits (`session.idle_timeout_minutes`, `session.max_hours`):
/// the visitor signs in again instead. Decided where every renewal passes
/// (refresh); the per-request check sends an expired session there, so a
/// limit takes effect within one session lifetime.
pub fn renewal_refused(
    settings: &crate::config::SessionSettings,
    claims: &SessionClaims,
    now: u64,
    leeway: u64,
) -> Option<&'static str> {
    let auth_time = claims.auth_time.unwrap_or(claims.iat);
    // Only a session this site signed gets here, and it never says the
    // sign-in came after the session's issue (nor, so, in the future).
    if auth_time > claims.iat.saturating_add(leeway) {
        return Some("the session's sign-in time is after its issue");
    }
    if let Some(minutes) = settings.idle_timeout_minutes
        && now > claims.exp.saturating_add(minutes.saturating_mul(60))
    {
        return Some("idle: the session expired longer ago than session.idle_timeout_minutes");
    }
    if let Some(hours) = settings.max_hours
        && now >= auth_time.saturating_add(hours.saturating_mul(3600))
    {
        return Some("the sign-in is older than session.max_hours");
    }
    None
}

/// The cookies signin and refresh set for a user whose ID token passed
/// every check: the session signed now, the display name (the session's
/// own), and the refresh token, bound to the session id, when the provider
/// sent one. `renewing`: the session id a refresh keeps.
pub(crate) fn issue(
    config: &crate::Config,
    signer: &SessionSigner,
    id: &crate::token::IdClaims,
    now: u64,
    entropy: &mut dyn crate::Entropy,
    refresh_token: Option<&str>,
    renewing: Option<&Renewal>,
) -> Result<(Vec<String>, crate::Subject), crate::cookies::TooLargeForCookie> {
    let claims = session_for(config, id, now, entropy, renewing);
    let refresh = refresh_token.map(|token| crate::cookies::BoundRefresh {
        sid: &claims.sid,
        had_azp: id.has_azp,
        token,
    });
    let cookies =
        crate::cookies::session_cookies(config, &signer.sign(&claims), &claims.name, refresh)?;
    Ok((
        cookies,
        crate::Subject {
            sub: claims.sub,
            sid: claims.sid,
        },
    ))
}

/// A new key: 32 bytes from `entropy`, base64url.
pub fn new_session_key(kid: &str, entropy: &mut dyn crate::Entropy) -> SessionKeyFile {
    let mut bytes = [0u8; SESSION_KEY_BYTES];
    entropy.fill(&mut bytes);
    SessionKeyFile {
        kid: kid.to_owned(),
        key: URL_SAFE_NO_PAD.encode(bytes),
        not_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, byte: u8) -> SessionKeyFile {
        SessionKeyFile {
            kid: kid.into(),
            key: URL_SAFE_NO_PAD.encode([byte; 32]),
            not_after: None,
        }
    }

    fn claims() -> SessionClaims {
        SessionClaims {
            sub: "user-1".into(),
            name: "alice".into(),
            groups: vec!["admins".into()],
            sid: "c2Vzc2lvbi1pZA".into(),
            iat: 1000,
            exp: 4600,
            auth_time: None,
            idp_auth_time: None,
            mfa: None,
            site: None,
        }
    }

    #[test]
    fn round_trip_and_rotation() {
        let old = key("k1", 1);
        let new = key("k2", 2);
        let token = SessionSigner::new(std::slice::from_ref(&old), "k1")
            .unwrap()
            .sign(&claims());
        let both = SessionVerifier::new(&[new.clone(), old.clone()], 0).unwrap();
        assert_eq!(both.verify(&token, 2000), Ok(claims()));
        let only_new = SessionVerifier::new(&[new], 0).unwrap();
        assert_eq!(only_new.verify(&token, 2000), Err(SessionError::UnknownKey));
        assert_eq!(both.verify(&token, 4600), Err(SessionError::Expired));
        assert_eq!(both.verify(&token, 999), Err(SessionError::NotYetValid));
    }

    #[test]
    fn sessions_longer_than_the_site_issues_are_refused() {
        let signer = SessionSigner::new(&[key("k1", 1)], "k1").unwrap();
        let verifier = SessionVerifier::new(&[key("k1", 1)], 30)
            .unwrap()
            .with_max_lifetime(3600);
        // iat 1000, exp 4600: exactly the longest.
        assert_eq!(verifier.verify(&signer.sign(&claims()), 2000), Ok(claims()));
        let long = SessionClaims {
            exp: 4601,
            ..claims()
        };
        assert_eq!(
            verifier.verify(&signer.sign(&long), 2000),
            Err(SessionError::TooLong)
        );
        assert_eq!(
            verifier.verify_untimed(&signer.sign(&long)),
            Err(SessionError::TooLong)
        );
        // exp - iat within the bound, iat ahead of the clock by the most
        // the leeway allows: exp - now is at most the bound plus the leeway.
        let ahead = SessionClaims {
            iat: 2030,
            exp: 5630,
            ..claims()
        };
        assert_eq!(
            verifier.verify(&signer.sign(&ahead), 2000),
            Ok(ahead.clone())
        );
        assert_eq!(
            verifier.verify(&signer.sign(&ahead), 1999),
            Err(SessionError::NotYetValid)
        );
    }

    #[test]
    fn a_retiring_key_verifies_nothing_that_outlives_its_deadline() {
        let retiring = SessionKeyFile {
            not_after: Some(4600),
            ..key("k1", 1)
        };
        let signer = SessionSigner::new(&[key("k1", 1)], "k1").unwrap();
        let verifier = SessionVerifier::new(&[retiring], 0).unwrap();
        // exp 4600: signed before it retired.
        assert_eq!(verifier.verify(&signer.sign(&claims()), 2000), Ok(claims()));
        let later = SessionClaims {
            exp: 4601,
            ..claims()
        };
        assert_eq!(
            verifier.verify(&signer.sign(&later), 2000),
            Err(SessionError::AfterKeyDeadline)
        );
        assert_eq!(
            verifier.verify_untimed(&signer.sign(&later)),
            Err(SessionError::AfterKeyDeadline)
        );
        // After the deadline every session it signed has expired.
        assert_eq!(
            verifier.verify(&signer.sign(&claims()), 4600),
            Err(SessionError::Expired)
        );
    }

    #[test]
    fn same_kid_other_key_is_a_bad_signature() {
        let token = SessionSigner::new(&[key("k1", 1)], "k1")
            .unwrap()
            .sign(&claims());
        let verifier = SessionVerifier::new(&[key("k1", 9)], 0).unwrap();
        assert_eq!(
            verifier.verify(&token, 2000),
            Err(SessionError::BadSignature)
        );
    }

    #[test]
    fn key_files_are_checked() {
        assert!(matches!(
            SessionVerifier::new(&[key("bad kid", 1)], 0),
            Err(SessionKeyError::Kid(_))
        ));
        let short = SessionKeyFile {
            kid: "k".into(),
            key: "AAAA".into(),
            not_after: None,
        };
        assert!(matches!(
            SessionVerifier::new(&[short], 0),
            Err(SessionKeyError::Key(_))
        ));
        assert!(matches!(
            SessionVerifier::new(&[key("k", 1), key("k", 2)], 0),
            Err(SessionKeyError::Duplicate(_))
        ));
        assert!(matches!(
            SessionVerifier::new(&[], 0),
            Err(SessionKeyError::Empty)
        ));
        assert!(format!("{:?}", key("k", 1)).find("AQEB").is_none());
    }
}
