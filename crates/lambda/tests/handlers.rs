//! The handlers as Lambda runs them: a LambdaEvent with a real-shaped
//! CloudFront event in, the answer out, the provider a real HTTP server on
//! 127.0.0.1.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use edge_auth_core::Config;
use edge_auth_lambda::{HandlerKind, HandlerState, handle};
use edge_auth_testkit::provider_server::{Answer, ProviderServer};
use edge_auth_testkit::{self as kit};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

#[tokio::test]
async fn full_signin_against_a_real_http_provider() {
    let server = ProviderServer::start(vec![]).await;
    let config = config_for(&server, "full");
    let (callback, flow) = start(&config).await;
    let id = fresh_id_token(Some(&flow.nonce));
    let server = ProviderServer::start(vec![Answer::Json(200, json!({"id_token": id, "access_token": "at", "refresh_token": "rt.secret.value", "token_type": "Bearer", "expires_in": 3600}).to_string())]).await;
    let config = config_for(&server, "full");
    let answer = run(HandlerKind::Signin, &config, callback).await;
    assert_eq!(answer["status"], "302", "{answer}");
    assert_eq!(header(&answer, "location"), vec!["/docs/deep.html?tab=2"]);
    let cookies = header(&answer, "set-cookie");
    let session = cookies
        .iter()
        .find_map(|c| c.strip_prefix("__Host-edge-auth-session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie");
    assert_ne!(
        session, id,
        "the session is the deployment's, not the ID token"
    );
    assert_eq!(
        config.sessions.verify(session, now()).unwrap().sub,
        "3b7a1f5e-0000-4000-8000-000000000001"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__Secure-edge-auth-refresh=")
                && c.contains(".n.rt.secret.value;"))
    );

    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].method.as_str(), sent[0].path.as_str()),
        ("POST", "/oauth2/token")
    );
    let form = edge_auth_core::query::parse_query(&sent[0].body).unwrap();
    let get = |n: &str| {
        form.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get("code"), "auth-code-123");
    assert_eq!(get("code_verifier"), flow.verifier);
    assert_eq!(get("grant_type"), "authorization_code");
    let basic = sent[0].authorization.clone().unwrap();
    assert!(basic.starts_with("Basic "), "client_secret_basic");
}

/// The authorization code is single-use: a 5xx (or a lost answer) may mean
/// the provider spent it, and a second copy would only earn invalid_grant.
/// It is sent once; only a connection that was never made is tried again.
#[tokio::test]
async fn a_code_exchange_is_never_sent_twice() {
    let server = ProviderServer::start(vec![]).await;
    let config = config_for(&server, "retry");
    let (callback, flow) = start(&config).await;
    let ok = json!({"id_token": fresh_id_token(Some(&flow.nonce))}).to_string();
    let server =
        ProviderServer::start(vec![Answer::Json(502, "{}".into()), Answer::Json(200, ok)]).await;
    let config = config_for(&server, "retry");
    let answer = run(HandlerKind::Signin, &config, callback).await;
    assert_eq!(answer["status"], "503");
    assert_eq!(server.requests().len(), 1, "sent once");
}

/// Revoking is idempotent: a 5xx is tried again.
#[tokio::test]
async fn a_revocation_is_retried_after_a_5xx() {
    let server = ProviderServer::start(vec![
        Answer::Json(500, "{}".into()),
        Answer::Json(200, String::new()),
    ])
    .await;
    let config = config_for(&server, "revoke");
    let signout = event(
        kit::VIEWER_REQUEST,
        "/_edge-auth/signout",
        "",
        &[kit::refresh_cookie("rt.1")],
    );
    let answer = run(HandlerKind::Signout, &config, signout).await;
    assert_eq!(answer["status"], "302");
    assert_eq!(server.requests().len(), 2);
}

/// A request that could not even connect never reached the provider: it is
/// tried again, single-use credential or not (the second attempt fails the
/// same way here, and the user gets the "cannot be reached" page).
#[tokio::test]
async fn a_refused_connection_is_tried_again() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let server = ProviderServer::start(vec![]).await;
    let config = config_for(&server, "refused");
    let (callback, _) = start(&config).await;
    let mut value = serde_json::to_value(&config.file).unwrap();
    value["provider"]["token_endpoint"] = json!(format!("http://127.0.0.1:{port}/oauth2/token"));
    let refused = Arc::new(Config::from_json(&value.to_string()).unwrap());
    let started = std::time::Instant::now();
    let answer = run(HandlerKind::Signin, &refused, callback).await;
    assert_eq!(answer["status"], "503");
    // Two attempts, with the pause between them.
    assert!(started.elapsed() >= std::time::Duration::from_millis(100));
}

