// The CloudFront Function with one site against the same function with a
// site table (three and ten sites, and a branch's preview of a site whose
// group shares its session: crates/core/src/sites.rs), in one run, in
// Node.js and Debian's njs: mean µs per call for a page view with a
// valid session, one without, and the store reads each makes (CloudFront
// bills every read). Both functions rendered by the core
// (examples/render-cloudfront-function.rs), their stores as the deploy
// tool would write them.
//   node scripts/bench-sites.mjs [calls]
import { execFileSync, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CALLS = Number(process.argv[2] || 20000);
const KID = 'bench-1';
const KEY = Buffer.alloc(32, 0x5e).toString('base64url');
const NOW = Math.floor(Date.now() / 1000);

function configFor(sites, extra = 0) {
  const config = {
    version: 2,
    session: { keys: [{ kid: KID, key: KEY }] },
    provider: {
      issuer: 'https://auth.example.com', client_id: 'bench', token_use: 'id',
      authorization_endpoint: 'https://auth.example.com/oauth2/authorize',
      token_endpoint: 'https://auth.example.com/oauth2/token',
      jwks: { keys: [] }, jwks_uri: 'https://auth.example.com/jwks', client_auth: 'none',
    },
    site: { base_url: 'https://handbook.example.com' },
    rules: [{ pattern: '/admin/*', groups: ['admins'] }, { pattern: '/ops/*', groups: ['admins', 'readers'] }],
  };
  if (sites) {
    config.sites = [
      { name: 'handbook', base_url: 'https://handbook.example.com', session: 'docs', rules: config.rules, public: ['/favicon.ico'] },
      { name: 'api', base_url: 'https://api.example.com', session: 'docs', rules: [{ pattern: '/private/*', groups: ['admins'] }] },
      { name: 'status', base_url: 'https://status.example.com', public: ['/'] },
    ];
    // More sites: the same function, more store entries.
    for (let i = 0; i < extra; i++) {
      config.sites.push({ name: `team-${i}`, base_url: `https://team-${i}.example.com`, rules: [{ pattern: '/private/*', groups: [`team-${i}`] }] });
    }
  }
  return config;
}

function render(config, ...flags) {
  const dir = mkdtempSync(join(tmpdir(), 'edge-sites-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const args = ['run', '-q', '--release', '-p', 'edge-auth-core', '--example', 'render-cloudfront-function', '--', ...flags, file];
  return execFileSync('cargo', args, { encoding: 'utf8', cwd: ROOT });
}

function session(site, typ = 'edge-auth-session', path) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = b64({ alg: 'HS256', kid: KID, typ });
  const claims = { sub: 'user-1', name: 'alice', groups: ['readers'], sid: 'c2lk', iat: NOW - 60, exp: NOW + 3000 };
  if (site) claims.site = site;
  if (path) claims.path = path;
  const body = b64(claims);
  const mac = createHmac('sha256', Buffer.from(KEY, 'base64url')).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${mac}`;
}

function event(withSession, site, host = 'handbook.example.com', cookie = '__Host-edge-auth-session') {
  const cookies = withSession ? { [cookie]: { value: session(site) } } : {};
  return {
    version: '1.0', context: { eventType: 'viewer-request', distributionDomainName: 'd111111abcdef8.cloudfront.net', requestId: 'bench' },
    viewer: { ip: '203.0.113.9' },
    request: { method: 'GET', uri: '/ops/runbook.html', querystring: {}, headers: { host: { value: host }, accept: { value: 'text/html' } }, cookies },
  };
}

/** A machine's request with a service token, or a refused one. */
function bearer(valid) {
  const e = event(false);
  e.request.headers.authorization = { value: `Bearer ${valid ? session(null, 'edge-auth-service') : 'not-a-token'}` };
  return e;
}

/** A guest's request with a shared link's cookie for the page's folder,
 * or with one for another folder (which opens nothing). */
function link(covering) {
  const e = event(false);
  e.request.cookies['__Secure-edge-auth-share'] = { value: session(null, 'edge-auth-share', covering ? '/ops/*' : '/admin/*') };
  return e;
}

/** Mean µs per call and reads per call, for each event, in one engine. */
function measure(engine, fn, store, events) {
  const body = fn.replace("import cf from 'cloudfront';", '');
  const script = `var STORE = ${JSON.stringify(store)};
var READS = 0;
var cf = { kvs: function () { return { get: function (k) { READS++; return STORE[k] !== undefined ? Promise.resolve(STORE[k]) : Promise.reject(new Error('not found')); } }; } };
var console = { log: function () {} };
${body}
var EVENTS = ${JSON.stringify(events)};
var out = [];
(async function () {
  for (var e = 0; e < EVENTS.length; e++) {
    // The function rewrites the URI it forwards (a directory's index, a
    // preview's prefix): each call gets the event's own again, as each
    // CloudFront request is new.
    var ev = EVENTS[e], uri = ev.request.uri;
    var call = function () { ev.request.uri = uri; return handler(ev); };
    READS = 0;
    var first = await call();
    var reads = READS;
    for (var w = 0; w < ${CALLS >> 2}; w++) { await call(); }
    var t = Date.now();
    for (var i = 0; i < ${CALLS}; i++) { await call(); }
    out.push([(Date.now() - t) * 1000 / ${CALLS}, reads, first.statusCode || 'forward']);
  }
  print(JSON.stringify(out));
})();
`;
  const dir = mkdtempSync(join(tmpdir(), 'edge-sites-run-'));
  const file = join(dir, engine === 'njs' ? 'bench.js' : 'bench.cjs');
  writeFileSync(file, engine === 'njs' ? script.replace('var console = { log: function () {} };', '') : `var print = function (s) { process.stdout.write(s + '\\n'); };\n${script}`);
  const run = engine === 'njs' ? spawnSync('njs', ['-q', file], { encoding: 'utf8', maxBuffer: 1 << 30 }) : spawnSync(process.execPath, [file], { encoding: 'utf8' });
  if (run.status !== 0) { console.error(`${engine}: ${run.stderr || run.error}`.slice(0, 400)); return null; }
  return JSON.parse(run.stdout.trim().split('\n').pop());
}

const one = configFor(false);
const table = configFor(true);
const ten = configFor(true, 7);
// The handbook and the API reference sharing one session across
// example.com, and a branch's preview of the API reference.
const shared = configFor(true);
shared.sign_in_groups = [{ name: 'docs', domain: 'example.com', sign_in_site: 'handbook' }];
shared.sites[1].preview_domain = 'preview.example.com';
const atPreview = (withSession) => event(withSession, 'docs', 'feature-x.preview.example.com', '__Secure-edge-auth-session');
// Service tokens ([tokens]): the function with its token code, a
// machine's request with a valid token and with a refused one.
const tokens = { ...configFor(false), tokens: { max_lifetime_seconds: 30 * 86400 } };
// Shared links ([shares]): a guest's link cookie for the page's folder,
// and one for another folder.
const shares = { ...configFor(false), shares: { max_lifetime_seconds: 7 * 86400 } };
const variants = [
  ['one site', render(one), JSON.parse(render(one, '--store')), [event(true), event(false)]],
  ['one site, service token (refused token in the last columns)', render(tokens), JSON.parse(render(tokens, '--store')), [bearer(true), bearer(false)]],
  ['one site, shared link (a link for another folder in the last columns)', render(shares), JSON.parse(render(shares, '--store')), [link(true), link(false)]],
  ['site table (3 sites)', render(table), JSON.parse(render(table, '--store')), [event(true, 'docs'), event(false)]],
  ['site table (10 sites)', render(ten), JSON.parse(render(ten, '--store')), [event(true, 'docs'), event(false)]],
  ['a branch\'s preview (3 sites, shared session)', render(shared), JSON.parse(render(shared, '--store', '--preview', 'api:feature-x')), [atPreview(true), atPreview(false)]],
];
console.log(`CloudFront Function, ${CALLS} calls per figure (mean µs per call; store reads per call)`);
console.log('| function | bytes | engine | valid session | reads | no session | reads |');
console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: |');
const results = {};
for (const [name, fn, store, events] of variants) {
  for (const engine of ['node', 'njs']) {
    const r = measure(engine, fn, store, events);
    if (!r) { console.log(`| ${name} | ${fn.length} | ${engine} | (not run) | | | |`); continue; }
    if (r[0][2] !== 'forward') throw new Error(`${name}: the valid session was not let through (${r[0][2]})`);
    results[`${name} ${engine}`] = r;
    console.log(`| ${name} | ${fn.length} | ${engine} | ${r[0][0].toFixed(2)} | ${r[0][1]} | ${r[1][0].toFixed(2)} | ${r[1][1]} |`);
  }
}
for (const engine of ['node', 'njs']) {
  const a = results[`one site ${engine}`];
  for (const n of [3, 10]) {
    const b = results[`site table (${n} sites) ${engine}`];
    if (a && b) console.log(`${engine}: a site table of ${n} costs ${(b[0][0] / a[0][0]).toFixed(2)}× one site's time for a valid session, with ${b[0][1]} reads against ${a[0][1]}`);
  }
}
for (const engine of ['node', 'njs']) {
  const a = results[`one site ${engine}`];
  const t = results[`one site, service token (refused token in the last columns) ${engine}`];
  const l = results[`one site, shared link (a link for another folder in the last columns) ${engine}`];
  if (a && t) console.log(`${engine}: a machine's service token costs ${(t[0][0] / a[0][0]).toFixed(2)}× a session's time, with ${t[0][1]} reads against ${a[0][1]}`);
  if (a && l) console.log(`${engine}: a guest's shared link costs ${(l[0][0] / a[0][0]).toFixed(2)}× a session's time, with ${l[0][1]} reads against ${a[0][1]}`);
}
// CloudFront's prices: $0.10 per million function invocations, $0.03 per
// million store reads; a page view is one invocation and its reads.
for (const [name] of variants) {
  const r = results[`${name} node`];
  if (r) console.log(`${name}: $${(0.10 + 0.03 * r[0][1]).toFixed(2)} per million page views with a session, $${(0.10 + 0.03 * r[1][1]).toFixed(2)} without`);
}
