// Agent sessions, the control plane's side (issue 13): data planes register agent connections and report losing them;
// the API claims the declared endpoints, pools them, sweeps sessions no data plane holds, ends a revoked token's
// sessions at once, and shows all of it read-only to people. Real Postgres and Redis throughout.
import {
  AGENT_SESSION_GRACE_MS,
  type AgentEndpointDeclaration,
  type AgentSessionRegistration,
  AgentSessionRegistrationSchema,
  ConfigChangeEventSchema,
  ConfigSnapshotSchema,
  type HeartbeatRequest,
  HeartbeatResponseSchema,
  redisNames,
} from '@gatehouse/contracts';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Agent as TestAgent } from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AgentSessionListResponseSchema, AgentSessionResponseSchema } from '../src/agent-sessions/agent-sessions.dto';
import { AgentSessionsService } from '../src/agent-sessions/agent-sessions.service';
import { CreatedAuthtokenResponseSchema } from '../src/authtokens/authtokens.dto';
import {
  EndpointListResponseSchema,
  EndpointResponseSchema,
  PolicyVersionListResponseSchema,
} from '../src/endpoints/endpoints.dto';
import { bodyOf, errorOf } from './http';
import { CUSTOM_RESPONSE_POLICY, DENY_ALL_POLICY, NON_TERMINATING_POLICY } from './policies';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';
import { TEST_DATAPLANE_TOKEN } from './test-env';

const DATAPLANE_AUTH = `Bearer ${TEST_DATAPLANE_TOKEN}`;
/** An agent endpoint's policy may fall through to the agent's upstream (validated as an internal endpoint's). */
const AGENT_POLICY = NON_TERMINATING_POLICY;

type Accepted = Extract<AgentSessionRegistration, { status: 'accepted' }>;

const sessionKey = () => randomBytes(18).toString('base64url');

function endpoint(overrides: Partial<AgentEndpointDeclaration> = {}): AgentEndpointDeclaration {
  return {
    name: 'mcp',
    url: 'https://mcp.team-a.internal',
    upstream: 'http://127.0.0.1:3333',
    upstream_protocol: 'http1',
    description: 'laptop MCP server',
    metadata: '',
    pooling_enabled: false,
    traffic_policy: null,
    ...overrides,
  };
}

