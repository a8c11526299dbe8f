// The embedded shape's AgentSessionApi (issue 13): a data plane in the control plane's process registers and leaves
// agent sessions through `createAgentSessionApi()`, the same service the HTTP routes call, held to the same contract.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentSessionRegisterRequest } from '@gatehouse/contracts';
import { sha256Hex } from '../src/auth/secrets';
import { type ControlPlane, createControlPlane, createLogger, parseEnv } from '../src/control-plane';
import { TEST_DATABASE_URL, TEST_DATAPLANE_TOKEN, TEST_REDIS_URL } from './test-env';

describe('control plane: createAgentSessionApi', () => {
  let controlPlane: ControlPlane;
  let db: pg.Client;
  const secret = `gat_0badc0de_${randomBytes(32).toString('base64url')}`;

  beforeAll(async () => {
    const env = parseEnv({
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL: TEST_REDIS_URL,
      GATEHOUSE_DATAPLANE_TOKEN: TEST_DATAPLANE_TOKEN,
      LOG_LEVEL: 'silent',
    });
    controlPlane = await createControlPlane(env, { logger: createLogger('silent') });
    db = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    await db.query(
      'TRUNCATE agent_endpoint_members, agent_session_dataplanes, agent_sessions, authtokens, endpoints CASCADE',
    );
    await db.query(
      "INSERT INTO authtokens (id, prefix, secret_hash, url_patterns) VALUES ('atk_embedded', 'gat_0badc0de', $1, '{}')",
      [sha256Hex(secret)],
    );
  });
  afterAll(async () => {
    await db.end();
    await controlPlane.close();
  });

  const request = (overrides: Partial<AgentSessionRegisterRequest> = {}): AgentSessionRegisterRequest => ({
    authtoken: secret,
    remote_address: '127.0.0.1',
    dataplane_id: 'embedded',
    declaration: {
      agent_version: '0.1.0',
      hostname: 'laptop',
      session_key: randomBytes(18).toString('base64url'),
      endpoints: [
        {
          name: 'mcp',
          url: 'https://mcp.embedded.internal',
          upstream: 'http://127.0.0.1:3333',
          upstream_protocol: 'http1',
          description: '',
          metadata: '',
          pooling_enabled: false,
          traffic_policy: null,
        },
      ],
    },
    ...overrides,
  });

  it('registers, then leaves, through the control plane service', async () => {
    const api = controlPlane.createAgentSessionApi();
    const answer = await api.registerAgentSession(request());
    expect(answer).toMatchObject({ status: 'accepted', endpoints: [{ name: 'mcp', status: 'online' }] });
    if (answer.status !== 'accepted') return;
    const held = await db.query('SELECT dataplane_id FROM agent_session_dataplanes WHERE session_id = $1', [
      answer.session_id,
    ]);
    expect(held.rows).toEqual([{ dataplane_id: 'embedded' }]);

    await api.leaveAgentSession({ session_id: answer.session_id, dataplane_id: 'embedded', reason: 'agent-closed' });
    const session = await db.query<{ detached_at: Date | null }>(
      'SELECT detached_at FROM agent_sessions WHERE id = $1',
      [answer.session_id],
    );
    expect(session.rows[0]?.detached_at).not.toBeNull();
  });

  it('holds the in-process caller to the contract too', async () => {
    const api = controlPlane.createAgentSessionApi();
    const base = request();
    const invalid = await api.registerAgentSession({
      ...base,
      declaration: { ...base.declaration, endpoints: [] },
    });
    expect(invalid).toMatchObject({ status: 'refused', error_code: 'AGENT_DECLARATION_INVALID' });
    if (invalid.status === 'refused') expect(invalid.message).toContain('declaration.endpoints');
    expect(await api.registerAgentSession({ ...base, authtoken: 'gat_nope' })).toMatchObject({
      status: 'refused',
      error_code: 'AUTHTOKEN_INVALID',
    });
  });
});
