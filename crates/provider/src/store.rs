//! Sign-out's one write at the edge: `revoked:<sub>` in the CloudFront
//! Function's key value store, raised to the signed-out session's `iat` and
//! never lowered (an operator's `revoke` may have set a later cut-off), so
//! that every copy of that session is refused by the function within the
//! store's propagation time. The core decides what to write
//! (`Outcome::revocation`); this makes the calls: `DescribeKeyValueStore`
//! (its ETag), `GetKey`, then a `PutKey` conditional on the ETag, read
//! again and retried when another writer got in between.

use aws_sdk_cloudfrontkeyvaluestore::Client;
use edge_auth_core::Revocation;
use edge_auth_core::cloudfront_function::revocation_key;

/// The store's ARN, in the sign-out function's environment (the
/// auth-endpoints template sets it from the viewer-function stack).
pub const STORE_ARN_VARIABLE: &str = "EDGE_AUTH_KEY_VALUE_STORE_ARN";

/// Where the data plane is reached instead of AWS's
/// `<account>.cloudfront-kvs.global.api.aws`: a test's stand-in on
/// 127.0.0.1 (AWS's endpoint rules put the account id in front of any
/// `AWS_ENDPOINT_URL` host, which no local server answers).
pub const STORE_ENDPOINT_VARIABLE: &str = "EDGE_AUTH_KEY_VALUE_STORE_ENDPOINT";

/// How often a write is tried when the store changed between its read and
/// its write.
pub const ATTEMPTS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("key value store call failed: {0}")]
    Call(String),
    #[error("the store changed under each of {0} attempts (other writers)")]
    Conflict(u32),
}

/// AWS's endpoint for every key value store call, at another address: the
/// rules' own answer (with its SigV4A auth scheme) and only the URL
/// replaced.
#[derive(Debug)]
struct OtherAddress(String);

impl aws_sdk_cloudfrontkeyvaluestore::config::endpoint::ResolveEndpoint for OtherAddress {
    fn resolve_endpoint<'a>(
        &'a self,
        params: &'a aws_sdk_cloudfrontkeyvaluestore::config::endpoint::Params,
    ) -> aws_smithy_runtime_api::client::endpoint::EndpointFuture<'a> {
        use aws_sdk_cloudfrontkeyvaluestore::config::endpoint::DefaultResolver;
        let url = self.0.clone();
        aws_smithy_runtime_api::client::endpoint::EndpointFuture::new(async move {
            let aws = DefaultResolver::new().resolve_endpoint(params).await?;
            Ok(aws.into_builder().url(url).build())
        })
    }
}

/// A client for the store's data plane from `config`, at
/// `STORE_ENDPOINT_VARIABLE`'s address when it is set.
pub fn builder(config: &aws_config::SdkConfig) -> aws_sdk_cloudfrontkeyvaluestore::config::Builder {
    let mut builder = aws_sdk_cloudfrontkeyvaluestore::config::Builder::from(config);
    if let Ok(url) = std::env::var(STORE_ENDPOINT_VARIABLE) {
        builder = builder.endpoint_resolver(OtherAddress(url));
    }
    builder
}

/// The function's key value store, as the sign-out function writes it:
/// CloudFront's, or the local edge's JSON file (which its function host
/// reads again whenever it changes).
pub enum SessionStore {
    Aws { client: Client, arn: String },
    File(std::path::PathBuf),
}

fn call_error(e: impl std::error::Error) -> StoreError {
    StoreError::Call(aws_sdk_cloudfrontkeyvaluestore::error::DisplayErrorContext(e).to_string())
}

impl SessionStore {
    /// The store `STORE_ARN_VARIABLE` names, or `None` without one (the
    /// Lambda@Edge arrangement has no store).
    pub async fn from_env() -> Option<Self> {
        let arn = std::env::var(STORE_ARN_VARIABLE)
            .ok()
            .filter(|a| !a.is_empty())?;
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        Some(Self::Aws {
            client: Client::from_conf(builder(&config).build()),
            arn,
        })
    }

    /// `revoked:<sub>` raised to `up_to`: what was there and what is now.
    pub async fn raise(&self, revocation: &Revocation) -> Result<String, StoreError> {
        match self {
            Self::Aws { client, arn } => raise_in_aws(client, arn, revocation).await,
            Self::File(path) => raise_in_file(path, revocation),
        }
    }
}

/// What a raise does to the value found: `None` when it stays (already
/// as late), else the new value. A value that is not a number (written by
/// hand) is replaced.
fn raised(current: Option<&str>, up_to: u64) -> Option<String> {
    match current.and_then(|v| v.parse::<u64>().ok()) {
        Some(at) if at >= up_to => None,
        _ => Some(up_to.to_string()),
    }
}

fn described(key: &str, current: Option<&str>, new: Option<&str>) -> String {
    match new {
        None => format!("{key} already at {}", current.unwrap_or("none")),
        Some(new) => format!("{key} raised from {} to {new}", current.unwrap_or("none")),
    }
}

/// The local edge's store: the JSON object read, raised, written to a
/// temporary file and renamed over it (the host never reads half a file).
fn raise_in_file(path: &std::path::Path, revocation: &Revocation) -> Result<String, StoreError> {
    let failed = |e: &dyn std::fmt::Display| StoreError::Call(format!("{}: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| failed(&e))?;
    let mut store: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&text).map_err(|e| failed(&e))?;
    let key = revocation_key(&revocation.sub);
    let current = store.get(&key).cloned();
    let new = raised(current.as_deref(), revocation.up_to);
    if let Some(new) = &new {
        store.insert(key.clone(), new.clone());
        let temporary = path.with_extension("json.new");
        let text = serde_json::to_string(&store).map_err(|e| failed(&e))?;
        std::fs::write(&temporary, text).map_err(|e| failed(&e))?;
        std::fs::rename(&temporary, path).map_err(|e| failed(&e))?;
    }
    Ok(described(&key, current.as_deref(), new.as_deref()))
}

async fn raise_in_aws(
    client: &Client,
    arn: &str,
    revocation: &Revocation,
) -> Result<String, StoreError> {
    let key = revocation_key(&revocation.sub);
    for _ in 0..ATTEMPTS {
        let etag = client
            .describe_key_value_store()
            .kvs_arn(arn)
            .send()
            .await
            .map_err(call_error)?
            .e_tag()
            .to_owned();
        let current = match client.get_key().kvs_arn(arn).key(&key).send().await {
            Ok(found) => Some(found.value().to_owned()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                None
            }
            Err(e) => return Err(call_error(e)),
        };
        let Some(new) = raised(current.as_deref(), revocation.up_to) else {
            return Ok(described(&key, current.as_deref(), None));
        };
        match client
            .put_key()
            .kvs_arn(arn)
            .key(&key)
            .value(&new)
            .if_match(&etag)
            .send()
            .await
        {
            Ok(_) => return Ok(described(&key, current.as_deref(), Some(&new))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()) =>
            {
                continue;
            }
            Err(e) => return Err(call_error(e)),
        }
    }
    Err(StoreError::Conflict(ATTEMPTS))
}
