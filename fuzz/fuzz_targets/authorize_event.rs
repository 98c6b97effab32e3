//! The whole authorize decision from raw event JSON.
#![no_main]
use edge_auth_core::authorize::authorize;
use edge_auth_core::event::parse_event;
use edge_auth_fuzz::{VIEWER_LIMIT, check, config, kit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(payload) = parse_event(value) else {
        return;
    };
    let cookies: Vec<String> = payload
        .request
        .headers
        .values("cookie")
        .map(str::to_owned)
        .collect();
    let out = authorize(
        payload.request,
        &payload.config,
        config(),
        kit::NOW,
        &mut kit::CountingEntropy(1),
    );
    // JWT-shaped cookie values only: an arbitrary short string may spell
    // text our pages legitimately contain.
    let secrets: Vec<&str> = cookies
        .iter()
        .flat_map(|c| c.split(';'))
        .filter_map(|p| p.split_once('=').map(|(_, v)| v.trim()))
        .filter(|v| {
            v.len() >= 40
                && v.matches('.').count() == 2
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .collect();
    check(&out.output, VIEWER_LIMIT, &secrets);
});
