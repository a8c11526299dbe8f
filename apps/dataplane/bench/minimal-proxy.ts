import { createServer } from 'node:http';
import { Agent, request } from 'undici';

/** Baseline (b): the smallest reasonable undici reverse proxy — no routing, no policy, no events. */
const upstream = process.argv[2]!;
const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 256 });
const server = createServer((req, res) => {
  request(`${upstream}${req.url}`, {
    method: req.method as 'GET',
    headers: req.headers,
    body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req,
    dispatcher,
  }).then(
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers as Record<string, string>);
      answer.body.pipe(res);
    },
    () => res.writeHead(502).end(),
  );
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 }));
});
