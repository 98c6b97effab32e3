//! `edge-auth-deploy revoke --user SUB`: every session of that user issued
//! up to now is refused by the CloudFront Function once the store's entry
//! has reached the edge (seconds). Entries whose sessions have all expired
//! are dropped in the same write.

use edge_auth_core::cloudfront_function;

use super::{CommandError, Outcome, failed, load_settings, now_seconds, store_arn};
use crate::cli::RevokeArgs;
use crate::settings::Authorizer;
use crate::{aws, plan};

pub async fn main(args: &RevokeArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    let sub = &args.user;
    if settings.authorizer != Authorizer::CloudfrontFunction {
        return Err(CommandError::Refused(
            "revoke needs the CloudFront Function's key value store; authorizer = \"lambda-edge\" has none (Lambda@Edge cannot read one): disable the user at the provider instead"
                .into(),
        ));
    }
    let distribution = settings.stack_name("distribution");
    let key = cloudfront_function::revocation_key(sub);
    let now = now_seconds();
    // A revocation outlives every session it could refuse by the longest
    // session plus the clock skew the verifiers allow.
    let keep_after =
        now.saturating_sub(settings.longest_session_seconds() + settings.clock_skew_seconds);
    println!(
        "revoke the sessions of {sub} issued up to {} in {distribution}'s key value store: put {key}; drop revoked: entries older than {}",
        plan::utc(now),
        plan::utc(keep_after)
    );
    if args.dry_run {
        println!("(dry run: nothing written)");
        return Ok(());
    }
    let config = aws::sdk_config(&settings.regions.distribution, None).await;
    aws::check_credentials(&config).await.map_err(failed)?;
    let arn = store_arn(&config, &settings).await?;
    let client = aws::key_value_store(&config);
    let changes = aws::revoke_in_store(&client, &arn, &key, now, keep_after)
        .await
        .map_err(failed)?;
    println!("    {changes}");
    println!(
        "done: within seconds the edge refuses those sessions; the user signs in again at the provider, so disable them there too to keep them out (Cognito: admin-disable-user and admin-user-global-sign-out, which also ends their refresh tokens)"
    );
    Ok(())
}
