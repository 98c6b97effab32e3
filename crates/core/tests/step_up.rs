//! Step-up per rule: a recent sign-in (`max_auth_age_seconds`) and a second
//! factor (`mfa`), from the per-request check through the provider's
//! `prompt`/`max_age` to the callback's reading of `auth_time` and `amr`.

use edge_auth_core::authorize::authorize;
use edge_auth_core::flow::FlowCookie;
use edge_auth_core::provider::ProviderOutcome;
use edge_auth_core::query::parse_query;
use edge_auth_core::session::SessionClaims;
use edge_auth_core::signin::{signin_begin, signin_complete};
use edge_auth_core::{Config, HandlerOutput, Outcome, Step};
use edge_auth_testkit::{self as kit, CountingEntropy, NOW, set_cookies};
use serde_json::json;

/// `/admin/*`: admins, signed in at the provider within 15 minutes;
/// `/vault/*`: admins, with a second factor; `/docs/*`: anyone.
fn config_with(mfa_always: bool) -> Config {
    let mut value = kit::config_value("https://auth.example.com");
    value["rules"] = json!([
        {"pattern": "/admin/*", "groups": ["admins"], "max_auth_age_seconds": 900},
        {"pattern": "/vault/*", "groups": ["admins"], "mfa": true},
    ]);
    value["provider"]["mfa_always"] = json!(mfa_always);
    kit::config_from(value)
}

fn session(idp_auth_time: Option<u64>, mfa: Option<bool>) -> String {
    let claims = SessionClaims {
        groups: vec!["admins".into()],
        idp_auth_time,
        mfa,
        ..kit::session_claims()
    };
    format!("__Host-edge-auth-session={}", kit::signer().sign(&claims))
}

fn visit(config: &Config, uri: &str, cookie: &str, accept: &str) -> Outcome {
    let (mut request, dist) = kit::viewer_request(uri, "", &[cookie.to_owned()]);
    request.headers.set("Accept", accept);
    authorize(request, &dist, config, NOW, &mut CountingEntropy(1))
}

fn location(outcome: &Outcome) -> String {
    match &outcome.output {
        HandlerOutput::Respond(r) => r.headers.first("location").unwrap_or_default().to_owned(),
        HandlerOutput::Forward(r) => panic!("forwarded to {}", r.uri),
    }
}

fn query(url: &str) -> Vec<(String, String)> {
    parse_query(url.split_once('?').map_or("", |(_, q)| q)).unwrap()
}

