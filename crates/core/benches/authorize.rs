//! authorize's decision on a valid session (the hot path: one HMAC-SHA-256)
//! and on a request that starts a sign-in; the session check and the
//! provider's RS256 check alone. `cargo bench -p edge-auth-core`.

use criterion::{Criterion, criterion_group, criterion_main};
use edge_auth_core::authorize::authorize;
use edge_auth_core::{HandlerOutput, SystemEntropy};
use edge_auth_testkit::{self as kit, NOW};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let config = kit::config();
    let cookie = format!("__Host-edge-auth-session={}", kit::session());
    let (signed_in, dist) = kit::viewer_request("/docs/guide.html", "q=1", &[cookie]);
    let (anonymous, _) = kit::viewer_request("/docs/guide.html", "q=1", &[]);
    let mut entropy = SystemEntropy;

    assert!(matches!(
        authorize(signed_in.clone(), &dist, &config, NOW, &mut entropy).output,
        HandlerOutput::Forward(_)
    ));
    c.bench_function("authorize/valid-session", |b| {
        b.iter(|| {
            black_box(authorize(
                black_box(signed_in.clone()),
                &dist,
                &config,
                NOW,
                &mut entropy,
            ))
        })
    });
    c.bench_function("authorize/redirect-to-signin", |b| {
        b.iter(|| {
            black_box(authorize(
                black_box(anonymous.clone()),
                &dist,
                &config,
                NOW,
                &mut entropy,
            ))
        })
    });
    let session = kit::session();
    c.bench_function("session/verify-hs256", |b| {
        b.iter(|| black_box(config.sessions.verify(black_box(&session), NOW)))
    });
    let token = kit::id_token().sign();
    c.bench_function("token/verify-rs256", |b| {
        b.iter(|| black_box(config.verifier.verify(black_box(&token), NOW, None)))
    });
    rsa_backends(c, &token);
}

/// The RSA check alone on each backend considered (docs/performance.md):
/// ring (what the edge runs), aws-lc from n and e on every call (what
/// jsonwebtoken's aws_lc_rs backend does), and aws-lc with a key parsed once.
fn rsa_backends(c: &mut Criterion, token: &str) {
    use base64::Engine;
    let b64 = |s: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .unwrap()
    };
    let jwks: serde_json::Value = serde_json::from_str(kit::JWKS).unwrap();
    let (n, e) = (
        b64(jwks["keys"][0]["n"].as_str().unwrap()),
        b64(jwks["keys"][0]["e"].as_str().unwrap()),
    );
    let (message, signature) = token.rsplit_once('.').unwrap();
    let signature = b64(signature);
    let message = message.as_bytes();

    let mut group = c.benchmark_group("rsa-verify");
    group.bench_function("ring/components", |b| {
        let key = ring::signature::RsaPublicKeyComponents { n: &n, e: &e };
        b.iter(|| {
            key.verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                black_box(message),
                &signature,
            )
            .unwrap()
        })
    });
    group.bench_function("aws-lc/components", |b| {
        let key = aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e };
        b.iter(|| {
            key.verify(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                black_box(message),
                &signature,
            )
            .unwrap()
        })
    });
    group.bench_function("aws-lc/parsed-once", |b| {
        let der = include_bytes!("../../testkit/keys/test-key-1.pub.pkcs1.der");
        let key = aws_lc_rs::signature::ParsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            der,
        )
        .unwrap();
        b.iter(|| key.verify_sig(black_box(message), &signature).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
