// edge-auth: the per-request check as a CloudFront Function (cloudfront-js-2.0).
// Rendered by edge-auth-core (cloudfront_function.rs) from config.json, with
// the core's own pages, headers and words as data; held to core::authorize
// and core::index_path by a differential test. Session keys come from the
// KeyValueStore as "key:<kid>" (32 bytes, base64url).
import cf from 'cloudfront';
var crypto = require('crypto');
var CONFIG = __CONFIG__;

function globMatch(p, t) {
  var pi = 0, ti = 0, sp = -1, st = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === 63 || p[pi] === t[ti])) { pi++; ti++; }
    else if (pi < p.length && p[pi] === 42) { sp = pi; st = ti; pi++; }
    else if (sp >= 0) { pi = sp + 1; st++; ti = st; }
    else return false;
  }
  while (pi < p.length) { if (p[pi] !== 42) return false; pi++; }
  return true;
}

// Patterns match UTF-8 bytes (Buffer.from's default), as the core's do (`?` is one byte): encoded
// once when the function loads, the path once per request.
function encPublic(list) { return list.map(function (p) { return Buffer.from(p); }); }
function encRules(list) { return list.map(function (r) { return [Buffer.from(r[0]), r[1], r[2], r[3]]; }); }
// With a site table, each request's own (below).
var PUBLIC = encPublic(CONFIG.public);
var RULES = encRules(CONFIG.rules);
var CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function canonicalPath(uri) {
  // decodeURIComponent refuses a `%` without two hex digits after it and
  // escapes that are not UTF-8 (ECMA-262 Decode), in one linear pass: no
  // regular expression over the whole URI.
  var decoded;
  try { decoded = decodeURIComponent(uri); } catch (e) { return null; }
  if (CONTROL.test(decoded) || decoded.indexOf('\\') >= 0) return null;
  // Kept segments joined once: njs frees nothing until the request ends,
  // so a string grown piece by piece costs the square of its length.
  var kept = [];
  var segments = decoded.split('/');
  for (var i = 0; i < segments.length; i++) {
    var s = segments[i];
    if (s === '') continue;
    if (s === '.' || s === '..') return null;
    kept.push(s);
  }
  var out = '/' + kept.join('/');
  if (kept.length > 0 && decoded.charAt(decoded.length - 1) === '/') out += '/';
  return out;
}

// Every key the request can reach, as paths::match_subjects lists them:
// the path, the key S3 resolves (a raw `+` is a space to S3), and for a
// directory the index object the rewrite fetches; as UTF-8 bytes.
function subjects(uri, path) {
  var s = [path];
  if (uri.indexOf('+') >= 0) {
    var p = canonicalPath(uri.replace(/\+/g, '%20'));
    if (p !== null && p !== path) s.push(p);
  }
  for (var i = 0, n = s.length; i < n; i++) {
    if (s[i].charAt(s[i].length - 1) === '/') s.push(s[i] + CONFIG.index);
  }
  return s.map(function (x) { return Buffer.from(x); });
}

// The first rule matching `subject`, or undefined.
function ruleFor(subject) {
  for (var r = 0; r < RULES.length; r++) if (globMatch(RULES[r][0], subject)) return RULES[r];
}

//{sites
// With a site table (sites.rs): the entry of the request's host,
// [id, public, rules, keys], or null for a host that is no site's. The
// name is checked before lower-casing, as site_key does.
async function siteOf(request) {
  var h = header(request, 'host');
  h = h === undefined ? '' : h.replace(/:[0-9]+$/, '');
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(h)) return null;
  var v = null;
  try { v = await cf.kvs().get('site:' + h.toLowerCase()); } catch (e) { v = null; }
  return v === null ? null : JSON.parse(v);
}
//}sites

function header(request, name) {
  var h = request.headers[name];
  return h ? h.value : undefined;
}

// authorize::can_navigate: a page load, which can follow a redirect.
function canNavigate(request) {
  var xrw = header(request, 'x-requested-with'), mode = header(request, 'sec-fetch-mode'), accept = header(request, 'accept');
  return /^(GET|HEAD)$/.test(request.method) && !(xrw && xrw.toLowerCase() === 'xmlhttprequest')
    && (mode === undefined || mode.toLowerCase() === 'navigate')
    && (accept === undefined || accept.toLowerCase().indexOf('text/html') >= 0);
}

function values(entry) {
  if (!entry) return [];
  if (entry.multiValue) return entry.multiValue.map(function (m) { return m.value; });
  return [entry.value];
}

