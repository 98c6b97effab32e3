//! The development provider federating to upstream OpenID providers, the
//! way a Cognito pool does for `[[provider.federation]]`: `authorize`
//! with `identity_provider=<name>` goes to that provider (code flow with
//! PKCE, its own `state` and `nonce`, the `login_hint` passed on), its
//! answer comes back to `/oauth2/idpresponse`, the code is exchanged and
//! the ID token verified by the core's verifier, the attribute mapping
//! makes the pool's attributes of its claims, and the user signs in as
//! `<provider>_<sub>` with Cognito's `identities` claim. SAML is not run
//! here (no SAML identity provider runs on this machine).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use edge_auth_core::query::encode_form;
use serde_json::{Map, Value, json};

/// An upstream provider as `--federate` and the settings give it.
#[derive(Debug, Clone)]
pub struct UpstreamSpec {
    pub name: String,
    pub discovery_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Pool attribute = the upstream's claim.
    pub attributes: BTreeMap<String, String>,
    pub domains: Vec<String>,
}

/// An upstream with what its discovery document says.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub spec: UpstreamSpec,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks: Value,
}

/// `NAME=CLIENT_ID:CLIENT_SECRET@DISCOVERY_URL`.
pub fn parse_federate(value: &str) -> Result<UpstreamSpec, String> {
    let usage = "NAME=CLIENT_ID:CLIENT_SECRET@DISCOVERY_URL";
    let (name, rest) = value.split_once('=').ok_or(usage)?;
    let (client, discovery_url) = rest.split_once('@').ok_or(usage)?;
    let (client_id, client_secret) = client.split_once(':').ok_or(usage)?;
    if name.is_empty() || name == edge_auth_core::routing::NATIVE || client_id.is_empty() {
        return Err(format!("{usage}: a name (not COGNITO) and a client id"));
    }
    if !(discovery_url.starts_with("http://") || discovery_url.starts_with("https://")) {
        return Err(format!("{usage}: the discovery URL is http(s)://…"));
    }
    Ok(UpstreamSpec {
        name: name.into(),
        discovery_url: discovery_url.into(),
        client_id: client_id.into(),
        client_secret: client_secret.into(),
        attributes: BTreeMap::new(),
        domains: Vec::new(),
    })
}

/// Reads each upstream's discovery document and keys.
pub async fn discover(specs: Vec<UpstreamSpec>) -> Result<Vec<Upstream>, String> {
    let client = edge_auth_provider::ProviderClient::new(&Default::default());
    let mut out = Vec::new();
    for spec in specs {
        let doc = client.get_json(&spec.discovery_url).await?;
        let field = |name: &str| {
            doc[name]
                .as_str()
                .map(str::to_owned)
                .ok_or(format!("{}: no {name}", spec.discovery_url))
        };
        let jwks = client.get_json(&field("jwks_uri")?).await?;
        out.push(Upstream {
            issuer: field("issuer")?,
            authorization_endpoint: field("authorization_endpoint")?,
            token_endpoint: field("token_endpoint")?,
            jwks,
            spec,
        });
    }
    Ok(out)
}

/// A sign-in sent upstream: the client's own authorize parameters, and
/// what its answer is held to.
#[derive(Debug, Clone)]
pub struct Pending {
    pub upstream: String,
    pub params: Vec<(String, String)>,
    pub nonce: String,
    pub verifier: String,
    pub expires: u64,
}

/// A user the pool made of an upstream's sign-in.
#[derive(Debug, Clone)]
pub struct FederatedUser {
    pub provider: String,
    pub subject: String,
    pub email: String,
    /// The mapped attributes, as strings (Cognito's attributes are).
    pub attributes: BTreeMap<String, String>,
    pub created: u64,
}

impl FederatedUser {
    /// Cognito's user name for it.
    pub fn username(&self) -> String {
        format!("{}_{}", self.provider, self.subject)
    }

    /// The ID token's claims Cognito adds for a federated user: its
    /// attributes, `identities` (a JSON string), and the group Cognito
    /// makes per provider.
    pub fn claims(&self, pool: &str) -> Map<String, Value> {
        let mut claims = Map::new();
        for (name, value) in &self.attributes {
            claims.insert(name.clone(), json!(value));
        }
        claims.insert("email".into(), json!(self.email));
        claims.insert(
            "identities".into(),
            json!(
                json!([{
                    "userId": self.subject,
                    "providerName": self.provider,
                    "providerType": "OIDC",
                    "issuer": null,
                    "primary": "true",
                    "dateCreated": (self.created * 1000).to_string(),
                }])
                .to_string()
            ),
        );
        claims.insert(
            "cognito:groups".into(),
            json!([format!("{pool}_{}", self.provider)]),
        );
        claims
    }
}

