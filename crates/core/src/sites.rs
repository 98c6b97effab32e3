//! Many sites behind one deployment (`site_table` in config.json): each
//! site's rules, public paths and the session verify keys as one entry of
//! the function's key value store per hostname, `site:<host>`, so a site
//! added or changed is a store write, never a new function, and the number
//! of sites is bounded by the store (5 MB), not by the function's 10 KB.
//!
//! One read per request finds the site; the session's key comes with it,
//! so a page view with a session still costs two reads (this and
//! `revoked:<sub>`), whatever the number of sites. A session carries the
//! site (or sign-in group) it was issued for ([`SitePolicy::id`]) and is
//! taken nowhere else; a host that is no site's gets a 404 page and
//! nothing built from its name.

use serde_json::{Value, json};

use crate::cloudfront_function::{MAX_STORE_VALUE_BYTES, StoreTooLarge, rule_value};
use crate::config::{Rule, StepUp};
use crate::paths::PathPattern;
use crate::session::SessionKeyFile;

/// The store's entry for a hostname: `site:<host>`.
pub const SITE_PREFIX: &str = "site:";

/// The longest hostname DNS allows.
const MAX_HOST_BYTES: usize = 253;

/// What a request is decided by: its site's rules and public paths, and,
/// with a site table, the site a session must have been issued for.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub site: Option<&'a str>,
    pub public: &'a [PathPattern],
    pub rules: &'a [Rule],
    /// The session and display-name cookies' names, when the site's
    /// sign-in group shares them across a parent domain; else the
    /// deployment's.
    pub cookies: Option<&'a [String; 2]>,
}

impl<'a> Policy<'a> {
    /// The first rule matching `key`.
    pub fn rule_for(self, key: &str) -> Option<&'a Rule> {
        self.rules.iter().find(|r| r.pattern.matches(key))
    }
}

/// One site of a site table.
#[derive(Debug, Clone)]
pub struct SitePolicy {
    /// What a session must carry as `site` to be taken here: the site's
    /// name, or the name of the sign-in group it shares sessions with.
    pub id: String,
    pub public: Vec<PathPattern>,
    pub rules: Vec<Rule>,
    /// The session and display-name cookies' names of a sign-in group
    /// that shares them across a parent domain (`config::SignInGroup`).
    pub cookies: Option<[String; 2]>,
    /// At a branch's preview host: where its content is and where it
    /// signs in ([`preview_entry`]).
    pub preview: Option<Preview>,
}

/// A branch's preview of a site: its content under `prefix` in the
/// preview bucket, and its sign-ins started at the group's sign-in site,
/// `start` (`…/_edge-auth/start?site=<site>&branch=<branch>`), since a
/// provider takes no wildcard callback. Expired sessions go there too: the
/// refresh endpoint of a preview host answers as its site.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Preview {
    pub prefix: String,
    pub start: String,
}

/// A branch's name as a preview host's first label: 1 to 63 lower-case
/// letters, digits and inner `-`.
pub fn is_branch(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Why a preview entry cannot be made.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    #[error("no site `{0}` with previews (`preview_domain`) in the table")]
    NoPreviews(String),
    #[error(
        "`{0}` is not a branch name for a preview host: 1 to 63 lower-case letters, digits and inner `-`"
    )]
    Branch(String),
    #[error(transparent)]
    TooLarge(#[from] StoreTooLarge),
}

/// The store's entry for branch `branch`'s preview of site `site`:
/// `site:<branch>.<preview_domain>`, the site's entry with its preview
/// (`[…, [prefix, start]]`), held to the store's limit.
pub fn preview_entry(
    config: &crate::Config,
    site: &str,
    branch: &str,
    keys: &[SessionKeyFile],
) -> Result<(String, String), PreviewError> {
    preview_entry_in(
        &config.sites,
        &config.file.sign_in_groups,
        &config.paths().start,
        site,
        branch,
        keys,
    )
}

/// [`preview_entry`] from the checked table itself
/// (`config::check_site_table`), as the deploy tool's `preview upload`
/// has it from the settings, with the deployment's start path.
pub fn preview_entry_in(
    sites: &[crate::config::CheckedSite],
    groups: &[crate::config::SignInGroup],
    start_path: &str,
    site: &str,
    branch: &str,
    keys: &[SessionKeyFile],
) -> Result<(String, String), PreviewError> {
    let no = || PreviewError::NoPreviews(site.to_owned());
    let checked = sites.iter().find(|s| s.name == site).ok_or_else(no)?;
    let domain = checked.preview_domain.as_deref().ok_or_else(no)?;
    if !is_branch(branch) {
        return Err(PreviewError::Branch(branch.to_owned()));
    }
    let group = groups
        .iter()
        .find(|g| g.name == checked.policy.id)
        .ok_or_else(no)?;
    let sign_in = sites
        .iter()
        .find(|s| s.name == group.sign_in_site)
        .ok_or_else(no)?;
    let start = format!(
        "{}{start_path}?{}",
        sign_in.base_url,
        crate::query::encode_form([("site", site), ("branch", branch)])
    );
    let policy = SitePolicy {
        preview: Some(Preview {
            prefix: format!("/{branch}"),
            start,
        }),
        ..checked.policy.clone()
    };
    Ok((
        format!("{SITE_PREFIX}{branch}.{domain}"),
        policy.entry(keys)?,
    ))
}

