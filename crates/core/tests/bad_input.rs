//! Everything malformed or hostile, one row each: the expected status and
//! page, never a panic, never a token or code echoed back.

use aws_lc_rs::hmac;
use edge_auth_core::authorize::authorize;
use edge_auth_core::flow::FlowCookie;
use edge_auth_core::provider::ProviderOutcome;
use edge_auth_core::refresh::{refresh_begin, refresh_complete};
use edge_auth_core::signin::{signin_begin, signin_complete};
use edge_auth_core::{HandlerOutput, Outcome, Step};
use edge_auth_testkit::{self as kit, CountingEntropy, NOW};

const STATE: &str = "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS";
const CODE: &str = "c0de-that-must-not-leak";

fn forge(header: &str, claims_b64: &str, signature: &str) -> String {
    format!("{}.{claims_b64}.{signature}", kit::b64(header.as_bytes()))
}

fn hs256_with_public_key() -> String {
    let claims = kit::id_token().claims_b64();
    let signing_input = format!(
        "{}.{claims}",
        kit::b64(br#"{"alg":"HS256","typ":"JWT","kid":"test-key-1"}"#)
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, kit::KEY_1_PUBLIC_PEM.as_bytes());
    let tag = hmac::sign(&key, signing_input.as_bytes());
    format!("{signing_input}.{}", kit::b64(tag.as_ref()))
}

struct Row {
    name: &'static str,
    outcome: Outcome,
    status: &'static str,
    /// In the page body, or the Location header for redirects.
    expect: &'static str,
    /// The refusal reason in the log detail, where there is one.
    detail: Option<&'static str>,
}

fn authorize_with_cookie(cookie: String) -> Outcome {
    let (request, dist) = kit::viewer_request("/docs/", "", &[cookie]);
    authorize(request, &dist, &kit::config(), NOW, &mut CountingEntropy(0))
}

/// A provider's ID token that must be refused: the functions that verify
/// provider tokens are signin and refresh; refresh has no nonce to mask the
/// other checks, so the rows go through it.
fn token_row(name: &'static str, token: String, detail: &'static str) -> Row {
    Row {
        name,
        outcome: refresh_answered(ok_answer_with(token)),
        status: "401",
        expect: "could not be renewed",
        detail: Some(detail.strip_prefix("token refused: ").unwrap_or(detail)),
    }
}

/// A session cookie that must be refused at authorize: a sign-in starts.
fn session_row(name: &'static str, token: String, detail: &'static str) -> Row {
    Row {
        name,
        outcome: authorize_with_cookie(format!("__Host-edge-auth-session={token}")),
        status: "302",
        expect: "/oauth2/authorize?",
        detail: Some(detail),
    }
}

fn session_with(change: impl FnOnce(&mut edge_auth_core::session::SessionClaims)) -> String {
    let mut claims = kit::session_claims();
    change(&mut claims);
    kit::signer().sign(&claims)
}

/// A session whose header and signature are made by hand.
fn hand_made_session(header: &str, key: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        kit::b64(header.as_bytes()),
        kit::b64(&serde_json::to_vec(&kit::session_claims()).unwrap())
    );
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), input.as_bytes());
    format!("{input}.{}", kit::b64(tag.as_ref()))
}

/// A session with our header and key over hand-written claims.
fn hand_made_session_claims(claims: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        kit::b64(br#"{"alg":"HS256","typ":"edge-auth-session","kid":"test-session-1"}"#),
        kit::b64(claims)
    );
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &[0x5e; 32]),
        input.as_bytes(),
    );
    format!("{input}.{}", kit::b64(tag.as_ref()))
}

fn refresh_answered(answer: ProviderOutcome) -> Outcome {
    refresh_answered_at("return=%2Fdocs%2F", answer)
}

/// A refresh at `query` whose token request the provider answers with `answer`.
fn refresh_answered_at(query: &str, answer: ProviderOutcome) -> Outcome {
    refresh_answered_with(query, &kit::refresh_cookie("rt"), answer)
}

/// A refresh whose first ID token named an `azp` (the refresh cookie says so).
fn refresh_of_azp_signin(answer: ProviderOutcome) -> Outcome {
    let cookie = kit::refresh_cookie("rt").replace(".n.rt", ".a.rt");
    refresh_answered_with("return=%2Fdocs%2F", &cookie, answer)
}

fn refresh_answered_with(query: &str, refresh_cookie: &str, answer: ProviderOutcome) -> Outcome {
    let config = kit::config();
    let (request, dist) = kit::viewer_request(
        "/_edge-auth/refresh",
        query,
        &[
            refresh_cookie.to_owned(),
            format!("__Host-edge-auth-session={}", kit::session()),
        ],
    );
    let Step::Call { pending, .. } =
        refresh_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!()
    };
    refresh_complete(
        pending,
        &config,
        kit::keys(&config),
        NOW,
        &mut CountingEntropy(0),
        &answer,
    )
}

