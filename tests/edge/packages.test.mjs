// The five Lambda@Edge packages, each unpacked and run in Node as Lambda
// would run it. Needs `scripts/package.py` to have built dist/*.zip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as lambda from './lambda.mjs';

const { unpack, load, context, viewerEvent, originEvent, config, idToken, session, header, param, boundRefresh } = lambda;

/** An OAuth provider on 127.0.0.1 answering from a script, recording requests. */
async function provider(answers) {
  const received = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      received.push({ method: req.method, path: req.url, body, authorization: req.headers.authorization });
      const [status, payload, delayMs = 0] = answers.shift() || [500, '{}'];
      setTimeout(() => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(payload); }, delayMs);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${server.address().port}`, received, close: () => server.close() };
}

test('every package is in dist with its handler module and addon', () => {
  for (const name of ['authorize', 'index-path', 'signin', 'refresh', 'signout']) {
    const zip = join(lambda.DIST, `${name}.zip`);
    assert.ok(existsSync(zip), `${zip} missing: run scripts/package.py`);
    const dir = unpack(name);
    assert.ok(existsSync(join(dir, 'index.js')) && existsSync(join(dir, 'edge_auth.node')));
    assert.ok(!existsSync(join(dir, 'config.json')), 'build artifacts stay generic');
  }
  for (const name of ['authorize']) {
    assert.ok(statSync(join(lambda.DIST, `${name}.zip`)).size <= 1024 * 1024, `${name}.zip within the 1 MiB viewer limit`);
  }
});

test('authorize: sign-in redirect, pass-through, 401 for scripts, 403 by group', async () => {
  const handler = load(unpack('authorize', config('https://auth.example.com')));
  const start = await handler.handler(viewerEvent({ uri: '/docs/a.html', querystring: 'x=1' }), context());
  assert.equal(start.status, '302');
  const location = header(start, 'location')[0];
  assert.equal(new URL(location).origin + new URL(location).pathname, 'https://auth.example.com/oauth2/authorize');
  assert.equal(param(location, 'code_challenge_method'), 'S256');
  assert.match(header(start, 'set-cookie')[0], new RegExp(`^__Host-edge-auth-flow-${param(location, 'state')}=`));

  const cookie = `__Host-edge-auth-session=${session()}`;
  const pass = await handler.handler(viewerEvent({ uri: '/docs/a.html', cookies: [cookie] }), context());
  assert.equal(pass.uri, '/docs/a.html', 'the request is forwarded');
  assert.equal(pass.status, undefined);
  // Only what authorize reads crosses into Rust; what goes on is the very
  // request CloudFront sent, every header and field included.
  const full = viewerEvent({ uri: '/docs/a.html', cookies: [cookie], headers: { 'User-Agent': 'test', 'X-Custom': 'kept' } });
  full.Records[0].cf.request.origin = { s3: { domainName: 'bucket.s3.amazonaws.com' } };
  const sent = full.Records[0].cf.request;
  assert.equal(await handler.handler(full, context()), sent, 'the same object, untouched');
  assert.equal(sent.headers['x-custom'][0].value, 'kept');
  assert.equal(sent.origin.s3.domainName, 'bucket.s3.amazonaws.com');
  // A provider's ID token, validly signed, is no session.
  const provider = await handler.handler(viewerEvent({ uri: '/docs/a.html', cookies: [`__Host-edge-auth-session=${idToken()}`] }), context());
  assert.equal(provider.status, '302');
  assert.match(header(provider, 'location')[0], /\/oauth2\/authorize\?/);
  const admin = `__Host-edge-auth-session=${session({ groups: ['admins'] })}`;
  assert.equal((await handler.handler(viewerEvent({ uri: '/admin/', cookies: [admin] }), context())).uri, '/admin/');
  const xhr = await handler.handler(viewerEvent({ uri: '/docs/a.html', headers: { 'X-Requested-With': 'XMLHttpRequest' } }), context());
  assert.equal(xhr.status, '401', 'X-Requested-With crosses into Rust');

  const script = await handler.handler(viewerEvent({ uri: '/api.json', headers: { 'Sec-Fetch-Mode': 'cors' } }), context());
  assert.equal(script.status, '401');
  assert.equal(JSON.parse(script.body).error, 'unauthenticated');

  const denied = await handler.handler(viewerEvent({ uri: '/admin/', cookies: [cookie] }), context());
  assert.equal(denied.status, '403');
  assert.match(denied.body, /only open to members of: admins/);
});

test('request and answer cross as lines and decide as the JSON event would', async () => {
  // The module sends the request as lines (requestLines) and rebuilds the
  // response from the addon's lines (fromLines); the addon's JSON answer to
  // the whole event as JSON is the reference. Answers without
  // random state are compared whole; a sign-in redirect field by field.
  const dir = unpack('authorize', config('https://auth.example.com'));
  const { handler } = load(dir);
  const { createRequire } = await import('node:module');
  const addon = createRequire(join(dir, 'index.js'))(join(dir, 'edge_auth.node')).EdgeHandler.load('authorize', dir);
  const cookie = `__Host-edge-auth-session=${session()}`;
  const cases = [
    viewerEvent({ uri: '/admin/', cookies: [cookie] }), // 403, HTML body with line breaks
    viewerEvent({ uri: '/api.json', headers: { 'Sec-Fetch-Mode': 'cors' } }), // 401, JSON body
    viewerEvent({ uri: '/_edge-auth/other' }), // 404 page
    viewerEvent({ uri: '/docs/%zz' }), // 400 page
  ];
  for (const event of cases) {
    const text = JSON.stringify(event);
    assert.notEqual(addon.handle(text, 'id')[0], '{', 'sent as lines');
    const reference = JSON.parse(addon.handle(text, 'id', true));
    assert.deepEqual(await handler(event, context()), reference, reference.status);
  }
  const lines = addon.handle(JSON.stringify(viewerEvent({ uri: '/docs/' })), 'id');
  assert.notEqual(lines[0], '{');
  // What the module cannot say as request lines goes as the whole event:
  // the decision is the same.
  const odd = viewerEvent({ uri: '/admin/', cookies: [cookie] });
  delete odd.Records[0].cf.request.headers.cookie[0].key;
  assert.equal((await handler(odd, context())).status, '403', 'a header entry without its key');
  const broken = viewerEvent({ uri: '/api.json', cookies: [`${cookie}\nx=1`], headers: { 'Sec-Fetch-Mode': 'cors' } });
  assert.deepEqual(await handler(broken, context()), JSON.parse(addon.handle(JSON.stringify(broken), 'id', true)), 'a line break in a cookie');
  const redirect = await handler(viewerEvent({ uri: '/docs/' }), context());
  const reference = JSON.parse(addon.handle(JSON.stringify(viewerEvent({ uri: '/docs/' })), 'id', true));
  assert.equal(redirect.status, '302');
  assert.equal(redirect.statusDescription, reference.statusDescription);
  assert.equal(redirect.body, undefined);
  assert.deepEqual(Object.keys(redirect.headers).sort(), Object.keys(reference.headers).sort());
  for (const name of ['cache-control', 'referrer-policy', 'strict-transport-security', 'x-content-type-options']) {
    assert.deepEqual(redirect.headers[name], reference.headers[name], name);
  }
  assert.equal(new URL(header(redirect, 'location')[0]).pathname, '/oauth2/authorize');
});

test('authorize: a malformed event is a function error with a message, not a crash', async () => {
  const handler = load(unpack('authorize', config('https://auth.example.com')));
  await assert.rejects(handler.handler({ Records: [] }, context()), /edge-auth: invalid event: .*exactly one record/);
  await assert.rejects(handler.handler({ Records: [{ cf: { config: {} } }] }, context()), /edge-auth: invalid event/);
  await assert.rejects(handler.handler(undefined, context()), /edge-auth: invalid event/);
  // Still serving afterwards.
  assert.equal((await handler.handler(viewerEvent(), context())).status, '302');
});

test('a missing or invalid config.json fails the cold start naming the problem', () => {
  assert.throws(() => load(unpack('authorize')), /config\.json could not be read: .*config\.json/);
  const bad = config('https://auth.example.com');
  delete bad.provider.client_id;
  assert.throws(() => load(unpack('authorize', bad)), /`provider\.client_id`: is required/);
  assert.throws(() => load(unpack('signin', '{"version": 1,')), /config\.json/);
});

test('index-path: directory index, bare directory redirect, no config needed', async () => {
  const handler = load(unpack('index-path'));
  const rewritten = await handler.handler(originEvent('/docs/'), context());
  assert.equal(rewritten.uri, '/docs/index.html');
  assert.equal(rewritten.origin.s3.domainName, 'example-bucket.s3.eu-north-1.amazonaws.com');
  const bare = await handler.handler(originEvent('/docs'), context());
  assert.equal(bare.status, '301');
  assert.deepEqual(header(bare, 'location'), ['/docs/']);
});

test('signin → refresh → signout against a provider on 127.0.0.1', async () => {
  const authorize = load(unpack('authorize', config('https://unused.example')));
  const started = await authorize.handler(viewerEvent({ uri: '/deep/page.html', querystring: 'tab=2' }), context());
  const location = header(started, 'location')[0];
  const flowCookie = header(started, 'set-cookie')[0].split(';')[0];
  const nonce = param(location, 'nonce');

  const id = idToken({ nonce });
  const op = await provider([
    [200, JSON.stringify({ id_token: id, access_token: 'at', refresh_token: 'rt.value', expires_in: 3600, token_type: 'Bearer' })],
    [400, '{"error":"invalid_grant"}'],
    [200, ''],
  ]);
  try {
    const conf = config(op.base);
    const signin = load(unpack('signin', conf));
    const callback = viewerEvent({ uri: '/_edge-auth/callback', querystring: `code=the-code&state=${param(location, 'state')}`, cookies: [flowCookie] });
    const done = await signin.handler(callback, context());
    assert.equal(done.status, '302', done.body);
    assert.deepEqual(header(done, 'location'), ['/deep/page.html?tab=2']);
    const set = header(done, 'set-cookie');
    const issued = set.find((c) => c.startsWith('__Host-edge-auth-session=')).split(';')[0].split('=')[1];
    const [head, claims] = issued.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    assert.deepEqual(head, { alg: 'HS256', kid: 'test-session-1', typ: 'edge-auth-session' });
    assert.equal(claims.sub, '3b7a1f5e-0000-4000-8000-000000000001');
    assert.deepEqual(claims.groups, [], '`readers` is named by no rule');
    // The session it issued opens the site at the edge.
    const page = await authorize.handler(viewerEvent({ uri: '/deep/page.html', cookies: [`__Host-edge-auth-session=${issued}`] }), context());
    assert.equal(page.uri, '/deep/page.html');
    // The refresh token, bound to the session's id.
    const refreshCookie = set.find((c) => c.startsWith('__Secure-edge-auth-refresh=')).split(';')[0];
    assert.equal(refreshCookie, `__Secure-edge-auth-refresh=${claims.sid}.n.rt.value`);
    assert.ok(set.some((c) => c.startsWith(`${refreshCookie};`) && c.includes('Path=/_edge-auth/')));
    const form = new URLSearchParams(op.received[0].body);
    assert.equal(form.get('code'), 'the-code');
    assert.equal(form.get('grant_type'), 'authorization_code');
    assert.equal(form.get('code_verifier').length, 43);

    const refresh = load(unpack('refresh', conf));
    const revoked = await refresh.handler(viewerEvent({ uri: '/_edge-auth/refresh', querystring: 'return=%2Fx', cookies: [refreshCookie, `__Host-edge-auth-session=${issued}`] }), context());
    assert.match(header(revoked, 'location')[0], /\/oauth2\/authorize\?/, 'a refused refresh token starts a sign-in');

    const signout = load(unpack('signout', conf));
    const out = await signout.handler(viewerEvent({ uri: '/_edge-auth/signout', cookies: [refreshCookie], headers: { 'Sec-Fetch-Site': 'same-origin' } }), context());
    assert.match(header(out, 'location')[0], /\/logout\?client_id=test-client-id&logout_uri=/);
    assert.equal(op.received[2].path, '/oauth2/revoke');
    assert.match(op.received[2].body, /^token=rt\.value&/);
  } finally {
    op.close();
  }
});

test('provider down or slower than the Lambda deadline: a page, not a function error', async () => {
  const op = await provider([[200, '{}', 3000]]);
  try {
    const conf = config(op.base);
    const refresh = load(unpack('refresh', conf));
    const event = viewerEvent({ uri: '/_edge-auth/refresh', querystring: 'return=/', cookies: boundRefresh('rt') });
    const began = Date.now();
    const slow = await refresh.handler(event, context(800));
    assert.equal(slow.status, '504');
    assert.ok(Date.now() - began < 2500, 'gave up before the Lambda deadline');
  } finally {
    op.close();
  }
  const conf = config('http://127.0.0.1:9');
  const down = await load(unpack('refresh', conf)).handler(viewerEvent({ uri: '/_edge-auth/refresh', cookies: boundRefresh('rt') }), context());
  assert.equal(down.status, '503');
  assert.match(down.body, /cannot be reached/);
});

test('client secret unreadable: 503 page from signin', async () => {
  const conf = config('http://127.0.0.1:9', { secret: { kind: 'file', path: '/nonexistent/secret.json' } });
  conf.provider.client_auth = 'client_secret_basic';
  const authorize = load(unpack('authorize', conf));
  const started = await authorize.handler(viewerEvent(), context());
  const state = param(header(started, 'location')[0], 'state');
  const signin = load(unpack('signin', conf));
  const answer = await signin.handler(viewerEvent({ uri: '/_edge-auth/callback', querystring: `code=c&state=${state}`, cookies: [header(started, 'set-cookie')[0].split(';')[0]] }), context());
  assert.equal(answer.status, '503');
  assert.match(answer.body, /cannot read its own credentials/);
});

/**
 * Runs the authorize package `runs` times in a child Node process whose
 * stdout the parent leaves unread until `resume` says so. Node makes its stdio
 * pipes non-blocking, and the addon writes its JSON log lines to that same
 * stdout: when whoever reads the logs falls behind, writes meet EAGAIN.
 */
async function underLogPressure(runs, resume) {
  // debug: a sign-in start without a session is logged at debug only.
  const dir = unpack('authorize', config('https://auth.example.com', { log_level: 'debug' }));
  const script = `
    const lambda = await import(${JSON.stringify(pathToFileURL(join(lambda.ROOT, 'tests', 'edge', 'lambda.mjs')).href)});
    process.stdout.write('start\\n');
    const { handler } = lambda.load(${JSON.stringify(dir)});
    const event = lambda.viewerEvent({ uri: '/docs/', headers: { Accept: 'text/html' } });
    let failed = 0;
    for (let i = 0; i < ${runs}; i++) {
      try { if ((await handler(event, lambda.context())).status !== '302') failed++; } catch { failed++; }
    }
    process.stderr.write(JSON.stringify({ failed }) + '\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.on('data', (d) => { stdout += d; });
  child.stdout.pause();
  resume(() => child.stdout.resume(), () => stderr.includes('"failed"'));
  const [code] = await Promise.all([
    // A child killed by the timeout must not leave its output unread forever.
    new Promise((resolve) => child.on('exit', (status) => { child.stdout.resume(); resolve(status); })),
    new Promise((resolve) => child.stdout.on('end', resolve)),
  ]);
  assert.equal(code, 0, `the child ended by itself (60 s at most): ${stderr}`);
  const { failed } = JSON.parse(stderr.trim().split('\n').pop());
  const logged = stdout.split('\n').filter((line) => line.includes('"message":"decision"')).length;
  return { failed, logged, stdout };
}

test('authorize: a log reader that falls behind loses no line and fails no request', async () => {
  const runs = 2000;
  const { failed, logged, stdout } = await underLogPressure(runs, (resume) => setTimeout(resume, 200));
  assert.equal(failed, 0);
  assert.equal(logged, runs, `every invocation logs its one line; stdout began: ${stdout.slice(0, 300)}`);
});

test('authorize: a log reader that is gone costs lines, not requests', async () => {
  // Nothing reads the logs until the child is done: lines are dropped, but
  // after the first half-second wait no request waits again (2,000 waits
  // would outlast the child's 60 s limit).
  const runs = 2000;
  const { failed, logged } = await underLogPressure(runs, (resume, done) => {
    const poll = setInterval(() => { if (done()) { clearInterval(poll); resume(); } }, 20);
  });
  assert.equal(failed, 0);
  assert.ok(logged > 0 && logged < runs, `some lines went through and some were dropped: ${logged}`);
});
