//! The AWS calls: stack state and outputs, site upload, invalidation, and
//! `sam deploy` for the stacks (SAM packages the functions and applies its
//! transform).

use std::collections::BTreeMap;
use std::path::Path;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::types::{StackEvent, StackStatus};

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error(
        "no AWS credentials found ({0}); set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    Credentials(String),
    #[error("stack {stack}: {message}")]
    Stack { stack: String, message: String },
    #[error("stack {stack} failed: {resource}: {reason}")]
    StackFailed {
        stack: String,
        resource: String,
        reason: String,
    },
    #[error("{0}")]
    Call(String),
    #[error("`sam` could not be run ({0}); install aws-sam-cli (nix develop has it)")]
    Sam(String),
}

/// The deployment's session key set (`session_keys`), if its secret exists.
pub async fn read_session_keys(
    config: &SdkConfig,
    name: &str,
) -> Result<Option<edge_auth_core::session::SessionKeySet>, AwsError> {
    let answer = secrets(config)
        .get_secret_value()
        .secret_id(name)
        .send()
        .await;
    let text = match answer {
        Ok(answer) => answer.secret_string().unwrap_or_default().to_owned(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(call_error(e)),
    };
    edge_auth_core::session::SessionKeySet::parse(&text)
        .map(Some)
        .map_err(|e| AwsError::Call(format!("the secret {name} is not a session key set: {e}")))
}

/// Creates the session key secret, tagged as the stacks are.
pub async fn create_session_keys(
    config: &SdkConfig,
    name: &str,
    set: &edge_auth_core::session::SessionKeySet,
    tags: &[(String, String)],
) -> Result<(), AwsError> {
    let mut request = secrets(config)
        .create_secret()
        .name(name)
        .description("edge-auth session keys (HMAC-SHA-256): written by edge-auth-deploy, read by signin and refresh")
        .secret_string(serde_json::to_string(set).map_err(call_error)?);
    for (key, value) in tags {
        request = request.tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(key)
                .value(value)
                .build(),
        );
    }
    request.send().await.map_err(call_error)?;
    Ok(())
}

/// Stores a changed session key set as the secret's new value.
pub async fn put_session_keys(
    config: &SdkConfig,
    name: &str,
    set: &edge_auth_core::session::SessionKeySet,
) -> Result<(), AwsError> {
    secrets(config)
        .put_secret_value()
        .secret_id(name)
        .secret_string(serde_json::to_string(set).map_err(call_error)?)
        .send()
        .await
        .map_err(call_error)?;
    Ok(())
}

pub(crate) fn call_error(e: impl std::error::Error) -> AwsError {
    AwsError::Call(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
}

/// Every AWS API operation this process called, as `service:Operation`
/// (`CloudFormation:DescribeStacks`): the tests hold them against
/// docs/deploy-permissions.json.
static CALLS_MADE: std::sync::Mutex<std::collections::BTreeSet<String>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

pub fn calls_made() -> std::collections::BTreeSet<String> {
    CALLS_MADE.lock().map(|c| c.clone()).unwrap_or_default()
}

/// Records each operation before it is sent (once the operation's own
/// configuration, which names it, is in place).
#[derive(Debug)]
struct RecordCalls;

impl aws_smithy_runtime_api::client::interceptors::Intercept for RecordCalls {
    fn name(&self) -> &'static str {
        "RecordCalls"
    }

    fn read_before_serialization(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if let Some(meta) = cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            && let Ok(mut calls) = CALLS_MADE.lock()
        {
            calls.insert(format!("{}:{}", meta.service(), meta.name()));
        }
        Ok(())
    }
}

pub fn cloudformation(config: &SdkConfig) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::from_conf(
        aws_sdk_cloudformation::config::Builder::from(config)
            .interceptor(RecordCalls)
            .build(),
    )
}

pub fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .interceptor(RecordCalls)
            .build(),
    )
}

pub fn cloudfront(config: &SdkConfig) -> aws_sdk_cloudfront::Client {
    aws_sdk_cloudfront::Client::from_conf(
        aws_sdk_cloudfront::config::Builder::from(config)
            .interceptor(RecordCalls)
            .build(),
    )
}

/// Where the key value store's data plane is reached instead of AWS's:
/// a test's stand-in (`edge_auth_provider::store`, which signs-out share).
pub const KEY_VALUE_STORE_ENDPOINT_VARIABLE: &str =
    edge_auth_provider::store::STORE_ENDPOINT_VARIABLE;

/// The time AWS last stated (its `Date` header), seconds since the epoch:
/// `revoke` takes its cut-off from AWS's clock, not the operator's.
static SERVER_DATE: std::sync::Mutex<Option<u64>> = std::sync::Mutex::new(None);

pub fn server_date() -> Option<u64> {
    SERVER_DATE.lock().ok().and_then(|d| *d)
}

/// Keeps the `Date` header of each answer (HTTP dates, RFC 9110).
#[derive(Debug)]
struct ServerDate;

impl aws_smithy_runtime_api::client::interceptors::Intercept for ServerDate {
    fn name(&self) -> &'static str {
        "ServerDate"
    }

    fn read_after_transmit(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let date = context
            .response()
            .headers()
            .get("date")
            .and_then(|d| {
                aws_smithy_types::DateTime::from_str(
                    d,
                    aws_smithy_types::date_time::Format::HttpDate,
                )
                .ok()
            })
            .and_then(|d| u64::try_from(d.secs()).ok());
        if let (Some(date), Ok(mut kept)) = (date, SERVER_DATE.lock()) {
            *kept = Some(date);
        }
        Ok(())
    }
}

pub fn key_value_store(config: &SdkConfig) -> aws_sdk_cloudfrontkeyvaluestore::Client {
    let builder = edge_auth_provider::store::builder(config)
        .interceptor(RecordCalls)
        .interceptor(ServerDate);
    aws_sdk_cloudfrontkeyvaluestore::Client::from_conf(builder.build())
}

/// What a key value store write changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StoreChanges {
    pub put: Vec<String>,
    pub deleted: Vec<String>,
    pub items: i64,
    pub bytes: i64,
    /// How many read-and-write attempts it took (another writer in
    /// between makes it more than one).
    pub attempts: u32,
}

