//! The deploy tool's parts: settings, the plan, the packages' config.json,
//! the AWS calls, and the teardown. `src/main.rs` runs them in order.

pub mod aws;
pub mod destroy;
pub mod package;
pub mod plan;
pub mod policy;
pub mod sam;
pub mod settings;
pub mod template;
