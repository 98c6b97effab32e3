//! `check --live` / `check --url`: the deployed site from outside, as a
//! browser and a stranger meet it. Sans-IO: [`probes`] lists the requests,
//! [`judge`] reads each answer; `commands::check` sends them. Each check is
//! one line of output; any failure fails the command.

use edge_auth_core::config::PathSettings;
use edge_auth_core::query::{encode_form, parse_query};

/// What the site should be, and where to look.
#[derive(Debug, Clone)]
pub struct Target {
    /// `https://docs.example.com`, no trailing `/`.
    pub site: String,
    pub paths: PathSettings,
    /// A page anyone may read (the settings' first public path without a
    /// wildcard: `/signed-out.html` by default).
    pub public_page: Option<String>,
    /// The provider's `authorization_endpoint`, where known.
    pub authorize_endpoint: Option<String>,
    pub client_id: Option<String>,
    /// Addresses that must refuse a direct request: (what, URL).
    pub direct: Vec<(String, String)>,
    /// A site of a sign-in group that hands its sign-ins to the group's
    /// sign-in site: (that site's address, this site's name).
    pub hands_over_to: Option<(String, String)>,
    /// A pool that routes sign-ins by e-mail domain: the address the
    /// start is given (`email=`, as the start's own page sends it), and
    /// the provider it must lead to.
    pub routed: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Protected,
    Public,
    UnknownAuthPath,
    Start,
    ProviderError,
    Direct,
}

#[derive(Debug, Clone)]
pub struct Probe {
    pub name: String,
    pub url: String,
    pub kind: Kind,
}

