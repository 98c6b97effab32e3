//! Runs one handler once on an event file and prints its answer, with no
//! Lambda runtime around it:
//!
//! `edge-auth-invoke authorize crates/testkit/fixtures/viewer-request.json`
//!
//! config.json comes from `$EDGE_AUTH_CONFIG` or beside the binary, as for
//! the handlers. Logs go to stderr, the answer to stdout.
#![recursion_limit = "256"]

use std::process::ExitCode;

use edge_auth_lambda::{HandlerKind, HandlerState, handle_value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, event_path] = args.as_slice() else {
        eprintln!(
            "usage: edge-auth-invoke <authorize|index-path|signin|refresh|signout> <event.json>"
        );
        return ExitCode::from(2);
    };
    let Some(kind) = HandlerKind::from_name(name) else {
        eprintln!("unknown handler `{name}`");
        return ExitCode::from(2);
    };
    let event = match std::fs::read_to_string(event_path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(event) => event,
        Err(e) => {
            eprintln!("{event_path}: {e}");
            return ExitCode::from(2);
        }
    };
    let state = match HandlerState::load(kind) {
        Ok(state) => state,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(std::io::stderr)
        .try_init();
    match handle_value(&state, event, "local-invoke", None).await {
        Ok(answer) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&answer).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
