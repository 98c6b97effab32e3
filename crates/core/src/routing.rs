//! Which identity provider a sign-in goes to, when the deployment's
//! provider (a Cognito pool) federates to several: the site's own default,
//! else the one whose e-mail domains hold the visitor's address, asked for
//! on a small page of ours only when more than one could apply. What is
//! sent is Cognito's `identity_provider` (the provider's name in the pool)
//! and `login_hint` (the address), so nobody picks from a list of names.
//!
//! No I/O: [`choose`] maps the settings and the address (if one was typed)
//! to a [`Route`]; `flow::start_signin_with_prompt` turns it into a page
//! or the provider's redirect.

use serde::{Deserialize, Serialize};

/// The pool's own users' provider name in Cognito's `identity_provider`.
pub const NATIVE: &str = "COGNITO";

/// The longest address read (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;

/// `provider.routing` in config.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// The providers the pool federates to, each with the e-mail domains
    /// that sign in there.
    #[serde(default)]
    pub providers: Vec<RoutedProvider>,
    /// The pool's own users sign in too (`COGNITO`): an address no
    /// provider claims goes there instead of being refused.
    #[serde(default = "yes")]
    pub native: bool,
    /// Where every sign-in goes without asking (a site's
    /// `identity_provider` sets it for that site).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl Default for Routing {
    fn default() -> Self {
        Routing {
            providers: Vec::new(),
            native: true,
            default: None,
        }
    }
}

fn yes() -> bool {
    true
}

impl Routing {
    pub fn is_plain(&self) -> bool {
        *self == Routing::default()
    }

