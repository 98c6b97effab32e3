// An independent, certified OpenID provider (node-oidc-provider) on
// 127.0.0.1, configured as a site owner would configure it for edge-auth:
// code flow with PKCE, client_secret_basic, refresh tokens, revocation,
// RP-initiated logout, and a `groups` claim in the ID token.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

export const CLIENT = { id: 'interop-client', secret: 'interop-client-secret' };

/** An Entra ID group's object id, as Entra sends it in `groups`. */
export const ENTRA_ADMINS = '8d1f5f0e-6a4b-4c2d-9e3f-00000000a0a0';

/**
 * The `groups` claim per login, in the shapes real providers send: an
 * array of names (oidc-provider's, Okta's), Entra ID's object ids, one
 * comma-separated string, and a shape no provider sends (a number).
 */
const GROUPS = {
  admin: ['admins'],
  'entra-admin': [ENTRA_ADMINS, '0b0b0b0b-0000-4000-8000-000000000000'],
  'csv-admin': 'readers,admins',
  'bad-groups': 7,
};

/**
 * oidc-provider's storage (sessions, grants, codes, refresh tokens) kept
 * outside any one Provider instance, so that a provider reconfigured with
 * a new signing key keeps every user's session and refresh token, as a
 * provider with a database does across a key rotation.
 */
function sharedStorage() {
  const items = new Map();
  const grants = new Map();
  const key = (model, id) => `${model}:${id}`;
  return class SharedAdapter {
    constructor(model) { this.model = model; }
    async upsert(id, payload, expiresIn) {
      items.set(key(this.model, id), { payload, expires: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
      if (payload.grantId) {
        const list = grants.get(payload.grantId) ?? [];
        list.push(key(this.model, id));
        grants.set(payload.grantId, list);
      }
    }
    async find(id) {
      const item = items.get(key(this.model, id));
      if (!item || item.expires < Date.now()) return undefined;
      return item.payload;
    }
    async findByUid(uid) {
      for (const [k, item] of items) if (k.startsWith(`${this.model}:`) && item.payload.uid === uid) return item.payload;
      return undefined;
    }
    async findByUserCode(userCode) {
      for (const [k, item] of items) if (k.startsWith(`${this.model}:`) && item.payload.userCode === userCode) return item.payload;
      return undefined;
    }
    async consume(id) {
      const item = items.get(key(this.model, id));
      if (item) item.payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id) { items.delete(key(this.model, id)); }
    async revokeByGrantId(grantId) {
      for (const k of grants.get(grantId) ?? []) items.delete(k);
      grants.delete(grantId);
    }
  };
}

function signingKey(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
}

/**
 * `site`: the relying party's address (its callback and signed-out page
 * are registered); `redirectUris` instead: the URIs to register (an
 * upstream of the development provider registers its idpresponse);
 * `emailDomain`: the domain of every account's address.
 */
export async function startOidcProvider({ site, idTokenTtl = 3600, redirectUris, emailDomain = 'example.com' }) {
  const { createServer } = await import('node:http');
  const http = createServer();
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${http.address().port}`;
  let keys = [signingKey('interop-1')];
  const adapter = sharedStorage();
  let serving;
  const serve = () => {
    const provider = configured(issuer, site, idTokenTtl, keys, adapter, redirectUris, emailDomain);
    if (serving) http.off('request', serving);
    serving = provider.callback();
    http.on('request', serving);
  };
  serve();
  return {
    issuer,
    discovery: `${issuer}/.well-known/openid-configuration`,
    /**
     * Rotates as a provider does: signs with a new key from now on and
     * publishes it first, the old one beside it. Its storage (sessions,
     * grants, refresh tokens) lives outside the instance and survives.
     */
    rotate: (kid) => { keys = [signingKey(kid), ...keys]; serve(); },
    stop: () => http.close(),
  };
}

function configured(issuer, site, idTokenTtl, keys, adapter, redirectUris, emailDomain) {
  const provider = new Provider(issuer, {
    adapter,
    clients: [{
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      redirect_uris: redirectUris ?? [`${site}/_edge-auth/callback`],
      post_logout_redirect_uris: redirectUris ? [] : [`${site}/signed-out.html`],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Every refresh answers with a new refresh token and consumes the old
    // one, as a Cognito app client with refresh token rotation does (with
    // no grace period); a consumed one presented again is invalid_grant.
    rotateRefreshToken: true,
    conformIdTokenClaims: false,
    claims: { openid: ['sub'], email: ['email'], profile: ['name', 'groups'] },
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, email: `${sub}@${emailDomain}`, name: sub, groups: GROUPS[sub] ?? ['readers'] }),
    }),
    ttl: { IdToken: idTokenTtl, AccessToken: idTokenTtl, RefreshToken: 3600, Session: 3600, Grant: 3600, Interaction: 600 },
    cookies: { keys: ['edge-auth-interop-test-cookie-key'] },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error', err));
  return provider;
}

/** oidc-provider's development login and consent screens, back at `site`. */
export async function signInAtOp(page, login, site) {
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any');
  await page.click('button[type=submit]');
  while (!page.url().startsWith(site)) {
    await page.waitForLoadState();
    if (page.url().startsWith(site)) break;
    const consent = await page.$('button[type=submit]');
    if (consent) await consent.click();
    await page.waitForURL((url) => url.href.startsWith(site) || url.pathname.includes('/interaction/'), { timeout: 10000 });
  }
}
