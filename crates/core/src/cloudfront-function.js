// edge-auth: the per-request check as a CloudFront Function (cloudfront-js-2.0).
// Rendered by edge-auth-core (cloudfront_function.rs) from config.json; held to
// core::authorize by a differential test. Session keys come from the
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

// Patterns match UTF-8 bytes, as the core's do (`?` is one byte): encoded
// once when the function loads, the path once per request.
var PUBLIC = CONFIG.public.map(function (p) { return Buffer.from(p, 'utf8'); });
var RULES = CONFIG.rules.map(function (r) { return [Buffer.from(r[0], 'utf8'), r[1]]; });

function canonicalPath(uri) {
  if (uri.indexOf('%') >= 0 && !/^([^%]|%[0-9A-Fa-f]{2})*$/.test(uri)) return null;
  var decoded;
  try { decoded = decodeURIComponent(uri); } catch (e) { return null; }
  if (/[\u0000-\u001f\u007f-\u009f\\]/.test(decoded)) return null;
  var out = '';
  var segments = decoded.split('/');
  for (var i = 0; i < segments.length; i++) {
    var s = segments[i];
    if (s === '') continue;
    if (s === '.' || s === '..') return null;
    out += '/' + s;
  }
  if (out === '' || decoded.charAt(decoded.length - 1) === '/') out += '/';
  return out;
}

function header(request, name) {
  var h = request.headers[name];
  return h ? h.value : undefined;
}

function canNavigate(request) {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  var xrw = header(request, 'x-requested-with');
  if (xrw !== undefined && xrw.toLowerCase() === 'xmlhttprequest') return false;
  var mode = header(request, 'sec-fetch-mode');
  if (mode !== undefined && mode.toLowerCase() !== 'navigate') return false;
  var accept = header(request, 'accept');
  return accept === undefined || accept.toLowerCase().indexOf('text/html') >= 0;
}

function cookieValues(request, name) {
  var c = request.cookies[name];
  if (!c) return [];
  if (c.multiValue) return c.multiValue.map(function (m) { return m.value; });
  return [c.value];
}

function b64json(part) {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) return null;
  try {
    var v = JSON.parse(Buffer.from(part, 'base64url').toString());
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch (e) { return null; }
}

function isCount(n) {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= Number.MAX_SAFE_INTEGER;
}

// 'valid' (with claims), 'expired', or 'invalid': as SessionVerifier decides.
async function verify(token, now) {
  if (token.length > 4096) return 'invalid';
  var parts = token.split('.');
  if (parts.length !== 3) return 'invalid';
  var head = b64json(parts[0]);
  if (!head || head.alg !== 'HS256' || head.typ !== 'edge-auth-session' || head.crit !== undefined) return 'invalid';
  if (typeof head.kid !== 'string') return 'invalid';
  var key = null;
  try { key = await cf.kvs().get('key:' + head.kid); } catch (e) { key = null; }
  if (!key) return 'invalid';
  var mac = crypto.createHmac('sha256', Buffer.from(key, 'base64url')).update(parts[0] + '.' + parts[1]).digest('base64url');
  if (mac.length !== parts[2].length) return 'invalid';
  var diff = 0;
  for (var i = 0; i < mac.length; i++) diff |= mac.charCodeAt(i) ^ parts[2].charCodeAt(i);
  if (diff !== 0) return 'invalid';
  var c = b64json(parts[1]);
  if (!c || typeof c.sub !== 'string' || c.sub === '' || typeof c.name !== 'string'
      || typeof c.sid !== 'string' || c.sid === '' || !Array.isArray(c.groups)
      || !c.groups.every(function (g) { return typeof g === 'string'; })
      || !isCount(c.iat) || !isCount(c.exp)) return 'invalid';
  if (c.iat > now + CONFIG.leeway) return 'invalid';
  if (now >= c.exp) return 'expired';
  return { claims: c };
}

// Every byte but ASCII letters, digits and -_.~ as %XX (query::encode_form).
function formEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, function (ch) {
    return '%' + ch.charCodeAt(0).toString(16).toUpperCase();
  });
}

var SECURITY = {
  'cache-control': { value: 'no-store' },
  'strict-transport-security': { value: 'max-age=31536000; includeSubDomains' },
  'x-content-type-options': { value: 'nosniff' },
  'referrer-policy': { value: 'no-referrer' }
};

function respond(status, description, extra) {
  var headers = {};
  for (var k in SECURITY) headers[k] = SECURITY[k];
  for (var e in extra) headers[e] = extra[e];
  return { statusCode: status, statusDescription: description, headers: headers };
}

function redirect(location) {
  return respond(302, 'Found', { location: { value: location } });
}

function page(status, description, error) {
  var r = respond(status, description, { 'content-type': { value: 'text/html; charset=utf-8' } });
  r.body = { encoding: 'text', data: '<!doctype html><title>' + description + '</title><p>' + error };
  return r;
}

function unauthenticated(error) {
  var r = respond(401, 'Unauthorized', {
    'content-type': { value: 'application/json' },
    'www-authenticate': { value: 'Cookie realm="edge-auth"' }
  });
  r.body = { encoding: 'text', data: JSON.stringify({ error: error, message: 'Sign in again by loading a page of this site.' }) };
  return r;
}

async function handler(event) {
  var request = event.request;
  var now = Math.floor(Date.now() / 1000);
  var path = canonicalPath(request.uri);
  if (path === null) return page(400, 'Bad Request', 'This address cannot be served.');
  var pathBytes = Buffer.from(path, 'utf8');
  for (var i = 0; i < PUBLIC.length; i++) {
    if (globMatch(PUBLIC[i], pathBytes)) return request;
  }
  if (path.indexOf(CONFIG.authPrefix) === 0) return page(404, 'Not Found', 'There is no page at this address.');
  var candidates = cookieValues(request, CONFIG.sessionCookie).slice(0, 4);
  var expired = false, session = null;
  for (var j = 0; j < candidates.length && !session; j++) {
    var v = await verify(candidates[j], now);
    if (v === 'expired') expired = true;
    else if (v !== 'invalid') session = v.claims;
  }
  var returnTo = request.uri;
  var navigate = canNavigate(request);
  if (session) {
    for (var r = 0; r < RULES.length; r++) {
      var rule = RULES[r];
      if (!globMatch(rule[0], pathBytes)) continue;
      var ok = session.groups.some(function (g) { return rule[1].indexOf(g) >= 0; });
      return ok ? request : page(403, 'Forbidden', 'Access denied.');
    }
    return request;
  }
  var lost = candidates.length === 0 && cookieValues(request, CONFIG.userCookie).length > 0;
  if ((expired || lost) && navigate) return redirect(CONFIG.refresh + '?' + formEncode('return') + '=' + formEncode(returnTo));
  if (expired && !navigate) return unauthenticated('session_expired');
  if (navigate) return redirect(CONFIG.start + '?' + formEncode('return') + '=' + formEncode(returnTo));
  return unauthenticated('unauthenticated');
}
