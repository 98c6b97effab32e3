//! `edge-auth-deploy token create|list|revoke`: service tokens for
//! machines (link checkers, indexers, probes). A token is the session's
//! claims with its own `typ` (`edge_auth_core::session::SERVICE_TYPE`),
//! signed by the deployment's session key, sent in `Authorization: Bearer`
//! and decided by the same rules. It is printed once and kept nowhere:
//! the store keeps its record (`token:<id>`: name, groups, site, times)
//! for `list`, and `revoke` writes `revoked:token:<id>`, which the
//! function reads as every revocation.

use edge_auth_core::session::{SessionClaims, SessionSigner, TOKEN_SUBJECT_PREFIX};
use serde_json::json;

use super::{CommandError, Outcome, failed, load_settings, now_seconds, store_arn};
use crate::aws;
use crate::cli::{TokenCommand, TokenCreateArgs, TokenRevokeArgs};
use crate::settings::Settings;

/// The store's prefix of a token's record.
pub const RECORD_PREFIX: &str = "token:";

pub async fn main(command: &TokenCommand) -> Outcome {
    match command {
        TokenCommand::Create(args) => create(args).await,
        TokenCommand::List(args) => list(&load_settings(args)?).await,
        TokenCommand::Revoke(args) => revoke(args).await,
    }
}

/// `30d`, `12h`, `90m`, `45s`: seconds.
pub fn parse_ttl(text: &str) -> Result<u64, String> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let scale = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(format!("{text:?}: a number and d, h, m or s (30d, 12h)")),
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n * scale),
        _ => Err(format!("{text:?}: a whole number of d, h, m or s, over 0")),
    }
}

fn tokens_on(settings: &Settings) -> Result<&crate::settings::TokenLimits, CommandError> {
    settings.tokens.as_ref().ok_or_else(|| {
        CommandError::Refused(
            "service tokens are off: add [tokens] max_ttl_days = N to the settings and deploy (the function then reads Authorization: Bearer)".into(),
        )
    })
}

/// The `site` claim for `--site`: with a table, the site's session (its
/// sign-in group's name, or its own); without one, none.
pub(super) fn site_claim(
    settings: &Settings,
    site: Option<&str>,
) -> Result<Option<String>, CommandError> {
    match (settings.sites.is_empty(), site) {
        (true, None) => Ok(None),
        (true, Some(name)) => Err(CommandError::Refused(format!(
            "--site {name}: these settings have one site, no [[sites]]"
        ))),
        (false, None) => Err(CommandError::Refused(
            "name the site the token opens: --site NAME (a token is taken only by its site, or its sign-in group's sites)".into(),
        )),
        (false, Some(name)) => settings
            .sites
            .iter()
            .find(|s| s.name == name)
            .map(|s| Some(s.session_scope()))
            .ok_or_else(|| CommandError::Refused(format!("--site {name}: no [[sites]] of that name"))),
    }
}

