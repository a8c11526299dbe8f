import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as http2Connect, createServer as createHttp2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { http2Transport } from '../src/http2-transport.js';

/**
 * The data plane's half of the agent tunnel, over TLS: the agent (here a TLS client serving HTTP/2) dies with a stream
 * open, and the data plane closes or destroys its session a moment after the FIN. With the FIN passed on as an end of
 * stream, the first of these orders aborted every round with ERR_INTERNAL_ASSERTION from `JSStreamSocket.doWrite`
 * (uncaught: vitest fails the file).
 */
describe('http2Transport over a TLS socket whose peer goes away', () => {
  let certificate: { cert: Buffer; key: Buffer };

  beforeAll(() => {
    const directory = mkdtempSync(join(tmpdir(), 'gatehouse-h2t-'));
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'].concat([
          '-keyout',
          join(directory, 'key.pem'),
          '-out',
          join(directory, 'cert.pem'),
        ]),
        { stdio: 'ignore' },
      );
      certificate = { cert: readFileSync(join(directory, 'cert.pem')), key: readFileSync(join(directory, 'key.pem')) };
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  const orders = [
    { when: 'next tick', then: 'closed', defer: (fn: () => void) => process.nextTick(fn) },
    { when: 'next turn', then: 'destroyed', defer: (fn: () => void) => setImmediate(fn) },
    { when: 'next tick', then: 'destroyed', defer: (fn: () => void) => process.nextTick(fn) },
    { when: 'next turn', then: 'closed', defer: (fn: () => void) => setImmediate(fn) },
  ] as const;

  for (const order of orders) {
    it(`ends the session cleanly when it is ${order.then} on the ${order.when} after the FIN`, async () => {
      for (let round = 0; round < 10; round += 1) {
        const closed = await tunnelWhosePeerDies((session, socket) => {
          // As the data plane's upgrade handler does: a FIN ends the tunnel at once.
          socket.once('end', () => {
            socket.destroy();
            order.defer(() => (order.then === 'closed' ? session.close() : session.destroy()));
          });
        });
        expect(closed).toBe(true);
      }
    });
  }

  async function tunnelWhosePeerDies(
    onSession: (session: ReturnType<typeof http2Connect>, socket: TLSSocket) => void,
  ): Promise<boolean> {
    const server = createTlsServer(certificate);
    const sessionClosed = new Promise<boolean>((resolve) => {
      server.once('secureConnection', (socket: TLSSocket) => {
        const session = http2Connect('http://agent.tunnel', { createConnection: () => http2Transport(socket) });
        session.on('error', () => {});
        session.once('close', () => resolve(session.destroyed));
        onSession(session, socket);
        // A request the agent never answers: the session has an open stream when the agent dies.
        session.request({ ':path': '/' }).on('error', () => {});
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const agentSocket = tlsConnect({
      port: (server.address() as AddressInfo).port,
      host: '127.0.0.1',
      rejectUnauthorized: false,
    });
    const agent = createHttp2Server();
    agent.on('stream', () => agentSocket.destroy());
    agent.emit('connection', http2Transport(agentSocket));
    try {
      return await sessionClosed;
    } finally {
      server.close();
    }
  }
});
