// The sign-in flow of the local edge in headless Chromium.
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTHORIZER, CLIENT_SECRET, ROOT, USERS, edgeCookies, launch, loopbackContext, screenshot, signIn, startEdge } from './harness.mjs';

let edge;
let browser;

before(async () => {
  edge = await startEdge(['--id-token-ttl', '4', '--clock-skew', '0']);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  edge?.stop();
});

test('a deep link with a query string survives the sign-in', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  // A #fragment never reaches the server and cannot survive the provider's
  // form POST; path and query are what the edge keeps. The query comes back
  // in the order sent, an escaped space included. Lambda@Edge sees it as
  // sent; a CloudFront Function only as CloudFront's object, which puts a
  // repeated name's values together and gives a bare name "=" (README).
  const deep = '/docs/guide.html?section=rotation&v=2&q=a%20b&flag&v=3';
  await page.goto(`${edge.site}${deep}`);
  assert.ok(page.url().startsWith(`${edge.idp}/oauth2/authorize?`), page.url());
  assert.equal(await page.title(), 'Sign in — development provider');
  await screenshot(page, 'login-page');
  await signIn(page, edge.site, USERS.alice);
  const back = AUTHORIZER === 'cloudfront-function' ? '/docs/guide.html?section=rotation&v=2&v=3&q=a%20b&flag=' : deep;
  assert.equal(page.url(), `${edge.site}${back}`);
  assert.match(await page.title(), /Operator's guide/);
  assert.equal(await page.textContent('[data-user]'), 'alice');
  await screenshot(page, 'content-page');
  const names = (await edgeCookies(context)).map((c) => c.name).sort();
  assert.deepEqual(names, ['__Host-edge-auth-session', '__Host-edge-auth-user', '__Secure-edge-auth-refresh']);
  const refresh = (await context.cookies()).find((c) => c.name === '__Secure-edge-auth-refresh');
  assert.equal(refresh.path, '/_edge-auth/');
  assert.ok(refresh.httpOnly && refresh.secure);
  // A folder's address without its slash goes on to the folder, its query
  // (an escaped space in it) kept by the CloudFront Function. Lambda@Edge's
  // index-path answers the origin request, which carries no query (the
  // cache key has none, so its cached 301 must not either).
  await page.goto(`${edge.site}/docs?q=a%20b`);
  assert.equal(page.url(), `${edge.site}/docs/${AUTHORIZER === 'cloudfront-function' ? '?q=a%20b' : ''}`);
  await context.close();
});

test('a first visit goes through the arrangement under test: the start endpoint after the CloudFront Function, straight to the provider from Lambda@Edge', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  const hops = [];
  page.on('request', (request) => { if (request.isNavigationRequest()) hops.push(request.url()); });
  await page.goto(`${edge.site}/docs/guide.html?a=1`);
  assert.ok(page.url().startsWith(`${edge.idp}/oauth2/authorize?`), page.url());
  const start = `${edge.site}/_edge-auth/start?return=%2Fdocs%2Fguide.html%3Fa%3D1`;
  if (AUTHORIZER === 'cloudfront-function') assert.deepEqual(hops.slice(0, 2), [`${edge.site}/docs/guide.html?a=1`, start]);
  else assert.ok(!hops.includes(start), hops.join('\n'));
  // A script without a session, on a public page of the site: a 401 in
  // JSON, no redirect, whichever checks the request.
  await page.goto(`${edge.site}/signed-out.html`);
  const script = await page.evaluate(async () => {
    const r = await fetch('/docs/guide.html');
    return { status: r.status, body: await r.json(), authenticate: r.headers.get('www-authenticate'), cache: r.headers.get('cache-control') };
  });
  assert.deepEqual(script, {
    status: 401,
    body: { error: 'unauthenticated', message: 'Sign in again by loading a page of this site.' },
    authenticate: 'Cookie realm="edge-auth"',
    cache: 'no-store',
  });
  await context.close();
});

