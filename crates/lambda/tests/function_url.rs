//! sign-in, refresh and sign-out as regional functions behind CloudFront:
//! function URL events (aws_lambda_events' types) in, function URL responses
//! out, against a provider on 127.0.0.1, through the same `handle` that
//! `lambda_runtime` calls.

mod common;

use std::sync::Arc;

use common::*;
use edge_auth_core::Config;
use edge_auth_lambda::{HandlerKind, HandlerState, handle};
use edge_auth_testkit::provider_server::{Answer, ProviderServer};
use edge_auth_testkit::{self as kit};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};

const SITE: &str = "https://docs.example.com";

fn regional_config(server: &ProviderServer, tag: &str, site: Option<&str>) -> Arc<Config> {
    let mut v = kit::config_value(&server.base_url());
    v["secret"] = json!({"kind": "file", "path": secret_file(tag)});
    v["http"] = json!({"timeout_ms": 300, "retries": 1});
    v["provider"]["clock_skew_seconds"] = json!(0);
    if let Some(site) = site {
        v["site"] = json!({"base_url": site});
    }
    Arc::new(Config::from_json(&v.to_string()).unwrap())
}

async fn run_regional(kind: HandlerKind, config: &Arc<Config>, event: LambdaEvent<Value>) -> Value {
    let state = HandlerState::new(kind, Some(config.clone())).unwrap();
    handle(&state, event).await.unwrap()
}

/// The flow cookie and state of a sign-in started by authorize at the edge.
async fn flow(config: &Arc<Config>) -> (String, String, edge_auth_core::flow::FlowCookie) {
    let (callback, flow) = start(config).await;
    let request = &callback.payload["Records"][0]["cf"]["request"];
    let query = request["querystring"].as_str().unwrap().to_owned();
    let cookie = request["headers"]["cookie"][0]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    (query, cookie, flow)
}

#[tokio::test]
async fn the_callback_as_a_function_url_signs_in_with_cookies_in_the_list() {
    let boot = ProviderServer::start(vec![]).await;
    let (query, flow_cookie, flow) = flow(&regional_config(&boot, "fu-a", Some(SITE))).await;
    let id = fresh_id_token(Some(&flow.nonce));
    let server = ProviderServer::start(vec![Answer::Json(
        200,
        json!({"id_token": id, "access_token": "at", "refresh_token": "rt.value"}).to_string(),
    )])
    .await;
    let config = regional_config(&server, "fu-a", Some(SITE));
    let answer = run_regional(
        HandlerKind::Signin,
        &config,
        function_url_event("/_edge-auth/callback", &query, &[flow_cookie]),
    )
    .await;
    assert_eq!(answer["statusCode"], 302, "{answer}");
    // Back where the sign-in began, on the site (a relative redirect).
    assert_eq!(answer["headers"]["location"], "/docs/deep.html?tab=2");
    let cookies: Vec<&str> = answer["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__Host-edge-auth-session=ey")),
        "{cookies:?}"
    );
    assert!(
        cookies
            .iter()
            // Bound to the new session's id: `<sid>.n.<token>`.
            .any(|c| c.starts_with("__Secure-edge-auth-refresh=") && c.contains(".n.rt.value;")),
        "{cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__Host-edge-auth-flow-") && c.contains("Max-Age=0"))
    );
    assert!(
        answer["headers"].get("set-cookie").is_none(),
        "Set-Cookie goes in the list"
    );
    assert_eq!(answer["isBase64Encoded"], false);
    // The code was exchanged with the site's callback, not the function URL's.
    let exchange = &server.requests()[0];
    assert!(
        exchange
            .body
            .contains("redirect_uri=https%3A%2F%2Fdocs.example.com%2F_edge-auth%2Fcallback"),
        "{}",
        exchange.body
    );
}

