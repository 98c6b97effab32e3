//! Prints the CloudFront Function the core renders for a config.json (what
//! the deploy tool publishes and `edge-auth-dev` runs), refused over 10 KB:
//! `cargo run -p edge-auth-core --example render-cloudfront-function -- config.json`.
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: render-cloudfront-function CONFIG.json");
        std::process::exit(2);
    };
    let rendered = std::fs::read_to_string(&path)
        .map_err(|e| format!("{path}: {e}"))
        .and_then(|text| {
            edge_auth_core::Config::from_json(&text).map_err(|e| format!("{path}: {e}"))
        })
        .and_then(|config| {
            edge_auth_core::cloudfront_function::render_checked(&config).map_err(|e| e.to_string())
        });
    match rendered {
        Ok(function) => print!("{function}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
