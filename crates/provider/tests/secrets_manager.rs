//! The client secret from Secrets Manager, against moto's AWS API emulator
//! started by this test on 127.0.0.1 (`pip install 'moto[server]'`).

use std::sync::Arc;

use edge_auth_core::Config;
use edge_auth_provider::{CredentialsError, ProviderGateway, load_credentials};
use edge_auth_testkit::provider_server::{Answer, ProviderServer};
use edge_auth_testkit::{self as kit};
use serde_json::json;

fn config(secret_id: &str, endpoint: &str, provider: &str) -> Arc<Config> {
    let mut v = kit::config_value(provider);
    v["secret"] = json!({"kind": "secrets_manager", "secret_id": secret_id, "region": "eu-north-1", "endpoint_url": endpoint});
    v["provider"]["clock_skew_seconds"] = json!(0);
    Arc::new(Config::from_json(&v.to_string()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_from_secrets_manager() {
    // SAFETY: this binary has one test; nothing else reads the environment concurrently.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        // Never let the SDK look for instance metadata off this machine.
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    let moto = edge_auth_testkit::moto::start();

    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-north-1"))
        .endpoint_url(&moto.url)
        .load()
        .await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let created = client
        .create_secret()
        .name("edge-auth/test/client")
        .secret_string(
            json!({"client_id": kit::CLIENT_ID, "client_secret": "from-secrets-manager"})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_owned();

    // By ARN, as the user-pool stack outputs it.
    let credentials = load_credentials(&config(&arn, &moto.url, "https://unused.example"))
        .await
        .unwrap();
    assert_eq!(
        credentials.client_secret.as_deref(),
        Some("from-secrets-manager")
    );

    // A secret that does not exist is a typed error naming the cause.
    let err = load_credentials(&config(
        "edge-auth/nope",
        &moto.url,
        "https://unused.example",
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(err, CredentialsError::SecretsManager(ref m) if m.contains("ResourceNotFound")),
        "{err}"
    );

    // The whole sign-in with the secret from Secrets Manager in the Basic header.
    let server = ProviderServer::start(vec![Answer::Json(
        400,
        r#"{"error":"invalid_grant"}"#.into(),
    )])
    .await;
    let gateway = ProviderGateway::new(config(&arn, &moto.url, &server.base_url()));
    let callback = callback_for(&gateway);
    let outcome = gateway.signin(&callback, kit::NOW, None).await;
    assert_eq!(outcome.event, "code-refused");
    let basic = server.requests()[0].authorization.clone().unwrap();
    let decoded =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &basic[6..]).unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!("{}:from-secrets-manager", kit::CLIENT_ID)
    );

    // Secrets Manager unreachable: a clear 503 page, not a crash.
    let dead = format!("http://127.0.0.1:{}", edge_auth_testkit::moto::free_port());
    let gateway = ProviderGateway::new(config(&arn, &dead, &server.base_url()));
    let callback = callback_for(&gateway);
    let outcome = gateway.signin(&callback, kit::NOW, None).await;
    assert_eq!(outcome.status(), Some("503"));
    assert_eq!(outcome.event, "credentials-unavailable");
}

/// A callback event for a flow started by authorize at the test clock.
fn callback_for(gateway: &ProviderGateway) -> edge_auth_core::event::CloudFrontPayload {
    use edge_auth_core::authorize::authorize;
    let (request, dist) = kit::viewer_request("/", "", &[]);
    let out = authorize(
        request,
        &dist,
        gateway.config(),
        kit::NOW,
        &mut kit::CountingEntropy(3),
    );
    let edge_auth_core::HandlerOutput::Respond(r) = out.output else {
        panic!()
    };
    let location = r.headers.first("location").unwrap();
    let q = edge_auth_core::query::parse_query(location.split_once('?').unwrap().1).unwrap();
    let state = q.iter().find(|(k, _)| k == "state").unwrap().1.clone();
    let cookie = r
        .headers
        .first("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut payload = kit::payload(kit::VIEWER_REQUEST);
    payload.request.uri = "/_edge-auth/callback".into();
    payload.request.querystring = format!("code=c&state={state}");
    payload.request.headers.append("Cookie", cookie);
    payload
}