test('directory pages are served through index-path', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(`${edge.site}/docs/getting-started`);
  await signIn(page, edge.site, USERS.alice);
  assert.equal(page.url(), `${edge.site}/docs/getting-started/`, 'the bare directory name is redirected to the directory');
  assert.match(await page.title(), /Getting started/);
  const missing = await page.goto(`${edge.site}/docs/no-such-page.html`);
  assert.equal(missing.status(), 404);
  assert.match(await page.title(), /Page not found/);
  await context.close();
});

test('the admins section: 403 for a reader, content for an admin', async () => {
  const reader = await loopbackContext(browser);
  const page = await reader.newPage();
  await page.goto(`${edge.site}/admin/`);
  await signIn(page, edge.site, USERS.alice);
  const denied = await page.goto(`${edge.site}/admin/`);
  assert.equal(denied.status(), 403);
  assert.match(await page.textContent('main'), /signed in as alice, but this page is only open to members of: admins/);
  await screenshot(page, 'forbidden-page');
  await reader.close();

  const admin = await loopbackContext(browser);
  const adminPage = await admin.newPage();
  await adminPage.goto(`${edge.site}/admin/`);
  await signIn(adminPage, edge.site, USERS.admin);
  assert.equal(adminPage.url(), `${edge.site}/admin/`);
  assert.match(await adminPage.title(), /Admin area/);
  await admin.close();
});

