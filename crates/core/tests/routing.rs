//! A pool that federates to corporate providers (`provider.routing`): the
//! start sends each sign-in to one of them by the site's default or the
//! visitor's e-mail domain, asking for the address on a page of ours only
//! when more than one provider could apply.

use edge_auth_core::authorize::authorize;
use edge_auth_core::signin::signin_start;
use edge_auth_core::{CloudFrontRequest, CloudFrontResponse, Config, HandlerOutput, Outcome};
use edge_auth_testkit::{self as kit, CountingEntropy, NOW};
use serde_json::{Value, json};

fn value(native: bool) -> Value {
    let mut v = kit::config_value("https://auth.example.com");
    v["provider"]["routing"] = json!({
        "providers": [
            {"name": "Corp", "domains": ["example.com"]},
            {"name": "Partner", "domains": ["partner.test"]}
        ],
        "native": native
    });
    v
}

fn response(outcome: &Outcome) -> &CloudFrontResponse {
    match &outcome.output {
        HandlerOutput::Respond(r) => r,
        HandlerOutput::Forward(r) => panic!("forwarded to {}", r.uri),
    }
}

fn start(config: &Config, query: &str) -> Outcome {
    let request = page("/_edge-auth/start", query);
    signin_start(&request, &dist(), config, NOW, &mut CountingEntropy(1))
}

fn page(uri: &str, query: &str) -> CloudFrontRequest {
    let (mut request, _) = kit::viewer_request(uri, query, &[]);
    request
        .headers
        .set("Sec-Fetch-Site", "same-origin".to_owned());
    request.headers.set("Sec-Fetch-Mode", "navigate".to_owned());
    request
}

fn dist() -> edge_auth_core::DistributionConfig {
    kit::viewer_request("/", "", &[]).1
}

fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let parsed = edge_auth_core::query::parse_query(query).unwrap();
    edge_auth_core::query::single(&parsed, name)
        .unwrap()
        .map(str::to_owned)
}

fn body(outcome: &Outcome) -> String {
    response(outcome).body.clone().unwrap_or_default()
}

/// The provider URL a start answered with: a redirect's Location, or the
/// continue page's refresh target (HTML-escaped once).
fn to_provider(outcome: &Outcome) -> String {
    let r = response(outcome);
    if let Some(location) = r.headers.first("location") {
        return location.to_owned();
    }
    let body = body(outcome);
    let at = body.find("content=\"0;url=").expect("a refresh") + 15;
    body[at..at + body[at..].find('"').unwrap()].replace("&amp;", "&")
}

