// The local edge's CloudFront Functions runtime: runs the function file the
// deploy tool would publish, unchanged, in a context of its own that has
// what cloudfront-js-2.0 offers (the language, Buffer, require('crypto'),
// the `cloudfront` module's key value store) and nothing of Node's (no
// process, timers, fs or network). The key value store is a JSON file the
// local edge writes ({"key": "value"}) before it starts this runtime.
//
// Protocol (stdin/stdout, one JSON object per line):
//   in  {"id": n, "event": {...}}     out {"id": n, "result": {...}} or {"id": n, "error": "..."}
'use strict';
const fs = require('node:fs');
const vm = require('node:vm');
const readline = require('node:readline');
const crypto = require('node:crypto');

const [functionFile, storeFile] = process.argv.slice(2);
const IMPORT = "import cf from 'cloudfront';";

// Written by the local edge before it starts this runtime.
const store = JSON.parse(fs.readFileSync(storeFile, 'utf8'));

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
  require(name) {
    if (name === 'crypto') return { createHash: crypto.createHash, createHmac: crypto.createHmac };
    throw new Error(`cloudfront-js-2.0 has no module ${name}`);
  },
});
const handler = vm.runInContext(`${source.slice(IMPORT.length)}\n;handler`, context, { filename: functionFile });

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  let id = null;
  try {
    const message = JSON.parse(line);
    id = message.id;
    const result = await handler(message.event);
    process.stdout.write(`${JSON.stringify({ id, result })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ id, error: String(e && e.stack ? e.stack : e) })}\n`);
  }
});
lines.on('close', () => process.exit(0));
process.stdout.write('READY\n');