describe('agent sessions', () => {
  let testApp: TestApp;
  let admin: TestAgent;
  let editor: TestAgent;
  let viewer: TestAgent;
  let service: AgentSessionsService;

  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    admin = await setupAdmin(testApp);
    editor = await loginAs(testApp, admin, 'editor');
    viewer = await loginAs(testApp, admin, 'viewer');
    service = testApp.app.get(AgentSessionsService, { strict: false });
  });
  afterAll(async () => {
    await testApp.close();
  });
  beforeEach(async () => {
    await resetState(testApp, { keepAccounts: true });
  });

  const createToken = async (urlPatterns: string[] = []) =>
    bodyOf(
      await editor.post('/api/authtokens').send({ description: 'laptop', url_patterns: urlPatterns }).expect(201),
      CreatedAuthtokenResponseSchema,
    );

  const heartbeat = (body: HeartbeatRequest) =>
    testApp.http().post('/api/dataplane/heartbeat').set('authorization', DATAPLANE_AUTH).send(body).expect(200);

  const registerRaw = (body: object) =>
    testApp.http().post('/api/dataplane/agent-sessions').set('authorization', DATAPLANE_AUTH).send(body);

  async function register(
    authtoken: string,
    endpoints: AgentEndpointDeclaration[],
    options: { key?: string; dataplane?: string } = {},
  ): Promise<AgentSessionRegistration> {
    const response = await registerRaw({
      authtoken,
      remote_address: '203.0.113.7',
      dataplane_id: options.dataplane ?? 'dp-a',
      declaration: {
        agent_version: '0.1.0',
        hostname: 'laptop-1',
        session_key: options.key ?? sessionKey(),
        endpoints,
      },
    }).expect(200);
    return bodyOf(response, AgentSessionRegistrationSchema);
  }

  async function accepted(...args: Parameters<typeof register>): Promise<Accepted> {
    const answer = await register(...args);
    if (answer.status !== 'accepted') throw new Error(`refused: ${answer.error_code} ${answer.message}`);
    return answer;
  }

  const leave = (sessionId: string, dataplane = 'dp-a') =>
    testApp
      .http()
      .post('/api/dataplane/agent-sessions/leave')
      .set('authorization', DATAPLANE_AUTH)
      .send({ session_id: sessionId, dataplane_id: dataplane, reason: 'agent-closed' })
      .expect(204);

  const getSession = async (id: string) =>
    bodyOf(await viewer.get(`/api/agent-sessions/${id}`).expect(200), AgentSessionResponseSchema);
  const getEndpoint = async (id: string) =>
    bodyOf(await viewer.get(`/api/endpoints/${id}`).expect(200), EndpointResponseSchema);
  const changesAfter = async (revision: number) =>
    (
      await testApp.db.query<{ revision: string; kind: string; entity_id: string; payload: unknown }>(
        'SELECT revision, kind, entity_id, payload FROM config_changes WHERE revision > $1 ORDER BY revision',
        [revision],
      )
    ).rows;
  const latestRevision = async () =>
    Number(
      (await testApp.db.query<{ max: string | null }>('SELECT max(revision) FROM config_changes')).rows[0]?.max ?? 0,
    );
  const audit = async (entityId: string) =>
    (
      await testApp.db.query<{ kind: string; actor_type: string; actor_id: string | null; ip: string | null }>(
        'SELECT kind, actor_type, actor_id, ip FROM audit_events WHERE entity_id = $1 ORDER BY id',
        [entityId],
      )
    ).rows;
  const outcomeOf = (answer: Accepted, name: string) => answer.endpoints.find((outcome) => outcome.name === name);

  it('registers a session: claims its endpoints, publishes them with their member, and lists the data planes', async () => {
    await heartbeat({
      id: 'dp-a',
      hostname: 'edge-1',
      version: '0.1.0',
      applied_revision: 0,
      last_error: null,
      traffic: { scheme: 'http', host: '0.0.0.0', port: 8080 },
    });
    const token = await createToken(['*.team-a.internal', 'mcp.example.com']);
    const before = await latestRevision();
    const answer = await accepted(token.secret, [
      endpoint({ traffic_policy: AGENT_POLICY }),
      endpoint({ name: 'public', url: 'HTTPS://MCP.example.com', upstream: 'http://127.0.0.1:4444' }),
    ]);
    expect(answer.session_id).toMatch(/^as_[0-9a-z]{26}$/);
    expect(answer.dataplanes).toEqual([{ id: 'dp-a', url: 'http://edge-1:8080' }]);
    expect(answer.endpoints.map(({ name, url, status, error }) => ({ name, url, status, error }))).toEqual([
      { name: 'mcp', url: 'https://mcp.team-a.internal', status: 'online', error: null },
      { name: 'public', url: 'https://mcp.example.com', status: 'online', error: null },
    ]);
    const internalId = outcomeOf(answer, 'mcp')!.endpoint_id!;

    const shown = await getEndpoint(internalId);
    expect(shown).toMatchObject({
      type: 'agent',
      url: 'https://mcp.team-a.internal',
      upstream_url: null,
      description: 'laptop MCP server',
      traffic_policy: AGENT_POLICY,
      policy_version: 1,
    });
    expect(shown.agent).toMatchObject({
      pooling_enabled: false,
      online_members: 1,
      members: [
        {
          session_id: answer.session_id,
          agent_version: '0.1.0',
          hostname: 'laptop-1',
          remote_address: '203.0.113.7',
          online: true,
          dataplanes: [{ id: 'dp-a' }],
          upstream: 'http://127.0.0.1:3333',
          upstream_protocol: 'http1',
        },
      ],
    });
    const versions = bodyOf(
      await viewer.get(`/api/endpoints/${internalId}/policy-versions`).expect(200),
      PolicyVersionListResponseSchema,
    ).versions;
    expect(versions).toMatchObject([
      { version: 1, created_by: null, message: `declared by agent session ${answer.session_id}`, active: true },
    ]);

    const listed = bodyOf(await viewer.get('/api/endpoints?type=agent').expect(200), EndpointListResponseSchema);
    expect(listed.endpoints.map((row) => row.url).sort()).toEqual([
      'https://mcp.example.com',
      'https://mcp.team-a.internal',
    ]);
    expect(
      bodyOf(await viewer.get('/api/endpoints?type=cloud').expect(200), EndpointListResponseSchema).endpoints,
    ).toEqual([]);

    // Data planes learn of them like any change: outbox rows, and the snapshot, carry the members.
    const changes = await changesAfter(before);
    expect(changes.map((change) => change.kind)).toEqual(['endpoint.upserted', 'endpoint.upserted']);
    const snapshot = bodyOf(
      await testApp.http().get('/api/dataplane/config').set('authorization', DATAPLANE_AUTH).expect(200),
      ConfigSnapshotSchema,
    );
    const synced = snapshot.endpoints.find((row) => row.id === internalId);
    expect(synced).toMatchObject({
      type: 'agent',
      host: 'mcp.team-a.internal',
      agent: {
        pooling_enabled: false,
        members: [{ session_id: answer.session_id, upstream: 'http://127.0.0.1:3333' }],
      },
      policy: { version: 1, source: AGENT_POLICY },
    });

    // Audit: the session started and the endpoints appeared, by the authtoken, from the agent's address.
    expect(await audit(answer.session_id)).toEqual([
      { kind: 'agent_session.started', actor_type: 'authtoken', actor_id: token.id, ip: '203.0.113.7' },
    ]);
    expect((await audit(internalId)).map((row) => [row.kind, row.actor_type])).toEqual([
      ['agent_endpoint.created', 'authtoken'],
    ]);
    const listedEvents = (await viewer.get(`/api/audit-events?entity_id=${answer.session_id}`).expect(200)).body as {
      audit_events: { kind: string; entity_label: string | null; actor: { type: string; name: string } }[];
    };
    expect(listedEvents.audit_events).toMatchObject([
      { kind: 'agent_session.started', entity_label: 'agent on laptop-1', actor: { type: 'authtoken' } },
    ]);
    expect(listedEvents.audit_events[0]!.actor.name).toBe(`${token.prefix}… (laptop)`);
    const used = await testApp.db.query<{ last_used_at: Date | null }>(
      'SELECT last_used_at FROM authtokens WHERE id = $1',
      [token.id],
    );
    expect(used.rows[0]?.last_used_at).not.toBeNull();
  });

  it('treats connections carrying one session_key as one session, held by each data plane', async () => {
    const token = await createToken();
    const key = sessionKey();
    const first = await accepted(token.secret, [endpoint()], { key, dataplane: 'dp-a' });
    const revision = await latestRevision();
    const second = await accepted(token.secret, [endpoint()], { key, dataplane: 'dp-b' });
    expect(second.session_id).toBe(first.session_id);
    expect(outcomeOf(second, 'mcp')).toMatchObject({
      status: 'online',
      endpoint_id: outcomeOf(first, 'mcp')!.endpoint_id,
    });
    expect(await changesAfter(revision)).toEqual([]);
    const session = await getSession(first.session_id);
    expect(session.status).toBe('online');
    expect(session.dataplanes.map((row) => row.id).sort()).toEqual(['dp-a', 'dp-b']);
    expect(session.endpoints.map((row) => row.url)).toEqual(['https://mcp.team-a.internal']);
    expect((await audit(first.session_id)).map((row) => row.kind)).toEqual(['agent_session.started']);
  });

  it('refuses unknown and revoked authtokens, and a session_key of another token', async () => {
    const unknown = await register(`gat_00000000_${'x'.repeat(43)}`, [endpoint()]);
    expect(unknown).toMatchObject({ status: 'refused', error_code: 'AUTHTOKEN_INVALID' });
    if (unknown.status === 'refused') expect(unknown.message).toMatch(/not known/);

    const token = await createToken();
    await editor.delete(`/api/authtokens/${token.id}`).expect(204);
    const revoked = await register(token.secret, [endpoint()]);
    expect(revoked).toMatchObject({ status: 'refused', error_code: 'AUTHTOKEN_REVOKED' });
    if (revoked.status === 'refused') expect(revoked.message).toContain(`${token.prefix}… was revoked`);

    const mine = await createToken();
    const theirs = await createToken();
    const key = sessionKey();
    await accepted(mine.secret, [endpoint()], { key });
    expect(await register(theirs.secret, [endpoint({ url: 'https://other.internal' })], { key })).toMatchObject({
      status: 'refused',
      error_code: 'AGENT_DECLARATION_INVALID',
    });
    expect(await register(mine.secret, [endpoint(), endpoint({ url: 'https://two.internal' })])).toMatchObject({
      status: 'refused',
      error_code: 'AGENT_DECLARATION_INVALID',
    });
    expect((await testApp.db.query('SELECT id FROM agent_sessions')).rowCount).toBe(1);
    expect((await testApp.db.query('SELECT id FROM endpoints')).rowCount).toBe(1);
  });

  it('refuses a bad endpoint alone: the agent keeps the others', async () => {
    await editor
      .post('/api/endpoints')
      .send({ url: 'https://taken.example.com', type: 'cloud', traffic_policy: DENY_ALL_POLICY })
      .expect(201);
    const token = await createToken(['*.team-a.internal', 'taken.example.com', '*.example.com']);
    const answer = await accepted(token.secret, [
      endpoint(),
      endpoint({ name: 'outside', url: 'https://mcp.team-b.internal' }),
      endpoint({ name: 'ip', url: 'https://10.0.0.1' }),
      endpoint({ name: 'path', url: 'https://api.example.com/v1' }),
      endpoint({ name: 'wildcard', url: 'https://*.example.com' }),
      endpoint({ name: 'policy', url: 'https://policy.team-a.internal', traffic_policy: 'on_http_request: [' }),
      endpoint({ name: 'cloud-owned', url: 'https://taken.example.com' }),
      endpoint({ name: 'twice', url: 'https://MCP.team-a.internal' }),
    ]);
    const codes = Object.fromEntries(
      answer.endpoints.map((outcome) => [outcome.name, outcome.error?.error_code ?? null]),
    );
    expect(codes).toEqual({
      mcp: null,
      outside: 'AUTHTOKEN_URL_NOT_ALLOWED',
      ip: 'ENDPOINT_URL_INVALID',
      path: 'ENDPOINT_URL_INVALID',
      wildcard: 'ENDPOINT_URL_INVALID',
      policy: 'POLICY_INVALID',
      'cloud-owned': 'ENDPOINT_URL_TAKEN',
      twice: 'ENDPOINT_URL_INVALID',
    });
    expect(outcomeOf(answer, 'outside')!.error!.message).toContain('*.team-a.internal');
    expect(outcomeOf(answer, 'ip')!.error!.message).toMatch(/IP address/);
    expect(outcomeOf(answer, 'policy')!.error!.details.length).toBeGreaterThan(0);
    expect(outcomeOf(answer, 'policy')!.error!.details[0]).toHaveProperty('line');
    expect(outcomeOf(answer, 'cloud-owned')!.error!.message).toMatch(/taken by a cloud endpoint/);
    expect(outcomeOf(answer, 'twice')!.error!.message).toMatch(/declared twice/);
    const agentEndpoints = await testApp.db.query<{ url: string }>("SELECT url FROM endpoints WHERE type = 'agent'");
    expect(agentEndpoints.rows).toEqual([{ url: 'https://mcp.team-a.internal' }]);
  });

  it('accepts on_tcp_connect on a public agent URL, as ngrok does, and refuses it on a .internal one', async () => {
    const token = await createToken(['*.team-a.internal', '*.example.com']);
    const connectPolicy =
      'on_tcp_connect:\n  - expressions: ["conn.client_ip == \'192.0.2.1\'"]\n    actions: [{ type: deny }]\n';
    const answer = await accepted(token.secret, [
      endpoint({ name: 'public', url: 'https://connect.example.com', traffic_policy: connectPolicy }),
      endpoint({ name: 'internal', url: 'https://connect.team-a.internal', traffic_policy: connectPolicy }),
    ]);
    expect(outcomeOf(answer, 'public')!.error).toBeNull();
    expect(outcomeOf(answer, 'internal')!.error!.error_code).toBe('POLICY_INVALID');
    expect(outcomeOf(answer, 'internal')!.error!.details[0]).toMatchObject({ code: 'POLICY_PHASE_NOT_ALLOWED' });
  });

  it('refuses malformed registrations and callers without the data-plane token', async () => {
    const token = await createToken();
    const invalid = await registerRaw({ authtoken: token.secret, declaration: { endpoints: [] } }).expect(400);
    expect(errorOf(invalid).error_code).toBe('VALIDATION_FAILED');
    const anonymous = await testApp.http().post('/api/dataplane/agent-sessions').send({}).expect(401);
    expect(errorOf(anonymous).error_code).toBe('UNAUTHENTICATED');
    // A person's session is not a data plane.
    expect((await editor.post('/api/dataplane/agent-sessions/leave').send({})).status).toBe(401);
  });

  it('pools sessions that both opt in and agree on the policy; refuses the rest with the reason', async () => {
    const token = await createToken();
    const pooled = endpoint({ pooling_enabled: true, traffic_policy: AGENT_POLICY });
    const first = await accepted(token.secret, [pooled]);
    const second = await accepted(token.secret, [pooled]);
    const endpointId = outcomeOf(first, 'mcp')!.endpoint_id!;
    expect(outcomeOf(second, 'mcp')).toMatchObject({ status: 'online', endpoint_id: endpointId });
    const shown = await getEndpoint(endpointId);
    expect(shown.agent?.pooling_enabled).toBe(true);
    expect(shown.agent?.members.map((member) => member.session_id)).toEqual([first.session_id, second.session_id]);

    const notPooled = await accepted(token.secret, [endpoint({ traffic_policy: AGENT_POLICY })]);
    expect(outcomeOf(notPooled, 'mcp')!.error?.error_code).toBe('POOLING_MISMATCH');
    const otherPolicy = await accepted(token.secret, [
      endpoint({ pooling_enabled: true, traffic_policy: CUSTOM_RESPONSE_POLICY }),
    ]);
    expect(outcomeOf(otherPolicy, 'mcp')!.error?.error_code).toBe('POLICY_CONFLICT');
    const noPolicy = await accepted(token.secret, [endpoint({ pooling_enabled: true })]);
    expect(outcomeOf(noPolicy, 'mcp')!.error?.error_code).toBe('POLICY_CONFLICT');
    expect((await getEndpoint(endpointId)).policy_version).toBe(1);

    // A URL held without pooling stays with its session, pooled or not.
    const solo = await accepted(token.secret, [endpoint({ url: 'https://solo.internal' })]);
    for (const pooling of [false, true]) {
      const late = await accepted(token.secret, [endpoint({ url: 'https://solo.internal', pooling_enabled: pooling })]);
      expect(outcomeOf(late, 'mcp')!.error).toMatchObject({ error_code: 'ENDPOINT_URL_TAKEN' });
      expect(outcomeOf(late, 'mcp')!.error!.message).toContain(solo.session_id);
    }
  });

  it('gives a URL to exactly one of many sessions racing for it', async () => {
    const token = await createToken();
    const answers = await Promise.all(Array.from({ length: 8 }, () => accepted(token.secret, [endpoint()])));
    const online = answers.filter((answer) => outcomeOf(answer, 'mcp')!.status === 'online');
    expect(online).toHaveLength(1);
    expect(
      answers.filter((answer) => outcomeOf(answer, 'mcp')!.error?.error_code === 'ENDPOINT_URL_TAKEN'),
    ).toHaveLength(7);
    expect((await testApp.db.query('SELECT id FROM endpoints')).rowCount).toBe(1);
    expect((await testApp.db.query('SELECT session_id FROM agent_endpoint_members')).rows).toEqual([
      { session_id: online[0]!.session_id },
    ]);

    // Racing pool members all join the one endpoint.
    const pooled = endpoint({ url: 'https://pool.internal', pooling_enabled: true });
    const joined = await Promise.all(Array.from({ length: 8 }, () => accepted(token.secret, [pooled])));
    const ids = new Set(joined.map((answer) => outcomeOf(answer, 'mcp')!.endpoint_id));
    expect(ids.size).toBe(1);
    const members = await testApp.db.query('SELECT session_id FROM agent_endpoint_members WHERE endpoint_id = $1', [
      [...ids][0],
    ]);
    expect(members.rowCount).toBe(8);
  });

  it('ends a session no data plane holds once the grace period passes, and removes what it served', async () => {
    const token = await createToken();
    const pooled = endpoint({ name: 'pool', url: 'https://pool.internal', pooling_enabled: true });
    const staying = await accepted(token.secret, [pooled]);
    const leaving = await accepted(token.secret, [endpoint(), pooled]);
    const soloId = outcomeOf(leaving, 'mcp')!.endpoint_id!;
    const poolId = outcomeOf(leaving, 'pool')!.endpoint_id!;

    await leave(leaving.session_id);
    expect((await getSession(leaving.session_id)).status).toBe('detached');
    // Within the grace period nothing ends, and the endpoints stay (the agent may reconnect to another data plane).
    expect(await service.sweep(new Date(Date.now() + AGENT_SESSION_GRACE_MS / 2))).toEqual([]);
    await getEndpoint(soloId);

    const revision = await latestRevision();
    expect(await service.sweep(new Date(Date.now() + AGENT_SESSION_GRACE_MS + 1_000))).toEqual([leaving.session_id]);
    const ended = await getSession(leaving.session_id);
    expect(ended).toMatchObject({ status: 'ended', end_reason: 'no-dataplane', endpoints: [], dataplanes: [] });
    expect(errorOf(await viewer.get(`/api/endpoints/${soloId}`).expect(404)).error_code).toBe('ENDPOINT_NOT_FOUND');
    expect((await getEndpoint(poolId)).agent?.members.map((member) => member.session_id)).toEqual([staying.session_id]);
    const changes = await changesAfter(revision);
    expect(changes.map((change) => [change.kind, change.entity_id]).sort()).toEqual(
      [
        ['endpoint.deleted', soloId],
        ['endpoint.upserted', poolId],
        ['agent_session.ended', leaving.session_id],
      ].sort(),
    );
    expect((await audit(leaving.session_id)).map((row) => [row.kind, row.actor_type])).toEqual([
      ['agent_session.started', 'authtoken'],
      ['agent_session.ended', 'authtoken'],
    ]);
    expect((await audit(soloId)).map((row) => row.kind)).toEqual(['agent_endpoint.created', 'agent_endpoint.removed']);
    // Its key is free again: the same agent process reconnecting starts a new session.
    const again = await accepted(token.secret, [endpoint()], {
      key: (
        await testApp.db.query<{ session_key: string }>('SELECT session_key FROM agent_sessions WHERE id = $1', [
          leaving.session_id,
        ])
      ).rows[0]!.session_key,
    });
    expect(again.session_id).not.toBe(leaving.session_id);
  });

  it('keeps a session that reconnects within the grace period', async () => {
    const token = await createToken();
    const key = sessionKey();
    const first = await accepted(token.secret, [endpoint()], { key });
    await leave(first.session_id);
    const back = await accepted(token.secret, [endpoint()], { key, dataplane: 'dp-b' });
    expect(back.session_id).toBe(first.session_id);
    expect(await service.sweep(new Date(Date.now() + AGENT_SESSION_GRACE_MS + 1_000))).toEqual([]);
    expect((await getSession(first.session_id)).status).toBe('online');
    // Leaving twice, or leaving a session that does not exist, is harmless.
    await leave(first.session_id, 'dp-a');
    await leave('as_unknown');
  });

  it('gives a restarted agent its URL at once; an offline session of another token keeps it', async () => {
    const token = await createToken();
    const before = await accepted(token.secret, [endpoint()]);
    const oldEndpointId = outcomeOf(before, 'mcp')!.endpoint_id!;
    // Still held: a second agent process with the same token is a second agent, refused.
    const second = await accepted(token.secret, [endpoint()]);
    expect(outcomeOf(second, 'mcp')).toMatchObject({ status: 'refused', error: { error_code: 'ENDPOINT_URL_TAKEN' } });

    // The first agent is killed (its data plane leaves) and starts again: a new process, a new session_key.
    await leave(before.session_id);
    const restarted = await accepted(token.secret, [endpoint()]);
    expect(outcomeOf(restarted, 'mcp')).toMatchObject({ status: 'online', error: null });
    const old = await getSession(before.session_id);
    expect(old).toMatchObject({ status: 'ended', end_reason: 'replaced' });
    const now = await getEndpoint(outcomeOf(restarted, 'mcp')!.endpoint_id!);
    expect(now.agent?.members.map((member) => member.session_id)).toEqual([restarted.session_id]);
    expect(now.id).not.toBe(oldEndpointId);

    // Another token's agent may not take a URL over just because its holder is briefly offline.
    const other = await createToken();
    await leave(restarted.session_id);
    const intruder = await accepted(other.secret, [endpoint()]);
    expect(outcomeOf(intruder, 'mcp')).toMatchObject({
      status: 'refused',
      error: { error_code: 'ENDPOINT_URL_TAKEN' },
    });
    expect((await getSession(restarted.session_id)).status).toBe('detached');
  });

  it('refreshes holds from heartbeats and expires a data plane that stops heartbeating', async () => {
    const token = await createToken();
    const answer = await accepted(token.secret, [endpoint()]);
    const beat = (sessions: string[]) =>
      heartbeat({
        id: 'dp-a',
        hostname: 'edge-1',
        version: '0.1.0',
        applied_revision: 0,
        last_error: null,
        traffic: { scheme: 'https', host: '10.0.0.1', port: 8443, public_url: 'https://gw-a.example.com' },
        agent_sessions: sessions,
      });
    const response = bodyOf(await beat([answer.session_id]), HeartbeatResponseSchema);
    expect(response.agent_dataplanes).toEqual([{ id: 'dp-a', url: 'https://gw-a.example.com' }]);
    // Only data planes heard from in the last minute are offered to agents.
    await heartbeat({
      id: 'dp-stale',
      hostname: 'edge-9',
      version: '0.1.0',
      applied_revision: 0,
      last_error: null,
      traffic: { scheme: 'http', host: 'edge-9.lan', port: 8080 },
    });
    await testApp.db.query(
      "UPDATE dataplanes SET last_heartbeat_at = now() - interval '61 seconds' WHERE id = 'dp-stale'",
    );
    expect(bodyOf(await beat([answer.session_id]), HeartbeatResponseSchema).agent_dataplanes).toEqual([
      { id: 'dp-a', url: 'https://gw-a.example.com' },
    ]);
    // A heartbeat listing many sessions (most unknown) is one statement per step, not one parameter per id.
    await beat([answer.session_id, ...Array.from({ length: 40_000 }, (_, index) => `as_unknown_${index}`)]);
    expect((await getSession(answer.session_id)).status).toBe('online');

    // 30 s later a heartbeat still lists it: the hold is confirmed, the session stays.
    await testApp.db.query("UPDATE agent_session_dataplanes SET last_seen_at = now() - interval '30 seconds'");
    await beat([answer.session_id]);
    expect(await service.sweep(new Date(Date.now() + 20_000))).toEqual([]);
    expect((await getSession(answer.session_id)).status).toBe('online');

    // Silence for more than 45 s: the hold expires, the grace period starts, then the session ends.
    expect(await service.sweep(new Date(Date.now() + 46_000))).toEqual([]);
    expect((await getSession(answer.session_id)).status).toBe('detached');
    expect(await service.sweep(new Date(Date.now() + 46_000 + AGENT_SESSION_GRACE_MS + 1_000))).toEqual([
      answer.session_id,
    ]);
  });

  it('drops a hold a heartbeat no longer lists, but not one registered moments ago', async () => {
    const token = await createToken();
    const answer = await accepted(token.secret, [endpoint()]);
    const beat = (sessions: string[]) =>
      heartbeat({
        id: 'dp-a',
        hostname: 'edge-1',
        version: '0.1.0',
        applied_revision: 0,
        last_error: null,
        agent_sessions: sessions,
      });
    await beat([]);
    expect((await getSession(answer.session_id)).status).toBe('online');
    await testApp.db.query("UPDATE agent_session_dataplanes SET last_seen_at = now() - interval '20 seconds'");
    await beat([]);
    expect((await getSession(answer.session_id)).status).toBe('detached');
    // A heartbeat without the field (an older data plane) touches nothing.
    const other = await accepted(token.secret, [endpoint({ url: 'https://other.internal' })], { dataplane: 'dp-old' });
    await testApp.db.query("UPDATE agent_session_dataplanes SET last_seen_at = now() - interval '20 seconds'");
    await heartbeat({ id: 'dp-old', hostname: 'old', version: '0.0.9', applied_revision: 0, last_error: null });
    expect((await getSession(other.session_id)).status).toBe('online');
  });

  it('ends the sessions of a revoked authtoken at once, publishes it, and refuses it afterwards', async () => {
    const token = await createToken();
    const other = await createToken();
    const first = await accepted(token.secret, [endpoint()]);
    const second = await accepted(token.secret, [endpoint({ url: 'https://two.internal' })], { dataplane: 'dp-b' });
    const survivor = await accepted(other.secret, [endpoint({ url: 'https://three.internal' })]);
    const subscriber = new Redis(testApp.env.REDIS_URL!);
    const published: { kind: string; entity_id: string }[] = [];
    subscriber.on('message', (_channel: string, text: string) => {
      published.push(ConfigChangeEventSchema.parse(JSON.parse(text)));
    });
    await subscriber.subscribe(redisNames(testApp.env.GATEHOUSE_REDIS_PREFIX).configChannel);
    try {
      await editor.delete(`/api/authtokens/${token.id}`).expect(204);
      // Published before the DELETE answered: data planes close the connections right away.
      const ended = published.filter((event) => event.kind === 'agent_session.ended').map((event) => event.entity_id);
      expect(ended.sort()).toEqual([first.session_id, second.session_id].sort());
      expect(published.filter((event) => event.kind === 'endpoint.deleted')).toHaveLength(2);
    } finally {
      subscriber.disconnect();
    }
    for (const id of [first.session_id, second.session_id]) {
      expect(await getSession(id)).toMatchObject({ status: 'ended', end_reason: 'authtoken-revoked' });
      const events = await audit(id);
      expect(events.at(-1)).toMatchObject({ kind: 'agent_session.ended', actor_type: 'user' });
    }
    expect((await getSession(survivor.session_id)).status).toBe('online');
    const urls = await testApp.db.query<{ url: string }>('SELECT url FROM endpoints ORDER BY url');
    expect(urls.rows).toEqual([{ url: 'https://three.internal' }]);
    expect(await register(token.secret, [endpoint()])).toMatchObject({
      status: 'refused',
      error_code: 'AUTHTOKEN_REVOKED',
    });
    // A data plane that missed the agent_session.ended change (it caught up by snapshot) still lists the sessions:
    // its heartbeat answer names those that are not live, so it closes them then.
    const answer = await heartbeat({
      id: 'dp-a',
      hostname: 'dp-a.local',
      version: '0.1.0',
      applied_revision: 0,
      agent_sessions: [first.session_id, survivor.session_id, 'as_never_known'],
    });
    expect(HeartbeatResponseSchema.parse(answer.body).ended_agent_sessions.sort()).toEqual(
      [first.session_id, 'as_never_known'].sort(),
    );
  });

  it('keeps agent endpoints read-only for people, and agent a type only sessions create', async () => {
    const token = await createToken();
    const answer = await accepted(token.secret, [endpoint({ traffic_policy: AGENT_POLICY })]);
    const id = outcomeOf(answer, 'mcp')!.endpoint_id!;
    const refusals = [
      await editor.patch(`/api/endpoints/${id}`).send({ description: 'mine now' }),
      await editor.delete(`/api/endpoints/${id}`),
      await editor.post(`/api/endpoints/${id}/policy-versions`).send({ traffic_policy: DENY_ALL_POLICY }),
      await editor.post(`/api/endpoints/${id}/policy-versions/1/restore`).send({}),
    ];
    for (const refused of refusals) {
      expect(refused.status).toBe(409);
      expect(errorOf(refused).error_code).toBe('ENDPOINT_OWNED_BY_AGENT');
      expect(errorOf(refused).message).toContain(`declared by agent session ${answer.session_id}`);
      expect(errorOf(refused).message).toContain("change the agent's config");
    }
    expect(await getEndpoint(id)).toMatchObject({ description: 'laptop MCP server', policy_version: 1 });
    const created = await editor
      .post('/api/endpoints')
      .send({ url: 'https://x.internal', type: 'agent', upstream_url: 'http://127.0.0.1:1' });
    expect(created.status).toBe(400);
    expect(errorOf(created).error_code).toBe('VALIDATION_FAILED');
    // The URL an agent holds is taken for people too.
    const clash = await editor
      .post('/api/endpoints')
      .send({ url: 'https://mcp.team-a.internal', type: 'internal', upstream_url: 'http://127.0.0.1:1' });
    expect(errorOf(clash).error_code).toBe('ENDPOINT_URL_TAKEN');
  });

  it('lists sessions with filters and pages, and gets one', async () => {
    const token = await createToken();
    const other = await createToken();
    const a = await accepted(token.secret, [endpoint()]);
    const b = await accepted(token.secret, [endpoint({ url: 'https://b.internal' })]);
    const c = await accepted(other.secret, [endpoint({ url: 'https://c.internal' })]);
    await leave(a.session_id);
    await service.sweep(new Date(Date.now() + AGENT_SESSION_GRACE_MS + 1_000));

    const list = async (query: string) =>
      bodyOf(await viewer.get(`/api/agent-sessions${query}`).expect(200), AgentSessionListResponseSchema);
    expect((await list('')).agent_sessions.map((row) => row.id)).toEqual([c.session_id, b.session_id, a.session_id]);
    expect((await list('?live=true')).agent_sessions.map((row) => row.id)).toEqual([c.session_id, b.session_id]);
    expect((await list('?live=false')).agent_sessions.map((row) => row.id)).toEqual([a.session_id]);
    expect((await list(`?authtoken_id=${other.id}`)).agent_sessions.map((row) => row.id)).toEqual([c.session_id]);
    const page = await list('?limit=2');
    expect(page.agent_sessions).toHaveLength(2);
    expect(page.next_page_uri).toBe(`/api/agent-sessions?limit=2&before_id=${b.session_id}`);
    expect(
      (await list(page.next_page_uri!.replace('/api/agent-sessions', ''))).agent_sessions.map((row) => row.id),
    ).toEqual([a.session_id]);

    const one = await getSession(b.session_id);
    expect(one).toMatchObject({
      id: b.session_id,
      uri: `/api/agent-sessions/${b.session_id}`,
      authtoken_id: token.id,
      agent_version: '0.1.0',
      hostname: 'laptop-1',
      remote_address: '203.0.113.7',
      status: 'online',
      ended_at: null,
      end_reason: null,
      endpoints: [{ url: 'https://b.internal', upstream: 'http://127.0.0.1:3333', pooling_enabled: false }],
    });
    const missing = await viewer.get('/api/agent-sessions/as_missing').expect(404);
    expect(errorOf(missing).error_code).toBe('AGENT_SESSION_NOT_FOUND');
    expect(errorOf(await viewer.get('/api/agent-sessions?live=maybe').expect(400)).error_code).toBe(
      'VALIDATION_FAILED',
    );
    expect(errorOf(await testApp.http().get('/api/agent-sessions').expect(401)).error_code).toBe('UNAUTHENTICATED');
  });
});
