//! One decision, two languages: the CloudFront Function rendered from the
//! configuration (`cloudfront_function::render`) against `core::authorize`,
//! on the same random requests (paths with every kind of encoding, methods,
//! Fetch Metadata, valid, expired, future, forged, foreign and malformed
//! sessions, several at once, the clock), plus the authorize bad-input
//! paths. Any difference fails.
//!
//! The function runs in a real JavaScript engine: Node.js always, and
//! Debian's njs (the engine CloudFront Functions' runtime shares its dialect
//! with) when `EDGE_AUTH_CF_RUNTIMES` names it (`node,njs` in CI). Only the
//! `cloudfront` module is stood in for: its key value store, holding the
//! session keys. Cases: `EDGE_AUTH_CF_CASES` (default 100,000).

use std::path::{Path, PathBuf};
use std::process::Command;

use edge_auth_core::cloudfront_function::{
    MAX_FUNCTION_BYTES, key_value_store, render, render_checked, start_path,
};
use edge_auth_core::config::DEFAULT_MAX_SESSION_SECONDS;
use edge_auth_core::function_probe::{self as probe, function_answer_at};
use edge_auth_core::session::{SessionClaims, SessionError, SessionKeyFile, SessionSigner};
use edge_auth_core::sites::{SitePolicy, site_key};
use edge_auth_core::{Config, HandlerOutput};
use edge_auth_testkit::{self as kit, NOW};
use serde_json::{Value, json};

const OTHER_KID: &str = "next-key";
const OTHER_KEY: &str = "ERERERERERERERERERERERERERERERERERERERERERE";

fn config() -> Config {
    let mut value = kit::config_value("https://auth.example.com");
    value["session"]["keys"] = json!([
        {"kid": kit::SESSION_KID, "key": kit::SESSION_KEY},
        // Retiring: every session it signed expires by NOW + 300.
        {"kid": OTHER_KID, "key": OTHER_KEY, "not_after": NOW + 300},
    ]);
    value["rules"] = json!([
        {"pattern": "/admin/*", "groups": ["admins"]},
        {"pattern": "/docs/private/?*", "groups": ["readers", "admins"]},
        {"pattern": "*.secret", "groups": ["auditors"]},
        // Step-ups: a recent sign-in, a second factor, both.
        {"pattern": "/ops/*", "groups": ["admins", "readers"], "max_auth_age_seconds": 900},
        {"pattern": "/vault/*", "groups": ["auditors", "admins"], "mfa": true},
        {"pattern": "*.key", "groups": ["readers"], "max_auth_age_seconds": 600, "mfa": true},
        {"pattern": "/é/*", "groups": ["admins"]},
        // Rules that a public pattern, the index rewrite or S3's reading
        // of `+` could dodge.
        {"pattern": "/assets/internal/*", "groups": ["admins"]},
        {"pattern": "/reports/index.html", "groups": ["auditors"]},
        {"pattern": "*/x y*", "groups": ["readers"]},
    ]);
    value["paths"] =
        json!({"public": ["/signed-out.html", "/favicon.ico", "/assets/*", "/*.css", "/pub?ic/*"]});
    value["tokens"] = json!({"max_lifetime_seconds": TOKEN_MAX});
    value["shares"] = json!({"max_lifetime_seconds": SHARE_MAX});
    let mut config = kit::config_from(value);
    // `edge-auth-deploy revoke`: user-2's sessions (issued at NOW - 60
    // below) are revoked, user-3's were revoked before they were issued.
    config.sessions.revoke(REVOKED, NOW - 30);
    config.sessions.revoke(REVOKED_EARLIER, NOW - 90);
    // The boundary: revoked at the very second the session was issued.
    config.sessions.revoke(REVOKED_AT_ISSUE, NOW - 60);
    config
}

const REVOKED_AT_ISSUE: &str = "user-4";

/// The longest service token the test deployment takes (a week).
const TOKEN_MAX: u64 = 7 * 86_400;

/// A service token (`Authorization: Bearer`): valid ones of our keys,
/// and the hostile variants: too long lived, expired, a session offered
/// as one, another key's, damaged, not a token at all.
fn random_token(rng: &mut Rng, provider_token: &str) -> String {
    let groups: Vec<String> = ["admins", "readers", "auditors"]
        .iter()
        .filter(|_| rng.chance(40))
        .map(|g| g.to_string())
        .collect();
    let mut claims = SessionClaims {
        sub: (*rng.pick(&["token:ci-1", "token:ci-2", REVOKED, REVOKED_AT_ISSUE])).to_owned(),
        name: "ci-linkcheck".into(),
        groups,
        sid: "tok-1".into(),
        iat: NOW - 60,
        exp: NOW + 3600,
        auth_time: None,
        idp_auth_time: *rng.pick(&[None, None, Some(NOW - 100)]),
        mfa: *rng.pick(&[None, None, Some(true)]),
        site: rng
            .pick(&[None, Some("docs"), Some("status"), Some("handbook")])
            .map(str::to_owned),
    };
    let service =
        |claims: &SessionClaims, kid: &str, key: &str| signer_of(kid, key).sign_service(claims);
    match rng.below(12) {
        0..=4 => service(&claims, kit::SESSION_KID, kit::SESSION_KEY),
        // At the longest a token may live, and a second over.
        5 => {
            claims.exp = claims.iat + TOKEN_MAX + rng.below(2) as u64;
            service(&claims, kit::SESSION_KID, kit::SESSION_KEY)
        }
        // Expiring around now.
        6 => {
            claims.exp = NOW + rng.below(3) as u64 - 1;
            service(&claims, kit::SESSION_KID, kit::SESSION_KEY)
        }
        // A session offered as a token (and below, a token as a session).
        7 => random_session(rng, provider_token),
        8 => service(&claims, OTHER_KID, OTHER_KEY),
        9 => service(&claims, kit::SESSION_KID, OTHER_KEY),
        10 => provider_token.to_owned(),
        _ => rng.pick(&["", "a.b.c", " ", "e30.e30.e30"]).to_string(),
    }
}

/// The longest shared link the test deployment takes (two days).
const SHARE_MAX: u64 = 2 * 86_400;
/// The shared links' cookie, host-only and path-scoped (`__Secure-`).
const SHARE_COOKIE: &str = "__Secure-edge-auth-share";

/// A shared link's token: valid ones of our keys for patterns the random
/// paths fall under or next to (`*` and `?`, a folder, one file), and the
/// hostile variants: too long lived, expired, revoked, another key's, a
/// pattern that is not a string or absent, a session or a service token
/// offered as a link, damaged.
fn random_share(rng: &mut Rng, provider_token: &str) -> String {
    let groups: Vec<String> = ["admins", "readers", "auditors"]
        .iter()
        .filter(|_| rng.chance(50))
        .map(|g| g.to_string())
        .collect();
    let mut claims = SessionClaims {
        sub: (*rng.pick(&["share:s-1", "share:s-2", "share:gone", REVOKED])).to_owned(),
        name: (*rng.pick(&["shared link", "<b>guest</b> & co"])).to_owned(),
        groups,
        sid: "shr-1".into(),
        iat: NOW - 60,
        exp: NOW + 3600,
        auth_time: None,
        idp_auth_time: None,
        mfa: None,
        site: rng
            .pick(&[None, Some("docs"), Some("status"), Some("handbook")])
            .map(str::to_owned),
    };
    let path = (*rng.pick(&[
        "/admin/*",
        "/docs/*",
        "/docs/private/*",
        "/reports/*",
        "/reports/index.html",
        "/*",
        "/a?b/*",
        "/é/*",
        "/x y*",
        "/vault/*",
        "/ops/*",
    ]))
    .to_owned();
    let share = |claims: &SessionClaims, path: &str, kid: &str, key: &str| {
        signer_of(kid, key).sign_share(claims, path)
    };
    let header = json!({"alg": "HS256", "typ": "edge-auth-share", "kid": kit::SESSION_KID});
    let key = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        kit::SESSION_KEY,
    )
    .unwrap();
    let mut raw = serde_json::to_value(&claims).unwrap();
    match rng.below(14) {
        0..=5 => share(&claims, &path, kit::SESSION_KID, kit::SESSION_KEY),
        6 => {
            claims.exp = claims.iat + SHARE_MAX + rng.below(2) as u64;
            share(&claims, &path, kit::SESSION_KID, kit::SESSION_KEY)
        }
        7 => {
            claims.exp = NOW + rng.below(3) as u64 - 1;
            share(&claims, &path, kit::SESSION_KID, kit::SESSION_KEY)
        }
        8 => share(&claims, &path, kit::SESSION_KID, OTHER_KEY),
        // The pattern absent, or not a string.
        9 => {
            raw["path"] = rng
                .pick(&[json!(null), json!(5), json!(["/docs/*"])])
                .clone();
            if rng.chance(30) {
                raw.as_object_mut().unwrap().remove("path");
            }
            signed_raw(&header, &raw.to_string(), &key)
        }
        10 => random_session(rng, provider_token),
        11 => random_token(rng, provider_token),
        12 => provider_token.to_owned(),
        _ => rng.pick(&["", "a.b.c", "e30.e30.e30"]).to_string(),
    }
}

const REVOKED: &str = "user-2";
const REVOKED_EARLIER: &str = "user-3";

/// xorshift64*: the same cases on every machine for a given seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const SEGMENTS: &[&str] = &[
    "docs",
    "admin",
    "%61dmin",
    "ADMIN",
    "admin%2F",
    "_edge-auth",
    "%5Fedge-auth",
    "_edge%2Dauth",
    "start",
    "refresh",
    "signed-out.html",
    "favicon.ico",
    "assets",
    "x.css",
    "a.secret",
    "private",
    "ops",
    "vault",
    "id.key",
    "p",
    "public",
    "pubXic",
    "a b",
    "%20",
    "%zz",
    "%",
    "%4",
    "%C3%A9",
    "é",
    "%E2%82",
    "%ED%A0%80",
    "%C0%AF",
    "..",
    ".",
    "%2e%2e",
    "%2E",
    "\\",
    "%5C",
    "%00",
    "%7F",
    "%C2%85",
    "%C2%A0",
    "",
    "index.html",
    "%2F",
    "a%2Fb",
    "*",
    "%2A",
    "日本",
    "%F0%9F%98%80",
    "~user",
    "a;b",
    "a+b",
    "%2B",
    "reports",
    "internal",
    "x+y",
    "x y",
    "x%20y.css",
    "x+y.css",
];

