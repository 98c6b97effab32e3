//! A development identity provider that behaves like Cognito's hosted UI and
//! OAuth 2.0 endpoints, for local runs and tests only: discovery, JWKS,
//! authorize with a login form, token (authorization_code with PKCE S256
//! required; refresh_token), revoke and logout. Tokens are RS256 with
//! Cognito's claims, signed with the repository's test key (public, and
//! worthless outside this machine). `POST /_dev/rotate-signing-key` makes
//! it rotate as Okta, Google or Entra ID do: it signs with a second key
//! from then on and publishes both.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use edge_auth_core::pages::escape;
use edge_auth_core::query::{encode_form, parse_query, single};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cloudfront::Answer;

const SIGNING_KEY: &str = include_str!("../../testkit/keys/test-key-1.pem");
const JWKS: &str = include_str!("../../testkit/keys/jwks.json");
/// The key it rotates to, and its public half.
const NEXT_SIGNING_KEY: &str = include_str!("../../testkit/keys/test-key-2.pem");
const NEXT_JWK: &str = include_str!("../../testkit/keys/other-key.jwk.json");
const SESSION_COOKIE: &str = "dev-idp-session";
const CODE_LIFETIME: u64 = 300;

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub username: String,
    pub password: String,
    pub email: String,
    #[serde(default)]
    pub groups: Vec<String>,
}

pub struct IdpSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub logout_uris: Vec<String>,
    pub id_token_ttl: u64,
    pub refresh_token_ttl: u64,
    pub users: Vec<User>,
    /// Upstream providers it federates to (`--federate`), as a pool does.
    pub upstreams: Vec<crate::federation::Upstream>,
}

/// What the pool is called in the group Cognito makes per provider
/// (`<pool id>_<provider>`).
const POOL_NAME: &str = "edge-auth-dev";

struct CodeGrant {
    username: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    expires: u64,
}

#[derive(Default)]
struct State {
    codes: HashMap<String, CodeGrant>,
    /// refresh token -> (username, expires, revoked)
    refresh: HashMap<String, (String, u64, bool)>,
    sessions: HashMap<String, String>,
    /// Sign-ins sent upstream, by the `state` sent there.
    pending: HashMap<String, crate::federation::Pending>,
    /// Users made of upstream sign-ins, by user name.
    federated: HashMap<String, crate::federation::FederatedUser>,
}

pub struct DevIdp {
    settings: IdpSettings,
    key: aws_lc_rs::signature::RsaKeyPair,
    next_key: aws_lc_rs::signature::RsaKeyPair,
    /// Signing with `next_key` (kid `test-key-2`) since a rotation.
    rotated: std::sync::atomic::AtomicBool,
    state: Mutex<State>,
}

fn key_pair(pem: &str) -> aws_lc_rs::signature::RsaKeyPair {
    let der = STANDARD
        .decode(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .expect("the test key is base64");
    aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&der).expect("the test key is PKCS#8 RSA")
}

pub struct IdpRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

fn now() -> u64 {
    edge_auth_lambda::now()
}

fn random() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    B64.encode(bytes)
}

fn json_answer(status: u16, body: Value) -> Answer {
    Answer {
        status,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("cache-control".into(), "no-store".into()),
        ],
        body: body.to_string().into_bytes(),
    }
}

fn oauth_error(status: u16, error: &str, description: &str) -> Answer {
    json_answer(
        status,
        json!({"error": error, "error_description": description}),
    )
}

fn redirect(location: &str, cookie: Option<String>) -> Answer {
    let mut headers = vec![
        ("location".into(), location.to_owned()),
        ("cache-control".into(), "no-store".into()),
    ];
    if let Some(cookie) = cookie {
        headers.push(("set-cookie".into(), cookie));
    }
    Answer {
        status: 302,
        headers,
        body: Vec::new(),
    }
}

fn html(status: u16, body: String) -> Answer {
    Answer {
        status,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: body.into_bytes(),
    }
}

fn with_params(url: &str, pairs: &[(&str, &str)]) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", encode_form(pairs.iter().copied()))
}

