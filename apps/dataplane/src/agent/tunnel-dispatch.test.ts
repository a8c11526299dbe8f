import { once } from 'node:events';
import {
  connect,
  constants,
  createServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { dispatchOverTunnel } from './tunnel-dispatch.js';

/** dispatchOverTunnel against a real node:http2 server standing in for the agent's side of the tunnel. */
const servers: Http2Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function exchange(
  onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void,
  body: Buffer | null = Buffer.from('{}'),
): Promise<string[]> {
  const server = createServer();
  servers.push(server);
  server.on('stream', onStream);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const events: string[] = [];
  await new Promise<void>((resolve) => {
    dispatchOverTunnel(
      session,
      {
        method: 'POST',
        path: '/mcp',
        headers: ['host', 'mcp.example.com', 'content-type', 'application/json'],
        body,
        endpointUrl: 'https://mcp.example.internal',
        idleTimeoutMs: 10_000,
      },
      {
        onResponseStart: (_controller, status) => void events.push(`head ${status}`),
        onResponseData: (_controller, chunk) => void events.push(`data ${chunk.toString('utf8')}`),
        onResponseEnd: () => {
          events.push('end');
          resolve();
        },
        onResponseError: (_controller, error) => {
          events.push(`error ${(error as Error & { code?: string }).code}`);
          resolve();
        },
      },
    );
  });
  session.destroy();
  return events;
}

describe('dispatchOverTunnel', () => {
  it('an answer from the agent is a response: head, body, end', async () => {
    const events = await exchange((stream) => {
      stream.respond({ ':status': 200 });
      stream.end('ok');
    });
    expect(events).toEqual(['head 200', 'data ok', 'end']);
  });

  it('a stream closed with NO_ERROR before any response head is an error, not an empty response', async () => {
    // What a revoked or draining tunnel does to a request in flight: the stream ends with no head. Taken for the end
    // of a response, the data plane had nothing to write and the client waited for the idle timeout.
    const events = await exchange((stream) => stream.close(constants.NGHTTP2_NO_ERROR));
    expect(events).toEqual(['error UND_ERR_SOCKET']);
  });

  it('a buffered body goes with its content-length; an empty one ends the stream with the headers', async () => {
    // The agent hands a body that arrives whole to its upstream in one write with content-length (no chunked body).
    const seen: string[] = [];
    const answer = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      seen.push(`${headers['content-length'] ?? 'no length'} ${stream.endAfterHeaders ? 'ended' : 'open'}`);
      stream.respond({ ':status': 204 });
      stream.end();
    };
    await exchange(answer, Buffer.from('{"a":1}'));
    await exchange(answer, Buffer.alloc(0));
    await exchange(answer, null);
    expect(seen).toEqual(['7 open', 'no length ended', 'no length ended']);
  });
});
