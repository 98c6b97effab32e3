//! Lambda function URL events, for sign-in, refresh and sign-out run as
//! regional functions behind CloudFront (`aws_lambda_events`'
//! `lambda_function_urls` types), mapped onto the core's request and
//! response types: the core decides exactly as it does at the edge.
//!
//! Behind CloudFront the function URL sees neither the viewer's `Host` (the
//! distribution does not forward it to a function URL origin) nor the
//! distribution's name, so the site's address must come from config.json
//! (`site.base_url`); without it the core answers with its "no site
//! address" page rather than build redirects to the function URL.

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use aws_lambda_events::http::{HeaderName, HeaderValue};
use edge_auth_core::event::{
    BodyEncoding, CloudFrontPayload, CloudFrontRequest, DistributionConfig, HeaderEntry, Headers,
};
use edge_auth_core::{CloudFrontResponse, HandlerOutput, pages};
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FunctionUrlError {
    #[error("not a function URL event: {0}")]
    Shape(String),
    #[error("header {name}: {message}")]
    Header { name: String, message: String },
    #[error("status {0} is not an HTTP status code")]
    Status(String),
}

/// Whether `event` is a function URL event (rather than CloudFront's).
pub fn is_function_url_event(event: &Value) -> bool {
    event.get("requestContext").is_some() && event.get("rawPath").is_some()
}

/// Reads a function URL event; a malformed one names what is wrong.
pub fn parse(event: Value) -> Result<LambdaFunctionUrlRequest, FunctionUrlError> {
    serde_json::from_value(event).map_err(|e| FunctionUrlError::Shape(e.to_string()))
}

/// The request as the core reads it. The `cookies` list (a function URL
/// takes the Cookie header apart) goes back into one `cookie` header.
pub fn to_payload(
    request: &LambdaFunctionUrlRequest,
) -> Result<CloudFrontPayload, FunctionUrlError> {
    let context = &request.request_context;
    let http = &context.http;
    let method = http
        .method
        .clone()
        .ok_or_else(|| FunctionUrlError::Shape("requestContext.http.method is missing".into()))?;
    let uri = request
        .raw_path
        .clone()
        .ok_or_else(|| FunctionUrlError::Shape("rawPath is missing".into()))?;
    let mut headers = Headers::default();
    for name in request.headers.keys() {
        // Never the function URL's own Host, nor a cookie header beside the
        // list: the list is what the function URL passes.
        if name == "host" || name == "cookie" {
            continue;
        }
        for value in request.headers.get_all(name) {
            // RFC 9110 §5.5: a field value may carry bytes beyond ASCII
            // (obs-text), which a recipient treats as opaque data. A browser
            // or a proxy that puts one in User-Agent must not fail the
            // request: the value is kept, lossily, and the headers the core
            // reads simply do not match.
            headers.append(name.as_str(), String::from_utf8_lossy(value.as_bytes()));
        }
    }
    if let Some(cookies) = request.cookies.as_ref().filter(|c| !c.is_empty()) {
        headers.0.insert(
            "cookie".into(),
            vec![HeaderEntry {
                key: Some("Cookie".into()),
                value: cookies.join("; "),
            }],
        );
    }
    Ok(CloudFrontPayload {
        config: DistributionConfig {
            // Not the distribution's: the site's address comes from config.json.
            distribution_domain_name: String::new(),
            distribution_id: String::new(),
            event_type: "function-url".into(),
            request_id: context.request_id.clone().unwrap_or_default(),
            other: Map::new(),
        },
        request: CloudFrontRequest {
            client_ip: http.source_ip.clone().unwrap_or_default(),
            headers,
            method,
            querystring: request.raw_query_string.clone().unwrap_or_default(),
            uri,
            other: Map::new(),
        },
        response: None,
    })
}

/// The core's answer as a function URL response: every `Set-Cookie` goes
/// into the `cookies` list, the other headers into `headers`. A request the
/// core would pass to the origin has no origin here: 404.
pub fn to_response(output: HandlerOutput) -> Result<LambdaFunctionUrlResponse, FunctionUrlError> {
    let response = match output {
        HandlerOutput::Respond(response) => response,
        HandlerOutput::Forward(_) => pages::html_page(
            404,
            "Not found",
            "This address is not served here.",
            None,
            vec![],
        ),
    };
    from_cloudfront(response)
}

fn from_cloudfront(
    response: CloudFrontResponse,
) -> Result<LambdaFunctionUrlResponse, FunctionUrlError> {
    let mut out = LambdaFunctionUrlResponse::default();
    out.status_code = response
        .status
        .parse::<u16>()
        .ok()
        .filter(|s| (100..=599).contains(s))
        .map(i64::from)
        .ok_or_else(|| FunctionUrlError::Status(response.status.clone()))?;
    for (name, entries) in &response.headers.0 {
        for entry in entries {
            if name == "set-cookie" {
                out.cookies.push(entry.value.clone());
                continue;
            }
            let bad = |message: &str| FunctionUrlError::Header {
                name: name.clone(),
                message: message.into(),
            };
            let header =
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("not a header name"))?;
            let value =
                HeaderValue::from_str(&entry.value).map_err(|_| bad("not a header value"))?;
            out.headers.append(header, value);
        }
    }
    out.is_base64_encoded = response.body_encoding == Some(BodyEncoding::Base64);
    out.body = response.body;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: &str, headers: &[(&str, &str)]) -> CloudFrontResponse {
        let mut h = Headers::default();
        for (k, v) in headers {
            h.append(k, *v);
        }
        CloudFrontResponse {
            status: status.into(),
            status_description: None,
            headers: h,
            body: Some("aGk=".into()),
            body_encoding: Some(BodyEncoding::Base64),
        }
    }

    #[test]
    fn responses_map_and_bad_ones_are_named() {
        let ok = to_response(HandlerOutput::Respond(response(
            "302",
            &[
                ("Location", "/x"),
                ("Set-Cookie", "a=1"),
                ("Set-Cookie", "b=2"),
            ],
        )))
        .unwrap();
        assert_eq!(ok.status_code, 302);
        assert_eq!(ok.cookies, ["a=1", "b=2"]);
        assert_eq!(ok.headers.get("location").unwrap(), "/x");
        assert!(ok.is_base64_encoded);
        for (status, headers, complaint) in [
            ("abc", vec![], "status abc"),
            ("99", vec![], "status 99"),
            (
                "200",
                vec![("X-Bad", "line\nbreak")],
                "header x-bad: not a header value",
            ),
        ] {
            let err = to_response(HandlerOutput::Respond(response(status, &headers)))
                .unwrap_err()
                .to_string();
            assert!(err.contains(complaint), "{err}");
        }
    }
}
