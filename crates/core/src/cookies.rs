//! The cookies the gateway sets, and reading them back from a request.
//!
//! Names carry the `__Host-` prefix where the path is `/` (no Domain, must be
//! Secure) and `__Secure-` for the refresh token, which is scoped to the auth
//! prefix so it never travels with ordinary page requests.
//!
//! A sign-in group that shares its session across a parent domain
//! ([`CookieNames::shared`]) gives up `__Host-` for the session, the
//! display name and the refresh token: they are `__Secure-` cookies with
//! that `Domain`. The flow and sign-out cookies stay `__Host-` on the host
//! that set them.

use cookie::{Cookie, SameSite};

use crate::config::{Config, CookieSettings};
use crate::event::Headers;

/// At most this many bytes of `Cookie` headers are read; CloudFront itself
/// caps a whole request at 20,480 bytes, so more is an attack or a bug.
pub const MAX_COOKIE_BYTES: usize = 32 * 1024;
/// At most this many cookies are looked at.
pub const MAX_COOKIES: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieNames {
    /// The session the deployment signs (`crate::session`).
    pub session: String,
    pub refresh: String,
    /// Every flow cookie's name is this followed by the flow's `state`.
    pub flow_prefix: String,
    /// The signed-in user's display name, readable by the site's scripts
    /// (the only cookie that is not HttpOnly; it holds no credential).
    pub user: String,
    /// A sign-out confirmation's token (double submit: the confirmation
    /// page's link carries the same value, which another site cannot read).
    pub signout_confirm: String,
    /// A shared link's token (`crate::share`), scoped to the link's folder
    /// by its `Path` (so `__Secure-`, never `__Host-`) and host-only.
    pub share: String,
    pub secure: bool,
    /// The parent domain a sign-in group's session, display-name and
    /// refresh cookies are scoped to; `None`: host-only, as `__Host-`
    /// requires.
    pub domain: Option<String>,
}

impl CookieNames {
    pub fn new(settings: &CookieSettings) -> Self {
        let (host, secure) = if settings.secure {
            ("__Host-", "__Secure-")
        } else {
            ("", "")
        };
        let base = &settings.name_prefix;
        Self {
            session: format!("{host}{base}-session"),
            refresh: format!("{secure}{base}-refresh"),
            flow_prefix: format!("{host}{base}-flow-"),
            user: format!("{host}{base}-user"),
            signout_confirm: format!("{host}{base}-signout"),
            share: format!("{secure}{base}-share"),
            secure: settings.secure,
            domain: None,
        }
    }

    /// The names at a site of a sign-in group whose session is shared
    /// across `domain`: the session, display-name and refresh cookies are
    /// set with `Domain=<domain>`, so `__Secure-` (Secure, any domain)
    /// where one site's are `__Host-` (no domain at all).
    pub fn shared(settings: &CookieSettings, domain: &str) -> Self {
        let secure = if settings.secure { "__Secure-" } else { "" };
        let base = &settings.name_prefix;
        Self {
            session: format!("{secure}{base}-session"),
            user: format!("{secure}{base}-user"),
            domain: Some(domain.to_owned()),
            ..Self::new(settings)
        }
    }

    /// The `Domain` cookie `name` is set with: the group's, for its
    /// session, display-name and refresh cookies; none for the rest.
    pub fn domain_of(&self, name: &str) -> Option<&str> {
        self.domain
            .as_deref()
            .filter(|_| name == self.session || name == self.user || name == self.refresh)
    }

    /// Every name this system sets that a request may carry, with its path.
    pub fn is_ours(&self, name: &str) -> bool {
        name == self.session || name == self.refresh || name.starts_with(&self.flow_prefix)
    }
}

/// The cookies of a request as (name, value) pairs, in order, duplicates
/// kept. Pairs that do not parse are skipped, not fatal.
pub fn request_cookies(headers: &Headers) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut budget = MAX_COOKIE_BYTES;
    for header in headers.values("cookie") {
        let header = if header.len() > budget {
            // Cut at a pair boundary so that no cookie is read truncated.
            match header[..floor_char_boundary(header, budget)].rfind(';') {
                Some(end) => &header[..end],
                None => "",
            }
        } else {
            header
        };
        budget = budget.saturating_sub(header.len());
        for pair in header.split(';') {
            if out.len() >= MAX_COOKIES {
                return out;
            }
            // Only SP and HTAB are white space around a name or a value
            // (RFC 6265bis 5.6, WSP), and names compare byte for byte: a
            // name with U+2000 or U+3000 around it is another cookie (a
            // sibling subdomain could set one), never ours.
            let pair = pair.trim_matches(WSP);
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let name = name.trim_matches(WSP);
            let value = value.trim_matches(WSP).trim_matches('"');
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                continue;
            }
            out.push((name, value));
        }
    }
    out
}

/// RFC 6265bis's WSP: the only white space a Cookie header's pairs shed.
pub const WSP: [char; 2] = [' ', '\t'];

