//! What a deploy records about itself on every stack it deploys, as stack
//! tags: the tool's version and the commit of the checkout it ran from, so
//! that `status` can say which code is live and since when.

use std::sync::OnceLock;

pub const VERSION_TAG: &str = "edge-auth-version";
pub const COMMIT_TAG: &str = "edge-auth-commit";
/// The tags the tool sets itself (settings may not name them).
pub const TAGS: [&str; 2] = [VERSION_TAG, COMMIT_TAG];

/// The commit of the checkout the tool runs in (`git describe --always
/// --dirty`), or `unknown` where there is no git (a Nix build, a copy).
pub fn commit() -> &'static str {
    static COMMIT: OnceLock<String> = OnceLock::new();
    COMMIT.get_or_init(|| {
        std::process::Command::new("git")
            .args(["describe", "--always", "--dirty", "--abbrev=12"])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            // Only what a stack tag and `sam deploy --tags` take as a word.
            .filter(|c| {
                !c.is_empty()
                    && c.len() <= 64
                    && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
            })
            .unwrap_or_else(|| "unknown".to_owned())
    })
}

/// The tags, as the plan adds them to the settings' own.
pub fn tags() -> Vec<(String, String)> {
    vec![
        (VERSION_TAG.to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
        (COMMIT_TAG.to_owned(), commit().to_owned()),
    ]
}
