//! Token parsing and verification: never a panic, and nothing verifies but
//! the one genuine token.
#![no_main]
use edge_auth_fuzz::{config, kit, valid_token};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let result = config().verifier.verify(&token, kit::NOW, None);
    if result.is_ok() {
        assert_eq!(token, valid_token(), "a token we did not sign verified");
    }
});
