//! A sign-in in progress: `state`, PKCE verifier, OIDC nonce and the page to
//! return to, kept in one short-lived cookie per flow so parallel sign-ins in
//! several tabs do not overwrite each other.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use crate::Entropy;
use crate::config::Config;
use crate::cookies::{self, request_cookies};
use crate::event::CloudFrontRequest;
use crate::pages;
use crate::query::encode_form;

/// What the flow cookie holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowCookie {
    pub issued_at: u64,
    pub verifier: String,
    pub nonce: String,
    pub return_to: String,
    /// Started by a request from another site (`Sec-Fetch-Site` other than
    /// `same-origin` or `none`): such a start never pushes out another
    /// flow (see [`start_signin_with_prompt`]).
    pub forced: bool,
    /// A sign-in another site of the group handed over (`site=` at the
    /// start): the site `return_to` is on. Its address comes from the
    /// site table, never from the request.
    pub site: Option<String>,
    /// With `site`, a branch's preview of it (`branch=`): the address is
    /// `<branch>.<its preview_domain>` (`Config::preview_base`).
    pub branch: Option<String>,
}

/// A sign-in handed over to a group's sign-in site: the site (and branch
/// preview) it returns to, with that site's configuration (its rules
/// decide the step-up).
#[derive(Clone, Copy)]
pub struct Handover<'a> {
    pub site: &'a str,
    pub branch: Option<&'a str>,
    pub config: &'a Config,
}

impl FlowCookie {
    /// `issued_at.verifier.nonce.base64url(return_to)`, then `.x` for a
    /// forced start and `.@<site>` (`.@<site>:<branch>`) for a handed-over
    /// one: cookie-safe characters only.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}.{}{}{}",
            self.issued_at,
            self.verifier,
            self.nonce,
            B64.encode(&self.return_to),
            if self.forced { ".x" } else { "" },
            match (&self.site, &self.branch) {
                (Some(site), Some(branch)) => format!(".@{site}:{branch}"),
                (Some(site), None) => format!(".@{site}"),
                (None, _) => String::new(),
            }
        )
    }

    /// The cookie value for the flow named `state`: [`Self::encode`], then
    /// `~<kid>~<tag>`, a MAC with the session keys over the state and the
    /// rest, so that only a flow this site started reaches the provider's
    /// token endpoint (a script cannot make one up). Unsealed when no key
    /// is at hand; the callback then refuses it, as any unsealed one.
    pub fn seal(&self, state: &str, config: &Config) -> String {
        let payload = self.encode();
        match config.sessions.mac(&mac_input(state, &payload)) {
            Some((kid, tag)) => format!("{payload}~{kid}~{tag}"),
            None => payload,
        }
    }

    /// A sealed flow cookie for `state`, read back when its MAC holds.
    pub fn open(value: &str, state: &str, config: &Config) -> Option<Self> {
        let (rest, tag) = value.rsplit_once('~')?;
        let (payload, kid) = rest.rsplit_once('~')?;
        if !config
            .sessions
            .check_mac(kid, &mac_input(state, payload), tag)
        {
            return None;
        }
        Self::decode(payload)
    }

    /// Reads a flow cookie back, sealed or not, without checking its MAC
    /// (for ordering flows; the callback uses [`Self::open`]). The cookie comes from the browser, so
    /// anything in it may have been planted: the return path is checked here,
    /// once for every use of it (the success redirect and the links on the
    /// callback's error pages alike), and an unsafe one becomes `/`.
    pub fn decode(value: &str) -> Option<Self> {
        let payload = value.split('~').next().unwrap_or(value);
        let mut parts = payload.split('.');
        let issued_at = parts.next()?.parse().ok()?;
        let verifier = parts.next().filter(|v| is_random_token(v))?.to_owned();
        let nonce = parts.next().filter(|v| is_random_token(v))?.to_owned();
        let return_to = String::from_utf8(B64.decode(parts.next()?).ok()?).ok()?;
        let mut next = parts.next();
        let forced = next == Some("x");
        if forced {
            next = parts.next();
        }
        let (site, branch) = match next {
            None => (None, None),
            Some(part) => {
                let handed = part.strip_prefix('@')?;
                let (name, branch) = match handed.split_once(':') {
                    Some((name, branch)) => {
                        if !crate::sites::is_branch(branch) {
                            return None;
                        }
                        (name, Some(branch.to_owned()))
                    }
                    None => (handed, None),
                };
                if !is_site_name(name) {
                    return None;
                }
                next = parts.next();
                (Some(name.to_owned()), branch)
            }
        };
        if next.is_some() {
            return None;
        }
        let return_to = crate::return_path::safe_return_path(&return_to)
            .unwrap_or("/")
            .to_owned();
        Some(Self {
            issued_at,
            verifier,
            nonce,
            return_to,
            forced,
            site,
            branch,
        })
    }
}

