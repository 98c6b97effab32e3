//! The deploy tool's parts: the command line (`cli`) and one module per
//! command (`commands`), over settings, the plan, the `sam deploy` command
//! lines, the templates' parameters, the packages' config.json, the AWS
//! calls, the deployer's policy, and the teardown. `src/main.rs` only
//! dispatches.

pub mod aws;
pub mod aws_status;
pub mod cli;
pub mod commands;
pub mod destroy;
pub mod elsewhere;
pub mod federation;
pub mod log_groups;
pub mod package;
pub mod plan;
pub mod policy;
pub mod release;
pub mod sam;
pub mod session_keys;
pub mod settings;
pub mod smoke;
pub mod template;
pub mod viewer_function;