/// An answer as the command received it (header names lower-case).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The headers every probe sends: a browser's top-level navigation.
pub const BROWSER: [(&str, &str); 5] = [
    ("accept", "text/html,application/xhtml+xml"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-site", "none"),
    ("sec-fetch-dest", "document"),
    ("user-agent", "edge-auth-deploy check"),
];

/// A provider error whose description holds `+` (a space, in a query) and
/// an escaped parenthesis: CloudFront's signature of a function URL request
/// must survive both for the site's own error page to answer.
pub const PROVIDER_ERROR_QUERY: &str = "error=access_denied&error_description=Cancelled+by+the+user+%28a+check%29&state=edge-auth-check";

/// The requests, in order; `nonce` keeps their paths unlike any real page.
pub fn probes(target: &Target, nonce: &str) -> Vec<Probe> {
    let site = &target.site;
    let paths = &target.paths;
    let protected = format!("/edge-auth-check-{nonce}/");
    let mut out = vec![Probe {
        name: format!("protected page {protected}"),
        url: format!("{site}{protected}"),
        kind: Kind::Protected,
    }];
    if let Some(public) = &target.public_page {
        out.push(Probe {
            name: format!("public page {public}"),
            url: format!("{site}{public}"),
            kind: Kind::Public,
        });
    }
    let unknown = format!(
        "{}edge-auth-check-{nonce}",
        crate::plan::auth_path_prefix(paths)
    );
    out.push(Probe {
        name: format!("unknown auth path {unknown}"),
        url: format!("{site}{unknown}"),
        kind: Kind::UnknownAuthPath,
    });
    let email = target
        .routed
        .as_ref()
        .map(|(email, _)| ("email", email.as_str()));
    out.push(Probe {
        name: format!("sign-in start {}", paths.start),
        url: format!(
            "{site}{}?{}",
            paths.start,
            encode_form([("return", "/")].into_iter().chain(email))
        ),
        kind: Kind::Start,
    });
    out.push(Probe {
        name: format!("callback with a provider error {}", paths.signin),
        url: format!("{site}{}?{PROVIDER_ERROR_QUERY}", paths.signin),
        kind: Kind::ProviderError,
    });
    for (what, url) in &target.direct {
        out.push(Probe {
            name: format!("direct request to {what}"),
            url: url.clone(),
            kind: Kind::Direct,
        });
    }
    out
}

/// Whether `answer` is what the site must give `probe`: what passed, or why not.
pub fn judge(target: &Target, probe: &Probe, answer: &Answer) -> Result<String, String> {
    // What the answer is first; the headers it lacks after.
    let verdict = behaviour(target, probe, answer);
    let headers = match probe.kind {
        Kind::Direct => Ok(()),
        _ => security_headers(target, answer),
    };
    match (verdict, headers) {
        (Ok(what), Ok(())) => Ok(what),
        (Ok(_), Err(missing)) => Err(missing),
        (Err(why), Ok(())) => Err(why),
        (Err(why), Err(missing)) => Err(format!("{why}; and {missing}")),
    }
}

fn behaviour(target: &Target, probe: &Probe, answer: &Answer) -> Result<String, String> {
    let status = answer.status;
    let location = answer.header("location").unwrap_or("");
    let html = answer
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html"));
    match probe.kind {
        Kind::Protected => {
            let path = probe.url.trim_start_matches(&target.site);
            let expected = format!("{}?{}", target.paths.start, encode_form([("return", path)]));
            let relative = location.strip_prefix(&target.site).unwrap_or(location);
            if status == 302 && relative == expected {
                Ok(format!("302 to {}", target.paths.start))
            } else if status == 302 && !location.starts_with('/') && !relative.starts_with('/') {
                // Lambda@Edge's authorize starts the sign-in itself: to the
                // provider, held to what the start path must send.
                start(target, answer).map(|ok| format!("{ok} (the sign-in started here)"))
            } else if (200..300).contains(&status) {
                Err(format!(
                    "{status}: a protected page answered without a sign-in (is the viewer-request function associated?)"
                ))
            } else {
                Err(format!("{status} to {location:?}, not 302 to {expected}"))
            }
        }
        Kind::Public => {
            if status == 200 {
                Ok("200, no sign-in".into())
            } else if status == 302 && location.contains(&target.paths.start) {
                Err("302 to sign in: the settings' public paths are not the function's".into())
            } else {
                Err(format!(
                    "{status}: a public page should answer 200 (is it in the site folder?)"
                ))
            }
        }
        Kind::UnknownAuthPath => {
            if status == 404 && html {
                Ok("404, the site's page".into())
            } else {
                Err(format!(
                    "{status}: a path under the auth prefix that no endpoint serves should be the site's 404"
                ))
            }
        }
        Kind::Start => start(target, answer),
        Kind::ProviderError => {
            let body = String::from_utf8_lossy(&answer.body);
            if (400..500).contains(&status) && html && body.contains("<title>") {
                Ok(format!("{status}, the site's error page"))
            } else if body.contains("\"Message\"") {
                Err(format!(
                    "{status} {body}: Lambda's own answer, not the site's: the function URL refused CloudFront's signed request (look at the origin access control and the function URL grants)"
                ))
            } else {
                Err(format!(
                    "{status}: the sign-in's error page was expected (HTML, 4xx)"
                ))
            }
        }
        Kind::Direct => {
            if status == 403 || status == 401 {
                Ok(format!("{status}, refused"))
            } else {
                Err(format!(
                    "{status}: answered a request that did not come through the distribution"
                ))
            }
        }
    }
}

/// The start path: to the provider with PKCE (S256), `state`, `nonce`, the
/// registered callback, and a flow cookie only this site can read back.
fn start(target: &Target, answer: &Answer) -> Result<String, String> {
    if let Some((sign_in_site, name)) = &target.hands_over_to {
        return handed_over(target, answer, sign_in_site, name);
    }
    // Routed by an address: the start's page that goes on to the provider.
    let refreshed = target
        .routed
        .as_ref()
        .and_then(|_| refresh_target(&String::from_utf8_lossy(&answer.body)));
    let location = match (&target.routed, answer.status) {
        (None, 302) => answer.header("location").unwrap_or("").to_owned(),
        (Some(_), 200) if refreshed.is_some() => refreshed.unwrap_or_default(),
        (None, status) => {
            return Err(format!(
                "{status}: the start path should redirect to the provider"
            ));
        }
        (Some((email, _)), status) => {
            return Err(format!(
                "{status}: the start path given email={email} should answer a page that goes on to the provider"
            ));
        }
    };
    let location = location.as_str();
    let (endpoint, query) = location.split_once('?').unwrap_or((location, ""));
    if let Some(expected) = &target.authorize_endpoint
        && endpoint != expected
    {
        return Err(format!(
            "to {endpoint}, not the provider's authorization endpoint {expected}"
        ));
    }
    let Ok(params) = parse_query(query) else {
        return Err(format!("to {endpoint} with a query that does not parse"));
    };
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let callback = format!("{}{}", target.site, target.paths.signin);
    let mut wrong = Vec::new();
    if get("response_type") != Some("code") {
        wrong.push("response_type is not code".to_owned());
    }
    if get("code_challenge_method") != Some("S256") {
        wrong.push("no PKCE S256".to_owned());
    }
    if get("code_challenge").is_none_or(|c| c.len() != 43) {
        wrong.push("no code_challenge of 43 characters".to_owned());
    }
    for name in ["state", "nonce"] {
        if get(name).is_none_or(str::is_empty) {
            wrong.push(format!("no {name}"));
        }
    }
    if get("redirect_uri") != Some(callback.as_str()) {
        wrong.push(format!(
            "redirect_uri {:?}, not {callback}",
            get("redirect_uri").unwrap_or("")
        ));
    }
    if let Some(client) = &target.client_id
        && get("client_id") != Some(client.as_str())
    {
        wrong.push(format!(
            "client_id {:?}, not {client}",
            get("client_id").unwrap_or("")
        ));
    }
    if let Some((email, provider)) = &target.routed
        && (get("identity_provider") != Some(provider.as_str())
            || get("login_hint") != Some(email.as_str()))
    {
        wrong.push(format!(
            "identity_provider {:?} and login_hint {:?}, not {provider} and {email}",
            get("identity_provider").unwrap_or(""),
            get("login_hint").unwrap_or("")
        ));
    }
    let cookie = answer.header("set-cookie").unwrap_or("");
    if !(cookie.contains("HttpOnly") && cookie.contains("Secure")) {
        wrong.push("no HttpOnly, Secure flow cookie".to_owned());
    }
    if wrong.is_empty() {
        Ok(format!("302 to {endpoint} with PKCE S256, state, nonce"))
    } else {
        Err(wrong.join("; "))
    }
}

/// The URL of a page's `<meta http-equiv="refresh" content="0;url=…">`
/// (the start's answer to an address), its HTML escapes undone.
pub fn refresh_target(body: &str) -> Option<String> {
    let marker = r#"http-equiv="refresh" content="0;url="#;
    let at = body.find(marker)? + marker.len();
    let end = body[at..].find('"')?;
    Some(
        body[at..at + end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The start path of a site that hands its sign-ins over: to the group's
/// sign-in site's start, naming this site, and no cookie set here.
fn handed_over(
    target: &Target,
    answer: &Answer,
    sign_in_site: &str,
    name: &str,
) -> Result<String, String> {
    let location = answer.header("location").unwrap_or("");
    let expected = format!(
        "{sign_in_site}{}?{}&return=",
        target.paths.start,
        encode_form([("site", name)])
    );
    if answer.status != 302 || !location.starts_with(&expected) {
        return Err(format!(
            "{} to {location:?}, not 302 to the group's sign-in site ({expected}…)",
            answer.status
        ));
    }
    if answer.header("set-cookie").is_some() {
        return Err("a cookie set by a start that hands the sign-in over".into());
    }
    Ok(format!("302 to the group's sign-in site, {sign_in_site}"))
}

/// What every answer of the site carries, generated or from the bucket.
fn security_headers(target: &Target, answer: &Answer) -> Result<(), String> {
    let mut missing = Vec::new();
    if answer.header("x-content-type-options") != Some("nosniff") {
        missing.push("X-Content-Type-Options: nosniff");
    }
    if answer.header("content-security-policy").is_none() {
        missing.push("Content-Security-Policy");
    }
    if answer.header("x-frame-options").is_none() {
        missing.push("X-Frame-Options");
    }
    if answer.header("referrer-policy").is_none() {
        missing.push("Referrer-Policy");
    }
    // Browsers take HSTS only over HTTPS (the local stack is plain HTTP).
    if target.site.starts_with("https://") && answer.header("strict-transport-security").is_none() {
        missing.push("Strict-Transport-Security");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("missing {}", missing.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            site: "https://docs.example.com".into(),
            paths: PathSettings::default(),
            public_page: Some("/signed-out.html".into()),
            authorize_endpoint: Some("https://id.example.com/authorize".into()),
            client_id: Some("client".into()),
            direct: vec![("the bucket".into(), "https://b.s3.amazonaws.com/".into())],
            hands_over_to: None,
            routed: None,
        }
    }

    fn secure(status: u16, extra: &[(&str, &str)]) -> Answer {
        let mut headers: Vec<(String, String)> = [
            ("x-content-type-options", "nosniff"),
            ("content-security-policy", "default-src 'none'"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            ("strict-transport-security", "max-age=63072000"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        headers.dedup_by(|a, b| a.0 == b.0);
        Answer {
            status,
            headers,
            body: Vec::new(),
        }
    }

    fn probe(kind: Kind) -> Probe {
        probes(&target(), "n")
            .into_iter()
            .find(|p| p.kind == kind)
            .unwrap()
    }

    #[test]
    fn a_protected_page_must_send_to_sign_in() {
        let t = target();
        let p = probe(Kind::Protected);
        let good = secure(
            302,
            &[(
                "location",
                "/_edge-auth/start?return=%2Fedge-auth-check-n%2F",
            )],
        );
        assert!(judge(&t, &p, &good).is_ok());
        let open = secure(200, &[]);
        assert!(
            judge(&t, &p, &open)
                .unwrap_err()
                .contains("without a sign-in")
        );
        let mut bare = good.clone();
        bare.headers
            .retain(|(k, _)| k != "strict-transport-security");
        assert!(
            judge(&t, &p, &bare)
                .unwrap_err()
                .contains("Strict-Transport-Security")
        );
    }

    #[test]
    fn a_routed_start_goes_on_to_the_provider_of_the_address() {
        let mut t = target();
        t.routed = Some(("edge-auth-check@example.com".into(), "Corp".into()));
        let probes = probes(&t, "n");
        let start = probes.iter().find(|p| p.kind == Kind::Start).unwrap();
        assert!(
            start
                .url
                .ends_with("?return=%2F&email=edge-auth-check%40example.com"),
            "{}",
            start.url
        );
        let url = "https://id.example.com/authorize?response_type=code&amp;client_id=client&amp;redirect_uri=https%3A%2F%2Fdocs.example.com%2F_edge-auth%2Fcallback&amp;state=s&amp;nonce=n&amp;code_challenge=0123456789012345678901234567890123456789abc&amp;code_challenge_method=S256&amp;identity_provider=Corp&amp;login_hint=edge-auth-check%40example.com";
        let cookie = "__Host-edge-auth-flow-s=x; HttpOnly; Secure; Path=/";
        let page = |url: &str| {
            let mut a = secure(200, &[("set-cookie", cookie)]);
            a.body = format!(
                r#"<html><head><meta http-equiv="refresh" content="0;url={url}"><title>x</title>"#
            )
            .into_bytes();
            a
        };
        assert!(
            judge(&t, start, &page(url)).is_ok(),
            "{:?}",
            judge(&t, start, &page(url))
        );
        let other = url.replace("identity_provider=Corp", "identity_provider=COGNITO");
        assert!(
            judge(&t, start, &page(&other))
                .unwrap_err()
                .contains("identity_provider")
        );
        // The address page again (no provider chosen) is a failure.
        let asked = secure(200, &[]);
        assert!(
            judge(&t, start, &asked)
                .unwrap_err()
                .contains("goes on to the provider")
        );
    }

    #[test]
    fn the_start_must_carry_pkce_state_nonce_and_the_callback() {
        let t = target();
        let p = probe(Kind::Start);
        let location = "https://id.example.com/authorize?response_type=code&client_id=client&redirect_uri=https%3A%2F%2Fdocs.example.com%2F_edge-auth%2Fcallback&state=s&nonce=n&code_challenge=0123456789012345678901234567890123456789abc&code_challenge_method=S256";
        let cookie = "__Host-edge-auth-flow-s=x; HttpOnly; Secure; Path=/";
        assert!(
            judge(
                &t,
                &p,
                &secure(302, &[("location", location), ("set-cookie", cookie)])
            )
            .is_ok()
        );
        let plain = location.replace("S256", "plain");
        let why = judge(
            &t,
            &p,
            &secure(302, &[("location", &plain), ("set-cookie", cookie)]),
        )
        .unwrap_err();
        assert!(why.contains("S256"), "{why}");
        let elsewhere = location.replace("docs.example.com", "evil.example");
        let why = judge(
            &t,
            &p,
            &secure(302, &[("location", &elsewhere), ("set-cookie", cookie)]),
        )
        .unwrap_err();
        assert!(why.contains("redirect_uri"), "{why}");
        let why = judge(&t, &p, &secure(302, &[("location", location)])).unwrap_err();
        assert!(why.contains("cookie"), "{why}");
    }

    /// A site of a sign-in group other than its sign-in site: its start
    /// sends the browser there, naming itself, and sets nothing.
    #[test]
    fn a_start_that_hands_over_goes_to_the_groups_sign_in_site() {
        let t = Target {
            hands_over_to: Some(("https://handbook.example.com".into(), "docs".into())),
            ..target()
        };
        let p = probe(Kind::Start);
        let there = "https://handbook.example.com/_edge-auth/start?site=docs&return=%2Fedge-auth-check-n%2F";
        assert!(judge(&t, &p, &secure(302, &[("location", there)])).is_ok());
        let cookie = (
            "set-cookie",
            "__Host-edge-auth-flow-s=x; HttpOnly; Secure; Path=/",
        );
        let why = judge(&t, &p, &secure(302, &[("location", there), cookie])).unwrap_err();
        assert!(why.contains("cookie"), "{why}");
        for wrong in [
            "https://evil.example/_edge-auth/start?site=docs&return=%2F",
            "https://handbook.example.com/_edge-auth/start?site=api&return=%2F",
            "https://id.example.com/authorize?response_type=code",
        ] {
            let why = judge(&t, &p, &secure(302, &[("location", wrong)])).unwrap_err();
            assert!(why.contains("the group's sign-in site"), "{wrong}: {why}");
        }
    }

    #[test]
    fn lambdas_bare_403_is_not_the_sites_error_page() {
        let t = target();
        let p = probe(Kind::ProviderError);
        assert!(p.url.contains('+'));
        let mut lambda = secure(403, &[("content-type", "application/json")]);
        lambda.body = br#"{"Message":"Forbidden"}"#.to_vec();
        assert!(
            judge(&t, &p, &lambda)
                .unwrap_err()
                .contains("Lambda's own answer")
        );
        let mut page = secure(403, &[("content-type", "text/html; charset=utf-8")]);
        page.body = b"<!doctype html><title>Sign-in was not completed</title>".to_vec();
        assert!(judge(&t, &p, &page).is_ok());
    }

    #[test]
    fn a_direct_request_must_be_refused() {
        let t = target();
        let p = probe(Kind::Direct);
        assert!(
            judge(
                &t,
                &p,
                &Answer {
                    status: 403,
                    headers: vec![],
                    body: vec![]
                }
            )
            .is_ok()
        );
        assert!(
            judge(
                &t,
                &p,
                &Answer {
                    status: 200,
                    headers: vec![],
                    body: vec![]
                }
            )
            .is_err()
        );
    }
}
