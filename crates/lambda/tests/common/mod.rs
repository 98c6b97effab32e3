//! Helpers shared by the handler test binaries.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use edge_auth_core::Config;
use edge_auth_core::flow::FlowCookie;
use edge_auth_lambda::{HandlerKind, HandlerState, handle};
use edge_auth_testkit::provider_server::ProviderServer;
use edge_auth_testkit::{self as kit};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

pub const SECRET: &str = "client-secret-that-must-not-leak";

/// Log lines written while a test runs.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Installs a process-wide subscriber (a scoped one misses callsites
    /// whose interest another test thread already cached).
    pub fn install_global(&self) {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    }
    pub fn lines(&self) -> Vec<Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|_| panic!("log line is not JSON: {l}"))
            })
            .collect()
    }
}

pub fn secret_file(tag: &str) -> String {
    let path = std::env::temp_dir().join(format!(
        "edge-auth-secret-{}-{tag}.json",
        std::process::id()
    ));
    std::fs::write(
        &path,
        json!({"client_id": kit::CLIENT_ID, "client_secret": SECRET}).to_string(),
    )
    .unwrap();
    path.display().to_string()
}

pub fn config_for(server: &ProviderServer, tag: &str) -> Arc<Config> {
    let mut v = kit::config_value(&server.base_url());
    v["secret"] = json!({"kind": "file", "path": secret_file(tag)});
    v["http"] = json!({"timeout_ms": 300, "retries": 1});
    // Tokens are minted with the test clock; the handlers read the real one.
    v["provider"]["clock_skew_seconds"] = json!(0);
    Arc::new(Config::from_json(&v.to_string()).unwrap())
}

pub fn now() -> u64 {
    edge_auth_lambda::now()
}

pub fn event(json_sample: &str, uri: &str, query: &str, cookies: &[String]) -> LambdaEvent<Value> {
    let mut v: Value = serde_json::from_str(json_sample).unwrap();
    let request = &mut v["Records"][0]["cf"]["request"];
    request["uri"] = json!(uri);
    request["querystring"] = json!(query);
    if !cookies.is_empty() {
        request["headers"]["cookie"] = json!([{"key": "Cookie", "value": cookies.join("; ")}]);
    }
    if uri.ends_with("/signout") {
        // A sign-out from one of the site's own pages: the kind that acts.
        request["headers"]["sec-fetch-site"] =
            json!([{"key": "Sec-Fetch-Site", "value": "same-origin"}]);
    }
    let mut context = Context::default();
    context.request_id = "req-1".into();
    LambdaEvent::new(v, context)
}

pub async fn run(kind: HandlerKind, config: &Arc<Config>, event: LambdaEvent<Value>) -> Value {
    let state = HandlerState::new(kind, Some(config.clone())).unwrap();
    handle(&state, event).await.unwrap()
}

pub fn header(answer: &Value, name: &str) -> Vec<String> {
    answer["headers"][name]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| h["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub fn query_param(url: &str, name: &str) -> String {
    let pairs = edge_auth_core::query::parse_query(url.split_once('?').unwrap().1).unwrap();
    pairs.into_iter().find(|(n, _)| n == name).unwrap().1
}

pub fn fresh_id_token(nonce: Option<&str>) -> String {
    let mut b = kit::id_token()
        .claim("iat", now())
        .claim("exp", now() + 3600)
        .claim("auth_time", now());
    if let Some(n) = nonce {
        b = b.claim("nonce", n);
    }
    b.sign()
}

/// authorize on a deep link, then the callback: returns (callback event, nonce, verifier).
pub async fn start(config: &Arc<Config>) -> (LambdaEvent<Value>, FlowCookie) {
    let answer = run(
        HandlerKind::Authorize,
        config,
        event(kit::VIEWER_REQUEST, "/docs/deep.html", "tab=2", &[]),
    )
    .await;
    assert_eq!(answer["status"], "302");
    let location = &header(&answer, "location")[0];
    let state = query_param(location, "state");
    let set = &header(&answer, "set-cookie")[0];
    let pair = set.split(';').next().unwrap().to_owned();
    let flow = FlowCookie::decode(pair.split_once('=').unwrap().1).unwrap();
    (
        event(
            kit::VIEWER_REQUEST,
            "/_edge-auth/callback",
            &format!("code=auth-code-123&state={state}"),
            &[pair],
        ),
        flow,
    )
}

/// A function URL event as Lambda delivers it (the documented shape),
/// for a request CloudFront sent on: no viewer Host, the function URL's own.
pub fn function_url_event(path: &str, query: &str, cookies: &[String]) -> LambdaEvent<Value> {
    let event = json!({
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "cookies": cookies,
        "headers": {
            "accept": "text/html",
            "host": "abcdefgh.lambda-url.eu-west-1.on.aws",
            "sec-fetch-mode": "navigate",
            "sec-fetch-site": "same-origin",
            "user-agent": "Mozilla/5.0",
            "x-forwarded-proto": "https",
            "via": "2.0 abc.cloudfront.net (CloudFront)"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdefgh",
            "domainName": "abcdefgh.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abcdefgh",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "Mozilla/5.0"
            },
            "requestId": "fu-request-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "26/Nov/2026:05:00:00 +0000",
            "timeEpoch": 1795669200000_i64
        },
        "isBase64Encoded": false
    });
    let mut context = Context::default();
    context.request_id = "fu-request-1".into();
    LambdaEvent::new(event, context)
}
