//! Every log line is JSON, and none holds a token, code, verifier, nonce or
//! secret, across sign-in, refresh, sign-out and failures.

mod common;

use common::*;
use edge_auth_lambda::HandlerKind;
use edge_auth_testkit::provider_server::{Answer, ProviderServer};
use edge_auth_testkit::{self as kit};
use serde_json::{Value, json};

#[tokio::test]
async fn logs_are_json_and_hold_no_secrets() {
    let logs = Captured::default();
    logs.install_global();
    let server = ProviderServer::start(vec![]).await;
    let config = config_for(&server, "logs");
    let (callback, flow) = start(&config).await;
    let id = fresh_id_token(Some(&flow.nonce));
    let server = ProviderServer::start(vec![
        Answer::Json(
            200,
            json!({"id_token": id, "access_token": "at", "refresh_token": "rt.secret.value"})
                .to_string(),
        ),
        Answer::Json(
            200,
            json!({"id_token": id, "refresh_token": "rt.rotated.value"}).to_string(),
        ),
        Answer::Json(400, r#"{"error":"invalid_grant"}"#.into()),
        Answer::Json(200, "".into()),
    ])
    .await;
    let config = config_for(&server, "logs");
    let answer = run(HandlerKind::Signin, &config, callback).await;
    assert_eq!(answer["status"], "302");
    let rt = vec![
        kit::refresh_cookie("rt.secret.value"),
        format!("__Host-edge-auth-session={}", kit::session()),
    ];
    run(
        HandlerKind::Refresh,
        &config,
        event(kit::VIEWER_REQUEST, "/_edge-auth/refresh", "return=/", &rt),
    )
    .await;
    run(
        HandlerKind::Refresh,
        &config,
        event(kit::VIEWER_REQUEST, "/_edge-auth/refresh", "return=/", &rt),
    )
    .await;
    run(
        HandlerKind::Signout,
        &config,
        event(kit::VIEWER_REQUEST, "/_edge-auth/signout", "", &rt),
    )
    .await;
    // A provider's ID token where the session belongs is refused.
    let bad = vec![format!(
        "__Host-edge-auth-session={}",
        kit::id_token().sign()
    )];
    run(
        HandlerKind::Authorize,
        &config,
        event(kit::VIEWER_REQUEST, "/x", "", &bad),
    )
    .await;

    let lines = logs.lines();
    let decisions: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["decision"].as_str())
        .collect();
    assert_eq!(
        decisions,
        [
            "signin-started",
            "signed-in",
            "refreshed",
            "signin-started",
            "signed-out",
            "signin-started"
        ]
    );
    // The audit fields: the site, and the session's pseudonymous ids where
    // the decision was about one (a new or renewed session), none before.
    for line in lines.iter().filter(|l| l["decision"].is_string()) {
        assert!(line["site"].is_string(), "{line}");
        let (sub, sid) = (line["sub"].as_str().unwrap(), line["sid"].as_str().unwrap());
        match line["decision"].as_str().unwrap() {
            "signed-in" | "refreshed" => {
                assert!(!sub.is_empty() && sid.len() >= 16, "{line}")
            }
            "signin-started" => assert!(sub.is_empty() && sid.is_empty(), "{line}"),
            _ => {}
        }
    }
    let renewed: Vec<&str> = lines
        .iter()
        .filter(|l| l["decision"] == "signed-in" || l["decision"] == "refreshed")
        .map(|l| l["sub"].as_str().unwrap())
        .collect();
    assert_eq!(renewed.len(), 2);
    assert_eq!(renewed[0], renewed[1], "one user throughout");
    // A visit without a session is routine (debug, like a page view); a
    // refused token is worth a line at info.
    let levels: Vec<(&str, &str)> = lines
        .iter()
        .filter(|l| l["decision"] == "signin-started")
        .map(|l| (l["level"].as_str().unwrap(), l["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(
        levels,
        [
            ("DEBUG", ""),
            ("INFO", "refresh token refused: invalid_grant"),
            (
                "INFO",
                "token refused: signed with an algorithm that is not allowed"
            )
        ]
    );
    let text = lines.iter().map(Value::to_string).collect::<String>();
    let basic = server.requests()[0].authorization.clone().unwrap();
    for secret in [
        id.as_str(),
        "auth-code-123",
        &flow.verifier,
        &flow.nonce,
        SECRET,
        "rt.secret.value",
        "rt.rotated.value",
        &basic[6..],
        &bad[0][20..],
    ] {
        assert!(!text.contains(secret), "a log line leaks {secret}");
    }
}
