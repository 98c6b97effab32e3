//! The dry-run plan and the configured packages, without AWS.

use std::io::{Read, Write};
use std::path::Path;

use edge_auth_deploy::package::{
    SecretLocation, SessionKeysLocation, config_json, write_configured_zip,
};
use edge_auth_deploy::plan::{Plan, Step, Value};
use edge_auth_deploy::settings::Settings;
use serde_json::json;

fn settings(text: &str) -> Settings {
    let path = std::env::temp_dir().join(format!(
        "deploy-settings-{}-{}.toml",
        std::process::id(),
        text.len()
    ));
    std::fs::write(&path, text).unwrap();
    Settings::load(&path).unwrap()
}

fn prod() -> Settings {
    Settings::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prod.toml")).unwrap()
}

/// The default authorizer: the CloudFront Function rendered into the
/// viewer-function template and staged there, its key value store written,
/// the staged code tested by CloudFront's runtime and published, all before
/// the distribution that associates it; and nothing in us-east-1.
#[test]
fn the_default_plan_has_no_lambda_at_edge() {
    let plan = Plan::new(&prod(), Path::new("dist"), Path::new("work/prod"));
    let text = plan.dry_run_text(&Default::default()).unwrap();
    assert_eq!(plan.steps.len(), 19, "{text}");
    assert!(!text.contains("(us-east-1) from"), "{text}");
    assert!(!text.contains("--region us-east-1"), "{text}");
    // An edge-functions stack of an earlier lambda-edge deployment is
    // named, not deployed.
    assert!(text.contains("if edge-auth-prod-edge-functions (us-east-1) is left by an earlier deployment with authorizer = \"lambda-edge\""), "{text}");
    assert!(!text.contains("authorize.zip") && !text.contains("index-path.zip"));
    let position = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {text}"))
    };
    let render = position(
        "render the CloudFront Function (viewer request: sessions, rules, index paths) from config.json into work/prod/sam/viewer-function/template.yaml; refused if over CloudFront's 10240 bytes",
    );
    let staged = position("deploy stack edge-auth-prod-viewer-function (eu-north-1)");
    let store = position(
        "write the session verify keys into the key value store <edge-auth-prod-viewer-function.KeyValueStoreArn>: key:<kid> for each key of the set",
    );
    let tested = position(
        "test the staged function <edge-auth-prod-viewer-function.FunctionName> in CloudFront's own runtime (TestFunction, DEVELOPMENT stage",
    );
    let published =
        position("publish <edge-auth-prod-viewer-function.FunctionName> to LIVE (PublishFunction)");
    let distribution = position("deploy stack edge-auth-prod-distribution (eu-north-1)");
    assert!(text.contains("or a compute utilization over 70%"), "{text}");
    assert!(text.contains("'ViewerFunctionArn=\"<edge-auth-prod-viewer-function.FunctionArn>\"'"));
    let regional_config = position(
        "write config.json into copies of the packages, in work/prod/dist/configured/regional\n",
    );
    assert!(
        regional_config < render
            && render < staged
            && staged < store
            && store < tested
            && tested < published
            && published < distribution
    );
    assert!(text.contains("'Authorizer=\"cloudfront-function\"'"));
    assert!(text.contains("'AuthorizeVersionArn=\"\"'"));
    assert!(text.contains("'IndexPathVersionArn=\"\"'"));
    assert!(text.contains("'AuthEndpoints=\"regional\"'"));
}

#[test]
fn the_prod_plan_wires_outputs_into_parameters() {
    let mut settings = prod();
    settings.authorizer = edge_auth_deploy::settings::Authorizer::LambdaEdge;
    let plan = Plan::new(&settings, Path::new("dist"), Path::new("work/prod"));
    let text = plan.dry_run_text(&Default::default()).unwrap();
    assert_eq!(plan.steps.len(), 16, "{text}");
    assert!(text.contains("'Authorizer=\"lambda-edge\"'"));
    assert!(!text.contains("CloudFront Function") && !text.contains("key value store"));
    assert!(text.contains("session keys: secret edge-auth/prod/session-keys (eu-north-1)"));
    assert!(text.contains("deploy stack edge-auth-prod-user-pool (eu-north-1) from work/prod/sam/user-pool/template.yaml"));
    assert!(text.contains("'CallbackUrls=\"https://docs.example.com/_edge-auth/callback\"'"));
    assert!(text.contains("deploy stack edge-auth-prod-edge-functions (us-east-1)"));
    assert!(text.contains("'ClientSecretArn=\"<edge-auth-prod-user-pool.ClientSecretArn>\"'"));
    assert!(
        text.contains(
            "'AuthorizeVersionArn=\"<edge-auth-prod-edge-functions.AuthorizeVersionArn>\"'"
        )
    );
    assert!(text.contains(
        "write config.json into copies of the packages, in work/prod/dist/configured\n    dist/authorize.zip\n    dist/index-path.zip\n"
    ));
    assert!(text.contains(
        "write config.json into copies of the packages, in work/prod/dist/configured/regional\n    dist/regional/signin.zip\n    dist/regional/refresh.zip\n    dist/regional/signout.zip\n"
    ));
    // The regional functions: in the pool's region, first without the
    // distribution (unless it exists), then with it.
    assert!(text.contains("deploy stack edge-auth-prod-auth-endpoints (eu-north-1)"));
    assert!(
        text.contains(
            "'SigninOriginDomain=\"<edge-auth-prod-auth-endpoints.SigninOriginDomain>\"'"
        )
    );
    assert!(text.contains("'DistributionArn=\"\"'"));
    assert!(text.contains("'DistributionArn=\"<edge-auth-prod-distribution.DistributionArn>\"'"));
    assert!(text.contains("'SigninVersionArn=\"\"'"));
    assert!(text.contains("sync site to s3://<edge-auth-prod-distribution.BucketName>"));
    assert!(text.contains("delete objects no longer in site"));
    assert!(
        matches!(plan.steps.last(), Some(Step::Announce { url: Value::Known(u) }) if u == "https://docs.example.com")
    );
}

