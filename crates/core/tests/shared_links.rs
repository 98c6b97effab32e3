//! Shared links (`shares` in config.json): a link opens one pattern for a
//! guest until it expires, through its cookie, and nothing else however
//! the path is spelled; signed-in users make them on the share page for
//! what their groups open.

use edge_auth_core::authorize::authorize;
use edge_auth_core::session::SessionClaims;
use edge_auth_core::share_page::share_endpoint;
use edge_auth_core::{CloudFrontResponse, Config, HandlerOutput, Outcome};
use edge_auth_testkit::{self as kit, CountingEntropy, NOW};
use serde_json::json;

const COOKIE: &str = "__Secure-edge-auth-share";

fn config(page: bool) -> Config {
    let mut v = kit::config_value("https://auth.example.com");
    v["rules"] = json!([
        {"pattern": "/reports/*", "groups": ["finance"]},
        {"pattern": "/ops/*", "groups": ["finance"], "mfa": true},
        {"pattern": "/admin/*", "groups": ["admins"]},
    ]);
    v["shares"] = json!({"max_lifetime_seconds": 7 * 86_400, "page": page});
    let mut config = kit::config_from(v);
    config.sessions.revoke("share:withdrawn", NOW - 10);
    config
}

fn link(sub: &str, pattern: &str, exp: u64) -> String {
    let claims = SessionClaims {
        sub: sub.into(),
        name: "a link from alice".into(),
        groups: vec!["finance".into()],
        sid: "shr".into(),
        iat: NOW - 60,
        exp,
        ..kit::session_claims()
    };
    kit::signer().sign_share(&claims, pattern)
}

fn response(outcome: &Outcome) -> &CloudFrontResponse {
    match &outcome.output {
        HandlerOutput::Respond(r) => r,
        HandlerOutput::Forward(r) => panic!("forwarded {}", r.uri),
    }
}

fn endpoint(config: &Config, query: &str, cookies: &[String]) -> Outcome {
    let (request, dist) = kit::viewer_request("/_edge-auth/share", query, cookies);
    share_endpoint(
        &request,
        &dist,
        config,
        Some(&kit::signer()),
        NOW,
        &mut CountingEntropy(7),
    )
}

/// A page load of `uri` with `cookies`, as a browser sends it.
fn visit(config: &Config, uri: &str, cookies: &[String]) -> Outcome {
    let (mut request, dist) = kit::viewer_request(uri, "", cookies);
    request.headers.set("Accept", "text/html".to_owned());
    authorize(request, &dist, config, NOW, &mut CountingEntropy(1))
}

