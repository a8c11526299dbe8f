import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './helpers/dataplane-harness.js';
import { startDataplaneProcess, type DataplaneProcess } from './helpers/dataplane-process.js';
import { httpRequest } from './helpers/http.js';
import { freePort, RedisChild } from './helpers/redis-process.js';
import { listen, type RunningServer } from './helpers/upstreams.js';

/**
 * The data plane against the REAL control plane: `apps/api/dist/main.js` (built) and a redis-server of its own (so no
 * other test's messages reach this channel). Endpoints and policies are created through the API's REST routes; the
 * data plane process authenticates with the Bearer data-plane token, boots from the API's snapshot and enforces a
 * policy change the API publishes.
 *
 * Database: a database of its own on the test Postgres (`gatehouse_dataplane_e2e`, created and migrated here with the
 * API's idempotent `scripts/db-migrate.mjs`), because the API's own tests truncate `gatehouse_test` between tests and
 * would delete the admin and endpoints of a run in progress. It is never emptied: every host is unique and nothing
 * assumes an empty database. GATEHOUSE_TEST_DATABASE_URL overrides it.
 */
const apiDirectory = fileURLToPath(new URL('../../api', import.meta.url));
const apiMain = join(apiDirectory, 'dist/main.js');
const databaseUrl =
  process.env.GATEHOUSE_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/gatehouse_dataplane_e2e';
// The admin the API's own tests use (test/test-app.ts): bootstrapped from the environment when no user exists yet.
const admin = { email: 'admin@example.com', password: 'admin-password-1234' };
const dataplaneToken = `dp-test-${randomUUID()}`;

