// Many sites from one local edge (examples/sites/sites.toml): each site
// its own content and rules, sessions taken only on the sites of the
// group they were issued for, a host that is no site's gets a 404.
// Chromium sends *.localhost to the loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEdge, launch, signIn, USERS } from './harness.mjs';

let edge, browser;

before(async () => {
  // With a branch's preview of the API reference, as `preview upload`
  // puts one on AWS.
  edge = await startEdge(['--settings', 'examples/sites/sites.toml',
    '--preview', 'api:feature-x=tests/browser/preview-feature-x']);
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

test('one sign-in, at the group\'s sign-in site, opens every site of the group: a cookie for the parent domain, which the status page does not take', async () => {
  assert.equal(new URL(edge.sites.handbook).hostname, 'handbook.docs.localhost');
  assert.equal(new URL(edge.sites.api).hostname, 'api.docs.localhost');
  const context = await localContext();
  try {
    const page = await context.newPage();
    const auth = [];
    page.on('request', (r) => { if (r.url().includes('/_edge-auth/')) auth.push(r.url()); });
    // The API reference hands its sign-in to the handbook, which alone
    // is a redirect URI the provider knows.
    await page.goto(`${edge.sites.api}/private/`);
    assert.ok(page.url().startsWith(edge.idp), page.url());
    assert.ok(auth.some((u) => u.startsWith(`${edge.sites.handbook}/_edge-auth/start?site=api&return=%2Fprivate%2F`)), JSON.stringify(auth));
    await signIn(page, edge.sites.api, USERS.admin);
    assert.equal(page.url(), `${edge.sites.api}/private/`);
    assert.match(await page.title(), /Private API notes/);
    assert.ok(auth.some((u) => u.startsWith(`${edge.sites.handbook}/_edge-auth/callback?`)), JSON.stringify(auth));
    // One session cookie, for the parent domain; no host-only one.
    const ours = (await context.cookies()).filter((c) => c.name.endsWith('edge-auth-session'));
    assert.deepEqual(ours.map((c) => [c.name, c.domain, c.httpOnly]), [['__Secure-edge-auth-session', '.docs.localhost', true]]);
    // The handbook opens at once: not a request to an auth path.
    auth.length = 0;
    const handbook = await page.goto(`${edge.sites.handbook}/admin/`);
    assert.equal(handbook.status(), 200);
    assert.match(await page.title(), /Handbook admin/);
    assert.deepEqual(auth, []);
    // The status page is not under docs.localhost: the cookie does not
    // reach it, and it signs in on its own (silently: the provider
    // still has the session).
    await page.goto(`${edge.sites.status}/admin/`);
    await page.waitForURL(`${edge.sites.status}/admin/`);
    assert.ok(auth.some((u) => u.startsWith(`${edge.sites.status}/_edge-auth/start?`)), JSON.stringify(auth));
    assert.ok(await sessionOf(context, edge.sites.status));

    // Copied under the status page's host, the group's session is no
    // session there (issued for the docs group), and the status page's
    // is none at the API reference (another name, another group).
    const carry = async (cookie, site, path) => {
      const other = await localContext();
      try {
        await other.addCookies([{ ...cookie, domain: new URL(site).hostname, path: '/' }]);
        const tab = await other.newPage();
        const response = await tab.goto(`${site}${path}`);
        return { status: response.status(), url: tab.url() };
      } finally {
        await other.close();
      }
    };
    const group = ours[0];
    for (const name of ['__Secure-edge-auth-session', '__Host-edge-auth-session']) {
      const at = await carry({ ...group, name }, edge.sites.status, '/admin/');
      assert.ok(at.url.startsWith(edge.idp), `${name}: ${JSON.stringify(at)}`);
    }
    const statusSession = await sessionOf(context, edge.sites.status);
    const atApi = await carry({ ...statusSession, name: '__Secure-edge-auth-session' }, edge.sites.api, '/private/');
    assert.ok(atApi.url.startsWith(edge.idp), JSON.stringify(atApi));
    // The group's cookie itself, at the API reference: taken.
    const taken = await carry(group, edge.sites.api, '/private/');
    assert.deepEqual(taken, { status: 200, url: `${edge.sites.api}/private/` });
  } finally {
    await context.close();
  }
});

test('sign-out at one site of the group ends the session on all of them', async () => {
  const context = await localContext();
  try {
    const page = await context.newPage();
    await page.goto(`${edge.sites.handbook}/admin/`);
    await signIn(page, edge.sites.handbook, USERS.admin);
    assert.equal(page.url(), `${edge.sites.handbook}/admin/`);
    const before = (await context.cookies()).filter((c) => c.domain === '.docs.localhost').map((c) => c.name).sort();
    assert.deepEqual(before, ['__Secure-edge-auth-refresh', '__Secure-edge-auth-session', '__Secure-edge-auth-user']);
    // Sign out at the API reference (typed: Sec-Fetch-Site none), which
    // ends the provider's session too.
    await page.goto(`${edge.sites.api}/_edge-auth/signout`);
    await page.waitForURL((url) => url.pathname === '/signed-out.html' || url.href.startsWith(edge.idp));
    // The group's cookies are gone, for every site under the domain.
    const after = (await context.cookies()).filter((c) => c.domain === '.docs.localhost' && c.name.includes('session'));
    assert.deepEqual(after, []);
    // The handbook asks again, at the provider's form.
    await page.goto(`${edge.sites.handbook}/admin/`);
    await page.waitForSelector('input[name=username]');
    assert.ok(page.url().startsWith(edge.idp), page.url());
  } finally {
    await context.close();
  }
});

test('a branch\'s preview: its own build at its own host, the site\'s rules, a sign-in through the group\'s sign-in site that comes back to the preview', async () => {
  const preview = edge.previews['api:feature-x'];
  assert.equal(new URL(preview).hostname, 'feature-x.api-preview.docs.localhost');
  const context = await localContext();
  try {
    const page = await context.newPage();
    const auth = [];
    page.on('request', (r) => { if (r.url().includes('/_edge-auth/')) auth.push(r.url()); });
    // No session: the sign-in starts at the handbook (the provider knows no
    // preview's callback), naming the site and the branch.
    await page.goto(`${preview}/private/`);
    assert.ok(page.url().startsWith(edge.idp), page.url());
    assert.ok(auth[0].startsWith(`${edge.sites.handbook}/_edge-auth/start?site=api&branch=feature-x&return=%2Fprivate%2F`), JSON.stringify(auth));
    await signIn(page, preview, USERS.admin);
    assert.equal(page.url(), `${preview}/private/`);
    // The branch's build, not the live site's.
    assert.match(await page.title(), /Private API notes \(preview: feature-x\)/);
    // The live API reference: its own content, the same session.
    auth.length = 0;
    await page.goto(`${edge.sites.api}/private/`);
    assert.equal(await page.title(), 'Private API notes');
    assert.deepEqual(auth, []);
    // The site's rules hold at the preview: a reader is refused there.
    const reader = await localContext();
    try {
      const tab = await reader.newPage();
      await tab.goto(`${preview}/private/`);
      await signIn(tab, preview, USERS.alice);
      const refused = await tab.goto(`${preview}/private/`);
      assert.equal(refused.status(), 403);
      // Its start page opens (no rule there).
      const open = await tab.goto(`${preview}/`);
      assert.equal(open.status(), 200);
      assert.match(await tab.title(), /preview: feature-x/);
    } finally {
      await reader.close();
    }
    // A branch that was never uploaded: no site, no redirect.
    const port = new URL(edge.site).port;
    const none = await page.goto(`http://gone.api-preview.docs.localhost:${port}/`);
    assert.equal(none.status(), 404);
    assert.equal(none.headers().location, undefined);
  } finally {
    await context.close();
  }
});
