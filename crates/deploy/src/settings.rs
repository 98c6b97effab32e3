//! `deploy/<environment>.toml`: everything one environment needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The Cognito domain prefixes of the example settings (deploy/*.toml).
pub const EXAMPLE_DOMAIN_PREFIXES: [&str; 3] = [
    "edge-auth-prod-docs",
    "edge-auth-preview-docs",
    "edge-auth-sites-example",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub application: String,
    pub environment: String,
    pub regions: Regions,
    /// One site's settings; with `[[sites]]`, only what every site shares
    /// (price class, access logs).
    #[serde(default)]
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
    /// What checks every page view.
    #[serde(default)]
    pub authorizer: Authorizer,
    /// The reserved concurrency of each regional auth function (signin,
    /// refresh, sign-out): a flood of requests to the auth paths can use
    /// at most this many of the region's Lambda executions, and each
    /// function keeps this many for real sign-ins. 0: none reserved.
    #[serde(default = "default_auth_concurrency")]
    pub auth_concurrency: u32,
    /// An AWS WAF rate-based rule on the auth paths (off when absent): a
    /// stack in us-east-1, priced in README.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Metrics from the decision lines, alarms, a dashboard and saved
    /// queries (off when absent): a stack in us-east-1 and one in the
    /// auth functions' region, priced in README.
    #[serde(default)]
    pub monitoring: Option<Monitoring>,
    /// When a sign-in ends although refreshes could renew it.
    #[serde(default)]
    pub session: SessionLimits,
    /// How the CloudFront Function is let go live.
    #[serde(default)]
    pub function: FunctionSettings,
    /// Many sites behind one deployment (`[[sites]]`): each a
    /// distribution and a bucket of its own, sharing the pool, the auth
    /// functions, the CloudFront Function and its store (ARCHITECTURE.md,
    /// "Many sites").
    #[serde(default)]
    pub sites: Vec<SiteEntry>,
    /// Sign-in groups whose sites share one session across a parent
    /// domain and sign in through one of them (`[[sign_in_groups]]`).
    #[serde(default)]
    pub sign_in_groups: Vec<SignInGroupEntry>,
    /// Service tokens for machines (`[tokens]`): absent, the function
    /// reads no `Authorization` header.
    #[serde(default)]
    pub tokens: Option<TokenLimits>,
    /// Shared links for guests (`[shares]`): absent, the function reads
    /// no link cookie and `/_edge-auth/share` is no endpoint.
    #[serde(default)]
    pub shares: Option<ShareLimits>,
    /// The settings file's folder: what a site's `content` is relative to.
    #[serde(skip)]
    pub dir: PathBuf,
}

/// `[tokens]`: `edge-auth-deploy token create` mints tokens living at most
/// `max_ttl_days`; the function refuses any longer lived.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenLimits {
    pub max_ttl_days: u64,
    /// `[[tokens.trust]]`: workload tokens signin exchanges at
    /// `/_edge-auth/token` for service tokens of minutes.
    #[serde(default)]
    pub trust: Vec<edge_auth_core::exchange::TrustSetting>,
}

impl TokenLimits {
    pub fn max_seconds(&self) -> u64 {
        self.max_ttl_days * 86_400
    }
}

/// `[shares]`: `edge-auth-deploy share` makes links living at most
/// `max_ttl_days`; with `page`, signed-in users make them at
/// `/_edge-auth/share` for what their groups open.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareLimits {
    pub max_ttl_days: u64,
    #[serde(default)]
    pub page: bool,
}

impl ShareLimits {
    pub fn max_seconds(self) -> u64 {
        self.max_ttl_days * 86_400
    }
}

/// One `[[sites]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteEntry {
    pub name: String,
    pub domain: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub certificate_arn: Option<String>,
    /// Route 53 hosted zone for its domain; absent: DNS is yours.
    #[serde(default)]
    pub hosted_zone_id: Option<String>,
    /// Its content, relative to the settings file (default: its name).
    #[serde(default)]
    pub content: Option<String>,
    /// The sign-in group it shares sessions with.
    #[serde(default)]
    pub sign_in_group: Option<String>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub public: Option<Vec<String>>,
    /// Preview sites per branch (`[sites.preview]`): `<branch>.<domain>`
    /// serves what `preview upload` put there, with this site's rules.
    #[serde(default)]
    pub preview: Option<PreviewSettings>,
    /// The identity provider its sign-ins go to without asking: a
    /// `[[provider.federation]]` name, or `COGNITO` for the pool's users.
    #[serde(default)]
    pub identity_provider: Option<String>,
}

/// `[sites.preview]`: where a site's branches are previewed. A
/// distribution of its own (`<app>-<env>-site-<name>-preview`) for
/// `*.<domain>`, with a bucket holding each branch under its name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewSettings {
    /// The previews' parent domain: under the site's sign-in group's.
    pub domain: String,
    /// An ACM certificate in us-east-1 for `*.<domain>`.
    pub certificate_arn: String,
    /// Route 53 hosted zone for the wildcard record; absent: DNS is yours.
    #[serde(default)]
    pub hosted_zone_id: Option<String>,
}

/// The suffix of a site's previews' stacks' names (`site-<name>-preview`).
pub const PREVIEW_SUFFIX: &str = "-preview";

/// One `[[sign_in_groups]]` entry: config.json's `sign_in_groups`, as is.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignInGroupEntry {
    /// The group: the `sign_in_group` of its sites.
    pub name: String,
    /// The parent domain its session cookie is scoped to.
    pub domain: String,
    /// The site every sign-in of the group goes through.
    pub sign_in_site: String,
}

