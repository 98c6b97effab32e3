//! The CloudFront Function on the default behaviour (`authorizer =
//! "cloudfront-function"`): the very file the deploy tool publishes
//! (`cloudfront_function::render`), run by a Node.js child process in a
//! context with only what cloudfront-js-2.0 offers
//! (`cloudfront-functions-host.js`), its key value store a JSON file beside
//! it. Events and results cross as JSON lines, in CloudFront Functions'
//! event shape.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex as StdMutex};

use serde_json::{Value, json};

use crate::cloudfront::Answer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

const HOST: &str = include_str!("cloudfront-functions-host.js");
/// Node.js to run the function with (default `node` on the PATH).
pub const NODE_ENV: &str = "EDGE_AUTH_NODE";
/// CloudFront Functions' limit on a generated response's body.
const BODY_LIMIT: usize = 40 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ViewerFunctionError {
    #[error("could not write {0}: {1}")]
    Write(PathBuf, std::io::Error),
    #[error("could not start Node.js (`{0}`; set {NODE_ENV} or put node on the PATH): {1}")]
    Start(String, std::io::Error),
    #[error("the CloudFront Function did not load: {0}")]
    Load(String),
}

pub struct ViewerFunction {
    /// Events to the runtime; a reader task hands each answer to the
    /// request waiting for it by id, so a request the browser gives up on
    /// (its future dropped) leaves nothing out of step.
    sender: mpsc::UnboundedSender<(Value, oneshot::Sender<Value>)>,
    pub function_file: PathBuf,
    /// The key value store (a JSON object), which sign-out writes into.
    pub store_file: PathBuf,
    pub bytes: usize,
}

type Pending = Arc<StdMutex<HashMap<u64, oneshot::Sender<Value>>>>;

impl ViewerFunction {
    /// Writes `function` and its key value store into `dir` and starts the
    /// runtime.
    pub async fn start(
        dir: &Path,
        function: &str,
        store: &BTreeMap<String, String>,
    ) -> Result<Self, ViewerFunctionError> {
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .map(|()| path.clone())
                .map_err(|e| ViewerFunctionError::Write(path, e))
        };
        let function_file = write("viewer-request-function.js", function)?;
        let store_file = write(
            "key-value-store.json",
            &serde_json::to_string(store).unwrap_or_default(),
        )?;
        let host = write("cloudfront-functions-host.js", HOST)?;
        let node = std::env::var(NODE_ENV).unwrap_or_else(|_| "node".into());
        let mut child = Command::new(&node)
            .arg(&host)
            .arg(&function_file)
            .arg(&store_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ViewerFunctionError::Start(node.clone(), e))?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(ViewerFunctionError::Load("no pipes to the runtime".into()));
        };
        let mut stdout = BufReader::new(stdout).lines();
        match stdout.next_line().await {
            Ok(Some(line)) if line == "READY" => {}
            other => {
                return Err(ViewerFunctionError::Load(format!(
                    "the runtime said {other:?} (its error is above)"
                )));
            }
        }
        let pending: Pending = Arc::default();
        let waiting = pending.clone();
        tokio::spawn(async move {
            let _child = child;
            while let Ok(Some(line)) = stdout.next_line().await {
                let Ok(answer) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                // The function's own log line (its decision line), as
                // CloudWatch Logs would hold it.
                if let Some(log) = answer["log"].as_str() {
                    tracing::info!(source = "cloudfront-function", "{log}");
                    continue;
                }
                let id = answer["id"].as_u64().unwrap_or(0);
                let reply = waiting.lock().ok().and_then(|mut p| p.remove(&id));
                if let Some(reply) = reply {
                    let _ = reply.send(answer);
                }
            }
        });
        let (sender, mut events) = mpsc::unbounded_channel::<(Value, oneshot::Sender<Value>)>();
        tokio::spawn(async move {
            let mut next_id = 0u64;
            while let Some((event, reply)) = events.recv().await {
                next_id += 1;
                if let Ok(mut p) = pending.lock() {
                    p.insert(next_id, reply);
                }
                let line = format!("{}\n", json!({"id": next_id, "event": event}));
                if stdin.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            sender,
            function_file,
            store_file,
            bytes: function.len(),
        })
    }

    /// Runs the function on one event: its result (the request to forward,
    /// or a response), or why CloudFront would answer 503.
    pub async fn run(&self, event: &Value) -> Result<Value, String> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send((event.clone(), reply))
            .map_err(|_| "the runtime is gone".to_owned())?;
        let answer = tokio::time::timeout(std::time::Duration::from_secs(5), answer)
            .await
            .map_err(|_| "the function did not answer within 5 s".to_owned())?
            .map_err(|_| "the runtime is gone".to_owned())?;
        match answer.get("error") {
            Some(error) => Err(format!(
                "the function threw: {}",
                error.as_str().unwrap_or("")
            )),
            None => Ok(answer["result"].clone()),
        }
    }
}

