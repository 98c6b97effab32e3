//! The per-request check as a CloudFront Function (cloudfront-js-2.0),
//! rendered from the configuration: the path rules, public paths, cookie
//! names and paths are this crate's, written into the function as data,
//! never copied by hand. The decision code (`cloudfront-function.js`) is
//! held to [`crate::authorize::authorize`] by a differential test
//! (`tests/cloudfront_function.rs`, under Node.js and Debian's njs).
//!
//! What differs from `authorize` by design: a sign-in cannot start here (a
//! CloudFront Function has no secure random source for `state`, `nonce` and
//! the PKCE verifier), so it redirects to `paths.start` (`?return=..`),
//! served by signin ([`crate::signin::signin_start`]); session keys are read from the
//! function's KeyValueStore (`key:<kid>`), so a key rotation changes no
//! function.

use serde_json::{Map, Value, json};

use crate::authorize::{
    AUTH_PATH_NOT_FOUND, BAD_PATH, FORBIDDEN_TITLE, NAMELESS, SESSION_EXPIRED, STEP_UP,
    SWITCH_USER_LABEL, TOKEN_FORBIDDEN, TOKEN_INVALID, UNAUTHENTICATED, UNKNOWN_SITE,
    forbidden_message, home, token_refused,
};
use crate::event::Headers;
use crate::pages::{self, Action, action_html, escape, page_body};
use crate::{CloudFrontResponse, Config, HandlerOutput};

/// CloudFront's limit on a function's code.
pub const MAX_FUNCTION_BYTES: usize = 10 * 1024;
const TEMPLATE: &str = include_str!("cloudfront-function.js");
/// Where a generated answer's one variable part goes (a `Location`).
const LOCATION: &str = "@@L@@";
/// Where a script's 401 names its error (the same headers either way).
const ERROR: &str = "@@E@@";

/// Where the function sends a visitor without a session to start a sign-in.
pub fn start_path(config: &Config) -> String {
    config.paths().start.clone()
}

/// The store's two kinds of entry, by the prefix of their names (the
/// function's template reads the same names; the differential test holds
/// the two to each other through [`key_value_store`]): a session verify
/// key, `key:<kid>`, which the deploy tool owns, and a revocation,
/// `revoked:<sub>`, which `edge-auth-deploy revoke` owns.
pub const SESSION_KEY_PREFIX: &str = "key:";
pub const REVOCATION_PREFIX: &str = "revoked:";

/// The store's entry for session key `kid`.
pub fn session_key_entry(kid: &str) -> String {
    format!("{SESSION_KEY_PREFIX}{kid}")
}

/// The store's entry naming a user's revocation.
pub fn revocation_key(sub: &str) -> String {
    format!("{REVOCATION_PREFIX}{sub}")
}

/// Session verify keys as store entries: what a deploy writes. The value
/// is the key (base64url, as the key set holds it), and for a retiring
/// key `.` and its deadline (`not_after`, seconds), which the function
/// holds every session it verifies with that key to. Names only are ever
/// shown.
pub fn session_key_entries(
    keys: &[crate::session::SessionKeyFile],
) -> std::collections::BTreeMap<String, String> {
    keys.iter()
        .map(|k| (session_key_entry(&k.kid), session_key_value(k)))
        .collect()
}

/// A session verify key as the function reads it, from `key:<kid>` or a
/// site's entry: the key, and for a retiring key `.` and its deadline.
pub fn session_key_value(key: &crate::session::SessionKeyFile) -> String {
    match key.not_after {
        Some(deadline) => format!("{}.{deadline}", key.key),
        None => key.key.clone(),
    }
}

/// The key value store's entries for `config` (one that carries its key
/// material): its session keys, each of its revocations (seconds,
/// decimal), and with a site table each site's entry (`crate::sites`).
pub fn key_value_store(config: &Config) -> std::collections::BTreeMap<String, String> {
    let mut entries = session_key_entries(&config.file.session.keys);
    for (sub, up_to) in config.sessions.revocations() {
        entries.insert(revocation_key(sub), up_to.to_string());
    }
    // A site table's entries carry the same keys.
    entries.extend(crate::sites::site_entries(
        config,
        &config.file.session.keys,
    ));
    entries
}

