//! `/_edge-auth/refresh?return=/page`: an expired ID token is swapped for a
//! new one with the refresh token. When the refresh token is missing or
//! refused, the session is cleared and a fresh sign-in starts. It never
//! redirects back to a page with a token that would send it here again.

use crate::config::Config;
use crate::cookies::{self, TooLargeForCookie, cookie_values, is_cookie_alphabet, request_cookies};
use crate::event::{CloudFrontRequest, DistributionConfig};
use crate::flow::{site_base, start_signin};
use crate::pages::{self, Action};
use crate::provider::{
    CallPurpose, ProviderCall, ProviderOutcome, TokenAnswer, Unavailable, classify_token_answer,
};
use crate::return_path::return_parameter;
use crate::session;
use crate::signin::Keys;
use crate::{Entropy, Outcome, Step};

#[derive(Debug, Clone)]
pub struct RefreshPending {
    request: CloudFrontRequest,
    base: String,
    return_to: String,
    /// The `sub` of the session being renewed (a valid signature, expired or
    /// not): the new ID token must be for the same user (OIDC Core §12.2).
    subject: String,
    /// What the renewal keeps: the session id (the refresh cookie is
    /// bound to it), when its user signed in, and how.
    renewal: session::Renewal,
    /// Whether the original ID token named an `azp`: the new one must too,
    /// or must not (OIDC Core §12.2).
    had_azp: bool,
}

pub fn refresh_begin(
    request: &CloudFrontRequest,
    distribution: &DistributionConfig,
    config: &Config,
    now: u64,
    entropy: &mut dyn Entropy,
) -> Step<RefreshPending> {
    let Some(base) = site_base(config, &distribution.distribution_domain_name) else {
        return Step::Done(crate::flow::no_host_page());
    };
    let return_to = return_parameter(&request.querystring).unwrap_or_else(|| "/".into());
    let cookies = request_cookies(&request.headers);
    let mut refresh_tokens = cookie_values(&cookies, &config.cookie_names.refresh);
    refresh_tokens.dedup();
    if refresh_tokens.len() > 1 {
        // Two different refresh tokens: one was planted, by a sibling
        // subdomain with a longer path (RFC 6265bis lets it set a
        // `__Secure-` cookie), and using it would sign the user into that
        // account. There is no telling which, so neither is used: a fresh
        // sign-in, with both paths the planted one is likely to use cleared.
        let mut clear = clear_session(config);
        let paths = config.paths();
        for path in [&paths.refresh, &paths.signout] {
            clear.push(cookies::clear_cookie(
                &config.cookie_names,
                &config.cookie_names.refresh,
                path,
            ));
        }
        // And a copy set with a `Domain` (the planted one, most likely),
        // which a host-only clearing does not reach.
        let host = base.split_once("://").map_or("", |(_, host)| host);
        clear.extend(cookies::clear_domain_copies(
            &config.cookie_names,
            &config.cookie_names.refresh,
            host,
            &[&paths.refresh, &paths.signout, &paths.auth_prefix],
        ));
        let response = start_signin(config, request, &base, now, entropy, &return_to, clear);
        return Step::Done(
            Outcome::respond(response, "signin-started").with_detail(format!(
                "{} refresh tokens: ambiguous",
                refresh_tokens.len()
            )),
        );
    }
    let fresh_signin = |entropy: &mut dyn Entropy, detail: &'static str| {
        let response = start_signin(
            config,
            request,
            &base,
            now,
            entropy,
            &return_to,
            clear_session(config),
        );
        Step::Done(Outcome::respond(response, "signin-started").with_detail(detail))
    };
    let Some(value) = refresh_tokens.into_iter().next() else {
        return fresh_signin(entropy, "no refresh token");
    };
    let Some(bound) = cookies::BoundRefresh::parse(value) else {
        return fresh_signin(
            entropy,
            "the refresh cookie is not bound to a session (an older release's, or not ours)",
        );
    };
    // Only with the session it is bound to (its signature valid, expired
    // or not): a refresh cookie alone, or beside another session, is not
    // this browser's sign-in.
    let Some(session) = cookie_values(&cookies, &config.cookie_names.session)
        .into_iter()
        .filter_map(|s| config.session_untimed(s).ok())
        .find(|claims| crate::flow::constant_time_eq(&claims.sid, bound.sid))
    else {
        return fresh_signin(entropy, "the refresh cookie is not bound to this session");
    };
    // A user `revoke` ended: their refresh token must not mint a session
    // past the revocation (the signers read it with the keys).
    if config.sessions.is_revoked(&session) {
        return fresh_signin(
            entropy,
            "revoked: edge-auth-deploy revoke ended this user's sessions",
        );
    }
    // The idle and absolute limits: past either, a new sign-in, not a
    // renewal (and the provider is not asked).
    if let Some(why) = session::renewal_refused(
        &config.file.session,
        &session,
        now,
        config.sessions.leeway(),
    ) {
        return fresh_signin(entropy, why);
    }
    let renewal = session::Renewal::of(&session);
    let refresh_token = bound.token;
    let call = ProviderCall {
        purpose: CallPurpose::RefreshTokens,
        endpoint: config.provider().token_endpoint.clone(),
        form: vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh_token.to_owned()),
        ],
    };
    Step::Call {
        call,
        pending: RefreshPending {
            request: request.clone(),
            base,
            return_to,
            subject: session.sub,
            renewal,
            had_azp: bound.had_azp,
        },
    }
}

