//! The provider's redirect back to the site (`/_edge-auth/callback`): check
//! `state` against its flow cookie, exchange the code with the PKCE verifier,
//! verify the ID token and its nonce, set the session, go back to the page.

use crate::config::{Config, Unmet};
use crate::cookies::{self, request_cookies};
use crate::event::{CloudFrontRequest, DistributionConfig};
use crate::flow::{FlowCookie, flow_cookie_values, is_random_token, redirect_uri, site_base};
use crate::pages::{self, Action};
use crate::provider::{
    CallPurpose, ProviderCall, ProviderOutcome, TokenAnswer, classify_token_answer,
};
use crate::query::{parse_query, single};
use crate::return_path::{return_parameter, safe_return_path};
use crate::session::{self, SessionSigner};
use crate::token::TokenVerifier;
use crate::{Entropy, Outcome, Step};

/// `paths.start?return=/page`: where the CloudFront Function sends a page
/// load without a session. A sign-in starts here, as `authorize` starts one
/// itself at Lambda@Edge: the flow's `state`, `nonce` and PKCE verifier
/// need a secure random source, which a CloudFront Function lacks.
pub fn signin_start(
    request: &CloudFrontRequest,
    distribution: &DistributionConfig,
    config: &Config,
    now: u64,
    entropy: &mut dyn Entropy,
) -> Outcome {
    // A script cannot follow a sign-in, and a prefetch must not start one
    // (each start sets a flow cookie and may push an older flow out).
    if !crate::authorize::can_navigate(request) || is_speculative(request) {
        return crate::authorize::script_401(crate::authorize::UNAUTHENTICATED);
    }
    let Some(base) = site_base(config, &distribution.distribution_domain_name) else {
        return crate::flow::no_host_page();
    };
    let return_to = return_parameter(&request.querystring).unwrap_or_else(|| "/".into());
    // A sign-in handed over by another site of this group (`site=`, and
    // `prompt=login` for "sign in as someone else"): it comes back there.
    let query = parse_query(&request.querystring).unwrap_or_default();
    let (site, branch, prompt) = match (
        single(&query, "site"),
        single(&query, "branch"),
        single(&query, "prompt"),
    ) {
        (Ok(site), Ok(branch), Ok(prompt)) => (site, branch, prompt.filter(|p| *p == "login")),
        _ => return handed_over_refused("repeated parameter"),
    };
    let member = match site {
        None if branch.is_some() => return handed_over_refused("branch= without site="),
        None => None,
        Some(name) => match config.group_member(name) {
            Some(member) => Some((name, member)),
            None => return handed_over_refused(&format!("site={name:.64}: no site of this group")),
        },
    };
    // A branch's preview: only of a site with previews, a branch's name.
    if let (Some((name, member)), Some(branch)) = (&member, branch)
        && member.preview_base(branch).is_none()
    {
        return handed_over_refused(&format!("site={name} branch={branch:.64}: no such preview"));
    }
    // This site's own page (its sign-in, or handed over to the group's
    // sign-in site), or a page of the site that handed it over.
    let response = crate::flow::start_signin_with_prompt(
        config,
        request,
        &base,
        now,
        entropy,
        &return_to,
        vec![],
        prompt,
        member.as_ref().map(|(name, member)| crate::flow::Handover {
            site: name,
            branch,
            config: member,
        }),
    );
    // The start's own page asked for the address (routing), or refused
    // the one typed (detail: why, never the address).
    let mut response = response;
    let asked = crate::flow::asked_reason(&response).map(str::to_owned);
    response.headers.0.remove(crate::flow::ADDRESS_PAGE_HEADER);
    match (response.status.as_str(), asked) {
        ("200", Some(_)) => Outcome::respond(response, "signin-address-asked").routine(),
        (_, Some(reason)) => {
            Outcome::respond(response, "signin-address-refused").with_detail(reason)
        }
        _ => Outcome::respond(response, "signin-started").routine(),
    }
}

/// A start naming a site this one does not sign in for: nothing is built
/// from the name.
fn handed_over_refused(detail: &str) -> Outcome {
    let page = pages::html_page(
        400,
        "Sign-in failed",
        "This sign-in names a site that does not sign in here. Please start again from the page you wanted.",
        None,
        vec![],
    );
    Outcome::respond(page, "bad-signin-start").with_detail(detail)
}

