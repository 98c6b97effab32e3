//! Test support shared by the crates' tests and benchmarks.

pub mod moto;
pub mod provider_server;

use edge_auth_core::event::{
    CloudFrontPayload, CloudFrontRequest, DistributionConfig, parse_event,
};
use edge_auth_core::{Config, Entropy};
use serde_json::{Map, Value, json};

pub const ISSUER: &str = "https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_TEST";
pub const CLIENT_ID: &str = "test-client-id";
/// The fixed "now" of the tests: 2027-01-15.
pub const NOW: u64 = 1_800_000_000;

pub const KEY_1_PEM: &str = include_str!("../keys/test-key-1.pem");
/// Not in the published key set: the attacker's key.
pub const KEY_2_PEM: &str = include_str!("../keys/test-key-2.pem");
/// The public half of key 1, as PEM: the secret of the classic HS256 confusion attack.
pub const KEY_1_PUBLIC_PEM: &str = include_str!("../keys/test-key-1.pub.pem");
pub const JWKS: &str = include_str!("../keys/jwks.json");
pub const VIEWER_REQUEST: &str = include_str!("../fixtures/viewer-request.json");
pub const ORIGIN_REQUEST_S3: &str = include_str!("../fixtures/origin-request-s3.json");
pub const ORIGIN_REQUEST_BODY: &str = include_str!("../fixtures/origin-request-body.json");
pub const GENERATED_RESPONSE: &str = include_str!("../fixtures/generated-response.json");

/// A complete, valid config for a Cognito-like provider at `provider_base`.
pub fn config_value(provider_base: &str) -> Value {
    json!({
        "version": 2,
        "session": {
            "keys": [ { "kid": SESSION_KID, "key": SESSION_KEY } ],
            "signing_keys": { "kind": "file", "path": session_keys_file() }
        },
        "provider": {
            "issuer": ISSUER,
            "client_id": CLIENT_ID,
            "authorization_endpoint": format!("{provider_base}/oauth2/authorize"),
            "token_endpoint": format!("{provider_base}/oauth2/token"),
            "revocation_endpoint": format!("{provider_base}/oauth2/revoke"),
            "logout": { "kind": "cognito", "url": format!("{provider_base}/logout") },
            "jwks": serde_json::from_str::<Value>(JWKS).unwrap(),
            "token_use": "id",
            "clock_skew_seconds": 30
        },
        "rules": [ { "pattern": "/admin/*", "groups": ["admins"] } ],
        "secret": { "kind": "file", "path": "/nonexistent/secret.json" }
    })
}

/// The test deployment's session key (32 bytes of 0x5e, base64url).
pub const SESSION_KEY: &str = "Xl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl4";
pub const SESSION_KID: &str = "test-session-1";

/// A file with the test deployment's session key set, as the signers read
/// it (written once per test process).
pub fn session_keys_file() -> String {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let path = std::env::temp_dir().join(format!(
            "edge-auth-test-session-keys-{}.json",
            std::process::id()
        ));
        let set =
            json!({"signing_kid": SESSION_KID, "keys": [{"kid": SESSION_KID, "key": SESSION_KEY}]});
        std::fs::write(&path, set.to_string()).expect("the temporary folder is writable");
        path.display().to_string()
    })
    .clone()
}

/// The signer of the test deployment's sessions.
pub fn signer() -> edge_auth_core::session::SessionSigner {
    edge_auth_core::session::SessionSigner::new(&[session_key_file()], SESSION_KID).unwrap()
}

pub fn session_key_file() -> edge_auth_core::session::SessionKeyFile {
    edge_auth_core::session::SessionKeyFile {
        kid: SESSION_KID.into(),
        key: SESSION_KEY.into(),
        not_after: None,
    }
}

/// The keys the provider-facing handlers would hold with [`config`].
pub fn keys(config: &Config) -> edge_auth_core::signin::Keys<'_> {
    static SIGNER: std::sync::OnceLock<edge_auth_core::session::SessionSigner> =
        std::sync::OnceLock::new();
    edge_auth_core::signin::Keys {
        provider: &config.verifier,
        signer: Some(SIGNER.get_or_init(signer)),
    }
}

/// The session `signin` would issue for [`id_token`]'s user at [`NOW`].
pub fn session_claims() -> edge_auth_core::session::SessionClaims {
    edge_auth_core::session::SessionClaims {
        sub: "3b7a1f5e-0000-4000-8000-000000000001".into(),
        name: "alice".into(),
        groups: vec![],
        sid: "c2Vzc2lvbi1pZC0wMDAx".into(),
        iat: NOW - 60,
        exp: NOW + 3600,
        auth_time: None,
        idp_auth_time: None,
        mfa: None,
        site: None,
    }
}

