//! The AWS calls against moto's server, started by this test on 127.0.0.1
//! (`pip install 'moto[server]'`): stack outputs and states, the site upload
//! with content types and cache headers, the CloudFront invalidation.

use std::path::Path;

use edge_auth_deploy::aws;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_calls_against_moto() {
    // SAFETY: the only test in this binary; set before any thread reads them.
    unsafe {
        // No credentials anywhere (and never a look at instance metadata):
        // the tool must say so before it starts.
        for name in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ] {
            std::env::remove_var(name);
        }
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/aws-config");
        std::env::set_var(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        );
    }
    let bare = aws::sdk_config("eu-north-1", None).await;
    let missing = aws::check_credentials(&bare).await.unwrap_err().to_string();
    assert!(missing.starts_with("no AWS credentials found"), "{missing}");

    // SAFETY: as above.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    let moto = edge_auth_testkit::moto::start();
    let url = moto.url.clone();
    let config = aws::sdk_config("eu-north-1", Some(&url)).await;
    aws::check_credentials(&config).await.unwrap();

    // Stack outputs, and the states a half-finished run leaves.
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let template = r#"{"Resources": {"Site": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "edge-auth-test-site"}}},
        "Outputs": {"BucketName": {"Value": {"Ref": "Site"}}, "SiteUrl": {"Value": "https://d111.cloudfront.net"}}}"#;
    cfn.create_stack()
        .stack_name("edge-auth-test-distribution")
        .template_body(template)
        .send()
        .await
        .unwrap();
    assert_eq!(
        aws::stack_status(&config, "edge-auth-test-distribution")
            .await
            .unwrap()
            .unwrap()
            .as_str(),
        "CREATE_COMPLETE"
    );
    assert_eq!(
        aws::stack_status(&config, "no-such-stack").await.unwrap(),
        None
    );
    let outputs = aws::stack_outputs(&config, "edge-auth-test-distribution")
        .await
        .unwrap();
    assert_eq!(outputs["BucketName"], "edge-auth-test-site");
    assert_eq!(outputs["SiteUrl"], "https://d111.cloudfront.net");
    use aws_sdk_cloudformation::types::StackStatus;
    assert!(aws::check_resumable("s", Some(&StackStatus::CreateComplete)).is_ok());
    // A first change set that failed leaves REVIEW_IN_PROGRESS for good:
    // deploy over it, as SAM does, rather than wait for it to settle.
    assert!(aws::check_resumable("s", Some(&StackStatus::ReviewInProgress)).is_ok());
    assert!(
        aws::check_resumable("s", Some(&StackStatus::RollbackComplete))
            .unwrap_err()
            .to_string()
            .contains("delete it")
    );
    assert!(
        aws::check_resumable("s", Some(&StackStatus::UpdateInProgress))
            .unwrap_err()
            .to_string()
            .contains("still going")
    );

    // The site: content types and cache headers; a second run uploads nothing.
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../site");
    let files = aws::site_files(&site).unwrap();
    assert!(
        files
            .iter()
            .any(|f| f.key == "docs/getting-started/index.html")
    );
    let first = aws::sync_site(&config, "edge-auth-test-site", &files)
        .await
        .unwrap();
    assert_eq!((first.upload.len(), first.delete.len()), (files.len(), 0));
    let s3 = aws_sdk_s3::Client::new(&config);
    let page = s3
        .head_object()
        .bucket("edge-auth-test-site")
        .key("index.html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.content_type(), Some("text/html; charset=utf-8"));
    assert_eq!(page.cache_control(), Some("private, no-cache"));
    let css = s3
        .head_object()
        .bucket("edge-auth-test-site")
        .key("assets/style.css")
        .send()
        .await
        .unwrap();
    assert_eq!(css.content_type(), Some("text/css; charset=utf-8"));
    assert_eq!(css.cache_control(), Some("private, max-age=3600"));
    let again = aws::sync_site(&config, "edge-auth-test-site", &files)
        .await
        .unwrap();
    assert!(
        again.is_empty(),
        "nothing changed, nothing uploaded: {again}"
    );
    assert_eq!(again.unchanged, files.len());

    // A file taken out of the site: the comparison (read only, as in
    // --dry-run) names it for deletion, the sync deletes it.
    let removed = "docs/getting-started/index.html";
    let fewer: Vec<_> = files.iter().filter(|f| f.key != removed).cloned().collect();
    let planned = aws::site_changes(&config, "edge-auth-test-site", &fewer)
        .await
        .unwrap();
    assert_eq!(planned.delete, [removed]);
    assert!(planned.upload.is_empty());
    assert!(planned.to_string().contains("0 to upload, 1 to delete"));
    let still_there = s3
        .head_object()
        .bucket("edge-auth-test-site")
        .key(removed)
        .send()
        .await;
    assert!(still_there.is_ok(), "the comparison changes nothing");
    let synced = aws::sync_site(&config, "edge-auth-test-site", &fewer)
        .await
        .unwrap();
    assert_eq!(synced.delete, [removed]);
    let gone = s3
        .head_object()
        .bucket("edge-auth-test-site")
        .key(removed)
        .send()
        .await;
    assert!(gone.is_err(), "deleted from the bucket");

    // The invalidation.
    use aws_sdk_cloudfront::types::{
        DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig,
        ViewerProtocolPolicy,
    };
    let cloudfront = aws_sdk_cloudfront::Client::new(&config);
    let origin = Origin::builder()
        .id("site")
        .domain_name("edge-auth-test-site.s3.amazonaws.com")
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .unwrap();
    let distribution = DistributionConfig::builder()
        .caller_reference("edge-auth-test")
        .comment("test")
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .unwrap(),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("site")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .cache_policy_id("658327ea-f89d-4fab-a63d-7e88639e58f6")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let created = cloudfront
        .create_distribution()
        .distribution_config(distribution)
        .send()
        .await
        .unwrap();
    let id = created.distribution().unwrap().id().to_owned();
    let invalidation = aws::invalidate(&config, &id, "edge-auth-test-1")
        .await
        .unwrap();
    assert!(!invalidation.is_empty());
    let listed = cloudfront
        .list_invalidations()
        .distribution_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.invalidation_list().map(|l| l.quantity()), Some(1));

    users_and_secret_names(&url).await;
    session_keys_rotation(&url).await;

    // The teardown, twice: keeping the bucket, and emptying it.
    for (environment, empty_bucket) in [("one", false), ("two", true)] {
        teardown_against_moto(&url, environment, empty_bucket).await;
    }

    // Every call the tool made is allowed by docs/deploy-permissions.json.
    let allowed = permissions::allowed_actions();
    let made = aws::calls_made();
    for expected in [
        "CloudFormation:DescribeStacks",
        "CloudFormation:DeleteStack",
        "S3:ListObjectsV2",
        "S3:DeleteObjects",
        "S3:DeleteBucket",
        "CloudFront:CreateInvalidation",
        "Cognito Identity Provider:AdminCreateUser",
        "Cognito Identity Provider:AdminAddUserToGroup",
        "Secrets Manager:DescribeSecret",
        "Secrets Manager:DeleteSecret",
        "Secrets Manager:GetSecretValue",
        "Secrets Manager:CreateSecret",
        "Secrets Manager:PutSecretValue",
    ] {
        assert!(made.contains(expected), "{expected} not recorded: {made:?}");
    }
    for call in &made {
        for action in permissions::iam_actions(call) {
            assert!(
                allowed.contains(&action),
                "{call} needs {action}, which docs/deploy-permissions.json does not allow"
            );
        }
    }
}