impl std::fmt::Display for StoreChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |v: &[String]| {
            if v.is_empty() {
                "none".to_owned()
            } else {
                v.join(", ")
            }
        };
        write!(
            f,
            "put {}; deleted {}; the store holds {} entries, {} bytes",
            names(&self.put),
            names(&self.deleted),
            self.items,
            self.bytes
        )
    }
}

/// The store `arn` made to hold `wanted` among its entries named with
/// `prefix`: entries missing or different are put, `prefix` entries not
/// wanted are deleted, in one `UpdateKeys` (all or nothing) per 50 changes,
/// each conditional on the store's ETag. Entries of other prefixes are left
/// alone. Nothing is sent when nothing differs.
pub async fn write_key_value_store(
    client: &aws_sdk_cloudfrontkeyvaluestore::Client,
    arn: &str,
    prefix: &str,
    wanted: &BTreeMap<String, String>,
) -> Result<StoreChanges, AwsError> {
    with_retries(|| write_once(client, arn, prefix, wanted)).await
}

/// How often a store write is tried when another writer (a `revoke`, a
/// second deploy) changed the store between its read and its write.
pub const STORE_ATTEMPTS: u32 = 5;

/// Runs `attempt` again, after a growing pause, while it fails on the
/// store's ETag (`ConflictException`): each attempt reads the store afresh
/// and computes its changes from what it finds. Another error, or the last
/// conflict, is returned as it is, with how often it was tried.
async fn with_retries<F, Fut>(mut attempt: F) -> Result<StoreChanges, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<StoreChanges, AwsError>>,
{
    let mut pause = std::time::Duration::from_millis(200);
    for tried in 1..=STORE_ATTEMPTS {
        match attempt().await {
            Err(AwsError::Call(text)) if text.contains("ConflictException") => {
                if tried == STORE_ATTEMPTS {
                    return Err(AwsError::Call(format!(
                        "the key value store changed under each of {STORE_ATTEMPTS} attempts to write it (another deploy or revoke running?): run again once it is done ({text})"
                    )));
                }
                println!(
                    "    the key value store changed since it was read (another writer): reading it again in {} ms",
                    pause.as_millis()
                );
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Ok(mut changes) => {
                changes.attempts = tried;
                return Ok(changes);
            }
            other => return other,
        }
    }
    unreachable!("the loop returns on its last attempt")
}

async fn write_once(
    client: &aws_sdk_cloudfrontkeyvaluestore::Client,
    arn: &str,
    prefix: &str,
    wanted: &BTreeMap<String, String>,
) -> Result<StoreChanges, AwsError> {
    let (etag, present, (items, bytes)) = read_store(client, arn).await?;
    let puts: Vec<(String, String)> = wanted
        .iter()
        .filter(|(k, v)| present.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let deletes: Vec<String> = present
        .keys()
        .filter(|k| k.starts_with(prefix) && !wanted.contains_key(*k))
        .cloned()
        .collect();
    if puts.is_empty() && deletes.is_empty() {
        return Ok(StoreChanges {
            items,
            bytes,
            ..StoreChanges::default()
        });
    }
    update_store(client, arn, etag, &puts, &deletes).await
}

/// `revoke`: `key` put with `now`, and `revoked:` entries from before
/// `keep_after` deleted, in one conditional `UpdateKeys`.
pub async fn revoke_in_store(
    client: &aws_sdk_cloudfrontkeyvaluestore::Client,
    arn: &str,
    key: &str,
    cut_off: impl Fn() -> (u64, Horizons),
) -> Result<StoreChanges, AwsError> {
    let cut_off = &cut_off;
    with_retries(|| revoke_once(client, arn, key, cut_off)).await
}

/// Until when `revoked:` entries are kept: a user's until no session they
/// could refuse is valid, a service token's (`revoked:token:<id>`) or a
/// shared link's (`revoked:share:<id>`) until no token or link minted
/// before it is.
#[derive(Debug, Clone, Copy)]
pub struct Horizons {
    pub sessions: u64,
    pub tokens: u64,
}

async fn revoke_once(
    client: &aws_sdk_cloudfrontkeyvaluestore::Client,
    arn: &str,
    key: &str,
    cut_off: &impl Fn() -> (u64, Horizons),
) -> Result<StoreChanges, AwsError> {
    let (etag, present, _) = read_store(client, arn).await?;
    // The times from the clock of the answer just read (AWS's).
    let (now, keep_after) = cut_off();
    let stale: Vec<String> = stale_revocations(&present, keep_after)
        .filter(|k| k.as_str() != key)
        .collect();
    let puts = vec![(key.to_owned(), now.to_string())];
    update_store(client, arn, etag, &puts, &stale).await
}

/// One entry written (a service token's record, `token:<id>`), with the
/// store's conditional write, read again on another writer's change.
pub async fn put_in_store(
    client: &aws_sdk_cloudfrontkeyvaluestore::Client,
    arn: &str,
    key: &str,
    value: &str,
) -> Result<StoreChanges, AwsError> {
    with_retries(|| async move {
        let (etag, _, _) = read_store(client, arn).await?;
        update_store(
            client,
            arn,
            etag,
            &[(key.to_owned(), value.to_owned())],
            &[],
        )
        .await
    })
    .await
}

/// The `revoked:` entries whose cut-off is before `keep_after`: no session
/// they could refuse is still valid.
fn stale_revocations(
    present: &BTreeMap<String, String>,
    keep_after: Horizons,
) -> impl Iterator<Item = String> + '_ {
    let revoked = edge_auth_core::cloudfront_function::REVOCATION_PREFIX;
    let token = format!("{revoked}{}", edge_auth_core::session::TOKEN_SUBJECT_PREFIX);
    let share = format!("{revoked}{}", edge_auth_core::share::SHARE_SUBJECT_PREFIX);
    present
        .iter()
        .filter(move |(k, v)| {
            let horizon = if k.starts_with(&token) || k.starts_with(&share) {
                keep_after.tokens
            } else {
                keep_after.sessions
            };
            k.starts_with(edge_auth_core::cloudfront_function::REVOCATION_PREFIX)
                && v.parse::<u64>().is_ok_and(|t| t < horizon)
        })
        .map(|(k, _)| k.clone())
}

/// A deploy's pruning: `revoked:` entries from before `keep_after` (sign-out
/// writes one per user who signs out, and the store holds 5 MB), deleted in
/// one conditional `UpdateKeys`, read again on another writer's change.
pub async fn prune_revocations(
    client: &aws_sdk_cloudfrontkeyvaluestore::Client,
    arn: &str,
    keep_after: Horizons,
) -> Result<StoreChanges, AwsError> {
    with_retries(|| async move {
        let (etag, present, (items, bytes)) = read_store(client, arn).await?;
        let stale: Vec<String> = stale_revocations(&present, keep_after).collect();
        if stale.is_empty() {
            return Ok(StoreChanges {
                items,
                bytes,
                ..StoreChanges::default()
            });
        }
        update_store(client, arn, etag, &[], &stale).await
    })
    .await
}

/// Whether an error of the key value store's data plane is the caller's
/// authentication failing (rather than the store or the permission): the
/// data plane signs with SigV4A, which refuses session tokens from STS's
/// global endpoint that every other call here accepts.
pub fn is_authentication_error(text: &str) -> bool {
    [
        "security token",
        "InvalidSignature",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "UnrecognizedClient",
        "InvalidClientTokenId",
        "ExpiredToken",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// One call to the key value store's data plane before anything changes,
/// so that credentials it refuses stop a deploy before the first stack
/// does, not after the distribution is live with an empty store. `arn`:
/// the deployment's store, or on a first deploy any store's address (a
/// store that is not there, or not this account's, answers with an error
/// after it has checked the signature, which is all this asks).
pub async fn check_store_credentials(
    client: &aws_sdk_cloudfrontkeyvaluestore::Client,
    arn: &str,
) -> Result<(), AwsError> {
    match client.describe_key_value_store().kvs_arn(arn).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let text = aws_sdk_s3::error::DisplayErrorContext(&e).to_string();
            if is_authentication_error(&text) {
                Err(AwsError::Credentials(format!(
                    "the CloudFront key value store's API refused these credentials ({text}). It signs with SigV4A, which takes no session token from STS's global endpoint: get the session from a regional STS endpoint (AWS_STS_REGIONAL_ENDPOINTS=regional, or sts_regional_endpoints = regional in the profile), or make the account's global endpoint issue version 2 tokens (IAM, account settings, Security Token Service). Nothing was changed"
                )))
            } else {
                Ok(())
            }
        }
    }
}

/// The names of the store's entries (never their values).
pub async fn store_names(
    client: &aws_sdk_cloudfrontkeyvaluestore::Client,
    arn: &str,
) -> Result<Vec<String>, AwsError> {
    let (_, present, _) = read_store(client, arn).await?;
    Ok(present.into_keys().collect())
}

/// The store's entries and (items, bytes), for `status` (which shows the
/// names only).
pub(crate) async fn read_store_entries(
    client: &aws_sdk_cloudfrontkeyvaluestore::Client,
    arn: &str,
) -> Result<(BTreeMap<String, String>, i64, i64), AwsError> {
    let (_, present, (items, bytes)) = read_store(client, arn).await?;
    Ok((present, items, bytes))
}

/// The store's ETag, its entries, and (items, bytes).
async fn read_store(
    client: &aws_sdk_cloudfrontkeyvaluestore::Client,
    arn: &str,
) -> Result<(String, BTreeMap<String, String>, (i64, i64)), AwsError> {
    let described = client
        .describe_key_value_store()
        .kvs_arn(arn)
        .send()
        .await
        .map_err(call_error)?;
    let mut present = BTreeMap::new();
    let mut next: Option<String> = None;
    loop {
        let page = client
            .list_keys()
            .kvs_arn(arn)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(call_error)?;
        for item in page.items() {
            present.insert(item.key().to_owned(), item.value().to_owned());
        }
        match page.next_token() {
            Some(token) if !token.is_empty() => next = Some(token.to_owned()),
            _ => break,
        }
    }
    Ok((
        described.e_tag().to_owned(),
        present,
        (
            i64::from(described.item_count()),
            described.total_size_in_bytes(),
        ),
    ))
}

/// `puts` first (a key is never missing while its successor is written),
/// then `deletes`, 50 changes to an `UpdateKeys`, each conditional on the
/// ETag the last one returned.
async fn update_store(
    client: &aws_sdk_cloudfrontkeyvaluestore::Client,
    arn: &str,
    mut etag: String,
    puts: &[(String, String)],
    deletes: &[String],
) -> Result<StoreChanges, AwsError> {
    use aws_sdk_cloudfrontkeyvaluestore::types::{DeleteKeyRequestListItem, PutKeyRequestListItem};
    let mut changes = StoreChanges {
        put: puts.iter().map(|(k, _)| k.clone()).collect(),
        deleted: deletes.to_vec(),
        ..StoreChanges::default()
    };
    let mut work: Vec<(&String, Option<&String>)> =
        puts.iter().map(|(k, v)| (k, Some(v))).collect();
    work.extend(deletes.iter().map(|k| (k, None)));
    for batch in work.chunks(50) {
        let mut request = client.update_keys().kvs_arn(arn).if_match(&etag);
        for (key, value) in batch {
            request = match value {
                Some(value) => request.puts(
                    PutKeyRequestListItem::builder()
                        .key(key.as_str())
                        .value(value.as_str())
                        .build()
                        .map_err(call_error)?,
                ),
                None => request.deletes(
                    DeleteKeyRequestListItem::builder()
                        .key(key.as_str())
                        .build()
                        .map_err(call_error)?,
                ),
            };
        }
        let updated = request.send().await.map_err(call_error)?;
        etag = updated.e_tag().to_owned();
        changes.items = i64::from(updated.item_count());
        changes.bytes = updated.total_size_in_bytes();
    }
    Ok(changes)
}

pub async fn sdk_config(region: &str, endpoint: Option<&str>) -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region.to_owned()));
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// Fails early, with a clear message, when no credentials can be found.
pub async fn check_credentials(config: &SdkConfig) -> Result<(), AwsError> {
    let provider = config
        .credentials_provider()
        .ok_or_else(|| AwsError::Credentials("no provider configured".into()))?;
    aws_credential_types::provider::ProvideCredentials::provide_credentials(&provider)
        .await
        .map(|_| ())
        .map_err(|e| AwsError::Credentials(e.to_string()))
}