/// Whether `request` is for the start endpoint rather than the callback
/// (both are served by signin).
pub fn is_start(request: &CloudFrontRequest, config: &Config) -> bool {
    request.uri == config.paths().start
}

/// What the callback knows while the code is being exchanged.
#[derive(Debug, Clone)]
pub struct SigninPending {
    flow_cookie_name: String,
    flow: FlowCookie,
}

/// The authorization-response error codes of RFC 6749 §4.1.2.1 and OpenID
/// Connect Core §3.1.2.6: the only provider errors a page repeats.
const PROVIDER_ERROR_CODES: &[&str] = &[
    "access_denied",
    "invalid_request",
    "unauthorized_client",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
];

pub fn signin_begin(
    request: &CloudFrontRequest,
    distribution: &DistributionConfig,
    config: &Config,
    now: u64,
) -> Step<SigninPending> {
    let names = &config.cookie_names;
    // The code is single-use, and sending it twice lets the provider revoke
    // what the first exchange issued (RFC 6749 §4.1.2). A prefetch (link
    // prefetch, speculation rules) or a script must not spend it beside the
    // real navigation: only a top-level navigation exchanges the code, and
    // the answer here changes no cookie, so that navigation still can.
    if is_speculative(request) {
        let mut page = pages::html_page(
            400,
            "Sign-in not finished",
            "This address finishes a sign-in only when you open it.",
            None,
            vec![],
        );
        page.headers.set("Vary", "Sec-Purpose, Sec-Fetch-Mode");
        return Step::Done(Outcome::respond(page, "callback-not-navigation"));
    }
    let query = match parse_query(&request.querystring) {
        Ok(q) => q,
        Err(e) => {
            return Step::Done(
                bad_request("The address you came back to from the sign-in page is damaged, so the sign-in cannot be finished. Please start again.", vec![]).with_detail(format!("malformed query: {e}")),
            );
        }
    };
    let param = |name| single(&query, name);
    let (state, code, error) = match (param("state"), param("code"), param("error")) {
        (Ok(s), Ok(c), Ok(e)) => (s, c, e),
        _ => {
            return Step::Done(
                bad_request("The address you came back to from the sign-in page has been changed, so the sign-in cannot be finished. Please start again.", vec![])
                    .with_detail("repeated parameter"),
            );
        }
    };
    let cookies = request_cookies(&request.headers);
    let state = state.filter(|s| is_random_token(s));
    let flow_cookie_name = state.map(|s| format!("{}{s}", names.flow_prefix));
    let flow_values = state
        .map(|s| flow_cookie_values(&cookies, &names.flow_prefix, s))
        .unwrap_or_default();
    // Only a flow this site sealed: one made up by a script never reaches
    // the provider's token endpoint.
    let flow = state.and_then(|state| {
        flow_values
            .iter()
            .find_map(|value| FlowCookie::open(value, state, config))
    });
    let clear_flow: Vec<String> = flow_cookie_name
        .iter()
        .filter(|_| !flow_values.is_empty())
        .map(|name| cookies::clear_cookie(names, name, "/"))
        .collect();
    let retry_target = flow.as_ref().map_or_else(
        || "/".to_owned(),
        |f| crate::flow::return_target(config, f).0,
    );

    if let Some(error) = error {
        // Anyone can send a browser to the callback with any `error=`, so the
        // page names only the codes OAuth 2.0 and OpenID Connect define and
        // never repeats other text on this site's domain (`error_description`
        // is left out for the same reason). The log keeps what was sent, as
        // visible ASCII, bounded.
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(64)
            .collect();
        let (status, title, message) = match code.as_str() {
            "access_denied" => (403, "Sign-in was not completed", "The identity provider did not sign you in (access_denied). You may have cancelled, or your account may not be allowed to use this site.".to_owned()),
            known if PROVIDER_ERROR_CODES.contains(&known) => (
                400,
                "Sign-in failed",
                format!("The identity provider answered with the error “{code}”."),
            ),
            _ => (
                400,
                "Sign-in failed",
                "The identity provider answered with an error this site does not recognise."
                    .to_owned(),
            ),
        };
        let page = pages::html_page(
            status,
            title,
            &message,
            Some(Action {
                href: &retry_target,
                label: "Try again",
            }),
            clear_flow,
        );
        return Step::Done(Outcome::respond(page, "provider-error").with_detail(code));
    }
    let Some(flow_cookie_name) = flow_cookie_name else {
        return Step::Done(
            bad_request("This sign-in link is incomplete: it does not say which sign-in it belongs to. It may have been cut short, or opened from a bookmark or another program. Please start again from the page you wanted.", clear_flow)
                .with_detail("state missing or malformed"),
        );
    };
    let Some(flow) = flow else {
        let page = pages::html_page(
            400,
            "Sign-in could not be matched",
            "This sign-in was not started in this browser, or it has already finished. Cookies must be enabled for this site.",
            Some(Action {
                href: "/",
                label: "Start again",
            }),
            clear_flow,
        );
        return Step::Done(Outcome::respond(page, "state-mismatch"));
    };
    if flow
        .issued_at
        .saturating_add(config.cookies().flow_max_age_seconds)
        < now
    {
        let page = pages::html_page(
            400,
            "Sign-in took too long",
            "This sign-in has expired. Please start again.",
            Some(Action {
                href: &retry_target,
                label: "Start again",
            }),
            clear_flow,
        );
        return Step::Done(Outcome::respond(page, "flow-expired"));
    }
    let Some(code) = code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return Step::Done(
            bad_request("The identity provider sent you back without completing the sign-in. Please start again.", clear_flow)
                .with_detail("code missing"),
        );
    };
    let Some(base) = site_base(config, &distribution.distribution_domain_name) else {
        return Step::Done(crate::flow::no_host_page());
    };
    let call = ProviderCall {
        purpose: CallPurpose::ExchangeCode,
        endpoint: config.provider().token_endpoint.clone(),
        form: vec![
            ("grant_type", "authorization_code".into()),
            ("code", code.to_owned()),
            ("redirect_uri", redirect_uri(config, &base)),
            ("code_verifier", flow.verifier.clone()),
        ],
    };
    Step::Call {
        call,
        pending: SigninPending {
            flow_cookie_name,
            flow,
        },
    }
}

