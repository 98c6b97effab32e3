// Runs a Lambda@Edge zip as Lambda would: unpacked into a fresh directory,
// config.json beside the handler, the module loaded by Node's require, the
// handler called with a CloudFront event and a Lambda-like context.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac, createPrivateKey, sign, randomUUID } from 'node:crypto';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = process.env.EDGE_AUTH_DIST || join(ROOT, 'dist');
export const KIT = join(ROOT, 'crates', 'testkit');
export const ISSUER = 'https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_TEST';
export const CLIENT_ID = 'test-client-id';

/** Unpacks `<name>.zip` into a new directory and writes config.json there. */
export function unpack(name, config) {
  const dir = mkdtempSync(join(tmpdir(), `edge-${name}-`));
  execFileSync('python3', ['-m', 'zipfile', '-e', join(DIST, `${name}.zip`), dir]);
  if (config !== undefined) writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

/** Loads the handler module from an unpacked directory, as Lambda's runtime does. */
export function load(dir) {
  const require = createRequire(join(dir, 'index.js'));
  return require(join(dir, 'index.js'));
}

export function context(remainingMs = 5000) {
  const deadline = Date.now() + remainingMs;
  return {
    awsRequestId: randomUUID(),
    functionName: 'us-east-1.edge-auth-authorize',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

export function viewerEvent({ uri = '/', querystring = '', cookies = [], headers = {} } = {}) {
  const event = JSON.parse(readFileSync(join(KIT, 'fixtures', 'viewer-request.json'), 'utf8'));
  const request = event.Records[0].cf.request;
  Object.assign(request, { uri, querystring });
  if (cookies.length) request.headers.cookie = [{ key: 'Cookie', value: cookies.join('; ') }];
  for (const [name, value] of Object.entries(headers)) request.headers[name.toLowerCase()] = [{ key: name, value }];
  return event;
}

export function originEvent(uri) {
  const event = JSON.parse(readFileSync(join(KIT, 'fixtures', 'origin-request-s3.json'), 'utf8'));
  event.Records[0].cf.request.uri = uri;
  return event;
}

/** The test deployment's session key (testkit's SESSION_KEY) and its set, as the signers read it. */
export const SESSION_KID = 'test-session-1';
export const SESSION_KEY = Buffer.alloc(32, 0x5e);
const SESSION_KEYS_FILE = join(mkdtempSync(join(tmpdir(), 'edge-auth-keys-')), 'session-keys.json');
writeFileSync(SESSION_KEYS_FILE, JSON.stringify({ signing_kid: SESSION_KID, keys: [{ kid: SESSION_KID, key: SESSION_KEY.toString('base64url') }] }));

/**
 * A session the test deployment signed and a refresh cookie bound to it,
 * as signin sets them (`<sid>.n.<token>`): what a browser brings to refresh.
 */
export function boundRefresh(token) {
  const sid = 'c2Vzc2lvbi1pZC0wMDAx';
  return [`__Host-edge-auth-session=${session({ sid })}`, `__Secure-edge-auth-refresh=${sid}.n.${token}`];
}

export function config(providerBase, overrides = {}) {
  return {
    version: 2,
    session: {
      keys: [{ kid: SESSION_KID, key: SESSION_KEY.toString('base64url') }],
      signing_keys: { kind: 'file', path: SESSION_KEYS_FILE },
    },
    provider: {
      issuer: ISSUER,
      client_id: CLIENT_ID,
      authorization_endpoint: `${providerBase}/oauth2/authorize`,
      token_endpoint: `${providerBase}/oauth2/token`,
      revocation_endpoint: `${providerBase}/oauth2/revoke`,
      logout: { kind: 'cognito', url: `${providerBase}/logout` },
      jwks: JSON.parse(readFileSync(join(KIT, 'keys', 'jwks.json'), 'utf8')),
      token_use: 'id',
      client_auth: 'none',
    },
    rules: [{ pattern: '/admin/*', groups: ['admins'] }],
    secret: { kind: 'none' },
    ...overrides,
  };
}

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const KEY = createPrivateKey(readFileSync(join(KIT, 'keys', 'test-key-1.pem')));

/** A Cognito-shaped RS256 ID token signed with the test key. */
export function idToken(claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  const body = {
    sub: '3b7a1f5e-0000-4000-8000-000000000001', aud: CLIENT_ID, iss: ISSUER, token_use: 'id',
    iat: now, auth_time: now, exp: now + 3600, 'cognito:username': 'alice', 'cognito:groups': ['readers'],
    email: 'alice@example.com', ...claims,
  };
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'test-key-1' })}.${b64(body)}`;
  return `${input}.${sign('RSA-SHA256', Buffer.from(input), KEY).toString('base64url')}`;
}

/**
 * A session as the deployment signs it (HS256 over the same claims), made
 * here with Node's own HMAC: the Rust verifier must accept it as its own.
 */
export function session(claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  const body = { sub: '3b7a1f5e-0000-4000-8000-000000000001', name: 'alice', groups: [], sid: 'c2Vzc2lvbi1pZA', iat: now, exp: now + 3600, ...claims };
  const input = `${b64({ alg: 'HS256', kid: SESSION_KID, typ: 'edge-auth-session' })}.${b64(body)}`;
  return `${input}.${createHmac('sha256', SESSION_KEY).update(input).digest('base64url')}`;
}

export const header = (response, name) => (response.headers[name] || []).map((h) => h.value);
export const param = (url, name) => new URL(url).searchParams.get(name);