/// The session key secret: created with one key on a first deploy, read
/// unchanged by the next, and through a rotation (new key, promotion, the
/// old key dropped once its sessions are over) never without the key a
/// live session was signed with.
async fn session_keys_rotation(url: &str) {
    use edge_auth_core::session::SessionVerifier;
    use edge_auth_deploy::session_keys;
    let config = aws::sdk_config("eu-north-1", Some(url)).await;
    let settings = edge_auth_deploy::settings::Settings::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prod.toml"),
    )
    .unwrap();
    let name = settings.session_keys_secret_name();
    let t0 = 1_800_000_000;
    let first = session_keys::ensure(&config, &settings, &name, t0)
        .await
        .unwrap();
    assert_eq!(first.keys.len(), 1);
    let again = session_keys::ensure(&config, &settings, &name, t0 + 60)
        .await
        .unwrap();
    assert_eq!(
        again.keys[0].key, first.keys[0].key,
        "a second deploy keeps the key"
    );
    let claims = edge_auth_core::session::SessionClaims {
        sub: "u".into(),
        name: "n".into(),
        groups: vec![],
        sid: "s".into(),
        iat: t0 + 60,
        exp: t0 + 60 + settings.longest_session_seconds(),
        auth_time: None,
        idp_auth_time: None,
        mfa: None,
        site: None,
    };
    let old_session = first.signer().unwrap().sign(&claims);

    // The rotation's three phases, as `rotate-session-key` runs them.
    let mut set = aws::read_session_keys(&config, &name)
        .await
        .unwrap()
        .unwrap();
    let new_kid = session_keys::add_next(&mut set, t0 + 120, &mut edge_auth_core::SystemEntropy);
    aws::put_session_keys(&config, &name, &set).await.unwrap();
    let deployed = session_keys::ensure(&config, &settings, &name, t0 + 130)
        .await
        .unwrap();
    assert_eq!(
        deployed.keys.len(),
        2,
        "the deploy writes both keys into every config.json"
    );
    assert_eq!(
        deployed.signing_kid, first.signing_kid,
        "the old key still signs"
    );
    let mut set = aws::read_session_keys(&config, &name)
        .await
        .unwrap()
        .unwrap();
    session_keys::promote(
        &mut set,
        &new_kid,
        t0 + 200,
        settings.longest_session_seconds(),
    );
    aws::put_session_keys(&config, &name, &set).await.unwrap();
    let signer_reads = aws::read_session_keys(&config, &name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(signer_reads.signer().unwrap().kid(), new_kid);
    let verifiers = SessionVerifier::new(&deployed.keys, 0).unwrap();
    assert!(
        verifiers.verify(&old_session, t0 + 300).is_ok(),
        "nobody is signed out"
    );
    // A deploy before the old sessions are over keeps the old key ...
    let early = session_keys::ensure(&config, &settings, &name, t0 + 300)
        .await
        .unwrap();
    assert_eq!(early.keys.len(), 2);
    // ... one after drops it, from the secret and so from every config.json.
    let late = t0 + 200 + settings.longest_session_seconds() + 600;
    let after = session_keys::ensure(&config, &settings, &name, late)
        .await
        .unwrap();
    assert_eq!(after.keys.len(), 1);
    assert_eq!(after.keys[0].kid, new_kid);
    assert_eq!(
        aws::read_session_keys(&config, &name)
            .await
            .unwrap()
            .unwrap()
            .keys
            .len(),
        1
    );
}