#[tokio::test]
async fn provider_failures_become_pages() {
    let cases = [
        (
            vec![
                Answer::Json(500, "{}".into()),
                Answer::Json(503, "{}".into()),
            ],
            "503",
            1,
        ),
        (
            vec![Answer::Slow(Duration::from_millis(1500), 200, "{}".into())],
            "504",
            1,
        ),
        (vec![Answer::Hangup, Answer::Hangup], "503", 1),
        (vec![Answer::Json(200, "not json".into())], "503", 1),
        (
            vec![Answer::Json(400, r#"{"error":"invalid_grant"}"#.into())],
            "400",
            1,
        ),
    ];
    for (script, status, calls) in cases {
        let server = ProviderServer::start(vec![]).await;
        let config = config_for(&server, "fail");
        let (callback, _) = start(&config).await;
        let server = ProviderServer::start(script.clone()).await;
        let config = config_for(&server, "fail");
        let answer = run(HandlerKind::Signin, &config, callback).await;
        assert_eq!(answer["status"], status, "{script:?}: {answer}");
        assert_eq!(
            header(&answer, "content-type"),
            vec!["text/html; charset=utf-8"]
        );
        assert_eq!(server.requests().len(), calls, "{script:?}");
    }
}

#[tokio::test]
async fn nothing_listening_is_a_503_page() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut v = kit::config_value(&format!("http://127.0.0.1:{port}"));
    v["secret"] = json!({"kind": "file", "path": secret_file("closed")});
    v["http"] = json!({"timeout_ms": 500, "retries": 0});
    let config = Arc::new(Config::from_json(&v.to_string()).unwrap());
    let (callback, _) = start(&config).await;
    let answer = run(HandlerKind::Signin, &config, callback).await;
    assert_eq!(answer["status"], "503");
    assert!(
        answer["body"]
            .as_str()
            .unwrap()
            .contains("cannot be reached")
    );
}

#[tokio::test]
async fn missing_secret_is_a_503_page_and_signout_still_works() {
    let server = ProviderServer::start(vec![]).await;
    let mut v = kit::config_value(&server.base_url());
    v["secret"] = json!({"kind": "file", "path": "/nonexistent/edge-auth-secret.json"});
    let config = Arc::new(Config::from_json(&v.to_string()).unwrap());
    let (callback, _) = start(&config).await;
    let answer = run(HandlerKind::Signin, &config, callback).await;
    assert_eq!(answer["status"], "503");
    assert!(
        answer["body"]
            .as_str()
            .unwrap()
            .contains("cannot read its own credentials")
    );
    assert!(server.requests().is_empty());

    let signout = run(
        HandlerKind::Signout,
        &config,
        event(
            kit::VIEWER_REQUEST,
            "/_edge-auth/signout",
            "",
            &[kit::refresh_cookie("rt")],
        ),
    )
    .await;
    assert_eq!(signout["status"], "302");
    assert_eq!(header(&signout, "set-cookie").len(), 3);
}

#[tokio::test]
async fn refresh_and_signout_call_the_provider() {
    let id = fresh_id_token(None);
    let server = ProviderServer::start(vec![
        Answer::Json(
            200,
            json!({"id_token": id, "access_token": "a"}).to_string(),
        ),
        Answer::Json(400, r#"{"error":"invalid_grant"}"#.into()),
        Answer::Json(200, "".into()),
    ])
    .await;
    let config = config_for(&server, "refresh");
    let cookie = vec![
        kit::refresh_cookie("rt.1"),
        format!("__Host-edge-auth-session={}", kit::session()),
    ];
    let ok = run(
        HandlerKind::Refresh,
        &config,
        event(
            kit::VIEWER_REQUEST,
            "/_edge-auth/refresh",
            "return=%2Fa%3Fb%3D1",
            &cookie,
        ),
    )
    .await;
    assert_eq!(header(&ok, "location"), vec!["/a?b=1"]);
    let renewed = &header(&ok, "set-cookie")[0];
    assert!(
        renewed.starts_with("__Host-edge-auth-session=ey"),
        "{renewed}"
    );
    assert!(!renewed.contains(&id));

    let revoked = run(
        HandlerKind::Refresh,
        &config,
        event(
            kit::VIEWER_REQUEST,
            "/_edge-auth/refresh",
            "return=/a",
            &cookie,
        ),
    )
    .await;
    assert!(
        header(&revoked, "location")[0].contains("/oauth2/authorize?"),
        "revoked refresh token starts a sign-in"
    );

    let out = run(
        HandlerKind::Signout,
        &config,
        event(kit::VIEWER_REQUEST, "/_edge-auth/signout", "", &cookie),
    )
    .await;
    assert!(header(&out, "location")[0].contains("/logout?client_id="));
    let sent = server.requests();
    assert_eq!(
        sent.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
        ["/oauth2/token", "/oauth2/token", "/oauth2/revoke"]
    );
    assert!(
        sent[2]
            .body
            .starts_with("token=rt.1&token_type_hint=refresh_token")
    );
}

#[tokio::test]
async fn index_path_needs_no_config() {
    let state = HandlerState::new(HandlerKind::IndexPath, None).unwrap();
    let v: Value = serde_json::from_str(kit::ORIGIN_REQUEST_S3).unwrap();
    let answer = handle(&state, LambdaEvent::new(v, Context::default()))
        .await
        .unwrap();
    assert_eq!(answer["uri"], "/docs/index.html");
    assert_eq!(answer["origin"]["s3"]["region"], "eu-north-1");
    assert!(HandlerState::new(HandlerKind::Authorize, None).is_err());
}

#[tokio::test]
async fn malformed_events_are_function_errors_not_panics() {
    let state = HandlerState::new(HandlerKind::IndexPath, None).unwrap();
    for bad in [
        json!({}),
        json!({"Records": []}),
        json!({"Records": [{"cf": {}}]}),
        json!("x"),
    ] {
        let err = handle(&state, LambdaEvent::new(bad, Context::default()))
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with("invalid event"), "{err}");
    }
}

#[test]
fn config_errors_name_the_file_and_field() {
    let dir = std::env::temp_dir().join(format!("edge-auth-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.json");
    std::fs::write(&path, r#"{"version": 1}"#).unwrap();
    let err = edge_auth_lambda::load_config(&path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("provider") && err.contains("is required"),
        "{err}"
    );
    let missing = edge_auth_lambda::load_config(&dir.join("nope.json"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("nope.json"), "{missing}");
}