/// A viewer request in CloudFront Functions' event shape: lower-case header
/// names, the Cookie header taken apart into `cookies`; the query string as
/// sent, which `cloudfront-functions-host.js` takes apart into
/// `querystring` as CloudFront does (names in the order they first appear,
/// values as sent, a repeated name's values as `multiValue`).
pub fn event(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    viewer_ip: &str,
    domain: &str,
) -> Value {
    fn add(map: &mut serde_json::Map<String, Value>, name: String, value: String) {
        match map.get_mut(&name) {
            None => {
                map.insert(name, json!({"value": value}));
            }
            Some(entry) => {
                if entry.get("multiValue").is_none() {
                    let first = entry["value"].clone();
                    entry["multiValue"] = json!([{"value": first}]);
                }
                if let Some(list) = entry["multiValue"].as_array_mut() {
                    list.push(json!({"value": value}));
                }
            }
        }
    }
    let mut header_map = serde_json::Map::new();
    let mut cookies = serde_json::Map::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            // Only SP and HTAB are shed (RFC 6265bis), so a name with
            // Unicode white space around it stays another name, as the
            // core reads it (`cookies::request_cookies`).
            use edge_auth_core::cookies::WSP;
            for pair in value.split(';').map(|p| p.trim_matches(WSP)) {
                if pair.is_empty() {
                    continue;
                }
                let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
                add(
                    &mut cookies,
                    n.trim_matches(WSP).to_owned(),
                    v.trim_matches(WSP).to_owned(),
                );
            }
        } else {
            add(&mut header_map, name, value.clone());
        }
    }
    json!({
        "version": "1.0",
        "context": {
            "distributionDomainName": domain,
            "distributionId": "EDEVEMULATOR",
            "eventType": "viewer-request",
            "requestId": crate::cloudfront::request_id(),
        },
        "viewer": {"ip": viewer_ip},
        "request": {
            "method": method,
            "uri": path,
            // The query as sent: the runtime host makes CloudFront's object
            // of it in the viewer's order (a JSON object here would arrive
            // with its names sorted).
            "querystring": query,
            "headers": header_map,
            "cookies": cookies,
        },
    })
}

/// What the function returned, as CloudFront takes it: a request (`uri`,
/// no `statusCode`) goes on to the origin; a response goes back to the
/// viewer, checked as CloudFront checks it.
pub enum FunctionResult {
    Forward { uri: String },
    Respond(Answer),
}

pub fn result(value: &Value) -> Result<FunctionResult, String> {
    if value.get("statusCode").is_none() {
        let uri = value["uri"].as_str().ok_or("a request without a uri")?;
        if !uri.starts_with('/') {
            return Err(format!("uri {uri:?} does not start with /"));
        }
        return Ok(FunctionResult::Forward {
            uri: uri.to_owned(),
        });
    }
    let status = value["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (200..=599).contains(s))
        .ok_or_else(|| format!("statusCode {} out of range", value["statusCode"]))?;
    let mut headers = Vec::new();
    for (name, entry) in value["headers"].as_object().into_iter().flatten() {
        let values: Vec<&Value> = match entry.get("multiValue").and_then(Value::as_array) {
            Some(list) => list.iter().map(|v| &v["value"]).collect(),
            None => vec![&entry["value"]],
        };
        for v in values {
            let v = v
                .as_str()
                .ok_or_else(|| format!("header {name} without a string value"))?;
            if v.contains(['\r', '\n']) {
                return Err(format!("header {name} has a line break"));
            }
            headers.push((name.clone(), v.to_owned()));
        }
    }
    for (name, entry) in value["cookies"].as_object().into_iter().flatten() {
        let attributes = entry["attributes"].as_str().unwrap_or("");
        let value = entry["value"].as_str().unwrap_or("");
        let cookie = if attributes.is_empty() {
            format!("{name}={value}")
        } else {
            format!("{name}={value}; {attributes}")
        };
        headers.push(("set-cookie".into(), cookie));
    }
    let body = match &value["body"] {
        Value::Null => Vec::new(),
        Value::String(text) => text.clone().into_bytes(),
        body => match (body["encoding"].as_str(), body["data"].as_str()) {
            (Some("text"), Some(data)) => data.as_bytes().to_vec(),
            (Some("base64"), Some(data)) => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_err(|e| format!("a base64 body that is not base64: {e}"))?
            }
            _ => return Err(format!("a body CloudFront cannot read: {body}")),
        },
    };
    if body.len() > BODY_LIMIT {
        return Err(format!("a body of {} bytes, over {BODY_LIMIT}", body.len()));
    }
    Ok(FunctionResult::Respond(Answer {
        status,
        headers,
        body,
    }))
}
