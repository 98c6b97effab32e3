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
    let first = aws::upload_site(&config, "edge-auth-test-site", &files)
        .await
        .unwrap();
    assert_eq!(first, files.len());
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
    assert_eq!(
        aws::upload_site(&config, "edge-auth-test-site", &files)
            .await
            .unwrap(),
        0,
        "nothing changed, nothing uploaded"
    );

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
}
