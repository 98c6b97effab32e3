//! `edge-auth-dev`: the protected site on a laptop, no AWS account needed.
//!
//! Serves `site/` on 127.0.0.1 through the real handlers, arranged as the
//! distribution template arranges them, with a development identity
//! provider on a second port (or an external OpenID provider by its
//! discovery URL). `edge-auth-dev --help` lists the options.

mod cli;
mod cloudfront;
mod federation;
mod idp;
mod request_log;
mod viewer_function;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use edge_auth_core::Config;
use edge_auth_lambda::HandlerKind;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use cli::Options;
use cloudfront::{Answer, Distribution, ViewerRequest, handler_state};
use idp::{DevIdp, IdpRequest, IdpSettings, User};

/// A redirect to the same path on the site's own address, for a request
/// that names another host for this server (`localhost`, `[::1]`).
fn to_site_address(
    site: &str,
    headers: &[(String, String)],
    path: &str,
    query: &str,
) -> Option<Answer> {
    let host = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.as_str())?;
    let own = site.split("://").nth(1).unwrap_or("");
    if host.eq_ignore_ascii_case(own) {
        return None;
    }
    // Only the path and query the request sent, and only a path: nothing
    // else of the request goes into the Location.
    if !path.starts_with('/') || path.starts_with("//") {
        return None;
    }
    let location = if query.is_empty() {
        format!("{site}{path}")
    } else {
        format!("{site}{path}?{query}")
    };
    Some(Answer {
        status: 307,
        headers: vec![
            ("location".into(), location),
            ("cache-control".into(), "no-store".into()),
        ],
        body: Vec::new(),
    })
}

/// A site's name on this machine: `<name>`, or `<name>.<group>` for a
/// sign-in group sharing its session across a parent domain, which is
/// `<group>.localhost` here (its cookie's `Domain`).
fn local_label(o: &Options, site: &cli::LocalSite) -> String {
    match &site.session {
        Some(group) if o.groups.iter().any(|g| g.name == *group) => {
            format!("{}.{group}", site.name)
        }
        _ => site.name.clone(),
    }
}

/// A site's previews' domain here: `<name>-preview.<group>.localhost`,
/// under its group's (`[sites.preview]` needs a group with a domain).
fn local_preview_domain(o: &Options, site: &cli::LocalSite) -> Option<String> {
    let group = site.session.as_ref()?;
    (site.preview && o.groups.iter().any(|g| g.name == *group))
        .then(|| format!("{}-preview.{group}.localhost", site.name))
}

/// A branch's preview's address on this server.
fn preview_address(server: &str, o: &Options, preview: &cli::LocalPreview) -> Option<String> {
    let site = o.sites.iter().find(|s| s.name == preview.site)?;
    let domain = local_preview_domain(o, site)?;
    let port = server.rsplit(':').next().unwrap_or("");
    Some(format!("http://{}.{domain}:{port}", preview.branch))
}

/// Whether a site signs in at its own address: alone, or its group's
/// sign-in site (the others hand their sign-ins over, and the provider
/// knows only the sign-in site's callback, as the deploy registers).
fn signs_in_itself(o: &Options, site: &cli::LocalSite) -> bool {
    o.groups
        .iter()
        .find(|g| site.session.as_deref() == Some(g.name.as_str()))
        .is_none_or(|g| g.sign_in_site == site.name)
}

/// A site of the table on this server: `http://<label>.localhost:<port>`
/// (`server` is `http://127.0.0.1:<port>`).
fn table_site_address(server: &str, name: &str) -> String {
    let port = server.rsplit(':').next().unwrap_or("");
    format!("http://{name}.localhost:{port}")
}

