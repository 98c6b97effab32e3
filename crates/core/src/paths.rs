//! Path patterns (CloudFront's syntax) and the request path they are matched against.

/// A CloudFront-style path pattern: `*` matches any run of characters
/// (slashes included), `?` exactly one; everything else literally, case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    text: String,
}

impl PathPattern {
    pub fn new(text: &str) -> Result<Self, String> {
        if !text.starts_with('/') && !text.starts_with('*') {
            return Err(format!("pattern `{text}` must start with `/` or `*`"));
        }
        if text.len() > 255 {
            return Err("a pattern is at most 255 characters".into());
        }
        Ok(Self {
            text: text.to_owned(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, path: &str) -> bool {
        glob_match(self.text.as_bytes(), path.as_bytes())
    }
}

/// Iterative wildcard match with single backtrack point: linear in practice,
/// never exponential whatever the pattern.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Why a request path cannot be matched safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is not valid percent-encoded UTF-8")]
    Encoding,
    #[error("the path has `.` or `..` segments")]
    DotSegment,
    #[error("the path has control characters or backslashes")]
    Character,
}

/// The form of a request path that path rules are matched against.
///
/// S3 decodes percent-escapes in keys, so `/%61dmin/x` fetches `admin/x`:
/// rules must see the decoded path. Runs of slashes are folded so `//admin/`
/// cannot dodge `/admin/*`, and dot segments are refused rather than guessed
/// at, since origins disagree on whether they resolve them.
pub fn canonical_path(uri: &str) -> Result<String, PathError> {
    let decoded = percent_encoding::percent_decode_str(uri)
        .decode_utf8()
        .map_err(|_| PathError::Encoding)?;
    if uri.contains('%') && !valid_escapes(uri) {
        return Err(PathError::Encoding);
    }
    if decoded.chars().any(|c| c.is_control() || c == '\\') {
        return Err(PathError::Character);
    }
    let mut out = String::with_capacity(decoded.len());
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." {
            return Err(PathError::DotSegment);
        }
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() || decoded.ends_with('/') {
        out.push('/');
    }
    Ok(out)
}

/// What path rules and public patterns are matched against: the path asked
/// (`canonical_path`), the key S3 will resolve for it, and the object the
/// index rewrite fetches. A rule on any of them applies to the request, so
/// no other spelling of an object (`/reports/` for `/reports/index.html`,
/// `/a+b` for `/a b`) dodges it. The CloudFront Function builds the same
/// list in the same order (`subjects` in `cloudfront-function.js`).
///
/// S3's REST API reads a raw `+` in the request path as a space, and `%2B`
/// as a plus: `GET /v1+x` answers `NoSuchKey` for the key `v1 x`, a
/// long-standing S3 behaviour from form encoding (seen in servo/rust-url
/// issue 882 and in the AWS SDKs, which send `+` as `%2B` for that reason).
/// So a path with a raw `+` is also matched as S3 reads it.
pub fn match_subjects(uri: &str, path: &str) -> Vec<String> {
    let mut subjects = vec![path.to_owned()];
    if uri.contains('+')
        && let Ok(as_s3) = canonical_path(&uri.replace('+', "%20"))
        && as_s3 != path
    {
        subjects.push(as_s3);
    }
    for i in 0..subjects.len() {
        if subjects[i].ends_with('/') {
            let object = format!("{}{}", subjects[i], crate::index_path::INDEX_DOCUMENT);
            subjects.push(object);
        }
    }
    subjects
}

/// Every `%` is followed by two hex digits.
pub(crate) fn valid_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            match (b.get(i + 1), b.get(i + 2)) {
                (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => i += 3,
                _ => return false,
            }
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_follow_cloudfront_syntax() {
        let p = PathPattern::new("/admin/*").unwrap();
        assert!(p.matches("/admin/"));
        assert!(p.matches("/admin/a/b.html"));
        assert!(!p.matches("/admin"));
        assert!(!p.matches("/Admin/x"));
        let q = PathPattern::new("/img/?.png").unwrap();
        assert!(q.matches("/img/a.png"));
        assert!(!q.matches("/img/ab.png"));
        assert!(PathPattern::new("*.css").unwrap().matches("/a/b.css"));
        assert!(PathPattern::new("admin").is_err());
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let p = PathPattern::new(&format!("/{}b", "*a".repeat(50))).unwrap();
        assert!(!p.matches(&format!("/{}", "a".repeat(5000))));
    }

    #[test]
    fn subjects_are_every_key_the_request_can_reach() {
        let subjects = |uri: &str| match_subjects(uri, &canonical_path(uri).unwrap());
        assert_eq!(subjects("/docs/a.html"), ["/docs/a.html"]);
        assert_eq!(subjects("/reports/"), ["/reports/", "/reports/index.html"]);
        assert_eq!(subjects("/a+b.html"), ["/a+b.html", "/a b.html"]);
        assert_eq!(
            subjects("/q+r/"),
            ["/q+r/", "/q r/", "/q+r/index.html", "/q r/index.html"]
        );
        // `%2B` is a plus to S3 as well: nothing to add.
        assert_eq!(subjects("/a%2Bb"), ["/a+b"]);
    }

    #[test]
    fn canonical_paths_decode_and_fold() {
        assert_eq!(canonical_path("/%61dmin/x").unwrap(), "/admin/x");
        assert_eq!(canonical_path("//admin///x").unwrap(), "/admin/x");
        assert_eq!(canonical_path("/docs/").unwrap(), "/docs/");
        assert_eq!(canonical_path("/a/../admin/"), Err(PathError::DotSegment));
        assert_eq!(
            canonical_path("/a/%2e%2e/admin/"),
            Err(PathError::DotSegment)
        );
        assert_eq!(canonical_path("/a%5cb"), Err(PathError::Character));
        assert_eq!(canonical_path("/a%0ab"), Err(PathError::Character));
        assert_eq!(canonical_path("/a%zz"), Err(PathError::Encoding));
        assert_eq!(canonical_path("/a%"), Err(PathError::Encoding));
        assert_eq!(canonical_path("/a%ff"), Err(PathError::Encoding));
    }
}
