//! Corporate identity providers the Cognito pool federates to
//! (`[[provider.federation]]`): each a SAML or OpenID Connect provider,
//! checked before anything is deployed, rendered into the user-pool
//! template as an `AWS::Cognito::UserPoolIdentityProvider` that the app
//! client names, and into config.json's `provider.routing` so the start
//! sends each sign-in to its provider by e-mail domain.
//!
//! Secrets stay out: an OIDC provider's client secret is a dynamic
//! reference CloudFormation resolves (`{{resolve:secretsmanager:…}}`), so
//! neither the template, the dry run nor a log holds it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The pool attribute the template declares for a provider's groups: its
/// ID tokens then carry them as `custom:groups`, read beside
/// `cognito:groups` (`edge_auth_core::groups`).
pub const GROUPS_ATTRIBUTE: &str = "custom:groups";

/// The pool's standard attributes a provider's may map to (Cognito's
/// OpenID standard set, and `username` for an OIDC provider's subject).
pub const POOL_ATTRIBUTES: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "username",
    "website",
    "zoneinfo",
];

/// The largest SAML metadata document read from a file (the template
/// carries it whole).
pub const MAX_METADATA_BYTES: usize = 128 * 1024;

/// Markers in sam/user-pool/template.yaml the rendering replaces.
pub const SUPPORTED_MARKER: &str = "# EDGE_AUTH_SUPPORTED_PROVIDERS";
pub const DEPENDS_MARKER: &str = "# EDGE_AUTH_CLIENT_DEPENDS_ON";
pub const RESOURCES_MARKER: &str = "# EDGE_AUTH_IDENTITY_PROVIDERS";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Saml,
    Oidc,
}

/// One `[[provider.federation]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Federation {
    /// Its name in the pool (Cognito's `ProviderName`, what
    /// `identity_provider=` names).
    pub name: String,
    pub kind: Kind,
    /// SAML: where Cognito reads the provider's metadata, or
    pub metadata_url: Option<String>,
    /// the metadata document, relative to the settings file.
    pub metadata_file: Option<PathBuf>,
    /// SAML: sign-out at the pool signs out at the provider too
    /// (`IDPSignout`).
    #[serde(default)]
    pub sign_out: bool,
    /// OIDC: the provider's issuer (its discovery document under it).
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    /// OIDC: a Secrets Manager secret whose JSON has `client_secret`.
    pub client_secret_arn: Option<String>,
    /// OIDC: the scopes asked for (`openid` among them).
    pub scopes: Option<Vec<String>>,
    /// E-mail domains whose people sign in here (the start's routing,
    /// and Cognito's `IdpIdentifiers`).
    #[serde(default)]
    pub domains: Vec<String>,
    /// Pool attribute = the provider's attribute (SAML: a claim URI;
    /// OIDC: a claim). `email` is required; `custom:groups` carries the
    /// groups rules name.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl Federation {
    /// Its resource's logical id in the template.
    pub fn logical_id(&self) -> String {
        let plain: String = self
            .name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        format!("Federation{plain}")
    }

    /// The SAML metadata document of `metadata_file`, checked.
    pub fn metadata_document(&self, dir: &Path) -> Result<Option<String>, String> {
        let Some(file) = &self.metadata_file else {
            return Ok(None);
        };
        let path = dir.join(file);
        let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if text.len() > MAX_METADATA_BYTES {
            return Err(format!(
                "{}: {} bytes; at most {MAX_METADATA_BYTES}",
                path.display(),
                text.len()
            ));
        }
        let text =
            String::from_utf8(text).map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
        check_metadata(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Some(text))
    }
}

