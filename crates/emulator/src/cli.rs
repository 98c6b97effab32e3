//! `edge-auth-dev`'s command line, declared with clap, and the options it
//! resolves to: the given options first, then a deploy settings file's
//! rules and public paths, then the defaults.

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use edge_auth_core::config::PathRule;

#[derive(Debug, Parser)]
#[command(
    name = "edge-auth-dev",
    version,
    about = "The protected site on 127.0.0.1, with a development identity provider",
    long_about = "The protected site on 127.0.0.1: site/ served through the real handlers, \
                  arranged as the deployed distribution arranges them, with a development \
                  OpenID provider on a second port (or an external one by its discovery URL). \
                  No AWS account is needed.",
    after_help = concat!(
        "Examples:\n",
        "  edge-auth-dev\n",
        "  edge-auth-dev --settings deploy/prod.toml --port 0 --idp-port 0\n",
        "  edge-auth-dev --authorizer lambda-edge --auth-endpoints edge\n",
        "  edge-auth-dev --provider-discovery https://idp.example.org/.well-known/openid-configuration --client-id local\n",
        "  edge-auth-dev completions bash > ~/.local/share/bash-completion/completions/edge-auth-dev\n\n",
        "Exit status: 0 when stopped with Ctrl-C, 1 when it could not start, 2 for a wrong option."
    ),
    args_conflicts_with_subcommands = true,
    // A later option wins, so a wrapper's defaults can be overridden by
    // what follows them (the tests' harness does that with --port).
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<DevCommand>,
    #[command(flatten)]
    pub options: Args,
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Print a shell completion script
    Completions {
        /// The shell to complete for
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line per event, for people
    Human,
    /// JSON lines, as the deployed functions write them
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Authorizer {
    /// The CloudFront Function the deploy tool publishes, run by Node.js
    CloudfrontFunction,
    /// The Lambda@Edge authorize and index-path functions
    LambdaEdge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthEndpoints {
    /// Regional functions behind function URL origins, as deployed by default
    Regional,
    /// Lambda@Edge origin-request functions (auth_endpoints = "edge")
    Edge,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The site's port on 127.0.0.1 (0: any free port)
    #[arg(long, value_name = "N", default_value_t = 8080)]
    pub port: u16,
    /// The development provider's port (0: any free port)
    #[arg(long, value_name = "N", default_value_t = 8081)]
    pub idp_port: u16,
    /// The static site
    #[arg(long, value_name = "DIR", default_value = "site")]
    pub site: PathBuf,
    /// The development provider's users
    #[arg(long, value_name = "FILE", default_value = "dev/users.json")]
    pub users: PathBuf,
    /// ID and access tokens' lifetime
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub id_token_ttl: u64,
    /// Refresh tokens' lifetime
    #[arg(long, value_name = "SECONDS", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl: u64,
    /// Leeway for exp and nbf
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub clock_skew: u64,
    /// The development client's secret [default: random]
    #[arg(long, value_name = "SECRET")]
    pub client_secret: Option<String>,
    /// An external OpenID provider instead of the development one, by its discovery URL
    #[arg(long, value_name = "URL", requires = "client_id")]
    pub provider_discovery: Option<String>,
    /// With --provider-discovery: the app client
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// With --provider-discovery: the claim that lists the user's groups
    #[arg(long, value_name = "NAME", default_value = "cognito:groups")]
    pub groups_claim: String,
    /// With --provider-discovery: a group id the provider sends and the name rules use, repeatable (Entra ID's group object ids)
    #[arg(long, value_name = "ID=NAME", value_parser = parse_group_name)]
    pub group_name: Vec<(String, String)>,
    /// With a Cognito discovery URL: the hosted domain, for /logout
    #[arg(long, value_name = "URL")]
    pub cognito_domain: Option<String>,
    /// The development provider federates NAME to an upstream OpenID provider, as a Cognito pool does for [[provider.federation]], repeatable
    #[arg(long, value_name = "NAME=CLIENT_ID:CLIENT_SECRET@DISCOVERY_URL", value_parser = crate::federation::parse_federate)]
    pub federate: Vec<crate::federation::UpstreamSpec>,
    /// An e-mail domain whose people sign in at the upstream NAME, repeatable [default: the settings' [[provider.federation]] domains]
    #[arg(long, value_name = "NAME=DOMAIN", value_parser = parse_group_name)]
    pub federate_domain: Vec<(String, String)>,
    /// An attribute mapping of the upstream NAME: the pool's attribute from its claim, repeatable [default: the settings', else email=email]
    #[arg(long, value_name = "NAME:ATTRIBUTE=CLAIM", value_parser = parse_federate_attribute)]
    pub federate_attribute: Vec<(String, String, String)>,
    /// With --federate: the pool's own users do not sign in (the settings' native_users = false)
    #[arg(long)]
    pub no_native_users: bool,
    /// A deploy settings file (deploy/prod.toml): its path rules and [site] public, as the deployed site has them
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// A path rule, repeatable, with an optional step-up: a sign-in within SECONDS, a second factor [default: the settings', else /admin/*=admins]
    #[arg(long, value_name = "PATTERN=GROUP[,GROUP][;max-auth-age=SECONDS][;mfa]", value_parser = parse_rule)]
    pub rule: Vec<PathRule>,
    /// A path served without sign-in, repeatable [default: the settings', else /signed-out.html, /favicon.ico, /favicon.svg]
    #[arg(long, value_name = "PATTERN")]
    pub public: Vec<String>,
    /// The idle limit: a session expired longer ago than this is not renewed [default: the settings' [session], else off]
    #[arg(long, value_name = "MINUTES")]
    pub idle_timeout_minutes: Option<u64>,
    /// The absolute limit: hours after the sign-in past which no refresh renews it [default: the settings' [session], else off]
    #[arg(long, value_name = "HOURS")]
    pub max_hours: Option<u64>,
    /// The session key set, {"signing_kid": .., "keys": [..]} [default: a new random key; a restart with the next set of a rotation keeps the browser signed in]
    #[arg(long, value_name = "FILE")]
    pub session_keys: Option<PathBuf>,
    /// A branch's preview of a site with [sites.preview], repeatable: served at http://<branch>.<site>-preview.<group>.localhost:<port>/
    #[arg(long, value_name = "SITE:BRANCH=DIR", value_parser = parse_preview)]
    pub preview: Vec<LocalPreview>,
    /// Log lines for people or as Lambda writes them
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// The per-request check
    #[arg(long, value_enum, default_value_t = Authorizer::CloudfrontFunction)]
    pub authorizer: Authorizer,
    /// Sign-in, refresh and sign-out
    #[arg(long, value_enum, default_value_t = AuthEndpoints::Regional)]
    pub auth_endpoints: AuthEndpoints,
}

fn parse_rule(value: &str) -> Result<PathRule, String> {
    let (pattern, rest) = value
        .split_once('=')
        .ok_or("PATTERN=GROUP[,GROUP], e.g. /admin/*=admins")?;
    let mut parts = rest.split(';');
    let groups = parts.next().unwrap_or_default();
    if pattern.is_empty() || groups.split(',').any(str::is_empty) {
        return Err("PATTERN=GROUP[,GROUP]: a pattern and at least one group, none empty".into());
    }
    let mut rule = PathRule {
        pattern: pattern.into(),
        groups: groups.split(',').map(str::to_owned).collect(),
        max_auth_age_seconds: None,
        mfa: false,
    };
    for part in parts {
        match part.split_once('=') {
            None if part == "mfa" => rule.mfa = true,
            Some(("max-auth-age", seconds)) => {
                rule.max_auth_age_seconds = Some(
                    seconds
                        .parse()
                        .map_err(|_| format!("max-auth-age={seconds}: a number of seconds"))?,
                )
            }
            _ => {
                return Err(format!(
                    "`{part}`: the step-ups are max-auth-age=SECONDS and mfa"
                ));
            }
        }
    }
    Ok(rule)
}

/// The options `run` starts the local edge with.
pub struct Options {
    /// `[tokens]` of the settings: the longest service token read.
    pub token_max_seconds: Option<u64>,
    /// Its `[[tokens.trust]]`, as config.json holds them.
    pub trust: Vec<edge_auth_core::exchange::TrustPolicy>,
    /// `[shares]`: the longest link (seconds), and whether the page is on.
    pub shares: Option<(u64, bool)>,
    pub port: u16,
    pub idp_port: u16,
    pub site: PathBuf,
    pub users: PathBuf,
    pub id_ttl: u64,
    pub refresh_ttl: u64,
    pub skew: u64,
    pub client_secret: Option<String>,
    pub discovery: Option<String>,
    pub client_id: Option<String>,
    pub groups_claim: String,
    /// Group ids to names (`provider.group_names`).
    pub group_names: std::collections::BTreeMap<String, String>,
    pub cognito_domain: Option<String>,
    pub rules: Vec<PathRule>,
    /// Paths served without a session; absent: the settings' or the core's default.
    pub public: Option<Vec<String>>,
    pub json_logs: bool,
    pub regional: bool,
    /// The CloudFront Function rather than authorize + index-path.
    pub cloudfront_function: bool,
    /// A session key set (`{"signing_kid", "keys"}`); a new random one when absent.
    pub session_keys: Option<PathBuf>,
    /// The idle and absolute limits (`session.idle_timeout_minutes`,
    /// `session.max_hours`), as the deployed site has them.
    pub idle_timeout_minutes: Option<u64>,
    pub max_hours: Option<u64>,
    /// The settings' `[[sites]]`: each served as `<name>.localhost` on
    /// the one port (Chromium resolves `*.localhost` to the loopback).
    pub sites: Vec<LocalSite>,
    /// The settings' `[[sign_in_groups]]`: each group's sites served as
    /// `<name>.<group>.localhost`, sharing a cookie for `<group>.localhost`.
    pub groups: Vec<LocalGroup>,
    /// Branches' previews (`--preview`), as `preview upload` puts them.
    pub previews: Vec<LocalPreview>,
    /// Upstream providers the development provider federates to, with
    /// their domains and mappings (`--federate`, the settings').
    pub upstreams: Vec<crate::federation::UpstreamSpec>,
    /// The pool's own users sign in beside them.
    pub native_users: bool,
}

/// A branch's preview: `--preview SITE:BRANCH=DIR`.
#[derive(Debug, Clone)]
pub struct LocalPreview {
    pub site: String,
    pub branch: String,
    pub dir: PathBuf,
}

fn parse_group_name(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((id, name)) if !id.is_empty() && !name.is_empty() => {
            Ok((id.to_owned(), name.to_owned()))
        }
        _ => Err("ID=NAME, such as 8d1f5f0e-…=admins".into()),
    }
}

/// `NAME:ATTRIBUTE=CLAIM` (the attribute may hold a colon: custom:groups).
fn parse_federate_attribute(value: &str) -> Result<(String, String, String), String> {
    let usage = "NAME:ATTRIBUTE=CLAIM, such as Corp:custom:groups=groups";
    let (target, claim) = value.split_once('=').ok_or(usage)?;
    let (name, attribute) = target.split_once(':').ok_or(usage)?;
    if name.is_empty() || attribute.is_empty() || claim.is_empty() {
        return Err(usage.into());
    }
    Ok((name.into(), attribute.into(), claim.into()))
}

fn parse_preview(value: &str) -> Result<LocalPreview, String> {
    let (target, dir) = value
        .split_once('=')
        .ok_or("SITE:BRANCH=DIR, such as api:feature-x=build/")?;
    let (site, branch) = target
        .split_once(':')
        .ok_or("SITE:BRANCH=DIR, such as api:feature-x=build/")?;
    if !edge_auth_core::sites::is_branch(branch) {
        return Err(format!(
            "`{branch}`: a branch is 1 to 63 lower-case letters, digits and inner `-`"
        ));
    }
    let dir = PathBuf::from(dir);
    if !dir.join("index.html").is_file() {
        return Err(format!("{}: no index.html here", dir.display()));
    }
    Ok(LocalPreview {
        site: site.to_owned(),
        branch: branch.to_owned(),
        dir,
    })
}

/// A sign-in group sharing its session across a parent domain.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LocalGroup {
    pub name: String,
    pub sign_in_site: String,
}

