//! The viewer requests a deploy has CloudFront's own runtime run
//! (`TestFunction`) before a rendered function goes live, each with the
//! answer the core gives it. Here the function runs in Node.js and Debian's
//! njs only; CloudFront's runtime is its own subset, and a runtime error or
//! a compute overrun there would fail every page view at once. So the
//! deploy asks that runtime, with the deployment's own keys and store, and
//! publishes nothing that answers otherwise.
//!
//! Sans-IO: the events and the expected answers come from the
//! configuration (with its session keys), the keys' signers and a time;
//! the deploy tool sends the events and hands the answers back to
//! [`Answer::from_function_output`] and [`Probe::check`].

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::authorize::authorize_at;
use crate::config::Config;
use crate::cookies::CookieNames;
use crate::event::{CloudFrontRequest, DistributionConfig, HandlerOutput, Headers};
use crate::index_path::index_path;
use crate::return_path::path_and_query;
use crate::session::{SessionClaims, SessionKeyFile, SessionSigner};

/// The user whose sessions the store revokes for the probes: each deploy
/// writes `revoked:<PROBE_REVOKED_SUB>` = [`PROBE_REVOKED_UP_TO`], so the
/// revocation check is asked of CloudFront's runtime too. No provider
/// issues this `sub` (it is not a provider's kind of identifier).
pub const PROBE_REVOKED_SUB: &str = "edge-auth-probe:revoked";
/// 2100-01-01: every session that user could hold. `revoke` prunes only
/// cut-offs in the past, so the entry stays.
pub const PROBE_REVOKED_UP_TO: u64 = 4_102_444_800;
/// The user of the probes' valid sessions.
pub const PROBE_SUB: &str = "edge-auth-probe";
/// The distribution the events name (the answers do not depend on it; on a
/// first deploy the distribution does not exist yet).
pub const PROBE_SITE: &str = "d111111abcdef8.cloudfront.net";

/// A function's answer as both sides are compared: the request it forwards
/// (its URI), or the response it generates (status, reason, each header by
/// lower-case name with repeated values joined by a line break, body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Forward {
        uri: String,
    },
    Respond {
        status: u16,
        description: Option<String>,
        headers: BTreeMap<String, String>,
        body: Option<String>,
    },
}

impl Answer {
    /// The core's answer in this shape.
    pub fn of(output: &HandlerOutput) -> Self {
        match output {
            HandlerOutput::Forward(request) => Answer::Forward {
                uri: request.uri.clone(),
            },
            HandlerOutput::Respond(response) => Answer::Respond {
                status: response.status.parse().unwrap_or(0),
                description: response.status_description.clone(),
                headers: response
                    .headers
                    .0
                    .iter()
                    .map(|(name, entries)| {
                        let values: Vec<&str> = entries.iter().map(|e| e.value.as_str()).collect();
                        (name.to_ascii_lowercase(), values.join("\n"))
                    })
                    .collect(),
                body: response.body.clone(),
            },
        }
    }

    /// `TestFunction`'s `FunctionOutput`: the event object the function
    /// returned, a request or a response, as JSON (`{"request": ..}` or
    /// `{"response": ..}`; the object itself is taken too). Anything else
    /// is an error that says what was found.
    pub fn from_function_output(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| format!("the function's output is not JSON ({e})"))?;
        let object = match (value.get("response"), value.get("request")) {
            (Some(response), _) if response.is_object() => response,
            (None, Some(request)) if request.is_object() => request,
            _ => &value,
        };
        if object.get("statusCode").is_none() {
            let uri = object["uri"].as_str().ok_or(
                "the function's output is neither a request (uri) nor a response (statusCode)",
            )?;
            return Ok(Answer::Forward {
                uri: uri.to_owned(),
            });
        }
        let status = object["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| format!("statusCode {} is not a status", object["statusCode"]))?;
        let mut headers = BTreeMap::new();
        for (name, entry) in object["headers"].as_object().into_iter().flatten() {
            let values: Vec<&Value> = match entry.get("multiValue").and_then(Value::as_array) {
                Some(list) => list.iter().map(|v| &v["value"]).collect(),
                None => vec![&entry["value"]],
            };
            let values: Option<Vec<&str>> = values.into_iter().map(Value::as_str).collect();
            let values =
                values.ok_or_else(|| format!("header {name} has a value that is not text"))?;
            headers.insert(name.to_ascii_lowercase(), values.join("\n"));
        }
        let body = match &object["body"] {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            body => match (body["encoding"].as_str(), body["data"].as_str()) {
                (Some("text") | None, Some(data)) => Some(data.to_owned()),
                _ => return Err(format!("a body the comparison cannot read: {body}")),
            },
        };
        Ok(Answer::Respond {
            status,
            description: object["statusDescription"].as_str().map(str::to_owned),
            headers,
            body,
        })
    }