#[test]
fn without_a_domain_the_pool_learns_the_cloudfront_url_last() {
    let s = settings(
        r#"
application = "docs"
environment = "staging"
[regions]
user_pool = "eu-west-1"
distribution = "eu-west-1"
[site]
directory = "site"
[provider]
kind = "cognito"
hosted_domain_prefix = "docs-staging"
"#,
    );
    let plan = Plan::new(&s, Path::new("dist"), Path::new("w"));
    assert_eq!(plan.steps.len(), 19);
    let Step::DeployStack {
        stack, parameters, ..
    } = &plan.steps[14]
    else {
        panic!("{:?}", plan.steps[14])
    };
    assert_eq!(stack, "docs-staging-user-pool");
    // Cognito matches redirect_uri and logout_uri to the letter: the
    // registered URLs are the site's URL with the functions' paths (the bare
    // URL made every no-domain sign-in a redirect_mismatch).
    let param = |name: &str| {
        parameters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let site_output = |suffix: &str| Value::Output {
        stack: "docs-staging-distribution".into(),
        key: "SiteUrl".into(),
        suffix: suffix.into(),
    };
    assert_eq!(param("CallbackUrls"), site_output("/_edge-auth/callback"));
    assert_eq!(param("LogoutUrls"), site_output("/signed-out.html"));
    // The first pool step: the existing distribution's URL on a re-run, the
    // placeholder only when there is no distribution yet.
    let Step::DeployStack {
        parameters: first, ..
    } = &plan.steps[1]
    else {
        panic!("{:?}", plan.steps[1])
    };
    let callback = &first.iter().find(|(k, _)| k == "CallbackUrls").unwrap().1;
    let none = edge_auth_deploy::plan::Outputs::new();
    let existing = edge_auth_deploy::plan::Outputs::from([(
        "docs-staging-distribution".to_owned(),
        std::collections::BTreeMap::from([(
            "SiteUrl".to_owned(),
            "https://d222.cloudfront.net".to_owned(),
        )]),
    )]);
    let resolve = edge_auth_deploy::plan::resolve;
    assert_eq!(
        resolve(callback, &none, &none).unwrap(),
        "https://placeholder.invalid/_edge-auth/callback"
    );
    assert_eq!(
        resolve(callback, &none, &existing).unwrap(),
        "https://d222.cloudfront.net/_edge-auth/callback"
    );
    assert!(callback.to_string().contains("if that stack exists"));
    // And they are what the functions send: the core's own paths.
    let paths = edge_auth_core::config::PathSettings::default();
    assert_eq!(
        (
            edge_auth_deploy::plan::CALLBACK_PATH,
            edge_auth_deploy::plan::SIGNED_OUT_PATH
        ),
        (paths.signin.as_str(), paths.signed_out.as_str())
    );
}

#[test]
fn settings_errors_name_the_field() {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("bad-settings-{}.toml", std::process::id()));
    std::fs::write(&path, "application = \"x\"\nenvironment = \"p\"\n[regions]\nuser_pool = \"a\"\ndistribution = \"b\"\n[site]\ndirectory = \"s\"\ndomain = \"d.example\"\n[provider]\nkind = \"cognito\"\nhosted_domain_prefix = \"p\"\n").unwrap();
    let err = Settings::load(&path).unwrap_err().to_string();
    assert!(err.contains("site.certificate_arn"), "{err}");
    std::fs::write(&path, "application = \"x\"\n").unwrap();
    assert!(
        Settings::load(&path)
            .unwrap_err()
            .to_string()
            .contains("missing field")
    );
}

fn sample_zip(path: &Path) {
    let mut writer = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for (name, body) in [
        ("index.js", "exports.handler = 1;"),
        ("edge_auth.node", "binary"),
        ("config.json", "{\"stale\": true}"),
    ] {
        writer.start_file(name, options).unwrap();
        writer.write_all(body.as_bytes()).unwrap();
    }
    writer.finish().unwrap();
}

fn entries(path: &Path) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            (entry.name().unwrap().into_owned(), text)
        })
        .collect()
}

