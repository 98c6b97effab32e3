//! Viewer request on every protected path: let a signed-in user through, or
//! start a sign-in, or send an expired session to refresh, or refuse.

use serde_json::json;

use crate::config::{Config, Rule};
use crate::cookies::{cookie_values, request_cookies};
use crate::event::{CloudFrontRequest, DistributionConfig};
use crate::flow::{site_base, start_signin};
use crate::pages::{self, Action};
use crate::paths::{canonical_path, match_subjects};
use crate::query::encode_form;
use crate::return_path::path_and_query;
use crate::session::{SessionClaims, SessionError};
use crate::sites::{Policy, SitePolicy};
use crate::{Entropy, Outcome};

/// How many session cookies of the same name are tried (duplicates can come
/// from an old path); more is not a real browser.
const MAX_SESSION_CANDIDATES: usize = 4;

/// The per-request check: the session the deployment signed (HMAC-SHA-256,
/// `crate::session`), never a provider's token.
pub fn authorize(
    request: CloudFrontRequest,
    distribution: &DistributionConfig,
    config: &Config,
    now: u64,
    entropy: &mut dyn Entropy,
) -> Outcome {
    authorize_at(request, distribution, config, None, now, entropy)
}

/// [`authorize`] with a site table (`config.site_table`): `site` is the
/// entry of the request's host ([`crate::sites::site_key`]), `None` when no
/// site has that host, which gets a 404 page and nothing built from the
/// name. Without a site table, `site` is not looked at.
pub fn authorize_at(
    request: CloudFrontRequest,
    distribution: &DistributionConfig,
    config: &Config,
    site: Option<&SitePolicy>,
    now: u64,
    entropy: &mut dyn Entropy,
) -> Outcome {
    let policy = match (config.site_table(), site) {
        (false, _) => config.policy(),
        (true, Some(site)) => site.policy(),
        (true, None) => return unknown_site(),
    };
    let path = match canonical_path(&request.uri) {
        Ok(path) => path,
        Err(e) => {
            let (title, message) = BAD_PATH;
            let page = pages::html_page(400, title, message, home(), vec![]);
            return Outcome::respond(page, "bad-path").with_detail(e.to_string());
        }
    };
    let subjects = match_subjects(&request.uri, &path);
    // Rules win over public patterns: a public `/assets/*` must not open a
    // ruled `/assets/internal/*`, nor a ruled object by another spelling.
    let ruled = || subjects.iter().any(|s| policy.rule_for(s).is_some());
    if policy.public.iter().any(|p| p.matches(&path)) && !ruled() {
        return Outcome::forward(request, "public-path");
    }
    // The auth endpoints have behaviours of their own, so nothing under the
    // auth prefix that reaches this function is one of them: it must neither
    // start a sign-in (that could loop) nor reach the origin (the bucket has
    // nothing there, and the prefix is not the site's to fill). The check is
    // on the decoded path, so `/_edge%2Dauth/x` is caught as well.
    if path.starts_with(&config.paths().auth_prefix) {
        let (title, message) = AUTH_PATH_NOT_FOUND;
        let page = pages::html_page(404, title, message, home(), vec![]);
        return Outcome::respond(page, "auth-path-not-found").with_detail(path);
    }

    // A machine's service token (with `tokens` set): from the
    // Authorization header alone, decided by the same rules, and never
    // sent to sign in: there is no browser to send.
    if let Some(tokens) = &config.file.tokens
        && let Some(token) = bearer_token(&request)
    {
        let verified =
            config
                .sessions
                .verify_service_at(token, now, policy.site, tokens.max_lifetime_seconds);
        return match verified {
            Err(SessionError::Expired) => token_refused(TOKEN_INVALID).with_detail("expired"),
            Err(_) => token_refused(TOKEN_INVALID).with_detail("invalid"),
            Ok(claims) => match allow_or_forbid(policy, &subjects, &claims, now) {
                Verdict::Allowed { ruled } => {
                    let event = if ruled { "allowed-by-rule" } else { "allowed" };
                    Outcome::forward(request, event).for_session(subject_of(claims))
                }
                // A token carries no sign-in to step up from.
                Verdict::Forbidden(rule) | Verdict::StepUp(rule) => token_refused(TOKEN_FORBIDDEN)
                    .with_detail(format!("rule {}", rule.pattern.as_str()))
                    .for_session(subject_of(claims)),
            },
        };
    }
    let session = check_session(&request, config, policy, &subjects, now);
    let return_to = path_and_query(&request.uri, &request.querystring);
    match session {
        Session::Valid(claims) => match allow_or_forbid(policy, &subjects, &claims, now) {
            Verdict::Allowed { ruled } => {
                let event = if ruled { "allowed-by-rule" } else { "allowed" };
                Outcome::forward(request, event).for_session(subject_of(claims))
            }
            Verdict::Forbidden(rule) => {
                forbidden(&request, config, rule, &claims).for_session(subject_of(claims))
            }
            // A recent or second-factor sign-in, which the start asks the
            // provider for (`crate::flow::step_up_for`); the session stays.
            Verdict::StepUp(rule) if can_navigate(&request) => {
                let Some(response) =
                    signin_response(config, distribution, &request, now, entropy, &return_to)
                else {
                    return crate::flow::no_host_page();
                };
                Outcome::respond(response, "step-up")
                    .with_detail(format!("rule {}", rule.pattern.as_str()))
                    .for_session(subject_of(claims))
            }
            Verdict::StepUp(_) => script_401(STEP_UP).for_session(subject_of(claims)),
        },
        Session::Expired if can_navigate(&request) => refresh_redirect(config, &return_to),
        Session::Expired => script_401(SESSION_EXPIRED),
        // No session, but the display-name cookie set with it says this
        // browser was signed in: the session cookie was lost (deleted, or
        // dropped by the browser, or an older release's ID-token cookie) while the refresh token, which this function cannot
        // see (it is scoped to the auth path), may still be good. Try a
        // silent refresh first; refresh starts a sign-in when there is none.
        Session::Lost if can_navigate(&request) => refresh_redirect(config, &return_to)
            .with_detail("no session; the user cookie says signed in"),
        Session::None(reason) if can_navigate(&request) => {
            let Some(response) =
                signin_response(config, distribution, &request, now, entropy, &return_to)
            else {
                return crate::flow::no_host_page();
            };
            let outcome = Outcome::respond(response, "signin-started");
            match reason {
                Some(e) => outcome.with_detail(format!("token refused: {e}")),
                // No session at all: every first visit and every crawler.
                None => outcome.routine(),
            }
        }
        Session::None(_) | Session::Lost => script_401(UNAUTHENTICATED),
    }
}

