//! authorize on structured requests: any path, query, cookies, headers,
//! with or without a valid, expired or damaged token.
#![no_main]
use arbitrary::Arbitrary;
use edge_auth_core::authorize::authorize;
use edge_auth_fuzz::{
    VIEWER_LIMIT, check, config, expired_token, kit, valid_token, viewer_request,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    uri: String,
    query: String,
    extra_cookies: String,
    token: TokenMode,
    accept: Option<String>,
    sec_fetch_mode: Option<String>,
    host: Option<String>,
    x_requested_with: Option<String>,
    /// Put the path under the auth prefix (answered 404 at the edge).
    under_auth_prefix: bool,
    post: bool,
}

#[derive(Arbitrary, Debug)]
enum TokenMode {
    None,
    Valid,
    Expired,
    Damaged { at: u16, byte: u8 },
    Raw(String),
}

fuzz_target!(|input: Input| {
    // Raw strings are tried as tokens but not held to "never echoed": an
    // arbitrary string may spell text our pages legitimately contain.
    let checked = !matches!(input.token, TokenMode::Raw(_));
    let token = match input.token {
        TokenMode::None => None,
        TokenMode::Valid => Some(valid_token().to_owned()),
        TokenMode::Expired => Some(expired_token().to_owned()),
        TokenMode::Damaged { at, byte } => {
            let mut bytes = valid_token().as_bytes().to_vec();
            let at = usize::from(at) % bytes.len();
            bytes[at] = byte;
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        TokenMode::Raw(raw) => Some(raw),
    };
    let mut cookies = vec![input.extra_cookies.clone()];
    if let Some(token) = &token {
        cookies.push(format!("__Host-edge-auth-id={token}"));
    }
    let (mut request, dist) = viewer_request("/", "", &cookies);
    request.uri = if input.under_auth_prefix {
        format!("/_edge-auth/{}", input.uri)
    } else {
        input.uri
    };
    request.querystring = input.query;
    if input.post {
        request.method = "POST".into();
    }
    for (name, value) in [
        ("Accept", input.accept),
        ("Sec-Fetch-Mode", input.sec_fetch_mode),
        ("Host", input.host),
        ("X-Requested-With", input.x_requested_with),
    ] {
        if let Some(value) = value {
            request.headers.set(name, value);
        }
    }
    let under_prefix = edge_auth_core::paths::canonical_path(&request.uri)
        .is_ok_and(|p| p.starts_with("/_edge-auth/"));
    let out = authorize(
        request,
        &dist,
        config(),
        kit::NOW,
        &mut kit::CountingEntropy(7),
    );
    let secrets: Vec<&str> = token.as_deref().filter(|_| checked).into_iter().collect();
    check(&out.output, VIEWER_LIMIT, &secrets);
    // Nothing under the auth prefix reaches the origin or starts a sign-in.
    if under_prefix {
        assert_eq!(out.status(), Some("404"), "{}", out.event);
    }
});
