//! The pieces held against each other: what the functions send (computed by
//! the core from the very config.json the tool writes) against what the tool
//! registers on the app client and passes to the templates, with and without
//! a custom domain, on a first deploy and on a re-run.

use std::collections::BTreeMap;
use std::path::Path;

use edge_auth_core::{Config, HandlerOutput, Step as CoreStep};
use edge_auth_deploy::package::{self, SecretLocation, SessionKeysLocation, config_json};
use edge_auth_deploy::plan::Value;
use edge_auth_deploy::plan::{Outputs, Plan, Step, resolve};
use edge_auth_deploy::settings::{AuthEndpoints, Authorizer, Settings};
use serde_json::json;

const DISTRIBUTION_DOMAIN: &str = "d111111abcdef8.cloudfront.net";
const NOW: u64 = 1_700_000_000;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The example settings without a custom domain.
fn without_domain() -> Settings {
    Settings::load(&root().join("deploy/preview.toml")).unwrap()
}

fn with_domain() -> Settings {
    Settings::load(&root().join("deploy/prod.toml")).unwrap()
}

/// The config.json the tool writes.
fn config_value(settings: &Settings, site_url: Option<&str>) -> serde_json::Value {
    let issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
    let discovery = json!({
        "issuer": issuer,
        "authorization_endpoint": "https://docs.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
        "token_endpoint": "https://docs.auth.eu-west-1.amazoncognito.com/oauth2/token",
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
    });
    let jwks: serde_json::Value = serde_json::from_str(edge_auth_testkit::JWKS).unwrap();
    let secret = SecretLocation {
        arn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x".into(),
        region: "eu-west-1".into(),
    };
    config_json(
        settings,
        &discovery,
        &jwks,
        "client123",
        &secret,
        &session_keys_of(settings),
        Some("https://docs.auth.eu-west-1.amazoncognito.com"),
        site_url,
    )
    .unwrap()
}

/// That config.json as the handlers read it from the zip.
fn written_config(settings: &Settings, site_url: Option<&str>) -> Config {
    let value = config_value(settings, site_url);
    Config::from_json(&serde_json::to_string_pretty(&value).unwrap()).unwrap()
}

fn query_parameter(location: &str, name: &str) -> String {
    let query = location.split_once('?').expect(location).1;
    edge_auth_core::query::parse_query(query)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("{name} in {location}"))
}

fn location(output: &HandlerOutput) -> String {
    match output {
        HandlerOutput::Respond(response) => {
            assert_eq!(response.status, "302", "{response:?}");
            response.headers.first("location").unwrap().to_owned()
        }
        HandlerOutput::Forward(request) => panic!("forwarded {}", request.uri),
    }
}

/// The redirect_uri of a sign-in and the logout_uri of a sign-out.
fn sent_urls(config: &Config) -> (String, String) {
    let mut entropy = edge_auth_testkit::CountingEntropy(1);
    let (request, mut distribution) = edge_auth_testkit::viewer_request("/docs/", "", &[]);
    distribution.distribution_domain_name = DISTRIBUTION_DOMAIN.into();
    let signin = edge_auth_core::authorize::authorize(
        request.clone(),
        &distribution,
        config,
        NOW,
        &mut entropy,
    );
    let redirect_uri = query_parameter(&location(&signin.output), "redirect_uri");
    let (mut signout_request, _) =
        edge_auth_testkit::viewer_request(&config.paths().signout, "", &[]);
    signout_request
        .headers
        .append("Sec-Fetch-Site", "same-origin");
    let CoreStep::Done(signout) = edge_auth_core::signout::signout_begin(
        &signout_request,
        &distribution,
        config,
        NOW,
        &mut entropy,
    ) else {
        panic!("no refresh token, nothing to revoke: done at once")
    };
    let logout_uri = query_parameter(&location(&signout.output), "logout_uri");
    (redirect_uri, logout_uri)
}

/// The URLs each user-pool deployment registers, in plan order.
fn registrations(
    plan: &Plan,
    outputs: &Outputs,
    existing: &Outputs,
) -> Vec<(Vec<String>, Vec<String>)> {
    plan.steps
        .iter()
        .filter_map(|step| match step {
            Step::DeployStack {
                stack, parameters, ..
            } if stack.ends_with("-user-pool") => {
                let list = |name: &str| -> Vec<String> {
                    let value = &parameters.iter().find(|(k, _)| k == name).unwrap().1;
                    // CommaDelimitedList parameters.
                    resolve(value, outputs, existing)
                        .unwrap()
                        .split(',')
                        .map(str::to_owned)
                        .collect()
                };
                Some((list("CallbackUrls"), list("LogoutUrls")))
            }
            _ => None,
        })
        .collect()
}

fn distribution_outputs(settings: &Settings, site_url: &str) -> Outputs {
    BTreeMap::from([(
        settings.stack_name("distribution"),
        BTreeMap::from([("SiteUrl".to_owned(), site_url.to_owned())]),
    )])
}

#[test]
fn with_a_domain_the_functions_send_what_the_pool_registers() {
    let settings = with_domain();
    let plan = Plan::new(&settings, Path::new("dist"), Path::new("w"));
    let config = written_config(&settings, settings.site_url().as_deref());
    let (redirect_uri, logout_uri) = sent_urls(&config);
    assert_eq!(redirect_uri, "https://docs.example.com/_edge-auth/callback");
    let registered = registrations(&plan, &Outputs::new(), &Outputs::new());
    // Twice with the same URLs (the last step drops an address the site
    // moved from; here there is none, and the run skips it).
    assert_eq!(registered.len(), 2);
    assert_eq!(
        registered[0], registered[1],
        "a known URL is registered alone"
    );
    assert_eq!(
        registered[0].0,
        std::slice::from_ref(&redirect_uri),
        "{registered:?}"
    );
    assert!(registered[0].1.contains(&logout_uri), "{registered:?}");
}

