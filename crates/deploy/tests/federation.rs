//! Corporate identity providers (`[[provider.federation]]`) as the deploy
//! tool reads them: examples/corporate's SAML and OIDC providers into
//! config.json's routing (read back by the core), the rendered user-pool
//! template, and every bad setting refused by name before anything runs.

use std::path::{Path, PathBuf};

use edge_auth_deploy::federation;
use edge_auth_deploy::package::{SecretLocation, SessionKeysLocation, config_json};
use edge_auth_deploy::settings::Settings;
use serde_json::json;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/corporate/corporate.toml")
}

/// The example's text changed by `edit`, loaded from a file beside it (the
/// metadata file is relative to it).
fn edited(tag: &str, edit: impl Fn(String) -> String) -> Result<Settings, String> {
    let text = edit(std::fs::read_to_string(example()).unwrap());
    let path = example().with_file_name(format!("test-{tag}-{}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let loaded = Settings::load(&path).map_err(|e| e.to_string());
    std::fs::remove_file(&path).ok();
    loaded
}

fn config_of(settings: &Settings) -> serde_json::Value {
    let discovery = json!({
        "issuer": "https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_X",
        "authorization_endpoint": "https://edge-auth-corp-handbook.auth.eu-north-1.amazoncognito.com/oauth2/authorize",
        "token_endpoint": "https://edge-auth-corp-handbook.auth.eu-north-1.amazoncognito.com/oauth2/token",
        "jwks_uri": "https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_X/.well-known/jwks.json",
    });
    let jwks: serde_json::Value = serde_json::from_str(edge_auth_testkit::JWKS).unwrap();
    config_json(
        settings,
        &discovery,
        &jwks,
        "client",
        &SecretLocation {
            arn: "arn:aws:secretsmanager:eu-north-1:111122223333:secret:x".into(),
            region: "eu-north-1".into(),
        },
        &SessionKeysLocation {
            name: "edge-auth/corp/session-keys".into(),
            region: "eu-north-1".into(),
            keys: edge_auth_core::session::SessionKeySet {
                signing_kid: edge_auth_testkit::SESSION_KID.into(),
                keys: vec![edge_auth_testkit::session_key_file()],
                retire_after: Default::default(),
                revoked: Default::default(),
            },
        },
        Some("https://edge-auth-corp-handbook.auth.eu-north-1.amazoncognito.com"),
        None,
    )
    .unwrap()
}

#[test]
fn the_providers_reach_config_json_as_the_core_reads_them() {
    let settings = Settings::load(&example()).unwrap();
    let value = config_of(&settings);
    assert_eq!(
        value["provider"]["routing"],
        json!({"providers": [
            {"name": "ExampleCorp", "domains": ["example.com"]},
            {"name": "Partner", "domains": ["partner.example"]}
        ], "native": true})
    );
    assert_eq!(
        value["provider"]["extra_groups_claims"],
        json!(["custom:groups"])
    );
    let config = edge_auth_core::Config::from_json(&value.to_string()).unwrap();
    assert_eq!(config.provider().routing.providers.len(), 2);

    // A site's default provider and the pool's own users hidden.
    let settings = edited("default", |t| {
        t.replace("native_users = true", "native_users = false")
            .replace("[site]\n", "[site]\nidentity_provider = \"ExampleCorp\"\n")
    })
    .unwrap();
    let value = config_of(&settings);
    assert_eq!(value["provider"]["routing"]["native"], json!(false));
    assert_eq!(
        value["provider"]["routing"]["default"],
        json!("ExampleCorp")
    );
    edge_auth_core::Config::from_json(&value.to_string()).unwrap();
}

#[test]
fn the_template_names_each_provider_and_no_secret() {
    let settings = Settings::load(&example()).unwrap();
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sam/user-pool/template.yaml"),
    )
    .unwrap();
    let (native, list) = settings.federation();
    let out = federation::render(&template, list, native, &settings.dir).unwrap();
    assert!(out.contains(r#"SupportedIdentityProviders: ["COGNITO", "ExampleCorp", "Partner"]"#));
    assert!(out.contains("    DependsOn: [FederationExampleCorp, FederationPartner]\n"));
    assert!(
        out.contains(
            "  FederationExampleCorp:\n    Type: AWS::Cognito::UserPoolIdentityProvider\n"
        )
    );
    assert!(out.contains(
        "client_secret: \"{{resolve:secretsmanager:arn:aws:secretsmanager:eu-north-1:111122223333:secret:edge-auth/corp/partner-oidc-AbCdEf:SecretString:client_secret}}\""
    ));
    for marker in [
        federation::SUPPORTED_MARKER,
        federation::DEPENDS_MARKER,
        federation::RESOURCES_MARKER,
    ] {
        assert!(!out.contains(marker), "{marker}");
    }
    // Without providers: the template's own client, no DependsOn.
    let plain = federation::render(&template, &[], true, &settings.dir).unwrap();
    assert!(plain.contains(r#"SupportedIdentityProviders: ["COGNITO"]"#));
    assert!(!plain.contains("DependsOn") && !plain.contains("UserPoolIdentityProvider\n"));
    // Only corporate providers.
    let only = federation::render(&template, list, false, &settings.dir).unwrap();
    assert!(only.contains(r#"SupportedIdentityProviders: ["ExampleCorp", "Partner"]"#));
}

/// A change to the example's text.
type Edit = Box<dyn Fn(String) -> String>;

#[test]
fn bad_federation_settings_are_refused_by_name() {
    let metadata = example().with_file_name("example-corp-metadata.xml");
    let broken = example().with_file_name(format!("broken-{}.xml", std::process::id()));
    std::fs::write(&broken, "<EntityDescriptor><IDPSSODescriptor>").unwrap();
    let broken_name = broken.file_name().unwrap().to_string_lossy().into_owned();
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "metadata",
            Box::new(move |t: String| t.replace("example-corp-metadata.xml", &broken_name)),
            "provider.federation[0].metadata_file: ",
        ),
        (
            "metadata-missing",
            Box::new(|t: String| t.replace("example-corp-metadata.xml", "nowhere.xml")),
            "provider.federation[0].metadata_file",
        ),
        (
            "both-sources",
            Box::new(|t: String| {
                t.replace(
                    "sign_out = true",
                    "sign_out = true\nmetadata_url = \"https://idp.example.com/m.xml\"",
                )
            }),
            "metadata_url or metadata_file, one of them",
        ),
        (
            "attribute",
            Box::new(|t: String| {
                t.replace(
                    "\"custom:groups\" = \"groups\"",
                    "\"custom:team\" = \"groups\"",
                )
            }),
            "provider.federation[1].attributes: custom:team: the pool has no such attribute",
        ),
        (
            "standard-attribute",
            Box::new(|t: String| t.replace("name = \"name\"\n", "department = \"dept\"\n")),
            "department: not an attribute of the pool",
        ),
        (
            "no-email",
            Box::new(|t: String| t.replace("email = \"email\"\n", "")),
            "provider.federation[1].attributes: map email",
        ),
        (
            "secret",
            Box::new(|t: String| {
                t.replace(
                    "arn:aws:secretsmanager:eu-north-1:111122223333:secret:edge-auth/corp/partner-oidc-AbCdEf",
                    "my-secret",
                )
            }),
            "provider.federation[1].client_secret_arn",
        ),
        (
            "saml-field-on-oidc",
            Box::new(|t: String| t.replace("scopes = [", "sign_out = true\nscopes = [")),
            "provider.federation[1].sign_out: not a setting of an OIDC provider",
        ),
        (
            "issuer",
            Box::new(|t: String| {
                t.replace(
                    "https://partner.okta.example",
                    "http://partner.okta.example",
                )
            }),
            "provider.federation[1].issuer",
        ),
        (
            "domain-twice",
            Box::new(|t: String| {
                t.replace(
                    "domains = [\"partner.example\"]",
                    "domains = [\"example.com\"]",
                )
            }),
            "example.com is ExampleCorp's already",
        ),
        (
            "name",
            Box::new(|t: String| t.replace("name = \"Partner\"", "name = \"COGNITO\"")),
            "provider.federation[1].name",
        ),
        (
            "same-id",
            Box::new(|t: String| t.replace("name = \"Partner\"", "name = \"Example-Corp\"")),
            "are one name to CloudFormation",
        ),
        (
            "site-provider",
            Box::new(|t: String| t.replace("[site]\n", "[site]\nidentity_provider = \"Okta\"\n")),
            "site.identity_provider: Okta: not one of ExampleCorp, Partner, COGNITO",
        ),
        (
            "native-alone",
            Box::new(|t: String| {
                let cut = t.find("[[provider.federation]]").unwrap();
                let rules = t.find("[[rules]]").unwrap();
                format!("{}{}", &t[..cut], &t[rules..])
                    .replace("native_users = true", "native_users = false")
            }),
            "provider.native_users",
        ),
        (
            "unknown-field",
            Box::new(|t: String| t.replace("sign_out = true", "sign_out = true\nmetadata = \"x\"")),
            "unknown field `metadata`",
        ),
    ];
    for (tag, edit, says) in cases {
        let err = edited(tag, edit).map(|_| ()).unwrap_err();
        assert!(err.contains(says), "{tag}: {err}");
    }
    std::fs::remove_file(&broken).ok();
    assert!(metadata.exists());
}
