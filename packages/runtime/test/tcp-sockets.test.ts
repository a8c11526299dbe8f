import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidsConnectedTo, tcpPortsOwnedBy } from '../src/testing/index.js';

describe.runIf(process.platform === 'linux')('TCP socket ownership from /proc', () => {
  const server = createServer();
  let port = 0;
  let client: Socket;

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    client = connect(port, '127.0.0.1');
    await once(client, 'connect');
  });

  afterAll(async () => {
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('names this process as the one connected to the server port', () => {
    expect(pidsConnectedTo(port)).toEqual(new Set([process.pid]));
  });

  it("lists the client's local port and the listening port among this process's sockets", () => {
    const ports = tcpPortsOwnedBy(process.pid);
    expect(ports.has(client.localPort!)).toBe(true);
    expect(ports.has(port)).toBe(true);
  });

  it('finds nobody connected to a port nothing listens on, and no sockets for a process that does not exist', () => {
    expect(pidsConnectedTo(1)).toEqual(new Set());
    expect(tcpPortsOwnedBy(2 ** 22 + 1)).toEqual(new Set());
  });
});
