// What the regional functions meet in Lambda, emulated on 127.0.0.1: the
// function URL event CloudFront's origin request becomes, and the Runtime
// API a `bootstrap` polls for events and posts its answers to. Used by
// tests/regional and scripts/bench-signin.mjs.
import { createServer } from 'node:http';

const HOST = 'abcdefgh.lambda-url.eu-west-1.on.aws';

/** A function URL event (payload version 2.0) for a GET of `path`. */
export function functionUrlEvent(path, query, cookies = [], requestId = 'req-1') {
  return {
    version: '2.0', rawPath: path, rawQueryString: query, cookies,
    headers: { accept: 'text/html', host: HOST, 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'same-origin' },
    requestContext: {
      accountId: '123456789012', apiId: 'abcdefgh', domainName: HOST, domainPrefix: 'abcdefgh',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'Mozilla/5.0' },
      requestId, routeKey: '$default', stage: '$default', time: '26/Nov/2026:05:00:00 +0000', timeEpoch: 1795669200000,
    },
    isBase64Encoded: false,
  };
}

const readBody = (req) => new Promise((resolve) => { let b = ''; req.on('data', (c) => { b += c; }); req.on('end', () => resolve(b)); });

/**
 * A Runtime API for one function process. `invoke(event)` hands the event
 * to the process's next poll and resolves with its answer: `kind`
 * ('response' or 'error'), `body`, and the time the event was sent
 * and when the answer came (performance.now(), ms).
 */
export async function runtimeApi(functionName = 'edge-auth-prod-auth-signin') {
  const queue = [];
  let parked = null;
  const pending = new Map();
  let n = 0;
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    if (req.method === 'GET' && req.url === '/2018-06-01/runtime/invocation/next') {
      const send = ({ id, event }) => {
        pending.get(id).sent = performance.now();
        res.writeHead(200, {
          'content-type': 'application/json', 'lambda-runtime-aws-request-id': id,
          'lambda-runtime-deadline-ms': String(Date.now() + 10000),
          'lambda-runtime-invoked-function-arn': `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
        }).end(JSON.stringify(event));
      };
      if (queue.length) send(queue.shift()); else parked = send;
      return;
    }
    const m = req.url.match(/^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/);
    if (m && pending.has(m[1])) {
      const p = pending.get(m[1]);
      pending.delete(m[1]);
      res.writeHead(202).end('{}');
      p.resolve({ kind: m[2], body: JSON.parse(body), sent: p.sent, answered: performance.now() });
      return;
    }
    res.writeHead(404).end();
  });
  const port = await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
  return {
    port,
    invoke(event) {
      const id = `req-${++n}`;
      return new Promise((resolve) => {
        pending.set(id, { resolve });
        const item = { id, event };
        if (parked) { const send = parked; parked = null; send(item); } else queue.push(item);
      });
    },
    close() { server.closeAllConnections(); server.close(); },
  };
}
