import { once } from 'node:events';
import { connect as http2Connect, createServer as createHttp2Server, type ClientHttp2Session } from 'node:http2';
import { createServer as createTcpServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pingUntilDead } from '../src/http2-transport.js';

/**
 * An HTTP/2 client and server joined through a relay that can go silent without closing anything (what a NAT that
 * dropped the flow, or a peer host that died, looks like from this end: no FIN, no RST, just no bytes).
 */
async function tunnelThroughRelay() {
  const server = createHttp2Server();
  server.on('session', (session) => session.on('error', () => undefined));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const serverPort = (server.address() as AddressInfo).port;
  let silent = false;
  const sockets: Socket[] = [];
  const relay = createTcpServer((inbound) => {
    const outbound = tcpConnect(serverPort, '127.0.0.1');
    sockets.push(inbound, outbound);
    inbound.on('data', (chunk: Buffer) => silent || outbound.write(chunk));
    outbound.on('data', (chunk: Buffer) => silent || inbound.write(chunk));
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  const client = http2Connect(`http://127.0.0.1:${(relay.address() as AddressInfo).port}`);
  client.on('error', () => undefined);
  await once(client, 'connect');
  return {
    client,
    goSilent: () => (silent = true),
    close: async () => {
      client.destroy();
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise((resolve) => relay.close(resolve)),
        new Promise((resolve) => server.close(resolve)),
      ]);
    },
  };
}

describe('pingUntilDead', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  const closed = (session: ClientHttp2Session) =>
    session.destroyed ? Promise.resolve() : once(session, 'close').then(() => undefined);

  it('destroys a session whose peer stops answering, and says so first', async () => {
    const tunnel = await tunnelThroughRelay();
    cleanup = tunnel.close;
    let dead = 0;
    const timer = pingUntilDead(tunnel.client, { intervalMs: 20, deadAfterMs: 200, onDead: () => dead++ });
    try {
      tunnel.goSilent();
      await closed(tunnel.client);
      expect(dead).toBe(1);
      expect(tunnel.client.destroyed).toBe(true);
    } finally {
      clearInterval(timer);
    }
  });

  it('leaves a session alone while its peer answers the pings', async () => {
    const tunnel = await tunnelThroughRelay();
    cleanup = tunnel.close;
    let dead = 0;
    let answered = 0;
    const timer = pingUntilDead(tunnel.client, { intervalMs: 20, deadAfterMs: 200, onDead: () => dead++ });
    const originalPing = tunnel.client.ping.bind(tunnel.client);
    // Counts the answers, so the test waits for pings rather than for a span of time.
    tunnel.client.ping = ((callback: (error: Error | null, duration: number, payload: Buffer) => void) =>
      originalPing((error, duration, payload) => {
        if (error === null) answered++;
        callback(error, duration, payload);
      })) as ClientHttp2Session['ping'];
    try {
      // Answered pings spanning well past the dead-peer deadline: about 20 ms apart, 25 of them.
      while (answered < 25) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(dead).toBe(0);
      expect(tunnel.client.destroyed).toBe(false);
    } finally {
      clearInterval(timer);
    }
  });
});