mod permissions {
    include!("permissions/policy.rs");
}

/// `user add` (the first user of a new pool, and one who is there already),
/// and a deploy after a destroy: the client secret's name, held by a secret
/// scheduled for deletion, is freed before the user-pool stack creates it.
async fn users_and_secret_names(url: &str) {
    let config = aws::sdk_config("eu-north-1", Some(url)).await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
    let pool = cognito
        .create_user_pool()
        .pool_name("edge-auth-test")
        .send()
        .await
        .unwrap();
    let pool = pool.user_pool().unwrap().id().unwrap().to_owned();
    // `[provider] mfa`: set through Cognito's API, only when it differs.
    {
        use edge_auth_deploy::settings::PoolMfa;
        let live = || async {
            let c = cognito
                .get_user_pool_mfa_config()
                .user_pool_id(&pool)
                .send()
                .await
                .unwrap();
            (
                c.mfa_configuration().map(|m| m.as_str().to_owned()),
                c.software_token_mfa_configuration()
                    .is_some_and(|t| t.enabled()),
            )
        };
        let (before, changed) = aws::set_pool_mfa(&config, &pool, PoolMfa::Required)
            .await
            .unwrap();
        assert!(changed, "{before}");
        assert_eq!(live().await, (Some("ON".to_owned()), true));
        assert_eq!(
            aws::set_pool_mfa(&config, &pool, PoolMfa::Required)
                .await
                .unwrap(),
            ("ON".to_owned(), false)
        );
        assert_eq!(
            aws::set_pool_mfa(&config, &pool, PoolMfa::Off)
                .await
                .unwrap(),
            ("ON".to_owned(), true)
        );
        assert_eq!(live().await, (Some("OFF".to_owned()), false));
        aws::set_pool_mfa(&config, &pool, PoolMfa::Optional)
            .await
            .unwrap();
        assert_eq!(live().await, (Some("OPTIONAL".to_owned()), true));
    }
    cognito
        .create_group()
        .user_pool_id(&pool)
        .group_name("admins")
        .send()
        .await
        .unwrap();
    let email = "first.user@example.org";
    assert_eq!(
        aws::add_user(&config, &pool, email, Some("admins"))
            .await
            .unwrap(),
        aws::UserAdded::Invited
    );
    let user = cognito
        .admin_get_user()
        .user_pool_id(&pool)
        .username(email)
        .send()
        .await
        .unwrap();
    let attribute = |name: &str| {
        user.user_attributes()
            .iter()
            .find(|a| a.name() == name)
            .and_then(|a| a.value())
            .map(str::to_owned)
    };
    assert_eq!(attribute("email").as_deref(), Some(email));
    assert_eq!(attribute("email_verified").as_deref(), Some("true"));
    assert_eq!(
        user.user_status().map(|s| s.as_str()),
        Some("FORCE_CHANGE_PASSWORD")
    );
    let groups = cognito
        .admin_list_groups_for_user()
        .user_pool_id(&pool)
        .username(email)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.groups().len(), 1);
    assert_eq!(groups.groups()[0].group_name(), Some("admins"));
    // Again: no second invitation, and no error.
    assert_eq!(
        aws::add_user(&config, &pool, email, None).await.unwrap(),
        aws::UserAdded::AlreadyThere
    );
    // A group the pool does not have is the provider's error, named.
    assert!(
        aws::add_user(&config, &pool, "second@example.org", Some("no-such-group"))
            .await
            .is_err()
    );

    // `revoke --email`: the user found by e-mail, by sub and by name alike,
    // signed out of the pool and disabled; an address nobody has is none.
    let by_email = aws::find_pool_user(&config, &pool, "email", email)
        .await
        .unwrap()
        .expect("the invited user");
    assert_eq!(by_email.username, email);
    assert_eq!(attribute("sub").as_deref(), Some(by_email.sub.as_str()));
    for (attribute, value) in [("sub", by_email.sub.as_str()), ("username", email)] {
        assert_eq!(
            aws::find_pool_user(&config, &pool, attribute, value)
                .await
                .unwrap()
                .as_ref(),
            Some(&by_email),
            "{attribute}"
        );
    }
    assert_eq!(
        aws::find_pool_user(&config, &pool, "email", "nobody@example.org")
            .await
            .unwrap(),
        None
    );
    aws::end_pool_sessions(&config, &pool, &by_email.username, true)
        .await
        .unwrap();
    let after = cognito
        .admin_get_user()
        .user_pool_id(&pool)
        .username(email)
        .send()
        .await
        .unwrap();
    assert!(!after.enabled(), "disabled");

    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let name = "edge-auth/again/app-client";
    assert_eq!(
        aws::clear_deleted_secret(&config, name).await.unwrap(),
        aws::SecretName::Free
    );
    let create = || {
        secrets
            .create_secret()
            .name(name)
            .secret_string("{}")
            .send()
    };
    create().await.unwrap();
    // A live secret of the name is somebody else's: an error, never deleted.
    let live = aws::clear_deleted_secret(&config, name)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        live.contains("no stack of this deployment holds it"),
        "{live}"
    );
    // Deleted with a recovery window: the name stays taken...
    secrets
        .delete_secret()
        .secret_id(name)
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert!(create().await.is_err(), "the name is still taken");
    // ...until the tool frees it; then the stack can create it again.
    assert_eq!(
        aws::clear_deleted_secret(&config, name).await.unwrap(),
        aws::SecretName::Cleared
    );
    create().await.unwrap();
}