/// One site of the settings' `[[sites]]`, as the local edge serves it.
#[derive(Debug, Clone)]
pub struct LocalSite {
    pub name: String,
    /// Its content (`content`, relative to the settings file).
    pub content: PathBuf,
    /// The sign-in group it shares sessions with (`sign_in_group`).
    pub session: Option<String>,
    /// It has previews (`[sites.preview]`).
    pub preview: bool,
    /// The identity provider its sign-ins go to without asking.
    pub identity_provider: Option<String>,
    pub rules: Vec<PathRule>,
    pub public: Vec<String>,
}

/// The process's options; None when a subcommand ran instead (it printed
/// what it was asked for). A wrong option ends the process with clap's
/// message and exit status 2.
pub fn options() -> Result<Option<Options>, String> {
    let cli = Cli::parse();
    if let Some(DevCommand::Completions { shell }) = cli.command {
        let mut command = Cli::command();
        clap_complete::generate(shell, &mut command, "edge-auth-dev", &mut std::io::stdout());
        return Ok(None);
    }
    resolve(cli.options).map(Some)
}

/// The given options, then the settings file's rules and public paths,
/// then the defaults: the local site opens exactly what the deployed one
/// would.
fn resolve(a: Args) -> Result<Options, String> {
    let mut rules = a.rule;
    let mut public = (!a.public.is_empty()).then_some(a.public);
    let (mut idle, mut max) = (a.idle_timeout_minutes, a.max_hours);
    let mut sites = Vec::new();
    let mut groups = Vec::new();
    let mut upstreams = a.federate;
    let mut native_users = !a.no_native_users;
    let (mut token_max_seconds, mut trust, mut shares) = (None, Vec::new(), None);
    if let Some(path) = &a.settings {
        let file = SettingsFile::read(path)?;
        if let Some(tokens) = &file.tokens {
            token_max_seconds = Some(tokens.max_ttl_days.saturating_mul(86_400));
            let scope = |name: &str| {
                file.sites
                    .iter()
                    .find(|s| s.name == name)
                    .and_then(|s| s.sign_in_group.clone())
                    .unwrap_or_else(|| name.to_owned())
            };
            trust = tokens.trust.iter().map(|t| t.policy(scope)).collect();
        }
        shares = file
            .shares
            .as_ref()
            .map(|s| (s.max_ttl_days.saturating_mul(86_400), s.page));
        // The settings' providers' domains and mappings for the upstreams
        // given here (their issuers and secrets are the deployment's).
        if let Some(provider) = &file.provider {
            native_users &= provider.native_users.unwrap_or(true);
            for upstream in &mut upstreams {
                if let Some(entry) = provider.federation.iter().find(|f| f.name == upstream.name) {
                    upstream.domains = entry.domains.clone();
                    upstream.attributes = entry.attributes.clone();
                }
            }
        }
        groups = file.sign_in_groups;
        let here = path.parent().unwrap_or(std::path::Path::new("."));
        sites = file
            .sites
            .into_iter()
            .map(|site| LocalSite {
                content: here.join(site.content.unwrap_or_else(|| site.name.clone().into())),
                session: site.sign_in_group,
                preview: site.preview.is_some(),
                identity_provider: site.identity_provider,
                rules: site
                    .rules
                    .into_iter()
                    .map(SettingsRule::into_rule)
                    .collect(),
                public: site
                    .public
                    .unwrap_or_else(edge_auth_core::config::default_public),
                name: site.name,
            })
            .collect();
        if rules.is_empty() {
            rules = file
                .rules
                .into_iter()
                .map(SettingsRule::into_rule)
                .collect();
        }
        if public.is_none() {
            public = file.site.public;
        }
        idle = idle.or(file.session.idle_timeout_minutes);
        max = max.or(file.session.max_hours);
    }
    if rules.is_empty() {
        rules.push(parse_rule("/admin/*=admins").expect("the default rule"));
    }
    for (name, domain) in a.federate_domain {
        let upstream = upstreams
            .iter_mut()
            .find(|u| u.name == name)
            .ok_or(format!(
                "--federate-domain {name}={domain}: no --federate {name}=…"
            ))?;
        upstream.domains.push(domain);
    }
    for (name, attribute, claim) in a.federate_attribute {
        let upstream = upstreams
            .iter_mut()
            .find(|u| u.name == name)
            .ok_or(format!(
                "--federate-attribute {name}:…: no --federate {name}=…"
            ))?;
        upstream.attributes.insert(attribute, claim);
    }
    for upstream in &mut upstreams {
        upstream
            .attributes
            .entry("email".into())
            .or_insert_with(|| "email".into());
    }
    Ok(Options {
        port: a.port,
        idp_port: a.idp_port,
        site: a.site,
        users: a.users,
        id_ttl: a.id_token_ttl,
        refresh_ttl: a.refresh_token_ttl,
        skew: a.clock_skew,
        client_secret: a.client_secret,
        discovery: a.provider_discovery,
        client_id: a.client_id,
        groups_claim: a.groups_claim,
        group_names: a.group_name.into_iter().collect(),
        cognito_domain: a.cognito_domain,
        rules,
        public,
        json_logs: a.log_format == LogFormat::Json,
        regional: a.auth_endpoints == AuthEndpoints::Regional,
        cloudfront_function: a.authorizer == Authorizer::CloudfrontFunction,
        session_keys: a.session_keys,
        idle_timeout_minutes: idle,
        max_hours: max,
        sites,
        groups,
        previews: a.preview,
        upstreams,
        native_users,
        token_max_seconds,
        trust,
        shares,
    })
}

