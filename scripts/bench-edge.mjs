#!/usr/bin/env node
// Measures the authorize package as Lambda@Edge runs it against its
// JavaScript peer (scripts/bench/reference-authorize.mjs: aws-jwt-verify, as
// AWS's Lambda@Edge sample uses it) and the floor (one bare node:crypto
// RS256 verification), all in the same run.
//
//   node scripts/bench-edge.mjs [dist-dir]
//
// warm:  every variant loaded in one process; for each case, ROUNDS rounds
//        alternate between the variants, ROUND_CALLS calls each, after
//        WARMUP calls each; p50 and p99 of every call's time; the ratio is
//        to the peer's figure of the same case.
// cold:  new node process -> module (and addon) loaded -> first answer;
//        median of COLD_RUNS, beside a bare `node -e`; and the package
//        alone beside a bare `node -e` and a trivial handler module in
//        COLD_TRIPLES alternating triples, with the paired differences'
//        median and its 95 % bootstrap interval.
// rss:   peak resident memory of a process that ran one variant's warm loop.
// function: the CloudFront Function the core renders for the same settings
//        (the default per-request check), on the same requests in CloudFront
//        Functions' event shape: in Node.js in the warm table, and in Debian's
//        njs (the engine whose dialect CloudFront Functions share) as a mean
//        per call beside the same loop's mean in Node.js.
// Needs dist/authorize.zip (scripts/package.py) and the peer's locked
// packages (npm ci in scripts/bench; done on first use); cargo renders the
// function (examples/render-cloudfront-function.rs); njs is optional.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as nodeCrypto from 'node:crypto';
import { createPublicKey, verify } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
// Every node process started here runs as Lambda starts it: without
// NODE_EXTRA_CA_CERTS (which makes each start read a CA bundle, ~90 ms on a
// machine that sets it) or NODE_OPTIONS.
delete process.env.NODE_EXTRA_CA_CERTS;
delete process.env.NODE_OPTIONS;
const benchDir = join(here, '..', 'bench');
// lambda.mjs reads EDGE_AUTH_DIST when it loads: set it from the argument first
// (children inherit it).
if (process.argv[2] && process.argv[2] !== 'child') process.env.EDGE_AUTH_DIST = process.argv[2];
if (process.argv[2] !== 'child' && !existsSync(join(benchDir, 'node_modules', 'aws-jwt-verify'))) {
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: benchDir, stdio: 'inherit' });
}
const lambda = await import(join(here, '..', '..', 'tests', 'edge', 'lambda.mjs'));
const WARMUP = 2000;
const ROUNDS = 10;
const ROUND_CALLS = 2000;
const COLD_RUNS = 20;
const COLD_TRIPLES = 80;
const PROVIDER = 'https://auth.example.com';

const JWKS = () => JSON.parse(readFileSync(join(lambda.KIT, 'keys', 'jwks.json'), 'utf8'));

