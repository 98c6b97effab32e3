//! Session parsing and verification: never a panic, and nothing verifies
//! but sessions the deployment's key signed.
#![no_main]
use edge_auth_fuzz::{config, kit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let sessions = &config().sessions;
    if let Ok(claims) = sessions.verify(&token, kit::NOW) {
        // Only a session whose MAC is ours verifies: signing its claims
        // again gives the same token.
        assert_eq!(
            kit::signer().sign(&claims),
            token,
            "a session we did not sign verified"
        );
    }
    let _ = sessions.verify_untimed(&token);
});