fn param(url: &str, name: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

#[test]
fn a_stale_sign_in_on_a_recent_only_path_signs_in_again_with_prompt_and_max_age() {
    let config = config_with(false);
    // Recent enough: through, at the bound and a second inside it.
    for at in [NOW - 100, NOW - 900] {
        let out = visit(&config, "/admin/", &session(Some(at), None), "text/html");
        assert!(
            matches!(out.output, HandlerOutput::Forward(_)),
            "{at}: {}",
            out.event
        );
    }
    // Too old, or no time at all: a sign-in that asks the provider for a
    // fresh authentication no older than the rule allows.
    for at in [Some(NOW - 901), None] {
        let out = visit(&config, "/admin/", &session(at, None), "text/html");
        assert_eq!(out.event, "step-up");
        assert_eq!(out.detail.as_deref(), Some("rule /admin/*"));
        let url = location(&out);
        assert!(
            url.starts_with("https://auth.example.com/oauth2/authorize?"),
            "{url}"
        );
        assert_eq!(param(&url, "prompt").as_deref(), Some("login"));
        assert_eq!(param(&url, "max_age").as_deref(), Some("900"));
        assert!(out.session.is_some(), "the decision line names the session");
    }
    // A script is told, not redirected.
    let out = visit(
        &config,
        "/admin/data.json",
        &session(None, None),
        "application/json",
    );
    assert_eq!(out.event, "script-unauthenticated");
    assert_eq!(out.detail.as_deref(), Some("step_up_required"));
    // A page of no step-up rule starts no step-up, even for the same session.
    let out = visit(&config, "/docs/", &session(None, None), "text/html");
    assert!(matches!(out.output, HandlerOutput::Forward(_)));
    // A user outside the rule's groups is refused, not sent to sign in.
    let outsider = {
        let claims = SessionClaims {
            idp_auth_time: None,
            ..kit::session_claims()
        };
        format!("__Host-edge-auth-session={}", kit::signer().sign(&claims))
    };
    assert_eq!(
        visit(&config, "/admin/", &outsider, "text/html").event,
        "forbidden"
    );
}

#[test]
fn a_second_factor_path_needs_a_session_that_had_one() {
    let config = config_with(false);
    let out = visit(
        &config,
        "/vault/",
        &session(Some(NOW), Some(true)),
        "text/html",
    );
    assert!(matches!(out.output, HandlerOutput::Forward(_)));
    for mfa in [None, Some(false)] {
        let out = visit(&config, "/vault/", &session(Some(NOW), mfa), "text/html");
        assert_eq!(out.event, "step-up");
        let url = location(&out);
        assert_eq!(param(&url, "prompt").as_deref(), Some("login"));
        assert_eq!(param(&url, "max_age"), None, "no age asked");
    }
}

/// A sign-in returning to `return_to`, completed with an ID token with
/// `claims` changed: the outcome and the session it set.
fn sign_in(
    config: &Config,
    return_to: &str,
    change: impl FnOnce(kit::TokenBuilder) -> kit::TokenBuilder,
) -> (Outcome, Option<SessionClaims>) {
    let (request, dist) = kit::viewer_request(return_to, "", &[]);
    let out = authorize(request, &dist, config, NOW, &mut CountingEntropy(1));
    let state = param(&location(&out), "state").unwrap();
    let HandlerOutput::Respond(started) = &out.output else {
        panic!()
    };
    let (name, value) = set_cookies(started).remove(0);
    let flow = FlowCookie::decode(&value).unwrap();
    let (request, dist) = kit::viewer_request(
        "/_edge-auth/callback",
        &format!("code=c&state={state}"),
        &[format!("{name}={value}")],
    );
    let Step::Call { pending, .. } = signin_begin(&request, &dist, config, NOW + 5) else {
        panic!("expected a call")
    };
    let token = change(
        kit::id_token()
            .claim("nonce", flow.nonce.clone())
            .claim("cognito:groups", json!(["admins"])),
    );
    let body = json!({"id_token": token.sign(), "token_type": "Bearer"});
    let out = signin_complete(
        pending,
        config,
        kit::keys(config),
        NOW + 6,
        &mut CountingEntropy(0),
        &ProviderOutcome::Answered {
            status: 200,
            body: body.to_string().into_bytes(),
        },
    );
    let HandlerOutput::Respond(done) = &out.output else {
        panic!()
    };
    let claims = set_cookies(done)
        .into_iter()
        .find(|(n, _)| n == "__Host-edge-auth-session")
        .map(|(_, v)| config.sessions.verify(&v, NOW + 6).unwrap());
    (out, claims)
}

#[test]
fn the_callback_holds_the_id_token_to_what_the_page_asked() {
    let config = config_with(false);
    // A fresh authentication: back to the page, the time in the session.
    let (out, claims) = sign_in(&config, "/admin/", |t| t.claim("auth_time", NOW));
    assert_eq!(out.event, "signed-in");
    assert_eq!(claims.unwrap().idp_auth_time, Some(NOW));
    // The provider ignored max_age (an old auth_time, or none): signed in
    // for the rest of the site, but a page that says why, not a loop.
    for change in [
        (|t: kit::TokenBuilder| t.claim("auth_time", NOW - 3600))
            as fn(kit::TokenBuilder) -> kit::TokenBuilder,
        |t| t.without("auth_time"),
    ] {
        let (out, claims) = sign_in(&config, "/admin/", change);
        assert_eq!(out.event, "step-up-unmet");
        let HandlerOutput::Respond(page) = &out.output else {
            panic!()
        };
        assert_eq!(page.status, "403");
        let body = page.body.as_deref().unwrap_or_default();
        assert!(body.contains("within the last 15 minutes"), "{body}");
        assert!(claims.is_some(), "the session is set");
    }
    // amr: a second factor by `mfa`, or by two methods; `pwd` alone or
    // `pwd` + `kba` (both known) is none.
    for (amr, second) in [
        (json!(["pwd", "otp"]), true),
        (json!(["mfa"]), true),
        (json!(["hwk", "pin"]), true),
        (json!(["pwd"]), false),
        (json!(["pwd", "kba"]), false),
        (json!([]), false),
    ] {
        let (out, claims) = sign_in(&config, "/vault/", |t| t.claim("amr", amr.clone()));
        assert_eq!(out.event == "signed-in", second, "{amr}: {}", out.event);
        assert_eq!(claims.unwrap().mfa, second.then_some(true), "{amr}");
    }
    let (out, _) = sign_in(&config, "/vault/", |t| t.without("amr"));
    let HandlerOutput::Respond(page) = &out.output else {
        panic!()
    };
    assert!(
        page.body
            .as_deref()
            .unwrap_or_default()
            .contains("second factor")
    );
    // A malformed amr or auth_time is a refused token, not "no factor".
    for (name, bad) in [
        ("amr", json!("pwd otp")),
        ("amr", json!([1])),
        ("auth_time", json!("1799999999")),
    ] {
        let (out, claims) = sign_in(&config, "/docs/", |t| t.claim(name, bad.clone()));
        assert_eq!(out.event, "id-token-refused", "{name}: {bad}");
        assert!(claims.is_none());
    }
}

#[test]
fn a_pool_that_requires_mfa_meets_every_second_factor_rule() {
    // Cognito's ID tokens carry no amr: with the pool's MFA required the
    // deployment says so (provider.mfa_always), and every sign-in counts.
    let (out, claims) = sign_in(&config_with(true), "/vault/", |t| t.without("amr"));
    assert_eq!(out.event, "signed-in");
    assert_eq!(claims.unwrap().mfa, Some(true));
    let (out, _) = sign_in(&config_with(false), "/vault/", |t| t.without("amr"));
    assert_eq!(out.event, "step-up-unmet");
}

#[test]
fn a_provider_clock_ahead_of_ours_does_not_lengthen_the_window() {
    let config = config_with(false);
    let (_, claims) = sign_in(&config, "/admin/", |t| t.claim("auth_time", NOW + 600));
    assert_eq!(
        claims.unwrap().idp_auth_time,
        Some(NOW + 6),
        "never later than the sign-in"
    );
}

#[test]
fn rules_refuse_a_step_up_out_of_range() {
    for age in [json!(0), json!(86_401), json!(-1), json!("900")] {
        let mut value = kit::config_value("https://auth.example.com");
        value["rules"] =
            json!([{"pattern": "/admin/*", "groups": ["admins"], "max_auth_age_seconds": age}]);
        let error = Config::from_json(&value.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("rules[0].max_auth_age_seconds"),
            "{age}: {error}"
        );
    }
}
