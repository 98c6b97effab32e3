//! `CloudFrontResponse::to_lines` against a decoder that does what the
//! edge module's does (scripts/package.py, `fromLines`): every response it
//! encodes comes back exactly, and the ones it cannot encode are refused
//! (the caller sends JSON). tests/edge holds the module's own decoder to the
//! JSON answer.

use std::collections::BTreeMap;

use edge_auth_core::CloudFrontResponse;
use edge_auth_core::event::{BodyEncoding, HeaderEntry, Headers};
use proptest::prelude::*;

/// The module's decoder, step for step.
fn from_lines(text: &str) -> CloudFrontResponse {
    let mut at = 0;
    let mut next = || {
        let end = at + text[at..].find('\n').unwrap();
        let line = &text[at..end];
        at = end + 1;
        line.to_owned()
    };
    let status = next();
    let description = next();
    let count: usize = next().parse().unwrap();
    let mut headers = BTreeMap::<String, Vec<HeaderEntry>>::new();
    for _ in 0..count {
        let name = next();
        let key = next();
        let value = next();
        headers.entry(name).or_default().push(HeaderEntry {
            key: Some(key),
            value,
        });
    }
    let body = (at < text.len()).then(|| text[at + 1..].to_owned());
    let body_encoding = match text.as_bytes().get(at) {
        Some(b't') => Some(BodyEncoding::Text),
        Some(b'x') => Some(BodyEncoding::Base64),
        _ => None,
    };
    CloudFrontResponse {
        status,
        status_description: (!description.is_empty()).then_some(description),
        headers: Headers(headers),
        body,
        body_encoding,
    }
}

fn field() -> impl Strategy<Value = String> {
    // Line breaks and empty strings included on purpose.
    prop_oneof![
        "[a-zA-Z0-9 ;=/:.-]{0,12}",
        "[\\PC\r\n{]{0,8}",
        Just(String::new()),
    ]
}

fn response() -> impl Strategy<Value = CloudFrontResponse> {
    (
        field(),
        proptest::option::of(field()),
        proptest::collection::btree_map(
            field(),
            proptest::collection::vec((proptest::option::of(field()), field()), 0..3),
            0..4,
        ),
        proptest::option::of(field()),
        proptest::option::of(prop_oneof![
            Just(BodyEncoding::Text),
            Just(BodyEncoding::Base64)
        ]),
    )
        .prop_map(
            |(status, status_description, headers, body, body_encoding)| CloudFrontResponse {
                status,
                status_description,
                headers: Headers(
                    headers
                        .into_iter()
                        .map(|(name, entries)| {
                            let entries = entries
                                .into_iter()
                                .map(|(key, value)| HeaderEntry { key, value })
                                .collect();
                            (name, entries)
                        })
                        .collect(),
                ),
                body,
                body_encoding,
            },
        )
}

proptest! {
    #[test]
    fn what_is_encoded_comes_back_exactly(response in response()) {
        if let Some(text) = response.to_lines() {
            prop_assert_eq!(from_lines(&text), response);
        } else {
            // Refused only for a reason the format has.
            let breaks = |s: &str| s.contains(['\n', '\r']);
            let refused = (response.body_encoding.is_some() && response.body.is_none())
                || breaks(&response.status)
                || response.status.starts_with('{')
                || response.status_description.as_deref().is_some_and(|d| d.is_empty() || breaks(d))
                || response.headers.0.iter().any(|(name, entries)| {
                    entries.is_empty() || entries.iter().any(|e| e.key.as_deref().is_none_or(breaks) || breaks(name) || breaks(&e.value))
                });
            prop_assert!(refused, "{:?}", response);
        }
    }
}

#[test]
fn a_sign_in_redirect_and_a_page_are_encoded() {
    let mut headers = Headers::default();
    headers.append(
        "Location",
        "https://auth.example.com/oauth2/authorize?state=x",
    );
    headers.append("Set-Cookie", "a=1; Secure");
    headers.append("Set-Cookie", "b=2; Secure");
    let redirect = CloudFrontResponse {
        status: "302".into(),
        status_description: Some("Found".into()),
        headers: headers.clone(),
        body: None,
        body_encoding: None,
    };
    let text = redirect.to_lines().unwrap();
    assert!(text.starts_with("302\nFound\n3\n"), "{text}");
    assert_eq!(from_lines(&text), redirect);
    let page = CloudFrontResponse {
        body: Some("<p>line one\nline two</p>\n".into()),
        ..redirect
    };
    assert_eq!(from_lines(&page.to_lines().unwrap()), page);
    let empty_body = CloudFrontResponse {
        body: Some(String::new()),
        ..page.clone()
    };
    assert_eq!(from_lines(&empty_body.to_lines().unwrap()), empty_body);
}
