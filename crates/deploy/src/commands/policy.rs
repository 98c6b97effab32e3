//! `edge-auth-deploy policy`: the deployer's IAM policy for the settings
//! (built in `crate::policy`), as a document or explained.

use super::{Outcome, load_settings};
use crate::cli::PolicyArgs;
use crate::policy;

pub fn main(args: &PolicyArgs) -> Outcome {
    let settings = load_settings(&args.settings)?;
    if args.explain {
        let text =
            serde_json::to_string_pretty(&policy::explanation(&settings)).map_err(super::failed)?;
        println!("{text}");
    } else {
        print!("{}", policy::document_text(&settings));
    }
    Ok(())
}
