//! Origin request on the default behaviour: S3 has no directory index for a
//! REST origin, so `/docs/` must become `/docs/index.html`.
//!
//! `/docs` (last segment without a dot) is answered with a `301` to `/docs/`
//! rather than rewritten to `/docs/index.html`: a rewrite would serve the
//! page at a URL whose relative links (`href="guide.html"`) resolve against
//! `/` instead of `/docs/`. A path whose last segment has a dot is a file
//! and passes unchanged, as does anything that could not be redirected
//! safely (the origin answers those with its own 403/404).

use crate::Outcome;
use crate::event::CloudFrontRequest;
use crate::pages;
use crate::return_path::{path_and_query, safe_return_path};

pub const INDEX_DOCUMENT: &str = "index.html";

pub fn index_path(mut request: CloudFrontRequest) -> Outcome {
    if request.uri.ends_with('/') {
        request.uri.push_str(INDEX_DOCUMENT);
        return Outcome::forward(request, "index-document");
    }
    let last = request.uri.rsplit('/').next().unwrap_or("");
    if last.contains('.') || last.is_empty() {
        return Outcome::forward(request, "file");
    }
    let target = path_and_query(&format!("{}/", request.uri), &request.querystring);
    if safe_return_path(&target).is_none() {
        return Outcome::forward(request, "file");
    }
    Outcome::respond(moved(&target), "directory-redirect")
}

/// `301` to the directory's address.
pub(crate) fn moved(target: &str) -> crate::CloudFrontResponse {
    let mut response = pages::redirect(target, vec![]);
    response.status = "301".into();
    response.status_description = Some(pages::reason_phrase(301).into());
    // Deterministic, so it may be cached, but not for ever: a later upload
    // of a file with that exact name should win within the hour.
    response.headers.set("Cache-Control", "max-age=3600");
    response
}
