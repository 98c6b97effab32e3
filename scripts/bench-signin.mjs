#!/usr/bin/env node
// The sign-in callback end to end, in both arrangements, in one run:
//
//   edge:     dist/signin.zip, the Lambda@Edge package (Node.js handler
//             module + the origin addon), with a CloudFront event;
//   regional: the `signin` lambda_runtime binary, with a function URL event.
//
// Both read the client secret from Secrets Manager (moto_server on
// 127.0.0.1, once per cold start), exchange the code at a token endpoint on
// 127.0.0.1 (a fresh RS256 ID token per call) and answer with the session
// cookies. Every answer is checked: a 302 to the page the sign-in began on
// with the session cookie, or the run stops.
//
//   node scripts/bench-signin.mjs
//
// Each runs as Lambda runs it, in a process of its own polling a Runtime
// API emulated here: the edge package under a minimal Node.js runtime loop
// (poll, require'd handler, post), the binary as it is.
// cold: process start -> first answer posted, COLD_RUNS each, alternating,
//       median.
// warm: event handed over -> answer posted; ROUNDS rounds alternating
//       between the two warm processes, ROUND_CALLS callbacks each, after
//       WARMUP; p50 and p99 of every callback.
// The regional figures are the native x86_64 build of the same binary:
// the deployed arm64 build runs here only under qemu, whose timings say
// nothing about Graviton. The sizes are those of the zips deployed.
//
// Needs dist/authorize.zip, dist/signin.zip (scripts/package.py),
// dist/regional/signin.zip (scripts/package.py --regional) and moto_server
// (.venv, scripts/setup.sh); builds the native `signin` (release) itself.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
// Every node process started here runs as Lambda starts it: without
// NODE_EXTRA_CA_CERTS (which makes each start read a CA bundle, ~90 ms on a
// machine that sets it) or NODE_OPTIONS.
delete process.env.NODE_EXTRA_CA_CERTS;
delete process.env.NODE_OPTIONS;
// The measuring runs in a child whose stdout, where the edge module's log
// lines go (as at Lambda), is /dev/null; its figures come back on fd 3.
if (process.argv[2] !== 'child') {
  const child = spawn(process.execPath, [here, 'child'], { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
  child.stdio[3].pipe(process.stdout);
  child.on('exit', (code) => process.exit(code ?? 1));
  await new Promise(() => {});
}
const lambda = await import(join(here, '..', '..', 'tests', 'edge', 'lambda.mjs'));
const { functionUrlEvent, runtimeApi } = await import(join(here, '..', '..', 'tests', 'regional', 'runtime-api.mjs'));
const COLD_RUNS = Number(process.env.COLD_RUNS || 15);
const ROUNDS = Number(process.env.ROUNDS || 8);
const ROUND_CALLS = Number(process.env.ROUND_CALLS || 100);
const WARMUP = 50;
const SITE = 'https://docs.example.com';
const REGION = 'eu-west-1';

for (const zip of ['authorize.zip', 'signin.zip', join('regional', 'signin.zip')]) {
  if (!existsSync(join(lambda.DIST, zip))) throw new Error(`${zip}: run scripts/package.py (and --regional) first`);
}
const moto = join(lambda.ROOT, '.venv', 'bin', 'moto_server');
if (!existsSync(moto)) throw new Error('moto_server: run scripts/setup.sh first');

console.error('building the native signin (release) and measuring: a few minutes...');
execFileSync('cargo', ['build', '--release', '--locked', '-q', '-p', 'edge-auth-lambda', '--features', 'provider', '--bin', 'signin'], { cwd: lambda.ROOT, stdio: 'inherit' });
const targetDir = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: lambda.ROOT, encoding: 'utf8' })).target_directory;
const signinBinary = join(targetDir, 'release', 'signin');