/// `[function]`: what CloudFront's own test run of the staged function
/// (`TestFunction`, before every publish) must show.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSettings {
    /// The highest compute utilization (% of the function's time budget)
    /// any test request may take; above it nothing is published.
    #[serde(default = "default_max_compute_utilization")]
    pub max_compute_utilization: u32,
}

impl Default for FunctionSettings {
    fn default() -> Self {
        Self {
            max_compute_utilization: default_max_compute_utilization(),
        }
    }
}

fn default_max_compute_utilization() -> u32 {
    70
}

/// `[session]`: the idle and absolute limits (both off when absent),
/// enforced by refresh (docs/config.md): within one session lifetime.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionLimits {
    /// A visitor whose session expired longer ago than this signs in again.
    #[serde(default)]
    pub idle_timeout_minutes: Option<u64>,
    /// Hours after the sign-in past which the visitor signs in again.
    #[serde(default)]
    pub max_hours: Option<u64>,
}

/// `[monitoring]`: where alarms go and when they fire. The bounds are the
/// monitoring template's, checked before a deploy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    /// Subscribed to an SNS topic the alarms notify, one in each region
    /// with alarms; none without it (the alarms still show in the console
    /// and on the dashboard).
    #[serde(default)]
    pub email: Option<String>,
    /// The CloudFront Function's compute utilization (%) that alarms.
    #[serde(default = "default_compute_utilization")]
    pub compute_utilization: u64,
    /// Refused sessions at the edge in 5 minutes that alarm.
    #[serde(default = "default_refused_sessions")]
    pub refused_sessions: u64,
    /// Failed sign-ins in 5 minutes that alarm.
    #[serde(default = "default_signin_failures")]
    pub signin_failures: u64,
    /// An auth function's p99 duration (ms) over 5 minutes that alarms.
    #[serde(default = "default_auth_p99_ms")]
    pub auth_p99_ms: u64,
    /// The share (%) of the distribution's answers that are 5xx that alarms.
    #[serde(default = "default_error_rate")]
    pub error_rate_percent: u64,
    /// Days CloudWatch Logs keeps the decision lines (the groups the tool
    /// makes or finds: the function's and the auth functions').
    #[serde(default = "default_log_retention")]
    pub log_retention_days: i32,
}

fn default_compute_utilization() -> u64 {
    70
}
fn default_refused_sessions() -> u64 {
    100
}
fn default_signin_failures() -> u64 {
    20
}
fn default_auth_p99_ms() -> u64 {
    3000
}
fn default_error_rate() -> u64 {
    5
}
fn default_log_retention() -> i32 {
    90
}

/// The retention periods CloudWatch Logs accepts (PutRetentionPolicy).
pub const LOG_RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

fn default_auth_concurrency() -> u32 {
    25
}

/// `[rate_limit]`: how many requests to the auth paths one IP address may
/// send in a window before AWS WAF blocks it for the rest of the window.
/// The bounds are the template's (AWS WAF's own), checked before a deploy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub auth_requests: u64,
    #[serde(default = "default_rate_window")]
    pub window_seconds: u64,
}

fn default_rate_window() -> u64 {
    300
}

/// What runs on every viewer request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Authorizer {
    /// A CloudFront Function rendered by the core from the settings, with
    /// the session verify keys in a CloudFront KeyValueStore: no
    /// Lambda@Edge, no us-east-1 stack (the default).
    #[default]
    CloudfrontFunction,
    /// `authorize` and `index-path` on Lambda@Edge (the edge-functions
    /// stack in us-east-1).
    LambdaEdge,
}

impl Authorizer {
    /// The distribution template's `Authorizer` parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Authorizer::CloudfrontFunction => "cloudfront-function",
            Authorizer::LambdaEdge => "lambda-edge",
        }
    }
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
    /// The static site to upload, relative to the settings file's
    /// repository (default `site`).
    #[serde(default = "default_site_directory")]
    pub directory: PathBuf,
    /// Custom domain (`docs.example.com`); absent: the cloudfront.net name.
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub certificate_arn: Option<String>,
    #[serde(default)]
    pub hosted_zone_id: Option<String>,
    /// The identity provider the site's sign-ins go to without asking
    /// (as `[[sites]] identity_provider`).
    #[serde(default)]
    pub identity_provider: Option<String>,
    #[serde(default = "default_price_class")]
    pub price_class: String,
    /// CloudFront standard logging (access logs), off unless set.
    #[serde(default)]
    pub logs: Option<AccessLogs>,
    /// Paths anyone may read without signing in (CloudFront path-pattern
    /// syntax); absent: `edge_auth_core::config::default_public`, the
    /// signed-out page and the icon. A rule's pattern wins over these.
    #[serde(default)]
    pub public: Option<Vec<String>>,
}

impl Default for Site {
    /// `[site]` left out (a site table's settings may): the default price
    /// class, no logs, and `site` as the folder (which a table refuses).
    fn default() -> Self {
        Self {
            directory: PathBuf::from(DEFAULT_SITE_DIRECTORY),
            domain: None,
            certificate_arn: None,
            hosted_zone_id: None,
            identity_provider: None,
            price_class: default_price_class(),
            logs: None,
            public: None,
        }
    }
}

/// `site.directory` when `[site]` or its `directory` is left out.
const DEFAULT_SITE_DIRECTORY: &str = "site";

fn default_site_directory() -> PathBuf {
    PathBuf::from(DEFAULT_SITE_DIRECTORY)
}

/// The longest site name: it is part of stack and CloudFront policy names.
pub const MAX_SITE_NAME: usize = 20;

