//! `edge-auth-deploy check`: what a deploy would refuse before its first
//! call, found without calling anything: the settings, the values the
//! templates would refuse, the example's values, missing packages.

use super::{CommandError, Outcome, findings, load_settings, plan_for};
use crate::cli::CheckArgs;

pub fn main(args: &CheckArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    let plan = plan_for(&settings, &args.settings, &args.artifacts)?;
    // What to build for these settings, and nothing more.
    for build in plan.builds() {
        let names: Vec<String> = build
            .packages
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        println!(
            "packages: `{}` (or `nix build .#{}`) builds {}",
            build.command,
            build.nix,
            names.join(", ")
        );
    }
    let mut found = findings(&settings, &args.settings, &plan);
    if settings.authorizer == crate::settings::Authorizer::CloudfrontFunction {
        // The function these settings render, held to CloudFront's limit
        // here rather than when the distribution changes.
        match crate::package::settings_config(&settings).and_then(|config| {
            edge_auth_core::cloudfront_function::render_checked(&config).map_err(|e| e.to_string())
        }) {
            Ok(code) => println!(
                "the CloudFront Function these settings render: {} of {} bytes",
                code.len(),
                edge_auth_core::cloudfront_function::MAX_FUNCTION_BYTES
            ),
            Err(e) => found.push(format!("the CloudFront Function: {e}")),
        }
    }
    if !found.is_empty() {
        return Err(CommandError::Refused(found.join("\n")));
    }
    println!(
        "{}: ready to deploy {} {} ({} steps; `plan` shows them)",
        args.settings.settings.display(),
        settings.application,
        settings.environment,
        plan.steps.len()
    );
    Ok(())
}