fn random_uri(rng: &mut Rng) -> String {
    let mut uri = String::new();
    for _ in 0..1 + rng.below(4) {
        uri.push('/');
        let segment: &&str = rng.pick(SEGMENTS);
        uri.push_str(segment);
    }
    if rng.chance(25) {
        uri.push('/');
    }
    if rng.chance(5) {
        uri = format!("/{uri}");
    }
    uri
}

fn sign(claims: &SessionClaims, kid: &str, key: &str) -> String {
    signer_of(kid, key).sign(claims)
}

/// The signer of key `kid` with material `key` (ours, another's, forged).
fn signer_of(kid: &str, key: &str) -> SessionSigner {
    let file = SessionKeyFile {
        kid: kid.into(),
        key: key.into(),
        not_after: None,
    };
    SessionSigner::new(&[file], kid).unwrap()
}

/// A session of our key over hand-written claims.
fn signed_raw(header: &Value, claims: &str, key: &[u8]) -> String {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.as_bytes())
    );
    let tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key),
        input.as_bytes(),
    );
    format!("{input}.{}", b64(tag.as_ref()))
}

fn random_session(rng: &mut Rng, provider_token: &str) -> String {
    let groups: Vec<String> = ["admins", "readers", "auditors", "other"]
        .iter()
        .filter(|_| rng.chance(35))
        .map(|g| g.to_string())
        .collect();
    let offset = |rng: &mut Rng| rng.below(7200) as i64 - 3600;
    let sub = (*rng.pick(&[
        "user-1",
        "user-1",
        REVOKED,
        REVOKED_EARLIER,
        REVOKED_AT_ISSUE,
    ]))
    .to_owned();
    let mut claims = SessionClaims {
        sub,
        // The 403 page names the user: escaped, control characters dropped.
        name: (*rng.pick(&[
            "alice",
            "",
            "<b>Bob & \"Eve\"</b> O'Neil",
            "a\u{1}b\u{7f}c\u{85}",
            "é $& @@G@@",
        ]))
        .to_owned(),
        groups,
        sid: format!("sid-{}", rng.below(1000)),
        iat: NOW - 60,
        exp: NOW + 600,
        // The per-request check does not read the sign-in time (refresh
        // does): absent, ordinary, in the future, or past every clock.
        auth_time: *rng.pick(&[None, Some(NOW - 7200), Some(NOW + 86_400), Some(u64::MAX)]),
        // The step-ups read these: absent, recent, each side of 600 and
        // 900 seconds ago, in the future; a second factor or not.
        idp_auth_time: *rng.pick(&[
            None,
            Some(NOW - 100),
            Some(NOW - 600),
            Some(NOW - 601),
            Some(NOW - 900),
            Some(NOW - 901),
            Some(NOW + 50),
        ]),
        mfa: *rng.pick(&[None, Some(true), Some(false)]),
        // With a site table, the site a session was issued for; without,
        // a claim no one reads.
        site: rng
            .pick(&[None, None, Some("handbook"), Some("docs"), Some("status")])
            .map(str::to_owned),
    };
    let ours = [0x5eu8; 32];
    let header = json!({"alg": "HS256", "kid": kit::SESSION_KID, "typ": "edge-auth-session"});
    match rng.below(23) {
        0..=5 => sign(&claims, kit::SESSION_KID, kit::SESSION_KEY),
        // The retiring key, its deadline and a second either side.
        6 => {
            claims.exp = *rng.pick(&[NOW + 299, NOW + 300, NOW + 301, NOW + 600]);
            sign(&claims, OTHER_KID, OTHER_KEY)
        }
        7 => {
            claims.exp = NOW.saturating_add_signed(offset(rng));
            sign(&claims, kit::SESSION_KID, kit::SESSION_KEY)
        }
        8 => {
            claims.exp = NOW + rng.below(3) as u64 - 1;
            sign(&claims, kit::SESSION_KID, kit::SESSION_KEY)
        }
        // Longer than the site issues (a day without session.lifetime_seconds):
        // at the bound and one second over.
        21 => {
            claims.exp = claims.iat + DEFAULT_MAX_SESSION_SECONDS + rng.below(2) as u64;
            sign(&claims, kit::SESSION_KID, kit::SESSION_KEY)
        }
        9 => {
            claims.iat = NOW + 25 + rng.below(10) as u64;
            claims.exp = NOW + 3600;
            sign(&claims, kit::SESSION_KID, kit::SESSION_KEY)
        }
        10 => sign(&claims, "rotated-away", kit::SESSION_KEY),
        11 => sign(&claims, kit::SESSION_KID, OTHER_KEY),
        12 => {
            let mut s = sign(&claims, kit::SESSION_KID, kit::SESSION_KEY).into_bytes();
            let at = rng.below(s.len());
            s[at] = *rng.pick(b"AZaz09-_.");
            String::from_utf8(s).unwrap()
        }
        13 => provider_token.to_owned(),
        14 => rng.pick(&["", "a.b.c", "x", "..", "e30.e30.e30", "null"]).to_string(),
        15 => {
            claims.name = "x".repeat(4000 + rng.below(200));
            sign(&claims, kit::SESSION_KID, kit::SESSION_KEY)
        }
        16 => signed_raw(
            rng.pick(&[
                json!({"alg": "none", "kid": kit::SESSION_KID, "typ": "edge-auth-session"}),
                json!({"alg": "HS512", "kid": kit::SESSION_KID, "typ": "edge-auth-session"}),
                json!({"alg": "HS256", "kid": kit::SESSION_KID}),
                json!({"alg": "HS256", "kid": kit::SESSION_KID, "typ": "JWT"}),
                json!({"alg": "HS256", "kid": kit::SESSION_KID, "typ": "edge-auth-session", "crit": ["exp"]}),
                json!({"alg": "HS256", "kid": 7, "typ": "edge-auth-session"}),
                json!({"alg": "HS256", "typ": "edge-auth-session"}),
            ]),
            r#"{"sub":"u","name":"n","groups":["admins"],"sid":"s","iat":1799999000,"exp":1800003600}"#,
            &ours,
        ),
        17 => {
            let claims: &&str = rng.pick(&[
                r#"{"sub":"","name":"n","groups":[],"sid":"s","iat":1799999000,"exp":1800003600}"#,
                r#"{"sub":"u","name":"n","groups":"admins","sid":"s","iat":1799999000,"exp":1800003600}"#,
                r#"{"sub":"u","groups":[],"sid":"s","iat":1799999000,"exp":1800003600}"#,
                r#"{"sub":"u","name":"n","groups":[],"sid":"","iat":1799999000,"exp":1800003600}"#,
                r#"{"sub":"u","name":"n","groups":[],"sid":"s","iat":-1,"exp":1800003600}"#,
                r#"{"sub":"u","name":"n","groups":[1],"sid":"s","iat":1799999000,"exp":1800003600}"#,
                r#"{"sub":"u","name":"n","groups":["admins"],"sid":"s","iat":"1799999000","exp":1800003600}"#,
                r#"{"sub":"u","name":"n","groups":["admins"],"sid":"s","iat":1799999000,"exp":1800003600,"extra":true}"#,
                r#"[1,2]"#,
                r#"{"sub":"u","name":"n","groups":["admins"],"sid":"s","iat":1799999000,"exp":1800000000}"#,
                // The step-up claims: null is absent; a wrong type or a
                // number JavaScript cannot hold exactly is no session.
                r#"{"sub":"u","name":"n","groups":["admins"],"sid":"s","iat":1799999000,"exp":1800003600,"idp_auth_time":null,"mfa":null}"#,
                r#"{"sub":"u","name":"n","groups":["admins"],"sid":"s","iat":1799999000,"exp":1800003600,"idp_auth_time":"1799999000"}"#,
                r#"{"sub":"u","name":"n","groups":["admins"],"sid":"s","iat":1799999000,"exp":1800003600,"idp_auth_time":1799999000.5}"#,
                r#"{"sub":"u","name":"n","groups":["admins"],"sid":"s","iat":1799999000,"exp":1800003600,"idp_auth_time":9007199254740992}"#,
                r#"{"sub":"u","name":"n","groups":["auditors"],"sid":"s","iat":1799999000,"exp":1800003600,"mfa":"true"}"#,
                r#"{"sub":"u","name":"n","groups":["auditors"],"sid":"s","iat":1799999000,"exp":1800003600,"mfa":1}"#,
                r#"{"sub":"u","name":"n","groups":["auditors"],"sid":"s","iat":1799999000,"exp":1800003600,"mfa":true}"#,
                // The site claim: a string or absent (null).
                r#"{"sub":"u","name":"n","groups":["admins"],"sid":"s","iat":1799999000,"exp":1800003600,"site":7}"#,
                r#"{"sub":"u","name":"n","groups":["admins"],"sid":"s","iat":1799999000,"exp":1800003600,"site":null}"#,
                r#"{"sub":"u","name":"n","groups":["admins"],"sid":"s","iat":1799999000,"exp":1800003600,"site":"handbook"}"#,
                r#"{"sub":"u","name":"n","groups":["admins"],"sid":"s","iat":1799999000,"exp":1800003600,"site":["handbook"]}"#,
            ]);
            signed_raw(&header, claims, &ours)
        }
        _ => {
            // A valid session with its claims or signature swapped in from another.
            let a = sign(&claims, kit::SESSION_KID, kit::SESSION_KEY);
            claims.groups = vec!["admins".into()];
            let b = sign(&claims, kit::SESSION_KID, kit::SESSION_KEY);
            let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
            format!("{}.{}.{}", pa[0], pb[1], pa[2])
        }
    }
}

