import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { AdmissionTurns, type AdmittedHandler } from './admission-turns.js';

/** Stand-ins for the request and response: AdmissionTurns only hands them on, so their identity is what is checked. */
function exchange(index: number): { req: IncomingMessage; res: ServerResponse } {
  return { req: { index } as unknown as IncomingMessage, res: { index } as unknown as ServerResponse };
}

/** Admits requests `from` … `to - 1`, in that order. */
function admitRange(turns: AdmissionTurns, handler: AdmittedHandler, from: number, to: number): void {
  for (let index = from; index < to; index++) {
    const { req, res } = exchange(index);
    turns.admit(handler, req, res);
  }
}

function recorder() {
  const started: { index: number; arrivedAt: number | undefined; at: number }[] = [];
  const handler = (req: IncomingMessage, _res: ServerResponse, arrivedAt?: number): void => {
    started.push({ index: (req as unknown as { index: number }).index, arrivedAt, at: performance.now() });
  };
  return { started, handler };
}

describe('AdmissionTurns', () => {
  it('starts requests as they arrive while a turn has room, without an arrival time', () => {
    const turns = new AdmissionTurns(8);
    const { started, handler } = recorder();
    admitRange(turns, handler, 0, 8);
    expect(started.map((entry) => entry.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(started.every((entry) => entry.arrivedAt === undefined)).toBe(true);
    expect(turns.waiting).toBe(0);
  });

  it('starts a burst in slices of perTurn, one slice per turn, first come first started', async () => {
    const turns = new AdmissionTurns(4);
    const { started, handler } = recorder();
    const arrival = performance.now();
    admitRange(turns, handler, 0, 10);
    expect(started.map((entry) => entry.index)).toEqual([0, 1, 2, 3]);
    expect(turns.waiting).toBe(6);
    expect(turns.waitedTotal).toBe(6);
    await nextTurn();
    expect(started.map((entry) => entry.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(turns.waiting).toBe(2);
    await nextTurn();
    expect(started.map((entry) => entry.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(turns.waiting).toBe(0);
    expect(turns.waitedTotal).toBe(6);
    // The ones that waited carry their arrival, taken before they started.
    for (const entry of started.slice(4)) {
      expect(entry.arrivedAt).toBeGreaterThanOrEqual(arrival);
      expect(entry.arrivedAt).toBeLessThanOrEqual(entry.at);
    }
  });

  it('keeps arrival order when a request arrives while others wait, even with room in the turn', async () => {
    const turns = new AdmissionTurns(2);
    const { started, handler } = recorder();
    admitRange(turns, handler, 0, 3);
    await nextTurn();
    // Index 2 started at the turn's end: one slot of the new count is used, one is free, and nobody waits.
    expect(started.map((entry) => entry.index)).toEqual([0, 1, 2]);
    admitRange(turns, handler, 3, 6);
    // 3 takes the free slot; 4 and 5 wait, and nothing overtakes them.
    expect(started.map((entry) => entry.index)).toEqual([0, 1, 2, 3]);
    await nextTurn();
    expect(started.map((entry) => entry.index)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('with perTurn 0 starts everything at once', () => {
    const turns = new AdmissionTurns(0);
    const { started, handler } = recorder();
    admitRange(turns, handler, 0, 1_000);
    expect(started).toHaveLength(1_000);
    expect(turns.waiting).toBe(0);
  });

  describe('on a real node:http server', () => {
    let server: Server | undefined;
    afterEach(() => {
      server?.closeAllConnections();
      server?.close();
      server = undefined;
    });

    it('answers every request of a burst larger than a turn, in order, bodies intact', async () => {
      const turns = new AdmissionTurns(3);
      let waited = 0;
      server = createServer((req, res) =>
        turns.admit(
          (request, response, arrivedAt) => {
            if (arrivedAt !== undefined) waited++;
            // The body stayed in the socket while the request waited; read it now and answer with it.
            const chunks: Buffer[] = [];
            request.on('data', (chunk: Buffer) => chunks.push(chunk));
            request.on('end', () => response.end(`${request.url} ${Buffer.concat(chunks).toString()}`));
          },
          req,
          res,
        ),
      );
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as AddressInfo).port;
      // Ten pipelined requests in one write: they arrive in one read, so node:http emits all ten in one turn.
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      const requests = Array.from({ length: 10 }, (_, index) => {
        const body = `body${index}`;
        return `POST /r${index} HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
      });
      socket.write(requests.join(''));
      await expect.poll(() => received.match(/HTTP\/1\.1 200/g)?.length ?? 0).toBe(10);
      const bodies = [...received.matchAll(/\r\n\r\n(\/r\d+ body\d+)/g)].map((match) => match[1]);
      expect(bodies).toEqual(Array.from({ length: 10 }, (_, index) => `/r${index} body${index}`));
      expect(waited).toBe(7);
      expect(turns.waiting).toBe(0);
      socket.destroy();
    });
  });
});