#[test]
fn config_is_written_into_copies_of_the_zips() {
    let dir = std::env::temp_dir().join(format!("deploy-zips-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("authorize.zip");
    sample_zip(&source);
    let (issuer, discovery, jwks, secret) = example_provider();
    let config = config_json(
        &prod(),
        &discovery,
        &jwks,
        "client123",
        &secret,
        &session_keys(),
        Some("https://docs.auth.eu-north-1.amazoncognito.com"),
        prod().site_url().as_deref(),
    )
    .unwrap();
    let (a, b) = (dir.join("a/authorize.zip"), dir.join("b/authorize.zip"));
    write_configured_zip(&source, &a, &config).unwrap();
    write_configured_zip(&source, &b, &config).unwrap();
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "deterministic"
    );
    let files = entries(&a);
    assert_eq!(
        files.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["config.json", "edge_auth.node", "index.js"]
    );
    let written = &files[0].1;
    let parsed = edge_auth_core::Config::from_json(written).expect("the handlers accept it");
    assert_eq!(parsed.provider().client_id, "client123");
    assert_eq!(
        parsed.provider().revocation_endpoint.as_deref(),
        Some("https://docs.auth.eu-north-1.amazoncognito.com/oauth2/revoke")
    );
    assert_eq!(
        parsed.file.site.base_url.as_deref(),
        Some("https://docs.example.com")
    );
    assert_eq!(parsed.rules.len(), 1);
    assert!(!written.contains("stale"));

    let broken = json!({"issuer": issuer});
    assert!(
        config_json(
            &prod(),
            &broken,
            &jwks,
            "c",
            &secret,
            &session_keys(),
            Some("https://d"),
            None
        )
        .unwrap_err()
        .to_string()
        .contains("authorization_endpoint")
    );
}

/// Every file of a site gets the type a browser needs (a video plays, a
/// WebAssembly module compiles while it streams) and a private cache header.
#[test]
fn site_files_get_their_types_and_private_caching() {
    let dir = std::env::temp_dir().join(format!("deploy-site-types-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("media")).unwrap();
    let expected = [
        (
            "index.html",
            "text/html; charset=utf-8",
            "private, no-cache",
        ),
        ("app.wasm", "application/wasm", "private, max-age=3600"),
        ("media/intro.mp4", "video/mp4", "private, max-age=3600"),
        ("media/intro.webm", "video/webm", "private, max-age=3600"),
        ("media/cover.avif", "image/avif", "private, max-age=3600"),
        (
            "data.csv",
            "text/csv; charset=utf-8",
            "private, max-age=3600",
        ),
        (
            "README.md",
            "text/markdown; charset=utf-8",
            "private, max-age=3600",
        ),
        ("bundle.zip", "application/zip", "private, max-age=3600"),
        (
            "app.js",
            "text/javascript; charset=utf-8",
            "private, max-age=3600",
        ),
    ];
    for (key, _, _) in expected {
        std::fs::write(dir.join(key), b"x").unwrap();
    }
    let files = edge_auth_deploy::aws::site_files(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    for (key, content_type, cache_control) in expected {
        let file = files.iter().find(|f| f.key == key).expect(key);
        assert_eq!(
            (file.content_type.as_str(), file.cache_control),
            (content_type, cache_control),
            "{key}"
        );
    }
    assert!(files.iter().all(|f| !f.cache_control.contains("public")));
}

/// `sam deploy --config-env prod` (by hand) and the tool tag the stacks
/// alike: each samconfig.toml's tags are the tool's tags for the same
/// settings.
#[test]
fn the_tool_passes_the_tags_of_the_samconfig_files() {
    let settings = prod();
    let plan = Plan::new(&settings, Path::new("dist"), Path::new("w"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut checked = 0;
    for step in &plan.steps {
        let Step::DeployStack { stack, tags, .. } = step else {
            continue;
        };
        let template = stack.strip_prefix("edge-auth-prod-").unwrap();
        let samconfig: toml::Table = toml::from_str(
            &std::fs::read_to_string(root.join("sam").join(template).join("samconfig.toml"))
                .unwrap(),
        )
        .unwrap();
        let text = samconfig["prod"]["deploy"]["parameters"]["tags"]
            .as_str()
            .unwrap();
        let from_samconfig: Vec<(String, String)> = text
            .split_whitespace()
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                (k.to_owned(), v.trim_matches('"').to_owned())
            })
            .collect();
        // The tool's own version and commit come after the settings' tags.
        let (own, release): (Vec<_>, Vec<_>) = tags
            .iter()
            .cloned()
            .partition(|(k, _)| !edge_auth_deploy::release::TAGS.contains(&k.as_str()));
        assert_eq!(from_samconfig, own, "{template}");
        assert_eq!(release, edge_auth_deploy::release::tags(), "{template}");
        checked += 1;
    }
    // user pool twice (its last step drops an address the site moved
    // from), auth endpoints twice, the viewer function, distribution: no
    // edge functions with the default authorizer.
    assert_eq!(checked, 6);
    let text = plan.dry_run_text(&Default::default()).unwrap();
    assert!(text.contains(
        "--tags project=edge-auth \\\n            environment=prod \\\n            edge-auth-version=0.1.0 \\\n            edge-auth-commit="
    ));
}

#[test]
fn extra_tags_are_added_and_checked() {
    let base = "application = \"docs\"\nenvironment = \"qa\"\n[regions]\nuser_pool = \"eu-west-1\"\ndistribution = \"eu-west-1\"\n[site]\ndirectory = \"site\"\n[provider]\nkind = \"cognito\"\nhosted_domain_prefix = \"docs-qa\"\n";
    let s = settings(&format!("{base}[tags]\ncost-center = \"cc-42\"\n"));
    assert_eq!(
        s.tags(),
        [
            ("project".to_owned(), "docs".to_owned()),
            ("environment".to_owned(), "qa".to_owned()),
            ("cost-center".to_owned(), "cc-42".to_owned()),
        ]
    );
    let dir = std::env::temp_dir();
    for (tags, complaint) in [
        ("\"aws:x\" = \"1\"", "reserved"),
        ("project = \"other\"", "set by the tool"),
        ("owner = \"a b\"", "no `=`, quotes or spaces"),
    ] {
        let path = dir.join(format!("bad-tags-{}.toml", std::process::id()));
        std::fs::write(&path, format!("{base}[tags]\n{tags}\n")).unwrap();
        let err = Settings::load(&path).unwrap_err().to_string();
        assert!(err.contains("tags") && err.contains(complaint), "{err}");
    }
}

/// `auth_endpoints = "edge"`: the five Lambda@Edge functions, no regional
/// stack, the distribution attaching the three origin-request versions.
#[test]
fn the_edge_arrangement_keeps_all_five_functions_at_the_edge() {
    let s = settings(
        r#"
application = "docs"
environment = "edge"
authorizer = "lambda-edge"
auth_endpoints = "edge"
[regions]
user_pool = "eu-west-1"
distribution = "eu-west-1"
[site]
directory = "site"
domain = "docs.example.com"
certificate_arn = "arn:aws:acm:us-east-1:111122223333:certificate/x"
[provider]
kind = "cognito"
hosted_domain_prefix = "docs-edge"
"#,
    );
    let plan = Plan::new(&s, Path::new("dist"), Path::new("w"));
    let text = plan.dry_run_text(&Default::default()).unwrap();
    assert_eq!(plan.steps.len(), 12, "{text}");
    assert!(!text.contains("auth-endpoints"), "{text}");
    assert!(!text.contains("regional/"), "{text}");
    assert!(text.contains("'AuthEndpoints=\"edge\"'"));
    for name in ["signin", "refresh", "signout"] {
        assert!(text.contains(&format!("    dist/{name}.zip\n")), "{text}");
    }
    assert!(text.contains("'SignoutVersionArn=\"<docs-edge-edge-functions.SignoutVersionArn>\"'"));
    // The edge endpoints with the default authorizer: refused, with what
    // to set instead.
    let path = std::env::temp_dir().join(format!("deploy-edge-fn-{}.toml", std::process::id()));
    std::fs::write(&path, "application = \"a\"\nenvironment = \"b\"\nauth_endpoints = \"edge\"\n[regions]\nuser_pool = \"eu-west-1\"\ndistribution = \"eu-west-1\"\n[site]\ndirectory = \"site\"\n[provider]\nkind = \"cognito\"\nhosted_domain_prefix = \"a-b\"\n").unwrap();
    let err = Settings::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("auth_endpoints") && err.contains("authorizer = \"lambda-edge\""),
        "{err}"
    );
    let unknown = "application = \"a\"\nenvironment = \"b\"\nauth_endpoints = \"origin\"\n";
    let path = std::env::temp_dir().join(format!("deploy-bad-{}.toml", std::process::id()));
    std::fs::write(&path, unknown).unwrap();
    let err = Settings::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("auth_endpoints") || err.contains("unknown variant"),
        "{err}"
    );
}

/// The regional zips' `bootstrap` is what Lambda executes: its copy with
/// config.json must stay executable, and config.json must not be.
#[test]
fn a_configured_regional_zip_keeps_bootstrap_executable() {
    let dir = std::env::temp_dir().join(format!("deploy-bootstrap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("signin.zip");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&source).unwrap());
        let o = zip::write::SimpleFileOptions::default();
        w.start_file("bootstrap", o.unix_permissions(0o755))
            .unwrap();
        w.write_all(b"\x7fELF").unwrap();
        w.finish().unwrap();
    }
    let target = dir.join("configured/signin.zip");
    write_configured_zip(&source, &target, &json!({"version": 1})).unwrap();
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&target).unwrap()).unwrap();
    let mode = |a: &mut zip::ZipArchive<std::fs::File>, name: &str| {
        a.by_name(name).unwrap().unix_mode().unwrap() & 0o777
    };
    assert_eq!(mode(&mut archive, "bootstrap"), 0o755);
    assert_eq!(mode(&mut archive, "config.json"), 0o644);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The regional auth endpoints are function URLs in the user pool's region:
/// a region without function URLs is refused with what to choose instead;
/// the edge arrangement may still use it.
#[test]
fn a_region_without_function_urls_is_refused_for_the_regional_endpoints() {
    let base = |region: &str, extra: &str| {
        format!(
            "application = \"docs\"\nenvironment = \"qa\"\n{extra}[regions]\nuser_pool = \"{region}\"\ndistribution = \"eu-west-1\"\n[site]\ndirectory = \"site\"\n[provider]\nkind = \"cognito\"\nhosted_domain_prefix = \"docs-qa\"\n"
        )
    };
    let path = std::env::temp_dir().join(format!("no-urls-{}.toml", std::process::id()));
    for (region, nearest) in edge_auth_deploy::settings::NO_FUNCTION_URLS {
        std::fs::write(&path, base(region, "")).unwrap();
        let err = Settings::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("regions.user_pool")
                && err.contains("function URLs are not offered")
                && err.contains(nearest)
                && err.contains("authorizer = \"lambda-edge\" and auth_endpoints = \"edge\""),
            "{err}"
        );
        std::fs::write(
            &path,
            base(
                region,
                "authorizer = \"lambda-edge\"\nauth_endpoints = \"edge\"\n",
            ),
        )
        .unwrap();
        assert!(Settings::load(&path).is_ok(), "{region} at the edge");
    }
    std::fs::write(&path, base("eu-central-1", "")).unwrap();
    assert!(Settings::load(&path).is_ok());
}

/// The example's placeholder values are named, so that a first-day user
/// edits them before a run creates anything; a real run refuses them.
#[test]
fn the_examples_placeholders_are_named() {
    assert_eq!(
        prod().example_placeholders(),
        [
            "site.domain = docs.example.com",
            "site.certificate_arn = arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000000",
            "site.hosted_zone_id = Z0000000000EXAMPLE",
            "provider.hosted_domain_prefix = edge-auth-prod-docs (unique per region: choose your own)",
        ]
    );
    let preview =
        Settings::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/preview.toml"))
            .unwrap();
    assert_eq!(
        preview.example_placeholders(),
        [
            "provider.hosted_domain_prefix = edge-auth-preview-docs (unique per region: choose your own)"
        ]
    );
}

/// A package the plan needs and nobody built is named with the command that
/// builds it.
#[test]
fn a_missing_package_names_the_command_that_builds_it() {
    let dir = std::env::temp_dir().join(format!("no-packages-{}", std::process::id()));
    let mut settings = prod();
    settings.authorizer = edge_auth_deploy::settings::Authorizer::LambdaEdge;
    let plan = Plan::new(&settings, &dir, Path::new("w"));
    let missing = plan.missing_packages();
    assert_eq!(missing.len(), 5, "{missing:?}");
    assert!(missing[0].contains("authorize.zip is missing: build it with `scripts/package.py`"));
    assert!(
        missing[4]
            .contains("signout.zip is missing: build it with `scripts/package.py --regional`")
    );
    // The default needs the regional zips only.
    let missing = Plan::new(&prod(), &dir, Path::new("w")).missing_packages();
    assert_eq!(missing.len(), 3, "{missing:?}");
    assert!(missing.iter().all(|m| m.contains("--regional")));
}

/// The example pool's discovery document, key set and client secret.
fn example_provider() -> (
    &'static str,
    serde_json::Value,
    serde_json::Value,
    SecretLocation,
) {
    let issuer = "https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_Example";
    let discovery = json!({
        "issuer": issuer,
        "authorization_endpoint": "https://docs.auth.eu-north-1.amazoncognito.com/oauth2/authorize",
        "token_endpoint": "https://docs.auth.eu-north-1.amazoncognito.com/oauth2/token",
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
    });
    let jwks = serde_json::from_str(edge_auth_testkit::JWKS).unwrap();
    let secret = SecretLocation {
        arn: "arn:aws:secretsmanager:eu-north-1:111122223333:secret:x".into(),
        region: "eu-north-1".into(),
    };
    (issuer, discovery, jwks, secret)
}

/// A deployment's session key set as the deploy tool keeps it.
fn session_keys() -> SessionKeysLocation {
    SessionKeysLocation {
        name: "docs/prod/session-keys".into(),
        region: "eu-north-1".into(),
        keys: edge_auth_core::session::SessionKeySet {
            signing_kid: edge_auth_testkit::SESSION_KID.into(),
            keys: vec![edge_auth_testkit::session_key_file()],
            retire_after: Default::default(),
            revoked: Default::default(),
        },
    }
}

/// No package carries a key it does not need. No provider key goes to the
/// per-request check: authorize's and index-path's config.json carry no
/// `provider.jwks` (and still load), the provider-facing packages keep it.
/// No session key material goes anywhere but Lambda@Edge's authorize (it
/// cannot read Secrets Manager): the others name key ids, and signin,
/// refresh and sign-out read the material from the key set.
#[test]
fn the_packages_get_no_key_they_do_not_need() {
    let dir = std::env::temp_dir().join(format!("deploy-no-jwks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (_, discovery, jwks, secret) = example_provider();
    let config = config_json(
        &prod(),
        &discovery,
        &jwks,
        "client123",
        &secret,
        &session_keys(),
        Some("https://docs.auth.eu-north-1.amazoncognito.com"),
        None,
    )
    .unwrap();
    let sources: Vec<std::path::PathBuf> =
        ["authorize", "index-path", "signin", "refresh", "signout"]
            .iter()
            .map(|name| {
                let path = dir.join(format!("src/{name}.zip"));
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                sample_zip(&path);
                path
            })
            .collect();
    let keys = session_keys().keys.keys;
    edge_auth_deploy::package::write_configured_packages(
        &sources,
        &dir.join("out"),
        &config,
        &keys,
    )
    .unwrap();
    let material = &keys[0].key;
    for (name, has_keys, has_session_keys) in [
        ("authorize", false, true),
        ("index-path", false, false),
        ("signin", true, false),
        ("refresh", true, false),
        ("signout", true, false),
    ] {
        let files = entries(&dir.join(format!("out/{name}.zip")));
        let text = &files.iter().find(|(n, _)| n == "config.json").unwrap().1;
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(value["provider"].get("jwks").is_some(), has_keys, "{name}");
        let parsed = edge_auth_core::Config::from_json(text).expect("the handlers accept it");
        assert_eq!(parsed.verifier.is_empty(), !has_keys, "{name}");
        assert!(parsed.provider().jwks_uri.is_some());
        // Nowhere in the package, in any form, but where it must be.
        let anywhere = files
            .iter()
            .any(|(_, body)| body.contains(material.as_str()));
        assert_eq!(anywhere, has_session_keys, "{name}: session key material");
        assert_eq!(
            parsed.session_kids(),
            [edge_auth_testkit::SESSION_KID],
            "{name}"
        );
        // A session as signin issues it under this config.json: no longer
        // than the ID token's validity, which the tool writes as
        // session.lifetime_seconds with Cognito (a longer one is refused).
        assert_eq!(parsed.file.session.lifetime_seconds, Some(3600), "{name}");
        let token = edge_auth_testkit::signer().sign(&edge_auth_core::session::SessionClaims {
            exp: edge_auth_testkit::NOW + 3000,
            ..edge_auth_testkit::session_claims()
        });
        let too_long = edge_auth_testkit::session();
        let verifies = parsed
            .sessions
            .verify(&token, edge_auth_testkit::NOW)
            .is_ok();
        assert_eq!(verifies, has_session_keys, "{name}");
        assert!(
            parsed
                .sessions
                .verify(&too_long, edge_auth_testkit::NOW)
                .is_err(),
            "{name}: 3,660 s"
        );
        if !has_session_keys {
            // With the material read from the key set, it verifies.
            let set = session_keys().keys;
            let keyed = parsed.with_session_keys(&set).unwrap();
            assert!(
                keyed
                    .sessions
                    .verify(&token, edge_auth_testkit::NOW)
                    .is_ok(),
                "{name}"
            );
        }
    }
}

/// OpenID Connect Discovery 4.3: the document's `issuer` is the URL it was
/// fetched from, less the well-known suffix, to the byte.
#[test]
fn a_discovery_document_must_name_the_issuer_it_was_fetched_for() {
    use edge_auth_deploy::package::check_discovery_issuer;
    let url = "https://id.example.org/tenant-1/.well-known/openid-configuration";
    let doc = |issuer: serde_json::Value| serde_json::json!({"issuer": issuer, "jwks_uri": "https://id.example.org/keys"});
    assert_eq!(
        check_discovery_issuer(url, &doc("https://id.example.org/tenant-1".into())),
        Ok(())
    );
    for (issuer, says) in [
        (
            serde_json::json!("https://id.example.org/tenant-1/"),
            "names the issuer https://id.example.org/tenant-1/",
        ),
        (
            serde_json::json!("https://id.example.org/tenant-2"),
            "not https://id.example.org/tenant-1",
        ),
        (
            serde_json::json!("https://ID.example.org/tenant-1"),
            "must be identical",
        ),
        (
            serde_json::json!("http://id.example.org/tenant-1"),
            "must be identical",
        ),
        (serde_json::json!(7), "names no issuer"),
        (serde_json::Value::Null, "names no issuer"),
    ] {
        let error = check_discovery_issuer(url, &doc(issuer.clone())).unwrap_err();
        assert!(error.contains(says), "{issuer}: {error}");
    }
    let error = check_discovery_issuer(
        "https://id.example.org/tenant-1",
        &doc("https://id.example.org/tenant-1".into()),
    )
    .unwrap_err();
    assert!(
        error.contains("does not end with /.well-known/openid-configuration"),
        "{error}"
    );
}

/// `check` and `status` render the function from the settings alone,
/// with the provider stood in for: the same function a deploy renders from
/// the provider's real documents, for both examples.
#[test]
fn the_function_rendered_from_the_settings_alone_is_the_deployed_one() {
    use edge_auth_core::cloudfront_function::render;
    let preview =
        Settings::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/preview.toml"))
            .unwrap();
    for settings in [prod(), preview] {
        let (_, discovery, jwks, secret) = example_provider();
        let deployed = config_json(
            &settings,
            &discovery,
            &jwks,
            "client123",
            &secret,
            &session_keys(),
            Some("https://docs.auth.eu-north-1.amazoncognito.com"),
            settings.site_url().as_deref(),
        )
        .unwrap();
        let deployed = edge_auth_core::Config::from_json(&deployed.to_string()).unwrap();
        let alone = edge_auth_deploy::package::settings_config(&settings).unwrap();
        assert_eq!(
            render(&alone),
            render(&deployed),
            "{}",
            settings.environment
        );
    }
    // A setting the function holds changes it.
    let mut more = prod();
    more.rules.push(edge_auth_deploy::settings::Rule {
        pattern: "/finance/*".into(),
        groups: vec!["finance".into()],
        max_auth_age_minutes: None,
        mfa: false,
    });
    assert_ne!(
        render(&edge_auth_deploy::package::settings_config(&more).unwrap()),
        render(&edge_auth_deploy::package::settings_config(&prod()).unwrap())
    );
}

/// A rule's step-up reaches the packages in seconds, and a second factor
/// with Cognito only where the pool requires one (its ID tokens carry no
/// `amr`): then every sign-in counts as one (`provider.mfa_always`).
#[test]
fn step_ups_reach_the_packages_and_cognito_needs_mfa_required_for_them() {
    use edge_auth_deploy::settings::{PoolMfa, Provider, Rule, Settings};
    let with = |mfa: PoolMfa, rule: Rule| {
        let mut s = prod();
        if let Provider::Cognito { mfa: m, .. } = &mut s.provider {
            *m = mfa;
        }
        s.rules = vec![rule];
        s
    };
    let rule = |minutes: Option<u64>, mfa: bool| Rule {
        pattern: "/finance/*".into(),
        groups: vec!["finance".into()],
        max_auth_age_minutes: minutes,
        mfa,
    };
    let parsed =
        edge_auth_deploy::package::settings_config(&with(PoolMfa::Required, rule(Some(15), true)))
            .unwrap();
    assert_eq!(parsed.rules[0].step_up.max_auth_age_seconds, Some(900));
    assert!(parsed.rules[0].step_up.mfa);
    assert!(parsed.provider().mfa_always);
    let optional =
        edge_auth_deploy::package::settings_config(&with(PoolMfa::Optional, rule(Some(15), false)))
            .unwrap();
    assert!(!optional.provider().mfa_always);
    // Refused by name before anything is deployed.
    let dir = std::env::temp_dir().join(format!("edge-auth-step-up-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/prod.toml"
    ))
    .unwrap();
    for (extra, field) in [
        (
            "[[rules]]\npattern = \"/finance/*\"\ngroups = [\"finance\"]\nmfa = true\n",
            "rules.mfa",
        ),
        (
            "[[rules]]\npattern = \"/finance/*\"\ngroups = [\"finance\"]\nmax_auth_age_minutes = 0\n",
            "rules.max_auth_age_minutes",
        ),
        (
            "[[rules]]\npattern = \"/finance/*\"\ngroups = [\"finance\"]\nmax_auth_age_minutes = 1441\n",
            "rules.max_auth_age_minutes",
        ),
    ] {
        let path = dir.join("s.toml");
        std::fs::write(&path, format!("{base}\n{extra}")).unwrap();
        let error = Settings::load(&path).unwrap_err().to_string();
        assert!(error.contains(field), "{extra}: {error}");
    }
}

/// Switching a custom domain on or off moves the site to another address,
/// and the distribution takes minutes to answer at it: the pool keeps both
/// callback and sign-out URLs registered until the distribution step is
/// done, the auth functions keep sending the provider the old one until
/// then, and the pool's last step drops the old one.
#[test]
fn a_domain_switched_on_or_off_keeps_both_addresses_until_the_move_is_done() {
    use edge_auth_deploy::plan::{Outputs, resolve};
    let base = r#"
application = "docs"
environment = "move"
[regions]
user_pool = "eu-west-1"
distribution = "eu-west-1"
[provider]
kind = "cognito"
hosted_domain_prefix = "docs-move"
[site]
directory = "site"
"#;
    let with_domain = settings(&format!(
        "{base}domain = \"docs.example.com\"\ncertificate_arn = \"arn:aws:acm:us-east-1:111122223333:certificate/x\"\n"
    ));
    let without_domain = settings(base);
    let outputs = |site: &str| -> Outputs {
        Outputs::from([(
            "docs-move-distribution".to_owned(),
            std::collections::BTreeMap::from([
                ("SiteUrl".to_owned(), site.to_owned()),
                (
                    "CloudFrontUrl".to_owned(),
                    "https://d333.cloudfront.net".to_owned(),
                ),
                (
                    "DistributionArn".to_owned(),
                    "arn:aws:cloudfront::111122223333:distribution/E333".to_owned(),
                ),
            ]),
        )])
    };
    // (settings, what the distribution answered at before, after).
    for (s, before, after) in [
        (
            &with_domain,
            "https://d333.cloudfront.net",
            "https://docs.example.com",
        ),
        (
            &without_domain,
            "https://docs.example.com",
            "https://d333.cloudfront.net",
        ),
    ] {
        let plan = Plan::new(s, Path::new("dist"), Path::new("w"));
        let existing = outputs(before);
        // This run's distribution step ends with the new address.
        let done = outputs(after);
        let stacks: Vec<(&str, &Vec<(String, Value)>)> = plan
            .steps
            .iter()
            .filter_map(|step| match step {
                Step::DeployStack {
                    stack, parameters, ..
                } => Some((stack.as_str(), parameters)),
                _ => None,
            })
            .collect();
        let value = |params: &Vec<(String, Value)>, key: &str, run: &Outputs| {
            let v = &params.iter().find(|(k, _)| k == key).unwrap().1;
            resolve(v, run, &existing).unwrap()
        };
        let pools: Vec<_> = stacks
            .iter()
            .filter(|(n, _)| n.ends_with("-user-pool"))
            .collect();
        let auths: Vec<_> = stacks
            .iter()
            .filter(|(n, _)| n.ends_with("-auth-endpoints"))
            .collect();
        assert_eq!((pools.len(), auths.len()), (2, 2), "{stacks:?}");
        let none = Outputs::new();
        let both = |list: String| {
            let mut urls: Vec<String> = list.split(',').map(str::to_owned).collect();
            urls.sort();
            urls
        };
        let expected = |path: &str| {
            let mut urls = vec![format!("{after}{path}"), format!("{before}{path}")];
            urls.sort();
            urls
        };
        assert_eq!(
            both(value(pools[0].1, "CallbackUrls", &none)),
            expected("/_edge-auth/callback")
        );
        assert_eq!(
            both(value(pools[0].1, "LogoutUrls", &none)),
            expected("/signed-out.html")
        );
        assert_eq!(value(auths[0].1, "SiteUrl", &none), before);
        assert_eq!(value(auths[1].1, "SiteUrl", &done), after);
        assert_eq!(
            value(pools[1].1, "CallbackUrls", &done),
            format!("{after}/_edge-auth/callback")
        );
        assert_eq!(
            value(pools[1].1, "LogoutUrls", &done),
            format!("{after}/signed-out.html")
        );
        // Nothing moves: one address throughout, and the last pool step
        // has the first one's parameters (the run skips it).
        let still = outputs(after);
        let first: Vec<String> = pools[0]
            .1
            .iter()
            .map(|(_, v)| resolve(v, &none, &still).unwrap())
            .collect();
        let last: Vec<String> = pools[1]
            .1
            .iter()
            .map(|(_, v)| resolve(v, &still, &still).unwrap())
            .collect();
        assert_eq!(first, last);
        assert!(!first.iter().any(|v| v.contains(',')), "{first:?}");
    }
}

/// `[session]`'s idle and absolute limits reach every package's config.json
/// (refresh enforces them); out of bounds, the settings are refused with
/// the setting's name before anything is deployed.
#[test]
fn the_session_limits_reach_config_json() {
    let mut settings = prod();
    settings.session.idle_timeout_minutes = Some(30);
    settings.session.max_hours = Some(12);
    let config = edge_auth_deploy::package::settings_config(&settings).unwrap();
    assert_eq!(config.file.session.idle_timeout_minutes, Some(30));
    assert_eq!(config.file.session.max_hours, Some(12));
    let unset = edge_auth_deploy::package::settings_config(&prod()).unwrap();
    assert_eq!(
        (
            unset.file.session.idle_timeout_minutes,
            unset.file.session.max_hours
        ),
        (None, None)
    );
    for (idle, max, name) in [
        (Some(0), None, "session.idle_timeout_minutes"),
        (None, Some(9000), "session.max_hours"),
    ] {
        settings.session.idle_timeout_minutes = idle;
        settings.session.max_hours = max;
        let error = edge_auth_deploy::package::settings_config(&settings).unwrap_err();
        assert!(error.contains(name), "{error}");
    }
}

/// `[provider] mfa`: after the pool's last step the tool sets the pool's
/// second factor through Cognito's API (CloudFormation is reported unable
/// to move it on an existing pool); `optional` by default, as the template
/// creates the pool; refused when it is not one of the three.
#[test]
fn the_pools_second_factor_is_set_after_its_stack() {
    let mfa_of = |plan: &Plan| -> Vec<(usize, String)> {
        plan.steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Step::PoolMfa { pool, mfa, .. } => {
                    Some((i, format!("{} {pool}", mfa.as_cognito())))
                }
                _ => None,
            })
            .collect()
    };
    let plan = Plan::new(&prod(), Path::new("dist"), Path::new("w"));
    let found = mfa_of(&plan);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1, "OPTIONAL <edge-auth-prod-user-pool.UserPoolId>");
    let last_pool = plan
        .steps
        .iter()
        .rposition(
            |s| matches!(s, Step::DeployStack { stack, .. } if stack.ends_with("-user-pool")),
        )
        .unwrap();
    assert_eq!(found[0].0, last_pool + 1);
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prod.toml"),
    )
    .unwrap();
    let required = text.replace(
        "kind = \"cognito\"",
        "kind = \"cognito\"\nmfa = \"required\"",
    );
    assert_ne!(required, text);
    let dir = std::env::temp_dir().join(format!("edge-auth-mfa-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("required.toml"), &required).unwrap();
    let plan = Plan::new(
        &Settings::load(&dir.join("required.toml")).unwrap(),
        Path::new("dist"),
        Path::new("w"),
    );
    assert_eq!(
        mfa_of(&plan)[0].1,
        "ON <edge-auth-prod-user-pool.UserPoolId>"
    );
    std::fs::write(
        dir.join("sms.toml"),
        text.replace("kind = \"cognito\"", "kind = \"cognito\"\nmfa = \"sms\""),
    )
    .unwrap();
    let error = Settings::load(&dir.join("sms.toml"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("mfa") || error.contains("sms"), "{error}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `[function] max_compute_utilization`: a percentage; anything else is
/// refused by name, an unknown key too; the value reaches the test step.
#[test]
fn the_functions_compute_limit_is_a_percentage() {
    let base = "application = \"a\"\nenvironment = \"b\"\n[regions]\nuser_pool = \"eu-west-1\"\ndistribution = \"eu-west-1\"\n[site]\ndirectory = \"site\"\n[provider]\nkind = \"cognito\"\nhosted_domain_prefix = \"a-b\"\n";
    for (extra, wanted) in [
        (
            "[function]\nmax_compute_utilization = 0\n",
            "function.max_compute_utilization",
        ),
        (
            "[function]\nmax_compute_utilization = 101\n",
            "function.max_compute_utilization",
        ),
        (
            "[function]\nmax_compute_utilization = -5\n",
            "max_compute_utilization",
        ),
        (
            "[function]\nmax_compute_utilization = \"70\"\n",
            "max_compute_utilization",
        ),
        ("[function]\nmax_compute = 70\n", "max_compute"),
    ] {
        let path = std::env::temp_dir().join(format!(
            "deploy-compute-{}-{}.toml",
            std::process::id(),
            extra.len()
        ));
        std::fs::write(&path, format!("{base}{extra}")).unwrap();
        let err = Settings::load(&path).unwrap_err().to_string();
        assert!(err.contains(wanted), "{extra}: {err}");
    }
    let limit = |s: &Settings| {
        Plan::new(s, Path::new("dist"), Path::new("w"))
            .steps
            .iter()
            .find_map(|step| match step {
                Step::TestViewerFunction {
                    max_compute_utilization,
                    ..
                } => Some(*max_compute_utilization),
                _ => None,
            })
    };
    assert_eq!(limit(&settings(base)), Some(70));
    assert_eq!(
        limit(&settings(&format!(
            "{base}[function]\nmax_compute_utilization = 45\n"
        ))),
        Some(45)
    );
}

/// An OpenID provider that sends group ids (Entra ID's object ids): the
/// settings' `group_names` reach config.json, and the handlers read an ID
/// token's ids as the names rules use. A bad entry is refused by name.
#[test]
fn an_oidc_providers_group_names_reach_the_handlers() {
    let base = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prod.toml"),
    )
    .unwrap();
    let provider_at = base.find("[provider]").unwrap();
    let rest = &base[provider_at + "[provider]".len()..];
    let provider_end = rest
        .find("\n[")
        .map_or(base.len(), |i| provider_at + "[provider]".len() + i);
    let with = |block: &str| {
        let text = format!(
            "{}[provider]\n{block}\n{}",
            &base[..provider_at],
            &base[provider_end..]
        );
        let path = std::env::temp_dir().join(format!(
            "deploy-group-names-{}-{}.toml",
            std::process::id(),
            block.len()
        ));
        std::fs::write(&path, text).unwrap();
        let loaded = Settings::load(&path).map_err(|e| e.to_string());
        std::fs::remove_file(&path).ok();
        loaded
    };
    let oidc = "kind = \"oidc\"\ndiscovery_url = \"https://login.example.org/v2.0/.well-known/openid-configuration\"\nclient_id = \"c\"\nclient_secret_arn = \"arn:aws:secretsmanager:eu-north-1:111122223333:secret:edge\"\n";
    let settings = with(&format!(
        "{oidc}[provider.group_names]\n\"8d1f5f0e-6a4b-4c2d-9e3f-00000000a0a0\" = \"admins\"\n"
    ))
    .unwrap();
    let (issuer, discovery, jwks, secret) = example_provider();
    let config = config_json(
        &settings,
        &discovery,
        &jwks,
        "c",
        &secret,
        &session_keys(),
        None,
        settings.site_url().as_deref(),
    )
    .unwrap();
    assert_eq!(
        config["provider"]["group_names"],
        json!({"8d1f5f0e-6a4b-4c2d-9e3f-00000000a0a0": "admins"})
    );
    let parsed = edge_auth_core::Config::from_json(&config.to_string()).unwrap();
    assert_eq!(
        parsed
            .provider()
            .group_names
            .get("8d1f5f0e-6a4b-4c2d-9e3f-00000000a0a0")
            .map(String::as_str),
        Some("admins")
    );
    let _ = issuer;
    for bad in [
        "\"\" = \"admins\"",
        "\"id\" = \"\"",
        "\"id\" = \"two words\"",
    ] {
        let error = with(&format!("{oidc}[provider.group_names]\n{bad}\n")).unwrap_err();
        assert!(error.contains("provider.group_names"), "{bad}: {error}");
    }
}
