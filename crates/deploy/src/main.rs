//! `edge-auth-deploy --settings deploy/prod.toml [--dry-run]`: deploys the
//! user pool, writes config.json into the edge packages, deploys the edge
//! functions in us-east-1 and the distribution, uploads the site and
//! invalidates the cache, printing each step. `--dry-run` prints the plan
//! and calls nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use edge_auth_deploy::plan::{self, Plan, Step, Value};
use edge_auth_deploy::settings::{Provider, Settings};
use edge_auth_deploy::{aws, package};

struct Args {
    settings: PathBuf,
    dry_run: bool,
    packages: PathBuf,
    templates: PathBuf,
    work: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        settings: PathBuf::new(),
        dry_run: false,
        packages: "dist".into(),
        templates: "sam".into(),
        work: ".edge-auth-deploy".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--settings" => args.settings = value("--settings")?.into(),
            "--dry-run" => args.dry_run = true,
            "--packages" => args.packages = value("--packages")?.into(),
            "--templates" => args.templates = value("--templates")?.into(),
            "--work" => args.work = value("--work")?.into(),
            "--help" | "-h" => {
                println!(
                    "edge-auth-deploy --settings deploy/<env>.toml [--dry-run] [--packages dist] [--templates sam] [--work DIR]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other} (see --help)")),
        }
    }
    if args.settings.as_os_str().is_empty() {
        return Err("--settings deploy/<env>.toml is required".into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("edge-auth-deploy: {e}");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::load(&args.settings) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("edge-auth-deploy: {e}");
            return ExitCode::from(2);
        }
    };
    // The templates' CodeUri is ../../dist/configured/<name>.zip, relative
    // to each template: stage templates and configured zips side by side.
    let plan = Plan::new(
        &settings,
        &args.packages,
        &args.work.join(&settings.environment),
    );
    if args.dry_run {
        println!(
            "plan for {} {} (dry run: nothing is called):",
            settings.application, settings.environment
        );
        for (i, step) in plan.steps.iter().enumerate() {
            print!("{:>2}. {step}", i + 1);
        }
        return ExitCode::SUCCESS;
    }
    match run(&args, &settings, &plan).await {
        Ok(url) => {
            println!("done: {url}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("edge-auth-deploy: {e}");
            ExitCode::FAILURE
        }
    }
}

