// Machines at the local edge, as a CI job meets them: a workload issuer on
// 127.0.0.1 that signs tokens shaped as GitHub Actions' (its discovery
// document, its key set), the settings' [[tokens.trust]], the exchange at
// /_edge-auth/token, then pages read with the service token it returns
// through the CloudFront Function. No browser: no person is involved.
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTHORIZER, startEdge } from './harness.mjs';

const AUDIENCE = 'https://docs.example.com';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'gh-1', alg: 'RS256', use: 'sig' };
let issuer;
let issuerServer;
let edge;

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A job's token as GitHub Actions mints it (its documented claims). */
function githubToken(changes = {}) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    jti: `job-${now}`, sub: 'repo:example/docs:ref:refs/heads/main', aud: AUDIENCE,
    ref: 'refs/heads/main', sha: 'd6cd1e2bd19e03a81132a23b2025920577f84e37',
    repository: 'example/docs', repository_owner: 'example', repository_owner_id: '65', repository_id: '74',
    repository_visibility: 'private', actor: 'octocat', actor_id: '12', workflow: 'links', event_name: 'push',
    ref_type: 'branch', run_id: '9876543210', run_number: '10', run_attempt: '1', runner_environment: 'github-hosted',
    job_workflow_ref: 'example/docs/.github/workflows/links.yml@refs/heads/main',
    iss: issuer, nbf: now - 5, iat: now, exp: now + 300, ...changes,
  };
  const input = `${b64({ typ: 'JWT', alg: 'RS256', kid: 'gh-1' })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

before(async () => {
  issuerServer = createServer((req, res) => {
    const send = (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/.well-known/openid-configuration') send({ issuer, jwks_uri: `${issuer}/.well-known/jwks`, id_token_signing_alg_values_supported: ['RS256'] });
    else if (req.url === '/.well-known/jwks') send({ keys: [jwk] });
    else res.writeHead(404).end();
  });
  await new Promise((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${issuerServer.address().port}`;
  const dir = mkdtempSync(join(tmpdir(), 'edge-auth-machines-'));
  const settings = join(dir, 'machines.toml');
  writeFileSync(settings, `
[tokens]
max_ttl_days = 30

[[tokens.trust]]
name = "docs-links"
issuer = "${issuer}"
audience = "${AUDIENCE}"
groups = ["admins"]
ttl_minutes = 10
[tokens.trust.claims]
sub = "repo:example/docs:ref:refs/heads/*"

[[rules]]
pattern = "/admin/*"
groups = ["admins"]
`);
  edge = await startEdge(['--settings', settings]);
});
after(() => {
  edge?.stop();
  issuerServer?.close();
});

const exchange = (token) => fetch(`${edge.site}/_edge-auth/token`, token ? { headers: { 'X-Edge-Auth-Workload-Token': token } } : {});

test('a CI job exchanges its OIDC token and reads what its policy opens', { skip: AUTHORIZER !== 'cloudfront-function' && 'service tokens need the CloudFront Function' }, async () => {
  const answer = await exchange(githubToken());
  assert.equal(answer.status, 200, await answer.clone().text());
  assert.equal(answer.headers.get('cache-control'), 'no-store');
  const { access_token: token, token_type: type, expires_in: ttl } = await answer.json();
  assert.equal(type, 'Bearer');
  assert.equal(ttl, 600);

  // The service token opens the rule's pages, through the function.
  const page = await fetch(`${edge.site}/admin/`, { headers: { Authorization: `Bearer ${token}` }, redirect: 'manual' });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<html/i);
  // Without it, a machine gets a 401 and no sign-in page.
  const without = await fetch(`${edge.site}/admin/`, { redirect: 'manual', headers: { Accept: 'application/json' } });
  assert.equal(without.status, 401);
  // The workload's own token opens nothing at the edge.
  const raw = await fetch(`${edge.site}/admin/`, { headers: { Authorization: `Bearer ${githubToken()}` }, redirect: 'manual' });
  assert.equal(raw.status, 401);
  assert.match(raw.headers.get('www-authenticate'), /invalid_token/);
  // The decision is in the log, with the workload's subject, never a token.
  const logs = edge.logs.join('');
  assert.match(logs, /token-exchanged/);
  assert.match(logs, /repo:example\/docs:ref:refs\/heads\/main/);
  assert.ok(!logs.includes(token), 'the minted token is never logged');
});

test('the exchange refuses what its policy does not admit, with a reason', async () => {
  const refused = async (response, status, description) => {
    assert.equal(response.status, status);
    const body = await response.json();
    assert.equal(body.error_description, description, JSON.stringify(body));
  };
  await refused(await exchange(githubToken({ sub: 'repo:evil/docs:ref:refs/heads/main' })), 401, 'no trust policy admits this token');
  await refused(await exchange(githubToken({ aud: 'https://github.com/example' })), 401, 'wrong audience');
  const past = Math.floor(Date.now() / 1000) - 1000;
  await refused(await exchange(githubToken({ iat: past, nbf: past, exp: past + 300 })), 401, 'expired');
  await refused(await exchange(), 400, "send the workload's OIDC token, once, in the X-Edge-Auth-Workload-Token header");
  // In Authorization it never arrives: origin access control's signature
  // takes that header on the way to the function URL.
  const misplaced = await fetch(`${edge.site}/_edge-auth/token`, { headers: { Authorization: `Bearer ${githubToken()}` } });
  await refused(misplaced, 400, "send the workload's OIDC token, once, in the X-Edge-Auth-Workload-Token header");
});