/// The answer to a host no site of the table has: a 404 page, nothing
/// built from the name.
pub fn unknown_site() -> Outcome {
    let (title, message) = UNKNOWN_SITE;
    let page = pages::html_page(404, title, message, None, vec![]);
    Outcome::respond(page, "unknown-site")
}

/// A sign-in's start: the flow itself, or with a site table a redirect to
/// the start path (as the CloudFront Function always answers), where the
/// regional handler starts it at the site the distribution names, with
/// the address the table gives it, never one built from the request.
fn signin_response(
    config: &Config,
    distribution: &DistributionConfig,
    request: &CloudFrontRequest,
    now: u64,
    entropy: &mut dyn Entropy,
    return_to: &str,
) -> Option<crate::CloudFrontResponse> {
    if config.site_table() {
        return Some(start_redirect(config, return_to));
    }
    let base = site_base(config, &distribution.distribution_domain_name)?;
    Some(start_signin(
        config,
        request,
        &base,
        now,
        entropy,
        return_to,
        vec![],
    ))
}

/// To the start path, where signin starts a sign-in that comes back to
/// `return_to`: what the CloudFront Function answers instead of starting
/// one itself (it has no secure random source).
pub fn start_redirect(config: &Config, return_to: &str) -> crate::CloudFrontResponse {
    let location = format!(
        "{}?{}",
        config.paths().start,
        encode_form([("return", return_to)])
    );
    pages::redirect(&location, vec![])
}

/// To the refresh endpoint, which comes back to `return_to`.
fn refresh_redirect(config: &Config, return_to: &str) -> Outcome {
    let location = format!(
        "{}?{}",
        config.paths().refresh,
        encode_form([("return", return_to)])
    );
    Outcome::respond(pages::redirect(&location, vec![]), "refresh-redirect")
}

enum Session {
    Valid(SessionClaims),
    Expired,
    /// No session cookie at all, but the user cookie set beside it.
    Lost,
    None(Option<SessionError>),
}

