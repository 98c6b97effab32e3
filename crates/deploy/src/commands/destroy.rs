//! `edge-auth-deploy destroy`: the teardown `crate::destroy` plans, printed
//! (`--dry-run`) or run.

use super::{Outcome, failed, load_settings};
use crate::cli::DestroyArgs;
use crate::plan::{self, Outputs};
use crate::{aws, destroy};

pub async fn main(args: &DestroyArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    let teardown = destroy::Teardown::new(&settings, args.empty_bucket);
    let outputs = if args.dry_run.offline {
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
    if args.dry_run.dry_run {
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
        if !args.dry_run.offline {
            say_elsewhere(&settings).await;
        }
        return Ok(());
    }
    let outputs = outputs?;
    destroy::run(&teardown, &outputs, None, &destroy::Patience::default())
        .await
        .map_err(failed)?;
    println!(
        "destroyed: {} {}",
        settings.application, settings.environment
    );
    say_elsewhere(&settings).await;
    Ok(())
}

/// A deployment of the same names in another region is not this
/// teardown's to delete: it is named, with how to remove it.
async fn say_elsewhere(settings: &crate::settings::Settings) {
    for (region, stack) in crate::elsewhere::distribution_elsewhere(settings).await {
        println!(
            "also found, not deleted: {}",
            crate::elsewhere::remedy(settings, &region, &stack)
        );
    }
}
