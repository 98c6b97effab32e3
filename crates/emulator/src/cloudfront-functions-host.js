// The local edge's CloudFront Functions runtime: runs the function file the
// deploy tool would publish, unchanged, in a context of its own that has
// what cloudfront-js-2.0 offers (the language, Buffer, require('crypto'),
// the `cloudfront` module's key value store) and nothing of Node's (no
// process, timers, fs or network). The key value store is a JSON file the
// local edge writes ({"key": "value"}) before it starts this runtime, and
// sign-out writes into (a revocation) while it runs: read again before a
// request whenever it has changed, as CloudFront's store propagates.
//
// Protocol (stdin/stdout, one JSON object per line):
//   in  {"id": n, "event": {...}}     out {"id": n, "result": {...}} or {"id": n, "error": "..."}
//                                     and {"log": "..."} for each console.log line
//                                     (what CloudFront sends to CloudWatch Logs)
'use strict';
const fs = require('node:fs');
const vm = require('node:vm');
const readline = require('node:readline');
const crypto = require('node:crypto');

const [functionFile, storeFile] = process.argv.slice(2);
const IMPORT = "import cf from 'cloudfront';";

// Written by the local edge before it starts this runtime; replaced
// whole (a rename) by sign-out.
let store = JSON.parse(fs.readFileSync(storeFile, 'utf8'));
let storeChanged = fs.statSync(storeFile).mtimeMs;
function currentStore() {
  const changed = fs.statSync(storeFile).mtimeMs;
  if (changed !== storeChanged) {
    store = JSON.parse(fs.readFileSync(storeFile, 'utf8'));
    storeChanged = changed;
  }
}

const cf = {
  kvs() {
    return {
      get(key) {
        return Object.prototype.hasOwnProperty.call(store, key)
          ? Promise.resolve(store[key])
          : Promise.reject(new Error(`key not found: ${key}`));
      },
      exists(key) {
        return Promise.resolve(Object.prototype.hasOwnProperty.call(store, key));
      },
    };
  },
};

const source = fs.readFileSync(functionFile, 'utf8');
if (!source.startsWith(IMPORT)) throw new Error(`${functionFile} does not start with ${IMPORT}`);
const context = vm.createContext({
  cf,
  Buffer,
  console: {
    log(...parts) {
      process.stdout.write(`${JSON.stringify({ log: parts.map(String).join(' ') })}\n`);
    },
  },
  require(name) {
    if (name === 'crypto') return { createHash: crypto.createHash, createHmac: crypto.createHmac };
    throw new Error(`cloudfront-js-2.0 has no module ${name}`);
  },
});
const handler = vm.runInContext(`${source.slice(IMPORT.length)}\n;handler`, context, { filename: functionFile });

// The query object as CloudFront hands it to a function: each name once,
// in the order it first appears; values as sent; a repeated name's values
// in `multiValue` (the first also in `value`); a name without `=` has the
// value "" (documented in CloudFront's event structure).
function cloudFrontQuery(raw) {
  // No prototype: `constructor` or `__proto__` is a name like any other.
  const query = Object.create(null);
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const name = at < 0 ? pair : pair.slice(0, at);
    const value = at < 0 ? '' : pair.slice(at + 1);
    const entry = query[name];
    if (entry === undefined) query[name] = { value };
    else (entry.multiValue = entry.multiValue || [{ value: entry.value }]).push({ value });
  }
  return query;
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  let id = null;
  try {
    const message = JSON.parse(line);
    id = message.id;
    const event = message.event;
    if (typeof event.request.querystring === 'string') event.request.querystring = cloudFrontQuery(event.request.querystring);
    currentStore();
    const result = await handler(event);
    process.stdout.write(`${JSON.stringify({ id, result })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ id, error: String(e && e.stack ? e.stack : e) })}\n`);
  }
});
lines.on('close', () => process.exit(0));
process.stdout.write('READY\n');