/// The stack as DescribeStacks gives it, or `None` when it does not exist.
pub(crate) async fn describe_stack(
    config: &SdkConfig,
    stack: &str,
) -> Result<Option<aws_sdk_cloudformation::types::Stack>, AwsError> {
    let client = cloudformation(config);
    match client.describe_stacks().stack_name(stack).send().await {
        Ok(answer) => Ok(answer.stacks().first().cloned()),
        Err(e)
            if aws_sdk_s3::error::DisplayErrorContext(&e)
                .to_string()
                .contains("does not exist") =>
        {
            Ok(None)
        }
        Err(e) => Err(call_error(e)),
    }
}

fn outputs_of(stack: &aws_sdk_cloudformation::types::Stack) -> BTreeMap<String, String> {
    stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect()
}

/// A stack's status, or `None` when it does not exist.
pub async fn stack_status(
    config: &SdkConfig,
    stack: &str,
) -> Result<Option<StackStatus>, AwsError> {
    Ok(describe_stack(config, stack)
        .await?
        .and_then(|s| s.stack_status().cloned()))
}

/// Refuses to start on a stack an earlier run left half-done.
pub fn check_resumable(stack: &str, status: Option<&StackStatus>) -> Result<(), AwsError> {
    let Some(status) = status else { return Ok(()) };
    let name = status.as_str();
    // A stack whose first change set failed or was never executed: it has
    // no resources and stays in this state for good. `sam deploy` creates
    // a new change set on it as on a stack that does not exist yet.
    if name == "REVIEW_IN_PROGRESS" {
        return Ok(());
    }
    if name == "ROLLBACK_COMPLETE" {
        return Err(AwsError::Stack {
            stack: stack.into(),
            message: "ROLLBACK_COMPLETE from an earlier failed first deploy; delete it (aws cloudformation delete-stack) and run again".into(),
        });
    }
    if name.ends_with("_IN_PROGRESS") {
        return Err(AwsError::Stack {
            stack: stack.into(),
            message: format!(
                "{name}: an earlier run is still going, or was interrupted; wait until it settles and run again"
            ),
        });
    }
    if name.ends_with("_FAILED") {
        return Err(AwsError::Stack {
            stack: stack.into(),
            message: format!("{name}: resolve it in the CloudFormation console, then run again"),
        });
    }
    Ok(())
}