impl SiteEntry {
    /// `https://<domain>`.
    /// What sessions, tokens and links taken here carry as `site`: its
    /// sign-in group's name, or its own.
    pub fn session_scope(&self) -> String {
        self.sign_in_group
            .clone()
            .unwrap_or_else(|| self.name.clone())
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.domain)
    }

    /// Its content folder.
    pub fn content_dir(&self, settings_dir: &Path) -> PathBuf {
        settings_dir.join(self.content.as_deref().unwrap_or(&self.name))
    }

    /// What config.json's `sites` holds for it (docs/config.md).
    pub fn to_config(&self) -> serde_json::Value {
        let mut site = serde_json::json!({
            "name": self.name,
            "base_url": self.url(),
            "rules": self.rules.iter().map(Rule::to_config).collect::<Vec<_>>(),
            "public": self.public.clone().unwrap_or_else(edge_auth_core::config::default_public),
        });
        if let Some(group) = &self.sign_in_group {
            site["session"] = serde_json::json!(group);
        }
        if let Some(preview) = &self.preview {
            site["preview_domain"] = serde_json::json!(preview.domain);
        }
        if let Some(provider) = &self.identity_provider {
            site["identity_provider"] = serde_json::json!(provider);
        }
        site
    }

    /// The name its previews' stacks carry (`<name>-preview`).
    pub fn preview_name(&self) -> Option<String> {
        self.preview
            .as_ref()
            .map(|_| format!("{}{PREVIEW_SUFFIX}", self.name))
    }
}

impl Settings {
    /// Whether `site` signs in at its own address: alone, or its group's
    /// sign-in site. The group's other sites hand their sign-ins over,
    /// so the pool knows only the sign-in site's callback.
    pub fn signs_in_itself(&self, site: &SiteEntry) -> bool {
        self.sign_in_site_of(site)
            .is_none_or(|sign_in| sign_in.name == site.name)
    }

    /// The sign-in site of `site`'s group, when the group shares its
    /// session across a domain (`[[sign_in_groups]]`).
    pub fn sign_in_site_of(&self, site: &SiteEntry) -> Option<&SiteEntry> {
        let group = self
            .sign_in_groups
            .iter()
            .find(|g| site.sign_in_group.as_deref() == Some(g.name.as_str()))?;
        self.sites.iter().find(|s| s.name == group.sign_in_site)
    }

    /// The names of the table's stacks of sites: each site's, and its
    /// previews' (`site-<name>`, `grants-<name>`).
    pub fn site_stack_names(&self) -> Vec<String> {
        self.sites
            .iter()
            .flat_map(|s| std::iter::once(s.name.clone()).chain(s.preview_name()))
            .collect()
    }

    /// What config.json's `sites` and `sign_in_groups` hold, read back as
    /// every handler reads them: the core's own checks of the table.
    pub fn check_table(&self) -> Result<(), String> {
        self.checked_table().map(|_| ())
    }

    /// The table as the core checks it, with the groups (what a preview's
    /// store entry is made from: `sites::preview_entry_in`).
    pub fn checked_table(
        &self,
    ) -> Result<
        (
            Vec<edge_auth_core::config::CheckedSite>,
            Vec<edge_auth_core::config::SignInGroup>,
        ),
        String,
    > {
        let sites: Vec<edge_auth_core::config::TableSite> = self
            .sites
            .iter()
            .map(|s| serde_json::from_value(s.to_config()))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let groups: Vec<edge_auth_core::config::SignInGroup> = self
            .sign_in_groups
            .iter()
            .map(|g| edge_auth_core::config::SignInGroup {
                name: g.name.clone(),
                domain: g.domain.clone(),
                sign_in_site: g.sign_in_site.clone(),
            })
            .collect();
        edge_auth_core::config::check_site_table(&sites, &groups, &Default::default())
            .map(|checked| (checked, groups))
            .map_err(|e| e.to_string())
    }
}

impl Site {
    /// The public paths config.json gets.
    pub fn public_paths(&self) -> Vec<String> {
        self.public
            .clone()
            .unwrap_or_else(edge_auth_core::config::default_public)
    }
}

/// `[site.logs]`: where CloudFront writes the access logs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessLogs {
    /// The bucket (`my-logs`, or as CloudFront names it,
    /// `my-logs.s3.amazonaws.com`); it must allow ACLs.
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
}

impl AccessLogs {
    /// The bucket as CloudFront's `Logging.Bucket` takes it.
    pub fn bucket_domain(&self) -> String {
        if self.bucket.ends_with(".s3.amazonaws.com") {
            self.bucket.clone()
        } else {
            format!("{}.s3.amazonaws.com", self.bucket)
        }
    }
}

/// `[provider.email]`: the pool's e-mail through Amazon SES, off unless set
/// (Cognito's own e-mail has a small daily quota).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolEmail {
    /// The From address: `Docs <no-reply@docs.example.com>`.
    pub from: String,
    /// The verified SES identity to send through.
    pub ses_identity_arn: String,
}

/// `[provider] mfa`: the user pool's multi-factor sign-in, with an
/// authenticator app (TOTP; no SMS, which would need an SNS role and costs
/// per message).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolMfa {
    Off,
    #[default]
    Optional,
    Required,
}

impl PoolMfa {
    /// Cognito's `MfaConfiguration`.
    pub fn as_cognito(self) -> &'static str {
        match self {
            PoolMfa::Off => "OFF",
            PoolMfa::Optional => "OPTIONAL",
            PoolMfa::Required => "ON",
        }
    }
}

