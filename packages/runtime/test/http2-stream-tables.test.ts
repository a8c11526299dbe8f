import { once } from 'node:events';
import {
  connect as http2Connect,
  createServer as createHttp2Server,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type Http2Server,
  type ServerHttp2Session,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PendingStreamSet, replaceStreamTables, StreamIdTable } from '../src/http2-transport.js';

/** A small deterministic generator: the model check below must replay the same operations on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('StreamIdTable', () => {
  it('answers like a Map through 20,000 random sets, gets and deletes, across growth and colliding ids', () => {
    const random = seeded(7);
    const table = new StreamIdTable<string>();
    const model = new Map<number, string>();
    let nextId = 1;
    for (let step = 0; step < 20_000; step++) {
      const roll = random();
      if (roll < 0.45) {
        // New odd ids, as one side of a connection opens them; every 7th jumps by a multiple of 1,024 so that ids
        // share a home slot and probe runs wrap around the end of the array.
        nextId += step % 7 === 0 ? 2_048 : 2;
        table.set(nextId, `v${step}`);
        model.set(nextId, `v${step}`);
      } else if (roll < 0.85 && model.size > 0) {
        const keys = [...model.keys()];
        const key = keys[Math.floor(random() * keys.length)]!;
        expect(table.delete(key)).toBe(true);
        model.delete(key);
        expect(table.delete(key)).toBe(false);
      } else {
        const key = 1 + 2 * Math.floor(random() * (nextId / 2 + 1));
        expect(table.get(key)).toBe(model.get(key));
        expect(table.has(key)).toBe(model.has(key));
      }
      expect(table.size).toBe(model.size);
    }
    expect(new Map(table.entries())).toEqual(model);
    for (const [key, value] of model) expect(table.get(key)).toBe(value);
  });

  it('overwrites an existing id without growing', () => {
    const table = new StreamIdTable<string>();
    table.set(3, 'a').set(3, 'b');
    expect(table.size).toBe(1);
    expect(table.get(3)).toBe('b');
  });

  it('refuses what cannot be a stream id, and never finds one', () => {
    const table = new StreamIdTable<string>();
    for (const key of [0, -1, 1.5, Number.NaN]) expect(() => table.set(key, 'x')).toThrow(RangeError);
    table.set(1, 'one');
    // Id 0 is the connection itself: node asks for it when a connection-level frame fails. 0 also marks empty slots.
    for (const key of [0, -1, Number.NaN]) {
      expect(table.get(key)).toBeUndefined();
      expect(table.has(key)).toBe(false);
      expect(table.delete(key)).toBe(false);
    }
    expect(table.size).toBe(1);
    expect(table.get(1)).toBe('one');
  });

  it('forEach skips entries deleted during the visit and sees the rest once', () => {
    const table = new StreamIdTable<number>();
    for (let id = 1; id <= 99; id += 2) table.set(id, id);
    const seen: number[] = [];
    table.forEach((value) => {
      seen.push(value);
      // node:http2 destroys streams from inside its forEach: each destroy deletes, and may delete others.
      table.delete(value);
      table.delete(value + 2);
    });
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(25);
    expect(table.size).toBe(0);
  });

  it('clear empties it, and it fills again', () => {
    const table = new StreamIdTable<string>();
    for (let id = 1; id < 200; id += 2) table.set(id, String(id));
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get(1)).toBeUndefined();
    table.set(201, 'again');
    expect([...table.keys()]).toEqual([201]);
    expect([...table.values()]).toEqual(['again']);
  });
});

describe('PendingStreamSet', () => {
  it('adds once, deletes, and visits a snapshot without deleted items', () => {
    const set = new PendingStreamSet<string>();
    set.add('a').add('b').add('a').add('c');
    expect(set.size).toBe(3);
    expect(set.has('b')).toBe(true);
    const seen: string[] = [];
    set.forEach((item) => {
      seen.push(item);
      if (item === 'a') set.delete('b');
    });
    expect(seen).toEqual(['a', 'c']);
    expect(set.delete('b')).toBe(false);
    expect([...set]).toEqual(['a', 'c']);
    set.clear();
    expect(set.size).toBe(0);
  });
});

describe('replaceStreamTables on real node:http2 sessions', () => {
  let server: Http2Server | undefined;
  let client: ClientHttp2Session | undefined;
  afterEach(() => {
    client?.destroy();
    server?.close();
    client = undefined;
    server = undefined;
  });

  async function pair(answer: boolean): Promise<{ serverSession: Promise<ServerHttp2Session> }> {
    server = createHttp2Server();
    const serverSession = new Promise<ServerHttp2Session>((resolve) =>
      server!.once('session', (session) => {
        session.on('error', () => undefined);
        // The replacement must work on a server session, as the agent uses it.
        expect(replaceStreamTables(session)).toBe(true);
        resolve(session);
      }),
    );
    server.on('stream', (stream, headers) => {
      if (!answer) return;
      stream.respond({ ':status': 200 });
      stream.end(String(headers[':path']));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    client = http2Connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    client.on('error', () => undefined);
    return { serverSession };
  }

  function stateOf(session: ClientHttp2Session | ServerHttp2Session): { streams: unknown; pendingStreams: unknown } {
    const key = Object.getOwnPropertySymbols(session).find((symbol) => symbol.description === 'state')!;
    const state = (session as unknown as Record<symbol, { streams: unknown; pendingStreams: unknown } | undefined>)[
      key
    ];
    if (state === undefined) throw new Error('node:http2 has no session state here');
    return state;
  }

  async function body(stream: ClientHttp2Stream): Promise<string> {
    let text = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    await once(stream, 'end');
    return text;
  }

  it('is applied on this Node, and 300 concurrent requests each get their own answer', async () => {
    const { serverSession } = await pair(true);
    // Before the session connected: streams opened now wait in the pending set.
    expect(replaceStreamTables(client!)).toBe(true);
    expect(replaceStreamTables(client!)).toBe(true);
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, index) => body(client!.request({ ':path': `/${index}` }).end())),
    );
    expect(answers).toEqual(Array.from({ length: 300 }, (_, index) => `/${index}`));
    const clientState = stateOf(client!);
    expect(clientState.streams).toBeInstanceOf(StreamIdTable);
    expect(clientState.pendingStreams).toBeInstanceOf(PendingStreamSet);
    expect(stateOf(await serverSession).streams).toBeInstanceOf(StreamIdTable);
    // Closed streams leave the tables (node deletes them once their close has run).
    await new Promise((resolve) => setImmediate(resolve));
    expect((clientState.streams as StreamIdTable<unknown>).size).toBe(0);
    expect((clientState.pendingStreams as PendingStreamSet<unknown>).size).toBe(0);
  });

  it('a destroyed session still closes every open stream (node walks the table with forEach)', async () => {
    await pair(false);
    expect(replaceStreamTables(client!)).toBe(true);
    await once(client!, 'connect');
    const streams = Array.from({ length: 20 }, () => client!.request({ ':path': '/never' }).end());
    for (const stream of streams) stream.on('error', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((stateOf(client!).streams as StreamIdTable<unknown>).size).toBe(20);
    const closed = Promise.all(streams.map((stream) => once(stream, 'close')));
    client!.destroy();
    await closed;
    expect(streams.every((stream) => stream.destroyed)).toBe(true);
  });
});
