//! `edge-auth-deploy share`, `share list`, `share revoke`: links that open
//! one page or folder for a guest until they expire
//! (`edge_auth_core::share`). A link is a token of the deployment's
//! session key with its own `typ`, `sub` `share:<id>` and the pattern;
//! it is printed once and kept nowhere. The store keeps its record
//! (`share:<id>`: pattern, site, times) for `list`, and `revoke` writes
//! `revoked:share:<id>`, which the function reads as every revocation:
//! also for a link made on the share page, which has no record (its id is
//! in signin's `share-created` log line).

use edge_auth_core::session::SessionClaims;
use edge_auth_core::share::{SHARE_SUBJECT_PREFIX, check_pattern};
use serde_json::json;

use super::token::{
    list_records, new_id, parse_ttl, put_record, revoke_subject, signer_of, site_claim,
};
use super::{CommandError, Outcome, load_settings, now_seconds};
use crate::cli::{SettingsArg, ShareArgs, ShareCommand};
use crate::settings::{Settings, ShareLimits};

/// The store's prefix of a link's record.
pub const RECORD_PREFIX: &str = "share:";

pub async fn main(args: &ShareArgs) -> Outcome {
    match &args.command {
        Some(ShareCommand::List(settings)) => list(&load_settings(settings)?).await,
        Some(ShareCommand::Revoke(revoke)) => {
            let settings = load_settings(&revoke.settings)?;
            shares_on(&settings)?;
            // Page-made links have no record: any id is revoked.
            revoke_subject(&settings, revoke, SHARE_SUBJECT_PREFIX, None, "share").await
        }
        None => create(args).await,
    }
}

fn shares_on(settings: &Settings) -> Result<ShareLimits, CommandError> {
    settings.shares.ok_or_else(|| {
        CommandError::Refused(
            "shared links are off: add [shares] max_ttl_days = N to the settings and deploy (the function then reads the links' cookie)".into(),
        )
    })
}

async fn create(args: &ShareArgs) -> Outcome {
    // clap requires these without a subcommand.
    let (Some(settings), Some(pattern), Some(ttl)) = (&args.settings, &args.path, &args.ttl) else {
        return Err(CommandError::Refused("--settings, --path and --ttl".into()));
    };
    let settings = load_settings(&SettingsArg {
        settings: settings.clone(),
    })?;
    let limits = shares_on(&settings)?;
    let ttl_seconds = parse_ttl(ttl).map_err(CommandError::Refused)?;
    if ttl_seconds > limits.max_seconds() {
        return Err(CommandError::Refused(format!(
            "--ttl {ttl}: longer than [shares] max_ttl_days = {} (the function refuses a longer one)",
            limits.max_ttl_days
        )));
    }
    let paths = edge_auth_core::config::PathSettings::default();
    check_pattern(pattern, &paths.auth_prefix)
        .map_err(|e| CommandError::Refused(format!("--path {e}")))?;
    let site = site_claim(&settings, args.site.as_deref())?;
    let base = match (&args.site, settings.sites.is_empty()) {
        (Some(name), false) => settings
            .sites
            .iter()
            .find(|s| &s.name == name)
            .map(|s| format!("https://{}", s.domain)),
        _ => settings.site_url(),
    };
    // Every group a rule names: the pattern's rules let the link through
    // (the pattern is the limit, and the per-request check holds it).
    let groups: Vec<String> = settings
        .groups_named()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let id = new_id();
    let now = now_seconds();
    let record = json!({"path": pattern, "site": site, "iat": now, "exp": now + ttl_seconds});
    let key = format!("{RECORD_PREFIX}{id}");
    if args.dry_run {
        println!(
            "would make a link {id} for {pattern} ({ttl_seconds} s; groups {}), sign it with the session key set {}, and put {key} in {}'s key value store (dry run: nothing made)",
            groups.join(", "),
            settings.session_keys_secret_name(),
            settings.stack_name("viewer-function")
        );
        return Ok(());
    }
    let signer = signer_of(&settings).await?;
    // Without a domain of its own, the distribution's address.
    let base = match base {
        Some(base) => base,
        None => {
            let stack = settings.stack_name("distribution");
            let config = crate::aws::sdk_config(&settings.regions.distribution, None).await;
            crate::aws::existing_outputs(&config, &stack)
                .await
                .map_err(super::failed)?
                .and_then(|o| o.get("SiteUrl").cloned())
                .ok_or(format!("{stack} has no SiteUrl: deploy first"))?
        }
    };
    let claims = SessionClaims {
        sub: format!("{SHARE_SUBJECT_PREFIX}{id}"),
        name: "a shared link".into(),
        groups,
        sid: id.clone(),
        iat: now,
        exp: now + ttl_seconds,
        auth_time: None,
        idp_auth_time: None,
        mfa: None,
        site,
    };
    let token = signer.sign_share(&claims, pattern);
    // The record first: a link the store does not list is never printed.
    put_record(&settings, &key, &record).await?;
    eprintln!(
        "link {id} opens {pattern} until {}: printed once, kept nowhere (`share revoke --id {id}` ends it)",
        crate::plan::utc(now + ttl_seconds)
    );
    println!(
        "{base}{}?{}",
        paths.share,
        edge_auth_core::query::encode_form([("link", token.as_str())])
    );
    Ok(())
}

async fn list(settings: &Settings) -> Outcome {
    shares_on(settings)?;
    println!("id                      pattern  site  created  expires  state");
    list_records(settings, RECORD_PREFIX, SHARE_SUBJECT_PREFIX, |record| {
        record["path"].as_str().unwrap_or("?").to_owned()
    })
    .await
}