test('an expired session is refreshed without a loop; a revoked refresh token leads to sign-in', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  const refreshes = [];
  page.on('request', (r) => { if (r.url().includes('/_edge-auth/refresh')) refreshes.push(r.url()); });
  await page.goto(`${edge.site}/docs/`);
  await signIn(page, edge.site, USERS.alice);
  const before = (await context.cookies()).find((c) => c.name === '__Host-edge-auth-session').value;
  await page.waitForTimeout(5000); // the ID token, and so the session, lives 4 s
  await page.goto(`${edge.site}/docs/reference/?q=limits`);
  assert.equal(page.url(), `${edge.site}/docs/reference/?q=limits`);
  assert.match(await page.title(), /Reference/);
  assert.equal(refreshes.length, 1, 'exactly one trip through refresh');
  const afterRefresh = (await context.cookies()).find((c) => c.name === '__Host-edge-auth-session').value;
  assert.notEqual(afterRefresh, before, 'a new session');

  // Revoke the refresh token at the provider, let the ID token expire again.
  // The cookie binds the token to the session: `<sid>.<a|n>.<token>`.
  const bound = (await context.cookies()).find((c) => c.name === '__Secure-edge-auth-refresh').value;
  const token = bound.split('.').slice(2).join('.');
  const revoked = await fetch(`${edge.idp}/oauth2/revoke`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`edge-auth-dev-client:${CLIENT_SECRET}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }),
  });
  assert.equal(revoked.status, 200);
  await page.waitForTimeout(5000);
  await page.goto(`${edge.site}/docs/`);
  // The provider still has a session, so it signs straight back in: the
  // browser ends on the page with a fresh session, after one sign-in.
  assert.equal(page.url(), `${edge.site}/docs/`);
  assert.equal(refreshes.length, 2);
  const fresh = (await context.cookies()).find((c) => c.name === '__Secure-edge-auth-refresh').value;
  assert.notEqual(fresh, token, 'a new refresh token from a new sign-in');
  await context.close();
});

test('sign-out clears every cookie and the next visit asks for sign-in', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(`${edge.site}/`);
  await signIn(page, edge.site, USERS.alice);
  assert.ok((await edgeCookies(context)).length >= 3);
  await Promise.all([page.waitForURL(`${edge.site}/signed-out.html`), page.click('text=Sign out')]);
  assert.match(await page.textContent('h1'), /You are signed out/);
  assert.deepEqual(await edgeCookies(context), [], 'no edge-auth cookie is left');
  await page.goto(`${edge.site}/docs/`);
  assert.ok(page.url().startsWith(`${edge.idp}/oauth2/authorize?`), 'the provider session ended too');
  await page.waitForSelector('input[name=username]');
  await context.close();
});

test('sign-out ends every copy of the session: a copied cookie in another browser opens no page', async (t) => {
  if (AUTHORIZER !== 'cloudfront-function') {
    t.skip('Lambda@Edge authorize reads no key value store: there a copy lasts until its exp (docs/config.md)');
    return;
  }
  // Sessions that outlive the test, so that only the sign-out can end the copy.
  const longEdge = await startEdge(['--id-token-ttl', '600', '--clock-skew', '0']);
  try {
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    await page.goto(`${longEdge.site}/docs/`);
    await signIn(page, longEdge.site, USERS.alice);
    const session = (await edgeCookies(context)).find((c) => c.name.endsWith('-session'));
    assert.ok(session, 'a session cookie');
    // The copy: another browser with nothing but that cookie.
    const thief = await loopbackContext(browser);
    await thief.addCookies([session]);
    const stolen = await thief.newPage();
    const before = await stolen.goto(`${longEdge.site}/docs/guide.html`);
    assert.equal(before.status(), 200);
    assert.equal(stolen.url(), `${longEdge.site}/docs/guide.html`, 'before the sign-out the copy opens the page');
    assert.equal(await stolen.locator('[data-user]').count(), 1);

    await Promise.all([page.waitForURL(`${longEdge.site}/signed-out.html`), page.click('text=Sign out')]);
    const store = JSON.parse(readFileSync(longEdge.key_value_store, 'utf8'));
    const { sub, iat } = JSON.parse(Buffer.from(session.value.split('.')[1], 'base64url').toString());
    assert.equal(store[`revoked:${sub}`], String(iat), 'the store refuses that session and anything issued before it');

    await stolen.goto(`${longEdge.site}/docs/guide.html`);
    assert.equal(await stolen.locator('[data-user]').count(), 0, 'the copy opens nothing');
    assert.ok(stolen.url().startsWith(`${longEdge.idp}/`), `sent to sign in: ${stolen.url()}`);
    await thief.close();

    // Signing in again afterwards works at once: the cut-off is the old
    // session's issue time (a new session is issued in a later second).
    while (Math.floor(Date.now() / 1000) <= iat) await new Promise((r) => setTimeout(r, 100));
    await page.goto(`${longEdge.site}/docs/`);
    await signIn(page, longEdge.site, USERS.alice);
    await page.goto(`${longEdge.site}/docs/guide.html`);
    assert.equal(await page.textContent('[data-user]'), 'alice');
    await context.close();
  } finally {
    longEdge.stop();
  }
});

test('another site cannot sign the user out; our own button can', async () => {
  // 127.0.0.2 is another site to the browser (an IP address is its own
  // site), so its link is a cross-site navigation with Sec-Fetch-Site: cross-site.
  const evil = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>Elsewhere</title><a id="out" href="${edge.site}/_edge-auth/signout">free prize</a>`);
  });
  await new Promise((resolve) => evil.listen(0, '127.0.0.2', resolve));
  try {
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    await page.goto(`${edge.site}/docs/`);
    await signIn(page, edge.site, USERS.alice);
    await page.goto(`http://127.0.0.2:${evil.address().port}/`);
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/_edge-auth/signout')),
      page.click('#out'),
    ]);
    assert.equal(refused.status(), 403);
    // (Chromium adds Sec-Fetch-Site below what Playwright reports; the 403
    // and its page are what the edge made of it.)
    assert.match(await page.textContent('main'), /Another website sent you here/);
    assert.ok((await edgeCookies(context)).length >= 3, 'still signed in');
    await page.goto(`${edge.site}/docs/`);
    assert.equal(await page.textContent('[data-user]'), 'alice');

    await page.goto(`http://127.0.0.2:${evil.address().port}/`);
    await page.click('#out');
    await page.waitForSelector('text=Another website sent you here');
    await Promise.all([page.waitForURL(`${edge.site}/signed-out.html`), page.click('a:has-text("Sign out")')]);
    assert.deepEqual(await edgeCookies(context), [], 'the button on our own page signs out');
    await context.close();
  } finally {
    evil.close();
  }
});

