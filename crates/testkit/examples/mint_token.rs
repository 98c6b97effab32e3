//! Prints a test ID token valid at the tests' fixed clock (`kit::NOW`),
//! signed with the test key: `cargo run -p edge-auth-testkit --example mint_token`.
//! The fuzz corpus for `token_verify` is seeded with it.

fn main() {
    println!("{}", edge_auth_testkit::id_token().sign());
}
