//! What CloudFront does around the functions, for one distribution shaped
//! like `sam/distribution/template.yaml`: behaviours, triggers, the events
//! it builds, the checks it makes on what functions return, the S3 origin
//! with its 404 page, and the response headers policy.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use edge_auth_core::HandlerOutput;
use edge_auth_core::event::{CloudFrontResponse, HeaderEntry, Headers};
use edge_auth_lambda::{HandlerKind, HandlerState};
use serde_json::{Value, json};

use crate::viewer_function::FunctionResult;

/// Lambda@Edge limits on generated responses (CloudFront quotas).
pub const VIEWER_BODY_LIMIT: usize = 40 * 1024;
pub const ORIGIN_BODY_LIMIT: usize = 1024 * 1024;

/// Headers a function may not set on a generated response ("Restrictions on
/// edge functions"); CloudFront answers 502 when one does.
const DISALLOWED_RESPONSE_HEADERS: &[&str] = &[
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "trailer",
    "upgrade",
    "x-accel-buffering",
    "x-accel-charset",
    "x-accel-limit-rate",
    "x-accel-redirect",
    "x-cache",
    "x-forwarded-proto",
    "x-real-ip",
    "content-length",
    "transfer-encoding",
    "via",
];
/// Request headers a viewer-request function may read but not change.
const READ_ONLY_VIEWER_HEADERS: &[&str] = &["content-length", "host", "transfer-encoding", "via"];

pub struct Distribution {
    pub site_dir: PathBuf,
    pub authorize: HandlerState,
    pub index_path: HandlerState,
    pub signin: HandlerState,
    pub refresh: HandlerState,
    pub signout: HandlerState,
    /// signin, start (served by signin), refresh, signout.
    pub paths: (String, String, String, String),
    /// The token exchange's path (served by signin), where the template
    /// has its behaviour: with `tokens.trust` and regional endpoints.
    pub token_path: Option<String>,
    /// Shared links' path (served by signin), with `shares`.
    pub share_path: Option<String>,
    pub domain: String,
    /// Sign-in, refresh and sign-out as regional functions behind the
    /// distribution (a function URL origin), rather than Lambda@Edge
    /// origin-request functions.
    pub regional: bool,
    /// `authorizer = "cloudfront-function"`: the CloudFront Function on the
    /// default behaviour instead of authorize and index-path.
    pub viewer_function: Option<crate::viewer_function::ViewerFunction>,
    /// A site table's sites, each a distribution of its own on AWS: here
    /// one server tells them apart by `Host`.
    pub sites: Vec<SiteRoute>,
}

/// A site of the table as the local edge routes to it.
pub struct SiteRoute {
    /// Its host as the store names it (`crate::sites::site_key`).
    pub key: String,
    pub name: String,
    /// Its content (its bucket on AWS).
    pub dir: PathBuf,
}

/// The headers the distribution template's `AuthRequestPolicy` forwards
/// to the auth paths at the edge (tests/templates holds the two equal).
pub const AUTH_POLICY_HEADERS: &[&str] = &[
    "host",
    "accept",
    "sec-fetch-mode",
    "sec-fetch-site",
    "sec-purpose",
    "purpose",
    "x-moz",
    "x-requested-with",
];

/// The function URL origin's own name, which it sees as Host: the
/// distribution does not forward the viewer's (AllViewerExceptHostHeader).
const FUNCTION_URL_HOST: &str = "auth0000emulator.lambda-url.eu-north-1.on.aws";

/// An HTTP request as the emulator's server received it.
pub struct ViewerRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub peer: SocketAddr,
}