/// `[provider] login`: Cognito's sign-in pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginPages {
    /// The classic hosted UI (every feature plan).
    #[default]
    Classic,
    /// Managed login (version 2) with Cognito's branding: passkeys and
    /// e-mail one-time codes where the plan allows them.
    Managed,
}

/// `[provider] plan`: the pool's feature plan (Cognito's `UserPoolTier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeaturePlan {
    Lite,
    Essentials,
    Plus,
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
        /// The ID token's lifetime; the edge refreshes an expired one.
        #[serde(default = "default_id_token_minutes")]
        id_token_validity_minutes: u32,
        /// The refresh token's lifetime: how long a visitor stays signed in.
        #[serde(default = "default_refresh_token_days")]
        refresh_token_validity_days: u32,
        /// Cognito's refresh token rotation: each refresh answers with a
        /// new refresh token (the edge keeps it) and ends the one it
        /// replaced, so a copied refresh token works once at most.
        #[serde(default = "default_true")]
        refresh_token_rotation: bool,
        /// How long a replaced refresh token still works (Cognito's
        /// `RetryGracePeriodSeconds`, 0 to 60): two tabs that refresh at
        /// the same moment both succeed instead of one going to sign-in.
        #[serde(default = "default_rotation_grace")]
        refresh_token_rotation_grace_seconds: u32,
        #[serde(default)]
        email: Option<PoolEmail>,
        /// The pool's second factor (TOTP): `off`, `optional` (a user may
        /// add one: the default) or `required` (every user signs in with
        /// one). Set through Cognito's API after the pool's stack.
        #[serde(default)]
        mfa: PoolMfa,
        /// The pool's own users sign in (`COGNITO` among the app client's
        /// providers); `false` with federation: only the corporate ones.
        #[serde(default = "default_true")]
        native_users: bool,
        /// Corporate identity providers the pool federates to.
        #[serde(default)]
        federation: Vec<crate::federation::Federation>,
        /// Cognito's sign-in pages (`classic` until set).
        #[serde(default)]
        login: LoginPages,
        /// The feature plan; absent: Essentials with managed login, else
        /// the pool's as it is.
        #[serde(default)]
        plan: Option<FeaturePlan>,
        /// Managed login offers passkeys (WebAuthn) as a first factor.
        #[serde(default)]
        passkeys: bool,
        /// Managed login offers one-time codes by e-mail (needs
        /// `[provider.email]`: Cognito sends them through SES).
        #[serde(default)]
        email_codes: bool,
    },
    /// Any OpenID provider, by discovery URL; the client secret already in Secrets Manager.
    Oidc {
        discovery_url: String,
        client_id: String,
        client_secret_arn: String,
        /// The claim with the user's groups: an array, a string of names,
        /// or a dotted path (`realm_access.roles`); docs/config.md.
        #[serde(default = "default_groups_claim")]
        groups_claim: String,
        /// Group ids as the provider sends them to the names the rules use
        /// (Entra ID's group object ids: `"<object id>" = "admins"`).
        #[serde(default)]
        group_names: std::collections::BTreeMap<String, String>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub pattern: String,
    pub groups: Vec<String>,
    /// A step-up: the provider must have authenticated the user within
    /// this many minutes (`prompt=login` and `max_age` when not).
    #[serde(default)]
    pub max_auth_age_minutes: Option<u64>,
    /// A step-up: the sign-in must have used a second factor.
    #[serde(default)]
    pub mfa: bool,
}

impl Rule {
    /// The rule as `config.json` has it (`edge_auth_core::config::PathRule`).
    pub fn to_config(&self) -> serde_json::Value {
        serde_json::to_value(edge_auth_core::config::PathRule {
            pattern: self.pattern.clone(),
            groups: self.groups.clone(),
            max_auth_age_seconds: self.max_auth_age_minutes.map(|m| m * 60),
            mfa: self.mfa,
        })
        .expect("a rule is JSON")
    }
}

/// The regions where Lambda offers no function URLs (Lambda Developer
/// Guide, "Creating and managing Lambda function URLs", looked up
/// 2026-12-02), each with a nearby region that has them.
pub const NO_FUNCTION_URLS: [(&str, &str); 11] = [
    ("ap-south-2", "ap-south-1"),
    ("ap-southeast-4", "ap-southeast-2"),
    ("ap-southeast-5", "ap-southeast-1"),
    ("ap-southeast-6", "ap-southeast-2"),
    ("ap-southeast-7", "ap-southeast-1"),
    ("ap-east-2", "ap-northeast-1"),
    ("ca-west-1", "ca-central-1"),
    ("eu-south-2", "eu-west-3"),
    ("eu-central-2", "eu-central-1"),
    ("il-central-1", "eu-central-1"),
    ("me-central-1", "me-south-1"),
];

