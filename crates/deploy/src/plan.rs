//! The deployment as a list of steps, computed from the settings alone, so
//! that `--dry-run` shows exactly what a real run would do.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::settings::{Provider, Settings};

pub const EDGE_REGION: &str = "us-east-1";
pub const EDGE_PACKAGES: [&str; 5] = ["authorize", "index-path", "signin", "refresh", "signout"];

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
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Known(v) => f.write_str(v),
            Value::Output { stack, key, suffix } => write!(f, "<{stack}.{key}>{suffix}"),
        }
    }
}

/// Where the provider sends the browser back to, below the site's URL: the
/// functions' redirect_uri and the sign-out's logout_uri, exactly (Cognito
/// accepts only registered URLs, to the letter).
pub const CALLBACK_PATH: &str = "/_edge-auth/callback";
pub const SIGNED_OUT_PATH: &str = "/signed-out.html";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    DeployStack {
        stack: String,
        template: PathBuf,
        region: String,
        parameters: Vec<(String, Value)>,
    },
    FetchProvider {
        discovery_url: Value,
    },
    WriteConfig {
        packages: Vec<PathBuf>,
        into: PathBuf,
    },
    UploadSite {
        bucket: Value,
        directory: PathBuf,
        region: String,
    },
    Invalidate {
        distribution: Value,
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
    /// `packages`: the generic zips; `work`: where templates and configured
    /// zips are staged side by side (the edge template's CodeUri is
    /// `../../dist/configured/<name>.zip`).
    pub fn new(settings: &Settings, packages: &Path, work: &Path) -> Self {
        let templates = &work.join("sam");
        let user_pool = settings.stack_name("user-pool");
        let edge = settings.stack_name("edge-functions");
        let distribution = settings.stack_name("distribution");
        let base = |k: &str, v: &str| (k.to_owned(), Value::Known(v.to_owned()));
        let names = vec![
            base("AppName", &settings.application),
            base("Environment", &settings.environment),
        ];
        let mut steps = Vec::new();

        // Without a custom domain the CloudFront name is only known after the
        // distribution exists: the pool is deployed with a placeholder first
        // and updated with the real URLs at the end.
        let site = settings
            .site_url()
            .map(Value::Known)
            .unwrap_or_else(|| output(&distribution, "SiteUrl"));
        let pool_parameters = |site: &Value| -> Vec<(String, Value)> {
            let site = match site {
                Value::Known(url) => url.clone(),
                Value::Output { .. } => "https://placeholder.invalid".into(),
            };
            let mut p = names.clone();
            if let Provider::Cognito {
                hosted_domain_prefix,
                admin_group,
                ..
            } = &settings.provider
            {
                p.push(base("HostedDomainPrefix", hosted_domain_prefix));
                p.push(base("AdminGroupName", admin_group));
            }
            p.push(base("CallbackUrls", &format!("{site}{CALLBACK_PATH}")));
            p.push(base("LogoutUrls", &format!("{site}{SIGNED_OUT_PATH}")));
            p
        };

        let (discovery, secret_arn) = match &settings.provider {
            Provider::Cognito { .. } => {
                steps.push(Step::DeployStack {
                    stack: user_pool.clone(),
                    template: templates.join("user-pool/template.yaml"),
                    region: settings.regions.user_pool.clone(),
                    parameters: pool_parameters(&site),
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
        steps.push(Step::WriteConfig {
            packages: EDGE_PACKAGES
                .iter()
                .map(|p| packages.join(format!("{p}.zip")))
                .collect(),
            into: work.join("dist").join("configured"),
        });
        let mut edge_parameters = names.clone();
        edge_parameters.push(("ClientSecretArn".into(), secret_arn));
        steps.push(Step::DeployStack {
            stack: edge.clone(),
            template: templates.join("edge-functions/template.yaml"),
            region: EDGE_REGION.into(),
            parameters: edge_parameters,
        });
        let mut dist_parameters = names.clone();
        for (param, key) in [
            ("AuthorizeVersionArn", "AuthorizeVersionArn"),
            ("IndexPathVersionArn", "IndexPathVersionArn"),
            ("SigninVersionArn", "SigninVersionArn"),
            ("RefreshVersionArn", "RefreshVersionArn"),
            ("SignoutVersionArn", "SignoutVersionArn"),
        ] {
            dist_parameters.push((param.into(), output(&edge, key)));
        }
        if let Some(domain) = &settings.site.domain {
            dist_parameters.push(base("DomainName", domain));
            dist_parameters.push(base(
                "CertificateArn",
                settings.site.certificate_arn.as_deref().unwrap_or(""),
            ));
            if let Some(zone) = &settings.site.hosted_zone_id {
                dist_parameters.push(base("HostedZoneId", zone));
            }
        }
        dist_parameters.push(base("PriceClass", &settings.site.price_class));
        steps.push(Step::DeployStack {
            stack: distribution.clone(),
            template: templates.join("distribution/template.yaml"),
            region: settings.regions.distribution.clone(),
            parameters: dist_parameters,
        });
        if settings.site.domain.is_none() && matches!(settings.provider, Provider::Cognito { .. }) {
            steps.push(Step::DeployStack {
                stack: user_pool,
                template: templates.join("user-pool/template.yaml"),
                region: settings.regions.user_pool.clone(),
                parameters: pool_parameters(&site)
                    .into_iter()
                    .map(|(k, v)| match k.as_str() {
                        "CallbackUrls" => (k, site.with_suffix(CALLBACK_PATH)),
                        "LogoutUrls" => (k, site.with_suffix(SIGNED_OUT_PATH)),
                        _ => (k, v),
                    })
                    .collect(),
            });
        }
        steps.push(Step::UploadSite {
            bucket: output(&distribution, "BucketName"),
            directory: settings.site.directory.clone(),
            region: settings.regions.distribution.clone(),
        });
        steps.push(Step::Invalidate {
            distribution: output(&distribution, "DistributionId"),
        });
        steps.push(Step::Announce { url: site });
        Self { steps }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::DeployStack {
                stack,
                template,
                region,
                parameters,
            } => {
                writeln!(
                    f,
                    "deploy stack {stack} ({region}) from {}",
                    template.display()
                )?;
                for (k, v) in parameters {
                    writeln!(f, "    {k} = {v}")?;
                }
                Ok(())
            }
            Step::FetchProvider { discovery_url } => writeln!(
                f,
                "fetch the provider's discovery document and JWKS: {discovery_url}"
            ),
            Step::WriteConfig { packages, into } => {
                writeln!(
                    f,
                    "write config.json into copies of the edge packages, in {}",
                    into.display()
                )?;
                for p in packages {
                    writeln!(f, "    {}", p.display())?;
                }
                Ok(())
            }
            Step::UploadSite {
                bucket,
                directory,
                region,
            } => {
                writeln!(
                    f,
                    "upload {} to s3://{bucket} ({region}), content types and cache headers set, unchanged files skipped",
                    directory.display()
                )
            }
            Step::Invalidate { distribution } => writeln!(
                f,
                "invalidate /* on distribution {distribution} (only if a file changed)"
            ),
            Step::Announce { url } => writeln!(f, "site: {url}"),
        }
    }
}
