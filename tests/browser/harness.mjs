// Starts the local edge (and its development provider) and a headless
// Chromium for one test file; everything on 127.0.0.1, bounded in time.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
export const EMULATOR = process.env.EDGE_AUTH_DEV_BIN || join(ROOT, 'target', 'debug', 'edge-auth-dev');
export const CLIENT_SECRET = 'browser-test-client-secret';
/** What checks each request: `cloudfront-function` (default) or `lambda-edge`. */
export const AUTHORIZER = process.env.EDGE_AUTH_AUTHORIZER || 'cloudfront-function';
export const USERS = {
  alice: { username: 'alice', password: 'alice-dev-password' },
  admin: { username: 'admin', password: 'admin-dev-password' },
};

/** Runs edge-auth-dev on free ports until `stop()`; resolves once it is ready. */
export async function startEdge(extraArgs = [], timeoutMs = 30000) {
  // EDGE_AUTH_AUTH_ENDPOINTS=edge: the same tests with sign-in, refresh and
  // sign-out as Lambda@Edge origin-request functions (the default is the
  // deployed default: regional functions behind function URL origins).
  const arrangement = process.env.EDGE_AUTH_AUTH_ENDPOINTS ? ['--auth-endpoints', process.env.EDGE_AUTH_AUTH_ENDPOINTS] : [];
  // EDGE_AUTH_AUTHORIZER=lambda-edge: the per-request check as the
  // Lambda@Edge authorize and index-path (the default is the deployed
  // default: the CloudFront Function).
  const authorizer = process.env.EDGE_AUTH_AUTHORIZER ? ['--authorizer', process.env.EDGE_AUTH_AUTHORIZER] : [];
  const proc = spawn(EMULATOR, ['--port', '0', '--idp-port', '0', '--client-secret', CLIENT_SECRET, ...arrangement, ...authorizer, ...extraArgs], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = [];
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`edge-auth-dev not ready in ${timeoutMs} ms:\n${logs.join('')}`)), timeoutMs);
    proc.stdout.on('data', (chunk) => {
      logs.push(String(chunk));
      const line = logs.join('').split('\n').find((l) => l.startsWith('READY '));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(6)));
      }
    });
    proc.stderr.on('data', (chunk) => logs.push(String(chunk)));
    proc.on('exit', (code) => reject(new Error(`edge-auth-dev exited ${code}:\n${logs.join('')}`)));
  });
  const urls = await ready;
  // The arrangement asked for (regional unless told otherwise, as deployed).
  const expected = process.env.EDGE_AUTH_AUTH_ENDPOINTS || 'regional';
  if (urls.auth_endpoints !== expected) {
    proc.kill('SIGINT');
    throw new Error(`edge-auth-dev runs the auth paths as ${urls.auth_endpoints}, expected ${expected}`);
  }
  if (urls.authorizer !== AUTHORIZER) {
    proc.kill('SIGINT');
    throw new Error(`edge-auth-dev checks each request with ${urls.authorizer}, expected ${AUTHORIZER}`);
  }
  return { ...urls, logs, stop: () => proc.kill('SIGINT') };
}

/** A browser context that can reach the loopback range only (127.0.0.2 plays
 * another site): anything else (a web font on a provider's page, say) is
 * aborted before it leaves the browser. */
export async function loopbackContext(browser) {
  const context = await browser.newContext();
  await context.route(
    (url) => !/^127\.\d+\.\d+\.\d+$/.test(url.hostname),
    (route) => route.abort('blockedbyclient'),
  );
  return context;
}

export async function launch() {
  return chromium.launch({
    // Debian's Chromium; the flake's check points this at nixpkgs' one.
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    timeout: 30000,
  });
}

/** Fills the development provider's form and waits to land back on the site. */
export async function signIn(page, site, user) {
  await page.waitForSelector('input[name=username]');
  await page.fill('input[name=username]', user.username);
  await page.fill('input[name=password]', user.password);
  await Promise.all([page.waitForURL((url) => url.href.startsWith(site)), page.click('button[value=signin]')]);
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Our cookies in the browser's jar. */
export async function edgeCookies(context) {
  return (await context.cookies()).filter((c) => c.name.includes('edge-auth'));
}

/** A port free on 127.0.0.1 now (for a server whose address another must know first). */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}