test('Back after sign-out does not show the protected page from the cache', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(`${edge.site}/docs/guide.html`);
  await signIn(page, edge.site, USERS.alice);
  assert.equal(await page.textContent('[data-user]'), 'alice');
  const [signout] = await Promise.all([
    page.waitForResponse((r) => r.url().includes('/_edge-auth/signout')),
    page.click('text=Sign out'),
  ]);
  assert.equal((await signout.allHeaders())['clear-site-data'], '"cache"');
  await page.waitForURL(`${edge.site}/signed-out.html`);
  const served = [];
  page.on('request', (r) => { if (r.url().startsWith(`${edge.site}/docs/guide.html`)) served.push(r.url()); });
  await page.goBack();
  await page.waitForLoadState('domcontentloaded');
  // The page was asked for again, and without a session that means the
  // provider's sign-in form, not the page.
  assert.ok(served.length >= 1, 'the page is requested again, not shown from a cache');
  await page.waitForSelector('input[name=username]');
  assert.ok(page.url().startsWith(`${edge.idp}/`), page.url());
  assert.equal(await page.locator('[data-user]').count(), 0, 'no protected content is shown');
  await context.close();
});

test('"Sign in as someone else" asks the provider again and returns to the page', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(`${edge.site}/admin/`);
  await signIn(page, edge.site, USERS.alice);
  assert.equal((await page.goto(`${edge.site}/admin/?tab=2`)).status(), 403);
  await page.click('text=Sign in as someone else');
  // The provider still has alice's session, but prompt=login shows the form.
  await page.waitForSelector('input[name=username]');
  await signIn(page, edge.site, USERS.admin);
  assert.equal(page.url(), `${edge.site}/admin/?tab=2`);
  assert.match(await page.title(), /Admin area/);
  await context.close();
});

test('a lost session cookie is never renewed with the refresh cookie alone: a new sign-in, silent while the provider has a session', async () => {
  // The refresh cookie is bound to its session (a sibling subdomain can
  // plant one, never the __Host- session): without the session, refresh
  // starts a sign-in instead of spending the token.
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(`${edge.site}/docs/`);
  await signIn(page, edge.site, USERS.alice);
  await context.clearCookies({ name: '__Host-edge-auth-session' });
  const idp = [];
  page.on('request', (r) => { if (r.url().startsWith(edge.idp) && r.isNavigationRequest()) idp.push(r.url()); });
  await page.goto(`${edge.site}/docs/reference/`);
  assert.equal(page.url(), `${edge.site}/docs/reference/`);
  assert.equal(await page.textContent('[data-user]'), 'alice');
  assert.ok(idp.some((u) => u.startsWith(`${edge.idp}/oauth2/authorize?`)), `a sign-in at the provider: ${idp}`);
  assert.equal(await page.locator('input[name=password]').count(), 0, 'no form: the provider still had a session');
  assert.ok((await context.cookies()).some((c) => c.name === '__Host-edge-auth-session'), 'a new session');
  await context.close();
});

test('the development provider lists its demo accounts and keeps the username after a wrong password', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(`${edge.site}/docs/`);
  await page.waitForSelector('input[name=username]');
  const demo = await page.textContent('.demo');
  assert.match(demo, /alice/);
  assert.match(demo, /admin/);
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=password]', 'wrong');
  await page.click('button[value=signin]');
  await page.waitForSelector('.error');
  assert.equal(await page.inputValue('input[name=username]'), 'alice');
  assert.equal(await page.evaluate(() => document.activeElement?.name), 'password');
  await screenshot(page, 'login-page-wrong-password');
  await context.close();
});

test('two tabs starting sign-in at the same time both end signed in', async () => {
  const context = await loopbackContext(browser);
  const [one, two] = [await context.newPage(), await context.newPage()];
  await Promise.all([one.goto(`${edge.site}/docs/guide.html`), two.goto(`${edge.site}/docs/reference/`)]);
  const flows = (await context.cookies()).filter((c) => c.name.startsWith('__Host-edge-auth-flow-'));
  assert.equal(flows.length, 2, 'one flow cookie per sign-in');
  await signIn(one, edge.site, USERS.alice);
  await signIn(two, edge.site, USERS.alice);
  assert.equal(one.url(), `${edge.site}/docs/guide.html`);
  assert.equal(two.url(), `${edge.site}/docs/reference/`);
  assert.equal((await context.cookies()).filter((c) => c.name.startsWith('__Host-edge-auth-flow-')).length, 0);
  await context.close();
});

