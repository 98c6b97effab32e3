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

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Any change to a valid session, of any byte to any value, is refused
    /// (never accepted as another session), and refusing never panics.
    #[test]
    fn a_changed_session_never_verifies(at in 0usize..400, byte in any::<u8>()) {
        let config = kit::config();
        let session = kit::session();
        let mut bytes = session.clone().into_bytes();
        let at = at % bytes.len();
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        let changed = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(config.sessions.verify(&changed, NOW).is_err(), "{changed}");
    }

    /// A session verifies exactly when its key is in the verifier's set and
    /// the clock is within `iat`..`exp`: rotation keeps old sessions valid
    /// while their key is listed, and not a second after.
    #[test]
    fn a_session_verifies_while_its_key_is_listed(listed in any::<bool>(), offset in -4000i64..8000) {
        use edge_auth_core::session::{SessionSigner, SessionVerifier};
        let old = kit::session_key_file();
        let new = edge_auth_core::session::new_session_key("next", &mut edge_auth_testkit::CountingEntropy(9));
        let signed = SessionSigner::new(std::slice::from_ref(&old), &old.kid).unwrap().sign(&kit::session_claims());
        let keys = if listed { vec![new, old] } else { vec![new] };
        let verifier = SessionVerifier::new(&keys, 30).unwrap();
        let now = NOW.saturating_add_signed(offset);
        let claims = kit::session_claims();
        let in_time = now + 30 >= claims.iat && now < claims.exp;
        prop_assert_eq!(verifier.verify(&signed, now).is_ok(), listed && in_time);
    }
}
