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
use crate::session::SessionClaims;
use crate::{Entropy, Outcome, Revocation, Step};

/// The answer is decided before the revocations; their outcomes only go
/// to the log.
#[derive(Debug, Clone)]
pub struct SignoutPending {
    outcome: Outcome,
    /// Refresh tokens still to revoke after the one being revoked.
    remaining: Vec<String>,
    /// What became of each revocation so far.
    done: Vec<String>,
}

/// At most this many refresh tokens are revoked by one sign-out (a
/// browser holds one; a planted copy or two may come along).
pub const MAX_REVOCATIONS: usize = 4;

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
    // request came from: a typed URL or bookmark (`none`) and our own
    // pages (`same-origin`) act. Anything else, a sibling subdomain
    // (`same-site`) and a browser that sends no Fetch Metadata included,
    // gets a confirmation page whose link carries a token that must match
    // a `__Host-` cookie set with it (double submit: no other site can
    // read the one or set the other).
    let site = request.headers.first("sec-fetch-site");
    let trusted = crate::authorize::sent_from_elsewhere(request) == Some(false);
    if !trusted && !confirmed(request, config) {
        return Step::Done(confirmation_page(request, config, entropy, site));
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
    if !cookie_values(&cookies, &names.signout_confirm).is_empty() {
        clear.push(cookies::clear_cookie(names, &names.signout_confirm, "/"));
    }

    let Some(base) = site_base(config, &distribution.distribution_domain_name) else {
        return Step::Done(crate::flow::no_host_page());
    };
    let ended = ended_session(&cookies, config);
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
            None,
        );
        response.headers.set("Clear-Site-Data", CLEAR_SITE_DATA);
        return revoke_then(
            ending(
                Outcome::respond(response, "signed-out-switching-user"),
                ended,
                cut_at(config, now),
            ),
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
    revoke_then(
        ending(
            Outcome::respond(response, "signed-out"),
            ended,
            cut_at(config, now),
        ),
        &cookies,
        config,
    )
}

/// The session this sign-out ends: the first session cookie whose MAC
/// holds under this deployment's keys, expired or not (a copy of it is
/// what the edge must stop honouring). A forged or foreign cookie ends
/// nothing: it names no session this deployment issued.
fn ended_session(cookies: &[(&str, &str)], config: &Config) -> Option<SessionClaims> {
    cookie_values(cookies, &config.cookie_names.session)
        .into_iter()
        .take(MAX_REVOCATIONS)
        .find_map(|value| config.session_untimed(value).ok())
}

/// The sign-out's outcome with the session it ends: every copy of it (and
/// every session of that user issued no later, other devices' included,
/// which go back through refresh or the provider) is refused at the edge
/// once the driver has raised `revoked:<sub>` to the session's `iat`. The
/// cut-off is the session's own issue time, not now (with a site table,
/// the sign-out's: [`cut_at`]): a sign-in right after the sign-out (a new
/// session, issued later; the driver answers once the clock has passed
/// the cut-off) is not caught by it.
fn ending(outcome: Outcome, ended: Option<SessionClaims>, at: Option<u64>) -> Outcome {
    match ended {
        Some(claims) => {
            let revocation = Revocation {
                sub: claims.sub.clone(),
                up_to: at.map_or(claims.iat, |at| at.max(claims.iat)),
            };
            let mut outcome = outcome.for_session(crate::Subject {
                sub: claims.sub,
                sid: claims.sid,
            });
            outcome.revocation = Some(Box::new(revocation));
            outcome
        }
        None => outcome,
    }
}

/// With a site table, the cut-off is the sign-out itself, not the ended
/// session's issue: the other sites of its group hold sessions of their
/// own (each host its cookies, each issued when that site signed in, most
/// often after this one), and a sign-out ends them all; the user's
/// sessions on other sites and devices too (the granularity of the store's
/// per-user entry). One site: only this session and earlier ones.
fn cut_at(config: &Config, now: u64) -> Option<u64> {
    config.site.is_some().then_some(now)
}

/// Whether the request carries a sign-out confirmation: `confirm` in the
/// query equal to the confirmation cookie.
fn confirmed(request: &CloudFrontRequest, config: &Config) -> bool {
    let Ok(query) = crate::query::parse_query(&request.querystring) else {
        return false;
    };
    let Some((_, token)) = query.iter().find(|(k, _)| k == "confirm") else {
        return false;
    };
    let cookies = request_cookies(&request.headers);
    crate::flow::is_random_token(token)
        && cookie_values(&cookies, &config.cookie_names.signout_confirm)
            .iter()
            .any(|c| crate::flow::constant_time_eq(c, token))
}

