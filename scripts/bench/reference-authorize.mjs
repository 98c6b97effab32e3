// The JavaScript peer of `authorize`, written as a user would write it for
// Lambda@Edge: aws-jwt-verify (what AWS's own Lambda@Edge sample uses) with
// the JWKS preloaded, the ID token read from the Cookie header, and the same
// decisions authorize makes for the benchmark's cases: a valid token lets
// the request through (path rules checked), an expired one goes to the
// refresh path, anything else starts a sign-in with PKCE S256, state and
// nonce in a flow cookie. scripts/bench-edge.mjs measures authorize against
// it, in the same process, in alternating rounds.
import { createHash, randomBytes } from 'node:crypto';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import { JwtExpiredError } from 'aws-jwt-verify/error';

export function createHandler({ issuer, clientId, jwks, authorizationEndpoint, siteBase, rules = [] }) {
  const userPoolId = issuer.split('/').pop();
  const verifier = CognitoJwtVerifier.create({ userPoolId, tokenUse: 'id', clientId });
  verifier.cacheJwks(jwks);
  const cookieName = '__Host-edge-auth-id';
  const compiled = rules.map((rule) => ({ ...rule, re: pathPattern(rule.pattern) }));

  const noStore = [{ key: 'Cache-Control', value: 'no-store' }];
  const redirect = (location, cookies = []) => ({
    status: '302',
    statusDescription: 'Found',
    headers: {
      location: [{ key: 'Location', value: location }],
      'cache-control': noStore,
      ...(cookies.length ? { 'set-cookie': cookies.map((value) => ({ key: 'Set-Cookie', value })) } : {}),
    },
  });

  return async (event) => {
    const request = event.Records[0].cf.request;
    const returnTo = request.querystring ? `${request.uri}?${request.querystring}` : request.uri;
    const token = readCookie(request.headers, cookieName);
    if (token) {
      try {
        const claims = await verifier.verify(token);
        const rule = compiled.find((r) => r.re.test(request.uri));
        const groups = claims['cognito:groups'] ?? [];
        if (!rule || groups.some((g) => rule.groups.includes(g))) return request;
        return { status: '403', statusDescription: 'Forbidden', headers: { 'cache-control': noStore } };
      } catch (e) {
        if (e instanceof JwtExpiredError) {
          return redirect(`/_edge-auth/refresh?return=${encodeURIComponent(returnTo)}`);
        }
      }
    }
    const state = randomBytes(32).toString('base64url');
    const codeVerifier = randomBytes(32).toString('base64url');
    const nonce = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(codeVerifier).digest('base64url');
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: `${siteBase}/_edge-auth/callback`,
      scope: 'openid email profile',
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const flow = `${Math.floor(Date.now() / 1000)}.${codeVerifier}.${nonce}.${Buffer.from(returnTo).toString('base64url')}`;
    return redirect(`${authorizationEndpoint}?${query}`, [
      `__Host-edge-auth-flow-${state}=${flow}; Path=/; Max-Age=600; Secure; HttpOnly; SameSite=Lax`,
    ]);
  };
}

function readCookie(headers, name) {
  for (const { value } of headers.cookie ?? []) {
    for (const pair of value.split(';')) {
      const at = pair.indexOf('=');
      if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
    }
  }
  return undefined;
}

// CloudFront path patterns: `*` any run of characters, `?` one.
function pathPattern(pattern) {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}