    /// One line for a report: what it forwards, or its status and where it
    /// sends the browser.
    pub fn summary(&self) -> String {
        match self {
            Answer::Forward { uri } => format!("forward {uri}"),
            Answer::Respond {
                status, headers, ..
            } => match headers.get("location") {
                Some(location) => format!("{status} to {}", shortened(location)),
                None => status.to_string(),
            },
        }
    }
}

fn shortened(text: &str) -> String {
    if text.chars().count() <= 80 {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(80).collect::<String>())
    }
}

/// The answer the CloudFront Function must give `request`: `authorize`,
/// then, when it forwards, `index_path` (the two Lambda@Edge functions the
/// CloudFront Function folds into one). Where `authorize` would start a
/// sign-in the function, which has no secure random source for `state`,
/// `nonce` and the PKCE verifier, sends the browser to signin's start path
/// with the same return path (`crate::cloudfront_function`). Also the
/// core's outcome, for its decision line.
pub fn function_answer(
    request: CloudFrontRequest,
    distribution: &DistributionConfig,
    config: &Config,
    now: u64,
) -> (HandlerOutput, crate::Outcome) {
    function_answer_at(request, distribution, config, None, now)
}

/// [`function_answer`] with a site table: `site` is the request's host's
/// entry, as [`crate::authorize::authorize_at`] takes it.
pub fn function_answer_at(
    request: CloudFrontRequest,
    distribution: &DistributionConfig,
    config: &Config,
    site: Option<&crate::sites::SitePolicy>,
    now: u64,
) -> (HandlerOutput, crate::Outcome) {
    let return_to = path_and_query(&request.uri, &request.querystring);
    // The function draws nothing random: any entropy gives the same answer.
    let outcome = authorize_at(request, distribution, config, site, now, &mut NoEntropy);
    // A branch's preview: its sign-ins, and its expired sessions, start at
    // the group's sign-in site (no callback of its own); its content is
    // under the branch's prefix, after the index path is decided on the
    // address the viewer sees.
    let preview = site.and_then(|s| s.preview.as_ref());
    let starts = ["signin-started", "step-up"];
    if let Some(preview) = preview
        && (starts.contains(&outcome.event) || outcome.event == "refresh-redirect")
    {
        let location = format!(
            "{}&{}",
            preview.start,
            crate::query::encode_form([("return", return_to.as_str())])
        );
        return (
            HandlerOutput::Respond(crate::pages::redirect(&location, vec![])),
            outcome,
        );
    }
    // The function starts a sign-in (a step-up's too) at the start path,
    // which adds what the page's rules ask (`flow::step_up_for`).
    if starts.contains(&outcome.event) {
        return (
            HandlerOutput::Respond(crate::authorize::start_redirect(config, &return_to)),
            outcome,
        );
    }
    let output = match &outcome.output {
        HandlerOutput::Forward(request) => match index_path(request.clone()).output {
            HandlerOutput::Forward(mut request) => {
                if let Some(preview) = preview {
                    request.uri = format!("{}{}", preview.prefix, request.uri);
                }
                HandlerOutput::Forward(request)
            }
            respond => respond,
        },
        respond => respond.clone(),
    };
    (output, outcome)
}

/// A sign-in would draw from this; the function's answers never do.
struct NoEntropy;

impl crate::Entropy for NoEntropy {
    fn fill(&mut self, dest: &mut [u8]) {
        dest.fill(0);
    }
}

/// One event for `TestFunction` and the answer the core expects of it.
#[derive(Debug, Clone)]
pub struct Probe {
    /// What it tries, for the report (`a session signed with k1`).
    pub name: String,
    /// The viewer-request event, in CloudFront Functions' shape.
    pub event: Value,
    pub expected: Answer,
}

