//! `edge-auth-deploy destroy`: the teardown, in the order AWS requires,
//! as a plan first (so `--dry-run` shows it) and then run.
//!
//! 1. The distribution stack: CloudFront disables, then deletes the
//!    distribution (minutes). Its bucket is retained. With the default
//!    authorizer the CloudFront Function and its key value store go with
//!    it, at once: nothing is replicated.
//! 2. The bucket, only with `--empty-bucket`: every version, then the bucket.
//! 3. The auth-endpoints stack (regional functions, the default
//!    arrangement): deleted at once, nothing is replicated.
//! 4. The edge-functions stack (`authorizer = "lambda-edge"`, or left by
//!    such a deployment before a switch to the default): Lambda refuses to
//!    delete a function while CloudFront still holds replicas of it
//!    ("replicated function"); they go within hours of the distribution's
//!    deletion, so the deletion is retried until they are gone. A
//!    deployment that never had the stack skips it without waiting.
//! 5. The user-pool stack: its pool is retained (deletion protection), so
//!    the users survive a mistaken teardown; the report says how to remove it.

use std::fmt;
use std::time::{Duration, Instant};

use crate::aws;
use crate::plan::{EDGE_REGION, Outputs, Value, resolve};
use crate::settings::{AuthEndpoints, Authorizer, Provider, Settings};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeardownStep {
    DeleteStack {
        stack: String,
        region: String,
        /// Retry while Lambda@Edge replicas remain.
        replicated: bool,
        /// Only there if an earlier deployment with other settings left it
        /// (the edge functions after a switch to the default, the rate
        /// limit's web ACL after `[rate_limit]` was removed): which.
        leftover: Option<&'static str>,
    },
    DeleteBucket {
        bucket: Value,
        region: String,
    },
    /// What stays, and how to remove it.
    Retained {
        what: Value,
        how: String,
    },
}

pub struct Teardown {
    pub steps: Vec<TeardownStep>,
    /// Stacks whose outputs the steps use: (stack, region).
    pub reads: Vec<(String, String)>,
}

fn output(stack: &str, key: &str) -> Value {
    Value::Output {
        stack: stack.into(),
        key: key.into(),
        suffix: String::new(),
    }
}