/// The upstream's authorization URL for a pending sign-in.
pub fn authorize_url(
    upstream: &Upstream,
    redirect_uri: &str,
    state: &str,
    pending: &Pending,
    login_hint: Option<&str>,
) -> String {
    let challenge = B64.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        pending.verifier.as_bytes(),
    ));
    let query = encode_form(
        [
            ("response_type", "code"),
            ("client_id", upstream.spec.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("scope", "openid email profile"),
            ("state", state),
            ("nonce", pending.nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .chain(login_hint.map(|h| ("login_hint", h))),
    );
    let sep = if upstream.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{sep}{query}", upstream.authorization_endpoint)
}

/// The code exchanged at the upstream, its ID token verified by the core
/// (signature by its keys, issuer, audience, nonce, time), the mapping
/// applied: the user, or why not.
pub async fn complete(
    upstream: &Upstream,
    code: &str,
    redirect_uri: &str,
    pending: &Pending,
    now: u64,
) -> Result<FederatedUser, String> {
    // client_secret_basic: each half form-encoded (RFC 6749 §2.3.1).
    let encoded = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let basic = STANDARD.encode(format!(
        "{}:{}",
        encoded(&upstream.spec.client_id),
        encoded(&upstream.spec.client_secret)
    ));
    let request = edge_auth_core::provider::HttpRequest {
        url: upstream.token_endpoint.clone(),
        headers: vec![
            ("content-type", "application/x-www-form-urlencoded".into()),
            ("authorization", format!("Basic {basic}")),
        ],
        body: encode_form([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", pending.verifier.as_str()),
        ]),
    };
    let client = edge_auth_provider::ProviderClient::new(&Default::default());
    let body = match client
        .post(&request, None, edge_auth_provider::Retry::NotSentOnly)
        .await
    {
        edge_auth_core::provider::ProviderOutcome::Answered { status: 200, body } => body,
        edge_auth_core::provider::ProviderOutcome::Answered { status, body } => {
            return Err(format!(
                "{}'s token endpoint answered {status}: {}",
                upstream.spec.name,
                String::from_utf8_lossy(&body)
            ));
        }
        other => {
            return Err(format!(
                "{}'s token endpoint: {other:?}",
                upstream.spec.name
            ));
        }
    };
    let answer: Value =
        serde_json::from_slice(&body).map_err(|e| format!("token answer not JSON: {e}"))?;
    let id_token = answer["id_token"]
        .as_str()
        .ok_or("the token answer has no id_token")?;
    let settings: edge_auth_core::config::ProviderSettings = serde_json::from_value(json!({
        "issuer": upstream.issuer,
        "client_id": upstream.spec.client_id,
        "authorization_endpoint": upstream.authorization_endpoint,
        "token_endpoint": upstream.token_endpoint,
        "jwks": upstream.jwks,
        "clock_skew_seconds": 30,
    }))
    .map_err(|e| e.to_string())?;
    let verifier =
        edge_auth_core::token::TokenVerifier::new(&settings).map_err(|e| e.to_string())?;
    let verified = verifier
        .verify(id_token, now, Some(&pending.nonce))
        .map_err(|e| format!("{}'s ID token: {e}", upstream.spec.name))?;
    // Verified: its claims, for the mapping.
    let payload = id_token.split('.').nth(1).unwrap_or("");
    let claims: Map<String, Value> = B64
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the ID token's claims do not read")?;
    let mut attributes = BTreeMap::new();
    for (pool, theirs) in &upstream.spec.attributes {
        let value = match claims.get(theirs) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => s.clone(),
            // Cognito keeps a multi-valued claim as its JSON text.
            Some(other) => other.to_string(),
        };
        attributes.insert(pool.clone(), value);
    }
    let email = attributes
        .remove("email")
        .or(verified.email)
        .ok_or(format!("{} sent no e-mail address", upstream.spec.name))?;
    Ok(FederatedUser {
        provider: upstream.spec.name.clone(),
        subject: verified.subject,
        email,
        attributes,
        created: now,
    })
}
