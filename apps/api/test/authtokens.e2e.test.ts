// Authtokens for gatehouse-agent (issue 13, item 2): created by editors with the secret shown once, stored hashed,
// scoped by host patterns, revocable, and good for nothing on the API itself.
import type { Agent as TestAgent } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthtokenListResponseSchema,
  AuthtokenResponseSchema,
  CreatedAuthtokenResponseSchema,
} from '../src/authtokens/authtokens.dto';
import { bodyOf, errorOf } from './http';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';

describe('authtokens', () => {
  let testApp: TestApp;
  let editor: TestAgent;
  let viewer: TestAgent;

  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    const admin = await setupAdmin(testApp);
    editor = await loginAs(testApp, admin, 'editor');
    viewer = await loginAs(testApp, admin, 'viewer');
  });
  afterAll(async () => {
    await testApp.close();
  });

  const create = (body: object) => editor.post('/api/authtokens').send(body);
  const auditKinds = async (id: string) =>
    (
      await testApp.db.query<{ kind: string }>('SELECT kind FROM audit_events WHERE entity_id = $1 ORDER BY id', [id])
    ).rows.map((row) => row.kind);

  it('creates a token, shows its secret once and stores only its hash', async () => {
    const created = bodyOf(
      await create({
        description: 'laptop MCP server',
        url_patterns: ['*.team-a.internal', 'mcp.example.internal', '*.team-a.internal'],
      }).expect(201),
      CreatedAuthtokenResponseSchema,
    );
    expect(created.secret).toMatch(/^gat_[0-9a-f]{8}_[\w-]{43}$/);
    expect(created.secret.startsWith(`${created.prefix}_`)).toBe(true);
    expect(created.url_patterns).toEqual(['*.team-a.internal', 'mcp.example.internal']);
    expect(created.revoked_at).toBeNull();
    expect(created.created_by).not.toBeNull();

    const fetched = await viewer.get(created.uri).expect(200);
    expect(bodyOf(fetched, AuthtokenResponseSchema)).toMatchObject({
      id: created.id,
      description: 'laptop MCP server',
    });
    expect(JSON.stringify(fetched.body)).not.toContain(created.secret.slice(13));
    const listed = await viewer.get('/api/authtokens').expect(200);
    expect(JSON.stringify(listed.body)).not.toContain(created.secret.slice(13));

    const stored = await testApp.db.query<Record<string, unknown>>('SELECT * FROM authtokens WHERE id = $1', [
      created.id,
    ]);
    expect(JSON.stringify(stored.rows)).not.toContain(created.secret.slice(13));
    expect(await auditKinds(created.id)).toEqual(['authtoken.created']);
    const audit = await testApp.db.query<{ after: unknown }>('SELECT after FROM audit_events WHERE entity_id = $1', [
      created.id,
    ]);
    expect(JSON.stringify(audit.rows)).not.toContain(created.secret.slice(13));
  });

  it('is good for nothing on the API, and says so', async () => {
    const { secret } = bodyOf(await create({ description: 'ci agent' }).expect(201), CreatedAuthtokenResponseSchema);
    const refused = await testApp.http().get('/api/endpoints').set('authorization', `Bearer ${secret}`);
    expect(refused.status).toBe(401);
    expect(errorOf(refused).error_code).toBe('UNAUTHENTICATED');
    expect(errorOf(refused).message).toMatch(/agent authtoken/);
  });

  it('refuses bad input with a field message and stores nothing', async () => {
    const before = (await testApp.db.query('SELECT id FROM authtokens')).rowCount;
    const cases: [object, RegExp][] = [
      [{ description: '' }, /say what the token is for/],
      [{ description: '   ' }, /say what the token is for/],
      [{ description: 'x', url_patterns: ['https://mcp.example.internal'] }, /host only/],
      [{ description: 'x', url_patterns: ['*'] }, /leave url_patterns empty/],
      [{ description: 'x', url_patterns: ['mcp.*.internal'] }, /first label/],
      [{ description: 'x', url_patterns: ['MCP.example.internal'] }, /lower-case/],
      [{ description: 'x', role: 'admin' }, /role/],
    ];
    for (const [body, message] of cases) {
      const response = await create(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(response).error_code).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(errorOf(response)), JSON.stringify(body)).toMatch(message);
    }
    expect((await testApp.db.query('SELECT id FROM authtokens')).rowCount).toBe(before);
  });

  it('lets viewers read but not create or revoke', async () => {
    const { id } = bodyOf(await create({ description: 'for viewers' }).expect(201), CreatedAuthtokenResponseSchema);
    expect(errorOf(await viewer.post('/api/authtokens').send({ description: 'mine' }).expect(403)).error_code).toBe(
      'FORBIDDEN',
    );
    expect(errorOf(await viewer.delete(`/api/authtokens/${id}`).expect(403)).error_code).toBe('FORBIDDEN');
    await viewer.get(`/api/authtokens/${id}`).expect(200);
  });

  it('revokes once (idempotent, one audit event) and keeps the token so its agent can be told why', async () => {
    const { id } = bodyOf(await create({ description: 'to revoke' }).expect(201), CreatedAuthtokenResponseSchema);
    await editor.delete(`/api/authtokens/${id}`).expect(204);
    const revoked = bodyOf(await viewer.get(`/api/authtokens/${id}`).expect(200), AuthtokenResponseSchema);
    expect(revoked.revoked_at).not.toBeNull();
    await editor.delete(`/api/authtokens/${id}`).expect(204);
    expect(await auditKinds(id)).toEqual(['authtoken.created', 'authtoken.revoked']);
    const missing = await editor.delete('/api/authtokens/atk_00000000000000000000000000');
    expect(missing.status).toBe(404);
    expect(errorOf(missing).error_code).toBe('AUTHTOKEN_NOT_FOUND');
    expect(errorOf(await viewer.get('/api/authtokens/atk_nope').expect(404)).error_code).toBe('AUTHTOKEN_NOT_FOUND');
  });

  it('pages newest first and filters by revocation', async () => {
    await testApp.db.query('TRUNCATE authtokens CASCADE');
    const ids: string[] = [];
    for (const description of ['one', 'two', 'three'])
      ids.push(bodyOf(await create({ description }).expect(201), CreatedAuthtokenResponseSchema).id);
    await editor.delete(`/api/authtokens/${ids[1]}`).expect(204);
    const first = bodyOf(await viewer.get('/api/authtokens?limit=2').expect(200), AuthtokenListResponseSchema);
    expect(first.authtokens.map((token) => token.description)).toEqual(['three', 'two']);
    expect(first.next_page_uri).not.toBeNull();
    const second = bodyOf(await viewer.get(first.next_page_uri!).expect(200), AuthtokenListResponseSchema);
    expect(second.authtokens.map((token) => token.description)).toEqual(['one']);
    expect(second.next_page_uri).toBeNull();
    const active = bodyOf(await viewer.get('/api/authtokens?revoked=false').expect(200), AuthtokenListResponseSchema);
    expect(active.authtokens.map((token) => token.description)).toEqual(['three', 'one']);
    const gone = bodyOf(await viewer.get('/api/authtokens?revoked=true').expect(200), AuthtokenListResponseSchema);
    expect(gone.authtokens.map((token) => token.description)).toEqual(['two']);
    expect((await viewer.get('/api/authtokens?revoked=maybe')).status).toBe(400);
  });
});