describe('data plane against the real API', () => {
  let redis: RedisChild;
  let api: ChildProcess | undefined;
  let apiOutput = '';
  let apiUrl = '';
  let upstream: RunningServer;
  const upstreamHits: string[] = [];
  let dataplane: DataplaneProcess | undefined;
  let dataDirectory: string;
  let cookie = '';

  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) => {
    const response = await request(`${apiUrl}/api${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(cookie === '' ? {} : { cookie }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.body.text();
    return {
      status: response.statusCode,
      headers: response.headers,
      json: (text === '' ? null : JSON.parse(text)) as Record<string, unknown>,
    };
  };

  beforeAll(async () => {
    if (!existsSync(apiMain)) throw new Error(`${apiMain} is missing: run npm run build -w @gatehouse/api first`);
    const migrate = spawn(process.execPath, [join(apiDirectory, 'scripts/db-migrate.mjs')], {
      cwd: apiDirectory,
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let migrateOutput = '';
    migrate.stdout.on('data', (chunk: Buffer) => (migrateOutput += chunk.toString('utf8')));
    migrate.stderr.on('data', (chunk: Buffer) => (migrateOutput += chunk.toString('utf8')));
    const [migrated] = (await once(migrate, 'exit')) as [number | null];
    if (migrated !== 0) throw new Error(`db:migrate failed (${migrated}): ${migrateOutput}`);
    redis = await RedisChild.start();
    dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-real-api-'));
    upstream = await listen((req, res) => {
      upstreamHits.push(`${req.headers.host ?? ''} ${req.url ?? ''}`);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('from the upstream');
    });
    const apiPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    api = spawn(process.execPath, [apiMain], {
      cwd: apiDirectory,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        DATABASE_URL: databaseUrl,
        REDIS_URL: redis.url,
        API_PORT: String(apiPort),
        GATEHOUSE_DATAPLANE_TOKEN: dataplaneToken,
        GATEHOUSE_SECRETS_KEY: '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',
        GATEHOUSE_ADMIN_EMAIL: admin.email,
        GATEHOUSE_ADMIN_PASSWORD: admin.password,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    api.stdout?.on('data', (chunk: Buffer) => (apiOutput += chunk.toString('utf8')));
    api.stderr?.on('data', (chunk: Buffer) => (apiOutput += chunk.toString('utf8')));
    await eventually(
      async () => {
        if (api?.exitCode !== null) throw new Error(`the API exited: ${apiOutput}`);
        return (await call('GET', '/health')).status === 200;
      },
      30_000,
      'the API to answer /api/health',
    );
    const login = await call('POST', '/auth/login', admin);
    if (login.status !== 200) throw new Error(`login failed (${login.status}): ${JSON.stringify(login.json)}`);
    const setCookie = login.headers['set-cookie'];
    cookie = (Array.isArray(setCookie) ? setCookie : [setCookie ?? ''])
      .map((line) => line.split(';')[0]!)
      .filter((pair) => pair !== '')
      .join('; ');
  }, 60_000);

  afterAll(async () => {
    await dataplane?.stop();
    if (api !== undefined && api.exitCode === null) {
      const exited = once(api, 'exit');
      api.kill('SIGTERM');
      await exited;
    }
    await upstream?.close();
    await redis?.kill();
    await rm(dataDirectory, { recursive: true, force: true });
  });

  it('routes a request per the API’s policy and enforces a policy change made through the API', async () => {
    const suffix = randomUUID().slice(0, 8);
    const internalUrl = `https://upstream-${suffix}.example.internal`;
    const cloudHost = `app-${suffix}.example.com`;
    const internal = await call('POST', '/endpoints', {
      url: internalUrl,
      type: 'internal',
      upstream_url: upstream.url,
    });
    expect(internal.status, JSON.stringify(internal.json)).toBe(201);
    const cloud = await call('POST', '/endpoints', {
      url: `https://${cloudHost}`,
      traffic_policy: `on_http_request:\n  - actions:\n      - type: forward-internal\n        config: { url: "${internalUrl}" }\n`,
    });
    expect(cloud.status, JSON.stringify(cloud.json)).toBe(201);
    const cloudId = cloud.json.id as string;

    dataplane = await startDataplaneProcess({
      GATEHOUSE_API_URL: apiUrl,
      GATEHOUSE_DATAPLANE_TOKEN: dataplaneToken,
      REDIS_URL: redis.url,
      GATEHOUSE_DATA_DIR: dataDirectory,
      DATAPLANE_ID: `real-api-${suffix}`,
    });
    const get = () => httpRequest({ port: dataplane!.port, host: cloudHost, path: `/hello-${suffix}` });
    // Booted from the API's snapshot (Bearer auth accepted): the cloud endpoint forwards to the internal one.
    const routed = await get();
    expect(routed.status, dataplane.output()).toBe(200);
    expect(routed.body).toBe('from the upstream');
    expect(upstreamHits).toContain(`${cloudHost} /hello-${suffix}`);
    const status = JSON.parse((await httpRequest({ port: dataplane.adminPort, path: '/status' })).body) as Record<
      string,
      unknown
    >;
    expect(status).toMatchObject({ synced_with_api: true, change_feed: 'subscribed', last_error: null });

    // A new policy version through the API reaches the running data plane (published on Redis) and is enforced.
    const changed = await call('POST', `/endpoints/${cloudId}/policy-versions`, {
      traffic_policy: 'on_http_request:\n  - actions:\n      - type: deny\n        config: { status_code: 418 }\n',
      message: 'data plane real-API test',
    });
    expect(changed.status, JSON.stringify(changed.json)).toBe(201);
    // The message is a doorbell: the data plane fetches the change from the API, so a request sent the moment the
    // API answered may still reach the upstream on the old policy; from the first 418 on, none does.
    await eventually(async () => (await get()).status === 418, 10_000, 'the new policy to be enforced');
    const hitsBefore = upstreamHits.length;
    expect((await get()).status).toBe(418);
    expect(upstreamHits.length).toBe(hitsBefore);

    // The API recorded this data plane's (Bearer-authenticated) heartbeat.
    await eventually(
      async () => {
        const fleet = await call('GET', '/dataplanes');
        return fleet.status === 200 && JSON.stringify(fleet.json).includes(`real-api-${suffix}`);
      },
      10_000,
      'the heartbeat in the API fleet view',
    );
  }, 60_000);
  it('authenticates against a vault secret and stops accepting the old value after a rotation', async () => {
    const suffix = randomUUID().slice(0, 8);
    const vault = `v-${suffix}`;
    const cloudHost = `auth-${suffix}.example.com`;
    const [first, second] = [`first-${suffix}-password`, `second-${suffix}-password`];
    expect((await call('POST', '/vaults', { name: vault })).status).toBe(201);
    expect((await call('PUT', `/vaults/${vault}/secrets/alice`, { value: first })).status).toBe(201);
    const created = await call('POST', '/endpoints', {
      url: `https://${cloudHost}`,
      traffic_policy: `on_http_request:
  - actions:
      - type: basic-auth
        config: { credentials: ["alice:\${secrets.get('${vault}', 'alice')}"] }
  - actions:
      - type: deny
        config: { status_code: 418 }
`,
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    dataplane ??= await startDataplaneProcess({
      GATEHOUSE_API_URL: apiUrl,
      GATEHOUSE_DATAPLANE_TOKEN: dataplaneToken,
      REDIS_URL: redis.url,
      GATEHOUSE_DATA_DIR: dataDirectory,
      DATAPLANE_ID: `real-api-${suffix}`,
    });
    const login = (password: string) =>
      httpRequest({
        port: dataplane!.port,
        host: cloudHost,
        headers: { authorization: `Basic ${Buffer.from(`alice:${password}`).toString('base64')}` },
      });
    await eventually(async () => (await login(first)).status === 418, 10_000, 'the secret-protected endpoint');
    expect((await login(`\${secrets.get('${vault}', 'alice')}`)).status).toBe(401);

    const rotated = await call('PUT', `/vaults/${vault}/secrets/alice`, { value: second });
    expect(rotated.status).toBe(200);
    const started = performance.now();
    await eventually(async () => (await login(first)).status === 401, 10_000, 'the old value to stop working');
    console.log(`rotation: old value refused ${(performance.now() - started).toFixed(0)} ms after the API's 200`);
    expect((await login(second)).status).toBe(418);

    await eventually(
      async () => {
        const saved = await readFile(join(dataDirectory, 'dataplane-last-known-good.json'), 'utf8').catch(() => '');
        return saved.includes(cloudHost);
      },
      10_000,
      'the last-known-good file',
    );
    const saved = await readFile(join(dataDirectory, 'dataplane-last-known-good.json'), 'utf8');
    expect(saved).not.toContain(first);
    expect(saved).not.toContain(second);
  }, 60_000);

  it('counts hits, denies and latency per rule and serves them from the API (issue 17 item 4)', async () => {
    const suffix = randomUUID().slice(0, 8);
    const host = `counted-${suffix}.example.com`;
    const created = await call('POST', '/endpoints', {
      url: `https://${host}`,
      traffic_policy: `on_http_request:
  - expressions: ["req.url.path == '/deny'"]
    actions: [{ type: deny, config: { status_code: 403 } }]
  - actions: [{ type: custom-response, config: { status_code: 200, body: ok } }]
`,
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const endpointId = created.json.id as string;
    // A data plane of its own with a short heartbeat: counters travel with heartbeats.
    const counting = await startDataplaneProcess({
      GATEHOUSE_API_URL: apiUrl,
      GATEHOUSE_DATAPLANE_TOKEN: dataplaneToken,
      REDIS_URL: redis.url,
      GATEHOUSE_DATA_DIR: await mkdtemp(join(tmpdir(), 'gatehouse-rule-counters-')),
      DATAPLANE_ID: `counters-${suffix}`,
      DATAPLANE_HEARTBEAT_INTERVAL_MS: '300',
    });
    try {
      const send = (path: string) => httpRequest({ port: counting.port, host, path });
      await eventually(async () => (await send('/deny')).status === 403, 10_000, 'the endpoint to be served');
      for (let index = 0; index < 2; index++) expect((await send('/deny')).status).toBe(403);
      for (let index = 0; index < 4; index++) expect((await send('/ok')).status).toBe(200);

      type Stats = {
        policy_version: number;
        rules: {
          phase: string;
          rule_index: number;
          last_hour: { evaluations: number; hits: number; denies: number; avg_latency_ms: number | null };
          last_day: { hits: number };
          last_match_at: string | null;
        }[];
      };
      let stats: Stats | undefined;
      await eventually(
        async () => {
          const answer = await call('GET', `/endpoints/${endpointId}/policy/rule-stats`);
          stats = answer.json as unknown as Stats;
          return answer.status === 200 && stats.rules.find((rule) => rule.rule_index === 1)?.last_hour.hits === 4;
        },
        10_000,
        'the counters to reach the API',
      );
      expect(stats!.policy_version).toBe(1);
      const [deny, fallback] = stats!.rules;
      expect(deny).toMatchObject({
        phase: 'on_http_request',
        rule_index: 0,
        last_hour: { evaluations: 7, hits: 3, denies: 3 },
        last_day: { hits: 3 },
      });
      expect(deny!.last_hour.avg_latency_ms).toBeGreaterThan(0);
      expect(deny!.last_match_at).not.toBeNull();
      expect(fallback).toMatchObject({ rule_index: 1, last_hour: { evaluations: 4, hits: 4, denies: 0 } });

      // Without a session the route is closed, like every API route.
      const anonymous = await request(`${apiUrl}/api/endpoints/${endpointId}/policy/rule-stats`);
      expect(anonymous.statusCode).toBe(401);
      await anonymous.body.dump();
    } finally {
      await counting.stop();
    }
  }, 60_000);

  it('evaluates a shadow policy beside the live one, lists where it differs, and promotes it (issue 17 item 3)', async () => {
    const suffix = randomUUID().slice(0, 8);
    const host = `shadowed-${suffix}.example.com`;
    // The shadow shares the live policy's rate-limit bucket (same name and key) with a larger budget: if it consumed
    // the live counter, the live policy's four requests below would not all pass.
    const limit = (capacity: number) =>
      `{ type: rate-limit, config: { name: api, algorithm: sliding_window, capacity: ${capacity}, rate: 60s, bucket_key: ["conn.client_ip"], mode: exact } }`;
    const live = `on_http_request:
  - expressions: ["req.url.path == '/admin'"]
    actions: [{ type: deny, config: { status_code: 403 } }]
  - actions:
      - ${limit(4)}
      - { type: custom-response, config: { status_code: 200, body: live } }
`;
    const candidate = `on_http_request:
  - expressions: ["req.url.path.startsWith('/beta')"]
    actions: [{ type: deny, config: { status_code: 404 } }]
  - expressions: ["req.url.path == '/admin'"]
    actions: [{ type: deny, config: { status_code: 403 } }]
  - actions:
      - ${limit(100)}
      - { type: custom-response, config: { status_code: 200, body: live } }
`;
    const created = await call('POST', '/endpoints', { url: `https://${host}`, traffic_policy: live }).catch(
      (error: unknown) => {
        throw new Error(`${String(error)}: ${apiOutput}`);
      },
    );
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const endpointId = created.json.id as string;
    const published = await call('PUT', `/endpoints/${endpointId}/shadow-policy`, {
      traffic_policy: candidate,
      message: 'hide beta',
    });
    expect(published.status, JSON.stringify(published.json)).toBe(200);
    const shadow = published.json.shadow_policy as { sha256: string; message: string };
    expect(shadow.message).toBe('hide beta');

    const worker = spawn(process.execPath, [join(apiDirectory, 'dist/worker.js')], {
      cwd: apiDirectory,
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: databaseUrl,
        REDIS_URL: redis.url,
        GATEHOUSE_DATAPLANE_TOKEN: dataplaneToken,
        GATEHOUSE_SECRETS_KEY: '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    dataplane ??= await startDataplaneProcess({
      GATEHOUSE_API_URL: apiUrl,
      GATEHOUSE_DATAPLANE_TOKEN: dataplaneToken,
      REDIS_URL: redis.url,
      GATEHOUSE_DATA_DIR: dataDirectory,
      DATAPLANE_ID: `real-api-${suffix}`,
    });
    try {
      const send = (path: string) => httpRequest({ port: dataplane!.port, host, path });
      // Served, and with the shadow applied (a data plane started earlier may get the endpoint before its shadow).
      await eventually(
        async () =>
          (await send('/admin')).status === 403 &&
          (await httpRequest({ port: dataplane!.adminPort, path: '/metrics' })).body.includes(
            `gatehouse_dataplane_shadow_requests_total{endpoint="${endpointId}",result="same"}`,
          ),
        10_000,
        'the endpoint to be served with its shadow',
      );
      for (let index = 0; index < 3; index++) expect((await send(`/items/${index}`)).status).toBe(200);
      // The shadow would hide /beta; the live policy still answers it.
      expect((await send('/beta/feature')).status).toBe(200);

      type Row = {
        id: string;
        path: string;
        status: number;
        shadow: { differs: boolean; status: number | null; sha256: string } | null;
      };
      let rows: Row[] = [];
      await eventually(
        async () => {
          const answer = await call('GET', `/request-logs?endpoint_id=${endpointId}&shadow=differs`);
          rows = (answer.json as { request_logs?: Row[] }).request_logs ?? [];
          return answer.status === 200 && rows.length > 0;
        },
        15_000,
        'the difference in the request log',
      );
      expect(rows.map((row) => row.path)).toEqual(['/beta/feature']);
      expect(rows[0]!.shadow).toMatchObject({ differs: true, status: 404, sha256: shadow.sha256 });
      const all = await call('GET', `/request-logs?endpoint_id=${endpointId}`);
      const logged = (all.json as { request_logs: Row[] }).request_logs;
      expect(logged.find((row) => row.path === '/admin')?.shadow).toMatchObject({ differs: false, status: 403 });
      const metrics = (await httpRequest({ port: dataplane.adminPort, path: '/metrics' })).body;
      expect(metrics).toMatch(
        new RegExp(`gatehouse_dataplane_shadow_requests_total\\{endpoint="${endpointId}",result="differs"\\} 1`),
      );

      // Promote in one call: the shadow becomes version 2 and is enforced; the shadow is gone.
      const stale = await call('POST', `/endpoints/${endpointId}/shadow-policy/promote`, { sha256: 'f'.repeat(64) });
      expect(stale.status).toBe(409);
      const promoted = await call('POST', `/endpoints/${endpointId}/shadow-policy/promote`, { sha256: shadow.sha256 });
      expect(promoted.status, JSON.stringify(promoted.json)).toBe(201);
      expect(promoted.json).toMatchObject({ version: 2, active: true, traffic_policy: candidate });
      await eventually(async () => (await send('/beta/feature')).status === 404, 10_000, 'the promoted policy');
      expect((await call('GET', `/endpoints/${endpointId}`)).json.shadow_policy).toBeNull();
      expect((await call('DELETE', `/endpoints/${endpointId}/shadow-policy`)).status).toBe(404);
    } finally {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
    }
  }, 90_000);
});
