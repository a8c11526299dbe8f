import { createServer } from 'node:http';

/**
 * The ai-gateway streaming bench's provider: answers any POST with an OpenAI Chat Completions stream of `chunks`
 * token chunks, 2 ms apart, each stamped with its send time (fractional epoch ms), then the usage chunk and [DONE].
 * Prints its port.
 */
const chunks = 100;
const now = () => performance.timeOrigin + performance.now();
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let sent = 0;
    const timer = setInterval(() => {
      if (sent === chunks) {
        clearInterval(timer);
        res.write(
          `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 10, completion_tokens: chunks } })}\n\n`,
        );
        res.end('data: [DONE]\n\n');
        return;
      }
      sent++;
      res.write(
        `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'tok' } }], sent: now() })}\n\n`,
      );
    }, 2);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 }));
});
