//! `edge-auth-deploy preview upload|remove`: a branch's preview of a site
//! of the table, at `https://<branch>.<preview domain>/`. The live site is
//! never touched: the branch's files go under `<branch>/` in the previews'
//! bucket (`<app>-<env>-site-<name>-preview`), and the function's store
//! gets the branch's host (`edge_auth_core::sites::preview_entry_in`),
//! whose entry carries the site's rules, the branch's prefix, and the
//! start at the group's sign-in site (a provider takes no wildcard
//! callback). `deploy` writes the entries it finds again with its keys
//! and rules.

use std::collections::BTreeMap;

use super::{CommandError, Outcome, failed, load_settings, store_arn};
use crate::aws;
use crate::cli::{PreviewArgs, PreviewCommand, PreviewUploadArgs};
use crate::settings::{Settings, SiteEntry};

pub async fn main(command: &PreviewCommand) -> Outcome {
    match command {
        PreviewCommand::Upload(args) => upload(args).await,
        PreviewCommand::Remove(args) => remove(args).await,
    }
}

/// The site, its previews' settings, and the stack that serves them.
struct Target {
    settings: Settings,
    site: SiteEntry,
    stack: String,
    host: String,
}

fn target(args: &PreviewArgs) -> Result<Target, CommandError> {
    let settings = load_settings(&args.settings)?;
    let site = settings
        .sites
        .iter()
        .find(|s| s.name == args.site)
        .cloned()
        .ok_or_else(|| {
            CommandError::Refused(format!(
                "no site `{}` in {} (its [[sites]] names: {})",
                args.site,
                args.settings.settings.display(),
                settings
                    .sites
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let (Some(preview), Some(name)) = (site.preview.as_ref(), site.preview_name()) else {
        return Err(CommandError::Refused(format!(
            "site `{}` has no previews: give it [sites.preview] (a domain under its sign-in group's, and a certificate for *.<domain>), then deploy",
            site.name
        )));
    };
    let stack = settings.site_stack(&name);
    let host = format!("{}.{}", args.branch, preview.domain);
    Ok(Target {
        settings,
        site,
        stack,
        host,
    })
}

/// The previews' bucket and distribution (the stack's outputs).
async fn outputs(
    config: &aws_config::SdkConfig,
    stack: &str,
) -> Result<(String, String), CommandError> {
    let outputs = aws::existing_outputs(config, stack)
        .await
        .map_err(failed)?
        .ok_or_else(|| failed(format!("{stack} does not exist: deploy the settings first")))?;
    let get = |key: &str| {
        outputs
            .get(key)
            .cloned()
            .ok_or_else(|| failed(format!("{stack} has no output {key}")))
    };
    Ok((get("BucketName")?, get("DistributionId")?))
}

async fn upload(args: &PreviewUploadArgs) -> Outcome {
    let t = target(&args.preview)?;
    let branch = &args.preview.branch;
    if !args.dir.join("index.html").is_file() {
        return Err(CommandError::Refused(format!(
            "{}: no index.html here (the branch's build, served at the preview's root)",
            args.dir.display()
        )));
    }
    let prefix = format!("{branch}/");
    let mut files = aws::site_files(&args.dir).map_err(failed)?;
    for file in &mut files {
        file.key = format!("{prefix}{}", file.key);
    }
    let url = format!("https://{}/", t.host);
    let region = &t.settings.regions.distribution;
    let what = format!(
        "{} files of {} to s3://<{}.BucketName>/{prefix}, the store entry site:{} (the rules of {}, signing in through {}), an invalidation of the previews' distribution",
        files.len(),
        args.dir.display(),
        t.stack,
        t.host,
        t.site.name,
        t.settings
            .sign_in_site_of(&t.site)
            .map_or_else(|| "its group's sign-in site".to_owned(), SiteEntry::url)
    );
    let config = aws::sdk_config(region, None).await;
    let (bucket, distribution) = outputs(&config, &t.stack).await?;
    if args.preview.dry_run {
        let changes = aws::site_changes_under(&config, &bucket, &prefix, &files)
            .await
            .map_err(failed)?;
        println!("would put {what}\n    {changes}\n(dry run: nothing changed)");
        return Ok(());
    }
    // The store entry is made (and held to the store's limit) before any
    // file goes up: a branch that cannot be served uploads nothing.
    let (key, value) = entry(&t, branch).await?;
    let changes = aws::site_changes_under(&config, &bucket, &prefix, &files)
        .await
        .map_err(failed)?;
    aws::apply_site_changes(&config, &bucket, &changes)
        .await
        .map_err(failed)?;
    println!("files: {changes}");
    publish(&config, &t, &distribution, &key, Some(value)).await?;
    println!("preview of {} at {url}", t.site.name);
    Ok(())
}

/// The branch's store entry, with the deployment's session verify keys.
async fn entry(t: &Target, branch: &str) -> Result<(String, String), CommandError> {
    let (sites, groups) = t.settings.checked_table().map_err(CommandError::Refused)?;
    let secret = t.settings.session_keys_secret_name();
    let config = aws::sdk_config(&t.settings.session_keys_region(), None).await;
    let keys = aws::read_session_keys(&config, &secret)
        .await
        .map_err(failed)?
        .ok_or_else(|| {
            failed(format!(
                "{secret} does not exist: deploy the settings first"
            ))
        })?;
    let start = edge_auth_core::config::PathSettings::default().start;
    edge_auth_core::sites::preview_entry_in(
        &sites,
        &groups,
        &start,
        &t.site.name,
        branch,
        &keys.verify_keys(),
    )
    .map_err(|e| CommandError::Refused(e.to_string()))
}

/// The branch's host put into the store (`entry`) or taken out (`None`),
/// then the previews' distribution invalidated: what upload and remove
/// both end with.
async fn publish(
    config: &aws_config::SdkConfig,
    t: &Target,
    distribution: &str,
    key: &str,
    entry: Option<String>,
) -> Result<(), CommandError> {
    let store = store_arn(config, &t.settings).await?;
    let wanted: BTreeMap<String, String> = entry
        .map(|value| (key.to_owned(), value))
        .into_iter()
        .collect();
    let written = aws::write_key_value_store(&aws::key_value_store(config), &store, key, &wanted)
        .await
        .map_err(failed)?;
    println!("store: {written}");
    let reference = format!("preview-{}-{}", t.host, super::now_seconds());
    let invalidation = aws::invalidate(config, distribution, &reference)
        .await
        .map_err(failed)?;
    println!("invalidation {invalidation} of {distribution}");
    Ok(())
}

async fn remove(args: &PreviewArgs) -> Outcome {
    let t = target(args)?;
    let branch = &args.branch;
    let prefix = format!("{branch}/");
    let key = format!("{}{}", edge_auth_core::sites::SITE_PREFIX, t.host);
    let config = aws::sdk_config(&t.settings.regions.distribution, None).await;
    let (bucket, distribution) = outputs(&config, &t.stack).await?;
    let objects = aws::bucket_objects_under(&config, &bucket, &prefix)
        .await
        .map_err(failed)?;
    if args.dry_run {
        println!(
            "would delete the store entry {key}, then {} objects under s3://{bucket}/{prefix}, and invalidate {distribution} (dry run: nothing changed)",
            objects.len()
        );
        return Ok(());
    }
    // The host first: from then on it is no site's (a 404), whatever
    // files are left while they go.
    publish(&config, &t, &distribution, &key, None).await?;
    let keys: Vec<String> = objects.into_keys().collect();
    aws::delete_objects(&config, &bucket, &keys)
        .await
        .map_err(failed)?;
    println!("files: {} deleted under s3://{bucket}/{prefix}", keys.len());
    println!(
        "the preview of {} at https://{}/ is gone",
        t.site.name, t.host
    );
    Ok(())
}
