//! Each handler's behaviour, driven through the core with real-shaped events.

use edge_auth_core::authorize::authorize;
use edge_auth_core::flow::{FlowCookie, pkce_challenge};
use edge_auth_core::index_path::index_path;
use edge_auth_core::provider::{CallPurpose, ClientCredentials, ProviderOutcome};
use edge_auth_core::query::parse_query;
use edge_auth_core::refresh::{refresh_begin, refresh_complete};
use edge_auth_core::session::SessionClaims;
use edge_auth_core::signin::{signin_begin, signin_complete};
use edge_auth_core::signout::{signout_begin, signout_complete};
use edge_auth_core::{CloudFrontResponse, HandlerOutput, Outcome, Step};
use edge_auth_testkit::{self as kit, CountingEntropy, NOW, cleared_cookies, set_cookies};

fn response(outcome: &Outcome) -> &CloudFrontResponse {
    match &outcome.output {
        HandlerOutput::Respond(r) => r,
        HandlerOutput::Forward(r) => {
            panic!("expected a response, got a forwarded request to {}", r.uri)
        }
    }
}

fn location(outcome: &Outcome) -> String {
    response(outcome)
        .headers
        .first("location")
        .expect("a Location header")
        .to_owned()
}

/// A sign-out from one of the site's own pages (the only kind that acts
/// without a confirmation).
fn signout_request(
    query: &str,
    cookies: &[String],
) -> (
    edge_auth_core::event::CloudFrontRequest,
    edge_auth_core::event::DistributionConfig,
) {
    let (mut request, dist) = kit::viewer_request("/_edge-auth/signout", query, cookies);
    request.headers.set("Sec-Fetch-Site", "same-origin");
    (request, dist)
}

fn session_cookie(token: &str) -> String {
    format!("__Host-edge-auth-session={token}")
}

fn session_with(change: impl FnOnce(&mut SessionClaims)) -> String {
    let mut claims = kit::session_claims();
    change(&mut claims);
    kit::signer().sign(&claims)
}

/// Where the sign-in flow the response starts returns to (its flow cookie).
fn flow_return_to(response: &CloudFrontResponse) -> String {
    let flow = set_cookies(response)
        .into_iter()
        .find(|(n, _)| n.starts_with("__Host-edge-auth-flow-"))
        .expect("a flow cookie");
    FlowCookie::decode(&flow.1).unwrap().return_to
}

fn query_of(url: &str) -> Vec<(String, String)> {
    parse_query(url.split_once('?').map_or("", |(_, q)| q)).unwrap()
}

