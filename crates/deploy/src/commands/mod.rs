//! One module per command of `edge-auth-deploy` (`crate::cli` declares
//! them); what more than one command needs is here: loading the settings,
//! building and checking the plan, the key value store's ARN, the clock.

pub mod check;
pub mod deploy;
pub mod destroy;
pub mod federation;
pub mod plan;
pub mod policy;
pub mod preview;
pub mod revoke;
pub mod rotate;
pub mod share;
pub mod status;
pub mod token;
pub mod user;

use crate::aws;
use crate::cli::{Artifacts, EXIT_FAILED, EXIT_REFUSED, SettingsArg};
use crate::plan::{self as deploy_plan, Plan};
use crate::settings::Settings;

/// Why a command stopped; the exit status tells the two apart
/// (`cli::EXIT_CODES`).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Refused before anything changed: settings, values the templates
    /// would refuse, missing packages.
    #[error("{0}")]
    Refused(String),
    /// A call or a step failed; what ran before it stays.
    #[error("{0}")]
    Failed(String),
}

impl CommandError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Refused(_) => EXIT_REFUSED,
            CommandError::Failed(_) => EXIT_FAILED,
        }
    }
}

impl From<String> for CommandError {
    fn from(message: String) -> Self {
        CommandError::Failed(message)
    }
}

impl From<&str> for CommandError {
    fn from(message: &str) -> Self {
        CommandError::Failed(message.to_owned())
    }
}

/// Any error type's message as a failure (`.map_err(failed)`).
pub fn failed(e: impl std::fmt::Display) -> CommandError {
    CommandError::Failed(e.to_string())
}

pub type Outcome = Result<(), CommandError>;

pub fn load_settings(arg: &SettingsArg) -> Result<Settings, CommandError> {
    Settings::load(&arg.settings).map_err(|e| CommandError::Refused(e.to_string()))
}

/// The deploy's plan for these settings and artifacts, with the values
/// CloudFormation would refuse halfway through refused here.
pub fn plan_for(
    settings: &Settings,
    arg: &SettingsArg,
    artifacts: &Artifacts,
) -> Result<Plan, CommandError> {
    let plan = Plan::with_regional_packages(
        settings,
        &artifacts.packages,
        &artifacts.regional_packages(),
        &artifacts.work.join(&settings.environment),
    );
    deploy_plan::check_parameters(&plan, &artifacts.templates)
        .map_err(|e| CommandError::Refused(format!("{}: {e}", arg.settings.display())))?;
    Ok(plan)
}

/// What stops a run before its first call: the example's values still in
/// the settings, a package the plan needs and nobody built. Every finding,
/// one per line.
pub fn findings(settings: &Settings, arg: &SettingsArg, plan: &Plan) -> Vec<String> {
    let mut found = Vec::new();
    let placeholders = settings.example_placeholders();
    if !placeholders.is_empty() {
        let certificate = if placeholders
            .iter()
            .any(|p| p.contains(".certificate_arn = "))
        {
            " (the certificate must be an ACM certificate in us-east-1)"
        } else {
            ""
        };
        found.push(format!(
            "{} still has the example's values; edit them first{certificate}:\n    {}",
            arg.settings.display(),
            placeholders.join("\n    ")
        ));
    }
    found.extend(plan.missing_packages());
    found
}

/// Refuses a run that [`findings`] would stop.
pub fn ready_to_run(settings: &Settings, arg: &SettingsArg, plan: &Plan) -> Outcome {
    let found = findings(settings, arg, plan);
    if found.is_empty() {
        Ok(())
    } else {
        Err(CommandError::Refused(found.join("\n")))
    }
}

pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The deployed function's key value store (the viewer-function stack's
/// output).
pub async fn store_arn(
    config: &aws_config::SdkConfig,
    settings: &Settings,
) -> Result<String, CommandError> {
    let viewer = settings.stack_name("viewer-function");
    let outputs = aws::existing_outputs(config, &viewer)
        .await
        .map_err(failed)?
        .ok_or(format!(
            "{viewer} does not exist: deploy with the default authorizer (a CloudFront Function) first"
        ))?;
    Ok(outputs
        .get("KeyValueStoreArn")
        .cloned()
        .ok_or(format!("{viewer} has no key value store output"))?)
}

/// The outputs of the plan's stacks that exist now.
pub async fn existing_outputs(plan: &Plan) -> Result<crate::plan::Outputs, CommandError> {
    let mut existing = crate::plan::Outputs::new();
    for step in &plan.steps {
        if let crate::plan::Step::DeployStack { stack, region, .. } = step
            && !existing.contains_key(stack)
        {
            let config = aws::sdk_config(region, None).await;
            if let Some(found) = aws::existing_outputs(&config, stack)
                .await
                .map_err(failed)?
            {
                existing.insert(stack.clone(), found);
            }
        }
    }
    Ok(existing)
}

/// The deployment's Cognito user pool: the SDK configuration for its
/// region and its id (the user-pool stack's output).
pub async fn user_pool(
    settings: &Settings,
) -> Result<(aws_config::SdkConfig, String), CommandError> {
    let stack = settings.stack_name("user-pool");
    let config = aws::sdk_config(&settings.regions.user_pool, None).await;
    aws::check_credentials(&config).await.map_err(failed)?;
    let outputs = aws::existing_outputs(&config, &stack)
        .await
        .map_err(failed)?
        .ok_or(format!("{stack} does not exist: deploy first"))?;
    let pool = outputs
        .get("UserPoolId")
        .cloned()
        .ok_or(format!("{stack} has no output UserPoolId"))?;
    Ok((config, pool))
}
