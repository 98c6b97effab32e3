//! Starting the local edge as a new user does: a port that is taken names
//! the option that moves it and leaves nothing behind; a good start keeps
//! the client secret in a folder only its owner can read, and removes it on
//! Ctrl-C, SIGTERM and SIGHUP.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn edge_dev() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_edge-auth-dev"));
    command.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    command
}

fn workdir_of(pid: u32) -> PathBuf {
    std::env::temp_dir().join(format!("edge-auth-dev-{pid}"))
}

#[test]
fn a_port_in_use_names_the_option_and_leaves_nothing_behind() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    for (args, option) in [
        (vec!["--port", port.as_str(), "--idp-port", "0"], "--port"),
        (
            vec!["--port", "0", "--idp-port", port.as_str()],
            "--idp-port",
        ),
    ] {
        let child = edge_dev()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            stderr.contains(&format!("port {port} is in use")) && stderr.contains(option),
            "{stderr}"
        );
        assert!(!workdir_of(pid).exists(), "a failed start left its folder");
    }
}

/// Starts the local edge, checks its private folder, ends it with `signal`
/// and checks that the folder is gone.
#[cfg(unix)]
fn stopped_by(signal: &str) {
    use std::os::unix::fs::PermissionsExt;
    let mut child = edge_dev()
        .args(["--port", "0", "--idp-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let mut ready = false;
    while let Some(Ok(line)) = lines.next() {
        if line.starts_with("READY ") {
            ready = true;
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not ready in 30 s"
        );
    }
    assert!(ready, "edge-auth-dev exited before it was ready");
    let dir = workdir_of(pid);
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{}", dir.display());
    assert!(dir.join("client-secret.json").is_file());
    // The folder with the secret goes, however the process is asked to end.
    Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{signal}: {status}");
    assert!(!dir.exists(), "{signal} left {}", dir.display());
}

#[cfg(unix)]
#[test]
fn the_secret_folder_is_private_and_removed_on_ctrl_c() {
    stopped_by("INT");
}

#[cfg(unix)]
#[test]
fn the_secret_folder_is_removed_on_sigterm() {
    stopped_by("TERM");
}

#[cfg(unix)]
#[test]
fn the_secret_folder_is_removed_when_the_terminal_closes() {
    stopped_by("HUP");
}

/// The CloudFront Function's own decision line reaches the local edge's
/// log, as CloudFront sends it to CloudWatch Logs: a request under the auth
/// prefix that no endpoint serves is refused, and the line says so.
#[cfg(unix)]
#[test]
fn the_functions_decision_line_is_in_the_log() {
    use std::io::{Read, Write};
    let mut child = edge_dev()
        .args(["--port", "0", "--idp-port", "0", "--log-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (sender, lines) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let next = || lines.recv_timeout(Duration::from_secs(30)).ok();
    let ready = std::iter::from_fn(next)
        .find_map(|l| l.strip_prefix("READY ").map(str::to_owned))
        .expect("edge-auth-dev became ready");
    let ready: serde_json::Value = serde_json::from_str(&ready).unwrap();
    let site = ready["site"].as_str().unwrap();
    let address = site.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET /_edge-auth/nothing-here HTTP/1.1\r\nHost: {address}\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    let line = std::iter::from_fn(next)
        .find(|l| {
            l.contains("auth-path-not-found") && l.contains(r#""source":"cloudfront-function""#)
        })
        .expect("the function's line in the log");
    // The function's line is JSON inside the log's own JSON line.
    let outer: serde_json::Value = serde_json::from_str(&line).unwrap();
    let message = outer["message"]
        .as_str()
        .or(outer["fields"]["message"].as_str())
        .unwrap_or_default();
    let inner: serde_json::Value = serde_json::from_str(message).unwrap();
    assert_eq!(inner["decision"], "auth-path-not-found");
    assert_eq!(inner["path"], "/_edge-auth/nothing-here");
    assert_eq!(inner["status"], "404");
    assert_eq!(inner["detail"], "/_edge-auth/nothing-here");
    assert_eq!(inner["handler"], "function");
    assert!(inner["request_id"].as_str().is_some_and(|r| r.len() > 10));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}