fn param(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[test]
fn valid_token_passes_request_unchanged() {
    let config = kit::config();
    let (request, dist) = kit::viewer_request("/docs/", "a=1", &[session_cookie(&kit::session())]);
    let out = authorize(
        request.clone(),
        &dist,
        &config,
        NOW,
        &mut CountingEntropy(0),
    );
    assert_eq!(out.output, HandlerOutput::Forward(request));
    assert_eq!(out.event, "allowed");
}

#[test]
fn no_token_starts_a_signin_with_pkce_state_nonce_and_return_path() {
    let config = kit::config();
    let (request, dist) = kit::viewer_request("/docs/guide.html", "q=rust&page=2", &[]);
    let out = authorize(request, &dist, &config, NOW, &mut CountingEntropy(7));
    let r = response(&out);
    assert_eq!(r.status, "302");
    assert_eq!(r.headers.first("cache-control"), Some("no-store"));
    let loc = location(&out);
    assert!(
        loc.starts_with("https://auth.example.com/oauth2/authorize?"),
        "{loc}"
    );
    let q = query_of(&loc);
    assert_eq!(param(&q, "response_type"), "code");
    assert_eq!(param(&q, "client_id"), kit::CLIENT_ID);
    assert_eq!(
        param(&q, "redirect_uri"),
        "https://d111111abcdef8.cloudfront.net/_edge-auth/callback"
    );
    assert_eq!(param(&q, "scope"), "openid email profile");
    assert_eq!(param(&q, "code_challenge_method"), "S256");
    let state = param(&q, "state");
    let cookies = set_cookies(r);
    assert_eq!(cookies.len(), 1);
    let (name, value) = &cookies[0];
    assert_eq!(name, &format!("__Host-edge-auth-flow-{state}"));
    let flow = FlowCookie::decode(value).unwrap();
    assert_eq!(flow.return_to, "/docs/guide.html?q=rust&page=2");
    assert_eq!(param(&q, "code_challenge"), pkce_challenge(&flow.verifier));
    assert_eq!(param(&q, "nonce"), flow.nonce);
    assert_ne!(flow.nonce, state);
    let raw = r.headers.values("set-cookie").next().unwrap();
    assert!(
        raw.contains("Max-Age=600")
            && raw.contains("HttpOnly")
            && raw.contains("Secure")
            && raw.contains("Path=/")
    );
}

#[test]
fn parallel_signins_are_bounded() {
    let config = kit::config();
    let flows: Vec<String> = (0..6u64)
        .map(|i| {
            let f = FlowCookie {
                issued_at: NOW - 100 + i,
                verifier: "v".repeat(43),
                nonce: "n".repeat(43),
                return_to: "/".into(),
                forced: false,
                site: None,
                branch: None,
            };
            format!("__Host-edge-auth-flow-{}{i}={}", "s".repeat(42), f.encode())
        })
        .collect();
    let (request, dist) = kit::viewer_request("/", "", &flows);
    let out = authorize(request, &dist, &config, NOW, &mut CountingEntropy(0));
    let cleared = cleared_cookies(response(&out));
    // 6 running + 1 new, 5 allowed: the two oldest go.
    assert_eq!(
        cleared,
        vec![
            format!("__Host-edge-auth-flow-{}0", "s".repeat(42)),
            format!("__Host-edge-auth-flow-{}1", "s".repeat(42))
        ]
    );
}

#[test]
fn scripts_get_401_json_and_no_flow() {
    let config = kit::config();
    for (header, value) in [("Sec-Fetch-Mode", "cors"), ("Accept", "application/json")] {
        let (mut request, dist) = kit::viewer_request("/api/data.json", "", &[]);
        request.headers.set(header, value);
        let out = authorize(request, &dist, &config, NOW, &mut CountingEntropy(0));
        let r = response(&out);
        assert_eq!(r.status, "401");
        assert_eq!(r.headers.first("content-type"), Some("application/json"));
        assert!(set_cookies(r).is_empty(), "no flow cookie for scripts");
        assert!(r.body.as_deref().unwrap().contains("unauthenticated"));
    }
    let (mut post, dist) = kit::viewer_request("/", "", &[]);
    post.method = "POST".into();
    assert_eq!(
        authorize(post, &dist, &config, NOW, &mut CountingEntropy(0)).status(),
        Some("401")
    );
}

#[test]
fn expired_token_goes_to_refresh_with_return_path() {
    let config = kit::config();
    let token = session_with(|c| c.exp = NOW);
    let (request, dist) =
        kit::viewer_request("/docs/a b.html", "x=1&y=%2F", &[session_cookie(&token)]);
    let out = authorize(request, &dist, &config, NOW, &mut CountingEntropy(0));
    assert_eq!(out.event, "refresh-redirect");
    let loc = location(&out);
    assert!(loc.starts_with("/_edge-auth/refresh?return="));
    assert_eq!(param(&query_of(&loc), "return"), "/docs/a b.html?x=1&y=%2F");
    // We set its expiry ourselves: no leeway, valid until the second it names.
    let fresh = session_with(|c| c.exp = NOW + 1);
    let (request, dist) = kit::viewer_request("/", "", &[session_cookie(&fresh)]);
    assert_eq!(
        authorize(request, &dist, &config, NOW, &mut CountingEntropy(0)).event,
        "allowed"
    );
}

#[test]
fn group_rules_decide_by_first_match() {
    let config = kit::config();
    let reader = kit::session();
    let admin = session_with(|c| c.groups = vec!["admins".into()]);
    for (uri, token, expected) in [
        ("/admin/", &reader, Some("403")),
        ("/admin/x/y.html", &reader, Some("403")),
        ("/%61dmin/secret.html", &reader, Some("403")),
        ("//admin/secret.html", &reader, Some("403")),
        ("/admin/", &admin, None),
        ("/administrator", &reader, None),
    ] {
        let (request, dist) = kit::viewer_request(uri, "", &[session_cookie(token)]);
        let out = authorize(request, &dist, &config, NOW, &mut CountingEntropy(0));
        assert_eq!(out.status(), expected, "{uri}");
        if expected == Some("403") {
            let body = response(&out).body.clone().unwrap();
            assert!(body.contains("alice") && body.contains("admins"), "{body}");
        }
    }
}

#[test]
fn public_paths_pass_without_a_session_and_the_auth_prefix_never_reaches_the_origin() {
    let config = kit::config();
    for (uri, expected) in [
        ("/signed-out.html", None),
        ("/favicon.ico", None),
        // The auth endpoints have their own behaviours: here, they are 404.
        ("/_edge-auth/refresh", Some("404")),
        ("/_edge-auth/", Some("404")),
        ("/_edge-auth", Some("302")),
    ] {
        let (request, dist) = kit::viewer_request(uri, "", &[]);
        assert_eq!(
            authorize(request, &dist, &config, NOW, &mut CountingEntropy(0)).status(),
            expected,
            "{uri}"
        );
    }
}

#[test]
fn index_path_rewrites_directories_and_redirects_bare_names() {
    let payload = kit::payload(kit::ORIGIN_REQUEST_S3);
    let out = index_path(payload.request.clone());
    match out.output {
        HandlerOutput::Forward(r) => {
            assert_eq!(r.uri, "/docs/index.html");
            assert_eq!(r.other, payload.request.other, "origin settings untouched");
        }
        other => panic!("{other:?}"),
    }
    let mut bare = payload.request.clone();
    bare.uri = "/docs".into();
    bare.querystring = "v=2".into();
    let out = index_path(bare);
    assert_eq!(out.status(), Some("301"));
    assert_eq!(location(&out), "/docs/?v=2");
    for file in ["/docs/app.js", "/a.b/c.css"] {
        let mut r = payload.request.clone();
        r.uri = file.into();
        assert_eq!(index_path(r.clone()).output, HandlerOutput::Forward(r));
    }
    let mut evil = payload.request.clone();
    evil.uri = "//evil.example".into();
    assert_eq!(
        index_path(evil).status(),
        None,
        "never a redirect to another host"
    );
}

/// Runs authorize on `/deep?x=1`, returning the state and flow cookie.
fn begin_flow(config: &edge_auth_core::Config) -> (String, String, FlowCookie) {
    let (request, dist) = kit::viewer_request("/deep/page.html", "x=1", &[]);
    let out = authorize(request, &dist, config, NOW, &mut CountingEntropy(1));
    let state = param(&query_of(&location(&out)), "state");
    let (name, value) = set_cookies(response(&out)).remove(0);
    (
        state,
        format!("{name}={value}"),
        FlowCookie::decode(&value).unwrap(),
    )
}

#[test]
fn signin_exchanges_code_and_returns_to_the_deep_link() {
    let config = kit::config();
    let (state, flow_cookie, flow) = begin_flow(&config);
    let (request, dist) = kit::viewer_request(
        "/_edge-auth/callback",
        &format!("code=the-code&state={state}"),
        &[flow_cookie],
    );
    let Step::Call { call, pending } = signin_begin(&request, &dist, &config, NOW + 5) else {
        panic!("expected a call")
    };
    assert_eq!(call.purpose, CallPurpose::ExchangeCode);
    assert_eq!(call.endpoint, "https://auth.example.com/oauth2/token");
    let http = call.to_http(
        config.provider().client_auth,
        &ClientCredentials {
            client_id: kit::CLIENT_ID.into(),
            client_secret: Some("s3cret".into()),
        },
    );
    let form = parse_query(&http.body).unwrap();
    assert_eq!(param(&form, "grant_type"), "authorization_code");
    assert_eq!(param(&form, "code"), "the-code");
    assert_eq!(param(&form, "code_verifier"), flow.verifier);
    assert_eq!(
        param(&form, "redirect_uri"),
        "https://d111111abcdef8.cloudfront.net/_edge-auth/callback"
    );

    let id = kit::id_token().claim("nonce", flow.nonce.clone()).sign();
    let body = serde_json::json!({"id_token": id, "access_token": "at", "refresh_token": "rt.part.two", "expires_in": 3600, "token_type": "Bearer"});
    let out = signin_complete(
        pending,
        &config,
        kit::keys(&config),
        NOW + 6,
        &mut CountingEntropy(0),
        &ProviderOutcome::Answered {
            status: 200,
            body: body.to_string().into_bytes(),
        },
    );
    assert_eq!(out.event, "signed-in");
    assert_eq!(location(&out), "/deep/page.html?x=1");
    let r = response(&out);
    let set = set_cookies(r);
    let session = set
        .iter()
        .find(|(n, _)| n == "__Host-edge-auth-session")
        .map(|(_, v)| v.clone())
        .expect("a session cookie");
    assert_ne!(session, id, "the session is ours, not the provider's token");
    let claims = config.sessions.verify(&session, NOW + 6).unwrap();
    assert_eq!(claims.sub, "3b7a1f5e-0000-4000-8000-000000000001");
    assert_eq!(claims.name, "alice");
    assert!(claims.groups.is_empty(), "`readers` is named by no rule");
    assert_eq!((claims.iat, claims.exp), (NOW + 6, NOW + 3600));
    // The refresh token, bound to the session it came with.
    assert!(set.contains(&(
        "__Secure-edge-auth-refresh".into(),
        format!("{}.n.rt.part.two", claims.sid)
    )));
    assert_eq!(
        cleared_cookies(r),
        vec![format!("__Host-edge-auth-flow-{state}")]
    );
    let refresh_header = r
        .headers
        .values("set-cookie")
        .find(|c| c.starts_with("__Secure-edge-auth-refresh"))
        .unwrap();
    assert!(
        refresh_header.contains("Path=/_edge-auth/"),
        "refresh token only goes to the auth endpoints: {refresh_header}"
    );
}

#[test]
fn signin_rejects_a_token_with_another_nonce() {
    let config = kit::config();
    let (state, flow_cookie, _) = begin_flow(&config);
    let (request, dist) = kit::viewer_request(
        "/_edge-auth/callback",
        &format!("code=c&state={state}"),
        &[flow_cookie],
    );
    let Step::Call { pending, .. } = signin_begin(&request, &dist, &config, NOW) else {
        panic!()
    };
    let id = kit::id_token().claim("nonce", "x".repeat(43)).sign();
    let body = serde_json::json!({ "id_token": id })
        .to_string()
        .into_bytes();
    let out = signin_complete(
        pending,
        &config,
        kit::keys(&config),
        NOW,
        &mut CountingEntropy(0),
        &ProviderOutcome::Answered { status: 200, body },
    );
    assert_eq!(out.status(), Some("401"));
    assert_eq!(
        out.detail.as_deref(),
        Some("nonce does not match this sign-in")
    );
    assert!(
        set_cookies(response(&out)).is_empty(),
        "no session from a replayed token"
    );
}

#[test]
fn refresh_swaps_tokens_and_goes_back() {
    let config = kit::config();
    let (request, dist) = kit::viewer_request(
        "/_edge-auth/refresh",
        "return=%2Fdocs%2F%3Fa%3D1",
        &[
            kit::refresh_cookie("old.rt"),
            session_cookie(&kit::session()),
        ],
    );
    let Step::Call { call, pending } =
        refresh_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!()
    };
    assert_eq!(call.purpose, CallPurpose::RefreshTokens);
    assert_eq!(call.form[1], ("refresh_token", "old.rt".to_owned()));
    let id = kit::id_token().sign();
    let body = serde_json::json!({ "id_token": id, "access_token": "a" })
        .to_string()
        .into_bytes();
    let out = refresh_complete(
        pending,
        &config,
        kit::keys(&config),
        NOW,
        &mut CountingEntropy(0),
        &ProviderOutcome::Answered { status: 200, body },
    );
    assert_eq!(location(&out), "/docs/?a=1");
    let set = set_cookies(response(&out));
    assert_eq!(set.len(), 2, "{set:?}");
    assert_eq!(set[0].0, "__Host-edge-auth-session");
    let renewed = config.sessions.verify(&set[0].1, NOW).unwrap();
    assert_eq!(renewed.sub, "3b7a1f5e-0000-4000-8000-000000000001");
    // The same sign-in: the session id the refresh cookie is bound to stays.
    assert_eq!(renewed.sid, kit::session_claims().sid);
    assert_ne!(set[0].1, id);
    assert_eq!(
        set[1],
        ("__Host-edge-auth-user".to_owned(), "alice".to_owned())
    );
}