fn random_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 24];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// config.json for the handlers, exactly as the deploy tool would write it.
fn handler_config(
    o: &Options,
    site: &str,
    provider: &Value,
    jwks: Value,
    secret_file: Option<&str>,
    client_id: &str,
    session_keys: (&edge_auth_core::session::SessionKeySet, &str),
) -> Value {
    let logout = match (
        &o.discovery,
        &o.cognito_domain,
        provider.get("end_session_endpoint"),
    ) {
        (None, _, _) => {
            json!({"kind": "cognito", "url": format!("{}/logout", provider["issuer"].as_str().unwrap_or(""))})
        }
        (Some(_), Some(domain), _) => {
            json!({"kind": "cognito", "url": format!("{}/logout", domain.trim_end_matches('/'))})
        }
        (Some(_), None, Some(end)) => json!({"kind": "oidc", "url": end}),
        (Some(_), None, None) => json!({"kind": "none"}),
    };
    let mut provider_settings = json!({
        "issuer": provider["issuer"],
        "client_id": client_id,
        "authorization_endpoint": provider["authorization_endpoint"],
        "token_endpoint": provider["token_endpoint"],
        "logout": logout,
        "jwks": jwks,
        "jwks_uri": provider["jwks_uri"],
        "groups_claim": o.groups_claim,
        "group_names": o.group_names,
        "clock_skew_seconds": o.skew,
        "client_auth": if secret_file.is_some() { "client_secret_basic" } else { "none" },
    });
    if let Some(revoke) = provider.get("revocation_endpoint") {
        provider_settings["revocation_endpoint"] = revoke.clone();
    }
    // The development provider's upstreams, routed by e-mail domain as the
    // deployed start routes to the pool's providers.
    if !o.upstreams.is_empty() {
        provider_settings["routing"] = json!({
            "providers": o.upstreams.iter().map(|u| json!({"name": u.name, "domains": u.domains})).collect::<Vec<_>>(),
            "native": o.native_users,
        });
        if o.upstreams
            .iter()
            .any(|u| u.attributes.contains_key("custom:groups"))
        {
            provider_settings["extra_groups_claims"] = json!(["custom:groups"]);
        }
    }
    if o.discovery.is_none() || o.cognito_domain.is_some() {
        provider_settings["token_use"] = json!("id");
    }
    let (keys, keys_file) = session_keys;
    let mut config = json!({
        "version": edge_auth_core::config::SCHEMA_VERSION,
        "session": {
            "keys": keys.keys,
            "signing_keys": {"kind": "file", "path": keys_file},
        },
        "provider": provider_settings,
        "site": {"base_url": site},
        "paths": {"public": o.public.clone().unwrap_or_else(edge_auth_core::config::default_public)},
        "rules": o.rules,
        "secret": match secret_file { Some(path) => json!({"kind": "file", "path": path}), None => json!({"kind": "none"}) },
        "http": {"timeout_ms": 5000, "retries": 1},
        "log_level": "info",
    });
    if !o.sites.is_empty() {
        config["sites"] = o
            .sites
            .iter()
            .map(|s| {
                let mut site = json!({
                    "name": s.name,
                    "base_url": table_site_address(site, &local_label(o, s)),
                    "rules": s.rules,
                    "public": s.public,
                });
                if let Some(group) = &s.session {
                    site["session"] = json!(group);
                }
                if let Some(domain) = local_preview_domain(o, s) {
                    site["preview_domain"] = json!(domain);
                }
                // Only a provider the development provider federates to
                // here (or its own users beside them): else it asks.
                if let Some(name) = s.identity_provider.as_ref().filter(|name| {
                    o.upstreams.iter().any(|u| &u.name == *name)
                        || (!o.upstreams.is_empty()
                            && o.native_users
                            && name.as_str() == edge_auth_core::routing::NATIVE)
                }) {
                    site["identity_provider"] = json!(name);
                }
                site
            })
            .collect();
        if !o.groups.is_empty() {
            config["sign_in_groups"] = o
                .groups
                .iter()
                .map(|g| json!({"name": g.name, "domain": format!("{}.localhost", g.name), "sign_in_site": g.sign_in_site}))
                .collect();
        }
    }
    // `[tokens]` of the settings: service tokens are read, and workload
    // tokens exchanged under its trust policies.
    if let Some(max) = o.token_max_seconds {
        config["tokens"] = json!({"max_lifetime_seconds": max});
        if !o.trust.is_empty() {
            config["tokens"]["trust"] = json!(o.trust);
        }
    }
    if let Some((max, page)) = o.shares {
        config["shares"] = json!({"max_lifetime_seconds": max, "page": page});
    }
    if let Some(minutes) = o.idle_timeout_minutes {
        config["session"]["idle_timeout_minutes"] = json!(minutes);
    }
    if let Some(hours) = o.max_hours {
        config["session"]["max_hours"] = json!(hours);
    }
    config
}