impl DevIdp {
    pub fn new(settings: IdpSettings) -> Self {
        Self {
            settings,
            key: key_pair(SIGNING_KEY),
            next_key: key_pair(NEXT_SIGNING_KEY),
            rotated: std::sync::atomic::AtomicBool::new(false),
            state: Mutex::new(State::default()),
        }
    }

    fn is_rotated(&self) -> bool {
        self.rotated.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn settings(&self) -> &IdpSettings {
        &self.settings
    }

    pub fn discovery(&self) -> Value {
        let base = &self.settings.issuer;
        json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/oauth2/authorize"),
            "token_endpoint": format!("{base}/oauth2/token"),
            "revocation_endpoint": format!("{base}/oauth2/revoke"),
            "end_session_endpoint": format!("{base}/logout"),
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "userinfo_endpoint": format!("{base}/oauth2/userInfo"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        })
    }

    /// The published key set: the first key, and after a rotation the new
    /// one before it (the old one stays published, as providers keep it
    /// while tokens it signed are still valid).
    pub fn jwks(&self) -> Value {
        let mut jwks: Value = serde_json::from_str(JWKS).expect("jwks.json is JSON");
        if self.is_rotated()
            && let Some(keys) = jwks["keys"].as_array_mut()
        {
            keys.insert(0, serde_json::from_str(NEXT_JWK).expect("the JWK is JSON"));
        }
        jwks
    }

    /// [`Self::handle`], and an upstream's answer (`/oauth2/idpresponse`),
    /// which calls the upstream.
    pub async fn handle_async(&self, req: IdpRequest<'_>) -> Answer {
        if req.method == "GET" && req.path == "/oauth2/idpresponse" {
            return self.idp_response(req.query, req.headers).await;
        }
        self.handle(req)
    }

    pub fn handle(&self, req: IdpRequest<'_>) -> Answer {
        match (req.method, req.path) {
            ("GET", "/.well-known/openid-configuration") => json_answer(200, self.discovery()),
            ("GET", "/.well-known/jwks.json") => json_answer(200, self.jwks()),
            ("POST", "/_dev/rotate-signing-key") => {
                self.rotated
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                json_answer(200, json!({"signing_kid": "test-key-2"}))
            }
            ("GET", "/oauth2/authorize") => self.authorize(req.query, req.headers),
            ("POST", "/login") => self.login(req.body),
            ("POST", "/oauth2/token") => self.token(req.headers, req.body),
            ("POST", "/oauth2/revoke") => self.revoke(req.headers, req.body),
            ("GET", "/logout") => self.logout(req.query, req.headers),
            _ => html(404, "<h1>Not found</h1>".into()),
        }
    }

    fn authorize(&self, query: &str, headers: &[(String, String)]) -> Answer {
        let Ok(q) = parse_query(query) else {
            return html(400, "<h1>Malformed request</h1>".into());
        };
        let get = |name| single(&q, name).ok().flatten().unwrap_or("").to_owned();
        let (client_id, redirect_uri) = (get("client_id"), get("redirect_uri"));
        // Like Cognito: an unknown client or redirect URI is shown, never followed.
        if client_id != self.settings.client_id
            || !self.settings.redirect_uris.contains(&redirect_uri)
        {
            return html(
                400,
                "<h1>redirect_mismatch</h1><p>Unknown client or redirect URI.</p>".into(),
            );
        }
        let state = get("state");
        let refuse = |error: &str| {
            redirect(
                &with_params(&redirect_uri, &[("error", error), ("state", &state)]),
                None,
            )
        };
        if get("response_type") != "code" {
            return refuse("unsupported_response_type");
        }
        if get("code_challenge_method") != "S256" || get("code_challenge").len() < 43 {
            return refuse("invalid_request");
        }
        if !get("scope").split(' ').any(|s| s == "openid") {
            return refuse("invalid_scope");
        }
        // A provider named: Cognito goes there (any other name is refused,
        // as Cognito refuses it); COGNITO is its own form.
        let named = get("identity_provider");
        if !named.is_empty() && named != edge_auth_core::routing::NATIVE {
            let Some(upstream) = self
                .settings
                .upstreams
                .iter()
                .find(|u| u.spec.name == named)
            else {
                return html(
                    400,
                    format!(
                        "<h1>Login option is not available</h1><p>{} is not an identity provider of this pool.</p>",
                        escape(&named)
                    ),
                );
            };
            return self.to_upstream(upstream, &q);
        }
        // An existing session signs in without the form, as the hosted UI
        // does, unless the client asks for a fresh sign-in (`prompt=login`,
        // OpenID Connect Core 3.1.2.1), as "sign in as someone else" does.
        if get("prompt") != "login"
            && let Some(user) = self.session_user(headers)
        {
            return self.issue_code(&user, &q);
        }
        html(
            200,
            login_page(&q, None, &self.settings.users, &self.upstream_names()),
        )
    }

