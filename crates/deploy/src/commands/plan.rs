//! `edge-auth-deploy plan` (and `deploy --dry-run`): the plan with the
//! exact command lines a run would execute, changing nothing.

use edge_auth_core::cloudfront_function;

use super::{
    CommandError, Outcome, existing_outputs, failed, load_settings, now_seconds, plan_for,
};
use crate::aws;
use crate::cli::{PlanArgs, SettingsArg};
use crate::plan::{self, Outputs, Plan, Step, resolve};
use crate::session_keys;
use crate::settings::Settings;

pub async fn main(args: &PlanArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    let plan = plan_for(&settings, &args.settings, &args.artifacts)?;
    dry_run(&args.settings, args.offline, &settings, &plan).await
}

/// The plan, with the exact command lines a run would execute. With
/// credentials (and without `--offline`) it first reads which stacks exist,
/// so a re-run's commands show the values they would really carry, and
/// what the site sync would upload and delete. Changes nothing.
pub async fn dry_run(
    arg: &SettingsArg,
    offline: bool,
    settings: &Settings,
    plan: &Plan,
) -> Outcome {
    // None: offline, nothing read.
    let read = if offline {
        None
    } else {
        Some(account_reads(plan).await)
    };
    let existing = match &read {
        Some(Ok((existing, _))) => existing.clone(),
        _ => Outputs::new(),
    };
    println!(
        "plan for {} {} (dry run: nothing is changed):",
        settings.application, settings.environment
    );
    print!("{}", plan.dry_run_text(&existing)?);
    // What the corporate providers' administrators enter (the pool's id
    // from its stack when a run before this one made it).
    if let (
        crate::settings::Provider::Cognito {
            hosted_domain_prefix,
            ..
        },
        (_, federation),
    ) = (&settings.provider, settings.federation())
        && !federation.is_empty()
    {
        let pool_id = existing
            .get(&settings.stack_name("user-pool"))
            .and_then(|outputs| outputs.get("UserPoolId"))
            .map(String::as_str);
        let sp = crate::federation::service_provider(
            hosted_domain_prefix,
            &settings.regions.user_pool,
            pool_id,
        );
        println!("at the corporate identity providers, enter:");
        for line in crate::federation::service_provider_lines(federation, &sp) {
            println!("    {line}");
        }
    }
    // What a run would refuse, said as the run says it.
    for finding in super::findings(settings, arg, plan) {
        println!("{finding}");
    }
    match read {
        None => println!(
            "(offline: the stacks and the bucket were not read; the commands are a first deploy's, <stack.Output> is filled in by the run)"
        ),
        Some(Err(e)) => println!(
            "(the stacks and the bucket were not read: {e}; the commands are a first deploy's)"
        ),
        Some(Ok((_, report))) => print!("{report}"),
    }
    Ok(())
}

/// What a dry run can tell from the account without changing it: the
/// outputs of the stacks that exist, and a report of which stacks exist and
/// what the site sync would upload and delete.
async fn account_reads(plan: &Plan) -> Result<(Outputs, String), CommandError> {
    use std::fmt::Write;
    let first = aws::sdk_config(plan::EDGE_REGION, None).await;
    aws::check_credentials(&first).await.map_err(failed)?;
    let existing = existing_outputs(plan).await?;
    let mut report = String::from("read from the account (nothing changed):\n");
    let mut seen = std::collections::BTreeSet::new();
    // The session key set as the run would find it (names only).
    let mut kids: Option<Vec<String>> = None;
    for step in &plan.steps {
        match step {
            Step::SessionKeys { name, region } => {
                let config = aws::sdk_config(region, None).await;
                kids = match aws::read_session_keys(&config, name)
                    .await
                    .map_err(failed)?
                {
                    Some(mut set) => {
                        session_keys::drop_retired(&mut set, now_seconds());
                        Some(set.keys.iter().map(|k| k.kid.clone()).collect())
                    }
                    None => None,
                };
            }
            Step::WriteKeyValueStore { store, sites, .. } => {
                // The keys, and the test requests' revoked user.
                let probe = cloudfront_function::revocation_key(
                    edge_auth_core::function_probe::PROBE_REVOKED_SUB,
                );
                let wanted = match &kids {
                    Some(kids) => kids
                        .iter()
                        .map(|kid| cloudfront_function::session_key_entry(kid))
                        .chain([probe])
                        .chain(sites.iter().map(|host| format!("site:{host}")))
                        .collect::<Vec<_>>()
                        .join(", "),
                    None => std::iter::once(format!(
                        "key:<the new key's id> (the set is created by the run), {probe}"
                    ))
                    .chain(sites.iter().map(|host| format!("site:{host}")))
                    .collect::<Vec<_>>()
                    .join(", "),
                };
                let now_there = match resolve(store, &existing, &existing) {
                    Ok(arn) => {
                        let config = aws::sdk_config(plan::EDGE_REGION, None).await;
                        let names = aws::store_names(&aws::key_value_store(&config), &arn)
                            .await
                            .map_err(failed)?;
                        if names.is_empty() {
                            "nothing".to_owned()
                        } else {
                            names.join(", ")
                        }
                    }
                    Err(_) => "no store yet (first deploy)".to_owned(),
                };
                let _ = writeln!(
                    report,
                    "    key value store: the run writes {wanted}; it holds {now_there} (names only, values never shown)"
                );
            }
            Step::DeployStack { stack, .. } if seen.insert(stack.clone()) => {
                let _ = writeln!(
                    report,
                    "    {stack}: {}",
                    if existing.contains_key(stack) {
                        "exists, will be updated"
                    } else {
                        "new, will be created"
                    }
                );
            }
            Step::SyncSite {
                bucket,
                directory,
                region,
            } => {
                let files = aws::site_files(directory)
                    .map_err(|err| format!("{}: {err}", directory.display()))?;
                match resolve(bucket, &existing, &existing) {
                    Ok(bucket) => {
                        let config = aws::sdk_config(region, None).await;
                        let changes = aws::site_changes(&config, &bucket, &files)
                            .await
                            .map_err(failed)?;
                        let _ = writeln!(report, "    site sync: {changes}");
                    }
                    Err(_) => {
                        let _ = writeln!(
                            report,
                            "    site sync: first deploy, {} files to upload, nothing to delete",
                            files.len()
                        );
                    }
                }
            }
            _ => {}
        }
    }
    Ok((existing, report))
}
