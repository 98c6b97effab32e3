//! `deploy/<environment>.toml`: everything one environment needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub application: String,
    pub environment: String,
    pub regions: Regions,
    pub site: Site,
    pub provider: Provider,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default = "default_skew")]
    pub clock_skew_seconds: u64,
    /// Extra stack tags, beside `project` and `environment` (see `tags`).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Where sign-in, refresh and sign-out run.
    #[serde(default)]
    pub auth_endpoints: AuthEndpoints,
}

/// Where the three provider-facing handlers run. `authorize` and
/// `index-path` are Lambda@Edge functions either way: the viewer and origin
/// requests are the only places the platform runs code before the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthEndpoints {
    /// Regional arm64 `lambda_runtime` functions in the user pool's region,
    /// behind function URLs only the distribution may call (the default).
    #[default]
    Regional,
    /// Origin-request Lambda@Edge functions (Node.js + the origin addon).
    Edge,
}

impl AuthEndpoints {
    /// The templates' `AuthEndpoints` parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthEndpoints::Regional => "regional",
            AuthEndpoints::Edge => "edge",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regions {
    pub user_pool: String,
    pub distribution: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The static site to upload, relative to the settings file's repository.
    pub directory: PathBuf,
    /// Custom domain (`docs.example.com`); absent: the cloudfront.net name.
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub certificate_arn: Option<String>,
    #[serde(default)]
    pub hosted_zone_id: Option<String>,
    #[serde(default = "default_price_class")]
    pub price_class: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Provider {
    /// The user-pool stack: a Cognito pool made for this site.
    Cognito {
        hosted_domain_prefix: String,
        #[serde(default = "default_admin_group")]
        admin_group: String,
        #[serde(default = "default_groups_claim")]
        groups_claim: String,
    },
    /// Any OpenID provider, by discovery URL; the client secret already in Secrets Manager.
    Oidc {
        discovery_url: String,
        client_id: String,
        client_secret_arn: String,
        #[serde(default = "default_groups_claim")]
        groups_claim: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub pattern: String,
    pub groups: Vec<String>,
}

fn default_skew() -> u64 {
    30
}
fn default_price_class() -> String {
    "PriceClass_100".into()
}
fn default_admin_group() -> String {
    "admins".into()
}
fn default_groups_claim() -> String {
    "cognito:groups".into()
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: {field}: {message}")]
    Invalid {
        path: String,
        field: String,
        message: String,
    },
}

impl Settings {
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SettingsError::Read {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        let settings: Settings = toml::from_str(&text).map_err(|e| SettingsError::Read {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        settings
            .check()
            .map_err(|(field, message)| SettingsError::Invalid {
                path: shown,
                field: field.into(),
                message,
            })?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), (&'static str, String)> {
        let name = |s: &str| {
            !s.is_empty()
                && s.len() <= 30
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !name(&self.application) {
            return Err((
                "application",
                "lower-case letters, digits and `-`, at most 30".into(),
            ));
        }
        if !name(&self.environment) {
            return Err((
                "environment",
                "lower-case letters, digits and `-`, at most 30".into(),
            ));
        }
        match (&self.site.domain, &self.site.certificate_arn) {
            (Some(_), None) => {
                return Err((
                    "site.certificate_arn",
                    "a custom domain needs an ACM certificate in us-east-1".into(),
                ));
            }
            (Some(_), Some(arn)) if !arn.contains(":acm:us-east-1:") => {
                return Err((
                    "site.certificate_arn",
                    "CloudFront takes ACM certificates from us-east-1 only".into(),
                ));
            }
            (None, Some(_)) => {
                return Err((
                    "site.domain",
                    "a certificate without a domain has nothing to serve".into(),
                ));
            }
            _ => {}
        }
        if self.site.hosted_zone_id.is_some() && self.site.domain.is_none() {
            return Err(("site.hosted_zone_id", "set site.domain too".into()));
        }
        for (key, value) in &self.tags {
            // CloudFormation's limits for stack tags; `aws:` is reserved.
            if key.is_empty() || key.len() > 128 || value.len() > 256 {
                return Err((
                    "tags",
                    format!("{key}: keys 1-128 characters, values at most 256"),
                ));
            }
            if key.starts_with("aws:") {
                return Err(("tags", format!("{key}: the aws: prefix is reserved by AWS")));
            }
            if matches!(key.as_str(), "project" | "environment") {
                return Err((
                    "tags",
                    format!("{key}: set by the tool from application and environment"),
                ));
            }
            // `sam deploy --tags key=value ...` splits on these.
            let bad = |s: &str| s.contains(['=', '"', '\'']) || s.contains(char::is_whitespace);
            if bad(key) || bad(value) {
                return Err((
                    "tags",
                    format!("{key}: no `=`, quotes or spaces in tag keys and values"),
                ));
            }
        }
        if self.tags.len() > 48 {
            return Err((
                "tags",
                "at most 48 extra tags (CloudFormation takes 50)".into(),
            ));
        }
        Ok(())
    }

    /// The tags every stack gets, and through it every resource that takes
    /// tags: `project` (the application), `environment`, then `[tags]`.
    pub fn tags(&self) -> Vec<(String, String)> {
        let mut tags = vec![
            ("project".to_owned(), self.application.clone()),
            ("environment".to_owned(), self.environment.clone()),
        ];
        tags.extend(self.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        tags
    }

    pub fn stack_name(&self, part: &str) -> String {
        format!("{}-{}-{part}", self.application, self.environment)
    }

    /// `https://docs.example.com`, when a custom domain is set.
    pub fn site_url(&self) -> Option<String> {
        self.site.domain.as_ref().map(|d| format!("https://{d}"))
    }
}