fn flow_cookie(return_to: &str) -> String {
    let f = FlowCookie {
        issued_at: NOW,
        verifier: "v".repeat(43),
        nonce: "n".repeat(43),
        return_to: return_to.into(),
        forced: false,
        site: None,
        branch: None,
    };
    format!(
        "__Host-edge-auth-flow-{STATE}={}",
        f.seal(STATE, &kit::config())
    )
}

fn callback(query: &str, cookies: &[String]) -> Step<edge_auth_core::signin::SigninPending> {
    let (request, dist) = kit::viewer_request("/_edge-auth/callback", query, cookies);
    signin_begin(&request, &dist, &kit::config(), NOW)
}

fn callback_done(query: &str, cookies: &[String]) -> Outcome {
    match callback(query, cookies) {
        Step::Done(o) => o,
        Step::Call { .. } => panic!("expected an answer without a provider call for {query}"),
    }
}

fn callback_with_answer(return_to: &str, answer: ProviderOutcome) -> Outcome {
    match callback(
        &format!("code={CODE}&state={STATE}"),
        &[flow_cookie(return_to)],
    ) {
        Step::Call { pending, .. } => {
            let config = kit::config();
            signin_complete(
                pending,
                &config,
                kit::keys(&config),
                NOW,
                &mut CountingEntropy(0),
                &answer,
            )
        }
        Step::Done(o) => panic!("expected a provider call, got {o:?}"),
    }
}

fn ok_answer(nonce: &str) -> ProviderOutcome {
    let id = kit::id_token().claim("nonce", nonce).sign();
    ProviderOutcome::Answered {
        status: 200,
        body: serde_json::json!({ "id_token": id })
            .to_string()
            .into_bytes(),
    }
}

fn ok_answer_with(id_token: String) -> ProviderOutcome {
    ProviderOutcome::Answered {
        status: 200,
        body: serde_json::json!({ "id_token": id_token, "refresh_token": "rt" })
            .to_string()
            .into_bytes(),
    }
}

/// A valid ID token of a user in 200 groups (about 7 KB), nonce `c` × 43.
fn big_token(nonce_char: &str) -> String {
    let groups: Vec<String> = (0..200).map(|i| format!("team-{i:03}-readers")).collect();
    kit::id_token()
        .claim("cognito:groups", serde_json::json!(groups))
        .claim("nonce", nonce_char.repeat(43))
        .sign()
}

fn refresh_with(query: &str) -> Outcome {
    refresh_answered_at(query, ok_answer_with(kit::id_token().sign()))
}

