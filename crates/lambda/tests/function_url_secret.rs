//! The regional sign-in reads its client secret from Secrets Manager (moto's
//! emulator on 127.0.0.1, as the deploy tool configures it) and exchanges
//! the code at the token endpoint (the scripted provider on 127.0.0.1) with
//! it, for a function URL event.

mod common;

use std::sync::Arc;

use base64::Engine;
use common::*;
use edge_auth_core::Config;
use edge_auth_lambda::{HandlerKind, HandlerState, handle};
use edge_auth_testkit::provider_server::{Answer, ProviderServer};
use edge_auth_testkit::{self as kit};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_regional_callback_signs_in_with_the_secret_from_secrets_manager() {
    // SAFETY: this binary has one test; nothing else reads the environment concurrently.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    let moto = edge_auth_testkit::moto::start();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .endpoint_url(&moto.url)
        .load()
        .await;
    let arn = aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name("edge-auth/regional/app-client")
        .secret_string(
            json!({"client_id": kit::CLIENT_ID, "client_secret": "from-the-region"}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();

    // authorize at the edge starts the flow (no secret needed there).
    let boot = ProviderServer::start(vec![]).await;
    let (callback, flow) = start(&config_for(&boot, "regional-secret")).await;
    let request = &callback.payload["Records"][0]["cf"]["request"];
    let query = request["querystring"].as_str().unwrap().to_owned();
    let cookie = request["headers"]["cookie"][0]["value"]
        .as_str()
        .unwrap()
        .to_owned();

    let id = fresh_id_token(Some(&flow.nonce));
    let server = ProviderServer::start(vec![Answer::Json(
        200,
        json!({"id_token": id, "access_token": "at", "refresh_token": "rt.value"}).to_string(),
    )])
    .await;
    let mut v = kit::config_value(&server.base_url());
    v["secret"] = json!({"kind": "secrets_manager", "secret_id": arn, "region": "eu-west-1", "endpoint_url": moto.url});
    v["provider"]["clock_skew_seconds"] = json!(0);
    v["site"] = json!({"base_url": "https://docs.example.com"});
    let config = Arc::new(Config::from_json(&v.to_string()).unwrap());
    let state = HandlerState::new(HandlerKind::Signin, Some(config)).unwrap();

    let answer = handle(
        &state,
        function_url_event("/_edge-auth/callback", &query, &[cookie]),
    )
    .await
    .unwrap();
    assert_eq!(answer["statusCode"], 302, "{answer}");
    let exchange = &server.requests()[0];
    let basic = exchange
        .authorization
        .as_deref()
        .unwrap()
        .strip_prefix("Basic ")
        .unwrap();
    let decoded = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(basic)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(decoded, format!("{}:from-the-region", kit::CLIENT_ID));
}
