//! `edge-auth-deploy deploy`: the plan's steps in order, each printed
//! before it runs with what it waits for, and a table at the end of what
//! each step changed and how long it took. A re-run resumes: stacks that
//! exist are updated in place, and the values they output are read first.

use std::path::Path;
use std::time::{Duration, Instant};

use edge_auth_core::{cloudfront_function, function_probe};
use serde_json::Value;

use super::{
    CommandError, Outcome, existing_outputs, failed, load_settings, now_seconds, plan_for,
    ready_to_run,
};
use crate::cli::{Artifacts, DeployArgs};
use crate::plan::{self, Outputs, Plan, Step, resolve};
use crate::settings::{Provider, Settings};
use crate::{aws, package, sam, session_keys, template, viewer_function};

pub async fn main(args: &DeployArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    let plan = plan_for(&settings, &args.settings, &args.artifacts)?;
    if args.dry_run.dry_run {
        return super::plan::dry_run(&args.settings, args.dry_run.offline, &settings, &plan).await;
    }
    ready_to_run(&settings, &args.settings, &plan)?;
    let url = run(&settings, &plan, &args.artifacts).await?;
    println!("done: {url}");
    if !args.no_check {
        // The site as a visitor meets it: what no test here can reach (the
        // requests CloudFront signs for the function URLs among them).
        println!("checking the live site from outside (`check --live`):");
        for target in super::check::deployed_targets(&settings).await? {
            if let Err(e) = super::check::run(&target).await {
                return Err(failed(format!(
                    "{e}. The deployment is done, but the site does not answer as it should: look at the distribution's behaviours and its viewer-request function, the function URLs' grants and origin access control, and the provider's registered callback; `edge-auth-deploy check --live --settings {}` checks again",
                    args.settings.settings.display()
                )));
            }
        }
    }
    print!("{}", next_steps(&settings, &args.settings.settings, &url));
    Ok(())
}

/// What to do and where to look once the run is done: a new pool has no
/// users, so nobody can sign in until someone is invited.
pub fn next_steps(settings: &Settings, settings_path: &Path, url: &str) -> String {
    use std::fmt::Write;
    let mut out = String::from("next:\n");
    if let Provider::Cognito { admin_group, .. } = &settings.provider {
        let _ = writeln!(
            out,
            "  invite the first user (a new pool has none, so nobody can sign in yet):\n    edge-auth-deploy user add --settings {} --email you@example.org --group {admin_group}",
            settings_path.display()
        );
    }
    let (_, federation) = settings.federation();
    if !federation.is_empty() {
        let _ = writeln!(
            out,
            "  enter these at the corporate identity providers (`edge-auth-deploy federation --settings {}` prints them again, with the pool's id):",
            settings_path.display()
        );
    }
    let prefix = format!("{}-{}", settings.application, settings.environment);
    let _ = writeln!(out, "  the site: {url}");
    let _ = writeln!(
        out,
        "  logs: {}",
        match settings.auth_endpoints {
            crate::settings::AuthEndpoints::Regional => format!(
                "sign-in, refresh and sign-out in CloudWatch Logs, {}: /aws/lambda/{prefix}-auth-signin, -auth-refresh, -auth-signout",
                settings.regions.user_pool
            ),
            crate::settings::AuthEndpoints::Edge => format!(
                "the Lambda@Edge functions in CloudWatch Logs of the region nearest each viewer: /aws/lambda/us-east-1.{prefix}-*"
            ),
        }
    );
    let _ = writeln!(
        out,
        "  CloudFront's metrics (requests, errors, the function's invocations and errors): CloudWatch, us-east-1, namespace AWS/CloudFront"
    );
    out
}

