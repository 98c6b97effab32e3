//! config.json for the handlers, from the settings and the provider's
//! discovery document, written into copies of the generic zips (edge and
//! regional).

use std::io::{Read, Write};
use std::path::Path;

use serde_json::{Value, json};
use zip::write::SimpleFileOptions;

use crate::settings::{Provider, Settings};

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("the discovery document lacks `{0}`")]
    Discovery(&'static str),
    #[error("the config.json this would write is invalid: {0}")]
    Config(String),
    #[error("{path}: {message}")]
    Zip { path: String, message: String },
    #[error(
        "{path}: {size} bytes with config.json, over Lambda@Edge's {limit}-byte limit for viewer-request functions; shrink config.json (fewer JWKS keys or rules) and run again"
    )]
    TooLarge { path: String, size: u64, limit: u64 },
}

/// Lambda@Edge's quota for a viewer-request function: 1 MB zipped.
pub const VIEWER_PACKAGE_LIMIT: u64 = 1024 * 1024;

/// Refuses a configured viewer package over the limit: the deploy would
/// fail at CloudFront association, minutes later and less clearly.
pub fn check_viewer_package(path: &Path) -> Result<u64, PackageError> {
    let size = std::fs::metadata(path)
        .map_err(|e| PackageError::Zip {
            path: path.display().to_string(),
            message: e.to_string(),
        })?
        .len();
    if size > VIEWER_PACKAGE_LIMIT {
        return Err(PackageError::TooLarge {
            path: path.display().to_string(),
            size,
            limit: VIEWER_PACKAGE_LIMIT,
        });
    }
    Ok(size)
}

/// The suffix every OpenID Connect discovery URL has.
pub const DISCOVERY_SUFFIX: &str = "/.well-known/openid-configuration";

/// OpenID Connect Discovery 1.0 §4.3: the `issuer` a discovery document
/// names must be identical to the URL it was fetched from, less
/// `/.well-known/openid-configuration`; otherwise the document may be
/// another provider's (a typo, a proxy, an attacker's mirror), and every
/// token would be checked against the wrong issuer.
pub fn check_discovery_issuer(discovery_url: &str, discovery: &Value) -> Result<(), String> {
    let expected = discovery_url
        .strip_suffix(DISCOVERY_SUFFIX)
        .ok_or_else(|| {
            format!("the discovery URL {discovery_url} does not end with {DISCOVERY_SUFFIX}")
        })?;
    match discovery.get("issuer").and_then(Value::as_str) {
        Some(issuer) if issuer == expected => Ok(()),
        Some(issuer) => Err(format!(
            "the discovery document at {discovery_url} names the issuer {issuer}, not {expected} (OpenID Connect Discovery 4.3: they must be identical)"
        )),
        None => Err(format!(
            "the discovery document at {discovery_url} names no issuer"
        )),
    }
}

/// Where the client secret lives, from the user-pool stack or the settings.
pub struct SecretLocation {
    pub arn: String,
    pub region: String,
}