pub fn refresh_complete(
    pending: RefreshPending,
    config: &Config,
    keys: Keys<'_>,
    now: u64,
    entropy: &mut dyn Entropy,
    outcome: &ProviderOutcome,
) -> Outcome {
    let tokens = match classify_token_answer(outcome) {
        TokenAnswer::Tokens(tokens) => tokens,
        TokenAnswer::Refused { error } if error == "invalid_grant" => {
            // Revoked, expired or rotated away: start over, without the dead token.
            let response = start_signin(
                config,
                &pending.request,
                &pending.base,
                now,
                entropy,
                &pending.return_to,
                clear_session(config),
            );
            return Outcome::respond(response, "signin-started")
                .with_detail("refresh token refused: invalid_grant");
        }
        other => {
            let retry = format!(
                "{}?{}",
                config.paths().refresh,
                crate::query::encode_form([("return", pending.return_to.as_str())])
            );
            return unavailable_page(
                other,
                vec![],
                Action {
                    href: &retry,
                    label: "Try again",
                },
            );
        }
    };
    let id_token = tokens.id_token.as_deref().filter(|t| is_cookie_alphabet(t));
    let verified = id_token.map(|t| keys.provider.verify(t, now, None));
    let claims = match verified {
        Some(Ok(claims)) => claims,
        verified => {
            // Going back to the page with this token would come straight back
            // here: stop with a page instead, and drop the session.
            let detail = match verified {
                Some(Err(e)) => e.to_string(),
                _ => "no usable id_token in the answer".into(),
            };
            return refused_page(&pending, config, "refresh-refused", detail);
        }
    };
    if pending.subject != claims.subject {
        // OIDC Core §12.2: a refreshed ID token names the same user. One
        // that does not is not this session's renewal, whatever its origin.
        return refused_page(
            &pending,
            config,
            "refresh-other-subject",
            "the new ID token's sub is not the session's".into(),
        );
    }
    if pending.had_azp != claims.has_azp {
        // §12.2 again: its claims match the original's, `azp` included.
        return refused_page(
            &pending,
            config,
            "refresh-claims-changed",
            "the new ID token's azp is not as the original's".into(),
        );
    }
    let Some(signer) = keys.signer else {
        return unavailable_page(
            TokenAnswer::CredentialsUnavailable,
            vec![],
            Action {
                href: &pending.return_to,
                label: "Try again",
            },
        )
        .with_detail("session signing key unavailable");
    };
    // Providers that rotate refresh tokens send a new one; keep it.
    match session::issue(
        config,
        signer,
        &claims,
        now,
        entropy,
        tokens.refresh_token.as_deref(),
        Some(&pending.renewal),
    ) {
        Ok((set, subject)) => {
            Outcome::respond(pages::redirect(&pending.return_to, set), "refreshed")
                .for_session(subject)
        }
        Err(too_large) => token_too_large_page(too_large, clear_session(config)),
    }
}