impl Probe {
    /// The function's output against the expected answer: `Err` says what
    /// differs.
    pub fn check(&self, function_output: &str) -> Result<(), String> {
        let got = Answer::from_function_output(function_output)?;
        if got == self.expected {
            return Ok(());
        }
        let mut what = format!(
            "answered {} where the core answers {}",
            got.summary(),
            self.expected.summary()
        );
        if let (
            Answer::Respond {
                headers: a,
                body: body_a,
                status: status_a,
                description: d_a,
            },
            Answer::Respond {
                headers: b,
                body: body_b,
                status: status_b,
                description: d_b,
            },
        ) = (&got, &self.expected)
            && status_a == status_b
        {
            let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            let differing: Vec<&str> = names
                .into_iter()
                .filter(|n| a.get(*n) != b.get(*n))
                .map(String::as_str)
                .collect();
            if !differing.is_empty() {
                what.push_str(&format!("; headers differ: {}", differing.join(", ")));
            }
            if body_a != body_b {
                what.push_str("; the bodies differ");
            }
            if d_a != d_b {
                what.push_str("; the status descriptions differ");
            }
        }
        Err(what)
    }
}

/// A request as a probe describes it.
struct Request<'a> {
    uri: &'a str,
    session: Option<String>,
    /// Its `Host`: [`PROBE_SITE`], or with a site table the probed site's.
    host: &'a str,
    /// A machine's `Authorization: Bearer` or a guest's link cookie
    /// (`[tokens]`, `[shares]`): what else a request may carry.
    credential: Credential,
}

#[derive(Clone, Default)]
enum Credential {
    #[default]
    None,
    Bearer(String),
    /// The link cookie's name and the link.
    Link(String, String),
}

impl Request<'_> {
    /// A browser's navigation: what a visitor's page view sends, beside
    /// its `Host`.
    const HEADERS: [(&'static str, &'static str); 3] = [
        ("accept", "text/html,application/xhtml+xml"),
        ("sec-fetch-mode", "navigate"),
        ("user-agent", "edge-auth-deploy probe"),
    ];

    fn event(&self, cookie_name: &str, request_id: &str) -> Value {
        let mut headers = serde_json::Map::new();
        headers.insert("host".into(), json!({ "value": self.host }));
        for (name, value) in Self::HEADERS {
            headers.insert(name.into(), json!({ "value": value }));
        }
        let mut cookies = serde_json::Map::new();
        if let Some(session) = &self.session {
            cookies.insert(cookie_name.into(), json!({ "value": session }));
        }
        match &self.credential {
            Credential::None => {}
            Credential::Bearer(token) => {
                headers.insert(
                    "authorization".into(),
                    json!({ "value": format!("Bearer {token}") }),
                );
            }
            Credential::Link(name, token) => {
                cookies.insert(name.clone(), json!({ "value": token }));
            }
        }
        json!({
            "version": "1.0",
            "context": {
                "distributionDomainName": PROBE_SITE,
                "distributionId": "EPROBE",
                "eventType": "viewer-request",
                "requestId": request_id,
            },
            "viewer": {"ip": "192.0.2.1"},
            "request": {
                "method": "GET",
                "uri": self.uri,
                "querystring": {},
                "headers": headers,
                "cookies": cookies,
            },
        })
    }

    fn core(&self, cookie_name: &str, request_id: &str) -> (CloudFrontRequest, DistributionConfig) {
        let mut headers = Headers::default();
        headers.append("host", self.host);
        for (name, value) in Self::HEADERS {
            headers.append(name, value);
        }
        if let Some(session) = &self.session {
            headers.append("cookie", format!("{cookie_name}={session}"));
        }
        match &self.credential {
            Credential::None => {}
            Credential::Bearer(token) => headers.append("authorization", format!("Bearer {token}")),
            Credential::Link(name, token) => headers.append("cookie", format!("{name}={token}")),
        }
        let request = CloudFrontRequest {
            client_ip: "192.0.2.1".into(),
            headers,
            method: "GET".into(),
            querystring: String::new(),
            uri: self.uri.to_owned(),
            other: Default::default(),
        };
        let distribution = DistributionConfig {
            distribution_domain_name: PROBE_SITE.into(),
            distribution_id: "EPROBE".into(),
            event_type: "viewer-request".into(),
            request_id: request_id.into(),
            other: Default::default(),
        };
        (request, distribution)
    }
}

/// A path a pattern matches: each `*` and `?` a plain letter (the core
/// decides what the function must answer either way).
fn path_of(pattern: &str) -> String {
    let path: String = pattern
        .chars()
        .map(|c| if c == '*' || c == '?' { 'p' } else { c })
        .collect();
    if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    }
}

