import { describe, expect, it } from 'vitest';
import { compile } from '../compile.js';
import type { PolicyContext } from '../context.js';
import { createPolicyContext, evaluate } from '../evaluate.js';
import type { AiProviderAttempt, AiProviderRequest } from '../ports.js';
import { createMemoryPorts } from '../testing/index.js';
import { validatePolicy } from '../validate.js';
import { recordUsage, UsageReader } from './accounting.js';
import { modelCatalog, modelCatalogDate } from './catalog.js';
import { providerUrl } from './plan.js';

/** A provider port that answers each attempt from a script, by the model the body names and the key it carries. */
function scriptedProviders(answer: (request: AiProviderRequest, body: Record<string, unknown>) => AiProviderAttempt) {
  const sent: { request: AiProviderRequest; body: Record<string, unknown> }[] = [];
  const discarded: number[] = [];
  return {
    sent,
    discarded,
    send: (request: AiProviderRequest) => {
      const body = JSON.parse(request.body) as Record<string, unknown>;
      sent.push({ request, body });
      return Promise.resolve(answer(request, body));
    },
    respond(status: number): AiProviderAttempt {
      return { kind: 'response', response: { status, discard: () => discarded.push(status) } };
    },
  };
}

type Providers = ReturnType<typeof scriptedProviders>;

const secrets = new Map([
  ['llm/openai-a', 'sk-openai-a'],
  ['llm/openai-b', 'sk-openai-b'],
  ['llm/anthropic', 'sk-ant-1'],
]);

async function run(
  config: string,
  body: Record<string, unknown>,
  providers: Providers | undefined,
  options: { path?: string; headers?: Record<string, string> } = {},
): Promise<{ context: PolicyContext; outcome: Awaited<ReturnType<typeof evaluate>>['outcome'] }> {
  const policy = compile(`on_http_request:\n  - actions:\n      - type: ai-gateway\n        config:\n${config}`, {
    endpointType: 'cloud',
    secrets: { get: (vault, name) => secrets.get(`${vault}/${name}`) },
  });
  const ports = { ...createMemoryPorts(), ...(providers === undefined ? {} : { aiProviders: providers }) };
  const context = createPolicyContext(
    {
      endpoint: { id: 'ep_ai', url: 'https://ai.example.com', host: 'ai.example.com', type: 'cloud' },
      connection: { clientIp: '203.0.113.9', clientPort: 40000, serverIp: '127.0.0.1', serverPort: 443 },
      request: {
        method: 'POST',
        scheme: 'https',
        host: 'ai.example.com',
        port: '443',
        path: options.path ?? '/v1/chat/completions',
        query: '',
        headers: new Map(
          Object.entries({ authorization: 'Bearer client-key', ...options.headers }).map(([k, v]) => [k, [v]]),
        ),
        body: new TextEncoder().encode(JSON.stringify(body)),
      },
    },
    ports,
  );
  const result = await evaluate(policy, 'on_http_request', context, ports);
  return { context, outcome: result.outcome };
}

const twoOpenAiKeys = `          providers:
            - id: openai
              api_keys:
                - value: \${secrets.get('llm', 'openai-a')}
                - value: \${secrets.get('llm', 'openai-b')}
            - id: anthropic
              api_keys:
                - value: \${secrets.get('llm', 'anthropic')}
`;