/// Runs every step of the plan; the site's URL when done.
pub async fn run(
    settings: &Settings,
    plan: &Plan,
    artifacts: &Artifacts,
) -> Result<String, CommandError> {
    // The templates' CodeUri is ../../dist/configured/<name>.zip, relative
    // to each template: stage templates and configured zips side by side.
    let work = artifacts.work.join(&settings.environment);
    copy_dir(&artifacts.templates, &work.join("sam"))
        .map_err(|err| format!("staging templates: {err}"))?;
    let first = aws::sdk_config(plan::EDGE_REGION, None).await;
    aws::check_credentials(&first).await.map_err(failed)?;
    // The stacks an earlier run left: a re-run without a custom domain
    // registers and configures the distribution's real URL from the start.
    let existing = existing_outputs(plan).await?;
    // A distribution of these names in another region holds CloudFront's
    // account-wide names: refused before anything changes.
    if let Some((region, stack)) = crate::elsewhere::distribution_elsewhere(settings)
        .await
        .first()
    {
        return Err(CommandError::Refused(crate::elsewhere::remedy(
            settings, region, stack,
        )));
    }
    if !settings.sites.is_empty() {
        refuse_one_site_under_a_table(settings).await?;
    }
    if settings.authorizer == crate::settings::Authorizer::CloudfrontFunction {
        check_store_credentials(settings, &existing).await?;
    }
    let mut run = Run {
        settings,
        existing,
        outputs: Outputs::new(),
        provider: None,
        session: None,
        handlers_config: None,
        parsed_config: None,
        url: String::new(),
        changed_files: 0,
        deployed: plan::Deployed::default(),
    };
    let total = plan.steps.len();
    let mut summary = Vec::with_capacity(total);
    for (i, step) in plan.steps.iter().enumerate() {
        print!("[{}/{total}] {step}", i + 1);
        let started = Instant::now();
        let result = run.step(step).await?;
        let took = started.elapsed();
        if let Some(result) = result {
            if took >= Duration::from_secs(2) {
                println!("    ({} for this step)", duration(took));
            }
            summary.push((step.label(), result, took));
        }
    }
    print!("{}", summary_table(&summary));
    Ok(run.url)
}

/// A site table deployed over an environment that serves one site: the
/// auth stack would take its grants from that site's distribution
/// (`Grants=per-site`) and sign-ins there would fail. Refused before
/// anything changes.
async fn refuse_one_site_under_a_table(settings: &Settings) -> Result<(), CommandError> {
    let stack = settings.stack_name("distribution");
    let config = aws::sdk_config(&settings.regions.distribution, None).await;
    if aws::stack_status(&config, &stack)
        .await
        .map_err(failed)?
        .is_some()
    {
        return Err(CommandError::Refused(format!(
            "{stack} ({}) serves this environment as one site: a site table beside it would take the auth endpoints' grants from it. Deploy the table as another environment, or remove the one site first (`edge-auth-deploy destroy` with the one-site settings)",
            settings.regions.distribution
        )));
    }
    Ok(())
}

/// The key value store's data plane takes these credentials (SigV4A), or
/// the run stops before its first stack changes.
async fn check_store_credentials(
    settings: &Settings,
    existing: &Outputs,
) -> Result<(), CommandError> {
    // The deployment's store, or on a first deploy an address of the
    // right form that no store has.
    let arn = existing
        .get(&settings.stack_name("viewer-function"))
        .and_then(|o| o.get("KeyValueStoreArn"))
        .cloned()
        .unwrap_or_else(|| {
            "arn:aws:cloudfront::000000000000:key-value-store/00000000-0000-0000-0000-000000000000"
                .into()
        });
    let config = aws::sdk_config(&settings.regions.distribution, None).await;
    aws::check_store_credentials(&aws::key_value_store(&config), &arn)
        .await
        .map_err(|e| CommandError::Refused(e.to_string()))?;
    println!("the key value store's API (SigV4A) takes these credentials");
    Ok(())
}

/// What the steps learn and hand on to the later ones.
struct Run<'a> {
    settings: &'a Settings,
    /// Outputs of stacks that existed before this run.
    existing: Outputs,
    /// Outputs of stacks deployed by this run.
    outputs: Outputs,
    provider: Option<(Value, Value)>,
    session: Option<package::SessionKeysLocation>,
    handlers_config: Option<Value>,
    parsed_config: Option<edge_auth_core::Config>,
    url: String,
    changed_files: usize,
    deployed: plan::Deployed,
}