/// What goes back to the browser.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Distribution {
    pub async fn serve(&self, mut viewer: ViewerRequest) -> Answer {
        let (signin, start, refresh, signout) = &self.paths;
        // The auth behaviours' policy overrides nothing (AuthSecurityHeaders):
        // their answers keep `Referrer-Policy: no-referrer`.
        let auth = [signin, start, refresh, signout].contains(&&viewer.path)
            || self.signin_serves(&viewer.path);
        // Which site's distribution the request reached. Its origin for
        // the auth endpoints names the site in a custom header, which
        // CloudFront sets over any a viewer sent.
        let site = self.site_of(&viewer);
        viewer
            .headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case(edge_auth_core::sites::SITE_HEADER));
        if let (Some(site), true) = (site, auth) {
            viewer.headers.push((
                edge_auth_core::sites::SITE_HEADER.to_owned(),
                site.name.clone(),
            ));
        }
        let dir = site.map_or(self.site_dir.as_path(), |s| s.dir.as_path());
        let mut answer = self.route(viewer, dir).await;
        add_security_headers(&mut answer, !auth);
        answer
    }

    /// The exchange's and shared links' paths, where the template has
    /// their behaviours (to signin's function URL).
    fn signin_serves(&self, path: &String) -> bool {
        [&self.token_path, &self.share_path]
            .iter()
            .any(|p| p.as_ref() == Some(path))
    }

    /// The site of the table the request's `Host` names.
    fn site_of(&self, viewer: &ViewerRequest) -> Option<&SiteRoute> {
        let host = viewer
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.as_str());
        let key = edge_auth_core::sites::site_key(host)?;
        self.sites.iter().find(|s| s.key == key)
    }

    async fn route(&self, viewer: ViewerRequest, dir: &Path) -> Answer {
        let (signin, start, refresh, signout) = &self.paths;
        let auth = [
            (signin, &self.signin),
            (start, &self.signin),
            (refresh, &self.refresh),
            (signout, &self.signout),
        ];
        // Cache behaviours match by path pattern before the default one.
        if self.regional && self.signin_serves(&viewer.path) {
            return self.invoke_function_url(&self.signin, &viewer).await;
        }
        if let Some((_, state)) = auth.iter().find(|(path, _)| **path == viewer.path) {
            if self.regional {
                return self.invoke_function_url(state, &viewer).await;
            }
            // Auth behaviours: CachingDisabled; cookies, the query and the
            // headers of the template's AuthRequestPolicy, no others (an
            // origin-request function sees what the policy forwards).
            let mut request = self.request_json(&viewer, true);
            if let Some(headers) = request["headers"].as_object_mut() {
                headers.retain(|name, _| {
                    name == "cookie"
                        || name == edge_auth_core::sites::SITE_HEADER
                        || AUTH_POLICY_HEADERS.contains(&name.as_str())
                });
            }
            return match self.invoke(state, "origin-request", request).await {
                Ok(HandlerOutput::Respond(r)) => to_answer(r),
                Ok(HandlerOutput::Forward(r)) => self.origin_fetch(dir, &r.uri),
                Err(e) => e,
            };
        }
        if let Some(function) = &self.viewer_function {
            // Viewer request: the function decides and (index-path folded
            // in) names the object; there is no origin-request trigger.
            let event = crate::viewer_function::event(
                &viewer.method,
                &viewer.path,
                &viewer.query,
                &viewer.headers,
                &viewer.peer.ip().to_string(),
                &self.domain,
            );
            let result = function
                .run(&event)
                .await
                .and_then(|v| crate::viewer_function::result(&v));
            return match result {
                Ok(FunctionResult::Forward { uri }) => self.origin_fetch(dir, &uri),
                Ok(FunctionResult::Respond(answer)) => answer,
                Err(reason) => function_error(&reason),
            };
        }
        let viewer_request = self.request_json(&viewer, true);
        let forwarded = match self
            .invoke(&self.authorize, "viewer-request", viewer_request.clone())
            .await
        {
            Ok(HandlerOutput::Respond(r)) => return to_answer(r),
            Ok(HandlerOutput::Forward(r)) => r,
            Err(e) => return e,
        };
        let after = serde_json::to_value(&forwarded).unwrap_or(Value::Null);
        for name in READ_ONLY_VIEWER_HEADERS {
            if viewer_request["headers"].get(*name) != after["headers"].get(*name) {
                return lambda_error(&format!("authorize changed the read-only header {name}"));
            }
        }
        // CachingOptimized: the origin request carries no cookies and no query.
        let mut origin_request = after;
        if let Some(headers) = origin_request["headers"].as_object_mut() {
            headers
                .retain(|name, _| !matches!(name.as_str(), "cookie" | "sec-fetch-mode" | "accept"));
            headers.insert(
                "host".into(),
                json!([{"key": "Host", "value": "site-bucket.s3.eu-north-1.amazonaws.com"}]),
            );
        }
        origin_request["querystring"] = json!("");
        origin_request["origin"] = json!({"s3": {"authMethod": "origin-access-control", "customHeaders": {}, "domainName": "site-bucket.s3.eu-north-1.amazonaws.com", "path": "", "region": "eu-north-1"}});
        match self
            .invoke(&self.index_path, "origin-request", origin_request)
            .await
        {
            Ok(HandlerOutput::Respond(r)) => to_answer(r),
            Ok(HandlerOutput::Forward(r)) => self.origin_fetch(dir, &r.uri),
            Err(e) => e,
        }
    }

    fn request_json(&self, viewer: &ViewerRequest, with_cookies: bool) -> Value {
        let mut headers = serde_json::Map::new();
        for (name, value) in &viewer.headers {
            let lower = name.to_ascii_lowercase();
            if lower == "cookie" && !with_cookies {
                continue;
            }
            let entry = headers.entry(lower).or_insert_with(|| json!([]));
            if let Some(list) = entry.as_array_mut() {
                list.push(json!({"key": name, "value": value}));
            }
        }
        json!({
            "clientIp": viewer.peer.ip().to_string(),
            "headers": headers,
            "method": viewer.method,
            "querystring": viewer.query,
            "uri": viewer.path,
        })
    }

    /// Runs one function on one event, as Lambda@Edge would, and validates
    /// its answer as CloudFront does.
    async fn invoke(
        &self,
        state: &HandlerState,
        event_type: &str,
        request: Value,
    ) -> Result<HandlerOutput, Answer> {
        let event = json!({"Records": [{"cf": {
            "config": {
                "distributionDomainName": self.domain,
                "distributionId": "EDEVEMULATOR",
                "eventType": event_type,
                "requestId": request_id(),
            },
            "request": request,
        }}]});
        let deadline = std::time::Instant::now()
            + std::time::Duration::from_secs(if event_type.starts_with("viewer") {
                5
            } else {
                30
            });
        let answer = edge_auth_lambda::handle_value(state, event, "emulator", Some(deadline))
            .await
            .map_err(|e| lambda_error(&format!("{} failed: {e}", state.kind().name())))?;
        let output: HandlerOutput = serde_json::from_value(answer)
            .map_err(|e| lambda_error(&format!("invalid answer: {e}")))?;
        if let HandlerOutput::Respond(response) = &output {
            validate_response(response, event_type)?;
        }
        Ok(output)
    }

    /// An auth path with the regional arrangement: CloudFront sends the
    /// request (CachingDisabled, AllViewerExceptHostHeader) to the function
    /// URL origin, signed by Origin Access Control; Lambda hands the function
    /// a function URL event, with the Cookie header taken apart into
    /// `cookies` and repeated headers joined with commas.
    async fn invoke_function_url(&self, state: &HandlerState, viewer: &ViewerRequest) -> Answer {
        let mut headers = serde_json::Map::new();
        let mut cookies = Vec::new();
        for (name, value) in &viewer.headers {
            let lower = name.to_ascii_lowercase();
            match lower.as_str() {
                // Origin access control signs the request to the function
                // URL into Authorization, over whatever the viewer sent.
                "host" | "authorization" => {}
                "cookie" => cookies.extend(
                    value
                        .split(';')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned),
                ),
                _ => {
                    let joined = match headers.get(&lower).and_then(Value::as_str) {
                        Some(before) => format!("{before},{value}"),
                        None => value.clone(),
                    };
                    headers.insert(lower, json!(joined));
                }
            }
        }
        headers.insert("host".into(), json!(FUNCTION_URL_HOST));
        headers.insert("x-forwarded-proto".into(), json!("https"));
        let request_id = request_id();
        let event = json!({
            "version": "2.0",
            "rawPath": viewer.path,
            "rawQueryString": viewer.query,
            "cookies": cookies,
            "headers": headers,
            "requestContext": {
                "accountId": "anonymous",
                "apiId": "auth0000emulator",
                "domainName": FUNCTION_URL_HOST,
                "domainPrefix": "auth0000emulator",
                "http": {
                    "method": viewer.method,
                    "path": viewer.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": viewer.peer.ip().to_string(),
                    "userAgent": headers.get("user-agent").cloned().unwrap_or(json!("")),
                },
                "requestId": request_id,
                "routeKey": "$default",
                "stage": "$default",
                "time": "",
                "timeEpoch": 0,
            },
            "isBase64Encoded": false,
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        match edge_auth_lambda::handle_value(state, event, "emulator", Some(deadline)).await {
            Ok(answer) => function_url_answer(&answer),
            // CloudFront answers 502 when the origin fails.
            Err(e) => lambda_error(&format!("{} failed: {e}", state.kind().name())),
        }
    }

    /// The S3 origin: the key is the decoded path; a missing key is 404,
    /// answered with the 404 page (the distribution's custom error response).
    fn origin_fetch(&self, dir: &Path, uri: &str) -> Answer {
        match read_object(dir, uri) {
            Some((body, content_type, cache_control)) => Answer {
                status: 200,
                // What the deploy tool stores with each object.
                headers: vec![
                    ("content-type".into(), content_type),
                    ("cache-control".into(), cache_control.into()),
                ],
                body,
            },
            None => {
                let body = read_object(dir, "/404.html")
                    .map(|(b, _, _)| b)
                    .unwrap_or_else(|| b"Not Found".to_vec());
                Answer {
                    status: 404,
                    headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
                    body,
                }
            }
        }
    }
}