    fn upstream_names(&self) -> Vec<String> {
        self.settings
            .upstreams
            .iter()
            .map(|u| u.spec.name.clone())
            .collect()
    }

    /// Where an upstream's answer comes back (Cognito's path).
    fn idp_response_uri(&self) -> String {
        format!("{}/oauth2/idpresponse", self.settings.issuer)
    }

    fn to_upstream(
        &self,
        upstream: &crate::federation::Upstream,
        params: &[(String, String)],
    ) -> Answer {
        let state = random();
        let pending = crate::federation::Pending {
            upstream: upstream.spec.name.clone(),
            params: params.to_vec(),
            nonce: random(),
            verifier: random(),
            expires: now() + CODE_LIFETIME,
        };
        let hint = single(params, "login_hint").ok().flatten();
        let url = crate::federation::authorize_url(
            upstream,
            &self.idp_response_uri(),
            &state,
            &pending,
            hint,
        );
        self.state.lock().unwrap().pending.insert(state, pending);
        redirect(&url, None)
    }

    /// The upstream's answer: its code exchanged and its ID token
    /// verified, the user made or updated, a code for the client.
    async fn idp_response(&self, query: &str, _headers: &[(String, String)]) -> Answer {
        let q = parse_query(query).unwrap_or_default();
        let get = |name| single(&q, name).ok().flatten().unwrap_or("").to_owned();
        let Some(pending) = self.state.lock().unwrap().pending.remove(&get("state")) else {
            return html(
                400,
                "<h1>invalid_state</h1><p>No sign-in in progress for this answer.</p>".into(),
            );
        };
        let client = |name: &str| {
            single(&pending.params, name)
                .ok()
                .flatten()
                .unwrap_or("")
                .to_owned()
        };
        let back = |error: &str, description: &str| {
            redirect(
                &with_params(
                    &client("redirect_uri"),
                    &[
                        ("error", error),
                        ("error_description", description),
                        ("state", &client("state")),
                    ],
                ),
                None,
            )
        };
        if pending.expires < now() {
            return back(
                "access_denied",
                "the sign-in at the identity provider took too long",
            );
        }
        if !get("error").is_empty() {
            return back(
                "access_denied",
                &format!("{}: {}", pending.upstream, get("error")),
            );
        }
        let Some(upstream) = self
            .settings
            .upstreams
            .iter()
            .find(|u| u.spec.name == pending.upstream)
        else {
            return back("server_error", "unknown identity provider");
        };
        let user = match crate::federation::complete(
            upstream,
            &get("code"),
            &self.idp_response_uri(),
            &pending,
            now(),
        )
        .await
        {
            Ok(user) => user,
            Err(why) => {
                tracing::warn!(provider = %pending.upstream, %why, "federated sign-in refused");
                return back("invalid_request", &why);
            }
        };
        let username = user.username();
        let session = random();
        {
            let mut state = self.state.lock().unwrap();
            state.federated.insert(username.clone(), user);
            state.sessions.insert(session.clone(), username.clone());
        }
        let mut answer = self.issue_code(&username, &pending.params);
        answer.headers.push((
            "set-cookie".into(),
            format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"),
        ));
        answer
    }

