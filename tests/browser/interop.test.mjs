// The same flows against oidc-provider (not ours) as the external provider:
// the edge knows it only by its discovery URL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { edgeCookies, freePort, launch, loopbackContext, startEdge } from './harness.mjs';
import { CLIENT, ENTRA_ADMINS, signInAtOp as signInAt, startOidcProvider } from './oidc-provider-server.mjs';

let edge;
let op;
let browser;

/** oidc-provider and a local edge that knows it by discovery alone. */
async function startPair(idTokenTtl, extra = []) {
  const port = await freePort();
  const site = `http://127.0.0.1:${port}`;
  const provider = await startOidcProvider({ site, idTokenTtl });
  const local = await startEdge([
    '--port', String(port),
    '--provider-discovery', provider.discovery,
    '--client-id', CLIENT.id,
    '--client-secret', CLIENT.secret,
    '--groups-claim', 'groups',
    '--group-name', `${ENTRA_ADMINS}=admins`,
    '--clock-skew', '0',
    ...extra,
  ]);
  return { op: provider, edge: local };
}

before(async () => {
  ({ op, edge } = await startPair(4));
  browser = await launch();
});
after(async () => {
  await browser?.close();
  edge?.stop();
  op?.stop();
});

/** oidc-provider's login and consent screens, back at this file's edge. */
const signInAtOp = (page, login, site = edge.site) => signInAt(page, login, site);

test('deep link through oidc-provider, groups from its ID token', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(`${edge.site}/docs/guide.html?from=interop`);
  assert.ok(page.url().startsWith(op.issuer), page.url());
  await signInAtOp(page, 'admin');
  await page.waitForURL(`${edge.site}/docs/guide.html?from=interop`);
  assert.match(await page.title(), /Operator's guide/);
  const admin = await page.goto(`${edge.site}/admin/`);
  assert.equal(admin.status(), 200, 'groups claim from oidc-provider opens the admins section');
  await context.close();
});

// The groups claim in the shapes providers send it, from oidc-provider:
// Entra ID's object ids (named by --group-name, as `provider.group_names`
// on AWS), a comma-separated string; and one no provider sends, refused
// with a page that says so rather than read as "no groups".
test('groups from oidc-provider as Entra ids and as a string open what their names open; a claim of another shape is a clear page', async () => {
  for (const login of ['entra-admin', 'csv-admin']) {
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    await page.goto(`${edge.site}/admin/`);
    await signInAtOp(page, login);
    await page.waitForURL(`${edge.site}/admin/`);
    const admin = await page.goto(`${edge.site}/admin/`);
    assert.equal(admin.status(), 200, `${login}: the admins section`);
    await context.close();
  }
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(`${edge.site}/admin/`);
  await signInAtOp(page, 'bad-groups');
  await page.waitForLoadState();
  assert.equal(await page.title(), 'Your groups could not be read — 502');
  assert.match(await page.textContent('body'), /the groups claim `groups` is a number, not a list of names/);
  assert.deepEqual((await edgeCookies(context)).filter((c) => c.name.endsWith('-session')), []);
  await context.close();
});

test('refresh through oidc-provider when the ID token expires, then sign-out', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  const refreshes = [];
  page.on('request', (r) => { if (r.url().includes('/_edge-auth/refresh')) refreshes.push(r.url()); });
  await page.goto(`${edge.site}/docs/`);
  await signInAtOp(page, 'alice');
  await page.waitForURL(`${edge.site}/docs/`);
  const first = (await context.cookies()).find((c) => c.name === '__Host-edge-auth-session').value;
  await page.waitForTimeout(5000);
  await page.goto(`${edge.site}/docs/reference/`);
  assert.equal(page.url(), `${edge.site}/docs/reference/`);
  assert.equal(refreshes.length, 1);
  assert.notEqual((await context.cookies()).find((c) => c.name === '__Host-edge-auth-session').value, first);

  // Sign-out: cookies cleared here, then oidc-provider's own logout
  // confirmation, then back to the signed-out page.
  await page.click('text=Sign out');
  await page.waitForURL((url) => url.href.startsWith(op.issuer));
  assert.deepEqual(await edgeCookies(context), []);
  await Promise.all([page.waitForURL(`${edge.site}/signed-out.html`), page.click('button[autofocus], button[type=submit]')]);
  assert.match(await page.textContent('h1'), /You are signed out/);
  await page.goto(`${edge.site}/docs/`);
  assert.ok(page.url().startsWith(op.issuer), 'the next visit asks for sign-in');
  await context.close();
});

