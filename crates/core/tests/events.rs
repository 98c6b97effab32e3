//! The event types read AWS's documented sample events and write them back unchanged.

use edge_auth_core::event::{
    CloudFrontEvent, CloudFrontResponse, HandlerOutput, parse_event, parse_event_text,
};
use edge_auth_testkit as kit;
use serde_json::Value;

#[test]
fn documented_samples_round_trip_exactly() {
    for sample in [
        kit::VIEWER_REQUEST,
        kit::ORIGIN_REQUEST_S3,
        kit::ORIGIN_REQUEST_BODY,
    ] {
        let original: Value = serde_json::from_str(sample).unwrap();
        let event: CloudFrontEvent = serde_json::from_value(original.clone()).unwrap();
        assert_eq!(serde_json::to_value(&event).unwrap(), original);
    }
    let response: Value = serde_json::from_str(kit::GENERATED_RESPONSE).unwrap();
    let parsed: CloudFrontResponse = serde_json::from_value(response.clone()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), response);
    assert_eq!(parsed.headers.values("Set-Cookie").count(), 2);
}

#[test]
fn a_forwarded_request_keeps_origin_and_body() {
    let payload = kit::payload(kit::ORIGIN_REQUEST_BODY);
    let out = serde_json::to_value(HandlerOutput::Forward(payload.request)).unwrap();
    assert_eq!(out["origin"]["custom"]["domainName"], "auth.invalid");
    assert_eq!(out["body"]["data"], "bGFuZ3VhZ2U9ZW4=");
    assert_eq!(out["querystring"], "a=1");
}

#[test]
fn outputs_serialise_in_cloudfront_shape() {
    let page = edge_auth_core::pages::redirect("/x", vec!["a=1".into()]);
    let value = serde_json::to_value(HandlerOutput::Respond(page)).unwrap();
    assert_eq!(value["status"], "302");
    assert_eq!(value["headers"]["location"][0]["key"], "Location");
    assert_eq!(value["headers"]["set-cookie"][0]["value"], "a=1");
}

#[test]
fn malformed_events_are_errors_naming_the_field() {
    let mut v: Value = serde_json::from_str(kit::VIEWER_REQUEST).unwrap();
    v["Records"][0]["cf"]["request"]["headers"]["host"] = Value::String("x".into());
    let err = parse_event(v).unwrap_err().to_string();
    assert!(err.contains("Records[0].cf.request.headers.host"), "{err}");
    let two: Value = serde_json::json!({"Records": []});
    assert!(
        parse_event(two)
            .unwrap_err()
            .to_string()
            .contains("exactly one record")
    );
}

/// The edge addon reads events as JSON text: the same payload as from a
/// parsed value, and the same errors naming the field.
#[test]
fn event_text_reads_as_the_value_does() {
    for sample in [
        kit::VIEWER_REQUEST,
        kit::ORIGIN_REQUEST_S3,
        kit::ORIGIN_REQUEST_BODY,
    ] {
        let from_value = parse_event(serde_json::from_str(sample).unwrap()).unwrap();
        assert_eq!(parse_event_text(sample).unwrap(), from_value);
    }
    let bad_host = kit::VIEWER_REQUEST.replacen(r#""host": ["#, r#""host": "x", "ignored": ["#, 1);
    assert_ne!(
        bad_host,
        kit::VIEWER_REQUEST,
        "the sample has a host header"
    );
    let err = parse_event_text(&bad_host).unwrap_err().to_string();
    assert!(err.contains("Records[0].cf.request.headers.host"), "{err}");
    for (text, expect) in [
        ("", "EOF"),
        ("{", "EOF"),
        ("null", "invalid type"),
        (r#"{"Records": []}"#, "exactly one record"),
        (r#"{"Records": []} trailing"#, "after the event"),
    ] {
        let err = parse_event_text(text).unwrap_err().to_string();
        assert!(err.contains(expect), "{text:?}: {err}");
    }
}