/// The outputs of a stack that exists (in any state), or `None`.
pub async fn existing_outputs(
    config: &SdkConfig,
    stack: &str,
) -> Result<Option<BTreeMap<String, String>>, AwsError> {
    Ok(describe_stack(config, stack)
        .await?
        .as_ref()
        .map(outputs_of))
}

/// The stacks (not deleted) whose names begin with `prefix` and whose
/// `environment` and `project` tags are these: a site table's site stacks
/// (an environment whose name extends this one's is someone else's).
/// Listed by ListStacks (names only), each candidate's tags read.
pub async fn stacks_with_prefix(
    config: &SdkConfig,
    prefix: &str,
    project: &str,
    environment: &str,
) -> Result<Vec<String>, AwsError> {
    let client = cloudformation(config);
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_stacks()
            .set_next_token(token)
            .send()
            .await
            .map_err(call_error)?;
        for summary in page.stack_summaries() {
            let gone = summary
                .stack_status()
                .is_some_and(|s| s.as_str() == "DELETE_COMPLETE");
            if let Some(name) = summary.stack_name()
                && name.starts_with(prefix)
                && !gone
            {
                names.push(name.to_owned());
            }
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    names.sort();
    names.dedup();
    let mut found = Vec::new();
    for name in names {
        let Some(stack) = describe_stack(config, &name).await? else {
            continue;
        };
        let tag = |key: &str| {
            stack
                .tags()
                .iter()
                .find(|t| t.key() == Some(key))
                .and_then(|t| t.value())
                .map(str::to_owned)
        };
        if tag("project").as_deref() == Some(project)
            && tag("environment").as_deref() == Some(environment)
        {
            found.push(name);
        }
    }
    Ok(found)
}

/// How a stack deletion ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    Deleted,
    Failed { resource: String, reason: String },
}

/// Asks CloudFormation to delete `stack` and waits until it is gone or the
/// deletion failed, calling `progress` with the status at each poll.
pub async fn delete_stack(
    config: &SdkConfig,
    stack: &str,
    poll: std::time::Duration,
    mut progress: impl FnMut(&str),
) -> Result<Deletion, AwsError> {
    let client = cloudformation(config);
    client
        .delete_stack()
        .stack_name(stack)
        .send()
        .await
        .map_err(call_error)?;
    loop {
        let status = stack_status(config, stack).await?;
        let name = status.as_ref().map_or("DELETE_COMPLETE", |s| s.as_str());
        match name {
            "DELETE_COMPLETE" => return Ok(Deletion::Deleted),
            "DELETE_FAILED" => {
                return Ok(match failure_reason(config, stack).await {
                    AwsError::StackFailed {
                        resource, reason, ..
                    } => Deletion::Failed { resource, reason },
                    other => Deletion::Failed {
                        resource: stack.into(),
                        reason: other.to_string(),
                    },
                });
            }
            _ => progress(name),
        }
        tokio::time::sleep(poll).await;
    }
}

/// Whether a failed deletion only waits for CloudFront to remove the
/// Lambda@Edge replicas (Lambda: "... because it is a replicated
/// function"), which it does within hours of the distribution's deletion.
pub fn waits_for_replicas(reason: &str) -> bool {
    reason.contains("replicated function")
}

