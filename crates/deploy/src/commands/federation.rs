//! `edge-auth-deploy federation`: what an administrator enters at each
//! corporate identity provider of the pool (`[[provider.federation]]`):
//! for SAML the entity id and the assertion consumer service URL, for
//! OIDC the redirect URI; with `--template`, the user-pool template as
//! the deploy renders it (what cfn-lint and SAM's translator are run on).

use super::{CommandError, Outcome, failed, load_settings};
use crate::aws;
use crate::cli::FederationArgs;
use crate::federation;
use crate::settings::Provider;

pub async fn main(args: &FederationArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    let Provider::Cognito {
        hosted_domain_prefix,
        ..
    } = &settings.provider
    else {
        return Err(CommandError::Refused(
            "federation: the settings' provider is not a Cognito pool of this deployment ([provider] kind = \"cognito\"); your own provider federates itself".into(),
        ));
    };
    let (native, providers) = settings.federation();
    if args.template {
        let path = args.templates.join("user-pool/template.yaml");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| failed(format!("{}: {e}", path.display())))?;
        let rendered = federation::render(&text, providers, native, &settings.dir)
            .map_err(|e| failed(format!("{}: {e}", path.display())))?;
        print!("{rendered}");
        return Ok(());
    }
    if providers.is_empty() {
        println!("no [[provider.federation]] in the settings: the pool's own users sign in");
        return Ok(());
    }
    // The pool's id, when its stack exists (the SAML entity id holds it).
    let region = &settings.regions.user_pool;
    let pool_id = if args.offline {
        None
    } else {
        let config = aws::sdk_config(region, None).await;
        aws::existing_outputs(&config, &settings.stack_name("user-pool"))
            .await
            .map_err(failed)?
            .and_then(|outputs| outputs.get("UserPoolId").cloned())
    };
    let sp = federation::service_provider(hosted_domain_prefix, region, pool_id.as_deref());
    for line in federation::service_provider_lines(providers, &sp) {
        println!("{line}");
    }
    for line in federation::describe(providers, native) {
        println!("  {line}");
    }
    Ok(())
}
