//! The sign-in callback: any query string and cookies, then any answer from
//! the token endpoint (status and bytes), or a failure to get one.
#![no_main]
use arbitrary::Arbitrary;
use edge_auth_core::flow::FlowCookie;
use edge_auth_core::provider::ProviderOutcome;
use edge_auth_core::signin::{signin_begin, signin_complete};
use edge_auth_core::{HandlerOutput, Step};
use edge_auth_fuzz::{ORIGIN_LIMIT, check, config, kit, nonce_token, viewer_request};
use libfuzzer_sys::fuzz_target;

const STATE: &str = "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS";

#[derive(Arbitrary, Debug)]
struct Input {
    query: String,
    cookies: String,
    /// Use a real flow cookie and its state, so the provider call is reached.
    real_flow: bool,
    code: String,
    return_to: String,
    answer: Answer,
}

#[derive(Arbitrary, Debug)]
enum Answer {
    Bytes {
        status: u16,
        body: Vec<u8>,
    },
    TokenWithNonce {
        nonce_matches: bool,
        refresh: Option<String>,
    },
    TimedOut,
    Unreachable,
    CredentialsUnavailable,
}

/// The refresh token (stored in a cookie) and the return path (the final
/// `Location`) are repeated by design, so a fuzzer-chosen one that spells the
/// code marker is no echo of the code: keep the marker's `~` out of them (CI
/// found the refresh token `[[~code~[[[…` with the code `~code~[[[…`).
fn unmarked(s: String) -> String {
    s.replace('~', "")
}

fuzz_target!(|input: Input| {
    let mut cookies = vec![input.cookies.clone()];
    let mut query = input.query.clone();
    // A marker no page or header of ours contains, so "the code is never
    // echoed" cannot be confused with a fuzzer-chosen code that happens to
    // spell our own text (it found `html; charset=ut`).
    let code = format!("~code~{}", input.code);
    let nonce = "n".repeat(43);
    if input.real_flow {
        let flow = FlowCookie {
            issued_at: kit::NOW,
            verifier: "v".repeat(43),
            nonce: nonce.clone(),
            return_to: unmarked(input.return_to.clone()),
            forced: false,
            site: None,
            branch: None,
        };
        cookies.push(format!(
            "__Host-edge-auth-flow-{STATE}={}",
            flow.seal(STATE, config())
        ));
        let params =
            edge_auth_core::query::encode_form([("code", code.as_str()), ("state", STATE)]);
        query = format!("{params}&{query}");
    }
    let (request, dist) = viewer_request("/_edge-auth/callback", &query, &cookies);
    let output = match signin_begin(&request, &dist, config(), kit::NOW) {
        Step::Done(out) => out.output,
        Step::Call { pending, .. } => {
            let outcome = match input.answer {
                Answer::Bytes { status, body } => ProviderOutcome::Answered { status, body },
                Answer::TokenWithNonce {
                    nonce_matches,
                    refresh,
                } => {
                    let id = nonce_token(nonce_matches);
                    let refresh = refresh.map(unmarked);
                    let body = serde_json::json!({ "id_token": id, "refresh_token": refresh })
                        .to_string()
                        .into_bytes();
                    ProviderOutcome::Answered { status: 200, body }
                }
                Answer::TimedOut => ProviderOutcome::TimedOut,
                Answer::Unreachable => ProviderOutcome::Unreachable,
                Answer::CredentialsUnavailable => ProviderOutcome::CredentialsUnavailable,
            };
            signin_complete(
                pending,
                config(),
                kit::keys(config()),
                kit::NOW,
                &mut kit::CountingEntropy(3),
                &outcome,
            )
            .output
        }
    };
    // The authorization code never comes back, in a page or a header.
    check(&output, ORIGIN_LIMIT, &[code.as_str()]);
    if let HandlerOutput::Respond(r) = &output {
        assert!(r.headers.first("cache-control").is_some());
    }
});