/// A SAML metadata document Cognito can use: XML whose root is an
/// `EntityDescriptor` with an `entityID`, holding an `IDPSSODescriptor`
/// with a `SingleSignOnService` and a signing certificate.
pub fn check_metadata(xml: &str) -> Result<(), String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("not XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "EntityDescriptor" {
        return Err(format!(
            "the root element is {}, not EntityDescriptor: is this an identity provider's SAML metadata?",
            root.tag_name().name()
        ));
    }
    if root.attribute("entityID").is_none_or(str::is_empty) {
        return Err("the EntityDescriptor has no entityID".into());
    }
    let idp = root
        .children()
        .find(|n| n.tag_name().name() == "IDPSSODescriptor")
        .ok_or("no IDPSSODescriptor: this is not an identity provider's metadata")?;
    if !idp
        .children()
        .any(|n| n.tag_name().name() == "SingleSignOnService" && n.attribute("Location").is_some())
    {
        return Err("the IDPSSODescriptor has no SingleSignOnService with a Location".into());
    }
    if !idp.descendants().any(|n| {
        n.tag_name().name() == "X509Certificate" && n.text().is_some_and(|t| !t.trim().is_empty())
    }) {
        return Err("the IDPSSODescriptor has no signing certificate (X509Certificate)".into());
    }
    Ok(())
}

/// Cognito's `ProviderName`, kept to what every part reads plainly: 3 to
/// 32 of letters, digits, `-` and `.`, starting and ending with a letter
/// or digit; none of the names Cognito keeps for itself.
fn is_provider_name(name: &str) -> bool {
    const RESERVED: [&str; 5] = [
        "cognito",
        "google",
        "facebook",
        "loginwithamazon",
        "signinwithapple",
    ];
    (3..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !RESERVED.contains(&name.to_ascii_lowercase().as_str())
}

fn is_secret_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    parts.len() == 7
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "secretsmanager"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5] == "secret"
        && !parts[6].is_empty()
        && !arn.contains(['{', '}', ' '])
}

