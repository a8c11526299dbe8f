import { createHash } from 'node:crypto';
import type { Agent } from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigChangesResponseSchema,
  ConfigSnapshotSchema,
  type HeartbeatRequest,
  HeartbeatResponseSchema,
} from '@gatehouse/contracts';
import type { CreateEndpointBody } from '../src/endpoints/endpoints.dto';
import { EndpointResponseSchema } from '../src/endpoints/endpoints.dto';
import { DataplaneListResponseSchema, type DataplaneListResponse } from '../src/dataplane-sync/dataplanes.dto';
import { ConfigOutboxRepository } from '../src/config-publisher/config-outbox.repository';
import { CHANGE_RETENTION_MS } from '../src/config-publisher/config-publisher.service';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';
import { TEST_DATAPLANE_TOKEN } from './test-env';
import { DENY_ALL_POLICY } from './policies';
import { bodyOf, errorOf } from './http';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const DATAPLANE_AUTH = `Bearer ${TEST_DATAPLANE_TOKEN}`;

describe('data-plane sync', () => {
  let testApp: TestApp;
  let editor: Agent;
  let admin: Agent;
  beforeAll(async () => {
    testApp = await createTestApp();
  });
  afterAll(async () => {
    await testApp.close();
  });
  beforeEach(async () => {
    await resetState(testApp);
    admin = await setupAdmin(testApp);
    editor = await loginAs(testApp, admin, 'editor');
  });

  const dataplane = () => testApp.http();
  /** POST /api/dataplane/heartbeat with the data-plane token (the body may be malformed on purpose). */
  const postHeartbeat = (body: unknown) =>
    dataplane()
      .post('/api/dataplane/heartbeat')
      .set('authorization', DATAPLANE_AUTH)
      .send(body as object);
  /** One data plane's row in the fleet, as an editor sees it. */
  const fleetRow = async (id: string) =>
    bodyOf(await editor.get('/api/dataplanes').expect(200), DataplaneListResponseSchema).dataplanes.find(
      (row) => row.id === id,
    );

  it('withholds a stored policy version that bypassed validation from snapshots and changes, and audits it', async () => {
    const cloud = await editor
      .post('/api/endpoints')
      .send({ url: 'https://bypass.example.com', traffic_policy: DENY_ALL_POLICY } satisfies CreateEndpointBody)
      .expect(201);
    const id = bodyOf(cloud, EndpointResponseSchema).id;
    const { rows } = await testApp.db.query<{ revision: string }>(
      'SELECT max(revision) AS revision FROM config_changes',
    );
    const before = Number(rows[0]!.revision);
    // Three kinds of bad rows, each made active straight in SQL: garbage, an empty text, a sha256 that lies.
    const garbage = 'on_http_request: [ {{ not yaml';
    const bad = [
      { version: 2, source: garbage, sha256: sha256(garbage), reason: /does not validate/ },
      { version: 3, source: '', sha256: sha256(''), reason: /empty/ },
      { version: 4, source: DENY_ALL_POLICY.replace('403', '200'), sha256: sha256(DENY_ALL_POLICY), reason: /sha256/ },
    ];
    for (const row of bad) {
      await testApp.db.query(
        `INSERT INTO policy_versions (endpoint_id, version, source, sha256, created_by) VALUES ($1, $2, $3, $4, 'sql')`,
        [id, row.version, row.source, row.sha256],
      );
      await testApp.db.query('UPDATE endpoints SET active_policy_version = $2 WHERE id = $1', [id, row.version]);
      await editor
        .patch(`/api/endpoints/${id}`)
        .send({ description: `after v${row.version}` })
        .expect(200);
      const snapshot = ConfigSnapshotSchema.parse(
        (await dataplane().get('/api/dataplane/config').set('authorization', DATAPLANE_AUTH).expect(200)).body,
      );
      const listed = ConfigChangesResponseSchema.parse(
        (
          await dataplane()
            .get(`/api/dataplane/config/changes?since=${before}`)
            .set('authorization', DATAPLANE_AUTH)
            .expect(200)
        ).body,
      );
      for (const endpoint of [
        snapshot.endpoints.find((candidate) => candidate.id === id),
        listed.changes.at(-1)?.endpoint,
      ]) {
        expect(endpoint?.policy).toBeNull();
        expect(endpoint?.policy_rejected?.version).toBe(row.version);
        expect(endpoint?.policy_rejected?.reason).toMatch(row.reason);
      }
    }
    const audit = await admin.get(`/api/audit-events?kind=policy_version.rejected&entity_id=${id}`).expect(200);
    const versions = (audit.body as { audit_events: { after: { version: number } }[] }).audit_events.map(
      (event) => event.after.version,
    );
    expect(versions.sort()).toEqual([2, 3, 4]);
  });

  it('serves the full snapshot with an ETag and answers 304 when nothing changed', async () => {
    const internal = await editor
      .post('/api/endpoints')
      .send({
        url: 'https://svc.example.internal',
        type: 'internal',
        upstream_url: 'http://127.0.0.1:9',
        upstream_host_header: 'rewrite',
      } satisfies CreateEndpointBody)
      .expect(201);
    const cloud = await editor
      .post('/api/endpoints')
      .send({ url: 'https://a.example.com', traffic_policy: DENY_ALL_POLICY } satisfies CreateEndpointBody)
      .expect(201);

    const response = await dataplane().get('/api/dataplane/config').set('authorization', DATAPLANE_AUTH).expect(200);
    const snapshot = ConfigSnapshotSchema.parse(response.body);
    expect(response.headers.etag).toBe(`"rev-${snapshot.revision}"`);
    expect(snapshot.endpoints).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id: bodyOf(internal, EndpointResponseSchema).id,
          upstream_url: 'http://127.0.0.1:9',
          upstream_host_header: 'rewrite',
          policy: null,
        }),
        expect.objectContaining({
          id: bodyOf(cloud, EndpointResponseSchema).id,
          host: 'a.example.com',
          policy: { version: 1, sha256: sha256(DENY_ALL_POLICY), source: DENY_ALL_POLICY },
        }),
      ]),
    );
    expect(snapshot.ip_categories.map((category) => category.name)).toContain('com.anthropic.api');
    expect(snapshot.ip_categories.find((category) => category.name === 'com.anthropic.api')).toMatchObject({
      cidrs: ['160.79.104.0/21', '2607:6bc0::/48'],
      builtin: true,
    });

    await dataplane()
      .get('/api/dataplane/config')
      .set('authorization', DATAPLANE_AUTH)
      .set('if-none-match', response.headers.etag as string)
      .expect(304);
    await editor
      .patch(`/api/endpoints/${bodyOf(cloud, EndpointResponseSchema).id}`)
      .send({ description: 'changed' })
      .expect(200);
    const changed = await dataplane()
      .get('/api/dataplane/config')
      .set('authorization', DATAPLANE_AUTH)
      .set('if-none-match', response.headers.etag as string)
      .expect(200);
    expect(bodyOf(changed, ConfigSnapshotSchema).revision).toBe(snapshot.revision + 1);
  });

  it('lists changes since a revision and answers 410 when they were pruned or never existed', async () => {
    const base = bodyOf(
      await dataplane().get('/api/dataplane/config').set('authorization', DATAPLANE_AUTH).expect(200),
      ConfigSnapshotSchema,
    ).revision;
    const first = await editor
      .post('/api/endpoints')
      .send({ url: 'https://a.example.com', traffic_policy: DENY_ALL_POLICY } satisfies CreateEndpointBody)
      .expect(201);
    await editor.delete(`/api/endpoints/${bodyOf(first, EndpointResponseSchema).id}`).expect(204);

    const changes = await dataplane()
      .get(`/api/dataplane/config/changes?since=${base}`)
      .set('authorization', DATAPLANE_AUTH)
      .expect(200);
    const parsed = ConfigChangesResponseSchema.parse(changes.body);
    expect(parsed.changes.map((change) => [change.revision, change.kind])).toEqual([
      [base + 1, 'endpoint.upserted'],
      [base + 2, 'endpoint.deleted'],
    ]);
    expect(parsed).toMatchObject({ revision: base + 2, has_more: false });

    const paged = await dataplane()
      .get(`/api/dataplane/config/changes?since=${base}&limit=1`)
      .set('authorization', DATAPLANE_AUTH)
      .expect(200);
    expect(paged.body).toMatchObject({ has_more: true, changes: [{ revision: base + 1 }] });

    const ahead = await dataplane()
      .get(`/api/dataplane/config/changes?since=${base + 100}`)
      .set('authorization', DATAPLANE_AUTH)
      .expect(410);
    expect(errorOf(ahead).error_code).toBe('CONFIG_REVISION_GONE');

    await testApp.db.query('DELETE FROM config_changes WHERE revision <= $1', [base + 1]);
    await dataplane()
      .get(`/api/dataplane/config/changes?since=${base}`)
      .set('authorization', DATAPLANE_AUTH)
      .expect(410);
    await dataplane()
      .get(`/api/dataplane/config/changes?since=${base + 1}`)
      .set('authorization', DATAPLANE_AUTH)
      .expect(200);
    await dataplane().get('/api/dataplane/config/changes?since=-1').set('authorization', DATAPLANE_AUTH).expect(400);
    await dataplane().get('/api/dataplane/config/changes').set('authorization', DATAPLANE_AUTH).expect(400);
  });

  it('prunes published changes past retention but keeps the latest revision', async () => {
    for (let index = 0; index < 3; index += 1) {
      await editor
        .post('/api/endpoints')
        .send({ url: `https://p${index}.example.com`, traffic_policy: DENY_ALL_POLICY } satisfies CreateEndpointBody)
        .expect(201);
    }
    const latest = bodyOf(
      await dataplane().get('/api/dataplane/config').set('authorization', DATAPLANE_AUTH).expect(200),
      ConfigSnapshotSchema,
    ).revision;
    await testApp.db.query("UPDATE config_changes SET created_at = now() - interval '2 days'");
    const pruned = await testApp.app
      .get(ConfigOutboxRepository)
      .pruneChanges(new Date(Date.now() - CHANGE_RETENTION_MS));
    expect(pruned).toBe(latest - 1);
    await dataplane().get('/api/dataplane/config/changes?since=0').set('authorization', DATAPLANE_AUTH).expect(410);
    const current = await dataplane()
      .get(`/api/dataplane/config/changes?since=${latest}`)
      .set('authorization', DATAPLANE_AUTH)
      .expect(200);
    expect(bodyOf(current, ConfigChangesResponseSchema)).toEqual({ revision: latest, changes: [], has_more: false });
    // The snapshot still names the latest revision, and the next change continues from it.
    await editor
      .post('/api/endpoints')
      .send({ url: 'https://after.example.com', traffic_policy: DENY_ALL_POLICY } satisfies CreateEndpointBody)
      .expect(201);
    const next = await dataplane()
      .get(`/api/dataplane/config/changes?since=${latest}`)
      .set('authorization', DATAPLANE_AUTH)
      .expect(200);
    expect(bodyOf(next, ConfigChangesResponseSchema).changes.map((change) => change.revision)).toEqual([latest + 1]);
  });

  it('stores the traffic address a heartbeat reports and shows it, with the URL to send traffic to', async () => {
    const heartbeat = {
      id: 'dp-traffic',
      hostname: 'edge-7',
      version: '0.1.0',
      applied_revision: 0,
      last_error: null,
      traffic: { scheme: 'http', host: '0.0.0.0', port: 8080 },
    } satisfies HeartbeatRequest;

    await postHeartbeat(heartbeat).expect(200);
    expect((await fleetRow('dp-traffic'))?.traffic).toEqual({
      scheme: 'http',
      host: '0.0.0.0',
      port: 8080,
      public_url: null,
      url: 'http://edge-7:8080',
    });

    await postHeartbeat({
      ...heartbeat,
      traffic: { scheme: 'https', host: '10.0.0.7', port: 8443, public_url: 'https://gw.example.com' },
    }).expect(200);
    expect((await fleetRow('dp-traffic'))?.traffic).toEqual({
      scheme: 'https',
      host: '10.0.0.7',
      port: 8443,
      public_url: 'https://gw.example.com',
      url: 'https://gw.example.com',
    });

    // A heartbeat without one (a downgraded data plane) clears it rather than keep an address it no longer vouches for.
    const { traffic: _dropped, ...withoutTraffic } = heartbeat;
    await postHeartbeat(withoutTraffic).expect(200);
    expect((await fleetRow('dp-traffic'))?.traffic).toBeNull();

    const invalid = await postHeartbeat({
      ...heartbeat,
      traffic: { scheme: 'ftp', host: '', port: 0, public_url: 'nope' },
    }).expect(400);
    expect(errorOf(invalid).error_code).toBe('VALIDATION_FAILED');
    expect(
      errorOf(invalid)
        .details.map((detail) => detail.path)
        .sort(),
    ).toEqual(['traffic.host', 'traffic.port', 'traffic.public_url', 'traffic.scheme']);
  });

  it('stores the request-event counters a heartbeat reports and shows them in the fleet; bad ones are a 400', async () => {
    const heartbeat = {
      id: 'dp-events',
      hostname: 'edge-8',
      version: '0.1.0',
      applied_revision: 0,
      last_error: null,
    } satisfies HeartbeatRequest;

    // No queue (embedded shape) or an older data plane: nothing to show.
    await postHeartbeat(heartbeat).expect(200);
    expect((await fleetRow('dp-events'))?.request_events).toBeNull();

    const holding = {
      buffered: 4_000,
      dropped: 0,
      spilled: 0,
      send_failures: 0,
      deferred_sends: 12,
      queued_batches: 1_000,
    };
    await postHeartbeat({ ...heartbeat, request_events: holding }).expect(200);
    expect((await fleetRow('dp-events'))?.request_events).toEqual(holding);

    const invalid = await postHeartbeat({
      ...heartbeat,
      request_events: { ...holding, buffered: -1, dropped: 'many' },
    }).expect(400);
    expect(errorOf(invalid).error_code).toBe('VALIDATION_FAILED');
    expect(
      errorOf(invalid)
        .details.map((detail) => detail.path)
        .sort(),
    ).toEqual(['request_events.buffered', 'request_events.dropped']);
    // The refused heartbeat changed nothing stored.
    expect((await fleetRow('dp-events'))?.request_events).toEqual(holding);

    // Counters a data plane stops reporting are cleared, not shown stale.
    await postHeartbeat(heartbeat).expect(200);
    expect((await fleetRow('dp-events'))?.request_events).toBeNull();
  });

  it('stores heartbeats, answers with the latest revision, and shows the fleet', async () => {
    const heartbeat = {
      id: 'dp-1',
      hostname: 'edge-1',
      version: '0.1.0',
      applied_revision: 1,
      last_error: null,
    } satisfies HeartbeatRequest;
    const answer = await dataplane()
      .post('/api/dataplane/heartbeat')
      .set('authorization', DATAPLANE_AUTH)
      .send(heartbeat)
      .expect(200);
    const latest = HeartbeatResponseSchema.parse(answer.body).revision;
    expect(latest).toBeGreaterThanOrEqual(1);
    await dataplane()
      .post('/api/dataplane/heartbeat')
      .set('authorization', DATAPLANE_AUTH)
      .send({
        ...heartbeat,
        applied_revision: 0,
        last_error: 'compile failed: POLICY_EXPRESSION_INVALID',
      } satisfies HeartbeatRequest)
      .expect(200);
    const fleet = await editor.get('/api/dataplanes').expect(200);
    expect(fleet.body).toEqual({
      dataplanes: [
        expect.objectContaining({
          id: 'dp-1',
          hostname: 'edge-1',
          applied_revision: 0,
          lag: latest,
          status: 'online',
          last_error: 'compile failed: POLICY_EXPRESSION_INVALID',
        }),
      ],
      next_page_uri: null,
    });
    // A heartbeat without a traffic address (data planes before the field) shows none.
    expect((fleet.body as DataplaneListResponse).dataplanes[0]!.traffic).toBeNull();
    const invalid = await dataplane()
      .post('/api/dataplane/heartbeat')
      .set('authorization', DATAPLANE_AUTH)
      .send({ id: '', hostname: 'x', version: '1', applied_revision: -1 })
      .expect(400);
    expect(
      errorOf(invalid)
        .details.map((detail) => detail.path)
        .sort(),
    ).toEqual(['applied_revision', 'id']);
  });

  it('requires the data-plane token: no token, a wrong one, or a user session are refused', async () => {
    for (const [method, path] of [
      ['get', '/api/dataplane/config'],
      ['get', '/api/dataplane/config/changes?since=0'],
      ['post', '/api/dataplane/heartbeat'],
    ] as const) {
      await dataplane()[method](path).expect(401);
      await dataplane()[method](path).set('authorization', 'Bearer wrong-token-wrong-token').expect(401);
      const session = await admin[method](path).expect(401);
      expect(errorOf(session).error_code).toBe('UNAUTHENTICATED');
    }
  });
});
