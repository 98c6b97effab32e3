// The regional arm64 functions (scripts/package.py --regional) run under
// qemu-user against a Lambda Runtime API emulated here on 127.0.0.1: each
// `bootstrap` polls for a function URL event, as Lambda would hand it one
// behind CloudFront, and posts its answer. No provider is called: refresh
// without a refresh token starts a sign-in, sign-out without one goes
// straight to the provider's logout, a callback without its flow cookie
// gets the error page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lambda from '../edge/lambda.mjs';
import { functionUrlEvent, runtimeApi } from './runtime-api.mjs';

const REGIONAL = join(lambda.DIST, 'regional');
const SYSROOT = '/usr/aarch64-linux-gnu';
const SITE = 'https://docs.example.com';

/** One invocation of `name`'s bootstrap under qemu: the answer Lambda would get. */
async function invoke(name, event) {
  const dir = mkdtempSync(join(tmpdir(), `regional-${name}-`));
  const zip = join(REGIONAL, `${name}.zip`);
  // Lambda runs `bootstrap` with the permissions the zip gives it.
  const mode = execFileSync('python3', ['-c', 'import sys, zipfile; print(oct(zipfile.ZipFile(sys.argv[1]).getinfo("bootstrap").external_attr >> 16))', zip], { encoding: 'utf8' }).trim();
  assert.equal(mode, '0o100755', `${name}.zip: bootstrap is not executable`);
  execFileSync('python3', ['-m', 'zipfile', '-e', zip, dir]);
  chmodSync(join(dir, 'bootstrap'), 0o755); // python's zipfile does not restore permissions
  writeFileSync(join(dir, 'config.json'), JSON.stringify(lambda.config('https://auth.example.com', { site: { base_url: SITE } })));
  const api = await runtimeApi(name);
  const child = spawn('qemu-aarch64', ['-L', SYSROOT, join(dir, 'bootstrap')], {
    env: {
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${api.port}`,
      AWS_LAMBDA_FUNCTION_NAME: name, AWS_LAMBDA_FUNCTION_VERSION: '$LATEST', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`, AWS_LAMBDA_LOG_STREAM_NAME: 'test', AWS_REGION: 'eu-west-1',
      EDGE_AUTH_CONFIG: join(dir, 'config.json'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  // The answer, or how the process ended without one.
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve({ kind: 'exit', code, output })));
  const answer = await Promise.race([api.invoke(event), exited]);
  child.kill();
  api.close();
  return answer;
}

test('the regional arm64 functions answer function URL events under qemu', { timeout: 180000 }, async () => {
  assert.ok(existsSync(join(REGIONAL, 'refresh.zip')), 'run scripts/package.py --regional first');
  assert.ok(existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1')), 'scripts/setup.sh installs qemu-user and libc6-arm64-cross');
  const refresh = await invoke('refresh', functionUrlEvent('/_edge-auth/refresh', 'return=%2Fdocs%2F'));
  assert.equal(refresh.kind, 'response', JSON.stringify(refresh));
  assert.equal(refresh.body.statusCode, 302);
  const location = refresh.body.headers.location;
  assert.equal(new URL(location).origin + new URL(location).pathname, 'https://auth.example.com/oauth2/authorize');
  assert.equal(lambda.param(location, 'redirect_uri'), `${SITE}/_edge-auth/callback`, 'the site, not the function URL');
  assert.ok(refresh.body.cookies.some((c) => c.startsWith('__Host-edge-auth-flow-')), 'Set-Cookie in the cookies list');

  const signout = await invoke('signout', functionUrlEvent('/_edge-auth/signout', ''));
  assert.equal(signout.body.statusCode, 302);
  assert.equal(lambda.param(signout.body.headers.location, 'logout_uri'), `${SITE}/signed-out.html`);

  const signin = await invoke('signin', functionUrlEvent('/_edge-auth/callback', 'code=abc&state=unknown'));
  assert.equal(signin.kind, 'response');
  assert.ok(signin.body.statusCode >= 400 && signin.body.statusCode < 500, JSON.stringify(signin.body).slice(0, 200));
});
