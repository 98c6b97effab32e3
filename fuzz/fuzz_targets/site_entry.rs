//! A site table's store entry and a `Host` as the store names it
//! (`edge_auth_core::sites`): never a panic; an entry that reads reads
//! back the same after writing; a host name holds only what a DNS name
//! may (so no `Host` builds a store key, or a redirect, of anything else).
#![no_main]
use edge_auth_core::sites::{SitePolicy, site_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(site) = SitePolicy::from_entry(text) {
        let again = SitePolicy::from_entry(&site.value(&[])).expect("a written entry reads");
        assert_eq!(again.id, site.id);
        assert_eq!(again.public, site.public);
        assert_eq!(again.rules.len(), site.rules.len());
        for (a, b) in again.rules.iter().zip(&site.rules) {
            assert_eq!(a.pattern, b.pattern);
            assert_eq!(a.groups, b.groups);
            assert_eq!(a.step_up, b.step_up);
        }
    }
    if let Some(key) = site_key(Some(text)) {
        let name = key.strip_prefix("site:").expect("named site:<host>");
        assert!(!name.is_empty() && name.len() <= 253);
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'),
            "{key}"
        );
    }
});