/// The handlers' config.json (docs/config.md), checked by the same parser
/// the handlers use before anything is written. `site_url` is the site's
/// origin when it is known: the custom domain, or the CloudFront URL of a
/// distribution that already exists. Only on a first deploy without a
/// domain is it unknown; the handlers then use the distribution's own
/// domain name from the event, which is that same URL.
// Each argument is one source the file is made from (settings, provider
// documents, pool outputs, the two secrets, the site's URL); a struct of
// them would only rename the list.
#[allow(clippy::too_many_arguments)]
pub fn config_json(
    settings: &Settings,
    discovery: &Value,
    jwks: &Value,
    client_id: &str,
    secret: &SecretLocation,
    session: &SessionKeysLocation,
    hosted_domain: Option<&str>,
    site_url: Option<&str>,
) -> Result<Value, PackageError> {
    let field = |name: &'static str| {
        discovery
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(PackageError::Discovery(name))
    };
    let (groups_claim, token_use, logout) = match &settings.provider {
        Provider::Cognito { groups_claim, .. } => {
            let domain = hosted_domain.ok_or(PackageError::Discovery(
                "HostedDomainUrl (user-pool stack output)",
            ))?;
            (
                groups_claim.clone(),
                Some("id"),
                json!({"kind": "cognito", "url": format!("{domain}/logout")}),
            )
        }
        Provider::Oidc { groups_claim, .. } => {
            let logout = match discovery
                .get("end_session_endpoint")
                .and_then(Value::as_str)
            {
                Some(url) => json!({"kind": "oidc", "url": url}),
                None => json!({"kind": "none"}),
            };
            (groups_claim.clone(), None, logout)
        }
    };
    let mut provider = json!({
        "issuer": field("issuer")?,
        "client_id": client_id,
        "authorization_endpoint": field("authorization_endpoint")?,
        "token_endpoint": field("token_endpoint")?,
        "logout": logout,
        "jwks": jwks,
        "jwks_uri": field("jwks_uri")?,
        "groups_claim": groups_claim,
        "clock_skew_seconds": settings.clock_skew_seconds,
    });
    if settings.mfa_always() {
        provider["mfa_always"] = json!(true);
    }
    if let Provider::Oidc { group_names, .. } = &settings.provider
        && !group_names.is_empty()
    {
        provider["group_names"] = json!(group_names);
    }
    // A pool that federates: the corporate providers' groups arrive mapped
    // into custom:groups, and each sign-in goes to its provider.
    let (native, federation) = settings.federation();
    if federation.iter().any(|f| {
        f.attributes
            .contains_key(crate::federation::GROUPS_ATTRIBUTE)
    }) {
        provider["extra_groups_claims"] = json!([crate::federation::GROUPS_ATTRIBUTE]);
    }
    let tokens = settings.tokens.as_ref().map(|t| {
        let mut tokens = json!({"max_lifetime_seconds": t.max_seconds()});
        let trust = settings.trust_policies();
        if !trust.is_empty() {
            tokens["trust"] = json!(trust);
        }
        tokens
    });
    let mut routing = crate::federation::routing(federation, native);
    routing.default = settings.site.identity_provider.clone();
    if !routing.is_plain() {
        provider["routing"] = json!(routing);
    }
    // Cognito's discovery document names no revocation endpoint; its
    // OAuth 2.0 revoke endpoint sits beside the token endpoint.
    let revocation = discovery
        .get("revocation_endpoint")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| hosted_domain.map(|d| format!("{d}/oauth2/revoke")));
    if let Some(url) = revocation {
        provider["revocation_endpoint"] = json!(url);
    }
    if let Some(use_) = token_use {
        provider["token_use"] = json!(use_);
    }
    let mut config = json!({
        "version": edge_auth_core::config::SCHEMA_VERSION,
        // Key ids only: HS256 has no public half, so key material in a
        // package would let whoever reads it (the artifact bucket,
        // lambda:GetFunction) mint sessions. The functions that sign or
        // verify read it from the key set; see `write_configured_packages`
        // for the one package that cannot.
        "session": {
            "kids": session.keys.keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            "signing_keys": {"kind": "secrets_manager", "secret_id": session.name, "region": session.region},
        },
        "provider": provider,
        "paths": {"public": settings.site.public_paths()},
        "rules": settings.rules.iter().map(|r| r.to_config()).collect::<Vec<_>>(),
        "secret": {"kind": "secrets_manager", "secret_id": secret.arn, "region": secret.region},
    });
    if let Some(url) = site_url {
        config["site"] = json!({"base_url": url});
    }
    if let Some(tokens) = tokens {
        config["tokens"] = tokens;
    }
    if let Some(shares) = settings.shares {
        config["shares"] =
            json!({"max_lifetime_seconds": shares.max_seconds(), "page": shares.page});
    }
    // A site table: each site's address, rules, public paths and sign-in
    // group (docs/config.md, `sites`).
    if !settings.sites.is_empty() {
        config["sites"] = settings.sites.iter().map(|s| s.to_config()).collect();
        if !settings.sign_in_groups.is_empty() {
            config["sign_in_groups"] = json!(settings.sign_in_groups);
        }
    }
    // With Cognito the longest session is known (the ID token's validity):
    // every verifier then refuses a session longer than that, not only
    // one longer than a day.
    if let Provider::Cognito { .. } = &settings.provider {
        config["session"]["lifetime_seconds"] = json!(settings.longest_session_seconds());
    }
    // The idle and absolute limits: refresh enforces them.
    if let Some(minutes) = settings.session.idle_timeout_minutes {
        config["session"]["idle_timeout_minutes"] = json!(minutes);
    }
    if let Some(hours) = settings.session.max_hours {
        config["session"]["max_hours"] = json!(hours);
    }
    edge_auth_core::Config::from_json(&config.to_string())
        .map_err(|e| PackageError::Config(e.to_string()))?;
    Ok(config)
}

/// The session key set and where the signers read it.
pub struct SessionKeysLocation {
    pub name: String,
    pub region: String,
    pub keys: edge_auth_core::session::SessionKeySet,
}

/// Copies `source` to `target` with `config.json` added (replacing any),
/// deterministically: entries sorted, fixed time and permissions.
pub fn write_configured_zip(
    source: &Path,
    target: &Path,
    config: &Value,
) -> Result<(), PackageError> {
    let err = |path: &Path, e: &dyn std::fmt::Display| PackageError::Zip {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let file = std::fs::File::open(source).map_err(|e| err(source, &e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| err(source, &e))?;
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| err(source, &e))?;
        let name: String = entry.name().map_err(|e| err(source, &e))?.into_owned();
        if name == "config.json" {
            continue;
        }
        // The regional zips' `bootstrap` must stay executable.
        let mode = if entry.unix_mode().is_some_and(|m| m & 0o111 != 0) {
            0o755
        } else {
            0o644
        };
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| err(source, &e))?;
        entries.push((name, mode, bytes));
    }
    let text = serde_json::to_vec_pretty(config).map_err(|e| err(target, &e))?;
    entries.push(("config.json".to_owned(), 0o644, text));
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| err(parent, &e))?;
    }
    let out = std::fs::File::create(target).map_err(|e| err(target, &e))?;
    let mut writer = zip::ZipWriter::new(out);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, mode, bytes) in entries {
        writer
            .start_file(name, options.unix_permissions(mode))
            .map_err(|e| err(target, &e))?;
        writer.write_all(&bytes).map_err(|e| err(target, &e))?;
    }
    writer.finish().map_err(|e| err(target, &e))?;
    Ok(())
}

