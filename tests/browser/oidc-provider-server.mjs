// An independent, certified OpenID provider (node-oidc-provider) on
// 127.0.0.1, configured as a site owner would configure it for edge-auth:
// code flow with PKCE, client_secret_basic, refresh tokens, revocation,
// RP-initiated logout, and a `groups` claim in the ID token.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

export const CLIENT = { id: 'interop-client', secret: 'interop-client-secret' };

export async function startOidcProvider({ site, idTokenTtl = 3600 }) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'interop-1', use: 'sig', alg: 'RS256' };
  const { createServer } = await import('node:http');
  const http = createServer();
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${http.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      redirect_uris: [`${site}/_edge-auth/callback`],
      post_logout_redirect_uris: [`${site}/signed-out.html`],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [jwk] },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    conformIdTokenClaims: false,
    claims: { openid: ['sub'], email: ['email'], profile: ['name', 'groups'] },
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, email: `${sub}@example.com`, name: sub, groups: sub === 'admin' ? ['admins'] : ['readers'] }),
    }),
    ttl: { IdToken: idTokenTtl, AccessToken: idTokenTtl, RefreshToken: 3600, Session: 3600, Grant: 3600, Interaction: 600 },
    cookies: { keys: ['edge-auth-interop-test-cookie-key'] },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error', err));
  http.on('request', provider.callback());
  return { issuer, discovery: `${issuer}/.well-known/openid-configuration`, stop: () => http.close() };
}
