//! `config.json`: the one place every setting comes from.
//!
//! Lambda@Edge has no environment variables, so the deploy tool writes this
//! file into each package from the stack outputs. The schema is versioned
//! (`"version": 2`: 2 added `session`) and documented in `docs/config.md`; unknown fields are
//! rejected so that a typo fails at start instead of silently doing nothing.

use serde::{Deserialize, Serialize};

use crate::paths::PathPattern;
use crate::session::{SessionKeyFile, SessionVerifier};
use crate::token::{KeySetError, TokenVerifier};

pub const SCHEMA_VERSION: u32 = 2;

/// The longest `max_auth_age_seconds` a rule may ask: a day (longer is
/// what `session.max_hours` is for).
pub const MAX_AUTH_AGE_SECONDS: u64 = 24 * 3600;

/// The file as written on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub version: u32,
    pub provider: ProviderSettings,
    /// The deployment's own session (`crate::session`).
    pub session: SessionSettings,
    #[serde(default)]
    pub paths: PathSettings,
    #[serde(default)]
    pub site: SiteSettings,
    #[serde(default)]
    pub cookies: CookieSettings,
    #[serde(default)]
    pub rules: Vec<PathRule>,
    /// Service tokens for machines (`Authorization: Bearer`); absent, the
    /// header is not read and requests are decided by their cookies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenSettings>,
    /// Shared links (their cookie, and signin's share endpoint); absent,
    /// the cookie is not read and the endpoint is a 404.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<ShareSettings>,
    /// Many sites behind one deployment (`crate::sites`): each request's
    /// rules and public paths are its site's, and `rules` and
    /// `paths.public` above are no site's. The function reads them from
    /// its key value store, the regional handlers from here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<TableSite>,
    /// Sign-in groups whose sites share one session across a parent
    /// domain, signing in through one of them (`crate::sites`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sign_in_groups: Vec<SignInGroup>,
    #[serde(default)]
    pub secret: SecretSource,
    #[serde(default)]
    pub http: HttpSettings,
    #[serde(default = "default_log_level")]
    pub log_level: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// `iss` of every token, e.g. `https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_AbC`.
    pub issuer: String,
    pub client_id: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub logout: LogoutSettings,
    /// The provider's JSON Web Key Set as it was at deploy time: signin and
    /// refresh try it first, then `jwks_uri` for a key id it lacks. The
    /// viewer packages get none: the per-request check needs no provider key.
    #[serde(default = "no_keys")]
    pub jwks: serde_json::Value,
    /// Where the provider publishes its current keys (the discovery
    /// document's `jwks_uri`); absent, a rotated key needs a redeploy.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// Algorithms a token may be signed with. Anything else (`none`, `HS*`)
    /// is refused before a key is looked at.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// The ID token claim that lists the user's groups (`crate::groups`:
    /// an array, a string of names, a dotted path into an object).
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// Group ids as the provider sends them to the names rules use
    /// (Entra ID's group object ids); an id not here stays as it is.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub group_names: std::collections::BTreeMap<String, String>,
    /// Claims read as well as `groups_claim`, their groups added: a
    /// Cognito pool that federates has its own groups in `cognito:groups`
    /// and the corporate provider's, mapped, in `custom:groups`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_groups_claims: Vec<String>,
    /// Which of the pool's identity providers a sign-in goes to
    /// (`crate::routing`); absent, the provider's own page decides.
    #[serde(default, skip_serializing_if = "crate::routing::Routing::is_plain")]
    pub routing: crate::routing::Routing,
    /// When set, the ID token's `token_use` claim must equal it (Cognito: `id`).
    #[serde(default)]
    pub token_use: Option<String>,
    #[serde(default = "default_skew")]
    pub clock_skew_seconds: u64,
    /// Every sign-in at this provider uses a second factor (a Cognito pool
    /// with MFA required, whose ID tokens carry no `amr`): a rule's `mfa`
    /// is then met by any session.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mfa_always: bool,
}

/// `tokens` in config.json: service tokens are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// The longest a token may live (`exp - iat`): one minted longer is
    /// refused whatever its MAC.
    pub max_lifetime_seconds: u64,
    /// Workload tokens signin exchanges for service tokens at
    /// `paths.token` (`crate::exchange`); empty, the path is a 404.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trust: Vec<crate::exchange::TrustPolicy>,
}

/// `shares` in config.json: shared links are read (`crate::share`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareSettings {
    /// The longest a link may live: one minted longer is refused.
    pub max_lifetime_seconds: u64,
    /// Signed-in users make links for what their groups open, at
    /// `paths.share` (served by signin); off, that path is a 404.
    #[serde(default)]
    pub page: bool,
}

/// The longest `tokens.max_lifetime_seconds`: a year.
pub const MAX_TOKEN_LIFETIME: u64 = 366 * 24 * 3600;

