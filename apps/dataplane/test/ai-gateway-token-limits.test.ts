import type { LookupFunction } from 'node:net';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { eventually, startDataplane, uniqueId, type RunningDataplane } from './helpers/dataplane-harness.js';
import { fakeTokens, fakeUsage, startFakeOpenAi, type FakeProvider } from './helpers/fake-llm-providers.js';
import { assertRedisUp, sharedRedisUrl } from './helpers/redis-process.js';

/**
 * Tokens as a rate-limit weight (issue 16, Build item 5), end to end: the official OpenAI SDK against a data plane
 * whose counters are in the shared Redis, a local fake provider that reports usage (11 input + 5 output tokens a
 * request, streamed or not). A `rate-limit` with `cost` admits while the key's bucket has budget and charges the
 * tokens the provider reported when the exchange ends, so with capacity 40 three requests pass (16, 32, then 32 < 40
 * still fits; 48 after it) and the fourth is refused with 429, retry-after and the error code header.
 */

const lookup: LookupFunction = (_hostname, options, callback) => {
  if (options.all === true)
    (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [
      { address: '127.0.0.1', family: 4 },
    ]);
  else callback(null, '127.0.0.1', 4);
};
const toGateway = new Agent({ connect: { lookup } });
const gatewayFetch = ((input: string | URL | Request, init?: RequestInit) =>
  undiciFetch(input as string, { ...(init as object), dispatcher: toGateway })) as unknown as typeof fetch;

const perRequest = fakeUsage.input + fakeUsage.output;

describe('token limits with the official OpenAI SDK', () => {
  let config: TestConfigServer;
  let gateway: RunningDataplane;
  let openai: FakeProvider;
  let redis: Redis;
  const keyPrefix = `${uniqueId('tokrl')}:`;
  const fallbacks = async () =>
    (await gateway.dataplane.metrics.rateLimitFallbacks.get()).values.reduce((sum, value) => sum + value.value, 0);

  const limit = (mode: 'leased' | 'exact', name: string) => `        - type: rate-limit
          config:
            name: ${name}
            algorithm: sliding_window
            capacity: 40
            rate: 60s
            mode: ${mode}
            bucket_key: [getReqBearerToken()]
            cost: actions.ngrok.ai_gateway.total_tokens
`;
  const gatewayAction = () => `        - type: ai-gateway
          config:
            providers:
              - id: openai
                base_url: ${openai.url}/v1
`;

  /** Publishes an endpoint and waits until this data plane serves it. */
  async function publish(host: string, policy: string): Promise<string> {
    const id = uniqueId('ep_tok');
    await config.upsertEndpoint({ id, url: `https://${host}`, traffic_policy: policy });
    await eventually(() => gateway.dataplane.store.current.exactRoutes.has(host), 10_000, `${host} in the config`);
    return id;
  }

  /** The units counted in Redis for an endpoint's buckets (every window). */
  async function countedInRedis(endpointId: string): Promise<number> {
    const keys = await redis.keys(`${keyPrefix}{${endpointId}:*`);
    const values = keys.length === 0 ? [] : await redis.mget(...keys);
    return values.reduce((sum, value) => sum + Number(value ?? 0), 0);
  }

  const client = (host: string, apiKey: string) =>
    new OpenAI({ apiKey, baseURL: `http://${host}:${gateway.port}/v1`, fetch: gatewayFetch, maxRetries: 0 });

  /** One completion, plain or streamed; resolves when the request's log event is out (its charge has been sent). */
  async function complete(host: string, apiKey: string, stream: boolean): Promise<string> {
    const logged = gateway.sink.events.filter((event) => event.host === host).length;
    let text = '';
    if (stream) {
      const chunks = await client(host, apiKey).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      for await (const chunk of chunks) text += chunk.choices[0]?.delta.content ?? '';
    } else {
      const completion = await client(host, apiKey).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
      });
      text = completion.choices[0]?.message.content ?? '';
    }
    await eventually(
      () => gateway.sink.events.filter((event) => event.host === host).length > logged,
      5_000,
      'the request event',
    );
    return text;
  }

  async function refused(host: string, apiKey: string, stream: boolean) {
    const error = await complete(host, apiKey, stream).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    return error as InstanceType<typeof OpenAI.APIError>;
  }

  beforeAll(async () => {
    await assertRedisUp(sharedRedisUrl);
    openai = await startFakeOpenAi();
    config = new TestConfigServer(sharedRedisUrl);
    await config.start();
    gateway = await startDataplane(config, { redisUrl: sharedRedisUrl, rateLimitKeyPrefix: keyPrefix });
    redis = new Redis(sharedRedisUrl);
  });

  afterAll(async () => {
    redis?.disconnect();
    await gateway?.stop();
    await config?.close();
    await openai?.close();
    await toGateway.close();
  });

  it('leased mode (the default), in on_http_request before ai-gateway: plain and streamed answers are charged', async () => {
    const host = `${uniqueId('tok-leased').replace(/_/g, '-')}.example.com`;
    const endpointId = await publish(
      host,
      `on_http_request:\n  - actions:\n${limit('leased', 'tokens')}${gatewayAction()}`,
    );
    const key = 'client-a';
    expect(await complete(host, key, false)).toBe(fakeTokens.join(''));
    expect(await complete(host, key, true)).toBe(fakeTokens.join(''));
    expect(await complete(host, key, false)).toBe(fakeTokens.join(''));
    const error = await refused(host, key, true);
    expect(error.status).toBe(429);
    expect(error.headers?.get('gatehouse-error-code')).toBe('RATE_LIMITED');
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // The refused request never reached a provider, and its log says why.
    const events = gateway.sink.events.filter((event) => event.host === host);
    expect(events.map((event) => event.status)).toEqual([200, 200, 200, 429]);
    expect(events.at(-1)!.error_code).toBe('RATE_LIMITED');
    expect(events.slice(0, 3).map((event) => event.ai_gateway?.input_tokens)).toEqual([11, 11, 11]);
    expect(events.at(-1)!.ai_gateway).toBeNull();
    // The counts are in the shared Redis (not a local fallback): three requests charged 3 × 16 tokens, plus at most
    // the one unit this process holds reserved (capacity 40 leases one unit at a time).
    expect(await countedInRedis(endpointId)).toBeGreaterThanOrEqual(3 * perRequest);
    expect(await countedInRedis(endpointId)).toBeLessThanOrEqual(3 * perRequest + 1);
  });

  it('exact mode, in on_http_response reading actions.ngrok.ai_gateway: the fourth answer becomes 429; keys are separate', async () => {
    const host = `${uniqueId('tok-exact').replace(/_/g, '-')}.example.com`;
    const endpointId = await publish(
      host,
      `on_http_request:\n  - actions:\n${gatewayAction()}on_http_response:\n  - expressions: ["actions.ngrok.ai_gateway.status == 'success'"]\n    actions:\n${limit('exact', 'tokens')}`,
    );
    const key = 'client-a';
    const before = openai.calls.length;
    await complete(host, key, true);
    await complete(host, key, false);
    await complete(host, key, true);
    const error = await refused(host, key, false);
    expect(error.status).toBe(429);
    expect(error.headers?.get('gatehouse-error-code')).toBe('RATE_LIMITED');
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // In the response phase the provider was asked (its answer is what the limit reads), then replaced by the 429.
    expect(openai.calls.length - before).toBe(4);
    // Another key is another bucket.
    expect(await complete(host, 'client-b', true)).toBe(fakeTokens.join(''));
    expect(await countedInRedis(endpointId)).toBe(3 * perRequest + perRequest);
    expect(await fallbacks()).toBe(0);
  });
});
