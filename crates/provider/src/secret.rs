//! The app client's secret: from Secrets Manager at the edge, from a file
//! in local runs. Read once per cold start by the gateway.

use std::time::Duration;

use edge_auth_core::config::{Config, SecretSource};
use edge_auth_core::provider::{ClientCredentials, SecretError};
use edge_auth_core::session::{SessionKeySet, SessionSigner};

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("Secrets Manager: {0}")]
    SecretsManager(String),
    #[error("secret file {path}: {message}")]
    File { path: String, message: String },
    #[error("secret content: {0}")]
    Content(#[from] SecretError),
    #[error("config.json names no session.signing_keys source")]
    NoSessionKeys,
    #[error("session key set: {0}")]
    SessionKeys(String),
}

pub async fn load_credentials(config: &Config) -> Result<ClientCredentials, CredentialsError> {
    let client_id = &config.provider().client_id;
    match read_source(&config.file.secret).await? {
        None => Ok(ClientCredentials::public(client_id)),
        Some(text) => Ok(ClientCredentials::from_secret_string(&text, client_id)?),
    }
}

/// The session key set (`session.signing_keys`): the signer it names, and
/// `config` with the key material of the ids it names (the regional
/// packages carry key ids only).
pub async fn load_session_keys(
    config: &Config,
) -> Result<(SessionSigner, Config), CredentialsError> {
    let text = read_source(&config.file.session.signing_keys)
        .await?
        .ok_or(CredentialsError::NoSessionKeys)?;
    let set = SessionKeySet::parse(&text).map_err(CredentialsError::SessionKeys)?;
    // A signer whose key the verifiers do not hold would sign sessions that
    // are refused on the next page: the deploy tool adds a key to every
    // verifier before it signs, and this holds it to that.
    if !config.session_kids().contains(&set.signing_kid.as_str()) {
        return Err(CredentialsError::SessionKeys(format!(
            "the signing key `{}` is not among the keys in config.json",
            set.signing_kid
        )));
    }
    let keyed = config
        .with_session_keys(&set)
        .map_err(|e| CredentialsError::SessionKeys(e.to_string()))?;
    let signer = set
        .signer()
        .map_err(|e| CredentialsError::SessionKeys(e.to_string()))?;
    Ok((signer, keyed))
}

/// The text of a secret, or `None` for `SecretSource::None`.
async fn read_source(source: &SecretSource) -> Result<Option<String>, CredentialsError> {
    Ok(Some(match source {
        SecretSource::None => return Ok(None),
        SecretSource::File { path } => {
            tokio::fs::read_to_string(path)
                .await
                .map_err(|e| CredentialsError::File {
                    path: path.clone(),
                    message: e.to_string(),
                })?
        }
        SecretSource::SecretsManager {
            secret_id,
            region,
            endpoint_url,
        } => read_secrets_manager(secret_id, region, endpoint_url.as_deref()).await?,
    }))
}

async fn read_secrets_manager(
    secret_id: &str,
    region: &str,
    endpoint_url: Option<&str>,
) -> Result<String, CredentialsError> {
    use aws_config::{BehaviorVersion, Region, retry::RetryConfig, timeout::TimeoutConfig};
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        // Bounded: a sign-in waits on this, and the user should get a clear
        // 503 page well within the 30 s origin-request limit.
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(7))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(2));
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let answer = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            CredentialsError::SecretsManager(
                aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
            )
        })?;
    answer.secret_string().map(str::to_owned).ok_or_else(|| {
        CredentialsError::SecretsManager(format!("secret {secret_id} has no SecretString"))
    })
}