/// The session cookie the deployment signs (HMAC-SHA-256).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    /// The keys a session may be signed with: the signing key and, during a
    /// rotation, the one before or after it. Only a package that verifies
    /// without reaching Secrets Manager carries them (Lambda@Edge's
    /// `authorize`, the local edge); HS256 has no public half, so a package
    /// with these can mint sessions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<SessionKeyFile>,
    /// Instead of `keys`: the key ids the verifiers accept, the key
    /// material read from `signing_keys` at run time
    /// ([`Config::with_session_keys`]). What the regional packages carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kids: Vec<String>,
    /// Where signin and refresh read the key set and which key signs
    /// (`{"signing_kid": .., "keys": [..]}`); `none` in packages that only verify.
    #[serde(default)]
    pub signing_keys: SecretSource,
    /// How long a session lasts. Absent: until the provider's ID token
    /// expires (Cognito: its ID token validity, 60 minutes by default).
    #[serde(default)]
    pub lifetime_seconds: Option<u64>,
    /// The idle limit: a session that expired longer ago than this is not
    /// renewed, and the visitor signs in again (off when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_minutes: Option<u64>,
    /// The absolute limit: hours after the sign-in at this site past which
    /// no refresh renews the session (off when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_hours: Option<u64>,
}

/// Where sign-out sends the browser after clearing cookies.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LogoutSettings {
    /// Cognito hosted UI: `<domain>/logout?client_id=..&logout_uri=..`.
    Cognito { url: String },
    /// OpenID Connect RP-initiated logout: `end_session_endpoint?client_id=..&post_logout_redirect_uri=..`.
    Oidc { url: String },
    /// Straight to the signed-out page.
    #[default]
    None,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
    /// A public client (no secret).
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PathSettings {
    /// The provider's redirect back (the callback).
    pub signin: String,
    /// Where the CloudFront Function sends a visitor without a session: a
    /// sign-in starts here (it needs random `state`, `nonce` and PKCE
    /// verifier, which a CloudFront Function cannot make). Served by signin.
    pub start: String,
    pub refresh: String,
    pub signout: String,
    /// Where a workload's OIDC token is exchanged for a service token
    /// (`crate::exchange`). Served by signin.
    pub token: String,
    /// The page where a signed-in user makes a shared link
    /// (`crate::share_page`, with `shares.page`). Served by signin.
    pub share: String,
    pub signed_out: String,
    /// The refresh-token cookie is sent only below this prefix, which must
    /// hold both the refresh and the sign-out path (sign-out revokes it).
    pub auth_prefix: String,
    /// Served without a session (CloudFront path-pattern syntax).
    pub public: Vec<String>,
}

impl Default for PathSettings {
    fn default() -> Self {
        Self {
            signin: "/_edge-auth/callback".into(),
            start: "/_edge-auth/start".into(),
            refresh: "/_edge-auth/refresh".into(),
            signout: "/_edge-auth/signout".into(),
            token: "/_edge-auth/token".into(),
            share: "/_edge-auth/share".into(),
            signed_out: "/signed-out.html".into(),
            auth_prefix: "/_edge-auth/".into(),
            public: default_public(),
        }
    }
}

/// What anyone may read without signing in, unless the settings say
/// otherwise: the signed-out page and the site's icon. Nothing more: a
/// docs generator's `/assets/*` carries every page's content (VitePress,
/// Docusaurus), so opening it would open the site.
pub fn default_public() -> Vec<String> {
    ["/signed-out.html", "/favicon.ico", "/favicon.svg"]
        .map(String::from)
        .to_vec()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteSettings {
    /// `https://docs.example.com`. When absent, `https://` + the
    /// distribution's own domain name from the event; never the viewer's
    /// `Host` header.
    pub base_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CookieSettings {
    /// Cookie names are `__Host-<prefix>-id`, `__Secure-<prefix>-refresh`, `__Host-<prefix>-flow-<state>`.
    pub name_prefix: String,
    /// Only for plain-HTTP local runs: drops `Secure` and the `__Host-`/`__Secure-` prefixes.
    pub secure: bool,
    /// Lifetime of the ID and refresh token cookies (the tokens carry their own expiry).
    pub session_max_age_seconds: u64,
    /// Lifetime of a sign-in flow (state, PKCE verifier, nonce, return path).
    pub flow_max_age_seconds: u64,
    /// How many sign-ins may be in progress at once (parallel tabs).
    pub max_parallel_signins: usize,
}

impl Default for CookieSettings {
    fn default() -> Self {
        Self {
            name_prefix: "edge-auth".into(),
            secure: true,
            session_max_age_seconds: 30 * 24 * 3600,
            flow_max_age_seconds: 600,
            max_parallel_signins: 5,
        }
    }
}

/// Paths matching `pattern` are open only to users in one of `groups`,
/// and, with a step-up, only to a recent or second-factor sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathRule {
    pub pattern: String,
    pub groups: Vec<String>,
    /// The provider must have authenticated the user (the ID token's
    /// `auth_time`) no longer ago than this; older, a sign-in with
    /// `prompt=login` and `max_age`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_auth_age_seconds: Option<u64>,
    /// The sign-in must have used a second factor (`crate::token`'s `amr`
    /// reading, or `provider.mfa_always`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mfa: bool,
}

/// One site of a site table, as config.json names it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSite {
    /// The site's name: what its distribution's origin for the auth
    /// endpoints sends as `X-Edge-Auth-Site`.
    pub name: String,
    /// Its address, `https://host[:port]`: where its sign-ins come back.
    pub base_url: String,
    /// The sign-in group it shares sessions with; alone, its own name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default)]
    pub rules: Vec<PathRule>,
    #[serde(default)]
    pub public: Vec<String>,
    /// Preview sites per branch: `<branch>.<preview_domain>` serves the
    /// branch's content with this site's rules (`crate::sites::preview_entry`).
    /// Only for a site of a sign-in group sharing a parent domain, under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_domain: Option<String>,
    /// The identity provider its sign-ins go to without asking
    /// (`provider.routing`'s providers, or `COGNITO`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
}

