//! The deployment as a list of steps, computed from the settings alone, so
//! that `--dry-run` shows exactly what a real run would do.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::settings::{AuthEndpoints, Authorizer, Provider, Settings, SiteEntry};

mod site_table;

pub const EDGE_REGION: &str = "us-east-1";
/// The Lambda@Edge packages with `authorizer = "lambda-edge"`.
pub const EDGE_PACKAGES: [&str; 2] = ["authorize", "index-path"];
/// The provider-facing handlers: regional `bootstrap` zips by default,
/// Lambda@Edge packages with `auth_endpoints = "edge"`.
pub const AUTH_PACKAGES: [&str; 3] = ["signin", "refresh", "signout"];
/// The packages that run at viewer request (the distribution template's
/// viewer-request association), held to Lambda@Edge's 1 MB limit.
pub const VIEWER_PACKAGES: [&str; 1] = ["authorize"];

/// A value known now, or one a stack output will provide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Known(String),
    /// A stack output, followed by `suffix` (a path after a URL output).
    Output {
        stack: String,
        key: String,
        suffix: String,
    },
    /// The output of a stack that already existed when the run began
    /// (followed by `suffix`), or `otherwise` when that stack is new: the
    /// pool's URLs on a re-run without a custom domain are the distribution's
    /// real URL, never the first deploy's placeholder.
    ExistingOutput {
        stack: String,
        key: String,
        suffix: String,
        otherwise: String,
    },
    /// While the site moves (a custom domain switched on or off): the
    /// first value and, where the second resolves to another `https://`
    /// URL, that one too, comma-separated (the provider's callback and
    /// sign-out URLs keep the old address until the move is done).
    Both(Box<Value>, Box<Value>),
}

/// Stack outputs by stack name.
pub type Outputs = BTreeMap<String, BTreeMap<String, String>>;

/// `value` with the outputs of this run's stacks (`outputs`) and of the stacks
/// that existed before it began (`existing`).
pub fn resolve(value: &Value, outputs: &Outputs, existing: &Outputs) -> Result<String, String> {
    let find =
        |from: &Outputs, stack: &str, key: &str| from.get(stack).and_then(|o| o.get(key)).cloned();
    match value {
        Value::Known(v) => Ok(v.clone()),
        Value::Output { stack, key, suffix } => find(outputs, stack, key)
            .map(|v| format!("{v}{suffix}"))
            .ok_or_else(|| format!("stack {stack} has no output {key}")),
        Value::ExistingOutput {
            stack,
            key,
            suffix,
            otherwise,
        } => Ok(match find(existing, stack, key) {
            Some(v) => format!("{v}{suffix}"),
            None => format!("{otherwise}{suffix}"),
        }),
        Value::Both(first, also) => {
            let first = resolve(first, outputs, existing)?;
            let also = resolve(also, outputs, existing)?;
            Ok(if also.starts_with("https://") && also != first {
                format!("{first},{also}")
            } else {
                first
            })
        }
    }
}

impl Value {
    /// This value followed by `suffix`.
    pub fn with_suffix(&self, more: &str) -> Value {
        match self {
            Value::Known(v) => Value::Known(format!("{v}{more}")),
            Value::Output { stack, key, suffix } => Value::Output {
                stack: stack.clone(),
                key: key.clone(),
                suffix: format!("{suffix}{more}"),
            },
            Value::ExistingOutput {
                stack,
                key,
                suffix,
                otherwise,
            } => Value::ExistingOutput {
                stack: stack.clone(),
                key: key.clone(),
                suffix: format!("{suffix}{more}"),
                otherwise: otherwise.clone(),
            },
            Value::Both(first, also) => Value::Both(
                Box::new(first.with_suffix(more)),
                Box::new(also.with_suffix(more)),
            ),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Known(v) => f.write_str(v),
            Value::Output { stack, key, suffix } => write!(f, "<{stack}.{key}>{suffix}"),
            Value::ExistingOutput {
                stack,
                key,
                suffix,
                otherwise,
            } => write!(
                f,
                "<{stack}.{key} if that stack exists, else {}>{suffix}",
                if otherwise.is_empty() {
                    "empty"
                } else {
                    otherwise
                }
            ),
            Value::Both(first, also) => write!(f, "{first}[,{also} while the site moves]"),
        }
    }
}

/// The stacks deployed so far in a run, with the parameters they were given.
/// A second deployment of a stack with the same parameters (the auth
/// endpoints on every re-run: their site URL and distribution ARN were
/// already known) is skipped rather than sent to CloudFormation as an empty
/// change set.
#[derive(Debug, Default)]
pub struct Deployed(BTreeMap<String, Vec<(String, String)>>);

impl Deployed {
    /// Whether `stack` still has to be deployed with `parameters`.
    pub fn needs(&self, stack: &str, parameters: &[(String, String)]) -> bool {
        self.0.get(stack).map(Vec::as_slice) != Some(parameters)
    }

    pub fn record(&mut self, stack: &str, parameters: Vec<(String, String)>) {
        self.0.insert(stack.to_owned(), parameters);
    }
}

