//! Content types and cache headers for the site's files, shared by the local
//! emulator (which plays S3) and the deploy tool (which uploads to S3), so
//! both agree. Only with the `site` feature: the edge packages never serve a
//! file and carry no type table.

/// The `Content-Type` for a file extension (without the dot), from
/// mime_guess's table (video, WebAssembly, AVIF, CSV, Markdown, archives…),
/// with `charset=utf-8` on text and modern JavaScript's type.
pub fn content_type(extension: &str) -> String {
    let extension = extension.to_ascii_lowercase();
    if matches!(extension.as_str(), "js" | "mjs" | "cjs") {
        return "text/javascript; charset=utf-8".into();
    }
    let mime = mime_guess::from_ext(&extension).first_or_octet_stream();
    if mime.type_() == mime_guess::mime::TEXT {
        format!("{}/{}; charset=utf-8", mime.type_(), mime.subtype())
    } else {
        mime.essence_str().to_owned()
    }
}

/// `Cache-Control` for a file of a protected site. `private`: a shared cache
/// between CloudFront and the browser must not keep what only a signed-in
/// user may see. Pages are revalidated every time (a new deploy shows at
/// once); other files may be kept by the browser for an hour.
pub fn cache_control(extension: &str) -> &'static str {
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "private, no-cache",
        _ => "private, max-age=3600",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_types_browsers_need() {
        for (ext, want) in [
            ("html", "text/html; charset=utf-8"),
            ("CSS", "text/css; charset=utf-8"),
            ("js", "text/javascript; charset=utf-8"),
            ("wasm", "application/wasm"),
            ("mp4", "video/mp4"),
            ("webm", "video/webm"),
            ("avif", "image/avif"),
            ("csv", "text/csv; charset=utf-8"),
            ("md", "text/markdown; charset=utf-8"),
            ("zip", "application/zip"),
            ("svg", "image/svg+xml"),
            ("json", "application/json"),
            ("woff2", "font/woff2"),
            ("no-such-extension", "application/octet-stream"),
        ] {
            assert_eq!(content_type(ext), want, "{ext}");
        }
        assert_eq!(cache_control("html"), "private, no-cache");
        assert!(cache_control("png").starts_with("private"));
    }
}