/// A sign-in group of the table whose sites share one session cookie,
/// scoped to a parent domain of them all, and sign in through one host.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInGroup {
    /// The group: the `session` of its sites.
    pub name: String,
    /// The parent domain the session cookie is scoped to (`Domain=`):
    /// every site of the group is under it.
    pub domain: String,
    /// The site every sign-in of the group goes through: its callback is
    /// the group's one redirect URI.
    pub sign_in_site: String,
}

/// At a site of a [`SignInGroup`]: where its sign-ins go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedSignIn {
    /// This site's name.
    pub site: String,
    /// The group's sign-in site's name, and its address.
    pub sign_in_site: String,
    pub sign_in_base: String,
}

impl SharedSignIn {
    /// Whether this site hands its sign-ins over to another.
    pub fn elsewhere(&self) -> bool {
        self.site != self.sign_in_site
    }
}

/// A checked site of the table.
#[derive(Debug, Clone)]
pub struct CheckedSite {
    pub name: String,
    pub base_url: String,
    /// Its host as the store names it (`site:<host>`, `sites::site_key`).
    pub key: String,
    pub policy: crate::sites::SitePolicy,
    /// Its branches' previews are served under this domain.
    pub preview_domain: Option<String>,
}

/// Every group `rules` name: the only groups a session carries.
fn groups_of<'r>(rules: impl IntoIterator<Item = &'r Rule>) -> std::collections::BTreeSet<String> {
    rules
        .into_iter()
        .flat_map(|rule| rule.groups.iter().cloned())
        .collect()
}

/// `rules` (config.json's `field`) checked.
fn check_rules(field: &str, rules: &[PathRule]) -> Result<Vec<Rule>, ConfigError> {
    rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            if rule.groups.is_empty() {
                return Err(invalid(
                    &format!("{field}[{i}].groups"),
                    "name at least one group",
                ));
            }
            if rule
                .max_auth_age_seconds
                .is_some_and(|s| !(1..=MAX_AUTH_AGE_SECONDS).contains(&s))
            {
                return Err(invalid(
                    &format!("{field}[{i}].max_auth_age_seconds"),
                    format!("from 1 to {MAX_AUTH_AGE_SECONDS} seconds"),
                ));
            }
            PathPattern::new(&rule.pattern)
                .map(|pattern| Rule {
                    pattern,
                    groups: rule.groups.clone(),
                    step_up: StepUp {
                        max_auth_age_seconds: rule.max_auth_age_seconds,
                        mfa: rule.mfa,
                    },
                })
                .map_err(|e| invalid(&format!("{field}[{i}].pattern"), e))
        })
        .collect()
}

/// The site table checked: names unique and plain, one site per host, an
/// `https://` address (or a loopback one) with no path.
fn check_sites(file: &ConfigFile) -> Result<Vec<CheckedSite>, ConfigError> {
    check_site_table(&file.sites, &file.sign_in_groups, &file.cookies)
}

/// config.json's `sites` and `sign_in_groups` checked, as every handler
/// reads them; the deploy tool's `check` asks the same of its settings.
pub fn check_site_table(
    sites: &[TableSite],
    groups: &[SignInGroup],
    cookies: &CookieSettings,
) -> Result<Vec<CheckedSite>, ConfigError> {
    if sites.is_empty() && !groups.is_empty() {
        return Err(invalid(
            "sign_in_groups",
            "only with a site table (`sites`)",
        ));
    }
    let mut checked: Vec<CheckedSite> = Vec::new();
    for (i, site) in sites.iter().enumerate() {
        let field = |name: &str| format!("sites[{i}].{name}");
        let plain = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if !plain(&site.name) {
            return Err(invalid(
                &field("name"),
                "letters, digits and `-`, at most 64",
            ));
        }
        if checked.iter().any(|c| c.name == site.name) {
            return Err(invalid(
                &field("name"),
                format!("`{}` names two sites", site.name),
            ));
        }
        let id = site.session.clone().unwrap_or_else(|| site.name.clone());
        if !plain(&id) {
            return Err(invalid(
                &field("session"),
                "letters, digits and `-`, at most 64",
            ));
        }
        let key = site
            .base_url
            .strip_prefix("https://")
            .or_else(|| {
                let rest = site.base_url.strip_prefix("http://")?;
                let name = rest.split(':').next()?;
                (name == "127.0.0.1" || name == "localhost" || name.ends_with(".localhost"))
                    .then_some(rest)
            })
            .and_then(|host| crate::sites::site_key(Some(host)))
            .ok_or_else(|| {
                invalid(
                    &field("base_url"),
                    "must be `https://host[:port]` (`http://` only on loopback), no path",
                )
            })?;
        if checked.iter().any(|c| c.key == key) {
            return Err(invalid(
                &field("base_url"),
                format!("`{}` is another site's host", site.base_url),
            ));
        }
        let public = site
            .public
            .iter()
            .map(|p| PathPattern::new(p).map_err(|e| invalid(&field("public"), e)))
            .collect::<Result<Vec<_>, _>>()?;
        checked.push(CheckedSite {
            name: site.name.clone(),
            base_url: site.base_url.clone(),
            key,
            policy: crate::sites::SitePolicy {
                id,
                public,
                rules: check_rules(&field("rules"), &site.rules)?,
                cookies: None,
                preview: None,
            },
            preview_domain: site.preview_domain.clone(),
        });
    }
    check_groups(groups, cookies, &mut checked)?;
    check_previews(groups, &checked)?;
    Ok(checked)
}

