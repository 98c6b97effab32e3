//! Calls to the identity provider, described as data. The core says which
//! call to make and turns the answer into a response; the I/O layer makes it.

use base64::Engine;
use serde::Deserialize;

use crate::config::ClientAuth;
use crate::query::encode_form;

/// A form POST to a provider endpoint, before client authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCall {
    pub purpose: CallPurpose,
    pub endpoint: String,
    pub form: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPurpose {
    ExchangeCode,
    RefreshTokens,
    RevokeRefreshToken,
}

impl CallPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExchangeCode => "exchange-code",
            Self::RefreshTokens => "refresh-tokens",
            Self::RevokeRefreshToken => "revoke-refresh-token",
        }
    }
}

/// The app client's identity.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret, whatever logs a Debug impl ends up in.
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the secret is empty")]
    Empty,
    #[error("the secret is JSON but has no string `client_secret`")]
    NoClientSecret,
    #[error("the secret is for client `{found}`, but config.json names `{expected}`")]
    OtherClient { found: String, expected: String },
}

impl ClientCredentials {
    /// Reads a secret string: `{"client_id": .., "client_secret": ..}` as the
    /// user-pool stack stores it, or the bare client secret.
    pub fn from_secret_string(secret: &str, client_id: &str) -> Result<Self, SecretError> {
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(SecretError::Empty);
        }
        if secret.starts_with('{') {
            let value: serde_json::Value =
                serde_json::from_str(secret).map_err(|_| SecretError::NoClientSecret)?;
            if let Some(found) = value.get("client_id").and_then(|v| v.as_str())
                && found != client_id
            {
                return Err(SecretError::OtherClient {
                    found: found.into(),
                    expected: client_id.into(),
                });
            }
            let client_secret = value
                .get("client_secret")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .ok_or(SecretError::NoClientSecret)?;
            return Ok(Self {
                client_id: client_id.into(),
                client_secret: Some(client_secret.into()),
            });
        }
        Ok(Self {
            client_id: client_id.into(),
            client_secret: Some(secret.into()),
        })
    }

    pub fn public(client_id: &str) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
        }
    }
}

/// A request ready for the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body holds codes, verifiers or tokens, the headers the secret.
        f.debug_struct("HttpRequest")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ProviderCall {
    /// Adds client authentication as the provider wants it (RFC 6749 §2.3.1).
    pub fn to_http(&self, auth: ClientAuth, credentials: &ClientCredentials) -> HttpRequest {
        let mut form: Vec<(&str, &str)> = self.form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        form.push(("client_id", &credentials.client_id));
        let mut headers = vec![
            (
                "content-type",
                "application/x-www-form-urlencoded".to_owned(),
            ),
            ("accept", "application/json".to_owned()),
        ];
        match (auth, &credentials.client_secret) {
            (ClientAuth::ClientSecretBasic, Some(secret)) => {
                let user = encode_form([("", credentials.client_id.as_str())]);
                let pass = encode_form([("", secret.as_str())]);
                let pair = format!("{}:{}", &user[1..], &pass[1..]);
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                headers.push(("authorization", format!("Basic {encoded}")));
            }
            (ClientAuth::ClientSecretPost, Some(secret)) => form.push(("client_secret", secret)),
            _ => {}
        }
        HttpRequest {
            url: self.endpoint.clone(),
            headers,
            body: encode_form(form),
        }
    }
}

/// What came of a provider call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderOutcome {
    Answered {
        status: u16,
        body: Vec<u8>,
    },
    TimedOut,
    Unreachable,
    /// The client secret could not be read (Secrets Manager down, no permission).
    CredentialsUnavailable,
}

/// Tokens from a successful token-endpoint answer.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct TokenSet {
    pub id_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSet { .. }")
    }
}

/// A token-endpoint answer, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenAnswer {
    Tokens(TokenSet),
    /// The provider refused the grant (`invalid_grant`, `invalid_client`, ...).
    Refused {
        error: String,
    },
    /// The provider is down, slow, or answered something that is not OAuth.
    Unavailable(Unavailable),
    CredentialsUnavailable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    TimedOut,
    Unreachable,
    ServerError,
    InvalidAnswer,
}

/// Largest token answer read; Cognito's is about 4 KB.
pub const MAX_TOKEN_ANSWER: usize = 64 * 1024;