impl Run<'_> {
    /// Runs one step; what it changed, for the summary (None: a step that
    /// only hands on a value).
    async fn step(&mut self, step: &Step) -> Result<Option<String>, CommandError> {
        let result = match step {
            Step::DeployStack {
                stack,
                template,
                region,
                parameters,
                tags,
            } => {
                self.deploy_stack(stack, template, region, parameters, tags)
                    .await?
            }
            Step::FreeSecretName {
                stack,
                name,
                region,
            } => self.free_secret_name(stack, name, region).await?,
            Step::FetchProvider { discovery_url } => self.fetch_provider(discovery_url).await?,
            Step::SessionKeys { name, region } => self.session_keys(name, region).await?,
            Step::WriteConfig { packages, into } => self.write_config(packages, into)?,
            Step::RenderViewerFunction { template } => self.render_viewer_function(template)?,
            Step::RenderUserPool { template, .. } => self.render_user_pool(template)?,
            Step::WriteKeyValueStore { store, .. } => self.write_key_value_store(store).await?,
            Step::TestViewerFunction {
                function,
                max_compute_utilization,
                ..
            } => {
                self.test_viewer_function(function, *max_compute_utilization)
                    .await?
            }
            Step::PublishViewerFunction { function } => {
                let name = self.resolve(function)?;
                let sdk = aws::sdk_config(&self.settings.regions.distribution, None).await;
                match viewer_function::publish(&sdk, &name)
                    .await
                    .map_err(failed)?
                {
                    viewer_function::Published::AlreadyLive => {
                        println!("    LIVE already runs the tested code");
                        "unchanged".into()
                    }
                    viewer_function::Published::Published { bytes } => {
                        println!("    {name}: the tested code ({bytes} bytes) is LIVE");
                        format!("{bytes} bytes published")
                    }
                }
            }
            Step::RetiredStack { stack, region } => retired_stack(stack, region).await?,
            Step::WritePlaceholders { packages } => {
                for path in packages {
                    let size = package::write_placeholder_zip(path).map_err(failed)?;
                    println!("    {}: {size} bytes", path.display());
                }
                format!("{} placeholders", packages.len())
            }
            Step::EnsureLogGroups {
                groups,
                region,
                retention_days,
            } => ensure_log_groups(groups, region, *retention_days).await?,
            Step::PoolMfa { pool, region, mfa } => {
                let pool = self.resolve(pool)?;
                let config = aws::sdk_config(region, None).await;
                let (before, changed) = aws::set_pool_mfa(&config, &pool, *mfa)
                    .await
                    .map_err(failed)?;
                if changed {
                    format!("{before} -> {}", mfa.as_cognito())
                } else {
                    format!("{before}, unchanged")
                }
            }
            Step::SyncSite {
                bucket,
                directory,
                region,
            } => self.sync_site(bucket, directory, region).await?,
            Step::Invalidate { distribution } => self.invalidate(distribution).await?,
            Step::RemoveSites {
                prefix,
                grants_prefix,
                keep,
                region,
                grants_region,
            } => {
                remove_sites(
                    self.settings,
                    (prefix, region),
                    (grants_prefix, grants_region),
                    keep,
                )
                .await?
            }
            Step::Announce { url } => {
                self.url = self.resolve(url)?;
                return Ok(None);
            }
        };
        Ok(Some(result))
    }

    fn resolve(&self, value: &plan::Value) -> Result<String, CommandError> {
        Ok(resolve(value, &self.outputs, &self.existing)?)
    }

    async fn deploy_stack(
        &mut self,
        stack: &str,
        template: &Path,
        region: &str,
        parameters: &[(String, plan::Value)],
        tags: &[(String, String)],
    ) -> Result<String, CommandError> {
        let params = parameters
            .iter()
            .map(|(k, v)| self.resolve(v).map(|v| (k.clone(), v)))
            .collect::<Result<Vec<_>, _>>()?;
        if !self.deployed.needs(stack, &params) {
            println!(
                "    same parameters as its deployment earlier in this run: nothing to update"
            );
            return Ok("unchanged (deployed earlier in this run)".into());
        }
        // The parameters just resolved, through the same builder as the
        // dry run's `Step::command`.
        let argv = sam::deploy_command(template, stack, region, &params, tags)
            .map_err(|err| format!("stack {stack}: {err}"))?;
        let config = aws::sdk_config(region, None).await;
        let before = aws::stack_status(&config, stack).await.map_err(failed)?;
        aws::check_resumable(stack, before.as_ref()).map_err(failed)?;
        println!("    $ {}", sam::shell_line(&argv).replace('\n', "\n    "));
        println!("    waiting for CloudFormation: {}", expected_wait(stack));
        if !aws::sam_deploy(&argv).await.map_err(failed)? {
            return Err(failed(aws::failure_reason(&config, stack).await));
        }
        let found = aws::stack_outputs(&config, stack).await.map_err(failed)?;
        self.outputs.insert(stack.to_owned(), found);
        self.deployed.record(stack, params);
        let after = aws::stack_status(&config, stack).await.map_err(failed)?;
        let name = |s: Option<&aws_sdk_cloudformation::types::StackStatus>| {
            s.map_or("none".to_owned(), |s| s.as_str().to_owned())
        };
        Ok(match before {
            None => format!("created ({})", name(after.as_ref())),
            Some(b) => format!("{} -> {}", b.as_str(), name(after.as_ref())),
        })
    }

    async fn free_secret_name(
        &self,
        stack: &str,
        name: &str,
        region: &str,
    ) -> Result<String, CommandError> {
        if self.existing.contains_key(stack) {
            println!("    {stack} exists: its secret is its own");
            return Ok("nothing to do".into());
        }
        let config = aws::sdk_config(region, None).await;
        Ok(
            match aws::clear_deleted_secret(&config, name)
                .await
                .map_err(failed)?
            {
                aws::SecretName::Free => {
                    println!("    {name} is free");
                    "free".into()
                }
                aws::SecretName::Cleared => {
                    println!(
                        "    {name} was scheduled for deletion (a destroyed deployment's): deleted for good"
                    );
                    "a destroyed deployment's secret deleted".into()
                }
            },
        )
    }

    async fn fetch_provider(
        &mut self,
        discovery_url: &plan::Value,
    ) -> Result<String, CommandError> {
        let client = edge_auth_provider::ProviderClient::new(&Default::default());
        let discovery_url = self.resolve(discovery_url)?;
        let discovery = client.get_json(&discovery_url).await?;
        package::check_discovery_issuer(&discovery_url, &discovery)?;
        let jwks_uri = discovery["jwks_uri"]
            .as_str()
            .ok_or("the discovery document has no jwks_uri")?
            .to_owned();
        let jwks = client.get_json(&jwks_uri).await?;
        let keys = jwks["keys"].as_array().map_or(0, Vec::len);
        self.provider = Some((discovery, jwks));
        Ok(format!("{keys} signing keys"))
    }

    async fn session_keys(&mut self, name: &str, region: &str) -> Result<String, CommandError> {
        let config = aws::sdk_config(region, None).await;
        let keys = session_keys::ensure(&config, self.settings, name, now_seconds())
            .await
            .map_err(failed)?;
        let described = session_keys::describe(&keys);
        self.session = Some(package::SessionKeysLocation {
            name: name.to_owned(),
            region: region.to_owned(),
            keys,
        });
        Ok(described)
    }

    fn write_config(
        &mut self,
        packages: &[std::path::PathBuf],
        into: &Path,
    ) -> Result<String, CommandError> {
        // One config.json for every package: computed at the first of
        // these steps, written by each.
        if self.handlers_config.is_none() {
            let value = config_for_handlers(
                self.settings,
                &self.provider,
                &self.session,
                &self.outputs,
                &self.existing,
            )?;
            // The core's own reading of it, for the function and its store.
            self.parsed_config = Some(
                edge_auth_core::Config::from_json(&value.to_string())
                    .map_err(|err| format!("config.json: {err}"))?,
            );
            self.handlers_config = Some(value);
        }
        let config = self.handlers_config.as_ref().ok_or("no config.json")?;
        let keys = self
            .session
            .as_ref()
            .ok_or("the session keys were not read")?;
        let written =
            package::write_configured_packages(packages, into, config, &keys.keys.verify_keys())
                .map_err(failed)?;
        for (path, size) in &written {
            println!("    {}: {size} bytes", path.display());
        }
        Ok(format!("{} packages", written.len()))
    }

    fn render_user_pool(&self, path: &Path) -> Result<String, CommandError> {
        let (native, federation) = self.settings.federation();
        let text =
            std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
        let rendered = crate::federation::render(&text, federation, native, &self.settings.dir)
            .map_err(|err| format!("{}: {err}", path.display()))?;
        std::fs::write(path, rendered).map_err(|err| format!("{}: {err}", path.display()))?;
        Ok(format!("{} identity providers", federation.len()))
    }

    fn render_viewer_function(&self, path: &Path) -> Result<String, CommandError> {
        let config = self
            .parsed_config
            .as_ref()
            .ok_or("config.json was not written yet")?;
        let code = cloudfront_function::render_checked(config).map_err(failed)?;
        let text =
            std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
        let rendered = template::with_viewer_function(&text, &code)
            .map_err(|err| format!("{}: {err}", path.display()))?;
        std::fs::write(path, rendered).map_err(|err| format!("{}: {err}", path.display()))?;
        let size = format!(
            "{} bytes (CloudFront takes {})",
            code.len(),
            cloudfront_function::MAX_FUNCTION_BYTES
        );
        println!("    {size}");
        Ok(size)
    }

    async fn write_key_value_store(&self, store: &plan::Value) -> Result<String, CommandError> {
        let keys = self
            .session
            .as_ref()
            .ok_or("the session keys were not read")?;
        // The session verify keys; revocations are `revoke`'s and stay as
        // they are.
        let entries = cloudfront_function::session_key_entries(&keys.keys.verify_keys());
        // A site table's entries, each with the keys: held to the store's
        // limits together with the keys before either is written.
        // Without a table, none (and a `site:` entry a table left goes).
        // Never guessed: an empty list would delete every site's entry.
        let config = self
            .parsed_config
            .as_ref()
            .ok_or("config.json was not written yet")?;
        let mut sites = edge_auth_core::sites::site_entries(config, &keys.keys.verify_keys());
        let arn = self.resolve(store)?;
        // The store is global; its data plane signs with SigV4A.
        let sdk = aws::sdk_config(&self.settings.regions.distribution, None).await;
        // The branches' previews `preview upload` wrote (`site:<branch>.
        // <preview domain>`), written again with this deploy's keys and
        // rules; those of a site whose previews are gone are deleted.
        if config.sites.iter().any(|s| s.preview_domain.is_some()) {
            let present = aws::store_names(&aws::key_value_store(&sdk), &arn)
                .await
                .map_err(failed)?;
            for key in &present {
                for site in &config.sites {
                    if let Some(branch) = edge_auth_core::sites::preview_branch(site, key) {
                        let (key, value) = edge_auth_core::sites::preview_entry(
                            config,
                            &site.name,
                            branch,
                            &keys.keys.verify_keys(),
                        )
                        .map_err(failed)?;
                        sites.insert(key, value);
                    }
                }
            }
        }
        let mut all = entries.clone();
        all.extend(sites.clone());
        cloudfront_function::check_store_limits(&all).map_err(failed)?;
        let changes = aws::write_key_value_store(
            &aws::key_value_store(&sdk),
            &arn,
            cloudfront_function::SESSION_KEY_PREFIX,
            &entries,
        )
        .await
        .map_err(failed)?;
        println!("    {changes}");
        // Each site's entry; a removed site's deleted (`site:` entries of
        // hosts no longer in the table). Written after the keys its
        // entry names.
        let site_changes = aws::write_key_value_store(
            &aws::key_value_store(&sdk),
            &arn,
            edge_auth_core::sites::SITE_PREFIX,
            &sites,
        )
        .await
        .map_err(failed)?;
        if !sites.is_empty() || !site_changes.deleted.is_empty() {
            println!("    sites: {site_changes}");
        }
        // The test requests' revoked user, so that CloudFront's runtime is
        // asked the revocation check too (`function_probe`).
        let probe_key = cloudfront_function::revocation_key(function_probe::PROBE_REVOKED_SUB);
        let probe_entry = [(
            probe_key.clone(),
            function_probe::PROBE_REVOKED_UP_TO.to_string(),
        )]
        .into_iter()
        .collect();
        aws::write_key_value_store(&aws::key_value_store(&sdk), &arn, &probe_key, &probe_entry)
            .await
            .map_err(failed)?;
        // Revocations no session can outlive any more (sign-out writes one
        // per user who signs out): the same horizon `revoke` prunes at.
        let now = aws::server_date().unwrap_or_else(now_seconds);
        let keep_after = self.settings.revocation_horizons(now);
        let pruned = aws::prune_revocations(&aws::key_value_store(&sdk), &arn, keep_after)
            .await
            .map_err(failed)?;
        if !pruned.deleted.is_empty() {
            println!(
                "    revocations older than {} pruned: {}",
                plan::utc(keep_after.sessions),
                pruned.deleted.join(", ")
            );
        }
        Ok(format!(
            "{} put, {} deleted",
            changes.put.len() + site_changes.put.len(),
            changes.deleted.len() + site_changes.deleted.len() + pruned.deleted.len()
        ))
    }

    /// The staged function in CloudFront's runtime, on the core's probes
    /// with the deployment's own keys and store; nothing is published when
    /// any fails.
    async fn test_viewer_function(
        &self,
        function: &plan::Value,
        limit: u32,
    ) -> Result<String, CommandError> {
        let name = self.resolve(function)?;
        let keys = self
            .session
            .as_ref()
            .ok_or("the session keys were not read")?;
        let mut config = self
            .parsed_config
            .as_ref()
            .ok_or("config.json was not written yet")?
            .with_session_keys(&keys.keys)
            .map_err(failed)?;
        config.sessions.revoke(
            function_probe::PROBE_REVOKED_SUB,
            function_probe::PROBE_REVOKED_UP_TO,
        );
        // AWS's clock where an answer gave it (the store's), the
        // operator's otherwise: the probes' sessions are minutes wide.
        let now = aws::server_date().unwrap_or_else(now_seconds);
        let probes = function_probe::probes(&config, &keys.keys.verify_keys(), now);
        let sdk = aws::sdk_config(&self.settings.regions.distribution, None).await;
        let report = viewer_function::test(
            &sdk,
            &name,
            aws_sdk_cloudfront::types::FunctionStage::Development,
            &probes,
            limit,
        )
        .await
        .map_err(failed)?;
        println!("    {report}");
        if !report.failures.is_empty() {
            for failure in &report.failures {
                println!("    refused: {failure}");
            }
            return Err(CommandError::Failed(format!(
                "CloudFront's runtime answered {} of the test requests otherwise than the core does: nothing was published, the site runs the function it ran before. The first: {}",
                report.failures.len(),
                report.failures[0]
            )));
        }
        Ok(report.to_string())
    }

    async fn sync_site(
        &mut self,
        bucket: &plan::Value,
        directory: &Path,
        region: &str,
    ) -> Result<String, CommandError> {
        let config = aws::sdk_config(region, None).await;
        let files =
            aws::site_files(directory).map_err(|err| format!("{}: {err}", directory.display()))?;
        let changes = aws::sync_site(&config, &self.resolve(bucket)?, &files)
            .await
            .map_err(failed)?;
        self.changed_files = changes.upload.len() + changes.delete.len();
        println!("    {changes}");
        Ok(format!(
            "{} uploaded, {} deleted, {} unchanged",
            changes.upload.len(),
            changes.delete.len(),
            changes.unchanged
        ))
    }

    async fn invalidate(&self, distribution: &plan::Value) -> Result<String, CommandError> {
        if self.changed_files == 0 {
            println!("    nothing changed: no invalidation");
            return Ok("none (nothing changed)".into());
        }
        let config = aws::sdk_config(plan::EDGE_REGION, None).await;
        let reference = format!("edge-auth-deploy-{}", now_seconds());
        let id = aws::invalidate(&config, &self.resolve(distribution)?, &reference)
            .await
            .map_err(failed)?;
        println!(
            "    invalidation {id} (CloudFront completes it within minutes; the run does not wait)"
        );
        Ok(format!("invalidation {id}"))
    }
}