impl Teardown {
    pub fn new(settings: &Settings, empty_bucket: bool) -> Self {
        let distribution = settings.stack_name("distribution");
        let edge = settings.stack_name("edge-functions");
        let user_pool = settings.stack_name("user-pool");
        let dist_region = settings.regions.distribution.clone();
        let pool_region = settings.regions.user_pool.clone();
        // The distribution, or each site's of a table with its grants; the
        // teardown reads each one's bucket name.
        let sites: Vec<(String, Option<String>)> = if settings.sites.is_empty() {
            vec![(distribution, None)]
        } else {
            // Each site's, and its previews' (their bucket holds every
            // branch).
            settings
                .site_stack_names()
                .into_iter()
                .map(|name| {
                    (
                        settings.site_stack(&name),
                        Some(settings.grants_stack(&name)),
                    )
                })
                .collect()
        };
        let mut reads: Vec<(String, String)> = sites
            .iter()
            .map(|(stack, _)| (stack.clone(), dist_region.clone()))
            .collect();
        let function = settings.authorizer == Authorizer::CloudfrontFunction;
        // The alarms, filters, queries and dashboard first: nothing
        // depends on them.
        let monitoring = settings.monitoring.is_some();
        let regional = settings.auth_endpoints == AuthEndpoints::Regional;
        let mut steps = vec![
            TeardownStep::DeleteStack {
                stack: settings.stack_name("monitoring-edge"),
                region: EDGE_REGION.into(),
                replicated: false,
                leftover: (!monitoring).then_some("an earlier deployment with [monitoring]"),
            },
            TeardownStep::DeleteStack {
                stack: settings.stack_name("monitoring"),
                region: pool_region.clone(),
                replicated: false,
                leftover: (!monitoring || !regional).then_some(
                    "an earlier deployment with [monitoring] and regional auth endpoints",
                ),
            },
        ];
        let mut buckets = Vec::new();
        for (stack, grants) in sites {
            let bucket = output(&stack, "BucketName");
            steps.push(TeardownStep::DeleteStack {
                stack,
                region: dist_region.clone(),
                replicated: false,
                leftover: None,
            });
            if empty_bucket {
                steps.push(TeardownStep::DeleteBucket {
                    bucket: bucket.clone(),
                    region: dist_region.clone(),
                });
            }
            buckets.push(bucket);
            if let Some(grants) = grants {
                steps.push(TeardownStep::DeleteStack {
                    stack: grants,
                    region: pool_region.clone(),
                    replicated: false,
                    leftover: None,
                });
            }
        }
        // A table's shared access controls and policies, once no site's
        // distribution uses them.
        if !settings.sites.is_empty() {
            steps.push(TeardownStep::DeleteStack {
                stack: settings.stack_name("sites-policies"),
                region: dist_region.clone(),
                replicated: false,
                leftover: None,
            });
        }
        // The function and its store: CloudFront deletes a function only
        // once no distribution uses it.
        steps.push(TeardownStep::DeleteStack {
            stack: settings.stack_name("viewer-function"),
            region: dist_region.clone(),
            replicated: false,
            leftover: (!function)
                .then_some("an earlier deployment with authorizer = \"cloudfront-function\""),
        });
        if regional {
            // Regional functions have no replicas: gone at once.
            steps.push(TeardownStep::DeleteStack {
                stack: settings.stack_name("auth-endpoints"),
                region: pool_region.clone(),
                replicated: false,
                leftover: None,
            });
        }
        // The rate limit's web ACL: free to go once the distribution that
        // used it is gone.
        steps.push(TeardownStep::DeleteStack {
            stack: settings.stack_name("waf"),
            region: EDGE_REGION.into(),
            replicated: false,
            leftover: settings
                .rate_limit
                .is_none()
                .then_some("an earlier deployment with [rate_limit]"),
        });
        steps.push(TeardownStep::DeleteStack {
            stack: edge,
            region: EDGE_REGION.into(),
            replicated: true,
            leftover: function.then_some("an earlier deployment with authorizer = \"lambda-edge\""),
        });
        if let Provider::Cognito { .. } = settings.provider {
            reads.push((user_pool.clone(), pool_region.clone()));
            steps.push(TeardownStep::DeleteStack {
                stack: user_pool.clone(),
                region: pool_region.clone(),
                replicated: false,
                leftover: None,
            });
            steps.push(TeardownStep::Retained {
                what: output(&user_pool, "UserPoolId"),
                how: format!(
                    "the user pool and its users ({pool_region}): retained and protected from deletion. To remove it:\n      aws cognito-idp update-user-pool --region {pool_region} --user-pool-id <id> --deletion-protection INACTIVE\n      aws cognito-idp delete-user-pool --region {pool_region} --user-pool-id <id>"
                ),
            });
        }
        if !empty_bucket {
            for bucket in buckets {
                steps.push(TeardownStep::Retained {
                    what: bucket,
                    how: format!(
                        "the site bucket ({dist_region}) with every version of the site: retained. Run destroy again with --empty-bucket to delete it"
                    ),
                });
            }
        }
        if !function {
            steps.push(TeardownStep::Retained {
                what: Value::Known(format!(
                    "/aws/lambda/us-east-1.{}-{}-*",
                    settings.application, settings.environment
                )),
                how: "log groups, in every region where a replica ran: Lambda creates them, not the stacks; delete them with aws logs delete-log-group per region if you do not want them".into(),
            });
        }
        if settings.auth_endpoints == AuthEndpoints::Regional {
            steps.push(TeardownStep::Retained {
                what: Value::Known(format!(
                    "/aws/lambda/{}-{}-auth-*",
                    settings.application, settings.environment
                )),
                how: format!(
                    "the regional functions' log groups ({pool_region}): Lambda creates them, not the stack; aws logs delete-log-group --region {pool_region} removes them"
                ),
            });
        }
        let keys_region = settings.session_keys_region();
        steps.push(TeardownStep::Retained {
            what: Value::Known(settings.session_keys_secret_name()),
            how: format!(
                "the session key secret ({keys_region}), which the tool made outside the stacks: retained like the user pool, and reused by the next deploy. To remove it:\n      aws secretsmanager delete-secret --region {keys_region} --secret-id {} --force-delete-without-recovery",
                settings.session_keys_secret_name()
            ),
        });
        steps.push(TeardownStep::Retained {
            what: Value::Known("aws-sam-cli-managed-default".into()),
            how: "SAM's artifact bucket stack, in us-east-1 and each stack region: shared with every SAM project of the account, so left alone".into(),
        });
        if let Provider::Oidc {
            client_secret_arn, ..
        } = &settings.provider
        {
            steps.push(TeardownStep::Retained {
                what: Value::Known(client_secret_arn.clone()),
                how: "the client secret named in the settings: not created by the tool, so left alone".into(),
            });
        }
        Self { steps, reads }
    }
}

impl fmt::Display for TeardownStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TeardownStep::DeleteStack {
                stack,
                region,
                leftover,
                replicated,
            } => {
                match leftover {
                    Some(by) => {
                        writeln!(f, "delete stack {stack} ({region}) only if {by} left it")?
                    }
                    None => writeln!(f, "delete stack {stack} ({region})")?,
                }
                match (replicated, leftover) {
                    (false, _) => Ok(()),
                    (true, Some(_)) => writeln!(
                        f,
                        "    then retried while CloudFront removes its replicas; this deployment has no Lambda@Edge, so without that stack nothing waits"
                    ),
                    (true, None) => writeln!(
                        f,
                        "    retried while CloudFront removes the Lambda@Edge replicas (\"replicated function\"), which can take hours"
                    ),
                }
            }
            TeardownStep::DeleteBucket { bucket, region } => writeln!(
                f,
                "empty s3://{bucket} ({region}), every version and delete marker, and delete it (--empty-bucket)"
            ),
            TeardownStep::Retained { what, how } => writeln!(f, "stays: {what}: {how}"),
        }
    }
}