fn refused_page(
    pending: &RefreshPending,
    config: &Config,
    event: &'static str,
    detail: String,
) -> Outcome {
    let page = pages::html_page(
        401,
        "Your session could not be renewed",
        "The identity provider's new token did not pass verification. You have been signed out; signing in again usually helps.",
        Some(Action {
            href: &pending.return_to,
            label: "Sign in again",
        }),
        clear_session(config),
    );
    Outcome::respond(page, event).with_detail(detail)
}

/// Clears the session, refresh and display-name cookies.
pub fn clear_session(config: &Config) -> Vec<String> {
    let names = &config.cookie_names;
    vec![
        cookies::clear_cookie(names, &names.session, "/"),
        cookies::clear_cookie(names, &names.refresh, &config.paths().auth_prefix),
        cookies::clear_cookie(names, &names.user, "/"),
    ]
}

/// The page for a session too large for a browser cookie (a user in very
/// many of the groups the rules name). A page, not a redirect: the browser
/// would drop the cookie and come back.
pub(crate) fn token_too_large_page(too_large: TooLargeForCookie, cookies: Vec<String>) -> Outcome {
    let message = format!(
        "Your session is {} bytes, more than the {} bytes a browser keeps in a cookie, so this site cannot keep you signed in. This usually means the account is in very many of the groups this site's rules name. Please tell the site's administrator.",
        too_large.bytes,
        cookies::MAX_COOKIE_NAME_AND_VALUE,
    );
    let page = pages::html_page(
        500,
        "Your sign-in is too large for this site",
        &message,
        None,
        cookies,
    );
    Outcome::respond(page, "id-token-too-large")
        .with_detail(format!("session cookie of {} bytes", too_large.bytes))
}

/// The page for a provider that is down, slow, misbehaving or refusing us.
pub(crate) fn unavailable_page(
    answer: TokenAnswer,
    cookies: Vec<String>,
    action: Action<'_>,
) -> Outcome {
    let (status, event, message, detail) = match answer {
        TokenAnswer::Unavailable(Unavailable::TimedOut) => (
            504,
            "provider-timeout",
            "The identity provider did not answer in time. Please try again in a moment.",
            "timed out".to_owned(),
        ),
        TokenAnswer::Unavailable(Unavailable::Unreachable) => (
            503,
            "provider-unreachable",
            "The identity provider cannot be reached. Please try again in a moment.",
            "unreachable".to_owned(),
        ),
        TokenAnswer::Unavailable(Unavailable::ServerError) => (
            503,
            "provider-error",
            "The identity provider had an internal error. Please try again in a moment.",
            "5xx".to_owned(),
        ),
        TokenAnswer::Unavailable(Unavailable::InvalidAnswer) => (
            503,
            "provider-invalid-answer",
            "The identity provider sent an answer this site cannot read. Please try again later.",
            "invalid answer".to_owned(),
        ),
        TokenAnswer::CredentialsUnavailable => (
            503,
            "credentials-unavailable",
            "Sign-in is temporarily unavailable: this site cannot read its own credentials. Please try again later.",
            "client secret unavailable".to_owned(),
        ),
        TokenAnswer::Refused { error } => (
            500,
            "provider-refused",
            "The identity provider refused this site's request. The site's configuration needs attention.",
            error,
        ),
        TokenAnswer::Tokens(_) => (500, "unexpected", "Unexpected answer.", String::new()),
    };
    let page = pages::html_page(
        status,
        "Sign-in is unavailable",
        message,
        Some(action),
        cookies,
    );
    Outcome::respond(page, event).with_detail(detail)
}
