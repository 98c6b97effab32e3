//! The exchange at `paths.token` (`/_edge-auth/token`): a workload's own
//! OIDC token (GitHub Actions, GitLab CI, a Kubernetes service account:
//! any issuer with discovery) for a short-lived service token, when it
//! matches one of the trust policies in `tokens.trust`. CI then reads a
//! protected site with no stored secret: its identity is the token its
//! platform mints for the job.
//!
//! The workload token travels in [`WORKLOAD_TOKEN_HEADER`], not in
//! `Authorization`: between CloudFront and the function URL that header
//! carries origin access control's SigV4 signature, which replaces the
//! viewer's. A `GET`, because a `POST` body through origin access control
//! needs the viewer to send its SHA-256 (`x-amz-content-sha256`).
//!
//! Deciding is in two halves, as sign-in's are: [`exchange_begin`] reads
//! the request and names the issuer whose keys the driver must hold
//! (fetched from its discovery document, and again on a key id the set
//! lacks, as the sign-in provider's are); [`exchange_complete`] checks the
//! token against each policy of that issuer and mints the service token.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::session::{SessionClaims, SessionSigner, TOKEN_SUBJECT_PREFIX};
use crate::token::{TokenError, TokenVerifier};
use crate::{CloudFrontRequest, Config, Entropy, Outcome, pages};

/// The request header that carries the workload's OIDC token.
pub const WORKLOAD_TOKEN_HEADER: &str = "X-Edge-Auth-Workload-Token";
/// A minted token's life unless the policy says otherwise: minutes, as a
/// CI job needs, so that nothing has to revoke it.
pub const DEFAULT_TTL: u64 = 900;
/// The longest a policy may give.
pub const MAX_TTL: u64 = 3600;
/// GitHub Actions' issuer: shared by every repository on GitHub, so its
/// policies must pin an owner (see [`check`]).
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// The longest workload token read (GitHub's are about 1.2 KB).
const MAX_WORKLOAD_TOKEN: usize = 16 * 1024;
/// Claims a GitHub policy may pin the owner with (exactly, no `*`).
const GITHUB_OWNER_CLAIMS: [&str; 4] = [
    "repository_owner",
    "repository_owner_id",
    "repository",
    "repository_id",
];

/// One `tokens.trust` entry: which workload tokens are exchanged, and
/// for what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustPolicy {
    /// Names the policy in logs and in the minted token's `name`.
    pub name: String,
    /// The token's `iss`, exactly; its discovery document is
    /// `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// The token's `aud` (one of them): what the workload asked its
    /// platform for (GitHub: `core.getIDToken(audience)`).
    pub audience: String,
    /// The issuer's key set, when it is not where discovery says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Claim name to pattern (`*` matches any run of characters, nothing
    /// else is special): every one must match a string claim. `sub` is
    /// required.
    pub claims: BTreeMap<String, String>,
    /// The minted token's groups.
    pub groups: Vec<String>,
    #[serde(default = "default_ttl")]
    pub ttl_seconds: u64,
    /// With a site table: the sites (their session scopes: a sign-in
    /// group's name, or the site's) where the exchange is made; empty, all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<String>,
    /// The algorithms the issuer signs with (GitHub, GitLab: RS256).
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
}

fn default_ttl() -> u64 {
    DEFAULT_TTL
}

/// One `[[tokens.trust]]` of the deploy settings (which the deploy tool
/// and the local edge both read): a [`TrustPolicy`] in minutes, its sites
/// by name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSetting {
    pub name: String,
    pub issuer: String,
    pub audience: String,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    pub claims: BTreeMap<String, String>,
    pub groups: Vec<String>,
    /// The minted token's life (default 15, at most 60).
    #[serde(default = "default_minutes")]
    pub ttl_minutes: u64,
    /// With `[[sites]]`: the sites the exchange is made at; empty, all.
    #[serde(default)]
    pub sites: Vec<String>,
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
}

fn default_minutes() -> u64 {
    DEFAULT_TTL / 60
}

