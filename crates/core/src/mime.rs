//! Content types for the site's files, shared by the local emulator (which
//! plays S3) and the deploy tool (which uploads to S3), so both agree.

/// The `Content-Type` for a file extension (without the dot).
pub fn content_type(extension: &str) -> &'static str {
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// `Cache-Control` for an uploaded file: pages are revalidated every time
/// (a new deploy shows at once); other files may be cached for an hour.
pub fn cache_control(extension: &str) -> &'static str {
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "no-cache",
        _ => "public, max-age=3600",
    }
}