/// A site's name as config.json allows it.
fn is_site_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Where a finished sign-in sends the browser: `return_to` on this site,
/// or on the site of the group that handed the sign-in over, with that
/// site's configuration (its rules decide the step-up). A site that is no
/// longer the group's: this site's start page.
pub fn return_target(config: &Config, flow: &FlowCookie) -> (String, Option<Config>) {
    let path = crate::return_path::safe_return_path(&flow.return_to)
        .unwrap_or("/")
        .to_owned();
    let Some(name) = &flow.site else {
        return (path, None);
    };
    let Some(member) = config.group_member(name) else {
        return ("/".to_owned(), None);
    };
    let base = match &flow.branch {
        None => member.file.site.base_url.clone(),
        Some(branch) => member.preview_base(branch),
    };
    match base {
        Some(base) => (format!("{base}{path}"), Some(member)),
        None => ("/".to_owned(), None),
    }
}

/// What a flow cookie's MAC covers: a context no session MAC input can
/// start with (it has a NUL byte), the flow's state (its cookie's name),
/// and the value.
fn mac_input(state: &str, payload: &str) -> Vec<u8> {
    [
        b"edge-auth-flow\0".as_slice(),
        state.as_bytes(),
        b"\0",
        payload.as_bytes(),
    ]
    .concat()
}

/// 32 random bytes, base64url: 43 characters, as RFC 7636 wants for a verifier.
pub fn random_token(entropy: &mut dyn Entropy) -> String {
    let [token] = random_tokens(entropy);
    token
}

/// `N` tokens like [`random_token`] from one draw of randomness: one
/// `getrandom` call instead of `N` (a system call costs more than the rest
/// of starting a sign-in where system calls are dear).
pub fn random_tokens<const N: usize>(entropy: &mut dyn Entropy) -> [String; N] {
    let mut bytes = [[0u8; 32]; N];
    entropy.fill(bytes.as_flattened_mut());
    bytes.map(|b| B64.encode(b))
}

/// Shape of every value made by [`random_token`]; anything else is not ours.
pub fn is_random_token(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Equality that takes the same time wherever the first difference is, for
/// secrets compared with what a request sent (flow state, nonce). Lengths
/// are not secret: every value compared this way has a fixed length.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

/// The values of the flow cookies for `state`, found by comparing every
/// flow cookie's state with [`constant_time_eq`].
pub fn flow_cookie_values<'a>(
    cookies: &[(&'a str, &'a str)],
    flow_prefix: &str,
    state: &str,
) -> Vec<&'a str> {
    cookies
        .iter()
        .filter(|(name, _)| {
            name.strip_prefix(flow_prefix)
                .is_some_and(|candidate| constant_time_eq(candidate, state))
        })
        .map(|(_, value)| *value)
        .collect()
}

/// RFC 7636 S256 challenge.
pub fn pkce_challenge(verifier: &str) -> String {
    B64.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ))
}

/// The site's origin as the browser sees it, for redirect URIs:
/// `site.base_url` (the deploy tool always writes it), else the
/// distribution's own domain name from the event. Never the viewer's `Host`
/// header: a redirect URI must not be something the request chose. `None`
/// when the distribution's name is not a plain host name, so that no
/// redirect URI is ever built from anything else (the fuzzer sent a junk
/// `distributionDomainName`).
pub fn site_base(config: &Config, distribution_domain: &str) -> Option<String> {
    if let Some(base) = &config.file.site.base_url {
        return Some(base.clone());
    }
    is_host_name(distribution_domain).then(|| format!("https://{distribution_domain}"))
}

/// `name` or `name:port`, letters, digits, dots and hyphens only.
fn is_host_name(host: &str) -> bool {
    let (name, port) = host.rsplit_once(':').unwrap_or((host, ""));
    !name.is_empty()
        && host.len() <= 253
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.is_empty() != host.contains(':')
}

/// The page for a request that names no valid host (see [`site_base`]).
pub fn no_host_page() -> crate::Outcome {
    let page = pages::html_page(
        400,
        "Bad request",
        "This request does not name a valid host.",
        None,
        vec![],
    );
    crate::Outcome::respond(page, "bad-host")
}

pub fn redirect_uri(config: &Config, base: &str) -> String {
    format!("{base}{}", config.paths().signin)
}

