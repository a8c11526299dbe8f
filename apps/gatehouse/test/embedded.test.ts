// The embedded shape (DESIGN.md §2) in this process, composed as `npm start` composes it: PGlite in a temporary
// GATEHOUSE_DATA_DIR, the in-process bus, counters and request-log queue, the control plane on a real port and a real
// data plane on a real socket in front of a real upstream. Nothing here touches the machine's Postgres or Redis.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, parseEnv } from '@gatehouse/api/control-plane';
import { createLogger as createDataplaneLogger, parseDataplaneEnv } from '@gatehouse/dataplane';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedGatehouse, startEmbeddedGatehouse } from '../src/embedded-gatehouse.js';

const ADMIN = { email: 'admin@example.com', password: 'correct-horse-battery-staple' };

function boot(dataDirectory: string): Promise<EmbeddedGatehouse> {
  const env = parseEnv({
    API_PORT: '0',
    GATEHOUSE_ADMIN_EMAIL: ADMIN.email,
    GATEHOUSE_ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  });
  return startEmbeddedGatehouse({
    env,
    dataplaneEnv: parseDataplaneEnv({
      DATAPLANE_PORT: '0',
      DATAPLANE_ADMIN_PORT: '0',
      DATAPLANE_HOST: '127.0.0.1',
      GATEHOUSE_DATA_DIR: dataDirectory,
      GATEHOUSE_DATAPLANE_TOKEN: env.GATEHOUSE_DATAPLANE_TOKEN,
    }),
    logger: createLogger(env.LOG_LEVEL),
    dataplaneLogger: createDataplaneLogger(env.LOG_LEVEL),
  });
}

interface Sent {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One request through the data plane, with the Host header that selects the endpoint. */
function send(port: number, host: string, headers: Record<string, string> = {}, path = '/'): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ port, host: '127.0.0.1', path, headers: { ...headers, host } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          headers: response.headers,
        }),
      );
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const policy = (denyStatus: number) => `on_http_request:
  - name: needs a token
    expressions: ["!('x-token' in req.headers)"]
    actions:
      - type: deny
        config: { status_code: ${denyStatus} }
  - name: two per token
    actions:
      - type: rate-limit
        config:
          name: per-token
          algorithm: sliding_window
          capacity: 2
          rate: 60s
          bucket_key: ["req.headers['x-token'][0]"]
  - actions:
      - type: forward-internal
        config: { url: https://app.example.internal }
`;