/// Deletes every version and delete marker in the (versioned) bucket, then
/// the bucket; returns how many versions were deleted.
pub async fn delete_bucket(config: &SdkConfig, bucket: &str) -> Result<usize, AwsError> {
    use aws_sdk_s3::types::ObjectIdentifier;
    let client = s3(config);
    let mut deleted = 0;
    loop {
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .map_err(call_error)?;
        let mut objects = Vec::new();
        let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = page
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id()));
        for (key, version) in versions.chain(markers) {
            let Some(key) = key else { continue };
            objects.push(
                ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.map(str::to_owned))
                    .build()
                    .map_err(call_error)?,
            );
        }
        if objects.is_empty() {
            break;
        }
        // One page holds at most 1,000 entries, DeleteObjects' limit.
        deleted += objects.len();
        delete_batch(&client, bucket, objects).await?;
    }
    client
        .delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(call_error)?;
    Ok(deleted)
}

pub async fn stack_outputs(
    config: &SdkConfig,
    stack: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let found = describe_stack(config, stack)
        .await?
        .ok_or_else(|| AwsError::Stack {
            stack: stack.into(),
            message: "not found".into(),
        })?;
    Ok(outputs_of(&found))
}

/// The first failed resource of a stack's latest operation, for the error message.
pub async fn failure_reason(config: &SdkConfig, stack: &str) -> AwsError {
    let client = cloudformation(config);
    let events = match client
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
    {
        Ok(events) => events,
        // SAM stopped before CloudFormation had a stack (its command line,
        // a missing package, the artifact bucket): what it printed says why.
        Err(e)
            if e.as_service_error()
                .and_then(|e| e.meta().message())
                .is_some_and(|m| m.contains("does not exist")) =>
        {
            return AwsError::Stack {
                stack: stack.into(),
                message: "sam deploy failed before the stack was created; its own message is above"
                    .into(),
            };
        }
        Err(e) => return call_error(e),
    };
    match first_failure(stack, events.stack_events()) {
        Some((resource, reason)) => AwsError::StackFailed {
            stack: stack.into(),
            resource,
            reason,
        },
        None => AwsError::Stack {
            stack: stack.into(),
            message: "sam deploy failed before any resource did".into(),
        },
    }
}

/// Picks the root cause out of a stack's events (CloudFormation lists them
/// newest first). Only the latest operation counts: its events end, going
/// back in time, at the stack's own `CREATE_IN_PROGRESS` or
/// `UPDATE_IN_PROGRESS`, so a failure left over from an earlier deploy is not
/// blamed. Within it the oldest failure is the cause; "Resource creation
/// cancelled" and the stack's own failure are consequences, used only when
/// nothing else failed.
pub fn first_failure(stack: &str, newest_first: &[StackEvent]) -> Option<(String, String)> {
    let is_stack = |e: &StackEvent| {
        e.resource_type() == Some("AWS::CloudFormation::Stack")
            && e.logical_resource_id() == Some(stack)
    };
    fn status(e: &StackEvent) -> &str {
        e.resource_status().map_or("", |s| s.as_str())
    }
    let operation = newest_first
        .iter()
        .position(|e| {
            is_stack(e)
                && matches!(
                    status(e),
                    "CREATE_IN_PROGRESS" | "UPDATE_IN_PROGRESS" | "DELETE_IN_PROGRESS"
                )
        })
        .map_or(newest_first, |i| &newest_first[..=i]);
    let cancelled = |e: &StackEvent| {
        e.resource_status_reason()
            .is_some_and(|r| r.contains("cancelled"))
    };
    // Oldest first, and `min_by_key` keeps the first of equals: the oldest
    // resource failure that is not a cancellation wins.
    let cause = operation
        .iter()
        .rev()
        .filter(|e| status(e).ends_with("_FAILED"))
        .min_by_key(|e| (is_stack(e), cancelled(e)))?;
    Some((
        cause.logical_resource_id().unwrap_or("?").to_owned(),
        cause
            .resource_status_reason()
            .unwrap_or("no reason given")
            .to_owned(),
    ))
}

/// Runs a command line built by `sam::deploy_command` (the program first)
/// with the tool's own terminal, so SAM's progress shows as it goes.
pub async fn sam_deploy(argv: &[String]) -> Result<bool, AwsError> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| AwsError::Sam("empty command".into()))?;
    let status = tokio::process::Command::new(program)
        .args(args)
        .status()
        .await
        .map_err(|e| AwsError::Sam(format!("{program}: {e}")))?;
    Ok(status.success())
}

/// One file of the site as it will be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFile {
    pub key: String,
    pub path: std::path::PathBuf,
    pub content_type: String,
    pub cache_control: &'static str,
}

pub fn site_files(directory: &Path) -> std::io::Result<Vec<SiteFile>> {
    let mut files = Vec::new();
    let mut stack = vec![directory.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let key = path
                .strip_prefix(directory)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            files.push(SiteFile {
                key,
                content_type: edge_auth_core::mime::content_type(ext),
                cache_control: edge_auth_core::mime::cache_control(ext),
                path,
            });
        }
    }
    files.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(files)
}

/// What a sync would do: the files to upload (new or changed) and the keys
/// to delete (in the bucket, no longer in the site).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SiteChanges {
    pub upload: Vec<SiteFile>,
    pub delete: Vec<String>,
    pub unchanged: usize,
}

impl SiteChanges {
    pub fn is_empty(&self) -> bool {
        self.upload.is_empty() && self.delete.is_empty()
    }
}

impl std::fmt::Display for SiteChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} to upload, {} to delete, {} unchanged",
            self.upload.len(),
            self.delete.len(),
            self.unchanged
        )?;
        for file in &self.upload {
            write!(f, "\n      upload {}", file.key)?;
        }
        for key in &self.delete {
            write!(f, "\n      delete {key}")?;
        }
        Ok(())
    }
}

/// Every object in the bucket with its ETag (unquoted), read only.
pub async fn bucket_objects(
    config: &SdkConfig,
    bucket: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    bucket_objects_under(config, bucket, "").await
}

/// [`bucket_objects`] whose keys start with `prefix` (a branch's preview).
pub async fn bucket_objects_under(
    config: &SdkConfig,
    bucket: &str,
    prefix: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let client = s3(config);
    let mut objects = BTreeMap::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .set_prefix((!prefix.is_empty()).then(|| prefix.to_owned()))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(call_error)?;
        for object in page.contents() {
            if let Some(key) = object.key() {
                let etag = object.e_tag().unwrap_or("").trim_matches('"').to_owned();
                objects.insert(key.to_owned(), etag);
            }
        }
    }
    Ok(objects)
}

