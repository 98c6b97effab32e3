//! Shared links: a URL that opens one path pattern, and nothing else,
//! for a guest without an account, until it expires.
//!
//! The token is a service token's claims with its own `typ`
//! ([`SHARE_TYPE`]), `sub` `share:<id>` (so `revoked:share:<id>` ends it,
//! read as every revocation) and `path`, the pattern it opens. The link
//! goes to signin's share endpoint (`crate::share_page`), which sets it as
//! a cookie scoped to the pattern's folder ([`cookie_path`]) and sends the
//! browser to the pattern's page ([`link_path`]); the token never reaches
//! the origin. The per-request check ([`crate::authorize`], and the
//! CloudFront Function from the same rules) takes the cookie only when
//! every key the request can reach ([`crate::paths::match_subjects`]: the
//! decoded path, S3's reading of `+`, the index object) matches its
//! pattern ([`covers`]), so no spelling of the path (`%2e%2e`, `//`, `+`)
//! reaches further. The path's rules still decide with the link's groups.

use crate::paths::glob_match;

/// A shared link's `typ`: never a session, never a service token.
pub const SHARE_TYPE: &str = "edge-auth-share";
/// A link's `sub`: `share:<id>`.
pub const SHARE_SUBJECT_PREFIX: &str = "share:";
/// The longest pattern a link may open.
pub const MAX_PATTERN: usize = 512;

/// Why a pattern cannot be shared: a path from `/`, its characters those a
/// URL path holds unescaped (no `%`, `;`, `?`, `#`, space), `*` only at the
/// end (a folder: `/reports/q3/*`), no `.` or `..` segment, nothing under
/// the auth prefix.
pub fn check_pattern(pattern: &str, auth_prefix: &str) -> Result<(), String> {
    let body = pattern.strip_suffix('*').unwrap_or(pattern);
    if !pattern.starts_with('/') || pattern.len() > MAX_PATTERN {
        return Err(format!(
            "{pattern:?}: a path from `/`, at most {MAX_PATTERN} characters (`/reports/q3/*`, `/guide.html`)"
        ));
    }
    if let Some(c) = body
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._~!$&'()+,=@:/".contains(*c)))
    {
        return Err(format!(
            "{pattern:?}: {c:?} is not shared (letters, digits, `-._~!$&'()+,=@:/`, and `*` only at the end)"
        ));
    }
    if body.contains("//") || body.split('/').any(|s| s == "." || s == "..") {
        return Err(format!("{pattern:?}: no `//`, `.` or `..` segment"));
    }
    if pattern.starts_with(auth_prefix) {
        return Err(format!("{pattern:?}: the auth paths are not shared"));
    }
    Ok(())
}

/// Whether a link for `pattern` opens a request whose keys are `subjects`:
/// every one must match (CloudFront's `*` and `?`, as rules match).
pub fn covers(pattern: &str, subjects: &[String]) -> bool {
    subjects
        .iter()
        .all(|s| glob_match(pattern.as_bytes(), s.as_bytes()))
}

/// The cookie's `Path`: the pattern up to the last `/` before its first
/// wildcard (`/reports/q3/*` → `/reports/q3/`, `/guide.html` → `/`).
pub fn cookie_path(pattern: &str) -> &str {
    let literal = pattern.split(['*', '?']).next().unwrap_or("");
    &literal[..literal.rfind('/').map_or(0, |at| at + 1)]
}

/// The address a link opens: the pattern's folder for a folder
/// (`/reports/q3/*` → `/reports/q3/`), else the pattern itself.
pub fn link_path(pattern: &str) -> &str {
    pattern.strip_suffix('*').unwrap_or(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_that_could_reach_further_are_refused() {
        for good in ["/reports/q3/*", "/guide.html", "/*", "/a-b/c_d/e~f/(1)+x*"] {
            check_pattern(good, "/_edge-auth/").expect(good);
        }
        for bad in [
            "reports/*",
            "/reports/*/q3",
            "/reports/q?",
            "/reports/%2e%2e/*",
            "/reports/../*",
            "/reports/./x",
            "//evil.example/*",
            "/a b",
            "/a;b",
            "/a#b",
            "/a\\b",
            "/é",
            "/_edge-auth/*",
            "/**",
        ] {
            assert!(check_pattern(bad, "/_edge-auth/").is_err(), "{bad}");
        }
    }

    #[test]
    fn the_cookie_path_is_the_patterns_folder() {
        assert_eq!(cookie_path("/reports/q3/*"), "/reports/q3/");
        assert_eq!(cookie_path("/reports/q3*"), "/reports/");
        assert_eq!(cookie_path("/guide.html"), "/");
        assert_eq!(cookie_path("/*"), "/");
        assert_eq!(link_path("/reports/q3/*"), "/reports/q3/");
    }

    #[test]
    fn a_link_covers_a_request_only_when_every_key_matches() {
        let keys = |k: &[&str]| k.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(covers(
            "/reports/q3/*",
            &keys(&["/reports/q3/", "/reports/q3/index.html"])
        ));
        assert!(!covers(
            "/reports/q3/*",
            &keys(&["/reports/q3", "/reports/q3/index.html"])
        ));
        assert!(!covers(
            "/guide.html",
            &keys(&["/guide.html", "/guide html"])
        ));
    }
}
