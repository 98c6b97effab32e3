//! The token exchange's reading of a workload token (any bytes in
//! `X-Edge-Auth-Workload-Token`): never a panic, always a JSON answer, and
//! no service token minted but for the one genuine workload token.
#![no_main]
use edge_auth_core::HandlerOutput;
use edge_auth_core::exchange::{exchange_begin, exchange_complete};
use edge_auth_fuzz::{exchange_config, kit, valid_workload_token};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    let config = exchange_config();
    let (mut request, _) = kit::viewer_request("/_edge-auth/token", "", &[]);
    request
        .headers
        .append("X-Edge-Auth-Workload-Token", value.to_string());
    let outcome = match exchange_begin(&request, config) {
        Err(outcome) => *outcome,
        Ok(pending) => {
            let jwks: serde_json::Value = serde_json::from_str(kit::JWKS).unwrap();
            let signer = kit::signer();
            exchange_complete(
                pending,
                config,
                Some(&jwks),
                Some(&signer),
                kit::NOW,
                &mut kit::CountingEntropy(1),
            )
        }
    };
    let HandlerOutput::Respond(response) = &outcome.output else {
        panic!("the exchange forwarded a request")
    };
    let body: serde_json::Value =
        serde_json::from_str(response.body.as_deref().unwrap_or("")).expect("a JSON answer");
    if response.status == "200" {
        assert_eq!(value.trim(), valid_workload_token(), "a token we did not trust was exchanged");
        assert!(body["access_token"].is_string());
    } else {
        assert!(body["error"].is_string(), "{body}");
    }
});
