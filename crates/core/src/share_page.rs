//! `paths.share` (`/_edge-auth/share`, served by signin): where a shared
//! link is opened, and (with `shares.page`) where a signed-in user makes
//! one for a page their groups open.
//!
//! A link is `<site>/_edge-auth/share?link=<token>`. Opening it sets the
//! token as a cookie for the pattern's folder and sends the browser to
//! the pattern's page; the per-request check then takes the cookie on
//! every page the pattern covers (`crate::share`). The link goes to this
//! regional endpoint rather than to the page itself because the
//! CloudFront Function's 10 KB could not also hold the code that answers
//! a link's parameter (it holds the cookie's, 280 bytes); the token still
//! never reaches the origin, and leaves the address bar at once.

use crate::authorize::{AUTH_PATH_NOT_FOUND, opens};
use crate::cookies::{cookie_values, request_cookies, set_cookie};
use crate::event::{CloudFrontRequest, DistributionConfig};
use crate::pages::{self, escape};
use crate::query::{encode_form, parse_query, single};
use crate::session::{SessionClaims, SessionError, SessionSigner};
use crate::share::{SHARE_SUBJECT_PREFIX, check_pattern, cookie_path, link_path};
use crate::{Config, Entropy, Outcome};

/// A link that does not open (damaged, expired, another site's).
pub const SHARE_REFUSED: (&str, &str) = (
    "Link not valid",
    "This link has expired, was withdrawn, or is not for this site. Ask whoever shared it for a new one.",
);
/// How long a link made on the page may live: the choices offered.
pub const PAGE_LIFETIMES: [(&str, u64); 4] = [
    ("1h", 3600),
    ("24h", 86_400),
    ("7d", 7 * 86_400),
    ("30d", 30 * 86_400),
];

/// Whether the request is for the share endpoint.
pub fn is_share(request: &CloudFrontRequest, config: &Config) -> bool {
    request.uri == config.paths().share
}

/// The share endpoint: `?link=` opens a link; otherwise the page where a
/// signed-in user makes one (`shares.page`), or a 404.
pub fn share_endpoint(
    request: &CloudFrontRequest,
    distribution: &DistributionConfig,
    config: &Config,
    signer: Option<&SessionSigner>,
    now: u64,
    entropy: &mut dyn Entropy,
) -> Outcome {
    let not_found = || {
        let (title, message) = AUTH_PATH_NOT_FOUND;
        Outcome::respond(
            pages::html_page(404, title, message, None, vec![]),
            "auth-path-not-found",
        )
    };
    let Some(shares) = config.file.shares else {
        return not_found().with_detail("no shares");
    };
    // A query that does not parse is no link (and no form).
    let Ok(query) = parse_query(&request.querystring) else {
        return refused("invalid");
    };
    match single(&query, "link") {
        Ok(Some(token)) => return open(token, config, shares.max_lifetime_seconds, now),
        Err(_) => return refused("invalid"),
        Ok(None) => {}
    }
    if !shares.page {
        return not_found().with_detail("shares.page is off");
    }
    make(request, distribution, config, signer, &query, now, entropy)
}

/// A link opened: its cookie, and to its page.
fn open(token: &str, config: &Config, max: u64, now: u64) -> Outcome {
    let (claims, pattern) =
        match config
            .sessions
            .verify_share_at(token, now, config.site.as_deref(), max)
        {
            Ok(link) => link,
            Err(SessionError::Expired) => return refused("expired"),
            Err(_) => return refused("invalid"),
        };
    // Only patterns a link is made for (they are checked when made).
    if check_pattern(&pattern, &config.paths().auth_prefix).is_err() {
        return refused("invalid");
    }
    let cookie = set_cookie(
        &config.cookie_names,
        &config.cookie_names.share,
        token,
        cookie_path(&pattern),
        claims.exp.saturating_sub(now),
    );
    Outcome::respond(
        pages::redirect(link_path(&pattern), vec![cookie]),
        "share-opened",
    )
    .with_detail(format!("link {pattern}"))
    .for_session(crate::Subject {
        sub: claims.sub,
        sid: claims.sid,
    })
}

fn refused(why: &str) -> Outcome {
    let (title, message) = SHARE_REFUSED;
    Outcome::respond(
        pages::html_page(403, title, message, None, vec![]),
        "share-refused",
    )
    .with_detail(why.to_owned())
}