fn floor_char_boundary(s: &str, mut index: usize) -> usize {
    while !s.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// A cookie name as RFC 6265 allows it (a token).
pub fn is_cookie_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 256 && name.bytes().all(is_token_byte)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Values of every cookie with this exact name.
pub fn cookie_values<'a>(cookies: &[(&'a str, &'a str)], name: &str) -> Vec<&'a str> {
    cookies
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .collect()
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure unless disabled for local HTTP.
pub fn set_cookie(
    names: &CookieNames,
    name: &str,
    value: &str,
    path: &str,
    max_age_seconds: u64,
) -> String {
    let max_age =
        cookie::time::Duration::seconds(i64::try_from(max_age_seconds).unwrap_or(i64::MAX));
    let mut cookie = Cookie::build((name, value))
        .path(path)
        .secure(names.secure)
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(max_age);
    if let Some(domain) = names.domain_of(name) {
        cookie = cookie.domain(domain.to_owned());
    }
    cookie.build().to_string()
}

/// The display-name cookie: percent-encoded, readable by scripts, never a credential.
pub fn set_display_cookie(names: &CookieNames, display_name: &str, max_age_seconds: u64) -> String {
    let max_age =
        cookie::time::Duration::seconds(i64::try_from(max_age_seconds).unwrap_or(i64::MAX));
    let value: String = display_name.chars().take(64).collect();
    let value = percent_encoding::utf8_percent_encode(&value, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let mut cookie = Cookie::build((names.user.as_str(), value))
        .path("/")
        .secure(names.secure)
        .http_only(false)
        .same_site(SameSite::Lax)
        .max_age(max_age);
    if let Some(domain) = names.domain_of(&names.user) {
        cookie = cookie.domain(domain.to_owned());
    }
    cookie.build().to_string()
}

/// Tokens go into cookies verbatim; Cognito's refresh token is a JWE
/// (base64url and dots), and anything outside the cookie-value alphabet is
/// not stored rather than mangled.
pub(crate) fn is_cookie_safe(value: &str) -> bool {
    value.len() <= 4000 && is_cookie_alphabet(value)
}

/// Non-empty, and only characters a cookie value may hold unquoted.
pub(crate) fn is_cookie_alphabet(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"\",;\\".contains(&b))
}

/// The refresh cookie's value binds the provider's refresh token to the
/// sign-in it came with: `<sid>.<a|n>.<token>`, the session id of that
/// sign-in's sessions (kept across refreshes), whether its ID token named
/// an `azp`, then the token. A sibling subdomain can plant a `__Secure-`
/// cookie for our auth paths (with a `Domain`), but cannot know the sid of
/// the victim's session (an HttpOnly `__Host-` cookie): refresh uses a
/// token only with the session it is bound to, so a planted one never
/// signs the victim into another account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundRefresh<'a> {
    pub sid: &'a str,
    /// The original ID token named an `azp` (OIDC Core 12.2: a refreshed
    /// one must match it).
    pub had_azp: bool,
    pub token: &'a str,
}

impl<'a> BoundRefresh<'a> {
    /// The cookie value; `None` when the token cannot go into a cookie.
    pub fn encode(&self) -> Option<String> {
        let value = format!(
            "{}.{}.{}",
            self.sid,
            if self.had_azp { 'a' } else { 'n' },
            self.token
        );
        is_cookie_safe(&value).then_some(value)
    }

    /// A cookie value of ours; `None` for anything else (an older
    /// release's bare token, a damaged or planted value).
    pub fn parse(value: &'a str) -> Option<Self> {
        let (sid, rest) = value.split_once('.')?;
        let (flag, token) = rest.split_once('.')?;
        let sid_ok = (16..=43).contains(&sid.len())
            && sid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let had_azp = match flag {
            "a" => true,
            "n" => false,
            _ => return None,
        };
        (sid_ok && is_cookie_safe(token)).then_some(Self {
            sid,
            had_azp,
            token,
        })
    }
}

/// Browsers keep a cookie only when its name and value together are at most
/// this many bytes (RFC 6265bis §5.6; Chrome, Firefox and Safari enforce
/// it) and silently drop a larger one.
pub const MAX_COOKIE_NAME_AND_VALUE: usize = 4096;

/// A session the browser would drop: storing it anyway would send the user
/// round the sign-in again and again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLargeForCookie {
    pub bytes: usize,
}

/// The cookies of a signed-in session: the session and the display name on
/// `/`, and the refresh token, when the provider sent a cookie-safe one, on
/// the auth paths only, so that it does not travel with every request.
pub(crate) fn session_cookies(
    config: &Config,
    session: &str,
    display_name: &str,
    refresh: Option<BoundRefresh<'_>>,
) -> Result<Vec<String>, TooLargeForCookie> {
    let names = &config.cookie_names;
    let bytes = names.session.len() + session.len();
    if bytes > MAX_COOKIE_NAME_AND_VALUE {
        return Err(TooLargeForCookie { bytes });
    }
    let max_age = config.cookies().session_max_age_seconds;
    let mut set = vec![
        set_cookie(names, &names.session, session, "/", max_age),
        set_display_cookie(names, display_name, max_age),
    ];
    if let Some(refresh) = refresh.and_then(|r| r.encode()) {
        let auth_prefix = &config.paths().auth_prefix;
        set.push(set_cookie(
            names,
            &names.refresh,
            &refresh,
            auth_prefix,
            max_age,
        ));
    }
    Ok(set)
}

