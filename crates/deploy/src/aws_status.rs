//! What `status` reads from the account, and nothing it changes: a stack's
//! state and tags, the live CloudFront Function, and the key value store's
//! entry names (never a key's value).

use std::collections::BTreeMap;

use aws_config::SdkConfig;

use crate::aws::{self, AwsError};

/// A stack as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackState {
    pub status: String,
    /// Seconds since the epoch of its last update (or creation).
    pub changed: Option<i64>,
    pub tags: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
}

pub async fn stack_state(config: &SdkConfig, stack: &str) -> Result<Option<StackState>, AwsError> {
    let found = aws::describe_stack(config, stack).await?;
    Ok(found.map(|stack| StackState {
        status: stack
            .stack_status()
            .map_or("UNKNOWN".to_owned(), |s| s.as_str().to_owned()),
        changed: stack
            .last_updated_time()
            .or(stack.creation_time())
            .map(|t| t.secs()),
        tags: stack
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect(),
        outputs: stack
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
            .collect(),
    }))
}

/// The CloudFront Function as CloudFront holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionState {
    pub stage: String,
    pub etag: String,
    pub code: String,
}

/// The function `name` at `stage`, or `None` when there is none.
pub async fn viewer_function(
    config: &SdkConfig,
    name: &str,
    stage: aws_sdk_cloudfront::types::FunctionStage,
) -> Result<Option<FunctionState>, AwsError> {
    let client = aws::cloudfront(config);
    let described = match client
        .describe_function()
        .name(name)
        .stage(stage.clone())
        .send()
        .await
    {
        Ok(d) => d,
        Err(e) => {
            let text = aws_sdk_s3::error::DisplayErrorContext(&e).to_string();
            if text.contains("NoSuchFunctionExists") || text.contains("does not exist") {
                return Ok(None);
            }
            return Err(AwsError::Call(text));
        }
    };
    let code = client
        .get_function()
        .name(name)
        .stage(stage)
        .send()
        .await
        .map_err(|e| AwsError::Call(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
    let stage = described
        .function_summary()
        .and_then(|s| s.function_metadata())
        .and_then(|m| m.stage())
        .map_or("unknown".to_owned(), |s| s.as_str().to_owned());
    Ok(Some(FunctionState {
        stage,
        etag: described.e_tag().unwrap_or_default().to_owned(),
        code: code
            .function_code()
            .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
            .unwrap_or_default(),
    }))
}

/// The key value store as `status` shows it: each entry's name, the time
/// of each revocation (a number, not a secret), and the store's own counts.
/// A session key's value never leaves this function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreSummary {
    pub names: Vec<String>,
    pub revoked_at: BTreeMap<String, u64>,
    pub items: i64,
    pub bytes: i64,
}

pub async fn store_summary(
    client: &aws_sdk_cloudfrontkeyvaluestore::Client,
    arn: &str,
) -> Result<StoreSummary, AwsError> {
    let (present, items, bytes) = aws::read_store_entries(client, arn).await?;
    let prefix = edge_auth_core::cloudfront_function::REVOCATION_PREFIX;
    Ok(StoreSummary {
        // The deploy's test requests' revoked user is no one's revocation.
        revoked_at: present
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_owned(), v.parse().ok()?)))
            .filter(|(sub, _)| sub != edge_auth_core::function_probe::PROBE_REVOKED_SUB)
            .collect(),
        names: present.into_keys().collect(),
        items,
        bytes,
    })
}