/// What the local edge reads of a deploy settings file (`deploy/*.toml`):
/// the path rules and the public paths; the rest is for AWS.
#[derive(serde::Deserialize)]
struct SettingsFile {
    #[serde(default)]
    site: SettingsSite,
    #[serde(default)]
    rules: Vec<SettingsRule>,
    #[serde(default)]
    session: SettingsSession,
    #[serde(default)]
    sites: Vec<SettingsSiteEntry>,
    #[serde(default)]
    sign_in_groups: Vec<LocalGroup>,
    #[serde(default)]
    provider: Option<SettingsProvider>,
    #[serde(default)]
    tokens: Option<SettingsTokens>,
    #[serde(default)]
    shares: Option<SettingsShares>,
}

/// `[shares]`: shared links are taken here as at the deployed edge, and
/// made on the share page with `page`.
#[derive(serde::Deserialize)]
struct SettingsShares {
    max_ttl_days: u64,
    #[serde(default)]
    page: bool,
}

/// `[tokens]`: service tokens are read here as at the deployed edge, and
/// workload tokens exchanged under `[[tokens.trust]]`.
#[derive(serde::Deserialize)]
struct SettingsTokens {
    max_ttl_days: u64,
    #[serde(default)]
    trust: Vec<edge_auth_core::exchange::TrustSetting>,
}

