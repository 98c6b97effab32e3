//! `parse_request_lines` against an encoder that does what the authorize
//! module's `requestLines` does (scripts/package.py): whatever the module can
//! send comes back exactly, and malformed text is a clear error, never a
//! panic (the `authorize_event` fuzz target feeds it arbitrary text too).

use std::collections::BTreeMap;

use edge_auth_core::event::{
    CloudFrontPayload, CloudFrontRequest, DistributionConfig, HeaderEntry, Headers,
    parse_request_lines,
};
use proptest::prelude::*;

/// The module's encoder, step for step.
fn request_lines(payload: &CloudFrontPayload) -> String {
    let (c, r) = (&payload.config, &payload.request);
    let mut text = String::new();
    for field in [
        &c.distribution_domain_name,
        &c.distribution_id,
        &c.event_type,
        &c.request_id,
        &r.client_ip,
        &r.method,
        &r.uri,
        &r.querystring,
    ] {
        text.push_str(field);
        text.push('\n');
    }
    for (name, entries) in &r.headers.0 {
        text.push_str(&format!("{name}\n{}\n", entries.len()));
        for e in entries {
            text.push_str(&format!("{}\n{}\n", e.key.as_deref().unwrap(), e.value));
        }
    }
    text
}

fn line() -> impl Strategy<Value = String> {
    "[^\n]{0,24}"
}

fn payload() -> impl Strategy<Value = CloudFrontPayload> {
    (
        proptest::collection::vec(line(), 8),
        proptest::collection::btree_map(
            "[a-z0-9-]{1,16}",
            proptest::collection::vec((line(), line()), 1..4),
            0..7,
        ),
    )
        .prop_map(|(f, headers)| CloudFrontPayload {
            config: DistributionConfig {
                distribution_domain_name: f[0].clone(),
                distribution_id: f[1].clone(),
                event_type: f[2].clone(),
                request_id: f[3].clone(),
                other: Default::default(),
            },
            request: CloudFrontRequest {
                client_ip: f[4].clone(),
                method: f[5].clone(),
                uri: f[6].clone(),
                querystring: f[7].clone(),
                headers: Headers(
                    headers
                        .into_iter()
                        .map(|(name, entries)| {
                            let entries = entries
                                .into_iter()
                                .map(|(key, value)| HeaderEntry {
                                    key: Some(key),
                                    value,
                                })
                                .collect();
                            (name, entries)
                        })
                        .collect::<BTreeMap<_, _>>(),
                ),
                other: Default::default(),
            },
            response: None,
        })
}

proptest! {
    #[test]
    fn what_the_module_sends_comes_back_exactly(payload in payload()) {
        prop_assert_eq!(parse_request_lines(&request_lines(&payload)).unwrap(), payload);
    }

    #[test]
    fn any_text_is_a_payload_or_an_error(text in "[a-z0-9\n-]{0,80}") {
        let _ = parse_request_lines(&text);
    }
}

#[test]
fn malformed_lines_are_named() {
    let head = "d1.cloudfront.net\nE1\nviewer-request\nrid\n203.0.113.1\nGET\n/docs/\n\n";
    let ok =
        format!("{head}cookie\n2\nCookie\na=1\nCookie\nb=2\nhost\n1\nHost\nd1.cloudfront.net\n");
    let payload = parse_request_lines(&ok).unwrap();
    assert_eq!(
        payload.request.headers.values("cookie").collect::<Vec<_>>(),
        ["a=1", "b=2"]
    );
    assert_eq!(payload.request.uri, "/docs/");
    assert_eq!(payload.request.querystring, "");
    for (text, complaint) in [
        (String::new(), "does not end with a line break"),
        ("d1\nE1\n".to_owned(), "no eventType"),
        (
            format!("{head}Cookie\n1\nCookie\na\n"),
            "header name \"Cookie\"",
        ),
        (format!("{head}cookie\n0\n"), "cookie: no entry count"),
        (format!("{head}cookie\n17\n"), "cookie: no entry count"),
        (format!("{head}cookie\nx\n"), "cookie: no entry count"),
        (format!("{head}cookie\n2\nCookie\na=1\n"), "fewer entries"),
        (
            format!("{head}host\n1\nHost\na\nhost\n1\nHost\nb\n"),
            "host twice",
        ),
        (format!("{head}\n"), "header name \"\""),
        (
            format!("{head}host\n1\nHost\na"),
            "does not end with a line break",
        ),
    ] {
        let err = parse_request_lines(&text).unwrap_err().to_string();
        assert!(err.contains(complaint), "{text:?}: {err}");
        assert!(
            err.starts_with("not a CloudFront request event: request lines: "),
            "{err}"
        );
    }
}