/// Removes copies of a cookie that another host set with a `Domain`
/// attribute (a sibling or child subdomain): one `Set-Cookie` per domain
/// `host` could have been given (itself and each parent of two labels or
/// more) and per path. A host-only cookie of ours is another cookie and
/// stays. Nothing for an IP address or a single-label host.
pub fn clear_domain_copies(
    names: &CookieNames,
    name: &str,
    host: &str,
    paths: &[&str],
) -> Vec<String> {
    let host = host.split(':').next().unwrap_or("");
    if !host.contains('.') || host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Vec::new();
    }
    let labels: Vec<&str> = host.split('.').collect();
    let mut out = Vec::new();
    for start in 0..labels.len().saturating_sub(1) {
        let domain = labels[start..].join(".");
        for path in paths {
            out.push(clear_cookie_in(names, name, path, Some(&domain)));
        }
    }
    out
}

/// A `Set-Cookie` value that removes a cookie: same name, path and flags,
/// empty value, `Max-Age=0` and an expiry in the past for old browsers.
pub fn clear_cookie(names: &CookieNames, name: &str, path: &str) -> String {
    clear_cookie_in(names, name, path, names.domain_of(name))
}

/// [`clear_cookie`] for a copy set with a `Domain` (another cookie to the
/// browser than a host-only one of the same name and path).
fn clear_cookie_in(names: &CookieNames, name: &str, path: &str, domain: Option<&str>) -> String {
    let mut cookie = Cookie::build((name, ""))
        .path(path)
        .secure(names.secure)
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::ZERO)
        .expires(cookie::time::OffsetDateTime::UNIX_EPOCH);
    if let Some(domain) = domain {
        cookie = cookie.domain(domain.to_owned());
    }
    cookie.build().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> Headers {
        let mut h = Headers::default();
        for v in values {
            h.append("Cookie", *v);
        }
        h
    }

    #[test]
    fn parses_several_headers_and_skips_junk() {
        let h = headers(&["a=1; b=2;;junk; =x; c d=3", "a=3"]);
        let c = request_cookies(&h);
        assert_eq!(c, vec![("a", "1"), ("b", "2"), ("a", "3")]);
        assert_eq!(cookie_values(&c, "a"), vec!["1", "3"]);
    }

    #[test]
    fn names_compare_byte_for_byte() {
        // Unicode white space is part of the name (and so not a token):
        // a planted `\u{2000}__Host-x` is not `__Host-x`.
        for planted in [
            "\u{2000}__Host-x=evil",
            "__Host-x\u{3000}=evil",
            "\u{a0}__Host-x=evil",
            "\u{85}__Host-x=evil",
            "\u{feff}__Host-x=evil",
        ] {
            let h = headers(&[&format!("{planted}; __Host-x=ours")]);
            let c = request_cookies(&h);
            assert_eq!(cookie_values(&c, "__Host-x"), vec!["ours"], "{planted:?}");
        }
        // SP and HTAB around names and values are shed.
        let h = headers(&["\t a = 1 \t;b=\"2\""]);
        let c = request_cookies(&h);
        assert_eq!(c, vec![("a", "1"), ("b", "2")]);
        // A value keeps Unicode white space (it is not ours to trim).
        let h = headers(&["a=\u{2000}1"]);
        let c = request_cookies(&h);
        assert_eq!(c, vec![("a", "\u{2000}1")]);
    }

    #[test]
    fn huge_headers_are_bounded() {
        let big = format!("x={}; id=ok", "y".repeat(100 * 1024));
        let h = headers(&[&big]);
        let c = request_cookies(&h);
        assert!(c.is_empty(), "a cookie larger than the budget is not read");
        let many: String = (0..1000).map(|i| format!("c{i}=v;")).collect();
        assert_eq!(request_cookies(&headers(&[&many])).len(), MAX_COOKIES);
    }

    #[test]
    fn names_follow_prefix_rules() {
        let names = CookieNames::new(&CookieSettings::default());
        assert_eq!(names.session, "__Host-edge-auth-session");
        assert_eq!(names.refresh, "__Secure-edge-auth-refresh");
        let set = set_cookie(&names, &names.session, "v", "/", 60);
        for part in [
            "__Host-edge-auth-session=v",
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Lax",
            "Max-Age=60",
        ] {
            assert!(set.contains(part), "{set} lacks {part}");
        }
        let clear = clear_cookie(&names, &names.refresh, "/_edge-auth/");
        assert!(clear.starts_with("__Secure-edge-auth-refresh=;"), "{clear}");
        assert!(
            clear.contains("Max-Age=0")
                && clear.contains("Path=/_edge-auth/")
                && clear.contains("1970")
        );
        let local = CookieNames::new(&CookieSettings {
            secure: false,
            ..Default::default()
        });
        assert_eq!(local.session, "edge-auth-session");
        assert!(!set_cookie(&local, &local.session, "v", "/", 60).contains("Secure"));
    }
}
