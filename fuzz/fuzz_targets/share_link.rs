//! Shared links: any bytes as the share endpoint's query (`?link=` and
//! the page's form) and as a link's cookie on any path. Never a panic; a
//! cookie is set only for a link the deployment signed, with the folder
//! of the pattern it signed; a request is let through on a link only when
//! that link is ours and its pattern matches every key of the request.
#![no_main]
use edge_auth_core::HandlerOutput;
use edge_auth_core::share::covers;
use edge_auth_core::share_page::share_endpoint;
use edge_auth_fuzz::{kit, share_config};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (query, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let (path, cookie) = rest.split_once('\n').unwrap_or((rest, ""));
    let config = share_config();
    let signer = kit::signer();
    // The endpoint, signed in (the form) or not.
    for cookies in [vec![], vec![format!("__Host-edge-auth-session={}", kit::session())]] {
        let (request, dist) = kit::viewer_request("/_edge-auth/share", query, &cookies);
        let outcome = share_endpoint(
            &request,
            &dist,
            config,
            Some(&signer),
            kit::NOW,
            &mut kit::CountingEntropy(1),
        );
        let HandlerOutput::Respond(response) = &outcome.output else {
            panic!("the share endpoint forwarded a request")
        };
        let set = response.headers.first("set-cookie");
        if let Some(set) = set {
            assert_eq!(outcome.event, "share-opened");
            let token = set
                .strip_prefix("__Secure-edge-auth-share=")
                .and_then(|v| v.split(';').next())
                .expect("the link's cookie");
            let (_, pattern) = config
                .sessions
                .verify_share_at(token, kit::NOW, None, 7 * 86_400)
                .expect("a cookie only for a link of ours");
            assert!(set.contains(&format!("Path={};", edge_auth_core::share::cookie_path(&pattern))));
        }
        for (_, values) in response.headers.0.iter() {
            for v in values {
                assert!(!v.value.contains(['\r', '\n']), "a line break in a header");
            }
        }
    }
    // The cookie on any path.
    let uri = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
    let (mut request, dist) = kit::viewer_request(
        "/",
        "",
        &[format!("__Secure-edge-auth-share={cookie}")],
    );
    request.uri = uri.clone();
    let outcome = edge_auth_core::authorize::authorize(
        request,
        &dist,
        config,
        kit::NOW,
        &mut kit::CountingEntropy(1),
    );
    if outcome.session.as_ref().is_some_and(|s| s.sub.starts_with("share:"))
        && matches!(outcome.output, HandlerOutput::Forward(_))
    {
        let (_, pattern) = config
            .sessions
            .verify_share_at(cookie, kit::NOW, None, 7 * 86_400)
            .expect("let through on a link of ours");
        let decoded = edge_auth_core::paths::canonical_path(&uri).expect("a path that decodes");
        let keys = edge_auth_core::paths::match_subjects(&uri, &decoded);
        assert!(covers(&pattern, &keys), "{uri} let through on a link for {pattern}");
    }
});