#[test]
fn refresh_without_cookie_or_with_revoked_token_starts_signin() {
    let config = kit::config();
    let (request, dist) = kit::viewer_request("/_edge-auth/refresh", "return=/x", &[]);
    let Step::Done(out) = refresh_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!()
    };
    assert!(location(&out).starts_with("https://auth.example.com/oauth2/authorize?"));
    assert!(cleared_cookies(response(&out)).contains(&"__Secure-edge-auth-refresh".to_owned()));

    let (request, dist) = kit::viewer_request(
        "/_edge-auth/refresh",
        "return=/x",
        &[kit::refresh_cookie("dead"), session_cookie(&kit::session())],
    );
    let Step::Call { pending, .. } =
        refresh_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!()
    };
    let out = refresh_complete(
        pending,
        &config,
        kit::keys(&config),
        NOW,
        &mut CountingEntropy(0),
        &ProviderOutcome::Answered {
            status: 400,
            body: br#"{"error":"invalid_grant"}"#.to_vec(),
        },
    );
    assert!(location(&out).starts_with("https://auth.example.com/oauth2/authorize?"));
    let r = response(&out);
    assert!(cleared_cookies(r).contains(&"__Secure-edge-auth-refresh".to_owned()));
    assert!(cleared_cookies(r).contains(&"__Host-edge-auth-session".to_owned()));
    assert_eq!(flow_return_to(r), "/x");
}

#[test]
fn refresh_never_loops_on_an_already_expired_new_token() {
    let config = kit::config();
    let (request, dist) = kit::viewer_request(
        "/_edge-auth/refresh",
        "return=/x",
        &[kit::refresh_cookie("rt"), session_cookie(&kit::session())],
    );
    let Step::Call { pending, .. } =
        refresh_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!()
    };
    let stale = kit::id_token().claim("exp", NOW - 3600).sign();
    let body = serde_json::json!({ "id_token": stale })
        .to_string()
        .into_bytes();
    let out = refresh_complete(
        pending,
        &config,
        kit::keys(&config),
        NOW,
        &mut CountingEntropy(0),
        &ProviderOutcome::Answered { status: 200, body },
    );
    assert_eq!(
        out.status(),
        Some("401"),
        "a page, not a redirect back into authorize"
    );
}

#[test]
fn signout_clears_everything_revokes_and_logs_out_at_the_provider() {
    let config = kit::config();
    let cookies = vec![
        session_cookie(&kit::session()),
        kit::refresh_cookie("rt.1"),
        format!("__Host-edge-auth-flow-{}=x", "a".repeat(43)),
        "unrelated=1".into(),
    ];
    let (request, dist) = signout_request("", &cookies);
    let Step::Call { call, pending } =
        signout_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!()
    };
    assert_eq!(call.purpose, CallPurpose::RevokeRefreshToken);
    assert_eq!(call.endpoint, "https://auth.example.com/oauth2/revoke");
    assert_eq!(call.form[0], ("token", "rt.1".to_owned()));
    let Step::Done(out) = signout_complete(pending, &config, &ProviderOutcome::TimedOut) else {
        panic!("one token, one call")
    };
    assert_eq!(out.detail.as_deref(), Some("revocation timed out"));
    let r = response(&out);
    let headers: Vec<&str> = r.headers.values("set-cookie").collect();
    assert_eq!(headers.len(), 4);
    assert!(
        headers
            .iter()
            .any(|h| h.starts_with("__Host-edge-auth-user=;") && h.contains("Path=/;"))
    );
    assert!(
        headers
            .iter()
            .any(|h| h.starts_with("__Host-edge-auth-session=;")
                && h.contains("Path=/;")
                && h.contains("Secure"))
    );
    assert!(
        headers
            .iter()
            .any(|h| h.starts_with("__Secure-edge-auth-refresh=;")
                && h.contains("Path=/_edge-auth/"))
    );
    assert!(
        headers
            .iter()
            .any(|h| h.starts_with("__Host-edge-auth-flow-"))
    );
    let loc = location(&out);
    assert!(loc.starts_with("https://auth.example.com/logout?"), "{loc}");
    let q = query_of(&loc);
    assert_eq!(param(&q, "client_id"), kit::CLIENT_ID);
    assert_eq!(
        param(&q, "logout_uri"),
        "https://d111111abcdef8.cloudfront.net/signed-out.html"
    );
}