// The query as `name=value` pairs joined by `&`, from CloudFront's object
// (which groups a repeated name's values together).
function queryString(q) {
  var parts = [];
  for (var name in q) {
    values(q[name]).forEach(function (v) { parts.push(name + '=' + v); });
  }
  return parts.join('&');
}

function b64json(part) {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) return null;
  try {
    var v = JSON.parse(Buffer.from(part, 'base64url').toString());
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch (e) { return null; }
}

function isText(v) { return typeof v === 'string'; }

// verify's refusal: one name for its many returns (each byte counts).
var INVALID = 'invalid';

// A whole number of seconds, exact in JavaScript (up to 2^53 - 1).
function isCount(n) { return Number.isSafeInteger(n) && n >= 0; }

// 'valid' (with claims), 'expired', or 'invalid': as SessionVerifier decides
// (a service token: of its `typ` and no longer lived than `max`).
async function verify(token, now, site, typ, max) {
  if (token.length > 4096) return INVALID;
  var parts = token.split('.');
  if (parts.length !== 3) return INVALID;
  var head = b64json(parts[0]);
  if (!head || head.alg !== 'HS256' || head.typ !== 'edge-auth-' + (typ || 'session') || head.crit !== undefined) return INVALID;
  if (!isText(head.kid)) return INVALID;
  var key = null;
  //{sites
  // A site's entry carries its keys: still two reads a page view.
  if (site) key = Object.prototype.hasOwnProperty.call(site[3], head.kid) ? site[3][head.kid] : null;
  else
  //}sites
  try { key = await cf.kvs().get('key:' + head.kid); } catch (e) { key = null; }
  // "<key>" or, for a retiring key, "<key>.<deadline>". A short key would
  // let anyone forge sessions: 32 bytes, as the core's.
  var entry = key ? key.split('.') : [''];
  key = Buffer.from(entry[0], 'base64url');
  if (key.length < 32) return INVALID;
  var mac = crypto.createHmac('sha256', key).update(parts[0] + '.' + parts[1]).digest('base64url');
  if (mac.length !== parts[2].length) return INVALID;
  var diff = 0;
  for (var i = 0; i < mac.length; i++) diff |= mac.charCodeAt(i) ^ parts[2].charCodeAt(i);
  if (diff !== 0) return INVALID;
  var c = b64json(parts[1]);
  if (!c || !isText(c.sub) || c.sub === '' || !isText(c.name)
      || !isText(c.sid) || c.sid === '' || !Array.isArray(c.groups)
      || !c.groups.every(isText)
      || !isCount(c.iat) || !isCount(c.exp)
      || (c.idp_auth_time != null && !isCount(c.idp_auth_time))
      || (c.mfa != null && typeof c.mfa !== 'boolean')
      || (c.site != null && !isText(c.site))) return INVALID;
  // Longer than this site's signers issue: not theirs, whatever the MAC.
  if (c.exp - c.iat > (max || CONFIG.maxSession)) return INVALID;
  // A retiring key signed nothing that expires after its deadline.
  if (entry.length > 1 && c.exp > Number(entry[1])) return INVALID;
  //{sites
  // Issued for another site (or sign-in group): not taken here.
  if (site && c.site !== site[0]) return INVALID;
  //}sites
  // edge-auth-deploy revoke: sessions of this user issued up to then.
  var cut = null;
  try { cut = await cf.kvs().get('revoked:' + c.sub); } catch (e) { cut = null; }
  if (cut !== null && c.iat <= Number(cut)) return INVALID;
  if (c.iat > now + CONFIG.leeway) return INVALID;
  if (now >= c.exp) return 'expired';
  return { claims: c };
}

// Every byte but ASCII letters, digits and -_.~ as %XX (query::encode_form).
function formEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, function (ch) {
    return '%' + ch.charCodeAt(0).toString(16).toUpperCase();
  });
}