/// Compares the site with the bucket (by MD5 against the object's ETag,
/// and the content type and cache headers), reading only.
pub async fn site_changes(
    config: &SdkConfig,
    bucket: &str,
    files: &[SiteFile],
) -> Result<SiteChanges, AwsError> {
    site_changes_under(config, bucket, "", files).await
}

/// [`site_changes`] for the objects under `prefix` only (the files' keys
/// start with it): a branch's preview beside the others.
pub async fn site_changes_under(
    config: &SdkConfig,
    bucket: &str,
    prefix: &str,
    files: &[SiteFile],
) -> Result<SiteChanges, AwsError> {
    use md5::Digest;
    let client = s3(config);
    let mut stored = bucket_objects_under(config, bucket, prefix).await?;
    let mut changes = SiteChanges::default();
    for file in files {
        let bytes = tokio::fs::read(&file.path)
            .await
            .map_err(|e| AwsError::Call(format!("{}: {e}", file.path.display())))?;
        let md5 = hex::encode(md5::Md5::digest(&bytes));
        let same = match stored.remove(&file.key) {
            Some(etag) if etag == md5 => {
                let head = client
                    .head_object()
                    .bucket(bucket)
                    .key(&file.key)
                    .send()
                    .await
                    .map_err(call_error)?;
                head.content_type() == Some(file.content_type.as_str())
                    && head.cache_control() == Some(file.cache_control)
            }
            _ => false,
        };
        if same {
            changes.unchanged += 1;
        } else {
            changes.upload.push(file.clone());
        }
    }
    changes.delete = stored.into_keys().collect();
    Ok(changes)
}

/// Uploads and deletes what `changes` lists.
pub async fn apply_site_changes(
    config: &SdkConfig,
    bucket: &str,
    changes: &SiteChanges,
) -> Result<(), AwsError> {
    let client = s3(config);
    for file in &changes.upload {
        let bytes = tokio::fs::read(&file.path)
            .await
            .map_err(|e| AwsError::Call(format!("{}: {e}", file.path.display())))?;
        client
            .put_object()
            .bucket(bucket)
            .key(&file.key)
            .content_type(&file.content_type)
            .cache_control(file.cache_control)
            .body(bytes.into())
            .send()
            .await
            .map_err(call_error)?;
    }
    delete_objects(config, bucket, &changes.delete).await
}

/// Deletes `keys`, 1,000 a request (S3's limit); names any key S3 refused.
pub async fn delete_objects(
    config: &SdkConfig,
    bucket: &str,
    keys: &[String],
) -> Result<(), AwsError> {
    use aws_sdk_s3::types::ObjectIdentifier;
    let client = s3(config);
    for chunk in keys.chunks(1000) {
        let objects = chunk
            .iter()
            .map(|k| {
                ObjectIdentifier::builder()
                    .key(k)
                    .build()
                    .map_err(call_error)
            })
            .collect::<Result<Vec<_>, _>>()?;
        delete_batch(&client, bucket, objects).await?;
    }
    Ok(())
}

/// One DeleteObjects request (at most 1,000 objects); names the first
/// object S3 refused.
async fn delete_batch(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    objects: Vec<aws_sdk_s3::types::ObjectIdentifier>,
) -> Result<(), AwsError> {
    let delete = aws_sdk_s3::types::Delete::builder()
        .set_objects(Some(objects))
        .quiet(true)
        .build()
        .map_err(call_error)?;
    let answer = client
        .delete_objects()
        .bucket(bucket)
        .delete(delete)
        .send()
        .await
        .map_err(call_error)?;
    match answer.errors().first() {
        Some(refused) => Err(AwsError::Call(format!(
            "s3://{bucket}/{}: not deleted: {}",
            refused.key().unwrap_or("?"),
            refused.message().unwrap_or("no reason given")
        ))),
        None => Ok(()),
    }
}

/// Uploads changed files and deletes removed ones; returns what changed.
pub async fn sync_site(
    config: &SdkConfig,
    bucket: &str,
    files: &[SiteFile],
) -> Result<SiteChanges, AwsError> {
    let changes = site_changes(config, bucket, files).await?;
    apply_site_changes(config, bucket, &changes).await?;
    Ok(changes)
}

