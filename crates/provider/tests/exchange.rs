//! The token exchange (`/_edge-auth/token`) against a local workload
//! issuer on 127.0.0.1 that publishes a discovery document and a key set
//! and signs tokens shaped as GitHub Actions' (the claims GitHub documents
//! in "About security hardening with OpenID Connect"): the real gateway,
//! its real HTTP client, its key cache.

use std::sync::Arc;

use edge_auth_core::authorize::authorize;
use edge_auth_core::{Config, HandlerOutput, Outcome};
use edge_auth_provider::ProviderGateway;
use edge_auth_testkit::provider_server::{Answer, ProviderServer};
use edge_auth_testkit::{self as kit, TokenBuilder};
use serde_json::{Value, json};

const AUDIENCE: &str = "https://docs.example.com";
const SUB: &str = "repo:example/docs:ref:refs/heads/main";

/// What GitHub's issuer serves at `/.well-known/openid-configuration`,
/// at this test's address.
fn discovery(issuer: &str) -> String {
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks"),
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["id_token"],
        "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "repository_id", "repository_owner", "repository_owner_id", "run_id", "run_number", "run_attempt", "actor", "actor_id", "workflow", "head_ref", "base_ref", "event_name", "ref_type", "environment", "job_workflow_ref"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid"]
    })
    .to_string()
}

/// A job's token as GitHub Actions mints it for `main` of example/docs.
fn github_token(issuer: &str) -> TokenBuilder {
    TokenBuilder::new(json!({
        "jti": "7d9c1f4e-51a9-4a55-9e61-0f5b7c3e2a10",
        "sub": SUB,
        "aud": AUDIENCE,
        "ref": "refs/heads/main",
        "sha": "d6cd1e2bd19e03a81132a23b2025920577f84e37",
        "repository": "example/docs",
        "repository_owner": "example",
        "repository_owner_id": "65",
        "repository_id": "74",
        "repository_visibility": "private",
        "actor": "octocat",
        "actor_id": "12",
        "run_id": "9876543210",
        "run_number": "10",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
        "workflow": "links",
        "head_ref": "",
        "base_ref": "",
        "event_name": "push",
        "ref_type": "branch",
        "job_workflow_ref": "example/docs/.github/workflows/links.yml@refs/heads/main",
        "iss": issuer,
        "nbf": kit::NOW - 60,
        "iat": kit::NOW - 30,
        "exp": kit::NOW + 270,
    }))
    .header("x5t", "cGxhY2Vob2xkZXI")
}

fn config_for(issuer: &str) -> Arc<Config> {
    let mut v = kit::config_value("https://unused.example");
    v["provider"]["clock_skew_seconds"] = json!(0);
    v["tokens"] = json!({
        "max_lifetime_seconds": 86_400,
        "trust": [{
            "name": "docs-links",
            "issuer": issuer,
            "audience": AUDIENCE,
            "claims": {"sub": "repo:example/docs:ref:refs/heads/*", "repository_owner_id": "65"},
            "groups": ["admins"],
            "ttl_seconds": 600
        }]
    });
    Arc::new(Config::from_json(&v.to_string()).unwrap())
}

/// GitHub's documented issuer answers, queued: discovery, then keys.
async fn issuer_with(jwks: &str) -> (ProviderServer, String) {
    let server = ProviderServer::start(vec![]).await;
    let issuer = server.base_url();
    server.push(Answer::Json(200, discovery(&issuer)));
    server.push(Answer::Json(200, jwks.to_owned()));
    (server, issuer)
}

fn exchange_request(tokens: &[&str]) -> edge_auth_core::event::CloudFrontPayload {
    let mut payload = kit::payload(kit::VIEWER_REQUEST);
    payload.request.uri = "/_edge-auth/token".into();
    payload.request.querystring = String::new();
    for token in tokens {
        payload
            .request
            .headers
            .append("X-Edge-Auth-Workload-Token", (*token).to_owned());
    }
    payload
}