/// A site table's sites no longer in the settings: found by their stacks'
/// names and tags, each distribution stack deleted (CloudFront disables
/// the distribution first: minutes), its retained bucket emptied and
/// deleted, then its grants stack. The other sites serve throughout.
async fn remove_sites(
    settings: &Settings,
    (prefix, region): (&str, &str),
    (grants_prefix, grants_region): (&str, &str),
    keep: &[String],
) -> Result<String, CommandError> {
    let config = aws::sdk_config(region, None).await;
    let grants_config = aws::sdk_config(grants_region, None).await;
    let dropped = |found: Vec<String>, prefix: &str| -> Vec<(String, String)> {
        found
            .into_iter()
            .filter_map(|stack| {
                let name = stack.trim_start_matches(prefix).to_owned();
                (!keep.contains(&name)).then_some((stack, name))
            })
            .collect()
    };
    let sites = aws::stacks_with_prefix(
        &config,
        prefix,
        &settings.application,
        &settings.environment,
    )
    .await
    .map_err(failed)?;
    let mut removed = Vec::new();
    for (stack, name) in dropped(sites, prefix) {
        println!("    {name}: no longer in the settings; deleting {stack}");
        let bucket = aws::existing_outputs(&config, &stack)
            .await
            .map_err(failed)?
            .and_then(|o| o.get("BucketName").cloned());
        delete_or_fail(&config, &stack, |status| println!("      {status}")).await?;
        if let Some(bucket) = bucket {
            let versions = aws::delete_bucket(&config, &bucket).await.map_err(failed)?;
            println!(
                "      its bucket {bucket}: {versions} object versions deleted, and the bucket"
            );
        }
        removed.push(name);
    }
    // Every grants stack of a site not kept: those of the sites just
    // removed, and any a removal an earlier run did not finish left.
    let grants = aws::stacks_with_prefix(
        &grants_config,
        grants_prefix,
        &settings.application,
        &settings.environment,
    )
    .await
    .map_err(failed)?;
    for (stack, name) in dropped(grants, grants_prefix) {
        delete_or_fail(&grants_config, &stack, |_| {}).await?;
        if removed.contains(&name) {
            println!("    {stack} deleted: its distribution's grants are gone");
        } else {
            println!("    {stack} deleted: the grants of a site removed earlier");
            removed.push(name);
        }
    }
    Ok(if removed.is_empty() {
        "none".into()
    } else {
        format!("removed {}", removed.join(", "))
    })
}

