//! docs/deploy-permissions.json against what runs under the deployer's
//! credentials beside the tool's own calls (those are recorded against moto
//! in aws_with_moto.rs): `sam deploy`, and CloudFormation creating, updating
//! and deleting each resource type in the templates.

use std::collections::BTreeSet;
use std::path::Path;

mod policy {
    include!("permissions/policy.rs");
}
use policy::{DOCUMENTED, allowed_actions_in, iam_actions};

/// What `sam deploy --resolve-s3` calls itself: the change set, and its
/// managed artifact bucket (the aws-sam-cli-managed-default stack).
const SAM_DEPLOY: &[&str] = &[
    "cloudformation:CreateChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:GetTemplateSummary",
    "s3:CreateBucket",
    "s3:PutBucketPolicy",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketTagging",
    "s3:PutObject",
    "s3:GetObject",
    "s3:ListBucket",
];

/// What CloudFormation calls, as the deployer, to create, update and delete
/// each resource type (its resource handlers' documented permissions).
fn actions_for(resource_type: &str) -> Option<&'static [&'static str]> {
    Some(match resource_type {
        "AWS::S3::Bucket" => &[
            "s3:CreateBucket",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketOwnershipControls",
            "s3:PutEncryptionConfiguration",
            "s3:PutBucketVersioning",
            "s3:PutBucketTagging",
            "s3:GetBucketLocation",
        ],
        "AWS::S3::BucketPolicy" => &[
            "s3:PutBucketPolicy",
            "s3:GetBucketPolicy",
            "s3:DeleteBucketPolicy",
        ],
        "AWS::CloudFront::OriginAccessControl" => &[
            "cloudfront:CreateOriginAccessControl",
            "cloudfront:GetOriginAccessControl",
            "cloudfront:UpdateOriginAccessControl",
            "cloudfront:DeleteOriginAccessControl",
        ],
        "AWS::CloudFront::ResponseHeadersPolicy" => &[
            "cloudfront:CreateResponseHeadersPolicy",
            "cloudfront:GetResponseHeadersPolicy",
            "cloudfront:UpdateResponseHeadersPolicy",
            "cloudfront:DeleteResponseHeadersPolicy",
        ],
        "AWS::CloudFront::OriginRequestPolicy" => &[
            "cloudfront:CreateOriginRequestPolicy",
            "cloudfront:GetOriginRequestPolicy",
            "cloudfront:UpdateOriginRequestPolicy",
            "cloudfront:DeleteOriginRequestPolicy",
        ],
        "AWS::CloudFront::Distribution" => &[
            "cloudfront:CreateDistribution",
            "cloudfront:CreateDistributionWithTags",
            "cloudfront:GetDistribution",
            "cloudfront:GetDistributionConfig",
            "cloudfront:UpdateDistribution",
            "cloudfront:DeleteDistribution",
            "cloudfront:TagResource",
            "cloudfront:ListTagsForResource",
            "acm:DescribeCertificate",
            "acm:ListCertificates",
        ],
        // A distribution that associates Lambda@Edge versions replicates
        // them (the service-linked roles are created on first use).
        LAMBDA_EDGE_ASSOCIATION => &[
            "lambda:GetFunction",
            "lambda:EnableReplication",
            "lambda:DisableReplication",
            "iam:CreateServiceLinkedRole",
        ],
        "AWS::CloudFront::Function" => &[
            "cloudfront:CreateFunction",
            "cloudfront:DescribeFunction",
            "cloudfront:GetFunction",
            "cloudfront:UpdateFunction",
            "cloudfront:PublishFunction",
            "cloudfront:DeleteFunction",
            "cloudfront:TagResource",
            "cloudfront:ListTagsForResource",
        ],
        "AWS::CloudFront::KeyValueStore" => &[
            "cloudfront:CreateKeyValueStore",
            "cloudfront:DescribeKeyValueStore",
            "cloudfront:UpdateKeyValueStore",
            "cloudfront:DeleteKeyValueStore",
            "cloudfront:TagResource",
            "cloudfront:ListTagsForResource",
        ],
        "AWS::Route53::RecordSetGroup" => &[
            "route53:ChangeResourceRecordSets",
            "route53:GetChange",
            "route53:GetHostedZone",
            "route53:ListResourceRecordSets",
        ],
        "AWS::IAM::Role" => &[
            "iam:CreateRole",
            "iam:GetRole",
            "iam:DeleteRole",
            "iam:PutRolePolicy",
            "iam:GetRolePolicy",
            "iam:DeleteRolePolicy",
            "iam:TagRole",
            "iam:UpdateAssumeRolePolicy",
        ],
        // The sign-out role's store policy (only with a store).
        "AWS::IAM::RolePolicy" => &[
            "iam:PutRolePolicy",
            "iam:GetRolePolicy",
            "iam:DeleteRolePolicy",
        ],
        // SAM's function with AutoPublishAlias: a function, a version, an
        // alias, and the role passed to it.
        "AWS::Serverless::Function" => &[
            "lambda:CreateFunction",
            "lambda:GetFunction",
            "lambda:GetFunctionConfiguration",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:DeleteFunction",
            "lambda:PublishVersion",
            "lambda:ListVersionsByFunction",
            "lambda:CreateAlias",
            "lambda:GetAlias",
            "lambda:UpdateAlias",
            "lambda:DeleteAlias",
            "lambda:TagResource",
            "lambda:ListTags",
            "iam:PassRole",
        ],
        // A function URL (SAM's FunctionUrlConfig) and the grants that let
        // the distribution call it (the auth-endpoints stack).
        "AWS::Lambda::Url" => &[
            "lambda:CreateFunctionUrlConfig",
            "lambda:GetFunctionUrlConfig",
            "lambda:UpdateFunctionUrlConfig",
            "lambda:DeleteFunctionUrlConfig",
        ],
        "AWS::Lambda::Permission" => &[
            "lambda:AddPermission",
            "lambda:RemovePermission",
            "lambda:GetPolicy",
        ],
        "AWS::Cognito::UserPool" => &[
            "cognito-idp:CreateUserPool",
            "cognito-idp:DescribeUserPool",
            "cognito-idp:UpdateUserPool",
            "cognito-idp:SetUserPoolMfaConfig",
            "cognito-idp:GetUserPoolMfaConfig",
            "cognito-idp:TagResource",
            "cognito-idp:ListTagsForResource",
        ],
        "AWS::Cognito::UserPoolDomain" => &[
            "cognito-idp:CreateUserPoolDomain",
            "cognito-idp:DescribeUserPoolDomain",
            "cognito-idp:UpdateUserPoolDomain",
            "cognito-idp:DeleteUserPoolDomain",
        ],
        "AWS::Cognito::UserPoolClient" => &[
            "cognito-idp:CreateUserPoolClient",
            "cognito-idp:DescribeUserPoolClient",
            "cognito-idp:UpdateUserPoolClient",
            "cognito-idp:DeleteUserPoolClient",
        ],
        "AWS::Cognito::UserPoolIdentityProvider" => &[
            "cognito-idp:CreateIdentityProvider",
            "cognito-idp:DescribeIdentityProvider",
            "cognito-idp:UpdateIdentityProvider",
            "cognito-idp:DeleteIdentityProvider",
        ],
        "AWS::Cognito::ManagedLoginBranding" => &[
            "cognito-idp:CreateManagedLoginBranding",
            "cognito-idp:DescribeManagedLoginBranding",
            "cognito-idp:UpdateManagedLoginBranding",
            "cognito-idp:DeleteManagedLoginBranding",
        ],
        "AWS::Cognito::UserPoolGroup" => &[
            "cognito-idp:CreateGroup",
            "cognito-idp:GetGroup",
            "cognito-idp:UpdateGroup",
            "cognito-idp:DeleteGroup",
        ],
        "AWS::SecretsManager::Secret" => &[
            "secretsmanager:CreateSecret",
            "secretsmanager:DescribeSecret",
            "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecret",
            "secretsmanager:DeleteSecret",
            "secretsmanager:TagResource",
        ],
        _ => return None,
    })
}

