//! Properties over generated inputs: what must hold whatever an attacker sends.

use edge_auth_core::config::CookieSettings;
use edge_auth_core::cookies::{CookieNames, request_cookies, set_cookie};
use edge_auth_core::event::Headers;
use edge_auth_core::return_path::safe_return_path;
use edge_auth_testkit::{self as kit, NOW};
use proptest::prelude::*;

const SITE: &str = "https://docs.example.com/some/page";

/// Where a browser would go with `Location: <path>` on our site.
fn lands_on_our_host(path: &str) -> bool {
    let base = url::Url::parse(SITE).unwrap();
    match base.join(path) {
        Ok(target) => {
            target.scheme() == "https"
                && target.host_str() == Some("docs.example.com")
                && target.port().is_none()
        }
        Err(_) => false,
    }
}

/// Paths built from the pieces open-redirect payloads are made of.
fn hostile_path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("/".to_owned()),
        Just("\\".to_owned()),
        Just("%2F".to_owned()),
        Just("%2f".to_owned()),
        Just("%5C".to_owned()),
        Just("%252F".to_owned()),
        Just("%09".to_owned()),
        Just("%0a".to_owned()),
        Just("\t".to_owned()),
        Just("\r\n".to_owned()),
        Just(" ".to_owned()),
        Just("@".to_owned()),
        Just(":".to_owned()),
        Just("evil.example".to_owned()),
        Just("https:".to_owned()),
        Just("javascript:".to_owned()),
        Just("?".to_owned()),
        Just("#".to_owned()),
        Just(".".to_owned()),
        Just("%".to_owned()),
        Just("\u{3002}".to_owned()),
        Just("\u{FF0F}".to_owned()),
        "[a-z0-9]{1,5}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..10).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn accepted_return_paths_never_leave_the_host(path in hostile_path()) {
        if let Some(accepted) = safe_return_path(&path) {
            prop_assert!(lands_on_our_host(accepted), "{accepted:?} leaves the host");
        }
    }

    #[test]
    fn arbitrary_unicode_paths_never_leave_the_host(path in "/\\PC{0,40}") {
        if let Some(accepted) = safe_return_path(&path) {
            prop_assert!(lands_on_our_host(accepted), "{accepted:?} leaves the host");
        }
    }

    #[test]
    fn cookies_round_trip(value in "[A-Za-z0-9._~-]{1,200}", name in "[a-z]{1,10}") {
        let names = CookieNames::new(&CookieSettings::default());
        let header = set_cookie(&names, &name, &value, "/", 60);
        let pair = header.split(';').next().unwrap();
        let mut headers = Headers::default();
        headers.append("Cookie", format!("other=1; {pair}; last=2"));
        let parsed = request_cookies(&headers);
        prop_assert_eq!(parsed.iter().find(|(n, _)| *n == name).map(|(_, v)| *v), Some(value.as_str()));
    }

    #[test]
    fn cookie_parsing_is_total_and_bounded(header in "\\PC{0,300}") {
        let mut headers = Headers::default();
        headers.append("Cookie", header.clone());
        let parsed = request_cookies(&headers);
        prop_assert!(parsed.len() <= edge_auth_core::cookies::MAX_COOKIES);
        for (name, value) in parsed {
            prop_assert!(header.contains(name) && header.contains(value));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn any_changed_byte_invalidates_a_token(index in any::<prop::sample::Index>(), replacement in any::<u8>()) {
        let config = kit::config();
        let token = kit::id_token().sign();
        prop_assume!(config.verifier.verify(&token, NOW, None).is_ok());
        let mut bytes = token.clone().into_bytes();
        let at = index.index(bytes.len());
        prop_assume!(bytes[at] != replacement);
        bytes[at] = replacement;
        let changed = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(config.verifier.verify(&changed, NOW, None).is_err(), "byte {at} changed to {replacement} still verifies");
    }
}

/// The tokens a sandbox sees: valid ones of different users and lifetimes,
/// expired, not yet valid, forged, damaged.
fn token_pool() -> &'static [String] {
    static POOL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    POOL.get_or_init(signed_pool)
}