/// CloudFront KeyValueStore's limits: a key at most 512 bytes, a value at
/// most 1 KB, the whole store (keys and values) at most 5 MB.
pub const MAX_STORE_KEY_BYTES: usize = 512;
pub const MAX_STORE_VALUE_BYTES: usize = 1024;
pub const MAX_STORE_BYTES: usize = 5 * 1024 * 1024;

/// Entries the key value store would refuse.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreTooLarge {
    #[error(
        "key value store entry {key}: the key is {bytes} bytes, over the store's {MAX_STORE_KEY_BYTES}"
    )]
    Key { key: String, bytes: usize },
    #[error(
        "key value store entry {key}: the value is {bytes} bytes, over the store's {MAX_STORE_VALUE_BYTES}"
    )]
    Value { key: String, bytes: usize },
    #[error("the key value store's entries are {bytes} bytes, over the store's {MAX_STORE_BYTES}")]
    Total { bytes: usize },
    /// A session key anyone could guess: the function refuses keys under
    /// 32 bytes too, so writing one would sign everyone out.
    #[error(
        "key value store entry {key}: not a session key of at least {} bytes (base64url)",
        crate::session::SESSION_KEY_BYTES
    )]
    ShortKey { key: String },
}

/// `entries` held to the store's limits before anything is written: a
/// write the store refuses halfway would leave some verifiers without a key.
pub fn check_store_limits(
    entries: &std::collections::BTreeMap<String, String>,
) -> Result<(), StoreTooLarge> {
    let mut total = 0;
    for (key, value) in entries {
        if key.len() > MAX_STORE_KEY_BYTES {
            return Err(StoreTooLarge::Key {
                key: key.chars().take(40).collect(),
                bytes: key.len(),
            });
        }
        if value.len() > MAX_STORE_VALUE_BYTES {
            return Err(StoreTooLarge::Value {
                key: key.clone(),
                bytes: value.len(),
            });
        }
        if key.starts_with(SESSION_KEY_PREFIX) {
            use base64::Engine;
            let material = value.split('.').next().unwrap_or("");
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(material);
            if bytes.map_or(true, |b| b.len() < crate::session::SESSION_KEY_BYTES) {
                return Err(StoreTooLarge::ShortKey { key: key.clone() });
            }
        }
        total += key.len() + value.len();
    }
    if total > MAX_STORE_BYTES {
        return Err(StoreTooLarge::Total { bytes: total });
    }
    Ok(())
}

/// A configuration whose function CloudFront would refuse.
#[derive(Debug, thiserror::Error)]
#[error(
    "the CloudFront Function for these settings is {bytes} bytes, over CloudFront's limit of {MAX_FUNCTION_BYTES}: use fewer or shorter rules and public paths, or authorizer = \"lambda-edge\""
)]
pub struct FunctionTooLarge {
    pub bytes: usize,
}

/// [`render`], refused when CloudFront would refuse it.
pub fn render_checked(config: &Config) -> Result<String, FunctionTooLarge> {
    let function = render(config);
    if function.len() > MAX_FUNCTION_BYTES {
        return Err(FunctionTooLarge {
            bytes: function.len(),
        });
    }
    Ok(function)
}

/// A rule as the function holds it: `[pattern, groups]`, and only with a
/// step-up its age (0: none) and second factor, so most rules cost no
/// extra byte (of the function's 10 KB, or of a site's store entry).
pub fn rule_value(rule: &crate::config::Rule) -> Value {
    let mut r = json!([rule.pattern.as_str(), rule.groups]);
    if !rule.step_up.is_none() {
        let age = rule.step_up.max_auth_age_seconds.unwrap_or(0);
        r.as_array_mut()
            .unwrap()
            .extend([json!(age), json!(rule.step_up.mfa)]);
    }
    r
}