struct Case {
    method: String,
    uri: String,
    /// `name=value` pairs with distinct names: what survives CloudFront
    /// Functions' query object unchanged.
    query: Vec<(String, String)>,
    headers: Vec<(&'static str, String)>,
    cookies: Vec<(String, String)>,
    now: u64,
}

fn random_case(rng: &mut Rng, provider_token: &str, hosts: &[&str]) -> Case {
    let method = rng
        .pick(&["GET", "GET", "GET", "GET", "HEAD", "POST", "OPTIONS"])
        .to_string();
    let mut headers = Vec::new();
    // Nine in ten requests name a host (a request without one reaches
    // no site).
    if !hosts.is_empty() && !rng.chance(10) {
        let host = *rng.pick(hosts);
        headers.push(("host", host.to_owned()));
    }
    if let Some(accept) = *rng.pick(&[
        None,
        Some("text/html,*/*;q=0.8"),
        Some("application/json"),
        Some("TEXT/HTML"),
        Some("*/*"),
        Some(""),
    ]) {
        headers.push(("accept", accept.to_owned()));
    }
    if let Some(mode) = *rng.pick(&[
        None,
        None,
        Some("navigate"),
        Some("cors"),
        Some("NAVIGATE"),
        Some("no-cors"),
    ]) {
        headers.push(("sec-fetch-mode", mode.to_owned()));
    }
    if let Some(xrw) = *rng.pick(&[
        None,
        None,
        None,
        Some("XMLHttpRequest"),
        Some("xmlhttprequest"),
        Some("fetch"),
    ]) {
        headers.push(("x-requested-with", xrw.to_owned()));
    }
    // One in five carries a service token, in the header's spellings.
    if rng.chance(20) {
        let scheme = rng.pick(&[
            "Bearer ", "Bearer ", "bearer ", "BEARER ", "Bearer  ", "Basic ",
        ]);
        headers.push((
            "authorization",
            format!("{scheme}{}", random_token(rng, provider_token)),
        ));
    }
    let mut cookies = Vec::new();
    // With a site table, half the requests carry the cookies under the
    // names a sign-in group shares across a parent domain (`__Secure-`),
    // which only that group's sites read.
    let prefix = if !hosts.is_empty() && rng.chance(50) {
        "__Secure-"
    } else {
        "__Host-"
    };
    for _ in 0..*rng.pick(&[0usize, 1, 1, 1, 1, 2, 3, 5]) {
        cookies.push((
            format!("{prefix}edge-auth-session"),
            random_session(rng, provider_token),
        ));
    }
    if rng.chance(30) {
        cookies.push((format!("{prefix}edge-auth-user"), "alice".to_owned()));
    }
    // A service token is never a session: not even as its cookie.
    if rng.chance(5) {
        cookies.push((
            format!("{prefix}edge-auth-session"),
            random_token(rng, provider_token),
        ));
    }
    if rng.chance(20) {
        cookies.push(("other".to_owned(), "1".to_owned()));
    }
    // One in six carries shared links' cookies (a guest's browser), some
    // beside a session.
    if rng.chance(25) {
        for _ in 0..*rng.pick(&[1usize, 1, 2, 5]) {
            cookies.push((SHARE_COOKIE.to_owned(), random_share(rng, provider_token)));
        }
    }
    // A valid session planted under our name with Unicode white space
    // around it (a sibling subdomain can set such a cookie): another
    // cookie to both, never ours.
    if rng.chance(10) {
        let name = rng.pick(&[
            "\u{2000}__Host-edge-auth-session",
            "__Host-edge-auth-session\u{3000}",
            "\u{a0}__Host-edge-auth-session",
            "\u{85}__Host-edge-auth-session",
        ]);
        let planted = SessionClaims {
            groups: vec!["admins".into(), "readers".into(), "auditors".into()],
            ..kit::session_claims()
        };
        cookies.push((
            (*name).to_owned(),
            sign(&planted, kit::SESSION_KID, kit::SESSION_KEY),
        ));
    }
    // Shuffle, so that a valid session is not always first.
    for i in (1..cookies.len()).rev() {
        let j = rng.below(i + 1);
        cookies.swap(i, j);
    }
    let now = NOW.saturating_add_signed(rng.below(120) as i64 - 60);
    let mut query = Vec::new();
    if rng.chance(30) {
        // Each name once (CloudFront groups a repeated name's values, which
        // README documents), in any order: CloudFront's query object keeps
        // the order sent. No name that reads as an array index: a
        // JavaScript object lists those first.
        for name in ["a", "q", "return", "x%20y", "flag", "Section"] {
            if rng.chance(50) {
                let value: &&str = rng.pick(&[
                    "1", "", "%2F", "a%20b", "%C3%A9", "..%2F..", "%0D%0A", "b+c",
                ]);
                query.push((name.to_owned(), (*value).to_owned()));
            }
        }
        for i in (1..query.len()).rev() {
            let j = rng.below(i + 1);
            query.swap(i, j);
        }
    }
    Case {
        method,
        uri: random_uri(rng),
        query,
        headers,
        cookies,
        now,
    }
}

/// The answer as the function's driver reports it: the forwarded URI, or
/// the whole generated response (status, reason, every header, body).
fn answer_of_rust(output: &HandlerOutput) -> Value {
    match output {
        HandlerOutput::Forward(r) => json!({"forward": r.uri}),
        HandlerOutput::Respond(r) => {
            let headers: serde_json::Map<String, Value> = r
                .headers
                .0
                .iter()
                .map(|(name, entries)| {
                    let values: Vec<&str> = entries.iter().map(|e| e.value.as_str()).collect();
                    (name.to_ascii_lowercase(), json!(values.join("\n")))
                })
                .collect();
            json!({
                "status": r.status.parse::<u16>().unwrap(),
                "description": r.status_description,
                "headers": headers,
                "body": r.body.as_ref().map(|body| {
                    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body.as_bytes());
                    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>()
                }),
            })
        }
    }
}

/// A short name for an answer, for the coverage check.
fn class_of(answer: &Value, config: &Config, detail: &str) -> String {
    if let Some(uri) = answer["forward"].as_str() {
        return if uri.ends_with("/index.html") {
            "forward index".into()
        } else {
            "forward".into()
        };
    }
    let status = answer["status"].as_u64().unwrap();
    let location = answer["headers"]["location"].as_str().unwrap_or("");
    match status {
        302 if location.starts_with(&config.paths().refresh) => "refresh".into(),
        302 if location.starts_with(&start_path(config)) => "signin".into(),
        401 => format!("401 {detail}"),
        other => other.to_string(),
    }
}

fn event_of(case: &Case) -> Value {
    let mut headers = serde_json::Map::new();
    for (name, value) in &case.headers {
        headers.insert((*name).to_owned(), json!({"value": value}));
    }
    // CloudFront Functions' shape: one entry per name, `multiValue` when
    // the name comes more than once, in the order sent.
    let mut cookies = serde_json::Map::new();
    for (name, _) in &case.cookies {
        if cookies.contains_key(name) {
            continue;
        }
        let values: Vec<&String> = case
            .cookies
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect();
        let mut entry = json!({"value": values[0]});
        if values.len() > 1 {
            entry["multiValue"] = json!(
                values
                    .iter()
                    .map(|v| json!({"value": v}))
                    .collect::<Vec<_>>()
            );
        }
        cookies.insert(name.clone(), entry);
    }
    // The query as sent: the driver takes it apart as CloudFront does, in
    // the order sent (a JSON object would carry the names sorted).
    let query: Vec<String> = case.query.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let query = query.join("&");
    json!({
        "version": "1.0",
        "context": {"eventType": "viewer-request", "distributionDomainName": SITE, "requestId": REQUEST_ID},
        "viewer": {"ip": "203.0.113.9"},
        "request": {"method": case.method, "uri": case.uri, "querystring": query, "headers": headers, "cookies": cookies},
    })
}

/// The distribution and request every case's event names, as the core's
/// `kit::viewer_request` does.
const SITE: &str = "d111111abcdef8.cloudfront.net";
const REQUEST_ID: &str = "case-request-id";

/// The decision line the core's outcome makes (`edge_auth_lambda`'s
/// `log_outcome` writes these fields), or null for a routine answer.
fn core_line(outcome: &edge_auth_core::Outcome, case: &Case) -> Value {
    if outcome.routine {
        return Value::Null;
    }
    let session = outcome.session.as_ref();
    json!({
        "handler": "function", "request_id": REQUEST_ID, "site": SITE,
        "method": case.method, "path": case.uri, "decision": outcome.event,
        "status": outcome.status().unwrap_or("forward"),
        "detail": outcome.detail.as_deref().unwrap_or(""),
        "sub": session.map_or("", |s| s.sub.as_str()),
        "sid": session.map_or("", |s| s.sid.as_str()),
    })
}

/// The function's line against the core's: every field the same, but the
/// function leaves `detail` empty where the core's says why a token was
/// refused, a path is bad or a session seems lost (words that would cost
/// the function's 10 KB).
fn same_line(function: &Value, core: &Value) -> bool {
    if function.is_null() || core.is_null() {
        return function == core;
    }
    let mut core = core.clone();
    if function["detail"] == "" {
        core["detail"] = json!("");
    }
    *function == core
}

/// `authorize`, then (when it forwards) `index_path`: the two Lambda@Edge
/// functions the CloudFront Function folds into one. With the answer, its
/// class and the core's decision line.
/// The core's decision for a case: the answer, its class, its decision
/// line, and its event (which says whether the session was read at all).
struct Decision {
    answer: Value,
    class: String,
    line: Value,
    event: &'static str,
}