/// The distribution's Lambda@Edge associations, as a resource type of
/// their own: only `authorizer = "lambda-edge"` has them.
const LAMBDA_EDGE_ASSOCIATION: &str = "Lambda@Edge association";

/// The resource types an authorizer's deployment creates: the default has
/// no edge-functions stack and no Lambda@Edge association, and only it has
/// the CloudFront Function and its key value store.
fn template_resource_types(authorizer: &str) -> BTreeSet<String> {
    let mut types = all_template_resource_types();
    if authorizer == "lambda-edge" {
        types.remove("AWS::CloudFront::Function");
        types.remove("AWS::CloudFront::KeyValueStore");
        types.insert(LAMBDA_EDGE_ASSOCIATION.into());
    } else {
        types = BTreeSet::new();
        for template in [
            "user-pool",
            "auth-endpoints",
            "viewer-function",
            "distribution",
        ] {
            types.extend(resource_types_of(template));
        }
    }
    // The documented example has no corporate providers and the classic
    // sign-in pages (`a_pools_federation_and_managed_login_are_allowed`).
    for kind in POOL_OPTIONAL {
        types.remove(*kind);
    }
    types
}

/// The pool's resources only some settings deploy.
const POOL_OPTIONAL: &[&str] = &[
    "AWS::Cognito::UserPoolIdentityProvider",
    "AWS::Cognito::ManagedLoginBranding",
];