/// The function's source for `config`: the template with the settings and
/// the core's own pages, headers and words written in as data, and its
/// whole-line comments dropped (CloudFront counts every byte of the 10 KB).
pub fn render(config: &Config) -> String {
    let paths = config.paths();
    // The HTML page shell with its parts as placeholders, and every page's
    // parts as the core writes them (escaped here, once).
    let parts = |(title, message): (&str, &str)| json!([escape(title), escape(message)]);
    let rules: Vec<Value> = config.rules.iter().map(rule_value).collect();
    // The 403 page's words with the user (escaped by the function) and the
    // rule's groups (joined and escaped by the function) as placeholders;
    // escaping is character by character, so the parts escape alone.
    let forbidden_message = escape(&forbidden_message("@@W@@", &["@@G@@".to_owned()]));
    // Every generated answer's headers: those all share once, then each
    // answer's own.
    let answers = [
        ("html", pages::html_headers()),
        ("redirect", pages::redirect(LOCATION, vec![]).headers),
        ("moved", crate::index_path::moved(LOCATION).headers),
        ("script", script_401(ERROR).headers),
    ]
    .map(|(name, headers)| (name, header_map(&headers)));
    let shared: Map<String, Value> = answers[0]
        .1
        .iter()
        .filter(|(name, value)| answers.iter().all(|(_, h)| h.get(*name) == Some(value)))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let own = |i: usize| -> Value {
        let (_, headers) = &answers[i];
        Value::Object(
            headers
                .iter()
                .filter(|(name, _)| !shared.contains_key(*name))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
        )
    };
    let reasons: Map<String, Value> = [301, 302, 400, 401, 403, 404]
        .into_iter()
        .map(|s| (s.to_string(), json!(pages::reason_phrase(s))))
        .collect();
    let data = json!({
        "public": config.public.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "rules": rules,
        "authPrefix": paths.auth_prefix,
        // With the query's `?`: the function adds `return=…` (a branch's
        // preview's start, from its store entry, ends with `&`).
        "refresh": format!("{}?", paths.refresh),
        "start": format!("{}?", start_path(config)),
        "signout": paths.signout,
        "sessionCookie": config.cookie_names.session,
        "userCookie": config.cookie_names.user,
        "leeway": config.provider().clock_skew_seconds,
        "maxSession": config.sessions.max_lifetime(),
        "index": crate::index_path::INDEX_DOCUMENT,
        "reasons": reasons,
        "headers": shared,
        "html": {"headers": own(0), "body": page_body("@@S@@", "@@T@@", "@@M@@", "@@A@@")},
        "badPath": parts(BAD_PATH),
        "authPath": parts(AUTH_PATH_NOT_FOUND),
        "home": action_html(home()),
        "forbidden": [escape(FORBIDDEN_TITLE), forbidden_message],
        "nameless": NAMELESS,
        "switchUser": action_html(Some(Action { href: "@@H@@", label: SWITCH_USER_LABEL })),
        "redirect": own(1),
        "moved": own(2),
        // A script's 401, its `error` filled in: [none, expired].
        "script": {"headers": own(3), "body": script_401(ERROR).body, "errors": [UNAUTHENTICATED, SESSION_EXPIRED, STEP_UP]},
    });
    // The import stays a line of its own, as CloudFront documents it.
    let (import, code) = TEMPLATE
        .split_once(KVS_IMPORT)
        .expect("the template imports the cloudfront module");
    assert!(
        minify(import).trim().is_empty(),
        "only comments before the import"
    );
    // With one site, the site table's code is left out (CloudFront
    // counts its bytes; the differential test runs both forms); with a
    // table, its 404 page for a host that is no site's goes in.
    // Service tokens' code and answers only where they are read.
    let mut data = data;
    let code = match &config.file.tokens {
        Some(tokens) => {
            // The refusal with its error as a placeholder: its
            // WWW-Authenticate and body (the rest are the script 401's
            // headers, which the test holds equal), and the two errors.
            let (status, _, event) = TOKEN_INVALID;
            let outcome = token_refused((status, ERROR, event));
            let HandlerOutput::Respond(response) = outcome.output else {
                unreachable!("a refusal is an answer")
            };
            let challenge = response
                .headers
                .first("www-authenticate")
                .unwrap_or_default();
            data["tokens"] = json!(tokens.max_lifetime_seconds);
            data["bearer"] = json!([
                challenge,
                response.body.unwrap_or_default(),
                [TOKEN_INVALID.1, TOKEN_FORBIDDEN.1]
            ]);
            code.to_owned()
        }
        None => without_region(code, "tokens"),
    };
    let code = match &config.file.shares {
        Some(shares) => {
            data["shares"] = json!(shares.max_lifetime_seconds);
            data["shareCookie"] = json!(config.cookie_names.share);
            code
        }
        None => without_region(&code, "shares"),
    };
    // Neither tokens nor links: `verify` reads sessions alone.
    let code = if config.file.tokens.is_none() && config.file.shares.is_none() {
        sessions_only(&code)
    } else {
        code
    };
    if config.site_table() {
        // Each request's public paths and rules come from its site's
        // entry: the deployment's own would be bytes never read.
        data["public"] = json!([]);
        data["rules"] = json!([]);
        data["noSite"] = parts(UNKNOWN_SITE);
        finish(code, data)
    } else {
        finish(without_region(&code, "sites"), data)
    }
}