/// The keys the provider-facing handlers hold: the provider's (as last
/// fetched; `config.verifier` when never refetched) and the signer of
/// sessions (`None` when it could not be read: sign-in is then unavailable).
#[derive(Clone, Copy)]
pub struct Keys<'a> {
    pub provider: &'a TokenVerifier,
    pub signer: Option<&'a SessionSigner>,
}

pub fn signin_complete(
    pending: SigninPending,
    config: &Config,
    keys: Keys<'_>,
    now: u64,
    entropy: &mut dyn Entropy,
    outcome: &ProviderOutcome,
) -> Outcome {
    let names = &config.cookie_names;
    let clear_flow = cookies::clear_cookie(names, &pending.flow_cookie_name, "/");
    // On this site, or on the site of the group that handed it over.
    let (return_to, member) = crate::flow::return_target(config, &pending.flow);
    let again = Action {
        href: &return_to,
        label: "Sign in again",
    };
    let tokens = match classify_token_answer(outcome) {
        TokenAnswer::Tokens(tokens) => tokens,
        TokenAnswer::Refused { error } if error == "invalid_grant" => {
            let page = pages::html_page(
                400,
                "Sign-in link already used",
                "This sign-in was already completed or has expired. Please sign in again.",
                Some(again),
                vec![clear_flow],
            );
            return Outcome::respond(page, "code-refused").with_detail(error);
        }
        other => return crate::refresh::unavailable_page(other, vec![clear_flow], again),
    };
    let Some(id_token) = tokens.id_token.as_deref() else {
        let page = pages::html_page(
            503,
            "Sign-in is unavailable",
            "The identity provider's answer had no ID token. Is the `openid` scope enabled for this app client?",
            Some(again),
            vec![clear_flow],
        );
        return Outcome::respond(page, "no-id-token");
    };
    let claims = match keys
        .provider
        .verify(id_token, now, Some(&pending.flow.nonce))
    {
        Ok(claims) => claims,
        // A provider set up to send groups in a shape none sends: the
        // page says so, for the administrator (nothing secret in it).
        Err(crate::token::TokenError::Groups(e)) => {
            let message = format!(
                "The identity provider signed you in, but {e}. You have not been signed in here: please tell the site's administrator."
            );
            let page = pages::html_page(
                502,
                "Your groups could not be read",
                &message,
                Some(again),
                vec![clear_flow],
            );
            return Outcome::respond(page, "groups-unreadable").with_detail(e.to_string());
        }
        Err(e) => {
            let page = pages::html_page(
                401,
                "Sign-in could not be verified",
                "The identity provider's answer did not pass verification, so you have not been signed in.",
                Some(again),
                vec![clear_flow],
            );
            return Outcome::respond(page, "id-token-refused").with_detail(e.to_string());
        }
    };
    let Some(signer) = keys.signer else {
        return crate::refresh::unavailable_page(
            TokenAnswer::CredentialsUnavailable,
            vec![clear_flow],
            again,
        )
        .with_detail("session signing key unavailable");
    };
    match session::issue(
        config,
        signer,
        &claims,
        now,
        entropy,
        tokens.refresh_token.as_deref(),
        None,
    ) {
        Ok((session, subject)) => {
            let mut set = vec![clear_flow];
            set.extend(session);
            // The page's rules asked the provider for a recent or
            // second-factor sign-in; without it, going back would only come
            // here again. The user is signed in (other pages open), and
            // this page says what it needs.
            // A site no longer of the group: its path means nothing here.
            let path = match (&pending.flow.site, &member) {
                (Some(_), None) => "/",
                _ => safe_return_path(&pending.flow.return_to).unwrap_or("/"),
            };
            let step_up = crate::flow::step_up_for(member.as_ref().unwrap_or(config), path);
            let (idp_auth_time, mfa) = session::sign_in_factors(config, &claims, now);
            match step_up.met(idp_auth_time, mfa, now) {
                Ok(()) => Outcome::respond(pages::redirect(&return_to, set), "signed-in")
                    .for_session(subject),
                Err(unmet) => step_up_unmet_page(unmet, &return_to, set).for_session(subject),
            }
        }
        Err(too_large) => crate::refresh::token_too_large_page(too_large, vec![clear_flow]),
    }
}

