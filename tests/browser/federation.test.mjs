// Corporate identity through the pool: the development provider federates
// to two upstream OpenID providers (oidc-provider, not ours) as a Cognito
// pool federates to [[provider.federation]]; the start asks for the
// visitor's address and sends each sign-in to the provider of its domain.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { edgeCookies, freePort, launch, loopbackContext, screenshot, startEdge } from './harness.mjs';
import { CLIENT, signInAtOp, startOidcProvider } from './oidc-provider-server.mjs';

let edge;
let corp;
let partner;
let browser;

before(async () => {
  // The development provider's address first: the upstreams register its
  // /oauth2/idpresponse, as a corporate IdP registers Cognito's.
  const idpPort = await freePort();
  const idpResponse = [`http://127.0.0.1:${idpPort}/oauth2/idpresponse`];
  corp = await startOidcProvider({ redirectUris: idpResponse, emailDomain: 'example.com' });
  partner = await startOidcProvider({ redirectUris: idpResponse, emailDomain: 'partner.test' });
  const upstream = (name, op) => `${name}=${CLIENT.id}:${CLIENT.secret}@${op.discovery}`;
  edge = await startEdge([
    '--idp-port', String(idpPort),
    '--federate', upstream('Corp', corp),
    '--federate-domain', 'Corp=example.com',
    '--federate-attribute', 'Corp:custom:groups=groups',
    '--federate', upstream('Partner', partner),
    '--federate-domain', 'Partner=partner.test',
    '--federate-attribute', 'Partner:custom:groups=groups',
  ]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  edge?.stop();
  corp?.stop();
  partner?.stop();
});

/** The start's page: the address typed, the form sent. */
async function typeAddress(page, email) {
  await page.waitForSelector('input[name=email]');
  await page.fill('input[name=email]', email);
  await page.click('button[type=submit]');
}

test('a corporate address signs in at its provider and reaches what its mapped group opens', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  const upstreamAuthorize = [];
  page.on('request', (r) => { if (r.url().startsWith(`${corp.issuer}/auth`)) upstreamAuthorize.push(new URL(r.url())); });
  await page.goto(`${edge.site}/admin/`);
  // More than one provider could sign this visitor in: our page asks.
  assert.equal(new URL(page.url()).pathname, '/_edge-auth/start');
  assert.match(await page.textContent('h1'), /Sign in/);
  await screenshot(page, 'signin-email-page');
  await typeAddress(page, 'admin@example.com');
  await page.waitForURL((url) => url.href.startsWith(corp.issuer), { timeout: 10000 });
  // Through the pool to Corp, the address passed on as login_hint.
  assert.equal(upstreamAuthorize.length, 1);
  assert.equal(upstreamAuthorize[0].searchParams.get('login_hint'), 'admin@example.com');
  assert.equal(upstreamAuthorize[0].searchParams.get('redirect_uri'), `${edge.idp}/oauth2/idpresponse`);
  await signInAtOp(page, 'admin', edge.site);
  await page.waitForURL(`${edge.site}/admin/`);
  const admin = await page.goto(`${edge.site}/admin/`);
  assert.equal(admin.status(), 200, "Corp's admins group, mapped to custom:groups, opens the admins section");
  assert.ok((await edgeCookies(context)).some((c) => c.name === '__Host-edge-auth-session'));
  await context.close();
});

test('an address of another domain goes to its own provider; its groups open only what they name', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(`${edge.site}/docs/`);
  await typeAddress(page, 'reader@Partner.test');
  await page.waitForURL((url) => url.href.startsWith(partner.issuer), { timeout: 10000 });
  await signInAtOp(page, 'reader', edge.site);
  await page.waitForURL(`${edge.site}/docs/`);
  const admin = await page.goto(`${edge.site}/admin/`);
  assert.equal(admin.status(), 403, "Partner's readers are not admins");
  await context.close();
});

test('an address no provider claims goes to the pool’s own sign-in; a malformed one is asked again', async () => {
  const context = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(`${edge.site}/docs/`);
  await typeAddress(page, 'not-an-address');
  // The browser's own check stops a value without `@`; past it, ours.
  await page.evaluate(() => { document.querySelector('input[name=email]').type = 'text'; });
  await typeAddress(page, 'dee@exa mple.com');
  await page.waitForLoadState();
  assert.match(await page.textContent('main'), /That is not an e-mail address/);
  await typeAddress(page, 'dee@elsewhere.org');
  await page.waitForURL((url) => url.href.startsWith(edge.idp), { timeout: 10000 });
  // Cognito's own form (here the development provider's), with its
  // corporate providers offered beside it as the hosted UI does.
  await page.waitForSelector('input[name=username]');
  assert.ok(await page.$('a.idp >> text=Sign in with Corp'));
  await context.close();
});
