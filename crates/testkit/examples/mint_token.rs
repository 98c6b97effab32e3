//! Prints a test ID token valid at the tests' fixed clock (`kit::NOW`),
//! signed with the test key: `cargo run -p edge-auth-testkit --example mint_token [kind]`.
//! The fuzz corpus for `token_verify` is seeded with these. `kind`:
//! `valid` (default), `crit` (a `crit` header parameter), `azp-other`
//! (an `azp` of another client), `aud-list-azp` (several audiences, our
//! `azp`: it verifies, so it is no seed for `token_verify`, which accepts
//! only the plain valid token).

fn main() {
    let token = edge_auth_testkit::id_token();
    let token = match std::env::args().nth(1).as_deref().unwrap_or("valid") {
        "valid" => token,
        "crit" => token.header("crit", serde_json::json!(["exp"])),
        "azp-other" => token.claim("azp", "another-client"),
        "aud-list-azp" => token
            .claim(
                "aud",
                serde_json::json!([edge_auth_testkit::CLIENT_ID, "other"]),
            )
            .claim("azp", edge_auth_testkit::CLIENT_ID),
        other => {
            eprintln!("unknown kind {other}");
            std::process::exit(2);
        }
    };
    println!("{}", token.sign());
}
