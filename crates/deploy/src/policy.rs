//! The IAM policy a person needs to run the tool (deploy, `user add`,
//! `destroy`) for one settings file: `edge-auth-deploy policy --settings F`.
//! `docs/deploy-permissions.json` is its output for deploy/prod.toml (a test
//! holds the two equal).
//!
//! What CloudFormation calls for each resource type comes from the resource
//! types' provider schemas (`handlers.*.permissions`, as cfn-lint ships
//! them): every action of the resource's own service is allowed
//! (`HANDLER_ACTIONS`), and every other action a handler lists is allowed
//! elsewhere here or named in `NOT_NEEDED` with the reason these templates
//! never need it. tests/deploy/test_permissions.py reads the schemas and
//! IAM's resource types (cfn-lint's Policies.json) and fails on an action
//! neither allowed nor explained, or allowed on a resource it cannot apply
//! to.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::plan::EDGE_REGION;
use crate::settings::{Authorizer, Provider, Settings};

/// Each template resource type (after SAM's transform) with the actions of
/// its own service its CloudFormation handlers list (cfn-lint 1.58's
/// provider schemas, us-east-1).
pub const HANDLER_ACTIONS: &[(&str, &[&str])] = &[
    (
        "AWS::CloudFront::Distribution",
        &[
            "cloudfront:CreateConnectionGroup",
            "cloudfront:CreateDistribution",
            "cloudfront:CreateDistributionWithTags",
            "cloudfront:DeleteDistribution",
            "cloudfront:GetConnectionGroup",
            "cloudfront:GetDistribution",
            "cloudfront:GetDistributionConfig",
            "cloudfront:GetVpcOrigin",
            "cloudfront:ListDistributions",
            "cloudfront:ListTagsForResource",
            "cloudfront:TagResource",
            "cloudfront:UntagResource",
            "cloudfront:UpdateDistribution",
            "cloudfront:UpdateDistributionWithStagingConfig",
        ],
    ),
    (
        "AWS::CloudFront::Function",
        &[
            "cloudfront:CreateFunction",
            "cloudfront:DeleteFunction",
            "cloudfront:DescribeFunction",
            "cloudfront:GetFunction",
            "cloudfront:ListFunctions",
            "cloudfront:ListTagsForResource",
            "cloudfront:PublishFunction",
            "cloudfront:TagResource",
            "cloudfront:UntagResource",
            "cloudfront:UpdateFunction",
        ],
    ),
    (
        "AWS::CloudFront::KeyValueStore",
        &[
            "cloudfront:CreateKeyValueStore",
            "cloudfront:DeleteKeyValueStore",
            "cloudfront:DescribeKeyValueStore",
            "cloudfront:ListKeyValueStores",
            "cloudfront:ListTagsForResource",
            "cloudfront:TagResource",
            "cloudfront:UntagResource",
            "cloudfront:UpdateKeyValueStore",
        ],
    ),
    (
        "AWS::CloudFront::OriginAccessControl",
        &[
            "cloudfront:CreateOriginAccessControl",
            "cloudfront:DeleteOriginAccessControl",
            "cloudfront:GetOriginAccessControl",
            "cloudfront:ListOriginAccessControls",
            "cloudfront:UpdateOriginAccessControl",
        ],
    ),
    (
        "AWS::CloudFront::OriginRequestPolicy",
        &[
            "cloudfront:CreateOriginRequestPolicy",
            "cloudfront:DeleteOriginRequestPolicy",
            "cloudfront:GetOriginRequestPolicy",
            "cloudfront:ListOriginRequestPolicies",
            "cloudfront:UpdateOriginRequestPolicy",
        ],
    ),
    (
        "AWS::CloudFront::ResponseHeadersPolicy",
        &[
            "cloudfront:CreateResponseHeadersPolicy",
            "cloudfront:DeleteResponseHeadersPolicy",
            "cloudfront:GetResponseHeadersPolicy",
            "cloudfront:ListResponseHeadersPolicies",
            "cloudfront:UpdateResponseHeadersPolicy",
        ],
    ),
    (
        "AWS::CloudWatch::Alarm",
        &[
            "cloudwatch:DeleteAlarms",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:ListTagsForResource",
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:TagResource",
            "cloudwatch:UntagResource",
        ],
    ),
    (
        "AWS::CloudWatch::Dashboard",
        &[
            "cloudwatch:DeleteDashboards",
            "cloudwatch:GetDashboard",
            "cloudwatch:ListDashboards",
            "cloudwatch:ListTagsForResource",
            "cloudwatch:PutDashboard",
            "cloudwatch:TagResource",
            "cloudwatch:UntagResource",
        ],
    ),
    (
        "AWS::Cognito::UserPool",
        &[
            "cognito-idp:AddCustomAttributes",
            "cognito-idp:CreateUserPool",
            "cognito-idp:DeleteUserPool",
            "cognito-idp:DescribeUserPool",
            "cognito-idp:GetUserPoolMfaConfig",
            "cognito-idp:ListTagsForResource",
            "cognito-idp:ListUserPools",
            "cognito-idp:SetUserPoolMfaConfig",
            "cognito-idp:TagResource",
            "cognito-idp:UntagResource",
            "cognito-idp:UpdateUserPool",
        ],
    ),
    (
        "AWS::Cognito::UserPoolClient",
        &[
            "cognito-idp:CreateUserPoolClient",
            "cognito-idp:DeleteUserPoolClient",
            "cognito-idp:DescribeUserPoolClient",
            "cognito-idp:ListUserPoolClientSecrets",
            "cognito-idp:ListUserPoolClients",
            "cognito-idp:UpdateUserPoolClient",
        ],
    ),
    (
        "AWS::Cognito::UserPoolDomain",
        &[
            "cognito-idp:CreateUserPoolDomain",
            "cognito-idp:DeleteUserPoolDomain",
            "cognito-idp:DescribeUserPoolDomain",
            "cognito-idp:UpdateUserPoolDomain",
        ],
    ),
    (
        "AWS::Cognito::ManagedLoginBranding",
        &[
            "cognito-idp:CreateManagedLoginBranding",
            "cognito-idp:DeleteManagedLoginBranding",
            "cognito-idp:DescribeManagedLoginBranding",
            "cognito-idp:DescribeManagedLoginBrandingByClient",
            "cognito-idp:UpdateManagedLoginBranding",
        ],
    ),
    (
        "AWS::Cognito::UserPoolIdentityProvider",
        &[
            "cognito-idp:CreateIdentityProvider",
            "cognito-idp:DeleteIdentityProvider",
            "cognito-idp:DescribeIdentityProvider",
            "cognito-idp:ListIdentityProviders",
            "cognito-idp:UpdateIdentityProvider",
        ],
    ),
    (
        "AWS::Cognito::UserPoolGroup",
        &[
            "cognito-idp:CreateGroup",
            "cognito-idp:DeleteGroup",
            "cognito-idp:GetGroup",
            "cognito-idp:ListGroups",
            "cognito-idp:UpdateGroup",
        ],
    ),
    (
        "AWS::IAM::Role",
        &[
            "iam:AttachRolePolicy",
            "iam:CreateRole",
            "iam:DeleteRole",
            "iam:DeleteRolePermissionsBoundary",
            "iam:DeleteRolePolicy",
            "iam:DetachRolePolicy",
            "iam:GetRole",
            "iam:GetRolePolicy",
            "iam:ListAttachedRolePolicies",
            "iam:ListRolePolicies",
            "iam:ListRoles",
            "iam:PutRolePermissionsBoundary",
            "iam:PutRolePolicy",
            "iam:TagRole",
            "iam:UntagRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:UpdateRole",
            "iam:UpdateRoleDescription",
        ],
    ),
    (
        "AWS::IAM::RolePolicy",
        &[
            "iam:DeleteRolePolicy",
            "iam:GetRolePolicy",
            "iam:PutRolePolicy",
        ],
    ),
    (
        "AWS::Lambda::Alias",
        &[
            "lambda:CreateAlias",
            "lambda:DeleteAlias",
            "lambda:DeleteProvisionedConcurrencyConfig",
            "lambda:GetAlias",
            "lambda:GetProvisionedConcurrencyConfig",
            "lambda:ListAliases",
            "lambda:PutProvisionedConcurrencyConfig",
            "lambda:UpdateAlias",
        ],
    ),
    (
        "AWS::Lambda::Function",
        &[
            "lambda:AssociateRuntimeAlias",
            "lambda:CreateFunction",
            "lambda:DeleteFunction",
            "lambda:DeleteFunctionCodeSigningConfig",
            "lambda:DeleteFunctionConcurrency",
            "lambda:GetCodeSigningConfig",
            "lambda:GetFunction",
            "lambda:GetFunctionCodeSigningConfig",
            "lambda:GetFunctionRecursionConfig",
            "lambda:GetFunctionScalingConfig",
            "lambda:GetLayerVersion",
            "lambda:GetRuntimeManagementConfig",
            "lambda:ListFunctions",
            "lambda:PassCapacityProvider",
            "lambda:PublishVersion",
            "lambda:PutFunctionCodeSigningConfig",
            "lambda:PutFunctionConcurrency",
            "lambda:PutFunctionRecursionConfig",
            "lambda:PutFunctionScalingConfig",
            "lambda:PutRuntimeManagementConfig",
            "lambda:TagResource",
            "lambda:UntagResource",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
        ],
    ),
    (
        "AWS::Lambda::Permission",
        &[
            "lambda:AddPermission",
            "lambda:GetPolicy",
            "lambda:RemovePermission",
        ],
    ),
    (
        "AWS::Lambda::Url",
        &[
            "lambda:CreateFunctionUrlConfig",
            "lambda:DeleteFunctionUrlConfig",
            "lambda:GetFunctionUrlConfig",
            "lambda:ListFunctionUrlConfigs",
            "lambda:UpdateFunctionUrlConfig",
        ],
    ),
    (
        "AWS::Lambda::Version",
        &[
            "lambda:DeleteFunction",
            "lambda:GetFunctionConfiguration",
            "lambda:GetFunctionScalingConfig",
            "lambda:GetProvisionedConcurrencyConfig",
            "lambda:GetRuntimeManagementConfig",
            "lambda:ListVersionsByFunction",
            "lambda:PublishVersion",
            "lambda:PutFunctionScalingConfig",
            "lambda:PutProvisionedConcurrencyConfig",
            "lambda:PutRuntimeManagementConfig",
        ],
    ),
    (
        "AWS::Logs::MetricFilter",
        &[
            "logs:DeleteMetricFilter",
            "logs:DescribeMetricFilters",
            "logs:PutMetricFilter",
        ],
    ),
    (
        "AWS::Logs::QueryDefinition",
        &[
            "logs:DeleteQueryDefinition",
            "logs:DescribeQueryDefinitions",
            "logs:PutQueryDefinition",
        ],
    ),
    ("AWS::Route53::RecordSetGroup", &[]),
    (
        "AWS::S3::Bucket",
        &[
            "s3:CreateBucket",
            "s3:CreateBucketMetadataTableConfiguration",
            "s3:DeleteBucket",
            "s3:DeleteBucketAnalyticsConfiguration",
            "s3:DeleteBucketCors",
            "s3:DeleteBucketEncryption",
            "s3:DeleteBucketLifecycle",
            "s3:DeleteBucketMetadataTableConfiguration",
            "s3:DeleteBucketMetricsConfiguration",
            "s3:DeleteBucketReplication",
            "s3:DeleteBucketWebsite",
            "s3:DeleteObject",
            "s3:GetAccelerateConfiguration",
            "s3:GetAnalyticsConfiguration",
            "s3:GetBucketAbac",
            "s3:GetBucketAcl",
            "s3:GetBucketCORS",
            "s3:GetBucketLogging",
            "s3:GetBucketMetadataTableConfiguration",
            "s3:GetBucketNotification",
            "s3:GetBucketObjectLockConfiguration",
            "s3:GetBucketOwnershipControls",
            "s3:GetBucketPublicAccessBlock",
            "s3:GetBucketTagging",
            "s3:GetBucketVersioning",
            "s3:GetBucketWebsite",
            "s3:GetEncryptionConfiguration",
            "s3:GetIntelligentTieringConfiguration",
            "s3:GetInventoryConfiguration",
            "s3:GetLifecycleConfiguration",
            "s3:GetMetricsConfiguration",
            "s3:GetReplicationConfiguration",
            "s3:ListAllMyBuckets",
            "s3:ListBucket",
            "s3:ListTagsForResource",
            "s3:PutAccelerateConfiguration",
            "s3:PutAnalyticsConfiguration",
            "s3:PutBucketAbac",
            "s3:PutBucketAcl",
            "s3:PutBucketCORS",
            "s3:PutBucketLogging",
            "s3:PutBucketNotification",
            "s3:PutBucketObjectLockConfiguration",
            "s3:PutBucketOwnershipControls",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketReplication",
            "s3:PutBucketTagging",
            "s3:PutBucketVersioning",
            "s3:PutBucketWebsite",
            "s3:PutEncryptionConfiguration",
            "s3:PutIntelligentTieringConfiguration",
            "s3:PutInventoryConfiguration",
            "s3:PutLifecycleConfiguration",
            "s3:PutMetricsConfiguration",
            "s3:PutObjectAcl",
            "s3:PutObjectLockConfiguration",
            "s3:PutReplicationConfiguration",
            "s3:TagResource",
            "s3:UntagResource",
            "s3:UpdateBucketMetadataAnnotationTableConfiguration",
            "s3:UpdateBucketMetadataInventoryTableConfiguration",
            "s3:UpdateBucketMetadataJournalTableConfiguration",
        ],
    ),
    (
        "AWS::S3::BucketPolicy",
        &[
            "s3:DeleteBucketPolicy",
            "s3:GetBucketPolicy",
            "s3:ListAllMyBuckets",
            "s3:PutBucketPolicy",
        ],
    ),
    (
        "AWS::SecretsManager::Secret",
        &[
            "secretsmanager:CreateSecret",
            "secretsmanager:DeleteSecret",
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetRandomPassword",
            "secretsmanager:GetSecretValue",
            "secretsmanager:ListSecrets",
            "secretsmanager:RemoveRegionsFromReplication",
            "secretsmanager:ReplicateSecretToRegions",
            "secretsmanager:TagResource",
            "secretsmanager:UntagResource",
            "secretsmanager:UpdateSecret",
        ],
    ),
    (
        "AWS::SNS::Subscription",
        &[
            "sns:GetSubscriptionAttributes",
            "sns:ListSubscriptions",
            "sns:SetSubscriptionAttributes",
            "sns:Subscribe",
            "sns:Unsubscribe",
        ],
    ),
    (
        "AWS::SNS::Topic",
        &[
            "sns:CreateTopic",
            "sns:DeleteTopic",
            "sns:GetDataProtectionPolicy",
            "sns:GetTopicAttributes",
            "sns:ListSubscriptionsByTopic",
            "sns:ListTagsForResource",
            "sns:ListTopics",
            "sns:PutDataProtectionPolicy",
            "sns:SetTopicAttributes",
            "sns:Subscribe",
            "sns:TagResource",
            "sns:Unsubscribe",
            "sns:UntagResource",
        ],
    ),
    (
        "AWS::WAFv2::WebACL",
        &[
            "wafv2:CreateWebACL",
            "wafv2:DeleteWebACL",
            "wafv2:GetWebACL",
            "wafv2:ListTagsForResource",
            "wafv2:TagResource",
            "wafv2:UntagResource",
            "wafv2:UpdateWebACL",
            "wafv2:listWebACLs",
        ],
    ),
];

