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

fn call_error(e: impl std::error::Error) -> AwsError {
    AwsError::Call(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
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

/// A stack's status, or `None` when it does not exist.
pub async fn stack_status(
    config: &SdkConfig,
    stack: &str,
) -> Result<Option<StackStatus>, AwsError> {
    let client = aws_sdk_cloudformation::Client::new(config);
    match client.describe_stacks().stack_name(stack).send().await {
        Ok(answer) => Ok(answer
            .stacks()
            .first()
            .and_then(|s| s.stack_status().cloned())),
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

pub async fn stack_outputs(
    config: &SdkConfig,
    stack: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let client = aws_sdk_cloudformation::Client::new(config);
    let answer = client
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(call_error)?;
    let stack_info = answer.stacks().first().ok_or_else(|| AwsError::Stack {
        stack: stack.into(),
        message: "not found".into(),
    })?;
    Ok(stack_info
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect())
}

/// The first failed resource of a stack's latest operation, for the error message.
pub async fn failure_reason(config: &SdkConfig, stack: &str) -> AwsError {
    let client = aws_sdk_cloudformation::Client::new(config);
    let events = match client
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
    {
        Ok(events) => events,
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
            is_stack(e) && matches!(status(e), "CREATE_IN_PROGRESS" | "UPDATE_IN_PROGRESS")
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

pub async fn sam_deploy(
    template: &Path,
    stack: &str,
    region: &str,
    parameters: &[(String, String)],
) -> Result<bool, AwsError> {
    let mut command = tokio::process::Command::new("sam");
    command
        .arg("deploy")
        .arg("--template-file")
        .arg(template)
        .args([
            "--stack-name",
            stack,
            "--region",
            region,
            "--capabilities",
            "CAPABILITY_IAM",
        ])
        .args([
            "--no-confirm-changeset",
            "--no-fail-on-empty-changeset",
            "--resolve-s3",
        ]);
    if !parameters.is_empty() {
        command.arg("--parameter-overrides");
        for (k, v) in parameters {
            command.arg(format!("{k}={v}"));
        }
    }
    let status = command
        .status()
        .await
        .map_err(|e| AwsError::Sam(e.to_string()))?;
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

/// Uploads changed files (by MD5 against the object's ETag); returns how many.
pub async fn upload_site(
    config: &SdkConfig,
    bucket: &str,
    files: &[SiteFile],
) -> Result<usize, AwsError> {
    use md5::Digest;
    let client = aws_sdk_s3::Client::new(config);
    let mut uploaded = 0;
    for file in files {
        let bytes = tokio::fs::read(&file.path)
            .await
            .map_err(|e| AwsError::Call(format!("{}: {e}", file.path.display())))?;
        let md5 = hex::encode(md5::Md5::digest(&bytes));
        let existing = client
            .head_object()
            .bucket(bucket)
            .key(&file.key)
            .send()
            .await
            .ok();
        let same = existing.as_ref().is_some_and(|o| {
            o.e_tag().map(|t| t.trim_matches('"')) == Some(md5.as_str())
                && o.content_type() == Some(file.content_type.as_str())
                && o.cache_control() == Some(file.cache_control)
        });
        if same {
            continue;
        }
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
        uploaded += 1;
    }
    Ok(uploaded)
}

pub async fn invalidate(
    config: &SdkConfig,
    distribution: &str,
    reference: &str,
) -> Result<String, AwsError> {
    use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
    let client = aws_sdk_cloudfront::Client::new(config);
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