/// Where the provider sends the browser back to, below the site's URL: the
/// functions' redirect_uri and the sign-out's logout_uri, exactly (Cognito
/// accepts only registered URLs, to the letter).
pub const CALLBACK_PATH: &str = "/_edge-auth/callback";
pub const SIGNED_OUT_PATH: &str = "/signed-out.html";
/// Before the distribution exists its URL is unknown; Cognito needs some
/// URL, and this one can never receive a code.
pub const PLACEHOLDER_SITE: &str = "https://placeholder.invalid";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    DeployStack {
        stack: String,
        template: PathBuf,
        region: String,
        parameters: Vec<(String, Value)>,
        /// Stack tags; CloudFormation copies them to every resource that
        /// takes tags.
        tags: Vec<(String, String)>,
    },
    /// Before a first deployment of the user pool: a secret of the name
    /// the stack will create, left scheduled for deletion by a destroyed
    /// deployment, is deleted for good (`aws::clear_deleted_secret`).
    FreeSecretName {
        stack: String,
        name: String,
        region: String,
    },
    FetchProvider {
        discovery_url: Value,
    },
    /// The session key set: read, created on a first deploy, keys whose
    /// sessions have all expired dropped (`crate::session_keys`).
    SessionKeys {
        name: String,
        region: String,
    },
    WriteConfig {
        packages: Vec<PathBuf>,
        into: PathBuf,
    },
    /// The CloudFront Function rendered by the core from config.json (its
    /// rules, paths and pages) into the staged distribution template, in
    /// place of the template's placeholder (`template::with_viewer_function`).
    RenderViewerFunction {
        template: PathBuf,
    },
    /// The pool's corporate identity providers (`[[provider.federation]]`)
    /// into the staged user-pool template: one resource each, named by
    /// the app client (`crate::federation::render`). `providers`: what the
    /// dry run says of each, and of the pool's own users.
    RenderUserPool {
        template: PathBuf,
        providers: Vec<String>,
    },
    /// The session verify keys into the function's key value store,
    /// `key:<kid>` for each key of the set; `key:` entries of keys no longer
    /// in the set are deleted (`aws::write_key_value_store`). Before the
    /// function is published: nothing relies on a key the store lacks.
    WriteKeyValueStore {
        store: Value,
        /// A site table's hosts: `site:<host>` each (rules, public paths
        /// and keys); `site:` entries of other hosts are deleted.
        sites: Vec<String>,
        /// The sites' preview domains: the branches' entries found under
        /// them (`preview upload`'s) are written again, not deleted.
        previews: Vec<String>,
    },
    /// CloudFront's own runtime runs the staged (DEVELOPMENT) function on
    /// the fixed probes (`edge_auth_core::function_probe`) with the store
    /// just written; any answer other than the core's, an error, or a
    /// compute utilization over the limit stops the deploy before anything
    /// is published (`crate::viewer_function`).
    TestViewerFunction {
        function: Value,
        max_compute_utilization: u32,
        /// A site table's first host, where the probes go.
        first_site: Option<String>,
    },
    /// The tested code to the LIVE stage (`PublishFunction`), unless LIVE
    /// already runs it.
    PublishViewerFunction {
        function: Value,
    },
    /// The edge-functions stack an earlier `authorizer = "lambda-edge"`
    /// deployment left: not deleted by a deploy (Lambda refuses while
    /// CloudFront still holds replicas, for hours after the distribution
    /// stops using them); the run says whether it is there and how to
    /// delete it.
    RetiredStack {
        stack: String,
        region: String,
    },
    /// Empty packages where a template names code for a function its
    /// conditions switch off: SAM CLI packages every function of a
    /// template, whatever its Condition, and stops at a missing file.
    WritePlaceholders {
        packages: Vec<PathBuf>,
    },
    /// The log groups the monitoring stack's metric filters read, made
    /// where missing (Lambda and CloudFront make theirs only at the first
    /// line, and name them), and their retention set
    /// (`aws::ensure_log_groups`).
    EnsureLogGroups {
        groups: Vec<String>,
        region: String,
        retention_days: i32,
    },
    /// The pool's second factor (`[provider] mfa`), through Cognito's API
    /// (`aws::set_pool_mfa`): CloudFormation is reported unable to move
    /// `MfaConfiguration` on an existing pool, so the template keeps its
    /// first value and the tool sets the live one after every pool step.
    PoolMfa {
        pool: Value,
        region: String,
        mfa: crate::settings::PoolMfa,
    },
    /// Upload new and changed files, delete objects no longer in the site.
    SyncSite {
        bucket: Value,
        directory: PathBuf,
        region: String,
    },
    Invalidate {
        distribution: Value,
    },
    /// A site table's sites no longer in the settings: each found by its
    /// stacks (`<app>-<env>-site-<name>`), its bucket emptied, its
    /// distribution stack and its grants stack deleted.
    RemoveSites {
        prefix: String,
        grants_prefix: String,
        keep: Vec<String>,
        region: String,
        grants_region: String,
    },
    Announce {
        url: Value,
    },
}

pub struct Plan {
    pub steps: Vec<Step>,
}

fn output(stack: &str, key: &str) -> Value {
    Value::Output {
        stack: stack.into(),
        key: key.into(),
        suffix: String::new(),
    }
}

impl Plan {
    /// `packages`: the generic edge zips, with the regional ones in
    /// `packages/regional`; `work`: where templates and configured zips are
    /// staged side by side (the templates' CodeUri is
    /// `../../dist/configured/[regional/]<name>.zip`).
    pub fn new(settings: &Settings, packages: &Path, work: &Path) -> Self {
        Self::with_regional_packages(settings, packages, &packages.join("regional"), work)
    }

