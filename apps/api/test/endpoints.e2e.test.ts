import type { Agent } from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CreateEndpointBody,
  type CreatePolicyVersionBody,
  EndpointListResponseSchema,
  EndpointResponseSchema,
  PolicyVersionListResponseSchema,
  PolicyVersionResponseSchema,
  type UpdateEndpointBody,
} from '../src/endpoints/endpoints.dto';
import { ConfigChangePayloadSchema, ConfigSnapshotSchema } from '@gatehouse/contracts';
import { AuditEventListResponseSchema } from '../src/audit-events/audit-events.dto';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';
import { TEST_DATAPLANE_TOKEN } from './test-env';
import {
  BAD_YAML_POLICY,
  CUSTOM_RESPONSE_POLICY,
  DENY_ALL_POLICY,
  NON_TERMINATING_POLICY,
  WALKTHROUGH_POLICY,
} from './policies';
import { bodyOf, errorOf } from './http';

const INTERNAL = {
  url: 'https://mcp.example.internal',
  type: 'internal',
  upstream_url: 'http://127.0.0.1:3333',
} satisfies CreateEndpointBody;

describe('endpoints', () => {
  let testApp: TestApp;
  let editor: Agent;
  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    editor = await loginAs(testApp, await setupAdmin(testApp), 'editor');
  });
  afterAll(async () => {
    await testApp.close();
  });
  beforeEach(async () => {
    await resetState(testApp, { keepAccounts: true });
  });

  async function createCloud(url: string, policy = DENY_ALL_POLICY): Promise<Record<string, unknown>> {
    const response = await editor
      .post('/api/endpoints')
      .send({ url, traffic_policy: policy } satisfies CreateEndpointBody)
      .expect(201);
    return response.body as Record<string, unknown>;
  }

  describe('the walkthrough (DESIGN.md §1 steps 1-3)', () => {
    it('registers the internal endpoint, the cloud endpoint, and replaces its policy', async () => {
      const internal = await editor.post('/api/endpoints').send(INTERNAL).expect(201);
      expect(internal.body).toMatchObject({
        url: 'https://mcp.example.internal',
        type: 'internal',
        host: 'mcp.example.internal',
        port: 443,
        upstream_url: 'http://127.0.0.1:3333',
        traffic_policy: null,
        policy_version: null,
      });
      expect(bodyOf(internal, EndpointResponseSchema).id).toMatch(/^ep_[0-9a-z]{26}$/);

      const cloud = await createCloud('https://mcp.example.com', CUSTOM_RESPONSE_POLICY);
      expect(cloud).toMatchObject({ type: 'cloud', policy_version: 1, traffic_policy: CUSTOM_RESPONSE_POLICY });

      const replaced = await editor
        .patch(`/api/endpoints/${cloud.id as string}`)
        .send({ traffic_policy: WALKTHROUGH_POLICY } satisfies UpdateEndpointBody)
        .expect(200);
      expect(replaced.body).toMatchObject({
        policy_version: 2,
        traffic_policy: WALKTHROUGH_POLICY,
        policy_warnings: [],
      });
      const fetched = await editor.get(`/api/endpoints/${cloud.id as string}`).expect(200);
      expect(bodyOf(fetched, EndpointResponseSchema).traffic_policy).toBe(WALKTHROUGH_POLICY);
      expect(bodyOf(fetched, EndpointResponseSchema).uri).toBe(`/api/endpoints/${cloud.id as string}`);
      expect(new Date(bodyOf(fetched, EndpointResponseSchema).created_at).toISOString()).toBe(
        bodyOf(fetched, EndpointResponseSchema).created_at,
      );
    });
  });

  describe('create', () => {
    it('normalizes the URL and defaults the type to cloud', async () => {
      const created = await createCloud('HTTPS://API.Example.COM:443/');
      expect(created).toMatchObject({
        url: 'https://api.example.com',
        host: 'api.example.com',
        port: 443,
        proto: 'https',
      });
      const other = await createCloud('http://api.example.com:8080');
      expect(other).toMatchObject({ url: 'http://api.example.com:8080', port: 8080, proto: 'http' });
    });

    it.each([
      ['not a url', 'nope'],
      ['another scheme', 'ftp://files.example.com'],
      ['a path', 'https://example.com/api'],
      ['a query', 'https://example.com?a=1'],
      ['credentials', 'https://user:pass@example.com'],
      ['a cloud host ending in .internal', 'https://service.internal'],
      ['a bad host', 'https://exa_mple.com'],
    ])('rejects %s', async (_label, url) => {
      const response = await editor
        .post('/api/endpoints')
        .send({ url, traffic_policy: DENY_ALL_POLICY } satisfies CreateEndpointBody)
        .expect(400);
      expect(errorOf(response).error_code).toBe('ENDPOINT_URL_INVALID');
      expect(errorOf(response).details[0]?.path).toBe('url');
    });

    it('requires internal hosts to end in .internal and to have an http(s) upstream', async () => {
      const wrongHost = await editor
        .post('/api/endpoints')
        .send({ ...INTERNAL, url: 'https://mcp.example.com' } satisfies CreateEndpointBody)
        .expect(400);
      expect(errorOf(wrongHost).error_code).toBe('ENDPOINT_URL_INVALID');
      const noUpstream = await editor
        .post('/api/endpoints')
        .send({ url: INTERNAL.url, type: 'internal' } satisfies CreateEndpointBody)
        .expect(400);
      expect(errorOf(noUpstream).error_code).toBe('ENDPOINT_UPSTREAM_INVALID');
      const badUpstream = await editor
        .post('/api/endpoints')
        .send({ ...INTERNAL, upstream_url: 'file:///etc/passwd' } satisfies CreateEndpointBody)
        .expect(400);
      expect(errorOf(badUpstream).error_code).toBe('ENDPOINT_UPSTREAM_INVALID');
      const cloudUpstream = await editor
        .post('/api/endpoints')
        .send({
          url: 'https://a.example.com',
          traffic_policy: DENY_ALL_POLICY,
          upstream_url: 'http://127.0.0.1:1',
        } satisfies CreateEndpointBody)
        .expect(400);
      expect(errorOf(cloudUpstream).error_code).toBe('ENDPOINT_UPSTREAM_INVALID');
    });

    it('answers 409 for a duplicate URL, however it is spelled', async () => {
      await createCloud('https://dup.example.com');
      const duplicate = await editor
        .post('/api/endpoints')
        .send({ url: 'https://DUP.example.com:443', traffic_policy: DENY_ALL_POLICY } satisfies CreateEndpointBody)
        .expect(409);
      expect(errorOf(duplicate).error_code).toBe('ENDPOINT_URL_TAKEN');
    });

    it('answers 409 to all but one of concurrent creates of the same URL', async () => {
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          editor
            .post('/api/endpoints')
            .send({ url: 'https://race.example.com', traffic_policy: DENY_ALL_POLICY } satisfies CreateEndpointBody),
        ),
      );
      expect(results.map((result) => result.status).sort()).toEqual([201, 409, 409, 409, 409]);
    });

    it('requires a policy for cloud endpoints', async () => {
      const missing = await editor
        .post('/api/endpoints')
        .send({ url: 'https://a.example.com' } satisfies CreateEndpointBody)
        .expect(400);
      expect(errorOf(missing).error_code).toBe('POLICY_REQUIRED');
      const blank = await editor
        .post('/api/endpoints')
        .send({ url: 'https://a.example.com', traffic_policy: '  \n' } satisfies CreateEndpointBody)
        .expect(400);
      expect(errorOf(blank).error_code).toBe('POLICY_REQUIRED');
    });

    it('rejects bad YAML and non-terminating policies with positioned issues, writing nothing', async () => {
      const badYaml = await editor
        .post('/api/endpoints')
        .send({ url: 'https://a.example.com', traffic_policy: BAD_YAML_POLICY } satisfies CreateEndpointBody)
        .expect(400);
      expect(errorOf(badYaml).error_code).toBe('POLICY_INVALID');
      expect(errorOf(badYaml).details[0]).toMatchObject({ code: 'POLICY_PARSE_ERROR' });
      expect(errorOf(badYaml).details[0]?.line).toBeGreaterThan(0);

      const open = await editor
        .post('/api/endpoints')
        .send({ url: 'https://a.example.com', traffic_policy: NON_TERMINATING_POLICY } satisfies CreateEndpointBody)
        .expect(400);
      const notTerminating = errorOf(open).details.find((detail) => detail.code === 'POLICY_NOT_TERMINATING');
      expect(notTerminating?.line).toBeGreaterThan(0);
      expect(notTerminating?.column).toBeGreaterThan(0);

      const counts = await testApp.db.query<{ endpoints: string; versions: string; changes: string }>(
        `SELECT (SELECT count(*) FROM endpoints) AS endpoints, (SELECT count(*) FROM policy_versions) AS versions,
                (SELECT count(*) FROM config_changes WHERE kind LIKE 'endpoint.%') AS changes`,
      );
      expect(counts.rows[0]).toEqual({ endpoints: '0', versions: '0', changes: '0' });
    });

    it('accepts a non-terminating policy on an internal endpoint', async () => {
      const response = await editor
        .post('/api/endpoints')
        .send({ ...INTERNAL, traffic_policy: NON_TERMINATING_POLICY } satisfies CreateEndpointBody)
        .expect(201);
      expect(bodyOf(response, EndpointResponseSchema).policy_version).toBe(1);
    });

    it('warns when a cloud policy forwards to an internal URL that is not registered', async () => {
      const created = await editor
        .post('/api/endpoints')
        .send({ url: 'https://mcp.example.com', traffic_policy: WALKTHROUGH_POLICY } satisfies CreateEndpointBody)
        .expect(201);
      expect(bodyOf(created, EndpointResponseSchema).policy_warnings).toContainEqual(
        expect.objectContaining({ code: 'POLICY_FORWARD_TARGET_UNKNOWN', severity: 'warning' }),
      );
    });

    it('rejects oversize and unknown fields', async () => {
      const longDescription = await editor
        .post('/api/endpoints')
        .send({
          url: 'https://a.example.com',
          traffic_policy: DENY_ALL_POLICY,
          description: 'x'.repeat(256),
        } satisfies CreateEndpointBody)
        .expect(400);
      expect(longDescription.body).toMatchObject({
        error_code: 'VALIDATION_FAILED',
        details: [{ path: 'description' }],
      });
      const longMetadata = await editor
        .post('/api/endpoints')
        .send({
          url: 'https://a.example.com',
          traffic_policy: DENY_ALL_POLICY,
          metadata: 'x'.repeat(4097),
        } satisfies CreateEndpointBody)
        .expect(400);
      expect(errorOf(longMetadata).details[0]?.path).toBe('metadata');
      const unknown = await editor
        .post('/api/endpoints')
        .send({ url: 'https://a.example.com', traffic_policy: DENY_ALL_POLICY, colour: 'red' })
        .expect(400);
      expect(errorOf(unknown).error_code).toBe('VALIDATION_FAILED');
      const wrongType = await editor
        .post('/api/endpoints')
        .send({ url: 42, traffic_policy: DENY_ALL_POLICY })
        .expect(400);
      expect(errorOf(wrongType).details[0]?.path).toBe('url');
      await editor
        .post('/api/endpoints')
        .send({
          url: 'https://a.example.com',
          traffic_policy: DENY_ALL_POLICY,
          description: 'x'.repeat(255),
          metadata: 'm'.repeat(4096),
        } satisfies CreateEndpointBody)
        .expect(201);
    });
  });

  describe('list', () => {
    it('pages newest first with next_page_uri and filters by type and url', async () => {
      const ids: string[] = [];
      for (let index = 0; index < 5; index += 1)
        ids.push((await createCloud(`https://e${index}.example.com`)).id as string);
      await editor.post('/api/endpoints').send(INTERNAL).expect(201);

      const first = await editor.get('/api/endpoints?type=cloud&limit=2').expect(200);
      expect(
        bodyOf(first, EndpointListResponseSchema).endpoints.map((endpoint: { id: string }) => endpoint.id),
      ).toEqual([ids[4], ids[3]]);
      expect(bodyOf(first, EndpointListResponseSchema).next_page_uri).toBe(
        `/api/endpoints?limit=2&type=cloud&before_id=${ids[3]}`,
      );
      const second = await editor.get(bodyOf(first, EndpointListResponseSchema).next_page_uri as string).expect(200);
      expect(
        bodyOf(second, EndpointListResponseSchema).endpoints.map((endpoint: { id: string }) => endpoint.id),
      ).toEqual([ids[2], ids[1]]);
      const third = await editor.get(bodyOf(second, EndpointListResponseSchema).next_page_uri as string).expect(200);
      expect(
        bodyOf(third, EndpointListResponseSchema).endpoints.map((endpoint: { id: string }) => endpoint.id),
      ).toEqual([ids[0]]);
      expect(bodyOf(third, EndpointListResponseSchema).next_page_uri).toBeNull();

      const byInternalUrl = await editor.get('/api/endpoints?url=https://MCP.example.internal:443').expect(200);
      expect(bodyOf(byInternalUrl, EndpointListResponseSchema).endpoints).toHaveLength(1);
      const internal = await editor.get('/api/endpoints?type=internal').expect(200);
      expect(bodyOf(internal, EndpointListResponseSchema).endpoints).toHaveLength(1);
      const byUrl = await editor.get(`/api/endpoints?url=${encodeURIComponent('https://E2.example.com')}`).expect(200);
      expect(
        bodyOf(byUrl, EndpointListResponseSchema).endpoints.map((endpoint: { id: string }) => endpoint.id),
      ).toEqual([ids[2]]);

      const badLimit = await editor.get('/api/endpoints?limit=0').expect(400);
      expect(errorOf(badLimit).details[0]?.path).toBe('limit');
      await editor.get('/api/endpoints?type=weird').expect(400);
    });
  });

  describe('get, patch, delete', () => {
    it('answers 404 ENDPOINT_NOT_FOUND for unknown ids', async () => {
      for (const call of [
        editor.get('/api/endpoints/ep_unknown'),
        editor.patch('/api/endpoints/ep_unknown').send({ description: 'x' } satisfies UpdateEndpointBody),
        editor.delete('/api/endpoints/ep_unknown'),
        editor.get('/api/endpoints/ep_unknown/policy-versions'),
      ]) {
        const response = await call.expect(404);
        expect(errorOf(response).error_code).toBe('ENDPOINT_NOT_FOUND');
      }
    });

    it('updates fields, keeps the scheme fixed, and refuses a taken URL', async () => {
      const endpoint = await createCloud('https://a.example.com');
      await createCloud('https://b.example.com');
      const updated = await editor
        .patch(`/api/endpoints/${endpoint.id as string}`)
        .send({
          url: 'https://c.example.com',
          description: 'renamed',
          metadata: '{"team":"x"}',
        } satisfies UpdateEndpointBody)
        .expect(200);
      expect(updated.body).toMatchObject({
        url: 'https://c.example.com',
        host: 'c.example.com',
        description: 'renamed',
        policy_version: 1,
      });
      const scheme = await editor
        .patch(`/api/endpoints/${endpoint.id as string}`)
        .send({ url: 'http://c.example.com' } satisfies UpdateEndpointBody)
        .expect(400);
      expect(errorOf(scheme).error_code).toBe('ENDPOINT_SCHEME_IMMUTABLE');
      const taken = await editor
        .patch(`/api/endpoints/${endpoint.id as string}`)
        .send({ url: 'https://b.example.com' } satisfies UpdateEndpointBody)
        .expect(409);
      expect(errorOf(taken).error_code).toBe('ENDPOINT_URL_TAKEN');
      const internalHost = await editor
        .patch(`/api/endpoints/${endpoint.id as string}`)
        .send({ url: 'https://x.internal' } satisfies UpdateEndpointBody)
        .expect(400);
      expect(errorOf(internalHost).error_code).toBe('ENDPOINT_URL_INVALID');
      const typeChange = await editor
        .patch(`/api/endpoints/${endpoint.id as string}`)
        .send({ type: 'internal' })
        .expect(400);
      expect(errorOf(typeChange).error_code).toBe('VALIDATION_FAILED');
    });

    it('treats an empty patch as a no-op (no audit event, no config change)', async () => {
      const endpoint = await createCloud('https://a.example.com');
      const before = await testApp.db.query('SELECT count(*) AS count FROM config_changes');
      await editor
        .patch(`/api/endpoints/${endpoint.id as string}`)
        .send({} satisfies UpdateEndpointBody)
        .expect(200);
      const after = await testApp.db.query('SELECT count(*) AS count FROM config_changes');
      expect(after.rows).toEqual(before.rows);
      const audit = await testApp.db.query("SELECT 1 FROM audit_events WHERE kind = 'endpoint.updated'");
      expect(audit.rowCount).toBe(0);
    });

    it('rejects an invalid policy on patch without changing anything', async () => {
      const endpoint = await createCloud('https://a.example.com');
      const response = await editor
        .patch(`/api/endpoints/${endpoint.id as string}`)
        .send({ description: 'new', traffic_policy: NON_TERMINATING_POLICY } satisfies UpdateEndpointBody)
        .expect(400);
      expect(errorOf(response).error_code).toBe('POLICY_INVALID');
      const after = await editor.get(`/api/endpoints/${endpoint.id as string}`).expect(200);
      expect(after.body).toMatchObject({ description: '', policy_version: 1, traffic_policy: DENY_ALL_POLICY });
    });

    it('deletes an endpoint with its versions and records audit events', async () => {
      const endpoint = await createCloud('https://a.example.com');
      await editor.delete(`/api/endpoints/${endpoint.id as string}`).expect(204);
      await editor.get(`/api/endpoints/${endpoint.id as string}`).expect(404);
      const versions = await testApp.db.query('SELECT 1 FROM policy_versions');
      expect(versions.rowCount).toBe(0);
      const audit = await editor.get(`/api/audit-events?entity_id=${endpoint.id as string}`).expect(200);
      expect(
        bodyOf(audit, AuditEventListResponseSchema).audit_events.map((event: { kind: string }) => event.kind),
      ).toEqual(['endpoint.deleted', 'policy.version_created', 'endpoint.created']);
      const [deleted] = bodyOf(audit, AuditEventListResponseSchema).audit_events;
      if (!deleted) throw new Error('no audit event');
      expect(deleted.before).toMatchObject({ id: endpoint.id, url: 'https://a.example.com' });
      expect(deleted.after).toBeNull();
      expect(deleted.actor.type).toBe('user');
      expect(deleted.actor.name).toMatch(/^editor-/);
      expect(deleted.ip).toBeTruthy();
    });
  });

  describe('request_log_capture', () => {
    async function latestOutboxPayload(entityId: string) {
      const rows = await testApp.db.query<{ payload: unknown; revision: string }>(
        'SELECT payload, revision::text AS revision FROM config_changes WHERE entity_id = $1 ORDER BY revision DESC LIMIT 1',
        [entityId],
      );
      const row = rows.rows[0];
      if (!row) throw new Error(`no config change for ${entityId}`);
      return { revision: Number(row.revision), payload: ConfigChangePayloadSchema.parse(row.payload) };
    }

    it('defaults to capturing nothing, and is set on create and returned by get and list', async () => {
      const plain = await createCloud('https://plain.example.com');
      expect(plain.request_log_capture).toEqual({ headers: false, bodies: false });
      const created = await editor
        .post('/api/endpoints')
        .send({
          url: 'https://capture.example.com',
          traffic_policy: DENY_ALL_POLICY,
          request_log_capture: { headers: true },
        } satisfies CreateEndpointBody)
        .expect(201);
      const id = bodyOf(created, EndpointResponseSchema).id;
      expect(created.body).toMatchObject({ request_log_capture: { headers: true, bodies: false } });
      const fetched = await editor.get(`/api/endpoints/${id}`).expect(200);
      expect(bodyOf(fetched, EndpointResponseSchema).request_log_capture).toEqual({ headers: true, bodies: false });
      const list = await editor.get('/api/endpoints').expect(200);
      expect(
        bodyOf(list, EndpointListResponseSchema).endpoints.map((endpoint) => [
          endpoint.url,
          endpoint.request_log_capture,
        ]),
      ).toEqual([
        ['https://capture.example.com', { headers: true, bodies: false }],
        ['https://plain.example.com', { headers: false, bodies: false }],
      ]);
      const { payload } = await latestOutboxPayload(id);
      expect(payload.endpoint?.request_log_capture).toEqual({ headers: true, bodies: false });
    });

    it('changes on patch without a policy version, audited and published to data planes', async () => {
      const endpoint = await createCloud('https://a.example.com');
      const id = endpoint.id as string;
      const before = await latestOutboxPayload(id);

      const patched = await editor
        .patch(`/api/endpoints/${id}`)
        .send({ request_log_capture: { bodies: true } } satisfies UpdateEndpointBody)
        .expect(200);
      // Options left out keep their value; the policy stays at version 1.
      expect(patched.body).toMatchObject({ request_log_capture: { headers: false, bodies: true }, policy_version: 1 });
      expect(patched.body).not.toHaveProperty('policy_warnings');
      const versions = await testApp.db.query('SELECT version FROM policy_versions WHERE endpoint_id = $1', [id]);
      expect(versions.rows).toEqual([{ version: 1 }]);

      const after = await latestOutboxPayload(id);
      expect(after.revision).toBeGreaterThan(before.revision);
      expect(after.payload.endpoint).toMatchObject({
        id,
        request_log_capture: { headers: false, bodies: true },
        policy: { version: 1 },
      });
      const published = await testApp.db.query(
        'SELECT published_at FROM config_changes WHERE revision = $1 AND published_at IS NOT NULL',
        [after.revision],
      );
      expect(published.rowCount).toBe(1);
      const snapshot = await testApp
        .http()
        .get('/api/dataplane/config')
        .set('authorization', `Bearer ${TEST_DATAPLANE_TOKEN}`)
        .expect(200);
      expect(ConfigSnapshotSchema.parse(snapshot.body).endpoints.find((synced) => synced.id === id)).toMatchObject({
        request_log_capture: { headers: false, bodies: true },
      });

      const audit = await editor.get(`/api/audit-events?entity_id=${id}&kind=endpoint.updated`).expect(200);
      const [updated] = bodyOf(audit, AuditEventListResponseSchema).audit_events;
      expect(updated?.before).toMatchObject({ request_log_capture: { headers: false, bodies: false } });
      expect(updated?.after).toMatchObject({ request_log_capture: { headers: false, bodies: true } });
    });

    it('treats a patch that repeats the current setting as a no-op', async () => {
      const endpoint = await createCloud('https://a.example.com');
      const id = endpoint.id as string;
      const before = await latestOutboxPayload(id);
      await editor
        .patch(`/api/endpoints/${id}`)
        .send({ request_log_capture: { headers: false, bodies: false } } satisfies UpdateEndpointBody)
        .expect(200);
      expect((await latestOutboxPayload(id)).revision).toBe(before.revision);
      const audit = await testApp.db.query("SELECT 1 FROM audit_events WHERE kind = 'endpoint.updated'");
      expect(audit.rowCount).toBe(0);
    });

    it('rejects bad values (VALIDATION_FAILED) and capture on internal endpoints, changing nothing', async () => {
      const endpoint = await createCloud('https://a.example.com');
      const id = endpoint.id as string;
      const notBoolean = await editor
        .patch(`/api/endpoints/${id}`)
        .send({ request_log_capture: { headers: 'yes' } })
        .expect(400);
      expect(errorOf(notBoolean)).toMatchObject({
        error_code: 'VALIDATION_FAILED',
        details: [{ path: 'request_log_capture.headers' }],
      });
      const unknownOption = await editor
        .post('/api/endpoints')
        .send({ url: 'https://b.example.com', traffic_policy: DENY_ALL_POLICY, request_log_capture: { cookies: true } })
        .expect(400);
      expect(errorOf(unknownOption).error_code).toBe('VALIDATION_FAILED');
      const notObject = await editor.patch(`/api/endpoints/${id}`).send({ request_log_capture: true }).expect(400);
      expect(errorOf(notObject).details[0]?.path).toBe('request_log_capture');
      const internal = await editor.post('/api/endpoints').send(INTERNAL).expect(201);
      const onInternal = await editor
        .patch(`/api/endpoints/${bodyOf(internal, EndpointResponseSchema).id}`)
        .send({ request_log_capture: { bodies: true } } satisfies UpdateEndpointBody)
        .expect(400);
      expect(errorOf(onInternal)).toMatchObject({
        error_code: 'ENDPOINT_CAPTURE_UNSUPPORTED',
        details: [{ path: 'request_log_capture' }],
      });
      await editor
        .post('/api/endpoints')
        .send({ ...INTERNAL, url: 'https://other.example.internal', request_log_capture: { headers: true } })
        .expect(400);
      const fetched = await editor.get(`/api/endpoints/${id}`).expect(200);
      expect(bodyOf(fetched, EndpointResponseSchema).request_log_capture).toEqual({ headers: false, bodies: false });
      await editor
        .get('/api/endpoints?url=https://b.example.com')
        .expect(200)
        .expect((response) => {
          expect(bodyOf(response, EndpointListResponseSchema).endpoints).toEqual([]);
        });
    });
  });

  describe('policy versions', () => {
    it('appends immutable versions, lists them newest first, and restores by appending a copy', async () => {
      const endpoint = await createCloud('https://a.example.com', DENY_ALL_POLICY);
      const id = endpoint.id as string;
      const second = await editor
        .post(`/api/endpoints/${id}/policy-versions`)
        .send({ traffic_policy: CUSTOM_RESPONSE_POLICY, message: 'say hello' } satisfies CreatePolicyVersionBody)
        .expect(201);
      expect(second.body).toMatchObject({
        version: 2,
        active: true,
        message: 'say hello',
        traffic_policy: CUSTOM_RESPONSE_POLICY,
      });
      expect(bodyOf(second, PolicyVersionResponseSchema).sha256).toMatch(/^[0-9a-f]{64}$/);

      const restored = await editor.post(`/api/endpoints/${id}/policy-versions/1/restore`).expect(201);
      expect(restored.body).toMatchObject({
        version: 3,
        restored_from: 1,
        active: true,
        traffic_policy: DENY_ALL_POLICY,
      });

      const list = await editor.get(`/api/endpoints/${id}/policy-versions?limit=2`).expect(200);
      expect(
        bodyOf(list, PolicyVersionListResponseSchema).versions.map((version: { version: number }) => version.version),
      ).toEqual([3, 2]);
      expect(
        bodyOf(list, PolicyVersionListResponseSchema).versions.map((version: { active: boolean }) => version.active),
      ).toEqual([true, false]);
      const rest = await editor.get(bodyOf(list, PolicyVersionListResponseSchema).next_page_uri as string).expect(200);
      expect(
        bodyOf(rest, PolicyVersionListResponseSchema).versions.map((version: { version: number }) => version.version),
      ).toEqual([1]);
      expect(bodyOf(rest, PolicyVersionListResponseSchema).next_page_uri).toBeNull();

      const one = await editor.get(`/api/endpoints/${id}/policy-versions/2`).expect(200);
      expect(bodyOf(one, PolicyVersionResponseSchema)).toMatchObject({ version: 2, active: false });
      expect(bodyOf(one, PolicyVersionResponseSchema).created_by).toMatch(/^editor-/);
      const current = await editor.get(`/api/endpoints/${id}`).expect(200);
      expect(current.body).toMatchObject({ policy_version: 3, traffic_policy: DENY_ALL_POLICY });

      const missing = await editor.get(`/api/endpoints/${id}/policy-versions/9`).expect(404);
      expect(errorOf(missing).error_code).toBe('POLICY_VERSION_NOT_FOUND');
      await editor.post(`/api/endpoints/${id}/policy-versions/9/restore`).expect(404);
      const notNumber = await editor.get(`/api/endpoints/${id}/policy-versions/abc`).expect(400);
      expect(errorOf(notNumber).error_code).toBe('VALIDATION_FAILED');

      const audit = await editor.get(`/api/audit-events?entity_id=${id}&kind=policy.restored`).expect(200);
      expect(bodyOf(audit, AuditEventListResponseSchema).audit_events).toHaveLength(1);
      expect(bodyOf(audit, AuditEventListResponseSchema).audit_events[0]?.before).toMatchObject({ version: 2 });
      expect(bodyOf(audit, AuditEventListResponseSchema).audit_events[0]?.after).toMatchObject({
        version: 3,
        restored_from: 1,
      });
    });

    it('validates every save: invalid versions are refused and never stored', async () => {
      const endpoint = await createCloud('https://a.example.com');
      const id = endpoint.id as string;
      for (const traffic_policy of [BAD_YAML_POLICY, NON_TERMINATING_POLICY, '']) {
        const response = await editor
          .post(`/api/endpoints/${id}/policy-versions`)
          .send({ traffic_policy } satisfies CreatePolicyVersionBody)
          .expect(400);
        expect(['POLICY_INVALID', 'POLICY_REQUIRED']).toContain(errorOf(response).error_code);
      }
      const versions = await testApp.db.query('SELECT version FROM policy_versions');
      expect(versions.rows).toEqual([{ version: 1 }]);
    });

    it('gives concurrent saves distinct consecutive version numbers', async () => {
      const endpoint = await createCloud('https://a.example.com');
      const id = endpoint.id as string;
      const saves = 12;
      const results = await Promise.all(
        Array.from({ length: saves }, (_, index) =>
          editor.post(`/api/endpoints/${id}/policy-versions`).send({
            traffic_policy: `${DENY_ALL_POLICY}# save ${index}\n`,
            message: `save ${index}`,
          } satisfies CreatePolicyVersionBody),
        ),
      );
      expect(results.map((result) => result.status)).toEqual(Array(saves).fill(201));
      const numbers = results
        .map((result) => bodyOf(result, PolicyVersionResponseSchema).version)
        .sort((a, b) => a - b);
      expect(numbers).toEqual(Array.from({ length: saves }, (_, index) => index + 2));
      const stored = await testApp.db.query<{ count: string; max: number }>(
        'SELECT count(*) AS count, max(version) AS max FROM policy_versions WHERE endpoint_id = $1',
        [id],
      );
      expect(stored.rows[0]).toEqual({ count: String(saves + 1), max: saves + 1 });
      const current = await editor.get(`/api/endpoints/${id}`).expect(200);
      expect(bodyOf(current, EndpointResponseSchema).policy_version).toBe(saves + 1);
    });

    it('enforces the (endpoint_id, version) uniqueness in the database itself', async () => {
      const endpoint = await createCloud('https://a.example.com');
      await expect(
        testApp.db.query(
          `INSERT INTO policy_versions (endpoint_id, version, source, sha256, created_by) VALUES ($1, 1, 'x', $2, 'test')`,
          [endpoint.id, '0'.repeat(64)],
        ),
      ).rejects.toThrow(/duplicate key/);
    });
  });
});