async fn exchange(gateway: &ProviderGateway, tokens: &[&str], now: u64) -> Outcome {
    gateway
        .signin(
            &exchange_request(tokens),
            &move || now,
            &mut kit::CountingEntropy(9),
            None,
        )
        .await
}

fn body(outcome: &Outcome) -> Value {
    let HandlerOutput::Respond(r) = &outcome.output else {
        panic!("an answer, not a forward: {outcome:?}")
    };
    serde_json::from_str(r.body.as_deref().unwrap()).unwrap()
}

fn refused_with(outcome: &Outcome, status: &str, description: &str) {
    assert_eq!(outcome.status(), Some(status), "{outcome:?}");
    let body = body(outcome);
    assert_eq!(body["error_description"], description, "{body}");
    // Nothing of a token is ever in an answer or a log line about it.
    assert!(!body.to_string().contains("eyJ"));
}

#[tokio::test]
async fn a_github_shaped_token_is_exchanged_and_opens_what_its_policy_names() {
    let (server, issuer) = issuer_with(kit::JWKS).await;
    let gateway = ProviderGateway::new(config_for(&issuer));
    let token = github_token(&issuer).sign();

    let outcome = exchange(&gateway, &[&token], kit::NOW).await;
    assert_eq!(outcome.event, "token-exchanged", "{outcome:?}");
    assert_eq!(outcome.status(), Some("200"));
    let answer = body(&outcome);
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 600);
    let detail = outcome.detail.clone().unwrap();
    assert!(detail.contains("policy docs-links"), "{detail}");
    assert!(detail.contains(SUB), "{detail}");
    assert!(
        !detail.contains(&token) && !detail.contains("eyJ"),
        "{detail}"
    );

    // The discovery document, then its key set; nothing else.
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/.well-known/openid-configuration", "/.well-known/jwks"]
    );

    // The service token: ours, the policy's groups, ten minutes.
    let service = answer["access_token"].as_str().unwrap();
    let claims = gateway
        .config()
        .sessions
        .verify_service_at(service, kit::NOW, None, 86_400)
        .unwrap();
    assert_eq!(claims.groups, ["admins"]);
    assert_eq!(claims.exp, kit::NOW + 600);
    assert!(claims.sub.starts_with("token:"));
    assert!(claims.name.starts_with("docs-links ("));
    // Never a session: a cookie holding it is no sign-in.
    assert!(gateway.config().sessions.verify(service, kit::NOW).is_err());

    // It opens the rule's path as a bearer token, at the edge's check.
    let (mut request, dist) = kit::viewer_request("/admin/report.html", "", &[]);
    request
        .headers
        .append("Authorization", format!("Bearer {service}"));
    let decided = authorize(
        request.clone(),
        &dist,
        gateway.config(),
        kit::NOW + 60,
        &mut kit::CountingEntropy(1),
    );
    assert_eq!(decided.event, "allowed-by-rule", "{decided:?}");
    // And not after its ten minutes.
    let decided = authorize(
        request,
        &dist,
        gateway.config(),
        kit::NOW + 601,
        &mut kit::CountingEntropy(1),
    );
    assert_eq!(decided.status(), Some("401"));

    // A second exchange uses the keys it holds: no fetch.
    let again = exchange(&gateway, &[&token], kit::NOW + 1).await;
    assert_eq!(again.event, "token-exchanged");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn tokens_the_policy_does_not_admit_are_refused_with_why() {
    let (server, issuer) = issuer_with(kit::JWKS).await;
    let gateway = ProviderGateway::new(config_for(&issuer));
    let token = |t: TokenBuilder| t.sign();

    // Wrong audience: a token minted for another site.
    let other_site = token(github_token(&issuer).claim("aud", "https://github.com/example"));
    refused_with(
        &exchange(&gateway, &[&other_site], kit::NOW).await,
        "401",
        "wrong audience",
    );
    // Another repository, another owner, a tag instead of a branch.
    for (claim, value) in [
        ("sub", "repo:example/website:ref:refs/heads/main"),
        ("sub", "repo:evil/docs:ref:refs/heads/main"),
        ("sub", "repo:example/docs:ref:refs/tags/v1"),
        ("sub", "repo:example/docs:pull_request"),
        ("repository_owner_id", "66"),
    ] {
        let outcome = exchange(
            &gateway,
            &[&token(github_token(&issuer).claim(claim, value))],
            kit::NOW,
        )
        .await;
        refused_with(&outcome, "401", "no trust policy admits this token");
        // The log says which claim; the caller is not told the policy.
        let detail = outcome.detail.unwrap();
        assert!(
            detail.contains(&format!("{claim} does not match")),
            "{detail}"
        );
    }
    // A claim of the wrong type matches no pattern.
    let numeric = token(github_token(&issuer).claim("repository_owner_id", 65));
    refused_with(
        &exchange(&gateway, &[&numeric], kit::NOW).await,
        "401",
        "no trust policy admits this token",
    );
    // Expired; and the token that was exchanged, replayed after its expiry.
    let expired = token(
        github_token(&issuer)
            .claim("iat", kit::NOW - 900)
            .claim("nbf", kit::NOW - 900)
            .claim("exp", kit::NOW - 600),
    );
    refused_with(
        &exchange(&gateway, &[&expired], kit::NOW).await,
        "401",
        "expired",
    );
    let good = token(github_token(&issuer));
    assert_eq!(
        exchange(&gateway, &[&good], kit::NOW).await.event,
        "token-exchanged"
    );
    refused_with(
        &exchange(&gateway, &[&good], kit::NOW + 270).await,
        "401",
        "expired",
    );
    // Not yet valid.
    let early = token(github_token(&issuer).claim("nbf", kit::NOW + 120));
    refused_with(
        &exchange(&gateway, &[&early], kit::NOW).await,
        "401",
        "not valid yet",
    );
    // Signed by a key the issuer never published, under its key id.
    let forged = token(github_token(&issuer).attacker_key());
    refused_with(
        &exchange(&gateway, &[&forged], kit::NOW).await,
        "401",
        "bad signature",
    );
    // An unknown key id: looked for again, but not within ten seconds of
    // the last fetch, so made-up ids cannot make each request fetch.
    let unknown = token(github_token(&issuer).kid(Some("made-up")).attacker_key());
    refused_with(
        &exchange(&gateway, &[&unknown], kit::NOW).await,
        "401",
        "signed with an unknown key",
    );
    assert_eq!(server.requests().len(), 2, "no fetch for a made-up key id");

    // `alg` confusion: HS256 keyed with the issuer's public key, and none.
    let header = |alg: &str| {
        kit::b64(
            &serde_json::to_vec(&json!({"alg": alg, "typ": "JWT", "kid": "test-key-1"})).unwrap(),
        )
    };
    let claims = github_token(&issuer).claims_b64();
    let input = format!("{}.{claims}", header("HS256"));
    let mac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, kit::KEY_1_PUBLIC_PEM.as_bytes()),
        input.as_bytes(),
    );
    let hs256 = format!("{input}.{}", kit::b64(mac.as_ref()));
    refused_with(
        &exchange(&gateway, &[&hs256], kit::NOW).await,
        "401",
        "signed with an algorithm that is not allowed",
    );
    let none = format!("{}.{claims}.", header("none"));
    refused_with(
        &exchange(&gateway, &[&none], kit::NOW).await,
        "401",
        "signed with an algorithm that is not allowed",
    );
    // A service token of ours is no workload token.
    let ours = kit::signer().sign_service(&kit::session_claims());
    refused_with(
        &exchange(&gateway, &[&ours], kit::NOW).await,
        "401",
        "not a well-formed JWT",
    );
}