#[test]
fn first_deploy_without_a_domain_registers_the_cloudfront_url_before_it_is_announced() {
    let settings = without_domain();
    let plan = Plan::new(&settings, Path::new("dist"), Path::new("w"));
    // First deploy: no stack exists; config.json has no site URL, so the
    // functions use the distribution's own name from the event.
    let config = written_config(&settings, None);
    let (redirect_uri, logout_uri) = sent_urls(&config);
    let site = format!("https://{DISTRIBUTION_DOMAIN}");
    assert_eq!(redirect_uri, format!("{site}/_edge-auth/callback"));
    let outputs = distribution_outputs(&settings, &site);
    let registered = registrations(&plan, &outputs, &Outputs::new());
    assert_eq!(registered.len(), 2);
    // The placeholder first (the site cannot be reached yet anyway) ...
    assert_eq!(
        registered[0].0,
        ["https://placeholder.invalid/_edge-auth/callback"]
    );
    // ... and what stays registered is exactly what the functions send.
    assert!(registered[1].0.contains(&redirect_uri), "{registered:?}");
    assert!(registered[1].1.contains(&logout_uri), "{registered:?}");
    // The pool is corrected before the site is announced.
    let pool_last = plan
        .steps
        .iter()
        .rposition(
            |s| matches!(s, Step::DeployStack { stack, .. } if stack.ends_with("-user-pool")),
        )
        .unwrap();
    let announce = plan
        .steps
        .iter()
        .position(|s| matches!(s, Step::Announce { .. }))
        .unwrap();
    assert!(pool_last < announce);
}

#[test]
fn a_rerun_without_a_domain_never_registers_the_placeholder() {
    let settings = without_domain();
    let plan = Plan::new(&settings, Path::new("dist"), Path::new("w"));
    let site = format!("https://{DISTRIBUTION_DOMAIN}");
    // The distribution stack exists from the first deploy: the tool writes
    // its URL into config.json and registers it from the first step on.
    let existing = distribution_outputs(&settings, &site);
    let config = written_config(&settings, Some(&site));
    let (redirect_uri, logout_uri) = sent_urls(&config);
    for (callbacks, logouts) in registrations(&plan, &existing, &existing) {
        assert!(callbacks.contains(&redirect_uri), "{callbacks:?}");
        assert!(logouts.contains(&logout_uri), "{logouts:?}");
        assert!(!callbacks.iter().any(|u| u.contains("placeholder")));
    }
}

#[test]
fn the_distribution_gets_the_paths_the_functions_serve() {
    for settings in [with_domain(), without_domain()] {
        let plan = Plan::new(&settings, Path::new("dist"), Path::new("w"));
        let config = written_config(&settings, settings.site_url().as_deref());
        let Some(Step::DeployStack { parameters, .. }) = plan.steps.iter().find(
            |s| matches!(s, Step::DeployStack { stack, .. } if stack.ends_with("-distribution")),
        ) else {
            panic!("no distribution step")
        };
        let passed = |name: &str| {
            parameters
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.to_string())
                .unwrap_or_else(|| panic!("{name} not passed"))
        };
        let paths = config.paths();
        assert_eq!(passed("SigninPath"), paths.signin);
        assert_eq!(passed("SigninStartPath"), paths.start);
        assert_eq!(
            paths.start,
            edge_auth_core::cloudfront_function::start_path(&config),
            "the behaviour is where the function sends a page load without a session"
        );
        assert_eq!(passed("RefreshPath"), paths.refresh);
        assert_eq!(passed("SignoutPath"), paths.signout);

        // The signed-out page is a file of the site, which authorize lets
        // through without a session (Cognito sends the browser there).
        let (request, distribution) = edge_auth_testkit::viewer_request(&paths.signed_out, "", &[]);
        let outcome = edge_auth_core::authorize::authorize(
            request,
            &distribution,
            &config,
            NOW,
            &mut edge_auth_testkit::CountingEntropy(1),
        );
        assert!(matches!(outcome.output, HandlerOutput::Forward(_)));
        let key = paths.signed_out.trim_start_matches('/');
        assert!(
            edge_auth_deploy::aws::site_files(&root().join("site"))
                .unwrap()
                .iter()
                .any(|f| f.key == key),
            "{key} is not in site/"
        );

        // Any other path under the auth prefix stops at authorize (the
        // default behaviour): it never reaches the bucket.
        let (request, distribution) =
            edge_auth_testkit::viewer_request("/_edge-auth/other", "", &[]);
        let outcome = edge_auth_core::authorize::authorize(
            request,
            &distribution,
            &config,
            NOW,
            &mut edge_auth_testkit::CountingEntropy(1),
        );
        let HandlerOutput::Respond(response) = outcome.output else {
            panic!("forwarded to the origin")
        };
        assert_eq!(response.status, "404");
    }
}

/// A template's parameters, as the deploy tool reads them.
fn template_parameters(
    template: &str,
) -> std::collections::BTreeMap<String, edge_auth_deploy::template::Parameter> {
    edge_auth_deploy::template::read_parameters(
        &root().join("sam").join(template).join("template.yaml"),
    )
    .unwrap()
}

const TEMPLATES: [&str; 8] = [
    "site-grants",
    "viewer-function",
    "user-pool",
    "edge-functions",
    "auth-endpoints",
    "distribution",
    "waf",
    "monitoring",
];

fn with_monitoring(mut s: Settings) -> Settings {
    s.monitoring = Some(edge_auth_deploy::settings::Monitoring {
        email: Some("ops@example.com".into()),
        compute_utilization: 60,
        refused_sessions: 50,
        signin_failures: 10,
        auth_p99_ms: 2000,
        error_rate_percent: 3,
        log_retention_days: 30,
    });
    s
}

fn with_rate_limit(mut s: Settings) -> Settings {
    s.rate_limit = Some(edge_auth_deploy::settings::RateLimit {
        auth_requests: 300,
        window_seconds: 120,
    });
    s
}

/// The example settings, the same with the sign-in, refresh and sign-out
/// functions at the edge, and with the rate limit.
fn every_arrangement() -> Vec<Settings> {
    let lambda_edge = |mut s: Settings| {
        s.authorizer = Authorizer::LambdaEdge;
        s
    };
    let edge = |s: Settings| {
        let mut s = lambda_edge(s);
        s.auth_endpoints = AuthEndpoints::Edge;
        s
    };
    vec![
        with_domain(),
        without_domain(),
        lambda_edge(with_domain()),
        lambda_edge(without_domain()),
        edge(with_domain()),
        edge(without_domain()),
        with_rate_limit(with_domain()),
        with_rate_limit(edge(without_domain())),
        with_monitoring(with_domain()),
        with_monitoring(edge(without_domain())),
        site_table(),
    ]
}

