'use strict';
// edge-auth Lambda@Edge handler: the Rust handler runs in-process as a
// Node-API addon, loaded once per cold start. Lambda@Edge has no environment
// variables: settings come from config.json beside this file.
const { EdgeHandler } = require('./edge_auth.node');

const HANDLER = '@HANDLER@';

// A bad or missing config.json fails the cold start with a message naming
// the field, rather than every request failing in some other way later.
const edge = EdgeHandler.load(HANDLER, __dirname);

exports.handler = @BODY@;