fn resolve(
    value: &Value,
    outputs: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<String, String> {
    match value {
        Value::Known(v) => Ok(v.clone()),
        Value::Output { stack, key, suffix } => outputs
            .get(stack)
            .and_then(|o| o.get(key))
            .map(|v| format!("{v}{suffix}"))
            .ok_or_else(|| format!("stack {stack} has no output {key}")),
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// The CloudFront URL of the distribution stack, when an earlier deploy
/// created it (a site without a custom domain).
async fn existing_site_url(settings: &Settings) -> Result<Option<String>, String> {
    let stack = settings.stack_name("distribution");
    let config = aws::sdk_config(&settings.regions.distribution, None).await;
    match aws::stack_status(&config, &stack).await {
        Ok(Some(_)) => Ok(aws::stack_outputs(&config, &stack)
            .await
            .map_err(|err| err.to_string())?
            .get("SiteUrl")
            .cloned()),
        Ok(None) => Ok(None),
        Err(err) => Err(err.to_string()),
    }
}

async fn run(args: &Args, settings: &Settings, plan: &Plan) -> Result<String, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let work = args.work.join(&settings.environment);
    copy_dir(&args.templates, &work.join("sam"))
        .map_err(|err| format!("staging templates: {err}"))?;
    let first = aws::sdk_config(plan::EDGE_REGION, None).await;
    aws::check_credentials(&first)
        .await
        .map_err(|err| e(&err))?;

    let mut outputs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut provider: Option<(serde_json::Value, serde_json::Value)> = None;
    let mut url = String::new();
    let total = plan.steps.len();
    let mut changed_files = 0;
    for (i, step) in plan.steps.iter().enumerate() {
        print!("[{}/{total}] {step}", i + 1);
        match step {
            Step::DeployStack {
                stack,
                template,
                region,
                parameters,
            } => {
                let config = aws::sdk_config(region, None).await;
                let status = aws::stack_status(&config, stack)
                    .await
                    .map_err(|err| e(&err))?;
                aws::check_resumable(stack, status.as_ref()).map_err(|err| e(&err))?;
                let params = parameters
                    .iter()
                    .map(|(k, v)| resolve(v, &outputs).map(|v| (k.clone(), v)))
                    .collect::<Result<Vec<_>, _>>()?;
                if !aws::sam_deploy(template, stack, region, &params)
                    .await
                    .map_err(|err| e(&err))?
                {
                    return Err(e(&aws::failure_reason(&config, stack).await));
                }
                let found = aws::stack_outputs(&config, stack)
                    .await
                    .map_err(|err| e(&err))?;
                outputs.insert(stack.clone(), found);
            }
            Step::FetchProvider { discovery_url } => {
                let client = edge_auth_provider::ProviderClient::new(&Default::default());
                let discovery = client.get_json(&resolve(discovery_url, &outputs)?).await?;
                let jwks_uri = discovery["jwks_uri"]
                    .as_str()
                    .ok_or("the discovery document has no jwks_uri")?
                    .to_owned();
                let jwks = client.get_json(&jwks_uri).await?;
                provider = Some((discovery, jwks));
            }
            Step::WriteConfig { packages, into } => {
                let (discovery, jwks) = provider.as_ref().ok_or("the provider was not fetched")?;
                let pool = outputs.get(&settings.stack_name("user-pool"));
                let (client_id, secret, hosted) = match &settings.provider {
                    Provider::Cognito { .. } => {
                        let pool = pool.ok_or("no user-pool outputs")?;
                        let get = |k: &str| {
                            pool.get(k)
                                .cloned()
                                .ok_or(format!("user-pool stack has no output {k}"))
                        };
                        let secret = package::SecretLocation {
                            arn: get("ClientSecretArn")?,
                            region: get("SecretRegion")?,
                        };
                        (get("ClientId")?, secret, Some(get("HostedDomainUrl")?))
                    }
                    Provider::Oidc {
                        client_id,
                        client_secret_arn,
                        ..
                    } => {
                        let region = client_secret_arn
                            .split(':')
                            .nth(3)
                            .unwrap_or("us-east-1")
                            .to_owned();
                        (
                            client_id.clone(),
                            package::SecretLocation {
                                arn: client_secret_arn.clone(),
                                region,
                            },
                            None,
                        )
                    }
                };
                let site_url = match settings.site_url() {
                    Some(url) => Some(url),
                    None => existing_site_url(settings).await?,
                };
                let config = package::config_json(
                    settings,
                    discovery,
                    jwks,
                    &client_id,
                    &secret,
                    hosted.as_deref(),
                    site_url.as_deref(),
                )
                .map_err(|err| e(&err))?;
                for source in packages {
                    let name = source
                        .file_name()
                        .ok_or("a package path has no file name")?;
                    package::write_configured_zip(source, &into.join(name), &config)
                        .map_err(|err| e(&err))?;
                }
            }
            Step::UploadSite {
                bucket,
                directory,
                region,
            } => {
                let config = aws::sdk_config(region, None).await;
                let files = aws::site_files(directory)
                    .map_err(|err| format!("{}: {err}", directory.display()))?;
                changed_files = aws::upload_site(&config, &resolve(bucket, &outputs)?, &files)
                    .await
                    .map_err(|err| e(&err))?;
                println!("    {changed_files} of {} files uploaded", files.len());
            }
            Step::Invalidate { distribution } => {
                if changed_files == 0 {
                    println!("    nothing changed: no invalidation");
                    continue;
                }
                let config = aws::sdk_config(plan::EDGE_REGION, None).await;
                let reference = format!(
                    "edge-auth-deploy-{}",
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs())
                );
                let id = aws::invalidate(&config, &resolve(distribution, &outputs)?, &reference)
                    .await
                    .map_err(|err| e(&err))?;
                println!("    invalidation {id}");
            }
            Step::Announce { url: site } => url = resolve(site, &outputs)?,
        }
    }
    Ok(url)
}