/// The example site table: three sites, each a distribution stack and a
/// grants stack of its own.
fn site_table() -> Settings {
    Settings::load(&root().join("examples/sites/sites.toml")).unwrap()
}

/// The template folder a deployment's stack is made from.
fn template_of(template: &Path) -> String {
    template
        .parent()
        .and_then(Path::file_name)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// SAM sends `UsePreviousValue` for a parameter it is not given, so every
/// deployment passes every parameter of its template: a setting removed
/// (a custom domain, say) must reach CloudFormation as its empty value.
/// A stack the plan deploys: its name, region and parameters as shown.
type Deployed = (String, String, Vec<(String, String)>);

/// The rate limit's web ACL: its stack in us-east-1 before the
/// distribution, scoped to the paths the core serves, its ARN the
/// distribution's; without the setting, no stack and an empty ARN.
#[test]
fn the_rate_limit_reaches_the_distribution() {
    let stacks = |plan: &Plan| -> Vec<Deployed> {
        plan.steps
            .iter()
            .filter_map(|step| match step {
                Step::DeployStack {
                    stack,
                    region,
                    parameters,
                    ..
                } => Some((
                    stack.clone(),
                    region.clone(),
                    parameters
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect(),
                )),
                _ => None,
            })
            .collect()
    };
    let plain = stacks(&Plan::new(
        &with_domain(),
        Path::new("dist"),
        Path::new("w"),
    ));
    assert!(!plain.iter().any(|(s, _, _)| s.ends_with("-waf")));
    let distribution = |all: &[Deployed]| {
        all.iter()
            .find(|(s, _, _)| s.ends_with("-distribution"))
            .unwrap()
            .2
            .clone()
    };
    let value = |params: &[(String, String)], key: &str| {
        params.iter().find(|(k, _)| k == key).unwrap().1.clone()
    };
    assert_eq!(value(&distribution(&plain), "WebAclArn"), "");
    let limited = stacks(&Plan::new(
        &with_rate_limit(with_domain()),
        Path::new("dist"),
        Path::new("w"),
    ));
    let waf = limited
        .iter()
        .position(|(s, _, _)| s.ends_with("-waf"))
        .unwrap();
    let dist = limited
        .iter()
        .position(|(s, _, _)| s.ends_with("-distribution"))
        .unwrap();
    assert!(waf < dist);
    let (stack, region, params) = &limited[waf];
    assert_eq!(region, "us-east-1");
    assert_eq!(value(params, "AuthRateLimit"), "300");
    assert_eq!(value(params, "AuthRateWindowSeconds"), "120");
    // Every auth path the distribution routes begins with the prefix.
    let prefix = value(params, "AuthPathPrefix");
    assert_eq!(prefix, "/_edge-auth/");
    let dist_params = distribution(&limited);
    for key in [
        "SigninPath",
        "SigninStartPath",
        "RefreshPath",
        "SignoutPath",
    ] {
        assert!(value(&dist_params, key).starts_with(&prefix), "{key}");
    }
    assert_eq!(
        value(&dist_params, "WebAclArn"),
        format!("<{stack}.WebAclArn>")
    );
}

/// `[monitoring]`: the function's log group made in us-east-1 before the
/// edge stack, the auth functions' in their region before the regional
/// one, both after the distribution (the 5xx alarm names it) and the auth
/// functions; the settings' thresholds in their parameters; with
/// Lambda@Edge at the edge, only the edge stack and no function group.
#[test]
fn monitoring_watches_what_the_deployment_runs() {
    let names = |plan: &Plan| -> Vec<String> {
        plan.steps
            .iter()
            .map(|step| match step {
                Step::DeployStack { stack, region, .. } => format!("stack {stack} {region}"),
                Step::EnsureLogGroups {
                    groups,
                    region,
                    retention_days,
                } => {
                    format!("groups {} {region} {retention_days}", groups.join(","))
                }
                other => other.label(),
            })
            .collect()
    };
    let plain = names(&Plan::new(
        &with_domain(),
        Path::new("dist"),
        Path::new("w"),
    ));
    assert!(
        !plain
            .iter()
            .any(|s| s.contains("monitoring") || s.starts_with("groups"))
    );
    let watched = names(&Plan::new(
        &with_monitoring(with_domain()),
        Path::new("dist"),
        Path::new("w"),
    ));
    let at = |prefix: &str| {
        watched
            .iter()
            .position(|s| s.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {watched:#?}"))
    };
    let app = format!(
        "{}-{}",
        with_domain().application,
        with_domain().environment
    );
    let function_groups = at(&format!(
        "groups /aws/cloudfront/function/{app}-viewer us-east-1 30"
    ));
    let edge = at(&format!("stack {app}-monitoring-edge us-east-1"));
    let auth_groups = at(&format!(
        "groups /aws/lambda/{app}-auth-signin,/aws/lambda/{app}-auth-refresh,/aws/lambda/{app}-auth-signout "
    ));
    let regional = at(&format!(
        "stack {app}-monitoring {}",
        with_domain().regions.user_pool
    ));
    let distribution = at(&format!("stack {app}-distribution"));
    let auth = watched
        .iter()
        .rposition(|s| s.starts_with(&format!("stack {app}-auth-endpoints")))
        .unwrap();
    assert!(distribution < function_groups && auth < function_groups);
    assert!(function_groups < edge && edge < auth_groups && auth_groups < regional);
    let plan = Plan::new(
        &with_monitoring(with_domain()),
        Path::new("dist"),
        Path::new("w"),
    );
    let parameters = |stack: &str| -> Vec<(String, String)> {
        plan.steps
            .iter()
            .find_map(|step| match step {
                Step::DeployStack {
                    stack: s,
                    parameters,
                    ..
                } if s == stack => Some(
                    parameters
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect(),
                ),
                _ => None,
            })
            .unwrap()
    };
    let value = |params: &[(String, String)], key: &str| {
        params.iter().find(|(k, _)| k == key).unwrap().1.clone()
    };
    let edge_params = parameters(&format!("{app}-monitoring-edge"));
    assert_eq!(value(&edge_params, "Part"), "edge");
    assert_eq!(value(&edge_params, "ComputeUtilization"), "60");
    assert_eq!(value(&edge_params, "RefusedSessions"), "50");
    assert_eq!(value(&edge_params, "ErrorRatePercent"), "3");
    assert_eq!(value(&edge_params, "AlarmEmail"), "ops@example.com");
    assert_eq!(
        value(&edge_params, "DistributionId"),
        format!("<{app}-distribution.DistributionId>")
    );
    let regional_params = parameters(&format!("{app}-monitoring"));
    assert_eq!(value(&regional_params, "Part"), "regional");
    assert_eq!(value(&regional_params, "SigninFailures"), "10");
    assert_eq!(value(&regional_params, "AuthP99Milliseconds"), "2000");
    // The function's log group is the name of the function the
    // viewer-function template creates.
    let viewer_template =
        std::fs::read_to_string(root().join("sam/viewer-function/template.yaml")).unwrap();
    assert!(viewer_template.contains(r#"Name: !Sub "${AppName}-${Environment}-viewer""#));
    let monitoring_template =
        std::fs::read_to_string(root().join("sam/monitoring/template.yaml")).unwrap();
    assert!(
        monitoring_template
            .contains(r#"/aws/cloudfront/function/${AppName}-${Environment}-viewer""#)
    );
    assert!(!monitoring_template.contains("viewer-request"));
    // Lambda@Edge everywhere: the edge stack (the distribution's alarm and
    // the dashboard), no function group, no regional stack.
    let lambda_edge = {
        let mut s = with_monitoring(without_domain());
        s.authorizer = Authorizer::LambdaEdge;
        s.auth_endpoints = AuthEndpoints::Edge;
        s
    };
    let edge_only = names(&Plan::new(&lambda_edge, Path::new("dist"), Path::new("w")));
    assert!(
        edge_only
            .iter()
            .any(|s| s.contains("-monitoring-edge us-east-1"))
    );
    assert!(!edge_only.iter().any(|s| s.starts_with("groups")));
    assert!(
        !edge_only
            .iter()
            .any(|s| s.ends_with(&format!("-monitoring {}", lambda_edge.regions.user_pool)))
    );
}

#[test]
fn every_deployment_passes_exactly_its_templates_parameters() {
    let mut required = 0;
    for settings in every_arrangement() {
        let plan = Plan::new(&settings, Path::new("dist"), Path::new("w"));
        for step in &plan.steps {
            let Step::DeployStack {
                template,
                parameters,
                ..
            } = step
            else {
                continue;
            };
            let template = template_of(template);
            assert!(TEMPLATES.contains(&template.as_str()), "{template}");
            let declared = template_parameters(&template);
            required += declared.values().filter(|p| p.default.is_none()).count();
            let passed: Vec<&String> = parameters.iter().map(|(k, _)| k).collect();
            let names: Vec<&String> = declared.keys().collect();
            let mut sorted = passed.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), passed.len(), "{template}: a parameter twice");
            assert_eq!(sorted, names, "{template}: passed against declared");
        }
    }
    assert!(required > 0, "the reader found no required parameter");
}

/// Each setting that feeds a template parameter with a constraint, set to a
/// value the constraint refuses: the tool refuses the settings before any
/// stack changes, naming the setting. The constrained parameters are read
/// from the templates, so a constraint added there without a row here fails.
#[test]
fn settings_the_templates_refuse_are_refused_by_name() {
    use edge_auth_deploy::plan::{check_parameters, setting_of};
    type Spoil = fn(&mut Settings);
    let rows: Vec<(&str, &str, Spoil)> = vec![
        ("AppName", "application", |s| {
            s.application = "9lives".into()
        }),
        ("Environment", "environment", |s| {
            s.environment = "production-environment".into()
        }),
        ("HostedDomainPrefix", "provider.hosted_domain_prefix", |s| {
            if let edge_auth_deploy::settings::Provider::Cognito {
                hosted_domain_prefix,
                ..
            } = &mut s.provider
            {
                *hosted_domain_prefix = "-bad-".into();
            }
        }),
        (
            "IdTokenValidityMinutes",
            "provider.id_token_validity_minutes",
            |s| {
                if let edge_auth_deploy::settings::Provider::Cognito {
                    id_token_validity_minutes,
                    ..
                } = &mut s.provider
                {
                    *id_token_validity_minutes = 2;
                }
            },
        ),
        (
            "RefreshTokenValidityDays",
            "provider.refresh_token_validity_days",
            |s| {
                if let edge_auth_deploy::settings::Provider::Cognito {
                    refresh_token_validity_days,
                    ..
                } = &mut s.provider
                {
                    *refresh_token_validity_days = 0;
                }
            },
        ),
        (
            "RefreshTokenRotationGraceSeconds",
            "provider.refresh_token_rotation_grace_seconds",
            |s| {
                if let edge_auth_deploy::settings::Provider::Cognito {
                    refresh_token_rotation_grace_seconds,
                    ..
                } = &mut s.provider
                {
                    *refresh_token_rotation_grace_seconds = 61;
                }
            },
        ),
        ("PriceClass", "site.price_class", |s| {
            s.site.price_class = "PriceClass_Cheap".into()
        }),
        ("ClientSecretArn", "provider.client_secret_arn", |s| {
            s.provider = edge_auth_deploy::settings::Provider::Oidc {
                discovery_url: "https://id.example.org/.well-known/openid-configuration".into(),
                client_id: "client".into(),
                client_secret_arn: "arn:aws:secretsmanager:eu-west-1:1:secret:x".into(),
                groups_claim: "groups".into(),
                group_names: Default::default(),
            }
        }),
        ("EmailFrom", "provider.email.from", |s| {
            if let edge_auth_deploy::settings::Provider::Cognito { email, .. } = &mut s.provider {
                *email = Some(edge_auth_deploy::settings::PoolEmail {
                    from: "x".repeat(300),
                    ses_identity_arn:
                        "arn:aws:ses:eu-north-1:123456789012:identity/docs.example.org".into(),
                });
            }
        }),
        ("EmailSourceArn", "provider.email.ses_identity_arn", |s| {
            if let edge_auth_deploy::settings::Provider::Cognito { email, .. } = &mut s.provider {
                *email = Some(edge_auth_deploy::settings::PoolEmail {
                    from: "no-reply@docs.example.org".into(),
                    ses_identity_arn: "docs.example.org".into(),
                });
            }
        }),
        ("LogBucket", "site.logs.bucket", |s| {
            s.site.logs = Some(edge_auth_deploy::settings::AccessLogs {
                bucket: "Logs_Bucket".into(),
                prefix: String::new(),
            })
        }),
        ("LogPrefix", "site.logs.prefix", |s| {
            s.site.logs = Some(edge_auth_deploy::settings::AccessLogs {
                bucket: "my-logs".into(),
                prefix: "a prefix with spaces".into(),
            })
        }),
        ("CertificateArn", "site.certificate_arn", |s| {
            s.site.certificate_arn = Some("arn:aws:acm:us-east-1:1:certificate/x".into())
        }),
        ("AuthRateLimit", "rate_limit.auth_requests", |s| {
            *s = with_rate_limit(s.clone());
            if let Some(limit) = &mut s.rate_limit {
                limit.auth_requests = 9;
            }
        }),
        ("AuthRateWindowSeconds", "rate_limit.window_seconds", |s| {
            *s = with_rate_limit(s.clone());
            if let Some(limit) = &mut s.rate_limit {
                limit.window_seconds = 240;
            }
        }),
        ("AlarmEmail", "monitoring.email", |s| {
            *s = with_monitoring(s.clone());
            if let Some(m) = &mut s.monitoring {
                m.email = Some("ops at example.com".into());
            }
        }),
        (
            "ComputeUtilization",
            "monitoring.compute_utilization",
            |s| {
                *s = with_monitoring(s.clone());
                if let Some(m) = &mut s.monitoring {
                    m.compute_utilization = 101;
                }
            },
        ),
        ("RefusedSessions", "monitoring.refused_sessions", |s| {
            *s = with_monitoring(s.clone());
            if let Some(m) = &mut s.monitoring {
                m.refused_sessions = 0;
            }
        }),
        ("SigninFailures", "monitoring.signin_failures", |s| {
            *s = with_monitoring(s.clone());
            if let Some(m) = &mut s.monitoring {
                m.signin_failures = 0;
            }
        }),
        ("AuthP99Milliseconds", "monitoring.auth_p99_ms", |s| {
            *s = with_monitoring(s.clone());
            if let Some(m) = &mut s.monitoring {
                m.auth_p99_ms = 20_000;
            }
        }),
        ("ErrorRatePercent", "monitoring.error_rate_percent", |s| {
            *s = with_monitoring(s.clone());
            if let Some(m) = &mut s.monitoring {
                m.error_rate_percent = 0;
            }
        }),
    ];
    // Every constrained parameter a setting feeds has a row.
    let mut constrained = std::collections::BTreeSet::new();
    for template in TEMPLATES {
        for (name, p) in template_parameters(template) {
            let has_constraint = p.allowed_pattern.is_some()
                || p.allowed_values.is_some()
                || p.min_length.is_some()
                || p.max_length.is_some()
                || p.min_value.is_some()
                || p.max_value.is_some();
            // AuthEndpoints and Authorizer are enums in the settings: serde
            // refuses any other value before this check; the URL parameters
            // come from site.domain, which the settings check holds to a
            // host name.
            // RefreshTokenRotation comes from a boolean.
            let typed = [
                "AuthEndpoints",
                "Authorizer",
                "RefreshTokenRotation",
                "SiteUrl",
                "CallbackUrls",
                "LogoutUrls",
            ];
            if has_constraint && setting_of(&name).is_some() && !typed.contains(&name.as_str()) {
                constrained.insert(name);
            }
        }
    }
    let covered: std::collections::BTreeSet<String> =
        rows.iter().map(|(p, _, _)| p.to_string()).collect();
    assert_eq!(covered, constrained);
    let templates = root().join("sam");
    for fine in [
        with_domain(),
        with_rate_limit(with_domain()),
        with_monitoring(with_domain()),
    ] {
        assert_eq!(
            check_parameters(
                &Plan::new(&fine, Path::new("dist"), Path::new("w")),
                &templates
            ),
            Ok(())
        );
    }
    for (parameter, setting, spoil) in rows {
        let mut settings = with_domain();
        spoil(&mut settings);
        let plan = Plan::new(&settings, Path::new("dist"), Path::new("w"));
        let err = check_parameters(&plan, &templates).unwrap_err();
        assert!(
            err.starts_with(&format!("{setting}: ")) && err.contains(parameter),
            "{parameter}: {err}"
        );
    }
}

/// Bytes that do not compress (a fixed xorshift sequence).
fn incompressible(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn package_with(path: &Path, filler: usize) {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    writer.start_file("index.js", options).unwrap();
    writer.write_all(b"exports.handler = 1;").unwrap();
    writer.start_file("edge_auth.node", options).unwrap();
    writer.write_all(&incompressible(filler)).unwrap();
    writer.finish().unwrap();
}

#[test]
fn a_viewer_package_over_1_mib_with_its_config_is_refused() {
    let dir = std::env::temp_dir().join(format!("wiring-viewer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("generic")).unwrap();
    let settings = with_domain();
    let config = config_value(&settings, settings.site_url().as_deref());
    let authorize = dir.join("generic/authorize.zip");
    let signin = dir.join("generic/signin.zip");
    // Under the limit alone; over it once config.json is in.
    package_with(&authorize, package::VIEWER_PACKAGE_LIMIT as usize - 700);
    package_with(&signin, package::VIEWER_PACKAGE_LIMIT as usize - 700);
    assert!(std::fs::metadata(&authorize).unwrap().len() <= package::VIEWER_PACKAGE_LIMIT);
    let into = dir.join("configured");
    let err =
        package::write_configured_packages(std::slice::from_ref(&authorize), &into, &config, &[])
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("over Lambda@Edge's 1048576-byte limit"),
        "{err}"
    );
    assert!(
        !into.join("authorize.zip").exists(),
        "nothing oversized left to deploy"
    );
    // An origin-request package may be larger (50 MB).
    let written = package::write_configured_packages(&[signin], &into, &config, &[]).unwrap();
    assert!(written[0].1 > package::VIEWER_PACKAGE_LIMIT);
    // A viewer package with room to spare passes, and its size is reported.
    package_with(&authorize, 500_000);
    let written = package::write_configured_packages(&[authorize], &into, &config, &[]).unwrap();
    assert!(written[0].1 > 500_000 && written[0].1 < package::VIEWER_PACKAGE_LIMIT);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A template's output names.
fn template_outputs(template: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(root().join("sam").join(template).join("template.yaml")).unwrap();
    let section = text.split("\nOutputs:\n").nth(1).unwrap();
    section
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter_map(|l| l.strip_prefix("  ").and_then(|l| l.strip_suffix(':')))
        .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(str::to_owned)
        .collect()
}

/// Every stack output a parameter is taken from (the function URL hosts,
/// the version ARNs, the distribution's ARN and URL) is one its template
/// declares.
#[test]
fn every_output_the_tool_reads_is_declared_by_its_template() {
    for settings in every_arrangement() {
        let plan = Plan::new(&settings, Path::new("dist"), Path::new("w"));
        let made_from: BTreeMap<&str, String> = plan
            .steps
            .iter()
            .filter_map(|step| match step {
                Step::DeployStack {
                    stack, template, ..
                } => Some((stack.as_str(), template_of(template))),
                _ => None,
            })
            .collect();
        let mut read = 0;
        for step in &plan.steps {
            let values: Vec<&Value> = match step {
                Step::DeployStack { parameters, .. } => parameters.iter().map(|(_, v)| v).collect(),
                Step::SyncSite { bucket, .. } => vec![bucket],
                Step::Invalidate { distribution } => vec![distribution],
                Step::Announce { url } => vec![url],
                Step::FetchProvider { discovery_url } => vec![discovery_url],
                Step::WriteKeyValueStore { store, .. } => vec![store],
                Step::TestViewerFunction { function, .. }
                | Step::PublishViewerFunction { function } => vec![function],
                Step::PoolMfa { pool, .. } => vec![pool],
                Step::RenderViewerFunction { .. }
                | Step::RenderUserPool { .. }
                | Step::RetiredStack { .. }
                | Step::RemoveSites { .. }
                | Step::WriteConfig { .. }
                | Step::WritePlaceholders { .. }
                | Step::FreeSecretName { .. }
                | Step::EnsureLogGroups { .. }
                | Step::SessionKeys { .. } => vec![],
            };
            // A value of two (`Value::Both`) reads both.
            let mut values = values;
            while let Some(at) = values.iter().position(|v| matches!(v, Value::Both(..))) {
                if let Value::Both(first, also) = values.remove(at) {
                    values.extend([first.as_ref(), also.as_ref()]);
                }
            }
            for value in values {
                let (Value::Output { stack, key, .. } | Value::ExistingOutput { stack, key, .. }) =
                    value
                else {
                    continue;
                };
                let template = &made_from[stack.as_str()];
                assert!(
                    template_outputs(template).contains(key),
                    "{template} declares no output {key}"
                );
                read += 1;
            }
        }
        assert!(read >= 8, "{read}");
    }
}

/// The resolved parameters of each deployment of `suffix`'s stack.
fn deployments(
    plan: &Plan,
    suffix: &str,
    outputs: &Outputs,
    existing: &Outputs,
) -> Vec<BTreeMap<String, String>> {
    plan.steps
        .iter()
        .filter_map(|step| match step {
            Step::DeployStack {
                stack, parameters, ..
            } if stack.ends_with(suffix) => Some(
                parameters
                    .iter()
                    .map(|(k, v)| (k.clone(), resolve(v, outputs, existing).unwrap()))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// The regional sign-in function builds its redirect_uri from config.json
/// with `$EDGE_AUTH_SITE_URL` (the stack's SiteUrl) as `site.base_url`;
/// authorize, at the edge, from config.json and the distribution's name.
/// The token endpoint refuses a code whose redirect_uri differs from the
/// one the sign-in started with, and Cognito one that is not registered:
/// the three must agree, on a first deploy and on a re-run, with and
/// without a domain. And only the distribution is let in, once it exists.
#[test]
fn the_regional_functions_send_what_authorize_and_the_pool_use() {
    let cloudfront_site = format!("https://{DISTRIBUTION_DOMAIN}");
    let arn = "arn:aws:cloudfront::111122223333:distribution/E2EXAMPLE";
    for settings in [with_domain(), without_domain()] {
        let site = settings.site_url().unwrap_or(cloudfront_site.clone());
        let mut outputs = distribution_outputs(&settings, &site);
        outputs
            .get_mut(&settings.stack_name("distribution"))
            .unwrap()
            .insert("DistributionArn".into(), arn.into());
        outputs.insert(
            settings.stack_name("user-pool"),
            BTreeMap::from([(
                "ClientSecretArn".to_owned(),
                "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x".to_owned(),
            )]),
        );
        let store =
            "arn:aws:cloudfront::111122223333:key-value-store/0a1b2c3d-0000-4000-8000-000000000001";
        outputs.insert(
            settings.stack_name("viewer-function"),
            BTreeMap::from([("KeyValueStoreArn".to_owned(), store.to_owned())]),
        );
        let plan = Plan::new(&settings, Path::new("dist"), Path::new("w"));
        for rerun in [false, true] {
            let existing = if rerun {
                outputs.clone()
            } else {
                Outputs::new()
            };
            // What the tool writes into config.json on this run.
            let written_site = settings
                .site_url()
                .or_else(|| rerun.then(|| cloudfront_site.clone()));
            let config = written_config(&settings, written_site.as_deref());
            let (redirect_uri, _) = sent_urls(&config);

            let auth = deployments(&plan, "-auth-endpoints", &outputs, &existing);
            assert_eq!(auth.len(), 2);
            let last = &auth[1];
            assert_eq!(last["DistributionArn"], arn);
            // Sign-out writes into the store the function reads, from the
            // first deployment on (the viewer-function stack comes first).
            assert!(auth.iter().all(|a| a["KeyValueStoreArn"] == store));
            let mut regional = config_value(&settings, written_site.as_deref());
            regional["site"] = json!({"base_url": last["SiteUrl"]});
            let regional = Config::from_json(&regional.to_string()).unwrap();
            let regional_redirect = format!(
                "{}{}",
                edge_auth_core::flow::site_base(&regional, "").unwrap(),
                regional.paths().signin
            );
            assert_eq!(regional_redirect, redirect_uri, "rerun {rerun}");
            let registered = registrations(&plan, &outputs, &existing);
            assert!(registered.last().unwrap().0.contains(&regional_redirect));

            // First deploy: no distribution yet, so no caller is allowed and
            // no site is known; a re-run passes both from the start and the
            // second deployment changes nothing (the tool skips it).
            if rerun || settings.site_url().is_some() {
                assert_eq!(auth[0]["SiteUrl"], site);
            } else {
                assert_eq!(auth[0]["SiteUrl"], "");
            }
            assert_eq!(auth[0]["DistributionArn"] == arn, rerun);
            assert_eq!(auth[0] == auth[1], rerun);
            // What the runner does with that: the second deployment goes
            // to CloudFormation only when something changed.
            let as_list = |p: &BTreeMap<String, String>| -> Vec<(String, String)> {
                p.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            };
            let mut deployed = edge_auth_deploy::plan::Deployed::default();
            let stack = settings.stack_name("auth-endpoints");
            assert!(deployed.needs(&stack, &as_list(&auth[0])));
            deployed.record(&stack, as_list(&auth[0]));
            assert_eq!(deployed.needs(&stack, &as_list(&auth[1])), !rerun);
        }
    }
}

/// The secret name the tool frees before a first user-pool deployment is
/// the one the template gives the secret.
#[test]
fn the_secret_name_freed_is_the_one_the_template_creates() {
    let text = std::fs::read_to_string(root().join("sam/user-pool/template.yaml")).unwrap();
    assert!(text.contains("Name: !Sub \"${AppName}/${Environment}/app-client\""));
    let settings = with_domain();
    let plan = Plan::new(&settings, Path::new("dist"), Path::new("w"));
    let freed: Vec<_> = plan
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::FreeSecretName { name, stack, .. } => Some((name.clone(), stack.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        freed,
        [(
            format!(
                "{}/{}/app-client",
                settings.application, settings.environment
            ),
            settings.stack_name("user-pool")
        )]
    );
    // Before the pool's first deployment, which creates the secret.
    let first_pool = plan
        .steps
        .iter()
        .position(|s| matches!(s, Step::DeployStack { stack, .. } if stack.ends_with("user-pool")))
        .unwrap();
    assert!(matches!(
        plan.steps[first_pool - 1],
        Step::FreeSecretName { .. }
    ));
}

/// SES e-mail for the pool and CloudFront access logs: off by default (the
/// parameters passed empty, so CloudFormation turns them off again when a
/// setting is removed), and when set, the values reach the templates.
#[test]
fn pool_email_and_access_logs_reach_the_templates() {
    let values = |settings: &Settings| -> BTreeMap<String, String> {
        let plan = Plan::new(settings, Path::new("dist"), Path::new("w"));
        let mut found = BTreeMap::new();
        for step in &plan.steps {
            if let Step::DeployStack { parameters, .. } = step {
                for (k, v) in parameters {
                    if let Value::Known(v) = v {
                        found.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        found
    };
    let off = values(&with_domain());
    for name in ["EmailFrom", "EmailSourceArn", "LogBucket", "LogPrefix"] {
        assert_eq!(off[name], "", "{name} off by default");
    }
    let text = std::fs::read_to_string(root().join("deploy/prod.toml")).unwrap()
        + "\n[site.logs]\nbucket = \"docs-logs\"\nprefix = \"edge-auth/prod/\"\n\n[provider.email]\nfrom = \"Docs <no-reply@docs.example.org>\"\nses_identity_arn = \"arn:aws:ses:eu-north-1:123456789012:identity/docs.example.org\"\n";
    // TOML tables: [site.logs] after [site] ... is valid anywhere; write it out.
    let path = std::env::temp_dir().join(format!("email-logs-{}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let settings = Settings::load(&path).unwrap();
    let on = values(&settings);
    assert_eq!(on["EmailFrom"], "Docs <no-reply@docs.example.org>");
    assert_eq!(
        on["EmailSourceArn"],
        "arn:aws:ses:eu-north-1:123456789012:identity/docs.example.org"
    );
    assert_eq!(on["LogBucket"], "docs-logs.s3.amazonaws.com");
    assert_eq!(on["LogPrefix"], "edge-auth/prod/");
    let plan = Plan::new(&settings, Path::new("dist"), Path::new("w"));
    assert_eq!(
        edge_auth_deploy::plan::check_parameters(&plan, &root().join("sam")),
        Ok(())
    );
    // And the command line carries the From address, spaces and angle
    // brackets quoted for SAM and for the shell.
    let text = plan.dry_run_text(&Outputs::new()).unwrap();
    assert!(
        text.contains("'EmailFrom=\"Docs <no-reply@docs.example.org>\"'"),
        "{text}"
    );
}

/// SAM CLI packages every function of a template, whatever its Condition,
/// and stops at a missing file: every CodeUri of every template the plan
/// deploys is a package the plan writes before it (configured, or an empty
/// placeholder for a function the arrangement switches off).
#[test]
fn every_code_uri_of_a_deployed_template_is_written_first() {
    for settings in every_arrangement() {
        let work = Path::new("w");
        let plan = Plan::new(&settings, Path::new("dist"), work);
        let mut written: Vec<std::path::PathBuf> = Vec::new();
        let mut checked = 0;
        for step in &plan.steps {
            match step {
                Step::WriteConfig { packages, into } => {
                    written.extend(packages.iter().map(|p| into.join(p.file_name().unwrap())))
                }
                Step::WritePlaceholders { packages } => written.extend(packages.iter().cloned()),
                Step::DeployStack { template, .. } => {
                    let text = std::fs::read_to_string(
                        root()
                            .join("sam")
                            .join(template.parent().unwrap().file_name().unwrap())
                            .join("template.yaml"),
                    )
                    .unwrap();
                    for line in text.lines() {
                        let Some(uri) = line.trim().strip_prefix("CodeUri: ") else {
                            continue;
                        };
                        // Relative to the staged template, as SAM resolves it.
                        let mut path = template.parent().unwrap().to_path_buf();
                        for part in uri.split('/') {
                            match part {
                                ".." => {
                                    path.pop();
                                }
                                part => path.push(part),
                            }
                        }
                        assert!(
                            written.contains(&path),
                            "{}: {uri} ({}) is not written before it is deployed ({:?})",
                            template.display(),
                            path.display(),
                            settings.auth_endpoints
                        );
                        checked += 1;
                    }
                }
                _ => {}
            }
        }
        // A site table has the regional functions only.
        let least = if settings.sites.is_empty() { 5 } else { 3 };
        assert!(checked >= least, "{checked}");
    }
}

/// No 403 window on a first deploy: the auth endpoints' first deployment
/// has no distribution ARN yet, so the grants it makes must not depend on
/// one. They are unconditional, limited to this account's distributions
/// (SourceAccount, and a SourceArn of this account's distributions) until
/// the second deployment names the distribution.
#[test]
fn the_first_auth_endpoints_deployment_already_admits_cloudfront() {
    let text = std::fs::read_to_string(root().join("sam/auth-endpoints/template.yaml")).unwrap();
    // The Resources section's entries: a line indented by two spaces starts one.
    let mut blocks: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("  ") && !line.starts_with("   ") || !line.starts_with(' ') {
            blocks.push(String::new());
        }
        if let Some(block) = blocks.last_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    let grants: Vec<&String> = blocks
        .iter()
        .filter(|block| block.contains("Type: AWS::Lambda::Permission"))
        .collect();
    assert_eq!(grants.len(), 6);
    for grant in &grants {
        // Off only for a site table (its grants stacks grant each site).
        assert!(
            !grant.contains("Condition:") || grant.contains("Condition: OwnGrants\n"),
            "a grant that waits for the ARN:\n{grant}"
        );
        assert!(
            grant.contains("SourceAccount: !Ref AWS::AccountId"),
            "{grant}"
        );
        assert!(
            grant.contains(
                "SourceArn: !If [HasDistribution, !Ref DistributionArn, !Sub \"arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*\"]"
            ),
            "{grant}"
        );
    }
    for settings in [with_domain(), without_domain()] {
        let plan = Plan::new(&settings, Path::new("dist"), Path::new("w"));
        let auth: Vec<&Vec<(String, Value)>> = plan
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::DeployStack {
                    stack, parameters, ..
                } if stack.ends_with("-auth-endpoints") => Some(parameters),
                _ => None,
            })
            .collect();
        let arn = |p: &Vec<(String, Value)>| {
            resolve(
                &p.iter().find(|(k, _)| k == "DistributionArn").unwrap().1,
                &Outputs::new(),
                &Outputs::new(),
            )
        };
        // First deploy: the first deployment has no ARN (so the account-wide
        // grant is what admits CloudFront), the second names it.
        assert_eq!(arn(auth[0]), Ok(String::new()));
        assert!(
            arn(auth[1]).is_err(),
            "the second takes the distribution's output"
        );
        // ... and the stack's own grants are on: one site.
        for deployment in &auth {
            let grants = &deployment.iter().find(|(k, _)| k == "Grants").unwrap().1;
            assert_eq!(grants, &Value::Known("stack".into()));
        }
    }
}

/// A deployment's session key set where the deploy tool keeps it.
fn session_keys_of(settings: &Settings) -> SessionKeysLocation {
    SessionKeysLocation {
        name: settings.session_keys_secret_name(),
        region: settings.session_keys_region(),
        keys: edge_auth_core::session::SessionKeySet {
            signing_kid: edge_auth_testkit::SESSION_KID.into(),
            keys: vec![edge_auth_testkit::session_key_file()],
            retire_after: Default::default(),
            revoked: Default::default(),
        },
    }
}

/// What the signers read is what the templates let them read: the session
/// key secret config.json names matches the `GetSecretValue` grant of the
/// roles of signin, refresh and signout, in both templates that hold them,
/// and its region is where the regional functions run.
#[test]
fn the_session_key_secret_the_config_names_is_the_one_the_roles_may_read() {
    for file in ["prod.toml", "preview.toml"] {
        let settings = Settings::load(&root().join("deploy").join(file)).unwrap();
        let config = written_config(&settings, Some("https://docs.example.com"));
        let edge_auth_core::config::SecretSource::SecretsManager {
            secret_id, region, ..
        } = &config.file.session.signing_keys
        else {
            panic!("{file}: the signers read the session keys from Secrets Manager")
        };
        // The client secret's region: the pool's stack region for Cognito.
        assert_eq!(region, &settings.session_keys_region());
        assert_eq!(region, &settings.regions.user_pool);
        // Key ids only: the material is read from the secret.
        assert_eq!(config.session_kids(), [edge_auth_testkit::SESSION_KID]);
        assert!(
            config.file.session.keys.is_empty(),
            "{file}: key material in config.json"
        );
        let arn = format!("arn:aws:secretsmanager:{region}:111122223333:secret:{secret_id}-AbCdEf");
        // The region the templates grant: the one in ClientSecretArn, which
        // the user-pool stack in `regions.user_pool` puts out.
        let client_secret_region = settings.regions.user_pool.clone();
        for template in [
            "sam/auth-endpoints/template.yaml",
            "sam/edge-functions/template.yaml",
        ] {
            let text = std::fs::read_to_string(root().join(template)).unwrap();
            let line = text
                .lines()
                .find(|l| l.contains(":secret:${AppName}/${Environment}/session-keys"))
                .unwrap_or_else(|| panic!("{template} grants no session key secret"));
            assert!(
                text.contains(r#"SecretRegion: !Select [3, !Split [":", !Ref ClientSecretArn]]"#),
                "{template}: the grant's region is the client secret's"
            );
            let pattern = line
                .trim()
                .trim_start_matches("- ")
                .trim_matches('"')
                .replace("${AWS::Partition}", "aws")
                .replace("${SecretRegion}", &client_secret_region)
                .replace("${AWS::AccountId}", "111122223333")
                .replace("${AppName}", &settings.application)
                .replace("${Environment}", &settings.environment);
            assert!(
                iam_match(&pattern, &arn),
                "{file}: {template} grants {pattern}, the signers read {arn}"
            );
        }
    }
}

/// IAM's ARN wildcards: `*` any run of characters, `?` exactly one.
fn iam_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).any(|i| go(&p[1..], &t[i..])),
            Some('?') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}
