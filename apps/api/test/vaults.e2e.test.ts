import { deriveDataplaneSecretsKey, openFromControlPlane } from '@gatehouse/runtime';
import { ConfigChangesResponseSchema, ConfigSnapshotSchema } from '@gatehouse/contracts';
import type { Agent } from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';
import { TEST_DATAPLANE_TOKEN } from './test-env';
import { errorOf } from './http';

const DATAPLANE_AUTH = `Bearer ${TEST_DATAPLANE_TOKEN}`;
const VALUE = 'correct-horse-battery-staple-42';

const authPolicy = (secret = 'alice') => `on_http_request:
  - actions:
      - type: basic-auth
        config:
          credentials: ["alice:\${secrets.get('auth', '${secret}')}"]
`;

describe('vaults and secrets', () => {
  let testApp: TestApp;
  let admin: Agent;
  let editor: Agent;
  let viewer: Agent;
  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    admin = await setupAdmin(testApp);
    editor = await loginAs(testApp, admin, 'editor');
    viewer = await loginAs(testApp, admin, 'viewer');
  });
  afterAll(async () => {
    await testApp.close();
  });
  beforeEach(async () => {
    await resetState(testApp, { keepAccounts: true });
  });

  async function createSecret(value = VALUE): Promise<void> {
    await editor.post('/api/vaults').send({ name: 'auth', description: 'login secrets' }).expect(201);
    await editor.put('/api/vaults/auth/secrets/alice').send({ value, description: 'alice' }).expect(201);
  }

  it('stores the value sealed: the raw row holds neither the value nor its text, and no answer returns it', async () => {
    await createSecret();
    const row = await testApp.db.query<{ nonce: Buffer; ciphertext: Buffer; key_id: string }>(
      'SELECT nonce, ciphertext, key_id FROM secrets',
    );
    const raw = row.rows[0]!;
    expect(raw.nonce).toHaveLength(12);
    expect(raw.ciphertext.includes(Buffer.from(VALUE))).toBe(false);
    expect(raw.key_id).toMatch(/^k-[0-9a-f]{12}$/);
    const dump = await testApp.db.query<{ dump: string }>("SELECT string_agg(s::text, ' ') AS dump FROM secrets s");
    expect(dump.rows[0]!.dump).not.toContain(VALUE);

    const answers = [
      await viewer.get('/api/vaults').expect(200),
      await viewer.get('/api/vaults/auth').expect(200),
      await viewer.get('/api/vaults/auth/secrets').expect(200),
      await viewer.get('/api/vaults/auth/secrets/alice').expect(200),
      await admin.get('/api/audit-events').expect(200),
    ];
    for (const answer of answers) expect(JSON.stringify(answer.body)).not.toContain(VALUE);
    expect((answers[1]!.body as { secrets: unknown[] }).secrets).toEqual([
      expect.objectContaining({
        vault: 'auth',
        name: 'alice',
        description: 'alice',
        created_by: expect.any(String) as unknown,
      }),
    ]);
    const rotated = await editor.put('/api/vaults/auth/secrets/alice').send({ value: 'another-value-123' }).expect(200);
    expect(JSON.stringify(rotated.body)).not.toContain('another-value-123');
    const kinds = (
      (await admin.get('/api/audit-events').expect(200)).body as { audit_events: { kind: string }[] }
    ).audit_events.map((event) => event.kind);
    expect(kinds).toEqual(expect.arrayContaining(['vault.created', 'secret.created', 'secret.rotated']));
  });

  it('lets viewers read names only: writes need an editor', async () => {
    await viewer.post('/api/vaults').send({ name: 'auth' }).expect(403);
    await createSecret();
    await viewer.put('/api/vaults/auth/secrets/alice').send({ value: 'x-123456789' }).expect(403);
    await viewer.delete('/api/vaults/auth/secrets/alice').expect(403);
    await viewer.delete('/api/vaults/auth').expect(403);
    await testApp.http().get('/api/vaults').expect(401);
  });

  it('refuses bad names, empty values, duplicates and unknown vaults with stable codes', async () => {
    expect(errorOf(await editor.post('/api/vaults').send({ name: '-bad' }).expect(400)).error_code).toBe(
      'VALIDATION_FAILED',
    );
    await editor.post('/api/vaults').send({ name: 'auth' }).expect(201);
    expect(errorOf(await editor.post('/api/vaults').send({ name: 'auth' }).expect(409)).error_code).toBe(
      'VAULT_EXISTS',
    );
    expect(errorOf(await editor.put('/api/vaults/auth/secrets/alice').send({ value: '' }).expect(400)).error_code).toBe(
      'VALIDATION_FAILED',
    );
    expect(
      errorOf(await editor.put('/api/vaults/nope/secrets/alice').send({ value: 'v' }).expect(404)).error_code,
    ).toBe('VAULT_NOT_FOUND');
    expect(errorOf(await editor.delete('/api/vaults/auth/secrets/nope').expect(404)).error_code).toBe(
      'SECRET_NOT_FOUND',
    );
  });

  it('makes a policy naming a missing secret a save-time error with line and column', async () => {
    const refused = await editor
      .post('/api/endpoints')
      .send({
        url: 'https://svc.internal',
        type: 'internal',
        upstream_url: 'http://127.0.0.1:3333',
        traffic_policy: authPolicy(),
      })
      .expect(400);
    expect(refused.body).toMatchObject({
      error_code: 'POLICY_INVALID',
      details: [expect.objectContaining({ code: 'POLICY_SECRET_NOT_FOUND', line: 5, column: 34 })],
    });
    const validated = await editor
      .post('/api/traffic-policy/validate')
      .send({ traffic_policy: authPolicy(), endpoint_type: 'internal' })
      .expect(200);
    expect(validated.body).toMatchObject({
      valid: false,
      errors: [expect.objectContaining({ code: 'POLICY_SECRET_NOT_FOUND' })],
    });
    await createSecret();
    await editor
      .post('/api/endpoints')
      .send({
        url: 'https://svc.internal',
        type: 'internal',
        upstream_url: 'http://127.0.0.1:3333',
        traffic_policy: authPolicy(),
      })
      .expect(201);
  });

  it('re-validates a rotation against the policies using the secret: a value they cannot use is refused', async () => {
    await createSecret();
    await editor
      .post('/api/endpoints')
      .send({
        url: 'https://svc.internal',
        type: 'internal',
        upstream_url: 'http://127.0.0.1:3333',
        traffic_policy: authPolicy(),
      })
      .expect(201);
    // basic-auth needs a password of 8 to 128 characters: "short" would make every request SECRET_UNAVAILABLE.
    const refused = await editor.put('/api/vaults/auth/secrets/alice').send({ value: 'short' }).expect(409);
    expect(refused.body).toMatchObject({
      error_code: 'SECRET_ROTATION_BREAKS_POLICY',
      details: [
        expect.objectContaining({
          code: 'SECRET_VALUE_UNUSABLE',
          path: '/on_http_request/0/actions/0/config/credentials/0',
          line: 5,
        }),
      ],
    });
    expect(errorOf(refused).details?.[0]?.message).toContain('https://svc.internal');
    expect(JSON.stringify(refused.body)).not.toContain('"short"');
    // Nothing changed: the stored secret still opens to the old value, and a fitting value rotates.
    const kinds = (
      (await admin.get('/api/audit-events').expect(200)).body as { audit_events: { kind: string }[] }
    ).audit_events.map((event) => event.kind);
    expect(kinds).not.toContain('secret.rotated');
    await editor.put('/api/vaults/auth/secrets/alice').send({ value: 'a-fitting-password-2' }).expect(200);
  });

  it('refuses to delete a secret or vault a live policy names (409 with the endpoints), then allows it', async () => {
    await createSecret();
    const endpoint = await editor
      .post('/api/endpoints')
      .send({
        url: 'https://svc.internal',
        type: 'internal',
        upstream_url: 'http://127.0.0.1:3333',
        traffic_policy: authPolicy(),
      })
      .expect(201);
    const secretConflict = await editor.delete('/api/vaults/auth/secrets/alice').expect(409);
    expect(secretConflict.body).toMatchObject({
      error_code: 'SECRET_IN_USE',
      details: [expect.objectContaining({ path: (endpoint.body as { id: string }).id })],
    });
    expect(errorOf(secretConflict).message).toContain('https://svc.internal');
    expect(errorOf(await editor.delete('/api/vaults/auth').expect(409)).error_code).toBe('VAULT_IN_USE');
    await editor
      .patch(`/api/endpoints/${(endpoint.body as { id: string }).id}`)
      .send({ traffic_policy: 'on_http_request: []' })
      .expect(200);
    await editor.delete('/api/vaults/auth/secrets/alice').expect(204);
    await editor.delete('/api/vaults/auth').expect(204);
  });

  it('sends data planes only the referenced secrets, sealed for them, and re-publishes on rotation', async () => {
    await createSecret();
    await editor.put('/api/vaults/auth/secrets/unused').send({ value: 'never-referenced-1' }).expect(201);
    const created = await editor
      .post('/api/endpoints')
      .send({
        url: 'https://svc.internal',
        type: 'internal',
        upstream_url: 'http://127.0.0.1:3333',
        traffic_policy: authPolicy(),
      })
      .expect(201);
    const id = (created.body as { id: string }).id;
    const key = deriveDataplaneSecretsKey(TEST_DATAPLANE_TOKEN);

    const snapshot = ConfigSnapshotSchema.parse(
      (await testApp.http().get('/api/dataplane/config').set('authorization', DATAPLANE_AUTH).expect(200)).body,
    );
    const secrets = snapshot.endpoints.find((endpoint) => endpoint.id === id)!.policy!.secrets!;
    expect(secrets.map(({ vault, name }) => ({ vault, name }))).toEqual([{ vault: 'auth', name: 'alice' }]);
    expect(JSON.stringify(snapshot)).not.toContain(VALUE);
    expect(openFromControlPlane(key, 'auth', 'alice', secrets[0]!.sealed)).toBe(VALUE);
    // Bound to its place: the same sealed value does not open as another secret, nor under another token.
    expect(() => openFromControlPlane(key, 'auth', 'bob', secrets[0]!.sealed)).toThrow(/could not be opened/);
    expect(() =>
      openFromControlPlane(deriveDataplaneSecretsKey('another-token-0123456789'), 'auth', 'alice', secrets[0]!.sealed),
    ).toThrow(/could not be opened/);
    // Nor does the outbox row (what pub/sub carries) hold any secret.
    const outbox = await testApp.db.query<{ payload: unknown }>('SELECT payload FROM config_changes');
    expect(JSON.stringify(outbox.rows)).not.toContain('sealed');

    await editor.put('/api/vaults/auth/secrets/alice').send({ value: 'rotated-value-9876' }).expect(200);
    const changes = ConfigChangesResponseSchema.parse(
      (
        await testApp
          .http()
          .get(`/api/dataplane/config/changes?since=${snapshot.revision}`)
          .set('authorization', DATAPLANE_AUTH)
          .expect(200)
      ).body,
    );
    const republished = changes.changes.filter(
      (change) => change.kind === 'endpoint.upserted' && change.entity_id === id,
    );
    expect(republished).toHaveLength(1);
    const sealed = republished[0]!.endpoint!.policy!.secrets![0]!.sealed;
    expect(openFromControlPlane(key, 'auth', 'alice', sealed)).toBe('rotated-value-9876');
  });

  it('fails closed when a row is swapped onto another secret or read under another key', async () => {
    await createSecret();
    await editor.put('/api/vaults/auth/secrets/bob').send({ value: 'bob-value-123456' }).expect(201);
    // An attacker with database access moves alice's ciphertext onto bob's row.
    await testApp.db.query(
      `UPDATE secrets SET nonce = a.nonce, ciphertext = a.ciphertext FROM secrets a
        WHERE secrets.name = 'bob' AND a.name = 'alice'`,
    );
    await editor
      .post('/api/endpoints')
      .send({
        url: 'https://svc.internal',
        type: 'internal',
        upstream_url: 'http://127.0.0.1:3333',
        traffic_policy: authPolicy('bob'),
      })
      .expect(201);
    const snapshot = ConfigSnapshotSchema.parse(
      (await testApp.http().get('/api/dataplane/config').set('authorization', DATAPLANE_AUTH).expect(200)).body,
    );
    // The swapped value does not open, so it is withheld: the data plane fails requests that need it closed.
    expect(snapshot.endpoints[0]!.policy!.secrets).toEqual([]);

    const otherKey = await createTestApp({ GATEHOUSE_SECRETS_KEY: 'ff'.repeat(32) });
    try {
      const other = ConfigSnapshotSchema.parse(
        (await otherKey.http().get('/api/dataplane/config').set('authorization', DATAPLANE_AUTH).expect(200)).body,
      );
      expect(other.endpoints[0]!.policy!.secrets).toEqual([]);
    } finally {
      await otherKey.close();
    }
  });
});
