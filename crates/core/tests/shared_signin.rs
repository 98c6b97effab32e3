//! One sign-in across the sites of a group (`sign_in_groups`): a session
//! cookie scoped to the group's parent domain, every sign-in through the
//! group's sign-in site (its callback the one redirect URI), and back to
//! the site that asked, by the name the table gives it.

use edge_auth_core::authorize::authorize_at;
use edge_auth_core::flow::FlowCookie;
use edge_auth_core::provider::ProviderOutcome;
use edge_auth_core::signin::{signin_begin, signin_complete, signin_start};
use edge_auth_core::sites::site_for_host;
use edge_auth_core::{CloudFrontRequest, CloudFrontResponse, Config, HandlerOutput, Outcome, Step};
use edge_auth_testkit::{self as kit, CountingEntropy, NOW};
use serde_json::{Value, json};

/// The handbook and the API reference under docs.example.com share one
/// session, signing in at the handbook; the status page signs in alone.
fn table_value() -> Value {
    let mut v = kit::config_value("https://auth.example.com");
    v["sites"] = json!([
        {"name": "handbook", "base_url": "https://handbook.docs.example.com", "session": "docs",
         "rules": [{"pattern": "/ops/*", "groups": ["readers"]}]},
        {"name": "api", "base_url": "https://api.docs.example.com", "session": "docs",
         "preview_domain": "preview.docs.example.com",
         "rules": [{"pattern": "/private/*", "groups": ["admins"]},
                   {"pattern": "/keys/*", "groups": ["admins"], "max_auth_age_seconds": 300}]},
        {"name": "status", "base_url": "https://status.example.com", "public": ["/"]},
    ]);
    v["sign_in_groups"] =
        json!([{"name": "docs", "domain": "docs.example.com", "sign_in_site": "handbook"}]);
    v
}

fn table() -> Config {
    kit::config_from(table_value())
}

fn response(outcome: &Outcome) -> &CloudFrontResponse {
    match &outcome.output {
        HandlerOutput::Respond(r) => r,
        HandlerOutput::Forward(r) => panic!("forwarded to {}", r.uri),
    }
}

fn location(outcome: &Outcome) -> String {
    response(outcome)
        .headers
        .first("location")
        .expect("a Location")
        .to_owned()
}

fn set_cookie_headers(outcome: &Outcome) -> Vec<String> {
    response(outcome)
        .headers
        .values("set-cookie")
        .map(str::to_owned)
        .collect()
}

/// A page load at `host` (typed into the address bar).
fn at(host: &str, uri: &str, query: &str, cookies: &[String]) -> CloudFrontRequest {
    let (mut request, _) = kit::viewer_request(uri, query, cookies);
    request.headers.set("host", host.to_owned());
    request.headers.set("Sec-Fetch-Site", "none".to_owned());
    request.headers.set("Sec-Fetch-Mode", "navigate".to_owned());
    request
}

fn dist() -> edge_auth_core::DistributionConfig {
    kit::viewer_request("/", "", &[]).1
}

fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let parsed = edge_auth_core::query::parse_query(query).unwrap();
    edge_auth_core::query::single(&parsed, name)
        .unwrap()
        .unwrap_or_else(|| panic!("{name} in {url}"))
        .to_owned()
}