async fn teardown_against_moto(url: &str, environment: &str, empty_bucket: bool) {
    use edge_auth_deploy::destroy::{self, Patience, Teardown};
    let dir = std::env::temp_dir().join(format!("teardown-{}-{environment}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let settings_path = dir.join("settings.toml");
    std::fs::write(
        &settings_path,
        format!(
            "application = \"edge-auth\"\nenvironment = \"{environment}\"\n[regions]\nuser_pool = \"eu-north-1\"\ndistribution = \"eu-north-1\"\n[site]\ndirectory = \"site\"\n[provider]\nkind = \"cognito\"\nhosted_domain_prefix = \"x\"\n"
        ),
    )
    .unwrap();
    let settings = edge_auth_deploy::settings::Settings::load(&settings_path).unwrap();
    let bucket = format!("edge-auth-{environment}-site");
    let eu = aws::sdk_config("eu-north-1", Some(url)).await;
    let us = aws::sdk_config("us-east-1", Some(url)).await;
    let stacks = [
        (
            &eu,
            settings.stack_name("distribution"),
            format!(
                r#"{{"Resources": {{"Site": {{"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "Properties": {{"BucketName": "{bucket}"}}}}}},
                "Outputs": {{"BucketName": {{"Value": {{"Ref": "Site"}}}}}}}}"#
            ),
        ),
        (
            &us,
            settings.stack_name("edge-functions"),
            format!(
                r#"{{"Resources": {{"Code": {{"Type": "AWS::S3::Bucket", "Properties": {{"BucketName": "edge-auth-{environment}-code"}}}}}}}}"#
            ),
        ),
        (
            &eu,
            settings.stack_name("user-pool"),
            format!(
                r#"{{"Resources": {{"Pool": {{"Type": "AWS::S3::Bucket", "Properties": {{"BucketName": "edge-auth-{environment}-pool"}}}}}},
                "Outputs": {{"UserPoolId": {{"Value": "eu-north-1_{environment}"}}}}}}"#
            ),
        ),
    ];
    for (config, stack, template) in &stacks {
        aws_sdk_cloudformation::Client::new(config)
            .create_stack()
            .stack_name(stack)
            .template_body(template)
            .send()
            .await
            .unwrap();
    }
    let s3 = aws_sdk_s3::Client::new(&eu);
    // Versioned, as the distribution template makes it: two versions of a
    // page and a deleted one (a delete marker) must all go with the bucket.
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    for (key, body) in [
        ("index.html", "one"),
        ("index.html", "two"),
        ("old.html", "gone"),
    ] {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    s3.delete_object()
        .bucket(&bucket)
        .key("old.html")
        .send()
        .await
        .unwrap();

    let teardown = Teardown::new(&settings, empty_bucket);
    let outputs = destroy::read_outputs(&teardown, Some(url)).await.unwrap();
    let plan = destroy::describe(&teardown, &outputs);
    // The default authorizer has no Lambda@Edge: the edge-functions stack
    // (here, as one left by an earlier lambda-edge deployment) is deleted
    // if it is there, and nothing waits for replicas otherwise; no replica
    // log groups to mention.
    assert!(
        plan.contains("-edge-functions (us-east-1) only if an earlier deployment with authorizer = \"lambda-edge\" left it"),
        "{plan}"
    );
    assert!(!plan.contains("/aws/lambda/us-east-1."), "{plan}");
    // What stays is named with the real values.
    assert!(
        plan.contains(&format!("stays: eu-north-1_{environment}")),
        "{plan}"
    );
    assert_eq!(
        plan.contains(&format!("stays: {bucket}")),
        !empty_bucket,
        "{plan}"
    );
    let quick = Patience {
        poll: std::time::Duration::from_millis(20),
        replica_retry: std::time::Duration::from_millis(20),
        replica_give_up: std::time::Duration::from_secs(5),
    };
    destroy::run(&teardown, &outputs, Some(url), &quick)
        .await
        .unwrap();
    for (config, stack, _) in &stacks {
        assert_eq!(
            aws::stack_status(config, stack)
                .await
                .unwrap()
                .map(|s| s.as_str().to_owned()),
            None,
            "{stack} deleted"
        );
    }
    let bucket_left = s3.head_bucket().bucket(&bucket).send().await.is_ok();
    assert_eq!(
        bucket_left, !empty_bucket,
        "the bucket stays unless --empty-bucket"
    );
    // Running it again finds nothing to delete and does not fail.
    let outputs = destroy::read_outputs(&teardown, Some(url)).await.unwrap();
    assert!(outputs.is_empty());
    destroy::run(&teardown, &outputs, Some(url), &quick)
        .await
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