/// Every entry checked, with the field that is wrong and why: names,
/// the fields of its kind and none of the other's, metadata that parses,
/// attributes the pool has, domains each claimed once.
pub fn check(list: &[Federation], native_users: bool, dir: &Path) -> Result<(), (String, String)> {
    if !native_users && list.is_empty() {
        return Err((
            "provider.native_users".into(),
            "false needs a [[provider.federation]] provider to sign in at".into(),
        ));
    }
    for (i, f) in list.iter().enumerate() {
        let field = |name: &str| format!("provider.federation[{i}].{name}");
        if !is_provider_name(&f.name) {
            return Err((
                field("name"),
                format!(
                    "{:?}: 3 to 32 letters, digits, `-` or `.`, not a name Cognito keeps (COGNITO, Google, …)",
                    f.name
                ),
            ));
        }
        if let Some(other) = list[..i].iter().find(|g| g.logical_id() == f.logical_id()) {
            return Err((
                field("name"),
                format!(
                    "{} and {} are one name to CloudFormation",
                    f.name, other.name
                ),
            ));
        }
        let extra = |present: bool, name: &str| {
            if present {
                let kind = match f.kind {
                    Kind::Saml => "a SAML",
                    Kind::Oidc => "an OIDC",
                };
                Err((field(name), format!("not a setting of {kind} provider")))
            } else {
                Ok(())
            }
        };
        match f.kind {
            Kind::Saml => {
                extra(f.issuer.is_some(), "issuer")?;
                extra(f.client_id.is_some(), "client_id")?;
                extra(f.client_secret_arn.is_some(), "client_secret_arn")?;
                extra(f.scopes.is_some(), "scopes")?;
                match (&f.metadata_url, &f.metadata_file) {
                    (Some(_), Some(_)) | (None, None) => {
                        return Err((
                            field("metadata_url"),
                            "a SAML provider needs metadata_url or metadata_file, one of them"
                                .into(),
                        ));
                    }
                    (Some(url), None) if !url.starts_with("https://") || url.len() <= 8 => {
                        return Err((field("metadata_url"), format!("{url:?}: an https:// URL")));
                    }
                    _ => {}
                }
                f.metadata_document(dir)
                    .map_err(|e| (field("metadata_file"), e))?;
            }
            Kind::Oidc => {
                extra(f.metadata_url.is_some(), "metadata_url")?;
                extra(f.metadata_file.is_some(), "metadata_file")?;
                extra(f.sign_out, "sign_out")?;
                match &f.issuer {
                    Some(url) if url.starts_with("https://") && url.len() > 8 => {}
                    _ => {
                        return Err((field("issuer"), "an https:// issuer URL is required".into()));
                    }
                }
                if f.client_id.as_deref().is_none_or(|c| c.trim().is_empty()) {
                    return Err((field("client_id"), "is required".into()));
                }
                match &f.client_secret_arn {
                    Some(arn) if is_secret_arn(arn) => {}
                    Some(arn) => {
                        return Err((
                            field("client_secret_arn"),
                            format!(
                                "{arn:?}: a Secrets Manager secret's ARN (its JSON holds client_secret)"
                            ),
                        ));
                    }
                    None => {
                        return Err((
                            field("client_secret_arn"),
                            "is required: the client secret stays in Secrets Manager".into(),
                        ));
                    }
                }
                if let Some(scopes) = &f.scopes
                    && (!scopes.iter().any(|s| s == "openid")
                        || scopes
                            .iter()
                            .any(|s| s.is_empty() || s.contains(char::is_whitespace)))
                {
                    return Err((field("scopes"), "single words, `openid` among them".into()));
                }
            }
        }
        if !f.attributes.contains_key("email") {
            return Err((
                field("attributes"),
                "map email: the pool names federated users by their address".into(),
            ));
        }
        for (pool, theirs) in &f.attributes {
            if pool.starts_with("custom:") && pool != GROUPS_ATTRIBUTE {
                return Err((
                    field("attributes"),
                    format!(
                        "{pool}: the pool has no such attribute; its one custom attribute is {GROUPS_ATTRIBUTE}"
                    ),
                ));
            }
            if !pool.starts_with("custom:") && !POOL_ATTRIBUTES.contains(&pool.as_str()) {
                return Err((
                    field("attributes"),
                    format!(
                        "{pool}: not an attribute of the pool ({}, {GROUPS_ATTRIBUTE})",
                        POOL_ATTRIBUTES.join(", ")
                    ),
                ));
            }
            if theirs.trim().is_empty() || theirs.len() > 512 {
                return Err((
                    field("attributes"),
                    format!("{pool}: name the provider's attribute"),
                ));
            }
        }
        if f.domains.len() > 50 {
            return Err((
                field("domains"),
                "at most 50 (Cognito's IdpIdentifiers)".into(),
            ));
        }
        for d in &f.domains {
            if !edge_auth_core::routing::is_domain(d) || d.len() > 40 {
                return Err((
                    field("domains"),
                    format!("{d:?}: a lower-case e-mail domain of at most 40 characters"),
                ));
            }
            if let Some(other) = list[..i].iter().find(|g| g.domains.contains(d)) {
                return Err((
                    field("domains"),
                    format!(
                        "{d} is {}'s already: an address must lead to one provider",
                        other.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// config.json's `provider.routing` for these providers.
pub fn routing(list: &[Federation], native_users: bool) -> edge_auth_core::routing::Routing {
    edge_auth_core::routing::Routing {
        providers: list
            .iter()
            .map(|f| edge_auth_core::routing::RoutedProvider {
                name: f.name.clone(),
                domains: f.domains.clone(),
            })
            .collect(),
        native: native_users,
        default: None,
    }
}

/// What the dry run says of each provider: its kind, where its metadata
/// or issuer is, its domains and its mapping (never a secret's value).
pub fn describe(list: &[Federation], native_users: bool) -> Vec<String> {
    let mut lines: Vec<String> = list
        .iter()
        .map(|f| {
            let source = match f.kind {
                Kind::Saml => match (&f.metadata_url, &f.metadata_file) {
                    (Some(url), _) => format!("SAML, metadata from {url}"),
                    (_, Some(file)) => format!("SAML, metadata in {}", file.display()),
                    _ => "SAML".into(),
                },
                Kind::Oidc => format!(
                    "OIDC, issuer {}, client {}, secret from {} (resolved by CloudFormation), scopes {}",
                    f.issuer.as_deref().unwrap_or("?"),
                    f.client_id.as_deref().unwrap_or("?"),
                    f.client_secret_arn.as_deref().unwrap_or("?"),
                    scopes(f)
                ),
            };
            let mapping = f
                .attributes
                .iter()
                .map(|(pool, theirs)| format!("{pool} <- {theirs}"))
                .collect::<Vec<_>>()
                .join(", ");
            let domains = if f.domains.is_empty() {
                "no e-mail domains (only a site's identity_provider sends people there)".to_owned()
            } else {
                format!("e-mail domains {}", f.domains.join(", "))
            };
            format!("{} ({source}); {domains}; attributes {mapping}", f.name)
        })
        .collect();
    lines.push(if native_users {
        "the pool's own users (COGNITO) sign in too".into()
    } else {
        "the pool's own sign-in is hidden (native_users = false)".into()
    });
    lines
}

fn scopes(f: &Federation) -> String {
    f.scopes
        .clone()
        .unwrap_or_else(|| vec!["openid".into(), "email".into(), "profile".into()])
        .join(" ")
}

/// The user-pool template with the providers: their resources at
/// [`RESOURCES_MARKER`], the app client's `SupportedIdentityProviders`
/// naming them (and `COGNITO` while the pool's own users sign in), and
/// the client created after them. Without providers, the template as it
/// is, the markers gone.
pub fn render(
    template: &str,
    list: &[Federation],
    native_users: bool,
    dir: &Path,
) -> Result<String, String> {
    let quoted = crate::template::yaml_quoted;
    let names: Vec<String> = native_users
        .then(|| quoted(edge_auth_core::routing::NATIVE))
        .into_iter()
        .chain(list.iter().map(|f| quoted(&f.name)))
        .collect();
    let supported = format!("SupportedIdentityProviders: [{}]", names.join(", "));
    let depends = if list.is_empty() {
        String::new()
    } else {
        format!(
            "DependsOn: [{}]",
            list.iter()
                .map(Federation::logical_id)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut resources = String::new();
    for f in list {
        resources.push_str(&resource(f, dir)?);
    }
    let out = replace_marked(template, SUPPORTED_MARKER, &supported)?;
    let out = replace_marked(&out, DEPENDS_MARKER, &depends)?;
    replace_marked(&out, RESOURCES_MARKER, resources.trim_end())
}

/// The one line holding `marker` replaced by `with` (each of its lines at
/// the marker line's indent; nothing when `with` is empty).
fn replace_marked(template: &str, marker: &str, with: &str) -> Result<String, String> {
    let found = template.lines().filter(|l| l.contains(marker)).count();
    if found != 1 {
        return Err(format!(
            "the user-pool template has {found} lines with {marker}; it needs exactly one"
        ));
    }
    let mut out = String::with_capacity(template.len() + with.len());
    for line in template.split_inclusive('\n') {
        if line.contains(marker) {
            let indent = &line[..line.len() - line.trim_start().len()];
            for part in with.lines() {
                if part.is_empty() {
                    out.push('\n');
                } else {
                    out.push_str(&format!("{indent}{part}\n"));
                }
            }
        } else {
            out.push_str(line);
        }
    }
    Ok(out)
}

/// One provider's resource, indented from the `Resources:` level.
fn resource(f: &Federation, dir: &Path) -> Result<String, String> {
    let q = crate::template::yaml_quoted;
    let mut details: Vec<(&str, String)> = Vec::new();
    let kind = match f.kind {
        Kind::Saml => {
            if let Some(url) = &f.metadata_url {
                details.push(("MetadataURL", url.clone()));
            }
            if let Some(text) = f.metadata_document(dir)? {
                details.push(("MetadataFile", text));
            }
            if f.sign_out {
                details.push(("IDPSignout", "true".into()));
            }
            "SAML"
        }
        Kind::Oidc => {
            details.push(("client_id", f.client_id.clone().unwrap_or_default()));
            details.push((
                "client_secret",
                format!(
                    "{{{{resolve:secretsmanager:{}:SecretString:client_secret}}}}",
                    f.client_secret_arn.as_deref().unwrap_or_default()
                ),
            ));
            details.push(("oidc_issuer", f.issuer.clone().unwrap_or_default()));
            details.push(("authorize_scopes", scopes(f)));
            details.push(("attributes_request_method", "GET".into()));
            "OIDC"
        }
    };
    let mut out = format!(
        "{}:\n  Type: AWS::Cognito::UserPoolIdentityProvider\n  Properties:\n    UserPoolId: !Ref UserPool\n    ProviderName: {}\n    ProviderType: {kind}\n    ProviderDetails:\n",
        f.logical_id(),
        q(&f.name)
    );
    for (key, value) in &details {
        out.push_str(&format!("      {key}: {}\n", q(value)));
    }
    out.push_str("    AttributeMapping:\n");
    for (pool, theirs) in &f.attributes {
        out.push_str(&format!("      {}: {}\n", q(pool), q(theirs)));
    }
    if !f.domains.is_empty() {
        out.push_str(&format!(
            "    IdpIdentifiers: [{}]\n",
            f.domains
                .iter()
                .map(|d| q(d))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.push('\n');
    Ok(out)
}

/// What an administrator enters at the corporate provider for this pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProvider {
    /// SAML: the audience / entity id, `urn:amazon:cognito:sp:<pool id>`.
    pub entity_id: String,
    /// SAML: the assertion consumer service URL.
    pub acs_url: String,
    /// OIDC: the redirect URI to allow.
    pub oidc_redirect: String,
}

/// The values for a pool with hosted domain `prefix` in `region`; its id
/// when it exists (else a placeholder saying when it will).
pub fn service_provider(prefix: &str, region: &str, pool_id: Option<&str>) -> ServiceProvider {
    let domain = format!("https://{prefix}.auth.{region}.amazoncognito.com");
    ServiceProvider {
        entity_id: format!(
            "urn:amazon:cognito:sp:{}",
            pool_id.unwrap_or("<the pool's id, known after the first deploy>")
        ),
        acs_url: format!("{domain}/saml2/idpresponse"),
        oidc_redirect: format!("{domain}/oauth2/idpresponse"),
    }
}

/// The lines that tell an administrator what to enter, per provider.
pub fn service_provider_lines(list: &[Federation], sp: &ServiceProvider) -> Vec<String> {
    list.iter()
        .map(|f| match f.kind {
            Kind::Saml => format!(
                "{} (SAML): entity id (audience) {}; ACS URL (reply URL) {}; send the NameID and the mapped attributes ({})",
                f.name,
                sp.entity_id,
                sp.acs_url,
                f.attributes.values().cloned().collect::<Vec<_>>().join(", ")
            ),
            Kind::Oidc => format!(
                "{} (OIDC): allow the redirect URI {} for client {}",
                f.name,
                sp.oidc_redirect,
                f.client_id.as_deref().unwrap_or("?")
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>MIIC</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#;

    #[test]
    fn metadata_is_checked() {
        assert!(check_metadata(METADATA).is_ok());
        assert!(
            check_metadata("<EntityDescriptor")
                .unwrap_err()
                .starts_with("not XML")
        );
        assert!(
            check_metadata("<html/>")
                .unwrap_err()
                .contains("root element is html")
        );
        let sp = METADATA.replace("IDPSSODescriptor", "SPSSODescriptor");
        assert!(
            check_metadata(&sp)
                .unwrap_err()
                .contains("no IDPSSODescriptor")
        );
        let no_cert = METADATA.replace("MIIC", "");
        assert!(
            check_metadata(&no_cert)
                .unwrap_err()
                .contains("certificate")
        );
        let no_sso = METADATA.replace("SingleSignOnService", "ArtifactResolutionService");
        assert!(
            check_metadata(&no_sso)
                .unwrap_err()
                .contains("SingleSignOnService")
        );
        let no_id = METADATA.replace(r#" entityID="https://idp.example.com/saml""#, "");
        assert!(check_metadata(&no_id).unwrap_err().contains("entityID"));
    }

    #[test]
    fn names_cognito_keeps_or_cloudformation_confuses_are_refused() {
        for good in ["Corp", "entra-id", "okta.prod"] {
            assert!(is_provider_name(good), "{good}");
        }
        for bad in [
            "",
            "ab",
            "COGNITO",
            "Google",
            "has space",
            "_x1",
            "x_y",
            "-ab",
            &"a".repeat(33),
        ] {
            assert!(!is_provider_name(bad), "{bad}");
        }
        assert!(is_secret_arn(
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:corp-oidc-AbCdEf"
        ));
        for bad in [
            "corp-oidc",
            "arn:aws:secretsmanager:eu-west-1:1234:secret:x",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/x",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x}} {{",
        ] {
            assert!(!is_secret_arn(bad), "{bad}");
        }
    }

    #[test]
    fn the_markers_must_be_there_once() {
        let err = render("Resources: {}\n", &[], true, Path::new(".")).unwrap_err();
        assert!(err.contains(SUPPORTED_MARKER), "{err}");
    }
}
