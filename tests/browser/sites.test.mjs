// Many sites from one local edge (examples/sites/sites.toml): each site
// its own content and rules, sessions taken only on the sites of the
// group they were issued for, a host that is no site's gets a 404.
// Chromium sends *.localhost to the loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEdge, launch, signIn, USERS } from './harness.mjs';

let edge, browser;

before(async () => {
  edge = await startEdge(['--settings', 'examples/sites/sites.toml']);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  edge?.stop();
});

/** A context that reaches the loopback only: 127.x and *.localhost. */
async function localContext() {
  const context = await browser.newContext();
  await context.route(
    (url) => !/^127\.\d+\.\d+\.\d+$/.test(url.hostname) && !url.hostname.endsWith('.localhost'),
    (route) => route.abort('blockedbyclient'),
  );
  return context;
}

/** The session cookie the context holds for `site` (a URL). */
async function sessionOf(context, site) {
  const cookies = await context.cookies(site);
  return cookies.find((c) => c.name === '__Host-edge-auth-session');
}

test('three sites on one edge: each its own content and rules; a host that is no site gets a 404 and no redirect', async () => {
  assert.deepEqual(Object.keys(edge.sites).sort(), ['api', 'handbook', 'status']);
  const context = await localContext();
  try {
    const page = await context.newPage();
    // The status page is public at its root; its admin area is not.
    const status = await page.goto(`${edge.sites.status}/`);
    assert.equal(status.status(), 200);
    assert.match(await page.title(), /Status/);
    // The handbook asks for a sign-in, which comes back to it.
    await page.goto(`${edge.sites.handbook}/`);
    assert.ok(page.url().startsWith(edge.idp), page.url());
    await signIn(page, edge.sites.handbook, USERS.alice);
    assert.equal(page.url(), `${edge.sites.handbook}/`);
    assert.match(await page.title(), /Handbook/);
    // Its rule: /admin/* for admins only.
    assert.equal((await page.goto(`${edge.sites.handbook}/admin/`)).status(), 403);
    // A host that is no site's: a 404, no Location, nothing signed.
    const port = new URL(edge.site).port;
    const nowhere = await page.goto(`http://nowhere.localhost:${port}/`);
    assert.equal(nowhere.status(), 404);
    assert.equal(nowhere.headers().location, undefined);
    assert.equal(page.url(), `http://nowhere.localhost:${port}/`);
    const start = await page.goto(`http://nowhere.localhost:${port}/_edge-auth/start?return=%2F`);
    assert.equal(start.status(), 404);
  } finally {
    await context.close();
  }
});

test('a session is taken only on the sites of its group: the handbook\'s opens the API reference, the status page\'s does not', async () => {
  const context = await localContext();
  try {
    const page = await context.newPage();
    await page.goto(`${edge.sites.status}/admin/`);
    await signIn(page, edge.sites.status, USERS.admin);
    assert.equal(page.url(), `${edge.sites.status}/admin/`);
    const statusSession = await sessionOf(context, edge.sites.status);
    assert.ok(statusSession);
    // The handbook: its own sign-in, silent (the provider's session).
    await page.goto(`${edge.sites.handbook}/admin/`);
    await page.waitForURL(`${edge.sites.handbook}/admin/`);
    assert.match(await page.title(), /Handbook admin/);
    const handbookSession = await sessionOf(context, edge.sites.handbook);

    // Each copied into a second browser under the API reference's host
    // (as a cookie for a parent domain would arrive there).
    const check = async (session) => {
      const other = await localContext();
      try {
        await other.addCookies([{ ...session, domain: new URL(edge.sites.api).hostname, path: '/' }]);
        const tab = await other.newPage();
        const starts = [];
        tab.on('request', (r) => { if (r.url().includes('/_edge-auth/start')) starts.push(r.url()); });
        const response = await tab.goto(`${edge.sites.api}/private/`);
        return { starts, status: response.status(), url: tab.url() };
      } finally {
        await other.close();
      }
    };
    // The handbook's (group "docs"): taken, its groups open the page.
    const shared = await check(handbookSession);
    assert.deepEqual(shared.starts, []);
    assert.equal(shared.status, 200);
    // The status page's: no session here; a sign-in starts (at the provider).
    const foreign = await check(statusSession);
    assert.equal(foreign.starts.length, 1, JSON.stringify(foreign));
    assert.ok(foreign.url.startsWith(edge.idp), foreign.url);

    // In the first browser, the API reference signs in without the
    // password: the provider still has the session (one sign-in).
    await page.goto(`${edge.sites.api}/private/`);
    await page.waitForURL(`${edge.sites.api}/private/`);
    assert.match(await page.title(), /Private API notes/);
  } finally {
    await context.close();
  }
});

test('sign-out at one site of a group ends the session on the others', async () => {
  const context = await localContext();
  try {
    const page = await context.newPage();
    await page.goto(`${edge.sites.handbook}/admin/`);
    await signIn(page, edge.sites.handbook, USERS.admin);
    // The API reference signs in a second later (silently): its session
    // is issued after the handbook's, as it would be.
    await page.waitForTimeout(1100);
    await page.goto(`${edge.sites.api}/private/`);
    await page.waitForURL(`${edge.sites.api}/private/`);
    assert.match(await page.title(), /Private API notes/);
    // Sign out at the handbook (typed: Sec-Fetch-Site none), which ends
    // the provider's session too.
    await page.goto(`${edge.sites.handbook}/_edge-auth/signout`);
    await page.waitForURL((url) => url.pathname === '/signed-out.html' || url.href.startsWith(edge.idp));
    // The API reference's own session (its own cookie, issued after the
    // handbook's) no longer opens its page: the provider asks again.
    const response = await page.goto(`${edge.sites.api}/private/`);
    await page.waitForSelector('input[name=username]');
    assert.ok(page.url().startsWith(edge.idp), page.url());
    assert.ok(response.url().startsWith(edge.sites.api) || response.url().startsWith(edge.idp));
  } finally {
    await context.close();
  }
});