/// A lower-case domain name of two labels or more, without a port.
fn plain_domain(domain: &str) -> bool {
    crate::sites::site_key(Some(domain)).is_some()
        && domain.contains('.')
        && !domain.contains(':')
        && domain == domain.to_ascii_lowercase()
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
}

/// Each site's preview domain: only at a site of a group sharing a parent
/// domain, under that domain (the session reaches the previews, which
/// sign in through the group's sign-in site), one per site, and no site's
/// host a branch of it.
fn check_previews(groups: &[SignInGroup], sites: &[CheckedSite]) -> Result<(), ConfigError> {
    for (i, site) in sites.iter().enumerate() {
        let Some(preview) = &site.preview_domain else {
            continue;
        };
        let field = format!("sites[{i}].preview_domain");
        if !plain_domain(preview) {
            return Err(invalid(
                &field,
                "a lower-case domain name of two labels or more (`preview.docs.example.com`)",
            ));
        }
        let Some(group) = groups.iter().find(|g| g.name == site.policy.id) else {
            return Err(invalid(
                &field,
                "previews sign in through their site's group: the site needs a sign-in group with a domain (`sign_in_groups`)",
            ));
        };
        if !preview.ends_with(&format!(".{}", group.domain)) {
            return Err(invalid(
                &field,
                format!(
                    "`{preview}` is not under the group's `{}`: the session would not reach the previews",
                    group.domain
                ),
            ));
        }
        if let Some(other) = sites.iter().find(|s| {
            let host = s.key.trim_start_matches(crate::sites::SITE_PREFIX);
            let host = host.split(':').next().unwrap_or(host);
            host.ends_with(&format!(".{preview}"))
                || (s.name != site.name && s.preview_domain.as_deref() == Some(preview))
        }) {
            return Err(invalid(
                &field,
                format!("`{preview}` is site `{}`'s too", other.name),
            ));
        }
    }
    Ok(())
}

/// The sign-in groups checked against the table: each names sites, its
/// domain is a parent of every one of their hosts and of no other
/// group's, its sign-in site is one of them. Their sites' entries then
/// name the group's cookies.
fn check_groups(
    groups: &[SignInGroup],
    cookies: &CookieSettings,
    sites: &mut [CheckedSite],
) -> Result<(), ConfigError> {
    for (i, group) in groups.iter().enumerate() {
        let field = |name: &str| format!("sign_in_groups[{i}].{name}");
        if groups[..i].iter().any(|g| g.name == group.name) {
            return Err(invalid(
                &field("name"),
                format!("`{}` names two groups", group.name),
            ));
        }
        let domain = &group.domain;
        if !plain_domain(domain) {
            return Err(invalid(
                &field("domain"),
                "a lower-case domain name of two labels or more (`docs.example.com`)",
            ));
        }
        if let Some(other) = groups[..i].iter().find(|g| {
            g.domain == *domain
                || g.domain.ends_with(&format!(".{domain}"))
                || domain.ends_with(&format!(".{}", g.domain))
        }) {
            return Err(invalid(
                &field("domain"),
                format!(
                    "`{domain}` and group `{}`'s `{}` overlap: each group's session cookie must reach its own sites only",
                    other.name, other.domain
                ),
            ));
        }
        let names = crate::cookies::CookieNames::shared(cookies, domain);
        let mut members = 0;
        for site in sites.iter_mut().filter(|s| s.policy.id == group.name) {
            let host = site.key.trim_start_matches(crate::sites::SITE_PREFIX);
            let host = host.split(':').next().unwrap_or(host);
            if !host.ends_with(&format!(".{domain}")) {
                return Err(invalid(
                    &field("domain"),
                    format!(
                        "site `{}` ({host}) is not under `{domain}`: the group's session cookie would not reach it",
                        site.name
                    ),
                ));
            }
            site.policy.cookies = Some([names.session.clone(), names.user.clone()]);
            members += 1;
        }
        if members == 0 {
            return Err(invalid(
                &field("name"),
                format!("no site has `session = \"{}\"`", group.name),
            ));
        }
        if !sites
            .iter()
            .any(|s| s.name == group.sign_in_site && s.policy.id == group.name)
        {
            return Err(invalid(
                &field("sign_in_site"),
                format!("`{}` is not a site of the group", group.sign_in_site),
            ));
        }
    }
    Ok(())
}

/// A checked rule: its pattern, its groups, and what it asks of the sign-in.
#[derive(Debug, Clone)]
pub struct Rule {
    pub pattern: PathPattern,
    pub groups: Vec<String>,
    pub step_up: StepUp,
}

/// What a sign-in lacked for a step-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmet {
    /// Authenticated longer ago than this many seconds, or at no known time.
    Age(u64),
    SecondFactor,
}

/// What a path asks of the sign-in beyond the groups (`PathRule`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepUp {
    pub max_auth_age_seconds: Option<u64>,
    pub mfa: bool,
}

