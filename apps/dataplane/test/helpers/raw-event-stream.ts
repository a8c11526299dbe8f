import { connect, type Socket } from 'node:net';

export interface RawEventStream {
  readonly socket: Socket;
  /** `open`: a 200 whose body reached `marker`; `refused`: another status; `timeout`: neither within the wait. */
  readonly outcome: 'open' | 'refused' | 'timeout';
  /** What arrived before the outcome was decided (status line, headers, first bytes): for error messages. */
  readonly received: string;
}

/**
 * Opens one event stream with a hand-written `GET` on a raw socket and waits for the upstream's first bytes. A raw
 * socket rather than node:http or fetch, because holding thousands of streams is the point (the bench's memory per
 * stream, the no-connection-cap test): a client agent's pools and parsers would cap or blur that. The socket stays
 * open whatever the outcome; the caller destroys it.
 */
export function openRawEventStream(options: {
  port: number;
  host: string;
  path: string;
  headers?: Record<string, string>;
  /** Text in the stream's first bytes that shows the upstream answered (e.g. `: open` or `data: open`). */
  marker: string;
  waitMs: number;
}): Promise<RawEventStream> {
  const socket = connect(options.port, '127.0.0.1');
  const extra = Object.entries(options.headers ?? {})
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.write(`GET ${options.path} HTTP/1.1\r\nhost: ${options.host}\r\naccept: text/event-stream\r\n${extra}\r\n`);
  return new Promise((resolve) => {
    let received = '';
    const finish = (outcome: RawEventStream['outcome']) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      resolve({ socket, outcome, received });
    };
    const timer = setTimeout(() => finish('timeout'), options.waitMs);
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (/^HTTP\/1\.1 [^2]/.test(received)) finish('refused');
      else if (received.includes(options.marker)) finish(received.startsWith('HTTP/1.1 200') ? 'open' : 'refused');
    };
    const onError = () => finish('refused');
    socket.on('data', onData);
    socket.on('error', onError);
  });
}
