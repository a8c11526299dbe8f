import { Redis } from 'ioredis';
import type { Agent } from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigPublisherService } from '../src/config-publisher/config-publisher.service';
import { CONFIG_CHANNEL, type ConfigChangeEvent, ConfigChangeEventSchema } from '@gatehouse/contracts';
import type { CreateEndpointBody, UpdateEndpointBody } from '../src/endpoints/endpoints.dto';
import type { PutIpCategoryBody } from '../src/ip-categories/ip-categories.dto';
import { RedisService } from '../src/redis/redis.service';
import { type CreateApiKeyBody, CreatedApiKeyResponseSchema } from '../src/api-keys/api-keys.dto';
import { bodyOf } from './http';
import { EndpointResponseSchema } from '../src/endpoints/endpoints.dto';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';
import { TEST_REDIS_URL } from './test-env';
import { CUSTOM_RESPONSE_POLICY, DENY_ALL_POLICY } from './policies';

interface Subscription {
  messages: string[];
  close: () => void;
}

/** Subscribes to gatehouse:config and keeps every raw message. */
async function subscribe(): Promise<Subscription> {
  const subscriber = new Redis(TEST_REDIS_URL);
  const messages: string[] = [];
  subscriber.on('message', (_channel: string, message: string) => messages.push(message));
  await subscriber.subscribe(CONFIG_CHANNEL);
  return { messages, close: () => subscriber.disconnect() };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The events this test's API published, validated against the contract. The channel is shared by everything on the
 * machine's Redis (other suites may publish on it at the same time), so only events naming a row of this database count.
 */
async function ourEvents(testApp: TestApp, subscription: Subscription, after: number): Promise<ConfigChangeEvent[]> {
  const rows = await testApp.db.query<{ revision: string; entity_id: string }>(
    'SELECT revision, entity_id FROM config_changes WHERE revision > $1',
    [after],
  );
  const ours = new Set(rows.rows.map((row) => `${row.revision}:${row.entity_id}`));
  return subscription.messages.flatMap((message) => {
    const parsed = ConfigChangeEventSchema.safeParse(parseJson(message));
    if (!parsed.success || !ours.has(`${parsed.data.revision}:${parsed.data.entity_id}`)) return [];
    return [ConfigChangeEventSchema.parse(parsed.data)];
  });
}

describe('config publishing (DESIGN.md §6)', () => {
  let testApp: TestApp;
  let admin: Agent;
  let editor: Agent;
  let subscription: Subscription | undefined;
  /** The revision after the reset (the seeded built-ins): events of this test come after it. */
  let baseline = 0;
  let suffix = '';
  const events = () => ourEvents(testApp, subscription!, baseline);
  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    admin = await setupAdmin(testApp);
    editor = await loginAs(testApp, admin, 'editor');
  });
  afterAll(async () => {
    subscription?.close();
    await testApp.close();
  });
  beforeEach(async () => {
    await resetState(testApp, { keepAccounts: true });
    const latest = await testApp.db.query<{ max: string | null }>('SELECT max(revision) AS max FROM config_changes');
    baseline = Number(latest.rows[0]?.max ?? 0);
    suffix = Math.random().toString(36).slice(2, 10);
    subscription?.close();
    subscription = await subscribe();
  });

  it('publishes each change after commit, with the endpoint and its active policy, in strictly increasing revisions', async () => {
    const created = await editor
      .post('/api/endpoints')
      .send({ url: 'https://a.example.com', traffic_policy: DENY_ALL_POLICY } satisfies CreateEndpointBody)
      .expect(201);
    const id = bodyOf(created, EndpointResponseSchema).id;
    // The event is published before the API answers.
    await vi.waitFor(async () => expect(await events()).toHaveLength(1));
    expect((await events())[0]).toMatchObject({
      kind: 'endpoint.upserted',
      entity_id: id,
      endpoint: { id, url: 'https://a.example.com', policy: { version: 1, source: DENY_ALL_POLICY } },
      ip_category: null,
    });

    // Many concurrent changes from several clients.
    await Promise.all([
      ...Array.from({ length: 8 }, (_, index) =>
        editor
          .patch(`/api/endpoints/${id}`)
          .send({ traffic_policy: `${CUSTOM_RESPONSE_POLICY}# ${index}\n` } satisfies UpdateEndpointBody)
          .expect(200),
      ),
      ...Array.from({ length: 6 }, (_, index) =>
        editor
          .post('/api/endpoints')
          .send({ url: `https://n${index}.example.com`, traffic_policy: DENY_ALL_POLICY } satisfies CreateEndpointBody)
          .expect(201),
      ),
      editor
        .put(`/api/ip-categories/office-${suffix}`)
        .send({ cidrs: ['192.0.2.0/24'] } satisfies PutIpCategoryBody)
        .expect(200),
    ]);
    await editor.delete(`/api/endpoints/${id}`).expect(204);
    await vi.waitFor(async () => expect(await events()).toHaveLength(17));
    const all = await events();
    const revisions = all.map((event) => event.revision);
    for (let index = 1; index < revisions.length; index += 1) {
      expect(revisions[index]).toBeGreaterThan(revisions[index - 1] as number);
    }
    expect(all.at(-1)).toMatchObject({ kind: 'endpoint.deleted', entity_id: id, endpoint: null });
    expect(all.find((event) => event.kind === 'ip_category.upserted')).toMatchObject({
      entity_id: `office-${suffix}`,
      ip_category: { name: `office-${suffix}`, cidrs: ['192.0.2.0/24'], builtin: false },
    });
    const lastUpsert = all.filter((event) => event.entity_id === id && event.kind === 'endpoint.upserted').at(-1);
    expect(lastUpsert?.endpoint?.policy?.version).toBe(9);
    const unpublished = await testApp.db.query('SELECT 1 FROM config_changes WHERE published_at IS NULL');
    expect(unpublished.rowCount).toBe(0);
  });

  it('keeps revisions strictly increasing when two API processes publish concurrently', async () => {
    const second = await createTestApp();
    try {
      const key = bodyOf(
        await admin
          .post('/api/api-keys')
          .send({ description: 'publishing', role: 'editor' } satisfies CreateApiKeyBody)
          .expect(201),
        CreatedApiKeyResponseSchema,
      ).secret;
      await Promise.all(
        [testApp, second].flatMap((app, appIndex) =>
          Array.from({ length: 6 }, (_, index) =>
            app
              .http()
              .post('/api/endpoints')
              .set('authorization', `Bearer ${key}`)
              .send({
                url: `https://p${appIndex}-${index}-${suffix}.example.com`,
                traffic_policy: DENY_ALL_POLICY,
              } satisfies CreateEndpointBody)
              .expect(201),
          ),
        ),
      );
      await vi.waitFor(async () => expect(await events()).toHaveLength(12));
      const revisions = (await events()).map((event) => event.revision);
      expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
      expect(new Set(revisions).size).toBe(12);
    } finally {
      await second.close();
    }
  });

  it('delivers a change through the relay when publishing fails after commit', async () => {
    const redis = testApp.app.get(RedisService);
    const publish = vi.spyOn(redis.client, 'publish').mockRejectedValue(new Error('simulated crash before publish'));
    let id: string;
    try {
      const created = await editor
        .post('/api/endpoints')
        .send({ url: 'https://relay.example.com', traffic_policy: DENY_ALL_POLICY } satisfies CreateEndpointBody)
        .expect(201);
      id = bodyOf(created, EndpointResponseSchema).id;
      const pending = await testApp.db.query<{ kind: string }>(
        'SELECT kind FROM config_changes WHERE published_at IS NULL AND entity_id = $1',
        [id],
      );
      expect(pending.rows).toEqual([{ kind: 'endpoint.upserted' }]);
      expect(await events()).toHaveLength(0);
    } finally {
      publish.mockRestore();
    }
    // The relay runs every second in the API (and in `npm run worker`).
    await vi.waitFor(async () => expect(await events()).toHaveLength(1), { timeout: 5_000, interval: 50 });
    expect((await events())[0]).toMatchObject({ kind: 'endpoint.upserted', entity_id: id });
    // The relay marks the row published right after PUBLISH returns, so a subscriber can see the event first.
    await vi.waitFor(
      async () => {
        const pendingAfter = await testApp.db.query('SELECT 1 FROM config_changes WHERE published_at IS NULL');
        expect(pendingAfter.rowCount).toBe(0);
      },
      { timeout: 5_000, interval: 50 },
    );
  });

  it('publishes rows committed by another process (no request in this one) on the next relay run', async () => {
    await testApp.db.query('BEGIN');
    await testApp.db.query('SELECT pg_advisory_xact_lock(4710202611)');
    await testApp.db.query(
      `INSERT INTO config_changes (kind, entity_id, payload) VALUES ('ip_category.deleted', $1, '{"endpoint":null,"ip_category":null}')`,
      [`gone-${suffix}`],
    );
    await testApp.db.query('COMMIT');
    await testApp.app.get(ConfigPublisherService).runRelayOnce();
    await vi.waitFor(async () => expect(await events()).toHaveLength(1));
    expect((await events())[0]).toMatchObject({
      kind: 'ip_category.deleted',
      entity_id: `gone-${suffix}`,
      ip_category: null,
    });
  });
});