impl TrustSetting {
    /// config.json's entry; `scope` names a site's session scope (its
    /// sign-in group's name, or its own).
    pub fn policy(&self, scope: impl Fn(&str) -> String) -> TrustPolicy {
        TrustPolicy {
            name: self.name.clone(),
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            jwks_uri: self.jwks_uri.clone(),
            claims: self.claims.clone(),
            groups: self.groups.clone(),
            ttl_seconds: self.ttl_minutes.saturating_mul(60),
            sites: self.sites.iter().map(|s| scope(s)).collect(),
            algorithms: self.algorithms.clone(),
        }
    }
}
fn default_algorithms() -> Vec<String> {
    vec!["RS256".into()]
}

/// Whether `value` matches `pattern`: `*` is any run of characters
/// (`repo:example/docs:*`), everything else itself. Byte-wise, so no
/// normalisation can make two different claims equal.
pub fn matches(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Why `tokens.trust` cannot be used, as (field, reason).
pub fn check(policies: &[TrustPolicy], max_lifetime: u64) -> Result<(), (String, String)> {
    for (i, p) in policies.iter().enumerate() {
        let field = |name: &str| format!("tokens.trust[{i}].{name}");
        let fail = |name: &str, why: String| Err((field(name), why));
        if p.name.is_empty()
            || p.name.len() > 64
            || !p
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return fail(
                "name",
                "1 to 64 letters, digits, `-`, `_` or `.`".to_owned(),
            );
        }
        if policies[..i].iter().any(|q| q.name == p.name) {
            return fail("name", format!("`{}` names two policies", p.name));
        }
        if p.audience.is_empty() {
            return fail(
                "audience",
                "the `aud` the workload asks its platform for (GitHub: core.getIDToken(audience))"
                    .to_owned(),
            );
        }
        match p.claims.get("sub") {
            None => {
                return fail(
                    "claims",
                    "must pin `sub` (`*` matches any run): an issuer signs tokens for every workload it runs".to_owned(),
                );
            }
            Some(sub) if sub.starts_with('*') => {
                return fail(
                    "claims.sub",
                    format!("{sub:?} starts with `*`: it would match any workload of the issuer"),
                );
            }
            Some(_) => {}
        }
        if p.issuer == GITHUB_ISSUER && !pins_github_owner(&p.claims) {
            return fail(
                "claims",
                "GitHub's issuer signs for every repository on GitHub: pin the owner, with `sub` = \"repo:OWNER/…\" or an exact repository_owner, repository_owner_id, repository or repository_id".to_owned(),
            );
        }
        if p.groups.is_empty() {
            return fail(
                "groups",
                "at least one group (what the token opens)".to_owned(),
            );
        }
        if !(60..=MAX_TTL.min(max_lifetime)).contains(&p.ttl_seconds) {
            return fail(
                "ttl_seconds",
                format!(
                    "60 to {} (an hour at most, and not past tokens.max_lifetime_seconds)",
                    MAX_TTL.min(max_lifetime)
                ),
            );
        }
        // The keys are checked for shape when fetched; the algorithms now.
        if let Err(e) = TokenVerifier::workload(
            &p.issuer,
            &p.audience,
            &p.algorithms,
            &json!({"keys": []}),
            0,
        ) {
            return fail("algorithms", e.to_string());
        }
    }
    Ok(())
}

/// Whether a GitHub policy holds the repository's owner fixed.
fn pins_github_owner(claims: &BTreeMap<String, String>) -> bool {
    let exact = GITHUB_OWNER_CLAIMS.iter().any(|c| {
        claims
            .get(*c)
            .is_some_and(|v| !v.is_empty() && !v.contains('*'))
    });
    let sub_owner = claims.get("sub").is_some_and(|sub| {
        sub.strip_prefix("repo:")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(owner, _)| !owner.is_empty() && !owner.contains('*'))
    });
    exact || sub_owner
}

/// Whether this request is for the exchange.
pub fn is_exchange(request: &CloudFrontRequest, config: &Config) -> bool {
    request.uri == config.paths().token
}

/// A request that named a workload token of an issuer some policy trusts:
/// what [`exchange_complete`] needs once the driver holds the issuer's keys.
#[derive(Debug)]
pub struct ExchangePending {
    token: String,
    issuer: String,
}

impl ExchangePending {
    /// The issuer whose key set must be at hand.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// The token's key id (unverified), to decide whether to fetch the
    /// issuer's keys again.
    pub fn kid(&self) -> Option<String> {
        crate::token::header_kid(&self.token)
    }
}