#[test]
fn signout_without_refresh_token_still_signs_out() {
    let config = kit::config();
    let (request, dist) = signout_request("", &[]);
    let Step::Done(out) = signout_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!()
    };
    assert_eq!(
        cleared_cookies(response(&out)),
        [
            "__Host-edge-auth-session",
            "__Secure-edge-auth-refresh",
            "__Host-edge-auth-user"
        ]
    );
}

#[test]
fn oidc_logout_and_base_url_are_honoured() {
    let mut v = kit::config_value("https://op.example.com");
    v["provider"]["logout"] =
        serde_json::json!({"kind": "oidc", "url": "https://op.example.com/session/end"});
    v["site"] = serde_json::json!({"base_url": "https://docs.example.com"});
    let config = kit::config_from(v);
    let (request, dist) = signout_request("", &[]);
    let Step::Done(out) = signout_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!()
    };
    let q = query_of(&location(&out));
    assert_eq!(
        param(&q, "post_logout_redirect_uri"),
        "https://docs.example.com/signed-out.html"
    );
}

#[test]
fn signout_tells_the_browser_to_drop_its_cache() {
    let config = kit::config();
    let (request, dist) = signout_request("", &[]);
    let Step::Done(out) = signout_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!("no refresh token, no call")
    };
    assert_eq!(out.status(), Some("302"));
    assert_eq!(
        response(&out).headers.first("clear-site-data"),
        Some("\"cache\"")
    );
}

/// "Sign in as someone else": the 403 page's link signs out here, revokes,
/// and starts a sign-in at the provider's form that returns to the page.
#[test]
fn signing_in_as_someone_else_returns_to_the_page() {
    let config = kit::config();
    let (request, dist) = kit::viewer_request(
        "/admin/report.html",
        "y=2",
        &[session_cookie(&kit::session())],
    );
    let denied = authorize(request, &dist, &config, NOW, &mut CountingEntropy(0));
    assert_eq!(denied.status(), Some("403"));
    let body = response(&denied).body.clone().unwrap();
    let href = "/_edge-auth/signout?return=%2Fadmin%2Freport.html%3Fy%3D2";
    assert!(body.contains(&format!(r#"href="{href}""#)), "{body}");
    // And, after it, a way back to the site's start page.
    let switch_at = body.find(href).unwrap();
    let home_at = body
        .find(r#"href="/">Go to the home page</a>"#)
        .expect("a home link");
    assert!(switch_at < home_at, "{body}");

    let (path, query) = href.split_once('?').unwrap();
    assert_eq!(path, "/_edge-auth/signout");
    let (request, dist) = signout_request(
        query,
        &[session_cookie(&kit::session()), kit::refresh_cookie("rt.1")],
    );
    let Step::Call { call, pending } =
        signout_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!("the refresh token is revoked first")
    };
    assert_eq!(call.purpose, CallPurpose::RevokeRefreshToken);
    let Step::Done(out) = signout_complete(
        pending,
        &config,
        &ProviderOutcome::Answered {
            status: 200,
            body: vec![],
        },
    ) else {
        panic!("one token, one call")
    };
    assert_eq!(out.event, "signed-out-switching-user");
    let location = location(&out);
    assert!(
        location.starts_with("https://auth.example.com/oauth2/authorize?"),
        "{location}"
    );
    assert_eq!(param(&query_of(&location), "prompt"), "login");
    let cleared = cleared_cookies(response(&out));
    assert!(cleared.contains(&"__Host-edge-auth-session".to_owned()));
    assert!(cleared.contains(&"__Secure-edge-auth-refresh".to_owned()));
    assert_eq!(flow_return_to(response(&out)), "/admin/report.html?y=2");
    // A planted return path is replaced, as everywhere else.
    let (request, dist) = signout_request("return=%2F%2Fevil.example", &[]);
    let Step::Done(out) = signout_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!()
    };
    assert_eq!(flow_return_to(response(&out)), "/");
}

/// A lost session cookie with the display-name cookie still there: refresh
/// first (it can see the refresh token), not the provider's form.
#[test]
fn a_lost_session_cookie_is_refreshed_silently() {
    let config = kit::config();
    let (request, dist) =
        kit::viewer_request("/docs/", "a=1", &["__Host-edge-auth-user=alice".into()]);
    let out = authorize(request, &dist, &config, NOW, &mut CountingEntropy(0));
    assert_eq!(
        location(&out),
        "/_edge-auth/refresh?return=%2Fdocs%2F%3Fa%3D1"
    );
    // Scripts still get a 401; an invalid session still means sign-in.
    let (mut request, dist) =
        kit::viewer_request("/docs/", "", &["__Host-edge-auth-user=alice".into()]);
    request.headers.set("Sec-Fetch-Mode", "cors");
    assert_eq!(
        authorize(request, &dist, &config, NOW, &mut CountingEntropy(0)).status(),
        Some("401")
    );
    let (request, dist) = kit::viewer_request(
        "/docs/",
        "",
        &[
            "__Host-edge-auth-user=alice".into(),
            // A provider's ID token, validly signed, is not a session.
            session_cookie(&kit::id_token().sign()),
        ],
    );
    assert!(
        location(&authorize(
            request,
            &dist,
            &config,
            NOW,
            &mut CountingEntropy(0)
        ))
        .starts_with("https://auth.example.com/oauth2/authorize?")
    );
}

/// Found by a hostile run of the regional functions (each fixed here).
#[test]
fn a_refresh_for_another_user_is_refused() {
    // OIDC Core §12.2: the refreshed ID token names the session's user.
    let config = kit::config();
    let (request, dist) = kit::viewer_request(
        "/_edge-auth/refresh",
        "return=/x",
        &[
            kit::refresh_cookie("rt"),
            session_cookie(&session_with(|c| c.exp = NOW - 10)),
        ],
    );
    let Step::Call { pending, .. } =
        refresh_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!()
    };
    let other = kit::id_token().claim("sub", "someone-else").sign();
    let body = serde_json::json!({ "id_token": other })
        .to_string()
        .into_bytes();
    let out = refresh_complete(
        pending.clone(),
        &config,
        kit::keys(&config),
        NOW,
        &mut CountingEntropy(0),
        &ProviderOutcome::Answered { status: 200, body },
    );
    assert_eq!(
        (out.status(), out.event),
        (Some("401"), "refresh-other-subject")
    );
    assert!(set_cookies(response(&out)).is_empty());
    assert!(cleared_cookies(response(&out)).contains(&"__Host-edge-auth-session".to_owned()));
    // The same user: renewed.
    let same = kit::id_token().sign();
    let body = serde_json::json!({ "id_token": same })
        .to_string()
        .into_bytes();
    let out = refresh_complete(
        pending,
        &config,
        kit::keys(&config),
        NOW,
        &mut CountingEntropy(0),
        &ProviderOutcome::Answered { status: 200, body },
    );
    assert_eq!(out.event, "refreshed");
}

/// Two refresh tokens (a sibling subdomain planted one with a longer path):
/// neither is sent; a fresh sign-in starts, and both paths are cleared.
#[test]
fn two_refresh_tokens_are_ambiguous() {
    let config = kit::config();
    let (request, dist) = kit::viewer_request(
        "/_edge-auth/refresh",
        "return=/x",
        &["__Secure-edge-auth-refresh=planted.by.sibling; __Secure-edge-auth-refresh=ours".into()],
    );
    let Step::Done(out) = refresh_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!("no provider call with an ambiguous refresh token")
    };
    assert!(location(&out).starts_with("https://auth.example.com/oauth2/authorize?"));
    let clears: Vec<&str> = response(&out)
        .headers
        .values("set-cookie")
        .filter(|c| c.starts_with("__Secure-edge-auth-refresh=;"))
        .collect();
    for path in [
        "Path=/_edge-auth/;",
        "Path=/_edge-auth/refresh;",
        "Path=/_edge-auth/signout;",
    ] {
        assert!(
            clears
                .iter()
                .any(|c| c.contains(path) && !c.contains("Domain=")),
            "{path}: {clears:?}"
        );
        // And the copies set with a Domain (the planted one, most likely),
        // for the host and its parent.
        for domain in ["d111111abcdef8.cloudfront.net", "cloudfront.net"] {
            assert!(
                clears
                    .iter()
                    .any(|c| c.contains(path) && c.contains(&format!("Domain={domain}"))),
                "{path} {domain}: {clears:?}"
            );
        }
    }
    // The same token twice (two paths of ours) is not ambiguous.
    let ours = kit::refresh_cookie("ours");
    let (request, dist) = kit::viewer_request(
        "/_edge-auth/refresh",
        "return=/x",
        &[format!("{ours}; {ours}"), session_cookie(&kit::session())],
    );
    assert!(matches!(
        refresh_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0)),
        Step::Call { .. }
    ));
}

