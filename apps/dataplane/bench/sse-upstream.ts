import { createServer } from 'node:http';

/**
 * The streaming bench's upstream: reads the request body, then answers `text/event-stream` with `events` JSON-RPC
 * progress notifications (SSE_EVENTS, default 100), 2 ms apart, each stamped with its send time (fractional epoch
 * ms), then a tools/call result. Prints its port.
 */
const events = Number(process.env.SSE_EVENTS ?? 100);
const now = () => performance.timeOrigin + performance.now();
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let sent = 0;
    const timer = setInterval(() => {
      if (sent === events) {
        clearInterval(timer);
        res.end(`data: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [], sent: now() } })}\n\n`);
        return;
      }
      sent++;
      res.write(
        `data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progress: sent, sent: now() } })}\n\n`,
      );
    }, 2);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 }));
});
