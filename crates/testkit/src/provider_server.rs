//! A scripted OAuth provider on 127.0.0.1: answers each request with the next
//! scripted answer and records what it was sent. Real sockets, real HTTP.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub enum Answer {
    Json(u16, String),
    /// Wait this long, then answer.
    Slow(Duration, u16, String),
    /// Close the connection without answering.
    Hangup,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: String,
}

#[derive(Clone)]
pub struct ProviderServer {
    pub addr: SocketAddr,
    script: Arc<Mutex<VecDeque<Answer>>>,
    pub received: Arc<Mutex<Vec<Recorded>>>,
}

impl ProviderServer {
    /// Starts on an ephemeral port; lives as long as the runtime.
    pub async fn start(answers: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Self {
            addr: listener.local_addr().unwrap(),
            script: Arc::new(Mutex::new(answers.into())),
            received: Arc::default(),
        };
        let shared = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let shared = shared.clone();
                        async move { shared.answer(req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        server
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds an answer at the end of the script.
    pub fn push(&self, answer: Answer) {
        self.script.lock().unwrap().push_back(answer);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.received.lock().unwrap().clone()
    }

    async fn answer(
        &self,
        req: Request<hyper::body::Incoming>,
    ) -> Result<Response<Full<Bytes>>, std::io::Error> {
        let method = req.method().to_string();
        let path = req.uri().path().to_owned();
        let authorization = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        self.received.lock().unwrap().push(Recorded {
            method,
            path,
            authorization,
            body: String::from_utf8_lossy(&body).into(),
        });
        let next = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Answer::Json(500, "{}".into()));
        let (status, body) = match next {
            Answer::Json(status, body) => (status, body),
            Answer::Slow(delay, status, body) => {
                tokio::time::sleep(delay).await;
                (status, body)
            }
            Answer::Hangup => return Err(std::io::Error::other("scripted hang-up")),
        };
        Ok(Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap())
    }
}