/// Deletes `stack` and waits; a deletion CloudFormation could not finish
/// fails the run, naming the resource.
async fn delete_or_fail(
    config: &aws_config::SdkConfig,
    stack: &str,
    progress: impl FnMut(&str),
) -> Result<(), CommandError> {
    match aws::delete_stack(
        config,
        stack,
        crate::destroy::Patience::default().poll,
        progress,
    )
    .await
    .map_err(failed)?
    {
        aws::Deletion::Deleted => Ok(()),
        aws::Deletion::Failed { resource, reason } => Err(failed(format!(
            "{stack}: {resource} was not deleted: {reason}"
        ))),
    }
}

async fn retired_stack(stack: &str, region: &str) -> Result<String, CommandError> {
    let config = aws::sdk_config(region, None).await;
    Ok(
        match aws::stack_status(&config, stack).await.map_err(failed)? {
            None => {
                println!("    none: nothing to retire");
                "none".into()
            }
            Some(_) => {
                println!(
                    "    {stack} is there, unused since this deployment: CloudFront removes its Lambda@Edge replicas within hours; then delete it with\n      aws cloudformation delete-stack --region {region} --stack-name {stack}\n    (edge-auth-deploy destroy deletes it too, retrying while replicas remain)"
                );
                "left in place (delete it once its replicas are gone)".into()
            }
        },
    )
}

