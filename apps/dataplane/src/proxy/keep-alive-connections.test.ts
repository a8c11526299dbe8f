import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KeepAliveConnections } from './keep-alive-connections.js';

/**
 * A real node:http server with the bookkeeping in front of its handler, and raw keep-alive clients: each test reads
 * the responses' Connection headers and sees which sockets the server ends.
 */
describe('KeepAliveConnections', () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy();
    server?.closeAllConnections();
    server?.close();
    server = undefined;
  });

  /** Requests to /hold wait until `release` is called; everything else is answered at once. */
  async function start() {
    const held: ServerResponse[] = [];
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      connections.track(req, res);
      if (req.url === '/hold') held.push(res);
      else res.end('ok');
    });
    const connections = new KeepAliveConnections(server, false);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    return {
      connections,
      release: () => {
        for (const res of held.splice(0)) res.end('held');
      },
      held: () => held.length,
      client: async () => {
        const socket = connect(port, '127.0.0.1');
        sockets.push(socket);
        await once(socket, 'connect');
        let received = '';
        socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
        const ended = new Promise<void>((resolve) => socket.once('end', resolve));
        return {
          send: (path: string) => socket.write(`GET ${path} HTTP/1.1\r\nhost: test\r\n\r\n`),
          /** Waits until `count` responses arrived; their Connection headers, lower-cased. */
          responses: async (count: number) => {
            for (let waited = 0; (received.match(/HTTP\/1\.1 /g) ?? []).length < count; waited += 10) {
              if (waited > 5_000) throw new Error(`expected ${count} responses, got: ${received}`);
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
            return [...received.matchAll(/^connection: (.+)\r$/gim)].map((match) => match[1]!.toLowerCase());
          },
          ended,
        };
      },
    };
  }

  const waitFor = async (check: () => boolean) => {
    for (let waited = 0; !check(); waited += 10) {
      if (waited > 5_000) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  it('counts connections, closes only the settled idle ones, and forgets closed ones', async () => {
    const { connections, client, held, release } = await start();
    const idle = await client();
    idle.send('/');
    expect(await idle.responses(1)).toEqual(['keep-alive']);
    const busy = await client();
    busy.send('/hold');
    await waitFor(() => held() === 1);
    // Idle, but not for long enough yet: nothing closes.
    expect(connections.closeSettled(60_000)).toBe(2);
    expect(connections.closeSettled(0)).toBe(1);
    await idle.ended;
    release();
    expect(await busy.responses(1)).toEqual(['keep-alive']);
    await waitFor(() => connections.closeSettled(0) === 0);
    await busy.ended;
  });

  it('after beginDrain, a response under way and every later one end their connection', async () => {
    const { connections, client, held, release } = await start();
    const under = await client();
    under.send('/hold');
    await waitFor(() => held() === 1);
    expect(connections.draining).toBe(false);
    connections.beginDrain();
    expect(connections.draining).toBe(true);
    release();
    expect(await under.responses(1)).toEqual(['close']);
    await under.ended;
    const later = await client();
    later.send('/');
    expect(await later.responses(1)).toEqual(['close']);
  });

  it('pipelined requests keep their connection busy until the last response closes', async () => {
    const { connections, client, held, release } = await start();
    const pipelined = await client();
    pipelined.send('/hold');
    pipelined.send('/');
    await waitFor(() => held() === 1);
    expect(connections.closeSettled(0)).toBe(1);
    release();
    expect(await pipelined.responses(2)).toEqual(['keep-alive', 'keep-alive']);
    await waitFor(() => connections.closeSettled(0) === 0);
    await pipelined.ended;
  });

  it('an upgraded socket is no longer a keep-alive connection', async () => {
    const { connections } = await start();
    server!.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: test\r\n\r\n');
    });
    const socket = connect((server!.address() as AddressInfo).port, '127.0.0.1');
    sockets.push(socket);
    await once(socket, 'connect');
    socket.write('GET / HTTP/1.1\r\nhost: test\r\nconnection: upgrade\r\nupgrade: test\r\n\r\n');
    await once(socket, 'data');
    expect(connections.closeSettled(60_000)).toBe(0);
    expect(socket.destroyed).toBe(false);
  });
});