async fn collect_request(
    req: hyper::Request<hyper::body::Incoming>,
) -> (String, String, String, Vec<(String, String)>, Vec<u8>) {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = Limited::new(req.into_body(), 1024 * 1024)
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    (method, path, query, headers, body)
}

fn to_http(answer: Answer) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Full::new(Bytes::from(answer.body)))
        .unwrap_or_else(|_| {
            let mut r =
                hyper::Response::new(Full::new(Bytes::from_static(b"emulator: invalid response")));
            *r.status_mut() = hyper::StatusCode::BAD_GATEWAY;
            r
        })
}

/// Serves `listener` with `handle` until the process ends.
fn serve<F, Fut>(listener: TcpListener, handle: F)
where
    F: Fn(SocketAddr, hyper::Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Answer> + Send,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let handle = handle.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let handle = handle.clone();
                    async move { Ok::<_, std::convert::Infallible>(to_http(handle(peer, req).await)) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edge-auth-dev: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Binds 127.0.0.1:`port`; a port in use names the option that moves it.
async fn bind(port: u16, option: &str) -> Result<TcpListener, String> {
    TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            format!("port {port} is in use on 127.0.0.1: pass {option} N to use another (0 picks a free one)")
        } else {
            format!("port {port}: {e}")
        }
    })
}

/// The temporary folder with the handlers' config.json and the client
/// secret: readable by its owner only, and gone when the process ends
/// however `run` returns.
struct WorkDir(PathBuf);