describe('embedded shape', () => {
  let dataDirectory: string;
  let upstream: Server;
  let upstreamPort: number;
  let gatehouse: EmbeddedGatehouse | undefined;
  let agent: ReturnType<typeof request.agent>;
  let cloudEndpointId: string;

  const running = (): EmbeddedGatehouse => {
    if (!gatehouse) throw new Error('not running');
    return gatehouse;
  };

  const apiUrl = (): string => `http://127.0.0.1:${running().apiPort}`;

  async function signIn(): Promise<void> {
    agent = request.agent(apiUrl());
    await agent.post('/api/auth/login').send(ADMIN).expect(200);
  }

  beforeAll(async () => {
    dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-embedded-'));
    upstream = createServer((incoming, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ upstream: true, path: incoming.url }));
    });
    upstream.listen(0, '127.0.0.1');
    await new Promise((resolve) => upstream.once('listening', resolve));
    upstreamPort = (upstream.address() as AddressInfo).port;
    gatehouse = await boot(dataDirectory);
    await signIn();
  }, 60_000);

  afterAll(async () => {
    await gatehouse?.stop();
    upstream.close();
    await rm(dataDirectory, { recursive: true, force: true });
  });

  it('runs on PGlite and the in-process bus, and says so in health', async () => {
    expect(running().storage).toEqual({ kind: 'pglite', directory: join(dataDirectory, 'pgdata') });
    expect(running().bus).toBe('in-process');
    const health = await agent.get('/api/health').expect(200);
    expect(health.body).toMatchObject({ status: 'ok', database: { status: 'ok' }, redis: { status: 'disabled' } });
  });

  it('migrated and seeded the database at boot', async () => {
    const categories = await agent.get('/api/ip-categories').expect(200);
    const names = (categories.body as { ip_categories: { name: string }[] }).ip_categories.map(({ name }) => name);
    expect(names).toContain('com.anthropic.api');
  });

  it('serves traffic through the policy: deny, forward, rate limit — and logs every request', async () => {
    await agent
      .post('/api/endpoints')
      .send({ url: 'https://app.example.internal', type: 'internal', upstream_url: `http://127.0.0.1:${upstreamPort}` })
      .expect(201);
    const created = await agent
      .post('/api/endpoints')
      .send({ url: 'https://app.example.com', traffic_policy: policy(401) })
      .expect(201);
    cloudEndpointId = (created.body as { id: string }).id;
    const port = running().dataplanePort;

    // The API answers after publishing, and the in-process bus delivers synchronously: no wait is needed.
    expect((await send(port, 'app.example.com')).status).toBe(401);
    const forwarded = await send(port, 'app.example.com', { 'x-token': 'alpha' }, '/tools');
    expect(forwarded.status).toBe(200);
    expect(JSON.parse(forwarded.body)).toEqual({ upstream: true, path: '/tools' });
    expect((await send(port, 'app.example.com', { 'x-token': 'alpha' })).status).toBe(200);
    const limited = await send(port, 'app.example.com', { 'x-token': 'alpha' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another token has its own bucket.
    expect((await send(port, 'app.example.com', { 'x-token': 'beta' })).status).toBe(200);

    const logs = await eventually(async () => {
      const response = await agent.get(`/api/request-logs?endpoint_id=${cloudEndpointId}&limit=50`).expect(200);
      const rows = (
        response.body as { request_logs: { status: number; decision: { action: string; rule?: string } | null }[] }
      ).request_logs;
      return rows.length === 5 ? rows : undefined;
    });
    expect(logs.map((row) => row.status).sort()).toEqual([200, 200, 200, 401, 429]);
    const decided = logs.map((row) => row.decision?.action).sort();
    expect(decided).toEqual(['deny', 'forward-internal', 'forward-internal', 'forward-internal', 'rate-limit']);
  });

  it('replays the recorded requests on PGlite: the active version matches what happened', async () => {
    const response = await agent
      .post(`/api/endpoints/${cloudEndpointId}/replay`)
      .send({ version: 1, baseline: 'recorded' })
      .expect(200);
    // Rate limits are replayed too: the 429 for token alpha's third request is the same decision again.
    expect(response.body).toMatchObject({ requests: 5, changed: 0, groups: [] });
  });

  it('applies a new policy version to the data plane at once', async () => {
    await agent
      .post(`/api/endpoints/${cloudEndpointId}/policy-versions`)
      .send({ traffic_policy: policy(418), message: 'teapot' })
      .expect(201);
    expect((await send(running().dataplanePort, 'app.example.com')).status).toBe(418);
  });

  it('refuses a second process on the same data directory', async () => {
    await expect(boot(dataDirectory)).rejects.toThrow(/GATEHOUSE_DATA_DIR .* is in use by process/);
  });

  it('keeps endpoints, versions, sessions and logs across a restart', async () => {
    await running().stop();
    gatehouse = undefined;
    gatehouse = await boot(dataDirectory);
    await signIn();
    const versions = await agent.get(`/api/endpoints/${cloudEndpointId}/policy-versions`).expect(200);
    const listed = (versions.body as { versions: { version: number; active: boolean; message: string }[] }).versions;
    expect(listed.map(({ version, active }) => ({ version, active }))).toEqual([
      { version: 2, active: true },
      { version: 1, active: false },
    ]);
    // The data plane of the new process serves the stored config, rate-limit counters start afresh.
    expect((await send(running().dataplanePort, 'app.example.com')).status).toBe(418);
    expect((await send(running().dataplanePort, 'app.example.com', { 'x-token': 'alpha' })).status).toBe(200);
    const logs = await agent.get(`/api/request-logs?endpoint_id=${cloudEndpointId}&limit=50`).expect(200);
    expect((logs.body as { request_logs: unknown[] }).request_logs.length).toBeGreaterThanOrEqual(6);
  });

  it('limits login attempts without Redis', async () => {
    const http = request(apiUrl());
    const attempt = () =>
      http.post('/api/auth/login').send({ email: 'nobody@example.com', password: 'wrong-password!' });
    for (let index = 0; index < 10; index += 1) expect((await attempt()).status).toBe(401);
    const refused = await attempt();
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
  });
});
