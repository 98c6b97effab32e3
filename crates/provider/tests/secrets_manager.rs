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
    let outcome = gateway
        .signin(&callback, &|| kit::NOW, &mut kit::CountingEntropy(1), None)
        .await;
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
    let outcome = gateway
        .signin(&callback, &|| kit::NOW, &mut kit::CountingEntropy(1), None)
        .await;
    assert_eq!(outcome.status(), Some("503"));
    assert_eq!(outcome.event, "credentials-unavailable");

    // The session key set from Secrets Manager, and a provider that has
    // rotated its signing key since the deployment: the ID token names
    // `test-key-2`, which config.json's key set lacks; the gateway fetches
    // `jwks_uri` once, finds it, signs the user in.
    let session_keys = client
        .create_secret()
        .name("edge-auth/test/session-keys")
        .secret_string(
            json!({"signing_kid": kit::SESSION_KID, "keys": [kit::session_key_file()]}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let rotated_jwks = json!({"keys": [
        serde_json::from_str::<serde_json::Value>(kit::JWKS).unwrap()["keys"][0].clone(),
        serde_json::from_str::<serde_json::Value>(include_str!("../../testkit/keys/other-key.jwk.json")).unwrap(),
    ]});
    let with_keys_value = |provider: &str| {
        let mut v = kit::config_value(provider);
        v["secret"] = json!({"kind": "secrets_manager", "secret_id": arn, "region": "eu-north-1", "endpoint_url": moto.url});
        v["session"]["signing_keys"] = json!({"kind": "secrets_manager", "secret_id": session_keys, "region": "eu-north-1", "endpoint_url": moto.url});
        v["provider"]["jwks_uri"] = json!(format!("{provider}/.well-known/jwks.json"));
        v
    };
    let with_keys = |provider: &str| {
        Arc::new(Config::from_json(&with_keys_value(provider).to_string()).unwrap())
    };
    let id_token = |kid: &str, callback: &edge_auth_core::event::CloudFrontPayload| {
        let cookie = callback.request.headers.first("cookie").unwrap();
        let flow =
            edge_auth_core::flow::FlowCookie::decode(cookie.split_once('=').unwrap().1).unwrap();
        kit::id_token()
            .kid(Some(kid))
            .attacker_key()
            .claim("nonce", flow.nonce)
            .sign()
    };
    let server = ProviderServer::start(vec![]).await;
    let gateway = ProviderGateway::new(with_keys(&server.base_url()));
    let callback = callback_for(&gateway);
    server.push(Answer::Json(
        200,
        json!({"id_token": id_token("test-key-2", &callback), "refresh_token": "rt"}).to_string(),
    ));
    server.push(Answer::Json(200, rotated_jwks.to_string()));
    let outcome = gateway
        .signin(&callback, &|| kit::NOW, &mut kit::CountingEntropy(1), None)
        .await;
    assert_eq!(outcome.event, "signed-in", "{:?}", outcome.detail);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        (requests[1].method.as_str(), requests[1].path.as_str()),
        ("GET", "/.well-known/jwks.json")
    );
    let edge_auth_core::HandlerOutput::Respond(r) = &outcome.output else {
        panic!()
    };
    let session = kit::set_cookies(r)
        .into_iter()
        .find(|(n, _)| n == "__Host-edge-auth-session")
        .unwrap()
        .1;
    let claims = gateway
        .config()
        .sessions
        .verify(&session, kit::NOW)
        .unwrap();
    assert_eq!(claims.sub, "3b7a1f5e-0000-4000-8000-000000000001");

    // config.json as the deploy tool writes it: key ids, no key material.
    // The gateway reads the material from the key set in Secrets Manager:
    // the session it signs verifies, and a refresh finds the session it
    // renews (a refreshed ID token for another user is refused as such,
    // which only a verified old session can tell).
    let ids_only = |provider: &str| {
        let mut v = with_keys_value(provider);
        v["session"].as_object_mut().unwrap().remove("keys");
        v["session"]["kids"] = json!([kit::SESSION_KID]);
        Arc::new(Config::from_json(&v.to_string()).unwrap())
    };
    let server = ProviderServer::start(vec![]).await;
    let gateway = ProviderGateway::new(ids_only(&server.base_url()));
    assert!(
        gateway
            .config()
            .sessions
            .verify(&kit::session(), kit::NOW)
            .is_err(),
        "config.json alone verifies nothing"
    );
    let callback = callback_for_config(&with_keys(&server.base_url()));
    server.push(Answer::Json(
        200,
        json!({"id_token": id_token("test-key-2", &callback), "refresh_token": "rt"}).to_string(),
    ));
    server.push(Answer::Json(200, rotated_jwks.to_string()));
    let outcome = gateway
        .signin(&callback, &|| kit::NOW, &mut kit::CountingEntropy(1), None)
        .await;
    assert_eq!(outcome.event, "signed-in", "{:?}", outcome.detail);
    let edge_auth_core::HandlerOutput::Respond(r) = &outcome.output else {
        panic!()
    };
    let set = kit::set_cookies(r);
    let cookie = |name: &str| {
        let value = &set.iter().find(|(n, _)| n == name).unwrap().1;
        format!("{name}={value}")
    };
    let mut refresh = kit::payload(kit::VIEWER_REQUEST);
    refresh.request.uri = "/_edge-auth/refresh".into();
    refresh.request.querystring = "return=%2F".into();
    refresh.request.headers.append(
        "Cookie",
        format!(
            "{}; {}",
            cookie("__Host-edge-auth-session"),
            cookie("__Secure-edge-auth-refresh")
        ),
    );
    server.push(Answer::Json(
        200,
        json!({"id_token": kit::id_token().attacker_key().kid(Some("test-key-2")).claim("sub", "someone-else").sign()}).to_string(),
    ));
    let outcome = gateway
        .refresh(&refresh, &|| kit::NOW, &mut kit::CountingEntropy(1), None)
        .await;
    assert_eq!(
        outcome.event, "refresh-other-subject",
        "{:?}",
        outcome.detail
    );

    // Made-up key ids: the key set is fetched for the first, not for every
    // one (at most one fetch per 10 s, and per key id per 5 minutes).
    let server = ProviderServer::start(vec![]).await;
    let gateway = ProviderGateway::new(with_keys(&server.base_url()));
    for (i, kid) in ["made-up-1", "made-up-2", "made-up-1"].iter().enumerate() {
        let callback = callback_for(&gateway);
        server.push(Answer::Json(
            200,
            json!({"id_token": id_token(kid, &callback)}).to_string(),
        ));
        if i == 0 {
            server.push(Answer::Json(200, rotated_jwks.to_string()));
        }
        let outcome = gateway
            .signin(&callback, &|| kit::NOW, &mut kit::CountingEntropy(1), None)
            .await;
        assert_eq!(
            (outcome.status(), outcome.event),
            (Some("401"), "id-token-refused")
        );
    }
    let gets = server
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    assert_eq!(gets, 1, "one key set fetch for three made-up key ids");
}

/// A callback event for a flow started by authorize at the test clock.
fn callback_for(gateway: &ProviderGateway) -> edge_auth_core::event::CloudFrontPayload {
    callback_for_config(gateway.config())
}

fn callback_for_config(config: &Config) -> edge_auth_core::event::CloudFrontPayload {
    use edge_auth_core::authorize::authorize;
    let (request, dist) = kit::viewer_request("/", "", &[]);
    let out = authorize(
        request,
        &dist,
        config,
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
