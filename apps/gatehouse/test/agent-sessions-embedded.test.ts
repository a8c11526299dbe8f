// Agent sessions on the embedded shape's own storage (PGlite) and in-process bus: the control plane's registration,
// heartbeat, leave and revocation paths (row locks, array parameters, the outbox) run there as on Postgres.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, parseEnv } from '@gatehouse/api/control-plane';
import { createLogger as createDataplaneLogger, parseDataplaneEnv } from '@gatehouse/dataplane';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedGatehouse, startEmbeddedGatehouse } from '../src/embedded-gatehouse.js';

const ADMIN = { email: 'admin@example.com', password: 'correct-horse-battery-staple' };
const DATAPLANE_TOKEN = randomBytes(24).toString('base64url');

describe('embedded shape: agent sessions', () => {
  let dataDirectory: string;
  let gatehouse: EmbeddedGatehouse;
  let admin: ReturnType<typeof request.agent>;
  const api = () => `http://127.0.0.1:${gatehouse.apiPort}`;
  const asDataplane = (path: string, body: object) =>
    request(api()).post(path).set('authorization', `Bearer ${DATAPLANE_TOKEN}`).send(body);

  beforeAll(async () => {
    dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-embedded-agents-'));
    const env = parseEnv({
      API_PORT: '0',
      GATEHOUSE_ADMIN_EMAIL: ADMIN.email,
      GATEHOUSE_ADMIN_PASSWORD: ADMIN.password,
      GATEHOUSE_DATAPLANE_TOKEN: DATAPLANE_TOKEN,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    });
    gatehouse = await startEmbeddedGatehouse({
      env,
      dataplaneEnv: parseDataplaneEnv({
        DATAPLANE_PORT: '0',
        DATAPLANE_ADMIN_PORT: '0',
        DATAPLANE_HOST: '127.0.0.1',
        GATEHOUSE_DATA_DIR: dataDirectory,
        GATEHOUSE_DATAPLANE_TOKEN: DATAPLANE_TOKEN,
      }),
      logger: createLogger(env.LOG_LEVEL),
      dataplaneLogger: createDataplaneLogger(env.LOG_LEVEL),
    });
    admin = request.agent(api());
    await admin.post('/api/auth/login').send(ADMIN).expect(200);
  }, 60_000);

  afterAll(async () => {
    await gatehouse?.stop();
    await rm(dataDirectory, { recursive: true, force: true });
  });

  it('registers, refreshes, leaves and ends a session on PGlite', async () => {
    const token = (await admin.post('/api/authtokens').send({ description: 'laptop' }).expect(201)).body as {
      id: string;
      secret: string;
    };
    const register = () =>
      asDataplane('/api/dataplane/agent-sessions', {
        authtoken: token.secret,
        remote_address: '127.0.0.1',
        dataplane_id: 'embedded-test',
        declaration: {
          agent_version: '0.1.0',
          hostname: 'laptop',
          session_key: randomBytes(18).toString('base64url'),
          endpoints: [{ name: 'mcp', url: 'https://mcp.embedded.internal', upstream: 'http://127.0.0.1:3333' }],
        },
      }).expect(200);
    const accepted = (await register()).body as { status: string; session_id: string; endpoints: { status: string }[] };
    expect(accepted.status).toBe('accepted');
    expect(accepted.endpoints.map((outcome) => outcome.status)).toEqual(['online']);
    const listed = await admin.get('/api/endpoints?type=agent').expect(200);
    expect((listed.body as { endpoints: { url: string }[] }).endpoints.map((row) => row.url)).toEqual([
      'https://mcp.embedded.internal',
    ]);

    await asDataplane('/api/dataplane/heartbeat', {
      id: 'embedded-test',
      hostname: 'embedded',
      version: '0.1.0',
      applied_revision: 0,
      agent_sessions: [accepted.session_id],
    }).expect(200);
    await asDataplane('/api/dataplane/agent-sessions/leave', {
      session_id: accepted.session_id,
      dataplane_id: 'embedded-test',
      reason: 'agent-closed',
    }).expect(204);
    const detached = await admin.get(`/api/agent-sessions/${accepted.session_id}`).expect(200);
    expect((detached.body as { status: string }).status).toBe('detached');

    await admin.delete(`/api/authtokens/${token.id}`).expect(204);
    const ended = await admin.get(`/api/agent-sessions/${accepted.session_id}`).expect(200);
    expect(ended.body).toMatchObject({ status: 'ended', end_reason: 'authtoken-revoked' });
    expect((await admin.get('/api/endpoints?type=agent').expect(200)).body).toMatchObject({ endpoints: [] });
    expect((await register()).body).toMatchObject({ status: 'refused', error_code: 'AUTHTOKEN_REVOKED' });
  });
});