/// Reads the exchange request: an answer now, or the issuer to get keys for.
pub fn exchange_begin(
    request: &CloudFrontRequest,
    config: &Config,
) -> Result<ExchangePending, Box<Outcome>> {
    let policies = trust(config);
    if policies.is_empty() {
        let (title, message) = crate::authorize::AUTH_PATH_NOT_FOUND;
        let page = pages::html_page(404, title, message, None, vec![]);
        return Err(Box::new(
            Outcome::respond(page, "auth-path-not-found").with_detail("no tokens.trust"),
        ));
    }
    if request.method != "GET" {
        let mut answer = refusal(
            405,
            "invalid_request",
            "the exchange is a GET with the workload's token in X-Edge-Auth-Workload-Token",
        );
        answer.headers.set("Allow", "GET");
        return Err(Box::new(
            Outcome::respond(answer, "token-exchange-refused").with_detail("method"),
        ));
    }
    let mut sent = request.headers.values(WORKLOAD_TOKEN_HEADER);
    let (Some(token), None) = (sent.next(), sent.next()) else {
        return Err(refused(
            400,
            "invalid_request",
            "send the workload's OIDC token, once, in the X-Edge-Auth-Workload-Token header",
            "no workload token".to_owned(),
        ));
    };
    let token = token.trim();
    if token.len() > MAX_WORKLOAD_TOKEN || token.bytes().filter(|&b| b == b'.').count() != 2 {
        return Err(refused(
            401,
            "invalid_token",
            "not a well-formed JWT",
            "malformed".to_owned(),
        ));
    }
    // Read unverified only to choose the policies (and so the keys) the
    // token is then verified against; their issuer is checked again.
    let Some(issuer) = unverified_claim(token, "iss") else {
        return Err(refused(
            401,
            "invalid_token",
            "not a well-formed JWT",
            "no iss".to_owned(),
        ));
    };
    if !policies.iter().any(|p| p.issuer == issuer) {
        return Err(refused(
            401,
            "invalid_token",
            "no trust policy names this token's issuer",
            format!("issuer {:.120}", issuer.escape_debug()),
        ));
    }
    Ok(ExchangePending {
        token: token.to_owned(),
        issuer,
    })
}

/// Checks the token against every policy of its issuer with `jwks` (the
/// issuer's key set, `None` when it could not be had) and mints the
/// service token of the first that admits it.
pub fn exchange_complete(
    pending: ExchangePending,
    config: &Config,
    jwks: Option<&Value>,
    signer: Option<&SessionSigner>,
    now: u64,
    entropy: &mut dyn Entropy,
) -> Outcome {
    let (Some(jwks), Some(signer)) = (jwks, signer) else {
        let what = if jwks.is_none() {
            "the issuer's keys could not be fetched"
        } else {
            "the session keys could not be read"
        };
        let answer = refusal(503, "temporarily_unavailable", what);
        return Outcome::respond(answer, "token-exchange-failed").with_detail(what);
    };
    let leeway = config.provider().clock_skew_seconds;
    // The most telling refusal: a bad token says so whatever the policy;
    // a good token that no policy admits says that.
    let mut refusal_seen: Option<(u8, String)> = None;
    let mut note = |rank: u8, why: String| {
        if refusal_seen.as_ref().is_none_or(|(r, _)| rank > *r) {
            refusal_seen = Some((rank, why));
        }
    };
    for policy in trust(config).iter().filter(|p| p.issuer == pending.issuer) {
        if !policy.sites.is_empty()
            && !config
                .site
                .as_ref()
                .is_some_and(|s| policy.sites.contains(s))
        {
            note(1, format!("policy {}: not for this site", policy.name));
            continue;
        }
        let verifier = match TokenVerifier::workload(
            &policy.issuer,
            &policy.audience,
            &policy.algorithms,
            jwks,
            leeway,
        ) {
            Ok(v) => v,
            Err(e) => {
                note(3, format!("the issuer's key set: {e}"));
                continue;
            }
        };
        let verified = match verifier.verify_timed(&pending.token, now, None) {
            Ok(v) => v,
            Err(TokenError::WrongAudience) => {
                note(2, "wrong audience".to_owned());
                continue;
            }
            Err(e) => {
                note(4, e.to_string());
                continue;
            }
        };
        if let Some((claim, pattern)) = policy.claims.iter().find(|(claim, pattern)| {
            !verified
                .claim(claim)
                .and_then(Value::as_str)
                .is_some_and(|value| matches(pattern, value))
        }) {
            note(
                1,
                format!("policy {}: {claim} does not match {pattern:?}", policy.name),
            );
            continue;
        }
        return minted(policy, &verified, config, signer, now, entropy);
    }
    let why = refusal_seen.map_or_else(|| "no policy".to_owned(), |(_, why)| why);
    // What the caller is told names no policy: that is the log's.
    let told = if why.starts_with("policy ") {
        "no trust policy admits this token"
    } else {
        why.as_str()
    };
    let answer = refusal(401, "invalid_token", told);
    Outcome::respond(answer, "token-exchange-refused").with_detail(format!(
        "{why}; sub {:.200}",
        unverified_claim(&pending.token, "sub")
            .unwrap_or_default()
            .escape_debug()
    ))
}