#[tokio::test]
async fn malformed_requests_get_a_clear_answer() {
    let (server, issuer) = issuer_with(kit::JWKS).await;
    let gateway = ProviderGateway::new(config_for(&issuer));
    let good = github_token(&issuer).sign();
    refused_with(
        &exchange(&gateway, &[], kit::NOW).await,
        "400",
        "send the workload's OIDC token, once, in the X-Edge-Auth-Workload-Token header",
    );
    refused_with(
        &exchange(&gateway, &[&good, &good], kit::NOW).await,
        "400",
        "send the workload's OIDC token, once, in the X-Edge-Auth-Workload-Token header",
    );
    for junk in ["", "not-a-jwt", "a.b", "a.b.c.d", "%%%.%%%.%%%"] {
        refused_with(
            &exchange(&gateway, &[junk], kit::NOW).await,
            "401",
            "not a well-formed JWT",
        );
    }
    let huge = format!("{}.{}.x", "a".repeat(20_000), "b");
    refused_with(
        &exchange(&gateway, &[&huge], kit::NOW).await,
        "401",
        "not a well-formed JWT",
    );
    let stranger = github_token("https://token.example.net").sign();
    refused_with(
        &exchange(&gateway, &[&stranger], kit::NOW).await,
        "401",
        "no trust policy names this token's issuer",
    );
    let mut post = exchange_request(&[&good]);
    post.request.method = "POST".into();
    let outcome = gateway
        .signin(&post, &|| kit::NOW, &mut kit::CountingEntropy(1), None)
        .await;
    refused_with(
        &outcome,
        "405",
        "the exchange is a GET with the workload's token in X-Edge-Auth-Workload-Token",
    );
    // None of these reached the issuer.
    assert!(server.requests().is_empty());

    // Without trust policies the path is no endpoint.
    let plain = ProviderGateway::new(Arc::new(kit::config()));
    let outcome = exchange(&plain, &[&good], kit::NOW).await;
    assert_eq!(outcome.status(), Some("404"));
}

