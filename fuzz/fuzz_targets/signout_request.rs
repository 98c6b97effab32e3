//! Sign-out on structured requests: any cookies, any Fetch Metadata, then
//! any outcome of the revocation call. A cross-site request never clears a
//! cookie nor revokes a token; every other one clears the session.
#![no_main]
use arbitrary::Arbitrary;
use edge_auth_core::provider::ProviderOutcome;
use edge_auth_core::signout::{signout_begin, signout_complete};
use edge_auth_core::{HandlerOutput, Step};
use edge_auth_fuzz::{VIEWER_LIMIT, check, config, kit, viewer_request};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    cookies: String,
    refresh_token: Option<String>,
    sec_fetch_site: Option<String>,
    revocation_status: Option<u16>,
}

fuzz_target!(|input: Input| {
    let mut cookies = vec![input.cookies.clone()];
    if let Some(token) = &input.refresh_token {
        cookies.push(format!("__Secure-edge-auth-refresh={token}"));
    }
    let (mut request, dist) = viewer_request("/_edge-auth/signout", "", &cookies);
    if let Some(site) = &input.sec_fetch_site {
        request.headers.set("Sec-Fetch-Site", site.clone());
    }
    // Only a request from the site's own pages (or a typed address) acts;
    // the fuzzer cannot know a confirmation token.
    let cross_site = !input.sec_fetch_site.as_deref().is_some_and(|s| {
        s.eq_ignore_ascii_case("same-origin") || s.eq_ignore_ascii_case("none")
    });
    let mut step = signout_begin(
        &request,
        &dist,
        config(),
        kit::NOW,
        &mut kit::CountingEntropy(3),
    );
    let mut calls = 0;
    let outcome = loop {
        match step {
            Step::Done(outcome) => break outcome,
            Step::Call { call, pending } => {
                assert!(!cross_site, "a sign-out from elsewhere revoked a token");
                assert!(call.form.iter().any(|(k, _)| *k == "token"));
                calls += 1;
                assert!(calls <= edge_auth_core::signout::MAX_REVOCATIONS);
                let answer = match input.revocation_status {
                    Some(status) => ProviderOutcome::Answered {
                        status,
                        body: vec![],
                    },
                    None => ProviderOutcome::TimedOut,
                };
                step = signout_complete(pending, config(), &answer);
            }
        }
    };
    check(&outcome.output, VIEWER_LIMIT, &[]);
    let HandlerOutput::Respond(response) = &outcome.output else {
        panic!("sign-out always answers");
    };
    let cleared = kit::cleared_cookies(response);
    if cross_site {
        assert_eq!(response.status, "403");
        assert!(
            cleared.is_empty(),
            "a sign-out from elsewhere cleared {cleared:?}"
        );
    } else if response.status == "302" {
        assert!(cleared.contains(&"__Host-edge-auth-session".to_owned()));
    }
});