/// Actions IAM grants only on `*` (no resource-level permissions), or only
/// on resource types these templates never create (layers, code signing
/// configs, capacity providers, connection groups, VPC origins): the
/// handlers may call them, so they are allowed, on `*`.
pub const ON_ANY_RESOURCE: &[&str] = &[
    "cloudfront:CreateConnectionGroup",
    "cloudfront:CreateDistribution",
    "cloudfront:CreateDistributionWithTags",
    "cloudfront:CreateFunction",
    "cloudfront:CreateKeyValueStore",
    "cloudfront:CreateOriginAccessControl",
    "cloudfront:CreateOriginRequestPolicy",
    "cloudfront:CreateResponseHeadersPolicy",
    "cloudfront:GetConnectionGroup",
    "cloudfront:GetVpcOrigin",
    "cloudfront:ListDistributions",
    "cloudfront:ListFunctions",
    "cloudfront:ListKeyValueStores",
    "cloudfront:ListOriginAccessControls",
    "cloudfront:ListOriginRequestPolicies",
    "cloudfront:ListResponseHeadersPolicies",
    "cloudwatch:ListDashboards",
    "cognito-idp:CreateUserPool",
    "cognito-idp:DescribeUserPoolDomain",
    "cognito-idp:ListUserPools",
    "iam:ListRoles",
    "lambda:AssociateRuntimeAlias",
    "lambda:GetCodeSigningConfig",
    "lambda:GetLayerVersion",
    "lambda:ListFunctions",
    "lambda:PassCapacityProvider",
    "logs:DeleteQueryDefinition",
    "logs:DescribeQueryDefinitions",
    "logs:PutQueryDefinition",
    "s3:DeleteBucketAnalyticsConfiguration",
    "s3:DeleteBucketCors",
    "s3:DeleteBucketEncryption",
    "s3:DeleteBucketLifecycle",
    "s3:DeleteBucketMetricsConfiguration",
    "s3:DeleteBucketReplication",
    "s3:ListAllMyBuckets",
    "s3:PutBucketReplication",
    "s3:PutObjectLockConfiguration",
    "secretsmanager:GetRandomPassword",
    "secretsmanager:ListSecrets",
    "sns:ListSubscriptions",
    "sns:ListTopics",
    "wafv2:listWebACLs",
];

