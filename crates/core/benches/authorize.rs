//! authorize's decision on a valid RS256 token (the hot path), through the
//! token cache (hit and miss), and on a request that starts a sign-in.
//! `cargo bench -p edge-auth-core`.

use criterion::{Criterion, criterion_group, criterion_main};
use edge_auth_core::authorize::{authorize, authorize_with_cache};
use edge_auth_core::token_cache::{self, VerifiedTokenCache};
use edge_auth_core::{HandlerOutput, SystemEntropy};
use edge_auth_testkit::{self as kit, NOW};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let config = kit::config();
    let cookie = format!("__Host-edge-auth-id={}", kit::id_token().sign());
    let (signed_in, dist) = kit::viewer_request("/docs/guide.html", "q=1", &[cookie]);
    let (anonymous, _) = kit::viewer_request("/docs/guide.html", "q=1", &[]);
    let mut entropy = SystemEntropy;

    assert!(matches!(
        authorize(signed_in.clone(), &dist, &config, NOW, &mut entropy).output,
        HandlerOutput::Forward(_)
    ));
    c.bench_function("authorize/valid-rs256-token", |b| {
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
    // The same request through a sandbox's token cache: a hit (the token
    // this browser sent before) and a miss (a cache full of other users'
    // tokens, so the lookup runs its course before the RSA check).
    let mut cache = VerifiedTokenCache::new();
    c.bench_function("authorize/valid-token-cache-hit", |b| {
        b.iter(|| {
            black_box(authorize_with_cache(
                black_box(signed_in.clone()),
                &dist,
                &config,
                NOW,
                &mut entropy,
                Some(&mut cache),
            ))
        })
    });
    let others: Vec<String> = (0..token_cache::MAX_ENTRIES)
        .map(|i| kit::id_token().claim("sub", format!("user-{i}")).sign())
        .collect();
    c.bench_function("authorize/valid-token-cache-miss", |b| {
        b.iter_batched(
            || {
                let mut full = VerifiedTokenCache::new();
                for other in &others {
                    assert!(full.verify(&config.verifier, other, NOW).0.is_ok());
                }
                full
            },
            |mut full| {
                black_box(authorize_with_cache(
                    black_box(signed_in.clone()),
                    &dist,
                    &config,
                    NOW,
                    &mut entropy,
                    Some(&mut full),
                ))
            },
            criterion::BatchSize::LargeInput,
        )
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
