//! `edge-auth-deploy revoke`: every session of a user issued up to now is
//! refused by the CloudFront Function once the store's entry has reached
//! the edge (seconds). Entries whose sessions have all expired are dropped
//! in the same write. With Cognito the user is found by `sub`, e-mail or
//! user name, and signed out there too (their refresh tokens end, so a
//! silent sign-in cannot start a new session), `--disable` disabling the
//! account.

use edge_auth_core::cloudfront_function;

use super::{CommandError, Outcome, failed, load_settings, now_seconds, store_arn};
use crate::cli::RevokeArgs;
use crate::settings::{Authorizer, Provider, Settings};
use crate::{aws, plan};

/// Whom to revoke, as the command line names them.
enum Target<'a> {
    Sub(&'a str),
    Email(&'a str),
    Username(&'a str),
}

impl Target<'_> {
    /// ListUsers' attribute and value.
    fn filter(&self) -> (&'static str, &str) {
        match self {
            Target::Sub(v) => ("sub", v),
            Target::Email(v) => ("email", v),
            Target::Username(v) => ("username", v),
        }
    }
}

pub async fn main(args: &RevokeArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    if settings.authorizer != Authorizer::CloudfrontFunction {
        return Err(CommandError::Refused(
            "revoke needs the CloudFront Function's key value store; authorizer = \"lambda-edge\" has none (Lambda@Edge cannot read one): disable the user at the provider instead"
                .into(),
        ));
    }
    let target = match (&args.user, &args.email, &args.username) {
        (Some(sub), _, _) => Target::Sub(sub),
        (_, Some(email), _) => Target::Email(email),
        (_, _, Some(name)) => Target::Username(name),
        _ => {
            return Err(CommandError::Refused(
                "name the user: --user, --email or --username".into(),
            ));
        }
    };
    let cognito = matches!(settings.provider, Provider::Cognito { .. });
    if !cognito && (!matches!(target, Target::Sub(_)) || args.disable) {
        return Err(CommandError::Refused(
            "--email, --username and --disable look the user up in the Cognito pool; with your own provider name them by --user SUB and disable them there".into(),
        ));
    }
    // The pool and the user in it (Cognito), found before anything is
    // written; a `sub` the pool does not know is still revoked at the edge.
    let pool = if cognito && !(args.dry_run && matches!(target, Target::Sub(_))) {
        Some(find_user(&settings, &target).await?)
    } else {
        None
    };
    let sub = match (&target, &pool) {
        (Target::Sub(sub), _) => (*sub).to_owned(),
        (_, Some((_, Some(user)))) => user.sub.clone(),
        _ => {
            let (attribute, value) = target.filter();
            return Err(CommandError::Failed(format!(
                "no user of the pool has {attribute} {value}"
            )));
        }
    };
    revoke_at_edge(&settings, &sub, args.dry_run).await?;
    let Some((pool_id, user)) = pool else {
        if cognito {
            println!(
                "(dry run: the pool was not read; the run also signs the user out of Cognito{})",
                if args.disable {
                    " and disables the account"
                } else {
                    ""
                }
            );
        } else {
            println!(
                "your own provider: end the user's sessions there too (their refresh tokens), or a silent sign-in starts a new session"
            );
        }
        return Ok(());
    };
    let Some(user) = user else {
        println!("no user of pool {pool_id} has sub {sub}: nothing to sign out at Cognito");
        return Ok(());
    };
    let what = format!(
        "sign {} out of Cognito (pool {pool_id}: their refresh tokens end){}",
        user.username,
        if args.disable {
            ", and disable the account"
        } else {
            ""
        }
    );
    if args.dry_run {
        println!("would {what} (dry run)");
        return Ok(());
    }
    let config = aws::sdk_config(&settings.regions.user_pool, None).await;
    aws::end_pool_sessions(&config, &pool_id, &user.username, args.disable)
        .await
        .map_err(failed)?;
    println!("done: {what}");
    Ok(())
}

/// The pool's id and the user the target names in it, if any.
async fn find_user(
    settings: &Settings,
    target: &Target<'_>,
) -> Result<(String, Option<aws::PoolUser>), CommandError> {
    let (config, pool) = super::user_pool(settings).await?;
    let (attribute, value) = target.filter();
    let user = aws::find_pool_user(&config, &pool, attribute, value)
        .await
        .map_err(failed)?;
    Ok((pool, user))
}

/// `revoked:<sub>` = the cut-off, in the function's key value store.
async fn revoke_at_edge(settings: &Settings, sub: &str, dry_run: bool) -> Outcome {
    let distribution = settings.stack_name("viewer-function");
    let key = cloudfront_function::revocation_key(sub);
    // Sessions signed up to the cut-off are refused: AWS's time (the store
    // answer's Date) plus the skew the verifiers allow, so a signer whose
    // clock runs ahead is covered too. A revocation outlives every session
    // it could refuse by the longest session plus that skew.
    let skew = settings.clock_skew_seconds;
    let cut_off = move |now: u64| (now + skew, settings.revocation_horizons(now));
    if dry_run {
        let (until, keep_after) = cut_off(now_seconds());
        let keep_after = keep_after.sessions;
        println!(
            "revoke the sessions of {sub} issued up to about {} (this machine's clock; the run takes AWS's, plus the {skew} s skew) in {distribution}'s key value store: put {key}; drop revoked: entries older than {}",
            plan::utc(until),
            plan::utc(keep_after)
        );
        println!(
            "and the same in the session key set {} (refresh renews none of those sessions)",
            settings.session_keys_secret_name()
        );
        println!("(dry run: nothing written)");
        return Ok(());
    }
    let config = aws::sdk_config(&settings.regions.distribution, None).await;
    aws::check_credentials(&config).await.map_err(failed)?;
    let arn = store_arn(&config, settings).await?;
    let client = aws::key_value_store(&config);
    let clock = std::cell::Cell::new("AWS's clock");
    let shown = std::cell::Cell::new((0, settings.revocation_horizons(0)));
    let changes = aws::revoke_in_store(&client, &arn, &key, || {
        let now = aws::server_date().unwrap_or_else(|| {
            clock.set("this machine's clock (AWS's answer had no Date)");
            now_seconds()
        });
        shown.set(cut_off(now));
        shown.get()
    })
    .await
    .map_err(failed)?;
    let (clock, shown) = (clock.get(), shown.get());
    println!(
        "revoked the sessions of {sub} issued up to {} ({clock}, plus the {skew} s skew) in {distribution}'s key value store: put {key}; dropped revoked: entries older than {}",
        plan::utc(shown.0),
        plan::utc(shown.1.sessions)
    );
    println!("    {changes}");
    println!(
        "    {}",
        revoke_in_key_set(settings, sub, shown.0, shown.1.sessions).await?
    );
    println!(
        "done: within seconds the edge refuses those sessions; within 10 minutes (the signers re-read the key set) refresh renews none of them"
    );
    Ok(())
}

/// The same revocation in the session key set the signers read with the
/// keys (refresh, signin), entries older than `keep_after` dropped: so a
/// refresh token cannot mint a session past the revocation.
async fn revoke_in_key_set(
    settings: &Settings,
    sub: &str,
    up_to: u64,
    keep_after: u64,
) -> Result<String, CommandError> {
    let config = aws::sdk_config(&settings.session_keys_region(), None).await;
    let name = settings.session_keys_secret_name();
    let mut set = aws::read_session_keys(&config, &name)
        .await
        .map_err(failed)?
        .ok_or_else(|| {
            failed(format!(
                "the session key set {name} does not exist: deploy first"
            ))
        })?;
    let stale: Vec<String> = set
        .revoked
        .iter()
        .filter(|(s, t)| s.as_str() != sub && **t < keep_after)
        .map(|(s, _)| s.clone())
        .collect();
    for s in &stale {
        set.revoked.remove(s);
    }
    set.revoked.insert(sub.to_owned(), up_to);
    aws::put_session_keys(&config, &name, &set)
        .await
        .map_err(failed)?;
    Ok(format!(
        "the session key set {name}: {sub} revoked up to {}; {} revocation(s) in it, {} older dropped",
        plan::utc(up_to),
        set.revoked.len(),
        stale.len()
    ))
}
