import { createServer } from 'node:http';
import { Pool } from 'undici';

/** The baseline: the smallest reasonable Node reverse proxy — node:http in, one undici Pool out, no policy, no events. */
const upstream = process.argv[2]!;
const pool = new Pool(upstream, { connections: 256, keepAliveTimeout: 30_000 });
const server = createServer((req, res) => {
  pool
    .request({
      path: req.url!,
      method: req.method as 'GET',
      headers: req.headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
    })
    .then(
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers as Record<string, string>);
        answer.body.pipe(res);
      },
      () => res.writeHead(502).end(),
    );
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 }));
});
