//! The deploy tool's parts: settings, the plan, the packages' config.json,
//! and the AWS calls. `src/main.rs` runs them in order.

pub mod aws;
pub mod package;
pub mod plan;
pub mod settings;