/// The service token for a workload the policy admitted.
fn minted(
    policy: &TrustPolicy,
    verified: &crate::token::VerifiedToken,
    config: &Config,
    signer: &SessionSigner,
    now: u64,
    entropy: &mut dyn Entropy,
) -> Outcome {
    let [id, sid] = crate::flow::random_tokens(entropy);
    let exp = now + policy.ttl_seconds;
    let claims = SessionClaims {
        sub: format!("{TOKEN_SUBJECT_PREFIX}{id}"),
        name: format!("{} ({})", policy.name, verified.claims.subject)
            .chars()
            .take(128)
            .collect(),
        groups: policy.groups.clone(),
        sid: sid.clone(),
        iat: now,
        exp,
        auth_time: None,
        idp_auth_time: None,
        mfa: None,
        site: config.site.clone(),
    };
    let token = signer.sign_service(&claims);
    let body = json!({
        "access_token": token,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "token_type": "Bearer",
        "expires_in": policy.ttl_seconds,
    });
    let jti = verified.claim("jti").and_then(Value::as_str).unwrap_or("-");
    Outcome::respond(pages::json(200, &body, vec![]), "token-exchanged")
        .with_detail(format!(
            "policy {}; sub {:.200}; jti {:.64}; token {id}; groups {}; exp {exp}",
            policy.name,
            verified.claims.subject.escape_debug(),
            jti.escape_debug(),
            policy.groups.join(",")
        ))
        .for_session(crate::Subject {
            sub: claims.sub,
            sid,
        })
}

fn trust(config: &Config) -> &[TrustPolicy] {
    config
        .file
        .tokens
        .as_ref()
        .map_or(&[], |t| t.trust.as_slice())
}

/// A JSON refusal in OAuth's shape (RFC 6749 §5.2's `error`,
/// `error_description`).
fn refusal(status: u16, error: &str, description: &str) -> crate::CloudFrontResponse {
    pages::json(
        status,
        &json!({"error": error, "error_description": description}),
        vec![],
    )
}

fn refused(status: u16, error: &str, description: &str, detail: String) -> Box<Outcome> {
    Box::new(
        Outcome::respond(
            refusal(status, error, description),
            "token-exchange-refused",
        )
        .with_detail(detail),
    )
}

/// A string claim of the token, unverified (`token::unverified_claims`).
fn unverified_claim(token: &str, name: &str) -> Option<String> {
    crate::token::unverified_claims(token)?
        .get(name)?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns_match_runs_and_nothing_else() {
        let sub = "repo:example/docs:ref:refs/heads/main";
        assert!(matches(sub, sub));
        assert!(matches("repo:example/docs:*", sub));
        assert!(matches("repo:example/*:ref:refs/heads/main", sub));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "abc"));
        assert!(!matches("repo:example/docs:*", "repo:example/docs"));
        assert!(!matches("repo:example/docs", "repo:example/docs-fork"));
        assert!(!matches("repo:example/docs:*", "repo:example/docsx:ref:x"));
        assert!(!matches("a*bc", "abcx"));
        assert!(!matches("ab*ba", "aba"));
        // Not a regular expression, not a glob of any other kind.
        assert!(!matches("repo:example/d?cs", "repo:example/docs"));
        assert!(!matches("repo:example/[d]ocs", "repo:example/docs"));
    }
}