/// The branch a store key names among `site`'s previews
/// (`site:<branch>.<preview_domain>`), if it is one.
pub fn preview_branch<'k>(site: &crate::config::CheckedSite, key: &'k str) -> Option<&'k str> {
    let domain = site.preview_domain.as_deref()?;
    let branch = key
        .strip_prefix(SITE_PREFIX)?
        .strip_suffix(domain)?
        .strip_suffix('.')?;
    is_branch(branch).then_some(branch)
}

impl SitePolicy {
    pub fn policy(&self) -> Policy<'_> {
        Policy {
            site: Some(&self.id),
            public: &self.public,
            rules: &self.rules,
            cookies: self.cookies.as_ref(),
        }
    }

    /// The store's value for this site: `[id, public, rules, keys]`, and
    /// for a group sharing its cookie across a parent domain the cookies'
    /// names, `[…, [session, user]]`; the
    /// rules as the function holds them (`[pattern, groups]`, with a
    /// step-up `[pattern, groups, age, mfa]`) and the keys as the store's
    /// `key:<kid>` entries hold them, by key id. At most the store's 1 KB.
    pub fn entry(&self, keys: &[SessionKeyFile]) -> Result<String, StoreTooLarge> {
        let value = self.value(keys);
        if value.len() > MAX_STORE_VALUE_BYTES {
            return Err(StoreTooLarge::Value {
                key: format!("{SITE_PREFIX}{}", self.id),
                bytes: value.len(),
            });
        }
        Ok(value)
    }

    /// [`Self::entry`] not yet held to the store's limit
    /// (`check_store_limits` holds every entry before a write).
    pub fn value(&self, keys: &[SessionKeyFile]) -> String {
        let public: Vec<&str> = self.public.iter().map(PathPattern::as_str).collect();
        let rules: Vec<Value> = self.rules.iter().map(rule_value).collect();
        let keys: serde_json::Map<String, Value> = keys
            .iter()
            .map(|k| {
                let value = crate::cloudfront_function::session_key_value(k);
                (k.kid.clone(), Value::String(value))
            })
            .collect();
        let preview = self.preview.as_ref().map(|p| json!([p.prefix, p.start]));
        match (&self.cookies, preview) {
            (Some(names), Some(preview)) => json!([self.id, public, rules, keys, names, preview]),
            (Some(names), None) => json!([self.id, public, rules, keys, names]),
            (None, _) => json!([self.id, public, rules, keys]),
        }
        .to_string()
    }

    /// A store value back into the site's policy (the keys are the
    /// deployment's, which the Rust verifiers hold already). Anything but
    /// what [`Self::entry`] writes is refused: the store is written by the
    /// deploy tool alone, so a damaged entry is a site that serves nothing.
    pub fn from_entry(value: &str) -> Result<Self, SiteEntryError> {
        let mut items: Vec<Value> =
            serde_json::from_str(value).map_err(|e| SiteEntryError(e.to_string()))?;
        let preview: Option<Preview> = match items.len() {
            4 | 5 => None,
            6 => {
                let (prefix, start): (String, String) =
                    serde_json::from_value(items.pop().unwrap_or_default())
                        .map_err(|e| SiteEntryError(format!("the preview: {e}")))?;
                let branch = prefix.strip_prefix('/').unwrap_or("");
                let start_ok = (start.starts_with("https://") || start.starts_with("http://"))
                    && start.ends_with(&format!("&branch={branch}"))
                    && !start.bytes().any(|b| !b.is_ascii_graphic());
                if !is_branch(branch) || !start_ok {
                    return Err(SiteEntryError(format!(
                        "the preview is not [\"/<branch>\", \"<start>&branch=<branch>\"]: {prefix} {start}"
                    )));
                }
                Some(Preview { prefix, start })
            }
            n => return Err(SiteEntryError(format!("{n} items, not 4, 5 or 6"))),
        };
        let cookies: Option<[String; 2]> = match items.len() {
            4 => None,
            _ => Some(
                serde_json::from_value(items.pop().unwrap_or_default())
                    .map_err(|e| SiteEntryError(format!("the cookies' names: {e}")))?,
            ),
        };
        let parsed: (
            String,
            Vec<String>,
            Vec<Value>,
            serde_json::Map<String, Value>,
        ) = serde_json::from_value(Value::Array(items))
            .map_err(|e| SiteEntryError(e.to_string()))?;
        let (id, public, rules, _keys) = parsed;
        if id.is_empty() {
            return Err(SiteEntryError("the site id is empty".into()));
        }
        let public = public
            .iter()
            .map(|p| PathPattern::new(p).map_err(SiteEntryError))
            .collect::<Result<_, _>>()?;
        let rules = rules
            .iter()
            .map(rule_from_value)
            .collect::<Result<_, _>>()?;
        if cookies
            .as_ref()
            .is_some_and(|c| c.iter().any(|n| !crate::cookies::is_cookie_name(n)))
        {
            return Err(SiteEntryError("a cookie name is not a token".into()));
        }
        Ok(Self {
            id,
            public,
            rules,
            cookies,
            preview,
        })
    }
}