/// With corporate providers and managed login (examples/corporate), the
/// policy allows their resources; without them (the documented example),
/// none of their actions.
#[test]
fn a_pools_federation_and_managed_login_are_allowed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let corporate =
        edge_auth_deploy::settings::Settings::load(&root.join("examples/corporate/corporate.toml"))
            .unwrap();
    let text = edge_auth_deploy::policy::document_text(&corporate);
    let documented = allowed_actions_in(DOCUMENTED[0].1);
    assert!(
        resource_types_of("user-pool")
            .is_superset(&POOL_OPTIONAL.iter().map(|k| k.to_string()).collect())
    );
    for kind in POOL_OPTIONAL {
        for action in actions_for(kind).unwrap() {
            assert!(
                text.contains(&format!("\"{action}\"")),
                "{kind}: {action} not allowed"
            );
            assert!(
                !documented.contains(*action),
                "{action} without the settings that need it"
            );
        }
    }
}

fn all_template_resource_types() -> BTreeSet<String> {
    let mut types = BTreeSet::new();
    for template in [
        "user-pool",
        "edge-functions",
        "auth-endpoints",
        "viewer-function",
        "distribution",
    ] {
        types.extend(resource_types_of(template));
    }
    types
}

fn resource_types_of(template: &str) -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut text =
        std::fs::read_to_string(root.join("sam").join(template).join("template.yaml")).unwrap();
    // The user pool as a deploy renders it with corporate identity
    // providers (examples/corporate): their resource type too.
    if template == "user-pool" {
        let corporate = edge_auth_deploy::settings::Settings::load(
            &root.join("examples/corporate/corporate.toml"),
        )
        .unwrap();
        let (native, federation) = corporate.federation();
        text = edge_auth_deploy::federation::render(&text, federation, native, &corporate.dir)
            .unwrap();
    }
    let mut types: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Type: AWS::"))
        .map(|t| format!("AWS::{}", t.trim()))
        .collect();
    // SAM makes an AWS::Lambda::Url of a function's FunctionUrlConfig.
    if text.contains("FunctionUrlConfig:") {
        types.insert("AWS::Lambda::Url".into());
    }
    types
}

#[test]
fn sam_deploy_is_allowed() {
    for (_, file) in DOCUMENTED {
        let allowed = allowed_actions_in(file);
        for action in SAM_DEPLOY {
            assert!(
                allowed.contains(*action),
                "sam deploy needs {action} ({file})"
            );
        }
    }
}

#[test]
fn every_resource_in_the_templates_can_be_created_updated_and_deleted() {
    for (authorizer, file) in DOCUMENTED {
        let allowed = allowed_actions_in(file);
        let types = template_resource_types(authorizer);
        assert!(types.len() >= 10, "{types:?}");
        for resource_type in &types {
            let needed = actions_for(resource_type).unwrap_or_else(|| {
                panic!("{resource_type}: new in a template; list the actions CloudFormation needs for it here and in {file}")
            });
            for action in needed {
                assert!(
                    allowed.contains(*action),
                    "{resource_type} needs {action}, which {file} does not allow"
                );
            }
        }
    }
    // The default's policy has nothing of Lambda@Edge's.
    let default = allowed_actions_in(DOCUMENTED[0].1);
    for action in [
        "lambda:EnableReplication",
        "lambda:DisableReplication",
        "iam:CreateServiceLinkedRole",
    ] {
        assert!(
            !default.contains(action),
            "{action} in the default's policy"
        );
    }
}