/// Actions of other services that the handlers of these resource types
/// list and that these templates never make CloudFormation call, with why.
pub const NOT_NEEDED: &[(&str, &str)] = &[
    (
        "cloudfront:updateDistribution",
        "AWS::Cognito::UserPoolDomain: only a custom domain for the hosted UI has a distribution of its own; the pool's domain is a Cognito prefix domain",
    ),
    (
        "codedeploy:CreateDeployment",
        "AWS::Lambda::Alias: no DeploymentPreference; SAM moves the alias itself, CodeDeploy is never involved",
    ),
    (
        "codedeploy:GetDeployment",
        "AWS::Lambda::Alias: no DeploymentPreference",
    ),
    (
        "codedeploy:GetDeploymentConfig",
        "AWS::Lambda::Alias: no DeploymentPreference",
    ),
    (
        "codedeploy:GetDeploymentGroup",
        "AWS::Lambda::Alias: no DeploymentPreference",
    ),
    (
        "codedeploy:StopDeployment",
        "AWS::Lambda::Alias: no DeploymentPreference",
    ),
    (
        "ec2:DescribeNetworkInterfaces",
        "AWS::Lambda::Function: no function is attached to a VPC (no VpcConfig)",
    ),
    (
        "ec2:DescribeSecurityGroups",
        "AWS::Lambda::Function: no VpcConfig",
    ),
    ("ec2:DescribeSubnets", "AWS::Lambda::Function: no VpcConfig"),
    ("ec2:DescribeVpcs", "AWS::Lambda::Function: no VpcConfig"),
    (
        "elasticfilesystem:DescribeMountTargets",
        "AWS::Lambda::Function: no file system is mounted (no FileSystemConfigs)",
    ),
    (
        "kms:CreateGrant",
        "no customer managed KMS key: functions, the pool, its domain and the secret use AWS owned or AWS managed keys (no KmsKeyArn, KmsKeyId or UserPoolAddOns encryption)",
    ),
    ("kms:Decrypt", "no customer managed KMS key"),
    ("kms:DescribeKey", "no customer managed KMS key"),
    ("kms:Encrypt", "no customer managed KMS key"),
    ("kms:GenerateDataKey", "no customer managed KMS key"),
    (
        "kms:GenerateDataKeyWithoutPlaintext",
        "no customer managed KMS key",
    ),
    ("kms:ReEncryptFrom", "no customer managed KMS key"),
    ("kms:ReEncryptTo", "no customer managed KMS key"),
    (
        "s3:GetObjectVersion",
        "AWS::Lambda::Function: SAM uploads the code and names no S3ObjectVersion, so Lambda reads the object with s3:GetObject",
    ),
    (
        "s3files:ListMountTargets",
        "AWS::Lambda::Function: no file system is mounted",
    ),
    (
        "s3:HeadObject",
        "AWS::CloudFront::KeyValueStore: no ImportSource; the tool writes the store's entries through its API",
    ),
    (
        "payments:GetConnectedAccount",
        "AWS::WAFv2::WebACL: no paid managed rule group (AWS Marketplace); the rate limit's web ACL has one rule of its own",
    ),
    (
        "s3tables:CreateNamespace",
        "AWS::S3::Bucket: no metadata table configuration on the site bucket",
    ),
    (
        "s3tables:CreateTable",
        "AWS::S3::Bucket: no metadata table configuration",
    ),
    (
        "s3tables:CreateTableBucket",
        "AWS::S3::Bucket: no metadata table configuration",
    ),
    (
        "s3tables:GetTable",
        "AWS::S3::Bucket: no metadata table configuration",
    ),
    (
        "s3tables:GetTableMetadataLocation",
        "AWS::S3::Bucket: no metadata table configuration",
    ),
    (
        "s3tables:PutTableBucketPolicy",
        "AWS::S3::Bucket: no metadata table configuration",
    ),
    (
        "s3tables:PutTableEncryption",
        "AWS::S3::Bucket: no metadata table configuration",
    ),
    (
        "s3tables:PutTablePolicy",
        "AWS::S3::Bucket: no metadata table configuration",
    ),
    (
        "s3tables:UpdateTableMetadataLocation",
        "AWS::S3::Bucket: no metadata table configuration",
    ),
];

