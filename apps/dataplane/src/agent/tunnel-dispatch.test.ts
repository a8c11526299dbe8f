import { once } from 'node:events';
import {
  connect,
  constants,
  createServer,
  type ClientHttp2Session,
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

async function agentSession(
  onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void,
): Promise<ClientHttp2Session> {
  const server = createServer();
  servers.push(server);
  server.on('stream', onStream);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

/** The agent's side resets the stream with `code` (its own stream reports the reset as an error: expected here). */
function refuse(stream: ServerHttp2Stream, code: number): void {
  stream.on('error', () => undefined);
  stream.close(code);
}

async function exchange(
  onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void,
  body: Buffer | null = Buffer.from('{}'),
  retryOn?: () => ClientHttp2Session | undefined,
): Promise<string[]> {
  const session = await agentSession(onStream);
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
        retryOn,
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

  it('a stream the agent refused unprocessed (REFUSED_STREAM) is sent once more on the connection retryOn gives', async () => {
    // An agent swapping connections refuses streams on the one it is closing; RFC 9113 §8.7: never processed.
    const seen: string[] = [];
    const other = await agentSession((stream, headers) => {
      stream.on('data', (chunk: Buffer) => seen.push(`${headers[':path']} ${chunk.toString('utf8')}`));
      stream.on('end', () => {
        stream.respond({ ':status': 200 });
        stream.end('from the new connection');
      });
    });
    const events = await exchange(
      (stream) => refuse(stream, constants.NGHTTP2_REFUSED_STREAM),
      Buffer.from('{"id":1}'),
      () => other,
    );
    other.destroy();
    expect(events).toEqual(['head 200', 'data from the new connection', 'end']);
    expect(seen).toEqual(['/mcp {"id":1}']);
  });

  it('a refused stream with no other connection, or any other reset, fails as before (not retried)', async () => {
    let asked = 0;
    const noOtherConnection = () => {
      asked++;
      return undefined;
    };
    const noOther = await exchange(
      (stream) => refuse(stream, constants.NGHTTP2_REFUSED_STREAM),
      Buffer.from('{}'),
      noOtherConnection,
    );
    expect(noOther).toEqual(['error UND_ERR_SOCKET']);
    expect(asked).toBe(1);
    // A stream reset after the agent took it (here: internal error) may have reached the upstream: never resent.
    const processed = await exchange(
      (stream) => refuse(stream, constants.NGHTTP2_INTERNAL_ERROR),
      Buffer.from('{}'),
      noOtherConnection,
    );
    expect(processed).toEqual(['error UND_ERR_SOCKET']);
    expect(asked).toBe(1);
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