/// Starts a sign-in: a new flow cookie, older flows beyond the allowed number
/// expired, and a redirect to the provider's authorization endpoint.
/// `extra_cookies` (e.g. clearing a rejected session) go with the same answer.
pub fn start_signin(
    config: &Config,
    request: &CloudFrontRequest,
    base: &str,
    now: u64,
    entropy: &mut dyn Entropy,
    return_to: &str,
    extra_cookies: Vec<String>,
) -> crate::event::CloudFrontResponse {
    start_signin_with_prompt(
        config,
        request,
        base,
        now,
        entropy,
        return_to,
        extra_cookies,
        None,
        None,
    )
}

/// [`start_signin`] with an OpenID Connect `prompt` (`login`: the provider
/// asks for credentials again even with a session of its own), for a page
/// of this site or, `handover`, at a group's sign-in site, of the group's
/// site (or a branch's preview of it) that handed it over.
///
/// At a site of a sign-in group sharing its session across a parent
/// domain, other than the group's sign-in site: a redirect to that site's
/// start, naming this site and the page (`site=`, `return=`), whose
/// callback is the group's one redirect URI and whose cookies reach
/// every site of the group.
#[allow(clippy::too_many_arguments)]
pub fn start_signin_with_prompt(
    config: &Config,
    request: &CloudFrontRequest,
    base: &str,
    now: u64,
    entropy: &mut dyn Entropy,
    return_to: &str,
    mut extra_cookies: Vec<String>,
    prompt: Option<&str>,
    handover: Option<Handover<'_>>,
) -> crate::event::CloudFrontResponse {
    if let Some(shared) = config.shared.as_ref().filter(|s| s.elsewhere()) {
        let return_to = crate::return_path::safe_return_path(return_to).unwrap_or("/");
        let query = encode_form(
            [("site", shared.site.as_str()), ("return", return_to)]
                .into_iter()
                .chain(prompt.map(|p| ("prompt", p))),
        );
        let href = format!("{}{}?{query}", shared.sign_in_base, config.paths().start);
        return pages::redirect(&href, extra_cookies);
    }
    let names = &config.cookie_names;
    let settings = config.cookies();
    let return_to = crate::return_path::safe_return_path(return_to).unwrap_or("/");
    // Which of the pool's providers: the asking site's default, or the
    // one the address typed on our page leads to (only the start path
    // reads one: the page's form goes there).
    let at_start = request.uri == config.paths().start;
    let query = if at_start {
        crate::query::parse_query(&request.querystring).unwrap_or_default()
    } else {
        Vec::new()
    };
    let typed = if at_start {
        crate::query::single(&query, "email").map_err(|_| ())
    } else {
        Ok(None)
    };
    let routing = &config.provider().routing;
    let site_default = handover
        .map_or(config, |h| h.config)
        .provider()
        .routing
        .default
        .as_deref();
    let route = match typed {
        Ok(email) => crate::routing::choose(routing, site_default, email),
        Err(()) => crate::routing::Route::AskEmail {
            problem: Some(crate::routing::EmailProblem::Malformed),
        },
    };
    let (identity_provider, login_hint) = match route {
        crate::routing::Route::Plain => (None, None),
        crate::routing::Route::Provider { name, login_hint } => (Some(name), login_hint),
        crate::routing::Route::AskEmail { problem } => {
            let handed = handover.iter().flat_map(|h| {
                std::iter::once(("site", h.site)).chain(h.branch.map(|b| ("branch", b)))
            });
            let fields: Vec<(&str, &str)> = handed
                .chain([("return", return_to)])
                .chain(prompt.map(|p| ("prompt", p)))
                .collect();
            if !at_start {
                // Asked at the start path only: its page may send a form.
                let href = format!("{}?{}", config.paths().start, encode_form(fields));
                return pages::redirect(&href, extra_cookies);
            }
            return email_page(config, &fields, problem.as_ref(), typed, extra_cookies);
        }
    };
    // A page another site sent here (a link, a redirect, a form) may be
    // the user's own first visit, or a page forcing visits to push the
    // user's sign-in in progress out. Such a start never evicts a flow.
    let forced = crate::authorize::sent_from_elsewhere(request) == Some(true);

    // Flows already running in this browser, oldest first; keep room for this one.
    let cookies = request_cookies(&request.headers);
    let mut running: Vec<(u64, &str)> = cookies
        .iter()
        .filter(|(name, _)| name.starts_with(&names.flow_prefix))
        .map(|(name, value)| (FlowCookie::decode(value).map_or(0, |f| f.issued_at), *name))
        .collect();
    running.sort();
    running.dedup_by(|a, b| a.1 == b.1);
    let excess = (running.len() + 1).saturating_sub(settings.max_parallel_signins);
    if forced && excess > 0 {
        // Full: one same-origin click starts it, and may evict.
        return continue_page(config, return_to, handover, extra_cookies);
    }
    for (_, name) in running.iter().take(excess) {
        extra_cookies.push(cookies::clear_cookie(names, name, "/"));
    }
    let [state, verifier, nonce] = random_tokens(entropy);
    let flow = FlowCookie {
        issued_at: now,
        verifier,
        nonce,
        return_to: return_to.to_owned(),
        forced,
        site: handover.map(|h| h.site.to_owned()),
        branch: handover.and_then(|h| h.branch).map(str::to_owned),
    };
    extra_cookies.push(cookies::set_cookie(
        names,
        &format!("{}{state}", names.flow_prefix),
        &flow.seal(&state, config),
        "/",
        settings.flow_max_age_seconds,
    ));

    // A page with a step-up: the provider authenticates the user again
    // (`prompt=login`), and no longer ago than the rule allows (`max_age`,
    // which makes `auth_time` required in the ID token, OIDC Core 3.1.2.1).
    let step_up = step_up_for(handover.map_or(config, |h| h.config), return_to);
    let max_age = step_up.max_auth_age_seconds.map(|s| s.to_string());
    let prompt = if step_up.is_none() {
        prompt
    } else {
        Some("login")
    };
    let provider = config.provider();
    let scope = provider.scopes.join(" ");
    let redirect = redirect_uri(config, base);
    let challenge = pkce_challenge(&flow.verifier);
    let query = encode_form(
        [
            ("response_type", "code"),
            ("client_id", provider.client_id.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("scope", scope.as_str()),
            ("state", state.as_str()),
            ("nonce", flow.nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .chain(prompt.map(|p| ("prompt", p)))
        .chain(max_age.as_deref().map(|a| ("max_age", a)))
        .chain(
            identity_provider
                .as_deref()
                .map(|p| ("identity_provider", p)),
        )
        .chain(login_hint.as_deref().map(|h| ("login_hint", h))),
    );
    let separator = if provider.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    let href = format!("{}{separator}{query}", provider.authorization_endpoint);
    if login_hint.is_some() {
        // The answer to our page's form: a redirect from it would be held
        // to its `form-action` at every provider it passes through.
        return pages::continue_to(
            &href,
            "Signing you in",
            "Taking you to your organisation's sign-in.",
            extra_cookies,
        );
    }
    pages::redirect(&href, extra_cookies)
}

/// The header [`email_page`] marks its answers with: what the log says
/// of it (`asked`, or the problem's event), never the address.
pub const ADDRESS_PAGE_HEADER: &str = "x-edge-auth-address";

/// Whether `response` is the start's own page asking for an address, and
/// why it asks (`asked`, `malformed`, `unknown-domain`).
pub fn asked_reason(response: &crate::event::CloudFrontResponse) -> Option<&str> {
    response.headers.first(ADDRESS_PAGE_HEADER)
}

/// The page that asks for the visitor's address when more than one of
/// the pool's providers could sign them in: a form to the start path with
/// what the start was given (`fields`) and `email`.
fn email_page(
    config: &Config,
    fields: &[(&str, &str)],
    problem: Option<&crate::routing::EmailProblem>,
    typed: Result<Option<&str>, ()>,
    cookies: Vec<String>,
) -> crate::event::CloudFrontResponse {
    let esc = pages::escape;
    let hidden: String = fields
        .iter()
        .map(|(name, value)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                esc(name),
                esc(value)
            )
        })
        .collect();
    let typed = typed.ok().flatten().unwrap_or("");
    let typed: String = typed.chars().take(crate::routing::MAX_EMAIL).collect();
    let form = format!(
        r#"<form method="get" action="{}">{hidden}<p><label for="email">Work e-mail address</label><br><input id="email" type="email" name="email" autocomplete="username" required autofocus value="{}" style="width:100%;box-sizing:border-box;padding:.4rem;font:inherit"></p><p><button class="button" type="submit" style="border:0;font:inherit;cursor:pointer">Continue</button></p></form>"#,
        esc(&config.paths().start),
        esc(&typed)
    );
    let (mut page, reason) = match problem {
        None => (
            pages::form_page(
                200,
                "Sign in",
                "Type your work e-mail address: it tells us where your organisation signs you in.",
                &form,
                cookies,
            ),
            "asked",
        ),
        Some(problem) => (
            pages::form_page(400, "Sign in", &problem.message(), &form, cookies),
            match problem {
                crate::routing::EmailProblem::Malformed => "malformed",
                crate::routing::EmailProblem::UnknownDomain(_) => "unknown-domain",
            },
        ),
    };
    page.headers.set(ADDRESS_PAGE_HEADER, reason);
    page
}

/// What the rules of the page a sign-in returns to ask of it: for each key
/// the path can reach, its first rule's step-up, all of them at once (the
/// per-request check holds the same rules, `authorize::allow_or_forbid`).
/// A return path that does not parse asks nothing (it becomes `/`).
pub fn step_up_for(config: &Config, return_to: &str) -> crate::config::StepUp {
    let uri = return_to.split(['?', '#']).next().unwrap_or("/");
    let Ok(path) = crate::paths::canonical_path(uri) else {
        return crate::config::StepUp::default();
    };
    crate::paths::match_subjects(uri, &path)
        .iter()
        .filter_map(|s| config.rule_for(s))
        .fold(crate::config::StepUp::default(), |acc, r| {
            acc.and(r.step_up)
        })
}

/// The answer to a forced start when this browser already has as many
/// sign-ins in progress as it may: a button that starts it from this
/// site, which may then push the oldest out.
fn continue_page(
    config: &Config,
    return_to: &str,
    handover: Option<Handover<'_>>,
    cookies: Vec<String>,
) -> crate::event::CloudFrontResponse {
    let handed = handover
        .iter()
        .flat_map(|h| std::iter::once(("site", h.site)).chain(h.branch.map(|b| ("branch", b))));
    let href = format!(
        "{}?{}",
        config.paths().start,
        encode_form(handed.chain([("return", return_to)]))
    );
    pages::html_page(
        200,
        "Continue to sign in",
        "Several sign-ins to this site are already in progress in this browser, some started from other websites. To sign in, continue here.",
        Some(pages::Action {
            href: &href,
            label: "Continue to sign in",
        }),
        cookies,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_cookie_round_trips_and_rejects_junk() {
        let flow = FlowCookie {
            issued_at: 1_700_000_000,
            verifier: "a".repeat(43),
            nonce: "b".repeat(43),
            return_to: "/docs/?q=ü&x=1".into(),
            forced: false,
            site: None,
            branch: None,
        };
        assert_eq!(FlowCookie::decode(&flow.encode()), Some(flow.clone()));
        let forced = FlowCookie {
            forced: true,
            ..flow.clone()
        };
        assert_eq!(FlowCookie::decode(&forced.encode()), Some(forced.clone()));
        // A handed-over sign-in names its site, forced or not.
        for handed in [
            FlowCookie {
                site: Some("api-docs".into()),
                ..flow.clone()
            },
            FlowCookie {
                site: Some("api".into()),
                ..forced.clone()
            },
            FlowCookie {
                site: Some("api".into()),
                branch: Some("feature-x".into()),
                ..flow.clone()
            },
        ] {
            assert_eq!(FlowCookie::decode(&handed.encode()), Some(handed.clone()));
        }
        assert_eq!(FlowCookie::decode(&format!("{}.y", flow.encode())), None);
        for bad_site in [
            ".@", ".@a.b", ".@a b", ".@a_b", ".@x.x", ".x.@a.@b", ".@a.x", ".@a:", ".@a:B",
            ".@a:-b", ".@:b", ".@a:b:c",
        ] {
            assert_eq!(
                FlowCookie::decode(&format!("{}{bad_site}", flow.encode())),
                None,
                "{bad_site}"
            );
        }
        for planted in ["javascript:alert(1)", "//evil.example", "/\\evil.example"] {
            let forged = FlowCookie {
                return_to: planted.into(),
                ..flow.clone()
            };
            let read = FlowCookie::decode(&forged.encode()).expect("well-formed");
            assert_eq!(read.return_to, "/", "{planted}");
        }
        for junk in [
            "",
            "1.2.3",
            "x.aaa.bbb.Lw",
            &format!("{}.extra", flow.encode()),
            "1...",
        ] {
            assert_eq!(FlowCookie::decode(junk), None, "{junk}");
        }
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq("abc", "abc") && constant_time_eq("", ""));
        assert!(!constant_time_eq("abc", "abd") && !constant_time_eq("abc", "ab"));
        let cookies = [
            ("f-aaa", "1"),
            ("f-aab", "2"),
            ("g-aaa", "3"),
            ("f-aaa", "4"),
        ];
        assert_eq!(flow_cookie_values(&cookies, "f-", "aaa"), vec!["1", "4"]);
        assert!(flow_cookie_values(&cookies, "f-", "aa").is_empty());
    }

    #[test]
    fn pkce_matches_rfc7636_example() {
        // RFC 7636, Appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