/// `verify` back to a session's alone: its `typ` and lifetime written
/// in, as without tokens and links nothing passes them (each replaced
/// exactly once, or the build stops).
fn sessions_only(code: &str) -> String {
    let mut code = code.to_owned();
    for (from, to) in [
        (
            "verify(token, now, site, typ, max)",
            "verify(token, now, site)",
        ),
        ("'edge-auth-' + (typ || 'session')", "'edge-auth-session'"),
        ("(max || CONFIG.maxSession)", "CONFIG.maxSession"),
    ] {
        assert_eq!(code.matches(from).count(), 1, "{from} in the template");
        code = code.replacen(from, to, 1);
    }
    code
}

/// `code` without the lines from `//{name` to `//}name`, both included.
fn without_region(code: &str, name: &str) -> String {
    let (open, close) = (format!("//{{{name}"), format!("//}}{name}"));
    let mut inside = false;
    let mut kept = String::with_capacity(code.len());
    for line in code.split_inclusive('\n') {
        let marker = line.trim();
        if marker == open {
            assert!(!inside, "{open} inside {open}");
            inside = true;
        } else if marker == close {
            assert!(inside, "{close} without {open}");
            inside = false;
        } else if !inside {
            kept.push_str(line);
        }
    }
    assert!(!inside, "{open} never closed");
    kept
}

/// The rendered function: the data written in, the names shortened.
fn finish(code: String, data: Value) -> String {
    let (code, data) = shorten_keys(&code, data);
    format!(
        "{KVS_IMPORT}\n{}",
        minify(&code.replacen("__CONFIG__", &data.to_string(), 1))
    )
}

/// The data's top-level keys as single letters, in the data and in the
/// template's `CONFIG.<key>`: the template names its settings for the
/// reader, CloudFront counts every byte. Only whole names are replaced; a
/// name left long would read `undefined`, which the differential test
/// would catch on its first request.
fn shorten_keys(code: &str, data: Value) -> (String, Value) {
    let Value::Object(data) = data else {
        unreachable!("the function's data is an object")
    };
    let letters = ('a'..='z').chain('A'..='Z');
    assert!(data.len() <= 52, "more settings than single letters");
    let mut code = code.to_owned();
    let mut short = Map::new();
    for ((key, value), letter) in data.into_iter().zip(letters) {
        code = replace_name(&code, &format!("CONFIG.{key}"), &format!("CONFIG.{letter}"));
        short.insert(letter.to_string(), value);
    }
    (code, Value::Object(short))
}

/// `text` with every `from` that is not the start of a longer name
/// (`CONFIG.home` but not `CONFIG.homePage`) replaced by `to`.
fn replace_name(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let after = &rest[at + from.len()..];
        out.push_str(&rest[..at]);
        let whole = !after.bytes().next().is_some_and(ident);
        out.push_str(if whole { to } else { from });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The function's one import: the key value store.
pub const KVS_IMPORT: &str = "import cf from 'cloudfront';";

/// Drops the comments and the whitespace JavaScript does not need, and
/// gives the names the template declares (`var`, `function`, parameters,
/// `catch`) short ones: the template is written to be read, CloudFront
/// counts every byte of its 10 KB. Line breaks stay where a statement could
/// end, so no automatic semicolon changes meaning. Enough for the template,
/// whose rendered form the differential test runs: not a general minifier.
fn minify(source: &str) -> String {
    let tokens = tokenize(source);
    let names = short_names(&tokens);
    let mut out = String::with_capacity(source.len());
    for (k, token) in tokens.iter().enumerate() {
        let text = match names.get(token.text) {
            Some(short) if is_reference(&tokens, k) => short.as_str(),
            _ => token.text,
        };
        if let Some(&prev) = out.as_bytes().last() {
            let first = text.as_bytes()[0];
            // After a `}` too: the template ends every expression
            // statement with `;`, so a `}` there closes a block (the
            // differential test runs every rendering).
            if token.newline_before && !b"{};,([=+-*&|?:!<>".contains(&prev) && !continues(text) {
                out.push('\n');
            } else if token.space_before
                && ((ident(prev) && ident(first)) || (prev == first && b"+-".contains(&prev)))
            {
                out.push(' ');
            }
        }
        out.push_str(text);
    }
    out.push('\n');
    out
}

/// Whether a line starting with this token continues the one before
/// whatever comes first (`|| x`, `.y`, `) {`, `} else`), so the line
/// break before it is no statement's end and can go: JavaScript inserts
/// no semicolon there (ECMA-262 §12.10), nor before a `}`.
fn continues(token: &str) -> bool {
    let bytes = token.as_bytes();
    let number = bytes.get(1).is_some_and(u8::is_ascii_digit);
    (b"|&?:,)]}".contains(&bytes[0]) || (bytes[0] == b'.' && !number))
        || matches!(token, "else" | "catch" | "finally")
}

struct Token<'a> {
    text: &'a str,
    space_before: bool,
    newline_before: bool,
}