    fn login(&self, body: &[u8]) -> Answer {
        let Ok(form) = parse_query(&String::from_utf8_lossy(body)) else {
            return html(400, "<h1>Malformed form</h1>".into());
        };
        let get = |name| single(&form, name).ok().flatten().unwrap_or("").to_owned();
        let (client_id, redirect_uri, state) =
            (get("client_id"), get("redirect_uri"), get("state"));
        if client_id != self.settings.client_id
            || !self.settings.redirect_uris.contains(&redirect_uri)
        {
            return html(400, "<h1>redirect_mismatch</h1>".into());
        }
        if get("action") == "cancel" {
            return redirect(
                &with_params(
                    &redirect_uri,
                    &[("error", "access_denied"), ("state", &state)],
                ),
                None,
            );
        }
        let (username, password) = (get("username"), get("password"));
        let Some(user) = self
            .settings
            .users
            .iter()
            .find(|u| u.username == username && u.password == password)
        else {
            return html(
                401,
                login_page(
                    &form,
                    Some("Incorrect username or password."),
                    &self.settings.users,
                    &self.upstream_names(),
                ),
            );
        };
        let session = random();
        self.state
            .lock()
            .unwrap()
            .sessions
            .insert(session.clone(), user.username.clone());
        let mut answer = self.issue_code(&user.username, &form);
        answer.headers.push((
            "set-cookie".into(),
            format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"),
        ));
        answer
    }

    fn issue_code(&self, username: &str, params: &[(String, String)]) -> Answer {
        let get = |name| single(params, name).ok().flatten().unwrap_or("").to_owned();
        let code = random();
        let grant = CodeGrant {
            username: username.to_owned(),
            redirect_uri: get("redirect_uri"),
            challenge: get("code_challenge"),
            nonce: Some(get("nonce")).filter(|n| !n.is_empty()),
            expires: now() + CODE_LIFETIME,
        };
        let location = with_params(
            &grant.redirect_uri,
            &[("code", &code), ("state", &get("state"))],
        );
        self.state.lock().unwrap().codes.insert(code, grant);
        redirect(&location, None)
    }

    fn session_user(&self, headers: &[(String, String)]) -> Option<String> {
        let cookies = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'));
        let state = self.state.lock().unwrap();
        cookies
            .filter_map(|c| c.trim().strip_prefix(&format!("{SESSION_COOKIE}=")))
            .find_map(|sid| state.sessions.get(sid).cloned())
    }

