//! authorize on structured requests: any path, query, cookies, headers,
//! with or without a valid, expired or damaged session, or a provider's
//! token where the session belongs. Never a forward on a protected path
//! without the one valid session.
#![no_main]
use arbitrary::Arbitrary;
use edge_auth_core::authorize::authorize;
use edge_auth_fuzz::{
    VIEWER_LIMIT, check, config, expired_session, kit, valid_session, valid_token, viewer_request,
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
    ProviderToken,
    Damaged { at: u16, byte: u8 },
    Raw(String),
}

fuzz_target!(|input: Input| {
    // Raw strings are tried as tokens but not held to "never echoed": an
    // arbitrary string may spell text our pages legitimately contain.
    let checked = !matches!(input.token, TokenMode::Raw(_));
    let token = match input.token {
        TokenMode::None => None,
        TokenMode::Valid => Some(valid_session().to_owned()),
        TokenMode::Expired => Some(expired_session().to_owned()),
        TokenMode::ProviderToken => Some(valid_token().to_owned()),
        TokenMode::Damaged { at, byte } => {
            let mut bytes = valid_session().as_bytes().to_vec();
            let at = usize::from(at) % bytes.len();
            bytes[at] = byte;
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        TokenMode::Raw(raw) => Some(raw),
    };
    let mut cookies = vec![input.extra_cookies.clone()];
    if let Some(token) = &token {
        cookies.push(format!("__Host-edge-auth-session={token}"));
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
    let canonical = edge_auth_core::paths::canonical_path(&request.uri);
    let under_prefix = canonical
        .as_ref()
        .is_ok_and(|p| p.starts_with("/_edge-auth/"));
    let public = canonical
        .as_ref()
        .is_ok_and(|p| config().public.iter().any(|pattern| pattern.matches(p)));
    let cookie_header = cookies.join("; ");
    let out = authorize(
        request,
        &dist,
        config(),
        kit::NOW,
        &mut kit::CountingEntropy(7),
    );
    // A forward on a protected path needs the one valid session, whole, in
    // the session cookie (the extra cookies may carry it too).
    if matches!(out.output, edge_auth_core::HandlerOutput::Forward(_)) && !public {
        assert!(
            cookie_header.contains(&format!("edge-auth-session={}", valid_session())),
            "forwarded without a valid session: {}",
            out.event
        );
    }
    let secrets: Vec<&str> = token.as_deref().filter(|_| checked).into_iter().collect();
    check(&out.output, VIEWER_LIMIT, &secrets);
    // Nothing under the auth prefix reaches the origin or starts a sign-in.
    if under_prefix {
        assert_eq!(out.status(), Some("404"), "{}", out.event);
    }
});
