//! config.json: defaults, and errors that name the field at fault.

use edge_auth_core::Config;
use edge_auth_testkit as kit;
use serde_json::{Value, json};

fn error_for(mutate: impl FnOnce(&mut Value)) -> String {
    let mut v = kit::config_value("https://auth.example.com");
    mutate(&mut v);
    Config::from_json(&v.to_string()).unwrap_err().to_string()
}

#[test]
fn sample_config_is_valid_with_defaults() {
    let config = kit::config();
    assert_eq!(config.paths().signin, "/_edge-auth/callback");
    assert_eq!(config.cookie_names.session, "__Host-edge-auth-session");
    assert_eq!(config.cookies().max_parallel_signins, 5);
}

#[test]
fn the_documented_example_is_valid() {
    let text = include_str!("../../../docs/config.example.json");
    Config::from_json(text).expect("docs/config.example.json is valid");
}

#[test]
fn errors_name_the_field() {
    type Mutation = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(Mutation, &str)> = vec![
        (
            Box::new(|v| {
                v["provider"].as_object_mut().unwrap().remove("issuer");
            }),
            "`provider.issuer`: is required",
        ),
        (
            Box::new(|v| v["provider"]["token_endpoint"] = json!("http://evil.example/token")),
            "provider.token_endpoint",
        ),
        (
            Box::new(|v| v["provider"]["algorithms"] = json!(["HS256"])),
            "provider.algorithms",
        ),
        (
            Box::new(|v| v["provider"]["algorithms"] = json!(["none"])),
            "provider.algorithms",
        ),
        (
            Box::new(|v| v["provider"]["jwks"] = json!({"keys": []})),
            "provider.jwks",
        ),
        (
            Box::new(|v| v["provider"]["jwks"] = json!([1])),
            "provider.jwks",
        ),
        (
            Box::new(|v| v["provider"]["scopes"] = json!(["email"])),
            "provider.scopes",
        ),
        (Box::new(|v| v["version"] = json!(1)), "version"),
        (
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("session");
            }),
            "`session`: is required",
        ),
        (
            Box::new(|v| v["session"]["keys"] = json!([])),
            "session.keys",
        ),
        (
            Box::new(|v| v["session"]["keys"] = json!([{"kid": "k", "key": "c2hvcnQ"}])),
            "session.keys",
        ),
        (
            Box::new(|v| v["session"]["keys"] = json!([{"kid": "a b", "key": kit::SESSION_KEY}])),
            "session.keys",
        ),
        (
            Box::new(|v| v["session"]["lifetime_seconds"] = json!(10)),
            "session.lifetime_seconds",
        ),
        (
            Box::new(|v| v["session"]["signing_keys"] = json!({"kind": "file", "path": ""})),
            "session.signing_keys.path",
        ),
        (
            Box::new(|v| v["provider"]["jwks_uri"] = json!("http://evil.example/jwks")),
            "provider.jwks_uri",
        ),
        (
            Box::new(|v| v["paths"] = json!({"refresh": "/elsewhere/refresh"})),
            "paths.refresh",
        ),
        (
            Box::new(|v| v["paths"] = json!({"auth_prefix": "/"})),
            "paths.auth_prefix",
        ),
        (
            Box::new(|v| v["paths"] = json!({"signin": "//x"})),
            "paths.signin",
        ),
        (
            Box::new(|v| v["rules"] = json!([{"pattern": "/a/*", "groups": []}])),
            "rules[0].groups",
        ),
        (
            Box::new(|v| v["rules"] = json!([{"pattern": "a", "groups": ["g"]}])),
            "rules[0].pattern",
        ),
        (
            Box::new(|v| v["cookies"] = json!({"max_parallel_signins": 0})),
            "cookies.max_parallel_signins",
        ),
        (
            Box::new(|v| v["cookies"] = json!({"name_prefix": "a;b"})),
            "cookies.name_prefix",
        ),
        (
            Box::new(|v| v["secret"] = json!({"kind": "none"})),
            "secret",
        ),
        (
            Box::new(|v| v["site"] = json!({"base_url": "https://x/"})),
            "site.base_url",
        ),
        (
            Box::new(|v| v["site"] = json!({"base_url": "http://x"})),
            "site.base_url",
        ),
        (
            Box::new(|v| v["http"] = json!({"timeout_ms": 0})),
            "http.timeout_ms",
        ),
        (Box::new(|v| v["log_level"] = json!("loud")), "log_level"),
        (
            Box::new(|v| v["provider"]["tyop"] = json!(1)),
            "unknown field `tyop`",
        ),
    ];
    for (mutate, expected) in cases {
        let err = error_for(mutate);
        assert!(err.contains(expected), "expected `{expected}` in: {err}");
    }
    assert!(
        Config::from_json("{")
            .unwrap_err()
            .to_string()
            .contains("config.json")
    );
}

#[test]
fn loopback_http_is_allowed_for_local_runs() {
    let v = kit::config_value("http://127.0.0.1:9000");
    Config::from_json(&v.to_string()).unwrap();
}