/// A return path with characters beyond ASCII goes out percent-encoded.
#[test]
fn locations_are_ascii() {
    let config = kit::config();
    let (request, dist) = kit::viewer_request(
        "/_edge-auth/refresh",
        "return=%2Fcaf%C3%A9%2F%3Fq%3D%C3%BC",
        &[kit::refresh_cookie("rt"), session_cookie(&kit::session())],
    );
    let Step::Call { pending, .. } =
        refresh_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!()
    };
    let body = serde_json::json!({ "id_token": kit::id_token().sign() })
        .to_string()
        .into_bytes();
    let out = refresh_complete(
        pending,
        &config,
        kit::keys(&config),
        NOW,
        &mut CountingEntropy(0),
        &ProviderOutcome::Answered { status: 200, body },
    );
    assert_eq!(location(&out), "/caf%C3%A9/?q=%C3%BC");
}

/// A prefetch of the callback never spends the code, and changes no cookie.
#[test]
fn a_prefetched_callback_does_not_exchange_the_code() {
    let config = kit::config();
    let (state, flow_cookie, _) = begin_flow(&config);
    for (header, value) in [
        ("Sec-Purpose", "prefetch"),
        ("Purpose", "prefetch"),
        ("Sec-Fetch-Mode", "no-cors"),
        ("Sec-Fetch-Mode", "cors"),
    ] {
        let (mut request, dist) = kit::viewer_request(
            "/_edge-auth/callback",
            &format!("code=c&state={state}"),
            std::slice::from_ref(&flow_cookie),
        );
        request.headers.set(header, value);
        let Step::Done(out) = signin_begin(&request, &dist, &config, NOW) else {
            panic!("{header}: {value} exchanged the code")
        };
        assert_eq!(
            (out.status(), out.event),
            (Some("400"), "callback-not-navigation")
        );
        assert!(response(&out).headers.values("set-cookie").next().is_none());
    }
    let (mut request, dist) = kit::viewer_request(
        "/_edge-auth/callback",
        &format!("code=c&state={state}"),
        &[flow_cookie],
    );
    request.headers.set("Sec-Fetch-Mode", "navigate");
    assert!(matches!(
        signin_begin(&request, &dist, &config, NOW),
        Step::Call { .. }
    ));
}

/// `paths.start`, where the CloudFront Function sends a page load without a
/// session: the same sign-in `authorize` starts at Lambda@Edge, back to
/// the `return` page.
#[test]
fn the_start_endpoint_starts_the_sign_in_authorize_would() {
    let config = kit::config();
    let (request, dist) =
        kit::viewer_request("/_edge-auth/start", "return=%2Fdocs%2Fa%3Fx%3D1", &[]);
    assert!(edge_auth_core::signin::is_start(&request, &config));
    let started = edge_auth_core::signin::signin_start(
        &request,
        &dist,
        &config,
        NOW,
        &mut CountingEntropy(1),
    );
    let (direct, dist) = kit::viewer_request("/docs/a", "x=1", &[]);
    let by_authorize = authorize(direct, &dist, &config, NOW, &mut CountingEntropy(1));
    assert_eq!(started.event, "signin-started");
    assert_eq!(location(&started), location(&by_authorize));
    assert_eq!(
        set_cookies(response(&started)),
        set_cookies(response(&by_authorize))
    );
    assert_eq!(flow_return_to(response(&started)), "/docs/a?x=1");
}

#[test]
fn the_start_endpoint_refuses_scripts_prefetches_and_foreign_returns() {
    let config = kit::config();
    // A script or a prefetch starts nothing: no cookie, a 401.
    for (name, value) in [
        ("sec-fetch-mode", "cors"),
        ("sec-purpose", "prefetch"),
        ("x-requested-with", "XMLHttpRequest"),
    ] {
        let (mut request, dist) = kit::viewer_request("/_edge-auth/start", "return=%2F", &[]);
        request.headers.set(name, value.to_owned());
        let out = edge_auth_core::signin::signin_start(
            &request,
            &dist,
            &config,
            NOW,
            &mut CountingEntropy(1),
        );
        assert_eq!(out.status(), Some("401"), "{name}: {value}");
        assert!(set_cookies(response(&out)).is_empty(), "{name}: {value}");
    }
    // Another host, a missing or repeated `return`: back to `/`.
    for query in [
        "return=https%3A%2F%2Fevil.example",
        "return=%2F%2Fevil.example",
        "",
        "return=%2Fa&return=%2Fb",
        "return=%zz",
    ] {
        let (request, dist) = kit::viewer_request("/_edge-auth/start", query, &[]);
        let out = edge_auth_core::signin::signin_start(
            &request,
            &dist,
            &config,
            NOW,
            &mut CountingEntropy(1),
        );
        assert_eq!(flow_return_to(response(&out)), "/", "{query}");
    }
    // The callback is not the start.
    let (request, _) = kit::viewer_request("/_edge-auth/callback", "return=%2F", &[]);
    assert!(!edge_auth_core::signin::is_start(&request, &config));
}

