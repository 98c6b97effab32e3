//! Prints the CloudFront Function the core renders for a config.json (what
//! the deploy tool publishes and `edge-auth-dev` runs), refused over 10 KB:
//! `cargo run -p edge-auth-core --example render-cloudfront-function -- config.json`;
//! with `--store`, the key value store's entries for it instead (JSON; for
//! a config.json that carries its key material), and with `--preview
//! SITE:BRANCH` (repeatable) a branch's preview among them, as
//! `edge-auth-deploy preview upload` writes it.
fn main() {
    let mut store = false;
    let mut previews: Vec<(String, String)> = Vec::new();
    let mut path = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--store" => store = true,
            "--preview" => match args.next().as_deref().and_then(|p| p.split_once(':')) {
                Some((site, branch)) => previews.push((site.to_owned(), branch.to_owned())),
                None => usage(),
            },
            _ if path.is_none() => path = Some(arg),
            _ => usage(),
        }
    }
    let Some(path) = path else { usage() };
    let config = std::fs::read_to_string(&path)
        .map_err(|e| format!("{path}: {e}"))
        .and_then(|text| {
            edge_auth_core::Config::from_json(&text).map_err(|e| format!("{path}: {e}"))
        });
    let rendered = config.and_then(|config| {
        if store {
            let mut entries = edge_auth_core::cloudfront_function::key_value_store(&config);
            for (site, branch) in &previews {
                let (key, value) = edge_auth_core::sites::preview_entry(
                    &config,
                    site,
                    branch,
                    &config.file.session.keys,
                )
                .map_err(|e| e.to_string())?;
                entries.insert(key, value);
            }
            edge_auth_core::cloudfront_function::check_store_limits(&entries)
                .map_err(|e| e.to_string())?;
            Ok(serde_json::to_string(&entries).expect("entries serialise"))
        } else {
            edge_auth_core::cloudfront_function::render_checked(&config).map_err(|e| e.to_string())
        }
    });
    match rendered {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

fn usage() -> ! {
    eprintln!("usage: render-cloudfront-function [--store [--preview SITE:BRANCH]...] CONFIG.json");
    std::process::exit(2);
}