pub async fn invalidate(
    config: &SdkConfig,
    distribution: &str,
    reference: &str,
) -> Result<String, AwsError> {
    use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
    let client = cloudfront(config);
    let paths = Paths::builder()
        .quantity(1)
        .items("/*")
        .build()
        .map_err(call_error)?;
    let batch = InvalidationBatch::builder()
        .paths(paths)
        .caller_reference(reference)
        .build()
        .map_err(call_error)?;
    let answer = client
        .create_invalidation()
        .distribution_id(distribution)
        .invalidation_batch(batch)
        .send()
        .await
        .map_err(call_error)?;
    Ok(answer
        .invalidation()
        .map(|i| i.id().to_owned())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::types::ResourceStatus;

    use super::{StackEvent, first_failure};

    fn event(id: &str, kind: &str, status: &str, reason: Option<&str>) -> StackEvent {
        StackEvent::builder()
            .stack_id("arn:aws:cloudformation:us-east-1:111122223333:stack/edge/1")
            .event_id(format!("{id}-{status}"))
            .stack_name("edge")
            .logical_resource_id(id)
            .resource_type(kind)
            .resource_status(ResourceStatus::from(status))
            .set_resource_status_reason(reason.map(str::to_owned))
            .timestamp(aws_sdk_cloudformation::primitives::DateTime::from_secs(0))
            .build()
    }

    const STACK: &str = "AWS::CloudFormation::Stack";

    #[test]
    fn the_root_cause_of_the_latest_operation_is_named() {
        // Newest first, as DescribeStackEvents returns them.
        let events = [
            event("edge", STACK, "UPDATE_ROLLBACK_COMPLETE", None),
            event(
                "edge",
                STACK,
                "UPDATE_ROLLBACK_IN_PROGRESS",
                Some("The following resource(s) failed to update: [Authorize]"),
            ),
            event(
                "Signin",
                "AWS::Lambda::Function",
                "UPDATE_FAILED",
                Some("Resource update cancelled"),
            ),
            event(
                "Authorize",
                "AWS::Lambda::Function",
                "UPDATE_FAILED",
                Some("Unzipped size must be smaller than 1048576 bytes"),
            ),
            event(
                "Authorize",
                "AWS::Lambda::Function",
                "UPDATE_IN_PROGRESS",
                None,
            ),
            event("edge", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated")),
            // An earlier deploy's failure must not be blamed.
            event(
                "Role",
                "AWS::IAM::Role",
                "CREATE_FAILED",
                Some("an old failure"),
            ),
            event("edge", STACK, "CREATE_IN_PROGRESS", Some("User Initiated")),
        ];
        assert_eq!(
            first_failure("edge", &events),
            Some((
                "Authorize".to_owned(),
                "Unzipped size must be smaller than 1048576 bytes".to_owned()
            ))
        );
    }

    #[test]
    fn cancellations_count_only_when_nothing_else_failed() {
        let events = [
            event(
                "Signin",
                "AWS::Lambda::Function",
                "CREATE_FAILED",
                Some("Resource creation cancelled"),
            ),
            event("edge", STACK, "CREATE_IN_PROGRESS", Some("User Initiated")),
        ];
        assert_eq!(
            first_failure("edge", &events).map(|(r, _)| r),
            Some("Signin".to_owned())
        );
    }

    #[test]
    fn a_failed_deletion_names_its_cause_and_replicas_are_waited_for() {
        // Lambda's refusal while CloudFront still holds replicas, as
        // CloudFormation reports it.
        let refusal = "Resource handler returned message: \"Lambda was unable to delete arn:aws:lambda:us-east-1:111122223333:function:edge-auth-prod-authorize:3 because it is a replicated function. Please see our documentation for Deleting Lambda@Edge Functions and Replicas.\"";
        let events = [
            event(
                "edge",
                STACK,
                "DELETE_FAILED",
                Some("The following resource(s) failed to delete: [AuthorizeFunction]"),
            ),
            event(
                "AuthorizeFunction",
                "AWS::Lambda::Function",
                "DELETE_FAILED",
                Some(refusal),
            ),
            event("edge", STACK, "DELETE_IN_PROGRESS", Some("User Initiated")),
            event(
                "Old",
                "AWS::IAM::Role",
                "UPDATE_FAILED",
                Some("an old failure"),
            ),
        ];
        let (resource, reason) = first_failure("edge", &events).unwrap();
        assert_eq!(resource, "AuthorizeFunction");
        assert!(super::waits_for_replicas(&reason));
        assert!(!super::waits_for_replicas("Access Denied"));
        assert!(!super::waits_for_replicas("an old failure"));
    }

    #[test]
    fn no_failed_resource_means_no_cause() {
        let events = [
            event("edge", STACK, "UPDATE_COMPLETE", None),
            event("edge", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated")),
            event(
                "Role",
                "AWS::IAM::Role",
                "CREATE_FAILED",
                Some("an old failure"),
            ),
        ];
        assert_eq!(first_failure("edge", &events), None);
        assert_eq!(first_failure("edge", &[]), None);
    }
}

pub fn logs(config: &SdkConfig) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::from_conf(
        aws_sdk_cloudwatchlogs::config::Builder::from(config)
            .interceptor(RecordCalls)
            .build(),
    )
}

pub fn cognito(config: &SdkConfig) -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::from_conf(
        aws_sdk_cognitoidentityprovider::config::Builder::from(config)
            .interceptor(RecordCalls)
            .build(),
    )
}

pub fn secrets(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(config)
            .interceptor(RecordCalls)
            .build(),
    )
}

/// What `user add` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserAdded {
    /// Created; Cognito sent the invitation e-mail with a temporary password.
    Invited,
    /// The pool had the user already (no second invitation is sent).
    AlreadyThere,
}

/// Invites `email` to the pool (Cognito's admin create-user: the address is
/// the user name, marked verified, and Cognito e-mails a temporary password
/// that must be changed at the first sign-in), then adds the user to
/// `group` when one is given. A user who exists already is only added to
/// the group.
pub async fn add_user(
    config: &SdkConfig,
    pool_id: &str,
    email: &str,
    group: Option<&str>,
) -> Result<UserAdded, AwsError> {
    use aws_sdk_cognitoidentityprovider::types::{AttributeType, DeliveryMediumType};
    let client = cognito(config);
    let attribute = |name: &str, value: &str| {
        AttributeType::builder()
            .name(name)
            .value(value)
            .build()
            .map_err(call_error)
    };
    let created = client
        .admin_create_user()
        .user_pool_id(pool_id)
        .username(email)
        .user_attributes(attribute("email", email)?)
        .user_attributes(attribute("email_verified", "true")?)
        .desired_delivery_mediums(DeliveryMediumType::Email)
        .send()
        .await;
    let added = match created {
        Ok(_) => UserAdded::Invited,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_username_exists_exception()) =>
        {
            UserAdded::AlreadyThere
        }
        Err(e) => return Err(call_error(e)),
    };
    if let Some(group) = group {
        client
            .admin_add_user_to_group()
            .user_pool_id(pool_id)
            .username(email)
            .group_name(group)
            .send()
            .await
            .map_err(call_error)?;
    }
    Ok(added)
}

/// What became of a secret name before the user-pool stack creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretName {
    /// No secret has the name: the stack can create it.
    Free,
    /// A secret of that name was scheduled for deletion (a destroyed
    /// deployment's, deleted by hand with a recovery window, or still being
    /// removed): it was deleted for good, so the stack can create it again.
    Cleared,
}