fn signed_pool() -> Vec<String> {
    let valid = kit::id_token().sign();
    let mut damaged = valid.clone().into_bytes();
    let at = damaged.len() - 5;
    damaged[at] ^= 1;
    vec![
        valid,
        kit::id_token().claim("exp", NOW + 120).sign(),
        kit::id_token()
            .claim("cognito:username", "admin")
            .claim("cognito:groups", serde_json::json!(["admins"]))
            .sign(),
        kit::id_token().claim("nbf", NOW + 60).sign(),
        kit::id_token().claim("exp", NOW - 1).sign(),
        kit::id_token().attacker_key().sign(),
        String::from_utf8_lossy(&damaged).into_owned(),
        "not.a.token".into(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever went through the cache before, and whenever, a cached
    /// decision is the uncached decision for the same token, time and path.
    #[test]
    fn a_cached_decision_is_the_uncached_decision(
        steps in prop::collection::vec((0usize..8, -200i64..4000, 0usize..4), 1..24),
    ) {
        use edge_auth_core::authorize::{authorize, authorize_with_cache};
        use edge_auth_core::token_cache::VerifiedTokenCache;
        use edge_auth_testkit::CountingEntropy;
        let config = kit::config();
        let pool = token_pool();
        let paths = ["/docs/", "/admin/", "/admin/x.html", "/_edge-auth/x"];
        let mut cache = VerifiedTokenCache::new();
        for (token, offset, path) in steps {
            let now = NOW.saturating_add_signed(offset);
            let cookie = format!("__Host-edge-auth-id={}", pool[token]);
            let (request, dist) = kit::viewer_request(paths[path], "", &[cookie]);
            let uncached = authorize(request.clone(), &dist, &config, now, &mut CountingEntropy(0));
            let cached = authorize_with_cache(request, &dist, &config, now, &mut CountingEntropy(0), Some(&mut cache));
            prop_assert_eq!(cached, uncached);
        }
        // The forged, damaged and malformed tokens never verify, so at most
        // the five others (valid at some time within the leeway) are kept.
        prop_assert!(cache.len() <= 5, "only tokens that verified are kept");
    }
}

/// The cache is bounded, and what failed is never in it.
#[test]
fn the_token_cache_is_bounded_and_keeps_only_what_verified() {
    use edge_auth_core::token_cache::{Lookup, MAX_ENTRIES, VerifiedTokenCache};
    let config = kit::config();
    let mut cache = VerifiedTokenCache::new();
    let forged = kit::id_token().attacker_key().sign();
    for _ in 0..3 {
        let (answer, lookup) = cache.verify(&config.verifier, &forged, NOW);
        assert!(answer.is_err());
        assert_eq!(
            lookup,
            Lookup::Miss,
            "a failure is verified again every time"
        );
    }
    assert!(cache.is_empty());
    let tokens: Vec<String> = (0..MAX_ENTRIES + 10)
        .map(|i| kit::id_token().claim("sub", format!("user-{i}")).sign())
        .collect();
    for token in &tokens {
        assert_eq!(cache.verify(&config.verifier, token, NOW).1, Lookup::Miss);
        assert_eq!(cache.verify(&config.verifier, token, NOW).1, Lookup::Hit);
    }
    assert_eq!(cache.len(), MAX_ENTRIES);
    // The oldest were replaced; the newest are still there.
    assert_eq!(
        cache.verify(&config.verifier, &tokens[0], NOW).1,
        Lookup::Miss
    );
    assert_eq!(
        cache
            .verify(&config.verifier, tokens.last().unwrap(), NOW)
            .1,
        Lookup::Hit
    );
    // A cached token still expires.
    let (late, lookup) = cache.verify(&config.verifier, tokens.last().unwrap(), NOW + 7200);
    assert_eq!(
        (late, lookup),
        (Err(edge_auth_core::token::TokenError::Expired), Lookup::Hit)
    );
}
