//! The log groups `[monitoring]`'s metric filters read. Lambda and
//! CloudFront create a function's group at its first log line, under a name
//! of their own choosing, and a metric filter cannot be put on a group that
//! does not exist: so the tool makes the missing ones (an empty group costs
//! nothing) and sets every one's retention, before the monitoring stack.
//! The stacks never own them: a group CloudFront or Lambda already made
//! would make a stack that creates it fail.

use aws_config::SdkConfig;

use crate::aws::{self, AwsError};

/// What was done to one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensured {
    Made,
    Found,
}

/// Makes each of `groups` that does not exist, then sets its retention.
pub async fn ensure(
    config: &SdkConfig,
    groups: &[String],
    retention_days: i32,
) -> Result<Vec<(String, Ensured)>, AwsError> {
    let client = aws::logs(config);
    let mut done = Vec::new();
    for group in groups {
        let made = match client.create_log_group().log_group_name(group).send().await {
            Ok(_) => Ensured::Made,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_already_exists_exception()) =>
            {
                Ensured::Found
            }
            Err(e) => {
                return Err(AwsError::Call(format!(
                    "log group {group}: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                )));
            }
        };
        client
            .put_retention_policy()
            .log_group_name(group)
            .retention_in_days(retention_days)
            .send()
            .await
            .map_err(|e| {
                AwsError::Call(format!(
                    "log group {group}: retention: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                ))
            })?;
        done.push((group.clone(), made));
    }
    Ok(done)
}
