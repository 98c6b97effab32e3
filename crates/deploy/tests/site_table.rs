//! A site table (`[[sites]]`) as the deploy tool plans it: a distribution
//! stack and a grants stack per site beside the one pool, auth functions,
//! CloudFront Function and store; every site's callback URLs; each site's
//! store entry and config.json entry read back by the core; the settings a
//! table refuses, by name.

use std::path::{Path, PathBuf};

use edge_auth_deploy::package::{SecretLocation, SessionKeysLocation, config_json};
use edge_auth_deploy::plan::{Plan, Step, Value};
use edge_auth_deploy::settings::Settings;
use serde_json::json;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sites/sites.toml")
}

fn table() -> Settings {
    Settings::load(&example()).unwrap()
}

/// The example's text changed by `edit`, loaded from a file beside it (a
/// site's content is relative to the settings file).
fn edited(tag: &str, edit: impl Fn(String) -> String) -> Result<Settings, String> {
    let text = edit(std::fs::read_to_string(example()).unwrap());
    let path = example().with_file_name(format!("test-{tag}-{}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let loaded = Settings::load(&path).map_err(|e| e.to_string());
    std::fs::remove_file(&path).ok();
    loaded
}

fn stacks(plan: &Plan) -> Vec<(String, String)> {
    plan.steps
        .iter()
        .filter_map(|step| match step {
            Step::DeployStack {
                stack, template, ..
            } => Some((
                stack.clone(),
                template
                    .parent()
                    .and_then(Path::file_name)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            )),
            _ => None,
        })
        .collect()
}

fn parameter<'p>(plan: &'p Plan, stack: &str, key: &str) -> &'p Value {
    plan.steps
        .iter()
        .find_map(|step| match step {
            Step::DeployStack {
                stack: s,
                parameters,
                ..
            } if s == stack => parameters.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{stack} has no {key}"))
}

#[test]
fn each_site_is_a_distribution_and_grants_of_its_own_beside_one_of_everything_else() {
    let settings = table();
    let plan = Plan::new(&settings, Path::new("dist"), Path::new("w"));
    let text = plan.dry_run_text(&Default::default()).unwrap();
    let made = stacks(&plan);
    let of = |template: &str| -> Vec<&str> {
        made.iter()
            .filter(|(_, t)| t == template)
            .map(|(s, _)| s.as_str())
            .collect()
    };
    assert_eq!(
        of("distribution"),
        [
            "edge-auth-sites-sites-policies",
            "edge-auth-sites-site-handbook",
            "edge-auth-sites-site-api",
            "edge-auth-sites-site-api-preview",
            "edge-auth-sites-site-status"
        ]
    );
    assert_eq!(
        of("site-grants"),
        [
            "edge-auth-sites-grants-handbook",
            "edge-auth-sites-grants-api",
            "edge-auth-sites-grants-api-preview",
            "edge-auth-sites-grants-status"
        ]
    );
    // The API reference's previews: a distribution for the wildcard host,
    // answering to the auth functions as the API reference, with grants
    // for it alone.
    let preview = "edge-auth-sites-site-api-preview";
    for (key, want) in [
        ("DomainName", "*.preview.docs.example.com"),
        ("SiteName", "api"),
        ("Part", "site"),
    ] {
        assert_eq!(
            parameter(&plan, preview, key),
            &Value::Known(want.into()),
            "{key}"
        );
    }
    assert_eq!(
        parameter(
            &plan,
            "edge-auth-sites-grants-api-preview",
            "DistributionArn"
        ),
        &Value::Output {
            stack: preview.into(),
            key: "DistributionArn".into(),
            suffix: String::new()
        }
    );
    assert!(
        text.contains("and the branches' previews `preview upload` wrote, site:<branch>.preview.docs.example.com, written again with these keys and rules"),
        "{text}"
    );
    // One of each shared stack (the pool twice: its URLs, then the same
    // again, which the run skips).
    assert_eq!(of("viewer-function").len(), 1, "{text}");
    assert_eq!(of("auth-endpoints").len(), 1, "{text}");
    assert!(of("edge-functions").is_empty());
    // Each site's distribution: its name (policy names, the origin header
    // the auth functions answer as), its domain and certificate.
    for site in &settings.sites {
        let stack = settings.site_stack(&site.name);
        let known = |key| match parameter(&plan, &stack, key) {
            Value::Known(v) => v.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(known("SiteName"), site.name);
        assert_eq!(known("Part"), "site");
        // The shared access controls and policies, the policies stack's.
        assert_eq!(
            parameter(&plan, &stack, "SecurityHeadersPolicyId"),
            &Value::Output {
                stack: "edge-auth-sites-sites-policies".into(),
                key: "SecurityHeadersPolicyId".into(),
                suffix: String::new()
            }
        );
        assert_eq!(known("DomainName"), site.domain);
        assert!(known("CertificateArn").contains(":acm:us-east-1:"));
        // Its grants name its own distribution, nobody else's.
        assert_eq!(
            parameter(&plan, &settings.grants_stack(&site.name), "DistributionArn"),
            &Value::Output {
                stack: stack.clone(),
                key: "DistributionArn".into(),
                suffix: String::new()
            }
        );
    }
    assert_eq!(
        parameter(&plan, "edge-auth-sites-sites-policies", "Part"),
        &Value::Known("policies".into())
    );
    // The auth stack grants nothing itself and is told no one address.
    for (key, want) in [
        ("Grants", "per-site"),
        ("SiteUrl", ""),
        ("DistributionArn", ""),
    ] {
        assert_eq!(
            parameter(&plan, "edge-auth-sites-auth-endpoints", key),
            &Value::Known(want.into())
        );
    }
    // Every site's sign-out URL, from the start; the callbacks of the
    // sites that sign in at their own address (the API reference hands its
    // sign-ins to the handbook, its group's sign-in site).
    assert_eq!(
        parameter(&plan, "edge-auth-sites-user-pool", "CallbackUrls"),
        &Value::Known(
            "https://handbook.docs.example.com/_edge-auth/callback,https://status.example.com/_edge-auth/callback".into()
        )
    );
    assert_eq!(
        parameter(&plan, "edge-auth-sites-user-pool", "LogoutUrls"),
        &Value::Known(
            "https://handbook.docs.example.com/signed-out.html,https://api.docs.example.com/signed-out.html,https://status.example.com/signed-out.html".into()
        )
    );
    // The store step names each site's entry; each site's content is
    // synced to its own bucket, from the folder beside the settings.
    for (site, host) in [
        ("handbook", "handbook.docs"),
        ("api", "api.docs"),
        ("status", "status"),
    ] {
        assert!(
            text.contains(&format!("    site:{host}.example.com\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "sites/{site} to s3://<edge-auth-sites-site-{site}.BucketName>"
            )),
            "{text}"
        );
    }
    // Sites dropped from the settings are removed, after the others.
    let last = plan.steps.len() - 2;
    assert!(
        matches!(&plan.steps[last], Step::RemoveSites { keep, .. } if keep == &["handbook", "api", "api-preview", "status"]),
        "{text}"
    );
    assert!(text.contains("remove the sites no longer in the settings: each stack edge-auth-sites-site-<name> (eu-north-1) whose <name> is not handbook, api, api-preview, status"), "{text}");
    // The probes go to the first site.
    assert!(
        text.contains("(TestFunction, DEVELOPMENT stage, with the store above): at handbook.docs.example.com (the first site)"),
        "{text}"
    );
    println!("{text}");
}

/// Adding a site adds its two stacks and changes no other site's stack's
/// parameters: the other sites' deployments find nothing to change.
#[test]
fn adding_a_site_leaves_the_other_sites_stacks_as_they_were() {
    let three = table();
    let four = edited("four", |text| {
        format!(
            "{text}\n[[sites]]\nname = \"previews\"\ndomain = \"previews.example.com\"\ncertificate_arn = \"arn:aws:acm:us-east-1:111122223333:certificate/11111111-0000-0000-0000-000000000000\"\ncontent = \"status\"\n"
        )
    })
    .unwrap();
    let before = Plan::new(&three, Path::new("dist"), Path::new("w"));
    let after = Plan::new(&four, Path::new("dist"), Path::new("w"));
    let deployments = |plan: &Plan| -> Vec<(String, Vec<(String, Value)>)> {
        plan.steps
            .iter()
            .filter_map(|s| match s {
                Step::DeployStack {
                    stack, parameters, ..
                } if stack.contains("-site-") || stack.contains("-grants-") => {
                    Some((stack.clone(), parameters.clone()))
                }
                _ => None,
            })
            .collect()
    };
    let (b, a) = (deployments(&before), deployments(&after));
    assert_eq!(a.len(), b.len() + 2);
    for deployment in &b {
        assert!(a.contains(deployment), "{} changed", deployment.0);
    }
}

/// The config.json a table deploys: each site's address, rules, public
/// paths and group, read by the core as the handlers read it; the store
/// entries it makes are one per site, each found by its host.
fn keys() -> edge_auth_core::session::SessionKeySet {
    edge_auth_core::session::SessionKeySet {
        signing_kid: edge_auth_testkit::SESSION_KID.into(),
        keys: vec![edge_auth_testkit::session_key_file()],
        retire_after: Default::default(),
        revoked: Default::default(),
    }
}

/// The config.json the deploy tool writes for `settings`, read by the core
/// as the handlers read it (with the key set's material).
fn deployed_config(settings: &Settings) -> (serde_json::Value, edge_auth_core::Config) {
    let discovery = json!({
        "issuer": "https://idp.example.com",
        "authorization_endpoint": "https://idp.example.com/authorize",
        "token_endpoint": "https://idp.example.com/token",
        "jwks_uri": "https://idp.example.com/jwks",
    });
    let jwks: serde_json::Value = serde_json::from_str(edge_auth_testkit::JWKS).unwrap();
    let keys = keys();
    let value = config_json(
        settings,
        &discovery,
        &jwks,
        "client",
        &SecretLocation {
            arn: "arn:aws:secretsmanager:eu-north-1:111122223333:secret:x".into(),
            region: "eu-north-1".into(),
        },
        &SessionKeysLocation {
            name: "edge-auth/sites/session-keys".into(),
            region: "eu-north-1".into(),
            keys: keys.clone(),
        },
        Some("https://edge-auth-sites-example.auth.eu-north-1.amazoncognito.com"),
        None,
    )
    .unwrap();
    let config = edge_auth_core::Config::from_json(&value.to_string())
        .unwrap()
        .with_session_keys(&keys)
        .unwrap();
    (value, config)
}

#[test]
fn the_tables_config_json_is_the_cores_site_table() {
    let (value, config) = deployed_config(&table());
    let keys = keys();
    assert!(value.get("site").is_none(), "{value}");
    assert!(config.site_table());
    let handbook = edge_auth_core::sites::site_for_host(&config, Some("handbook.docs.example.com"))
        .expect("the handbook by its host");
    assert_eq!(handbook.id, "docs");
    let status = edge_auth_core::sites::site_for_host(&config, Some("STATUS.example.com:443"))
        .expect("the status page by its host");
    assert_eq!(status.id, "status");
    assert!(edge_auth_core::sites::site_for_host(&config, Some("docs.example.com")).is_none());
    let entries = edge_auth_core::sites::site_entries(&config, &keys.verify_keys());
    assert_eq!(
        entries.keys().cloned().collect::<Vec<_>>(),
        [
            "site:api.docs.example.com",
            "site:handbook.docs.example.com",
            "site:status.example.com"
        ]
    );
    // The handlers answer as the site their distribution names.
    let api = config.at_site("api").unwrap();
    assert_eq!(
        api.file.site.base_url.as_deref(),
        Some("https://api.docs.example.com")
    );
    // The sign-in group as the settings name it: the API reference's
    // sign-ins go to the handbook, its session is the group's cookie.
    assert_eq!(
        value["sign_in_groups"],
        serde_json::json!([{"name": "docs", "domain": "docs.example.com", "sign_in_site": "handbook"}])
    );
    assert_eq!(
        api.shared.as_ref().map(|s| s.sign_in_base.as_str()),
        Some("https://handbook.docs.example.com")
    );
    assert_eq!(api.cookie_names.domain.as_deref(), Some("docs.example.com"));
    assert!(config.at_site("status").unwrap().shared.is_none());
}

/// A change to the example's text.
type Edit = fn(String) -> String;

/// What a table refuses, each named by its setting.
#[test]
fn a_tables_bad_settings_are_refused_by_name() {
    let cases: [(&str, Edit, &str); 18] = [
        (
            "lambda-edge",
            |t| t.replace("[regions]", "authorizer = \"lambda-edge\"\n[regions]"),
            "sites: a site table needs the CloudFront Function",
        ),
        (
            "site-domain",
            |t| t.replace("# [site]", "[site]\ndomain = \"docs.example.com\""),
            "site: with [[sites]], [site] holds only",
        ),
        (
            "top-rules",
            |t| {
                t.replace(
                    "[regions]",
                    "[[rules]]\npattern = \"/a/*\"\ngroups = [\"x\"]\n[regions]",
                )
            },
            "rules: with [[sites]] each site has its own rules",
        ),
        (
            "name",
            |t| t.replacen("name = \"handbook\"", "name = \"Handbook\"", 1),
            "sites.name",
        ),
        (
            "twice",
            |t| t.replacen("name = \"api\"", "name = \"handbook\"", 1),
            "handbook: named twice",
        ),
        (
            "domain",
            |t| {
                t.replacen(
                    "domain = \"api.docs.example.com\"",
                    "domain = \"api.docs.example.com/x\"",
                    1,
                )
            },
            "sites.domain",
        ),
        (
            "same-domain",
            |t| {
                t.replacen(
                    "domain = \"api.docs.example.com\"",
                    "domain = \"handbook.docs.example.com\"",
                    1,
                )
            },
            "api: another site has this domain",
        ),
        (
            "certificate",
            |t| t.replacen(":acm:us-east-1:", ":acm:eu-north-1:", 1),
            "sites.certificate_arn",
        ),
        (
            "aliases",
            |t| {
                t.replacen(
                    "content = \"api\"",
                    "content = \"api\"\naliases = [\"www.api.docs.example.com\"]",
                    1,
                )
            },
            "sites.aliases",
        ),
        (
            "public-all",
            |t| t.replacen("public = [\"/404.html\"]", "public = [\"/*\"]", 1),
            "makes every page public",
        ),
        (
            "misspelt",
            |t| t.replace("sign_in_group", "sign_in_grup"),
            "sign_in_grup",
        ),
        // A sign-in group's cookie must reach each of its sites, from a
        // sign-in site of its own.
        (
            "group-domain",
            |t| {
                t.replacen(
                    "domain = \"docs.example.com\"",
                    "domain = \"help.example.com\"",
                    1,
                )
            },
            "site `handbook` (handbook.docs.example.com) is not under `help.example.com`",
        ),
        (
            "group-sign-in-site",
            |t| {
                t.replacen(
                    "sign_in_site = \"handbook\"",
                    "sign_in_site = \"status\"",
                    1,
                )
            },
            "`[[sign_in_groups]] [0].sign_in_site`: `status` is not a site of the group",
        ),
        (
            "group-nobody",
            |t| t.replacen("name = \"docs\"", "name = \"help\"", 1),
            "no site has `sign_in_group = \"help\"`",
        ),
        (
            "group-misspelt",
            |t| t.replacen("sign_in_site =", "signin_site =", 1),
            "signin_site",
        ),
        // Previews: under the group's domain, a us-east-1 certificate, and
        // no site named like a site's previews' stacks.
        (
            "preview-domain",
            |t| {
                t.replacen(
                    "domain = \"preview.docs.example.com\"",
                    "domain = \"preview.example.org\"",
                    1,
                )
            },
            "sites: `sites (api).preview.domain`: `preview.example.org` is not under the group's `docs.example.com`",
        ),
        (
            "preview-certificate",
            |t| {
                let at = t.find("[sites.preview]").unwrap();
                format!(
                    "{}{}",
                    &t[..at],
                    t[at..].replacen(":acm:us-east-1:", ":acm:eu-west-1:", 1)
                )
            },
            "sites.preview.certificate_arn",
        ),
        (
            "preview-name",
            |t| t.replacen("name = \"status\"", "name = \"status-preview\"", 1),
            "a name ending in `-preview`",
        ),
    ];
    for (tag, edit, wanted) in cases {
        let error = edited(tag, edit).unwrap_err();
        assert!(error.contains(wanted), "{tag}: {error}");
    }
}

/// The header a site's distribution sends its auth origins is the one the
/// handlers read the site from (`edge_auth_core::sites::SITE_HEADER`), set
/// to the site's name, on each of the three auth origins.
#[test]
fn the_distribution_names_its_site_to_the_auth_functions_as_the_core_reads_it() {
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sam/distribution/template.yaml"),
    )
    .unwrap();
    let header = format!(
        "- HeaderName: {}\n                    HeaderValue: !Ref SiteName",
        edge_auth_core::sites::SITE_HEADER
    );
    assert_eq!(template.matches(&header).count(), 3, "{header}");
}

/// `destroy` of a table: each site's distribution stack, its bucket (with
/// `--empty-bucket`) and its grants, then the shared policies once no site
/// uses them, before the function and the auth endpoints.
#[test]
fn destroy_removes_every_site_then_what_they_shared() {
    use edge_auth_deploy::destroy::{Teardown, TeardownStep};
    let teardown = Teardown::new(&table(), true);
    let deleted: Vec<&str> = teardown
        .steps
        .iter()
        .filter_map(|s| match s {
            TeardownStep::DeleteStack { stack, .. } => Some(stack.as_str()),
            _ => None,
        })
        .collect();
    let at = |stack: &str| {
        deleted
            .iter()
            .position(|s| *s == stack)
            .unwrap_or_else(|| panic!("{stack} not deleted: {deleted:?}"))
    };
    let policies = at("edge-auth-sites-sites-policies");
    // Each site's stacks, the API reference's previews' too (their
    // distribution takes the shared policies as well).
    for site in ["handbook", "api", "api-preview", "status"] {
        assert!(at(&format!("edge-auth-sites-site-{site}")) < policies);
        assert!(at(&format!("edge-auth-sites-grants-{site}")) < policies);
    }
    assert!(policies < at("edge-auth-sites-viewer-function"));
    assert!(at("edge-auth-sites-grants-status") < at("edge-auth-sites-auth-endpoints"));
    assert!(!deleted.contains(&"edge-auth-sites-distribution"));
    let buckets = teardown
        .steps
        .iter()
        .filter(|s| matches!(s, TeardownStep::DeleteBucket { .. }))
        .count();
    assert_eq!(buckets, 4);
    // What the steps read: each site's stack and the previews' (its
    // bucket's name).
    assert_eq!(teardown.reads.len(), 4 + 1, "{:?}", teardown.reads);
}

/// A site's rules changed, a site added: the same CloudFront Function, byte
/// for byte (the deploy finds LIVE running it and publishes nothing); only
/// the store's entries differ.
#[test]
fn a_site_change_is_a_store_write_not_a_new_function() {
    let (_, before) = deployed_config(&table());
    let changed = edited("changed", |text| {
        text.replacen("pattern = \"/private/*\"", "pattern = \"/internal/*\"", 1)
            + "\n[[sites]]\nname = \"previews\"\ndomain = \"previews.example.com\"\ncertificate_arn = \"arn:aws:acm:us-east-1:111122223333:certificate/11111111-0000-0000-0000-000000000000\"\ncontent = \"status\"\n"
    })
    .unwrap();
    let (_, after) = deployed_config(&changed);
    use edge_auth_core::cloudfront_function::render;
    assert_eq!(render(&before), render(&after));
    let entries =
        |c: &edge_auth_core::Config| edge_auth_core::sites::site_entries(c, &keys().verify_keys());
    let (b, a) = (entries(&before), entries(&after));
    assert_eq!(a.len(), b.len() + 1);
    assert_ne!(
        a["site:api.docs.example.com"],
        b["site:api.docs.example.com"]
    );
    assert_eq!(
        a["site:handbook.docs.example.com"],
        b["site:handbook.docs.example.com"]
    );
}

/// The example's placeholders are found in each site as in one site's
/// settings: a deploy of the example file unedited stops, naming them.
#[test]
fn the_examples_placeholders_are_named_per_site() {
    let found = table().example_placeholders();
    for (site, host) in [
        ("handbook", "handbook.docs"),
        ("api", "api.docs"),
        ("status", "status"),
    ] {
        assert!(
            found.contains(&format!("sites ({site}).domain = {host}.example.com")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|f| f.starts_with(&format!("sites ({site}).certificate_arn = "))),
            "{found:?}"
        );
    }
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("provider.hosted_domain_prefix = edge-auth-sites-example")),
        "{found:?}"
    );
    let own = edited("own", |t| {
        t.replace(".example.com", ".docs.internal")
            .replace(
                "111122223333:certificate/00000000",
                "444455556666:certificate/12345678",
            )
            .replace("edge-auth-sites-example", "acme-docs-sites")
    })
    .unwrap();
    assert_eq!(own.example_placeholders(), Vec::<String>::new());
}
