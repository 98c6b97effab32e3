//! Session and service-token parsing and verification: never a panic,
//! and nothing verifies but what the deployment's key signed, as its type.
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
    // The same bytes as a service token: only one we signed as a token
    // verifies, and never the one a session verified as.
    if let Ok(claims) = sessions.verify_service_at(&token, kit::NOW, None, 366 * 86_400) {
        assert_eq!(
            kit::signer().sign_service(&claims),
            token,
            "a service token we did not sign verified"
        );
        assert!(sessions.verify(&token, kit::NOW).is_err(), "a token verified as a session");
    }
});
