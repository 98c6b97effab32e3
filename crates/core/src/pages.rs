//! Responses the gateway generates: redirects, HTML pages, JSON for scripts.
//! All are `Cache-Control: no-store`: none of them may be cached by
//! CloudFront or a browser (a cached redirect to sign-in is a loop).
//!
//! Each carries its own security headers. The distribution's response
//! headers policy sets the same names with `Override: true`, so where
//! CloudFront applies it to a generated response its values replace these
//! (no header is sent twice); where it does not, these still hold.

use crate::event::{BodyEncoding, CloudFrontResponse, Headers};

/// On every generated response. `no-referrer`: the callback's URL carries
/// `code` and `state`, and no page we generate needs to tell anyone where
/// the browser came from.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "Strict-Transport-Security",
        "max-age=31536000; includeSubDomains",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
];

/// On generated HTML pages as well: nothing loads, nothing runs, no form
/// posts anywhere, and no other site may frame the page. The pages need
/// only their own inline style.
pub const HTML_SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Frame-Options", "DENY"),
];

fn base_response(status: u16, cookies: Vec<String>) -> CloudFrontResponse {
    let mut headers = Headers::default();
    headers.set("Cache-Control", "no-store");
    for (name, value) in SECURITY_HEADERS {
        headers.set(name, *value);
    }
    for cookie in cookies {
        headers.append("Set-Cookie", cookie);
    }
    CloudFrontResponse {
        status: status.to_string(),
        status_description: Some(reason_phrase(status).to_owned()),
        headers,
        body: None,
        body_encoding: None,
    }
}

pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// `302 Found` to `location`, setting or clearing cookies on the way.
pub fn redirect(location: &str, cookies: Vec<String>) -> CloudFrontResponse {
    let mut response = base_response(302, cookies);
    response.headers.set("Location", location_value(location));
    response
}

/// A URI as a `Location` value: every byte outside visible ASCII (a return
/// path's `é`, a space) percent-encoded as UTF-8 (RFC 3986 §2.1, §2.5), so
/// the header is ASCII as RFC 9110 asks and no runtime refuses it; what is
/// already ASCII, `%` escapes included, is kept as it is.
pub fn location_value(location: &str) -> String {
    const OUTSIDE_VISIBLE_ASCII: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'<')
        .add(b'>')
        .add(b'`')
        .add(b'{')
        .add(b'}')
        .add(b'|')
        .add(b'^');
    percent_encoding::utf8_percent_encode(location, OUTSIDE_VISIBLE_ASCII).to_string()
}

/// A link on an error page: where to go next.
#[derive(Debug, Clone, Copy)]
pub struct Action<'a> {
    pub href: &'a str,
    pub label: &'a str,
}

/// A small self-contained HTML page (no external resources; under 4 KB, far
/// below the 40 KB limit for generated viewer responses).
pub fn html_page(
    status: u16,
    title: &str,
    message: &str,
    action: Option<Action<'_>>,
    cookies: Vec<String>,
) -> CloudFrontResponse {
    html_page_with(status, title, message, action.as_slice(), cookies)
}