/// The fixed probes for a deployment: no session; a session signed with
/// each key in `keys` (the store must hold every one); an expired, a
/// forged and a revoked user's session; a directory path; each of the
/// first rule's sides (without and with its group); a public path; an
/// unknown auth path; a long hostile URI. With a site table, these at the
/// first site's host, and a host that is no site's and a session of
/// another site besides. `config` must carry the same
/// keys and revocations as the store, and [`PROBE_REVOKED_SUB`]'s.
pub fn probes(config: &Config, keys: &[SessionKeyFile], now: u64) -> Vec<Probe> {
    // The first site's session cookie: its sign-in group's shared one
    // (`__Secure-`, for a parent domain) or the deployment's.
    let cookie = config
        .sites
        .first()
        .and_then(|s| s.policy.cookies.as_ref())
        .map_or_else(
            || CookieNames::new(config.cookies()).session,
            |c| c[0].clone(),
        );
    let lifetime = config.file.max_session_seconds().min(3600);
    // With a site table the first site is probed, by its host, with its
    // rules and sessions issued for it; the expected answers come from the
    // site its host names, as the function finds it in the store.
    let first = config.sites.first();
    let host = first.map_or(PROBE_SITE, |s| {
        s.key.trim_start_matches(crate::sites::SITE_PREFIX)
    });
    let site_id = first.map(|s| s.policy.id.clone());
    let (rules, public) = match first {
        Some(s) => (&s.policy.rules[..], &s.policy.public[..]),
        None => (&config.rules[..], &config.public[..]),
    };
    let claims_at =
        |sub: &str, groups: Vec<String>, iat: u64, site: Option<String>| SessionClaims {
            sub: sub.into(),
            name: "edge-auth probe".into(),
            groups,
            sid: "edge-auth-probe-session".into(),
            iat,
            exp: iat + lifetime,
            auth_time: Some(iat),
            // Signed in with the provider at its issue, one factor: a rule
            // with a step-up age passes, one asking a second factor does not.
            idp_auth_time: Some(iat),
            mfa: None,
            site,
        };
    let claims =
        |sub: &str, groups: Vec<String>, iat: u64| claims_at(sub, groups, iat, site_id.clone());
    let signer =
        |key: &SessionKeyFile| SessionSigner::new(std::slice::from_ref(key), &key.kid).ok();
    let mut requests: Vec<(String, Request)> = vec![(
        "no session".into(),
        Request {
            uri: "/",
            session: None,
            host,
            credential: Credential::None,
        },
    )];
    let valid = |groups: Vec<String>| {
        keys.first()
            .and_then(signer)
            .map(|s| s.sign(&claims(PROBE_SUB, groups, now - 60)))
    };
    for key in keys {
        if let Some(s) = signer(key) {
            requests.push((
                format!("a session signed with {}", key.kid),
                Request {
                    uri: "/",
                    session: Some(s.sign(&claims(PROBE_SUB, vec![], now - 60))),
                    host,
                    credential: Credential::None,
                },
            ));
        }
    }
    if let Some(first) = keys.first() {
        let s = signer(first);
        requests.push((
            "an expired session".into(),
            Request {
                uri: "/",
                session: s
                    .as_ref()
                    .map(|s| s.sign(&claims(PROBE_SUB, vec![], now - lifetime - 600))),
                host,
                credential: Credential::None,
            },
        ));
        // The first key's name over another key: a forgery.
        let forger = SessionKeyFile {
            kid: first.kid.clone(),
            key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
            not_after: None,
        };
        requests.push((
            "a forged session".into(),
            Request {
                uri: "/",
                session: signer(&forger).map(|s| s.sign(&claims(PROBE_SUB, vec![], now - 60))),
                host,
                credential: Credential::None,
            },
        ));
        requests.push((
            "a revoked user's session".into(),
            Request {
                uri: "/",
                session: s.map(|s| s.sign(&claims(PROBE_REVOKED_SUB, vec![], now - 60))),
                host,
                credential: Credential::None,
            },
        ));
    }
    let directory = "/docs/";
    requests.push((
        "a directory path".into(),
        Request {
            uri: directory,
            session: valid(vec![]),
            host,
            credential: Credential::None,
        },
    ));
    if first.is_some() {
        // A host that is no site's: the 404 page, nothing built from it.
        requests.push((
            format!("a host that is no site's ({PROBE_SITE})"),
            Request {
                uri: "/",
                session: valid(vec![]),
                host: PROBE_SITE,
                credential: Credential::None,
            },
        ));
        // A session issued for another site (or sign-in group).
        let other = config
            .sites
            .iter()
            .map(|s| &s.policy.id)
            .find(|id| Some(*id) != site_id.as_ref());
        if let Some(other) = other {
            requests.push((
                format!("a session of another site ({other})"),
                Request {
                    uri: "/",
                    session: keys.first().and_then(signer).map(|s| {
                        s.sign(&claims_at(PROBE_SUB, vec![], now - 60, Some(other.clone())))
                    }),
                    host,
                    credential: Credential::None,
                },
            ));
        }
    }
    let ruled = rules
        .first()
        .map(|rule| (path_of(rule.pattern.as_str()), rule.groups.first().cloned()));
    let public = public.first().map(|p| path_of(p.as_str()));
    let unknown = format!(
        "{}/probe-unknown",
        config.paths().auth_prefix.trim_end_matches('/')
    );
    let hostile = format!("/{}%00", "%2e%2e/%C0%AF/a%2Fb/".repeat(120));
    let mut owned: Vec<(String, String, Option<String>)> = Vec::new();
    if let Some((path, group)) = &ruled {
        owned.push((
            format!("a rule's path ({path}) without its group"),
            path.clone(),
            valid(vec![]),
        ));
        if let Some(group) = group {
            owned.push((
                format!("a rule's path ({path}) with group {group}"),
                path.clone(),
                valid(vec![group.clone()]),
            ));
        }
    }
    if let Some(path) = &public {
        owned.push((format!("a public path ({path})"), path.clone(), None));
    }
    owned.push((format!("an unknown auth path ({unknown})"), unknown, None));
    owned.push((
        format!("a hostile URI of {} bytes", hostile.len()),
        hostile,
        valid(vec![]),
    ));
    // With `[tokens]` and `[shares]`: a machine's token and a guest's link
    // at the first rule's path with its group, and refused ones.
    let mut credentials: Vec<(String, String, Credential)> = Vec::new();
    if let (Some((path, group)), Some(signer)) = (&ruled, keys.first().and_then(signer)) {
        let groups: Vec<String> = group.iter().cloned().collect();
        if config.file.tokens.is_some() {
            let token = signer.sign_service(&claims(
                &format!("{}probe", crate::session::TOKEN_SUBJECT_PREFIX),
                groups.clone(),
                now - 60,
            ));
            credentials.push((
                format!("a service token at a rule's path ({path})"),
                path.clone(),
                Credential::Bearer(token),
            ));
            credentials.push((
                "a damaged service token".into(),
                "/".into(),
                Credential::Bearer("probe.damaged.token".into()),
            ));
        }
        if config.file.shares.is_some() {
            let name = config.cookie_names.share.clone();
            let link = |pattern: &str| {
                signer.sign_share(
                    &claims(
                        &format!("{}probe", crate::share::SHARE_SUBJECT_PREFIX),
                        groups.clone(),
                        now - 60,
                    ),
                    pattern,
                )
            };
            credentials.push((
                format!("a shared link at its page ({path})"),
                path.clone(),
                Credential::Link(name.clone(), link(path)),
            ));
            credentials.push((
                format!("a shared link for {path} elsewhere (/)"),
                "/".into(),
                Credential::Link(name, link(path)),
            ));
        }
    }
    let mut out = Vec::new();
    let mut add = |name: String, request: &Request| {
        let id = format!("edge-auth-probe-{}", out.len() + 1);
        let (core_request, distribution) = request.core(&cookie, &id);
        let site = crate::sites::site_for_host(config, Some(request.host));
        let (output, _) = function_answer_at(core_request, &distribution, config, site, now);
        out.push(Probe {
            name,
            event: request.event(&cookie, &id),
            expected: Answer::of(&output),
        });
    };
    for (name, request) in &requests {
        add(name.clone(), request);
    }
    for (name, uri, credential) in &credentials {
        add(
            name.clone(),
            &Request {
                uri,
                session: None,
                host,
                credential: credential.clone(),
            },
        );
    }
    for (name, uri, session) in &owned {
        add(
            name.clone(),
            &Request {
                uri,
                session: session.clone(),
                host,
                credential: Credential::None,
            },
        );
    }
    out
}
