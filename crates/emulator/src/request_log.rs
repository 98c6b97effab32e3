//! One line per request to the local site, so that the terminal says what
//! the edge decided and why: the method, the path (never the query, which
//! carries the provider's code and state on a callback, nor a cookie), the
//! status, and the decision read from the answer the core produced.

use crate::cloudfront::Answer;

/// The auth paths, to tell a sign-in redirect from a refresh.
pub struct AuthPaths<'a> {
    pub start: &'a str,
    pub refresh: &'a str,
    pub signin: &'a str,
    pub signout: &'a str,
}

/// What the answer means: a short decision and its reason.
pub fn describe(path: &str, answer: &Answer, paths: &AuthPaths<'_>) -> (&'static str, String) {
    let location = answer
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("location"))
        .map(|(_, value)| value.as_str())
        .unwrap_or("");
    // The location's path, without the query (a redirect to the provider
    // names the client and the state).
    let target = location.split('?').next().unwrap_or("");
    let auth = [paths.start, paths.refresh, paths.signin, paths.signout].contains(&path);
    match answer.status {
        200..=299 | 304 if auth => ("answered", "an auth path's page".into()),
        200..=299 | 304 => ("allowed", "served from the site".into()),
        301 => ("redirect", format!("a folder: to {target}")),
        302 | 303 | 307 if target.ends_with(paths.start) => {
            ("sign-in", "no valid session: sent to sign in".into())
        }
        302 | 303 | 307 if target.ends_with(paths.refresh) => (
            "refresh",
            "the session has expired: sent to refresh it".into(),
        ),
        302 | 303 | 307 if path == paths.start => ("sign-in", format!("to the provider, {target}")),
        302 | 303 | 307 if auth => ("redirect", format!("back to {target}")),
        302 | 303 | 307 => ("redirect", format!("to {target}")),
        400 => ("refused", "a request the edge cannot use".into()),
        401 => ("refused", "not signed in".into()),
        403 if auth => ("refused", "the auth path refused it".into()),
        403 => (
            "denied",
            "signed in, but not in a group this path's rule names".into(),
        ),
        404 => ("not found", "no such object in the site".into()),
        405 => ("refused", "method not allowed here".into()),
        s if s >= 500 => (
            "error",
            "the function or the provider failed (see above)".into(),
        ),
        _ => ("answered", String::new()),
    }
}

/// The line, as people read it.
pub fn line(method: &str, path: &str, answer: &Answer, paths: &AuthPaths<'_>) -> String {
    let (decision, reason) = describe(path, answer, paths);
    let shown: String = path.chars().filter(|c| !c.is_control()).take(200).collect();
    if reason.is_empty() {
        format!("{method} {shown} {} {decision}", answer.status)
    } else {
        format!("{method} {shown} {} {decision}: {reason}", answer.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATHS: AuthPaths<'static> = AuthPaths {
        start: "/_edge-auth/start",
        refresh: "/_edge-auth/refresh",
        signin: "/_edge-auth/callback",
        signout: "/_edge-auth/signout",
    };

    fn answer(status: u16, location: Option<&str>) -> Answer {
        Answer {
            status,
            headers: location
                .map(|l| vec![("Location".to_owned(), l.to_owned())])
                .unwrap_or_default(),
            body: Vec::new(),
        }
    }

    #[test]
    fn each_decision_reads_as_what_happened() {
        let cases = [
            (
                "/docs/",
                answer(200, None),
                "GET /docs/ 200 allowed: served from the site",
            ),
            (
                "/admin/",
                answer(302, Some("/_edge-auth/start?return=%2Fadmin%2F")),
                "GET /admin/ 302 sign-in: no valid session: sent to sign in",
            ),
            (
                "/docs/",
                answer(302, Some("https://site/_edge-auth/refresh?return=x")),
                "GET /docs/ 302 refresh: the session has expired: sent to refresh it",
            ),
            (
                "/_edge-auth/start",
                answer(
                    302,
                    Some("http://127.0.0.1:8081/authorize?client_id=c&state=s"),
                ),
                "GET /_edge-auth/start 302 sign-in: to the provider, http://127.0.0.1:8081/authorize",
            ),
            (
                "/_edge-auth/callback",
                answer(302, Some("/admin/")),
                "GET /_edge-auth/callback 302 redirect: back to /admin/",
            ),
            (
                "/admin/",
                answer(403, None),
                "GET /admin/ 403 denied: signed in, but not in a group this path's rule names",
            ),
            (
                "/docs",
                answer(301, Some("/docs/")),
                "GET /docs 301 redirect: a folder: to /docs/",
            ),
            (
                "/nope",
                answer(404, None),
                "GET /nope 404 not found: no such object in the site",
            ),
        ];
        for (path, answer, expected) in cases {
            assert_eq!(line("GET", path, &answer, &PATHS), expected);
        }
    }

    #[test]
    fn the_query_and_control_characters_never_reach_the_line() {
        let a = answer(
            302,
            Some("https://idp/authorize?code_challenge=secret&state=s"),
        );
        let text = line("GET", "/_edge-auth/start\n\u{1b}[31m", &a, &PATHS);
        assert!(!text.contains("secret") && !text.contains('\n') && !text.contains('\u{1b}'));
    }
}