/// The page for signed-in users: the form, or the link it made.
fn make(
    request: &CloudFrontRequest,
    distribution: &DistributionConfig,
    config: &Config,
    signer: Option<&SessionSigner>,
    query: &[(String, String)],
    now: u64,
    entropy: &mut dyn Entropy,
) -> Outcome {
    let cookies = request_cookies(&request.headers);
    let session = cookie_values(&cookies, &config.cookie_names.session)
        .into_iter()
        .take(4)
        .find_map(|v| {
            config
                .sessions
                .verify_at(v, now, config.site.as_deref())
                .ok()
        });
    let Some(claims) = session else {
        // Signed in first, then back here.
        let location = format!(
            "{}?{}",
            config.paths().start,
            encode_form([("return", config.paths().share.as_str())])
        );
        return Outcome::respond(pages::redirect(&location, vec![]), "share-signin");
    };
    let max = config.file.shares.map_or(0, |s| s.max_lifetime_seconds);
    let asked = single(query, "path").ok().flatten();
    let ttl = single(query, "ttl").ok().flatten();
    let Some(pattern) = asked else {
        return form_outcome(config, None, "", "24h", max);
    };
    let problem = check_pattern(pattern, &config.paths().auth_prefix).err().or_else(|| {
        let target = link_path(pattern);
        let opened = crate::paths::canonical_path(target)
            .map(|p| crate::paths::match_subjects(target, &p))
            .is_ok_and(|keys| opens(config.policy(), &keys, &claims, now));
        (!opened).then(|| {
            format!("{pattern}: you cannot open {target} yourself, so you cannot share it (or its rules ask for a recent sign-in or a second factor, which a link cannot give)")
        })
    });
    let lifetime = PAGE_LIFETIMES
        .iter()
        .find(|(name, seconds)| Some(*name) == ttl && *seconds <= max)
        .map(|(_, seconds)| *seconds);
    let problem = problem.or_else(|| {
        lifetime
            .is_none()
            .then(|| "choose how long the link lasts".to_owned())
    });
    if let Some(problem) = problem {
        return form_outcome(config, Some(&problem), pattern, ttl.unwrap_or("24h"), max);
    }
    let Some(signer) = signer else {
        return Outcome::respond(
            pages::html_page(
                503,
                "Try again",
                "The link could not be made just now. Please try again in a minute.",
                None,
                vec![],
            ),
            "share-failed",
        )
        .with_detail("session signing key unavailable");
    };
    let lifetime = lifetime.unwrap_or(3600);
    let [id, sid] = crate::flow::random_tokens(entropy);
    let link = SessionClaims {
        sub: format!("{SHARE_SUBJECT_PREFIX}{id}"),
        name: format!("a link from {}", claims.name)
            .chars()
            .take(128)
            .collect(),
        groups: claims.groups.clone(),
        sid,
        iat: now,
        exp: now + lifetime,
        auth_time: None,
        idp_auth_time: None,
        mfa: None,
        site: config.site.clone(),
    };
    let token = signer.sign_share(&link, pattern);
    let base =
        crate::flow::site_base(config, &distribution.distribution_domain_name).unwrap_or_default();
    let url = format!(
        "{base}{}?{}",
        config.paths().share,
        encode_form([("link", token.as_str())])
    );
    let body = format!(
        r#"<p><label for="link">The link (anyone who has it opens {} until {}; revoke: <code>edge-auth-deploy share revoke --id {id}</code>)</label><br><input id="link" readonly value="{}" style="width:100%;box-sizing:border-box;padding:.4rem;font:inherit"></p>"#,
        escape(pattern),
        utc(link.exp),
        escape(&url)
    );
    Outcome::respond(
        pages::form_page(
            200,
            "Shared link",
            "Copy the link and send it.",
            &body,
            vec![],
        ),
        "share-created",
    )
    .with_detail(format!(
        "link {pattern}; id {id}; by {}; exp {}",
        claims.sub, link.exp
    ))
    .for_session(crate::Subject {
        sub: claims.sub,
        sid: claims.sid,
    })
}

/// The form, with what was typed and why it was refused.
fn form_outcome(
    config: &Config,
    problem: Option<&str>,
    pattern: &str,
    ttl: &str,
    max: u64,
) -> Outcome {
    let options: String = PAGE_LIFETIMES
        .iter()
        .filter(|(_, seconds)| *seconds <= max)
        .map(|(name, _)| {
            let selected = if *name == ttl { " selected" } else { "" };
            format!(r#"<option value="{name}"{selected}>{name}</option>"#)
        })
        .collect();
    let form = format!(
        r#"<form method="get" action="{}"><p><label for="path">Page or folder (a folder ends with <code>*</code>: <code>/reports/q3/*</code>)</label><br><input id="path" name="path" required autofocus value="{}" style="width:100%;box-sizing:border-box;padding:.4rem;font:inherit"></p><p><label for="ttl">Valid for</label> <select id="ttl" name="ttl">{options}</select></p><p><button class="button" type="submit" style="border:0;font:inherit;cursor:pointer">Make the link</button></p></form>"#,
        escape(&config.paths().share),
        escape(pattern)
    );
    let (status, message, event) = match problem {
        None => (
            200,
            "Make a link that opens one page or folder of this site, without an account, until it expires.".to_owned(),
            "share-asked",
        ),
        Some(problem) => (400, problem.to_owned(), "share-not-made"),
    };
    let outcome = Outcome::respond(
        pages::form_page(status, "Share a page", &message, &form, vec![]),
        event,
    );
    match problem {
        Some(problem) => outcome.with_detail(problem.to_owned()),
        None => outcome.routine(),
    }
}

/// Seconds since the epoch as `2027-01-15 08:00 UTC`.
fn utc(seconds: u64) -> String {
    let at = i64::try_from(seconds)
        .ok()
        .and_then(|s| cookie::time::OffsetDateTime::from_unix_timestamp(s).ok());
    match at {
        Some(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        None => seconds.to_string(),
    }
}