    /// client_secret_basic (or _post): the client must prove its secret.
    fn client_authenticated(
        &self,
        headers: &[(String, String)],
        form: &[(String, String)],
    ) -> bool {
        let basic = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| v.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok());
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        let (id, secret) = match basic {
            Some(pair) => match pair.split_once(':') {
                Some((id, secret)) => (decode(id), decode(secret)),
                None => return false,
            },
            None => {
                let get = |name| single(form, name).ok().flatten().unwrap_or("").to_owned();
                (get("client_id"), get("client_secret"))
            }
        };
        id == self.settings.client_id && secret == self.settings.client_secret
    }

    fn token(&self, headers: &[(String, String)], body: &[u8]) -> Answer {
        let Ok(form) = parse_query(&String::from_utf8_lossy(body)) else {
            return oauth_error(400, "invalid_request", "malformed form");
        };
        if !self.client_authenticated(headers, &form) {
            return oauth_error(401, "invalid_client", "client authentication failed");
        }
        let get = |name| single(&form, name).ok().flatten().unwrap_or("").to_owned();
        match get("grant_type").as_str() {
            "authorization_code" => {
                let Some(grant) = self.state.lock().unwrap().codes.remove(&get("code")) else {
                    return oauth_error(400, "invalid_grant", "unknown or used code");
                };
                if grant.expires < now() || grant.redirect_uri != get("redirect_uri") {
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "code expired or redirect_uri differs",
                    );
                }
                let verifier = get("code_verifier");
                let challenge = B64.encode(aws_lc_rs::digest::digest(
                    &aws_lc_rs::digest::SHA256,
                    verifier.as_bytes(),
                ));
                if verifier.len() < 43 || challenge != grant.challenge {
                    return oauth_error(400, "invalid_grant", "PKCE verification failed");
                }
                let refresh = random();
                self.state.lock().unwrap().refresh.insert(
                    refresh.clone(),
                    (
                        grant.username.clone(),
                        now() + self.settings.refresh_token_ttl,
                        false,
                    ),
                );
                self.tokens(&grant.username, grant.nonce.as_deref(), Some(&refresh))
            }
            "refresh_token" => {
                let token = get("refresh_token");
                let username = match self.state.lock().unwrap().refresh.get(&token) {
                    Some((user, expires, false)) if *expires > now() => user.clone(),
                    _ => {
                        return oauth_error(
                            400,
                            "invalid_grant",
                            "refresh token invalid, expired or revoked",
                        );
                    }
                };
                self.tokens(&username, None, None)
            }
            _ => oauth_error(
                400,
                "unsupported_grant_type",
                "use authorization_code or refresh_token",
            ),
        }
    }

    fn tokens(&self, username: &str, nonce: Option<&str>, refresh: Option<&str>) -> Answer {
        let federated = self.state.lock().unwrap().federated.get(username).cloned();
        let fallback;
        let user = match (
            self.settings.users.iter().find(|u| u.username == username),
            &federated,
        ) {
            (Some(user), _) => user,
            (None, Some(f)) => {
                fallback = User {
                    username: f.username(),
                    password: String::new(),
                    email: f.email.clone(),
                    groups: Vec::new(),
                };
                &fallback
            }
            (None, None) => return oauth_error(400, "invalid_grant", "user no longer exists"),
        };
        let now = now();
        let exp = now + self.settings.id_token_ttl;
        let sub = B64.encode(
            &aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, user.username.as_bytes())
                .as_ref()[..16],
        );
        let mut id = json!({
            "sub": sub, "aud": self.settings.client_id, "iss": self.settings.issuer, "token_use": "id",
            "auth_time": now, "iat": now, "exp": exp, "cognito:username": user.username,
            "cognito:groups": user.groups, "email": user.email, "email_verified": true,
        });
        if let Some(f) = &federated {
            for (name, value) in f.claims(POOL_NAME) {
                id[name] = value;
            }
        }
        if let Some(nonce) = nonce {
            id["nonce"] = json!(nonce);
        }
        let access = json!({
            "sub": sub, "iss": self.settings.issuer, "client_id": self.settings.client_id, "token_use": "access",
            "scope": "openid email profile", "auth_time": now, "iat": now, "exp": exp, "username": user.username,
            "cognito:groups": user.groups,
        });
        let mut body = json!({
            "id_token": self.sign(&id), "access_token": self.sign(&access),
            "token_type": "Bearer", "expires_in": self.settings.id_token_ttl,
        });
        if let Some(refresh) = refresh {
            body["refresh_token"] = json!(refresh);
        }
        json_answer(200, body)
    }

    fn sign(&self, claims: &Value) -> String {
        let (key, kid) = if self.is_rotated() {
            (&self.next_key, "test-key-2")
        } else {
            (&self.key, "test-key-1")
        };
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let mut signature = vec![0; key.public_modulus_len()];
        key.sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut signature,
        )
        .expect("signing with the test key");
        format!("{input}.{}", B64.encode(signature))
    }

    fn revoke(&self, headers: &[(String, String)], body: &[u8]) -> Answer {
        let Ok(form) = parse_query(&String::from_utf8_lossy(body)) else {
            return oauth_error(400, "invalid_request", "malformed form");
        };
        if !self.client_authenticated(headers, &form) {
            return oauth_error(401, "invalid_client", "client authentication failed");
        }
        let token = single(&form, "token")
            .ok()
            .flatten()
            .unwrap_or("")
            .to_owned();
        if let Some(entry) = self.state.lock().unwrap().refresh.get_mut(&token) {
            entry.2 = true;
        }
        // RFC 7009: an unknown token is not an error.
        json_answer(200, json!({}))
    }

    fn logout(&self, query: &str, headers: &[(String, String)]) -> Answer {
        let q = parse_query(query).unwrap_or_default();
        let get = |name| single(&q, name).ok().flatten().unwrap_or("").to_owned();
        let target = [get("logout_uri"), get("post_logout_redirect_uri")]
            .into_iter()
            .find(|u| !u.is_empty())
            .unwrap_or_default();
        if get("client_id") != self.settings.client_id
            || !self.settings.logout_uris.contains(&target)
        {
            return html(400, "<h1>Unknown client or logout URI</h1>".into());
        }
        if let Some(user) = self.session_user(headers) {
            self.state
                .lock()
                .unwrap()
                .sessions
                .retain(|_, u| *u != user);
        }
        redirect(
            &target,
            Some(format!(
                "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
            )),
        )
    }
}

