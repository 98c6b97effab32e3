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
