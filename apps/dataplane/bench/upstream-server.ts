import { createServer } from 'node:http';

/** The benchmark's upstream: a small fixed body, as fast as node:http goes. Prints its port. */
const body = Buffer.from('{"ok":true,"message":"hello from upstream"}');
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 }));
});
