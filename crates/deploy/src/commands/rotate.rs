//! `edge-auth-deploy rotate-session-key`: a new session key in three
//! phases (see `crate::session_keys` for why the order matters), or
//! `--now`, every key replaced at once after a leak.

use edge_auth_core::cloudfront_function;

use super::{
    CommandError, Outcome, failed, load_settings, now_seconds, plan_for, ready_to_run, store_arn,
};
use crate::cli::RotateArgs;
use crate::plan::{self, Outputs, Plan};
use crate::settings::{self, Settings};
use crate::{aws, session_keys};

pub async fn main(args: &RotateArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    let plan = plan_for(&settings, &args.settings, &args.artifacts)?;
    if args.dry_run.dry_run {
        return dry_run(args, &settings, &plan).await;
    }
    ready_to_run(&settings, &args.settings, &plan)?;
    rotate(args, &settings, &plan).await
}

/// The three phases of a session-key rotation, as `rotate` runs them.
fn rotation_text(
    settings: &Settings,
    current: Option<&edge_auth_core::session::SessionKeySet>,
    new_kid: &str,
    now: u64,
    deploy_plan: &str,
) -> String {
    let name = settings.session_keys_secret_name();
    let region = &settings.session_keys_region();
    let longest = settings.longest_session_seconds();
    let signing = current.map_or("<the current signing key>".to_owned(), |s| {
        s.signing_kid.clone()
    });
    let keys = current.map_or("<read from the secret>".to_owned(), session_keys::describe);
    let retire_at = now + longest + edge_auth_provider::keys::SIGNER_MAX_AGE.as_secs();
    format!(
        "rotate the session key of {app}-{env} (secret {name}, {region}); keys now: {keys}\n\
         1. add a new key {new_kid} to the set, not signing yet, and deploy every package with the set, so that every verifier holds it before anything signs with it:\n\
         {plan}\n\
         2. make {new_kid} the signing key in {name}: signin and refresh sign with it from their next start, or within {signer} minutes\n\
         3. retire {signing}: it stays in every verifier until every session it signed has expired ({minutes} minutes, the longest session, plus the signers' {signer}-minute re-read); from {when} it verifies nothing (its deadline is written into the key value store at once, and signin and refresh read it with the set), and the first deploy or rotation after then drops it from the set and from the key value store\n\
         nobody is signed out; the keys themselves are never printed\n",
        app = settings.application,
        env = settings.environment,
        plan = indented(deploy_plan),
        signer = edge_auth_provider::keys::SIGNER_MAX_AGE.as_secs() / 60,
        minutes = longest / 60,
        when = plan::utc(retire_at),
    )
}