/// A forced visit (another site sending the browser to a sign-in) never
/// pushes out a sign-in in progress: with room, it starts one (marked as
/// forced); when full, it answers a page whose button, a same-origin
/// request, starts it and may evict the oldest.
#[test]
fn forced_visits_never_push_out_a_sign_in_in_progress() {
    let config = kit::config();
    let flow = |i: u64, forced: bool| {
        let f = FlowCookie {
            issued_at: NOW - 100 + i,
            verifier: "v".repeat(43),
            nonce: "n".repeat(43),
            return_to: "/".into(),
            forced,
            site: None,
            branch: None,
        };
        format!("__Host-edge-auth-flow-{}{i}={}", "s".repeat(42), f.encode())
    };
    let start = |cookies: &[String], site: &str| {
        let (mut request, dist) =
            kit::viewer_request("/_edge-auth/start", "return=%2Fdocs%2F", cookies);
        request.headers.set("Sec-Fetch-Site", site);
        request.headers.set("Sec-Fetch-Mode", "navigate");
        request.headers.set("Accept", "text/html");
        edge_auth_core::signin::signin_start(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    };
    // Room for one more: a forced start starts, marked as forced.
    let four: Vec<String> = (0..4).map(|i| flow(i, false)).collect();
    let out = start(&four, "cross-site");
    assert!(location(&out).starts_with("https://auth.example.com/oauth2/authorize?"));
    let r = response(&out);
    assert!(cleared_cookies(r).is_empty());
    let (_, value) = set_cookies(r)
        .into_iter()
        .find(|(n, _)| n.starts_with("__Host-edge-auth-flow-"))
        .unwrap();
    assert!(FlowCookie::decode(&value).unwrap().forced);
    // Full: no flow is evicted, none is added; a page with a button.
    let five: Vec<String> = (0..5).map(|i| flow(i, i % 2 == 0)).collect();
    for site in ["cross-site", "same-site"] {
        let out = start(&five, site);
        let r = response(&out);
        assert_eq!(r.status, "200", "{site}");
        assert!(
            set_cookies(r).is_empty() && cleared_cookies(r).is_empty(),
            "{site}"
        );
        let body = r.body.as_deref().unwrap();
        assert!(
            body.contains(r#"href="/_edge-auth/start?return=%2Fdocs%2F""#),
            "{body}"
        );
    }
    // The button (same-origin), or a typed address: the oldest goes.
    for site in ["same-origin", "none"] {
        let out = start(&five, site);
        assert!(location(&out).starts_with("https://auth.example.com/oauth2/authorize?"));
        assert_eq!(
            cleared_cookies(response(&out)),
            vec![format!("__Host-edge-auth-flow-{}0", "s".repeat(42))],
            "{site}"
        );
    }
}

/// The refresh cookie is bound to the session it came with (security
/// review, items 7 and 14): a planted one, one without the session, one
/// of an older release, or one bound to another session never reaches the
/// provider; a fresh sign-in starts instead.
#[test]
fn a_refresh_cookie_works_only_with_its_own_session() {
    let config = kit::config();
    let ours = session_cookie(&kit::session());
    let other_session =
        session_cookie(&session_with(|c| c.sid = "b3RoZXItc2Vzc2lvbi0wMDAx".into()));
    for (what, cookies) in [
        ("the refresh cookie alone", vec![kit::refresh_cookie("rt")]),
        (
            "beside another session",
            vec![kit::refresh_cookie("rt"), other_session.clone()],
        ),
        (
            "an older release's bare token",
            vec!["__Secure-edge-auth-refresh=rt".into(), ours.clone()],
        ),
        (
            "bound to a session id it does not have",
            vec![
                format!("__Secure-edge-auth-refresh={}.n.rt", "A".repeat(22)),
                ours.clone(),
            ],
        ),
        (
            "a damaged flag",
            vec![
                kit::refresh_cookie("rt").replace(".n.", ".z."),
                ours.clone(),
            ],
        ),
        (
            "a forged session beside it",
            vec![
                kit::refresh_cookie("rt"),
                session_cookie("eyJhbGciOiJIUzI1NiJ9.e30.AAAA"),
            ],
        ),
    ] {
        let (request, dist) = kit::viewer_request("/_edge-auth/refresh", "return=/x", &cookies);
        let Step::Done(out) = refresh_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
        else {
            panic!("{what}: the provider was called")
        };
        assert!(
            location(&out).starts_with("https://auth.example.com/oauth2/authorize?"),
            "{what}"
        );
        assert!(
            cleared_cookies(response(&out)).contains(&"__Secure-edge-auth-refresh".to_owned()),
            "{what}"
        );
    }
    // With its own session (expired, as when refresh is needed): the call.
    let expired = session_cookie(&session_with(|c| c.exp = NOW - 10));
    for cookies in [
        vec![kit::refresh_cookie("rt"), expired.clone()],
        vec![other_session, kit::refresh_cookie("rt"), expired],
    ] {
        let (request, dist) = kit::viewer_request("/_edge-auth/refresh", "return=/x", &cookies);
        let Step::Call { call, .. } =
            refresh_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
        else {
            panic!("no call")
        };
        assert_eq!(call.form[1], ("refresh_token", "rt".to_owned()));
    }
}

/// A provider that rotates refresh tokens: the new one is bound to the
/// same session id, so the next refresh works too.
#[test]
fn a_rotated_refresh_token_stays_bound_to_the_sign_in() {
    let config = kit::config();
    let (request, dist) = kit::viewer_request(
        "/_edge-auth/refresh",
        "return=/x",
        &[kit::refresh_cookie("rt-1"), session_cookie(&kit::session())],
    );
    let Step::Call { pending, .. } =
        refresh_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!()
    };
    let body = serde_json::json!({ "id_token": kit::id_token().sign(), "refresh_token": "rt-2" })
        .to_string()
        .into_bytes();
    let out = refresh_complete(
        pending,
        &config,
        kit::keys(&config),
        NOW,
        &mut CountingEntropy(9),
        &ProviderOutcome::Answered { status: 200, body },
    );
    let set = set_cookies(response(&out));
    let session = &set
        .iter()
        .find(|(n, _)| n == "__Host-edge-auth-session")
        .unwrap()
        .1;
    let refresh = &set
        .iter()
        .find(|(n, _)| n == "__Secure-edge-auth-refresh")
        .unwrap()
        .1;
    let sid = config.sessions.verify(session, NOW).unwrap().sid;
    assert_eq!(sid, kit::session_claims().sid);
    assert_eq!(refresh, &format!("{sid}.n.rt-2"));
}

/// Sign-out revokes every refresh token it is shown (a planted one too),
/// one call each, and signs out whatever the calls answer.
#[test]
fn signout_revokes_every_refresh_token_it_is_shown() {
    let config = kit::config();
    let cookies = vec![
        session_cookie(&kit::session()),
        format!(
            "{}; __Secure-edge-auth-refresh=legacy-token; {}",
            kit::refresh_cookie("rt-ours"),
            kit::refresh_cookie("rt-ours")
        ),
        format!("__Secure-edge-auth-refresh={}.n.rt-planted", "B".repeat(22)),
    ];
    let (request, dist) = signout_request("", &cookies);
    let mut step = signout_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0));
    let mut revoked = Vec::new();
    let out = loop {
        match step {
            Step::Done(out) => break out,
            Step::Call { call, pending } => {
                assert_eq!(call.purpose, CallPurpose::RevokeRefreshToken);
                revoked.push(call.form[0].1.clone());
                let answer = if revoked.len() == 2 {
                    ProviderOutcome::TimedOut
                } else {
                    ProviderOutcome::Answered {
                        status: 200,
                        body: vec![],
                    }
                };
                step = signout_complete(pending, &config, &answer);
            }
        }
    };
    assert_eq!(revoked, ["rt-ours", "legacy-token", "rt-planted"]);
    assert_eq!(out.status(), Some("302"));
    assert_eq!(
        out.detail.as_deref(),
        Some("refresh token revoked; revocation timed out; refresh token revoked")
    );
}