const freePort = () => new Promise((resolve) => {
  const s = netServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
const readBody = (req) => new Promise((resolve) => { let b = ''; req.on('data', (c) => { b += c; }); req.on('end', () => resolve(b)); });

// --- Secrets Manager (moto) -------------------------------------------------
const motoPort = await freePort();
const motoProc = spawn(moto, ['-H', '127.0.0.1', '-p', String(motoPort)], { stdio: 'ignore' });
const motoUrl = `http://127.0.0.1:${motoPort}`;
const CLIENT_SECRET = 'bench-client-secret';
const aws = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: REGION };
let secretArn;
for (let i = 0; i < 300 && !secretArn; i++) {
  try {
    const res = await fetch(motoUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'secretsmanager.CreateSecret',
        authorization: `AWS4-HMAC-SHA256 Credential=testing/20261126/${REGION}/secretsmanager/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify({ Name: `bench/signin-${process.pid}`, SecretString: JSON.stringify({ client_id: lambda.CLIENT_ID, client_secret: CLIENT_SECRET }) }),
    });
    secretArn = (await res.json()).ARN;
  } catch {
    await new Promise((r) => setTimeout(r, 100));
  }
}
if (!secretArn) throw new Error('moto_server did not start');

// --- token endpoint ------------------------------------------------------------
// The code is the flow's nonce (the bench chooses it), so each exchange can
// answer with an ID token carrying the nonce the flow cookie expects.
const basic = `Basic ${Buffer.from(`${lambda.CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
let tokenCalls = 0;
const tokenServer = createServer(async (req, res) => {
  const form = new URLSearchParams(await readBody(req));
  tokenCalls++;
  if (req.url !== '/oauth2/token' || form.get('grant_type') !== 'authorization_code' || req.headers.authorization !== basic) {
    res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_request"}');
    return;
  }
  const body = JSON.stringify({ id_token: lambda.idToken({ nonce: form.get('code') }), access_token: 'at', refresh_token: 'rt.value', expires_in: 3600, token_type: 'Bearer' });
  res.writeHead(200, { 'content-type': 'application/json' }).end(body);
});
const tokenBase = `http://127.0.0.1:${await listen(tokenServer)}`;

const config = lambda.config(tokenBase, {
  site: { base_url: SITE },
  secret: { kind: 'secrets_manager', secret_id: secretArn, region: REGION, endpoint_url: motoUrl },
});
delete config.provider.client_auth; // client_secret_basic, as Cognito's app client
const authorize = lambda.load(lambda.unpack('authorize', config));

/** A sign-in started by authorize: the callback's query and flow cookie. */
async function startedFlow() {
  const started = await authorize.handler(lambda.viewerEvent({ uri: '/docs/page.html' }), lambda.context());
  const location = lambda.header(started, 'location')[0];
  const cookie = lambda.header(started, 'set-cookie')[0].split(';')[0];
  return { query: `code=${lambda.param(location, 'nonce')}&state=${lambda.param(location, 'state')}`, cookie };
}

function edgeEvent({ query, cookie }) {
  return lambda.viewerEvent({ uri: '/_edge-auth/callback', querystring: query, cookies: [cookie] });
}

function checkSignedIn(status, location, cookies, what) {
  if (String(status) !== '302' || location !== '/docs/page.html' || !cookies.some((c) => c.startsWith('__Host-edge-auth-session=ey'))) {
    throw new Error(`${what}: not signed in: ${status} ${location} ${cookies.join(' | ').slice(0, 300)}`);
  }
}

// Both arrangements run as Lambda runs them: a process of their own that
// polls a Runtime API (emulated below) for events and posts its answers.
// --- edge: the Node.js package, under a minimal Node.js runtime loop ------------
const edgeDir = lambda.unpack('signin', config);
const runner = join(mkdtempSync(join(tmpdir(), 'bench-signin-')), 'runtime.cjs');
writeFileSync(runner, `
const http = require('node:http');
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true });
const call = (method, path, body) => new Promise((resolve, reject) => {
  const req = http.request({ host, port, method, path, agent }, (res) => {
    let text = '';
    res.on('data', (c) => { text += c; });
    res.on('end', () => resolve({ headers: res.headers, text }));
  });
  req.on('error', reject);
  req.end(body);
});
const { handler } = require(${JSON.stringify(join(edgeDir, 'index.js'))});
(async () => {
  for (;;) {
    const next = await call('GET', '/2018-06-01/runtime/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    const deadline = Number(next.headers['lambda-runtime-deadline-ms']);
    const answer = await handler(JSON.parse(next.text), { awsRequestId: id, functionName: 'us-east-1.edge-auth-prod-signin', getRemainingTimeInMillis: () => deadline - Date.now() });
    await call('POST', '/2018-06-01/runtime/invocation/' + id + '/response', JSON.stringify(answer));
  }
})();
`);

// --- regional: the lambda_runtime binary -----------------------------------------
const regionalConfig = join(mkdtempSync(join(tmpdir(), 'bench-regional-')), 'config.json');
writeFileSync(regionalConfig, JSON.stringify({ ...config, site: undefined }));

const print = (line) => writeSync(3, `${line}\n`);

const ARRANGEMENTS = {
  edge: {
    start: (port) => spawn(process.execPath, [runner], {
      env: { ...process.env, ...aws, AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}` },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
    event: edgeEvent,
    check(answer, what) {
      if (answer.kind !== 'response') throw new Error(`${what}: ${JSON.stringify(answer.body).slice(0, 300)}`);
      const a = answer.body;
      checkSignedIn(a.status, lambda.header(a, 'location')[0], lambda.header(a, 'set-cookie'), what);
    },
  },
  regional: {
    start: (port) => spawn(signinBinary, [], {
      env: {
        ...aws, AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}`, AWS_LAMBDA_FUNCTION_NAME: 'edge-auth-prod-auth-signin',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256', AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/signin',
        AWS_LAMBDA_LOG_STREAM_NAME: 'bench', EDGE_AUTH_CONFIG: regionalConfig, EDGE_AUTH_SITE_URL: SITE,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
    event: ({ query, cookie }) => functionUrlEvent('/_edge-auth/callback', query, [cookie], 'bench'),
    check(answer, what) {
      if (answer.kind !== 'response') throw new Error(`${what}: ${JSON.stringify(answer.body).slice(0, 300)}`);
      const b = answer.body;
      checkSignedIn(b.statusCode, b.headers?.location, b.cookies || [], what);
    },
  },
};

/** Process start -> first answer, in a new process. */
async function coldStart(which, flow) {
  const arrangement = ARRANGEMENTS[which];
  const api = await runtimeApi();
  const began = performance.now();
  const child = arrangement.start(api.port);
  const answer = await api.invoke(arrangement.event(flow));
  const ms = answer.answered - began;
  child.kill();
  api.close();
  arrangement.check(answer, `${which} cold`);
  return ms;
}

/** Event handed over -> answer posted, in the warm process. */
const warmProcess = {};
for (const which of Object.keys(ARRANGEMENTS)) {
  const api = await runtimeApi();
  warmProcess[which] = { api, child: ARRANGEMENTS[which].start(api.port) };
}
async function warmCall(which, flow) {
  const answer = await warmProcess[which].api.invoke(ARRANGEMENTS[which].event(flow));
  ARRANGEMENTS[which].check(answer, `${which} warm`);
  return (answer.answered - answer.sent) * 1e3;
}

// --- measure ---------------------------------------------------------------------
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };

const cold = { edge: [], regional: [] };
// For scale: a bare Node.js start (to exit), which the edge side pays first.
const bareNode = [];
for (let i = 0; i < COLD_RUNS; i++) {
  // Alternate which goes first, so neither always runs on a warmer machine.
  for (const which of i % 2 ? ['regional', 'edge'] : ['edge', 'regional']) {
    cold[which].push(await coldStart(which, await startedFlow()));
  }
  const began = process.hrtime.bigint();
  await new Promise((resolve) => spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }).on('exit', resolve));
  bareNode.push(Number(process.hrtime.bigint() - began) / 1e6);
}
for (let i = 0; i < WARMUP; i++) {
  for (const which of ['edge', 'regional']) await warmCall(which, await startedFlow());
}
const warm = { edge: [], regional: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const which of r % 2 ? ['regional', 'edge'] : ['edge', 'regional']) {
    for (let i = 0; i < ROUND_CALLS; i++) warm[which].push(await warmCall(which, await startedFlow()));
  }
}
for (const { api, child } of Object.values(warmProcess)) {
  child.kill();
  api.close();
}
tokenServer.close();
motoProc.kill();

const size = (p) => statSync(join(lambda.DIST, p)).size;
const sizes = { edge: size('signin.zip'), regional: size(join('regional', 'signin.zip')) };
const rows = [
  ['cold start, process start -> answer (median, ms)', median(cold.edge), median(cold.regional), 1],
  ['warm callback p50 (µs)', median(warm.edge), median(warm.regional), 0],
  ['warm callback p99 (µs)', pct(warm.edge, 0.99), pct(warm.regional, 0.99), 0],
  ['package (zip bytes)', sizes.edge, sizes.regional, 0],
];
print(`sign-in callback, ${COLD_RUNS} cold starts and ${ROUNDS * ROUND_CALLS} warm callbacks each, token endpoint and Secrets Manager (moto) on 127.0.0.1; ${tokenCalls} code exchanges answered`);
print('| | edge (Node.js + addon, x86_64) | regional (lambda_runtime) | regional / edge |');
print('| --- | --- | --- | --- |');
for (const [what, e, r, digits] of rows) {
  print(`| ${what} | ${e.toFixed(digits)} | ${r.toFixed(digits)} | ${(r / e).toFixed(2)} |`);
}
print(`bare \`node -e 0\`, start -> exit (median): ${median(bareNode).toFixed(1)} ms`);
print('regional timings: native x86_64 build of the same binary (the arm64 zip runs here only under qemu)');
process.exit(0);
