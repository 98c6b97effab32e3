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
// lambda.mjs reads EDGE_AUTH_DIST when it loads: set it from the argument first
// (children inherit it).
if (process.argv[2] && process.argv[2] !== 'child') process.env.EDGE_AUTH_DIST = process.argv[2];
const lambda = await import(join(here, '..', '..', 'tests', 'edge', 'lambda.mjs'));
const WARMUP = 2000;
const RUNS = 20000;
const COLD_RUNS = 20;

function floorHandler() {
  const jwk = JSON.parse(readFileSync(join(lambda.KIT, 'keys', 'jwks.json'), 'utf8')).keys[0];
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  return async (event) => {
    const cookie = event.Records[0].cf.request.headers.cookie[0].value;
    const name = '__Host-edge-auth-id=';
    const token = cookie.split(';').map((c) => c.trim()).find((c) => c.startsWith(name))?.slice(name.length) ?? '';
    const [h, p, s] = token.split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url'));
    const ok = header.alg === 'RS256' && verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    return ok && claims.exp > Date.now() / 1000 ? event.Records[0].cf.request : { status: '302' };
  };
}

// What Chromium sends on a navigation. AWS's sample viewer-request event has
// five headers; a browser's request has three times as many, and converting
// the event costs per header, so both shapes are measured.
const BROWSER_HEADERS = {
  'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8',
  'Accept-Language': 'en-GB,en;q=0.9',
  'Accept-Encoding': 'gzip, deflate, br, zstd',
  'Sec-Ch-Ua': '"Chromium";v="131", "Not_A Brand";v="24"',
  'Sec-Ch-Ua-Mobile': '?0',
  'Sec-Ch-Ua-Platform': '"Linux"',
  'Sec-Fetch-Dest': 'document',
  'Sec-Fetch-Mode': 'navigate',
  'Sec-Fetch-Site': 'same-origin',
  'Sec-Fetch-User': '?1',
  'Upgrade-Insecure-Requests': '1',
  Referer: 'https://d111111abcdef8.cloudfront.net/docs/',
  Priority: 'u=0, i',
};

function event(shape = 'sample') {
  const token = `__Host-edge-auth-id=${lambda.idToken({ exp: 4102444800 })}`;
  return shape === 'browser'
    ? lambda.viewerEvent({ uri: '/docs/guide.html', querystring: 'q=1', cookies: [`${token}; __Host-edge-auth-user=alice`], headers: BROWSER_HEADERS })
    : lambda.viewerEvent({ uri: '/docs/guide.html', querystring: 'q=1', cookies: [token] });
}

async function child(mode, variant, dir, shape) {
  const started = performance.now();
  const handler = variant === 'floor' ? floorHandler() : lambda.load(dir).handler;
  const ctx = lambda.context();
  if (mode === 'cold') {
    const answer = await handler(event(), ctx);
    if (answer.status) throw new Error(`expected a forwarded request, got ${answer.status}`);
    process.stdout.write(JSON.stringify({ inProcessMs: performance.now() - started }) + '\n');
    return;
  }
  const ev = event(shape);
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
  console.log(`package: ${join(lambda.DIST, 'authorize.zip')}`);
  const dir = lambda.unpack('authorize', lambda.config('https://auth.example.com', process.env.BENCH_LOG_LEVEL ? { log_level: process.env.BENCH_LOG_LEVEL } : {}));
  const bare = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const t = performance.now();
    spawnSync(process.execPath, ['-e', 'process.stdout.write("x")']);
    bare.push(performance.now() - t);
  }
  console.log(`node ${process.version}, ${COLD_RUNS} cold starts, ${RUNS} warm invocations after ${WARMUP} warm-up`);
  console.log(`bare node start (node -e): median ${median(bare).toFixed(1)} ms`);
  console.log('warm: AWS sample event (5 headers) | browser-shaped event (16 headers)');
  console.log('variant              cold median   warm p50   warm p99 | warm p50   warm p99   peak RSS');
  const us = (x) => `${x.toFixed(1).padStart(7)} µs`;
  for (const variant of ['authorize', 'floor']) {
    const colds = [];
    for (let i = 0; i < COLD_RUNS; i++) colds.push((await runChild(['cold', variant, dir, 'sample'])).wallMs);
    const sample = await runChild(['warm', variant, dir, 'sample']);
    const browser = await runChild(['warm', variant, dir, 'browser']);
    const label = variant === 'floor' ? 'node:crypto floor' : 'authorize (addon)';
    const rss = Math.max(sample.rssMiB, browser.rssMiB);
    console.log(`${label.padEnd(20)} ${median(colds).toFixed(1).padStart(8)} ms ${us(sample.p50)} ${us(sample.p99)} | ${us(browser.p50)} ${us(browser.p99)} ${rss.toFixed(1).padStart(7)} MiB`);
  }
}

if (process.argv[2] === 'child') await child(process.argv[3], process.argv[4], process.argv[5], process.argv[6]);
else await main();