impl StepUp {
    /// Both asked at once: the shorter age, and a second factor if either.
    pub fn and(self, other: StepUp) -> StepUp {
        let max_auth_age_seconds = match (self.max_auth_age_seconds, other.max_auth_age_seconds) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        StepUp {
            max_auth_age_seconds,
            mfa: self.mfa || other.mfa,
        }
    }
    pub fn is_none(self) -> bool {
        self == StepUp::default()
    }
    /// Whether a session with these claims meets it at `now`.
    pub fn met_by(self, claims: &crate::session::SessionClaims, now: u64) -> Result<(), Unmet> {
        self.met(claims.idp_auth_time, claims.mfa, now)
    }
    /// The same for a sign-in's `idp_auth_time` and `mfa`. An age the
    /// sign-in cannot show (no `auth_time`) is not recent.
    pub fn met(self, idp_auth_time: Option<u64>, mfa: Option<bool>, now: u64) -> Result<(), Unmet> {
        if let Some(age) = self.max_auth_age_seconds
            && idp_auth_time.is_none_or(|t| now > t.saturating_add(age))
        {
            return Err(Unmet::Age(age));
        }
        if self.mfa && mfa != Some(true) {
            return Err(Unmet::SecondFactor);
        }
        Ok(())
    }
}

/// Where the client secret comes from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SecretSource {
    /// A Secrets Manager secret holding `{"client_id": .., "client_secret": ..}` or the bare secret.
    SecretsManager {
        secret_id: String,
        region: String,
        /// Only for tests against a local AWS API emulator.
        #[serde(default)]
        endpoint_url: Option<String>,
    },
    /// A file with the same content, for local runs.
    File { path: String },
    /// A public client: no secret.
    #[default]
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Per attempt, connection and answer included.
    pub timeout_ms: u64,
    /// Extra attempts after a 5xx answer or a failed connection.
    pub retries: u32,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout_ms: 3000,
            retries: 1,
        }
    }
}

fn no_keys() -> serde_json::Value {
    serde_json::json!({"keys": []})
}

fn default_log_level() -> String {
    "info".into()
}
fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into(), "profile".into()]
}
fn default_algorithms() -> Vec<String> {
    vec!["RS256".into()]
}
fn default_groups_claim() -> String {
    "cognito:groups".into()
}
fn default_skew() -> u64 {
    30
}

/// A configuration that has been read and checked; what every handler uses.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: ConfigFile,
    pub verifier: TokenVerifier,
    pub sessions: SessionVerifier,
    /// Every group a rule names: the only groups a session carries.
    pub rule_groups: std::collections::BTreeSet<String>,
    pub public: Vec<PathPattern>,
    pub rules: Vec<Rule>,
    pub cookie_names: crate::cookies::CookieNames,
    /// The site table (`sites`), checked.
    pub sites: Vec<CheckedSite>,
    /// The site (or sign-in group) this configuration's sessions are
    /// issued for and taken at: set by [`Config::at_site`].
    pub site: Option<String>,
    /// At a site of a sign-in group with a shared cookie: where its
    /// sign-ins go. Set by [`Config::at_site`].
    pub shared: Option<SharedSignIn>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config.json could not be read: {0}")]
    Read(String),
    #[error("config.json: `{field}`: {reason}")]
    Invalid { field: String, reason: String },
}