/// A refresh cookie bound to [`session_claims`]'s session (its `sid`, an
/// ID token without `azp`), as signin sets it: `name=value`.
pub fn refresh_cookie(token: &str) -> String {
    format!(
        "__Secure-edge-auth-refresh={}.n.{token}",
        session_claims().sid
    )
}

/// A valid session cookie value for [`session_claims`].
pub fn session() -> String {
    signer().sign(&session_claims())
}

pub fn config() -> Config {
    config_from(config_value("https://auth.example.com"))
}

pub fn config_from(value: Value) -> Config {
    Config::from_json(&value.to_string()).expect("test config is valid")
}

/// A fresh ID token with Cognito's claims, valid at [`NOW`].
pub fn id_token() -> TokenBuilder {
    TokenBuilder::new(json!({
        "sub": "3b7a1f5e-0000-4000-8000-000000000001",
        "aud": CLIENT_ID,
        "iss": ISSUER,
        "token_use": "id",
        "auth_time": NOW - 60,
        "iat": NOW - 60,
        "exp": NOW + 3600,
        "cognito:username": "alice",
        "cognito:groups": ["readers"],
        "email": "alice@example.com",
        "email_verified": true,
    }))
}

pub struct TokenBuilder {
    claims: Map<String, Value>,
    header: Map<String, Value>,
    pem: &'static str,
}

impl TokenBuilder {
    pub fn new(claims: Value) -> Self {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": "test-key-1"});
        Self {
            claims: claims.as_object().cloned().unwrap_or_default(),
            header: header.as_object().cloned().unwrap(),
            pem: KEY_1_PEM,
        }
    }
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }
    pub fn without(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }
    pub fn kid(mut self, kid: Option<&str>) -> Self {
        match kid {
            Some(kid) => self.header.insert("kid".into(), kid.into()),
            None => self.header.remove("kid"),
        };
        self
    }
    /// Sets (or replaces) a JOSE header parameter.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.into(), value.into());
        self
    }
    /// Signs with the key that is not in the published set.
    pub fn attacker_key(mut self) -> Self {
        self.pem = KEY_2_PEM;
        self
    }
    /// An RS256 JWT: base64url(header).base64url(claims).base64url(signature).
    pub fn sign(self) -> String {
        let input = format!(
            "{}.{}",
            b64(&serde_json::to_vec(&self.header).unwrap()),
            self.claims_b64()
        );
        format!("{input}.{}", b64(&rs256(self.pem, input.as_bytes())))
    }
    /// The unsigned parts, for hand-made forgeries.
    pub fn claims_b64(&self) -> String {
        b64(&serde_json::to_vec(&self.claims).unwrap())
    }
}

/// An RSASSA-PKCS1-v1_5 SHA-256 signature with a PKCS#8 PEM private key.
pub fn rs256(pem: &str, message: &[u8]) -> Vec<u8> {
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let key = RsaKeyPair::from_pkcs8(&der).unwrap();
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        message,
        &mut signature,
    )
    .unwrap();
    signature
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The documented viewer-request sample, with this path, query and cookies.
pub fn viewer_request(
    uri: &str,
    query: &str,
    cookies: &[String],
) -> (CloudFrontRequest, DistributionConfig) {
    let payload = payload(VIEWER_REQUEST);
    let mut request = payload.request;
    request.uri = uri.into();
    request.querystring = query.into();
    if !cookies.is_empty() {
        request.headers.append("Cookie", cookies.join("; "));
    }
    (request, payload.config)
}

pub fn payload(json: &str) -> CloudFrontPayload {
    parse_event(serde_json::from_str(json).unwrap()).unwrap()
}

/// Counts up from a seed: every flow gets different but predictable values.
pub struct CountingEntropy(pub u8);

impl Entropy for CountingEntropy {
    fn fill(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.0;
            self.0 = self.0.wrapping_add(1);
        }
    }
}

/// Cookie `name=value` pairs from a response's `Set-Cookie` headers that set
/// (not clear) a value.
pub fn set_cookies(response: &edge_auth_core::CloudFrontResponse) -> Vec<(String, String)> {
    response
        .headers
        .values("set-cookie")
        .filter(|c| !c.contains("Max-Age=0"))
        .filter_map(|c| {
            c.split(';')
                .next()?
                .split_once('=')
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
        })
        .collect()
}

/// Names of the cookies a response clears.
pub fn cleared_cookies(response: &edge_auth_core::CloudFrontResponse) -> Vec<String> {
    response
        .headers
        .values("set-cookie")
        .filter(|c| c.contains("Max-Age=0"))
        .filter_map(|c| c.split('=').next().map(str::to_owned))
        .collect()
}
