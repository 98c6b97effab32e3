//! Service tokens (`tokens` in config.json): a machine sends the
//! deployment's token in `Authorization: Bearer`, decided by the rules as
//! a session is, refused with RFC 6750's JSON answers, never sent to sign
//! in; never taken from a cookie, nor a session taken as one.

use edge_auth_core::authorize::authorize;
use edge_auth_core::session::SessionClaims;
use edge_auth_core::{Config, HandlerOutput, Outcome};
use edge_auth_testkit::{self as kit, CountingEntropy, NOW};
use serde_json::{Value, json};

fn config(tokens: bool) -> Config {
    let mut v = kit::config_value("https://auth.example.com");
    v["rules"] = json!([
        {"pattern": "/admin/*", "groups": ["admins"]},
        {"pattern": "/ops/*", "groups": ["admins"], "mfa": true},
    ]);
    if tokens {
        v["tokens"] = json!({"max_lifetime_seconds": 7 * 86_400});
    }
    let mut config = kit::config_from(v);
    config.sessions.revoke("token:revoked-1", NOW - 10);
    config
}

fn token(claims: &SessionClaims) -> String {
    kit::signer().sign_service(claims)
}

fn claims(sub: &str, groups: &[&str]) -> SessionClaims {
    SessionClaims {
        sub: sub.into(),
        name: "ci-linkcheck".into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        sid: "tok".into(),
        iat: NOW - 60,
        exp: NOW + 3600,
        ..kit::session_claims()
    }
}

fn request(
    config: &Config,
    uri: &str,
    authorization: Option<&str>,
    cookie: Option<&str>,
) -> Outcome {
    let cookies: Vec<String> = cookie
        .map(|c| vec![format!("__Host-edge-auth-session={c}")])
        .unwrap_or_default();
    let (mut request, dist) = kit::viewer_request(uri, "", &cookies);
    // A navigation, as curl's is not: a token request is never sent to
    // sign in either way.
    request.headers.set("Sec-Fetch-Mode", "navigate".to_owned());
    request.headers.set("Accept", "text/html".to_owned());
    if let Some(value) = authorization {
        request.headers.set("Authorization", value.to_owned());
    }
    authorize(request, &dist, config, NOW, &mut CountingEntropy(1))
}

fn json_body(outcome: &Outcome) -> (String, Value, String) {
    let HandlerOutput::Respond(r) = &outcome.output else {
        panic!("forwarded, {}", outcome.event)
    };
    (
        r.status.clone(),
        serde_json::from_str(r.body.as_deref().unwrap_or("null")).unwrap(),
        r.headers
            .first("www-authenticate")
            .unwrap_or_default()
            .to_owned(),
    )
}

#[test]
fn a_token_opens_what_its_groups_open() {
    let config = config(true);
    let admin = token(&claims("token:ci-1", &["admins"]));
    let out = request(
        &config,
        "/admin/report.html",
        Some(&format!("Bearer {admin}")),
        None,
    );
    assert!(
        matches!(out.output, HandlerOutput::Forward(_)),
        "{}",
        out.event
    );
    assert_eq!(out.event, "allowed-by-rule");
    // The scheme in any case (RFC 7235).
    let out = request(&config, "/admin/", Some(&format!("bEaReR {admin}")), None);
    assert!(matches!(out.output, HandlerOutput::Forward(_)));
}