fn check_session(
    request: &CloudFrontRequest,
    config: &Config,
    policy: Policy<'_>,
    subjects: &[String],
    now: u64,
) -> Session {
    let cookies = request_cookies(&request.headers);
    let (session_name, user_name) = match policy.cookies {
        Some([session, user]) => (session, user),
        None => (&config.cookie_names.session, &config.cookie_names.user),
    };
    let mut expired = false;
    let mut last_error = None;
    for token in cookie_values(&cookies, session_name)
        .into_iter()
        .take(MAX_SESSION_CANDIDATES)
    {
        match config.sessions.verify_at(token, now, policy.site) {
            Ok(claims) => return Session::Valid(claims),
            Err(SessionError::Expired) => expired = true,
            Err(e) => last_error = Some(e),
        }
    }
    // No session: a shared link's cookie that opens every key of this
    // request stands in for one (an expired link is no reason to refresh).
    if let Some(shares) = &config.file.shares {
        for token in cookie_values(&cookies, &config.cookie_names.share)
            .into_iter()
            .take(MAX_SESSION_CANDIDATES)
        {
            if let Ok((claims, path)) = config.sessions.verify_share_at(
                token,
                now,
                policy.site,
                shares.max_lifetime_seconds,
            ) && crate::share::covers(&path, subjects)
            {
                return Session::Valid(claims);
            }
        }
    }
    if expired {
        Session::Expired
    } else if last_error.is_none() && !cookie_values(&cookies, user_name).is_empty() {
        Session::Lost
    } else {
        Session::None(last_error)
    }
}

enum Verdict<'c> {
    Allowed { ruled: bool },
    Forbidden(&'c Rule),
    StepUp(&'c Rule),
}

/// For each key the request can reach, the first rule whose pattern
/// matches decides, as CloudFront's own behaviours do; every one of those
/// rules must be met: its groups (or the page is forbidden), then its
/// step-up (or the user signs in again, as the rule asks).
fn allow_or_forbid<'c>(
    policy: Policy<'c>,
    subjects: &[String],
    claims: &SessionClaims,
    now: u64,
) -> Verdict<'c> {
    let mut ruled = false;
    for subject in subjects {
        let Some(rule) = policy.rule_for(subject) else {
            continue;
        };
        if !claims.groups.iter().any(|g| rule.groups.contains(g)) {
            return Verdict::Forbidden(rule);
        }
        if rule.step_up.met_by(claims, now).is_err() {
            return Verdict::StepUp(rule);
        }
        ruled = true;
    }
    Verdict::Allowed { ruled }
}

/// Whether `claims` open every key (`subjects`) under `policy`, step-ups
/// included: what a shared link may be made for (`crate::share_page`).
pub(crate) fn opens(
    policy: Policy<'_>,
    subjects: &[String],
    claims: &SessionClaims,
    now: u64,
) -> bool {
    matches!(
        allow_or_forbid(policy, subjects, claims, now),
        Verdict::Allowed { .. }
    )
}

/// The session's ids for the decision line, moved out of the claims the
/// request is done with (no copy on the path every page view takes).
fn subject_of(claims: SessionClaims) -> crate::Subject {
    crate::Subject {
        sub: claims.sub,
        sid: claims.sid,
    }
}

fn forbidden(
    request: &CloudFrontRequest,
    config: &Config,
    rule: &Rule,
    claims: &SessionClaims,
) -> Outcome {
    let (pattern, groups) = (&rule.pattern, &rule.groups);
    let who = if claims.name.is_empty() {
        NAMELESS
    } else {
        claims.name.as_str()
    };
    let message = forbidden_message(who, groups);
    // Sign out here and at the provider's form, then back to this page.
    let switch = format!(
        "{}?{}",
        config.paths().signout,
        encode_form([(
            "return",
            path_and_query(&request.uri, &request.querystring).as_str()
        )])
    );
    let sign_out = Action {
        href: &switch,
        label: SWITCH_USER_LABEL,
    };
    // And a way back to the site's start page, which the user may read.
    let actions = [sign_out, home().expect("the home page action")];
    Outcome::respond(
        pages::html_page_with(403, FORBIDDEN_TITLE, &message, &actions, vec![]),
        "forbidden",
    )
    .with_detail(format!("rule {}", pattern.as_str()))
}