describe('ai-gateway validation', () => {
  it('accepts ngrok’s published shapes (providers, keys from secrets, models, strategies, timeouts)', () => {
    const result = validatePolicy(
      `on_http_request:
  - actions:
      - type: ai-gateway
        config:
          max_input_tokens: 4096
          max_output_tokens: 2048
          on_error: halt
          total_timeout: 2m
          per_request_timeout: 45s
          only_allow_configured_providers: true
          only_allow_configured_models: true
          providers:
            - id: openai
              api_keys:
                - value: \${secrets.get('openai', 'key-one')}
              models:
                - id: gpt-4o
                - id: gpt-4o-mini
            - id: custom-ollama
              base_url: https://ollama.internal
              models:
                - id: llama3
          model_selection:
            strategy:
              - "ai.models.filter(m, m.provider_id == 'openai')"
              - "ai.models.random()"
`,
      { endpointType: 'cloud' },
    );
    expect(result.errors).toEqual([]);
  });

  it.each([
    [
      'metrics-based strategies (ngrok model-filtering)',
      `          model_selection:
            strategy:
              - "ai.models.filter(m, m.metrics.global.latency.upstream_ms_p95 < 1200)"
              - "ai.models.filter(m, m.id.contains('mini') || m.id.contains('turbo'))"
              - "ai.models.onlyProviders(['openai', 'anthropic']).ignore(['gpt-4o'])"
              - "ai.models.random()"
`,
    ],
    [
      'debugging with on_error: continue (ngrok debugging guide)',
      `          on_error: continue
          providers:
            - id: openai
              api_keys:
                - value: \${secrets.get('openai', 'primary-key')}
                - value: \${secrets.get('openai', 'backup-key')}
  - actions:
      - type: custom-response
        config:
          status_code: 502
          headers: { content-type: application/json }
          body: "\${actions.ngrok.ai_gateway}"
`,
    ],
    [
      'a custom provider with aliases, metadata and request additions (ngrok configuring-providers)',
      `          headers:
            X-Custom-Header: value
          query_params:
            api_version: "2023-10-01"
          body:
            temperature: 0.7
          providers:
            - id: custom-openai
              id_aliases: [gpt]
              base_url: https://api.openai.internal
              metadata: { team: ml-platform, cost_center: engineering }
              models:
                - id: gpt-4o
                  id_aliases: [fast]
                  metadata: { tier: premium }
`,
    ],
  ])('accepts ngrok’s published example: %s', (_name, config) => {
    const result = validatePolicy(
      `on_http_request:\n  - actions:\n      - type: ai-gateway\n        config:\n${config}`,
      { endpointType: 'internal' },
    );
    expect(result.errors).toEqual([]);
  });

  it('rejects a custom provider without base_url, a strategy that is not a list, and a bad duration', () => {
    const errorsOf = (config: string) =>
      validatePolicy(`on_http_request:\n  - actions:\n      - type: ai-gateway\n        config:\n${config}`, {
        endpointType: 'cloud',
      })
        .errors.map((error) => `${error.code} ${error.message}`)
        .join('\n');
    const semantic = errorsOf(`          providers:
            - id: my-llm
          model_selection:
            strategy: ["ai.models.size()"]
`);
    expect(semantic).toMatch(/needs a base_url/);
    expect(semantic).toMatch(/must return a list of models/);
    expect(errorsOf('          per_request_timeout: soon\n')).toMatch(/POLICY_CONFIG_INVALID.*duration/);
  });

  it('ships a dated catalog with prices and context windows', () => {
    expect(modelCatalogDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const gpt4o = modelCatalog.find((model) => model.id === 'gpt-4o');
    expect(gpt4o).toMatchObject({ provider: 'openai', context_window: 128000, input_per_million: 2.5 });
    expect(modelCatalog.find((model) => model.aliases.includes('claude-3-5-sonnet-latest'))?.provider).toBe(
      'anthropic',
    );
  });
});

describe('ai-gateway model resolution and failover', () => {
  it('fails over key by key, then to the next model, and never shows a key in the result', async () => {
    const providers = scriptedProviders((request, body) => {
      const key = request.headers.get('authorization')?.[0];
      if (body.model === 'gpt-4o' && key === 'Bearer sk-openai-a') return providers.respond(429);
      if (body.model === 'gpt-4o') return { kind: 'failed', reason: 'timeout', message: 'no answer within 30000 ms' };
      return providers.respond(200);
    });
    const { context, outcome } = await run(
      twoOpenAiKeys,
      { model: 'gpt-4o', models: ['gpt-4o-mini'], messages: [] },
      providers,
    );
    expect(outcome.kind).toBe('provider-response');
    expect(
      providers.sent.map(({ request, body }) => `${String(body.model)} ${request.headers.get('authorization')?.[0]}`),
    ).toEqual(['gpt-4o Bearer sk-openai-a', 'gpt-4o Bearer sk-openai-b', 'gpt-4o-mini Bearer sk-openai-a']);
    expect(providers.discarded).toEqual([429]);
    const record = context.aiGateway!;
    expect(record.attempts.map((attempt) => [attempt.model, attempt.status, attempt.status_code])).toEqual([
      ['gpt-4o', 'error', 429],
      ['gpt-4o', 'error', 0],
      ['gpt-4o-mini', 'success', 200],
    ]);
    expect(record).toMatchObject({ status: 'success', provider: 'openai', model: 'gpt-4o-mini' });
    expect(JSON.stringify(record)).not.toContain('sk-openai');
    // `models` is the gateway's; the provider never sees it, and the client's key is replaced.
    expect(providers.sent[2]!.body.models).toBeUndefined();
    expect(JSON.stringify(context.trace)).not.toContain('sk-openai');
  });

  it('takes provider:model prefixes, passes unknown prefixed models through, and rejects unknown bare names', async () => {
    const providers = scriptedProviders(() => providers.respond(200));
    await run(twoOpenAiKeys, { model: 'openai:gpt-5-preview', messages: [] }, providers);
    expect(providers.sent[0]!.body.model).toBe('gpt-5-preview');
    expect(providers.sent[0]!.request.url).toBe('https://api.openai.com/v1/chat/completions');

    const unknown = await run(twoOpenAiKeys, { model: 'mystery-model', messages: [] }, providers);
    expect(unknown.outcome).toMatchObject({ kind: 'respond', errorCode: 'AI_GATEWAY_MODEL_NOT_ALLOWED' });
  });

  it('lets the path decide the format: an Anthropic model on the OpenAI path is refused, on /v1/messages it runs', async () => {
    const providers = scriptedProviders(() => providers.respond(200));
    const wrong = await run(twoOpenAiKeys, { model: 'claude-3-5-sonnet-latest', messages: [] }, providers);
    expect(wrong.outcome).toMatchObject({ kind: 'respond', errorCode: 'AI_GATEWAY_MODEL_NOT_ALLOWED' });
    await run(twoOpenAiKeys, { model: 'claude-3-5-sonnet-latest', max_tokens: 10, messages: [] }, providers, {
      path: '/v1/messages',
    });
    const sent = providers.sent.at(-1)!;
    expect(sent.request.url).toBe('https://api.anthropic.com/v1/messages');
    expect(sent.body.model).toBe('claude-3-5-sonnet-20241022');
    expect(sent.request.headers.get('x-api-key')).toEqual(['sk-ant-1']);
    expect(sent.request.headers.get('authorization')).toBeUndefined();
    expect(sent.request.headers.get('anthropic-version')).toEqual(['2023-06-01']);
  });

  it('forwards the client’s own key in passthrough mode', async () => {
    const providers = scriptedProviders(() => providers.respond(200));
    await run('          providers: []\n', { model: 'gpt-4o-mini', messages: [] }, providers);
    expect(providers.sent[0]!.request.headers.get('authorization')).toEqual(['Bearer client-key']);
  });

  it('orders candidates with the strategy over ai.models when the client lets the gateway choose', async () => {
    const providers = scriptedProviders(() => providers.respond(200));
    const config = `${twoOpenAiKeys}          model_selection:
            strategy:
              - "ai.models.filter(m, m.provider_id == 'nobody')"
              - "ai.models.filter(m, m.input_price < 0.5).sortBy(m, m.input_price)"
`;
    const { context } = await run(config, { model: 'ngrok/auto', messages: [] }, providers);
    expect(providers.sent[0]!.body.model).toBe('gpt-4.1-nano');
    expect(context.aiGateway!.model).toBe('gpt-4.1-nano');
  });

  it('skips a strategy that fails at runtime (ngrok’s m.metrics) and records why in the result', async () => {
    const providers = scriptedProviders(() => providers.respond(200));
    const config = `${twoOpenAiKeys}          model_selection:
            strategy:
              - "ai.models.filter(m, m.metrics.global.error_rate.total < 0.01)"
              - "ai.models.filter(m, m.id.contains('mini'))"
`;
    const { context } = await run(config, { messages: [] }, providers);
    expect(String(providers.sent[0]!.body.model)).toContain('mini');
    const result = context.actionResults.ai_gateway as { model_selection: { error: string | null }[] };
    expect(result.model_selection[0]!.error).toMatch(/metrics/);
    expect(result.model_selection[1]!.error).toBeNull();
  });

  it('lets a strategy filter the client’s list but never add to it, and keeps the client’s order', async () => {
    const providers = scriptedProviders(() => providers.respond(500));
    const config = `${twoOpenAiKeys}          model_selection:
            strategy: ["ai.models.filter(m, m.id != 'gpt-4o')"]
`;
    const { outcome } = await run(
      config,
      { model: 'gpt-4o', models: ['gpt-4.1-mini', 'gpt-4o-mini'], messages: [] },
      providers,
    );
    expect([...new Set(providers.sent.map(({ body }) => body.model))]).toEqual(['gpt-4.1-mini', 'gpt-4o-mini']);
    expect(outcome).toMatchObject({ kind: 'respond', errorCode: 'AI_GATEWAY_PROVIDERS_FAILED' });
  });

  it('strips what a reasoning model refuses, caps output and asks for streamed usage', async () => {
    const providers = scriptedProviders(() => providers.respond(200));
    await run(
      `${twoOpenAiKeys}          max_output_tokens: 100\n`,
      { model: 'o3-mini', temperature: 0.2, top_p: 0.9, max_tokens: 500, stream: true, messages: [] },
      providers,
    );
    const body = providers.sent[0]!.body;
    expect(body.temperature).toBeUndefined();
    expect(body.top_p).toBeUndefined();
    expect(body.max_tokens).toBeUndefined();
    expect(body.max_completion_tokens).toBe(100);
    expect(body.stream_options).toEqual({ include_usage: true });
  });

  it('serves the Responses API at /v1/responses: OpenAI-format providers only, max_output_tokens capped, nothing added for usage', async () => {
    const providers = scriptedProviders((request) =>
      providers.respond(request.headers.get('authorization')?.[0] === 'Bearer sk-openai-a' ? 429 : 200),
    );
    const { context, outcome } = await run(
      `${twoOpenAiKeys}          max_output_tokens: 100
`,
      {
        model: 'o3-mini',
        models: ['claude-3-5-haiku-latest', 'gpt-4o-mini'],
        input: 'Tell me a story',
        instructions: 'Be brief',
        temperature: 0.2,
        max_output_tokens: 500,
        stream: true,
      },
      providers,
      { path: '/v1/responses' },
    );
    expect(outcome.kind).toBe('provider-response');
    // The first key's 429 fails over to the next key, as on /v1/chat/completions.
    expect(providers.sent.map(({ request }) => request.url)).toEqual([
      'https://api.openai.com/v1/responses',
      'https://api.openai.com/v1/responses',
    ]);
    const body = providers.sent[1]!.body;
    expect(body).toMatchObject({ model: 'o3-mini', input: 'Tell me a story', max_output_tokens: 100, stream: true });
    expect(body.temperature).toBeUndefined();
    expect(body.stream_options).toBeUndefined();
    expect(body.max_tokens).toBeUndefined();
    expect(body.max_completion_tokens).toBeUndefined();
    // Anthropic speaks another format, so the client's Claude model is refused for this path.
    expect(context.actionResults.ai_gateway).toMatchObject({
      client: { rejected_models: [expect.objectContaining({ model: 'claude-3-5-haiku-latest' })] },
    });
    expect(context.aiGateway!.input_tokens_estimated).toBe(
      Math.ceil(('Tell me a story'.length + 'Be brief'.length) / 4),
    );
  });

  it('refuses input over max_input_tokens before sending anything', async () => {
    const providers = scriptedProviders(() => providers.respond(200));
    const { outcome } = await run(
      `${twoOpenAiKeys}          max_input_tokens: 10\n`,
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(400) }] },
      providers,
    );
    expect(outcome).toMatchObject({ kind: 'respond', errorCode: 'AI_GATEWAY_INPUT_TOO_LARGE' });
    expect(providers.sent).toHaveLength(0);
  });

  it('passes a non-failover client error (400) through without trying others', async () => {
    const providers = scriptedProviders(() => providers.respond(400));
    const { outcome } = await run(twoOpenAiKeys, { model: 'gpt-4o', models: ['gpt-4o-mini'], messages: [] }, providers);
    expect(outcome.kind).toBe('provider-response');
    expect(providers.sent).toHaveLength(1);
  });

  it('answers in the wire format’s error shape, and with on_error: continue sets the result for later rules', async () => {
    const providers = scriptedProviders(() => providers.respond(429));
    const halted = await run(twoOpenAiKeys, { model: 'gpt-4o', messages: [] }, providers);
    expect(halted.outcome).toMatchObject({ kind: 'respond', errorCode: 'AI_GATEWAY_RATE_LIMITED' });
    const response = (halted.outcome as { response: { status: number; body: string } }).response;
    expect(response.status).toBe(429);
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'AI_GATEWAY_RATE_LIMITED' } });

    const policy = compile(
      `on_http_request:
  - actions:
      - type: ai-gateway
        config:
          on_error: continue
          providers: [{ id: openai, api_keys: [{ value: "\${secrets.get('llm', 'openai-a')}" }] }]
  - expressions: ["actions.ngrok.ai_gateway.status == 'error' && actions.ngrok.ai_gateway.attempts[0].status_code == 429"]
    actions: [{ type: custom-response, config: { status_code: 503, body: "busy: \${actions.ngrok.ai_gateway.error.code}" } }]
  - actions: [{ type: deny }]
`,
      { endpointType: 'cloud', secrets: { get: (vault, name) => secrets.get(`${vault}/${name}`) } },
    );
    const ports = { ...createMemoryPorts(), aiProviders: providers };
    const context = createPolicyContext(
      {
        endpoint: { id: 'ep_ai', url: 'https://ai.example.com', host: 'ai.example.com', type: 'cloud' },
        connection: { clientIp: '203.0.113.9', clientPort: 40000, serverIp: '127.0.0.1', serverPort: 443 },
        request: {
          method: 'POST',
          scheme: 'https',
          host: 'ai.example.com',
          port: '443',
          path: '/v1/chat/completions',
          query: '',
          headers: new Map(),
          body: new TextEncoder().encode(JSON.stringify({ model: 'gpt-4o', messages: [] })),
        },
      },
      ports,
    );
    const result = await evaluate(policy, 'on_http_request', context, ports);
    expect(result.outcome).toMatchObject({
      kind: 'respond',
      response: { status: 503, body: 'busy: AI_GATEWAY_RATE_LIMITED' },
    });
  });

  it('stops trying once total_timeout has passed', async () => {
    const clockPorts = createMemoryPorts();
    const providers = scriptedProviders(() => {
      clockPorts.clock.advance(600);
      return { kind: 'failed', reason: 'timeout', message: 'no answer' };
    });
    const policy = compile(
      `on_http_request:
  - actions:
      - type: ai-gateway
        config:
          per_request_timeout: 1s
          total_timeout: 1s
          providers: [{ id: openai }]
`,
      { endpointType: 'cloud' },
    );
    const ports = { ...clockPorts, aiProviders: providers };
    const context = createPolicyContext(
      {
        endpoint: { id: 'ep_ai', url: 'https://ai.example.com', host: 'ai.example.com', type: 'cloud' },
        connection: { clientIp: '203.0.113.9', clientPort: 40000, serverIp: '127.0.0.1', serverPort: 443 },
        request: {
          method: 'POST',
          scheme: 'https',
          host: 'ai.example.com',
          port: '443',
          path: '/v1/chat/completions',
          query: '',
          headers: new Map(),
          body: new TextEncoder().encode(
            JSON.stringify({ model: 'gpt-4o', models: ['gpt-4o-mini', 'gpt-4.1'], messages: [] }),
          ),
        },
      },
      ports,
    );
    const result = await evaluate(policy, 'on_http_request', context, ports);
    expect(result.outcome).toMatchObject({ kind: 'respond', errorCode: 'AI_GATEWAY_TIMEOUT' });
    // 1000 ms: the first attempt gets 1000, the second the 400 left, the third none.
    expect(providers.sent.map(({ request }) => request.timeoutMs)).toEqual([1000, 400]);
  });

  it('fails closed without a provider port', async () => {
    const { outcome } = await run(twoOpenAiKeys, { model: 'gpt-4o', messages: [] }, undefined);
    expect(outcome).toMatchObject({ kind: 'respond', errorCode: 'AI_GATEWAY_UNAVAILABLE' });
  });
});

