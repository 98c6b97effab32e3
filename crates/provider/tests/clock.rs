//! The gateway reads the clock when the request arrives and again when the
//! provider has answered: a provider that issues its token in the next
//! second is not "from the future" (seen with oidc-provider and a clock
//! skew of 0, when the request arrived at the end of a second).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use edge_auth_core::Config;
use edge_auth_provider::ProviderGateway;
use edge_auth_provider::store::SessionStore;
use edge_auth_testkit::provider_server::{Answer, ProviderServer};
use edge_auth_testkit::{self as kit, NOW};
use serde_json::json;

#[tokio::test]
async fn a_token_issued_the_second_after_the_request_arrived_is_taken() {
    let server = ProviderServer::start(vec![]).await;
    let mut v = kit::config_value(&server.base_url());
    v["provider"]["clock_skew_seconds"] = json!(0);
    v["secret"] = json!({"kind": "none"});
    v["provider"]["client_auth"] = json!("none");
    let gateway = ProviderGateway::new(Arc::new(Config::from_json(&v.to_string()).unwrap()));

    let mut claims = kit::session_claims();
    claims.exp = NOW - 10;
    let mut refresh = kit::payload(kit::VIEWER_REQUEST);
    refresh.request.uri = "/_edge-auth/refresh".into();
    refresh.request.querystring = "return=%2F".into();
    refresh.request.headers.append(
        "Cookie",
        format!(
            "__Host-edge-auth-session={}; {}",
            kit::signer().sign(&claims),
            kit::refresh_cookie("rt")
        ),
    );
    let issued = || {
        kit::id_token()
            .claim("iat", NOW + 1)
            .claim("auth_time", NOW + 1)
            .sign()
    };

    // The request arrives at NOW, the provider answers in NOW + 1.
    let reads = AtomicU64::new(0);
    let ticking = move || NOW + reads.fetch_add(1, Ordering::SeqCst).min(1);
    server.push(Answer::Json(200, json!({"id_token": issued()}).to_string()));
    let outcome = gateway
        .refresh(&refresh, &ticking, &mut kit::CountingEntropy(1), None)
        .await;
    assert_eq!(outcome.event, "refreshed", "{:?}", outcome.detail);

    // A clock that stays at NOW: the same token is from the future (what
    // the test above would have met with the clock read once).
    server.push(Answer::Json(200, json!({"id_token": issued()}).to_string()));
    let outcome = gateway
        .refresh(&refresh, &|| NOW, &mut kit::CountingEntropy(1), None)
        .await;
    assert_eq!(
        (outcome.event, outcome.detail.as_deref()),
        ("refresh-refused", Some("not valid yet"))
    );
}

/// A sign-out of a session issued in this very second answers only once
/// the clock has passed it: a sign-in that follows at once gets a session
/// of a later second, which the cut-off does not catch (else the edge
/// refuses it and the provider's silent sign-in loops until the second
/// ends; seen in the browser tests as ERR_TOO_MANY_REDIRECTS).
#[tokio::test]
async fn a_sign_out_answers_after_its_cut_off_second() {
    let dir = std::env::temp_dir().join(format!("edge-auth-clock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("key-value-store.json");
    std::fs::write(&path, "{}").unwrap();
    let mut v = kit::config_value("https://auth.example.com");
    v["secret"] = json!({"kind": "none"});
    v["provider"]["client_auth"] = json!("none");
    v["provider"]
        .as_object_mut()
        .unwrap()
        .remove("revocation_endpoint");
    let gateway = ProviderGateway::new(Arc::new(Config::from_json(&v.to_string()).unwrap()))
        .with_store(Some(SessionStore::File(path.clone())));

    let signout = |iat: u64| {
        let mut claims = kit::session_claims();
        claims.iat = iat;
        let (mut request, config) = kit::viewer_request(
            "/_edge-auth/signout",
            "",
            &[format!(
                "__Host-edge-auth-session={}",
                kit::signer().sign(&claims)
            )],
        );
        request.headers.set("Sec-Fetch-Site", "same-origin");
        edge_auth_core::event::CloudFrontPayload {
            request,
            config,
            response: None,
        }
    };
    // Issued this second: the clock is read until it shows the next one.
    let reads = Arc::new(AtomicU64::new(0));
    let counted = reads.clone();
    let clock = move || NOW + counted.fetch_add(1, Ordering::SeqCst) / 3;
    let outcome = gateway
        .signout(&signout(NOW), &clock, &mut kit::CountingEntropy(1), None)
        .await;
    assert_eq!(outcome.revocation.as_ref().map(|r| r.up_to), Some(NOW));
    assert!(
        reads.load(Ordering::SeqCst) > 3,
        "the clock was read until it passed the cut-off"
    );
    let store: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        store["revoked:3b7a1f5e-0000-4000-8000-000000000001"],
        json!(NOW.to_string())
    );

    // Issued before this second: answered at once (the clock read at the
    // start and once after the write).
    reads.store(0, Ordering::SeqCst);
    let counted = reads.clone();
    let clock = move || {
        counted.fetch_add(1, Ordering::SeqCst);
        NOW + 60
    };
    gateway
        .signout(
            &signout(NOW + 59),
            &clock,
            &mut kit::CountingEntropy(1),
            None,
        )
        .await;
    assert_eq!(reads.load(Ordering::SeqCst), 2);
}