/// Where the request came from, by Fetch Metadata: `Some(false)` from this
/// site's own pages (`Sec-Fetch-Site: same-origin`) or a typed address or
/// bookmark (`none`), `Some(true)` from anywhere else (another site, a
/// sibling subdomain), `None` from a browser that sends no Fetch Metadata.
/// Sign-out acts only on `Some(false)`; a sign-in started on `Some(true)`
/// never evicts another.
pub(crate) fn sent_from_elsewhere(request: &CloudFrontRequest) -> Option<bool> {
    request
        .headers
        .first("sec-fetch-site")
        .map(|site| !site.eq_ignore_ascii_case("same-origin") && !site.eq_ignore_ascii_case("none"))
}

/// Whether the request is a page load that can follow a redirect to a login
/// page. Scripts (`fetch`, XHR) cannot: they get a 401 and no new flow, so a
/// background poll never overwrites a sign-in in progress.
pub fn can_navigate(request: &CloudFrontRequest) -> bool {
    if !matches!(request.method.as_str(), "GET" | "HEAD") {
        return false;
    }
    // jQuery and many other libraries mark their requests this way, also in
    // browsers (and tools) that send no Fetch Metadata.
    if request
        .headers
        .first("x-requested-with")
        .is_some_and(|v| v.eq_ignore_ascii_case("XMLHttpRequest"))
    {
        return false;
    }
    if let Some(mode) = request.headers.first("sec-fetch-mode")
        && !mode.eq_ignore_ascii_case("navigate")
    {
        return false;
    }
    match request.headers.first("accept") {
        Some(accept) => accept.to_ascii_lowercase().contains("text/html"),
        None => true,
    }
}

pub(crate) fn script_401(error: &'static str) -> Outcome {
    let body =
        json!({ "error": error, "message": "Sign in again by loading a page of this site." });
    let mut response = pages::json(401, &body, vec![]);
    response
        .headers
        .set("WWW-Authenticate", r#"Cookie realm="edge-auth""#);
    Outcome::respond(response, "script-unauthenticated").with_detail(error)
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in
/// any case, RFC 7235), or `None` for no such header.
pub fn bearer_token(request: &CloudFrontRequest) -> Option<&str> {
    let value = request.headers.first("authorization")?;
    let scheme = value.get(..7)?;
    scheme.eq_ignore_ascii_case("bearer ").then(|| &value[7..])
}

/// A service token refused (401, `invalid_token`) or not enough for the
/// path (403, `insufficient_scope`), as RFC 6750 §3.1 names them: JSON,
/// and a `WWW-Authenticate: Bearer` saying which.
pub(crate) fn token_refused(error: TokenRefusal) -> Outcome {
    let (status, code, event) = error;
    let mut response = pages::json(status, &json!({ "error": code }), vec![]);
    response
        .headers
        .set("WWW-Authenticate", format!(r#"Bearer error="{code}""#));
    Outcome::respond(response, event)
}

/// (status, RFC 6750 error, decision).
pub(crate) type TokenRefusal = (u16, &'static str, &'static str);
pub(crate) const TOKEN_INVALID: TokenRefusal = (401, "invalid_token", "token-refused");
pub(crate) const TOKEN_FORBIDDEN: TokenRefusal = (403, "insufficient_scope", "token-forbidden");

// The pages' words, shared with the CloudFront Function's rendering.
/// A script's 401: no session, or one that has expired (`error` in its JSON).
pub(crate) const UNAUTHENTICATED: &str = "unauthenticated";
pub(crate) const SESSION_EXPIRED: &str = "session_expired";
pub(crate) const STEP_UP: &str = "step_up_required";
pub(crate) const BAD_PATH: (&str, &str) = ("Bad request", "This address cannot be served.");
pub(crate) const AUTH_PATH_NOT_FOUND: (&str, &str) =
    ("Not found", "There is no page at this address.");
pub(crate) const FORBIDDEN_TITLE: &str = "Access denied";
/// A host no site of the site table has.
pub(crate) const UNKNOWN_SITE: (&str, &str) = ("Not found", "No site is served at this address.");
/// Who a nameless session is, on the 403 page.
pub(crate) const NAMELESS: &str = "this account";
pub(crate) const SWITCH_USER_LABEL: &str = "Sign in as someone else";

pub(crate) fn forbidden_message(who: &str, groups: &[String]) -> String {
    format!(
        "You are signed in as {who}, but this page is only open to members of: {}.",
        groups.join(", ")
    )
}

pub(crate) fn home() -> Option<Action<'static>> {
    Some(Action {
        href: "/",
        label: "Go to the home page",
    })
}
