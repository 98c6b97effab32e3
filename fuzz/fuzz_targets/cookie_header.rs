//! Cookie header parsing: total, bounded, and only ever returns pieces of its input.
#![no_main]
use edge_auth_core::cookies::{MAX_COOKIES, request_cookies};
use edge_auth_core::event::Headers;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|headers: Vec<String>| {
    let mut h = Headers::default();
    for value in &headers {
        h.append("Cookie", value.clone());
    }
    let cookies = request_cookies(&h);
    assert!(cookies.len() <= MAX_COOKIES);
    for (name, value) in cookies {
        assert!(!name.is_empty() && !name.contains([';', '=', ' ']));
        assert!(
            headers
                .iter()
                .any(|h| h.contains(name) && h.contains(value))
        );
    }
});
