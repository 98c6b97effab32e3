//! Prints the CloudFront Function the core renders for a config.json (what
//! the deploy tool publishes and `edge-auth-dev` runs), refused over 10 KB:
//! `cargo run -p edge-auth-core --example render-cloudfront-function -- config.json`;
//! with `--store`, the key value store's entries for it instead (JSON; for
//! a config.json that carries its key material).
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (store, path) = match args.as_slice() {
        [flag, path] if flag == "--store" => (true, path.clone()),
        [path] => (false, path.clone()),
        _ => {
            eprintln!("usage: render-cloudfront-function [--store] CONFIG.json");
            std::process::exit(2);
        }
    };
    let config = std::fs::read_to_string(&path)
        .map_err(|e| format!("{path}: {e}"))
        .and_then(|text| {
            edge_auth_core::Config::from_json(&text).map_err(|e| format!("{path}: {e}"))
        });
    let rendered = config.and_then(|config| {
        if store {
            let entries = edge_auth_core::cloudfront_function::key_value_store(&config);
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