pub(crate) fn request_id() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 24];
    aws_lc_rs::rand::fill(&mut bytes).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}

fn validate_response(response: &CloudFrontResponse, event_type: &str) -> Result<(), Answer> {
    let status: u16 = response
        .status
        .parse()
        .map_err(|_| lambda_error(&format!("status {:?} is not a number", response.status)))?;
    if !(100..=599).contains(&status) {
        return Err(lambda_error(&format!("status {status} out of range")));
    }
    let limit = if event_type.starts_with("viewer") {
        VIEWER_BODY_LIMIT
    } else {
        ORIGIN_BODY_LIMIT
    };
    let size = response.body.as_ref().map_or(0, String::len);
    if size > limit {
        return Err(lambda_error(&format!(
            "generated body of {size} bytes exceeds the {event_type} limit of {limit}"
        )));
    }
    for name in response.headers.0.keys() {
        if DISALLOWED_RESPONSE_HEADERS.contains(&name.as_str())
            || name.starts_with("x-amz-cf-")
            || name.starts_with("x-edge-")
        {
            return Err(lambda_error(&format!(
                "header {name} may not be set by a function"
            )));
        }
    }
    Ok(())
}

/// CloudFront's answer when a CloudFront Function throws or returns what
/// it cannot use (FunctionExecutionError / FunctionValidationError).
fn function_error(reason: &str) -> Answer {
    cloudfront_error(
        503,
        "FunctionExecutionError",
        "The CloudFront function associated with the CloudFront distribution is invalid or could not run.",
        reason,
    )
}