fn default_skew() -> u64 {
    30
}
fn default_price_class() -> String {
    "PriceClass_100".into()
}
fn default_admin_group() -> String {
    "admins".into()
}
fn default_id_token_minutes() -> u32 {
    60
}
fn default_refresh_token_days() -> u32 {
    30
}
fn default_groups_claim() -> String {
    "cognito:groups".into()
}
fn default_true() -> bool {
    true
}
fn default_rotation_grace() -> u32 {
    10
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
        let mut settings: Settings = toml::from_str(&text).map_err(|e| SettingsError::Read {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        settings.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        settings
            .check()
            .map_err(|(field, message)| SettingsError::Invalid {
                path: shown.clone(),
                field: field.into(),
                message,
            })?;
        settings
            .check_federation()
            .map_err(|(field, message)| SettingsError::Invalid {
                path: shown,
                field,
                message,
            })?;
        Ok(settings)
    }

    /// `[tokens]`: its limit, the function that reads tokens, and each
    /// `[[tokens.trust]]` as the core will hold it (`exchange::check`),
    /// its groups named by a rule and its sites the table's.
    fn check_tokens(&self) -> Result<(), (String, String)> {
        if let Some(tokens) = &self.tokens {
            self.check_revocable("tokens", tokens.max_ttl_days, "a token", "service tokens")?;
            let policies = self.trust_policies();
            edge_auth_core::exchange::check(&policies, tokens.max_seconds())
                .map_err(|(field, why)| (field.replace(".ttl_seconds", ".ttl_minutes"), why))?;
            let named = self.groups_named();
            for (i, entry) in tokens.trust.iter().enumerate() {
                if let Some(group) = entry.groups.iter().find(|g| !named.contains(g.as_str())) {
                    return Err((
                        format!("tokens.trust[{i}].groups"),
                        format!("{group}: no rule names it, so the token would open nothing"),
                    ));
                }
                if let Some(site) = entry
                    .sites
                    .iter()
                    .find(|s| !self.sites.iter().any(|t| &t.name == *s))
                {
                    return Err((
                        format!("tokens.trust[{i}].sites"),
                        format!("{site}: no [[sites]] of that name"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `[shares]`: its limit, and the function that reads link cookies
    /// (and holds the revocations).
    fn check_shares(&self) -> Result<(), (String, String)> {
        if let Some(shares) = self.shares {
            self.check_revocable("shares", shares.max_ttl_days, "a link", "shared links")?;
        }
        Ok(())
    }

    /// What `[tokens]` and `[shares]` both need: at most a year, and the
    /// CloudFront Function, whose store holds their revocations.
    fn check_revocable(
        &self,
        section: &str,
        max_ttl_days: u64,
        one: &str,
        many: &str,
    ) -> Result<(), (String, String)> {
        if !(1..=366).contains(&max_ttl_days) {
            return Err((
                format!("{section}.max_ttl_days"),
                format!(
                    "1 to 366 ({one} is checked against the deployment's keys alone: a year at most)"
                ),
            ));
        }
        if self.authorizer != Authorizer::CloudfrontFunction {
            return Err((
                section.to_owned(),
                format!(
                    "{many} need the CloudFront Function (authorizer = \"cloudfront-function\"): their revocations are in its key value store"
                ),
            ));
        }
        Ok(())
    }

    /// Every group some path rule names (the site's, or any site's).
    pub fn groups_named(&self) -> std::collections::BTreeSet<&str> {
        self.rules
            .iter()
            .chain(self.sites.iter().flat_map(|s| &s.rules))
            .flat_map(|r| r.groups.iter().map(String::as_str))
            .collect()
    }

    /// `[[tokens.trust]]` as config.json's `tokens.trust`: minutes to
    /// seconds, and each site to the session scope the core compares (its
    /// sign-in group's name, or its own).
    pub fn trust_policies(&self) -> Vec<edge_auth_core::exchange::TrustPolicy> {
        let Some(tokens) = &self.tokens else {
            return Vec::new();
        };
        let scope = |name: &str| {
            self.sites
                .iter()
                .find(|s| s.name == name)
                .map_or_else(|| name.to_owned(), SiteEntry::session_scope)
        };
        tokens.trust.iter().map(|t| t.policy(scope)).collect()
    }

    fn check_federation(&self) -> Result<(), (String, String)> {
        self.check_tokens()?;
        self.check_shares()?;
        if let Provider::Cognito {
            login,
            plan,
            passkeys,
            email_codes,
            email,
            ..
        } = &self.provider
        {
            let field = |f: &str| format!("provider.{f}");
            if (*passkeys || *email_codes) && *login != LoginPages::Managed {
                return Err((
                    field(if *passkeys { "passkeys" } else { "email_codes" }),
                    "needs login = \"managed\": the classic hosted UI offers passwords only".into(),
                ));
            }
            if *login == LoginPages::Managed && *plan == Some(FeaturePlan::Lite) {
                return Err((
                    field("plan"),
                    "managed login needs the essentials or plus plan".into(),
                ));
            }
            if *email_codes && email.is_none() {
                return Err((
                    field("email_codes"),
                    "needs [provider.email]: Cognito sends the codes through your Amazon SES identity".into(),
                ));
            }
        }
        let (native, federation) = self.federation();
        crate::federation::check(federation, native, &self.dir)?;
        let routing = crate::federation::routing(federation, native);
        let named = std::iter::once((
            "site.identity_provider".to_owned(),
            &self.site.identity_provider,
        ))
        .chain(self.sites.iter().enumerate().map(|(i, s)| {
            (
                format!("sites[{i}].identity_provider"),
                &s.identity_provider,
            )
        }));
        for (field, name) in named {
            if let Some(name) = name
                && !routing.knows(name)
            {
                return Err((
                    field,
                    if federation.is_empty() {
                        format!(
                            "{name}: needs [[provider.federation]] (a Cognito pool's corporate providers)"
                        )
                    } else {
                        format!(
                            "{name}: not one of {}",
                            federation
                                .iter()
                                .map(|f| f.name.as_str())
                                .chain(native.then_some("COGNITO"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    },
                ));
            }
        }
        Ok(())
    }

    /// The pool's sign-in pages, plan and first factors, as the user-pool
    /// template's parameters: (LoginPages, FeaturePlan, FirstAuthFactors,
    /// Passkeys). `None` for a provider other than a pool of ours.
    pub fn pool_login(&self) -> Option<[String; 4]> {
        let Provider::Cognito {
            login,
            plan,
            passkeys,
            email_codes,
            ..
        } = &self.provider
        else {
            return None;
        };
        let plan = match (plan, login) {
            (Some(FeaturePlan::Lite), _) => "LITE",
            (Some(FeaturePlan::Essentials), _) | (None, LoginPages::Managed) => "ESSENTIALS",
            (Some(FeaturePlan::Plus), _) => "PLUS",
            (None, LoginPages::Classic) => "",
        };
        let factors: Vec<&str> = std::iter::once("PASSWORD")
            .chain(passkeys.then_some("WEB_AUTHN"))
            .chain(email_codes.then_some("EMAIL_OTP"))
            .collect();
        Some([
            match login {
                LoginPages::Classic => "classic",
                LoginPages::Managed => "managed",
            }
            .into(),
            plan.into(),
            factors.join(","),
            if *passkeys { "ENABLED" } else { "DISABLED" }.into(),
        ])
    }

    /// Until when `revoked:` entries are kept at time `now`: a session's
    /// until the longest session has passed, a token's until the longest
    /// token has (with the clock skew the verifiers allow).
    pub fn revocation_horizons(&self, now: u64) -> crate::aws::Horizons {
        let skew = self.clock_skew_seconds;
        let sessions = now.saturating_sub(self.longest_session_seconds() + skew);
        crate::aws::Horizons {
            sessions,
            // Tokens' and links' revocations alike: until the longest of
            // either has expired.
            tokens: match (self.tokens.as_ref(), self.shares) {
                (None, None) => sessions,
                (t, s) => now.saturating_sub(
                    t.map_or(0, |t| t.max_seconds())
                        .max(s.map_or(0, |s| s.max_seconds()))
                        + skew,
                ),
            },
        }
    }

    /// Whether the pool's own users sign in, and its corporate providers
    /// (none for a provider other than a Cognito pool of ours).
    pub fn federation(&self) -> (bool, &[crate::federation::Federation]) {
        match &self.provider {
            Provider::Cognito {
                native_users,
                federation,
                ..
            } => (*native_users, federation),
            Provider::Oidc { .. } => (true, &[]),
        }
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
        self.check_sites()?;
        if let Provider::Oidc {
            group_names,
            groups_claim,
            ..
        } = &self.provider
        {
            if groups_claim.is_empty() {
                return Err(("provider.groups_claim", "name a claim".into()));
            }
            if let Some((id, name)) = group_names.iter().find(|(id, name)| {
                id.trim().is_empty() || name.trim().is_empty() || name.contains(char::is_whitespace)
            }) {
                return Err((
                    "provider.group_names",
                    format!(
                        "{id:?} = {name:?}: an id and a group name without spaces, both not empty"
                    ),
                ));
            }
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
        // Lambda keeps 100 of an account's executions unreserved; a
        // reservation larger than this is a typo.
        if self.auth_concurrency > 1000 {
            return Err((
                "auth_concurrency",
                "at most 1000 for each auth function (0: none reserved)".into(),
            ));
        }
        if let Some(m) = &self.monitoring
            && !LOG_RETENTION_DAYS.contains(&m.log_retention_days)
        {
            return Err((
                "monitoring.log_retention_days",
                format!("one of CloudWatch Logs' periods: {LOG_RETENTION_DAYS:?}"),
            ));
        }
        for pattern in self.site.public_paths() {
            if let Err(e) = edge_auth_core::paths::PathPattern::new(&pattern) {
                return Err(("site.public", e));
            }
            // A pattern that opens every path turns the sign-in off.
            if pattern.bytes().all(|b| b == b'/' || b == b'*') {
                return Err((
                    "site.public",
                    format!(
                        "`{pattern}` makes every page public; name the paths the signed-out page needs"
                    ),
                ));
            }
        }
        if self.auth_endpoints == AuthEndpoints::Regional
            && let Some((_, nearest)) = NO_FUNCTION_URLS
                .iter()
                .find(|(region, _)| *region == self.regions.user_pool)
        {
            return Err((
                "regions.user_pool",
                format!(
                    "{}: Lambda function URLs are not offered in this region, and the regional auth endpoints (the default) are function URLs in the user pool's region; choose a region that has them (the nearest: {nearest}), or set authorizer = \"lambda-edge\" and auth_endpoints = \"edge\"",
                    self.regions.user_pool
                ),
            ));
        }
        if self.authorizer == Authorizer::CloudfrontFunction
            && self.auth_endpoints == AuthEndpoints::Edge
        {
            return Err((
                "auth_endpoints",
                "\"edge\" runs sign-in, refresh and sign-out on Lambda@Edge, which the default authorizer (a CloudFront Function) exists to avoid; set authorizer = \"lambda-edge\" with it, or leave auth_endpoints at \"regional\"".into(),
            ));
        }
        if !(1..=100).contains(&self.function.max_compute_utilization) {
            return Err((
                "function.max_compute_utilization",
                "a percentage of the function's compute budget, 1 to 100".into(),
            ));
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
            if crate::release::TAGS.contains(&key.as_str()) {
                return Err((
                    "tags",
                    format!("{key}: set by the tool on every deploy (its version and commit)"),
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
        for rule in &self.rules {
            if rule
                .max_auth_age_minutes
                .is_some_and(|m| !(1..=1440).contains(&m))
            {
                return Err((
                    "rules.max_auth_age_minutes",
                    format!("{}: from 1 to 1440 (a day)", rule.pattern),
                ));
            }
            if rule.mfa
                && let Provider::Cognito { mfa, .. } = &self.provider
                && *mfa != PoolMfa::Required
            {
                return Err((
                    "rules.mfa",
                    format!(
                        "{}: Cognito's ID tokens do not say whether a sign-in used a second factor (no `amr`), so a rule can ask for one only when every sign-in has one: set provider.mfa = \"required\"",
                        rule.pattern
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `[[sites]]`: what a site table needs of the rest, and each site.
    fn check_sites(&self) -> Result<(), (&'static str, String)> {
        if self.sites.is_empty() {
            if !self.sign_in_groups.is_empty() {
                return Err((
                    "sign_in_groups",
                    "only with [[sites]]: a group shares a session between sites of a table".into(),
                ));
            }
            return Ok(());
        }
        if self.authorizer != Authorizer::CloudfrontFunction
            || self.auth_endpoints != AuthEndpoints::Regional
        {
            return Err((
                "sites",
                "a site table needs the CloudFront Function (authorizer = \"cloudfront-function\") and the regional auth endpoints: the sites' rules are data in its key value store".into(),
            ));
        }
        if self.site.domain.is_some()
            || self.site.public.is_some()
            || self.site.directory != Path::new(DEFAULT_SITE_DIRECTORY)
        {
            return Err((
                "site",
                "with [[sites]], [site] holds only what every site shares (price_class, logs): each site names its domain, content and public paths".into(),
            ));
        }
        if !self.rules.is_empty() {
            return Err((
                "rules",
                "with [[sites]] each site has its own rules ([[sites.rules]])".into(),
            ));
        }
        if self.monitoring.is_some() {
            return Err((
                "monitoring",
                "not yet for a site table (its alarms watch one distribution)".into(),
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        let mut hosts = std::collections::BTreeSet::new();
        for site in &self.sites {
            let field = |what: &str| format!("{}: {what}", site.name);
            let name_ok = !site.name.is_empty()
                && site.name.len() <= MAX_SITE_NAME
                && site
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !site.name.starts_with('-')
                && !site.name.ends_with('-');
            if !name_ok {
                return Err((
                    "sites.name",
                    format!(
                        "{:?}: lower-case letters, digits and inner `-`, at most {MAX_SITE_NAME} (it is part of stack names)",
                        site.name
                    ),
                ));
            }
            if !names.insert(site.name.as_str()) {
                return Err(("sites.name", field("named twice")));
            }
            if site.name.ends_with(PREVIEW_SUFFIX) {
                return Err((
                    "sites.name",
                    field(
                        "a name ending in `-preview` is a site's previews' (their stacks are site-<name>-preview)",
                    ),
                ));
            }
            if let Some(preview) = &site.preview
                && !preview.certificate_arn.contains(":acm:us-east-1:")
            {
                return Err((
                    "sites.preview.certificate_arn",
                    field(
                        "CloudFront takes ACM certificates from us-east-1 only (one for *.<preview domain>)",
                    ),
                ));
            }
            let host_ok = site.domain.contains('.')
                && edge_auth_core::sites::site_key(Some(&site.domain)).is_some()
                && !site.domain.contains(':')
                && site.domain == site.domain.to_ascii_lowercase();
            if !host_ok {
                return Err((
                    "sites.domain",
                    field("a lower-case host name, such as handbook.example.com"),
                ));
            }
            if !hosts.insert(site.domain.as_str()) {
                return Err(("sites.domain", field("another site has this domain")));
            }
            if !site.aliases.is_empty() {
                return Err((
                    "sites.aliases",
                    field(
                        "aliases are not deployed by this release: give each host a [[sites]] entry of its own (the same content and rules)",
                    ),
                ));
            }
            match &site.certificate_arn {
                None => {
                    return Err((
                        "sites.certificate_arn",
                        field("each site needs an ACM certificate for its domain, in us-east-1"),
                    ));
                }
                Some(arn) if !arn.contains(":acm:us-east-1:") => {
                    return Err((
                        "sites.certificate_arn",
                        field("CloudFront takes ACM certificates from us-east-1 only"),
                    ));
                }
                Some(_) => {}
            }
            if let Some(group) = &site.sign_in_group
                && (group.is_empty() || names.contains(group.as_str()) && *group != site.name)
            {
                return Err((
                    "sites.sign_in_group",
                    field("a group's name that is no other site's name"),
                ));
            }
            for rule in &site.rules {
                edge_auth_core::paths::PathPattern::new(&rule.pattern)
                    .map_err(|e| ("sites.rules", field(&e)))?;
            }
            for pattern in site.public.iter().flatten() {
                edge_auth_core::paths::PathPattern::new(pattern)
                    .map_err(|e| ("sites.public", field(&e)))?;
                if pattern.contains('*') && pattern.bytes().all(|b| b == b'/' || b == b'*') {
                    return Err((
                        "sites.public",
                        field(&format!("`{pattern}` makes every page public")),
                    ));
                }
            }
        }
        // The groups, as the handlers will read them from config.json
        // (`config.json: ` dropped: the settings say it in their words).
        self.check_table().map_err(|e| {
            let mut e = e.trim_start_matches("config.json: ").to_owned();
            let field = if e.starts_with("`sites[") {
                "sites"
            } else {
                "sign_in_groups"
            };
            for (i, site) in self.sites.iter().enumerate() {
                e = e.replace(
                    &format!("`sites[{i}]."),
                    &format!("`sites ({}).", site.name),
                );
            }
            let e = e.replace("`sign_in_groups[", "`[[sign_in_groups]] [");
            let e = e.replace(").preview_domain`", ").preview.domain`");
            (field, e.replace("`session", "`sign_in_group"))
        })
    }

    /// Every sign-in at the provider has a second factor: a Cognito pool
    /// with MFA required (`provider.mfa_always` in the packages).
    pub fn mfa_always(&self) -> bool {
        matches!(
            self.provider,
            Provider::Cognito {
                mfa: PoolMfa::Required,
                ..
            }
        )
    }

    /// The example values (deploy/prod.toml's and preview.toml's) still in these settings, as
    /// `setting = value`: a domain under example.com, AWS's documentation
    /// account 111122223333, the example hosted zone. The dry run lists them;
    /// a run refuses to start with them, before anything is created.
    pub fn example_placeholders(&self) -> Vec<String> {
        let example_domain = |d: &str| {
            d == "example.com" || d.ends_with(".example.com") || d.contains("example.com/")
        };
        let example_certificate = |arn: &str| {
            arn.contains(":111122223333:") || arn.ends_with("/00000000-0000-0000-0000-000000000000")
        };
        let mut found = Vec::new();
        // The one site's, then each of a table's.
        let sites = std::iter::once((
            "site".to_owned(),
            self.site.domain.as_deref(),
            self.site.certificate_arn.as_deref(),
            self.site.hosted_zone_id.as_deref(),
        ))
        .chain(self.sites.iter().map(|s| {
            (
                format!("sites ({})", s.name),
                Some(s.domain.as_str()),
                s.certificate_arn.as_deref(),
                s.hosted_zone_id.as_deref(),
            )
        }))
        .chain(self.sites.iter().filter_map(|s| {
            let p = s.preview.as_ref()?;
            Some((
                format!("sites ({}).preview", s.name),
                Some(p.domain.as_str()),
                Some(p.certificate_arn.as_str()),
                p.hosted_zone_id.as_deref(),
            ))
        }));
        for (which, domain, certificate, zone) in sites {
            if let Some(domain) = domain
                && example_domain(domain)
            {
                found.push(format!("{which}.domain = {domain}"));
            }
            if let Some(arn) = certificate
                && example_certificate(arn)
            {
                found.push(format!("{which}.certificate_arn = {arn}"));
            }
            if let Some(zone) = zone
                && zone.contains("EXAMPLE")
            {
                found.push(format!("{which}.hosted_zone_id = {zone}"));
            }
        }
        // Cognito domain prefixes are unique per region: the example's is
        // taken by whoever deployed it first.
        if let Provider::Cognito {
            hosted_domain_prefix,
            ..
        } = &self.provider
            && EXAMPLE_DOMAIN_PREFIXES.contains(&hosted_domain_prefix.as_str())
        {
            found.push(format!(
                "provider.hosted_domain_prefix = {hosted_domain_prefix} (unique per region: choose your own)"
            ));
        }
        if let Provider::Oidc {
            discovery_url,
            client_secret_arn,
            ..
        } = &self.provider
        {
            if example_domain(discovery_url.split("://").nth(1).unwrap_or("")) {
                found.push(format!("provider.discovery_url = {discovery_url}"));
            }
            if client_secret_arn.contains(":111122223333:") {
                found.push(format!("provider.client_secret_arn = {client_secret_arn}"));
            }
        }
        found
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

    /// The client secret's name in Secrets Manager, as the user-pool
    /// template names it (`${AppName}/${Environment}/app-client`).
    pub fn client_secret_name(&self) -> String {
        format!("{}/{}/app-client", self.application, self.environment)
    }

    /// The secret with the session key set (`session_keys`), beside the
    /// client secret; the templates grant the signers `GetSecretValue` on
    /// this name in the client secret's region.
    pub fn session_keys_secret_name(&self) -> String {
        format!("{}/{}/session-keys", self.application, self.environment)
    }

    /// The client secret's region, where the session keys live too: the
    /// user pool's, or the region of an OIDC client secret's ARN.
    pub fn session_keys_region(&self) -> String {
        match &self.provider {
            Provider::Oidc {
                client_secret_arn, ..
            } => client_secret_arn
                .split(':')
                .nth(3)
                .filter(|r| !r.is_empty())
                .unwrap_or(&self.regions.user_pool)
                .to_owned(),
            Provider::Cognito { .. } => self.regions.user_pool.clone(),
        }
    }

    /// The longest a session can last: the ID token's validity (Cognito:
    /// the pool's setting; other providers: 24 hours, a bound no common
    /// provider's ID token exceeds).
    pub fn longest_session_seconds(&self) -> u64 {
        match &self.provider {
            Provider::Cognito {
                id_token_validity_minutes,
                ..
            } => u64::from(*id_token_validity_minutes) * 60,
            Provider::Oidc { .. } => 24 * 3600,
        }
    }

    pub fn stack_name(&self, part: &str) -> String {
        format!("{}-{}-{part}", self.application, self.environment)
    }

    /// A site table's site's distribution stack (`""`: their prefix).
    pub fn site_stack(&self, name: &str) -> String {
        self.stack_name(&format!("site-{name}"))
    }

    /// A site table's site's grants stack (`""`: their prefix).
    pub fn grants_stack(&self, name: &str) -> String {
        self.stack_name(&format!("grants-{name}"))
    }

    /// The CloudFront Function's name (the viewer-function template's):
    /// account-global, as its log group is.
    pub fn viewer_function_name(&self) -> String {
        format!("{}-{}-viewer", self.application, self.environment)
    }

    /// `https://docs.example.com`, when a custom domain is set.
    pub fn site_url(&self) -> Option<String> {
        self.site.domain.as_ref().map(|d| format!("https://{d}"))
    }
}
