import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { redisNames, type ConfigChangeEvent } from '@gatehouse/contracts';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from './support/api.js';
import { waitFor } from './support/processes.js';
import { startDistributedShape, type Shape } from './shapes.js';

/**
 * Only valid, authentic config reaches traffic (issue 20, items 1 and 2), on the distributed shape with real
 * processes, a database and a Redis of this run's own (so a later chaos suite can run it as a scenario):
 * - a policy version written straight into Postgres (bypassing the API's validation) and published by a later change
 *   never changes a response; the failure is reported by the data planes (/status, /api/dataplanes, /metrics) and
 *   audited by the API;
 * - a change message forged on the Redis channel changes no response and does not consume its revision: the real
 *   change with that number applies at once, and the disagreement is raised as an alarm.
 */
const respondWith = (body: string, status = 200) =>
  `on_http_request:\n  - actions:\n      - type: custom-response\n        config: { status_code: ${status}, body: "${body}" }\n`;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

interface DataplaneStatus {
  applied_revision: number;
  failing_endpoints: { id: string; serving: boolean; message: string }[];
  config_conflicts: { count: number };
}

/** PUBLISH over RESP: anything with network access to Redis can do this, which is the point of the test. */
function redisPublish(url: string, channel: string, message: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const parts = ['PUBLISH', channel, message];
  const command = `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.on('connect', () => socket.write(command));
    socket.on('data', (chunk: Buffer) => {
      socket.end();
      if (chunk.toString('utf8').startsWith(':')) resolve();
      else reject(new Error(`PUBLISH answered ${chunk.toString('utf8')}`));
    });
    socket.on('error', reject);
  });
}

describe('config integrity on the distributed shape', () => {
  let shape: Shape;
  let api: ApiClient;
  let db: pg.Client;
  let endpointId = '';
  const host = 'integrity.example.com';

  const through = async (trafficPort: number) => {
    const response = await request(`http://127.0.0.1:${trafficPort}/`, { headers: { host } });
    return `${response.statusCode} ${await response.body.text()}`;
  };
  const everyDataplane = () => Promise.all(shape.dataplanes.map((dataplane) => through(dataplane.trafficPort)));
  const latestRevision = async () =>
    Number(
      (await db.query<{ revision: string }>('SELECT max(revision) AS revision FROM config_changes')).rows[0]!.revision,
    );
  const statusOf = async (adminPort: number) =>
    (await (await request(`http://127.0.0.1:${adminPort}/status`)).body.json()) as DataplaneStatus;

  beforeAll(async () => {
    shape = await startDistributedShape({ trustedProxies: [] });
    api = new ApiClient(shape.apiUrl);
    expect((await api.login(shape.admin.email, shape.admin.password)).status).toBe(200);
    db = new pg.Client({ connectionString: shape.services!.databaseUrl });
    await db.connect();
    const created = await api.createEndpoint({ url: `https://${host}`, traffic_policy: respondWith('v1') });
    expect(created.status).toBe(201);
    endpointId = created.body.id;
    await waitFor(async () => (await everyDataplane()).every((answer) => answer === '200 v1'), {
      timeoutMs: 10_000,
      what: 'both data planes to serve v1',
      context: () => shape.output(),
    });
  }, 180_000);

  afterAll(async () => {
    await db?.end();
    await shape?.stop();
  }, 60_000);

  it('never serves a policy row written without the API, and reports it everywhere', async () => {
    // An empty source as the new active version, straight into Postgres.
    await db.query(
      `INSERT INTO policy_versions (endpoint_id, version, source, sha256, message, created_by)
       VALUES ($1, 2, '', $2, 'bypassed the API', 'sql')`,
      [endpointId, sha256('')],
    );
    await db.query('UPDATE endpoints SET active_policy_version = 2 WHERE id = $1', [endpointId]);
    // Any later change through the API publishes the endpoint with its (bad) active version.
    const patched = await api.client.PATCH('/api/endpoints/{id}', {
      params: { path: { id: endpointId } },
      body: { description: 'touched after the bad row' },
    });
    expect(patched.response.status).toBe(200);
    const revision = await latestRevision();
    for (const dataplane of shape.dataplanes) {
      await waitFor(async () => (await statusOf(dataplane.adminPort)).applied_revision >= revision, {
        timeoutMs: 10_000,
        what: `${dataplane.name} to process revision ${revision}`,
        context: () => shape.output(),
      });
      const status = await statusOf(dataplane.adminPort);
      expect(status.failing_endpoints.map(({ id, serving }) => ({ id, serving }))).toEqual([
        { id: endpointId, serving: true },
      ]);
      expect(status.failing_endpoints[0]?.message).toContain('rejected by the control plane');
      // The API's pub/sub copy and its change listing agree: genuine messages never raise the alarm.
      expect(status.config_conflicts.count).toBe(0);
      const metrics = await (await request(`http://127.0.0.1:${dataplane.adminPort}/metrics`)).body.text();
      expect(metrics).toMatch(/gatehouse_dataplane_config_apply_errors_total [1-9]/);
      expect(metrics).toContain('gatehouse_dataplane_failing_endpoints 1');
    }
    expect(await everyDataplane()).toEqual(['200 v1', '200 v1']);
    // The fleet view shows the failure and the current lag without waiting for a periodic heartbeat.
    await waitFor(
      async () => {
        const { data } = await api.client.GET('/api/dataplanes');
        const ours = (data?.dataplanes ?? []).filter((dataplane) => dataplane.applied_revision >= revision);
        return ours.length === 2 && ours.every((dataplane) => dataplane.lag === 0 && dataplane.last_error !== null);
      },
      { timeoutMs: 5_000, what: '/api/dataplanes to show the failure and lag 0', context: () => shape.output() },
    );
    const audit = await api.client.GET('/api/audit-events', {
      params: { query: { kind: 'policy_version.rejected', entity_id: endpointId } },
    });
    expect(audit.data?.audit_events.length).toBeGreaterThanOrEqual(1);
    const after = audit.data?.audit_events[0]?.after as { version: number; reason: string } | undefined;
    expect(after?.version).toBe(2);
    expect(after?.reason).toMatch(/empty/);

    // A valid policy saved through the API clears the failure.
    const fixed = await api.client.PATCH('/api/endpoints/{id}', {
      params: { path: { id: endpointId } },
      body: { traffic_policy: respondWith('v3') },
    });
    expect(fixed.response.status).toBe(200);
    await waitFor(async () => (await everyDataplane()).every((answer) => answer === '200 v3'), {
      timeoutMs: 5_000,
      what: 'both data planes to serve v3',
      context: () => shape.output(),
    });
    for (const dataplane of shape.dataplanes)
      expect((await statusOf(dataplane.adminPort)).failing_endpoints).toEqual([]);
  });

  it('ignores a change message forged on Redis and still applies the real revision promptly', async () => {
    const latest = await latestRevision();
    const current = (await api.client.GET('/api/endpoints/{id}', { params: { path: { id: endpointId } } })).data!;
    const source = respondWith('forged', 418);
    const forged: ConfigChangeEvent = {
      revision: latest + 1,
      kind: 'endpoint.upserted',
      entity_id: endpointId,
      endpoint: {
        id: endpointId,
        url: current.url,
        type: 'cloud',
        proto: 'https',
        host,
        port: 443,
        upstream_url: null,
        upstream_host_header: 'preserve',
        policy: { version: 99, sha256: sha256(source), source },
        policy_rejected: null,
        shadow_policy: null,
        agent: null,
        request_log_capture: { headers: false, bodies: false },
      },
      ip_category: null,
      created_at: new Date().toISOString(),
    };
    const channel = redisNames(shape.services!.redisPrefix).configChannel;
    await redisPublish(shape.services!.redisUrl, channel, JSON.stringify(forged));
    // Give a data plane that trusted the message ample time to have applied it.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await everyDataplane()).toEqual(['200 v3', '200 v3']);

    const started = Date.now();
    const real = await api.client.PATCH('/api/endpoints/{id}', {
      params: { path: { id: endpointId } },
      body: { traffic_policy: respondWith('v4') },
    });
    expect(real.response.status).toBe(200);
    const realRevision = await latestRevision();
    expect(realRevision, 'the real change got the revision the forger used').toBe(forged.revision);
    await waitFor(async () => (await everyDataplane()).every((answer) => answer === '200 v4'), {
      timeoutMs: 3_000,
      what: 'both data planes to apply the real revision (not skip it)',
      context: () => shape.output(),
    });
    expect(Date.now() - started).toBeLessThan(3_000);
    for (const dataplane of shape.dataplanes) {
      expect((await statusOf(dataplane.adminPort)).config_conflicts.count).toBeGreaterThanOrEqual(1);
    }
  });
});