pub fn classify_token_answer(outcome: &ProviderOutcome) -> TokenAnswer {
    let (status, body) = match outcome {
        ProviderOutcome::Answered { status, body } => (*status, body),
        ProviderOutcome::TimedOut => return TokenAnswer::Unavailable(Unavailable::TimedOut),
        ProviderOutcome::Unreachable => return TokenAnswer::Unavailable(Unavailable::Unreachable),
        ProviderOutcome::CredentialsUnavailable => return TokenAnswer::CredentialsUnavailable,
    };
    if body.len() > MAX_TOKEN_ANSWER {
        return TokenAnswer::Unavailable(Unavailable::InvalidAnswer);
    }
    match status {
        200 => match serde_json::from_slice::<TokenSet>(body) {
            Ok(set) => TokenAnswer::Tokens(set),
            Err(_) => TokenAnswer::Unavailable(Unavailable::InvalidAnswer),
        },
        400..=499 => {
            #[derive(Deserialize)]
            struct OAuthError {
                error: String,
            }
            match serde_json::from_slice::<OAuthError>(body) {
                // Error codes are short ASCII tokens (RFC 6749 §5.2); keep
                // anything else out of pages and logs.
                Ok(e)
                    if !e.error.is_empty()
                        && e.error.len() <= 64
                        && e.error.bytes().all(|b| b.is_ascii_graphic()) =>
                {
                    TokenAnswer::Refused { error: e.error }
                }
                _ => TokenAnswer::Unavailable(Unavailable::InvalidAnswer),
            }
        }
        500..=599 => TokenAnswer::Unavailable(Unavailable::ServerError),
        _ => TokenAnswer::Unavailable(Unavailable::InvalidAnswer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_form_encodes_then_base64s() {
        let call = ProviderCall {
            purpose: CallPurpose::ExchangeCode,
            endpoint: "https://p/token".into(),
            form: vec![("code", "c&1".into())],
        };
        let creds = ClientCredentials {
            client_id: "id 1".into(),
            client_secret: Some("s:é".into()),
        };
        let http = call.to_http(ClientAuth::ClientSecretBasic, &creds);
        let auth = &http
            .headers
            .iter()
            .find(|(k, _)| *k == "authorization")
            .unwrap()
            .1;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&auth[6..])
            .unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "id%201:s%3A%C3%A9");
        assert_eq!(http.body, "code=c%261&client_id=id%201");
        let post = call.to_http(ClientAuth::ClientSecretPost, &creds);
        assert!(post.body.ends_with("&client_secret=s%3A%C3%A9"));
        assert!(!format!("{post:?}").contains("client_secret"));
    }

    #[test]
    fn secrets_in_both_shapes() {
        let c = ClientCredentials::from_secret_string(
            r#"{"client_id":"abc","client_secret":"xyz"}"#,
            "abc",
        )
        .unwrap();
        assert_eq!(c.client_secret.as_deref(), Some("xyz"));
        assert_eq!(
            ClientCredentials::from_secret_string(" raw \n", "abc")
                .unwrap()
                .client_secret
                .as_deref(),
            Some("raw")
        );
        assert!(matches!(
            ClientCredentials::from_secret_string(
                r#"{"client_id":"other","client_secret":"x"}"#,
                "abc"
            ),
            Err(SecretError::OtherClient { .. })
        ));
        assert_eq!(
            ClientCredentials::from_secret_string("{}", "abc"),
            Err(SecretError::NoClientSecret)
        );
        assert_eq!(
            ClientCredentials::from_secret_string("  ", "abc"),
            Err(SecretError::Empty)
        );
        assert!(!format!("{c:?}").contains("xyz"));
    }

    #[test]
    fn token_answers_are_classified() {
        let answer = |status, body: &str| {
            classify_token_answer(&ProviderOutcome::Answered {
                status,
                body: body.as_bytes().to_vec(),
            })
        };
        assert!(matches!(
            answer(
                200,
                r#"{"id_token":"a","refresh_token":"b","access_token":"c"}"#
            ),
            TokenAnswer::Tokens(_)
        ));
        assert_eq!(
            answer(200, "<html>"),
            TokenAnswer::Unavailable(Unavailable::InvalidAnswer)
        );
        assert_eq!(
            answer(400, r#"{"error":"invalid_grant"}"#),
            TokenAnswer::Refused {
                error: "invalid_grant".into()
            }
        );
        assert_eq!(
            answer(400, r#"{"error":"<script>"}"#),
            TokenAnswer::Refused {
                error: "<script>".into()
            }
        );
        assert_eq!(
            answer(400, "nope"),
            TokenAnswer::Unavailable(Unavailable::InvalidAnswer)
        );
        assert_eq!(
            answer(503, ""),
            TokenAnswer::Unavailable(Unavailable::ServerError)
        );
        assert_eq!(
            answer(302, ""),
            TokenAnswer::Unavailable(Unavailable::InvalidAnswer)
        );
        assert_eq!(
            classify_token_answer(&ProviderOutcome::TimedOut),
            TokenAnswer::Unavailable(Unavailable::TimedOut)
        );
    }
}
