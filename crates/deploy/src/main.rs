//! `edge-auth-deploy --settings deploy/prod.toml [--dry-run]`: deploys the
//! user pool, writes config.json into the packages, deploys the edge
//! functions in us-east-1, the regional auth endpoints and the
//! distribution, syncs the site and invalidates the cache, printing each
//! step and each `sam deploy` command line before it runs it. `--dry-run`
//! prints the plan with those exact command lines and changes nothing: with
//! credentials it reads the existing stacks (so a re-run's commands carry
//! their values) and the bucket to say what the sync would upload and
//! delete; `--offline` makes no call at all.
//!
//! `edge-auth-deploy destroy --settings … [--dry-run] [--empty-bucket]`:
//! the teardown (src/destroy.rs). `edge-auth-deploy user add --settings …
//! --email E [--group G] [--dry-run]`: invites a user to the pool.
//! `edge-auth-deploy policy --settings … [--explain]`: the deployer's IAM
//! policy (src/policy.rs).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use edge_auth_core::cloudfront_function;
use edge_auth_deploy::plan::{self, Outputs, Plan, Step, resolve};
use edge_auth_deploy::settings::{self, Provider, Settings};
use edge_auth_deploy::{aws, destroy, package, policy, sam, session_keys, template};

struct Args {
    destroy: bool,
    /// `rotate-session-key`.
    rotate: bool,
    /// `rotate-session-key --now`: every key out at once (a leaked key).
    now: bool,
    /// `policy`: print the deployer's IAM policy (`--explain`: with what it
    /// is built from and what it leaves out).
    policy: Option<bool>,
    /// `user add`: the address to invite, and the group to put it in.
    user_add: Option<(String, Option<String>)>,
    /// `revoke --user SUB`: the provider's `sub` whose sessions end.
    revoke: Option<String>,
    settings: PathBuf,
    dry_run: bool,
    offline: bool,
    empty_bucket: bool,
    packages: PathBuf,
    regional_packages: Option<PathBuf>,
    templates: PathBuf,
    work: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        destroy: false,
        rotate: false,
        now: false,
        policy: None,
        user_add: None,
        revoke: None,
        settings: PathBuf::new(),
        dry_run: false,
        offline: false,
        empty_bucket: false,
        packages: "dist".into(),
        regional_packages: None,
        templates: "sam".into(),
        work: ".edge-auth-deploy".into(),
    };
    let mut it = std::env::args().skip(1).peekable();
    let mut email = None;
    let mut group = None;
    let user_add = match it.peek().map(String::as_str) {
        Some("destroy") => {
            args.destroy = true;
            it.next();
            false
        }
        Some("rotate-session-key") => {
            args.rotate = true;
            it.next();
            false
        }
        Some("revoke") => {
            it.next();
            args.revoke = Some(String::new());
            false
        }
        Some("policy") => {
            it.next();
            args.policy = Some(false);
            false
        }
        Some("user") => {
            it.next();
            if it.next().as_deref() != Some("add") {
                return Err("`user` takes `add` (see --help)".into());
            }
            true
        }
        _ => false,
    };
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--explain" if args.policy.is_some() => args.policy = Some(true),
            "--now" if args.rotate => args.now = true,
            "--email" if user_add => email = Some(value("--email")?),
            "--group" if user_add => group = Some(value("--group")?),
            "--user" if args.revoke.is_some() => args.revoke = Some(value("--user")?),
            "--settings" => args.settings = value("--settings")?.into(),
            "--dry-run" => args.dry_run = true,
            "--offline" => args.offline = true,
            "--empty-bucket" if args.destroy => args.empty_bucket = true,
            "--packages" => args.packages = value("--packages")?.into(),
            "--regional-packages" => {
                args.regional_packages = Some(value("--regional-packages")?.into())
            }
            "--templates" => args.templates = value("--templates")?.into(),
            "--work" => args.work = value("--work")?.into(),
            "--help" | "-h" => {
                println!(
                    "edge-auth-deploy --settings deploy/<env>.toml [--dry-run [--offline]] [--packages dist] [--regional-packages dist/regional] [--templates sam] [--work DIR]\n\
                     edge-auth-deploy destroy --settings deploy/<env>.toml [--dry-run [--offline]] [--empty-bucket]\n\
                     edge-auth-deploy rotate-session-key --settings deploy/<env>.toml [--now] [--dry-run [--offline]]   (new session key; nobody is signed out; --now: a leaked key, every key out at once, everyone signed out)\n\
                     edge-auth-deploy user add --settings deploy/<env>.toml --email ADDRESS [--group GROUP] [--dry-run]\n\
                     edge-auth-deploy revoke --settings deploy/<env>.toml --user SUB [--dry-run]   (end the user's sessions at the edge)\n\
                     edge-auth-deploy policy --settings deploy/<env>.toml [--explain]   (the deployer's IAM policy)\n\n\
                     --dry-run   print the plan and change nothing (reads the stacks and the bucket when credentials are found)\n\
                     --offline   with --dry-run: make no AWS call at all"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other} (see --help)")),
        }
    }
    if args.settings.as_os_str().is_empty() {
        return Err("--settings deploy/<env>.toml is required".into());
    }
    if args.offline && !args.dry_run {
        return Err("--offline only goes with --dry-run".into());
    }
    match args.revoke.as_deref() {
        Some("") => return Err("revoke needs --user SUB (the provider's `sub` claim)".into()),
        Some(sub) if sub.len() > 400 || sub.chars().any(char::is_control) => {
            return Err(
                "--user: a provider's `sub`, at most 400 bytes, no control characters".into(),
            );
        }
        _ => {}
    }
    if user_add {
        let email = email.ok_or("user add needs --email ADDRESS")?;
        // Cognito's own check is stricter; this catches a missing or
        // mistyped option before any call.
        let (local, domain) = email.split_once('@').unwrap_or(("", ""));
        if local.is_empty() || !domain.contains('.') || email.contains(char::is_whitespace) {
            return Err(format!("--email {email}: not an e-mail address"));
        }
        args.user_add = Some((email, group));
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    // `edge-auth-deploy --dry-run | head` ends quietly, as other command
    // line tools do, rather than panic on the closed pipe.
    #[cfg(unix)]
    // SAFETY: restores the default action before any thread writes output.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("edge-auth-deploy: {e}");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::load(&args.settings) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("edge-auth-deploy: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(explain) = args.policy {
        if explain {
            println!(
                "{}",
                serde_json::to_string_pretty(&policy::explanation(&settings)).unwrap_or_default()
            );
        } else {
            print!("{}", policy::document_text(&settings));
        }
        return ExitCode::SUCCESS;
    }
    if args.destroy {
        return destroy_main(&args, &settings).await;
    }
    if let Some(sub) = &args.revoke {
        return match revoke(&args, &settings, sub).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("edge-auth-deploy: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some((email, group)) = &args.user_add {
        return match user_add(&args, &settings, email, group.as_deref()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("edge-auth-deploy: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // The templates' CodeUri is ../../dist/configured/<name>.zip, relative
    // to each template: stage templates and configured zips side by side.
    let regional_packages = args
        .regional_packages
        .clone()
        .unwrap_or_else(|| args.packages.join("regional"));
    let plan = Plan::with_regional_packages(
        &settings,
        &args.packages,
        &regional_packages,
        &args.work.join(&settings.environment),
    );
    // What CloudFormation would refuse halfway through is refused here.
    if let Err(e) = plan::check_parameters(&plan, &args.templates) {
        eprintln!("edge-auth-deploy: {}: {e}", args.settings.display());
        return ExitCode::from(2);
    }
    if args.rotate && args.dry_run {
        return rotate_dry_run(&args, &settings, &plan).await;
    }
    if args.dry_run {
        return dry_run(&args, &settings, &plan).await;
    }
    let placeholders = settings.example_placeholders();
    if !placeholders.is_empty() {
        eprintln!(
            "edge-auth-deploy: {} still has the example's values; edit them first (the certificate must be an ACM certificate in us-east-1):\n    {}",
            args.settings.display(),
            placeholders.join("\n    ")
        );
        return ExitCode::from(2);
    }
    let missing = plan.missing_packages();
    if !missing.is_empty() {
        eprintln!("edge-auth-deploy: {}", missing.join("\nedge-auth-deploy: "));
        return ExitCode::from(2);
    }
    if args.rotate {
        return match rotate(&args, &settings, &plan).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("edge-auth-deploy: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match run(&args, &settings, &plan).await {
        Ok(url) => {
            println!("done: {url}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("edge-auth-deploy: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `user add`: a new pool lets only administrators create accounts, so
/// right after a first deploy nobody can sign in until someone is invited.
async fn user_add(
    args: &Args,
    settings: &Settings,
    email: &str,
    group: Option<&str>,
) -> Result<(), String> {
    let Provider::Cognito { admin_group, .. } = &settings.provider else {
        return Err(
            "the settings name an OpenID provider of your own: add users there, not here".into(),
        );
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
    if args.dry_run && args.offline {
        println!("would {what} (offline: the pool was not looked up)");
        return Ok(());
    }
    let config = aws::sdk_config(region, None).await;
    aws::check_credentials(&config)
        .await
        .map_err(|e| e.to_string())?;
    let outputs = aws::existing_outputs(&config, &stack)
        .await
        .map_err(|e| e.to_string())?
        .ok_or(format!("{stack} does not exist: deploy first"))?;
    let pool = outputs
        .get("UserPoolId")
        .ok_or(format!("{stack} has no output UserPoolId"))?;
    if args.dry_run {
        println!("would {what} (pool {pool}; dry run: nothing changed)");
        return Ok(());
    }
    match aws::add_user(&config, pool, email, group)
        .await
        .map_err(|e| e.to_string())?
    {
        aws::UserAdded::Invited => println!(
            "invited {email} (pool {pool}): Cognito has e-mailed a temporary password, to be changed at the first sign-in{}",
            group.map_or(String::new(), |g| format!("; member of {g}"))
        ),
        aws::UserAdded::AlreadyThere => println!(
            "{email} is already in pool {pool} (no new invitation sent){}",
            group.map_or(String::new(), |g| format!("; member of {g}"))
        ),
    }
    Ok(())
}

/// `revoke --user SUB`: every session of that user issued up to now is
/// refused by the CloudFront Function once the store's entry has reached
/// the edge (seconds). Entries whose sessions have all expired are dropped
/// in the same write.
async fn revoke(args: &Args, settings: &Settings, sub: &str) -> Result<(), String> {
    if settings.authorizer != edge_auth_deploy::settings::Authorizer::CloudfrontFunction {
        return Err(
            "revoke needs the CloudFront Function's key value store; authorizer = \"lambda-edge\" has none (Lambda@Edge cannot read one): disable the user at the provider instead"
                .into(),
        );
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
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let config = aws::sdk_config(&settings.regions.distribution, None).await;
    aws::check_credentials(&config)
        .await
        .map_err(|err| e(&err))?;
    let arn = store_arn(&config, settings).await?;
    let client = aws::key_value_store(&config);
    let changes = aws::revoke_in_store(&client, &arn, &key, now, keep_after)
        .await
        .map_err(|err| e(&err))?;
    println!("    {changes}");
    println!(
        "done: within seconds the edge refuses those sessions; the user signs in again at the provider, so disable them there too to keep them out (Cognito: admin-disable-user and admin-user-global-sign-out, which also ends their refresh tokens)"
    );
    Ok(())
}

async fn destroy_main(args: &Args, settings: &Settings) -> ExitCode {
    let teardown = destroy::Teardown::new(settings, args.empty_bucket);
    let outputs = if args.offline {
        Ok(Outputs::new())
    } else {
        let first = aws::sdk_config(plan::EDGE_REGION, None).await;
        match aws::check_credentials(&first).await {
            Ok(()) => destroy::read_outputs(&teardown, None)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    };
    if args.dry_run {
        println!(
            "teardown plan for {} {} (dry run: nothing is deleted):",
            settings.application, settings.environment
        );
        let known = match &outputs {
            Ok(outputs) => outputs.clone(),
            Err(e) => {
                println!("(the stacks were not read: {e})");
                Outputs::new()
            }
        };
        print!("{}", destroy::describe(&teardown, &known));
        return ExitCode::SUCCESS;
    }
    let outputs = match outputs {
        Ok(outputs) => outputs,
        Err(e) => {
            eprintln!("edge-auth-deploy: {e}");
            return ExitCode::FAILURE;
        }
    };
    match destroy::run(&teardown, &outputs, None, &destroy::Patience::default()).await {
        Ok(()) => {
            println!(
                "destroyed: {} {}",
                settings.application, settings.environment
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("edge-auth-deploy: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The outputs of the plan's stacks that exist now.
async fn existing_outputs(plan: &Plan) -> Result<Outputs, String> {
    let mut existing = Outputs::new();
    for step in &plan.steps {
        if let Step::DeployStack { stack, region, .. } = step
            && !existing.contains_key(stack)
        {
            let config = aws::sdk_config(region, None).await;
            if let Some(found) = aws::existing_outputs(&config, stack)
                .await
                .map_err(|e| e.to_string())?
            {
                existing.insert(stack.clone(), found);
            }
        }
    }
    Ok(existing)
}

/// The plan, with the exact command lines a run would execute. With
/// credentials (and without `--offline`) it first reads which stacks exist,
/// so a re-run's commands show the values they would really carry, and
/// what the site sync would upload and delete. Changes nothing.
async fn dry_run(args: &Args, settings: &Settings, plan: &Plan) -> ExitCode {
    // None: offline, nothing read.
    let read = if args.offline {
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
    match plan.dry_run_text(&existing) {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("edge-auth-deploy: {e}");
            return ExitCode::FAILURE;
        }
    }
    let placeholders = settings.example_placeholders();
    if !placeholders.is_empty() {
        println!(
            "edit {} first: it still has the example's values (a run refuses them; the certificate must be an ACM certificate in us-east-1):\n    {}",
            args.settings.display(),
            placeholders.join("\n    ")
        );
    }
    for missing in plan.missing_packages() {
        println!("{missing}");
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
    ExitCode::SUCCESS
}

/// What a dry run can tell from the account without changing it: the
/// outputs of the stacks that exist, and a report of which stacks exist and
/// what the site sync would upload and delete.
async fn account_reads(plan: &Plan) -> Result<(Outputs, String), String> {
    use std::fmt::Write;
    let first = aws::sdk_config(plan::EDGE_REGION, None).await;
    aws::check_credentials(&first)
        .await
        .map_err(|e| e.to_string())?;
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
                    .map_err(|e| e.to_string())?
                {
                    Some(mut set) => {
                        session_keys::drop_retired(&mut set, now_seconds());
                        Some(set.keys.iter().map(|k| k.kid.clone()).collect())
                    }
                    None => None,
                };
            }
            Step::WriteKeyValueStore { store } => {
                let wanted = match &kids {
                    Some(kids) => kids
                        .iter()
                        .map(|kid| cloudfront_function::session_key_entry(kid))
                        .collect::<Vec<_>>()
                        .join(", "),
                    None => "key:<the new key's id> (the set is created by the run)".into(),
                };
                let now_there = match resolve(store, &existing, &existing) {
                    Ok(arn) => {
                        let config = aws::sdk_config(plan::EDGE_REGION, None).await;
                        let names = aws::store_names(&aws::key_value_store(&config), &arn)
                            .await
                            .map_err(|e| e.to_string())?;
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
                            .map_err(|e| e.to_string())?;
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

/// The handlers' config.json, from the provider's documents, the user-pool
/// outputs (or the OIDC settings) and the site's URL when it is known.
fn config_for_handlers(
    settings: &Settings,
    provider: &Option<(serde_json::Value, serde_json::Value)>,
    session: &Option<package::SessionKeysLocation>,
    outputs: &Outputs,
    existing: &Outputs,
) -> Result<serde_json::Value, String> {
    let session = session.as_ref().ok_or("the session keys were not read")?;
    let e = |e: &dyn std::fmt::Display| e.to_string();
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
    let config = package::config_json(
        settings,
        discovery,
        jwks,
        &client_id,
        &secret,
        session,
        hosted.as_deref(),
        site_url.as_deref(),
    )
    .map_err(|err| e(&err))?;
    Ok(config)
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

async fn rotate_dry_run(args: &Args, settings: &Settings, plan: &Plan) -> ExitCode {
    let now = now_seconds();
    let current = if args.offline {
        None
    } else {
        let config = aws::sdk_config(&settings.session_keys_region(), None).await;
        match aws::read_session_keys(&config, &settings.session_keys_secret_name()).await {
            Ok(Some(set)) => Some(set),
            Ok(None) => {
                eprintln!(
                    "edge-auth-deploy: {} does not exist: deploy first",
                    settings.session_keys_secret_name()
                );
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("edge-auth-deploy: {e} (use --offline to see the rotation without AWS)");
                return ExitCode::FAILURE;
            }
        }
    };
    let text = match plan.dry_run_text(&Outputs::new()) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("edge-auth-deploy: {e}");
            return ExitCode::FAILURE;
        }
    };
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
    ExitCode::SUCCESS
}

/// `rotate-session-key`: see `session_keys` for why the order matters.
async fn rotate(args: &Args, settings: &Settings, plan: &Plan) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let name = settings.session_keys_secret_name();
    let config = aws::sdk_config(&settings.session_keys_region(), None).await;
    let mut set = aws::read_session_keys(&config, &name)
        .await
        .map_err(|err| e(&err))?
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
            .map_err(|err| e(&err))?;
        println!(
            "1. {name} holds {new_kid} alone, signing; {} left it",
            dropped.join(", ")
        );
        let url = run(args, settings, plan).await?;
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
        .map_err(|err| e(&err))?;
    println!("1. {new_kid} added to {name}; deploying every package with it");
    let url = run(args, settings, plan).await?;
    println!("   deployed: {url}");
    let mut set = aws::read_session_keys(&config, &name)
        .await
        .map_err(|err| e(&err))?
        .ok_or(format!("{name} disappeared during the rotation"))?;
    if !set.keys.iter().any(|k| k.kid == new_kid) {
        return Err(format!(
            "{new_kid} is no longer in {name}: another rotation ran at the same time? Nothing was switched."
        ));
    }
    session_keys::promote(
        &mut set,
        &new_kid,
        now_seconds(),
        settings.longest_session_seconds(),
    );
    aws::put_session_keys(&config, &name, &set)
        .await
        .map_err(|err| e(&err))?;
    println!("2. {new_kid} signs from now on");
    println!("3. {}", session_keys::describe(&set));
    // The retiring key's deadline reaches the function now, not at the
    // next deploy (signin and refresh read it from the set).
    if settings.authorizer == settings::Authorizer::CloudfrontFunction {
        println!("   {}", write_store_keys(settings, &set).await?);
    }
    Ok(())
}

/// The deployed distribution's key value store (its stack's output).
async fn store_arn(config: &aws_config::SdkConfig, settings: &Settings) -> Result<String, String> {
    let distribution = settings.stack_name("distribution");
    let outputs = aws::existing_outputs(config, &distribution)
        .await
        .map_err(|err| err.to_string())?
        .ok_or(format!("{distribution} does not exist: deploy first"))?;
    outputs.get("KeyValueStoreArn").cloned().ok_or(format!(
        "{distribution} has no key value store: deploy with the default authorizer first"
    ))
}

/// Writes the set's `key:<kid>` entries (with a retiring key's deadline)
/// into the distribution's key value store; other entries stay.
async fn write_store_keys(
    settings: &Settings,
    set: &edge_auth_core::session::SessionKeySet,
) -> Result<String, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let config = aws::sdk_config(&settings.regions.distribution, None).await;
    let arn = store_arn(&config, settings).await?;
    let entries = cloudfront_function::session_key_entries(&set.verify_keys());
    cloudfront_function::check_store_limits(&entries).map_err(|err| e(&err))?;
    aws::write_key_value_store(
        &aws::key_value_store(&config),
        &arn,
        cloudfront_function::SESSION_KEY_PREFIX,
        &entries,
    )
    .await
    .map(|changes| format!("key value store: {changes}"))
    .map_err(|err| e(&err))
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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

async fn run(args: &Args, settings: &Settings, plan: &Plan) -> Result<String, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let work = args.work.join(&settings.environment);
    copy_dir(&args.templates, &work.join("sam"))
        .map_err(|err| format!("staging templates: {err}"))?;
    let first = aws::sdk_config(plan::EDGE_REGION, None).await;
    aws::check_credentials(&first)
        .await
        .map_err(|err| e(&err))?;

    // The stacks an earlier run left: a re-run without a custom domain
    // registers and configures the distribution's real URL from the start.
    let existing = existing_outputs(plan).await?;
    let mut outputs = Outputs::new();
    let mut provider: Option<(serde_json::Value, serde_json::Value)> = None;
    let mut session: Option<package::SessionKeysLocation> = None;
    let mut handlers_config: Option<serde_json::Value> = None;
    let mut parsed_config: Option<edge_auth_core::Config> = None;
    let mut url = String::new();
    let total = plan.steps.len();
    let mut changed_files = 0;
    let mut deployed = plan::Deployed::default();
    for (i, step) in plan.steps.iter().enumerate() {
        print!("[{}/{total}] {step}", i + 1);
        match step {
            Step::DeployStack {
                stack,
                template,
                region,
                parameters,
                tags,
            } => {
                let params = parameters
                    .iter()
                    .map(|(k, v)| resolve(v, &outputs, &existing).map(|v| (k.clone(), v)))
                    .collect::<Result<Vec<_>, _>>()?;
                if !deployed.needs(stack, &params) {
                    println!(
                        "    same parameters as its deployment earlier in this run: nothing to update"
                    );
                    continue;
                }
                // The parameters just resolved, through the same builder as
                // the dry run's `Step::command`.
                let argv = sam::deploy_command(template, stack, region, &params, tags)
                    .map_err(|err| format!("stack {stack}: {err}"))?;
                let config = aws::sdk_config(region, None).await;
                let status = aws::stack_status(&config, stack)
                    .await
                    .map_err(|err| e(&err))?;
                aws::check_resumable(stack, status.as_ref()).map_err(|err| e(&err))?;
                println!("    $ {}", sam::shell_line(&argv).replace('\n', "\n    "));
                if !aws::sam_deploy(&argv).await.map_err(|err| e(&err))? {
                    return Err(e(&aws::failure_reason(&config, stack).await));
                }
                let found = aws::stack_outputs(&config, stack)
                    .await
                    .map_err(|err| e(&err))?;
                outputs.insert(stack.clone(), found);
                deployed.record(stack, params);
            }
            Step::FreeSecretName {
                stack,
                name,
                region,
            } => {
                if existing.contains_key(stack) {
                    println!("    {stack} exists: its secret is its own");
                    continue;
                }
                let config = aws::sdk_config(region, None).await;
                match aws::clear_deleted_secret(&config, name)
                    .await
                    .map_err(|err| e(&err))?
                {
                    aws::SecretName::Free => println!("    {name} is free"),
                    aws::SecretName::Cleared => println!(
                        "    {name} was scheduled for deletion (a destroyed deployment's): deleted for good"
                    ),
                }
            }
            Step::FetchProvider { discovery_url } => {
                let client = edge_auth_provider::ProviderClient::new(&Default::default());
                let discovery_url = resolve(discovery_url, &outputs, &existing)?;
                let discovery = client.get_json(&discovery_url).await?;
                package::check_discovery_issuer(&discovery_url, &discovery)?;
                let jwks_uri = discovery["jwks_uri"]
                    .as_str()
                    .ok_or("the discovery document has no jwks_uri")?
                    .to_owned();
                let jwks = client.get_json(&jwks_uri).await?;
                provider = Some((discovery, jwks));
            }
            Step::SessionKeys { name, region } => {
                let config = aws::sdk_config(region, None).await;
                let keys = session_keys::ensure(&config, settings, name, now_seconds())
                    .await
                    .map_err(|err| e(&err))?;
                session = Some(package::SessionKeysLocation {
                    name: name.clone(),
                    region: region.clone(),
                    keys,
                });
            }
            Step::WriteConfig { packages, into } => {
                // One config.json for every package: computed at the first
                // of these steps, written by each.
                if handlers_config.is_none() {
                    let value =
                        config_for_handlers(settings, &provider, &session, &outputs, &existing)?;
                    // The core's own reading of it, for the function and
                    // its store.
                    parsed_config = Some(
                        edge_auth_core::Config::from_json(&value.to_string())
                            .map_err(|err| format!("config.json: {err}"))?,
                    );
                    handlers_config = Some(value);
                }
                let config = handlers_config.as_ref().ok_or("no config.json")?;
                let keys = session.as_ref().ok_or("the session keys were not read")?;
                for (path, size) in package::write_configured_packages(
                    packages,
                    into,
                    config,
                    &keys.keys.verify_keys(),
                )
                .map_err(|err| e(&err))?
                {
                    println!("    {}: {size} bytes", path.display());
                }
            }
            Step::RenderViewerFunction { template: path } => {
                let config = parsed_config
                    .as_ref()
                    .ok_or("config.json was not written yet")?;
                let code = cloudfront_function::render_checked(config).map_err(|err| e(&err))?;
                let text = std::fs::read_to_string(path)
                    .map_err(|err| format!("{}: {err}", path.display()))?;
                let rendered = template::with_viewer_function(&text, &code)
                    .map_err(|err| format!("{}: {err}", path.display()))?;
                std::fs::write(path, rendered)
                    .map_err(|err| format!("{}: {err}", path.display()))?;
                println!(
                    "    {} bytes (CloudFront takes {})",
                    code.len(),
                    cloudfront_function::MAX_FUNCTION_BYTES
                );
            }
            Step::WriteKeyValueStore { store } => {
                let keys = session.as_ref().ok_or("the session keys were not read")?;
                // The session verify keys; revocations are `revoke`'s and
                // stay as they are.
                let entries = cloudfront_function::session_key_entries(&keys.keys.verify_keys());
                cloudfront_function::check_store_limits(&entries).map_err(|err| e(&err))?;
                let arn = resolve(store, &outputs, &existing)?;
                // The store is global; its data plane signs with SigV4A.
                let sdk = aws::sdk_config(&settings.regions.distribution, None).await;
                let changes = aws::write_key_value_store(
                    &aws::key_value_store(&sdk),
                    &arn,
                    cloudfront_function::SESSION_KEY_PREFIX,
                    &entries,
                )
                .await
                .map_err(|err| e(&err))?;
                println!("    {changes}");
            }
            Step::RetiredStack { stack, region } => {
                let config = aws::sdk_config(region, None).await;
                match aws::stack_status(&config, stack)
                    .await
                    .map_err(|err| e(&err))?
                {
                    None => println!("    none: nothing to retire"),
                    Some(_) => println!(
                        "    {stack} is there, unused since this deployment: CloudFront removes its Lambda@Edge replicas within hours; then delete it with\n      aws cloudformation delete-stack --region {region} --stack-name {stack}\n    (edge-auth-deploy destroy deletes it too, retrying while replicas remain)"
                    ),
                }
            }
            Step::WritePlaceholders { packages } => {
                for path in packages {
                    let size = package::write_placeholder_zip(path).map_err(|err| e(&err))?;
                    println!("    {}: {size} bytes", path.display());
                }
            }
            Step::SyncSite {
                bucket,
                directory,
                region,
            } => {
                let config = aws::sdk_config(region, None).await;
                let files = aws::site_files(directory)
                    .map_err(|err| format!("{}: {err}", directory.display()))?;
                let changes =
                    aws::sync_site(&config, &resolve(bucket, &outputs, &existing)?, &files)
                        .await
                        .map_err(|err| e(&err))?;
                changed_files = changes.upload.len() + changes.delete.len();
                println!("    {changes}");
            }
            Step::Invalidate { distribution } => {
                if changed_files == 0 {
                    println!("    nothing changed: no invalidation");
                    continue;
                }
                let config = aws::sdk_config(plan::EDGE_REGION, None).await;
                let reference = format!(
                    "edge-auth-deploy-{}",
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs())
                );
                let id = aws::invalidate(
                    &config,
                    &resolve(distribution, &outputs, &existing)?,
                    &reference,
                )
                .await
                .map_err(|err| e(&err))?;
                println!("    invalidation {id}");
            }
            Step::Announce { url: site } => url = resolve(site, &outputs, &existing)?,
        }
    }
    Ok(url)
}