#[test]
fn the_policy_has_nothing_that_no_step_needs() {
    for (authorizer, file) in DOCUMENTED {
        nothing_that_no_step_needs(authorizer, file);
    }
}

fn nothing_that_no_step_needs(authorizer: &str, file: &str) {
    // Least privilege both ways: an action no call, SAM step or resource
    // needs is one too many.
    let mut needed: BTreeSet<String> = SAM_DEPLOY.iter().map(|a| a.to_string()).collect();
    for resource_type in template_resource_types(authorizer) {
        needed.extend(
            actions_for(&resource_type)
                .unwrap_or(&[])
                .iter()
                .map(|a| a.to_string()),
        );
    }
    // The tool's own calls (recorded against moto in aws_with_moto.rs).
    for call in [
        "CloudFormation:DescribeStacks",
        "CloudFormation:DescribeStackEvents",
        "CloudFormation:DeleteStack",
        "S3:ListObjectsV2",
        "S3:HeadObject",
        "S3:PutObject",
        "S3:DeleteObjects",
        "S3:ListObjectVersions",
        "S3:DeleteBucket",
        "CloudFront:CreateInvalidation",
        "CloudFront:TestFunction",
        "CloudFront:PublishFunction",
        "CloudFront:DescribeFunction",
        "CloudFront:GetFunction",
        "Cognito Identity Provider:AdminCreateUser",
        "Cognito Identity Provider:AdminAddUserToGroup",
        "Cognito Identity Provider:ListUsers",
        "Cognito Identity Provider:AdminUserGlobalSignOut",
        "Cognito Identity Provider:AdminDisableUser",
        "Secrets Manager:DescribeSecret",
        "Secrets Manager:DeleteSecret",
        "CloudFront KeyValueStore:DescribeKeyValueStore",
        "CloudFront KeyValueStore:ListKeys",
        "CloudFront KeyValueStore:UpdateKeys",
    ] {
        needed.extend(iam_actions(call));
    }
    // Read-backs CloudFormation and SAM make while they wait or compare.
    needed.extend(
        [
            "cloudformation:GetTemplate",
            "cloudformation:ListStackResources",
            "cloudformation:ValidateTemplate",
            "cloudfront:GetInvalidation",
            "cloudfront:UntagResource",
            "cognito-idp:UntagResource",
            "iam:UntagRole",
            "lambda:UntagResource",
            "s3:GetBucketTagging",
            "s3:GetEncryptionConfiguration",
            "secretsmanager:UntagResource",
        ]
        .map(String::from),
    );
    // What CloudFormation's handlers list for the templates' resource types
    // (edge_auth_deploy::policy::HANDLER_ACTIONS, held to cfn-lint's schemas
    // by tests/deploy/test_permissions.py).
    for (_, actions) in edge_auth_deploy::policy::HANDLER_ACTIONS {
        needed.extend(actions.iter().map(|a| a.to_string()));
    }
    let extra: Vec<_> = allowed_actions_in(file)
        .difference(&needed)
        .cloned()
        .collect();
    assert!(
        extra.is_empty(),
        "{file}: allowed but never needed: {extra:?}"
    );
}

/// docs/deploy-permissions.json is what `edge-auth-deploy policy --settings
/// deploy/prod.toml` prints.
#[test]
fn the_documented_policy_is_the_tools_output_for_the_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let prod = edge_auth_deploy::settings::Settings::load(&root.join("deploy/prod.toml")).unwrap();
    for (authorizer, file) in DOCUMENTED {
        let mut settings = prod.clone();
        settings.authorizer = match authorizer {
            "lambda-edge" => edge_auth_deploy::settings::Authorizer::LambdaEdge,
            _ => edge_auth_deploy::settings::Authorizer::CloudfrontFunction,
        };
        assert_eq!(settings.authorizer.as_str(), authorizer);
        let documented = std::fs::read_to_string(root.join(file)).unwrap();
        assert_eq!(
            documented,
            edge_auth_deploy::policy::document_text(&settings),
            "regenerate it: cargo run -p edge-auth-deploy -- policy --settings deploy/prod.toml (with authorizer = \"{authorizer}\") > {file}"
        );
        // IAM's limit for the inline policies of one role (a customer
        // managed policy takes at most 6,144 characters: this one is
        // attached inline).
        let compact =
            serde_json::to_string(&edge_auth_deploy::policy::document(&settings)).unwrap();
        eprintln!("{file}: {} characters", compact.len());
        assert!(
            compact.len() <= 10_240,
            "{file}: {} characters",
            compact.len()
        );
    }
}