#[test]
fn refused_tokens_get_rfc_6750_answers_never_a_sign_in() {
    let config = config(true);
    let reader = token(&claims("token:ci-2", &["readers"]));
    let out = request(&config, "/admin/", Some(&format!("Bearer {reader}")), None);
    let (status, body, challenge) = json_body(&out);
    assert_eq!((status.as_str(), out.event), ("403", "token-forbidden"));
    assert_eq!(body, json!({"error": "insufficient_scope"}));
    assert_eq!(challenge, r#"Bearer error="insufficient_scope""#);
    assert_eq!(out.detail.as_deref(), Some("rule /admin/*"));
    // A rule's second factor: a token has no sign-in to step up from.
    let admin = token(&claims("token:ci-1", &["admins"]));
    let out = request(&config, "/ops/x", Some(&format!("Bearer {admin}")), None);
    assert_eq!(
        (json_body(&out).0.as_str(), out.event),
        ("403", "token-forbidden")
    );

    let mut expired = claims("token:ci-1", &["admins"]);
    expired.exp = NOW;
    let too_long = SessionClaims {
        exp: NOW - 60 + 7 * 86_400 + 1,
        ..claims("token:ci-1", &["admins"])
    };
    for (value, detail) in [
        (format!("Bearer {}", token(&expired)), "expired"),
        (format!("Bearer {}", token(&too_long)), "invalid"),
        (
            format!("Bearer {}", token(&claims("token:revoked-1", &["admins"]))),
            "invalid",
        ),
        // A session is not a token.
        (format!("Bearer {}", kit::session()), "invalid"),
        ("Bearer ".to_owned(), "invalid"),
        ("Bearer x.y.z".to_owned(), "invalid"),
    ] {
        let out = request(&config, "/docs/", Some(&value), None);
        let (status, body, challenge) = json_body(&out);
        assert_eq!(
            (status.as_str(), out.event),
            ("401", "token-refused"),
            "{value}"
        );
        assert_eq!(body, json!({"error": "invalid_token"}));
        assert_eq!(challenge, r#"Bearer error="invalid_token""#);
        assert_eq!(out.detail.as_deref(), Some(detail), "{value}");
    }
    // A bearer request is decided by its token alone: a valid session
    // cookie beside a refused token does not open the page.
    let out = request(&config, "/docs/", Some("Bearer x"), Some(&kit::session()));
    assert_eq!(json_body(&out).0, "401");
}

#[test]
fn a_token_is_never_a_session_and_without_tokens_the_header_is_not_read() {
    let config = config(true);
    let admin = token(&claims("token:ci-1", &["admins"]));
    // As a cookie: not a session, so a sign-in as for no session.
    let out = request(&config, "/admin/", None, Some(&admin));
    assert_eq!(out.event, "signin-started");
    // Basic is not Bearer: the cookies decide.
    let out = request(&config, "/docs/", Some("Basic YTpi"), Some(&kit::session()));
    assert!(matches!(out.output, HandlerOutput::Forward(_)));
    // Tokens off: the header is nobody's business, the page signs in.
    let off = config_without_tokens();
    let out = request(&off, "/admin/", Some(&format!("Bearer {admin}")), None);
    assert_eq!(out.event, "signin-started");
}

fn config_without_tokens() -> Config {
    config(false)
}

/// `tokens.trust`: the settings a token exchange is refused without.
#[test]
fn trust_policies_that_would_admit_strangers_are_refused() {
    let with = |policy: serde_json::Value| {
        let mut v = kit::config_value("https://provider.example");
        v["tokens"] = json!({"max_lifetime_seconds": 7200, "trust": [policy]});
        Config::from_json(&v.to_string())
    };
    let good = json!({
        "name": "docs-links",
        "issuer": "https://token.actions.githubusercontent.com",
        "audience": "https://docs.example.com",
        "claims": {"sub": "repo:example/docs:ref:refs/heads/main"},
        "groups": ["readers"]
    });
    let config = with(good.clone()).expect("a pinned GitHub policy is valid");
    let policy = &config.file.tokens.as_ref().unwrap().trust[0];
    assert_eq!(policy.ttl_seconds, edge_auth_core::exchange::DEFAULT_TTL);
    assert_eq!(config.paths().token, "/_edge-auth/token");

    let refused = |change: &dyn Fn(&mut serde_json::Value), field: &str, words: &str| {
        let mut policy = good.clone();
        change(&mut policy);
        let err = with(policy).expect_err(field).to_string();
        assert!(err.contains(field) && err.contains(words), "{field}: {err}");
    };
    // GitHub's issuer signs for every repository: the owner must be fixed.
    refused(
        &|p| p["claims"] = json!({"sub": "repo:*/docs:*"}),
        "tokens.trust[0].claims",
        "pin the owner",
    );
    refused(
        &|p| p["claims"] = json!({"sub": "repo:example*"}),
        "tokens.trust[0].claims",
        "pin the owner",
    );
    refused(
        &|p| p["claims"] = json!({"sub": "*:ref:refs/heads/main"}),
        "tokens.trust[0].claims.sub",
        "starts with `*`",
    );
    refused(
        &|p| p["claims"] = json!({"repository": "example/docs"}),
        "tokens.trust[0].claims",
        "must pin `sub`",
    );
    refused(
        &|p| p["audience"] = json!(""),
        "tokens.trust[0].audience",
        "aud",
    );
    refused(
        &|p| p["groups"] = json!([]),
        "tokens.trust[0].groups",
        "at least one",
    );
    refused(
        &|p| p["ttl_seconds"] = json!(7201),
        "tokens.trust[0].ttl_seconds",
        "60 to 3600",
    );
    refused(
        &|p| p["ttl_seconds"] = json!(10),
        "tokens.trust[0].ttl_seconds",
        "60 to 3600",
    );
    refused(
        &|p| p["name"] = json!("has space"),
        "tokens.trust[0].name",
        "letters",
    );
    refused(
        &|p| p["issuer"] = json!("http://issuer.example"),
        "tokens.trust[0].issuer",
        "https",
    );
    refused(
        &|p| p["algorithms"] = json!(["HS256"]),
        "tokens.trust[0].algorithms",
        "HS256",
    );
    refused(&|p| p["extra"] = json!(1), "tokens", "unknown field");
    // An exact owner claim pins it as well as `sub` does.
    let mut pinned = good.clone();
    pinned["claims"] = json!({"sub": "repo:*:environment:production", "repository_owner_id": "65"});
    with(pinned).expect("an exact repository_owner_id pins the owner");
    // Two policies of one name.
    let mut v = kit::config_value("https://provider.example");
    v["tokens"] = json!({"max_lifetime_seconds": 7200, "trust": [good.clone(), good]});
    let err = Config::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(err.contains("names two policies"), "{err}");
}
