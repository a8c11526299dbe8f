import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpJwksFetcher } from './http-jwks-fetcher.js';

describe('HttpJwksFetcher', () => {
  let server: Server;
  let url: string;
  let hits = 0;
  let failing = false;
  let keyId = 'k1';

  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits++;
      if (failing) return void res.writeHead(503).end();
      setTimeout(
        () =>
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ keys: [{ kty: 'oct', kid: keyId }] })),
        20,
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(async () => {
    server.close();
    await once(server, 'close');
  });

  it('fetches once for concurrent misses, caches, refreshes in the background when stale, and survives a failed refresh', async () => {
    let now = 0;
    const fetcher = new HttpJwksFetcher({ ttlMs: 1_000, maxStaleMs: 10_000, now: () => now });
    const [first, second] = await Promise.all([fetcher.keys(url), fetcher.keys(url)]);
    expect(first).toEqual([{ kty: 'oct', kid: 'k1' }]);
    expect(second).toBe(first);
    expect(hits).toBe(1);

    now = 500;
    await fetcher.keys(url);
    expect(hits).toBe(1);

    // Stale: the cached keys answer at once while a refresh runs.
    now = 2_000;
    keyId = 'k2';
    expect(await fetcher.keys(url)).toEqual([{ kty: 'oct', kid: 'k1' }]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await fetcher.keys(url)).toEqual([{ kty: 'oct', kid: 'k2' }]);
    expect(hits).toBe(2);

    // The issuer is down: old keys keep working until they are too old.
    failing = true;
    now = 5_000;
    expect(await fetcher.keys(url)).toEqual([{ kty: 'oct', kid: 'k2' }]);
    now = 50_000;
    // The reason (503) goes to the log only: the engine, and so the trace, get one generic sentence.
    await expect(fetcher.keys(url)).rejects.toThrow(/the JWKS could not be fetched/);
    failing = false;
  });
});