test('provider refusal and a tampered state give clear error pages', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(`${edge.site}/docs/`);
  await page.waitForSelector('button[value=cancel]');
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().includes('/_edge-auth/callback')), page.click('button[value=cancel]')]);
  assert.equal(response.status(), 403);
  assert.match(await page.textContent('main'), /did not sign you in \(access_denied\)/);
  await screenshot(page, 'error-page');

  const tampered = await page.goto(`${edge.site}/_edge-auth/callback?code=abc&state=${'A'.repeat(43)}`);
  assert.equal(tampered.status(), 400);
  assert.match(await page.textContent('main'), /not started in this browser/);
  await context.close();
});

/** The header of the session cookie in the browser's jar. */
async function sessionHeader(context) {
  const cookie = (await context.cookies()).find((c) => c.name === '__Host-edge-auth-session');
  return cookie && JSON.parse(Buffer.from(cookie.value.split('.')[0], 'base64url').toString());
}

test('the provider rotates its signing key while users are signed in: sessions, refresh and new sign-ins go on without a redeploy', async () => {
  // Its own local edge: the ID token (and session) of the suite's lives 4 s.
  const own = await startEdge();
  try {
    const signedIn = await loopbackContext(browser);
    const page = await signedIn.newPage();
    await page.goto(`${own.site}/docs/`);
    await signIn(page, own.site, USERS.alice);
    const first = await sessionHeader(signedIn);

    const rotated = await fetch(`${own.idp}/_dev/rotate-signing-key`, { method: 'POST' });
    assert.deepEqual(await rotated.json(), { signing_kid: 'test-key-2' });
    const jwks = await (await fetch(`${own.idp}/.well-known/jwks.json`)).json();
    assert.deepEqual(jwks.keys.map((k) => k.kid), ['test-key-2', 'test-key-1'], 'the new key is published beside the old one');

    // The session needs no provider key at all.
    const idp = [];
    page.on('request', (r) => { if (r.url().startsWith(own.idp) && r.isNavigationRequest()) idp.push(r.url()); });
    await page.goto(`${own.site}/docs/reference/`);
    assert.equal(await page.textContent('[data-user]'), 'alice');
    // A refresh brings an ID token signed with the new key: refresh fetches
    // the key set once and renews the session.
    await page.goto(`${own.site}/_edge-auth/refresh?return=%2Fdocs%2Fguide.html`);
    assert.equal(page.url(), `${own.site}/docs/guide.html`);
    assert.equal(await page.textContent('[data-user]'), 'alice');
    assert.deepEqual(idp, [], 'no trip to the sign-in form');
    const renewed = await sessionHeader(signedIn);
    assert.equal(renewed.kid, first.kid, 'the session key did not change');
    assert.ok(own.logs.join('').includes('provider key set fetched again'), 'refresh fetched the key set');

    // A new user signs in with a token signed by the new key.
    const newcomer = await loopbackContext(browser);
    const other = await newcomer.newPage();
    await other.goto(`${own.site}/admin/`);
    await signIn(other, own.site, USERS.admin);
    assert.equal(other.url(), `${own.site}/admin/`);
    assert.match(await other.title(), /Admin area/);
    await newcomer.close();
    await signedIn.close();
  } finally {
    own.stop();
  }
});

