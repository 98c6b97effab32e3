//! Sign-out's write at the edge (`store::SessionStore`): against a stand-in
//! for the CloudFront KeyValueStore data plane on 127.0.0.1 (no AWS
//! emulator models it) that speaks its REST JSON, refuses a request not
//! signed with SigV4A, a write whose If-Match is not the store's ETag, and
//! answers ResourceNotFound for a missing key; and against the local
//! edge's JSON file.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use edge_auth_core::Revocation;
use edge_auth_provider::store::{STORE_ARN_VARIABLE, STORE_ENDPOINT_VARIABLE, SessionStore};

const ARN: &str =
    "arn:aws:cloudfront::123456789012:key-value-store/0a1b2c3d-0000-4000-8000-000000000001";

#[derive(Default)]
struct Store {
    items: BTreeMap<String, String>,
    version: u64,
    /// Writes another writer makes between a reader's read and its write.
    interlopers: u32,
    calls: Vec<String>,
}

fn serve(store: Arc<Mutex<Store>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap_or("").to_owned(),
                parts.next().unwrap_or("").to_owned(),
            );
            let mut headers = BTreeMap::new();
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let length: usize = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let (status, etag, error, answer) = answer(&store, &method, &path, &headers, &body);
            let mut stream = stream;
            let text = answer.to_string();
            let mut head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                text.len()
            );
            if let Some(etag) = etag {
                head.push_str(&format!("etag: {etag}\r\n"));
            }
            if let Some(error) = error {
                head.push_str(&format!("x-amzn-errortype: {error}\r\n"));
            }
            let _ = stream.write_all(format!("{head}\r\n{text}").as_bytes());
        }
    });
    url
}

fn answer(
    store: &Mutex<Store>,
    method: &str,
    path: &str,
    headers: &BTreeMap<String, String>,
    body: &[u8],
) -> (u16, Option<String>, Option<&'static str>, serde_json::Value) {
    use serde_json::json;
    let mut store = store.lock().unwrap();
    if !headers
        .get("authorization")
        .is_some_and(|a| a.starts_with("AWS4-ECDSA-P256-SHA256"))
    {
        return (
            403,
            None,
            Some("AccessDeniedException"),
            json!({"message": "SigV4A only"}),
        );
    }
    let decoded = percent_decode(path);
    let Some(rest) = decoded.strip_prefix(&format!("/key-value-stores/{ARN}")) else {
        return (
            404,
            None,
            Some("ResourceNotFoundException"),
            json!({"message": "no store"}),
        );
    };
    let size = |s: &Store| {
        s.items
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
    };
    let etag = format!("E{}", store.version);
    match (method, rest.strip_prefix("/keys/")) {
        ("GET", None) => {
            store.calls.push("DescribeKeyValueStore".into());
            (
                200,
                Some(etag),
                None,
                json!({"KvsARN": ARN, "Created": 1_764_633_600, "ItemCount": store.items.len(), "TotalSizeInBytes": size(&store)}),
            )
        }
        ("GET", Some(key)) => {
            store.calls.push("GetKey".into());
            match store.items.get(key) {
                Some(value) => (
                    200,
                    None,
                    None,
                    json!({"Key": key, "Value": value, "ItemCount": store.items.len(), "TotalSizeInBytes": size(&store)}),
                ),
                None => (
                    404,
                    None,
                    Some("ResourceNotFoundException"),
                    json!({"message": "no key"}),
                ),
            }
        }
        ("PUT", Some(key)) => {
            store.calls.push("PutKey".into());
            if store.interlopers > 0 {
                store.interlopers -= 1;
                store.version += 1;
            }
            if headers.get("if-match") != Some(&format!("E{}", store.version)) {
                return (
                    409,
                    None,
                    Some("ConflictException"),
                    json!({"message": "the store changed"}),
                );
            }
            let value: serde_json::Value = serde_json::from_slice(body).unwrap();
            store
                .items
                .insert(key.to_owned(), value["Value"].as_str().unwrap().to_owned());
            store.version += 1;
            let etag = format!("E{}", store.version);
            (
                200,
                Some(etag),
                None,
                json!({"ItemCount": store.items.len(), "TotalSizeInBytes": size(&store)}),
            )
        }
        _ => (
            400,
            None,
            Some("ValidationException"),
            json!({"message": "unknown call"}),
        ),
    }
}

fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&path[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn revocation(up_to: u64) -> Revocation {
    Revocation {
        sub: "user-1".into(),
        up_to,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_raises_the_revocation_and_never_lowers_it() {
    let store = Arc::new(Mutex::new(Store::default()));
    let url = serve(store.clone());
    // SAFETY: this test alone in its binary sets these before any read.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_REGION", "eu-north-1");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var(STORE_ENDPOINT_VARIABLE, &url);
        std::env::remove_var(STORE_ARN_VARIABLE);
    }
    // No store named: the Lambda@Edge arrangement writes nothing.
    assert!(SessionStore::from_env().await.is_none());
    unsafe { std::env::set_var(STORE_ARN_VARIABLE, ARN) };
    let aws = SessionStore::from_env().await.expect("a store");

    let done = aws.raise(&revocation(1_000)).await.unwrap();
    assert_eq!(done, "revoked:user-1 raised from none to 1000");
    // An earlier session's sign-out leaves a later cut-off (an operator's
    // `revoke`) where it is.
    let done = aws.raise(&revocation(900)).await.unwrap();
    assert_eq!(done, "revoked:user-1 already at 1000");
    assert_eq!(store.lock().unwrap().items["revoked:user-1"], "1000");
    // Another writer between the read and the write: read again, then write.
    store.lock().unwrap().interlopers = 1;
    let done = aws.raise(&revocation(1_100)).await.unwrap();
    assert_eq!(done, "revoked:user-1 raised from 1000 to 1100");
    // A value that is not a number (written by hand) is replaced.
    store
        .lock()
        .unwrap()
        .items
        .insert("revoked:user-1".into(), "soon".into());
    let done = aws.raise(&revocation(1_200)).await.unwrap();
    assert_eq!(done, "revoked:user-1 raised from soon to 1200");
    // Others writing all the time: a bounded number of tries, then an error.
    store.lock().unwrap().interlopers = 100;
    let error = aws.raise(&revocation(1_300)).await.unwrap_err().to_string();
    assert!(
        error.contains("changed under each of 4 attempts"),
        "{error}"
    );
    let calls = store.lock().unwrap().calls.clone();
    assert_eq!(&calls[..3], ["DescribeKeyValueStore", "GetKey", "PutKey"]);
    // A store that is not there: the call's error, said.
    unsafe {
        std::env::set_var(
            STORE_ARN_VARIABLE,
            "arn:aws:cloudfront::123456789012:key-value-store/0a1b2c3d-0000-4000-8000-000000000002",
        )
    };
    let missing = SessionStore::from_env().await.unwrap();
    let error = missing.raise(&revocation(1)).await.unwrap_err().to_string();
    assert!(error.contains("ResourceNotFound"), "{error}");
}

#[tokio::test]
async fn the_local_edge_s_store_file_is_raised_and_replaced_whole() {
    let dir = std::env::temp_dir().join(format!("edge-auth-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("key-value-store.json");
    std::fs::write(&path, r#"{"key:k1":"AAAA"}"#).unwrap();
    let file = SessionStore::File(path.clone());
    assert_eq!(
        file.raise(&revocation(50)).await.unwrap(),
        "revoked:user-1 raised from none to 50"
    );
    assert_eq!(
        file.raise(&revocation(40)).await.unwrap(),
        "revoked:user-1 already at 50"
    );
    let written: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(written["key:k1"], "AAAA");
    assert_eq!(written["revoked:user-1"], "50");
    std::fs::write(&path, "not json").unwrap();
    let error = file.raise(&revocation(60)).await.unwrap_err().to_string();
    assert!(error.contains("key-value-store.json"), "{error}");
}