test('rotating refresh tokens: the edge keeps the new one, and a copy of the old one is answered as a sign-in', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(`${edge.site}/docs/`);
  await signInAtOp(page, 'rotating');
  await page.waitForURL(`${edge.site}/docs/`);
  const refreshOf = (cookies) => cookies.find((c) => c.name.endsWith('edge-auth-refresh'));
  const copied = await context.cookies();
  const before = refreshOf(copied);
  assert.ok(before, copied.map((c) => c.name).join(', '));
  // The ID token (4 s) expires: the refresh gets a new refresh token.
  await page.waitForTimeout(5000);
  await page.goto(`${edge.site}/docs/reference/`);
  assert.equal(page.url(), `${edge.site}/docs/reference/`);
  const after = refreshOf(await context.cookies());
  assert.ok(after && after.value !== before.value, 'the rotated refresh token is kept');

  // A second browser with the cookies as they were before (a copy, a
  // backup): its refresh presents the replaced token, which oidc-provider
  // refuses (invalid_grant); the edge starts a sign-in, not an error page.
  const thief = await loopbackContext(browser);
  await thief.addCookies(copied);
  const other = await thief.newPage();
  const statuses = [];
  other.on('response', (r) => { if (r.url().includes('/_edge-auth/refresh')) statuses.push(r.status()); });
  await other.goto(`${edge.site}/docs/`);
  await other.waitForURL((url) => url.href.startsWith(op.issuer));
  assert.deepEqual(statuses, [302], 'one trip through refresh, answered with a redirect to the provider');
  assert.equal(refreshOf(await thief.cookies()), undefined, 'the dead refresh token is cleared');
  await thief.close();
  await context.close();
});

test('oidc-provider rotates its signing key while users are signed in: no redeploy, nobody locked out', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  const refreshes = [];
  page.on('request', (r) => { if (r.url().includes('/_edge-auth/refresh')) refreshes.push(r.url()); });
  await page.goto(`${edge.site}/docs/`);
  await signInAtOp(page, 'alice');
  await page.waitForURL(`${edge.site}/docs/`);

  op.rotate('interop-2');
  const jwks = await (await fetch(`${op.issuer}/jwks`)).json();
  assert.deepEqual(jwks.keys.map((k) => k.kid), ['interop-2', 'interop-1']);
  // The session is the deployment's: it goes on as it was.
  await page.goto(`${edge.site}/docs/guide.html`);
  assert.equal(page.url(), `${edge.site}/docs/guide.html`);
  // Its ID token expires (4 s): refresh gets one signed with interop-2,
  // fetches the key set once, renews the session.
  await page.waitForTimeout(5000);
  await page.goto(`${edge.site}/docs/reference/`);
  assert.equal(page.url(), `${edge.site}/docs/reference/`, edge.logs.join('').split('\n').slice(-15).join('\n'));
  assert.equal(refreshes.length, 1, 'one trip through refresh');
  assert.ok(edge.logs.join('').includes('provider key set fetched again'));

  // A new sign-in, with a token signed by the new key.
  const newcomer = await loopbackContext(browser);
  const other = await newcomer.newPage();
  await other.goto(`${edge.site}/admin/`);
  await signInAtOp(other, 'admin');
  await other.waitForURL(`${edge.site}/admin/`);
  assert.match(await other.title(), /Admin area/);
  await newcomer.close();
  await context.close();
});

test('step-up per rule: a recent sign-in (prompt=login, max_age, auth_time) and a second factor (amr)', async () => {
  // Its own provider and edge: /docs/reference/* asks for a sign-in
  // within 5 seconds, /admin/* for a second factor, which oidc-provider's
  // development login never reports (no amr).
  const pair = await startPair(60, ['--rule', '/docs/reference/*=readers,admins;max-auth-age=5', '--rule', '/admin/*=admins;mfa']);
  const context = await loopbackContext(browser);
  try {
    const page = await context.newPage();
    const asked = [];
    // The authorization requests (not oidc-provider's own resumes, /auth/<uid>).
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (r.url().startsWith(pair.op.issuer) && url.pathname === '/auth') asked.push(url.searchParams);
    });
    await page.goto(`${pair.edge.site}/docs/reference/`);
    await signInAtOp(page, 'reader', pair.edge.site);
    await page.waitForURL(`${pair.edge.site}/docs/reference/`);
    assert.equal(asked.length, 1);
    assert.equal(asked[0].get('prompt'), 'login');
    assert.equal(asked[0].get('max_age'), '5');
    // A page of no rule: no step-up, the provider is not asked.
    assert.equal((await page.goto(`${pair.edge.site}/docs/`)).status(), 200);
    assert.equal(asked.length, 1);

    // Past the age: the same session opens /docs/ still, but
    // /docs/reference/ asks for the password again although the provider
    // has a session of its own (prompt=login).
    await page.waitForTimeout(6000);
    assert.equal((await page.goto(`${pair.edge.site}/docs/`)).status(), 200);
    await page.goto(`${pair.edge.site}/docs/reference/`);
    assert.ok(page.url().startsWith(pair.op.issuer), page.url());
    assert.equal(asked.length, 2);
    await signInAtOp(page, 'reader', pair.edge.site);
    await page.waitForURL(`${pair.edge.site}/docs/reference/`);
    assert.match(await page.title(), /Reference/i);

    // A second factor: the provider reports none, so the callback says so
    // (no loop back to the provider), and the rest of the site is open.
    const admin = await loopbackContext(browser);
    const other = await admin.newPage();
    await other.goto(`${pair.edge.site}/admin/`);
    await signInAtOp(other, 'admin', pair.edge.site);
    await other.waitForLoadState();
    assert.match(await other.textContent('h1'), /A stronger sign-in is needed/);
    assert.match(await other.textContent('main'), /second factor/);
    assert.ok(other.url().startsWith(`${pair.edge.site}/_edge-auth/callback`), other.url());
    assert.equal((await other.goto(`${pair.edge.site}/docs/`)).status(), 200, 'signed in for the rest of the site');
    await admin.close();
  } finally {
    await context.close();
    pair.edge.stop();
    pair.op.stop();
  }
});