fn invalid(field: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

impl Config {
    /// Parses and checks `config.json`; the error names the field at fault.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let file: ConfigFile = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let message = e.inner().to_string();
            // serde says "missing field `x` at line 1 column 9" about the
            // parent; name the field itself, without the position.
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            let missing = message
                .strip_prefix("missing field `")
                .and_then(|m| m.strip_suffix('`'));
            let field = match (path.as_str(), missing) {
                (".", Some(name)) => name.to_owned(),
                (_, Some(name)) => format!("{path}.{name}"),
                (".", None) => "(top level)".to_owned(),
                _ => path,
            };
            let reason = if missing.is_some() {
                "is required".to_owned()
            } else {
                message
            };
            invalid(&field, reason)
        })?;
        Self::from_file(file)
    }

    pub fn from_file(file: ConfigFile) -> Result<Self, ConfigError> {
        if file.version != SCHEMA_VERSION {
            return Err(invalid(
                "version",
                format!(
                    "this build reads schema version {SCHEMA_VERSION}, not {}",
                    file.version
                ),
            ));
        }
        let p = &file.provider;
        require_non_empty("provider.issuer", &p.issuer)?;
        require_non_empty("provider.client_id", &p.client_id)?;
        check_endpoint("provider.authorization_endpoint", &p.authorization_endpoint)?;
        check_endpoint("provider.token_endpoint", &p.token_endpoint)?;
        if let Some(url) = &p.revocation_endpoint {
            check_endpoint("provider.revocation_endpoint", url)?;
        }
        if let Some(url) = &p.jwks_uri {
            check_endpoint("provider.jwks_uri", url)?;
        }
        match &p.logout {
            LogoutSettings::Cognito { url } | LogoutSettings::Oidc { url } => {
                check_endpoint("provider.logout.url", url)?
            }
            LogoutSettings::None => {}
        }
        crate::routing::check(&p.routing).map_err(|(field, message)| invalid(&field, message))?;
        if let Some(tokens) = &file.tokens
            && !(60..=MAX_TOKEN_LIFETIME).contains(&tokens.max_lifetime_seconds)
        {
            return Err(invalid(
                "tokens.max_lifetime_seconds",
                format!("60 to {MAX_TOKEN_LIFETIME} (a year)"),
            ));
        }
        if let Some(shares) = &file.shares
            && !(60..=MAX_TOKEN_LIFETIME).contains(&shares.max_lifetime_seconds)
        {
            return Err(invalid(
                "shares.max_lifetime_seconds",
                format!("60 to {MAX_TOKEN_LIFETIME} (a year)"),
            ));
        }
        if let Some(tokens) = &file.tokens {
            crate::exchange::check(&tokens.trust, tokens.max_lifetime_seconds)
                .map_err(|(field, reason)| invalid(&field, reason))?;
            for (i, policy) in tokens.trust.iter().enumerate() {
                check_endpoint(&format!("tokens.trust[{i}].issuer"), &policy.issuer)?;
                if let Some(url) = &policy.jwks_uri {
                    check_endpoint(&format!("tokens.trust[{i}].jwks_uri"), url)?;
                }
            }
        }
        for (i, site) in file.sites.iter().enumerate() {
            if let Some(name) = &site.identity_provider
                && !p.routing.knows(name)
            {
                return Err(invalid(
                    &format!("sites[{i}].identity_provider"),
                    format!("{name}: not a provider of provider.routing"),
                ));
            }
        }
        if !p.scopes.iter().any(|s| s == "openid") {
            return Err(invalid("provider.scopes", "must include `openid`"));
        }
        if p.scopes.iter().any(|s| s.is_empty() || s.contains(' ')) {
            return Err(invalid(
                "provider.scopes",
                "a scope is empty or has a space",
            ));
        }
        if p.clock_skew_seconds > 300 {
            return Err(invalid("provider.clock_skew_seconds", "at most 300"));
        }
        let verifier = TokenVerifier::new(p).map_err(|e| match e {
            KeySetError::Algorithm(_) => invalid("provider.algorithms", e.to_string()),
            _ => invalid("provider.jwks", e.to_string()),
        })?;
        if verifier.is_empty() && p.jwks_uri.is_none() {
            return Err(invalid(
                "provider.jwks",
                "no signing key, and no provider.jwks_uri to fetch one from",
            ));
        }

        let paths = &file.paths;
        for (field, value) in [
            ("paths.signin", &paths.signin),
            ("paths.start", &paths.start),
            ("paths.refresh", &paths.refresh),
            ("paths.signout", &paths.signout),
            ("paths.token", &paths.token),
            ("paths.share", &paths.share),
            ("paths.signed_out", &paths.signed_out),
            ("paths.auth_prefix", &paths.auth_prefix),
        ] {
            if !value.starts_with('/')
                || value.starts_with("//")
                || value.contains(['?', '#', '\\'])
            {
                return Err(invalid(
                    field,
                    "must be a path starting with a single `/`, without `?` or `#`",
                ));
            }
        }
        if paths.auth_prefix == "/" || !paths.auth_prefix.ends_with('/') {
            return Err(invalid(
                "paths.auth_prefix",
                "must end with `/` and not be `/` (the refresh token would go with every request)",
            ));
        }
        for (field, value) in [
            ("paths.start", &paths.start),
            ("paths.refresh", &paths.refresh),
            ("paths.signout", &paths.signout),
            ("paths.token", &paths.token),
            ("paths.share", &paths.share),
        ] {
            if !value.starts_with(&paths.auth_prefix) {
                return Err(invalid(
                    field,
                    format!("must lie below paths.auth_prefix `{}`", paths.auth_prefix),
                ));
            }
        }
        // Each endpoint is a behaviour of its own at CloudFront.
        let endpoints = [
            &paths.signin,
            &paths.start,
            &paths.refresh,
            &paths.signout,
            &paths.token,
            &paths.share,
        ];
        for (i, a) in endpoints.iter().enumerate() {
            if endpoints[..i].contains(a) {
                return Err(invalid(
                    "paths",
                    format!(
                        "`{a}` names two endpoints (signin, start, refresh, signout, token and share each need their own path)"
                    ),
                ));
            }
        }
        let public = paths
            .public
            .iter()
            .map(|p| PathPattern::new(p).map_err(|e| invalid("paths.public", e)))
            .collect::<Result<Vec<_>, _>>()?;
        let rules = check_rules("rules", &file.rules)?;
        let sites = check_sites(&file)?;

        if let Some(base) = &file.site.base_url {
            // Browsers treat loopback as a secure context, so Secure and
            // __Host- cookies work on http://127.0.0.1 and http://localhost.
            let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
                .iter()
                .any(|l| base == l || base.starts_with(&format!("{l}:")));
            let ok = (base.starts_with("https://")
                || loopback
                || (base.starts_with("http://") && !file.cookies.secure))
                && !base.ends_with('/')
                && base
                    .split("://")
                    .nth(1)
                    .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
            if !ok {
                return Err(invalid(
                    "site.base_url",
                    "must be `https://host[:port]` with no path or trailing slash (`http://` only on loopback or with cookies.secure = false)",
                ));
            }
        }
        let c = &file.cookies;
        if c.name_prefix.is_empty()
            || !c
                .name_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(
                "cookies.name_prefix",
                "letters, digits, `-` and `_` only",
            ));
        }
        if !(1..=20).contains(&c.max_parallel_signins) {
            return Err(invalid("cookies.max_parallel_signins", "between 1 and 20"));
        }
        if !(30..=3600).contains(&c.flow_max_age_seconds) {
            return Err(invalid(
                "cookies.flow_max_age_seconds",
                "between 30 and 3600",
            ));
        }
        if c.session_max_age_seconds < 60 {
            return Err(invalid("cookies.session_max_age_seconds", "at least 60"));
        }
        check_secret_source("secret", &file.secret)?;
        if (file.secret_needed()) && matches!(file.secret, SecretSource::None) {
            return Err(invalid(
                "secret",
                "provider.client_auth needs a client secret: name a secrets_manager or file source",
            ));
        }
        if file.http.timeout_ms == 0 || file.http.timeout_ms > 25_000 {
            return Err(invalid("http.timeout_ms", "between 1 and 25000"));
        }
        if file.http.retries > 3 {
            return Err(invalid("http.retries", "at most 3"));
        }
        if !["error", "warn", "info", "debug", "trace"].contains(&file.log_level.as_str()) {
            return Err(invalid(
                "log_level",
                "one of error, warn, info, debug, trace",
            ));
        }
        let sessions = match (file.session.keys.is_empty(), file.session.kids.is_empty()) {
            (false, true) => SessionVerifier::new(&file.session.keys, p.clock_skew_seconds)
                .map_err(|e| invalid("session.keys", e.to_string()))?,
            (true, false) => {
                for (i, kid) in file.session.kids.iter().enumerate() {
                    if !crate::session::is_valid_kid(kid) || file.session.kids[..i].contains(kid) {
                        return Err(invalid(
                            "session.kids",
                            format!("`{kid}` is not a key id (1 to 32 of A-Z a-z 0-9 _ -) or appears twice"),
                        ));
                    }
                }
                // Verifies nothing until the key set is read.
                SessionVerifier::without_keys(p.clock_skew_seconds)
            }
            (false, false) => {
                return Err(invalid(
                    "session",
                    "name either `keys` (the key material) or `kids` (key ids, the material read from signing_keys), not both",
                ));
            }
            (true, true) => return Err(invalid("session.keys", "the key set is empty")),
        }
        .with_max_lifetime(file.max_session_seconds());
        check_secret_source("session.signing_keys", &file.session.signing_keys)?;
        if let Some(lifetime) = file.session.lifetime_seconds
            && !(60..=c.session_max_age_seconds).contains(&lifetime)
        {
            return Err(invalid(
                "session.lifetime_seconds",
                "between 60 and cookies.session_max_age_seconds (the refresh token's cookie)",
            ));
        }
        if file
            .session
            .idle_timeout_minutes
            .is_some_and(|m| !(1..=43_200).contains(&m))
        {
            return Err(invalid(
                "session.idle_timeout_minutes",
                "between 1 and 43200 (30 days)",
            ));
        }
        if file
            .session
            .max_hours
            .is_some_and(|h| !(1..=8_760).contains(&h))
        {
            return Err(invalid("session.max_hours", "between 1 and 8760 (a year)"));
        }
        let rule_groups = groups_of(
            rules
                .iter()
                .chain(sites.iter().flat_map(|s| &s.policy.rules)),
        );
        let cookie_names = crate::cookies::CookieNames::new(c);
        Ok(Self {
            verifier,
            sessions,
            rule_groups,
            public,
            rules,
            cookie_names,
            sites,
            site: None,
            shared: None,
            file,
        })
    }

    /// Whether requests are decided by a site table.
    pub fn site_table(&self) -> bool {
        !self.sites.is_empty()
    }

    /// This configuration as site `name` of the table decides: its
    /// address, rules, public paths and the groups they name, and its
    /// sessions' `site`. For the regional handlers, which learn the site
    /// from the distribution (`X-Edge-Auth-Site`). `None`: no such site.
    pub fn at_site(&self, name: &str) -> Option<Config> {
        let site = self.sites.iter().find(|s| s.name == name)?;
        let mut config = self.clone();
        config.file.site.base_url = Some(site.base_url.clone());
        config.rules = site.policy.rules.clone();
        config.public = site.policy.public.clone();
        // A session is taken at every site of its group, so it carries
        // the groups any of their rules name.
        config.rule_groups = groups_of(
            self.sites
                .iter()
                .filter(|s| s.policy.id == site.policy.id)
                .flat_map(|s| &s.policy.rules),
        );
        config.site = Some(site.policy.id.clone());
        if let Some(provider) = self
            .file
            .sites
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.identity_provider.clone())
        {
            config.file.provider.routing.default = Some(provider);
        }
        if let Some(group) = self
            .file
            .sign_in_groups
            .iter()
            .find(|g| g.name == site.policy.id)
        {
            let sign_in = self.sites.iter().find(|s| s.name == group.sign_in_site)?;
            config.cookie_names =
                crate::cookies::CookieNames::shared(&self.file.cookies, &group.domain);
            config.shared = Some(SharedSignIn {
                site: site.name.clone(),
                sign_in_site: sign_in.name.clone(),
                sign_in_base: sign_in.base_url.clone(),
            });
        }
        Some(config)
    }

    /// The address of branch `branch`'s preview of this site (set by
    /// [`Config::at_site`]): `<scheme>://<branch>.<preview_domain>[:port]`,
    /// the scheme and port the site's own. `None`: the site has no
    /// previews, or `branch` is not a branch's name.
    pub fn preview_base(&self, branch: &str) -> Option<String> {
        let name = self.shared.as_ref()?.site.as_str();
        let site = self.sites.iter().find(|s| s.name == name)?;
        let domain = site.preview_domain.as_deref()?;
        if !crate::sites::is_branch(branch) {
            return None;
        }
        let (scheme, rest) = site.base_url.split_once("://")?;
        let port = rest
            .rsplit_once(':')
            .map_or(String::new(), |(_, p)| format!(":{p}"));
        Some(format!("{scheme}://{branch}.{domain}{port}"))
    }

    /// At a group's sign-in site: the configuration of site `name`, when
    /// it is a site of the same group (a sign-in it handed over returns
    /// there). `None` for any other name.
    pub fn group_member(&self, name: &str) -> Option<Config> {
        let shared = self.shared.as_ref()?;
        if shared.elsewhere() {
            return None;
        }
        let member = self.at_site(name)?;
        (member.site == self.site).then_some(member)
    }

    /// A session cookie checked but for the clock, and, at a site of a
    /// table, issued for it: what refresh renews and sign-out ends.
    pub fn session_untimed(
        &self,
        token: &str,
    ) -> Result<crate::session::SessionClaims, crate::session::SessionError> {
        self.sessions.verify_untimed_at(token, self.site.as_deref())
    }

    /// The first rule whose pattern matches `key`: the one that decides
    /// for it, as CloudFront's own behaviours do.
    pub fn rule_for(&self, key: &str) -> Option<&Rule> {
        self.policy().rule_for(key)
    }

    /// The one site's rules and public paths (no site table).
    pub fn policy(&self) -> crate::sites::Policy<'_> {
        crate::sites::Policy {
            site: None,
            public: &self.public,
            rules: &self.rules,
            cookies: None,
        }
    }

    /// The key ids every verifier of this deployment accepts.
    pub fn session_kids(&self) -> Vec<&str> {
        if self.file.session.kids.is_empty() {
            self.sessions.kids().collect()
        } else {
            self.file.session.kids.iter().map(String::as_str).collect()
        }
    }

    /// This configuration with the session key material from `set` (what
    /// `session.signing_keys` holds): the keys `session.kids` names, each
    /// of which the set must have. A configuration that carries its keys
    /// keeps them.
    pub fn with_session_keys(
        &self,
        set: &crate::session::SessionKeySet,
    ) -> Result<Config, ConfigError> {
        if self.file.session.kids.is_empty() {
            return Ok(self.clone());
        }
        let mut keys = Vec::with_capacity(self.file.session.kids.len());
        let held = set.verify_keys();
        for kid in &self.file.session.kids {
            let key = held.iter().find(|k| &k.kid == kid).ok_or_else(|| {
                invalid(
                    "session.kids",
                    format!("`{kid}` is not in the session key set read from signing_keys"),
                )
            })?;
            keys.push(key.clone());
        }
        let mut config = self.clone();
        config.sessions = SessionVerifier::new(&keys, self.provider().clock_skew_seconds)
            .map_err(|e| invalid("session.keys", e.to_string()))?
            .with_max_lifetime(self.file.max_session_seconds());
        // The revocations travel with the keys: refresh renews none of
        // the sessions they end.
        for (sub, up_to) in &set.revoked {
            config.sessions.revoke(sub, *up_to);
        }
        Ok(config)
    }

    pub fn provider(&self) -> &ProviderSettings {
        &self.file.provider
    }
    pub fn paths(&self) -> &PathSettings {
        &self.file.paths
    }
    pub fn cookies(&self) -> &CookieSettings {
        &self.file.cookies
    }
}

