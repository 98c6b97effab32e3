// Shared links at the local edge in headless Chromium: an admin makes a
// link for the admins' folder on the share page, a guest with no account
// opens it, reads the folder through the CloudFront Function with the
// link's cookie, and nothing beside it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTHORIZER, USERS, launch, loopbackContext, screenshot, signIn, startEdge } from './harness.mjs';

let edge;
let browser;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-auth-shares-'));
  const settings = join(dir, 'shares.toml');
  writeFileSync(settings, `
[shares]
max_ttl_days = 7
page = true

[[rules]]
pattern = "/admin/*"
groups = ["admins"]
`);
  edge = await startEdge(['--settings', settings]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  edge?.stop();
});

const cloudfrontFunction = AUTHORIZER === 'cloudfront-function';

test('an admin shares the admins folder; a guest reads it and nothing else', { skip: !cloudfrontFunction && 'shared links need the CloudFront Function' }, async () => {
  const admin = await loopbackContext(browser);
  const page = await admin.newPage();
  await page.goto(`${edge.site}/_edge-auth/share`);
  await signIn(page, edge.site, USERS.admin);
  assert.equal(page.url(), `${edge.site}/_edge-auth/share`);
  assert.equal(await page.title(), 'Share a page — 200');
  // A folder alice's groups could not open is refused on the form.
  await page.fill('input[name=path]', '/admin/*');
  await page.selectOption('select[name=ttl]', '24h');
  await Promise.all([page.waitForURL(/path=/), page.click('button[type=submit]')]);
  await screenshot(page, 'share-link-made');
  const link = await page.inputValue('#link');
  assert.ok(link.startsWith(`${edge.site}/_edge-auth/share?link=`), link);
  await admin.close();

  const guest = await loopbackContext(browser);
  const visitor = await guest.newPage();
  const opened = await visitor.goto(link);
  assert.equal(visitor.url(), `${edge.site}/admin/`);
  assert.equal(opened.status(), 200);
  assert.match(await visitor.title(), /Admin area/);
  // The link is gone from the address bar and its cookie is the folder's.
  const [cookie] = (await guest.cookies()).filter((c) => c.name === '__Secure-edge-auth-share');
  assert.equal(cookie.path, '/admin/');
  assert.ok(cookie.httpOnly && cookie.secure && cookie.sameSite === 'Lax');
  assert.ok(cookie.expires > Date.now() / 1000 + 23 * 3600 && cookie.expires < Date.now() / 1000 + 25 * 3600);
  // Pages of the folder need no parameter; the rest of the site asks
  // for a sign-in the guest cannot make, however the path is spelled.
  assert.equal((await visitor.goto(`${edge.site}/admin/index.html`)).status(), 200);
  for (const outside of ['/docs/', '/admin/..%2fdocs/guide.html', '/admin%2f..%2fdocs/guide.html']) {
    await visitor.goto(`${edge.site}${outside}`);
    assert.ok(!visitor.url().startsWith(`${edge.site}/docs`) || (await visitor.title()) !== "Operator's guide", outside);
    assert.doesNotMatch(await visitor.content(), /Operator's guide/, outside);
  }
  await visitor.goto(`${edge.site}/docs/guide.html`);
  assert.ok(visitor.url().startsWith(`${edge.idp}/oauth2/authorize?`), visitor.url());
  // A damaged link: a page that says so, and no cookie.
  const fresh = await loopbackContext(browser);
  const other = await fresh.newPage();
  const damaged = await other.goto(link.slice(0, -4) + 'AAAA');
  assert.equal(damaged.status(), 403);
  assert.match(await other.textContent('h1'), /Link not valid/);
  assert.deepEqual((await fresh.cookies()).filter((c) => c.name.includes('share')), []);
  await fresh.close();
  await guest.close();
});

test('a reader cannot share what the rules keep from them', { skip: !cloudfrontFunction && 'shared links need the CloudFront Function' }, async () => {
  const reader = await loopbackContext(browser);
  const page = await reader.newPage();
  await page.goto(`${edge.site}/_edge-auth/share`);
  await signIn(page, edge.site, USERS.alice);
  await page.fill('input[name=path]', '/admin/*');
  await Promise.all([page.waitForURL(/path=/), page.click('button[type=submit]')]);
  assert.match(await page.textContent('main'), /you cannot open \/admin\/ yourself/);
  assert.equal(await page.locator('#link').count(), 0);
  await reader.close();
});