fn rows() -> Vec<Row> {
    let session = kit::session();
    let session_parts: Vec<&str> = session.split('.').collect();
    let valid = kit::id_token().sign();
    let parts: Vec<&str> = valid.split('.').collect();
    let mut rows = vec![
        token_row(
            "alg none",
            forge(r#"{"alg":"none","typ":"JWT"}"#, parts[1], ""),
            "token refused: signed with an algorithm that is not allowed",
        ),
        token_row(
            "alg none, kid set",
            forge(r#"{"alg":"none","kid":"test-key-1"}"#, parts[1], parts[2]),
            "token refused: signed with an algorithm that is not allowed",
        ),
        token_row(
            "HS256 keyed with the RSA public key",
            hs256_with_public_key(),
            "token refused: signed with an algorithm that is not allowed",
        ),
        token_row(
            "nbf in the future",
            kit::id_token().claim("nbf", NOW + 3600).sign(),
            "token refused: not valid yet",
        ),
        token_row(
            "wrong iss",
            kit::id_token().claim("iss", "https://evil.example").sign(),
            "token refused: wrong issuer",
        ),
        token_row(
            "wrong aud",
            kit::id_token().claim("aud", "another-client").sign(),
            "token refused: wrong audience",
        ),
        token_row(
            "aud list without azp",
            kit::id_token()
                .claim("aud", serde_json::json!([kit::CLIENT_ID, "x"]))
                .sign(),
            "token refused: wrong audience",
        ),
        token_row(
            "access token as ID token",
            kit::id_token().claim("token_use", "access").sign(),
            "token refused: wrong token_use",
        ),
        token_row(
            "no exp",
            kit::id_token().without("exp").sign(),
            "token refused: claim `exp` is missing or has the wrong type",
        ),
        token_row(
            "exp as string",
            kit::id_token().claim("exp", "soon").sign(),
            "token refused: claim `exp` is missing or has the wrong type",
        ),
        token_row(
            "unknown kid",
            kit::id_token()
                .kid(Some("rotated-away"))
                .attacker_key()
                .sign(),
            "token refused: signed with an unknown key",
        ),
        token_row(
            "attacker key under our kid",
            kit::id_token().attacker_key().sign(),
            "token refused: bad signature",
        ),
        token_row(
            "signature of another token",
            format!(
                "{}.{}.{}",
                parts[0],
                kit::id_token()
                    .claim("cognito:groups", serde_json::json!(["admins"]))
                    .claims_b64(),
                parts[2]
            ),
            "token refused: bad signature",
        ),
        token_row(
            "truncated",
            valid[..valid.len() - 10].to_owned(),
            "token refused: bad signature",
        ),
        token_row(
            "two parts",
            format!("{}.{}", parts[0], parts[1]),
            "token refused: not a well-formed JWT",
        ),
        token_row(
            "garbage",
            "%%%.***.$$$".into(),
            "token refused: not a well-formed JWT",
        ),
        token_row(
            "header not JSON",
            format!("{}.{}.{}", kit::b64(b"nope"), parts[1], parts[2]),
            "token refused: not a well-formed JWT",
        ),
        token_row(
            "claims not JSON",
            format!("{}.{}.{}", parts[0], kit::b64(b"[1,2"), parts[2]),
            "token refused: bad signature",
        ),
        token_row("empty", String::new(), "no usable id_token in the answer"),
        token_row(
            "20 KB of dots",
            ".".repeat(20_000),
            "token refused: not a well-formed JWT",
        ),
        token_row(
            "crit header parameter (RFC 7515 §4.1.11)",
            kit::id_token()
                .header("crit", serde_json::json!(["exp"]))
                .sign(),
            "token refused: the header names critical extensions (`crit`) this gateway does not implement",
        ),
        token_row(
            "empty crit list",
            kit::id_token().header("crit", serde_json::json!([])).sign(),
            "token refused: the header names critical extensions (`crit`) this gateway does not implement",
        ),
        token_row(
            "azp of another client, aud a string",
            kit::id_token().claim("azp", "another-client").sign(),
            "token refused: wrong audience",
        ),
        token_row(
            "azp of another client, aud a list of one",
            kit::id_token()
                .claim("aud", serde_json::json!([kit::CLIENT_ID]))
                .claim("azp", "another-client")
                .sign(),
            "token refused: wrong audience",
        ),
        token_row(
            "azp not a string",
            kit::id_token()
                .claim("azp", serde_json::json!([kit::CLIENT_ID]))
                .sign(),
            "token refused: wrong audience",
        ),
        Row {
            name: "aud list with azp of ours",
            outcome: refresh_of_azp_signin(ok_answer_with(
                kit::id_token()
                    .claim("aud", serde_json::json!([kit::CLIENT_ID, "x"]))
                    .claim("azp", kit::CLIENT_ID)
                    .sign(),
            )),
            status: "302",
            expect: "/docs/",
            detail: None,
        },
        // OIDC Core 12.2: a refreshed ID token's claims match the
        // original's, `azp` included.
        Row {
            name: "refreshed ID token gains an azp",
            outcome: refresh_answered(ok_answer_with(
                kit::id_token().claim("azp", kit::CLIENT_ID).sign(),
            )),
            status: "401",
            expect: "could not be renewed",
            detail: Some("the new ID token's azp is not as the original's"),
        },
        Row {
            name: "refreshed ID token loses its azp",
            outcome: refresh_of_azp_signin(ok_answer_with(kit::id_token().sign())),
            status: "401",
            expect: "could not be renewed",
            detail: Some("the new ID token's azp is not as the original's"),
        },
        // OIDC Core 2: `iat` is required; one from the future is refused.
        token_row(
            "ID token without iat",
            kit::id_token().without("iat").sign(),
            "claim `iat` is missing or has the wrong type",
        ),
        token_row(
            "ID token issued in the future",
            kit::id_token().claim("iat", NOW + 31).sign(),
            "not valid yet",
        ),
        token_row(
            "ID token with iat as a string",
            kit::id_token().claim("iat", (NOW - 60).to_string()).sign(),
            "claim `iat` is missing or has the wrong type",
        ),
        Row {
            name: "X-Requested-With without Fetch Metadata",
            outcome: {
                let (mut r, d) = kit::viewer_request("/docs/", "", &[]);
                r.headers.set("Accept", "text/html,*/*");
                r.headers.set("X-Requested-With", "XMLHttpRequest");
                authorize(r, &d, &kit::config(), NOW, &mut CountingEntropy(0))
            },
            status: "401",
            expect: "unauthenticated",
            detail: None,
        },
        Row {
            name: "other path under the auth prefix",
            outcome: {
                let (r, d) = kit::viewer_request("/_edge-auth/secret.txt", "", &[]);
                authorize(r, &d, &kit::config(), NOW, &mut CountingEntropy(0))
            },
            status: "404",
            expect: "no page at this address",
            detail: None,
        },
        Row {
            name: "percent-encoded auth prefix",
            outcome: {
                let (r, d) = kit::viewer_request("/_edge%2Dauth/x", "", &[]);
                authorize(r, &d, &kit::config(), NOW, &mut CountingEntropy(0))
            },
            status: "404",
            expect: "no page at this address",
            detail: None,
        },
        Row {
            name: "auth endpoint routed to authorize",
            outcome: {
                let (r, d) = kit::viewer_request("/_edge-auth//callback", "code=x", &[]);
                authorize(r, &d, &kit::config(), NOW, &mut CountingEntropy(0))
            },
            status: "404",
            expect: "no page at this address",
            detail: None,
        },
        Row {
            name: "ID token of a user in 200 groups signs in",
            outcome: callback_with_answer("/", ok_answer_with(big_token("n"))),
            status: "302",
            expect: "/",
            detail: None,
        },
        Row {
            name: "session expired",
            outcome: authorize_with_cookie(format!(
                "__Host-edge-auth-session={}",
                session_with(|c| c.exp = NOW - 600)
            )),
            status: "302",
            expect: "/_edge-auth/refresh?return=%2Fdocs%2F",
            detail: None,
        },
        Row {
            name: "100 KB cookie header",
            outcome: authorize_with_cookie(format!(
                "junk={}; __Host-edge-auth-session={session}",
                "x".repeat(100 * 1024)
            )),
            status: "302",
            expect: "/oauth2/authorize?",
            detail: None,
        },
        Row {
            name: "duplicate session cookies, one valid",
            outcome: authorize_with_cookie(format!(
                "__Host-edge-auth-session=garbage; __Host-edge-auth-session={session}"
            )),
            status: "forward",
            expect: "",
            detail: None,
        },
        Row {
            name: "duplicate session cookies, none valid",
            outcome: authorize_with_cookie(
                "__Host-edge-auth-session=a.b.c; __Host-edge-auth-session=x".into(),
            ),
            status: "302",
            expect: "/oauth2/authorize?",
            detail: Some("token refused: not a well-formed session token"),
        },
        session_row(
            "session: forged MAC",
            format!(
                "{}.{}.{}",
                session_parts[0],
                session_parts[1],
                kit::b64(&[0u8; 32])
            ),
            "token refused: bad signature",
        ),
        session_row(
            "session: claims of another session under this MAC",
            format!(
                "{}.{}.{}",
                session_parts[0],
                kit::b64(
                    &serde_json::to_vec(&{
                        let mut c = kit::session_claims();
                        c.groups = vec!["admins".into()];
                        c
                    })
                    .unwrap()
                ),
                session_parts[2]
            ),
            "token refused: bad signature",
        ),
        session_row(
            "session: alg none",
            format!(
                "{}.{}.",
                kit::b64(br#"{"alg":"none","typ":"edge-auth-session","kid":"test-session-1"}"#),
                session_parts[1]
            ),
            "token refused: signed with an algorithm that is not allowed",
        ),
        session_row(
            "session: RS256",
            format!(
                "{}.{}.{}",
                kit::b64(br#"{"alg":"RS256","typ":"edge-auth-session","kid":"test-session-1"}"#),
                session_parts[1],
                session_parts[2]
            ),
            "token refused: signed with an algorithm that is not allowed",
        ),
        session_row(
            "session: HS512",
            format!(
                "{}.{}.{}",
                kit::b64(br#"{"alg":"HS512","typ":"edge-auth-session","kid":"test-session-1"}"#),
                session_parts[1],
                session_parts[2]
            ),
            "token refused: signed with an algorithm that is not allowed",
        ),
        session_row(
            "session: unknown kid, MAC by a key of its own",
            hand_made_session(
                r#"{"alg":"HS256","typ":"edge-auth-session","kid":"rotated-away"}"#,
                &[7u8; 32],
            ),
            "token refused: signed with an unknown session key",
        ),
        session_row(
            "session: our kid, another key",
            hand_made_session(
                r#"{"alg":"HS256","typ":"edge-auth-session","kid":"test-session-1"}"#,
                &[7u8; 32],
            ),
            "token refused: bad signature",
        ),
        session_row(
            "session: no typ",
            hand_made_session(r#"{"alg":"HS256","kid":"test-session-1"}"#, &[0x5e; 32]),
            "token refused: not a session of this site (wrong `typ`: a provider's token?)",
        ),
        session_row(
            "session: crit",
            hand_made_session(
                r#"{"alg":"HS256","typ":"edge-auth-session","kid":"test-session-1","crit":["exp"]}"#,
                &[0x5e; 32],
            ),
            "token refused: the header names critical extensions (`crit`)",
        ),
        session_row(
            "session: a provider's valid ID token in the session cookie",
            valid.clone(),
            "token refused: signed with an algorithm that is not allowed",
        ),
        session_row(
            "session: iat in the future",
            session_with(|c| c.iat = NOW + 3600),
            "token refused: issued in the future",
        ),
        session_row(
            "session: truncated",
            session[..session.len() - 5].to_owned(),
            "token refused: not a well-formed session token",
        ),
        session_row(
            "session: oversized",
            session_with(|c| c.name = "x".repeat(5000)),
            "token refused: too large to be a session",
        ),
        session_row(
            "session: four parts",
            format!("{session}.x"),
            "token refused: not a well-formed session token",
        ),
        session_row(
            "session: claims of the wrong type",
            hand_made_session_claims(
                br#"{"sub":"a","name":"b","groups":"admins","sid":"s","iat":1,"exp":9999999999}"#,
            ),
            "token refused: a claim is missing or has the wrong type",
        ),
        session_row(
            "session: empty sub",
            session_with(|c| c.sub = String::new()),
            "token refused: a claim is missing or has the wrong type",
        ),
        Row {
            name: "dot segments in the path",
            outcome: {
                let (r, d) = kit::viewer_request("/public/../admin/", "", &[]);
                authorize(r, &d, &kit::config(), NOW, &mut CountingEntropy(0))
            },
            status: "400",
            expect: "cannot be served",
            detail: Some("the path has `.` or `..` segments"),
        },
        Row {
            name: "junk Host and distribution name (fuzz finding)",
            outcome: {
                let (mut r, mut d) = kit::viewer_request("/docs/", "", &[]);
                r.headers.set("Host", "d1.example/x,*/*");
                d.distribution_domain_name = "d1.cloudfront_x#=a.b.c; evil".into();
                authorize(r, &d, &kit::config(), NOW, &mut CountingEntropy(0))
            },
            status: "400",
            expect: "does not name a valid host",
            detail: None,
        },
        Row {
            name: "state mismatch",
            outcome: callback_done(
                &format!("code={CODE}&state={}", "T".repeat(43)),
                &[flow_cookie("/")],
            ),
            status: "400",
            expect: "not started in this browser",
            detail: None,
        },
        Row {
            name: "state malformed",
            outcome: callback_done(&format!("code={CODE}&state=<script>"), &[flow_cookie("/")]),
            status: "400",
            expect: "does not say which sign-in it belongs to",
            detail: None,
        },
        Row {
            name: "state missing",
            outcome: callback_done(&format!("code={CODE}"), &[flow_cookie("/")]),
            status: "400",
            expect: "does not say which sign-in it belongs to",
            detail: None,
        },
        Row {
            name: "state repeated",
            outcome: callback_done(
                &format!("code={CODE}&state={STATE}&state={STATE}"),
                &[flow_cookie("/")],
            ),
            status: "400",
            expect: "has been changed",
            detail: None,
        },
        Row {
            name: "flow cookie tampered",
            outcome: callback_done(
                &format!("code={CODE}&state={STATE}"),
                &[format!("__Host-edge-auth-flow-{STATE}=1.2.3.4")],
            ),
            status: "400",
            expect: "not started in this browser",
            detail: None,
        },
        Row {
            name: "flow expired",
            outcome: {
                let f = FlowCookie {
                    issued_at: NOW - 3600,
                    verifier: "v".repeat(43),
                    nonce: "n".repeat(43),
                    return_to: "/".into(),
                    forced: false,
                    site: None,
                    branch: None,
                };
                callback_done(
                    &format!("code={CODE}&state={STATE}"),
                    &[format!(
                        "__Host-edge-auth-flow-{STATE}={}",
                        f.seal(STATE, &kit::config())
                    )],
                )
            },
            status: "400",
            expect: "expired",
            detail: None,
        },
        Row {
            name: "code missing",
            outcome: callback_done(&format!("state={STATE}"), &[flow_cookie("/")]),
            status: "400",
            expect: "without completing the sign-in",
            detail: Some("code missing"),
        },
        Row {
            name: "malformed query",
            outcome: callback_done("code=%zz&state=1", &[flow_cookie("/")]),
            status: "400",
            expect: "is damaged",
            detail: None,
        },
        Row {
            name: "provider access_denied",
            outcome: callback_done(
                &format!("error=access_denied&error_description=%3Cscript%3E&state={STATE}"),
                &[flow_cookie("/back")],
            ),
            status: "403",
            expect: "access_denied",
            detail: Some("access_denied"),
        },
        Row {
            name: "provider other error",
            outcome: callback_done("error=server_error", &[]),
            status: "400",
            expect: "server_error",
            detail: Some("server_error"),
        },
        Row {
            name: "provider error not in the standards",
            outcome: callback_done("error=Call_555-0100_for_support", &[]),
            status: "400",
            expect: "does not recognise",
            detail: Some("Call_555-0100_for_support"),
        },
        Row {
            // fuzz finding: the visible characters of `error` spelled the code
            name: "provider error spelling the code (fuzz finding)",
            outcome: callback_done(
                &format!(
                    "code={CODE}&state={STATE}&error=%60%00{}",
                    CODE.replace('-', "%00-")
                ),
                &[flow_cookie("/")],
            ),
            status: "400",
            expect: "does not recognise",
            detail: None,
        },
        Row {
            name: "token endpoint 500",
            outcome: callback_with_answer(
                "/",
                ProviderOutcome::Answered {
                    status: 500,
                    body: b"oops".to_vec(),
                },
            ),
            status: "503",
            expect: "internal error",
            detail: Some("5xx"),
        },
        Row {
            name: "token endpoint timeout",
            outcome: callback_with_answer("/", ProviderOutcome::TimedOut),
            status: "504",
            expect: "did not answer in time",
            detail: Some("timed out"),
        },
        Row {
            name: "token endpoint unreachable",
            outcome: callback_with_answer("/", ProviderOutcome::Unreachable),
            status: "503",
            expect: "cannot be reached",
            detail: Some("unreachable"),
        },
        Row {
            name: "token endpoint invalid JSON",
            outcome: callback_with_answer(
                "/",
                ProviderOutcome::Answered {
                    status: 200,
                    body: b"{\"id_token\": ".to_vec(),
                },
            ),
            status: "503",
            expect: "cannot read",
            detail: Some("invalid answer"),
        },
        Row {
            name: "token endpoint HTML error",
            outcome: callback_with_answer(
                "/",
                ProviderOutcome::Answered {
                    status: 400,
                    body: b"<html>".to_vec(),
                },
            ),
            status: "503",
            expect: "cannot read",
            detail: Some("invalid answer"),
        },
        Row {
            name: "code already used",
            outcome: callback_with_answer(
                "/",
                ProviderOutcome::Answered {
                    status: 400,
                    body: br#"{"error":"invalid_grant"}"#.to_vec(),
                },
            ),
            status: "400",
            expect: "already completed",
            detail: Some("invalid_grant"),
        },
        Row {
            name: "client rejected",
            outcome: callback_with_answer(
                "/",
                ProviderOutcome::Answered {
                    status: 401,
                    body: br#"{"error":"invalid_client"}"#.to_vec(),
                },
            ),
            status: "500",
            expect: "configuration needs attention",
            detail: Some("invalid_client"),
        },
        Row {
            name: "secret unavailable",
            outcome: callback_with_answer("/", ProviderOutcome::CredentialsUnavailable),
            status: "503",
            expect: "cannot read its own credentials",
            detail: Some("client secret unavailable"),
        },
        Row {
            name: "no id_token",
            outcome: callback_with_answer(
                "/",
                ProviderOutcome::Answered {
                    status: 200,
                    body: br#"{"access_token":"a"}"#.to_vec(),
                },
            ),
            status: "503",
            expect: "no ID token",
            detail: None,
        },
        Row {
            name: "nonce differs",
            outcome: callback_with_answer("/", ok_answer(&"x".repeat(43))),
            status: "401",
            expect: "did not pass verification",
            detail: Some("nonce does not match this sign-in"),
        },
    ];
    for evil in [
        "//evil.example",
        "/\\evil.example",
        "/%2F%2Fevil.example",
        "/%09/evil.example",
        "https://evil.example",
        "javascript:alert(1)",
        "/%5C%5Cevil.example",
        "/\t/evil.example",
    ] {
        rows.push(Row {
            name: "open redirect via flow cookie",
            outcome: callback_with_answer(evil, ok_answer(&"n".repeat(43))),
            status: "302",
            expect: "/",
            detail: None,
        });
        let query = edge_auth_core::query::encode_form([("return", evil)]);
        rows.push(Row {
            name: "open redirect via refresh return",
            outcome: refresh_with(&query),
            status: "302",
            expect: "/",
            detail: None,
        });
    }
    rows
}

#[test]
fn every_bad_input_gets_its_page() {
    let mut failures = Vec::new();
    for row in rows() {
        let (status, text, headers) = match &row.outcome.output {
            HandlerOutput::Forward(_) => ("forward".to_owned(), String::new(), String::new()),
            HandlerOutput::Respond(r) => {
                let text = match r.headers.first("location") {
                    Some(loc) => loc.to_owned(),
                    None => r.body.clone().unwrap_or_default(),
                };
                assert_eq!(
                    r.headers
                        .first("cache-control")
                        .map(|c| c == "no-store" || c.starts_with("max-age")),
                    Some(true),
                    "{}",
                    row.name
                );
                (r.status.clone(), text, format!("{:?}", r.headers))
            }
        };
        let expect_ok = if row.status == "302" && row.expect == "/" {
            text == "/"
        } else {
            text.contains(row.expect)
        };
        if status != row.status
            || !expect_ok
            || (row.detail.is_some() && row.outcome.detail.as_deref() != row.detail)
        {
            failures.push(format!(
                "{}: got {status} {:?} detail {:?}; text: {}",
                row.name,
                row.outcome.event,
                row.outcome.detail,
                &text[..text.len().min(200)]
            ));
        }
        // Nothing the attacker or provider sent comes back in a page or a header.
        for secret in [CODE, "<script>", "555-0100"] {
            assert!(
                !text.contains(secret) && !headers.contains(secret),
                "{} echoed {secret}",
                row.name
            );
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The links on the callback's error pages come from the flow cookie, which
/// the browser sends back and an attacker can plant: they are checked as the
/// success redirect is.
#[test]
fn planted_return_paths_never_become_links() {
    for evil in [
        "javascript:alert(1)",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
    ] {
        let provider_error = callback_done(
            &format!("error=access_denied&state={STATE}"),
            &[flow_cookie(evil)],
        );
        let expired = {
            let f = FlowCookie {
                issued_at: NOW - 3600,
                verifier: "v".repeat(43),
                nonce: "n".repeat(43),
                return_to: evil.into(),
                forced: false,
                site: None,
                branch: None,
            };
            callback_done(
                &format!("code={CODE}&state={STATE}"),
                &[format!(
                    "__Host-edge-auth-flow-{STATE}={}",
                    f.seal(STATE, &kit::config())
                )],
            )
        };
        for outcome in [provider_error, expired] {
            let HandlerOutput::Respond(page) = &outcome.output else {
                panic!("{evil}: expected a page");
            };
            let body = page.body.as_deref().unwrap_or_default();
            assert!(body.contains(r#"href="/""#), "{evil}: {body}");
            assert!(
                !body.contains("javascript") && !body.contains("evil.example"),
                "{evil} became a link: {body}"
            );
        }
    }
}

/// A user in 200 groups signs in: the session keeps only the groups the
/// rules name. A session the browser would still drop (rules that name
/// hundreds of groups, a user in all of them) is a page, not a loop.
#[test]
fn a_user_in_200_groups_signs_in_and_a_session_too_large_is_a_page() {
    let token = big_token("n");
    assert!(
        token.len() > 4096,
        "the test token is {} bytes",
        token.len()
    );
    let outcome = callback_with_answer("/docs/", ok_answer_with(token.clone()));
    let HandlerOutput::Respond(page) = &outcome.output else {
        panic!("expected a redirect");
    };
    assert_eq!((page.status.as_str(), outcome.event), ("302", "signed-in"));
    let (_, session) = kit::set_cookies(page)
        .into_iter()
        .find(|(n, _)| n == "__Host-edge-auth-session")
        .expect("a session");
    assert!(session.len() < 600, "{} bytes", session.len());

    // Rules naming every one of the user's 200 groups.
    let mut value = kit::config_value("https://auth.example.com");
    let groups: Vec<String> = (0..200).map(|i| format!("team-{i:03}-readers")).collect();
    value["rules"] = serde_json::json!([{ "pattern": "/teams/*", "groups": groups }]);
    let config = kit::config_from(value);
    let (request, dist) = kit::viewer_request(
        "/_edge-auth/refresh",
        "return=%2Fdocs%2F",
        &[
            kit::refresh_cookie("rt"),
            format!("__Host-edge-auth-session={}", kit::session()),
        ],
    );
    let Step::Call { pending, .. } =
        refresh_begin(&request, &dist, &config, NOW, &mut CountingEntropy(0))
    else {
        panic!()
    };
    let outcome = refresh_complete(
        pending,
        &config,
        kit::keys(&config),
        NOW,
        &mut CountingEntropy(0),
        &ok_answer_with(token),
    );
    let HandlerOutput::Respond(page) = &outcome.output else {
        panic!("expected a page");
    };
    assert_eq!(
        (page.status.as_str(), outcome.event),
        ("500", "id-token-too-large")
    );
    assert!(page.headers.first("location").is_none());
    assert!(kit::set_cookies(page).is_empty());
    assert!(
        kit::cleared_cookies(page).contains(&"__Host-edge-auth-session".to_owned()),
        "the old session is cleared"
    );
}

/// Redirect URIs come from `site.base_url` or the distribution's own name,
/// never from the viewer's Host header.
#[test]
fn the_host_header_never_builds_a_redirect_uri() {
    let (mut request, dist) = kit::viewer_request("/docs/", "", &[]);
    request.headers.set("Host", "evil.example");
    let outcome = authorize(request, &dist, &kit::config(), NOW, &mut CountingEntropy(0));
    let HandlerOutput::Respond(r) = &outcome.output else {
        panic!()
    };
    let location = r.headers.first("location").unwrap();
    assert!(
        location.contains(
            "redirect_uri=https%3A%2F%2Fd111111abcdef8.cloudfront.net%2F_edge-auth%2Fcallback"
        ),
        "{location}"
    );
    assert!(!location.contains("evil.example"), "{location}");
}

/// Another site cannot sign the user out; our own pages, typed URLs and
/// browsers without Fetch Metadata can.
#[test]
fn only_a_same_origin_or_confirmed_signout_acts() {
    use edge_auth_core::signout::signout_begin;
    let config = kit::config();
    let done = |outcome: Step<edge_auth_core::signout::SignoutPending>| match outcome {
        Step::Done(o) => o,
        Step::Call { pending, .. } => match edge_auth_core::signout::signout_complete(
            pending,
            &config,
            &ProviderOutcome::Answered {
                status: 200,
                body: vec![],
            },
        ) {
            Step::Done(o) => o,
            Step::Call { .. } => panic!("one token, one call"),
        },
    };
    for (site, status) in [
        (Some("cross-site"), "403"),
        (Some("same-origin"), "302"),
        (Some("none"), "302"),
        (Some("same-site"), "403"),
        (Some("SAME-ORIGIN"), "302"),
        (None, "403"),
    ] {
        let (mut request, dist) = kit::viewer_request(
            "/_edge-auth/signout",
            "",
            &["__Host-edge-auth-session=x".into()],
        );
        if let Some(site) = site {
            request.headers.set("Sec-Fetch-Site", site);
        }
        let outcome = done(signout_begin(
            &request,
            &dist,
            &config,
            NOW,
            &mut CountingEntropy(0),
        ));
        assert_eq!(outcome.status(), Some(status), "{site:?}");
        let HandlerOutput::Respond(r) = &outcome.output else {
            panic!()
        };
        if status != "403" {
            continue;
        }
        // Nothing cleared; a confirmation token set, and in the button.
        assert!(kit::cleared_cookies(r).is_empty(), "nothing is cleared");
        let set = kit::set_cookies(r);
        assert_eq!(set.len(), 1, "{set:?}");
        assert_eq!(set[0].0, "__Host-edge-auth-signout");
        let token = &set[0].1;
        let body = r.body.as_deref().unwrap();
        let href = format!(r#"href="/_edge-auth/signout?confirm={token}""#);
        assert!(body.contains(&href), "{body}");
        // The button (with the cookie) signs out, even without Fetch
        // Metadata or from a sibling subdomain.
        let (mut request, dist) = kit::viewer_request(
            "/_edge-auth/signout",
            &format!("confirm={token}"),
            &[format!("__Host-edge-auth-signout={token}")],
        );
        if let Some(site) = site {
            request.headers.set("Sec-Fetch-Site", site);
        }
        let outcome = done(signout_begin(
            &request,
            &dist,
            &config,
            NOW,
            &mut CountingEntropy(5),
        ));
        assert_eq!(outcome.status(), Some("302"), "{site:?} confirmed");
        // The token without its cookie (another site's link), or another
        // token, is refused.
        for (query, cookie) in [
            (format!("confirm={token}"), None),
            (format!("confirm={}", "A".repeat(43)), Some(token.clone())),
            ("confirm=".to_owned(), Some(String::new())),
        ] {
            let cookies: Vec<String> = cookie
                .map(|c| format!("__Host-edge-auth-signout={c}"))
                .into_iter()
                .collect();
            let (mut request, dist) = kit::viewer_request("/_edge-auth/signout", &query, &cookies);
            if let Some(site) = site {
                request.headers.set("Sec-Fetch-Site", site);
            }
            let outcome = done(signout_begin(
                &request,
                &dist,
                &config,
                NOW,
                &mut CountingEntropy(7),
            ));
            assert_eq!(outcome.status(), Some("403"), "{site:?} {query}");
        }
    }
}