/// Writes `config` into a copy of each package in `into`, holding the
/// viewer-request packages to the limit; returns each copy and its size.
///
/// Only Lambda@Edge's `authorize` gets the session keys' material
/// (`session_keys`): a viewer-request function has no environment, a
/// 5-second budget and no Secrets Manager in its path, so it verifies with
/// keys from its own config.json (README says so). Every other package
/// names key ids only.
pub fn write_configured_packages(
    sources: &[std::path::PathBuf],
    into: &Path,
    config: &Value,
    session_keys: &[edge_auth_core::session::SessionKeyFile],
) -> Result<Vec<(std::path::PathBuf, u64)>, PackageError> {
    let mut written = Vec::new();
    for source in sources {
        let name = source.file_name().ok_or_else(|| PackageError::Zip {
            path: source.display().to_string(),
            message: "no file name".into(),
        })?;
        let target = into.join(name);
        let one_of = |names: &[&str]| {
            source
                .file_stem()
                .is_some_and(|stem| names.iter().any(|n| stem == *n))
        };
        let is_viewer = one_of(&crate::plan::VIEWER_PACKAGES);
        if one_of(&crate::plan::EDGE_PACKAGES) {
            // authorize verifies the deployment's session only, index-path
            // nothing: no provider key goes into them.
            let mut viewer = config.clone();
            if let Some(provider) = viewer.get_mut("provider").and_then(Value::as_object_mut) {
                provider.remove("jwks");
            }
            if one_of(&["authorize"]) {
                viewer["session"]["keys"] = json!(session_keys);
                if let Some(session) = viewer["session"].as_object_mut() {
                    session.remove("kids");
                }
            }
            write_configured_zip(source, &target, &viewer)?;
        } else {
            write_configured_zip(source, &target, config)?;
        }
        let size = if is_viewer {
            // Leave nothing oversized behind for a later `sam deploy`.
            check_viewer_package(&target).inspect_err(|_| {
                let _ = std::fs::remove_file(&target);
            })?
        } else {
            std::fs::metadata(&target).map_or(0, |m| m.len())
        };
        written.push((target, size));
    }
    Ok(written)
}

/// A package that is uploaded but never run: one `index.js` whose handler
/// fails, should it ever be invoked. Deterministic, like the others.
pub fn write_placeholder_zip(target: &Path) -> Result<u64, PackageError> {
    use std::io::Write;
    let err = |e: &dyn std::fmt::Display| PackageError::Zip {
        path: target.display().to_string(),
        message: e.to_string(),
    };
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).map_err(|e| err(&e))?;
    }
    let file = std::fs::File::create(target).map_err(|e| err(&e))?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    zip.start_file("index.js", options).map_err(|e| err(&e))?;
    zip.write_all(
        b"// edge-auth: a placeholder for a function this arrangement does not create.\nexports.handler = async () => { throw new Error('edge-auth placeholder: not deployed in this arrangement'); };\n",
    )
    .map_err(|e| err(&e))?;
    zip.finish().map_err(|e| err(&e))?;
    std::fs::metadata(target)
        .map(|m| m.len())
        .map_err(|e| err(&e))
}

/// The core's configuration these settings give, with the provider's
/// documents, the client and the secrets stood in for. The CloudFront
/// Function is rendered from what the settings decide (rules, public paths,
/// the core's paths and pages, cookie names, leeway, the session bound),
/// none of which the provider gives, so `check` and `status` render the
/// very function a deploy of these settings would.
pub fn settings_config(settings: &Settings) -> Result<edge_auth_core::Config, String> {
    let issuer = "https://provider.invalid";
    let discovery = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
    });
    let secret = SecretLocation {
        arn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:stand-in".into(),
        region: "us-east-1".into(),
    };
    let session = SessionKeysLocation {
        name: settings.session_keys_secret_name(),
        region: settings.session_keys_region(),
        keys: crate::session_keys::new_set(0, &mut edge_auth_core::SystemEntropy),
    };
    let value = config_json(
        settings,
        &discovery,
        &json!({"keys": []}),
        "stand-in",
        &secret,
        &session,
        Some("https://stand-in.invalid"),
        settings.site_url().as_deref(),
    )
    .map_err(|e| e.to_string())?;
    edge_auth_core::Config::from_json(&value.to_string()).map_err(|e| e.to_string())
}