/// A store value that is not a site entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a site entry: {0}")]
pub struct SiteEntryError(String);

fn rule_from_value(value: &Value) -> Result<Rule, SiteEntryError> {
    let bad = || {
        SiteEntryError(format!(
            "a rule is not [pattern, groups(, age, mfa)]: {value}"
        ))
    };
    let items = value.as_array().ok_or_else(bad)?;
    let (pattern, groups, step_up) = match items.as_slice() {
        [pattern, groups] => (pattern, groups, StepUp::default()),
        [pattern, groups, age, mfa] => {
            let age = age.as_u64().ok_or_else(bad)?;
            let mfa = mfa.as_bool().ok_or_else(bad)?;
            let step_up = StepUp {
                max_auth_age_seconds: (age > 0).then_some(age),
                mfa,
            };
            (pattern, groups, step_up)
        }
        _ => return Err(bad()),
    };
    let pattern = PathPattern::new(pattern.as_str().ok_or_else(bad)?).map_err(SiteEntryError)?;
    let groups: Vec<String> = serde_json::from_value(groups.clone()).map_err(|_| bad())?;
    Ok(Rule {
        pattern,
        groups,
        step_up,
    })
}

/// The store's name for a request's `Host`: lower case, without a port,
/// only letters, digits, dots and hyphens (no other name is a site's: a
/// hostile `Host` finds nothing, and nothing is built from it).
pub fn site_key(host: Option<&str>) -> Option<String> {
    let host = host?;
    let host = match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    // Checked before lower-casing: JavaScript's toLowerCase maps some
    // non-ASCII letters (the Kelvin sign) onto ASCII ones.
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-';
    (!host.is_empty() && host.len() <= MAX_HOST_BYTES && host.bytes().all(allowed))
        .then(|| format!("{SITE_PREFIX}{}", host.to_ascii_lowercase()))
}

/// The store's site entries for `config`'s table, with the session verify
/// keys `keys` (the deployment's): one per site, under its host's name
/// (held to the store's limits with the rest, `check_store_limits`).
pub fn site_entries(
    config: &crate::Config,
    keys: &[SessionKeyFile],
) -> std::collections::BTreeMap<String, String> {
    config
        .sites
        .iter()
        .map(|site| (site.key.clone(), site.policy.value(keys)))
        .collect()
}

/// The site a request's `Host` names in `config`'s table.
pub fn site_for_host<'c>(config: &'c crate::Config, host: Option<&str>) -> Option<&'c SitePolicy> {
    let key = site_key(host)?;
    config
        .sites
        .iter()
        .find(|s| s.key == key)
        .map(|s| &s.policy)
}

/// The header a site's distribution sends its auth endpoints with the
/// site's name: an origin custom header, which CloudFront sets on every
/// request to that origin, overwriting one a viewer sent.
pub const SITE_HEADER: &str = "x-edge-auth-site";

/// The configuration a regional handler decides a request with: without a
/// site table, `config` itself; with one, the site the distribution names
/// ([`SITE_HEADER`], [`crate::Config::at_site`]), or `Err` with the 404
/// page when it names none of the table's.
pub fn config_for(
    config: &std::sync::Arc<crate::Config>,
    request: &crate::CloudFrontRequest,
) -> Result<std::sync::Arc<crate::Config>, Box<crate::Outcome>> {
    if !config.site_table() {
        return Ok(config.clone());
    }
    request
        .headers
        .first(SITE_HEADER)
        .and_then(|name| config.at_site(name))
        .map(std::sync::Arc::new)
        .ok_or_else(|| {
            Box::new(crate::authorize::unknown_site().with_detail("no site of the table named"))
        })
}
