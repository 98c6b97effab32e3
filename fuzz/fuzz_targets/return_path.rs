//! The return-path validator: whatever it accepts keeps a browser on our host.
#![no_main]
use edge_auth_core::return_path::safe_return_path;
use edge_auth_fuzz::location_allowed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|path: &str| {
    if let Some(accepted) = safe_return_path(path) {
        assert_eq!(accepted, path);
        assert!(
            accepted.starts_with('/') && location_allowed(accepted),
            "{accepted:?} leaves the host"
        );
    }
});
