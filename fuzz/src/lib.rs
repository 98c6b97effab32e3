//! Invariants every fuzz target checks on what the handlers answer.

use std::sync::OnceLock;

use edge_auth_core::{Config, HandlerOutput};

pub use edge_auth_testkit as kit;

/// Lambda@Edge limits on generated response bodies.
pub const VIEWER_LIMIT: usize = 40 * 1024;
pub const ORIGIN_LIMIT: usize = 1024 * 1024;
pub const SITE_HOST: &str = "d111111abcdef8.cloudfront.net";

pub fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(kit::config)
}

/// A valid token at `kit::NOW` (RSA PKCS#1 v1.5 signing is deterministic,
/// so the seed corpus holds this very string).
pub fn valid_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| kit::id_token().sign())
}

/// The test deployment's valid session at `kit::NOW` (HMAC is deterministic).
pub fn valid_session() -> &'static str {
    static SESSION: OnceLock<String> = OnceLock::new();
    SESSION.get_or_init(kit::session)
}

/// A session that expired an hour before `kit::NOW`.
pub fn expired_session() -> &'static str {
    static SESSION: OnceLock<String> = OnceLock::new();
    SESSION.get_or_init(|| {
        let mut claims = kit::session_claims();
        claims.exp = kit::NOW - 3600;
        kit::signer().sign(&claims)
    })
}

/// A token that passed every check but expired an hour before `kit::NOW`.
pub fn expired_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| kit::id_token().claim("exp", kit::NOW - 3600).sign())
}

/// A valid token whose nonce is `"n" * 43` (`matching`) or `"x" * 43`.
pub fn nonce_token(matching: bool) -> &'static str {
    static TOKENS: OnceLock<(String, String)> = OnceLock::new();
    let (good, bad) = TOKENS.get_or_init(|| {
        (
            kit::id_token().claim("nonce", "n".repeat(43)).sign(),
            kit::id_token().claim("nonce", "x".repeat(43)).sign(),
        )
    });
    if matching { good } else { bad }
}

/// The documented viewer-request sample, parsed once.
pub fn viewer_request(
    uri: &str,
    query: &str,
    cookies: &[String],
) -> (
    edge_auth_core::CloudFrontRequest,
    edge_auth_core::DistributionConfig,
) {
    static BASE: OnceLock<(
        edge_auth_core::CloudFrontRequest,
        edge_auth_core::DistributionConfig,
    )> = OnceLock::new();
    let (request, dist) = BASE.get_or_init(|| kit::viewer_request("/", "", &[]));
    let mut request = request.clone();
    request.uri = uri.to_owned();
    request.querystring = query.to_owned();
    if !cookies.is_empty() {
        request.headers.append("Cookie", cookies.join("; "));
    }
    (request, dist.clone())
}

/// Would a browser following `location` from our site stay on our host, or
/// go to one of the provider endpoints we configured?
pub fn location_allowed(location: &str) -> bool {
    let provider = config().provider();
    let mut endpoints = vec![provider.authorization_endpoint.as_str()];
    if let edge_auth_core::config::LogoutSettings::Cognito { url }
    | edge_auth_core::config::LogoutSettings::Oidc { url } = &provider.logout
    {
        endpoints.push(url);
    }
    if endpoints
        .iter()
        .any(|e| location.starts_with(&format!("{e}?")))
    {
        return true;
    }
    let base = url::Url::parse(&format!("https://{SITE_HOST}/a/b")).unwrap();
    // Only a path may send the browser back to us (the signed-out page is
    // absolute but built from our own base URL).
    match base.join(location) {
        Ok(target) => target.host_str() == Some(SITE_HOST) && target.scheme() == "https",
        Err(_) => false,
    }
}

/// Checks an answer: a sane status, a body within `limit`, an allowed
/// Location, and none of `secrets` echoed anywhere.
pub fn check(output: &HandlerOutput, limit: usize, secrets: &[&str]) {
    let HandlerOutput::Respond(response) = output else {
        return;
    };
    let status: u16 = response.status.parse().expect("status is a number");
    assert!((100..=599).contains(&status), "status {status}");
    let body = response.body.as_deref().unwrap_or("");
    assert!(
        body.len() <= limit,
        "body of {} bytes over {limit}",
        body.len()
    );
    if let Some(location) = response.headers.first("location") {
        assert!(
            location_allowed(location),
            "redirect off-site: {location:?}"
        );
    }
    // Every generated answer carries its own security headers, once each.
    for (name, value) in edge_auth_core::pages::SECURITY_HEADERS {
        let values: Vec<&str> = response.headers.values(name).collect();
        assert_eq!(values, vec![*value], "{name}");
    }
    if body.starts_with("<!doctype html>") {
        for (name, _) in edge_auth_core::pages::HTML_SECURITY_HEADERS {
            assert!(
                response.headers.first(name).is_some(),
                "HTML page without {name}"
            );
        }
    }
    // A link on a page of ours is held to the rule a redirect is: the
    // flow cookie's return path, which an attacker can plant, becomes one.
    for link in body.split(r#"href=""#).skip(1) {
        let href = link.split('"').next().unwrap_or("").replace("&amp;", "&");
        assert!(location_allowed(&href), "link off-site: {href:?}");
    }
    for secret in secrets.iter().filter(|s| s.len() >= 16) {
        assert!(!body.contains(secret), "body echoes a secret");
        for value in response.headers.0.values().flatten() {
            assert!(!value.value.contains(secret), "a header echoes a secret");
        }
    }
}

/// The test configuration with a trust policy for workload tokens of the
/// test provider's issuer and key set (`tokens.trust`).
pub fn exchange_config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let mut v = kit::config_value("https://auth.example.com");
        v["tokens"] = serde_json::json!({"max_lifetime_seconds": 86_400, "trust": [{
            "name": "ci",
            "issuer": kit::ISSUER,
            "audience": "https://docs.example.com",
            "claims": {"sub": "repo:example/docs:ref:refs/heads/*"},
            "groups": ["admins"]
        }]});
        kit::config_from(v)
    })
}

/// The one workload token `exchange_config` admits at `kit::NOW`.
pub fn valid_workload_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        kit::TokenBuilder::new(serde_json::json!({
            "iss": kit::ISSUER,
            "aud": "https://docs.example.com",
            "sub": "repo:example/docs:ref:refs/heads/main",
            "repository": "example/docs",
            "iat": kit::NOW - 10,
            "nbf": kit::NOW - 10,
            "exp": kit::NOW + 300,
        }))
        .sign()
    })
}

/// The test configuration with shared links and their page
/// (`shares`), a rule for `/reports/*`.
pub fn share_config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let mut v = kit::config_value("https://auth.example.com");
        v["rules"] = serde_json::json!([{"pattern": "/reports/*", "groups": ["readers"]}]);
        v["shares"] = serde_json::json!({"max_lifetime_seconds": 7 * 86_400, "page": true});
        kit::config_from(v)
    })
}
