//! authorize's decision on a valid RS256 token (the hot path) and on a
//! request that starts a sign-in. `cargo bench -p edge-auth-core`.

use criterion::{Criterion, criterion_group, criterion_main};
use edge_auth_core::authorize::authorize;
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
    let token = kit::id_token().sign();
    c.bench_function("token/verify-rs256", |b| {
        b.iter(|| black_box(config.verifier.verify(black_box(&token), NOW, None)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
