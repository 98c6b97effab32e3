//! The whole authorize decision from raw event JSON, read as the edge addon
//! reads it (JSON text); and the same bytes read as authorize's request lines.
#![no_main]
use edge_auth_core::authorize::authorize;
use edge_auth_core::event::{parse_event_text, parse_request_lines};
use edge_auth_fuzz::{VIEWER_LIMIT, check, config, kit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(payload) = parse_request_lines(event) {
        let out = authorize(
            payload.request,
            &payload.config,
            config(),
            kit::NOW,
            &mut kit::CountingEntropy(1),
        );
        check(&out.output, VIEWER_LIMIT, &[]);
    }
    let Ok(payload) = parse_event_text(event) else {
        return;
    };
    // The strings of the event, for telling what the viewer sent elsewhere.
    let Ok(value) = serde_json::from_str::<serde_json::Value>(event) else {
        return;
    };
    let mut text = String::new();
    all_strings(&value, &mut text);
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
    // text our pages legitimately contain. And only those the event carries
    // nowhere but in its cookies: one that is also the Host header (a name of
    // letters, digits and dots is both) is repeated in `redirect_uri` by design.
    let in_cookies = cookies.join("\n");
    let secrets: Vec<&str> = cookies
        .iter()
        .flat_map(|c| c.split(';'))
        .filter_map(|p| p.split_once('=').map(|(_, v)| v.trim()))
        .filter(|v| {
            v.len() >= 40
                && v.matches('.').count() == 2
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                && text.matches(*v).count() == in_cookies.matches(*v).count()
        })
        .collect();
    check(&out.output, VIEWER_LIMIT, &secrets);
});

/// Every string in the event, keys included, as JSON decodes them, one a line.
fn all_strings(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| all_strings(v, out)),
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                out.push_str(key);
                out.push('\n');
                all_strings(v, out);
            }
        }
        _ => {}
    }
}