fn rust_decision(case: &Case, config: &Config, store: &Store) -> Decision {
    let (request, dist) = core_request(case);
    assert_eq!(dist.distribution_domain_name, SITE);
    // The core's answer for the function, as the deploy's probes take it.
    let site = site_of(case, store);
    let (output, outcome) = function_answer_at(request, &dist, config, site.as_ref(), case.now);
    let line = core_line(&outcome, case);
    let answer = answer_of_rust(&output);
    let class = if outcome.event == "signin-started" {
        "signin".into()
    } else {
        class_of(
            &answer,
            config,
            outcome.detail.as_deref().unwrap_or_default(),
        )
    };
    Decision {
        answer,
        class,
        line,
        event: outcome.event,
    }
}

/// The case as the core's request and distribution.
fn core_request(
    case: &Case,
) -> (
    edge_auth_core::CloudFrontRequest,
    edge_auth_core::DistributionConfig,
) {
    let cookie_header: Vec<String> = case
        .cookies
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    let cookie = if cookie_header.is_empty() {
        vec![]
    } else {
        vec![cookie_header.join("; ")]
    };
    let query: Vec<String> = case.query.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let (mut request, dist) = kit::viewer_request("/", &query.join("&"), &cookie);
    request.uri = case.uri.clone();
    request.method = case.method.clone();
    for name in ["accept", "sec-fetch-mode", "x-requested-with", "host"] {
        request.headers.0.remove(name);
    }
    for (name, value) in &case.headers {
        request.headers.set(name, value.clone());
    }
    (request, dist)
}

type Store = std::collections::BTreeMap<String, String>;

/// The entry of the case's host, as a Rust driver reads the store.
/// The session cookie's name at `site`: its group's shared one, or the
/// deployment's.
fn site_cookie(site: Option<&SitePolicy>) -> String {
    site.and_then(|s| s.cookies.as_ref())
        .map_or_else(|| "__Host-edge-auth-session".to_owned(), |c| c[0].clone())
}

fn site_of(case: &Case, store: &Store) -> Option<SitePolicy> {
    let host = case
        .headers
        .iter()
        .find(|(n, _)| *n == "host")
        .map(|(_, v)| v.as_str());
    let entry = store.get(&site_key(host)?)?;
    Some(SitePolicy::from_entry(entry).expect("the store's site entries read back"))
}

/// The driver both engines run: the rendered function (its `cloudfront`
/// import replaced by the key value store shim), then the cases.
fn driver(
    function: &str,
    cases: &Path,
    results: &Path,
    store: &std::collections::BTreeMap<String, String>,
) -> String {
    let kvs = json!(store);
    let body = function.replacen("import cf from 'cloudfront';", "", 1);
    format!(
        r#"var KVS = {kvs};
// Every read counted: CloudFront bills each.
var READS = 0;
var cf = {{ kvs: function () {{ return {{ get: function (k) {{
  READS++;
  return Object.prototype.hasOwnProperty.call(KVS, k) ? Promise.resolve(KVS[k]) : Promise.reject(new Error('key not found: ' + k));
}} }}; }} }};
{body}
var fs = require('fs');
// Its log lines, a list per case (CloudFront sends each to CloudWatch Logs).
var LOGS = [];
console.log = function (line) {{ LOGS.push(line); }};
// What the function answered, in the shape answer_of_rust gives the core's
// (a body as its SHA-256: 100,000 pages would make a large file to parse).
var BODY_HASH = require('crypto');
function normalize(out) {{
  if (out && out.statusCode === undefined && typeof out.uri === 'string') return {{ forward: out.uri }};
  var headers = {{}};
  for (var h in out.headers) {{
    if (out.headers[h].multiValue) throw new Error('a generated answer repeats ' + h);
    headers[h] = out.headers[h].value;
  }}
  return {{
    status: out.statusCode,
    description: out.statusDescription === undefined ? null : out.statusDescription,
    headers: headers,
    body: out.body === undefined ? null : BODY_HASH.createHash('sha256').update(out.body.data).digest('hex')
  }};
}}
{query_js}
var cases = JSON.parse(fs.readFileSync({cases}).toString());
cases.forEach(function (c) {{ c.event.request.querystring = cloudFrontQuery(c.event.request.querystring); }});
var results = [];
(async function () {{
  for (var i = 0; i < cases.length; i++) {{
    var now = cases[i].now;
    Date.now = function () {{ return now * 1000 + 999; }};
    // An await of its own statement, outside try/catch: njs 0.7.9 crashes
    // (SIGSEGV) on an await inside try/catch or inside a call's arguments
    // once a rejected promise has been caught further down (the key value
    // store's "key not found"). A handler that throws fails the run.
    var out = await handler(cases[i].event);
    var answer = normalize(out);
    answer.logs = LOGS.splice(0);
    answer.reads = READS;
    READS = 0;
    results.push(answer);
  }}
  fs.writeFileSync({results}, JSON.stringify(results));
}})();
"#,
        cases = json!(cases.display().to_string()),
        results = json!(results.display().to_string()),
        query_js = CLOUDFRONT_QUERY_JS,
    )
}

/// CloudFront's query object, made of the query as sent (the cases carry it
/// so): each name once, in the order it first appears, values as sent, a
/// repeated name's values in `multiValue`. Both drivers run it before the
/// function, as CloudFront does.
const CLOUDFRONT_QUERY_JS: &str = r#"function cloudFrontQuery(raw) {
  var query = Object.create(null);
  raw.split('&').forEach(function (pair) {
    if (pair === '') return;
    var at = pair.indexOf('=');
    var name = at < 0 ? pair : pair.slice(0, at), value = at < 0 ? '' : pair.slice(at + 1);
    var entry = query[name];
    if (entry === undefined) query[name] = { value: value };
    else (entry.multiValue = entry.multiValue || [{ value: entry.value }]).push({ value: value });
  });
  return query;
}"#;

