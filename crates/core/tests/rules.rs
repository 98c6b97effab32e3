//! Path rules decide on every key a request can reach (security review,
//! items 1, 3 and 4): a public pattern never opens a ruled path, asking for
//! a directory never dodges a rule on its index object, and a raw `+`
//! (a space to S3) never dodges a rule with a space in it.

use edge_auth_core::authorize::authorize;
use edge_auth_core::{Config, HandlerOutput};
use edge_auth_testkit::{self as kit, CountingEntropy, NOW};
use serde_json::json;

fn config() -> Config {
    let mut value = kit::config_value("https://auth.example.com");
    value["paths"] = json!({"public": ["/signed-out.html", "/assets/*"]});
    value["rules"] = json!([
        {"pattern": "/assets/internal/*", "groups": ["staff"]},
        {"pattern": "/reports/index.html", "groups": ["auditors"]},
        {"pattern": "*.html", "groups": ["readers"]},
        {"pattern": "/team notes/*", "groups": ["staff"]},
    ]);
    kit::config_from(value)
}

fn session(groups: &[&str]) -> String {
    let claims = edge_auth_core::session::SessionClaims {
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..kit::session_claims()
    };
    kit::signer().sign(&claims)
}

/// The status the viewer gets (200 for a forward) and the event.
fn decide(config: &Config, uri: &str, cookie: Option<String>) -> (u16, &'static str) {
    let cookies: Vec<String> = cookie
        .map(|c| format!("__Host-edge-auth-session={c}"))
        .into_iter()
        .collect();
    let (mut request, dist) = kit::viewer_request("/", "", &cookies);
    request.uri = uri.into();
    let outcome = authorize(request, &dist, config, NOW, &mut CountingEntropy(1));
    let status = match &outcome.output {
        HandlerOutput::Forward(_) => 200,
        HandlerOutput::Respond(r) => r.status.parse().unwrap(),
    };
    (status, outcome.event)
}

#[test]
fn a_public_pattern_never_opens_a_ruled_path() {
    let config = config();
    // Public, and no rule: anyone.
    assert_eq!(
        decide(&config, "/assets/site.js", None),
        (200, "public-path")
    );
    // A rule inside a public pattern: sign in first, then the rule.
    assert_eq!(
        decide(&config, "/assets/internal/all-pages.js", None).0,
        302
    );
    assert_eq!(
        decide(&config, "/assets/internal/all-pages.js", Some(session(&[]))),
        (403, "forbidden")
    );
    assert_eq!(
        decide(
            &config,
            "/assets/internal/all-pages.js",
            Some(session(&["staff"]))
        ),
        (200, "allowed-by-rule")
    );
    // `*.html` is ruled, so the public signed-out page needs its group too:
    // the rule wins, whatever else the settings say.
    assert_eq!(decide(&config, "/signed-out.html", None).0, 302);
}

#[test]
fn a_directory_does_not_dodge_a_rule_on_its_index() {
    let config = config();
    for uri in ["/reports/", "/reports/index.html", "//reports//"] {
        assert_eq!(
            decide(&config, uri, Some(session(&["readers"]))),
            (403, "forbidden"),
            "{uri}"
        );
        // The first rule that matches the object decides, as when it is
        // asked for by name.
        assert_eq!(
            decide(&config, uri, Some(session(&["auditors"]))),
            (200, "allowed-by-rule"),
            "{uri}"
        );
    }
    // `*.html` covers every directory's index object.
    assert_eq!(
        decide(&config, "/docs/", Some(session(&[]))),
        (403, "forbidden")
    );
    assert_eq!(
        decide(&config, "/docs/", Some(session(&["readers"]))).0,
        200
    );
}

#[test]
fn a_raw_plus_is_matched_as_the_space_s3_reads() {
    let config = config();
    for uri in [
        "/team+notes/plan.txt",
        "/team%20notes/plan.txt",
        "/team notes/plan.txt",
    ] {
        assert_eq!(
            decide(&config, uri, Some(session(&[]))),
            (403, "forbidden"),
            "{uri}"
        );
        assert_eq!(
            decide(&config, uri, Some(session(&["staff"]))).0,
            200,
            "{uri}"
        );
    }
    // `%2B` is a plus to S3 too: another key, no rule.
    assert_eq!(
        decide(&config, "/team%2Bnotes/plan.txt", Some(session(&[]))),
        (200, "allowed")
    );
}