/// CloudFormation deletes an `AWS::SecretsManager::Secret` with its stack
/// without a recovery window, but Secrets Manager removes it in the
/// background, and a secret deleted by hand waits 7 to 30 days: until then
/// creating one of the same name fails ("already scheduled for deletion").
/// Called only when the user-pool stack does not exist, so the name is this
/// deployment's own. A live secret of that name belongs to something else,
/// and is an error, not something to delete.
pub async fn clear_deleted_secret(config: &SdkConfig, name: &str) -> Result<SecretName, AwsError> {
    let client = secrets(config);
    let described = client.describe_secret().secret_id(name).send().await;
    let secret = match described {
        Ok(secret) => secret,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return Ok(SecretName::Free);
        }
        Err(e) => return Err(call_error(e)),
    };
    if secret.deleted_date().is_none() {
        return Err(AwsError::Call(format!(
            "a secret named {name} exists but no stack of this deployment holds it; delete it, or choose another application or environment name"
        )));
    }
    client
        .delete_secret()
        .secret_id(name)
        .force_delete_without_recovery(true)
        .send()
        .await
        .map_err(call_error)?;
    // The deletion itself runs in the background: wait until the name is
    // free (seconds), at most a minute.
    for _ in 0..60 {
        match client.describe_secret().secret_id(name).send().await {
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Ok(SecretName::Cleared);
            }
            Err(e) => return Err(call_error(e)),
            Ok(_) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
        }
    }
    Err(AwsError::Call(format!(
        "the secret {name} scheduled for deletion was deleted, but its name is still taken after a minute; run the deploy again shortly"
    )))
}

#[cfg(test)]
mod retry_tests {
    use super::*;

    #[test]
    fn authentication_errors_are_told_from_the_rest() {
        for yes in [
            "UnrecognizedClientException: The security token included in the request is invalid",
            "InvalidSignatureException: Signature expired",
            "ExpiredTokenException: The security token included in the request is expired",
        ] {
            assert!(is_authentication_error(yes), "{yes}");
        }
        for no in [
            "ResourceNotFoundException: no store",
            "AccessDeniedException: not authorized to perform cloudfront-keyvaluestore:DescribeKeyValueStore",
            "ValidationException: bad ARN",
        ] {
            assert!(!is_authentication_error(no), "{no}");
        }
    }

    fn conflict() -> AwsError {
        AwsError::Call("ConflictException: the store changed".into())
    }

    #[tokio::test]
    async fn a_conflict_is_tried_again_and_then_given_up_with_a_reason() {
        let tries = std::cell::Cell::new(0);
        let done = with_retries(|| {
            tries.set(tries.get() + 1);
            let n = tries.get();
            async move {
                if n < 3 {
                    Err(conflict())
                } else {
                    Ok(StoreChanges::default())
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(done.attempts, 3);

        tries.set(0);
        let err = with_retries(|| {
            tries.set(tries.get() + 1);
            async { Err(conflict()) }
        })
        .await
        .unwrap_err();
        assert_eq!(tries.get(), STORE_ATTEMPTS);
        assert!(
            err.to_string().contains("changed under each of 5 attempts"),
            "{err}"
        );

        // Anything else is not tried again.
        tries.set(0);
        let err = with_retries(|| {
            tries.set(tries.get() + 1);
            async { Err(AwsError::Call("AccessDeniedException".into())) }
        })
        .await
        .unwrap_err();
        assert_eq!(tries.get(), 1);
        assert!(err.to_string().contains("AccessDenied"));
    }
}

/// A user of the pool, as `revoke` finds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUser {
    pub username: String,
    pub sub: String,
}

/// The one user of the pool whose `attribute` (`sub`, `email` or
/// `username`) is `value` (ListUsers' filter; `value` holds no `"` or `\`,
/// which the command line refuses), or `None`.
pub async fn find_pool_user(
    config: &SdkConfig,
    pool_id: &str,
    attribute: &str,
    value: &str,
) -> Result<Option<PoolUser>, AwsError> {
    let answer = cognito(config)
        .list_users()
        .user_pool_id(pool_id)
        .filter(format!("{attribute} = \"{value}\""))
        .limit(2)
        .send()
        .await
        .map_err(call_error)?;
    let users = answer.users();
    if users.len() > 1 {
        return Err(AwsError::Call(format!(
            "more than one user of pool {pool_id} has {attribute} {value}: name one by --user SUB"
        )));
    }
    Ok(users.first().and_then(|user| {
        Some(PoolUser {
            username: user.username()?.to_owned(),
            sub: user
                .attributes()
                .iter()
                .find(|a| a.name() == "sub")?
                .value()?
                .to_owned(),
        })
    }))
}

/// The pool's second factor as `mfa` says: TOTP on unless off. What it
/// was before (`MfaConfiguration`), and whether this call changed it.
pub async fn set_pool_mfa(
    config: &SdkConfig,
    pool_id: &str,
    mfa: crate::settings::PoolMfa,
) -> Result<(String, bool), AwsError> {
    use aws_sdk_cognitoidentityprovider::types::{SoftwareTokenMfaConfigType, UserPoolMfaType};
    let client = cognito(config);
    let now = client
        .get_user_pool_mfa_config()
        .user_pool_id(pool_id)
        .send()
        .await
        .map_err(call_error)?;
    let before = now
        .mfa_configuration()
        .map_or("OFF".to_owned(), |m| m.as_str().to_owned());
    let totp = now
        .software_token_mfa_configuration()
        .is_some_and(|t| t.enabled());
    let want_totp = mfa != crate::settings::PoolMfa::Off;
    if before == mfa.as_cognito() && totp == want_totp {
        return Ok((before, false));
    }
    client
        .set_user_pool_mfa_config()
        .user_pool_id(pool_id)
        .mfa_configuration(UserPoolMfaType::from(mfa.as_cognito()))
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder()
                .enabled(want_totp)
                .build(),
        )
        .send()
        .await
        .map_err(call_error)?;
    Ok((before, true))
}

/// Ends the user's sessions at Cognito (its refresh tokens, so no silent
/// sign-in mints a new session), and with `disable` the account too.
pub async fn end_pool_sessions(
    config: &SdkConfig,
    pool_id: &str,
    username: &str,
    disable: bool,
) -> Result<(), AwsError> {
    let client = cognito(config);
    client
        .admin_user_global_sign_out()
        .user_pool_id(pool_id)
        .username(username)
        .send()
        .await
        .map_err(call_error)?;
    if disable {
        client
            .admin_disable_user()
            .user_pool_id(pool_id)
            .username(username)
            .send()
            .await
            .map_err(call_error)?;
    }
    Ok(())
}