fn runtimes() -> Vec<String> {
    std::env::var("EDGE_AUTH_CF_RUNTIMES")
        .unwrap_or_else(|_| "node".into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn run(runtime: &str, script: &Path) {
    let mut command = match runtime {
        "node" => Command::new("node"),
        "njs" => {
            let mut c = Command::new("njs");
            c.arg("-q");
            c
        }
        other => panic!("EDGE_AUTH_CF_RUNTIMES: unknown runtime {other}"),
    };
    let output = command.arg(script).output().unwrap_or_else(|e| {
        panic!("{runtime} could not be started ({e}): install it (scripts/setup.sh)")
    });
    assert!(
        output.status.success(),
        "{runtime} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_function_decides_as_authorize_does() {
    let config = config();
    let count: usize = std::env::var("EDGE_AUTH_CF_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let provider_token = kit::id_token().claim("exp", NOW + 3600).sign();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cases: Vec<Case> = (0..count)
        .map(|_| random_case(&mut rng, &provider_token, &[]))
        .collect();
    // The authorize bad-input paths, each with and without a valid session.
    for uri in [
        "/public/../admin/",
        "/_edge-auth/secret.txt",
        "/_edge%2Dauth/x",
        "/_edge-auth//callback",
        "/%61dmin/secret.html",
        "//admin/secret.html",
        "/admin%2Fsecret",
        "/docs/%zz",
        "/a%00b",
        "/%C0%AF",
        "/docs\\x",
        "/",
        "/signed-out.html",
        "/assets/../admin/",
    ] {
        for session in [None, Some(kit::session())] {
            cases.push(Case {
                method: "GET".into(),
                uri: uri.into(),
                headers: vec![("accept", "text/html".into())],
                query: vec![],
                cookies: session
                    .map(|s| vec![("__Host-edge-auth-session".to_owned(), s)])
                    .unwrap_or_default(),
                now: NOW,
            });
        }
    }
    // Revoked sessions are among them (refused before the clock), and so
    // are sessions of a user revoked before they were issued (valid).
    let verdicts = |sub: &str| -> Vec<(u64, Result<(), SessionError>)> {
        cases
            .iter()
            .flat_map(|c| &c.cookies)
            .filter_map(|(_, value)| {
                let claims = config.sessions.verify_untimed(value).ok()?;
                (claims.sub == sub)
                    .then(|| (claims.iat, config.sessions.verify(value, NOW).map(|_| ())))
            })
            .collect()
    };
    let revoked = verdicts(REVOKED);
    let refused = revoked
        .iter()
        .filter(|(_, v)| *v == Err(SessionError::Revoked))
        .count();
    assert!(refused > 100, "{refused} revoked sessions");
    assert!(revoked.iter().all(|(iat, v)| *iat > NOW - 30 || v.is_err()));
    let earlier = verdicts(REVOKED_EARLIER);
    assert!(earlier.iter().filter(|(_, v)| v.is_ok()).count() > 100);
    // A guest's shared links on the pages they open, and beside them.
    let link = |path: &str, groups: &[&str]| {
        let claims = SessionClaims {
            sub: "share:s-1".into(),
            name: "shared link".into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            sid: "shr-1".into(),
            ..kit::session_claims()
        };
        kit::signer().sign_share(&claims, path)
    };
    for (uri, pattern, groups) in [
        ("/ops/run.html", "/ops/*", &["admins"][..]),
        ("/admin/x.html", "/admin/*", &["admins"][..]),
        ("/admin/x.html", "/admin/*", &["readers"][..]),
        ("/docs/a.html", "/docs/*", &[][..]),
        ("/docs/", "/docs/*", &[][..]),
        ("/docs", "/docs/*", &[][..]),
        ("/docs/a.html", "/admin/*", &["admins"][..]),
        ("/reports/", "/reports/index.html", &["auditors"][..]),
        (
            "/reports/index.html",
            "/reports/index.html",
            &["auditors"][..],
        ),
        ("/x+y", "/x y*", &["readers"][..]),
    ] {
        for accept in ["text/html", "application/json"] {
            cases.push(Case {
                method: "GET".into(),
                uri: uri.into(),
                headers: vec![("accept", accept.into())],
                query: vec![],
                cookies: vec![(SHARE_COOKIE.to_owned(), link(pattern, groups))],
                now: NOW,
            });
        }
    }
    // Shared links decide, none vacuously: a guest let through, refused
    // a rule's page, sent to sign in for a step-up.
    let mut by_link = std::collections::BTreeMap::<&str, usize>::new();
    for case in cases
        .iter()
        .filter(|c| c.cookies.iter().any(|(n, _)| n == SHARE_COOKIE))
    {
        let (request, dist) = core_request(case);
        let outcome = edge_auth_core::authorize::authorize(
            request,
            &dist,
            &config,
            case.now,
            &mut kit::CountingEntropy(1),
        );
        if outcome
            .session
            .as_ref()
            .is_some_and(|s| s.sub.starts_with("share:"))
        {
            *by_link.entry(outcome.event).or_default() += 1;
        }
    }
    for event in ["allowed", "allowed-by-rule", "forbidden", "step-up"] {
        assert!(by_link.contains_key(event), "shared links: {by_link:?}");
    }
    // What the deploy tool writes into the store for these settings.
    differential(&config, &cases, count, &key_value_store(&config), &[]);
}

/// Three sites: the handbook and the API reference share sessions (group
/// "docs"); the status page has its own.
fn table_config() -> edge_auth_core::Config {
    let mut value = kit::config_value("https://auth.example.com");
    value["session"]["keys"] = json!([
        {"kid": kit::SESSION_KID, "key": kit::SESSION_KEY},
        {"kid": OTHER_KID, "key": OTHER_KEY, "not_after": NOW + 300},
    ]);
    value["sites"] = json!([
        {"name": "handbook", "base_url": "https://handbook.example.com", "session": "docs",
         "public": ["/favicon.ico", "/assets/*"],
         "rules": [
            {"pattern": "/admin/*", "groups": ["admins"]},
            {"pattern": "/ops/*", "groups": ["admins", "readers"], "max_auth_age_seconds": 900},
            {"pattern": "/assets/internal/*", "groups": ["admins"]},
         ]},
        {"name": "api", "base_url": "https://api.example.com", "session": "docs",
         "preview_domain": "preview.example.com",
         "public": ["/signed-out.html", "/*.css"],
         "rules": [
            {"pattern": "/docs/private/?*", "groups": ["readers"]},
            {"pattern": "*.key", "groups": ["readers"], "max_auth_age_seconds": 600, "mfa": true},
            {"pattern": "/vault/*", "groups": ["auditors", "admins"], "mfa": true},
         ]},
        {"name": "status", "base_url": "https://status.example.com",
         "public": ["/", "/index.html", "/pub?ic/*"],
         "rules": [{"pattern": "/admin/*", "groups": ["admins"]}]},
    ]);
    // The handbook and the API reference share their session across
    // example.com (`__Secure-` cookies); the status page keeps `__Host-`.
    value["sign_in_groups"] =
        json!([{"name": "docs", "domain": "example.com", "sign_in_site": "handbook"}]);
    value["tokens"] = json!({"max_lifetime_seconds": TOKEN_MAX});
    value["shares"] = json!({"max_lifetime_seconds": SHARE_MAX});
    kit::config_from(value)
}

/// Many sites from one function (`site_table`): each host's rules,
/// public paths and session keys come from its store entry, a session is
/// taken only on the sites of the site (or sign-in group) it was issued
/// for, and a host that is no site's, or no host, gets a 404.
#[test]
fn the_function_decides_as_authorize_does_for_many_sites() {
    let mut config = table_config();
    config.sessions.revoke(REVOKED, NOW - 30);
    config.sessions.revoke(REVOKED_EARLIER, NOW - 90);
    let count: usize = std::env::var("EDGE_AUTH_CF_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000_usize)
        .div_ceil(2)
        .max(5_000);
    // What the deploy tool writes: keys, revocations, a site per host,
    // and (`preview upload`) two branches' previews of the API reference.
    let mut store = key_value_store(&config);
    for branch in ["feature-x", "b2"] {
        let (key, value) =
            edge_auth_core::sites::preview_entry(&config, "api", branch, &config.file.session.keys)
                .unwrap();
        store.insert(key, value);
    }
    assert_eq!(
        store
            .keys()
            .filter(|k| k.starts_with("site:"))
            .collect::<Vec<_>>(),
        [
            "site:api.example.com",
            "site:b2.preview.example.com",
            "site:feature-x.preview.example.com",
            "site:handbook.example.com",
            "site:status.example.com"
        ]
    );
    // Most requests name a site; about four in ten another host.
    let hosts = [
        "handbook.example.com",
        "handbook.example.com",
        "handbook.example.com",
        "handbook.example.com",
        "HandBook.Example.COM",
        "handbook.example.com:443",
        "api.example.com",
        "api.example.com",
        "api.example.com",
        "api.example.com:8443",
        "status.example.com",
        "status.example.com",
        "status.example.com",
        "feature-x.preview.example.com",
        "feature-x.preview.example.com",
        "b2.preview.example.com:443",
        "gone.preview.example.com",
        "nowhere.example.com",
        "handbook.example.com.",
        "handbook.example.com:",
        "handbook.example.com:x",
        "\u{212a}.example.com",
        "status.example.com\u{0}",
        "a b",
        "",
        "[::1]:8080",
    ];
    let provider_token = kit::id_token().claim("exp", NOW + 3600).sign();
    let mut rng = Rng(0x5157_E5AB_1E00_0001);
    let mut cases: Vec<Case> = (0..count)
        .map(|_| random_case(&mut rng, &provider_token, &hosts))
        .collect();
    // Service tokens at the sites: the group's token short of a rule, let
    // through, and at a site it was not issued for.
    let token = |site: &str, groups: &[&str]| {
        let claims = SessionClaims {
            sub: "token:ci-1".into(),
            name: "ci".into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            sid: "tok-1".into(),
            iat: NOW - 60,
            exp: NOW + 3600,
            auth_time: None,
            idp_auth_time: None,
            mfa: None,
            site: Some(site.to_owned()),
        };
        kit::signer().sign_service(&claims)
    };
    for (host, uri, site, groups) in [
        (
            "api.example.com",
            "/docs/private/a.html",
            "docs",
            &["auditors"][..],
        ),
        (
            "api.example.com",
            "/docs/private/a.html",
            "docs",
            &["readers"][..],
        ),
        (
            "handbook.example.com",
            "/ops/run.html",
            "docs",
            &["admins"][..],
        ),
        ("status.example.com", "/admin/", "docs", &["admins"][..]),
    ] {
        cases.push(Case {
            method: "GET".into(),
            uri: uri.into(),
            query: vec![],
            headers: vec![
                ("host", host.into()),
                ("authorization", format!("Bearer {}", token(site, groups))),
            ],
            cookies: vec![],
            now: NOW,
        });
    }
    // Sessions of each site and group reach each site.
    let taken = |site: &str| {
        cases
            .iter()
            .filter(|c| site_of(c, &store).is_some_and(|s| s.id == site))
            .flat_map(|c| c.cookies.iter().map(move |(_, v)| (c, v)))
            .filter(|(c, v)| config.sessions.verify_at(v, c.now, Some(site)).is_ok())
            .count()
    };
    let (docs, status) = (taken("docs"), taken("status"));
    assert!(
        docs > count / 100 && status > count / 1000,
        "{docs} {status}"
    );
    differential(&config, &cases, count, &store, &["unknown-site"]);
}

/// The cases through the rendered function (Node.js, and njs for the
/// first 5,000 and the last `cases.len() - count`) and through the core;
/// any difference in answer or log line fails. Every class of answer and
/// kind of line is reached, those of `decisions` too (a class has no `-`,
/// a decision line's name has).
fn differential(config: &Config, cases: &[Case], count: usize, store: &Store, decisions: &[&str]) {
    let function = render(config);
    assert!(
        function.len() <= MAX_FUNCTION_BYTES,
        "the function is {} bytes, CloudFront's limit {MAX_FUNCTION_BYTES}",
        function.len()
    );
    let decisions_of: Vec<Decision> = cases
        .iter()
        .map(|c| rust_decision(c, config, store))
        .collect();
    let expected: Vec<&Value> = decisions_of.iter().map(|d| &d.answer).collect();
    let classes: Vec<&str> = decisions_of.iter().map(|d| d.class.as_str()).collect();
    let lines: Vec<&Value> = decisions_of.iter().map(|d| &d.line).collect();
    // The core's event per case, for the store reads below.
    let core_events: Vec<&str> = decisions_of.iter().map(|d| d.event).collect();
    let dir = std::env::temp_dir().join(format!(
        "edge-auth-cf-diff-{}-{}",
        std::process::id(),
        config.site_table()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let cases_path = dir.join("cases.json");
    let events: Vec<Value> = cases
        .iter()
        .map(|c| json!({"now": c.now, "event": event_of(c)}))
        .collect();
    std::fs::write(&cases_path, serde_json::to_vec(&events).unwrap()).unwrap();
    // njs parses and runs far slower than Node: it gets the first cases
    // (the bad-input paths included, at the end, are added to them).
    let njs_count: usize = std::env::var("EDGE_AUTH_CF_NJS_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000)
        .min(count);
    let mut njs_events: Vec<Value> = events[..njs_count].to_vec();
    njs_events.extend_from_slice(&events[count..]);
    let njs_index: Vec<usize> = (0..njs_count).chain(count..events.len()).collect();
    let njs_cases_path = dir.join("cases-njs.json");
    std::fs::write(&njs_cases_path, serde_json::to_vec(&njs_events).unwrap()).unwrap();
    // Every class of decision is reached, so none is compared vacuously.
    for class in [
        "forward",
        "forward index",
        "signin",
        "refresh",
        "301",
        "400",
        "403",
        "404",
        "401 unauthenticated",
        "401 session_expired",
    ]
    .iter()
    .chain(decisions)
    .filter(|c| !c.contains('-'))
    {
        assert!(
            classes.iter().any(|e| e == class),
            "no case decides {class}"
        );
    }
    for runtime in runtimes() {
        let results_path: PathBuf = dir.join(format!("results-{runtime}.json"));
        let script = dir.join(format!("driver-{runtime}.js"));
        let (path, index): (&Path, Vec<usize>) = if runtime == "njs" {
            (&njs_cases_path, njs_index.clone())
        } else {
            (&cases_path, (0..cases.len()).collect())
        };
        std::fs::write(&script, driver(&function, path, &results_path, store)).unwrap();
        let started = std::time::Instant::now();
        run(&runtime, &script);
        let mut got: Vec<Value> =
            serde_json::from_slice(&std::fs::read(&results_path).unwrap()).unwrap();
        assert_eq!(got.len(), index.len(), "{runtime}: every case answered");
        // At most one line a request, JSON, and the core's: what it says
        // and whether it is written at all (routine answers are not).
        let mut logged = std::collections::BTreeMap::<String, usize>::new();
        // Store reads: a request whose one session cookie is valid reads
        // twice (its key, or with a site table its site's entry, and
        // `revoked:<sub>`), whatever the number of sites; one without a
        // cookie none, or with a table the site's entry alone.
        let mut reads = std::collections::BTreeMap::<(&str, u64), usize>::new();
        for (answer, &i) in got.iter_mut().zip(&index) {
            let count = answer
                .as_object_mut()
                .unwrap()
                .remove("reads")
                .unwrap()
                .as_u64()
                .unwrap();
            let case = &cases[i];
            let site = site_of(case, store);
            let name = site_cookie(site.as_ref());
            let ours: Vec<&String> = case
                .cookies
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| v)
                .collect();
            let bearer = case.headers.iter().any(|(n, v)| {
                *n == "authorization"
                    && v.get(..7)
                        .is_some_and(|s| s.eq_ignore_ascii_case("bearer "))
            });
            let shared = case.cookies.iter().any(|(n, _)| n == SHARE_COOKIE);
            let kind = match ours.as_slice() {
                _ if bearer => "service token",
                [] if shared => "shared link",
                [] => "no session cookie",
                [one]
                    if (site.is_some() || !config.site_table())
                        && config
                            .sessions
                            .verify_at(one, case.now, site.as_ref().map(|s| s.id.as_str()))
                            .is_ok() =>
                {
                    "one valid session"
                }
                _ => "other",
            };
            // Answered before any session is read: a bad or auth path, a
            // public one, no site.
            let before_session = [
                "bad-path",
                "public-path",
                "auth-path-not-found",
                "unknown-site",
            ]
            .contains(&core_events[i]);
            if kind == "one valid session" && !before_session {
                assert_eq!(
                    count, 2,
                    "{runtime}: {} reads for {} {}",
                    count, case.method, case.uri
                );
            } else if kind == "no session cookie" && site.is_some() {
                assert_eq!(count, 1, "{runtime}: {} reads for {}", count, case.uri);
            }
            *reads.entry((kind, count)).or_default() += 1;
            let logs = answer.as_object_mut().unwrap().remove("logs").unwrap();
            let logs = logs.as_array().unwrap();
            assert!(
                logs.len() <= 1,
                "{runtime}: {} lines for one request",
                logs.len()
            );
            let line = logs
                .first()
                .map(|l| serde_json::from_str::<Value>(l.as_str().unwrap()).unwrap())
                .unwrap_or(Value::Null);
            assert!(
                same_line(&line, lines[i]),
                "{runtime}: {} {} cookies {:?}: the function logged\n  {line}\nthe core\n  {}",
                cases[i].method,
                cases[i].uri,
                cases[i].cookies,
                lines[i]
            );
            if !line.is_null() {
                *logged
                    .entry(line["decision"].as_str().unwrap().to_owned())
                    .or_default() += 1;
                if line["detail"] != "" {
                    *logged.entry("with detail".into()).or_default() += 1;
                }
            }
        }
        // Every kind of line is compared, none vacuously.
        for decision in [
            "bad-path",
            "auth-path-not-found",
            "forbidden",
            "refresh-redirect",
            "signin-started",
            "script-unauthenticated",
            "token-refused",
            "token-forbidden",
            "with detail",
        ]
        .iter()
        .chain(decisions.iter().filter(|d| d.contains('-')))
        {
            assert!(
                logged.contains_key(*decision),
                "{runtime}: no {decision} line"
            );
        }
        // Whatever it answers, no header value can split the response, and
        // it never lets a request through to a protected path without a
        // session the deployment's keys verify (checked here on their own,
        // not through authorize).
        for (answer, &i) in got.iter().zip(&index) {
            if let Some(forwarded) = answer["forward"].as_str() {
                let case = &cases[i];
                // The keys the request reaches: the path asked and the
                // object forwarded, each also as S3 reads a raw `+`.
                let mut keys: Vec<String> = [case.uri.as_str(), forwarded]
                    .iter()
                    .flat_map(|u| [u.to_string(), u.replace('+', "%20")])
                    .filter_map(|u| edge_auth_core::paths::canonical_path(&u).ok())
                    .collect();
                keys.dedup();
                // The case's site's rules (a host that is no site's
                // reaches nothing).
                let site = site_of(case, store);
                let policy = match &site {
                    Some(site) => site.policy(),
                    None if config.site_table() => panic!(
                        "{runtime}: {} forwarded for a host that is no site's",
                        case.uri
                    ),
                    None => config.policy(),
                };
                let first_rule = |key: &String| policy.rule_for(key);
                let public = keys.iter().all(|k| first_rule(k).is_none())
                    && policy.public.iter().any(|p| p.matches(&keys[0]));
                let session_name = site_cookie(site.as_ref());
                // A bearer request is let through on its token alone.
                let token = case.headers.iter().find_map(|(n, v)| {
                    (*n == "authorization")
                        .then(|| {
                            v.get(..7)
                                .filter(|s| s.eq_ignore_ascii_case("bearer "))
                                .map(|_| &v[7..])
                        })
                        .flatten()
                });
                let session = match token {
                    Some(token) => config
                        .sessions
                        .verify_service_at(token, case.now, policy.site, TOKEN_MAX)
                        .ok(),
                    None => case.cookies.iter().find_map(|(name, value)| {
                        (*name == session_name)
                            .then(|| config.sessions.verify_at(value, case.now, policy.site).ok())
                            .flatten()
                    }),
                };
                // Or a shared link whose pattern every key matches.
                let session = session.or_else(|| {
                    case.cookies.iter().find_map(|(name, value)| {
                        let (claims, path) = config
                            .sessions
                            .verify_share_at(value, case.now, policy.site, SHARE_MAX)
                            .ok()
                            .filter(|_| name == SHARE_COOKIE)?;
                        // The path asked (a preview's object has its prefix).
                        [case.uri.clone(), case.uri.replace('+', "%20")]
                            .iter()
                            .filter_map(|u| edge_auth_core::paths::canonical_path(u).ok())
                            .all(|k| {
                                edge_auth_core::paths::glob_match(path.as_bytes(), k.as_bytes())
                            })
                            .then_some(claims)
                    })
                });
                assert!(
                    public || session.is_some(),
                    "{runtime}: {} {} forwarded without a session",
                    case.method,
                    case.uri
                );
                // Every key's first rule is met, whichever way it was asked.
                if let Some(claims) = session.filter(|_| !public) {
                    for key in &keys {
                        if let Some(rule) = first_rule(key) {
                            assert!(
                                claims.groups.iter().any(|g| rule.groups.contains(g)),
                                "{runtime}: {} forwarded to {forwarded} without the groups of {}",
                                case.uri,
                                rule.pattern.as_str()
                            );
                            assert!(
                                rule.step_up.met_by(&claims, case.now).is_ok(),
                                "{runtime}: {} forwarded to {forwarded} without the step-up of {}",
                                case.uri,
                                rule.pattern.as_str()
                            );
                        }
                    }
                }
            }
            if let Some(headers) = answer["headers"].as_object() {
                for (name, value) in headers {
                    let value = value.as_str().unwrap_or_default();
                    assert!(
                        !value.contains(['\r', '\n']),
                        "{runtime}: CR or LF in {name}: {value:?}"
                    );
                }
            }
        }
        let differences: Vec<String> = index
            .iter()
            .zip(&got)
            .map(|(&i, g)| (i, (g, expected[i])))
            .filter(|(_, (g, e))| g != e)
            .take(10)
            .map(|(i, (g, e))| {
                let cookies: Vec<String> = cases[i]
                    .cookies
                    .iter()
                    .map(|(n, v)| format!("{n}={}", v.chars().take(120).collect::<String>()))
                    .collect();
                // Where the two first differ, with some context.
                let (e, g) = (e.to_string(), g.to_string());
                let at = e.bytes().zip(g.bytes()).take_while(|(a, b)| a == b).count();
                let from = e.floor_char_boundary(at.saturating_sub(60));
                let context = |s: &str| s[from..s.ceil_char_boundary((at + 100).min(s.len()))].to_owned();
                format!(
                    "{} {} query {:?} headers {:?} cookies {cookies:?} now {}:\n  core     …{}\n  function …{}",
                    cases[i].method, cases[i].uri, cases[i].query, cases[i].headers, cases[i].now,
                    context(&e), context(&g)
                )
            })
            .collect();
        assert!(
            differences.is_empty(),
            "{runtime}: the function differs from authorize:\n{}",
            differences.join("\n")
        );
        eprintln!(
            "{runtime}: {} cases, no difference in answers nor log lines ({:.1} s); lines: {logged:?}; store reads (kind of request, reads): {reads:?}",
            index.len(),
            started.elapsed().as_secs_f64()
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// What CloudFront documents for cloudfront-js-2.0 and nothing else this
/// check can see: at most 10 KB, the `cloudfront` module (key value store)
/// and `crypto` only, no dynamic code, timers or network. (Syntax is held
/// by the engines above: njs refuses what its dialect lacks.)
#[test]
fn the_function_uses_only_what_cloudfront_functions_offer() {
    let function = render(&config());
    assert!(
        function.len() <= MAX_FUNCTION_BYTES,
        "{} bytes",
        function.len()
    );
    let imports: Vec<&str> = function
        .lines()
        .filter(|l| l.trim_start().starts_with("import "))
        .collect();
    assert_eq!(imports, ["import cf from 'cloudfront';"]);
    let requires: Vec<&str> = function
        .match_indices("require(")
        .map(|(i, _)| &function[i..i + 17])
        .collect();
    assert_eq!(requires, ["require('crypto')"]);
    for forbidden in [
        "eval(",
        "Function(",
        "setTimeout",
        "setInterval",
        "fetch(",
        "XMLHttpRequest",
        "process.",
        "globalThis",
        "crypto.randomBytes",
        "crypto.getRandomValues",
        "Math.random",
    ] {
        assert!(
            !function.contains(forbidden),
            "the function uses {forbidden}"
        );
    }
    // CloudFront calls `handler`; the renderer shortens every other name.
    assert!(function.contains("async function handler("));
    // The rules are the configuration's, written in as data.
    assert!(function.contains(r#"["/admin/*",["admins"]]"#));
    // A rule's step-up travels with it; a rule without one costs nothing.
    let mut value = kit::config_value("https://auth.example.com");
    value["rules"] = json!([{"pattern": "/ops/*", "groups": ["admins"], "max_auth_age_seconds": 900, "mfa": true}]);
    assert!(render(&kit::config_from(value)).contains(r#"["/ops/*",["admins"],900,true]"#));
    assert!(!function.contains("__CONFIG__"));
}

/// The rules are data in the function, so they spend its 10 KB: how many
/// typical rules fit, and a clear refusal beyond.
#[test]
fn rules_spend_the_functions_bytes_and_too_many_are_refused() {
    let with_rules = |n: usize| {
        let mut value = kit::config_value("https://auth.example.com");
        value["rules"] = json!(
            (0..n)
                .map(|i| json!({"pattern": format!("/teams/team-{i:03}/*"), "groups": [format!("team-{i:03}")]}))
                .collect::<Vec<_>>()
        );
        kit::config_from(value)
    };
    let fitting = (0..200)
        .take_while(|&n| render_checked(&with_rules(n)).is_ok())
        .count();
    eprintln!(
        "the function: {} bytes with no rule, {} with 1; {fitting} rules of the form /teams/team-NNN/* fit",
        render(&with_rules(0)).len(),
        render(&with_rules(1)).len()
    );
    assert!(fitting >= 30, "only {fitting} rules fit");
    let error = render_checked(&with_rules(fitting)).unwrap_err();
    assert!(error.bytes > MAX_FUNCTION_BYTES);
    assert!(error.to_string().contains("lambda-edge"), "{error}");
}

/// A key under 32 bytes in the store (an empty value, a typo, a test key
/// left behind) must not verify anything: the function refuses it as the
/// core does, and `check_store_limits` refuses to write it.
#[test]
fn short_keys_in_the_store_verify_nothing() {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let config = config();
    let function = render(&config);
    let mut store = key_value_store(&config);
    let shorts: [(&str, Vec<u8>); 3] = [
        ("empty", vec![]),
        ("short", vec![7; 16]),
        ("almost", vec![7; 31]),
    ];
    for (kid, key) in &shorts {
        store.insert(format!("key:{kid}"), b64(key));
    }
    let claims = SessionClaims {
        groups: vec!["admins".into()],
        ..kit::session_claims()
    };
    let header = |kid: &str| json!({"alg": "HS256", "kid": kid, "typ": "edge-auth-session"});
    let claims_json = serde_json::to_string(&claims).unwrap();
    let mut cases: Vec<Case> = shorts
        .iter()
        .map(|(kid, key)| Case {
            method: "GET".into(),
            uri: "/admin/".into(),
            query: vec![],
            headers: vec![("accept", "text/html".into())],
            cookies: vec![(
                "__Host-edge-auth-session".into(),
                signed_raw(&header(kid), &claims_json, key),
            )],
            now: NOW,
        })
        .collect();
    // The control: the same claims under the deployment's key go through.
    cases.push(Case {
        cookies: vec![(
            "__Host-edge-auth-session".into(),
            sign(&claims, kit::SESSION_KID, kit::SESSION_KEY),
        )],
        ..Case {
            method: "GET".into(),
            uri: "/admin/".into(),
            query: vec![],
            headers: vec![("accept", "text/html".into())],
            cookies: vec![],
            now: NOW,
        }
    });
    let dir = std::env::temp_dir().join(format!("edge-auth-cf-short-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases_path = dir.join("cases.json");
    let events: Vec<Value> = cases
        .iter()
        .map(|c| json!({"now": c.now, "event": event_of(c)}))
        .collect();
    std::fs::write(&cases_path, serde_json::to_vec(&events).unwrap()).unwrap();
    for runtime in runtimes() {
        let results_path = dir.join(format!("results-{runtime}.json"));
        let script = dir.join(format!("driver-{runtime}.js"));
        std::fs::write(
            &script,
            driver(&function, &cases_path, &results_path, &store),
        )
        .unwrap();
        run(&runtime, &script);
        let got: Vec<Value> =
            serde_json::from_slice(&std::fs::read(&results_path).unwrap()).unwrap();
        let start = start_path(&config);
        for (answer, (kid, _)) in got.iter().zip(&shorts) {
            let location = answer["headers"]["location"].as_str().unwrap_or_default();
            assert!(
                location.starts_with(&start),
                "{runtime}: a session under the {kid} key: {answer}"
            );
        }
        assert_eq!(
            got[3]["forward"], "/admin/index.html",
            "{runtime}: the control"
        );
    }
    for (kid, key) in &shorts {
        let mut entries = key_value_store(&config);
        entries.insert(format!("key:{kid}"), b64(key));
        assert!(
            edge_auth_core::cloudfront_function::check_store_limits(&entries).is_err(),
            "check_store_limits wrote a {}-byte key",
            key.len()
        );
    }
    assert_eq!(
        edge_auth_core::cloudfront_function::check_store_limits(&key_value_store(&config)),
        Ok(())
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// What one request may add to the function's memory: CloudFront Functions
/// get 2 MB in all, and the function's code and the event take some of it.
const MAX_REQUEST_MEMORY: usize = 1024 * 1024;

/// Every request fits CloudFront Functions' memory with room (security
/// review, item 15). njs frees nothing until a request ends, so a string
/// grown piece by piece costs the square of its length; the function
/// builds none. Each case runs in a fresh njs VM: the function loaded,
/// then one request, `njs.memoryStats.size` before and after it. Ordinary,
/// the longest legitimate, and hostile requests within CloudFront's own
/// limits (a URL of 8,192 bytes, a request of 20,480). Under njs only
/// (Node.js has no such figure): the njs step of `scripts/test.sh`.
#[test]
fn every_request_fits_in_cloudfront_functions_memory() {
    if !runtimes().iter().any(|r| r == "njs") {
        eprintln!("njs is not in EDGE_AUTH_CF_RUNTIMES: measured in the njs step");
        return;
    }
    let config = config();
    let function = render(&config);
    let store = key_value_store(&config);
    let admin = sign(
        &SessionClaims {
            groups: vec!["admins".into()],
            ..kit::session_claims()
        },
        kit::SESSION_KID,
        kit::SESSION_KEY,
    );
    let session = || vec![("__Host-edge-auth-session".to_owned(), admin.clone())];
    let case = |uri: String, query: Vec<(String, String)>, cookies: Vec<(String, String)>| Case {
        method: "GET".into(),
        uri,
        query,
        headers: vec![
            ("accept", "text/html".into()),
            ("sec-fetch-mode", "navigate".into()),
        ],
        cookies,
        now: NOW,
    };
    let long_path = format!(
        "/docs/{}/page.html",
        (0..640)
            .map(|i| format!("part-{i:03}"))
            .collect::<Vec<_>>()
            .join("/")
    );
    let params = |n: usize| {
        (0..n)
            .map(|i| (format!("p{i}"), "v".to_owned()))
            .collect::<Vec<_>>()
    };
    let escapes = format!("/{}", "%41".repeat(2700));
    let cases = [
        (
            "ordinary page, session",
            case("/docs/guide.html".into(), params(1), session()),
        ),
        (
            "ordinary page, no session",
            case("/docs/guide.html".into(), params(1), vec![]),
        ),
        (
            "longest legitimate path (8 KB), session",
            case(long_path.clone(), params(20), session()),
        ),
        (
            "longest legitimate path (8 KB), no session",
            case(long_path, params(20), vec![]),
        ),
        (
            "8 KB of %XX escapes, session",
            case(escapes.clone(), vec![], session()),
        ),
        (
            "8 KB of %XX escapes, no session",
            case(escapes, vec![], vec![]),
        ),
        (
            "8 KB of non-ASCII escapes, no session",
            case(format!("/{}", "%C3%A9".repeat(1350)), vec![], vec![]),
        ),
        (
            "4,000 slashes, no session",
            case("/a".repeat(4000), vec![], vec![]),
        ),
        (
            "1,000 query parameters, session",
            case("/docs/".into(), params(1000), session()),
        ),
        (
            "1,000 query parameters, no session",
            case("/docs/".into(), params(1000), vec![]),
        ),
        (
            "four 4 KB session cookies, none valid",
            case(
                "/docs/guide.html".into(),
                vec![],
                (0..4)
                    .map(|i| {
                        (
                            "__Host-edge-auth-session".to_owned(),
                            format!("{}.{i}", "e".repeat(4090)),
                        )
                    })
                    .collect(),
            ),
        ),
    ];
    let dir = std::env::temp_dir().join(format!("edge-auth-cf-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let body = function.replacen("import cf from 'cloudfront';", "", 1);
    let mut worst = 0;
    eprintln!("per-request memory of the CloudFront Function in njs (njs.memoryStats.size):");
    for (name, case) in &cases {
        let script = dir.join("memory.js");
        std::fs::write(
            &script,
            format!(
                r#"var KVS = {kvs};
var cf = {{ kvs: function () {{ return {{ get: function (k) {{
  return Object.prototype.hasOwnProperty.call(KVS, k) ? Promise.resolve(KVS[k]) : Promise.reject(new Error('key not found: ' + k));
}} }}; }} }};
{body}
{query_js}
var EVENT = {event};
EVENT.request.querystring = cloudFrontQuery(EVENT.request.querystring);
Date.now = function () {{ return {now} * 1000; }};
var before = njs.memoryStats.size;
(async function () {{
  var out = await handler(EVENT);
  console.log((njs.memoryStats.size - before) + ' ' + (out.statusCode || 'forward'));
}})();
"#,
                kvs = json!(store),
                event = event_of(case),
                now = case.now,
                query_js = CLOUDFRONT_QUERY_JS,
            ),
        )
        .unwrap();
        let output = Command::new("njs")
            .arg("-q")
            .arg(&script)
            .output()
            .expect("njs runs");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{name}: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // The last line: the function's own decision line may come first.
        let last = text.trim().lines().last().unwrap_or_default();
        let (bytes, answer) = last.split_once(' ').unwrap();
        let bytes: usize = bytes.parse().unwrap();
        eprintln!("  {name:<45} {:>9} bytes  ({answer})", bytes);
        worst = worst.max(bytes);
        assert!(
            bytes <= MAX_REQUEST_MEMORY,
            "{name}: {bytes} bytes for one request, over {MAX_REQUEST_MEMORY}"
        );
    }
    eprintln!("  the most: {worst} bytes of CloudFront's 2 MB");
    std::fs::remove_dir_all(&dir).ok();
}

/// The events a deploy has CloudFront's runtime run before it publishes
/// (`function_probe`), in each engine here, under the deployment's store
/// with the probes' revocation: every answer is the core's. And the check
/// is not blind: a function rendered from other rules fails it.
#[test]
fn the_deploys_probes_pass_here_and_catch_a_function_that_differs() {
    let mut config = config();
    config
        .sessions
        .revoke(probe::PROBE_REVOKED_SUB, probe::PROBE_REVOKED_UP_TO);
    let mut store = key_value_store(&config);
    let keys = config.file.session.keys.clone();
    let probes = probe::probes(&config, &keys, NOW);
    let names: Vec<&str> = probes.iter().map(|p| p.name.as_str()).collect();
    for wanted in [
        "no session",
        "a session signed with next-key",
        "an expired session",
        "a forged session",
        "a revoked user's session",
        "a directory path",
        "a rule's path (/admin/p) with group admins",
        "a public path (/signed-out.html)",
        // [tokens] and [shares]: their code in CloudFront's runtime too.
        "a service token at a rule's path (/admin/p)",
        "a damaged service token",
        "a shared link at its page (/admin/p)",
        "a shared link for /admin/p elsewhere (/)",
    ] {
        assert!(names.contains(&wanted), "no probe {wanted:?} in {names:?}");
    }
    // What they are expected to answer: let through (forwarded, or the
    // folder's 301 that only a request let through gets), refused in JSON,
    // let through, sent to sign in.
    let through = |s: String| s.starts_with("forward") || s.starts_with("301 to /admin/p/");
    let expected = |name: &str| {
        probes
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .expected
            .summary()
    };
    assert!(through(expected(
        "a service token at a rule's path (/admin/p)"
    )));
    assert!(
        expected("a damaged service token").starts_with("401"),
        "{}",
        expected("a damaged service token")
    );
    assert!(through(expected("a shared link at its page (/admin/p)")));
    assert!(expected("a shared link for /admin/p elsewhere (/)").starts_with("302"));
    // Each probe tries something else: the answers are not all one.
    let kinds: std::collections::BTreeSet<String> =
        probes.iter().map(|p| p.expected.summary()).collect();
    assert!(kinds.len() >= 6, "{kinds:?}");
    store.insert(
        edge_auth_core::cloudfront_function::revocation_key(probe::PROBE_REVOKED_SUB),
        probe::PROBE_REVOKED_UP_TO.to_string(),
    );
    let run_probes = |function: &str, tag: &str| run_probes(&probes, &store, function, tag);
    for outputs in run_probes(&render(&config), "same") {
        assert_eq!(outputs.len(), probes.len());
        for (probe, output) in probes.iter().zip(&outputs) {
            probe
                .check(output)
                .unwrap_or_else(|e| panic!("{}: {e}\n{output}", probe.name));
        }
    }
    let mut value = kit::config_value("https://auth.example.com");
    value["rules"] = json!([{"pattern": "/admin/*", "groups": ["auditors"]}]);
    let other = kit::config_from(value);
    for outputs in run_probes(&render(&other), "other") {
        let failed: Vec<String> = probes
            .iter()
            .zip(&outputs)
            .filter_map(|(p, o)| p.check(o).err().map(|e| format!("{}: {e}", p.name)))
            .collect();
        assert!(
            failed
                .iter()
                .any(|f| f.contains("with group admins") && f.contains("answered 403")),
            "{failed:?}"
        );
    }
}

/// Each engine's answers (TestFunction's output shape) to `probes`, with
/// `function` under `store`.
fn run_probes(
    probes: &[probe::Probe],
    store: &std::collections::BTreeMap<String, String>,
    function: &str,
    tag: &str,
) -> Vec<Vec<String>> {
    let dir = std::env::temp_dir().join(format!("edge-auth-probe-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("events.json");
    let results = dir.join("results.json");
    let list: Vec<&Value> = probes.iter().map(|p| &p.event).collect();
    std::fs::write(&events, serde_json::to_string(&list).unwrap()).unwrap();
    let body = function.replacen("import cf from 'cloudfront';", "", 1);
    let script = format!(
        r#"var KVS = {kvs};
var cf = {{ kvs: function () {{ return {{ get: function (k) {{
  return Object.prototype.hasOwnProperty.call(KVS, k) ? Promise.resolve(KVS[k]) : Promise.reject(new Error('key not found: ' + k));
}} }}; }} }};
console.log = function () {{}};
{body}
var fs = require('fs');
var events = JSON.parse(fs.readFileSync({events}).toString());
var outputs = [];
(async function () {{
  for (var i = 0; i < events.length; i++) {{
    Date.now = function () {{ return {now} * 1000 + 999; }};
    var out = await handler(events[i]);
    // TestFunction's FunctionOutput: the event object returned.
    outputs.push(JSON.stringify(out.statusCode === undefined ? {{ request: out }} : {{ response: out }}));
  }}
  fs.writeFileSync({results}, JSON.stringify(outputs));
}})();
"#,
        kvs = json!(store),
        events = json!(events.display().to_string()),
        results = json!(results.display().to_string()),
        now = NOW,
    );
    let path = dir.join("probes.js");
    std::fs::write(&path, script).unwrap();
    runtimes()
        .iter()
        .map(|runtime| {
            run(runtime, &path);
            let outputs: Vec<String> =
                serde_json::from_slice(&std::fs::read(&results).unwrap()).unwrap();
            std::fs::remove_file(&results).unwrap();
            outputs
        })
        .collect()
}

/// With a site table the probes go to the first site by its host, with
/// sessions issued for it, and besides try a host that is no site's and a
/// session of another site: every answer in each engine is the core's,
/// and they are not all the 404 of an unknown host.
#[test]
fn the_deploys_probes_of_a_site_table_pass_here() {
    let mut config = table_config();
    config
        .sessions
        .revoke(probe::PROBE_REVOKED_SUB, probe::PROBE_REVOKED_UP_TO);
    let mut store = key_value_store(&config);
    store.insert(
        edge_auth_core::cloudfront_function::revocation_key(probe::PROBE_REVOKED_SUB),
        probe::PROBE_REVOKED_UP_TO.to_string(),
    );
    let keys = config.file.session.keys.clone();
    let probes = probe::probes(&config, &keys, NOW);
    let answer = |name: &str| {
        probes
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no probe {name:?}"))
            .expected
            .summary()
    };
    assert!(answer("a host that is no site's (d111111abcdef8.cloudfront.net)").contains("404"));
    assert!(
        answer("no session").contains("302"),
        "{}",
        answer("no session")
    );
    assert!(answer("a session of another site (status)").contains("302"));
    // Let through (index-path's redirect to the directory): not refused.
    assert_eq!(
        answer("a rule's path (/admin/p) with group admins"),
        "301 to /admin/p/"
    );
    assert!(answer("a rule's path (/admin/p) without its group").contains("403"));
    for outputs in run_probes(&probes, &store, &render(&config), "table") {
        assert_eq!(outputs.len(), probes.len());
        for (probe, output) in probes.iter().zip(&outputs) {
            probe
                .check(output)
                .unwrap_or_else(|e| panic!("{}: {e}\n{output}", probe.name));
        }
    }
}

/// What each optional part costs of the 10 KB, on the deployment of the
/// test kit (one rule): every combination fits, a site table with service
/// tokens and shared links included (README, "Shared links").
#[test]
fn tokens_links_and_a_table_fit_together() {
    let mut sizes = Vec::new();
    for (tokens, shares, table) in (0..8).map(|i| (i & 1 == 1, i & 2 == 2, i & 4 == 4)) {
        let mut v = kit::config_value("https://auth.example.com");
        if tokens {
            v["tokens"] = json!({"max_lifetime_seconds": 86_400});
        }
        if shares {
            v["shares"] = json!({"max_lifetime_seconds": 86_400});
        }
        if table {
            v["sites"] = json!([{"name": "handbook", "base_url": "https://handbook.example.com", "rules": [], "public": []}]);
        }
        let bytes = render(&kit::config_from(v)).len();
        assert!(
            bytes <= MAX_FUNCTION_BYTES,
            "tokens {tokens}, shares {shares}, table {table}: {bytes} bytes"
        );
        sizes.push(format!(
            "tokens {tokens}, shares {shares}, table {table}: {bytes}"
        ));
    }
    eprintln!("{}", sizes.join("\n"));
}
