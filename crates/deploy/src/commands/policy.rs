//! `edge-auth-deploy policy`: the deployer's IAM policy for the settings
//! (built in `crate::policy`), as a document, explained, or split into
//! customer managed policies.

use super::{Outcome, failed, load_settings};
use crate::cli::PolicyArgs;
use crate::policy;

pub fn main(args: &PolicyArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    if args.explain {
        let text = serde_json::to_string_pretty(&policy::explanation(&settings)).map_err(failed)?;
        println!("{text}");
        return Ok(());
    }
    let document = policy::document(&settings);
    if args.split {
        let parts = policy::split(&document, policy::MANAGED_LIMIT).map_err(failed)?;
        println!("{}", serde_json::to_string_pretty(&parts).map_err(failed)?);
        return Ok(());
    }
    print!("{}", policy::document_text(&settings));
    let size = policy::characters(&document);
    if size > policy::INLINE_LIMIT {
        eprintln!(
            "note: {size} characters, over IAM's {} for a role's inline policies: attach it as customer managed policies instead (`policy --split` prints it so)",
            policy::INLINE_LIMIT
        );
    }
    Ok(())
}
