//! `edge-auth-deploy check`: what a deploy would refuse before its first
//! call, found without calling anything: the settings, the values the
//! templates would refuse, the example's values, missing packages. With
//! `--live` or `--url`, the site from outside instead (`crate::smoke`).

use super::{CommandError, Outcome, failed, findings, load_settings, plan_for};
use crate::aws;
use crate::cli::CheckArgs;
use crate::settings::{Provider, Settings};
use crate::smoke::{self, Answer, Target};

pub async fn main(args: &CheckArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    if args.live || args.url.is_some() {
        let targets = match &args.url {
            Some(url) => {
                let authorize = match &args.discovery {
                    Some(d) => Some(authorization_endpoint(d).await?),
                    None => None,
                };
                vec![target(
                    &settings,
                    url,
                    authorize,
                    args.client_id.clone(),
                    vec![],
                )]
            }
            None => deployed_targets(&settings).await?,
        };
        for target in &targets {
            run(target).await?;
        }
        return Ok(());
    }
    offline(args, &settings)
}

/// Where the tests' stand-in answers for the site (the moto run: the
/// deployed addresses are not reachable from a test, nor may a test try).
pub const SITE_ENDPOINT_ENV: &str = "EDGE_AUTH_SITE_ENDPOINT";

/// The checks against `target`, a line each; failed if any failed.
pub async fn run(target: &Target) -> Outcome {
    let client = edge_auth_provider::ProviderClient::new(&Default::default());
    let nonce = format!("{:x}", super::now_seconds());
    let endpoint = std::env::var(SITE_ENDPOINT_ENV).ok();
    let mut failures = 0;
    for probe in smoke::probes(target, &nonce) {
        let url = match &endpoint {
            Some(e) if probe.url.starts_with(&target.site) => {
                probe.url.replacen(&target.site, e.trim_end_matches('/'), 1)
            }
            Some(_) => {
                println!(
                    "skip  {}: not reachable from here ({SITE_ENDPOINT_ENV})",
                    probe.name
                );
                continue;
            }
            None => probe.url.clone(),
        };
        let verdict = match client.get(&url, &smoke::BROWSER, 8 * 1024 * 1024).await {
            Ok((status, headers, body)) => smoke::judge(
                target,
                &probe,
                &Answer {
                    status,
                    headers,
                    body,
                },
            ),
            Err(e) => Err(e),
        };
        match verdict {
            Ok(what) => println!("ok    {}: {what}", probe.name),
            Err(why) => {
                failures += 1;
                println!("FAIL  {}: {why}", probe.name);
            }
        }
    }
    if failures > 0 {
        return Err(failed(format!(
            "{failures} check(s) of {} failed (above)",
            target.site
        )));
    }
    println!("{}: every check passed", target.site);
    Ok(())
}

fn target(
    settings: &Settings,
    site: &str,
    authorize_endpoint: Option<String>,
    client_id: Option<String>,
    direct: Vec<(String, String)>,
) -> Target {
    // The first public path that is a page, not a pattern: the site's of
    // a table whose address this is.
    let public = settings
        .sites
        .iter()
        .find(|s| s.url() == site.trim_end_matches('/'))
        .map_or_else(
            || settings.site.public_paths(),
            |s| {
                s.public
                    .clone()
                    .unwrap_or_else(edge_auth_core::config::default_public)
            },
        );
    let public_page = public.into_iter().find(|p| !p.contains(['*', '?']));
    // A site of a sign-in group that signs in through another.
    let hands_over_to = settings
        .sites
        .iter()
        .find(|s| s.url() == site.trim_end_matches('/') && !settings.signs_in_itself(s))
        .and_then(|s| Some((settings.sign_in_site_of(s)?.url(), s.name.clone())));
    // A pool that routes by e-mail domain, at a site with no provider of
    // its own: the start is given an address of the first routed domain.
    let default = settings
        .sites
        .iter()
        .find(|s| s.url() == site.trim_end_matches('/'))
        .map_or(&settings.site.identity_provider, |s| &s.identity_provider);
    let routed = match default {
        Some(_) => None,
        None => settings.federation().1.iter().find_map(|f| {
            let domain = f.domains.first()?;
            Some((format!("edge-auth-check@{domain}"), f.name.clone()))
        }),
    };
    Target {
        site: site.trim_end_matches('/').to_owned(),
        paths: edge_auth_core::config::PathSettings::default(),
        public_page,
        authorize_endpoint,
        client_id,
        direct,
        hands_over_to,
        routed,
    }
}

