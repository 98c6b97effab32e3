// docs/deploy-permissions.json and the IAM actions behind each API call;
// included by the tests that hold calls and templates against the policy.

use std::collections::BTreeSet;

/// The documented policies: deploy/prod.toml's (the default authorizer, a
/// CloudFront Function) and the same settings with authorizer =
/// "lambda-edge".
#[allow(dead_code)]
pub const DOCUMENTED: [(&str, &str); 2] = [
    ("cloudfront-function", "docs/deploy-permissions.json"),
    ("lambda-edge", "docs/deploy-permissions-lambda-edge.json"),
];

/// Every action docs/deploy-permissions.json allows.
#[allow(dead_code)]
pub fn allowed_actions() -> BTreeSet<String> {
    allowed_actions_in("docs/deploy-permissions.json")
}

/// Every action a documented policy allows (its statements are all `Allow`).
pub fn allowed_actions_in(file: &str) -> BTreeSet<String> {
    let path = format!("{}/../../{file}", env!("CARGO_MANIFEST_DIR"));
    let policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut actions = BTreeSet::new();
    for statement in policy["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow", "{statement}");
        match &statement["Action"] {
            serde_json::Value::String(a) => {
                actions.insert(a.clone());
            }
            serde_json::Value::Array(list) => {
                actions.extend(list.iter().map(|a| a.as_str().unwrap().to_owned()));
            }
            other => panic!("Action {other}"),
        }
    }
    assert!(
        actions.iter().all(|a| !a.contains('*')),
        "least privilege: no wildcard actions"
    );
    actions
}

/// The IAM actions an SDK call (`Service:Operation`, as the tool records it)
/// needs. Most are the operation's own name; S3's are not.
pub fn iam_actions(call: &str) -> Vec<String> {
    let (service, operation) = call.split_once(':').unwrap();
    let prefix = match service.to_ascii_lowercase().replace(' ', "").as_str() {
        "cloudformation" => "cloudformation",
        "cloudfront" => "cloudfront",
        "s3" => "s3",
        "cognitoidentityprovider" => "cognito-idp",
        "secretsmanager" => "secretsmanager",
        "cloudfrontkeyvaluestore" => "cloudfront-keyvaluestore",
        other => panic!("{call}: a service the policy does not know ({other}); add it"),
    };
    let actions: &[&str] = match (prefix, operation) {
        ("s3", "ListObjectsV2" | "HeadBucket") => &["ListBucket"],
        ("s3", "HeadObject") => &["GetObject"],
        ("s3", "ListObjectVersions") => &["ListBucketVersions"],
        // With version ids (emptying the bucket) it is DeleteObjectVersion.
        ("s3", "DeleteObjects") => &["DeleteObject", "DeleteObjectVersion"],
        (_, op) => return vec![format!("{prefix}:{op}")],
    };
    actions.iter().map(|a| format!("{prefix}:{a}")).collect()
}