test('a session-key rotation signs nobody out', async () => {
  // The three states a rotation passes through (rotate-session-key), each
  // played by a local edge started with that key set: the browser keeps its
  // cookies across them (cookies are per host, not per port).
  const key = (fill) => Buffer.alloc(32, fill).toString('base64url');
  const dir = mkdtempSync(join(tmpdir(), 'edge-auth-rotation-'));
  const sets = {
    before: { signing_kid: 'k-old', keys: [{ kid: 'k-old', key: key(1) }] },
    during: { signing_kid: 'k-new', keys: [{ kid: 'k-old', key: key(1) }, { kid: 'k-new', key: key(2) }] },
    after: { signing_kid: 'k-new', keys: [{ kid: 'k-new', key: key(2) }] },
  };
  const edgeWith = async (name) => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(sets[name]));
    return startEdge(['--session-keys', file]);
  };
  const early = await loopbackContext(browser);
  const late = await loopbackContext(browser);
  try {
    let current = await edgeWith('before');
    const page = await early.newPage();
    await page.goto(`${current.site}/docs/`);
    await signIn(page, current.site, USERS.alice);
    assert.equal((await sessionHeader(early)).kid, 'k-old');
    current.stop();

    // Every verifier holds both keys, the new one signs.
    current = await edgeWith('during');
    await page.goto(`${current.site}/docs/guide.html`);
    assert.equal(page.url(), `${current.site}/docs/guide.html`, 'the session signed with the old key still opens the site');
    assert.equal(await page.textContent('[data-user]'), 'alice');
    const newPage = await late.newPage();
    await newPage.goto(`${current.site}/docs/`);
    await signIn(newPage, current.site, USERS.admin);
    assert.equal((await sessionHeader(late)).kid, 'k-new', 'new sessions are signed with the new key');
    current.stop();

    // After the longest session the old key is dropped: what it signed has
    // expired by then; what the new key signed goes on.
    current = await edgeWith('after');
    await newPage.goto(`${current.site}/admin/`);
    assert.equal(newPage.url(), `${current.site}/admin/`);
    assert.match(await newPage.title(), /Admin area/);
    await page.goto(`${current.site}/docs/`);
    assert.ok(!page.url().startsWith(`${current.site}/docs/`), 'a session of a dropped key opens nothing');
    current.stop();
  } finally {
    await early.close();
    await late.close();
  }
});