/// How long a confirmation page's link works.
const CONFIRM_MAX_AGE: u64 = 300;

/// "Sign out?" with a button that signs out: a link to this endpoint with
/// a fresh confirmation token, set beside it as a cookie.
fn confirmation_page(
    request: &CloudFrontRequest,
    config: &Config,
    entropy: &mut dyn Entropy,
    site: Option<&str>,
) -> Outcome {
    let token = crate::flow::random_token(entropy);
    let names = &config.cookie_names;
    let mut query = vec![("confirm", token.clone())];
    if let Some(return_to) = return_parameter(&request.querystring) {
        query.push(("return", return_to));
    }
    let href = format!(
        "{}?{}",
        config.paths().signout,
        encode_form(query.iter().map(|(k, v)| (*k, v.as_str())))
    );
    let message = if site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
        "Another website sent you here to sign you out of this site. You are still signed in. To sign out, use the button below."
    } else {
        "You are still signed in. To sign out of this site, use the button below."
    };
    let cookie = cookies::set_cookie(names, &names.signout_confirm, &token, "/", CONFIRM_MAX_AGE);
    let page = pages::html_page(
        403,
        "Sign out?",
        message,
        Some(pages::Action {
            href: &href,
            label: "Sign out",
        }),
        vec![cookie],
    );
    let event = match site {
        Some(s) if s.eq_ignore_ascii_case("cross-site") => "signout-refused-cross-site",
        Some(_) => "signout-confirm-same-site",
        None => "signout-confirm-no-fetch-metadata",
    };
    Outcome::respond(page, event)
}

/// The answer, after revoking every refresh token the request carries
/// (ours and any planted beside it: each is somebody's sign-in, and none
/// should outlive a sign-out here), when the provider has a revocation
/// endpoint.
fn revoke_then(
    outcome: Outcome,
    cookies: &[(&str, &str)],
    config: &Config,
) -> Step<SignoutPending> {
    let names = &config.cookie_names;
    let mut tokens: Vec<String> = Vec::new();
    for value in cookie_values(cookies, &names.refresh) {
        // Ours are bound to a session (`<sid>.<a|n>.<token>`); an older
        // release's cookie holds the bare token.
        let token = match cookies::BoundRefresh::parse(value) {
            Some(bound) => bound.token,
            None if is_cookie_safe(value) => value,
            None => continue,
        };
        if !tokens.iter().any(|t| t == token) && tokens.len() < MAX_REVOCATIONS {
            tokens.push(token.to_owned());
        }
    }
    if tokens.is_empty() {
        return Step::Done(outcome.with_detail("no refresh token to revoke"));
    }
    if config.provider().revocation_endpoint.is_none() {
        return Step::Done(outcome.with_detail("no revocation endpoint configured"));
    }
    // Popped from the end: revoke in the order the cookies came.
    tokens.reverse();
    next_revocation(
        SignoutPending {
            outcome,
            remaining: tokens,
            done: Vec::new(),
        },
        config,
    )
}

/// The next revocation call, or the answer when none is left.
fn next_revocation(mut pending: SignoutPending, config: &Config) -> Step<SignoutPending> {
    let endpoint = config.provider().revocation_endpoint.clone();
    match (pending.remaining.pop(), endpoint) {
        (Some(token), Some(endpoint)) => Step::Call {
            call: ProviderCall {
                purpose: CallPurpose::RevokeRefreshToken,
                endpoint,
                form: vec![
                    ("token", token),
                    ("token_type_hint", "refresh_token".into()),
                ],
            },
            pending,
        },
        _ => {
            let detail = pending.done.join("; ");
            Step::Done(pending.outcome.with_detail(detail))
        }
    }
}

/// Sign-out always completes: a failed revocation must not leave the user
/// signed in in this browser. The detail says what became of each; another
/// token still to revoke is another call.
pub fn signout_complete(
    pending: SignoutPending,
    config: &Config,
    outcome: &ProviderOutcome,
) -> Step<SignoutPending> {
    let detail = match outcome {
        ProviderOutcome::Answered { status: 200, .. } => "refresh token revoked".to_owned(),
        ProviderOutcome::Answered { status, .. } => format!("revocation answered {status}"),
        ProviderOutcome::TimedOut => "revocation timed out".to_owned(),
        ProviderOutcome::Unreachable => "revocation endpoint unreachable".to_owned(),
        ProviderOutcome::CredentialsUnavailable => {
            "revocation skipped: client secret unavailable".to_owned()
        }
    };
    let mut pending = pending;
    pending.done.push(detail);
    next_revocation(pending, config)
}

fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{}", encode_form(pairs.iter().copied()))
}