// Bytes outside visible ASCII, and "<>`{}|^, as %XX (pages::location_value):
// one replace over the string (encodeURIComponent writes a character's
// UTF-8 bytes as upper-case %XX), not a string grown byte by byte, which
// in njs costs memory by the square of the length.
var LOCATION_ESCAPE = /[\ud800-\udbff][\udc00-\udfff]|[^\u0021-\u007e]|["<>`{}|^]/g;
function locationValue(s) {
  return s.replace(LOCATION_ESCAPE, function (c) {
    try { return encodeURIComponent(c); } catch (e) { return '%EF%BF%BD'; }
  });
}

var ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
function escapeHtml(s) {
  // Built here, not at load: only a 403 page escapes, and each byte of the
  // function counts against its 10 KB.
  return s.replace(new RegExp(CONTROL.source, 'g'), '').replace(/[&<>"']/g, function (c) { return ENTITIES[c]; });
}

// A generated answer: the headers all share, its own (a Location filled in).
function answer(status, own, location, body) {
  var h = {}, name;
  for (name in CONFIG.headers) h[name] = { value: CONFIG.headers[name] };
  for (name in own) h[name] = { value: own[name] === '@@L@@' ? location : own[name] };
  var r = { statusCode: status, statusDescription: CONFIG.reasons[status], headers: h };
  if (body !== undefined) r.body = { encoding: 'text', data: body };
  return r;
}

function page(status, title, message, action) {
  var parts = { S: String(status), T: title, M: message, A: action };
  return answer(status, CONFIG.html.headers, '', CONFIG.html.body.replace(/@@([STMA])@@/g, function (m, k) { return parts[k]; }));
}

//{tokens
// A service token's refusal (authorize::token_refused): 401
// invalid_token (i 0) or 403 insufficient_scope (1), the script answer's
// headers with the core's WWW-Authenticate.
function bearer(i) {
  var b = CONFIG.bearer, e = b[2][i], r = answer(401 + 2 * i, CONFIG.script.headers, '', b[1].replace('@@E@@', e));
  r.headers['www-authenticate'].value = b[0].replace('@@E@@', e);
  return r;
}
//}tokens

function redirect(target) { return answer(302, CONFIG.redirect, locationValue(target)); }


// If a return path could send the browser to another host, or is damaged
// (return_path::safe_return_path), null.
var UNSAFE = /[\u0000-\u0020\u007f-\u00a0\\\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufffd]/;
function acceptable(p) {
  return p.charAt(0) === '/' && p.split(/[?#]/)[0].slice(0, 2) !== '//' && !UNSAFE.test(p);
}
function safeReturn(candidate) {
  if (candidate === '' || Buffer.from(candidate).length > 2048 || !acceptable(candidate)) return false;
  // Only the path is decoded: a decoded query cannot name another host.
  var current = candidate.split(/[?#]/)[0];
  for (var i = 0; i < 3; i++) {
    var decoded;
    try { decoded = decodeURIComponent(current.replace(/%(?![0-9A-Fa-f]{2})/g, '%25')); } catch (e) { return false; }
    if (!acceptable(decoded)) return false;
    if (decoded === current) break;
    current = decoded;
  }
  return true;
}

// index-path, folded in: S3 has no directory index (index_path.rs). A
// branch's preview finds its content under `prefix`.
function indexPath(request, query, prefix) {
  var uri = request.uri, last = uri.slice(uri.lastIndexOf('/') + 1),
    target = uri + '/' + (query === '' ? '' : '?' + query);
  if (uri.charAt(uri.length - 1) === '/') uri += CONFIG.index;
  else if (last !== '' && last.indexOf('.') < 0 && safeReturn(target)) return answer(301, CONFIG.moved, locationValue(target));
  request.uri = prefix + uri;
  return request;
}

// The decision line (docs/logs.md) for an answer that is not routine, in
// the regional functions' field names; CloudFront sends it to CloudWatch
// Logs in us-east-1. `detail` only where it costs the 10 KB little.
function logged(event, out, decision, detail, s) {
  var c = event.context, r = event.request;
  console.log(JSON.stringify({
    handler: 'function', request_id: c.requestId, site: c.distributionDomainName,
    method: r.method, path: r.uri, decision: decision, status: String(out.statusCode),
    detail: detail || '', sub: s ? s.sub : '', sid: s ? s.sid : ''
  }));
  return out;
}

async function handler(event) {
  var request = event.request;
  var now = Math.floor(Date.now() / 1000);
  var site = null, names = [CONFIG.sessionCookie, CONFIG.userCookie], prefix = '',
    start = CONFIG.start, refresh = CONFIG.refresh;
  // Before any await, though decided on below: njs charges an exception
  // (a hostile URI's failed decoding) thrown in a resumed async frame
  // about half a millisecond, over a hundred times its cost here.
  var path = canonicalPath(request.uri);
  //{sites
  site = await siteOf(request);
  if (!site) return logged(event, page(404, CONFIG.noSite[0], CONFIG.noSite[1], ''), 'unknown-site');
  // Set on every request before any use: nothing of one site's carries
  // over to the next request, whatever the runtime keeps between them.
  PUBLIC = encPublic(site[1]);
  RULES = encRules(site[2]);
  // A sign-in group sharing its session across a parent domain names
  // its cookies ([session, user]).
  if (site[4]) names = site[4];
  // A branch's preview: its content's prefix, and its sign-ins (expired
  // sessions too) at the group's sign-in site.
  if (site[5]) { prefix = site[5][0]; start = refresh = site[5][1] + '&'; }
  //}sites
  if (path === null) return logged(event, page(400, CONFIG.badPath[0], CONFIG.badPath[1], CONFIG.home), 'bad-path');
  var query = queryString(request.querystring);
  var keys = subjects(request.uri, path);
  // Rules win over public patterns (looked for only when one matches).
  if (PUBLIC.some(function (p) { return globMatch(p, keys[0]); }) && !keys.some(ruleFor)) return indexPath(request, query, prefix);
  if (path.indexOf(CONFIG.authPrefix) === 0) return logged(event, page(404, CONFIG.authPath[0], CONFIG.authPath[1], CONFIG.home), 'auth-path-not-found', path);
  var candidates = values(request.cookies[names[0]]).slice(0, 4);
  var expired = false, session = null;
  //{tokens
  // A machine's service token (authorize.rs): from the Authorization
  // header alone (no cookie is read), the same rules, never sent to sign
  // in; refused or short of a rule, RFC 6750's JSON answers.
  var auth = header(request, 'authorization'), machine = /^bearer /i.test(auth);
  if (machine) {
    var t = await verify(auth.slice(7), now, site, 'service', CONFIG.tokens);
    if (!t.claims) return logged(event, bearer(0), 'token-refused', t);
    candidates = [];
    session = t.claims;
  }
  //}tokens
  for (var j = 0; j < candidates.length && !session; j++) {
    var v = await verify(candidates[j], now, site);
    if (v === 'expired') expired = true;
    else if (v !== INVALID) session = v.claims;
  }
  //{shares
  // No session: a shared link's cookie that opens every key stands in
  // (an expired one is no reason to refresh).
  // Its own `typ`, and its pattern (`path`) a string that every key the
  // request can reach matches (share::covers).
  var held = values(request.cookies[CONFIG.shareCookie]).slice(0, 4);
  for (var k = 0; k < held.length && !session; k++) {
    var h = (await verify(held[k], now, site, 'share', CONFIG.shares)).claims;
    if (h && isText(h.path) && keys.every(function (x) { return globMatch(Buffer.from(h.path), x); })) session = h;
  }
  //}shares
  var returnTo = query === '' ? request.uri : request.uri + '?' + query;
  var back = formEncode('return') + '=' + formEncode(returnTo);
  var navigate = canNavigate(request), step;
  if (session) {
    // Every key's first rule must be met (authorize::allow_or_forbid):
    // its groups, then its step-up (StepUp::met): an absent or null time
    // makes the comparison false.
    for (var x = 0; x < keys.length && !step; x++) {
      var rule = ruleFor(keys[x]);
      if (!rule) continue;
      if (session.groups.some(function (g) { return rule[1].indexOf(g) >= 0; })) {
        if ((rule[2] && !(now <= session.idp_auth_time + rule[2])) || (rule[3] && session.mfa !== true)) step = rule;
        continue;
      }
      var fill = {
        W: escapeHtml(session.name === '' ? CONFIG.nameless : session.name),
        G: escapeHtml(rule[1].join(', ')),
        H: escapeHtml(CONFIG.signout + '?' + back)
      };
      //{tokens
      // A token short of a rule's groups: its 403 below, as for a step-up.
      if (machine) { step = rule; continue; }
      //}tokens
      var by = function (m, k) { return fill[k]; };
      // Two buttons: sign in as someone else, and the site's start page.
      return logged(event, page(403, CONFIG.forbidden[0], CONFIG.forbidden[1].replace(/@@([WG])@@/g, by), CONFIG.switchUser.replace(/@@(H)@@/, by) + CONFIG.home), 'forbidden', 'rule ' + rule[0], session);
    }
    if (!step) return indexPath(request, query, prefix);
    //{tokens
    // A token carries no sign-in to step up from.
    if (machine) return logged(event, bearer(1), 'token-forbidden', 'rule ' + step[0], session);
    //}tokens
    if (navigate) return logged(event, redirect(start + back), 'step-up', 'rule ' + step[0], session);
  }
  var lost = candidates.length === 0 && values(request.cookies[names[1]]).length > 0;
  if ((expired || lost) && navigate) return logged(event, redirect(refresh + back), 'refresh-redirect');
  if (navigate) {
    var begin = redirect(start + back);
    // A first visit is routine; a refused token is not.
    return candidates.length ? logged(event, begin, 'signin-started') : begin;
  }
  var script = CONFIG.script, error = script.errors[step ? 2 : expired ? 1 : 0];
  return logged(event, answer(401, script.headers, '', script.body.replace('@@E@@', error)), 'script-unauthenticated', error, session);
}