async fn authorization_endpoint(discovery: &str) -> Result<String, CommandError> {
    let client = edge_auth_provider::ProviderClient::new(&Default::default());
    let document = client.get_json(discovery).await.map_err(failed)?;
    document["authorization_endpoint"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| failed(format!("{discovery}: no authorization_endpoint")))
}

/// The deployed site's address, its provider, and the addresses that must
/// refuse a direct request (the bucket, the function URLs), from the stacks.
/// What `check --live` checks: the deployed site, or each site of a table.
pub async fn deployed_targets(settings: &Settings) -> Result<Vec<Target>, CommandError> {
    if settings.sites.is_empty() {
        return Ok(vec![
            deployed_target(settings, &settings.stack_name("distribution")).await?,
        ]);
    }
    let mut targets = Vec::new();
    for site in &settings.sites {
        targets.push(deployed_target(settings, &settings.site_stack(&site.name)).await?);
    }
    Ok(targets)
}

/// The site the distribution stack `stack` serves.
async fn deployed_target(settings: &Settings, stack: &str) -> Result<Target, CommandError> {
    let outputs = |stack: String, region: String| async move {
        let config = aws::sdk_config(&region, None).await;
        aws::existing_outputs(&config, &stack)
            .await
            .map_err(failed)?
            .ok_or_else(|| failed(format!("{stack} ({region}) does not exist: deploy first")))
    };
    let dist_region = settings.regions.distribution.clone();
    let pool_region = settings.regions.user_pool.clone();
    let distribution = outputs(stack.to_owned(), dist_region.clone()).await?;
    let get =
        |o: &std::collections::BTreeMap<String, String>, k: &str| -> Result<String, CommandError> {
            o.get(k)
                .cloned()
                .ok_or_else(|| failed(format!("no stack output {k}")))
        };
    let site = get(&distribution, "SiteUrl")?;
    let bucket = get(&distribution, "BucketName")?;
    let mut direct = vec![(
        format!("the bucket {bucket}"),
        format!("https://{bucket}.s3.{dist_region}.amazonaws.com/index.html"),
    )];
    if settings.auth_endpoints == crate::settings::AuthEndpoints::Regional {
        let auth = outputs(settings.stack_name("auth-endpoints"), pool_region.clone()).await?;
        for key in [
            "SigninOriginDomain",
            "RefreshOriginDomain",
            "SignoutOriginDomain",
        ] {
            let domain = get(&auth, key)?;
            direct.push((
                format!("the function URL {domain}"),
                format!("https://{domain}/"),
            ));
        }
    }
    let (discovery, client_id) = match &settings.provider {
        Provider::Cognito { .. } => {
            let pool = outputs(settings.stack_name("user-pool"), pool_region).await?;
            (get(&pool, "DiscoveryUrl")?, get(&pool, "ClientId")?)
        }
        Provider::Oidc {
            discovery_url,
            client_id,
            ..
        } => (discovery_url.clone(), client_id.clone()),
    };
    let authorize = authorization_endpoint(&discovery).await?;
    Ok(target(
        settings,
        &site,
        Some(authorize),
        Some(client_id),
        direct,
    ))
}

fn offline(args: &CheckArgs, settings: &Settings) -> Outcome {
    let settings = settings.clone();
    let plan = plan_for(&settings, &args.settings, &args.artifacts)?;
    // What to build for these settings, and nothing more.
    for build in plan.builds() {
        let names: Vec<String> = build
            .packages
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        println!(
            "packages: `{}` (or `nix build .#{}`) builds {}",
            build.command,
            build.nix,
            names.join(", ")
        );
    }
    let mut found = findings(&settings, &args.settings, &plan);
    if settings.authorizer == crate::settings::Authorizer::CloudfrontFunction {
        // The function these settings render, held to CloudFront's limit
        // here rather than when the distribution changes.
        match crate::package::settings_config(&settings).and_then(|config| {
            edge_auth_core::cloudfront_function::render_checked(&config).map_err(|e| e.to_string())
        }) {
            Ok(code) => println!(
                "the CloudFront Function these settings render: {} of {} bytes",
                code.len(),
                edge_auth_core::cloudfront_function::MAX_FUNCTION_BYTES
            ),
            Err(e) => found.push(format!("the CloudFront Function: {e}")),
        }
    }
    if !found.is_empty() {
        return Err(CommandError::Refused(found.join("\n")));
    }
    println!(
        "{}: ready to deploy {} {} ({} steps; `plan` shows them)",
        args.settings.settings.display(),
        settings.application,
        settings.environment,
        plan.steps.len()
    );
    Ok(())
}