#[test]
fn a_link_sets_its_cookie_for_its_folder_and_opens_that_folder_alone() {
    let config = config(false);
    let token = link("share:q3", "/reports/q3/*", NOW + 3600);
    let opened = endpoint(&config, &format!("link={token}"), &[]);
    assert_eq!(opened.event, "share-opened");
    assert_eq!(opened.session.as_ref().unwrap().sub, "share:q3");
    let r = response(&opened);
    assert_eq!(r.status, "302");
    assert_eq!(r.headers.first("location"), Some("/reports/q3/"));
    let set = r.headers.first("set-cookie").unwrap();
    assert!(set.starts_with(&format!("{COOKIE}={token};")), "{set}");
    for attribute in [
        "Path=/reports/q3/",
        "Max-Age=3600",
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
    ] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    assert!(!set.contains("Domain"), "host-only: {set}");

    let cookie = [format!("{COOKIE}={token}")];
    for inside in [
        "/reports/q3/",
        "/reports/q3/summary.html",
        "//reports//q3/a.pdf",
        "/reports/q3/a+b.pdf",
    ] {
        let outcome = visit(&config, inside, &cookie);
        assert!(
            matches!(outcome.output, HandlerOutput::Forward(_)),
            "{inside}: {outcome:?}"
        );
        assert_eq!(outcome.session.unwrap().sub, "share:q3");
    }
    // Nothing beside it, however spelled: sent to sign in (the guest has
    // no account) or refused as a path.
    for outside in [
        "/reports/q4/summary.html",
        "/reports/q3",
        "/reports/q3x/a.html",
        "/reports/q3/../q4/a.html",
        "/reports/q3/%2e%2e/q4/a.html",
        "/reports/q3/..%2fq4/a.html",
        "/reports/q3%2f..%2fq4/a.html",
        "/reports/%71%33/../q4/",
        "/admin/",
    ] {
        let outcome = visit(&config, outside, &cookie);
        assert!(
            !matches!(outcome.output, HandlerOutput::Forward(_)),
            "{outside} was let through"
        );
        assert!(
            outcome.session.as_ref().is_none_or(|s| s.sub != "share:q3"),
            "{outside}: {outcome:?}"
        );
    }
    // An encoded spelling of the folder itself is the same object.
    let outcome = visit(&config, "/reports/%71%33/a.html", &cookie);
    assert!(matches!(outcome.output, HandlerOutput::Forward(_)));
    // After its time, or withdrawn, the cookie opens nothing.
    let (mut request, dist) = kit::viewer_request("/reports/q3/", "", &cookie);
    request.headers.set("Accept", "text/html".to_owned());
    let later = authorize(request, &dist, &config, NOW + 3600, &mut CountingEntropy(1));
    assert!(!matches!(later.output, HandlerOutput::Forward(_)));
    let withdrawn = link("share:withdrawn", "/reports/q3/*", NOW + 3600);
    let outcome = visit(&config, "/reports/q3/", &[format!("{COOKIE}={withdrawn}")]);
    assert!(!matches!(outcome.output, HandlerOutput::Forward(_)));
}

#[test]
fn a_session_beside_a_link_decides_and_the_links_groups_are_held_to_the_rules() {
    let config = config(false);
    // A link for a folder its groups do not open: the rule's 403.
    let token = link("share:adm", "/admin/*", NOW + 3600);
    let outcome = visit(&config, "/admin/x.html", &[format!("{COOKIE}={token}")]);
    assert_eq!(outcome.event, "forbidden");
    // A rule asking for a second factor: a link never meets it.
    let token = link("share:ops", "/ops/*", NOW + 3600);
    let outcome = visit(&config, "/ops/run.html", &[format!("{COOKIE}={token}")]);
    assert_eq!(outcome.event, "step-up");
    // A signed-in user's own session comes first.
    let token = link("share:q3", "/reports/q3/*", NOW + 3600);
    let outcome = visit(
        &config,
        "/reports/q3/",
        &[
            format!("__Host-edge-auth-session={}", kit::session()),
            format!("{COOKIE}={token}"),
        ],
    );
    assert_ne!(outcome.session.unwrap().sub, "share:q3");
}

#[test]
fn links_that_are_not_valid_get_a_page_that_says_so() {
    let config = config(false);
    let session = kit::session();
    let service = kit::signer().sign_service(&kit::session_claims());
    let expired = link("share:old", "/reports/q3/*", NOW - 1);
    let tampered = {
        let t = link("share:q3", "/reports/q3/*", NOW + 3600);
        let (rest, _) = t.rsplit_once('.').unwrap();
        format!("{rest}.AAAA")
    };
    let too_long = link("share:long", "/reports/*", NOW + 8 * 86_400);
    let auth_path = link("share:auth", "/_edge-auth/*", NOW + 3600);
    for (query, why) in [
        (format!("link={expired}"), "expired"),
        (format!("link={tampered}"), "invalid"),
        (format!("link={session}"), "invalid"),
        (format!("link={service}"), "invalid"),
        (format!("link={too_long}"), "invalid"),
        (format!("link={auth_path}"), "invalid"),
        ("link=".to_owned(), "invalid"),
        ("link=a&link=b".to_owned(), "invalid"),
        ("link=%ZZ".to_owned(), "invalid"),
    ] {
        let outcome = endpoint(&config, &query, &[]);
        assert_eq!(outcome.event, "share-refused", "{query}");
        assert_eq!(outcome.detail.as_deref(), Some(why), "{query}");
        let r = response(&outcome);
        assert_eq!(r.status, "403");
        assert!(r.headers.first("set-cookie").is_none());
    }
    // Without `shares`, the path is no endpoint; without the page, only
    // links open.
    let mut v = kit::config_value("https://auth.example.com");
    v["rules"] = json!([]);
    let plain = kit::config_from(v);
    assert_eq!(endpoint(&plain, "", &[]).status(), Some("404"));
    assert_eq!(
        endpoint(
            &config,
            "",
            &[format!("__Host-edge-auth-session={}", kit::session())]
        )
        .status(),
        Some("404")
    );
}