/// [`html_page`] with several actions, one button each, in order.
pub fn html_page_with(
    status: u16,
    title: &str,
    message: &str,
    actions: &[Action<'_>],
    cookies: Vec<String>,
) -> CloudFrontResponse {
    let mut response = base_response(status, cookies);
    set_html_headers(&mut response.headers);
    let buttons: String = actions.iter().map(|a| action_html(Some(*a))).collect();
    response.body = Some(page_body(
        &status.to_string(),
        &escape(title),
        &escape(message),
        &buttons,
    ));
    response.body_encoding = Some(BodyEncoding::Text);
    response
}

/// The CSP of a page with a form of ours ([`form_page`]): today's, but
/// the form may go to this site (its start path). Only there: every other
/// page keeps `form-action 'none'`.
pub const FORM_PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A page with a form (the sign-in's "which address?"): `form` is HTML
/// already escaped, the rest is text. The same shell and headers as every
/// page, with [`FORM_PAGE_CSP`].
pub fn form_page(
    status: u16,
    title: &str,
    message: &str,
    form: &str,
    cookies: Vec<String>,
) -> CloudFrontResponse {
    let mut response = base_response(status, cookies);
    set_html_headers(&mut response.headers);
    response
        .headers
        .set("Content-Security-Policy", FORM_PAGE_CSP);
    response.body = Some(
        page_body(&status.to_string(), &escape(title), &escape(message), form)
            .replace(&format!("<p class=\"status\">Error {status}</p>"), ""),
    );
    response.body_encoding = Some(BodyEncoding::Text);
    response
}

/// A page that goes on to `href` at once (`<meta http-equiv=refresh>`),
/// with a link for a browser that does not. What a form's answer is when
/// it leads to another site: a redirect would be held to the form page's
/// `form-action`, which cannot name every provider a pool federates to.
pub fn continue_to(
    href: &str,
    title: &str,
    message: &str,
    cookies: Vec<String>,
) -> CloudFrontResponse {
    let mut response = html_page(
        200,
        title,
        message,
        Some(Action {
            href,
            label: "Continue",
        }),
        cookies,
    );
    let refresh = format!(
        r#"<meta http-equiv="refresh" content="0;url={}">"#,
        escape(&location_value(href))
    );
    response.body = response.body.map(|body| {
        body.replacen("<title>", &format!("{refresh}<title>"), 1)
            .replace("<p class=\"status\">Error 200</p>", "")
    });
    response
}

/// The headers every HTML page carries beyond [`base_response`]'s.
fn set_html_headers(headers: &mut Headers) {
    headers.set("Content-Type", "text/html; charset=utf-8");
    for (name, value) in HTML_SECURITY_HEADERS {
        headers.set(name, *value);
    }
}

/// A page's link, as HTML (empty without one).
pub(crate) fn action_html(action: Option<Action<'_>>) -> String {
    action
        .map(|a| {
            format!(
                r#"<p><a class="button" href="{}">{}</a></p>"#,
                escape(a.href),
                escape(a.label)
            )
        })
        .unwrap_or_default()
}

/// A page's HTML from its parts, already escaped (the CloudFront Function
/// fills the same shell: `cloudfront_function.rs`).
pub(crate) fn page_body(status: &str, title: &str, message: &str, action: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — {status}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f4f5f7;color:#1d2330}}main{{max-width:32rem;padding:2rem;background:#fff;border-radius:12px}}h1{{font-size:1.4rem;margin:0}}.status{{color:#6b7280}}.button{{padding:.5rem 1rem;background:#2952cc;color:#fff;border-radius:6px;text-decoration:none}}</style>
</head><body><main><p class="status">Error {status}</p><h1>{title}</h1><p>{message}</p>{action}</main></body></html>
"#
    )
}

/// The headers of an HTML page (any status), for the CloudFront Function.
pub(crate) fn html_headers() -> Headers {
    let mut response = base_response(200, vec![]);
    set_html_headers(&mut response.headers);
    response.headers
}

/// A JSON answer for scripts (`fetch`, XHR) that cannot follow a redirect to a login page.
pub fn json(status: u16, body: &serde_json::Value, cookies: Vec<String>) -> CloudFrontResponse {
    let mut response = base_response(status, cookies);
    response.headers.set("Content-Type", "application/json");
    response.body = Some(body.to_string());
    response.body_encoding = Some(BodyEncoding::Text);
    response
}

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_and_do_not_cache() {
        let page = html_page(
            400,
            "Bad <b>",
            "x\"y'<script>",
            Some(Action {
                href: "/?a=1&b=2",
                label: "Go",
            }),
            vec![],
        );
        let body = page.body.unwrap();
        assert!(body.contains("Bad &lt;b&gt;") && body.contains("x&quot;y&#39;&lt;script&gt;"));
        assert!(body.contains(r#"href="/?a=1&amp;b=2""#));
        assert_eq!(page.status, "400");
        assert_eq!(page.headers.first("cache-control"), Some("no-store"));
    }

    #[test]
    fn every_generated_answer_carries_its_security_headers() {
        let page = html_page(403, "t", "m", None, vec![]);
        let moved = redirect("/x", vec![]);
        let script = json(401, &serde_json::json!({}), vec![]);
        for response in [&page, &moved, &script] {
            for (name, value) in SECURITY_HEADERS {
                let values: Vec<_> = response.headers.values(name).collect();
                assert_eq!(values, vec![*value], "{name} on {}", response.status);
            }
        }
        for (name, value) in HTML_SECURITY_HEADERS {
            assert_eq!(page.headers.values(name).collect::<Vec<_>>(), vec![*value]);
            assert!(moved.headers.first(name).is_none() && script.headers.first(name).is_none());
        }
        // CloudFront's 40 KB limit for a generated viewer response counts
        // headers and body; the longest link a page can carry is a return
        // path of 2 KB.
        let longest = html_page(
            400,
            "Sign-in took too long",
            &"m".repeat(1024),
            Some(Action {
                href: &"/".repeat(crate::return_path::MAX_RETURN_PATH),
                label: "Start again",
            }),
            vec!["c".repeat(4096); 6],
        );
        let size = serde_json::to_string(&longest).unwrap().len();
        assert!(size < 40 * 1024, "{size} bytes");
        let csp = page.headers.first("content-security-policy").unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
    }
}