async fn create(args: &TokenCreateArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    let limits = tokens_on(&settings)?;
    let ttl = parse_ttl(&args.ttl).map_err(CommandError::Refused)?;
    if ttl > limits.max_seconds() {
        return Err(CommandError::Refused(format!(
            "--ttl {}: longer than [tokens] max_ttl_days = {} (the function refuses a longer one)",
            args.ttl, limits.max_ttl_days
        )));
    }
    let named = settings.groups_named();
    if let Some(group) = args.groups.iter().find(|g| !named.contains(g.as_str())) {
        return Err(CommandError::Refused(format!(
            "--groups {group}: no rule names it, so it would open nothing (rules name: {})",
            named.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    let site = site_claim(&settings, args.site.as_deref())?;
    let id = new_id();
    let now = now_seconds();
    let record = json!({
        "name": args.name, "groups": args.groups, "site": site,
        "iat": now, "exp": now + ttl,
    });
    let key = format!("{RECORD_PREFIX}{id}");
    if args.dry_run {
        println!(
            "would mint a service token {id} ({}; groups {}; {} s), sign it with the session key set {}, and put {key} in {}'s key value store (dry run: nothing minted)",
            args.name,
            args.groups.join(", "),
            ttl,
            settings.session_keys_secret_name(),
            settings.stack_name("viewer-function")
        );
        return Ok(());
    }
    let signer = signer_of(&settings).await?;
    let claims = SessionClaims {
        sub: format!("{TOKEN_SUBJECT_PREFIX}{id}"),
        name: args.name.clone(),
        groups: args.groups.clone(),
        sid: id.clone(),
        iat: now,
        exp: now + ttl,
        auth_time: None,
        idp_auth_time: None,
        mfa: None,
        site,
    };
    let token = signer.sign_service(&claims);
    // The record first: a token the store does not list is never printed.
    put_record(&settings, &key, &record).await?;
    eprintln!(
        "service token {id} ({}), groups {}, until {}: printed once, kept nowhere (`token revoke {id}` ends it)",
        args.name,
        args.groups.join(", "),
        crate::plan::utc(now + ttl)
    );
    println!("{token}");
    Ok(())
}

async fn list(settings: &Settings) -> Outcome {
    tokens_on(settings)?;
    println!("id                      name  groups  site  created  expires  state");
    list_records(settings, RECORD_PREFIX, TOKEN_SUBJECT_PREFIX, |record| {
        format!(
            "{}  {}",
            record["name"].as_str().unwrap_or("?"),
            record["groups"]
                .as_array()
                .map(|g| g
                    .iter()
                    .filter_map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(","))
                .unwrap_or_default()
        )
    })
    .await
}

/// Each record under `record_prefix` in the store: its id, what
/// `describe` makes of it, site, times, and active, expired or revoked
/// (`revoked:<subject_prefix><id>`).
pub(super) async fn list_records(
    settings: &Settings,
    record_prefix: &str,
    subject_prefix: &str,
    describe: impl Fn(&serde_json::Value) -> String,
) -> Outcome {
    let config = aws::sdk_config(&settings.regions.distribution, None).await;
    aws::check_credentials(&config).await.map_err(failed)?;
    let arn = store_arn(&config, settings).await?;
    let (entries, _, _) = aws::read_store_entries(&aws::key_value_store(&config), &arn)
        .await
        .map_err(failed)?;
    let now = now_seconds();
    for (key, value) in entries.iter().filter(|(k, _)| k.starts_with(record_prefix)) {
        let id = &key[record_prefix.len()..];
        let record: serde_json::Value = serde_json::from_str(value).unwrap_or_default();
        let revoked = entries.contains_key(&edge_auth_core::cloudfront_function::revocation_key(
            &format!("{subject_prefix}{id}"),
        ));
        let exp = record["exp"].as_u64().unwrap_or(0);
        let state = if revoked {
            "revoked"
        } else if exp <= now {
            "expired"
        } else {
            "active"
        };
        println!(
            "{id}  {}  {}  {}  {}  {state}",
            describe(&record),
            record["site"].as_str().unwrap_or("-"),
            crate::plan::utc(record["iat"].as_u64().unwrap_or(0)),
            crate::plan::utc(exp)
        );
    }
    Ok(())
}

/// A new token's or link's id: 16 random bytes, base64url.
pub(super) fn new_id() -> String {
    let mut bytes = [0u8; 16];
    edge_auth_core::Entropy::fill(&mut edge_auth_core::SystemEntropy, &mut bytes);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// The deployment's session signer, read from its key set.
pub(super) async fn signer_of(settings: &Settings) -> Result<SessionSigner, CommandError> {
    let keys_config = aws::sdk_config(&settings.session_keys_region(), None).await;
    aws::check_credentials(&keys_config).await.map_err(failed)?;
    let set = aws::read_session_keys(&keys_config, &settings.session_keys_secret_name())
        .await
        .map_err(failed)?
        .ok_or("no session key set yet: deploy first")?;
    set.signer().map_err(failed)
}

/// A record (`token:<id>`, `share:<id>`) into the function's store.
pub(super) async fn put_record(
    settings: &Settings,
    key: &str,
    record: &serde_json::Value,
) -> Outcome {
    let config = aws::sdk_config(&settings.regions.distribution, None).await;
    let arn = store_arn(&config, settings).await?;
    aws::put_in_store(
        &aws::key_value_store(&config),
        &arn,
        key,
        &record.to_string(),
    )
    .await
    .map_err(failed)?;
    Ok(())
}

async fn revoke(args: &TokenRevokeArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    tokens_on(&settings)?;
    revoke_subject(
        &settings,
        args,
        TOKEN_SUBJECT_PREFIX,
        Some(RECORD_PREFIX),
        "token",
    )
    .await
}

/// `revoked:<subject_prefix><id>` into the store (old revocations past
/// their horizon pruned in the same write). With `record_prefix`, only
/// an id the store has a record of.
pub(super) async fn revoke_subject(
    settings: &Settings,
    args: &TokenRevokeArgs,
    subject_prefix: &str,
    record_prefix: Option<&str>,
    what: &str,
) -> Outcome {
    let key = edge_auth_core::cloudfront_function::revocation_key(&format!(
        "{subject_prefix}{}",
        args.id
    ));
    if args.dry_run {
        println!(
            "would put {key} in {}'s key value store: the {what} is refused once the entry reaches the edge (dry run: nothing written)",
            settings.stack_name("viewer-function")
        );
        return Ok(());
    }
    let config = aws::sdk_config(&settings.regions.distribution, None).await;
    aws::check_credentials(&config).await.map_err(failed)?;
    let arn = store_arn(&config, settings).await?;
    let client = aws::key_value_store(&config);
    if let Some(prefix) = record_prefix {
        let (entries, _, _) = aws::read_store_entries(&client, &arn)
            .await
            .map_err(failed)?;
        if !entries.contains_key(&format!("{prefix}{}", args.id)) {
            return Err(CommandError::Refused(format!(
                "no {what} {} in the store (`{what} list` shows them)",
                args.id
            )));
        }
    }
    let skew = settings.clock_skew_seconds;
    let changes = aws::revoke_in_store(&client, &arn, &key, || {
        let now = aws::server_date().unwrap_or_else(now_seconds);
        (now + skew, settings.revocation_horizons(now))
    })
    .await
    .map_err(failed)?;
    println!("revoked {what} {}: put {key}\n    {changes}", args.id);
    println!("done: within seconds the edge refuses it");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_read_as_people_write_them() {
        assert_eq!(parse_ttl("30d"), Ok(30 * 86_400));
        assert_eq!(parse_ttl("12h"), Ok(12 * 3_600));
        assert_eq!(parse_ttl("90m"), Ok(5_400));
        for bad in ["", "d", "0d", "-1d", "1w", "1.5d", "30"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
}
