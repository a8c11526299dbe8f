import type { LookupFunction } from 'node:net';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAgentSessionApi } from '../src/config/agent-session-api.js';
import { startAgent, type AgentProcess } from './helpers/agent-process.js';
import { TestConfigServer } from './helpers/config-server.js';
import { eventually, startDataplane, uniqueId, type RunningDataplane } from './helpers/dataplane-harness.js';
import { fakeTokens, fakeUsage, startFakeOpenAi, type FakeProvider } from './helpers/fake-llm-providers.js';
import { assertRedisUp, sharedRedisUrl } from './helpers/redis-process.js';

/**
 * A self-hosted model (issue 16, Build item 1): ai-gateway's provider `base_url` names an internal endpoint, which is
 * either an upstream URL registered as `https://….internal` or an agent endpoint — the real `gatehouse-agent` binary
 * in front of a local OpenAI-compatible server, as a model on someone's own machine would be. The official OpenAI SDK
 * completes plain and streamed requests through both, and the request log carries the usage the model reported.
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

const token = 'gh_test_authtoken_selfhosted_01';
const hostLabel = (prefix: string) => uniqueId(prefix).replace(/_/g, '-');

describe('ai-gateway in front of a self-hosted model', () => {
  let config: TestConfigServer;
  let gateway: RunningDataplane;
  let sessionApi: HttpAgentSessionApi;
  let model: FakeProvider;
  let agent: AgentProcess | undefined;

  /** An endpoint whose only provider is the model at `baseUrl`; returns its host. */
  async function gatewayTo(baseUrl: string): Promise<string> {
    const host = `${hostLabel('ai')}.example.com`;
    await config.upsertEndpoint({
      id: uniqueId('ep_ai'),
      url: `https://${host}`,
      traffic_policy: `on_http_request:
  - actions:
      - type: ai-gateway
        config:
          only_allow_configured_providers: true
          per_request_timeout: 5s
          providers:
            - id: local
              base_url: ${baseUrl}
              api_keys: [{ value: sk-ok }]
              models: [{ id: llama3.1 }]
`,
    });
    await eventually(() => gateway.dataplane.store.current.exactRoutes.has(host), 10_000, `${host} in the config`);
    return host;
  }

  const client = (host: string) =>
    new OpenAI({
      apiKey: 'client-key',
      baseURL: `http://${host}:${gateway.port}/v1`,
      fetch: gatewayFetch,
      maxRetries: 0,
    });

  /** A plain and a streamed completion through `host`; checks the answers, what the model got and the log. */
  async function completesBothWays(host: string): Promise<void> {
    const before = model.calls.length;
    const completion = await client(host).chat.completions.create({
      model: 'llama3.1',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]?.message.content).toBe(fakeTokens.join(''));
    const stream = await client(host).chat.completions.create({
      model: 'llama3.1',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const pieces: string[] = [];
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content;
      if (piece !== undefined && piece !== null) pieces.push(piece);
    }
    // Token by token: one piece per event the model sent, none merged or lost on the way through the tunnel.
    expect(pieces).toEqual(fakeTokens);
    expect(model.calls.slice(before).map((call) => `${call.key} ${call.path} ${String(call.body.model)}`)).toEqual([
      'sk-ok /v1/chat/completions llama3.1',
      'sk-ok /v1/chat/completions llama3.1',
    ]);
    await eventually(
      () => gateway.sink.events.filter((event) => event.host === host).length === 2,
      5_000,
      'both request events',
    );
    const events = gateway.sink.events.filter((event) => event.host === host);
    for (const [index, event] of events.entries())
      expect(event.ai_gateway, `event ${index}`).toMatchObject({
        status: 'success',
        provider: 'local',
        model: 'llama3.1',
        streamed: index === 1,
        input_tokens: fakeUsage.input,
        output_tokens: fakeUsage.output,
      });
  }

  beforeAll(async () => {
    await assertRedisUp(sharedRedisUrl);
    model = await startFakeOpenAi();
    config = new TestConfigServer(sharedRedisUrl);
    await config.start();
    config.authtokens.set(token, { revoked: false });
    sessionApi = new HttpAgentSessionApi(config.url, config.token, 2_000);
    gateway = await startDataplane(config, { redisUrl: sharedRedisUrl, agentSessionApi: sessionApi });
  });

  afterAll(async () => {
    await agent?.kill('SIGKILL');
    await gateway?.stop();
    await sessionApi?.close();
    await config?.close();
    await model?.close();
    await toGateway.close();
  });

  it('through an internal endpoint with an upstream: plain and streamed', async () => {
    const internalUrl = `https://${hostLabel('llm')}.internal`;
    await config.upsertEndpoint({ id: uniqueId('ep_llm'), url: internalUrl, upstream_url: model.url });
    await eventually(
      () => gateway.dataplane.store.current.internalByUrl.has(internalUrl),
      10_000,
      `${internalUrl} in the config`,
    );
    await completesBothWays(await gatewayTo(`${internalUrl}/v1`));
  });

  it('through an agent endpoint (the real agent in front of the model): plain and streamed', async () => {
    const internalUrl = `https://${hostLabel('llm')}.example.internal`;
    agent = startAgent([
      'http',
      String(model.port),
      '--url',
      internalUrl,
      '--authtoken',
      token,
      '--connect-url',
      `http://127.0.0.1:${gateway.port}`,
    ]);
    await agent.waitFor((line) => line.msg === 'endpoint online', 10_000, 'the endpoint to come online');
    await eventually(
      () => gateway.dataplane.store.current.internalByUrl.get(internalUrl)?.agent?.members.length === 1,
      10_000,
      `${internalUrl} served by this data plane`,
    );
    await completesBothWays(await gatewayTo(`${internalUrl}/v1`));
  });
});
