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