function floorHandler() {
  const key = createPublicKey({ key: JWKS().keys[0], format: 'jwk' });
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

// The CloudFront Function for these settings, as the core renders it.
function renderFunction() {
  const dir = mkdtempSync(join(tmpdir(), 'edge-cf-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(lambda.config(PROVIDER)));
  const source = execFileSync('cargo', ['run', '-q', '--release', '-p', 'edge-auth-core', '--example', 'render-cloudfront-function', '--', configFile], { encoding: 'utf8', cwd: join(here, '..', '..') });
  writeFileSync(join(dir, 'function.js'), source);
  return join(dir, 'function.js');
}
const IMPORT = "import cf from 'cloudfront';";
// Its key value store: the session verify keys, as the deploy tool writes them.
const STORE = Object.fromEntries(lambda.config(PROVIDER).session.keys.map((k) => [`key:${k.kid}`, k.key]));

/** The function in Node.js: a context with what cloudfront-js-2.0 offers. */
async function functionHandler(file) {
  const { runInContext, createContext } = await import('node:vm');
  const cf = { kvs: () => ({ get: (k) => (k in STORE ? Promise.resolve(STORE[k]) : Promise.reject(new Error('not found'))) }) };
  const context = createContext({ cf, Buffer, require: () => ({ createHmac: nodeCrypto.createHmac, createHash: nodeCrypto.createHash }) });
  const fn = runInContext(`${readFileSync(file, 'utf8').slice(IMPORT.length)}\n;handler`, context);
  // Events are converted once, outside the timed call.
  const converted = new WeakMap();
  return (event) => {
    let e = converted.get(event);
    if (!e) converted.set(event, (e = toFunctionEvent(event)));
    // The cases name a file, which the function does not rewrite, so one
    // event object serves every call.
    return fn(e);
  };
}

/** A Lambda@Edge viewer-request event as CloudFront Functions receive it. */
function toFunctionEvent(event) {
  const request = event.Records[0].cf.request;
  const headers = {};
  const cookies = {};
  for (const [name, entries] of Object.entries(request.headers)) {
    for (const { value } of entries) {
      if (name === 'cookie') {
        for (const pair of value.split(';')) {
          const at = pair.indexOf('=');
          const key = pair.slice(0, at).trim();
          if (key) cookies[key] = { value: pair.slice(at + 1).trim() };
        }
      } else headers[name] = { value };
    }
  }
  const querystring = {};
  for (const pair of request.querystring.split('&').filter(Boolean)) {
    const [k, v = ''] = pair.split('=');
    querystring[k] = { value: v };
  }
  return { version: '1.0', context: { eventType: 'viewer-request' }, viewer: { ip: '203.0.113.9' }, request: { method: request.method, uri: request.uri, querystring, headers, cookies } };
}

/** Mean µs per call of the function over `calls` calls of each event, in
 * njs and in Node.js, the same loop in both. */
function functionMeans(file, events, calls) {
  const dir = mkdtempSync(join(tmpdir(), 'edge-cf-njs-'));
  const body = readFileSync(file, 'utf8').slice(IMPORT.length);
  const script = `var STORE = ${JSON.stringify(STORE)};
var cf = { kvs: function () { return { get: function (k) { return STORE[k] !== undefined ? Promise.resolve(STORE[k]) : Promise.reject(new Error('not found')); } }; } };
${body}
var EVENTS = ${JSON.stringify(events)};
var out = [];
(async function () {
  for (var e = 0; e < EVENTS.length; e++) {
    for (var w = 0; w < ${calls >> 2}; w++) { var a = await handler(EVENTS[e]); }
    var t = Date.now();
    for (var i = 0; i < ${calls}; i++) { var r = await handler(EVENTS[e]); }
    out.push((Date.now() - t) * 1000 / ${calls});
  }
  console.log(JSON.stringify(out));
})();
`;
  const njsFile = join(dir, 'bench.js');
  writeFileSync(njsFile, script);
  const nodeFile = join(dir, 'bench.cjs');
  writeFileSync(nodeFile, script);
  const run = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return r.status === 0 ? JSON.parse(r.stdout.trim().split('\n').pop()) : null;
  };
  return { njs: run('njs', ['-q', njsFile]), node: run(process.execPath, [nodeFile]) };
}

// Imported only where it runs, so that a cold start of the other variants
// does not pay for loading it.
async function peerHandler() {
  const { createHandler } = await import(join(benchDir, 'reference-authorize.mjs'));
  const config = lambda.config(PROVIDER);
  return createHandler({
    issuer: config.provider.issuer,
    clientId: config.provider.client_id,
    jwks: config.provider.jwks,
    authorizationEndpoint: config.provider.authorization_endpoint,
    siteBase: 'https://d111111abcdef8.cloudfront.net',
    rules: config.rules,
  });
}

// What Chromium sends on a navigation. AWS's sample viewer-request event has
// five headers; a browser's request has three times as many.
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

// The cases: what every signed-in page and asset sends (a valid session, in
// AWS's sample event and in a browser's; the same one again and again, and
// one never seen before on every call), and the two ways to a sign-in. Each
// request carries each system's own cookie: authorize reads the session
// the deployment signed (HS256), the peer and the floor the provider's ID
// token (RS256), as AWS's sample keeps it.
const damage = (t) => `${t.slice(0, -4)}${t.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
function cookiesOf(i = 0) {
  return `__Host-edge-auth-session=${lambda.session({ exp: 4102444800, sid: `bench-${i}` })}; __Host-edge-auth-id=${lambda.idToken({ exp: 4102444800, jti: `bench-${i}` })}`;
}
/** Distinct sessions and tokens (more than any per-sandbox cache keeps). */
const FIRST_SEEN = 512;
function caseEvent(name) {
  const browser = (cookie) =>
    lambda.viewerEvent({ uri: '/docs/guide.html', querystring: 'q=1', cookies: cookie ? [`${cookie}; __Host-edge-auth-user=alice`] : [], headers: BROWSER_HEADERS });
  switch (name) {
    case 'valid, AWS sample event (5 headers)':
      return { event: lambda.viewerEvent({ uri: '/docs/guide.html', querystring: 'q=1', cookies: [cookiesOf()] }), forward: true };
    case 'valid, browser request (16 headers)':
      return { event: browser(cookiesOf()), forward: true };
    case 'valid, browser, first-seen session':
      return { event: browser(cookiesOf()), events: Array.from({ length: FIRST_SEEN }, (_, i) => browser(cookiesOf(i + 1))), forward: true };
    case 'bad signature -> sign-in redirect': {
      const [session, id] = cookiesOf().split('; ');
      return { event: browser(`${damage(session)}; ${damage(id)}`), forward: false };
    }
    case 'no cookie -> sign-in redirect':
      return { event: browser(null), forward: false };
    default:
      throw new Error(name);
  }
}
const CASES = ['valid, AWS sample event (5 headers)', 'valid, browser request (16 headers)', 'valid, browser, first-seen session', 'bad signature -> sign-in redirect', 'no cookie -> sign-in redirect'];

async function handlerFor(variant, dir) {
  if (variant === 'authorize') return lambda.load(dir).handler;
  if (variant === 'peer') return peerHandler();
  if (variant === 'function') return functionHandler(process.env.EDGE_AUTH_CF_FUNCTION_FILE);
  return floorHandler();
}

async function check(variant, handler, ctx, { event, forward }) {
  const answer = await handler(event, ctx);
  const forwarded = !answer.status && !answer.statusCode;
  if (forwarded !== forward && !(variant === 'floor' && !forward)) {
    throw new Error(`${variant}: expected ${forward ? 'the request' : 'a redirect'}, got ${answer.status ?? 'the request'}`);
  }
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function warm(dir) {
  const variants = ['authorize', 'function', 'peer', 'floor'];
  const handlers = Object.fromEntries(await Promise.all(variants.map(async (v) => [v, await handlerFor(v, dir)])));
  const ctx = lambda.context();
  const results = {};
  for (const name of CASES) {
    const c = caseEvent(name);
    // The floor checks a valid token only.
    const here = variants.filter((v) => v !== 'floor' || c.forward);
    const times = Object.fromEntries(here.map((v) => [v, new Float64Array(ROUNDS * ROUND_CALLS)]));
    for (const v of here) {
      await check(v, handlers[v], ctx, c);
      for (let i = 0; i < WARMUP; i++) await handlers[v](c.event, ctx);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of here) {
        const handler = handlers[v];
        const out = times[v];
        for (let i = 0; i < ROUND_CALLS; i++) {
          const event = c.events ? c.events[(round * ROUND_CALLS + i) % c.events.length] : c.event;
          const t = process.hrtime.bigint();
          await handler(event, ctx);
          out[round * ROUND_CALLS + i] = Number(process.hrtime.bigint() - t) / 1000;
        }
      }
    }
    results[name] = Object.fromEntries(
      here.map((v) => {
        const sorted = times[v].sort();
        return [v, { p50: percentile(sorted, 50), p99: percentile(sorted, 99) }];
      }),
    );
  }
  return results;
}

async function child(mode, variant, dir) {
  if (mode === 'warm-all') {
    report(await warm(dir));
    return;
  }
  const handler = await handlerFor(variant, dir);
  const ctx = lambda.context();
  const c = caseEvent('valid, browser request (16 headers)');
  if (mode === 'cold') {
    await check(variant, handler, ctx, c);
    report({});
    return;
  }
  // rss: the warm loop of one variant alone.
  for (let i = 0; i < WARMUP + ROUNDS * ROUND_CALLS; i++) await handler(c.event, ctx);
  report({ rssMiB: process.resourceUsage().maxRSS / 1024 });
}

// A child's figures go to fd 3. Its stdout, where the handler's log lines go
// as on Lambda, is /dev/null: the cost of writing a line is measured, not
// how fast this script could drain a pipe.
function report(figures) {
  writeSync(3, JSON.stringify(figures) + '\n');
}

function runChild(args) {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const proc = spawn(process.execPath, [here, 'child', ...args], { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
    let out = '';
    proc.stdio[3].on('data', (d) => { out += d; });
    proc.on('exit', (code) => (code === 0 ? resolve({ wallMs: performance.now() - began, ...JSON.parse(out.trim().split('\n').pop()) }) : reject(new Error(`child ${args} exited ${code}`))));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const us = (x) => `${x.toFixed(1).padStart(6)} µs`;

async function main() {
  const zip = join(lambda.DIST, 'authorize.zip');
  console.log(`package: ${zip} (${readFileSync(zip).length} bytes)`);
  const dir = lambda.unpack('authorize', lambda.config(PROVIDER, process.env.BENCH_LOG_LEVEL ? { log_level: process.env.BENCH_LOG_LEVEL } : {}));
  console.log(`node ${process.version}; warm: ${ROUNDS} alternating rounds of ${ROUND_CALLS} calls per variant after ${WARMUP} warm-up; cold: median of ${COLD_RUNS}`);
  console.log("authorize: the deployment's HS256 session; peer: aws-jwt-verify (JWKS preloaded) on the provider's RS256 ID token + cookie parsing; floor: one node:crypto RS256 verify\n");

  process.env.EDGE_AUTH_CF_FUNCTION_FILE = renderFunction();
  console.log(`function: ${process.env.EDGE_AUTH_CF_FUNCTION_FILE} (${readFileSync(process.env.EDGE_AUTH_CF_FUNCTION_FILE).length} bytes; CloudFront's limit 10,240)`);
  const results = await runChild(['warm-all', '-', dir]);
  console.log('case                                    authorize p50 (p99)     function p50 (p99)    peer p50 (p99)        floor p50   authorize/peer  function/peer');
  for (const name of CASES) {
    const r = results[name];
    const floor = r.floor ? us(r.floor.p50) : '     -   ';
    const ratio = (r.authorize.p50 / r.peer.p50).toFixed(2);
    const fratio = (r.function.p50 / r.peer.p50).toFixed(2);
    console.log(`${name.padEnd(38)} ${us(r.authorize.p50)} (${us(r.authorize.p99)})  ${us(r.function.p50)} (${us(r.function.p99)})  ${us(r.peer.p50)} (${us(r.peer.p99)})  ${floor}   ${ratio}            ${fratio}`);
  }
  // The function in njs beside the same loop in Node.js: a mean per call
  // (njs has no sub-millisecond clock), 20,000 calls a case.
  const means = functionMeans(process.env.EDGE_AUTH_CF_FUNCTION_FILE, CASES.map((name) => toFunctionEvent(caseEvent(name).event)), 20000);
  console.log('\nthe CloudFront Function, mean per call (20,000 calls a case, after 5,000):  njs 0.7.9        Node.js        njs/Node');
  CASES.forEach((name, i) => {
    const njs = means.njs ? means.njs[i] : NaN;
    console.log(`${name.padEnd(38)}                                     ${means.njs ? us(njs) : '  (no njs)'}   ${us(means.node[i])}   ${means.njs ? (njs / means.node[i]).toFixed(2) : '-'}`);
  });

  // The worst the function meets: hostile but valid requests within
  // CloudFront's own limits (a URL of 8,192 bytes). The percent-escape
  // check is decodeURIComponent's single pass, and nothing grows a string
  // piece by piece (njs frees nothing within a request; the per-request
  // memory of each is in cargo test's njs step,
  // every_request_fits_in_cloudfront_functions_memory).
  const hostileEvent = (uri, querystring, cookie) =>
    toFunctionEvent(lambda.viewerEvent({ uri, querystring, cookies: cookie ? [cookie] : [], headers: BROWSER_HEADERS }));
  const params = Array.from({ length: 1000 }, (_, i) => `p${i}=v`).join('&');
  const segments = Array.from({ length: 640 }, (_, i) => `part-${String(i).padStart(3, '0')}`).join('/');
  const HOSTILE = [
    ['ordinary page, session (for scale)', hostileEvent('/docs/guide.html', 'q=1', cookiesOf())],
    ['8 KB of %XX escapes, no session', hostileEvent(`/${'%41'.repeat(2700)}`, '', null)],
    ['8 KB of %XX escapes, session', hostileEvent(`/${'%41'.repeat(2700)}`, '', cookiesOf())],
    ['8 KB path of 640 segments, session', hostileEvent(`/docs/${segments}/page.html`, '', cookiesOf())],
    ['4,000 slashes, no session', hostileEvent('/a'.repeat(4000), '', null)],
    ['1,000 query parameters, no session', hostileEvent('/docs/', params, null)],
  ];
  const hostile = functionMeans(process.env.EDGE_AUTH_CF_FUNCTION_FILE, HOSTILE.map(([, e]) => e), 2000);
  console.log('\nthe CloudFront Function, hostile requests, mean per call (2,000 calls a case, after 500):  njs 0.7.9        Node.js        njs/Node');
  HOSTILE.forEach(([name], i) => {
    const njs = hostile.njs ? hostile.njs[i] : NaN;
    console.log(`${name.padEnd(38)}                                     ${hostile.njs ? us(njs) : '  (no njs)'}   ${us(hostile.node[i])}   ${hostile.njs ? (njs / hostile.node[i]).toFixed(2) : '-'}`);
  });

  // A cold start with nothing but the package: `node -e` requiring the
  // handler module and answering one valid browser request (event inlined),
  // alternating with a bare `node -e`; the harness' own cold starts below
  // also load this script and its helpers.
  const event = JSON.stringify(caseEvent('valid, browser request (16 headers)').event);
  // Each prints its own CPU time (user + system) when it has answered:
  // less disturbed by a busy machine than the wall clock.
  const cpu = 'const u = process.cpuUsage(); process.stdout.write(String(u.user + u.system))';
  const minimal = `const { handler } = require(${JSON.stringify(join(dir, 'index.js'))});
    handler(${event}, { awsRequestId: 'cold', getRemainingTimeInMillis: () => 5000 })
      .then((answer) => { if (answer.status) throw new Error('redirected'); ${cpu}; });`;
  // The bare run compiles the same event literal, so that the difference
  // is the package's: loading the module and addon, answering.
  const bareScript = `const event = ${event}; if (event.Records) { ${cpu}; }`;
  // And what Lambda's Node.js runtime does with the smallest handler there
  // is: require a module that passes the request on, and call it.
  const trivialDir = mkdtempSync(join(tmpdir(), 'edge-trivial-'));
  writeFileSync(join(trivialDir, 'index.js'), "'use strict';\nexports.handler = async (event) => event.Records[0].cf.request;\n");
  const trivial = minimal.replace(JSON.stringify(join(dir, 'index.js')), JSON.stringify(join(trivialDir, 'index.js')));
  const runs = { bare: [], trivial: [], alone: [], bareCpu: [], trivialCpu: [], aloneCpu: [] };
  // Three spawns a triple, in alternating order; the package's cost is read
  // from the differences within each triple (paired), whose median and its
  // bootstrap interval say more than a difference of two medians.
  for (let i = 0; i < COLD_TRIPLES; i++) {
    const order = [['bare', bareScript], ['trivial', trivial], ['alone', minimal]];
    if (i % 2) order.reverse();
    for (const [name, script] of order) {
      const t = performance.now();
      const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      runs[name].push(performance.now() - t);
      if (out.status !== 0 || !out.stdout) throw new Error(`cold ${name}: ${out.stderr}`);
      runs[`${name}Cpu`].push(Number(out.stdout) / 1000);
    }
  }
  const paired = (a, b) => a.map((x, i) => x - b[i]);
  // 95 % interval of the median by resampling the pairs (fixed seed: the
  // same figures give the same interval).
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const interval = (xs) => {
    const medians = [];
    for (let b = 0; b < 2000; b++) medians.push(median(xs.map(() => xs[Math.floor(random() * xs.length)])));
    medians.sort((x, y) => x - y);
    return `${median(xs) >= 0 ? '+' : ''}${median(xs).toFixed(1)} ms [${medians[50].toFixed(1)}, ${medians[1949].toFixed(1)}]`;
  };
  const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
  const bare = runs.bare;
  console.log(`\ncold start (spawn -> first answer), median of ${COLD_TRIPLES}, alternating; CPU = the process' user + system time when it answered`);
  console.log(`bare node -e (same event)  ${median(bare).toFixed(1).padStart(6)} ms   CPU ${median(runs.bareCpu).toFixed(1).padStart(6)} ms`);
  console.log(`trivial handler module     ${median(runs.trivial).toFixed(1).padStart(6)} ms   CPU ${median(runs.trivialCpu).toFixed(1).padStart(6)} ms   (require a module that returns the request, call it)`);
  console.log(`authorize alone            ${median(runs.alone).toFixed(1).padStart(6)} ms   CPU ${median(runs.aloneCpu).toFixed(1).padStart(6)} ms   (${signed(median(runs.alone) - median(bare))} ms wall, ${signed(median(runs.aloneCpu) - median(runs.bareCpu))} ms CPU over bare node; ${signed(median(runs.alone) - median(runs.trivial))} ms wall, ${signed(median(runs.aloneCpu) - median(runs.trivialCpu))} ms CPU over the trivial handler)`);
  console.log(`authorize over bare node, paired median [95 % interval]: wall ${interval(paired(runs.alone, bare))}, CPU ${interval(paired(runs.aloneCpu, runs.bareCpu))}`);
  console.log(`authorize over the trivial handler, paired:                 wall ${interval(paired(runs.alone, runs.trivial))}, CPU ${interval(paired(runs.aloneCpu, runs.trivialCpu))}`);
  // Inside a fresh process, step by step (performance.now() around each):
  // what the package itself costs, free of the spawn's noise.
  // Node's first file require (its module loader) is paid before, by the
  // trivial handler's module, as Lambda's runtime pays it for any handler.
  // The module loads its addon itself (process.dlopen): timed together.
  const parts = `require(${JSON.stringify(join(trivialDir, 'index.js'))});
    const t0 = performance.now();
    const { handler } = require(${JSON.stringify(join(dir, 'index.js'))});
    const t1 = performance.now();
    const event = ${event};
    const t2 = performance.now();
    handler(event, { awsRequestId: 'cold', getRemainingTimeInMillis: () => 5000 }).then(() => {
      const t3 = performance.now();
      process.stdout.write(JSON.stringify([t1 - t0, t3 - t2]));
    });`;
  const steps = [[], []];
  for (let i = 0; i < COLD_RUNS; i++) {
    const out = spawnSync(process.execPath, ['-e', parts], { encoding: 'utf8' });
    JSON.parse(out.stdout).forEach((ms, k) => steps[k].push(ms));
  }
  const [module, first] = steps.map(median);
  console.log(`in a fresh process, median of ${COLD_RUNS}: the handler module (its addon, config.json and the JWKS) ${module.toFixed(2)} ms, first answer ${first.toFixed(2)} ms; together ${(module + first).toFixed(2)} ms`);
  console.log(`\nin the harness (spawn -> first answer), median; peak RSS after ${WARMUP + ROUNDS * ROUND_CALLS} valid browser requests`);
  const variants = ['authorize', 'peer', 'floor'];
  const colds = Object.fromEntries(variants.map((v) => [v, []]));
  // The variants' cold starts alternate too.
  for (let i = 0; i < COLD_RUNS; i++) {
    for (const variant of variants) colds[variant].push((await runChild(['cold', variant, dir])).wallMs);
  }
  const cold = {};
  for (const variant of variants) {
    const { rssMiB } = await runChild(['rss', variant, dir]);
    cold[variant] = median(colds[variant]);
    console.log(`${variant.padEnd(26)} ${cold[variant].toFixed(1).padStart(6)} ms   RSS ${rssMiB.toFixed(1).padStart(5)} MiB`);
  }
  console.log(`cold authorize/peer ${(cold.authorize / cold.peer).toFixed(2)}; authorize - bare node ${(cold.authorize - median(bare)).toFixed(1)} ms`);
}

if (process.argv[2] === 'child') await child(process.argv[3], process.argv[4], process.argv[5]);
else await main();