/// What the local edge reads of `[provider]`: whether the pool's own
/// users sign in, and its corporate providers' domains and mappings.
#[derive(serde::Deserialize)]
struct SettingsProvider {
    native_users: Option<bool>,
    #[serde(default)]
    federation: Vec<SettingsFederation>,
}

#[derive(serde::Deserialize)]
struct SettingsFederation {
    name: String,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    attributes: std::collections::BTreeMap<String, String>,
}

/// A `[[sites]]` entry: what the local edge reads of it (the domain,
/// aliases and certificate are for AWS).
#[derive(serde::Deserialize)]
struct SettingsSiteEntry {
    name: String,
    #[serde(default)]
    content: Option<PathBuf>,
    #[serde(default)]
    sign_in_group: Option<String>,
    /// `[sites.preview]`: here, only whether there is one.
    #[serde(default)]
    preview: Option<toml::Value>,
    #[serde(default)]
    identity_provider: Option<String>,
    #[serde(default)]
    rules: Vec<SettingsRule>,
    #[serde(default)]
    public: Option<Vec<String>>,
}

#[derive(serde::Deserialize, Default)]
struct SettingsSession {
    idle_timeout_minutes: Option<u64>,
    max_hours: Option<u64>,
}

#[derive(serde::Deserialize, Default)]
struct SettingsSite {
    public: Option<Vec<String>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsRule {
    pattern: String,
    groups: Vec<String>,
    #[serde(default)]
    max_auth_age_minutes: Option<u64>,
    #[serde(default)]
    mfa: bool,
}

impl SettingsRule {
    fn into_rule(self) -> PathRule {
        PathRule {
            pattern: self.pattern,
            groups: self.groups,
            max_auth_age_seconds: self.max_auth_age_minutes.map(|m| m * 60),
            mfa: self.mfa,
        }
    }
}

impl SettingsFile {
    fn read(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--settings {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("--settings {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(line.split_whitespace())
    }

    #[test]
    fn the_declaration_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_are_the_deployed_arrangement() {
        let o = resolve(parse("edge-auth-dev").unwrap().options).unwrap();
        assert!(o.cloudfront_function && o.regional && !o.json_logs);
        assert_eq!((o.port, o.idp_port), (8080, 8081));
        assert_eq!(o.rules.len(), 1);
        assert_eq!(
            (o.rules[0].pattern.as_str(), &o.rules[0].groups[..]),
            ("/admin/*", &["admins".to_owned()][..])
        );
        assert_eq!(o.public, None);
    }

    #[test]
    fn a_later_option_wins_and_repeated_ones_add_up() {
        let line =
            "edge-auth-dev --port 1 --port 2 --rule /a/*=x --rule /b/*=y --public /p --public /q";
        let o = resolve(parse(line).unwrap().options).unwrap();
        assert_eq!(o.port, 2);
        assert_eq!(o.rules.len(), 2);
        assert_eq!(o.public, Some(vec!["/p".to_owned(), "/q".to_owned()]));
    }

    /// `[session]`'s limits come from the settings file unless given.
    #[test]
    fn the_session_limits_come_from_the_settings_or_the_options() {
        let dir = std::env::temp_dir().join(format!("edge-dev-limits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("s.toml");
        std::fs::write(
            &file,
            "[session]\nidle_timeout_minutes = 30\nmax_hours = 8\n",
        )
        .unwrap();
        let o = resolve(
            parse(&format!("edge-auth-dev --settings {}", file.display()))
                .unwrap()
                .options,
        )
        .unwrap();
        assert_eq!((o.idle_timeout_minutes, o.max_hours), (Some(30), Some(8)));
        let o = resolve(
            parse(&format!(
                "edge-auth-dev --settings {} --max-hours 2",
                file.display()
            ))
            .unwrap()
            .options,
        )
        .unwrap();
        assert_eq!((o.idle_timeout_minutes, o.max_hours), (Some(30), Some(2)));
        let o = resolve(parse("edge-auth-dev").unwrap().options).unwrap();
        assert_eq!((o.idle_timeout_minutes, o.max_hours), (None, None));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_rule_takes_its_step_ups() {
        let o = resolve(
            parse("edge-auth-dev --rule /ops/*=admins;max-auth-age=60;mfa")
                .unwrap()
                .options,
        )
        .unwrap();
        assert_eq!(o.rules[0].max_auth_age_seconds, Some(60));
        assert!(o.rules[0].mfa);
    }

    #[test]
    fn options_win_over_the_settings_file() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let line =
            format!("edge-auth-dev --settings {root}/deploy/prod.toml --rule /x/*=a,b --public /p");
        let o = resolve(parse(&line).unwrap().options).unwrap();
        assert_eq!(o.rules.len(), 1);
        assert_eq!(
            (o.rules[0].pattern.as_str(), &o.rules[0].groups[..]),
            ("/x/*", &["a".to_owned(), "b".to_owned()][..])
        );
        assert_eq!(o.public, Some(vec!["/p".to_owned()]));
        let o = resolve(
            parse(&format!("edge-auth-dev --settings {root}/deploy/prod.toml"))
                .unwrap()
                .options,
        )
        .unwrap();
        assert!(o.public.unwrap().contains(&"/assets/style.css".to_owned()));
    }

    #[test]
    fn wrong_options_are_usage_errors() {
        for (line, kind) in [
            ("edge-auth-dev --port 70000", ErrorKind::ValueValidation),
            ("edge-auth-dev --port", ErrorKind::InvalidValue),
            ("edge-auth-dev --authorizer lambda", ErrorKind::InvalidValue),
            ("edge-auth-dev --rule /admin/*", ErrorKind::ValueValidation),
            ("edge-auth-dev --rule /admin/*=", ErrorKind::ValueValidation),
            (
                "edge-auth-dev --rule /admin/*=a;max-auth-age=x",
                ErrorKind::ValueValidation,
            ),
            (
                "edge-auth-dev --rule /admin/*=a;mfa=1",
                ErrorKind::ValueValidation,
            ),
            (
                "edge-auth-dev --rule /admin/*=a;recent",
                ErrorKind::ValueValidation,
            ),
            (
                "edge-auth-dev --provider-discovery https://x/.well-known/openid-configuration",
                ErrorKind::MissingRequiredArgument,
            ),
            ("edge-auth-dev --prot 1", ErrorKind::UnknownArgument),
            (
                "edge-auth-dev completions bash --port 1",
                ErrorKind::UnknownArgument,
            ),
        ] {
            let err = parse(line).expect_err(line);
            assert_eq!(err.kind(), kind, "{line}: {err}");
            assert_eq!(err.exit_code(), 2);
        }
        let err = resolve(
            parse("edge-auth-dev --settings /nonexistent.toml")
                .unwrap()
                .options,
        )
        .err()
        .unwrap();
        assert!(err.starts_with("--settings /nonexistent.toml: "), "{err}");
    }

    #[test]
    fn every_example_parses() {
        let help = Cli::command()
            .get_after_help()
            .map(ToString::to_string)
            .unwrap_or_default();
        let examples: Vec<&str> = help
            .lines()
            .filter_map(|l| l.trim().strip_prefix("edge-auth-dev"))
            .collect();
        assert!(examples.len() >= 4, "{help}");
        for example in examples {
            let line = format!("edge-auth-dev {}", example.split('>').next().unwrap_or(""));
            parse(&line).unwrap_or_else(|e| panic!("`{line}`: {e}"));
        }
    }
}