#[test]
fn a_groups_sites_name_the_shared_cookies_and_the_sign_in_site() {
    let config = table();
    let api = config.at_site("api").unwrap();
    assert_eq!(api.cookie_names.session, "__Secure-edge-auth-session");
    assert_eq!(api.cookie_names.user, "__Secure-edge-auth-user");
    assert_eq!(api.cookie_names.domain.as_deref(), Some("docs.example.com"));
    // The flow and sign-out cookies stay on the host that sets them.
    assert!(api.cookie_names.flow_prefix.starts_with("__Host-"));
    assert!(api.cookie_names.signout_confirm.starts_with("__Host-"));
    let shared = api.shared.as_ref().unwrap();
    assert!(shared.elsewhere());
    assert_eq!(shared.sign_in_base, "https://handbook.docs.example.com");
    assert!(
        !config
            .at_site("handbook")
            .unwrap()
            .shared
            .unwrap()
            .elsewhere()
    );
    // Alone: as before.
    let status = config.at_site("status").unwrap();
    assert_eq!(status.cookie_names.session, "__Host-edge-auth-session");
    assert_eq!(status.cookie_names.domain, None);
    assert!(status.shared.is_none());
    // A session of the group carries the groups any of its sites' rules
    // name: it is taken at all of them.
    assert_eq!(
        config.at_site("handbook").unwrap().rule_groups,
        ["admins", "readers"].map(String::from).into()
    );
    // The store's entries of the group's sites name the cookies.
    let entries = edge_auth_core::sites::site_entries(&config, &[kit::session_key_file()]);
    let api_entry: Value = serde_json::from_str(&entries["site:api.docs.example.com"]).unwrap();
    assert_eq!(
        api_entry[4],
        json!(["__Secure-edge-auth-session", "__Secure-edge-auth-user"])
    );
    let status_entry: Value = serde_json::from_str(&entries["site:status.example.com"]).unwrap();
    assert_eq!(status_entry.as_array().unwrap().len(), 4);
    let back = edge_auth_core::sites::SitePolicy::from_entry(&entries["site:api.docs.example.com"])
        .unwrap();
    assert_eq!(back.cookies, config.sites[1].policy.cookies);
    for bad in [
        r#"["docs",[],[],{},["a"]]"#,
        r#"["docs",[],[],{},["a b","c"]]"#,
        r#"["docs",[],[],{},"x"]"#,
        r#"["docs",[],[],{},["a","b"],1]"#,
    ] {
        assert!(
            edge_auth_core::sites::SitePolicy::from_entry(bad).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn a_group_that_cannot_share_a_cookie_is_refused_by_name() {
    let group = |g: Value| {
        let mut v = table_value();
        v["sign_in_groups"] = g;
        Config::from_json(&v.to_string())
            .err()
            .map(|e| e.to_string())
    };
    for (groups, field, words) in [
        (
            json!([{"name": "nobody", "domain": "docs.example.com", "sign_in_site": "handbook"}]),
            "sign_in_groups[0].name",
            "no site has",
        ),
        (
            json!([{"name": "docs", "domain": "example.org", "sign_in_site": "handbook"}]),
            "sign_in_groups[0].domain",
            "is not under",
        ),
        // A domain of one label, or upper case, or a host with a port.
        (
            json!([{"name": "docs", "domain": "com", "sign_in_site": "handbook"}]),
            "sign_in_groups[0].domain",
            "two labels",
        ),
        (
            json!([{"name": "docs", "domain": "Docs.example.com", "sign_in_site": "handbook"}]),
            "sign_in_groups[0].domain",
            "lower-case",
        ),
        (
            json!([{"name": "docs", "domain": "docs.example.com:443", "sign_in_site": "handbook"}]),
            "sign_in_groups[0].domain",
            "lower-case",
        ),
        (
            json!([{"name": "docs", "domain": ".example.com", "sign_in_site": "handbook"}]),
            "sign_in_groups[0].domain",
            "lower-case",
        ),
        (
            json!([{"name": "docs", "domain": "docs.example.com", "sign_in_site": "status"}]),
            "sign_in_groups[0].sign_in_site",
            "not a site of the group",
        ),
        (
            json!([{"name": "docs", "domain": "docs.example.com", "sign_in_site": "handbook"},
                   {"name": "docs", "domain": "other.example.com", "sign_in_site": "handbook"}]),
            "sign_in_groups[1].name",
            "names two groups",
        ),
        (
            json!([{"name": "docs", "domain": "docs.example.com", "sign_in_site": "handbook"},
                   {"name": "status", "domain": "example.com", "sign_in_site": "status"}]),
            "sign_in_groups[1].domain",
            "overlap",
        ),
        (
            json!([{"name": "docs", "domain": "docs.example.com", "sign_in_site": "handbook", "extra": 1}]),
            "sign_in_groups[0].extra",
            "unknown field",
        ),
    ] {
        let error = group(groups).expect(field);
        assert!(
            error.contains(&format!("`{field}`")) && error.contains(words),
            "{field}: {error}"
        );
    }
    // Without a table: refused.
    let mut v = kit::config_value("https://auth.example.com");
    v["sign_in_groups"] =
        json!([{"name": "docs", "domain": "docs.example.com", "sign_in_site": "handbook"}]);
    assert!(
        Config::from_json(&v.to_string())
            .unwrap_err()
            .to_string()
            .contains("`sign_in_groups`")
    );
}

/// A page of the API reference without a session: its start hands the
/// sign-in to the handbook, which signs in and sends the browser back to
/// the API reference with a cookie for the whole group.
#[test]
fn a_sign_in_goes_through_the_groups_sign_in_site_and_back() {
    let config = table();
    let api = config.at_site("api").unwrap();
    let handbook = config.at_site("handbook").unwrap();

    // 1. The function sends the page load to the API reference's start.
    let page = at("api.docs.example.com", "/private/notes.html", "", &[]);
    let site = site_for_host(&config, page.headers.first("host"));
    let out = authorize_at(page, &dist(), &config, site, NOW, &mut CountingEntropy(1));
    assert_eq!(out.event, "signin-started");
    let start = location(&out);
    assert_eq!(start, "/_edge-auth/start?return=%2Fprivate%2Fnotes.html");

    // 2. Its start: to the handbook's, naming the site and the page; no
    //    cookie is set here (the flow belongs to the handbook's host).
    let request = at(
        "api.docs.example.com",
        "/_edge-auth/start",
        "return=%2Fprivate%2Fnotes.html",
        &[],
    );
    let out = signin_start(&request, &dist(), &api, NOW, &mut CountingEntropy(2));
    assert_eq!(out.status(), Some("302"));
    assert_eq!(
        location(&out),
        "https://handbook.docs.example.com/_edge-auth/start?site=api&return=%2Fprivate%2Fnotes.html"
    );
    assert!(set_cookie_headers(&out).is_empty());

    // 3. The handbook's start: a flow of its own (host-only), naming the
    //    API reference; the redirect URI is the handbook's.
    let mut request = at(
        "handbook.docs.example.com",
        "/_edge-auth/start",
        "site=api&return=%2Fprivate%2Fnotes.html",
        &[],
    );
    request
        .headers
        .set("Sec-Fetch-Site", "same-site".to_owned());
    let out = signin_start(&request, &dist(), &handbook, NOW, &mut CountingEntropy(3));
    assert_eq!(out.event, "signin-started");
    let to_provider = location(&out);
    assert!(
        to_provider.starts_with("https://auth.example.com/oauth2/authorize?"),
        "{to_provider}"
    );
    assert_eq!(
        query_param(&to_provider, "redirect_uri"),
        "https://handbook.docs.example.com/_edge-auth/callback"
    );
    let cookies = set_cookie_headers(&out);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let flow_cookie = &cookies[0];
    assert!(
        flow_cookie.starts_with("__Host-edge-auth-flow-") && !flow_cookie.contains("Domain"),
        "{flow_cookie}"
    );
    let (name, value) = flow_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap();
    let flow = FlowCookie::decode(value).unwrap();
    assert_eq!(flow.site.as_deref(), Some("api"));
    assert_eq!(flow.return_to, "/private/notes.html");
    let state = query_param(&to_provider, "state");

    // 4. The callback at the handbook: the group's cookies, for the
    //    parent domain, and back to the API reference's page.
    let callback = at(
        "handbook.docs.example.com",
        "/_edge-auth/callback",
        &format!("code=c0de&state={state}"),
        &[format!("{name}={value}")],
    );
    let Step::Call { pending, .. } = signin_begin(&callback, &dist(), &handbook, NOW + 2) else {
        panic!("the code is exchanged")
    };
    let id = kit::id_token()
        .claim("nonce", flow.nonce.clone())
        .claim("cognito:groups", json!(["admins"]))
        .sign();
    let body = json!({"id_token": id, "refresh_token": "rt.part.two", "token_type": "Bearer", "expires_in": 3600});
    let out = signin_complete(
        pending,
        &handbook,
        kit::keys(&handbook),
        NOW + 3,
        &mut CountingEntropy(4),
        &ProviderOutcome::Answered {
            status: 200,
            body: body.to_string().into_bytes(),
        },
    );
    assert_eq!(out.event, "signed-in");
    assert_eq!(
        location(&out),
        "https://api.docs.example.com/private/notes.html"
    );
    let set = set_cookie_headers(&out);
    let session = set
        .iter()
        .find(|c| c.starts_with("__Secure-edge-auth-session="))
        .expect("the group's session");
    for cookie in set.iter().filter(|c| !c.contains("flow-")) {
        assert!(
            cookie.contains("Domain=docs.example.com") && cookie.contains("Secure"),
            "{cookie}"
        );
    }
    assert!(
        set.iter()
            .any(|c| c.starts_with("__Secure-edge-auth-refresh=") && c.contains("Path=/_edge-auth"))
    );
    assert!(
        !set.iter()
            .any(|c| c.starts_with("__Host-edge-auth-session"))
    );
    let token = session
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Secure-edge-auth-session=");

    // 5. The cookie opens the API reference's page, and the handbook's;
    //    not the status page (another group), nor under the `__Host-`
    //    name at a site of the group.
    let decide = |host: &str, uri: &str, cookie: String| {
        let page = at(host, uri, "", &[cookie]);
        let site = site_for_host(&config, page.headers.first("host"));
        authorize_at(
            page,
            &dist(),
            &config,
            site,
            NOW + 4,
            &mut CountingEntropy(5),
        )
        .event
    };
    let shared = format!("__Secure-edge-auth-session={token}");
    assert_eq!(
        decide(
            "api.docs.example.com",
            "/private/notes.html",
            shared.clone()
        ),
        "allowed-by-rule"
    );
    assert_eq!(
        decide("handbook.docs.example.com", "/", shared.clone()),
        "allowed"
    );
    assert_eq!(
        decide(
            "status.example.com",
            "/admin/",
            shared.replace("__Secure-", "__Host-")
        ),
        "signin-started"
    );
    assert_eq!(
        decide(
            "api.docs.example.com",
            "/private/notes.html",
            format!("__Host-edge-auth-session={token}")
        ),
        "signin-started"
    );
}

#[test]
fn a_start_naming_a_site_the_sign_in_site_does_not_sign_in_for_is_refused() {
    let config = table();
    let handbook = config.at_site("handbook").unwrap();
    let api = config.at_site("api").unwrap();
    let start = |config: &Config, query: &str| {
        let request = at("handbook.docs.example.com", "/_edge-auth/start", query, &[]);
        signin_start(&request, &dist(), config, NOW, &mut CountingEntropy(1))
    };
    for query in [
        "site=status&return=%2F",
        "site=nowhere&return=%2F",
        "site=https%3A%2F%2Fevil.example&return=%2F",
        "site=api&site=api&return=%2F",
        "site=&return=%2F",
    ] {
        let out = start(&handbook, query);
        assert_eq!(
            (out.status(), out.event),
            (Some("400"), "bad-signin-start"),
            "{query}"
        );
        assert!(set_cookie_headers(&out).is_empty(), "{query}");
    }
    // Only the sign-in site takes a handed-over sign-in.
    let out = start(&api, "site=handbook&return=%2F");
    assert_eq!(out.event, "bad-signin-start");
    // The return path is a path on the named site, never another host.
    let out = start(&handbook, "site=api&return=%2F%2Fevil.example%2F");
    let value = set_cookie_headers(&out)[0].clone();
    let value = value.split(';').next().unwrap().split_once('=').unwrap().1;
    assert_eq!(FlowCookie::decode(value).unwrap().return_to, "/");
    // A site's own sign-in (no `site=`) at the sign-in site: as before.
    let out = start(&handbook, "return=%2Fops%2F");
    let value = set_cookie_headers(&out)[0].clone();
    let value = value.split(';').next().unwrap().split_once('=').unwrap().1;
    assert_eq!(FlowCookie::decode(value).unwrap().site, None);
}

/// A page of the API reference whose rule asks for a recent sign-in: the
/// handbook asks the provider for it (the API reference's rules decide,
/// not the handbook's).
#[test]
fn a_handed_over_sign_in_asks_for_what_the_asking_sites_rule_needs() {
    let config = table();
    let handbook = config.at_site("handbook").unwrap();
    let request = at(
        "handbook.docs.example.com",
        "/_edge-auth/start",
        "site=api&return=%2Fkeys%2Fa",
        &[],
    );
    let out = signin_start(&request, &dist(), &handbook, NOW, &mut CountingEntropy(1));
    let to_provider = location(&out);
    assert_eq!(query_param(&to_provider, "max_age"), "300");
    assert_eq!(query_param(&to_provider, "prompt"), "login");
    // The same path of the handbook asks nothing.
    let request = at(
        "handbook.docs.example.com",
        "/_edge-auth/start",
        "return=%2Fkeys%2Fa",
        &[],
    );
    let out = signin_start(&request, &dist(), &handbook, NOW, &mut CountingEntropy(1));
    assert!(!location(&out).contains("max_age"));
}

/// Sign-out at any site of the group clears the group's cookies for the
/// parent domain (so on every site of it) and revokes the user's sessions.
#[test]
fn sign_out_at_a_site_of_the_group_clears_the_groups_cookies() {
    let config = table();
    let api = config.at_site("api").unwrap();
    let claims = edge_auth_core::session::SessionClaims {
        site: Some("docs".into()),
        ..kit::session_claims()
    };
    let mut request = at(
        "api.docs.example.com",
        "/_edge-auth/signout",
        "",
        &[format!(
            "__Secure-edge-auth-session={}",
            kit::signer().sign(&claims)
        )],
    );
    request
        .headers
        .set("Sec-Fetch-Site", "same-origin".to_owned());
    let step = edge_auth_core::signout::signout_begin(
        &request,
        &dist(),
        &api,
        NOW,
        &mut CountingEntropy(1),
    );
    let out = match step {
        Step::Done(out) => out,
        Step::Call { .. } => panic!("no revocation endpoint call expected first"),
    };
    let set = set_cookie_headers(&out);
    for name in [
        "__Secure-edge-auth-session=;",
        "__Secure-edge-auth-user=;",
        "__Secure-edge-auth-refresh=;",
    ] {
        assert!(
            set.iter().any(|c| c.starts_with(name)
                && c.contains("Domain=docs.example.com")
                && c.contains("Max-Age=0")),
            "{name} not cleared for the domain: {set:?}"
        );
    }
    assert_eq!(out.revocation.map(|r| r.sub), Some(claims.sub));
}

/// A branch's preview of the API reference (`feature-x.preview.docs.example.com`):
/// its store entry is the site's with the branch's prefix and a start at
/// the group's sign-in site naming the branch; its pages come from the
/// branch's prefix; its sign-in comes back to the preview.
#[test]
fn a_branchs_preview_serves_its_prefix_and_signs_in_through_the_sign_in_site() {
    use edge_auth_core::function_probe::function_answer_at;
    use edge_auth_core::sites::{PreviewError, SitePolicy, preview_entry};
    let config = table();
    let keys = [kit::session_key_file()];
    let (key, value) = preview_entry(&config, "api", "feature-x", &keys).unwrap();
    assert_eq!(key, "site:feature-x.preview.docs.example.com");
    let entry = SitePolicy::from_entry(&value).unwrap();
    let preview = entry.preview.clone().unwrap();
    assert_eq!(preview.prefix, "/feature-x");
    assert_eq!(
        preview.start,
        "https://handbook.docs.example.com/_edge-auth/start?site=api&branch=feature-x"
    );
    assert_eq!(entry.id, "docs");
    assert_eq!(entry.cookies, config.sites[1].policy.cookies);
    // Only a site with previews, only a branch's name.
    assert_eq!(
        preview_entry(&config, "status", "x", &keys),
        Err(PreviewError::NoPreviews("status".into()))
    );
    for bad in ["", "Feature", "-x", "x-", "a.b", "a_b", &"x".repeat(64)] {
        assert!(
            matches!(
                preview_entry(&config, "api", bad, &keys),
                Err(PreviewError::Branch(_))
            ),
            "{bad}"
        );
    }
    // A damaged preview in an entry is no entry.
    for bad in [
        r#"["docs",[],[],{},["a","b"],["/x","https://h/_edge-auth/start?site=api&branch=y"]]"#,
        r#"["docs",[],[],{},["a","b"],["x","https://h/_edge-auth/start?site=api&branch=x"]]"#,
        r#"["docs",[],[],{},["a","b"],["/x","javascript:alert(1)&branch=x"]]"#,
        r#"["docs",[],[],{},["a","b"],["/x"]]"#,
    ] {
        assert!(SitePolicy::from_entry(bad).is_err(), "{bad}");
    }

    // The function's answers at the preview's host, as the core decides them.
    let host = "feature-x.preview.docs.example.com";
    let decide = |uri: &str, cookies: &[String]| {
        let page = at(host, uri, "", cookies);
        function_answer_at(page, &dist(), &config, Some(&entry), NOW).0
    };
    let location_of = |output: &HandlerOutput| match output {
        HandlerOutput::Respond(r) => (
            r.status.clone(),
            r.headers.first("location").unwrap_or("").to_owned(),
        ),
        HandlerOutput::Forward(r) => ("forward".into(), r.uri.clone()),
    };
    assert_eq!(
        location_of(&decide("/private/", &[])),
        (
            "302".into(),
            "https://handbook.docs.example.com/_edge-auth/start?site=api&branch=feature-x&return=%2Fprivate%2F".into()
        )
    );
    let claims = edge_auth_core::session::SessionClaims {
        site: Some("docs".into()),
        groups: vec!["admins".into()],
        ..kit::session_claims()
    };
    let session = format!("__Secure-edge-auth-session={}", kit::signer().sign(&claims));
    assert_eq!(
        location_of(&decide("/private/", std::slice::from_ref(&session))),
        ("forward".into(), "/feature-x/private/index.html".into())
    );
    assert_eq!(
        location_of(&decide("/private", std::slice::from_ref(&session))),
        ("301".into(), "/private/".into())
    );
    // Expired: to the sign-in site's start too (the refresh endpoint of a
    // preview host answers as its site, whose address is not the preview's).
    let expired = edge_auth_core::session::SessionClaims {
        exp: NOW - 5,
        ..claims.clone()
    };
    let stale = format!(
        "__Secure-edge-auth-session={}",
        kit::signer().sign(&expired)
    );
    let (status, to) = location_of(&decide("/private/", &[stale]));
    assert_eq!(status, "302");
    assert!(to.starts_with(&preview.start), "{to}");

    // The sign-in site's start for the branch, and back to the preview.
    let handbook = config.at_site("handbook").unwrap();
    let request = at(
        "handbook.docs.example.com",
        "/_edge-auth/start",
        "site=api&branch=feature-x&return=%2Fprivate%2F",
        &[],
    );
    let out = signin_start(&request, &dist(), &handbook, NOW, &mut CountingEntropy(3));
    assert_eq!(out.event, "signin-started");
    let cookie = set_cookie_headers(&out)[0].clone();
    let (name, value) = cookie.split(';').next().unwrap().split_once('=').unwrap();
    let flow = FlowCookie::decode(value).unwrap();
    assert_eq!(
        (flow.site.as_deref(), flow.branch.as_deref()),
        (Some("api"), Some("feature-x"))
    );
    let state = query_param(&location(&out), "state");
    let callback = at(
        "handbook.docs.example.com",
        "/_edge-auth/callback",
        &format!("code=c0de&state={state}"),
        &[format!("{name}={value}")],
    );
    let Step::Call { pending, .. } = signin_begin(&callback, &dist(), &handbook, NOW + 1) else {
        panic!("the code is exchanged")
    };
    let id = kit::id_token().claim("nonce", flow.nonce.clone()).sign();
    let out = signin_complete(
        pending,
        &handbook,
        kit::keys(&handbook),
        NOW + 2,
        &mut CountingEntropy(4),
        &ProviderOutcome::Answered {
            status: 200,
            body: json!({"id_token": id, "token_type": "Bearer"})
                .to_string()
                .into_bytes(),
        },
    );
    assert_eq!(out.event, "signed-in");
    assert_eq!(
        location(&out),
        "https://feature-x.preview.docs.example.com/private/"
    );

    // A branch of a site without previews, a branch that is no branch's
    // name, a branch without its site: refused, nothing built from them.
    for query in [
        "site=handbook&branch=feature-x&return=%2F",
        "site=api&branch=Feature.X&return=%2F",
        "site=api&branch=evil.example%2F&return=%2F",
        "branch=feature-x&return=%2F",
        "site=api&branch=a&branch=b&return=%2F",
    ] {
        let request = at("handbook.docs.example.com", "/_edge-auth/start", query, &[]);
        let out = signin_start(&request, &dist(), &handbook, NOW, &mut CountingEntropy(5));
        assert_eq!(out.event, "bad-signin-start", "{query}");
    }
}

#[test]
fn a_preview_domain_must_be_a_groups_and_under_its_domain() {
    let with_preview = |site: usize, domain: &str| {
        let mut v = table_value();
        v["sites"][site]["preview_domain"] = json!(domain);
        Config::from_json(&v.to_string())
            .err()
            .map(|e| e.to_string())
    };
    assert_eq!(with_preview(1, "preview.docs.example.com"), None);
    for (site, domain, words) in [
        (
            2,
            "preview.status.example.com",
            "needs a sign-in group with a domain",
        ),
        (
            1,
            "preview.example.org",
            "is not under the group's `docs.example.com`",
        ),
        (1, "Preview.docs.example.com", "lower-case"),
        (1, "preview.docs.example.com:443", "lower-case"),
        // Every host under it is a branch: no site's host may be one.
        (1, "docs.example.com", "is not under"),
    ] {
        let error = with_preview(site, domain).expect(domain);
        assert!(
            error.contains(&format!("`sites[{site}].preview_domain`")) && error.contains(words),
            "{domain}: {error}"
        );
    }
    // Two sites' previews under one domain: refused.
    let mut v = table_value();
    v["sites"][0]["preview_domain"] = json!("preview.docs.example.com");
    let error = Config::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(error.contains("is site `api`'s too"), "{error}");
    // A site's host under a preview domain would be taken for a branch.
    let mut v = table_value();
    v["sites"][1]["preview_domain"] = json!("x.docs.example.com");
    v["sites"][0]["base_url"] = json!("https://handbook.x.docs.example.com");
    let error = Config::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(error.contains("is site `handbook`'s too"), "{error}");
}
