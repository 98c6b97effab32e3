#!/usr/bin/env node
// Cookie bytes before and after the deployment-signed session, in one run:
// the real signin package (dist/signin.zip) signs in a Cognito-shaped user
// and a user in 200 groups against a token endpoint on 127.0.0.1, and this
// prints what each browser would carry on every request:
//
//   before: `__Host-edge-auth-id=<the provider's ID token>` (the cookie the
//           previous release set: the whole RS256 ID token);
//   after:  `__Host-edge-auth-session=<the session>` as signin set it.
//
//   node scripts/bench-cookies.mjs [dist-dir]
// Needs dist/authorize.zip and dist/signin.zip (scripts/package.py).
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
if (process.argv[2]) process.env.EDGE_AUTH_DIST = process.argv[2];
const lambda = await import(join(here, '..', '..', 'tests', 'edge', 'lambda.mjs'));

// Cognito's ID token claims (as a user pool issues them, groups and all).
const cognito = (groups) => ({
  'cognito:groups': groups,
  email_verified: true,
  'cognito:username': '3b7a1f5e-0000-4000-8000-000000000001',
  origin_jti: '8f0c2a3e-1b6d-4f7a-9c2e-5d4b3a2f1e0d',
  event_id: 'c7b9e6a1-2d3f-4a5b-8c9d-0e1f2a3b4c5d',
  auth_time: Math.floor(Date.now() / 1000),
  jti: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5e',
  email: 'alice.example@example.com',
  at_hash: 'x4Z0nWqY2vB7sU3rT6pQ1A',
});
const CASES = {
  'Cognito-shaped, 2 groups': cognito(['admins', 'readers']),
  '200 groups (admins among them)': cognito(['admins', ...Array.from({ length: 199 }, (_, i) => `team-${String(i).padStart(3, '0')}-readers`)]),
};

let answer = '';
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(answer); });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const provider = `http://127.0.0.1:${server.address().port}`;
const conf = lambda.config(provider, { rules: [{ pattern: '/admin/*', groups: ['admins'] }], log_level: 'error' });
const authorize = lambda.load(lambda.unpack('authorize', conf));
const signin = lambda.load(lambda.unpack('signin', conf));

console.log('case                             ID token cookie (before)        session cookie (after)   groups kept');
for (const [name, claims] of Object.entries(CASES)) {
  const started = await authorize.handler(lambda.viewerEvent({ uri: '/docs/' }), lambda.context());
  const location = lambda.header(started, 'location')[0];
  const flow = lambda.header(started, 'set-cookie')[0].split(';')[0];
  const id = lambda.idToken({ ...claims, nonce: lambda.param(location, 'nonce') });
  answer = JSON.stringify({ id_token: id, access_token: 'at', refresh_token: 'rt', token_type: 'Bearer', expires_in: 3600 });
  const done = await signin.handler(lambda.viewerEvent({ uri: '/_edge-auth/callback', querystring: `code=c&state=${lambda.param(location, 'state')}`, cookies: [flow] }), lambda.context());
  const session = lambda.header(done, 'set-cookie').find((c) => c.startsWith('__Host-edge-auth-session=')).split(';')[0];
  const before = `__Host-edge-auth-id=${id}`.length;
  const kept = JSON.parse(Buffer.from(session.split('=')[1].split('.')[1], 'base64url')).groups;
  const note = before > 4096 ? ' (> 4096: dropped)' : '';
  console.log(`${name.padEnd(32)} ${`${before} bytes${note}`.padEnd(31)} ${`${session.length} bytes`.padEnd(24)} ${JSON.stringify(kept)}`);
}
server.close();