describe('ai-gateway accounting', () => {
  const encode = (text: string) => new TextEncoder().encode(text);

  it('reads OpenAI usage from a JSON answer and from the final streamed chunk, split anywhere', () => {
    const json = new UsageReader('openai', false);
    json.push(encode('{"id":"x","usage":{"prompt_tokens":12,'));
    json.push(encode('"completion_tokens":5}}'));
    expect(json.finish()).toEqual({ input: 12, output: 5 });

    const stream = new UsageReader('openai', true);
    const text =
      'data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}}\n\ndata: [DONE]\n\n';
    for (let index = 0; index < text.length; index += 7) stream.push(encode(text.slice(index, index + 7)));
    expect(stream.finish()).toEqual({ input: 7, output: 3 });
  });

  it('reads Responses API usage from a JSON answer and from the response.completed event', () => {
    const json = new UsageReader('openai', false);
    json.push(
      encode('{"id":"resp_1","object":"response","usage":{"input_tokens":21,"output_tokens":4,"total_tokens":25}}'),
    );
    expect(json.finish()).toEqual({ input: 21, output: 4 });

    const stream = new UsageReader('openai', true);
    const text =
      'event: response.created\ndata: {"type":"response.created","response":{"id":"resp_1","usage":null}}\n\n' +
      'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"hi"}\n\n' +
      'event: response.completed\ndata: {"type":"response.completed","response":{"id":"resp_1","usage":{"input_tokens":9,"output_tokens":2,"total_tokens":11}}}\n\n';
    for (let index = 0; index < text.length; index += 5) stream.push(encode(text.slice(index, index + 5)));
    expect(stream.finish()).toEqual({ input: 9, output: 2 });
  });

  it('reads Anthropic usage from message_start and message_delta', () => {
    const stream = new UsageReader('anthropic', true);
    stream.push(
      encode(
        'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":25,"output_tokens":1}}}\n\n' +
          'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":15}}\n\n',
      ),
    );
    expect(stream.finish()).toEqual({ input: 25, output: 15 });
  });

  it('estimates cost from the chosen model’s prices', () => {
    const record = {
      price: { input_per_million: 2.5, output_per_million: 10 },
      input_tokens: null,
      output_tokens: null,
      cost_usd: null,
    } as Parameters<typeof recordUsage>[0];
    recordUsage(record, { input: 1000, output: 500 });
    expect(record.cost_usd).toBe(0.0075);
  });

  it('joins base URLs without doubling /v1', () => {
    expect(providerUrl('http://127.0.0.1:9000', '/v1/messages', '')).toBe('http://127.0.0.1:9000/v1/messages');
    expect(providerUrl('https://llm.internal/v1/', '/v1/chat/completions', 'a=1')).toBe(
      'https://llm.internal/v1/chat/completions?a=1',
    );
  });
});