/// How long to wait between polls and for the replicas.
pub struct Patience {
    pub poll: Duration,
    pub replica_retry: Duration,
    pub replica_give_up: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(15),
            replica_retry: Duration::from_secs(5 * 60),
            replica_give_up: Duration::from_secs(8 * 3600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DestroyError {
    #[error(transparent)]
    Aws(#[from] aws::AwsError),
    #[error("stack {stack}: deletion failed: {resource}: {reason}")]
    Failed {
        stack: String,
        resource: String,
        reason: String,
    },
    #[error(
        "stack {stack}: CloudFront still holds Lambda@Edge replicas after {waited_minutes} min; run destroy again later (the distribution is already gone, nothing else is waiting)"
    )]
    Replicas { stack: String, waited_minutes: u64 },
}

/// The outputs of the stacks the steps read, for those that exist.
pub async fn read_outputs(
    teardown: &Teardown,
    endpoint: Option<&str>,
) -> Result<Outputs, aws::AwsError> {
    let mut outputs = Outputs::new();
    for (stack, region) in &teardown.reads {
        let config = aws::sdk_config(region, endpoint).await;
        if let Some(found) = aws::existing_outputs(&config, stack).await? {
            outputs.insert(stack.clone(), found);
        }
    }
    Ok(outputs)
}

/// The plan with what is known now filled in.
pub fn describe(teardown: &Teardown, outputs: &Outputs) -> String {
    let mut text = String::new();
    for (i, step) in teardown.steps.iter().enumerate() {
        let shown = match step {
            TeardownStep::Retained { what, how } => match resolve(what, outputs, outputs) {
                Ok(known) => TeardownStep::Retained {
                    what: Value::Known(known),
                    how: how.clone(),
                },
                Err(_) => step.clone(),
            },
            _ => step.clone(),
        };
        text.push_str(&format!("{:>2}. {shown}", i + 1));
    }
    text
}

/// Runs the teardown; `outputs` from `read_outputs` before anything is
/// deleted (the bucket's name is an output of the first stack to go).
pub async fn run(
    teardown: &Teardown,
    outputs: &Outputs,
    endpoint: Option<&str>,
    patience: &Patience,
) -> Result<(), DestroyError> {
    let total = teardown.steps.len();
    for (i, step) in teardown.steps.iter().enumerate() {
        print!("[{}/{total}] {step}", i + 1);
        match step {
            TeardownStep::DeleteStack {
                stack,
                region,
                replicated,
                ..
            } => {
                let config = aws::sdk_config(region, endpoint).await;
                if aws::stack_status(&config, stack).await?.is_none() {
                    println!("    {stack} does not exist: nothing to delete");
                    continue;
                }
                let started = Instant::now();
                loop {
                    let deletion = aws::delete_stack(&config, stack, patience.poll, |status| {
                        println!("    {status} ({} s)", started.elapsed().as_secs())
                    })
                    .await?;
                    match deletion {
                        aws::Deletion::Deleted => {
                            println!("    deleted ({} s)", started.elapsed().as_secs());
                            break;
                        }
                        aws::Deletion::Failed { resource, reason }
                            if *replicated && aws::waits_for_replicas(&reason) =>
                        {
                            if started.elapsed() >= patience.replica_give_up {
                                return Err(DestroyError::Replicas {
                                    stack: stack.clone(),
                                    waited_minutes: started.elapsed().as_secs() / 60,
                                });
                            }
                            println!(
                                "    {resource}: CloudFront has not yet removed its Lambda@Edge replicas (normal for up to a few hours after the distribution is deleted); trying again in {} s, {} min so far",
                                patience.replica_retry.as_secs(),
                                started.elapsed().as_secs() / 60
                            );
                            tokio::time::sleep(patience.replica_retry).await;
                        }
                        aws::Deletion::Failed { resource, reason } => {
                            return Err(DestroyError::Failed {
                                stack: stack.clone(),
                                resource,
                                reason,
                            });
                        }
                    }
                }
            }
            TeardownStep::DeleteBucket { bucket, region } => {
                let Ok(bucket) = resolve(bucket, outputs, outputs) else {
                    println!("    the distribution stack did not exist: no bucket known");
                    continue;
                };
                let config = aws::sdk_config(region, endpoint).await;
                let versions = aws::delete_bucket(&config, &bucket).await?;
                println!("    {versions} object versions deleted, bucket {bucket} deleted");
            }
            TeardownStep::Retained { what, .. } => {
                if let Ok(known) = resolve(what, outputs, outputs) {
                    println!("    {known}");
                }
            }
        }
    }
    Ok(())
}
