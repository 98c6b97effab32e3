'use strict';
// edge-auth Lambda@Edge handler: the Rust handler runs in-process as a
// Node-API addon, loaded once per cold start. Lambda@Edge has no environment
// variables: settings come from config.json beside this file.
//
// process.dlopen is what require() ends in for a .node file, without the
// module resolver's lookups before it: about 0.7 ms less at each cold start
// (docs/performance.md).
const addon = { exports: {} };
process.dlopen(addon, `${__dirname}/edge_auth.node`);
const { EdgeHandler } = addon.exports;

const HANDLER = '@HANDLER@';

// A bad or missing config.json fails the cold start with a message naming
// the field, rather than every request failing in some other way later.
const edge = EdgeHandler.load(HANDLER, __dirname);

// The addon answers with lines (CloudFrontResponse::to_lines in the core:
// status, description, entry count, then name, key and value per header
// entry, then `b`, `t` (text) or `x` (base64) and the body) or, when a field
// cannot be said that way, JSON. Rebuilding the object from lines costs a
// fraction of JSON.parse.
function fromLines(a) {
  if (a.charCodeAt(0) === 123) return JSON.parse(a);
  let at = 0;
  const next = () => {
    const end = a.indexOf('\n', at);
    const line = a.slice(at, end);
    at = end + 1;
    return line;
  };
  const response = { status: next() };
  const description = next();
  if (description !== '') response.statusDescription = description;
  const headers = {};
  for (let n = Number(next()); n > 0; n--) {
    const name = next();
    const key = next();
    const value = next();
    (headers[name] ??= []).push({ key, value });
  }
  response.headers = headers;
  if (at < a.length) {
    response.body = a.slice(at + 1);
    const encoding = a[at];
    if (encoding === 't') response.bodyEncoding = 'text';
    else if (encoding === 'x') response.bodyEncoding = 'base64';
  }
  return response;
}

@HELPERS@exports.handler = @BODY@;