/// Only a flow this site sealed reaches the provider's token endpoint
/// (security review, item 6): a script that makes up a well-formed flow
/// cookie, moves a sealed one to another state, or edits one, gets the
/// "could not be matched" page and causes no provider call.
#[test]
fn a_made_up_flow_cookie_never_reaches_the_token_endpoint() {
    let config = kit::config();
    let state = "s".repeat(43);
    let other_state = "t".repeat(43);
    let flow = FlowCookie {
        issued_at: NOW,
        verifier: "v".repeat(43),
        nonce: "n".repeat(43),
        return_to: "/docs/".into(),
        forced: false,
        site: None,
        branch: None,
    };
    let sealed = flow.seal(&state, &config);
    assert!(
        sealed.starts_with(&format!("{}~{}~", flow.encode(), kit::SESSION_KID)),
        "{sealed}"
    );
    let callback = |value: &str| {
        let (request, dist) = kit::viewer_request(
            "/_edge-auth/callback",
            &format!("code=c&state={state}"),
            &[format!("__Host-edge-auth-flow-{state}={value}")],
        );
        signin_begin(&request, &dist, &config, NOW)
    };
    assert!(
        matches!(callback(&sealed), Step::Call { .. }),
        "the control"
    );
    let edited = sealed.replacen("/docs/", "/doc/", 1).replacen(
        &kit::b64(b"/docs/"),
        &kit::b64(b"/admin/"),
        1,
    );
    let other_key = {
        let mut v = kit::config_value("https://auth.example.com");
        v["session"]["keys"] =
            serde_json::json!([{"kid": kit::SESSION_KID, "key": kit::b64(&[7u8; 32])}]);
        flow.seal(&state, &kit::config_from(v))
    };
    for (what, value) in [
        ("unsealed", flow.encode()),
        ("sealed for another state", flow.seal(&other_state, &config)),
        ("edited", edited),
        ("sealed with another key", other_key),
        (
            "an unknown key id",
            sealed.replacen(&format!("~{}~", kit::SESSION_KID), "~k0~", 1),
        ),
        ("no tag", format!("{}~{}~", flow.encode(), kit::SESSION_KID)),
    ] {
        let Step::Done(out) = callback(&value) else {
            panic!("{what}: the code was sent to the provider")
        };
        assert_eq!(out.event, "state-mismatch", "{what}");
    }
}

/// The idle and absolute limits, with a clock. A session issued at `iat`,
/// expiring at `exp`, for a sign-in at `auth_time`; refresh at `now`: it is
/// renewed (keeping the sign-in time) or the visitor signs in again, and
/// the provider is not asked. Sessions of earlier releases have no
/// `auth_time` (their `iat` counts); a sign-in time after the issue or in
/// the future is refused.
#[test]
fn the_idle_and_absolute_limits_end_a_sign_in_instead_of_renewing_it() {
    let mut value = kit::config_value("https://auth.example.com");
    value["session"]["idle_timeout_minutes"] = serde_json::json!(30);
    value["session"]["max_hours"] = serde_json::json!(8);
    let limited = kit::config_from(value);
    let unlimited = kit::config();
    let hour = 3600;
    let base = kit::session_claims();
    // (what, auth_time, iat, exp, now, renewed with limits)
    let cases = [
        (
            "just expired",
            Some(NOW - hour),
            NOW - hour,
            NOW,
            NOW + 60,
            true,
        ),
        (
            "expired 29 minutes ago",
            Some(NOW - hour),
            NOW - hour,
            NOW,
            NOW + 29 * 60,
            true,
        ),
        (
            "expired 31 minutes ago: idle",
            Some(NOW - hour),
            NOW - hour,
            NOW,
            NOW + 31 * 60,
            false,
        ),
        (
            "signed in 7h59m ago",
            Some(NOW - 8 * hour + 60),
            NOW - hour,
            NOW,
            NOW,
            true,
        ),
        (
            "signed in 8h ago: past the limit",
            Some(NOW - 8 * hour),
            NOW - hour,
            NOW,
            NOW,
            false,
        ),
        (
            "an earlier release's session, issued 9h ago",
            None,
            NOW - 9 * hour,
            NOW - 60,
            NOW,
            false,
        ),
        (
            "an earlier release's session, issued an hour ago",
            None,
            NOW - hour,
            NOW,
            NOW + 60,
            true,
        ),
        (
            "signed in after its issue",
            Some(NOW - 60),
            NOW - hour,
            NOW,
            NOW + 60,
            false,
        ),
        (
            "signed in in the future",
            Some(u64::MAX),
            NOW - hour,
            NOW,
            NOW + 60,
            false,
        ),
    ];
    for (what, auth_time, iat, exp, now, renewed) in cases {
        let claims = edge_auth_core::session::SessionClaims {
            auth_time,
            iat,
            exp,
            ..base.clone()
        };
        let cookie = format!("__Host-edge-auth-session={}", kit::signer().sign(&claims));
        let (request, dist) = kit::viewer_request(
            "/_edge-auth/refresh",
            "return=%2Fdocs%2F",
            &[kit::refresh_cookie("old.rt"), cookie],
        );
        for (config, limits) in [(&limited, true), (&unlimited, false)] {
            let step = refresh_begin(&request, &dist, config, now, &mut CountingEntropy(0));
            // Without limits only the impossible sign-in times are refused.
            let expected = if limits {
                renewed
            } else {
                !what.starts_with("signed in after") && !what.starts_with("signed in in the future")
            };
            match step {
                Step::Call { pending, .. } => {
                    assert!(expected, "{what} (limits {limits}): renewed");
                    let id = kit::id_token()
                        .claim("iat", now)
                        .claim("exp", now + hour)
                        .sign();
                    let body = serde_json::json!({ "id_token": id })
                        .to_string()
                        .into_bytes();
                    let out = refresh_complete(
                        pending,
                        config,
                        kit::keys(config),
                        now,
                        &mut CountingEntropy(0),
                        &ProviderOutcome::Answered { status: 200, body },
                    );
                    assert_eq!(out.event, "refreshed", "{what}");
                    let set = set_cookies(response(&out));
                    let renewal = config.sessions.verify_untimed(&set[0].1).unwrap();
                    // The renewal keeps the sign-in time (or the old iat).
                    assert_eq!(renewal.auth_time, Some(auth_time.unwrap_or(iat)), "{what}");
                    assert_eq!(renewal.iat, now);
                }
                Step::Done(out) => {
                    assert!(!expected, "{what} (limits {limits}): refused");
                    assert_eq!(out.event, "signin-started", "{what}");
                    let detail = out.detail.clone().unwrap_or_default();
                    assert!(
                        detail.contains("idle")
                            || detail.contains("max_hours")
                            || detail.contains("sign-in time"),
                        "{what}: {detail}"
                    );
                    // The session and the refresh token are cleared.
                    assert!(
                        cleared_cookies(response(&out))
                            .contains(&"__Host-edge-auth-session".to_owned()),
                        "{what}"
                    );
                }
            }
        }
    }
}