    /// As `new`, with the regional zips in their own folder (the flake
    /// builds them as a package of their own).
    pub fn with_regional_packages(
        settings: &Settings,
        packages: &Path,
        regional_packages: &Path,
        work: &Path,
    ) -> Self {
        let templates = &work.join("sam");
        let user_pool = settings.stack_name("user-pool");
        let edge = settings.stack_name("edge-functions");
        let auth = settings.stack_name("auth-endpoints");
        let distribution = settings.stack_name("distribution");
        let regional = settings.auth_endpoints == AuthEndpoints::Regional;
        // A site table (`[[sites]]`): the shared policies, and a
        // distribution stack and a grants stack per site, in place of the
        // one distribution stack (`site_table`).
        let table = !settings.sites.is_empty();
        // The default: no Lambda@Edge and no us-east-1 stack at all.
        let function = settings.authorizer == Authorizer::CloudfrontFunction;
        let base = |k: &str, v: &str| (k.to_owned(), Value::Known(v.to_owned()));
        let names = vec![
            base("AppName", &settings.application),
            base("Environment", &settings.environment),
        ];
        let mut steps = Vec::new();

        // The settings' tags, then the tool's version and commit, which
        // `status` reads back.
        let mut tags = settings.tags();
        tags.extend(crate::release::tags());
        // Without a custom domain the CloudFront name is only known after the
        // distribution exists. A re-run takes it from the existing
        // distribution stack; only a first deploy registers a placeholder,
        // and the pool learns the real URLs at the end.
        let site = settings
            .site_url()
            .or_else(|| settings.sites.first().map(SiteEntry::url))
            .map(Value::Known)
            .unwrap_or_else(|| output(&distribution, "SiteUrl"));
        // A distribution output before the distribution step: the existing
        // stack's, or `otherwise` on a first deploy.
        let existing_or = |key: &str, otherwise: &str| Value::ExistingOutput {
            stack: distribution.clone(),
            key: key.into(),
            suffix: String::new(),
            otherwise: otherwise.into(),
        };
        // Before the distribution step, the provider takes the site's new
        // address and, if the existing distribution answers at another
        // (a custom domain switched on or off), that one too: sign-ins
        // keep working on both while CloudFront moves. The pool's last
        // step drops the old one.
        let moving = match &site {
            Value::Known(url) => Value::Both(
                Box::new(Value::Known(url.clone())),
                Box::new(existing_or("SiteUrl", "")),
            ),
            // Without a custom domain the new address is the
            // distribution's own; the old one, its SiteUrl (a custom
            // domain being switched off).
            _ => Value::Both(
                Box::new(existing_or("SiteUrl", PLACEHOLDER_SITE)),
                Box::new(existing_or("CloudFrontUrl", "")),
            ),
        };
        let pool_parameters = |site: &Value| -> Vec<(String, Value)> {
            let mut p = names.clone();
            if let Provider::Cognito {
                hosted_domain_prefix,
                admin_group,
                id_token_validity_minutes,
                refresh_token_validity_days,
                refresh_token_rotation,
                refresh_token_rotation_grace_seconds,
                email,
                ..
            } = &settings.provider
            {
                p.push(base(
                    "EmailFrom",
                    email.as_ref().map_or("", |e| e.from.as_str()),
                ));
                p.push(base(
                    "EmailSourceArn",
                    email.as_ref().map_or("", |e| e.ses_identity_arn.as_str()),
                ));
                p.push(base("HostedDomainPrefix", hosted_domain_prefix));
                p.push(base("AdminGroupName", admin_group));
                p.push(base(
                    "IdTokenValidityMinutes",
                    &id_token_validity_minutes.to_string(),
                ));
                p.push(base(
                    "RefreshTokenValidityDays",
                    &refresh_token_validity_days.to_string(),
                ));
                p.push(base(
                    "RefreshTokenRotation",
                    if *refresh_token_rotation {
                        "ENABLED"
                    } else {
                        "DISABLED"
                    },
                ));
                p.push(base(
                    "RefreshTokenRotationGraceSeconds",
                    &refresh_token_rotation_grace_seconds.to_string(),
                ));
            }
            if let Some([login, plan, factors, passkeys]) = settings.pool_login() {
                p.push(base("LoginPages", &login));
                p.push(base("FeaturePlan", &plan));
                p.push(base("FirstAuthFactors", &factors));
                p.push(base("Passkeys", &passkeys));
            }
            if table {
                // Every site's, known from the settings: a removed site's
                // go with it. The callbacks of the sites that sign in at
                // their own address only: a group's other sites hand their
                // sign-ins to its sign-in site.
                let each = |suffix: &str, all: bool| {
                    Value::Known(
                        settings
                            .sites
                            .iter()
                            .filter(|s| all || settings.signs_in_itself(s))
                            .map(|s| format!("{}{suffix}", s.url()))
                            .collect::<Vec<_>>()
                            .join(","),
                    )
                };
                p.push(("CallbackUrls".into(), each(CALLBACK_PATH, false)));
                p.push(("LogoutUrls".into(), each(SIGNED_OUT_PATH, true)));
            } else {
                p.push(("CallbackUrls".into(), site.with_suffix(CALLBACK_PATH)));
                p.push(("LogoutUrls".into(), site.with_suffix(SIGNED_OUT_PATH)));
            }
            p
        };

        let (discovery, secret_arn) = match &settings.provider {
            Provider::Cognito { .. } => {
                steps.push(Step::FreeSecretName {
                    stack: user_pool.clone(),
                    name: settings.client_secret_name(),
                    region: settings.regions.user_pool.clone(),
                });
                // Corporate providers rendered in; without them the
                // template as it is (its markers are comments, its client
                // the pool's own users').
                let (native, federation) = settings.federation();
                if !federation.is_empty() {
                    steps.push(Step::RenderUserPool {
                        template: templates.join("user-pool/template.yaml"),
                        providers: crate::federation::describe(federation, native),
                    });
                }
                steps.push(Step::DeployStack {
                    stack: user_pool.clone(),
                    template: templates.join("user-pool/template.yaml"),
                    region: settings.regions.user_pool.clone(),
                    parameters: pool_parameters(&moving),
                    tags: tags.clone(),
                });
                (
                    output(&user_pool, "DiscoveryUrl"),
                    output(&user_pool, "ClientSecretArn"),
                )
            }
            Provider::Oidc {
                discovery_url,
                client_secret_arn,
                ..
            } => (
                Value::Known(discovery_url.clone()),
                Value::Known(client_secret_arn.clone()),
            ),
        };
        steps.push(Step::FetchProvider {
            discovery_url: discovery,
        });
        steps.push(Step::SessionKeys {
            name: settings.session_keys_secret_name(),
            region: settings.session_keys_region(),
        });
        let configured = work.join("dist").join("configured");
        let zips = |dir: &Path, names: &[&str]| -> Vec<PathBuf> {
            names.iter().map(|p| dir.join(format!("{p}.zip"))).collect()
        };
        if !function {
            let mut edge_zips = zips(packages, &EDGE_PACKAGES);
            if !regional {
                edge_zips.extend(zips(packages, &AUTH_PACKAGES));
            }
            steps.push(Step::WriteConfig {
                packages: edge_zips,
                into: configured.clone(),
            });
        }
        if regional {
            steps.push(Step::WriteConfig {
                packages: zips(regional_packages, &AUTH_PACKAGES),
                into: configured.clone().join("regional"),
            });
        }
        let viewer = settings.stack_name("viewer-function");
        if function {
            // The function and its store: the keys in the store and the
            // staged code tested by CloudFront's runtime before anything is
            // published, and published before the distribution uses it.
            let template = templates.join("viewer-function/template.yaml");
            steps.push(Step::RenderViewerFunction {
                template: template.clone(),
            });
            steps.push(Step::DeployStack {
                stack: viewer.clone(),
                template,
                region: settings.regions.distribution.clone(),
                parameters: names.clone(),
                tags: tags.clone(),
            });
            steps.push(Step::WriteKeyValueStore {
                store: output(&viewer, "KeyValueStoreArn"),
                sites: settings.sites.iter().map(|s| s.domain.clone()).collect(),
                previews: settings
                    .sites
                    .iter()
                    .filter_map(|s| s.preview.as_ref().map(|p| p.domain.clone()))
                    .collect(),
            });
            steps.push(Step::TestViewerFunction {
                function: output(&viewer, "FunctionName"),
                max_compute_utilization: settings.function.max_compute_utilization,
                first_site: settings.sites.first().map(|s| s.domain.clone()),
            });
            steps.push(Step::PublishViewerFunction {
                function: output(&viewer, "FunctionName"),
            });
        } else {
            if regional {
                // The edge-functions template's origin-request functions,
                // off in this arrangement (AuthAtEdge false).
                steps.push(Step::WritePlaceholders {
                    packages: zips(&configured, &AUTH_PACKAGES),
                });
            }
            let mut edge_parameters = names.clone();
            edge_parameters.push(base("AuthEndpoints", settings.auth_endpoints.as_str()));
            edge_parameters.push(("ClientSecretArn".into(), secret_arn.clone()));
            steps.push(Step::DeployStack {
                stack: edge.clone(),
                template: templates.join("edge-functions/template.yaml"),
                region: EDGE_REGION.into(),
                parameters: edge_parameters,
                tags: tags.clone(),
            });
        }
        // The regional functions are told the site's address and the one
        // distribution that may call them. Both exist only after the
        // distribution stack: a first deploy creates the functions with
        // neither (they refuse to start a sign-in, and nothing may call
        // them), and the step after the distribution fills them in. A
        // re-run passes the existing values from the start, so the second
        // deployment finds nothing to change and is skipped.
        // The viewer-function stack's outputs the later stacks take; none
        // with Lambda@Edge.
        let viewer_output = |key: &str| {
            if function {
                output(&viewer, key)
            } else {
                Value::Known(String::new())
            }
        };
        let auth_parameters = |site: Value, distribution_arn: Value| {
            let mut p = names.clone();
            p.push(("ClientSecretArn".into(), secret_arn.clone()));
            // A table's functions take each site's address from config.json
            // (the site its distribution names), and each site's grants
            // stack grants its distribution.
            if table {
                p.push(base("SiteUrl", ""));
                p.push(base("DistributionArn", ""));
                p.push(base("Grants", "per-site"));
            } else {
                p.push(("SiteUrl".into(), site));
                p.push(("DistributionArn".into(), distribution_arn));
                p.push(base("Grants", "stack"));
            }
            // Where sign-out ends a session at the edge.
            p.push(("KeyValueStoreArn".into(), viewer_output("KeyValueStoreArn")));
            p.push(base(
                "AuthConcurrency",
                &settings.auth_concurrency.to_string(),
            ));
            p
        };
        if regional {
            steps.push(Step::DeployStack {
                stack: auth.clone(),
                template: templates.join("auth-endpoints/template.yaml"),
                region: settings.regions.user_pool.clone(),
                // The address the existing distribution answers at: with a
                // custom domain just switched on or off, the new one works
                // only once the distribution step is done.
                parameters: auth_parameters(
                    existing_or(
                        "SiteUrl",
                        match &site {
                            Value::Known(url) => url,
                            _ => "",
                        },
                    ),
                    existing_or("DistributionArn", ""),
                ),
                tags: tags.clone(),
            });
        }
        let mut dist_parameters = names.clone();
        dist_parameters.push(base("Authorizer", settings.authorizer.as_str()));
        dist_parameters.push(("ViewerFunctionArn".into(), viewer_output("FunctionArn")));
        // Each of these parameters is the output of the same name.
        for key in ["AuthorizeVersionArn", "IndexPathVersionArn"] {
            dist_parameters.push((
                key.into(),
                if function {
                    Value::Known(String::new())
                } else {
                    output(&edge, key)
                },
            ));
        }
        dist_parameters.push(base("AuthEndpoints", settings.auth_endpoints.as_str()));
        let (auth_outputs, from) = if regional {
            (
                [
                    "SigninOriginDomain",
                    "RefreshOriginDomain",
                    "SignoutOriginDomain",
                ],
                &auth,
            )
        } else {
            (
                ["SigninVersionArn", "RefreshVersionArn", "SignoutVersionArn"],
                &edge,
            )
        };
        for key in auth_outputs {
            dist_parameters.push((key.into(), output(from, key)));
        }
        // Every parameter of the template on every deployment: SAM sends
        // `UsePreviousValue` for one left out, so a domain removed from the
        // settings would keep its alias, certificate and DNS records.
        let unused_auth_outputs: &[&str] = if regional {
            &["SigninVersionArn", "RefreshVersionArn", "SignoutVersionArn"]
        } else {
            &[
                "SigninOriginDomain",
                "RefreshOriginDomain",
                "SignoutOriginDomain",
            ]
        };
        for key in unused_auth_outputs {
            dist_parameters.push(base(key, ""));
        }
        let site_settings = &settings.site;
        dist_parameters.push(base(
            "DomainName",
            site_settings.domain.as_deref().unwrap_or(""),
        ));
        dist_parameters.push(base(
            "CertificateArn",
            site_settings.certificate_arn.as_deref().unwrap_or(""),
        ));
        dist_parameters.push(base(
            "HostedZoneId",
            site_settings.hosted_zone_id.as_deref().unwrap_or(""),
        ));
        dist_parameters.push(base("PriceClass", &settings.site.price_class));
        let logs = settings.site.logs.as_ref();
        dist_parameters.push(base(
            "LogBucket",
            &logs.map_or(String::new(), |l| l.bucket_domain()),
        ));
        dist_parameters.push(base("LogPrefix", logs.map_or("", |l| l.prefix.as_str())));
        // The behaviours for the functions' paths are the paths the core
        // serves, passed explicitly rather than trusted to the template's
        // defaults.
        let paths = edge_auth_core::config::PathSettings::default();
        dist_parameters.push(base("SigninPath", &paths.signin));
        dist_parameters.push(base("SigninStartPath", &paths.start));
        dist_parameters.push(base("RefreshPath", &paths.refresh));
        dist_parameters.push(base("SignoutPath", &paths.signout));
        // The exchange's behaviour only where a trust policy is set.
        let exchanges = !settings.trust_policies().is_empty();
        dist_parameters.push(base("TokenPath", if exchanges { &paths.token } else { "" }));
        // And the shared links' endpoint only with `[shares]`.
        let shares = settings.shares.is_some();
        dist_parameters.push(base("SharePath", if shares { &paths.share } else { "" }));
        dist_parameters.push(base("SiteName", ""));
        // One site: its stack makes its own access controls and policies.
        dist_parameters.push(base("Part", "whole"));
        for key in site_table::SHARED_POLICY_OUTPUTS {
            dist_parameters.push(base(key, ""));
        }
        // The optional rate limit: a web ACL CloudFront takes only from
        // us-east-1, deployed before the distribution that names it.
        let waf = settings.stack_name("waf");
        if let Some(limit) = &settings.rate_limit {
            let mut waf_parameters = names.clone();
            waf_parameters.push(base("AuthPathPrefix", &auth_path_prefix(&paths)));
            waf_parameters.push(base("AuthRateLimit", &limit.auth_requests.to_string()));
            waf_parameters.push(base(
                "AuthRateWindowSeconds",
                &limit.window_seconds.to_string(),
            ));
            steps.push(Step::DeployStack {
                stack: waf.clone(),
                template: templates.join("waf/template.yaml"),
                region: EDGE_REGION.into(),
                parameters: waf_parameters,
                tags: tags.clone(),
            });
            dist_parameters.push(("WebAclArn".into(), output(&waf, "WebAclArn")));
        } else {
            dist_parameters.push(base("WebAclArn", ""));
        }
        if table {
            steps.extend(site_table::distribution_steps(
                settings,
                templates,
                &dist_parameters,
                &auth,
                &tags,
            ));
        } else {
            steps.push(Step::DeployStack {
                stack: distribution.clone(),
                template: templates.join("distribution/template.yaml"),
                region: settings.regions.distribution.clone(),
                parameters: dist_parameters,
                tags: tags.clone(),
            });
        }
        if function {
            steps.push(Step::RetiredStack {
                stack: edge,
                region: EDGE_REGION.into(),
            });
        }
        if regional && !table {
            steps.push(Step::DeployStack {
                stack: auth.clone(),
                template: templates.join("auth-endpoints/template.yaml"),
                region: settings.regions.user_pool.clone(),
                parameters: auth_parameters(site.clone(), output(&distribution, "DistributionArn")),
                tags: tags.clone(),
            });
        }
        // The pool's URLs, final: the distribution's real address on a
        // first deploy without a custom domain, and only the new address
        // after a move. Skipped by the run when they are what the first
        // pool step already gave.
        if let Provider::Cognito { mfa, .. } = &settings.provider {
            steps.push(Step::DeployStack {
                stack: user_pool.clone(),
                template: templates.join("user-pool/template.yaml"),
                region: settings.regions.user_pool.clone(),
                parameters: pool_parameters(&site),
                tags: tags.clone(),
            });
            steps.push(Step::PoolMfa {
                pool: output(&user_pool, "UserPoolId"),
                region: settings.regions.user_pool.clone(),
                mfa: *mfa,
            });
        }
        if let Some(monitoring) = &settings.monitoring {
            steps.extend(monitoring_steps(
                settings,
                monitoring,
                &names,
                output(&distribution, "DistributionId"),
                &templates.join("monitoring/template.yaml"),
                &tags,
            ));
        }
        if table {
            steps.extend(site_table::content_steps(settings));
        } else {
            steps.push(Step::SyncSite {
                bucket: output(&distribution, "BucketName"),
                directory: settings.site.directory.clone(),
                region: settings.regions.distribution.clone(),
            });
            steps.push(Step::Invalidate {
                distribution: output(&distribution, "DistributionId"),
            });
        }
        let announced = if table {
            Value::Known(
                settings
                    .sites
                    .iter()
                    .map(SiteEntry::url)
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        } else {
            site
        };
        steps.push(Step::Announce { url: announced });
        Self { steps }
    }
}

/// `[monitoring]`: the log groups, then the monitoring stack in us-east-1
/// (the CloudFront Function's metrics and log group are there, and the
/// dashboard) and, with the regional auth functions, the one in their
/// region (Lambda's metrics and the functions' log groups). After the
/// distribution (the 5xx alarm names it) and the auth functions.
fn monitoring_steps(
    settings: &Settings,
    monitoring: &crate::settings::Monitoring,
    names: &[(String, Value)],
    distribution_id: Value,
    template: &Path,
    tags: &[(String, String)],
) -> Vec<Step> {
    let known = |k: &str, v: String| (k.to_owned(), Value::Known(v));
    let prefix = format!("{}-{}", settings.application, settings.environment);
    let pool_region = settings.regions.user_pool.clone();
    let parameters = |part: &str| {
        let mut p = names.to_vec();
        p.push(known("Part", part.into()));
        p.push(known("Authorizer", settings.authorizer.as_str().into()));
        p.push(known("AuthRegion", pool_region.clone()));
        p.push(("DistributionId".into(), distribution_id.clone()));
        for (key, value) in [
            ("AlarmEmail", monitoring.email.clone().unwrap_or_default()),
            (
                "ComputeUtilization",
                monitoring.compute_utilization.to_string(),
            ),
            ("RefusedSessions", monitoring.refused_sessions.to_string()),
            ("SigninFailures", monitoring.signin_failures.to_string()),
            ("AuthP99Milliseconds", monitoring.auth_p99_ms.to_string()),
            (
                "ErrorRatePercent",
                monitoring.error_rate_percent.to_string(),
            ),
        ] {
            p.push(known(key, value));
        }
        p
    };
    let mut steps = Vec::new();
    if settings.authorizer == Authorizer::CloudfrontFunction {
        steps.push(Step::EnsureLogGroups {
            groups: vec![function_log_group(settings)],
            region: EDGE_REGION.into(),
            retention_days: monitoring.log_retention_days,
        });
    }
    steps.push(Step::DeployStack {
        stack: settings.stack_name("monitoring-edge"),
        template: template.to_path_buf(),
        region: EDGE_REGION.into(),
        parameters: parameters("edge"),
        tags: tags.to_vec(),
    });
    if settings.auth_endpoints == AuthEndpoints::Regional {
        steps.push(Step::EnsureLogGroups {
            groups: ["signin", "refresh", "signout"]
                .iter()
                .map(|f| format!("/aws/lambda/{prefix}-auth-{f}"))
                .collect(),
            region: pool_region.clone(),
            retention_days: monitoring.log_retention_days,
        });
        steps.push(Step::DeployStack {
            stack: settings.stack_name("monitoring"),
            template: template.to_path_buf(),
            region: pool_region.clone(),
            parameters: parameters("regional"),
            tags: tags.to_vec(),
        });
    }
    steps
}

/// Where CloudFront writes the viewer function's lines (us-east-1; the
/// function is `<app>-<env>-viewer` in the viewer-function template).
pub fn function_log_group(settings: &Settings) -> String {
    format!(
        "/aws/cloudfront/function/{}",
        settings.viewer_function_name()
    )
}

/// What every auth path begins with, up to its last `/` in common: the
/// rate limit's scope (`/_edge-auth/` with the core's paths).
pub fn auth_path_prefix(paths: &edge_auth_core::config::PathSettings) -> String {
    let all = [&paths.signin, &paths.start, &paths.refresh, &paths.signout];
    let first = all[0].as_bytes();
    let common = (0..first.len())
        .take_while(|&i| all.iter().all(|p| p.as_bytes().get(i) == Some(&first[i])))
        .count();
    // A `/` is one byte in UTF-8, so the slice ends on a character.
    match first[..common].iter().rposition(|&b| b == b'/') {
        Some(slash) => all[0][..=slash].to_owned(),
        None => "/".to_owned(),
    }
}

impl Plan {
    /// The packages the plan configures that are not there, each with the
    /// command that builds it (`scripts/package.py`, or `--regional` for the
    /// arm64 `bootstrap` zips; the flake's `edge-zips` and `regional-zips`).
    pub fn missing_packages(&self) -> Vec<String> {
        self.builds()
            .into_iter()
            .flat_map(|build| {
                build
                    .packages
                    .iter()
                    .filter(|p| !p.is_file())
                    .map(|p| {
                        format!(
                            "{} is missing: build it with `{}` (or `nix build .#{}`)",
                            p.display(),
                            build.command,
                            build.nix
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The packages these settings deploy, grouped by the command that
    /// builds them: only the regional zips for the default arrangement,
    /// the edge zips only with Lambda@Edge.
    pub fn builds(&self) -> Vec<Build> {
        let mut builds: Vec<Build> = Vec::new();
        for step in &self.steps {
            let Step::WriteConfig { packages, into } = step else {
                continue;
            };
            let regional = into.ends_with("regional");
            let (command, nix) = if regional {
                ("scripts/package.py --regional", "regional-zips")
            } else {
                ("scripts/package.py", "edge-zips")
            };
            match builds.iter_mut().find(|b| b.command == command) {
                Some(build) => build.packages.extend(packages.iter().cloned()),
                None => builds.push(Build {
                    command,
                    nix,
                    packages: packages.clone(),
                }),
            }
        }
        builds
    }
}

/// One packaging command and the packages of the plan it builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub command: &'static str,
    /// The flake's output that builds the same.
    pub nix: &'static str,
    pub packages: Vec<PathBuf>,
}

impl Plan {
    /// The plan as the dry run prints it: each step, and under each stack
    /// deployment the exact command line (`Step::command` with `preview`),
    /// shell-quoted. `existing`: the outputs of the stacks that exist (none
    /// for a first deploy, or offline).
    pub fn dry_run_text(&self, existing: &Outputs) -> Result<String, String> {
        let mut text = String::new();
        for (i, step) in self.steps.iter().enumerate() {
            text.push_str(&format!("{:>2}. {step}", i + 1));
            if let Some(argv) = step.command(|v| Ok(preview(v, existing))) {
                text.push_str(&format!(
                    "    $ {}\n",
                    crate::sam::shell_line(&argv?).replace('\n', "\n    ")
                ));
            }
        }
        Ok(text)
    }
}

/// The setting a template parameter's value comes from, for messages.
pub fn setting_of(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "AppName" => "application",
        "Environment" => "environment",
        "AuthEndpoints" => "auth_endpoints",
        "Authorizer" => "authorizer",
        "HostedDomainPrefix" => "provider.hosted_domain_prefix",
        "AdminGroupName" => "provider.admin_group",
        "IdTokenValidityMinutes" => "provider.id_token_validity_minutes",
        "RefreshTokenValidityDays" => "provider.refresh_token_validity_days",
        "RefreshTokenRotation" => "provider.refresh_token_rotation",
        "RefreshTokenRotationGraceSeconds" => "provider.refresh_token_rotation_grace_seconds",
        "ClientSecretArn" => "provider.client_secret_arn",
        "CallbackUrls" | "LogoutUrls" | "SiteUrl" | "DomainName" => "site.domain",
        "CertificateArn" => "site.certificate_arn",
        "HostedZoneId" => "site.hosted_zone_id",
        "PriceClass" => "site.price_class",
        "LogBucket" => "site.logs.bucket",
        "LogPrefix" => "site.logs.prefix",
        "EmailFrom" => "provider.email.from",
        "EmailSourceArn" => "provider.email.ses_identity_arn",
        "AuthRateLimit" => "rate_limit.auth_requests",
        "AuthRateWindowSeconds" => "rate_limit.window_seconds",
        "AlarmEmail" => "monitoring.email",
        "ComputeUtilization" => "monitoring.compute_utilization",
        "RefusedSessions" => "monitoring.refused_sessions",
        "SigninFailures" => "monitoring.signin_failures",
        "AuthP99Milliseconds" => "monitoring.auth_p99_ms",
        "ErrorRatePercent" => "monitoring.error_rate_percent",
        _ => return None,
    })
}

/// The template a plan step deploys, in the source folder `templates`
/// (the plan names the staged copy: `<work>/sam/<stack>/template.yaml`).
pub fn source_template(staged: &Path, templates: &Path) -> PathBuf {
    let mut parts = staged.iter().rev().take(2).collect::<Vec<_>>();
    parts.reverse();
    parts
        .iter()
        .fold(templates.to_path_buf(), |p, part| p.join(part))
}

/// Every value the settings give a template parameter, held to that
/// parameter's `AllowedPattern`, `AllowedValues`, `MinLength`/`MaxLength` and
/// `MinValue`/`MaxValue` as the template in `templates` declares them: what
/// CloudFormation would refuse halfway through a deployment is refused
/// before the first stack changes, with the setting's name. Values that
/// come from stack outputs are not known yet and are not checked here.
pub fn check_parameters(plan: &Plan, templates: &Path) -> Result<(), String> {
    let mut read = BTreeMap::new();
    for step in &plan.steps {
        let Step::DeployStack {
            template,
            parameters,
            ..
        } = step
        else {
            continue;
        };
        let source = source_template(template, templates);
        if !read.contains_key(&source) {
            let declared = crate::template::read_parameters(&source).map_err(|e| e.to_string())?;
            read.insert(source.clone(), declared);
        }
        let declared = &read[&source];
        for (name, value) in parameters {
            let Some(parameter) = declared.get(name) else {
                return Err(format!("{} declares no parameter {name}", source.display()));
            };
            let Value::Known(value) = value else { continue };
            if let Some(why) = parameter.refuses(value) {
                return Err(match setting_of(name) {
                    Some(setting) => format!(
                        "{setting}: {why} (the template parameter {name} of {} takes no other)",
                        source.display()
                    ),
                    None => format!("{name} in {}: {why}", source.display()),
                });
            }
        }
    }
    Ok(())
}

/// The value as the dry run shows it in a command line: known values and
/// the outputs of stacks that exist (`existing`) as they are; an output of a
/// stack this run deploys first as `<stack.Output>`.
pub fn preview(value: &Value, existing: &Outputs) -> String {
    resolve(value, &Outputs::new(), existing).unwrap_or_else(|_| value.to_string())
}

impl Step {
    /// The command line this step runs (`sam deploy …`), with each value
    /// given by `value`: the dry run passes `preview`, the run the outputs it
    /// has. None for the steps the tool carries out with the SDK.
    pub fn command(
        &self,
        value: impl Fn(&Value) -> Result<String, String>,
    ) -> Option<Result<Vec<String>, String>> {
        let Step::DeployStack {
            stack,
            template,
            region,
            parameters,
            tags,
        } = self
        else {
            return None;
        };
        Some(
            parameters
                .iter()
                .map(|(k, v)| value(v).map(|v| (k.clone(), v)))
                .collect::<Result<Vec<_>, _>>()
                .and_then(|parameters| {
                    crate::sam::deploy_command(template, stack, region, &parameters, tags)
                        .map_err(|e| format!("stack {stack}: {e}"))
                }),
        )
    }
}

impl Step {
    /// A few words naming the step, for the run's summary table.
    pub fn label(&self) -> String {
        match self {
            Step::DeployStack { stack, .. } => format!("stack {stack}"),
            Step::FreeSecretName { name, .. } => format!("secret name {name}"),
            Step::FetchProvider { .. } => "provider documents".into(),
            Step::SessionKeys { .. } => "session keys".into(),
            Step::WriteConfig { into, .. } => format!("config.json ({})", into.display()),
            Step::RenderViewerFunction { .. } => "CloudFront Function".into(),
            Step::RenderUserPool { .. } => "identity providers".into(),
            Step::WriteKeyValueStore { .. } => "key value store".into(),
            Step::TestViewerFunction { .. } => "function tested by CloudFront".into(),
            Step::PublishViewerFunction { .. } => "function published".into(),
            Step::RetiredStack { stack, .. } => format!("retired {stack}"),
            Step::WritePlaceholders { .. } => "placeholder packages".into(),
            Step::EnsureLogGroups { region, .. } => format!("log groups ({region})"),
            Step::PoolMfa { .. } => "pool MFA".into(),
            Step::SyncSite { .. } => "site sync".into(),
            Step::Invalidate { .. } => "invalidation".into(),
            Step::RemoveSites { .. } => "removed sites".into(),
            Step::Announce { .. } => "site URL".into(),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The parameters and tags are in the command line printed
            // beneath (`Step::command`).
            Step::DeployStack {
                stack,
                template,
                region,
                ..
            } => writeln!(
                f,
                "deploy stack {stack} ({region}) from {}",
                template.display()
            ),
            Step::FreeSecretName {
                stack,
                name,
                region,
            } => writeln!(
                f,
                "if {stack} does not exist yet: free the secret name {name} ({region}) if a destroyed deployment's secret, scheduled for deletion, still holds it"
            ),
            Step::WritePlaceholders { packages } => {
                writeln!(
                    f,
                    "write empty placeholder packages for the functions the edge-functions template switches off here (SAM CLI packages every function in a template, whatever its Condition; none of these is created)"
                )?;
                for p in packages {
                    writeln!(f, "    {}", p.display())?;
                }
                Ok(())
            }
            Step::FetchProvider { discovery_url } => writeln!(
                f,
                "fetch the provider's discovery document and JWKS: {discovery_url}"
            ),
            Step::SessionKeys { name, region } => writeln!(
                f,
                "session keys: secret {name} ({region}); on a first deploy created with one new 256-bit key; keys whose sessions have all expired are dropped; every config.json gets the set's keys (the secret's values are never printed)"
            ),
            Step::WriteConfig { packages, into } => {
                writeln!(
                    f,
                    "write config.json into copies of the packages, in {}",
                    into.display()
                )?;
                for p in packages {
                    writeln!(f, "    {}", p.display())?;
                }
                Ok(())
            }
            Step::RenderViewerFunction { template } => writeln!(
                f,
                "render the CloudFront Function (viewer request: sessions, rules, index paths) from config.json into {}; refused if over CloudFront's {} bytes",
                template.display(),
                edge_auth_core::cloudfront_function::MAX_FUNCTION_BYTES
            ),
            Step::RenderUserPool {
                template,
                providers,
            } => {
                writeln!(
                    f,
                    "the pool's identity providers into {} (one AWS::Cognito::UserPoolIdentityProvider each, the app client's SupportedIdentityProviders naming them):",
                    template.display()
                )?;
                for p in providers {
                    writeln!(f, "    {p}")?;
                }
                Ok(())
            }
            Step::RetiredStack { stack, region } => writeln!(
                f,
                "if {stack} ({region}) is left by an earlier deployment with authorizer = \"lambda-edge\": the distribution no longer uses it; say how to delete it once CloudFront has removed its replicas (a deploy does not wait hours for them)"
            ),
            Step::WriteKeyValueStore {
                store,
                sites,
                previews,
            } => {
                writeln!(
                    f,
                    "write the session verify keys into the key value store {store}: key:<kid> for each key of the set, key: entries of dropped keys deleted (names are shown, values never), and the test requests' revoked user ({}); revoked: entries older than the longest session deleted",
                    edge_auth_core::cloudfront_function::revocation_key(
                        edge_auth_core::function_probe::PROBE_REVOKED_SUB
                    )
                )?;
                if !sites.is_empty() {
                    writeln!(
                        f,
                        "    and each site's entry (its session id, public paths, rules and the keys), site: entries of other hosts deleted:"
                    )?;
                    for host in sites {
                        writeln!(f, "    site:{host}")?;
                    }
                }
                for domain in previews {
                    writeln!(
                        f,
                        "    and the branches' previews `preview upload` wrote, site:<branch>.{domain}, written again with these keys and rules"
                    )?;
                }
                Ok(())
            }
            Step::TestViewerFunction {
                function,
                max_compute_utilization,
                first_site,
            } => writeln!(
                f,
                "test the staged function {function} in CloudFront's own runtime (TestFunction, DEVELOPMENT stage, with the store above): {}no session, a session signed with each key, expired, forged and revoked sessions, a directory path, the first rule's path without and with its group, a public path, an unknown auth path, a long hostile URI{}; stop before publishing on any answer other than the core's, an error, or a compute utilization over {max_compute_utilization}%",
                first_site.as_ref().map_or(String::new(), |host| format!(
                    "at {host} (the first site), "
                )),
                if first_site.is_some() {
                    ", and a host that is no site's and a session of another site"
                } else {
                    ""
                }
            ),
            Step::PublishViewerFunction { function } => writeln!(
                f,
                "publish {function} to LIVE (PublishFunction), unless LIVE already runs the tested code"
            ),
            Step::SyncSite {
                bucket,
                directory,
                region,
            } => {
                writeln!(
                    f,
                    "sync {} to s3://{bucket} ({region}): upload new and changed files (content types and cache headers set), delete objects no longer in {0}",
                    directory.display()
                )
            }
            Step::Invalidate { distribution } => writeln!(
                f,
                "invalidate /* on distribution {distribution} (only if a file was uploaded or deleted; /* also covers deleted paths)"
            ),
            Step::EnsureLogGroups {
                groups,
                region,
                retention_days,
            } => {
                writeln!(
                    f,
                    "log groups in {region}: made where missing, kept {retention_days} days (the monitoring stack's metric filters read them)"
                )?;
                for g in groups {
                    writeln!(f, "    {g}")?;
                }
                Ok(())
            }
            Step::PoolMfa { pool, region, mfa } => writeln!(
                f,
                "the user pool {pool} ({region}): MFA {} with an authenticator app (TOTP){} (Cognito's SetUserPoolMfaConfig, only if it differs)",
                mfa.as_cognito(),
                if *mfa == crate::settings::PoolMfa::Off {
                    " off"
                } else {
                    ""
                }
            ),
            Step::RemoveSites {
                prefix,
                grants_prefix,
                keep,
                region,
                grants_region,
            } => writeln!(
                f,
                "remove the sites no longer in the settings: each stack {prefix}<name> ({region}) whose <name> is not {}: its bucket emptied and the stack deleted (its distribution, content and DNS records), then {grants_prefix}<name> ({grants_region}), its grants; their store entries went with the store step above and their callback URLs with the pool's",
                keep.join(", ")
            ),
            Step::Announce { url } => writeln!(f, "site: {url}"),
        }
    }
}

/// `2026-12-02 04:00:00 UTC` for seconds since the epoch.
pub fn utc(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod utc_tests {
    #[test]
    fn dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(1_800_000_000), "2027-01-15 08:00:00 UTC");
        assert_eq!(super::utc(951_825_600), "2000-02-29 12:00:00 UTC");
    }
}