impl WorkDir {
    fn create() -> Result<Self, String> {
        let path = std::env::temp_dir().join(format!("edge-auth-dev-{}", std::process::id()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn run() -> Result<(), String> {
    let Some(o) = cli::options()? else {
        return Ok(());
    };
    if o.json_logs {
        edge_auth_lambda::init_logging("info");
    } else {
        edge_auth_lambda::init_human_logging("info");
    }
    if o.sites.is_empty() && !o.site.join("index.html").is_file() {
        return Err(format!(
            "{}: no index.html here (run from the repository root, or pass --site)",
            o.site.display()
        ));
    }
    for site in &o.sites {
        if !site.content.join("index.html").is_file() {
            return Err(format!(
                "site {}: {}: no index.html here",
                site.name,
                site.content.display()
            ));
        }
    }
    // Both ports first: a failed start leaves nothing behind.
    let site_listener = bind(o.port, "--port").await?;
    let idp_listener = match o.discovery {
        Some(_) => None,
        None => Some(bind(o.idp_port, "--idp-port").await?),
    };
    let site = format!(
        "http://{}",
        site_listener.local_addr().map_err(|e| e.to_string())?
    );
    let work = WorkDir::create()?;
    let workdir = work.0.clone();
    // The session keys: the given set (to try a rotation: the same cookies
    // against a restarted local edge with the next set), or a new key.
    let session_keys = match &o.session_keys {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            edge_auth_core::session::SessionKeySet::parse(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => {
            let kid = format!("dev-{}", &random_secret()[..8]).replace('_', "-");
            let key =
                edge_auth_core::session::new_session_key(&kid, &mut edge_auth_core::SystemEntropy);
            edge_auth_core::session::SessionKeySet {
                signing_kid: kid,
                keys: vec![key],
                retire_after: Default::default(),
                revoked: Default::default(),
            }
        }
    };
    let keys_path = workdir.join("session-keys.json");
    std::fs::write(
        &keys_path,
        serde_json::to_string(&session_keys).unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    let keys_path = keys_path.display().to_string();

    let (config_value, idp) = if let Some(discovery) = &o.discovery {
        let client = edge_auth_provider::ProviderClient::new(&Default::default());
        let provider = client.get_json(discovery).await?;
        let jwks_uri = provider["jwks_uri"]
            .as_str()
            .ok_or("the discovery document has no jwks_uri")?;
        let jwks = client.get_json(jwks_uri).await?;
        let secret_file = o.client_secret.as_ref().map(|secret| {
            let path = workdir.join("client-secret");
            std::fs::write(&path, secret).map(|_| path.display().to_string())
        });
        let secret_file = secret_file.transpose().map_err(|e| e.to_string())?;
        let client_id = o.client_id.clone().unwrap_or_default();
        (
            handler_config(
                &o,
                &site,
                &provider,
                jwks,
                secret_file.as_deref(),
                &client_id,
                (&session_keys, &keys_path),
            ),
            None,
        )
    } else {
        let idp_listener = idp_listener.ok_or("no provider port")?;
        let issuer = format!(
            "http://{}",
            idp_listener.local_addr().map_err(|e| e.to_string())?
        );
        let users_text =
            std::fs::read_to_string(&o.users).map_err(|e| format!("{}: {e}", o.users.display()))?;
        let users: Vec<User> =
            serde_json::from_str(&users_text).map_err(|e| format!("{}: {e}", o.users.display()))?;
        let client_secret = o.client_secret.clone().unwrap_or_else(random_secret);
        let settings = IdpSettings {
            issuer,
            client_id: "edge-auth-dev-client".into(),
            client_secret: client_secret.clone(),
            // Each site's, as the deploy registers them with the pool.
            redirect_uris: std::iter::once(site.clone())
                .chain(
                    o.sites
                        .iter()
                        .filter(|s| signs_in_itself(&o, s))
                        .map(|s| table_site_address(&site, &local_label(&o, s))),
                )
                .map(|base| format!("{base}/_edge-auth/callback"))
                .collect(),
            logout_uris: std::iter::once(site.clone())
                .chain(
                    o.sites
                        .iter()
                        .map(|s| table_site_address(&site, &local_label(&o, s))),
                )
                .map(|base| format!("{base}/signed-out.html"))
                .collect(),
            id_token_ttl: o.id_ttl,
            refresh_token_ttl: o.refresh_ttl,
            users,
            upstreams: federation::discover(o.upstreams.clone()).await?,
        };
        let idp = Arc::new(DevIdp::new(settings));
        let secret_path = workdir.join("client-secret.json");
        let secret_json =
            json!({"client_id": idp.settings().client_id, "client_secret": client_secret})
                .to_string();
        std::fs::write(&secret_path, secret_json).map_err(|e| e.to_string())?;
        let config = handler_config(
            &o,
            &site,
            &idp.discovery(),
            idp.jwks(),
            Some(&secret_path.display().to_string()),
            &idp.settings().client_id,
            (&session_keys, &keys_path),
        );
        let served = idp.clone();
        serve(idp_listener, move |_, req| {
            let idp = served.clone();
            async move {
                let (method, path, query, headers, body) = collect_request(req).await;
                idp.handle_async(IdpRequest {
                    method: &method,
                    path: &path,
                    query: &query,
                    headers: &headers,
                    body: &body,
                })
                .await
            }
        });
        (config, Some(idp))
    };

    let config_path = workdir.join("config.json");
    std::fs::write(
        &config_path,
        serde_json::to_string_pretty(&config_value).unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    let config = Arc::new(Config::from_json(&config_value.to_string()).map_err(|e| e.to_string())?);
    let paths = config.paths();
    let viewer_function = if o.cloudfront_function {
        let function = edge_auth_core::cloudfront_function::render_checked(&config)
            .map_err(|e| e.to_string())?;
        // The key value store as the deploy tool writes it, with the
        // branches' previews as `preview upload` adds them.
        let mut store = edge_auth_core::cloudfront_function::key_value_store(&config);
        for preview in &o.previews {
            let (key, value) = edge_auth_core::sites::preview_entry(
                &config,
                &preview.site,
                &preview.branch,
                &config.file.session.keys,
            )
            .map_err(|e| format!("--preview {}:{}: {e}", preview.site, preview.branch))?;
            store.insert(key, value);
        }
        Some(
            viewer_function::ViewerFunction::start(&workdir, &function, &store)
                .await
                .map_err(|e| e.to_string())?,
        )
    } else {
        None
    };
    // Where sign-out writes its revocations (said in READY for the tests).
    let store_file = viewer_function.as_ref().map(|f| f.store_file.clone());
    let authorizer = match &viewer_function {
        Some(f) => format!(
            "CloudFront Function ({} bytes, {})",
            f.bytes,
            f.function_file.display()
        ),
        None => "Lambda@Edge authorize and index-path".into(),
    };
    // Each branch's preview: a host of its own, answering to the auth
    // functions as its site, its files under `<branch>/` of the site's
    // previews' folder (as in the previews' bucket).
    let mut preview_routes = Vec::new();
    for preview in &o.previews {
        let address = preview_address(&site, &o, preview).ok_or_else(|| {
            format!(
                "--preview {}: no site of that name with [sites.preview] and a sign-in group",
                preview.site
            )
        })?;
        let root = workdir.join("previews").join(&preview.site);
        std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
        let target = std::fs::canonicalize(&preview.dir)
            .map_err(|e| format!("{}: {e}", preview.dir.display()))?;
        std::os::unix::fs::symlink(target, root.join(&preview.branch))
            .map_err(|e| e.to_string())?;
        preview_routes.push(cloudfront::SiteRoute {
            key: edge_auth_core::sites::site_key(Some(address.trim_start_matches("http://")))
                .unwrap_or_default(),
            name: preview.site.clone(),
            dir: root,
        });
    }
    let distribution = Arc::new(Distribution {
        site_dir: o.site.clone(),
        authorize: handler_state(HandlerKind::Authorize, &config),
        index_path: handler_state(HandlerKind::IndexPath, &config),
        signin: handler_state(HandlerKind::Signin, &config),
        refresh: handler_state(HandlerKind::Refresh, &config),
        // Sign-out ends the session in the function's store, as the
        // regional function does in CloudFront's.
        signout: handler_state(HandlerKind::Signout, &config).with_store(
            store_file
                .clone()
                .map(edge_auth_provider::store::SessionStore::File),
        ),
        paths: (
            paths.signin.clone(),
            paths.start.clone(),
            paths.refresh.clone(),
            paths.signout.clone(),
        ),
        token_path: (o.regional && !o.trust.is_empty()).then(|| paths.token.clone()),
        share_path: (o.regional && o.shares.is_some()).then(|| paths.share.clone()),
        domain: site.trim_start_matches("http://").to_owned(),
        regional: o.regional,
        viewer_function,
        sites: o
            .sites
            .iter()
            .map(|s| cloudfront::SiteRoute {
                key: edge_auth_core::sites::site_key(Some(&format!(
                    "{}.localhost",
                    local_label(&o, s)
                )))
                .unwrap_or_default(),
                name: s.name.clone(),
                dir: s.content.clone(),
            })
            .chain(preview_routes)
            .collect(),
    });
    let site_address = site.clone();
    let table = !o.sites.is_empty();
    let auth_paths = Arc::new((
        paths.start.clone(),
        paths.refresh.clone(),
        paths.signin.clone(),
        paths.signout.clone(),
    ));
    serve(site_listener, move |peer, req| {
        let distribution = distribution.clone();
        let site_address = site_address.clone();
        let auth_paths = auth_paths.clone();
        async move {
            let (method, path, query, headers, _) = collect_request(req).await;
            // The site's cookies and its sign-in belong to one address:
            // `localhost` would end in "Sign-in could not be matched"
            // (the provider sends the browser back to 127.0.0.1, where its
            // flow cookie is not), so it is sent there first.
            // (With a site table, each site is its own address already.)
            if !table && let Some(answer) = to_site_address(&site_address, &headers, &path, &query)
            {
                return answer;
            }
            let answer = distribution
                .serve(ViewerRequest {
                    method: method.clone(),
                    path: path.clone(),
                    query,
                    headers,
                    peer,
                })
                .await;
            let (start, refresh, signin, signout) = &*auth_paths;
            let paths = request_log::AuthPaths {
                start,
                refresh,
                signin,
                signout,
            };
            let (decision, _) = request_log::describe(&path, &answer, &paths);
            tracing::info!(
                decision,
                status = answer.status,
                "{}",
                request_log::line(&method, &path, &answer, &paths)
            );
            answer
        }
    });

    let users: HashMap<String, Vec<String>> = idp
        .as_ref()
        .map(|i| {
            i.settings()
                .users
                .iter()
                .map(|u| (format!("{} / {}", u.username, u.password), u.groups.clone()))
                .collect()
        })
        .unwrap_or_default();
    println!("edge-auth local edge is running");
    if table {
        for s in &o.sites {
            println!(
                "  site:      {}/ ({})",
                table_site_address(&site, &local_label(&o, s)),
                s.content.display()
            );
        }
        for p in &o.previews {
            if let Some(address) = preview_address(&site, &o, p) {
                println!("  preview:   {address}/ ({} of {})", p.branch, p.site);
            }
        }
    } else {
        println!("  site:      {site}/");
    }
    match &idp {
        Some(i) => println!(
            "  provider:  {}/ (development identity provider)",
            i.settings().issuer
        ),
        None => println!("  provider:  {}", o.discovery.as_deref().unwrap_or("")),
    }
    let mut demo: Vec<_> = users
        .iter()
        .map(|(cred, groups)| format!("{cred} (groups: {})", groups.join(", ")))
        .collect();
    demo.sort();
    for line in demo {
        println!("  sign in:   {line}");
    }
    let arrangement = if o.regional { "regional" } else { "edge" };
    println!(
        "  auth paths: {}",
        if o.regional {
            "regional functions behind function URL origins"
        } else {
            "Lambda@Edge origin-request functions"
        }
    );
    println!("  per request: {authorizer}");
    println!("  config:    {}", config_path.display());
    let ready = json!({
        "site": site,
        "idp": idp.as_ref().map(|i| i.settings().issuer.clone()),
        "auth_endpoints": arrangement,
        "authorizer": if o.cloudfront_function { "cloudfront-function" } else { "lambda-edge" },
        "key_value_store": store_file,
        "sites": o.sites.iter().map(|s| (s.name.clone(), json!(table_site_address(&site, &local_label(&o, s))))).collect::<serde_json::Map<_, _>>(),
        "previews": o.previews.iter().filter_map(|p| Some((format!("{}:{}", p.site, p.branch), json!(preview_address(&site, &o, p)?)))).collect::<serde_json::Map<_, _>>(),
    });
    // Listening before READY: a signal sent as soon as READY is read must
    // find the handlers in place, not the default action (which would end
    // the process with the folder left behind).
    let stop = StopSignals::listen()?;
    println!("READY {ready}");
    let signal = stop.wait().await?;
    tracing::info!(signal, "stopping");
    drop(work);
    Ok(())
}

/// The signals that ask the process to end and that a process can catch:
/// Ctrl-C (SIGINT), SIGTERM (`kill`, a service manager), SIGHUP (the
/// terminal closed) and SIGQUIT, so that the folder with config.json and
/// the client secret is removed whichever ends it. (SIGKILL cannot be
/// caught: nothing runs then.)
struct StopSignals {
    #[cfg(unix)]
    signals: [tokio::signal::unix::Signal; 4],
}

impl StopSignals {
    fn listen() -> Result<Self, String> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind| signal(kind).map_err(|e| e.to_string());
            Ok(Self {
                signals: [
                    listen(SignalKind::interrupt())?,
                    listen(SignalKind::terminate())?,
                    listen(SignalKind::hangup())?,
                    listen(SignalKind::quit())?,
                ],
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The first of them to arrive.
    async fn wait(self) -> Result<&'static str, String> {
        #[cfg(unix)]
        {
            let [mut interrupt, mut terminate, mut hangup, mut quit] = self.signals;
            Ok(tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
                _ = hangup.recv() => "SIGHUP",
                _ = quit.recv() => "SIGQUIT",
            })
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
            Ok("Ctrl-C")
        }
    }
}