/// The sign-in form. A development tool: it lists the demo accounts, and
/// after a wrong password it keeps the username that was typed.
fn login_page(
    params: &[(String, String)],
    error: Option<&str>,
    users: &[User],
    upstreams: &[String],
) -> String {
    // Cognito's hosted UI offers each provider of the pool beside its form.
    let others: String = upstreams
        .iter()
        .map(|name| {
            let query = encode_form(
                params
                    .iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "identity_provider" | "username" | "password" | "action"
                        )
                    })
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .chain([("identity_provider", name.as_str())]),
            );
            format!(
                r#"<p><a class="idp" href="/oauth2/authorize?{}">Sign in with {}</a></p>"#,
                escape(&query),
                escape(name)
            )
        })
        .collect();
    let hidden: String = [
        "client_id",
        "redirect_uri",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "scope",
    ]
    .iter()
    .map(|name| {
        let value = single(params, name).ok().flatten().unwrap_or("");
        format!(
            r#"<input type="hidden" name="{name}" value="{}">"#,
            escape(value)
        )
    })
    .collect();
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default();
    let typed = escape(single(params, "username").ok().flatten().unwrap_or(""));
    let focus = if typed.is_empty() {
        "username"
    } else {
        "password"
    };
    let accounts: String = users
        .iter()
        .map(|u| {
            format!(
                "<li><code>{}</code> / <code>{}</code>{}</li>",
                escape(&u.username),
                escape(&u.password),
                if u.groups.is_empty() {
                    String::new()
                } else {
                    format!(" <small>({})</small>", escape(&u.groups.join(", ")))
                }
            )
        })
        .collect();
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in — development provider</title>
<style>body{{font:16px system-ui,sans-serif;background:#eef1f6;display:grid;place-items:center;min-height:100vh;margin:0}}form{{background:#fff;padding:2rem;border-radius:10px;box-shadow:0 2px 12px #0002;width:20rem}}label{{display:block;margin:.8rem 0 .2rem}}input[type=text],input[type=password]{{width:100%;padding:.5rem;box-sizing:border-box}}button{{margin-top:1rem;padding:.5rem 1rem}}.error{{color:#b00020}}small{{color:#666}}.demo{{margin-top:1.2rem;font-size:.9rem}}.demo ul{{padding-left:1.2rem}}</style></head>
<body><form method="post" action="/login"><h1>Sign in</h1><small>edge-auth development identity provider</small>{error}{hidden}
<label for="username">Username</label><input id="username" name="username" type="text" autocomplete="username" value="{typed}"{username_focus}>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password"{password_focus}>
<button type="submit" name="action" value="signin">Sign in</button> <button type="submit" name="action" value="cancel">Cancel</button>
<details class="demo" open><summary>Demo accounts</summary><ul>{accounts}</ul></details>{others}</form></body></html>"#,
        username_focus = if focus == "username" {
            " autofocus"
        } else {
            ""
        },
        password_focus = if focus == "password" {
            " autofocus"
        } else {
            ""
        },
    )
}
