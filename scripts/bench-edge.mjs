#!/usr/bin/env node
// Measures the authorize package as Lambda@Edge runs it, beside the floor:
// a bare node:crypto RS256 verification of the same Cognito-shaped token.
//
//   node scripts/bench-edge.mjs [dist-dir]
//
// cold:  new node process -> module (and addon) loaded -> first answer; median of 20
// warm:  per-invocation time over 20,000 invocations after 2,000 warm-up; p50, p99
// rss:   peak resident memory of the warm run's process
// Needs dist/authorize.zip (scripts/package.py).
import { spawn, spawnSync } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const lambda = await import(join(here, '..', '..', 'tests', 'edge', 'lambda.mjs'));
const WARMUP = 2000;
const RUNS = 20000;
const COLD_RUNS = 20;

function floorHandler() {
  const jwk = JSON.parse(readFileSync(join(lambda.KIT, 'keys', 'jwks.json'), 'utf8')).keys[0];
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  return async (event) => {
    const cookie = event.Records[0].cf.request.headers.cookie[0].value;
    const token = cookie.slice(cookie.indexOf('=') + 1);
    const [h, p, s] = token.split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url'));
    const ok = header.alg === 'RS256' && verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    return ok && claims.exp > Date.now() / 1000 ? event.Records[0].cf.request : { status: '302' };
  };
}

function event() {
  return lambda.viewerEvent({ uri: '/docs/guide.html', querystring: 'q=1', cookies: [`__Host-edge-auth-id=${lambda.idToken({ exp: 4102444800 })}`] });
}

async function child(mode, variant, dir) {
  const started = performance.now();
  const handler = variant === 'floor' ? floorHandler() : lambda.load(dir).handler;
  const ctx = lambda.context();
  if (mode === 'cold') {
    const answer = await handler(event(), ctx);
    if (answer.status) throw new Error(`expected a forwarded request, got ${answer.status}`);
    process.stdout.write(JSON.stringify({ inProcessMs: performance.now() - started }) + '\n');
    return;
  }
  const ev = event();
  for (let i = 0; i < WARMUP; i++) await handler(ev, ctx);
  const times = new Float64Array(RUNS);
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    const answer = await handler(ev, ctx);
    times[i] = Number(process.hrtime.bigint() - t) / 1000;
    if (answer.status) throw new Error('expected a forwarded request');
  }
  times.sort();
  const pct = (p) => times[Math.min(RUNS - 1, Math.floor((p / 100) * RUNS))];
  process.stdout.write(JSON.stringify({ p50: pct(50), p99: pct(99), rssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

function runChild(args) {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const proc = spawn(process.execPath, [here, 'child', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.on('exit', (code) => (code === 0 ? resolve({ wallMs: performance.now() - began, ...JSON.parse(out.trim().split('\n').pop()) }) : reject(new Error(`child ${args} exited ${code}`))));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const dist = process.argv[2] || lambda.DIST;
  process.env.EDGE_AUTH_DIST = dist;
  const dir = lambda.unpack('authorize', lambda.config('https://auth.example.com', process.env.BENCH_LOG_LEVEL ? { log_level: process.env.BENCH_LOG_LEVEL } : {}));
  const bare = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const t = performance.now();
    spawnSync(process.execPath, ['-e', 'process.stdout.write("x")']);
    bare.push(performance.now() - t);
  }
  console.log(`node ${process.version}, ${COLD_RUNS} cold starts, ${RUNS} warm invocations after ${WARMUP} warm-up`);
  console.log(`bare node start (node -e): median ${median(bare).toFixed(1)} ms`);
  console.log('variant              cold median   warm p50   warm p99   peak RSS');
  for (const variant of ['authorize', 'floor']) {
    const colds = [];
    for (let i = 0; i < COLD_RUNS; i++) colds.push((await runChild(['cold', variant, dir])).wallMs);
    const warm = await runChild(['warm', variant, dir]);
    const label = variant === 'floor' ? 'node:crypto floor' : 'authorize (addon)';
    console.log(`${label.padEnd(20)} ${median(colds).toFixed(1).padStart(8)} ms ${warm.p50.toFixed(1).padStart(7)} µs ${warm.p99.toFixed(1).padStart(7)} µs ${warm.rssMiB.toFixed(1).padStart(7)} MiB`);
  }
}

if (process.argv[2] === 'child') await child(process.argv[3], process.argv[4], process.argv[5]);
else await main();