/// The page for a sign-in that did not give what the page's rule asks.
fn step_up_unmet_page(unmet: Unmet, return_to: &str, cookies: Vec<String>) -> Outcome {
    let (message, detail) = match unmet {
        Unmet::Age(seconds) => (
            format!(
                "This page asks for a sign-in within the last {}, and the identity provider did not confirm one. You are signed in for the rest of the site; try again to sign in anew.",
                duration_words(seconds)
            ),
            format!("auth_time older than {seconds} s, or absent"),
        ),
        Unmet::SecondFactor => (
            "This page asks for a sign-in with a second factor (an authenticator app or a security key), and this sign-in had none. You are signed in for the rest of the site; set up a second factor with your identity provider, then try again.".to_owned(),
            "no second factor in amr".to_owned(),
        ),
    };
    let actions = [
        Action {
            href: return_to,
            label: "Try again",
        },
        crate::authorize::home().expect("the home page action"),
    ];
    let page = pages::html_page_with(
        403,
        "A stronger sign-in is needed",
        &message,
        &actions,
        cookies,
    );
    Outcome::respond(page, "step-up-unmet").with_detail(detail)
}

/// `90` as "90 seconds", `900` as "15 minutes", `7200` as "2 hours".
fn duration_words(seconds: u64) -> String {
    let (n, unit) = if seconds.is_multiple_of(3600) {
        (seconds / 3600, "hour")
    } else if seconds.is_multiple_of(60) {
        (seconds / 60, "minute")
    } else {
        (seconds, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A prefetch, prerender or script request rather than the browser
/// following the provider's redirect.
fn is_speculative(request: &CloudFrontRequest) -> bool {
    let says_prefetch = |name: &str| {
        request
            .headers
            .first(name)
            .is_some_and(|v| v.to_ascii_lowercase().contains("prefetch"))
    };
    says_prefetch("sec-purpose")
        || says_prefetch("purpose")
        || says_prefetch("x-moz")
        || request
            .headers
            .first("sec-fetch-mode")
            .is_some_and(|m| !m.eq_ignore_ascii_case("navigate"))
}

fn bad_request(message: &str, cookies: Vec<String>) -> Outcome {
    let page = pages::html_page(
        400,
        "Sign-in failed",
        message,
        Some(Action {
            href: "/",
            label: "Start again",
        }),
        cookies,
    );
    Outcome::respond(page, "bad-callback")
}
