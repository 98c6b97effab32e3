// The regional arm64 functions under AWS's own Runtime Interface Emulator
// (aws-lambda-rie-arm64, shipped inside aws-sam-cli: samcli/local/rapid),
// itself run by qemu-user: the same function URL invocations as
// runtime.test.mjs, but the Runtime API the `bootstrap` polls is AWS's
// implementation, not ours. The emulator listens on 127.0.0.1 only.
//
// The emulator starts the function by exec'ing the path it is given. Under
// qemu-user an exec goes to the host kernel, which has no binfmt entry for
// arm64 here, so the path is a small shell script that runs the arm64
// `bootstrap` under qemu-aarch64 with the environment the emulator set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as lambda from '../edge/lambda.mjs';
import { functionUrlEvent } from './runtime-api.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const REGIONAL = join(lambda.DIST, 'regional');
const SYSROOT = '/usr/aarch64-linux-gnu';
const SITE = 'https://docs.example.com';

/** Where aws-sam-cli (in the project's .venv) keeps the emulator. */
function emulatorPath() {
  const python = existsSync(join(ROOT, '.venv/bin/python3')) ? join(ROOT, '.venv/bin/python3') : 'python3';
  const rapid = execFileSync(python, ['-c', 'import os, samcli; print(os.path.join(os.path.dirname(samcli.__file__), "local", "rapid"))'], { encoding: 'utf8' }).trim();
  return join(rapid, 'aws-lambda-rie-arm64');
}

const freePort = () => new Promise((ok) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
});

/** `name`'s bootstrap unpacked with its config.json, behind the emulator. */
async function start(name) {
  const dir = mkdtempSync(join(tmpdir(), `rie-${name}-`));
  execFileSync('python3', ['-m', 'zipfile', '-e', join(REGIONAL, `${name}.zip`), dir]);
  chmodSync(join(dir, 'bootstrap'), 0o755);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(lambda.config('https://auth.example.com', { site: { base_url: SITE } })));
  const wrapper = join(dir, 'run-bootstrap');
  writeFileSync(wrapper, `#!/bin/sh\nexec qemu-aarch64 -L ${SYSROOT} ${join(dir, 'bootstrap')}\n`);
  chmodSync(wrapper, 0o755);
  const [port, apiPort] = [await freePort(), await freePort()];
  const child = spawn('qemu-aarch64', [
    emulatorPath(),
    '--runtime-interface-emulator-address', `127.0.0.1:${port}`,
    '--runtime-api-address', `127.0.0.1:${apiPort}`,
    wrapper,
  ], {
    env: {
      PATH: process.env.PATH,
      AWS_LAMBDA_FUNCTION_NAME: `edge-auth-prod-auth-${name}`, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256', AWS_LAMBDA_FUNCTION_TIMEOUT: '30',
      AWS_REGION: 'eu-west-1', EDGE_AUTH_CONFIG: join(dir, 'config.json'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const url = `http://127.0.0.1:${port}/2015-03-31/functions/function/invocations`;
  // The emulator accepts invocations once it listens (it starts the
  // function on the first one).
  const deadline = Date.now() + 60000;
  for (;;) {
    try {
      await new Promise((ok, fail) => {
        const socket = connect(port, '127.0.0.1', () => { socket.destroy(); ok(); });
        socket.once('error', fail);
      });
      break;
    } catch {
      assert.ok(Date.now() < deadline, `the emulator did not listen in 60 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    async invoke(event) {
      const res = await fetch(url, { method: 'POST', body: JSON.stringify(event), signal: AbortSignal.timeout(90000) });
      const text = await res.text();
      return { status: res.status, body: JSON.parse(text) };
    },
    stop() { child.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); },
    output: () => output,
  };
}

test('the regional arm64 functions answer function URL events under AWS\'s Runtime Interface Emulator', { timeout: 300000 }, async () => {
  assert.ok(existsSync(join(REGIONAL, 'refresh.zip')), 'run scripts/package.py --regional first');
  assert.ok(existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1')), 'scripts/setup.sh installs qemu-user and libc6-arm64-cross');

  const refresh = await start('refresh');
  try {
    const answer = await refresh.invoke(functionUrlEvent('/_edge-auth/refresh', 'return=%2Fdocs%2F'));
    assert.equal(answer.status, 200, refresh.output());
    assert.equal(answer.body.statusCode, 302, JSON.stringify(answer.body));
    const location = answer.body.headers.location;
    assert.equal(new URL(location).origin + new URL(location).pathname, 'https://auth.example.com/oauth2/authorize');
    assert.equal(lambda.param(location, 'redirect_uri'), `${SITE}/_edge-auth/callback`, 'the site, not the function URL');
    assert.ok(answer.body.cookies.some((c) => c.startsWith('__Host-edge-auth-flow-')), 'Set-Cookie in the cookies list');
    // A second invocation of the same warm process: each gets its own answer.
    const again = await refresh.invoke(functionUrlEvent('/_edge-auth/refresh', 'return=%2Fother%2F', [], 'req-2'));
    assert.equal(again.body.statusCode, 302);
    assert.notEqual(lambda.param(again.body.headers.location, 'state'), lambda.param(location, 'state'));
    // The emulator's own accounting of the first invocation: it was AWS's
    // Runtime API that the bootstrap polled and answered.
    assert.match(refresh.output(), /START RequestId: \S+/);
    assert.match(refresh.output(), /REPORT RequestId: \S+\s+Init Duration/);
  } finally {
    refresh.stop();
  }

  const signout = await start('signout');
  try {
    const answer = await signout.invoke(functionUrlEvent('/_edge-auth/signout', ''));
    assert.equal(answer.body.statusCode, 302, signout.output());
    assert.equal(lambda.param(answer.body.headers.location, 'logout_uri'), `${SITE}/signed-out.html`);
  } finally {
    signout.stop();
  }

  const signin = await start('signin');
  try {
    const answer = await signin.invoke(functionUrlEvent('/_edge-auth/callback', 'code=abc&state=unknown'));
    assert.ok(answer.body.statusCode >= 400 && answer.body.statusCode < 500, JSON.stringify(answer.body).slice(0, 300));
    assert.match(answer.body.headers['content-type'], /^text\/html/);
  } finally {
    signin.stop();
  }
});