/// What a stack's deployment waits for, so that minutes of silence are
/// expected: CloudFront's changes reach every edge location before
/// CloudFormation calls them done.
/// `[monitoring]`'s log groups: made where missing, their retention set.
async fn ensure_log_groups(
    groups: &[String],
    region: &str,
    retention_days: i32,
) -> Result<String, CommandError> {
    let config = aws::sdk_config(region, None).await;
    let done = crate::log_groups::ensure(&config, groups, retention_days)
        .await
        .map_err(failed)?;
    let mut made = 0;
    for (group, what) in &done {
        let word = match what {
            crate::log_groups::Ensured::Made => {
                made += 1;
                "made"
            }
            crate::log_groups::Ensured::Found => "found",
        };
        println!("    {group}: {word}, kept {retention_days} days");
    }
    Ok(format!("{made} made, {} found", done.len() - made))
}

fn expected_wait(stack: &str) -> &'static str {
    if stack.ends_with("-distribution") {
        "a new or changed distribution takes 5 to 15 minutes to reach every edge location"
    } else if stack.ends_with("-edge-functions") {
        "Lambda@Edge versions: about a minute"
    } else {
        "usually under a minute"
    }
}

fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}.{}s", s, d.subsec_millis() / 100)
    }
}

/// The run's last lines: each step, what it changed, how long it took.
fn summary_table(rows: &[(String, String, Duration)]) -> String {
    use std::fmt::Write;
    let width = rows
        .iter()
        .map(|(l, _, _)| l.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!("\n{:<width$}  {:>7}  changed\n", "step", "took");
    for (label, result, took) in rows {
        let _ = writeln!(out, "{label:<width$}  {:>7}  {result}", duration(*took));
    }
    let total: Duration = rows.iter().map(|(_, _, t)| *t).sum();
    let _ = writeln!(out, "{:<width$}  {:>7}", "total", duration(total));
    out
}

/// The handlers' config.json, from the provider's documents, the user-pool
/// outputs (or the OIDC settings) and the site's URL when it is known.
fn config_for_handlers(
    settings: &Settings,
    provider: &Option<(Value, Value)>,
    session: &Option<package::SessionKeysLocation>,
    outputs: &Outputs,
    existing: &Outputs,
) -> Result<Value, CommandError> {
    let session = session.as_ref().ok_or("the session keys were not read")?;
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
    let site_url = settings.site_url().or_else(|| {
        existing
            .get(&settings.stack_name("distribution"))
            .and_then(|o| o.get("SiteUrl"))
            .cloned()
    });
    package::config_json(
        settings,
        discovery,
        jwks,
        &client_id,
        &secret,
        session,
        hosted.as_deref(),
        site_url.as_deref(),
    )
    .map_err(failed)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cognito_deployment_ends_with_the_invitation() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let prod = Settings::load(&root.join("deploy/prod.toml")).unwrap();
        let text = next_steps(
            &prod,
            Path::new("deploy/prod.toml"),
            "https://docs.example.com",
        );
        let command = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("edge-auth-deploy "))
            .expect(&text);
        assert_eq!(
            command,
            "user add --settings deploy/prod.toml --email you@example.org --group admins"
        );
        // The line is one the tool takes.
        crate::cli::parse_from(
            std::iter::once("edge-auth-deploy").chain(command.split_whitespace()),
        )
        .unwrap();
        assert!(
            text.contains("/aws/lambda/edge-auth-prod-auth-signin"),
            "{text}"
        );
    }

    #[test]
    fn the_summary_lines_up_each_step() {
        let table = summary_table(&[
            (
                "stack a-user-pool".into(),
                "created (CREATE_COMPLETE)".into(),
                Duration::from_secs(75),
            ),
            (
                "site sync".into(),
                "3 uploaded".into(),
                Duration::from_millis(1500),
            ),
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[1], "step                  took  changed");
        assert_eq!(
            lines[2],
            "stack a-user-pool    1m15s  created (CREATE_COMPLETE)"
        );
        assert_eq!(lines[3], "site sync             1.5s  3 uploaded");
        assert_eq!(lines[4], "total                1m16s");
    }
}
