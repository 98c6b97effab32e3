//! The site table's pieces (`crate::sites`): a host's name in the store,
//! a site's entry written and read back, and what the store's 1 KB per
//! value allows a site.

use edge_auth_core::config::{Rule, StepUp};
use edge_auth_core::paths::PathPattern;
use edge_auth_core::session::SessionKeyFile;
use edge_auth_core::sites::{SitePolicy, site_key};

fn keys() -> Vec<SessionKeyFile> {
    vec![
        SessionKeyFile {
            kid: "session-2026-12".into(),
            key: "Xl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl4".into(),
            not_after: None,
        },
        // Retiring, with its deadline: what a rotation leaves for a day.
        SessionKeyFile {
            kid: "session-2026-11".into(),
            key: "ERERERERERERERERERERERERERERERERERERERERERE".into(),
            not_after: Some(1_800_086_400),
        },
    ]
}

fn rule(pattern: &str, groups: &[&str]) -> Rule {
    Rule {
        pattern: PathPattern::new(pattern).unwrap(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        step_up: StepUp::default(),
    }
}

#[test]
fn a_host_is_named_in_lower_case_without_its_port_and_only_a_plain_name_is_one() {
    for (host, key) in [
        (Some("docs.example.com"), Some("site:docs.example.com")),
        (Some("Docs.Example.COM"), Some("site:docs.example.com")),
        (Some("docs.example.com:443"), Some("site:docs.example.com")),
        (
            Some("handbook.localhost:8080"),
            Some("site:handbook.localhost"),
        ),
        (Some("127.0.0.1:8080"), Some("site:127.0.0.1")),
        (None, None),
        (Some(""), None),
        (Some(":443"), None),
        (Some("docs.example.com:"), None),
        (Some("docs.example.com:x"), None),
        (Some("docs example.com"), None),
        (Some("docs.example.com/admin"), None),
        (Some("user@docs.example.com"), None),
        (Some("[::1]:8080"), None),
        // The Kelvin sign lower-cases to `k` in JavaScript: refused
        // before lower-casing, in both.
        (Some("\u{212a}.example.com"), None),
        (Some("docs.example.com\0"), None),
    ] {
        assert_eq!(site_key(host).as_deref(), key, "{host:?}");
    }
    let longest = "a".repeat(253);
    assert!(site_key(Some(&longest)).is_some());
    assert!(site_key(Some(&format!("{longest}a"))).is_none());
}

#[test]
fn an_entry_reads_back_as_it_was_written() {
    let site = SitePolicy {
        id: "docs".into(),
        public: vec![PathPattern::new("/assets/*").unwrap()],
        rules: vec![
            rule("/admin/*", &["admins"]),
            Rule {
                step_up: StepUp {
                    max_auth_age_seconds: Some(900),
                    mfa: true,
                },
                ..rule("/vault/*", &["auditors", "admins"])
            },
        ],
        cookies: None,
        preview: None,
    };
    let entry = site.entry(&keys()).unwrap();
    assert_eq!(
        entry,
        r#"["docs",["/assets/*"],[["/admin/*",["admins"]],["/vault/*",["auditors","admins"],900,true]],{"session-2026-11":"ERERERERERERERERERERERERERERERERERERERERERE.1800086400","session-2026-12":"Xl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl4"}]"#
    );
    let back = SitePolicy::from_entry(&entry).unwrap();
    assert_eq!(back.id, "docs");
    assert_eq!(back.public, site.public);
    assert_eq!(back.rules.len(), 2);
    assert_eq!(back.rules[1].step_up, site.rules[1].step_up);
    assert_eq!(back.rules[1].groups, ["auditors", "admins"]);
    assert_eq!(back.rules[0].step_up, StepUp::default());
}

#[test]
fn what_is_not_an_entry_is_refused_with_its_reason() {
    for bad in [
        "",
        "null",
        "{}",
        "[]",
        r#"["docs",[],[]]"#,
        r#"["",[],[],{}]"#,
        r#"[7,[],[],{}]"#,
        r#"["docs",["assets/*"],[],{}]"#,
        r#"["docs",[],[["/admin/*"]],{}]"#,
        r#"["docs",[],[["/admin/*","admins"]],{}]"#,
        r#"["docs",[],[["/admin/*",["admins"],900]],{}]"#,
        r#"["docs",[],[["/admin/*",["admins"],-1,true]],{}]"#,
        r#"["docs",[],[["/admin/*",["admins"],900,"yes"]],{}]"#,
        r#"["docs",[],[["admin",["admins"]]],{}]"#,
        r#"["docs",[],[],[]]"#,
        r#"["docs",[],[],{},"extra"]"#,
    ] {
        let error = SitePolicy::from_entry(bad).unwrap_err().to_string();
        assert!(error.starts_with("not a site entry: "), "{bad}: {error}");
    }
}

/// The store holds a value of at most 1 KB: with two keys (a rotation's
/// day), about thirty short rules fit a site; more is refused before
/// anything is written.
#[test]
fn a_site_entry_is_held_to_the_stores_value_limit() {
    let site = |n: usize| SitePolicy {
        id: "handbook".into(),
        public: vec![PathPattern::new("/assets/*").unwrap()],
        rules: (0..n)
            .map(|i| rule(&format!("/team-{i:02}/*"), &["readers"]))
            .collect(),
        cookies: None,
        preview: None,
    };
    let fits = (0..100)
        .take_while(|&n| site(n).entry(&keys()).is_ok())
        .count()
        - 1;
    assert!((20..=40).contains(&fits), "{fits} rules fit");
    let error = site(fits + 1).entry(&keys()).unwrap_err().to_string();
    assert!(error.contains("over the store's 1024"), "{error}");
    eprintln!("a site entry holds {fits} rules of `/team-NN/*` for one group, with two keys");
}

/// A table of three sites: the handbook and the API reference share
/// sessions (group `docs`), the status page has its own.
fn table() -> edge_auth_core::Config {
    let mut v = edge_auth_testkit::config_value("https://auth.example.com");
    v["sites"] = serde_json::json!([
        {"name": "handbook", "base_url": "https://handbook.example.com", "session": "docs",
         "rules": [{"pattern": "/ops/*", "groups": ["readers"]}]},
        {"name": "api", "base_url": "https://api.example.com", "session": "docs",
         "rules": [{"pattern": "/private/*", "groups": ["admins"]}]},
        {"name": "status", "base_url": "https://status.example.com", "public": ["/"]},
    ]);
    edge_auth_testkit::config_from(v)
}

/// A viewer request to `host` with these cookies (a page load).
fn request_at(
    host: &str,
    uri: &str,
    cookies: &[String],
) -> (
    edge_auth_core::CloudFrontRequest,
    edge_auth_core::DistributionConfig,
) {
    let (mut request, dist) = edge_auth_testkit::viewer_request(uri, "", cookies);
    request.headers.set("host", host.to_owned());
    (request, dist)
}

#[test]
fn a_session_is_issued_for_its_site_and_taken_only_at_the_sites_that_share_it() {
    use edge_auth_core::authorize::authorize_at;
    use edge_auth_core::sites::site_for_host;
    use edge_auth_testkit::{self as kit, NOW};
    let config = table();
    // The handbook's configuration: its address, and the groups the
    // rules of its group's sites name (a session is taken at each).
    let handbook = config.at_site("handbook").unwrap();
    assert_eq!(
        handbook.file.site.base_url.as_deref(),
        Some("https://handbook.example.com")
    );
    let id = handbook
        .verifier
        .verify(
            &kit::id_token()
                .claim("cognito:groups", serde_json::json!(["readers", "admins"]))
                .sign(),
            NOW,
            None,
        )
        .unwrap();
    let claims = edge_auth_core::session::session_for(
        &handbook,
        &id,
        NOW,
        &mut kit::CountingEntropy(1),
        None,
    );
    assert_eq!(claims.site.as_deref(), Some("docs"));
    assert_eq!(
        claims.groups,
        ["readers", "admins"],
        "the groups its group's sites' rules name (the handbook's and the API reference's)"
    );
    let cookie = format!("__Host-edge-auth-session={}", kit::signer().sign(&claims));

    let decide = |host: &str, uri: &str| {
        let (request, dist) = request_at(host, uri, std::slice::from_ref(&cookie));
        let site = site_for_host(&config, request.headers.first("host"));
        authorize_at(
            request,
            &dist,
            &config,
            site,
            NOW,
            &mut kit::CountingEntropy(2),
        )
    };
    // Taken on both sites of its group; its groups are the handbook's.
    assert_eq!(
        decide("handbook.example.com", "/ops/x").event,
        "allowed-by-rule"
    );
    assert_eq!(decide("api.example.com", "/").event, "allowed");
    assert_eq!(
        decide("API.example.com:443", "/private/x").event,
        "allowed-by-rule"
    );
    // Not on the status page: a sign-in there, sent to its start path
    // (never a redirect URI built here).
    let other = decide("status.example.com", "/incidents/");
    assert_eq!(other.event, "signin-started");
    assert_eq!(
        other.detail.as_deref(),
        Some("token refused: issued for another site")
    );
    let location = match &other.output {
        edge_auth_core::HandlerOutput::Respond(r) => {
            r.headers.first("location").unwrap().to_owned()
        }
        _ => panic!(),
    };
    assert_eq!(location, "/_edge-auth/start?return=%2Fincidents%2F");
    // A host that is no site's: a 404, no redirect.
    let nowhere = decide("evil.example.net", "/");
    assert_eq!(
        (nowhere.event, nowhere.status()),
        ("unknown-site", Some("404"))
    );

    // The regional handlers: the site the distribution names, or a 404.
    let shared = std::sync::Arc::new(config.clone());
    let named = |name: Option<&str>| {
        let (mut request, _) = request_at(
            "abc.lambda-url.eu-north-1.on.aws",
            "/_edge-auth/refresh",
            &[],
        );
        if let Some(name) = name {
            request.headers.set("X-Edge-Auth-Site", name.to_owned());
        }
        edge_auth_core::sites::config_for(&shared, &request)
    };
    assert_eq!(
        named(Some("status")).unwrap().site.as_deref(),
        Some("status")
    );
    assert_eq!(named(Some("api")).unwrap().site.as_deref(), Some("docs"));
    for name in [None, Some("nowhere"), Some("")] {
        assert_eq!(named(name).unwrap_err().event, "unknown-site");
    }
    // Refresh at the status page does not renew the docs session: a sign-in.
    let status = config.at_site("status").unwrap();
    let mut expired = claims.clone();
    expired.exp = NOW - 10;
    let (request, dist) = request_at(
        "status.example.com",
        "/_edge-auth/refresh",
        &[
            format!("__Host-edge-auth-session={}", kit::signer().sign(&expired)),
            kit::refresh_cookie("rt").replace(&kit::session_claims().sid, &expired.sid),
        ],
    );
    let step = edge_auth_core::refresh::refresh_begin(
        &request,
        &dist,
        &status,
        NOW,
        &mut kit::CountingEntropy(3),
    );
    let edge_auth_core::Step::Done(outcome) = step else {
        panic!("the provider is not asked")
    };
    assert_eq!(outcome.event, "signin-started");
    // The handbook's refresh renews it.
    let step = edge_auth_core::refresh::refresh_begin(
        &request,
        &dist,
        &handbook,
        NOW,
        &mut kit::CountingEntropy(3),
    );
    assert!(matches!(step, edge_auth_core::Step::Call { .. }));
}

#[test]
fn a_table_with_two_sites_on_one_host_or_a_bad_name_is_refused() {
    for (sites, field) in [
        (
            serde_json::json!([{"name": "a", "base_url": "https://x.example.com"}, {"name": "b", "base_url": "https://X.example.com:443"}]),
            "sites[1].base_url",
        ),
        (
            serde_json::json!([{"name": "a", "base_url": "https://x.example.com"}, {"name": "a", "base_url": "https://y.example.com"}]),
            "sites[1].name",
        ),
        (
            serde_json::json!([{"name": "a b", "base_url": "https://x.example.com"}]),
            "sites[0].name",
        ),
        (
            serde_json::json!([{"name": "a", "session": "", "base_url": "https://x.example.com"}]),
            "sites[0].session",
        ),
        (
            serde_json::json!([{"name": "a", "base_url": "http://x.example.com"}]),
            "sites[0].base_url",
        ),
        (
            serde_json::json!([{"name": "a", "base_url": "https://x.example.com/docs"}]),
            "sites[0].base_url",
        ),
        (
            serde_json::json!([{"name": "a", "base_url": "https://x.example.com", "rules": [{"pattern": "/a/*", "groups": []}]}]),
            "sites[0].rules[0].groups",
        ),
        (
            serde_json::json!([{"name": "a", "base_url": "https://x.example.com", "public": ["a"]}]),
            "sites[0].public",
        ),
    ] {
        let mut v = edge_auth_testkit::config_value("https://auth.example.com");
        v["sites"] = sites;
        let error = edge_auth_core::Config::from_json(&v.to_string())
            .unwrap_err()
            .to_string();
        assert!(error.contains(&format!("`{field}`")), "{field}: {error}");
    }
    // Loopback and *.localhost over http: the local stack's sites.
    let mut v = edge_auth_testkit::config_value("https://auth.example.com");
    v["sites"] = serde_json::json!([{"name": "a", "base_url": "http://handbook.localhost:8080"}]);
    assert!(edge_auth_core::Config::from_json(&v.to_string()).is_ok());
}

/// Sign-out at a site of a table ends the user's sessions up to the
/// sign-out (the group's other sites hold sessions issued later than this
/// one); with one site, up to the ended session's issue.
#[test]
fn sign_out_at_a_site_of_a_table_cuts_off_at_the_sign_out() {
    use edge_auth_testkit::{self as kit, NOW};
    let cut = |config: &edge_auth_core::Config| {
        let (mut request, dist) = kit::viewer_request(
            "/_edge-auth/signout",
            "",
            &[format!(
                "__Host-edge-auth-session={}",
                kit::signer().sign(&edge_auth_core::session::SessionClaims {
                    site: config.site.clone(),
                    ..kit::session_claims()
                })
            )],
        );
        request
            .headers
            .set("Sec-Fetch-Site", "same-origin".to_owned());
        let step = edge_auth_core::signout::signout_begin(
            &request,
            &dist,
            config,
            NOW,
            &mut kit::CountingEntropy(1),
        );
        let outcome = match step {
            edge_auth_core::Step::Done(outcome) => outcome,
            edge_auth_core::Step::Call { .. } => panic!("no revocation endpoint here"),
        };
        outcome.revocation.map(|r| r.up_to)
    };
    let mut one = edge_auth_testkit::config_value("https://auth.example.com");
    one["provider"]
        .as_object_mut()
        .unwrap()
        .remove("revocation_endpoint");
    let mut with_table = one.clone();
    with_table["sites"] = serde_json::json!([{"name": "handbook", "base_url": "https://handbook.example.com", "session": "docs"}]);
    let one = kit::config_from(one);
    let table = kit::config_from(with_table).at_site("handbook").unwrap();
    assert_eq!(cut(&one), Some(kit::session_claims().iat));
    assert_eq!(cut(&table), Some(NOW));
}