#[tokio::test]
async fn sign_out_and_refresh_answer_as_function_urls() {
    let server = ProviderServer::start(vec![
        Answer::Json(200, "".into()),
        Answer::Json(400, r#"{"error":"invalid_grant"}"#.into()),
    ])
    .await;
    let config = regional_config(&server, "fu-b", Some(SITE));
    let refresh = vec![
        edge_auth_testkit::refresh_cookie("rt.value"),
        format!("__Host-edge-auth-session={}", edge_auth_testkit::session()),
    ];
    let out = run_regional(
        HandlerKind::Signout,
        &config,
        function_url_event("/_edge-auth/signout", "", &refresh),
    )
    .await;
    assert_eq!(out["statusCode"], 302, "{out}");
    let location = out["headers"]["location"].as_str().unwrap();
    assert!(
        location.contains("logout_uri=https%3A%2F%2Fdocs.example.com%2Fsigned-out.html"),
        "{location}"
    );
    assert!(
        out["cookies"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.as_str().unwrap().contains("Max-Age=0"))
    );
    assert_eq!(server.requests()[0].path, "/oauth2/revoke");

    let again = run_regional(
        HandlerKind::Refresh,
        &config,
        function_url_event("/_edge-auth/refresh", "return=%2Fdocs%2F", &refresh),
    )
    .await;
    // A refused refresh token starts a sign-in, at the provider.
    assert_eq!(again["statusCode"], 302, "{again}");
    assert!(
        again["headers"]["location"]
            .as_str()
            .unwrap()
            .starts_with(&server.base_url())
    );
}

#[tokio::test]
async fn without_the_site_address_no_redirect_goes_to_the_function_url() {
    // The function URL's own name is never taken for the site's.
    let server = ProviderServer::start(vec![]).await;
    let config = regional_config(&server, "fu-c", None);
    let out = run_regional(
        HandlerKind::Refresh,
        &config,
        function_url_event("/_edge-auth/refresh", "return=%2F", &[]),
    )
    .await;
    assert_eq!(out["statusCode"], 400, "{out}");
    assert!(
        out["body"]
            .as_str()
            .unwrap()
            .contains("does not name a valid host")
    );
    assert!(!out.to_string().contains("lambda-url"), "{out}");
}

#[tokio::test]
async fn malformed_function_url_events_are_named_errors() {
    let server = ProviderServer::start(vec![]).await;
    let config = regional_config(&server, "fu-d", Some(SITE));
    let state = HandlerState::new(HandlerKind::Signin, Some(config)).unwrap();
    let mut no_method = function_url_event("/_edge-auth/callback", "", &[]);
    no_method.payload["requestContext"]["http"]
        .as_object_mut()
        .unwrap()
        .remove("method");
    let mut not_a_map = function_url_event("/_edge-auth/callback", "", &[]);
    not_a_map.payload["headers"] = json!(["accept"]);
    let mut bad_context = function_url_event("/_edge-auth/callback", "", &[]);
    bad_context.payload["requestContext"] = json!("nope");
    for (event, complaint) in [
        (no_method, "requestContext.http.method is missing"),
        (not_a_map, "not a function URL event"),
        (bad_context, "not a function URL event"),
    ] {
        let err = handle(&state, event).await.unwrap_err().to_string();
        assert!(err.contains(complaint), "{err}");
    }
}

/// The function URL event the README's `cargo lambda invoke` example sends
/// (crates/testkit/fixtures/function-url-refresh.json): refresh without a
/// refresh token starts a sign-in whose redirect URI is the site's, and
/// the flow cookie goes out in the `cookies` list.
#[tokio::test]
async fn the_documented_function_url_fixture_starts_a_sign_in() {
    let server = ProviderServer::start(vec![]).await;
    let config = regional_config(&server, "fu-fixture", Some(SITE));
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testkit/fixtures/function-url-refresh.json"),
    )
    .unwrap();
    let event = LambdaEvent::new(
        serde_json::from_str::<Value>(&text).unwrap(),
        lambda_runtime::Context::default(),
    );
    let out = run_regional(HandlerKind::Refresh, &config, event).await;
    assert_eq!(out["statusCode"], 302, "{out}");
    let location = out["headers"]["location"].as_str().unwrap();
    assert!(location.starts_with(&server.base_url()), "{location}");
    assert!(
        location.contains("redirect_uri=https%3A%2F%2Fdocs.example.com%2F_edge-auth%2Fcallback"),
        "{location}"
    );
    assert!(
        out["cookies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().starts_with("__Host-edge-auth-flow-"))
    );
    assert!(server.requests().is_empty());
}

/// RFC 9110 §5.5: bytes beyond ASCII in an unrelated header (a User-Agent,
/// a proxy's header) are opaque data, not a reason to fail the invocation
/// (which CloudFront would show as a 502).
#[tokio::test]
async fn a_header_beyond_ascii_does_not_fail_the_invocation() {
    let server = ProviderServer::start(vec![]).await;
    let config = regional_config(&server, "fu-utf8", Some(SITE));
    let mut event = function_url_event("/_edge-auth/refresh", "return=%2Fdocs%2F", &[]);
    event.payload["headers"]["user-agent"] = json!("Mozilla/5.0 (Lïnux; Überbrowser) 日本");
    event.payload["headers"]["x-proxy-note"] = json!("caf\u{e9}");
    let answer = run_regional(HandlerKind::Refresh, &config, event).await;
    assert_eq!(answer["statusCode"], 302, "{answer}");
    let location = answer["headers"]["location"].as_str().unwrap();
    assert!(
        location.starts_with(&format!("{}/oauth2/authorize?", server.base_url())),
        "{location}"
    );
}
