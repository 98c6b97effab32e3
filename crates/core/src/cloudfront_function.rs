//! The per-request check as a CloudFront Function (cloudfront-js-2.0),
//! rendered from the configuration: the path rules, public paths, cookie
//! names and paths are this crate's, written into the function as data,
//! never copied by hand. The decision code (`cloudfront-function.js`) is
//! held to [`crate::authorize::authorize`] by a differential test
//! (`tests/cloudfront_function.rs`, under Node.js and Debian's njs).
//!
//! What differs from `authorize` by design: a sign-in cannot start here (a
//! CloudFront Function has no secure random source for `state`, `nonce` and
//! the PKCE verifier), so it redirects to `<auth_prefix>start?return=..`,
//! an endpoint of the regional functions; session keys are read from the
//! function's KeyValueStore (`key:<kid>`), so a key rotation changes no
//! function.

use serde_json::json;

use crate::Config;

/// CloudFront's limit on a function's code.
pub const MAX_FUNCTION_BYTES: usize = 10 * 1024;
const TEMPLATE: &str = include_str!("cloudfront-function.js");

/// Where the function sends a visitor without a session to start a sign-in.
pub fn start_path(config: &Config) -> String {
    format!("{}start", config.paths().auth_prefix)
}

/// The function's source for `config`.
pub fn render(config: &Config) -> String {
    let data = json!({
        "public": config.public.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "rules": config.rules.iter().map(|(p, groups)| json!([p.as_str(), groups])).collect::<Vec<_>>(),
        "authPrefix": config.paths().auth_prefix,
        "refresh": config.paths().refresh,
        "start": start_path(config),
        "sessionCookie": config.cookie_names.session,
        "userCookie": config.cookie_names.user,
        "leeway": config.provider().clock_skew_seconds,
    });
    TEMPLATE.replacen("__CONFIG__", &data.to_string(), 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_template_has_one_placeholder() {
        assert_eq!(super::TEMPLATE.matches("__CONFIG__").count(), 1);
    }
}