/// A new sign-in records its time, which the limits count from.
#[test]
fn a_sign_in_records_when_it_happened() {
    let config = kit::config();
    let keys = kit::keys(&config);
    let id = kit::id_token().sign();
    let verified = keys.provider.verify(&id, NOW, None).unwrap();
    let claims = edge_auth_core::session::session_for(
        &config,
        &verified,
        NOW,
        &mut CountingEntropy(0),
        None,
    );
    assert_eq!(claims.auth_time, Some(NOW));
}

/// `revoke` ends a user's sessions at the edge; their refresh token must
/// not mint a new one. The revocations travel with the session key set the
/// signers read (`Config::with_session_keys`), and refresh refuses a
/// session issued up to the revocation: a sign-in instead, the provider
/// not asked. A session issued after it (a new sign-in) is renewed.
#[test]
fn refresh_renews_no_session_a_revocation_ended() {
    let mut value = kit::config_value("https://auth.example.com");
    value["session"] = serde_json::json!({
        "kids": [kit::SESSION_KID],
        "signing_keys": value["session"]["signing_keys"].clone(),
    });
    let packaged = kit::config_from(value);
    let claims = kit::session_claims();
    let set_with = |revoked: &[(&str, u64)]| {
        let mut set: edge_auth_core::session::SessionKeySet =
            serde_json::from_value(serde_json::json!({
                "signing_kid": kit::SESSION_KID,
                "keys": [kit::session_key_file()],
            }))
            .unwrap();
        for (sub, up_to) in revoked {
            set.revoked.insert((*sub).to_owned(), *up_to);
        }
        // A set with revocations says so; one without reads as before.
        let text = serde_json::to_string(&set).unwrap();
        assert_eq!(text.contains("\"revoked\""), !revoked.is_empty(), "{text}");
        packaged.with_session_keys(&set).unwrap()
    };
    let (request, dist) = kit::viewer_request(
        "/_edge-auth/refresh",
        "return=%2Fdocs%2F",
        &[
            kit::refresh_cookie("old.rt"),
            session_cookie(&kit::session()),
        ],
    );
    for (revoked, renewed) in [
        (vec![], true),
        (vec![(claims.sub.as_str(), claims.iat)], false),
        (vec![(claims.sub.as_str(), claims.iat + 600)], false),
        (vec![(claims.sub.as_str(), claims.iat - 1)], true),
        (vec![("someone-else", NOW + 600)], true),
    ] {
        let config = set_with(&revoked);
        match refresh_begin(
            &request,
            &dist,
            &config,
            NOW + 3700,
            &mut CountingEntropy(0),
        ) {
            Step::Call { .. } => assert!(renewed, "{revoked:?}: renewed"),
            Step::Done(out) => {
                assert!(!renewed, "{revoked:?}: refused");
                assert_eq!(out.event, "signin-started");
                assert!(out.detail.unwrap_or_default().starts_with("revoked"));
            }
        }
    }
}

/// Sign-out ends the session at the edge: the outcome asks the driver to
/// raise `revoked:<sub>` to the session's own `iat` (so its copies, and
/// the user's older sessions, are refused; a sign-in right after is not),
/// with or without a refresh token to revoke, and when switching user.
/// An expired session is ended too (a copy is still a copy); a forged,
/// foreign or missing one names no session and ends nothing. The
/// revocation it asks for is one every verifier then applies.
#[test]
fn signout_ends_the_session_at_the_edge_and_nothing_else() {
    let config = kit::config();
    let claims = kit::session_claims();
    let wanted = Some(Box::new(edge_auth_core::Revocation {
        sub: claims.sub.clone(),
        up_to: claims.iat,
    }));
    let done = |step: Step<edge_auth_core::signout::SignoutPending>| match step {
        Step::Done(out) => out,
        Step::Call { pending, .. } => {
            match signout_complete(pending, &config, &ProviderOutcome::TimedOut) {
                Step::Done(out) => out,
                Step::Call { .. } => panic!("one token, one call"),
            }
        }
    };
    for (query, cookies, expected_iat) in [
        ("", vec![session_cookie(&kit::session())], claims.iat),
        (
            "",
            vec![session_cookie(&kit::session()), kit::refresh_cookie("rt.1")],
            claims.iat,
        ),
        (
            "return=%2Fdocs%2F",
            vec![session_cookie(&kit::session())],
            claims.iat,
        ),
        (
            "",
            vec![session_cookie(&session_with(|c| {
                c.iat = NOW - 7200;
                c.exp = NOW - 3600;
            }))],
            NOW - 7200,
        ),
        // A forged copy before the real one: the real one is ended.
        (
            "",
            vec![
                session_cookie("eyJhbGciOiJIUzI1NiJ9.e30.AAAA"),
                session_cookie(&kit::session()),
            ],
            claims.iat,
        ),
    ] {
        let (request, dist) = signout_request(query, &cookies);
        let out = done(signout_begin(
            &request,
            &dist,
            &config,
            NOW,
            &mut CountingEntropy(0),
        ));
        assert_eq!(
            out.revocation,
            Some(Box::new(edge_auth_core::Revocation {
                sub: claims.sub.clone(),
                up_to: expected_iat
            })),
            "{query} {cookies:?}"
        );
        assert_eq!(
            out.session.as_ref().map(|s| s.sid.as_str()),
            Some(claims.sid.as_str())
        );
    }
    let (request, dist) = signout_request("", &[session_cookie(&kit::session())]);
    let out = done(signout_begin(
        &request,
        &dist,
        &config,
        NOW,
        &mut CountingEntropy(0),
    ));
    assert_eq!(out.revocation, wanted);
    // Applied, it refuses that session and every copy; a later one stands.
    let mut applied = config.clone();
    applied.sessions.revoke(&claims.sub, claims.iat);
    assert!(applied.sessions.verify(&kit::session(), NOW).is_err());
    let later = session_with(|c| c.iat = NOW);
    assert!(applied.sessions.verify(&later, NOW).is_ok());
    // Forged, foreign (another key) or no session: nothing to end.
    let foreign = edge_auth_core::session::SessionSigner::new(
        &[edge_auth_core::session::SessionKeyFile {
            kid: kit::SESSION_KID.into(),
            key: "ERERERERERERERERERERERERERERERERERERERERERE".into(),
            not_after: None,
        }],
        kit::SESSION_KID,
    )
    .unwrap()
    .sign(&claims);
    for cookies in [
        vec![],
        vec![session_cookie("not-a-session")],
        vec![session_cookie(&foreign)],
        vec![session_cookie(&"a".repeat(5000))],
    ] {
        let (request, dist) = signout_request("", &cookies);
        let out = done(signout_begin(
            &request,
            &dist,
            &config,
            NOW,
            &mut CountingEntropy(0),
        ));
        assert_eq!(out.revocation, None, "{cookies:?}");
        assert_eq!(out.event, "signed-out");
    }
}
