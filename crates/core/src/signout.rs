//! `/_edge-auth/signout`: clear every cookie this system set, with the same
//! name, path and prefix it was set with; revoke the refresh token at the
//! provider; then the provider's logout endpoint, which returns the browser
//! to the signed-out page.
//!
//! `/_edge-auth/signout?return=/page` ("sign in as someone else", from the
//! 403 page) does the same clearing and revocation, then starts a new
//! sign-in with `prompt=login`, so the provider asks for credentials even
//! though it has a session, and the new user comes back to `/page`.

use crate::config::{Config, LogoutSettings};
use crate::cookies::{self, cookie_values, is_cookie_safe, request_cookies};
use crate::event::{CloudFrontRequest, DistributionConfig};
use crate::flow::{site_base, start_signin_with_prompt};
use crate::pages;
use crate::provider::{CallPurpose, ProviderCall, ProviderOutcome};
use crate::query::encode_form;
use crate::refresh::clear_session;
use crate::return_path::return_parameter;
use crate::{Entropy, Outcome, Step};

/// The answer is decided before the revocation; the call's outcome only goes to the log.
#[derive(Debug, Clone)]
pub struct SignoutPending {
    outcome: Outcome,
}

/// Tells the browser to drop what it cached of this site, so Back after
/// sign-out does not show a protected page from the cache. Only `"cache"`:
/// `"cookies"` would clear every cookie of the registrable domain (all of
/// example.com for docs.example.com, other applications' sessions
/// included); this answer already clears each of our own cookies by name.
pub const CLEAR_SITE_DATA: &str = "\"cache\"";

pub fn signout_begin(
    request: &CloudFrontRequest,
    distribution: &DistributionConfig,
    config: &Config,
    now: u64,
    entropy: &mut dyn Entropy,
) -> Step<SignoutPending> {
    // Another site must not be able to sign the user out (a link, a
    // redirect or an image pointing here). Fetch Metadata says where the
    // request came from; a typed URL (`none`), our own pages
    // (`same-origin`) and browsers that send no Fetch Metadata go through.
    if request
        .headers
        .first("sec-fetch-site")
        .is_some_and(|site| site.eq_ignore_ascii_case("cross-site"))
    {
        let page = pages::html_page(
            403,
            "Sign out?",
            "Another website sent you here to sign you out of this site. You are still signed in. To sign out, use the button below.",
            Some(pages::Action {
                href: &config.paths().signout,
                label: "Sign out",
            }),
            vec![],
        );
        return Step::Done(Outcome::respond(page, "signout-refused-cross-site"));
    }
    let names = &config.cookie_names;
    let cookies = request_cookies(&request.headers);
    let mut clear = clear_session(config);
    let mut flows: Vec<&str> = cookies
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| n.starts_with(&names.flow_prefix))
        .collect();
    flows.sort_unstable();
    flows.dedup();
    clear.extend(
        flows
            .into_iter()
            .map(|name| cookies::clear_cookie(names, name, "/")),
    );

    let Some(base) = site_base(config, &distribution.distribution_domain_name) else {
        return Step::Done(crate::flow::no_host_page());
    };
    let provider = config.provider();
    if let Some(return_to) = return_parameter(&request.querystring) {
        let mut response = start_signin_with_prompt(
            config,
            request,
            &base,
            now,
            entropy,
            &return_to,
            clear,
            Some("login"),
        );
        response.headers.set("Clear-Site-Data", CLEAR_SITE_DATA);
        return revoke_then(
            Outcome::respond(response, "signed-out-switching-user"),
            &cookies,
            config,
        );
    }
    let signed_out = format!("{base}{}", config.paths().signed_out);
    let location = match &provider.logout {
        LogoutSettings::Cognito { url } => with_query(
            url,
            &[
                ("client_id", &provider.client_id),
                ("logout_uri", &signed_out),
            ],
        ),
        LogoutSettings::Oidc { url } => with_query(
            url,
            &[
                ("client_id", &provider.client_id),
                ("post_logout_redirect_uri", &signed_out),
            ],
        ),
        LogoutSettings::None => signed_out,
    };
    let mut response = pages::redirect(&location, clear);
    response.headers.set("Clear-Site-Data", CLEAR_SITE_DATA);
    revoke_then(Outcome::respond(response, "signed-out"), &cookies, config)
}

/// The answer, after revoking the refresh token the request carries (when
/// there is one and the provider has a revocation endpoint).
fn revoke_then(
    outcome: Outcome,
    cookies: &[(&str, &str)],
    config: &Config,
) -> Step<SignoutPending> {
    let names = &config.cookie_names;
    let provider = config.provider();
    let refresh_token = cookie_values(cookies, &names.refresh)
        .into_iter()
        .find(|t| is_cookie_safe(t));
    match (refresh_token, &provider.revocation_endpoint) {
        (Some(token), Some(endpoint)) => Step::Call {
            call: ProviderCall {
                purpose: CallPurpose::RevokeRefreshToken,
                endpoint: endpoint.clone(),
                form: vec![
                    ("token", token.to_owned()),
                    ("token_type_hint", "refresh_token".into()),
                ],
            },
            pending: SignoutPending { outcome },
        },
        (Some(_), None) => Step::Done(outcome.with_detail("no revocation endpoint configured")),
        (None, _) => Step::Done(outcome.with_detail("no refresh token to revoke")),
    }
}

/// Sign-out always completes: a failed revocation must not leave the user
/// signed in in this browser. The detail says what became of it.
pub fn signout_complete(pending: SignoutPending, outcome: &ProviderOutcome) -> Outcome {
    let detail = match outcome {
        ProviderOutcome::Answered { status: 200, .. } => "refresh token revoked".to_owned(),
        ProviderOutcome::Answered { status, .. } => format!("revocation answered {status}"),
        ProviderOutcome::TimedOut => "revocation timed out".to_owned(),
        ProviderOutcome::Unreachable => "revocation endpoint unreachable".to_owned(),
        ProviderOutcome::CredentialsUnavailable => {
            "revocation skipped: client secret unavailable".to_owned()
        }
    };
    pending.outcome.with_detail(detail)
}

fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{}", encode_form(pairs.iter().copied()))
}