#[test]
fn more_than_one_provider_asks_for_the_address_then_routes_by_its_domain() {
    let config = kit::config_from(value(true));
    let out = start(&config, "return=%2Fguide%2F");
    assert_eq!(out.status(), Some("200"));
    let page = body(&out);
    assert!(
        page.contains(r#"<form method="get" action="/_edge-auth/start">"#),
        "{page}"
    );
    assert!(page.contains(r#"name="return" value="/guide/""#), "{page}");
    assert!(page.contains(r#"type="email" name="email""#));
    assert!(!page.contains("Error 200"));
    let r = response(&out);
    assert_eq!(
        r.headers.first("content-security-policy"),
        Some(edge_auth_core::pages::FORM_PAGE_CSP)
    );
    // Asking sets nothing: no flow until a provider is known.
    assert_eq!(r.headers.values("set-cookie").count(), 0);
    assert_eq!(out.event, "signin-address-asked");
    assert!(
        r.headers
            .first(edge_auth_core::flow::ADDRESS_PAGE_HEADER)
            .is_none()
    );

    // The form's answer: a page that goes on (a redirect would be held to
    // the form's form-action at every provider on the way), with the flow.
    let out = start(&config, "return=%2Fguide%2F&email=ana%40Example.com");
    assert_eq!(out.status(), Some("200"));
    assert_eq!(out.event, "signin-started");
    assert_eq!(response(&out).headers.values("set-cookie").count(), 1);
    let url = to_provider(&out);
    assert!(
        url.starts_with("https://auth.example.com/oauth2/authorize?"),
        "{url}"
    );
    assert_eq!(param(&url, "identity_provider").as_deref(), Some("Corp"));
    assert_eq!(
        param(&url, "login_hint").as_deref(),
        Some("ana@example.com")
    );

    let url = to_provider(&start(&config, "return=%2F&email=cy%40partner.test"));
    assert_eq!(param(&url, "identity_provider").as_deref(), Some("Partner"));
    // Another domain: the pool's own users.
    let url = to_provider(&start(&config, "return=%2F&email=dee%40elsewhere.org"));
    assert_eq!(param(&url, "identity_provider").as_deref(), Some("COGNITO"));
}

#[test]
fn bad_or_unknown_addresses_are_asked_again_with_a_reason() {
    let config = kit::config_from(value(false));
    for (query, says) in [
        ("return=%2F&email=ana", "not an e-mail address"),
        (
            "return=%2F&email=ana%40example.com%3Cscript%3E",
            "not an e-mail address",
        ),
        (
            "return=%2F&email=a%40example.com&email=b%40example.com",
            "not an e-mail address",
        ),
        (
            "return=%2F&email=dee%40elsewhere.org",
            "Nobody at elsewhere.org",
        ),
    ] {
        let out = start(&config, query);
        assert_eq!(out.status(), Some("400"), "{query}");
        assert_eq!(out.event, "signin-address-refused");
        assert!(
            matches!(out.detail.as_deref(), Some("malformed" | "unknown-domain")),
            "{:?}",
            out.detail
        );
        assert!(!out.detail.as_deref().unwrap_or("").contains('@'));
        let page = body(&out);
        assert!(page.contains(says), "{query}: {page}");
        assert!(!page.contains("<script>"), "{page}");
        assert_eq!(response(&out).headers.values("set-cookie").count(), 0);
    }
}

#[test]
fn a_default_provider_asks_nothing() {
    let mut v = value(true);
    v["provider"]["routing"]["default"] = json!("Partner");
    let config = kit::config_from(v);
    let out = start(&config, "return=%2F");
    assert_eq!(out.status(), Some("302"));
    let url = to_provider(&out);
    assert_eq!(param(&url, "identity_provider").as_deref(), Some("Partner"));
    assert_eq!(param(&url, "login_hint"), None);
}

#[test]
fn without_routing_the_redirect_is_as_before() {
    let config = kit::config_from(kit::config_value("https://auth.example.com"));
    let url = to_provider(&start(&config, "return=%2F&email=ana%40example.com"));
    assert_eq!(param(&url, "identity_provider"), None);
    assert_eq!(param(&url, "login_hint"), None);
}

#[test]
fn a_sign_in_started_elsewhere_asks_at_the_start_path() {
    // Lambda@Edge's authorize starts sign-ins at the page itself: the page
    // that asks is the start path's, whose form may go there.
    let config = kit::config_from(value(true));
    let request = page("/guide/intro.html", "");
    let out = authorize(request, &dist(), &config, NOW, &mut CountingEntropy(1));
    let r = response(&out);
    assert_eq!(r.status, "302");
    assert_eq!(
        r.headers.first("location"),
        Some("/_edge-auth/start?return=%2Fguide%2Fintro.html")
    );
}

#[test]
fn a_site_names_its_own_provider() {
    let mut v = value(true);
    v["sites"] = json!([
        {"name": "handbook", "base_url": "https://handbook.example.com", "identity_provider": "Corp"},
        {"name": "partners", "base_url": "https://partners.example.com"},
    ]);
    let table = kit::config_from(v.clone());
    let handbook = table.at_site("handbook").unwrap();
    let url = to_provider(&start(&handbook, "return=%2F"));
    assert_eq!(param(&url, "identity_provider").as_deref(), Some("Corp"));
    let partners = table.at_site("partners").unwrap();
    assert_eq!(start(&partners, "return=%2F").status(), Some("200"));

    v["sites"][1]["identity_provider"] = json!("Nobody");
    let err = Config::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(err.contains("sites[1].identity_provider"), "{err}");
}

#[test]
fn bad_routing_settings_are_refused_by_name() {
    for (routing, field) in [
        (
            json!({"providers": [{"name": "COGNITO"}]}),
            "provider.routing.providers[0].name",
        ),
        (
            json!({"providers": [{"name": "A", "domains": ["x.com"]}, {"name": "B", "domains": ["x.com"]}]}),
            "provider.routing.providers[1].domains",
        ),
        (
            json!({"providers": [], "native": false}),
            "provider.routing",
        ),
        (
            json!({"providers": [{"name": "A"}], "default": "B"}),
            "provider.routing.default",
        ),
        (
            json!({"providers": [{"name": "A", "domain": ["x.com"]}]}),
            "provider.routing.providers[0]",
        ),
    ] {
        let mut v = kit::config_value("https://auth.example.com");
        v["provider"]["routing"] = routing.clone();
        let err = Config::from_json(&v.to_string()).unwrap_err().to_string();
        assert!(err.contains(field), "{routing}: {err}");
    }
}
