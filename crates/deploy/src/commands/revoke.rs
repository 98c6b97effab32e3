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
    // Sessions signed up to the cut-off are refused: AWS's time (the store
    // answer's Date) plus the skew the verifiers allow, so a signer whose
    // clock runs ahead is covered too. A revocation outlives every session
    // it could refuse by the longest session plus that skew.
    let skew = settings.clock_skew_seconds;
    let longest = settings.longest_session_seconds();
    let cut_off = move |now: u64| (now + skew, now.saturating_sub(longest + skew));
    if args.dry_run {
        let (until, keep_after) = cut_off(now_seconds());
        println!(
            "revoke the sessions of {sub} issued up to about {} (this machine's clock; the run takes AWS's, plus the {skew} s skew) in {distribution}'s key value store: put {key}; drop revoked: entries older than {}",
            plan::utc(until),
            plan::utc(keep_after)
        );
        println!("(dry run: nothing written)");
        return Ok(());
    }
    let config = aws::sdk_config(&settings.regions.distribution, None).await;
    aws::check_credentials(&config).await.map_err(failed)?;
    let arn = store_arn(&config, &settings).await?;
    let client = aws::key_value_store(&config);
    let clock = std::cell::Cell::new("AWS's clock");
    let shown = std::cell::Cell::new((0, 0));
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
        plan::utc(shown.1)
    );
    println!("    {changes}");
    println!(
        "done: within seconds the edge refuses those sessions; the user signs in again at the provider, so disable them there too to keep them out (Cognito: admin-disable-user and admin-user-global-sign-out, which also ends their refresh tokens)"
    );
    Ok(())
}