/// The deploy plan's lines, indented under a rotation's step.
fn indented(deploy_plan: &str) -> String {
    deploy_plan
        .trim_end()
        .lines()
        .map(|l| format!("     {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `rotate-session-key --now`, said before it is done.
fn rotation_now_text(
    settings: &Settings,
    current: Option<&edge_auth_core::session::SessionKeySet>,
    new_kid: &str,
    deploy_plan: &str,
) -> String {
    let name = settings.session_keys_secret_name();
    let keys = current.map_or("<read from the secret>".to_owned(), session_keys::describe);
    format!(
        "replace every session key of {app}-{env} at once (a key has leaked); keys now: {keys}\n\
         1. the set in {name} becomes one new key, {new_kid}, signing at once; every other key leaves it\n\
         2. deploy every package and the key value store with the new set: every verifier drops the old keys (the store's key:<kid> entries are deleted), and every session they signed is refused:\n\
         {plan}\n\
         everyone is signed out and signs in again; until the deploy finishes a sign-in may be refused (the new key is not everywhere yet)\n\
         the keys themselves are never printed\n",
        app = settings.application,
        env = settings.environment,
        plan = indented(deploy_plan),
    )
}

async fn dry_run(args: &RotateArgs, settings: &Settings, plan: &Plan) -> Outcome {
    let now = now_seconds();
    let current = if args.dry_run.offline {
        None
    } else {
        let config = aws::sdk_config(&settings.session_keys_region(), None).await;
        match aws::read_session_keys(&config, &settings.session_keys_secret_name()).await {
            Ok(Some(set)) => Some(set),
            Ok(None) => {
                return Err(CommandError::Failed(format!(
                    "{} does not exist: deploy first",
                    settings.session_keys_secret_name()
                )));
            }
            Err(e) => {
                return Err(CommandError::Failed(format!(
                    "{e} (use --offline to see the rotation without AWS)"
                )));
            }
        }
    };
    let text = plan.dry_run_text(&Outputs::new())?;
    let new_kid = format!("k{now}");
    if args.now {
        print!(
            "{}",
            rotation_now_text(settings, current.as_ref(), &new_kid, &text)
        );
    } else {
        print!(
            "{}",
            rotation_text(settings, current.as_ref(), &new_kid, now, &text)
        );
    }
    Ok(())
}

/// `rotate-session-key`: see `session_keys` for why the order matters.
async fn rotate(args: &RotateArgs, settings: &Settings, plan: &Plan) -> Outcome {
    let name = settings.session_keys_secret_name();
    let config = aws::sdk_config(&settings.session_keys_region(), None).await;
    let mut set = aws::read_session_keys(&config, &name)
        .await
        .map_err(failed)?
        .ok_or(format!("{name} does not exist: deploy first"))?;
    let now = now_seconds();
    if args.now {
        let (new_kid, dropped) =
            session_keys::replace_all(&mut set, now, &mut edge_auth_core::SystemEntropy);
        print!(
            "{}",
            rotation_now_text(settings, None, &new_kid, "(the deploy below)")
        );
        aws::put_session_keys(&config, &name, &set)
            .await
            .map_err(failed)?;
        println!(
            "1. {name} holds {new_kid} alone, signing; {} left it",
            dropped.join(", ")
        );
        let url = super::deploy::run(settings, plan, &args.artifacts).await?;
        println!("2. deployed: {url}; every session signed before now is refused");
        return Ok(());
    }
    session_keys::drop_retired(&mut set, now);
    let new_kid = session_keys::add_next(&mut set, now, &mut edge_auth_core::SystemEntropy);
    print!(
        "{}",
        rotation_text(settings, Some(&set), &new_kid, now, "(the deploy below)")
    );
    aws::put_session_keys(&config, &name, &set)
        .await
        .map_err(failed)?;
    println!("1. {new_kid} added to {name}; deploying every package with it");
    let url = super::deploy::run(settings, plan, &args.artifacts).await?;
    println!("   deployed: {url}");
    if settings.authorizer == settings::Authorizer::CloudfrontFunction {
        // The deploy's test requests include a session signed with each
        // key of the set: the deploy got here only because CloudFront's
        // runtime, reading the store, let one signed with the new key in.
        println!(
            "   CloudFront's runtime verified a session signed with {new_kid} against the key value store (the deploy's function test) before anything signs with it"
        );
    }
    let mut set = aws::read_session_keys(&config, &name)
        .await
        .map_err(failed)?
        .ok_or(format!("{name} disappeared during the rotation"))?;
    if !set.keys.iter().any(|k| k.kid == new_kid) {
        return Err(CommandError::Failed(format!(
            "{new_kid} is no longer in {name}: another rotation ran at the same time? Nothing was switched."
        )));
    }
    session_keys::promote(
        &mut set,
        &new_kid,
        now_seconds(),
        settings.longest_session_seconds(),
    );
    aws::put_session_keys(&config, &name, &set)
        .await
        .map_err(failed)?;
    println!("2. {new_kid} signs from now on");
    println!("3. {}", session_keys::describe(&set));
    // The retiring key's deadline reaches the function now, not at the
    // next deploy (signin and refresh read it from the set).
    if settings.authorizer == settings::Authorizer::CloudfrontFunction {
        println!("   {}", write_store_keys(settings, &set).await?);
    }
    Ok(())
}

/// Writes the set's `key:<kid>` entries (with a retiring key's deadline)
/// into the distribution's key value store; other entries stay.
async fn write_store_keys(
    settings: &Settings,
    set: &edge_auth_core::session::SessionKeySet,
) -> Result<String, CommandError> {
    let config = aws::sdk_config(&settings.regions.distribution, None).await;
    let arn = store_arn(&config, settings).await?;
    let entries = cloudfront_function::session_key_entries(&set.verify_keys());
    cloudfront_function::check_store_limits(&entries).map_err(failed)?;
    aws::write_key_value_store(
        &aws::key_value_store(&config),
        &arn,
        cloudfront_function::SESSION_KEY_PREFIX,
        &entries,
    )
    .await
    .map(|changes| format!("key value store: {changes}"))
    .map_err(failed)
}
