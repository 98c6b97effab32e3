//! `edge-auth-deploy user add`: a new pool lets only administrators create
//! accounts, so right after a first deploy nobody can sign in until
//! someone is invited.

use super::{CommandError, Outcome, failed, load_settings};
use crate::aws;
use crate::cli::{UserAddArgs, UserCommand};
use crate::settings::Provider;

pub async fn main(command: &UserCommand) -> Outcome {
    match command {
        UserCommand::Add(args) => add(args).await,
    }
}

async fn add(args: &UserAddArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    let (email, group) = (&args.email, args.group.as_deref());
    let Provider::Cognito { admin_group, .. } = &settings.provider else {
        return Err(CommandError::Refused(
            "the settings name an OpenID provider of your own: add users there, not here".into(),
        ));
    };
    let stack = settings.stack_name("user-pool");
    let region = &settings.regions.user_pool;
    let what = format!(
        "invite {email} to the user pool of {stack} ({region}): Cognito e-mails a temporary password{}",
        group.map_or(String::new(), |g| format!(
            ", then add the user to the group {g}"
        ))
    );
    if let Some(g) = group
        && g != admin_group
    {
        println!(
            "note: {g} is not the pool's admin group ({admin_group}); the group must exist in the pool"
        );
    }
    if args.dry_run.offline {
        println!("would {what} (offline: the pool was not looked up)");
        return Ok(());
    }
    let (config, pool) = super::user_pool(&settings).await?;
    if args.dry_run.dry_run {
        println!("would {what} (pool {pool}; dry run: nothing changed)");
        return Ok(());
    }
    let member = group.map_or(String::new(), |g| format!("; member of {g}"));
    match aws::add_user(&config, &pool, email, group)
        .await
        .map_err(failed)?
    {
        aws::UserAdded::Invited => println!(
            "invited {email} (pool {pool}): Cognito has e-mailed a temporary password, to be changed at the first sign-in{member}"
        ),
        aws::UserAdded::AlreadyThere => {
            println!("{email} is already in pool {pool} (no new invitation sent){member}")
        }
    }
    Ok(())
}
