//! Where a user may be sent back to after sign-in: a path on this site, never
//! another host.

/// Longest return path kept; longer ones fall back to `/`. CloudFront's own
/// URL limit is 8,192 bytes, and the path travels inside a cookie.
pub const MAX_RETURN_PATH: usize = 2048;

/// Returns `candidate` when it is a same-site path (with optional query),
/// or `None`. Anything that a browser could read as another host is refused:
/// `//host`, `/\host`, their percent-encoded forms, and forms with
/// whitespace or control characters (browsers strip tabs and newlines from
/// URLs, so `/\t/host` becomes `//host`).
pub fn safe_return_path(candidate: &str) -> Option<&str> {
    if candidate.is_empty() || candidate.len() > MAX_RETURN_PATH || !candidate.starts_with('/') {
        return None;
    }
    if !acceptable(candidate) {
        return None;
    }
    // Decode the path repeatedly (bounded) so double-encoded forms are
    // judged by what they finally mean to somebody who decodes them. Only
    // the path: what a query or fragment holds once decoded (`q=a%20b`, a
    // space) cannot name another host, and refusing it would lose the
    // visitor's search on the way back.
    let path = candidate.split(['?', '#']).next().unwrap_or("");
    let mut current = path.to_owned();
    for _ in 0..3 {
        let decoded = percent_encoding::percent_decode_str(&current)
            .decode_utf8_lossy()
            .into_owned();
        if !acceptable(&decoded) {
            return None;
        }
        if decoded == current {
            break;
        }
        current = decoded;
    }
    Some(candidate)
}

fn acceptable(path: &str) -> bool {
    let path_part = path.split(['?', '#']).next().unwrap_or("");
    path.starts_with('/')
        && !path_part.starts_with("//")
        && !path.contains('\\')
        && !path
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\u{FFFD}')
}

/// The `return` parameter of a query string (refresh, "sign in as someone
/// else"): `None` when there is none, else the path if it is a safe local
/// one, `/` otherwise.
pub fn return_parameter(querystring: &str) -> Option<String> {
    let query = crate::query::parse_query(querystring).unwrap_or_default();
    let value = crate::query::single(&query, "return").ok().flatten()?;
    Some(safe_return_path(value).unwrap_or("/").to_owned())
}

/// The path and query a request asked for, as one string.
pub fn path_and_query(uri: &str, querystring: &str) -> String {
    if querystring.is_empty() {
        uri.to_owned()
    } else {
        format!("{uri}?{querystring}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_local_paths() {
        for ok in [
            "/",
            "/docs/a.html",
            "/a?b=c&d=%2F",
            "/a/b?next=//x",
            "/caf%C3%A9",
            "/guide/?q=a%20b",
            "/docs?section=limits&lang=en&flag",
            "/a?x=%0D%0A&y=%5C&z=%ff",
            "/a#section%20two",
        ] {
            assert_eq!(safe_return_path(ok), Some(ok), "{ok}");
        }
    }

    #[test]
    fn refuses_other_hosts() {
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/%2F%2Fevil.example",
            "/%2f/evil.example",
            "/%5Cevil.example",
            "/%09/evil.example",
            "/\t/evil.example",
            "/%0a/evil.example",
            "/%252F%252Fevil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
            "/a b",
            "/%ff%fe",
            // Raw white space or a raw backslash anywhere still is.
            "/a?q=a b",
            "/a?q=\\",
            "/a?q=\n",
        ] {
            assert_eq!(safe_return_path(bad), None, "{bad:?}");
        }
        assert_eq!(
            safe_return_path(&format!("/{}", "a".repeat(MAX_RETURN_PATH))),
            None
        );
    }
}