/// A byte of a JavaScript name (the template's names are ASCII).
fn ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

fn tokenize(source: &str) -> Vec<Token<'_>> {
    let bytes = source.as_bytes();
    let mut tokens: Vec<Token> = Vec::new();
    let (mut space, mut newline) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            newline |= c == b'\n';
            space = true;
            i += 1;
            continue;
        }
        if bytes[i..].starts_with(b"//") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if bytes[i..].starts_with(b"/*") {
            i += 2;
            while i + 1 < bytes.len() && !bytes[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
            continue;
        }
        let start = i;
        // A regular expression can follow an operator or one of these
        // words; after an operand, `/` divides.
        let after_operand = tokens.last().is_some_and(|t| {
            let last = t.text.as_bytes()[t.text.len() - 1];
            (ident(last) || b")]}".contains(&last))
                && !matches!(t.text, "return" | "typeof" | "in" | "of" | "case")
        });
        if c == b'\'' || c == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != c {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == b'/' && !after_operand {
            let mut class = false;
            i += 1;
            while i < bytes.len() && (class || bytes[i] != b'/') {
                match bytes[i] {
                    b'\\' => i += 1,
                    b'[' => class = true,
                    b']' => class = false,
                    _ => {}
                }
                i += 1;
            }
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
        } else if ident(c) {
            while i < bytes.len() && ident(bytes[i]) {
                i += 1;
            }
        } else {
            i += 1;
        }
        tokens.push(Token {
            text: &source[start..i.min(bytes.len())],
            space_before: space,
            newline_before: newline,
        });
        space = false;
        newline = false;
    }
    tokens
}