#[test]
fn signed_in_users_make_links_for_what_their_groups_open() {
    let config = config(true);
    // Signed out: to sign in, then back.
    let outcome = endpoint(&config, "", &[]);
    assert_eq!(outcome.event, "share-signin");
    assert_eq!(
        response(&outcome).headers.first("location"),
        Some("/_edge-auth/start?return=%2F_edge-auth%2Fshare")
    );
    let alice = {
        let claims = SessionClaims {
            groups: vec!["finance".into()],
            ..kit::session_claims()
        };
        format!("__Host-edge-auth-session={}", kit::signer().sign(&claims))
    };
    // The form.
    let form = endpoint(&config, "", std::slice::from_ref(&alice));
    assert_eq!(form.event, "share-asked");
    let body = response(&form).body.clone().unwrap();
    assert!(
        body.contains(r#"<form method="get" action="/_edge-auth/share">"#),
        "{body}"
    );
    assert!(
        body.contains(r#"value="7d""#) && !body.contains(r#"value="30d""#),
        "longer than shares allow: {body}"
    );
    assert!(
        response(&form)
            .headers
            .first("content-security-policy")
            .unwrap()
            .contains("form-action 'self'")
    );
    // What cannot be shared, each with its reason on the form.
    for (query, says) in [
        ("path=/admin/*&ttl=24h", "you cannot open /admin/"),
        ("path=/ops/*&ttl=24h", "second factor"),
        ("path=/reports/../admin/*&ttl=24h", "segment"),
        ("path=/_edge-auth/*&ttl=24h", "auth paths"),
        ("path=reports&ttl=24h", "a path from"),
        ("path=/reports/q3/*&ttl=30d", "how long"),
        ("path=/reports/q3/*&ttl=forever", "how long"),
    ] {
        let outcome = endpoint(&config, query, std::slice::from_ref(&alice));
        assert_eq!(outcome.event, "share-not-made", "{query}");
        assert_eq!(outcome.status(), Some("400"));
        assert!(
            outcome.detail.as_deref().unwrap().contains(says),
            "{query}: {:?}",
            outcome.detail
        );
    }
    // A link made: shown once, logged with its id and maker, and it opens
    // the folder with alice's groups.
    let made = endpoint(
        &config,
        "path=%2Freports%2Fq3%2F*&ttl=24h",
        std::slice::from_ref(&alice),
    );
    assert_eq!(made.event, "share-created");
    let detail = made.detail.clone().unwrap();
    assert!(detail.starts_with("link /reports/q3/*; id "), "{detail}");
    let body = response(&made).body.clone().unwrap();
    let start = body.find("https://").unwrap();
    let url = &body[start..start + body[start..].find('"').unwrap()];
    let query = url.split_once('?').unwrap().1;
    assert!(url.starts_with("https://d111111abcdef8.cloudfront.net/_edge-auth/share?link="));
    let opened = endpoint(&config, query, &[]);
    assert_eq!(opened.event, "share-opened");
    let set = response(&opened)
        .headers
        .first("set-cookie")
        .unwrap()
        .to_owned();
    assert!(
        set.contains("Max-Age=86400") && set.contains("Path=/reports/q3/"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    let outcome = visit(&config, "/reports/q3/a.html", &[cookie]);
    assert!(matches!(outcome.output, HandlerOutput::Forward(_)));
    assert!(outcome.session.unwrap().sub.starts_with("share:"));
}
