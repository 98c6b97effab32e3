// The same flows against oidc-provider (not ours) as the external provider:
// the edge knows it only by its discovery URL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { edgeCookies, launch, loopbackContext, startEdge } from './harness.mjs';
import { CLIENT, startOidcProvider } from './oidc-provider-server.mjs';

let edge;
let op;
let browser;

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  const port = await freePort();
  const site = `http://127.0.0.1:${port}`;
  op = await startOidcProvider({ site, idTokenTtl: 4 });
  edge = await startEdge([
    '--port', String(port),
    '--provider-discovery', op.discovery,
    '--client-id', CLIENT.id,
    '--client-secret', CLIENT.secret,
    '--groups-claim', 'groups',
    '--clock-skew', '0',
  ]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  edge?.stop();
  op?.stop();
});

/** oidc-provider's development login and consent screens. */
async function signInAtOp(page, login) {
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any');
  await page.click('button[type=submit]');
  while (!page.url().startsWith(edge.site)) {
    await page.waitForLoadState();
    if (page.url().startsWith(edge.site)) break;
    const consent = await page.$('button[type=submit]');
    if (consent) await consent.click();
    await page.waitForURL((url) => url.href.startsWith(edge.site) || url.pathname.includes('/interaction/'), { timeout: 10000 });
  }
}

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