#[tokio::test]
async fn an_issuer_that_rotates_its_key_is_followed_and_a_lying_one_is_not() {
    // The issuer signs with a key the held set lacks: fetched again.
    let (server, issuer) = issuer_with(kit::JWKS).await;
    let gateway = ProviderGateway::new(config_for(&issuer));
    let first = exchange(&gateway, &[&github_token(&issuer).sign()], kit::NOW).await;
    assert_eq!(first.event, "token-exchanged");
    let rotated = json!({"keys": [
        serde_json::from_str::<Value>(kit::JWKS).unwrap()["keys"][0].clone(),
        serde_json::from_str::<Value>(include_str!("../../testkit/keys/other-key.jwk.json")).unwrap(),
    ]});
    server.push(Answer::Json(200, discovery(&issuer)));
    server.push(Answer::Json(200, rotated.to_string()));
    // Past the ten seconds between fetches (the cache counts real time).
    tokio::time::sleep(edge_auth_provider::keys::MIN_FETCH_INTERVAL).await;
    let new_key = github_token(&issuer)
        .kid(Some("test-key-2"))
        .attacker_key()
        .sign();
    let outcome = exchange(&gateway, &[&new_key], kit::NOW).await;
    assert_eq!(outcome.event, "token-exchanged", "{outcome:?}");
    assert_eq!(server.requests().len(), 4);

    // A discovery document naming another issuer is not believed.
    let liar = ProviderServer::start(vec![]).await;
    let liar_issuer = liar.base_url();
    liar.push(Answer::Json(
        200,
        discovery("https://token.actions.githubusercontent.com"),
    ));
    let gateway = ProviderGateway::new(config_for(&liar_issuer));
    let outcome = exchange(&gateway, &[&github_token(&liar_issuer).sign()], kit::NOW).await;
    assert_eq!(outcome.status(), Some("503"), "{outcome:?}");
    assert_eq!(outcome.event, "token-exchange-failed");
    // An issuer that is down: a 503 the job may retry, not a refusal.
    let down = ProviderServer::start(vec![Answer::Json(502, "{}".into())]).await;
    let gateway = ProviderGateway::new(config_for(&down.base_url()));
    let outcome = exchange(
        &gateway,
        &[&github_token(&down.base_url()).sign()],
        kit::NOW,
    )
    .await;
    assert_eq!(outcome.status(), Some("503"));
}