fn statement(sid: &str, actions: &BTreeSet<String>, resources: Value) -> Value {
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions.iter().collect::<Vec<_>>(),
        "Resource": resources,
    })
}

fn set(actions: &[&str]) -> BTreeSet<String> {
    actions.iter().map(|a| a.to_string()).collect()
}

/// The handler actions of the given service, less those only allowed on `*`.
fn handler_actions(service: &str) -> BTreeSet<String> {
    HANDLER_ACTIONS
        .iter()
        .flat_map(|(_, actions)| actions.iter())
        .filter(|a| a.starts_with(&format!("{service}:")) && !ON_ANY_RESOURCE.contains(a))
        .map(|a| a.to_string())
        .collect()
}

/// The policy document for `settings`: resources named after the
/// application and environment (`<app>-<env>-*`) in the settings' regions
/// where AWS names them so, Route 53 changes limited to the settings' hosted
/// zone (none without one), user-pool actions to user pools, CloudFront's to
/// the resource types that take resource-level permissions.
pub fn document(settings: &Settings) -> Value {
    let prefix = format!("{}-{}", settings.application, settings.environment);
    let pool_region = &settings.regions.user_pool;
    // Lambda@Edge only with authorizer = "lambda-edge": the default
    // deploys nothing in us-east-1 (unless a region of the settings is).
    let lambda_edge = settings.authorizer == Authorizer::LambdaEdge;
    let mut regions: Vec<&str> = vec![pool_region.as_str(), settings.regions.distribution.as_str()];
    // The rate limit's web ACL lives in us-east-1 too.
    // ... and the monitoring stack for the edge.
    let monitoring = settings.monitoring.is_some();
    if lambda_edge || settings.rate_limit.is_some() || monitoring {
        regions.push(EDGE_REGION);
    }
    regions.sort();
    regions.dedup();
    let mut statements = Vec::new();

    let stack_actions = set(&[
        "cloudformation:CreateChangeSet",
        "cloudformation:DeleteStack",
        "cloudformation:DescribeChangeSet",
        "cloudformation:DescribeStackEvents",
        "cloudformation:DescribeStacks",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:GetTemplate",
        "cloudformation:GetTemplateSummary",
        "cloudformation:ListStackResources",
    ]);
    let mut stacks = Vec::new();
    for region in &regions {
        stacks.push(format!(
            "arn:aws:cloudformation:{region}:*:stack/{prefix}-*/*"
        ));
        stacks.push(format!(
            "arn:aws:cloudformation:{region}:*:stack/aws-sam-cli-managed-default/*"
        ));
    }
    statements.push(statement("Stacks", &stack_actions, json!(stacks)));
    // A site table's sites dropped from the settings are found among the
    // region's stacks (ListStacks takes no resource-level permission);
    // each is then read and deleted under the statement above.
    if !settings.sites.is_empty() {
        statements.push(statement(
            "SitesDropped",
            &set(&["cloudformation:ListStacks"]),
            json!("*"),
        ));
    }
    // A distribution stack of these names in another region (CloudFront's
    // names are account-wide): looked for, read-only, before a deploy.
    statements.push(statement(
        "StacksElsewhere",
        &set(&["cloudformation:DescribeStacks"]),
        json!(format!(
            "arn:aws:cloudformation:*:*:stack/{prefix}-distribution/*"
        )),
    ));
    statements.push(statement(
        "SamChecks",
        &set(&[
            "cloudformation:CreateChangeSet",
            "cloudformation:GetTemplateSummary",
            "cloudformation:ValidateTemplate",
        ]),
        json!("*"),
    ));
    statements.push(statement(
        "SamBucket",
        &set(&[
            "s3:CreateBucket",
            "s3:GetObject",
            "s3:ListBucket",
            "s3:PutBucketPolicy",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketTagging",
            "s3:PutBucketVersioning",
            "s3:PutEncryptionConfiguration",
            "s3:PutObject",
        ]),
        json!([
            "arn:aws:s3:::aws-sam-cli-managed-default-*",
            "arn:aws:s3:::aws-sam-cli-managed-default-*/*"
        ]),
    ));

    // The site bucket: what CloudFormation does with it and its policy, and
    // the tool's sync and teardown (versions, objects).
    let mut site = handler_actions("s3");
    site.extend(set(&[
        "s3:DeleteObjectVersion",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:ListBucketVersions",
        "s3:PutObject",
    ]));
    statements.push(statement(
        "SiteBucket",
        &site,
        json!([
            format!("arn:aws:s3:::{prefix}-*"),
            format!("arn:aws:s3:::{prefix}-*/*")
        ]),
    ));
    if let Some(logs) = &settings.site.logs {
        let bucket = logs.bucket_domain();
        let bucket = bucket.trim_end_matches(".s3.amazonaws.com");
        statements.push(statement(
            "AccessLogBucketAcl",
            &set(&["s3:GetBucketAcl", "s3:PutBucketAcl"]),
            json!(format!("arn:aws:s3:::{bucket}")),
        ));
    }

    let mut functions = vec![format!(
        "arn:aws:lambda:{pool_region}:*:function:{prefix}-auth-*"
    )];
    let mut lambda = handler_actions("lambda");
    if lambda_edge {
        functions.insert(
            0,
            format!("arn:aws:lambda:{EDGE_REGION}:*:function:{prefix}-*"),
        );
        // CloudFront itself, associating the edge versions with the
        // distribution as the deployer (Lambda@Edge's documented
        // permissions).
        lambda.extend(set(&[
            "lambda:DisableReplication",
            "lambda:EnableReplication",
        ]));
    }
    // SAM compares the functions' tags on an update.
    lambda.insert("lambda:ListTags".into());
    statements.push(statement("Functions", &lambda, json!(functions)));

    statements.push(statement(
        "FunctionRoles",
        &handler_actions("iam"),
        json!(format!("arn:aws:iam::*:role/{prefix}-*")),
    ));
    let mut passed_to = vec!["lambda.amazonaws.com"];
    if lambda_edge {
        passed_to.push("edgelambda.amazonaws.com");
    }
    statements.push(json!({
        "Sid": "PassRoles",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": format!("arn:aws:iam::*:role/{prefix}-*"),
        "Condition": {"StringEquals": {"iam:PassedToService": passed_to}},
    }));
    // The service-linked roles the deployment's services create on first
    // use: Lambda@Edge's replicator and CloudFront's logger, and Cognito's
    // for sending through SES (provider.email).
    let mut linked: Vec<(&str, &str)> = Vec::new();
    if lambda_edge {
        linked.push((
            "replicator.lambda.amazonaws.com",
            "AWSServiceRoleForLambdaReplicator",
        ));
        linked.push((
            "logger.cloudfront.amazonaws.com",
            "AWSServiceRoleForCloudFrontLogger",
        ));
    }
    if uses_ses(settings) {
        linked.push((
            "email.cognito-idp.amazonaws.com",
            "AWSServiceRoleForAmazonCognitoIdpEmailService",
        ));
    }
    if !linked.is_empty() {
        statements.push(json!({
            "Sid": "ServiceLinkedRoles",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": linked.iter().map(|(service, role)| format!("arn:aws:iam::*:role/aws-service-role/{service}/{role}")).collect::<Vec<_>>(),
            "Condition": {"StringLike": {"iam:AWSServiceName": linked.iter().map(|(service, _)| *service).collect::<Vec<_>>()}},
        }));
    }

    // CloudFront: each action on the resource type it applies to.
    let cloudfront = handler_actions("cloudfront");
    let of = |kind: &str| -> BTreeSet<String> {
        cloudfront
            .iter()
            .filter(|a| a.contains(kind))
            .cloned()
            .collect()
    };
    let mut distribution: BTreeSet<String> = cloudfront
        .iter()
        .filter(|a| {
            !a.contains("OriginAccessControl")
                && !a.contains("OriginRequestPolic")
                && !a.contains("ResponseHeadersPolic")
                && !of_function_or_store(a)
        })
        .cloned()
        .collect();
    // The tool's own: an invalidation after the site sync.
    distribution.extend(set(&[
        "cloudfront:CreateInvalidation",
        "cloudfront:GetInvalidation",
    ]));
    statements.push(statement(
        "Distribution",
        &distribution,
        json!("arn:aws:cloudfront::*:distribution/*"),
    ));
    statements.push(statement(
        "OriginAccessControl",
        &of("OriginAccessControl"),
        json!("arn:aws:cloudfront::*:origin-access-control/*"),
    ));
    statements.push(statement(
        "OriginRequestPolicy",
        &of("OriginRequestPolic"),
        json!("arn:aws:cloudfront::*:origin-request-policy/*"),
    ));
    statements.push(statement(
        "ResponseHeadersPolicy",
        &of("ResponseHeadersPolic"),
        json!("arn:aws:cloudfront::*:response-headers-policy/*"),
    ));
    if !lambda_edge {
        // Stack tags reach the function and the store too.
        let tags = set(&[
            "cloudfront:ListTagsForResource",
            "cloudfront:TagResource",
            "cloudfront:UntagResource",
        ]);
        let mut function = of("Function");
        function.extend(tags.iter().cloned());
        // The tool's own: CloudFront's runtime runs the staged function on
        // the test requests before the tool publishes it.
        function.insert("cloudfront:TestFunction".into());
        statements.push(statement(
            "ViewerFunction",
            &function,
            json!(format!("arn:aws:cloudfront::*:function/{prefix}-*")),
        ));
        let mut store = of("KeyValueStore");
        store.extend(tags);
        // The tool's own: the session verify keys into the store (its data
        // plane, a service of its own).
        store.extend(set(&[
            "cloudfront-keyvaluestore:DescribeKeyValueStore",
            "cloudfront-keyvaluestore:ListKeys",
            "cloudfront-keyvaluestore:UpdateKeys",
        ]));
        statements.push(statement(
            "KeyStore",
            &store,
            json!("arn:aws:cloudfront::*:key-value-store/*"),
        ));
    }

    if settings.rate_limit.is_some() {
        // The web ACL's stack, and CloudFront reading it when the
        // distribution names it.
        statements.push(statement(
            "WebAcl",
            &handler_actions("wafv2"),
            json!(format!(
                "arn:aws:wafv2:{EDGE_REGION}:*:global/webacl/{prefix}-*/*"
            )),
        ));
    }

    if monitoring {
        // `[monitoring]`: the log groups (made where missing, their
        // retention set, metric filters put on them), the alarms and the
        // dashboard of these names, the alarms' topic.
        let mut groups = handler_actions("logs");
        groups.extend(set(&["logs:CreateLogGroup", "logs:PutRetentionPolicy"]));
        statements.push(statement(
            "LogGroups",
            &groups,
            json!([
                format!("arn:aws:logs:{pool_region}:*:log-group:/aws/lambda/{prefix}-auth-*"),
                format!(
                    "arn:aws:logs:{EDGE_REGION}:*:log-group:/aws/cloudfront/function/{prefix}-*"
                ),
            ]),
        ));
        let (dashboard, alarms): (BTreeSet<String>, BTreeSet<String>) =
            handler_actions("cloudwatch")
                .into_iter()
                .partition(|a| a.contains("Dashboard"));
        let tags: BTreeSet<String> = alarms
            .iter()
            .filter(|a| a.contains("Tag"))
            .cloned()
            .collect();
        statements.push(statement(
            "Alarms",
            &alarms,
            json!(format!("arn:aws:cloudwatch:*:*:alarm:{prefix}-*")),
        ));
        statements.push(statement(
            "Dashboard",
            &dashboard.union(&tags).cloned().collect(),
            json!(format!("arn:aws:cloudwatch::*:dashboard/{prefix}")),
        ));
        statements.push(statement(
            "AlarmTopic",
            &handler_actions("sns"),
            json!(format!("arn:aws:sns:*:*:{prefix}-alarms*")),
        ));
    }

    // The certificates and hosted zones: the site's, or each of a site
    // table's.
    let mut certificates: Vec<String> = settings.site.certificate_arn.iter().cloned().collect();
    let mut zones: Vec<String> = settings.site.hosted_zone_id.iter().cloned().collect();
    for site in &settings.sites {
        certificates.extend(site.certificate_arn.iter().cloned());
        zones.extend(site.hosted_zone_id.iter().cloned());
        // Its previews' wildcard certificate and zone.
        if let Some(preview) = &site.preview {
            certificates.push(preview.certificate_arn.clone());
            zones.extend(preview.hosted_zone_id.iter().cloned());
        }
    }
    certificates.sort();
    certificates.dedup();
    zones.sort();
    zones.dedup();
    let one = |mut list: Vec<Value>| {
        if list.len() == 1 {
            list.remove(0)
        } else {
            Value::Array(list)
        }
    };
    if settings.site.domain.is_some() || !settings.sites.is_empty() {
        // CloudFront reads the certificate for the alias.
        statements.push(statement(
            "Certificate",
            &set(&["acm:DescribeCertificate"]),
            one(certificates.into_iter().map(Value::String).collect()),
        ));
        statements.push(statement(
            "CertificateList",
            &set(&["acm:ListCertificates"]),
            json!("*"),
        ));
    }
    if !zones.is_empty() {
        statements.push(statement(
            "DnsRecords",
            &set(&[
                "route53:ChangeResourceRecordSets",
                "route53:GetHostedZone",
                "route53:ListResourceRecordSets",
            ]),
            one(zones
                .iter()
                .map(|zone| json!(format!("arn:aws:route53:::hostedzone/{zone}")))
                .collect()),
        ));
        statements.push(statement(
            "DnsChange",
            &set(&["route53:GetChange"]),
            json!("arn:aws:route53:::change/*"),
        ));
    }

    // The pool's own types, and those only some settings deploy: its
    // corporate identity providers, managed login's branding.
    let (_, federation) = settings.federation();
    let managed = settings
        .pool_login()
        .is_some_and(|[login, ..]| login == "managed");
    let unused: Vec<&str> = [
        (
            federation.is_empty(),
            "AWS::Cognito::UserPoolIdentityProvider",
        ),
        (!managed, "AWS::Cognito::ManagedLoginBranding"),
    ]
    .into_iter()
    .filter_map(|(skip, kind)| skip.then_some(kind))
    .collect();
    let not_deployed: BTreeSet<String> = HANDLER_ACTIONS
        .iter()
        .filter(|(kind, _)| unused.contains(kind))
        .flat_map(|(_, actions)| actions.iter().map(|a| a.to_string()))
        .collect();
    let mut pools: BTreeSet<String> = handler_actions("cognito-idp")
        .difference(&not_deployed)
        .cloned()
        .collect();
    // `user add`, and `revoke` (the user looked up, signed out, disabled);
    // `[provider] mfa` needs the pool handler's own Get/SetUserPoolMfaConfig.
    pools.extend(set(&[
        "cognito-idp:AdminAddUserToGroup",
        "cognito-idp:AdminCreateUser",
        "cognito-idp:AdminDisableUser",
        "cognito-idp:AdminUserGlobalSignOut",
        "cognito-idp:ListUsers",
    ]));
    statements.push(statement(
        "UserPools",
        &pools,
        json!(format!("arn:aws:cognito-idp:{pool_region}:*:userpool/*")),
    ));
    let mut secret = handler_actions("secretsmanager");
    // A new value of the secret when the app client is replaced.
    secret.insert("secretsmanager:PutSecretValue".into());
    statements.push(statement(
        "ClientSecret",
        &secret,
        json!(format!(
            "arn:aws:secretsmanager:{pool_region}:*:secret:{}/{}/*",
            settings.application, settings.environment
        )),
    ));
    // The function's and the store's only with the default authorizer.
    // ... and the web ACL's only with a rate limit.
    let on_any: Vec<&str> = ON_ANY_RESOURCE
        .iter()
        .copied()
        .filter(|a| !lambda_edge || !of_function_or_store(a))
        .filter(|a| settings.rate_limit.is_some() || !a.starts_with("wafv2:"))
        .filter(|a| {
            monitoring
                || !(a.starts_with("logs:")
                    || a.starts_with("cloudwatch:")
                    || a.starts_with("sns:"))
        })
        .collect();
    statements.push(statement("AnyResource", &set(&on_any), json!("*")));
    // Statement ids are short: IAM counts them against a role's 10,240
    // characters of inline policy, and the policy with every option is
    // close to that.
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Whether a CloudFront action is the viewer function's or its key value
/// store's (only the default authorizer has them).
fn of_function_or_store(action: &str) -> bool {
    action.starts_with("cloudfront:")
        && (action.contains("Function") || action.contains("KeyValueStore"))
}

/// Whether the user pool sends its e-mail through SES.
fn uses_ses(settings: &Settings) -> bool {
    matches!(&settings.provider, Provider::Cognito { email: Some(_), .. })
}

/// Actions a handler lists that these settings never need, with why
/// ([`NOT_NEEDED`], and what depends on the settings).
pub fn not_needed(settings: &Settings) -> Vec<(&'static str, &'static str)> {
    let mut list = NOT_NEEDED.to_vec();
    if settings.authorizer != Authorizer::LambdaEdge && !uses_ses(settings) {
        list.push((
            "iam:CreateServiceLinkedRole",
            "AWS::Cognito::UserPool: Cognito creates a service-linked role to send through SES, used only with provider.email (unset here); with no Lambda@Edge no replicator or CloudFront logger role is needed either",
        ));
    }
    list.sort();
    list
}

/// IAM's limit for all inline policies of one role, in characters (white
/// space not counted: the compact JSON's length).
pub const INLINE_LIMIT: usize = 10_240;
/// IAM's limit for one customer managed policy.
pub const MANAGED_LIMIT: usize = 6_144;

/// The compact length IAM counts.
pub fn characters(document: &Value) -> usize {
    serde_json::to_string(document).map_or(usize::MAX, |s| s.len())
}

/// The document's statements in as few documents of at most `limit`
/// characters each as a first-fit packing finds, in their order: for
/// settings whose policy is over `INLINE_LIMIT` (every option on), to be
/// attached as customer managed policies (`MANAGED_LIMIT` each, ten to a
/// role by default). A statement over the limit alone is an error.
pub fn split(document: &Value, limit: usize) -> Result<Vec<Value>, String> {
    let empty = || json!({"Version": "2012-10-17", "Statement": []});
    let mut parts: Vec<Value> = Vec::new();
    for statement in document["Statement"].as_array().into_iter().flatten() {
        let fits = |part: &Value| {
            let mut with = part.clone();
            if let Some(list) = with["Statement"].as_array_mut() {
                list.push(statement.clone());
            }
            characters(&with) <= limit
        };
        match parts.iter_mut().find(|part| fits(part)) {
            Some(part) => {
                if let Some(list) = part["Statement"].as_array_mut() {
                    list.push(statement.clone());
                }
            }
            None => {
                let mut part = empty();
                part["Statement"] = json!([statement]);
                if characters(&part) > limit {
                    return Err(format!(
                        "statement {} alone is over {limit} characters",
                        statement["Sid"]
                    ));
                }
                parts.push(part);
            }
        }
    }
    Ok(parts)
}

/// The document as the `policy` command prints it and the docs keep it.
pub fn document_text(settings: &Settings) -> String {
    serde_json::to_string_pretty(&document(settings)).unwrap_or_default() + "\n"
}

/// What `policy --explain` prints: the policy, the handler actions it is
/// built from, and the actions left out with their reasons.
pub fn explanation(settings: &Settings) -> Value {
    json!({
        "policy": document(settings),
        "handler_actions": HANDLER_ACTIONS.iter().map(|(t, a)| (t.to_string(), json!(a))).collect::<serde_json::Map<_, _>>(),
        "on_any_resource": ON_ANY_RESOURCE,
        "not_needed": not_needed(settings).iter().map(|(a, why)| (a.to_string(), json!(why))).collect::<serde_json::Map<_, _>>(),
    })
}
