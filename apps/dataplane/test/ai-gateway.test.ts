import Anthropic from '@anthropic-ai/sdk';
import type { LookupFunction } from 'node:net';
import { deriveDataplaneSecretsKey, sealForDataplanes } from '@gatehouse/runtime';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestEvent } from '../src/events/request-event.js';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import {
  fakeTokens,
  fakeUsage,
  startFakeAnthropic,
  startFakeOpenAi,
  type FakeProvider,
} from './helpers/fake-llm-providers.js';

/**
 * The ai-gateway action end to end: the official OpenAI and Anthropic SDKs talk to a real data plane over sockets,
 * which talks to local fake providers (helpers/fake-llm-providers.ts) that fail on purpose by key. Keys come sealed
 * from the vault like the API sends them.
 */

// Every host resolves to the data plane, so the SDKs send the endpoint's Host like real clients would.
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

describe('ai-gateway with the official SDKs', () => {
  const config = new TestConfigServer(undefined);
  let gateway: RunningDataplane;
  let openai: FakeProvider;
  let anthropic: FakeProvider;

  /** One endpoint per scenario: `keys` are the openai (and anthropic) provider keys, in order, from the vault. */
  async function publish(
    name: string,
    options: { openaiKeys?: string[]; anthropicKeys?: string[]; extra?: string; backupKeys?: string[] },
  ) {
    const transportKey = deriveDataplaneSecretsKey(config.token);
    const secrets: { vault: string; name: string; sealed: string }[] = [];
    const keyList = (provider: string, keys: string[] | undefined) => {
      if (keys === undefined) return '';
      return `              api_keys:\n${keys
        .map((key, index) => {
          secrets.push({
            vault: 'llm',
            name: `${provider}-${index}`,
            sealed: sealForDataplanes(transportKey, 'llm', `${provider}-${index}`, key),
          });
          return `                - value: \${secrets.get('llm', '${provider}-${index}')}\n`;
        })
        .join('')}`;
    };
    const policy = `on_http_request:
  - actions:
      - type: ai-gateway
        config:
          per_request_timeout: 400ms
          total_timeout: 3s
${options.extra ?? ''}          providers:
            - id: openai
              base_url: ${openai.url}/v1
${keyList('openai', options.openaiKeys)}            - id: anthropic
              base_url: ${anthropic.url}
${keyList('anthropic', options.anthropicKeys)}${
      options.backupKeys === undefined
        ? ''
        : `            - id: backup
              base_url: ${openai.url}
              models: [{ id: gpt-4o }]
${keyList('backup', options.backupKeys)}`
    }`;
    await config.upsertEndpoint({
      id: `ep_${name}`,
      url: `https://${name}.example.com`,
      traffic_policy: policy,
      secrets,
    });
  }

  const openaiClient = (name: string, apiKey = 'client-key') =>
    new OpenAI({
      apiKey,
      baseURL: `http://${name}.example.com:${gateway.port}/v1`,
      fetch: gatewayFetch,
      maxRetries: 0,
    });
  const anthropicClient = (name: string, apiKey = 'client-key') =>
    new Anthropic({
      apiKey,
      baseURL: `http://${name}.example.com:${gateway.port}`,
      fetch: gatewayFetch,
      maxRetries: 0,
    });
  const eventFor = (name: string): Promise<RequestEvent> =>
    gateway.sink.waitFor((event) => event.host === `${name}.example.com`);

  beforeAll(async () => {
    openai = await startFakeOpenAi();
    anthropic = await startFakeAnthropic();
    await config.start();
    await publish('failover', { openaiKeys: ['sk-429', 'sk-ok'] });
    await publish('stream', { openaiKeys: ['sk-500', 'sk-ok'] });
    await publish('hang', { openaiKeys: ['sk-hang', 'sk-ok'] });
    await publish('provider', { openaiKeys: ['sk-bad'], backupKeys: ['sk-ok'] });
    await publish('cut', { openaiKeys: ['sk-cut', 'sk-ok'] });
    await publish('claude', { anthropicKeys: ['sk-429', 'sk-ok'] });
    await publish('passthrough', {});
    await publish('exhausted', { openaiKeys: ['sk-429', 'sk-429'] });
    // A self-hosted model behind an internal endpoint: the provider's base_url names it, as forward-internal would.
    await config.upsertEndpoint({ id: 'ep_llm_internal', url: 'https://llm.internal', upstream_url: openai.url });
    await config.upsertEndpoint({
      id: 'ep_selfhosted',
      url: 'https://selfhosted.example.com',
      traffic_policy: `on_http_request:
  - actions:
      - type: ai-gateway
        config:
          only_allow_configured_providers: true
          providers:
            - id: local
              base_url: https://llm.internal/v1
              api_keys: [{ value: sk-ok }]
              models: [{ id: llama3.1, pricing: { input_per_million: 0.5, output_per_million: 1 } }]
`,
    });
    gateway = await startDataplane(config, { secretsKey: deriveDataplaneSecretsKey(config.token) });
  });

  afterAll(async () => {
    await gateway?.stop();
    await config.close();
    await openai?.close();
    await anthropic?.close();
    await toGateway.close();
  });

  it('completes through the next key after a 429, and logs both attempts with usage and cost', async () => {
    const before = openai.calls.length;
    const completion = await openaiClient('failover').chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]?.message.content).toBe(fakeTokens.join(''));
    const calls = openai.calls.slice(before);
    expect(calls.map((call) => call.key)).toEqual(['sk-429', 'sk-ok']);
    // The client's own key never reaches a provider that has keys.
    expect(calls.every((call) => call.key !== 'client-key')).toBe(true);
    const event = await eventFor('failover');
    expect(event.status).toBe(200);
    expect(event.ai_gateway).toMatchObject({
      status: 'success',
      provider: 'openai',
      model: 'gpt-4o',
      input_tokens: fakeUsage.input,
      output_tokens: fakeUsage.output,
      cost_usd: (fakeUsage.input * 2.5 + fakeUsage.output * 10) / 1e6,
    });
    expect(event.ai_gateway!.attempts.map((attempt) => [attempt.status, attempt.status_code])).toEqual([
      ['error', 429],
      ['success', 200],
    ]);
    expect(JSON.stringify(event)).not.toContain('sk-ok');
  });

  it('streams token by token after a 500, asking the provider for usage', async () => {
    const before = openai.calls.length;
    const stream = await openaiClient('stream').chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const pieces: string[] = [];
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content;
      if (piece !== undefined && piece !== null) pieces.push(piece);
    }
    expect(pieces).toEqual(fakeTokens);
    const calls = openai.calls.slice(before);
    expect(calls.map((call) => call.key)).toEqual(['sk-500', 'sk-ok']);
    expect(calls[1]!.body.stream_options).toEqual({ include_usage: true });
    const event = await eventFor('stream');
    expect(event.ai_gateway).toMatchObject({ streamed: true, input_tokens: fakeUsage.input, output_tokens: 5 });
  });

  it('gives up on a provider that hangs after per_request_timeout and uses the next key', async () => {
    const started = Date.now();
    const completion = await openaiClient('hang').chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]?.message.content).toBe(fakeTokens.join(''));
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    const event = await eventFor('hang');
    expect(event.ai_gateway!.attempts[0]).toMatchObject({ status: 'error', status_code: 0 });
    expect(event.ai_gateway!.attempts[0]!.error).toMatch(/no answer within 400 ms/);
  });

  it('fails over to the next provider offering the model after an invalid key (401)', async () => {
    const before = openai.calls.length;
    const completion = await openaiClient('provider').chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.model).toBe('gpt-4o');
    expect(openai.calls.slice(before).map((call) => call.key)).toEqual(['sk-bad', 'sk-ok']);
    const event = await eventFor('provider');
    expect(event.ai_gateway!.attempts.map((attempt) => `${attempt.provider} ${attempt.status_code}`)).toEqual([
      'openai 401',
      'backup 200',
    ]);
  });

  it('never fails over once the first streamed byte reached the client', async () => {
    const before = openai.calls.length;
    const stream = await openaiClient('cut').chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const pieces: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) pieces.push(chunk.choices[0]?.delta.content ?? '');
      })(),
    ).rejects.toThrow();
    expect(pieces).toEqual([fakeTokens[0]]);
    // Only the cut key was tried: the second key would have meant a second answer after the first one started.
    expect(openai.calls.slice(before).map((call) => call.key)).toEqual(['sk-cut']);
  });

  it('serves the Responses API (/v1/responses), plain after a 429 and streamed after a 500, with usage in the log', async () => {
    const before = openai.calls.length;
    const response = await openaiClient('failover').responses.create({ model: 'gpt-4o', input: 'hi' });
    expect(response.output_text).toBe(fakeTokens.join(''));
    expect(openai.calls.slice(before).map((call) => `${call.key} ${call.path}`)).toEqual([
      'sk-429 /v1/responses',
      'sk-ok /v1/responses',
    ]);
    const plain = await gateway.sink.waitFor(
      (event) => event.host === 'failover.example.com' && event.path === '/v1/responses',
    );
    expect(plain.ai_gateway).toMatchObject({
      status: 'success',
      streamed: false,
      input_tokens: fakeUsage.input,
      output_tokens: fakeUsage.output,
    });
    expect(plain.ai_gateway!.attempts.map((attempt) => attempt.status_code)).toEqual([429, 200]);

    const streamedBefore = openai.calls.length;
    const stream = await openaiClient('stream').responses.create({ model: 'gpt-4o-mini', input: 'hi', stream: true });
    const deltas: string[] = [];
    let completed: { status?: string; output_tokens?: number } | undefined;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') deltas.push(event.delta);
      if (event.type === 'response.completed')
        completed = { status: event.response.status, output_tokens: event.response.usage?.output_tokens };
    }
    expect(deltas).toEqual(fakeTokens);
    // The client still gets the final event (the gateway reads the usage from it on the way, it does not consume it).
    expect(completed).toEqual({ status: 'completed', output_tokens: fakeUsage.output });
    const calls = openai.calls.slice(streamedBefore);
    expect(calls.map((call) => call.key)).toEqual(['sk-500', 'sk-ok']);
    // Nothing is added to a Responses request: usage comes with response.completed.
    expect(calls[1]!.body.stream_options).toBeUndefined();
    const streamed = await gateway.sink.waitFor(
      (event) => event.host === 'stream.example.com' && event.path === '/v1/responses',
    );
    expect(streamed.ai_gateway).toMatchObject({
      streamed: true,
      input_tokens: fakeUsage.input,
      output_tokens: fakeUsage.output,
    });
  });

  it('never fails over a Responses stream once its first event reached the client', async () => {
    const before = openai.calls.length;
    const stream = await openaiClient('cut').responses.create({ model: 'gpt-4o', input: 'hi', stream: true });
    const deltas: string[] = [];
    await expect(
      (async () => {
        for await (const event of stream) if (event.type === 'response.output_text.delta') deltas.push(event.delta);
      })(),
    ).rejects.toThrow();
    expect(deltas).toEqual([fakeTokens[0]]);
    expect(openai.calls.slice(before).map((call) => call.key)).toEqual(['sk-cut']);
  });

  it('speaks Anthropic Messages on /v1/messages, plain and streamed', async () => {
    const client = anthropicClient('claude');
    const message = await client.messages.create({
      model: 'claude-3-5-sonnet-latest',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(message.content[0]).toMatchObject({ type: 'text', text: fakeTokens.join('') });
    expect(anthropic.calls.at(-1)!.body.model).toBe('claude-3-5-sonnet-20241022');
    const event = await eventFor('claude');
    expect(event.ai_gateway).toMatchObject({ format: 'anthropic', input_tokens: fakeUsage.input, output_tokens: 5 });

    const streamed: string[] = [];
    const stream = client.messages.stream({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    });
    stream.on('text', (text) => streamed.push(text));
    const final = await stream.finalMessage();
    expect(streamed).toEqual(fakeTokens);
    expect(final.usage.output_tokens).toBe(fakeUsage.output);
  });

  it('forwards the client’s own key when the provider has none (passthrough)', async () => {
    const before = openai.calls.length;
    await openaiClient('passthrough', 'sk-ok').chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(openai.calls.slice(before).map((call) => call.key)).toEqual(['sk-ok']);
    const event = await eventFor('passthrough');
    expect(event.ai_gateway!.attempts[0]!.api_key).toBe('passthrough');
  });

  it('reaches a self-hosted model through an internal endpoint named as base_url, priced from the policy', async () => {
    const before = openai.calls.length;
    const completion = await openaiClient('selfhosted').chat.completions.create({
      model: 'llama3.1',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]?.message.content).toBe(fakeTokens.join(''));
    expect(openai.calls.slice(before).map((call) => `${call.key} ${call.path} ${String(call.body.model)}`)).toEqual([
      'sk-ok /v1/chat/completions llama3.1',
    ]);
    const event = await eventFor('selfhosted');
    expect(event.ai_gateway).toMatchObject({
      provider: 'local',
      model: 'llama3.1',
      cost_usd: (fakeUsage.input * 0.5 + fakeUsage.output * 1) / 1e6,
    });
    // only_allow_configured_providers: the built-in OpenAI is not offered, so its models are refused.
    await expect(
      openaiClient('selfhosted').chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toMatchObject({ status: 400, code: 'AI_GATEWAY_MODEL_NOT_ALLOWED' });
  });

  it('answers 429 in OpenAI’s error shape when every attempt was rate limited', async () => {
    const error = await openaiClient('exhausted')
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('AI_GATEWAY_RATE_LIMITED');
    const event = await eventFor('exhausted');
    expect(event.error_code).toBe('AI_GATEWAY_RATE_LIMITED');
    expect(event.ai_gateway!.attempts).toHaveLength(2);
  });
});
