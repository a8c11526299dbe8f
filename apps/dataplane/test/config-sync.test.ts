import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { policySha256, syncedEndpoint, TestConfigServer } from './helpers/config-server.js';
import { eventually, startDataplane, walkthroughPolicy, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { assertRedisUp, sharedRedisUrl } from './helpers/redis-process.js';
import { createTestCertificate } from './helpers/tls-certificate.js';
import { listen, startEchoUpstream, type RunningServer } from './helpers/upstreams.js';

const forwardTo = (url: string) =>
  `on_http_request:\n  - actions:\n      - type: forward-internal\n        config:\n          url: ${url}\n`;
const denyWith = (status: number) =>
  `on_http_request:\n  - actions:\n      - type: deny\n        config:\n          status_code: ${status}\n`;
const brokenPolicy = `on_http_request:\n  - expressions: ["no_such_variable == 1"]\n    actions:\n      - type: deny\n`;

describe('config propagation', () => {
  let echo: RunningServer;
  let slow: RunningServer;
  const slowArrivals: string[] = [];
  let config: TestConfigServer;
  let gateway: RunningDataplane | undefined;
  let dataDirectory: string;

  const get = (host: string, path = '/') => httpRequest({ port: gateway!.port, host, path });

  beforeAll(async () => {
    await assertRedisUp();
    echo = await startEchoUpstream();
    slow = await listen((req, res) => {
      slowArrivals.push(req.url ?? '');
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('slow but fine'), 400);
    });
  });

  afterAll(async () => {
    await echo?.close();
    await slow?.close();
  });

  beforeEach(async () => {
    dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-dataplane-'));
    config = new TestConfigServer(sharedRedisUrl);
    await config.start();
    await config.upsertEndpoint({ id: 'ep_echo_internal', url: 'https://echo.internal', upstream_url: echo.url });
    await config.upsertEndpoint({ id: 'ep_slow_internal', url: 'https://slow.internal', upstream_url: slow.url });
    await config.upsertEndpoint({
      id: 'ep_app',
      url: 'https://app.example.com',
      traffic_policy: forwardTo('https://echo.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_slow',
      url: 'https://slow.example.com',
      traffic_policy: forwardTo('https://slow.internal'),
    });
    gateway = await startDataplane(config, { redisUrl: sharedRedisUrl, dataDirectory });
    // Changes below must arrive through Redis, not through the catch-up that follows subscribing.
    await eventually(() => gateway!.dataplane.sync.feedState === 'subscribed', 5_000, 'the feed to subscribe');
    await eventually(() => config.heartbeats.length === 1, 5_000, 'the first heartbeat');
    await gateway.dataplane.sync.settled();
    config.requests.length = 0;
  });

  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
    await config.close();
    await rm(dataDirectory, { recursive: true, force: true });
  });

  it('boots from the API snapshot and reports it on /readyz and /status', async () => {
    expect(gateway!.dataplane.store.appliedRevision).toBe(config.revision);
    expect((await get('app.example.com')).status).toBe(200);
    // The message is only a doorbell: the change itself comes from the API (pub/sub is not authenticated).
    const change = await config.upsertEndpoint({
      id: 'ep_direct',
      url: 'https://direct.example.com',
      traffic_policy: denyWith(418),
    });
    await eventually(() => gateway!.dataplane.store.appliedRevision === change.revision, 5_000, 'the change');
    expect(config.requests).toContain(`GET /api/dataplane/config/changes?since=${change.revision - 1}`);
    const ready = await httpRequest({ port: gateway!.adminPort, path: '/readyz' });
    expect(ready.status).toBe(200);
    const status = JSON.parse((await httpRequest({ port: gateway!.adminPort, path: '/status' })).body) as Record<
      string,
      unknown
    >;
    expect(status).toMatchObject({
      applied_revision: config.revision,
      endpoint_count: 5,
      synced_with_api: true,
      change_feed: 'subscribed',
      last_error: null,
    });
  });

  it('enforces a change published on Redis without a restart and without failing a request in flight', async () => {
    const inFlight = get('slow.example.com', '/in-flight');
    // Let the slow request reach the upstream on the old policy, then change that endpoint's policy.
    await eventually(() => slowArrivals.includes('/in-flight'), 5_000, 'the request to reach the upstream');
    const change = await config.upsertEndpoint({
      id: 'ep_slow',
      url: 'https://slow.example.com',
      traffic_policy: denyWith(451),
      policy_version: 2,
    });
    await eventually(
      () => gateway!.dataplane.store.appliedRevision >= change.revision,
      2_000,
      'the change to be applied',
    );
    expect((await get('slow.example.com', '/after')).status).toBe(451);
    const finished = await inFlight;
    expect(finished.status).toBe(200);
    expect(finished.body).toBe('slow but fine');
  });

  it('swaps policies under concurrent traffic without a single failed request', async () => {
    const respondDirectly =
      'on_http_request:\n  - actions: [{ type: custom-response, config: { status_code: 200, body: direct } }]\n';
    let stop = false;
    const outcomes: string[] = [];
    const client = async () => {
      while (!stop) {
        try {
          const response = await get('app.example.com', '/under-load');
          outcomes.push(response.status === 200 ? 'ok' : `status ${response.status}`);
        } catch (error) {
          outcomes.push(`error ${(error as Error).message}`);
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    let last = 0;
    for (let change = 0; change < 20; change++) {
      const policy = change % 2 === 0 ? respondDirectly : forwardTo('https://echo.internal');
      last = (
        await config.upsertEndpoint({
          id: 'ep_app',
          url: 'https://app.example.com',
          traffic_policy: policy,
          policy_version: 2 + change,
        })
      ).revision;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await eventually(() => gateway!.dataplane.store.appliedRevision === last, 5_000, 'every change');
    stop = true;
    await Promise.all(clients);
    expect(outcomes.length).toBeGreaterThan(50);
    expect(outcomes.filter((outcome) => outcome !== 'ok')).toEqual([]);
  });

  it('detects a revision gap and fetches the missing changes', async () => {
    // Revision n is committed but its publish is lost; n + 1 arrives.
    await config.upsertEndpoint(
      { id: 'ep_gap', url: 'https://gap.example.com', traffic_policy: denyWith(418) },
      { publish: false },
    );
    const next = await config.upsertEndpoint({
      id: 'ep_gap2',
      url: 'https://gap2.example.com',
      traffic_policy: denyWith(419),
    });
    await eventually(() => gateway!.dataplane.store.appliedRevision === next.revision, 5_000, 'catch-up');
    expect((await get('gap.example.com')).status).toBe(418);
    expect((await get('gap2.example.com')).status).toBe(419);
    expect(config.requests).toContain(`GET /api/dataplane/config/changes?since=${next.revision - 2}`);
  });

  it('falls back to a full snapshot when the changes are gone (410)', async () => {
    await config.upsertEndpoint(
      { id: 'ep_old', url: 'https://old.example.com', traffic_policy: denyWith(418) },
      { publish: false },
    );
    config.prunedThrough = config.revision;
    const snapshotsBefore = config.requests.filter((line) => line === 'GET /api/dataplane/config').length;
    const next = await config.upsertEndpoint({
      id: 'ep_new',
      url: 'https://new.example.com',
      traffic_policy: denyWith(419),
    });
    await eventually(() => gateway!.dataplane.store.appliedRevision === next.revision, 5_000, 'snapshot catch-up');
    expect((await get('old.example.com')).status).toBe(418);
    expect(config.requests.filter((line) => line === 'GET /api/dataplane/config').length).toBe(snapshotsBefore + 1);
  });

  it('keeps serving on the running config while a large snapshot compiles, then swaps it in at once', async () => {
    for (let index = 0; index < 1_500; index++) {
      config.record({
        kind: 'endpoint.upserted',
        entity_id: `ep_bulk_${index}`,
        ip_category: null,
        endpoint: syncedEndpoint({
          id: `ep_bulk_${index}`,
          url: `https://bulk-${index}.example.com`,
          traffic_policy: walkthroughPolicy.replace('per-token', `per-token-${index}`),
        }),
      });
    }
    config.prunedThrough = config.revision;
    const final = await config.upsertEndpoint({
      id: 'ep_last',
      url: 'https://last.example.com',
      traffic_policy: denyWith(418),
    });
    await eventually(() => config.requests.includes('GET /api/dataplane/config'), 5_000, 'the snapshot fetch');
    const during = await get('app.example.com');
    expect(during.status).toBe(200);
    expect(gateway!.dataplane.store.appliedRevision).toBeLessThan(final.revision);
    expect((await get('last.example.com')).status).toBe(404);
    await eventually(() => gateway!.dataplane.store.appliedRevision === final.revision, 20_000, 'the snapshot');
    expect((await get('last.example.com')).status).toBe(418);
    expect(gateway!.dataplane.store.current.endpointsById.size).toBe(1_505);
  });

  it('catches up when a heartbeat answer names a newer revision, and reports the applied revision', async () => {
    const missed = await config.upsertEndpoint(
      { id: 'ep_missed', url: 'https://missed.example.com', traffic_policy: denyWith(418) },
      { publish: false },
    );
    await gateway!.dataplane.sync.heartbeat();
    expect(gateway!.dataplane.store.appliedRevision).toBe(missed.revision);
    expect(config.heartbeats[1]).toEqual({
      id: expect.any(String) as unknown,
      hostname: expect.any(String) as unknown,
      applied_revision: missed.revision - 1,
      last_error: null,
      version: '0.1.0',
      traffic: { scheme: 'http', host: '127.0.0.1', port: gateway!.port },
    });
    expect((await get('missed.example.com')).status).toBe(418);
    await gateway!.dataplane.sync.heartbeat();
    expect(config.heartbeats[2]).toMatchObject({ applied_revision: missed.revision });
    // Every call carried the API's auth: `Authorization: Bearer <token>` (the test server refuses anything else).
    expect(new Set(config.authorizations)).toEqual(new Set([`Bearer ${config.token}`]));
  });

  it('reports its traffic address in heartbeats: scheme, bind host and port, plus DATAPLANE_PUBLIC_URL when set', async () => {
    await gateway!.dataplane.sync.heartbeat();
    expect(config.heartbeats.at(-1)?.traffic).toEqual({ scheme: 'http', host: '127.0.0.1', port: gateway!.port });

    // Behind a load balancer the public URL is what clients use; a TLS traffic port says https.
    const fronted = await startDataplane(config, {
      adminPort: null,
      host: '0.0.0.0',
      publicUrl: 'https://gw.example.com',
      tls: await createTestCertificate('gw.example.com'),
    });
    try {
      await fronted.dataplane.sync.heartbeat();
      expect(config.heartbeats.at(-1)?.traffic).toEqual({
        scheme: 'https',
        host: '0.0.0.0',
        port: fronted.port,
        public_url: 'https://gw.example.com',
      });
    } finally {
      await fronted.stop();
    }
  });

  it('pages through changes while the API answers has_more', async () => {
    config.changesPageLimit = 2;
    let last = 0;
    for (let index = 0; index < 5; index++) {
      const change = await config.upsertEndpoint(
        { id: `ep_paged_${index}`, url: `https://paged-${index}.example.com`, traffic_policy: denyWith(418) },
        { publish: false },
      );
      last = change.revision;
    }
    config.requests.length = 0;
    await gateway!.dataplane.sync.heartbeat();
    expect(gateway!.dataplane.store.appliedRevision).toBe(last);
    expect(config.requests.filter((line) => line.startsWith('GET /api/dataplane/config/changes')).length).toBe(3);
    expect((await get('paged-4.example.com')).status).toBe(418);
  });

  it('is refused by the API without the right Bearer token, and reports it', async () => {
    const other = await startDataplane(
      { url: config.url, token: 'wrong-token', channel: config.channel } as unknown as TestConfigServer,
      { adminPort: null },
    );
    try {
      expect(other.dataplane.sync.synced).toBe(false);
      expect(other.dataplane.sync.lastSyncError).toMatch(/401.*UNAUTHENTICATED/);
      expect(config.authorizations.at(-1)).toBe('Bearer wrong-token');
    } finally {
      await other.stop();
    }
  });

  it('follows the heartbeat interval the API suggests unless one is configured', async () => {
    config.heartbeatIntervalSeconds = 7;
    const follower = await startDataplane(config, { adminPort: null, heartbeatIntervalMs: undefined });
    try {
      await eventually(() => follower.dataplane.sync.heartbeatIntervalMs === 7_000, 5_000, 'the suggested interval');
    } finally {
      await follower.stop();
    }
    expect(gateway!.dataplane.sync.heartbeatIntervalMs).toBe(60_000);
  });

  it('keeps the old policy when a new one does not compile, and reports it until fixed', async () => {
    const bad = await config.upsertEndpoint({
      id: 'ep_app',
      url: 'https://app.example.com',
      traffic_policy: brokenPolicy,
      policy_version: 2,
    });
    await eventually(
      () => gateway!.dataplane.store.appliedRevision === bad.revision,
      2_000,
      'the bad change to be processed',
    );
    expect((await get('app.example.com')).status).toBe(200);
    await gateway!.dataplane.sync.heartbeat();
    expect(config.heartbeats.at(-1)?.last_error).toMatch(
      /ep_app .*policy version 2: policy does not compile: POLICY_EXPRESSION_INVALID/,
    );
    const status = JSON.parse((await httpRequest({ port: gateway!.adminPort, path: '/status' })).body) as {
      last_error: string;
      failing_endpoints: { id: string }[];
    };
    expect(status.last_error).toContain('the previous policy keeps running');
    expect(status.failing_endpoints.map((failure) => failure.id)).toEqual(['ep_app']);
    const metrics = (await httpRequest({ port: gateway!.adminPort, path: '/metrics' })).body;
    expect(metrics).toContain('gatehouse_dataplane_config_apply_errors_total 1');
    expect(metrics).toContain(`gatehouse_dataplane_config_revision ${bad.revision}`);
    expect(metrics).toMatch(/gatehouse_dataplane_config_build_seconds_count [1-9]/);
    expect(metrics).toMatch(/gatehouse_dataplane_config_applied_timestamp_seconds \d/);

    const fixed = await config.upsertEndpoint({
      id: 'ep_app',
      url: 'https://app.example.com',
      traffic_policy: denyWith(403),
      policy_version: 3,
    });
    await eventually(() => gateway!.dataplane.store.appliedRevision === fixed.revision, 5_000, 'the fix');
    expect((await get('app.example.com')).status).toBe(403);
    expect(gateway!.dataplane.store.lastError).toBeNull();
  });

  it('never runs a policy whose sha256 does not name its source, or an empty one, and reports it', async () => {
    const status = async () =>
      JSON.parse((await httpRequest({ port: gateway!.adminPort, path: '/status' })).body) as {
        failing_endpoints: { id: string; serving: boolean; message: string }[];
      };
    // A tampered payload: the text of a 418 policy under the sha256 of the one the endpoint runs.
    const running = config.endpoints.get('ep_app')!;
    const tampered = config.record({
      kind: 'endpoint.upserted',
      entity_id: 'ep_app',
      endpoint: { ...running, policy: { version: 2, sha256: running.policy!.sha256, source: denyWith(418) } },
      ip_category: null,
    });
    await config.publish(tampered);
    await eventually(() => gateway!.dataplane.store.appliedRevision === tampered.revision, 5_000, 'the tampered one');
    expect((await get('app.example.com')).status).toBe(200);
    expect((await status()).failing_endpoints).toEqual([
      { id: 'ep_app', serving: true, message: expect.stringMatching(/sha256 .* does not match its source/) as unknown },
    ]);
    // An empty source is an error, never "no policy" (that is `policy: null`).
    const empty = config.record({
      kind: 'endpoint.upserted',
      entity_id: 'ep_app',
      endpoint: { ...running, policy: { version: 3, sha256: policySha256(''), source: '' } },
      ip_category: null,
    });
    await config.publish(empty);
    await eventually(() => gateway!.dataplane.store.appliedRevision === empty.revision, 5_000, 'the empty one');
    expect((await get('app.example.com')).status).toBe(200);
    expect((await status()).failing_endpoints[0]?.message).toMatch(/policy source is empty/);
    // What the control plane withheld (policy_rejected) keeps the previous policy too.
    const rejected = config.record({
      kind: 'endpoint.upserted',
      entity_id: 'ep_app',
      endpoint: { ...running, policy: null, policy_rejected: { version: 4, reason: 'does not validate' } },
      ip_category: null,
    });
    await config.publish(rejected);
    await eventually(() => gateway!.dataplane.store.appliedRevision === rejected.revision, 5_000, 'the rejected one');
    expect((await get('app.example.com')).status).toBe(200);
    expect((await status()).failing_endpoints[0]?.message).toMatch(/rejected by the control plane: does not validate/);
    await eventually(
      () => /rejected by the control plane/.test(config.heartbeats.at(-1)?.last_error ?? ''),
      5_000,
      'a prompt heartbeat reporting the failure',
    );
    const metrics = (await httpRequest({ port: gateway!.adminPort, path: '/metrics' })).body;
    expect(metrics).toContain('gatehouse_dataplane_config_apply_errors_total 3');
    expect(metrics).toContain('gatehouse_dataplane_failing_endpoints 1');
  });

  it('answers 503 ENDPOINT_CONFIG_INVALID for a new endpoint that failed, and lists it on /readyz', async () => {
    const change = await config.upsertEndpoint({
      id: 'ep_new_broken',
      url: 'https://broken.example.com',
      traffic_policy: brokenPolicy,
    });
    await eventually(() => gateway!.dataplane.store.appliedRevision === change.revision, 5_000, 'the change');
    const response = await get('broken.example.com');
    expect(response.status).toBe(503);
    expect(response.headers['gatehouse-error-code']).toBe('ENDPOINT_CONFIG_INVALID');
    const ready = await httpRequest({ port: gateway!.adminPort, path: '/readyz' });
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({
      ready: true,
      failing_endpoints: [{ id: 'ep_new_broken', serving: false }],
    });
    const fixed = await config.upsertEndpoint({
      id: 'ep_new_broken',
      url: 'https://broken.example.com',
      traffic_policy: denyWith(418),
      policy_version: 2,
    });
    await eventually(() => gateway!.dataplane.store.appliedRevision === fixed.revision, 5_000, 'the fix');
    expect((await get('broken.example.com')).status).toBe(418);
  });

  it('ignores a forged change message: no response changes and the real revision still applies', async () => {
    const forged = {
      revision: config.revision + 1,
      kind: 'endpoint.upserted' as const,
      entity_id: 'ep_app',
      endpoint: syncedEndpoint({ id: 'ep_app', url: 'https://app.example.com', traffic_policy: denyWith(418) }),
      ip_category: null,
      created_at: new Date().toISOString(),
    };
    await config.publish(forged);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await get('app.example.com')).status).toBe(200);
    expect(gateway!.dataplane.store.appliedRevision).toBe(forged.revision - 1);
    // The real change with that revision number applies at once and raises the alarm.
    const real = await config.upsertEndpoint({
      id: 'ep_app',
      url: 'https://app.example.com',
      traffic_policy: denyWith(451),
      policy_version: 2,
    });
    expect(real.revision).toBe(forged.revision);
    await eventually(() => gateway!.dataplane.store.appliedRevision === real.revision, 2_000, 'the real change');
    expect((await get('app.example.com')).status).toBe(451);
    const status = JSON.parse((await httpRequest({ port: gateway!.adminPort, path: '/status' })).body) as {
      config_conflicts: { count: number; last: { revision: number; source: string } };
    };
    expect(status.config_conflicts).toMatchObject({
      count: 1,
      last: { revision: real.revision, source: 'change-feed' },
    });
    const metrics = (await httpRequest({ port: gateway!.adminPort, path: '/metrics' })).body;
    expect(metrics).toContain('gatehouse_dataplane_config_conflicts_total 1');
    // Replaying the forged message for the applied revision is an alarm again, never a change.
    await config.publish(forged);
    await eventually(() => gateway!.dataplane.sync.conflictCount === 2, 2_000, 'the second alarm');
    expect((await get('app.example.com')).status).toBe(451);
  });

  it('reports synced_with_api false while heartbeats fail, and the applied revision promptly', async () => {
    const change = await config.upsertEndpoint({
      id: 'ep_prompt',
      url: 'https://prompt.example.com',
      traffic_policy: denyWith(418),
    });
    // The harness heartbeats every 60 s: this one follows the swap.
    await eventually(
      () => config.heartbeats.at(-1)?.applied_revision === change.revision,
      2_000,
      'a heartbeat reporting the new revision',
    );
    const status = async () =>
      JSON.parse((await httpRequest({ port: gateway!.adminPort, path: '/status' })).body) as {
        synced_with_api: boolean;
        last_heartbeat_error: string | null;
      };
    expect((await status()).synced_with_api).toBe(true);
    config.healthy = false;
    await gateway!.dataplane.sync.heartbeat();
    expect(await status()).toMatchObject({
      synced_with_api: false,
      last_heartbeat_error: expect.stringMatching(/503/) as unknown,
    });
    config.healthy = true;
    await gateway!.dataplane.sync.heartbeat();
    expect(await status()).toMatchObject({ synced_with_api: true, last_heartbeat_error: null });
  });

  it('applies deletes and IP category changes', async () => {
    const deleted = await config.deleteEndpoint('ep_app');
    await eventually(() => gateway!.dataplane.store.appliedRevision === deleted.revision, 5_000, 'the delete');
    expect((await get('app.example.com')).status).toBe(404);
    await config.upsertEndpoint({
      id: 'ep_cat',
      url: 'https://cat.example.com',
      traffic_policy: `on_http_request:\n  - expressions: ["'office' in conn.client_ip.categories"]\n    actions: [{ type: deny, config: { status_code: 418 } }]\n  - actions: [{ type: deny, config: { status_code: 403 } }]\n`,
    });
    const category = await config.upsertCategory({ name: 'office', cidrs: ['127.0.0.0/8'] });
    await eventually(() => gateway!.dataplane.store.appliedRevision === category.revision, 5_000, 'the category');
    expect((await get('cat.example.com')).status).toBe(418);
  });

  it('restarts from the last-known-good snapshot when the API is down', async () => {
    const change = await config.upsertEndpoint({
      id: 'ep_lkg',
      url: 'https://lkg.example.com',
      traffic_policy: denyWith(418),
    });
    await eventually(() => gateway!.dataplane.store.appliedRevision === change.revision, 5_000, 'the change');
    await gateway!.stop();
    gateway = undefined;
    const saved = JSON.parse(await readFile(join(dataDirectory, 'dataplane-last-known-good.json'), 'utf8')) as {
      snapshot: { revision: number };
    };
    expect(saved.snapshot.revision).toBe(change.revision);

    await config.stopHttp();
    gateway = await startDataplane(config, { dataDirectory });
    expect(gateway.dataplane.sync.synced).toBe(false);
    expect((await get('lkg.example.com')).status).toBe(418);
    expect((await get('app.example.com')).status).toBe(200);
    expect((await httpRequest({ port: gateway.adminPort, path: '/readyz' })).status).toBe(200);
    // Booting from the file defers compiling; the background pass leaves no endpoint waiting for its compile.
    await gateway.dataplane.store.compiled();
    const deferred = [...gateway.dataplane.store.current.endpointsById.values()].filter((loaded) => loaded.deferred);
    expect(deferred).toEqual([]);
    expect((await get('lkg.example.com')).status).toBe(418);
    const status = JSON.parse((await httpRequest({ port: gateway.adminPort, path: '/status' })).body) as {
      synced_with_api: boolean;
      last_sync_error: string;
    };
    expect(status.synced_with_api).toBe(false);
    expect(status.last_sync_error).toMatch(/ECONNREFUSED|fetch failed|connect/i);

    // The API comes back: the data plane catches up on its own (retry with backoff).
    await config.start();
    const later = await config.upsertEndpoint(
      { id: 'ep_after', url: 'https://after.example.com', traffic_policy: denyWith(419) },
      { publish: false },
    );
    await eventually(() => gateway!.dataplane.store.appliedRevision === later.revision, 5_000, 'the retry to catch up');
    expect((await get('after.example.com')).status).toBe(419);
  });

  it('serves the last-known-good config while the API accepts connections but never answers', async () => {
    await gateway!.dataplane.store.flush();
    await gateway!.stop();
    gateway = undefined;
    const apiPort = Number(new URL(config.url).port);
    await config.stopHttp();
    // A hung control plane: the port takes connections and reads requests, and nothing is ever answered.
    const held = new Set<Socket>();
    const hung = createServer((socket) => {
      held.add(socket);
      socket.on('data', () => undefined);
      socket.on('close', () => held.delete(socket));
    });
    await new Promise<void>((resolve) => hung.listen(apiPort, '127.0.0.1', resolve));
    try {
      gateway = await startDataplane(config, { dataDirectory, bootSyncWaitMs: 200 });
      // Booted and serving while the first sync is still waiting on the hung API (its timeout is 2 s here).
      expect(held.size).toBeGreaterThan(0);
      expect(gateway.dataplane.sync.synced).toBe(false);
      expect(gateway.dataplane.sync.lastSyncError).toBeNull();
      expect((await get('app.example.com')).status).toBe(200);
      expect((await httpRequest({ port: gateway.adminPort, path: '/readyz' })).status).toBe(200);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
    // The API answers again: the sync that was cut loose catches up on its own.
    await config.start(apiPort);
    const later = await config.upsertEndpoint(
      { id: 'ep_after_hang', url: 'https://after-hang.example.com', traffic_policy: denyWith(419) },
      { publish: false },
    );
    await eventually(() => gateway!.dataplane.store.appliedRevision === later.revision, 10_000, 'the sync to catch up');
    expect((await get('after-hang.example.com')).status).toBe(419);
  });

  it('never applies a change from Redis alone: while the API is down it waits, then fetches it', async () => {
    await gateway!.dataplane.store.flush();
    await gateway!.stop();
    const apiPort = Number(new URL(config.url).port);
    await config.stopHttp();
    gateway = await startDataplane(config, { redisUrl: sharedRedisUrl, dataDirectory });
    expect(gateway.dataplane.sync.synced).toBe(false);
    await eventually(() => gateway!.dataplane.sync.feedState === 'subscribed', 5_000, 'the feed to subscribe');
    const before = gateway.dataplane.store.appliedRevision;
    const change = await config.upsertEndpoint({
      id: 'ep_live',
      url: 'https://live.example.com',
      traffic_policy: denyWith(418),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(gateway.dataplane.store.appliedRevision, 'a message is not authentic config').toBe(before);
    expect((await get('live.example.com')).status).toBe(404);
    await config.start(apiPort);
    await eventually(
      () => gateway!.dataplane.store.appliedRevision === change.revision,
      5_000,
      'the change fetched from the API once it is back',
    );
    expect((await get('live.example.com')).status).toBe(418);
  });

  it('revalidates the last-known-good snapshot with If-None-Match and gets 304 when nothing changed', async () => {
    await gateway!.dataplane.store.flush();
    await gateway!.stop();
    gateway = await startDataplane(config, { dataDirectory });
    expect(gateway.dataplane.sync.synced).toBe(true);
    expect(gateway.dataplane.store.appliedRevision).toBe(config.revision);
    expect((await get('app.example.com')).status).toBe(200);
  });

  it('is not ready while no config has ever been loaded', async () => {
    await gateway!.stop();
    await config.stopHttp();
    const emptyDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-dataplane-empty-'));
    try {
      gateway = await startDataplane(config, { dataDirectory: emptyDirectory });
      expect((await httpRequest({ port: gateway.adminPort, path: '/readyz' })).status).toBe(503);
      expect((await httpRequest({ port: gateway.adminPort, path: '/healthz' })).status).toBe(200);
      expect((await get('app.example.com')).status).toBe(404);
    } finally {
      await gateway?.stop();
      gateway = undefined;
      await rm(emptyDirectory, { recursive: true, force: true });
    }
  });
});