/// Short names for what the template declares. `handler` keeps its name:
/// CloudFront calls it.
fn short_names(tokens: &[Token<'_>]) -> std::collections::HashMap<String, String> {
    let mut declared: Vec<&str> = Vec::new();
    let mut in_parameters = false;
    // Bracket depth, and the depth of the `var` statement being read
    // (`var a = f(x, y), b;` declares `b` too, but not `y`).
    let mut depth = 0usize;
    let mut var_depth: Option<usize> = None;
    for (k, token) in tokens.iter().enumerate() {
        let previous = k.checked_sub(1).map(|p| tokens[p].text);
        match token.text {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => {
                depth = depth.saturating_sub(1);
                if var_depth.is_some_and(|d| depth < d) {
                    var_depth = None;
                }
            }
            ";" if var_depth == Some(depth) => var_depth = None,
            "var" => var_depth = Some(depth),
            _ => {}
        }
        let is_name = token.text.as_bytes()[0].is_ascii_alphabetic();
        let listed = previous == Some(",") && var_depth == Some(depth);
        if is_name
            && (matches!(previous, Some("var" | "function")) || in_parameters || listed)
            && token.text != "handler"
            && !declared.contains(&token.text)
        {
            declared.push(token.text);
        }
        // `function name(a, b)`, `function (a)`, `catch (e)`.
        if token.text == "(" {
            let opener = tokens[..k].iter().rev().take(2).map(|t| t.text);
            in_parameters = opener.clone().any(|t| t == "function") || previous == Some("catch");
        } else if token.text == ")" {
            in_parameters = false;
        }
    }
    // The names used most get the shortest: one letter, then two.
    let uses = |name: &str| {
        (0..tokens.len())
            .filter(|&k| tokens[k].text == name && is_reference(tokens, k))
            .count()
    };
    let mut declared: Vec<(usize, &str)> = declared.into_iter().map(|n| (uses(n), n)).collect();
    declared.sort_by_key(|d| std::cmp::Reverse(d.0));
    // A short name must not be a word of the language, nor any name the
    // template writes (a global such as `cf`, a property): so no rename can
    // shadow or capture another.
    let taken = |name: &str| RESERVED.contains(&name) || tokens.iter().any(|t| t.text == name);
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut candidates = (0usize..).map(|mut n| {
        let mut short = String::new();
        loop {
            short.push(LETTERS[n % LETTERS.len()] as char);
            n /= LETTERS.len();
            if n == 0 {
                break short;
            }
            n -= 1;
        }
    });
    declared
        .into_iter()
        .map(|(_, name)| {
            let short = candidates
                .by_ref()
                .find(|c| !taken(c))
                .expect("names enough");
            (name.to_owned(), short)
        })
        .collect()
}

/// JavaScript's reserved words (and `of`, `as`), none of which a short
/// name may be.
const RESERVED: &[&str] = &[
    "as", "do", "if", "in", "of", "for", "let", "new", "try", "var", "case", "else", "enum",
    "null", "this", "true", "void", "with", "await", "break", "catch", "class", "const", "false",
    "super", "throw", "while", "yield",
];

/// Whether the name at `k` refers to a variable, rather than naming a
/// property (`a.name`, `{ name: .. }`).
fn is_reference(tokens: &[Token<'_>], k: usize) -> bool {
    let previous = k.checked_sub(1).map(|p| tokens[p].text);
    let next = tokens.get(k + 1).map(|t| t.text);
    previous != Some(".") && !(matches!(previous, Some("{" | ",")) && next == Some(":"))
}

/// CloudFront Functions' header object: lower-case names, one value each
/// (no generated answer repeats a header).
fn header_map(headers: &Headers) -> Map<String, Value> {
    let mut map = Map::new();
    for (name, entries) in &headers.0 {
        assert!(entries.len() == 1, "{name} repeated");
        map.insert(name.to_ascii_lowercase(), json!(entries[0].value));
    }
    map
}

/// A generated answer of `authorize` (they all are, for these two).
fn script_401(error: &'static str) -> CloudFrontResponse {
    match crate::authorize::script_401(error).output {
        HandlerOutput::Respond(r) => r,
        HandlerOutput::Forward(_) => unreachable!("a 401 is an answer"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_template_has_one_placeholder() {
        assert_eq!(super::TEMPLATE.matches("__CONFIG__").count(), 1);
    }

    #[test]
    fn only_whole_names_are_shortened() {
        let code = "CONFIG.home + CONFIG.homePage + CONFIG.home;";
        assert_eq!(
            super::replace_name(code, "CONFIG.home", "CONFIG.a"),
            "CONFIG.a + CONFIG.homePage + CONFIG.a;"
        );
    }

    #[test]
    fn entries_over_the_stores_limits_are_refused_before_any_write() {
        use super::*;
        let entries = |pairs: &[(String, String)]| pairs.iter().cloned().collect();
        let kid = "key:k1796186865".to_owned();
        let key = "A".repeat(43);
        assert_eq!(check_store_limits(&entries(&[(kid.clone(), key)])), Ok(()));
        let long_key = format!("key:{}", "k".repeat(MAX_STORE_KEY_BYTES));
        assert!(matches!(
            check_store_limits(&entries(&[(long_key, "v".into())])),
            Err(StoreTooLarge::Key { bytes: 516, .. })
        ));
        let at_limit = "v".repeat(MAX_STORE_VALUE_BYTES);
        assert_eq!(
            check_store_limits(&entries(&[(kid.clone(), at_limit.clone())])),
            Ok(())
        );
        let error = check_store_limits(&entries(&[(kid.clone(), at_limit + "v")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "key value store entry key:k1796186865: the value is 1025 bytes, over the store's 1024"
        );
        // 5,200 full entries pass 5 MB.
        let many: Vec<_> = (0..5200)
            .map(|i| (format!("key:k{i:05}"), "v".repeat(1000)))
            .collect();
        assert!(matches!(
            check_store_limits(&entries(&many)),
            Err(StoreTooLarge::Total { .. })
        ));
        assert_eq!(check_store_limits(&entries(&many[..5000])), Ok(()));
    }
}