/// CloudFront's own answer to a function that failed or broke the rules.
fn lambda_error(reason: &str) -> Answer {
    cloudfront_error(
        502,
        "LambdaValidationError",
        "The Lambda function associated with the CloudFront distribution is invalid or doesn't have the required permissions.",
        reason,
    )
}

/// CloudFront's plain-text error page, with the emulator's reason added.
fn cloudfront_error(status: u16, kind: &str, text: &str, reason: &str) -> Answer {
    tracing::error!(reason, "{kind}");
    Answer {
        status,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: format!("{status} ERROR\n{text}\n(emulator: {reason})\n").into_bytes(),
    }
}

fn to_answer(response: CloudFrontResponse) -> Answer {
    let Headers(map) = response.headers;
    let headers = map
        .into_iter()
        .flat_map(|(name, entries)| {
            entries
                .into_iter()
                .map(move |HeaderEntry { value, .. }| (name.clone(), value))
        })
        .collect();
    Answer {
        status: response.status.parse().unwrap_or(502),
        headers,
        body: response.body.unwrap_or_default().into_bytes(),
    }
}

/// A function URL response as the browser gets it through CloudFront:
/// `cookies` become Set-Cookie headers.
fn function_url_answer(answer: &Value) -> Answer {
    let Some(status) = answer["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..=599).contains(s))
    else {
        return lambda_error(&format!(
            "function URL answer without a valid statusCode: {answer}"
        ));
    };
    let mut headers: Vec<(String, String)> = answer["headers"]
        .as_object()
        .map(|h| {
            h.iter()
                .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    for cookie in answer["cookies"].as_array().into_iter().flatten() {
        if let Some(cookie) = cookie.as_str() {
            headers.push(("set-cookie".into(), cookie.to_owned()));
        }
    }
    let body = answer["body"].as_str().unwrap_or("");
    let body = if answer["isBase64Encoded"] == true {
        use base64::Engine;
        match base64::engine::general_purpose::STANDARD.decode(body) {
            Ok(bytes) => bytes,
            Err(e) => return lambda_error(&format!("a base64 body that is not base64: {e}")),
        }
    } else {
        body.as_bytes().to_vec()
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// The distribution's response headers policies (HSTS is left out on plain
/// HTTP): on the site's behaviour they override (`SecurityHeaders`), on
/// the auth behaviours they only fill in what an answer lacks
/// (`AuthSecurityHeaders`).
fn add_security_headers(answer: &mut Answer, overriding: bool) {
    let site = [
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
    ];
    let auth = [
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
    ];
    for (name, value) in if overriding { site } else { auth } {
        let present = answer
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name));
        if overriding || !present {
            answer
                .headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            answer.headers.push((name.into(), value.into()));
        }
    }
}

fn read_object(site: &Path, uri: &str) -> Option<(Vec<u8>, String, &'static str)> {
    // As S3's REST API reads a path: a raw `+` is a space, `%2B` a plus
    // (see `edge_auth_core::paths::match_subjects`).
    let uri = uri.replace('+', "%20");
    let key = percent_encoding::percent_decode_str(&uri)
        .decode_utf8()
        .ok()?;
    let key = key.trim_start_matches('/');
    // S3 keys are flat strings; on a file system `..` would escape the site.
    if key.is_empty() || key.split('/').any(|s| s == ".." || s == ".") || key.contains('\\') {
        return None;
    }
    let path = site.join(key);
    if !path.is_file() {
        return None;
    }
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let content_type = edge_auth_core::mime::content_type(extension);
    let cache_control = edge_auth_core::mime::cache_control(extension);
    std::fs::read(&path)
        .ok()
        .map(|b| (b, content_type, cache_control))
}

pub fn handler_state(
    kind: HandlerKind,
    config: &std::sync::Arc<edge_auth_core::Config>,
) -> HandlerState {
    HandlerState::new(kind, Some(config.clone()))
        .expect("the emulator's config suits every handler")
}