/// The policy follows the settings: the hosted zone's records only, the
/// application's names and regions, the access log bucket when logs are on.
#[test]
fn the_policy_is_narrowed_to_the_settings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let prod = edge_auth_deploy::settings::Settings::load(&root.join("deploy/prod.toml")).unwrap();
    let text = edge_auth_deploy::policy::document_text(&prod);
    assert!(text.contains("arn:aws:route53:::hostedzone/Z0000000000EXAMPLE"));
    assert!(text.contains("arn:aws:lambda:eu-north-1:*:function:edge-auth-prod-auth-*"));
    assert!(text.contains("arn:aws:cognito-idp:eu-north-1:*:userpool/*"));
    assert!(text.contains("arn:aws:secretsmanager:eu-north-1:*:secret:edge-auth/prod/*"));
    assert!(!text.contains("AccessLogBucketAcl"));
    let preview =
        edge_auth_deploy::settings::Settings::load(&root.join("deploy/preview.toml")).unwrap();
    let text = edge_auth_deploy::policy::document_text(&preview);
    assert!(!text.contains("route53:"), "no zone, no record changes");
    assert!(!text.contains("acm:"), "no domain, no certificate");
    assert!(text.contains("arn:aws:cloudformation:eu-west-1:*:stack/edge-auth-preview-*/*"));
    assert!(!text.contains("eu-north-1"));
    let mut logged = prod.clone();
    logged.site.logs = Some(edge_auth_deploy::settings::AccessLogs {
        bucket: "docs-logs".into(),
        prefix: String::new(),
    });
    let text = edge_auth_deploy::policy::document_text(&logged);
    assert!(text.contains("\"arn:aws:s3:::docs-logs\""));
}

/// With every option on (access logs, SES, the rate limit) the policy is
/// over IAM's limit for a role's inline policies; `policy --split` gives
/// the same statements as customer managed policies, each within theirs.
#[test]
fn a_policy_over_the_inline_limit_splits_into_managed_policies() {
    use edge_auth_deploy::policy::{INLINE_LIMIT, MANAGED_LIMIT, characters, document, split};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut every =
        edge_auth_deploy::settings::Settings::load(&root.join("deploy/prod.toml")).unwrap();
    every.site.logs = Some(edge_auth_deploy::settings::AccessLogs {
        bucket: "docs-logs".into(),
        prefix: "edge-auth/prod/".into(),
    });
    every.rate_limit = Some(edge_auth_deploy::settings::RateLimit {
        auth_requests: 300,
        window_seconds: 300,
    });
    if let edge_auth_deploy::settings::Provider::Cognito { email, .. } = &mut every.provider {
        *email = Some(edge_auth_deploy::settings::PoolEmail {
            from: "Docs <no-reply@docs.example.com>".into(),
            ses_identity_arn: "arn:aws:ses:eu-north-1:111122223333:identity/docs.example.com"
                .into(),
        });
    }
    let whole = document(&every);
    eprintln!("every option: {} characters", characters(&whole));
    assert!(characters(&whole) > INLINE_LIMIT);
    let parts = split(&whole, MANAGED_LIMIT).unwrap();
    assert!(
        parts.len() >= 2 && parts.len() <= 10,
        "{} parts",
        parts.len()
    );
    let mut statements = Vec::new();
    for part in &parts {
        assert!(characters(part) <= MANAGED_LIMIT, "{}", characters(part));
        assert_eq!(part["Version"], "2012-10-17");
        statements.extend(part["Statement"].as_array().unwrap().iter().cloned());
    }
    let mut expected = whole["Statement"].as_array().unwrap().clone();
    let key = |s: &serde_json::Value| s["Sid"].as_str().unwrap_or_default().to_owned();
    statements.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(statements, expected);
    // A statement that fits nowhere is an error, not a policy IAM refuses.
    assert!(split(&whole, 500).is_err());
}