    /// Whether `name` is a provider a sign-in may be sent to.
    pub fn knows(&self, name: &str) -> bool {
        (self.native && name == NATIVE) || self.providers.iter().any(|p| p.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutedProvider {
    /// The provider's name in the pool (`identity_provider=`).
    pub name: String,
    /// Lower-case domains; an address at one of them, or under one
    /// (`eu.example.com` under `example.com`), signs in here.
    #[serde(default)]
    pub domains: Vec<String>,
}

/// Where the sign-in goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// To the provider as it always did: no `identity_provider` (a
    /// deployment without federation, or with the pool's users alone).
    Plain,
    /// To this provider, with the address typed if there was one.
    Provider {
        name: String,
        login_hint: Option<String>,
    },
    /// A page asks for the address first; with what was wrong with the
    /// one typed, if one was.
    AskEmail { problem: Option<EmailProblem> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailProblem {
    /// Not an address: `name@domain`.
    Malformed,
    /// No provider signs in people of this domain (and the pool's own
    /// users do not sign in).
    UnknownDomain(String),
}

impl EmailProblem {
    /// What the page says.
    pub fn message(&self) -> String {
        match self {
            EmailProblem::Malformed => {
                "That is not an e-mail address. Please type your work address, such as name@example.com."
                    .to_owned()
            }
            EmailProblem::UnknownDomain(domain) => format!(
                "Nobody at {domain} signs in to this site. Please use your work address, or ask whoever runs this site to add your organisation."
            ),
        }
    }
}

/// The route of a sign-in at a site whose default provider is
/// `site_default` (else the deployment's), for the address `email` typed
/// on the page (`None`: none was).
pub fn choose(routing: &Routing, site_default: Option<&str>, email: Option<&str>) -> Route {
    if routing.providers.is_empty() {
        return Route::Plain;
    }
    if let Some(name) = site_default.or(routing.default.as_deref()) {
        return Route::Provider {
            name: name.to_owned(),
            login_hint: None,
        };
    }
    let Some(email) = email else {
        let candidates = routing.providers.len() + usize::from(routing.native);
        return match (candidates, routing.providers.first()) {
            (1, Some(only)) => Route::Provider {
                name: only.name.clone(),
                login_hint: None,
            },
            _ => Route::AskEmail { problem: None },
        };
    };
    let Some((address, domain)) = parse_email(email) else {
        return Route::AskEmail {
            problem: Some(EmailProblem::Malformed),
        };
    };
    let found = routing.providers.iter().find(|p| {
        p.domains.iter().any(|d| {
            domain == *d
                || domain
                    .strip_suffix(d.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    });
    match found {
        Some(provider) => Route::Provider {
            name: provider.name.clone(),
            login_hint: Some(address),
        },
        None if routing.native => Route::Provider {
            name: NATIVE.to_owned(),
            login_hint: Some(address),
        },
        None => Route::AskEmail {
            problem: Some(EmailProblem::UnknownDomain(domain)),
        },
    }
}

/// `name@domain` with surrounding spaces trimmed: the address (its domain
/// in lower case) and the domain. `None` for anything else: no `@`, two,
/// an empty part, a domain that is not a host name, a control character,
/// longer than [`MAX_EMAIL`].
pub fn parse_email(text: &str) -> Option<(String, String)> {
    let text = text.trim();
    if text.len() > MAX_EMAIL || text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let (local, domain) = text.split_once('@')?;
    if local.is_empty() || local.len() > 64 || domain.contains('@') {
        return None;
    }
    let domain = domain.to_ascii_lowercase();
    is_domain(&domain).then(|| (format!("{local}@{domain}"), domain))
}

/// A lower-case DNS name of two labels or more: letters, digits and `-`,
/// no label empty, starting or ending with `-`, or longer than 63.
pub fn is_domain(domain: &str) -> bool {
    domain.len() <= 253
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// `provider.routing` checked: names unique and not Cognito's own,
/// domains plain and each claimed by one provider, the default a provider
/// a sign-in may go to. The message names the field.
pub fn check(routing: &Routing) -> Result<(), (String, String)> {
    let mut domains: Vec<(&str, &str)> = Vec::new();
    for (i, p) in routing.providers.iter().enumerate() {
        let field = format!("provider.routing.providers[{i}]");
        if p.name.is_empty() || p.name.len() > 32 || p.name == NATIVE {
            return Err((
                format!("{field}.name"),
                format!("{:?}: 1 to 32 characters, not {NATIVE}", p.name),
            ));
        }
        if routing.providers[..i].iter().any(|q| q.name == p.name) {
            return Err((format!("{field}.name"), format!("{} twice", p.name)));
        }
        for d in &p.domains {
            if !is_domain(d) {
                return Err((
                    format!("{field}.domains"),
                    format!("{d:?}: a lower-case domain such as example.com"),
                ));
            }
            if let Some((_, other)) = domains.iter().find(|(e, _)| e == d) {
                return Err((
                    format!("{field}.domains"),
                    format!("{d} is {other}'s already: an address must lead to one provider"),
                ));
            }
            domains.push((d, &p.name));
        }
    }
    if routing.providers.is_empty() && !routing.native {
        return Err((
            "provider.routing".into(),
            "without the pool's own users, name a provider to sign in at".into(),
        ));
    }
    if let Some(name) = &routing.default
        && !routing.knows(name)
    {
        return Err((
            "provider.routing.default".into(),
            format!("{name}: not a provider of provider.routing"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing(native: bool) -> Routing {
        Routing {
            providers: vec![
                RoutedProvider {
                    name: "Corp".into(),
                    domains: vec!["example.com".into()],
                },
                RoutedProvider {
                    name: "Partner".into(),
                    domains: vec!["partner.example".into(), "partner.test".into()],
                },
            ],
            native,
            default: None,
        }
    }

    fn to(name: &str, hint: Option<&str>) -> Route {
        Route::Provider {
            name: name.into(),
            login_hint: hint.map(Into::into),
        }
    }

    #[test]
    fn without_providers_nothing_changes() {
        assert_eq!(
            choose(&Routing::default(), None, Some("a@b.com")),
            Route::Plain
        );
    }

    #[test]
    fn the_address_chooses_the_provider() {
        let r = routing(true);
        assert_eq!(choose(&r, None, None), Route::AskEmail { problem: None });
        assert_eq!(
            choose(&r, None, Some(" Ana@Example.COM ")),
            to("Corp", Some("Ana@example.com"))
        );
        assert_eq!(
            choose(&r, None, Some("bo@eu.example.com")),
            to("Corp", Some("bo@eu.example.com"))
        );
        // A domain that merely ends like one is not under it.
        assert_eq!(
            choose(&r, None, Some("eve@badexample.com")),
            to(NATIVE, Some("eve@badexample.com"))
        );
        assert_eq!(
            choose(&r, None, Some("cy@partner.test")),
            to("Partner", Some("cy@partner.test"))
        );
    }

    #[test]
    fn a_default_asks_nothing() {
        let r = routing(true);
        assert_eq!(
            choose(&r, Some("Partner"), Some("x@example.com")),
            to("Partner", None)
        );
        let mut r = routing(false);
        r.default = Some("Corp".into());
        assert_eq!(choose(&r, None, None), to("Corp", None));
    }

    #[test]
    fn one_provider_alone_asks_nothing() {
        let mut r = routing(false);
        r.providers.truncate(1);
        assert_eq!(choose(&r, None, None), to("Corp", None));
        r.native = true;
        assert_eq!(choose(&r, None, None), Route::AskEmail { problem: None });
    }

    #[test]
    fn bad_addresses_are_asked_again() {
        let r = routing(false);
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "a@b@example.com",
            "ana@example",
            "ana@exa mple.com",
            "ana@-x.com",
            "ana@x..com",
            "ana@ex_ample.com",
            "a\u{0}@example.com",
        ] {
            assert_eq!(
                choose(&r, None, Some(bad)),
                Route::AskEmail {
                    problem: Some(EmailProblem::Malformed)
                },
                "{bad:?}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(matches!(
            choose(&r, None, Some(&long)),
            Route::AskEmail { .. }
        ));
        assert_eq!(
            choose(&r, None, Some("ana@elsewhere.org")),
            Route::AskEmail {
                problem: Some(EmailProblem::UnknownDomain("elsewhere.org".into()))
            }
        );
    }

    #[test]
    fn the_check_names_the_field() {
        assert!(check(&routing(true)).is_ok());
        let mut r = routing(true);
        r.providers[1].domains.push("example.com".into());
        assert_eq!(
            check(&r).unwrap_err().0,
            "provider.routing.providers[1].domains"
        );
        let mut r = routing(true);
        r.providers[0].name = NATIVE.into();
        assert!(check(&r).unwrap_err().1.contains("not COGNITO"));
        let mut r = routing(true);
        r.providers[1].name = "Corp".into();
        assert!(check(&r).is_err());
        let mut r = routing(true);
        r.providers[0].domains = vec!["Example.com".into()];
        assert!(check(&r).is_err());
        let mut r = routing(false);
        r.default = Some(NATIVE.into());
        assert_eq!(check(&r).unwrap_err().0, "provider.routing.default");
        let r = Routing {
            native: false,
            ..Routing::default()
        };
        assert!(check(&r).is_err());
    }
}