test("a provider's validly signed ID token in the session cookie is refused", async () => {
  // Signed with the development provider's own key (published in its
  // JWKS), for its issuer and client: a token the provider could have made.
  const now = Math.floor(Date.now() / 1000);
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'test-key-1' })}.${b64({
    sub: 'alice', aud: 'edge-auth-dev-client', iss: edge.idp, token_use: 'id', iat: now, exp: now + 3600,
    'cognito:username': 'alice', 'cognito:groups': ['admins'],
  })}`;
  const key = createPrivateKey(readFileSync(join(ROOT, 'crates', 'testkit', 'keys', 'test-key-1.pem')));
  const idToken = `${input}.${sign('RSA-SHA256', Buffer.from(input), key).toString('base64url')}`;
  const context = await loopbackContext(browser);
  await context.addCookies([{ name: '__Host-edge-auth-session', value: idToken, domain: '127.0.0.1', path: '/', secure: true, httpOnly: true, sameSite: 'Lax' }]);
  const page = await context.newPage();
  await page.goto(`${edge.site}/admin/`);
  assert.ok(page.url().startsWith(`${edge.idp}/oauth2/authorize?`), page.url());
  // An HS256 "session" keyed with something else is refused the same way.
  const forged = `${b64({ alg: 'HS256', kid: 'whatever', typ: 'edge-auth-session' })}.${b64({ sub: 'alice', name: 'alice', groups: ['admins'], sid: 'x', iat: now, exp: now + 3600 })}`;
  await context.addCookies([{ name: '__Host-edge-auth-session', value: `${forged}.${createHmac('sha256', 'guess').update(forged).digest('base64url')}`, domain: '127.0.0.1', path: '/', secure: true, httpOnly: true, sameSite: 'Lax' }]);
  await page.goto(`${edge.site}/admin/`);
  assert.ok(page.url().startsWith(`${edge.idp}/oauth2/authorize?`), page.url());
  await context.close();
});

test('only the settings\' public paths are open, and a rule on a directory\'s index object holds when the directory is asked for', async () => {
  // The deploy settings' [site] public and rules, as scripts/dev.sh runs
  // the local edge, plus a rule on one index object.
  const own = await startEdge(['--settings', 'deploy/prod.toml', '--rule', '/docs/index.html=admins', '--rule', '/admin/*=admins']);
  try {
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    // Without a session: the signed-out page and what it needs, nothing more.
    for (const path of ['/signed-out.html', '/assets/style.css', '/favicon.svg']) {
      const answer = await page.goto(`${own.site}${path}`);
      assert.equal(answer.status(), 200, path);
      assert.equal(page.url(), `${own.site}${path}`, path);
    }
    for (const path of ['/assets/user.js', '/404.html', '/docs/guide.html']) {
      await page.goto(`${own.site}${path}`);
      assert.ok(page.url().startsWith(`${own.idp}/oauth2/authorize?`), `${path}: ${page.url()}`);
    }
    // Signed in without `admins`: the directory is its index object.
    await page.goto(`${own.site}/docs/guide.html`);
    await signIn(page, own.site, USERS.alice);
    assert.equal(await page.textContent('[data-user]'), 'alice');
    for (const path of ['/docs/', '/docs/index.html', '//docs//']) {
      const answer = await page.goto(`${own.site}${path}`);
      assert.equal(answer.status(), 403, path);
    }
    assert.equal((await page.goto(`${own.site}/docs/guide.html`)).status(), 200);
    await context.close();
  } finally {
    own.stop();
  }
});

test('the local site opened as localhost goes to its own address first, so the sign-in comes back to the page', async () => {
  // Cookies belong to one host: a sign-in started on localhost would come
  // back to 127.0.0.1, where its flow cookie is not.
  const context = await browser.newContext();
  await context.route((url) => !/^(127\.\d+\.\d+\.\d+|localhost)$/.test(url.hostname), (route) => route.abort('blockedbyclient'));
  const page = await context.newPage();
  const { port } = new URL(edge.site);
  await page.goto(`http://localhost:${port}/docs/guide.html?a=1&b=2`);
  await signIn(page, edge.site, USERS.alice);
  assert.equal(page.url(), `${edge.site}/docs/guide.html?a=1&b=2`);
  assert.equal(await page.textContent('[data-user]'), 'alice');
  await context.close();
});

// `edge-auth-deploy check --url`: the smoke test a deploy runs against the
// live site, here against the local edge (which serves the same paths):
// every check passes; a client id the site does not send fails it, with
// the check named, and exit status 1.
test('the deploy tool\'s smoke test passes against the local edge, and fails on a wrong expectation', async () => {
  const { execFile } = await import('node:child_process');
  const tool = process.env.EDGE_AUTH_DEPLOY_BIN || join(ROOT, 'target', 'debug', 'edge-auth-deploy');
  const check = (...extra) => new Promise((resolve) => {
    execFile(tool, ['check', '--settings', join(ROOT, 'deploy', 'prod.toml'), '--url', edge.site,
      '--discovery', `${edge.idp}/.well-known/openid-configuration`, ...extra],
      { cwd: ROOT, timeout: 60000 }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
  const good = await check('--client-id', 'edge-auth-dev-client');
  assert.equal(good.code, 0, good.stdout + good.stderr);
  const lines = good.stdout.trim().split('\n');
  for (const name of ['protected page', 'public page /signed-out.html', 'unknown auth path', 'sign-in start', 'callback with a provider error']) {
    assert.ok(lines.some((l) => l.startsWith(`ok    ${name}`)), `${name}: ${good.stdout}`);
  }
  assert.ok(good.stdout.includes(`to ${edge.idp}/oauth2/authorize with PKCE S256`), good.stdout);
  const wrong = await check('--client-id', 'someone-else');
  assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
  assert.match(wrong.stdout, /^FAIL  sign-in start \/_edge-auth\/start: client_id "edge-auth-dev-client", not someone-else$/m);
  assert.match(wrong.stderr, /[12] check\(s\) of http:\/\/127\.0\.0\.1:\d+ failed/);
});