/// The longest session when `session.lifetime_seconds` is not set (the
/// session then ends with the provider's ID token): a day, the longest ID
/// token validity Cognito allows. A session the signers could not have
/// issued is refused by every verifier, whatever its MAC.
pub const DEFAULT_MAX_SESSION_SECONDS: u64 = 24 * 3600;

impl ConfigFile {
    /// The longest session the signers issue and the verifiers accept.
    pub fn max_session_seconds(&self) -> u64 {
        self.session
            .lifetime_seconds
            .unwrap_or(DEFAULT_MAX_SESSION_SECONDS)
    }

    pub fn secret_needed(&self) -> bool {
        self.provider.client_auth != ClientAuth::None
    }
}

fn check_secret_source(field: &str, source: &SecretSource) -> Result<(), ConfigError> {
    match source {
        SecretSource::SecretsManager {
            secret_id,
            region,
            endpoint_url,
        } => {
            require_non_empty(&format!("{field}.secret_id"), secret_id)?;
            require_non_empty(&format!("{field}.region"), region)?;
            if let Some(url) = endpoint_url {
                check_endpoint(&format!("{field}.endpoint_url"), url)?;
            }
        }
        SecretSource::File { path } => require_non_empty(&format!("{field}.path"), path)?,
        SecretSource::None => {}
    }
    Ok(())
}

fn require_non_empty(field: &str, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    Ok(())
}

/// Provider endpoints must be HTTPS; plain HTTP only to this machine (tests, the local emulator).
fn check_endpoint(field: &str, url: &str) -> Result<(), ConfigError> {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(invalid(
                field,
                "must be https:// (http:// only for 127.0.0.1 or localhost)",
            ));
        }
        rest
    } else {
        return Err(invalid(field, "must be an https:// URL"));
    };
    if rest.is_empty() || rest.starts_with('/') || url.contains(['#', ' ', '\n', '\r', '\t']) {
        return Err(invalid(field, "is not a valid absolute URL"));
    }
    Ok(())
}
